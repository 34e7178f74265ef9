/* Optimizers over any list of tensors: SGD (plain, momentum with dampening and weight decay, Nesterov),
 * Adam and AdamW (with weight decay, with amsgrad) equal torch.optim's fused=True numbers, parameters and
 * state, after three steps (PyTorch computes them at test time: tests/torch_reference.py; skipped without
 * it); SGD both through the fused kernel (one thread) and the per-tensor path (several threads). Without
 * Python too: SGD with momentum and one Adam and AdamW step against their formulas, PyTorch's state names,
 * a parameter without a gradient left alone, zero_grad, and every refusal of a setting or a list. */
#define _DEFAULT_SOURCE
#include "mlp_helper.h"
#include "torch_ref_helper.h"

static const ltc_device CPU = {LTC_DEVICE_CPU, 0};

enum kind { SGD, ADAM, ADAMW };

/* One optimizer: its kind and settings, and the reference's arguments for the same. */
struct opt_case {
    const char *what;
    enum kind kind;
    ltc_sgd_options sgd;
    ltc_adam_options adam;
};

static ltc_optimizer *make(const struct opt_case *c, const ltc_tensor_list *params) {
    ltc_optimizer *opt = NULL;
    if (c->kind == SGD)
        CHECK_OK(ltc_optimizer_sgd_new(&opt, params, &c->sgd));
    else if (c->kind == ADAM)
        CHECK_OK(ltc_optimizer_adam_new(&opt, params, &c->adam));
    else
        CHECK_OK(ltc_optimizer_adamw_new(&opt, params, &c->adam));
    return opt;
}

static void reference_args(char *buf, size_t n, const struct opt_case *c, int steps) {
    if (c->kind == SGD)
        snprintf(buf, n, "optim sgd %d lr=%.17g momentum=%.17g dampening=%.17g weight_decay=%.17g nesterov=%d", steps,
                 c->sgd.lr, c->sgd.momentum, c->sgd.dampening, c->sgd.weight_decay, c->sgd.nesterov);
    else
        snprintf(buf, n, "optim %s %d lr=%.17g beta1=%.17g beta2=%.17g eps=%.17g weight_decay=%.17g amsgrad=%d",
                 c->kind == ADAM ? "adam" : "adamw", steps, c->adam.lr, c->adam.beta1, c->adam.beta2, c->adam.eps,
                 c->adam.weight_decay, c->adam.amsgrad);
}

/* p0 [3, 4] = randn(seed 1), p1 [3] = randn(seed 2), leaves requiring a gradient, in a list "p0", "p1". */
static ltc_tensor_list *two_params(ltc_tensor *p[2]) {
    ltc_tensor_list *list = NULL;
    CHECK_OK(ltc_tensor_list_new(&list));
    CHECK_OK(ltc_tensor_randn(&p[0], (int64_t[]){3, 4}, 2, LTC_FLOAT32, CPU, 1));
    CHECK_OK(ltc_tensor_randn(&p[1], (int64_t[]){3}, 1, LTC_FLOAT32, CPU, 2));
    for (int k = 0; k < 2; k++) {
        CHECK_OK(ltc_tensor_set_requires_grad(p[k], 1));
        CHECK_OK(ltc_tensor_list_append(list, k ? "p1" : "p0", p[k]));
    }
    return list;
}

/* Gives the first `count` of p the gradients randn(seed 100 s + k + 1), as the reference does: the
 * backward of sum(p * g), whose gradient is g exactly. */
static void set_grads(ltc_optimizer *opt, ltc_tensor *p[2], int s, int count) {
    CHECK_OK(ltc_optimizer_zero_grad(opt));
    for (int k = 0; k < count; k++) {
        ltc_tensor *g = NULL, *pg = NULL, *sum = NULL;
        int64_t shape[2] = {3, 4};
        CHECK_OK(ltc_tensor_randn(&g, shape, k == 0 ? 2 : 1, LTC_FLOAT32, CPU, (uint64_t)(100 * s + k + 1)));
        CHECK_OK(ltc_tensor_mul(&pg, p[k], g));
        CHECK_OK(ltc_tensor_sum(&sum, pg));
        CHECK_OK(ltc_tensor_backward(sum));
        TH_FREE_TENSORS(g, pg, sum);
    }
}

