/* Tensor operations and autograd's switches: each op against values computed by hand (broadcasting,
 * scalars, matmul in 1-D, 2-D and batched, relu, sum, mean, argmax, reshape), their refusals naming the
 * shapes and dtypes, gradients through matmul and relu against central finite differences (float64), and
 * through add, sub, mul and mean against their formulas; requires_grad on leaves only; the grad mode per
 * thread; detach and ltc_tensor_data sharing memory without a copy. */
#define _POSIX_C_SOURCE 200809L
#include "testhelper.h"

#include <math.h>
#include <pthread.h>

static const ltc_device CPU = {LTC_DEVICE_CPU, 0};

static ltc_tensor *f32(const float *v, const int64_t *shape, int ndim) {
    ltc_tensor *t = NULL;
    CHECK_OK(ltc_tensor_from_data(&t, v, shape, ndim, LTC_FLOAT32, CPU));
    return t;
}

static ltc_tensor *f64(const double *v, const int64_t *shape, int ndim) {
    ltc_tensor *t = NULL;
    CHECK_OK(ltc_tensor_from_data(&t, v, shape, ndim, LTC_FLOAT64, CPU));
    return t;
}

/* t (float32 or float64) equals want[0..n) within tol, and has n elements. */
static int values_are(const ltc_tensor *t, const double *want, int64_t n, double tol) {
    if (!t || ltc_tensor_numel(t) != n)
        return 0;
    double got[64];
    float f[64];
    int dbl = ltc_tensor_dtype(t) == LTC_FLOAT64;
    if (ltc_tensor_copy_to_host(dbl ? (void *)got : (void *)f, ltc_tensor_nbytes(t), t) != LTC_OK)
        return 0;
    for (int64_t i = 0; i < n; i++)
        if (fabs((dbl ? got[i] : f[i]) - want[i]) > tol)
            return 0;
    return 1;
}

static void test_elementwise(void) {
    const float a_v[6] = {1, 2, 3, 4, 5, 6}, b_v[3] = {10, 20, 30};
    int64_t sa[2] = {2, 3}, sb[1] = {3};
    ltc_tensor *a = f32(a_v, sa, 2), *b = f32(b_v, sb, 1), *r = NULL;
    CHECK_OK(ltc_tensor_add(&r, a, b));
    CHECK("a + b broadcasts b over the rows", values_are(r, (double[]){11, 22, 33, 14, 25, 36}, 6, 0) &&
                                                   ltc_tensor_ndim(r) == 2 && ltc_tensor_size(r, 0) == 2);
    ltc_tensor_free(r);
    CHECK_OK(ltc_tensor_sub(&r, a, b));
    CHECK("a - b", values_are(r, (double[]){-9, -18, -27, -6, -15, -24}, 6, 0));
    ltc_tensor_free(r);
    CHECK_OK(ltc_tensor_mul(&r, b, a));
    CHECK("b * a", values_are(r, (double[]){10, 40, 90, 40, 100, 180}, 6, 0));
    ltc_tensor_free(r);
    CHECK_OK(ltc_tensor_add_scalar(&r, a, -0.5));
    CHECK("a + s", values_are(r, (double[]){0.5, 1.5, 2.5, 3.5, 4.5, 5.5}, 6, 0));
    ltc_tensor_free(r);
    CHECK_OK(ltc_tensor_mul_scalar(&r, a, 3));
    CHECK("a * s", values_are(r, (double[]){3, 6, 9, 12, 15, 18}, 6, 0));
    ltc_tensor_free(r);

    int64_t ints[3] = {1, 2, 3}, got[3] = {0};
    ltc_tensor *i = NULL;
    CHECK_OK(ltc_tensor_from_data(&i, ints, sb, 1, LTC_INT64, CPU));
    CHECK_OK(ltc_tensor_mul_scalar(&r, i, -2));
    CHECK("int64 * -2 stays int64", ltc_tensor_dtype(r) == LTC_INT64 &&
                                        ltc_tensor_copy_to_host(got, sizeof got, r) == LTC_OK && got[0] == -2 && got[2] == -6);
    ltc_tensor_free(r);
    CHECK_FAILS(ltc_tensor_add_scalar(&r, i, 0.5), LTC_ERR_INVALID_ARGUMENT, "s = 0.5 is not valid for a tensor of int64");
    CHECK_FAILS(ltc_tensor_add_scalar(&r, a, NAN), LTC_ERR_INVALID_ARGUMENT, "pass a finite number");
    CHECK_FAILS(ltc_tensor_mul_scalar(&r, a, INFINITY), LTC_ERR_INVALID_ARGUMENT, "s = inf is not valid");
    CHECK_FAILS(ltc_tensor_add(&r, a, i), LTC_ERR_INVALID_ARGUMENT, "a is float32 [2, 3] on cpu and b is int64 [3] on cpu");
    int64_t s4[1] = {4};
    ltc_tensor *c = NULL;
    CHECK_OK(ltc_tensor_ones(&c, s4, 1, LTC_FLOAT32, CPU));
    CHECK_FAILS(ltc_tensor_mul(&r, a, c), LTC_ERR_INVALID_ARGUMENT, "shapes [2, 3] and [4] do not broadcast");
    CHECK("a failed op leaves *out NULL", r == NULL);
    TH_FREE_TENSORS(a, b, i, c);
}

