// 3. The driver: libcuda.so.1 and libnvidia-ml.so.1 loaded by hand (cudriver.c), their raw codes, read
// together with what the environment layer saw outside the process. Where the driver only says "no
// device" or "unknown error", the environment names the reason: no NVIDIA GPU on the PCI bus, a batch job
// or container without GPU access, WSL2, the kernel modules, device node permissions, NVML's view.
#include "diagnose_internal.hpp"

#include <cstring>
#include <unistd.h>

namespace ltc_diag {

using namespace ltc_advice;

std::string DriverFacts::version_text() const {
    if (nvml && nvml->init_rc == 0 && nvml->driver_version[0])
        return nvml->driver_version;
    return kernel_module;
}

void probe_driver(Ctx &c) {
    DriverFacts &d = c.d;
    d.drv = std::make_unique<ltc_cudrv>();
    ltc_cudrv_probe(d.drv.get());
    const ltc_cudrv &drv = *d.drv;
    // "NVRM version: NVIDIA UNIX x86_64 Kernel Module  580.159.04  ..." or
    // "NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  580.159.04  ...": the first N.N token
    std::string line = read_first_line(sys_path("/proc/driver/nvidia/version"));
    std::stringstream words(line);
    std::string w;
    while (words >> w)
        if (w.size() >= 3 && isdigit((unsigned char)w[0]) && w.find('.') != std::string::npos &&
            w.find_first_not_of("0123456789.") == std::string::npos) {
            d.kernel_module = w;
            break;
        }
    char nbuf[64];
    d.stub = drv.loaded && (drv.init_rc == 34 || strstr(drv.path, "/stubs/") != nullptr);
    d.init_name = drv.init_rc >= 0 ? ltc_cudrv_error_name(&drv, drv.init_rc, nbuf, sizeof nbuf) : "";
    d.init_ev = fmt("cuInit(0) = %d %s; libcuda: %s", drv.init_rc, d.init_name.c_str(), drv.path);
}

bool need_nvml(const Ctx &c) {
    const ltc_cudrv &drv = *c.d.drv;
    if (!drv.loaded || c.d.stub)
        return false;
    return !c.quick || drv.init_rc != 0 || drv.count <= 0 || (c.b.cuda_built && c.torch_count == 0);
}

void probe_nvml(Ctx &c) {
    c.d.nvml = std::make_unique<ltc_nvml>();
    ltc_nvml_probe(c.d.nvml.get());
}

namespace {

const char *compute_mode_name(int m) {
    switch (m) {
    case 0: return "default";
    case 1: return "exclusive-thread";
    case 2: return "prohibited";
    case 3: return "exclusive-process";
    }
    return "unknown";
}

std::string mib_text(unsigned long long bytes) { return fmt("%llu MiB", bytes >> 20); }

// "PID 4242 (python3, 70000 MiB), PID 4243 (1000 MiB)": the GPU's compute processes but this one, with
// their names (NVML's, else /proc/<pid>/comm) and the memory each holds
std::string procs_text(const ltc_nvml_device &dv) {
    std::vector<std::string> v;
    for (int i = 0; i < dv.nprocs; i++) {
        const ltc_nvml_proc &p = dv.procs[i];
        if (p.pid == (unsigned)getpid())
            continue;
        std::string name = p.name[0] ? base_of(p.name) : read_first_line(sys_path(fmt("/proc/%u/comm", p.pid).c_str()));
        std::vector<std::string> what;
        if (!name.empty())
            what.push_back(name);
        if (p.used_bytes != ~0ull)
            what.push_back(mib_text(p.used_bytes));
        v.push_back(fmt("PID %u", p.pid) + (what.empty() ? "" : " (" + join(what, ", ") + ")"));
    }
    return join(v, ", ");
}

// "GPU 0 has 100 MiB free of 81920 MiB, held by PID 4242 (python3, 70000 MiB)"; "" when NVML cannot say
std::string memory_text(int i, const ltc_nvml_device &dv) {
    if (!dv.memory_known)
        return "";
    std::string others = procs_text(dv);
    return fmt("GPU %d has %s free of %s", i, mib_text(dv.memory_free).c_str(), mib_text(dv.memory_total).c_str()) +
           (others.empty() ? "" : ", held by " + others);
}

const ltc_nvml *nvml_ok(const Ctx &c) {
    const ltc_nvml *n = c.d.nvml.get();
    return n && n->init_rc == 0 ? n : nullptr;
}

std::string pci_list(const EnvFacts &e) {
    std::vector<std::string> v;
    for (const auto &g : e.gpus)
        v.push_back(fmt("%s %s:%s class %s driver %s", g.address.c_str(), g.vendor.c_str(), g.device.c_str(), g.cls.c_str(),
                        g.driver.empty() ? "none" : g.driver.c_str()));
    return fmt("PCI bus: %d devices; display controllers: %s", e.pci_devices, v.empty() ? "none" : join(v, "; ").c_str());
}

bool nodes_present(const EnvFacts &e) {
    for (const auto &n : e.nodes)
        if (n.state != "missing" && n.path != "/dev/nvidia-uvm")
            return true;
    return false;
}

const EnvFacts::Node *node(const EnvFacts &e, const char *path) {
    for (const auto &n : e.nodes)
        if (n.path == path)
            return &n;
    return nullptr;
}

// ---- the explanations from outside the process; each returns true when it named the cause

bool explain_gpu_state(Ctx &c, int code) {
    const ltc_nvml *n = nvml_ok(c);
    std::string ev = c.d.init_ev;
    for (int i = 0; n && i < n->ndev; i++) {
        const ltc_nvml_device &dv = n->dev[i];
        if (dv.handle_rc == 15 || dv.ecc_uncorrected > 0) {
            c.add(LTC_CAUSE_GPU_LOST, LTC_SEVERITY_ERROR,
                  dv.handle_rc == 15 ? fmt("GPU %d is lost: NVML says NVML_ERROR_GPU_IS_LOST (it fell off the bus; dmesg shows Xid 79)", i)
                                     : fmt("GPU %d (%s) has %lld uncorrectable ECC error%s", i, dv.name, dv.ecc_uncorrected,
                                           dv.ecc_uncorrected == 1 ? "" : "s"),
                  fmt("reset the GPU (sudo nvidia-smi -r -i %d) or reboot; if it happens again, check its power and cooling "
                      "and have the card replaced",
                      i),
                  ev + fmt("; NVML handle %d: %d", i, dv.handle_rc));
            return true;
        }
    }
    if (code == 214) {
        c.add(LTC_CAUSE_GPU_LOST, LTC_SEVERITY_ERROR, "the GPU reports an uncorrectable ECC error (CUDA error 214)",
              "reset the GPU (sudo nvidia-smi -r) or reboot; if it happens again, have the card replaced", ev);
        return true;
    }
    for (int i = 0; n && i < n->ndev; i++) {
        const ltc_nvml_device &dv = n->dev[i];
        std::string others = procs_text(dv);
        bool exclusive = dv.compute_mode == 1 || dv.compute_mode == 3;
        if (dv.compute_mode == 2 || (exclusive && !others.empty()) || (code == 46 && exclusive)) {
            c.add(LTC_CAUSE_GPU_BUSY, LTC_SEVERITY_ERROR,
                  dv.compute_mode == 2 ? fmt("GPU %d (%s) is in prohibited compute mode: no process may create a CUDA context on it", i, dv.name)
                                       : fmt("GPU %d (%s) is in %s compute mode and is taken%s%s", i, dv.name,
                                             compute_mode_name(dv.compute_mode), others.empty() ? "" : " by ", others.c_str()),
                  fmt("use another GPU, wait for the other process, or set the default mode: sudo nvidia-smi -i %d -c DEFAULT", i),
                  ev + fmt("; NVML compute mode %d (%s)", dv.compute_mode, compute_mode_name(dv.compute_mode)));
            return true;
        }
    }
    if (code == 46) {
        c.add(LTC_CAUSE_GPU_BUSY, LTC_SEVERITY_ERROR,
              "all CUDA-capable devices are busy or unavailable (CUDA error 46): exclusive-process or prohibited compute mode, "
              "and another process holds the GPU",
              "nvidia-smi shows the compute mode and the processes: use another GPU, wait, or sudo nvidia-smi -c DEFAULT", ev);
        return true;
    }
    if (code == 2) {
        std::vector<std::string> held;
        for (int i = 0; n && i < n->ndev; i++)
            if (!memory_text(i, n->dev[i]).empty())
                held.push_back(memory_text(i, n->dev[i]));
        c.add(LTC_CAUSE_GPU_MEMORY_TAKEN, LTC_SEVERITY_ERROR,
              "the GPU is out of memory before this program used any (CUDA error 2)" + (held.empty() ? "" : ": " + join(held, "; ")),
              "end the processes that hold it (nvidia-smi lists them), or pick a free GPU with CUDA_VISIBLE_DEVICES", ev);
        return true;
    }
    return false;
}

bool explain_batch(Ctx &c, const std::string &seen) {
    const EnvFacts &e = c.e;
    if (!e.slurm || !e.slurm_gpus.empty() || e.vis.set)
        return false;
    c.add(LTC_CAUSE_BATCH_NO_GPU, LTC_SEVERITY_ERROR,
          fmt("this Slurm job (SLURM_JOB_ID=%s) was given no GPU: %s", e.slurm_job.c_str(), seen.c_str()),
          "request GPUs for the job: sbatch or srun --gres=gpu:1 (or --gpus=1), on a partition that has GPUs",
          fmt("SLURM_JOB_ID=%s; SLURM_JOB_GPUS, SLURM_STEP_GPUS, SLURM_GPUS and CUDA_VISIBLE_DEVICES unset; %s", e.slurm_job.c_str(),
              seen.c_str()));
    return true;
}

bool explain_no_nvidia_pci(Ctx &c, const std::string &seen) {
    const EnvFacts &e = c.e;
    if (!e.pci_readable || e.pci_devices == 0 || e.nvidia_pci())
        return false;
    std::string which;
    std::string ev = pci_list(e) + "; " + seen;
    if (e.other_vendor_gpu(&which)) {
        bool amd = which.find("AMD") != std::string::npos;
        c.add(LTC_CAUSE_OTHER_GPU_VENDOR, LTC_SEVERITY_ERROR,
              fmt("no NVIDIA GPU in this machine: it has %s, which CUDA cannot use", which.c_str()),
              amd ? "use LibTorch's ROCm build for AMD GPUs: pip install torch --index-url https://download.pytorch.org/whl/rocmX.Y "
                    "(pytorch.org lists the ROCm version of each release)"
                  : "use LibTorch's XPU build for Intel GPUs: pip install torch --index-url https://download.pytorch.org/whl/xpu",
              ev);
    } else {
        c.add(LTC_CAUSE_NO_GPU, LTC_SEVERITY_ERROR,
              fmt("no NVIDIA GPU in this machine: none of its %d PCI devices is an NVIDIA GPU", e.pci_devices),
              "run on a machine with an NVIDIA GPU; in a virtual machine, attach one (PCI passthrough or a GPU instance type)", ev);
    }
    return true;
}

bool explain_container(Ctx &c, const std::string &seen) {
    const EnvFacts &e = c.e;
    if (e.container.empty() || nodes_present(e))
        return false;
    c.add(LTC_CAUSE_CONTAINER_NO_GPU, LTC_SEVERITY_ERROR,
          fmt("this %s container was started without GPU access: it has no /dev/nvidia* device nodes%s", e.container.c_str(),
              c.d.drv->loaded ? " (a libcuda is mounted, but no GPU)" : ""),
          "start the container with the NVIDIA Container Toolkit: docker run --gpus all (or --runtime=nvidia); "
          "podman run --device nvidia.com/gpu=all; in Kubernetes, request nvidia.com/gpu",
          fmt("container: %s; /dev/nvidiactl and /dev/nvidia0 missing; %s", e.container.c_str(), seen.c_str()));
    return true;
}

bool explain_wsl(Ctx &c, bool failed) {
    const EnvFacts &e = c.e;
    const ltc_cudrv &drv = *c.d.drv;
    if (!e.wsl)
        return false;
    if (!drv.loaded) {
        if (!e.wsl_libcuda.empty())
            c.add(LTC_CAUSE_WSL_DRIVER, LTC_SEVERITY_ERROR,
                  "WSL2: the Windows driver's libcuda.so.1 is in /usr/lib/wsl/lib, but the loader does not search there",
                  "add /usr/lib/wsl/lib to LD_LIBRARY_PATH, or restore /etc/ld.so.conf.d/ld.wsl.conf and run sudo ldconfig",
                  fmt("/proc/version names Microsoft; %s exists; dlopen: %s", e.wsl_libcuda.c_str(), drv.dlerror));
        else
            c.add(LTC_CAUSE_WSL_DRIVER, LTC_SEVERITY_ERROR,
                  "WSL2 without the Windows NVIDIA driver: /usr/lib/wsl/lib/libcuda.so.1 is missing",
                  "install the NVIDIA driver on Windows (not inside WSL), then run wsl --shutdown and start WSL again",
                  fmt("/proc/version names Microsoft; dlopen: %s", drv.dlerror));
        return true;
    }
    if (strncmp(drv.path, "/usr/lib/wsl/", 13) == 0)
        return false;
    c.add(LTC_CAUSE_WSL_DRIVER, failed ? LTC_SEVERITY_ERROR : LTC_SEVERITY_WARNING,
          fmt("WSL2 loaded a Linux libcuda (%s): inside WSL the driver must be the Windows driver's, from /usr/lib/wsl/lib", drv.path),
          "remove the Linux NVIDIA driver installed inside WSL (e.g. sudo apt remove --purge 'libnvidia-compute-*' "
          "'nvidia-driver-*'); keep only the Windows driver",
          fmt("/proc/version names Microsoft; %s", c.d.init_ev.c_str()));
    return true;
}

bool explain_kernel_module(Ctx &c) {
    const EnvFacts &e = c.e;
    if (e.wsl || e.mod_nvidia || !c.d.kernel_module.empty())
        return false;
    std::string msg = "the NVIDIA kernel module is not loaded (no /proc/driver/nvidia/version, no /sys/module/nvidia)", fix;
    if (e.mod_nouveau) {
        msg += "; nouveau, the open-source driver, holds the GPU";
        fix = "blacklist nouveau (put 'blacklist nouveau' and 'options nouveau modeset=0' in "
              "/etc/modprobe.d/blacklist-nouveau.conf), rebuild the initramfs (update-initramfs -u or dracut -f) and reboot";
    } else if (e.secure_boot == 1) {
        msg += "; Secure Boot is on, and it rejects an unsigned nvidia module";
        fix = "enroll the driver's signing key (mokutil --import, as the driver installer offers) or disable Secure Boot; "
              "dmesg shows 'Key was rejected by service'";
    } else {
        fix = "load it: sudo modprobe nvidia (dmesg says why it fails); reinstall the driver if there is no module for this kernel";
    }
    c.add(LTC_CAUSE_KERNEL_MODULE, LTC_SEVERITY_ERROR, msg, fix, pci_list(e) + "; " + c.d.init_ev);
    return true;
}

bool explain_mig(Ctx &c) {
    const ltc_nvml *n = nvml_ok(c);
    for (int i = 0; n && i < n->ndev; i++)
        if (n->dev[i].mig_current == 1) {
            c.add(LTC_CAUSE_MIG, LTC_SEVERITY_ERROR,
                  fmt("GPU %d (%s) is in MIG mode and CUDA sees no MIG instance on it", i, n->dev[i].name),
                  fmt("create an instance (sudo nvidia-smi mig -i %d -cgi 19 -C) and pick one per process with "
                      "CUDA_VISIBLE_DEVICES=MIG-<uuid> (nvidia-smi -L lists them), or turn MIG off: sudo nvidia-smi -i %d -mig 0",
                      i, i),
                  fmt("NVML MIG mode current %d, pending %d; %s", n->dev[i].mig_current, n->dev[i].mig_pending, c.d.init_ev.c_str()));
            return true;
        }
    return false;
}

bool explain_nodes(Ctx &c) {
    const EnvFacts &e = c.e;
    const EnvFacts::Node *ctl = node(e, "/dev/nvidiactl"), *uvm = node(e, "/dev/nvidia-uvm");
    for (const auto &n : e.nodes)
        if (n.state == "no access") {
            bool cgroup = n.err == EPERM;
            c.add(LTC_CAUSE_DEVICE_NODES, LTC_SEVERITY_ERROR,
                  fmt("%s exists but this process cannot open it: %s%s", n.path.c_str(), strerror(n.err),
                      cgroup ? " (a device cgroup rule: the container lost its GPU, e.g. after systemctl daemon-reload on the host)" : ""),
                  cgroup ? "recreate the container; on the host, let the NVIDIA Container Toolkit manage the device rules "
                           "(nvidia-ctk) so that a daemon-reload keeps them"
                         : fmt("add the user to the group that owns it (%s, mode %s; this user is in: %s): sudo usermod -aG %s "
                               "$USER, then log in again",
                               n.owner_group.c_str(), n.mode.c_str(), e.user_groups.c_str(), n.owner_group.c_str()),
                  fmt("open(%s): %s; owner group %s, mode %s; %s", n.path.c_str(), strerror(n.err), n.owner_group.c_str(),
                      n.mode.c_str(), c.d.init_ev.c_str()));
            return true;
        }
    if (ctl && ctl->state == "ok" && ((uvm && uvm->state == "missing") || !e.mod_uvm)) {
        c.add(LTC_CAUSE_UVM_MISSING, LTC_SEVERITY_ERROR,
              fmt("the nvidia_uvm kernel module is not loaded%s: CUDA cannot start without it (this often follows a suspend and resume)",
                  uvm && uvm->state == "missing" ? " (/dev/nvidia-uvm is missing)" : ""),
              "sudo modprobe nvidia_uvm (or nvidia-modprobe -u -c 0); after a suspend: sudo rmmod nvidia_uvm && sudo modprobe nvidia_uvm",
              fmt("/sys/module/nvidia_uvm %s; %s", e.mod_uvm ? "present" : "missing", c.d.init_ev.c_str()));
        return true;
    }
    return false;
}

// The driver says "no GPU" (or fails generically): the first explanation from outside that fits.
bool explain_outside(Ctx &c, const std::string &seen) {
    return explain_batch(c, seen) || explain_wsl(c, true) || explain_no_nvidia_pci(c, seen) || explain_container(c, seen) ||
           explain_kernel_module(c) || explain_mig(c) || explain_nodes(c);
}

std::string driver_text(const Ctx &c) { return c.d.version_text(); }

void judge_cpu_only(Ctx &c) {
    const ltc_cudrv &drv = *c.d.drv;
    std::string fix;
    if (drv.loaded && drv.init_rc == 0 && drv.count > 0)
        fix = "install a CUDA LibTorch: " + driver_supports(drv.version, driver_text(c)) + "; " + build_advice(drv.version);
    else if (c.e.pci_readable && c.e.pci_devices > 0 && !c.e.nvidia_pci())
        fix = "this machine has no NVIDIA GPU either: on a machine with one, install a CUDA LibTorch, e.g. PyPI's torch "
              "wheel for Linux (CUDA 13.0, driver >= 580.65.06) or the cu130 LibTorch zip";
    else
        fix = "install the NVIDIA driver and a CUDA LibTorch matching it, e.g. PyPI's torch wheel for Linux (CUDA 13.0, "
              "needs driver >= 580.65.06) or, for a CUDA 12 driver, pip install torch==2.11.0 --index-url "
              "https://download.pytorch.org/whl/cu126";
    c.add(LTC_CAUSE_CPU_ONLY_BUILD, LTC_SEVERITY_ERROR, "this LibTorch was built without CUDA (CPU-only)", fix,
          fmt("no libtorch_cuda.so beside libtorch_cpu.so in %s", c.b.torch_lib_dir.c_str()));
}

void judge_visibility(Ctx &c) {
    const ltc_cudrv &drv = *c.d.drv;
    const Visibility &vis = c.e.vis;
    const ChildProbe &child = c.e.child;
    int without = child.ran && child.init == 0 ? child.count : -1;
    std::string why = vis.why_empty;
    if (why.empty() && vis.kind == "ordinals" && without > 0) {
        for (const auto &e : vis.entries)
            if (atoi(e.c_str()) >= without) {
                why = fmt("it selects ordinal %s, but the machine has %d GPU%s (ordinals 0 to %d)", e.c_str(), without,
                          without == 1 ? "" : "s", without - 1);
                break;
            }
    }
    if (why.empty() && vis.kind != "ordinals") {
        std::string have = join(child.uuids, ", ");
        why = fmt("it names %s %s, which match%s none of the GPUs here%s%s%s", vis.kind == "mig" ? "MIG UUIDs" : "GPU UUIDs",
                  vis.value.c_str(), vis.entries.size() == 1 ? "es" : "", have.empty() ? "" : " (", have.c_str(),
                  have.empty() ? "" : ")");
    }
    if (why.empty())
        why = "it selects no GPU the driver accepts";
    if (without > 0) {
        c.add(LTC_CAUSE_VISIBLE_DEVICES, LTC_SEVERITY_ERROR,
              fmt("CUDA_VISIBLE_DEVICES=\"%s\" hides every GPU: %s; without it the driver sees %d GPU%s", vis.value.c_str(),
                  why.c_str(), without, without == 1 ? "" : "s"),
              fmt("unset CUDA_VISIBLE_DEVICES, or set it to valid ordinals such as %s",
                  without == 1 ? "0" : fmt("0,1 (0 to %d)", without - 1).c_str()),
              fmt("%s; CUDA_VISIBLE_DEVICES=\"%s\" parsed as [%s]; in a child process without it: cuInit = %d, %d device(s)",
                  c.d.init_ev.c_str(), vis.value.c_str(), join(vis.entries, ", ").c_str(), child.init, child.count));
        return;
    }
    std::string seen = fmt("the driver sees no GPU, with CUDA_VISIBLE_DEVICES=\"%s\" and %s", vis.value.c_str(),
                           child.ran ? "without it too"
                                     : fmt("no check without it (%s)", child.error.empty() ? "skipped" : child.error.c_str()).c_str());
    if (explain_gpu_state(c, drv.init_rc) || explain_outside(c, seen))
        return;
    c.add(LTC_CAUSE_NO_GPU, LTC_SEVERITY_ERROR, seen, "run on a machine with an NVIDIA GPU; in a VM or container, pass the GPU through",
          c.d.init_ev);
}

void judge_too_old(Ctx &c) {
    const ltc_cudrv &drv = *c.d.drv;
    long cudart = c.b.cudart;
    if (!cudart || !drv.version || drv.version >= cudart)
        return;
    std::string supports = driver_supports(drv.version, driver_text(c));
    if (drv.version / 1000 == cudart / 1000) {
        c.add(LTC_CAUSE_DRIVER_TOO_OLD, LTC_SEVERITY_INFO,
              fmt("%s and LibTorch was built with CUDA %s: it runs under CUDA's minor-version compatibility (without JIT "
                  "compilation of newer PTX)",
                  supports.c_str(), cuda_version_text((int)cudart).c_str()),
              "", fmt("cuDriverGetVersion = %d, CUDA runtime %ld", drv.version, cudart));
        return;
    }
    c.add(LTC_CAUSE_DRIVER_TOO_OLD, LTC_SEVERITY_ERROR,
          fmt("%s but LibTorch was built with CUDA %s", supports.c_str(), cuda_version_text((int)cudart).c_str()),
          "upgrade the driver: " + driver_needed((int)cudart) + "; or " + build_advice(drv.version),
          fmt("cuDriverGetVersion = %d < CUDA runtime %ld (the runtime reports error 35, cudaErrorInsufficientDriver); %s", drv.version,
              cudart, table_source));
}

// What NVML says about GPUs that work: nothing above "info" unless something is really wrong.
void note_gpu_state(Ctx &c) {
    const ltc_nvml *n = nvml_ok(c);
    for (int i = 0; n && i < n->ndev; i++) {
        const ltc_nvml_device &dv = n->dev[i];
        if (dv.mig_current == 1)
            c.add(LTC_CAUSE_MIG, LTC_SEVERITY_INFO, fmt("GPU %d (%s) is in MIG mode: CUDA sees its MIG instances", i, dv.name), "",
                  "NVML MIG mode current 1");
        if (dv.compute_mode > 0)
            c.add(LTC_CAUSE_GPU_BUSY, dv.compute_mode == 2 ? LTC_SEVERITY_WARNING : LTC_SEVERITY_INFO,
                  fmt("GPU %d (%s) is in %s compute mode", i, dv.name, compute_mode_name(dv.compute_mode)),
                  dv.compute_mode == 2 ? fmt("sudo nvidia-smi -i %d -c DEFAULT", i) : "", fmt("NVML compute mode %d", dv.compute_mode));
        if (dv.memory_known && dv.memory_total && dv.memory_free * 20 < dv.memory_total && !procs_text(dv).empty())
            c.add(LTC_CAUSE_GPU_MEMORY_TAKEN, LTC_SEVERITY_WARNING, memory_text(i, dv),
                  "end those processes, or pick another GPU with CUDA_VISIBLE_DEVICES", "NVML memory info and compute processes");
        if (dv.ecc_uncorrected > 0)
            c.add(LTC_CAUSE_GPU_LOST, LTC_SEVERITY_WARNING,
                  fmt("GPU %d has %lld uncorrectable ECC error%s since the driver loaded", i, dv.ecc_uncorrected,
                      dv.ecc_uncorrected == 1 ? "" : "s"),
                  fmt("reset it (sudo nvidia-smi -r -i %d); replace it if the errors come back", i), "NVML volatile uncorrected ECC count");
    }
}

}  // namespace

std::string memory_holders(const Ctx &c, int cuda_index) {
    const ltc_nvml *n = nvml_ok(c);
    const ltc_cudrv &drv = *c.d.drv;
    if (!n || cuda_index < 0 || cuda_index >= drv.ndev)
        return "";
    // CUDA's ordinals follow CUDA_VISIBLE_DEVICES, NVML's do not: match by UUID where both say one
    const char *uuid = drv.dev[cuda_index].uuid;
    for (int i = 0; i < n->ndev; i++)
        if (uuid[0] && strcmp(uuid, n->dev[i].uuid) == 0)
            return memory_text(i, n->dev[i]);
    return !uuid[0] && cuda_index < n->ndev && !c.e.vis.set ? memory_text(cuda_index, n->dev[cuda_index]) : "";
}

void judge_driver(Ctx &c) {
    const ltc_cudrv &drv = *c.d.drv;
    const Visibility &vis = c.e.vis;
    if (!c.b.cuda_built && !c.b.torch_cuda_on_disk && !c.failed())
        judge_cpu_only(c);
    if (!drv.loaded) {
        std::string seen = fmt("libcuda.so.1 cannot be loaded (%s)", drv.dlerror);
        if (explain_wsl(c, true) || explain_batch(c, seen) || explain_no_nvidia_pci(c, seen) || explain_container(c, seen))
            return;
        std::string gpu;
        for (const auto &g : c.e.gpus)
            if (g.vendor == "0x10de" && gpu.empty())
                gpu = fmt(", though the PCI bus has an NVIDIA GPU (%s, device %s, kernel driver: %s)", g.address.c_str(), g.device.c_str(),
                          g.driver.empty() ? "none" : g.driver.c_str());
        std::string needed = c.b.cudart ? driver_needed((int)c.b.cudart) : "CUDA 13.x needs >= 580.65.06, 12.x >= 525.60.13";
        c.add(LTC_CAUSE_NO_DRIVER, LTC_SEVERITY_ERROR, "no NVIDIA driver: libcuda.so.1 cannot be loaded" + gpu,
              "install the NVIDIA driver (" + needed + "); in a container, run it with the NVIDIA container toolkit (docker run --gpus all)",
              fmt("dlopen(\"libcuda.so.1\"): %s", drv.dlerror));
        return;
    }
    if (c.d.stub) {
        c.add(LTC_CAUSE_STUB_DRIVER, LTC_SEVERITY_ERROR, "the CUDA toolkit's stub libcuda was loaded instead of the NVIDIA driver",
              fmt("remove the stubs folder (%s) from LD_LIBRARY_PATH; the stub only serves linking", dir_of(drv.path).c_str()),
              c.d.init_ev);
        return;
    }
    bool no_device = drv.init_rc == 100 || drv.init_rc == 101 || (drv.init_rc == 0 && drv.count == 0);
    if (no_device && vis.set) {
        judge_visibility(c);  // with the child probe's count
        return;
    }
    if (drv.init_rc == 0 && drv.count > 0) {
        judge_too_old(c);
        if (!explain_gpu_state(c, 0))
            note_gpu_state(c);
        explain_wsl(c, false);
        return;
    }
    const std::string &ev = c.d.init_ev, &name = c.d.init_name;
    std::string seen = drv.init_rc == 0 ? "the NVIDIA driver is installed but sees no GPU (cuDeviceGetCount = 0)"
                                        : fmt("cuInit failed with %d %s", drv.init_rc, name.c_str());
    switch (drv.init_rc) {
    case 35:
        c.add(LTC_CAUSE_DRIVER_TOO_OLD, LTC_SEVERITY_ERROR, "the NVIDIA driver is too old for this CUDA (CUDA_ERROR_INSUFFICIENT_DRIVER)",
              "upgrade the driver: " + driver_needed((int)c.b.cudart) + (drv.version ? "; or " + build_advice(drv.version) : ""), ev);
        return;
    case 222:
        c.add(LTC_CAUSE_PTX_TOO_NEW, LTC_SEVERITY_ERROR, "the driver cannot compile this CUDA's PTX: it is older than the PTX",
              "upgrade the NVIDIA driver: " + driver_needed((int)c.b.cudart), ev);
        return;
    case 803:
        c.add(LTC_CAUSE_DRIVER_MISMATCH, LTC_SEVERITY_ERROR,
              "the NVIDIA kernel module and the user-space driver (libcuda) are different versions",
              "reboot, or reload the nvidia kernel modules; remove stray libcuda copies",
              ev + (c.d.kernel_module.empty() ? "" : "; kernel module " + c.d.kernel_module));
        return;
    case 804:
        c.add(LTC_CAUSE_COMPAT_NOT_SUPPORTED, LTC_SEVERITY_ERROR,
              "a CUDA forward-compatibility package is loaded on a GPU that does not support it",
              "remove the cuda-compat folder from LD_LIBRARY_PATH", ev);
        return;
    case 802:
        c.add(LTC_CAUSE_SYSTEM_NOT_READY, LTC_SEVERITY_ERROR, "the NVSwitch system is not ready",
              "start the fabric manager: systemctl start nvidia-fabricmanager", ev);
        return;
    }
    // the generic answers (no device, unknown error, operating system, out of memory, busy, ECC): outside first
    if (explain_gpu_state(c, drv.init_rc) || explain_outside(c, seen))
        return;
    switch (drv.init_rc) {
    case 999:
    case 304:
        c.add(LTC_CAUSE_DEVICE_NODES, LTC_SEVERITY_ERROR,
              "the driver cannot reach the GPU through its device nodes (/dev/nvidia*, /dev/nvidia-uvm)",
              "run nvidia-modprobe -c 0 -u; in a container, fix the device mapping or permissions", ev);
        return;
    case 0:
    case 100:
        c.add(LTC_CAUSE_NO_GPU, LTC_SEVERITY_ERROR, "the NVIDIA driver is installed but sees no GPU",
              "run on a machine with an NVIDIA GPU; in a VM or container, pass the GPU through",
              drv.init_rc == 0 ? "cuDeviceGetCount = 0; " + ev : ev);
        return;
    default:
        c.add(LTC_CAUSE_DRIVER_ERROR, LTC_SEVERITY_ERROR, fmt("the NVIDIA driver failed to initialise: %s", name.c_str()),
              "check dmesg and nvidia-smi; reinstall or reload the driver", ev);
    }
}

void report_driver(Ctx &c) {
    const ltc_cudrv &drv = *c.d.drv;
    char nbuf[64];
    DriverReport &r = c.report.driver;
    r.loaded = drv.loaded;
    r.library = when<std::string>(drv.loaded, drv.path);
    r.dlopen_error = when<std::string>(!drv.loaded, drv.dlerror);
    r.cuInit.code = when(drv.init_rc >= 0, drv.init_rc);
    r.cuInit.name = when<std::string>(drv.init_rc >= 0, drv.init_rc >= 0 ? ltc_cudrv_error_name(&drv, drv.init_rc, nbuf, sizeof nbuf) : "");
    r.version = when(drv.version != 0, drv.version);
    r.device_count = when(drv.count >= 0, drv.count);
    r.kernel_module_version = nonempty(c.d.kernel_module);
    // the working combination for this driver, from the advice table
    r.advice.supports_cuda = when(drv.version != 0, cuda_version_text(drv.version));
    const char *need = c.b.cudart ? min_driver((int)c.b.cudart) : nullptr;
    r.advice.libtorch_needs_driver = when<std::string>(need, need ? need : "");
    Build b;
    bool have = drv.version && build_for_driver(drv.version, &b);
    r.advice.pip = when(have, have ? pip_command(b) : "");
    r.advice.source = table_source;

    const ltc_nvml *n = c.d.nvml.get();
    if (!n)
        return;
    NvmlReport &nr = c.report.nvml.emplace();
    nr.loaded = n->loaded;
    nr.library = when<std::string>(n->loaded, n->path);
    nr.dlopen_error = when<std::string>(!n->loaded, n->dlerror);
    nr.init = when<std::string>(n->init_rc >= 0, ltc_nvml_error_name(n->init_rc, nbuf, sizeof nbuf));
    nr.driver_version = nonempty(n->driver_version);
    nr.device_count = when(n->count >= 0, n->count);
    for (int i = 0; i < n->ndev; i++) {
        const ltc_nvml_device &dv = n->dev[i];
        NvmlReport::Device &o = nr.devices.emplace_back();
        o.handle = ltc_nvml_error_name(dv.handle_rc, nbuf, sizeof nbuf);
        o.name = nonempty(dv.name);
        o.uuid = nonempty(dv.uuid);
        o.compute_mode = when<std::string>(dv.compute_mode >= 0, compute_mode_name(dv.compute_mode));
        o.mig = when(dv.mig_current >= 0, dv.mig_current == 1);
        o.memory_free_bytes = when<long long>(dv.memory_known, (long long)dv.memory_free);
        o.memory_total_bytes = when<long long>(dv.memory_known, (long long)dv.memory_total);
        o.ecc_uncorrected = when<long long>(dv.ecc_uncorrected >= 0, dv.ecc_uncorrected);
        for (int k = 0; k < dv.nprocs; k++)
            o.processes.push_back({dv.procs[k].pid, when<long long>(dv.procs[k].used_bytes != ~0ull, (long long)dv.procs[k].used_bytes)});
    }
}

void judge_libtorch_view(Ctx &c) {
    const ltc_cudrv &drv = *c.d.drv;
    c.report.libtorch.device_count = c.torch_count;
    c.report.libtorch.init_warning = nonempty(c.torch_warning);
    if (c.failed() || !c.b.cuda_built || drv.init_rc != 0 || drv.count <= 0 || c.torch_count > 0)
        return;
    bool old = c.torch_warning.find("insufficient") != std::string::npos;
    std::string suspects = name_suspects(c, Library::Cuda, "the CUDA runtime");
    c.add(old ? LTC_CAUSE_DRIVER_TOO_OLD : LTC_CAUSE_LIBTORCH_NO_DEVICE, LTC_SEVERITY_ERROR,
          fmt("the driver sees %d GPU%s but LibTorch sees none%s%s", drv.count, drv.count == 1 ? "" : "s",
              c.torch_warning.empty() ? "" : ": ", c.torch_warning.c_str()),
          old ? "upgrade the driver: " + driver_needed((int)c.b.cudart) + "; or " + build_advice(drv.version)
              : "run with CUDA_LAUNCH_BLOCKING=1 and read LibTorch's warning above; check LD_LIBRARY_PATH for a second libcudart" + suspects,
          fmt("cuDeviceGetCount = %d; torch::cuda::device_count() = 0", drv.count));
}

}  // namespace ltc_diag
