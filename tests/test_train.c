/* Training blocks on the CPU, through the general API (a Linear module, ltc_mse_loss, autograd,
 * ltc_optimizer_sgd_new): Linear forward, MSE, gradients and SGD checked against hand-computed values; a
 * regression that converges to its known solution; the error paths of forward, loss and backward. */
#include "train_common.h"

static const ltc_device CPU = {LTC_DEVICE_CPU, 0};

/* Linear(3,2) with fixed parameters on 2 samples: forward, loss, gradients, one SGD step. */
static void test_against_hand_computation(void) {
    const float W[2][3] = {{0.1f, -0.2f, 0.3f}, {0.5f, 0.4f, -0.6f}}, B[2] = {0.05f, -0.1f};
    const float X[2][3] = {{1, 2, 3}, {-1, 0.5f, 2}}, Y[2][2] = {{1, 0}, {0, 1}};
    int64_t xs[2] = {2, 3}, ys[2] = {2, 2};
    mh_linear lin = {0};
    ltc_tensor *x = NULL, *y = NULL, *pred = NULL, *loss = NULL, *gw = NULL, *gb = NULL, *kept = NULL;
    ltc_tensor_list *opt_params = NULL;
    ltc_optimizer *opt = NULL;
    CHECK("Linear(3, 2) with the parameters above", mh_linear_new(&lin, 3, 2, 1, &W[0][0], B, CPU));
    CHECK_OK(ltc_tensor_from_data(&x, X, xs, 2, LTC_FLOAT32, CPU));
    CHECK_OK(ltc_tensor_from_data(&y, Y, ys, 2, LTC_FLOAT32, CPU));
    CHECK_OK(ltc_module_forward(&pred, lin.module, x));
    CHECK("output shape", ltc_tensor_ndim(pred) == 2 && ltc_tensor_size(pred, 0) == 2 && ltc_tensor_size(pred, 1) == 2);

    double p[2][2], d[2][2], want_loss = 0, gW[2][3] = {{0}}, gB[2] = {0};
    for (int n = 0; n < 2; n++)
        for (int o = 0; o < 2; o++) {
            p[n][o] = B[o];
            for (int i = 0; i < 3; i++)
                p[n][o] += (double)X[n][i] * W[o][i];
            d[n][o] = p[n][o] - Y[n][o];
            want_loss += d[n][o] * d[n][o] / 4;
        }
    for (int n = 0; n < 2; n++)
        for (int o = 0; o < 2; o++) {
            gB[o] += 2 * d[n][o] / 4;
            for (int i = 0; i < 3; i++)
                gW[o][i] += 2 * d[n][o] * X[n][i] / 4;
        }
    float got[2][2];
    CHECK_OK(ltc_tensor_copy_to_host(got, sizeof got, pred));
    int close = 1;
    for (int n = 0; n < 2; n++)
        for (int o = 0; o < 2; o++)
            close &= fabs(got[n][o] - p[n][o]) < 1e-5;
    CHECK("forward = x W^T + b", close);

    CHECK_OK(ltc_mse_loss(&loss, pred, y));
    double l = 0;
    CHECK_OK(ltc_tensor_item(&l, loss));
    CHECK("mse = mean of squares", fabs(l - want_loss) < 1e-5);

    CHECK_FAILS(ltc_tensor_grad(&gw, lin.w), LTC_ERR_INVALID_ARGUMENT, "has no gradient yet");
    CHECK_OK(ltc_tensor_backward(loss));
    CHECK_OK(ltc_tensor_grad(&gw, lin.w));
    CHECK_OK(ltc_tensor_grad(&gb, lin.b));
    float gwv[2][3], gbv[2];
    CHECK_OK(ltc_tensor_copy_to_host(gwv, sizeof gwv, gw));
    CHECK_OK(ltc_tensor_copy_to_host(gbv, sizeof gbv, gb));
    close = 1;
    for (int o = 0; o < 2; o++) {
        close &= fabs(gbv[o] - gB[o]) < 1e-5;
        for (int i = 0; i < 3; i++)
            close &= fabs(gwv[o][i] - gW[o][i]) < 1e-5;
    }
    CHECK("gradients match d(mse)/dW and d(mse)/db", close);
    ltc_tensor_free(gw);
    ltc_tensor_free(gb);

    /* one SGD step (momentum's first step equals plain SGD): w <- w - lr * g */
    CHECK_OK(reg_sgd_new(&opt, &lin, 0.5, 0.9));
    CHECK_OK(ltc_optimizer_step(opt));
    float wv[2][3], bv[2], kv[2][3];
    CHECK_OK(ltc_tensor_copy_to_host(wv, sizeof wv, lin.w)); /* the handle follows the parameter */
    CHECK_OK(ltc_tensor_copy_to_host(bv, sizeof bv, lin.b));
    close = 1;
    for (int o = 0; o < 2; o++) {
        close &= fabs(bv[o] - (B[o] - 0.5 * gB[o])) < 1e-5;
        for (int i = 0; i < 3; i++)
            close &= fabs(wv[o][i] - (W[o][i] - 0.5 * gW[o][i])) < 1e-5;
    }
    CHECK("sgd step", close);
    CHECK_OK(ltc_optimizer_zero_grad(opt));
    CHECK_FAILS(ltc_tensor_grad(&gw, lin.w), LTC_ERR_INVALID_ARGUMENT, "has no gradient yet");

    /* the optimizer keeps the parameters alive after the module and every other handle are freed */
    mh_linear_free(&lin);
    CHECK_OK(ltc_optimizer_zero_grad(opt));
    CHECK_OK(ltc_optimizer_parameters(&opt_params, opt));
    CHECK_OK(ltc_tensor_list_get(&kept, NULL, opt_params, 0));
    CHECK_OK(ltc_tensor_copy_to_host(kv, sizeof kv, kept));
    CHECK("the optimizer still holds the stepped weight", memcmp(kv, wv, sizeof kv) == 0);
    ltc_tensor_list_free(opt_params);
    ltc_optimizer_free(opt);
    TH_FREE_TENSORS(x, y, pred, loss, kept);
}

