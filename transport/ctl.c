/* transport/ctl.c: the control socket's two ends (docs/PROTOCOL.md §21): the daemon's
 * ROUTER in HOME/control/ (libzmq) and a client's DEALER, ZMTP 3.0 spoken by hand.
 * Layer: transport. Third-party: zmq.h. SPDX-License-Identifier: MIT */
#include "transport/ctl.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <zmq.h>

#define S_SNDHWM 16 /* replies queued to one client (past: dropped) */
#define S_RCVHWM 16 /* requests read ahead from one client */

struct ctl_server {
    void *ctx;
    void *router;
    char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
    zmq_msg_t last; /* the frame handed out by the last ctl_server_recv */
    bool have_last;
};

/* HOME/<rel> into out (at most a socket path's length). */
static bool
s_path(const char *home, const char *rel, char *out, size_t len)
{
    int n = snprintf(out, len, "%s/%s", home, rel);
    return n > 0 && (size_t)n < len;
}

/* Is dir a directory of ours that no group or other user may enter? (why: the reason) */
static bool
s_private(const char *dir, char *why, size_t why_len)
{
    struct stat sb;
    if (lstat(dir, &sb) != 0) {
        snprintf(why, why_len, "%s: %s", dir, strerror(errno));
        return false;
    }
    if (!S_ISDIR(sb.st_mode) || sb.st_uid != geteuid()) {
        snprintf(why, why_len, "%s is not a directory of this user", dir);
        return false;
    }
    if (sb.st_mode & (S_IRWXG | S_IRWXO)) {
        snprintf(why, why_len, "%s: group or others may use it (mode %04o): run chmod 700 on it",
                 dir, (unsigned)(sb.st_mode & 07777));
        return false;
    }
    return true;
}

static int
s_set_int(void *sock, int opt, int value)
{
    return zmq_setsockopt(sock, opt, &value, sizeof value);
}

mesh_err_t
ctl_server_open(const char *home, ctl_server_t **out, char *why, size_t why_len)
{
    char dir[4200], endpoint[sizeof(((struct sockaddr_un *)0)->sun_path) + 8];
    *out = NULL;
    why[0] = '\0';
    ctl_server_t *s = calloc(1, sizeof *s);
    if (!s) {
        return MESH_ENOMEM;
    }
    mesh_err_t err = MESH_OK;
    if (!s_path(home, CTL_DIR, dir, sizeof dir) ||
        !s_path(home, CTL_SOCKET, s->path, sizeof s->path)) {
        snprintf(why, why_len, "the home's path is too long for a socket (%zu bytes at most)",
                 sizeof s->path - 1 - strlen(CTL_SOCKET) - 1);
        err = MESH_EINVAL;
    } else if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        snprintf(why, why_len, "%s: %s", dir, strerror(errno));
        err = MESH_EIO;
    } else if (!s_private(dir, why, why_len)) {
        err = MESH_EINVAL;
    } else if (unlink(s->path) != 0 && errno != ENOENT) {
        snprintf(why, why_len, "%s: %s", s->path, strerror(errno));
        err = MESH_EIO;
    }
    snprintf(endpoint, sizeof endpoint, "ipc://%s", s->path);
    if (err == MESH_OK) {
        s->ctx = zmq_ctx_new();
        s->router = s->ctx ? zmq_socket(s->ctx, ZMQ_ROUTER) : NULL;
        if (!s->router || s_set_int(s->router, ZMQ_LINGER, 0) != 0 ||
            zmq_setsockopt(s->router, ZMQ_MAXMSGSIZE, &(int64_t){CTL_MSG_MAX}, sizeof(int64_t)) !=
                0 ||
            s_set_int(s->router, ZMQ_SNDHWM, S_SNDHWM) != 0 ||
            s_set_int(s->router, ZMQ_RCVHWM, S_RCVHWM) != 0 || zmq_bind(s->router, endpoint) != 0) {
            snprintf(why, why_len, "%s: %s", endpoint, zmq_strerror(zmq_errno()));
            err = MESH_EIO;
        }
    }
    if (err != MESH_OK) {
        if (s->router) {
            zmq_close(s->router);
        }
        if (s->ctx) {
            zmq_ctx_term(s->ctx);
        }
        free(s);
        return err;
    }
    *out = s;
    return MESH_OK;
}

