/* core/member/ack.h: acknowledgements, the "ack/<signer ID>" records of "_mesh"
 * (docs/PROTOCOL.md §8.4): each member's signed statement of what it holds, the base of
 * each (collection, origin, incarnation) of its vector, user collections only.
 * Owns: the record's value (a vector file, §3.6, of bases), publishing this device's own
 * when it changed or grew old, reading a member's, and when each member was last heard of.
 * Not here: what the acknowledgements allow (core/apply/collect.h); the record's key check
 * (member_check_op). Layer: core. Third-party: none. SPDX-License-Identifier: MIT */
#ifndef MESH_CORE_ACK_H
#define MESH_CORE_ACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/base/node.h"
#include "core/data/vector.h"
#include "meshsync.h"
#include "store/store.h"

#define ACK_PREFIX "ack/"

/* This device's vector over its user collections (not "_", by name), with each entry cut
 * to its base: what an acknowledgement says. MESH_OK: *out is new (vector_free). Errors
 * (*out NULL): the store's, MESH_ENOMEM. */
MESH_NODISCARD mesh_err_t ack_own_vector(store_txn_t *txn, vector_t **out);

/* Publish this device's acknowledgement when there is none yet, when the last one is older
 * than refresh_ms (so that a member with nothing new is still heard of, §8.4), or, with
 * on_change, when what it says changed; else write nothing. *wrote says whether a record
 * was committed. Errors: the store's, MESH_ETOOBIG (the vector is over MESH_VALUE_MAX:
 * nothing written), MESH_ENOMEM. */
MESH_NODISCARD mesh_err_t ack_publish(mesh_t *m, bool on_change, uint64_t refresh_ms, bool *wrote);

/* Is a new acknowledgement needed: does this device hold a tombstone (in a user collection)
 * above the bases of its last one? Only the dots above both those bases and *scanned (what
 * an earlier call found without one; kept by the caller, vector_free) are read, so each is
 * read once. Errors: the store's, MESH_ENOMEM. */
MESH_NODISCARD mesh_err_t ack_needed(mesh_t *m, vector_t **scanned, bool *needed);

/* The acknowledgement signer published, as this device holds it: *out is new
 * (vector_free). MESH_ENOTFOUND (*out NULL) when there is none; MESH_EPROTO when its value
 * does not decode (treated as none by the caller); the store's. */
MESH_NODISCARD mesh_err_t ack_load(store_txn_t *txn, const uint8_t *signer, vector_t **out);

/* For each of keys[0..n): the time (unix ms, from the HLC) of the newest "_mesh" record it
 * signed or that adds it, into last_ms[i] (0: none). Errors: the store's. */
MESH_NODISCARD mesh_err_t ack_heard(store_txn_t *txn, const uint8_t (*keys)[32], size_t n,
                                    uint64_t *last_ms);

#endif /* MESH_CORE_ACK_H */
