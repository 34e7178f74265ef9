/* Modules and losses: Linear, ReLU and Sequential (nested too) under PyTorch's parameter names, sharing
 * their children with the caller's handles; forward against values computed by hand, and its refusals
 * naming the module's place; train/eval; cross-entropy against its formula (value and gradient) and its
 * refusals; data parallel without a GPU as plain forward; and the two-layer MLP of the issue, Linear(4,
 * 16), ReLU, Linear(16, 3), trained with cross-entropy by SGD and by Adam on a separable toy set: the loss
 * falls below a seventh of its start and the accuracy reaches 95% on the training set, 90% on held-out
 * points. */
#include "mlp_helper.h"

static const ltc_device CPU = {LTC_DEVICE_CPU, 0};

/* The names of list, joined by spaces, into buf. */
static const char *names_of(const ltc_tensor_list *list, char *buf, size_t n) {
    buf[0] = '\0';
    for (int64_t i = 0; i < ltc_tensor_list_count(list); i++) {
        const char *name = NULL;
        if (ltc_tensor_list_get(NULL, &name, list, i) == LTC_OK)
            snprintf(buf + strlen(buf), n - strlen(buf), "%s%s", i ? " " : "", name);
    }
    return buf;
}

static void test_names_and_sharing(void) {
    ltc_module *lin = NULL, *nobias = NULL, *relu = NULL, *seq = NULL, *outer = NULL;
    CHECK_OK(ltc_module_linear_new(&lin, 4, 3, 1));
    CHECK_OK(ltc_module_linear_new(&nobias, 3, 2, 0));
    CHECK_OK(ltc_module_relu_new(&relu));
    CHECK_OK(ltc_module_sequential_new(&seq));
    CHECK("kinds", strcmp(ltc_module_kind(lin), "Linear") == 0 && strcmp(ltc_module_kind(relu), "ReLU") == 0 &&
                       strcmp(ltc_module_kind(seq), "Sequential") == 0);
    char buf[256];
    ltc_tensor_list *p = mh_params_new(lin);
    CHECK("Linear's parameters: weight, bias", strcmp(names_of(p, buf, sizeof buf), "weight bias") == 0);
    ltc_tensor_list_free(p);
    p = mh_params_new(nobias);
    CHECK("Linear without bias: weight", strcmp(names_of(p, buf, sizeof buf), "weight") == 0);
    ltc_tensor_list_free(p);
    p = mh_params_new(relu);
    CHECK("ReLU has none", ltc_tensor_list_count(p) == 0);
    ltc_tensor_list_free(p);
    CHECK_OK(ltc_module_sequential_append(seq, lin));
    CHECK_OK(ltc_module_sequential_append(seq, relu));
    CHECK_OK(ltc_module_sequential_append(seq, nobias));
    p = mh_params_new(seq);
    CHECK("Sequential: as PyTorch's state_dict names them", strcmp(names_of(p, buf, sizeof buf), "0.weight 0.bias 2.weight") == 0);
    ltc_tensor *in_seq = NULL, *in_lin = NULL;
    CHECK_OK(ltc_tensor_list_find(&in_seq, p, "0.weight"));
    ltc_tensor_list *lp = mh_params_new(lin);
    CHECK_OK(ltc_tensor_list_find(&in_lin, lp, "weight"));
    void *a = NULL, *b = NULL;
    CHECK_OK(ltc_tensor_data(&a, in_seq));
    CHECK_OK(ltc_tensor_data(&b, in_lin));
    CHECK("the Sequential shares the caller's Linear", a != NULL && a == b);
    CHECK_OK(ltc_module_sequential_new(&outer));
    CHECK_OK(ltc_module_sequential_append(outer, relu));
    CHECK_OK(ltc_module_sequential_append(outer, seq));
    ltc_tensor_list *op = mh_params_new(outer);
    CHECK("nested: 1.0.weight", strcmp(names_of(op, buf, sizeof buf), "1.0.weight 1.0.bias 1.2.weight") == 0);
    CHECK_FAILS(ltc_module_sequential_append(lin, relu), LTC_ERR_INVALID_ARGUMENT, "seq is a Linear, not a Sequential");
    CHECK_FAILS(ltc_module_sequential_append(seq, seq), LTC_ERR_INVALID_ARGUMENT, "child is seq itself");
    CHECK_FAILS(ltc_module_sequential_append(seq, outer), LTC_ERR_INVALID_ARGUMENT,
                "child holds seq itself: appending it would make a cycle");
    ltc_module_free(lin);
    ltc_module_free(seq);
    ltc_module_free(outer); /* parameter handles outlive every module handle */
    float w[12];
    CHECK("a parameter handle outlives its modules", ltc_tensor_copy_to_host(w, sizeof w, in_lin) == LTC_OK);
    TH_FREE_TENSORS(in_seq, in_lin);
    ltc_tensor_list_free(p);
    ltc_tensor_list_free(lp);
    ltc_tensor_list_free(op);
    ltc_module_free(nobias);
    ltc_module_free(relu);
}