void
ctl_server_close(ctl_server_t *s)
{
    if (!s) {
        return;
    }
    if (s->have_last) {
        zmq_msg_close(&s->last);
    }
    zmq_close(s->router);
    zmq_ctx_term(s->ctx);
    (void)unlink(s->path); /* no daemon answers here any more */
    free(s);
}

void *
ctl_server_socket(const ctl_server_t *s)
{
    return s ? s->router : NULL;
}

mesh_err_t
ctl_server_recv(ctl_server_t *s, ctl_from_t *from, const uint8_t **data, size_t *len)
{
    *data = NULL;
    *len = 0;
    from->len = 0;
    if (s->have_last) {
        zmq_msg_close(&s->last);
        s->have_last = false;
    }
    size_t frames = 0;
    int more = 1;
    while (more) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, s->router, frames ? 0 : ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&m);
            if (frames == 0) {
                return MESH_ENOTFOUND;
            }
            break; /* (libzmq hands out a message whole: not reached) */
        }
        more = zmq_msg_more(&m);
        if (frames == 0 && zmq_msg_size(&m) <= CTL_ROUTE_MAX) {
            from->len = zmq_msg_size(&m);
            memcpy(from->id, zmq_msg_data(&m), from->len);
        }
        if (frames == 1 && !more) {
            s->last = m;
            s->have_last = true;
        } else {
            zmq_msg_close(&m);
        }
        frames++;
    }
    if (frames != 2 || !s->have_last) {
        if (s->have_last) {
            zmq_msg_close(&s->last);
            s->have_last = false;
        }
        return from->len ? MESH_EPROTO : MESH_ENOTFOUND;
    }
    *data = zmq_msg_data(&s->last);
    *len = zmq_msg_size(&s->last);
    return MESH_OK;
}

mesh_err_t
ctl_server_send(ctl_server_t *s, const ctl_from_t *to, const uint8_t *p, size_t len)
{
    if (zmq_send(s->router, to->id, to->len, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0) {
        return MESH_EBUSY;
    }
    /* (ROUTER without ROUTER_MANDATORY: a gone or full client drops the message) */
    return zmq_send(s->router, p, len, ZMQ_DONTWAIT) < 0 ? MESH_EBUSY : MESH_OK;
}

static int64_t
s_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- the client: ZMTP 3.0 spoken by hand ----
 * A client is one short-lived command (meshctl status, wait) or the change feed's thread:
 * a ZeroMQ context would start two threads and read the name service files for one
 * request and its reply. So the client speaks the DEALER side of ZMTP 3.0 with the NULL
 * mechanism (rfc.zeromq.org/spec/23) itself over the AF_UNIX stream socket that ipc://
 * is: a 64-byte greeting each way, a READY command each way, then one frame per message.
 * The daemon's end is libzmq's ROUTER, unchanged. */

#define S_GREETING  64
#define S_FLAG_MORE 0x01
#define S_FLAG_LONG 0x02
#define S_FLAG_CMD  0x04
#define S_REPLY_MAX (64u << 20) /* bytes of one reply taken (a status text is far less) */
#define S_FRAME_MS  2000        /* once a frame began, the rest of it within this */

struct ctl_client {
    int fd;
};

/* Wait for events on fd (and, if >= 0, readability of wake_fd) until deadline: 1 fd is
 * ready, 0 the time is up or wake_fd is readable, -1 an error. */
static int
s_wait_fd(int fd, short events, int wake_fd, int64_t deadline)
{
    for (;;) {
        struct pollfd p[2] = {{.fd = fd, .events = events}, {.fd = wake_fd, .events = POLLIN}};
        int64_t left = deadline - s_now_ms();
        int rc = poll(p, wake_fd >= 0 ? 2 : 1, left > 0 ? (int)left : 0);
        if (rc < 0 && errno == EINTR) {
            continue;
        }
        if (rc < 0) {
            return -1;
        }
        if (rc > 0 && p[0].revents) {
            return 1;
        }
        if (rc > 0 || s_now_ms() >= deadline) {
            return 0;
        }
    }
}

/* Write all of p by the deadline: MESH_OK, MESH_EBUSY (time), MESH_EIO (the peer went). */
static mesh_err_t
s_write_all(int fd, const void *p, size_t len, int64_t deadline)
{
    const uint8_t *b = p;
    while (len > 0) {
        ssize_t n = send(fd, b, len, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            b += n;
            len -= (size_t)n;
            continue;
        }
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
            return MESH_EIO;
        }
        int rc = s_wait_fd(fd, POLLOUT, -1, deadline);
        if (rc <= 0) {
            return rc == 0 ? MESH_EBUSY : MESH_EIO;
        }
    }
    return MESH_OK;
}

