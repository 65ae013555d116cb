/* core/apply.h: taking in other devices' change sets (DESIGN.md, Data model, receive
 * rules (a)(b)(c); docs/PROTOCOL.md §3.4, §5.7, §8).
 * Owns: verifying a set over the bytes as received (signature, Merkle root or proofs,
 * value hashes, seq range), holding back sets from non-members, the fork rule, and
 * applying verified sets and watermarks in one store write transaction per batch.
 * Not here: the byte layouts (core/wire.h), who is a member (core/member.h).
 * Layer: core. Third-party: none. SPDX-License-Identifier: MIT */
#ifndef MESH_CORE_APPLY_H
#define MESH_CORE_APPLY_H

#include <stddef.h>
#include <stdint.h>

#include "core/wire/doc.h"
#include "core/wire/set.h"
#include "meshsync.h"

/* What became of one set. */
enum apply_outcome {
    APPLY_NEW = 0, /* at least one op was stored or counted as superseded */
    APPLY_KNOWN,   /* everything in it was already covered: nothing changed */
    APPLY_HELD,    /* its origin is not (yet) a member: kept aside, not counted */
    APPLY_REJECTED /* it failed verification or the fork rule: nothing of it kept */
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

/* Watermarks that go with a batch for one collection. */
typedef struct apply_marks {
    const char *coll;
    size_t coll_len;
    const wire_mark_t *marks;
    size_t count;
} apply_marks_t;

/* Verify each of sets[0..n) (encoded sets, lens[i] bytes), then apply the verified ones
 * and the watermarks in marks (may be NULL) in one durable write transaction. Sets of
 * non-members are held back; when the batch changes membership, held sets whose origin
 * became a member are applied too (in further transactions). results[i] says what became
 * of set i. A watermark is applied only when no set of its origin in this batch was held
 * or rejected. Re-applying anything changes nothing.
 * MESH_OK even when some sets were rejected (see results). Errors: the store's (the
 * whole batch is then unapplied), MESH_ENOMEM. */
MESH_NODISCARD mesh_err_t apply_batch(mesh_t *m, const uint8_t *const *sets, const size_t *lens,
                                      size_t n, const apply_marks_t *marks,
                                      apply_result_t *results);

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

/* Sets and watermarks that came together (one section of a bundle): a watermark of the
 * group waits when a set of its origin in the same group was held or rejected. */
typedef struct apply_group {
    const uint8_t *const *sets;
    const size_t *lens;
    size_t n;
    const apply_marks_t *marks; /* may be NULL */
    apply_result_t *results;    /* n of them */
    /* May be NULL; else checked[i] (or NULL) is sets[i] verified by apply_check over the
     * same bytes: the apply takes its verification instead of verifying again. Read only,
     * so one check may serve a second apply of the same bytes. */
    apply_checked_t *const *checked;
} apply_group_t;

/* apply_batch for several groups (sections of several bundles, in order) in one durable
 * write transaction: what a receiver does to commit many batches at once. Each group's
 * watermarks apply right after its sets, before the next group's, so the outcome is that of
 * applying the groups one by one. */
MESH_NODISCARD mesh_err_t apply_groups(mesh_t *m, const apply_group_t *groups, size_t ngroups);

#endif /* MESH_CORE_APPLY_H */
