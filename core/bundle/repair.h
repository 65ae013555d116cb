/* core/bundle/repair.h: the versions of the slow path (docs/PROTOCOL.md §13): the items a
 * reconciliation found the peer lacks, read with their signed headers into a bundle of one
 * section (partial sets with Merkle proofs, whole sets when every op goes), and such a
 * bundle applied by the receive rules without rule (a): a version this device's vector
 * covers but which it does not hold is exactly what a repair brings.
 * Not here: finding the items (core/data/recon.h), the messages (core/sync/repair.c).
 * Layer: core (bundle). Third-party: none. SPDX-License-Identifier: MIT */
#ifndef MESH_CORE_BUNDLE_REPAIR_H
#define MESH_CORE_BUNDLE_REPAIR_H

#include <stddef.h>
#include <stdint.h>

#include "core/base/node.h"
#include "core/data/recon.h"
#include "core/wire/buf.h"
#include "meshsync.h"

/* Write to out a bundle (§3.5) of one section, coll, without watermarks, holding every
 * version of the items of set that r marks to send, from item *next on, until about limit
 * bytes of sets are written (one item at least); *next moves past them and *items counts
 * them. MESH_OK (*next == recon_set_count(set) when all went). Errors: the store's,
 * MESH_ECORRUPT (a version outside every stored set), MESH_ENOMEM; out is then as before. */
MESH_NODISCARD mesh_err_t repair_export(mesh_t *m, const char *coll, const recon_set_t *set,
                                        const recon_t *r, size_t *next, size_t limit,
                                        wire_buf_t *out, size_t *items);

/* Apply a bundle that repair_export made (len bytes at bundle) to collection coll in one
 * durable write transaction: each set verified (a set that fails, of a non-member, of
 * another collection, or whose header overlaps another stored header of its origin is left
 * out, logged), then each op by rules (b) and (c), its dot added to the vector when not yet
 * covered, the set's record stored when new. *stored counts the versions stored.
 * MESH_OK, MESH_EPROTO (not one section of coll without watermarks), the store's errors
 * (nothing is applied), MESH_ENOMEM. */
MESH_NODISCARD mesh_err_t repair_apply(mesh_t *m, const char *coll, const uint8_t *bundle,
                                       size_t len, size_t *stored);

#endif /* MESH_CORE_BUNDLE_REPAIR_H */