/* Read exactly len bytes into p by the deadline: MESH_OK, MESH_EBUSY, MESH_EIO. */
static mesh_err_t
s_read_all(int fd, void *p, size_t len, int64_t deadline)
{
    uint8_t *b = p;
    while (len > 0) {
        ssize_t n = recv(fd, b, len, MSG_DONTWAIT);
        if (n > 0) {
            b += n;
            len -= (size_t)n;
            continue;
        }
        if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
            return MESH_EIO; /* (closed) */
        }
        int rc = s_wait_fd(fd, POLLIN, -1, deadline);
        if (rc <= 0) {
            return rc == 0 ? MESH_EBUSY : MESH_EIO;
        }
    }
    return MESH_OK;
}

/* Read one frame's header: its flags and size. */
static mesh_err_t
s_frame_head(int fd, int64_t deadline, uint8_t *flags, uint64_t *size)
{
    uint8_t h[8];
    mesh_err_t err = s_read_all(fd, flags, 1, deadline);
    size_t n = *flags & S_FLAG_LONG ? 8 : 1;
    if (err == MESH_OK) {
        err = s_read_all(fd, h, n, deadline);
    }
    *size = 0;
    for (size_t i = 0; err == MESH_OK && i < n; i++) {
        *size = *size << 8 | h[i];
    }
    return err;
}

/* Send one frame (a command when cmd) of len bytes. */
static mesh_err_t
s_frame_send(int fd, bool cmd, const uint8_t *p, size_t len, int64_t deadline)
{
    uint8_t h[9];
    size_t n = 0;
    h[n++] = (uint8_t)((cmd ? S_FLAG_CMD : 0) | (len > 255 ? S_FLAG_LONG : 0));
    for (int i = len > 255 ? 7 : 0; i >= 0; i--) {
        h[n++] = (uint8_t)((uint64_t)len >> (8 * i));
    }
    mesh_err_t err = s_write_all(fd, h, n, deadline);
    return err == MESH_OK ? s_write_all(fd, p, len, deadline) : err;
}

/* The greetings and READY commands, by the deadline. */
static mesh_err_t
s_handshake(int fd, int64_t deadline)
{
    static const uint8_t ready[] = "\x05READY\x0bSocket-Type\x00\x00\x00\x06"
                                   "DEALER";
    uint8_t g[S_GREETING] = {0xff, [9] = 0x7f, [10] = 3, [11] = 0, [12] = 'N', 'U', 'L', 'L'};
    uint8_t peer[S_GREETING];
    mesh_err_t err = s_write_all(fd, g, sizeof g, deadline);
    if (err == MESH_OK) {
        err = s_read_all(fd, peer, sizeof peer, deadline);
    }
    if (err == MESH_OK &&
        (peer[0] != 0xff || !(peer[9] & 1) || peer[10] < 3 || memcmp(peer + 12, "NULL", 5) != 0)) {
        err = MESH_EIO; /* not ZMTP 3 with the NULL mechanism */
    }
    if (err == MESH_OK) {
        err = s_frame_send(fd, true, ready, sizeof ready - 1, deadline);
    }
    uint8_t flags = 0;
    uint64_t size = 0;
    uint8_t cmd[512];
    if (err == MESH_OK) {
        err = s_frame_head(fd, deadline, &flags, &size);
    }
    if (err == MESH_OK && (!(flags & S_FLAG_CMD) || size < 6 || size > sizeof cmd)) {
        err = MESH_EIO;
    }
    if (err == MESH_OK) {
        err = s_read_all(fd, cmd, (size_t)size, deadline);
    }
    if (err == MESH_OK && memcmp(cmd, "\x05READY", 6) != 0) {
        err = MESH_EIO; /* (an ERROR command: the daemon refused us) */
    }
    return err;
}

void
ctl_client_close(ctl_client_t *c)
{
    if (!c) {
        return;
    }
    close(c->fd);
    free(c);
}

