/* core/data/txn.h: local transactions (mesh_txn_begin, mesh_put, mesh_del, mesh_txn_commit,
 * mesh_txn_abort in meshsync.h).
 * Owns: turning a transaction's buffered ops into one signed change set: dots, causal
 * contexts, the HLC, the Merkle root and signature, the vector and digest, in one store
 * transaction. Its interface is public (meshsync.h), but for system collections.
 * Layer: core. Third-party: none. SPDX-License-Identifier: MIT */
#ifndef MESH_CORE_TXN_H
#define MESH_CORE_TXN_H

#include "core/wire/set.h"
#include "meshsync.h"

/* Begin a transaction on a system collection (a name starting with '_'), which
 * mesh_txn_begin refuses. Same contract as mesh_txn_begin. */
MESH_NODISCARD mesh_err_t txn_begin_system(mesh_t *m, const char *coll, mesh_txn_t **out);

/* Make the last op buffered in txn cover dot as well: its causal context, joined at commit
 * from the key's local versions, takes dot in too (tombstone collection deletes anew a value
 * a repair offered that was collected here, core/apply/collect.h). MESH_EINVAL when txn has
 * no op. */
MESH_NODISCARD mesh_err_t txn_cover(mesh_txn_t *txn, const wire_dot_t *dot);

/* Make the last op buffered in txn supersede only the versions of its key named in
 * dots[0..n) (those it was made from), not all the key holds at commit: any other version
 * (one that came meanwhile) stays beside it as a sibling, a conflict every device sees
 * alike (its context takes in what those superseded). A folder's scan writes a file's local
 * change so (core/folder/index.c). MESH_EINVAL when txn has no op, or n is over
 * STORE_SIBLINGS_MAX. */
MESH_NODISCARD mesh_err_t txn_base(mesh_txn_t *txn, const wire_dot_t *dots, size_t n);

#endif /* MESH_CORE_TXN_H */
