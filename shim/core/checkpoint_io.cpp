// The file side of every checkpoint: atomic writes, whole reads, LTC_ERR_IO messages that say what errno
// means there, and LibTorch's zip format (torch.save's), Python's state_dicts included.
#include "checkpoint_io.hpp"

#include <caffe2/serialize/in_memory_adapter.h>
#include <caffe2/serialize/inline_container.h>
#include <torch/csrc/jit/serialization/export.h>
#include <torch/csrc/jit/serialization/pickler.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

using ltc::fail;

namespace ltc::ckpt {

std::string number_text(double v) {
    char buf[40];
    for (int digits = 15; digits <= 17; digits++) {
        snprintf(buf, sizeof buf, "%.*g", digits, v);
        if (strtod(buf, nullptr) == v)
            break;
    }
    return buf;
}

std::string folder_of(const std::string &path) {
    size_t slash = path.rfind('/');
    return slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
}

namespace {

// What errno err means for a file in folder dir, in words a user can act on ("" when strerror says it).
std::string io_hint(int err, const std::string &path, const std::string &dir) {
    struct stat st;
    switch (err) {
    case ENOENT:
        if (stat(dir.c_str(), &st) != 0)
            return "its folder " + dir + " does not exist: create it, or pass another path";
        return "";
    case ENOTDIR: return "a part of " + dir + " is a file, not a folder";
    case EISDIR: return path + " is a folder: pass a file name, e.g. " + path + "/checkpoint.pt";
    case EROFS: return dir + " is on a read-only file system: pass a path on a writable one";
    case ENOSPC: return "the file system holding " + dir + " is full: free some space, or pass a path on another one";
    case EDQUOT: return "the disk quota for " + dir + " is used up";
    case EACCES:
    case EPERM: return "this process (uid " + std::to_string(getuid()) + ") lacks the permission: check those of " + dir;
    default: return "";
    }
}

// Writes all of bytes to fd, or returns errno's value.
int write_all(int fd, const std::vector<char> &bytes) {
    size_t done = 0;
    while (done < bytes.size()) {
        ssize_t n = write(fd, bytes.data() + done, bytes.size() - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n < 0 ? errno : EIO;
        done += (size_t)n;
    }
    return 0;
}

// fsync of path's folder, so that a rename there is on disk.
ltc_status sync_folder(const char *fn, const std::string &path) {
    const std::string dir = folder_of(path);
    const std::string what = "flush the folder of " + path + ", written but perhaps not yet on disk:";
    int dfd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return io_fail(fn, (what + " open").c_str(), dir, errno, path);
    int rc = fsync(dfd), err = errno;
    close(dfd);
    if (rc != 0)
        return io_fail(fn, (what + " fsync").c_str(), dir, err, path);
    return LTC_OK;
}

}  // namespace

ltc_status io_fail(const char *fn, const char *what, const std::string &target, int err, const std::string &path,
                   const char *note) {
    std::string more = io_hint(err, path, folder_of(path));
    if (*note)
        more += (more.empty() ? "" : "; ") + std::string(note);
    return fail(LTC_ERR_IO, "%s: cannot %s %s: %s%s%s%s", fn, what, target.c_str(), strerror(err), more.empty() ? "" : " (",
                more.c_str(), more.empty() ? "" : ")");
}

ltc_status refuse_folder(const char *fn, const std::string &path) {
    struct stat st;
    if (stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode))
        return io_fail(fn, "use", path, EISDIR, path);
    return LTC_OK;
}

ltc_status write_atomically(const char *fn, const std::string &path, const std::vector<char> &bytes) {
    const char *intact = "the previous checkpoint, if any, is intact";
    LTC_RETURN_IF_ERROR(refuse_folder(fn, path));
    std::string tmp = path + ".tmp." + std::to_string(getpid());
    int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return io_fail(fn, "create", tmp, errno, path, intact);
    const char *what = "write";
    int err = write_all(fd, bytes);
    if (!err && fsync(fd) != 0) {
        what = "flush to disk";
        err = errno;
    }
    if (close(fd) != 0 && !err) {
        what = "close";
        err = errno;
    }
    if (!err && rename(tmp.c_str(), path.c_str()) != 0) {
        unlink(tmp.c_str());
        return io_fail(fn, ("rename " + tmp + " to").c_str(), path, errno, path, intact);
    }
    if (err) {
        unlink(tmp.c_str());
        return io_fail(fn, what, tmp, err, path, intact);
    }
    return sync_folder(fn, path);
}

ltc_status read_whole(const char *fn, std::vector<char> *out, const std::string &path) {
    int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return io_fail(fn, "open checkpoint", path, errno, path);
    struct stat st;
    if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
        close(fd);
        return io_fail(fn, "read checkpoint", path, EISDIR, path);
    }
    out->clear();
    char buf[1 << 16];
    while (true) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int err = errno;
            close(fd);
            return io_fail(fn, "read checkpoint", path, err, path);
        }
        if (n == 0)
            break;
        out->insert(out->end(), buf, buf + n);
    }
    close(fd);
    return LTC_OK;
}

