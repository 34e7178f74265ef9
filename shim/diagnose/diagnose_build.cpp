// 1. The LibTorch build: compiled with CUDA or CPU-only, the CUDA runtime, cuDNN and NCCL it was built
// with and loads, its arch list, and the PYTORCH_* settings it reads (diagnose_errors.hpp lists them).
//
// No diagnosis file may call into libtorch_cuda or libc10_cuda by name: they are also built into a test
// library linked with --as-needed, where libtorch_cuda is dropped, and must then diagnose exactly that.
// Everything CUDA goes through LibTorch's hooks, the dispatcher, or symbols looked up at run time.
#include "diagnose_internal.hpp"

#include <ATen/Version.h>
#include <ATen/detail/CUDAHooksInterface.h>
#include <c10/core/AllocatorConfig.h>

#include <algorithm>
#include <dlfcn.h>
#include <unordered_set>

extern char **environ;

namespace ltc_diag {

void probe_build(Ctx &c) {
    BuildFacts &b = c.b;
    // LibTorch's CUDA initialisation first, so that its one warning is captured (ltc::cuda_init_warning)
    // before anything else can trigger it.
    c.torch_count = ltc::cuda_device_count();
    c.torch_warning = ltc::cuda_init_warning();
    ltc_build_info_get(&b.bi);
    const auto &hooks = at::detail::getCUDAHooks();
    b.cuda_built = hooks.isBuilt();
    Dl_info info;
    if (dladdr((void *)&at::globalContext, &info) && info.dli_fname)
        b.torch_lib_dir = dir_of(real_path(info.dli_fname));
    b.torch_cuda_file = b.torch_lib_dir + "/libtorch_cuda.so";
    b.torch_cuda_on_disk = !b.torch_lib_dir.empty() && file_exists(b.torch_cuda_file);
    void *tc = dlopen("libtorch_cuda.so", RTLD_LAZY | RTLD_NOLOAD);
    b.torch_cuda_loaded = tc != nullptr;
    if (tc)
        dlclose(tc);
    if (b.cuda_built) {
        b.cudart = b.bi.cuda_runtime_version;
        try {
            b.cudnn_runtime = hooks.versionRuntimeCuDNN();
        } catch (...) {
        }
    }
    int (*nccl_get_version)(int *) = (int (*)(int *))dlsym(RTLD_DEFAULT, "ncclGetVersion");
    if (nccl_get_version && nccl_get_version(&b.nccl_runtime) != 0)
        b.nccl_runtime = 0;
    // The loaded libtorch_cpu's own build settings: "... TORCH_VERSION=2.11.0, USE_CUDA=ON, ..."
    try {
        std::string cfg = at::show_config();
        auto at_v = cfg.find("TORCH_VERSION=");
        if (at_v != std::string::npos) {
            at_v += 14;
            b.loaded_version = cfg.substr(at_v, cfg.find_first_of(", \n", at_v) - at_v);
        }
        b.loaded_says_cuda = cfg.find("USE_CUDA=ON") != std::string::npos || cfg.find("USE_CUDA=1") != std::string::npos;
    } catch (...) {
    }

    BuildReport &r = c.report.build;
    r.torch_version = b.bi.torch_version ? b.bi.torch_version : "?";
    r.torch_library_dir = b.torch_lib_dir;
    r.cuda_built = b.cuda_built;
    r.libtorch_cuda_on_disk = b.torch_cuda_on_disk;
    r.libtorch_cuda_loaded = b.torch_cuda_loaded;
    r.cuda_runtime_version = when<long>(b.cudart, b.cudart);  // 0: not known
    r.cudnn_version = when<long>(b.bi.cudnn_version, b.bi.cudnn_version);
    r.cudnn_runtime_version = when<long>(b.cudnn_runtime, b.cudnn_runtime);
    r.nccl_version = when<long>(b.bi.nccl_version, b.bi.nccl_version);
    r.nccl_runtime_version = when<long>(b.nccl_runtime, b.nccl_runtime);
}

void judge_build(Ctx &c) {
    const BuildFacts &b = c.b;
    if (!b.cuda_built)
        return;  // CPU-only or CUDA half not loaded: judge_loader tells which
    if (b.cudnn_runtime && b.bi.cudnn_version &&
        (b.cudnn_runtime / 10000 != b.bi.cudnn_version / 10000 || (b.cudnn_runtime / 100) % 100 < (b.bi.cudnn_version / 100) % 100))
        c.add(LTC_CAUSE_CUDNN, LTC_SEVERITY_ERROR,
              fmt("cuDNN %s is loaded but LibTorch was built with cuDNN %s", version_text(b.cudnn_runtime).c_str(),
                  version_text(b.bi.cudnn_version).c_str()),
              "use the cuDNN bundled with LibTorch: remove other cuDNN copies from LD_LIBRARY_PATH",
              fmt("versionRuntimeCuDNN %ld, versionCuDNN %d", b.cudnn_runtime, b.bi.cudnn_version));
}

std::vector<std::string> accepted_alloc_keys() {
    // LibTorch's own set: AcceleratorAllocatorConfig::getKeys(), to which the CUDA half adds its keys while
    // it loads. That function is inline, and inline functions are hidden in libltc: called here, it would
    // read a set of libltc's own that nothing fills. The set LibTorch fills is libc10's unique object,
    // looked up by its name (with its guard, set once it is constructed); none found: an empty list.
    using Keys = std::unordered_set<std::string>;
    const auto *guard = (const unsigned char *)dlsym(
        RTLD_DEFAULT, "_ZGVZN3c1016CachingAllocator26AcceleratorAllocatorConfig14getMutableKeysB5cxx11EvE4keys");
    const auto *keys =
        (const Keys *)dlsym(RTLD_DEFAULT, "_ZZN3c1016CachingAllocator26AcceleratorAllocatorConfig14getMutableKeysB5cxx11EvE4keys");
    if (!guard || !keys || !__atomic_load_n(guard, __ATOMIC_ACQUIRE))
        return {};
    std::vector<std::string> v(keys->begin(), keys->end());
    std::sort(v.begin(), v.end());
    return v;
}

void judge_settings(Ctx &c) {
    Members<Opt<std::string>> &settings = c.report.torch_settings;
    auto read = [&](const char *v) {
        const char *value = getenv(v);
        settings.emplace_back(v, when<std::string>(value, value ? value : ""));
        return value != nullptr;
    };
    bool set = false;
    for (const char *v : alloc_conf_variables)
        set |= read(v);
    // The allocator settings through LibTorch's own parser, as its first CUDA allocation reads them (the
    // same variables, the same order). Only when one is set: then nothing is read earlier than it would be
    // otherwise, and a rejected value is read again, and rejected again, by every allocation.
    if (set && c.b.cuda_built) {
        std::string error;
        try {
            c10::CachingAllocator::AcceleratorAllocatorConfig::instance();
        } catch (const std::exception &e) {
            error = ltc::what_of(e);
        }
        Finding f;
        if (!error.empty() && rejected_setting(error, environ, accepted_alloc_keys(),
                                               "LibTorch's allocator settings, read up front (AcceleratorAllocatorConfig)", &f, true)) {
            if (c.failed())
                f.severity = LTC_SEVERITY_WARNING;  // a cause was found before; this one is named too
            c.alloc_rejected = true;
            c.add(f);
        }
    }
    for (const char *v : flag_variables)
        read(v);
    for (const Finding &f : ignored_flags(environ))
        c.add(f);
}

std::vector<Arch> parse_arch_list(const std::string &config) {
    std::vector<Arch> out;
    size_t pos = 0;
    while ((pos = config.find("code=", pos)) != std::string::npos) {
        pos += 5;
        bool ptx = config.compare(pos, 8, "compute_") == 0;
        bool sm = config.compare(pos, 3, "sm_") == 0;
        if (!ptx && !sm)
            continue;
        size_t start = pos + (ptx ? 8 : 3), end = start;
        while (end < config.size() && isalnum((unsigned char)config[end]))
            end++;
        std::string code = config.substr(start, end - start);
        int digits = atoi(code.c_str());
        if (digits <= 0)
            continue;
        Arch a{digits / 10, digits % 10, ptx, !code.empty() && isalpha((unsigned char)code.back()),
               (ptx ? "compute_" : "sm_") + code};
        bool dup = false;
        for (const auto &o : out)
            dup |= o.text == a.text;
        if (!dup)
            out.push_back(a);
    }
    return out;
}

bool arch_covers(const std::vector<Arch> &archs, int major, int minor) {
    for (const auto &a : archs) {
        if (a.ptx && (a.major < major || (a.major == major && a.minor <= minor)))
            return true;
        if (!a.ptx && a.major == major && (a.specific ? a.minor == minor : a.minor <= minor))
            return true;
    }
    return false;
}

std::string arch_list_text(const std::vector<Arch> &archs) {
    std::string list;
    for (const auto &a : archs)
        list += (list.empty() ? "" : " ") + a.text;
    return list;
}

}  // namespace ltc_diag
