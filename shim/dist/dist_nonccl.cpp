// Built when LibTorch has no CUDA: the data-parallel part runs on the CPU only (store collectives).
#include "dist_internal.hpp"

namespace ltc::dist {

bool have_nccl() { return false; }

std::string gpu_identity(int) { return ""; }

std::unique_ptr<Backend> make_nccl_backend(c10::intrusive_ptr<c10d::Store>, int, int, c10::Device,
                                           std::chrono::milliseconds) {
    TORCH_CHECK(false, "this libltc was built without NCCL");
}

}  // namespace ltc::dist
