// LibTorch's error texts, read (diagnose_errors.hpp says which settings and why).
#include "diagnose_errors.hpp"

#include <cstring>

namespace ltc_diag {

const char *const alloc_conf_variables[3] = {"PYTORCH_CUDA_ALLOC_CONF", "PYTORCH_HIP_ALLOC_CONF", "PYTORCH_ALLOC_CONF"};
// c10/cuda/CUDACachingAllocator.cpp reads both names, whatever the build
const char *const flag_variables[2] = {"PYTORCH_NO_CUDA_MEMORY_CACHING", "PYTORCH_NO_HIP_MEMORY_CACHING"};

namespace {

// PyTorch's page on these settings (LibTorch 2.11 names it in its own out-of-memory message).
const char *const alloc_conf_docs =
    "https://docs.pytorch.org/docs/stable/notes/cuda.html#optimizing-memory-usage-with-pytorch-cuda-alloc-conf";

// What LibTorch 2.11's allocator-settings parsers throw (c10/core/AllocatorConfig.{h,cpp},
// c10/cuda/CUDAAllocatorConfig.cpp), each by a piece of text no other error of LibTorch's has.
const char *const parser_texts[] = {
    "in Accelerator allocator config",        // Unrecognized key 'x' in Accelerator allocator config. (the
    "in CUDA allocator config",               // generic parser), ... in CUDA allocator config. (the CUDA one)
    "in ConfigTokenizer",                     // Expected 'True' or 'False' at index 2 in ConfigTokenizer but got 'x';
                                              // Index out of bounds in ConfigTokenizer; Expected closing bracket ']' ...
    "/c10/core/AllocatorConfig.",             // its internal asserts, named by file
    "/c10/cuda/CUDAAllocatorConfig.",
    "CachingAllocator option ",               // max_split_size_mb too small, must be >= 20; large_segment_size_mb must be > 10 MB
    "garbage_collect_threshold is invalid",   // set it in (0.0, 1.0)
    "per_process_memory_fraction is invalid", // set it in [0.0, 1.0]
    "For roundups, the ",                     // the intervals (divisions) have to be power of 2
    "Unknown allocator backend",              // options are native and cudaMallocAsync
    "backend:cudaMallocAsync requires",       // CUDA runtime 11.4 or newer
    "Number of register threads",             // has to be power of 2; should be less than or equal to 128
};

// A value that must be a number and is not: the parsers' std::stoull (std::stod, ...) throws
// std::invalid_argument, whose whole text is the function's name.
const char *const conversion_texts[] = {"stoull", "stoul", "stoi", "stod"};

bool has(const std::string &s, const char *part) { return s.find(part) != std::string::npos; }

std::string join(const std::vector<std::string> &v, const char *sep) {
    std::string s;
    for (const auto &x : v)
        s += (s.empty() ? "" : sep) + x;
    return s;
}

// The value's tokens as LibTorch's ConfigTokenizer cuts them: at ',', ':', '[' and ']', blanks dropped.
std::vector<std::string> tokens_of(const std::string &value) {
    std::vector<std::string> out;
    std::string cur;
    for (char ch : value) {
        if (ch == ',' || ch == ':' || ch == '[' || ch == ']') {
            if (!cur.empty())
                out.push_back(cur);
            cur.clear();
        } else if (!isspace((unsigned char)ch)) {
            cur += ch;
        }
    }
    if (!cur.empty())
        out.push_back(cur);
    return out;
}

// The last piece of text in single quotes: the token LibTorch complains about ("... but got 'maybe'").
std::string last_quoted(const std::string &error) {
    size_t end = error.rfind('\'');
    if (end == std::string::npos || end == 0)
        return "";
    size_t start = error.rfind('\'', end - 1);
    return start == std::string::npos ? "" : error.substr(start + 1, end - start - 1);
}

bool names_token(const std::string &error, const std::string &quoted, const std::string &token) {
    if (!quoted.empty())
        return token == quoted;
    size_t at = error.find(token);  // a key named without quotes: "option max_split_size_mb too small"
    return token.size() >= 3 && at != std::string::npos &&
           (at + token.size() == error.size() || !(isalnum((unsigned char)error[at + token.size()]) || error[at + token.size()] == '_'));
}

std::string quoted_value(const char *name, const char *value) { return std::string(name) + "=\"" + value + "\""; }

}  // namespace

std::string first_line(const std::string &text) {
    std::string s = text.substr(0, text.find('\n'));
    while (!s.empty() && (s.back() == ' ' || s.back() == '\r' || s.back() == '\t'))
        s.pop_back();
    return s;
}

const char *env_value(char *const *envp, const char *name) {
    size_t n = strlen(name);
    for (char *const *e = envp; e && *e; e++)
        if (strncmp(*e, name, n) == 0 && (*e)[n] == '=')
            return *e + n + 1;
    return nullptr;
}

bool rejected_setting(const std::string &error, char *const *envp, const std::vector<std::string> &accepted_keys,
                      const std::string &where, Finding *out, bool from_parser) {
    bool parser = from_parser;
    for (const char *t : parser_texts)
        parser |= has(error, t);
    for (const char *t : conversion_texts)
        parser |= error == t;
    if (!parser)
        return false;
    // which variable: the first one set is the one LibTorch reads, unless another set one holds the token
    // the message names (PYTORCH_HIP_ALLOC_CONF is read before PYTORCH_ALLOC_CONF by one parser only)
    std::vector<const char *> set;
    for (const char *v : alloc_conf_variables)
        if (env_value(envp, v))
            set.push_back(v);
    if (set.empty())
        return false;
    const char *var = set[0];
    std::string quoted = last_quoted(error);
    for (const char *v : set) {
        bool named = false;
        for (const auto &t : tokens_of(env_value(envp, v)))
            named |= names_token(error, quoted, t);
        if (named) {
            var = v;
            break;
        }
    }
    const char *value = env_value(envp, var);
    std::string words = first_line(error);
    bool conversion = false;
    for (const char *t : conversion_texts)
        conversion |= error == t;
    if (conversion)
        words += " (a value that must be a number is not one)";
    out->code = LTC_CAUSE_TORCH_SETTING;
    out->severity = LTC_SEVERITY_ERROR;
    out->message = "LibTorch rejects " + quoted_value(var, value) + ", and every CUDA allocation fails: " + words;
    std::string fix = std::string("unset ") + var + ", or correct it: ";
    if (has(error, "Unrecognized key '"))
        fix += "'" + quoted + "' is not a key this LibTorch knows" +
               (accepted_keys.empty() ? std::string() : "; it knows " + join(accepted_keys, ", "));
    else if (has(error, "Index out of bounds in ConfigTokenizer") || has(error, "closing bracket"))
        fix += "LibTorch reads it as key:value pairs separated by commas (a list in brackets: key:[a:b,c:d]), and every key "
               "needs ':' and a value";
    else
        fix += "change the value LibTorch names";
    out->fix = fix + " (" + alloc_conf_docs + ")";
    out->evidence = where + ": " + error + "; " + quoted_value(var, value);
    for (const char *v : set)
        if (v != var)
            out->evidence += "; also set: " + quoted_value(v, env_value(envp, v));
    if (set.size() > 1)
        out->evidence += " (LibTorch 2.11 reads the first set of PYTORCH_CUDA_ALLOC_CONF, PYTORCH_HIP_ALLOC_CONF and "
                         "PYTORCH_ALLOC_CONF)";
    return true;
}

std::vector<Finding> ignored_flags(char *const *envp) {
    std::vector<Finding> out;
    for (const char *name : flag_variables) {
        const char *v = env_value(envp, name);
        if (!v || strcmp(v, "0") == 0 || strcmp(v, "1") == 0)
            continue;
        out.push_back(Finding{LTC_CAUSE_TORCH_SETTING, LTC_SEVERITY_WARNING,
                              quoted_value(name, v) + " is ignored by LibTorch: it takes only 0 or 1",
                              std::string("set ") + name + " to 1 (on) or 0 (off), or unset it",
                              std::string("c10::utils::check_env(\"") + name + "\") warns \"Ignoring invalid value for boolean flag " +
                                  name + ": " + v + "valid values are 0 or 1.\" and reads it as unset"});
    }
    return out;
}

ltc_cause cause_of_error(const std::string &m, ltc_cause fallback) {
    if (has(m, "no kernel image") || has(m, "NO_BINARY_FOR_GPU"))
        return LTC_CAUSE_ARCH_NOT_SUPPORTED;
    if (has(m, "PTX"))
        return LTC_CAUSE_PTX_TOO_NEW;
    if (has(m, "busy or unavailable"))
        return LTC_CAUSE_GPU_BUSY;
    if (has(m, "uncorrectable ECC") || has(m, "GPU is lost"))
        return LTC_CAUSE_GPU_LOST;
    if (has(m, "out of memory"))
        return LTC_CAUSE_GPU_MEMORY_TAKEN;
    if (has(m, "CUDNN") || has(m, "cuDNN"))
        return LTC_CAUSE_CUDNN;
    return fallback;
}

ltc_cause proof_cause(const ProofFailure &p, char *const *envp) {
    Finding unused;
    return rejected_setting(p.error, envp, p.accepted_keys, p.what, &unused) ? LTC_CAUSE_TORCH_SETTING
                                                                              : cause_of_error(p.error, p.fallback);
}

Finding proof_failure(const ProofFailure &p, char *const *envp) {
    Finding f{proof_cause(p, envp), LTC_SEVERITY_ERROR, "", "", p.error};
    if (f.code == LTC_CAUSE_TORCH_SETTING) {
        rejected_setting(p.error, envp, p.accepted_keys, p.what + " failed", &f);
        return f;
    }
    f.message = p.what + " failed: " + first_line(p.error);
    switch (f.code) {
    case LTC_CAUSE_ARCH_NOT_SUPPORTED:
        f.fix = "use a LibTorch built for " + p.sm;
        break;
    case LTC_CAUSE_PTX_TOO_NEW:
        f.fix = "upgrade the NVIDIA driver: it is older than this LibTorch's PTX";
        break;
    case LTC_CAUSE_GPU_BUSY:
        f.fix = "another process holds the GPU in exclusive-process mode (nvidia-smi shows it): use another GPU, or sudo "
                "nvidia-smi -c DEFAULT";
        break;
    case LTC_CAUSE_GPU_MEMORY_TAKEN:
        if (!p.holders.empty())
            f.message += "; " + p.holders;
        f.fix = "other processes hold the GPU's memory (nvidia-smi lists them): end them or pick another GPU with "
                "CUDA_VISIBLE_DEVICES";
        break;
    case LTC_CAUSE_GPU_LOST:
        f.fix = "reset the GPU (sudo nvidia-smi -r) or reboot; replace it if it happens again";
        break;
    case LTC_CAUSE_CUDNN:
        f.fix = p.suspects.empty() ? "use the cuDNN bundled with LibTorch; remove other cuDNN copies from LD_LIBRARY_PATH"
                                   : "unset the variables named here and run again" + p.suspects;
        break;
    default:
        f.fix = "run with CUDA_LAUNCH_BLOCKING=1 for the failing call; check dmesg for Xid errors" + p.suspects;
    }
    return f;
}

}  // namespace ltc_diag
