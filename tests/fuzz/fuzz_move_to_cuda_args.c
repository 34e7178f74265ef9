/* move_to_cuda's --shape parser (parse_shape in examples/move_to_cuda.c, compiled here with the program's
 * main renamed so that nothing runs): "AxBx..", 1 to 8 sizes, each a decimal of 1 or more. Valid text
 * gives those sizes (a size past 2^63-1 saturates, and the program then refuses it as too large); any
 * other text gives 0 and a message that names it. */
#define main move_to_cuda_main
#include "../../examples/move_to_cuda.c"
#undef main

#include "fuzz_common.h"

#include <limits.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *text = fuzz_cstring(data, size);
    /* the reference: split on 'x' */
    int64_t want[LTC_MAX_DIMS + 1];
    int k = 0, valid = 1;
    const char *p = text;
    for (;;) {
        const char *end = strchr(p, 'x');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len == 0 || k == LTC_MAX_DIMS) {
            valid = 0;
            break;
        }
        long long v = 0;
        for (size_t i = 0; i < len && valid; i++) {
            if (p[i] < '0' || p[i] > '9')
                valid = 0;
            else
                v = v > (LLONG_MAX - (p[i] - '0')) / 10 ? LLONG_MAX : v * 10 + (p[i] - '0');
        }
        if (!valid || v == 0) {
            valid = 0;
            break;
        }
        want[k++] = v;
        if (!end)
            break;
        p = end + 1;
    }

    int64_t shape[LTC_MAX_DIMS];
    char err[256] = "";
    int ndim = parse_shape(text, shape, err, sizeof err);
    if (valid) {
        FUZZ_ASSERT(ndim == k, "\"%s\": %d sizes, wanted %d (%s)", text, ndim, k, err);
        for (int i = 0; i < k; i++)
            FUZZ_ASSERT(shape[i] == want[i], "\"%s\": size %d is %lld, wanted %lld", text, i, (long long)shape[i],
                        (long long)want[i]);
    } else {
        FUZZ_ASSERT(ndim == 0, "\"%s\" is not valid but gave %d sizes", text, ndim);
        FUZZ_ASSERT(strncmp(err, "shape \"", 7) == 0, "\"%s\": the message does not name it: %s", text, err);
    }
    free(text);
    return 0;
}
