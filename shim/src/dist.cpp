// Data parallel: launcher variables, the local launcher, the process group (TCPStore rendezvous,
// heartbeat watchdog, lost-rank diagnosis), the store-based CPU collectives, and the entry points that
// broadcast parameters, average gradients and check replicas. ProcessGroupNCCL is in dist_nccl.cpp.
#include "dist_internal.hpp"

#include <c10/util/Exception.h>
#include <c10/util/Logging.h>
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>

#include <algorithm>
#include <arpa/inet.h>
#include <cerrno>
#include <climits>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

using ltc::fail;
using ltc::dist::Clock;
using ltc::dist::Failure;
using std::chrono::milliseconds;

namespace {

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

std::vector<uint8_t> bytes_of(const std::string &s) { return std::vector<uint8_t>(s.begin(), s.end()); }
std::string text_of(const std::vector<uint8_t> &b) { return std::string(b.begin(), b.end()); }

// ------------------------------------------------------------------------------------------------
// Launcher variables
// ------------------------------------------------------------------------------------------------

const char *lookup(const char *const *envp, const char *name) {
    if (!envp)
        return nullptr;
    size_t n = strlen(name);
    for (const char *const *e = envp; *e; e++)
        if (strncmp(*e, name, n) == 0 && (*e)[n] == '=')
            return *e + n + 1;
    return nullptr;
}

// A whole decimal number in [lo, hi]; anything else names the variable and what is valid.
ltc_status parse_int(int *out, const char *name, const char *text, long lo, long hi, const char *valid) {
    bool digits = text[0] != '\0' && strspn(text, "0123456789") == strlen(text) && strlen(text) <= 9;
    long v = digits ? strtol(text, nullptr, 10) : -1;
    if (!digits || v < lo || v > hi)
        return fail(LTC_ERR_INVALID_ARGUMENT, "%s=\"%.32s\" is not valid: use %s", name, text, valid);
    *out = (int)v;
    return LTC_OK;
}

struct Names {
    ltc_launcher launcher;
    const char *rank, *size, *local_rank;
};

const Names kLaunchers[] = {
    {LTC_LAUNCHER_TORCHRUN, "RANK", "WORLD_SIZE", "LOCAL_RANK"},
    {LTC_LAUNCHER_SLURM, "SLURM_PROCID", "SLURM_NTASKS", "SLURM_LOCALID"},
    {LTC_LAUNCHER_MPI, "OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_LOCAL_RANK"},
};

ltc_status env_from(ltc_dist_env *out, const char *const *envp) {
    ltc_dist_env e{};
    e.launcher = LTC_LAUNCHER_NONE;
    e.world_size = 1;
    const Names *found = nullptr;
    for (const auto &l : kLaunchers)
        if (lookup(envp, l.rank) || lookup(envp, l.size)) {
            found = &l;
            break;
        }
    if (found) {
        const char *rank = lookup(envp, found->rank), *size = lookup(envp, found->size);
        if (!rank || !size)
            return fail(LTC_ERR_INVALID_ARGUMENT, "%s is set but %s is not: a launcher sets both (%s)",
                        rank ? found->rank : found->size, rank ? found->size : found->rank,
                        ltc_launcher_name(found->launcher));
        e.launcher = found->launcher;
        const char *local_launch = lookup(envp, "LTC_LAUNCH_LOCAL");
        if (e.launcher == LTC_LAUNCHER_TORCHRUN && local_launch && strcmp(local_launch, "1") == 0)
            e.launcher = LTC_LAUNCHER_LOCAL;
        LTC_RETURN_IF_ERROR(parse_int(&e.world_size, found->size, size, 1, 1 << 24, "a whole number, 1 or more"));
        char valid[64];
        snprintf(valid, sizeof valid, "0 to %d (%s=%d)", e.world_size - 1, found->size, e.world_size);
        LTC_RETURN_IF_ERROR(parse_int(&e.rank, found->rank, rank, 0, e.world_size - 1, valid));
        const char *local = lookup(envp, found->local_rank);
        e.local_rank = e.rank;
        if (local)
            LTC_RETURN_IF_ERROR(parse_int(&e.local_rank, found->local_rank, local, 0, 1 << 24, "a whole number, 0 or more"));
    }

    // Where the store is. torchrun always says; Slurm and mpirun do not, so a single node is assumed.
    const char *addr = lookup(envp, "MASTER_ADDR"), *port = lookup(envp, "MASTER_PORT");
    bool single_node = true;
    if (e.launcher == LTC_LAUNCHER_SLURM) {
        const char *nodes = lookup(envp, "SLURM_NNODES");
        single_node = !nodes || strcmp(nodes, "1") == 0;
    } else if (e.launcher == LTC_LAUNCHER_MPI) {
        const char *local_size = lookup(envp, "OMPI_COMM_WORLD_LOCAL_SIZE");
        single_node = !local_size || strtol(local_size, nullptr, 10) == e.world_size;
    }
    if (!addr) {
        if ((e.launcher == LTC_LAUNCHER_TORCHRUN || e.launcher == LTC_LAUNCHER_LOCAL) && e.world_size > 1)
            return fail(LTC_ERR_INVALID_ARGUMENT,
                        "MASTER_ADDR is not set, but RANK and WORLD_SIZE are: set it to the host of rank 0");
        if (!single_node)
            return fail(LTC_ERR_INVALID_ARGUMENT,
                        "MASTER_ADDR is not set and the %s job spans several nodes: set MASTER_ADDR to the host of rank 0",
                        ltc_launcher_name(e.launcher));
        addr = "127.0.0.1";
    }
    if (addr[0] == '\0' || strlen(addr) >= LTC_DIST_ADDR_MAX)
        return fail(LTC_ERR_INVALID_ARGUMENT, "MASTER_ADDR=\"%.64s\" is not valid: use a host name or address of 1 to %d characters",
                    addr, LTC_DIST_ADDR_MAX - 1);
    snprintf(e.master_addr, sizeof e.master_addr, "%s", addr);
    if (port) {
        LTC_RETURN_IF_ERROR(parse_int(&e.master_port, "MASTER_PORT", port, 1, 65535, "a port number, 1 to 65535"));
    } else if ((e.launcher == LTC_LAUNCHER_TORCHRUN || e.launcher == LTC_LAUNCHER_LOCAL) && e.world_size > 1) {
        return fail(LTC_ERR_INVALID_ARGUMENT, "MASTER_PORT is not set, but RANK and WORLD_SIZE are: set it to a free port on %s",
                    e.master_addr);
    } else {
        e.master_port = e.world_size == 1 ? 0 : 29500;  // a job of one hosts its store on any free port
    }
    if (e.launcher == LTC_LAUNCHER_TORCHRUN) {
        const char *agent = lookup(envp, "TORCHELASTIC_USE_AGENT_STORE");
        e.external_store = agent && strcmp(agent, "True") == 0;
        const char *restart = lookup(envp, "TORCHELASTIC_RESTART_COUNT");
        if (restart)
            LTC_RETURN_IF_ERROR(parse_int(&e.restart, "TORCHELASTIC_RESTART_COUNT", restart, 0, INT_MAX, "a whole number, 0 or more"));
    }
    *out = e;
    return LTC_OK;
}

// ------------------------------------------------------------------------------------------------
// Local launcher
// ------------------------------------------------------------------------------------------------

volatile sig_atomic_t g_signal_count = 0;
volatile sig_atomic_t g_last_signal = 0;

void on_launcher_signal(int sig) {
    g_last_signal = sig;
    g_signal_count = g_signal_count + 1;
}

// Checks (port > 0) or finds (port 0) a port free on every local address, as the store will bind it.
ltc_status pick_port(int *port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return fail(LTC_ERR_DISTRIBUTED, "cannot open a socket to check the port: %s", strerror(errno));
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
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
    getsockname(fd, (sockaddr *)&a, &len);
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

ltc_status launch_local(int *out_code, int *out_rank, int nproc, const char *const *argv, ltc_device_type type, int port,
                        double timeout_s) {
    if (type == LTC_DEVICE_CUDA) {
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
    }
    LTC_RETURN_IF_ERROR(pick_port(&port));

    // Each rank's environment: ours without launcher variables, plus the torchrun set.
    std::vector<std::string> base;
    for (char **e = environ; e && *e; e++)
        if (!is_launcher_variable(*e))
            base.emplace_back(*e);
    base.push_back("WORLD_SIZE=" + std::to_string(nproc));
    base.push_back("LOCAL_WORLD_SIZE=" + std::to_string(nproc));
    base.push_back("MASTER_ADDR=127.0.0.1");
    base.push_back("MASTER_PORT=" + std::to_string(port));
    base.push_back("NCCL_NVLS_ENABLE=0");
    base.push_back("LTC_LAUNCH_LOCAL=1");
    // As torchrun: N processes each running all-core OpenMP loops would fight over the cores.
    if (nproc > 1 && !getenv("OMP_NUM_THREADS"))
        base.push_back("OMP_NUM_THREADS=1");

    struct sigaction act {}, old_int{}, old_term{}, old_hup{};
    act.sa_handler = on_launcher_signal;
    sigemptyset(&act.sa_mask);
    g_signal_count = 0;
    sigaction(SIGINT, &act, &old_int);
    sigaction(SIGTERM, &act, &old_term);
    sigaction(SIGHUP, &act, &old_hup);

    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    sigset_t none, defaults;
    sigemptyset(&none);
    sigemptyset(&defaults);
    sigaddset(&defaults, SIGINT);
    sigaddset(&defaults, SIGTERM);
    sigaddset(&defaults, SIGHUP);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &defaults);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

    std::vector<pid_t> pids(nproc, 0);
    ltc_status status = LTC_OK;
    for (int r = 0; r < nproc; r++) {
        std::vector<std::string> env = base;
        env.push_back("RANK=" + std::to_string(r));
        env.push_back("LOCAL_RANK=" + std::to_string(r));
        std::vector<char *> envp;
        for (auto &s : env)
            envp.push_back(const_cast<char *>(s.c_str()));
        envp.push_back(nullptr);
        int err = posix_spawn(&pids[r], "/proc/self/exe", nullptr, &attr, const_cast<char *const *>(argv), envp.data());
        if (err != 0) {
            pids[r] = 0;
            status = fail(LTC_ERR_DISTRIBUTED, "cannot start rank %d of %d (/proc/self/exe): %s", r, nproc, strerror(err));
            signal_all(pids, SIGTERM);
            break;
        }
    }
    posix_spawnattr_destroy(&attr);

    // Reap. After the first failure (or a forwarded signal), the survivors get a grace period to exit on
    // their own, then SIGTERM, then SIGKILL.
    int first_code = 0, first_rank = -1, live = 0, seen_signals = 0;
    for (pid_t p : pids)
        live += p > 0;
    bool deadline_set = false;
    Clock::time_point term_at{}, kill_at{};
    bool termed = false, killed = false;
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
            if (code != 0 && first_rank < 0) {
                first_rank = r;
                first_code = code;
            }
        }
        if (live == 0)
            break;
        int sigs = g_signal_count;
        if (sigs != seen_signals) {
            seen_signals = sigs;
            signal_all(pids, g_last_signal);
        }
        if (!deadline_set && (first_rank >= 0 || seen_signals > 0)) {
            deadline_set = true;
            double grace = seen_signals > 0 ? 10.0 : timeout_s + 5.0;
            term_at = Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(grace));
            kill_at = term_at + std::chrono::seconds(5);
        }
        if (deadline_set && !termed && Clock::now() >= term_at) {
            termed = true;
            signal_all(pids, SIGTERM);
        }
        if (deadline_set && !killed && Clock::now() >= kill_at) {
            killed = true;
            signal_all(pids, SIGKILL);
        }
        usleep(20000);
    }
    sigaction(SIGINT, &old_int, nullptr);
    sigaction(SIGTERM, &old_term, nullptr);
    sigaction(SIGHUP, &old_hup, nullptr);
    if (status != LTC_OK)
        return status;
    *out_code = first_code;
    *out_rank = first_rank;
    return LTC_OK;
}

