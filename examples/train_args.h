/* train_args.h: what train_data_parallel.c needs besides training: its options, and its data.
 *
 * The data is a counter-based generator: sample i of step s is a pure function of (seed, s, i), the
 * same on any rank, device or world size, and after a restart. That is what makes a resumed run end on
 * exactly the weights of an uninterrupted one.
 */
#ifndef LTC_EXAMPLES_TRAIN_ARGS_H
#define LTC_EXAMPLES_TRAIN_ARGS_H

#include "common.h" /* opt_whole, opt_real, opt_invalid, close_stdout */

#include <getopt.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { IN = 100, OUT = 10 };
static const double TOLERANCE = 1e-2; /* max |learned - true| over W and b that counts as learned */
/* --hidden: the held-out loss that counts as learned, above the noise's (about 1e-4) */
static const double HIDDEN_TOLERANCE = 1e-2;

/* Exit codes. 2 is also every set-up that cannot work, found before training (a checkpoint that cannot
 * be used with these options, a checkpoint path that cannot be written or that another run holds): the
 * same command would fail the same way, so --max-restarts makes no restart after it. */
enum { EXIT_TRAINED = 0, EXIT_ERROR = 1, EXIT_USAGE = 2, EXIT_NOT_LEARNED = 3, EXIT_DIVERGED = 4 };

/* The ranges, as --help states them and as an error about a value names them. */
#define RANGE_COUNT "1 to 2^30"
#define RANGE_RESTARTS "0 to 1000"
#define RANGE_PORT "0 to 65535"
#define RANGE_LR "a finite number above 0"
#define RANGE_MOMENTUM "0 to below 1"
#define RANGE_TIMEOUT "above 0 to 1e7"
#define RANGE_SEED "0 to 2^31-1"
#define RANGE_HIDDEN "1 to 65536"

static void usage(FILE *f) {
    fprintf(f,
            "usage: train_data_parallel [options]\n"
            "Trains Linear(100, 10) (or, with --hidden, an MLP) on y = W x + b + noise, data-parallel; rank 0 prints\n"
            "the loss and, at the end, how far the learned weights are from W and b (the MLP: its held-out loss).\n"
            "  --mode ddp|dp    ddp (default): one process per GPU, gradients averaged over NCCL;\n"
            "                   dp: one process, the model replicated over every visible GPU (nn.DataParallel)\n"
            "  --hidden N       train the MLP Linear(100, N)-ReLU-Linear(N, 10) instead, N " RANGE_HIDDEN "; the verdict is\n"
            "                   then its loss on held-out samples: at most the noise's + %g\n"
            "  --graph          capture the whole step as a CUDA graph and replay it (ddp on GPUs; not with --device cpu)\n"
            "  --device D       cuda (default when a GPU is usable: rank r takes cuda:<local rank r>), cuda:N, or cpu\n"
            "  --nproc N        start N local ranks, " RANGE_COUNT ", at most one per GPU, or one per core on the CPU\n"
            "                   (ddp; default 1, or as the launcher says)\n"
            "  --max-restarts N with --nproc: restart all ranks up to N times after one fails, " RANGE_RESTARTS " (default 0);\n"
            "                   with --checkpoint they resume from it, as under torchrun --max-restarts. No restart\n"
            "                   after exit code 2: bad usage or a set-up that cannot work fails the same way again\n"
            "  --port P         MASTER_PORT for --nproc, " RANGE_PORT " (default 0: any free port)\n"
            "  --steps N        training steps, " RANGE_COUNT " (default 500)\n"
            "  --batch N        global batch, " RANGE_COUNT ", split evenly over the ranks (default 256)\n"
            "  --lr X           SGD learning rate, " RANGE_LR " (default 0.1)\n"
            "  --momentum X     SGD momentum, " RANGE_MOMENTUM " (default 0.9)\n"
            "  --log-every K    print the loss, check it is finite and check the replicas every K steps, " RANGE_COUNT "\n"
            "                   (default 100)\n"
            "  --timeout S      seconds before a missing rank or store is an error, " RANGE_TIMEOUT " (default 300)\n"
            "  --seed N         fixes W, b, the data and the initial weights, " RANGE_SEED " (default 1)\n"
            "  --checkpoint P   rank 0 saves step, weights, momentum and settings to file P (atomically; torch.load\n"
            "                   reads it). Checked before training: P not a folder, its folder writable, and no\n"
            "                   other run using P (rank 0 holds the lock file P.lock for the run). SIGTERM or\n"
            "                   SIGINT (Ctrl-C) then ends the run after the current step, with a checkpoint\n"
            "  --checkpoint-every N  save every N steps, " RANGE_COUNT " (default: --log-every) and at the end\n"
            "  --resume         continue from --checkpoint P if it exists (a restarted rank always does); without\n"
            "                   it an existing P is refused, never overwritten; P must have been made with the\n"
            "                   same --seed, --batch, --hidden, --lr, --momentum\n"
            "Launcher variables: WORLD_SIZE (and its Slurm and Open MPI forms) 1 to 2^24; RANK 0 to WORLD_SIZE-1.\n"
            "Launchers: torchrun --no-python --nproc-per-node N train_data_parallel; srun -n N train_data_parallel;\n"
            "mpirun -n N train_data_parallel; or train_data_parallel --nproc N.\n"
            "Exit codes: 0 trained, weights within %g of W and b; 1 an error (message on stderr), or output that\n"
            "could not be written; 2 bad usage, a bad launcher variable, or a set-up that cannot work, found\n"
            "before training (a checkpoint P that is a folder, in a folder that cannot be written, held by\n"
            "another run, or not made by a run with these settings): a restart repeats it, so none is made;\n"
            "3 trained, but not within %g; 4 diverged: a NaN or infinite loss or weight (the step that found it\n"
            "is named); 143 stopped by SIGTERM after writing a checkpoint (130: by SIGINT); with --nproc, the\n"
            "first failing rank's code (128+N when signal N ended it, e.g. 130 after Ctrl-C).\n",
            HIDDEN_TOLERANCE, TOLERANCE, TOLERANCE);
}

