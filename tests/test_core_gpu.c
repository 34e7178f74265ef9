/* The general core API on a GPU, against the same work on the CPU: the MLP (Linear-ReLU-Linear) trained on
 * cuda:0 takes the CPU's steps, within float32 rounding, and learns; SGD, Adam and AdamW (fused) step
 * tensors on cuda:0, keep their state there and agree with the CPU; ltc_tensor_data refuses a CUDA
 * tensor, saying what to use; with 2 GPUs, ltc_module_data_parallel_forward over both takes the step one
 * GPU takes (skipped, counted, with fewer). Exits 77 (skipped) where no GPU is usable. */
#include "mlp_helper.h"

static const ltc_device CPU = {LTC_DEVICE_CPU, 0}, GPU0 = {LTC_DEVICE_CUDA, 0};

#define NPARAM (4 * 16 + 16 + 16 * 3 + 3)
/* The largest gap between a and b, relative to 1 + |b|. */
static double gap(const double *a, const double *b, size_t n) {
    double worst = 0;
    for (size_t i = 0; i < n; i++)
        worst = fmax(worst, fabs(a[i] - b[i]) / (1 + fabs(b[i])));
    return worst;
}

/* The same weights and data on both sides; 200 steps of SGD(lr 0.1, momentum 0.9), as test_module. */
static void test_mlp_gpu_matches_cpu(void) {
    ltc_module *cm = mh_mlp(1), *gm = mh_mlp(1);
    CHECK_OK(ltc_module_to(gm, GPU0));
    ltc_tensor_list *gp = mh_params_new(gm);
    ltc_tensor *w = NULL;
    CHECK_OK(ltc_tensor_list_get(&w, NULL, gp, 0));
    CHECK("ltc_module_to moves the parameters to cuda:0",
          w && ltc_tensor_device(w).type == LTC_DEVICE_CUDA && ltc_tensor_device(w).index == 0);
    ltc_optimizer *co = mh_optimizer_new(MH_SGD, cm), *go = mh_optimizer_new(MH_SGD, gm);
    ltc_tensor *cx = NULL, *cy = NULL, *gx = NULL, *gy = NULL;
    mh_data(&cx, &cy, 256, 7, CPU);
    mh_data(&gx, &gy, 256, 7, GPU0);
    double cfirst = mh_step(cm, co, cx, cy), gfirst = mh_step(gm, go, gx, gy), clast = cfirst, glast = gfirst;
    double worst_loss = fabs(cfirst - gfirst);
    for (int s = 1; s < 200; s++) {
        clast = mh_step(cm, co, cx, cy);
        glast = mh_step(gm, go, gx, gy);
        worst_loss = fmax(worst_loss, fabs(clast - glast) / (1 + fabs(clast)));
    }
    double a[NPARAM], b[NPARAM];
    size_t na = mh_param_values(gm, a, NPARAM), nb = mh_param_values(cm, b, NPARAM);
    double acc = mh_accuracy(gm, gx, gy), worst = gap(a, b, NPARAM);
    printf("MLP on cuda:0, 200 SGD steps: loss %.4f -> %.4f (CPU %.4f -> %.4f), accuracy %.3f; largest gap to "
           "the CPU: loss %.2g, parameters %.2g\n", gfirst, glast, cfirst, clast, acc, worst_loss, worst);
    CHECK("the first loss on cuda:0 is the CPU's (same weights, same data)", fabs(gfirst - cfirst) < 1e-5);
    CHECK("every step's loss on cuda:0 within 1e-3 of the CPU's", worst_loss < 1e-3);
    CHECK("the parameters after 200 steps within 1e-3 of the CPU's", na == NPARAM && nb == NPARAM && worst < 1e-3);
    CHECK("the MLP learns on cuda:0: the loss falls below a seventh of its start", glast < gfirst / 7);
    CHECK("accuracy on cuda:0 >= 95%", acc >= 0.95);
    ltc_tensor_free(w);
    TH_FREE_TENSORS(cx, cy, gx, gy);
    ltc_tensor_list_free(gp);
    ltc_optimizer_free(co);
    ltc_optimizer_free(go);
    ltc_module_free(cm);
    ltc_module_free(gm);
}