// ------------------------------------------------------------------------------------------------
// Process group
// ------------------------------------------------------------------------------------------------

std::string what_of(const std::exception &e) {
    if (auto c = dynamic_cast<const c10::Error *>(&e))
        return c->what_without_backtrace();
    return e.what();
}

// Every group still open, for the exit hook.
std::mutex g_live_mu;
std::vector<ltc_dist *> g_live;
std::once_flag g_hook_once;

void exit_hook(int status, void *) {
    std::vector<ltc_dist *> open;
    {
        std::lock_guard<std::mutex> lk(g_live_mu);
        open = g_live;
    }
    if (open.empty())
        return;
    for (ltc_dist *d : open) {
        try {
            d->wd_store->set("hb/" + std::to_string(d->env.rank), bytes_of("exit " + std::to_string(status)));
        } catch (...) {
        }
    }
    fflush(nullptr);
    _exit(status);
}

void quiet_and_prepare() {
    // c10d logs every retry and failure with a C++ backtrace; our callers get the message instead.
    if (!getenv("TORCH_CPP_LOG_LEVEL") && FLAGS_caffe2_log_level < 3)
        FLAGS_caffe2_log_level = 3;
    setenv("NCCL_NVLS_ENABLE", "0", 0);
}

std::string store_lost_text(const ltc_dist *d, const std::string &err) {
    char buf[768];
    if (d->env.external_store || d->hosts_store)
        snprintf(buf, sizeof buf, "lost the connection to the rendezvous store at %s:%d, which %s hosts (%s)",
                 d->env.master_addr, d->env.master_port, d->hosts_store ? "this rank" : "the launcher", err.c_str());
    else
        snprintf(buf, sizeof buf, "rank 0 is lost: the connection to the rendezvous store at %s:%d, which rank 0 hosts, broke (%s)",
                 d->env.master_addr, d->env.master_port, err.c_str());
    return buf;
}

