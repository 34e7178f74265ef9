// ltc_diagnose(): why LibTorch can or cannot use a GPU. The probes follow ../shared/DIAGNOSIS.md: layers
// (build, in-process link, driver, devices and visibility, each device, proof by work, loaded libraries);
// the first layer that fails names the cause.
//
// This file must not call into libtorch_cuda or libc10_cuda by name: it is also built into a test library
// linked with --as-needed, where libtorch_cuda is dropped, and must then diagnose exactly that. Everything
// CUDA goes through LibTorch's hooks, the dispatcher, or symbols looked up at run time.
#include "internal.hpp"

#include "cudriver.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/detail/CUDAHooksInterface.h>
#include <c10/core/DeviceGuard.h>
#include <torch/cuda.h>

#include <cerrno>
#include <chrono>
#include <deque>
#include <climits>
#include <cstdarg>
#include <cmath>
#include <cstring>
#include <dlfcn.h>
#include <fcntl.h>
#include <glob.h>
#include <link.h>
#include <map>
#include <poll.h>
#include <signal.h>
#include <sstream>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

namespace {

// ---------------------------------------------------------------------------------------------------
// A small JSON value: the report is built as one, printed as JSON, and flattened for ltc_diagnosis_get.
// LTC_JSON_BEGIN: tests/fuzz compiles the lines from here to LTC_JSON_END on their own (std only).

struct J {
    enum Kind { Null, Bool, Num, Str, Arr, Obj } kind = Null;
    std::string s;
    std::deque<std::pair<std::string, J>> items;  // a deque: references to items survive push_back

    static J null() { return J(); }
    static J boolean(bool b) {
        J j;
        j.kind = Bool;
        j.s = b ? "true" : "false";
        return j;
    }
    static J num(double v) {
        J j;
        j.kind = Num;
        char buf[64];
        if (std::isfinite(v) && v == std::floor(v) && std::fabs(v) < 9e15)
            snprintf(buf, sizeof buf, "%.0f", v);
        else if (std::isfinite(v))
            snprintf(buf, sizeof buf, "%.6g", v);
        else
            return null();
        j.s = buf;
        return j;
    }
    static J str(const std::string &v) {
        J j;
        j.kind = Str;
        j.s = v;
        return j;
    }
    static J arr() {
        J j;
        j.kind = Arr;
        return j;
    }
    static J obj() {
        J j;
        j.kind = Obj;
        return j;
    }
    J &set(const std::string &key, J v) {
        items.emplace_back(key, std::move(v));
        return items.back().second;
    }
    J &push(J v) {
        items.emplace_back("", std::move(v));
        return items.back().second;
    }
};

// Bytes in the valid UTF-8 sequence at s[i] (a byte of 0x80 or more), or 0 where there is none (RFC 3629:
// no overlong forms, no surrogates, nothing past U+10FFFF).
size_t utf8_length(const std::string &s, size_t i) {
    unsigned char b = (unsigned char)s[i];
    size_t n = b >= 0xC2 && b <= 0xDF ? 2 : b >= 0xE0 && b <= 0xEF ? 3 : b >= 0xF0 && b <= 0xF4 ? 4 : 0;
    if (n == 0 || i + n > s.size())
        return 0;
    for (size_t k = 1; k < n; k++)
        if (((unsigned char)s[i + k] & 0xC0) != 0x80)
            return 0;
    unsigned char b1 = (unsigned char)s[i + 1];
    if ((b == 0xE0 && b1 < 0xA0) || (b == 0xED && b1 > 0x9F) || (b == 0xF0 && b1 < 0x90) || (b == 0xF4 && b1 > 0x8F))
        return 0;
    return n;
}

// JSON text must be UTF-8, but what the report quotes (paths, environment variables, driver strings) may
// not be: a byte that starts no valid sequence is written as U+FFFD.
void json_escape(std::string &out, const std::string &s) {
    out += '"';
    for (size_t i = 0; i < s.size(); i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x80) {
            size_t n = utf8_length(s, i);
            if (n == 0) {
                out += "\\ufffd";
            } else {
                out.append(s, i, n);
                i += n - 1;
            }
            continue;
        }
        switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        default:
            if (c < 0x20) {
                char buf[8];
                snprintf(buf, sizeof buf, "\\u%04x", c);
                out += buf;
            } else {
                out += (char)c;
            }
        }
    }
    out += '"';
}

void json_write(std::string &out, const J &j, int indent) {
    std::string pad(indent + 2, ' ');
    switch (j.kind) {
    case J::Null: out += "null"; return;
    case J::Bool:
    case J::Num: out += j.s; return;
    case J::Str: json_escape(out, j.s); return;
    case J::Arr:
    case J::Obj: {
        bool obj = j.kind == J::Obj;
        if (j.items.empty()) {
            out += obj ? "{}" : "[]";
            return;
        }
        out += obj ? "{\n" : "[\n";
        for (size_t i = 0; i < j.items.size(); i++) {
            out += pad;
            if (obj) {
                json_escape(out, j.items[i].first);
                out += ": ";
            }
            json_write(out, j.items[i].second, indent + 2);
            out += i + 1 < j.items.size() ? ",\n" : "\n";
        }
        out += std::string(indent, ' ');
        out += obj ? "}" : "]";
    }
    }
}

void flatten(std::map<std::string, std::string> &facts, const std::string &prefix, const J &j) {
    if (j.kind == J::Arr || j.kind == J::Obj) {
        for (size_t i = 0; i < j.items.size(); i++) {
            std::string key = j.kind == J::Obj ? j.items[i].first : std::to_string(i);
            flatten(facts, prefix.empty() ? key : prefix + "." + key, j.items[i].second);
        }
    } else if (j.kind != J::Null) {
        facts[prefix] = j.s;
    }
}
// LTC_JSON_END

// ---------------------------------------------------------------------------------------------------

std::string fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
std::string fmt(const char *f, ...) {
    char buf[2048];
    va_list ap;
    va_start(ap, f);
    vsnprintf(buf, sizeof buf, f, ap);
    va_end(ap);
    return buf;
}

// cuDNN and NCCL encode major*10000 + minor*100 + patch: 91900 -> "9.19.0", 22809 -> "2.28.9"
std::string version_text(long v) { return v > 0 ? fmt("%ld.%ld.%ld", v / 10000, (v / 100) % 100, v % 100) : "none"; }

std::string cuda_version_text(int v) { return v > 0 ? fmt("%d.%d", v / 1000, (v % 1000) / 10) : "none"; }

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

struct Finding {
    ltc_cause code;
    ltc_severity severity;
    std::string message, fix, evidence;
};

