// The advice table: which NVIDIA driver each CUDA release needs, which CUDA builds each LibTorch release
// ships, and the exact command that installs a LibTorch that runs on a given driver. Also which
// environment variables steer a library whose proof by work failed. Standard C++ only (no LibTorch), so
// tests/test_diagnose_advice.cpp compiles it on its own.
#pragma once

#include <string>
#include <vector>

namespace ltc_advice {

// CUDA versions are encoded as the driver and runtime APIs do: 1000 * major + 10 * minor (12060 = 12.6).
std::string cuda_text(int cuda);  // "12.6"; "none" for 0 or less
std::string cuda_tag(int cuda);   // "cu126"

// The minimum Linux driver for CUDA release `cuda` ("560.28.03" for 12.6): that release's own row of the
// table, or the nearest older release of the same major; nullptr when the major is not in the table.
const char *min_driver(int cuda);
// The minimum driver of the CUDA major family under minor-version compatibility ("525.60.13" for 12.x).
const char *family_min_driver(int major);

// A LibTorch build that runs on a driver supporting CUDA up to `driver_cuda`.
struct Build {
    std::string torch;      // "2.11.0"
    int cuda = 0;           // 12060
    bool by_compat = false; // runs only under CUDA's minor-version compatibility (newer minor than the driver)
    std::vector<int> also;  // other builds of the same release that would run too
};
// The newest release's best build for this driver: the highest CUDA the driver supports exactly, else one
// of the driver's major under minor-version compatibility, else an older release. false when none.
bool build_for_driver(int driver_cuda, Build *out);
// "pip install torch==2.11.0 --index-url https://download.pytorch.org/whl/cu126"
std::string pip_command(const Build &b);
// "https://download.pytorch.org/libtorch/cu126/" (the LibTorch zips of that build)
std::string libtorch_folder(const Build &b);

// The three facts of a working combination, as one sentence each:
//   the highest CUDA the driver supports (driver_text: "575.51.03" when known, else "");
//   the driver this LibTorch needs (torch_cuda: the CUDA LibTorch was built with; 0 for a CPU-only one);
//   the LibTorch build that runs on this driver now, with its pip command and LibTorch folder.
std::string driver_supports(int driver_cuda, const std::string &driver_text);
std::string driver_needed(int torch_cuda);
std::string build_advice(int driver_cuda);

// The source of the tables above, named in the report.
extern const char *const table_source;

// Which library a failing proof exercised; its variables are the suspects.
enum class Library { Cuda, Cublas, Cudnn, Nccl };
// Every set variable of envp ("NAME=value") that steers `lib`: NCCL_* for NCCL, CUDNN_* for cuDNN,
// CUBLAS_*/CUBLASLT_* for cuBLAS, and CUDA_* (CUDA_LAUNCH_BLOCKING, CUDA_MODULE_LOADING, ...) and
// PYTORCH_CUDA_ALLOC_CONF for all. Leaves out what only names a version or a folder (CUDA_VERSION,
// CUDA_HOME, NCCL_VERSION, ...), and CUDA_VISIBLE_DEVICES, which has its own finding.
std::vector<std::string> suspect_variables(char **envp, Library lib);

}  // namespace ltc_advice
