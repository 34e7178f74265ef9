/* bench_model: an exported model run from C (ltc_model_run) against the same package run from Python
 * (torch._inductor.aoti_load_package(path)(x), bench/peer_model.py), side by side, on the MLP of
 * examples/export_model.py (64 -> 256 -> 10), for the CPU and, with a GPU, for cuda:0:
 *  - first run: a fresh process each time, timed from before the load to the end of the first call
 *    (process start and `import torch` not included), ltc and Python alternated;
 *  - steady state: the time per call after warm-up, at batch 1 and a large batch, alternated round by round:
 *    ltc with runners 0 (the default: no lock, no CUDA event per call), ltc with runners 1 (LibTorch's
 *    thread-safe container, what Python's loader uses by default), and Python. The compiled model is the
 *    same, so the differences are the host path's: runners 1 against Python is Python's per-call work
 *    (pytree, pybind, the GIL), runners 0 against runners 1 is the container's lock and CUDA events.
 * Packages: mlp_cpu.pt2 and mlp_cuda.pt2 in --package-dir, exported there with examples/export_model.py
 * when missing. */
#define _DEFAULT_SOURCE /* mkdtemp */
#include "harness.h"
#include "ltc.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef LTC_BENCH_PEER_MODEL_PY
#define LTC_BENCH_PEER_MODEL_PY "peer_model.py"
#endif
#ifndef LTC_BENCH_EXPORT_MODEL_PY
#define LTC_BENCH_EXPORT_MODEL_PY "export_model.py"
#endif

static const char usage[] =
    "usage: bench_model [options]\n"
    "An exported model (.pt2, AOTInductor) run from C through ltc against the same package run from Python\n"
    "(torch._inductor.aoti_load_package(path)(x)), side by side: the first run (load and first call, a fresh\n"
    "process each) and the steady state per call, at each batch, on the CPU and, with a GPU, on cuda:0.\n"
    "  --package-dir D  the packages mlp_cpu.pt2 and mlp_cuda.pt2; missing ones are exported there with\n"
    "                   examples/export_model.py (default: a scratch folder, removed at the end)\n"
    "  --batches LIST   steady-state batches, comma-separated, each 1 to 4096 (default 1,4096)\n"
    "  --rounds N       alternated steady-state rounds, 1 to 100 (default 3)\n"
    "  --first-runs N   fresh processes of each for the first run, 0 to 100 (default 5)\n"
    "  --device D       cpu or cuda (default: both, cuda only with a usable GPU)\n"
    "  --python PATH    the Python with torch for the peer and the export (default $LTC_PYTHON, else python3)\n"
    "  --no-python      no Python peer (the packages must then be in --package-dir)\n"
    "%s"
    "exit codes: 0 measured (goals are reported, not enforced); 1 an error while measuring, a package that\n"
    "could not be made, or an output that could not be written; 2 bad usage\n";

enum { MAXB = 8, MAXROUNDS = 100 };
static const ltc_device CPU = {LTC_DEVICE_CPU, 0}, GPU0 = {LTC_DEVICE_CUDA, 0};

typedef struct settings {
    bench_config config;
    const char *dir, *python;
    int batches[MAXB], nbatch, rounds, first_runs, want_python, devices; /* devices: bit 0 cpu, bit 1 cuda */
} settings;

