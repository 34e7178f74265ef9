/* train_args.h: what train_data_parallel.c needs besides training: its options, and its data.
 *
 * The data is a counter-based generator: sample i of step s is a pure function of (seed, s, i), the
 * same on any rank, device or world size, and after a restart. That is what makes a resumed run end on
 * exactly the weights of an uninterrupted one.
 */
#ifndef LTC_EXAMPLES_TRAIN_ARGS_H
#define LTC_EXAMPLES_TRAIN_ARGS_H

#include "ltc.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { IN = 100, OUT = 10 };
static const double TOLERANCE = 1e-2; /* max |learned - true| over W and b that counts as learned */

/* Exit codes. */
enum { EXIT_TRAINED = 0, EXIT_ERROR = 1, EXIT_USAGE = 2, EXIT_NOT_LEARNED = 3, EXIT_DIVERGED = 4, EXIT_PREEMPTED = 143 };

static void usage(FILE *f) {
    fprintf(f,
            "usage: train_data_parallel [options]\n"
            "Trains Linear(100, 10) on y = W x + b + noise, data-parallel; rank 0 prints the loss and, at the end,\n"
            "how far the learned weights are from W and b.\n"
            "  --mode ddp|dp    ddp (default): one process per GPU, gradients averaged over NCCL;\n"
            "                   dp: one process, the model replicated over every visible GPU (nn.DataParallel)\n"
            "  --graph          capture the whole step as a CUDA graph and replay it (ddp on GPUs)\n"
            "  --device D       cuda (default when a GPU is usable: rank r takes cuda:<local rank r>), cuda:N, or cpu\n"
            "  --nproc N        start N local ranks, 1 to 2^30, at most one per GPU, or one per core on the CPU\n"
            "                   (ddp; default 1, or as the launcher says)\n"
            "  --max-restarts N with --nproc: restart all ranks up to N times after one fails, 0 to 1000 (default 0); with\n"
            "                   --checkpoint they resume from it, as under torchrun --max-restarts\n"
            "  --port P         MASTER_PORT for --nproc, 0 to 65535 (default 0: any free port)\n"
            "  --steps N        training steps, 1 to 2^30 (default 500)\n"
            "  --batch N        global batch, 1 to 2^30, split evenly over the ranks (default 256)\n"
            "  --lr X           SGD learning rate, a finite number > 0 (default 0.1)\n"
            "  --momentum X     SGD momentum, 0 to below 1 (default 0.9)\n"
            "  --log-every K    print the loss, check it is finite and check the replicas every K steps, 1 to 2^30\n"
            "                   (default 100)\n"
            "  --timeout S      seconds before a missing rank or store is an error, > 0 to 1e7 (default 300)\n"
            "  --seed N         fixes W, b, the data and the initial weights, 0 to 2^31-1 (default 1)\n"
            "  --checkpoint P   rank 0 saves step, weights, momentum and settings to file P (atomically; torch.load\n"
            "                   reads it); SIGTERM then ends the run after the current step with a checkpoint\n"
            "  --checkpoint-every N  save every N steps, 1 to 2^30 (default: --log-every) and at the end\n"
            "  --resume         continue from --checkpoint P if it exists (a restarted rank always does); without\n"
            "                   it an existing P is refused, never overwritten\n"
            "Launcher variables: WORLD_SIZE (and its Slurm and Open MPI forms) 1 to 2^24; RANK 0 to WORLD_SIZE-1.\n"
            "Launchers: torchrun --no-python --nproc-per-node N train_data_parallel; srun -n N train_data_parallel;\n"
            "mpirun -n N train_data_parallel; or train_data_parallel --nproc N.\n"
            "Exit codes: 0 trained, weights within %g of W and b; 1 an error (message on stderr); 2 bad usage or\n"
            "launcher variable; 3 trained, but not within %g; 4 diverged: a NaN or infinite loss or weight (the\n"
            "step is named); 143 stopped by SIGTERM after writing a checkpoint; with --nproc, the first failing\n"
            "rank's code (128+N when signal N ended it, e.g. 130 after Ctrl-C).\n",
            TOLERANCE, TOLERANCE);
}

typedef struct options {
    int dp, graph, nproc, max_restarts, port, steps, batch, log_every, checkpoint_every, resume;
    double lr, momentum, timeout;
    unsigned long long seed;
    const char *checkpoint; /* NULL: none */
    int device_given;       /* --device: else cuda when usable, or the CPU */
    ltc_device device;
} options;

/* A whole number in [lo, hi], or a finite real number; 0 when v is not one. */
static int whole(const char *v, long lo, long hi, long *out) {
    char *end = NULL;
    long x = strtol(v, &end, 10);
    *out = x;
    return *v && !*end && x >= lo && x <= hi;
}

static int real(const char *v, double *out) {
    char *end = NULL;
    *out = strtod(v, &end);
    return *v && !*end && isfinite(*out);
}

