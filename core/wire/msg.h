/* core/wire/msg.h: the encoding of session messages (docs/PROTOCOL.md §11): HELLO, VECTOR,
 * BATCH, ACK, PING, PONG, ERROR, SUMMARY, the slow path's RANGE and REPAIR (§13), PEX (§17),
 * MESSAGE (§22),
 * and the reserved BLOCK_REQ and BLOCK.
 * Owns: each message's byte layout and its strict decoder; a body (a vector file, a bundle)
 * stays opaque bytes here.
 * Not here: the bodies' layouts (core/wire/doc.h), the session itself (core/sync/).
 * Layer: core/wire. Third-party: none here (msg.c uses msgpack.h). SPDX-License-Identifier: MIT */
#ifndef MESH_CORE_WIRE_MSG_H
#define MESH_CORE_WIRE_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/wire/buf.h"
#include "meshsync.h" /* mesh_err_t */

#define WIRE_PROTO_NAME  "meshsync"
#define WIRE_PROTO_MAJOR 1u
#define WIRE_PROTO_MINOR                                                                           \
    5u /* 1: RANGE and REPAIR (§13); 2: CBATCH, a dialler's HELLO may leave                       \
        * its vector out (§11.2); 3: PEX (§17); 4: MESSAGE (§22); 5: BLOCK_REQ and BLOCK        \
        * of layout 2, several blocks each (§18.6) */

enum wire_msg_type {
    WIRE_MSG_HELLO = 1,     /* [1, "meshsync", major, minor, name, session id, credit, summary,
                             *  covers (summary or empty), vector file or empty] */
    WIRE_MSG_VECTOR = 2,    /* [2, 1 if the peer should answer with its own, vector file] */
    WIRE_MSG_BATCH = 3,     /* [3, batch id, bundle, 1 if more of the pass follows] */
    WIRE_MSG_ACK = 4,       /* [4, batch id (every one up to it applied), summary after it] */
    WIRE_MSG_PING = 5,      /* [5, nonce, ""] */
    WIRE_MSG_PONG = 6,      /* [6, nonce, ""] */
    WIRE_MSG_ERROR = 7,     /* [7, mesh_err_t code, text] */
    WIRE_MSG_BLOCK_REQ = 8, /* reserved for folder content (§11.1) */
    WIRE_MSG_BLOCK = 9,     /* reserved for folder content (§11.1) */
    WIRE_MSG_SUMMARY = 10,  /* [10, 0, summary]: what the sender holds, in 16 bytes */
    WIRE_MSG_RANGE = 11,    /* [11, repair id, coll, digest (32) or empty, hash key (16) or
                             *  empty, range list or empty] (§13) */
    WIRE_MSG_REPAIR = 12,   /* [12, repair id, bundle, 1 if more follow] (§13) */
    WIRE_MSG_CBATCH = 13,   /* [13, batch id, compact bundle (core/wire/compact.h), 1 if more
                             *  of the pass follows]: a BATCH in the compact form (minor 2) */
    WIRE_MSG_PEX = 14,      /* [14, 0, PEX body (core/wire/addrs.h)]: addresses of members
                             *  (minor 3, §17) */
    WIRE_MSG_MESSAGE = 15,  /* [15, flags (core/wire/message.h), body (core/wire/message.h)]:
                             *  an ephemeral message between members (minor 4, §22) */
    WIRE_MSG_LAST = WIRE_MSG_MESSAGE
};
#define WIRE_DIGEST_LEN     32u   /* a collection digest (§5.8) in a RANGE */
#define WIRE_HASH_KEY_LEN   16u   /* the item hashes' key of a repair, in its first RANGE (§13) */
#define WIRE_SUMMARY_LEN    16u   /* a summary of vectors and digests (§11.1) */
#define WIRE_CREDIT_MAX     1024u /* batches a HELLO may let the peer have in flight */
#define WIRE_BLOCK_REQ_MAX  (64u << 10) /* body bytes of a BLOCK_REQ (reserved, §11.1) */
/* body bytes of a BLOCK (§11.1; §18.6: 1 MiB of data, and the heads of up to 32 blocks) */
#define WIRE_BLOCK_MAX      ((1u << 20) + 4096u)
/* Sets and ops one BATCH may carry (§12): each costs check state while the batch is queued
 * (~0.7 KiB a set, ~190 bytes an op, more while it applies), so these bound it per batch
 * whatever the frame's size. An honest batch is cut past 1 MiB of sets (§11.2): at most
 * ~6,600 sets of ≥ 160 bytes, and ops of ~1 MiB of sets plus one set's (≤ MESH_TXN_OPS_MAX). */
