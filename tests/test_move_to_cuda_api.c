/* Transfers and timing on any machine: empty and pinned tensors, ltc_tensor_copy, peer access, the link
 * query and events; every error path, with and without a GPU (the GPU paths proper are in
 * test_move_to_cuda_gpu.c). */
#include "testhelper.h"

static const ltc_device CPU = {LTC_DEVICE_CPU, 0};
static int ngpu;

static void test_empty(void) {
    int64_t shape[3] = {2, 3, 4};
    ltc_tensor *t = NULL;
    CHECK_OK(ltc_tensor_empty(&t, shape, 3, LTC_INT32, CPU, 0));
    CHECK("empty: shape", ltc_tensor_ndim(t) == 3 && ltc_tensor_numel(t) == 24 && ltc_tensor_nbytes(t) == 96);
    CHECK("empty: dtype and device", ltc_tensor_dtype(t) == LTC_INT32 && ltc_tensor_device(t).type == LTC_DEVICE_CPU);
    int pinned = -1;
    CHECK_OK(ltc_tensor_is_pinned(&pinned, t));
    CHECK("pageable is not pinned", pinned == 0);
    ltc_tensor_free(t);

    t = (ltc_tensor *)1; /* set to NULL on failure */
    int64_t zero[2] = {3, 0}, neg[2] = {-2, 3}, huge[3] = {INT64_C(1) << 40, INT64_C(1) << 20, 1 << 10};
    CHECK_FAILS(ltc_tensor_empty(&t, zero, 2, LTC_FLOAT32, CPU, 0), LTC_ERR_INVALID_ARGUMENT,
                "shape[1] is 0: each size must be 1 or more");
    CHECK("out NULL on failure", t == NULL);
    CHECK_FAILS(ltc_tensor_empty(&t, neg, 2, LTC_FLOAT32, CPU, 0), LTC_ERR_INVALID_ARGUMENT, "shape[0] is -2");
    CHECK_FAILS(ltc_tensor_empty(&t, huge, 3, LTC_FLOAT32, CPU, 0), LTC_ERR_INVALID_ARGUMENT, "more than 2^63 bytes");
    CHECK_FAILS(ltc_tensor_empty(&t, shape, 9, LTC_FLOAT32, CPU, 0), LTC_ERR_INVALID_ARGUMENT, "ndim 9 is not valid");
    CHECK_FAILS(ltc_tensor_empty(&t, shape, 3, (ltc_dtype)9, CPU, 0), LTC_ERR_INVALID_ARGUMENT, "dtype 9 is not valid");
    CHECK_FAILS(ltc_tensor_empty(NULL, shape, 3, LTC_FLOAT32, CPU, 0), LTC_ERR_INVALID_ARGUMENT, "'out' is NULL");
    CHECK_FAILS(ltc_tensor_empty(&t, shape, 3, LTC_FLOAT32, ((ltc_device){LTC_DEVICE_CPU, 3}), 0),
                LTC_ERR_INVALID_ARGUMENT, "device cpu with index 3");
    CHECK_FAILS(ltc_tensor_empty(&t, shape, 3, LTC_FLOAT32, ((ltc_device){LTC_DEVICE_CUDA, 0}), 1),
                LTC_ERR_INVALID_ARGUMENT, "pinned memory is host memory, but the device is cuda:0");

    if (ngpu == 0) {
        CHECK_FAILS(ltc_tensor_empty(&t, shape, 3, LTC_FLOAT32, CPU, 1), LTC_ERR_CUDA_UNAVAILABLE,
                    "ltc_tensor_empty: pinned host memory needs a usable GPU, but LibTorch sees no CUDA device");
        CHECK("no GPU: the message points at check_cuda", strstr(ltc_last_error(), "run check_cuda") != NULL);
        CHECK_FAILS(ltc_tensor_empty(&t, shape, 3, LTC_FLOAT32, ((ltc_device){LTC_DEVICE_CUDA, 0}), 0),
                    LTC_ERR_CUDA_UNAVAILABLE, "cuda:0 requested, but LibTorch sees no CUDA device");
    } else {
        CHECK_OK(ltc_tensor_empty(&t, shape, 3, LTC_FLOAT32, CPU, 1));
        CHECK_OK(ltc_tensor_is_pinned(&pinned, t));
        CHECK("pinned is pinned", pinned == 1);
        ltc_tensor_free(t);
    }
}