// CUDA_VISIBLE_DEVICES parsed with PyTorch's rules (torch/cuda/__init__.py, _parse_visible_devices).
struct Visibility {
    bool set = false;
    std::string value;
    std::string kind = "ordinals";  // or "uuids" (GPU-), "mig" (MIG-)
    std::vector<std::string> entries;
    std::string why_empty;  // when entries is empty, why
};

Visibility parse_visible_devices() {
    Visibility v;
    const char *env = getenv("CUDA_VISIBLE_DEVICES");
    if (!env)
        return v;
    v.set = true;
    v.value = env;
    std::vector<std::string> parts;
    std::stringstream ss(v.value);
    std::string item;
    while (std::getline(ss, item, ','))
        parts.push_back(item);
    if (v.value.empty() || (!v.value.empty() && v.value.back() == ','))
        parts.push_back("");
    auto prefixed = [&](const char *prefix, const char *kind) {
        v.kind = kind;
        for (const auto &p : parts) {
            for (const auto &e : v.entries)
                if (e == p) {
                    v.entries.clear();
                    v.why_empty = fmt("it names %s twice, and a repeated entry empties the set", p.c_str());
                    return;
                }
            if (p.rfind(prefix, 0) != 0)
                break;
            v.entries.push_back(p);
        }
    };
    if (v.value.rfind("GPU-", 0) == 0) {
        prefixed("GPU-", "uuids");
        return v;
    }
    if (v.value.rfind("MIG-", 0) == 0) {
        prefixed("MIG-", "mig");
        return v;
    }
    for (auto p : parts) {
        // strip like Python's str.strip()
        while (!p.empty() && isspace((unsigned char)p.front()))
            p.erase(p.begin());
        while (!p.empty() && isspace((unsigned char)p.back()))
            p.pop_back();
        // strtoul-like: optional sign then digits; anything else ends the number
        size_t i = 0;
        if (i < p.size() && (p[i] == '+' || p[i] == '-'))
            i++;
        while (i < p.size() && isdigit((unsigned char)p[i]))
            i++;
        long long x = -1;
        std::string num = p.substr(0, i);
        if (!num.empty() && num != "+" && num != "-")
            x = strtoll(num.c_str(), nullptr, 10);
        std::string xs = std::to_string(x);
        for (const auto &e : v.entries)
            if (e == xs) {
                v.entries.clear();
                v.why_empty = fmt("it repeats ordinal %lld, and a repeated ordinal empties the set", x);
                return v;
            }
        if (x < 0) {
            if (v.entries.empty())
                v.why_empty = p.empty() ? (v.value.empty() ? "an empty value hides every GPU"
                                                           : "its first entry is empty, which ends the list")
                                        : fmt("its first entry \"%s\" is negative or not a number, which ends the list",
                                              p.c_str());
            break;
        }
        v.entries.push_back(xs);
    }
    return v;
}

// The child process: ltc-cuda-probe with CUDA_VISIBLE_DEVICES removed.
struct ChildProbe {
    bool ran = false;
    std::string error;
    int loaded = 0, init = -1, count = -1, version = 0;
    std::vector<std::string> uuids;
};

std::string probe_path() {
    if (const char *p = getenv("LTC_CUDA_PROBE"))
        return p;
    Dl_info info;
    if (dladdr((void *)&ltc_diagnose, &info) && info.dli_fname) {
        std::string dir = dir_of(info.dli_fname);
#ifndef LTC_PROBE_RELDIR
#define LTC_PROBE_RELDIR "../libexec/ltc"
#endif
        // beside the library in a build tree; under libexec once installed
        for (const std::string &p : {dir + "/ltc-cuda-probe", dir + "/" LTC_PROBE_RELDIR "/ltc-cuda-probe"})
            if (file_exists(p))
                return p;
    }
    return "";
}

ChildProbe run_child_probe() {
    ChildProbe c;
    std::string exe = probe_path();
    if (exe.empty()) {
        c.error = "ltc-cuda-probe not found beside libltc (set LTC_CUDA_PROBE)";
        return c;
    }
    std::vector<std::string> env_store;
    for (char **e = environ; *e; e++)
        if (strncmp(*e, "CUDA_VISIBLE_DEVICES=", 21) != 0)
            env_store.emplace_back(*e);
    std::vector<char *> envp;
    for (auto &s : env_store)
        envp.push_back(&s[0]);
    envp.push_back(nullptr);
    int fds[2];
    if (pipe(fds) != 0) {
        c.error = fmt("pipe failed: %s", strerror(errno));
        return c;
    }
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        c.error = fmt("fork failed: %s", strerror(errno));
        return c;
    }
    if (pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        char *argv[] = {const_cast<char *>(exe.c_str()), nullptr};
        execve(exe.c_str(), argv, envp.data());
        _exit(127);
    }
    close(fds[1]);
    std::string out;
    char buf[4096];
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    for (;;) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
        if (left <= 0) {
            kill(pid, SIGKILL);
            c.error = "ltc-cuda-probe did not answer within 20 s (killed)";
            break;
        }
        struct pollfd p = {fds[0], POLLIN, 0};
        int r = poll(&p, 1, (int)left);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            continue;
        ssize_t n = read(fds[0], buf, sizeof buf);
        if (n <= 0)
            break;
        out.append(buf, (size_t)n);
    }
    close(fds[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (!c.error.empty())
        return c;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        c.error = fmt("%s failed (status %d)", exe.c_str(), status);
        return c;
    }
    char uuids[8192] = "";
    if (sscanf(out.c_str(), "loaded=%d init=%d count=%d version=%d uuids=%8191s", &c.loaded, &c.init, &c.count,
               &c.version, uuids) < 4) {
        c.error = "unreadable answer from ltc-cuda-probe: " + out;
        return c;
    }
    std::stringstream ss(uuids);
    std::string u;
    while (std::getline(ss, u, ','))
        if (!u.empty())
            c.uuids.push_back(u);
    c.ran = true;
    return c;
}

// Libraries in the link map that matter to CUDA.
struct Lib {
    std::string name, path, real;
    bool from_ld_library_path = false;
};

int collect_lib(struct dl_phdr_info *info, size_t, void *data) {
    auto *libs = static_cast<std::vector<Lib> *>(data);
    if (!info->dlpi_name || !*info->dlpi_name)
        return 0;
    std::string path = info->dlpi_name, name = base_of(path);
    static const char *prefixes[] = {"libtorch", "libc10", "libcuda.", "libcudart", "libcublas", "libcudnn",
                                     "libnccl",  "libnvrtc", "libnvJitLink", "libcusparse", "libcufft",
                                     "libcurand", "libnvidia-ml", "libltc"};
    for (const char *p : prefixes)
        if (name.rfind(p, 0) == 0) {
            Lib l;
            l.name = name;
            l.path = path;
            char real[PATH_MAX];
            l.real = realpath(path.c_str(), real) ? real : path;
            libs->push_back(l);
            break;
        }
    return 0;
}

