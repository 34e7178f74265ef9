// The store: the rendezvous TCPStore (hosted by rank 0 or the launcher), reached on time and with the
// address named; the collectives through the store itself (CPU groups); progress lines while waiting;
// and a heartbeat written from outside the group (the local launcher, for a rank it saw die).
#include "dist_internal.hpp"

#include <c10/util/Exception.h>
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

using ltc::fail;
using std::chrono::milliseconds;

namespace ltc::dist {

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

Clock::duration duration_of(double seconds) {
    return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
}

std::vector<uint8_t> bytes_of(const std::string &s) { return std::vector<uint8_t>(s.begin(), s.end()); }
std::string text_of(const std::vector<uint8_t> &b) { return std::string(b.begin(), b.end()); }

milliseconds left_until(Clock::time_point deadline) {
    auto ms = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
    return std::max(ms, milliseconds(100));
}

const char *op_name(Op op) {
    switch (op) {
    case Op::sum: return "sum";
    case Op::avg: return "avg";
    case Op::min: return "min";
    case Op::max: return "max";
    }
    return "?";
}

std::string this_host() {
    char host[256] = "";
    if (gethostname(host, sizeof host - 1) != 0 || host[0] == '\0')
        snprintf(host, sizeof host, "?");
    return host;
}

c10::intrusive_ptr<c10d::TCPStore> tcp_store(const std::string &addr, int port, milliseconds timeout, bool host) {
    c10d::TCPStoreOptions o;
    o.port = (uint16_t)port;
    o.isServer = host;
    o.waitWorkers = false;
    o.timeout = timeout;
    return c10::make_intrusive<c10d::TCPStore>(addr, o);
}

void for_each_field(const std::string &text, char sep,
                    const std::function<void(const std::string &, const std::string &)> &f) {
    size_t pos = 0;
    while (pos < text.size()) {
        size_t end = text.find(sep, pos);
        if (end == std::string::npos)
            end = text.size();
        size_t eq = text.find('=', pos);
        if (eq < end)
            f(text.substr(pos, eq - pos), text.substr(eq + 1, end - eq - 1));
        pos = end + 1;
    }
}

bool port_in_use(const std::string &m) {
    return m.find("EADDRINUSE") != std::string::npos || m.find("ddress already in use") != std::string::npos;
}

std::string store_prefix(int restart) { return "ltc/" + std::to_string(restart); }
std::string heartbeat_key(int rank) { return "hb/" + std::to_string(rank); }

WaitProgress::WaitProgress(int rank, double timeout_s, Clock::time_point deadline)
    : rank_(rank), timeout_s_(timeout_s), every_s_(std::clamp(timeout_s / 5, 1.0, 5.0)), deadline_(deadline) {
    next_ = Clock::now() + duration_of(every_s_);
}

void WaitProgress::tick(const std::function<std::string()> &what) {
    auto now = Clock::now();
    if (rank_ < 0 || now < next_)  // rank -1: a caller outside the group (the launcher), silent
        return;
    next_ = now + duration_of(every_s_);
    double left = std::max(0.0, std::chrono::duration<double>(deadline_ - now).count());
    std::string w;
    try {
        w = what();
    } catch (...) {
        w = "the other ranks";
    }
    fprintf(stderr, "ltc: rank %d waits for %s (%.0f s left of the timeout of %.0f s)\n", rank_, w.c_str(), left,
            timeout_s_);
    fflush(stderr);
}

void set_heartbeat_from_outside(const std::string &addr, int port, int restart, int rank, const std::string &value,
                                milliseconds timeout) noexcept {
    try {
        ltc_dist_env env{};
        snprintf(env.master_addr, sizeof env.master_addr, "%s", addr.c_str());
        env.master_port = port;
        env.rank = -1;
        auto deadline = Clock::now() + timeout;
        if (reach(env, deadline, timeout.count() / 1000.0) != LTC_OK)
            return;  // the store is gone with its host: the ranks see that by themselves
        auto tcp = tcp_store(addr, port, left_until(deadline), false);
        c10d::PrefixStore store(store_prefix(restart), tcp);
        store.set(heartbeat_key(rank), bytes_of(value));
    } catch (...) {
    }
}

int connect_once(int *fd, std::string *err, const char *host, int port, Clock::time_point deadline) {
    *fd = -1;
    char service[16];
    snprintf(service, sizeof service, "%d", port);
    addrinfo hints{}, *res = nullptr;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    int gai = getaddrinfo(host, service, &hints, &res);
    if (gai != 0) {
        *err = gai_strerror(gai);
        return gai == EAI_AGAIN ? 0 : -1;
    }
    *err = "no answer";
    for (addrinfo *a = res; a && *fd < 0; a = a->ai_next) {
        int s = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
        if (s < 0) {
            *err = strerror(errno);
            continue;
        }
        int rc = connect(s, a->ai_addr, a->ai_addrlen);
        if (rc != 0 && errno == EINPROGRESS) {
            auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now()).count();
            pollfd p{s, POLLOUT, 0};
            rc = poll(&p, 1, (int)std::max<long long>(1, std::min<long long>(left, 1000)));
            int e = 0;
            socklen_t len = sizeof e;
            if (rc == 1 && getsockopt(s, SOL_SOCKET, SO_ERROR, &e, &len) == 0 && e == 0)
                rc = 0;
            else {
                errno = rc == 0 ? ETIMEDOUT : e;
                rc = -1;
            }
        }
        int flags = rc == 0 ? fcntl(s, F_GETFL) : -1;
        if (flags >= 0 && fcntl(s, F_SETFL, flags & ~O_NONBLOCK) == 0) {
            *fd = s;
            break;
        }
        *err = strerror(errno);
        close(s);
    }
    freeaddrinfo(res);
    return *fd >= 0 ? 1 : 0;
}

