// ltc_model_options.check_in_child: the package is loaded first by ltc-model-probe, a fresh process
// (beside libltc in a build tree, <libexec>/ltc once installed), so that a crash while loading ends that
// process and not the caller's. Started with posix_spawn: no fork of a process that may hold threads
// and CUDA state.
#include "model_internal.hpp"

#include <cerrno>
#include <chrono>
#include <csignal>
#include <dlfcn.h>
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

namespace ltc_pt2 {

namespace {

#ifndef LTC_PROBE_RELDIR
#define LTC_PROBE_RELDIR "../libexec/ltc"
#endif

const int kProbeTimeoutS = 300;  // a large package on a slow disk; a hang is killed after this

// The folder of libltc itself: of this (hidden) function, which, unlike an exported one, no other copy of
// libltc in the process can stand in for.
std::string library_dir() {
    Dl_info info;
    if (!dladdr((void *)&library_dir, &info) || !info.dli_fname)
        return ".";
    std::string lib = info.dli_fname;
    size_t slash = lib.rfind('/');
    return slash == std::string::npos ? "." : lib.substr(0, slash);
}

const char *signal_name(int sig) {
    switch (sig) {
    case SIGSEGV: return "SIGSEGV, a bad memory access";
    case SIGBUS: return "SIGBUS, a bad memory access";
    case SIGILL: return "SIGILL, an instruction this CPU lacks";
    case SIGABRT: return "SIGABRT, an abort";
    case SIGFPE: return "SIGFPE, an arithmetic fault";
    case SIGKILL: return "SIGKILL";
    }
    return "a signal";
}

// The probe's last line of output, for the message.
std::string last_line(std::string out) {
    while (!out.empty() && (out.back() == '\n' || out.back() == ' '))
        out.pop_back();
    size_t nl = out.rfind('\n');
    out = nl == std::string::npos ? out : out.substr(nl + 1);
    return out.size() > 300 ? out.substr(0, 300) + "..." : out;
}

// Reads fd until its end or the deadline; false on the deadline.
bool read_all(int fd, std::string *out) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(kProbeTimeoutS);
    char buf[4096];
    for (;;) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0)
            return false;
        struct pollfd p = {fd, POLLIN, 0};
        int r = poll(&p, 1, (int)left.count());
        if (r < 0 && errno != EINTR)
            return true;
        if (r <= 0)
            continue;
        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return true;
        out->append(buf, (size_t)n);
        if (out->size() > 65536)
            out->erase(0, out->size() - 65536);
    }
}

// Starts exe with argv, its stdout and stderr into a pipe; *pid and *fd (the pipe's read end), or errno.
int spawn(const std::string &exe, std::vector<std::string> &args, pid_t *pid, int *fd) {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0)
        return errno;
    std::vector<char *> argv;
    for (std::string &a : args)
        argv.push_back(&a[0]);
    argv.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    int rc = posix_spawn_file_actions_init(&fa);
    if (rc == 0 && (rc = posix_spawn_file_actions_adddup2(&fa, fds[1], 1)) == 0 &&
        (rc = posix_spawn_file_actions_adddup2(&fa, fds[1], 2)) == 0)
        rc = posix_spawn(pid, exe.c_str(), &fa, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    close(fds[1]);
    if (rc != 0)
        close(fds[0]);
    else
        *fd = fds[0];
    return rc;
}

}  // namespace

ltc_status load_in_child(const std::string &path, const std::string &model_name, const c10::Device &device,
                         int runners) {
    std::string dir = library_dir(), exe;
    for (const std::string &p : {dir + "/ltc-model-probe", dir + "/" LTC_PROBE_RELDIR "/ltc-model-probe"})
        if (exe.empty() && access(p.c_str(), X_OK) == 0)
            exe = p;
    if (exe.empty())
        return ltc::fail(LTC_ERR_UNSUPPORTED,
                         "cannot load %s in a child process first: ltc-model-probe is not beside libltc (looked in %s "
                         "and %s/%s); install it with libltc, or set check_in_child to 0",
                         path.c_str(), dir.c_str(), dir.c_str(), LTC_PROBE_RELDIR);
    std::vector<std::string> args = {exe, path, model_name, std::to_string(device.is_cuda() ? device.index() : -1),
                                     std::to_string(runners)};
    pid_t pid = 0;
    int fd = -1, rc = spawn(exe, args, &pid, &fd);
    if (rc != 0)
        return ltc::fail(LTC_ERR_INTERNAL, "cannot start %s: %s", exe.c_str(), strerror(rc));
    std::string out;
    bool ended = read_all(fd, &out);
    close(fd);
    if (!ended)
        kill(pid, SIGKILL);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (!ended)
        return ltc::fail(LTC_ERR_TIMEOUT, "%s did not finish loading in a child process within %d s (killed)",
                         path.c_str(), kProbeTimeoutS);
    if (WIFSIGNALED(status)) {
        std::string said = last_line(out);
        said = said.empty() ? "" : " Its last output: \"" + said + "\".";
        return ltc::fail(LTC_ERR_INVALID_ARGUMENT,
                         "loading %s crashed the child process that tried it first (signal %d, %s), so it would crash "
                         "this one; nothing was loaded here.%s ltc's docs/model.md lists the known causes (a private "
                         "libstdc++, another torch, another CPU or GPU)",
                         path.c_str(), WTERMSIG(status), signal_name(WTERMSIG(status)), said.c_str());
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return LTC_OK;
    // The probe exits 10 + the status of its ltc_model_load, with the message as its last line.
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    ltc_status s = code > 10 && code <= 10 + LTC_ERR_INTERNAL ? (ltc_status)(code - 10) : LTC_ERR_INTERNAL;
    return ltc::fail(s, "%s could not be loaded in a child process (exit %d): %s", path.c_str(), code,
                     last_line(out).c_str());
}

}  // namespace ltc_pt2
