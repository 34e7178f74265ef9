// Transfers, the part that needs LibTorch's CUDA headers, for a LibTorch built without CUDA: the same
// argument checks, then a clear "no CUDA in this build" (transfer_cuda.cpp is the real thing).
#include "internal.hpp"

using ltc::fail;

namespace {

ltc_status no_cuda(const char *func, const char *name, int index) {
    if (index < 0)
        return fail(LTC_ERR_INVALID_ARGUMENT, "%s: %s %d is not valid: use a CUDA device index, 0 and up", func, name,
                    index);
    return fail(LTC_ERR_CUDA_UNAVAILABLE,
                "%s: cuda:%d requested, but this LibTorch was built without CUDA; install the CUDA variant of "
                "LibTorch (cuXXX), or run check_cuda for details",
                func, index);
}

}  // namespace

extern "C" {

ltc_status ltc_cuda_peer_access(int *out, int device, int peer) {
    LTC_CHECK_NOT_NULL(out);
    if (device >= 0 && peer < 0)
        return no_cuda(__func__, "peer", peer);
    return no_cuda(__func__, "device", device);
}

ltc_status ltc_cuda_link_info_get(ltc_cuda_link_info *out, int device) {
    LTC_CHECK_NOT_NULL(out);
    return no_cuda(__func__, "device", device);
}

}  // extern "C"