static void test_regression_converges(void) {
    double err = reg_train(CPU, 300, 0.1, 0.9);
    printf("cpu regression: max |learned - true| = %.2e\n", err);
    CHECK("regression ran", err >= 0);
    CHECK("regression converges to W and b within 1e-4", err >= 0 && err < 1e-4);
}

/* Both CPU updates: the fused call with one intra-op thread, the per-tensor ops with several (the
 * thread setting is restored afterwards). */
static void test_sgd_formula(void) {
    const int saved = ltc_num_threads_get();
    for (int threads = 1; threads <= 2; threads++) {
        CHECK_OK(ltc_num_threads_set(threads));
        for (int k = 0; k < 2; k++) {
            double m = k ? 0.9 : 0, e = sgd_against_formula(CPU, 0.3, m);
            char what[128];
            snprintf(what, sizeof what, "%d thread%s: 3 SGD steps with momentum %g match m = momentum m + g, p -= lr m (err %.1e)",
                     threads, threads == 1 ? "" : "s", m, e);
            CHECK(what, e >= 0 && e < 1e-5);
        }
    }
    CHECK_OK(ltc_num_threads_set(saved));
}

/* ltc_tensor_backward is LibTorch's autograd: the gradients of the formula, a second backward through one
 * graph fails, gradients accumulate, an input written in place is refused. */
