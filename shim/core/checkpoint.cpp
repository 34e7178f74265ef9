// Training checkpoints (ltc_checkpoint_save_linear / ltc_checkpoint_load_linear): a module's parameters, its SGD
// momentum buffers, the step and the run's settings, in LibTorch's own zip format (the layout torch.save
// writes, so Python's torch.load reads it, weights_only included), written atomically.
#include "checkpoint_io.hpp"

#include <ATen/core/Dict.h>

#include <cerrno>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <csignal>
#include <cstring>
#include <ctime>
#include <dirent.h>
#include <fcntl.h>
#include <map>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

using ltc::fail;
using ltc::ckpt::folder_of;
using ltc::ckpt::io_fail;
using ltc::ckpt::number_text;
using ltc::ckpt::refuse_folder;

namespace {

constexpr const char *kFormat = "ltc.checkpoint.1";
const char *const kParamNames[] = {"weight", "bias"};

// FNV-1a, 64 bits: catches a flipped byte anywhere in what the file holds (the zip's own CRCs are not
// checked by every reader).
struct Digest {
    uint64_t h = 1469598103934665603ull;
    void add(const void *data, size_t n) {
        const unsigned char *p = static_cast<const unsigned char *>(data);
        for (size_t i = 0; i < n; i++)
            h = (h ^ p[i]) * 1099511628211ull;
    }
    void add(const std::string &s) { add(s.data(), s.size() + 1); }
    void add(const at::Tensor &t) {
        if (!t.defined()) {
            add("none");
            return;
        }
        at::Tensor c = t.contiguous();
        add(c.data_ptr(), c.nbytes());
    }
};

typedef std::map<std::string, std::string> Settings;

// "key=value key=value": keys and values non-empty, no spaces; a key at most once.
ltc_status parse_settings(Settings *out, const char *text, const char *fn) {
    out->clear();
    if (!text)
        return LTC_OK;
    const char *p = text;
    while (*p) {
        while (*p == ' ')
            p++;
        if (!*p)
            break;
        const char *end = strchr(p, ' ');
        std::string tok = end ? std::string(p, end) : std::string(p);
        p = end ? end : p + tok.size();
        size_t eq = tok.find('=');
        if (eq == std::string::npos || eq == 0 || eq + 1 == tok.size())
            return fail(LTC_ERR_INVALID_ARGUMENT,
                        "%s: settings item \"%.64s\" is not valid: use space-separated key=value items, e.g. \"seed=1 batch=256\"",
                        fn, tok.c_str());
        std::string key = tok.substr(0, eq);
        if (out->count(key))
            return fail(LTC_ERR_INVALID_ARGUMENT, "%s: settings key \"%.64s\" appears twice", fn, key.c_str());
        (*out)[key] = tok.substr(eq + 1);
    }
    return LTC_OK;
}

std::string settings_text(const Settings &s) {
    std::string out;
    for (const auto &kv : s)
        out += (out.empty() ? "" : " ") + kv.first + "=" + kv.second;
    return out;
}

// The optimizer must be the one made over this module: the same parameter tensors.
ltc_status check_pair(const ltc_linear *linear, const ltc_sgd *opt, const std::vector<at::Tensor> &params, const char *fn) {
    if (!opt)
        return LTC_OK;
    bool same = opt->params.size() == params.size();
    for (size_t i = 0; same && i < params.size(); i++)
        same = opt->params[i].is_same(params[i]);
    (void)linear;
    if (!same)
        return fail(LTC_ERR_INVALID_ARGUMENT, "%s: opt was made over another module: pass the ltc_sgd made over this linear", fn);
    return LTC_OK;
}

uint64_t digest_of(int64_t step, const std::string &settings, double lr, double momentum, const std::string &dtype,
                   const std::vector<at::Tensor> &tensors) {
    Digest d;
    d.add(kFormat);
    d.add(&step, sizeof step);
    d.add(settings);
    d.add(&lr, sizeof lr);
    d.add(&momentum, sizeof momentum);
    d.add(dtype);
    for (const auto &t : tensors)
        d.add(t);
    return d.h;
}

}  // namespace