/* --first-run PACKAGE DEVICE BATCH: this program in a fresh process; prints "LOAD_S FIRST_S". */
static int first_run_child(const char *package, const char *device, const char *batch) {
    ltc_device dev;
    ltc_model *m = NULL;
    ltc_tensor *x = NULL, *y = NULL;
    int64_t shape[2] = {atoi(batch), 64};
    if (ltc_device_parse(&dev, device) != LTC_OK || ltc_tensor_randn(&x, shape, 2, LTC_FLOAT32, dev, 1) != LTC_OK ||
        (dev.type == LTC_DEVICE_CUDA && ltc_cuda_synchronize(dev) != LTC_OK))
        return fprintf(stderr, "bench_model: %s\n", ltc_last_error()), 1;
    double t0 = bench_now_s();
    ltc_status s = ltc_model_load(&m, package, NULL);
    double t1 = bench_now_s();
    if (s == LTC_OK)
        s = ltc_model_run(&y, 1, m, (const ltc_tensor *const *)&x, 1);
    if (s == LTC_OK && dev.type == LTC_DEVICE_CUDA)
        s = ltc_cuda_synchronize(dev);
    double t2 = bench_now_s();
    if (s != LTC_OK)
        return fprintf(stderr, "bench_model: %s\n", ltc_last_error()), 1;
    printf("%.9g %.9g\n", t1 - t0, t2 - t1);
    ltc_tensor_free(x);
    ltc_tensor_free(y);
    ltc_model_free(m);
    return fflush(stdout) != 0;
}

/* Runs argv (a first run) in a fresh process; its two times into load and first. 0 on success. */
static int time_fresh(char *const argv[], const char *out, double *load, double *first) {
    if (bench_run(argv, out, 600) != 0)
        return 1;
    FILE *f = fopen(out, "r");
    int ok = f && fscanf(f, "%lf %lf", load, first) == 2;
    if (f)
        fclose(f);
    return !ok;
}

typedef struct run_ctx {
    ltc_model *m;
    ltc_tensor *x;
    ltc_device dev;
} run_ctx;

static int run_once(void *p) {
    run_ctx *c = p;
    ltc_tensor *y = NULL;
    ltc_status s = ltc_model_run(&y, 1, c->m, (const ltc_tensor *const *)&c->x, 1);
    ltc_tensor_free(y);
    return s != LTC_OK;
}

static int sync_gpu(void *p) { return ltc_cuda_synchronize(((run_ctx *)p)->dev) != LTC_OK; }

static const bench_col steady_cols[] = {
    {"device", "device", "", -1, 8},        {"batch", "batch", "", 0, 7},      {"implementation", "implementation", "", -1, 44},
    {"median_us", "median", "us", 2, 0},    {"min_us", "min", "us", 2, 0},     {"max_us", "max", "us", 2, 0},
    {"iqr_pct", "IQR", "%", 1, 0},          {"runs", "runs", "", 0, 0},        {"python_over_this", "Python / this", "x", 2, 0}};

static const char *const impl_names[3] = {"ltc, runners 0 (no lock, no event)", "ltc, runners 1 (thread-safe container)",
                                          "Python: aoti_load_package(path)(x)"};

/* One device and batch: ltc (runners 0 and 1) and the Python peer, rounds alternated. Returns the median
 * seconds of runners 0 and of Python in st[0], st[2] (NAN when not measured); 0, or 1 on an error. */
