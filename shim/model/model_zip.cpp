// The zip archive of a .pt2 package, read with plain reads at offsets: the central directory (zip64
// too, which LibTorch's writer emits) and stored entries' bytes. Nothing is extracted or inflated:
// LibTorch's loader does that once the checks pass.
#include "model_internal.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace ltc_pt2 {

namespace {

uint64_t le(const char *p, int n) {
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--)
        v = (v << 8) | (unsigned char)p[i];
    return v;
}

const uint64_t kMaxCentralDirectory = 256u << 20;  // a package has tens of entries; this bounds a corrupt one

// The zip64 extra field (0x0001) holds the 64-bit values of the fields that are all ones, in order.
void apply_zip64_extra(const char *extra, size_t len, uint64_t *size, uint64_t *csize, uint64_t *offset) {
    for (size_t i = 0; i + 4 <= len;) {
        uint64_t id = le(extra + i, 2), n = le(extra + i + 2, 2);
        const char *p = extra + i + 4, *end = p + std::min<uint64_t>(n, len - i - 4);
        if (id == 1) {
            for (uint64_t *f : {size, csize, offset})
                if (*f == 0xFFFFFFFFu && p + 8 <= end) {
                    *f = le(p, 8);
                    p += 8;
                }
            return;
        }
        i += 4 + n;
    }
}

// Finds the central directory: *off, *size and *count from the end records; "" or why not.
std::string find_central_directory(const Zip &zip, uint64_t *off, uint64_t *size, uint64_t *count) {
    uint64_t tail = std::min<uint64_t>(zip.file_size, 22 + 65535);
    std::string buf;
    if (tail < 22 || !zip_pread(zip, zip.file_size - tail, (size_t)tail, &buf))
        return "not a zip archive (too short to hold one)";
    size_t at = buf.rfind(std::string("PK\x05\x06", 4));
    if (at == std::string::npos || at + 22 > buf.size())
        return "not a zip archive (no end-of-central-directory record)";
    const char *e = buf.data() + at;
    *count = le(e + 10, 2);
    *size = le(e + 12, 4);
    *off = le(e + 16, 4);
    if (*count == 0xFFFF || *size == 0xFFFFFFFFu || *off == 0xFFFFFFFFu) {  // zip64: its locator precedes
        std::string loc, rec;
        uint64_t eocd = zip.file_size - tail + at;
        if (eocd < 20 || !zip_pread(zip, eocd - 20, 20, &loc) || loc.compare(0, 4, "PK\x06\x07", 4) != 0 ||
            !zip_pread(zip, le(loc.data() + 8, 8), 56, &rec) || rec.compare(0, 4, "PK\x06\x06", 4) != 0)
            return "a damaged zip archive (its zip64 end record cannot be read)";
        *count = le(rec.data() + 32, 8);
        *size = le(rec.data() + 40, 8);
        *off = le(rec.data() + 48, 8);
    }
    if (*size > kMaxCentralDirectory || *off + *size > zip.file_size)
        return "a damaged zip archive (its central directory lies outside the file)";
    return "";
}

}  // namespace

Zip::~Zip() {
    if (fd >= 0)
        close(fd);
}

bool zip_pread(const Zip &zip, uint64_t off, size_t len, std::string *out) {
    out->assign(len, '\0');
    size_t got = 0;
    while (got < len) {
        ssize_t n = pread(zip.fd, &(*out)[got], len - got, (off_t)(off + got));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        got += (size_t)n;
    }
    return true;
}

std::string zip_open(Zip &zip, const std::string &path) {
    zip.fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (zip.fd < 0 || fstat(zip.fd, &st) != 0)
        return ltc::fmt("cannot be opened: %s", strerror(errno));
    if (!S_ISREG(st.st_mode))
        return "is not a .pt2 package: not a regular file";
    zip.file_size = (uint64_t)st.st_size;
    uint64_t off = 0, size = 0, count = 0;
    std::string why = find_central_directory(zip, &off, &size, &count), cd;
    if (!why.empty())
        return "is not a .pt2 package: " + why;
    if (!zip_pread(zip, off, (size_t)size, &cd))
        return "is not a .pt2 package: a damaged zip archive (its central directory cannot be read)";
    for (size_t at = 0; zip.entries.size() < count;) {
        if (at + 46 > cd.size() || cd.compare(at, 4, "PK\x01\x02", 4) != 0)
            return "is not a .pt2 package: a damaged zip archive (entry " + std::to_string(zip.entries.size()) +
                   " of its central directory is not one)";
        const char *h = cd.data() + at;
        uint64_t n = le(h + 28, 2), x = le(h + 30, 2), c = le(h + 32, 2);
        if (at + 46 + n + x + c > cd.size())
            return "is not a .pt2 package: a damaged zip archive (an entry runs past its central directory)";
        ZipEntry e;
        e.method = (uint16_t)le(h + 10, 2);
        uint64_t csize = le(h + 20, 4);
        e.size = le(h + 24, 4);
        e.local_offset = le(h + 42, 4);
        e.name.assign(h + 46, n);
        apply_zip64_extra(h + 46 + n, x, &e.size, &csize, &e.local_offset);
        zip.entries.push_back(std::move(e));
        at += 46 + n + x + c;
    }
    return "";
}

bool zip_data_offset(const Zip &zip, const ZipEntry &e, uint64_t *out, std::string *err) {
    std::string h;
    if (e.method != 0) {
        *err = "it is compressed (method " + std::to_string(e.method) + ")";
        return false;
    }
    if (!zip_pread(zip, e.local_offset, 30, &h) || h.compare(0, 4, "PK\x03\x04", 4) != 0) {
        *err = "its local header cannot be read";
        return false;
    }
    *out = e.local_offset + 30 + le(h.data() + 26, 2) + le(h.data() + 28, 2);
    if (*out + e.size > zip.file_size) {
        *err = "it runs past the end of the file";
        return false;
    }
    return true;
}

}  // namespace ltc_pt2
