/* core/data/version.h: the rules about versions of one key (DESIGN.md, Data model).
 * Owns: causal contexts (join, covers), the deterministic winner among siblings, and each
 * version's contribution to its collection's digest.
 * Not here: encoding (core/wire/set.h), persistence (store/store.h).
 * Layer: core. Third-party: none. SPDX-License-Identifier: MIT */
#ifndef MESH_CORE_VERSION_H
#define MESH_CORE_VERSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/wire/set.h"
#include "meshsync.h"
#include "store/store.h"

/* A causal context: per (origin, incarnation) the highest seq covered, sorted by
 * (origin, incarnation), as wire_opmeta_encode wants it. */
typedef struct version_ctx {
    wire_dot_t *dots;
    size_t count;
    size_t cap;
} version_ctx_t;

void version_ctx_init(version_ctx_t *ctx);
void version_ctx_release(version_ctx_t *ctx);
void version_ctx_reset(version_ctx_t *ctx);

/* Join one dot into ctx (keeping the higher seq). MESH_OK, MESH_ENOMEM, or MESH_ETOOBIG
 * past WIRE_CTX_MAX origins. */
MESH_NODISCARD mesh_err_t version_ctx_add(version_ctx_t *ctx, const wire_dot_t *dot);

/* Join the context of stored version v into ctx (what v superseded), and *dot receives v's
 * own dot, not joined (the caller joins it when it supersedes v too). Errors: MESH_ECORRUPT
 * (a stored op that does not decode), store errors, as version_ctx_add. */
MESH_NODISCARD mesh_err_t version_ctx_join_context(store_txn_t *txn, const store_version_t *v,
                                                   version_ctx_t *ctx, wire_dot_t *dot);

/* Join the context and the dot of every version of item into ctx: the context of a write
 * that replaces them all. Errors: MESH_ECORRUPT (a stored op that does not decode),
 * store errors, as version_ctx_add. */
MESH_NODISCARD mesh_err_t version_ctx_join_item(store_txn_t *txn, const store_item_t *item,
                                                version_ctx_t *ctx);

/* True when ctx covers dot (same origin and incarnation, seq at or below). */
bool version_ctx_covers(const version_ctx_t *ctx, const wire_dot_t *dot);

/* Index of the winner among item's versions: highest HLC, then device ID, incarnation,
 * seq (docs/PROTOCOL.md §5). Errors: store errors reading the origins. */
MESH_NODISCARD mesh_err_t version_winner(store_txn_t *txn, const store_item_t *item,
                                         size_t *winner);

/* Add (or with subtract, take away) one version's hash to a digest: four 64-bit
 * little-endian lanes, each summed mod 2^64, so the order of adds never matters. */
void version_digest_apply(uint8_t *digest, const uint8_t *origin, uint64_t incarnation,
                          const uint8_t *meta, size_t meta_len, bool subtract);

/* The hash one version adds to a digest (version_digest_apply's, made ahead: pure CPU, any
 * thread), and adding (or taking away) such a hash. It is the version's Merkle leaf (§4)
 * plus, lane by lane, its origin's base (version_digest_base: one per origin and
 * incarnation), so that a set's check, which hashed every leaf already, makes its ops'
 * shares with version_digest_of_leaf and no hash more (docs/PROTOCOL.md §5.8). */
void version_digest_hash(const uint8_t *origin, uint64_t incarnation, const uint8_t *meta,
                         size_t meta_len, uint8_t *out);
void version_digest_base(const uint8_t *origin, uint64_t incarnation, uint8_t *out);
void version_digest_of_leaf(const uint8_t *base, const uint8_t *leaf, uint8_t *out);
void version_digest_add(uint8_t *digest, const uint8_t *h, bool subtract);

/* Make collection cid's digest again from its version records (every live version and
 * tombstone has one, docs/PROTOCOL.md §6) into digest: what a store of format 3, whose
 * digests were of the definition before §5.8's, needs once. Errors: the store's. */
MESH_NODISCARD mesh_err_t version_digest_recount(store_txn_t *txn, uint32_t cid, uint8_t *digest);

#endif /* MESH_CORE_VERSION_H */
