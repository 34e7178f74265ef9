/* The data-parallel GPU paths (exits 77 without a GPU): a group of one over NCCL on cuda:0, nn.DataParallel
 * over every visible GPU, and the whole step captured as a CUDA graph (with and without the group), each
 * trained on a regression with a known answer. Each must converge; the graph must land on eager's weights.
 * With 2 or more GPUs, two processes, one per GPU, over NCCL (this program launches itself as the ranks
 * with ltc_launch_local): the broadcast, the averaged gradient and loss of two half batches against the
 * full batch's, and identical replicas after training; with fewer it is counted skipped. */
#define _DEFAULT_SOURCE /* setenv, mkdtemp */
#include "proc_helper.h"

#include <arpa/inet.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

/* The regression: y = REG_W x + REG_B on REG_N samples (no noise), Linear(REG_IN, REG_OUT). */
#define REG_IN 5
#define REG_OUT 2
#define REG_N 256
static const float REG_W[REG_OUT][REG_IN] = {{0.5f, -1.0f, 2.0f, 0.0f, 0.25f}, {-0.75f, 1.5f, 0.0f, 1.0f, -2.0f}};
static const float REG_B[REG_OUT] = {0.3f, -0.7f};

enum mode { EAGER, DP, GRAPH };
enum { WARMUP = 3 }; /* eager steps before a capture, as ltc_cuda_graph's docs ask */
static const ltc_device GPU0 = {LTC_DEVICE_CUDA, 0};

static float X[REG_N][REG_IN], Y[REG_N][REG_OUT];

static void make_data(void) {
    int64_t xs[2] = {REG_N, REG_IN};
    ltc_tensor *t = NULL;
    CHECK_OK(ltc_tensor_randn(&t, xs, 2, LTC_FLOAT32, (ltc_device){LTC_DEVICE_CPU, 0}, 1234));
    CHECK_OK(ltc_tensor_copy_to_host(X, sizeof X, t));
    ltc_tensor_free(t);
    for (int n = 0; n < REG_N; n++)
        for (int o = 0; o < REG_OUT; o++) {
            double acc = REG_B[o];
            for (int i = 0; i < REG_IN; i++)
                acc += (double)X[n][i] * REG_W[o][i];
            Y[n][o] = (float)acc;
        }
}

/* A Linear(REG_IN, REG_OUT) module on a device, its parameters ("weight", "bias" when it has one) and its
 * SGD. */
typedef struct lin {
    ltc_module *m;
    ltc_tensor_list *p;
    ltc_optimizer *opt;
} lin;

static void lin_free(lin *l) {
    if (!l)
        return;
    ltc_optimizer_free(l->opt);
    ltc_tensor_list_free(l->p);
    ltc_module_free(l->m);
    free(l);
}

/* Host values into parameter i, on its device. */
static ltc_status set_param(lin *l, int i, const float *v) {
    ltc_tensor *t = NULL, *h = NULL;
    ltc_status s = ltc_tensor_list_get(&t, NULL, l->p, i);
    int64_t shape[2] = {ltc_tensor_size(t, 0), ltc_tensor_ndim(t) > 1 ? ltc_tensor_size(t, 1) : 1};
    if (s == LTC_OK)
        s = ltc_tensor_from_data(&h, v, shape, ltc_tensor_ndim(t), LTC_FLOAT32, (ltc_device){LTC_DEVICE_CPU, 0});
    if (s == LTC_OK)
        s = ltc_tensor_copy(t, h, 0); /* between devices */
    ltc_tensor_free(t);
    ltc_tensor_free(h);
    return s;
}

/* A new Linear on dev (weights from ltc_manual_seed, or w and b when w is given), SGD(lr, momentum) over
 * it; NULL on an error. */