// Connects to host:port with plain sockets until the deadline, so that an unreachable store fails on
// time and with the address in the message (TCPStore's own retries overshoot their timeout).
ltc_status reach(const ltc_dist_env &env, Clock::time_point deadline, double timeout_s) {
    std::string last;
    WaitProgress progress(env.rank, timeout_s, deadline);
    while (true) {
        int fd = -1;
        int rc = connect_once(&fd, &last, env.master_addr, env.master_port, deadline);
        if (rc == 1) {
            close(fd);
            return LTC_OK;
        }
        if (rc < 0)
            return fail(LTC_ERR_DISTRIBUTED, "rank %d cannot resolve MASTER_ADDR \"%s\": %s", env.rank, env.master_addr,
                        last.c_str());
        if (Clock::now() >= deadline)
            return fail(LTC_ERR_TIMEOUT,
                        "rank %d of %d cannot reach the rendezvous store at %s:%d (MASTER_ADDR:MASTER_PORT) within the "
                        "timeout of %.1f s: %s; is rank 0 running, and is the address right?",
                        env.rank, env.world_size, env.master_addr, env.master_port, timeout_s, last.c_str());
        progress.tick([&] {
            return std::string("the rendezvous store at ") + env.master_addr + ":" + std::to_string(env.master_port) +
                   " (" + last + ")";
        });
        usleep(100000);
    }
}

namespace {

// The sockets this process has open (the numbers in /proc/self/fd that are sockets).
std::vector<int> open_sockets() {
    std::vector<int> out;
    DIR *dir = opendir("/proc/self/fd");
    if (!dir)
        return out;
    while (dirent *e = readdir(dir)) {
        char *end = nullptr;
        long fd = strtol(e->d_name, &end, 10);
        struct stat st;
        if (*end == '\0' && end != e->d_name && fd != dirfd(dir) && fstat((int)fd, &st) == 0 && S_ISSOCK(st.st_mode))
            out.push_back((int)fd);
    }
    closedir(dir);
    std::sort(out.begin(), out.end());
    return out;
}

int port_of(const sockaddr_storage &a) {
    if (a.ss_family == AF_INET)
        return ntohs(((const sockaddr_in *)&a)->sin_port);
    if (a.ss_family == AF_INET6)
        return ntohs(((const sockaddr_in6 *)&a)->sin6_port);
    return -1;
}

}  // namespace