// Arch list from LibTorch's CUDA config text: "-gencode;arch=compute_90,code=sm_90;..."
struct Arch {
    int major, minor;
    bool ptx;      // code=compute_XX: PTX, JIT-compiled for newer GPUs
    bool specific; // sm_90a: runs on exactly 9.0
    std::string text;
};

std::vector<Arch> parse_arch_list(const std::string &config) {
    std::vector<Arch> out;
    size_t pos = 0;
    while ((pos = config.find("code=", pos)) != std::string::npos) {
        pos += 5;
        bool ptx = config.compare(pos, 8, "compute_") == 0;
        bool sm = config.compare(pos, 3, "sm_") == 0;
        if (!ptx && !sm)
            continue;
        size_t start = pos + (ptx ? 8 : 3), end = start;
        while (end < config.size() && isalnum((unsigned char)config[end]))
            end++;
        std::string code = config.substr(start, end - start);
        int digits = atoi(code.c_str());
        if (digits <= 0)
            continue;
        Arch a{digits / 10, digits % 10, ptx, !code.empty() && isalpha((unsigned char)code.back()),
               (ptx ? "compute_" : "sm_") + code};
        bool dup = false;
        for (const auto &o : out)
            dup |= o.text == a.text;
        if (!dup)
            out.push_back(a);
    }
    return out;
}

bool arch_covers(const std::vector<Arch> &archs, int major, int minor) {
    for (const auto &a : archs) {
        if (a.ptx && (a.major < major || (a.major == major && a.minor <= minor)))
            return true;
        if (!a.ptx && a.major == major && (a.specific ? a.minor == minor : a.minor <= minor))
            return true;
    }
    return false;
}

ltc_cause cause_from_error_text(const std::string &m, ltc_cause fallback) {
    if (m.find("no kernel image") != std::string::npos || m.find("NO_BINARY_FOR_GPU") != std::string::npos)
        return LTC_CAUSE_ARCH_NOT_SUPPORTED;
    if (m.find("PTX") != std::string::npos)
        return LTC_CAUSE_PTX_TOO_NEW;
    if (m.find("CUDNN") != std::string::npos || m.find("cuDNN") != std::string::npos)
        return LTC_CAUSE_CUDNN;
    return fallback;
}

double ms_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

struct Proof {
    bool ran = false, ok = false;
    double ms = 0;
    std::string error;
    J to_json() const {
        J j = J::obj();
        j.set("ran", J::boolean(ran));
        j.set("ok", ran ? J::boolean(ok) : J::null());
        j.set("ms", ran ? J::num(std::round(ms * 1000) / 1000) : J::null());
        j.set("error", error.empty() ? J::null() : J::str(error));
        return j;
    }
};

Proof proof_matmul(int index) {
    Proof p;
    p.ran = true;
    try {
        at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(20261124);
        at::Tensor a = at::randn({64, 64}, gen), b = at::randn({64, 64}, gen);
        at::Tensor want = at::mm(a, b);
        c10::Device dev(c10::kCUDA, (c10::DeviceIndex)index);
        auto t0 = std::chrono::steady_clock::now();
        at::Tensor got = at::mm(a.to(dev), b.to(dev)).to(c10::kCPU);  // the copy back waits for the kernel
        p.ms = ms_since(t0);
        double diff = (got - want).abs().max().item<double>();
        p.ok = diff < 1e-3;
        if (!p.ok)
            p.error = fmt("64x64 matmul on cuda:%d differs from the CPU by %.3g (tolerance 1e-3)", index, diff);
    } catch (const c10::Error &e) {
        p.error = e.what_without_backtrace();
    } catch (const std::exception &e) {
        p.error = e.what();
    }
    return p;
}

Proof proof_cudnn(int index) {
    Proof p;
    p.ran = true;
    try {
        at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(7);
        at::Tensor x = at::randn({1, 3, 16, 16}, gen), w = at::randn({4, 3, 3, 3}, gen);
        at::Tensor want = at::conv2d(x, w, {}, 1, 1);
        c10::Device dev(c10::kCUDA, (c10::DeviceIndex)index);
        auto t0 = std::chrono::steady_clock::now();
        // cudnn_convolution goes to cuDNN itself, never to a fallback kernel.
        at::Tensor got = at::cudnn_convolution(x.to(dev), w.to(dev), {1, 1}, {1, 1}, {1, 1}, 1, false, true, false)
                             .to(c10::kCPU);
        p.ms = ms_since(t0);
        double diff = (got - want).abs().max().item<double>();
        p.ok = diff < 1e-3;
        if (!p.ok)
            p.error = fmt("cuDNN 3x3 convolution on cuda:%d differs from the CPU by %.3g (tolerance 1e-3)", index, diff);
    } catch (const c10::Error &e) {
        p.error = e.what_without_backtrace();
    } catch (const std::exception &e) {
        p.error = e.what();
    }
    return p;
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
    } catch (const c10::Error &e) {
        p.error = e.what_without_backtrace();
    } catch (const std::exception &e) {
        p.error = e.what();
    }
    for (void *c : comms)
        if (c)
            destroy(c);
    return p;
}

}  // namespace

struct ltc_diagnosis {
    ltc_cause cause = LTC_CAUSE_NONE;
    std::vector<Finding> findings;
    size_t primary = SIZE_MAX;
    std::string json, text;
    std::map<std::string, std::string> facts;
};

