/* harness.h: what every ltc benchmark shares: the timing loop, its statistics, side-by-side peers in
 * other processes, and the report (a table for people; CSV, JSON and Markdown for machines and docs).
 *
 * The timing loop lives here and the code being timed is a callback (zstd's programs/benchfn.h):
 *
 *     static int run(void *ctx)  { ...one run of the work...; return 0; }         non-zero: error
 *     static int sync(void *ctx) { return ltc_cuda_synchronize(LTC_CUDA(0)) != LTC_OK; }    NULL for CPU work
 *     bench_stats st;
 *     if (bench_measure(&st, &args.config, run, sync, ctx) != 0) ...
 *
 * Each timed run is clock, run(), sync(), clock: GPU work is timed only up to the end of a device
 * sync. Warm-up runs come first (`warmup` of them, at least 1, fewer if they take over 0.1 s), then
 * timed runs until both `min_runs` and `min_time_s` are reached. Reported: the median, with min, max,
 * the quartiles (their distance over the median is the spread, "iqr_pct", that says whether a figure
 * can be trusted) and the run count.
 *
 * A report prints its header (machine, versions, git commit, timing method) when made and each table
 * row as it is added, so a long sweep shows progress; bench_report_finish() prints the summary and
 * goals and writes the files asked for with --csv, --json, --md. The goals' targets are not in the code:
 * they are read from bench/goals (or $LTC_BENCH_GOALS), where the benchmark names its goals by key.
 *
 * Not thread-safe; one report per program. Plain C11 + POSIX; links ltc for versions and GPU names.
 */
#ifndef LTC_BENCH_HARNESS_H
#define LTC_BENCH_HARNESS_H

#include <getopt.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>

/* ---------------------------------------------------------------------------------------------- */
/* Timing                                                                                         */
/* ---------------------------------------------------------------------------------------------- */

typedef struct bench_config {
    int warmup;        /* untimed runs first, at most this many (at least 1 is always run); default 3 */
    int min_runs;      /* at least this many timed runs; default 5 */
    int max_runs;      /* at most this many; default 1000000 */
    double min_time_s; /* and at least this much timed in total; default 0.2 */
} bench_config;

typedef struct bench_stats {
    double median_s, min_s, max_s, mean_s, total_s;
    double p25_s, p75_s; /* first and third quartiles; NAN when not known (a peer that does not say) */
    int runs;
} bench_stats;

/* One run of the work being timed, or the wait for it to finish; 0 on success. */
typedef int (*bench_fn)(void *ctx);

/* The defaults above. */
bench_config bench_config_default(void);

/* Times run (followed by sync, if not NULL) as described at the top. Returns 0, or the first non-zero
 * value run or sync returned (then *out is zeroed). */
int bench_measure(bench_stats *out, const bench_config *config, bench_fn run, bench_fn sync, void *ctx);

/* Statistics of n samples (seconds); sorts them in place. Quartiles interpolated between samples. */
void bench_stats_of(bench_stats *out, double *samples, int n);

/* Rounds of one case measured side by side with others (A B A B ...): the median of the round medians,
 * the min of the mins, the max of the maxes, the least first quartile and the greatest third one (so
 * rounds that disagree widen the spread), the runs and time summed. */
void bench_stats_combine(bench_stats *out, const bench_stats *rounds, int n);

/* The spread: (third quartile - first quartile) / median, in percent; NAN when the quartiles are not
 * known. Above about 25%, the median is not to be trusted (something ran beside the case). */
double bench_stats_iqr_pct(const bench_stats *s);

/* Monotonic clock, seconds. */
double bench_now_s(void);

/* ---------------------------------------------------------------------------------------------- */
/* Other programs                                                                                 */
/* ---------------------------------------------------------------------------------------------- */

/* Runs argv (argv[0] looked up in PATH) with its standard output into out_path (NULL: this one's),
 * and waits up to timeout_s; past it, SIGTERM (which launchers such as torchrun pass on to their
 * workers) and SIGKILL 10 s later, said on stderr. Returns its exit code; -1 if it could not start,
 * a signal ended it, or it ran past timeout_s. */
int bench_run(char *const argv[], const char *out_path, double timeout_s);

/* ---------------------------------------------------------------------------------------------- */
/* Peers: the same work in another process (Python, raw LibTorch C++), timed by itself             */
/* ---------------------------------------------------------------------------------------------- */
/* Protocol, one line each way: the peer warms up, then prints "ready <anything>". To each line
 * "run <min_time_s>" it times its work (each run synced, as bench_measure does) until at least
 * min_time_s in total and 5 runs, and answers "<runs> <median_s> <min_s> <max_s> [<p25_s> <p75_s>]"
 * (the quartiles optional). On "quit" or end of input it exits. bench/peer_move.py is an example. */

