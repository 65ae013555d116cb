/* core/apply/causal.c: causal delivery. A context entry (origin, incarnation, seq) says the
 * writer held that origin's versions of the key up to seq; the receive rules then let the
 * new version make them obsolete (rule b) or replace them (rule c). A member could sign a
 * context naming seq 2^64-1 of another device and lock that device out of the key for good,
 * so a set waits until this device holds every dot its contexts name, or a header of their
 * origin that reaches them (that origin signed them): an honest writer held them, so they
 * or their headers arrive (the sender's pass carries them), and a forged one never does.
 * Layer: core. Third-party: none. SPDX-License-Identifier: MIT */
#include "core/apply/causal.h"

#include <string.h>

#include "core/data/vv.h"

/* Is dot d one of v's origin's own, of its incarnation? Its signer speaks for those: a
 * context can make obsolete only versions of that origin up to it, which the origin's own
 * later write replaces anyway, and it cannot reach another device's. */
static bool
s_own_dot(const verify_set_t *v, const wire_dot_t *d)
{
    return memcmp(d->origin, v->h.origin, WIRE_ORIGIN_LEN) == 0 &&
           d->incarnation == v->h.incarnation;
}

mesh_err_t
causal_signed_end(store_txn_t *st, const run_t *r, uint32_t cid, uint32_t oid, uint64_t *end)
{
    store_set_t s;
    wire_header_t h;
    uint32_t derived[RULES_FORKS_MAX];
    size_t nd = 0;
    *end = r ? run_end(r, cid, oid) : 0;
    /* a forked header lives under its derived number (§5.7), yet was signed under oid */
    mesh_err_t err = store_origin_forks(st, oid, derived, RULES_FORKS_MAX, &nd);
    for (size_t i = 0; i <= nd && err == MESH_OK; i++) {
        err = rules_header_at(st, cid, i < nd ? derived[i] : oid, UINT64_MAX, &s, &h);
        if (err == MESH_ENOTFOUND) {
            err = MESH_OK;
        } else if (err == MESH_OK && s.first_seq + h.count - 1 > *end) {
            *end = s.first_seq + h.count - 1;
        }
    }
    return err;
}

/* Is dot d held in collection cid: covered by the vector, or reached by a header of its
 * origin held here? The last origin looked up (number *loaded) keeps its vector in w->vv
 * and its signed end in *signed_end. */
static mesh_err_t
s_held(rules_t *w, store_txn_t *st, uint32_t cid, const run_t *r, const wire_dot_t *d,
       uint32_t *loaded, uint64_t *signed_end, bool *held)
{
    uint32_t oid = 0;
    *held = false;
    mesh_err_t err = store_origin_id(st, d->origin, d->incarnation, false, &oid);
    if (err == MESH_ENOTFOUND) {
        return MESH_OK; /* nothing of that origin and incarnation is held */
    }
    if (err == MESH_OK && *loaded != oid) {
        *loaded = 0;
        err = vv_load(&w->vv, st, cid, oid);
        if (err == MESH_OK) {
            err = causal_signed_end(st, r, cid, oid, signed_end);
        }
        *loaded = err == MESH_OK ? oid : 0;
    }
    *held = err == MESH_OK && (d->seq <= *signed_end || vv_covers(&w->vv, d->seq));
    return err;
}

mesh_err_t
causal_ready(rules_t *w, store_txn_t *st, const verify_set_t *v, const run_t *r, bool *ready,
             wire_dot_t *missing)
{
    uint32_t cid = 0, loaded = 0; /* collection and origin numbers start at 1 */
    uint64_t signed_end = 0;
    bool looked = false;
    *ready = true;
    for (size_t i = 0; i < v->set.op_count; i++) {
        const wire_opmeta_t *op = &v->ops[i];
        for (size_t c = 0; c < op->ctx_count; c++) {
            wire_dot_t d;
            bool held = false;
            mesh_err_t err = MESH_OK;
            wire_ctx_get(op, c, &d);
            if (s_own_dot(v, &d)) {
                continue;
            }
            if (!looked) { /* a new collection holds nothing yet */
                err = store_coll_id(st, v->coll, false, &cid);
                err = err == MESH_ENOTFOUND ? MESH_OK : err;
                looked = true;
            }
            if (err == MESH_OK && cid) {
                err = s_held(w, st, cid, r, &d, &loaded, &signed_end, &held);
            }
            if (err != MESH_OK) {
                return err;
            }
            if (!held) {
                *ready = false;
                *missing = d;
                return MESH_OK;
            }
        }
    }
    return MESH_OK;
}