namespace {

const char *severity_name(ltc_severity s) {
    return s == LTC_SEVERITY_ERROR ? "error" : s == LTC_SEVERITY_WARNING ? "warning" : "info";
}

std::string mib_text(size_t bytes) { return fmt("%.1f GiB", bytes / 1073741824.0); }

void run_diagnosis(ltc_diagnosis *d, unsigned flags) {
    auto t_start = std::chrono::steady_clock::now();
    auto add = [&](ltc_cause c, ltc_severity s, std::string msg, std::string fix, std::string ev) {
        d->findings.push_back(Finding{c, s, std::move(msg), std::move(fix), std::move(ev)});
        if (s == LTC_SEVERITY_ERROR && d->primary == SIZE_MAX)
            d->primary = d->findings.size() - 1;
    };
    char nbuf[64];
    J root = J::obj();
    root.set("ltc_version", J::str(LTC_VERSION_STRING));
    J &usable_json = root.set("usable", J::null());  // filled in at the end; first in the document
    J &cause_json = root.set("cause", J::null());

    // ---- 1. LibTorch build, 2. in-process link
    ltc_build_info bi{};
    ltc_build_info_get(&bi);
    const auto &hooks = at::detail::getCUDAHooks();
    bool cuda_built = hooks.isBuilt();
    std::string torch_lib_dir;
    Dl_info info;
    if (dladdr((void *)&at::globalContext, &info) && info.dli_fname) {
        char real[PATH_MAX];
        torch_lib_dir = dir_of(realpath(info.dli_fname, real) ? real : info.dli_fname);
    }
    std::string torch_cuda_file = torch_lib_dir + "/libtorch_cuda.so";
    bool torch_cuda_on_disk = !torch_lib_dir.empty() && file_exists(torch_cuda_file);
    void *tc = dlopen("libtorch_cuda.so", RTLD_LAZY | RTLD_NOLOAD);
    bool torch_cuda_loaded = tc != nullptr;
    if (tc)
        dlclose(tc);
    long cudnn_runtime = 0, cudart = 0;
    if (cuda_built) {
        cudart = bi.cuda_runtime_version;
        try {
            cudnn_runtime = hooks.versionRuntimeCuDNN();
        } catch (...) {
        }
    }
    int (*nccl_get_version)(int *) = (int (*)(int *))dlsym(RTLD_DEFAULT, "ncclGetVersion");
    int nccl_runtime = 0;
    if (nccl_get_version && nccl_get_version(&nccl_runtime) != 0)
        nccl_runtime = 0;

    J &build = root.set("build", J::obj());
    build.set("torch_version", J::str(bi.torch_version ? bi.torch_version : "?"));
    build.set("torch_library_dir", J::str(torch_lib_dir));
    build.set("cuda_built", J::boolean(cuda_built));
    build.set("libtorch_cuda_on_disk", J::boolean(torch_cuda_on_disk));
    build.set("libtorch_cuda_loaded", J::boolean(torch_cuda_loaded));
    build.set("cuda_runtime_version", cudart ? J::num((double)cudart) : J::null());
    build.set("cudnn_version", bi.cudnn_version ? J::num(bi.cudnn_version) : J::null());
    build.set("cudnn_runtime_version", cudnn_runtime ? J::num((double)cudnn_runtime) : J::null());
    build.set("nccl_version", bi.nccl_version ? J::num(bi.nccl_version) : J::null());
    build.set("nccl_runtime_version", nccl_runtime ? J::num(nccl_runtime) : J::null());
    J &arch_json = build.set("arch_list", J::null());

    if (!cuda_built) {
        if (torch_cuda_on_disk)
            add(LTC_CAUSE_CUDA_NOT_LINKED, LTC_SEVERITY_ERROR,
                "LibTorch has CUDA (libtorch_cuda.so is on disk) but its CUDA half is not loaded in this process, "
                "so LibTorch reports no GPU",
                "link the program with CMake's find_package(Torch) targets, or with "
                "-Wl,--no-as-needed -ltorch_cuda -Wl,--as-needed (the linker's --as-needed dropped it)",
                fmt("%s exists; dlopen(\"libtorch_cuda.so\", RTLD_NOLOAD) finds it not loaded; CUDA hooks not registered",
                    torch_cuda_file.c_str()));
        else
            add(LTC_CAUSE_CPU_ONLY_BUILD, LTC_SEVERITY_ERROR, "this LibTorch was built without CUDA (CPU-only)",
                "install the CUDA variant of LibTorch (cuXXX) matching your driver, e.g. PyPI's torch wheel for Linux "
                "or the cu130 LibTorch zip",
                fmt("no libtorch_cuda.so beside libtorch_cpu.so in %s", torch_lib_dir.c_str()));
    } else if (cudnn_runtime && bi.cudnn_version &&
               (cudnn_runtime / 10000 != bi.cudnn_version / 10000 ||
                (cudnn_runtime / 100) % 100 < (bi.cudnn_version / 100) % 100)) {
        add(LTC_CAUSE_CUDNN, LTC_SEVERITY_ERROR,
            fmt("cuDNN %s is loaded but LibTorch was built with cuDNN %s", version_text(cudnn_runtime).c_str(),
                version_text(bi.cudnn_version).c_str()),
            "use the cuDNN bundled with LibTorch: remove other cuDNN copies from LD_LIBRARY_PATH",
            fmt("versionRuntimeCuDNN %ld, versionCuDNN %d", cudnn_runtime, bi.cudnn_version));
    }

    // ---- 3. driver library
    static ltc_cudrv drv;  // large; diagnosis runs one at a time
    ltc_cudrv_probe(&drv);
    J &driver = root.set("driver", J::obj());
    driver.set("loaded", J::boolean(drv.loaded));
    driver.set("library", drv.loaded ? J::str(drv.path) : J::null());
    driver.set("dlopen_error", drv.loaded ? J::null() : J::str(drv.dlerror));
    J &init = driver.set("cuInit", J::obj());
    init.set("code", drv.init_rc >= 0 ? J::num(drv.init_rc) : J::null());
    init.set("name", drv.init_rc >= 0 ? J::str(ltc_cudrv_error_name(&drv, drv.init_rc, nbuf, sizeof nbuf)) : J::null());
    driver.set("version", drv.version ? J::num(drv.version) : J::null());
    driver.set("device_count", drv.count >= 0 ? J::num(drv.count) : J::null());
    std::string kernel_module;
    if (FILE *f = fopen("/proc/driver/nvidia/version", "r")) {
        char line[512];
        if (fgets(line, sizeof line, f)) {
            // "NVRM version: NVIDIA UNIX x86_64 Kernel Module  580.159.04  ..." or
            // "NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  580.159.04  ...": the first N.N token
            std::stringstream words(line);
            std::string w;
            while (words >> w)
                if (w.size() >= 3 && isdigit((unsigned char)w[0]) && w.find('.') != std::string::npos &&
                    w.find_first_not_of("0123456789.") == std::string::npos) {
                    kernel_module = w;
                    break;
                }
        }
        fclose(f);
    }
    driver.set("kernel_module_version", kernel_module.empty() ? J::null() : J::str(kernel_module));

    Visibility vis = parse_visible_devices();
    ChildProbe child;
    bool need_child = false;
    bool stub = drv.loaded && (drv.init_rc == 34 || strstr(drv.path, "/stubs/") != nullptr);
    std::string init_name = drv.init_rc >= 0 ? ltc_cudrv_error_name(&drv, drv.init_rc, nbuf, sizeof nbuf) : "";
    std::string init_ev = fmt("cuInit(0) = %d %s; libcuda: %s", drv.init_rc, init_name.c_str(), drv.path);

    if (!drv.loaded) {
        add(LTC_CAUSE_NO_DRIVER, LTC_SEVERITY_ERROR, "no NVIDIA driver: libcuda.so.1 cannot be loaded",
            "install the NVIDIA driver (CUDA 13.x needs >= 580, 12.x >= 525); in a container, run it with the "
            "NVIDIA container toolkit (docker run --gpus all)",
            fmt("dlopen(\"libcuda.so.1\"): %s", drv.dlerror));
    } else if (stub) {
        add(LTC_CAUSE_STUB_DRIVER, LTC_SEVERITY_ERROR,
            "the CUDA toolkit's stub libcuda was loaded instead of the NVIDIA driver",
            fmt("remove the stubs folder (%s) from LD_LIBRARY_PATH; the stub only serves linking", dir_of(drv.path).c_str()),
            init_ev);
    } else if (drv.init_rc != 0) {
        switch (drv.init_rc) {
        case 35:
            add(LTC_CAUSE_DRIVER_TOO_OLD, LTC_SEVERITY_ERROR, "the NVIDIA driver is too old for this CUDA",
                "upgrade the driver (CUDA 13.x needs >= 580, 12.x >= 525, 11.x >= 450), or use a LibTorch built for an older CUDA",
                init_ev);
            break;
        case 222:
            add(LTC_CAUSE_PTX_TOO_NEW, LTC_SEVERITY_ERROR, "the driver cannot compile this CUDA's PTX: it is older than the PTX",
                "upgrade the NVIDIA driver", init_ev);
            break;
        case 803:
            add(LTC_CAUSE_DRIVER_MISMATCH, LTC_SEVERITY_ERROR,
                "the NVIDIA kernel module and the user-space driver (libcuda) are different versions",
                "reboot, or reload the nvidia kernel modules; remove stray libcuda copies",
                init_ev + (kernel_module.empty() ? "" : "; kernel module " + kernel_module));
            break;
        case 804:
            add(LTC_CAUSE_COMPAT_NOT_SUPPORTED, LTC_SEVERITY_ERROR,
                "a CUDA forward-compatibility package is loaded on a GPU that does not support it",
                "remove the cuda-compat folder from LD_LIBRARY_PATH", init_ev);
            break;
        case 802:
            add(LTC_CAUSE_SYSTEM_NOT_READY, LTC_SEVERITY_ERROR, "the NVSwitch system is not ready",
                "start the fabric manager: systemctl start nvidia-fabricmanager", init_ev);
            break;
        case 999:
        case 304:
            add(LTC_CAUSE_DEVICE_NODES, LTC_SEVERITY_ERROR,
                "the driver cannot reach the GPU through its device nodes (/dev/nvidia*, /dev/nvidia-uvm)",
                "run nvidia-modprobe -c 0 -u; in a container, fix the device mapping or permissions", init_ev);
            break;
        case 100:
        case 101:
            if (vis.set) {  // 100/101 with CUDA_VISIBLE_DEVICES set: decided below, with the child probe
                need_child = true;
                break;
            }
            if (drv.init_rc == 100) {
                add(LTC_CAUSE_NO_GPU, LTC_SEVERITY_ERROR, "the NVIDIA driver is installed but sees no GPU",
                    "run on a machine with an NVIDIA GPU; in a VM or container, pass the GPU through", init_ev);
                break;
            }
            [[fallthrough]];
        default:
            add(LTC_CAUSE_DRIVER_ERROR, LTC_SEVERITY_ERROR, fmt("the NVIDIA driver failed to initialise: %s", init_name.c_str()),
                "check dmesg and nvidia-smi; reinstall or reload the driver", init_ev);
        }
    } else if (cudart && drv.version && drv.version < cudart) {
        add(LTC_CAUSE_DRIVER_TOO_OLD, LTC_SEVERITY_ERROR,
            fmt("the NVIDIA driver supports CUDA up to %s but LibTorch was built with CUDA %s",
                cuda_version_text(drv.version).c_str(), cuda_version_text((int)cudart).c_str()),
            fmt("upgrade the driver (CUDA %d.x needs >= %s), or use a LibTorch built for CUDA %s or older", (int)cudart / 1000,
                cudart >= 13000 ? "580" : cudart >= 12000 ? "525" : "450", cuda_version_text(drv.version).c_str()),
            fmt("cuDriverGetVersion = %d < CUDA runtime %ld (the runtime reports error 35, cudaErrorInsufficientDriver)",
                drv.version, cudart));
    } else if (drv.count == 0) {
        need_child = vis.set;
        if (!vis.set)
            add(LTC_CAUSE_NO_GPU, LTC_SEVERITY_ERROR, "the NVIDIA driver is installed but sees no GPU",
                "run on a machine with an NVIDIA GPU; in a VM or container, pass the GPU through",
                fmt("cuDeviceGetCount = 0; %s", init_ev.c_str()));
    }

    // ---- 4. devices and visibility
    if (vis.set && !need_child && drv.count > 0 && (flags & LTC_DIAGNOSE_NO_CHILD) == 0)
        need_child = true;  // report how many exist without it even when some are visible
    if (need_child && (flags & LTC_DIAGNOSE_NO_CHILD) == 0)
        child = run_child_probe();
    J &visj = root.set("visibility", J::obj());
    visj.set("CUDA_VISIBLE_DEVICES", vis.set ? J::str(vis.value) : J::null());
    J &parsed = visj.set("parsed", vis.set ? J::arr() : J::null());
    for (const auto &e : vis.entries)
        parsed.push(J::str(e));
    visj.set("kind", vis.set ? J::str(vis.kind) : J::null());
    visj.set("count_without_it", child.ran && child.init == 0 ? J::num(child.count) : child.ran ? J::num(0) : J::null());
    visj.set("probe_error", child.error.empty() ? J::null() : J::str(child.error));
    if (vis.set && drv.loaded && !stub && (drv.init_rc == 100 || drv.init_rc == 101 || drv.count == 0)) {
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
            std::string have;
            for (const auto &u : child.uuids)
                have += (have.empty() ? "" : ", ") + u;
            why = fmt("it names %s %s, which match%s none of the GPUs here%s%s%s", vis.kind == "mig" ? "MIG UUIDs" : "GPU UUIDs",
                      vis.value.c_str(), vis.entries.size() == 1 ? "es" : "", have.empty() ? "" : " (", have.c_str(),
                      have.empty() ? "" : ")");
        }
        if (why.empty())
            why = "it selects no GPU the driver accepts";
        if (without > 0) {
            add(LTC_CAUSE_VISIBLE_DEVICES, LTC_SEVERITY_ERROR,
                fmt("CUDA_VISIBLE_DEVICES=\"%s\" hides every GPU: %s; without it the driver sees %d GPU%s", vis.value.c_str(),
                    why.c_str(), without, without == 1 ? "" : "s"),
                fmt("unset CUDA_VISIBLE_DEVICES, or set it to valid ordinals such as %s", without == 1 ? "0" : fmt("0,1 (0 to %d)", without - 1).c_str()),
                fmt("%s; CUDA_VISIBLE_DEVICES=\"%s\" parsed as [%s]; in a child process without it: cuInit = %d, %d device(s)",
                    init_ev.c_str(), vis.value.c_str(),
                    [&] {
                        std::string s;
                        for (const auto &e : vis.entries)
                            s += (s.empty() ? "" : ", ") + e;
                        return s;
                    }().c_str(),
                    child.init, child.count));
        } else {
            add(LTC_CAUSE_NO_GPU, LTC_SEVERITY_ERROR,
                fmt("the driver sees no GPU, with CUDA_VISIBLE_DEVICES=\"%s\" and %s", vis.value.c_str(),
                    child.ran ? "without it too" : fmt("no check without it (%s)", child.error.empty() ? "skipped" : child.error.c_str()).c_str()),
                "run on a machine with an NVIDIA GPU; in a VM or container, pass the GPU through", init_ev);
        }
    }

