/* A model exported from Python and run from C: the MLP of examples/export_model.py, exported at test time
 * (tests/model_fixtures.py export), loaded with ltc_model_load and run on the inputs Python ran it on.
 * ltc's outputs must equal Python's (torch._inductor.aoti_load_package(...)(x)) bit for bit: the same
 * compiled code on the same inputs, device and thread count. Then what the package records, thread-safe
 * runs, the load in a child, a package without the exporter's metadata, and each bad input's message.
 * Built twice: MODEL_DEVICE "cpu" (label cpu) and "cuda" (label gpu, cuda:0; skipped without a GPU). */
#define _DEFAULT_SOURCE
#include "model_helper.h"

#include <pthread.h>

#ifndef MODEL_DEVICE
#define MODEL_DEVICE "cpu"
#endif

static const int batches[] = {1, 8, 37};
static ltc_device dev;
static char package[64], nometa[64], prefix[64];

static ltc_model *load(const char *file, int runners, int check_in_child) {
    ltc_model_options o = LTC_MODEL_OPTIONS_INIT;
    o.runners = runners;
    o.check_in_child = check_in_child;
    ltc_model *m = NULL;
    CHECK_OK(ltc_model_load(&m, mh_path(file), &o));
    return m;
}

/* The input Python ran at batch b, on the device; NULL when its file is missing. */
static ltc_tensor *input(int b) {
    char name[64];
    size_t n = 0;
    snprintf(name, sizeof name, "io_%s_b%d.in", MODEL_DEVICE, b);
    float *x = (float *)mh_read_file(mh_path(name), &n);
    int64_t shape[2] = {b, 64};
    ltc_tensor *t = NULL;
    if (x && n == (size_t)b * 64 * sizeof(float))
        CHECK_OK(ltc_tensor_from_data(&t, x, shape, 2, LTC_FLOAT32, dev));
    free(x);
    return t;
}

/* Runs m at batch b and compares its output with Python's, bit for bit; on a failure says where. */
static void same_as_python(ltc_model *m, int b, const char *what) {
    char name[64], label[160];
    size_t n = 0;
    snprintf(name, sizeof name, "io_%s_b%d.out", MODEL_DEVICE, b);
    char *want = mh_read_file(mh_path(name), &n);
    ltc_tensor *x = input(b), *y = NULL;
    float *got = calloc((size_t)b, 10 * sizeof(float));
    int ok = x && want && got && n == (size_t)b * 10 * sizeof(float);
    if (!ok)
        printf("%s: the input or Python's output for batch %d cannot be read\n", what, b);
    ltc_status run = ok ? ltc_model_run(&y, 1, m, (const ltc_tensor *const *)&x, 1) : LTC_OK;
    if (run != LTC_OK)
        printf("%s: ltc_model_run: %s\n", what, ltc_last_error());
    ok = ok && run == LTC_OK && ltc_tensor_size(y, 0) == b && ltc_tensor_size(y, 1) == 10 &&
         ltc_tensor_copy_to_host(got, n, y) == LTC_OK;
    for (size_t i = 0; ok && i < (size_t)b * 10; i++) {
        float w;
        memcpy(&w, want + i * sizeof w, sizeof w);
        ok = memcmp(&got[i], &w, sizeof w) == 0;
        if (!ok)
            printf("%s: value %zu is %.9g, Python's %.9g\n", what, i, (double)got[i], (double)w);
    }
    snprintf(label, sizeof label, "%s: batch %d equals Python's output bit for bit", what, b);
    CHECK(label, ok);
    TH_FREE_TENSORS(x, y);
    free(want);
    free(got);
}

static void records(ltc_model *m) {
    ltc_model_io io;
    ltc_device d;
    CHECK("one input, one output", ltc_model_input_count(m) == 1 && ltc_model_output_count(m) == 1);
    CHECK_OK(ltc_model_input(&io, m, 0));
    CHECK("input \"input\": float32 [-1, 64]", !strcmp(io.name, "input") && !strcmp(io.dtype_name, "float32") &&
                                           io.dtype == LTC_FLOAT32 && io.ndim == 2 && io.shape[0] == -1 && io.shape[1] == 64);
    CHECK_OK(ltc_model_output(&io, m, 0));
    CHECK("output: float32 [-1, 10]", !strcmp(io.dtype_name, "float32") && io.ndim == 2 && io.shape[0] == -1 &&
                                          io.shape[1] == 10 && *io.name);
    CHECK_FAILS(ltc_model_input(&io, m, 1), LTC_ERR_INVALID_ARGUMENT, "input index 1 is out of range: the model has 1 (valid: 0 to 0)");
    CHECK_FAILS(ltc_model_output(&io, m, -1), LTC_ERR_INVALID_ARGUMENT, "output index -1 is out of range");
    CHECK_OK(ltc_model_device(&d, m));
    CHECK("it runs on " MODEL_DEVICE, d.type == dev.type && d.index == (dev.type == LTC_DEVICE_CUDA ? 0 : 0));
    const char *key = ltc_model_metadata(m, "AOTI_DEVICE_KEY"), *torch = ltc_model_metadata(m, "ltc.torch_version");
    CHECK("AOTI_DEVICE_KEY is " MODEL_DEVICE, key && !strcmp(key, MODEL_DEVICE));
    CHECK("ltc.torch_version is LibTorch's", torch && !strncmp(torch, LTC_TEST_TORCH_VERSION, strlen(LTC_TEST_TORCH_VERSION)));
    CHECK("a key the package lacks gives NULL", ltc_model_metadata(m, "no.such.key") == NULL);
}

