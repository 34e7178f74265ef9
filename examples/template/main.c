/* my_ltc_program: a small classifier trained with ltc, the start of your own program.
 *
 * A two-layer MLP, Linear(2, 32) - ReLU - Linear(32, 2), learns which points of the plane lie in the
 * first or the third quadrant (x * y > 0: no straight line separates them, so it needs the hidden
 * layer), with cross-entropy and Adam, on cuda:0 when LibTorch can use a GPU, else on the CPU. It prints
 * the loss as it trains, then the accuracy on points it never saw. Exit codes: 0 it learned (accuracy
 * 0.9 or more), 1 an error (CHECK says which call failed and why) or lost output, 3 it did not learn.
 * Copy this folder (main.c, check.h and the build files), then build it with CMake or make. */
#include "check.h" /* CHECK(call, "what it does"): on failure says what failed and why, and exits 1 */

#include <ltc.h>
#include <stdio.h>

enum { N = 1024, IN = 2, HIDDEN = 32, CLASSES = 2, STEPS = 200 };

/* N points x [N, IN], standard normal from seed, on dev; labels gets their classes (1 where x0 * x1 > 0,
 * else 0), and y (unless NULL) the same as a tensor [N] on dev. */
static void make_data(ltc_tensor **x, ltc_tensor **y, int64_t *labels, uint64_t seed, ltc_device dev) {
    int64_t x_shape[2] = {N, IN}, y_shape[1] = {N};
    ltc_tensor *x_host = NULL;
    void *data = NULL;
    CHECK(ltc_tensor_randn(&x_host, x_shape, 2, LTC_FLOAT32, (ltc_device){LTC_DEVICE_CPU, 0}, seed), "draw the points");
    CHECK(ltc_tensor_data(&data, x_host), "read the points"); /* no copy: x_host's own memory */
    const float *p = data;
    for (int i = 0; i < N; i++)
        labels[i] = p[i * IN] * p[i * IN + 1] > 0;
    CHECK(ltc_tensor_to(x, x_host, dev, 0), "move the points to the device");
    if (y)
        CHECK(ltc_tensor_from_data(y, labels, y_shape, 1, LTC_INT64, dev), "make the labels");
    ltc_tensor_free(x_host);
}

/* The share of the points of x that the model puts in their class, without autograd (torch.no_grad). */
static double accuracy(ltc_module *model, const ltc_tensor *x, const int64_t *labels) {
    static int64_t guess[N];
    ltc_tensor *logits = NULL, *classes = NULL;
    int grad_was = 1;
    CHECK(ltc_grad_mode_set(&grad_was, 0), "turn autograd off");
    CHECK(ltc_module_forward(&logits, model, x), "run the model");
    CHECK(ltc_tensor_argmax(&classes, logits, 1), "pick each point's class");
    CHECK(ltc_tensor_copy_to_host(guess, sizeof guess, classes), "copy the classes to the host");
    CHECK(ltc_grad_mode_set(NULL, grad_was), "turn autograd back on");
    int right = 0;
    for (int i = 0; i < N; i++)
        right += guess[i] == labels[i];
    ltc_tensor_free(logits);
    ltc_tensor_free(classes);
    return (double)right / N;
}

int main(void) {
    ltc_device dev = {LTC_DEVICE_CPU, 0};
    if (ltc_cuda_is_available())
        dev.type = LTC_DEVICE_CUDA; /* cuda:0; else check_cuda says why not */
    ltc_manual_seed(1);             /* the same first weights every run */

    static int64_t labels[N], test_labels[N];
    ltc_tensor *x = NULL, *y = NULL, *x_test = NULL;
    make_data(&x, &y, labels, 1, dev);
    make_data(&x_test, NULL, test_labels, 2, dev); /* other points, to test on */

    /* model = nn.Sequential(nn.Linear(IN, HIDDEN), nn.ReLU(), nn.Linear(HIDDEN, CLASSES)).to(dev) */
    ltc_module *model = NULL, *layers[3] = {NULL, NULL, NULL};
    CHECK(ltc_module_linear_new(&layers[0], IN, HIDDEN, 1), "make the hidden layer");
    CHECK(ltc_module_relu_new(&layers[1]), "make the ReLU");
    CHECK(ltc_module_linear_new(&layers[2], HIDDEN, CLASSES, 1), "make the output layer");
    CHECK(ltc_module_sequential_new(&model), "make the model");
    for (int i = 0; i < 3; i++) {
        CHECK(ltc_module_sequential_append(model, layers[i]), "put a layer in the model");
        ltc_module_free(layers[i]); /* the model holds it */
    }
    CHECK(ltc_module_to(model, dev), "move the model to the device");

    /* opt = torch.optim.Adam(model.parameters(), lr=0.01) */
    ltc_tensor_list *params = NULL;
    ltc_optimizer *opt = NULL;
    ltc_adam_options adam = LTC_ADAM_OPTIONS_INIT;
    adam.lr = 0.01;
    CHECK(ltc_module_parameters(&params, model), "list the model's parameters");
    CHECK(ltc_optimizer_adam_new(&opt, params, &adam), "make the optimizer");

    double first = 0, last = 0;
    for (int step = 1; step <= STEPS; step++) {
        ltc_tensor *logits = NULL, *loss = NULL;
        CHECK(ltc_optimizer_zero_grad(opt), "zero the gradients");
        CHECK(ltc_module_forward(&logits, model, x), "run the forward pass");
        CHECK(ltc_cross_entropy_loss(&loss, logits, y), "compute the loss");
        CHECK(ltc_tensor_backward(loss), "run the backward pass");
        CHECK(ltc_optimizer_step(opt), "take the optimizer's step");
        if (step == 1 || step % 100 == 0) { /* reading the loss waits for the GPU: not every step */
            CHECK(ltc_tensor_item(&last, loss), "read the loss");
            first = step == 1 ? last : first;
            printf("step %3d: loss %.4f\n", step, last);
        }
        ltc_tensor_free(logits);
        ltc_tensor_free(loss);
    }
    double acc = accuracy(model, x_test, test_labels);
    char where[32];
    ltc_device_format(where, sizeof where, dev);
    printf("trained on %s: loss %.4f -> %.4f, accuracy %.3f on %d points it never saw\n", where, first, last, acc, N);
    if (acc < 0.9)
        fprintf(stderr, "error: the model did not learn: accuracy %.3f, below 0.9\n", acc);

    ltc_optimizer_free(opt);
    ltc_tensor_list_free(params);
    ltc_module_free(model);
    ltc_tensor_free(x);
    ltc_tensor_free(y);
    ltc_tensor_free(x_test);
    if (fflush(stdout) != 0 || ferror(stdout)) { /* a full disk or a closed pipe: the output is lost */
        perror("error: cannot write the output");
        return 1;
    }
    return acc >= 0.9 ? 0 : 3;
}
