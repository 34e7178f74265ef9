/* The bad-input table: one row per public function of ltc.h. Each row feeds its function NULL for every
 * pointer argument, out-of-range numbers and enum values (C lets an enum hold any int), wrong dtypes,
 * shapes and devices, and asserts the status the header documents and a message naming the bad value;
 * functions that cannot fail get their documented result on odd input (a sentinel, a fallback string).
 *
 *   test_bad_input            runs every row
 *   test_bad_input NAME...    runs the rows of those functions only
 *   test_bad_input --list     prints the functions that have a row; check_bad_input_rows.cmake compares
 *                             the list with the header's declarations, so a new function without a row
 *                             fails the suite
 *
 * No GPU: the GPU behaviours give the documented no-GPU status. With a GPU the same rows check the
 * out-of-range GPU index and the cross-device mismatches instead. Nothing here starts a process or opens
 * a port: the data-parallel rows stop at argument checks that fail before the rendezvous. */
#define _POSIX_C_SOURCE 200809L
#include "testhelper.h"

#include "fuzz/json_check.h"

#include <limits.h>
#include <math.h>
#include <stdint.h>

static const ltc_device CPU = {LTC_DEVICE_CPU, 0};
static int gpus; /* CUDA devices LibTorch sees */

/* Leaves a marker in ltc_last_error(), so that each check reads the message of its own call. */
static void reset_error(void) {
    ltc_dtype d;
    ltc_dtype_parse(&d, "marker-from-reset");
}

/* call must return status with a message containing text, and write that message itself. */
#define FAILS(call, status, text)               \
    do {                                        \
        reset_error();                          \
        CHECK_FAILS(call, status, text);        \
    } while (0)

