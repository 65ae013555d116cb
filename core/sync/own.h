/* core/sync/own.h: our own vector and summary, as the sessions send them.
 * Owns: keeping them fresh (one load from the store per store transaction, not per use),
 * and comparing a peer's summary with ours (own_digests_differ).
 * Not here: the sessions (core/sync/session.h).
 * Layer: core (sync). Third-party: none. SPDX-License-Identifier: MIT */
#ifndef MESH_CORE_SYNC_OWN_H
#define MESH_CORE_SYNC_OWN_H

#include "core/sync/sync.h"
#include "meshsync.h"

/* Bring l->own_vv (our vector, read from the store straight into its decoded form) and
 * l->own_summary up to the store's last transaction; a no-op when they are. The vector
 * file l->own is then NULL until own_file. On error the old ones stay, and own_valid
 * says whether they can be used.
 * Errors: those of vecfile_load, MESH_EIO (no summary). */
MESH_NODISCARD mesh_err_t own_update(loop_t *l);

/* own_update, then encode l->own (l->own_len bytes) from l->own_vv unless it already is:
 * for a HELLO or VECTOR that carries our vector. Errors: own_update's, MESH_ENOMEM. */
MESH_NODISCARD mesh_err_t own_file(loop_t *l);

/* Do s's peer and this device hold vectors that cover each other (the peer's exactly as it
 * last sent it: a view raised by its batches is only a lower bound) while their summaries
 * differ? Then the digests differ where the vectors cannot tell: a repair is due (§13), and
 * the two are not in sync whatever the vectors say. */
bool own_digests_differ(loop_t *l, const session_t *s);

#endif /* MESH_CORE_SYNC_OWN_H */
