// ltc_diagnose(): why LibTorch can or cannot use a GPU. The layers live in their own files
// (diagnose_internal.hpp lists them); this one runs them in order and holds the public functions.
#include "diagnose_internal.hpp"

#include <cstring>
#include <sys/stat.h>

namespace ltc_diag {

bool file_exists(const std::string &p) {
    struct stat st;
    return stat(p.c_str(), &st) == 0;
}

std::string dir_of(const std::string &p) {
    auto slash = p.rfind('/');
    return slash == std::string::npos ? "." : p.substr(0, slash);
}

std::string base_of(const std::string &p) {
    auto slash = p.rfind('/');
    return slash == std::string::npos ? p : p.substr(slash + 1);
}

std::string real_path(const std::string &p) {
    char real[PATH_MAX];
    return realpath(p.c_str(), real) ? real : p;
}

std::string read_text(const std::string &path) {
    std::string out;
    if (FILE *f = fopen(path.c_str(), "r")) {
        char buf[4096];
        size_t n;
        while (out.size() < 65536 && (n = fread(buf, 1, sizeof buf, f)) > 0)
            out.append(buf, n);
        fclose(f);
    }
    return out;
}

std::string read_first_line(const std::string &path) {
    std::string s = read_text(path);
    s = s.substr(0, s.find('\n'));
    while (!s.empty() && (s.back() == '\r' || s.back() == ' '))
        s.pop_back();
    return s;
}

double ms_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

void Ctx::add(ltc_cause code, ltc_severity s, std::string msg, std::string fix, std::string ev) {
    add(Finding{code, s, std::move(msg), std::move(fix), std::move(ev)});
}

void Ctx::add(Finding f) {
    // a message is one line: a multi-line text (LibTorch's CUDA errors run to five) keeps its first line
    // there, and the whole of it goes to the evidence
    if (f.message.find('\n') != std::string::npos) {
        if (f.evidence.find(f.message) == std::string::npos)
            f.evidence = f.message + (f.evidence.empty() ? "" : "\n" + f.evidence);
        f.message = first_line(f.message);
    }
    findings.push_back(std::move(f));
    if (findings.back().severity == LTC_SEVERITY_ERROR && primary == SIZE_MAX)
        primary = findings.size() - 1;
}

// The layers in order; the first error found is the verdict. Every bit of state is in this run's Ctx.
void run(ltc_diagnosis *d, unsigned flags) {
    Ctx c;
    c.flags = flags;
    c.quick = (flags & LTC_DIAGNOSE_QUICK) != 0;
    c.t_start = std::chrono::steady_clock::now();
    c.report.ltc_version = LTC_VERSION_STRING;

    probe_build(c);                   // 1. the build
    judge_loader(c);                  // 2. what was loaded
    judge_build(c);
    probe_driver(c);                  // 3. the driver
    probe_environment(c);             // 4. outside the process
    const ltc_cudrv &drv = *c.d.drv;
    bool no_device = drv.loaded && !c.d.stub && (drv.init_rc == 100 || drv.init_rc == 101 || (drv.init_rc == 0 && drv.count == 0));
    bool child = (no_device || (drv.init_rc == 0 && drv.count > 0)) && c.e.vis.set && (flags & LTC_DIAGNOSE_NO_CHILD) == 0;
    if (child)
        c.e.child = run_child_probe();
    if (need_nvml(c))
        probe_nvml(c);
    judge_driver(c);
    report_driver(c);
    report_environment(c);
    for (const auto &n : c.e.nodes)  // a node that works for the driver but not for this user
        if (drv.init_rc == 0 && drv.count > 0 && n.state == "no access")
            c.add(LTC_CAUSE_DEVICE_NODES, LTC_SEVERITY_WARNING, fmt("%s exists but this user cannot open it", n.path.c_str()),
                  "add the user to the group owning the node (often 'video'), or fix the container's device mapping", n.path);
    judge_settings(c);                // the PYTORCH_* settings LibTorch reads
    judge_libtorch_view(c);           // LibTorch's own count
    run_devices_and_proofs(c);        // 5. each device, 6. proofs by work
    collect_libraries(c);             // 7. what loaded
    finish_report(c, d);
}

}  // namespace ltc_diag

