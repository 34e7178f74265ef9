// The process group: rendezvous (world size, device type and GPU identity checked across ranks), the
// heartbeat watchdog that names a lost rank (with dist_live.cpp's connections: a death at once, a
// silence at the timeout), the group's failure state, and teardown.
#include "dist_internal.hpp"

#include <c10/util/Exception.h>
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>

#include <algorithm>
#include <cctype>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <map>
#include <sys/socket.h>
#include <unistd.h>

using ltc::fail;
using std::chrono::milliseconds;

namespace ltc::dist {

namespace {

// What a rank says about itself at the rendezvous: "world=2 pid=7 device=cuda:0 gpu=GPU-... host=n1".
struct Member {
    int world = -1;
    std::string device, gpu, host;
    std::string where() const {  // "cuda:0 (GPU-...) on host n1"
        return device + (gpu.empty() ? "" : " (" + gpu + ")") + " on host " + host;
    }
};

Member parse_member(const std::string &v) {
    Member m;
    for_each_field(v, ' ', [&](const std::string &k, const std::string &val) {
        if (k == "world")
            m.world = atoi(val.c_str());
        else if (k == "device")
            m.device = val;
        else if (k == "gpu")
            m.gpu = val;
        else if (k == "host")
            m.host = val;
    });
    return m;
}

// The device and GPU identity this rank reports. The test seam LTC_TEST_GPU_IDENTITY overrides them:
// a space-separated list, item r for rank r, each "cpu" or "cuda:N/ID" (e.g. "cuda:0/GPU-aa cuda:0/GPU-bb"),
// so that CPU ranks can exercise the checks below; the communicator still follows the real device.
void reported_identity(const ltc_dist *d, std::string *device, std::string *gpu) {
    *device = d->device.str();
    *gpu = d->device.is_cuda() ? gpu_identity(d->device.index()) : "";
    const char *test = ltc::test_seam("LTC_TEST_GPU_IDENTITY");
    if (!test)
        return;
    std::vector<std::string> items;
    std::string cur;
    for (const char *c = test;; c++) {
        if (*c == ' ' || *c == '\0') {
            if (!cur.empty())
                items.push_back(cur);
            cur.clear();
            if (!*c)
                break;
        } else {
            cur += *c;
        }
    }
    if (d->env.rank >= (int)items.size())
        return;
    const std::string &it = items[d->env.rank];
    size_t slash = it.find('/');
    *device = it.substr(0, slash);
    *gpu = slash == std::string::npos ? "" : it.substr(slash + 1);
}

// "" when the members agree on the device type and no two share a GPU, else why not.
std::string check_devices(const std::vector<Member> &m) {
    const int world = (int)m.size();
    auto type_of = [](const std::string &dev) { return dev.substr(0, dev.find(':')); };
    bool mixed = false;
    for (int r = 1; r < world; r++)
        mixed |= type_of(m[r].device) != type_of(m[0].device);
    if (mixed) {
        std::string list;
        for (int r = 0; r < world && r < 16; r++)
            list += (r ? ", " : "") + ("rank " + std::to_string(r) + " uses " + m[r].where());
        if (world > 16)
            list += ", ...";
        return "the ranks disagree on the device type: " + list +
               ". Every rank must use a GPU (NCCL), or every rank the CPU; a rank on the CPU among GPU ranks usually found "
               "no usable GPU and fell back (run check_cuda on its node)";
    }
    if (type_of(m[0].device) != "cuda")
        return "";
    // NCCL needs one GPU per rank. The same GPU is the same UUID (or PCI id), whatever its ordinal: under
    // Slurm's --gpus-per-task or a per-rank CUDA_VISIBLE_DEVICES every rank sees its own GPU as cuda:0.
    std::map<std::string, int> first;
    for (int r = 0; r < world; r++) {
        const std::string key = m[r].gpu.empty() ? m[r].device + "@" + m[r].host : m[r].gpu;
        auto it = first.find(key);
        if (it == first.end()) {
            first.emplace(key, r);
            continue;
        }
        int q = it->second;
        if (m[r].gpu.empty())
            return "ranks " + std::to_string(q) + " and " + std::to_string(r) + " both use " + m[r].device + " on host " +
                   m[r].host + " (their GPU's UUID is unknown): NCCL needs one GPU per rank (usually cuda:<local rank>)";
        return "ranks " + std::to_string(q) + " and " + std::to_string(r) + " both use the GPU " + m[r].gpu + " (rank " +
               std::to_string(q) + ": " + m[q].device + " on host " + m[q].host + ", rank " + std::to_string(r) + ": " +
               m[r].device + " on host " + m[r].host +
               "): NCCL needs one GPU per rank; give each rank its own (cuda:<local rank>, or its own CUDA_VISIBLE_DEVICES)";
    }
    return "";
}

}  // namespace

std::string signal_text(int sig) {
    static const struct {
        int sig;
        const char *name;
    } names[] = {{SIGHUP, "SIGHUP"},   {SIGINT, "SIGINT"},   {SIGQUIT, "SIGQUIT"}, {SIGILL, "SIGILL"},
                 {SIGABRT, "SIGABRT"}, {SIGBUS, "SIGBUS"},   {SIGFPE, "SIGFPE"},   {SIGKILL, "SIGKILL"},
                 {SIGSEGV, "SIGSEGV"}, {SIGPIPE, "SIGPIPE"}, {SIGTERM, "SIGTERM"}, {SIGUSR1, "SIGUSR1"},
                 {SIGUSR2, "SIGUSR2"}, {SIGXCPU, "SIGXCPU"}};
    for (const auto &n : names)
        if (n.sig == sig)
            return "signal " + std::to_string(sig) + " (" + n.name + ")";
    return "signal " + std::to_string(sig);
}

SideTask::SideTask(std::function<void()> work) : state_(std::make_shared<State>()) {
    std::thread([s = state_, work = std::move(work)]() mutable {
        try {
            work();
        } catch (...) {
        }
        try {
            work = nullptr;  // what it holds (a communicator) goes now, not after the waiter has gone on
        } catch (...) {
        }
        {
            std::lock_guard<std::mutex> lk(s->mu);
            s->done = true;
        }
        s->cv.notify_all();
    }).detach();
}

bool SideTask::wait_for(milliseconds limit) const {
    if (!state_)
        return true;
    std::unique_lock<std::mutex> lk(state_->mu);
    return state_->cv.wait_for(lk, limit, [this] { return state_->done; });
}

std::string nvls_hint(const std::string &message) {
    std::string lower = message;
    for (char &c : lower)
        c = (char)tolower((unsigned char)c);
    if (lower.find("nvls") == std::string::npos && lower.find("multicast") == std::string::npos)
        return "";
    return " (NCCL could not set up NVLink multicast (NVLS), which this machine's NVLink fabric may not support: run "
           "the ranks with NCCL_NVLS_ENABLE=0 in their environment, as ltc_launch_local does for its ranks)";
}

std::string store_lost_text(const ltc_dist *d, const std::string &err) {
    char buf[768];
    // A receive or a send that waited the whole timeout (bounded_client): no answer, not a broken line.
    std::string lower = err;
    for (char &c : lower)
        c = (char)tolower((unsigned char)c);
    if (lower.find("timeout") != std::string::npos || lower.find("timed out") != std::string::npos) {
        const double t = d->timeout.count() / 1000.0;
        if (d->env.external_store || d->hosts_store)
            snprintf(buf, sizeof buf,
                     "the rendezvous store at %s:%d, which %s hosts, did not answer within the timeout of %.1f s: its "
                     "host is down or cut off from this one (a network partition), or frozen",
                     d->env.master_addr, d->env.master_port, d->hosts_store ? "this rank" : "the launcher", t);
        else
            snprintf(buf, sizeof buf,
                     "rank 0 is lost: the rendezvous store at %s:%d, which rank 0 hosts, did not answer within the "
                     "timeout of %.1f s: rank 0's node is down or cut off from this one (a network partition), or rank 0 "
                     "is frozen",
                     d->env.master_addr, d->env.master_port, t);
        return buf;
    }
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
    // last-resort timer, and keep the backend alive until it is done; ltc_dist_free waits for it (bounded).
    std::shared_ptr<Backend> b = d->backend;
    if (!b)
        return;  // no communicator yet: destroy aborts the one that comes
    lk.unlock();
    SideTask task;
    try {
        task = SideTask([b] { b->abort(); });
    } catch (...) {
        b->abort();  // no thread to spare: here, then
    }
    lk.lock();
    d->aborting = task;
}

void declare_store_lost(ltc_dist *d, std::unique_lock<std::mutex> &lk, const std::string &err) {
    if (!d->failed.load())
        d->store_lost.store(true);
    declare_failure(d, lk, LTC_ERR_DISTRIBUTED, store_lost_text(d, err));
}

// What a peer's heartbeat says; "" while it is alive and beating.
std::string peer_verdict(const ltc_dist *d, int r, double *stale_s) {
    const std::string &v = d->peer_value[r];
    *stale_s = seconds_since(d->peer_changed[r]);
    if (v.rfind("exit ", 0) == 0 && v != "exit 0")
        return "its process exited with status " + v.substr(5);
    if (v.rfind("signal ", 0) == 0)
        return "its process was killed by " + signal_text(atoi(v.c_str() + 7)) + " (its launcher saw it)";
    if (v == "failed")
        return "it failed and left the group (its own output says why)";
    if (v == "closed")
        return "its process" + (d->peer_host[r].empty() ? std::string() : " on host " + d->peer_host[r]) +
               " ended without leaving the group: it exited without ltc_dist_free, was killed, or crashed (its "
               "connection to the group closed; its own output or its node's log says how)";
    return "";
}

namespace {

// A rank that left on purpose: its connection closing says nothing.
bool has_left(const std::string &v) { return v == "left" || v == "exit 0"; }

// Runs f, calls on the store that throw when its connection is lost: "" or what went wrong.
template <class F>
std::string store_call(F &&f) {
    try {
        f();
        return "";
    } catch (const std::exception &e) {
        return what_of(e);
    } catch (...) {
        return "unknown error";
    }
}

}  // namespace

void watchdog_main(ltc_dist *d) {
    const int world = d->env.world_size, me = d->env.rank;
    std::vector<std::string> keys;
    std::vector<int> ranks;
    for (int r = 0; r < world; r++)
        if (r != me) {
            keys.push_back(heartbeat_key(r));
            ranks.push_back(r);
        }
    const double timeout_s = d->timeout.count() / 1000.0;
    const double grace_s = timeout_s + 10.0;
    // After a connection closes, how long a better word may take to arrive in the heartbeat: the exit
    // hook's "exit N" (sent before the process ends, but on another connection), the local launcher's
    // "signal N" (written once it has reaped the process).
    const double closed_grace_s = d->env.launcher == LTC_LAUNCHER_LOCAL ? 2.0 : 1.0;
    int64_t n = 0;
    std::unique_lock<std::mutex> lk(d->mu);
    while (!d->stop) {
        milliseconds wait = d->beat;
        if (!d->failed.load()) {
            lk.unlock();
            std::vector<std::vector<uint8_t>> values;
            std::string err = store_call([&] {
                d->wd_store->set(heartbeat_key(me), bytes_of(std::to_string(++n)));
                if (!keys.empty())
                    values = d->wd_store->multiGet(keys);
            });
            lk.lock();
            if (d->stop)
                break;
            if (!err.empty()) {
                declare_store_lost(d, lk, err);
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
                    if (!verdict.empty() || has_left(v))
                        ;
                    else if (d->peer_closed[r] != Clock::time_point{}) {
                        // Its connection closed and its heartbeat has no word yet: its process ended. Say so in
                        // the store (unless a word came meanwhile), for every rank to read.
                        const double since = seconds_since(d->peer_closed[r]);
                        if (since < closed_grace_s) {
                            wait = std::min(wait, std::chrono::duration_cast<milliseconds>(duration_of(closed_grace_s - since)) +
                                                      milliseconds(1));
                            continue;
                        }
                        lk.unlock();
                        err = store_call([&] {
                            v = text_of(d->wd_store->compareSet(heartbeat_key(r), values[i], bytes_of("closed")));
                        });
                        lk.lock();
                        if (d->stop)
                            break;
                        if (!err.empty()) {
                            declare_store_lost(d, lk, err);
                            break;
                        }
                        d->peer_value[r] = v;
                        verdict = peer_verdict(d, r, &stale);
                    } else if (stale > timeout_s) {
                        char buf[256];
                        snprintf(buf, sizeof buf,
                                 "its heartbeat stopped %.1f s ago (timeout %.1f s): the process died or is frozen, or "
                                 "its node is down or cut off (a network partition)",
                                 stale, timeout_s);
                        verdict = buf;
                    }
                    if (!verdict.empty()) {
                        declare_failure(d, lk, LTC_ERR_DISTRIBUTED, "rank " + std::to_string(r) + " is lost: " + verdict);
                        if (me == 0 && d->wake[1] >= 0) {  // the others read the store now
                            d->nudge = true;
                            (void)!write(d->wake[1], "x", 1);
                        }
                    }
                }
            }
        } else if (!d->observed.load() && d->in_call.load() > 0 && seconds_since(d->failed_at) > grace_s) {
            // The owner's thread is stuck in a collective the abort did not release: end the process rather than
            // hang (ltc_dist_init documents it).
            fprintf(stderr, "ltc: %s\nltc: rank %d: the calling thread did not return within %.0f s of the abort; exiting\n",
                    d->fail_message.c_str(), me, grace_s);
            fflush(nullptr);
            _exit(1);
        }
        d->cv.wait_for(lk, wait, [d] { return d->stop || d->live_event; });
        d->live_event = false;
    }
    d->wd_done = true;
    d->cv.notify_all();
}

