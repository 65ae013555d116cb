/* transport/ctl.c: the control socket's two ends (docs/PROTOCOL.md §21): the daemon's
 * ROUTER in HOME/control/ and a client's one call over a DEALER.
 * Layer: transport. Third-party: zmq.h. SPDX-License-Identifier: MIT */
#include "transport/ctl.h"

#include <errno.h>
#include <fcntl.h>
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

/* Does something accept connections on the socket file path? A dead daemon's file refuses
 * at once; anything else (a full backlog) is taken as maybe, for the handshake to tell. */
static bool
s_answers(const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    memcpy(sa.sun_path, path, strlen(path) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return true;
    }
    int rc = connect(fd, (struct sockaddr *)&sa, sizeof sa);
    int e = errno;
    close(fd);
    return rc == 0 || (e != ECONNREFUSED && e != ENOENT && e != ENOTDIR && e != ENOTSOCK);
}

static int64_t
s_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait for events on sock for at most ms: true when they came. */
static bool
s_poll(void *sock, short events, int ms)
{
    int64_t deadline = s_now_ms() + ms;
    for (;;) {
        zmq_pollitem_t item = {.socket = sock, .events = events};
        int64_t left = deadline - s_now_ms();
        int rc = zmq_poll(&item, 1, left > 0 ? (long)left : 0);
        if (rc > 0) {
            return true;
        }
        if ((rc == 0 || zmq_errno() != EINTR) && s_now_ms() >= deadline) {
            return false;
        }
    }
}

/* A client's connection: one DEALER (in a ZeroMQ context of its own). */
struct ctl_client {
    void *ctx;
    void *dealer;
};

void
ctl_client_close(ctl_client_t *c)
{
    if (!c) {
        return;
    }
    if (c->dealer) {
        zmq_close(c->dealer);
    }
    if (c->ctx) {
        zmq_ctx_term(c->ctx);
    }
    free(c);
}

mesh_err_t
ctl_client_open(const char *home, int connect_ms, ctl_client_t **out)
{
    char dir[4200], why[512], path[sizeof(((struct sockaddr_un *)0)->sun_path)];
    char endpoint[sizeof path + 8];
    struct stat sb;
    *out = NULL;
    if (!s_path(home, CTL_DIR, dir, sizeof dir) || !s_path(home, CTL_SOCKET, path, sizeof path) ||
        lstat(path, &sb) != 0 || !S_ISSOCK(sb.st_mode)) {
        return MESH_ENOTFOUND;
    }
    if (!s_private(dir, why, sizeof why)) {
        return MESH_EINVAL;
    }
    if (!s_answers(path)) {
        return MESH_ENOTFOUND;
    }
    snprintf(endpoint, sizeof endpoint, "ipc://%s", path);
    ctl_client_t *c = calloc(1, sizeof *c);
    if (!c) {
        return MESH_ENOMEM;
    }
    mesh_err_t err = MESH_OK;
    c->ctx = zmq_ctx_new();
    c->dealer = c->ctx ? zmq_socket(c->ctx, ZMQ_DEALER) : NULL;
    if (!c->dealer || s_set_int(c->dealer, ZMQ_LINGER, 0) != 0 ||
        s_set_int(c->dealer, ZMQ_IMMEDIATE, 1) != 0 ||
        s_set_int(c->dealer, ZMQ_RCVHWM, S_SNDHWM) != 0 || zmq_connect(c->dealer, endpoint) != 0) {
        err = MESH_EIO;
    } else if (!s_poll(c->dealer, ZMQ_POLLOUT, connect_ms)) {
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
    return zmq_send(c->dealer, p, len, ZMQ_DONTWAIT) < 0 ? MESH_EBUSY : MESH_OK;
}

mesh_err_t
ctl_client_recv(ctl_client_t *c, int wake_fd, int ms, uint8_t **reply, size_t *reply_len)
{
    *reply = NULL;
    *reply_len = 0;
    int64_t deadline = s_now_ms() + ms;
    for (;;) {
        zmq_pollitem_t items[2] = {{.socket = c->dealer, .events = ZMQ_POLLIN},
                                   {.fd = wake_fd, .events = ZMQ_POLLIN}};
        int64_t left = deadline - s_now_ms();
        int rc = zmq_poll(items, wake_fd >= 0 ? 2 : 1, left > 0 ? (long)left : 0);
        if (rc > 0 && (items[0].revents & ZMQ_POLLIN)) {
            break;
        }
        if (rc > 0 || (rc < 0 && zmq_errno() != EINTR) || s_now_ms() >= deadline) {
            return MESH_ENOTFOUND; /* (woken, or the time is up) */
        }
    }
    mesh_err_t err = MESH_OK;
    zmq_msg_t m;
    zmq_msg_init(&m);
    if (zmq_msg_recv(&m, c->dealer, ZMQ_DONTWAIT) < 0 || zmq_msg_more(&m)) {
        err = MESH_EIO;
    } else {
        *reply = malloc(zmq_msg_size(&m) ? zmq_msg_size(&m) : 1);
        if (*reply) {
            memcpy(*reply, zmq_msg_data(&m), zmq_msg_size(&m));
            *reply_len = zmq_msg_size(&m);
        } else {
            err = MESH_ENOMEM;
        }
    }
    zmq_msg_close(&m);
    return err;
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
