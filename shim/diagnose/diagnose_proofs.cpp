// 5. Each device (capability against the build's arch list) and 6. the proofs by work: a matmul checked
// against the CPU and a cuDNN convolution on every GPU, one NCCL all-reduce across all of them. When a
// proof fails, every set variable that steers the failing library is named as a suspect.
#include "diagnose_internal.hpp"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/detail/CUDAHooksInterface.h>
#include <c10/core/DeviceGuard.h>
#include <torch/cuda.h>

#include <dlfcn.h>
#include <functional>
#include <mutex>

extern char **environ;

namespace ltc_diag {

ProofReport Proof::report() const { return {ran, when(ran, ok), when(ran, std::round(ms * 1000) / 1000), nonempty(error)}; }

std::string name_suspects(Ctx &c, ltc_advice::Library lib, const char *what) {
    std::vector<std::string> vars = ltc_advice::suspect_variables(environ, lib);
    for (const auto &v : vars)
        c.add(LTC_CAUSE_SUSPECT_VARIABLE, LTC_SEVERITY_WARNING, fmt("%s is set, and it steers %s, which failed", v.c_str(), what),
              fmt("unset %s and run again", v.substr(0, v.find('=')).c_str()), v);
    if (vars.empty())
        return "";
    return "; suspects, set in the environment and steering " + std::string(what) + ": " + join(vars, ", ") + " (unset them and run again)";
}

namespace {

// Concurrent diagnoses take turns for the proofs: their timings stay true, and NCCL's communicators are
// not set up twice at once on the same GPUs.
std::mutex proofs_mutex;

// A proof by work on cuda:<index>, checked against the CPU: on_cpu() makes the inputs and the expected
// result, on_gpu(device) the same work on the GPU, timed (its copy back to the CPU waits for the kernel).
// `what` names the work in the message when the two differ by 1e-3 or more.
Proof proof_against_cpu(int index, const char *what, const std::function<at::Tensor()> &on_cpu,
                        const std::function<at::Tensor(c10::Device)> &on_gpu) {
    Proof p;
    p.ran = true;
    try {
        at::Tensor want = on_cpu();
        c10::Device dev(c10::kCUDA, (c10::DeviceIndex)index);
        auto t0 = std::chrono::steady_clock::now();
        at::Tensor got = on_gpu(dev).to(c10::kCPU);
        p.ms = ms_since(t0);
        double diff = (got - want).abs().max().item<double>();
        p.ok = diff < 1e-3;
        if (!p.ok)
            p.error = fmt("%s on cuda:%d differs from the CPU by %.3g (tolerance 1e-3)", what, index, diff);
    } catch (const std::exception &e) {
        p.error = ltc::what_of(e);
    }
    return p;
}

Proof proof_matmul(int index) {
    at::Tensor a, b;
    return proof_against_cpu(
        index, "64x64 matmul",
        [&] {
            at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(20261124);
            a = at::randn({64, 64}, gen);
            b = at::randn({64, 64}, gen);
            return at::mm(a, b);
        },
        [&](c10::Device dev) { return at::mm(a.to(dev), b.to(dev)); });
}

Proof proof_cudnn(int index) {
    at::Tensor x, w;
    return proof_against_cpu(
        index, "cuDNN 3x3 convolution",
        [&] {
            at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(7);
            x = at::randn({1, 3, 16, 16}, gen);
            w = at::randn({4, 3, 3, 3}, gen);
            return at::conv2d(x, w, {}, 1, 1);
        },
        // cudnn_convolution goes to cuDNN itself, never to a fallback kernel.
        [&](c10::Device dev) {
            return at::cudnn_convolution(x.to(dev), w.to(dev), {1, 1}, {1, 1}, {1, 1}, 1, false, true, false);
        });
}

// One NCCL all-reduce over every device in this process, through the libnccl LibTorch loaded, looked up
// at run time (ncclCommInitAll: one communicator per local GPU, as nccl-tests does with -g).
Proof proof_nccl(int ndev) {
    Proof p;
    typedef int (*init_all_t)(void **, int, const int *);
    typedef int (*allreduce_t)(const void *, void *, size_t, int, int, void *, void *);
    typedef int (*group_t)();
    typedef int (*destroy_t)(void *);
    typedef const char *(*errstr_t)(int);
    void *h = dlopen("libnccl.so.2", RTLD_NOW | RTLD_NOLOAD);
    if (!h)
        h = dlopen("libnccl.so.2", RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        p.ran = true;
        p.error = fmt("libnccl.so.2 could not be loaded: %s", dlerror());
        return p;
    }
    auto init_all = (init_all_t)dlsym(h, "ncclCommInitAll");
    auto allreduce = (allreduce_t)dlsym(h, "ncclAllReduce");
    auto group_start = (group_t)dlsym(h, "ncclGroupStart");
    auto group_end = (group_t)dlsym(h, "ncclGroupEnd");
    auto destroy = (destroy_t)dlsym(h, "ncclCommDestroy");
    auto errstr = (errstr_t)dlsym(h, "ncclGetErrorString");
    p.ran = true;
    if (!init_all || !allreduce || !group_start || !group_end || !destroy) {
        p.error = "libnccl.so.2 lacks ncclCommInitAll/ncclAllReduce";
        return p;
    }
    auto nccl_err = [&](const char *what, int rc) {
        return fmt("%s failed: %d (%s); run with NCCL_DEBUG=INFO for details", what, rc, errstr ? errstr(rc) : "?");
    };
    std::vector<void *> comms((size_t)ndev, nullptr);
    std::vector<int> devs((size_t)ndev);
    for (int i = 0; i < ndev; i++)
        devs[(size_t)i] = i;
    try {
        const int64_t n = 1024;
        std::vector<at::Tensor> bufs;
        for (int i = 0; i < ndev; i++)
            bufs.push_back(at::full({n}, (double)(i + 1), at::TensorOptions().device(c10::Device(c10::kCUDA, (c10::DeviceIndex)i))));
        for (int i = 0; i < ndev; i++)
            torch::cuda::synchronize(i);
        auto t0 = std::chrono::steady_clock::now();
        int rc = init_all(comms.data(), ndev, devs.data());
        if (rc != 0) {
            p.error = nccl_err("ncclCommInitAll", rc);
            return p;
        }
        rc = group_start();
        for (int i = 0; i < ndev && rc == 0; i++) {
            c10::DeviceGuard guard(c10::Device(c10::kCUDA, (c10::DeviceIndex)i));
            // ncclFloat32 = 7, ncclSum = 0; stream NULL: the device's default stream, where LibTorch filled bufs
            rc = allreduce(bufs[(size_t)i].data_ptr(), bufs[(size_t)i].data_ptr(), (size_t)n, 7, 0, comms[(size_t)i], nullptr);
        }
        int rc_end = group_end();
        if (rc != 0 || rc_end != 0) {
            p.error = nccl_err("ncclAllReduce", rc ? rc : rc_end);
        } else {
            for (int i = 0; i < ndev; i++)
                torch::cuda::synchronize(i);
            p.ms = ms_since(t0);
            double want = ndev * (ndev + 1) / 2.0;
            p.ok = true;
            for (int i = 0; i < ndev; i++) {
                double lo = bufs[(size_t)i].min().item<double>(), hi = bufs[(size_t)i].max().item<double>();
                if (lo != want || hi != want) {
                    p.ok = false;
                    p.error = fmt("all-reduce result on cuda:%d is %g..%g, expected %g everywhere", i, lo, hi, want);
                    break;
                }
            }
        }
    } catch (const std::exception &e) {
        p.error = ltc::what_of(e);
    }
    for (void *c : comms)
        if (c)
            destroy(c);
    return p;
}

}  // namespace

void run_devices_and_proofs(Ctx &c) {
    const ltc_cudrv &drv = *c.d.drv;
    const BuildFacts &b = c.b;
    if (b.cuda_built && drv.init_rc == 0 && c.torch_count > 0) {
        try {
            c.b.archs = parse_arch_list(at::detail::getCUDAHooks().showConfig());
        } catch (...) {
        }
        if (!c.b.archs.empty()) {
            c.report.build.arch_list.emplace();
            for (const auto &a : c.b.archs)
                c.report.build.arch_list->push_back(a.text);
        }
    }
    const std::vector<Arch> &archs = c.b.archs;
    const std::vector<std::string> keys = accepted_alloc_keys();
    std::unique_lock<std::mutex> turn(proofs_mutex, std::defer_lock);
    if (!c.quick && c.torch_count > 0)
        turn.lock();
    for (int i = 0; i < drv.ndev; i++) {
        const ltc_cudrv_device &dv = drv.dev[i];
        DeviceReport &dr = c.report.devices.emplace_back();
        dr.index = i;
        dr.name = dv.name;
        dr.uuid = nonempty(dv.uuid);
        dr.capability = fmt("%d.%d", dv.major, dv.minor);
        dr.memory_bytes = (long long)dv.memory;
        dr.sm_count = dv.sm_count;
        bool covered = archs.empty() || arch_covers(archs, dv.major, dv.minor);
        dr.arch_in_build = when(!archs.empty(), covered);
        Proof mm, conv;
        if (!archs.empty() && !covered) {
            c.add(LTC_CAUSE_ARCH_NOT_SUPPORTED, LTC_SEVERITY_WARNING,
                  fmt("cuda:%d (%s, compute capability %d.%d) is not covered by this LibTorch's build", i, dv.name, dv.major, dv.minor),
                  fmt("use a LibTorch built for sm_%d%d (a CUDA variant whose arch list includes it, or build from source with "
                      "TORCH_CUDA_ARCH_LIST=\"%d.%d\"); cu126 builds keep sm_50 to sm_90, cu130 builds cover sm_75 and newer",
                      dv.major, dv.minor, dv.major, dv.minor),
                  "arch list: " + arch_list_text(archs));
        } else if (i < c.torch_count && !c.quick && !c.alloc_rejected) {  // rejected settings: they would only fail
            mm = proof_matmul(i);
            if (mm.ok && b.bi.cudnn_version)
                conv = proof_cudnn(i);
        }
        if (covered && i < c.torch_count && (c.quick || mm.ok))
            c.usable_devices++;
        dr.proofs = {mm.report(), conv.report()};
        auto failed = [&](const Proof &p, const char *what, ltc_cause fallback, ltc_advice::Library lib, const char *lib_name) {
            ProofFailure f{fmt("%s on cuda:%d", what, i), p.error, fallback, fmt("sm_%d%d", dv.major, dv.minor),
                           memory_holders(c, i), "", keys};
            if (proof_cause(f, environ) == fallback)
                f.suspects = name_suspects(c, lib, lib_name);
            c.add(proof_failure(f, environ));
        };
        if (mm.ran && !mm.ok)
            failed(mm, "a 64x64 matmul", LTC_CAUSE_PROOF_FAILED, ltc_advice::Library::Cublas, "CUDA and cuBLAS");
        if (conv.ran && !conv.ok)
            failed(conv, "a cuDNN convolution", LTC_CAUSE_CUDNN, ltc_advice::Library::Cudnn, "cuDNN");
    }
    if (drv.ndev > 0 && c.usable_devices == 0 && !c.failed() && !archs.empty()) {
        // every device uncovered: that is the verdict
        for (size_t k = 0; k < c.findings.size(); k++)
            if (c.findings[k].code == LTC_CAUSE_ARCH_NOT_SUPPORTED) {
                c.findings[k].severity = LTC_SEVERITY_ERROR;
                c.primary = k;
                break;
            }
    }
    if (!c.quick && c.torch_count > 0 && !c.failed() && b.cuda_built) {
        c.nccl = proof_nccl(c.torch_count);
        if (!c.nccl.ok) {
            std::string suspects = name_suspects(c, ltc_advice::Library::Nccl, "NCCL");
            bool other_nccl = b.nccl_runtime && b.bi.nccl_version && b.nccl_runtime / 100 != b.bi.nccl_version / 100;
            std::string fix = !suspects.empty() ? "unset the NCCL and CUDA variables named here and run again; NCCL_DEBUG=INFO says more"
                              : other_nccl ? "use the NCCL bundled with LibTorch: remove other libnccl copies from LD_LIBRARY_PATH"
                                           : "run with NCCL_DEBUG=INFO for NCCL's own account of the failure";
            c.add(LTC_CAUSE_NCCL, LTC_SEVERITY_ERROR,
                  fmt("an NCCL all-reduce over %d GPU%s failed: %s", c.torch_count, c.torch_count == 1 ? "" : "s",
                      first_line(c.nccl.error).c_str()),
                  fix + suspects,
                  fmt("NCCL built %s, loaded %s; %s", version_text(b.bi.nccl_version).c_str(), version_text(b.nccl_runtime).c_str(),
                      c.nccl.error.c_str()));
        }
    }
    static_cast<ProofReport &>(c.report.nccl_allreduce) = c.nccl.report();
    c.report.nccl_allreduce.devices = when(c.nccl.ran, c.torch_count);
}

}  // namespace ltc_diag
