// CUDA graphs over at::cuda::CUDAGraph: any step a caller queues between capture_begin and capture_end
// (ltc_cuda_graph_*), and the whole Linear training step captured in one call (ltc_train_graph_*). Both
// capture through Capture below. Compiled only when LibTorch has CUDA (graph_nocuda.cpp otherwise).
#include "dist_internal.hpp"

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

struct ltc_train_graph {
    ltc_linear *linear = nullptr;
    ltc_sgd *opt = nullptr;
    ltc_dist *dist = nullptr;
    at::Tensor x, y, loss;  // static input buffers and the captured loss
    std::unique_ptr<Graph> graph;
};

namespace {

// The step the graph records (gradients set to none before it).
at::Tensor step(ltc_train_graph *g) {
    at::Tensor loss = at::mse_loss(g->linear->m->forward(g->x), g->y);
    loss.backward();
    if (g->dist)
        ltc::dist::average_gradients(g->dist, g->opt->params);
    ltc::sgd_step(g->opt);
    return loss.detach();
}

ltc_status check_batch(const char *fn, const at::Tensor &t, const char *name, const at::Tensor &like) {
    if (t.sizes() != like.sizes() || t.scalar_type() != like.scalar_type() || t.device() != like.device())
        return fail(LTC_ERR_INVALID_ARGUMENT, "%s: %s is %s %s on %s, but the graph was captured for %s %s on %s", fn, name,
                    c10::toString(t.scalar_type()), ltc::shape_text(t.sizes()).c_str(), t.device().str().c_str(),
                    c10::toString(like.scalar_type()), ltc::shape_text(like.sizes()).c_str(), like.device().str().c_str());
    return LTC_OK;
}

void capture(ltc_train_graph *g, const at::Tensor &x, const at::Tensor &y) {
    ltc_sgd *opt = g->opt;
    auto &params = opt->params;
    c10::cuda::CUDAGuard guard(x.device());
    // What warm-up will change: the parameters, and the momentum buffers (kept if opt already stepped).
    std::vector<at::Tensor> saved, saved_momentum;
    for (size_t i = 0; i < params.size(); i++) {
        saved.push_back(params[i].detach().clone());
        saved_momentum.push_back(opt->momentum[i].defined() ? opt->momentum[i].clone() : at::Tensor());
    }
    g->x = x.detach().clone();
    g->y = y.detach().clone();

    auto side = c10::cuda::getStreamFromPool(false, x.device().index());
    auto main = c10::cuda::getCurrentCUDAStream(x.device().index());
    {
        c10::cuda::CUDAStreamGuard on_side(side);
        at::cuda::CUDAEvent ready;
        ready.record(main);
        ready.block(side);
        for (int i = 0; i < 3; i++) {
            ltc::sgd_zero_grad(opt);
            step(g);
        }
        at::NoGradGuard no_grad;
        for (size_t i = 0; i < params.size(); i++) {
            params[i].copy_(saved[i]);
            at::Tensor &buf = opt->momentum[i];
            if (!buf.defined())
                continue;  // no momentum
            if (saved_momentum[i].defined())
                buf.copy_(saved_momentum[i]);
            else
                buf.zero_();  // m*0 + g == g: the first replay takes a fresh optimizer's first step
        }
        at::cuda::CUDAEvent warm;
        warm.record(side);
        warm.block(main);
    }
    ltc::sgd_zero_grad(opt);  // the graph's backward allocates the gradients, in its own pool
    g->graph = std::make_unique<Graph>();
    Capture c(*g->graph, x.device());
    try {
        g->loss = step(g);
    } catch (...) {
        ltc::sgd_zero_grad(opt);  // no gradient left in the dropped graph's memory
        throw;  // ~Capture ends and drops the capture
    }
    c.end();
}

}  // namespace