/* A query that cannot fail returns its sentinel want and sets the message text. */
#define RETURNS_SENTINEL(expr, want, text)                                                                  \
    do {                                                                                                    \
        reset_error();                                                                                      \
        int th_ok_ = (expr) == (want);                                                                      \
        th_report(th_ok_ && strstr(ltc_last_error(), (text)) != NULL, __FILE__, __LINE__, #expr,             \
                  "wanted sentinel " #want " and a message containing \"" text "\"");                        \
    } while (0)

/* A void call (a _free of NULL) must not touch the error state. */
#define NO_OP(call)                                                                          \
    do {                                                                                     \
        reset_error();                                                                       \
        call;                                                                                \
        CHECK(#call " is a no-op", strstr(ltc_last_error(), "marker-from-reset") != NULL); \
    } while (0)

/* An out pointer preset to garbage must come back NULL from a failed call. */
static char garbage[1];
#define GARBAGE(type) ((type *)(void *)garbage)
#define CHECK_NULLED(p) CHECK(#p " set to NULL on failure", (p) == NULL)

static ltc_tensor *tensor(ltc_dtype dtype, int ndim, int64_t a, int64_t b) {
    int64_t shape[2] = {a, b};
    ltc_tensor *t = NULL;
    if (ltc_tensor_ones(&t, shape, ndim, dtype, CPU) != LTC_OK) {
        fprintf(stderr, "cannot make a test tensor: %s\n", ltc_last_error());
        exit(1);
    }
    return t;
}

/* CUDA device i (-1: the current one). */
static ltc_device cu(int i) { return (ltc_device){LTC_DEVICE_CUDA, i}; }

static ltc_module *linear(int64_t in, int64_t out, int bias) {
    ltc_module *m = NULL;
    if (ltc_module_linear_new(&m, in, out, bias) != LTC_OK) {
        fprintf(stderr, "cannot make a test module: %s\n", ltc_last_error());
        exit(1);
    }
    return m;
}

/* A new handle on m's first parameter (a Linear's weight). */
static ltc_tensor *weight_of(const ltc_module *m) {
    ltc_tensor_list *l = NULL;
    ltc_tensor *w = NULL;
    if (ltc_module_parameters(&l, m) != LTC_OK || ltc_tensor_list_get(&w, NULL, l, 0) != LTC_OK) {
        fprintf(stderr, "cannot read a test module's weight: %s\n", ltc_last_error());
        exit(1);
    }
    ltc_tensor_list_free(l);
    return w;
}

/* What the GPU index past the last one gives: CUDA_UNAVAILABLE without a GPU, else INVALID_ARGUMENT
 * "cuda:N is out of range". */
static ltc_status past_last_status(void) { return gpus ? LTC_ERR_INVALID_ARGUMENT : LTC_ERR_CUDA_UNAVAILABLE; }
static const char *past_last_text(void) {
    static char text[64];
    if (gpus)
        snprintf(text, sizeof text, "cuda:%d is out of range", gpus);
    else
        snprintf(text, sizeof text, "cuda:%d requested, but", gpus);
    return text;
}

/* Every call that takes an ltc_device refuses the same bad values the same way. CALL uses `dev`. */
#define BAD_DEVICES(CALL)                                                                                    \
    do {                                                                                                     \
        ltc_device dev = {(ltc_device_type)7, 0};                                                            \
        FAILS(CALL, LTC_ERR_INVALID_ARGUMENT, "device type 7 is not valid");                                 \
        dev = (ltc_device){(ltc_device_type)-1, 0};                                                          \
        FAILS(CALL, LTC_ERR_INVALID_ARGUMENT, "device type -1 is not valid");                                \
        dev = (ltc_device){(ltc_device_type)INT_MAX, 0};                                                     \
        FAILS(CALL, LTC_ERR_INVALID_ARGUMENT, "device type 2147483647 is not valid");                        \
        dev = (ltc_device){LTC_DEVICE_CPU, 3};                                                               \
        FAILS(CALL, LTC_ERR_INVALID_ARGUMENT, "device cpu with index 3");                                    \
        dev = (ltc_device){LTC_DEVICE_CPU, INT_MIN};                                                         \
        FAILS(CALL, LTC_ERR_INVALID_ARGUMENT, "device cpu with index -2147483648");                          \
        dev = (ltc_device){LTC_DEVICE_CUDA, -2};                                                             \
        FAILS(CALL, LTC_ERR_INVALID_ARGUMENT, "CUDA device index -2 is not valid");                          \
        dev = (ltc_device){LTC_DEVICE_CUDA, INT_MIN};                                                        \
        FAILS(CALL, LTC_ERR_INVALID_ARGUMENT, "CUDA device index -2147483648 is not valid");                 \
        dev = (ltc_device){LTC_DEVICE_CUDA, gpus};                                                           \
        FAILS(CALL, past_last_status(), past_last_text());                                                   \
        dev = (ltc_device){LTC_DEVICE_CUDA, INT_MAX};                                                        \
        FAILS(CALL, past_last_status(), gpus ? "cuda:2147483647 is out of range" : "cuda:2147483647 requested"); \
        if (!gpus) {                                                                                         \
            dev = (ltc_device){LTC_DEVICE_CUDA, -1};                                                         \
            FAILS(CALL, LTC_ERR_CUDA_UNAVAILABLE, "cuda requested, but LibTorch sees no CUDA device");       \
        }                                                                                                    \
    } while (0)

/* ---------------------------------------------------------------------------------------------- */
/* Versions, status codes, errors, build information                                              */
/* ---------------------------------------------------------------------------------------------- */

static void row_ltc_version(void) {
    CHECK("ltc_version() is the header's string", ltc_version() && strcmp(ltc_version(), LTC_VERSION_STRING) == 0);
}

static void row_ltc_version_number(void) {
    CHECK("ltc_version_number() is the header's number", ltc_version_number() == LTC_VERSION_NUMBER);
}

static void row_ltc_status_string(void) {
    static const char *const names[] = {"LTC_OK",          "LTC_ERR_INVALID_ARGUMENT", "LTC_ERR_CUDA_UNAVAILABLE",
                                        "LTC_ERR_DEVICE",  "LTC_ERR_OUT_OF_MEMORY",    "LTC_ERR_TORCH",
                                        "LTC_ERR_DISTRIBUTED", "LTC_ERR_TIMEOUT",      "LTC_ERR_UNSUPPORTED",
                                        "LTC_ERR_INTERNAL", "LTC_ERR_IO"};
    for (int i = 0; i < 11; i++)
        CHECK(names[i], strcmp(ltc_status_string((ltc_status)i), names[i]) == 0);
    const int unknown[] = {-1, 11, 1234, INT_MIN, INT_MAX};
    for (size_t i = 0; i < sizeof unknown / sizeof *unknown; i++)
        CHECK("an unlisted status is LTC_ERR_UNKNOWN", strcmp(ltc_status_string((ltc_status)unknown[i]), "LTC_ERR_UNKNOWN") == 0);
}

static void row_ltc_last_error(void) {
    CHECK("never NULL", ltc_last_error() != NULL);
    ltc_device d;
    ltc_device_parse(&d, "last-error-row");
    CHECK("holds the last failure", strstr(ltc_last_error(), "last-error-row") != NULL);
    CHECK_OK(ltc_device_parse(&d, "cpu"));
    CHECK("a successful call leaves it", strstr(ltc_last_error(), "last-error-row") != NULL);
}

static void row_ltc_build_info_get(void) {
    FAILS(ltc_build_info_get(NULL), LTC_ERR_INVALID_ARGUMENT, "'out' is NULL");
}

/* ---------------------------------------------------------------------------------------------- */
/* Devices                                                                                          */
/* ---------------------------------------------------------------------------------------------- */

static void row_ltc_device_parse(void) {
    ltc_device d = {LTC_DEVICE_CPU, 42};
    FAILS(ltc_device_parse(NULL, "cpu"), LTC_ERR_INVALID_ARGUMENT, "'out' is NULL");
    FAILS(ltc_device_parse(&d, NULL), LTC_ERR_INVALID_ARGUMENT, "'text' is NULL");
    const char *bad[] = {"",        "cuda:",     "cuda:-1",     "cuda:1x",    "gpu",         "CUDA:0",
                         "cpu ",    "cuda: 1",   "cuda:0x1",    "cuda:+1",    "cuda:2147483648",
                         "cuda:99999999999999999999", "cuda:000000000002147483648", "cuda\n", "\xff\xfe"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char want[96];
        snprintf(want, sizeof want, "device \"%s\" is not valid", bad[i]);
        FAILS(ltc_device_parse(&d, bad[i]), LTC_ERR_INVALID_ARGUMENT, want);
    }
    CHECK("cpu\\0hidden is cpu", ltc_device_parse(&d, "cpu\0hidden") == LTC_OK && d.type == LTC_DEVICE_CPU);
    d = (ltc_device){LTC_DEVICE_CPU, 42};
    ltc_device_parse(&d, "cuda:x");
    CHECK("out untouched on failure", d.type == LTC_DEVICE_CPU && d.index == 42);
    CHECK("cuda:2147483647 is the largest index",
          ltc_device_parse(&d, "cuda:2147483647") == LTC_OK && d.type == LTC_DEVICE_CUDA && d.index == INT_MAX);
    CHECK("leading zeros are a decimal all the same",
          ltc_device_parse(&d, "cuda:000000000002147483647") == LTC_OK && d.index == INT_MAX &&
              ltc_device_parse(&d, "cuda:00000000000") == LTC_OK && d.index == 0);
    /* a string that looks like the tail LibTorch's messages carry is quoted, not cut */
    FAILS(ltc_device_parse(&d, "gpu\nException raised from here"), LTC_ERR_INVALID_ARGUMENT,
          "device \"gpu\nException raised from here\" is not valid");
    /* a long string: the message names its start, and stays bounded */
    char longtext[4096];
    memset(longtext, 'z', sizeof longtext - 1);
    longtext[sizeof longtext - 1] = '\0';
    FAILS(ltc_device_parse(&d, longtext), LTC_ERR_INVALID_ARGUMENT, "device \"zzzzzzzzzzzzzzzz");
    CHECK("the message of a long string stays short", strlen(ltc_last_error()) < 1024);
}

static void row_ltc_device_format(void) {
    char buf[32];
    memset(buf, 'x', sizeof buf);
    CHECK("an unknown type gives -1", ltc_device_format(buf, sizeof buf, (ltc_device){(ltc_device_type)7, 0}) == -1);
    CHECK("type -1 gives -1", ltc_device_format(buf, sizeof buf, (ltc_device){(ltc_device_type)-1, 0}) == -1);
    CHECK("NULL buffer of size 0 gives the length",
          ltc_device_format(NULL, 0, (ltc_device){LTC_DEVICE_CUDA, 12}) == 7);
    memset(buf, 'x', sizeof buf);
    CHECK("size 1 writes only the NUL", ltc_device_format(buf, 1, (ltc_device){LTC_DEVICE_CUDA, 12}) == 7 && buf[0] == '\0' && buf[1] == 'x');
    CHECK("truncated like snprintf", ltc_device_format(buf, 4, (ltc_device){LTC_DEVICE_CUDA, INT_MAX}) == 15 && strcmp(buf, "cud") == 0);
    CHECK("cuda:2147483647", ltc_device_format(buf, sizeof buf, (ltc_device){LTC_DEVICE_CUDA, INT_MAX}) == 15 &&
                                 strcmp(buf, "cuda:2147483647") == 0);
    CHECK("a negative CUDA index is the current device, \"cuda\"",
          ltc_device_format(buf, sizeof buf, (ltc_device){LTC_DEVICE_CUDA, INT_MIN}) == 4 && strcmp(buf, "cuda") == 0);
}

static void row_ltc_cuda_is_available(void) {
    int n = -1;
    CHECK_OK(ltc_cuda_device_count(&n));
    CHECK("1 exactly when a device is counted", ltc_cuda_is_available() == (n > 0));
}

static void row_ltc_cuda_device_count(void) {
    FAILS(ltc_cuda_device_count(NULL), LTC_ERR_INVALID_ARGUMENT, "'out' is NULL");
}

static void row_ltc_cuda_synchronize(void) {
    FAILS(ltc_cuda_synchronize(cu(-2)), LTC_ERR_INVALID_ARGUMENT, "CUDA device index -2 is not valid");
    FAILS(ltc_cuda_synchronize(cu(INT_MIN)), LTC_ERR_INVALID_ARGUMENT, "CUDA device index -2147483648 is not valid");
    FAILS(ltc_cuda_synchronize(cu(gpus)), past_last_status(), past_last_text());
    if (!gpus)
        FAILS(ltc_cuda_synchronize(cu(-1)), LTC_ERR_CUDA_UNAVAILABLE, "cuda requested, but LibTorch sees no CUDA device");
    FAILS(ltc_cuda_synchronize(CPU), LTC_ERR_INVALID_ARGUMENT, "ltc_cuda_synchronize: device is cpu, not a CUDA device: use cuda or cuda:N");
}

/* ---------------------------------------------------------------------------------------------- */
/* Tensors                                                                                          */
/* ---------------------------------------------------------------------------------------------- */

static void row_ltc_dtype_name(void) {
    CHECK("float32", strcmp(ltc_dtype_name(LTC_FLOAT32), "float32") == 0);
    CHECK("int64", strcmp(ltc_dtype_name(LTC_INT64), "int64") == 0);
    const int unknown[] = {-1, 4, 99, INT_MIN, INT_MAX};
    for (size_t i = 0; i < sizeof unknown / sizeof *unknown; i++)
        CHECK("an unlisted dtype is named \"unknown\"", strcmp(ltc_dtype_name((ltc_dtype)unknown[i]), "unknown") == 0);
}

static void row_ltc_dtype_size(void) {
    CHECK("4 and 8", ltc_dtype_size(LTC_FLOAT32) == 4 && ltc_dtype_size(LTC_FLOAT64) == 8 && ltc_dtype_size(LTC_INT32) == 4 &&
                         ltc_dtype_size(LTC_INT64) == 8);
    const int unknown[] = {-1, 4, 99, INT_MIN, INT_MAX};
    for (size_t i = 0; i < sizeof unknown / sizeof *unknown; i++)
        CHECK("an unlisted dtype gives 0", ltc_dtype_size((ltc_dtype)unknown[i]) == 0);
}

static void row_ltc_dtype_parse(void) {
    ltc_dtype d = (ltc_dtype)77;
    FAILS(ltc_dtype_parse(NULL, "float32"), LTC_ERR_INVALID_ARGUMENT, "'out' is NULL");
    FAILS(ltc_dtype_parse(&d, NULL), LTC_ERR_INVALID_ARGUMENT, "'text' is NULL");
    const char *bad[] = {"", "Float32", "float16", "half", "bfloat16", "float32 ", "int8", "uint8", "bool", "complex64"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char want[96];
        snprintf(want, sizeof want, "dtype \"%s\" is not valid", bad[i]);
        FAILS(ltc_dtype_parse(&d, bad[i]), LTC_ERR_INVALID_ARGUMENT, want);
    }
    CHECK("out untouched on failure", (int)d == 77);
}

/* The creation functions share their checks; kind picks which one is called. */
enum create_kind { K_ZEROS, K_ONES, K_RANDN, K_FROM_DATA, K_EMPTY };

static ltc_status create(enum create_kind kind, ltc_tensor **out, const int64_t *shape, int ndim, ltc_dtype dtype,
                         ltc_device dev) {
    static double data[64];
    switch (kind) {
    case K_ZEROS: return ltc_tensor_zeros(out, shape, ndim, dtype, dev);
    case K_ONES: return ltc_tensor_ones(out, shape, ndim, dtype, dev);
    case K_RANDN: return ltc_tensor_randn(out, shape, ndim, dtype, dev, 7);
    case K_FROM_DATA: return ltc_tensor_from_data(out, data, shape, ndim, dtype, dev);
    case K_EMPTY: return ltc_tensor_empty(out, shape, ndim, dtype, dev, 0);
    }
    return LTC_ERR_INTERNAL;
}

static void creation_rows(enum create_kind kind) {
    int64_t shape[LTC_MAX_DIMS + 1] = {2, 3, 1, 1, 1, 1, 1, 1, 1};
    ltc_tensor *t = GARBAGE(ltc_tensor);
    FAILS(create(kind, NULL, shape, 2, LTC_FLOAT32, CPU), LTC_ERR_INVALID_ARGUMENT, "'out' is NULL");
    /* NULL shape is refused with ndim > 0, and is a scalar with ndim 0 */
    FAILS(create(kind, &t, NULL, 2, LTC_FLOAT32, CPU), LTC_ERR_INVALID_ARGUMENT, "shape is NULL but ndim is 2");
    CHECK_NULLED(t);
    CHECK_OK(create(kind, &t, NULL, 0, LTC_FLOAT32, CPU));
    CHECK("ndim 0 is a one-element scalar", t && ltc_tensor_ndim(t) == 0 && ltc_tensor_numel(t) == 1);
    ltc_tensor_free(t);
    /* ndim out of range */
    const int bad_ndim[] = {-1, LTC_MAX_DIMS + 1, INT_MIN, INT_MAX};
    for (size_t i = 0; i < sizeof bad_ndim / sizeof *bad_ndim; i++) {
        char want[64];
        snprintf(want, sizeof want, "ndim %d is not valid: use 0 to %d", bad_ndim[i], LTC_MAX_DIMS);
        t = GARBAGE(ltc_tensor);
        FAILS(create(kind, &t, shape, bad_ndim[i], LTC_FLOAT32, CPU), LTC_ERR_INVALID_ARGUMENT, want);
        CHECK_NULLED(t);
    }
    CHECK_OK(create(kind, &t, shape, LTC_MAX_DIMS, LTC_FLOAT32, CPU)); /* the largest ndim is fine */
    ltc_tensor_free(t);
    /* sizes below 1 */
    const int64_t bad_size[] = {0, -1, INT64_MIN};
    for (size_t i = 0; i < sizeof bad_size / sizeof *bad_size; i++) {
        int64_t s[2] = {2, bad_size[i]};
        char want[64];
        snprintf(want, sizeof want, "shape[1] is %lld: each size must be 1 or more", (long long)bad_size[i]);
        FAILS(create(kind, &t, s, 2, LTC_FLOAT32, CPU), LTC_ERR_INVALID_ARGUMENT, want);
    }
    /* more than 2^63 bytes */
    int64_t huge[2] = {INT64_MAX, 2};
    FAILS(create(kind, &t, huge, 2, LTC_FLOAT32, CPU), LTC_ERR_INVALID_ARGUMENT,
          "shape [9223372036854775807, 2] of float32 is too large");
    int64_t just_over[2] = {(int64_t)1 << 31, (int64_t)1 << 30}; /* 2^61 float32: 2^63 bytes */
    FAILS(create(kind, &t, just_over, 2, LTC_FLOAT32, CPU), LTC_ERR_INVALID_ARGUMENT, "is too large: more than 2^63 bytes");
    /* 2^62 bytes fit the type but no machine: out of memory, and the process goes on */
    int64_t no_room[2] = {(int64_t)1 << 30, (int64_t)1 << 30};
    t = GARBAGE(ltc_tensor);
    FAILS(create(kind, &t, no_room, 2, LTC_FLOAT32, CPU), LTC_ERR_OUT_OF_MEMORY, "4611686018427387904 bytes");
    CHECK_NULLED(t);
    /* dtypes not listed */
    const int bad_dtype[] = {-1, 4, 99, INT_MIN};
    for (size_t i = 0; i < sizeof bad_dtype / sizeof *bad_dtype; i++) {
        char want[64];
        snprintf(want, sizeof want, "dtype %d is not valid", bad_dtype[i]);
        FAILS(create(kind, &t, shape, 2, (ltc_dtype)bad_dtype[i], CPU), LTC_ERR_INVALID_ARGUMENT, want);
    }
    /* devices */
    BAD_DEVICES(create(kind, &t, shape, 2, LTC_FLOAT32, dev));
    /* and after all that, a good call still works */
    CHECK_OK(create(kind, &t, shape, 2, LTC_FLOAT64, CPU));
    CHECK("a good call after the bad ones", t && ltc_tensor_numel(t) == 6);
    ltc_tensor_free(t);
}

static void row_ltc_tensor_zeros(void) { creation_rows(K_ZEROS); }
static void row_ltc_tensor_ones(void) { creation_rows(K_ONES); }

static void row_ltc_tensor_randn(void) {
    creation_rows(K_RANDN);
    int64_t shape[1] = {4};
    ltc_tensor *t = GARBAGE(ltc_tensor);
    FAILS(ltc_tensor_randn(&t, shape, 1, LTC_INT32, CPU, 1), LTC_ERR_INVALID_ARGUMENT, "dtype int32 is not valid: use float32 or float64");
    CHECK_NULLED(t);
    FAILS(ltc_tensor_randn(&t, shape, 1, LTC_INT64, CPU, UINT64_MAX), LTC_ERR_INVALID_ARGUMENT, "dtype int64 is not valid");
    CHECK_OK(ltc_tensor_randn(&t, shape, 1, LTC_FLOAT32, CPU, UINT64_MAX)); /* any seed */
    ltc_tensor_free(t);
}

static void row_ltc_tensor_from_data(void) {
    creation_rows(K_FROM_DATA);
    int64_t shape[1] = {4};
    ltc_tensor *t = GARBAGE(ltc_tensor);
    FAILS(ltc_tensor_from_data(&t, NULL, shape, 1, LTC_FLOAT32, CPU), LTC_ERR_INVALID_ARGUMENT, "'data' is NULL");
    CHECK_NULLED(t);
}

static void row_ltc_tensor_free(void) { NO_OP(ltc_tensor_free(NULL)); }

static void row_ltc_tensor_ndim(void) { RETURNS_SENTINEL(ltc_tensor_ndim(NULL), -1, "'tensor' is NULL"); }

static void row_ltc_tensor_size(void) {
    RETURNS_SENTINEL(ltc_tensor_size(NULL, 0), -1, "'tensor' is NULL");
    ltc_tensor *t = tensor(LTC_FLOAT32, 2, 2, 3);
    CHECK("dim -1 counts from the end", ltc_tensor_size(t, -1) == 3 && ltc_tensor_size(t, -2) == 2);
    RETURNS_SENTINEL(ltc_tensor_size(t, 2), -1, "dim 2 is out of range for a 2-dimensional tensor (valid: -2 to 1)");
    RETURNS_SENTINEL(ltc_tensor_size(t, -3), -1, "dim -3 is out of range");
    RETURNS_SENTINEL(ltc_tensor_size(t, INT_MAX), -1, "dim 2147483647 is out of range");
    RETURNS_SENTINEL(ltc_tensor_size(t, INT_MIN), -1, "dim -2147483648 is out of range");
    ltc_tensor_free(t);
    t = tensor(LTC_FLOAT32, 0, 1, 1);
    RETURNS_SENTINEL(ltc_tensor_size(t, 0), -1, "dim 0 is out of range for a 0-dimensional tensor");
    RETURNS_SENTINEL(ltc_tensor_size(t, -1), -1, "dim -1 is out of range for a 0-dimensional tensor");
    ltc_tensor_free(t);
}

static void row_ltc_tensor_numel(void) { RETURNS_SENTINEL(ltc_tensor_numel(NULL), -1, "'tensor' is NULL"); }
static void row_ltc_tensor_nbytes(void) { RETURNS_SENTINEL(ltc_tensor_nbytes(NULL), 0, "'tensor' is NULL"); }
static void row_ltc_tensor_dtype(void) { RETURNS_SENTINEL((int)ltc_tensor_dtype(NULL), -1, "'tensor' is NULL"); }

static void row_ltc_tensor_device(void) {
    reset_error();
    ltc_device d = ltc_tensor_device(NULL);
    CHECK("NULL gives {LTC_DEVICE_CPU, -1}", d.type == LTC_DEVICE_CPU && d.index == -1);
    CHECK("and sets the message", strstr(ltc_last_error(), "'tensor' is NULL") != NULL);
}

static void row_ltc_tensor_to(void) {
    ltc_tensor *src = tensor(LTC_FLOAT32, 2, 2, 3), *t = GARBAGE(ltc_tensor);
    FAILS(ltc_tensor_to(NULL, src, CPU, 0), LTC_ERR_INVALID_ARGUMENT, "'out' is NULL");
    FAILS(ltc_tensor_to(&t, NULL, CPU, 0), LTC_ERR_INVALID_ARGUMENT, "'src' is NULL");
    CHECK_NULLED(t);
    BAD_DEVICES(ltc_tensor_to(&t, src, dev, 0));
    BAD_DEVICES(ltc_tensor_to(&t, src, dev, 1));
    CHECK_OK(ltc_tensor_to(&t, src, CPU, -7)); /* any non-zero non_blocking is "non-blocking" */
    ltc_tensor_free(t);
    ltc_tensor_free(src);
}

static void row_ltc_tensor_copy_to_host(void) {
    ltc_tensor *t = tensor(LTC_FLOAT32, 2, 2, 3);
    float buf[8];
    FAILS(ltc_tensor_copy_to_host(NULL, 24, t), LTC_ERR_INVALID_ARGUMENT, "'dst' is NULL");
    FAILS(ltc_tensor_copy_to_host(NULL, 0, t), LTC_ERR_INVALID_ARGUMENT, "'dst' is NULL");
    FAILS(ltc_tensor_copy_to_host(buf, 24, NULL), LTC_ERR_INVALID_ARGUMENT, "'tensor' is NULL");
    const size_t bad[] = {0, 23, 25, 32, SIZE_MAX};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char want[96];
        snprintf(want, sizeof want, "buffer size %zu does not match the tensor's 24 bytes", bad[i]);
        memset(buf, 0, sizeof buf);
        FAILS(ltc_tensor_copy_to_host(buf, bad[i], t), LTC_ERR_INVALID_ARGUMENT, want);
        CHECK("nothing written on failure", buf[0] == 0.0f);
    }
    ltc_tensor_free(t);
}

static void row_ltc_tensor_item(void) {
    ltc_tensor *t = tensor(LTC_FLOAT32, 2, 2, 3);
    double v = 42;
    FAILS(ltc_tensor_item(NULL, t), LTC_ERR_INVALID_ARGUMENT, "'out' is NULL");
    FAILS(ltc_tensor_item(&v, NULL), LTC_ERR_INVALID_ARGUMENT, "'tensor' is NULL");
    FAILS(ltc_tensor_item(&v, t), LTC_ERR_INVALID_ARGUMENT, "the tensor has 6 elements (shape [2, 3]); it needs exactly 1");
    CHECK("out untouched on failure", v == 42);
    ltc_tensor_free(t);
}

static void row_ltc_tensor_grad(void) {
    ltc_tensor *t = tensor(LTC_FLOAT32, 2, 2, 3), *g = GARBAGE(ltc_tensor), *w = NULL;
    FAILS(ltc_tensor_grad(NULL, t), LTC_ERR_INVALID_ARGUMENT, "'out' is NULL");
    FAILS(ltc_tensor_grad(&g, NULL), LTC_ERR_INVALID_ARGUMENT, "'tensor' is NULL");
    CHECK_NULLED(g);
    FAILS(ltc_tensor_grad(&g, t), LTC_ERR_INVALID_ARGUMENT, "does not require a gradient");
    ltc_module *m = linear(4, 2, 1);
    w = weight_of(m);
    g = GARBAGE(ltc_tensor);
    FAILS(ltc_tensor_grad(&g, w), LTC_ERR_INVALID_ARGUMENT, "has no gradient yet");
    CHECK_NULLED(g);
    ltc_tensor_free(w);
    ltc_module_free(m);
    ltc_tensor_free(t);
}

static void row_ltc_tensor_backward(void) {
    FAILS(ltc_tensor_backward(NULL), LTC_ERR_INVALID_ARGUMENT, "'loss' is NULL");
    ltc_tensor *t = tensor(LTC_FLOAT32, 2, 2, 3);
    FAILS(ltc_tensor_backward(t), LTC_ERR_INVALID_ARGUMENT, "the tensor has 6 elements (shape [2, 3])");
    ltc_tensor_free(t);
    t = tensor(LTC_FLOAT32, 1, 1, 1);
    FAILS(ltc_tensor_backward(t), LTC_ERR_INVALID_ARGUMENT, "has no autograd graph");
    ltc_tensor_free(t);
    /* twice through the same graph: LibTorch refuses, and says why */
    ltc_module *m = linear(4, 1, 1);
    ltc_tensor *x = tensor(LTC_FLOAT32, 2, 1, 4), *y = NULL;
    CHECK_OK(ltc_module_forward(&y, m, x));
    ltc_tensor *loss = NULL, *target = tensor(LTC_FLOAT32, 2, 1, 1);
    CHECK_OK(ltc_mse_loss(&loss, y, target));
    CHECK_OK(ltc_tensor_backward(loss));
    FAILS(ltc_tensor_backward(loss), LTC_ERR_TORCH, "backward through the graph a second time");
    ltc_tensor_free(loss);
    ltc_tensor_free(target);
    ltc_tensor_free(y);
    ltc_tensor_free(x);
    ltc_module_free(m);
}

/* ---------------------------------------------------------------------------------------------- */
/* Training blocks                                                                                  */
/* ---------------------------------------------------------------------------------------------- */

static void row_ltc_manual_seed(void) {
    /* any seed, the extremes included, is accepted and makes the initial weights repeatable */
    const uint64_t seeds[] = {0, UINT64_MAX, (uint64_t)INT64_MAX + 1};
    for (size_t i = 0; i < sizeof seeds / sizeof *seeds; i++) {
        float w[2][4];
        for (int k = 0; k < 2; k++) {
            ltc_manual_seed(seeds[i]);
            ltc_module *m = linear(4, 1, 0);
            ltc_tensor *p = NULL;
            p = weight_of(m);
            CHECK_OK(ltc_tensor_copy_to_host(w[k], sizeof w[k], p));
            ltc_tensor_free(p);
            ltc_module_free(m);
        }
        CHECK("the same seed gives the same weights", memcmp(w[0], w[1], sizeof w[0]) == 0);
    }
}

static void row_ltc_num_threads_set(void) {
    int before = ltc_num_threads_get();
    const int bad[] = {0, -1, INT_MIN, LTC_NUM_THREADS_MAX + 1, 100000, 1 << 30, INT_MAX};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char want[96];
        snprintf(want, sizeof want, "%d threads is not valid: use 1 to %d", bad[i], LTC_NUM_THREADS_MAX);
        FAILS(ltc_num_threads_set(bad[i]), LTC_ERR_INVALID_ARGUMENT, want);
    }
    CHECK("a refused count changes nothing", ltc_num_threads_get() == before);
}

static void row_ltc_num_threads_get(void) {
    int before = ltc_num_threads_get();
    CHECK("1 or more", before >= 1);
    CHECK_OK(ltc_num_threads_set(1));
    CHECK("1 after setting 1", ltc_num_threads_get() == 1);
    CHECK_OK(ltc_num_threads_set(before)); /* the library state this row changed, restored */
    CHECK("restored", ltc_num_threads_get() == before);
}