static void test_matmul(void) {
    const float a_v[6] = {1, 2, 3, 4, 5, 6}, b_v[6] = {1, 0, 0, 1, 1, 1};
    int64_t sa[2] = {2, 3}, sb[2] = {3, 2}, sv[1] = {3}, sbatch[3] = {2, 1, 3};
    ltc_tensor *a = f32(a_v, sa, 2), *b = f32(b_v, sb, 2), *v = f32(a_v, sv, 1), *r = NULL;
    CHECK_OK(ltc_tensor_matmul(&r, a, b));
    CHECK("[2, 3] @ [3, 2]", values_are(r, (double[]){4, 5, 10, 11}, 4, 0) && ltc_tensor_size(r, 1) == 2);
    ltc_tensor_free(r);
    CHECK_OK(ltc_tensor_matmul(&r, v, b));
    CHECK("[3] @ [3, 2] is [2]", values_are(r, (double[]){4, 5}, 2, 0) && ltc_tensor_ndim(r) == 1);
    ltc_tensor_free(r);
    CHECK_OK(ltc_tensor_matmul(&r, a, v));
    CHECK("[2, 3] @ [3] is [2]", values_are(r, (double[]){14, 32}, 2, 0));
    ltc_tensor_free(r);
    ltc_tensor *batch = f32(a_v, sbatch, 3);
    CHECK_OK(ltc_tensor_matmul(&r, batch, b));
    CHECK("[2, 1, 3] @ [3, 2] is [2, 1, 2]", values_are(r, (double[]){4, 5, 10, 11}, 4, 0) && ltc_tensor_ndim(r) == 3);
    ltc_tensor_free(r);
    CHECK_FAILS(ltc_tensor_matmul(&r, a, a), LTC_ERR_INVALID_ARGUMENT,
                "shapes [2, 3] and [2, 3] do not fit: a's last size (3) must equal b's second to last size (2)");
    int64_t ints[6] = {0};
    ltc_tensor *i = NULL, *j = NULL;
    CHECK_OK(ltc_tensor_from_data(&i, ints, sa, 2, LTC_INT64, CPU));
    CHECK_OK(ltc_tensor_from_data(&j, ints, sb, 2, LTC_INT64, CPU));
    CHECK_FAILS(ltc_tensor_matmul(&r, i, j), LTC_ERR_INVALID_ARGUMENT, "a is int64 [2, 3] on cpu: use a floating dtype");
    ltc_tensor *s = NULL;
    CHECK_OK(ltc_tensor_ones(&s, NULL, 0, LTC_FLOAT32, CPU));
    CHECK_FAILS(ltc_tensor_matmul(&r, s, b), LTC_ERR_INVALID_ARGUMENT, "both need 1 dimension or more");
    TH_FREE_TENSORS(a, b, v, batch, i, j, s);
}

