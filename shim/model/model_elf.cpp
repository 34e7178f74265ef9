// The model's .so read as an ELF file inside the zip, without dlopen: its class and machine, the
// libraries it needs (DT_NEEDED), the std::locale symbols it defines itself (a private static libstdc++)
// and the aoti_torch_* functions it calls (LibTorch's AOTInductor C shim). 64-bit little-endian ELF only;
// anything else is reported by class and machine.
#include "model_internal.hpp"

namespace ltc_pt2 {

namespace {

uint64_t le(const std::string &b, size_t at, int n) {
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--)
        v = (v << 8) | (unsigned char)b[at + i];
    return v;
}

struct Section {
    uint64_t type = 0, offset = 0, size = 0, link = 0, entsize = 0;
};

const uint64_t kMaxTable = 64u << 20;  // bounds what a damaged header can make us read

// The bytes of one section; false when it lies outside the file or is absurdly large.
bool section_bytes(const Zip &zip, uint64_t base, uint64_t file_size, const Section &s, std::string *out) {
    return s.size <= kMaxTable && s.offset + s.size <= file_size && zip_pread(zip, base + s.offset, (size_t)s.size, out);
}

std::string cstr(const std::string &table, uint64_t at) {
    return at < table.size() ? std::string(table.c_str() + at) : std::string();
}

bool is_locale_symbol(const std::string &n) {
    return n.compare(0, 12, "_ZNSt6locale") == 0 || n.compare(0, 13, "_ZNKSt6locale") == 0;
}

// DT_NEEDED entries of the dynamic section, names from its string table.
void read_needed(const Zip &zip, uint64_t base, uint64_t size, const std::vector<Section> &sh, ElfFacts &f) {
    for (const Section &s : sh) {
        std::string dyn, str;
        if (s.type != 6 /* SHT_DYNAMIC */ || s.link >= sh.size() || !section_bytes(zip, base, size, s, &dyn) ||
            !section_bytes(zip, base, size, sh[s.link], &str))
            continue;
        for (size_t at = 0; at + 16 <= dyn.size(); at += 16) {
            uint64_t tag = le(dyn, at, 8);
            if (tag == 0)
                break;
            if (tag == 1 /* DT_NEEDED */)
                f.needed.push_back(cstr(str, le(dyn, at + 8, 8)));
        }
    }
}

// .dynsym: the std::locale symbols defined here, and the aoti_torch_* functions called from here.
void read_dynsym(const Zip &zip, uint64_t base, uint64_t size, const std::vector<Section> &sh, ElfFacts &f) {
    for (const Section &s : sh) {
        std::string sym, str;
        if (s.type != 11 /* SHT_DYNSYM */ || s.link >= sh.size() || !section_bytes(zip, base, size, s, &sym) ||
            !section_bytes(zip, base, size, sh[s.link], &str))
            continue;
        for (size_t at = 24; at + 24 <= sym.size(); at += 24) {  // entry 0 is the null symbol
            std::string name = cstr(str, le(sym, at, 4));
            int bind = (unsigned char)sym[at + 4] >> 4;
            bool defined = le(sym, at + 6, 2) != 0;  // st_shndx != SHN_UNDEF
            if (defined && is_locale_symbol(name))
                f.locale_symbols++;
            else if (!defined && bind != 2 /* STB_WEAK */ && name.compare(0, 10, "aoti_torch") == 0)
                f.torch_calls.push_back(name);
        }
    }
}

}  // namespace

ElfFacts elf_read(const Zip &zip, uint64_t base, uint64_t size) {
    ElfFacts f;
    std::string h;
    if (size < 64 || !zip_pread(zip, base, 64, &h) || h.compare(0, 4, "\x7f" "ELF", 4) != 0) {
        f.error = "the .so is not an ELF file";
        return f;
    }
    f.elf_class = (unsigned char)h[4];
    f.machine = (int)le(h, 18, 2);
    if (f.elf_class != 2 || h[5] != 1) {
        f.error = f.elf_class == 1 ? "a 32-bit ELF file" : "not a 64-bit little-endian ELF file";
        return f;
    }
    uint64_t shoff = le(h, 40, 8), shentsize = le(h, 58, 2), shnum = le(h, 60, 2);
    std::string table;
    if (shentsize < 64 || shnum == 0 || shoff + shnum * shentsize > size ||
        !zip_pread(zip, base + shoff, (size_t)(shnum * shentsize), &table)) {
        f.error = "its section headers cannot be read";
        return f;
    }
    std::vector<Section> sh(shnum);
    for (uint64_t i = 0; i < shnum; i++) {
        size_t at = (size_t)(i * shentsize);
        sh[i] = {le(table, at + 4, 4), le(table, at + 24, 8), le(table, at + 32, 8), le(table, at + 40, 4),
                 le(table, at + 56, 8)};
    }
    read_needed(zip, base, size, sh, f);
    read_dynsym(zip, base, size, sh, f);
    f.read = true;
    return f;
}

std::string elf_machine_name(int machine) {
    switch (machine) {
    case 3: return "x86 (32-bit)";
    case 21: return "PowerPC 64";
    case 22: return "IBM Z (s390)";
    case 40: return "ARM (32-bit)";
    case 62: return "x86-64";
    case 183: return "AArch64";
    case 243: return "RISC-V";
    }
    return "machine " + std::to_string(machine);
}

int elf_host_machine() {
#if defined(__x86_64__)
    return 62;
#elif defined(__aarch64__)
    return 183;
#elif defined(__powerpc64__)
    return 21;
#elif defined(__s390x__)
    return 22;
#elif defined(__riscv)
    return 243;
#else
    return 0;  // unknown: not compared
#endif
}

}  // namespace ltc_pt2