enum kind { SGD, ADAM, ADAMW };

/* Two leaves on dev, p0 [3, 4] = randn(seed 1) and p1 [3] = randn(seed 2), drawn on the CPU and moved,
 * stepped three times by kind with the gradients randn(seed 100 s + k + 1) (the backward of sum(p * g)),
 * their values and the optimizer's state into out; how many values. */
static size_t three_steps(enum kind kind, ltc_device dev, double *out, size_t cap, int *state_on_dev) {
    static const int64_t shapes[2][2] = {{3, 4}, {3}}; /* p1 has one dimension */
    ltc_tensor *p[2] = {NULL, NULL};
    ltc_tensor_list *list = NULL, *state = NULL;
    CHECK_OK(ltc_tensor_list_new(&list));
    for (int k = 0; k < 2; k++) {
        ltc_tensor *host = NULL;
        CHECK_OK(ltc_tensor_randn(&host, shapes[k], k ? 1 : 2, LTC_FLOAT32, CPU, (uint64_t)k + 1));
        CHECK_OK(ltc_tensor_to(&p[k], host, dev, 0));
        CHECK_OK(ltc_tensor_set_requires_grad(p[k], 1));
        CHECK_OK(ltc_tensor_list_append(list, k ? "p1" : "p0", p[k]));
        ltc_tensor_free(host);
    }
    ltc_optimizer *opt = NULL;
    ltc_sgd_options so = LTC_SGD_OPTIONS_INIT;
    ltc_adam_options ao = LTC_ADAM_OPTIONS_INIT;
    so.lr = 0.1;
    so.momentum = 0.9;
    so.weight_decay = 0.01;
    ao.lr = 0.01;
    ao.weight_decay = 0.01;
    CHECK_OK(kind == SGD    ? ltc_optimizer_sgd_new(&opt, list, &so)
             : kind == ADAM ? ltc_optimizer_adam_new(&opt, list, &ao)
                            : ltc_optimizer_adamw_new(&opt, list, &ao));
    for (int s = 0; s < 3; s++) {
        CHECK_OK(ltc_optimizer_zero_grad(opt));
        for (int k = 0; k < 2; k++) {
            ltc_tensor *gh = NULL, *g = NULL, *pg = NULL, *sum = NULL;
            CHECK_OK(ltc_tensor_randn(&gh, shapes[k], k ? 1 : 2, LTC_FLOAT32, CPU, (uint64_t)(100 * s + k + 1)));
            CHECK_OK(ltc_tensor_to(&g, gh, dev, 0));
            CHECK_OK(ltc_tensor_mul(&pg, p[k], g));
            CHECK_OK(ltc_tensor_sum(&sum, pg));
            CHECK_OK(ltc_tensor_backward(sum));
            TH_FREE_TENSORS(gh, g, pg, sum);
        }
        CHECK_OK(ltc_optimizer_step(opt));
    }
    size_t n = mh_values(list, out, cap);
    CHECK_OK(ltc_optimizer_state(&state, opt));
    *state_on_dev = ltc_tensor_list_count(state) > 0;
    for (int64_t i = 0; i < ltc_tensor_list_count(state); i++) {
        ltc_tensor *t = NULL;
        CHECK_OK(ltc_tensor_list_get(&t, NULL, state, i));
        *state_on_dev &= t && ltc_tensor_device(t).type == dev.type;
        ltc_tensor_free(t);
    }
    n += mh_values(state, out + n, cap - n);
    TH_FREE_TENSORS(p[0], p[1]);
    ltc_tensor_list_free(list);
    ltc_tensor_list_free(state);
    ltc_optimizer_free(opt);
    return n;
}

