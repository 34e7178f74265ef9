/* Tensors on the CPU: creation, queries, copies, every error path; and what a CUDA request does here. */
#include "testhelper.h"

#include <math.h>

static const ltc_device CPU = {LTC_DEVICE_CPU, 0};

static void test_zeros_ones(void) {
    int64_t shape[2] = {3, 4};
    ltc_tensor *z = NULL, *o = NULL;
    CHECK_OK(ltc_tensor_zeros(&z, shape, 2, LTC_FLOAT32, CPU));
    CHECK_OK(ltc_tensor_ones(&o, shape, 2, LTC_INT64, CPU));
    CHECK("ndim", ltc_tensor_ndim(z) == 2);
    CHECK("sizes", ltc_tensor_size(z, 0) == 3 && ltc_tensor_size(z, 1) == 4 && ltc_tensor_size(z, -1) == 4);
    CHECK("numel", ltc_tensor_numel(z) == 12);
    CHECK("nbytes", ltc_tensor_nbytes(z) == 48 && ltc_tensor_nbytes(o) == 96);
    CHECK("dtype", ltc_tensor_dtype(z) == LTC_FLOAT32 && ltc_tensor_dtype(o) == LTC_INT64);
    ltc_device d = ltc_tensor_device(z);
    CHECK("device", d.type == LTC_DEVICE_CPU && d.index == 0);
    float zf[12];
    int64_t oi[12];
    CHECK_OK(ltc_tensor_copy_to_host(zf, sizeof zf, z));
    CHECK_OK(ltc_tensor_copy_to_host(oi, sizeof oi, o));
    int all = 1;
    for (int i = 0; i < 12; i++)
        all &= zf[i] == 0.0f && oi[i] == 1;
    CHECK("values", all);
    CHECK_FAILS(ltc_tensor_size(z, 2) == -1 ? LTC_ERR_INVALID_ARGUMENT : LTC_OK, LTC_ERR_INVALID_ARGUMENT,
                "dim 2 is out of range for a 2-dimensional tensor (valid: -2 to 1)");
    ltc_tensor_free(z);
    ltc_tensor_free(o);

    ltc_tensor *s = NULL;
    CHECK_OK(ltc_tensor_ones(&s, NULL, 0, LTC_FLOAT64, CPU));
    double v = 0;
    CHECK_OK(ltc_tensor_item(&v, s));
    CHECK("scalar", ltc_tensor_ndim(s) == 0 && ltc_tensor_numel(s) == 1 && v == 1.0);
    ltc_tensor_free(s);
}

static void test_from_data_roundtrip(void) {
    int64_t shape[3] = {2, 3, 2};
    double src[12];
    for (int i = 0; i < 12; i++)
        src[i] = i * 0.5 - 3;
    ltc_tensor *t = NULL;
    CHECK_OK(ltc_tensor_from_data(&t, src, shape, 3, LTC_FLOAT64, CPU));
    src[0] = 1000; /* the tensor holds a copy */
    double back[12];
    CHECK_OK(ltc_tensor_copy_to_host(back, sizeof back, t));
    CHECK("copied, not aliased", back[0] == -3);
    int same = 1;
    for (int i = 1; i < 12; i++)
        same &= back[i] == i * 0.5 - 3;
    CHECK("round trip", same);
    CHECK_FAILS(ltc_tensor_copy_to_host(back, sizeof back - 8, t), LTC_ERR_INVALID_ARGUMENT,
                "buffer size 88 does not match the tensor's 96 bytes (float64 [2, 3, 2])");
    double item;
    CHECK_FAILS(ltc_tensor_item(&item, t), LTC_ERR_INVALID_ARGUMENT, "12 elements (shape [2, 3, 2])");

    ltc_tensor *c = NULL;
    CHECK_OK(ltc_tensor_to(&c, t, CPU, 0));
    CHECK("to() copies", c != NULL && c != t && ltc_tensor_numel(c) == 12);
    ltc_tensor_free(t); /* the copy outlives the original */
    CHECK_OK(ltc_tensor_copy_to_host(back, sizeof back, c));
    CHECK("copy intact", back[11] == 11 * 0.5 - 3);
    ltc_tensor_free(c);

    int32_t ints[4] = {1, -2, 2147483647, -2147483647 - 1};
    int64_t n4 = 4;
    CHECK_OK(ltc_tensor_from_data(&t, ints, &n4, 1, LTC_INT32, CPU));
    int32_t iback[4];
    CHECK_OK(ltc_tensor_copy_to_host(iback, sizeof iback, t));
    CHECK("int32 exact", memcmp(ints, iback, sizeof ints) == 0);
    ltc_tensor_free(t);
}