static void test_out_of_memory(void) {
    /* 1 PiB: past the address space, so it fails under any overcommit setting; the process goes on. */
    int64_t shape[2] = {INT64_C(1) << 24, INT64_C(1) << 24};
    ltc_tensor *t = NULL;
    CHECK_FAILS(ltc_tensor_empty(&t, shape, 2, LTC_FLOAT32, CPU, 0), LTC_ERR_OUT_OF_MEMORY,
                "you tried to allocate 1125899906842624 bytes");
    CHECK("nothing returned", t == NULL);
    if (ngpu > 0) {
        CHECK_FAILS(ltc_tensor_empty(&t, shape, 2, LTC_FLOAT32, CPU, 1), LTC_ERR_OUT_OF_MEMORY,
                    "ltc_tensor_empty: out of pinned host memory: 1125899906842624 bytes requested");
        CHECK("nothing returned (pinned)", t == NULL);
    }
    int64_t small = 1000;
    CHECK_OK(ltc_tensor_empty(&t, &small, 1, LTC_FLOAT64, CPU, 0));
    CHECK("the process goes on", t != NULL && ltc_tensor_numel(t) == 1000);
    ltc_tensor_free(t);
}

static void test_pin_memory(void) {
    float v[6] = {1, 2, 3, 4, 5, 6};
    int64_t shape[2] = {2, 3};
    ltc_tensor *src = NULL, *p = (ltc_tensor *)1;
    CHECK_OK(ltc_tensor_from_data(&src, v, shape, 2, LTC_FLOAT32, CPU));
    CHECK_FAILS(ltc_tensor_pin_memory(NULL, src), LTC_ERR_INVALID_ARGUMENT, "'out' is NULL");
    CHECK_FAILS(ltc_tensor_pin_memory(&p, NULL), LTC_ERR_INVALID_ARGUMENT, "'src' is NULL");
    CHECK("out NULL on failure", p == NULL);
    if (ngpu == 0) {
        CHECK_FAILS(ltc_tensor_pin_memory(&p, src), LTC_ERR_CUDA_UNAVAILABLE,
                    "ltc_tensor_pin_memory: pinned host memory needs a usable GPU, but LibTorch sees no CUDA device");
    } else {
        CHECK_OK(ltc_tensor_pin_memory(&p, src));
        int pinned = 0;
        CHECK_OK(ltc_tensor_is_pinned(&pinned, p));
        float back[6];
        CHECK_OK(ltc_tensor_copy_to_host(back, sizeof back, p));
        CHECK("pinned copy holds the values", pinned == 1 && memcmp(v, back, sizeof v) == 0);
        ltc_tensor *gpu = NULL;
        CHECK_OK(ltc_tensor_to(&gpu, src, (ltc_device){LTC_DEVICE_CUDA, 0}, 0));
        CHECK_FAILS(ltc_tensor_pin_memory(&p, gpu), LTC_ERR_INVALID_ARGUMENT,
                    "the tensor is on cuda:0; only host (cpu) tensors can be pinned");
        ltc_tensor_free(gpu);
    }
    ltc_tensor_free(p);
    ltc_tensor_free(src);
    int x;
    CHECK_FAILS(ltc_tensor_is_pinned(NULL, src), LTC_ERR_INVALID_ARGUMENT, "'out' is NULL");
    CHECK_FAILS(ltc_tensor_is_pinned(&x, NULL), LTC_ERR_INVALID_ARGUMENT, "'tensor' is NULL");
}

