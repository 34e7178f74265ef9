/* check_cuda's front: a small pure-C program that loads the real check_cuda (examples/check_cuda.c,
 * built as libcheck_cuda_main.so, which links libltc and with it LibTorch) with dlopen, and runs it. When
 * that load fails (a missing library, an undefined symbol from two LibTorch or CUDA installations mixed,
 * a library of another architecture), the program would otherwise never reach main: the loader prints one
 * line and exits 127. Here the front reads dlerror(), explains it (loadcheck.c: the library at fault, the
 * copy the loader picked and why, what the program was built against, the fix) and exits 10,
 * LTC_CAUSE_LIBRARY_LOAD.
 *
 * Test-only: LTC_CHECK_CUDA_LIBRARY=<path> loads that library instead of libcheck_cuda_main.so (the
 * fault-injection tests point it at libraries built to fail; docs/diagnosis.md). */
#define _GNU_SOURCE
#include "ltc.h" /* the cause values only: nothing of libltc is called before it is loaded */
#include "loadcheck.h"

#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef LTC_FRONT_MAIN_LIBRARY
#define LTC_FRONT_MAIN_LIBRARY "libcheck_cuda_main.so"
#endif
#ifndef LTC_FRONT_BUILT_AGAINST
#define LTC_FRONT_BUILT_AGAINST ""   /* folders of the libltc and LibTorch built against, ':'-separated */
#endif
#ifndef LTC_FRONT_TORCH_VERSION
#define LTC_FRONT_TORCH_VERSION ""
#endif

enum { EXIT_LIBRARY_LOAD = 10 };

static void json_string(FILE *f, const char *s) {
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p == '\n')
            fputs("\\n", f);
        else if (*p < 0x20 || *p >= 0x80)
            fprintf(f, "\\u%04x", *p < 0x80 ? *p : 0xfffd);  /* ASCII out: never invalid UTF-8 */
        else
            fputc(*p, f);
    }
    fputc('"', f);
}

static void report(const ltc_loadcheck *lc, const char *lib, const char *err, int json) {
    const char *summary = "LibTorch or libltc cannot be loaded";
    if (json) {
        printf("{\n  \"ltc_version\": ");
        json_string(stdout, LTC_VERSION_STRING);
        printf(",\n  \"usable\": false,\n  \"cause\": {\n    \"code\": \"LTC_CAUSE_LIBRARY_LOAD\",\n    \"summary\": ");
        json_string(stdout, summary);
        printf(",\n    \"message\": ");
        json_string(stdout, lc->message);
        printf(",\n    \"fix\": ");
        json_string(stdout, lc->fix);
        printf("\n  },\n  \"loader\": {\n    \"library\": ");
        json_string(stdout, lib);
        const char *keys[] = {"dlerror", "kind", "at_fault", "needed_by", "picked", "picked_because", "symbol", "built_against",
                              "built_against_torch_version", "LD_LIBRARY_PATH"};
        const char *ldp = getenv("LD_LIBRARY_PATH");
        const char *vals[] = {err, lc->kind, lc->library, lc->needed_by, lc->picked, lc->picked_how, lc->symbol, LTC_FRONT_BUILT_AGAINST,
                              LTC_FRONT_TORCH_VERSION, ldp ? ldp : ""};
        for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
            printf(",\n    \"%s\": ", keys[i]);
            if (vals[i][0] || i == 0)
                json_string(stdout, vals[i]);
            else
                printf("null");
        }
        printf("\n  },\n  \"findings\": [\n    {\n      \"code\": \"LTC_CAUSE_LIBRARY_LOAD\",\n      \"severity\": \"error\",\n"
               "      \"message\": ");
        json_string(stdout, lc->message);
        printf(",\n      \"fix\": ");
        json_string(stdout, lc->fix);
        printf(",\n      \"evidence\": ");
        json_string(stdout, lc->evidence);
        printf("\n    }\n  ]\n}\n");
        return;
    }
    printf("GPU usable: NO: %s [LTC_CAUSE_LIBRARY_LOAD]\n  %s\n  fix: %s\n\n", summary, lc->message, lc->fix);
    printf("loader       %s\n", err);
    if (lc->picked[0])
        printf("picked       %s\n             because: %s\n", lc->picked, lc->picked_how);
    printf("built against %s%s%s\n", LTC_FRONT_BUILT_AGAINST[0] ? LTC_FRONT_BUILT_AGAINST : "(unknown)",
           LTC_FRONT_TORCH_VERSION[0] ? ", LibTorch " : "", LTC_FRONT_TORCH_VERSION);
    printf("evidence     %s\n", lc->evidence);
}

int main(int argc, char **argv) {
    int json = 0;
    for (int i = 1; i < argc; i++)
        json |= strcmp(argv[i], "--json") == 0;
    char lib[PATH_MAX + 64];
    const char *forced = getenv("LTC_CHECK_CUDA_LIBRARY");
    if (forced && *forced) {
        snprintf(lib, sizeof lib, "%s", forced);
    } else {
        char exe[PATH_MAX];
        ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
        if (n <= 0) {
            perror("check_cuda: readlink /proc/self/exe");
            return 1;
        }
        exe[n] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash)
            *slash = '\0';
        snprintf(lib, sizeof lib, "%s/%s", exe, LTC_FRONT_MAIN_LIBRARY);
    }
    /* RTLD_NOW: every symbol now, so that a mixed installation fails here, explained, not later in a call;
     * RTLD_GLOBAL: LibTorch's libraries visible to each other's lookups, as in a program linked with them */
    void *h = dlopen(lib, RTLD_NOW | RTLD_GLOBAL);
    if (!h) {
        const char *e = dlerror();
        char err[4096];
        snprintf(err, sizeof err, "%s", e ? e : "unknown dlopen error");
        ltc_loadcheck *lc = calloc(1, sizeof *lc);
        if (!lc) {
            fprintf(stderr, "check_cuda: %s\n", err);
            return EXIT_LIBRARY_LOAD;
        }
        ltc_loadcheck_explain(lc, lib, err, LTC_FRONT_BUILT_AGAINST);
        report(lc, lib, err, json);
        free(lc);
        return EXIT_LIBRARY_LOAD;
    }
    int (*real_main)(int, char **) = (int (*)(int, char **))dlsym(h, "ltc_check_cuda_main");
    if (!real_main) {
        fprintf(stderr, "check_cuda: %s has no ltc_check_cuda_main: %s\n", lib, dlerror());
        return 1;
    }
    return real_main(argc, argv);
}
