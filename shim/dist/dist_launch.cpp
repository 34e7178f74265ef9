// The local launcher (ltc_launch_local, --nproc): starts N copies of this program as ranks, as
// `torchrun --no-python --nproc-per-node N` does; each dies with the launcher (PR_SET_PDEATHSIG). Asked to
// (options.forward_signals), it forwards SIGINT, SIGTERM and SIGHUP; it tells the survivors at once when a
// rank dies (through the store), never hangs on a stubborn rank, and restarts the whole group up to
// max_restarts times.
#include "dist_internal.hpp"

#include <algorithm>
#include <arpa/inet.h>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <netinet/in.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

using ltc::fail;
using namespace ltc::dist;

namespace {

// By the convention of ltc's programs (docs/conventions.md), exit status 2 is bad usage or a set-up that
// cannot work (a checkpoint path that cannot be written, or that another run holds): no restart.
constexpr int kExitUsage = 2;

volatile sig_atomic_t g_signal_count = 0;
volatile sig_atomic_t g_last_signal = 0;

void on_launcher_signal(int sig) {
    g_last_signal = sig;
    g_signal_count = g_signal_count + 1;
}

// Checks (port > 0) or finds (port 0) a port free on every local address, as the store will bind it.
ltc_status pick_port(int *port) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return fail(LTC_ERR_DISTRIBUTED, "cannot open a socket to check the port: %s", strerror(errno));
    int one = 1;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0) {
        int err = errno;
        close(fd);
        return fail(LTC_ERR_DISTRIBUTED, "cannot check port %d: setsockopt: %s", *port, strerror(err));
    }
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)*port);
    a.sin_addr.s_addr = htonl(*port ? INADDR_ANY : INADDR_LOOPBACK);
    if (bind(fd, (sockaddr *)&a, sizeof a) != 0 || listen(fd, 1) != 0) {
        int err = errno;
        close(fd);
        if (err == EADDRINUSE)
            return fail(LTC_ERR_DISTRIBUTED, "port %d is already in use on this host: pass another port, or 0 for a free one",
                        *port);
        return fail(LTC_ERR_DISTRIBUTED, "cannot use port %d: %s", *port, strerror(err));
    }
    socklen_t len = sizeof a;
    if (getsockname(fd, (sockaddr *)&a, &len) != 0) {
        int err = errno;
        close(fd);
        return fail(LTC_ERR_DISTRIBUTED, "cannot read the port picked: getsockname: %s", strerror(err));
    }
    *port = ntohs(a.sin_port);
    close(fd);
    return LTC_OK;
}

bool is_launcher_variable(const char *entry) {
    static const char *const names[] = {"RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE", "GROUP_RANK",
                                        "ROLE_RANK", "ROLE_WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT",
                                        "NCCL_NVLS_ENABLE", "SLURM_PROCID", "SLURM_NTASKS", "SLURM_LOCALID",
                                        "LTC_LAUNCH_LOCAL"};
    for (const char *n : names) {
        size_t len = strlen(n);
        if (strncmp(entry, n, len) == 0 && entry[len] == '=')
            return true;
    }
    return strncmp(entry, "TORCHELASTIC_", 13) == 0 || strncmp(entry, "OMPI_COMM_WORLD_", 16) == 0;
}

int exit_code_of(int status) {
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return 1;
}

void signal_all(const std::vector<pid_t> &pids, int sig) {
    for (pid_t p : pids)
        if (p > 0)
            kill(p, sig);
}

// The CPU cores this process may run on.
int cpu_cores() {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0)
        return CPU_COUNT(&set);
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

ltc_status check_nproc(int nproc, ltc_device_type type) {
    if (type == LTC_DEVICE_CPU) {
        // Each rank is a whole process with its own LibTorch (hundreds of MB): more ranks than cores only
        // share the cores and multiply the memory. At least 2, so that a two-rank job runs anywhere.
        int cores = cpu_cores(), bound = std::max(cores, 2);
        if (nproc > bound)
            return fail(LTC_ERR_INVALID_ARGUMENT,
                        "%d CPU ranks asked for, but this process may use %d CPU core%s: use at most %d CPU ranks", nproc,
                        cores, cores == 1 ? "" : "s", bound);
        return LTC_OK;
    }
    int n = ltc::cuda_device_count();
    if (nproc > n && n > 0)
        return fail(LTC_ERR_INVALID_ARGUMENT,
                    "%d ranks asked for, but %d CUDA device%s visible: one rank per GPU, so use at most %d", nproc, n,
                    n == 1 ? " is" : "s are", n);
    if (nproc > n) {
        const std::string &why = ltc::cuda_init_warning();
        return fail(LTC_ERR_INVALID_ARGUMENT,
                    "%d ranks asked for, one per GPU, but 0 CUDA devices are visible: LibTorch sees none%s%s%s; run "
                    "the ranks on the CPU instead",
                    nproc, why.empty() ? "" : " (", why.c_str(), why.empty() ? "" : ")");
    }
    return LTC_OK;
}