extern "C" {

ltc_status ltc_checkpoint_save_linear(const char *path, const ltc_linear *linear, const ltc_sgd *opt, int64_t step,
                               const char *settings) {
    LTC_CHECK_NOT_NULL(path);
    LTC_CHECK_NOT_NULL(linear);
    if (!path[0])
        return fail(LTC_ERR_INVALID_ARGUMENT, "ltc_checkpoint_save_linear: path is empty: pass a file name");
    if (step < 0)
        return fail(LTC_ERR_INVALID_ARGUMENT, "ltc_checkpoint_save_linear: step %" PRId64 " is not valid: use 0 or more", step);
    LTC_TRY {
        Settings s;
        LTC_RETURN_IF_ERROR(parse_settings(&s, settings, "ltc_checkpoint_save_linear"));
        std::vector<at::Tensor> params = linear->m->parameters();
        LTC_RETURN_IF_ERROR(check_pair(linear, opt, params, "ltc_checkpoint_save_linear"));
        at::NoGradGuard no_grad;
        std::vector<at::Tensor> tensors;  // weight, bias, momentum of weight, momentum of bias (undefined: none)
        for (size_t i = 0; i < 2; i++) {
            at::Tensor p = i < params.size() ? params[i].detach().cpu().clone() : at::Tensor();
            if (p.defined() && !at::isfinite(p).all().item<bool>())
                return fail(LTC_ERR_INVALID_ARGUMENT,
                            "ltc_checkpoint_save_linear: the %s holds NaN or infinite values (the training diverged): %s not written, "
                            "a previous checkpoint there is left as it was",
                            kParamNames[i], path);
            tensors.push_back(p);
        }
        for (size_t i = 0; i < 2; i++)
            tensors.push_back(opt && i < opt->momentum.size() && opt->momentum[i].defined()
                                  ? opt->momentum[i].detach().cpu().clone()
                                  : at::Tensor());
        const double lr = opt ? opt->lr : 0, momentum = opt ? opt->momentum_factor : 0;
        const std::string dtype = ltc_dtype_name((ltc_dtype)ltc::from_scalar_type(params[0].scalar_type()));
        const std::string stext = settings_text(s);
        c10::impl::GenericDict dict(c10::StringType::get(), c10::AnyType::get());
        dict.insert("format", std::string(kFormat));
        dict.insert("step", step);
        dict.insert("weight", tensors[0]);
        dict.insert("bias", tensors[1].defined() ? c10::IValue(tensors[1]) : c10::IValue());
        dict.insert("momentum_buffer.weight", tensors[2].defined() ? c10::IValue(tensors[2]) : c10::IValue());
        dict.insert("momentum_buffer.bias", tensors[3].defined() ? c10::IValue(tensors[3]) : c10::IValue());
        dict.insert("lr", lr);
        dict.insert("momentum", momentum);
        dict.insert("dtype", dtype);
        dict.insert("settings", stext);
        dict.insert("digest", (int64_t)digest_of(step, stext, lr, momentum, dtype, tensors));
        return ltc::ckpt::write_atomically("ltc_checkpoint_save_linear", path, ltc::ckpt::encode(c10::IValue(dict)));
    }
    LTC_CATCH
}

}  // extern "C"

