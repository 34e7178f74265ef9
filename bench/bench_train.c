/* bench_train: train_data_parallel's benchmark. One SGD step of Linear(100, 10) (zero_grad, forward,
 * MSE, backward, [gradient average], step; the batch already on the device unless said), swept over the
 * global batch, 64 to 2^21 by default:
 *
 *   CPU, 1 thread / CPU, all threads   ltc on the CPU (intra-op threads as said)
 *   1 GPU eager                        ltc on cuda:0 (LibTorch's autograd for the backward)
 *   1 GPU eager + H2D                  the same, with the batch copied in from pinned host memory each step
 *   1 GPU graph                        forward, loss, backward and step captured as a CUDA graph after
 *                                      3 eager warm-up steps, and replayed
 *   N GPUs dp                          ltc_module_data_parallel_forward over every GPU (nn.DataParallel)
 *   N GPUs ddp                         N ranks, one per GPU, gradients averaged over NCCL (N = --nproc,
 *                                      default every GPU; with one it runs in this process)
 *   N GPUs ddp graph                   the same step with its all-reduce captured as a CUDA graph
 *
 * Each step is followed by a device synchronize and timed alone; the median is reported with min, max,
 * the spread (IQR over the median) and the run count. The peers run in their own processes, alternated
 * with ours round by round (A B A B ...); each case's figure is the median of its round medians:
 *   - raw LibTorch C++ (bench/peer_train.cpp: torch::nn::Linear and torch::optim::SGD, eager on the CPU
 *     and the GPU, as a CUDA graph, and as ddp over c10d's ProcessGroupNCCL, its ranks started here);
 *   - Python, plain PyTorch (bench/peer_train.py: the eager training loop, nn.DataParallel, and
 *     DistributedDataParallel under torchrun).
 *
 * Two phases. First the CPU: ltc's CPU cases and the raw C++ peer's, each in a fresh process with
 * nothing else running (this process only waits), before anything here touches a GPU, so that no
 * thread pool, GPU work or other process runs beside them and ltc and the peer start alike. Then the
 * GPU cases, the ddp ranks and the peers. The ddp ranks agree on the number of timed steps, since every
 * step all-reduces. The goals' targets are in bench/goals.
 */
#define _DEFAULT_SOURCE /* setenv, mkstemp, usleep, kill */
#include "harness.h"
#include "ltc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#ifndef LTC_BENCH_PEER_TRAIN_PY
#define LTC_BENCH_PEER_TRAIN_PY "peer_train.py"
#endif
#ifndef LTC_BENCH_PEER_TRAIN_CPP
#define LTC_BENCH_PEER_TRAIN_CPP "peer_train_cpp"
#endif

static const char usage[] =
    "usage: bench_train [options]\n"
    "Step time (median, us), steps/s and samples/s of a Linear(100, 10) SGD step over the global batch:\n"
    "CPU (1 and all threads, each in a fresh process), 1 GPU eager, with the batch copied in, as a CUDA\n"
    "graph, N GPUs dp, ddp and ddp as a graph, against raw LibTorch C++ and Python, plain PyTorch (the eager\n"
    "loop, nn.DataParallel, DDP under torchrun) side by side; the CPU/GPU crossover batch; strong and weak\n"
    "scaling efficiency; the goals of bench/goals.\n"
    "  --batches LIST   global batches, comma-separated, 1 to 2^26 each, at most 32 (default\n"
    "                   64,256,...,4^10,2^21)\n"
    "  --rounds N       alternated rounds of ours and the peers, 1 to 16 (default 2)\n"
    "  --nproc N        ranks for ddp, one per GPU, 0 to 64 (default: every visible GPU; 0: no ddp)\n"
    "  --device cpu     run the GPU cases' ddp and Python peers on the CPU instead (gloo), to try the\n"
    "                   benchmark without a GPU\n"
    "  --python PATH    Python with torch for the peers (default $LTC_PYTHON, else python3)\n"
    "  --no-python      no Python peers\n"
    "  --no-cpp         no raw LibTorch C++ peer\n"
    "  --no-cpu         skip the CPU cases\n"
    "%s"
    "exit codes: 0 measured (goals are reported, not enforced); 1 an error while measuring, or an output\n"
    "could not be written; 2 bad usage\n";

enum { IN = 100, OUT = 10, MAXB = 32, MAXR = 16 };

enum cfg { CPU1, CPUALL, GPU_EAGER, GPU_H2D, GPU_GRAPH, GPU_DP, DDP, DDP_GRAPH, NCFG };
/* The peers: Python (plain PyTorch), and the same step written directly in LibTorch C++ */
enum peer { PY_PLAIN, PY_DP, PY_DDP, CPP_CPU1, CPP_CPUALL, CPP_GPU, CPP_GRAPH, CPP_DDP, NPEER };
static const char *const peer_mode[NPEER] = {"plain", "dp", "ddp", "eager", "eager", "eager", "graph", "ddp"};
static const char *const peer_title[NPEER] = {"Python eager",        "Python nn.DataParallel", "Python DDP",
                                              "raw C++, 1 thread",   "raw C++, all threads",   "raw C++ eager",
                                              "raw C++ graph",       "raw C++ ddp"};
static const int peer_of[NCFG] = {-1, -1, PY_PLAIN, -1, PY_PLAIN, PY_DP, PY_DDP, -1};
static const int cpp_of[NCFG] = {CPP_CPU1, CPP_CPUALL, CPP_GPU, -1, CPP_GRAPH, -1, CPP_DDP, -1};
/* the goal (bench/goals) that compares each case with its raw C++ peer over the sweep */
static const char *const cpp_goal[NCFG] = {"cpu1_cpp_over_ltc", "cpu_all_cpp_over_ltc", "eager_cpp_over_ltc", NULL,
                                           "graph_cpp_over_ltc", NULL, "ddp_cpp_over_ltc", NULL};

/* ---------------------------------------------------------------------------------------------- */
/* One case: a model, its optimizer and a batch on the device                                      */
/* ---------------------------------------------------------------------------------------------- */

typedef struct step_ctx {
    ltc_module *model;        /* nn.Linear(100, 10), as the peers' */
    ltc_tensor_list *params;  /* its parameters, "weight" and "bias" */
    ltc_optimizer *opt;       /* SGD (fused) over them */
    ltc_dist *dist;
    ltc_tensor *x, *y, *xh, *yh; /* the batch on the device; pinned host copies for the H2D case */
    ltc_cuda_graph *graph;    /* the step captured (graph cases) */
    ltc_tensor *graph_loss;   /* the captured step's loss, which each replay rewrites */
    int dp, sync_dev; /* sync_dev: the GPU to synchronize after each step, -1 for the CPU */
} step_ctx;

/* forward, MSE loss, backward, [gradient average], SGD step: the work a graph captures. The loss's
 * handle goes to *loss (the caller frees it). 0 on success. */
