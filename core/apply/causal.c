/* core/apply/causal.c: causal delivery. A context entry (origin, incarnation, seq) says the
 * writer held that origin's versions of the key up to seq; the receive rules then let the
 * new version make them obsolete (rule b) or replace them (rule c). A member could sign a
 * context naming seq 2^64-1 of another device and lock that device out of the key for good,
 * so a set waits until this device holds every dot its contexts name, or a header of their
 * origin that reaches them (that origin signed them): stored, of a verified set of the same
 * batch, applied or not, or of a set that waited in an earlier batch (its "signed up to"
 * record, store/signed.h, capped per collection and origin). An honest writer held them, so
 * they or their headers arrive (the sender's pass carries them), and a forged one never does.
 * Layer: core. Third-party: none. SPDX-License-Identifier: MIT */
#include "core/apply/causal.h"

#include <stdlib.h>
#include <string.h>

#include "core/data/vv.h"
#include "core/member/member.h"

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

/* One (collection, origin, incarnation) of a batch and the last seq its headers reach. */
struct causal_proof {
    const char *coll;
    const uint8_t *origin;
    uint64_t incarnation, end;
};

static int
s_proof_cmp(const void *pa, const void *pb)
{
    const struct causal_proof *a = pa, *b = pb;
    int c = strcmp(a->coll, b->coll);
    if (c == 0) {
        c = memcmp(a->origin, b->origin, WIRE_ORIGIN_LEN);
    }
    if (c == 0 && a->incarnation != b->incarnation) {
        c = a->incarnation < b->incarnation ? -1 : 1;
    }
    return c;
}

mesh_err_t
causal_batch_init(causal_batch_t *bt, const verify_set_t *vs, size_t n)
{
    size_t k = 0;
    bt->n = 0;
    bt->proofs = n ? malloc(n * sizeof *bt->proofs) : NULL;
    if (n && !bt->proofs) {
        return MESH_ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        if (vs[i].res->outcome == APPLY_REJECTED || vs[i].h.count == 0) {
            continue; /* failed verification: it shows nothing */
        }
        bt->proofs[k++] = (struct causal_proof){.coll = vs[i].coll,
                                                .origin = vs[i].h.origin,
                                                .incarnation = vs[i].h.incarnation,
                                                .end = vs[i].h.first_seq + vs[i].h.count - 1};
    }
    if (k > 1) {
        qsort(bt->proofs, k, sizeof *bt->proofs, s_proof_cmp);
    }
    for (size_t i = 0; i < k; i++) { /* one entry per key, with the greatest end */
        if (bt->n && s_proof_cmp(&bt->proofs[bt->n - 1], &bt->proofs[i]) == 0) {
            struct causal_proof *last = &bt->proofs[bt->n - 1];
            last->end = bt->proofs[i].end > last->end ? bt->proofs[i].end : last->end;
        } else {
            bt->proofs[bt->n++] = bt->proofs[i];
        }
    }
    return MESH_OK;
}

void
causal_batch_release(causal_batch_t *bt)
{
    free(bt->proofs);
    bt->proofs = NULL;
    bt->n = 0;
}

/* Does a verified header of the batch bt reach dot d of collection coll? Its origin signed
 * d then, as surely as if the header were stored, whether its set applies or not: sets
 * that name each other's dots (each the only header left that reaches the dot the other
 * names, the versions of those dots long superseded) are so taken together. */
static bool
s_batch_reaches(const causal_batch_t *bt, const char *coll, const wire_dot_t *d)
{
    struct causal_proof key = {.coll = coll, .origin = d->origin, .incarnation = d->incarnation};
    const struct causal_proof *p =
        bt && bt->n ? bsearch(&key, bt->proofs, bt->n, sizeof key, s_proof_cmp) : NULL;
    return p && d->seq <= p->end;
}

/* Does the "signed up to" record of d's origin and incarnation in collection cid, left by
 * a set of it that waited in an earlier batch, reach d? */
