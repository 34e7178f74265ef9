/* The data-parallel GPU paths (exits 77 without a GPU): a group of one over NCCL on cuda:0, nn.DataParallel
 * over every visible GPU, and the whole step captured as a CUDA graph (with and without the group), each
 * trained on the regression of train_common.h. Each must converge; the graph must land on eager's weights.
 * With 2 or more GPUs, two processes, one per GPU, over NCCL (this program launches itself as the ranks
 * with ltc_launch_local): the broadcast, the averaged gradient and loss of two half batches against the
 * full batch's, and identical replicas after training; with fewer it is counted skipped. */
#define _DEFAULT_SOURCE /* setenv, mkdtemp */
#include "proc_helper.h"
#include "train_common.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

enum mode { EAGER, DP, GRAPH };
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

/* Trains `steps` steps in `mode` on `dev`, on the rows [first, first + n) of the batch (with the group when
 * dist is given: the start broadcast from rank 0, each step's gradient averaged over the ranks); the
 * learned weights go to w, b. Returns max |learned - true|, or -1 on an error. */
static double train_rows(enum mode mode, ltc_dist *dist, ltc_device dev, int first, int n, int steps,
                         float w[REG_OUT][REG_IN], float b[REG_OUT]) {
    int64_t xs[2] = {n, REG_IN}, ys[2] = {n, REG_OUT};
    ltc_tensor *x = NULL, *y = NULL, *pred = NULL, *loss = NULL, *pw = NULL, *pb = NULL;
    ltc_linear *lin = NULL;
    ltc_sgd *opt = NULL;
    ltc_train_graph *graph = NULL;
    double err = -1;
    ltc_manual_seed(42);
    if (ltc_tensor_from_data(&x, X[first], xs, 2, LTC_FLOAT32, dev) != LTC_OK ||
        ltc_tensor_from_data(&y, Y[first], ys, 2, LTC_FLOAT32, dev) != LTC_OK || ltc_linear_new(&lin, REG_IN, REG_OUT, 1) != LTC_OK ||
        ltc_linear_to(lin, dev) != LTC_OK || (dist && ltc_dist_broadcast_parameters_linear(dist, lin, 0) != LTC_OK) ||
        ltc_sgd_new(&opt, lin, 0.1, 0.9) != LTC_OK)
        goto done;
    for (int s = 0; s < steps; s++) {
        ltc_tensor_free(pred);
        ltc_tensor_free(loss);
        pred = loss = NULL;
        if (mode == GRAPH) {
            if (!graph && ltc_train_graph_new(&graph, lin, opt, dist, x, y) != LTC_OK)
                goto done;
            if (ltc_train_graph_replay(graph, x, y) != LTC_OK)
                goto done;
            continue;
        }
        if (ltc_sgd_zero_grad(opt) != LTC_OK ||
            (mode == DP ? ltc_data_parallel_forward(&pred, lin, x, NULL, 0) : ltc_linear_forward(&pred, lin, x)) != LTC_OK ||
            ltc_mse_loss(&loss, pred, y) != LTC_OK || ltc_tensor_backward(loss) != LTC_OK ||
            (dist && ltc_dist_average_gradients_linear(dist, lin) != LTC_OK) || ltc_sgd_step(opt) != LTC_OK)
            goto done;
    }
    if (graph) {
        double l = -1;
        CHECK_OK(ltc_train_graph_loss(&loss, graph));
        CHECK_OK(ltc_tensor_item(&l, loss));
        CHECK("the graph's loss is small at the end", l >= 0 && l < 1e-6);
        /* a batch of another shape is refused */
        ltc_tensor *small = NULL;
        int64_t ss[2] = {3, REG_IN};
        CHECK_OK(ltc_tensor_zeros(&small, ss, 2, LTC_FLOAT32, dev));
        char want[160];
        snprintf(want, sizeof want, "x is Float [3, 5] on cuda:%d, but the graph was captured for Float [%d, 5] on cuda:%d",
                 dev.index, n, dev.index);
        CHECK_FAILS(ltc_train_graph_replay(graph, small, y), LTC_ERR_INVALID_ARGUMENT, want);
        ltc_tensor_free(small);
    }
    if (dist)
        CHECK_OK(ltc_dist_check_replicas_linear(dist, lin));
    if (ltc_linear_parameters(&pw, &pb, lin) != LTC_OK ||
        ltc_tensor_copy_to_host(w, sizeof(float) * REG_OUT * REG_IN, pw) != LTC_OK ||
        ltc_tensor_copy_to_host(b, sizeof(float) * REG_OUT, pb) != LTC_OK)
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
    ltc_train_graph_free(graph);
    ltc_tensor_free(x);
    ltc_tensor_free(y);
    ltc_tensor_free(pred);
    ltc_tensor_free(loss);
    ltc_tensor_free(pw);
    ltc_tensor_free(pb);
    ltc_sgd_free(opt);
    ltc_linear_free(lin);
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

/* The graph's own inputs: a replay with them reads what was written into them (no copy); an optimizer
 * made over another module is refused. lin (Linear(REG_IN, REG_OUT) on cuda:0) and opt are its. */
static void test_graph_inputs(ltc_linear *lin, ltc_sgd *opt) {
    int64_t xs[2] = {4, REG_IN}, ys[2] = {4, REG_OUT};
    ltc_tensor *x = NULL, *y = NULL, *gx = NULL, *gy = NULL, *zx = NULL, *zy = NULL, *loss = NULL, *b = NULL;
    ltc_linear *other = NULL;
    ltc_sgd *other_opt = NULL;
    ltc_train_graph *g = NULL;
    CHECK_OK(ltc_tensor_randn(&x, xs, 2, LTC_FLOAT32, GPU0, 7));
    CHECK_OK(ltc_tensor_randn(&y, ys, 2, LTC_FLOAT32, GPU0, 8));
    CHECK_OK(ltc_linear_new(&other, REG_IN, REG_OUT, 1));
    CHECK_OK(ltc_linear_to(other, GPU0));
    CHECK_OK(ltc_sgd_new(&other_opt, other, 0.1, 0));
    CHECK_FAILS(ltc_train_graph_new(&g, lin, other_opt, NULL, x, y), LTC_ERR_INVALID_ARGUMENT,
                "opt was made for another module");
    CHECK("graph NULL after the refusal", g == NULL);

    CHECK_OK(ltc_train_graph_new(&g, lin, opt, NULL, x, y));
    CHECK_OK(ltc_train_graph_inputs(&gx, &gy, g));
    float hx[4][REG_IN], hgx[4][REG_IN];
    CHECK_OK(ltc_tensor_copy_to_host(hx, sizeof hx, x));
    CHECK_OK(ltc_tensor_copy_to_host(hgx, sizeof hgx, gx));
    CHECK("the graph's x holds the capture's batch", memcmp(hx, hgx, sizeof hx) == 0);
    /* write zeros into the graph's inputs: the prediction is then b, the loss mean(b^2) */
    CHECK_OK(ltc_tensor_zeros(&zx, xs, 2, LTC_FLOAT32, GPU0));
    CHECK_OK(ltc_tensor_zeros(&zy, ys, 2, LTC_FLOAT32, GPU0));
    CHECK_OK(ltc_tensor_copy(gx, zx, 0));
    CHECK_OK(ltc_tensor_copy(gy, zy, 0));
    float bias[REG_OUT];
    CHECK_OK(ltc_linear_parameters(NULL, &b, lin));
    CHECK_OK(ltc_tensor_copy_to_host(bias, sizeof bias, b));
    double want = 0, got = -1;
    for (int o = 0; o < REG_OUT; o++)
        want += (double)bias[o] * bias[o] / REG_OUT;
    CHECK_OK(ltc_train_graph_replay(g, gx, gy));
    CHECK_OK(ltc_train_graph_loss(&loss, g));
    CHECK_OK(ltc_tensor_item(&got, loss));
    char what[128];
    snprintf(what, sizeof what, "a replay with the graph's inputs reads them: loss %.6g, mean(b^2) %.6g", got, want);
    CHECK(what, fabs(got - want) <= 1e-6 * (1 + want));
    ltc_train_graph_free(g);
    /* the handles outlive the graph */
    CHECK_OK(ltc_tensor_copy_to_host(hgx, sizeof hgx, gx));
    CHECK("the inputs' handles outlive the graph", hgx[0][0] == 0.0f);
    ltc_tensor_free(x);
    ltc_tensor_free(y);
    ltc_tensor_free(gx);
    ltc_tensor_free(gy);
    ltc_tensor_free(zx);
    ltc_tensor_free(zy);
    ltc_tensor_free(loss);
    ltc_tensor_free(b);
    ltc_sgd_free(other_opt);
    ltc_linear_free(other);
}

/* Three steps captured as a graph against three eager steps from the same start, on n samples, with or
 * without bias, momentum as given: max |difference| of the weights and bias. */
static double graph_vs_eager(int64_t n, int bias, double momentum) {
    enum { STEPS = 3 };
    int64_t xs[2] = {n, REG_IN}, ys[2] = {n, REG_OUT};
    float w[2][REG_OUT][REG_IN], b[2][REG_OUT] = {{0}, {0}};
    ltc_tensor *x = NULL, *y = NULL;
    CHECK_OK(ltc_tensor_randn(&x, xs, 2, LTC_FLOAT32, GPU0, 31));
    CHECK_OK(ltc_tensor_randn(&y, ys, 2, LTC_FLOAT32, GPU0, 32));
    for (int k = 0; k < 2; k++) { /* 0 eager, 1 graph */
        ltc_linear *lin = NULL;
        ltc_sgd *opt = NULL;
        ltc_train_graph *g = NULL;
        ltc_tensor *pw = NULL, *pb = NULL;
        ltc_manual_seed(9);
        CHECK_OK(ltc_linear_new(&lin, REG_IN, REG_OUT, bias));
        CHECK_OK(ltc_linear_to(lin, GPU0));
        CHECK_OK(ltc_sgd_new(&opt, lin, 0.05, momentum));
        if (k == 1)
            CHECK_OK(ltc_train_graph_new(&g, lin, opt, NULL, x, y));
        for (int s = 0; s < STEPS; s++) {
            if (k == 1) {
                CHECK_OK(ltc_train_graph_replay(g, x, y));
                continue;
            }
            CHECK_OK(train_step(lin, opt, x, y));
        }
        CHECK_OK(ltc_linear_parameters(&pw, &pb, lin));
        CHECK_OK(ltc_tensor_copy_to_host(w[k], sizeof w[k], pw));
        if (pb)
            CHECK_OK(ltc_tensor_copy_to_host(b[k], sizeof b[k], pb));
        ltc_tensor_free(pw);
        ltc_tensor_free(pb);
        ltc_train_graph_free(g);
        ltc_sgd_free(opt);
        ltc_linear_free(lin);
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

/* A new Linear on dev holding w, b (NULL on an error). */
static ltc_linear *linear_with(ltc_device dev, const float w[REG_OUT][REG_IN], const float b[REG_OUT]) {
    ltc_linear *lin = NULL;
    if (ltc_linear_new(&lin, REG_IN, REG_OUT, 1) != LTC_OK || ltc_linear_to(lin, dev) != LTC_OK ||
        ltc_linear_set_parameters(lin, &w[0][0], b) != LTC_OK) {
        ltc_linear_free(lin);
        return NULL;
    }
    return lin;
}

/* lin's weights (grad 0) or their gradients (grad 1) into w, b; 0 on an error. */
static int read_params(const ltc_linear *lin, int grad, float w[REG_OUT][REG_IN], float b[REG_OUT]) {
    ltc_tensor *pw = NULL, *pb = NULL, *gw = NULL, *gb = NULL;
    int ok = ltc_linear_parameters(&pw, &pb, lin) == LTC_OK &&
             (!grad || (ltc_tensor_grad(&gw, pw) == LTC_OK && ltc_tensor_grad(&gb, pb) == LTC_OK)) &&
             ltc_tensor_copy_to_host(w, sizeof(float) * REG_OUT * REG_IN, grad ? gw : pw) == LTC_OK &&
             ltc_tensor_copy_to_host(b, sizeof(float) * REG_OUT, grad ? gb : pb) == LTC_OK;
    TH_FREE_TENSORS(pw, pb, gw, gb);
    return ok;
}

/* Backward of the mean loss over the rows [first, first + n) into lin's gradients (then averaged over the
 * group when dist is given), which go to gw, gb, and the loss to *loss; 0 on an error. */
static int rows_gradient(ltc_linear *lin, ltc_dist *dist, ltc_device dev, int first, int n, float gw[REG_OUT][REG_IN],
                         float gb[REG_OUT], double *loss) {
    int64_t xs[2] = {n, REG_IN}, ys[2] = {n, REG_OUT};
    ltc_tensor *x = NULL, *y = NULL, *pred = NULL, *l = NULL;
    int ok = ltc_tensor_from_data(&x, X[first], xs, 2, LTC_FLOAT32, dev) == LTC_OK &&
             ltc_tensor_from_data(&y, Y[first], ys, 2, LTC_FLOAT32, dev) == LTC_OK &&
             ltc_linear_forward(&pred, lin, x) == LTC_OK && ltc_mse_loss(&l, pred, y) == LTC_OK &&
             ltc_tensor_item(loss, l) == LTC_OK && ltc_tensor_backward(l) == LTC_OK &&
             (!dist || ltc_dist_average_gradients_linear(dist, lin) == LTC_OK) && read_params(lin, 1, gw, gb);
    TH_FREE_TENSORS(x, y, pred, l);
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
    ltc_linear *lin = linear_with(dev, w_start, b_start), *full = linear_with(dev, w1, b1), *alone = linear_with(dev, w1, b1);
    CHECK("three modules on this rank's GPU", lin && full && alone);
    float w[REG_OUT][REG_IN], b[REG_OUT];
    CHECK_OK(ltc_dist_broadcast_parameters_linear(d, lin, 1));
    CHECK("broadcast from rank 1: this rank holds rank 1's start, bit for bit",
          read_params(lin, 0, w, b) && memcmp(w, w1, sizeof w) == 0 && memcmp(b, b1, sizeof b) == 0);
    /* the gradient of this rank's half, averaged, against the full batch's and the half's alone */
    float gw[REG_OUT][REG_IN], gb[REG_OUT], fw[REG_OUT][REG_IN], fb[REG_OUT], hw[REG_OUT][REG_IN], hb[REG_OUT];
    double loss = -1, loss_full = -2, loss_alone = -3, loss_mean = -4;
    CHECK("the half batch's gradient, averaged over the ranks", rows_gradient(lin, d, dev, r * half, half, gw, gb, &loss));
    CHECK("the full batch's gradient, in this process", rows_gradient(full, NULL, dev, 0, REG_N, fw, fb, &loss_full));
    CHECK("the half batch's gradient alone", rows_gradient(alone, NULL, dev, r * half, half, hw, hb, &loss_alone));
    double diff = max_diff_all(gw, gb, fw, fb), half_diff = max_diff_all(hw, hb, fw, fb);
    printf("rank %d on cuda:%d: averaged gradient vs the full batch's: max difference %.2e (its half alone: %.2e)\n", r,
           dev.index, diff, half_diff);
    CHECK("the averaged gradient equals the full batch's", diff < 1e-5);
    CHECK("(the half's alone does not)", half_diff > 1e-3);
    CHECK_OK(ltc_dist_mean(&loss_mean, d, loss));
    printf("rank %d: loss of its half %.6g, mean over the ranks %.6g, full batch %.6g\n", r, loss, loss_mean, loss_full);
    CHECK("the mean of the halves' losses is the full batch's", fabs(loss_mean - loss_full) <= 1e-6 * (1 + loss_full));
    CHECK_OK(ltc_dist_check_replicas_linear(d, lin));
    /* training: each step's gradient averaged over the two GPUs */
    double e = train_rows(EAGER, d, dev, r * half, half, 300, w, b);
    printf("rank %d: 300 steps on its half: max |learned - true| = %.2e\n", r, e);
    CHECK("two processes, one per GPU, converge", e >= 0 && e < 1e-4);
    char path[600];
    snprintf(path, sizeof path, "%s/rank%d.bin", dir, r);
    FILE *f = fopen(path, "wb");
    CHECK("its weights written", f && fwrite(w, sizeof w, 1, f) == 1 && fwrite(b, sizeof b, 1, f) == 1 && fclose(f) == 0);
    ltc_linear_free(lin);
    ltc_linear_free(full);
    ltc_linear_free(alone);
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
    (void)reg_train; /* train_common.h's own loops; this test needs the data and modes below */
    (void)sgd_against_formula;
    (void)grad_vs_formula;
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
        CHECK_OK(ltc_dist_mean(&m, dist, 3.25));
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
    ltc_linear *lin = NULL;
    ltc_sgd *opt = NULL;
    ltc_tensor *xc = NULL, *yg = NULL, *out = NULL;
    ltc_train_graph *g = NULL;
    int64_t xs[2] = {4, REG_IN}, ys[2] = {4, REG_OUT};
    CHECK_OK(ltc_linear_new(&lin, REG_IN, REG_OUT, 1));
    CHECK_OK(ltc_linear_to(lin, GPU0));
    CHECK_OK(ltc_sgd_new(&opt, lin, 0.1, 0));
    CHECK_OK(ltc_tensor_zeros(&xc, xs, 2, LTC_FLOAT32, (ltc_device){LTC_DEVICE_CPU, 0}));
    CHECK_OK(ltc_tensor_zeros(&yg, ys, 2, LTC_FLOAT32, GPU0));
    CHECK_FAILS(ltc_train_graph_new(&g, lin, opt, NULL, xc, yg), LTC_ERR_INVALID_ARGUMENT,
                "x is on cpu and y on cuda:0; both must be on the module's cuda:0");
    int twice[2] = {0, 0};
    CHECK_FAILS(ltc_data_parallel_forward(&out, lin, yg, twice, 2), LTC_ERR_INVALID_ARGUMENT, "device 0 is listed twice");
    CHECK_FAILS(ltc_data_parallel_forward(&out, lin, yg, &n, 1), LTC_ERR_INVALID_ARGUMENT, "is out of range");
    CHECK_FAILS(ltc_data_parallel_forward(&out, lin, xc, NULL, 0), LTC_ERR_INVALID_ARGUMENT,
                "the module is on cuda:0 and the input on cpu; both must be on the first device, cuda:0");
    if (dist) {
        ltc_linear *cpu_lin = NULL;
        CHECK_OK(ltc_linear_new(&cpu_lin, REG_IN, REG_OUT, 1));
        CHECK_FAILS(ltc_dist_broadcast_parameters_linear(dist, cpu_lin, 0), LTC_ERR_INVALID_ARGUMENT,
                    "ltc_dist_broadcast_parameters_linear: parameter \"weight\" is on cpu but the group is on cuda:0: move it there first");
        ltc_linear_free(cpu_lin);
    }
    ltc_dist *bad = NULL;
    char want[64];
    snprintf(want, sizeof want, "cuda:%d is out of range", n);
    CHECK_FAILS(ltc_dist_init(&bad, &env, (ltc_device){LTC_DEVICE_CUDA, n}, 5), LTC_ERR_INVALID_ARGUMENT, want);
    test_two_ranks_one_gpu();
    test_graph_inputs(lin, opt);
    test_graph_step_by_step();
    ltc_tensor_free(xc);
    ltc_tensor_free(yg);
    ltc_sgd_free(opt);
    ltc_linear_free(lin);
    ltc_dist_free(dist);
    return th_finish();
}
