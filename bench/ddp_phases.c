/* ddp_phases: where a data-parallel training step's time goes. Each rank runs train_data_parallel's
 * step (zero_grad, forward, MSE loss, backward, gradient all-reduce, SGD step, synchronize) and times
 * every phase on the host; rank 0 prints each phase's median, 10th and 90th percentile over the steps.
 * Without --sync-each a phase's time is the host's (launching the work, waiting for what it needs);
 * with it, each phase ends with a device synchronize and includes its GPU time.
 *
 * exit codes: 0 done; 1 an error (message on stderr); 2 bad usage */
#include "common.h" /* CHECK, as the examples use it */
#include "harness.h"
#include "ltc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: ddp_phases [--nproc N] [--batch B] [--steps N] [--device cuda|cpu] [--no-group] [--sync-each]\n"
    "  --nproc N     ranks, one per GPU, 1 to 1024, started by ltc_launch_local (default 1; under torchrun,\n"
    "                srun or mpirun the launcher's ranks are used)\n"
    "  --batch B     samples per rank, 1 to 2^24 (default 32)\n"
    "  --steps N     timed steps, 10 to 10^6 (default 3000), after 300 untimed ones\n"
    "  --device D    cuda (default) or cpu\n"
    "  --no-group    one process without a group: no all-reduce (the 1 GPU baseline); needs --nproc 1\n"
    "  --sync-each   end each phase with a device synchronize (its GPU time included)\n"
    "exit codes: 0 done; 1 an error (message on stderr); 2 bad usage\n";

enum { NPHASE = 7 };
static const char *const phase_name[NPHASE] = {"zero_grad", "forward", "MSE loss", "backward", "all-reduce", "SGD step",
                                               "synchronize"};

