/* core/apply/verify.h: verifying a change set over its bytes as received (DESIGN.md, Data
 * model; docs/PROTOCOL.md §3.4): decoding, signature, Merkle root or proofs, value hashes,
 * seq range, and a membership record's signer; a large batch's sets on two threads.
 * Owns: apply_check (verify ahead, on any thread) and the result of one set (apply_result_t),
 * whose first fields verification fills. verify_set_t, verify_all and the rest below the
 * public part are core/apply's own. Pure: no store, no node handle, no lock.
 * Not here: what a verified set does to the store (core/apply/rules.h, core/apply/apply.h).
 * Layer: core. Third-party: none. SPDX-License-Identifier: MIT */
#ifndef MESH_CORE_APPLY_VERIFY_H
#define MESH_CORE_APPLY_VERIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/wire/set.h"
#include "crypto/hash.h"
#include "meshsync.h"

/* What became of one set. */
enum apply_outcome {
    APPLY_NEW = 0,  /* at least one op was stored or counted as superseded */
    APPLY_KNOWN,    /* everything in it was already covered: nothing changed */
    APPLY_HELD,     /* its origin is not (yet) a member: kept aside, not counted */
    APPLY_REJECTED, /* it failed verification or the fork rule: nothing of it kept */
    APPLY_WAITING   /* its context names a dot not held here yet: not applied, not counted
                       (a later pass brings it again, §5.3) */
};

typedef struct apply_result {
    enum apply_outcome outcome;
    mesh_err_t err; /* why it was rejected (MESH_OK otherwise) */
    char why[160];  /* one line for a person */
    uint8_t origin[WIRE_ORIGIN_LEN];
    uint64_t first_seq; /* from the header (0 if it did not decode) */
    uint32_t count;
    uint32_t ops_stored;     /* versions stored */
    uint32_t ops_superseded; /* ops a local version's context covers: their dots counted */
    uint32_t ops_old;        /* ops the vector already covered: nothing changed */
} apply_result_t;

/* A set verified ahead of its apply (opaque). */
typedef struct apply_checked apply_checked_t;

/* Verify one encoded set (len bytes at set) as apply_batch would, touching no store and no
 * node: pure CPU, safe on any thread, so that a receiver can verify the next batches while
 * it commits earlier ones. The bytes are borrowed and must stay unchanged until the result
 * is freed. MESH_OK: *out is new (free with apply_checked_free) even when the set failed
 * verification: the apply that takes it then rejects the set with that reason.
 * Errors: MESH_EINVAL, MESH_ENOMEM (*out is NULL). */
MESH_NODISCARD mesh_err_t apply_check(const uint8_t *set, size_t len, apply_checked_t **out);

/* Free c; NULL is a no-op. */
void apply_checked_free(apply_checked_t *c);

/* ---- core/apply's own ---- */

/* One set of a batch: its bytes, and once verified, its decoding and what the write needs. */
typedef struct verify_set {
    const uint8_t *bytes; /* borrowed: the caller's, or a held set's copy */
    size_t len;
    wire_set_t set;
    wire_header_t h;
    char coll[MESH_COLL_MAX + 1];
    wire_opmeta_t *ops;           /* one per op in the set as carried */
    uint8_t (*leaves)[HASH_LEN];  /* one per op in the set as carried */
    uint8_t (*digests)[HASH_LEN]; /* per op, what its version adds to the collection's digest
                                    (version_digest_hash), made ahead by apply_check; or NULL */
    apply_result_t *res;          /* where verification and the apply say what became of it */
    bool borrowed;                /* verified ahead (apply_check): its decoding belongs to that */
    /* The batch's, untouched by verification: */
    const uint8_t *held_id; /* set when it came from the held-back list */
    size_t group;           /* the group it came in */
} verify_set_t;

/* Mark r rejected with err and a reason (printf-style, cut to fit r->why). */
void verify_reject(apply_result_t *r, mesh_err_t err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Verify each of vs[0..n) not borrowed (bytes and len set, res pointing to its result):
 * the outcome lands in its result, which is cleared first (APPLY_NEW, or APPLY_REJECTED with
 * the reason). With several large sets a second thread takes every other one. */
void verify_all(verify_set_t *vs, size_t n);

/* Take c as v, the set of bytes (len) whose outcome goes to *res, when c was checked over
 * exactly those bytes: v borrows c's decoding and c's verdict is copied to *res. False when
 * c is NULL or of other bytes; v and *res are then unchanged. c must outlive v. */
bool verify_borrow(verify_set_t *v, const apply_checked_t *c, const uint8_t *bytes, size_t len,
                   apply_result_t *res);

/* Free what verification allocated for v (nothing when borrowed); v's fields are left. */
void verify_set_release(verify_set_t *v);

#endif /* MESH_CORE_APPLY_VERIFY_H */