namespace {

// The file's dictionary, checked field by field; every complaint names the file.
struct Loaded {
    int64_t step = 0;
    at::Tensor t[4];
    double lr = 0, momentum = 0;
    std::string dtype, settings;
};

ltc_status decode(Loaded *out, const std::string &path, const std::vector<char> &bytes) {
    c10::IValue v;
    LTC_RETURN_IF_ERROR(ltc::ckpt::decode(&v, path, bytes, kFormat));
    if (!v.isGenericDict())
        return fail(LTC_ERR_INVALID_ARGUMENT, "checkpoint %s holds a %s, not an ltc checkpoint (a dict with format \"%s\")",
                    path.c_str(), v.tagKind().c_str(), kFormat);
    auto dict = v.toGenericDict();
    auto get = [&](const char *key) -> c10::IValue {
        auto it = dict.find(key);
        return it == dict.end() ? c10::IValue() : it->value();
    };
    c10::IValue fmt = get("format");
    if (!fmt.isString() || fmt.toStringRef() != kFormat)
        return fail(LTC_ERR_INVALID_ARGUMENT, "checkpoint %s is not an ltc checkpoint: its format is %s, expected \"%s\"",
                    path.c_str(), fmt.isString() ? ("\"" + fmt.toStringRef() + "\"").c_str() : "missing", kFormat);
    const char *names[4] = {"weight", "bias", "momentum_buffer.weight", "momentum_buffer.bias"};
    for (int i = 0; i < 4; i++) {
        c10::IValue t = get(names[i]);
        if (!t.isNone() && !t.isTensor())
            return fail(LTC_ERR_INVALID_ARGUMENT, "checkpoint %s is corrupt: %s is a %s, not a tensor", path.c_str(), names[i],
                        t.tagKind().c_str());
        if (t.isTensor())
            out->t[i] = t.toTensor();
    }
    c10::IValue step = get("step"), lr = get("lr"), mom = get("momentum"), dtype = get("dtype"), settings = get("settings"),
                digest = get("digest");
    if (!step.isInt() || !lr.isDouble() || !mom.isDouble() || !dtype.isString() || !settings.isString() || !digest.isInt() ||
        !out->t[0].defined())
        return fail(LTC_ERR_INVALID_ARGUMENT,
                    "checkpoint %s is corrupt: a field is missing or of the wrong type (step, weight, lr, momentum, dtype, "
                    "settings, digest)",
                    path.c_str());
    out->step = step.toInt();
    out->lr = lr.toDouble();
    out->momentum = mom.toDouble();
    out->dtype = dtype.toStringRef();
    out->settings = settings.toStringRef();
    std::vector<at::Tensor> ts(out->t, out->t + 4);
    if ((uint64_t)digest.toInt() != digest_of(out->step, out->settings, out->lr, out->momentum, out->dtype, ts))
        return fail(LTC_ERR_INVALID_ARGUMENT,
                    "checkpoint %s is corrupt: its contents do not match the digest written with them (a changed byte)",
                    path.c_str());
    return LTC_OK;
}

// Refuses a checkpoint made by another run: other shapes, dtype, optimizer or settings.
ltc_status check_match(const Loaded &c, const std::string &path, const std::vector<at::Tensor> &params, const ltc_sgd *opt,
                       const Settings &mine) {
    for (size_t i = 0; i < 2; i++) {
        at::Tensor p = i < params.size() ? params[i] : at::Tensor();
        if (p.defined() != c.t[i].defined() || (p.defined() && !p.sizes().equals(c.t[i].sizes())))
            return fail(LTC_ERR_INVALID_ARGUMENT, "checkpoint %s does not match this model: its %s is %s, this model's is %s",
                        path.c_str(), kParamNames[i], c.t[i].defined() ? ltc::shape_text(c.t[i].sizes()).c_str() : "absent",
                        p.defined() ? ltc::shape_text(p.sizes()).c_str() : "absent");
        if (c.t[i + 2].defined() && !c.t[i + 2].sizes().equals(c.t[i].sizes()))
            return fail(LTC_ERR_INVALID_ARGUMENT, "checkpoint %s is corrupt: the momentum buffer of the %s has shape %s",
                        path.c_str(), kParamNames[i], ltc::shape_text(c.t[i + 2].sizes()).c_str());
    }
    const std::string dtype = ltc_dtype_name((ltc_dtype)ltc::from_scalar_type(params[0].scalar_type()));
    Settings theirs;
    if (parse_settings(&theirs, c.settings.c_str(), "ltc_checkpoint_load_linear") != LTC_OK)
        return fail(LTC_ERR_INVALID_ARGUMENT, "checkpoint %s is corrupt: its settings \"%.100s\" cannot be read", path.c_str(),
                    c.settings.c_str());
    theirs["dtype"] = c.dtype;
    Settings ours = mine;
    ours["dtype"] = dtype;
    if (opt) {
        theirs["lr"] = number_text(c.lr);
        theirs["momentum"] = number_text(c.momentum);
        ours["lr"] = number_text(opt->lr);
        ours["momentum"] = number_text(opt->momentum_factor);
    }
    for (const auto &kv : ours) {
        auto it = theirs.find(kv.first);
        if (it == theirs.end() || it->second != kv.second)
            return fail(LTC_ERR_INVALID_ARGUMENT,
                        "checkpoint %s was made with other settings: %s=%s in the file, %s=%s in this run; resume with the "
                        "same settings, or start afresh with another checkpoint path",
                        path.c_str(), kv.first.c_str(), it == theirs.end() ? "(absent)" : it->second.c_str(), kv.first.c_str(),
                        kv.second.c_str());
    }
    for (const auto &kv : theirs)
        if (!ours.count(kv.first))
            return fail(LTC_ERR_INVALID_ARGUMENT,
                        "checkpoint %s was made with other settings: %s=%s in the file, absent in this run", path.c_str(),
                        kv.first.c_str(), kv.second.c_str());
    return LTC_OK;
}

}  // namespace