c10::intrusive_ptr<c10d::TCPStore> bounded_client(const std::function<c10::intrusive_ptr<c10d::TCPStore>()> &make,
                                                  milliseconds limit, std::vector<int> *fds) {
    const std::vector<int> before = open_sockets();
    auto tcp = make();
    const int port = tcp->getPort();
    fds->clear();
    for (int fd : open_sockets()) {
        if (std::binary_search(before.begin(), before.end(), fd))
            continue;
        sockaddr_storage peer{}, local{};
        socklen_t pl = sizeof peer, ll = sizeof local;
        // A client's connection: to the store's port, from another (the server's side is from the port).
        if (getpeername(fd, (sockaddr *)&peer, &pl) != 0 || getsockname(fd, (sockaddr *)&local, &ll) != 0 ||
            port_of(peer) != port || port_of(local) == port)
            continue;
        timeval tv{};
        tv.tv_sec = (time_t)(limit.count() / 1000);
        tv.tv_usec = (suseconds_t)(limit.count() % 1000) * 1000;
        if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) == 0 &&
            setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) == 0)
            fds->push_back(fd);
    }
    return tcp;
}

ltc_status open_store(ltc_dist *d, Clock::time_point deadline, double timeout_s) {
    const ltc_dist_env &env = d->env;
    if (d->hosts_store) {
        try {
            d->tcp = bounded_client([&] { return tcp_store(env.master_addr, env.master_port, d->timeout, true); },
                                    d->timeout, &d->tcp_fds);
        } catch (const c10::Error &e) {
            std::string m = e.what_without_backtrace();
            if (port_in_use(m))
                return fail(LTC_ERR_DISTRIBUTED,
                            "rank 0 cannot host the rendezvous store on port %d (MASTER_PORT): the port is already in "
                            "use; pick a free port",
                            env.master_port);
            return fail(LTC_ERR_DISTRIBUTED, "rank 0 cannot host the rendezvous store on port %d (MASTER_PORT): %s",
                        env.master_port, m.c_str());
        }
        d->env.master_port = d->tcp->getPort();
    } else {
        LTC_RETURN_IF_ERROR(reach(env, deadline, timeout_s));
        try {
            d->tcp = bounded_client([&] { return tcp_store(env.master_addr, env.master_port, left_until(deadline), false); },
                                    d->timeout, &d->tcp_fds);
        } catch (const c10::Error &e) {
            return fail(LTC_ERR_TIMEOUT, "rank %d cannot connect to the rendezvous store at %s:%d (MASTER_ADDR:MASTER_PORT): %s",
                        env.rank, env.master_addr, env.master_port, e.what_without_backtrace());
        }
    }
    d->store = c10::make_intrusive<c10d::PrefixStore>(store_prefix(env.restart), d->tcp);
    d->tcp->setTimeout(d->timeout);
    return LTC_OK;
}


namespace {

class StoreBackend : public Backend {
  public:
    StoreBackend(c10::intrusive_ptr<c10d::Store> store, int rank, int world, milliseconds timeout, milliseconds slice,
                 std::function<void()> cut)
        : store_(std::move(store)), rank_(rank), world_(world), timeout_(timeout), slice_(slice), cut_(std::move(cut)) {}

    const char *name() const override { return "store"; }

    // Every rank's part reduced in rank order (sum, then the division for avg), so every rank gets the same bits.
    void allreduce(at::Tensor &t, Op op, const char *what) override {
        if (world_ == 1)
            return;
        auto parts = exchange(t, true, what, std::string(what) + " (" + op_name(op) + ")");
        at::Tensor acc = view(parts[0], t).clone();
        for (int r = 1; r < world_; r++) {
            at::Tensor p = view(parts[r], t);
            if (op == Op::max)
                acc = at::maximum(acc, p);
            else if (op == Op::min)
                acc = at::minimum(acc, p);
            else
                acc.add_(p);
        }
        if (op == Op::avg)
            acc.div_(world_);
        at::NoGradGuard no_grad;
        t.copy_(acc);
    }