    J &nodes = root.set("device_nodes", J::obj());
    {
        std::vector<std::string> paths = {"/dev/nvidiactl", "/dev/nvidia-uvm"};
        glob_t g;
        if (glob("/dev/nvidia[0-9]*", 0, nullptr, &g) == 0) {
            for (size_t i = 0; i < g.gl_pathc; i++)
                paths.push_back(g.gl_pathv[i]);
            globfree(&g);
        }
        for (const auto &p : paths) {
            bool exists = file_exists(p);
            nodes.set(p, !exists ? J::str("missing") : access(p.c_str(), R_OK | W_OK) == 0 ? J::str("ok") : J::str("no access"));
            if (drv.init_rc == 0 && drv.count > 0 && exists && access(p.c_str(), R_OK | W_OK) != 0)
                add(LTC_CAUSE_DEVICE_NODES, LTC_SEVERITY_WARNING, fmt("%s exists but this user cannot open it", p.c_str()),
                    "add the user to the group owning the node (often 'video'), or fix the container's device mapping", p);
        }
    }

    // LibTorch's own view
    int torch_count = ltc::cuda_device_count();
    const std::string &torch_warning = ltc::cuda_init_warning();
    J &lt = root.set("libtorch", J::obj());
    lt.set("device_count", J::num(torch_count));
    lt.set("init_warning", torch_warning.empty() ? J::null() : J::str(torch_warning));
    if (d->primary == SIZE_MAX && cuda_built && drv.init_rc == 0 && drv.count > 0 && torch_count == 0) {
        bool old = torch_warning.find("insufficient") != std::string::npos;
        add(old ? LTC_CAUSE_DRIVER_TOO_OLD : LTC_CAUSE_LIBTORCH_NO_DEVICE, LTC_SEVERITY_ERROR,
            fmt("the driver sees %d GPU%s but LibTorch sees none%s%s", drv.count, drv.count == 1 ? "" : "s",
                torch_warning.empty() ? "" : ": ", torch_warning.c_str()),
            old ? "upgrade the NVIDIA driver, or use a LibTorch built for an older CUDA"
                : "run with CUDA_LAUNCH_BLOCKING=1 and read LibTorch's warning above; check LD_LIBRARY_PATH for a second libcudart",
            fmt("cuDeviceGetCount = %d; torch::cuda::device_count() = 0", drv.count));
    }

