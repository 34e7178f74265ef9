/* bench_cold_start: the cold "is the GPU usable?" question, answered by a fresh process each time.
 * Runs `check_cuda --quick` and the same question in Python (plain PyTorch)
 *     python3 -c 'import torch; torch.cuda.is_available()'
 * alternately (A B A B ...), each in a new process started with posix_spawn (no copy of this process's
 * memory to time) and its output discarded, after one untimed run of each (the page cache warm, as a
 * user's second try finds it). Each run is timed from the spawn to the end of the wait, on the
 * harness's clock; the report is the harness's: median, min, max, spread, goals (bench/goals).
 */
#define _POSIX_C_SOURCE 200809L
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

extern char **environ;

static const char usage[] =
    "usage: bench_cold_start [options]\n"
    "The wall time of a fresh process answering \"is the GPU usable?\": check_cuda --quick against\n"
    "python3 -c 'import torch; torch.cuda.is_available()', alternated, a new process per run.\n"
    "  --runs N         timed runs of each, 1 to 1000 (default 5), after one untimed run of each\n"
    "  --check PATH     the check_cuda program (default: check_cuda on PATH)\n"
    "  --python PATH    the Python with torch (default $LTC_PYTHON, else python3)\n"
    "  --no-python      no Python runs\n"
    "  --csv FILE       write the table as CSV\n"
    "  --json FILE      write everything, with the machine and versions, as JSON\n"
    "  --md FILE        write everything as Markdown\n"
    "exit codes: 0 measured (goals are reported, not enforced); 1 a program could not be started, or an\n"
    "output could not be written; 2 bad usage\n";

/* Runs argv with its output discarded; *seconds is its wall time. 0, or an errno value when it could not
 * start (glibc's posix_spawnp reports a failed exec so). */
static int run_once(char *const argv[], double *seconds, int *status) {
    posix_spawn_file_actions_t fa;
    int rc = posix_spawn_file_actions_init(&fa);
    if (rc != 0)
        return rc;
    if ((rc = posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0)) != 0 ||
        (rc = posix_spawn_file_actions_adddup2(&fa, 1, 2)) != 0) {
        posix_spawn_file_actions_destroy(&fa);
        return rc;
    }
    pid_t pid;
    double t0 = bench_now_s();
    rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0)
        return rc;
    while (waitpid(pid, status, 0) < 0)
        if (errno != EINTR)
            return errno;
    *seconds = bench_now_s() - t0;
    return 0;
}

static int status_code(int status) { return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status); }

int main(int argc, char **argv) {
    static const struct option longs[] = {BENCH_ARGS_OPTIONS, BENCH_PEER_OPTIONS,
                                          {"runs", required_argument, 0, 'r'},
                                          {"check", required_argument, 0, 'c'},
                                          {0, 0, 0, 0}};
    bench_args args;
    int runs = 5;
    long long n = 0;
    const char *check = "check_cuda";
    bench_args_init(&args, argv[0]);
    for (int c, rc = 0; (c = bench_args_next(&args, argc, argv, longs, &rc)) != -1;) {
        if (rc)
            return rc;
        switch (c) {
        case 'h': fputs(usage, stdout); return fflush(stdout) == 0 ? 0 : 1;
        case 'c': check = optarg; break;
        case 'r':
            if (bench_whole(&n, "--runs", optarg, 1, 1000))
                return 2;
            runs = (int)n;
            break;
        default: return bench_usage_error(c, argv);
        }
    }
    if (bench_args_check(&args, argc, argv))
        return 2;
    if (args.timing_given) {
        fprintf(stderr, "error: --min-time, --warmup, --min-runs and --max-runs do not apply here: "
                        "each command runs once per round (--runs sets the rounds)\n");
        return 2;
    }

    char *cmd_a[] = {(char *)check, "--quick", NULL};
    char *cmd_b[] = {(char *)args.python, "-c", "import torch; torch.cuda.is_available()", NULL};
    double *a = calloc((size_t)runs, sizeof *a), *b = calloc((size_t)runs, sizeof *b), t = 0;
    if (!a || !b) {
        fprintf(stderr, "bench_cold_start: out of memory\n");
        return 1;
    }
    bench_report *rep = bench_report_new(
        "cold_start", "a fresh process per run answering \"is the GPU usable?\": check_cuda --quick against Python", NULL);
    if (!rep)
        return 1;
    bench_report_note(rep, "timing: one untimed run of each, then %d runs of each alternated (A B A B ...), each a new "
                           "process timed from its spawn to the end of its wait, output discarded", runs);
    int sa = 0, sb = 0, err;
    if ((err = run_once(cmd_a, &t, &sa)) != 0) {
        fprintf(stderr, "bench_cold_start: cannot run %s: %s (--check names check_cuda)\n", check, strerror(err));
        bench_report_finish(rep, NULL);
        return 1;
    }
    if (args.want_python && (err = run_once(cmd_b, &t, &sb)) != 0) {
        bench_report_note(rep, "no Python runs: cannot run %s: %s", args.python, strerror(err));
        args.want_python = 0;
    } else if (args.want_python && status_code(sb) != 0) {
        bench_report_note(rep, "no Python runs: %s -c 'import torch; ...' exited %d (no torch there?)", args.python,
                          status_code(sb));
        args.want_python = 0;
    }
    for (int i = 0; i < runs; i++) {
        if ((err = run_once(cmd_a, &a[i], &sa)) != 0 || (args.want_python && (err = run_once(cmd_b, &b[i], &sb)) != 0)) {
            fprintf(stderr, "bench_cold_start: run %d: %s\n", i + 1, strerror(err));
            bench_report_finish(rep, NULL);
            return 1;
        }
    }
    bench_report_note(rep, "check_cuda --quick exited %d (0: a GPU is usable)", status_code(sa));

    static const bench_col cols[] = {{"command", "command", "", -1, 52}, {"runs", "runs", "", 0, 0},
                                     {"median_s", "median", "s", 3, 0},   {"min_s", "min", "s", 3, 0},
                                     {"max_s", "max", "s", 3, 0},         {"iqr_pct", "IQR", "%", 1, 0}};
    bench_table *tab = bench_report_table(rep, "cold", "cold process, a fresh one per run, alternated", 6, cols);
    bench_stats sta, stb = {0};
    bench_stats_of(&sta, a, runs);
    bench_table_add(tab, (bench_cell[]){BENCH_TEXT("check_cuda --quick"), BENCH_NUM(runs), BENCH_NUM(sta.median_s),
                                        BENCH_NUM(sta.min_s), BENCH_NUM(sta.max_s), BENCH_NUM(bench_stats_iqr_pct(&sta))});
    if (args.want_python) {
        bench_stats_of(&stb, b, runs);
        bench_table_add(tab, (bench_cell[]){BENCH_TEXT("Python: import torch; torch.cuda.is_available()"), BENCH_NUM(runs),
                                            BENCH_NUM(stb.median_s), BENCH_NUM(stb.min_s), BENCH_NUM(stb.max_s),
                                            BENCH_NUM(bench_stats_iqr_pct(&stb))});
        bench_report_note(rep, "Python: %s", args.python);
    }
    bench_report_goal(rep, "check_cuda_median_s", sta.median_s);
    bench_report_goal(rep, "python_over_check", args.want_python ? stb.median_s / sta.median_s : NAN);
    free(a);
    free(b);
    return bench_report_finish(rep, &args);
}