typedef struct options {
    int dp, graph, nproc, max_restarts, port, steps, batch, log_every, checkpoint_every, resume;
    int hidden;             /* --hidden N: the MLP's width; 0: Linear(100, 10) alone */
    double lr, momentum, timeout;
    unsigned long long seed;
    const char *checkpoint; /* NULL: none */
    int device_given;       /* --device: else cuda when usable, or the CPU */
    ltc_device device;
} options;

/* One option with a value (a, as "--steps"); 0 (having said why) when the value is not valid. */
static int parse_value(options *o, const char *a, const char *v) {
    long n = 0;
    if (!strcmp(a, "--mode")) {
        o->dp = !strcmp(v, "dp");
        return !strcmp(v, "ddp") || o->dp || opt_invalid(a, v, "use ddp or dp");
    }
    if (!strcmp(a, "--device")) {
        o->device_given = 1;
        return ltc_device_parse(&o->device, v) == LTC_OK || opt_invalid(a, v, "use cpu, cuda or cuda:N");
    }
    if (!strcmp(a, "--checkpoint")) {
        o->checkpoint = v;
        return *v != '\0' || opt_invalid(a, "\"\"", "give a file name");
    }
    if (!strcmp(a, "--lr"))
        return opt_real(&o->lr, a, v, 0, INFINITY, OPT_LO_OPEN, RANGE_LR);
    if (!strcmp(a, "--momentum"))
        return opt_real(&o->momentum, a, v, 0, 1, OPT_HI_OPEN, RANGE_MOMENTUM);
    if (!strcmp(a, "--timeout"))
        return opt_real(&o->timeout, a, v, 0, 1e7, OPT_LO_OPEN, RANGE_TIMEOUT);
    if (!strcmp(a, "--seed")) {
        int ok = opt_whole(&n, a, v, 0, 0x7fffffffL, RANGE_SEED);
        o->seed = (unsigned long long)n;
        return ok;
    }
    if (!strcmp(a, "--hidden")) {
        int ok = opt_whole(&n, a, v, 1, 65536, RANGE_HIDDEN);
        o->hidden = (int)n;
        return ok;
    }
    if (!strcmp(a, "--port") || !strcmp(a, "--max-restarts")) {
        int port = !strcmp(a, "--port");
        int ok = opt_whole(&n, a, v, 0, port ? 65535 : 1000, port ? RANGE_PORT : RANGE_RESTARTS);
        *(port ? &o->port : &o->max_restarts) = (int)n;
        return ok;
    }
    /* --nproc, --steps, --batch, --log-every, --checkpoint-every: 1 or more */
    int ok = opt_whole(&n, a, v, 1, 1L << 30, RANGE_COUNT);
    int *field = !strcmp(a, "--nproc") ? &o->nproc : !strcmp(a, "--steps") ? &o->steps
               : !strcmp(a, "--batch") ? &o->batch : !strcmp(a, "--log-every") ? &o->log_every
               : &o->checkpoint_every;
    *field = (int)n;
    return ok;
}

