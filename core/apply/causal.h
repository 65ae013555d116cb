/* core/apply/causal.h: causal delivery (docs/PROTOCOL.md §5.3): a set is applied only when
 * every dot its ops' causal contexts name is one this device holds, so that no context can
 * claim dots that were never signed and make later versions of their origin obsolete.
 * Owns: the readiness test of one verified set. core/apply's own.
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

/* Does st hold every dot that the contexts of v's ops name? A dot is held when the vector
 * of v's collection covers it, when the run r (may be NULL) is about to write it, or when it
 * lies in v's own signed range. *ready says so; when it is false, *missing is the first dot
 * not held. w->vv is used as scratch. Errors: the store's. */
MESH_NODISCARD mesh_err_t causal_ready(rules_t *w, store_txn_t *st, const verify_set_t *v,
                                       const run_t *r, bool *ready, wire_dot_t *missing);

#endif /* MESH_CORE_APPLY_CAUSAL_H */
