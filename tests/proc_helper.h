/* proc_helper.h: running programs from a test, for the tests that run the examples as a user would
 * (POSIX; the including file defines _DEFAULT_SOURCE or _POSIX_C_SOURCE 200809L first).
 *
 *   ph_now_s()                            monotonic seconds
 *   ph_run(cmd, out, cap)                 runs `sh -c cmd` to its end, its output into out; its exit code
 *   ph_report(ok, name, detail, out)      one check of a program's output, printed when it fails
 *   ph_check_run(name, rc, want_rc, out, want_text)
 *                                         one check: the exit code and a piece of the output
 *   ph_start / ph_wait_for / ph_finish    a command in the background: wait for a line, signal it, reap it
 *   ph_start_with(cmd, out, cap, prepare, arg)   ph_start, with prepare(arg) run in the child first
 *   ph_torch_python_has(what, module)     whether TORCH_PYTHON imports module; else SKIP(what, why)
 *   ph_make_dir(dir, n, prefix) / ph_remove_dir(dir)   a scratch folder (in the working directory, else /tmp)
 *   return ph_run_in_dir(dir, n, prefix, tests, count);  a main: the tests in a scratch folder (removed also
 *                                         when a signal ends the test), the count
 *   ph_atexit_marker(path) / ph_marker_there(path)   an atexit handler that writes path; whether it did
 */
#ifndef LTC_TEST_PROC_HELPER_H
#define LTC_TEST_PROC_HELPER_H

#include "testhelper.h"

#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static inline double ph_now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

/* Runs cmd through the shell (it redirects what it wants: add 2>&1 for stderr) with its stdout into out
 * (cap bytes, NUL-terminated); its exit code, or -1 if it could not start or did not exit. */