#define WIRE_BATCH_SETS_MAX 8192u
#define WIRE_BATCH_OPS_MAX  65536u

typedef struct wire_msg {
    uint8_t type;
    uint64_t major, minor; /* HELLO */
    const char *name;      /* HELLO: the sender's device name (borrowed) */
    size_t name_len;
    uint64_t num;     /* session id (HELLO), batch id, nonce or error code */
    uint64_t credit;  /* HELLO: batches the sender takes in flight, 1..WIRE_CREDIT_MAX */
    bool more;        /* BATCH, CBATCH, REPAIR: more of this pass or repair follow */
    const char *coll; /* RANGE: the collection (borrowed), 1..MESH_COLL_MAX bytes */
    size_t coll_len;
    const uint8_t *digest;   /* RANGE: the sender's digest of it (WIRE_DIGEST_LEN), or NULL */
    const uint8_t *hash_key; /* RANGE: the repair's item hash key (WIRE_HASH_KEY_LEN), or NULL */
    const uint8_t *summary;  /* HELLO: WIRE_SUMMARY_LEN bytes (borrowed) */
    const uint8_t *covers;   /* HELLO: the summary of the peer's vector this side holds all
                              * of (an answer without a vector), or NULL */
    const uint8_t *body;     /* vector file, bundle, summary, range list or error text (borrowed) */
    size_t body_len;
    const uint8_t *encoded; /* sending: the whole message encoded already (wire_msg_head, then
                             * the body), sent as it is; NULL: encoded from the fields above */
    size_t encoded_len;
} wire_msg_t;

/* Append a session message. A HELLO of another major version than WIRE_PROTO_MAJOR (a
 * test playing another version) is [1, "meshsync", major, minor, {}]: the four elements
 * every version keeps, then one this version does not know. MESH_OK, MESH_EINVAL (unknown
 * type, a field out of range), MESH_ENOMEM. */
MESH_NODISCARD mesh_err_t wire_msg_encode(const wire_msg_t *msg, wire_buf_t *out);

#define WIRE_MSG_HEAD_MAX 17u /* bytes of wire_msg_head, at most */

/* The bytes wire_msg_encode writes before the body of msg (its body itself not read, only
 * body_len), for a message of three elements [type, num, body] (not HELLO, RANGE, BATCH,
 * CBATCH, REPAIR), into head: how many; 0 for another type or a message wire_msg_encode
 * refuses. Those bytes and then the body are the message: a sender that encodes a large body
 * after WIRE_MSG_HEAD_MAX bytes of room puts the head right before it and sends the whole
 * (wire_msg_t.encoded) without copying the body once more. */
size_t wire_msg_head(const wire_msg_t *msg, uint8_t head[WIRE_MSG_HEAD_MAX]);

/* Decode exactly len bytes as one session message (an ACK's or SUMMARY's body is a summary
 * of exactly WIRE_SUMMARY_LEN bytes; a BATCH's body, when its outline reads as a bundle's,
 * carries at most WIRE_BATCH_SETS_MAX sets and WIRE_BATCH_OPS_MAX ops: wire_bundle_count;
 * else its import says it does not decode; a CBATCH's body is at most WIRE_COMPACT_MAX bytes,
 * a PEX's WIRE_PEX_MAX (its layout is read by wire_pex_decode), a MESSAGE's WIRE_MESSAGE_MAX
 * with flags 0 or 1 (its layout is read by wire_message_decode),
 * its caps are checked once expanded). A HELLO of another major version decodes whatever
 * its layout after the first four elements: only type, major and minor are set, for the
 * session to refuse it. MESH_OK, MESH_EPROTO, MESH_ETOOBIG (a BATCH past its sets or ops,
 * a CBATCH, PEX, MESSAGE, BLOCK_REQ or BLOCK body past its cap). */
MESH_NODISCARD mesh_err_t wire_msg_decode(const uint8_t *buf, size_t len, wire_msg_t *msg);

#endif /* MESH_CORE_WIRE_MSG_H */