static int train_step(step_ctx *c, ltc_tensor **loss) {
    ltc_tensor *pred = NULL;
    int bad = (c->dp ? ltc_module_data_parallel_forward(&pred, c->model, c->x, NULL, 0) : ltc_module_forward(&pred, c->model, c->x)) != LTC_OK ||
              ltc_mse_loss(loss, pred, c->y) != LTC_OK || ltc_tensor_backward(*loss) != LTC_OK ||
              (c->dist && ltc_dist_average_gradients(c->dist, c->params) != LTC_OK) || ltc_optimizer_step(c->opt) != LTC_OK;
    ltc_tensor_free(pred);
    return bad;
}

static int step(void *p) {
    step_ctx *c = p;
    if (c->xh && (ltc_tensor_copy(c->x, c->xh, 1) != LTC_OK || ltc_tensor_copy(c->y, c->yh, 1) != LTC_OK))
        return 1;
    if (c->graph)
        return ltc_cuda_graph_replay(c->graph) != LTC_OK;
    ltc_tensor *loss = NULL;
    int bad = ltc_optimizer_zero_grad(c->opt) != LTC_OK || train_step(c, &loss);
    ltc_tensor_free(loss);
    return bad;
}

static int sync_step(void *p) {
    step_ctx *c = p;
    return c->sync_dev >= 0 && ltc_cuda_synchronize(LTC_CUDA(c->sync_dev)) != LTC_OK;
}

static void free_case(step_ctx *c) {
    ltc_cuda_graph_free(c->graph);
    ltc_tensor_free(c->graph_loss);
    ltc_tensor_free(c->x);
    ltc_tensor_free(c->y);
    ltc_tensor_free(c->xh);
    ltc_tensor_free(c->yh);
    ltc_optimizer_free(c->opt);
    ltc_tensor_list_free(c->params);
    ltc_module_free(c->model);
    memset(c, 0, sizeof *c);
}

/* rows: this rank's part of the global batch. */
static int make_case(step_ctx *c, enum cfg k, int64_t rows, ltc_device dev, ltc_dist *dist) {
    memset(c, 0, sizeof *c);
    const ltc_device cpu = {LTC_DEVICE_CPU, 0};
    int64_t xs[2] = {rows, IN}, ys[2] = {rows, OUT};
    ltc_sgd_options sgd = LTC_SGD_OPTIONS_INIT;
    sgd.lr = 0.1, sgd.momentum = 0.9;
    c->dist = dist;
    c->dp = k == GPU_DP;
    c->sync_dev = dev.type == LTC_DEVICE_CUDA ? dev.index : -1;
    ltc_manual_seed(1);
    if (ltc_module_linear_new(&c->model, IN, OUT, 1) != LTC_OK || ltc_module_to(c->model, dev) != LTC_OK ||
        ltc_module_parameters(&c->params, c->model) != LTC_OK ||
        (dist && ltc_dist_broadcast_parameters(dist, c->params, 0) != LTC_OK) ||
        ltc_optimizer_sgd_new(&c->opt, c->params, &sgd) != LTC_OK || ltc_tensor_randn(&c->x, xs, 2, LTC_FLOAT32, dev, 1) != LTC_OK ||
        ltc_tensor_randn(&c->y, ys, 2, LTC_FLOAT32, dev, 2) != LTC_OK)
        return 1;
    if (k == GPU_H2D) {
        ltc_tensor *hx = NULL, *hy = NULL;
        int bad = ltc_tensor_randn(&hx, xs, 2, LTC_FLOAT32, cpu, 1) != LTC_OK ||
                  ltc_tensor_randn(&hy, ys, 2, LTC_FLOAT32, cpu, 2) != LTC_OK || ltc_tensor_pin_memory(&c->xh, hx) != LTC_OK ||
                  ltc_tensor_pin_memory(&c->yh, hy) != LTC_OK;
        ltc_tensor_free(hx);
        ltc_tensor_free(hy);
        if (bad)
            return 1;
    }
    if (k == GPU_GRAPH || k == DDP_GRAPH) {
        /* three eager warm-up steps (CUDA, cuBLAS and NCCL set themselves up, the optimizer makes its
         * state), the gradients dropped so that the captured backward makes them in the graph's memory,
         * then forward, loss, backward, [average] and step captured; each replay reads x and y where
         * they are, as a training loop that fills them would: nothing is copied */
        for (int i = 0; i < 3; i++)
            if (step(c) != 0)
                return 1;
        if (ltc_optimizer_zero_grad(c->opt) != LTC_OK || ltc_cuda_graph_new(&c->graph, dev) != LTC_OK ||
            ltc_cuda_graph_capture_begin(c->graph) != LTC_OK)
            return 1;
        int bad = train_step(c, &c->graph_loss);
        if (ltc_cuda_graph_capture_end(c->graph) != LTC_OK || bad)
            return 1;
    }
    return 0;
}

/* ---------------------------------------------------------------------------------------------- */
/* Results between processes: one line per batch, written by our workers and by both peers          */
/*   result MODE BATCH WORLD RUNS MEDIAN_S MIN_S MAX_S P25_S P75_S [VERSION]                         */
/* ---------------------------------------------------------------------------------------------- */

static void write_result(FILE *f, const char *mode, long long batch, int world, const bench_stats *s) {
    fprintf(f, "result %s %lld %d %d %.9g %.9g %.9g %.9g %.9g\n", mode, batch, world, s->runs, s->median_s, s->min_s,
            s->max_s, s->p25_s, s->p75_s);
}

static int index_of(const int64_t *batches, int nb, long long batch) {
    for (int b = 0; b < nb; b++)
        if (batches[b] == batch)
            return b;
    return -1;
}

/* Reads the result lines of `mode` (NULL: any) in path into stats/have; the VERSION of the last one
 * into version (if not NULL). */
static void read_results(const char *path, const char *mode, const int64_t *batches, int nb, bench_stats *stats, int *have,
                         char *version, size_t version_size) {
    FILE *f = fopen(path, "r");
    char line[1024];
    while (f && fgets(line, sizeof line, f)) {
        char m[32], v[64] = "";
        long long batch = 0;
        int world = 0;
        bench_stats s;
        memset(&s, 0, sizeof s);
        if (sscanf(line, "result %31s %lld %d %d %lf %lf %lf %lf %lf %63s", m, &batch, &world, &s.runs, &s.median_s, &s.min_s,
                   &s.max_s, &s.p25_s, &s.p75_s, v) < 9 ||
            (mode && strcmp(m, mode) != 0))
            continue;
        int b = index_of(batches, nb, batch);
        if (b >= 0 && s.runs > 0 && s.median_s > 0) {
            s.mean_s = s.median_s;
            s.total_s = s.median_s * s.runs;
            stats[b] = s;
            have[b] = 1;
            if (version && v[0])
                snprintf(version, version_size, "%s", v);
        }
    }
    if (f)
        fclose(f);
}

