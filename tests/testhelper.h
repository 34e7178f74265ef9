/* testhelper.h: the suite's whole test framework (after mimalloc's test/testhelper.h).
 *
 *   CHECK(name, expr)                 expr must be true
 *   CHECK_OK(call)                    call must return LTC_OK
 *   CHECK_FAILS(call, status, text)   call must return status, and ltc_last_error() must contain text
 *   SKIP(name, fmt, ...)              a case that cannot run here: counted skipped, "SKIP name: why" printed
 *   th_need_gpus(name, n)             1 when n CUDA devices are visible; else SKIP(name, "needs n GPUs, k visible")
 *   return th_finish();               prints "N passed, N failed[, N skipped]"; its code: 1 if any failed,
 *                                     77 (CTest: skipped) if every case was skipped, else 0
 *   th_require_gpu();                 exits 77 (CTest: skipped) when no CUDA device is usable;
 *                                     with LTC_REQUIRE_GPU=1 set it fails instead
 *   TH_FREE_TENSORS(a, b, ...);       ltc_tensor_free on each (C only: a compound literal)
 */
#ifndef LTC_TESTHELPER_H
#define LTC_TESTHELPER_H

#include "ltc.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int th_passed, th_failed, th_skipped;

static inline void th_report(int ok, const char *file, int line, const char *name, const char *detail) {
    if (ok) {
        th_passed++;
        return;
    }
    th_failed++;
    fprintf(stderr, "FAIL %s:%d: %s\n  %s\n  last error: %s\n", file, line, name, detail, ltc_last_error());
}

#define CHECK(name, expr) th_report((expr) ? 1 : 0, __FILE__, __LINE__, (name), #expr)

#define CHECK_OK(call)                                                                                  \
    do {                                                                                                \
        ltc_status th_s_ = (call);                                                                      \
        char th_d_[256];                                                                                \
        snprintf(th_d_, sizeof th_d_, "returned %s, wanted LTC_OK", ltc_status_string(th_s_));          \
        th_report(th_s_ == LTC_OK, __FILE__, __LINE__, #call, th_d_);                                   \
    } while (0)

#define CHECK_FAILS(call, want, text)                                                                   \
    do {                                                                                                \
        ltc_status th_s_ = (call);                                                                      \
        char th_d_[512];                                                                                \
        int th_ok_ = th_s_ == (want) && strstr(ltc_last_error(), (text)) != NULL;                       \
        snprintf(th_d_, sizeof th_d_, "returned %s, wanted %s with a message containing \"%s\"",        \
                 ltc_status_string(th_s_), ltc_status_string(want), (text));                            \
        th_report(th_ok_, __FILE__, __LINE__, #call, th_d_);                                            \
    } while (0)

/* One case that cannot run on this machine: counted as skipped, and the reason printed. */
#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static inline void th_skip(const char *name, const char *why, ...) {
    th_skipped++;
    va_list ap;
    va_start(ap, why);
    printf("SKIP %s: ", name);
    vprintf(why, ap);
    printf("\n");
    va_end(ap);
}

#define SKIP(name, ...) th_skip((name), __VA_ARGS__)

/* 1 when at least `need` CUDA devices are visible; otherwise the case `name` is skipped, saying how many
 * it needs and how many there are. */
static inline int th_need_gpus(const char *name, int need) {
    int n = 0;
    if (ltc_cuda_device_count(&n) != LTC_OK)
        n = 0;
    if (n >= need)
        return 1;
    SKIP(name, "needs %d GPU%s, %d visible", need, need == 1 ? "" : "s", n);
    return 0;
}

static inline void th_free_tensors(ltc_tensor *const *t, size_t n) {
    for (size_t i = 0; i < n; i++)
        ltc_tensor_free(t[i]);
}

#define TH_FREE_TENSORS(...)                                                                            \
    th_free_tensors((ltc_tensor *const[]){__VA_ARGS__}, sizeof((ltc_tensor *const[]){__VA_ARGS__}) / sizeof(ltc_tensor *))

static inline int th_finish(void) {
    if (th_skipped)
        printf("%d passed, %d failed, %d skipped\n", th_passed, th_failed, th_skipped);
    else
        printf("%d passed, %d failed\n", th_passed, th_failed);
    if (th_failed)
        return 1;
    return th_skipped && !th_passed ? 77 : 0; /* nothing ran: CTest shows it skipped (SKIP_RETURN_CODE) */
}

static inline void th_require_gpu(void) {
    if (ltc_cuda_is_available())
        return;
    const char *req = getenv("LTC_REQUIRE_GPU");
    if (req && strcmp(req, "1") == 0) {
        printf("LTC_REQUIRE_GPU=1 but no CUDA device is usable\n0 passed, 1 failed\n");
        exit(1);
    }
    SKIP("every case", "no usable CUDA device (run check_cuda to see why)");
    exit(th_finish() == 1 ? 1 : 77);
}

/* The mean of v over the group's ranks: an all-reduce (average) of a one-element float64 tensor on dev
 * (the rank's device: CPU for CPU ranks). */
static inline ltc_status th_dist_mean(double *out, ltc_dist *d, ltc_device dev, double v) {
    ltc_tensor *t = NULL;
    const int64_t one[1] = {1};
    ltc_status s = ltc_tensor_from_data(&t, &v, one, 1, LTC_FLOAT64, dev);
    if (s == LTC_OK)
        s = ltc_dist_all_reduce(d, t, LTC_REDUCE_AVG);
    if (s == LTC_OK)
        s = ltc_tensor_item(out, t);
    ltc_tensor_free(t);
    return s;
}

#endif