mesh_err_t
ctl_client_open(const char *home, int connect_ms, ctl_client_t **out)
{
    char dir[4200], why[512], path[sizeof(((struct sockaddr_un *)0)->sun_path)];
    struct stat sb;
    *out = NULL;
    if (!s_path(home, CTL_DIR, dir, sizeof dir) || !s_path(home, CTL_SOCKET, path, sizeof path) ||
        lstat(path, &sb) != 0 || !S_ISSOCK(sb.st_mode)) {
        return MESH_ENOTFOUND;
    }
    if (!s_private(dir, why, sizeof why)) {
        return MESH_EINVAL;
    }
    ctl_client_t *c = calloc(1, sizeof *c);
    if (!c) {
        return MESH_ENOMEM;
    }
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    memcpy(sa.sun_path, path, strlen(path) + 1);
    int64_t deadline = s_now_ms() + connect_ms;
    c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0) {
        free(c);
        return MESH_EIO;
    }
    mesh_err_t err = MESH_OK;
    if (connect(c->fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        int e = errno;
        if (e != EINPROGRESS && e != EAGAIN) {
            err = MESH_ENOTFOUND; /* (a dead daemon's file refuses at once) */
        } else if (s_wait_fd(c->fd, POLLOUT, -1, deadline) != 1) {
            err = MESH_ENOTFOUND;
        } else {
            socklen_t len = sizeof e;
            err = getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &e, &len) == 0 && e == 0 ? MESH_OK
                                                                                   : MESH_ENOTFOUND;
        }
    }
    if (err == MESH_OK && s_handshake(c->fd, deadline) != MESH_OK) {
        err = MESH_ENOTFOUND; /* (no handshake: nothing that speaks ZeroMQ is there) */
    }
    if (err != MESH_OK) {
        ctl_client_close(c);
        return err;
    }
    *out = c;
    return MESH_OK;
}

mesh_err_t
ctl_client_send(ctl_client_t *c, const uint8_t *p, size_t len)
{
    return s_frame_send(c->fd, false, p, len, s_now_ms() + S_FRAME_MS);
}

mesh_err_t
ctl_client_recv(ctl_client_t *c, int wake_fd, int ms, uint8_t **reply, size_t *reply_len)
{
    *reply = NULL;
    *reply_len = 0;
    for (;;) {
        int rc = s_wait_fd(c->fd, POLLIN, wake_fd, s_now_ms() + ms);
        if (rc <= 0) {
            return rc == 0 ? MESH_ENOTFOUND : MESH_EIO;
        }
        /* a frame began: the rest of it comes at once */
        int64_t deadline = s_now_ms() + S_FRAME_MS;
        uint8_t flags = 0;
        uint64_t size = 0;
        mesh_err_t err = s_frame_head(c->fd, deadline, &flags, &size);
        if (err != MESH_OK) {
            return MESH_EIO;
        }
        if (size > S_REPLY_MAX || (flags & S_FLAG_MORE)) {
            return MESH_EIO; /* (too big, or more than one frame: not a reply of ours) */
        }
        uint8_t *b = malloc(size ? (size_t)size : 1);
        if (!b) {
            return MESH_ENOMEM;
        }
        if (s_read_all(c->fd, b, (size_t)size, deadline) != MESH_OK) {
            free(b);
            return MESH_EIO;
        }
        if (flags & S_FLAG_CMD) { /* (a command, e.g. a heartbeat: not for us) */
            free(b);
            continue;
        }
        *reply = b;
        *reply_len = (size_t)size;
        return MESH_OK;
    }
}

mesh_err_t
ctl_call(const char *home, const uint8_t *req, size_t len, int connect_ms, int reply_ms,
         uint8_t **reply, size_t *reply_len)
{
    ctl_client_t *c = NULL;
    *reply = NULL;
    *reply_len = 0;
    mesh_err_t err = ctl_client_open(home, connect_ms, &c);
    if (err == MESH_OK) {
        err = ctl_client_send(c, req, len) == MESH_OK ? MESH_OK : MESH_EIO;
    }
    if (err == MESH_OK) {
        err = ctl_client_recv(c, -1, reply_ms, reply, reply_len);
        err = err == MESH_ENOTFOUND ? MESH_EBUSY : err;
    }
    ctl_client_close(c);
    return err;
}