static void test_reductions(void) {
    const float v[6] = {-1, 2, -3, 4, 0.5f, -6};
    int64_t shape[2] = {2, 3};
    ltc_tensor *a = f32(v, shape, 2), *r = NULL;
    double x = 0;
    CHECK_OK(ltc_tensor_relu(&r, a));
    CHECK("relu", values_are(r, (double[]){0, 2, 0, 4, 0.5, 0}, 6, 0));
    ltc_tensor_free(r);
    CHECK_OK(ltc_tensor_sum(&r, a));
    CHECK("sum is one element of no dimensions", ltc_tensor_ndim(r) == 0 && ltc_tensor_item(&x, r) == LTC_OK && x == -3.5);
    ltc_tensor_free(r);
    CHECK_OK(ltc_tensor_mean(&r, a));
    CHECK("mean", ltc_tensor_item(&x, r) == LTC_OK && fabs(x - (-3.5 / 6)) < 1e-7);
    ltc_tensor_free(r);
    int64_t idx[3] = {0};
    CHECK_OK(ltc_tensor_argmax(&r, a, 1));
    CHECK("argmax along dim 1", ltc_tensor_dtype(r) == LTC_INT64 && ltc_tensor_ndim(r) == 1 &&
                                    ltc_tensor_copy_to_host(idx, 2 * sizeof *idx, r) == LTC_OK && idx[0] == 1 && idx[1] == 0);
    ltc_tensor_free(r);
    CHECK_OK(ltc_tensor_argmax(&r, a, -2));
    CHECK("argmax along dim -2 (0)", ltc_tensor_copy_to_host(idx, 3 * sizeof *idx, r) == LTC_OK && idx[0] == 1 &&
                                         idx[1] == 0 && idx[2] == 0);
    ltc_tensor_free(r);
    CHECK_FAILS(ltc_tensor_argmax(&r, a, 2), LTC_ERR_INVALID_ARGUMENT,
                "dim 2 is out of range for a 2-dimensional tensor (valid: -2 to 1)");
    int64_t ints[6] = {1, 2, 3, 4, 5, 6};
    ltc_tensor *i = NULL;
    CHECK_OK(ltc_tensor_from_data(&i, ints, shape, 2, LTC_INT64, CPU));
    CHECK_OK(ltc_tensor_sum(&r, i));
    CHECK("sum of int64", ltc_tensor_item(&x, r) == LTC_OK && x == 21);
    ltc_tensor_free(r);
    CHECK_FAILS(ltc_tensor_mean(&r, i), LTC_ERR_INVALID_ARGUMENT, "the tensor is int64 [2, 3] on cpu: use a floating dtype");
    TH_FREE_TENSORS(a, i);
}

static void test_reshape_detach_data(void) {
    const float v[6] = {1, 2, 3, 4, 5, 6};
    int64_t shape[2] = {2, 3};
    ltc_tensor *a = f32(v, shape, 2), *r = NULL, *d = NULL;
    CHECK_OK(ltc_tensor_reshape(&r, a, (int64_t[]){3, -1}, 2));
    CHECK("reshape to [3, -1] is [3, 2]", ltc_tensor_size(r, 0) == 3 && ltc_tensor_size(r, 1) == 2 &&
                                              values_are(r, (double[]){1, 2, 3, 4, 5, 6}, 6, 0));
    void *pa = NULL, *pr = NULL;
    CHECK_OK(ltc_tensor_data(&pa, a));
    CHECK_OK(ltc_tensor_data(&pr, r));
    CHECK("a reshape of a contiguous tensor is a view: one memory", pa != NULL && pa == pr);
    ((float *)pa)[5] = 60; /* written through the pointer: every handle on the memory sees it */
    CHECK("a write through ltc_tensor_data shows in the view", values_are(r, (double[]){1, 2, 3, 4, 5, 60}, 6, 0));
    CHECK_OK(ltc_tensor_detach(&d, a));
    void *pd = NULL;
    CHECK_OK(ltc_tensor_data(&pd, d));
    int rg = -1;
    CHECK_OK(ltc_tensor_requires_grad(&rg, d));
    CHECK("detach shares the memory and needs no gradient", pd == pa && rg == 0);
    ltc_tensor_free(r);
    CHECK_FAILS(ltc_tensor_reshape(&r, a, (int64_t[]){4, -1}, 2), LTC_ERR_INVALID_ARGUMENT,
                "cannot reshape [2, 3] (6 elements) to [4, -1]");
    CHECK_FAILS(ltc_tensor_reshape(&r, a, (int64_t[]){-1, -1}, 2), LTC_ERR_INVALID_ARGUMENT,
                "shape[1] is -1: each size must be 1 or more, or one of them -1");
    CHECK_FAILS(ltc_tensor_reshape(&r, a, (int64_t[]){7}, 1), LTC_ERR_INVALID_ARGUMENT, "cannot reshape [2, 3] (6 elements) to [7]");
    ltc_tensor *one = NULL;
    CHECK_OK(ltc_tensor_ones(&one, (int64_t[]){1, 1}, 2, LTC_FLOAT32, CPU));
    CHECK_OK(ltc_tensor_reshape(&r, one, NULL, 0));
    CHECK("one element reshaped to no dimensions", ltc_tensor_ndim(r) == 0 && ltc_tensor_numel(r) == 1);
    TH_FREE_TENSORS(a, r, d, one);
}