/* Closes a results file; 0 if every write reached it, else 1 after saying why. */
static int close_results(FILE *f, const char *path) {
    int err = fflush(f) != 0 || ferror(f) ? (errno ? errno : EIO) : 0;
    if (fclose(f) != 0 && !err)
        err = errno ? errno : EIO;
    if (err)
        fprintf(stderr, "bench_train: cannot write %s: %s\n", path, strerror(err));
    return err != 0;
}

/* ---------------------------------------------------------------------------------------------- */
/* Workers in fresh processes: the CPU cases, and the ddp ranks                                     */
/* ---------------------------------------------------------------------------------------------- */

/* bench_train --cpu-worker FILE THREADS MIN_TIME WARMUP MIN_RUNS MAX_RUNS BATCH...: the CPU cases with
 * THREADS intra-op threads, in a process that never touches a GPU; "result cpu ..." lines to FILE. */
static int cpu_worker(int argc, char **argv) {
    bench_config config = {.warmup = atoi(argv[5]), .min_runs = atoi(argv[6]), .max_runs = atoi(argv[7]),
                           .min_time_s = atof(argv[4])};
    const char *path = argv[2];
    FILE *f = fopen(path, "w");
    if (!f || ltc_num_threads_set(atoi(argv[3])) != LTC_OK) {
        fprintf(stderr, "bench_train: CPU worker: %s\n", f ? ltc_last_error() : strerror(errno));
        if (f)
            fclose(f);
        return 1;
    }
    for (int i = 8; i < argc; i++) {
        step_ctx c;
        bench_stats s;
        long long batch = atoll(argv[i]);
        if (make_case(&c, CPU1, batch, (ltc_device){LTC_DEVICE_CPU, 0}, NULL) ||
            bench_measure(&s, &config, step, sync_step, &c) != 0) {
            fprintf(stderr, "bench_train: CPU, %s threads, batch %lld: %s\n", argv[3], batch, ltc_last_error());
            free_case(&c);
            fclose(f);
            return 1;
        }
        free_case(&c);
        write_result(f, "cpu", batch, 1, &s);
    }
    return close_results(f, path);
}

/* *out = the mean over the ranks of each rank's v: an all-reduce of a one-element tensor on dev. */
static int ranks_mean(double *out, ltc_dist *d, ltc_device dev, double v) {
    ltc_tensor *t = NULL;
    const int64_t one = 1;
    int bad = ltc_tensor_from_data(&t, &v, &one, 1, LTC_FLOAT64, dev) != LTC_OK || ltc_dist_all_reduce(d, t, LTC_REDUCE_AVG) != LTC_OK ||
              ltc_tensor_item(out, t) != LTC_OK;
    ltc_tensor_free(t);
    return bad;
}

static int measure_ddp(bench_stats *out, ltc_dist *d, ltc_device dev, step_ctx *c, double min_time_s) {
    for (int i = 0; i < 3; i++)
        if (step(c) || sync_step(c))
            return 1;
    double t0 = bench_now_s();
    if (step(c) || sync_step(c))
        return 1;
    double once = bench_now_s() - t0, want = 0;
    double n = min_time_s / (once > 1e-7 ? once : 1e-7) + 1;
    n = n < 5 ? 5 : n > 100000 ? 100000 : n;
    if (ranks_mean(&want, d, dev, (double)(int)n) != 0) /* the same double on every rank */
        return 1;
    int runs = (int)(want + 0.5);
    double *samples = malloc(sizeof(double) * (size_t)runs);
    if (!samples)
        return 1;
    for (int i = 0; i < runs; i++) {
        t0 = bench_now_s();
        if (step(c) || sync_step(c)) {
            free(samples);
            return 1;
        }
        samples[i] = bench_now_s() - t0;
    }
    bench_stats_of(out, samples, runs);
    free(samples);
    return 0;
}

/* This rank's sweep: eager, then (on GPUs) as a CUDA graph, at each batch. Rank 0 writes "result
 * eager|graph ..." lines to out_path (if not NULL) and fills stats/have ([0] eager, [1] graph). */
static int ddp_sweep(ltc_dist *d, ltc_device dev, const int64_t *batches, int nb, double min_time_s,
                     bench_stats stats[2][MAXB], int have[2][MAXB], const char *out_path) {
    const int world = ltc_dist_world_size(d), rank = ltc_dist_rank(d), modes = dev.type == LTC_DEVICE_CUDA ? 2 : 1;
    FILE *f = out_path && rank == 0 ? fopen(out_path, "w") : NULL;
    if (out_path && rank == 0 && !f) {
        fprintf(stderr, "bench_train: cannot write %s: %s\n", out_path, strerror(errno));
        return 1;
    }
    for (int b = 0; b < nb; b++)
        for (int g = 0; g < modes; g++) {
            step_ctx c;
            have[g][b] = 0;
            if (batches[b] % world != 0)
                continue;
            if (make_case(&c, g ? DDP_GRAPH : DDP, batches[b] / world, dev, d) || measure_ddp(&stats[g][b], d, dev, &c, min_time_s)) {
                fprintf(stderr, "bench_train: ddp%s rank %d, batch %lld: %s\n", g ? " graph" : "", rank, (long long)batches[b],
                        ltc_last_error());
                free_case(&c);
                if (f)
                    fclose(f);
                return 1;
            }
            free_case(&c);
            have[g][b] = 1;
            if (f)
                write_result(f, g ? "graph" : "eager", (long long)batches[b], world, &stats[g][b]);
        }
    return f ? close_results(f, out_path) : 0;
}

/* A rank started by ltc_launch_local: bench_train --ddp-worker FILE DEVICE MIN_TIME BATCH... */
static int ddp_worker(int argc, char **argv) {
    ltc_dist_env env;
    ltc_dist *d = NULL;
    int64_t batches[MAXB];
    int nb = 0, have[2][MAXB];
    static bench_stats stats[2][MAXB];
    for (int i = 5; i < argc && nb < MAXB; i++)
        batches[nb++] = atoll(argv[i]);
    int cuda = strcmp(argv[3], "cuda") == 0;
    if (ltc_dist_env_from(&env, NULL) != LTC_OK) {
        fprintf(stderr, "bench_train: %s\n", ltc_last_error());
        return 2;
    }
    ltc_device dev = {cuda ? LTC_DEVICE_CUDA : LTC_DEVICE_CPU, cuda ? env.local_rank : 0};
    if (ltc_dist_init(&d, &env, dev, 120) != LTC_OK) {
        fprintf(stderr, "bench_train: rank %d: %s\n", env.rank, ltc_last_error());
        return 1;
    }
    int rc = ddp_sweep(d, dev, batches, nb, atof(argv[4]), stats, have, argv[2]);
    ltc_dist_free(d);
    return rc;
}