static lin *lin_new(ltc_device dev, int bias, double lr, double momentum, const float *w, const float *b) {
    lin *l = calloc(1, sizeof *l);
    ltc_sgd_options so = LTC_SGD_OPTIONS_INIT;
    so.lr = lr, so.momentum = momentum;
    if (!l || ltc_module_linear_new(&l->m, REG_IN, REG_OUT, bias) != LTC_OK || ltc_module_to(l->m, dev) != LTC_OK ||
        ltc_module_parameters(&l->p, l->m) != LTC_OK || (w && (set_param(l, 0, w) != LTC_OK || set_param(l, 1, b) != LTC_OK)) ||
        ltc_optimizer_sgd_new(&l->opt, l->p, &so) != LTC_OK) {
        lin_free(l);
        return NULL;
    }
    return l;
}

/* The weights (grad 0) or their gradients (grad 1) into w and b (b left as it is without a bias); 0 on
 * an error. */
static int read_params(const lin *l, int grad, float w[REG_OUT][REG_IN], float b[REG_OUT]) {
    int ok = 1;
    for (int64_t i = 0; i < ltc_tensor_list_count(l->p) && ok; i++) {
        ltc_tensor *t = NULL, *g = NULL;
        ok = ltc_tensor_list_get(&t, NULL, l->p, i) == LTC_OK && (!grad || ltc_tensor_grad(&g, t) == LTC_OK) &&
             ltc_tensor_copy_to_host(i == 0 ? (void *)w : (void *)b, sizeof(float) * (i == 0 ? REG_OUT * REG_IN : REG_OUT),
                                     grad ? g : t) == LTC_OK;
        TH_FREE_TENSORS(t, g);
    }
    return ok;
}

/* One step: forward (dp: over every GPU), MSE loss, backward, the average over the group (dist given), the
 * SGD step; *loss new when loss is not NULL. Captured by a CUDA graph as it is. */
static ltc_status step_of(lin *l, ltc_dist *dist, int dp, const ltc_tensor *x, const ltc_tensor *y, ltc_tensor **loss) {
    ltc_tensor *pred = NULL, *lo = NULL;
    ltc_status s = dp ? ltc_module_data_parallel_forward(&pred, l->m, x, NULL, 0) : ltc_module_forward(&pred, l->m, x);
    if (s == LTC_OK)
        s = ltc_mse_loss(&lo, pred, y);
    if (s == LTC_OK)
        s = ltc_tensor_backward(lo);
    if (s == LTC_OK && dist)
        s = ltc_dist_average_gradients(dist, l->p);
    if (s == LTC_OK)
        s = ltc_optimizer_step(l->opt);
    ltc_tensor_free(pred);
    if (loss && s == LTC_OK)
        *loss = lo;
    else
        ltc_tensor_free(lo);
    return s;
}

/* `steps` steps on x and y: eager (each after zero_grad), or (graph) WARMUP eager ones, then the step
 * captured once on x and y and replayed for the rest; *g the graph, *gloss its loss (the caller frees). */
static ltc_status run_steps(lin *l, ltc_dist *dist, enum mode mode, const ltc_tensor *x, const ltc_tensor *y, int steps,
                            ltc_cuda_graph **g, ltc_tensor **gloss) {
    ltc_status s = LTC_OK;
    for (int k = 0; k < steps && s == LTC_OK; k++) {
        if (mode != GRAPH || k < WARMUP) {
            s = ltc_optimizer_zero_grad(l->opt);
            if (s == LTC_OK)
                s = step_of(l, dist, mode == DP, x, y, NULL);
            continue;
        }
        if (!*g) {
            ltc_device dev = ltc_tensor_device(x);
            s = ltc_cuda_graph_new(g, dev);
            if (s == LTC_OK)
                s = ltc_optimizer_zero_grad(l->opt); /* the captured backward makes the gradients */
            if (s == LTC_OK)
                s = ltc_cuda_graph_capture_begin(*g);
            if (s == LTC_OK) {
                ltc_status c = step_of(l, dist, 0, x, y, gloss);
                s = ltc_cuda_graph_capture_end(*g);
                s = c != LTC_OK ? c : s;
            }
        }
        if (s == LTC_OK)
            s = ltc_cuda_graph_replay(*g);
    }
    return s;
}

