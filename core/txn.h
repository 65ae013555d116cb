/* core/txn.h: local transactions (mesh_txn_begin, mesh_put, mesh_del, mesh_txn_commit,
 * mesh_txn_abort in meshsync.h).
 * Owns: turning a transaction's buffered ops into one signed change set: dots, causal
 * contexts, the HLC, the Merkle root and signature, the vector and digest, in one store
 * transaction. Its whole interface is public, in meshsync.h.
 * Layer: core. Third-party: none. SPDX-License-Identifier: MIT */
#ifndef MESH_CORE_TXN_H
#define MESH_CORE_TXN_H

#include "meshsync.h"

#endif /* MESH_CORE_TXN_H */