static void row_ltc_log_level_set(void) {
    const ltc_log_level before = ltc_log_level_get();
    const int bad[] = {-1, 4, INT_MIN, INT_MAX};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char want[64];
        snprintf(want, sizeof want, "level %d is not valid: use LTC_LOG_INFO (0)", bad[i]);
        FAILS(ltc_log_level_set((ltc_log_level)bad[i]), LTC_ERR_INVALID_ARGUMENT, want);
    }
    CHECK("a refused level changes nothing", ltc_log_level_get() == before);
}

static void row_ltc_log_level_get(void) {
    const ltc_log_level before = ltc_log_level_get();
    CHECK("a level, 0 to 3", before >= LTC_LOG_INFO && before <= LTC_LOG_FATAL);
    for (int v = LTC_LOG_FATAL; v >= LTC_LOG_INFO; v--) {
        CHECK_OK(ltc_log_level_set((ltc_log_level)v));
        CHECK("reads back what was set", ltc_log_level_get() == (ltc_log_level)v);
    }
    CHECK_OK(ltc_log_level_set(before)); /* the library state this row changed, restored */
}

/* TORCH_CPP_LOG_LEVEL as PyTorch reads it, else the fallback; the variable and the level restored. */
static void row_ltc_log_level_init(void) {
    const ltc_log_level before = ltc_log_level_get();
    const char *was = getenv("TORCH_CPP_LOG_LEVEL");
    char *saved = was ? strdup(was) : NULL;
    const struct {
        const char *value; /* NULL: unset */
        ltc_log_level want;
    } good[] = {{NULL, LTC_LOG_ERROR}, {"", LTC_LOG_ERROR}, {"INFO", LTC_LOG_INFO}, {"warning", LTC_LOG_WARNING},
                {"Fatal", LTC_LOG_FATAL}, {"0", LTC_LOG_INFO}, {"3", LTC_LOG_FATAL}};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        if (good[i].value)
            setenv("TORCH_CPP_LOG_LEVEL", good[i].value, 1);
        else
            unsetenv("TORCH_CPP_LOG_LEVEL");
        CHECK_OK(ltc_log_level_set(LTC_LOG_WARNING));
        CHECK_OK(ltc_log_level_init(LTC_LOG_ERROR));
        CHECK("TORCH_CPP_LOG_LEVEL, else the fallback", ltc_log_level_get() == good[i].want);
    }
    const char *bad[] = {"4", "-1", "DEBUG", "error ", "00"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        setenv("TORCH_CPP_LOG_LEVEL", bad[i], 1);
        CHECK_OK(ltc_log_level_set(LTC_LOG_INFO));
        char want[96];
        snprintf(want, sizeof want, "TORCH_CPP_LOG_LEVEL=\"%s\" is not valid: use INFO, WARNING, ERROR or FATAL", bad[i]);
        FAILS(ltc_log_level_init(LTC_LOG_ERROR), LTC_ERR_INVALID_ARGUMENT, want);
        CHECK("a bad TORCH_CPP_LOG_LEVEL leaves the fallback", ltc_log_level_get() == LTC_LOG_ERROR);
    }
    unsetenv("TORCH_CPP_LOG_LEVEL");
    CHECK_OK(ltc_log_level_set(LTC_LOG_WARNING));
    FAILS(ltc_log_level_init((ltc_log_level)7), LTC_ERR_INVALID_ARGUMENT, "level 7 is not valid");
    CHECK("a bad fallback changes nothing", ltc_log_level_get() == LTC_LOG_WARNING);
    if (saved)
        setenv("TORCH_CPP_LOG_LEVEL", saved, 1);
    free(saved);
    CHECK_OK(ltc_log_level_set(before));
}

static void row_ltc_mse_loss(void) {
    ltc_tensor *a = tensor(LTC_FLOAT32, 2, 2, 3), *l = GARBAGE(ltc_tensor);
    FAILS(ltc_mse_loss(NULL, a, a), LTC_ERR_INVALID_ARGUMENT, "'out' is NULL");
    FAILS(ltc_mse_loss(&l, NULL, a), LTC_ERR_INVALID_ARGUMENT, "'input' is NULL");
    CHECK_NULLED(l);
    FAILS(ltc_mse_loss(&l, a, NULL), LTC_ERR_INVALID_ARGUMENT, "'target' is NULL");
    ltc_tensor *b = tensor(LTC_FLOAT32, 2, 3, 2);
    FAILS(ltc_mse_loss(&l, a, b), LTC_ERR_INVALID_ARGUMENT, "input shape [2, 3] and target shape [3, 2] differ");
    ltc_tensor_free(b);
    b = tensor(LTC_FLOAT32, 1, 3, 1); /* would broadcast in LibTorch; refused here */
    FAILS(ltc_mse_loss(&l, a, b), LTC_ERR_INVALID_ARGUMENT, "target shape [3] differ");
    ltc_tensor_free(b);
    b = tensor(LTC_FLOAT64, 2, 2, 3);
    FAILS(ltc_mse_loss(&l, a, b), LTC_ERR_INVALID_ARGUMENT, "input dtype Float and target dtype Double");
    ltc_tensor_free(b);
    ltc_tensor *i1 = tensor(LTC_INT32, 2, 2, 3), *i2 = tensor(LTC_INT32, 2, 2, 3);
    FAILS(ltc_mse_loss(&l, i1, i2), LTC_ERR_INVALID_ARGUMENT, "both must be the same floating type");
    ltc_tensor_free(i1);
    ltc_tensor_free(i2);
    if (gpus) {
        ltc_tensor *g = NULL;
        CHECK_OK(ltc_tensor_to(&g, a, (ltc_device){LTC_DEVICE_CUDA, 0}, 0));
        FAILS(ltc_mse_loss(&l, a, g), LTC_ERR_INVALID_ARGUMENT, "input is on cpu, target on cuda:0");
        ltc_tensor_free(g);
    }
    ltc_tensor_free(a);
}

/* ---------------------------------------------------------------------------------------------- */
/* Diagnosis                                                                                        */
/* ---------------------------------------------------------------------------------------------- */

static ltc_diagnosis *the_diagnosis; /* made once, by the first row that needs one */

static ltc_diagnosis *diagnosis(void) {
    ltc_diagnosis **d = &the_diagnosis;
    if (!*d && ltc_diagnose(d, LTC_DIAGNOSE_QUICK | LTC_DIAGNOSE_NO_CHILD) != LTC_OK) {
        fprintf(stderr, "cannot diagnose: %s\n", ltc_last_error());
        exit(1);
    }
    return *d;
}

static void row_ltc_diagnose(void) {
    ltc_diagnosis *d = GARBAGE(ltc_diagnosis);
    FAILS(ltc_diagnose(NULL, 0), LTC_ERR_INVALID_ARGUMENT, "'out' is NULL");
    FAILS(ltc_diagnose(&d, 4), LTC_ERR_INVALID_ARGUMENT, "flags 0x4 has unknown bits 0x4");
    CHECK_NULLED(d);
    FAILS(ltc_diagnose(&d, 0x80000001u), LTC_ERR_INVALID_ARGUMENT, "flags 0x80000001 has unknown bits 0x80000000");
    FAILS(ltc_diagnose(&d, UINT_MAX), LTC_ERR_INVALID_ARGUMENT, "unknown bits 0xfffffffc");
}

static void row_ltc_diagnosis_free(void) { NO_OP(ltc_diagnosis_free(NULL)); }
static void row_ltc_diagnosis_usable(void) { CHECK("NULL is not usable", ltc_diagnosis_usable(NULL) == 0); }
static void row_ltc_diagnosis_cause(void) {
    RETURNS_SENTINEL(ltc_diagnosis_cause(NULL), LTC_CAUSE_INVALID, "'diagnosis' is NULL");
}
static void row_ltc_diagnosis_message(void) { CHECK("NULL gives \"\"", strcmp(ltc_diagnosis_message(NULL), "") == 0); }
static void row_ltc_diagnosis_fix(void) { CHECK("NULL gives \"\"", strcmp(ltc_diagnosis_fix(NULL), "") == 0); }
static void row_ltc_diagnosis_finding_count(void) { CHECK("NULL gives 0", ltc_diagnosis_finding_count(NULL) == 0); }

static void row_ltc_diagnosis_finding(void) {
    ltc_diagnosis *d = diagnosis();
    ltc_finding f;
    memset(&f, 0x5a, sizeof f);
    ltc_finding before = f;
    FAILS(ltc_diagnosis_finding(NULL, d, 0), LTC_ERR_INVALID_ARGUMENT, "'out' is NULL");
    FAILS(ltc_diagnosis_finding(&f, NULL, 0), LTC_ERR_INVALID_ARGUMENT, "'diagnosis' is NULL");
    size_t n = ltc_diagnosis_finding_count(d);
    char want[128];
    snprintf(want, sizeof want, "index %zu is out of range: the report has %zu finding", n, n);
    FAILS(ltc_diagnosis_finding(&f, d, n), LTC_ERR_INVALID_ARGUMENT, want);
    snprintf(want, sizeof want, "index %zu is out of range", (size_t)SIZE_MAX);
    FAILS(ltc_diagnosis_finding(&f, d, SIZE_MAX), LTC_ERR_INVALID_ARGUMENT, want);
    CHECK("out untouched on failure", memcmp(&f, &before, sizeof f) == 0);
}

static void row_ltc_diagnosis_get(void) {
    ltc_diagnosis *d = diagnosis();
    CHECK("NULL diagnosis gives NULL", ltc_diagnosis_get(NULL, "driver.version") == NULL);
    CHECK("NULL key gives NULL", ltc_diagnosis_get(d, NULL) == NULL);
    CHECK("an unknown key gives NULL", ltc_diagnosis_get(d, "no.such.fact") == NULL);
    CHECK("\"\" gives NULL", ltc_diagnosis_get(d, "") == NULL);
    CHECK("a key past an array's end gives NULL", ltc_diagnosis_get(d, "devices.99999.name") == NULL);
    CHECK("a path to an object (not a fact) gives NULL", ltc_diagnosis_get(d, "build") == NULL);
    CHECK("a real fact is found", ltc_diagnosis_get(d, "build.torch_version") != NULL);
}

static void row_ltc_diagnosis_json(void) {
    CHECK("NULL gives \"\"", strcmp(ltc_diagnosis_json(NULL), "") == 0);
    const char *j = ltc_diagnosis_json(diagnosis());
    CHECK("one JSON document", json_check(j, strlen(j), NULL, NULL) < 0 && j[0] == '{');
    /* what the report quotes need not be UTF-8, but the report must stay JSON (strict UTF-8) */
    const char *saved = getenv("CUDA_VISIBLE_DEVICES");
    char *keep = saved ? strdup(saved) : NULL;
    setenv("CUDA_VISIBLE_DEVICES", "0\xff\xfe,\xc0\xaf", 1);
    ltc_diagnosis *d = NULL;
    CHECK_OK(ltc_diagnose(&d, LTC_DIAGNOSE_QUICK | LTC_DIAGNOSE_NO_CHILD));
    if (keep)
        setenv("CUDA_VISIBLE_DEVICES", keep, 1);
    else
        unsetenv("CUDA_VISIBLE_DEVICES");
    free(keep);
    j = ltc_diagnosis_json(d);
    long at = json_check(j, strlen(j), NULL, NULL);
    char name[96];
    snprintf(name, sizeof name, "valid JSON with CUDA_VISIBLE_DEVICES not UTF-8 (first error at byte %ld)", at);
    CHECK(name, at < 0);
    ltc_diagnosis_free(d);
}

static void row_ltc_diagnosis_text(void) { CHECK("NULL gives \"\"", strcmp(ltc_diagnosis_text(NULL), "") == 0); }

static void row_ltc_cause_name(void) {
    CHECK("known", strcmp(ltc_cause_name(LTC_CAUSE_NO_DRIVER), "LTC_CAUSE_NO_DRIVER") == 0);
    const int unknown[] = {-2, LTC_CAUSE_TORCH_SETTING + 1, 999, INT_MIN, INT_MAX};
    for (size_t i = 0; i < sizeof unknown / sizeof *unknown; i++)
        CHECK("an unlisted cause is LTC_CAUSE_UNKNOWN", strcmp(ltc_cause_name((ltc_cause)unknown[i]), "LTC_CAUSE_UNKNOWN") == 0);
}

static void row_ltc_cause_summary(void) {
    for (int c = LTC_CAUSE_INVALID; c <= LTC_CAUSE_TORCH_SETTING; c++)
        CHECK("each cause has words", ltc_cause_summary((ltc_cause)c) && *ltc_cause_summary((ltc_cause)c));
    const int unknown[] = {-2, LTC_CAUSE_TORCH_SETTING + 1, 999, INT_MIN, INT_MAX};
    for (size_t i = 0; i < sizeof unknown / sizeof *unknown; i++)
        CHECK("an unlisted cause still gives a static string", ltc_cause_summary((ltc_cause)unknown[i]) != NULL);
}

/* ---------------------------------------------------------------------------------------------- */
/* Transfers and timing                                                                             */
/* ---------------------------------------------------------------------------------------------- */

static void row_ltc_tensor_empty(void) {
    creation_rows(K_EMPTY);
    int64_t shape[2] = {2, 3};
    ltc_tensor *t = GARBAGE(ltc_tensor);
    FAILS(ltc_tensor_empty(&t, shape, 2, LTC_FLOAT32, (ltc_device){LTC_DEVICE_CUDA, 0}, 1), LTC_ERR_INVALID_ARGUMENT,
          "pinned memory is host memory, but the device is cuda:0");
    CHECK_NULLED(t);
    FAILS(ltc_tensor_empty(&t, shape, 2, LTC_FLOAT32, (ltc_device){(ltc_device_type)7, 0}, 1), LTC_ERR_INVALID_ARGUMENT,
          "the device is <device type 7>");
    if (!gpus) {
        FAILS(ltc_tensor_empty(&t, shape, 2, LTC_FLOAT32, CPU, 1), LTC_ERR_CUDA_UNAVAILABLE,
              "pinned host memory needs a usable GPU");
        FAILS(ltc_tensor_empty(&t, shape, 2, LTC_FLOAT32, CPU, -1), LTC_ERR_CUDA_UNAVAILABLE,
              "pinned host memory needs a usable GPU"); /* any non-zero is pinned */
    }
    /* the shape checks come first, pinned or not */
    FAILS(ltc_tensor_empty(&t, NULL, 2, LTC_FLOAT32, CPU, 1), LTC_ERR_INVALID_ARGUMENT, "shape is NULL but ndim is 2");
}

static void row_ltc_tensor_pin_memory(void) {
    ltc_tensor *src = tensor(LTC_FLOAT32, 2, 2, 3), *p = GARBAGE(ltc_tensor);
    FAILS(ltc_tensor_pin_memory(NULL, src), LTC_ERR_INVALID_ARGUMENT, "'out' is NULL");
    FAILS(ltc_tensor_pin_memory(&p, NULL), LTC_ERR_INVALID_ARGUMENT, "'src' is NULL");
    CHECK_NULLED(p);
    if (!gpus) {
        p = GARBAGE(ltc_tensor);
        FAILS(ltc_tensor_pin_memory(&p, src), LTC_ERR_CUDA_UNAVAILABLE, "pinned host memory needs a usable GPU");
        CHECK_NULLED(p);
    } else {
        ltc_tensor *g = NULL;
        CHECK_OK(ltc_tensor_to(&g, src, (ltc_device){LTC_DEVICE_CUDA, 0}, 0));
        FAILS(ltc_tensor_pin_memory(&p, g), LTC_ERR_INVALID_ARGUMENT, "the tensor is on cuda:0; only host (cpu) tensors");
        ltc_tensor_free(g);
    }
    ltc_tensor_free(src);
}

static void row_ltc_tensor_is_pinned(void) {
    ltc_tensor *t = tensor(LTC_FLOAT32, 2, 2, 3);
    int pinned = 42;
    FAILS(ltc_tensor_is_pinned(NULL, t), LTC_ERR_INVALID_ARGUMENT, "'out' is NULL");
    FAILS(ltc_tensor_is_pinned(&pinned, NULL), LTC_ERR_INVALID_ARGUMENT, "'tensor' is NULL");
    CHECK("out untouched on failure", pinned == 42);
    CHECK_OK(ltc_tensor_is_pinned(&pinned, t));
    CHECK("a pageable tensor is not pinned", pinned == 0);
    ltc_tensor_free(t);
}

