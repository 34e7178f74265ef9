/* loadcheck: why a shared library cannot be loaded, told the way the dynamic loader decided it. Given the
 * library and dlerror()'s text, it walks the library's dependencies as ld.so does (DT_RPATH,
 * LD_LIBRARY_PATH, DT_RUNPATH with $ORIGIN, the ld.so cache, the default folders), and names the library
 * at fault, the copy the loader picked and why, the copies it skipped, and the fix. Plain C, no
 * dependency but libc and libdl: check_cuda's front uses it before libltc or LibTorch is loaded.
 * Thread-compatible (no global state but a cache of `ldconfig -p` inside one call). */
#ifndef LTC_LOADCHECK_H
#define LTC_LOADCHECK_H

#include <stddef.h>

typedef struct ltc_loadcheck {
    char kind[32];        /* "missing", "undefined_symbol", "wrong_architecture", "version", "other" */
    char library[512];    /* the library at fault: its soname or path */
    char needed_by[4096]; /* the object that needed it ("" when the top library itself) */
    char picked[4096];    /* the copy the loader picked ("" when none) */
    char picked_how[640]; /* why: "LD_LIBRARY_PATH entry /x", "RUNPATH of ... ($ORIGIN/...)", "ld.so cache", ... */
    char symbol[512];     /* for undefined_symbol and version */
    char message[4096];   /* one sentence: what is wrong */
    char fix[4096];       /* what to do */
    char evidence[8192];  /* the search, copy by copy */
} ltc_loadcheck;

/* Explains why dlopen(path) failed with `dlerror_text`. built_dirs: folders (':'-separated) of the
 * LibTorch and libltc the program was built against, whose copies are the right ones; may be "". */
void ltc_loadcheck_explain(ltc_loadcheck *out, const char *path, const char *dlerror_text, const char *built_dirs);

#endif