static int steady_case(bench_table *tab, bench_report *rep, const settings *s, const char *package, ltc_device dev,
                       int batch, bench_stats st[3]) {
    char devtext[32], btext[16], err[512], banner[256];
    ltc_device_format(devtext, sizeof devtext, dev);
    snprintf(btext, sizeof btext, "%d", batch);
    char *argv[] = {(char *)s->python, LTC_BENCH_PEER_MODEL_PY, (char *)package, devtext, btext, NULL};
    bench_peer *peer = s->want_python ? bench_peer_start(argv, 300, banner, sizeof banner, err, sizeof err) : NULL;
    if (s->want_python && !peer)
        bench_report_note(rep, "%s batch %d: the Python peer did not start: %s", devtext, batch, err);
    const bench_config cfg = s->config;
    run_ctx ctx[2] = {{NULL, NULL, dev}, {NULL, NULL, dev}};
    bench_stats rounds[3][MAXROUNDS];
    int64_t shape[2] = {batch, 64};
    int bad = ltc_tensor_randn(&ctx[0].x, shape, 2, LTC_FLOAT32, dev, 1) != LTC_OK;
    for (int k = 0; k < 2 && !bad; k++) {
        ltc_model_options o = LTC_MODEL_OPTIONS_INIT;
        o.runners = k;
        ctx[k].x = ctx[0].x;
        bad = ltc_model_load(&ctx[k].m, package, &o) != LTC_OK;
    }
    for (int r = 0; r < s->rounds && !bad; r++) {
        for (int k = 0; k < 2 && !bad; k++)
            bad = bench_measure(&rounds[k][r], &cfg, run_once, dev.type == LTC_DEVICE_CUDA ? sync_gpu : NULL, &ctx[k]);
        if (peer && bench_peer_run(peer, cfg.min_time_s, &rounds[2][r], err, sizeof err) != 0) {
            bench_report_note(rep, "%s batch %d: the Python peer failed: %s", devtext, batch, err);
            bench_peer_stop(peer);
            peer = NULL;
        }
    }
    if (bad)
        bench_report_note(rep, "%s batch %d through ltc: %s", devtext, batch, ltc_last_error());
    for (int k = 0; k < 3; k++) {
        st[k] = (bench_stats){.median_s = NAN};
        if (k < 2 ? !bad : peer != NULL)
            bench_stats_combine(&st[k], rounds[k], s->rounds);
    }
    for (int k = 0; k < 3; k++)
        if (!isnan(st[k].median_s))
            bench_table_add(tab, (bench_cell[]){BENCH_TEXT(devtext), BENCH_NUM(batch), BENCH_TEXT(impl_names[k]),
                                                BENCH_NUM(st[k].median_s * 1e6), BENCH_NUM(st[k].min_s * 1e6),
                                                BENCH_NUM(st[k].max_s * 1e6), BENCH_NUM(bench_stats_iqr_pct(&st[k])),
                                                BENCH_NUM(st[k].runs), BENCH_NUM(st[2].median_s / st[k].median_s)});
    for (int k = 0; k < 2; k++)
        ltc_model_free(ctx[k].m);
    ltc_tensor_free(ctx[0].x);
    bench_peer_stop(peer);
    return bad;
}

static const bench_col first_cols[] = {
    {"device", "device", "", -1, 8},          {"implementation", "implementation", "", -1, 36},
    {"load_ms", "load", "ms", 1, 0},          {"first_call_ms", "first call", "ms", 2, 0},
    {"load_max_ms", "load max", "ms", 1, 0},  {"runs", "runs", "", 0, 0},
    {"python_over_this", "load: Python / this", "x", 1, 0}};

/* First runs on one device, ltc and Python alternated, each a fresh process; *ratio = ltc load / Python's
 * (medians), NAN without Python. 0, or 1 on an error. */
static int first_case(bench_table *tab, bench_report *rep, const settings *s, const char *self, const char *package,
                      ltc_device dev, double *ratio) {
    char devtext[32], out[2300];
    ltc_device_format(devtext, sizeof devtext, dev);
    snprintf(out, sizeof out, "%s.first-run", package);
    char *argv[2][8] = {{(char *)self, "--first-run", (char *)package, devtext, "1", NULL},
                        {(char *)s->python, LTC_BENCH_PEER_MODEL_PY, "--first-run", (char *)package, devtext, "1", NULL}};
    double load[2][MAXROUNDS], first[2][MAXROUNDS];
    int sides = s->want_python ? 2 : 1;
    for (int i = 0; i < s->first_runs; i++)
        for (int k = 0; k < sides; k++)
            if (time_fresh(argv[k], out, &load[k][i], &first[k][i]) != 0) {
                bench_report_note(rep, "first run on %s: %s failed (its messages are above)", devtext, argv[k][0]);
                unlink(out);
                return 1;
            }
    unlink(out);
    bench_stats l[2], f[2];
    for (int k = 0; k < sides; k++) {
        bench_stats_of(&l[k], load[k], s->first_runs);
        bench_stats_of(&f[k], first[k], s->first_runs);
    }
    *ratio = sides == 2 ? l[0].median_s / l[1].median_s : NAN;
    for (int k = 0; k < sides; k++)
        bench_table_add(tab, (bench_cell[]){BENCH_TEXT(devtext), BENCH_TEXT(k ? "Python: aoti_load_package" : "ltc_model_load"),
                                            BENCH_NUM(l[k].median_s * 1e3), BENCH_NUM(f[k].median_s * 1e3),
                                            BENCH_NUM(l[k].max_s * 1e3), BENCH_NUM(s->first_runs),
                                            sides == 2 ? BENCH_NUM(l[1].median_s / l[k].median_s) : BENCH_NONE});
    return 0;
}