static void bad_inputs(ltc_model *m) {
    ltc_tensor *x = input(8), *y = (ltc_tensor *)(void *)&y, *two[2] = {x, x}, *z = NULL;
    CHECK_FAILS(ltc_model_run(&y, 1, m, (const ltc_tensor *const *)two, 2), LTC_ERR_INVALID_ARGUMENT,
                "the model takes 1 input (input: float32 [-1, 64]), and n_inputs is 2");
    CHECK("outputs are NULL after a failure", y == NULL);
    CHECK_FAILS(ltc_model_run(two, 2, m, (const ltc_tensor *const *)&x, 1), LTC_ERR_INVALID_ARGUMENT,
                "the model returns 1 output, and n_outputs is 2");
    int64_t s2[2] = {8, 64}, s_bad[2] = {3, 32}, s1[1] = {64};
    CHECK_OK(ltc_tensor_zeros(&z, s2, 2, LTC_FLOAT64, dev));
    CHECK_FAILS(ltc_model_run(&y, 1, m, (const ltc_tensor *const *)&z, 1), LTC_ERR_INVALID_ARGUMENT,
                "input 0 (input) is float64, and the model takes float32");
    ltc_tensor_free(z);
    CHECK_OK(ltc_tensor_zeros(&z, s_bad, 2, LTC_FLOAT32, dev));
    CHECK_FAILS(ltc_model_run(&y, 1, m, (const ltc_tensor *const *)&z, 1), LTC_ERR_INVALID_ARGUMENT,
                "input 0 (input) has shape [3, 32], and the model takes [-1, 64] (-1: any size)");
    ltc_tensor_free(z);
    CHECK_OK(ltc_tensor_zeros(&z, s1, 1, LTC_FLOAT32, dev));
    CHECK_FAILS(ltc_model_run(&y, 1, m, (const ltc_tensor *const *)&z, 1), LTC_ERR_INVALID_ARGUMENT,
                "input 0 (input) has shape [64], and the model takes [-1, 64]");
    ltc_tensor_free(z);
    if (ltc_cuda_is_available()) { /* the other device: the CPU for a CUDA package, a GPU for a CPU package */
        ltc_device other = dev.type == LTC_DEVICE_CUDA ? (ltc_device){LTC_DEVICE_CPU, 0} : (ltc_device){LTC_DEVICE_CUDA, 0};
        CHECK_OK(ltc_tensor_to(&z, x, other, 0));
        CHECK_FAILS(ltc_model_run(&y, 1, m, (const ltc_tensor *const *)&z, 1), LTC_ERR_INVALID_ARGUMENT,
                    dev.type == LTC_DEVICE_CUDA ? "input 0 (input) is on cpu, and the model runs on cuda:0: move it there first"
                                                : "input 0 (input) is on cuda:0, and the model runs on cpu: move it there first");
        ltc_tensor_free(z);
    } else {
        printf("no GPU: an input on the other device is not tried (skipped)\n");
        th_skipped++;
    }
    ltc_model_options o = LTC_MODEL_OPTIONS_INIT;
    o.model_name = "other";
    ltc_model *none = NULL;
    CHECK_FAILS(ltc_model_load(&none, mh_path(package), &o), LTC_ERR_INVALID_ARGUMENT,
                "holds no model \"other\": it holds \"model\"");
    ltc_tensor_free(x);
}

/* runners 2: two threads run the model at once, each getting Python's output, bit for bit. */
static void *run_thread(void *m) {
    for (int i = 0; i < 20; i++)
        same_as_python(m, 8, "runners 2, two threads at once");
    return NULL;
}

