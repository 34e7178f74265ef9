/* harness.c: see harness.h. */
#define _GNU_SOURCE /* popen, gethostname, kill, strdup */
#include "harness.h"

#include "json.h" /* ltc's JSON writer (shim/common/json.c), compiled into the harness */

#include "ltc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef LTC_BENCH_SOURCE_DIR
#define LTC_BENCH_SOURCE_DIR "."
#endif
#ifndef LTC_BENCH_GIT_COMMIT
#define LTC_BENCH_GIT_COMMIT "unknown"
#endif
#ifndef LTC_BENCH_GOALS_FILE
#define LTC_BENCH_GOALS_FILE LTC_BENCH_SOURCE_DIR "/bench/goals"
#endif

/* ---------------------------------------------------------------------------------------------- */
/* Timing                                                                                         */
/* ---------------------------------------------------------------------------------------------- */

double bench_now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

bench_config bench_config_default(void) {
    bench_config c = {.warmup = 3, .min_runs = 5, .max_runs = 1000000, .min_time_s = 0.2};
    return c;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median_sorted(const double *v, int n) {
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* The q-quantile of n sorted samples, interpolated between the two nearest. */
static double quantile_sorted(const double *v, int n, double q) {
    double h = (n - 1) * q;
    int i = (int)h;
    return i + 1 < n ? v[i] + (h - i) * (v[i + 1] - v[i]) : v[n - 1];
}

void bench_stats_of(bench_stats *out, double *samples, int n) {
    memset(out, 0, sizeof *out);
    out->p25_s = out->p75_s = NAN;
    if (n <= 0)
        return;
    qsort(samples, (size_t)n, sizeof *samples, cmp_double);
    for (int i = 0; i < n; i++)
        out->total_s += samples[i];
    out->runs = n;
    out->median_s = median_sorted(samples, n);
    out->min_s = samples[0];
    out->max_s = samples[n - 1];
    out->mean_s = out->total_s / n;
    out->p25_s = quantile_sorted(samples, n, 0.25);
    out->p75_s = quantile_sorted(samples, n, 0.75);
}

void bench_stats_combine(bench_stats *out, const bench_stats *rounds, int n) {
    memset(out, 0, sizeof *out);
    out->p25_s = out->p75_s = NAN;
    if (n <= 0)
        return;
    double *med = malloc((size_t)n * sizeof *med);
    if (!med)
        return;
    out->min_s = rounds[0].min_s;
    out->max_s = rounds[0].max_s;
    out->p25_s = rounds[0].p25_s;
    out->p75_s = rounds[0].p75_s;
    for (int i = 0; i < n; i++) {
        med[i] = rounds[i].median_s;
        out->min_s = rounds[i].min_s < out->min_s ? rounds[i].min_s : out->min_s;
        out->max_s = rounds[i].max_s > out->max_s ? rounds[i].max_s : out->max_s;
        /* NAN (a round without quartiles) stays NAN: the comparisons below are false for it */
        out->p25_s = isnan(rounds[i].p25_s) || rounds[i].p25_s < out->p25_s ? rounds[i].p25_s : out->p25_s;
        out->p75_s = isnan(rounds[i].p75_s) || rounds[i].p75_s > out->p75_s ? rounds[i].p75_s : out->p75_s;
        out->runs += rounds[i].runs;
        out->total_s += rounds[i].total_s;
    }
    qsort(med, (size_t)n, sizeof *med, cmp_double);
    out->median_s = median_sorted(med, n);
    out->mean_s = out->runs ? out->total_s / out->runs : 0;
    free(med);
}

double bench_stats_iqr_pct(const bench_stats *s) {
    if (isnan(s->p25_s) || isnan(s->p75_s) || !(s->median_s > 0))
        return NAN;
    return (s->p75_s - s->p25_s) / s->median_s * 100;
}

int bench_measure(bench_stats *out, const bench_config *config, bench_fn run, bench_fn sync, void *ctx) {
    memset(out, 0, sizeof *out);
    out->p25_s = out->p75_s = NAN;
    int rc = 0;
    double warm_start = bench_now_s();
    for (int i = 0; i < (config->warmup > 1 ? config->warmup : 1); i++) {
        if ((rc = run(ctx)) != 0 || (sync && (rc = sync(ctx)) != 0))
            return rc;
        if (bench_now_s() - warm_start > 0.1)
            break;
    }
    int cap = 1024, n = 0;
    double *t = malloc((size_t)cap * sizeof *t), total = 0;
    if (!t)
        return -1;
    while (n < config->max_runs && (n < config->min_runs || total < config->min_time_s)) {
        if (n == cap) {
            double *bigger = realloc(t, (size_t)cap * 2 * sizeof *t);
            if (!bigger)
                break;
            t = bigger;
            cap *= 2;
        }
        double t0 = bench_now_s();
        rc = run(ctx);
        if (rc == 0 && sync)
            rc = sync(ctx);
        double dt = bench_now_s() - t0;
        if (rc != 0) {
            free(t);
            memset(out, 0, sizeof *out);
            return rc;
        }
        t[n++] = dt;
        total += dt;
    }
    bench_stats_of(out, t, n);
    free(t);
    return 0;
}

/* ---------------------------------------------------------------------------------------------- */
/* Peers                                                                                          */
/* ---------------------------------------------------------------------------------------------- */

struct bench_peer {
    pid_t pid;
    int to, from;  /* its stdin, its stdout */
    char buf[4096];
    size_t len;    /* bytes in buf not yet returned */
    char last[256];/* its last line, for error messages */
};

/* Reads one line (without the newline) into line; 0 on success, -1 on timeout, EOF or error. */
static int peer_line(bench_peer *p, char *line, size_t size, double timeout_s) {
    double deadline = bench_now_s() + timeout_s;
    for (;;) {
        char *nl = memchr(p->buf, '\n', p->len);
        if (nl) {
            size_t n = (size_t)(nl - p->buf);
            snprintf(line, size, "%.*s", (int)n, p->buf);
            snprintf(p->last, sizeof p->last, "%s", line);
            memmove(p->buf, nl + 1, p->len - n - 1);
            p->len -= n + 1;
            return 0;
        }
        if (p->len == sizeof p->buf - 1) /* an overlong line: drop it */
            p->len = 0;
        double left = deadline - bench_now_s();
        if (left <= 0)
            return -1;
        struct pollfd pfd = {.fd = p->from, .events = POLLIN};
        int r = poll(&pfd, 1, (int)(left * 1000) + 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        ssize_t got = read(p->from, p->buf + p->len, sizeof p->buf - 1 - p->len);
        if (got <= 0)
            return -1;
        p->len += (size_t)got;
    }
}

static void peer_stop(bench_peer *peer, double grace_s);

bench_peer *bench_peer_start(char *const argv[], double timeout_s, char *banner, size_t banner_size, char *err,
                             size_t err_size) {
    int in[2], outp[2];
    if (pipe(in) != 0)
        return snprintf(err, err_size, "pipe: %s", strerror(errno)), NULL;
    if (pipe(outp) != 0) {
        close(in[0]), close(in[1]);
        return snprintf(err, err_size, "pipe: %s", strerror(errno)), NULL;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        close(in[0]), close(in[1]), close(outp[0]), close(outp[1]);
        return snprintf(err, err_size, "fork: %s", strerror(errno)), NULL;
    }
    if (pid == 0) {
        setpgid(0, 0); /* its own process group, so that stopping it stops what it started too */
        dup2(in[0], 0);
        dup2(outp[1], 1);
        close(in[0]), close(in[1]), close(outp[0]), close(outp[1]);
        execvp(argv[0], argv);
        printf("exec %s: %s\n", argv[0], strerror(errno));
        fflush(stdout);
        _exit(127);
    }
    setpgid(pid, pid); /* as the child does: whichever runs first */
    close(in[0]);
    close(outp[1]);
    signal(SIGPIPE, SIG_IGN); /* a peer that died must not kill us on the next write */
    bench_peer *p = calloc(1, sizeof *p);
    if (!p) {
        close(in[1]), close(outp[0]);
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        return snprintf(err, err_size, "out of memory"), NULL;
    }
    p->pid = pid;
    p->to = in[1];
    p->from = outp[0];
    char line[512];
    double deadline = bench_now_s() + timeout_s;
    for (;;) { /* skip what the peer prints before "ready" (library warnings) */
        if (peer_line(p, line, sizeof line, deadline - bench_now_s()) != 0) {
            snprintf(err, err_size, "%s did not say \"ready\" within %.3g s%s%s", argv[0], timeout_s,
                     p->last[0] ? "; its last line: " : "", p->last);
            peer_stop(p, 0);
            return NULL;
        }
        if (strncmp(line, "ready", 5) == 0)
            break;
    }
    snprintf(banner, banner_size, "%s", line[5] == ' ' ? line + 6 : line + 5);
    return p;
}

int bench_peer_run(bench_peer *peer, double min_time_s, bench_stats *out, char *err, size_t err_size) {
    memset(out, 0, sizeof *out);
    out->p25_s = out->p75_s = NAN;
    char cmd[64], line[512];
    int n = snprintf(cmd, sizeof cmd, "run %.6f\n", min_time_s);
    if (write(peer->to, cmd, (size_t)n) != n) {
        snprintf(err, err_size, "the peer is gone (write: %s)", strerror(errno));
        return 1;
    }
    if (peer_line(peer, line, sizeof line, 60 + 10 * min_time_s) != 0) {
        snprintf(err, err_size, "no answer from the peer within %.0f s%s%s", 60 + 10 * min_time_s,
                 peer->last[0] ? "; its last line: " : "", peer->last);
        return 1;
    }
    int got = sscanf(line, "%d %lf %lf %lf %lf %lf", &out->runs, &out->median_s, &out->min_s, &out->max_s, &out->p25_s,
                     &out->p75_s);
    if ((got != 4 && got != 6) || out->runs < 1) {
        snprintf(err, err_size, "the peer answered \"%.200s\", not \"<runs> <median_s> <min_s> <max_s> [<p25_s> <p75_s>]\"",
                 line);
        return 1;
    }
    if (got == 4)
        out->p25_s = out->p75_s = NAN;
    out->mean_s = out->median_s;
    out->total_s = out->median_s * out->runs;
    return 0;
}

/* Says "quit", gives the peer grace_s to exit, then kills its process group. */
static void peer_stop(bench_peer *peer, double grace_s) {
    if (write(peer->to, "quit\n", 5) < 0) {
        /* gone already */
    }
    close(peer->to);
    int status;
    double deadline = bench_now_s() + grace_s;
    while (waitpid(peer->pid, &status, WNOHANG) == 0) {
        if (bench_now_s() >= deadline) {
            kill(-peer->pid, SIGKILL);
            waitpid(peer->pid, &status, 0);
            break;
        }
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    close(peer->from);
    free(peer);
}

void bench_peer_stop(bench_peer *peer) {
    if (peer)
        peer_stop(peer, 5);
}

int bench_run(char *const argv[], const char *out_path, double timeout_s) {
    posix_spawn_file_actions_t fa;
    pid_t pid;
    int err = posix_spawn_file_actions_init(&fa);
    if (err == 0 && out_path)
        err = posix_spawn_file_actions_addopen(&fa, 1, out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (err == 0)
        err = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (err != 0) {
        fprintf(stderr, "cannot run %s: %s\n", argv[0], strerror(err));
        return -1;
    }
    const double t0 = bench_now_s();
    int status = 0, signalled = 0;
    pid_t got;
    while ((got = waitpid(pid, &status, WNOHANG)) == 0 || (got < 0 && errno == EINTR)) {
        if (bench_now_s() - t0 > timeout_s + 10 * signalled) {
            if (kill(pid, signalled ? SIGKILL : SIGTERM) != 0 && errno != ESRCH)
                fprintf(stderr, "cannot stop %s (pid %d): %s\n", argv[0], (int)pid, strerror(errno));
            if (signalled++)
                break;
        }
        usleep(20000);
    }
    if (signalled) {
        while (got == 0 && waitpid(pid, &status, 0) < 0 && errno == EINTR)
            ;
        fprintf(stderr, "%s ran past %g s and was stopped\n", argv[0], timeout_s);
        return -1;
    }
    return got == pid && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* ---------------------------------------------------------------------------------------------- */
/* Command line                                                                                   */
/* ---------------------------------------------------------------------------------------------- */

const char bench_args_help[] =
    "  --csv FILE       write the tables as CSV (the second and later tables to FILE-<table>.csv)\n"
    "  --json FILE      write everything, with the machine and versions, as JSON\n"
    "  --md FILE        write everything as Markdown (for docs/benchmarks.md)\n"
    "  --min-time S     time each case for at least S seconds (default 0.2)\n"
    "  --min-runs N     and at least N timed runs (default 5)\n"
    "  --max-runs N     and at most N (default 1000000)\n"
    "  --warmup N       untimed runs first, at most N, at least 1 (default 3)\n";

static const char *g_program = "bench";

const char *bench_program(void) { return g_program; }

void bench_args_init(bench_args *out, const char *argv0) {
    memset(out, 0, sizeof *out);
    out->config = bench_config_default();
    out->python = bench_default_python();
    out->want_python = 1;
    if (argv0 && *argv0)
        g_program = strrchr(argv0, '/') ? strrchr(argv0, '/') + 1 : argv0;
}

int bench_invalid(const char *opt, const char *text, const char *valid) {
    fprintf(stderr, "error: %s %s is not valid: %s (try --help)\n", opt, text, valid);
    return 2;
}

int bench_whole(long long *out, const char *opt, const char *text, long long lo, long long hi) {
    char *end = NULL, valid[96];
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (*text && !*end && !errno && v >= lo && v <= hi)
        return *out = v, 0;
    snprintf(valid, sizeof valid, "use a whole number from %lld to %lld", lo, hi);
    return bench_invalid(opt, text, valid);
}

int bench_args_option(bench_args *args, int c, const char *value) {
    static const char *const names[] = {"--warmup", "--min-runs", "--max-runs"};
    int *count = c == BENCH_OPT_WARMUP     ? &args->config.warmup
                 : c == BENCH_OPT_MIN_RUNS ? &args->config.min_runs
                 : c == BENCH_OPT_MAX_RUNS ? &args->config.max_runs
                                           : NULL;
    long long n = 0;
    char *end = NULL;
    switch (c) {
    case BENCH_OPT_CSV: args->csv = value; return 0;
    case BENCH_OPT_JSON: args->json = value; return 0;
    case BENCH_OPT_MD: args->md = value; return 0;
    case BENCH_OPT_PYTHON: args->python = value; return 0;
    case BENCH_OPT_NO_PYTHON: args->want_python = 0; return 0;
    case BENCH_OPT_MIN_TIME: {
        double s = strtod(value, &end);
        if (!*value || *end || !(s >= 0 && s <= 3600))
            return bench_invalid("--min-time", value, "use seconds from 0 to 3600");
        args->config.min_time_s = s;
        return 0;
    }
    case BENCH_OPT_WARMUP:
    case BENCH_OPT_MIN_RUNS:
    case BENCH_OPT_MAX_RUNS:
        if (bench_whole(&n, names[c - BENCH_OPT_WARMUP], value, 0, 100000000))
            return 2;
        *count = (int)n;
        return 0;
    default: return -1;
    }
}

int bench_args_next(bench_args *args, int argc, char *const argv[], const struct option *longs, int *exit_code) {
    opterr = 0;
    for (int c; (c = getopt_long(argc, argv, ":h", longs, NULL)) != -1;) {
        int rc = bench_args_option(args, c, optarg);
        if (rc < 0)
            return c;
        if (rc > 0) {
            *exit_code = rc;
            return 0;
        }
        args->timing_given |= c == BENCH_OPT_MIN_TIME || c == BENCH_OPT_WARMUP || c == BENCH_OPT_MIN_RUNS ||
                              c == BENCH_OPT_MAX_RUNS;
    }
    return -1;
}

const char *bench_default_python(void) {
    const char *py = getenv("LTC_PYTHON");
    return py && *py ? py : "python3";
}

int bench_args_check(const bench_args *args, int argc, char *const argv[]) {
    if (optind < argc) {
        fprintf(stderr, "error: unknown argument \"%s\": the program takes options only (try --help)\n", argv[optind]);
        return 2;
    }
    if (args->config.max_runs >= 1 && args->config.max_runs >= args->config.min_runs)
        return 0;
    fprintf(stderr, "error: --max-runs %d is not valid: use 1 or more, and at least --min-runs (%d) (try --help)\n",
            args->config.max_runs, args->config.min_runs);
    return 2;
}

int bench_usage_error(int c, char *const argv[]) {
    if (c == ':')
        fprintf(stderr, "error: option %s needs a value (try --help)\n", argv[optind - 1]);
    else
        fprintf(stderr, "error: unknown option \"%s\" (try --help)\n", argv[optind - 1]);
    return 2;
}


/* ---------------------------------------------------------------------------------------------- */
/* Report                                                                                         */
/* ---------------------------------------------------------------------------------------------- */

enum { MAX_TABLES = 16, MAX_ITEMS = 64, MAX_CONTEXT = 40 };

struct bench_table {
    char *name, *title;
    int ncols;
    bench_col *cols;
    int *width;
    int nrows, cap;
    bench_cell *cells; /* nrows * ncols; text owned */
};

typedef struct item {
    char *key, *unit, *text;
    double value, target;
    int kind; /* 0 note, 1 metric, 2 goal (higher is better), 3 goal (lower is better) */
} item;

struct bench_report {
    char *name, *description;
    bench_config config;
    int has_config;
    int bad;             /* the goals file was bad, or a goal was not in it: finish returns 1 */
    char goals_path[1024];
    int ncontext;
    char *context[MAX_CONTEXT][2]; /* key, value */
    int ntables;
    bench_table *tables[MAX_TABLES];
    int nitems;
    item items[MAX_ITEMS];
};

static char *dupstr(const char *s) { return strdup(s ? s : ""); }

static void add_context(bench_report *r, const char *key, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void add_context(bench_report *r, const char *key, const char *fmt, ...) {
    if (r->ncontext == MAX_CONTEXT)
        return;
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    r->context[r->ncontext][0] = dupstr(key);
    r->context[r->ncontext][1] = dupstr(buf);
    r->ncontext++;
}

/* The first line of a command's output ("" if none). */
static void command_line(const char *cmd, char *out, size_t size) {
    out[0] = '\0';
    FILE *p = popen(cmd, "r");
    if (!p)
        return;
    if (fgets(out, (int)size, p))
        out[strcspn(out, "\r\n")] = '\0';
    while (fgetc(p) != EOF) {
    }
    pclose(p);
}

static void git_commit(char *out, size_t size) {
    const char *env = getenv("LTC_GIT_COMMIT");
    if (env && *env) {
        snprintf(out, size, "%s", env);
        return;
    }
    char head[64], dirty[256];
    command_line("git -C '" LTC_BENCH_SOURCE_DIR "' rev-parse --short=12 HEAD 2>/dev/null", head, sizeof head);
    if (head[0]) {
        command_line("git -C '" LTC_BENCH_SOURCE_DIR "' status --porcelain --untracked-files=no 2>/dev/null", dirty,
                     sizeof dirty);
        snprintf(out, size, "%s%s", head, dirty[0] ? "-dirty" : "");
        return;
    }
    snprintf(out, size, "%s (at configure time)", LTC_BENCH_GIT_COMMIT);
}

/* "580.159.04" from /proc/driver/nvidia/version; "" if absent. */
static void nvidia_driver(char *out, size_t size) {
    out[0] = '\0';
    FILE *f = fopen("/proc/driver/nvidia/version", "r");
    if (!f)
        return;
    char line[512];
    if (fgets(line, sizeof line, f)) {
        char *m = strstr(line, "Module");
        for (char *tok = m ? strtok(m, " \t\n") : NULL; tok; tok = strtok(NULL, " \t\n"))
            if (tok[0] >= '0' && tok[0] <= '9' && strchr(tok, '.')) {
                snprintf(out, size, "%s", tok);
                break;
            }
    }
    fclose(f);
}

static void cpu_model(char *out, size_t size) {
    snprintf(out, size, "unknown");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f)
        return;
    char line[512];
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "model name", 10) == 0 && strchr(line, ':')) {
            char *v = strchr(line, ':') + 1;
            v += strspn(v, " \t");
            v[strcspn(v, "\n")] = '\0';
            snprintf(out, size, "%s", v);
            break;
        }
    fclose(f);
}

static void version_text(char *out, size_t size, int v, int major_div) {
    if (v <= 0)
        snprintf(out, size, "none");
    else if (major_div == 1000) /* CUDA: 13000 -> 13.0 */
        snprintf(out, size, "%d.%d", v / 1000, v % 1000 / 10);
    else /* cuDNN, NCCL: 91900 -> 9.19.0 */
        snprintf(out, size, "%d.%d.%d", v / 10000, v / 100 % 100, v % 100);
}

static item *new_item(bench_report *r);

/* The goals of this benchmark from the goals file (see bench/goals), as items in the file's order with
 * no value yet. A file that cannot be read or a line that is not a goal is printed and marks r bad. */
static void load_goals(bench_report *r) {
    const char *env = getenv("LTC_BENCH_GOALS");
    snprintf(r->goals_path, sizeof r->goals_path, "%s", env && *env ? env : LTC_BENCH_GOALS_FILE);
    FILE *f = fopen(r->goals_path, "r");
    if (!f) {
        fprintf(stderr, "bench_%s: cannot read the goals file %s: %s (set LTC_BENCH_GOALS to the project's bench/goals)\n",
                r->name, r->goals_path, strerror(errno));
        r->bad = 1;
        return;
    }
    char line[1024];
    for (int lineno = 1; fgets(line, sizeof line, f); lineno++) {
        char *p = line + strspn(line, " \t"), bench[64], key[64], op[8], unit[32];
        double target = NAN;
        int n = 0;
        p[strcspn(p, "\r\n")] = '\0';
        if (*p == '#' || *p == '\0')
            continue;
        if (sscanf(p, "%63s %63s %7s %lf %31s %n", bench, key, op, &target, unit, &n) != 5 || n == 0 || p[n] == '\0' ||
            (strcmp(op, ">=") != 0 && strcmp(op, "<=") != 0) || !isfinite(target)) {
            fprintf(stderr, "bench_%s: %s:%d is not a goal line (benchmark, key, >= or <=, target, unit, words): %.200s\n",
                    r->name, r->goals_path, lineno, p);
            r->bad = 1;
            continue;
        }
        if (strcmp(bench, r->name) != 0)
            continue;
        item *it = new_item(r);
        if (!it) {
            fprintf(stderr, "bench_%s: %s: too many goals for one benchmark\n", r->name, r->goals_path);
            r->bad = 1;
            break;
        }
        it->kind = op[0] == '>' ? 2 : 3;
        it->key = dupstr(key);
        it->text = dupstr(p + n);
        it->unit = dupstr(strcmp(unit, "-") == 0 ? "" : unit);
        it->value = NAN;
        it->target = target;
    }
    if (ferror(f)) {
        fprintf(stderr, "bench_%s: cannot read the goals file %s: %s\n", r->name, r->goals_path, strerror(errno));
        r->bad = 1;
    }
    fclose(f);
}

static void print_header(const bench_report *r) {
    printf("# bench_%s: %s\n", r->name, r->description);
    for (int i = 0; i < r->ncontext; i++)
        printf("# %-12s %s\n", r->context[i][0], r->context[i][1]);
    fflush(stdout);
}

bench_report *bench_report_new(const char *name, const char *description, const bench_config *config) {
    bench_report *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->name = dupstr(name);
    r->description = dupstr(description);
    r->config = config ? *config : bench_config_default();
    r->has_config = config != NULL;
    char buf[256], a[32], b[32], c[32], d[32];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    add_context(r, "date", "%s", buf);
    if (gethostname(buf, sizeof buf) != 0)
        snprintf(buf, sizeof buf, "unknown");
    buf[sizeof buf - 1] = '\0';
    add_context(r, "host", "%s", buf);
    git_commit(buf, sizeof buf);
    add_context(r, "git", "%s", buf);
    ltc_build_info bi;
    memset(&bi, 0, sizeof bi);
    ltc_build_info_get(&bi);
    version_text(a, sizeof a, bi.cuda_runtime_version, 1000);
    version_text(b, sizeof b, bi.cudnn_version, 10000);
    version_text(c, sizeof c, bi.nccl_version, 10000);
    add_context(r, "versions", "ltc %s, LibTorch %s, CUDA runtime %s, cuDNN %s, NCCL %s", ltc_version(),
                bi.torch_version ? bi.torch_version : "?", a, b, c);
    int ngpu = 0;
    ltc_cuda_device_count(&ngpu);
    nvidia_driver(buf, sizeof buf);
    ltc_cuda_link_info info;
    if (ngpu > 0 && ltc_cuda_link_info_get(&info, LTC_CUDA(0)) == LTC_OK) {
        version_text(d, sizeof d, info.driver_version, 1000);
        add_context(r, "driver", "%s (supports CUDA %s)", buf[0] ? buf : "version unknown", d);
    } else {
        add_context(r, "driver", "%s", buf[0] ? buf : "none");
    }
    if (ngpu == 0)
        add_context(r, "GPUs", "none usable");
    for (int i = 0; i < ngpu; i++) {
        char key[16];
        snprintf(key, sizeof key, "cuda:%d", i);
        if (ltc_cuda_link_info_get(&info, LTC_CUDA(i)) != LTC_OK) {
            add_context(r, key, "(no information: %s)", ltc_last_error());
            continue;
        }
        if (info.pcie_max_gen > 0)
            snprintf(buf, sizeof buf, "PCIe %s Gen%d x%d: %.1f GB/s per direction (now Gen%d x%d)", info.pci_bus_id,
                     info.pcie_max_gen, info.pcie_max_width, info.pcie_max_gbps, info.pcie_gen, info.pcie_width);
        else
            snprintf(buf, sizeof buf, "PCIe %s, link unknown (sysfs not readable)", info.pci_bus_id);
        add_context(r, key, "%s, %.1f GiB, %s", info.name, info.total_memory / 1073741824.0, buf);
    }
    cpu_model(buf, sizeof buf);
    add_context(r, "CPU", "%s, %ld logical CPUs, %d intra-op threads", buf, sysconf(_SC_NPROCESSORS_ONLN),
                ltc_num_threads_get());
    if (r->has_config)
        add_context(r, "timing",
                    "up to %d warm-up runs (at least 1, at most 0.1 s), then runs until >= %.2f s and >= %d runs "
                    "(at most %d); each run timed to the end of a device sync; median [min, max], IQR = (p75 - p25) / median",
                    r->config.warmup, r->config.min_time_s, r->config.min_runs, r->config.max_runs);
    print_header(r);
    load_goals(r);
    return r;
}

static void header_text(const bench_col *c, char *buf, size_t size) {
    if (c->unit && c->unit[0])
        snprintf(buf, size, "%s (%s)", c->title, c->unit);
    else
        snprintf(buf, size, "%s", c->title);
}

static void print_cell(FILE *f, const bench_col *c, int width, bench_cell v) {
    if (c->decimals < 0)
        fprintf(f, "%-*s", width, v.text ? v.text : "-");
    else if (isnan(v.num))
        fprintf(f, "%*s", width, "-");
    else
        fprintf(f, "%*.*f", width, c->decimals, v.num);
}

bench_table *bench_report_table(bench_report *r, const char *name, const char *title, int ncols,
                                const bench_col *cols) {
    if (!r || r->ntables == MAX_TABLES || ncols < 1)
        return NULL;
    bench_table *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->name = dupstr(name);
    t->title = dupstr(title);
    t->ncols = ncols;
    t->cols = calloc((size_t)ncols, sizeof *t->cols);
    t->width = calloc((size_t)ncols, sizeof *t->width);
    printf("\n# %s\n#", title);
    for (int i = 0; i < ncols; i++) {
        char h[128];
        t->cols[i] = cols[i];
        t->cols[i].key = dupstr(cols[i].key);
        t->cols[i].title = dupstr(cols[i].title);
        t->cols[i].unit = dupstr(cols[i].unit);
        header_text(&cols[i], h, sizeof h);
        int w = (int)strlen(h);
        w = w > 10 ? w : 10;
        t->width[i] = cols[i].width > w ? cols[i].width : w;
        if (i == 0)
            t->width[i] -= 1; /* the '#' that starts the header line */
        printf("%s%*s", i ? "  " : "", cols[i].decimals < 0 ? -t->width[i] : t->width[i], h);
        if (i == 0)
            t->width[i] += 1;
    }
    printf("\n");
    fflush(stdout);
    r->tables[r->ntables++] = t;
    return t;
}

void bench_table_add(bench_table *t, const bench_cell *cells) {
    if (!t)
        return;
    if (t->nrows == t->cap) {
        int cap = t->cap ? t->cap * 2 : 32;
        bench_cell *bigger = realloc(t->cells, (size_t)cap * t->ncols * sizeof *bigger);
        if (!bigger)
            return;
        t->cells = bigger;
        t->cap = cap;
    }
    bench_cell *row = t->cells + (size_t)t->nrows * t->ncols;
    for (int i = 0; i < t->ncols; i++) {
        row[i] = cells[i];
        if (t->cols[i].decimals < 0)
            row[i].text = dupstr(cells[i].text);
        printf("%s", i ? "  " : "");
        print_cell(stdout, &t->cols[i], t->width[i], row[i]);
    }
    printf("\n");
    fflush(stdout);
    t->nrows++;
}

static item *new_item(bench_report *r) {
    if (r->nitems == MAX_ITEMS)
        return NULL;
    item *it = &r->items[r->nitems++];
    memset(it, 0, sizeof *it);
    return it;
}

void bench_report_note(bench_report *r, const char *fmt, ...) {
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    printf("# note: %s\n", buf);
    fflush(stdout);
    item *it = r ? new_item(r) : NULL;
    if (it)
        it->text = dupstr(buf);
}

void bench_report_metric(bench_report *r, const char *key, double value, const char *unit, const char *what) {
    item *it = r ? new_item(r) : NULL;
    if (!it)
        return;
    it->kind = 1;
    it->key = dupstr(key);
    it->value = value;
    it->unit = dupstr(unit);
    it->text = dupstr(what);
}

void bench_report_goal(bench_report *r, const char *key, double value) {
    if (!r)
        return;
    for (int i = 0; i < r->nitems; i++)
        if (r->items[i].kind >= 2 && strcmp(r->items[i].key, key) == 0) {
            r->items[i].value = value;
            return;
        }
    fprintf(stderr, "bench_%s: the goal \"%s\" is not in %s: add its line there (benchmark %s)\n", r->name, key,
            r->goals_path, r->name);
    r->bad = 1;
}

static int goal_met(const item *it) {
    if (isnan(it->value))
        return 0;
    return it->kind == 2 ? it->value >= it->target : it->value <= it->target;
}

static const char *goal_word(const item *it) { return isnan(it->value) ? "NOT MEASURED" : goal_met(it) ? "PASS" : "MISS"; }

/* "3.304 x (target >= 3 x)", "not measured (target >= 3 x)"; a metric: "0.51" (with its unit) */
static void goal_figures(const item *it, char *buf, size_t size) {
    const char *sp = it->unit[0] ? " " : "";
    char value[48];
    if (isnan(it->value))
        snprintf(value, sizeof value, "%s", it->kind == 1 ? "none" : "not measured");
    else
        snprintf(value, sizeof value, "%.4g%s%s", it->value, sp, it->unit);
    if (it->kind == 1)
        snprintf(buf, size, "%s", value);
    else
        snprintf(buf, size, "%s (target %s %.4g%s%s)", value, it->kind == 2 ? ">=" : "<=", it->target, sp, it->unit);
}

/* ---- writers ---- */

/* A number as the JSON is written (ltc's JSON writer, shim/common/json.c: whole numbers exactly, else 9
 * significant digits); the CSV files say the same, and "nan" or "inf" where the JSON says null. */
static void print_number(FILE *f, double v) {
    char buf[40];
    if (isfinite(v))
        fputs(ltc_json_number_text(buf, sizeof buf, v), f);
    else
        fprintf(f, "%g", v);
}

/* fopen(path, "w"), saying why on stderr when it fails. */
static FILE *open_out(const bench_report *r, const char *path) {
    FILE *f = fopen(path, "w");
    if (!f)
        fprintf(stderr, "bench_%s: cannot write %s: %s\n", r->name, path, strerror(errno));
    return f;
}

/* Flushes and closes f, written to path; 0 when every write and the close succeeded (a full disk
 * shows at the flush or the close), else 1 after saying why on stderr. */
static int close_out(const bench_report *r, FILE *f, const char *path) {
    int err = 0;
    if (fflush(f) != 0)
        err = errno;
    if (ferror(f) && !err)
        err = errno ? errno : EIO;
    if (fclose(f) != 0 && !err)
        err = errno ? errno : EIO;
    if (err)
        fprintf(stderr, "bench_%s: cannot write %s: %s\n", r->name, path, strerror(err));
    return err != 0;
}

/* A string of the report: NULL is written as "". */
static void text(ltc_json_writer *w, const char *key, const char *s) { ltc_json_string(w, key, s ? s : ""); }

static int write_json(const bench_report *r, const char *path) {
    errno = 0;
    FILE *f = open_out(r, path);
    if (!f)
        return 1;
    ltc_json_writer w;
    ltc_json_init_file(&w, f);
    ltc_json_begin_object(&w, NULL, 0);
    text(&w, "benchmark", r->name);
    text(&w, "description", r->description);
    ltc_json_begin_object(&w, "context", 0);
    for (int i = 0; i < r->ncontext; i++)
        text(&w, r->context[i][0], r->context[i][1]);
    ltc_json_end(&w);
    if (r->has_config) {
        ltc_json_begin_object(&w, "config", 1);
        ltc_json_number(&w, "warmup", r->config.warmup);
        ltc_json_number(&w, "min_runs", r->config.min_runs);
        ltc_json_number(&w, "max_runs", r->config.max_runs);
        ltc_json_number(&w, "min_time_s", r->config.min_time_s);
        ltc_json_end(&w);
    }
    ltc_json_begin_object(&w, "tables", 0);
    for (int k = 0; k < r->ntables; k++) {
        const bench_table *t = r->tables[k];
        ltc_json_begin_object(&w, t->name, 0);
        text(&w, "title", t->title);
        ltc_json_begin_object(&w, "units", 1);
        for (int i = 0; i < t->ncols; i++)
            text(&w, t->cols[i].key, t->cols[i].unit);
        ltc_json_end(&w);
        ltc_json_begin_array(&w, "rows", 0);
        for (int j = 0; j < t->nrows; j++) {
            ltc_json_begin_object(&w, NULL, 1);
            for (int i = 0; i < t->ncols; i++) {
                const bench_cell *c = &t->cells[(size_t)j * t->ncols + i];
                if (t->cols[i].decimals < 0)
                    text(&w, t->cols[i].key, c->text);
                else
                    ltc_json_number(&w, t->cols[i].key, c->num);
            }
            ltc_json_end(&w);
        }
        ltc_json_end(&w);
        ltc_json_end(&w);
    }
    ltc_json_end(&w);
    ltc_json_begin_array(&w, "summary", 0);
    for (int i = 0; i < r->nitems; i++) {
        const item *it = &r->items[i];
        if (it->kind != 1)
            continue;
        ltc_json_begin_object(&w, NULL, 1);
        text(&w, "key", it->key);
        ltc_json_number(&w, "value", it->value);
        text(&w, "unit", it->unit);
        text(&w, "what", it->text);
        ltc_json_end(&w);
    }
    ltc_json_end(&w);
    ltc_json_begin_array(&w, "goals", 0);
    for (int i = 0; i < r->nitems; i++) {
        const item *it = &r->items[i];
        if (it->kind < 2)
            continue;
        ltc_json_begin_object(&w, NULL, 1);
        text(&w, "key", it->key);
        text(&w, "goal", it->text);
        ltc_json_number(&w, "value", it->value);
        ltc_json_number(&w, "target", it->target);
        text(&w, "unit", it->unit);
        ltc_json_bool(&w, "higher_is_better", it->kind == 2);
        text(&w, "result", goal_word(it));
        ltc_json_end(&w);
    }
    ltc_json_end(&w);
    ltc_json_begin_array(&w, "notes", 0);
    for (int i = 0; i < r->nitems; i++)
        if (r->items[i].kind == 0)
            text(&w, NULL, r->items[i].text);
    ltc_json_end(&w);
    ltc_json_end(&w);
    fputc('\n', f);
    return close_out(r, f, path);
}

static void csv_text(FILE *f, const char *s) {
    s = s ? s : "";
    if (!strpbrk(s, ",\"\n")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

static int write_csv_table(const bench_report *r, const bench_table *t, const char *path) {
    errno = 0;
    FILE *f = open_out(r, path);
    if (!f)
        return 1;
    for (int i = 0; i < t->ncols; i++) {
        fprintf(f, "%s", i ? "," : "");
        csv_text(f, t->cols[i].key);
    }
    fputc('\n', f);
    for (int j = 0; j < t->nrows; j++) {
        for (int i = 0; i < t->ncols; i++) {
            const bench_cell *c = &t->cells[(size_t)j * t->ncols + i];
            fprintf(f, "%s", i ? "," : "");
            if (t->cols[i].decimals < 0)
                csv_text(f, c->text);
            else if (isfinite(c->num))
                print_number(f, c->num);
        }
        fputc('\n', f);
    }
    return close_out(r, f, path);
}

static int write_csv(const bench_report *r, const char *path) {
    int bad = 0;
    for (int k = 0; k < r->ntables; k++) {
        char p[4096];
        const char *dot = strrchr(path, '.'), *slash = strrchr(path, '/');
        if (k == 0)
            snprintf(p, sizeof p, "%s", path);
        else if (dot && (!slash || dot > slash))
            snprintf(p, sizeof p, "%.*s-%s%s", (int)(dot - path), path, r->tables[k]->name, dot);
        else
            snprintf(p, sizeof p, "%s-%s", path, r->tables[k]->name);
        if (write_csv_table(r, r->tables[k], p) != 0)
            bad = 1;
    }
    return bad;
}

static int write_md(const bench_report *r, const char *path) {
    errno = 0;
    FILE *f = open_out(r, path);
    if (!f)
        return 1;
    fprintf(f, "`bench_%s`: %s\n\n", r->name, r->description);
    for (int i = 0; i < r->ncontext; i++)
        fprintf(f, "- %s: %s\n", r->context[i][0], r->context[i][1]);
    for (int k = 0; k < r->ntables; k++) {
        const bench_table *t = r->tables[k];
        fprintf(f, "\n%s\n\n|", t->title);
        for (int i = 0; i < t->ncols; i++) {
            char h[128];
            header_text(&t->cols[i], h, sizeof h);
            fprintf(f, " %s |", h);
        }
        fprintf(f, "\n|");
        for (int i = 0; i < t->ncols; i++)
            fprintf(f, " %s |", t->cols[i].decimals < 0 ? "---" : "---:");
        fprintf(f, "\n");
        for (int j = 0; j < t->nrows; j++) {
            fprintf(f, "|");
            for (int i = 0; i < t->ncols; i++) {
                fprintf(f, " ");
                print_cell(f, &t->cols[i], 0, t->cells[(size_t)j * t->ncols + i]);
                fprintf(f, " |");
            }
            fprintf(f, "\n");
        }
    }
    int header = 0;
    for (int i = 0; i < r->nitems; i++) {
        const item *it = &r->items[i];
        if (it->kind == 0)
            continue;
        if (!header++)
            fprintf(f, "\n");
        char figures[128];
        goal_figures(it, figures, sizeof figures);
        if (it->kind == 1)
            fprintf(f, "- %s: **%s** (`%s`)\n", it->text, figures, it->key);
        else
            fprintf(f, "- goal %s: **%s**, %s\n", it->text, goal_word(it), figures);
    }
    header = 0;
    for (int i = 0; i < r->nitems; i++)
        if (r->items[i].kind == 0)
            fprintf(f, "%s- note: %s\n", header++ ? "" : "\n", r->items[i].text);
    return close_out(r, f, path);
}

int bench_report_finish(bench_report *r, const bench_args *args) {
    if (!r)
        return 1;
    int any = 0;
    for (int i = 0; i < r->nitems; i++) {
        const item *it = &r->items[i];
        if (it->kind == 1) {
            if (!any++)
                printf("\n# summary\n");
            printf("%-58s %10.4g%s%s\n", it->text, it->value, it->unit[0] ? " " : "", it->unit);
        }
    }
    any = 0;
    for (int i = 0; i < r->nitems; i++) {
        const item *it = &r->items[i];
        if (it->kind >= 2) {
            if (!any++)
                printf("\n# goals\n");
            char figures[128];
            goal_figures(it, figures, sizeof figures);
            printf("%-12s %s: %s\n", goal_word(it), it->text, figures);
        }
    }
    int bad = r->bad;
    if (args && args->csv)
        bad |= write_csv(r, args->csv);
    if (args && args->json)
        bad |= write_json(r, args->json);
    if (args && args->md)
        bad |= write_md(r, args->md);
    errno = 0;
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "bench_%s: cannot write the standard output: %s\n", r->name, strerror(errno ? errno : EIO));
        bad = 1;
    }
    for (int k = 0; k < r->ntables; k++) {
        bench_table *t = r->tables[k];
        for (int j = 0; j < t->nrows; j++)
            for (int i = 0; i < t->ncols; i++)
                if (t->cols[i].decimals < 0)
                    free((char *)t->cells[(size_t)j * t->ncols + i].text);
        for (int i = 0; i < t->ncols; i++) {
            free((char *)t->cols[i].key);
            free((char *)t->cols[i].title);
            free((char *)t->cols[i].unit);
        }
        free(t->cells);
        free(t->cols);
        free(t->width);
        free(t->name);
        free(t->title);
        free(t);
    }
    for (int i = 0; i < r->nitems; i++) {
        free(r->items[i].key);
        free(r->items[i].unit);
        free(r->items[i].text);
    }
    for (int i = 0; i < r->ncontext; i++)
        free(r->context[i][0]), free(r->context[i][1]);
    free(r->name);
    free(r->description);
    free(r);
    return bad;
}
