// CUDA graphs over at::cuda::CUDAGraph: any step a caller queues between capture_begin and capture_end
// (ltc_cuda_graph_*), through Capture below. Compiled only when LibTorch has CUDA (graph_nocuda.cpp otherwise).
#include "internal.hpp"

#include <ATen/cuda/CUDAEvent.h>
#include <ATen/cuda/CUDAGraph.h>
#include <c10/cuda/CUDACachingAllocator.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <cuda_runtime_api.h>
#include <torch/autograd.h>

#include <optional>
#include <thread>

using ltc::fail;

namespace {

// A CUDAGraph whose state after a failed capture this file may read and clean up.
struct Graph : at::cuda::CUDAGraph {
    // After a capture_end that threw before the capture ended (cudaStreamEndCapture failed: the capture was
    // invalidated): give back the private memory pool the capture began, which reset() would keep, and
    // clear CUDA's error. Best effort; nothing here throws.
    void drop_failed_capture() noexcept {
        if (!capture_ended_ && capture_dev_ != UNDEFINED_DEVICE) {
            try {
                c10::cuda::CUDACachingAllocator::endAllocateToPool(capture_dev_, mempool_id_);
            } catch (...) {  // LibTorch ended it already
            }
            try {
                c10::cuda::CUDACachingAllocator::releasePool(capture_dev_, mempool_id_);
            } catch (...) {
            }
        }
        (void)cudaGetLastError();
    }
};

// One capture on the calling thread: the thread's current device becomes `device` and its current stream a
// side stream (capture cannot use the default stream) that first waits for the work queued on the stream it
// replaces; CUDA records in thread-local mode, so that other threads (the group's watchdog, NCCL's and c10d's
// threads) may call CUDA meanwhile. end() ends it and restores the thread's device and stream; a capture
// that fails leaves the graph empty, its pool given back, and throws CUDA's error. Destroying a Capture that
// did not end ends it and drops what it recorded.
class Capture {
  public:
    Capture(Graph &graph, c10::Device device)
        : graph_(graph), side_(c10::cuda::getStreamFromPool(false, device.index())) {
        TORCH_CHECK(open_here_ == 0, "another CUDA graph is capturing on this thread: captures do not nest");
        c10::cuda::CUDAStream prev = c10::cuda::getCurrentCUDAStream(device.index());
        guard_.emplace(side_);
        at::cuda::CUDAEvent ready;
        ready.record(prev);
        ready.block(side_);
        graph_.capture_begin({0, 0}, cudaStreamCaptureModeThreadLocal);
        open_ = true;
        open_here_++;
    }
    // Whether a capture is open on the calling thread (captures do not nest: each replaces the stream).
    static bool open_here() { return open_here_ > 0; }
    Capture(const Capture &) = delete;
    Capture &operator=(const Capture &) = delete;

    void end() {
        open_ = false;
        open_here_--;
        try {
            c10::cuda::setCurrentCUDAStream(side_);  // the capture ends on the stream it began on
            graph_.capture_end();
        } catch (...) {
            graph_.drop_failed_capture();
            guard_.reset();
            throw;
        }
        guard_.reset();
    }

    ~Capture() {
        if (!open_)
            return;
        try {
            end();
        } catch (...) {
        }
    }

  private:
    Graph &graph_;
    c10::cuda::CUDAStream side_;                       // the stream the capture records
    std::optional<c10::cuda::CUDAStreamGuard> guard_;  // side_ made current, while capturing
    bool open_ = false;
    static thread_local int open_here_;
};

thread_local int Capture::open_here_ = 0;

}  // namespace

struct ltc_cuda_graph {
    c10::Device device{c10::kCUDA, 0};
    std::unique_ptr<Graph> graph = std::make_unique<Graph>();
    std::unique_ptr<Capture> capture;  // while capturing
    std::thread::id capturing_thread;
    bool captured = false;

    ~ltc_cuda_graph() {
        capture.reset();  // a capture still open: ended and dropped
    }
};

