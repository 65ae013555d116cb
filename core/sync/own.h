/* core/sync/own.h: our own vector file and summary, as the sessions send them.
 * Owns: keeping them fresh (one mesh_vector per store transaction, not per use).
 * Not here: the sessions (core/sync/session.h).
 * Layer: core (sync). Third-party: none. SPDX-License-Identifier: MIT */
#ifndef MESH_CORE_SYNC_OWN_H
#define MESH_CORE_SYNC_OWN_H

#include "core/sync/sync.h"
#include "meshsync.h"

/* Bring l->own (our vector file), l->own_doc (it decoded) and l->own_summary up to the
 * store's last transaction; a no-op when they are. On error the old ones stay, and
 * own_valid says whether they can be used.
 * Errors: those of mesh_vector and wire_doc_decode, MESH_EIO (no summary). */
MESH_NODISCARD mesh_err_t own_update(loop_t *l);

#endif /* MESH_CORE_SYNC_OWN_H */