typedef struct bench_peer bench_peer;

/* Starts argv (argv[0] looked up in PATH) and waits up to timeout_s for its "ready" line, whose text
 * after "ready " is copied into banner. NULL if it could not start, died, or said something else;
 * why (with the peer's last output line) is in err. */
bench_peer *bench_peer_start(char *const argv[], double timeout_s, char *banner, size_t banner_size, char *err,
                             size_t err_size);

/* One round: see the protocol above. 0 on success; else non-zero with why in err. */
int bench_peer_run(bench_peer *peer, double min_time_s, bench_stats *out, char *err, size_t err_size);

/* Says "quit", waits for the process (kills it after 5 s) and frees. NULL is a no-op. */
void bench_peer_stop(bench_peer *peer);

/* ---------------------------------------------------------------------------------------------- */
/* Command line                                                                                   */
/* ---------------------------------------------------------------------------------------------- */

typedef struct bench_args {
    bench_config config;
    const char *csv, *json, *md; /* output files, NULL if not asked for */
    int timing_given;            /* 1 once --min-time, --warmup, --min-runs or --max-runs was given */
    const char *python;          /* the peers' Python (--python; default bench_default_python()) */
    int want_python;             /* 0 after --no-python */
} bench_args;

/* The help lines for the options below, to append to a benchmark's own --help. */
extern const char bench_args_help[];

/* Every benchmark parses its command line with one getopt_long loop; the options they all share
 * (--csv FILE, --json FILE, --md FILE, --min-time S, --warmup N, --min-runs N, --max-runs N) go in its
 * table through BENCH_ARGS_OPTIONS and are taken by bench_args_next:
 *
 *     static const struct option longs[] = {BENCH_ARGS_OPTIONS, {"rounds", required_argument, 0, 'r'},
 *                                           {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
 *     bench_args_init(&args, argv[0]);
 *     for (int c, rc = 0; (c = bench_args_next(&args, argc, argv, longs, &rc)) != -1;) {
 *         if (rc) return rc;
 *         switch (c) {
 *         case 'r': if (bench_whole(&n, "--rounds", optarg, 1, 16)) return 2; ...
 *         default: return bench_usage_error(c, argv);
 *         }
 *     }
 *     return bench_args_check(&args, argc, argv);
 *
 * Messages take the form of docs/conventions.md: the option, the value and what would be valid, e.g.
 * "error: --rounds 0 is not valid: use a whole number from 1 to 16 (try --help)". */
enum { BENCH_OPT_CSV = 0x1000, BENCH_OPT_JSON, BENCH_OPT_MD, BENCH_OPT_MIN_TIME, BENCH_OPT_WARMUP, BENCH_OPT_MIN_RUNS,
       BENCH_OPT_MAX_RUNS, BENCH_OPT_PYTHON, BENCH_OPT_NO_PYTHON };
#define BENCH_ARGS_OPTIONS                                                                                            \
    {"csv", required_argument, 0, BENCH_OPT_CSV}, {"json", required_argument, 0, BENCH_OPT_JSON},                      \
    {"md", required_argument, 0, BENCH_OPT_MD}, {"min-time", required_argument, 0, BENCH_OPT_MIN_TIME},                \
    {"warmup", required_argument, 0, BENCH_OPT_WARMUP}, {"min-runs", required_argument, 0, BENCH_OPT_MIN_RUNS},        \
    {"max-runs", required_argument, 0, BENCH_OPT_MAX_RUNS}
/* --python PATH, --no-python (into bench_args' python and want_python) and --help ('h'), for the programs
 * with Python peers. */
#define BENCH_PEER_OPTIONS                                                                                            \
    {"python", required_argument, 0, BENCH_OPT_PYTHON}, {"no-python", no_argument, 0, BENCH_OPT_NO_PYTHON},           \
    {"help", no_argument, 0, 'h'}

/* The defaults (bench_config_default, no files); argv0 names the program in messages. */
void bench_args_init(bench_args *out, const char *argv0);

/* Takes getopt_long's answer c (value: optarg): -1 when c is not a shared option; 0 when taken; 2 after
 * saying why the value is not valid. */
int bench_args_option(bench_args *args, int c, const char *value);

/* getopt_long over longs (optstring ":h", opterr 0), the shared options taken by bench_args_option: the
 * next answer that is the program's own, or -1 at the end; 0 with *exit_code 2 after a shared option's
 * value was refused (said why). */
