/* core/wire.h: msgpack encoding of change sets: headers, op metadata, whole sets
 * (docs/PROTOCOL.md §3).
 * Owns: every byte layout that is signed, stored or sent, and the one strict, bounded
 * decoder that all received bytes go through.
 * Not here: signing and hashing (crypto/), persistence (store/).
 * Layer: core. Third-party: msgpack.h, included only by wire.c. SPDX-License-Identifier: MIT */
#ifndef MESH_CORE_WIRE_H
#define MESH_CORE_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "meshsync.h" /* mesh_err_t, limits */

#define WIRE_SET_TAG       "meshsync/set/1" /* domain tag, first field of a signed header */
#define WIRE_SET_MAX       (32u << 20)      /* bytes in one encoded set, hard cap */
#define WIRE_HEADER_MAX    4096u            /* bytes in one signed set header */
#define WIRE_OPS_MAX       MESH_TXN_OPS_MAX /* ops in one set */
#define WIRE_CTX_MAX       1024u            /* entries in one op's causal context */
#define WIRE_ORIGIN_LEN    32u
#define WIRE_HASH_LEN      32u
#define WIRE_SIG_LEN       64u
#define WIRE_CTX_ENTRY_LEN 53u /* one encoded context entry: fixed width, §3.3 */

enum wire_kind { WIRE_PUT = 0, WIRE_DEL = 1 };

/* A growable output buffer. After a failed allocation it stays failed, and the encoder
 * that owns the call reports MESH_ENOMEM. */
typedef struct wire_buf {
    uint8_t *data;
    size_t len;
    size_t cap;
    bool failed;
} wire_buf_t;

void wire_buf_init(wire_buf_t *b);
void wire_buf_release(wire_buf_t *b);
void wire_buf_reset(wire_buf_t *b); /* len = 0, keeps the memory */
/* Append raw bytes. MESH_OK or MESH_ENOMEM (the buffer is then marked failed). */
MESH_NODISCARD mesh_err_t wire_buf_append(wire_buf_t *b, const void *p, size_t len);

/* A dot: one write's (origin, incarnation, seq). */
typedef struct wire_dot {
    uint8_t origin[WIRE_ORIGIN_LEN];
    uint64_t incarnation;
    uint64_t seq;
} wire_dot_t;

/* The signed header of a change set. coll borrows the caller's or the decoded bytes. */
typedef struct wire_header {
    const char *coll;
    size_t coll_len;
    uint8_t origin[WIRE_ORIGIN_LEN];
    uint64_t incarnation;
    uint64_t first_seq;
    uint32_t count;
    uint64_t hlc;
    uint8_t root[WIRE_HASH_LEN];
} wire_header_t;

/* An op's signed metadata (the bytes of a Merkle leaf). The pointers borrow the decoded
 * buffer; ctx holds ctx_count fixed-width entries, read with wire_ctx_get. */
typedef struct wire_opmeta {
    uint64_t seq;
    const uint8_t *key;
    size_t key_len;
    uint8_t kind;                 /* enum wire_kind */
    uint8_t vhash[WIRE_HASH_LEN]; /* hash of the value (zero for a delete) */
    uint32_t value_len;           /* bytes of the value (0 for a delete) */
    const uint8_t *ctx;
    size_t ctx_count;
} wire_opmeta_t;

/* One op as carried in a set: its metadata bytes, its value, and in a partial set its
 * Merkle proof (proof_count sibling hashes of WIRE_HASH_LEN bytes, bottom up). */
typedef struct wire_op {
    const uint8_t *meta;
    size_t meta_len;
    const uint8_t *value; /* NULL for a delete */
    size_t value_len;
    const uint8_t *proof; /* NULL in a full set */
    size_t proof_count;
} wire_op_t;

/* A decoded set; pointers borrow the input buffer, ops is owned (wire_set_release).
 * A full set carries every op in seq order; a partial one only some, each with a proof. */
typedef struct wire_set {
    const uint8_t *header;
    size_t header_len;
    const uint8_t *sig;
    wire_op_t *ops;
    size_t op_count;
    bool partial;
} wire_set_t;

#define WIRE_PROOF_MAX  32u /* hashes in one proof */
#define WIRE_BUNDLE_TAG "meshsync/bundle/1"
#define WIRE_VECTOR_TAG "meshsync/vector/1"
#define WIRE_BUNDLE_MAX (1ull << 40) /* bytes in one bundle: bounded by the file */

