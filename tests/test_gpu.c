/* The same blocks on CUDA devices, through the general API (a Linear module, ltc_optimizer_sgd_new).
 * Exits 77 (skipped) where no GPU is usable. */
#include "train_common.h"

static void test_roundtrip_each_dtype(ltc_device dev) {
    const ltc_dtype types[] = {LTC_FLOAT32, LTC_FLOAT64, LTC_INT32, LTC_INT64};
    int64_t shape[2] = {37, 53};
    static unsigned char src[37 * 53 * 8], back[37 * 53 * 8];
    for (size_t i = 0; i < sizeof src; i++)
        src[i] = (unsigned char)(i * 131 + 7);
    for (size_t k = 0; k < sizeof types / sizeof types[0]; k++) {
        size_t bytes = 37 * 53 * ltc_dtype_size(types[k]);
        /* keep float payloads finite and non-NaN so bit patterns are preserved trivially */
        if (types[k] == LTC_FLOAT32) {
            float *f = (float *)src;
            for (int i = 0; i < 37 * 53; i++)
                f[i] = (float)i * 0.37f - 100.0f;
        } else if (types[k] == LTC_FLOAT64) {
            double *f = (double *)src;
            for (int i = 0; i < 37 * 53; i++)
                f[i] = i * 1e-3 - 1.0;
        }
        ltc_tensor *t = NULL;
        CHECK_OK(ltc_tensor_from_data(&t, src, shape, 2, types[k], dev));
        ltc_device where = ltc_tensor_device(t);
        CHECK("lives on the GPU", where.type == LTC_DEVICE_CUDA && (dev.index < 0 || where.index == dev.index));
        memset(back, 0, sizeof back);
        CHECK_OK(ltc_tensor_copy_to_host(back, bytes, t));
        CHECK(ltc_dtype_name(types[k]), memcmp(src, back, bytes) == 0);
        ltc_tensor_free(t);
    }
}

static void test_moves(ltc_device dev) {
    int64_t shape[2] = {100, 100};
    ltc_tensor *cpu = NULL, *gpu = NULL, *gpu_direct = NULL, *back = NULL;
    const ltc_device CPU = {LTC_DEVICE_CPU, 0};
    CHECK_OK(ltc_tensor_randn(&cpu, shape, 2, LTC_FLOAT32, CPU, 99));
    CHECK_OK(ltc_tensor_to(&gpu, cpu, dev, 1));
    CHECK_OK(ltc_cuda_synchronize(dev));
    CHECK_OK(ltc_tensor_randn(&gpu_direct, shape, 2, LTC_FLOAT32, dev, 99));
    CHECK_OK(ltc_tensor_to(&back, gpu, CPU, 0));
    static float a[10000], b[10000], c[10000];
    ltc_tensor_copy_to_host(a, sizeof a, cpu);
    ltc_tensor_copy_to_host(b, sizeof b, back);
    ltc_tensor_copy_to_host(c, sizeof c, gpu_direct);
    CHECK("cpu -> gpu -> cpu is bit-identical", memcmp(a, b, sizeof a) == 0);
    CHECK("seeded randn is the same on cpu and gpu", memcmp(a, c, sizeof a) == 0);
    ltc_tensor_free(cpu);
    ltc_tensor_free(gpu);
    ltc_tensor_free(gpu_direct);
    ltc_tensor_free(back);
}

static void test_module_on_gpu(ltc_device dev) {
    mh_linear lin = {0};
    ltc_tensor *x = NULL, *out = NULL;
    int64_t xs[2] = {4, 3};
    char want[96];
    CHECK("Linear(3, 2) on the CPU", mh_linear_new(&lin, 3, 2, 1, NULL, NULL, (ltc_device){LTC_DEVICE_CPU, 0}));
    CHECK_OK(ltc_module_to(lin.module, dev));
    CHECK("earlier parameter handles follow the move",
          ltc_tensor_device(lin.w).type == LTC_DEVICE_CUDA && ltc_tensor_device(lin.w).index == dev.index &&
              ltc_tensor_device(lin.b).type == LTC_DEVICE_CUDA);
    CHECK_OK(ltc_tensor_ones(&x, xs, 2, LTC_FLOAT32, (ltc_device){LTC_DEVICE_CPU, 0}));
    snprintf(want, sizeof want, "Linear(3, 2) is on cuda:%d, but its input is on cpu", dev.index);
    CHECK_FAILS(ltc_module_forward(&out, lin.module, x), LTC_ERR_INVALID_ARGUMENT, want);
    ltc_tensor_free(x);
    mh_linear_free(&lin);
}

/* One step on the CPU, then the module (parameters, gradients, momentum) moves to cuda:0 and trains on:
 * the same weights as every step on the CPU. */