int bench_args_next(bench_args *args, int argc, char *const argv[], const struct option *longs, int *exit_code);

/* The Python for the peers: $LTC_PYTHON when set and not empty, else "python3". */
const char *bench_default_python(void);

/* After the loop: 0; or 2 after saying why (an argument left that is not an option, --max-runs below 1 or
 * below --min-runs). */
int bench_args_check(const bench_args *args, int argc, char *const argv[]);

/* The program's name as bench_args_init took it ("bench" before). */
const char *bench_program(void);

/* text as a whole number from lo to hi into *out: 0; else 2 (bad usage's exit code) after "error: <opt>
 * <text> is not valid: use a whole number from <lo> to <hi> (try --help)". */
int bench_whole(long long *out, const char *opt, const char *text, long long lo, long long hi);

/* An option's value that is not valid: "error: <opt> <text> is not valid: <valid> (try --help)";
 * returns 2, bad usage's exit code. */
int bench_invalid(const char *opt, const char *text, const char *valid);

/* The getopt_long answer c that no case took (opterr 0, optstring starting with ':'): "error: unknown
 * option "--x" (try --help)", or "error: option --rounds needs a value (try --help)". Returns 2. */
int bench_usage_error(int c, char *const argv[]);


/* ---------------------------------------------------------------------------------------------- */
/* Report                                                                                         */
/* ---------------------------------------------------------------------------------------------- */

typedef struct bench_col {
    const char *key;   /* machine name: CSV header, JSON key, e.g. "median_us" */
    const char *title; /* for people, e.g. "median" */
    const char *unit;  /* e.g. "us", "GB/s"; NULL or "" for none */
    int decimals;      /* digits after the point; -1 for a text column */
    int width;         /* printed width at least this; 0: from the header (and at least 10) */
} bench_col;

/* One value: text for a text column, num for a number column (NAN: not measured, shown "-"). */
typedef struct bench_cell {
    const char *text;
    double num;
} bench_cell;
#define BENCH_TEXT(s) ((bench_cell){(s), 0.0})
#define BENCH_NUM(x) ((bench_cell){NULL, (double)(x)})
#define BENCH_NONE ((bench_cell){NULL, NAN})

typedef struct bench_report bench_report;
typedef struct bench_table bench_table;

/* A report for benchmark `name` (e.g. "transfer"); prints the header to stdout: what it measures,
 * date, host, git commit, ltc/LibTorch/CUDA/cuDNN/NCCL/driver versions, each GPU (name, memory, PCIe
 * link), CPU model and threads, and the timing method of config (none when config is NULL: a
 * benchmark that times otherwise says how in its description). The git commit is $LTC_GIT_COMMIT,
 * else git's HEAD of the source tree (with "-dirty"), else the commit at configure time. Reads the
 * goals of `name` from $LTC_BENCH_GOALS, else the source tree's bench/goals; a file that cannot be
 * read or parsed is printed to stderr and makes bench_report_finish return 1. NULL: out of memory. */
bench_report *bench_report_new(const char *name, const char *description, const bench_config *config);

/* A new table, printed from now on as rows come (title line, then the column header). Owned by the
 * report. name is its machine name (JSON key, CSV file suffix). */
bench_table *bench_report_table(bench_report *report, const char *name, const char *title, int ncols,
                                const bench_col *cols);

/* Adds (and prints) a row: ncols cells, in column order. Text is copied. */
void bench_table_add(bench_table *table, const bench_cell *cells);

/* A note printed now and kept in JSON ("notes") and Markdown. printf-style. */
void bench_report_note(bench_report *report, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A headline number (JSON "summary"), printed by bench_report_finish. */
void bench_report_metric(bench_report *report, const char *key, double value, const char *unit, const char *what);

/* The value measured for the goal `key` of this benchmark in bench/goals, which holds its words,
 * target, unit and direction. NAN: not measured (shown, never a pass). Every goal of the benchmark in
 * the file is reported, in the file's order, as PASS, MISS or NOT MEASURED (a goal never given a
 * value); a key the file lacks is printed to stderr and makes bench_report_finish return 1. */
void bench_report_goal(bench_report *report, const char *key, double value);

/* Prints the summary and goals, writes args' files (table k > 0 of the CSV goes to FILE with "-<name>"
 * before its extension), frees the report. Returns 0; or 1 when a file or the standard output could not
 * be written (every write and close is checked: a full disk is an error, printed to stderr with the
 * file's name), or the goals file was bad. */
int bench_report_finish(bench_report *report, const bench_args *args);

#endif
