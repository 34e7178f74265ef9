// The data-parallel part's internals. One file per concern:
//   dist_env.cpp     launcher variables (RANK, SLURM_*, OMPI_*, MASTER_*): env_from
//   dist_launch.cpp  the local launcher (--nproc): start, watch, restart and signal the ranks
//   dist_store.cpp   the store: reaching it, opening it, the collectives through it (StoreBackend),
//                    progress lines while waiting, writing a rank's heartbeat from outside the group
//   dist_group.cpp   the group: rendezvous (identity checks), heartbeat watchdog, failures, teardown
//   dist_live.cpp    liveness across nodes: a connection per rank to rank 0, whose closing is a death
//   dist_api.cpp     the C API of the group and the launcher (ltc_dist_init/_free, ltc_launch_local)
//   dist_collectives.cpp  the collectives of the C API: on a tensor, a barrier, over a tensor list
//   dist_nccl.cpp    ProcessGroupNCCL and the GPU identity (dist_nonccl.cpp without CUDA)
//   core/graph.cpp   a captured step that all-reduces
// The names below are stable: other parts of libltc (e.g. a check across ranks) build on them.
#pragma once

#include "internal.hpp"

#include <torch/csrc/distributed/c10d/Store.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace ltc::dist {

using Clock = std::chrono::steady_clock;

enum class Op { sum, avg, min, max };
// "sum", "avg", "min", "max"
const char *op_name(Op op);

// A failure a backend diagnosed itself: thrown, and turned into a status by the group.
// missing: the ranks a collective waited for in vain (the group adds what their heartbeats say).
// group_ok: only this call failed, on every rank alike (the ranks' calls differed: a shape, a dtype, an op),
// and the group goes on; otherwise the group is failed for good.
struct Failure {
    ltc_status status;
    std::string message;
    std::vector<int> missing;
    bool group_ok = false;
};

// One communicator. Every call is made by every rank in the same order.
class Backend {
  public:
    virtual ~Backend() = default;
    virtual const char *name() const = 0;
    // In place (t contiguous). Returns once the work is queued on t's device (NCCL) or done (store). `what`
    // names the call in messages; the store backend also compares it, with the op, dtype and shape, across
    // the ranks (a Failure with group_ok when they differ).
    virtual void allreduce(at::Tensor &t, Op op, const char *what) = 0;
    virtual void broadcast(at::Tensor &t, int root, const char *what) = 0;
    // out: a 1-D tensor of world * in.numel() elements, rank r's part at r * in.numel().
    virtual void allgather(at::Tensor &out, const at::Tensor &in, const char *what) = 0;
    // From any thread: make blocked and future calls fail fast.
    virtual void abort() noexcept = 0;
    // Normal end, after every rank's last collective.
    virtual void shutdown() noexcept = 0;
};

// Collectives through the store itself (CPU tensors): each rank publishes its part under a key, and
// reads everyone's. Waits in slices of `slice` so that abort() is noticed; abort() also calls cut(), which
// makes a call blocked on the store's connection return at once (the store stays alive as long as the
// backend: cut() may act on its sockets).
std::unique_ptr<Backend> make_store_backend(c10::intrusive_ptr<c10d::Store> store, int rank, int world,
                                            std::chrono::milliseconds timeout, std::chrono::milliseconds slice,
                                            std::function<void()> cut);

// Work on a thread of its own, detached, that a caller may wait for within a bound (a communicator's abort or
// shutdown, which NCCL does not bound): past the bound the work goes on alone, keeping alive what it holds.
class SideTask {
  public:
    SideTask() = default;  // a task with nothing to do: done
    explicit SideTask(std::function<void()> work);
    // true once the work has finished; false if it is still running after `limit`.
    bool wait_for(std::chrono::milliseconds limit) const;
    bool started() const { return state_ != nullptr; }

  private:
    struct State {
        std::mutex mu;
        std::condition_variable cv;
        bool done = false;
    };
    std::shared_ptr<State> state_;
};