static void test_optimizers_gpu_match_cpu(void) {
    static const char *const names[] = {"SGD(momentum, weight decay)", "Adam (fused)", "AdamW (fused)"};
    for (int kind = SGD; kind <= ADAMW; kind++) {
        double g[64], c[64];
        int on_gpu = 0, on_cpu = 0;
        size_t ng = three_steps((enum kind)kind, GPU0, g, 64, &on_gpu), nc = three_steps((enum kind)kind, CPU, c, 64, &on_cpu);
        char what[160];
        snprintf(what, sizeof what, "%s on cuda:0: parameters and state after 3 steps within 1e-5 of the CPU's (gap %.2g)",
                 names[kind], ng == nc ? gap(g, c, ng) : -1.0);
        CHECK(what, ng == nc && ng >= 15 && gap(g, c, ng) < 1e-5);
        snprintf(what, sizeof what, "%s keeps its state on cuda:0", names[kind]);
        CHECK(what, on_gpu && on_cpu);
    }
}

static void test_data_refuses_cuda(void) {
    ltc_tensor *t = NULL;
    void *data = (void *)&t;
    CHECK_OK(ltc_tensor_randn(&t, (int64_t[]){4}, 1, LTC_FLOAT32, GPU0, 1));
    CHECK_FAILS(ltc_tensor_data(&data, t), LTC_ERR_INVALID_ARGUMENT,
                "ltc_tensor_data: the tensor is on cuda:0, not in host memory: copy it out with ltc_tensor_copy_to_host");
    CHECK("a refused ltc_tensor_data leaves *out NULL", data == NULL);
    ltc_tensor_free(t);
}

/* One SGD step of the MLP on cuda:0 with the forward split over GPUs 0 and 1, against one on cuda:0. */
static void test_data_parallel_two_gpus(void) {
    if (!th_need_gpus("ltc_module_data_parallel_forward over 2 GPUs = one GPU's step", 2))
        return;
    ltc_module *dp = mh_mlp(1), *one = mh_mlp(1);
    CHECK_OK(ltc_module_to(dp, GPU0));
    CHECK_OK(ltc_module_to(one, GPU0));
    ltc_optimizer *odp = mh_optimizer_new(MH_SGD, dp), *oone = mh_optimizer_new(MH_SGD, one);
    ltc_tensor *x = NULL, *y = NULL, *logits = NULL, *loss = NULL;
    mh_data(&x, &y, 64, 7, GPU0);
    double ldp = NAN, lone = mh_step(one, oone, x, y);
    CHECK_OK(ltc_optimizer_zero_grad(odp));
    CHECK_OK(ltc_module_data_parallel_forward(&logits, dp, x, (const int[]){0, 1}, 2));
    CHECK("the outputs are gathered on cuda:0", logits && ltc_tensor_device(logits).type == LTC_DEVICE_CUDA &&
                                                    ltc_tensor_device(logits).index == 0 && ltc_tensor_numel(logits) == 64 * 3);
    CHECK_OK(ltc_cross_entropy_loss(&loss, logits, y));
    CHECK_OK(ltc_tensor_item(&ldp, loss));
    CHECK_OK(ltc_tensor_backward(loss));
    CHECK_OK(ltc_optimizer_step(odp));
    double a[NPARAM], b[NPARAM];
    size_t na = mh_param_values(dp, a, NPARAM), nb = mh_param_values(one, b, NPARAM);
    printf("data parallel over cuda:0 and cuda:1: loss %.6f (one GPU %.6f), parameters' gap %.2g\n", ldp, lone,
           gap(a, b, NPARAM));
    CHECK("data parallel: the loss is one GPU's", fabs(ldp - lone) < 1e-5);
    CHECK("data parallel: the step (the replicas' gradients summed) is one GPU's, within 1e-5",
          na == NPARAM && nb == NPARAM && gap(a, b, NPARAM) < 1e-5);
    TH_FREE_TENSORS(x, y, logits, loss);
    ltc_optimizer_free(odp);
    ltc_optimizer_free(oone);
    ltc_module_free(dp);
    ltc_module_free(one);
}

int main(void) {
    th_require_gpu();
    test_mlp_gpu_matches_cpu();
    test_optimizers_gpu_match_cpu();
    test_data_refuses_cuda();
    test_data_parallel_two_gpus();
    return th_finish();
}
