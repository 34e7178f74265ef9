// The verdict, and the report's renderings: the JSON document, its facts for ltc_diagnosis_get, and the
// readable text (verdict, cause and fix first; evidence after). The text is drawn from the typed report
// alone, so that any report, this process's or one read back from another rank, renders the same way.
#include "diagnose_internal.hpp"

#include "json.h"

#include <algorithm>
#include <cmath>

namespace ltc_diag {

std::string version_text(long v) { return v > 0 ? fmt("%ld.%ld.%ld", v / 10000, (v / 100) % 100, v % 100) : "none"; }

std::string cuda_version_text(int v) { return v > 0 ? fmt("%d.%d", v / 1000, (v % 1000) / 10) : "none"; }

std::string gib_text(long long bytes) { return fmt("%.1f GiB", (double)bytes / 1073741824.0); }

std::string join(const std::vector<std::string> &v, const char *sep) {
    std::string s;
    for (const auto &x : v)
        s += (s.empty() ? "" : sep) + x;
    return s;
}

const char *severity_name(ltc_severity s) {
    return s == LTC_SEVERITY_ERROR ? "error" : s == LTC_SEVERITY_WARNING ? "warning" : "info";
}

const Finding *Report::primary() const {
    for (const Finding &f : findings)
        if (f.severity == LTC_SEVERITY_ERROR)
            return &f;
    return findings.empty() ? nullptr : &findings.back();
}

std::string Report::driver_release() const {
    return nvml && nvml->driver_version ? *nvml->driver_version : driver.kernel_module_version.value_or("");
}

ltc_cause FromJson::cause_named(const std::string &name) {
    for (int v = LTC_CAUSE_INVALID; v < 256; v++)  // the causes are numbered from -1 up, with room to grow
        if (name == ltc_cause_name((ltc_cause)v))
            return (ltc_cause)v;
    return LTC_CAUSE_INVALID;
}

std::string report_text(const Report &r) {
    static const Finding none{LTC_CAUSE_INVALID, LTC_SEVERITY_INFO, "", "", ""};
    const Finding *pf = r.primary() ? r.primary() : &none;
    const BuildReport &b = r.build;
    const DriverReport &drv = r.driver;
    const MachineReport &m = r.machine;
    const VisibilityReport &vis = r.visibility;
    std::string t = r.usable ? fmt("GPU usable: yes (%d device%s)\n", r.libtorch.usable_devices, r.libtorch.usable_devices == 1 ? "" : "s")
                             : fmt("GPU usable: NO: %s [%s]\n", r.cause.summary.c_str(), ltc_cause_name(r.cause.code));
    t += "  " + r.cause.message + "\n";
    if (!r.cause.fix.empty())
        t += "  fix: " + r.cause.fix + "\n";
    t += "\nLibTorch     " + b.torch_version +
         (b.cuda_built ? fmt(", CUDA %s, cuDNN %s, NCCL %s", cuda_version_text((int)b.cuda_runtime_version.value_or(0)).c_str(),
                             version_text(b.cudnn_version.value_or(0)).c_str(), version_text(b.nccl_version.value_or(0)).c_str())
          : b.libtorch_cuda_on_disk ? ", CUDA half NOT loaded"
                                    : ", CPU-only") +
         "\n             " + b.torch_library_dir + "\n";
    if (b.arch_list && !b.arch_list->empty())
        t += "  arch list  " + join(*b.arch_list, " ") + "\n";
    std::string release = r.driver_release();
    t += drv.loaded ? fmt("driver       %s\n             CUDA %s, cuInit = %d %s%s%s\n", drv.library.value_or("").c_str(),
                          cuda_version_text(drv.version.value_or(0)).c_str(), drv.cuInit.code.value_or(-1),
                          drv.cuInit.name.value_or("").c_str(), release.empty() ? "" : ", driver ", release.c_str())
                    : fmt("driver       not loaded: %s\n", drv.dlopen_error.value_or("").c_str());
    t += fmt("devices      driver: %s, LibTorch: %d; CUDA_VISIBLE_DEVICES%s\n",
             drv.device_count ? std::to_string(*drv.device_count).c_str() : "-", r.libtorch.device_count,
             vis.CUDA_VISIBLE_DEVICES ? ("=\"" + *vis.CUDA_VISIBLE_DEVICES + "\"").c_str() : " unset");
    if (vis.count_without_it)
        t += fmt("             without CUDA_VISIBLE_DEVICES: %d device%s\n", *vis.count_without_it, *vis.count_without_it == 1 ? "" : "s");
    char ms[40];
    for (const DeviceReport &dv : r.devices) {
        std::string sm = dv.capability;
        sm.erase(std::remove(sm.begin(), sm.end(), '.'), sm.end());  // "9.0" -> "90"
        t += fmt("  cuda:%-2d    %s, sm_%s, %s, %d SMs%s\n", dv.index, dv.name.c_str(), sm.c_str(), gib_text(dv.memory_bytes).c_str(),
                 dv.sm_count, !dv.arch_in_build ? "" : *dv.arch_in_build ? ", in build" : ", NOT in build");
        for (const auto &proof : {std::make_pair("matmul", &dv.proofs.matmul), std::make_pair("cudnn_conv", &dv.proofs.cudnn_conv)}) {
            const ProofReport &p = *proof.second;
            if (!p.ran)
                continue;
            bool ok = p.ok.value_or(false);
            t += fmt("             %-11s %s", proof.first, ok ? "ok" : "FAILED");
            t += ok ? fmt(" (%s ms)\n", ltc_json_number_text(ms, sizeof ms, p.ms.value_or(0)))
                    : ": " + first_line(p.error.value_or("")) + "\n";
        }
    }
    const NcclReport &nccl = r.nccl_allreduce;
    if (nccl.ran)
        t += fmt("nccl         all-reduce over %d device%s: %s\n", r.libtorch.device_count, r.libtorch.device_count == 1 ? "" : "s",
                 nccl.ok.value_or(false) ? fmt("ok (%.3f ms)", nccl.ms.value_or(0)).c_str()
                                         : ("FAILED: " + first_line(nccl.error.value_or(""))).c_str());
    std::vector<std::string> nodes;
    for (const auto &n : r.device_nodes)
        nodes.push_back(n.first + " " + n.second);
    t += "dev nodes    " + (nodes.empty() ? std::string("none") : join(nodes, ", ")) + "\n";
    std::vector<std::string> pci;
    for (const auto &g : m.pci_gpus ? *m.pci_gpus : std::vector<MachineReport::PciGpu>{})
        pci.push_back(fmt("%s %s:%s (%s)", g.address.c_str(), g.vendor.c_str() + (g.vendor.size() > 2 ? 2 : 0),
                          g.device.c_str() + (g.device.size() > 2 ? 2 : 0), g.driver ? g.driver->c_str() : "no driver"));
    int pci_devices = m.pci_devices.value_or(0);
    t += "machine      " +
         (m.pci_gpus ? fmt("PCI: %d device%s, GPUs: %s", pci_devices, pci_devices == 1 ? "" : "s", pci.empty() ? "none" : join(pci, ", ").c_str())
                     : std::string("PCI bus not readable")) +
         (m.container ? "; container: " + *m.container : "") + (m.wsl ? "; WSL2" : "") +
         (m.slurm_job ? "; Slurm job " + *m.slurm_job + (m.slurm_gpus ? " with " + *m.slurm_gpus : " without GPUs") : "") + "\n";
    bool any_other = false;
    for (const Finding &f : r.findings) {
        if (&f == pf)
            continue;
        if (!any_other)
            t += "findings\n";
        any_other = true;
        t += fmt("  [%s] %s\n", severity_name(f.severity), f.message.c_str());
    }
    std::string ev = pf->evidence;  // LibTorch's whole text, its lines under the first
    while (!ev.empty() && (ev.back() == '\n' || ev.back() == ' '))
        ev.pop_back();
    for (size_t at = 0; (at = ev.find('\n', at)) != std::string::npos; at += 14)
        ev.insert(at + 1, 13, ' ');
    t += "evidence     " + ev + "\n";
    t += "libraries\n";
    for (const auto &l : r.libraries)
        t += fmt("  %-26s %s%s\n", l.name.c_str(), l.path.c_str(), l.from_ld_library_path ? "  (LD_LIBRARY_PATH)" : "");
    return t;
}

void finish_report(Ctx &c, ltc_diagnosis *d) {
    if (!c.failed() && c.torch_count == 0) {
        // nothing failed that we could see, yet LibTorch has no GPU
        c.add(LTC_CAUSE_LIBTORCH_NO_DEVICE, LTC_SEVERITY_ERROR,
              fmt("LibTorch sees no GPU%s%s", c.torch_warning.empty() ? "" : ": ", c.torch_warning.c_str()),
              "read LibTorch's warning above; check the driver with nvidia-smi", "torch::cuda::device_count() = 0");
    }
    bool usable = !c.failed();
    if (usable)
        c.add(LTC_CAUSE_NONE, LTC_SEVERITY_INFO,
              fmt("%d GPU%s usable%s", c.usable_devices, c.usable_devices == 1 ? "" : "s",
                  c.quick ? " (proofs by work skipped: --quick)" : ": matmul, cuDNN convolution and NCCL all-reduce passed"),
              "", fmt("torch::cuda::device_count() = %d", c.torch_count));

    Report &r = c.report;
    r.usable = usable;
    r.findings = std::move(c.findings);
    const Finding &pf = *r.primary();  // the first error (c.primary's), else the finding just added
    r.cause = {pf.code, ltc_cause_summary(pf.code), pf.message, pf.fix};
    r.libtorch.usable_devices = c.usable_devices;
    r.quick = c.quick;
    r.seconds = std::round(ms_since(c.t_start)) / 1000.0;

    d->report = std::move(r);
    J j = to_json(d->report);
    d->json.clear();
    ltc_json::json_write(d->json, j);
    d->json += "\n";
    ltc_json::flatten(d->facts, "", j);
    d->text = report_text(d->report);
}

}  // namespace ltc_diag