// Starts one rank: fork, and in the child (async-signal-safe calls only: the parent may have threads)
// die with the launcher, then exec. The parent may already be gone when prctl runs: getppid() says so.
ltc_status spawn_rank(pid_t *out, int rank, int nproc, const char *const *argv, const std::vector<std::string> &env) {
    std::vector<char *> envp;
    for (const auto &s : env)
        envp.push_back(const_cast<char *>(s.c_str()));
    envp.push_back(nullptr);
    const pid_t launcher = getpid();
    sigset_t none;
    sigemptyset(&none);
    pid_t pid = fork();
    if (pid < 0)
        return fail(LTC_ERR_DISTRIBUTED, "cannot start rank %d of %d: fork: %s", rank, nproc, strerror(errno));
    if (pid == 0) {
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != launcher)
            _exit(128 + SIGKILL);
        sigprocmask(SIG_SETMASK, &none, nullptr);
        execve("/proc/self/exe", const_cast<char *const *>(argv), envp.data());
        _exit(127);
    }
    *out = pid;
    return LTC_OK;
}

// A rank that failed: its exit code (128+N for signal N), and how it ended.
struct RankEnd {
    int rank = -1, code = 0;
    int signal = 0;             // the signal that killed it; 0: it exited
    bool sent_by_us = false;    // the launcher had signalled the ranks before it ended
};

struct Attempt {
    std::vector<RankEnd> failures; // in the order the launcher saw them end
    bool interrupted = false;      // a signal reached the launcher: no restart

    // The rank to name: the first that failed, unless it exited 128+N (a program's way of saying that
    // signal N stopped it, or stopped its group) while another rank was killed by signal N from outside
    // the launcher: that one got the signal, the others only stopped with it.
    RankEnd first() const {
        if (failures.empty())
            return RankEnd{};
        const RankEnd &f = failures.front();
        if (f.signal == 0 && f.code > 128)
            for (const RankEnd &g : failures)
                if (g.signal == f.code - 128 && !g.sent_by_us)
                    return g;
        return f;
    }
};

// One run of the whole group: start every rank, watch them, end them all once one fails.
ltc_status run_group(Attempt *out, int nproc, const char *const *argv, const std::vector<std::string> &base, int port,
                     int restart, double timeout_s) {
    std::vector<pid_t> pids(nproc, 0);
    for (int r = 0; r < nproc; r++) {
        std::vector<std::string> env = base;
        env.push_back("MASTER_PORT=" + std::to_string(port));
        env.push_back("TORCHELASTIC_RESTART_COUNT=" + std::to_string(restart));
        env.push_back("RANK=" + std::to_string(r));
        env.push_back("LOCAL_RANK=" + std::to_string(r));
        ltc_status st = spawn_rank(&pids[r], r, nproc, argv, env);
        if (st != LTC_OK) {
            std::string m = ltc_last_error();
            signal_all(pids, SIGKILL);
            for (pid_t p : pids)
                if (p > 0)
                    waitpid(p, nullptr, 0);
            return fail(st, "%s", m.c_str());
        }
    }
    // Reap. After the first failure (or a forwarded signal), the survivors get a grace period to exit on
    // their own, then SIGTERM, then SIGKILL.
    int live = nproc, seen_signals = g_signal_count;
    bool deadline_set = false, termed = false, killed = false, signalled = false;
    Clock::time_point term_at{}, kill_at{};
    while (live > 0) {
        for (int r = 0; r < nproc; r++) {
            if (pids[r] <= 0)
                continue;
            int st = 0;
            pid_t got = waitpid(pids[r], &st, WNOHANG);
            if (got == 0 || (got < 0 && errno == EINTR))
                continue;
            int code = got < 0 ? 1 : exit_code_of(st);
            pids[r] = 0;
            live--;
            if (code == 0)
                continue;
            bool by_signal = got > 0 && WIFSIGNALED(st);
            out->failures.push_back(RankEnd{r, code, by_signal ? WTERMSIG(st) : 0, signalled});
            // Tell the others now, through the store (rank 0 hosts it: if rank 0 died, they see that).
            if (!out->interrupted && r != 0 && pids[0] > 0) {
                set_heartbeat_from_outside("127.0.0.1", port, restart, r,
                                           by_signal ? "signal " + std::to_string(WTERMSIG(st)) : "exit " + std::to_string(code),
                                           std::chrono::milliseconds(1000));
            }
        }
        if (live == 0)
            break;
        int sigs = g_signal_count;
        if (sigs != seen_signals) {
            seen_signals = sigs;
            out->interrupted = signalled = true;
            signal_all(pids, g_last_signal);
        }
        if (!deadline_set && (!out->failures.empty() || out->interrupted)) {
            deadline_set = true;
            double grace = out->interrupted ? 10.0 : timeout_s + 5.0;
            term_at = Clock::now() + duration_of(grace);
            kill_at = term_at + std::chrono::seconds(5);
        }
        if (deadline_set && !termed && Clock::now() >= term_at) {
            termed = signalled = true;
            signal_all(pids, SIGTERM);
        }
        if (deadline_set && !killed && Clock::now() >= kill_at) {
            killed = signalled = true;
            signal_all(pids, SIGKILL);
        }
        usleep(20000);
    }
    return LTC_OK;
}

