/* transport/ctl.h: the control socket (docs/PROTOCOL.md §21): a ZeroMQ ipc:// socket in a
 * private directory of the home (HOME/control/, mode 0700, socket HOME/control/socket),
 * the daemon's end (a ROUTER) and a client's call (a DEALER: one request, one reply), the
 * client speaking ZMTP 3.0 itself over the AF_UNIX socket (no ZeroMQ context, no thread).
 * Owns: the directory's check (ours, no group or world access, else refused), replacing a
 * socket file a killed daemon left, the connect and reply deadlines, moving opaque messages.
 * Not here: what the messages say (core/wire/ctlmsg.h) or do (core/sync/control.h).
 * Layer: transport. Third-party: zmq.h, included only by ctl.c. SPDX-License-Identifier: MIT */
#ifndef MESH_TRANSPORT_CTL_H
#define MESH_TRANSPORT_CTL_H

#include <stddef.h>
#include <stdint.h>

#include "meshsync.h" /* mesh_err_t */

#define CTL_DIR       "control"        /* in the home, mode 0700 */
#define CTL_SOCKET    "control/socket" /* the ipc:// socket file, in the home */
#define CTL_MSG_MAX   (64u << 10)      /* bytes libzmq takes in from a client (past: it drops it) */
#define CTL_ROUTE_MAX 256u             /* bytes of a client's routing id */

typedef struct ctl_server ctl_server_t;

/* A client, as the daemon's socket names it (its routing id). */
typedef struct ctl_from {
    uint8_t id[CTL_ROUTE_MAX];
    size_t len;
} ctl_from_t;

/* Make (0700) or check HOME/control, remove a socket file left there (the caller holds the
 * home's daemon lock, so none but a dead daemon's can be there), and listen on it.
 * MESH_OK: *out is new. Errors (*out NULL, why says what in why_len bytes): MESH_EINVAL
 * (the directory is not a directory of ours without group or world access, or the path is
 * too long for a socket), MESH_EIO (the OS or libzmq failed), MESH_ENOMEM. */
MESH_NODISCARD mesh_err_t ctl_server_open(const char *home, ctl_server_t **out, char *why,
                                          size_t why_len);

/* Stop listening and remove the socket file. NULL is a no-op. */
void ctl_server_close(ctl_server_t *s);

/* The ZeroMQ socket, for the transport's poll (transport_poll_ctl); NULL for a NULL s. */
void *ctl_server_socket(const ctl_server_t *s);

/* Take the next request without waiting. MESH_OK: *from is its client, data/len its one
 * frame, valid until the next call or ctl_server_close. MESH_EPROTO: a message of more
 * than one frame (from set; data NULL). MESH_ENOTFOUND: none waits. */
MESH_NODISCARD mesh_err_t ctl_server_recv(ctl_server_t *s, ctl_from_t *from, const uint8_t **data,
                                          size_t *len);

/* Send a reply to a client without waiting: a client gone, or not reading, loses it
 * (MESH_EBUSY); MESH_OK when queued. */
mesh_err_t ctl_server_send(ctl_server_t *s, const ctl_from_t *to, const uint8_t *p, size_t len);

/* One request to the daemon of home and its reply: the socket file must answer a connect
 * at once and finish the handshake within connect_ms (a dead daemon's file refuses), and
 * the reply come within reply_ms. MESH_OK: *reply is malloc'd (caller frees), *reply_len
 * its size. Errors (*reply NULL): MESH_ENOTFOUND (no daemon listens there: no file, a
 * refused or unfinished connection), MESH_EINVAL (HOME/control is not private: another
 * user could have made the socket), MESH_EBUSY (no reply in time), MESH_EIO, MESH_ENOMEM. */
MESH_NODISCARD mesh_err_t ctl_call(const char *home, const uint8_t *req, size_t len, int connect_ms,
                                   int reply_ms, uint8_t **reply, size_t *reply_len);

/* A client's lasting connection (the change feed's subscription, core/data/feedsub.c):
 * opened as ctl_call opens one (same checks, same errors), then any number of requests and
 * replies. Not thread-safe: one thread uses one client. */
typedef struct ctl_client ctl_client_t;
MESH_NODISCARD mesh_err_t ctl_client_open(const char *home, int connect_ms, ctl_client_t **out);

/* Queue one request without waiting: MESH_OK, or MESH_EBUSY (the queue is full, or the
 * daemon went and nothing is connected). */
mesh_err_t ctl_client_send(ctl_client_t *c, const uint8_t *p, size_t len);

/* Wait up to ms for one reply, or until wake_fd (-1: none) is readable (it is not read).
 * MESH_OK: *reply malloc'd (caller frees). MESH_ENOTFOUND: none came (time, or woken);
 * MESH_EIO (more than one frame), MESH_ENOMEM. */
MESH_NODISCARD mesh_err_t ctl_client_recv(ctl_client_t *c, int wake_fd, int ms, uint8_t **reply,
                                          size_t *reply_len);

/* Close it (queued requests are dropped). NULL is a no-op. */
void ctl_client_close(ctl_client_t *c);

#endif /* MESH_TRANSPORT_CTL_H */
