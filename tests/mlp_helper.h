/* mlp_helper.h: the two-layer MLP the core tests train, Linear(4, 16), ReLU, Linear(16, 3), and its toy
 * data, written only with the general API (with testhelper.h's CHECK_OK).
 *
 *   mh_mlp(seed)                        a new Sequential, its weights drawn after ltc_manual_seed(seed)
 *   mh_data(&x, &y, n, seed, device)    n points of 4 features (randn) and their classes 0..2: the largest of
 *                                       x W for a fixed W [4, 3], so the classes are linearly separable
 *   mh_step(model, opt, x, y)           one training step: zero_grad, forward, cross-entropy, backward, step;
 *                                       returns the loss before the step
 *   mh_accuracy(model, x, y)            the share of points classified right, 0 to 1
 *   mh_tensor_values(t, out, cap)       every element of t (float32 or float64, any device), as doubles into
 *                                       out (cap entries at most); returns how many
 *   mh_values(list, out, cap)           the same for every tensor of list, in order
 *   mh_params_new(model)                the model's parameters (ltc_module_parameters), checked
 *   mh_set_floats(t, v, n)              overwrites a float32 tensor (a parameter, on any device) with n host
 *                                       floats, unseen by autograd; 1 on success, 0 on an error
 *   mh_linear_new(&m, in, out, bias, w0, b0, device) / mh_linear_free(&m)
 *                                       a Linear with its parameter list and handles on its weight and bias,
 *                                       set from w0 and b0 (when not NULL) and moved to device; 1 on
 *                                       success, 0 on an error (these two never CHECK: safe on any thread)
 */
#ifndef LTC_TEST_MLP_HELPER_H
#define LTC_TEST_MLP_HELPER_H

#include "testhelper.h"

#include <math.h>

static inline ltc_module *mh_mlp(uint64_t seed) {
    ltc_module *seq = NULL, *l1 = NULL, *relu = NULL, *l2 = NULL;
    ltc_manual_seed(seed);
    CHECK_OK(ltc_module_sequential_new(&seq));
    CHECK_OK(ltc_module_linear_new(&l1, 4, 16, 1));
    CHECK_OK(ltc_module_relu_new(&relu));
    CHECK_OK(ltc_module_linear_new(&l2, 16, 3, 1));
    CHECK_OK(ltc_module_sequential_append(seq, l1));
    CHECK_OK(ltc_module_sequential_append(seq, relu));
    CHECK_OK(ltc_module_sequential_append(seq, l2));
    ltc_module_free(l1); /* the Sequential shares them */
    ltc_module_free(relu);
    ltc_module_free(l2);
    return seq;
}

static inline void mh_data(ltc_tensor **x, ltc_tensor **y, int64_t n, uint64_t seed, ltc_device device) {
    static const float w[4][3] = {{1, -1, 0}, {0.5f, 1, -1}, {-1, 0, 1}, {0, 0.5f, 0.5f}};
    int64_t shape[2] = {n, 4};
    ltc_tensor *host = NULL, *labels = NULL;
    CHECK_OK(ltc_tensor_randn(&host, shape, 2, LTC_FLOAT32, (ltc_device){LTC_DEVICE_CPU, 0}, seed));
    void *data = NULL;
    CHECK_OK(ltc_tensor_data(&data, host));
    const float *xs = (const float *)data;
    int64_t *cls = (int64_t *)malloc((size_t)n * sizeof *cls);
    for (int64_t i = 0; i < n && xs; i++) {
        double best = -1e300;
        for (int c = 0; c < 3; c++) {
            double v = 0;
            for (int k = 0; k < 4; k++)
                v += xs[i * 4 + k] * w[k][c];
            if (v > best) {
                best = v;
                cls[i] = c;
            }
        }
    }
    CHECK_OK(ltc_tensor_from_data(&labels, cls, &n, 1, LTC_INT64, device));
    CHECK_OK(ltc_tensor_to(x, host, device, 0));
    *y = labels;
    free(cls);
    ltc_tensor_free(host);
}

static inline double mh_step(ltc_module *model, ltc_optimizer *opt, const ltc_tensor *x, const ltc_tensor *y) {
    ltc_tensor *logits = NULL, *loss = NULL;
    double value = NAN;
    CHECK_OK(ltc_optimizer_zero_grad(opt));
    CHECK_OK(ltc_module_forward(&logits, model, x));
    CHECK_OK(ltc_cross_entropy_loss(&loss, logits, y));
    CHECK_OK(ltc_tensor_item(&value, loss));
    CHECK_OK(ltc_tensor_backward(loss));
    CHECK_OK(ltc_optimizer_step(opt));
    TH_FREE_TENSORS(logits, loss);
    return value;
}

static inline double mh_accuracy(ltc_module *model, const ltc_tensor *x, const ltc_tensor *y) {
    ltc_tensor *logits = NULL, *pred = NULL, *pred_host = NULL, *y_host = NULL;
    int prev = 1;
    CHECK_OK(ltc_grad_mode_set(&prev, 0));
    CHECK_OK(ltc_module_forward(&logits, model, x));
    CHECK_OK(ltc_grad_mode_set(NULL, prev));
    CHECK_OK(ltc_tensor_argmax(&pred, logits, 1));
    CHECK_OK(ltc_tensor_to(&pred_host, pred, (ltc_device){LTC_DEVICE_CPU, 0}, 0));
    CHECK_OK(ltc_tensor_to(&y_host, y, (ltc_device){LTC_DEVICE_CPU, 0}, 0));
    void *p = NULL, *t = NULL;
    CHECK_OK(ltc_tensor_data(&p, pred_host));
    CHECK_OK(ltc_tensor_data(&t, y_host));
    int64_t n = ltc_tensor_numel(y), right = 0;
    for (int64_t i = 0; i < n && p && t; i++)
        right += ((const int64_t *)p)[i] == ((const int64_t *)t)[i];
    TH_FREE_TENSORS(logits, pred, pred_host, y_host);
    return n > 0 ? (double)right / (double)n : 0;
}