static void row_ltc_tensor_copy(void) {
    ltc_tensor *a = tensor(LTC_FLOAT32, 2, 2, 3), *b = tensor(LTC_FLOAT32, 2, 3, 2);
    FAILS(ltc_tensor_copy(NULL, a, 0), LTC_ERR_INVALID_ARGUMENT, "'dst' is NULL");
    FAILS(ltc_tensor_copy(a, NULL, 0), LTC_ERR_INVALID_ARGUMENT, "'src' is NULL");
    FAILS(ltc_tensor_copy(a, b, 0), LTC_ERR_INVALID_ARGUMENT, "dst is float32 [2, 3] on cpu but src is float32 [3, 2] on cpu");
    ltc_tensor_free(b);
    b = tensor(LTC_INT64, 2, 2, 3);
    FAILS(ltc_tensor_copy(a, b, 1), LTC_ERR_INVALID_ARGUMENT, "dst is float32 [2, 3] on cpu but src is int64 [2, 3] on cpu");
    ltc_tensor_free(b);
    b = tensor(LTC_FLOAT32, 1, 3, 1); /* would broadcast in LibTorch; refused here */
    FAILS(ltc_tensor_copy(a, b, 0), LTC_ERR_INVALID_ARGUMENT, "src is float32 [3] on cpu");
    ltc_tensor_free(b);
    ltc_tensor_free(a);
}

static void row_ltc_cuda_peer_access(void) {
    int out = 42;
    FAILS(ltc_cuda_peer_access(NULL, cu(0), cu(0)), LTC_ERR_INVALID_ARGUMENT, "'out' is NULL");
    FAILS(ltc_cuda_peer_access(&out, cu(-1), cu(0)), LTC_ERR_INVALID_ARGUMENT, "device -1 is not valid");
    FAILS(ltc_cuda_peer_access(&out, cu(INT_MIN), cu(0)), LTC_ERR_INVALID_ARGUMENT, "device -2147483648 is not valid");
    FAILS(ltc_cuda_peer_access(&out, cu(0), cu(-1)), LTC_ERR_INVALID_ARGUMENT, "peer -1 is not valid");
    FAILS(ltc_cuda_peer_access(&out, cu(gpus), cu(0)), past_last_status(), past_last_text());
    FAILS(ltc_cuda_peer_access(&out, cu(0), cu(INT_MAX)), past_last_status(), gpus ? "cuda:2147483647 is out of range" : "cuda:0 requested");
    FAILS(ltc_cuda_peer_access(&out, CPU, cu(0)), LTC_ERR_INVALID_ARGUMENT, "device is cpu, not a CUDA device");
    FAILS(ltc_cuda_peer_access(&out, cu(0), CPU), LTC_ERR_INVALID_ARGUMENT, "peer is cpu, not a CUDA device");
    CHECK("out untouched on failure", out == 42);
}

static void row_ltc_cuda_link_info_get(void) {
    ltc_cuda_link_info info;
    memset(&info, 0x5a, sizeof info);
    unsigned char before[sizeof info];
    memcpy(before, &info, sizeof info);
    FAILS(ltc_cuda_link_info_get(NULL, cu(0)), LTC_ERR_INVALID_ARGUMENT, "'out' is NULL");
    FAILS(ltc_cuda_link_info_get(&info, cu(-1)), LTC_ERR_INVALID_ARGUMENT, "device -1 is not valid");
    FAILS(ltc_cuda_link_info_get(&info, cu(INT_MIN)), LTC_ERR_INVALID_ARGUMENT, "device -2147483648 is not valid");
    FAILS(ltc_cuda_link_info_get(&info, cu(gpus)), past_last_status(), past_last_text());
    FAILS(ltc_cuda_link_info_get(&info, cu(INT_MAX)), past_last_status(), "cuda:2147483647");
    FAILS(ltc_cuda_link_info_get(&info, CPU), LTC_ERR_INVALID_ARGUMENT, "device is cpu, not a CUDA device");
    CHECK("out untouched on failure", memcmp(&info, before, sizeof info) == 0);
}

static void row_ltc_event_new(void) {
    ltc_event *e = GARBAGE(ltc_event);
    FAILS(ltc_event_new(NULL, cu(0)), LTC_ERR_INVALID_ARGUMENT, "'out' is NULL");
    FAILS(ltc_event_new(&e, cu(-2)), LTC_ERR_INVALID_ARGUMENT, "CUDA device index -2 is not valid");
    CHECK_NULLED(e);
    FAILS(ltc_event_new(&e, cu(INT_MIN)), LTC_ERR_INVALID_ARGUMENT, "CUDA device index -2147483648 is not valid");
    FAILS(ltc_event_new(&e, cu(gpus)), past_last_status(), past_last_text());
    if (!gpus)
        FAILS(ltc_event_new(&e, cu(-1)), LTC_ERR_CUDA_UNAVAILABLE, "cuda requested, but LibTorch sees no CUDA device");
    FAILS(ltc_event_new(&e, CPU), LTC_ERR_INVALID_ARGUMENT, "ltc_event_new: device is cpu, not a CUDA device");
    CHECK_NULLED(e);
}

static void row_ltc_event_free(void) { NO_OP(ltc_event_free(NULL)); }
static void row_ltc_event_record(void) { FAILS(ltc_event_record(NULL), LTC_ERR_INVALID_ARGUMENT, "'event' is NULL"); }

/* A fresh event on GPU 0 (NULL without a GPU): for the "never recorded" rows. */
static ltc_event *fresh_event(void) {
    ltc_event *e = NULL;
    if (gpus)
        CHECK_OK(ltc_event_new(&e, cu(0)));
    return e;
}

static void row_ltc_event_synchronize(void) {
    FAILS(ltc_event_synchronize(NULL), LTC_ERR_INVALID_ARGUMENT, "'event' is NULL");
    ltc_event *e = fresh_event();
    if (e)
        FAILS(ltc_event_synchronize(e), LTC_ERR_INVALID_ARGUMENT, "event 'event' was never recorded");
    ltc_event_free(e);
}

static void row_ltc_event_query(void) {
    int done = 42;
    ltc_event *e = fresh_event();
    FAILS(ltc_event_query(NULL, e), LTC_ERR_INVALID_ARGUMENT, "'out' is NULL");
    FAILS(ltc_event_query(&done, NULL), LTC_ERR_INVALID_ARGUMENT, "'event' is NULL");
    if (e)
        FAILS(ltc_event_query(&done, e), LTC_ERR_INVALID_ARGUMENT, "event 'event' was never recorded");
    CHECK("out untouched on failure", done == 42);
    ltc_event_free(e);
}

static void row_ltc_event_elapsed_ms(void) {
    double ms = 42;
    ltc_event *a = fresh_event(), *b = fresh_event();
    FAILS(ltc_event_elapsed_ms(NULL, a, b), LTC_ERR_INVALID_ARGUMENT, "'out' is NULL");
    FAILS(ltc_event_elapsed_ms(&ms, NULL, b), LTC_ERR_INVALID_ARGUMENT, "'start' is NULL");
    if (a) {
        FAILS(ltc_event_elapsed_ms(&ms, a, NULL), LTC_ERR_INVALID_ARGUMENT, "'end' is NULL");
        FAILS(ltc_event_elapsed_ms(&ms, a, b), LTC_ERR_INVALID_ARGUMENT, "event 'start' was never recorded");
        CHECK_OK(ltc_event_record(a));
        FAILS(ltc_event_elapsed_ms(&ms, a, b), LTC_ERR_INVALID_ARGUMENT, "event 'end' was never recorded");
    }
    CHECK("out untouched on failure", ms == 42);
    ltc_event_free(a);
    ltc_event_free(b);
}

/* ---------------------------------------------------------------------------------------------- */
/* Data parallel: argument checks only (nothing here reaches a rendezvous, a port or a process)     */
/* ---------------------------------------------------------------------------------------------- */

static void row_ltc_launcher_name(void) {
    static const char *const names[] = {"none", "torchrun", "slurm", "mpirun", "ltc_launch_local"};
    for (int i = 0; i < 5; i++)
        CHECK(names[i], ltc_launcher_name((ltc_launcher)i) && strcmp(ltc_launcher_name((ltc_launcher)i), names[i]) == 0);
    const int unknown[] = {-1, 5, 99, INT_MIN, INT_MAX};
    for (size_t i = 0; i < sizeof unknown / sizeof *unknown; i++)
        CHECK("an unlisted launcher is named \"unknown\"", strcmp(ltc_launcher_name((ltc_launcher)unknown[i]), "unknown") == 0);
}

static void env_fails(const char *const *envp, const char *text) {
    ltc_dist_env e, before;
    memset(&e, 0x5a, sizeof e);
    before = e;
    FAILS(ltc_dist_env_from(&e, envp), LTC_ERR_INVALID_ARGUMENT, text);
    CHECK("out untouched on failure", memcmp(&e, &before, sizeof e) == 0);
}

static void row_ltc_dist_env_from(void) {
    const char *const none[] = {NULL};
    FAILS(ltc_dist_env_from(NULL, none), LTC_ERR_INVALID_ARGUMENT, "'out' is NULL");
#define ENV(...) ((const char *const[]){__VA_ARGS__, NULL})
#define TR "MASTER_ADDR=127.0.0.1", "MASTER_PORT=29500"
    env_fails(ENV("RANK=0", "WORLD_SIZE=0", TR), "WORLD_SIZE=\"0\" is not valid");
    env_fails(ENV("RANK=0", "WORLD_SIZE=-2", TR), "WORLD_SIZE=\"-2\" is not valid");
    env_fails(ENV("RANK=0", "WORLD_SIZE=two", TR), "WORLD_SIZE=\"two\" is not valid");
    env_fails(ENV("RANK=0", "WORLD_SIZE=16777217", TR), "WORLD_SIZE=\"16777217\" is not valid: use a whole number, 1 to 16777216");
    env_fails(ENV("RANK=0", "WORLD_SIZE=", TR), "WORLD_SIZE=\"\" is not valid");
    env_fails(ENV("RANK=0", "WORLD_SIZE=99999999999999999999", TR), "WORLD_SIZE=\"99999999999999999999\" is not valid");
    env_fails(ENV("RANK=2", "WORLD_SIZE=2", TR), "RANK=\"2\" is not valid: use 0 to 1 (WORLD_SIZE=2)");
    env_fails(ENV("RANK=-1", "WORLD_SIZE=2", TR), "RANK=\"-1\" is not valid");
    env_fails(ENV("RANK= 1", "WORLD_SIZE=2", TR), "RANK=\" 1\" is not valid");
    env_fails(ENV("RANK=1", TR), "RANK is set but WORLD_SIZE is not");
    env_fails(ENV("WORLD_SIZE=2", TR), "WORLD_SIZE is set but RANK is not");
    env_fails(ENV("RANK=0", "WORLD_SIZE=2", "LOCAL_RANK=-1", TR), "LOCAL_RANK=\"-1\" is not valid");
    env_fails(ENV("RANK=0", "WORLD_SIZE=2", "MASTER_ADDR=127.0.0.1", "MASTER_PORT=0"), "MASTER_PORT=\"0\" is not valid");
    env_fails(ENV("RANK=0", "WORLD_SIZE=2", "MASTER_ADDR=127.0.0.1", "MASTER_PORT=65536"), "MASTER_PORT=\"65536\" is not valid");
    env_fails(ENV("RANK=0", "WORLD_SIZE=2", "MASTER_ADDR=127.0.0.1", "MASTER_PORT=http"), "MASTER_PORT=\"http\" is not valid");
    env_fails(ENV("RANK=0", "WORLD_SIZE=2", "MASTER_ADDR=", "MASTER_PORT=29500"), "MASTER_ADDR=\"\" is not valid");
    char long_addr[16 + LTC_DIST_ADDR_MAX];
    snprintf(long_addr, sizeof long_addr, "MASTER_ADDR=%0*d", LTC_DIST_ADDR_MAX, 0);
    env_fails(ENV("RANK=0", "WORLD_SIZE=2", long_addr, "MASTER_PORT=29500"), "MASTER_ADDR=\"0000000000");
    env_fails(ENV("RANK=0", "WORLD_SIZE=2", "MASTER_PORT=29500"), "MASTER_ADDR is not set");
    env_fails(ENV("RANK=0", "WORLD_SIZE=2", "MASTER_ADDR=127.0.0.1"), "MASTER_PORT is not set");
    env_fails(ENV("RANK=0", "WORLD_SIZE=1", "TORCHELASTIC_RESTART_COUNT=x"), "TORCHELASTIC_RESTART_COUNT=\"x\" is not valid");
    env_fails(ENV("SLURM_PROCID=5", "SLURM_NTASKS=2"), "SLURM_PROCID=\"5\" is not valid: use 0 to 1 (SLURM_NTASKS=2)");
    env_fails(ENV("SLURM_PROCID=0", "SLURM_NTASKS=2", "SLURM_LOCALID=x"), "SLURM_LOCALID=\"x\" is not valid");
    env_fails(ENV("SLURM_PROCID=0", "SLURM_NTASKS=4", "SLURM_NNODES=2"), "spans several nodes");
    env_fails(ENV("OMPI_COMM_WORLD_RANK=0"), "OMPI_COMM_WORLD_RANK is set but OMPI_COMM_WORLD_SIZE is not");
    env_fails(ENV("OMPI_COMM_WORLD_RANK=0", "OMPI_COMM_WORLD_SIZE=0"), "OMPI_COMM_WORLD_SIZE=\"0\" is not valid");
    /* odd entries are ignored, not misread: a name without '=', a prefix of a launcher variable */
    ltc_dist_env e;
    CHECK_OK(ltc_dist_env_from(&e, ENV("RANK", "WORLD", "RANKS=3", "=1", "")));
    CHECK("odd entries leave rank 0 of 1", e.launcher == LTC_LAUNCHER_NONE && e.rank == 0 && e.world_size == 1);
#undef TR
#undef ENV
    /* NULL reads this process's environment: set torchrun's variables (they win over any other launcher's),
     * read them back, and restore what was there */
    static const char *const names[] = {"RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"};
    static const char *const values[] = {"2", "3", "1", "node7", "29511"};
    char *saved[5];
    for (int i = 0; i < 5; i++) {
        const char *v = getenv(names[i]);
        saved[i] = v ? strdup(v) : NULL;
        setenv(names[i], values[i], 1);
    }
    CHECK_OK(ltc_dist_env_from(&e, NULL));
    CHECK("NULL envp reads this process's environment", e.launcher == LTC_LAUNCHER_TORCHRUN && e.rank == 2 &&
                                                            e.world_size == 3 && e.local_rank == 1 &&
                                                            strcmp(e.master_addr, "node7") == 0 && e.master_port == 29511);
    setenv("WORLD_SIZE", "2", 1);
    FAILS(ltc_dist_env_from(&e, NULL), LTC_ERR_INVALID_ARGUMENT, "RANK=\"2\" is not valid");
    for (int i = 0; i < 5; i++) {
        if (saved[i])
            setenv(names[i], saved[i], 1);
        else
            unsetenv(names[i]);
        free(saved[i]);
    }
}

