// The diagnosis's report, typed: everything one run of ltc_diagnose found, in the shape of its JSON
// document. The layers fill it (diagnose_internal.hpp); the JSON, the text, the facts of ltc_diagnosis_get
// and the accessors are all rendered from it (diagnose_report.cpp). The cross-rank check sends it between
// ranks as its JSON and reads it back into this type (read_report), so rank 0 renders every rank's report
// with the same renderers.
//
// Each struct lists its members once, in the document's order, each with its name in the document:
//   template <class S, class V> static void fields(S &s, V &v) { v("name", s.name)("size", s.size); }
// (S is the struct, const or not; v returns itself); to_json and from_json walk that list. A member maps to JSON as: bool;
// a number; std::string; Opt<T> (null when empty); std::vector<T> (an array); Members<T> (an object whose
// names are data, e.g. device nodes by path); ltc_cause and ltc_severity by name; a struct (an object).
// Standard C++ and ltc.h only.
#pragma once

#include "ltc.h"

#include "diagnose_errors.hpp"
#include "diagnose_json.hpp"

#include <climits>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace ltc_diag {

using ltc_json::J;
const char *severity_name(ltc_severity s);  // "error", "warning", "info"
template <class T>
using Opt = std::optional<T>;
template <class T>
struct Members : std::vector<std::pair<std::string, T>> {};

// A proof by work: ran, passed, how long, LibTorch's error.
struct ProofReport {
    bool ran = false;
    Opt<bool> ok;
    Opt<double> ms;
    Opt<std::string> error;
    template <class S, class V>
    static void fields(S &s, V &v) {
        v("ran", s.ran)("ok", s.ok)("ms", s.ms)("error", s.error);
    }
};

struct CauseReport {  // the verdict: the primary finding's
    ltc_cause code = LTC_CAUSE_NONE;
    std::string summary, message, fix;
    template <class S, class V>
    static void fields(S &s, V &v) {
        v("code", s.code)("summary", s.summary)("message", s.message)("fix", s.fix);
    }
};

struct TorchBuildReport {  // a LibTorch: the one built against, the one loaded
    Opt<std::string> torch_library_dir, torch_version;
    bool cuda = false;
    template <class S, class V>
    static void fields(S &s, V &v) {
        v("torch_library_dir", s.torch_library_dir)("torch_version", s.torch_version)("cuda", s.cuda);
    }
};

struct BuildReport {
    std::string torch_version, torch_library_dir;
    bool cuda_built = false, libtorch_cuda_on_disk = false, libtorch_cuda_loaded = false;
    Opt<long> cuda_runtime_version, cudnn_version, cudnn_runtime_version, nccl_version, nccl_runtime_version;
    Opt<std::vector<std::string>> arch_list;  // "sm_90", "compute_90": known once a GPU works
    TorchBuildReport built_against, loaded;
    template <class S, class V>
    static void fields(S &s, V &v) {
        v("torch_version", s.torch_version)("torch_library_dir", s.torch_library_dir)("cuda_built", s.cuda_built)
         ("libtorch_cuda_on_disk", s.libtorch_cuda_on_disk)("libtorch_cuda_loaded", s.libtorch_cuda_loaded)
         ("cuda_runtime_version", s.cuda_runtime_version)("cudnn_version", s.cudnn_version)
         ("cudnn_runtime_version", s.cudnn_runtime_version)("nccl_version", s.nccl_version)
         ("nccl_runtime_version", s.nccl_runtime_version)("arch_list", s.arch_list)("built_against", s.built_against)
         ("loaded", s.loaded);
    }
};

