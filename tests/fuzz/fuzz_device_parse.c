/* ltc_device_parse against the grammar its header gives: exactly "cpu", "cuda" or "cuda:N", N a decimal
 * 0..INT_MAX; anything else is LTC_ERR_INVALID_ARGUMENT with a message naming the string, and *out
 * untouched. Accepted devices format back (ltc_device_format) to a string that parses to the same. */
#include "fuzz_common.h"
#include "ltc.h"

#include <limits.h>

/* The reference: 1 and *out on a valid string, else 0. */
static int reference(const char *s, ltc_device *out) {
    if (strcmp(s, "cpu") == 0) {
        *out = (ltc_device){LTC_DEVICE_CPU, 0};
        return 1;
    }
    if (strcmp(s, "cuda") == 0) {
        *out = (ltc_device){LTC_DEVICE_CUDA, -1};
        return 1;
    }
    if (strncmp(s, "cuda:", 5) != 0 || s[5] == '\0')
        return 0;
    long long v = 0;
    for (const char *p = s + 5; *p; p++) {
        if (*p < '0' || *p > '9')
            return 0;
        v = v * 10 + (*p - '0');
        if (v > INT_MAX)
            return 0;
    }
    *out = (ltc_device){LTC_DEVICE_CUDA, (int)v};
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *s = fuzz_cstring(data, size);
    ltc_device want, got = {(ltc_device_type)123, 456};
    int valid = reference(s, &want);
    ltc_status st = ltc_device_parse(&got, s);
    if (valid) {
        FUZZ_ASSERT(st == LTC_OK, "\"%s\" is valid but was refused: %s", s, ltc_last_error());
        FUZZ_ASSERT(got.type == want.type && got.index == want.index, "\"%s\" parsed to {%d, %d}", s, (int)got.type, got.index);
        char buf[32];
        int n = ltc_device_format(buf, sizeof buf, got);
        ltc_device again;
        FUZZ_ASSERT(n > 0 && n < (int)sizeof buf && ltc_device_parse(&again, buf) == LTC_OK && again.type == got.type &&
                        again.index == got.index,
                    "\"%s\" formats to \"%s\", which does not parse back", s, buf);
    } else {
        FUZZ_ASSERT(st == LTC_ERR_INVALID_ARGUMENT, "\"%s\" is not valid but got %s", s, ltc_status_string(st));
        FUZZ_ASSERT(got.type == (ltc_device_type)123 && got.index == 456, "\"%s\": out changed on failure", s);
        char head[80];
        snprintf(head, sizeof head, "device \"%.64s\"", s);
        head[strlen(head) - 1] = '\0'; /* the message may cut the string short: compare up to it */
        FUZZ_ASSERT(strncmp(ltc_last_error(), head, strlen(head)) == 0, "\"%s\": the message does not name it: %s", s,
                    ltc_last_error());
    }
    free(s);
    return 0;
}
