// Liveness across nodes. Rank 0 listens on a port of its own; every other rank holds one TCP connection
// to it for the life of the group (a star, as c10d's store is). However a process ends (SIGKILL, a crash,
// the OOM killer), its kernel closes its sockets at once, and the other end, on any node, reads the end
// of the stream: the watchdog names that rank within a second or two instead of at the heartbeat
// timeout. A process alive but silent (frozen, or cut off by a network partition) keeps its connection
// open: that stays the heartbeat timeout's case. Rank 0 learns of a closed connection first; it writes
// "closed" into the rank's heartbeat in the store and nudges the others (a byte on their connection) to
// read it now. The others learn of rank 0's end from their own connection to it.
//
// Protocol: a connecting rank sends one line, "ltc-live <key> <rank>\n", key being the nonce rank 0
// published in its rendezvous record (a stray connection, or one from an earlier attempt, is dropped).
// Then each end sends a byte ('k') every beat, so that a connection silent for the whole timeout names the
// rank at its other end even where the store does not answer (a partition), and rank 0 sends 'w' (a
// nudge) after it wrote a rank's end into the store.
#include "dist_internal.hpp"

#include <algorithm>
#include <arpa/inet.h>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <random>
#include <sys/socket.h>
#include <unistd.h>

using ltc::fail;
using std::chrono::milliseconds;

namespace ltc::dist {

namespace {

constexpr double kHelloWithin_s = 30;  // a connection that has not introduced itself by then is dropped

bool set_nonblocking(int fd) {
    int flags = fcntl(fd, F_GETFL);
    return flags >= 0 && fcntl(fd, F_SETFL, flags | O_NONBLOCK) == 0;
}

void close_fd(int *fd) {
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

// A listening socket on every address (IPv6 with IPv4 mapped, else IPv4 only), any free port.
int listen_any(std::string *err) {
    int fd = socket(AF_INET6, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd >= 0) {
        int off = 0;
        sockaddr_in6 a{};
        a.sin6_family = AF_INET6;
        a.sin6_addr = in6addr_any;
        if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off) == 0 && bind(fd, (sockaddr *)&a, sizeof a) == 0 &&
            listen(fd, SOMAXCONN) == 0)
            return fd;
        close(fd);
    }
    fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        *err = strerror(errno);
        return -1;
    }
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_ANY);
    if (bind(fd, (sockaddr *)&a, sizeof a) != 0 || listen(fd, SOMAXCONN) != 0) {
        *err = strerror(errno);
        close(fd);
        return -1;
    }
    return fd;
}

// This host's address on the route to host:port (a UDP socket "connected" there sends nothing), "" if
// none: where the others reach rank 0 when the store is on another host.
std::string address_toward(const char *host, int port) {
    char service[16];
    snprintf(service, sizeof service, "%d", port);
    addrinfo hints{}, *res = nullptr;
    hints.ai_socktype = SOCK_DGRAM;
    if (getaddrinfo(host, service, &hints, &res) != 0)
        return "";
    std::string out;
    for (addrinfo *a = res; a && out.empty(); a = a->ai_next) {
        int fd = socket(a->ai_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
            continue;
        sockaddr_storage local{};
        socklen_t len = sizeof local;
        char text[INET6_ADDRSTRLEN] = "";
        if (connect(fd, a->ai_addr, a->ai_addrlen) == 0 && getsockname(fd, (sockaddr *)&local, &len) == 0 &&
            getnameinfo((sockaddr *)&local, len, text, sizeof text, nullptr, 0, NI_NUMERICHOST) == 0)
            out = text;
        close(fd);
    }
    freeaddrinfo(res);
    return out;
}

// Rank 0: reads what a new connection sent so far. Once its line is complete, the connection is adopted
// as its rank's (p.fd becomes -1; returns the rank) or dropped (closed, p.fd -1 too); else returns 0.
int read_hello(ltc_dist *d, ltc_dist::Pending &p) {
    char buf[128];
    ssize_t n = recv(p.fd, buf, sizeof buf, 0);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return 0;
    if (n <= 0) {
        close_fd(&p.fd);
        return 0;
    }
    p.line.append(buf, (size_t)n);
    size_t end = p.line.find('\n');
    if (end == std::string::npos) {
        if (p.line.size() > 256)
            close_fd(&p.fd);
        return 0;
    }
    char key[64] = "";
    int rank = -1;
    const std::string line = p.line.substr(0, end);
    if (sscanf(line.c_str(), "ltc-live %63s %d", key, &rank) == 2 && d->live_key == key && rank > 0 &&
        rank < d->env.world_size && d->live_fd[rank] < 0) {
        d->live_fd[rank] = p.fd;
        p.fd = -1;
        return rank;
    }
    close_fd(&p.fd);
    return 0;
}

// Reads what a peer's connection holds; true when it has closed (then closed here too). *nudged: a
// nudge came (on ranks other than 0).
bool drain(int fd, bool *nudged) {
    char buf[64];
    while (true) {
        ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
        if (n > 0) {
            *nudged = *nudged || memchr(buf, 'w', (size_t)n) != nullptr;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        return !(n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK));
    }
}

}  // namespace