/* f(w) = sum(relu(x @ w)) for float64 x [3, 4], w [4, 2]. */
static double relu_matmul_sum(const ltc_tensor *x, const double *w_v) {
    ltc_tensor *w = f64(w_v, (int64_t[]){4, 2}, 2), *y = NULL, *r = NULL, *s = NULL;
    double v = NAN;
    CHECK_OK(ltc_tensor_matmul(&y, x, w));
    CHECK_OK(ltc_tensor_relu(&r, y));
    CHECK_OK(ltc_tensor_sum(&s, r));
    CHECK_OK(ltc_tensor_item(&v, s));
    TH_FREE_TENSORS(w, y, r, s);
    return v;
}

static void test_gradients_finite_differences(void) {
    ltc_tensor *x = NULL, *w0 = NULL;
    CHECK_OK(ltc_tensor_randn(&x, (int64_t[]){3, 4}, 2, LTC_FLOAT64, CPU, 11));
    CHECK_OK(ltc_tensor_randn(&w0, (int64_t[]){4, 2}, 2, LTC_FLOAT64, CPU, 12));
    double w_v[8];
    CHECK_OK(ltc_tensor_copy_to_host(w_v, sizeof w_v, w0));
    ltc_tensor *w = f64(w_v, (int64_t[]){4, 2}, 2), *y = NULL, *r = NULL, *s = NULL, *g = NULL;
    CHECK_OK(ltc_tensor_set_requires_grad(w, 1));
    CHECK_OK(ltc_tensor_matmul(&y, x, w));
    CHECK_OK(ltc_tensor_relu(&r, y));
    CHECK_OK(ltc_tensor_sum(&s, r));
    CHECK_OK(ltc_tensor_backward(s));
    CHECK_OK(ltc_tensor_grad(&g, w));
    double grad[8] = {0}, worst = 0;
    CHECK_OK(ltc_tensor_copy_to_host(grad, sizeof grad, g));
    for (int k = 0; k < 8; k++) {
        const double eps = 1e-6;
        double up[8], down[8];
        memcpy(up, w_v, sizeof up);
        memcpy(down, w_v, sizeof down);
        up[k] += eps;
        down[k] -= eps;
        double fd = (relu_matmul_sum(x, up) - relu_matmul_sum(x, down)) / (2 * eps);
        worst = fmax(worst, fabs(fd - grad[k]));
    }
    printf("d sum(relu(x @ w)) / dw: autograd against central differences, largest gap %.3g\n", worst);
    CHECK("the gradient through matmul and relu matches finite differences (1e-6)", worst < 1e-6);
    TH_FREE_TENSORS(x, w0, w, y, r, s, g);
}

