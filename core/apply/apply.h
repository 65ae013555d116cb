/* core/apply/apply.h: taking in other devices' change sets (DESIGN.md, Data model, receive
 * rules (a)(b)(c); docs/PROTOCOL.md §3.4, §5.7, §8): the entry of core/apply.
 * Owns: a batch (groups of sets and their watermarks) verified, then applied in one durable
 * store write transaction; the watermarks; the retry of held-back sets once their origin
 * becomes a member. Verification and apply_check are core/apply/verify.h's, included here.
 * Not here: one set's rules (core/apply/rules.h), runs (run.h), the held-back list (held.h),
 * the byte layouts (core/wire/), who is a member (core/member/member.h).
 * Layer: core. Third-party: none. SPDX-License-Identifier: MIT */
#ifndef MESH_CORE_APPLY_H
#define MESH_CORE_APPLY_H

#include <stddef.h>
#include <stdint.h>

#include "core/apply/verify.h" /* apply_result_t, apply_check, apply_checked_t */
#include "core/wire/doc.h"
#include "meshsync.h"

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

/* apply_batch for the versions a repair brings (the slow path, §13): the same rules, the
 * fork rule and causal delivery included, but for rule (a): a dot the vector covers is not
 * taken as held, since a repair brings exactly what the vector covers and the store lacks.
 * No watermark. Errors: as apply_batch's. */
MESH_NODISCARD mesh_err_t apply_repair(mesh_t *m, const uint8_t *const *sets, const size_t *lens,
                                       size_t n, apply_result_t *results);

/* Apply the held-back sets whose origin is now a member (after a membership change made
 * outside a batch: mesh_peer_add reaches it through mesh_t.held_retry), as one batch, each
 * logged with what became of it. Errors: the store's (those sets stay held), MESH_ENOMEM. */
MESH_NODISCARD mesh_err_t apply_held_retry(mesh_t *m);

#endif /* MESH_CORE_APPLY_H */
