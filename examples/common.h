/* common.h: what the examples share (after zstd's examples/common.h).
 *
 *   CHECK(ltc_call(...), "what it does, in words");
 *       on failure prints "error: cannot <what it does>", then ltc_last_error() and the status, and
 *       exits 1. CHECK(ltc_call(...)) alone names the function instead of the words.
 *   quiet_libtorch_log();
 *       at the start of main: LibTorch's own log lines, errors only (TORCH_CPP_LOG_LEVEL overrides).
 *   return close_stdout(code);
 *       at the end of main: flushes and closes stdout; if anything written to it was lost (a full disk,
 *       a closed pipe, > /dev/full) it says so and returns 1, else code.
 *   opt_whole(&n, "--steps", text, 1, 1L << 30, "1 to 2^30")
 *   opt_real(&x, "--lr", text, 0, INFINITY, OPT_LO_OPEN, "a finite number > 0")
 *   opt_invalid("--mode", text, "use ddp or dp")
 *       an option's value: 1 when it is valid, else "error: --steps 0 is not valid: use 1 to 2^30 (try
 *       --help)" on stderr and 0. Give the range in the words --help uses for it.
 */
#ifndef LTC_EXAMPLES_COMMON_H
#define LTC_EXAMPLES_COMMON_H

#include "ltc.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static inline void check_failed(ltc_status status, const char *call, const char *what) {
    if (what)
        fprintf(stderr, "error: cannot %s\n", what);
    else
        fprintf(stderr, "error: %.*s failed\n", (int)strcspn(call, "("), call);
    fprintf(stderr, "  %s [%s]\n", ltc_last_error(), ltc_status_string(status));
    exit(1);
}

/* One macro, one or two arguments: CHECK_ receives (call, what or NULL, the rest). */
#define CHECK(...) CHECK_(__VA_ARGS__, NULL, 0)
#define CHECK_(call, what, ...)                                                                    \
    do {                                                                                           \
        ltc_status check_status_ = (call);                                                         \
        if (check_status_ != LTC_OK)                                                               \
            check_failed(check_status_, #call, what);                                              \
    } while (0)

/* c10d's warnings repeat, with C++ backtraces, what the program's own error line says (a lost rank, a
 * silent store). A bad TORCH_CPP_LOG_LEVEL is bad usage: exit 2. */
static inline void quiet_libtorch_log(void) {
    if (ltc_log_level_init(LTC_LOG_ERROR) != LTC_OK) {
        fprintf(stderr, "error: %s\n", ltc_last_error());
        exit(2);
    }
}

static inline int close_stdout(int code) {
    int lost = ferror(stdout); /* an earlier write failed */
    errno = 0;
    int closed = fclose(stdout) == 0; /* writes what is still buffered */
    if (closed && !lost)
        return code;
    fprintf(stderr, "error: cannot write the output: %s\n",
            !closed && errno ? strerror(errno) : "a write to stdout failed");
    return 1;
}

/* An option's value that is not valid: says so, with what would be (valid: "use 1 to 2^30"); 0. */
static inline int opt_invalid(const char *opt, const char *text, const char *valid) {
    fprintf(stderr, "error: %s %s is not valid: %s (try --help)\n", opt, text, valid);
    return 0;
}

/* A whole number from lo to hi (range: those bounds as --help words them). */
static inline int opt_whole(long *out, const char *opt, const char *text, long lo, long hi, const char *range) {
    char *end = NULL;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (!*text || *end || errno || v < lo || v > hi) {
        char valid[160];
        snprintf(valid, sizeof valid, "use %s", range);
        return opt_invalid(opt, text, valid);
    }
    *out = v;
    return 1;
}

/* A finite real number from lo to hi; OPT_LO_OPEN, OPT_HI_OPEN: that bound itself is not valid. */
enum { OPT_LO_OPEN = 1, OPT_HI_OPEN = 2 };
static inline int opt_real(double *out, const char *opt, const char *text, double lo, double hi, int open,
                           const char *range) {
    char *end = NULL;
    double v = strtod(text, &end);
    int inside = (open & OPT_LO_OPEN ? v > lo : v >= lo) && (open & OPT_HI_OPEN ? v < hi : v <= hi);
    if (!*text || *end || !isfinite(v) || !inside) {
        char valid[160];
        snprintf(valid, sizeof valid, "use %s", range);
        return opt_invalid(opt, text, valid);
    }
    *out = v;
    return 1;
}

#endif
