// Built when LibTorch has no CUDA: no CUDA graphs.
#include "internal.hpp"

struct ltc_cuda_graph {
    int unused;
};

namespace {
ltc_status unsupported(const char *fn) {
    return ltc::fail(LTC_ERR_UNSUPPORTED, "%s: this libltc was built without CUDA (its LibTorch had none), so without CUDA graphs",
                     fn);
}
}  // namespace

extern "C" {

ltc_status ltc_cuda_graph_new(ltc_cuda_graph **out, ltc_device) {
    if (out)
        *out = nullptr;
    return unsupported("ltc_cuda_graph_new");
}

void ltc_cuda_graph_free(ltc_cuda_graph *graph) { delete graph; }

ltc_status ltc_cuda_graph_capture_begin(ltc_cuda_graph *) { return unsupported("ltc_cuda_graph_capture_begin"); }

ltc_status ltc_cuda_graph_capture_end(ltc_cuda_graph *) { return unsupported("ltc_cuda_graph_capture_end"); }

ltc_status ltc_cuda_graph_replay(ltc_cuda_graph *) { return unsupported("ltc_cuda_graph_replay"); }

}  // extern "C"
