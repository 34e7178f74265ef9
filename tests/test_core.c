/* Versions, status strings, last error, build info, device and dtype parsing, CUDA queries. */
#include "testhelper.h"

#include <pthread.h>

static void test_versions(void) {
    CHECK("version number matches header", ltc_version_number() == LTC_VERSION_NUMBER);
    CHECK("version string matches header", strcmp(ltc_version(), LTC_VERSION_STRING) == 0);
}

static void test_status(void) {
    CHECK("OK name", strcmp(ltc_status_string(LTC_OK), "LTC_OK") == 0);
    CHECK("invalid argument name", strcmp(ltc_status_string(LTC_ERR_INVALID_ARGUMENT), "LTC_ERR_INVALID_ARGUMENT") == 0);
    CHECK("out of memory name", strcmp(ltc_status_string(LTC_ERR_OUT_OF_MEMORY), "LTC_ERR_OUT_OF_MEMORY") == 0);
    CHECK("unknown status", strcmp(ltc_status_string((ltc_status)1234), "LTC_ERR_UNKNOWN") == 0);
    /* pinned values */
    CHECK("pinned values", LTC_OK == 0 && LTC_ERR_INVALID_ARGUMENT == 1 && LTC_ERR_CUDA_UNAVAILABLE == 2 &&
                               LTC_ERR_DEVICE == 3 && LTC_ERR_OUT_OF_MEMORY == 4 && LTC_ERR_TORCH == 5 &&
                               LTC_ERR_DISTRIBUTED == 6 && LTC_ERR_TIMEOUT == 7 && LTC_ERR_UNSUPPORTED == 8 &&
                               LTC_ERR_INTERNAL == 9 && LTC_ERR_IO == 10);
    CHECK("last error never NULL", ltc_last_error() != NULL);
}

static void *thread_fails(void *arg) {
    (void)arg;
    ltc_device d;
    ltc_device_parse(&d, "thread-local-device");
    return NULL;
}

static void test_last_error_per_thread(void) {
    ltc_device d;
    CHECK_FAILS(ltc_device_parse(&d, "main-thread"), LTC_ERR_INVALID_ARGUMENT, "main-thread");
    pthread_t th;
    pthread_create(&th, NULL, thread_fails, NULL);
    pthread_join(th, NULL);
    CHECK("another thread's failure leaves ours", strstr(ltc_last_error(), "main-thread") != NULL);
}

static void test_build_info(void) {
    ltc_build_info info;
    memset(&info, 0, sizeof info);
    CHECK_OK(ltc_build_info_get(&info));
    CHECK("torch version", info.torch_version && strcmp(info.torch_version, LTC_TEST_TORCH_VERSION) == 0);
#if LTC_TEST_TORCH_HAS_CUDA
    CHECK("built with CUDA", info.cuda_built == 1);
    CHECK("CUDA runtime version", info.cuda_runtime_version >= 11000 && info.cuda_runtime_version < 100000);
    CHECK("cuDNN version", info.cudnn_version >= 80000);
    CHECK("NCCL version", info.nccl_version >= 20000);
#else
    CHECK("CPU-only", info.cuda_built == 0 && info.cuda_runtime_version == 0);
#endif
    CHECK_FAILS(ltc_build_info_get(NULL), LTC_ERR_INVALID_ARGUMENT, "'out' is NULL");
}

static void test_device_parse(void) {
    ltc_device d = {LTC_DEVICE_CPU, 99};
    CHECK_OK(ltc_device_parse(&d, "cpu"));
    CHECK("cpu", d.type == LTC_DEVICE_CPU && d.index == 0);
    CHECK_OK(ltc_device_parse(&d, "cuda"));
    CHECK("cuda is current device", d.type == LTC_DEVICE_CUDA && d.index == -1);
    CHECK_OK(ltc_device_parse(&d, "cuda:0"));
    CHECK("cuda:0", d.type == LTC_DEVICE_CUDA && d.index == 0);
    CHECK_OK(ltc_device_parse(&d, "cuda:12"));
    CHECK("cuda:12", d.type == LTC_DEVICE_CUDA && d.index == 12);

    const char *bad[] = {"cuda:", "cuda:-1", "cuda:1x", "gpu", "CUDA:0", "", " cpu", "cpu:0", "cuda:99999999999", "cuda:+1"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char want[64];
        snprintf(want, sizeof want, "device \"%s\" is not valid", bad[i]);
        d.type = LTC_DEVICE_CPU;
        d.index = 42;
        CHECK_FAILS(ltc_device_parse(&d, bad[i]), LTC_ERR_INVALID_ARGUMENT, want);
        CHECK("bad string leaves out untouched", d.type == LTC_DEVICE_CPU && d.index == 42);
    }
    CHECK_FAILS(ltc_device_parse(&d, "gpu"), LTC_ERR_INVALID_ARGUMENT, "\"cuda:N\"");
    CHECK_FAILS(ltc_device_parse(NULL, "cpu"), LTC_ERR_INVALID_ARGUMENT, "'out' is NULL");
    CHECK_FAILS(ltc_device_parse(&d, NULL), LTC_ERR_INVALID_ARGUMENT, "'text' is NULL");
}