// Marks the group failed (first failure wins) and aborts the communicator. Called with d->mu held.
void declare_failure(ltc_dist *d, std::unique_lock<std::mutex> &lk, ltc_status status, const std::string &msg) {
    if (d->failed.load())
        return;
    d->fail_status = status;
    d->fail_message = msg;
    d->failed_at = Clock::now();
    d->failed.store(true);
    // Aborting NCCL can itself take long: do it on the side, so that this thread (the watchdog) keeps its
    // last-resort timer, and keep the backend alive until it is done.
    std::shared_ptr<ltc::dist::Backend> b = d->backend;
    lk.unlock();
    if (b)
        std::thread([b] { b->abort(); }).detach();
    lk.lock();
}

// What a peer's heartbeat says; "" while it is alive and beating.
std::string peer_verdict(const ltc_dist *d, int r, double *stale_s) {
    const std::string &v = d->peer_value[r];
    *stale_s = seconds_since(d->peer_changed[r]);
    if (v.rfind("exit ", 0) == 0 && v != "exit 0")
        return "its process exited with status " + v.substr(5);
    if (v == "failed")
        return "it failed and left the group (its own output says why)";
    return "";
}

void watchdog_main(ltc_dist *d) {
    const int world = d->env.world_size, me = d->env.rank;
    std::vector<std::string> keys;
    std::vector<int> ranks;
    for (int r = 0; r < world; r++)
        if (r != me) {
            keys.push_back("hb/" + std::to_string(r));
            ranks.push_back(r);
        }
    const double timeout_s = d->timeout.count() / 1000.0;
    const double grace_s = timeout_s + 10.0;
    int64_t n = 0;
    std::unique_lock<std::mutex> lk(d->mu);
    while (!d->stop) {
        if (!d->failed.load()) {
            lk.unlock();
            std::vector<std::vector<uint8_t>> values;
            std::string err;
            try {
                d->wd_store->set("hb/" + std::to_string(me), bytes_of(std::to_string(++n)));
                if (!keys.empty())
                    values = d->wd_store->multiGet(keys);
            } catch (const std::exception &e) {
                err = what_of(e);
            } catch (...) {
                err = "unknown error";
            }
            lk.lock();
            if (d->stop)
                break;
            if (!err.empty()) {
                declare_failure(d, lk, LTC_ERR_DISTRIBUTED, store_lost_text(d, err));
            } else {
                auto now = Clock::now();
                for (size_t i = 0; i < ranks.size() && !d->failed.load(); i++) {
                    int r = ranks[i];
                    std::string v = text_of(values[i]);
                    if (v != d->peer_value[r]) {
                        d->peer_value[r] = v;
                        d->peer_changed[r] = now;
                    }
                    double stale = 0;
                    std::string verdict = peer_verdict(d, r, &stale);
                    if (verdict.empty() && v != "left" && v != "exit 0" && stale > timeout_s) {
                        char buf[256];
                        snprintf(buf, sizeof buf, "its heartbeat stopped %.1f s ago (timeout %.1f s): the process died or is frozen",
                                 stale, timeout_s);
                        verdict = buf;
                    }
                    if (!verdict.empty())
                        declare_failure(d, lk, LTC_ERR_DISTRIBUTED, "rank " + std::to_string(r) + " is lost: " + verdict);
                }
            }
        } else if (!d->observed.load() && seconds_since(d->failed_at) > grace_s) {
            // The owner's thread is stuck in a call the abort did not release: end the process rather than hang.
            fprintf(stderr, "ltc: %s\nltc: rank %d: the calling thread did not return within %.0f s of the abort; exiting\n",
                    d->fail_message.c_str(), me, grace_s);
            fflush(nullptr);
            _exit(1);
        }
        d->cv.wait_for(lk, d->beat);
    }
}

void stop_watchdog(ltc_dist *d) {
    {
        std::lock_guard<std::mutex> lk(d->mu);
        d->stop = true;
    }
    d->cv.notify_all();
    if (d->watchdog.joinable())
        d->watchdog.join();
}

void unregister(ltc_dist *d) {
    std::lock_guard<std::mutex> lk(g_live_mu);
    for (auto it = g_live.begin(); it != g_live.end(); ++it)
        if (*it == d) {
            g_live.erase(it);
            break;
        }
}

