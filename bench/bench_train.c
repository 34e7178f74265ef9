/* bench_train: train_data_parallel's benchmark. One SGD step of Linear(100, 10) (zero_grad, forward,
 * MSE, backward, [gradient average], step; the batch already on the device unless said), swept over the
 * global batch, 64 to 2^21 by default:
 *
 *   CPU, 1 thread / CPU, all threads   ltc on the CPU (intra-op threads as said)
 *   1 GPU eager                        ltc on cuda:0 (LibTorch's autograd for the backward)
 *   1 GPU eager + H2D                  the same, with the batch copied in from pinned host memory each step
 *   1 GPU graph                        the whole step captured as a CUDA graph and replayed
 *   N GPUs dp                          ltc_data_parallel_forward over every GPU (nn.DataParallel)
 *   N GPUs ddp                         N ranks, one per GPU, gradients averaged over NCCL (N = --nproc,
 *                                      default every GPU; with one it runs in this process)
 *
 * Each step is followed by a device synchronize and timed alone; the median is reported with min, max
 * and the run count. The raw LibTorch C++ peer (bench/peer_train.cpp: torch::nn::Linear and
 * torch::optim::SGD, eager on the CPU and the GPU, and as a CUDA graph) and the Python peers (bench/peer_train.py: the plain PyTorch training loop, nn.DataParallel, and
 * DistributedDataParallel under torchrun) run in their own processes, alternated with ours round by round
 * (A B A B ...); each case's figure is the median of its round medians. The ddp ranks agree on the
 * number of timed steps, since every step all-reduces.
 */
#define _DEFAULT_SOURCE /* setenv, mkstemp, usleep, kill */
#include "harness.h"
#include "ltc.h"

#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
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
    "CPU (1 and all threads), 1 GPU eager, with the batch copied in, as a CUDA graph, N GPUs dp and ddp,\n"
    "against the seed's Python (plain, nn.DataParallel, DDP under torchrun) side by side; the CPU/GPU\n"
    "crossover batch; strong and weak scaling efficiency.\n"
    "  --batches LIST   global batches, comma-separated (default 64,256,...,4^10,2^21)\n"
    "  --rounds N       alternated rounds of ours and the Python peers (default 2)\n"
    "  --nproc N        ranks for ddp, one per GPU (default: every visible GPU; 0: no ddp)\n"
    "  --device cpu     run the GPU cases' ddp and Python peers on the CPU instead (gloo), to try the\n"
    "                   benchmark without a GPU\n"
    "  --python PATH    Python with torch for the peers (default $LTC_PYTHON, else python3)\n"
    "  --no-python      no Python peers\n"
    "  --no-cpp         no raw LibTorch C++ peer\n"
    "  --no-cpu         skip the CPU cases\n"
    "%s"
    "exit codes: 0 measured (goals are reported, not enforced); 1 an error while measuring; 2 bad usage\n";

enum { IN = 100, OUT = 10, MAXB = 32, MAXR = 16 };

enum cfg { CPU1, CPUALL, GPU_EAGER, GPU_H2D, GPU_GRAPH, GPU_DP, DDP, NCFG };
/* The peers: the seed's Python, and the same step written directly in LibTorch C++ (bench/peer_train.cpp) */
enum peer { PY_PLAIN, PY_DP, PY_DDP, CPP_CPU1, CPP_CPUALL, CPP_GPU, CPP_GRAPH, NPEER };
static const char *const peer_mode[NPEER] = {"plain", "dp", "ddp", "eager", "eager", "eager", "graph"};
static const char *const peer_title[NPEER] = {"Python eager",        "Python nn.DataParallel", "Python DDP",
                                              "raw C++, 1 thread",   "raw C++, all threads",   "raw C++ eager",
                                              "raw C++ graph"};
static const int peer_of[NCFG] = {-1, -1, PY_PLAIN, -1, PY_PLAIN, PY_DP, PY_DDP};
static const int cpp_of[NCFG] = {CPP_CPU1, CPP_CPUALL, CPP_GPU, -1, CPP_GRAPH, -1, -1};

/* ---------------------------------------------------------------------------------------------- */
/* One case: a model, its optimizer and a batch on the device                                      */
/* ---------------------------------------------------------------------------------------------- */

