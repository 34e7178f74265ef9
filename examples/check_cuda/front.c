/* check_cuda's front: a small pure-C program that loads the real check_cuda (check_cuda.c beside it,
 * built as libcheck_cuda_main.so, which links libltc and with it LibTorch) with dlopen, and runs it. When
 * that load fails (a missing library, an undefined symbol from two LibTorch or CUDA installations mixed,
 * a library of another architecture), the program would otherwise never reach main: the loader prints one
 * line and exits 127. Here the front reads dlerror(), explains it (loadcheck.c: the library at fault, the
 * copy the loader picked and why, what the program was built against, the fix) and exits 10,
 * LTC_CAUSE_LIBRARY_LOAD. LibTorch's CUDA half also reads PYTORCH_CUDA_ALLOC_CONF while it loads, and a
 * value it cannot walk aborts the process inside dlopen: with that variable set, a child process tries the
 * load first, and the front names the setting (exit 13, LTC_CAUSE_TORCH_SETTING).
 *
 * Test-only: LTC_CHECK_CUDA_LIBRARY=<path> loads that library instead of libcheck_cuda_main.so (the
 * fault-injection tests point it at libraries built to fail; docs/diagnosis.md).
 *
 * The front reads the command line with check_cuda's parser (args.h) before the load: it refuses bad
 * usage (exit 2), --json shapes the report of a failed load, and when the load fails --help still gives
 * the usage (when it works, check_cuda.c's main does, after its check of TORCH_CPP_LOG_LEVEL). */
#define _GNU_SOURCE
#include "args.h" /* check_cuda_parse: the command line, read by the one parser check_cuda.c uses */
#include "json.h" /* ltc's JSON writer (shim/common/json.c), compiled into this program */
#include "loadcheck.h"
#include "ltc.h" /* the cause values only: nothing of libltc is called before it is loaded */

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
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

enum { EXIT_LIBRARY_LOAD = 10, EXIT_TORCH_SETTING = 13 };

/* The verdict when the load failed (LTC_CAUSE_LIBRARY_LOAD) or aborted (LTC_CAUSE_TORCH_SETTING). */
static void report(ltc_cause cause, const ltc_loadcheck *lc, const char *lib, const char *err, int json) {
    const char *code = cause == LTC_CAUSE_TORCH_SETTING ? "LTC_CAUSE_TORCH_SETTING" : "LTC_CAUSE_LIBRARY_LOAD";
    const char *summary = cause == LTC_CAUSE_TORCH_SETTING ? "a PyTorch setting that LibTorch rejects" : "LibTorch or libltc cannot be loaded";
    if (json) { /* the shape of ltc_diagnosis_json, with ltc's JSON writer (compiled in: libltc may not load) */
        ltc_json_writer w;
        ltc_json_init_file(&w, stdout);
        ltc_json_begin_object(&w, NULL, 0);
        ltc_json_string(&w, "ltc_version", LTC_VERSION_STRING);
        ltc_json_bool(&w, "usable", 0);
        ltc_json_begin_object(&w, "cause", 0);
        ltc_json_string(&w, "code", code);
        ltc_json_string(&w, "summary", summary);
        ltc_json_string(&w, "message", lc->message);
        ltc_json_string(&w, "fix", lc->fix);
        ltc_json_end(&w);
        ltc_json_begin_object(&w, "loader", 0);
        ltc_json_string(&w, "library", lib);
        const char *keys[] = {"dlerror", "kind", "at_fault", "needed_by", "picked", "picked_because", "symbol", "built_against",
                              "built_against_torch_version", "LD_LIBRARY_PATH"};
        const char *ldp = getenv("LD_LIBRARY_PATH");
        const char *vals[] = {err, lc->kind, lc->library, lc->needed_by, lc->picked, lc->picked_how, lc->symbol, LTC_FRONT_BUILT_AGAINST,
                              LTC_FRONT_TORCH_VERSION, ldp ? ldp : ""};
        for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) /* "" is null, but for dlerror */
            ltc_json_string(&w, keys[i], vals[i][0] || i == 0 ? vals[i] : NULL);
        ltc_json_end(&w);
        ltc_json_begin_array(&w, "findings", 0);
        ltc_json_begin_object(&w, NULL, 0);
        ltc_json_string(&w, "code", code);
        ltc_json_string(&w, "severity", "error");
        ltc_json_string(&w, "message", lc->message);
        ltc_json_string(&w, "fix", lc->fix);
        ltc_json_string(&w, "evidence", lc->evidence);
        ltc_json_end(&w);
        ltc_json_end(&w);
        ltc_json_end(&w);
        printf("\n");
        return;
    }
    printf("GPU usable: NO: %s [%s]\n  %s\n  fix: %s\n\n", summary, code, lc->message, lc->fix);
    printf("loader       %s\n", err);
    if (lc->picked[0])
        printf("picked       %s\n             because: %s\n", lc->picked, lc->picked_how);
    printf("built against %s%s%s\n", LTC_FRONT_BUILT_AGAINST[0] ? LTC_FRONT_BUILT_AGAINST : "(unknown)",
           LTC_FRONT_TORCH_VERSION[0] ? ", LibTorch " : "", LTC_FRONT_TORCH_VERSION);
    printf("evidence     %s\n", lc->evidence);
}