// 1 when this libltc was built with ProcessGroupNCCL (dist_nccl.cpp), else 0 (dist_nonccl.cpp).
bool have_nccl();
// ProcessGroupNCCL on `device` with its communicator created now. Throws on failure.
std::unique_ptr<Backend> make_nccl_backend(c10::intrusive_ptr<c10d::Store> store, int rank, int world,
                                           c10::Device device, std::chrono::milliseconds pg_timeout);

}  // namespace ltc::dist

struct ltc_dist {
    ltc_dist_env env{};
    c10::Device device{c10::kCPU};
    std::chrono::milliseconds timeout{0};
    std::chrono::milliseconds beat{0};  // heartbeat interval
    bool hosts_store = false;           // rank 0 runs the TCPStore server in this process

    c10::intrusive_ptr<c10d::TCPStore> tcp;     // main client (and the server on rank 0)
    c10::intrusive_ptr<c10d::Store> store;      // tcp under the job's prefix
    c10::intrusive_ptr<c10d::TCPStore> wd_tcp;  // the watchdog's own connection
    c10::intrusive_ptr<c10d::Store> wd_store;
    std::vector<int> tcp_fds, wd_fds;  // their sockets (bounded_client): owned by c10d, never closed here
    std::shared_ptr<ltc::dist::Backend> backend;  // shared with an abort running on the side

    // Liveness (dist_live.cpp). Rank 0 listens; every other rank holds one connection to it. The sockets
    // are the liveness thread's while it runs (before: the joining thread's; after: the freeing thread's).
    std::thread live;
    int live_listen = -1;     // rank 0
    int live_port = 0;        // rank 0's listening port (its own, or read from its rendezvous record)
    std::string live_addr;    // where the others reach it; "" for MASTER_ADDR
    std::string live_key;     // rank 0's nonce: a connection's first line must carry it
    std::vector<int> live_fd;  // rank 0: rank r's connection; other ranks: [0], theirs to rank 0; -1 none
    std::vector<ltc::dist::Clock::time_point> live_heard;  // when each connection last carried a byte
    struct Pending {
        int fd;
        ltc::dist::Clock::time_point since;
        std::string line;
    };
    std::vector<Pending> live_pending;  // rank 0: accepted, first line not read yet
    int wake[2] = {-1, -1};             // a pipe that wakes the liveness thread's poll

    // Watchdog state, under mu.
    std::mutex mu;
    std::condition_variable cv;  // stop, live_event or wd_done changed
    std::thread watchdog;
    bool stop = false, wd_done = false;
    bool live_event = false;  // the liveness thread saw a connection close, or a nudge: the watchdog looks now
    bool nudge = false;       // rank 0's watchdog asks the liveness thread to nudge every rank
    std::vector<std::string> peer_value;            // last heartbeat value seen per rank
    std::vector<ltc::dist::Clock::time_point> peer_changed;  // when it last changed
    std::vector<ltc::dist::Clock::time_point> peer_closed;   // when its liveness connection closed ({}: open)
    std::vector<std::string> peer_host;              // from the rendezvous
    ltc_status fail_status = LTC_OK;
    std::string fail_message;
    ltc::dist::Clock::time_point failed_at{};

    ltc::dist::SideTask aborting;  // the communicator's abort after a failure (declare_failure), under mu

    std::atomic<bool> failed{false};
    std::atomic<bool> store_lost{false};  // the failure is the store's silence or loss: write nothing more to it
    std::atomic<bool> observed{false};  // the owner's thread has been told about the failure
    std::atomic<int> in_call{0};        // the owner's thread is inside a collective (run_op)

    at::Tensor flat;                         // the flat gradient buffer, reused for the same parameters
    std::vector<const void *> flat_params;   // those parameters (their TensorImpls)
};