extern "C" {

ltc_status ltc_checkpoint_load_linear(int64_t *out_step, const char *path, ltc_linear *linear, ltc_sgd *opt, const char *settings) {
    LTC_CHECK_NOT_NULL(out_step);
    LTC_CHECK_NOT_NULL(path);
    LTC_CHECK_NOT_NULL(linear);
    if (!path[0])
        return fail(LTC_ERR_INVALID_ARGUMENT, "ltc_checkpoint_load_linear: path is empty: pass a file name");
    LTC_TRY {
        Settings mine;
        LTC_RETURN_IF_ERROR(parse_settings(&mine, settings, "ltc_checkpoint_load_linear"));
        std::vector<at::Tensor> params = linear->m->parameters();
        LTC_RETURN_IF_ERROR(check_pair(linear, opt, params, "ltc_checkpoint_load_linear"));
        std::vector<char> bytes;
        LTC_RETURN_IF_ERROR(ltc::ckpt::read_whole("ltc_checkpoint_load_linear", &bytes, path));
        Loaded c;
        LTC_RETURN_IF_ERROR(decode(&c, path, bytes));
        LTC_RETURN_IF_ERROR(check_match(c, path, params, opt, mine));
        if (c.step < 0)
            return fail(LTC_ERR_INVALID_ARGUMENT, "checkpoint %s is corrupt: step %" PRId64, path, c.step);
        // Everything checked: now change the module and the optimizer, all or nothing.
        at::NoGradGuard no_grad;
        for (size_t i = 0; i < params.size() && i < 2; i++)
            params[i].copy_(c.t[i]);
        if (opt)
            for (size_t i = 0; i < opt->momentum.size() && i < 2; i++)
                opt->momentum[i] = c.t[i + 2].defined() ? c.t[i + 2].to(params[i].options()).contiguous() : at::Tensor();
        *out_step = c.step;
        return LTC_OK;
    }
    LTC_CATCH
}

}  // extern "C"

// ltc_checkpoint_lock_new / _free: a flock on path.lock, held for a run.
struct ltc_checkpoint_lock {
    int fd = -1;
    std::string lock_path;
};

namespace {

std::string host_name() {
    char h[256] = "";
    if (gethostname(h, sizeof h - 1) != 0)
        return "?";
    h[sizeof h - 1] = '\0';
    return h;
}

// Removes path.tmp.<pid> files whose pid runs no process here: left by a save its process did not live
// to finish. Best effort: a file that cannot be removed stays.
void remove_stale_temporaries(const std::string &path) {
    const std::string dir = folder_of(path);
    size_t slash = path.rfind('/');
    const std::string prefix = (slash == std::string::npos ? path : path.substr(slash + 1)) + ".tmp.";
    DIR *d = opendir(dir.c_str());
    if (!d)
        return;
    while (struct dirent *e = readdir(d)) {
        const char *name = e->d_name;
        if (strncmp(name, prefix.c_str(), prefix.size()) != 0)
            continue;
        const char *digits = name + prefix.size();
        size_t n = strspn(digits, "0123456789");
        if (n == 0 || n > 9 || digits[n] != '\0')
            continue;
        pid_t pid = (pid_t)atol(digits);
        if (pid <= 0 || pid == getpid() || kill(pid, 0) == 0 || errno != ESRCH)
            continue;  // running (or not ours to judge): its file stays
        unlink((dir + "/" + name).c_str());
    }
    closedir(d);
}

}  // namespace