static void test_randn(void) {
    int64_t shape[1] = {10000};
    ltc_tensor *a = NULL, *b = NULL, *c = NULL;
    CHECK_OK(ltc_tensor_randn(&a, shape, 1, LTC_FLOAT32, CPU, 7));
    CHECK_OK(ltc_tensor_randn(&b, shape, 1, LTC_FLOAT32, CPU, 7));
    CHECK_OK(ltc_tensor_randn(&c, shape, 1, LTC_FLOAT32, CPU, 8));
    static float va[10000], vb[10000], vc[10000];
    ltc_tensor_copy_to_host(va, sizeof va, a);
    ltc_tensor_copy_to_host(vb, sizeof vb, b);
    ltc_tensor_copy_to_host(vc, sizeof vc, c);
    CHECK("same seed, same values", memcmp(va, vb, sizeof va) == 0);
    CHECK("other seed, other values", memcmp(va, vc, sizeof va) != 0);
    double sum = 0, sq = 0;
    for (int i = 0; i < 10000; i++) {
        sum += va[i];
        sq += (double)va[i] * va[i];
    }
    double mean = sum / 10000, var = sq / 10000 - mean * mean;
    CHECK("standard normal mean", fabs(mean) < 0.05);
    CHECK("standard normal variance", fabs(var - 1) < 0.06);
    ltc_tensor *bad = NULL;
    CHECK_FAILS(ltc_tensor_randn(&bad, shape, 1, LTC_INT64, CPU, 1), LTC_ERR_INVALID_ARGUMENT,
                "dtype int64 is not valid: use float32 or float64");
    CHECK("out NULL on failure", bad == NULL);
    ltc_tensor_free(a);
    ltc_tensor_free(b);
    ltc_tensor_free(c);
}

