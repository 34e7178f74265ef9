/* The smallest useful program on ltc: is the GPU usable, and one step of training on the best device.
 * Copy this folder, then build it with CMake (CMakeLists.txt) or make (Makefile). */
#include <ltc.h>

#include <stdio.h>
#include <stdlib.h>

/* CHECK(call, "what it does"): on failure says what failed, in words, and why (ltc_last_error), and exits 1. */
#define CHECK(call, what)                                                                          \
    do {                                                                                           \
        ltc_status s_ = (call);                                                                    \
        if (s_ != LTC_OK) {                                                                        \
            fprintf(stderr, "error: cannot %s\n  %s [%s]\n", what, ltc_last_error(), ltc_status_string(s_)); \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)

int main(void) {
    ltc_device dev = {LTC_DEVICE_CPU, 0};
    if (ltc_cuda_is_available()) {
        dev.type = LTC_DEVICE_CUDA;
    } else {
        ltc_diagnosis *d = NULL;
        CHECK(ltc_diagnose(&d, LTC_DIAGNOSE_QUICK), "ask why no GPU is usable");
        printf("no GPU: %s\n  fix: %s\n", ltc_diagnosis_message(d), ltc_diagnosis_fix(d));
        ltc_diagnosis_free(d);
    }

    int64_t xs[2] = {64, 100}, ys[2] = {64, 10};
    ltc_tensor *x = NULL, *y = NULL, *pred = NULL, *loss = NULL;
    ltc_linear *model = NULL;
    ltc_sgd *opt = NULL;
    CHECK(ltc_tensor_randn(&x, xs, 2, LTC_FLOAT32, dev, 1), "make the inputs");
    CHECK(ltc_tensor_randn(&y, ys, 2, LTC_FLOAT32, dev, 2), "make the targets");
    CHECK(ltc_linear_new(&model, 100, 10, 1), "make the model");
    CHECK(ltc_linear_to(model, dev), "move the model to the device");
    CHECK(ltc_sgd_new(&opt, model, 0.1, 0.9), "make the optimizer");
    CHECK(ltc_sgd_zero_grad(opt), "zero the gradients");
    CHECK(ltc_linear_forward(&pred, model, x), "run the forward pass");
    CHECK(ltc_mse_loss(&loss, pred, y), "compute the loss");
    CHECK(ltc_tensor_backward(loss), "run the backward pass");
    CHECK(ltc_sgd_step(opt), "take the SGD step");
    double l = 0;
    CHECK(ltc_tensor_item(&l, loss), "read the loss");
    char where[32];
    ltc_device_format(where, sizeof where, dev);
    printf("one SGD step on %s: loss %.4f\n", where, l);

    ltc_tensor_free(x);
    ltc_tensor_free(y);
    ltc_tensor_free(pred);
    ltc_tensor_free(loss);
    ltc_sgd_free(opt);
    ltc_linear_free(model);
    if (fflush(stdout) != 0 || ferror(stdout)) { /* a full disk or a closed pipe: the output is lost */
        perror("error: cannot write the output");
        return 1;
    }
    return 0;
}