/* Trains `steps` steps in `mode` on `dev`, on the rows [first, first + n) of the batch (with the group when
 * dist is given: the start broadcast from rank 0, each step's gradient averaged over the ranks); the
 * learned weights go to w, b. Returns max |learned - true|, or -1 on an error. */
static double train_rows(enum mode mode, ltc_dist *dist, ltc_device dev, int first, int n, int steps,
                         float w[REG_OUT][REG_IN], float b[REG_OUT]) {
    int64_t xs[2] = {n, REG_IN}, ys[2] = {n, REG_OUT};
    ltc_tensor *x = NULL, *y = NULL, *loss = NULL;
    ltc_cuda_graph *graph = NULL;
    double err = -1;
    ltc_manual_seed(42);
    lin *l = lin_new(dev, 1, 0.1, 0.9, NULL, NULL);
    if (!l || ltc_tensor_from_data(&x, X[first], xs, 2, LTC_FLOAT32, dev) != LTC_OK ||
        ltc_tensor_from_data(&y, Y[first], ys, 2, LTC_FLOAT32, dev) != LTC_OK ||
        (dist && ltc_dist_broadcast_parameters(dist, l->p, 0) != LTC_OK) ||
        run_steps(l, dist, mode, x, y, steps, &graph, &loss) != LTC_OK)
        goto done;
    if (graph) {
        double lv = -1;
        CHECK_OK(ltc_tensor_item(&lv, loss));
        CHECK("the graph's loss is small at the end", lv >= 0 && lv < 1e-6);
    }
    if (dist)
        CHECK_OK(ltc_dist_check_replicas(dist, l->p));
    if (!read_params(l, 0, w, b))
        goto done;
    err = 0;
    for (int o = 0; o < REG_OUT; o++) {
        err = fmax(err, fabs(b[o] - REG_B[o]));
        for (int i = 0; i < REG_IN; i++)
            err = fmax(err, fabs(w[o][i] - REG_W[o][i]));
    }
done:
    if (err < 0)
        fprintf(stderr, "train(mode %d, %s): %s\n", (int)mode, dist ? "group" : "alone", ltc_last_error());
    ltc_cuda_graph_free(graph);
    TH_FREE_TENSORS(x, y, loss);
    lin_free(l);
    return err;
}

/* train_rows on cuda:0 over the whole batch. */
static double train(enum mode mode, ltc_dist *dist, int steps, float w[REG_OUT][REG_IN], float b[REG_OUT]) {
    return train_rows(mode, dist, GPU0, 0, REG_N, steps, w, b);
}

static double max_diff(const float a[REG_OUT][REG_IN], const float b[REG_OUT][REG_IN]) {
    double d = 0;
    for (int o = 0; o < REG_OUT; o++)
        for (int i = 0; i < REG_IN; i++)
            d = fmax(d, fabs(a[o][i] - b[o][i]));
    return d;
}

/* Two ranks (threads) both on cuda:0: refused at the rendezvous, before NCCL, naming both. */
typedef struct same_gpu {
    int rank, port;
    ltc_status st;
    char msg[512];
} same_gpu;

static void *same_gpu_rank(void *p) {
    same_gpu *j = p;
    ltc_dist_env e;
    memset(&e, 0, sizeof e);
    e.launcher = LTC_LAUNCHER_TORCHRUN;
    e.rank = e.local_rank = j->rank;
    e.world_size = 2;
    strcpy(e.master_addr, "127.0.0.1");
    e.master_port = j->port;
    ltc_dist *d = NULL;
    j->st = ltc_dist_init(&d, &e, GPU0, 10);
    snprintf(j->msg, sizeof j->msg, "%s", ltc_last_error());
    ltc_dist_free(d);
    return NULL;
}

