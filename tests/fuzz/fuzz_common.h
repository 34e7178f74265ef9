/* fuzz_common.h: what the C fuzz targets share. */
#ifndef LTC_FUZZ_COMMON_H
#define LTC_FUZZ_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The input as a C string: what a caller passing these bytes would pass (it ends at the first NUL). */
static char *fuzz_cstring(const uint8_t *data, size_t size) {
    char *s = (char *)malloc(size + 1);
    if (!s)
        abort();
    memcpy(s, data, size);
    s[size] = '\0';
    return s;
}

/* Cuts text at its newlines into at most max lines, put in out (max + 1 slots) and ended by NULL; the
 * number of lines (an empty text is one empty line). */
static inline int fuzz_lines(char *text, char **out, int max) {
    int n = 0;
    for (char *line = text; n < max;) {
        out[n++] = line;
        char *nl = strchr(line, '\n');
        if (!nl)
            break;
        *nl = '\0';
        line = nl + 1;
    }
    out[n] = NULL;
    return n;
}

/* A broken promise: say which, with the input, and stop (libFuzzer saves the input). */
#define FUZZ_ASSERT(cond, ...)                                                                      \
    do {                                                                                            \
        if (!(cond)) {                                                                              \
            fprintf(stderr, "%s:%d: broken: %s\n  ", __FILE__, __LINE__, #cond);                    \
            fprintf(stderr, __VA_ARGS__);                                                           \
            fputc('\n', stderr);                                                                    \
            abort();                                                                                \
        }                                                                                           \
    } while (0)

#endif