    void broadcast(at::Tensor &t, int root, const char *what) override {
        if (world_ == 1)
            return;
        auto parts = exchange(t, rank_ == root, what, std::string(what) + " from rank " + std::to_string(root));
        at::NoGradGuard no_grad;
        t.copy_(view(parts[root], t));
    }

    void allgather(at::Tensor &out, const at::Tensor &in, const char *what) override {
        const int64_t n = in.numel();
        if (world_ == 1) {
            out.copy_(in.reshape(-1));
            return;
        }
        auto parts = exchange(in, true, what, what);
        for (int r = 0; r < world_; r++)
            out.narrow(0, r * n, n).copy_(view(parts[r], in).reshape(-1));
    }

    void abort() noexcept override {
        aborted_.store(true);
        if (cut_)
            cut_();
    }
    void shutdown() noexcept override {}

  private:
    // "rank 1" / "ranks 1, 3": those whose key is not there yet.
    std::string missing_text(const std::vector<std::string> &keys) {
        std::string who;
        int n = 0;
        for (int r = 0; r < world_; r++)
            if (!store_->check({keys[r]}))
                who += (n++ ? ", " : "") + std::to_string(r);
        return (n == 1 ? "rank " : "ranks ") + who;
    }

    static at::Tensor view(std::vector<uint8_t> &bytes, const at::Tensor &like) {
        TORCH_CHECK(bytes.size() == like.nbytes(), "store collective: got ", bytes.size(), " bytes, expected ",
                    like.nbytes());
        return at::from_blob(bytes.data(), like.sizes(), at::TensorOptions().dtype(like.scalar_type()));
    }

    // "float32 [2, 3]"
    static std::string tensor_text(const at::Tensor &t) {
        const int d = ltc::from_scalar_type(t.scalar_type());
        return std::string(d >= 0 ? ltc_dtype_name((ltc_dtype)d) : c10::toString(t.scalar_type())) + " " +
               ltc::shape_text(t.sizes());
    }

    // A value the store's server takes in one piece: its libuv server refuses (and drops the
    // connection of) any request over 8 MiB, so larger tensors go in chunks.
    static constexpr size_t kChunk = size_t(4) << 20;