/* A watermark: "you now hold all of origin's dots up to seq" (§3.5); with from > 0, only
 * those in (from, seq]: it then holds for a receiver that already holds all up to from. */
typedef struct wire_mark {
    uint8_t origin[WIRE_ORIGIN_LEN];
    uint64_t incarnation;
    uint64_t seq;
    uint64_t from; /* 0: from the receiver's base; else 1..seq-1 */
} wire_mark_t;

/* One vector entry as written to a vector file (§3.6). The extras are read in place. */
typedef struct wire_vv {
    uint8_t origin[WIRE_ORIGIN_LEN];
    uint64_t incarnation;
    uint64_t base;
    const uint8_t *extra; /* extra_count fixed-width (0xcf) uint64s, ascending */
    size_t extra_count;
} wire_vv_t;

/* A section of a bundle or a vector file: one collection. Pointers borrow the input. */
typedef struct wire_section {
    const char *coll;
    size_t coll_len;
    const uint8_t **sets; /* bundle: each set's encoded bytes */
    size_t *set_lens;
    size_t set_count;
    wire_mark_t *marks; /* bundle: watermarks */
    size_t mark_count;
    wire_vv_t *vvs; /* vector file: entries */
    size_t vv_count;
} wire_section_t;

/* A decoded bundle or vector file; free with wire_doc_release. */
typedef struct wire_doc {
    wire_section_t *sections;
    size_t count;
} wire_doc_t;

/* Append the encoding of h to out. MESH_OK, MESH_EINVAL (a field out of range),
 * MESH_ENOMEM. */
MESH_NODISCARD mesh_err_t wire_header_encode(const wire_header_t *h, wire_buf_t *out);

/* Decode exactly len bytes as a header. MESH_OK, or MESH_EPROTO (malformed, wrong tag,
 * trailing bytes), MESH_ETOOBIG (a cap); *h is zeroed on error. */
MESH_NODISCARD mesh_err_t wire_header_decode(const uint8_t *buf, size_t len, wire_header_t *h);

/* Append op's metadata with the context ctx[0..ctx_count) (sorted by origin, then
 * incarnation, no duplicates) to out; op->ctx is ignored. MESH_OK, MESH_EINVAL, MESH_ENOMEM. */
MESH_NODISCARD mesh_err_t wire_opmeta_encode(const wire_opmeta_t *op, const wire_dot_t *ctx,
                                             size_t ctx_count, wire_buf_t *out);

/* Decode exactly len bytes as op metadata. MESH_OK, MESH_EPROTO, MESH_ETOOBIG. */
MESH_NODISCARD mesh_err_t wire_opmeta_decode(const uint8_t *buf, size_t len, wire_opmeta_t *op);

/* Read context entry i (< op->ctx_count) of a decoded op. */
void wire_ctx_get(const wire_opmeta_t *op, size_t i, wire_dot_t *dot);

/* Append a whole set to out. MESH_OK, MESH_ETOOBIG (past WIRE_SET_MAX), MESH_ENOMEM. */
MESH_NODISCARD mesh_err_t wire_set_encode(const uint8_t *header, size_t header_len,
                                          const uint8_t *sig, const wire_op_t *ops, size_t op_count,
                                          wire_buf_t *out);

/* Decode exactly len bytes as a set; checks the structure only (the header and op
 * metadata are decoded by their own calls, the signature checked by the caller).
 * MESH_OK: *set filled, free with wire_set_release. Error: *set zeroed.
 * Errors: MESH_EPROTO, MESH_ETOOBIG, MESH_ENOMEM. */
MESH_NODISCARD mesh_err_t wire_set_decode(const uint8_t *buf, size_t len, wire_set_t *set);

/* Free what a decoded set owns; a zeroed set is a no-op. */
void wire_set_release(wire_set_t *set);

/* Append a partial set: like wire_set_encode, with each op's proof. */
MESH_NODISCARD mesh_err_t wire_set_encode_partial(const uint8_t *header, size_t header_len,
                                                  const uint8_t *sig, const wire_op_t *ops,
                                                  size_t op_count, wire_buf_t *out);

