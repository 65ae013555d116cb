/* core/wire/set.h: the encoding of change sets (docs/PROTOCOL.md §3.1-§3.4): the signed
 * header, each op's metadata (a Merkle leaf) with its causal context, whole and partial sets.
 * Owns: every byte of a set that is signed, stored or sent, and its strict decoder.
 * Not here: signing and hashing (crypto/), persistence (store/), bundles (core/wire/doc.h).
 * Layer: core/wire. Third-party: none here (set.c uses msgpack.h). SPDX-License-Identifier: MIT */
#ifndef MESH_CORE_WIRE_SET_H
#define MESH_CORE_WIRE_SET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/wire/buf.h"
#include "meshsync.h" /* mesh_err_t, limits */

#define WIRE_SET_TAG       "meshsync/set/1" /* domain tag, first field of a signed header */
#define WIRE_SET_MAX       (32u << 20)      /* bytes in one encoded set, hard cap */
#define WIRE_HEADER_MAX    4096u            /* bytes in one signed set header */
#define WIRE_OPS_MAX       MESH_TXN_OPS_MAX /* ops in one set */
#define WIRE_CTX_MAX       1024u            /* entries in one op's causal context */
#define WIRE_PROOF_MAX     32u              /* hashes in one proof */
#define WIRE_ORIGIN_LEN    32u
#define WIRE_HASH_LEN      32u
#define WIRE_SIG_LEN       64u
#define WIRE_CTX_ENTRY_LEN 53u /* one encoded context entry: fixed width, §3.3 */
/* Bytes of the smallest encoded set that can be valid (a header of ≥ 90 bytes, a 64-byte
 * signature, one op): a bundle or batch holds at most its length / this many sets, so the
 * check state each set costs (under 1 KiB) stays a few times the bytes received. */
#define WIRE_SET_MIN       160u

enum wire_kind { WIRE_PUT = 0, WIRE_DEL = 1 };

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

#endif /* MESH_CORE_WIRE_SET_H */