static void test_device_format(void) {
    char buf[32];
    ltc_device cpu = {LTC_DEVICE_CPU, 0}, cur = {LTC_DEVICE_CUDA, -1}, c3 = {LTC_DEVICE_CUDA, 3};
    CHECK("cpu", ltc_device_format(buf, sizeof buf, cpu) == 3 && strcmp(buf, "cpu") == 0);
    CHECK("cuda", ltc_device_format(buf, sizeof buf, cur) == 4 && strcmp(buf, "cuda") == 0);
    CHECK("cuda:3", ltc_device_format(buf, sizeof buf, c3) == 6 && strcmp(buf, "cuda:3") == 0);
    CHECK("truncates like snprintf", ltc_device_format(buf, 4, c3) == 6 && strcmp(buf, "cud") == 0);
    ltc_device bad = {(ltc_device_type)7, 0};
    CHECK("bad type", ltc_device_format(buf, sizeof buf, bad) == -1);
}

static void test_dtype(void) {
    ltc_dtype t = LTC_INT32;
    CHECK_OK(ltc_dtype_parse(&t, "float64"));
    CHECK("float64", t == LTC_FLOAT64);
    CHECK_OK(ltc_dtype_parse(&t, "long"));
    CHECK("long", t == LTC_INT64);
    CHECK_FAILS(ltc_dtype_parse(&t, "half"), LTC_ERR_INVALID_ARGUMENT, "dtype \"half\" is not valid");
    CHECK("names", strcmp(ltc_dtype_name(LTC_FLOAT32), "float32") == 0 && strcmp(ltc_dtype_name(LTC_INT64), "int64") == 0);
    CHECK("an unlisted value is named \"unknown\", never NULL", strcmp(ltc_dtype_name((ltc_dtype)9), "unknown") == 0);
    CHECK("sizes", ltc_dtype_size(LTC_FLOAT32) == 4 && ltc_dtype_size(LTC_FLOAT64) == 8 &&
                       ltc_dtype_size(LTC_INT32) == 4 && ltc_dtype_size(LTC_INT64) == 8 &&
                       ltc_dtype_size((ltc_dtype)9) == 0);
}

static void test_cuda_queries(void) {
    int n = -1;
    CHECK_OK(ltc_cuda_device_count(&n));
    CHECK("count agrees with availability", (n > 0) == (ltc_cuda_is_available() != 0));
    CHECK_FAILS(ltc_cuda_device_count(NULL), LTC_ERR_INVALID_ARGUMENT, "'out' is NULL");
    if (n == 0) {
        CHECK_FAILS(ltc_cuda_synchronize(LTC_CUDA(0)), LTC_ERR_CUDA_UNAVAILABLE, "cuda:0 requested, but LibTorch sees no CUDA device");
        CHECK_FAILS(ltc_cuda_synchronize(LTC_CUDA(0)), LTC_ERR_CUDA_UNAVAILABLE, "check_cuda");
    } else {
        CHECK_OK(ltc_cuda_synchronize(LTC_CUDA(0)));
        CHECK_OK(ltc_cuda_synchronize(LTC_CUDA(-1)));
        char want[64];
        snprintf(want, sizeof want, "cuda:%d is out of range: %d CUDA device", n, n);
        CHECK_FAILS(ltc_cuda_synchronize(LTC_CUDA(n)), LTC_ERR_INVALID_ARGUMENT, want);
    }
    CHECK_FAILS(ltc_cuda_synchronize(LTC_CUDA(-2)), LTC_ERR_INVALID_ARGUMENT, "CUDA device index -2 is not valid");
}

static void test_threads(void) {
    int before = ltc_num_threads_get();
    CHECK("thread count positive", before >= 1);
    CHECK_OK(ltc_num_threads_set(1));
    CHECK("set to 1", ltc_num_threads_get() == 1);
    CHECK_FAILS(ltc_num_threads_set(0), LTC_ERR_INVALID_ARGUMENT, "0 threads is not valid");
    CHECK_FAILS(ltc_num_threads_set(-3), LTC_ERR_INVALID_ARGUMENT, "-3 threads");
    CHECK_OK(ltc_num_threads_set(before));
}

int main(void) {
    test_versions();
    test_status();
    test_last_error_per_thread();
    test_build_info();
    test_device_parse();
    test_device_format();
    test_dtype();
    test_cuda_queries();
    test_threads();
    return th_finish();
}