ltc_status live_listen(ltc_dist *d) {
    std::string err;
    d->live_listen = listen_any(&err);
    sockaddr_storage a{};
    socklen_t len = sizeof a;
    if (d->live_listen < 0 || getsockname(d->live_listen, (sockaddr *)&a, &len) != 0) {
        if (err.empty())
            err = strerror(errno);
        close_fd(&d->live_listen);
        return fail(LTC_ERR_DISTRIBUTED, "rank 0 cannot listen for the other ranks' liveness connections: %s", err.c_str());
    }
    d->live_port = ntohs(a.ss_family == AF_INET6 ? ((sockaddr_in6 *)&a)->sin6_port : ((sockaddr_in *)&a)->sin_port);
    std::random_device rd;
    char key[32];
    snprintf(key, sizeof key, "%08x%08x", (unsigned)rd(), (unsigned)rd());
    d->live_key = key;
    if (!d->hosts_store)  // the others reach MASTER_ADDR, which is not this host: give them an address of ours
        d->live_addr = address_toward(d->env.master_addr, d->env.master_port);
    return LTC_OK;
}

std::string live_record(const ltc_dist *d) {
    if (d->live_listen < 0)
        return "";
    std::string r = " live_port=" + std::to_string(d->live_port) + " live_key=" + d->live_key;
    if (!d->live_addr.empty())
        r += " live_addr=" + d->live_addr;
    return r;
}

void live_read_record(ltc_dist *d, const std::string &key, const std::string &value) {
    if (key == "live_port")
        d->live_port = atoi(value.c_str());
    else if (key == "live_key")
        d->live_key = value;
    else if (key == "live_addr")
        d->live_addr = value;
}

void live_connect(ltc_dist *d, Clock::time_point deadline) {
    if (d->env.rank == 0 || d->live_port <= 0 || d->live_key.empty())
        return;
    const std::string host = d->live_addr.empty() ? std::string(d->env.master_addr) : d->live_addr;
    deadline = std::max(deadline, Clock::now() + std::chrono::seconds(2));
    std::string err;
    int fd = -1;
    while (connect_once(&fd, &err, host.c_str(), d->live_port, deadline) == 0 && Clock::now() < deadline)
        usleep(100000);
    if (fd >= 0) {
        const std::string hello = "ltc-live " + d->live_key + " " + std::to_string(d->env.rank) + "\n";
        if (send(fd, hello.data(), hello.size(), MSG_NOSIGNAL) == (ssize_t)hello.size() && set_nonblocking(fd)) {
            d->live_fd[0] = fd;
            return;
        }
        err = strerror(errno);
        close(fd);
    }
    fprintf(stderr,
            "ltc: rank %d cannot open its liveness connection to rank 0 at %s:%d (%s): the group works, but a rank that "
            "dies on another node is named only after the timeout\n",
            d->env.rank, host.c_str(), d->live_port, err.c_str());
    fflush(stderr);
}