/* Three steps of the case, then parameters and state against torch.optim's. */
static void against_torch(const struct opt_case *c, int threads) {
    char what[200], args[400];
    snprintf(what, sizeof what, "%s, %d intra-op thread%s", c->what, threads, threads == 1 ? "" : "s");
    if (!tr_available(what))
        return;
    int before = ltc_num_threads_get();
    CHECK_OK(ltc_num_threads_set(threads));
    ltc_tensor *p[2] = {NULL, NULL};
    ltc_tensor_list *list = two_params(p);
    ltc_optimizer *opt = make(c, list);
    for (int s = 1; s <= 3; s++) {
        set_grads(opt, p, s, 2);
        CHECK_OK(ltc_optimizer_step(opt));
    }
    CHECK_OK(ltc_num_threads_set(before));
    static char out[1 << 16];
    reference_args(args, sizeof args, c, 3);
    ph_report(tr_run(args, out, sizeof out) == 0, what, "the reference runs", out);
    double got[64];
    tr_close("p0", out, got, (int)mh_tensor_values(p[0], got, 64), 1e-6);
    tr_close("p1", out, got, (int)mh_tensor_values(p[1], got, 64), 1e-6);
    ltc_tensor_list *state = NULL;
    CHECK_OK(ltc_optimizer_state(&state, opt));
    for (int64_t i = 0; i < ltc_tensor_list_count(state); i++) {
        const char *name = NULL;
        ltc_tensor *t = NULL;
        CHECK_OK(ltc_tensor_list_get(&t, &name, state, i));
        tr_close(name, out, got, (int)mh_tensor_values(t, got, 64), 1e-6);
        ltc_tensor_free(t);
    }
    int torch_states = 0;
    for (const char *l = strstr(out, "\nstate."); l; l = strstr(l + 1, "\nstate."))
        torch_states++;
    CHECK("as many state tensors as torch.optim keeps", torch_states == (int)ltc_tensor_list_count(state));
    printf("%s: 3 steps, the parameters and %d state tensors as torch.optim's\n", what, torch_states);
    ltc_tensor_list_free(state);
    ltc_tensor_list_free(list);
    ltc_optimizer_free(opt);
    TH_FREE_TENSORS(p[0], p[1]);
}

