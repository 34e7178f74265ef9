// Build facts that need LibTorch's CUDA half. Compiled only when the LibTorch has CUDA.
#include "internal.hpp"

#include <ATen/detail/CUDAHooksInterface.h>
#include <torch/csrc/cuda/nccl.h>

namespace ltc {

void fill_cuda_build_info(ltc_build_info *out) {
    const auto &hooks = at::detail::getCUDAHooks();
    // isBuilt() is true only when libtorch_cuda registered its hooks, i.e. the CUDA half is loaded.
    out->cuda_built = hooks.isBuilt() ? 1 : 0;
    if (!out->cuda_built)
        return;
    try {
        out->cuda_runtime_version = (int)hooks.versionCUDART();
    } catch (...) {
    }
    try {
        out->cudnn_version = (int)hooks.versionCuDNN();
    } catch (...) {
    }
    try {
        // Packed as (major << 32) | (minor << 16) | patch; older releases used NCCL_VERSION_CODE.
        std::uint64_t v = torch::cuda::nccl::version();
        out->nccl_version = v >= (1ull << 32)
                                ? (int)((v >> 32) * 10000 + ((v >> 16) & 0xffff) * 100 + (v & 0xffff))
                                : (int)v;
    } catch (...) {
    }
}

}  // namespace ltc
