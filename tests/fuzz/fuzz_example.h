/* fuzz_example.h: an example program's source compiled into a fuzz target of its parse_options, with its
 * main renamed (fuzz_example_main, never called: nothing runs, trains or moves) and what it writes to
 * stderr dropped (the program's messages would flood the run; libFuzzer's and the sanitizers' reports do
 * not go through fprintf). Define FUZZ_EXAMPLE as the path of the program's source, then include this:
 *   #define FUZZ_EXAMPLE "../../examples/move_to_cuda.c"
 *   #include "fuzz_example.h"
 * fuzz_example_args then makes the program's argv from the input, one argument per line. */
#ifndef LTC_FUZZ_EXAMPLE_H
#define LTC_FUZZ_EXAMPLE_H

#include <stdarg.h>
#include <stdio.h>

static inline int ltc_fuzz_fprintf(FILE *f, const char *fmt, ...) {
    if (f == stderr)
        return 0;
    va_list ap;
    va_start(ap, fmt);
    int n = vfprintf(f, fmt, ap);
    va_end(ap);
    return n;
}

#define fprintf ltc_fuzz_fprintf
#define main fuzz_example_main
#include FUZZ_EXAMPLE
#undef main
#undef fprintf

#include "fuzz_common.h"

#define FUZZ_MAX_ARGS 32

/* argv (FUZZ_MAX_ARGS + 2 slots) for the program `name` from text, one argument a line (text is cut up);
 * returns argc. */
static inline int fuzz_example_args(char *text, char **argv, const char *name) {
    argv[0] = (char *)name;
    return 1 + fuzz_lines(text, argv + 1, FUZZ_MAX_ARGS);
}

#endif
