/* ltc-model-probe PATH MODEL DEVICE_INDEX RUNNERS: the child process of ltc_model_options.check_in_child.
 * Loads the package as ltc_model_load does (its checks first) and, when the package records every input's
 * dtype and a static shape, runs it once on zeros. Prints "ok" and exits 0; or prints the message and
 * exits 10 + the status. A crash is what the caller wants to learn, here rather than in its own process:
 * the load runs in a forked process (nothing has touched CUDA yet), and when a signal ends it, the folder
 * LibTorch's loader extracted the package to (/tmp/XXXXXX, which a crash leaves behind) is removed, and
 * this process ends by the same signal (with no core file). */
#define _DEFAULT_SOURCE
#include "ltc.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_SEEN 4096

/* One run on zeros, when every input is fully known; LTC_OK when there is nothing to run. */
static ltc_status run_on_zeros(ltc_model *m, ltc_device device) {
    int n = ltc_model_input_count(m), k = ltc_model_output_count(m), made = 0;
    ltc_tensor **in = calloc((size_t)n + 1, sizeof *in), **out = calloc((size_t)k + 1, sizeof *out);
    ltc_status s = in && out ? LTC_OK : LTC_ERR_OUT_OF_MEMORY;
    for (int i = 0; s == LTC_OK && i < n; i++) {
        ltc_model_io io;
        int known = ltc_model_input(&io, m, i) == LTC_OK && io.ndim >= 0 && ltc_dtype_size(io.dtype) > 0;
        for (int d = 0; known && d < io.ndim; d++)
            known = io.shape[d] >= 1;
        if (!known)
            break;
        s = ltc_tensor_zeros(&in[i], io.shape, io.ndim, io.dtype, device);
        made += s == LTC_OK;
    }
    if (s == LTC_OK && made == n)
        s = ltc_model_run(out, (size_t)k, m, (const ltc_tensor *const *)in, (size_t)n);
    if (s == LTC_OK && made == n && device.type == LTC_DEVICE_CUDA)
        s = ltc_cuda_synchronize(device);
    for (int i = 0; in && i < n; i++)
        ltc_tensor_free(in[i]);
    for (int i = 0; out && i < k; i++)
        ltc_tensor_free(out[i]);
    free(in);
    free(out);
    return s;
}

static int load(char **argv) {
    ltc_model_options o = LTC_MODEL_OPTIONS_INIT;
    o.model_name = argv[2];
    o.device_index = atoi(argv[3]);
    o.runners = atoi(argv[4]);
    ltc_model *m = NULL;
    ltc_device device = {LTC_DEVICE_CPU, 0};
    ltc_status s = ltc_model_load(&m, argv[1], &o);
    if (s == LTC_OK && (s = ltc_model_device(&device, m)) == LTC_OK)
        s = run_on_zeros(m, device);
    printf("%s\n", s == LTC_OK ? "ok" : ltc_last_error());
    ltc_model_free(m);
    return s == LTC_OK ? 0 : 10 + (int)s;
}

/* The names in /tmp now. */
static int list_tmp(char (*names)[64], int cap) {
    int n = 0;
    DIR *d = opendir("/tmp");
    for (struct dirent *e; d && (e = readdir(d)) && n < cap;)
        if (strlen(e->d_name) == 6)  /* mkdtemp("/tmp/XXXXXX") */
            snprintf(names[n++], 64, "%.6s", e->d_name);
    if (d)
        closedir(d);
    return n;
}

static void remove_tree(const char *path) {
    DIR *d = opendir(path);
    for (struct dirent *e; d && (e = readdir(d));) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        char sub[4096];
        snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
        struct stat st;
        if (lstat(sub, &st) == 0 && S_ISDIR(st.st_mode))
            remove_tree(sub);
        else
            unlink(sub);
    }
    if (d)
        closedir(d);
    rmdir(path);
}

/* Removes the folders of ours that appeared in /tmp during the load and hold <folder>/data/aotinductor/MODEL. */
static void remove_extracted(char (*before)[64], int n_before, const char *model) {
    static char now[MAX_SEEN][64];
    int n = list_tmp(now, MAX_SEEN);
    for (int i = 0; i < n; i++) {
        int old = 0;
        for (int j = 0; j < n_before && !old; j++)
            old = !strcmp(now[i], before[j]);
        char dir[128], probe[4096];
        struct stat st;
        snprintf(dir, sizeof dir, "/tmp/%.6s", now[i]);
        if (old || lstat(dir, &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != geteuid())
            continue;
        DIR *d = opendir(dir);
        int ours = 0;
        for (struct dirent *e; d && !ours && (e = readdir(d));) {
            snprintf(probe, sizeof probe, "%s/%s/data/aotinductor/%s", dir, e->d_name, model);
            ours = e->d_name[0] != '.' && stat(probe, &st) == 0;
        }
        if (d)
            closedir(d);
        if (ours)
            remove_tree(dir);
    }
}

int main(int argc, char **argv) {
    if (argc != 5) {
        fprintf(stderr, "usage: ltc-model-probe PATH MODEL DEVICE_INDEX RUNNERS (started by ltc_model_load)\n");
        return 2;
    }
    struct rlimit no_core = {0, 0};  /* a crash here is an answer, not a core file in the caller's folder */
    setrlimit(RLIMIT_CORE, &no_core);
    static char before[MAX_SEEN][64];
    int n_before = list_tmp(before, MAX_SEEN);
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) {
        printf("fork failed: %s\n", strerror(errno));
        return 10 + LTC_ERR_INTERNAL;
    }
    if (pid == 0)
        _exit(load(argv) + (fflush(stdout) != 0));
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (!WIFSIGNALED(status))
        return WIFEXITED(status) ? WEXITSTATUS(status) : 10 + LTC_ERR_INTERNAL;
    remove_extracted(before, n_before, argv[2]);
    signal(WTERMSIG(status), SIG_DFL);
    fflush(stdout);
    raise(WTERMSIG(status));
    return 128 + WTERMSIG(status);
}
