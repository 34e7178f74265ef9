/* A small regression with a known answer, shared by the CPU and GPU training tests:
 * y = x W^T + b with W, b fixed below; a Linear(IN, OUT) module (mlp_helper.h's mh_linear) trained by SGD
 * (ltc_optimizer_sgd_new) must find them. */
#ifndef LTC_TEST_TRAIN_COMMON_H
#define LTC_TEST_TRAIN_COMMON_H

#include "mlp_helper.h"

#include <math.h>

#define REG_IN 5
#define REG_OUT 2
#define REG_N 256

static const float REG_W[REG_OUT][REG_IN] = {{0.5f, -1.0f, 2.0f, 0.0f, 0.25f}, {-0.75f, 1.5f, 0.0f, 1.0f, -2.0f}};
static const float REG_B[REG_OUT] = {0.3f, -0.7f};

/* SGD (torch.optim.SGD's update) with lr and momentum over m's parameters. */
static inline ltc_status reg_sgd_new(ltc_optimizer **opt, const mh_linear *m, double lr, double momentum) {
    ltc_sgd_options o = LTC_SGD_OPTIONS_INIT;
    o.lr = lr;
    o.momentum = momentum;
    return ltc_optimizer_sgd_new(opt, m->params, &o);
}

/* One eager step: zero_grad, forward, MSE, backward, SGD. LTC_OK, or the first failing call's status. */
static ltc_status train_step(ltc_module *lin, ltc_optimizer *opt, const ltc_tensor *x, const ltc_tensor *y) {
    ltc_tensor *pred = NULL, *loss = NULL;
    ltc_status st = ltc_optimizer_zero_grad(opt);
    if (st == LTC_OK)
        st = ltc_module_forward(&pred, lin, x);
    if (st == LTC_OK)
        st = ltc_mse_loss(&loss, pred, y);
    if (st == LTC_OK)
        st = ltc_tensor_backward(loss);
    if (st == LTC_OK)
        st = ltc_optimizer_step(opt);
    ltc_tensor_free(pred);
    ltc_tensor_free(loss);
    return st;
}

/* The largest |learned - want| over m's weight and bias, or -1 on an ltc error. */
static double param_error(const mh_linear *m, const double want_w[REG_OUT][REG_IN], const double want_b[REG_OUT]) {
    float wl[REG_OUT][REG_IN], bl[REG_OUT];
    double err = -1;
    if (ltc_tensor_copy_to_host(wl, sizeof wl, m->w) == LTC_OK && ltc_tensor_copy_to_host(bl, sizeof bl, m->b) == LTC_OK) {
        err = 0;
        for (int o = 0; o < REG_OUT; o++) {
            err = fmax(err, fabs(bl[o] - want_b[o]));
            for (int i = 0; i < REG_IN; i++)
                err = fmax(err, fabs(wl[o][i] - want_w[o][i]));
        }
    }
    return err;
}

