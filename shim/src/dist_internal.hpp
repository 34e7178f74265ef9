// The data-parallel part's internals, shared by dist.cpp (group, store, watchdog, launcher),
// dist_nccl.cpp (ProcessGroupNCCL) and graph.cpp (a captured step that all-reduces).
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

enum class Op { sum, avg, max };

// A failure a backend diagnosed itself: thrown, and turned into a status by the group.
// missing: the ranks a collective waited for in vain (the group adds what their heartbeats say).
struct Failure {
    ltc_status status;
    std::string message;
    std::vector<int> missing;
};

// One communicator. Every call is made by every rank in the same order.
class Backend {
  public:
    virtual ~Backend() = default;
    virtual const char *name() const = 0;
    // In place. Returns once the work is queued on t's device (NCCL) or done (store).
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
// reads everyone's. Waits in slices of `slice` so that abort() is noticed.
std::unique_ptr<Backend> make_store_backend(c10::intrusive_ptr<c10d::Store> store, int rank, int world,
                                            std::chrono::milliseconds timeout, std::chrono::milliseconds slice);

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
    std::shared_ptr<ltc::dist::Backend> backend;  // shared with an abort running on the side

    // Watchdog state, under mu.
    std::mutex mu;
    std::condition_variable cv;
    std::thread watchdog;
    bool stop = false;
    std::vector<std::string> peer_value;            // last heartbeat value seen per rank
    std::vector<ltc::dist::Clock::time_point> peer_changed;  // when it last changed
    ltc_status fail_status = LTC_OK;
    std::string fail_message;
    ltc::dist::Clock::time_point failed_at{};

    std::atomic<bool> failed{false};
    std::atomic<bool> observed{false};  // the owner's thread has been told about the failure

    at::Tensor flat;  // the flat gradient buffer, reused
};

namespace ltc::dist {

// Runs f() as one operation of group d named `what`: returns the group's failure if it has one,
// maps exceptions to a status, and names lost ranks. Defined in dist.cpp.
ltc_status run_op(ltc_dist *d, const char *what, const std::function<void()> &f);

// The body of ltc_dist_average_gradients, for use inside run_op (and inside a graph capture): copies
// the gradients into d->flat, averages it over the group, and makes the gradients views of it.
void average_gradients(ltc_dist *d, const std::vector<at::Tensor> &params);

}  // namespace ltc::dist