static void test_two_ranks_one_gpu(void) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    bind(fd, (struct sockaddr *)&a, sizeof a);
    getsockname(fd, (struct sockaddr *)&a, &len);
    close(fd);
    same_gpu j[2] = {{0, ntohs(a.sin_port), LTC_OK, ""}, {1, ntohs(a.sin_port), LTC_OK, ""}};
    pthread_t t[2];
    for (int r = 0; r < 2; r++)
        pthread_create(&t[r], NULL, same_gpu_rank, &j[r]);
    for (int r = 0; r < 2; r++)
        pthread_join(t[r], NULL);
    /* rank 1 sees the same, unless rank 0, which hosts the store, has already gone */
    /* named by the GPU's UUID, as nvidia-smi -L writes it */
    th_report(j[0].st == LTC_ERR_DISTRIBUTED && strstr(j[0].msg, "ranks 0 and 1 both use the GPU GPU-") != NULL &&
                  strstr(j[0].msg, "(rank 0: cuda:0 on host ") != NULL,
              __FILE__, __LINE__, "two ranks on one GPU are refused, naming its UUID", j[0].msg);
    CHECK("both fail", j[1].st != LTC_OK);
}

/* A replay reads what was copied into the tensors the capture used (its static inputs): zeros in x and y
 * make the prediction b and the loss mean(b^2), b as before the replay's step. */
static void test_graph_inputs(void) {
    int64_t xs[2] = {4, REG_IN}, ys[2] = {4, REG_OUT};
    ltc_tensor *x = NULL, *y = NULL, *zx = NULL, *zy = NULL, *loss = NULL;
    ltc_cuda_graph *g = NULL;
    ltc_manual_seed(5);
    lin *l = lin_new(GPU0, 1, 0.1, 0, NULL, NULL);
    CHECK("a Linear on cuda:0", l != NULL);
    if (!l)
        return;
    CHECK_OK(ltc_tensor_randn(&x, xs, 2, LTC_FLOAT32, GPU0, 7));
    CHECK_OK(ltc_tensor_randn(&y, ys, 2, LTC_FLOAT32, GPU0, 8));
    CHECK_OK(run_steps(l, NULL, GRAPH, x, y, WARMUP + 1, &g, &loss)); /* the capture, and one replay */
    CHECK_OK(ltc_tensor_zeros(&zx, xs, 2, LTC_FLOAT32, GPU0));
    CHECK_OK(ltc_tensor_zeros(&zy, ys, 2, LTC_FLOAT32, GPU0));
    CHECK_OK(ltc_tensor_copy(x, zx, 0));
    CHECK_OK(ltc_tensor_copy(y, zy, 0));
    float w[REG_OUT][REG_IN], bias[REG_OUT];
    CHECK("read the bias", read_params(l, 0, w, bias));
    double want = 0, got = -1;
    for (int o = 0; o < REG_OUT; o++)
        want += (double)bias[o] * bias[o] / REG_OUT;
    CHECK_OK(ltc_cuda_graph_replay(g));
    CHECK_OK(ltc_tensor_item(&got, loss));
    char what[128];
    snprintf(what, sizeof what, "a replay reads the capture's inputs as they are now: loss %.6g, mean(b^2) %.6g", got, want);
    CHECK(what, fabs(got - want) <= 1e-6 * (1 + want));
    ltc_cuda_graph_free(g);
    float after[REG_OUT];
    CHECK("the tensors outlive the graph", read_params(l, 0, w, after));
    TH_FREE_TENSORS(x, y, zx, zy, loss);
    lin_free(l);
}

/* Three replays of the captured step against three eager steps from the same start (after the same
 * WARMUP eager steps), on n samples, with or without bias, momentum as given: max |difference| of the
 * weights and bias. */
