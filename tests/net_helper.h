/* net_helper.h: loopback ports for the data-parallel tests (POSIX sockets; 127.0.0.1 only). */
#ifndef LTC_TEST_NET_HELPER_H
#define LTC_TEST_NET_HELPER_H

#include "ltc.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* A port nothing listens on (bound, read, closed), or with listen_too != 0 one held busy: the caller
 * closes *fd_out. -1 if no port could be had. */
static inline int local_port(int listen_too, int *fd_out) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || getsockname(fd, (struct sockaddr *)&a, &len) != 0)
        return -1;
    if (listen_too && listen(fd, 1) != 0)
        return -1;
    if (listen_too)
        *fd_out = fd;
    else
        close(fd);
    return ntohs(a.sin_port);
}

/* Rank `rank` of a job of `world` ranks meeting at 127.0.0.1:port, as torchrun describes it. */
static inline ltc_dist_env local_env(int rank, int world, int port) {
    ltc_dist_env e;
    memset(&e, 0, sizeof e);
    e.launcher = LTC_LAUNCHER_TORCHRUN;
    e.rank = e.local_rank = rank;
    e.world_size = world;
    strcpy(e.master_addr, "127.0.0.1");
    e.master_port = port;
    return e;
}

#endif