// Tears down a group that never finished joining, or one being freed.
void destroy(ltc_dist *d, bool graceful) {
    unregister(d);
    stop_watchdog(d);
    const std::string me = std::to_string(d->env.rank);
    graceful = graceful && !d->failed.load();
    if (d->backend) {
        if (graceful)
            d->backend->shutdown();
        else
            d->backend->abort();
    }
    if (d->store) {
        try {
            if (graceful) {
                d->store->set("hb/" + me, bytes_of("left"));
                d->store->set("left/" + me, bytes_of("1"));
            } else if (d->wd_store) {
                d->wd_store->set("hb/" + me, bytes_of("failed"));
            }
        } catch (...) {
            graceful = false;
        }
    }
    // The store lives in this process: keep it up until everyone has left, so no rank loses it mid-call.
    if (graceful && d->hosts_store && d->env.world_size > 1) {
        std::vector<std::string> keys;
        for (int r = 0; r < d->env.world_size; r++)
            keys.push_back("left/" + std::to_string(r));
        try {
            d->store->wait(keys, d->timeout);
        } catch (...) {
        }
    }
    delete d;
}

// Connects to host:port with plain sockets until the deadline, so that an unreachable store fails on
// time and with the address in the message (TCPStore's own retries overshoot their timeout).
ltc_status reach(const ltc_dist_env &env, Clock::time_point deadline, double timeout_s) {
    char port[16];
    snprintf(port, sizeof port, "%d", env.master_port);
    std::string last = "no answer";
    while (true) {
        addrinfo hints{}, *res = nullptr;
        hints.ai_family = AF_UNSPEC;
        hints.ai_socktype = SOCK_STREAM;
        int gai = getaddrinfo(env.master_addr, port, &hints, &res);
        if (gai != 0 && gai != EAI_AGAIN)
            return fail(LTC_ERR_DISTRIBUTED, "rank %d cannot resolve MASTER_ADDR \"%s\": %s", env.rank, env.master_addr,
                        gai_strerror(gai));
        for (addrinfo *a = res; a; a = a->ai_next) {
            int fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
            if (fd < 0)
                continue;
            int rc = connect(fd, a->ai_addr, a->ai_addrlen);
            if (rc != 0 && errno == EINPROGRESS) {
                auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now()).count();
                pollfd p{fd, POLLOUT, 0};
                rc = poll(&p, 1, (int)std::max<long long>(1, std::min<long long>(left, 1000)));
                int err = 0;
                socklen_t len = sizeof err;
                if (rc == 1 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0)
                    rc = 0;
                else {
                    errno = rc == 0 ? ETIMEDOUT : err;
                    rc = -1;
                }
            }
            if (rc == 0) {
                close(fd);
                freeaddrinfo(res);
                return LTC_OK;
            }
            last = strerror(errno);
            close(fd);
        }
        if (res)
            freeaddrinfo(res);
        if (Clock::now() >= deadline)
            return fail(LTC_ERR_TIMEOUT,
                        "rank %d of %d cannot reach the rendezvous store at %s:%d (MASTER_ADDR:MASTER_PORT) within the "
                        "timeout of %.1f s: %s; is rank 0 running, and is the address right?",
                        env.rank, env.world_size, env.master_addr, env.master_port, timeout_s, last.c_str());
        usleep(100000);
    }
}

milliseconds left_until(Clock::time_point deadline) {
    auto ms = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
    return std::max(ms, milliseconds(100));
}

ltc_status open_store(ltc_dist *d, Clock::time_point deadline, double timeout_s) {
    const ltc_dist_env &env = d->env;
    c10d::TCPStoreOptions o;
    o.waitWorkers = false;
    o.timeout = d->timeout;
    if (d->hosts_store) {
        o.isServer = true;
        o.port = (uint16_t)env.master_port;
        try {
            d->tcp = c10::make_intrusive<c10d::TCPStore>(env.master_addr, o);
        } catch (const c10::Error &e) {
            std::string m = e.what_without_backtrace();
            if (m.find("EADDRINUSE") != std::string::npos || m.find("ddress already in use") != std::string::npos)
                return fail(LTC_ERR_DISTRIBUTED,
                            "rank 0 cannot host the rendezvous store on port %d (MASTER_PORT): the port is already in "
                            "use; pick a free port",
                            env.master_port);
            return fail(LTC_ERR_DISTRIBUTED, "rank 0 cannot host the rendezvous store on port %d (MASTER_PORT): %s",
                        env.master_port, m.c_str());
        }
        d->env.master_port = d->tcp->getPort();
    } else {
        LTC_RETURN_IF_ERROR(reach(env, deadline, timeout_s));
        o.port = (uint16_t)env.master_port;
        o.timeout = left_until(deadline);
        try {
            d->tcp = c10::make_intrusive<c10d::TCPStore>(env.master_addr, o);
        } catch (const c10::Error &e) {
            return fail(LTC_ERR_TIMEOUT, "rank %d cannot connect to the rendezvous store at %s:%d (MASTER_ADDR:MASTER_PORT): %s",
                        env.rank, env.master_addr, env.master_port, e.what_without_backtrace());
        }
    }
    std::string prefix = "ltc/" + std::to_string(env.restart);
    d->store = c10::make_intrusive<c10d::PrefixStore>(prefix, d->tcp);
    d->tcp->setTimeout(d->timeout);
    return LTC_OK;
}