static double graph_vs_eager(int64_t n, int bias, double momentum) {
    enum { STEPS = 3 };
    int64_t xs[2] = {n, REG_IN}, ys[2] = {n, REG_OUT};
    float w[2][REG_OUT][REG_IN], b[2][REG_OUT] = {{0}, {0}};
    ltc_tensor *x = NULL, *y = NULL;
    CHECK_OK(ltc_tensor_randn(&x, xs, 2, LTC_FLOAT32, GPU0, 31));
    CHECK_OK(ltc_tensor_randn(&y, ys, 2, LTC_FLOAT32, GPU0, 32));
    for (int k = 0; k < 2; k++) { /* 0 eager, 1 graph */
        ltc_cuda_graph *g = NULL;
        ltc_tensor *loss = NULL;
        ltc_manual_seed(9);
        lin *l = lin_new(GPU0, bias, 0.05, momentum, NULL, NULL);
        CHECK("a Linear on cuda:0", l != NULL);
        if (!l)
            continue;
        CHECK_OK(run_steps(l, NULL, k == 0 ? EAGER : GRAPH, x, y, WARMUP + STEPS, &g, &loss));
        CHECK("read the weights", read_params(l, 0, w[k], b[k]));
        ltc_cuda_graph_free(g);
        ltc_tensor_free(loss);
        lin_free(l);
    }
    double d = max_diff(w[0], w[1]);
    for (int o = 0; o < REG_OUT; o++)
        d = fmax(d, fabs(b[0][o] - b[1][o]));
    ltc_tensor_free(x);
    ltc_tensor_free(y);
    return d;
}

static void test_graph_step_by_step(void) {
    static const struct {
        int64_t n;
        int bias;
        double momentum;
    } c[] = {{256, 1, 0.9}, {256, 0, 0.9}, {256, 1, 0}, {600000, 1, 0.9}, {600000, 0, 0}};
    for (size_t i = 0; i < sizeof c / sizeof *c; i++) {
        double d = graph_vs_eager(c[i].n, c[i].bias, c[i].momentum);
        char what[160];
        snprintf(what, sizeof what, "3 graph replays take 3 eager steps: %lld samples, %s bias, momentum %g (max |difference| %.1e)",
                 (long long)c[i].n, c[i].bias ? "with" : "no", c[i].momentum, d);
        CHECK(what, d < 1e-5);
    }
}

/* ---- two processes, one per GPU, over NCCL ------------------------------------------------------------ */

#define DDP_DIR_VAR "LTC_TEST_DDP_GPU_DIR" /* set: this process is a rank of the two-process case */

/* What rank r holds before the broadcast: different on each rank. */
static void start_weights(int r, float w[REG_OUT][REG_IN], float b[REG_OUT]) {
    for (int o = 0; o < REG_OUT; o++) {
        b[o] = (float)(0.1 * (r + 1) * cos(0.5 + o));
        for (int i = 0; i < REG_IN; i++)
            w[o][i] = (float)(0.1 * (r + 1) * sin(1.0 + o * REG_IN + i + 7 * r));
    }
}

/* Backward of the mean loss over the rows [first, first + n) into l's gradients (then averaged over the
 * group when dist is given), which go to gw, gb, and the loss to *loss; 0 on an error. */
static int rows_gradient(lin *l, ltc_dist *dist, ltc_device dev, int first, int n, float gw[REG_OUT][REG_IN],
                         float gb[REG_OUT], double *loss) {
    int64_t xs[2] = {n, REG_IN}, ys[2] = {n, REG_OUT};
    ltc_tensor *x = NULL, *y = NULL, *pred = NULL, *lo = NULL;
    int ok = ltc_tensor_from_data(&x, X[first], xs, 2, LTC_FLOAT32, dev) == LTC_OK &&
             ltc_tensor_from_data(&y, Y[first], ys, 2, LTC_FLOAT32, dev) == LTC_OK &&
             ltc_module_forward(&pred, l->m, x) == LTC_OK && ltc_mse_loss(&lo, pred, y) == LTC_OK &&
             ltc_tensor_item(loss, lo) == LTC_OK && ltc_tensor_backward(lo) == LTC_OK &&
             (!dist || ltc_dist_average_gradients(dist, l->p) == LTC_OK) && read_params(l, 1, gw, gb);
    TH_FREE_TENSORS(x, y, pred, lo);
    return ok;
}

