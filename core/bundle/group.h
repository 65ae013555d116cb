/* core/bundle/group.h: the versions of one stored set gathered to go out as one set
 * (docs/PROTOCOL.md §3.4): whole when every op of the set goes and its leaves are held,
 * else only those ops, each with its Merkle proof.
 * Owns: the group's scratch (ops, leaf indices, computed proofs) and the encoding.
 * Not here: which versions go (core/bundle/export.c for a pass, core/bundle/repair.c for
 * the slow path), sections and watermarks (core/wire/doc.h).
 * Layer: core (bundle). Third-party: none. SPDX-License-Identifier: MIT */
#ifndef MESH_CORE_BUNDLE_GROUP_H
#define MESH_CORE_BUNDLE_GROUP_H

#include <stddef.h>
#include <stdint.h>

#include "core/wire/buf.h"
#include "core/wire/set.h"
#include "meshsync.h"
#include "store/store.h"

typedef struct group {
    store_set_t set;   /* the stored set (borrowed from the read txn) */
    uint32_t count;    /* ops in the set, from its header */
    wire_op_t *ops;    /* the versions added (borrowed), proof: a stored one, if any */
    size_t *index;     /* each op's leaf index in the set */
    size_t n, cap;     /* added so far; room */
    wire_buf_t proofs; /* proofs computed from the set's leaves */
    size_t *lens;
} group_t;

void group_init(group_t *g);
void group_release(group_t *g);

/* Start an empty group for the stored set of (cid, oid) holding seq. MESH_ECORRUPT when
 * no stored set holds it (a stored version outside every stored set), or the store's
 * errors. */
MESH_NODISCARD mesh_err_t group_start(group_t *g, store_txn_t *txn, uint32_t cid, uint32_t oid,
                                      uint64_t seq);

/* Does the group's set hold seq? */
static inline bool
group_holds(const group_t *g, uint64_t seq)
{
    return seq >= g->set.first_seq && seq - g->set.first_seq < g->count;
}

/* Add version v, a dot of the group's set, in ascending seq (borrowed until encoded). */
MESH_NODISCARD mesh_err_t group_add(group_t *g, const store_version_t *v);

/* Encode the versions added as one set into out (reset first), and empty the group (its
 * set stays). MESH_ECORRUPT when a stored leaf list cannot prove them, or MESH_ENOMEM. */
MESH_NODISCARD mesh_err_t group_encode(group_t *g, wire_buf_t *out);

#endif /* MESH_CORE_BUNDLE_GROUP_H */
