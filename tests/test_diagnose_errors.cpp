// How the diagnosis reads LibTorch's error texts (shim/diagnose/diagnose_errors.cpp), on its own, with LibTorch
// 2.11's exact texts: the proofs by work that produce them need a GPU, this test does not. A failed
// proof's text with the environment becomes a finding: a PYTORCH_* setting LibTorch rejects is named as
// such (the variable, its value, LibTorch's words, the fix), and a five-line CUDA error keeps only its
// first line in the message and all of it in the evidence.
#include "diagnose_errors.hpp"

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

using namespace ltc_diag;

static int passed, failed;

static void check(const char *what, bool ok, const Finding *f = nullptr) {
    if (ok) {
        passed++;
        return;
    }
    failed++;
    printf("FAIL: %s\n", what);
    if (f)
        printf("  code %d severity %d\n  message: %s\n  fix: %s\n  evidence: %s\n", (int)f->code, (int)f->severity, f->message.c_str(),
               f->fix.c_str(), f->evidence.c_str());
}

static bool has(const std::string &s, const char *part) { return s.find(part) != std::string::npos; }

// LibTorch 2.11's texts (what_without_backtrace), as a program gets them
// C10_CUDA_CHECK on cudaErrorMemoryAllocation (c10/cuda/CUDAException.cpp): the first CUDA call of a
// process whose context cannot be made, on a GPU whose memory another process holds
static const char *const cuda_oom =
    "CUDA error: out of memory\n"
    "Search for `cudaErrorMemoryAllocation' in https://docs.nvidia.com/cuda/cuda-runtime-api/group__CUDART__TYPES.html for more "
    "information.\n"
    "CUDA kernel errors might be asynchronously reported at some other API call, so the stacktrace below might be incorrect.\n"
    "For debugging consider passing CUDA_LAUNCH_BLOCKING=1\n"
    "Compile with `TORCH_USE_CUDA_DSA` to enable device-side assertions.\n";
// the allocator-settings parsers (c10/core/AllocatorConfig.{h,cpp}, c10/cuda/CUDAAllocatorConfig.cpp)
static const char *const unknown_key = "Unrecognized key 'bogus_key' in Accelerator allocator config.";  // read up front
static const char *const unknown_key_cuda = "Unrecognized key 'bogus_key' in CUDA allocator config.";    // in a CUDA allocation
static const char *const not_a_bool = "Expected 'True' or 'False' at index 2 in ConfigTokenizer but got 'maybe'";
static const char *const too_small = "CachingAllocator option max_split_size_mb too small, must be >= 20";
static const char *const fraction = "per_process_memory_fraction is invalid, set it in [0.0, 1.0]";
static const char *const no_value =
    "i < config_.size() INTERNAL ASSERT FAILED at \"/pytorch/c10/core/AllocatorConfig.h\":124, please report a bug to PyTorch. "
    "Index out of bounds in ConfigTokenizer";
// the CUDA caching allocator's own out-of-memory message names PYTORCH_CUDA_ALLOC_CONF: not a rejection
static const char *const allocator_oom =
    "CUDA out of memory. Tried to allocate 2.00 MiB. GPU 0 has a total capacity of 79.19 GiB of which 1.56 MiB is free. "
    "Process 4242 has 79.18 GiB memory in use. Of the allocated memory 0 bytes is allocated by PyTorch, and 0 bytes is reserved "
    "by PyTorch but unallocated. If reserved but unallocated memory is large try setting "
    "PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True to avoid fragmentation.  See documentation for Memory Management  "
    "(https://docs.pytorch.org/docs/stable/notes/cuda.html#optimizing-memory-usage-with-pytorch-cuda-alloc-conf)";

// LibTorch 2.11's accepted keys (AcceleratorAllocatorConfig::getKeys() with the CUDA half loaded), sorted
static const std::vector<std::string> keys = {
    "backend", "expandable_segments", "garbage_collection_threshold", "graph_capture_record_stream_reuse", "large_segment_size_mb",
    "max_non_split_rounding_mb", "max_split_size_mb", "per_process_memory_fraction", "pinned_num_register_threads",
    "pinned_reserve_segment_size_mb", "pinned_use_background_threads", "pinned_use_cuda_host_register", "pinned_use_hip_host_register",
    "release_lock_on_cudamalloc", "release_lock_on_hipmalloc", "roundup_power2_divisions"};