namespace ltc::dist {

// ---- helpers (dist_store.cpp) ----
double seconds_since(Clock::time_point t);
Clock::duration duration_of(double seconds);
std::vector<uint8_t> bytes_of(const std::string &s);
std::string text_of(const std::vector<uint8_t> &b);
std::chrono::milliseconds left_until(Clock::time_point deadline);  // at least 100 ms
std::string this_host();  // gethostname, "?" when it cannot say

// ---- launcher variables (dist_env.cpp) ----
// The value of `name` in envp (NULL-terminated "NAME=value" strings), or nullptr.
const char *env_lookup(const char *const *envp, const char *name);
// ltc_dist_env_from's body (envp not NULL).
ltc_status env_from(ltc_dist_env *out, const char *const *envp);
// Check an env and a timeout (seconds: > 0, finite, at most 1e7) as ltc_dist_init and ltc_cluster_check
// take them; fail naming fn, the bad value and what would be valid.
ltc_status check_env(const char *fn, const ltc_dist_env &env);
ltc_status check_timeout(const char *fn, double timeout_s);

// ---- the local launcher (dist_launch.cpp) ----
struct LaunchResult {
    int exit_code = 0;    // 0, or the first failing rank's exit code (128+N for signal N)
    int failed_rank = -1;
    int restarts = 0;     // group restarts made
};
// ltc_launch_local's body, its options checked.
ltc_status launch_local(LaunchResult *out, const ltc_launch_options &options);

// ---- the store (dist_store.cpp) ----
// The key prefix of one attempt of a job: "ltc/<restart>", so that restarts never see each other's keys.
std::string store_prefix(int restart);
// Heartbeat keys, under the prefix: "hb/<rank>". Values: a beat counter ("1", "2", ...), "left" (freed the
// group), "failed" (left after a failure), "exit N" (its process exited with status N), "signal N" (a
// signal killed it; written by its launcher).
std::string heartbeat_key(int rank);
// A TCPStore server on addr:port (host; port 0: any free port), or a client of the one there; waits on
// keys for at most `timeout`. Throws as TCPStore does.
c10::intrusive_ptr<c10d::TCPStore> tcp_store(const std::string &addr, int port, std::chrono::milliseconds timeout, bool host);
// Calls f(key, value) for each "key=value" field of text, the fields separated by sep; a field without
// '=' is skipped.
void for_each_field(const std::string &text, char sep,
                    const std::function<void(const std::string &, const std::string &)> &f);
// Whether a TCPStore's error says its port is taken.
bool port_in_use(const std::string &message);
// Connects to host:port with plain sockets until the deadline; fails naming the address.
ltc_status reach(const ltc_dist_env &env, Clock::time_point deadline, double timeout_s);
// One try at connecting to host:port over plain TCP (each address for at most 1 s, never past the deadline).
// 1: connected, *fd is the socket (blocking, close-on-exec); 0: not now, *err says why; -1: host does not
// resolve, *err says why.
int connect_once(int *fd, std::string *err, const char *host, int port, Clock::time_point deadline);
// Hosts (rank 0 without an external store) or reaches the store; fills d->tcp, d->store.
ltc_status open_store(ltc_dist *d, Clock::time_point deadline, double timeout_s);
// A TCPStore client made by make(), whose connection never blocks a receive or a send longer than `limit`:
// c10d's own receive after a timed-out wait has no bound, so a store cut off by a network partition would
// hold the calling thread until TCP gives up (many minutes). c10d keeps the socket private, so it is found
// as the socket make() opened to the store's port (by /proc/self/fd before and after); *fds gets it.
c10::intrusive_ptr<c10d::TCPStore> bounded_client(const std::function<c10::intrusive_ptr<c10d::TCPStore>()> &make,
                                                  std::chrono::milliseconds limit, std::vector<int> *fds);
// From outside the group (the launcher): sets the heartbeat of `rank` to `value` in the store at
// addr:port under store_prefix(restart). Gives up silently after `timeout` (the store may be gone).
void set_heartbeat_from_outside(const std::string &addr, int port, int restart, int rank, const std::string &value,
                                std::chrono::milliseconds timeout) noexcept;
// Prints "ltc: rank R waits for ... (X s left of the timeout of Y s)" to stderr every few seconds (every
// timeout/5, between 1 and 5 s) while a wait lasts. what() is called only when a line is due.
class WaitProgress {
  public:
    WaitProgress(int rank, double timeout_s, Clock::time_point deadline);
    void tick(const std::function<std::string()> &what);
  private:
    int rank_;
    double timeout_s_, every_s_;
    Clock::time_point deadline_, next_;
};

// ---- the GPU's identity (dist_nccl.cpp; dist_nonccl.cpp) ----
// "GPU-<uuid>" as nvidia-smi writes it, else "pci-<domain:bus:device.0>", else "" (unknown).
std::string gpu_identity(int index);

// ---- liveness across nodes (dist_live.cpp) ----
// Rank 0 (world > 1): listens on a free port, on every address; fills live_listen, live_port, live_key
// and, with a store it does not host, live_addr (its address toward the store). Fails naming the error.
ltc_status live_listen(ltc_dist *d);
// The fields rank 0 adds to its rendezvous record (" live_port=P live_key=K[ live_addr=A]"), and their
// reading by the others (sets live_port, live_key, live_addr).
std::string live_record(const ltc_dist *d);
void live_read_record(ltc_dist *d, const std::string &key, const std::string &value);
// Other ranks: connects to rank 0 and introduces itself, by the deadline (at least 2 s). Without a
// connection the rank still works: it says so on stderr (a death on another node is then named by the
// heartbeat timeout only).
void live_connect(ltc_dist *d, Clock::time_point deadline);
// The liveness thread (started by start_watchdog when world > 1; ends when d->stop is set and the wake
// pipe written). Rank 0 accepts the connections; every connection carries a byte each beat both ways. A
// connection that closes: d->peer_closed[r] and d->live_event set, the watchdog notified (it writes the
// verdict). A connection silent for the whole timeout: the rank at its other end is declared lost. A nudge
// from rank 0: d->live_event. d->nudge (set by rank 0's watchdog, which then writes the wake pipe): this
// thread nudges every rank.
void live_main(ltc_dist *d);
// Closes every liveness socket and the wake pipe (the liveness thread has stopped).
void live_close(ltc_dist *d);

// ---- the group (dist_group.cpp) ----
// "signal 9 (SIGKILL)"
std::string signal_text(int sig);
// Every rank announces itself (world size, device, GPU identity, host) and waits for the others; a rank
// missing at the deadline, ranks disagreeing on the world size or the device type, and two ranks on one
// GPU are refused, naming them.
ltc_status join(ltc_dist *d, Clock::time_point deadline, double timeout_s);
// The heartbeat thread: beats, watches the others', declares a lost rank.
void watchdog_main(ltc_dist *d);
void start_watchdog(ltc_dist *d);
// Marks the group failed (first failure wins) and aborts the communicator. Called with d->mu held.
void declare_failure(ltc_dist *d, std::unique_lock<std::mutex> &lk, ltc_status status, const std::string &msg);
// What a peer's heartbeat says; "" while it is alive and beating. Call with d->mu held.
std::string peer_verdict(const ltc_dist *d, int r, double *stale_s);
std::string store_lost_text(const ltc_dist *d, const std::string &err);
// declare_failure for the store itself (err: what the store call threw); marks store_lost.
void declare_store_lost(ltc_dist *d, std::unique_lock<std::mutex> &lk, const std::string &err);
// The group's failure as this thread's error.
ltc_status report(ltc_dist *d);
ltc_status record(ltc_dist *d, ltc_status status, const std::string &msg);
// Tears down a group that never finished joining (graceful false), or one being freed; returns within
// about 2 x the group's timeout + 5 s (see ltc_dist_free).
void destroy(ltc_dist *d, bool graceful);

// Runs f() as one operation of group d named `what`: returns the group's failure if it has one,
// maps exceptions to a status, and names lost ranks.
ltc_status run_op(ltc_dist *d, const char *what, const std::function<void()> &f);

// The body of ltc_dist_average_gradients, for use inside run_op (and inside a graph capture): copies the
// gradients of params (each has one; one device and dtype) into d->flat, averages it over the group, and
// makes the gradients views of it.
void average_gradients(ltc_dist *d, const std::vector<at::Tensor> &params);
// A hint for an NCCL error that names NVLink multicast (NVLS), which a fabric without it fails to set up:
// " (...: set NCCL_NVLS_ENABLE=0 ...)", else "".
std::string nvls_hint(const std::string &message);

}  // namespace ltc::dist
