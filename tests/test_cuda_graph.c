/* CUDA graphs of any step (ltc_cuda_graph_*; exits 77 without a GPU). A training step of a Linear module
 * (ltc_module_forward, MSE, autograd's backward, the fused SGD step of ltc_optimizer_sgd_new), captured once
 * after three eager warm-up steps, replayed: the parameters and the loss equal the eager steps' bit for bit,
 * with and without momentum and bias, and with a group of one over NCCL averaging the gradients inside the
 * graph (ltc_dist_average_gradients over the module's parameter list, captured); a replay reads the capture's
 * input tensors, refilled with ltc_tensor_copy. The capture records, it does not run. A capture with work that
 * cannot be captured (a host sync) fails with CUDA's error, the graph stays empty and captures again; a
 * capture ended on another thread, and nested captures, are refused. */
#define _POSIX_C_SOURCE 200809L
#include "train_common.h"

#include <pthread.h>

static const ltc_device GPU0 = {LTC_DEVICE_CUDA, 0};
enum { WARM = 3, REPLAYS = 5, BATCH = 64 };

/* One step whose tensors a capture keeps: forward, MSE, backward, with a group the gradients' average, SGD.
 * The loss's handle goes to *loss (the caller frees it). */
static ltc_status step(ltc_module *lin, ltc_optimizer *opt, ltc_dist *dist, const ltc_tensor_list *params,
                       const ltc_tensor *x, const ltc_tensor *y, ltc_tensor **loss) {
    ltc_tensor *pred = NULL;
    ltc_status st = ltc_module_forward(&pred, lin, x);
    if (st == LTC_OK)
        st = ltc_mse_loss(loss, pred, y);
    if (st == LTC_OK)
        st = ltc_tensor_backward(*loss);
    if (st == LTC_OK && dist)
        st = ltc_dist_average_gradients(dist, params);
    if (st == LTC_OK)
        st = ltc_optimizer_step(opt);
    ltc_tensor_free(pred);
    return st;
}

/* The weight and bias after WARM + REPLAYS steps, eagerly (graph 0) or WARM eager steps then a captured one
 * replayed (graph 1); the last step on x2 (copied into the capture's x before the last replay). Fills w, b
 * and *last_loss; 0 on an error. */
static int train(int graph, ltc_dist *dist, int bias, double momentum, const ltc_tensor *x, const ltc_tensor *x2,
                 const ltc_tensor *y, float w[REG_OUT][REG_IN], float b[REG_OUT], double *last_loss) {
    mh_linear lin = {0};
    ltc_optimizer *opt = NULL;
    ltc_tensor *loss = NULL, *xs = NULL;
    ltc_cuda_graph *g = NULL;
    int64_t shape[2] = {BATCH, REG_IN};
    int ok = 0;
    ltc_manual_seed(9);
    if (!mh_linear_new(&lin, REG_IN, REG_OUT, bias, NULL, NULL, GPU0) || reg_sgd_new(&opt, &lin, 0.05, momentum) != LTC_OK ||
        ltc_tensor_empty(&xs, shape, 2, LTC_FLOAT32, GPU0, 0) != LTC_OK || ltc_tensor_copy(xs, x, 0) != LTC_OK)
        goto done;
    for (int s = 0; s < WARM + (graph ? 0 : REPLAYS); s++) {
        if (!graph && s == WARM + REPLAYS - 1 && ltc_tensor_copy(xs, x2, 0) != LTC_OK)
            goto done;
        ltc_tensor_free(loss);
        loss = NULL;
        if (ltc_optimizer_zero_grad(opt) != LTC_OK || step(lin.module, opt, dist, lin.params, xs, y, &loss) != LTC_OK)
            goto done;
    }
    if (graph) {
        ltc_tensor_free(loss);
        loss = NULL;
        /* the gradients dropped: the captured backward makes them in the graph's memory */
        if (ltc_optimizer_zero_grad(opt) != LTC_OK || ltc_cuda_graph_new(&g, GPU0) != LTC_OK ||
            ltc_cuda_graph_capture_begin(g) != LTC_OK || step(lin.module, opt, dist, lin.params, xs, y, &loss) != LTC_OK ||
            ltc_cuda_graph_capture_end(g) != LTC_OK)
            goto done;
        for (int s = 0; s < REPLAYS; s++) {
            if (s == REPLAYS - 1 && ltc_tensor_copy(xs, x2, 0) != LTC_OK)
                goto done;
            if (ltc_cuda_graph_replay(g) != LTC_OK)
                goto done;
        }
    }
    ok = ltc_tensor_item(last_loss, loss) == LTC_OK &&
         ltc_tensor_copy_to_host(w, sizeof(float) * REG_OUT * REG_IN, lin.w) == LTC_OK &&
         (!bias || ltc_tensor_copy_to_host(b, sizeof(float) * REG_OUT, lin.b) == LTC_OK);
done:
    if (!ok)
        fprintf(stderr, "train(%s): %s\n", graph ? "graph" : "eager", ltc_last_error());
    ltc_cuda_graph_free(g);
    TH_FREE_TENSORS(loss, xs);
    ltc_optimizer_free(opt);
    mh_linear_free(&lin);
    return ok;
}

