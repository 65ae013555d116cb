/* core/data/recon.h: the slow path's engine (docs/PROTOCOL.md §13): range-based set
 * reconciliation over a collection's items in key order, so that two devices find exactly
 * the items where they differ at a cost that grows with the difference, not the store.
 * Owns: a collection's snapshot for a repair (each item's stored key and hash, prefix sums
 * of the fingerprints: one store scan), and the answer to each range list. Pure but for
 * recon_set_load: no handle, no session, no network.
 * Not here: the range list's bytes (core/wire/range.h), sending and applying the versions
 * found (core/bundle/repair.h), when a repair runs (core/sync/session.c).
 * Layer: core/data. Third-party: none. SPDX-License-Identifier: MIT */
#ifndef MESH_CORE_DATA_RECON_H
#define MESH_CORE_DATA_RECON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/wire/buf.h"
#include "meshsync.h"
#include "store/store.h"

#define RECON_BRANCH     8u    /* parts a differing range is split into (§13) */
#define RECON_LEAF       16u   /* a differing range of at most this many items: its ids */
#define RECON_ROUNDS_MAX 1024u /* range lists one side answers in one repair (§12) */
#define RECON_HASH_LEN   16u   /* an item's hash: fingerprint share (8), then its id (8) */
#define RECON_KEY_LEN    16u   /* the random key of one repair's item hashes */

/* A snapshot of one side's items, ascending by stored key (opaque). */
typedef struct recon_set recon_set_t;

/* An empty snapshot. MESH_OK: *out is new (free with recon_set_free); MESH_ENOMEM. */
MESH_NODISCARD mesh_err_t recon_set_new(recon_set_t **out);

/* Free s; NULL is a no-op. */
void recon_set_free(recon_set_t *s);

/* Append an item (its key, 1..WIRE_RANGE_BOUND_MAX bytes, above the last one added, and
 * its RECON_HASH_LEN-byte hash). MESH_OK, MESH_EINVAL (out of order or length), MESH_ENOMEM. */
MESH_NODISCARD mesh_err_t recon_set_add(recon_set_t *s, const uint8_t *key, size_t key_len,
                                        const uint8_t *hash);

/* Items in s. */
size_t recon_set_count(const recon_set_t *s);

/* The stored key of item i (borrowed from s). */
void recon_set_key(const recon_set_t *s, size_t i, const uint8_t **key, size_t *key_len);

/* The hash of one item under a repair's key (RECON_KEY_LEN bytes), as both sides compute
 * it: SipHash-128(key; 0x07 || stored key length (le16) || stored key || its dots as (origin
 * 32, incarnation le64, seq le64), ascending). dots holds count * 48 bytes in that form, in
 * any order (sorted here, in place); scratch holds RECON_SCRATCH_LEN bytes. */
#define RECON_SCRATCH_LEN (3u + 432u + 256u * 48u)
void recon_item_hash(const uint8_t *key, const uint8_t *skey, size_t skey_len, uint8_t *dots,
                     size_t count, uint8_t *scratch, uint8_t *hash);

/* Snapshot the items of collection cid in txn under a repair's key: one scan of the key
 * index, no version record read. MESH_OK: *out is new. Errors: the store's, MESH_ENOMEM
 * (*out NULL). */
MESH_NODISCARD mesh_err_t recon_set_load(store_txn_t *txn, uint32_t cid, const uint8_t *key,
                                         recon_set_t **out);

/* One side of one repair over a snapshot (opaque). */
typedef struct recon recon_t;

/* A repair over set (borrowed: it must outlive the repair). MESH_OK: *out is new (free
 * with recon_free); MESH_ENOMEM. */
MESH_NODISCARD mesh_err_t recon_new(const recon_set_t *set, recon_t **out);

/* Free r; NULL is a no-op. */
void recon_free(recon_t *r);

/* The initiator's first range list, appended to out: the key space cut into
 * RECON_BRANCH fingerprinted ranges (or its ids, for a small snapshot). MESH_OK,
 * MESH_ENOMEM. */
MESH_NODISCARD mesh_err_t recon_start(recon_t *r, wire_buf_t *out);

/* Answer the peer's range list (len bytes at in), appending the answer to out: equal
 * ranges are settled, small differing ones answered with ids, large ones split; the items
 * the peer lacks or holds otherwise are marked to send. *send says whether out is to be
 * sent (the peer asked something); after a list that asks nothing, or once this side's
 * answer asks nothing, recon_done is true. On error out is cut back and r is not to be
 * used again. MESH_OK, MESH_EPROTO / MESH_ETOOBIG (the list is malformed or passes a cap:
 * wire/range.h; or more than RECON_ROUNDS_MAX lists), MESH_ENOMEM. */
MESH_NODISCARD mesh_err_t recon_answer(recon_t *r, const uint8_t *in, size_t len, wire_buf_t *out,
                                       bool *send);

/* Is the reconciliation over on this side? */
bool recon_done(const recon_t *r);

/* Items to send to the peer, so far. */
size_t recon_send_count(const recon_t *r);

/* Is item i (of the snapshot) to be sent to the peer? */
bool recon_sends(const recon_t *r, size_t i);

/* Range lists answered so far. */
unsigned recon_rounds(const recon_t *r);

#endif /* MESH_CORE_DATA_RECON_H */