/* DIR/mlp_DEVICE.pt2 into path, exported with examples/export_model.py when it is not there. 0 when it is. */
static int package_for(char *path, size_t n, const settings *s, const char *device, bench_report *rep) {
    snprintf(path, n, "%s/mlp_%s.pt2", s->dir, device);
    if (access(path, R_OK) == 0)
        return 0;
    if (!s->want_python) {
        bench_report_note(rep, "no %s and no Python to export it (--no-python)", path);
        return 1;
    }
    char log[1100];
    snprintf(log, sizeof log, "%s/export_%s.log", s->dir, device);
    char *argv[] = {(char *)s->python, LTC_BENCH_EXPORT_MODEL_PY, "--device", (char *)device, "--out", path, NULL};
    fprintf(stderr, "bench_model: exporting %s (AOTInductor compiles C++: a minute or so)\n", path);
    if (bench_run(argv, log, 1800) == 0 && access(path, R_OK) == 0)
        return 0;
    bench_report_note(rep, "cannot export %s with %s (its messages are above; its output: %s)", path,
                      LTC_BENCH_EXPORT_MODEL_PY, log);
    return 1;
}

/* "1,4096" into s->batches; 0 when it is not a list of 1 to MAXB numbers from 1 to 4096. */
static int parse_batches(settings *s, const char *v) {
    char *end = NULL;
    s->nbatch = 0;
    for (const char *p = v; s->nbatch < MAXB; p = end + 1) {
        long b = strtol(p, &end, 10);
        if (end == p || b < 1 || b > 4096)
            return 0;
        s->batches[s->nbatch++] = (int)b;
        if (*end != ',')
            return *end == '\0';
    }
    return 0;
}

/* The command line, the harness's options (into *args) with ours (into *s). 0: go on; else the exit code
 * (help printed, or bad usage said). */
static int parse_options(settings *s, bench_args *args, int argc, char **argv) {
    static const struct option longs[] = {BENCH_ARGS_OPTIONS, BENCH_PEER_OPTIONS,
                                          {"package-dir", required_argument, 0, 'd'},
                                          {"batches", required_argument, 0, 'b'},
                                          {"rounds", required_argument, 0, 'r'},
                                          {"first-runs", required_argument, 0, 'f'},
                                          {"device", required_argument, 0, 'D'},
                                          {0, 0, 0, 0}};
    bench_args_init(args, argv[0]);
    for (int c, rc = 0; (c = bench_args_next(args, argc, argv, longs, &rc)) != -1;) {
        long long n = 0;
        if (rc)
            return rc;
        switch (c) {
        case 'h': printf(usage, bench_args_help); return fflush(stdout) == 0 ? -1 : 1;
        case 'd': s->dir = optarg; break;
        case 'r':
            if (bench_whole(&n, "--rounds", optarg, 1, MAXROUNDS))
                return 2;
            s->rounds = (int)n;
            break;
        case 'f':
            if (bench_whole(&n, "--first-runs", optarg, 0, MAXROUNDS))
                return 2;
            s->first_runs = (int)n;
            break;
        case 'b':
            if (!parse_batches(s, optarg))
                return bench_invalid("--batches", optarg, "use 1 to 8 numbers from 1 to 4096, comma-separated");
            break;
        case 'D':
            s->devices = !strcmp(optarg, "cpu") ? 1 : !strcmp(optarg, "cuda") ? 2 : 0;
            if (!s->devices)
                return bench_invalid("--device", optarg, "use cpu or cuda");
            break;
        default: return bench_usage_error(c, argv);
        }
    }
    s->config = args->config;
    s->python = args->python, s->want_python = args->want_python;
    return bench_args_check(args, argc, argv);
}