static void graph_vs_eager(ltc_dist *dist, int bias, double momentum) {
    int64_t xshape[2] = {BATCH, REG_IN}, yshape[2] = {BATCH, REG_OUT};
    ltc_tensor *x = NULL, *x2 = NULL, *y = NULL;
    CHECK_OK(ltc_tensor_randn(&x, xshape, 2, LTC_FLOAT32, GPU0, 31));
    CHECK_OK(ltc_tensor_randn(&x2, xshape, 2, LTC_FLOAT32, GPU0, 33));
    CHECK_OK(ltc_tensor_randn(&y, yshape, 2, LTC_FLOAT32, GPU0, 32));
    float w[2][REG_OUT][REG_IN], b[2][REG_OUT];
    double loss[2] = {-1, -2};
    memset(b, 0, sizeof b);
    int ok = train(0, dist, bias, momentum, x, x2, y, w[0], b[0], &loss[0]) &&
             train(1, dist, bias, momentum, x, x2, y, w[1], b[1], &loss[1]);
    double d = 0;
    for (int o = 0; o < REG_OUT; o++) {
        d = fmax(d, fabs(b[0][o] - b[1][o]));
        for (int i = 0; i < REG_IN; i++)
            d = fmax(d, fabs(w[0][o][i] - w[1][o][i]));
    }
    char what[256];
    snprintf(what, sizeof what,
             "%d replays of a captured step take the eager steps bit for bit (%s bias, momentum %g%s): max |difference| "
             "%.1e, last loss %.9g vs %.9g",
             REPLAYS, bias ? "with" : "no", momentum, dist ? ", the gradients averaged over NCCL inside the graph" : "", d,
             loss[1], loss[0]);
    CHECK(what, ok && memcmp(w[0], w[1], sizeof w[0]) == 0 && memcmp(b[0], b[1], sizeof b[0]) == 0 && loss[0] == loss[1]);
    TH_FREE_TENSORS(x, x2, y);
}

/* ---------------------------------------------------------------------------------------------- */
/* What a capture does, and what it refuses                                                         */
/* ---------------------------------------------------------------------------------------------- */

/* A copy captured: recorded, not run; each replay runs it. */
static void test_records_not_runs(void) {
    int64_t shape[1] = {4};
    ltc_tensor *src = NULL, *dst = NULL;
    ltc_cuda_graph *g = NULL;
    float h[4];
    CHECK_OK(ltc_tensor_ones(&src, shape, 1, LTC_FLOAT32, GPU0));
    CHECK_OK(ltc_tensor_zeros(&dst, shape, 1, LTC_FLOAT32, GPU0));
    CHECK_OK(ltc_cuda_graph_new(&g, (ltc_device){LTC_DEVICE_CUDA, -1}));
    CHECK_OK(ltc_cuda_graph_capture_begin(g));
    CHECK_OK(ltc_tensor_copy(dst, src, 1)); /* queued: a blocking copy waits for the GPU, which a capture cannot */
    CHECK_OK(ltc_cuda_graph_capture_end(g));
    CHECK_OK(ltc_tensor_copy_to_host(h, sizeof h, dst));
    CHECK("the capture recorded the copy without running it", h[0] == 0 && h[3] == 0);
    CHECK_OK(ltc_cuda_graph_replay(g));
    CHECK_OK(ltc_tensor_copy_to_host(h, sizeof h, dst));
    CHECK("a replay runs it", h[0] == 1 && h[3] == 1);
    CHECK_FAILS(ltc_cuda_graph_capture_begin(g), LTC_ERR_INVALID_ARGUMENT, "the graph holds a capture already");
    ltc_cuda_graph_free(g);
    TH_FREE_TENSORS(src, dst);
}

/* A host sync inside the capture: the call fails, the capture fails with CUDA's error, the graph stays
 * empty, and captures again. */