struct DriverReport {
    struct Init {
        Opt<int> code;
        Opt<std::string> name;
        template <class S, class V>
        static void fields(S &s, V &v) {
            v("code", s.code)("name", s.name);
        }
    };
    struct Advice {  // the working combination for this driver, from the advice table
        Opt<std::string> supports_cuda, libtorch_needs_driver, pip;
        std::string source;
        template <class S, class V>
        static void fields(S &s, V &v) {
            v("supports_cuda", s.supports_cuda)("libtorch_needs_driver", s.libtorch_needs_driver)("pip", s.pip)
             ("source", s.source);
        }
    };
    bool loaded = false;
    Opt<std::string> library, dlopen_error;
    Init cuInit;
    Opt<int> version, device_count;
    Opt<std::string> kernel_module_version;
    Advice advice;
    template <class S, class V>
    static void fields(S &s, V &v) {
        v("loaded", s.loaded)("library", s.library)("dlopen_error", s.dlopen_error)("cuInit", s.cuInit)("version", s.version)
         ("device_count", s.device_count)("kernel_module_version", s.kernel_module_version)("advice", s.advice);
    }
};

struct NvmlReport {
    struct Process {
        long long pid = 0;
        Opt<long long> used_bytes;
        template <class S, class V>
        static void fields(S &s, V &v) {
            v("pid", s.pid)("used_bytes", s.used_bytes);
        }
    };
    struct Device {
        std::string handle;
        Opt<std::string> name, uuid, compute_mode;
        Opt<bool> mig;
        Opt<long long> memory_free_bytes, memory_total_bytes, ecc_uncorrected;
        std::vector<Process> processes;
        template <class S, class V>
        static void fields(S &s, V &v) {
            v("handle", s.handle)("name", s.name)("uuid", s.uuid)("compute_mode", s.compute_mode)("mig", s.mig)
             ("memory_free_bytes", s.memory_free_bytes)("memory_total_bytes", s.memory_total_bytes)
             ("ecc_uncorrected", s.ecc_uncorrected)("processes", s.processes);
        }
    };
    bool loaded = false;
    Opt<std::string> library, dlopen_error, init, driver_version;
    Opt<int> device_count;
    std::vector<Device> devices;
    template <class S, class V>
    static void fields(S &s, V &v) {
        v("loaded", s.loaded)("library", s.library)("dlopen_error", s.dlopen_error)("init", s.init)
         ("driver_version", s.driver_version)("device_count", s.device_count)("devices", s.devices);
    }
};

struct VisibilityReport {
    Opt<std::string> CUDA_VISIBLE_DEVICES;
    Opt<std::vector<std::string>> parsed;
    Opt<std::string> kind;
    Opt<int> count_without_it;  // what the child process saw without the variable
    Opt<std::string> probe_error;
    template <class S, class V>
    static void fields(S &s, V &v) {
        v("CUDA_VISIBLE_DEVICES", s.CUDA_VISIBLE_DEVICES)("parsed", s.parsed)("kind", s.kind)
         ("count_without_it", s.count_without_it)("probe_error", s.probe_error);
    }
};

struct MachineReport {
    struct PciGpu {
        std::string address, vendor, device, cls;
        Opt<std::string> driver;
        template <class S, class V>
        static void fields(S &s, V &v) {
            v("address", s.address)("vendor", s.vendor)("device", s.device)("class", s.cls)("driver", s.driver);
        }
    };
    struct Modules {
        bool nvidia = false, nvidia_uvm = false, nouveau = false;
        template <class S, class V>
        static void fields(S &s, V &v) {
            v("nvidia", s.nvidia)("nvidia_uvm", s.nvidia_uvm)("nouveau", s.nouveau);
        }
    };
    Opt<std::vector<PciGpu>> pci_gpus;  // null when the PCI bus cannot be read
    Opt<int> pci_devices;
    Opt<bool> nvidia_gpu_on_pci;
    Opt<std::string> container;
    bool wsl = false;
    Opt<std::string> slurm_job, slurm_gpus;
    Modules kernel_modules;
    Opt<bool> secure_boot;
    std::string user_groups;
    Opt<std::string> sysroot;
    template <class S, class V>
    static void fields(S &s, V &v) {
        v("pci_gpus", s.pci_gpus)("pci_devices", s.pci_devices)("nvidia_gpu_on_pci", s.nvidia_gpu_on_pci)
         ("container", s.container)("wsl", s.wsl)("slurm_job", s.slurm_job)("slurm_gpus", s.slurm_gpus)
         ("kernel_modules", s.kernel_modules)("secure_boot", s.secure_boot)("user_groups", s.user_groups)("sysroot", s.sysroot);
    }
};

