/* cli/notify.c: systemd's notify protocol by hand (cli/notify.h).
 * Layer: cli. Third-party: none. SPDX-License-Identifier: MIT */
#include "notify.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

bool
notify_send(const char *state)
{
    const char *name = getenv("NOTIFY_SOCKET");
    struct sockaddr_un addr;
    size_t len = name ? strlen(name) : 0;
    if (len < 2 || len >= sizeof addr.sun_path || (name[0] != '/' && name[0] != '@')) {
        errno = len ? EINVAL : 0; /* (unset: no manager; anything else is not an address) */
        return false;
    }
    memset(&addr, 0, sizeof addr);
    addr.sun_family = AF_UNIX;
    memcpy(addr.sun_path, name, len);
    if (name[0] == '@') {
        addr.sun_path[0] = '\0'; /* an abstract name: no NUL at its end either */
    }
    socklen_t alen =
        (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + (name[0] == '/' ? 1 : 0));
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return false;
    }
    ssize_t sent = sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&addr, alen);
    int e = errno;
    close(fd);
    errno = e;
    return sent == (ssize_t)strlen(state);
}

const char *
notify_monotonic(char *buf, unsigned long len)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    snprintf(buf, len, "MONOTONIC_USEC=%llu",
             (unsigned long long)ts.tv_sec * 1000000ull + (unsigned long long)ts.tv_nsec / 1000);
    return buf;
}
