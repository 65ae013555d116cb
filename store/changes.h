/* store/changes.h: the local change log (docs/PROTOCOL.md §6, §20): a sequence number per
 * change of an item, given in the write transaction that changes it, and only each key's
 * latest kept (by sequence; the item record keeps its key's), a removed item's as a deletion.
 * Not here: what a change says (core/data/feed reads the item), the items themselves (items.h).
 * Layer: store. Third-party: none. SPDX-License-Identifier: MIT */
#ifndef MESH_STORE_CHANGES_H
#define MESH_STORE_CHANGES_H

#include "store.h"

/* Called after a commit of this process that logged a change (any thread that commits). */
typedef void (*store_change_hook_fn)(void *ctx);

/* Set (or clear, fn NULL) the hook; set it before the threads that may commit need it. */
void store_set_change_hook(store_t *st, store_change_hook_fn fn, void *ctx);

/* ---- written by the store itself (items.c, env.c) ---- */

/* The sequence the next store_change_log of txn will give. */
MESH_NODISCARD mesh_err_t store_change_peek(store_txn_t *txn, uint64_t *next);
/* Log a change of the item whose record key (cid ‖ stored key, as items.c makes it) is
 * ikey: the next sequence number into *seq, an entry under it, and the key's earlier entry
 * (old, 0 for none) removed. The item record keeps *seq (items.c). */
MESH_NODISCARD mesh_err_t store_change_log(store_txn_t *txn, const uint8_t *ikey, size_t ilen,
                                           uint64_t old, uint64_t *seq);
/* The item of ikey, whose entry is old, was removed (tombstone collection): its entry stays,
 * marked gone (a deletion to the feed); past S_GONE_MAX gone entries the oldest quarter is
 * pruned and the floor raised to the last pruned. */
MESH_NODISCARD mesh_err_t store_change_drop(store_txn_t *txn, const uint8_t *ikey, size_t ilen,
                                            uint64_t old);
/* Write the log's counter and floor (env.c, before the commit of a transaction that
 * changed them). */
MESH_NODISCARD mesh_err_t store_changes_flush(store_txn_t *txn);
/* A store_write body for the open: a store made before the log gets one entry per item, in
 * key order (store_items_log), once; then the counter exists. ctx unused. */
MESH_NODISCARD mesh_err_t store_changes_init(store_txn_t *txn, void *ctx);
/* Give every item record without its change sequence one (items.c, for store_changes_init). */
MESH_NODISCARD mesh_err_t store_items_log(store_txn_t *txn);

/* ---- read by core ---- */

/* The last sequence given (0: none yet) and the floor: the greatest sequence of a gone
 * entry pruned, so that a cursor below it may have missed a deletion. */
MESH_NODISCARD mesh_err_t store_changes_bounds(store_txn_t *txn, uint64_t *last, uint64_t *floor);
/* Iterate the entries above sequence since, in sequence order. */
MESH_NODISCARD mesh_err_t store_changes_open(store_txn_t *txn, uint64_t since,
                                             store_cursor_t **out);
/* The next entry: its sequence, collection number and stored key (borrowed until the next
 * step; read the item with store_item_get_stored), and whether it is gone (its item was
 * removed; an item of that key written since has a later entry of its own). MESH_ENOTFOUND
 * at the end, MESH_ECORRUPT for a malformed entry. */
MESH_NODISCARD mesh_err_t store_changes_next(store_cursor_t *cur, uint64_t *seq, uint32_t *cid,
                                             const uint8_t **skey, size_t *skey_len, bool *gone);

#endif /* MESH_STORE_CHANGES_H */