static int by_value(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

typedef struct settings {
    int nproc, no_group, sync_each, cuda;
    long long batch, steps;
} settings;

/* The command line into s. 0: go on; else the exit code (help printed, or bad usage said). */
static int parse_options(settings *s, int argc, char **argv) {
    static const struct option longs[] = {{"nproc", required_argument, 0, 'n'},  {"batch", required_argument, 0, 'b'},
                                          {"steps", required_argument, 0, 's'},  {"device", required_argument, 0, 'd'},
                                          {"no-group", no_argument, 0, 'g'},     {"sync-each", no_argument, 0, 'y'},
                                          {"help", no_argument, 0, 'h'},         {0, 0, 0, 0}};
    *s = (settings){.nproc = 1, .cuda = 1, .batch = 32, .steps = 3000};
    bench_args args;
    bench_args_init(&args, argv[0]);
    opterr = 0;
    for (int c; (c = getopt_long(argc, argv, ":h", longs, NULL)) != -1;) {
        long long n = 0;
        switch (c) {
        case 'h': printf("%s", usage); return fflush(stdout) == 0 ? -1 : 1;
        case 'n':
            if (bench_whole(&n, "--nproc", optarg, 1, 1024))
                return 2;
            s->nproc = (int)n;
            break;
        case 'b':
            if (bench_whole(&s->batch, "--batch", optarg, 1, 1 << 24))
                return 2;
            break;
        case 's':
            if (bench_whole(&s->steps, "--steps", optarg, 10, 1000000))
                return 2;
            break;
        case 'd':
            if (strcmp(optarg, "cuda") != 0 && strcmp(optarg, "cpu") != 0)
                return bench_invalid("--device", optarg, "use cuda or cpu");
            s->cuda = !strcmp(optarg, "cuda");
            break;
        case 'g': s->no_group = 1; break;
        case 'y': s->sync_each = 1; break;
        default: return bench_usage_error(c, argv);
        }
    }
    if (s->no_group && s->nproc != 1) {
        fprintf(stderr, "error: --no-group runs one process: drop --nproc %d or --no-group (try --help)\n", s->nproc);
        return 2;
    }
    return bench_args_check(&args, argc, argv);
}

int main(int argc, char **argv) {
    settings o;
    int rc = parse_options(&o, argc, argv);
    if (rc != 0)
        return rc < 0 ? 0 : rc;
    const int nproc = o.nproc, sync_each = o.sync_each, cuda = o.cuda;
    const long long batch = o.batch, steps = o.steps;
    ltc_dist_env env;
    CHECK(ltc_dist_env_from(&env, NULL));
    if (env.launcher == LTC_LAUNCHER_NONE && nproc > 1) {
        int code = 0, failed = -1;
        ltc_launch_options lo = LTC_LAUNCH_OPTIONS_INIT;
        lo.nproc = nproc, lo.argv = (const char *const *)argv, lo.device_type = cuda ? LTC_DEVICE_CUDA : LTC_DEVICE_CPU;
        lo.timeout_s = 120, lo.forward_signals = 1;
        CHECK(ltc_launch_local(&code, &failed, NULL, &lo));
        return code;
    }
    ltc_device dev = {cuda ? LTC_DEVICE_CUDA : LTC_DEVICE_CPU, cuda ? env.local_rank : 0};
    ltc_dist *dist = NULL;
    if (!o.no_group)
        CHECK(ltc_dist_init(&dist, &env, dev, 120));
    ltc_module *model; /* nn.Linear(100, 10), with SGD (fused) over its parameters */
    ltc_tensor_list *params;
    ltc_optimizer *opt;
    ltc_tensor *x, *y;
    const int64_t xs[2] = {batch, 100}, ys[2] = {batch, 10};
    ltc_sgd_options sgd = LTC_SGD_OPTIONS_INIT;
    sgd.lr = 0.01, sgd.momentum = 0.9;
    ltc_manual_seed(1);
    CHECK(ltc_module_linear_new(&model, 100, 10, 1));
    CHECK(ltc_module_to(model, dev));
    CHECK(ltc_module_parameters(&params, model));
    CHECK(ltc_optimizer_sgd_new(&opt, params, &sgd));
    CHECK(ltc_tensor_randn(&x, xs, 2, LTC_FLOAT32, dev, 2 + (uint64_t)env.rank));
    CHECK(ltc_tensor_randn(&y, ys, 2, LTC_FLOAT32, dev, 1000 + (uint64_t)env.rank));
    double *t = malloc(sizeof(double) * NPHASE * (size_t)steps);
    if (!t) {
        fprintf(stderr, "ddp_phases: out of memory for %lld steps\n", steps);
        return 1;
    }
    for (long long s = -300; s < steps; s++) {
        ltc_tensor *pred = NULL, *loss = NULL;
        double a = bench_now_s();
        for (int k = 0; k < NPHASE; k++) {
            switch (k) {
            case 0: CHECK(ltc_optimizer_zero_grad(opt)); break;
            case 1: CHECK(ltc_module_forward(&pred, model, x)); break;
            case 2: CHECK(ltc_mse_loss(&loss, pred, y)); break;
            case 3: CHECK(ltc_tensor_backward(loss)); break;
            case 4: if (dist) CHECK(ltc_dist_average_gradients(dist, params)); break;
            case 5: CHECK(ltc_optimizer_step(opt)); break;
            default: break; /* the synchronize below */
            }
            if ((sync_each || k == NPHASE - 1) && cuda)
                CHECK(ltc_cuda_synchronize(dev));
            double b = bench_now_s();
            if (s >= 0)
                t[(size_t)k * (size_t)steps + (size_t)s] = b - a;
            a = b;
        }
        ltc_tensor_free(pred);
        ltc_tensor_free(loss);
    }
    if (env.rank == 0) {
        printf("ddp_phases: %d rank%s%s, %lld samples per rank on %s, %lld steps; %s\n", env.world_size,
               env.world_size == 1 ? "" : "s", dist ? "" : " (no group)", batch, cuda ? "GPUs" : "the CPU", steps,
               sync_each ? "each phase ends with a device synchronize" : "host time per phase");
        printf("%-12s %12s %12s %12s\n", "phase", "median (us)", "p10 (us)", "p90 (us)");
        double total = 0;
        for (int k = 0; k < NPHASE; k++) {
            double *v = t + (size_t)k * (size_t)steps;
            qsort(v, (size_t)steps, sizeof *v, by_value);
            total += v[steps / 2];
            printf("%-12s %12.1f %12.1f %12.1f\n", phase_name[k], v[steps / 2] * 1e6, v[steps / 10] * 1e6,
                   v[steps * 9 / 10] * 1e6);
        }
        printf("%-12s %12.1f\n", "sum", total * 1e6);
    }
    free(t);
    ltc_tensor_free(x);
    ltc_tensor_free(y);
    ltc_optimizer_free(opt);
    ltc_tensor_list_free(params);
    ltc_module_free(model);
    ltc_dist_free(dist);
    return 0;
}
