/* train_data_parallel: Linear(100, 10) trained data-parallel on a regression with a known answer.
 *
 * The data: x ~ N(0, 1) in R^100, y = W x + b + 0.01 noise, for a W (10x100) and b fixed by --seed.
 * Sample i of step s is a pure function of (seed, s, i), and rank r of R takes samples
 * [r*B/R, (r+1)*B/R) of the global batch B, so the run does not depend on how many GPUs share it.
 *
 *   ddp (default)  one process per GPU (DistributedDataParallel): rank 0's parameters are broadcast,
 *                  and after backward each rank's gradients are averaged over all ranks (NCCL), so all
 *                  replicas take the same step. Started by torchrun, srun, mpirun, or --nproc N.
 *   dp             one process, the model replicated over every visible GPU per step (nn.DataParallel).
 *   --graph        the whole step (forward, loss, backward, all-reduce, SGD) captured as a CUDA graph
 *                  once, then replayed.
 *   no GPU         says why, and trains on the CPU.
 */
#include "common.h"

#include <math.h>
#include <string.h>

enum { IN = 100, OUT = 10 };
static const double TOLERANCE = 1e-2; /* max |learned - true| over W and b that counts as learned */

static void usage(FILE *f) {
    fprintf(f,
            "usage: train_data_parallel [options]\n"
            "Trains Linear(100, 10) on y = W x + b + noise, data-parallel; rank 0 prints the loss and, at the end,\n"
            "how far the learned weights are from W and b.\n"
            "  --mode ddp|dp    ddp (default): one process per GPU, gradients averaged over NCCL;\n"
            "                   dp: one process, the model replicated over every visible GPU (nn.DataParallel)\n"
            "  --graph          capture the whole step as a CUDA graph and replay it (ddp on GPUs)\n"
            "  --device D       cuda (default when a GPU is usable: rank r takes cuda:<local rank r>), cuda:N, or cpu\n"
            "  --nproc N        start N local ranks, one per GPU (ddp; default 1, or as the launcher says)\n"
            "  --port P         MASTER_PORT for --nproc (default 0: any free port)\n"
            "  --steps N        training steps (default 500)\n"
            "  --batch N        global batch, split evenly over the ranks (default 256)\n"
            "  --lr X           SGD learning rate (default 0.1)\n"
            "  --momentum X     SGD momentum (default 0.9)\n"
            "  --log-every K    print the loss and check the replicas every K steps (default 100)\n"
            "  --timeout S      seconds before a missing rank or store is an error (default 300)\n"
            "  --seed N         fixes W, b, the data and the initial weights (default 1)\n"
            "Launchers: torchrun --no-python --nproc-per-node N train_data_parallel; srun -n N train_data_parallel;\n"
            "mpirun -n N train_data_parallel; or train_data_parallel --nproc N.\n"
            "Exit codes: 0 trained, weights within %g of W and b; 1 an error (message on stderr); 2 bad usage or\n"
            "launcher variable; 3 trained, but not within %g; with --nproc, the first failing rank's code\n"
            "(128+N when signal N ended it, e.g. 130 after Ctrl-C).\n",
            TOLERANCE, TOLERANCE);
}

typedef struct options {
    int dp, graph, nproc, port, steps, batch, log_every;
    double lr, momentum, timeout;
    unsigned long long seed;
    int device_given;    /* --device: else cuda when usable, or the CPU */
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

static int parse_options(options *o, int argc, char **argv) {
    *o = (options){.nproc = 1, .steps = 500, .batch = 256, .log_every = 100, .lr = 0.1, .momentum = 0.9,
                   .timeout = 300, .seed = 1};
    static const char *const with_value[] = {"--mode", "--device", "--nproc", "--port", "--steps", "--batch",
                                             "--lr", "--momentum", "--log-every", "--timeout", "--seed"};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            exit(0);
        }
        if (!strcmp(a, "--graph")) {
            o->graph = 1;
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
        } else { /* --nproc, --steps, --batch, --log-every: 1 or more */
            ok = whole(v, 1, 1L << 30, &n);
            int *field = !strcmp(a, "--nproc") ? &o->nproc : !strcmp(a, "--steps") ? &o->steps
                       : !strcmp(a, "--batch") ? &o->batch : &o->log_every;
            *field = (int)n;
        }
        if (!ok) {
            fprintf(stderr, "error: %s %s is not valid (see --help for the values it takes)\n", a, v);
            return 0;
        }
    }
    if (o->dp && (o->nproc > 1 || o->graph)) {
        fprintf(stderr, "error: --mode dp runs in one process on every GPU: it takes neither --nproc nor --graph\n");
        return 0;
    }
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

