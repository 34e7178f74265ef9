// 4. Outside the process: what is on the PCI bus, the device nodes and their permissions, the kernel
// modules, containers, WSL2, batch jobs, and CUDA_VISIBLE_DEVICES (compared, in a child process, with what
// the driver sees without it). Only reads files and the environment: cheap enough for every run.
#include "diagnose_internal.hpp"

#include <cerrno>
#include <cstring>
#include <dirent.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <glob.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <sstream>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

namespace ltc_diag {

std::string sys_path(const char *abs) {
    const char *root = ltc::test_seam("LTC_DIAGNOSE_SYSROOT");
    return root && *root ? std::string(root) + abs : std::string(abs);
}

bool EnvFacts::nvidia_pci() const {
    for (const auto &g : gpus)
        if (g.vendor == "0x10de")
            return true;
    return false;
}

bool EnvFacts::other_vendor_gpu(std::string *which) const {
    for (const auto &g : gpus)
        if (g.vendor == "0x1002" || g.vendor == "0x8086") {
            *which = fmt("%s GPU (PCI %s, %s:%s)", g.vendor == "0x1002" ? "an AMD" : "an Intel", g.address.c_str(),
                         g.vendor.c_str() + 2, g.device.size() > 2 ? g.device.c_str() + 2 : "?");
            return true;
        }
    return false;
}

namespace {

// Display controllers (class 0x03): VGA, 3D, other. NVIDIA's data-center GPUs are 3D controllers (0x0302).
void scan_pci(EnvFacts &e) {
    std::string base = sys_path("/sys/bus/pci/devices");
    DIR *dir = opendir(base.c_str());
    if (!dir)
        return;
    e.pci_readable = true;
    while (struct dirent *de = readdir(dir)) {
        if (de->d_name[0] == '.')
            continue;
        e.pci_devices++;
        std::string p = base + "/" + de->d_name;
        PciGpu g;
        g.address = de->d_name;
        g.vendor = read_first_line(p + "/vendor");
        g.device = read_first_line(p + "/device");
        g.cls = read_first_line(p + "/class");
        if (g.cls.rfind("0x03", 0) != 0)
            continue;
        char link[PATH_MAX];
        ssize_t n = readlink((p + "/driver").c_str(), link, sizeof link - 1);
        if (n > 0) {
            link[n] = '\0';
            g.driver = base_of(link);
        }
        e.gpus.push_back(g);
    }
    closedir(dir);
}

std::string detect_container() {
    if (file_exists(sys_path("/.dockerenv")))
        return "docker";
    if (file_exists(sys_path("/run/.containerenv")))
        return "podman";
    if (getenv("KUBERNETES_SERVICE_HOST"))
        return "kubernetes";
    std::string cg = read_text(sys_path("/proc/1/cgroup"));
    for (const char *k : {"docker", "kubepods", "containerd", "libpod", "lxc"})
        if (cg.find(k) != std::string::npos)
            return k;
    if (const char *c = getenv("container"))
        return *c ? c : "container";
    return "";
}

std::string group_name(gid_t gid) {
    struct group gr, *res = nullptr;
    char buf[4096];
    if (getgrgid_r(gid, &gr, buf, sizeof buf, &res) == 0 && res)
        return res->gr_name;
    return std::to_string(gid);
}

void check_nodes(EnvFacts &e, bool open_them) {
    std::vector<std::string> paths = {"/dev/nvidiactl", "/dev/nvidia-uvm"};
    std::string pattern = sys_path("/dev/nvidia[0-9]*");
    glob_t g;
    if (glob(pattern.c_str(), 0, nullptr, &g) == 0) {
        for (size_t i = 0; i < g.gl_pathc; i++)
            paths.push_back(std::string("/dev/") + base_of(g.gl_pathv[i]));
        globfree(&g);
    }
    for (const auto &p : paths) {
        EnvFacts::Node n;
        n.path = p;
        std::string real = sys_path(p.c_str());
        struct stat st;
        if (stat(real.c_str(), &st) != 0) {
            n.state = "missing";
        } else {
            n.owner_group = group_name(st.st_gid);
            n.mode = fmt("%03o", (unsigned)(st.st_mode & 0777));
            // open() sees what access() does not: a container's device cgroup rule (EPERM)
            int fd = open_them ? open(real.c_str(), O_RDWR | O_CLOEXEC | O_NONBLOCK) : -1;
            if (open_them && fd < 0)
                n.err = errno;
            if (fd >= 0)
                close(fd);
            bool ok = open_them ? fd >= 0 : access(real.c_str(), R_OK | W_OK) == 0;
            if (!open_them && !ok)
                n.err = errno;
            n.state = ok ? "ok" : "no access";
        }
        e.nodes.push_back(n);
    }
    gid_t groups[256];
    int ng = getgroups(256, groups);
    std::vector<std::string> names;
    names.push_back(group_name(getegid()));
    for (int i = 0; i < ng; i++)
        if (groups[i] != getegid())
            names.push_back(group_name(groups[i]));
    e.user_groups = join(names, ", ");
}

}  // namespace

void probe_environment(Ctx &c) {
    EnvFacts &e = c.e;
    if (const char *r = ltc::test_seam("LTC_DIAGNOSE_SYSROOT"))
        e.sysroot = r;
    scan_pci(e);
    e.container = detect_container();
    std::string version = read_first_line(sys_path("/proc/version"));
    e.wsl = version.find("icrosoft") != std::string::npos || version.find("WSL") != std::string::npos;
    if (e.wsl && file_exists(sys_path("/usr/lib/wsl/lib/libcuda.so.1")))
        e.wsl_libcuda = "/usr/lib/wsl/lib/libcuda.so.1";
    if (const char *j = getenv("SLURM_JOB_ID")) {
        e.slurm = true;
        e.slurm_job = j;
        for (const char *v : {"SLURM_JOB_GPUS", "SLURM_STEP_GPUS", "SLURM_GPUS", "SLURM_GPUS_ON_NODE", "SLURM_GPUS_PER_NODE",
                              "SLURM_GPUS_PER_TASK"})
            if (const char *g = getenv(v))
                if (*g) {  // a list of GPU indices ("0,1"), or a count
                    e.slurm_gpus = fmt("%s=%s", v, g);
                    break;
                }
    }
    e.mod_nvidia = file_exists(sys_path("/sys/module/nvidia"));
    e.mod_uvm = file_exists(sys_path("/sys/module/nvidia_uvm"));
    e.mod_nouveau = file_exists(sys_path("/sys/module/nouveau"));
    // SecureBoot-<EFI global variable GUID>: 4 bytes of attributes, then 1 when on
    std::string sb = sys_path("/sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c");
    if (FILE *f = fopen(sb.c_str(), "rb")) {
        unsigned char buf[5];
        if (fread(buf, 1, 5, f) == 5)
            e.secure_boot = buf[4] == 1;
        fclose(f);
    }
    const ltc_cudrv &drv = *c.d.drv;
    bool driver_failed = !drv.loaded || drv.init_rc != 0 || drv.count <= 0;
    check_nodes(e, driver_failed);
    e.vis = parse_visible_devices();
}

void report_environment(Ctx &c) {
    const EnvFacts &e = c.e;
    VisibilityReport &v = c.report.visibility;
    v.CUDA_VISIBLE_DEVICES = when(e.vis.set, e.vis.value);
    v.parsed = when(e.vis.set, e.vis.entries);
    v.kind = when(e.vis.set, e.vis.kind);
    v.count_without_it = when(e.child.ran, e.child.init == 0 ? e.child.count : 0);
    v.probe_error = nonempty(e.child.error);
    for (const auto &n : e.nodes)
        c.report.device_nodes.emplace_back(n.path, n.state);
    MachineReport &m = c.report.machine;
    if (e.pci_readable) {
        m.pci_gpus.emplace();
        for (const auto &g : e.gpus)
            m.pci_gpus->push_back({g.address, g.vendor, g.device, g.cls, nonempty(g.driver)});
    }
    m.pci_devices = when(e.pci_readable, e.pci_devices);
    m.nvidia_gpu_on_pci = when(e.pci_readable, e.nvidia_pci());
    m.container = nonempty(e.container);
    m.wsl = e.wsl;
    m.slurm_job = when(e.slurm, e.slurm_job);
    m.slurm_gpus = nonempty(e.slurm_gpus);
    m.kernel_modules = {e.mod_nvidia, e.mod_uvm, e.mod_nouveau};
    m.secure_boot = when(e.secure_boot >= 0, e.secure_boot == 1);
    m.user_groups = e.user_groups;
    m.sysroot = nonempty(e.sysroot);
}

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
    if (v.value.empty() || v.value.back() == ',')
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

namespace {

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

}  // namespace

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
    if (pipe2(fds, O_CLOEXEC) != 0) {
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
    if (pid == 0) {  // only async-signal-safe calls until execve: another thread may hold any lock
        dup2(fds[1], 1);
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
        if (n < 0 && errno == EINTR)
            continue;
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
    J answer;
    std::string why;
    if (!ltc_json::json_parse(out, &answer, &why) || !answer.find("init") || !answer.find("count")) {
        c.error = "unreadable answer from ltc-cuda-probe (" + (why.empty() ? std::string("no init and count") : why) + "): " + out;
        return c;
    }
    from_json(answer, c);
    c.ran = true;
    return c;
}

}  // namespace ltc_diag
