// A .pt2 package read as a file: which models it holds, the chosen model's .so, .cpp and metadata, the
// compile command Inductor wrote at the end of the .cpp, and the .so's ELF facts. The folder layout
// follows LibTorch's loader (torch/csrc/inductor/aoti_package/model_package_loader.cpp): the archive's
// folder is taken from its first two entries, and a model is <folder>/data/aotinductor/<name>/.
#include "model_internal.hpp"

#include <algorithm>

namespace ltc_pt2 {

namespace {

const char kNotAPackage[] = "a package is the file torch._inductor.aoti_compile_and_package writes";

std::string folder_of(const std::string &name) { return name.substr(0, name.find('/')); }

bool ends_with(const std::string &s, const char *tail) {
    size_t n = strlen(tail);
    return s.size() >= n && s.compare(s.size() - n, n, tail) == 0;
}

// The archive's folder, as LibTorch's loader takes it: that of entries 0 and 1 when they agree.
std::string prefix_of(const Zip &zip) {
    if (zip.entries.size() < 2)
        return "";
    std::string a = folder_of(zip.entries[0].name), b = folder_of(zip.entries[1].name);
    return !a.empty() && a == b ? a + "/" : "";
}

std::string quoted_list(const std::vector<std::string> &v) {
    std::string s;
    for (size_t i = 0; i < v.size() && i < 8; i++)
        s += (i ? ", \"" : "\"") + v[i] + "\"";
    return v.size() > 8 ? s + ", ..." : s;
}

// The compiler and torch include folder of the "// Compile cmd" line near the end of the .cpp.
void read_compile_command(const Zip &zip, Package &pkg) {
    uint64_t at = 0;
    std::string err, tail;
    if (!zip_data_offset(zip, *pkg.cpp, &at, &err))
        return;
    uint64_t n = std::min<uint64_t>(pkg.cpp->size, 64 * 1024);
    if (!zip_pread(zip, at + pkg.cpp->size - n, (size_t)n, &tail))
        return;
    size_t c = tail.rfind("// Compile cmd\n// ");
    if (c == std::string::npos)
        return;
    std::string line = tail.substr(c + 18, tail.find('\n', c + 18) - (c + 18));
    pkg.compiler = line.substr(0, line.find(' '));
    for (size_t i = line.find(" -I"); i != std::string::npos; i = line.find(" -I", i + 1)) {
        std::string dir = line.substr(i + 3, line.find(' ', i + 3) - (i + 3));
        if (ends_with(dir, "/torch/include"))
            pkg.torch_include = dir;
    }
}

// The metadata JSON, when its bytes can be read (a stored entry); else left empty.
ltc_status read_metadata(const Zip &zip, Package &pkg) {
    uint64_t at = 0;
    std::string err, text;
    if (!zip_data_offset(zip, *pkg.meta, &at, &err) || pkg.meta->size > (1u << 20))
        return LTC_OK;  // compressed by another zip tool: LibTorch reads it, the checks go without it
    if (!zip_pread(zip, at, (size_t)pkg.meta->size, &text))
        return ltc::fail(LTC_ERR_INVALID_ARGUMENT, "%s is damaged: its %s cannot be read", pkg.path.c_str(),
                         pkg.meta->name.c_str());
    std::string why = parse_json_strings(text, &pkg.metadata);
    if (!why.empty())
        return ltc::fail(LTC_ERR_INVALID_ARGUMENT, "%s is damaged: its %s is not AOTInductor's metadata (%s)",
                         pkg.path.c_str(), pkg.meta->name.c_str(), why.c_str());
    return LTC_OK;
}

// The files of model `name`: the .so, the .cpp (the last one, as the loader takes it) and its metadata.
ltc_status find_model_files(const Zip &zip, Package &pkg, const std::string &dir) {
    for (const ZipEntry &e : zip.entries) {
        if (e.name.compare(0, dir.size(), dir) != 0)
            continue;
        if (ends_with(e.name, ".so"))
            pkg.so = &e;
        else if (ends_with(e.name, ".cpp"))
            pkg.cpp = &e;
        else if (ends_with(e.name, ".ptx") || ends_with(e.name, ".fatbin"))
            pkg.kernel_ptx = true;
    }
    const char *p = pkg.path.c_str();
    if (!pkg.so && pkg.cpp)
        return ltc::fail(LTC_ERR_UNSUPPORTED,
                         "%s holds sources only (exported with aot_inductor.package_cpp_only), which LibTorch would "
                         "compile with the shell while loading: export it without package_cpp_only", p);
    if (!pkg.so || !pkg.cpp)
        return ltc::fail(LTC_ERR_INVALID_ARGUMENT, "%s is not a .pt2 package: %s has no %s (%s)", p, dir.c_str(),
                         pkg.so ? "generated .cpp beside its .so" : "compiled .so", kNotAPackage);
    std::string meta = pkg.cpp->name.substr(0, pkg.cpp->name.rfind('.')) + "_metadata.json";
    for (const ZipEntry &e : zip.entries)
        if (e.name == meta)
            pkg.meta = &e;
    if (!pkg.meta)
        return ltc::fail(LTC_ERR_INVALID_ARGUMENT, "%s is not a .pt2 package: it has no %s (AOTInductor's metadata)",
                         p, meta.c_str());
    return LTC_OK;
}

}  // namespace

ltc_status package_read(Package &pkg, Zip &zip, const std::string &path, const std::string &name) {
    pkg.path = path;
    const char *p = path.c_str();
    std::string why = zip_open(zip, path);
    if (!why.empty())
        return ltc::fail(LTC_ERR_INVALID_ARGUMENT, "%s %s; %s", p, why.c_str(), kNotAPackage);
    if (zip.entries.empty())
        return ltc::fail(LTC_ERR_INVALID_ARGUMENT, "%s is not a .pt2 package: the zip archive is empty (%s)", p,
                         kNotAPackage);
    pkg.prefix = prefix_of(zip);
    std::string root = pkg.prefix + "data/aotinductor/";
    for (const ZipEntry &e : zip.entries) {
        size_t slash = e.name.find('/', root.size());
        if (e.name.compare(0, root.size(), root) == 0 && slash != std::string::npos && slash > root.size()) {
            std::string m = e.name.substr(root.size(), slash - root.size());
            if (std::find(pkg.models.begin(), pkg.models.end(), m) == pkg.models.end())
                pkg.models.push_back(m);
        }
    }
    if (pkg.models.empty())
        return ltc::fail(LTC_ERR_INVALID_ARGUMENT,
                         "%s is not a .pt2 package: it has no %s<model>/ folder (its %zu entr%s begin%s with \"%s\"; %s)",
                         p, root.c_str(), zip.entries.size(), zip.entries.size() == 1 ? "y" : "ies",
                         zip.entries.size() == 1 ? "s" : "", zip.entries[0].name.c_str(), kNotAPackage);
    if (std::find(pkg.models.begin(), pkg.models.end(), name) == pkg.models.end())
        return ltc::fail(LTC_ERR_INVALID_ARGUMENT,
                         "%s holds no model \"%s\": it holds %s (ltc_model_options.model_name picks one)", p,
                         name.c_str(), quoted_list(pkg.models).c_str());
    LTC_RETURN_IF_ERROR(find_model_files(zip, pkg, root + name + "/"));
    LTC_RETURN_IF_ERROR(read_metadata(zip, pkg));
    read_compile_command(zip, pkg);
    uint64_t at = 0;
    std::string err;
    if (zip_data_offset(zip, *pkg.so, &at, &err))
        pkg.elf = elf_read(zip, at, pkg.so->size);
    else
        pkg.elf.error = "the .so cannot be read in place: " + err;
    return LTC_OK;
}

}  // namespace ltc_pt2