typedef struct step_ctx {
    ltc_linear *model;
    ltc_sgd *opt;
    ltc_dist *dist;
    ltc_tensor *x, *y, *xh, *yh; /* the batch on the device; pinned host copies for the H2D case */
    ltc_train_graph *graph;
    int dp, sync_dev; /* sync_dev: the GPU to synchronize after each step, -1 for the CPU */
} step_ctx;

static int step(void *p) {
    step_ctx *c = p;
    if (c->xh && (ltc_tensor_copy(c->x, c->xh, 1) != LTC_OK || ltc_tensor_copy(c->y, c->yh, 1) != LTC_OK))
        return 1;
    if (c->graph)
        return ltc_train_graph_replay(c->graph, c->x, c->y) != LTC_OK;
    ltc_tensor *pred = NULL, *loss = NULL;
    int bad = ltc_sgd_zero_grad(c->opt) != LTC_OK ||
              (c->dp ? ltc_data_parallel_forward(&pred, c->model, c->x, NULL, 0) : ltc_linear_forward(&pred, c->model, c->x)) != LTC_OK ||
              ltc_mse_loss(&loss, pred, c->y) != LTC_OK || ltc_tensor_backward(loss) != LTC_OK ||
              (c->dist && ltc_dist_average_gradients(c->dist, c->model) != LTC_OK) || ltc_sgd_step(c->opt) != LTC_OK;
    ltc_tensor_free(pred);
    ltc_tensor_free(loss);
    return bad;
}

static int sync_step(void *p) {
    step_ctx *c = p;
    return c->sync_dev >= 0 && ltc_cuda_synchronize(c->sync_dev) != LTC_OK;
}

static void free_case(step_ctx *c) {
    ltc_train_graph_free(c->graph);
    ltc_tensor_free(c->x);
    ltc_tensor_free(c->y);
    ltc_tensor_free(c->xh);
    ltc_tensor_free(c->yh);
    ltc_sgd_free(c->opt);
    ltc_linear_free(c->model);
    memset(c, 0, sizeof *c);
}