static void test_bad_arguments(void) {
    ltc_tensor *t = (ltc_tensor *)1; /* must be set to NULL on failure */
    int64_t shape[2] = {2, 0};
    CHECK_FAILS(ltc_tensor_zeros(&t, shape, 2, LTC_FLOAT32, CPU), LTC_ERR_INVALID_ARGUMENT,
                "shape[1] is 0: each size must be 1 or more");
    CHECK("out set to NULL", t == NULL);
    shape[1] = -5;
    CHECK_FAILS(ltc_tensor_ones(&t, shape, 2, LTC_FLOAT32, CPU), LTC_ERR_INVALID_ARGUMENT, "shape[1] is -5");
    shape[1] = 3;
    CHECK_FAILS(ltc_tensor_zeros(&t, shape, -1, LTC_FLOAT32, CPU), LTC_ERR_INVALID_ARGUMENT, "ndim -1 is not valid: use 0 to 8");
    CHECK_FAILS(ltc_tensor_zeros(&t, shape, 9, LTC_FLOAT32, CPU), LTC_ERR_INVALID_ARGUMENT, "ndim 9 is not valid");
    CHECK_FAILS(ltc_tensor_zeros(&t, NULL, 2, LTC_FLOAT32, CPU), LTC_ERR_INVALID_ARGUMENT, "shape is NULL but ndim is 2");
    CHECK_FAILS(ltc_tensor_zeros(&t, shape, 2, (ltc_dtype)17, CPU), LTC_ERR_INVALID_ARGUMENT, "dtype 17 is not valid");
    CHECK_FAILS(ltc_tensor_zeros(NULL, shape, 2, LTC_FLOAT32, CPU), LTC_ERR_INVALID_ARGUMENT, "'out' is NULL");
    ltc_device badtype = {(ltc_device_type)5, 0}, badcpu = {LTC_DEVICE_CPU, 2}, badcuda = {LTC_DEVICE_CUDA, -7};
    CHECK_FAILS(ltc_tensor_zeros(&t, shape, 2, LTC_FLOAT32, badtype), LTC_ERR_INVALID_ARGUMENT, "device type 5 is not valid");
    CHECK_FAILS(ltc_tensor_zeros(&t, shape, 2, LTC_FLOAT32, badcpu), LTC_ERR_INVALID_ARGUMENT, "device cpu with index 2");
    CHECK_FAILS(ltc_tensor_zeros(&t, shape, 2, LTC_FLOAT32, badcuda), LTC_ERR_INVALID_ARGUMENT, "CUDA device index -7 is not valid");
    int64_t huge[3] = {INT64_C(1) << 40, INT64_C(1) << 20, 1 << 10};
    CHECK_FAILS(ltc_tensor_zeros(&t, huge, 3, LTC_FLOAT32, CPU), LTC_ERR_INVALID_ARGUMENT, "more than 2^63 bytes");
    CHECK_FAILS(ltc_tensor_from_data(&t, NULL, shape, 2, LTC_FLOAT32, CPU), LTC_ERR_INVALID_ARGUMENT, "'data' is NULL");
    CHECK_FAILS(ltc_tensor_to(&t, NULL, CPU, 0), LTC_ERR_INVALID_ARGUMENT, "'src' is NULL");
    CHECK_FAILS(ltc_tensor_copy_to_host(NULL, 8, NULL), LTC_ERR_INVALID_ARGUMENT, "'dst' is NULL");
    double d;
    CHECK_FAILS(ltc_tensor_item(&d, NULL), LTC_ERR_INVALID_ARGUMENT, "'tensor' is NULL");
    CHECK_FAILS(ltc_tensor_backward(NULL), LTC_ERR_INVALID_ARGUMENT, "'loss' is NULL");
    CHECK_FAILS(ltc_tensor_grad(&t, NULL), LTC_ERR_INVALID_ARGUMENT, "'tensor' is NULL");

    /* queries on NULL return their documented sentinels and say why */
    CHECK("ndim NULL", ltc_tensor_ndim(NULL) == -1 && strstr(ltc_last_error(), "ltc_tensor_ndim") != NULL);
    CHECK("size NULL", ltc_tensor_size(NULL, 0) == -1);
    CHECK("numel NULL", ltc_tensor_numel(NULL) == -1);
    CHECK("nbytes NULL", ltc_tensor_nbytes(NULL) == 0);
    CHECK("dtype NULL", (int)ltc_tensor_dtype(NULL) == -1);
    CHECK("device NULL", ltc_tensor_device(NULL).index == -1);
    ltc_tensor_free(NULL); /* no-op */

    /* a tensor with no graph */
    ltc_tensor *plain = NULL;
    CHECK_OK(ltc_tensor_ones(&plain, NULL, 0, LTC_FLOAT32, CPU));
    CHECK_FAILS(ltc_tensor_backward(plain), LTC_ERR_INVALID_ARGUMENT, "has no autograd graph");
    CHECK_FAILS(ltc_tensor_grad(&t, plain), LTC_ERR_INVALID_ARGUMENT, "does not require a gradient");
    ltc_tensor_free(plain);
}