void start_watchdog(ltc_dist *d) {
    if (pipe2(d->wake, O_CLOEXEC | O_NONBLOCK) != 0)
        d->wake[0] = d->wake[1] = -1;  // the liveness thread's poll then ends at its next beat
    d->wd_tcp = bounded_client([&] { return c10::static_intrusive_pointer_cast<c10d::TCPStore>(d->tcp->clone()); },
                               d->timeout, &d->wd_fds);
    d->wd_store = c10::make_intrusive<c10d::PrefixStore>(store_prefix(d->env.restart), d->wd_tcp);
    auto now = Clock::now();
    for (auto &t : d->peer_changed)
        t = now;
    d->watchdog = std::thread(watchdog_main, d);
    if (d->env.world_size > 1)
        d->live = std::thread(live_main, d);
}

static void stop_watchdog(ltc_dist *d) {
    if (!d->watchdog.joinable())
        return;
    std::unique_lock<std::mutex> lk(d->mu);
    d->stop = true;
    d->cv.notify_all();
    if (d->wake[1] >= 0)
        (void)!write(d->wake[1], "x", 1);
    // A watchdog blocked in a store call on a silent connection (a partition) would hold this thread up
    // to its bound: past a few beats, cut its connection (it is the watchdog's own).
    if (!d->cv.wait_for(lk, std::max(4 * d->beat, milliseconds(1000)), [d] { return d->wd_done; }))
        for (int fd : d->wd_fds)
            shutdown(fd, SHUT_RDWR);
    lk.unlock();
    d->watchdog.join();
    if (d->live.joinable())
        d->live.join();
}