void live_main(ltc_dist *d) {
    const bool root = d->env.rank == 0;
    const double timeout_s = d->timeout.count() / 1000.0;
    auto send_all = [d](const char *byte) {
        for (int fd : d->live_fd)
            if (fd >= 0)  // best effort: a full buffer means bytes are on their way anyway
                (void)send(fd, byte, 1, MSG_NOSIGNAL | MSG_DONTWAIT);
    };
    d->live_heard.assign(d->live_fd.size(), Clock::now());
    auto next_beat = Clock::now();
    while (true) {
        bool nudge = false;
        {
            std::lock_guard<std::mutex> lk(d->mu);
            if (d->stop)
                return;
            std::swap(nudge, d->nudge);
        }
        if (nudge)
            send_all("w");
        if (Clock::now() >= next_beat) {
            send_all("k");
            next_beat = Clock::now() + d->beat;
        }
        std::vector<pollfd> fds;
        std::vector<int> who;  // per entry: a rank (its connection), -1 the wake pipe, -2 the listener, -3-i pending i
        auto add = [&](int fd, int w) {
            fds.push_back(pollfd{fd, POLLIN, 0});
            who.push_back(w);
        };
        if (d->wake[0] >= 0)
            add(d->wake[0], -1);
        if (d->live_listen >= 0)
            add(d->live_listen, -2);
        for (size_t i = 0; i < d->live_pending.size(); i++)
            add(d->live_pending[i].fd, -3 - (int)i);
        for (int r = 0; r < (int)d->live_fd.size(); r++)
            if (d->live_fd[r] >= 0)
                add(d->live_fd[r], r);
        auto wait = std::chrono::duration_cast<milliseconds>(next_beat - Clock::now()).count();
        int n = poll(fds.data(), fds.size(), (int)std::clamp<long long>(wait, 1, 1000));
        if (n < 0 && errno != EINTR)
            usleep(10000);  // never spin
        bool event = false;  // something the watchdog must look at now
        for (size_t i = 0; n > 0 && i < fds.size(); i++) {
            if (!fds[i].revents)
                continue;
            const int w = who[i];
            if (w == -1) {
                char buf[16];
                while (read(d->wake[0], buf, sizeof buf) > 0) {
                }
            } else if (w == -2) {
                int c;
                while ((c = accept4(d->live_listen, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0)
                    d->live_pending.push_back({c, Clock::now(), ""});
            } else if (w <= -3) {
                ltc_dist::Pending &p = d->live_pending[(size_t)(-3 - w)];
                const int r = read_hello(d, p);
                if (r > 0)
                    d->live_heard[r] = Clock::now();
            } else {
                bool nudged = false;
                if (drain(d->live_fd[w], &nudged)) {
                    close_fd(&d->live_fd[w]);
                    std::lock_guard<std::mutex> lk(d->mu);
                    d->peer_closed[w] = Clock::now();
                    event = true;
                } else {
                    d->live_heard[w] = Clock::now();
                    event = event || (nudged && !root);
                }
            }
        }
        // Settled or too slow to introduce themselves: out of the pending list.
        for (auto it = d->live_pending.begin(); it != d->live_pending.end();) {
            if (it->fd >= 0 && seconds_since(it->since) > kHelloWithin_s)
                close_fd(&it->fd);
            it = it->fd < 0 ? d->live_pending.erase(it) : it + 1;
        }
        std::unique_lock<std::mutex> lk(d->mu);
        // Silent for the whole timeout, yet not closed: frozen, or cut off. The heartbeat says the same of a
        // rank other than 0 on rank 0; here rank 0 is named even while its store does not answer.
        for (int r = 0; r < (int)d->live_fd.size() && !d->failed.load(); r++) {
            const double silent = seconds_since(d->live_heard[r]);
            const std::string &said = d->peer_value[r];  // a word in its heartbeat: the watchdog's case
            if (d->live_fd[r] < 0 || silent <= timeout_s || said == "left" || said == "failed" ||
                said.rfind("exit ", 0) == 0 || said.rfind("signal ", 0) == 0 || said == "closed")
                continue;
            char buf[320];
            snprintf(buf, sizeof buf,
                     "rank %d is lost: nothing heard from it for %.1f s (timeout %.1f s), its connection still open: its "
                     "process is frozen, or its node is down or cut off from this one (a network partition)",
                     r, silent, timeout_s);
            if (r == 0 && !d->env.external_store)
                d->store_lost.store(true);  // rank 0 hosts the store: it is as silent
            declare_failure(d, lk, LTC_ERR_DISTRIBUTED, buf);
        }
        if (event) {
            d->live_event = true;
            d->cv.notify_all();
        }
    }
}

void live_close(ltc_dist *d) {
    for (int &fd : d->live_fd)
        close_fd(&fd);
    for (auto &p : d->live_pending)
        close_fd(&p.fd);
    d->live_pending.clear();
    close_fd(&d->live_listen);
    close_fd(&d->wake[0]);
    close_fd(&d->wake[1]);
}

}  // namespace ltc::dist
