/* check.h: CHECK, the one error check of ltc's example programs (examples/common.h includes this file).
 *
 *   CHECK(ltc_call(...), "what it does, in words");
 *       on failure prints "error: cannot <what it does>", then ltc_last_error() and the status, and
 *       exits 1. CHECK(ltc_call(...)) alone names the function instead of the words.
 *
 * It lives in the template's folder so that a copy of the folder builds on its own. */
#ifndef LTC_EXAMPLES_CHECK_H
#define LTC_EXAMPLES_CHECK_H

#include <ltc.h>

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

#endif