static void test_backward(void) {
    for (int64_t n = 64; n <= 4096; n *= 64) {
        double d = grad_vs_formula(CPU, n);
        char what[160];
        snprintf(what, sizeof what, "batch %lld: autograd's gradients equal the formula's (max rel. difference %.1e)", (long long)n, d);
        CHECK(what, d >= 0 && d < 1e-5);
    }
    int64_t xs[2] = {16, REG_IN}, ys[2] = {16, REG_OUT};
    float g1[REG_OUT * REG_IN], g2[REG_OUT * REG_IN];
    mh_linear lin = {0};
    ltc_tensor *x = NULL, *y = NULL, *z = NULL, *p = NULL, *l = NULL, *l2 = NULL, *g = NULL;
    ltc_manual_seed(21);
    CHECK("Linear(REG_IN, REG_OUT)", mh_linear_new(&lin, REG_IN, REG_OUT, 1, NULL, NULL, CPU));
    ltc_tensor *const w = lin.w;
    CHECK_OK(ltc_tensor_randn(&x, xs, 2, LTC_FLOAT32, CPU, 11));
    CHECK_OK(ltc_tensor_randn(&y, ys, 2, LTC_FLOAT32, CPU, 12));
    CHECK_OK(ltc_tensor_zeros(&z, xs, 2, LTC_FLOAT32, CPU));
    /* one backward, then a second through the same graph, then one more loss of the same output */
    CHECK_OK(ltc_module_forward(&p, lin.module, x));
    CHECK_OK(ltc_mse_loss(&l, p, y));
    CHECK_OK(ltc_mse_loss(&l2, p, y));
    CHECK_OK(ltc_tensor_backward(l));
    CHECK_OK(ltc_tensor_grad(&g, w));
    CHECK_OK(ltc_tensor_copy_to_host(g1, sizeof g1, g));
    ltc_tensor_free(g);
    g = NULL;
    th_report(ltc_tensor_backward(l) == LTC_ERR_TORCH && strstr(ltc_last_error(), "backward through the graph a second time"),
              __FILE__, __LINE__, "a second backward through one graph fails as in LibTorch", ltc_last_error());
    th_report(ltc_tensor_backward(l2) == LTC_ERR_TORCH && strstr(ltc_last_error(), "backward through the graph a second time"),
              __FILE__, __LINE__, "so does another loss of the same output", ltc_last_error());
    ltc_tensor_free(p);
    ltc_tensor_free(l);
    ltc_tensor_free(l2);
    /* without zero_grad a new graph's gradients add up: twice the same batch, twice the gradient */
    CHECK_OK(ltc_module_forward(&p, lin.module, x));
    CHECK_OK(ltc_mse_loss(&l, p, y));
    CHECK_OK(ltc_tensor_backward(l));
    CHECK_OK(ltc_tensor_grad(&g, w));
    CHECK_OK(ltc_tensor_copy_to_host(g2, sizeof g2, g));
    double worst = 0;
    for (int i = 0; i < REG_OUT * REG_IN; i++)
        worst = fmax(worst, fabs(g2[i] - 2 * g1[i]));
    char what[160];
    snprintf(what, sizeof what, "gradients accumulate (err %.1e)", worst);
    CHECK(what, worst < 1e-6);
    ltc_tensor_free(p);
    ltc_tensor_free(l);
    /* the input written in place between forward and backward: refused as in LibTorch */
    CHECK_OK(ltc_module_forward(&p, lin.module, x));
    CHECK_OK(ltc_mse_loss(&l, p, y));
    CHECK_OK(ltc_tensor_copy(x, z, 0));
    th_report(ltc_tensor_backward(l) == LTC_ERR_TORCH && strstr(ltc_last_error(), "modified by an inplace operation"),
              __FILE__, __LINE__, "an input written after the forward is refused", ltc_last_error());
    TH_FREE_TENSORS(p, l, g, x, y, z);
    mh_linear_free(&lin);
}

static void test_seed_repeats(void) {
    mh_linear a = {0}, b = {0};
    ltc_manual_seed(5);
    CHECK("Linear(4, 3) without bias", mh_linear_new(&a, 4, 3, 0, NULL, NULL, CPU));
    ltc_manual_seed(5);
    CHECK("another", mh_linear_new(&b, 4, 3, 0, NULL, NULL, CPU));
    CHECK("no bias: the weight is its only parameter", ltc_tensor_list_count(a.params) == 1 && a.b == NULL);
    float va[12] = {0}, vb[12] = {1};
    CHECK_OK(ltc_tensor_copy_to_host(va, sizeof va, a.w));
    CHECK_OK(ltc_tensor_copy_to_host(vb, sizeof vb, b.w));
    CHECK("same seed, same initial weights", memcmp(va, vb, sizeof va) == 0);
    mh_linear_free(&a);
    mh_linear_free(&b);
}