static void test_against_torch(void) {
    struct opt_case cases[] = {
        {"SGD(lr 0.1)", SGD, {LTC_SGD_OPTIONS_VERSION, 0.1, 0, 0, 0, 0}, LTC_ADAM_OPTIONS_INIT},
        {"SGD(lr 0.05, momentum 0.9, dampening 0.1, weight_decay 0.01)", SGD,
         {LTC_SGD_OPTIONS_VERSION, 0.05, 0.9, 0.1, 0.01, 0}, LTC_ADAM_OPTIONS_INIT},
        {"SGD(lr 0.05, momentum 0.8, nesterov, weight_decay 0.01)", SGD, {LTC_SGD_OPTIONS_VERSION, 0.05, 0.8, 0, 0.01, 1},
         LTC_ADAM_OPTIONS_INIT},
        {"Adam(lr 0.01)", ADAM, LTC_SGD_OPTIONS_INIT, {LTC_ADAM_OPTIONS_VERSION, 0.01, 0.9, 0.999, 1e-8, 0, 0}},
        {"Adam(lr 0.01, betas (0.8, 0.99), eps 1e-6, weight_decay 0.1, amsgrad)", ADAM, LTC_SGD_OPTIONS_INIT,
         {LTC_ADAM_OPTIONS_VERSION, 0.01, 0.8, 0.99, 1e-6, 0.1, 1}},
        {"AdamW(lr 0.01, weight_decay 0.1)", ADAMW, LTC_SGD_OPTIONS_INIT, {LTC_ADAM_OPTIONS_VERSION, 0.01, 0.9, 0.999, 1e-8, 0.1, 0}},
        {"AdamW(lr 0.02, weight_decay 0.01, amsgrad)", ADAMW, LTC_SGD_OPTIONS_INIT,
         {LTC_ADAM_OPTIONS_VERSION, 0.02, 0.9, 0.999, 1e-8, 0.01, 1}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        against_torch(&cases[i], 1);
        if (cases[i].kind == SGD) /* small tensors on several threads: the per-tensor path */
            against_torch(&cases[i], 2);
    }
}

/* p = [1, 2] with the gradient g = [0.5, -1] twice: SGD with momentum 0.9 and lr 0.1 takes m = g, then
 * m = 0.9 g + g; Adam's first step moves each element by lr g / (|g| + eps); AdamW's first scales p by
 * 1 - lr wd first. Also PyTorch's state names and the step counter. */
static void test_formulas(void) {
    const float pv[2] = {1, 2}, gv[2] = {0.5f, -1};
    for (int kind = SGD; kind <= ADAMW; kind++) {
        ltc_tensor *p = NULL, *g = NULL, *pg = NULL, *sum = NULL;
        ltc_tensor_list *list = NULL, *state = NULL;
        CHECK_OK(ltc_tensor_from_data(&p, pv, (int64_t[]){2}, 1, LTC_FLOAT32, CPU));
        CHECK_OK(ltc_tensor_from_data(&g, gv, (int64_t[]){2}, 1, LTC_FLOAT32, CPU));
        CHECK_OK(ltc_tensor_set_requires_grad(p, 1));
        CHECK_OK(ltc_tensor_list_new(&list));
        CHECK_OK(ltc_tensor_list_append(list, "w", p));
        struct opt_case c = {"", (enum kind)kind, {LTC_SGD_OPTIONS_VERSION, 0.1, 0.9, 0, 0, 0},
                             {LTC_ADAM_OPTIONS_VERSION, 0.1, 0.9, 0.999, 1e-8, 0.5, 0}};
        ltc_optimizer *opt = make(&c, list);
        CHECK_OK(ltc_optimizer_state(&state, opt));
        CHECK("no state before the first step", ltc_tensor_list_count(state) == 0);
        ltc_tensor_list_free(state);
        int steps = kind == SGD ? 2 : 1;
        for (int s = 0; s < steps; s++) {
            CHECK_OK(ltc_optimizer_zero_grad(opt));
            CHECK_OK(ltc_tensor_mul(&pg, p, g));
            CHECK_OK(ltc_tensor_sum(&sum, pg));
            CHECK_OK(ltc_tensor_backward(sum));
            CHECK_OK(ltc_optimizer_step(opt));
            TH_FREE_TENSORS(pg, sum);
        }
        double got[2], want[2];
        mh_tensor_values(p, got, 2);
        for (int i = 0; i < 2; i++) {
            double adam = 0.1 * gv[i] / (fabs(gv[i]) + 1e-8);
            want[i] = kind == SGD ? pv[i] - 0.1 * gv[i] - 0.19 * gv[i]
                      : kind == ADAM ? pv[i] - 0.1 * (gv[i] + 0.5 * pv[i]) / (fabs(gv[i] + 0.5 * pv[i]) + 1e-8)
                                     : pv[i] * (1 - 0.1 * 0.5) - adam;
        }
        CHECK(kind == SGD ? "SGD with momentum: p - lr g - lr (0.9 g + g)"
              : kind == ADAM ? "Adam with L2 weight decay: one step of lr (g + wd p) / |g + wd p|"
                             : "AdamW: p (1 - lr wd) - lr g / |g|",
              fabs(got[0] - want[0]) < 1e-6 && fabs(got[1] - want[1]) < 1e-6);
        CHECK_OK(ltc_optimizer_state(&state, opt));
        const char *n0 = NULL, *n1 = NULL, *n2 = NULL;
        ltc_tensor *step = NULL;
        if (kind == SGD) {
            CHECK("SGD's state: state.0.momentum_buffer", ltc_tensor_list_count(state) == 1 &&
                                                              ltc_tensor_list_get(NULL, &n0, state, 0) == LTC_OK &&
                                                              strcmp(n0, "state.0.momentum_buffer") == 0);
        } else {
            double s = 0;
            CHECK("Adam's state: step, exp_avg, exp_avg_sq", ltc_tensor_list_count(state) == 3 &&
                      ltc_tensor_list_get(NULL, &n0, state, 0) == LTC_OK && strcmp(n0, "state.0.step") == 0 &&
                      ltc_tensor_list_get(NULL, &n1, state, 1) == LTC_OK && strcmp(n1, "state.0.exp_avg") == 0 &&
                      ltc_tensor_list_get(NULL, &n2, state, 2) == LTC_OK && strcmp(n2, "state.0.exp_avg_sq") == 0);
            CHECK_OK(ltc_tensor_list_find(&step, state, "state.0.step"));
            CHECK("the step counter is a float32 tensor on the parameter's device, at 1",
                  ltc_tensor_dtype(step) == LTC_FLOAT32 && ltc_tensor_device(step).type == LTC_DEVICE_CPU &&
                      ltc_tensor_item(&s, step) == LTC_OK && s == 1);
        }
        TH_FREE_TENSORS(p, g, step);
        ltc_tensor_list_free(list);
        ltc_tensor_list_free(state);
        ltc_optimizer_free(opt);
    }
}

/* Only p0 has a gradient: p1 keeps its values and gets no state; zero_grad drops the gradients. */
static void test_skip_and_zero_grad(void) {
    ltc_tensor *p[2] = {NULL, NULL}, *g = NULL;
    ltc_tensor_list *list = two_params(p), *state = NULL, *params = NULL;
    struct opt_case c = {"", ADAM, LTC_SGD_OPTIONS_INIT, LTC_ADAM_OPTIONS_INIT};
    ltc_optimizer *opt = make(&c, list);
    ltc_tensor_list_free(list); /* the optimizer keeps the tensors */
    double before[3], after[3];
    mh_tensor_values(p[1], before, 3);
    set_grads(opt, p, 1, 1);
    CHECK_OK(ltc_optimizer_step(opt));
    mh_tensor_values(p[1], after, 3);
    CHECK("a parameter without a gradient is left as it was", memcmp(before, after, sizeof before) == 0);
    CHECK_OK(ltc_optimizer_state(&state, opt));
    CHECK("and gets no state", ltc_tensor_list_count(state) == 3);
    CHECK_OK(ltc_optimizer_parameters(&params, opt));
    const char *n1 = NULL;
    CHECK("the optimizer's parameters, in its order", ltc_tensor_list_count(params) == 2 &&
                                                          ltc_tensor_list_get(NULL, &n1, params, 1) == LTC_OK && strcmp(n1, "p1") == 0);
    CHECK_OK(ltc_tensor_grad(&g, p[0]));
    ltc_tensor_free(g);
    g = NULL;
    CHECK_OK(ltc_optimizer_zero_grad(opt));
    CHECK_FAILS(ltc_tensor_grad(&g, p[0]), LTC_ERR_INVALID_ARGUMENT, "has no gradient yet");
    ltc_tensor_list_free(state);
    ltc_tensor_list_free(params);
    ltc_optimizer_free(opt);
    TH_FREE_TENSORS(p[0], p[1]);
}

static void test_refusals(void) {
    ltc_tensor *p[2] = {NULL, NULL}, *i = NULL, *prod = NULL;
    ltc_tensor_list *list = two_params(p), *bad = NULL;
    ltc_optimizer *opt = NULL;
    struct {
        ltc_sgd_options o;
        const char *text;
    } sgd[] = {
        {{LTC_SGD_OPTIONS_VERSION, 0, 0, 0, 0, 0}, "lr 0 is not valid: use a finite value > 0"},
        {{LTC_SGD_OPTIONS_VERSION, INFINITY, 0, 0, 0, 0}, "lr inf is not valid"},
        {{LTC_SGD_OPTIONS_VERSION, 0.1, 1, 0, 0, 0}, "momentum 1 is not valid: use 0 <= momentum < 1"},
        {{LTC_SGD_OPTIONS_VERSION, 0.1, 0.9, 1.5, 0, 0}, "dampening 1.5 is not valid: use 0 <= dampening <= 1"},
        {{LTC_SGD_OPTIONS_VERSION, 0.1, 0, 0, -1, 0}, "weight_decay -1 is not valid: use a finite value >= 0"},
        {{LTC_SGD_OPTIONS_VERSION, 0.1, 0, 0, 0, 2}, "nesterov 2 is not valid: use 0 or 1"},
        {{LTC_SGD_OPTIONS_VERSION, 0.1, 0.9, 0.1, 0, 1}, "nesterov needs momentum > 0 and dampening 0"},
        {{2, 0.1, 0, 0, 0, 0}, "opts->version 2 is not valid: use LTC_SGD_OPTIONS_VERSION (1)"},
    };
    for (size_t k = 0; k < sizeof sgd / sizeof *sgd; k++)
        CHECK_FAILS(ltc_optimizer_sgd_new(&opt, list, &sgd[k].o), LTC_ERR_INVALID_ARGUMENT, sgd[k].text);
    struct {
        ltc_adam_options o;
        const char *text;
    } adam[] = {
        {{LTC_ADAM_OPTIONS_VERSION, -1, 0.9, 0.999, 1e-8, 0, 0}, "lr -1 is not valid"},
        {{LTC_ADAM_OPTIONS_VERSION, 1e-3, 1, 0.999, 1e-8, 0, 0}, "beta1 1 is not valid: use 0 <= beta1 < 1"},
        {{LTC_ADAM_OPTIONS_VERSION, 1e-3, 0.9, -0.1, 1e-8, 0, 0}, "beta2 -0.1 is not valid"},
        {{LTC_ADAM_OPTIONS_VERSION, 1e-3, 0.9, 0.999, 0, 0, 0}, "eps 0 is not valid: use a finite value > 0"},
        {{LTC_ADAM_OPTIONS_VERSION, 1e-3, 0.9, 0.999, 1e-8, NAN, 0}, "weight_decay nan is not valid"},
        {{LTC_ADAM_OPTIONS_VERSION, 1e-3, 0.9, 0.999, 1e-8, 0, 3}, "amsgrad 3 is not valid: use 0 or 1"},
        {{0, 1e-3, 0.9, 0.999, 1e-8, 0, 0}, "opts->version 0 is not valid: use LTC_ADAM_OPTIONS_VERSION (1)"},
    };
    for (size_t k = 0; k < sizeof adam / sizeof *adam; k++) {
        CHECK_FAILS(ltc_optimizer_adam_new(&opt, list, &adam[k].o), LTC_ERR_INVALID_ARGUMENT, adam[k].text);
        CHECK_FAILS(ltc_optimizer_adamw_new(&opt, list, &adam[k].o), LTC_ERR_INVALID_ARGUMENT, adam[k].text);
    }
    CHECK("a refused optimizer leaves *out NULL", opt == NULL);
    CHECK_OK(ltc_tensor_list_new(&bad));
    CHECK_FAILS(ltc_optimizer_sgd_new(&opt, bad, NULL), LTC_ERR_INVALID_ARGUMENT, "the list of parameters is empty");
    CHECK_OK(ltc_tensor_list_append(bad, "a", p[0]));
    CHECK_OK(ltc_tensor_list_append(bad, "again", p[0]));
    CHECK_FAILS(ltc_optimizer_adam_new(&opt, bad, NULL), LTC_ERR_INVALID_ARGUMENT,
                "entries \"a\" and \"again\" are the same tensor: list each once");
    ltc_tensor_list_free(bad);
    CHECK_OK(ltc_tensor_list_new(&bad));
    CHECK_OK(ltc_tensor_ones(&i, (int64_t[]){2}, 1, LTC_INT64, CPU));
    CHECK_OK(ltc_tensor_list_append(bad, "steps", i));
    CHECK_FAILS(ltc_optimizer_sgd_new(&opt, bad, NULL), LTC_ERR_INVALID_ARGUMENT,
                "entry \"steps\" is int64 [2] on cpu: an optimizer updates floating tensors only");
    ltc_tensor_list_free(bad);
    CHECK_OK(ltc_tensor_list_new(&bad));
    CHECK_OK(ltc_tensor_mul_scalar(&prod, p[1], 2));
    CHECK_OK(ltc_tensor_list_append(bad, "twice", prod));
    CHECK_FAILS(ltc_optimizer_sgd_new(&opt, bad, NULL), LTC_ERR_INVALID_ARGUMENT,
                "entry \"twice\" is not a leaf (an operation made it)");
    ltc_tensor_list_free(bad);
    CHECK_OK(ltc_tensor_set_requires_grad(p[1], 0));
    CHECK_FAILS(ltc_optimizer_sgd_new(&opt, list, NULL), LTC_ERR_INVALID_ARGUMENT,
                "entry \"p1\" does not require a gradient: call ltc_tensor_set_requires_grad on it first");
    ltc_tensor_list_free(list);
    TH_FREE_TENSORS(p[0], p[1], i, prod);
}

int main(void) {
    test_formulas();
    test_skip_and_zero_grad();
    test_refusals();
    test_against_torch();
    return th_finish();
}