// Every rank announces itself and waits for the others; a rank missing at the deadline is named.
ltc_status join(ltc_dist *d, Clock::time_point deadline, double timeout_s) {
    const ltc_dist_env &env = d->env;
    const int world = env.world_size;
    char host[128] = "?";
    gethostname(host, sizeof host - 1);
    char me[256];
    snprintf(me, sizeof me, "world=%d pid=%d device=%s host=%s", world, (int)getpid(), d->device.str().c_str(), host);
    d->store->set("hb/" + std::to_string(env.rank), bytes_of("0"));
    d->store->set("join/" + std::to_string(env.rank), bytes_of(me));
    std::vector<std::string> keys;
    for (int r = 0; r < world; r++)
        keys.push_back("join/" + std::to_string(r));
    try {
        d->store->wait(keys, left_until(deadline));
    } catch (const c10::DistStoreError &) {
        std::string missing;
        int n = 0;
        for (int r = 0; r < world; r++)
            if (!d->store->check({keys[r]})) {
                missing += (n++ ? ", " : "") + std::to_string(r);
            }
        return fail(LTC_ERR_TIMEOUT, "rendezvous at %s:%d timed out after %.1f s: rank%s %s of %d did not join (%d joined)",
                    env.master_addr, env.master_port, timeout_s, n == 1 ? "" : "s", missing.c_str(), world, world - n);
    }
    auto values = d->store->multiGet(keys);
    std::vector<std::string> where(world);  // "device=... host=..."
    for (int r = 0; r < world; r++) {
        std::string v = text_of(values[r]);
        int w = -1;
        sscanf(v.c_str(), "world=%d", &w);
        if (w != world)
            return fail(LTC_ERR_DISTRIBUTED, "rank %d joined with a world size of %d but rank %d has %d (%s): the ranks disagree on WORLD_SIZE",
                        r, w, env.rank, world, v.c_str());
        auto dev = v.find("device="), host = v.find(" host=");
        if (dev != std::string::npos && host != std::string::npos && host > dev)
            where[r] = v.substr(dev + 7, host - dev - 7) + " on host " + v.substr(host + 6);
    }
    // NCCL needs one GPU per rank: two ranks on one GPU of one host would fail later, and less clearly.
    for (int r = 0; r < world; r++)
        for (int q = r + 1; q < world && where[r].rfind("cuda", 0) == 0; q++)
            if (where[q] == where[r])
                return fail(LTC_ERR_DISTRIBUTED, "ranks %d and %d both use %s: NCCL needs one GPU per rank (usually cuda:<local rank>)",
                            r, q, where[r].c_str());
    return LTC_OK;
}

std::string describe_missing(ltc_dist *d, const Failure &f, ltc_status *status) {
    std::lock_guard<std::mutex> lk(d->mu);
    std::string out;
    bool lost = false;
    for (int r : f.missing) {
        if (r < 0 || r >= d->env.world_size || r == d->env.rank)
            continue;
        double stale = 0;
        std::string verdict = peer_verdict(d, r, &stale);
        const std::string &v = d->peer_value[r];
        const double beat_s = d->beat.count() / 1000.0;
        char buf[256];
        if (verdict.empty() && (v == "left" || v == "exit 0"))
            verdict = "it has already left the group (it made fewer collective calls than this rank)";
        if (verdict.empty() && stale > 3 * beat_s + 0.5) {
            snprintf(buf, sizeof buf, "its heartbeat stopped %.1f s ago: the process died or is frozen", stale);
            verdict = buf;
        }
        if (!verdict.empty()) {
            lost = true;
            out += (out.empty() ? "" : "; ") + ("rank " + std::to_string(r) + " is lost: " + verdict);
        }
    }
    if (!lost) {
        *status = f.status;
        return f.message + " (every rank's heartbeat is alive: a rank is stuck, or the ranks are not making the same calls)";
    }
    *status = LTC_ERR_DISTRIBUTED;
    return out + " (" + f.message + ")";
}

ltc_status report(ltc_dist *d) {
    std::lock_guard<std::mutex> lk(d->mu);
    d->observed.store(true);
    return fail(d->fail_status, "%s", d->fail_message.c_str());
}

ltc_status record(ltc_dist *d, ltc_status status, const std::string &msg) {
    {
        std::unique_lock<std::mutex> lk(d->mu);
        declare_failure(d, lk, status, msg);
    }
    return report(d);
}

// ------------------------------------------------------------------------------------------------
// Collectives through the store
// ------------------------------------------------------------------------------------------------

class StoreBackend : public ltc::dist::Backend {
  public:
    StoreBackend(c10::intrusive_ptr<c10d::Store> store, int rank, int world, milliseconds timeout, milliseconds slice)
        : store_(std::move(store)), rank_(rank), world_(world), timeout_(timeout), slice_(slice) {}

    const char *name() const override { return "store"; }

    void allreduce(at::Tensor &t, ltc::dist::Op op, const char *what) override {
        if (world_ == 1)
            return;
        auto parts = exchange(t, true, what);
        at::Tensor acc = view(parts[0], t).clone();
        for (int r = 1; r < world_; r++) {
            at::Tensor p = view(parts[r], t);
            if (op == ltc::dist::Op::max)
                acc = at::maximum(acc, p);
            else
                acc.add_(p);
        }
        if (op == ltc::dist::Op::avg)
            acc.div_(world_);
        at::NoGradGuard no_grad;
        t.copy_(acc);
    }

    void broadcast(at::Tensor &t, int root, const char *what) override {
        if (world_ == 1)
            return;
        auto parts = exchange(t, rank_ == root, what);
        at::NoGradGuard no_grad;
        t.copy_(view(parts[root], t));
    }

    void allgather(at::Tensor &out, const at::Tensor &in, const char *what) override {
        const int64_t n = in.numel();
        if (world_ == 1) {
            out.copy_(in.reshape(-1));
            return;
        }
        auto parts = exchange(in, true, what);
        for (int r = 0; r < world_; r++)
            out.narrow(0, r * n, n).copy_(view(parts[r], in).reshape(-1));
    }

    void abort() noexcept override { aborted_.store(true); }
    void shutdown() noexcept override {}

  private:
    static at::Tensor view(std::vector<uint8_t> &bytes, const at::Tensor &like) {
        TORCH_CHECK(bytes.size() == like.nbytes(), "store collective: got ", bytes.size(), " bytes, expected ",
                    like.nbytes());
        return at::from_blob(bytes.data(), like.sizes(), at::TensorOptions().dtype(like.scalar_type()));
    }

