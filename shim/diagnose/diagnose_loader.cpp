// 2. What was loaded: LibTorch's CUDA half in this process, and the LibTorch that was loaded against the
// one libltc was built against. (When libltc or LibTorch cannot be loaded at all, no code of libltc runs:
// check_cuda's pure-C front, loadcheck.c, explains that case.)
#include "diagnose_internal.hpp"

// Set by shim/CMakeLists.txt: the LibTorch this libltc was compiled and linked against.
#ifndef LTC_BUILT_TORCH_DIR
#define LTC_BUILT_TORCH_DIR ""
#endif
#ifndef LTC_BUILT_TORCH_VERSION
#define LTC_BUILT_TORCH_VERSION ""
#endif
#ifndef LTC_BUILT_WITH_CUDA
#define LTC_BUILT_WITH_CUDA 0
#endif

namespace ltc_diag {

namespace {

std::string release_of(const std::string &v) { return v.substr(0, v.find('+')); }  // "2.11.0+cu130" -> "2.11.0"

std::string ld_library_path_note(const std::string &dir) {
    const char *lp = getenv("LD_LIBRARY_PATH");
    if (!lp)
        return "";
    std::string s = std::string(":") + lp + ":";
    size_t at = 0;
    while ((at = s.find(':', at)) != std::string::npos && at + 1 < s.size()) {
        size_t end = s.find(':', at + 1);
        std::string e = s.substr(at + 1, end - at - 1);
        if (!e.empty() && real_path(e) == dir)
            return fmt(" (LD_LIBRARY_PATH names %s, and the loader searches it before libltc's RUNPATH)", e.c_str());
        at = end;
    }
    return "";
}

}  // namespace

void judge_loader(Ctx &c) {
    const BuildFacts &b = c.b;
    std::string built_dir = LTC_BUILT_TORCH_DIR[0] ? real_path(LTC_BUILT_TORCH_DIR) : "";
    std::string built_version = LTC_BUILT_TORCH_VERSION;
    bool built_cuda = LTC_BUILT_WITH_CUDA != 0;
    c.report.build.built_against = {nonempty(built_dir), nonempty(built_version), built_cuda};
    c.report.build.loaded = {b.torch_lib_dir, nonempty(b.loaded_version), b.loaded_says_cuda || b.torch_cuda_on_disk};

    bool other_dir = !built_dir.empty() && !b.torch_lib_dir.empty() && built_dir != b.torch_lib_dir;
    bool other_version = !built_version.empty() && !b.loaded_version.empty() &&
                         release_of(built_version) != release_of(b.loaded_version);
    std::string what = fmt("libltc was built against LibTorch %s in %s, but LibTorch %s was loaded from %s%s",
                           built_version.empty() ? "?" : built_version.c_str(), built_dir.c_str(),
                           b.loaded_version.empty() ? "?" : b.loaded_version.c_str(), b.torch_lib_dir.c_str(),
                           ld_library_path_note(b.torch_lib_dir).c_str());
    std::string fix = fmt("load the LibTorch libltc was built against: remove %s from LD_LIBRARY_PATH (or put %s first), "
                          "or rebuild ltc against the LibTorch you mean to use (LibTorch has no stable C++ ABI across versions)",
                          b.torch_lib_dir.c_str(), built_dir.c_str());
    std::string ev = fmt("compiled in: %s %s (CUDA %s); loaded: %s %s", built_dir.c_str(), built_version.c_str(),
                         built_cuda ? "yes" : "no", b.torch_lib_dir.c_str(), b.loaded_version.c_str());

    bool said = false;
    if (!b.cuda_built) {
        if (b.torch_cuda_on_disk)
            c.add(LTC_CAUSE_CUDA_NOT_LINKED, LTC_SEVERITY_ERROR,
                  "LibTorch has CUDA (libtorch_cuda.so is on disk) but its CUDA half is not loaded in this process, "
                  "so LibTorch reports no GPU",
                  "link the program with CMake's find_package(Torch) targets, or with "
                  "-Wl,--no-as-needed -ltorch_cuda -Wl,--as-needed (the linker's --as-needed dropped it)",
                  fmt("%s exists; dlopen(\"libtorch_cuda.so\", RTLD_NOLOAD) finds it not loaded; CUDA hooks not registered",
                      b.torch_cuda_file.c_str()));
        else if (built_cuda && other_dir) {
            c.add(LTC_CAUSE_LIBTORCH_MISMATCH, LTC_SEVERITY_ERROR, what + ", and that one is CPU-only", fix, ev);
            said = true;
        }
        // else: CPU-only, judged with the driver's facts (write_report names a build that would run)
    }
    if (!said && (other_dir || other_version))
        c.add(LTC_CAUSE_LIBTORCH_MISMATCH, other_version ? LTC_SEVERITY_WARNING : LTC_SEVERITY_INFO, what, fix, ev);
}

}  // namespace ltc_diag