    // ---- 5. each device, 6. proof by work
    std::vector<Arch> archs;
    if (cuda_built && drv.init_rc == 0 && torch_count > 0) {
        try {
            std::string cfg = hooks.showConfig();
            archs = parse_arch_list(cfg);
        } catch (...) {
        }
        if (!archs.empty()) {
            arch_json = J::arr();
            for (const auto &a : archs)
                arch_json.push(J::str(a.text));
        }
    }
    bool quick = (flags & LTC_DIAGNOSE_QUICK) != 0;
    J &devs = root.set("devices", J::arr());
    int usable_devices = 0;
    for (int i = 0; i < drv.ndev; i++) {
        const ltc_cudrv_device &dv = drv.dev[i];
        J &dj = devs.push(J::obj());
        dj.set("index", J::num(i));
        dj.set("name", J::str(dv.name));
        dj.set("uuid", dv.uuid[0] ? J::str(dv.uuid) : J::null());
        dj.set("capability", J::str(fmt("%d.%d", dv.major, dv.minor)));
        dj.set("memory_bytes", J::num((double)dv.memory));
        dj.set("sm_count", J::num(dv.sm_count));
        bool covered = archs.empty() || arch_covers(archs, dv.major, dv.minor);
        dj.set("arch_in_build", archs.empty() ? J::null() : J::boolean(covered));
        Proof mm, conv;
        if (!archs.empty() && !covered) {
            std::string list;
            for (const auto &a : archs)
                list += (list.empty() ? "" : " ") + a.text;
            add(LTC_CAUSE_ARCH_NOT_SUPPORTED, LTC_SEVERITY_WARNING,
                fmt("cuda:%d (%s, compute capability %d.%d) is not covered by this LibTorch's build", i, dv.name, dv.major, dv.minor),
                fmt("use a LibTorch built for sm_%d%d (a CUDA variant whose arch list includes it, or build from source with "
                    "TORCH_CUDA_ARCH_LIST=\"%d.%d\")", dv.major, dv.minor, dv.major, dv.minor),
                "arch list: " + list);
        } else if (i < torch_count && !quick) {
            mm = proof_matmul(i);
            if (mm.ok && bi.cudnn_version)
                conv = proof_cudnn(i);
        }
        if (covered && i < torch_count && (quick || mm.ok))
            usable_devices++;
        J &proofs = dj.set("proofs", J::obj());
        proofs.set("matmul", mm.to_json());
        proofs.set("cudnn_conv", conv.to_json());
        if (mm.ran && !mm.ok)
            add(cause_from_error_text(mm.error, LTC_CAUSE_PROOF_FAILED), LTC_SEVERITY_ERROR,
                fmt("a 64x64 matmul on cuda:%d failed: %s", i, mm.error.c_str()),
                cause_from_error_text(mm.error, LTC_CAUSE_PROOF_FAILED) == LTC_CAUSE_ARCH_NOT_SUPPORTED
                    ? fmt("use a LibTorch built for sm_%d%d", dv.major, dv.minor)
                    : "run with CUDA_LAUNCH_BLOCKING=1 for the failing call; check dmesg for Xid errors",
                mm.error);
        if (conv.ran && !conv.ok)
            add(LTC_CAUSE_CUDNN, LTC_SEVERITY_ERROR, fmt("a cuDNN convolution on cuda:%d failed: %s", i, conv.error.c_str()),
                "use the cuDNN bundled with LibTorch; remove other cuDNN copies from LD_LIBRARY_PATH", conv.error);
    }
    if (drv.ndev > 0 && usable_devices == 0 && d->primary == SIZE_MAX && !archs.empty()) {
        // every device uncovered: that is the verdict
        for (size_t k = 0; k < d->findings.size(); k++)
            if (d->findings[k].code == LTC_CAUSE_ARCH_NOT_SUPPORTED) {
                d->findings[k].severity = LTC_SEVERITY_ERROR;
                d->primary = k;
                break;
            }
    }
    Proof nccl;
    if (!quick && torch_count > 0 && d->primary == SIZE_MAX && cuda_built) {
        nccl = proof_nccl(torch_count);
        if (!nccl.ok)
            add(LTC_CAUSE_NCCL, LTC_SEVERITY_ERROR,
                fmt("an NCCL all-reduce over %d GPU%s failed: %s", torch_count, torch_count == 1 ? "" : "s", nccl.error.c_str()),
                "run with NCCL_DEBUG=INFO; use the NCCL bundled with LibTorch (remove other libnccl from LD_LIBRARY_PATH)",
                fmt("NCCL built %s, loaded %s", version_text(bi.nccl_version).c_str(), version_text(nccl_runtime).c_str()));
    }
    J &nj = root.set("nccl_allreduce", nccl.to_json());
    nj.set("devices", nccl.ran ? J::num(torch_count) : J::null());