    // Publishes this rank's bytes under op/<seq>/<rank> (empty when !send), waits for every rank's,
    // and returns them. After op s completes, op s-1's key is deleted: every rank has read it by then.
    std::vector<std::vector<uint8_t>> exchange(const at::Tensor &t, bool send, const char *what) {
        const uint64_t s = seq_++;
        const std::string base = "op/" + std::to_string(s) + "/";
        std::vector<uint8_t> mine;
        if (send) {
            at::Tensor c = t.detach().contiguous();
            mine.assign((const uint8_t *)c.data_ptr(), (const uint8_t *)c.data_ptr() + c.nbytes());
        }
        store_->set(base + std::to_string(rank_), mine);
        std::vector<std::string> keys;
        for (int r = 0; r < world_; r++)
            keys.push_back(base + std::to_string(r));
        auto start = Clock::now();
        while (true) {
            if (aborted_.load())
                throw Failure{LTC_ERR_DISTRIBUTED, "aborted", {}};
            try {
                store_->wait(keys, slice_);
                break;
            } catch (const c10::DistStoreError &) {
                if (Clock::now() - start < timeout_)
                    continue;
            }
            Failure f{LTC_ERR_TIMEOUT, "", {}};
            for (int r = 0; r < world_; r++)
                if (!store_->check({keys[r]}))
                    f.missing.push_back(r);
            std::string who;
            for (int r : f.missing)
                who += (who.empty() ? "" : ", ") + std::to_string(r);
            char buf[256];
            snprintf(buf, sizeof buf, "%s #%llu timed out after %.1f s waiting for rank%s %s", what, (unsigned long long)s,
                     seconds_since(start), f.missing.size() == 1 ? "" : "s", who.c_str());
            f.message = buf;
            throw f;
        }
        auto parts = store_->multiGet(keys);
        if (s > 0)
            store_->deleteKey("op/" + std::to_string(s - 1) + "/" + std::to_string(rank_));
        return parts;
    }

    c10::intrusive_ptr<c10d::Store> store_;
    int rank_, world_;
    milliseconds timeout_, slice_;
    uint64_t seq_ = 0;
    std::atomic<bool> aborted_{false};
};

// The module's parameters, checked to live on the group's device.
ltc_status group_params(std::vector<at::Tensor> *out, const ltc_dist *d, const ltc_linear *linear, const char *fn) {
    *out = linear->m->parameters();
    for (const auto &p : *out)
        if (p.device() != d->device)
            return fail(LTC_ERR_INVALID_ARGUMENT, "%s: the module is on %s but the group is on %s: move it with ltc_linear_to first",
                        fn, p.device().str().c_str(), d->device.str().c_str());
    return LTC_OK;
}

at::Tensor flatten(const std::vector<at::Tensor> &params) {
    std::vector<at::Tensor> parts;
    for (const auto &p : params)
        parts.push_back(p.detach().reshape(-1));
    return at::cat(parts);
}

}  // namespace

namespace ltc::dist {

std::unique_ptr<Backend> make_store_backend(c10::intrusive_ptr<c10d::Store> store, int rank, int world,
                                            milliseconds timeout, milliseconds slice) {
    return std::make_unique<StoreBackend>(std::move(store), rank, world, timeout, slice);
}

void average_gradients(ltc_dist *d, const std::vector<at::Tensor> &params) {
    at::NoGradGuard no_grad;
    int64_t total = 0;
    for (const auto &p : params)
        total += p.numel();
    at::Tensor &flat = d->flat;
    if (!flat.defined() || flat.numel() != total || flat.device() != params[0].device() ||
        flat.scalar_type() != params[0].scalar_type())
        flat = at::empty({total}, params[0].options());
    int64_t off = 0;
    for (const auto &p : params) {
        at::Tensor slot = flat.narrow(0, off, p.numel());
        const at::Tensor &g = p.grad();
        if (g.data_ptr() != slot.data_ptr())
            slot.copy_(g.reshape(-1));
        off += p.numel();
    }
    d->backend->allreduce(flat, Op::avg, "all-reduce of the gradients");
    off = 0;
    for (const auto &p : params) {
        // The gradients now live in the flat buffer (DDP's gradient_as_bucket_view): no copy back. They
        // alias its storage without being autograd views, which zero_grad could not drop.
        at::Tensor g = at::empty({0}, flat.options());
        g.set_(flat.storage(), flat.storage_offset() + off, p.sizes(), p.strides());
        const_cast<at::Tensor &>(p).mutable_grad() = g;
        off += p.numel();
    }
}

ltc_status run_op(ltc_dist *d, const char *what, const std::function<void()> &f) {
    if (d->failed.load())
        return report(d);
    try {
        f();
    } catch (const Failure &fl) {
        if (d->failed.load())
            return report(d);
        ltc_status st = fl.status;
        std::string msg = describe_missing(d, fl, &st);
        return record(d, st, msg);
    } catch (const c10::DistNetworkError &e) {
        if (d->failed.load())
            return report(d);
        return record(d, LTC_ERR_DISTRIBUTED, store_lost_text(d, e.what_without_backtrace()));
    } catch (...) {
        if (d->failed.load())
            return report(d);
        ltc_status st = ltc::handle_exception();
        return record(d, st, std::string(what) + " failed on rank " + std::to_string(d->env.rank) + ": " + ltc_last_error());
    }
    if (d->failed.load())
        return report(d);
    return LTC_OK;
}

}  // namespace ltc::dist