/* y = relu(x W^T + b) through Linear(4, 3) then ReLU, against the sum computed here from the weights. */
static void test_forward_by_hand(void) {
    ltc_module *seq = NULL, *lin = NULL, *relu = NULL;
    ltc_manual_seed(3);
    CHECK_OK(ltc_module_sequential_new(&seq));
    CHECK_OK(ltc_module_linear_new(&lin, 4, 3, 1));
    CHECK_OK(ltc_module_relu_new(&relu));
    CHECK_OK(ltc_module_sequential_append(seq, lin));
    CHECK_OK(ltc_module_sequential_append(seq, relu));
    ltc_tensor_list *p = mh_params_new(lin);
    ltc_tensor *w = NULL, *b = NULL, *x = NULL, *y = NULL;
    CHECK_OK(ltc_tensor_list_find(&w, p, "weight"));
    CHECK_OK(ltc_tensor_list_find(&b, p, "bias"));
    CHECK_OK(ltc_tensor_randn(&x, (int64_t[]){2, 4}, 2, LTC_FLOAT32, CPU, 5));
    CHECK_OK(ltc_module_forward(&y, seq, x));
    float wv[12], bv[3], xv[8], yv[6];
    CHECK_OK(ltc_tensor_copy_to_host(wv, sizeof wv, w));
    CHECK_OK(ltc_tensor_copy_to_host(bv, sizeof bv, b));
    CHECK_OK(ltc_tensor_copy_to_host(xv, sizeof xv, x));
    CHECK_OK(ltc_tensor_copy_to_host(yv, sizeof yv, y));
    double worst = 0;
    for (int i = 0; i < 2; i++)
        for (int o = 0; o < 3; o++) {
            double s = bv[o];
            for (int k = 0; k < 4; k++)
                s += (double)xv[i * 4 + k] * wv[o * 4 + k];
            worst = fmax(worst, fabs((s > 0 ? s : 0) - yv[i * 3 + o]));
        }
    CHECK("forward = relu(x W^T + b)", worst < 1e-5);
    ltc_tensor *x5 = NULL, *x64 = NULL, *r = NULL;
    CHECK_OK(ltc_tensor_ones(&x5, (int64_t[]){2, 5}, 2, LTC_FLOAT32, CPU));
    CHECK_FAILS(ltc_module_forward(&r, seq, x5), LTC_ERR_INVALID_ARGUMENT,
                "module 0, Linear(4, 3), gets an input of shape [2, 5]: it takes [..., 4]");
    CHECK_FAILS(ltc_module_forward(&r, lin, x5), LTC_ERR_INVALID_ARGUMENT,
                "ltc_module_forward: Linear(4, 3) gets an input of shape [2, 5]: it takes [..., 4]");
    CHECK_OK(ltc_tensor_ones(&x64, (int64_t[]){4}, 1, LTC_FLOAT64, CPU));
    CHECK_FAILS(ltc_module_forward(&r, seq, x64), LTC_ERR_INVALID_ARGUMENT,
                "module 0, Linear(4, 3), gets a float64 input, but its weight is float32: pass float32");
    CHECK("a refused forward leaves *out NULL", r == NULL);
    ltc_module *empty = NULL;
    CHECK_OK(ltc_module_sequential_new(&empty));
    CHECK_OK(ltc_module_forward(&r, empty, x));
    void *px = NULL, *pr = NULL;
    CHECK("an empty Sequential returns x", r && ltc_tensor_data(&px, x) == LTC_OK && ltc_tensor_data(&pr, r) == LTC_OK &&
                                               px == pr);
    ltc_tensor_free(r);
    r = NULL;
    CHECK_OK(ltc_module_data_parallel_forward(&r, seq, x, NULL, 0));
    float dv[6] = {0};
    CHECK("data parallel without a GPU is plain forward", r && ltc_tensor_copy_to_host(dv, sizeof dv, r) == LTC_OK &&
                                                              memcmp(dv, yv, sizeof dv) == 0);
    ltc_tensor_free(r);
    int n = 0;
    if (ltc_cuda_device_count(&n) == LTC_OK && n == 0) {
        CHECK_FAILS(ltc_module_data_parallel_forward(&r, seq, x, (int[]){0}, 1), LTC_ERR_CUDA_UNAVAILABLE,
                    "cuda:0 requested, but LibTorch sees no CUDA device");
        CHECK_FAILS(ltc_module_to(seq, (ltc_device){LTC_DEVICE_CUDA, 0}), LTC_ERR_CUDA_UNAVAILABLE, "sees no CUDA device");
    }
    CHECK_FAILS(ltc_module_data_parallel_forward(&r, seq, x, NULL, 2), LTC_ERR_INVALID_ARGUMENT,
                "ndevices 2 with devices NULL is not valid");
    CHECK_OK(ltc_module_to(seq, CPU));
    TH_FREE_TENSORS(w, b, x, y, x5, x64);
    ltc_tensor_list_free(p);
    ltc_module_free(seq);
    ltc_module_free(lin);
    ltc_module_free(relu);
    ltc_module_free(empty);
}