    // ---- 7. what actually loaded
    std::vector<Lib> libs;
    dl_iterate_phdr(collect_lib, &libs);
    std::vector<std::string> ldpath;
    if (const char *lp = getenv("LD_LIBRARY_PATH")) {
        std::stringstream ss(lp);
        std::string e;
        while (std::getline(ss, e, ':'))
            if (!e.empty()) {
                char real[PATH_MAX];
                ldpath.push_back(realpath(e.c_str(), real) ? real : e);
            }
    }
    if (drv.loaded) {
        bool listed = false;
        for (const auto &l : libs)
            listed |= l.real == drv.path;
        if (!listed)
            libs.push_back(Lib{base_of(drv.path), drv.path, drv.path, false});
    }
    J &lj = root.set("libraries", J::arr());
    std::map<std::string, std::vector<const Lib *>> by_name;
    for (auto &l : libs) {
        for (const auto &e : ldpath)
            l.from_ld_library_path |= dir_of(l.real) == e || dir_of(l.path) == e;
        J &o = lj.push(J::obj());
        o.set("name", J::str(l.name));
        o.set("path", J::str(l.real));
        o.set("from_ld_library_path", J::boolean(l.from_ld_library_path));
        std::string key = l.name.substr(0, l.name.find(".so"));
        by_name[key].push_back(&l);
    }
    for (const auto &kv : by_name) {
        std::vector<std::string> paths;
        for (const Lib *l : kv.second) {
            bool seen = false;
            for (const auto &p : paths)
                seen |= p == l->real;
            if (!seen)
                paths.push_back(l->real);
        }
        if (paths.size() > 1) {
            std::string ev;
            for (const Lib *l : kv.second)
                ev += (ev.empty() ? "" : "; ") + l->real + (l->from_ld_library_path ? " (from LD_LIBRARY_PATH)" : "");
            add(LTC_CAUSE_DUPLICATE_LIBRARY, LTC_SEVERITY_WARNING,
                fmt("two copies of %s are loaded: %s and %s", kv.first.c_str(), paths[0].c_str(), paths[1].c_str()),
                "remove the extra copy's folder from LD_LIBRARY_PATH so only LibTorch's own is loaded", ev);
        }
    }

    // ---- verdict
    d->cause = d->primary == SIZE_MAX ? LTC_CAUSE_NONE : d->findings[d->primary].code;
    if (d->cause == LTC_CAUSE_NONE && torch_count == 0) {
        // nothing failed that we could see, yet LibTorch has no GPU
        add(LTC_CAUSE_LIBTORCH_NO_DEVICE, LTC_SEVERITY_ERROR,
            fmt("LibTorch sees no GPU%s%s", torch_warning.empty() ? "" : ": ", torch_warning.c_str()),
            "read LibTorch's warning above; check the driver with nvidia-smi", "torch::cuda::device_count() = 0");
        d->cause = d->findings[d->primary].code;
    }
    bool usable = d->cause == LTC_CAUSE_NONE;
    if (usable)
        add(LTC_CAUSE_NONE, LTC_SEVERITY_INFO,
            fmt("%d GPU%s usable%s", usable_devices, usable_devices == 1 ? "" : "s",
                quick ? " (proofs by work skipped: --quick)" : ": matmul, cuDNN convolution and NCCL all-reduce passed"),
            "", fmt("torch::cuda::device_count() = %d", torch_count));

    J verdict = J::obj();
    const Finding *pf = usable ? &d->findings.back() : &d->findings[d->primary];
    usable_json = J::boolean(usable);
    verdict.set("code", J::str(ltc_cause_name(d->cause)));
    verdict.set("summary", J::str(ltc_cause_summary(d->cause)));
    verdict.set("message", J::str(pf->message));
    verdict.set("fix", J::str(pf->fix));
    cause_json = verdict;
    J &fj = root.set("findings", J::arr());
    for (const auto &f : d->findings) {
        J &o = fj.push(J::obj());
        o.set("code", J::str(ltc_cause_name(f.code)));
        o.set("severity", J::str(severity_name(f.severity)));
        o.set("message", J::str(f.message));
        o.set("fix", J::str(f.fix));
        o.set("evidence", J::str(f.evidence));
    }
    root.set("quick", J::boolean(quick));
    root.set("seconds", J::num(std::round(ms_since(t_start)) / 1000.0));

    d->json.clear();
    json_write(d->json, root, 0);
    d->json += "\n";
    flatten(d->facts, "", root);