// "was killed by signal 9 (SIGKILL)"; "exited 143 after SIGTERM (128+15)"; "exited with status 3".
std::string end_text(const RankEnd &f) {
    if (f.signal)
        return "was killed by " + signal_text(f.signal);
    std::string sig = f.code > 128 && f.code < 128 + 65 ? signal_text(f.code - 128) : "";
    size_t open = sig.find('(');
    if (open != std::string::npos)  // "signal 15 (SIGTERM)" -> "SIGTERM"
        return "exited " + std::to_string(f.code) + " after " + sig.substr(open + 1, sig.size() - open - 2) + " (128+" +
               std::to_string(f.code - 128) + ")";
    return "exited with status " + std::to_string(f.code);
}

}  // namespace

namespace ltc::dist {

ltc_status launch_local(LaunchResult *out, const ltc_launch_options &o) {
    const int nproc = o.nproc, max_restarts = o.max_restarts;
    const char *const *argv = o.argv;
    const double timeout_s = o.timeout_s;
    LTC_RETURN_IF_ERROR(check_nproc(nproc, o.device_type));
    int port = o.port;
    const int port_asked = port;
    LTC_RETURN_IF_ERROR(pick_port(&port));

    // Each rank's environment: ours without launcher variables, plus the torchrun set.
    std::vector<std::string> base;
    for (char **e = environ; e && *e; e++)
        if (!is_launcher_variable(*e))
            base.emplace_back(*e);
    base.push_back("WORLD_SIZE=" + std::to_string(nproc));
    base.push_back("LOCAL_WORLD_SIZE=" + std::to_string(nproc));
    base.push_back("MASTER_ADDR=127.0.0.1");
    base.push_back("NCCL_NVLS_ENABLE=0");
    base.push_back("LTC_LAUNCH_LOCAL=1");
    base.push_back("TORCHELASTIC_MAX_RESTARTS=" + std::to_string(max_restarts));
    // As torchrun: N processes each running all-core OpenMP loops would fight over the cores.
    if (nproc > 1 && !getenv("OMP_NUM_THREADS"))
        base.push_back("OMP_NUM_THREADS=1");

    // Signal handlers only when asked for, for this call's duration; without them a signal does to this
    // process what the caller arranged, and its ranks die with it (PR_SET_PDEATHSIG).
    const int forwarded[] = {SIGINT, SIGTERM, SIGHUP};
    struct sigaction act {}, before[3]{};
    act.sa_handler = on_launcher_signal;
    sigemptyset(&act.sa_mask);
    g_signal_count = 0;
    int installed = 0;
    for (; o.forward_signals && installed < 3; installed++)
        if (sigaction(forwarded[installed], &act, &before[installed]) != 0) {
            const int err = errno, sig = forwarded[installed];
            while (installed-- > 0)
                sigaction(forwarded[installed], &before[installed], nullptr);
            return fail(LTC_ERR_INTERNAL, "ltc_launch_local: cannot install its handler of %s: %s", signal_text(sig).c_str(),
                        strerror(err));
        }

    ltc_status st = LTC_OK;
    LaunchResult res;
    for (int restart = 0;; restart++) {
        Attempt a;
        st = run_group(&a, nproc, argv, base, port, restart, timeout_s);
        if (st != LTC_OK)
            break;
        const RankEnd f = a.first();
        res.exit_code = f.code;
        res.failed_rank = f.rank;
        res.restarts = restart;
        if (f.rank < 0 || a.interrupted || restart >= max_restarts || g_signal_count > 0)
            break;
        if (f.signal == 0 && f.code == kExitUsage) {  // the same command would fail the same way
            fprintf(stderr,
                    "ltc_launch_local: rank %d exited with status %d (bad usage or set-up, which a restart repeats): "
                    "no restart\n",
                    f.rank, f.code);
            fflush(stderr);
            break;
        }
        fprintf(stderr, "ltc_launch_local: rank %d %s; restarting all %d ranks (restart %d of %d)\n", f.rank,
                end_text(f).c_str(), nproc, restart + 1, max_restarts);
        fflush(stderr);
        if (port_asked == 0) {  // a fresh port: the old store's may linger in TIME_WAIT
            port = 0;
            st = pick_port(&port);
            if (st != LTC_OK)
                break;
        }
    }
    while (installed-- > 0)
        sigaction(forwarded[installed], &before[installed], nullptr);
    if (st != LTC_OK)
        return st;
    *out = res;
    return LTC_OK;
}

}  // namespace ltc::dist