static inline int ph_run(const char *cmd, char *out, size_t cap) {
    out[0] = '\0';
    FILE *p = popen(cmd, "r");
    if (!p)
        return -1;
    size_t n = fread(out, 1, cap - 1, p);
    out[n] = '\0';
    int status = pclose(p);
    return status != -1 && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* One check of what a program printed (out): on failure the output follows the message. */
static inline void ph_report(int ok, const char *name, const char *detail, const char *out) {
    th_report(ok, __FILE__, __LINE__, name, detail);
    if (!ok)
        fprintf(stderr, "  output:\n%s\n", out);
}

/* One check of a run: exit code want_rc and want_text in its output out. */
static inline void ph_check_run(const char *name, int rc, int want_rc, const char *out, const char *want_text) {
    char detail[800];
    snprintf(detail, sizeof detail, "exit %d, wanted %d, with \"%s\" in the output", rc, want_rc, want_text);
    ph_report(rc == want_rc && strstr(out, want_text) != NULL, name, detail, out);
}

/* A command running in the background (pid: the shell, or the command itself through exec) and what it
 * has printed so far, stdout and stderr together, in out (cap bytes, n of them read, NUL-terminated). */
typedef struct ph_job {
    pid_t pid;
    int fd;
    char *out;
    size_t cap, n;
} ph_job;

/* Starts `sh -c cmdline`, calling prepare(arg) in the child first when prepare is not NULL (e.g. to enter
 * namespaces; a child whose prepare returns non-zero exits 126); pid -1 if it could not. */
static inline ph_job ph_start_with(const char *cmdline, char *out, size_t cap, int (*prepare)(void *), void *arg) {
    ph_job j = {-1, -1, out, cap, 0};
    out[0] = '\0';
    int fds[2];
    if (pipe(fds) != 0)
        return j;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fds[1], 1);
        dup2(fds[1], 2);
        close(fds[0]);
        close(fds[1]);
        if (prepare && prepare(arg) != 0)
            _exit(126);
        execl("/bin/sh", "sh", "-c", cmdline, (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    if (pid < 0) {
        close(fds[0]);
        return j;
    }
    j.pid = pid;
    j.fd = fds[0];
    return j;
}

/* Starts `sh -c cmdline`; pid -1 if it could not. */
static inline ph_job ph_start(const char *cmdline, char *out, size_t cap) {
    return ph_start_with(cmdline, out, cap, NULL, NULL);
}

/* Reads what the job prints within timeout_ms: 1 read some, 0 nothing came, -1 its output ended (or the
 * buffer is full). */
static inline int ph_read_some(ph_job *j, int timeout_ms) {
    if (j->fd < 0 || j->n >= j->cap - 1)
        return -1;
    struct pollfd pf = {j->fd, POLLIN, 0};
    if (poll(&pf, 1, timeout_ms) <= 0)
        return 0;
    ssize_t got = read(j->fd, j->out + j->n, j->cap - 1 - j->n);
    if (got <= 0)
        return -1;
    j->n += (size_t)got;
    j->out[j->n] = '\0';
    return 1;
}

/* Reads the job's output until text shows (1) or the time is up or the output ends (0). */
static inline int ph_wait_for(ph_job *j, const char *text, double seconds) {
    double t0 = ph_now_s();
    while (!strstr(j->out, text) && ph_now_s() - t0 < seconds && ph_read_some(j, 200) >= 0) {
    }
    return strstr(j->out, text) != NULL;
}

/* Waits for the job to end, reading its output (killing it past the time; *took, when given, is how long
 * that took), then reads what is left; its exit code, -1 if killed by a signal or past the time. */
static inline int ph_finish(ph_job *j, double seconds, double *took) {
    double t0 = ph_now_s();
    int status = 0;
    pid_t got = 0;
    while (j->pid > 0 && (got = waitpid(j->pid, &status, WNOHANG)) == 0 && ph_now_s() - t0 < seconds)
        if (ph_read_some(j, 50) < 0)
            poll(NULL, 0, 20); /* its output ended before it did */
    if (took)
        *took = ph_now_s() - t0;
    if (j->pid > 0 && got == 0) {
        kill(j->pid, SIGKILL);
        waitpid(j->pid, &status, 0);
    }
    while (ph_read_some(j, 500) > 0) {
    }
    if (j->fd >= 0)
        close(j->fd);
    j->fd = -1;
    return got > 0 && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Registers an atexit handler that writes "atexit ran" to path: whether the process's atexit handlers ran at
 * its end (exit() runs them; an _exit() from an exit hook registered later would not). */
static const char *ph_marker_path;
static inline void ph_marker_write(void) {
    FILE *f = fopen(ph_marker_path, "w");
    if (f) {
        fputs("atexit ran\n", f);
        fclose(f);
    }
}
static inline void ph_atexit_marker(const char *path) {
    ph_marker_path = path;
    atexit(ph_marker_write);
}
/* 1 when path holds what ph_atexit_marker writes. */
static inline int ph_marker_there(const char *path) {
    struct stat sb;
    return stat(path, &sb) == 0 && sb.st_size > 0;
}

/* 1 when TORCH_PYTHON (CMake sets it where it found a Python) imports module; otherwise the case `what` is
 * skipped (SKIP, with the reason) and it returns 0. */
static inline int ph_torch_python_has(const char *what, const char *module) {
#ifdef TORCH_PYTHON
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "'%s' -c 'import %s' >/dev/null 2>&1", TORCH_PYTHON, module);
    if (system(cmd) == 0)
        return 1;
    SKIP(what, "%s cannot import %s (no Python torch)", TORCH_PYTHON, module);
#else
    (void)module;
    SKIP(what, "no Python found at configure time (no Python torch)");
#endif
    return 0;
}

/* A fresh folder <prefix>_XXXXXX into dir (n bytes): in the working directory when it is writable (under
 * CTest, the test's build folder: a test killed outright leaves nothing in /tmp), else in /tmp; 0 (having
 * said why) if none could be made. */
static inline int ph_make_dir(char *dir, size_t n, const char *prefix) {
    char cwd[512];
    const char *base = getcwd(cwd, sizeof cwd) && access(cwd, W_OK) == 0 && strlen(cwd) < 200 ? cwd : "/tmp";
    snprintf(dir, n, "%s/%s_XXXXXX", base, prefix);
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 0;
    }
    return 1;
}

/* Removes dir and all it holds; says so when it cannot. */
static inline void ph_remove_dir(const char *dir) {
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
}

/* The scratch folder of ph_run_in_dir, removed when SIGINT, SIGTERM or SIGHUP ends the test (Ctrl-C on
 * ctest, its timeout): with async-signal-safe calls only, then the signal ends the test as it would. */
static const char *ph_scratch = NULL;
static inline void ph_on_signal(int sig) {
    pid_t pid = fork();
    if (pid == 0) {
        char *const args[] = {(char *)"rm", (char *)"-rf", (char *)ph_scratch, NULL};
        char *const env[] = {NULL};
        execve("/bin/rm", args, env);
        _exit(127);
    }
    if (pid > 0)
        waitpid(pid, NULL, 0);
    signal(sig, SIG_DFL);
    raise(sig);
}

/* A test program's main: makes the scratch folder dir (see ph_make_dir), runs each of the count tests,
 * removes the folder (also when a signal ends the test) and returns th_finish()'s code (1 when no folder
 * could be made). */
static inline int ph_run_in_dir(char *dir, size_t n, const char *prefix, void (*const *tests)(void), size_t count) {
    if (!ph_make_dir(dir, n, prefix))
        return 1;
    ph_scratch = dir;
    struct sigaction act;
    memset(&act, 0, sizeof act);
    act.sa_handler = ph_on_signal;
    sigemptyset(&act.sa_mask);
    sigaction(SIGINT, &act, NULL);
    sigaction(SIGTERM, &act, NULL);
    sigaction(SIGHUP, &act, NULL);
    for (size_t i = 0; i < count; i++)
        tests[i]();
    ph_remove_dir(dir);
    return th_finish();
}

#endif