struct LibTorchReport {
    int device_count = 0;    // GPUs LibTorch sees
    int usable_devices = 0;  // ... that are covered by the build and passed their proofs (all, with --quick)
    Opt<std::string> init_warning;
    template <class S, class V>
    static void fields(S &s, V &v) {
        v("device_count", s.device_count)("usable_devices", s.usable_devices)("init_warning", s.init_warning);
    }
};

struct DeviceReport {
    struct Proofs {
        ProofReport matmul, cudnn_conv;
        template <class S, class V>
        static void fields(S &s, V &v) {
            v("matmul", s.matmul)("cudnn_conv", s.cudnn_conv);
        }
    };
    int index = 0;
    std::string name;
    Opt<std::string> uuid;
    std::string capability;  // "9.0"
    long long memory_bytes = 0;
    int sm_count = 0;
    Opt<bool> arch_in_build;  // null when the arch list is unknown
    Proofs proofs;
    template <class S, class V>
    static void fields(S &s, V &v) {
        v("index", s.index)("name", s.name)("uuid", s.uuid)("capability", s.capability)("memory_bytes", s.memory_bytes)
         ("sm_count", s.sm_count)("arch_in_build", s.arch_in_build)("proofs", s.proofs);
    }
};

struct NcclReport : ProofReport {  // the all-reduce over every GPU
    Opt<int> devices;
    template <class S, class V>
    static void fields(S &s, V &v) {
        ProofReport::fields(s, v);
        v("devices", s.devices);
    }
};

struct LibraryReport {
    std::string name, path;  // path: the real one
    bool from_ld_library_path = false;
    template <class S, class V>
    static void fields(S &s, V &v) {
        v("name", s.name)("path", s.path)("from_ld_library_path", s.from_ld_library_path);
    }
};

struct Report {
    std::string ltc_version;
    bool usable = false;
    CauseReport cause;
    BuildReport build;
    DriverReport driver;
    Opt<NvmlReport> nvml;  // when NVML was read
    VisibilityReport visibility;
    Members<std::string> device_nodes;  // path -> "ok", "missing", "no access"
    MachineReport machine;
    Members<Opt<std::string>> torch_settings;  // the PYTORCH_* variables LibTorch reads
    LibTorchReport libtorch;
    std::vector<DeviceReport> devices;
    NcclReport nccl_allreduce;
    std::vector<LibraryReport> libraries;
    std::vector<Finding> findings;
    bool quick = false;
    double seconds = 0;
    template <class S, class V>
    static void fields(S &s, V &v) {
        v("ltc_version", s.ltc_version)("usable", s.usable)("cause", s.cause)("build", s.build)("driver", s.driver)
         ("nvml", s.nvml)("visibility", s.visibility)("device_nodes", s.device_nodes)("machine", s.machine)
         ("torch_settings", s.torch_settings)("libtorch", s.libtorch)("devices", s.devices)("nccl_allreduce", s.nccl_allreduce)
         ("libraries", s.libraries)("findings", s.findings)("quick", s.quick)("seconds", s.seconds);
    }
    // The finding behind the verdict: the first error, else (usable) the last finding. nullptr when none.
    const Finding *primary() const;
    // The driver's release, "580.95.05": NVML's, else the kernel module's; "" when neither says.
    std::string driver_release() const;
};

// ---- typed values to and from J

struct ToJson {
    template <class T>
    static J value(const T &v) {
        if constexpr (std::is_same_v<T, bool>) {
            return J::boolean(v);
        } else if constexpr (std::is_arithmetic_v<T>) {
            return J::num((double)v);
        } else if constexpr (std::is_same_v<T, ltc_cause>) {
            return J::str(ltc_cause_name(v));
        } else if constexpr (std::is_same_v<T, ltc_severity>) {
            return J::str(severity_name(v));
        } else {
            J o = J::obj();
            Object w{o};
            T::fields(v, w);
            return o;
        }
    }
    static J value(const std::string &v) { return J::str(v); }
    template <class T>
    static J value(const Opt<T> &v) {
        return v ? value(*v) : J::null();
    }
    template <class T>
    static J value(const std::vector<T> &v) {
        J a = J::arr();
        for (const auto &x : v)
            a.push(value(x));
        return a;
    }
    template <class T>
    static J value(const Members<T> &v) {
        J o = J::obj();
        for (const auto &kv : v)
            o.set(kv.first, value(kv.second));
        return o;
    }
    struct Object {
        J &o;
        template <class T>
        Object &operator()(const char *key, const T &v) {
            o.set(key, value(v));
            return *this;
        }
    };
};

