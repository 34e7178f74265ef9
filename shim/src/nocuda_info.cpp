// Build facts for a CPU-only LibTorch: nothing to report.
#include "internal.hpp"

namespace ltc {

void fill_cuda_build_info(ltc_build_info *) {}

}  // namespace ltc
