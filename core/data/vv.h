/* core/data/vv.h: one version-vector entry in memory: for one (collection, origin,
 * incarnation), the base N below which every dot is held, superseded or rejected, and
 * the extra dots above N (DESIGN.md, Data model; docs/PROTOCOL.md §5.6).
 * Owns: every rule on one entry: covering a dot, adding dots, raising to a watermark,
 * whether one entry covers another and how many dots one lacks of another; loading and
 * saving an entry. Not here: whole vectors of many entries (core/data/vector.h), what the
 * dots mean (core/apply/apply.h).
 * Layer: core. Third-party: none. SPDX-License-Identifier: MIT */
#ifndef MESH_CORE_VV_H
#define MESH_CORE_VV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "meshsync.h"
#include "store/store.h"

typedef struct vv {
    uint64_t base;
    uint64_t *extra; /* ascending, all > base + 1 */
    size_t count;
    size_t cap;
} vv_t;

void vv_init(vv_t *vv);
void vv_release(vv_t *vv);

/* Load the entry of (cid, oid) from the store (empty when absent). */
MESH_NODISCARD mesh_err_t vv_load(vv_t *vv, store_txn_t *txn, uint32_t cid, uint32_t oid);
/* Set vv to the stored record rec (read from a store cursor). MESH_OK, MESH_ENOMEM (vv is
 * then empty). */
MESH_NODISCARD mesh_err_t vv_load_record(vv_t *vv, const store_vv_t *rec);
/* Save it back. */
MESH_NODISCARD mesh_err_t vv_save(const vv_t *vv, store_txn_t *txn, uint32_t cid, uint32_t oid);

/* Does the entry cover seq? */
bool vv_covers(const vv_t *vv, uint64_t seq);

/* Add one dot (no-op if covered). MESH_OK, MESH_ENOMEM, MESH_ETOOBIG (too many extras). */
MESH_NODISCARD mesh_err_t vv_add(vv_t *vv, uint64_t seq);

/* Raise the base to at least n (a watermark), dropping the extras it covers. */
void vv_raise(vv_t *vv, uint64_t n);

/* Set *dst to a copy of src (dst initialised; its old extras are reused or freed).
 * MESH_OK, MESH_ENOMEM (dst unchanged). */
MESH_NODISCARD mesh_err_t vv_copy(vv_t *dst, const vv_t *src);

/* Are a and b the same entry (base and extras)? */
bool vv_equal(const vv_t *a, const vv_t *b);

/* Does ours (NULL: empty) cover every dot theirs does? Every dot up to theirs' base must lie
 * at or below ours' base (ours' extras are not counted for them), and each extra of theirs
 * be covered by ours. */
bool vv_covers_all(const vv_t *ours, const vv_t *theirs);

/* How many dots theirs covers that ours (NULL: empty) does not. */
uint64_t vv_lacking(const vv_t *theirs, const vv_t *ours);

#endif /* MESH_CORE_VV_H */
