/* The smallest useful program on ltc: is the GPU usable, and one step of training on the best device.
 * Copy this folder, then build it with CMake (CMakeLists.txt) or make (Makefile). */
#include <ltc.h>

#include <stdio.h>
#include <stdlib.h>

#define CHECK(call)                                                                                \
    do {                                                                                           \
        ltc_status s_ = (call);                                                                    \
        if (s_ != LTC_OK) {                                                                        \
            fprintf(stderr, "error: %s: %s: %s\n", #call, ltc_status_string(s_), ltc_last_error()); \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)

int main(void) {
    ltc_device dev = {LTC_DEVICE_CPU, 0};
    if (ltc_cuda_is_available()) {
        dev.type = LTC_DEVICE_CUDA;
    } else {
        ltc_diagnosis *d = NULL;
        CHECK(ltc_diagnose(&d, LTC_DIAGNOSE_QUICK));
        printf("no GPU: %s\n  fix: %s\n", ltc_diagnosis_message(d), ltc_diagnosis_fix(d));
        ltc_diagnosis_free(d);
    }

    int64_t xs[2] = {64, 100}, ys[2] = {64, 10};
    ltc_tensor *x = NULL, *y = NULL, *pred = NULL, *loss = NULL;
    ltc_linear *model = NULL;
    ltc_sgd *opt = NULL;
    CHECK(ltc_tensor_randn(&x, xs, 2, LTC_FLOAT32, dev, 1));
    CHECK(ltc_tensor_randn(&y, ys, 2, LTC_FLOAT32, dev, 2));
    CHECK(ltc_linear_new(&model, 100, 10, 1));
    CHECK(ltc_linear_to(model, dev));
    CHECK(ltc_sgd_new(&opt, model, 0.1, 0.9));
    CHECK(ltc_sgd_zero_grad(opt));
    CHECK(ltc_linear_forward(&pred, model, x));
    CHECK(ltc_mse_loss(&loss, pred, y));
    CHECK(ltc_tensor_backward(loss));
    CHECK(ltc_sgd_step(opt));
    double l = 0;
    CHECK(ltc_tensor_item(&l, loss));
    char where[32];
    ltc_device_format(where, sizeof where, dev);
    printf("one SGD step on %s: loss %.4f\n", where, l);

    ltc_tensor_free(x);
    ltc_tensor_free(y);
    ltc_tensor_free(pred);
    ltc_tensor_free(loss);
    ltc_sgd_free(opt);
    ltc_linear_free(model);
    return 0;
}