/* ---------------------------------------------------------------------------------------------- */
/* Other processes: our workers and the peers                                                      */
/* ---------------------------------------------------------------------------------------------- */

static char g_batches_csv[1024];
static char g_min_time[32];

/* ltc's CPU cases with `threads` intra-op threads, in a fresh process (cpu_worker). */
static int cpu_sweep(const char *self, int threads, const bench_config *config, const int64_t *batches, int nb,
                     const char *path) {
    char a[4][32], bs[MAXB][24];
    char *argv[8 + MAXB + 1] = {(char *)self, "--cpu-worker", (char *)path, a[0], g_min_time, a[1], a[2], a[3]};
    snprintf(a[0], sizeof a[0], "%d", threads);
    snprintf(a[1], sizeof a[1], "%d", config->warmup);
    snprintf(a[2], sizeof a[2], "%d", config->min_runs);
    snprintf(a[3], sizeof a[3], "%d", config->max_runs);
    for (int b = 0; b < nb; b++) {
        snprintf(bs[b], sizeof bs[b], "%lld", (long long)batches[b]);
        argv[8 + b] = bs[b];
    }
    argv[8 + nb] = NULL;
    unlink(path);
    return bench_run(argv, NULL, 900);
}

static int python_sweep(const char *python, enum peer p, int nproc, const char *device, const char *path) {
    char nproc_arg[32];
    snprintf(nproc_arg, sizeof nproc_arg, "--nproc-per-node=%d", nproc);
    unlink(path);
    char *plain[] = {(char *)python, LTC_BENCH_PEER_TRAIN_PY, "--mode", (char *)peer_mode[p], "--device", (char *)device,
                     "--batches", g_batches_csv, "--min-time", g_min_time, "--out", (char *)path, NULL};
    char *ddp[] = {(char *)python, "-m", "torch.distributed.run", "--standalone", nproc_arg, LTC_BENCH_PEER_TRAIN_PY,
                   "--mode", "ddp", "--device", (char *)device, "--batches", g_batches_csv, "--min-time", g_min_time,
                   "--out", (char *)path, NULL};
    return bench_run(p == PY_DDP ? ddp : plain, NULL, 900);
}

/* A TCP port free on 127.0.0.1 now (the kernel's choice), or 0. */
static int free_port(void) {
    int fd = socket(AF_INET, SOCK_STREAM, 0), port = 0;
    struct sockaddr_in a = {0};
    socklen_t len = sizeof a;
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 && getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

/* Runs argv as nproc ranks on this host, as torchrun --no-python does (RANK, LOCAL_RANK, WORLD_SIZE,
 * LOCAL_WORLD_SIZE, MASTER_ADDR, MASTER_PORT set; the caller's own launcher variables replaced), waits
 * up to timeout_s for all (then kills them); returns the first failing rank's exit code, 0, or -1. */
static int run_ranks(char *const argv[], int nproc, double timeout_s) {
    static const char *const ours[] = {"RANK=", "LOCAL_RANK=", "WORLD_SIZE=", "LOCAL_WORLD_SIZE=", "MASTER_ADDR=", "MASTER_PORT="};
    enum { NOURS = sizeof ours / sizeof ours[0] };
    const int port = free_port();
    size_t n = 0;
    while (environ[n])
        n++;
    char **envp = calloc(n + NOURS + 1, sizeof *envp), vars[NOURS][64];
    pid_t pids[64];
    int rc = 0, started = 0;
    if (!envp || port == 0 || nproc < 1 || nproc > 64) {
        fprintf(stderr, "bench_train: cannot start %d ranks of %s: %s\n", nproc, argv[0],
                !envp ? "out of memory" : port == 0 ? "no free TCP port on 127.0.0.1" : "1 to 64 ranks only");
        free(envp);
        return -1;
    }
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        int keep = 1;
        for (int v = 0; v < NOURS; v++)
            keep &= strncmp(environ[i], ours[v], strlen(ours[v])) != 0;
        if (keep)
            envp[m++] = environ[i];
    }
    for (int v = 0; v < NOURS; v++)
        envp[m + (size_t)v] = vars[v];
    for (int r = 0; r < nproc && rc == 0; r++) {
        snprintf(vars[0], sizeof vars[0], "RANK=%d", r);
        snprintf(vars[1], sizeof vars[1], "LOCAL_RANK=%d", r);
        snprintf(vars[2], sizeof vars[2], "WORLD_SIZE=%d", nproc);
        snprintf(vars[3], sizeof vars[3], "LOCAL_WORLD_SIZE=%d", nproc);
        snprintf(vars[4], sizeof vars[4], "MASTER_ADDR=127.0.0.1");
        snprintf(vars[5], sizeof vars[5], "MASTER_PORT=%d", port);
        int err = posix_spawnp(&pids[r], argv[0], NULL, NULL, argv, envp);
        if (err != 0) {
            fprintf(stderr, "bench_train: cannot start rank %d of %s: %s\n", r, argv[0], strerror(err));
            rc = -1;
        } else {
            started++;
        }
    }
    free(envp);
    const double t0 = bench_now_s();
    int left = started, killed = 0;
    while (left > 0) {
        for (int r = 0; r < started; r++) {
            int status = 0;
            pid_t got = pids[r] > 0 ? waitpid(pids[r], &status, WNOHANG) : 0;
            if (got == 0 || (got < 0 && errno == EINTR))
                continue;
            int code = got == pids[r] && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
            pids[r] = -1, left--;
            if (code != 0 && rc == 0)
                rc = code;
        }
        if (left > 0 && !killed && (rc != 0 || bench_now_s() - t0 > timeout_s)) { /* a rank failed, or too long */
            for (int r = 0; r < started; r++)
                if (pids[r] > 0)
                    kill(pids[r], SIGKILL);
            killed = 1, rc = rc ? rc : -1;
        }
        if (left > 0)
            usleep(20000);
    }
    return rc;
}

/* The raw LibTorch C++ peer, for the CPU cases (threads as said) or the GPU ones; ddp with nproc ranks,
 * one per GPU. */
static int cpp_sweep(enum peer p, int threads, int nproc, const char *path) {
    char nthreads[16];
    snprintf(nthreads, sizeof nthreads, "%d", threads);
    unlink(path);
    const int cpu = p == CPP_CPU1 || p == CPP_CPUALL;
    char *argv[] = {LTC_BENCH_PEER_TRAIN_CPP, "--mode", (char *)peer_mode[p], "--device", cpu ? "cpu" : "cuda", "--threads", nthreads,
                    "--batches", g_batches_csv, "--min-time", g_min_time, "--out", (char *)path, NULL};
    return p == CPP_DDP ? run_ranks(argv, nproc, 900) : bench_run(argv, NULL, 900);
}

/* ---------------------------------------------------------------------------------------------- */
/* The run: options, the two phases, the tables and goals                                          */
/* ---------------------------------------------------------------------------------------------- */

