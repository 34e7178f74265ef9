/* bench_cold_start: the cold "is the GPU usable?" question, answered by a fresh process each time.
 * Runs `check_cuda --quick` and the seed's Python peer
 *     python3 -c 'import torch; torch.cuda.is_available()'
 * alternately (A B A B ...), each in a new process, and prints median, min and max wall time.
 *
 *   bench_cold_start [--runs N] [--check PATH] [--python PYTHON] [--csv FILE] [--json FILE]
 * Exit: 0 measured; 1 a command could not run; 2 bad arguments. */
#define _POSIX_C_SOURCE 200809L
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Runs argv with output discarded; returns the wall time in seconds, or -1 if it could not start. */
static double run_once(char *const argv[], int *status) {
    double t0 = now_s();
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        if (null >= 0) {
            dup2(null, 1);
            dup2(null, 2);
        }
        execvp(argv[0], argv);
        _exit(127);
    }
    waitpid(pid, status, 0);
    return now_s() - t0;
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    int runs = 10;
    const char *check = "check_cuda", *python = "python3", *csv = NULL, *json = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc)
            runs = atoi(argv[++i]);
        else if (strcmp(argv[i], "--check") == 0 && i + 1 < argc)
            check = argv[++i];
        else if (strcmp(argv[i], "--python") == 0 && i + 1 < argc)
            python = argv[++i];
        else if (strcmp(argv[i], "--csv") == 0 && i + 1 < argc)
            csv = argv[++i];
        else if (strcmp(argv[i], "--json") == 0 && i + 1 < argc)
            json = argv[++i];
        else {
            fprintf(stderr, "usage: bench_cold_start [--runs N] [--check PATH] [--python PYTHON] [--csv FILE] [--json FILE]\n");
            return 2;
        }
    }
    if (runs < 1 || runs > 1000) {
        fprintf(stderr, "bench_cold_start: --runs %d is not valid: use 1 to 1000\n", runs);
        return 2;
    }
    char *cmd_a[] = {(char *)check, "--quick", NULL};
    char *cmd_b[] = {(char *)python, "-c", "import torch; torch.cuda.is_available()", NULL};
    double *a = calloc((size_t)runs, sizeof *a), *b = calloc((size_t)runs, sizeof *b);
    int sa = 0, sb = 0;
    /* one unmeasured run of each warms the page cache, as a user's second try would be */
    if (run_once(cmd_a, &sa) < 0 || run_once(cmd_b, &sb) < 0) {
        fprintf(stderr, "bench_cold_start: could not start %s or %s\n", check, python);
        return 1;
    }
    int python_ok = WIFEXITED(sb) && WEXITSTATUS(sb) == 0;
    for (int i = 0; i < runs; i++) {
        a[i] = run_once(cmd_a, &sa);
        b[i] = python_ok ? run_once(cmd_b, &sb) : 0;
    }
    qsort(a, (size_t)runs, sizeof *a, cmp);
    qsort(b, (size_t)runs, sizeof *b, cmp);
    double ma = a[runs / 2], mb = b[runs / 2];
    printf("# cold check, one fresh process per run, alternated; %d runs each; check_cuda exit %d\n", runs,
           WIFEXITED(sa) ? WEXITSTATUS(sa) : -1);
    printf("%-52s %12s %12s %12s\n", "command", "median (s)", "min (s)", "max (s)");
    printf("%-52s %12.3f %12.3f %12.3f\n", "check_cuda --quick", ma, a[0], a[runs - 1]);
    if (python_ok) {
        printf("%-52s %12.3f %12.3f %12.3f\n", "python3 -c 'import torch; torch.cuda.is_available()'", mb, b[0], b[runs - 1]);
        printf("speedup (median): %.1fx\n", mb / ma);
    } else {
        printf("python3 with torch: not available here (no peer row)\n");
    }
    if (csv) {
        FILE *f = fopen(csv, "w");
        if (!f) {
            perror(csv);
            return 1;
        }
        fprintf(f, "command,runs,median_s,min_s,max_s\ncheck_cuda --quick,%d,%.6f,%.6f,%.6f\n", runs, ma, a[0], a[runs - 1]);
        if (python_ok)
            fprintf(f, "python is_available,%d,%.6f,%.6f,%.6f\n", runs, mb, b[0], b[runs - 1]);
        fclose(f);
    }
    if (json) {
        FILE *f = fopen(json, "w");
        if (!f) {
            perror(json);
            return 1;
        }
        fprintf(f, "{\"benchmark\": \"cold_start\", \"runs\": %d, \"check_cuda\": {\"median_s\": %.6f, \"min_s\": %.6f, \"max_s\": %.6f}",
                runs, ma, a[0], a[runs - 1]);
        if (python_ok)
            fprintf(f, ", \"python\": {\"median_s\": %.6f, \"min_s\": %.6f, \"max_s\": %.6f}, \"speedup\": %.3f", mb, b[0],
                    b[runs - 1], mb / ma);
        fprintf(f, "}\n");
        fclose(f);
    }
    free(a);
    free(b);
    return 0;
}