extern "C" {

const char *ltc_launcher_name(ltc_launcher launcher) {
    switch (ltc::enum_int(launcher)) {
    case LTC_LAUNCHER_NONE: return "none";
    case LTC_LAUNCHER_TORCHRUN: return "torchrun";
    case LTC_LAUNCHER_SLURM: return "slurm";
    case LTC_LAUNCHER_MPI: return "mpirun";
    case LTC_LAUNCHER_LOCAL: return "ltc_launch_local";
    }
    return "unknown";
}

ltc_status ltc_dist_env_from(ltc_dist_env *out, const char *const *envp) {
    LTC_CHECK_NOT_NULL(out);
    LTC_TRY {
        return env_from(out, envp ? envp : environ);
    }
    LTC_CATCH
}

ltc_status ltc_launch_local(int *out_exit_code, int *out_failed_rank, int nproc, const char *const *argv,
                            ltc_device_type device_type, int port, double timeout_s) {
    LTC_CHECK_NOT_NULL(out_exit_code);
    LTC_CHECK_NOT_NULL(out_failed_rank);
    LTC_CHECK_NOT_NULL(argv);
    if (!argv[0])
        return fail(LTC_ERR_INVALID_ARGUMENT, "ltc_launch_local: argv is empty: pass the program's argv (argv[0] first, NULL-terminated)");
    if (nproc < 1)
        return fail(LTC_ERR_INVALID_ARGUMENT, "ltc_launch_local: nproc %d is not valid: use 1 or more", nproc);
    if (ltc::enum_int(device_type) != LTC_DEVICE_CPU && ltc::enum_int(device_type) != LTC_DEVICE_CUDA)
        return fail(LTC_ERR_INVALID_ARGUMENT, "ltc_launch_local: device type %d is not valid: use LTC_DEVICE_CPU or LTC_DEVICE_CUDA",
                    ltc::enum_int(device_type));
    if (port < 0 || port > 65535)
        return fail(LTC_ERR_INVALID_ARGUMENT, "ltc_launch_local: port %d is not valid: use 1 to 65535, or 0 for a free port", port);
    if (!(timeout_s > 0) || !std::isfinite(timeout_s))
        return fail(LTC_ERR_INVALID_ARGUMENT, "ltc_launch_local: timeout %g s is not valid: use a finite number > 0", timeout_s);
    LTC_TRY {
        return launch_local(out_exit_code, out_failed_rank, nproc, argv, device_type, port, timeout_s);
    }
    LTC_CATCH
}

ltc_status ltc_dist_init(ltc_dist **out, const ltc_dist_env *env, ltc_device device, double timeout_s) {
    LTC_CHECK_NOT_NULL(out);
    *out = nullptr;
    LTC_CHECK_NOT_NULL(env);
    int launcher = ltc::enum_int(env->launcher);  // any int may arrive from C
    if (launcher < LTC_LAUNCHER_NONE || launcher > LTC_LAUNCHER_LOCAL)
        return fail(LTC_ERR_INVALID_ARGUMENT, "ltc_dist_init: launcher %d is not valid: fill the env with ltc_dist_env_from",
                    launcher);
    if (env->world_size < 1)
        return fail(LTC_ERR_INVALID_ARGUMENT, "ltc_dist_init: world size %d is not valid: use 1 or more", env->world_size);
    if (env->rank < 0 || env->rank >= env->world_size)
        return fail(LTC_ERR_INVALID_ARGUMENT, "ltc_dist_init: rank %d is not valid with a world size of %d: use 0 to %d",
                    env->rank, env->world_size, env->world_size - 1);
    if (env->local_rank < 0)
        return fail(LTC_ERR_INVALID_ARGUMENT, "ltc_dist_init: local rank %d is not valid: use 0 or more", env->local_rank);
    if (memchr(env->master_addr, '\0', LTC_DIST_ADDR_MAX) == nullptr || env->master_addr[0] == '\0')
        return fail(LTC_ERR_INVALID_ARGUMENT, "ltc_dist_init: master_addr is empty or not NUL-terminated: use a host name or address");
    bool hosts = env->rank == 0 && !env->external_store;
    if (env->master_port < 0 || env->master_port > 65535 || (env->master_port == 0 && !(hosts && env->world_size == 1)))
        return fail(LTC_ERR_INVALID_ARGUMENT,
                    "ltc_dist_init: master port %d is not valid: use 1 to 65535 (0, any free port, only for a world size of 1)",
                    env->master_port);
    if (!(timeout_s > 0) || !std::isfinite(timeout_s) || timeout_s > 1e7)
        return fail(LTC_ERR_INVALID_ARGUMENT, "ltc_dist_init: timeout %g s is not valid: use a number of seconds > 0 and at most 1e7", timeout_s);
    LTC_TRY {
        c10::Device dev(c10::kCPU);
        if (ltc::enum_int(device.type) == LTC_DEVICE_CUDA && device.index < 0)
            return fail(LTC_ERR_INVALID_ARGUMENT,
                        "ltc_dist_init: device cuda has no index: use cuda:N, one GPU per rank (usually cuda:<local rank>, here cuda:%d)",
                        env->local_rank);
        if (ltc::enum_int(device.type) == LTC_DEVICE_CUDA && !ltc::dist::have_nccl())
            return fail(LTC_ERR_UNSUPPORTED,
                        "ltc_dist_init: this libltc was built without NCCL (its LibTorch had no CUDA at build time): use device cpu");
        LTC_RETURN_IF_ERROR(ltc::to_c10_device(device, &dev));
        quiet_and_prepare();

        const auto start = Clock::now();
        const auto deadline = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(timeout_s));
        auto *d = new ltc_dist();
        d->env = *env;
        d->device = dev;
        d->timeout = milliseconds((long long)std::ceil(timeout_s * 1000));
        d->beat = std::clamp(milliseconds((long long)(timeout_s * 100)), milliseconds(50), milliseconds(2000));
        d->hosts_store = hosts;
        d->peer_value.assign(env->world_size, "0");
        d->peer_changed.assign(env->world_size, start);

        ltc_status st = LTC_OK;
        try {
            st = open_store(d, deadline, timeout_s);
            if (st == LTC_OK)
                st = join(d, deadline, timeout_s);
            if (st == LTC_OK) {
                d->wd_tcp = c10::static_intrusive_pointer_cast<c10d::TCPStore>(d->tcp->clone());
                d->wd_store = c10::make_intrusive<c10d::PrefixStore>("ltc/" + std::to_string(env->restart), d->wd_tcp);
                auto now = Clock::now();
                for (auto &t : d->peer_changed)
                    t = now;
                d->watchdog = std::thread(watchdog_main, d);
                {
                    std::lock_guard<std::mutex> lk(g_live_mu);
                    g_live.push_back(d);
                }
                std::call_once(g_hook_once, [] { on_exit(exit_hook, nullptr); });
                std::unique_ptr<ltc::dist::Backend> b;
                if (dev.is_cuda()) {
                    milliseconds pg_timeout = d->timeout + std::max(d->timeout, milliseconds(30000));
                    b = ltc::dist::make_nccl_backend(c10::make_intrusive<c10d::PrefixStore>("nccl", d->store),
                                                     env->rank, env->world_size, dev, pg_timeout);
                } else {
                    b = ltc::dist::make_store_backend(d->store, env->rank, env->world_size, d->timeout, d->beat);
                }
                std::lock_guard<std::mutex> lk(d->mu);
                d->backend = std::move(b);
            }
        } catch (...) {
            st = ltc::handle_exception();
            std::string m = ltc_last_error();
            st = fail(st, "rank %d: joining the group at %s:%d failed: %s", env->rank, env->master_addr, env->master_port,
                      m.c_str());
        }
        if (st == LTC_OK && d->failed.load())
            st = report(d);
        if (st != LTC_OK) {
            std::string m = ltc_last_error();
            destroy(d, false);
            return fail(st, "%s", m.c_str());
        }
        *out = d;
        return LTC_OK;
    }
    LTC_CATCH
}

