/* net_helper.h: loopback ports for the data-parallel tests (POSIX sockets; 127.0.0.1 only). */
#ifndef LTC_TEST_NET_HELPER_H
#define LTC_TEST_NET_HELPER_H

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

#endif