static void test_illegal_capture(void) {
    int64_t shape[1] = {4};
    ltc_tensor *src = NULL, *dst = NULL, *one = NULL;
    ltc_cuda_graph *g = NULL;
    double v = 0;
    CHECK_OK(ltc_tensor_ones(&src, shape, 1, LTC_FLOAT32, GPU0));
    CHECK_OK(ltc_tensor_zeros(&dst, shape, 1, LTC_FLOAT32, GPU0));
    int64_t one_shape[1] = {1};
    CHECK_OK(ltc_tensor_ones(&one, one_shape, 1, LTC_FLOAT32, GPU0));
    CHECK_OK(ltc_cuda_graph_new(&g, GPU0));
    CHECK_OK(ltc_cuda_graph_capture_begin(g));
    ltc_status st = ltc_tensor_item(&v, one); /* a copy to the host and a sync: not capturable */
    CHECK("a host sync inside a capture fails", st != LTC_OK);
    printf("ltc_tensor_item inside the capture: %s: %s\n", ltc_status_string(st), ltc_last_error());
    CHECK_FAILS(ltc_cuda_graph_capture_end(g), LTC_ERR_DEVICE, "ltc_cuda_graph_capture_end: the capture failed: ");
    printf("capture_end: %s\n", ltc_last_error());
    CHECK("... naming what cannot be captured", strstr(ltc_last_error(), "the graph stays empty") != NULL);
    CHECK_FAILS(ltc_cuda_graph_replay(g), LTC_ERR_INVALID_ARGUMENT, "the graph holds no capture: capture a step first");
    /* CUDA goes on, and the graph captures again */
    CHECK_OK(ltc_tensor_item(&v, one));
    CHECK("a host sync works again after the failed capture", v == 1);
    CHECK_OK(ltc_cuda_graph_capture_begin(g));
    CHECK_OK(ltc_tensor_copy(dst, src, 1)); /* queued: a blocking copy waits for the GPU, which a capture cannot */
    CHECK_OK(ltc_cuda_graph_capture_end(g));
    CHECK_OK(ltc_cuda_graph_replay(g));
    float h[4];
    CHECK_OK(ltc_tensor_copy_to_host(h, sizeof h, dst));
    CHECK("the graph, captured again, replays", h[0] == 1 && h[3] == 1);
    ltc_cuda_graph_free(g);
    TH_FREE_TENSORS(src, dst, one);
}

typedef struct end_job {
    ltc_cuda_graph *g;
    ltc_status st;
    char msg[512];
} end_job;

static void *end_elsewhere(void *arg) {
    end_job *j = arg;
    j->st = ltc_cuda_graph_capture_end(j->g);
    snprintf(j->msg, sizeof j->msg, "%s", ltc_last_error());
    return NULL;
}

static void test_refusals(void) {
    ltc_cuda_graph *g = NULL, *h = NULL;
    CHECK_OK(ltc_cuda_graph_new(&g, GPU0));
    CHECK_OK(ltc_cuda_graph_new(&h, GPU0));
    CHECK_FAILS(ltc_cuda_graph_capture_end(g), LTC_ERR_INVALID_ARGUMENT, "the graph is not capturing");
    CHECK_FAILS(ltc_cuda_graph_replay(g), LTC_ERR_INVALID_ARGUMENT, "the graph holds no capture");
    CHECK_OK(ltc_cuda_graph_capture_begin(g));
    CHECK_FAILS(ltc_cuda_graph_capture_begin(g), LTC_ERR_INVALID_ARGUMENT, "the graph is capturing already");
    CHECK_FAILS(ltc_cuda_graph_capture_begin(h), LTC_ERR_INVALID_ARGUMENT,
                "another graph is capturing on this thread: captures do not nest");
    CHECK_FAILS(ltc_cuda_graph_replay(g), LTC_ERR_INVALID_ARGUMENT, "the graph holds no capture yet (it is capturing)");
    end_job j = {g, LTC_OK, ""};
    pthread_t t;
    pthread_create(&t, NULL, end_elsewhere, &j);
    pthread_join(t, NULL);
    th_report(j.st == LTC_ERR_INVALID_ARGUMENT && strstr(j.msg, "the capture began on another thread: end it on the thread that began it"),
              __FILE__, __LINE__, "a capture ended on another thread is refused", j.msg);
    CHECK_OK(ltc_cuda_graph_capture_end(g));
    ltc_cuda_graph_free(g);
    /* freed while capturing: the capture is ended and dropped, the thread's stream restored */
    CHECK_OK(ltc_cuda_graph_capture_begin(h));
    ltc_cuda_graph_free(h);
    double v = 0;
    ltc_tensor *one = NULL;
    int64_t shape[1] = {1};
    CHECK_OK(ltc_tensor_ones(&one, shape, 1, LTC_FLOAT32, GPU0));
    CHECK_OK(ltc_tensor_item(&v, one));
    CHECK("after a graph freed while capturing, the thread syncs again (its stream is not capturing)", v == 1);
    ltc_tensor_free(one);
}

int main(void) {
    (void)reg_train;
    (void)sgd_against_formula;
    (void)grad_vs_formula;
    (void)param_error;
    th_require_gpu();
    ltc_log_level_init(LTC_LOG_ERROR);
    graph_vs_eager(NULL, 1, 0.9);
    graph_vs_eager(NULL, 0, 0.9);
    graph_vs_eager(NULL, 1, 0);
    /* the gradients' average inside the graph: a group of one over NCCL */
    ltc_dist_env env;
    const char *none[] = {NULL};
    ltc_dist *d = NULL;
    CHECK_OK(ltc_dist_env_from(&env, none));
    CHECK_OK(ltc_dist_init(&d, &env, GPU0, 60));
    if (d) {
        graph_vs_eager(d, 1, 0.9);
        graph_vs_eager(d, 0, 0);
        CHECK_OK(ltc_dist_barrier(d)); /* the group works after its all-reduce ran in graphs */
    }
    ltc_dist_free(d);
    test_records_not_runs();
    test_illegal_capture();
    test_refusals();
    return th_finish();
}
