/* ltc_dtype_parse accepts exactly the names its header lists (float32, float64, int32, int64 and float,
 * double, int, long); anything else is LTC_ERR_INVALID_ARGUMENT naming the string, *out untouched. */
#include "fuzz_common.h"
#include "ltc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static const struct {
        const char *name;
        ltc_dtype dtype;
    } names[] = {{"float32", LTC_FLOAT32}, {"float", LTC_FLOAT32}, {"float64", LTC_FLOAT64}, {"double", LTC_FLOAT64},
                 {"int32", LTC_INT32},     {"int", LTC_INT32},     {"int64", LTC_INT64},     {"long", LTC_INT64}};
    char *s = fuzz_cstring(data, size);
    int want = -1;
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (strcmp(s, names[i].name) == 0)
            want = (int)names[i].dtype;
    ltc_dtype got = (ltc_dtype)77;
    ltc_status st = ltc_dtype_parse(&got, s);
    if (want >= 0) {
        FUZZ_ASSERT(st == LTC_OK && (int)got == want, "\"%s\": %s, dtype %d", s, ltc_status_string(st), (int)got);
        FUZZ_ASSERT(ltc_dtype_name(got) && ltc_dtype_size(got) > 0, "\"%s\": no name or size", s);
    } else {
        FUZZ_ASSERT(st == LTC_ERR_INVALID_ARGUMENT && (int)got == 77, "\"%s\": %s, out %d", s, ltc_status_string(st), (int)got);
        char head[80];
        snprintf(head, sizeof head, "dtype \"%.64s\"", s);
        head[strlen(head) - 1] = '\0';
        FUZZ_ASSERT(strncmp(ltc_last_error(), head, strlen(head)) == 0, "\"%s\": the message does not name it: %s", s,
                    ltc_last_error());
    }
    free(s);
    return 0;
}