typedef struct run {
    bench_args args;
    int64_t batches[MAXB];
    int nb, rounds, nproc, want_python, want_cpp, want_cpu, ngpu, gpu, threads_all;
    const char *python, *peer_device, *self;
    char tmp[64];
    bench_report *rep;
    /* per case (or peer), batch and round */
    bench_stats res[NCFG][MAXB][MAXR], py[NPEER][MAXB][MAXR];
    int have[NCFG][MAXB][MAXR], have_py[NPEER][MAXB][MAXR];
    int python_ok, cpp_ok, cpp_ddp_ok; /* the ddp peer apart: its failure leaves the others running */
    char torch_version[64], cpp_version[64], py_note[256], cpp_note[256], cpp_ddp_note[256];
    /* the rounds combined */
    bench_stats fin[NCFG][MAXB], fin_py[NPEER][MAXB];
    int ok[NCFG][MAXB], ok_py[NPEER][MAXB];
    char names[NCFG][48];
} run;

static int parse_batches(const char *text, int64_t *out, int *n) {
    *n = 0;
    const char *p = text;
    while (*p && *n < MAXB) {
        char *end;
        long long v = strtoll(p, &end, 10);
        if (end == p || v < 1 || v > (1ll << 26))
            return 0;
        out[(*n)++] = v;
        p = *end == ',' ? end + 1 : end;
        if (*end && *end != ',')
            return 0;
    }
    return *n > 0 && !*p;
}

/* The command line, the harness's options with ours. 0: go on; else the exit code (help printed, or bad
 * usage said). */
static int parse_options(run *R, int argc, char **argv) {
    static const struct option longs[] = {BENCH_ARGS_OPTIONS, BENCH_PEER_OPTIONS,
                                          {"batches", required_argument, 0, 'b'},
                                          {"rounds", required_argument, 0, 'r'},
                                          {"nproc", required_argument, 0, 'n'},
                                          {"device", required_argument, 0, 'd'},
                                          {"no-cpp", no_argument, 0, 'C'},
                                          {"no-cpu", no_argument, 0, 'U'},
                                          {0, 0, 0, 0}};
    R->rounds = 2, R->nproc = -1, R->want_cpp = R->want_cpu = 1;
    R->peer_device = "cuda";
    parse_batches("64,256,1024,4096,16384,65536,262144,1048576,2097152", R->batches, &R->nb);
    bench_args_init(&R->args, argv[0]);
    for (int c, rc = 0; (c = bench_args_next(&R->args, argc, argv, longs, &rc)) != -1;) {
        long long n = 0;
        if (rc)
            return rc;
        switch (c) {
        case 'h': printf(usage, bench_args_help); return fflush(stdout) == 0 ? -1 : 1;
        case 'C': R->want_cpp = 0; break;
        case 'U': R->want_cpu = 0; break;
        case 'b':
            if (!parse_batches(optarg, R->batches, &R->nb))
                return bench_invalid("--batches", optarg, "use 1 to 32 whole numbers from 1 to 2^26 (67108864), comma-separated");
            break;
        case 'r':
            if (bench_whole(&n, "--rounds", optarg, 1, MAXR))
                return 2;
            R->rounds = (int)n;
            break;
        case 'n':
            if (bench_whole(&n, "--nproc", optarg, 0, 64))
                return 2;
            R->nproc = (int)n;
            break;
        case 'd':
            if (strcmp(optarg, "cpu") != 0 && strcmp(optarg, "cuda") != 0)
                return bench_invalid("--device", optarg, "use cuda or cpu");
            R->peer_device = optarg;
            break;
        default: return bench_usage_error(c, argv);
        }
    }
    R->self = argv[0];
    R->python = R->args.python, R->want_python = R->args.want_python;
    return bench_args_check(&R->args, argc, argv);
}

/* One peer's sweep of round r, which ended with exit code `code`: its results into py[p][.][r]; a
 * failure noted, and no more runs of that peer's kind. */
static void take_peer_round(run *R, enum peer p, int r, int code) {
    const int cpp = p >= CPP_CPU1;
    int h[MAXB] = {0};
    bench_stats s[MAXB];
    read_results(R->tmp, NULL, R->batches, R->nb, s, h, cpp ? R->cpp_version : R->torch_version, sizeof R->cpp_version);
    if (code != 0) {
        const int ddp = p == CPP_DDP;
        snprintf(ddp ? R->cpp_ddp_note : cpp ? R->cpp_note : R->py_note, sizeof R->cpp_note,
                 "the %s peer (%s, mode %s) failed with exit code %d: no %s figures", cpp ? "raw C++" : "Python",
                 cpp ? LTC_BENCH_PEER_TRAIN_CPP : R->python, peer_mode[p], code, ddp ? "raw C++ ddp" : cpp ? "raw C++" : "Python");
        *(ddp ? &R->cpp_ddp_ok : cpp ? &R->cpp_ok : &R->python_ok) = 0;
    }
    for (int b = 0; b < R->nb; b++)
        R->py[p][b][r] = s[b], R->have_py[p][b][r] = h[b];
}

/* Phase 1: ltc's CPU cases and the raw C++ peer's, each in a fresh process, alternated round by round. */
static int cpu_phase(run *R) {
    double load = NAN;
    int runnable = 0;
    FILE *f = fopen("/proc/loadavg", "r"); /* "0.52 0.58 0.59 3/467 12345": 1-minute average, runnable now/all */
    if (f) {
        if (fscanf(f, "%lf %*f %*f %d/", &load, &runnable) != 2)
            load = NAN;
        fclose(f);
    }
    if (!isnan(load))
        bench_report_note(R->rep, "when the CPU cases began: %d processes runnable (this one included), load average %.2f over "
                                  "the last minute, on %ld logical CPUs; other work on the machine slows the CPU rows",
                          runnable, load, sysconf(_SC_NPROCESSORS_ONLN));
    for (int r = 0; r < R->rounds; r++) {
        fprintf(stderr, "bench_train: CPU, round %d of %d\n", r + 1, R->rounds);
        for (int k = CPU1; k <= CPUALL; k++) {
            int threads = k == CPU1 ? 1 : R->threads_all, h[MAXB] = {0}, p = cpp_of[k];
            bench_stats s[MAXB];
            int code = cpu_sweep(R->self, threads, &R->args.config, R->batches, R->nb, R->tmp);
            read_results(R->tmp, "cpu", R->batches, R->nb, s, h, NULL, 0);
            if (code != 0) {
                fprintf(stderr, "bench_train: the CPU cases with %d threads failed (exit %d)\n", threads, code);
                return 1;
            }
            for (int b = 0; b < R->nb; b++)
                R->res[k][b][r] = s[b], R->have[k][b][r] = h[b];
            if (R->cpp_ok)
                take_peer_round(R, (enum peer)p, r, cpp_sweep((enum peer)p, threads, 1, R->tmp));
        }
    }
    return 0;
}