static void test_train_eval(void) {
    ltc_module *seq = mh_mlp(1), *lin = NULL;
    int on = -1;
    CHECK_OK(ltc_module_linear_new(&lin, 2, 2, 1));
    CHECK_OK(ltc_module_sequential_append(seq, lin));
    CHECK_OK(ltc_module_is_training(&on, seq));
    CHECK("training mode by default", on == 1);
    CHECK_OK(ltc_module_train(seq, 0));
    CHECK_OK(ltc_module_is_training(&on, lin));
    CHECK("eval reaches the modules inside", on == 0);
    CHECK_FAILS(ltc_module_train(seq, 2), LTC_ERR_INVALID_ARGUMENT, "training 2 is not valid: use 1 (train) or 0 (eval)");
    CHECK_OK(ltc_module_train(seq, 1));
    CHECK_OK(ltc_module_is_training(&on, lin));
    CHECK("train again", on == 1);
    ltc_module_free(seq);
    ltc_module_free(lin);
}

/* mean over rows of -log softmax(logits)[target], and its gradient (softmax - onehot) / N. */
static void test_cross_entropy(void) {
    const float lv[6] = {1, 2, 3, 1, 1, 1};
    const int64_t tv[2] = {2, 0};
    ltc_tensor *logits = NULL, *target = NULL, *loss = NULL, *g = NULL;
    CHECK_OK(ltc_tensor_from_data(&logits, lv, (int64_t[]){2, 3}, 2, LTC_FLOAT32, CPU));
    CHECK_OK(ltc_tensor_set_requires_grad(logits, 1));
    CHECK_OK(ltc_tensor_from_data(&target, tv, (int64_t[]){2}, 1, LTC_INT64, CPU));
    CHECK_OK(ltc_cross_entropy_loss(&loss, logits, target));
    double z = exp(1) + exp(2) + exp(3), want = (-(3 - log(z)) + log(3)) / 2, got = 0;
    CHECK("cross-entropy's value", ltc_tensor_item(&got, loss) == LTC_OK && fabs(got - want) < 1e-6);
    CHECK_OK(ltc_tensor_backward(loss));
    CHECK_OK(ltc_tensor_grad(&g, logits));
    float gv[6];
    CHECK_OK(ltc_tensor_copy_to_host(gv, sizeof gv, g));
    double wg[6] = {exp(1) / z / 2, exp(2) / z / 2, (exp(3) / z - 1) / 2, (1.0 / 3 - 1) / 2, 1.0 / 6, 1.0 / 6}, worst = 0;
    for (int i = 0; i < 6; i++)
        worst = fmax(worst, fabs(gv[i] - wg[i]));
    CHECK("its gradient is (softmax - onehot) / N", worst < 1e-6);
    ltc_tensor *bad = NULL, *r = NULL, *flat = NULL, *fl = NULL;
    CHECK_OK(ltc_tensor_from_data(&bad, (int64_t[]){2, 3}, (int64_t[]){2}, 1, LTC_INT64, CPU));
    CHECK_FAILS(ltc_cross_entropy_loss(&r, logits, bad), LTC_ERR_INVALID_ARGUMENT,
                "target[1] = 3 is not a class index: use 0 to 2 (C = 3)");
    CHECK_OK(ltc_tensor_ones(&flat, (int64_t[]){3}, 1, LTC_FLOAT32, CPU));
    CHECK_FAILS(ltc_cross_entropy_loss(&r, flat, target), LTC_ERR_INVALID_ARGUMENT,
                "logits are float32 [3] on cpu: use a floating [N, C] tensor");
    CHECK_OK(ltc_tensor_ones(&fl, (int64_t[]){2}, 1, LTC_FLOAT32, CPU));
    CHECK_FAILS(ltc_cross_entropy_loss(&r, logits, fl), LTC_ERR_INVALID_ARGUMENT,
                "target is float32 [2] on cpu: use an int64 [2] tensor of class indices");
    TH_FREE_TENSORS(logits, target, loss, g, bad, flat, fl);
}