static void threads(void) {
    ltc_model *m = load(package, 2, 0);
    pthread_t t[2];
    int started = 0;
    for (int i = 0; m && i < 2; i++)
        started += pthread_create(&t[i], NULL, run_thread, m) == 0;
    for (int i = 0; i < started; i++)
        pthread_join(t[i], NULL);
    CHECK("two threads started", !m || started == 2);
    ltc_model_free(m);
}

static void without_metadata(void) {
    ltc_model *m = load(nometa, 0, 0);
    ltc_model_io io;
    if (!m)
        return;
    CHECK_OK(ltc_model_input(&io, m, 0));
    CHECK("without ltc.inputs: the compiled name, dtype and shape unknown",
          *io.name && strcmp(io.name, "input") && !strcmp(io.dtype_name, "unknown") && (int)io.dtype == -1 && io.ndim == -1);
    CHECK("ltc.torch_version is absent", ltc_model_metadata(m, "ltc.torch_version") == NULL);
    same_as_python(m, 8, "without ltc.* metadata");
    ltc_model_free(m);
}

/* The example on the real package: its outputs, --input, and what it says of a package without a record. */
static void example(void) {
    char args[2048], zeros[64 * 2 + 1] = "";
    snprintf(args, sizeof args, "%s --batch 3 --print 2", package);
    mh_cli(args, 0, "output 0 linear_1: float32 [3, 10]:");
    for (int i = 0; i < 64; i++)
        strcat(zeros, i ? ",0" : "0");
    snprintf(args, sizeof args, "%s --input %s", package, zeros);
    mh_cli(args, 0, "  input  0 input: float32 [-1, 64]\n  output 0 linear_1: float32 [-1, 10]\nran in ");
    snprintf(args, sizeof args, "%s --input 1,2", package);
    mh_cli(args, 5, "error: --input must give 64 numbers, comma-separated, for input 0 (input)");
    snprintf(args, sizeof args, "%s --model other", package);
    mh_cli(args, 3, "holds no model \"other\": it holds \"model\"");
    mh_cli(nometa, 5, "the package records no float32 or float64 dtype and shape for it (unknown); export it with "
                      "examples/export_model.py");
}

/* A package Inductor compiled for real with a compiler that links libstdc++ statically: refused with the
 * fix (Python's own aoti_load_package fails or crashes on it). */
static void static_libstdcxx(void) {
    size_t n = 0;
    char *why = mh_read_file(mh_path("mlp_cpu_static.skip"), &n);
    if (why) {
        printf("the package with a static libstdc++ was not made: %s", why);
        th_skipped++;
        free(why);
        return;
    }
    ltc_model *m = NULL;
    CHECK_FAILS(ltc_model_load(&m, mh_path("mlp_cpu_static.pt2"), NULL), LTC_ERR_INVALID_ARGUMENT,
                "static-libstdcxx-g++, its compile command says) carries its own copy of libstdc++, linked statically");
    CHECK("nothing loaded", m == NULL);
}

int main(void) {
    int gpu = !strcmp(MODEL_DEVICE, "cuda");
    if (gpu)
        th_require_gpu();
    const char *req = getenv("LTC_REQUIRE_GPU");
    mh_require_fixture("export_" MODEL_DEVICE, gpu && req && !strcmp(req, "1"));
    dev = !strcmp(MODEL_DEVICE, "cuda") ? (ltc_device){LTC_DEVICE_CUDA, 0} : (ltc_device){LTC_DEVICE_CPU, 0};
    snprintf(package, sizeof package, "mlp_%s.pt2", MODEL_DEVICE);
    snprintf(nometa, sizeof nometa, "mlp_%s_nometa.pt2", MODEL_DEVICE);
    snprintf(prefix, sizeof prefix, "mlp_%s", MODEL_DEVICE);
    int extracted = mh_extracted(prefix);
    ltc_model *m = load(package, 0, 0);
    if (!m)
        return th_finish();
    CHECK("loading extracts the package to one /tmp folder", mh_extracted(prefix) == extracted + 1);
    records(m);
    for (size_t i = 0; i < sizeof batches / sizeof *batches; i++)
        same_as_python(m, batches[i], "runners 0");
    bad_inputs(m);
    ltc_model_free(m);
    CHECK("ltc_model_free removes the folder", mh_extracted(prefix) == extracted);
    threads();
    m = load(package, 0, 1);
    if (m)
        same_as_python(m, 37, "loaded after a load in a child process");
    ltc_model_free(m);
    without_metadata();
    if (dev.type == LTC_DEVICE_CPU) {
        example();
        static_libstdcxx();
    }
    CHECK("no extraction folder is left", mh_extracted(prefix) == extracted);
    return th_finish();
}