static double max_diff_all(const float a[REG_OUT][REG_IN], const float ab[REG_OUT], const float b[REG_OUT][REG_IN],
                           const float bb[REG_OUT]) {
    double d = max_diff(a, b);
    for (int o = 0; o < REG_OUT; o++)
        d = fmax(d, fabs(ab[o] - bb[o]));
    return d;
}

/* One rank (started by ltc_launch_local): on cuda:LOCAL_RANK, its half of the batch. Its checks end with
 * its own "rank r: N passed, N failed" and exit code; its trained weights go to <dir>/rank<r>.bin. */
static int ddp_rank(const char *dir) {
    ltc_dist_env env;
    ltc_dist *d = NULL;
    CHECK_OK(ltc_dist_env_from(&env, NULL));
    ltc_device dev = {LTC_DEVICE_CUDA, env.local_rank};
    CHECK_OK(ltc_dist_init(&d, &env, dev, 60));
    if (!d)
        return th_finish();
    const int r = env.rank, half = REG_N / 2;
    make_data();
    float w_start[REG_OUT][REG_IN], b_start[REG_OUT], w1[REG_OUT][REG_IN], b1[REG_OUT];
    start_weights(r, w_start, b_start);
    start_weights(1, w1, b1);
    /* the broadcast: every rank ends with rank 1's start */
    lin *l = lin_new(dev, 1, 0.1, 0.9, &w_start[0][0], b_start), *full = lin_new(dev, 1, 0.1, 0.9, &w1[0][0], b1),
        *alone = lin_new(dev, 1, 0.1, 0.9, &w1[0][0], b1);
    CHECK("three modules on this rank's GPU", l && full && alone);
    if (!l || !full || !alone)
        return th_finish();
    float w[REG_OUT][REG_IN], b[REG_OUT];
    CHECK_OK(ltc_dist_broadcast_parameters(d, l->p, 1));
    CHECK("broadcast from rank 1: this rank holds rank 1's start, bit for bit",
          read_params(l, 0, w, b) && memcmp(w, w1, sizeof w) == 0 && memcmp(b, b1, sizeof b) == 0);
    /* the gradient of this rank's half, averaged, against the full batch's and the half's alone */
    float gw[REG_OUT][REG_IN], gb[REG_OUT], fw[REG_OUT][REG_IN], fb[REG_OUT], hw[REG_OUT][REG_IN], hb[REG_OUT];
    double loss = -1, loss_full = -2, loss_alone = -3, loss_mean = -4;
    CHECK("the half batch's gradient, averaged over the ranks", rows_gradient(l, d, dev, r * half, half, gw, gb, &loss));
    CHECK("the full batch's gradient, in this process", rows_gradient(full, NULL, dev, 0, REG_N, fw, fb, &loss_full));
    CHECK("the half batch's gradient alone", rows_gradient(alone, NULL, dev, r * half, half, hw, hb, &loss_alone));
    double diff = max_diff_all(gw, gb, fw, fb), half_diff = max_diff_all(hw, hb, fw, fb);
    printf("rank %d on cuda:%d: averaged gradient vs the full batch's: max difference %.2e (its half alone: %.2e)\n", r,
           dev.index, diff, half_diff);
    CHECK("the averaged gradient equals the full batch's", diff < 1e-5);
    CHECK("(the half's alone does not)", half_diff > 1e-3);
    CHECK_OK(th_dist_mean(&loss_mean, d, dev, loss));
    printf("rank %d: loss of its half %.6g, mean over the ranks %.6g, full batch %.6g\n", r, loss, loss_mean, loss_full);
    CHECK("the mean of the halves' losses is the full batch's", fabs(loss_mean - loss_full) <= 1e-6 * (1 + loss_full));
    CHECK_OK(ltc_dist_check_replicas(d, l->p));
    /* training: each step's gradient averaged over the two GPUs */
    double e = train_rows(EAGER, d, dev, r * half, half, 300, w, b);
    printf("rank %d: 300 steps on its half: max |learned - true| = %.2e\n", r, e);
    CHECK("two processes, one per GPU, converge", e >= 0 && e < 1e-4);
    char path[600];
    snprintf(path, sizeof path, "%s/rank%d.bin", dir, r);
    FILE *f = fopen(path, "wb");
    CHECK("its weights written", f && fwrite(w, sizeof w, 1, f) == 1 && fwrite(b, sizeof b, 1, f) == 1 && fclose(f) == 0);
    lin_free(l);
    lin_free(full);
    lin_free(alone);
    ltc_dist_free(d);
    printf("rank %d: ", r);
    return th_finish();
}