extern "C" {

ltc_status ltc_cuda_graph_new(ltc_cuda_graph **out, ltc_device device) {
    LTC_CHECK_OUT(out);
    LTC_TRY {
        c10::Device dev(c10::kCPU);
        LTC_RETURN_IF_ERROR(ltc::to_c10_device(device, &dev));
        if (!dev.is_cuda())
            return fail(LTC_ERR_INVALID_ARGUMENT, "ltc_cuda_graph_new: device cpu is not a GPU: a CUDA graph records GPU "
                                                  "work (use cuda:N, or cuda for the current GPU)");
        auto g = std::make_unique<ltc_cuda_graph>();
        g->device = c10::Device(c10::kCUDA, dev.has_index() ? dev.index() : c10::cuda::current_device());
        *out = g.release();
        return LTC_OK;
    }
    LTC_CATCH
}

void ltc_cuda_graph_free(ltc_cuda_graph *graph) {
    if (graph && graph->capture && graph->capturing_thread != std::this_thread::get_id()) {
        // Ending another thread's capture from here would break that thread's stream: leave it (and its memory).
        (void)graph->capture.release();
        (void)graph->graph.release();
    }
    ltc::delete_quietly(graph);
}

ltc_status ltc_cuda_graph_capture_begin(ltc_cuda_graph *graph) {
    LTC_CHECK_NOT_NULL(graph);
    if (graph->capture)
        return fail(LTC_ERR_INVALID_ARGUMENT,
                    "ltc_cuda_graph_capture_begin: the graph is capturing already: end that capture first "
                    "(ltc_cuda_graph_capture_end)");
    if (graph->captured)
        return fail(LTC_ERR_INVALID_ARGUMENT,
                    "ltc_cuda_graph_capture_begin: the graph holds a capture already: a graph is captured once; make "
                    "another (ltc_cuda_graph_new) for another step");
    if (Capture::open_here())
        return fail(LTC_ERR_INVALID_ARGUMENT, "ltc_cuda_graph_capture_begin: another graph is capturing on this thread: "
                                              "captures do not nest; end that one first");
    LTC_TRY {
        graph->capture = std::make_unique<Capture>(*graph->graph, graph->device);
        graph->capturing_thread = std::this_thread::get_id();
        return LTC_OK;
    }
    LTC_CATCH
}

ltc_status ltc_cuda_graph_capture_end(ltc_cuda_graph *graph) {
    LTC_CHECK_NOT_NULL(graph);
    if (!graph->capture)
        return fail(LTC_ERR_INVALID_ARGUMENT, "ltc_cuda_graph_capture_end: the graph is not capturing: call "
                                              "ltc_cuda_graph_capture_begin first");
    if (graph->capturing_thread != std::this_thread::get_id())
        return fail(LTC_ERR_INVALID_ARGUMENT, "ltc_cuda_graph_capture_end: the capture began on another thread: end it "
                                              "on the thread that began it (a capture records that thread's work only)");
    LTC_TRY {
        std::unique_ptr<Capture> c = std::move(graph->capture);
        try {
            c->end();
        } catch (...) {
            ltc::handle_exception();
            const std::string m = ltc_last_error();
            graph->graph = std::make_unique<Graph>();  // empty: it may be captured again
            return fail(LTC_ERR_DEVICE,
                        "ltc_cuda_graph_capture_end: the capture failed: %s (work that cannot be captured ran during "
                        "it, such as a host sync (ltc_tensor_item, a blocking ltc_tensor_copy) or a copy from pageable host "
                        "memory); the graph stays empty",
                        m.c_str());
        }
        graph->captured = true;
        return LTC_OK;
    }
    LTC_CATCH
}

ltc_status ltc_cuda_graph_replay(ltc_cuda_graph *graph) {
    LTC_CHECK_NOT_NULL(graph);
    if (!graph->captured)
        return fail(LTC_ERR_INVALID_ARGUMENT, "ltc_cuda_graph_replay: the graph holds no capture%s: capture a step first "
                                              "(ltc_cuda_graph_capture_begin, then _end)",
                    graph->capture ? " yet (it is capturing)" : "");
    LTC_TRY {
        c10::cuda::CUDAGuard guard(graph->device);
        graph->graph->replay();
        return LTC_OK;
    }
    LTC_CATCH
}

}  // extern "C"