/* ltc ddp for one round: in this process with one rank, else nproc ranks launched. */
static int ddp_round(run *R, int r) {
    static bench_stats s[2][MAXB];
    int h[2][MAXB] = {{0}}, rc = 0;
    const ltc_device dev = {R->gpu ? LTC_DEVICE_CUDA : LTC_DEVICE_CPU, 0};
    if (R->nproc == 1) {
        ltc_dist_env env;
        ltc_dist *d = NULL;
        const char *none[] = {NULL};
        if (ltc_dist_env_from(&env, none) != LTC_OK || ltc_dist_init(&d, &env, dev, 120) != LTC_OK ||
            ddp_sweep(d, dev, R->batches, R->nb, R->args.config.min_time_s, s, h, NULL) != 0) {
            fprintf(stderr, "bench_train: ddp: %s\n", ltc_last_error());
            rc = 1;
        }
        ltc_dist_free(d);
    } else {
        const char *wargv[MAXB + 8] = {R->self, "--ddp-worker", R->tmp, R->gpu ? "cuda" : "cpu", g_min_time};
        char bs[MAXB][24];
        for (int b = 0; b < R->nb; b++) {
            snprintf(bs[b], sizeof bs[b], "%lld", (long long)R->batches[b]);
            wargv[5 + b] = bs[b];
        }
        wargv[5 + R->nb] = NULL;
        int code = 0, failed = -1;
        unlink(R->tmp);
        ltc_launch_options lo = LTC_LAUNCH_OPTIONS_INIT;
        lo.nproc = R->nproc, lo.argv = wargv, lo.device_type = R->gpu ? LTC_DEVICE_CUDA : LTC_DEVICE_CPU, lo.timeout_s = 120;
        lo.forward_signals = 1;
        if (ltc_launch_local(&code, &failed, NULL, &lo) != LTC_OK || code != 0) {
            fprintf(stderr, "bench_train: ddp over %d ranks: %s (rank %d exit %d)\n", R->nproc, ltc_last_error(), failed, code);
            rc = 1;
        }
        read_results(R->tmp, "eager", R->batches, R->nb, s[0], h[0], NULL, 0);
        read_results(R->tmp, "graph", R->batches, R->nb, s[1], h[1], NULL, 0);
    }
    for (int b = 0; b < R->nb; b++) {
        R->res[DDP][b][r] = s[0][b], R->have[DDP][b][r] = h[0][b];
        R->res[DDP_GRAPH][b][r] = s[1][b], R->have[DDP_GRAPH][b][r] = h[1][b];
    }
    return rc;
}

/* Phase 2: ltc's GPU cases in this process, ltc ddp, the raw C++ GPU peer and the Python peers. */
static int gpu_phase(run *R) {
    const ltc_device gpu0 = {LTC_DEVICE_CUDA, 0};
    for (int r = 0; r < R->rounds; r++) {
        fprintf(stderr, "bench_train: GPU, round %d of %d\n", r + 1, R->rounds);
        for (int k = GPU_EAGER; k < DDP && R->gpu; k++)
            for (int b = 0; b < R->nb; b++) {
                step_ctx c;
                int bad = make_case(&c, (enum cfg)k, R->batches[b], gpu0, NULL) ||
                          bench_measure(&R->res[k][b][r], &R->args.config, step, sync_step, &c) != 0;
                if (bad)
                    fprintf(stderr, "bench_train: %s, batch %lld: %s\n", R->names[k], (long long)R->batches[b], ltc_last_error());
                R->have[k][b][r] = !bad;
                free_case(&c);
                if (bad)
                    return 1;
            }
        if (R->nproc >= 1 && ddp_round(R, r) != 0)
            return 1;
        for (int p = CPP_GPU; p <= CPP_DDP && R->cpp_ok && R->gpu; p++)
            if (p != CPP_DDP || (R->nproc >= 1 && R->cpp_ddp_ok))
                take_peer_round(R, (enum peer)p, r, cpp_sweep((enum peer)p, R->threads_all, R->nproc, R->tmp));
        for (int p = PY_PLAIN; p <= PY_DDP && R->python_ok; p++)
            if ((p == PY_DDP && R->nproc >= 1) || (p != PY_DDP && R->gpu))
                take_peer_round(R, (enum peer)p, r, python_sweep(R->python, (enum peer)p, R->nproc, R->gpu ? "cuda" : "cpu", R->tmp));
    }
    return 0;
}

static void combine_rounds(run *R) {
    for (int b = 0; b < R->nb; b++) {
        bench_stats st[MAXR];
        for (int k = 0; k < NCFG; k++) {
            int n = 0;
            for (int r = 0; r < R->rounds; r++)
                if (R->have[k][b][r])
                    st[n++] = R->res[k][b][r];
            if ((R->ok[k][b] = n > 0))
                bench_stats_combine(&R->fin[k][b], st, n);
        }
        for (int p = 0; p < NPEER; p++) {
            int n = 0;
            for (int r = 0; r < R->rounds; r++)
                if (R->have_py[p][b][r])
                    st[n++] = R->py[p][b][r];
            if ((R->ok_py[p][b] = n > 0))
                bench_stats_combine(&R->fin_py[p][b], st, n);
        }
    }
}

