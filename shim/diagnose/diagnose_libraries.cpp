// 7. What actually loaded: every CUDA-related library in the link map with its real path, copies that
// came from LD_LIBRARY_PATH, and two copies of one library.
#include "diagnose_internal.hpp"

#include <link.h>
#include <sstream>

namespace ltc_diag {

namespace {

int collect_lib(struct dl_phdr_info *info, size_t, void *data) {
    auto *libs = static_cast<std::vector<Lib> *>(data);
    if (!info->dlpi_name || !*info->dlpi_name)
        return 0;
    std::string path = info->dlpi_name, name = base_of(path);
    static const char *const prefixes[] = {"libtorch", "libc10", "libcuda.", "libcudart", "libcublas", "libcudnn",
                                           "libnccl",  "libnvrtc", "libnvJitLink", "libcusparse", "libcufft",
                                           "libcurand", "libnvidia-ml", "libltc"};
    for (const char *p : prefixes)
        if (name.rfind(p, 0) == 0) {
            libs->push_back(Lib{name, path, real_path(path), false});
            break;
        }
    return 0;
}

}  // namespace

void collect_libraries(Ctx &c) {
    std::vector<Lib> &libs = c.libs;
    dl_iterate_phdr(collect_lib, &libs);
    std::vector<std::string> ldpath;
    if (const char *lp = getenv("LD_LIBRARY_PATH")) {
        std::stringstream ss(lp);
        std::string e;
        while (std::getline(ss, e, ':'))
            if (!e.empty())
                ldpath.push_back(real_path(e));
    }
    for (const char *loaded : {c.d.drv->loaded ? c.d.drv->path : "", c.d.nvml && c.d.nvml->loaded ? c.d.nvml->path : ""}) {
        if (!*loaded)
            continue;
        bool listed = false;
        for (const auto &l : libs)
            listed |= l.real == loaded;
        if (!listed)
            libs.push_back(Lib{base_of(loaded), loaded, loaded, false});
    }
    std::map<std::string, std::vector<const Lib *>> by_name;
    for (auto &l : libs) {
        for (const auto &e : ldpath)
            l.from_ld_library_path |= dir_of(l.real) == e || dir_of(l.path) == e;
        c.report.libraries.push_back({l.name, l.real, l.from_ld_library_path});
        by_name[l.name.substr(0, l.name.find(".so"))].push_back(&l);
    }
    for (const auto &kv : by_name) {
        std::vector<std::string> paths;
        for (const Lib *l : kv.second) {
            bool seen = false;
            for (const auto &p : paths)
                seen |= p == l->real;
            if (!seen)
                paths.push_back(l->real);
        }
        if (paths.size() > 1) {
            std::string ev;
            for (const Lib *l : kv.second)
                ev += (ev.empty() ? "" : "; ") + l->real + (l->from_ld_library_path ? " (from LD_LIBRARY_PATH)" : "");
            c.add(LTC_CAUSE_DUPLICATE_LIBRARY, LTC_SEVERITY_WARNING,
                  fmt("two copies of %s are loaded: %s and %s", kv.first.c_str(), paths[0].c_str(), paths[1].c_str()),
                  "remove the extra copy's folder from LD_LIBRARY_PATH so only LibTorch's own is loaded", ev);
        }
    }
}

}  // namespace ltc_diag