/* d/da mean(a * b - c + 2) = b / n, d/db = a / n, d/dc = -1 / n. */
static void test_gradients_formulas(void) {
    const double av[4] = {1, -2, 3, 0.5}, bv[4] = {4, 5, -6, 7}, cv[4] = {1, 1, 1, 1};
    int64_t shape[1] = {4};
    ltc_tensor *a = f64(av, shape, 1), *b = f64(bv, shape, 1), *c = f64(cv, shape, 1);
    ltc_tensor *ab = NULL, *d = NULL, *e = NULL, *m = NULL, *ga = NULL, *gb = NULL, *gc = NULL;
    CHECK_OK(ltc_tensor_set_requires_grad(a, 1));
    CHECK_OK(ltc_tensor_set_requires_grad(b, 1));
    CHECK_OK(ltc_tensor_set_requires_grad(c, 1));
    CHECK_OK(ltc_tensor_mul(&ab, a, b));
    CHECK_OK(ltc_tensor_sub(&d, ab, c));
    CHECK_OK(ltc_tensor_add_scalar(&e, d, 2));
    CHECK_OK(ltc_tensor_mean(&m, e));
    CHECK_OK(ltc_tensor_backward(m));
    CHECK_OK(ltc_tensor_grad(&ga, a));
    CHECK_OK(ltc_tensor_grad(&gb, b));
    CHECK_OK(ltc_tensor_grad(&gc, c));
    CHECK("d/da = b / 4", values_are(ga, (double[]){1, 1.25, -1.5, 1.75}, 4, 1e-15));
    CHECK("d/db = a / 4", values_are(gb, (double[]){0.25, -0.5, 0.75, 0.125}, 4, 1e-15));
    CHECK("d/dc = -1 / 4", values_are(gc, (double[]){-0.25, -0.25, -0.25, -0.25}, 4, 1e-15));
    int rg = 0;
    CHECK_OK(ltc_tensor_requires_grad(&rg, ab));
    CHECK("a result of recorded inputs requires a gradient", rg == 1);
    CHECK_FAILS(ltc_tensor_set_requires_grad(ab, 0), LTC_ERR_INVALID_ARGUMENT, "the tensor is not a leaf");
    ltc_tensor *idx = NULL;
    CHECK_OK(ltc_tensor_argmax(&idx, a, 0));
    CHECK_OK(ltc_tensor_requires_grad(&rg, idx));
    CHECK("argmax is never recorded", rg == 0);
    CHECK_FAILS(ltc_tensor_set_requires_grad(idx, 1), LTC_ERR_INVALID_ARGUMENT,
                "the tensor is int64 [] on cpu: only floating tensors can require a gradient");
    CHECK_FAILS(ltc_tensor_set_requires_grad(a, 2), LTC_ERR_INVALID_ARGUMENT, "requires_grad 2 is not valid: use 0 or 1");
    CHECK_OK(ltc_tensor_set_requires_grad(a, 0));
    CHECK_OK(ltc_tensor_requires_grad(&rg, a));
    CHECK("requires_grad switched off on a leaf", rg == 0);
    TH_FREE_TENSORS(a, b, c, ab, d, e, m, ga, gb, gc, idx);
}

static void *grad_mode_of_thread(void *arg) {
    *(int *)arg = ltc_grad_mode_enabled();
    return NULL;
}

static void test_grad_mode(void) {
    CHECK("the grad mode is on by default", ltc_grad_mode_enabled() == 1);
    ltc_tensor *w = NULL, *y = NULL;
    CHECK_OK(ltc_tensor_ones(&w, (int64_t[]){2}, 1, LTC_FLOAT32, CPU));
    CHECK_OK(ltc_tensor_set_requires_grad(w, 1));
    int prev = -1, rg = -1, other = -1;
    CHECK_OK(ltc_grad_mode_set(&prev, 0));
    CHECK("ltc_grad_mode_set gives the mode before", prev == 1 && ltc_grad_mode_enabled() == 0);
    pthread_t th;
    CHECK("another thread starts", pthread_create(&th, NULL, grad_mode_of_thread, &other) == 0 && pthread_join(th, NULL) == 0);
    CHECK("the mode is per thread: another thread still records", other == 1);
    CHECK_OK(ltc_tensor_mul_scalar(&y, w, 2));
    CHECK_OK(ltc_tensor_requires_grad(&rg, y));
    CHECK("nothing is recorded with the mode off", rg == 0);
    ltc_tensor *s = NULL;
    CHECK_OK(ltc_tensor_sum(&s, y));
    CHECK_FAILS(ltc_tensor_backward(s), LTC_ERR_INVALID_ARGUMENT, "has no autograd graph");
    ltc_tensor_free(s);
    CHECK_FAILS(ltc_grad_mode_set(NULL, 2), LTC_ERR_INVALID_ARGUMENT, "enabled 2 is not valid: use 0 or 1");
    CHECK("a refused setting changes nothing", ltc_grad_mode_enabled() == 0);
    CHECK_OK(ltc_grad_mode_set(NULL, prev));
    CHECK("the mode restored", ltc_grad_mode_enabled() == 1);
    TH_FREE_TENSORS(w, y);
}

int main(void) {
    test_elementwise();
    test_matmul();
    test_reductions();
    test_reshape_detach_data();
    test_gradients_finite_differences();
    test_gradients_formulas();
    test_grad_mode();
    return th_finish();
}
