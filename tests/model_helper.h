/* model_helper.h: what the model tests share: the packages tests/model_fixtures.py made for this run
 * (MODEL_DIR, set by tests/model.cmake), and LibTorch's extraction folders in /tmp.
 *
 *   mh_require_fixture("fakes", 0) exits 77 (skipped, saying why) unless the fixture made its packages
 *   mh_path("crash.pt2")           MODEL_DIR/crash.pt2 (a buffer of the calling thread's: use it before its next call)
 *   mh_extracted("mlp_cpu")        how many /tmp/XXXXXX folders of ours hold <that>/data/aotinductor/
 *   mh_read_file(path, &size)      the whole file, malloc'ed (NULL if it cannot be read)
 *   mh_cli(args, rc, text)         examples/run_exported_model with args (RUN_EXPORTED_MODEL, set by
 *                                  tests/model.cmake): its exit code is rc and its output holds text
 */
#ifndef LTC_TEST_MODEL_HELPER_H
#define LTC_TEST_MODEL_HELPER_H

#include "proc_helper.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef MODEL_DIR
#define MODEL_DIR ""
#endif
#ifndef MODEL_PYTHON
#define MODEL_PYTHON ""
#endif
#ifndef RUN_EXPORTED_MODEL
#define RUN_EXPORTED_MODEL "run_exported_model"
#endif

static inline const char *mh_path(const char *name) {
    static _Thread_local char p[4096]; /* the runners-2 case calls it from two threads at once */
    snprintf(p, sizeof p, "%s/%s", MODEL_DIR, name);
    return p;
}

static inline char *mh_read_file(const char *path, size_t *size) {
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    long n = f && fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
    if (n >= 0 && fseek(f, 0, SEEK_SET) == 0 && (buf = malloc((size_t)n + 1)) && fread(buf, 1, (size_t)n, f) == (size_t)n) {
        buf[n] = '\0';
        *size = (size_t)n;
    } else {
        free(buf);
        buf = NULL;
    }
    if (f)
        fclose(f);
    return buf;
}

static inline void mh_cli(const char *args, int want_rc, const char *want_text) {
    char cmd[8192], out[16384];
    snprintf(cmd, sizeof cmd, "cd '%s' && '%s' 2>&1 %s", MODEL_DIR, RUN_EXPORTED_MODEL, args);
    int rc = ph_run(cmd, out, sizeof out);
    snprintf(cmd, sizeof cmd, "run_exported_model %.200s", args);
    ph_check_run(cmd, rc, want_rc, out, want_text);
}

/* Exits 77 unless tests/model_fixtures.py wrote MODEL_DIR/<tag>.ok; says why (its .skip, or no Python).
 * required: a GPU test under LTC_REQUIRE_GPU=1 (the gpu preset), where a missing package fails instead. */
static inline void mh_require_fixture(const char *tag, int required) {
    char name[64];
    size_t n = 0;
    snprintf(name, sizeof name, "%s.ok", tag);
    struct stat st;
    if (*MODEL_DIR && stat(mh_path(name), &st) == 0)
        return;
    snprintf(name, sizeof name, "%s.skip", tag);
    char *why = *MODEL_DIR ? mh_read_file(mh_path(name), &n) : NULL;
    if (why)
        printf("the %s packages were not made: %s", tag, why);
    else if (!*MODEL_PYTHON)
        printf("no Python was found at configure time to make the %s packages\n", tag);
    else
        printf("the %s packages are not in %s: run the test through ctest, which makes them first\n", tag, MODEL_DIR);
    free(why);
    if (required) {
        printf("LTC_REQUIRE_GPU=1: the packages must be made\n0 passed, 1 failed\n");
        exit(1);
    }
    printf("0 passed, 0 failed, 1 skipped\n");
    exit(77);
}

/* /tmp/XXXXXX folders (LibTorch's loader's) of this user that hold <prefix>/data/aotinductor/. */
static inline int mh_extracted(const char *prefix) {
    int count = 0;
    DIR *d = opendir("/tmp");
    for (struct dirent *e; d && (e = readdir(d));) {
        char p[512];
        struct stat st;
        snprintf(p, sizeof p, "/tmp/%s/%s/data/aotinductor", e->d_name, prefix);
        count += strlen(e->d_name) == 6 && stat(p, &st) == 0 && st.st_uid == geteuid();
    }
    if (d)
        closedir(d);
    return count;
}

#endif