/* LibTorch's CUDA half reads PYTORCH_CUDA_ALLOC_CONF (else PYTORCH_ALLOC_CONF) while it loads, to pick its
 * allocator; a value it cannot walk (a key without ':' and a value) throws from that static initializer,
 * and the process aborts inside dlopen. With one of them set, a child process loads `lib` first. When it
 * aborts with LibTorch's allocator-settings text, *lc says so (the variable, its value, LibTorch's words
 * and the fix) and 1 is returned; else 0, and the front loads `lib` itself. */
static int load_aborts(const char *lib, ltc_loadcheck *lc, char *err, size_t err_cap) {
    const char *var = getenv("PYTORCH_CUDA_ALLOC_CONF") ? "PYTORCH_CUDA_ALLOC_CONF" : getenv("PYTORCH_ALLOC_CONF") ? "PYTORCH_ALLOC_CONF" : NULL;
    int fds[2];
    if (!var || pipe(fds) != 0)
        return 0;
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        return 0;
    }
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        if (null >= 0)
            dup2(null, 1);
        dup2(fds[1], 2);
        close(fds[0]);
        close(fds[1]);
        _exit(dlopen(lib, RTLD_NOW | RTLD_GLOBAL) ? 0 : 1);
    }
    close(fds[1]);
    static char text[16384];
    size_t n = 0;
    for (;;) {  /* all of it, or the child could block on a full pipe; what does not fit is dropped */
        char chunk[4096];
        ssize_t got = read(fds[0], chunk, sizeof chunk);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            break;
        size_t take = (size_t)got < sizeof text - 1 - n ? (size_t)got : sizeof text - 1 - n;
        memcpy(text + n, chunk, take);
        n += take;
    }
    text[n] = '\0';
    close(fds[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (!WIFSIGNALED(status) || (!strstr(text, "AllocatorConfig") && !strstr(text, "ConfigTokenizer")))
        return 0;
    /* "terminate called after throwing an instance of 'c10::Error'\n  what():  <LibTorch's text>\n..." */
    const char *what = strstr(text, "what():");
    what = what ? what + 7 + strspn(what + 7, " ") : text;
    int len = (int)strcspn(what, "\n");
    snprintf(err, err_cap, "the load aborted (signal %d): %.*s", WTERMSIG(status), len, what);
    snprintf(lc->kind, sizeof lc->kind, "aborted");
    snprintf(lc->library, sizeof lc->library, "libc10_cuda.so");
    snprintf(lc->message, sizeof lc->message,
             "LibTorch rejects %s=\"%s\": its CUDA half aborts every program while it loads: %.*s", var, getenv(var), len, what);
    snprintf(lc->fix, sizeof lc->fix,
             "unset %s, or correct it: LibTorch reads it as key:value pairs separated by commas (a list in brackets: key:[a:b,c:d]), "
             "and every key needs ':' and a value "
             "(https://docs.pytorch.org/docs/stable/notes/cuda.html#optimizing-memory-usage-with-pytorch-cuda-alloc-conf)",
             var);
    /* the first line ("terminate called after throwing ...") and LibTorch's: not its C++ backtrace */
    snprintf(lc->evidence, sizeof lc->evidence, "dlopen(%s) in a child process with %s=\"%s\": signal %d (%s): %.*s: %.*s", lib, var,
             getenv(var), WTERMSIG(status), strsignal(WTERMSIG(status)), (int)strcspn(text, "\n"), text, len, what);
    return 1;
}

int main(int argc, char **argv) {
    /* check_cuda's own parser: bad usage is refused even when the load would fail */
    check_cuda_args args;
    if (!check_cuda_parse(&args, argc, argv))
        return 2;
    int json = args.json;
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
    ltc_loadcheck *aborted = calloc(1, sizeof *aborted);
    char abort_err[4096];
    if (aborted && load_aborts(lib, aborted, abort_err, sizeof abort_err)) {
        report(LTC_CAUSE_TORCH_SETTING, aborted, lib, abort_err, json);
        free(aborted);
        return EXIT_TORCH_SETTING;
    }
    free(aborted);
    /* RTLD_NOW: every symbol now, so that a mixed installation fails here, explained, not later in a call;
     * RTLD_GLOBAL: LibTorch's libraries visible to each other's lookups, as in a program linked with them */
    void *h = dlopen(lib, RTLD_NOW | RTLD_GLOBAL);
    if (!h && args.help)
        return check_cuda_help();
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
        report(LTC_CAUSE_LIBRARY_LOAD, lc, lib, err, json);
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