static void test_module_moves_mid_training(void) {
    enum { N = 32, STEPS = 3 };
    int64_t xs[2] = {N, REG_IN}, ys[2] = {N, REG_OUT};
    const ltc_device cpu = {LTC_DEVICE_CPU, 0}, gpu = {LTC_DEVICE_CUDA, 0};
    float w[2][REG_OUT][REG_IN];
    for (int k = 0; k < 2; k++) { /* 0: CPU throughout; 1: moved after the first step */
        mh_linear lin = {0};
        ltc_optimizer *opt = NULL;
        ltc_tensor *x = NULL, *y = NULL, *xg = NULL, *yg = NULL;
        ltc_manual_seed(17);
        CHECK("Linear(REG_IN, REG_OUT) on the CPU", mh_linear_new(&lin, REG_IN, REG_OUT, 1, NULL, NULL, cpu));
        CHECK_OK(reg_sgd_new(&opt, &lin, 0.2, 0.9));
        CHECK_OK(ltc_tensor_randn(&x, xs, 2, LTC_FLOAT32, cpu, 41));
        CHECK_OK(ltc_tensor_randn(&y, ys, 2, LTC_FLOAT32, cpu, 42));
        CHECK_OK(ltc_tensor_to(&xg, x, gpu, 0));
        CHECK_OK(ltc_tensor_to(&yg, y, gpu, 0));
        for (int s = 0; s < STEPS; s++) {
            ltc_tensor *pred = NULL, *loss = NULL;
            int on_gpu = k == 1 && s > 0;
            if (k == 1 && s == 1) {
                /* a backward's gradients are held when the module moves: they move with it */
                CHECK_OK(ltc_module_forward(&pred, lin.module, x));
                CHECK_OK(ltc_mse_loss(&loss, pred, y));
                CHECK_OK(ltc_tensor_backward(loss));
                ltc_tensor_free(pred);
                ltc_tensor_free(loss);
                pred = loss = NULL;
                CHECK_OK(ltc_module_to(lin.module, gpu));
                ltc_tensor *g = NULL;
                CHECK_OK(ltc_tensor_grad(&g, lin.w));
                CHECK("the gradient moved with the module", ltc_tensor_device(g).type == LTC_DEVICE_CUDA);
                ltc_tensor_free(g);
            }
            CHECK_OK(train_step(lin.module, opt, on_gpu ? xg : x, on_gpu ? yg : y));
        }
        CHECK("the weight is where the run left it",
              ltc_tensor_device(lin.w).type == (k ? LTC_DEVICE_CUDA : LTC_DEVICE_CPU));
        CHECK_OK(ltc_tensor_copy_to_host(w[k], sizeof w[k], lin.w));
        TH_FREE_TENSORS(x, y, xg, yg);
        ltc_optimizer_free(opt);
        mh_linear_free(&lin);
    }
    double d = 0;
    for (int o = 0; o < REG_OUT; o++)
        for (int i = 0; i < REG_IN; i++)
            d = fmax(d, fabs(w[0][o][i] - w[1][o][i]));
    char what[112];
    snprintf(what, sizeof what, "momentum follows the module to cuda:0: the CPU's weights (max |difference| %.1e)", d);
    CHECK(what, d < 1e-5);
}

int main(void) {
    th_require_gpu();
    int n = 0;
    CHECK_OK(ltc_cuda_device_count(&n));
    printf("%d CUDA device(s)\n", n);
    for (int i = 0; i < n; i++) {
        ltc_device dev = {LTC_DEVICE_CUDA, i};
        test_roundtrip_each_dtype(dev);
        test_moves(dev);
        test_module_on_gpu(dev);
    }
    test_roundtrip_each_dtype((ltc_device){LTC_DEVICE_CUDA, -1});
    char want[64];
    snprintf(want, sizeof want, "cuda:%d is out of range: %d CUDA device", n, n);
    ltc_tensor *t = NULL;
    int64_t one = 1;
    CHECK_FAILS(ltc_tensor_zeros(&t, &one, 1, LTC_FLOAT32, (ltc_device){LTC_DEVICE_CUDA, n}), LTC_ERR_INVALID_ARGUMENT, want);

    double err = reg_train((ltc_device){LTC_DEVICE_CUDA, 0}, 300, 0.1, 0.9);
    printf("gpu regression: max |learned - true| = %.2e\n", err);
    CHECK("gpu regression converges to W and b within 1e-4", err >= 0 && err < 1e-4);
    for (int k = 0; k < 2; k++) {
        double m = k ? 0.9 : 0, e = sgd_against_formula((ltc_device){LTC_DEVICE_CUDA, 0}, 0.3, m);
        char what[112];
        snprintf(what, sizeof what, "cuda:0: 3 SGD steps with momentum %g match m = momentum m + g, p -= lr m (err %.1e)", m, e);
        CHECK(what, e >= 0 && e < 1e-5);
    }
    for (int64_t n = 64; n <= 8192; n *= 128) {
        double d = grad_vs_formula((ltc_device){LTC_DEVICE_CUDA, 0}, n);
        char what[160];
        snprintf(what, sizeof what, "cuda:0, batch %lld: autograd's gradients equal the formula's (max rel. difference %.1e)",
                 (long long)n, d);
        CHECK(what, d >= 0 && d < 1e-5);
    }
    test_module_moves_mid_training();
    return th_finish();
}