static void test_copy_on_host(void) {
    int64_t shape[2] = {3, 5};
    double v[15], back[15];
    for (int i = 0; i < 15; i++)
        v[i] = i * 1.25 - 7;
    ltc_tensor *src = NULL, *dst = NULL, *other = NULL;
    CHECK_OK(ltc_tensor_from_data(&src, v, shape, 2, LTC_FLOAT64, CPU));
    CHECK_OK(ltc_tensor_empty(&dst, shape, 2, LTC_FLOAT64, CPU, 0));
    CHECK_OK(ltc_tensor_copy(dst, src, 0));
    CHECK_OK(ltc_tensor_copy_to_host(back, sizeof back, dst));
    CHECK("host to host copy", memcmp(v, back, sizeof v) == 0);
    CHECK_OK(ltc_tensor_copy(dst, src, 1)); /* non_blocking on the host: still a plain copy */
    CHECK_OK(ltc_tensor_copy(dst, dst, 0)); /* onto itself: allowed, nothing changes */
    CHECK_OK(ltc_tensor_copy_to_host(back, sizeof back, dst));
    CHECK("copy onto itself", memcmp(v, back, sizeof v) == 0);

    CHECK_FAILS(ltc_tensor_copy(NULL, src, 0), LTC_ERR_INVALID_ARGUMENT, "'dst' is NULL");
    CHECK_FAILS(ltc_tensor_copy(dst, NULL, 0), LTC_ERR_INVALID_ARGUMENT, "'src' is NULL");
    CHECK_OK(ltc_tensor_empty(&other, shape, 2, LTC_FLOAT32, CPU, 0));
    CHECK_FAILS(ltc_tensor_copy(other, src, 0), LTC_ERR_INVALID_ARGUMENT,
                "dst is float32 [3, 5] on cpu but src is float64 [3, 5] on cpu: shape and dtype must be the same");
    ltc_tensor_free(other);
    int64_t flat = 15;
    CHECK_OK(ltc_tensor_empty(&other, &flat, 1, LTC_FLOAT64, CPU, 0));
    CHECK_FAILS(ltc_tensor_copy(other, src, 0), LTC_ERR_INVALID_ARGUMENT,
                "dst is float64 [15] on cpu but src is float64 [3, 5] on cpu");
    ltc_tensor_free(other);

    /* into a module parameter: the values land in the parameter, autograd is not involved */
    ltc_module *lin = NULL;
    ltc_tensor_list *params = NULL;
    ltc_tensor *w = NULL, *nw = NULL;
    float ones[6] = {1, 1, 1, 1, 1, 1}, wb[6];
    int64_t ws[2] = {2, 3};
    int requires = -1;
    CHECK_OK(ltc_module_linear_new(&lin, 3, 2, 1));
    CHECK_OK(ltc_module_parameters(&params, lin));
    CHECK_OK(ltc_tensor_list_find(&w, params, "weight"));
    CHECK_OK(ltc_tensor_from_data(&nw, ones, ws, 2, LTC_FLOAT32, CPU));
    CHECK_OK(ltc_tensor_copy(w, nw, 0));
    CHECK_OK(ltc_tensor_copy_to_host(wb, sizeof wb, w));
    CHECK("copy into a parameter", memcmp(wb, ones, sizeof wb) == 0);
    CHECK_OK(ltc_tensor_requires_grad(&requires, w));
    CHECK("the parameter still requires a gradient", requires == 1);
    ltc_tensor_free(nw);
    ltc_tensor_free(w);
    ltc_tensor_list_free(params);
    ltc_module_free(lin);
    ltc_tensor_free(dst);
    ltc_tensor_free(src);
}

