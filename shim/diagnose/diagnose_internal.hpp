// Internal to the diagnosis (ltc_diagnose): the state one run builds, shared by its layers, each in its own
// file:
//   diagnose_build.cpp        1. the LibTorch build: CUDA or CPU-only, versions, arch list
//   diagnose_loader.cpp       2. what was loaded: the CUDA half in the process, the LibTorch built against
//   diagnose_driver.cpp       3. the driver libraries (libcuda, NVML) and what their codes mean
//   diagnose_environment.cpp  4. outside the process: PCI bus, device nodes, kernel modules, containers,
//                                WSL, batch jobs, CUDA_VISIBLE_DEVICES (and the child probe)
//   diagnose_proofs.cpp       5-6. each device, proofs by work, the variables that steer a failing library
//   diagnose_libraries.cpp    7. every CUDA-related library in the link map, duplicates
//   diagnose_advice.cpp       the driver-floor and LibTorch-build table
//   diagnose_errors.cpp       LibTorch's error texts read: the cause a proof's error names, the PYTORCH_*
//                                settings LibTorch rejects, the first-line rule for messages
//   diagnose_report.cpp       the verdict; the typed report (diagnose_report.hpp) rendered as JSON and text
//   diagnose_json.cpp         the JSON value, written with shim/common/json.c, and its parser
//   diagnose.cpp              the public functions
// The first layer that finds an error names the cause. Each layer keeps its raw facts in the Ctx and writes
// what the report says of them into c.report. Nothing here is kept between runs: two threads may diagnose
// at once.
#pragma once

#include "internal.hpp"

#include "cudriver.h"
#include "diagnose_advice.hpp"
#include "diagnose_errors.hpp"
#include "diagnose_report.hpp"

#include <chrono>
#include <climits>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace ltc_diag {

using ltc::fmt;
bool file_exists(const std::string &p);
std::string dir_of(const std::string &p);
std::string base_of(const std::string &p);
std::string real_path(const std::string &p);  // realpath, or p itself
std::string read_first_line(const std::string &path);  // "" when unreadable
std::string read_text(const std::string &path);        // the first 64 KiB; "" when unreadable
double ms_since(std::chrono::steady_clock::time_point t0);
// The report's nulls: an empty text, a value that is not known.
inline Opt<std::string> nonempty(const std::string &s) { return s.empty() ? std::nullopt : Opt<std::string>(s); }
template <class T>
Opt<T> when(bool known, T v) {
    return known ? Opt<T>(std::move(v)) : std::nullopt;
}

// The test seam LTC_DIAGNOSE_SYSROOT=<dir> (ltc::test_seam) makes every probe of /dev, /proc, /sys and the container and WSL
// marker files read <dir>/dev, <dir>/proc, ... instead (docs/diagnosis.md). sys_path("/dev/nvidiactl").
std::string sys_path(const char *abs);

// CUDA_VISIBLE_DEVICES parsed with PyTorch's rules (torch/cuda/__init__.py, _parse_visible_devices).
struct Visibility {
    bool set = false;
    std::string value;
    std::string kind = "ordinals";  // or "uuids" (GPU-), "mig" (MIG-)
    std::vector<std::string> entries;
    std::string why_empty;  // when entries is empty, why
};

// The child process: ltc-cuda-probe with CUDA_VISIBLE_DEVICES removed, and its answer (a JSON object).
struct ChildProbe {
    bool ran = false;
    std::string error;
    bool loaded = false;
    int init = -1, count = -1, version = 0;
    std::vector<std::string> uuids;
    template <class S, class V>
    static void fields(S &s, V &v) {
        v("loaded", s.loaded)("init", s.init)("count", s.count)("version", s.version)("uuids", s.uuids);
    }
};

// Arch list from LibTorch's CUDA config text: "-gencode;arch=compute_90,code=sm_90;..."
struct Arch {
    int major, minor;
    bool ptx;       // code=compute_XX: PTX, JIT-compiled for newer GPUs
    bool specific;  // sm_90a: runs on exactly 9.0
    std::string text;
};

struct Proof {
    bool ran = false, ok = false;
    double ms = 0;
    std::string error;
    ProofReport report() const;  // as the report says it (ms rounded to the microsecond)
};

// A PCI display device (class 0x03xxxx), or an NVIDIA 3D controller.
struct PciGpu {
    std::string address, vendor, device, cls, driver;  // "0000:65:00.0", "0x10de", "0x2330", "0x030200", "nvidia"
};

// Libraries in the link map that matter to CUDA.
struct Lib {
    std::string name, path, real;
    bool from_ld_library_path = false;
};

struct BuildFacts {
    ltc_build_info bi{};
    bool cuda_built = false, torch_cuda_on_disk = false, torch_cuda_loaded = false;
    std::string torch_lib_dir, torch_cuda_file;
    long cudart = 0, cudnn_runtime = 0;
    int nccl_runtime = 0;
    std::string loaded_version;  // TORCH_VERSION of the loaded libtorch_cpu (at::show_config)
    bool loaded_says_cuda = false;
    std::vector<Arch> archs;
};