/* Samples first .. first+count-1 of step `step`. */
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

int main(int argc, char **argv) {
    options o;
    if (!parse_options(&o, argc, argv))
        return 2;
    ltc_dist_env env;
    if (ltc_dist_env_from(&env, NULL) != LTC_OK) {
        fprintf(stderr, "error: %s\n", ltc_last_error());
        return 2;
    }
    ltc_device dev = o.device_given ? o.device : (ltc_device){LTC_DEVICE_CUDA, -1};
    if (dev.type == LTC_DEVICE_CUDA && dev.index < 0) /* "cuda": this rank's GPU */
        dev.index = o.dp ? 0 : env.local_rank;

    /* 1. --nproc N without a launcher: become one. Start N copies of this program as ranks 0..N-1
     *    (each sees RANK, WORLD_SIZE, MASTER_ADDR, ... as under torchrun), forward Ctrl-C, wait. */
    if (o.nproc > 1 && env.launcher == LTC_LAUNCHER_NONE) {
        int code = 0, failed_rank = -1;
        CHECK(ltc_launch_local(&code, &failed_rank, o.nproc, (const char *const *)argv, dev.type, o.port, o.timeout));
        if (failed_rank >= 0)
            fprintf(stderr, "train_data_parallel: rank %d failed first, with exit code %d\n", failed_rank, code);
        return code;
    }
    const int rank = env.rank, world = o.dp ? 1 : env.world_size;
    if (o.batch % world != 0) {
        fprintf(stderr, "error: --batch %d does not split evenly over %d ranks: use a multiple of %d\n", o.batch, world, world);
        return 2;
    }

    /* 2. The model, on this rank's GPU; without one, on the CPU (saying why, unless --device asked). */
    ltc_manual_seed(o.seed);
    ltc_linear *model = NULL;
    CHECK(ltc_linear_new(&model, IN, OUT, 1));
    ltc_status s = ltc_linear_to(model, dev);
    if (s == LTC_ERR_CUDA_UNAVAILABLE && !o.device_given) {
        if (rank == 0)
            fprintf(stderr, "no GPU: %s\n  -> training on the CPU\n", ltc_last_error());
        dev = (ltc_device){LTC_DEVICE_CPU, 0};
        o.graph = 0;
    } else {
        CHECK(s);
    }

    /* 3. ddp: join the group (TCPStore rendezvous at MASTER_ADDR:MASTER_PORT, NCCL on GPUs), and start
     *    every replica from rank 0's parameters. */
    ltc_dist *dist = NULL;
    if (!o.dp) {
        CHECK(ltc_dist_init(&dist, &env, dev, o.timeout));
        CHECK(ltc_dist_broadcast_parameters(dist, model, 0));
    }
    ltc_sgd *opt = NULL;
    CHECK(ltc_sgd_new(&opt, model, o.lr, o.momentum));
    char where[32];
    ltc_device_format(where, sizeof where, dev);
    if (rank == 0)
        printf("train_data_parallel: %s, %d rank%s (launcher: %s), %s%s, global batch %d (%d per rank), %d steps, lr %g, "
               "momentum %g\n",
               o.dp ? "dp" : "ddp", world, world == 1 ? "" : "s", ltc_launcher_name(env.launcher),
               o.dp && dev.type == LTC_DEVICE_CUDA ? "every GPU from cuda:0" : where, o.graph ? ", CUDA graph" : "",
               o.batch, o.batch / world, o.steps, o.lr, o.momentum);

    /* 4. Train. Each rank makes its own shard of every global batch. */
    float w_true[OUT][IN], b_true[OUT];
    true_weights(o.seed, w_true, b_true);
    const int per = o.batch / world;
    const int64_t xs[2] = {per, IN}, ys[2] = {per, OUT};
    float *xb = malloc(sizeof(float) * (size_t)per * IN), *yb = malloc(sizeof(float) * (size_t)per * OUT);
    if (!xb || !yb) {
        fprintf(stderr, "error: cannot allocate a batch of %d samples\n", per);
        return 1;
    }
    ltc_train_graph *graph = NULL;
    for (int step = 0; step < o.steps; step++) {
        make_batch(o.seed, step, (int64_t)rank * per, per, w_true, b_true, xb, yb);
        ltc_tensor *x = NULL, *y = NULL, *pred = NULL, *loss = NULL;
        CHECK(ltc_tensor_from_data(&x, xb, xs, 2, LTC_FLOAT32, dev));
        CHECK(ltc_tensor_from_data(&y, yb, ys, 2, LTC_FLOAT32, dev));
        if (o.graph) {
            /* Captured once from this first batch; each replay copies the new batch in and runs the step. */
            if (!graph)
                CHECK(ltc_train_graph_new(&graph, model, opt, dist, x, y));
            CHECK(ltc_train_graph_replay(graph, x, y));
            CHECK(ltc_train_graph_loss(&loss, graph));
        } else {
            CHECK(ltc_sgd_zero_grad(opt));
            if (o.dp && dev.type == LTC_DEVICE_CUDA) /* on the CPU, dp is the plain forward */
                CHECK(ltc_data_parallel_forward(&pred, model, x, NULL, 0));
            else
                CHECK(ltc_linear_forward(&pred, model, x));
            CHECK(ltc_mse_loss(&loss, pred, y));
            CHECK(ltc_tensor_backward(loss));
            if (dist)
                CHECK(ltc_dist_average_gradients(dist, model)); /* every rank now holds the global gradient */
            CHECK(ltc_sgd_step(opt));
        }
        if (step % o.log_every == 0 || step == o.steps - 1) {
            double l = 0;
            CHECK(ltc_tensor_item(&l, loss));
            if (dist) {
                CHECK(ltc_dist_mean(&l, dist, l));          /* the loss over the global batch */
                CHECK(ltc_dist_check_replicas(dist, model)); /* a divergence is an error */
            }
            if (rank == 0) {
                printf("step %5d  loss %.6f%s\n", step, l, dist && world > 1 ? "  replicas identical" : "");
                fflush(stdout); /* shows through pipes and tee as it happens */
            }
        }
        ltc_tensor_free(x);
        ltc_tensor_free(y);
        ltc_tensor_free(pred);
        ltc_tensor_free(loss);
    }

    /* 5. The verdict: how far the learned weights are from W and b. */
    ltc_tensor *w = NULL, *b = NULL;
    float w_got[OUT][IN], b_got[OUT];
    CHECK(ltc_linear_parameters(&w, &b, model));
    CHECK(ltc_tensor_copy_to_host(w_got, sizeof w_got, w));
    CHECK(ltc_tensor_copy_to_host(b_got, sizeof b_got, b));
    double dw = 0, db = 0;
    for (int i = 0; i < OUT; i++) {
        db = fmax(db, fabs(b_got[i] - b_true[i]));
        for (int j = 0; j < IN; j++)
            dw = fmax(dw, fabs(w_got[i][j] - w_true[i][j]));
    }
    int ok = dw <= TOLERANCE && db <= TOLERANCE;
    if (rank == 0)
        printf("result: %s: max |W - W*| = %.3e, max |b - b*| = %.3e (tolerance %g)\n", ok ? "PASS" : "FAIL", dw, db,
               TOLERANCE);
    ltc_tensor_free(w);
    ltc_tensor_free(b);
    ltc_train_graph_free(graph);
    ltc_sgd_free(opt);
    ltc_linear_free(model);
    ltc_dist_free(dist);
    free(xb);
    free(yb);
    return ok ? 0 : 3;
}
