/* common.h: what the examples share (after zstd's examples/common.h).
 *
 *   CHECK(ltc_call(...), "what it does, in words");
 *       on failure prints "error: cannot <what it does>", then ltc_last_error() and the status, and
 *       exits 1. CHECK(ltc_call(...)) alone names the function instead of the words. (Defined in
 *       template/check.h, so that the template's folder builds on its own; this is the same macro.)
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
 *   opt_refused(c, argv)
 *       what getopt_long refused (its optstring starts with ':', so it prints nothing itself): c ':' is
 *       "error: option --steps needs a value (try --help)", c '?' "error: unknown option "--bogus"
 *       (try --help)"; 0.
 *   opt_leftover(argc, argv)
 *       after getopt_long: 1 when no argument is left, else "error: unknown argument "extra": ... takes
 *       options only (try --help)" and 0.
 */
#ifndef LTC_EXAMPLES_COMMON_H
#define LTC_EXAMPLES_COMMON_H

#include "template/check.h" /* CHECK */
#include "ltc.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* What getopt_long refused, in the examples' one form (its optstring starts with ':'); 0. A long option
 * given a value it does not take ("--pinned=1") comes back as '?' with optopt set to its value. */
static inline int opt_refused(int c, char *const *argv) {
    const char *arg = argv[optind - 1];
    int is_long = strncmp(arg, "--", 2) == 0;
    if (c == ':' && is_long)
        fprintf(stderr, "error: option %s needs a value (try --help)\n", arg);
    else if (c == ':')
        fprintf(stderr, "error: option -%c needs a value (try --help)\n", optopt);
    else if (!is_long) /* a short option, maybe inside a cluster (-hx): getopt names it in optopt */
        fprintf(stderr, "error: unknown option \"-%c\" (try --help)\n", optopt);
    else if (optopt)
        fprintf(stderr, "error: option %.*s takes no value (try --help)\n", (int)strcspn(arg, "="), arg);
    else
        fprintf(stderr, "error: unknown option \"%s\" (try --help)\n", arg);
    return 0;
}

/* After getopt_long (which moves the arguments that are not options to the end): 1 when none is left. */
static inline int opt_leftover(int argc, char *const *argv) {
    if (optind >= argc)
        return 1;
    fprintf(stderr, "error: unknown argument \"%s\": the program takes options only (try --help)\n", argv[optind]);
    return 0;
}

#endif
