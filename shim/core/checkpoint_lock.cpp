// The checkpoint lock (ltc_checkpoint_lock_new / _free): a flock on path.lock, held for a run, so that two
// runs never write one checkpoint file; it also checks at the start that saving there can work.
#include "checkpoint_io.hpp"



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