static void test_cuda_queries(void) {
    int v = -1;
    ltc_cuda_link_info info;
    char want[96];
    CHECK_FAILS(ltc_cuda_peer_access(NULL, LTC_CUDA(0), LTC_CUDA(0)), LTC_ERR_INVALID_ARGUMENT, "'out' is NULL");
    CHECK_FAILS(ltc_cuda_peer_access(&v, LTC_CUDA(-1), LTC_CUDA(0)), LTC_ERR_INVALID_ARGUMENT,
                "ltc_cuda_peer_access: device -1 is not valid: use a CUDA device index, 0 and up");
    CHECK_FAILS(ltc_cuda_peer_access(&v, LTC_CUDA(0), LTC_CUDA(-3)), LTC_ERR_INVALID_ARGUMENT, "peer -3 is not valid");
    CHECK_FAILS(ltc_cuda_link_info_get(NULL, LTC_CUDA(0)), LTC_ERR_INVALID_ARGUMENT, "'out' is NULL");
    CHECK_FAILS(ltc_cuda_link_info_get(&info, LTC_CUDA(-2)), LTC_ERR_INVALID_ARGUMENT, "device -2 is not valid");
    if (ngpu == 0) {
        CHECK_FAILS(ltc_cuda_peer_access(&v, LTC_CUDA(0), LTC_CUDA(1)), LTC_ERR_CUDA_UNAVAILABLE, "cuda:0 requested, but LibTorch sees no CUDA device");
        CHECK_FAILS(ltc_cuda_link_info_get(&info, LTC_CUDA(0)), LTC_ERR_CUDA_UNAVAILABLE, "cuda:0 requested, but");
    } else {
        snprintf(want, sizeof want, "cuda:%d is out of range: %d CUDA device", ngpu, ngpu);
        CHECK_FAILS(ltc_cuda_peer_access(&v, LTC_CUDA(0), LTC_CUDA(ngpu)), LTC_ERR_INVALID_ARGUMENT, want);
        CHECK_FAILS(ltc_cuda_link_info_get(&info, LTC_CUDA(ngpu)), LTC_ERR_INVALID_ARGUMENT, want);
    }
    CHECK("untouched on failure", v == -1);
}

static void test_events(void) {
    ltc_event *e = (ltc_event *)1;
    CHECK_FAILS(ltc_event_new(NULL, LTC_CUDA(0)), LTC_ERR_INVALID_ARGUMENT, "'out' is NULL");
    CHECK_FAILS(ltc_event_new(&e, LTC_CUDA(-2)), LTC_ERR_INVALID_ARGUMENT, "CUDA device index -2 is not valid");
    CHECK("out NULL on failure", e == NULL);
    if (ngpu == 0)
        CHECK_FAILS(ltc_event_new(&e, LTC_CUDA(0)), LTC_ERR_CUDA_UNAVAILABLE, "cuda:0 requested, but LibTorch sees no CUDA device");
    else {
        char want[64];
        snprintf(want, sizeof want, "cuda:%d is out of range", ngpu);
        CHECK_FAILS(ltc_event_new(&e, LTC_CUDA(ngpu)), LTC_ERR_INVALID_ARGUMENT, want);
    }
    int done;
    double ms;
    CHECK_FAILS(ltc_event_record(NULL), LTC_ERR_INVALID_ARGUMENT, "'event' is NULL");
    CHECK_FAILS(ltc_event_synchronize(NULL), LTC_ERR_INVALID_ARGUMENT, "'event' is NULL");
    CHECK_FAILS(ltc_event_query(&done, NULL), LTC_ERR_INVALID_ARGUMENT, "'event' is NULL");
    CHECK_FAILS(ltc_event_elapsed_ms(&ms, NULL, NULL), LTC_ERR_INVALID_ARGUMENT, "'start' is NULL");
    ltc_event_free(NULL); /* no-op */
}

int main(void) {
    CHECK_OK(ltc_cuda_device_count(&ngpu));
    printf("%d CUDA device(s)\n", ngpu);
    test_empty();
    test_out_of_memory();
    test_pin_memory();
    test_copy_on_host();
    test_cuda_queries();
    test_events();
    return th_finish();
}