/* Trains on `device`; returns the largest |learned - true| over W and b, or -1 on an ltc error. */
static double reg_train(ltc_device device, int steps, double lr, double momentum) {
    int64_t xs[2] = {REG_N, REG_IN}, ys[2] = {REG_N, REG_OUT};
    static float x[REG_N][REG_IN], y[REG_N][REG_OUT];
    ltc_tensor *xt_cpu = NULL, *xt = NULL, *yt = NULL;
    mh_linear lin = {0};
    ltc_optimizer *opt = NULL;
    double err = -1;

    if (ltc_tensor_randn(&xt_cpu, xs, 2, LTC_FLOAT32, (ltc_device){LTC_DEVICE_CPU, 0}, 1234) != LTC_OK ||
        ltc_tensor_copy_to_host(x, sizeof x, xt_cpu) != LTC_OK)
        goto done;
    for (int n = 0; n < REG_N; n++)
        for (int o = 0; o < REG_OUT; o++) {
            double acc = REG_B[o];
            for (int i = 0; i < REG_IN; i++)
                acc += (double)x[n][i] * REG_W[o][i];
            y[n][o] = (float)acc;
        }
    ltc_manual_seed(42);
    if (ltc_tensor_to(&xt, xt_cpu, device, 0) != LTC_OK ||
        ltc_tensor_from_data(&yt, y, ys, 2, LTC_FLOAT32, device) != LTC_OK ||
        !mh_linear_new(&lin, REG_IN, REG_OUT, 1, NULL, NULL, device) || reg_sgd_new(&opt, &lin, lr, momentum) != LTC_OK)
        goto done;
    for (int s = 0; s < steps; s++)
        if (train_step(lin.module, opt, xt, yt) != LTC_OK)
            goto done;
    double want_w[REG_OUT][REG_IN], want_b[REG_OUT];
    for (int o = 0; o < REG_OUT; o++) {
        want_b[o] = REG_B[o];
        for (int i = 0; i < REG_IN; i++)
            want_w[o][i] = REG_W[o][i];
    }
    err = param_error(&lin, want_w, want_b);
done:
    ltc_tensor_free(xt_cpu);
    ltc_tensor_free(xt);
    ltc_tensor_free(yt);
    ltc_optimizer_free(opt);
    mh_linear_free(&lin);
    return err;
}

/* Three SGD steps of Linear(REG_IN, REG_OUT) from fixed parameters on 8 fixed samples, on `device`,
 * against the update computed here in double, torch::optim::SGD's: m = momentum m + g (m = g on the
 * first step), p -= lr m. Returns the largest |ltc - reference| over W and b, or -1 on an ltc error. */
static double sgd_against_formula(ltc_device device, double lr, double momentum) {
    enum { N = 8, STEPS = 3 };
    float x[N][REG_IN], y[N][REG_OUT], w0[REG_OUT][REG_IN], b0[REG_OUT];
    double W[REG_OUT][REG_IN], B[REG_OUT], mW[REG_OUT][REG_IN], mB[REG_OUT];
    int64_t xs[2] = {N, REG_IN}, ys[2] = {N, REG_OUT};
    for (int n = 0; n < N; n++) {
        for (int i = 0; i < REG_IN; i++)
            x[n][i] = (float)sin(1.0 + n * REG_IN + i);
        for (int o = 0; o < REG_OUT; o++)
            y[n][o] = (float)cos(n + 3.0 * o);
    }
    for (int o = 0; o < REG_OUT; o++) {
        B[o] = b0[o] = 0.2f * (float)o - 0.1f;
        for (int i = 0; i < REG_IN; i++)
            W[o][i] = w0[o][i] = 0.1f * (float)(o - i);
    }
    mh_linear lin = {0};
    ltc_optimizer *opt = NULL;
    ltc_tensor *xt = NULL, *yt = NULL;
    double err = -1;
    if (!mh_linear_new(&lin, REG_IN, REG_OUT, 1, &w0[0][0], b0, device) || reg_sgd_new(&opt, &lin, lr, momentum) != LTC_OK ||
        ltc_tensor_from_data(&xt, x, xs, 2, LTC_FLOAT32, device) != LTC_OK ||
        ltc_tensor_from_data(&yt, y, ys, 2, LTC_FLOAT32, device) != LTC_OK)
        goto done;
    for (int s = 0; s < STEPS; s++) {
        if (train_step(lin.module, opt, xt, yt) != LTC_OK)
            goto done;
        double gW[REG_OUT][REG_IN] = {{0}}, gB[REG_OUT] = {0};
        for (int n = 0; n < N; n++)
            for (int o = 0; o < REG_OUT; o++) {
                double d = B[o] - y[n][o];
                for (int i = 0; i < REG_IN; i++)
                    d += W[o][i] * x[n][i];
                d *= 2.0 / (N * REG_OUT);
                gB[o] += d;
                for (int i = 0; i < REG_IN; i++)
                    gW[o][i] += d * x[n][i];
            }
        for (int o = 0; o < REG_OUT; o++) {
            mB[o] = s == 0 ? gB[o] : momentum * mB[o] + gB[o];
            B[o] -= lr * mB[o];
            for (int i = 0; i < REG_IN; i++) {
                mW[o][i] = s == 0 ? gW[o][i] : momentum * mW[o][i] + gW[o][i];
                W[o][i] -= lr * mW[o][i];
            }
        }
    }
    err = param_error(&lin, W, B);
done:
    ltc_tensor_free(xt);
    ltc_tensor_free(yt);
    ltc_optimizer_free(opt);
    mh_linear_free(&lin);
    return err;
}

