/* common.h: the one error macro the examples share (after zstd's examples/common.h).
 *
 *   CHECK(ltc_call(...));   on failure prints the call, its status and ltc_last_error(), and exits 1.
 */
#ifndef LTC_EXAMPLES_COMMON_H
#define LTC_EXAMPLES_COMMON_H

#include "ltc.h"

#include <stdio.h>
#include <stdlib.h>

#define CHECK(call)                                                                                \
    do {                                                                                           \
        ltc_status check_status_ = (call);                                                         \
        if (check_status_ != LTC_OK) {                                                             \
            fprintf(stderr, "error: %s\n  %s: %s\n", #call, ltc_status_string(check_status_),      \
                    ltc_last_error());                                                             \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)

#endif