static mesh_err_t
s_waited_reaches(store_txn_t *st, uint32_t cid, const wire_dot_t *d, bool *held)
{
    uint64_t end = 0;
    mesh_err_t err = store_signed_get(st, cid, d->origin, d->incarnation, &end);
    *held = err == MESH_OK && d->seq <= end;
    return err == MESH_ENOTFOUND ? MESH_OK : err;
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
causal_ready(rules_t *w, store_txn_t *st, const verify_set_t *v, const run_t *r,
             const causal_batch_t *bt, bool *ready, wire_dot_t *missing)
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
            /* a removed device's dot (§8.2) may never come: above its cut it is rejected
             * everywhere, and nothing it signs later can be locked out; the set's version
             * makes it obsolete if it comes */
            if (s_own_dot(v, &d) || member_removed(w->m, d.origin)) {
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
            held = held || s_batch_reaches(bt, v->coll, &d);
            if (!held && cid) {
                err = s_waited_reaches(st, cid, &d, &held);
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

/* Does the record of (cid, device) for incarnation inc say no more than the stored headers
 * of that origin do (a set of it applied since)? It is then of no more use. */
static mesh_err_t
s_signed_spent(store_txn_t *st, uint32_t cid, const uint8_t *device, uint64_t inc, uint64_t end,
               bool *spent)
{
    uint32_t oid = 0;
    uint64_t stored = 0;
    *spent = false;
    mesh_err_t err = store_origin_id(st, device, inc, false, &oid);
    if (err == MESH_OK) {
        err = causal_signed_end(st, NULL, cid, oid, &stored);
        *spent = err == MESH_OK && stored >= end;
    }
    return err == MESH_ENOTFOUND ? MESH_OK : err;
}

/* Make room for one more record of (cid, device): drop those that are spent. *room says
 * whether there is room then (CAUSAL_SIGNED_INCS_MAX). */
static mesh_err_t
s_signed_room(store_txn_t *st, uint32_t cid, const uint8_t *device, bool *room)
{
    uint64_t incs[CAUSAL_SIGNED_INCS_MAX], ends[CAUSAL_SIGNED_INCS_MAX];
    size_t n = 0;
    store_cursor_t *cur = NULL;
    mesh_err_t err = store_signed_open(st, cid, device, &cur);
    while (err == MESH_OK && n < CAUSAL_SIGNED_INCS_MAX) {
        err = store_signed_next(cur, &incs[n], &ends[n]);
        n += err == MESH_OK;
    }
    store_cursor_close(cur);
    err = err == MESH_ENOTFOUND ? MESH_OK : err;
    size_t left = n;
    for (size_t i = 0; err == MESH_OK && n == CAUSAL_SIGNED_INCS_MAX && i < n; i++) {
        bool spent = false;
        err = s_signed_spent(st, cid, device, incs[i], ends[i], &spent);
        if (err == MESH_OK && spent) {
            err = store_signed_del(st, cid, device, incs[i]);
            left--;
        }
    }
    *room = left < CAUSAL_SIGNED_INCS_MAX;
    return err;
}

mesh_err_t
causal_note_waiting(store_txn_t *st, uint32_t cid, const verify_set_t *v)
{
    uint64_t end = v->h.first_seq + v->h.count - 1, held = 0;
    if (v->h.count == 0) {
        return MESH_OK;
    }
    mesh_err_t err = store_signed_get(st, cid, v->h.origin, v->h.incarnation, &held);
    if (err == MESH_OK) { /* raised in place: no new record */
        return held >= end ? MESH_OK
                           : store_signed_raise(st, cid, v->h.origin, v->h.incarnation, end);
    }
    bool room = false;
    if (err == MESH_ENOTFOUND) {
        err = s_signed_room(st, cid, v->h.origin, &room);
    }
    if (err == MESH_OK && room) {
        err = store_signed_raise(st, cid, v->h.origin, v->h.incarnation, end);
    }
    return err;
}