extern "C" {

ltc_status ltc_checkpoint_lock_new(ltc_checkpoint_lock **out, const char *path) {
    LTC_CHECK_OUT(out);
    LTC_CHECK_NOT_NULL(path);
    const char *fn = "ltc_checkpoint_lock_new";
    if (!path[0])
        return fail(LTC_ERR_INVALID_ARGUMENT, "%s: path is empty: pass a file name", fn);
    LTC_TRY {
        const std::string p = path, lock_path = p + ".lock";
        LTC_RETURN_IF_ERROR(refuse_folder(fn, p));
        // Open and lock; if the file we locked is no longer the one at lock_path (its holder removed
        // it as we opened it), try again on the new one.
        int fd = -1;
        for (int attempt = 0; fd < 0; attempt++) {
            fd = open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
            if (fd < 0)
                return io_fail(fn, "create the lock file", lock_path, errno, p);
            if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
                int err = errno;
                char holder[256] = "";
                ssize_t n = err == EWOULDBLOCK ? pread(fd, holder, sizeof holder - 1, 0) : -1;
                close(fd);
                if (err != EWOULDBLOCK)
                    return io_fail(fn, "lock", lock_path, err, p);
                holder[n > 0 ? n : 0] = '\0';
                holder[strcspn(holder, "\n")] = '\0';
                return fail(LTC_ERR_INVALID_ARGUMENT,
                            "%s: checkpoint %s is in use by another run (%s; it holds %s): wait for it to end, or pass "
                            "another path",
                            fn, path, holder[0] ? holder : "its owner has not written its name yet", lock_path.c_str());
            }
            struct stat mine, now;
            if (fstat(fd, &mine) != 0 || stat(lock_path.c_str(), &now) != 0 || mine.st_ino != now.st_ino ||
                mine.st_dev != now.st_dev) {
                close(fd);
                fd = -1;
                if (attempt >= 100)
                    return fail(LTC_ERR_IO, "%s: cannot lock %s: it keeps being removed and made again", fn,
                                lock_path.c_str());
            }
        }
        // Ours: say whose it is. A full disk or quota shows here, before any training.
        char line[512];
        time_t t = time(nullptr);
        struct tm utc;
        char when[32] = "?";
        if (gmtime_r(&t, &utc))
            strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &utc);
        int len = snprintf(line, sizeof line, "pid %d on host %s since %s\n", (int)getpid(), host_name().c_str(), when);
        errno = 0;
        if (ftruncate(fd, 0) != 0 || pwrite(fd, line, (size_t)len, 0) != len || fsync(fd) != 0) {
            int err = errno ? errno : EIO;
            unlink(lock_path.c_str());
            close(fd);
            return io_fail(fn, "write the lock file", lock_path, err, p);
        }
        remove_stale_temporaries(p);
        ltc_checkpoint_lock *lock = new ltc_checkpoint_lock;
        lock->fd = fd;
        lock->lock_path = lock_path;
        *out = lock;
        return LTC_OK;
    }
    LTC_CATCH
}

void ltc_checkpoint_lock_free(ltc_checkpoint_lock *lock) {
    if (!lock)
        return;
    struct stat mine, now;  // remove the file only while it is still ours, then let go
    if (fstat(lock->fd, &mine) == 0 && stat(lock->lock_path.c_str(), &now) == 0 && mine.st_ino == now.st_ino &&
        mine.st_dev == now.st_dev)
        unlink(lock->lock_path.c_str());
    close(lock->fd);
    delete lock;
}

}  // extern "C"
