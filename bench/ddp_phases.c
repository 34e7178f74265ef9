/* ddp_phases: where a data-parallel training step's time goes. Each rank runs train_data_parallel's
 * step (zero_grad, forward, MSE loss, backward, gradient all-reduce, SGD step, synchronize) and times
 * every phase on the host; rank 0 prints each phase's median, 10th and 90th percentile over the steps.
 * Without --sync-each a phase's time is the host's (launching the work, waiting for what it needs);
 * with it, each phase ends with a device synchronize and includes its GPU time.
 *
 * usage: ddp_phases [--nproc N] [--batch B] [--steps N] [--device cuda|cpu] [--no-group] [--sync-each]
 *   --nproc N    ranks, one per GPU, started by ltc_launch_local (default 1; under torchrun, srun or
 *                mpirun the launcher's ranks are used)
 *   --batch B    samples per rank, 1 to 2^24 (default 32)
 *   --steps N    timed steps, 10 to 10^6 (default 3000), after 300 untimed ones
 *   --no-group   one process without a group: no all-reduce (the 1 GPU baseline); needs --nproc 1
 * exit codes: 0 done; 1 an error (message on stderr); 2 bad usage */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#include "ltc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CHECK(call)                                                                                   \
    do {                                                                                              \
        if ((call) != LTC_OK) {                                                                       \
            fprintf(stderr, "ddp_phases: %s failed: %s\n", #call, ltc_last_error());                  \
            exit(1);                                                                                  \
        }                                                                                             \
    } while (0)

enum { NPHASE = 7 };
static const char *const phase_name[NPHASE] = {"zero_grad", "forward", "MSE loss", "backward", "all-reduce", "SGD step",
                                               "synchronize"};

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static int by_value(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The option after argv[*i] as an integer in [lo, hi]; exits 2 naming it otherwise. */
static long long int_option(int argc, char **argv, int *i, long long lo, long long hi) {
    const char *name = argv[*i], *v = *i + 1 < argc ? argv[++*i] : "";
    char *end = NULL;
    long long x = strtoll(v, &end, 10);
    if (end == v || *end || x < lo || x > hi) {
        fprintf(stderr, "ddp_phases: %s \"%s\" is not valid: use a whole number from %lld to %lld\n", name, v, lo, hi);
        exit(2);
    }
    return x;
}

int main(int argc, char **argv) {
    int nproc = 1, no_group = 0, sync_each = 0, cuda = 1;
    long long batch = 32, steps = 3000;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--nproc"))
            nproc = (int)int_option(argc, argv, &i, 1, 1024);
        else if (!strcmp(argv[i], "--batch"))
            batch = int_option(argc, argv, &i, 1, 1 << 24);
        else if (!strcmp(argv[i], "--steps"))
            steps = int_option(argc, argv, &i, 10, 1000000);
        else if (!strcmp(argv[i], "--no-group"))
            no_group = 1;
        else if (!strcmp(argv[i], "--sync-each"))
            sync_each = 1;
        else if (!strcmp(argv[i], "--device")) {
            const char *v = i + 1 < argc ? argv[++i] : "";
            if (strcmp(v, "cuda") != 0 && strcmp(v, "cpu") != 0) {
                fprintf(stderr, "ddp_phases: --device \"%s\" is not valid: use cuda or cpu\n", v);
                return 2;
            }
            cuda = !strcmp(v, "cuda");
        } else {
            fprintf(stderr, "ddp_phases: \"%s\" is not an option\nusage: ddp_phases [--nproc N] [--batch B] [--steps N] "
                            "[--device cuda|cpu] [--no-group] [--sync-each]\n", argv[i]);
            return 2;
        }
    }
    if (no_group && nproc != 1) {
        fprintf(stderr, "ddp_phases: --no-group runs one process: drop --nproc %d or --no-group\n", nproc);
        return 2;
    }
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
    if (!no_group)
        CHECK(ltc_dist_init(&dist, &env, dev, 120));
    ltc_linear *model;
    ltc_sgd *opt;
    ltc_tensor *x, *y;
    const int64_t xs[2] = {batch, 100}, ys[2] = {batch, 10};
    ltc_manual_seed(1);
    CHECK(ltc_linear_new(&model, 100, 10, 1));
    CHECK(ltc_linear_to(model, dev));
    CHECK(ltc_sgd_new(&opt, model, 0.01, 0.9));
    CHECK(ltc_tensor_randn(&x, xs, 2, LTC_FLOAT32, dev, 2 + (uint64_t)env.rank));
    CHECK(ltc_tensor_randn(&y, ys, 2, LTC_FLOAT32, dev, 1000 + (uint64_t)env.rank));
    double *t = malloc(sizeof(double) * NPHASE * (size_t)steps);
    if (!t) {
        fprintf(stderr, "ddp_phases: out of memory for %lld steps\n", steps);
        return 1;
    }
    for (long long s = -300; s < steps; s++) {
        ltc_tensor *pred = NULL, *loss = NULL;
        double a = now_s();
        for (int k = 0; k < NPHASE; k++) {
            switch (k) {
            case 0: CHECK(ltc_sgd_zero_grad(opt)); break;
            case 1: CHECK(ltc_linear_forward(&pred, model, x)); break;
            case 2: CHECK(ltc_mse_loss(&loss, pred, y)); break;
            case 3: CHECK(ltc_tensor_backward(loss)); break;
            case 4: if (dist) CHECK(ltc_dist_average_gradients_linear(dist, model)); break;
            case 5: CHECK(ltc_sgd_step(opt)); break;
            default: break; /* the synchronize below */
            }
            if ((sync_each || k == NPHASE - 1) && cuda)
                CHECK(ltc_cuda_synchronize(dev.index));
            double b = now_s();
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
    ltc_sgd_free(opt);
    ltc_linear_free(model);
    ltc_dist_free(dist);
    return 0;
}
