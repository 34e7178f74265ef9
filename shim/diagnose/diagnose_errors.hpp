// LibTorch's error texts, read: the first-line rule for a finding's message, the cause a failed proof's
// text names, and the PYTORCH_* settings LibTorch reads and rejects. Standard C++ and ltc.h only (no
// LibTorch), so tests/test_diagnose_errors.cpp drives it with LibTorch 2.11's exact texts.
//
// The settings, from LibTorch 2.11's sources (c10/core/AllocatorConfig.{h,cpp}, c10/cuda/CUDAAllocatorConfig.h,
// c10/cuda/CUDACachingAllocator.cpp, c10/util/env.cpp) and its binaries:
//   PYTORCH_CUDA_ALLOC_CONF, PYTORCH_HIP_ALLOC_CONF, PYTORCH_ALLOC_CONF: the caching allocator's settings,
//     "key:value,key:[v,v]". The first one set is the one read (PYTORCH_HIP_ALLOC_CONF by the device-generic
//     parser only). A key LibTorch does not know, or a value out of its range, throws from the parser on
//     every CUDA allocation: every allocation fails. A key without ":value" throws from a static
//     initializer of libc10_cuda.so: every program that loads LibTorch's CUDA half aborts while loading.
//   PYTORCH_NO_CUDA_MEMORY_CACHING, PYTORCH_NO_HIP_MEMORY_CACHING: read with c10::utils::check_env, which
//     takes "0" or "1" and ignores anything else with a warning.
// Other PYTORCH_* variables read by LibTorch's C++ (PYTORCH_USE_CUDA_DSA, PYTORCH_CUDA_DSA_STACKTRACING:
// any value but "0" is on; PYTORCH_TUNABLEOP_*, PYTORCH_JIT_*, ...) reject no value.
#pragma once

#include "ltc.h"

#include <string>
#include <vector>

namespace ltc_diag {

struct Finding {
    ltc_cause code;
    ltc_severity severity;
    std::string message, fix, evidence;
    template <class S, class V>  // its members for the report's JSON (diagnose_report.hpp)
    static void fields(S &s, V &v) {
        v("code", s.code)("severity", s.severity)("message", s.message)("fix", s.fix)("evidence", s.evidence);
    }
};

// The first line of text, without trailing blanks: what a finding's message keeps of a multi-line LibTorch
// error (its CUDA errors run to five lines); the whole text belongs in the evidence.
std::string first_line(const std::string &text);

// The value of variable `name` in envp ("NAME=value" strings, NULL-terminated), or nullptr when unset.
const char *env_value(char *const *envp, const char *name);

// The allocator-settings variables, in the order LibTorch 2.11 reads them (the first one set wins).
extern const char *const alloc_conf_variables[3];
// The boolean flags LibTorch reads with c10::utils::check_env.
extern const char *const flag_variables[2];

// Whether `error` (LibTorch's message, without its backtrace) is LibTorch rejecting an allocator setting
// that envp sets. Then *out is the finding: LTC_CAUSE_TORCH_SETTING, an error, naming the variable, its
// value and LibTorch's words (its first line), with the fix (correct or unset it; for an unknown key, the
// keys this LibTorch accepts: accepted_keys, which may be empty). where: what failed with it, for the
// evidence ("a 64x64 matmul on cuda:0 failed", "LibTorch's allocator settings, read up front"). from_parser:
// the error came from the parser itself, whatever its text.
bool rejected_setting(const std::string &error, char *const *envp, const std::vector<std::string> &accepted_keys,
                      const std::string &where, Finding *out, bool from_parser = false);

// The boolean flags LibTorch reads with c10::utils::check_env, set to a value it ignores (not "0" or
// "1"): one warning each.
std::vector<Finding> ignored_flags(char *const *envp);

// The cause a failed proof's error text names: no kernel image, PTX, busy, ECC or lost, out of memory,
// cuDNN; else fallback.
ltc_cause cause_of_error(const std::string &error, ltc_cause fallback);

// A proof by work that failed, and what is known around it.
struct ProofFailure {
    std::string what;                         // "a 64x64 matmul on cuda:0"
    std::string error;                        // LibTorch's message (may run to several lines)
    ltc_cause fallback;                       // the cause when the text names none (PROOF_FAILED, CUDNN)
    std::string sm;                           // the device's architecture, "sm_90"
    std::string holders;                      // who holds the GPU's memory (NVML), "" when unknown
    std::string suspects;                     // the fallback's suspect variables, as name_suspects words them
    std::vector<std::string> accepted_keys;   // the allocator keys this LibTorch accepts
};

// The cause proof_failure gives: a rejected setting first, then cause_of_error.
ltc_cause proof_cause(const ProofFailure &p, char *const *envp);

// The finding for it (an error): its message holds only the first line of LibTorch's text (and, when the
// GPU's memory is taken, who holds it); the evidence holds the whole text.
Finding proof_failure(const ProofFailure &p, char *const *envp);

}  // namespace ltc_diag