/* What forward, the loss and backward refuse, naming the bad value. */
static void test_bad_arguments(void) {
    mh_linear lin = {0};
    CHECK("Linear(100, 10)", mh_linear_new(&lin, 100, 10, 1, NULL, NULL, CPU));
    int64_t s_bad[2] = {8, 99}, s_ok[2] = {8, 100}, s_y[2] = {8, 10}, s_y2[2] = {8, 9};
    ltc_tensor *xb = NULL, *xd = NULL, *x = NULL, *y = NULL, *y2 = NULL, *yi = NULL, *out = NULL;
    CHECK_OK(ltc_tensor_zeros(&xb, s_bad, 2, LTC_FLOAT32, CPU));
    CHECK_OK(ltc_tensor_zeros(&xd, s_ok, 2, LTC_FLOAT64, CPU));
    CHECK_OK(ltc_tensor_zeros(&x, s_ok, 2, LTC_FLOAT32, CPU));
    CHECK_OK(ltc_tensor_zeros(&y, s_y, 2, LTC_FLOAT32, CPU));
    CHECK_OK(ltc_tensor_zeros(&y2, s_y2, 2, LTC_FLOAT32, CPU));
    CHECK_OK(ltc_tensor_zeros(&yi, s_y, 2, LTC_INT64, CPU));
    CHECK_FAILS(ltc_module_forward(&out, lin.module, xb), LTC_ERR_INVALID_ARGUMENT,
                "Linear(100, 10) gets an input of shape [8, 99]: it takes [..., 100]");
    CHECK_FAILS(ltc_module_forward(&out, lin.module, xd), LTC_ERR_INVALID_ARGUMENT,
                "Linear(100, 10) gets a float64 input, but its weight is float32: pass float32");
    CHECK_FAILS(ltc_module_forward(&out, NULL, x), LTC_ERR_INVALID_ARGUMENT, "'module' is NULL");
    CHECK_FAILS(ltc_module_forward(&out, lin.module, NULL), LTC_ERR_INVALID_ARGUMENT, "'x' is NULL");
    CHECK("a refused forward leaves *out NULL", out == NULL);
    CHECK_OK(ltc_module_forward(&out, lin.module, x));
    ltc_tensor *loss = NULL;
    CHECK_FAILS(ltc_mse_loss(&loss, out, y2), LTC_ERR_INVALID_ARGUMENT, "input shape [8, 10] and target shape [8, 9] differ");
    CHECK_FAILS(ltc_mse_loss(&loss, out, yi), LTC_ERR_INVALID_ARGUMENT, "input dtype Float and target dtype Long");
    CHECK_FAILS(ltc_mse_loss(&loss, NULL, y), LTC_ERR_INVALID_ARGUMENT, "'input' is NULL");
    CHECK_FAILS(ltc_tensor_backward(out), LTC_ERR_INVALID_ARGUMENT, "80 elements (shape [8, 10]); backward needs a one-element loss");
    int n = 0;
    CHECK_OK(ltc_cuda_device_count(&n));
    if (n == 0)
        CHECK_FAILS(ltc_module_to(lin.module, (ltc_device){LTC_DEVICE_CUDA, 0}), LTC_ERR_CUDA_UNAVAILABLE, "cuda:0 requested");
    else
        SKIP("moving to cuda:0 without a GPU is refused", "%d CUDA device(s) here", n);
    TH_FREE_TENSORS(xb, xd, x, y, y2, yi, out);
    mh_linear_free(&lin);
}

int main(void) {
    test_against_hand_computation();
    test_regression_converges();
    test_sgd_formula();
    test_backward();
    test_seed_repeats();
    test_bad_arguments();
    return th_finish();
}
