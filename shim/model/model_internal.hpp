// Internal to libltc's model wing (ltc/model.h): what the package checks read from a .pt2 file without
// loading it, and the checks' entry points. One object per file:
//   model_zip.cpp      the zip archive: its central directory, stored entries' bytes
//   model_package.cpp  the package: its models, the model's files, the metadata, the compile command
//   model_metadata.cpp the metadata's JSON, and the exporter's record of inputs and outputs
//   model_elf.cpp      the model's .so read as an ELF file: NEEDED libraries, dynamic symbols
//   model_checks.cpp   those facts against this process and machine: each refusal and its message
//   model_child.cpp    the load in a child process (ltc-model-probe)
//   model.cpp          the C API over torch::inductor::AOTIModelPackageLoader
//   model_probe.c      ltc-model-probe, the child process's program
#pragma once

#include "internal.hpp"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace ltc_pt2 {

// One entry of the zip's central directory.
struct ZipEntry {
    std::string name;
    uint64_t local_offset = 0;  // its local header
    uint64_t size = 0;          // uncompressed
    uint16_t method = 0;        // 0 stored; anything else compressed
};

// An open zip archive. Reads go through the file descriptor, at offsets: nothing is extracted.
struct Zip {
    int fd = -1;
    uint64_t file_size = 0;
    std::vector<ZipEntry> entries;
    Zip() = default;
    Zip(const Zip &) = delete;
    Zip &operator=(const Zip &) = delete;
    ~Zip();
};

// Opens path and reads its central directory; "" on success, else why not (in words, for a message).
std::string zip_open(Zip &zip, const std::string &path);
// The file offset where a stored entry's bytes begin; false (err says why) for a compressed one.
bool zip_data_offset(const Zip &zip, const ZipEntry &e, uint64_t *out, std::string *err);
// Reads len bytes at file offset off; false on a short read.
bool zip_pread(const Zip &zip, uint64_t off, size_t len, std::string *out);

// What the dynamic section and symbols of the model's .so say.
struct ElfFacts {
    bool read = false;               // false: not read (compressed entry) or not ELF (error says why)
    std::string error;
    int elf_class = 0;               // 1 ELF32, 2 ELF64
    int machine = 0;                 // e_machine
    std::vector<std::string> needed; // DT_NEEDED
    int locale_symbols = 0;          // std::locale symbols the .so defines itself
    std::vector<std::string> torch_calls;  // undefined, non-weak aoti_torch_* symbols it calls
};

// Reads the ELF file that starts at file offset base (size bytes) of the zip.
ElfFacts elf_read(const Zip &zip, uint64_t base, uint64_t size);
// "x86-64", "AArch64", ... for an e_machine value; "machine <n>" otherwise.
std::string elf_machine_name(int machine);
// This process's e_machine.
int elf_host_machine();

// One package, as read before loading: the model's files and what they record.
struct Package {
    std::string path;
    std::string prefix;                   // "m/" (the archive's folder) or ""
    std::vector<std::string> models;      // names under <prefix>data/aotinductor/
    const ZipEntry *so = nullptr, *cpp = nullptr, *meta = nullptr;
    bool kernel_ptx = false;              // a .ptx or .fatbin beside it: kernels the driver can JIT
    std::map<std::string, std::string> metadata;
    std::string compiler;                 // from the .cpp's "// Compile cmd" line ("" if none)
    std::string torch_include;            // its -I.../torch/include ("" if none)
    ElfFacts elf;
};

// Reads the package for model `name`. LTC_OK, or a refusal (the message names path and cause).
ltc_status package_read(Package &pkg, Zip &zip, const std::string &path, const std::string &name);

// A flat JSON object of strings into out; "" on success, else why not.
std::string parse_json_strings(const std::string &text, std::map<std::string, std::string> *out);

// One input or output as the exporter recorded it (ltc.inputs, ltc.outputs).
struct IoSpec {
    std::string name, dtype;  // dtype "" when unknown
    int ndim = -1;
    int64_t shape[LTC_MAX_DIMS] = {};
};
// "x:float32:[-1,64];y:int64:[]" into out; false when it does not parse (then nothing is recorded).
bool parse_io_specs(const std::string &text, std::vector<IoSpec> *out);

// The refusals that need the machine: libstdc++, torch, ELF machine, CPU ISA, CUDA. On success
// *device is where the model will run (CUDA: an explicit index).
ltc_status check_package(const Package &pkg, int device_index, c10::Device *device);

// Loads the package in ltc-model-probe; LTC_OK when the child loaded it.
ltc_status load_in_child(const std::string &path, const std::string &model_name, const c10::Device &device,
                         int runners);

}  // namespace ltc_pt2
