/* core/vv.h: one version-vector entry in memory: for one (collection, origin,
 * incarnation), the base N below which every dot is held, superseded or rejected, and
 * the extra dots above N (DESIGN.md, Data model; docs/PROTOCOL.md §5.6).
 * Owns: covering, adding dots and ranges, raising to a watermark, loading and saving.
 * Not here: what the dots mean (core/apply.c).
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
/* Save it back. */
MESH_NODISCARD mesh_err_t vv_save(const vv_t *vv, store_txn_t *txn, uint32_t cid, uint32_t oid);

/* Does the entry cover seq? */
bool vv_covers(const vv_t *vv, uint64_t seq);

/* Add one dot (no-op if covered). MESH_OK, MESH_ENOMEM, MESH_ETOOBIG (too many extras). */
MESH_NODISCARD mesh_err_t vv_add(vv_t *vv, uint64_t seq);

/* Raise the base to at least n (a watermark), dropping the extras it covers. */
void vv_raise(vv_t *vv, uint64_t n);

#endif /* MESH_CORE_VV_H */