static void row_ltc_launch_local(void) {
    int code = 42, rank = 42, restarts = 42;
    const char *argv[] = {"/nonexistent/ltc-rank", NULL}, *empty[] = {NULL};
    ltc_launch_options o = LTC_LAUNCH_OPTIONS_INIT;
    o.argv = argv;
    o.device_type = LTC_DEVICE_CPU;
    FAILS(ltc_launch_local(NULL, &rank, &restarts, &o), LTC_ERR_INVALID_ARGUMENT, "'out_exit_code' is NULL");
    FAILS(ltc_launch_local(&code, NULL, &restarts, &o), LTC_ERR_INVALID_ARGUMENT, "'out_failed_rank' is NULL");
    FAILS(ltc_launch_local(&code, &rank, NULL, NULL), LTC_ERR_INVALID_ARGUMENT,
          "ltc_launch_options.argv is NULL: set it to the ranks' argv");
    /* each field out of range, named with what is valid; the others as above */
    const struct {
        unsigned version;
        const char *const *argv;
        int nproc, device_type, port;
        double timeout_s;
        int max_restarts, forward_signals;
        const char *text;
    } bad[] = {
        {0, argv, 2, LTC_DEVICE_CPU, 0, 1, 0, 0, "ltc_launch_options.version 0 is not known: use LTC_LAUNCH_OPTIONS_INIT"},
        {2, argv, 2, LTC_DEVICE_CPU, 0, 1, 0, 0, "ltc_launch_options.version 2 is not known"},
        {UINT_MAX, argv, 2, LTC_DEVICE_CPU, 0, 1, 0, 0, "ltc_launch_options.version 4294967295 is not known"},
        {1, NULL, 2, LTC_DEVICE_CPU, 0, 1, 0, 0, "ltc_launch_options.argv is NULL"},
        {1, empty, 2, LTC_DEVICE_CPU, 0, 1, 0, 0, "ltc_launch_options.argv is empty"},
        {1, argv, 0, LTC_DEVICE_CPU, 0, 1, 0, 0, "ltc_launch_options.nproc 0 is not valid: use 1 or more"},
        {1, argv, INT_MIN, LTC_DEVICE_CPU, 0, 1, 0, 0, "ltc_launch_options.nproc -2147483648 is not valid"},
        {1, argv, 2, 7, 0, 1, 0, 0, "ltc_launch_options.device_type 7 is not valid: use LTC_DEVICE_CPU or LTC_DEVICE_CUDA"},
        {1, argv, 2, -1, 0, 1, 0, 0, "ltc_launch_options.device_type -1 is not valid"},
        {1, argv, 2, LTC_DEVICE_CPU, -1, 1, 0, 0, "ltc_launch_options.port -1 is not valid: use 1 to 65535, or 0 for a free port"},
        {1, argv, 2, LTC_DEVICE_CPU, 65536, 1, 0, 0, "ltc_launch_options.port 65536 is not valid"},
        {1, argv, 2, LTC_DEVICE_CPU, 0, 0, 0, 0, "ltc_launch_options.timeout_s 0 is not valid: use a finite number of seconds > 0"},
        {1, argv, 2, LTC_DEVICE_CPU, 0, -1, 0, 0, "ltc_launch_options.timeout_s -1 is not valid"},
        {1, argv, 2, LTC_DEVICE_CPU, 0, NAN, 0, 0, "ltc_launch_options.timeout_s nan is not valid"},
        {1, argv, 2, LTC_DEVICE_CPU, 0, INFINITY, 0, 0, "ltc_launch_options.timeout_s inf is not valid"},
        {1, argv, 2, LTC_DEVICE_CPU, 0, 1, -1, 0, "ltc_launch_options.max_restarts -1 is not valid: use 0 to 1000"},
        {1, argv, 2, LTC_DEVICE_CPU, 0, 1, 1001, 0, "ltc_launch_options.max_restarts 1001 is not valid"},
        {1, argv, 2, LTC_DEVICE_CPU, 0, 1, INT_MAX, 0, "ltc_launch_options.max_restarts 2147483647 is not valid"},
        {1, argv, 2, LTC_DEVICE_CPU, 0, 1, 0, 2, "ltc_launch_options.forward_signals 2 is not valid: use 0 or 1"},
        {1, argv, 2, LTC_DEVICE_CPU, 0, 1, 0, -1, "ltc_launch_options.forward_signals -1 is not valid"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        o = (ltc_launch_options){bad[i].version, bad[i].nproc, bad[i].argv, (ltc_device_type)bad[i].device_type,
                                 bad[i].port, bad[i].timeout_s, bad[i].max_restarts, bad[i].forward_signals};
        FAILS(ltc_launch_local(&code, &rank, &restarts, &o), LTC_ERR_INVALID_ARGUMENT, bad[i].text);
    }
    /* one rank per GPU, and CPU ranks within the cores: refused naming both numbers, before anything starts */
    o = (ltc_launch_options)LTC_LAUNCH_OPTIONS_INIT;
    o.argv = argv;
    o.nproc = gpus + 1;
    char want[96];
    if (gpus)
        snprintf(want, sizeof want, "%d ranks asked for, but %d CUDA device", gpus + 1, gpus);
    else
        snprintf(want, sizeof want, "1 ranks asked for, one per GPU, but 0 CUDA devices are visible");
    FAILS(ltc_launch_local(&code, &rank, &restarts, &o), LTC_ERR_INVALID_ARGUMENT, want);
    o.device_type = LTC_DEVICE_CPU;
    o.nproc = 1 << 20;
    FAILS(ltc_launch_local(&code, &rank, &restarts, &o), LTC_ERR_INVALID_ARGUMENT, "1048576 CPU ranks asked for, but this process may use");
    CHECK("outs untouched on failure", code == 42 && rank == 42 && restarts == 42);
}

/* A well-formed environment for a job of two: only the field under test is made bad. */
static ltc_dist_env good_env(void) {
    ltc_dist_env e;
    memset(&e, 0, sizeof e);
    e.launcher = LTC_LAUNCHER_TORCHRUN;
    e.rank = 1;
    e.world_size = 2;
    e.local_rank = 1;
    strcpy(e.master_addr, "127.0.0.1");
    e.master_port = 29500;
    return e;
}

static void row_ltc_dist_init(void) {
    ltc_dist *g = GARBAGE(ltc_dist);
    ltc_dist_env env = good_env();
    FAILS(ltc_dist_init(NULL, &env, CPU, 1), LTC_ERR_INVALID_ARGUMENT, "'out' is NULL");
    FAILS(ltc_dist_init(&g, NULL, CPU, 1), LTC_ERR_INVALID_ARGUMENT, "'env' is NULL");
    CHECK_NULLED(g);
    env.launcher = (ltc_launcher)99;
    FAILS(ltc_dist_init(&g, &env, CPU, 1), LTC_ERR_INVALID_ARGUMENT, "launcher 99 is not valid");
    env.launcher = (ltc_launcher)-1;
    FAILS(ltc_dist_init(&g, &env, CPU, 1), LTC_ERR_INVALID_ARGUMENT, "launcher -1 is not valid");
    env = good_env();
    env.world_size = 0;
    FAILS(ltc_dist_init(&g, &env, CPU, 1), LTC_ERR_INVALID_ARGUMENT, "world size 0 is not valid");
    env = good_env();
    env.rank = 2;
    FAILS(ltc_dist_init(&g, &env, CPU, 1), LTC_ERR_INVALID_ARGUMENT, "rank 2 is not valid with a world size of 2");
    env.rank = -1;
    FAILS(ltc_dist_init(&g, &env, CPU, 1), LTC_ERR_INVALID_ARGUMENT, "rank -1 is not valid");
    env = good_env();
    env.local_rank = -1;
    FAILS(ltc_dist_init(&g, &env, CPU, 1), LTC_ERR_INVALID_ARGUMENT, "local rank -1 is not valid");
    env = good_env();
    env.master_addr[0] = '\0';
    FAILS(ltc_dist_init(&g, &env, CPU, 1), LTC_ERR_INVALID_ARGUMENT, "master_addr is empty or not NUL-terminated");
    memset(env.master_addr, 'a', sizeof env.master_addr);
    FAILS(ltc_dist_init(&g, &env, CPU, 1), LTC_ERR_INVALID_ARGUMENT, "master_addr is empty or not NUL-terminated");
    env = good_env();
    env.master_port = 0; /* any free port: only for a job of one */
    FAILS(ltc_dist_init(&g, &env, CPU, 1), LTC_ERR_INVALID_ARGUMENT, "master port 0 is not valid");
    env.master_port = 65536;
    FAILS(ltc_dist_init(&g, &env, CPU, 1), LTC_ERR_INVALID_ARGUMENT, "master port 65536 is not valid");
    env.master_port = -1;
    FAILS(ltc_dist_init(&g, &env, CPU, 1), LTC_ERR_INVALID_ARGUMENT, "master port -1 is not valid");
    env = good_env();
    const double bad_timeout[] = {0, -1, NAN, INFINITY};
    const char *timeout_text[] = {"timeout 0 s is not valid", "timeout -1 s is not valid", "timeout nan s is not valid",
                                  "timeout inf s is not valid"};
    for (size_t i = 0; i < sizeof bad_timeout / sizeof *bad_timeout; i++)
        FAILS(ltc_dist_init(&g, &env, CPU, bad_timeout[i]), LTC_ERR_INVALID_ARGUMENT, timeout_text[i]);
    /* devices: refused before any store is opened */
    FAILS(ltc_dist_init(&g, &env, ((ltc_device){(ltc_device_type)7, 0}), 1), LTC_ERR_INVALID_ARGUMENT, "device type 7 is not valid");
    FAILS(ltc_dist_init(&g, &env, ((ltc_device){LTC_DEVICE_CPU, 3}), 1), LTC_ERR_INVALID_ARGUMENT, "device cpu with index 3");
    FAILS(ltc_dist_init(&g, &env, ((ltc_device){LTC_DEVICE_CUDA, -1}), 1), LTC_ERR_INVALID_ARGUMENT,
          "device cuda has no index: use cuda:N");
#if LTC_TEST_TORCH_HAS_CUDA
    FAILS(ltc_dist_init(&g, &env, ((ltc_device){LTC_DEVICE_CUDA, gpus}), 1), past_last_status(), past_last_text());
#else
    FAILS(ltc_dist_init(&g, &env, ((ltc_device){LTC_DEVICE_CUDA, 0}), 1), LTC_ERR_UNSUPPORTED, "built without NCCL");
#endif
    CHECK_NULLED(g);
}

static void row_ltc_dist_free(void) { NO_OP(ltc_dist_free(NULL)); }
static void row_ltc_dist_rank(void) { RETURNS_SENTINEL(ltc_dist_rank(NULL), -1, "'dist' is NULL"); }
static void row_ltc_dist_world_size(void) { RETURNS_SENTINEL(ltc_dist_world_size(NULL), -1, "'dist' is NULL"); }

/* The collectives need a live group, which needs a rendezvous: here only their NULL checks (their
 * other bad input, e.g. a root out of range, is tested with a real group in test_train_data_parallel). */

/* Rows added with checkpoints. */
static void row_ltc_checkpoint_lock_new(void) {
    ltc_checkpoint_lock *lock = GARBAGE(ltc_checkpoint_lock);
    FAILS(ltc_checkpoint_lock_new(NULL, "/tmp/x.pt"), LTC_ERR_INVALID_ARGUMENT, "'out' is NULL");
    FAILS(ltc_checkpoint_lock_new(&lock, NULL), LTC_ERR_INVALID_ARGUMENT, "'path' is NULL");
    CHECK_NULLED(lock);
    FAILS(ltc_checkpoint_lock_new(&lock, ""), LTC_ERR_INVALID_ARGUMENT, "path is empty");
    FAILS(ltc_checkpoint_lock_new(&lock, "/"), LTC_ERR_IO, "cannot use /: Is a directory (/ is a folder: pass a file name");
    FAILS(ltc_checkpoint_lock_new(&lock, "/nonexistent-dir/x.pt"), LTC_ERR_IO,
          "cannot create the lock file /nonexistent-dir/x.pt.lock: No such file or directory (its folder /nonexistent-dir does not exist");
    FAILS(ltc_checkpoint_lock_new(&lock, "/dev/null/x.pt"), LTC_ERR_IO, "Not a directory");
    CHECK_NULLED(lock);
}

static void row_ltc_checkpoint_lock_free(void) { NO_OP(ltc_checkpoint_lock_free(NULL)); }

/* The cross-rank check: its argument checks fail before any store is opened; the rows' contents, the
 * proof and the sweep are tested with real ranks in test_cluster_check. */
static void row_ltc_rank_state_name(void) {
    static const char *const names[] = {"ok", "gpu unusable", "did not join", "no report", "no GPU for its local rank",
                                        "shares a GPU", "versions differ", "collective failed"};
    for (int i = 0; i < 8; i++)
        CHECK(names[i], strcmp(ltc_rank_state_name((ltc_rank_state)i), names[i]) == 0);
    const int unknown[] = {-1, 8, INT_MAX, INT_MIN};
    for (size_t i = 0; i < sizeof unknown / sizeof *unknown; i++)
        CHECK("an unlisted state gives \"unknown\"", strcmp(ltc_rank_state_name((ltc_rank_state)unknown[i]), "unknown") == 0);
}

static void row_ltc_cluster_check(void) {
    ltc_cluster_report *r = GARBAGE(ltc_cluster_report);
    ltc_dist_env env = good_env();
    FAILS(ltc_cluster_check(NULL, &env, 0, 1), LTC_ERR_INVALID_ARGUMENT, "'out' is NULL");
    FAILS(ltc_cluster_check(&r, NULL, 0, 1), LTC_ERR_INVALID_ARGUMENT, "'env' is NULL");
    CHECK_NULLED(r);
    env.launcher = (ltc_launcher)99;
    FAILS(ltc_cluster_check(&r, &env, 0, 1), LTC_ERR_INVALID_ARGUMENT, "launcher 99 is not valid");
    env = good_env();
    env.world_size = 0;
    FAILS(ltc_cluster_check(&r, &env, 0, 1), LTC_ERR_INVALID_ARGUMENT, "world size 0 is not valid");
    env = good_env();
    env.rank = 2;
    FAILS(ltc_cluster_check(&r, &env, 0, 1), LTC_ERR_INVALID_ARGUMENT, "rank 2 is not valid with a world size of 2");
    env = good_env();
    env.local_rank = -3;
    FAILS(ltc_cluster_check(&r, &env, 0, 1), LTC_ERR_INVALID_ARGUMENT, "local rank -3 is not valid");
    env = good_env();
    memset(env.master_addr, 'a', sizeof env.master_addr);
    FAILS(ltc_cluster_check(&r, &env, 0, 1), LTC_ERR_INVALID_ARGUMENT, "master_addr is empty or not NUL-terminated");
    env = good_env();
    env.master_port = 0;
    FAILS(ltc_cluster_check(&r, &env, 0, 1), LTC_ERR_INVALID_ARGUMENT, "master port 0 is not valid");
    env.master_port = 70000;
    FAILS(ltc_cluster_check(&r, &env, 0, 1), LTC_ERR_INVALID_ARGUMENT, "master port 70000 is not valid");
    env = good_env();
    FAILS(ltc_cluster_check(&r, &env, 0x80, 1), LTC_ERR_INVALID_ARGUMENT, "flags 0x80 are not valid");
    FAILS(ltc_cluster_check(&r, &env, 0, 0), LTC_ERR_INVALID_ARGUMENT, "timeout 0 s is not valid");
    FAILS(ltc_cluster_check(&r, &env, 0, NAN), LTC_ERR_INVALID_ARGUMENT, "timeout nan s is not valid");
    FAILS(ltc_cluster_check(&r, &env, 0, 1e8), LTC_ERR_INVALID_ARGUMENT, "timeout 1e+08 s is not valid");
    CHECK_NULLED(r);
}

static void row_ltc_cluster_allreduce_proof(void) {
    FAILS(ltc_cluster_allreduce_proof(NULL, CPU, 64, 1), LTC_ERR_INVALID_ARGUMENT, "'report' is NULL");
    FAILS(ltc_cluster_allreduce_proof(NULL, ((ltc_device){(ltc_device_type)7, 0}), (size_t)-1, -1), LTC_ERR_INVALID_ARGUMENT,
          "'report' is NULL");
}

static void row_ltc_cluster_report_free(void) { NO_OP(ltc_cluster_report_free(NULL)); }
static void row_ltc_cluster_report_ready(void) { RETURNS_SENTINEL(ltc_cluster_report_ready(NULL), 0, "'report' is NULL"); }
static void row_ltc_cluster_report_rank_count(void) {
    RETURNS_SENTINEL(ltc_cluster_report_rank_count(NULL), -1, "'report' is NULL");
}

static void row_ltc_cluster_report_rank(void) {
    ltc_cluster_rank row;
    FAILS(ltc_cluster_report_rank(NULL, NULL, 0), LTC_ERR_INVALID_ARGUMENT, "'out' is NULL");
    FAILS(ltc_cluster_report_rank(&row, NULL, -1), LTC_ERR_INVALID_ARGUMENT, "'report' is NULL");
}

static void row_ltc_cluster_report_sweep_count(void) {
    CHECK("NULL has no sweep", ltc_cluster_report_sweep_count(NULL) == 0);
}

static void row_ltc_cluster_report_sweep(void) {
    ltc_cluster_bandwidth b;
    FAILS(ltc_cluster_report_sweep(NULL, NULL, 0), LTC_ERR_INVALID_ARGUMENT, "'out' is NULL");
    FAILS(ltc_cluster_report_sweep(&b, NULL, 0), LTC_ERR_INVALID_ARGUMENT, "'report' is NULL");
}

static void row_ltc_cluster_report_json(void) { CHECK("NULL gives \"\"", strcmp(ltc_cluster_report_json(NULL), "") == 0); }
static void row_ltc_cluster_report_text(void) { CHECK("NULL gives \"\"", strcmp(ltc_cluster_report_text(NULL), "") == 0); }


/* ---------------------------------------------------------------------------------------------- */
/* Models (ltc/model.h): the rows need no package; tests/test_model*.c run real and broken ones   */
/* ---------------------------------------------------------------------------------------------- */

static void row_ltc_model_load(void) {
    ltc_model *m = GARBAGE(ltc_model);
    ltc_model_options o = LTC_MODEL_OPTIONS_INIT;
    FAILS(ltc_model_load(NULL, "x.pt2", NULL), LTC_ERR_INVALID_ARGUMENT, "'out' is NULL");
    FAILS(ltc_model_load(&m, NULL, NULL), LTC_ERR_INVALID_ARGUMENT, "'path' is NULL");
    CHECK_NULLED(m);
    FAILS(ltc_model_load(&m, "/no/such/model.pt2", NULL), LTC_ERR_INVALID_ARGUMENT,
          "/no/such/model.pt2 cannot be opened: No such file or directory");
    const struct { unsigned version; int device_index, runners, check_in_child; const char *name, *text; } bad[] = {
        {0, -1, 0, 0, NULL, "ltc_model_options.version 0 is not known: use LTC_MODEL_OPTIONS_INIT"},
        {2, -1, 0, 0, NULL, "ltc_model_options.version 2 is not known"},
        {UINT_MAX, -1, 0, 0, NULL, "ltc_model_options.version 4294967295 is not known"},
        {1, -2, 0, 0, NULL, "ltc_model_options.device_index -2 is not valid: use -1 (the current GPU) or 0 and up"},
        {1, INT_MIN, 0, 0, NULL, "ltc_model_options.device_index -2147483648 is not valid"},
        {1, -1, -1, 0, NULL, "ltc_model_options.runners -1 is not valid: use 0 to 64"},
        {1, -1, LTC_MODEL_RUNNERS_MAX + 1, 0, NULL, "ltc_model_options.runners 65 is not valid"},
        {1, -1, 0, 2, NULL, "ltc_model_options.check_in_child 2 is not valid: use 0 or 1"},
        {1, -1, 0, -1, NULL, "ltc_model_options.check_in_child -1 is not valid"},
        {1, -1, 0, 0, "", "ltc_model_options.model_name is \"\": use NULL for \"model\", or a name"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        o = (ltc_model_options){bad[i].version, bad[i].name, bad[i].device_index, bad[i].runners, bad[i].check_in_child};
        m = GARBAGE(ltc_model);
        FAILS(ltc_model_load(&m, "/no/such/model.pt2", &o), LTC_ERR_INVALID_ARGUMENT, bad[i].text);
        CHECK_NULLED(m);
    }
}

static void row_ltc_model_free(void) { NO_OP(ltc_model_free(NULL)); }

static void row_ltc_model_run(void) {
    ltc_tensor *out[1] = {GARBAGE(ltc_tensor)};
    FAILS(ltc_model_run(out, 1, NULL, NULL, 0), LTC_ERR_INVALID_ARGUMENT, "'model' is NULL");
    CHECK("outputs set to NULL on failure", out[0] == NULL);
    FAILS(ltc_model_run(NULL, 0, NULL, NULL, 0), LTC_ERR_INVALID_ARGUMENT, "'model' is NULL");
}

static void row_ltc_model_input_count(void) {
    RETURNS_SENTINEL(ltc_model_input_count(NULL), -1, "'model' is NULL");
}

static void row_ltc_model_output_count(void) {
    RETURNS_SENTINEL(ltc_model_output_count(NULL), -1, "'model' is NULL");
}

static void row_ltc_model_input(void) {
    ltc_model_io io;
    FAILS(ltc_model_input(NULL, NULL, 0), LTC_ERR_INVALID_ARGUMENT, "'out' is NULL");
    FAILS(ltc_model_input(&io, NULL, 0), LTC_ERR_INVALID_ARGUMENT, "'model' is NULL");
}

static void row_ltc_model_output(void) {
    ltc_model_io io;
    FAILS(ltc_model_output(NULL, NULL, 0), LTC_ERR_INVALID_ARGUMENT, "'out' is NULL");
    FAILS(ltc_model_output(&io, NULL, -1), LTC_ERR_INVALID_ARGUMENT, "'model' is NULL");
}

static void row_ltc_model_device(void) {
    ltc_device d;
    FAILS(ltc_model_device(NULL, NULL), LTC_ERR_INVALID_ARGUMENT, "'out' is NULL");
    FAILS(ltc_model_device(&d, NULL), LTC_ERR_INVALID_ARGUMENT, "'model' is NULL");
}

static void row_ltc_model_metadata(void) {
    RETURNS_SENTINEL(ltc_model_metadata(NULL, "AOTI_DEVICE_KEY"), NULL, "'model' is NULL");
    RETURNS_SENTINEL(ltc_model_metadata(NULL, NULL), NULL, "'model' is NULL");
}

/* ---------------------------------------------------------------------------------------------- */


/* tensor lists */
static void row_ltc_tensor_list_new(void) { FAILS(ltc_tensor_list_new(NULL), LTC_ERR_INVALID_ARGUMENT, "'out' is NULL"); }
static void row_ltc_tensor_list_free(void) { NO_OP(ltc_tensor_list_free(NULL)); }
static void row_ltc_tensor_list_append(void) {
    ltc_tensor_list *l = NULL;
    ltc_tensor *t = NULL;
    int64_t shape[1] = {2};
    CHECK_OK(ltc_tensor_list_new(&l));
    CHECK_OK(ltc_tensor_zeros(&t, shape, 1, LTC_FLOAT32, CPU));
    FAILS(ltc_tensor_list_append(NULL, "w", t), LTC_ERR_INVALID_ARGUMENT, "'list' is NULL");
    FAILS(ltc_tensor_list_append(l, NULL, t), LTC_ERR_INVALID_ARGUMENT, "'name' is NULL");
    FAILS(ltc_tensor_list_append(l, "w", NULL), LTC_ERR_INVALID_ARGUMENT, "'tensor' is NULL");
    FAILS(ltc_tensor_list_append(l, "", t), LTC_ERR_INVALID_ARGUMENT, "the name is empty");
    char longname[LTC_NAME_MAX + 2];
    memset(longname, 'a', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    FAILS(ltc_tensor_list_append(l, longname, t), LTC_ERR_INVALID_ARGUMENT, "is longer than 255 bytes");
    CHECK_OK(ltc_tensor_list_append(l, "w", t));
    FAILS(ltc_tensor_list_append(l, "w", t), LTC_ERR_INVALID_ARGUMENT, "the name \"w\" is in the list already");
    CHECK("a refused append adds nothing", ltc_tensor_list_count(l) == 1);
    ltc_tensor_free(t);
    ltc_tensor_list_free(l);
}
static void row_ltc_tensor_list_count(void) {
    RETURNS_SENTINEL(ltc_tensor_list_count(NULL), -1, "'list' is NULL");
}
static void row_ltc_tensor_list_get(void) {
    ltc_tensor_list *l = NULL;
    ltc_tensor *t = GARBAGE(ltc_tensor);
    const char *name = "garbage";
    CHECK_OK(ltc_tensor_list_new(&l));
    FAILS(ltc_tensor_list_get(&t, &name, NULL, 0), LTC_ERR_INVALID_ARGUMENT, "'list' is NULL");
    CHECK_NULLED(t);
    CHECK_NULLED(name);
    FAILS(ltc_tensor_list_get(NULL, NULL, l, 0), LTC_ERR_INVALID_ARGUMENT, "are both NULL");
    FAILS(ltc_tensor_list_get(&t, NULL, l, 0), LTC_ERR_INVALID_ARGUMENT, "index 0 is out of range: the list has 0 entries");
    FAILS(ltc_tensor_list_get(&t, NULL, l, -1), LTC_ERR_INVALID_ARGUMENT, "index -1 is out of range");
    ltc_tensor_list_free(l);
}
static void row_ltc_tensor_list_find(void) {
    ltc_tensor_list *l = NULL;
    ltc_tensor *t = GARBAGE(ltc_tensor);
    CHECK_OK(ltc_tensor_list_new(&l));
    FAILS(ltc_tensor_list_find(NULL, l, "w"), LTC_ERR_INVALID_ARGUMENT, "'out' is NULL");
    FAILS(ltc_tensor_list_find(&t, NULL, "w"), LTC_ERR_INVALID_ARGUMENT, "'list' is NULL");
    CHECK_NULLED(t);
    FAILS(ltc_tensor_list_find(&t, l, NULL), LTC_ERR_INVALID_ARGUMENT, "'name' is NULL");
    FAILS(ltc_tensor_list_find(&t, l, "w"), LTC_ERR_INVALID_ARGUMENT, "no entry is named \"w\"; the list holds none");
    ltc_tensor_list_free(l);
}

/* collectives on tensors and tensor lists; CUDA graphs. The collectives' other bad input (a root or an op
 * out of range, a tensor on another device, calls that differ across ranks) needs a live group: it is tested
 * with real ranks in test_dist_collectives. */
static void row_ltc_dist_all_reduce(void) {
    ltc_tensor *t = tensor(LTC_FLOAT32, 1, 3, 0);
    FAILS(ltc_dist_all_reduce(NULL, t, LTC_REDUCE_SUM), LTC_ERR_INVALID_ARGUMENT, "'dist' is NULL");
    FAILS(ltc_dist_all_reduce(NULL, NULL, (ltc_reduce_op)7), LTC_ERR_INVALID_ARGUMENT, "'dist' is NULL");
    ltc_tensor_free(t);
}
static void row_ltc_dist_broadcast(void) {
    ltc_tensor *t = tensor(LTC_FLOAT32, 1, 3, 0);
    FAILS(ltc_dist_broadcast(NULL, t, 0), LTC_ERR_INVALID_ARGUMENT, "'dist' is NULL");
    FAILS(ltc_dist_broadcast(NULL, NULL, -1), LTC_ERR_INVALID_ARGUMENT, "'dist' is NULL");
    ltc_tensor_free(t);
}
static void row_ltc_dist_barrier(void) { FAILS(ltc_dist_barrier(NULL), LTC_ERR_INVALID_ARGUMENT, "'dist' is NULL"); }
static void row_ltc_dist_broadcast_parameters(void) {
    ltc_tensor_list *l = NULL;
    CHECK_OK(ltc_tensor_list_new(&l));
    FAILS(ltc_dist_broadcast_parameters(NULL, l, 0), LTC_ERR_INVALID_ARGUMENT, "'dist' is NULL");
    FAILS(ltc_dist_broadcast_parameters(NULL, NULL, INT_MIN), LTC_ERR_INVALID_ARGUMENT, "'dist' is NULL");
    ltc_tensor_list_free(l);
}
static void row_ltc_dist_average_gradients(void) {
    ltc_tensor_list *l = NULL;
    CHECK_OK(ltc_tensor_list_new(&l));
    FAILS(ltc_dist_average_gradients(NULL, l), LTC_ERR_INVALID_ARGUMENT, "'dist' is NULL");
    FAILS(ltc_dist_average_gradients(NULL, NULL), LTC_ERR_INVALID_ARGUMENT, "'dist' is NULL");
    ltc_tensor_list_free(l);
}
static void row_ltc_dist_check_replicas(void) {
    ltc_tensor_list *l = NULL;
    CHECK_OK(ltc_tensor_list_new(&l));
    FAILS(ltc_dist_check_replicas(NULL, l), LTC_ERR_INVALID_ARGUMENT, "'dist' is NULL");
    ltc_tensor_list_free(l);
}

static void row_ltc_cuda_graph_new(void) {
    ltc_cuda_graph *g = GARBAGE(ltc_cuda_graph);
#if LTC_TEST_TORCH_HAS_CUDA
    FAILS(ltc_cuda_graph_new(NULL, CPU), LTC_ERR_INVALID_ARGUMENT, "'out' is NULL");
    FAILS(ltc_cuda_graph_new(&g, CPU), LTC_ERR_INVALID_ARGUMENT, "device cpu is not a GPU: a CUDA graph records GPU work");
    CHECK_NULLED(g);
    BAD_DEVICES(ltc_cuda_graph_new(&g, dev));
    CHECK_NULLED(g);
    if (gpus) {
        CHECK_OK(ltc_cuda_graph_new(&g, ((ltc_device){LTC_DEVICE_CUDA, -1})));
        ltc_cuda_graph_free(g);
    }
#else
    FAILS(ltc_cuda_graph_new(&g, ((ltc_device){LTC_DEVICE_CUDA, 0})), LTC_ERR_UNSUPPORTED, "built without CUDA");
    CHECK_NULLED(g);
#endif
}
static void row_ltc_cuda_graph_free(void) { NO_OP(ltc_cuda_graph_free(NULL)); }
#if LTC_TEST_TORCH_HAS_CUDA
/* A new graph on cuda:0, or NULL without a GPU (the rows then check their NULL argument only). */
static ltc_cuda_graph *graph0(void) {
    ltc_cuda_graph *g = NULL;
    if (gpus)
        CHECK_OK(ltc_cuda_graph_new(&g, ((ltc_device){LTC_DEVICE_CUDA, 0})));
    return g;
}
#define GRAPH_NULL_STATUS LTC_ERR_INVALID_ARGUMENT /* a graph argument NULL */
#define GRAPH_NULL_TEXT "'graph' is NULL"
#else
#define GRAPH_NULL_STATUS LTC_ERR_UNSUPPORTED
#define GRAPH_NULL_TEXT "built without CUDA"
#endif
static void row_ltc_cuda_graph_capture_begin(void) {
    FAILS(ltc_cuda_graph_capture_begin(NULL), GRAPH_NULL_STATUS, GRAPH_NULL_TEXT);
#if LTC_TEST_TORCH_HAS_CUDA
    ltc_cuda_graph *g = graph0();
    if (g) {
        CHECK_OK(ltc_cuda_graph_capture_begin(g));
        FAILS(ltc_cuda_graph_capture_begin(g), LTC_ERR_INVALID_ARGUMENT, "the graph is capturing already");
        CHECK_OK(ltc_cuda_graph_capture_end(g)); /* nothing recorded: an empty graph */
        FAILS(ltc_cuda_graph_capture_begin(g), LTC_ERR_INVALID_ARGUMENT, "the graph holds a capture already");
    }
    ltc_cuda_graph_free(g);
#endif
}
static void row_ltc_cuda_graph_capture_end(void) {
    FAILS(ltc_cuda_graph_capture_end(NULL), GRAPH_NULL_STATUS, GRAPH_NULL_TEXT);
#if LTC_TEST_TORCH_HAS_CUDA
    ltc_cuda_graph *g = graph0();
    if (g)
        FAILS(ltc_cuda_graph_capture_end(g), LTC_ERR_INVALID_ARGUMENT, "the graph is not capturing: call ltc_cuda_graph_capture_begin first");
    ltc_cuda_graph_free(g);
#endif
}
static void row_ltc_cuda_graph_replay(void) {
    FAILS(ltc_cuda_graph_replay(NULL), GRAPH_NULL_STATUS, GRAPH_NULL_TEXT);
#if LTC_TEST_TORCH_HAS_CUDA
    ltc_cuda_graph *g = graph0();
    if (g)
        FAILS(ltc_cuda_graph_replay(g), LTC_ERR_INVALID_ARGUMENT, "the graph holds no capture: capture a step first");
    ltc_cuda_graph_free(g);
#endif
}

/* the general core API: tensor operations and autograd */
static void row_ltc_tensor_add(void) {
    ltc_tensor *a = tensor(LTC_FLOAT32, 2, 2, 3), *b = tensor(LTC_FLOAT32, 2, 4, 5), *r = GARBAGE(ltc_tensor);
    FAILS(ltc_tensor_add(NULL, a, b), LTC_ERR_INVALID_ARGUMENT, "'out' is NULL");
    FAILS(ltc_tensor_add(&r, NULL, b), LTC_ERR_INVALID_ARGUMENT, "'a' is NULL");
    CHECK_NULLED(r);
    FAILS(ltc_tensor_add(&r, a, NULL), LTC_ERR_INVALID_ARGUMENT, "'b' is NULL");
    FAILS(ltc_tensor_add(&r, a, b), LTC_ERR_INVALID_ARGUMENT, "[2, 3]");
    TH_FREE_TENSORS(a, b);
}
static void row_ltc_tensor_sub(void) {
    ltc_tensor *a = tensor(LTC_FLOAT32, 1, 2, 0), *r = NULL;
    FAILS(ltc_tensor_sub(&r, a, NULL), LTC_ERR_INVALID_ARGUMENT, "'b' is NULL");
    FAILS(ltc_tensor_sub(NULL, a, a), LTC_ERR_INVALID_ARGUMENT, "'out' is NULL");
    ltc_tensor_free(a);
}
static void row_ltc_tensor_mul(void) {
    ltc_tensor *a = tensor(LTC_FLOAT32, 1, 2, 0), *r = NULL;
    FAILS(ltc_tensor_mul(&r, NULL, a), LTC_ERR_INVALID_ARGUMENT, "'a' is NULL");
    FAILS(ltc_tensor_mul(NULL, a, a), LTC_ERR_INVALID_ARGUMENT, "'out' is NULL");
    ltc_tensor_free(a);
}
static void row_ltc_tensor_add_scalar(void) {
    ltc_tensor *a = tensor(LTC_FLOAT32, 1, 2, 0), *r = GARBAGE(ltc_tensor);
    FAILS(ltc_tensor_add_scalar(&r, NULL, 1), LTC_ERR_INVALID_ARGUMENT, "'a' is NULL");
    CHECK_NULLED(r);
    FAILS(ltc_tensor_add_scalar(&r, a, NAN), LTC_ERR_INVALID_ARGUMENT, "nan");
    ltc_tensor_free(a);
}
static void row_ltc_tensor_mul_scalar(void) {
    ltc_tensor *a = tensor(LTC_FLOAT32, 1, 2, 0), *r = NULL;
    FAILS(ltc_tensor_mul_scalar(NULL, a, 2), LTC_ERR_INVALID_ARGUMENT, "'out' is NULL");
    FAILS(ltc_tensor_mul_scalar(&r, a, INFINITY), LTC_ERR_INVALID_ARGUMENT, "inf");
    ltc_tensor_free(a);
}
static void row_ltc_tensor_matmul(void) {
    ltc_tensor *a = tensor(LTC_FLOAT32, 2, 2, 3), *r = GARBAGE(ltc_tensor);
    FAILS(ltc_tensor_matmul(&r, a, NULL), LTC_ERR_INVALID_ARGUMENT, "'b' is NULL");
    CHECK_NULLED(r);
    FAILS(ltc_tensor_matmul(&r, a, a), LTC_ERR_INVALID_ARGUMENT, "[2, 3]");
    ltc_tensor_free(a);
}
static void row_ltc_tensor_relu(void) {
    ltc_tensor *r = GARBAGE(ltc_tensor);
    FAILS(ltc_tensor_relu(&r, NULL), LTC_ERR_INVALID_ARGUMENT, "'a' is NULL");
    CHECK_NULLED(r);
}
static void row_ltc_tensor_sum(void) {
    ltc_tensor *a = tensor(LTC_FLOAT32, 1, 2, 0);
    FAILS(ltc_tensor_sum(NULL, a), LTC_ERR_INVALID_ARGUMENT, "'out' is NULL");
    ltc_tensor_free(a);
}
static void row_ltc_tensor_mean(void) {
    ltc_tensor *a = tensor(LTC_INT64, 1, 2, 0), *r = GARBAGE(ltc_tensor);
    FAILS(ltc_tensor_mean(&r, NULL), LTC_ERR_INVALID_ARGUMENT, "'a' is NULL");
    FAILS(ltc_tensor_mean(&r, a), LTC_ERR_INVALID_ARGUMENT, "int64");
    CHECK_NULLED(r);
    ltc_tensor_free(a);
}
static void row_ltc_tensor_argmax(void) {
    ltc_tensor *a = tensor(LTC_FLOAT32, 2, 2, 3), *r = GARBAGE(ltc_tensor);
    FAILS(ltc_tensor_argmax(&r, NULL, 0), LTC_ERR_INVALID_ARGUMENT, "'a' is NULL");
    FAILS(ltc_tensor_argmax(&r, a, 2), LTC_ERR_INVALID_ARGUMENT, "dim 2");
    CHECK_NULLED(r);
    ltc_tensor_free(a);
}
static void row_ltc_tensor_reshape(void) {
    ltc_tensor *a = tensor(LTC_FLOAT32, 2, 2, 3), *r = GARBAGE(ltc_tensor);
    FAILS(ltc_tensor_reshape(&r, NULL, (int64_t[]){6}, 1), LTC_ERR_INVALID_ARGUMENT, "'a' is NULL");
    FAILS(ltc_tensor_reshape(&r, a, (int64_t[]){5}, 1), LTC_ERR_INVALID_ARGUMENT, "[5]");
    FAILS(ltc_tensor_reshape(&r, a, NULL, 1), LTC_ERR_INVALID_ARGUMENT, "'shape' is NULL");
    CHECK_NULLED(r);
    ltc_tensor_free(a);
}
static void row_ltc_tensor_detach(void) {
    ltc_tensor *r = GARBAGE(ltc_tensor);
    FAILS(ltc_tensor_detach(&r, NULL), LTC_ERR_INVALID_ARGUMENT, "'a' is NULL");
    CHECK_NULLED(r);
}
static void row_ltc_tensor_set_requires_grad(void) {
    ltc_tensor *a = tensor(LTC_INT64, 1, 2, 0), *f = tensor(LTC_FLOAT32, 1, 2, 0);
    FAILS(ltc_tensor_set_requires_grad(NULL, 1), LTC_ERR_INVALID_ARGUMENT, "'tensor' is NULL");
    FAILS(ltc_tensor_set_requires_grad(a, 1), LTC_ERR_INVALID_ARGUMENT, "int64");
    FAILS(ltc_tensor_set_requires_grad(f, 2), LTC_ERR_INVALID_ARGUMENT, "2");
    TH_FREE_TENSORS(a, f);
}
static void row_ltc_tensor_requires_grad(void) {
    ltc_tensor *a = tensor(LTC_FLOAT32, 1, 2, 0);
    int v = 0;
    FAILS(ltc_tensor_requires_grad(NULL, a), LTC_ERR_INVALID_ARGUMENT, "'out' is NULL");
    FAILS(ltc_tensor_requires_grad(&v, NULL), LTC_ERR_INVALID_ARGUMENT, "'tensor' is NULL");
    ltc_tensor_free(a);
}
static void row_ltc_grad_mode_set(void) {
    int prev = -1;
    FAILS(ltc_grad_mode_set(&prev, 2), LTC_ERR_INVALID_ARGUMENT, "2");
    CHECK("a refused ltc_grad_mode_set leaves the mode on", ltc_grad_mode_enabled() == 1);
}
static void row_ltc_grad_mode_enabled(void) { CHECK("ltc_grad_mode_enabled never fails", ltc_grad_mode_enabled() == 1); }
static void row_ltc_tensor_data(void) {
    ltc_tensor *a = tensor(LTC_FLOAT32, 2, 2, 3);
    void *p = garbage;
    FAILS(ltc_tensor_data(NULL, a), LTC_ERR_INVALID_ARGUMENT, "'out' is NULL");
    FAILS(ltc_tensor_data(&p, NULL), LTC_ERR_INVALID_ARGUMENT, "'tensor' is NULL");
    CHECK_NULLED(p);
    ltc_tensor_free(a);
}

/* modules and losses */
static ltc_module *mlp_module(void) {
    ltc_module *seq = NULL, *l = NULL;
    if (ltc_module_sequential_new(&seq) != LTC_OK || ltc_module_linear_new(&l, 3, 2, 1) != LTC_OK ||
        ltc_module_sequential_append(seq, l) != LTC_OK) {
        fprintf(stderr, "cannot make a test module: %s\n", ltc_last_error());
        exit(1);
    }
    ltc_module_free(l);
    return seq;
}
static void row_ltc_module_linear_new(void) {
    ltc_module *m = GARBAGE(ltc_module);
    FAILS(ltc_module_linear_new(NULL, 3, 2, 1), LTC_ERR_INVALID_ARGUMENT, "'out' is NULL");
    FAILS(ltc_module_linear_new(&m, 0, 2, 1), LTC_ERR_INVALID_ARGUMENT, "in_features 0");
    CHECK_NULLED(m);
    FAILS(ltc_module_linear_new(&m, 3, -1, 1), LTC_ERR_INVALID_ARGUMENT, "out_features -1");
    FAILS(ltc_module_linear_new(&m, 3, 2, 2), LTC_ERR_INVALID_ARGUMENT, "has_bias 2");
}
static void row_ltc_module_relu_new(void) { FAILS(ltc_module_relu_new(NULL), LTC_ERR_INVALID_ARGUMENT, "'out' is NULL"); }
static void row_ltc_module_sequential_new(void) {
    FAILS(ltc_module_sequential_new(NULL), LTC_ERR_INVALID_ARGUMENT, "'out' is NULL");
}
static void row_ltc_module_sequential_append(void) {
    ltc_module *seq = mlp_module(), *relu = NULL;
    CHECK_OK(ltc_module_relu_new(&relu));
    FAILS(ltc_module_sequential_append(NULL, relu), LTC_ERR_INVALID_ARGUMENT, "'seq' is NULL");
    FAILS(ltc_module_sequential_append(seq, NULL), LTC_ERR_INVALID_ARGUMENT, "'child' is NULL");
    FAILS(ltc_module_sequential_append(relu, seq), LTC_ERR_INVALID_ARGUMENT, "not a Sequential");
    FAILS(ltc_module_sequential_append(seq, seq), LTC_ERR_INVALID_ARGUMENT, "itself");
    ltc_module_free(relu);
    ltc_module_free(seq);
}
static void row_ltc_module_free(void) { NO_OP(ltc_module_free(NULL)); }
static void row_ltc_module_kind(void) { RETURNS_SENTINEL(strcmp(ltc_module_kind(NULL), ""), 0, "'module' is NULL"); }
static void row_ltc_module_forward(void) {
    ltc_module *m = mlp_module();
    ltc_tensor *x = tensor(LTC_FLOAT32, 2, 2, 4), *r = GARBAGE(ltc_tensor);
    FAILS(ltc_module_forward(&r, NULL, x), LTC_ERR_INVALID_ARGUMENT, "'module' is NULL");
    FAILS(ltc_module_forward(&r, m, NULL), LTC_ERR_INVALID_ARGUMENT, "'x' is NULL");
    FAILS(ltc_module_forward(&r, m, x), LTC_ERR_INVALID_ARGUMENT, "[2, 4]");
    CHECK_NULLED(r);
    ltc_tensor_free(x);
    ltc_module_free(m);
}
static void row_ltc_module_to(void) {
    ltc_module *m = mlp_module();
    FAILS(ltc_module_to(NULL, CPU), LTC_ERR_INVALID_ARGUMENT, "'module' is NULL");
    BAD_DEVICES(ltc_module_to(m, dev));
    ltc_tensor *x = tensor(LTC_FLOAT32, 2, 2, 3), *y = NULL;
    CHECK_OK(ltc_module_forward(&y, m, x)); /* still whole, still on the CPU */
    TH_FREE_TENSORS(x, y);
    ltc_module_free(m);
}
static void row_ltc_module_train(void) {
    ltc_module *m = mlp_module();
    FAILS(ltc_module_train(NULL, 1), LTC_ERR_INVALID_ARGUMENT, "'module' is NULL");
    FAILS(ltc_module_train(m, 2), LTC_ERR_INVALID_ARGUMENT, "2");
    ltc_module_free(m);
}
static void row_ltc_module_is_training(void) {
    ltc_module *m = mlp_module();
    int v = 0;
    FAILS(ltc_module_is_training(NULL, m), LTC_ERR_INVALID_ARGUMENT, "'out' is NULL");
    FAILS(ltc_module_is_training(&v, NULL), LTC_ERR_INVALID_ARGUMENT, "'module' is NULL");
    ltc_module_free(m);
}
static void row_ltc_module_parameters(void) {
    ltc_tensor_list *l = GARBAGE(ltc_tensor_list);
    FAILS(ltc_module_parameters(&l, NULL), LTC_ERR_INVALID_ARGUMENT, "'module' is NULL");
    CHECK_NULLED(l);
}
static void row_ltc_module_data_parallel_forward(void) {
    ltc_module *m = mlp_module();
    ltc_tensor *x = tensor(LTC_FLOAT32, 2, 2, 3), *r = GARBAGE(ltc_tensor);
    int devs[2] = {0, 0};
    FAILS(ltc_module_data_parallel_forward(NULL, m, x, NULL, 0), LTC_ERR_INVALID_ARGUMENT, "'out' is NULL");
    FAILS(ltc_module_data_parallel_forward(&r, NULL, x, NULL, 0), LTC_ERR_INVALID_ARGUMENT, "'module' is NULL");
    CHECK_NULLED(r);
    FAILS(ltc_module_data_parallel_forward(&r, m, NULL, NULL, 0), LTC_ERR_INVALID_ARGUMENT, "'x' is NULL");
    FAILS(ltc_module_data_parallel_forward(&r, m, x, NULL, -1), LTC_ERR_INVALID_ARGUMENT, "ndevices -1 with devices NULL is not valid");
    FAILS(ltc_module_data_parallel_forward(&r, m, x, devs, -1), LTC_ERR_INVALID_ARGUMENT, "ndevices -1 with devices given");
    FAILS(ltc_module_data_parallel_forward(&r, m, x, NULL, 2), LTC_ERR_INVALID_ARGUMENT, "ndevices 2 with devices NULL");
    FAILS(ltc_module_data_parallel_forward(&r, m, x, devs, 0), LTC_ERR_INVALID_ARGUMENT, "ndevices 0 with devices given");
    ltc_tensor *bad = tensor(LTC_FLOAT32, 2, 3, 5);
    if (!gpus) {
        /* no GPU, module and x on the CPU: plain ltc_module_forward, with its checks */
        FAILS(ltc_module_data_parallel_forward(&r, m, bad, NULL, 0), LTC_ERR_INVALID_ARGUMENT, "[3, 5]");
        CHECK_NULLED(r);
        FAILS(ltc_module_data_parallel_forward(&r, m, x, devs, 1), LTC_ERR_CUDA_UNAVAILABLE, "cuda:0 requested, but LibTorch sees no CUDA device");
        devs[0] = -1;
        FAILS(ltc_module_data_parallel_forward(&r, m, x, devs, 1), LTC_ERR_CUDA_UNAVAILABLE, "sees no CUDA device");
    } else {
        devs[0] = gpus;
        char want[96];
        snprintf(want, sizeof want, "devices[0] = %d is out of range", gpus);
        FAILS(ltc_module_data_parallel_forward(&r, m, x, devs, 1), LTC_ERR_INVALID_ARGUMENT, want);
        devs[0] = -1;
        FAILS(ltc_module_data_parallel_forward(&r, m, x, devs, 1), LTC_ERR_INVALID_ARGUMENT, "devices[0] = -1 is out of range");
        devs[0] = 0;
        FAILS(ltc_module_data_parallel_forward(&r, m, x, devs, 2), LTC_ERR_INVALID_ARGUMENT, "device 0 is listed twice");
        FAILS(ltc_module_data_parallel_forward(&r, m, x, devs, 1), LTC_ERR_INVALID_ARGUMENT,
              "the module is on cpu and the input on cpu; both must be on the first device, cuda:0");
    }
    ltc_tensor_free(bad);
    ltc_tensor_free(x);
    ltc_module_free(m);
}
static void row_ltc_cross_entropy_loss(void) {
    ltc_tensor *logits = tensor(LTC_FLOAT32, 2, 2, 3), *target = tensor(LTC_FLOAT32, 1, 2, 0), *r = GARBAGE(ltc_tensor);
    FAILS(ltc_cross_entropy_loss(&r, NULL, target), LTC_ERR_INVALID_ARGUMENT, "'logits' is NULL");
    FAILS(ltc_cross_entropy_loss(&r, logits, NULL), LTC_ERR_INVALID_ARGUMENT, "'target' is NULL");
    FAILS(ltc_cross_entropy_loss(&r, logits, target), LTC_ERR_INVALID_ARGUMENT, "int64");
    CHECK_NULLED(r);
    TH_FREE_TENSORS(logits, target);
}

/* optimizers over tensor lists */
static ltc_tensor_list *param_list(ltc_module **m) {
    ltc_tensor_list *l = NULL;
    *m = mlp_module();
    CHECK_OK(ltc_module_parameters(&l, *m));
    return l;
}
static void row_ltc_optimizer_sgd_new(void) {
    ltc_module *m = NULL;
    ltc_tensor_list *l = param_list(&m), *empty = NULL;
    ltc_optimizer *o = GARBAGE(ltc_optimizer);
    ltc_sgd_options so = LTC_SGD_OPTIONS_INIT;
    CHECK_OK(ltc_tensor_list_new(&empty));
    FAILS(ltc_optimizer_sgd_new(NULL, l, NULL), LTC_ERR_INVALID_ARGUMENT, "'out' is NULL");
    FAILS(ltc_optimizer_sgd_new(&o, NULL, NULL), LTC_ERR_INVALID_ARGUMENT, "'params' is NULL");
    CHECK_NULLED(o);
    FAILS(ltc_optimizer_sgd_new(&o, empty, NULL), LTC_ERR_INVALID_ARGUMENT, "empty");
    so.lr = -1;
    FAILS(ltc_optimizer_sgd_new(&o, l, &so), LTC_ERR_INVALID_ARGUMENT, "lr -1");
    so = (ltc_sgd_options)LTC_SGD_OPTIONS_INIT;
    so.version = 99;
    FAILS(ltc_optimizer_sgd_new(&o, l, &so), LTC_ERR_INVALID_ARGUMENT, "99");
    ltc_tensor_list_free(l);
    ltc_tensor_list_free(empty);
    ltc_module_free(m);
}
static void row_ltc_optimizer_adam_new(void) {
    ltc_module *m = NULL;
    ltc_tensor_list *l = param_list(&m);
    ltc_optimizer *o = GARBAGE(ltc_optimizer);
    ltc_adam_options ao = LTC_ADAM_OPTIONS_INIT;
    ao.beta1 = 1;
    FAILS(ltc_optimizer_adam_new(&o, l, &ao), LTC_ERR_INVALID_ARGUMENT, "beta1 1");
    CHECK_NULLED(o);
    FAILS(ltc_optimizer_adam_new(&o, NULL, NULL), LTC_ERR_INVALID_ARGUMENT, "'params' is NULL");
    ltc_tensor_list_free(l);
    ltc_module_free(m);
}
static void row_ltc_optimizer_adamw_new(void) {
    ltc_module *m = NULL;
    ltc_tensor_list *l = param_list(&m);
    ltc_optimizer *o = GARBAGE(ltc_optimizer);
    ltc_adam_options ao = LTC_ADAM_OPTIONS_INIT;
    ao.eps = 0;
    FAILS(ltc_optimizer_adamw_new(&o, l, &ao), LTC_ERR_INVALID_ARGUMENT, "eps 0");
    CHECK_NULLED(o);
    FAILS(ltc_optimizer_adamw_new(NULL, l, NULL), LTC_ERR_INVALID_ARGUMENT, "'out' is NULL");
    ltc_tensor_list_free(l);
    ltc_module_free(m);
}
static void row_ltc_optimizer_free(void) { NO_OP(ltc_optimizer_free(NULL)); }
static void row_ltc_optimizer_zero_grad(void) {
    FAILS(ltc_optimizer_zero_grad(NULL), LTC_ERR_INVALID_ARGUMENT, "'optimizer' is NULL");
}
static void row_ltc_optimizer_step(void) {
    FAILS(ltc_optimizer_step(NULL), LTC_ERR_INVALID_ARGUMENT, "'optimizer' is NULL");
}
static void row_ltc_optimizer_state(void) {
    ltc_tensor_list *l = GARBAGE(ltc_tensor_list);
    FAILS(ltc_optimizer_state(&l, NULL), LTC_ERR_INVALID_ARGUMENT, "'optimizer' is NULL");
    CHECK_NULLED(l);
}
static void row_ltc_optimizer_parameters(void) {
    ltc_tensor_list *l = GARBAGE(ltc_tensor_list);
    FAILS(ltc_optimizer_parameters(&l, NULL), LTC_ERR_INVALID_ARGUMENT, "'optimizer' is NULL");
    CHECK_NULLED(l);
}

/* checkpoints of any state */
static void row_ltc_checkpoint_new(void) { FAILS(ltc_checkpoint_new(NULL), LTC_ERR_INVALID_ARGUMENT, "'out' is NULL"); }
static void row_ltc_checkpoint_free(void) { NO_OP(ltc_checkpoint_free(NULL)); }
static void row_ltc_checkpoint_set_tensors(void) {
    ltc_checkpoint *c = NULL;
    CHECK_OK(ltc_checkpoint_new(&c));
    FAILS(ltc_checkpoint_set_tensors(c, NULL), LTC_ERR_INVALID_ARGUMENT, "'tensors' is NULL");
    FAILS(ltc_checkpoint_set_tensors(NULL, NULL), LTC_ERR_INVALID_ARGUMENT, "'checkpoint' is NULL");
    ltc_checkpoint_free(c);
}
static void row_ltc_checkpoint_set_optimizer(void) {
    ltc_checkpoint *c = NULL;
    CHECK_OK(ltc_checkpoint_new(&c));
    FAILS(ltc_checkpoint_set_optimizer(c, NULL), LTC_ERR_INVALID_ARGUMENT, "'optimizer' is NULL");
    ltc_checkpoint_free(c);
}
static void row_ltc_checkpoint_set_step(void) {
    ltc_checkpoint *c = NULL;
    CHECK_OK(ltc_checkpoint_new(&c));
    FAILS(ltc_checkpoint_set_step(NULL, 1), LTC_ERR_INVALID_ARGUMENT, "'checkpoint' is NULL");
    FAILS(ltc_checkpoint_set_step(c, -1), LTC_ERR_INVALID_ARGUMENT, "step -1 is not valid");
    ltc_checkpoint_free(c);
}
static void row_ltc_checkpoint_set_setting(void) {
    ltc_checkpoint *c = NULL;
    CHECK_OK(ltc_checkpoint_new(&c));
    FAILS(ltc_checkpoint_set_setting(c, NULL, "v"), LTC_ERR_INVALID_ARGUMENT, "'key' is NULL");
    FAILS(ltc_checkpoint_set_setting(c, "k", NULL), LTC_ERR_INVALID_ARGUMENT, "'value' is NULL");
    FAILS(ltc_checkpoint_set_setting(c, "", "v"), LTC_ERR_INVALID_ARGUMENT, "the key is empty");
    ltc_checkpoint_free(c);
}
static void row_ltc_checkpoint_save(void) {
    ltc_checkpoint *c = NULL;
    CHECK_OK(ltc_checkpoint_new(&c));
    FAILS(ltc_checkpoint_save(NULL, "x.pt"), LTC_ERR_INVALID_ARGUMENT, "'checkpoint' is NULL");
    FAILS(ltc_checkpoint_save(c, NULL), LTC_ERR_INVALID_ARGUMENT, "'path' is NULL");
    FAILS(ltc_checkpoint_save(c, "/nonexistent-dir/x.pt"), LTC_ERR_IO, "/nonexistent-dir");
    ltc_checkpoint_free(c);
}
static void row_ltc_checkpoint_load(void) {
    ltc_checkpoint *c = GARBAGE(ltc_checkpoint);
    FAILS(ltc_checkpoint_load(NULL, "x.pt"), LTC_ERR_INVALID_ARGUMENT, "'out' is NULL");
    FAILS(ltc_checkpoint_load(&c, NULL), LTC_ERR_INVALID_ARGUMENT, "'path' is NULL");
    CHECK_NULLED(c);
    FAILS(ltc_checkpoint_load(&c, ""), LTC_ERR_INVALID_ARGUMENT, "empty");
    FAILS(ltc_checkpoint_load(&c, "/nonexistent-dir/x.pt"), LTC_ERR_IO, "/nonexistent-dir/x.pt");
}
static void row_ltc_checkpoint_tensors(void) {
    ltc_tensor_list *l = GARBAGE(ltc_tensor_list);
    FAILS(ltc_checkpoint_tensors(&l, NULL), LTC_ERR_INVALID_ARGUMENT, "'checkpoint' is NULL");
    CHECK_NULLED(l);
}
static void row_ltc_checkpoint_step(void) {
    ltc_checkpoint *c = NULL;
    CHECK_OK(ltc_checkpoint_new(&c));
    FAILS(ltc_checkpoint_step(NULL, c), LTC_ERR_INVALID_ARGUMENT, "'out' is NULL");
    ltc_checkpoint_free(c);
}
static void row_ltc_checkpoint_setting(void) {
    ltc_checkpoint *c = NULL;
    const char *v = "garbage";
    CHECK_OK(ltc_checkpoint_new(&c));
    FAILS(ltc_checkpoint_setting(&v, c, NULL), LTC_ERR_INVALID_ARGUMENT, "'key' is NULL");
    FAILS(ltc_checkpoint_setting(&v, c, "seed"), LTC_ERR_INVALID_ARGUMENT, "no setting \"seed\"");
    CHECK_NULLED(v);
    ltc_checkpoint_free(c);
}
static void row_ltc_checkpoint_restore(void) {
    ltc_checkpoint *c = NULL;
    ltc_module *m = NULL;
    ltc_tensor_list *l = param_list(&m);
    CHECK_OK(ltc_checkpoint_new(&c));
    FAILS(ltc_checkpoint_restore(NULL, l, NULL), LTC_ERR_INVALID_ARGUMENT, "'checkpoint' is NULL");
    FAILS(ltc_checkpoint_restore(c, NULL, NULL), LTC_ERR_INVALID_ARGUMENT, "'params' is NULL");
    FAILS(ltc_checkpoint_restore(c, l, NULL), LTC_ERR_INVALID_ARGUMENT, "0.weight");
    ltc_checkpoint_free(c);
    ltc_tensor_list_free(l);
    ltc_module_free(m);
}

#define ROW(f) {#f, row_##f}
static const struct row {
    const char *name;
    void (*run)(void);
} rows[] = {
    ROW(ltc_version), ROW(ltc_version_number), ROW(ltc_status_string), ROW(ltc_last_error), ROW(ltc_build_info_get),
    ROW(ltc_device_parse), ROW(ltc_device_format), ROW(ltc_cuda_is_available), ROW(ltc_cuda_device_count),
    ROW(ltc_cuda_synchronize), ROW(ltc_dtype_name), ROW(ltc_dtype_size), ROW(ltc_dtype_parse), ROW(ltc_tensor_zeros),
    ROW(ltc_tensor_ones), ROW(ltc_tensor_randn), ROW(ltc_tensor_from_data), ROW(ltc_tensor_free), ROW(ltc_tensor_ndim),
    ROW(ltc_tensor_size), ROW(ltc_tensor_numel), ROW(ltc_tensor_nbytes), ROW(ltc_tensor_dtype), ROW(ltc_tensor_device),
    ROW(ltc_tensor_to), ROW(ltc_tensor_copy_to_host), ROW(ltc_tensor_item), ROW(ltc_tensor_grad),
    ROW(ltc_tensor_backward), ROW(ltc_manual_seed), ROW(ltc_num_threads_set), ROW(ltc_num_threads_get),
    ROW(ltc_log_level_set), ROW(ltc_log_level_get), ROW(ltc_log_level_init),
    ROW(ltc_mse_loss), ROW(ltc_diagnose), ROW(ltc_diagnosis_free), ROW(ltc_diagnosis_usable), ROW(ltc_diagnosis_cause),
    ROW(ltc_diagnosis_message), ROW(ltc_diagnosis_fix), ROW(ltc_diagnosis_finding_count), ROW(ltc_diagnosis_finding),
    ROW(ltc_diagnosis_get), ROW(ltc_diagnosis_json), ROW(ltc_diagnosis_text), ROW(ltc_cause_name),
    ROW(ltc_cause_summary), ROW(ltc_tensor_empty), ROW(ltc_tensor_pin_memory), ROW(ltc_tensor_is_pinned),
    ROW(ltc_tensor_copy), ROW(ltc_cuda_peer_access), ROW(ltc_cuda_link_info_get), ROW(ltc_event_new),
    ROW(ltc_event_free), ROW(ltc_event_record), ROW(ltc_event_synchronize), ROW(ltc_event_query),
    ROW(ltc_event_elapsed_ms), ROW(ltc_launcher_name), ROW(ltc_dist_env_from), ROW(ltc_launch_local),
    ROW(ltc_dist_init), ROW(ltc_dist_free), ROW(ltc_dist_rank), ROW(ltc_dist_world_size),
    ROW(ltc_checkpoint_lock_new), ROW(ltc_checkpoint_lock_free),
    ROW(ltc_rank_state_name), ROW(ltc_cluster_check), ROW(ltc_cluster_allreduce_proof), ROW(ltc_cluster_report_free),
    ROW(ltc_cluster_report_ready), ROW(ltc_cluster_report_rank_count), ROW(ltc_cluster_report_rank),
    ROW(ltc_cluster_report_sweep_count), ROW(ltc_cluster_report_sweep), ROW(ltc_cluster_report_json),
    ROW(ltc_cluster_report_text),
    /* tensor lists */
    ROW(ltc_tensor_list_new), ROW(ltc_tensor_list_free), ROW(ltc_tensor_list_append), ROW(ltc_tensor_list_count),
    ROW(ltc_tensor_list_get), ROW(ltc_tensor_list_find),
    /* collectives on tensors and tensor lists; CUDA graphs */
    ROW(ltc_dist_all_reduce), ROW(ltc_dist_broadcast), ROW(ltc_dist_barrier), ROW(ltc_dist_broadcast_parameters),
    ROW(ltc_dist_average_gradients), ROW(ltc_dist_check_replicas), ROW(ltc_cuda_graph_new), ROW(ltc_cuda_graph_free),
    ROW(ltc_cuda_graph_capture_begin), ROW(ltc_cuda_graph_capture_end), ROW(ltc_cuda_graph_replay),
    /* the general core API */
    ROW(ltc_tensor_add), ROW(ltc_tensor_sub), ROW(ltc_tensor_mul), ROW(ltc_tensor_add_scalar),
    ROW(ltc_tensor_mul_scalar), ROW(ltc_tensor_matmul), ROW(ltc_tensor_relu), ROW(ltc_tensor_sum),
    ROW(ltc_tensor_mean), ROW(ltc_tensor_argmax), ROW(ltc_tensor_reshape), ROW(ltc_tensor_detach),
    ROW(ltc_tensor_set_requires_grad), ROW(ltc_tensor_requires_grad), ROW(ltc_grad_mode_set),
    ROW(ltc_grad_mode_enabled), ROW(ltc_tensor_data), ROW(ltc_module_linear_new), ROW(ltc_module_relu_new),
    ROW(ltc_module_sequential_new), ROW(ltc_module_sequential_append), ROW(ltc_module_free), ROW(ltc_module_kind),
    ROW(ltc_module_forward), ROW(ltc_module_to), ROW(ltc_module_train), ROW(ltc_module_is_training),
    ROW(ltc_module_parameters), ROW(ltc_module_data_parallel_forward), ROW(ltc_cross_entropy_loss),
    ROW(ltc_optimizer_sgd_new), ROW(ltc_optimizer_adam_new), ROW(ltc_optimizer_adamw_new),
    ROW(ltc_optimizer_free), ROW(ltc_optimizer_zero_grad), ROW(ltc_optimizer_step), ROW(ltc_optimizer_state),
    ROW(ltc_optimizer_parameters), ROW(ltc_checkpoint_new), ROW(ltc_checkpoint_free),
    ROW(ltc_checkpoint_set_tensors), ROW(ltc_checkpoint_set_optimizer), ROW(ltc_checkpoint_set_step),
    ROW(ltc_checkpoint_set_setting), ROW(ltc_checkpoint_save), ROW(ltc_checkpoint_load),
    ROW(ltc_checkpoint_tensors), ROW(ltc_checkpoint_step), ROW(ltc_checkpoint_setting),
    ROW(ltc_checkpoint_restore),
    /* models */
    ROW(ltc_model_load), ROW(ltc_model_free), ROW(ltc_model_run), ROW(ltc_model_input_count),
    ROW(ltc_model_output_count), ROW(ltc_model_input), ROW(ltc_model_output), ROW(ltc_model_device),
    ROW(ltc_model_metadata),
};
#define NROWS (sizeof rows / sizeof *rows)

int main(int argc, char **argv) {
    if (argc == 2 && strcmp(argv[1], "--list") == 0) {
        for (size_t i = 0; i < NROWS; i++)
            puts(rows[i].name);
        return 0;
    }
    if (ltc_cuda_device_count(&gpus) != LTC_OK) {
        fprintf(stderr, "ltc_cuda_device_count failed: %s\n", ltc_last_error());
        return 1;
    }
    int ran = 0;
    for (size_t i = 0; i < NROWS; i++) {
        int wanted = argc == 1;
        for (int a = 1; a < argc; a++)
            wanted |= strcmp(argv[a], rows[i].name) == 0;
        if (!wanted)
            continue;
        int failed_before = th_failed;
        rows[i].run();
        ran++;
        if (th_failed != failed_before)
            fprintf(stderr, "  in the row of %s\n", rows[i].name);
    }
    if (ran == 0) {
        fprintf(stderr, "test_bad_input: no row matches the names given (try --list)\n");
        return 2;
    }
    printf("%d rows (%d GPU%s seen)\n", ran, gpus, gpus == 1 ? "" : "s");
    ltc_diagnosis_free(the_diagnosis);
    return th_finish();
}