std::vector<char> encode(const c10::IValue &value) {
    std::vector<char> pickle;
    torch::jit::Pickler pickler([&](const char *b, size_t n) { pickle.insert(pickle.end(), b, b + n); }, nullptr, nullptr,
                                nullptr, nullptr, /*tag_aggregates=*/false);
    pickler.protocol();
    pickler.pushIValue(value);
    pickler.stop();
    std::vector<char> out;
    caffe2::serialize::PyTorchStreamWriter writer([&](const void *b, size_t n) {
        out.insert(out.end(), static_cast<const char *>(b), static_cast<const char *>(b) + n);
        return n;
    });
    torch::jit::writeArchiveAndTensors("data", pickle.data(), pickle.size(), pickler.tensorData(), writer);
    writer.writeEndOfFile();
    return out;
}

namespace {

// The value of the archive's data.pkl, with its tensors on the CPU.
c10::IValue read_archive(caffe2::serialize::PyTorchStreamReader &reader) {
    auto pkl = reader.getRecord("data.pkl");
    const char *data = static_cast<const char *>(std::get<0>(pkl).get());
    RecordReader record = [&](const std::string &name) {
        if (!reader.hasRecord(name))
            throw std::runtime_error("its record " + name + " is missing");
        return reader.getRecord(name);
    };
    return unpickle(std::vector<char>(data, data + std::get<1>(pkl)), record);
}

// A TorchScript archive (torch.jit.save): the zip torch.save writes, plus the module's code and constants.
bool is_torchscript(caffe2::serialize::PyTorchStreamReader &reader) {
    if (reader.hasRecord("constants.pkl"))
        return true;
    for (const auto &r : reader.getAllRecords())
        if (r.rfind("code/", 0) == 0)
            return true;
    return false;
}

ltc_status corrupt(const std::string &path, size_t size, std::string why) {
    if (why.size() > 200)
        why = why.substr(0, 200) + "...";
    return fail(LTC_ERR_INVALID_ARGUMENT, "checkpoint %s (%zu bytes) is truncated or corrupt: it cannot be read (%s)",
                path.c_str(), size, why.c_str());
}

}  // namespace

ltc_status decode(c10::IValue *out, const std::string &path, const std::vector<char> &bytes, const char *format) {
    try {
        caffe2::serialize::PyTorchStreamReader reader(
            std::make_shared<caffe2::serialize::MemoryReadAdapter>(bytes.data(), (off_t)bytes.size()));
        if (is_torchscript(reader))
            return fail(LTC_ERR_INVALID_ARGUMENT,
                        "checkpoint %s is a TorchScript module (torch.jit.save), not an ltc checkpoint (a dict with format "
                        "\"%s\")",
                        path.c_str(), format);
        *out = read_archive(reader);
        return LTC_OK;
    } catch (const c10::Error &e) {
        return corrupt(path, bytes.size(), e.what_without_backtrace());
    } catch (const std::runtime_error &e) {
        return corrupt(path, bytes.size(), e.what());
    }
}

}  // namespace ltc::ckpt
