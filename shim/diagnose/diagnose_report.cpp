// The verdict, the JSON document and the readable text (verdict, cause and fix first; evidence after).
#include "diagnose_internal.hpp"

#include <cmath>

namespace ltc_diag {

namespace {

void write_text(const Ctx &c, const Finding *pf, bool usable, std::string &t) {
    const BuildFacts &b = c.b;
    const ltc_cudrv &drv = *c.d.drv;
    const EnvFacts &e = c.e;
    t = usable ? fmt("GPU usable: yes (%d device%s)\n", c.usable_devices, c.usable_devices == 1 ? "" : "s")
               : fmt("GPU usable: NO: %s [%s]\n", ltc_cause_summary(c.cause()), ltc_cause_name(c.cause()));
    t += "  " + pf->message + "\n";
    if (!pf->fix.empty())
        t += "  fix: " + pf->fix + "\n";
    t += "\nLibTorch     " + std::string(b.bi.torch_version ? b.bi.torch_version : "?") +
         (b.cuda_built ? fmt(", CUDA %s, cuDNN %s, NCCL %s", cuda_version_text((int)b.cudart).c_str(), version_text(b.bi.cudnn_version).c_str(),
                             version_text(b.bi.nccl_version).c_str())
          : b.torch_cuda_on_disk ? ", CUDA half NOT loaded"
                                 : ", CPU-only") +
         "\n             " + b.torch_lib_dir + "\n";
    if (!b.archs.empty())
        t += "  arch list  " + arch_list_text(b.archs) + "\n";
    t += drv.loaded ? fmt("driver       %s\n             CUDA %s, cuInit = %d %s%s%s\n", drv.path, cuda_version_text(drv.version).c_str(),
                          drv.init_rc, c.d.init_name.c_str(), c.d.version_text().empty() ? "" : ", driver ", c.d.version_text().c_str())
                    : fmt("driver       not loaded: %s\n", drv.dlerror);
    t += fmt("devices      driver: %s, LibTorch: %d; CUDA_VISIBLE_DEVICES%s\n", drv.count >= 0 ? std::to_string(drv.count).c_str() : "-",
             c.torch_count, e.vis.set ? ("=\"" + e.vis.value + "\"").c_str() : " unset");
    if (e.child.ran)
        t += fmt("             without CUDA_VISIBLE_DEVICES: %d device%s\n", e.child.init == 0 ? e.child.count : 0,
                 e.child.init == 0 && e.child.count == 1 ? "" : "s");
    const J &devs = member(const_cast<J &>(c.root), "devices");
    for (int i = 0; i < drv.ndev; i++) {
        const ltc_cudrv_device &dv = drv.dev[i];
        t += fmt("  cuda:%-2d    %s, sm_%d%d, %s, %d SMs%s\n", i, dv.name, dv.major, dv.minor, gib_text(dv.memory).c_str(), dv.sm_count,
                 b.archs.empty() ? "" : arch_covers(b.archs, dv.major, dv.minor) ? ", in build" : ", NOT in build");
        const J &pj = devs.items[(size_t)i].second.items.back().second;
        for (const auto &kv : pj.items) {
            const J &pr = kv.second;
            if (pr.items[0].second.s != "true")
                continue;
            bool ok = pr.items[1].second.s == "true";
            t += fmt("             %-11s %s", kv.first.c_str(), ok ? "ok" : "FAILED");
            t += ok ? fmt(" (%s ms)\n", pr.items[2].second.s.c_str()) : ": " + first_line(pr.items[3].second.s) + "\n";
        }
    }
    if (c.nccl.ran)
        t += fmt("nccl         all-reduce over %d device%s: %s\n", c.torch_count, c.torch_count == 1 ? "" : "s",
                 c.nccl.ok ? fmt("ok (%.3f ms)", c.nccl.ms).c_str() : ("FAILED: " + first_line(c.nccl.error)).c_str());
    std::vector<std::string> nodes;
    for (const auto &n : e.nodes)
        nodes.push_back(n.path + " " + n.state);
    t += "dev nodes    " + (nodes.empty() ? std::string("none") : join(nodes, ", ")) + "\n";
    std::vector<std::string> pci;
    for (const auto &g : e.gpus)
        pci.push_back(fmt("%s %s:%s (%s)", g.address.c_str(), g.vendor.c_str() + (g.vendor.size() > 2 ? 2 : 0),
                          g.device.c_str() + (g.device.size() > 2 ? 2 : 0), g.driver.empty() ? "no driver" : g.driver.c_str()));
    t += "machine      " +
         (e.pci_readable ? fmt("PCI: %d device%s, GPUs: %s", e.pci_devices, e.pci_devices == 1 ? "" : "s",
                               pci.empty() ? "none" : join(pci, ", ").c_str())
                         : std::string("PCI bus not readable")) +
         (e.container.empty() ? "" : "; container: " + e.container) + (e.wsl ? "; WSL2" : "") +
         (e.slurm ? "; Slurm job " + e.slurm_job + (e.slurm_gpus.empty() ? " without GPUs" : " with " + e.slurm_gpus) : "") + "\n";
    bool any_other = false;
    for (const Finding &f : c.findings) {
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
    for (const auto &l : c.libs)
        t += fmt("  %-26s %s%s\n", l.name.c_str(), l.real.c_str(), l.from_ld_library_path ? "  (LD_LIBRARY_PATH)" : "");
}

}  // namespace

void write_report(Ctx &c, ltc_diagnosis *d) {
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
    const Finding *pf = usable ? &c.findings.back() : &c.findings[c.primary];

    member(c.root, "usable") = J::boolean(usable);
    J &verdict = member(c.root, "cause");
    verdict = J::obj();
    verdict.set("code", J::str(ltc_cause_name(c.cause())));
    verdict.set("summary", J::str(ltc_cause_summary(c.cause())));
    verdict.set("message", J::str(pf->message));
    verdict.set("fix", J::str(pf->fix));
    J &fj = c.root.set("findings", J::arr());
    for (const auto &f : c.findings) {
        J &o = fj.push(J::obj());
        o.set("code", J::str(ltc_cause_name(f.code)));
        o.set("severity", J::str(severity_name(f.severity)));
        o.set("message", J::str(f.message));
        o.set("fix", J::str(f.fix));
        o.set("evidence", J::str(f.evidence));
    }
    c.root.set("quick", J::boolean(c.quick));
    c.root.set("seconds", J::num(std::round(ms_since(c.t_start)) / 1000.0));

    d->cause = c.cause();
    d->primary = usable ? SIZE_MAX : c.primary;
    d->json.clear();
    ltc_json::json_write(d->json, c.root, 0);
    d->json += "\n";
    ltc_json::flatten(d->facts, "", c.root);
    write_text(c, pf, usable, d->text);
    d->findings = std::move(c.findings);
}

}  // namespace ltc_diag
