/* core/bundle/group.c: the versions of one stored set encoded as one set, whole or partial
 * with proofs (docs/PROTOCOL.md §3.4). Export (a pass) and repair (the slow path) gather
 * versions differently and encode them here alike.
 * Layer: core (bundle). Third-party: none. SPDX-License-Identifier: MIT */
#include "core/bundle/group.h"

#include <stdlib.h>
#include <string.h>

#include "core/apply/rules.h"
#include "crypto/hash.h"

void
group_init(group_t *g)
{
    memset(g, 0, sizeof *g);
    wire_buf_init(&g->proofs);
}

void
group_release(group_t *g)
{
    free(g->ops);
    free(g->index);
    free(g->lens);
    wire_buf_release(&g->proofs);
    group_init(g);
}

mesh_err_t
group_start(group_t *g, store_txn_t *txn, uint32_t cid, uint32_t oid, uint64_t seq)
{
    wire_header_t h;
    g->n = 0;
    g->count = 0;
    mesh_err_t err = rules_header_at(txn, cid, oid, seq, &g->set, &h);
    if (err == MESH_ENOTFOUND || (err == MESH_OK && seq - g->set.first_seq >= h.count)) {
        return MESH_ECORRUPT; /* a stored version outside every stored set */
    }
    g->count = err == MESH_OK ? h.count : 0;
    return err;
}

mesh_err_t
group_add(group_t *g, const store_version_t *v)
{
    if (g->n == g->cap) {
        size_t cap = g->cap ? g->cap * 2 : 64;
        wire_op_t *ops = realloc(g->ops, cap * sizeof *ops);
        size_t *index = ops ? realloc(g->index, cap * sizeof *index) : NULL;
        g->ops = ops ? ops : g->ops;
        g->index = index ? index : g->index;
        if (!index) {
            return MESH_ENOMEM;
        }
        g->cap = cap;
    }
    wire_op_t *op = &g->ops[g->n];
    g->index[g->n++] = v->seq - g->set.first_seq;
    memset(op, 0, sizeof *op);
    op->meta = v->meta;
    op->meta_len = v->meta_len;
    op->value = v->kind == WIRE_PUT ? v->value : NULL;
    op->value_len = v->kind == WIRE_PUT ? v->value_len : 0;
    op->proof = v->proof;
    op->proof_count = v->proof_len / HASH_LEN;
    return MESH_OK;
}

/* Give every op its proof: from the set's leaves in one pass when this store holds them,
 * else the proof stored with the version (it arrived partial) stays. */
static mesh_err_t
s_proofs(group_t *g)
{
    if (g->set.count != g->count) {
        return MESH_OK; /* stored proofs are already in place */
    }
    size_t need = g->n * HASH_PROOF_MAX * HASH_LEN;
    wire_buf_reset(&g->proofs);
    if (need > g->proofs.cap) {
        uint8_t *p = realloc(g->proofs.data, need);
        if (!p) {
            return MESH_ENOMEM;
        }
        g->proofs.data = p;
        g->proofs.cap = need;
    }
    size_t *lens = realloc(g->lens, g->n * sizeof *lens);
    if (!lens) {
        return MESH_ENOMEM;
    }
    g->lens = lens;
    uint8_t(*proofs)[HASH_LEN] = (uint8_t(*)[HASH_LEN])g->proofs.data;
    mesh_err_t err = hash_merkle_proofs((const uint8_t(*)[HASH_LEN])g->set.leaves, g->count,
                                        g->index, g->n, proofs, lens);
    for (size_t i = 0; err == MESH_OK && i < g->n; i++) {
        g->ops[i].proof = proofs[i * HASH_PROOF_MAX];
        g->ops[i].proof_count = lens[i];
    }
    return err == MESH_EINVAL ? MESH_ECORRUPT : err;
}

mesh_err_t
group_encode(group_t *g, wire_buf_t *out)
{
    bool full = g->n == g->count && g->set.count == g->count;
    mesh_err_t err = full ? MESH_OK : s_proofs(g);
    wire_buf_reset(out);
    if (err == MESH_OK) {
        err = full
                  ? wire_set_encode(g->set.header, g->set.header_len, g->set.sig, g->ops, g->n, out)
                  : wire_set_encode_partial(g->set.header, g->set.header_len, g->set.sig, g->ops,
                                            g->n, out);
    }
    g->n = 0;
    return err;
}
