/* core/apply/causal.h: causal delivery (docs/PROTOCOL.md §5.3): a set is applied only when
 * every dot its ops' causal contexts name is one this device holds, so that no context can
 * claim dots that were never signed and make later versions of their origin obsolete.
 * Owns: the readiness test of one verified set. core/apply's own.
 * Owns also: the "signed up to" records a waiting set leaves (store/signed.h) and their cap.
 * Not here: what a waiting set becomes (core/apply/apply.c retries it at the end of its
 * batch; a sender sends it again in a later pass), the rules (core/apply/rules.h).
 * Layer: core. Third-party: none. SPDX-License-Identifier: MIT */
#ifndef MESH_CORE_APPLY_CAUSAL_H
#define MESH_CORE_APPLY_CAUSAL_H

#include <stdbool.h>

#include "core/apply/rules.h"
#include "core/apply/run.h"
#include "core/apply/verify.h"
#include "core/wire/set.h"
#include "meshsync.h"
#include "store/store.h"

/* *end: the last seq of the latest signed header of (collection cid, origin number oid)
 * this device holds: a stored set's, or one of the run r's (may be NULL) about to be
 * written; 0 when none. What this device can show that origin signed (its seqs follow each
 * other), so what a context or a watermark may name of it. Errors: the store's,
 * MESH_ECORRUPT (a stored header does not decode). */
MESH_NODISCARD mesh_err_t causal_signed_end(store_txn_t *st, const run_t *r, uint32_t cid,
                                            uint32_t oid, uint64_t *end);

/* The headers of one batch's sets that verified (their origin's signature holds), whether
 * each set is then applied, waits or is held back: what each (collection, origin,
 * incarnation) signed up to, sorted for lookup. */
typedef struct causal_batch {
    struct causal_proof *proofs;
    size_t n;
} causal_batch_t;

/* Fill bt from vs[0..n) once verify_all has run (a set it rejected counts for nothing).
 * Errors: MESH_ENOMEM (bt is then empty, and causal_batch_release still safe). */
MESH_NODISCARD mesh_err_t causal_batch_init(causal_batch_t *bt, const verify_set_t *vs, size_t n);

/* Free what bt holds; a zeroed bt is a no-op. */
void causal_batch_release(causal_batch_t *bt);

/* Does st hold every dot that the contexts of v's ops name? A dot of v's own origin and
 * incarnation always is; another's when the vector of v's collection covers it, or when a
 * header of its origin reaches it: one held here (causal_signed_end), or one of a set of the
 * batch bt (may be NULL) not rejected, applied or not (its origin signed the dot: that is all
 * §5.3 asks, and sets naming each other's dots, whose only headers they are, apply together),
 * or the "signed up to" record a set of its origin that waited here left (causal_note_waiting:
 * so those sets apply together across batches too). *ready says so; when it is false, *missing is
 * the first dot not held. w->vv is used as scratch. Errors: the store's. */
MESH_NODISCARD mesh_err_t causal_ready(rules_t *w, store_txn_t *st, const verify_set_t *v,
                                       const run_t *r, const causal_batch_t *bt, bool *ready,
                                       wire_dot_t *missing);

/* Records of one (collection, origin device) kept, one per incarnation: a member that signs
 * waiting sets under made-up incarnations fills its own share, no one else's. */
#define CAUSAL_SIGNED_INCS_MAX 8u

/* v, a verified set of a member in collection cid, waits: raise the "signed up to" record of
 * its origin and incarnation there to the end of its header, so that a set of a later batch
 * naming those dots no longer waits for v's own set (two sets, each naming a dot only the
 * other's header reaches, that came in separate batches). A record for a new incarnation is
 * made only while (cid, origin) has fewer than CAUSAL_SIGNED_INCS_MAX, after dropping those
 * the stored headers have overtaken; else none is (v waits as it would without it).
 * Errors: the store's. */
MESH_NODISCARD mesh_err_t causal_note_waiting(store_txn_t *st, uint32_t cid, const verify_set_t *v);

#endif /* MESH_CORE_APPLY_CAUSAL_H */