static ProofFailure matmul(const char *error) {
    return ProofFailure{"a 64x64 matmul on cuda:0", error, LTC_CAUSE_PROOF_FAILED, "sm_90", "", "", keys};
}

int main() {
    // the first-line rule
    check("first_line of the five-line CUDA error", first_line(cuda_oom) == "CUDA error: out of memory");
    check("first_line of one line", first_line("no newline  ") == "no newline");
    check("first_line of \"\"", first_line("").empty());

    char path[] = "PATH=/usr/bin", bad[] = "PYTORCH_CUDA_ALLOC_CONF=bogus_key:1", good_all[] = "PYTORCH_ALLOC_CONF=expandable_segments:True",
         maybe[] = "PYTORCH_CUDA_ALLOC_CONF=expandable_segments:maybe", split[] = "PYTORCH_CUDA_ALLOC_CONF=max_split_size_mb:10",
         abc[] = "PYTORCH_CUDA_ALLOC_CONF=max_split_size_mb:abc", bad_all[] = "PYTORCH_ALLOC_CONF=bogus_key:1",
         good_cuda[] = "PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True", frac[] = "PYTORCH_CUDA_ALLOC_CONF=per_process_memory_fraction:2",
         key_only[] = "PYTORCH_CUDA_ALLOC_CONF=expandable_segments", flag_bad[] = "PYTORCH_NO_CUDA_MEMORY_CACHING=yes",
         flag_good[] = "PYTORCH_NO_CUDA_MEMORY_CACHING=1", hip_flag[] = "PYTORCH_NO_HIP_MEMORY_CACHING=true";
    char *env_bad[] = {path, bad, nullptr};
    check("env_value", env_value(env_bad, "PYTORCH_CUDA_ALLOC_CONF") && strcmp(env_value(env_bad, "PYTORCH_CUDA_ALLOC_CONF"), "bogus_key:1") == 0 &&
                           env_value(env_bad, "PYTORCH_ALLOC_CONF") == nullptr && env_value(env_bad, "PATH") != nullptr);

    // 1. an unknown key in PYTORCH_CUDA_ALLOC_CONF: every allocation fails, the matmul first
    Finding f = proof_failure(matmul(unknown_key_cuda), env_bad);
    check("unknown key: LTC_CAUSE_TORCH_SETTING, an error", f.code == LTC_CAUSE_TORCH_SETTING && f.severity == LTC_SEVERITY_ERROR, &f);
    check("unknown key: the message names the variable, its value and LibTorch's words",
          f.message == "LibTorch rejects PYTORCH_CUDA_ALLOC_CONF=\"bogus_key:1\", and every CUDA allocation fails: Unrecognized key "
                       "'bogus_key' in CUDA allocator config.",
          &f);
    check("unknown key: the fix is to unset or correct it, with the keys LibTorch knows",
          f.fix.rfind("unset PYTORCH_CUDA_ALLOC_CONF, or correct it: 'bogus_key' is not a key this LibTorch knows; it knows backend, "
                      "expandable_segments, ",
                      0) == 0 &&
              has(f.fix, "roundup_power2_divisions") && has(f.fix, "https://docs.pytorch.org/docs/stable/notes/cuda.html"),
          &f);
    check("unknown key: no word of CUDA_LAUNCH_BLOCKING or Xid", !has(f.fix, "CUDA_LAUNCH_BLOCKING") && !has(f.fix, "Xid"), &f);
    check("unknown key: the evidence says what failed, LibTorch's whole text and the setting",
          has(f.evidence, "a 64x64 matmul on cuda:0 failed: Unrecognized key 'bogus_key'") &&
              has(f.evidence, "PYTORCH_CUDA_ALLOC_CONF=\"bogus_key:1\""),
          &f);
    check("proof_cause agrees", proof_cause(matmul(unknown_key_cuda), env_bad) == LTC_CAUSE_TORCH_SETTING);
    // the same text when the variable is not set (an allocator configured from code): not a setting
    char *env_none[] = {path, nullptr};
    f = proof_failure(matmul(unknown_key_cuda), env_none);
    check("unknown key, nothing set: the proof failed, not a setting", f.code == LTC_CAUSE_PROOF_FAILED, &f);
    Finding up;
    check("unknown key read up front (from the parser itself)",
          rejected_setting(unknown_key, env_bad, {}, "up front", &up, true) && up.code == LTC_CAUSE_TORCH_SETTING &&
              has(up.fix, "'bogus_key' is not a key this LibTorch knows (https://") && up.evidence.rfind("up front: Unrecognized", 0) == 0,
          &up);

    // 2. which variable: the one LibTorch reads, or the one holding the token LibTorch names
    char *env_both[] = {bad, good_all, nullptr};
    check("both set, the CUDA one bad", rejected_setting(unknown_key, env_both, keys, "x", &up) &&
                                            has(up.message, "PYTORCH_CUDA_ALLOC_CONF=\"bogus_key:1\"") &&
                                            has(up.evidence, "also set: PYTORCH_ALLOC_CONF=\"expandable_segments:True\""),
          &up);
    char *env_both2[] = {good_cuda, bad_all, nullptr};
    check("both set, the generic one holds the key named", rejected_setting(unknown_key, env_both2, keys, "x", &up) &&
                                                              has(up.message, "PYTORCH_ALLOC_CONF=\"bogus_key:1\""),
          &up);
    char *env_maybe[] = {maybe, good_all, nullptr};
    check("a bad boolean value", rejected_setting(not_a_bool, env_maybe, keys, "x", &up) &&
                                     has(up.message, "PYTORCH_CUDA_ALLOC_CONF=\"expandable_segments:maybe\"") &&
                                     has(up.message, "got 'maybe'") && has(up.fix, "change the value LibTorch names"),
          &up);
    char *env_split[] = {split, nullptr};
    check("a value below LibTorch's range", rejected_setting(too_small, env_split, keys, "x", &up) &&
                                                has(up.message, "max_split_size_mb:10") && has(up.message, "must be >= 20"),
          &up);
    char *env_frac[] = {frac, nullptr};
    f = proof_failure(matmul(fraction), env_frac);
    check("a CUDA-only key's value (read at the first allocation only)",
          f.code == LTC_CAUSE_TORCH_SETTING && has(f.message, "per_process_memory_fraction is invalid, set it in [0.0, 1.0]"), &f);
    char *env_abc[] = {abc, nullptr};
    check("a value that is not a number (std::stoull's bare text)",
          rejected_setting("stoull", env_abc, keys, "x", &up) && has(up.message, "max_split_size_mb:abc") &&
              has(up.message, "stoull (a value that must be a number is not one)"),
          &up);
    check("stoull with no setting is no setting", !rejected_setting("stoull", env_none, keys, "x", &up));
    char *env_key_only[] = {key_only, nullptr};
    check("a key without a value", rejected_setting(no_value, env_key_only, keys, "x", &up) &&
                                       has(up.fix, "every key needs ':' and a value"),
          &up);

    // 3. LibTorch's own out-of-memory message names PYTORCH_CUDA_ALLOC_CONF as advice: it stays memory
    char *env_good[] = {good_cuda, nullptr};
    ProofFailure oom = matmul(allocator_oom);
    oom.holders = "GPU 0 has 1 MiB free of 81559 MiB, held by PID 4242 (python3, 81000 MiB)";
    f = proof_failure(oom, env_good);
    check("the allocator's out of memory, with a good setting: memory taken", f.code == LTC_CAUSE_GPU_MEMORY_TAKEN, &f);

    // 4. another process holds the GPU's memory: the five-line CUDA error
    ProofFailure held = matmul(cuda_oom);
    held.holders = "GPU 0 has 3 MiB free of 81559 MiB, held by PID 4242 (python3, 81000 MiB)";
    f = proof_failure(held, env_none);
    check("CUDA error 2: LTC_CAUSE_GPU_MEMORY_TAKEN", f.code == LTC_CAUSE_GPU_MEMORY_TAKEN && f.severity == LTC_SEVERITY_ERROR, &f);
    check("CUDA error 2: the message is one line: the first of LibTorch's, then who holds the memory",
          f.message == "a 64x64 matmul on cuda:0 failed: CUDA error: out of memory; GPU 0 has 3 MiB free of 81559 MiB, held by PID 4242 "
                       "(python3, 81000 MiB)",
          &f);
    check("CUDA error 2: the evidence holds LibTorch's whole text", f.evidence == cuda_oom, &f);
    check("CUDA error 2: the fix", has(f.fix, "other processes hold the GPU's memory") && !has(f.fix, "Xid"), &f);
    held.holders.clear();
    f = proof_failure(held, env_none);
    check("CUDA error 2, NVML silent: still one line", f.message == "a 64x64 matmul on cuda:0 failed: CUDA error: out of memory", &f);
    // with a bad setting too, LibTorch's text decides: the memory error names no setting
    f = proof_failure(matmul(cuda_oom), env_bad);
    check("CUDA error 2 with a setting set: still memory", f.code == LTC_CAUSE_GPU_MEMORY_TAKEN, &f);

    // 5. the other causes a proof's text names, and the fallbacks with their suspects
    check("no kernel image", cause_of_error("CUDA error: no kernel image is available for execution on the device\nSearch for",
                                            LTC_CAUSE_PROOF_FAILED) == LTC_CAUSE_ARCH_NOT_SUPPORTED);
    f = proof_failure(matmul("CUDA error: no kernel image is available for execution on the device\nmore"), env_none);
    check("no kernel image: the build for sm_90", f.fix == "use a LibTorch built for sm_90" && !has(f.message, "more"), &f);
    check("busy", cause_of_error("CUDA error: CUDA-capable device(s) is/are busy or unavailable", LTC_CAUSE_PROOF_FAILED) == LTC_CAUSE_GPU_BUSY);
    check("ECC", cause_of_error("CUDA error: uncorrectable ECC error encountered", LTC_CAUSE_PROOF_FAILED) == LTC_CAUSE_GPU_LOST);
    check("PTX", cause_of_error("CUDA error: the provided PTX was compiled with an unsupported toolchain.", LTC_CAUSE_PROOF_FAILED) ==
                     LTC_CAUSE_PTX_TOO_NEW);
    check("cuDNN", cause_of_error("cuDNN error: CUDNN_STATUS_NOT_INITIALIZED", LTC_CAUSE_PROOF_FAILED) == LTC_CAUSE_CUDNN);
    ProofFailure other = matmul("CUDA error: an illegal memory access was encountered\nSearch for `cudaErrorIllegalAddress'");
    other.suspects = "; suspects: CUDA_LAUNCH_BLOCKING=0";
    f = proof_failure(other, env_none);
    check("an unnamed failure: the proof failed, one line, the suspects in the fix",
          f.code == LTC_CAUSE_PROOF_FAILED && f.message == "a 64x64 matmul on cuda:0 failed: CUDA error: an illegal memory access was encountered" &&
              has(f.fix, "CUDA_LAUNCH_BLOCKING=1") && has(f.fix, "suspects: CUDA_LAUNCH_BLOCKING=0") && has(f.evidence, "cudaErrorIllegalAddress"),
          &f);
    ProofFailure conv{"a cuDNN convolution on cuda:0", "cuDNN error: CUDNN_STATUS_EXECUTION_FAILED\nmore", LTC_CAUSE_CUDNN, "sm_90", "", "", keys};
    f = proof_failure(conv, env_none);
    check("cuDNN: its fallback and fix", f.code == LTC_CAUSE_CUDNN && has(f.fix, "the cuDNN bundled with LibTorch") &&
                                             f.message == "a cuDNN convolution on cuda:0 failed: cuDNN error: CUDNN_STATUS_EXECUTION_FAILED",
          &f);

    // 6. the boolean flags LibTorch ignores unless 0 or 1
    char *env_flags[] = {flag_bad, flag_good, hip_flag, nullptr};
    std::vector<Finding> w = ignored_flags(env_flags);
    check("two flags LibTorch ignores", w.size() == 2, w.empty() ? nullptr : &w[0]);
    if (w.size() == 2) {
        check("a warning naming the flag and its value",
              w[0].code == LTC_CAUSE_TORCH_SETTING && w[0].severity == LTC_SEVERITY_WARNING &&
                  w[0].message == "PYTORCH_NO_CUDA_MEMORY_CACHING=\"yes\" is ignored by LibTorch: it takes only 0 or 1" &&
                  w[0].fix == "set PYTORCH_NO_CUDA_MEMORY_CACHING to 1 (on) or 0 (off), or unset it" &&
                  has(w[0].evidence, "Ignoring invalid value for boolean flag PYTORCH_NO_CUDA_MEMORY_CACHING: yes"),
              &w[0]);
        check("the HIP name too", has(w[1].message, "PYTORCH_NO_HIP_MEMORY_CACHING=\"true\""), &w[1]);
    }
    char *env_flag_ok[] = {flag_good, nullptr};
    check("a flag of 1 is fine", ignored_flags(env_flag_ok).empty());
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