static void test_out_of_memory(void) {
    /* 2^48 floats = 1 PiB: more than the 128 TiB a 64-bit Linux process can even address, so it fails
     * under every overcommit setting; the process must go on afterwards. */
    int64_t shape[2] = {INT64_C(1) << 24, INT64_C(1) << 24};
    ltc_tensor *t = NULL;
    CHECK_FAILS(ltc_tensor_zeros(&t, shape, 2, LTC_FLOAT32, CPU), LTC_ERR_OUT_OF_MEMORY, "you tried to allocate 1125899906842624 bytes");
    CHECK("enforce prefix stripped", strncmp(ltc_last_error(), "DefaultCPUAllocator", 19) == 0);
    CHECK("nothing returned", t == NULL);
    int64_t small = 16;
    CHECK_OK(ltc_tensor_ones(&t, &small, 1, LTC_FLOAT32, CPU));
    ltc_tensor_free(t);
}

static void test_cuda_request(void) {
    int n = 0;
    ltc_cuda_device_count(&n);
    int64_t shape[1] = {4};
    ltc_tensor *t = NULL;
    ltc_device cuda0 = {LTC_DEVICE_CUDA, 0}, past = {LTC_DEVICE_CUDA, n};
    if (n == 0) {
        CHECK_FAILS(ltc_tensor_zeros(&t, shape, 1, LTC_FLOAT32, cuda0), LTC_ERR_CUDA_UNAVAILABLE,
                    "cuda:0 requested, but LibTorch sees no CUDA device");
        CHECK("nothing returned", t == NULL);
    } else {
        char want[64];
        snprintf(want, sizeof want, "cuda:%d is out of range", n);
        CHECK_FAILS(ltc_tensor_zeros(&t, shape, 1, LTC_FLOAT32, past), LTC_ERR_INVALID_ARGUMENT, want);
    }
}


/* A list shares its tensors' memory: what one handle writes, the list's entry sees; names keep their order. */
static void test_tensor_list(void) {
    ltc_tensor_list *l = NULL;
    ltc_tensor *a = NULL, *b = NULL, *got = NULL;
    int64_t shape[1] = {3};
    float one[3] = {1, 2, 3}, two[3] = {4, 5, 6}, back[3] = {0};
    CHECK_OK(ltc_tensor_list_new(&l));
    CHECK("a new list is empty", ltc_tensor_list_count(l) == 0);
    CHECK_OK(ltc_tensor_from_data(&a, one, shape, 1, LTC_FLOAT32, CPU));
    CHECK_OK(ltc_tensor_from_data(&b, two, shape, 1, LTC_FLOAT32, CPU));
    CHECK_OK(ltc_tensor_list_append(l, "first", a));
    CHECK_OK(ltc_tensor_list_append(l, "0.weight", b));
    CHECK("two entries", ltc_tensor_list_count(l) == 2);
    const char *name = NULL;
    CHECK_OK(ltc_tensor_list_get(NULL, &name, l, 1));
    CHECK("entry 1 is named 0.weight", name && strcmp(name, "0.weight") == 0);
    ltc_tensor_free(a); /* the list keeps the memory alive */
    CHECK_OK(ltc_tensor_list_get(&got, &name, l, 0));
    CHECK("entry 0 is named first", name && strcmp(name, "first") == 0);
    CHECK_OK(ltc_tensor_copy_to_host(back, sizeof back, got));
    CHECK("entry 0 holds the first tensor's values after its handle was freed", memcmp(back, one, sizeof one) == 0);
    ltc_tensor_free(got);
    got = NULL;
    float three[3] = {7, 8, 9};
    ltc_tensor *c = NULL;
    CHECK_OK(ltc_tensor_from_data(&c, three, shape, 1, LTC_FLOAT32, CPU));
    CHECK_OK(ltc_tensor_copy(b, c, 0)); /* written through the caller's handle */
    CHECK_OK(ltc_tensor_list_find(&got, l, "0.weight"));
    CHECK_OK(ltc_tensor_copy_to_host(back, sizeof back, got));
    CHECK("the list sees a write made through another handle", memcmp(back, three, sizeof three) == 0);
    TH_FREE_TENSORS(b, c, got);
    ltc_tensor_list_free(l);
}

int main(void) {
    test_zeros_ones();
    test_tensor_list();
    test_from_data_roundtrip();
    test_randn();
    test_bad_arguments();
    test_out_of_memory();
    test_cuda_request();
    return th_finish();
}