void ltc_dist_free(ltc_dist *dist) {
    if (!dist)
        return;
    try {
        destroy(dist, true);
    } catch (...) {
    }
}

int ltc_dist_rank(const ltc_dist *dist) {
    if (!dist) {
        fail(LTC_ERR_INVALID_ARGUMENT, "ltc_dist_rank: argument 'dist' is NULL");
        return -1;
    }
    return dist->env.rank;
}

int ltc_dist_world_size(const ltc_dist *dist) {
    if (!dist) {
        fail(LTC_ERR_INVALID_ARGUMENT, "ltc_dist_world_size: argument 'dist' is NULL");
        return -1;
    }
    return dist->env.world_size;
}

ltc_status ltc_dist_broadcast_parameters(ltc_dist *dist, ltc_linear *linear, int root) {
    LTC_CHECK_NOT_NULL(dist);
    LTC_CHECK_NOT_NULL(linear);
    if (root < 0 || root >= dist->env.world_size)
        return fail(LTC_ERR_INVALID_ARGUMENT, "ltc_dist_broadcast_parameters: root %d is not valid: use 0 to %d", root,
                    dist->env.world_size - 1);
    LTC_TRY {
        std::vector<at::Tensor> params;
        LTC_RETURN_IF_ERROR(group_params(&params, dist, linear, "ltc_dist_broadcast_parameters"));
        return ltc::dist::run_op(dist, "broadcast of the parameters", [&] {
            at::NoGradGuard no_grad;
            at::Tensor flat = flatten(params);
            dist->backend->broadcast(flat, root, "broadcast of the parameters");
            int64_t off = 0;
            for (auto &p : params) {
                p.copy_(flat.narrow(0, off, p.numel()).view_as(p));
                off += p.numel();
            }
        });
    }
    LTC_CATCH
}

ltc_status ltc_dist_average_gradients(ltc_dist *dist, ltc_linear *linear) {
    LTC_CHECK_NOT_NULL(dist);
    LTC_CHECK_NOT_NULL(linear);
    LTC_TRY {
        std::vector<at::Tensor> params;
        LTC_RETURN_IF_ERROR(group_params(&params, dist, linear, "ltc_dist_average_gradients"));
        for (auto &p : params)
            if (!p.grad().defined())
                return fail(LTC_ERR_INVALID_ARGUMENT,
                            "ltc_dist_average_gradients: a parameter has no gradient yet: call ltc_tensor_backward on the loss first");
        return ltc::dist::run_op(dist, "all-reduce of the gradients", [&] { ltc::dist::average_gradients(dist, params); });
    }
    LTC_CATCH
}

ltc_status ltc_dist_check_replicas(ltc_dist *dist, const ltc_linear *linear) {
    LTC_CHECK_NOT_NULL(dist);
    LTC_CHECK_NOT_NULL(linear);
    LTC_TRY {
        std::vector<at::Tensor> params;
        LTC_RETURN_IF_ERROR(group_params(&params, dist, linear, "ltc_dist_check_replicas"));
        const int world = dist->env.world_size;
        std::vector<double> sums(2 * (size_t)world);
        ltc_status st = ltc::dist::run_op(dist, "replica check", [&] {
            at::NoGradGuard no_grad;
            at::Tensor flat = flatten(params).to(at::kDouble);
            // Two numbers: the plain sum, and a sum weighted by position (catches swapped values too).
            at::Tensor ramp = at::arange(1, flat.numel() + 1, flat.options()).div_((double)flat.numel());
            at::Tensor local = at::stack({flat.sum(), (flat * ramp).sum()});
            at::Tensor all = at::empty({2 * (int64_t)world}, local.options());
            dist->backend->allgather(all, local, "replica check");
            at::Tensor host = all.cpu();
            memcpy(sums.data(), host.data_ptr<double>(), sums.size() * sizeof(double));
        });
        if (st != LTC_OK)
            return st;
        std::string bad;
        for (int r = 1; r < world; r++)
            if (memcmp(&sums[2 * r], &sums[0], 2 * sizeof(double)) != 0) {
                char buf[160];
                snprintf(buf, sizeof buf, "%srank %d (%.17g, %.17g)", bad.empty() ? "" : ", ", r, sums[2 * r], sums[2 * r + 1]);
                bad += buf;
            }
        if (!bad.empty())
            return fail(LTC_ERR_DISTRIBUTED,
                        "replicas diverged: the parameters of %s differ from rank 0's (%.17g, %.17g); every rank must start "
                        "from the same parameters and apply the same averaged gradients",
                        bad.c_str(), sums[0], sums[1]);
        return LTC_OK;
    }
    LTC_CATCH
}

ltc_status ltc_dist_mean(double *out, ltc_dist *dist, double value) {
    LTC_CHECK_NOT_NULL(out);
    LTC_CHECK_NOT_NULL(dist);
    LTC_TRY {
        double result = value;
        ltc_status st = ltc::dist::run_op(dist, "mean", [&] {
            at::Tensor t = at::full({1}, value, at::TensorOptions().dtype(at::kDouble).device(dist->device));
            dist->backend->allreduce(t, ltc::dist::Op::avg, "mean");
            result = t.item<double>();
        });
        if (st == LTC_OK)
            *out = result;
        return st;
    }
    LTC_CATCH
}

}  // extern "C"