static void add_tables(run *R) {
    static const bench_col cols[] = {
        {"case", "case", "", -1, 20},         {"batch", "global batch", "", 0, 0},  {"median_us", "median", "us", 1, 0},
        {"min_us", "min", "us", 1, 0},        {"max_us", "max", "us", 1, 0},        {"iqr_pct", "IQR", "%", 1, 0},
        {"runs", "runs", "", 0, 0},           {"steps_per_s", "steps/s", "", 0, 0}, {"samples_per_s", "samples/s", "", 0, 12},
        {"peer", "peer", "", -1, 22},         {"peer_median_us", "peer median", "us", 1, 0},
        {"speedup", "peer / this", "x", 2, 0},  {"cpp_median_us", "raw C++ median", "us", 1, 0},
        {"cpp_speedup", "raw C++ / this", "x", 2, 0}};
    bench_table *t = bench_report_table(R->rep, "sweep", "Step time by case and global batch (median of the round medians)",
                                        (int)(sizeof cols / sizeof *cols), cols);
    for (int k = 0; k < NCFG; k++)
        for (int b = 0; b < R->nb; b++) {
            if (!R->ok[k][b])
                continue;
            const bench_stats *s = &R->fin[k][b];
            const int p = peer_of[k], q = cpp_of[k];
            const int has_peer = p >= 0 && R->ok_py[p][b], has_cpp = q >= 0 && R->ok_py[q][b];
            const double batch = (double)R->batches[b];
            bench_cell row[] = {BENCH_TEXT(R->names[k]),
                                BENCH_NUM(batch),
                                BENCH_NUM(s->median_s * 1e6),
                                BENCH_NUM(s->min_s * 1e6),
                                BENCH_NUM(s->max_s * 1e6),
                                BENCH_NUM(bench_stats_iqr_pct(s)),
                                BENCH_NUM(s->runs),
                                BENCH_NUM(1 / s->median_s),
                                BENCH_NUM(batch / s->median_s),
                                BENCH_TEXT(has_peer ? peer_title[p] : "-"),
                                has_peer ? BENCH_NUM(R->fin_py[p][b].median_s * 1e6) : BENCH_NONE,
                                has_peer ? BENCH_NUM(R->fin_py[p][b].median_s / s->median_s) : BENCH_NONE,
                                has_cpp ? BENCH_NUM(R->fin_py[q][b].median_s * 1e6) : BENCH_NONE,
                                has_cpp ? BENCH_NUM(R->fin_py[q][b].median_s / s->median_s) : BENCH_NONE};
            bench_table_add(t, row);
        }
    /* Python dp has no row of its own above: compare it with our ddp over the same GPUs */
    static const bench_col pcols[] = {{"peer", "Python peer", "", -1, 24}, {"batch", "global batch", "", 0, 0},
                                      {"median_us", "median", "us", 1, 0},  {"iqr_pct", "IQR", "%", 1, 0},
                                      {"runs", "runs", "", 0, 0},           {"samples_per_s", "samples/s", "", 0, 12},
                                      {"ltc_ddp_over_peer", "ltc ddp samples/s / peer's", "x", 2, 0}};
    bench_table *tp = bench_report_table(R->rep, "peers", "The Python peers, against ltc ddp at the same global batch",
                                         (int)(sizeof pcols / sizeof *pcols), pcols);
    for (int p = 0; p <= PY_DDP; p++)
        for (int b = 0; b < R->nb; b++) {
            if (!R->ok_py[p][b])
                continue;
            const bench_stats *s = &R->fin_py[p][b];
            bench_cell row[] = {BENCH_TEXT(peer_title[p]), BENCH_NUM(R->batches[b]), BENCH_NUM(s->median_s * 1e6),
                                BENCH_NUM(bench_stats_iqr_pct(s)), BENCH_NUM(s->runs), BENCH_NUM(R->batches[b] / s->median_s),
                                R->ok[DDP][b] ? BENCH_NUM(s->median_s / R->fin[DDP][b].median_s) : BENCH_NONE};
            bench_table_add(tp, row);
        }
}

/* a / b of the medians of case ka and case kb at batch index b (either a peer when its flag is set), or NAN */
static double ratio(const run *R, int a_peer, int ka, int b_peer, int kb, int b) {
    if (b < 0 || !(a_peer ? R->ok_py[ka][b] : R->ok[ka][b]) || !(b_peer ? R->ok_py[kb][b] : R->ok[kb][b]))
        return NAN;
    return (a_peer ? R->fin_py[ka][b] : R->fin[ka][b]).median_s / (b_peer ? R->fin_py[kb][b] : R->fin[kb][b]).median_s;
}

/* the median time of case ka at batch index ba over case kb's at bb, or NAN (either not measured) */
static double times_over(const run *R, int ka, int ba, int kb, int bb) {
    if (ba < 0 || bb < 0 || !R->ok[ka][ba] || !R->ok[kb][bb])
        return NAN;
    return R->fin[ka][ba].median_s / R->fin[kb][bb].median_s;
}

/* the least over the sweep of ratio(...) at each batch where both were measured; NAN if none */
static double least_ratio(const run *R, int a_peer, int ka, int b_peer, int kb) {
    double least = NAN;
    for (int b = 0; b < R->nb; b++) {
        double x = ratio(R, a_peer, ka, b_peer, kb, b);
        least = isnan(least) || x < least ? x : least;
    }
    return least;
}

static void add_summary_and_goals(run *R) {
    const int nb = R->nb, bl = nb - 1, gpu = R->gpu, nproc = R->nproc;
    /* crossover: the smallest batch from which the GPU beats the CPU (all threads) at every larger one */
    double cross = NAN, cross_h2d = NAN;
    for (int b = bl; b >= 0 && ratio(R, 0, GPU_EAGER, 0, CPUALL, b) < 1; b--)
        cross = (double)R->batches[b];
    for (int b = bl; b >= 0 && ratio(R, 0, GPU_H2D, 0, CPUALL, b) < 1; b--)
        cross_h2d = (double)R->batches[b];
    bench_report_metric(R->rep, "crossover_batch", cross, "samples", "smallest global batch from which 1 GPU eager beats the CPU (all threads)");
    bench_report_metric(R->rep, "crossover_batch_with_h2d", cross_h2d, "samples",
                        "the same, with the batch copied in from pinned host memory each step");

    /* scaling, eager against 1 GPU eager and graph against 1 GPU graph; B the largest batch */
    const int multi = gpu && nproc >= 2, half = multi ? index_of(R->batches, nb, R->batches[bl] / nproc) : -1;
    const double n = nproc;
    bench_report_metric(R->rep, "strong_scaling_efficiency", multi ? times_over(R, GPU_EAGER, bl, DDP, bl) / n : NAN, "",
                        "1 GPU time / (N x N-GPU ddp time) at B (needs 2 or more GPUs)");
    bench_report_metric(R->rep, "strong_scaling_efficiency_graph", multi ? times_over(R, GPU_GRAPH, bl, DDP_GRAPH, bl) / n : NAN,
                        "", "the same as CUDA graphs: 1 GPU graph time / (N x N-GPU ddp graph time) at B");
    /* The most strong scaling could give with a free all-reduce: each of N GPUs doing B/N in what one
     * GPU takes for B/N. Below 1 where a kernel at B/N takes more than 1/N of its time at B. */
    bench_report_metric(R->rep, "strong_scaling_ceiling", multi ? times_over(R, GPU_EAGER, bl, GPU_EAGER, half) / n : NAN, "",
                        "1 GPU at B / (N x 1 GPU at B/N): strong scaling if the all-reduce cost nothing (needs B/N in the sweep)");
    bench_report_metric(R->rep, "strong_scaling_ceiling_graph", multi ? times_over(R, GPU_GRAPH, bl, GPU_GRAPH, half) / n : NAN,
                        "", "the same for the 1 GPU graph");
    bench_report_metric(R->rep, "weak_scaling_efficiency", multi ? times_over(R, GPU_EAGER, half, DDP, bl) : NAN, "",
                        "1 GPU at batch B/N over N GPUs ddp at batch B (needs 2 or more GPUs and B/N in the sweep)");

    /* goals: their words and targets are in bench/goals */
    const int b64 = index_of(R->batches, nb, 64), b2m = index_of(R->batches, nb, 2097152);
    for (int k = 0; k < NCFG; k++)
        if (cpp_goal[k])
            bench_report_goal(R->rep, cpp_goal[k], least_ratio(R, 1, cpp_of[k], 0, k));
    bench_report_goal(R->rep, "eager_python_over_ltc_b64", ratio(R, 1, PY_PLAIN, 0, GPU_EAGER, b64));
    bench_report_goal(R->rep, "graph_python_over_ltc_b64", ratio(R, 1, PY_PLAIN, 0, GPU_GRAPH, b64));
    bench_report_goal(R->rep, "graph_cpp_over_ltc_b64", ratio(R, 1, CPP_GRAPH, 0, GPU_GRAPH, b64));
    bench_report_goal(R->rep, "ddp_over_eager_b64", gpu && nproc >= 2 ? ratio(R, 0, DDP, 0, GPU_EAGER, b64) : NAN);
    bench_report_goal(R->rep, "ddp_graph_us_b64_2gpus",
                      gpu && nproc == 2 && b64 >= 0 && R->ok[DDP_GRAPH][b64] ? R->fin[DDP_GRAPH][b64].median_s * 1e6 : NAN);
    bench_report_goal(R->rep, "ddp_over_python_ddp", gpu ? least_ratio(R, 1, PY_DDP, 0, DDP) : NAN);
    bench_report_goal(R->rep, "ddp_over_python_dp", gpu ? least_ratio(R, 1, PY_DP, 0, DDP) : NAN);
    bench_report_goal(R->rep, "strong_scaling_2M_2gpus", gpu && nproc == 2 ? ratio(R, 0, GPU_EAGER, 0, DDP, b2m) / 2 : NAN);
    bench_report_goal(R->rep, "strong_scaling_2M_2gpus_graph", gpu && nproc == 2 ? ratio(R, 0, GPU_GRAPH, 0, DDP_GRAPH, b2m) / 2 : NAN);
}