extern "C" {

ltc_status ltc_train_graph_new(ltc_train_graph **out, ltc_linear *linear, ltc_sgd *opt, ltc_dist *dist,
                               const ltc_tensor *x, const ltc_tensor *y) {
    LTC_CHECK_OUT(out);
    LTC_CHECK_NOT_NULL(linear);
    LTC_CHECK_NOT_NULL(opt);
    LTC_CHECK_NOT_NULL(x);
    LTC_CHECK_NOT_NULL(y);
    LTC_TRY {
        const at::Tensor &w = linear->m->weight;
        if (!w.is_cuda())
            return fail(LTC_ERR_INVALID_ARGUMENT, "ltc_train_graph_new: the module is on %s: CUDA graphs need it on a GPU",
                        w.device().str().c_str());
        if (x->t.device() != w.device() || y->t.device() != w.device())
            return fail(LTC_ERR_INVALID_ARGUMENT, "ltc_train_graph_new: x is on %s and y on %s; both must be on the module's %s",
                        x->t.device().str().c_str(), y->t.device().str().c_str(), w.device().str().c_str());
        if (x->t.dim() != 2 || x->t.size(1) != w.size(1) || x->t.scalar_type() != w.scalar_type())
            return fail(LTC_ERR_INVALID_ARGUMENT, "ltc_train_graph_new: x is %s %s: use %s [batch, %lld]",
                        c10::toString(x->t.scalar_type()), ltc::shape_text(x->t.sizes()).c_str(),
                        c10::toString(w.scalar_type()), (long long)w.size(1));
        if (y->t.dim() != 2 || y->t.size(0) != x->t.size(0) || y->t.size(1) != w.size(0) ||
            y->t.scalar_type() != w.scalar_type())
            return fail(LTC_ERR_INVALID_ARGUMENT, "ltc_train_graph_new: y is %s %s: use %s [%lld, %lld]",
                        c10::toString(y->t.scalar_type()), ltc::shape_text(y->t.sizes()).c_str(),
                        c10::toString(w.scalar_type()), (long long)x->t.size(0), (long long)w.size(0));
        {
            auto mine = linear->m->parameters();
            bool same = mine.size() == opt->params.size();
            for (size_t i = 0; same && i < mine.size(); i++)
                same = mine[i].unsafeGetTensorImpl() == opt->params[i].unsafeGetTensorImpl();
            if (!same)
                return fail(LTC_ERR_INVALID_ARGUMENT,
                            "ltc_train_graph_new: opt was made for another module: pass the ltc_sgd created over this linear");
        }
        if (dist && dist->device != w.device())
            return fail(LTC_ERR_INVALID_ARGUMENT, "ltc_train_graph_new: the module is on %s but the group is on %s",
                        w.device().str().c_str(), dist->device.str().c_str());
        auto g = std::make_unique<ltc_train_graph>();
        g->linear = linear;
        g->opt = opt;
        g->dist = dist;
        if (dist) {
            LTC_RETURN_IF_ERROR(ltc::dist::run_op(dist, "CUDA graph capture", [&] { capture(g.get(), x->t, y->t); }));
        } else {
            capture(g.get(), x->t, y->t);
        }
        *out = g.release();
        return LTC_OK;
    }
    LTC_CATCH
}

ltc_status ltc_train_graph_replay(ltc_train_graph *graph, const ltc_tensor *x, const ltc_tensor *y) {
    LTC_CHECK_NOT_NULL(graph);
    LTC_CHECK_NOT_NULL(x);
    LTC_CHECK_NOT_NULL(y);
    LTC_TRY {
        LTC_RETURN_IF_ERROR(check_batch("ltc_train_graph_replay", x->t, "x", graph->x));
        LTC_RETURN_IF_ERROR(check_batch("ltc_train_graph_replay", y->t, "y", graph->y));
        auto body = [&] {
            c10::cuda::CUDAGuard guard(graph->x.device());
            if (x->t.data_ptr() != graph->x.data_ptr())
                graph->x.copy_(x->t, /*non_blocking=*/true);
            if (y->t.data_ptr() != graph->y.data_ptr())
                graph->y.copy_(y->t, /*non_blocking=*/true);
            graph->graph->replay();
        };
        if (graph->dist)
            return ltc::dist::run_op(graph->dist, "CUDA graph replay", body);
        body();
        return LTC_OK;
    }
    LTC_CATCH
}

ltc_status ltc_train_graph_inputs(ltc_tensor **out_x, ltc_tensor **out_y, const ltc_train_graph *graph) {
    if (out_x)
        *out_x = nullptr;
    if (out_y)
        *out_y = nullptr;
    LTC_CHECK_NOT_NULL(graph);
    LTC_TRY {
        std::unique_ptr<ltc_tensor> x(out_x ? ltc::wrap(graph->x) : nullptr);
        if (out_y)
            *out_y = ltc::wrap(graph->y);
        if (out_x)
            *out_x = x.release();
        return LTC_OK;
    }
    LTC_CATCH
}

ltc_status ltc_train_graph_loss(ltc_tensor **out, const ltc_train_graph *graph) {
    LTC_CHECK_OUT(out);
    LTC_CHECK_NOT_NULL(graph);
    LTC_TRY {
        *out = ltc::wrap(graph->loss);
        return LTC_OK;
    }
    LTC_CATCH
}

void ltc_train_graph_free(ltc_train_graph *graph) {
    ltc::delete_quietly(graph);
}

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
                        "it, such as a host sync (ltc_tensor_item) or a copy from pageable host memory); the graph "
                        "stays empty",
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
