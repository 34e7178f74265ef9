// The data-parallel communicator on GPUs: c10d's ProcessGroupNCCL, one GPU per rank. Compiled only when
// LibTorch has CUDA (shim/distributed.cmake defines USE_C10D_NCCL and finds nccl.h).
#include "dist_internal.hpp"

#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDAGuard.h>

#include <cstdio>
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>

namespace ltc::dist {

namespace {

c10d::ReduceOp to_reduce_op(Op op) {
    switch (op) {
    case Op::sum: return c10d::ReduceOp(c10d::ReduceOp::SUM);
    case Op::avg: return c10d::ReduceOp(c10d::ReduceOp::AVG);
    case Op::min: return c10d::ReduceOp(c10d::ReduceOp::MIN);
    case Op::max: return c10d::ReduceOp(c10d::ReduceOp::MAX);
    }
    return c10d::ReduceOp(c10d::ReduceOp::SUM);
}

class NcclBackend : public Backend {
  public:
    NcclBackend(c10::intrusive_ptr<c10d::Store> store, int rank, int world, c10::Device device,
                std::chrono::milliseconds pg_timeout)
        : device_(device) {
        c10::cuda::CUDAGuard guard(device);
        auto opts = c10d::ProcessGroupNCCL::Options::create();
        // Longer than the group's own timeout: the heartbeat watchdog names a lost rank first; this one
        // only ends a collective that hangs while every rank is alive.
        opts->timeout = pg_timeout;
        pg_ = c10::make_intrusive<c10d::ProcessGroupNCCL>(std::move(store), rank, world, opts);
        pg_->setBoundDeviceId(device);
        pg_->eagerConnectSingleDevice(device);  // the communicator now, so that init failures show here
    }

    const char *name() const override { return "nccl"; }

    void allreduce(at::Tensor &t, Op op, const char *) override {
        std::vector<at::Tensor> v{t};
        c10d::AllreduceOptions o;
        o.reduceOp = to_reduce_op(op);
        pg_->allreduce(v, o)->wait();
    }

    void broadcast(at::Tensor &t, int root, const char *) override {
        std::vector<at::Tensor> v{t};
        c10d::BroadcastOptions o;
        o.rootRank = root;
        pg_->broadcast(v, o)->wait();
    }

    void allgather(at::Tensor &out, const at::Tensor &in, const char *) override {
        at::Tensor src = in.contiguous();
        pg_->_allgather_base(out, src)->wait();
    }

    void abort() noexcept override {
        if (aborted_.exchange(true))
            return;
        try {
            pg_->abort();
        } catch (...) {
        }
    }

    void shutdown() noexcept override {
        if (aborted_.load())
            return;
        try {
            c10::cuda::CUDAGuard guard(device_);
            pg_->shutdown();
        } catch (...) {
        }
    }

  private:
    c10::Device device_;
    c10::intrusive_ptr<c10d::ProcessGroupNCCL> pg_;
    std::atomic<bool> aborted_{false};
};

}  // namespace

bool have_nccl() { return true; }

std::string gpu_identity(int index) {
    try {
        const cudaDeviceProp *p = at::cuda::getDeviceProperties(index);
        const unsigned char *u = reinterpret_cast<const unsigned char *>(p->uuid.bytes);
        bool any = false;
        for (int i = 0; i < 16; i++)
            any |= u[i] != 0;
        char buf[64];
        if (any) {  // as nvidia-smi -L writes it
            snprintf(buf, sizeof buf, "GPU-%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", u[0], u[1],
                     u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13], u[14], u[15]);
            return buf;
        }
        snprintf(buf, sizeof buf, "pci-%04x:%02x:%02x.0", (unsigned)p->pciDomainID, (unsigned)p->pciBusID,
                 (unsigned)p->pciDeviceID);
        return buf;
    } catch (...) {
        return "";
    }
}

std::unique_ptr<Backend> make_nccl_backend(c10::intrusive_ptr<c10d::Store> store, int rank, int world, c10::Device device,
                                           std::chrono::milliseconds pg_timeout) {
    return std::make_unique<NcclBackend>(std::move(store), rank, world, device, pg_timeout);
}

}  // namespace ltc::dist