// Reads what ToJson wrote. A member that is missing or of another type keeps its value: the reader never
// fails (a peer of another version, or a damaged document, gives defaults, not a crash).
struct FromJson {
    template <class T>
    static void value(const J &j, T &v) {
        if constexpr (std::is_same_v<T, bool>) {
            if (j.kind == J::Bool)
                v = j.b;
        } else if constexpr (std::is_floating_point_v<T>) {
            if (j.kind == J::Num)
                v = (T)j.n;
        } else if constexpr (std::is_integral_v<T>) {
            // in range of T (and of long long): converting anything else would be undefined
            if (j.kind == J::Num && j.n >= (double)std::numeric_limits<T>::min() && j.n <= (double)std::numeric_limits<T>::max() &&
                std::fabs(j.n) < 9.2e18)
                v = (T)j.n;
        } else if constexpr (std::is_same_v<T, ltc_cause>) {
            if (j.kind == J::Str)
                v = cause_named(j.s);
        } else if constexpr (std::is_same_v<T, ltc_severity>) {
            if (j.kind == J::Str)
                v = j.s == "error" ? LTC_SEVERITY_ERROR : j.s == "warning" ? LTC_SEVERITY_WARNING : LTC_SEVERITY_INFO;
        } else {
            if (j.kind != J::Obj)
                return;
            Object r{j};
            T::fields(v, r);
        }
    }
    static void value(const J &j, std::string &v) {
        if (j.kind == J::Str)
            v = j.s;
    }
    template <class T>
    static void value(const J &j, Opt<T> &v) {
        if (j.kind == J::Null) {
            v.reset();
            return;
        }
        T x{};
        value(j, x);
        v = std::move(x);
    }
    template <class T>
    static void value(const J &j, std::vector<T> &v) {
        if (j.kind != J::Arr)
            return;
        v.clear();
        for (const auto &kv : j.items) {
            v.emplace_back();
            value(kv.second, v.back());
        }
    }
    template <class T>
    static void value(const J &j, Members<T> &v) {
        if (j.kind != J::Obj)
            return;
        v.clear();
        for (const auto &kv : j.items) {
            v.emplace_back(kv.first, T{});
            value(kv.second, v.back().second);
        }
    }
    struct Object {
        const J &o;
        template <class T>
        Object &operator()(const char *key, T &v) {
            if (const J *m = o.find(key))
                value(*m, v);
            return *this;
        }
    };
    // The cause ltc_cause_name gives this name; LTC_CAUSE_INVALID for a name this library does not know.
    static ltc_cause cause_named(const std::string &name);
};

template <class T>
J to_json(const T &v) {
    return ToJson::value(v);
}
template <class T>
void from_json(const J &j, T &v) {
    FromJson::value(j, v);
}

// ---- renderers (diagnose_report.cpp)

// The readable text: verdict, cause and fix first; the evidence after. (The JSON: to_json, written with
// ltc_json::json_write.)
std::string report_text(const Report &r);

// Small texts shared by the layers and the renderers.
std::string version_text(long v);      // cuDNN/NCCL's major*10000 + minor*100 + patch: 91900 -> "9.19.0"; 0 -> "none"
std::string cuda_version_text(int v);  // 13000 -> "13.0"; 0 -> "none"
std::string gib_text(long long bytes); // "79.6 GiB"
std::string join(const std::vector<std::string> &v, const char *sep);

}  // namespace ltc_diag

// The handle ltc_diagnose returns.
struct ltc_diagnosis {
    ltc_diag::Report report;
    std::string json, text;                    // rendered from the report
    std::map<std::string, std::string> facts;  // ... and its scalars by JSON path (ltc_diagnosis_get)
};
