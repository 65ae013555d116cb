/* core/data/txn.h: local transactions (mesh_txn_begin, mesh_put, mesh_del, mesh_txn_commit,
 * mesh_txn_abort in meshsync.h).
 * Owns: turning a transaction's buffered ops into one signed change set: dots, causal
 * contexts, the HLC, the Merkle root and signature, the vector and digest, in one store
 * transaction. Its interface is public (meshsync.h), but for system collections.
 * Layer: core. Third-party: none. SPDX-License-Identifier: MIT */
#ifndef MESH_CORE_TXN_H
#define MESH_CORE_TXN_H

#include "meshsync.h"

/* Begin a transaction on a system collection (a name starting with '_'), which
 * mesh_txn_begin refuses. Same contract as mesh_txn_begin. */
MESH_NODISCARD mesh_err_t txn_begin_system(mesh_t *m, const char *coll, mesh_txn_t **out);

#endif /* MESH_CORE_TXN_H */