// Tears down a group that never finished joining, or one being freed.
void destroy(ltc_dist *d, bool graceful) {
    stop_watchdog(d);
    const std::string me = std::to_string(d->env.rank);
    graceful = graceful && !d->failed.load();
    if (d->backend) {
        // NCCL bounds neither its shutdown nor (but by its own long timeout) its abort: each runs on the side and
        // is waited for up to the group's timeout; past it this rank says so and goes on, the work left to
        // finish on its own. After a failure, the abort declare_failure started.
        SideTask task;
        {
            std::lock_guard<std::mutex> lk(d->mu);
            task = d->aborting;
        }
        std::shared_ptr<Backend> b = d->backend;
        if (graceful)
            task = SideTask([b] { b->shutdown(); });
        else if (!task.started())
            task = SideTask([b] { b->abort(); });
        if (!task.wait_for(d->timeout)) {
            fprintf(stderr, "ltc: rank %d: the communicator's %s did not finish within the timeout of %.1f s; going on without it\n",
                    d->env.rank, graceful ? "shutdown" : "abort", d->timeout.count() / 1000.0);
            fflush(stderr);
        }
    }
    if (d->store && !d->store_lost.load()) {
        try {
            if (graceful) {
                d->store->set(heartbeat_key(d->env.rank), bytes_of("left"));
                d->store->set("left/" + me, bytes_of("1"));
            } else if (d->wd_store) {
                d->wd_store->set(heartbeat_key(d->env.rank), bytes_of("failed"));
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
        auto deadline = Clock::now() + d->timeout;
        WaitProgress progress(d->env.rank, d->timeout.count() / 1000.0, deadline);
        while (Clock::now() < deadline) {
            try {
                d->store->wait(keys, std::min(left_until(deadline), d->beat * 4));
                break;
            } catch (...) {
            }
            progress.tick([&] { return "every rank to leave the group (this rank hosts the store)"; });
        }
    }
    live_close(d);  // last: the others read a closed connection after this rank's word in the store
    delete d;
}


// Every rank announces itself and waits for the others; a rank missing at the deadline is named.
ltc_status join(ltc_dist *d, Clock::time_point deadline, double timeout_s) {
    const ltc_dist_env &env = d->env;
    const int world = env.world_size;
    const std::string host = this_host();
    std::string device, gpu;
    reported_identity(d, &device, &gpu);
    char me[512];
    snprintf(me, sizeof me, "world=%d pid=%d device=%s gpu=%s host=%s%s", world, (int)getpid(), device.c_str(),
             gpu.c_str(), host.c_str(), live_record(d).c_str());
    d->store->set(heartbeat_key(env.rank), bytes_of("0"));
    d->store->set("join/" + std::to_string(env.rank), bytes_of(me));
    std::vector<std::string> keys;
    for (int r = 0; r < world; r++)
        keys.push_back("join/" + std::to_string(r));
    auto missing = [&](int *n) {
        std::string who;
        *n = 0;
        for (int r = 0; r < world; r++)
            if (!d->store->check({keys[r]}))
                who += ((*n)++ ? ", " : "") + std::to_string(r);
        return who;
    };
    // Polled with check(), not wait(timeout): a wait that times out makes c10d log a warning each time.
    WaitProgress progress(env.rank, timeout_s, deadline);
    while (!d->store->check(keys)) {
        int n = 0;
        if (Clock::now() >= deadline) {
            std::string who = missing(&n);
            if (n == 0)
                break;
            return fail(LTC_ERR_TIMEOUT, "rendezvous at %s:%d timed out after %.1f s: rank%s %s of %d did not join (%d joined)",
                        env.master_addr, env.master_port, timeout_s, n == 1 ? "" : "s", who.c_str(), world, world - n);
        }
        progress.tick([&] {
            std::string who = missing(&n);
            return (n == 1 ? "rank " : "ranks ") + who + " of " + std::to_string(world) + " to join the rendezvous at " +
                   env.master_addr + ":" + std::to_string(env.master_port);
        });
        std::this_thread::sleep_for(milliseconds(20));
    }
    auto values = d->store->multiGet(keys);
    std::vector<Member> members(world);
    for (int r = 0; r < world; r++) {
        std::string v = text_of(values[r]);
        members[r] = parse_member(v);
        if (members[r].world != world)
            return fail(LTC_ERR_DISTRIBUTED, "rank %d joined with a world size of %d but rank %d has %d (%s): the ranks disagree on WORLD_SIZE",
                        r, members[r].world, env.rank, world, v.c_str());
        d->peer_host[r] = members[r].host;
        if (r == 0 && env.rank != 0)
            for_each_field(v, ' ', [d](const std::string &k, const std::string &val) { live_read_record(d, k, val); });
    }
    std::string bad = check_devices(members);
    if (!bad.empty())
        return fail(LTC_ERR_DISTRIBUTED, "%s", bad.c_str());
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
            snprintf(buf, sizeof buf,
                     "its heartbeat stopped %.1f s ago: the process died or is frozen, or its node is down or cut off (a "
                     "network partition)",
                     stale);
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

ltc_status run_op(ltc_dist *d, const char *what, const std::function<void()> &f) {
    if (d->failed.load())
        return report(d);
    struct InCall {  // for the watchdog's last resort
        std::atomic<int> &n;
        explicit InCall(std::atomic<int> &count) : n(count) { n++; }
        ~InCall() { n--; }
    } in_call(d->in_call);
    try {
        f();
    } catch (const Failure &fl) {
        if (d->failed.load())
            return report(d);
        if (fl.group_ok)
            return fail(fl.status, "%s", fl.message.c_str());
        ltc_status st = fl.status;
        std::string msg = describe_missing(d, fl, &st);
        return record(d, st, msg);
    } catch (const c10::DistNetworkError &e) {
        if (d->failed.load())
            return report(d);
        {
            std::unique_lock<std::mutex> lk(d->mu);
            declare_store_lost(d, lk, e.what_without_backtrace());
        }
        return report(d);
    } catch (...) {
        if (d->failed.load())
            return report(d);
        ltc_status st = ltc::handle_exception();
        const std::string m = ltc_last_error();
        return record(d, st, std::string(what) + " failed on rank " + std::to_string(d->env.rank) + ": " + m + nvls_hint(m));
    }
    if (d->failed.load())
        return report(d);
    return LTC_OK;
}
}  // namespace ltc::dist