/* dW and db of mse(Linear(REG_IN, REG_OUT)(x), y) for a batch of `n` on `device`, through ltc_tensor_backward
 * (LibTorch's autograd), against the formula computed here on the host in double: g = 2 (pred - y) / numel,
 * dW = g^T x, db = the sum of g's rows. Returns the largest |difference| relative to max(1, |value|), or -1
 * on an ltc error. */
static double grad_vs_formula(ltc_device device, int64_t n) {
    mh_linear lin = {0};
    ltc_tensor *x = NULL, *y = NULL, *pred = NULL, *loss = NULL, *g = NULL, *h = NULL;
    int64_t xs[2] = {n, REG_IN}, ys[2] = {n, REG_OUT};
    float *hx = malloc((size_t)n * REG_IN * sizeof *hx), *hy = malloc((size_t)n * REG_OUT * sizeof *hy);
    float *hp = malloc((size_t)n * REG_OUT * sizeof *hp), gw[REG_OUT * REG_IN], gb[REG_OUT];
    double d = -1;
    ltc_manual_seed(3);
    int bad = !hx || !hy || !hp || !mh_linear_new(&lin, REG_IN, REG_OUT, 1, NULL, NULL, device) ||
              ltc_tensor_randn(&x, xs, 2, LTC_FLOAT32, device, 5) != LTC_OK ||
              ltc_tensor_randn(&y, ys, 2, LTC_FLOAT32, device, 6) != LTC_OK || ltc_module_forward(&pred, lin.module, x) != LTC_OK ||
              ltc_mse_loss(&loss, pred, y) != LTC_OK || ltc_tensor_backward(loss) != LTC_OK ||
              ltc_tensor_grad(&g, lin.w) != LTC_OK || ltc_tensor_grad(&h, lin.b) != LTC_OK ||
              ltc_tensor_copy_to_host(gw, sizeof gw, g) != LTC_OK || ltc_tensor_copy_to_host(gb, sizeof gb, h) != LTC_OK ||
              ltc_tensor_copy_to_host(hx, (size_t)n * REG_IN * sizeof *hx, x) != LTC_OK ||
              ltc_tensor_copy_to_host(hy, (size_t)n * REG_OUT * sizeof *hy, y) != LTC_OK ||
              ltc_tensor_copy_to_host(hp, (size_t)n * REG_OUT * sizeof *hp, pred) != LTC_OK;
    if (!bad) {
        d = 0;
        const double scale = 2.0 / ((double)n * REG_OUT);
        for (int o = 0; o < REG_OUT; o++) {
            double db = 0, dw[REG_IN] = {0};
            for (int64_t r = 0; r < n; r++) {
                double gr = scale * ((double)hp[r * REG_OUT + o] - hy[r * REG_OUT + o]);
                db += gr;
                for (int i = 0; i < REG_IN; i++)
                    dw[i] += gr * hx[r * REG_IN + i];
            }
            d = fmax(d, fabs(gb[o] - db) / fmax(1, fabs(db)));
            for (int i = 0; i < REG_IN; i++)
                d = fmax(d, fabs(gw[o * REG_IN + i] - dw[i]) / fmax(1, fabs(dw[i])));
        }
    }
    free(hx);
    free(hy);
    free(hp);
    TH_FREE_TENSORS(x, y, pred, loss, g, h);
    mh_linear_free(&lin);
    return d;
}

#endif
