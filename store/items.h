/* store/items.h: the records of a collection's contents: per key the dots of its live
 * versions and tombstones (long keys by hash), each version in full under its dot
 * "(cid, oid, seq)", and change-set headers with their leaf hashes (docs/PROTOCOL.md §6).
 * Not here: the environment and small records (store.h), held sets (held.h).
 * Layer: store. Third-party: none. SPDX-License-Identifier: MIT */
#ifndef MESH_STORE_ITEMS_H
#define MESH_STORE_ITEMS_H

#include "store.h"

/* ---- items ---- */

/* Read the versions of key in cid into *item. MESH_ENOTFOUND when it has none. */
MESH_NODISCARD mesh_err_t store_item_get(store_txn_t *txn, uint32_t cid, const store_key_t *key,
                                         store_item_t *item);
/* Replace the versions of key with versions[0..count); count 0 removes the item. Only the
 * dots (oid, seq) of versions[] are written here: each version's record is written by
 * store_dot_put and removed by store_dot_del. MESH_ETOOBIG past STORE_SIBLINGS_MAX.
 * The versions store_item_get gives borrow the records' memory: a write to the dots
 * database (store_dot_put/del) may move them, so read what is needed from them first. */
MESH_NODISCARD mesh_err_t store_item_put(store_txn_t *txn, uint32_t cid, const store_key_t *key,
                                         const store_version_t *versions, size_t count);
/* Make v (its dot) the one version of key, which has none: MESH_EEXIST, with nothing
 * written, when it has. What a write of a key that is likely new tries first: one search
 * of the key index instead of a store_item_get and a store_item_put. */
MESH_NODISCARD mesh_err_t store_item_add(store_txn_t *txn, uint32_t cid, const store_key_t *key,
                                         const store_version_t *v);

/* Iterate items of cid whose key starts with prefix, in stored key order. */
MESH_NODISCARD mesh_err_t store_items_open(store_txn_t *txn, uint32_t cid, const uint8_t *prefix,
                                           size_t prefix_len, store_cursor_t **out);
/* Next item: MESH_OK, or MESH_ENOTFOUND at the end. */
MESH_NODISCARD mesh_err_t store_items_next(store_cursor_t *cur, store_item_t *item);

/* Iterate the key index of cid raw, in stored key order, reading no version record (the
 * slow path's scan, docs/PROTOCOL.md §13): each step gives the stored key without cid (a
 * long key's first 400 bytes and hash, §6: the same bytes on every device), the number of
 * dots and their refs (count * [oid le32, seq le64], borrowed until the next step).
 * MESH_OK, MESH_ENOTFOUND at the end, MESH_ECORRUPT for a malformed record. */
MESH_NODISCARD mesh_err_t store_refs_open(store_txn_t *txn, uint32_t cid, store_cursor_t **out);
MESH_NODISCARD mesh_err_t store_refs_next(store_cursor_t *cur, const uint8_t **skey,
                                          size_t *skey_len, const uint8_t **refs, size_t *count);
/* The dot of ref i of what store_refs_next gave. */
void store_ref_get(const uint8_t *refs, size_t i, uint32_t *oid, uint64_t *seq);
/* Read the item whose stored key (as store_refs_next gives it) is skey: MESH_ENOTFOUND
 * when there is none. */
MESH_NODISCARD mesh_err_t store_item_get_stored(store_txn_t *txn, uint32_t cid, const uint8_t *skey,
                                                size_t skey_len, store_item_t *item);

/* ---- version records by dot: (cid, oid, seq) -> key and version, in dot order, for
 * reading an item and for "what a vector does not cover" ---- */
/* Write the record of version v (its dot is v->oid, v->seq) of key. MESH_ETOOBIG for a
 * proof over 65,535 bytes. */
MESH_NODISCARD mesh_err_t store_dot_put(store_txn_t *txn, uint32_t cid, const store_key_t *key,
                                        const store_version_t *v);
MESH_NODISCARD mesh_err_t store_dot_del(store_txn_t *txn, uint32_t cid, uint32_t oid, uint64_t seq);
/* Count the dots of (cid, oid) above seq (for tests and status). */
MESH_NODISCARD mesh_err_t store_dot_count_above(store_txn_t *txn, uint32_t cid, uint32_t oid,
                                                uint64_t seq, uint64_t *count);

/* ---- change-set headers ---- */
MESH_NODISCARD mesh_err_t store_set_put(store_txn_t *txn, uint32_t cid, const store_set_t *set);
MESH_NODISCARD mesh_err_t store_set_get(store_txn_t *txn, uint32_t cid, uint32_t oid,
                                        uint64_t first_seq, store_set_t *set);
/* Iterate the sets of cid (by oid, then first seq). */
MESH_NODISCARD mesh_err_t store_sets_open(store_txn_t *txn, uint32_t cid, store_cursor_t **out);
MESH_NODISCARD mesh_err_t store_sets_next(store_cursor_t *cur, store_set_t *set);

/* The set of (cid, oid) whose range holds seq: the one with the greatest first_seq at or
 * below seq (the caller checks that seq < first_seq + count). MESH_ENOTFOUND if none. */
MESH_NODISCARD mesh_err_t store_set_find(store_txn_t *txn, uint32_t cid, uint32_t oid, uint64_t seq,
                                         store_set_t *set);
/* Remove a set record. */
MESH_NODISCARD mesh_err_t store_set_del(store_txn_t *txn, uint32_t cid, uint32_t oid,
                                        uint64_t first_seq);

/* ---- moving a forked set's records to another origin number (docs/PROTOCOL.md §5.7) ---- */
/* Move the version record of (cid, oid, seq) to (cid, new_oid, seq), bytes unchanged. The
 * key index still names the old dot: the caller rewrites it first (store_item_get reads
 * the records its dots name). MESH_ENOTFOUND when there is no such record. */
MESH_NODISCARD mesh_err_t store_dot_move(store_txn_t *txn, uint32_t cid, uint32_t oid, uint64_t seq,
                                         uint32_t new_oid);
/* Move the set record of (cid, oid, first_seq) to (cid, new_oid, first_seq), bytes
 * unchanged. MESH_ENOTFOUND when there is none. */
MESH_NODISCARD mesh_err_t store_set_move(store_txn_t *txn, uint32_t cid, uint32_t oid,
                                         uint64_t first_seq, uint32_t new_oid);

/* Iterate the version records of (cid, oid) from seq upwards: each step gives the seq and,
 * in *item, the key (full bytes) with count 1 and that one version (not the key's others:
 * store_item_get has those). */
MESH_NODISCARD mesh_err_t store_dots_open(store_txn_t *txn, uint32_t cid, uint32_t oid,
                                          uint64_t from_seq, store_cursor_t **out);
MESH_NODISCARD mesh_err_t store_dots_next(store_cursor_t *cur, uint64_t *seq, store_item_t *item);

/* Iterate every version record of collection cid, in dot order (origin by origin, each in
 * seq order: the tree's own order, read in turn), with store_dots_next; the origin of each
 * is item->versions[0].oid. */
MESH_NODISCARD mesh_err_t store_dots_open_coll(store_txn_t *txn, uint32_t cid,
                                               store_cursor_t **out);

#endif /* MESH_STORE_ITEMS_H */
