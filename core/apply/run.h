/* core/apply/run.h: key-ordered runs. Consecutive plain new sets of a batch (full, verified,
 * of a user collection, from a member other than this device, right above all the store
 * holds of their origin, with no stored header reaching into them: an initial sync is made
 * of them) are applied together, their ops in key order; the outcome is that of applying
 * them one by one. Owns: which set is plain, and the run's order of writes. core/apply's own.
 * Not here: the rules each op goes through (core/apply/rules.h).
 * Layer: core. Third-party: none. SPDX-License-Identifier: MIT */
#ifndef MESH_CORE_APPLY_RUN_H
#define MESH_CORE_APPLY_RUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/apply/rules.h"
#include "core/apply/verify.h"
#include "meshsync.h"
#include "store/store.h"

typedef struct run run_t; /* opaque: fields live in run.c */

/* A run for a batch of up to max_sets sets. MESH_OK: *out is new (free with run_free).
 * Errors: MESH_ENOMEM (*out is NULL). */
MESH_NODISCARD mesh_err_t run_new(size_t max_sets, run_t **out);

/* Free r; NULL is a no-op. */
void run_free(run_t *r);

/* Forget the sets r holds, unwritten (a write transaction starts again). */
void run_reset(run_t *r);

/* Take v into r when it is plain; *taken says whether it was. A set that is not plain first
 * ends the run (run_flush), so sets keep their order; so does a run about to span too many
 * collections. v stays the caller's and must outlive the run's flush.
 * Errors: the store's, MESH_ENOMEM. */
MESH_NODISCARD mesh_err_t run_add(run_t *r, rules_t *w, store_txn_t *st, verify_set_t *v,
                                  bool *taken);

/* Apply r's sets in st: their ops in key order, through rules_store_or_supersede; then each
 * set's vector, record and the clock, and the collections' stats. r is then empty; each
 * set's result says APPLY_NEW or APPLY_KNOWN. Errors: the store's, MESH_ENOMEM. */
MESH_NODISCARD mesh_err_t run_flush(run_t *r, rules_t *w, store_txn_t *st);

/* The last seq of r's sets of (collection cid, origin oid), or 0 when it holds none: they
 * follow each other right above the vector's base, so all up to it is held once written. */
uint64_t run_end(const run_t *r, uint32_t cid, uint32_t oid);

#endif /* MESH_CORE_APPLY_RUN_H */
