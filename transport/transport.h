/* transport/transport.h: ZeroMQ sockets with CURVE encryption and ZAP admission
 * (docs/PROTOCOL.md §10).
 * Owns: one ROUTER listening socket (CURVE server, ROUTER_MANDATORY, a handshake deadline),
 * the pre-auth guard that watches its connections (transport/guard.h), the ZAP handler bound
 * before it, outgoing DEALER connections (CURVE clients), and moving opaque frames; every
 * inbound frame carries the sender's CURVE key, checked again at each frame.
 * Not here: what frames mean (core/), who is a member (the caller's admit function).
 * Layer: transport. Third-party: zmq.h, included only by transport.c.
 * SPDX-License-Identifier: MIT */
#ifndef MESH_TRANSPORT_TRANSPORT_H
#define MESH_TRANSPORT_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "meshsync.h" /* mesh_err_t */

#define TRANSPORT_KEY_LEN   32u         /* X25519 (CURVE) key */
#define TRANSPORT_FRAME_MAX (64u << 20) /* bytes in one frame; larger ones drop the link */
/* A frame goes as pieces of at most this many bytes, each one ZeroMQ message (§10): libzmq
 * takes a whole message in before anything else sees it, even before the CURVE handshake
 * is through, so its size cap (a piece and its header) is what a stranger can make us hold
 * per connection. */
#define TRANSPORT_PIECE_MAX (1u << 20)
#define TRANSPORT_CONNS_MAX 256u        /* outgoing connections */
#define TRANSPORT_INBOUND   0x80000000u /* set in the number of an inbound connection */
#define TRANSPORT_SNDHWM    128u /* pieces queued to one peer (past it: MESH_EBUSY/ENOTFOUND) */
#define TRANSPORT_RCVHWM    8u   /* pieces libzmq reads ahead from one peer (then TCP waits) */

typedef struct transport transport_t;

/* Decide whether the device with this CURVE key may talk to us. Called at every handshake
 * (ZAP) and for every inbound frame, on the thread that calls transport_recv. */
typedef bool (*transport_admit_fn)(void *ctx, const uint8_t *curve_key);

/* A received frame. data is valid until the next transport_recv or transport_close. */
typedef struct transport_msg {
    uint32_t conn;                       /* connection (TRANSPORT_INBOUND set if inbound) */
    uint8_t peer_key[TRANSPORT_KEY_LEN]; /* the sender's CURVE key */
    const uint8_t *data;
    size_t len;
} transport_msg_t;

/* Create the transport with our CURVE key pair and the admission rule, and bind the ZAP
 * handler (before any socket can accept a connection). MESH_OK: *out is new.
 * Errors: MESH_EIO (libzmq failed: detail in errmsg), MESH_ENOMEM. */
MESH_NODISCARD mesh_err_t transport_open(const uint8_t *public_key, const uint8_t *secret_key,
                                         transport_admit_fn admit, void *admit_ctx,
                                         transport_t **out);

/* Close every socket and the context. NULL is a no-op. */
void transport_close(transport_t *t);

/* The detail of the last failure (static buffer owned by t). */
const char *transport_errmsg(const transport_t *t);

/* Listen on endpoint (e.g. "tcp://127.0.0.1:0"); bound receives the endpoint actually
 * bound (with the port chosen). Errors: MESH_EBUSY (the address is in use), MESH_EIO (a bad
 * endpoint, and the rest). */
MESH_NODISCARD mesh_err_t transport_listen(transport_t *t, const char *endpoint, char *bound,
                                           size_t bound_len);

/* Connect to a server whose CURVE key is server_key at endpoint; libzmq reconnects by
 * itself with backoff. *conn names the connection. Errors: MESH_EIO, MESH_ETOOBIG (too many
 * connections). */
MESH_NODISCARD mesh_err_t transport_connect(transport_t *t, const uint8_t *server_key,
                                            const char *endpoint, uint32_t *conn);

/* Drop a connection (outgoing: close its socket; inbound: forget it). */
void transport_disconnect(transport_t *t, uint32_t conn);

/* Send one frame, in pieces of TRANSPORT_PIECE_MAX; never blocks. MESH_ENOTFOUND: the
 * connection is gone or not up yet (ROUTER_MANDATORY, ZMQ_IMMEDIATE: nothing is dropped or
 * queued silently); MESH_EBUSY: the peer's queue is full (a frame cut short there is
 * dropped by the receiver when the next one starts); MESH_ETOOBIG past TRANSPORT_FRAME_MAX;
 * MESH_EIO. */
MESH_NODISCARD mesh_err_t transport_send(transport_t *t, uint32_t conn, const void *data,
                                         size_t len);

/* Hand over the frame msg (the last transport_recv's) when it was joined from pieces (a
 * frame longer than TRANSPORT_PIECE_MAX): its malloc'd buffer, msg->len bytes at its start
 * (msg->data), its capacity msg->len too; the caller free()s it, and the next transport_recv
 * no longer does. NULL when it came whole (it lives in libzmq's message, or a TSan build's
 * copy: copy the bytes then), or was handed over already. */
uint8_t *transport_keep(transport_t *t, const transport_msg_t *msg);

/* Wait up to timeout_ms (-1: for ever) for one frame from an admitted peer (its pieces
 * joined), answering handshakes meanwhile. Frames whose sender is no longer admitted are dropped
 * (and counted in transport_refused). MESH_OK: *msg filled; MESH_ENOTFOUND: nothing came in time;
 * MESH_EIO. */
MESH_NODISCARD mesh_err_t transport_recv(transport_t *t, int timeout_ms, transport_msg_t *msg);

/* The descriptors that become readable when a socket of t may have something for
 * transport_recv (libzmq's ZMQ_FD of each socket: edge-like, so once readable call
 * transport_pending until it says no): at most cap of them in fds; returns how many. */
size_t transport_fds(transport_t *t, int *fds, size_t cap);

/* Does a socket of t hold a frame transport_recv would return now (or a ZAP request)? */
bool transport_pending(transport_t *t);

/* Refuse (drop and count) every received frame longer than max bytes (at most, and by
 * default, TRANSPORT_FRAME_MAX). A transport that takes only small frames (the pairing
 * listener: core/sync/pairrun.c) so joins no pieces, and a peer can make it hold no more
 * than libzmq's one piece per connection. */
void transport_frame_max(transport_t *t, size_t max);

/* Handshakes and frames refused so far (for logs and tests). */
uint64_t transport_refused(const transport_t *t);

/* The pre-auth guard (docs/PROTOCOL.md, Resource budget; transport/guard.h): connections
 * accepted and not yet heard from as a member now, and those shut down so far for going past
 * a cap (per source address, or in total). 0 before transport_listen. Any thread. */
size_t transport_preauth(const transport_t *t);
size_t transport_preauth_max(const transport_t *t); /* the total cap (guard_total) */
uint64_t transport_shed(const transport_t *t);

/* Poll the control socket ctl (transport/ctl.h; NULL: none) beside the others: when a
 * request waits there and no frame does, transport_recv returns MESH_ENOTFOUND at once, so
 * that the caller serves it. */
struct ctl_server;
void transport_poll_ctl(transport_t *t, struct ctl_server *ctl);

/* Poll the eventfd fd (-1: none) beside the others, and list it in transport_fds: when it
 * is readable transport_recv reads it (to zero) and returns MESH_ENOTFOUND at once. How
 * another thread wakes the thread in transport_recv (a local commit to push). */
void transport_poll_fd(transport_t *t, int fd);

#endif /* MESH_TRANSPORT_TRANSPORT_H */