static inline size_t mh_tensor_values(const ltc_tensor *t, double *out, size_t cap) {
    ltc_tensor *host = NULL;
    CHECK_OK(ltc_tensor_to(&host, t, (ltc_device){LTC_DEVICE_CPU, 0}, 0));
    size_t count = (size_t)ltc_tensor_numel(host), n = 0;
    void *data = NULL;
    CHECK_OK(ltc_tensor_data(&data, host));
    for (; n < count && n < cap && data; n++)
        out[n] = ltc_tensor_dtype(host) == LTC_FLOAT64 ? ((const double *)data)[n] : ((const float *)data)[n];
    ltc_tensor_free(host);
    return n;
}

static inline size_t mh_values(const ltc_tensor_list *list, double *out, size_t cap) {
    size_t n = 0;
    for (int64_t i = 0; i < ltc_tensor_list_count(list); i++) {
        ltc_tensor *t = NULL;
        CHECK_OK(ltc_tensor_list_get(&t, NULL, list, i));
        n += mh_tensor_values(t, out + n, cap - n);
        ltc_tensor_free(t);
    }
    return n;
}

static inline ltc_tensor_list *mh_params_new(const ltc_module *model) {
    ltc_tensor_list *p = NULL;
    CHECK_OK(ltc_module_parameters(&p, model));
    return p;
}

/* model's parameter values, in order, into out (at most cap): how many. */
static inline size_t mh_param_values(const ltc_module *model, double *out, size_t cap) {
    ltc_tensor_list *p = mh_params_new(model);
    size_t n = mh_values(p, out, cap);
    ltc_tensor_list_free(p);
    return n;
}

/* The optimizers the tests train with, over model's parameters: SGD(lr 0.1, momentum 0.9), or Adam(lr 0.01). */
enum mh_optim { MH_SGD, MH_ADAM };
static inline ltc_optimizer *mh_optimizer_new(enum mh_optim kind, const ltc_module *model) {
    ltc_tensor_list *params = mh_params_new(model);
    ltc_optimizer *opt = NULL;
    if (kind == MH_SGD) {
        ltc_sgd_options o = LTC_SGD_OPTIONS_INIT;
        o.lr = 0.1;
        o.momentum = 0.9;
        CHECK_OK(ltc_optimizer_sgd_new(&opt, params, &o));
    } else {
        ltc_adam_options o = LTC_ADAM_OPTIONS_INIT;
        o.lr = 0.01;
        CHECK_OK(ltc_optimizer_adam_new(&opt, params, &o));
    }
    ltc_tensor_list_free(params);
    return opt;
}

static inline int mh_set_floats(ltc_tensor *t, const float *v, int64_t n) {
    int64_t shape[LTC_MAX_DIMS];
    const int nd = ltc_tensor_ndim(t);
    if (nd < 0 || nd > LTC_MAX_DIMS || ltc_tensor_numel(t) != n || ltc_tensor_dtype(t) != LTC_FLOAT32)
        return 0;
    for (int i = 0; i < nd; i++)
        shape[i] = ltc_tensor_size(t, i);
    ltc_tensor *src = NULL;
    int ok = ltc_tensor_from_data(&src, v, shape, nd, LTC_FLOAT32, (ltc_device){LTC_DEVICE_CPU, 0}) == LTC_OK &&
             ltc_tensor_copy(t, src, 0) == LTC_OK;
    ltc_tensor_free(src);
    return ok;
}

/* A Linear module, its parameters as a list ("weight", "bias", as PyTorch names them) and a handle on each. */
typedef struct mh_linear {
    ltc_module *module;
    ltc_tensor_list *params;
    ltc_tensor *w, *b; /* b NULL without a bias */
} mh_linear;

static inline void mh_linear_free(mh_linear *m) {
    ltc_tensor_free(m->w);
    ltc_tensor_free(m->b);
    ltc_tensor_list_free(m->params);
    ltc_module_free(m->module);
    memset(m, 0, sizeof *m);
}

static inline int mh_linear_new(mh_linear *m, int64_t in, int64_t out, int has_bias, const float *w0, const float *b0,
                                ltc_device device) {
    memset(m, 0, sizeof *m);
    int ok = ltc_module_linear_new(&m->module, in, out, has_bias) == LTC_OK &&
             ltc_module_to(m->module, device) == LTC_OK && ltc_module_parameters(&m->params, m->module) == LTC_OK &&
             ltc_tensor_list_find(&m->w, m->params, "weight") == LTC_OK &&
             (!has_bias || ltc_tensor_list_find(&m->b, m->params, "bias") == LTC_OK) &&
             (!w0 || mh_set_floats(m->w, w0, in * out)) && (!b0 || (has_bias && mh_set_floats(m->b, b0, out)));
    if (!ok)
        mh_linear_free(m);
    return ok;
}

#endif