/* One option with a value; 0 when the value is not valid. */
static int parse_value(options *o, const char *a, const char *v) {
    long n = 0;
    int ok;
    if (!strcmp(a, "--mode")) {
        ok = !strcmp(v, "ddp") || !strcmp(v, "dp");
        o->dp = !strcmp(v, "dp");
    } else if (!strcmp(a, "--device")) {
        ok = ltc_device_parse(&o->device, v) == LTC_OK;
        o->device_given = 1;
    } else if (!strcmp(a, "--lr")) {
        ok = real(v, &o->lr) && o->lr > 0;
    } else if (!strcmp(a, "--momentum")) {
        ok = real(v, &o->momentum) && o->momentum >= 0 && o->momentum < 1;
    } else if (!strcmp(a, "--timeout")) {
        ok = real(v, &o->timeout) && o->timeout > 0 && o->timeout <= 1e7;
    } else if (!strcmp(a, "--seed")) {
        ok = whole(v, 0, 0x7fffffffL, &n);
        o->seed = (unsigned long long)n;
    } else if (!strcmp(a, "--port")) {
        ok = whole(v, 0, 65535, &n);
        o->port = (int)n;
    } else if (!strcmp(a, "--max-restarts")) {
        ok = whole(v, 0, 1000, &n);
        o->max_restarts = (int)n;
    } else if (!strcmp(a, "--checkpoint")) {
        ok = *v != '\0';
        o->checkpoint = v;
    } else { /* --nproc, --steps, --batch, --log-every, --checkpoint-every: 1 or more */
        ok = whole(v, 1, 1L << 30, &n);
        int *field = !strcmp(a, "--nproc") ? &o->nproc : !strcmp(a, "--steps") ? &o->steps
                   : !strcmp(a, "--batch") ? &o->batch : !strcmp(a, "--log-every") ? &o->log_every
                   : &o->checkpoint_every;
        *field = (int)n;
    }
    return ok;
}

static int parse_options(options *o, int argc, char **argv) {
    *o = (options){.nproc = 1, .steps = 500, .batch = 256, .log_every = 100, .lr = 0.1, .momentum = 0.9,
                   .timeout = 300, .seed = 1};
    static const char *const with_value[] = {"--mode", "--device", "--nproc", "--port", "--steps", "--batch", "--lr",
                                             "--momentum", "--log-every", "--timeout", "--seed", "--max-restarts",
                                             "--checkpoint", "--checkpoint-every"};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            exit(0);
        }
        if (!strcmp(a, "--graph") || !strcmp(a, "--resume")) {
            *(!strcmp(a, "--graph") ? &o->graph : &o->resume) = 1;
            continue;
        }
        int known = 0;
        for (size_t k = 0; k < sizeof with_value / sizeof *with_value; k++)
            known |= !strcmp(a, with_value[k]);
        if (!known) {
            fprintf(stderr, "error: unknown option \"%s\" (try --help)\n", a);
            return 0;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "error: option %s needs a value\n", a);
            return 0;
        }
        const char *v = argv[++i];
        if (!parse_value(o, a, v)) {
            fprintf(stderr, "error: %s %s is not valid (see --help for the values it takes)\n", a, v);
            return 0;
        }
    }
    if (o->dp && (o->nproc > 1 || o->graph)) {
        fprintf(stderr, "error: --mode dp runs in one process on every GPU: it takes neither --nproc nor --graph\n");
        return 0;
    }
    if ((o->resume || o->checkpoint_every) && !o->checkpoint) {
        fprintf(stderr, "error: %s needs --checkpoint PATH\n", o->resume ? "--resume" : "--checkpoint-every");
        return 0;
    }
    if (!o->checkpoint_every)
        o->checkpoint_every = o->log_every;
    return 1;
}

/* The data: a counter-based generator, so that sample i of step s is the same on any rank or device. */
static uint64_t mix(uint64_t z) { /* splitmix64 */
    z += 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static float normal(uint64_t seed, uint64_t a, uint64_t b, uint64_t c) { /* Box-Muller */
    uint64_t h = mix(mix(mix(mix(seed) ^ a) ^ b) ^ c);
    double u1 = ((h >> 11) + 1) * 0x1.0p-53, u2 = (mix(h) >> 11) * 0x1.0p-53;
    return (float)(sqrt(-2 * log(u1)) * cos(6.283185307179586 * u2));
}

static void true_weights(uint64_t seed, float w[OUT][IN], float b[OUT]) {
    for (int o = 0; o < OUT; o++) {
        b[o] = 0.5f * normal(seed, 0, OUT, (uint64_t)o);
        for (int i = 0; i < IN; i++)
            w[o][i] = 0.1f * normal(seed, 0, (uint64_t)o, (uint64_t)i);
    }
}

/* Samples first .. first+count-1 of step `step`: a function of (seed, step, sample index) only. */
static void make_batch(uint64_t seed, int step, int64_t first, int count, float w[OUT][IN], float b[OUT], float *x,
                       float *y) {
    for (int n = 0; n < count; n++) {
        uint64_t s = (uint64_t)step + 1, i = (uint64_t)(first + n);
        for (int j = 0; j < IN; j++)
            x[n * IN + j] = normal(seed, s, i, (uint64_t)j);
        for (int o = 0; o < OUT; o++) {
            double acc = b[o] + 0.01 * normal(seed, s, i, (uint64_t)(IN + o));
            for (int j = 0; j < IN; j++)
                acc += (double)w[o][j] * x[n * IN + j];
            y[n * OUT + o] = (float)acc;
        }
    }
}

#endif
