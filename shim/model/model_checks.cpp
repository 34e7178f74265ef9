// What a package needs of this process and machine, checked before anything is loaded: each refusal
// names the package, what it needs, what is here, and the fix. docs/model.md has one row per check.
#include "model_internal.hpp"

#include "cudriver.h"

#include <c10/core/impl/DeviceGuardImplInterface.h>
#include <torch/headeronly/version.h>

#include <algorithm>
#include <cstdio>
#include <dlfcn.h>
#include <memory>
#include <sstream>

namespace ltc_pt2 {

namespace {

std::string meta(const Package &pkg, const char *key) {
    auto it = pkg.metadata.find(key);
    return it == pkg.metadata.end() ? "" : it->second;
}

std::string base_version(const std::string &v) { return v.substr(0, v.find('+')); }

// 1. A private static libstdc++: two copies of its locale registry in one process crash std::regex.
ltc_status check_libstdcxx(const Package &pkg) {
    const ElfFacts &e = pkg.elf;
    if (!e.read || e.locale_symbols == 0 ||
        std::find(e.needed.begin(), e.needed.end(), "libstdc++.so.6") != e.needed.end())
        return LTC_OK;
    std::string by = pkg.compiler.empty() ? "" : " (compiled by " + pkg.compiler + ", its compile command says)";
    return ltc::fail(LTC_ERR_INVALID_ARGUMENT,
                     "%s cannot be loaded here: its model .so%s carries its own copy of libstdc++, linked statically "
                     "(libstdc++.so.6 is not among its NEEDED libraries, and it defines %d std::locale symbols); in a "
                     "process that already runs libstdc++.so.6 the two copies collide and loading crashes (in "
                     "std::regex, in the model's constructor). Fix: export it again with a compiler that links "
                     "libstdc++.so.6, e.g. CXX=/usr/bin/g++, or torch._inductor.config.cpp.cxx = (None, "
                     "\"/usr/bin/g++\") before aoti_compile_and_package (`g++ -print-file-name=libstdc++.so` prints "
                     "a path for such a compiler)",
                     pkg.path.c_str(), by.c_str(), e.locale_symbols);
}

// 2. Another torch: its recorded version, and the C shim functions its .so calls.
ltc_status check_torch(const Package &pkg) {
    const char *p = pkg.path.c_str();
    std::string made = meta(pkg, "ltc.torch_version");
    if (!made.empty() && base_version(made) != base_version(TORCH_VERSION))
        return ltc::fail(LTC_ERR_INVALID_ARGUMENT,
                         "%s was made by torch %s (its ltc.torch_version), but this LibTorch is %s: AOTInductor's "
                         "compiled code is tied to the torch that made it; export it again with torch %s",
                         p, made.c_str(), TORCH_VERSION, TORCH_VERSION);
    void *torch = dlopen("libtorch.so", RTLD_LAZY | RTLD_NOLOAD);
    if (!torch)
        return LTC_OK;
    std::vector<std::string> missing;
    for (const std::string &f : pkg.elf.torch_calls)
        if (!dlsym(torch, f.c_str()) && !dlsym(RTLD_DEFAULT, f.c_str()))
            missing.push_back(f);
    dlclose(torch);
    if (missing.empty())
        return LTC_OK;
    std::string more = missing.size() > 1 ? ltc::fmt(" (and %zu more)", missing.size() - 1) : "";
    std::string where = pkg.torch_include.empty() ? "" : ", compiled against the headers in " + pkg.torch_include;
    return ltc::fail(LTC_ERR_INVALID_ARGUMENT,
                     "%s was made by another torch%s: its .so calls %s%s, which this LibTorch (%s) lacks; export it "
                     "again with torch %s",
                     p, where.c_str(), missing[0].c_str(), more.c_str(), TORCH_VERSION, TORCH_VERSION);
}

// 3. The .so's ELF class and machine against this process's.
ltc_status check_machine(const Package &pkg) {
    const ElfFacts &e = pkg.elf;
    if (e.elf_class == 0 && e.error.rfind("the .so cannot be read in place", 0) == 0)
        return LTC_OK;  // compressed: LibTorch extracts it, the checks go without it
    if (e.elf_class == 0)
        return ltc::fail(LTC_ERR_INVALID_ARGUMENT, "%s is damaged: %s", pkg.path.c_str(), e.error.c_str());
    int host = elf_host_machine();
    if (e.elf_class != 2 || (host != 0 && e.machine != host))
        return ltc::fail(LTC_ERR_UNSUPPORTED, "%s was compiled for another machine: its .so is %s for %s, and this is "
                         "64-bit %s; export it again on a machine like this one", pkg.path.c_str(),
                         e.elf_class == 2 ? "64-bit" : "not 64-bit", elf_machine_name(e.machine).c_str(),
                         elf_machine_name(host).c_str());
    return LTC_OK;
}

// The CPU's feature flags (/proc/cpuinfo "flags", or "Features" on ARM), " flag1 flag2 ".
const std::string &cpu_flags() {
    static const std::string flags = [] {
        std::string line, out;
        FILE *f = fopen("/proc/cpuinfo", "re");
        char buf[8192];
        while (f && fgets(buf, sizeof buf, f))
            if (!strncmp(buf, "flags", 5) || !strncmp(buf, "Features", 8)) {
                line = strchr(buf, ':') ? strchr(buf, ':') + 1 : "";
                break;
            }
        if (f)
            fclose(f);
        for (char &c : line)
            c = c == '\n' || c == '\t' ? ' ' : c;
        return line.empty() ? line : " " + line + " ";
    }();
    return flags;
}

// 4. A CPU package's vector instructions (AOTI_CPU_ISA, Inductor's names) against this CPU's flags.
ltc_status check_cpu_isa(const Package &pkg) {
    static const struct { const char *isa, *flags; } table[] = {
        {"AVX2", "avx2 fma f16c"},          {"AVX512", "avx512f avx512dq avx512vl avx512bw"},
        {"AVX512_VNNI", "avx512_vnni"},     {"AMX_TILE", "amx_tile amx_bf16 amx_int8"},
        {"NEON", "asimd"},                  {"SVE256", "sve"}};
    const std::string &have = cpu_flags(), isa = meta(pkg, "AOTI_CPU_ISA");
    if (have.empty() || isa.empty())
        return LTC_OK;
    std::string lacking, word, flag;
    std::istringstream words(isa);
    while (words >> word)
        for (const auto &t : table) {
            std::istringstream flags(t.flags);
            while (word == t.isa && flags >> flag)
                if (have.find(" " + flag + " ") == std::string::npos && lacking.find(flag) == std::string::npos)
                    lacking += (lacking.empty() ? "" : ", ") + flag;
        }
    if (lacking.empty())
        return LTC_OK;
    return ltc::fail(LTC_ERR_UNSUPPORTED,
                     "%s was compiled for a CPU with %s (its AOTI_CPU_ISA \"%s\"), and this CPU lacks %s: its code "
                     "would stop the process with SIGILL. Export it again on a machine like this one, or with "
                     "ATEN_CPU_CAPABILITY=default set while exporting", pkg.path.c_str(), isa.c_str(), isa.c_str(),
                     lacking.c_str());
}

// 5. A CUDA package: a usable GPU, the index, the driver's CUDA, the GPU's compute capability.
ltc_status check_cuda(const Package &pkg, int device_index, c10::Device *device) {
    const char *p = pkg.path.c_str();
    std::string cc = meta(pkg, "AOTI_COMPUTE_CAPABILITY");
    int want = atoi(cc.c_str());
    std::string cc_text = want > 0 ? ltc::fmt(" (compute capability %d.%d)", want / 10, want % 10) : "";
    if (ltc::cuda_device_count() == 0) {
        ltc_diagnosis *d = nullptr;
        std::string why = "LibTorch sees no CUDA device";
        if (ltc_diagnose(&d, LTC_DIAGNOSE_QUICK | LTC_DIAGNOSE_NO_CHILD) == LTC_OK && !ltc_diagnosis_usable(d))
            why = ltc::fmt("%s [%s]", ltc_cause_summary(ltc_diagnosis_cause(d)), ltc_cause_name(ltc_diagnosis_cause(d)));
        ltc_diagnosis_free(d);
        return ltc::fail(LTC_ERR_CUDA_UNAVAILABLE,
                         "%s was compiled for CUDA%s, but no GPU is usable here: %s; run check_cuda for the evidence "
                         "and the fix, or export the package for the CPU", p, cc_text.c_str(), why.c_str());
    }
    LTC_RETURN_IF_ERROR(ltc::to_c10_device(ltc_device{LTC_DEVICE_CUDA, device_index}, device));
    if (!device->has_index())
        device->set_index(c10::impl::getDeviceGuardImpl(c10::kCUDA)->getDevice().index());
    auto drv = std::make_unique<ltc_cudrv>();
    ltc_cudrv_probe(drv.get());
    std::string cuda = meta(pkg, "ltc.cuda_version");
    int major = 0, minor = 0, idx = device->index();
    if (sscanf(cuda.c_str(), "%d.%d", &major, &minor) == 2 && drv->version > 0 && drv->version < major * 1000 + minor * 10)
        return ltc::fail(LTC_ERR_UNSUPPORTED,
                         "%s was compiled with CUDA %s (its ltc.cuda_version), but the NVIDIA driver here supports CUDA "
                         "up to %d.%d: update the driver (check_cuda shows it), or export the package with a torch "
                         "built for CUDA %d.%d or older", p, cuda.c_str(), drv->version / 1000, drv->version % 1000 / 10,
                         drv->version / 1000, drv->version % 1000 / 10);
    if (want <= 0 || idx >= drv->ndev)
        return LTC_OK;
    const ltc_cudrv_device &g = drv->dev[idx];
    int have = g.major * 10 + g.minor;
    // A cubin runs on its own major version at the same or a later minor; PTX is compiled for newer GPUs too.
    bool runs = pkg.kernel_ptx ? have >= want : g.major == want / 10 && g.minor >= want % 10;
    if (runs)
        return LTC_OK;
    return ltc::fail(LTC_ERR_UNSUPPORTED,
                     "%s was compiled for GPUs of compute capability %d.%d (its AOTI_COMPUTE_CAPABILITY \"%s\"), and "
                     "cuda:%d (%s) is %d.%d: its kernels cannot run there; export it again on a GPU like cuda:%d",
                     p, want / 10, want % 10, cc.c_str(), idx, g.name, g.major, g.minor, idx);
}

}  // namespace

ltc_status check_package(const Package &pkg, int device_index, c10::Device *device) {
    LTC_RETURN_IF_ERROR(check_machine(pkg));
    LTC_RETURN_IF_ERROR(check_libstdcxx(pkg));
    LTC_RETURN_IF_ERROR(check_torch(pkg));
    *device = c10::Device(c10::kCPU);
    if (pkg.metadata.empty())
        return LTC_OK;  // compressed by another zip tool: model.cpp takes the device from LibTorch's loader
    std::string key = meta(pkg, "AOTI_DEVICE_KEY");
    if (key.empty() && !pkg.metadata.empty())
        return ltc::fail(LTC_ERR_INVALID_ARGUMENT, "%s is damaged: its metadata names no device (AOTI_DEVICE_KEY)",
                         pkg.path.c_str());
    if (key == "cuda")
        return check_cuda(pkg, device_index, device);
    if (!key.empty() && key != "cpu")
        return ltc::fail(LTC_ERR_UNSUPPORTED, "%s was compiled for device \"%s\": ltc runs packages for cpu and cuda",
                         pkg.path.c_str(), key.c_str());
    if (device_index != -1 && device_index != 0)
        return ltc::fail(LTC_ERR_INVALID_ARGUMENT,
                         "device_index %d is not valid for %s, a CPU package: use -1 or 0", device_index,
                         pkg.path.c_str());
    return check_cpu_isa(pkg);
}

}  // namespace ltc_pt2
