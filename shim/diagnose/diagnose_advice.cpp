// The advice table (see diagnose_advice.hpp). The one place in the project that knows driver floors and
// LibTorch builds: update it here when NVIDIA or PyTorch publish a release.
#include "diagnose_advice.hpp"

#include <cstdio>
#include <cstring>

namespace ltc_advice {

const char *const table_source =
    "NVIDIA's CUDA Toolkit release notes, table 3 (minimum Linux driver per CUDA release) and the CUDA "
    "Compatibility guide (minor-version compatibility); PyTorch's release matrix (CUDA builds per release)";

namespace {

// Minimum Linux x86_64 driver per CUDA release: NVIDIA's CUDA Toolkit release notes, table 3.
const struct {
    int cuda;
    const char *driver;
} floors[] = {
    {11080, "520.61.05"}, {12000, "525.60.13"}, {12010, "530.30.02"}, {12020, "535.54.03"},
    {12030, "545.23.06"}, {12040, "550.54.14"}, {12050, "555.42.02"}, {12060, "560.28.03"},
    {12080, "570.26"},    {12090, "575.51.03"}, {13000, "580.65.06"}, {13010, "590.44.01"},
};

// Minor-version compatibility (CUDA Compatibility guide): within one major, a build runs on any driver of
// that family, without PTX JIT of newer PTX.
const struct {
    int major;
    const char *driver;
} families[] = {{11, "450.80.02"}, {12, "525.60.13"}, {13, "580.65.06"}};

// PyTorch's CUDA builds per release (newest first): the pip wheels under download.pytorch.org/whl/cuXXX
// and the LibTorch zips under download.pytorch.org/libtorch/cuXXX/.
const struct {
    const char *torch;
    int cuda[3];
} releases[] = {
    {"2.11.0", {12060, 12080, 13000}}, {"2.10.0", {12060, 12080, 13000}}, {"2.9.0", {12060, 12080, 13000}},
    {"2.8.0", {12060, 12080, 12090}},  {"2.7.0", {11080, 12060, 12080}},  {"2.6.0", {11080, 12040, 12060}},
    {"2.5.0", {11080, 12010, 12040}},
};

std::string fmt_int(int v) { return std::to_string(v); }

}  // namespace

std::string cuda_text(int cuda) {
    if (cuda <= 0)
        return "none";
    return fmt_int(cuda / 1000) + "." + fmt_int((cuda % 1000) / 10);
}

std::string cuda_tag(int cuda) { return "cu" + fmt_int(cuda / 1000) + fmt_int((cuda % 1000) / 10); }

const char *min_driver(int cuda) {
    const char *best = nullptr;
    for (const auto &f : floors)
        if (f.cuda / 1000 == cuda / 1000 && f.cuda <= cuda)
            best = f.driver;
    return best;
}

const char *family_min_driver(int major) {
    for (const auto &f : families)
        if (f.major == major)
            return f.driver;
    return nullptr;
}

bool build_for_driver(int driver_cuda, Build *out) {
    if (driver_cuda <= 0)
        return false;
    for (const auto &r : releases) {
        int exact = 0, compat = 0;
        for (int c : r.cuda) {
            if (c <= driver_cuda && c > exact)
                exact = c;  // the driver supports it outright
            if (c > driver_cuda && c / 1000 == driver_cuda / 1000 && family_min_driver(c / 1000) && (!compat || c < compat))
                compat = c;  // same major, newer minor: minor-version compatibility
        }
        int pick = exact ? exact : compat;
        if (!pick)
            continue;
        out->torch = r.torch;
        out->cuda = pick;
        out->by_compat = !exact;
        out->also.clear();
        for (int c : r.cuda)
            if (c != pick && (c <= driver_cuda || (c / 1000 == driver_cuda / 1000 && family_min_driver(c / 1000))))
                out->also.push_back(c);
        return true;
    }
    return false;
}

std::string pip_command(const Build &b) {
    return "pip install torch==" + b.torch + " --index-url https://download.pytorch.org/whl/" + cuda_tag(b.cuda);
}

std::string libtorch_folder(const Build &b) { return "https://download.pytorch.org/libtorch/" + cuda_tag(b.cuda) + "/"; }

std::string driver_supports(int driver_cuda, const std::string &driver_text) {
    return "the driver" + (driver_text.empty() ? std::string() : " (" + driver_text + ")") + " supports CUDA up to " +
           cuda_text(driver_cuda);
}

std::string driver_needed(int torch_cuda) {
    if (torch_cuda <= 0)
        return "";
    const char *exact = min_driver(torch_cuda);
    const char *family = family_min_driver(torch_cuda / 1000);
    if (!exact && !family)
        return "this LibTorch's CUDA " + cuda_text(torch_cuda) + " needs a driver for CUDA " + cuda_text(torch_cuda) + " or newer";
    std::string s = "this LibTorch (CUDA " + cuda_text(torch_cuda) + ") needs driver >= " + (exact ? exact : family);
    if (exact && family && strcmp(exact, family) != 0)
        s += std::string(" (>= ") + family + " under CUDA's minor-version compatibility)";
    return s;
}

std::string build_advice(int driver_cuda) {
    Build b;
    if (!build_for_driver(driver_cuda, &b))
        return "no LibTorch build in the table runs on a driver for CUDA " + cuda_text(driver_cuda) + ": upgrade the driver";
    std::string s = "a LibTorch that runs on this driver now: " + pip_command(b) + " (CUDA " + cuda_text(b.cuda);
    if (b.by_compat)
        s += ", under CUDA's minor-version compatibility";
    for (int c : b.also)
        s += "; " + cuda_tag(c) + " too";
    s += "), or the LibTorch zip of torch " + b.torch + " from " + libtorch_folder(b);
    return s;
}

std::vector<std::string> suspect_variables(char **envp, Library lib) {
    std::vector<const char *> prefixes = {"CUDA_", "PYTORCH_CUDA_ALLOC_CONF="};
    if (lib == Library::Nccl)
        prefixes.push_back("NCCL_");
    if (lib == Library::Cudnn)
        prefixes.push_back("CUDNN_");
    if (lib == Library::Cublas) {
        prefixes.push_back("CUBLAS_");
        prefixes.push_back("CUBLASLT_");
    }
    // names that only say where or which version something is: set by installers and images, steer nothing
    static const char *const quiet[] = {"CUDA_VISIBLE_DEVICES", "CUDA_HOME", "CUDA_PATH", "CUDA_ROOT", "CUDA_VERSION",
                                        "CUDA_TOOLKIT_ROOT_DIR", "CUDA_DRIVER_VERSION", "NCCL_VERSION", "CUDNN_VERSION",
                                        "CUDA_PKG_VERSION", "CUDA_MAJOR_VERSION", "CUDA_MINOR_VERSION"};
    std::vector<std::string> out;
    for (char **e = envp; e && *e; e++) {
        const char *eq = strchr(*e, '=');
        if (!eq)
            continue;
        std::string name(*e, (size_t)(eq - *e));
        bool hit = false;
        for (const char *p : prefixes)
            hit |= strncmp(*e, p, strlen(p)) == 0;
        for (const char *q : quiet)
            hit &= name != q;
        hit &= name.size() < 8 || (name.compare(name.size() - 8, 8, "_VERSION") != 0 && name.compare(name.size() - 5, 5, "_HOME") != 0 &&
                                   name.compare(name.size() - 5, 5, "_PATH") != 0 && name.compare(name.size() - 4, 4, "_DIR") != 0);
        if (hit)
            out.emplace_back(*e);
    }
    return out;
}

}  // namespace ltc_advice