/* Two processes, one per GPU (needs 2): this program as both ranks, through ltc_launch_local. Their
 * replicas must end identical, and where one process training on the whole batch ends (w_eager). */
static void test_two_processes(const float w_eager[REG_OUT][REG_IN]) {
    if (!th_need_gpus("ddp, two processes on cuda:0 and cuda:1 over NCCL", 2))
        return;
    char dir[64];
    if (!ph_make_dir(dir, sizeof dir, "ltc_ddp_gpu")) {
        CHECK("a scratch folder", 0);
        return;
    }
    setenv(DDP_DIR_VAR, dir, 1);
    const char *argv[] = {"test_train_data_parallel_gpu", NULL};
    int code = -1, failed = -2;
    ltc_launch_options lo = LTC_LAUNCH_OPTIONS_INIT;
    lo.nproc = 2, lo.argv = argv, lo.timeout_s = 60;
    CHECK_OK(ltc_launch_local(&code, &failed, NULL, &lo));
    unsetenv(DDP_DIR_VAR);
    char what[160];
    snprintf(what, sizeof what, "ddp, two processes: both ranks pass their checks (exit %d, rank %d failed)", code, failed);
    CHECK(what, code == 0 && failed == -1);
    float w[2][REG_OUT][REG_IN], b[2][REG_OUT];
    int got = 1;
    for (int r = 0; r < 2; r++) {
        char path[600];
        snprintf(path, sizeof path, "%s/rank%d.bin", dir, r);
        FILE *f = fopen(path, "rb");
        got = got && f && fread(w[r], sizeof w[r], 1, f) == 1 && fread(b[r], sizeof b[r], 1, f) == 1;
        if (f)
            fclose(f);
    }
    CHECK("ddp, two processes: both ranks' weights read", got);
    CHECK("ddp, two processes: the replicas are identical, bit for bit",
          got && memcmp(w[0], w[1], sizeof w[0]) == 0 && memcmp(b[0], b[1], sizeof b[0]) == 0);
    printf("ddp, two processes: max |weights - one process's on the whole batch| = %.2e\n", got ? max_diff(w[0], w_eager) : -1.0);
    CHECK("ddp, two processes: where one process on the whole batch lands", got && max_diff(w[0], w_eager) < 1e-5);
    ph_remove_dir(dir);
}