/* The options that do not go together; 0 (with a message) for such a combination. */
static int check_combination(options *o) {
    if (o->dp && (o->nproc > 1 || o->graph)) {
        fprintf(stderr, "error: --mode dp runs in one process on every GPU: it takes neither --nproc nor --graph\n");
        return 0;
    }
    if (o->graph && o->device_given && o->device.type == LTC_DEVICE_CPU) {
        fprintf(stderr, "error: --graph captures the step as a CUDA graph: it needs a GPU, not --device cpu\n");
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

/* Reads the command line into o (getopt_long: --name VALUE or --name=VALUE); 0 (with a message) for bad
 * usage. --help prints the usage and exits. May be called again (it starts getopt afresh). */
static int parse_options(options *o, int argc, char **argv) {
    *o = (options){.nproc = 1, .steps = 500, .batch = 256, .log_every = 100, .lr = 0.1, .momentum = 0.9,
                   .timeout = 300, .seed = 1};
    /* each its own value, so that an abbreviation of two (--check) is refused as ambiguous */
    static const struct option longs[] = {
        {"mode", required_argument, NULL, 256},      {"device", required_argument, NULL, 257},
        {"nproc", required_argument, NULL, 258},     {"port", required_argument, NULL, 259},
        {"steps", required_argument, NULL, 260},     {"batch", required_argument, NULL, 261},
        {"lr", required_argument, NULL, 262},        {"momentum", required_argument, NULL, 263},
        {"log-every", required_argument, NULL, 264}, {"timeout", required_argument, NULL, 265},
        {"seed", required_argument, NULL, 266},      {"max-restarts", required_argument, NULL, 267},
        {"checkpoint", required_argument, NULL, 268}, {"checkpoint-every", required_argument, NULL, 269},
        {"hidden", required_argument, NULL, 270},    {"graph", no_argument, NULL, 'g'},
        {"resume", no_argument, NULL, 'r'},    {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    opterr = 0; /* the messages below say it in this program's form */
    optind = 0; /* glibc: start afresh */
    int c, word = 1; /* word: the argument getopt_long reads next (the one an error is about) */
    /* "-": a word that is not an option comes back as 1, in order; ":": a missing value as ':' */
    while ((c = getopt_long(argc, argv, "-:h", longs, NULL)) != -1) {
        if (c == 'h') {
            usage(stdout);
            exit(close_stdout(0)); /* > /dev/full: exit 1 */
        }
        if (c == 1 || c == '?') {
            fprintf(stderr, "error: unknown option \"%s\" (try --help)\n", c == 1 ? optarg : argv[word]);
            return 0;
        }
        if (c == ':') {
            fprintf(stderr, "error: option %s needs a value (try --help)\n", argv[word]);
            return 0;
        }
        word = optind;
        if (c == 'g' || c == 'r') {
            *(c == 'g' ? &o->graph : &o->resume) = 1;
        } else {
            char name[32];
            snprintf(name, sizeof name, "--%s", longs[c - 256].name);
            if (!parse_value(o, name, optarg))
                return 0;
        }
    }
    if (optind < argc) { /* after "--" */
        fprintf(stderr, "error: unknown option \"%s\" (try --help)\n", argv[optind]);
        return 0;
    }
    return check_combination(o);
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