    // ---- readable text: verdict, cause and fix first; evidence after
    std::string &t = d->text;
    t = usable ? fmt("GPU usable: yes (%d device%s)\n", usable_devices, usable_devices == 1 ? "" : "s")
               : fmt("GPU usable: NO: %s [%s]\n", ltc_cause_summary(d->cause), ltc_cause_name(d->cause));
    t += "  " + pf->message + "\n";
    if (!pf->fix.empty())
        t += "  fix: " + pf->fix + "\n";
    t += "\nLibTorch     " + std::string(bi.torch_version ? bi.torch_version : "?") +
         (cuda_built ? fmt(", CUDA %s, cuDNN %s, NCCL %s", cuda_version_text((int)cudart).c_str(), version_text(bi.cudnn_version).c_str(),
                           version_text(bi.nccl_version).c_str())
                     : torch_cuda_on_disk ? ", CUDA half NOT loaded" : ", CPU-only") +
         "\n             " + torch_lib_dir + "\n";
    if (!archs.empty()) {
        std::string list;
        for (const auto &a : archs)
            list += (list.empty() ? "" : " ") + a.text;
        t += "  arch list  " + list + "\n";
    }
    t += drv.loaded ? fmt("driver       %s\n             CUDA %s, cuInit = %d %s%s%s\n", drv.path, cuda_version_text(drv.version).c_str(),
                          drv.init_rc, init_name.c_str(), kernel_module.empty() ? "" : ", kernel module ", kernel_module.c_str())
                    : fmt("driver       not loaded: %s\n", drv.dlerror);
    t += fmt("devices      driver: %s, LibTorch: %d; CUDA_VISIBLE_DEVICES%s\n",
             drv.count >= 0 ? std::to_string(drv.count).c_str() : "-", torch_count,
             vis.set ? ("=\"" + vis.value + "\"").c_str() : " unset");
    if (child.ran)
        t += fmt("             without CUDA_VISIBLE_DEVICES: %d device%s\n", child.init == 0 ? child.count : 0,
                 child.init == 0 && child.count == 1 ? "" : "s");
    for (int i = 0; i < drv.ndev; i++) {
        const ltc_cudrv_device &dv = drv.dev[i];
        t += fmt("  cuda:%-2d    %s, sm_%d%d, %s, %d SMs%s\n", i, dv.name, dv.major, dv.minor, mib_text(dv.memory).c_str(), dv.sm_count,
                 archs.empty() ? "" : arch_covers(archs, dv.major, dv.minor) ? ", in build" : ", NOT in build");
        const J &pj = devs.items[(size_t)i].second.items.back().second;
        for (const auto &kv : pj.items) {
            const J &pr = kv.second;
            if (pr.items[0].second.s != "true")
                continue;
            bool ok = pr.items[1].second.s == "true";
            t += fmt("             %-11s %s", kv.first.c_str(), ok ? "ok" : "FAILED");
            t += ok ? fmt(" (%s ms)\n", pr.items[2].second.s.c_str()) : ": " + pr.items[3].second.s + "\n";
        }
    }
    if (nccl.ran)
        t += fmt("nccl         all-reduce over %d device%s: %s\n", torch_count, torch_count == 1 ? "" : "s",
                 nccl.ok ? fmt("ok (%.3f ms)", nccl.ms).c_str() : ("FAILED: " + nccl.error).c_str());
    std::string nodes_line;
    for (const auto &kv : nodes.items)
        nodes_line += (nodes_line.empty() ? "" : ", ") + kv.first + " " + kv.second.s;
    t += "dev nodes    " + (nodes_line.empty() ? std::string("none") : nodes_line) + "\n";
    bool any_other = false;
    for (size_t k = 0; k < d->findings.size(); k++) {
        const Finding &f = d->findings[k];
        if (&f == pf)
            continue;
        if (!any_other)
            t += "findings\n";
        any_other = true;
        t += fmt("  [%s] %s\n", severity_name(f.severity), f.message.c_str());
    }
    t += "evidence     " + pf->evidence + "\n";
    t += "libraries\n";
    for (const auto &l : libs)
        t += fmt("  %-26s %s%s\n", l.name.c_str(), l.real.c_str(), l.from_ld_library_path ? "  (LD_LIBRARY_PATH)" : "");
}

}  // namespace

extern "C" {

ltc_status ltc_diagnose(ltc_diagnosis **out, unsigned flags) {
    LTC_CHECK_NOT_NULL(out);
    *out = nullptr;
    if (flags & ~(LTC_DIAGNOSE_QUICK | LTC_DIAGNOSE_NO_CHILD))
        return ltc::fail(LTC_ERR_INVALID_ARGUMENT,
                         "ltc_diagnose: flags 0x%x has unknown bits 0x%x: use 0, LTC_DIAGNOSE_QUICK and LTC_DIAGNOSE_NO_CHILD",
                         flags, flags & ~(LTC_DIAGNOSE_QUICK | LTC_DIAGNOSE_NO_CHILD));
    LTC_TRY {
        auto *d = new ltc_diagnosis();
        try {
            run_diagnosis(d, flags);
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

int ltc_diagnosis_usable(const ltc_diagnosis *d) { return d && d->cause == LTC_CAUSE_NONE && d->primary == SIZE_MAX; }

ltc_cause ltc_diagnosis_cause(const ltc_diagnosis *d) {
    if (!d) {
        ltc::fail(LTC_ERR_INVALID_ARGUMENT, "ltc_diagnosis_cause: argument 'diagnosis' is NULL");
        return LTC_CAUSE_NONE;
    }
    return d->cause;
}

static const Finding *primary_finding(const ltc_diagnosis *d) {
    if (!d || d->findings.empty())
        return nullptr;
    return d->primary == SIZE_MAX ? &d->findings.back() : &d->findings[d->primary];
}

const char *ltc_diagnosis_message(const ltc_diagnosis *d) {
    const Finding *f = primary_finding(d);
    return f ? f->message.c_str() : "";
}

const char *ltc_diagnosis_fix(const ltc_diagnosis *d) {
    const Finding *f = primary_finding(d);
    return f ? f->fix.c_str() : "";
}

size_t ltc_diagnosis_finding_count(const ltc_diagnosis *d) { return d ? d->findings.size() : 0; }

ltc_status ltc_diagnosis_finding(ltc_finding *out, const ltc_diagnosis *diagnosis, size_t index) {
    LTC_CHECK_NOT_NULL(out);
    LTC_CHECK_NOT_NULL(diagnosis);  // the message names the argument as the header does
    const ltc_diagnosis *d = diagnosis;
    if (index >= d->findings.size())
        return ltc::fail(LTC_ERR_INVALID_ARGUMENT, "ltc_diagnosis_finding: index %zu is out of range: the report has %zu finding%s",
                         index, d->findings.size(), d->findings.size() == 1 ? "" : "s");
    const Finding &f = d->findings[index];
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
    case LTC_CAUSE_NO_GPU: return "no GPU";
    case LTC_CAUSE_VISIBLE_DEVICES: return "CUDA_VISIBLE_DEVICES hides the GPUs";
    case LTC_CAUSE_ARCH_NOT_SUPPORTED: return "GPU architecture not in this LibTorch";
    case LTC_CAUSE_CUDNN: return "cuDNN failing";
    case LTC_CAUSE_NCCL: return "NCCL failing";
    case LTC_CAUSE_PROOF_FAILED: return "GPU computation failed";
    case LTC_CAUSE_LIBTORCH_NO_DEVICE: return "LibTorch sees no GPU";
    case LTC_CAUSE_DUPLICATE_LIBRARY: return "duplicate library";
    }
    return "unknown cause";
}

}  // extern "C"