int main(void) {
    const char *ddp_dir = getenv(DDP_DIR_VAR);
    if (ddp_dir)
        return ddp_rank(ddp_dir);
    th_require_gpu();
    int n = 0;
    CHECK_OK(ltc_cuda_device_count(&n));
    make_data();

    float w_eager[REG_OUT][REG_IN], b_eager[REG_OUT], w[REG_OUT][REG_IN], b[REG_OUT];
    double e = train(EAGER, NULL, 300, w_eager, b_eager);
    printf("eager on cuda:0: max |learned - true| = %.2e\n", e);
    CHECK("eager converges", e >= 0 && e < 1e-4);
    test_two_processes(w_eager); /* before this process joins a group of its own */

    /* ddp, a group of one over NCCL on cuda:0 */
    ltc_dist_env env;
    const char *none[] = {NULL};
    CHECK_OK(ltc_dist_env_from(&env, none));
    ltc_dist *dist = NULL;
    CHECK_OK(ltc_dist_init(&dist, &env, GPU0, 60));
    if (dist) {
        e = train(EAGER, dist, 300, w, b);
        printf("ddp, 1 rank over NCCL: max |learned - true| = %.2e, vs eager alone %.2e\n", e, max_diff(w, w_eager));
        CHECK("ddp with one rank converges", e >= 0 && e < 1e-4);
        CHECK("and averages to the same weights", max_diff(w, w_eager) < 1e-6);
        double m = 0;
        CHECK_OK(th_dist_mean(&m, dist, GPU0, 3.25));
        CHECK("mean over one rank", m == 3.25);

        e = train(GRAPH, dist, 300, w, b);
        printf("graph with the all-reduce inside: max |learned - true| = %.2e, vs eager %.2e\n", e, max_diff(w, w_eager));
        CHECK("graph + ddp converges", e >= 0 && e < 1e-4);
        CHECK("graph + ddp gives eager's weights", max_diff(w, w_eager) < 1e-5);
    }

    e = train(GRAPH, NULL, 300, w, b);
    printf("graph on cuda:0: max |learned - true| = %.2e, vs eager %.2e\n", e, max_diff(w, w_eager));
    CHECK("graph converges", e >= 0 && e < 1e-4);
    CHECK("graph gives eager's weights", max_diff(w, w_eager) < 1e-5);

    e = train(DP, NULL, 300, w, b);
    printf("dp over %d GPU(s): max |learned - true| = %.2e\n", n, e);
    CHECK("dp converges", e >= 0 && e < 1e-4);

    /* errors that need a GPU to reach */
    ltc_tensor *xc = NULL, *yg = NULL, *out = NULL;
    int64_t xs[2] = {4, REG_IN}, ys[2] = {4, REG_OUT};
    lin *l = lin_new(GPU0, 1, 0.1, 0, NULL, NULL);
    CHECK("a Linear on cuda:0", l != NULL);
    CHECK_OK(ltc_tensor_zeros(&xc, xs, 2, LTC_FLOAT32, (ltc_device){LTC_DEVICE_CPU, 0}));
    CHECK_OK(ltc_tensor_zeros(&yg, ys, 2, LTC_FLOAT32, GPU0));
    int twice[2] = {0, 0};
    if (l) {
        CHECK_FAILS(ltc_module_data_parallel_forward(&out, l->m, yg, twice, 2), LTC_ERR_INVALID_ARGUMENT,
                    "device 0 is listed twice");
        CHECK_FAILS(ltc_module_data_parallel_forward(&out, l->m, yg, &n, 1), LTC_ERR_INVALID_ARGUMENT, "is out of range");
        CHECK_FAILS(ltc_module_data_parallel_forward(&out, l->m, xc, NULL, 0), LTC_ERR_INVALID_ARGUMENT,
                    "the module is on cuda:0 and the input on cpu; both must be on the first device, cuda:0");
    }
    if (dist) {
        ltc_module *cpu_lin = NULL;
        ltc_tensor_list *cpu_params = NULL;
        CHECK_OK(ltc_module_linear_new(&cpu_lin, REG_IN, REG_OUT, 1));
        CHECK_OK(ltc_module_parameters(&cpu_params, cpu_lin));
        CHECK_FAILS(ltc_dist_broadcast_parameters(dist, cpu_params, 0), LTC_ERR_INVALID_ARGUMENT,
                    "ltc_dist_broadcast_parameters: parameter \"weight\" is on cpu but the group is on cuda:0: move it there first");
        ltc_tensor_list_free(cpu_params);
        ltc_module_free(cpu_lin);
    }
    ltc_dist *bad = NULL;
    char want[64];
    snprintf(want, sizeof want, "cuda:%d is out of range", n);
    CHECK_FAILS(ltc_dist_init(&bad, &env, (ltc_device){LTC_DEVICE_CUDA, n}, 5), LTC_ERR_INVALID_ARGUMENT, want);
    test_two_ranks_one_gpu();
    test_graph_inputs();
    test_graph_step_by_step();
    ltc_tensor_free(xc);
    ltc_tensor_free(yg);
    lin_free(l);
    ltc_dist_free(dist);
    return th_finish();
}