static void train_mlp(enum mh_optim kind) {
    const char *name = kind == MH_SGD ? "SGD(lr 0.1, momentum 0.9)" : "Adam(lr 0.01)";
    ltc_module *model = mh_mlp(1);
    ltc_tensor *x = NULL, *y = NULL, *xt = NULL, *yt = NULL;
    mh_data(&x, &y, 256, 7, CPU);
    mh_data(&xt, &yt, 256, 8, CPU);
    ltc_optimizer *opt = mh_optimizer_new(kind, model);
    double first = mh_step(model, opt, x, y), last = first;
    for (int s = 1; s < 200; s++)
        last = mh_step(model, opt, x, y);
    double train = mh_accuracy(model, x, y), held = mh_accuracy(model, xt, yt);
    printf("MLP with %s, 200 steps on 256 points: loss %.4f -> %.4f, accuracy %.3f (held-out %.3f)\n", name, first, last,
           train, held);
    CHECK("the loss starts near ln 3 (three classes, small weights)", first > 0.9 && first < 1.3);
    CHECK("the MLP learns: the loss falls below a seventh of its start", last < first / 7);
    CHECK("accuracy on the training set >= 95%", train >= 0.95);
    CHECK("accuracy on held-out points >= 90%", held >= 0.90);
    TH_FREE_TENSORS(x, y, xt, yt);
    ltc_optimizer_free(opt);
    ltc_module_free(model);
}

int main(void) {
    test_names_and_sharing();
    test_forward_by_hand();
    test_train_eval();
    test_cross_entropy();
    train_mlp(MH_SGD);
    train_mlp(MH_ADAM);
    return th_finish();
}