int main(int argc, char **argv) {
    if (argc >= 6 && strcmp(argv[1], "--ddp-worker") == 0)
        return ddp_worker(argc, argv);
    if (argc >= 9 && strcmp(argv[1], "--cpu-worker") == 0)
        return cpu_worker(argc, argv);

    static run R; /* large: static */
    int rc = parse_options(&R, argc, argv);
    if (rc != 0)
        return rc < 0 ? 0 : rc;
    g_batches_csv[0] = '\0';
    for (int b = 0; b < R.nb; b++)
        snprintf(g_batches_csv + strlen(g_batches_csv), sizeof g_batches_csv - strlen(g_batches_csv), "%s%lld",
                 b ? "," : "", (long long)R.batches[b]);
    snprintf(g_min_time, sizeof g_min_time, "%g", R.args.config.min_time_s);
    setenv("NCCL_NVLS_ENABLE", "0", 1); /* every rank and peer we start inherits it */
    ltc_cuda_device_count(&R.ngpu);
    R.gpu = R.ngpu > 0 && strcmp(R.peer_device, "cuda") == 0;
    if (R.nproc < 0)
        R.nproc = strcmp(R.peer_device, "cpu") == 0 ? 2 : R.ngpu;
    R.threads_all = ltc_num_threads_get();
    R.python_ok = R.want_python;
    R.cpp_ok = R.cpp_ddp_ok = R.want_cpp;
    snprintf(R.names[CPU1], sizeof R.names[CPU1], "CPU, 1 thread");
    snprintf(R.names[CPUALL], sizeof R.names[CPUALL], "CPU, %d threads", R.threads_all);
    snprintf(R.names[GPU_EAGER], sizeof R.names[GPU_EAGER], "1 GPU eager");
    snprintf(R.names[GPU_H2D], sizeof R.names[GPU_H2D], "1 GPU eager + H2D");
    snprintf(R.names[GPU_GRAPH], sizeof R.names[GPU_GRAPH], "1 GPU graph");
    snprintf(R.names[GPU_DP], sizeof R.names[GPU_DP], "%d GPU%s dp", R.ngpu, R.ngpu == 1 ? "" : "s");
    snprintf(R.names[DDP], sizeof R.names[DDP], "%d %s ddp", R.nproc, R.gpu ? (R.nproc == 1 ? "GPU" : "GPUs") : "CPU ranks");
    snprintf(R.names[DDP_GRAPH], sizeof R.names[DDP_GRAPH], "%d GPU%s ddp graph", R.nproc, R.nproc == 1 ? "" : "s");

    R.rep = bench_report_new("train", "Linear(100, 10) SGD step (train_data_parallel) over the global batch", &R.args.config);
    if (!R.rep)
        return 1;
    bench_report_note(R.rep, "CPU threads: 1 and %d (LibTorch's intra-op default), each CPU case in a fresh process before any "
                             "GPU work; GPUs visible: %d; ddp ranks: %d%s",
                      R.threads_all, R.ngpu, R.nproc, R.gpu ? "" : " on the CPU");
    if (!R.gpu && R.ngpu == 0) {
        ltc_tensor *t = NULL;
        int64_t one = 1;
        ltc_tensor_zeros(&t, &one, 1, LTC_FLOAT32, (ltc_device){LTC_DEVICE_CUDA, 0});
        bench_report_note(R.rep, "no GPU: %s; only the CPU cases%s run", ltc_last_error(), R.nproc ? " and CPU ddp" : "");
    }
    snprintf(R.tmp, sizeof R.tmp, "/tmp/bench_train_XXXXXX");
    int fd = mkstemp(R.tmp);
    if (fd < 0) {
        fprintf(stderr, "bench_train: cannot make a temporary file in /tmp: %s\n", strerror(errno));
        bench_report_finish(R.rep, NULL);
        return 1;
    }
    close(fd);

    rc = (R.want_cpu && cpu_phase(&R) != 0) || gpu_phase(&R) != 0;
    unlink(R.tmp);
    if (R.py_note[0])
        bench_report_note(R.rep, "%s", R.py_note);
    if (R.cpp_note[0])
        bench_report_note(R.rep, "%s", R.cpp_note);
    if (R.cpp_ddp_note[0])
        bench_report_note(R.rep, "%s", R.cpp_ddp_note);
    if (R.torch_version[0])
        bench_report_note(R.rep, "Python peers: torch %s via %s (%s)", R.torch_version, R.python, LTC_BENCH_PEER_TRAIN_PY);
    if (R.cpp_version[0])
        bench_report_note(R.rep, "raw C++ peer: LibTorch %s, torch::nn::Linear and torch::optim::SGD; its ddp over c10d's "
                          "ProcessGroupNCCL, one all-reduce of the flattened gradients (bench/peer_train.cpp)",
                          R.cpp_version);
    combine_rounds(&R);
    add_tables(&R);
    add_summary_and_goals(&R);
    int frc = bench_report_finish(R.rep, &R.args);
    return rc ? rc : frc;
}