/* Bundles (§3.5): [tag, [[coll, [set bin...], [[origin, inc, seq]...]]...]], written in
 * pieces: begin with the section count, then per section its header, its sets and its
 * marks. */
MESH_NODISCARD mesh_err_t wire_bundle_begin(size_t section_count, wire_buf_t *out);
MESH_NODISCARD mesh_err_t wire_section_begin(const char *coll, size_t set_count, wire_buf_t *out);
MESH_NODISCARD mesh_err_t wire_section_set(const uint8_t *set, size_t len, wire_buf_t *out);
MESH_NODISCARD mesh_err_t wire_section_marks(const wire_mark_t *marks, size_t count,
                                             wire_buf_t *out);

/* Vector files (§3.6): [tag, [[coll, [[origin, inc, base, [extra...]]...]]...]]. */
MESH_NODISCARD mesh_err_t wire_vector_begin(size_t section_count, wire_buf_t *out);
MESH_NODISCARD mesh_err_t wire_vector_section(const char *coll, const wire_vv_t *vvs,
                                              const uint64_t *const *extras, size_t count,
                                              wire_buf_t *out);

/* Decode a whole bundle (is_vector false) or vector file (true). MESH_OK: *doc filled.
 * Errors: MESH_EPROTO, MESH_ETOOBIG, MESH_ENOMEM; *doc zeroed. */
MESH_NODISCARD mesh_err_t wire_doc_decode(const uint8_t *buf, size_t len, bool is_vector,
                                          wire_doc_t *doc);
void wire_doc_release(wire_doc_t *doc);

/* Read extra i of a decoded vector entry. */
uint64_t wire_vv_extra(const wire_vv_t *vv, size_t i);

/* ---- session messages (§11) ---- */

#define WIRE_PROTO_NAME  "meshsync"
#define WIRE_PROTO_MAJOR 1u
#define WIRE_PROTO_MINOR 0u

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
    WIRE_MSG_LAST = WIRE_MSG_SUMMARY
};
#define WIRE_SUMMARY_LEN   16u                /* a summary of vectors and digests (§11.1) */
#define WIRE_CREDIT_MAX    1024u              /* batches a HELLO may let the peer have in flight */
#define WIRE_BLOCK_REQ_MAX (64u << 10)        /* body bytes of a BLOCK_REQ (reserved, §11.1) */
#define WIRE_BLOCK_MAX     ((1u << 20) + 64u) /* body bytes of a BLOCK (reserved, §11.1) */

typedef struct wire_msg {
    uint8_t type;
    uint64_t major, minor; /* HELLO */
    const char *name;      /* HELLO: the sender's device name (borrowed) */
    size_t name_len;
    uint64_t num;           /* session id (HELLO), batch id, nonce or error code */
    uint64_t credit;        /* HELLO: batches the sender takes in flight, 1..WIRE_CREDIT_MAX */
    bool more;              /* BATCH: more batches of this pass follow */
    const uint8_t *summary; /* HELLO: WIRE_SUMMARY_LEN bytes (borrowed) */
    const uint8_t *covers;  /* HELLO: the summary of the peer's vector this side holds all
                             * of (an answer without a vector), or NULL */
    const uint8_t *body;    /* vector file, bundle, summary or error text (borrowed) */
    size_t body_len;
} wire_msg_t;

/* Append a session message. A HELLO of another major version than WIRE_PROTO_MAJOR (a
 * test playing another version) is [1, "meshsync", major, minor, {}]: the four elements
 * every version keeps, then one this version does not know. MESH_OK, MESH_EINVAL (unknown
 * type, a field out of range), MESH_ENOMEM. */
MESH_NODISCARD mesh_err_t wire_msg_encode(const wire_msg_t *msg, wire_buf_t *out);

/* Decode exactly len bytes as one session message (an ACK's or SUMMARY's body is a summary
 * of exactly WIRE_SUMMARY_LEN bytes). A HELLO of another major version decodes whatever
 * its layout after the first four elements: only type, major and minor are set, for the
 * session to refuse it. MESH_OK, MESH_EPROTO, MESH_ETOOBIG (also a BLOCK_REQ or BLOCK
 * body past its cap). */
MESH_NODISCARD mesh_err_t wire_msg_decode(const uint8_t *buf, size_t len, wire_msg_t *msg);

#endif /* MESH_CORE_WIRE_H */