int main(int argc, char **argv) {
    if (argc == 5 && !strcmp(argv[1], "--first-run"))
        return first_run_child(argv[2], argv[3], argv[4]);
    bench_args args;
    settings s = {bench_config_default(), NULL, NULL, {1, 4096}, 2, 3, 5, 1, 0};
    int rc = parse_options(&s, &args, argc, argv);
    if (rc != 0)
        return rc < 0 ? 0 : rc;
    if (!s.devices)
        s.devices = 1 | (ltc_cuda_is_available() ? 2 : 0);
    char scratch[] = "/tmp/ltc_bench_model_XXXXXX", self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0 || (!s.dir && !(s.dir = mkdtemp(scratch)))) {
        perror("bench_model: /proc/self/exe or a scratch folder");
        return 1;
    }
    self[n] = '\0';
    bench_report *rep = bench_report_new(
        "model", "an exported model (.pt2) run from C through ltc against Python's aoti_load_package(path)(x)", &args.config);
    if (!rep)
        return 1;
    /* First runs on every device, then the steady state: each table prints as its rows come. */
    int bad = 0;
    char package[2][1100] = {"", ""};
    double load_ratio[2] = {NAN, NAN}, b1_ratio[2] = {NAN, NAN};
    for (int d = 0; d < 2; d++)
        if ((s.devices & (1 << d)) && package_for(package[d], sizeof package[d], &s, d ? "cuda" : "cpu", rep) != 0) {
            package[d][0] = '\0';
            bad = 1;
        }
    bench_table *ft = s.first_runs ? bench_report_table(rep, "first_run", "first run: load and first call at batch "
                                                        "1, a fresh process each, alternated; medians", 7, first_cols) : NULL;
    for (int d = 0; d < 2 && ft; d++)
        if (package[d][0])
            bad |= first_case(ft, rep, &s, self, package[d], d ? GPU0 : CPU, &load_ratio[d]);
    bench_table *st = bench_report_table(rep, "steady", "steady state: one call, synchronized; rounds alternated, "
                                                        "median of the round medians", 9, steady_cols);
    for (int d = 0; d < 2; d++)
        for (int b = 0; b < s.nbatch && package[d][0]; b++) {
            bench_stats r[3];
            bad |= steady_case(st, rep, &s, package[d], d ? GPU0 : CPU, s.batches[b], r);
            if (s.batches[b] == 1)
                b1_ratio[d] = r[2].median_s / r[0].median_s;
        }
    bench_report_note(rep, "package: the MLP of examples/export_model.py (Linear 64-256, ReLU, Linear 256-10), batch "
                           "dynamic; Python: %s", s.want_python ? s.python : "none (--no-python)");
    bench_report_metric(rep, "cpu_b1_python_over_ltc", b1_ratio[0], "x", "CPU, batch 1: Python time / ltc time");
    bench_report_goal(rep, "gpu_b1_python_over_ltc", b1_ratio[1]);
    bench_report_goal(rep, "gpu_load_ltc_over_python", load_ratio[1]);
    bench_report_goal(rep, "cpu_load_ltc_over_python", load_ratio[0]);
    if (s.dir == scratch) {
        char *rm[] = {"rm", "-rf", scratch, NULL};
        bench_run(rm, NULL, 60);
    }
    return bench_report_finish(rep, &args) != 0 || bad;
}