struct DriverFacts {
    std::unique_ptr<ltc_cudrv> drv;    // libcuda: on the heap, per run (large)
    std::unique_ptr<ltc_nvml> nvml;    // NVML, when probed (see need_nvml)
    std::string kernel_module;         // from /proc/driver/nvidia/version
    std::string init_name, init_ev;
    bool stub = false;
    std::string version_text() const;  // "580.95.05" (NVML or the kernel module), else ""
};

struct EnvFacts {
    bool pci_readable = false;
    int pci_devices = 0;
    std::vector<PciGpu> gpus;          // display devices of any vendor
    std::string container;             // "docker", "podman", "kubernetes", "lxc", "container"; "" when none seen
    bool wsl = false;
    std::string wsl_libcuda;           // /usr/lib/wsl/lib/libcuda.so.1 when present
    bool slurm = false;
    std::string slurm_job, slurm_gpus; // SLURM_JOB_ID; SLURM_JOB_GPUS / SLURM_STEP_GPUS / SLURM_GPUS*
    bool mod_nvidia = false, mod_uvm = false, mod_nouveau = false;
    int secure_boot = -1;              // 1 on, 0 off, -1 unknown
    std::string sysroot;
    struct Node {
        std::string path, state;       // "ok", "missing", "no access"
        int err = 0;
        std::string owner_group, mode;
    };
    std::vector<Node> nodes;
    std::string user_groups;
    Visibility vis;
    ChildProbe child;
    bool nvidia_pci() const;
    bool other_vendor_gpu(std::string *which) const;
};

// One run of the diagnosis: every layer reads and adds to it.
struct Ctx {
    unsigned flags = 0;
    bool quick = false;
    std::chrono::steady_clock::time_point t_start;
    std::vector<Finding> findings;
    size_t primary = SIZE_MAX;
    Report report;  // what the layers conclude, for the renderers
    BuildFacts b;
    DriverFacts d;
    EnvFacts e;
    int torch_count = 0;
    std::string torch_warning;
    int usable_devices = 0;
    bool alloc_rejected = false;  // LibTorch rejects the allocator settings: every CUDA allocation would fail
    Proof nccl;
    std::vector<Lib> libs;

    void add(ltc_cause c, ltc_severity s, std::string msg, std::string fix, std::string ev);
    void add(Finding f);  // a multi-line message keeps its first line; the whole text goes to the evidence
    bool failed() const { return primary != SIZE_MAX; }
    ltc_cause cause() const { return failed() ? findings[primary].code : LTC_CAUSE_NONE; }
};

// The layers, in order.
void probe_build(Ctx &c);            // fills c.b and the report's build section
void judge_build(Ctx &c);            // CPU-only, cuDNN mismatch
void judge_loader(Ctx &c);           // CUDA half not loaded; built against vs loaded LibTorch
void probe_driver(Ctx &c);           // libcuda, kernel module version
bool need_nvml(const Ctx &c);        // whether NVML must be read (never on a healthy --quick run)
void probe_nvml(Ctx &c);
void probe_environment(Ctx &c);      // PCI, containers, WSL, batch jobs, modules, nodes, CUDA_VISIBLE_DEVICES
void judge_driver(Ctx &c);           // the driver's codes read with the environment: the cause and the fix
void report_driver(Ctx &c);          // the report's driver and NVML sections
void report_environment(Ctx &c);     // ... its visibility, device nodes and machine
void judge_settings(Ctx &c);         // the PYTORCH_* settings LibTorch reads, through its own parser
void judge_libtorch_view(Ctx &c);    // LibTorch's own device count against the driver's
void run_devices_and_proofs(Ctx &c); // each device, the arch list, the proofs by work
void collect_libraries(Ctx &c);      // the link map
void finish_report(Ctx &c, ltc_diagnosis *out);  // the verdict; the report and its renderings into *out

// Helpers shared by the layers.
Visibility parse_visible_devices();
ChildProbe run_child_probe();
std::vector<Arch> parse_arch_list(const std::string &config);
bool arch_covers(const std::vector<Arch> &archs, int major, int minor);
std::string arch_list_text(const std::vector<Arch> &archs);
// Who holds the memory of cuda:<cuda_index>, from NVML: "GPU 0 has 3 MiB free of 81559 MiB, held by PID 4242
// (python3, 81000 MiB)"; "" when NVML was not read or cannot say.
std::string memory_holders(const Ctx &c, int cuda_index);
// The allocator-settings keys this LibTorch accepts, sorted (its own list: the device-generic keys and
// those the CUDA half registers).
std::vector<std::string> accepted_alloc_keys();
// Names every set variable that steers `lib` as a suspect (a warning finding each) and returns the text to
// append to the failing finding's fix ("" when none is set).
std::string name_suspects(Ctx &c, ltc_advice::Library lib, const char *what);

}  // namespace ltc_diag