/* rows: this rank's part of the global batch. */
static int make_case(step_ctx *c, enum cfg k, int64_t rows, ltc_device dev, ltc_dist *dist) {
    memset(c, 0, sizeof *c);
    const ltc_device cpu = {LTC_DEVICE_CPU, 0};
    int64_t xs[2] = {rows, IN}, ys[2] = {rows, OUT};
    c->dist = dist;
    c->dp = k == GPU_DP;
    c->sync_dev = dev.type == LTC_DEVICE_CUDA ? dev.index : -1;
    ltc_manual_seed(1);
    if (ltc_linear_new(&c->model, IN, OUT, 1) != LTC_OK || ltc_linear_to(c->model, dev) != LTC_OK ||
        (dist && ltc_dist_broadcast_parameters(dist, c->model, 0) != LTC_OK) ||
        ltc_sgd_new(&c->opt, c->model, 0.1, 0.9) != LTC_OK || ltc_tensor_randn(&c->x, xs, 2, LTC_FLOAT32, dev, 1) != LTC_OK ||
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
    if (k == GPU_GRAPH) {
        /* replayed on its own inputs, as a training loop that fills them would: nothing is copied */
        if (ltc_train_graph_new(&c->graph, c->model, c->opt, dist, c->x, c->y) != LTC_OK)
            return 1;
        ltc_tensor_free(c->x);
        ltc_tensor_free(c->y);
        c->x = c->y = NULL;
        if (ltc_train_graph_inputs(&c->x, &c->y, c->graph) != LTC_OK)
            return 1;
    }
    return 0;
}

/* ---------------------------------------------------------------------------------------------- */
/* ddp: every rank takes the same number of timed steps                                            */
/* ---------------------------------------------------------------------------------------------- */

static int measure_ddp(bench_stats *out, ltc_dist *d, step_ctx *c, double min_time_s) {
    for (int i = 0; i < 3; i++)
        if (step(c) || sync_step(c))
            return 1;
    double t0 = bench_now_s();
    if (step(c) || sync_step(c))
        return 1;
    double once = bench_now_s() - t0, want = 0;
    double n = min_time_s / (once > 1e-7 ? once : 1e-7) + 1;
    n = n < 5 ? 5 : n > 100000 ? 100000 : n;
    if (ltc_dist_mean(&want, d, (double)(int)n) != LTC_OK) /* the same double on every rank */
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

/* This rank's sweep; rank 0 writes "batch runs median min max" lines to out_path (if not NULL) and
 * fills stats. */
static int ddp_sweep(ltc_dist *d, ltc_device dev, const int64_t *batches, int nb, double min_time_s, bench_stats *stats,
                     int *have, const char *out_path) {
    const int world = ltc_dist_world_size(d), rank = ltc_dist_rank(d);
    FILE *f = out_path && rank == 0 ? fopen(out_path, "w") : NULL;
    for (int b = 0; b < nb; b++) {
        step_ctx c;
        have[b] = 0;
        if (batches[b] % world != 0)
            continue;
        if (make_case(&c, DDP, batches[b] / world, dev, d) || measure_ddp(&stats[b], d, &c, min_time_s)) {
            fprintf(stderr, "bench_train: ddp rank %d, batch %lld: %s\n", rank, (long long)batches[b], ltc_last_error());
            free_case(&c);
            if (f)
                fclose(f);
            return 1;
        }
        free_case(&c);
        have[b] = 1;
        if (f)
            fprintf(f, "%lld %d %.9g %.9g %.9g\n", (long long)batches[b], stats[b].runs, stats[b].median_s, stats[b].min_s,
                    stats[b].max_s);
    }
    if (f)
        fclose(f);
    return 0;
}

/* A rank started by ltc_launch_local: bench_train --ddp-worker FILE DEVICE MIN_TIME BATCH... */
static int ddp_worker(int argc, char **argv) {
    ltc_dist_env env;
    ltc_dist *d = NULL;
    int64_t batches[MAXB];
    int nb = 0, have[MAXB];
    bench_stats stats[MAXB];
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
/* Other processes: our ddp ranks, and the Python peers                                            */
/* ---------------------------------------------------------------------------------------------- */

/* Runs argv, waits up to timeout_s (then kills it); returns its exit code, or -1. */
static int run_process(char *const argv[], double timeout_s) {
    pid_t pid;
    if (posix_spawnp(&pid, argv[0], NULL, NULL, argv, environ) != 0)
        return -1;
    double t0 = bench_now_s();
    int status = 0;
    while (waitpid(pid, &status, WNOHANG) == 0) {
        if (bench_now_s() - t0 > timeout_s) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            return -1;
        }
        usleep(20000);
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static int index_of(const int64_t *batches, int nb, long long batch) {
    for (int b = 0; b < nb; b++)
        if (batches[b] == batch)
            return b;
    return -1;
}

/* Reads a peer's JSON lines (or our ranks' plain lines) into stats/have. */
static void read_results(const char *path, int json, const int64_t *batches, int nb, bench_stats *stats, int *have,
                         char *torch_version, size_t tv_size) {
    FILE *f = fopen(path, "r");
    char line[1024];
    while (f && fgets(line, sizeof line, f)) {
        long long batch = 0;
        bench_stats s;
        memset(&s, 0, sizeof s);
        if (json) {
            const char *p;
            if ((p = strstr(line, "\"batch\": ")))
                batch = atoll(p + 9);
            if ((p = strstr(line, "\"runs\": ")))
                s.runs = atoi(p + 8);
            if ((p = strstr(line, "\"median_s\": ")))
                s.median_s = atof(p + 12);
            if ((p = strstr(line, "\"min_s\": ")))
                s.min_s = atof(p + 9);
            if ((p = strstr(line, "\"max_s\": ")))
                s.max_s = atof(p + 9);
            if ((p = strstr(line, "\"torch\": \"")) && torch_version) {
                snprintf(torch_version, tv_size, "%s", p + 10);
                torch_version[strcspn(torch_version, "\"")] = '\0';
            }
        } else if (sscanf(line, "%lld %d %lf %lf %lf", &batch, &s.runs, &s.median_s, &s.min_s, &s.max_s) != 5) {
            continue;
        }
        int b = index_of(batches, nb, batch);
        if (b >= 0 && s.runs > 0 && s.median_s > 0) {
            s.mean_s = s.median_s;
            s.total_s = s.median_s * s.runs;
            stats[b] = s;
            have[b] = 1;
        }
    }
    if (f)
        fclose(f);
}

static char g_batches_csv[1024];

static int python_sweep(const char *python, enum peer p, int nproc, const char *device, double min_time_s, const char *path) {
    char nproc_arg[32], min_time[32];
    snprintf(nproc_arg, sizeof nproc_arg, "--nproc-per-node=%d", nproc);
    snprintf(min_time, sizeof min_time, "%g", min_time_s);
    unlink(path);
    char *plain[] = {(char *)python, LTC_BENCH_PEER_TRAIN_PY, "--mode", (char *)peer_mode[p], "--device", (char *)device,
                     "--batches", g_batches_csv, "--min-time", min_time, "--out", (char *)path, NULL};
    char *ddp[] = {(char *)python, "-m", "torch.distributed.run", "--standalone", nproc_arg, LTC_BENCH_PEER_TRAIN_PY,
                   "--mode", "ddp", "--device", (char *)device, "--batches", g_batches_csv, "--min-time", min_time,
                   "--out", (char *)path, NULL};
    return run_process(p == PY_DDP ? ddp : plain, 900);
}

/* The raw LibTorch C++ peer, for the CPU cases (threads as said) or the GPU ones. */
static int cpp_sweep(enum peer p, int threads, double min_time_s, const char *path) {
    char min_time[32], nthreads[16];
    snprintf(min_time, sizeof min_time, "%g", min_time_s);
    snprintf(nthreads, sizeof nthreads, "%d", threads);
    unlink(path);
    const int cpu = p == CPP_CPU1 || p == CPP_CPUALL;
    char *argv[] = {LTC_BENCH_PEER_TRAIN_CPP, "--mode", (char *)peer_mode[p], "--device", cpu ? "cpu" : "cuda", "--threads", nthreads,
                    "--batches", g_batches_csv, "--min-time", min_time, "--out", (char *)path, NULL};
    return run_process(argv, 900);
}

/* ---------------------------------------------------------------------------------------------- */

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

int main(int argc, char **argv) {
    if (argc >= 6 && strcmp(argv[1], "--ddp-worker") == 0)
        return ddp_worker(argc, argv);

    bench_args args;
    if (bench_args_parse(&args, &argc, argv) != 0)
        return 2;
    int64_t batches[MAXB];
    int nb = 0, rounds = 2, nproc = -1, want_python = 1, want_cpp = 1, want_cpu = 1, ngpu = 0;
    const char *python = getenv("LTC_PYTHON") && *getenv("LTC_PYTHON") ? getenv("LTC_PYTHON") : "python3";
    const char *peer_device = "cuda";
    parse_batches("64,256,1024,4096,16384,65536,262144,1048576,2097152", batches, &nb);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            printf(usage, bench_args_help);
            return 0;
        } else if (!strcmp(a, "--no-python")) {
            want_python = 0;
        } else if (!strcmp(a, "--no-cpp")) {
            want_cpp = 0;
        } else if (!strcmp(a, "--no-cpu")) {
            want_cpu = 0;
        } else if (v && !strcmp(a, "--batches") && parse_batches(v, batches, &nb)) {
            i++;
        } else if (v && !strcmp(a, "--rounds") && (rounds = atoi(v)) >= 1 && rounds <= MAXR) {
            i++;
        } else if (v && !strcmp(a, "--nproc") && (nproc = atoi(v)) >= 0) {
            i++;
        } else if (v && !strcmp(a, "--device") && (!strcmp(v, "cpu") || !strcmp(v, "cuda"))) {
            peer_device = v;
            i++;
        } else if (v && !strcmp(a, "--python")) {
            python = v;
            i++;
        } else {
            fprintf(stderr, "bench_train: bad option %s%s%s (try --help)\n", a, v ? " " : "", v ? v : "");
            return 2;
        }
    }
    g_batches_csv[0] = '\0';
    for (int b = 0; b < nb; b++)
        snprintf(g_batches_csv + strlen(g_batches_csv), sizeof g_batches_csv - strlen(g_batches_csv), "%s%lld",
                 b ? "," : "", (long long)batches[b]);
    setenv("NCCL_NVLS_ENABLE", "0", 1); /* every rank and peer we start inherits it */
    ltc_cuda_device_count(&ngpu);
    const int gpu = ngpu > 0 && strcmp(peer_device, "cuda") == 0;
    if (nproc < 0)
        nproc = strcmp(peer_device, "cpu") == 0 ? 2 : ngpu;
    const int threads_all = ltc_num_threads_get();
    const ltc_device cpu = {LTC_DEVICE_CPU, 0}, gpu0 = {LTC_DEVICE_CUDA, 0};
    const ltc_device ddp_dev = gpu ? gpu0 : cpu;

    bench_report *rep = bench_report_new("train", "Linear(100, 10) SGD step (train_data_parallel) over the global batch",
                                         &args.config);
    bench_report_note(rep, "CPU threads: 1 and %d (LibTorch's intra-op default); GPUs visible: %d; ddp ranks: %d%s", threads_all,
                      ngpu, nproc, gpu ? "" : " on the CPU");
    if (!gpu && ngpu == 0) {
        ltc_tensor *t = NULL;
        int64_t one = 1;
        ltc_tensor_zeros(&t, &one, 1, LTC_FLOAT32, gpu0);
        bench_report_note(rep, "no GPU: %s; only the CPU cases%s run", ltc_last_error(), nproc ? " and CPU ddp" : "");
    }

    static bench_stats res[NCFG][MAXB][MAXR], py[NPEER][MAXB][MAXR];
    static int have[NCFG][MAXB][MAXR], have_py[NPEER][MAXB][MAXR];
    char torch_version[64] = "", tmp[64], err_note[256] = "";
    int python_ok = want_python, cpp_ok = want_cpp, rc = 0;
    char cpp_version[64] = "", cpp_note[256] = "";
    snprintf(tmp, sizeof tmp, "/tmp/bench_train_XXXXXX");
    int fd = mkstemp(tmp);
    if (fd >= 0)
        close(fd);

    for (int r = 0; r < rounds && rc == 0; r++) {
        fprintf(stderr, "bench_train: round %d of %d\n", r + 1, rounds);
        /* ours, in this process */
        for (int k = 0; k < DDP && rc == 0; k++) {
            if ((k <= CPUALL && !want_cpu) || (k > CPUALL && !gpu))
                continue;
            if (k == GPU_DP && ngpu < 1)
                continue;
            ltc_num_threads_set(k == CPU1 ? 1 : threads_all);
            for (int b = 0; b < nb; b++) {
                step_ctx c;
                ltc_device dev = k <= CPUALL ? cpu : gpu0;
                if (make_case(&c, (enum cfg)k, batches[b], dev, NULL) ||
                    bench_measure(&res[k][b][r], &args.config, step, sync_step, &c) != 0) {
                    fprintf(stderr, "bench_train: case %d, batch %lld: %s\n", k, (long long)batches[b], ltc_last_error());
                    rc = 1;
                }
                have[k][b][r] = rc == 0;
                free_case(&c);
                if (rc)
                    break;
            }
        }
        ltc_num_threads_set(threads_all);
        /* ours, ddp */
        if (nproc >= 1 && rc == 0) {
            int h[MAXB] = {0};
            bench_stats s[MAXB];
            if (nproc == 1) {
                ltc_dist_env env;
                ltc_dist *d = NULL;
                const char *none[] = {NULL};
                if (ltc_dist_env_from(&env, none) != LTC_OK || ltc_dist_init(&d, &env, ddp_dev, 120) != LTC_OK ||
                    ddp_sweep(d, ddp_dev, batches, nb, args.config.min_time_s, s, h, NULL) != 0) {
                    fprintf(stderr, "bench_train: ddp: %s\n", ltc_last_error());
                    rc = 1;
                }
                ltc_dist_free(d);
            } else {
                char min_time[32];
                snprintf(min_time, sizeof min_time, "%g", args.config.min_time_s);
                const char *wargv[MAXB + 8] = {argv[0], "--ddp-worker", tmp, gpu ? "cuda" : "cpu", min_time};
                char bs[MAXB][24];
                for (int b = 0; b < nb; b++) {
                    snprintf(bs[b], sizeof bs[b], "%lld", (long long)batches[b]);
                    wargv[5 + b] = bs[b];
                }
                wargv[5 + nb] = NULL;
                int code = 0, failed = -1;
                unlink(tmp);
                if (ltc_launch_local(&code, &failed, nproc, wargv, gpu ? LTC_DEVICE_CUDA : LTC_DEVICE_CPU, 0, 120) != LTC_OK ||
                    code != 0) {
                    fprintf(stderr, "bench_train: ddp over %d ranks: %s (rank %d exit %d)\n", nproc, ltc_last_error(), failed, code);
                    rc = 1;
                }
                read_results(tmp, 0, batches, nb, s, h, NULL, 0);
            }
            for (int b = 0; b < nb; b++) {
                res[DDP][b][r] = s[b];
                have[DDP][b][r] = h[b];
            }
        }
        /* the raw C++ peer, for the CPU cases and the GPU ones */
        for (int p = CPP_CPU1; p <= CPP_GRAPH && cpp_ok && rc == 0; p++) {
            const int cpu_case = p == CPP_CPU1 || p == CPP_CPUALL;
            if ((cpu_case && !want_cpu) || (!cpu_case && !gpu))
                continue;
            int h[MAXB] = {0};
            bench_stats s[MAXB];
            int code = cpp_sweep((enum peer)p, p == CPP_CPU1 ? 1 : threads_all, args.config.min_time_s, tmp);
            read_results(tmp, 1, batches, nb, s, h, cpp_version, sizeof cpp_version);
            if (code != 0) {
                snprintf(cpp_note, sizeof cpp_note, "the raw C++ peer (%s, mode %s) failed with exit code %d: no raw C++ figures",
                         LTC_BENCH_PEER_TRAIN_CPP, peer_mode[p], code);
                cpp_ok = 0;
            }
            for (int b = 0; b < nb; b++) {
                py[p][b][r] = s[b];
                have_py[p][b][r] = h[b];
            }
        }
        /* the Python peers */
        for (int p = 0; p <= PY_DDP && python_ok && rc == 0; p++) {
            if ((p == PY_DP && !gpu) || (p == PY_DDP && nproc < 1) || (p != PY_DDP && !gpu))
                continue;
            int h[MAXB] = {0};
            bench_stats s[MAXB];
            int code = python_sweep(python, (enum peer)p, nproc, gpu ? "cuda" : "cpu", args.config.min_time_s, tmp);
            read_results(tmp, 1, batches, nb, s, h, torch_version, sizeof torch_version);
            if (code != 0) {
                snprintf(err_note, sizeof err_note, "the Python peer (%s, mode %s) failed with exit code %d: no Python figures",
                         python, peer_mode[p], code);
                python_ok = 0;
            }
            for (int b = 0; b < nb; b++) {
                py[p][b][r] = s[b];
                have_py[p][b][r] = h[b];
            }
        }
    }
    unlink(tmp);
    if (err_note[0])
        bench_report_note(rep, "%s", err_note);
    if (cpp_note[0])
        bench_report_note(rep, "%s", cpp_note);
    if (torch_version[0])
        bench_report_note(rep, "Python peers: torch %s via %s (%s)", torch_version, python, LTC_BENCH_PEER_TRAIN_PY);
    if (cpp_version[0])
        bench_report_note(rep, "raw C++ peer: LibTorch %s, torch::nn::Linear and torch::optim::SGD (bench/peer_train.cpp)",
                          cpp_version);

    /* combine the rounds */
    static bench_stats fin[NCFG][MAXB], fin_py[NPEER][MAXB];
    static int ok[NCFG][MAXB], ok_py[NPEER][MAXB];
    for (int k = 0; k < NCFG; k++)
        for (int b = 0; b < nb; b++) {
            bench_stats tmp_st[MAXR];
            int n = 0;
            for (int r = 0; r < rounds; r++)
                if (have[k][b][r])
                    tmp_st[n++] = res[k][b][r];
            if ((ok[k][b] = n > 0))
                bench_stats_combine(&fin[k][b], tmp_st, n);
        }
    for (int p = 0; p < NPEER; p++)
        for (int b = 0; b < nb; b++) {
            bench_stats tmp_st[MAXR];
            int n = 0;
            for (int r = 0; r < rounds; r++)
                if (have_py[p][b][r])
                    tmp_st[n++] = py[p][b][r];
            if ((ok_py[p][b] = n > 0))
                bench_stats_combine(&fin_py[p][b], tmp_st, n);
        }

    static const bench_col cols[] = {
        {"case", "case", "", -1, 20},         {"batch", "global batch", "", 0, 0},  {"median_us", "median", "us", 1, 0},
        {"min_us", "min", "us", 1, 0},        {"max_us", "max", "us", 1, 0},        {"runs", "runs", "", 0, 0},
        {"steps_per_s", "steps/s", "", 0, 0}, {"samples_per_s", "samples/s", "", 0, 12},
        {"peer", "peer", "", -1, 22},         {"peer_median_us", "peer median", "us", 1, 0},
        {"speedup", "peer / this", "x", 2, 0},  {"cpp_median_us", "raw C++ median", "us", 1, 0},
        {"cpp_speedup", "raw C++ / this", "x", 2, 0}};
    bench_table *t = bench_report_table(rep, "sweep", "Step time by case and global batch (median of the round medians)",
                                        (int)(sizeof cols / sizeof *cols), cols);
    char names[NCFG][48];
    snprintf(names[CPU1], sizeof names[CPU1], "CPU, 1 thread");
    snprintf(names[CPUALL], sizeof names[CPUALL], "CPU, %d threads", threads_all);
    snprintf(names[GPU_EAGER], sizeof names[GPU_EAGER], "1 GPU eager");
    snprintf(names[GPU_H2D], sizeof names[GPU_H2D], "1 GPU eager + H2D");
    snprintf(names[GPU_GRAPH], sizeof names[GPU_GRAPH], "1 GPU graph");
    snprintf(names[GPU_DP], sizeof names[GPU_DP], "%d GPU%s dp", ngpu, ngpu == 1 ? "" : "s");
    snprintf(names[DDP], sizeof names[DDP], "%d %s ddp", nproc, gpu ? (nproc == 1 ? "GPU" : "GPUs") : "CPU ranks");
    for (int k = 0; k < NCFG; k++)
        for (int b = 0; b < nb; b++) {
            if (!ok[k][b])
                continue;
            const bench_stats *s = &fin[k][b];
            int p = peer_of[k];
            int has_peer = p >= 0 && ok_py[p][b], q = cpp_of[k], has_cpp = q >= 0 && ok_py[q][b];
            bench_cell row[] = {BENCH_TEXT(names[k]),
                                BENCH_NUM(batches[b]),
                                BENCH_NUM(s->median_s * 1e6),
                                BENCH_NUM(s->min_s * 1e6),
                                BENCH_NUM(s->max_s * 1e6),
                                BENCH_NUM(s->runs),
                                BENCH_NUM(1 / s->median_s),
                                BENCH_NUM(batches[b] / s->median_s),
                                BENCH_TEXT(has_peer ? peer_title[p] : "-"),
                                has_peer ? BENCH_NUM(fin_py[p][b].median_s * 1e6) : BENCH_NONE,
                                has_peer ? BENCH_NUM(fin_py[p][b].median_s / s->median_s) : BENCH_NONE,
                                has_cpp ? BENCH_NUM(fin_py[q][b].median_s * 1e6) : BENCH_NONE,
                                has_cpp ? BENCH_NUM(fin_py[q][b].median_s / s->median_s) : BENCH_NONE};
            bench_table_add(t, row);
        }
    /* Python dp has no row of its own above: compare it with our ddp over the same GPUs */
    static const bench_col pcols[] = {{"peer", "Python peer", "", -1, 24}, {"batch", "global batch", "", 0, 0},
                                      {"median_us", "median", "us", 1, 0},  {"runs", "runs", "", 0, 0},
                                      {"samples_per_s", "samples/s", "", 0, 12}, {"ltc_ddp_over_peer", "ltc ddp samples/s / peer's", "x", 2, 0}};
    bench_table *tp = bench_report_table(rep, "peers", "The Python peers, against ltc ddp at the same global batch",
                                         (int)(sizeof pcols / sizeof *pcols), pcols);
    for (int p = 0; p <= PY_DDP; p++)
        for (int b = 0; b < nb; b++) {
            if (!ok_py[p][b])
                continue;
            bench_cell row[] = {BENCH_TEXT(peer_title[p]), BENCH_NUM(batches[b]), BENCH_NUM(fin_py[p][b].median_s * 1e6),
                                BENCH_NUM(fin_py[p][b].runs), BENCH_NUM(batches[b] / fin_py[p][b].median_s),
                                ok[DDP][b] ? BENCH_NUM(fin_py[p][b].median_s / fin[DDP][b].median_s) : BENCH_NONE};
            bench_table_add(tp, row);
        }

    /* crossover: the smallest batch from which the GPU beats the CPU (all threads) at every larger one */
    double cross = NAN, cross_h2d = NAN;
    for (int b = nb - 1; b >= 0 && ok[GPU_EAGER][b] && ok[CPUALL][b] && fin[GPU_EAGER][b].median_s < fin[CPUALL][b].median_s; b--)
        cross = (double)batches[b];
    for (int b = nb - 1; b >= 0 && ok[GPU_H2D][b] && ok[CPUALL][b] && fin[GPU_H2D][b].median_s < fin[CPUALL][b].median_s; b--)
        cross_h2d = (double)batches[b];
    bench_report_metric(rep, "crossover_batch", cross, "samples", "smallest global batch from which 1 GPU eager beats the CPU (all threads)");
    bench_report_metric(rep, "crossover_batch_with_h2d", cross_h2d, "samples",
                        "the same, with the batch copied in from pinned host memory each step");

    /* scaling, against 1 GPU eager */
    const int bl = nb - 1;
    double strong = NAN, weak = NAN;
    if (gpu && nproc >= 2 && ok[DDP][bl] && ok[GPU_EAGER][bl])
        strong = fin[GPU_EAGER][bl].median_s / (nproc * fin[DDP][bl].median_s);
    int small = nproc >= 2 ? index_of(batches, nb, batches[bl] / nproc) : -1; /* weak: B/N per GPU either way */
    if (gpu && small >= 0 && ok[GPU_EAGER][small] && ok[DDP][bl])
        weak = fin[GPU_EAGER][small].median_s / fin[DDP][bl].median_s;
    bench_report_metric(rep, "strong_scaling_efficiency", strong, "",
                        "1 GPU time / (N x N-GPU ddp time) at the largest batch (needs 2 or more GPUs)");
    bench_report_metric(rep, "weak_scaling_efficiency", weak, "",
                        "1 GPU at batch B/N over N GPUs ddp at batch B, B the largest (needs 2 or more GPUs)");

    /* goals (../shared/BENCH.md) */
    int b64 = index_of(batches, nb, 64);
    double eager_x = b64 >= 0 && ok[GPU_EAGER][b64] && ok_py[PY_PLAIN][b64]
                         ? fin_py[PY_PLAIN][b64].median_s / fin[GPU_EAGER][b64].median_s : NAN;
    double graph_x = b64 >= 0 && ok[GPU_GRAPH][b64] && ok_py[PY_PLAIN][b64]
                         ? fin_py[PY_PLAIN][b64].median_s / fin[GPU_GRAPH][b64].median_s : NAN;
    double ddp_x = NAN, dp_x = NAN;
    for (int b = 0; b < nb; b++) {
        if (gpu && ok[DDP][b] && ok_py[PY_DDP][b]) {
            double x = fin_py[PY_DDP][b].median_s / fin[DDP][b].median_s;
            ddp_x = isnan(ddp_x) || x < ddp_x ? x : ddp_x;
        }
        if (gpu && ok[DDP][b] && ok_py[PY_DP][b]) {
            double x = fin_py[PY_DP][b].median_s / fin[DDP][b].median_s;
            dp_x = isnan(dp_x) || x < dp_x ? x : dp_x;
        }
    }
    bench_report_goal(rep, "1 GPU eager at batch 64: Python eager time / ltc time", eager_x, 3, "x", 1);
    bench_report_goal(rep, "1 GPU graph at batch 64: Python eager time / ltc graph time", graph_x, 15, "x", 1);
    bench_report_goal(rep, "N GPUs: ltc ddp samples/s / Python DDP's, least over the sweep", ddp_x, 1.3, "x", 1);
    bench_report_goal(rep, "N GPUs: ltc ddp samples/s / Python nn.DataParallel's, least over the sweep", dp_x, 3, "x", 1);
    if (nproc >= 2)
        bench_report_goal(rep, "strong scaling efficiency at the largest batch", strong, 0.85, "", 1);
    /* within 5% of the same step written in LibTorch C++: raw time / ltc time >= 0.95 at every batch */
    for (int k = 0; k < NCFG; k++) {
        int q = cpp_of[k];
        if (q < 0 || (k > CPUALL && !gpu) || (k <= CPUALL && !want_cpu) || !want_cpp)
            continue;
        double least = NAN;
        for (int b = 0; b < nb; b++)
            if (ok[k][b] && ok_py[q][b]) {
                double x = fin_py[q][b].median_s / fin[k][b].median_s;
                least = isnan(least) || x < least ? x : least;
            }
        char goal[128];
        snprintf(goal, sizeof goal, "%s: raw LibTorch C++ time / ltc time, least over the sweep", names[k]);
        bench_report_goal(rep, goal, least, 0.95, "x", 1);
    }
    int frc = bench_report_finish(rep, &args);
    return rc ? rc : frc;
}
