/* core/wire/ctlmsg.h: the control socket's requests and replies (docs/PROTOCOL.md §21),
 * each one ZeroMQ message between meshctl (or an embedding app) and the daemon of a home.
 * Owns: their byte layout, the encoders and the one strict decoder of each, with a cap on
 * every field. Not here: what a request does (core/sync/control.h), the socket
 * (transport/ctl.h). Layer: core/wire. Third-party: none here (ctlmsg.c uses msgpack.h).
 * SPDX-License-Identifier: MIT */
#ifndef MESH_CORE_WIRE_CTLMSG_H
#define MESH_CORE_WIRE_CTLMSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/wire/buf.h"
#include "meshsync.h" /* mesh_err_t */

#define CTLMSG_VERSION     1u          /* the protocol version each message leads with */
#define CTLMSG_REQUEST_MAX 4096u       /* bytes in a request */
#define CTLMSG_ID_MAX      0xffffffffu /* a request's id, chosen by the client */
#define CTLMSG_COLLS_MAX   64u         /* collections one wait names */
#define CTLMSG_PEERS_MAX   64u         /* peers one wait asks for */
#define CTLMSG_WAIT_MS_MAX 86400000u   /* a wait's timeout (a day) */
#define CTLMSG_TEXT_MAX    256u        /* bytes of an error reply's text, of ping's version */

/* Request kinds (§21.2, §21.4). 5 is kept for folder status. */
enum ctlmsg_kind {
    CTLMSG_PING = 1,   /* [1, id, 1]: is a daemon there, which one */
    CTLMSG_STATUS = 2, /* [1, id, 2, min_txnid]: the status text (§11.4) */
    CTLMSG_WAIT = 3,   /* [1, id, 3, timeout_ms, peers, [coll...]]: in sync, or the timeout */
    CTLMSG_WATCH = 4,  /* [1, id, 4, txnid]: a reply now and at each commit after (§21.4) */
    CTLMSG_KIND_FIRST = CTLMSG_PING,
    CTLMSG_KIND_LAST = CTLMSG_WATCH
};

/* A decoded request. Collection names are borrowed from the input (not NUL-terminated). */
typedef struct ctlmsg_req {
    uint64_t id;         /* the client's, echoed in the reply (set as soon as it is read) */
    uint64_t kind;       /* enum ctlmsg_kind */
    uint64_t min_txnid;  /* STATUS: figures counted at this store transaction or later;
                          * WATCH: the last store transaction the client has read */
    uint64_t timeout_ms; /* WAIT: at most this long */
    uint64_t peers;      /* WAIT: at least this many peers connected */
    size_t ncolls;       /* WAIT: the collections (none: every one) */
    const char *colls[CTLMSG_COLLS_MAX];
    size_t coll_lens[CTLMSG_COLLS_MAX];
} ctlmsg_req_t;

/* A reply: [1, id, code, ...]. code 0 has the kind's body, any other code a text. */
typedef struct ctlmsg_reply {
    uint64_t id;
    uint64_t code;         /* MESH_OK, or the mesh_err_t the request failed with */
    const char *text;      /* code != 0: why; PING: the daemon's version ("meshsync X.Y.Z") */
    size_t text_len;       /* (borrowed from the input when decoded) */
    const uint8_t *status; /* STATUS: the status text (§11.4), borrowed */
    size_t status_len;
    uint64_t pid;       /* PING: the daemon's process */
    uint64_t proto;     /* PING: the highest request kind it serves */
    bool in_sync;       /* WAIT: in sync (else the timeout came first) */
    uint64_t connected; /* WAIT: peers connected at the end */
    uint64_t synced;    /* WAIT: of those, in sync */
    uint64_t txnid;     /* WATCH: the store's last transaction, as the daemon saw it */
} ctlmsg_reply_t;

/* Append req's encoding to out. MESH_OK, MESH_EINVAL (a field past its cap, an unknown
 * kind, an empty or too long name), MESH_ENOMEM (out cut back). */
MESH_NODISCARD mesh_err_t ctlmsg_req_encode(const ctlmsg_req_t *req, wire_buf_t *out);

/* Decode exactly len bytes as a request: version 1, an id, a known kind with its fields,
 * each within its cap, and no trailing byte. Never reads outside buf.
 * MESH_OK: *req is set. Error: *req is zeroed but for id, kept when it could be read (so
 * that the error reply names it). Errors: MESH_ETOOBIG (over CTLMSG_REQUEST_MAX, or a field
 * over its cap), MESH_EPROTO (malformed, another version, an unknown kind). */
MESH_NODISCARD mesh_err_t ctlmsg_req_decode(const uint8_t *buf, size_t len, ctlmsg_req_t *req);

/* Append the reply to a request of kind (or an error reply, code != 0) to out.
 * MESH_OK, MESH_EINVAL, MESH_ENOMEM. */
MESH_NODISCARD mesh_err_t ctlmsg_reply_encode(uint64_t kind, const ctlmsg_reply_t *rep,
                                              wire_buf_t *out);

/* Decode exactly len bytes as the reply to a request of kind. MESH_OK: *rep set (borrowing
 * from buf). Error: *rep zeroed; MESH_EPROTO, MESH_ETOOBIG. */
MESH_NODISCARD mesh_err_t ctlmsg_reply_decode(uint64_t kind, const uint8_t *buf, size_t len,
                                              ctlmsg_reply_t *rep);

#endif /* MESH_CORE_WIRE_CTLMSG_H */