extern "C" {

ltc_status ltc_diagnose(ltc_diagnosis **out, unsigned flags) {
    LTC_CHECK_OUT(out);
    if (flags & ~(LTC_DIAGNOSE_QUICK | LTC_DIAGNOSE_NO_CHILD))
        return ltc::fail(LTC_ERR_INVALID_ARGUMENT,
                         "ltc_diagnose: flags 0x%x has unknown bits 0x%x: use 0, LTC_DIAGNOSE_QUICK and LTC_DIAGNOSE_NO_CHILD",
                         flags, flags & ~(LTC_DIAGNOSE_QUICK | LTC_DIAGNOSE_NO_CHILD));
    LTC_TRY {
        auto *d = new ltc_diagnosis();
        try {
            ltc_diag::run(d, flags);
        } catch (...) {
            delete d;
            throw;
        }
        *out = d;
        return LTC_OK;
    }
    LTC_CATCH
}

void ltc_diagnosis_free(ltc_diagnosis *diagnosis) { delete diagnosis; }

int ltc_diagnosis_usable(const ltc_diagnosis *d) { return d && d->report.usable; }

ltc_cause ltc_diagnosis_cause(const ltc_diagnosis *d) {
    if (!d) {
        ltc::fail(LTC_ERR_INVALID_ARGUMENT, "ltc_diagnosis_cause: argument 'diagnosis' is NULL");
        return LTC_CAUSE_INVALID;
    }
    return d->report.cause.code;
}

const char *ltc_diagnosis_message(const ltc_diagnosis *d) { return d ? d->report.cause.message.c_str() : ""; }
const char *ltc_diagnosis_fix(const ltc_diagnosis *d) { return d ? d->report.cause.fix.c_str() : ""; }

size_t ltc_diagnosis_finding_count(const ltc_diagnosis *d) { return d ? d->report.findings.size() : 0; }

ltc_status ltc_diagnosis_finding(ltc_finding *out, const ltc_diagnosis *diagnosis, size_t index) {
    LTC_CHECK_NOT_NULL(out);
    LTC_CHECK_NOT_NULL(diagnosis);  // the message names the argument as the header does
    const std::vector<ltc_diag::Finding> &findings = diagnosis->report.findings;
    if (index >= findings.size())
        return ltc::fail(LTC_ERR_INVALID_ARGUMENT, "ltc_diagnosis_finding: index %zu is out of range: the report has %zu finding%s",
                         index, findings.size(), findings.size() == 1 ? "" : "s");
    const ltc_diag::Finding &f = findings[index];
    out->code = f.code;
    out->severity = f.severity;
    out->message = f.message.c_str();
    out->fix = f.fix.c_str();
    out->evidence = f.evidence.c_str();
    return LTC_OK;
}

const char *ltc_diagnosis_get(const ltc_diagnosis *d, const char *key) {
    if (!d || !key)
        return nullptr;
    auto it = d->facts.find(key);
    return it == d->facts.end() ? nullptr : it->second.c_str();
}

const char *ltc_diagnosis_json(const ltc_diagnosis *d) { return d ? d->json.c_str() : ""; }
const char *ltc_diagnosis_text(const ltc_diagnosis *d) { return d ? d->text.c_str() : ""; }

const char *ltc_cause_name(ltc_cause c) {
    switch (ltc::enum_int(c)) {
    case LTC_CAUSE_NONE: return "LTC_CAUSE_NONE";
    case LTC_CAUSE_CPU_ONLY_BUILD: return "LTC_CAUSE_CPU_ONLY_BUILD";
    case LTC_CAUSE_CUDA_NOT_LINKED: return "LTC_CAUSE_CUDA_NOT_LINKED";
    case LTC_CAUSE_NO_DRIVER: return "LTC_CAUSE_NO_DRIVER";
    case LTC_CAUSE_STUB_DRIVER: return "LTC_CAUSE_STUB_DRIVER";
    case LTC_CAUSE_DRIVER_TOO_OLD: return "LTC_CAUSE_DRIVER_TOO_OLD";
    case LTC_CAUSE_PTX_TOO_NEW: return "LTC_CAUSE_PTX_TOO_NEW";
    case LTC_CAUSE_DRIVER_MISMATCH: return "LTC_CAUSE_DRIVER_MISMATCH";
    case LTC_CAUSE_COMPAT_NOT_SUPPORTED: return "LTC_CAUSE_COMPAT_NOT_SUPPORTED";
    case LTC_CAUSE_SYSTEM_NOT_READY: return "LTC_CAUSE_SYSTEM_NOT_READY";
    case LTC_CAUSE_DEVICE_NODES: return "LTC_CAUSE_DEVICE_NODES";
    case LTC_CAUSE_DRIVER_ERROR: return "LTC_CAUSE_DRIVER_ERROR";
    case LTC_CAUSE_NO_GPU: return "LTC_CAUSE_NO_GPU";
    case LTC_CAUSE_VISIBLE_DEVICES: return "LTC_CAUSE_VISIBLE_DEVICES";
    case LTC_CAUSE_ARCH_NOT_SUPPORTED: return "LTC_CAUSE_ARCH_NOT_SUPPORTED";
    case LTC_CAUSE_CUDNN: return "LTC_CAUSE_CUDNN";
    case LTC_CAUSE_NCCL: return "LTC_CAUSE_NCCL";
    case LTC_CAUSE_PROOF_FAILED: return "LTC_CAUSE_PROOF_FAILED";
    case LTC_CAUSE_LIBTORCH_NO_DEVICE: return "LTC_CAUSE_LIBTORCH_NO_DEVICE";
    case LTC_CAUSE_DUPLICATE_LIBRARY: return "LTC_CAUSE_DUPLICATE_LIBRARY";
    case LTC_CAUSE_LIBRARY_LOAD: return "LTC_CAUSE_LIBRARY_LOAD";
    case LTC_CAUSE_LIBTORCH_MISMATCH: return "LTC_CAUSE_LIBTORCH_MISMATCH";
    case LTC_CAUSE_OTHER_GPU_VENDOR: return "LTC_CAUSE_OTHER_GPU_VENDOR";
    case LTC_CAUSE_CONTAINER_NO_GPU: return "LTC_CAUSE_CONTAINER_NO_GPU";
    case LTC_CAUSE_WSL_DRIVER: return "LTC_CAUSE_WSL_DRIVER";
    case LTC_CAUSE_BATCH_NO_GPU: return "LTC_CAUSE_BATCH_NO_GPU";
    case LTC_CAUSE_KERNEL_MODULE: return "LTC_CAUSE_KERNEL_MODULE";
    case LTC_CAUSE_UVM_MISSING: return "LTC_CAUSE_UVM_MISSING";
    case LTC_CAUSE_GPU_BUSY: return "LTC_CAUSE_GPU_BUSY";
    case LTC_CAUSE_MIG: return "LTC_CAUSE_MIG";
    case LTC_CAUSE_GPU_MEMORY_TAKEN: return "LTC_CAUSE_GPU_MEMORY_TAKEN";
    case LTC_CAUSE_GPU_LOST: return "LTC_CAUSE_GPU_LOST";
    case LTC_CAUSE_SUSPECT_VARIABLE: return "LTC_CAUSE_SUSPECT_VARIABLE";
    case LTC_CAUSE_TORCH_SETTING: return "LTC_CAUSE_TORCH_SETTING";
    case LTC_CAUSE_INVALID: return "LTC_CAUSE_INVALID";
    }
    return "LTC_CAUSE_UNKNOWN";
}

const char *ltc_cause_summary(ltc_cause c) {
    switch (ltc::enum_int(c)) {
    case LTC_CAUSE_NONE: return "GPU usable";
    case LTC_CAUSE_CPU_ONLY_BUILD: return "CPU-only LibTorch";
    case LTC_CAUSE_CUDA_NOT_LINKED: return "LibTorch's CUDA half is not loaded";
    case LTC_CAUSE_NO_DRIVER: return "no NVIDIA driver";
    case LTC_CAUSE_STUB_DRIVER: return "CUDA stub library loaded instead of the driver";
    case LTC_CAUSE_DRIVER_TOO_OLD: return "NVIDIA driver too old";
    case LTC_CAUSE_PTX_TOO_NEW: return "PTX too new for the driver";
    case LTC_CAUSE_DRIVER_MISMATCH: return "kernel module and driver library differ";
    case LTC_CAUSE_COMPAT_NOT_SUPPORTED: return "forward-compat package on an unsupported GPU";
    case LTC_CAUSE_SYSTEM_NOT_READY: return "NVSwitch system not ready";
    case LTC_CAUSE_DEVICE_NODES: return "GPU device nodes unusable";
    case LTC_CAUSE_DRIVER_ERROR: return "NVIDIA driver error";
    case LTC_CAUSE_NO_GPU: return "no NVIDIA GPU";
    case LTC_CAUSE_VISIBLE_DEVICES: return "CUDA_VISIBLE_DEVICES hides the GPUs";
    case LTC_CAUSE_ARCH_NOT_SUPPORTED: return "GPU architecture not in this LibTorch";
    case LTC_CAUSE_CUDNN: return "cuDNN failing";
    case LTC_CAUSE_NCCL: return "NCCL failing";
    case LTC_CAUSE_PROOF_FAILED: return "GPU computation failed";
    case LTC_CAUSE_LIBTORCH_NO_DEVICE: return "LibTorch sees no GPU";
    case LTC_CAUSE_DUPLICATE_LIBRARY: return "duplicate library";
    case LTC_CAUSE_LIBRARY_LOAD: return "LibTorch or libltc cannot be loaded";
    case LTC_CAUSE_LIBTORCH_MISMATCH: return "a different LibTorch was loaded than the one built against";
    case LTC_CAUSE_OTHER_GPU_VENDOR: return "no NVIDIA GPU: an AMD or Intel GPU";
    case LTC_CAUSE_CONTAINER_NO_GPU: return "container without GPU access";
    case LTC_CAUSE_WSL_DRIVER: return "WSL2 driver problem";
    case LTC_CAUSE_BATCH_NO_GPU: return "batch job without a GPU";
    case LTC_CAUSE_KERNEL_MODULE: return "NVIDIA kernel module not loaded";
    case LTC_CAUSE_UVM_MISSING: return "nvidia_uvm not loaded";
    case LTC_CAUSE_GPU_BUSY: return "GPU busy or prohibited";
    case LTC_CAUSE_MIG: return "MIG mode without a usable instance";
    case LTC_CAUSE_GPU_MEMORY_TAKEN: return "GPU memory held by other processes";
    case LTC_CAUSE_GPU_LOST: return "GPU lost or ECC errors";
    case LTC_CAUSE_SUSPECT_VARIABLE: return "a variable steers the failing library";
    case LTC_CAUSE_TORCH_SETTING: return "a PyTorch setting that LibTorch rejects";
    case LTC_CAUSE_INVALID: return "no diagnosis";
    }
    return "unknown cause";
}

}  // extern "C"