    // Publishes this rank's bytes (none when !send) as op/<seq>/<rank>, waits for every rank's, and
    // returns them. op/<seq>/<rank> holds 'd', the call ("all-reduce (sum) of float32 [2, 3]"), a newline
    // and the bytes when they fit in one chunk, else 'c', the call, a newline and the number of chunks,
    // which were set first as op/<seq>/<rank>/<i>. After op s completes, this rank's keys of op s-1 are
    // deleted: every rank has read them by then. A rank whose call differs from this one's (another
    // collective, op, root, dtype or shape) fails the call on every rank alike: a Failure naming both
    // calls, after which the group goes on.
    std::vector<std::vector<uint8_t>> exchange(const at::Tensor &t, bool send, const char *what, const std::string &call_of) {
        const uint64_t s = seq_++;
        const std::string base = "op/" + std::to_string(s) + "/", call = call_of + " of " + tensor_text(t);
        std::vector<uint8_t> mine = bytes_of("d" + call + "\n");
        size_t chunks = 0;
        if (send) {
            at::Tensor c = t.detach().contiguous();
            const uint8_t *p = (const uint8_t *)c.data_ptr();
            const size_t n = c.nbytes();
            if (n <= kChunk) {
                mine.insert(mine.end(), p, p + n);
            } else {
                for (size_t off = 0; off < n; off += kChunk, chunks++)
                    store_->set(base + std::to_string(rank_) + "/" + std::to_string(chunks),
                                std::vector<uint8_t>(p + off, p + std::min(n, off + kChunk)));
                mine[0] = 'c';
                const std::string count = std::to_string(chunks);
                mine.insert(mine.end(), count.begin(), count.end());
            }
        }
        store_->set(base + std::to_string(rank_), mine);
        std::vector<std::string> keys;
        for (int r = 0; r < world_; r++)
            keys.push_back(base + std::to_string(r));
        wait_for(keys, s, what);
        auto parts = store_->multiGet(keys);
        std::string differs;  // the first rank whose call is not this one's
        for (int r = 0; r < world_; r++) {
            std::vector<uint8_t> &part = parts[r];
            auto nl = std::find(part.begin(), part.end(), (uint8_t)'\n');
            TORCH_CHECK(!part.empty() && (part[0] == 'd' || part[0] == 'c') && nl != part.end(), "store collective: rank ", r,
                        " sent a value of an unknown form");
            const std::string theirs(part.begin() + 1, nl);
            if (theirs != call) {
                if (differs.empty())
                    differs = "rank " + std::to_string(r) + " made " + theirs;
                part.clear();
                continue;
            }
            if (part[0] == 'd') {
                part.erase(part.begin(), nl + 1);
                continue;
            }
            const size_t n = std::stoul(std::string(nl + 1, part.end()));
            std::vector<std::string> chunk_keys;
            for (size_t i = 0; i < n; i++)
                chunk_keys.push_back(base + std::to_string(r) + "/" + std::to_string(i));
            part.clear();
            for (auto &chunk : store_->multiGet(chunk_keys))
                part.insert(part.end(), chunk.begin(), chunk.end());
        }
        if (s > 0) {
            const std::string prev = "op/" + std::to_string(s - 1) + "/" + std::to_string(rank_);
            for (size_t i = 0; i < prev_chunks_; i++)
                store_->deleteKey(prev + "/" + std::to_string(i));
            store_->deleteKey(prev);
        }
        prev_chunks_ = chunks;
        if (!differs.empty()) {
            char buf[1024];
            snprintf(buf, sizeof buf,
                     "%s #%llu: the ranks' calls differ: %s, this rank (%d) %s; every rank must make the same calls in "
                     "the same order, on tensors of the same dtype and shape",
                     what, (unsigned long long)s, differs.c_str(), rank_, call.c_str());
            throw Failure{LTC_ERR_INVALID_ARGUMENT, buf, {}, true};
        }
        return parts;
    }

    // Waits until every key is set, in slices (an abort ends it); past the timeout, throws a Failure
    // naming the ranks whose key is missing.
    void wait_for(const std::vector<std::string> &keys, uint64_t s, const char *what) {
        auto start = Clock::now();
        WaitProgress progress(rank_, timeout_.count() / 1000.0, start + timeout_);
        while (true) {
            if (aborted_.load())
                throw Failure{LTC_ERR_DISTRIBUTED, "aborted", {}};
            try {
                store_->wait(keys, slice_);
                return;
            } catch (const c10::DistStoreError &) {
                if (Clock::now() - start < timeout_) {
                    progress.tick([&] { return missing_text(keys) + " in " + what + " #" + std::to_string(s); });
                    continue;
                }
            }
            Failure f{LTC_ERR_TIMEOUT, "", {}};
            for (int r = 0; r < world_; r++)
                if (!store_->check({keys[r]}))
                    f.missing.push_back(r);
            std::string who;
            for (int r : f.missing)
                who += (who.empty() ? "" : ", ") + std::to_string(r);
            char buf[256];
            snprintf(buf, sizeof buf, "%s #%llu timed out after %.1f s waiting for rank%s %s", what, (unsigned long long)s,
                     std::chrono::duration<double>(timeout_).count(), f.missing.size() == 1 ? "" : "s", who.c_str());
            f.message = buf;
            throw f;
        }
    }

    c10::intrusive_ptr<c10d::Store> store_;
    int rank_, world_;
    milliseconds timeout_, slice_;
    std::function<void()> cut_;
    uint64_t seq_ = 0;
    size_t prev_chunks_ = 0;  // the chunks this rank set for the previous op (deleted after the next)
    std::atomic<bool> aborted_{false};
};

}  // namespace

std::unique_ptr<Backend> make_store_backend(c10::intrusive_ptr<c10d::Store> store, int rank, int world,
                                            milliseconds timeout, milliseconds slice, std::function<void()> cut) {
    return std::make_unique<StoreBackend>(std::move(store), rank, world, timeout, slice, std::move(cut));
}
}  // namespace ltc::dist
