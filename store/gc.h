/* store/gc.h: the records tombstone collection keeps (docs/PROTOCOL.md §6, §8.4): per
 * collection and (origin, incarnation) the floor of collected dots, and the queue of keys
 * to delete anew (a repair refused a collected version; the sender is to drop it).
 * Not here: when a tombstone is collected, or what a floor means (core/apply/collect.h).
 * Layer: store. Third-party: none. SPDX-License-Identifier: MIT */
#ifndef MESH_STORE_GC_H
#define MESH_STORE_GC_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

#define STORE_GC_ORIGIN_LEN 32u

/* The floor of (cid, origin, incarnation): 0 when none is recorded. Errors: the store's,
 * MESH_ECORRUPT. */
MESH_NODISCARD mesh_err_t store_gc_floor_get(store_txn_t *txn, uint32_t cid, const uint8_t *origin,
                                             uint64_t incarnation, uint64_t *seq);
/* Raise the floor of (cid, origin, incarnation) to seq (never lowers it). */
MESH_NODISCARD mesh_err_t store_gc_floor_raise(store_txn_t *txn, uint32_t cid,
                                               const uint8_t *origin, uint64_t incarnation,
                                               uint64_t seq);

/* One queued delete: key of collection coll is to be deleted anew, covering the dot
 * (origin, incarnation, seq). Pointers borrow LMDB memory until the next write. */
typedef struct store_gc_redo {
    const char *coll; /* not NUL-terminated: coll_len bytes */
    size_t coll_len;
    const uint8_t *key;
    size_t key_len;
    uint8_t origin[STORE_GC_ORIGIN_LEN];
    uint64_t incarnation, seq;
} store_gc_redo_t;

/* Queue r (its dot names it: queuing it twice keeps one). MESH_EINVAL for a collection
 * name over 255 bytes. */
MESH_NODISCARD mesh_err_t store_gc_redo_put(store_txn_t *txn, const store_gc_redo_t *r);
/* The first queued delete: MESH_OK, or MESH_ENOTFOUND when none is queued. */
MESH_NODISCARD mesh_err_t store_gc_redo_first(store_txn_t *txn, store_gc_redo_t *r);
/* Take r off the queue. */
MESH_NODISCARD mesh_err_t store_gc_redo_del(store_txn_t *txn, const store_gc_redo_t *r);

#endif /* MESH_STORE_GC_H */
