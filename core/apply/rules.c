/* core/apply/rules.c: applying one verified set inside a batch's write transaction.
 * Each op the vector does not cover is stored, or only its dot counted when a local
 * version's context covers it; the versions its own context covers leave. A set whose
 * range another stored header of its origin reaches into is a fork: the header with the
 * smaller hash wins, the loser's versions leave. The digest and counts move with each op.
 * Layer: core. Third-party: none. SPDX-License-Identifier: MIT */
#include "core/apply/rules.h"

#include <string.h>

#include "core/apply/held.h"
#include "core/base/node.h"
#include "core/data/hlc.h"
#include "core/data/version.h"
#include "core/member/member.h"
#include "crypto/devid.h"
#include "crypto/hash.h"

/* Write the record of a new version, or leave it to the caller (w->defer_dot). */
static mesh_err_t
s_dot_put(rules_t *w, store_txn_t *st, uint32_t cid, const store_key_t *skey,
          const store_version_t *nv)
{
    if (w->defer_dot) {
        w->dot_deferred = true;
        return MESH_OK;
    }
    return store_dot_put(st, cid, skey, nv);
}

/* ---- one op: the receive rules ---- */

/* The version op i of v makes (its dot: oid, the op's seq), borrowing the set's bytes. */
store_version_t
rules_new_version(const verify_set_t *v, size_t i, uint32_t oid)
{
    const wire_op_t *op = &v->set.ops[i];
    return (store_version_t){.oid = oid,
                             .seq = v->ops[i].seq,
                             .hlc = v->h.hlc,
                             .kind = v->ops[i].kind,
                             .meta = op->meta,
                             .meta_len = (uint32_t)op->meta_len,
                             .value = op->value,
                             .value_len = (uint32_t)op->value_len,
                             .proof = v->set.partial ? op->proof : NULL,
                             .proof_len =
                                 v->set.partial ? (uint32_t)(op->proof_count * HASH_LEN) : 0};
}

/* Does a local version's context cover dot? (rule b) */
static mesh_err_t
s_local_covers(const store_version_t *lv, const wire_dot_t *dot, bool *covered)
{
    wire_opmeta_t op;
    wire_dot_t c;
    *covered = false;
    if (wire_opmeta_decode(lv->meta, lv->meta_len, &op) != MESH_OK) {
        return MESH_ECORRUPT;
    }
    for (size_t i = 0; i < op.ctx_count; i++) {
        wire_ctx_get(&op, i, &c);
        if (memcmp(c.origin, dot->origin, WIRE_ORIGIN_LEN) == 0 &&
            c.incarnation == dot->incarnation && dot->seq <= c.seq) {
            *covered = true;
            break;
        }
    }
    return MESH_OK;
}

/* Rule (c): keep the local versions that v's context does not cover, add v. The covered
 * ones leave the digest first and their records after: a record's removal may move the
 * others' bytes. */
static mesh_err_t
s_store_op(rules_t *w, store_txn_t *st, uint32_t cid, verify_set_t *v, size_t i,
           store_version_t *nv, store_coll_stats_t *stats)
{
    const wire_opmeta_t *meta = &v->ops[i];
    store_item_t *item = w->item;
    store_key_t skey;
    size_t kept = 0, gone = 0;
    store_version_t gone_v[STORE_SIBLINGS_MAX];
    node_store_key(meta->key, meta->key_len, &skey);
    mesh_err_t err = MESH_OK;
    for (size_t j = 0; j < item->count && err == MESH_OK; j++) {
        store_version_t lv = item->versions[j];
        wire_dot_t dot;
        err = store_origin_get(st, lv.oid, dot.origin, &dot.incarnation);
        dot.seq = lv.seq;
        bool covered = false;
        for (size_t c = 0; err == MESH_OK && c < meta->ctx_count && !covered; c++) {
            wire_dot_t cd;
            wire_ctx_get(meta, c, &cd);
            covered = memcmp(cd.origin, dot.origin, WIRE_ORIGIN_LEN) == 0 &&
                      cd.incarnation == dot.incarnation && dot.seq <= cd.seq;
        }
        if (err == MESH_OK && covered) {
            version_digest_apply(stats->digest, dot.origin, dot.incarnation, lv.meta, lv.meta_len,
                                 true);
            stats->versions--;
            gone_v[gone++] = lv;
        } else if (err == MESH_OK) {
            item->versions[kept++] = lv;
        }
    }
    for (size_t j = 0; j < gone && err == MESH_OK; j++) {
        err = store_dot_del(st, cid, gone_v[j].oid, gone_v[j].seq);
    }
    if (err != MESH_OK) {
        return err;
    }
    if (kept == STORE_SIBLINGS_MAX) {
        w->cap = "256 versions of one key";
        return MESH_ETOOBIG;
    }
    item->versions[kept++] = *nv;
    version_digest_apply(stats->digest, v->h.origin, v->h.incarnation, nv->meta, nv->meta_len,
                         false);
    stats->versions++;
    err = store_item_put(st, cid, &skey, item->versions, kept);
    if (err == MESH_OK) {
        err = s_dot_put(w, st, cid, &skey, nv);
    }
    return err;
}

/* Store op i of v unless a local version's context covers it (rule b: then only its dot
 * is new here); the vector is the caller's. */
mesh_err_t
rules_store_or_supersede(rules_t *w, store_txn_t *st, uint32_t cid, uint32_t oid, verify_set_t *v,
                         size_t i, store_coll_stats_t *stats)
{
    const wire_opmeta_t *meta = &v->ops[i];
    wire_dot_t dot;
    store_key_t skey;
    memcpy(dot.origin, v->h.origin, WIRE_ORIGIN_LEN);
    dot.incarnation = v->h.incarnation;
    dot.seq = meta->seq;
    node_store_key(meta->key, meta->key_len, &skey);
    store_version_t nv = rules_new_version(v, i, oid);
    /* A key this store has never held (all of them in an initial sync): nothing can cover
     * or supersede the op, and one search of the key index writes it. */
    mesh_err_t err = store_item_add(st, cid, &skey, &nv);
    if (err == MESH_OK) {
        stats->keys++;
        stats->versions++;
        version_digest_apply(stats->digest, v->h.origin, v->h.incarnation, nv.meta, nv.meta_len,
                             false);
        v->res->ops_stored++;
        return s_dot_put(w, st, cid, &skey, &nv);
    }
    if (err == MESH_EEXIST) {
        err = store_item_get(st, cid, &skey, w->item);
    }
    bool obsolete = false;
    for (size_t j = 0; err == MESH_OK && j < w->item->count && !obsolete; j++) {
        const store_version_t *lv = &w->item->versions[j];
        obsolete = lv->oid == oid && lv->seq == meta->seq;
        if (!obsolete) {
            err = s_local_covers(lv, &dot, &obsolete);
        }
    }
    if (err == MESH_OK && !obsolete) {
        err = s_store_op(w, st, cid, v, i, &nv, stats);
        v->res->ops_stored++;
    } else if (err == MESH_OK) {
        v->res->ops_superseded++; /* rule (b): only its dot is new here */
    }
    return err;
}

mesh_err_t
rules_coll_id(rules_t *w, store_txn_t *st, const char *coll, uint32_t *cid)
{
    mesh_err_t err = store_coll_id(st, coll, true, cid);
    if (err == MESH_ETOOBIG) {
        w->cap = RULES_CAP_COLLS;
        w->colls_full = true; /* from now on, sets of new collections are left out at once */
    }
    return err;
}

/* Apply op i of v: (a) covered by the vector: nothing; (b) covered by a local version's
 * context: count its dot only; (c) otherwise store it. force skips (a) for a fork winner. */
static mesh_err_t
s_apply_op(rules_t *w, store_txn_t *st, uint32_t cid, uint32_t oid, verify_set_t *v, size_t i,
           bool force, store_coll_stats_t *stats)
{
    uint64_t seq = v->ops[i].seq;
    if (!force && vv_covers(&w->vv, seq)) {
        v->res->ops_old++;
        return MESH_OK;
    }
    mesh_err_t err = rules_store_or_supersede(w, st, cid, oid, v, i, stats);
    if (err != MESH_OK) {
        return err;
    }
    err = vv_add(&w->vv, seq);
    if (err == MESH_ETOOBIG) {
        w->cap = "65,536 dots above a gap in one vector";
    }
    return err;
}

/* ---- the fork rule (§5.7) ---- */

/* Remove every live version of a stored set that lost to another header. */
static mesh_err_t
s_drop_set(rules_t *w, store_txn_t *st, uint32_t cid, uint32_t oid, const store_set_t *lost,
           uint32_t count, store_coll_stats_t *stats)
{
    for (uint64_t seq = lost->first_seq; seq < lost->first_seq + count; seq++) {
        store_cursor_t *cur = NULL;
        uint64_t at = 0;
        mesh_err_t err = store_dots_open(st, cid, oid, seq, &cur);
        if (err == MESH_OK) {
            err = store_dots_next(cur, &at, w->item);
        }
        /* The key lives in LMDB memory about to be rewritten: copy it before the cursor
         * closes. */
        uint8_t key[MESH_KEY_MAX];
        size_t key_len = err == MESH_OK ? w->item->key_len : 0;
        if (err == MESH_OK && key_len <= sizeof key) {
            memcpy(key, w->item->key, key_len);
        }
        store_cursor_close(cur);
        if (err == MESH_ENOTFOUND || (err == MESH_OK && at != seq)) {
            continue; /* superseded already */
        }
        if (err == MESH_OK && key_len > sizeof key) {
            err = MESH_ECORRUPT;
        }
        store_key_t skey;
        node_store_key(key, key_len, &skey);
        if (err == MESH_OK) {
            err = store_item_get(st, cid, &skey, w->item);
        }
        if (err != MESH_OK) {
            return err;
        }
        size_t kept = 0;
        for (size_t j = 0; j < w->item->count && err == MESH_OK; j++) {
            store_version_t lv = w->item->versions[j];
            if (lv.oid == oid && lv.seq == seq) {
                uint8_t origin[WIRE_ORIGIN_LEN];
                uint64_t inc = 0;
                err = store_origin_get(st, oid, origin, &inc);
                version_digest_apply(stats->digest, origin, inc, lv.meta, lv.meta_len, true);
                stats->versions--;
            } else {
                w->item->versions[kept++] = lv;
            }
        }
        if (err == MESH_OK && kept == 0) {
            stats->keys--;
        }
        if (err == MESH_OK) {
            err = store_item_put(st, cid, &skey, w->item->versions, kept);
        }
        if (err == MESH_OK) {
            err = store_dot_del(st, cid, oid, seq);
        }
        if (err != MESH_OK) {
            return err;
        }
    }
    return store_set_del(st, cid, oid, lost->first_seq);
}

/* Another stored header of v's origin whose range reaches into v's: *other is set, with
 * it in *s and *sh (the stored set with the greatest first seq up to v's last). */
mesh_err_t
rules_other_header(store_txn_t *st, uint32_t cid, uint32_t oid, const verify_set_t *v,
                   store_set_t *s, wire_header_t *sh, bool *other)
{
    *other = false;
    mesh_err_t err = store_set_find(st, cid, oid, v->h.first_seq + v->h.count - 1, s);
    if (err == MESH_ENOTFOUND) {
        return MESH_OK;
    }
    if (err == MESH_OK && wire_header_decode(s->header, s->header_len, sh) != MESH_OK) {
        err = MESH_ECORRUPT;
    }
    *other = err == MESH_OK && s->first_seq + sh->count > v->h.first_seq &&
             !(s->header_len == v->set.header_len &&
               memcmp(s->header, v->set.header, s->header_len) == 0);
    return err;
}

/* Check v against a stored set whose range overlaps it. *force is set when v wins a fork
 * (its ops then apply over dots the vector already counts). */
static mesh_err_t
s_fork_check(rules_t *w, store_txn_t *st, uint32_t cid, uint32_t oid, verify_set_t *v,
             store_coll_stats_t *stats, bool *force)
{
    store_set_t s;
    wire_header_t sh;
    bool other = false;
    *force = false;
    uint64_t last = v->h.first_seq + v->h.count - 1;
    mesh_err_t err = rules_other_header(st, cid, oid, v, &s, &sh, &other);
    if (err != MESH_OK || !other) {
        return err; /* no overlap, or the same set again */
    }
    uint8_t mine[HASH_LEN], theirs[HASH_LEN];
    hash_tagged(HASH_TAG_NODE, v->set.header, v->set.header_len, mine);
    hash_tagged(HASH_TAG_NODE, s.header, s.header_len, theirs);
    char id[MESH_ID_TEXT_LEN + 1];
    devid_format(v->h.origin, id);
    if (memcmp(mine, theirs, HASH_LEN) > 0) {
        verify_reject(v->res, MESH_EFORK,
                      "fork: %s signed another header for seq %llu..%llu, which wins (§5.7)", id,
                      (unsigned long long)v->h.first_seq, (unsigned long long)last);
        node_log(w->m, MESH_LOG_WARN, "%s", v->res->why);
        return MESH_OK;
    }
    node_log(w->m, MESH_LOG_WARN,
             "fork: %s signed two headers for seq %llu..%llu; the stored one loses (§5.7)", id,
             (unsigned long long)s.first_seq, (unsigned long long)(s.first_seq + sh.count - 1));
    *force = true;
    return s_drop_set(w, st, cid, oid, &s, sh.count, stats);
}

/* ---- one set ---- */

/* A set of our own current incarnation that reaches beyond our own vector proves this store
 * was rolled back: its next commits must not reuse those seqs (§5.1). */
static mesh_err_t
s_own_rollback(mesh_t *m, store_txn_t *st, const verify_set_t *v, const vv_t *vv, bool *renew)
{
    uint64_t inc = 0;
    *renew = false;
    if (memcmp(v->h.origin, ident_public_key(m->ident), WIRE_ORIGIN_LEN) != 0) {
        return MESH_OK;
    }
    mesh_err_t err = store_txn_incarnation(st, &inc);
    if (err == MESH_OK && inc == v->h.incarnation) {
        *renew = !vv_covers(vv, v->h.first_seq + v->h.count - 1);
    }
    return err;
}

mesh_err_t
rules_apply_set(rules_t *w, store_txn_t *st, verify_set_t *v)
{
    mesh_t *m = w->m;
    uint32_t cid = 0, oid = 0;
    store_coll_stats_t stats;
    bool force = false;
    if (!member_is(m, v->h.origin)) {
        return held_put(m, st, v);
    }
    mesh_err_t err = rules_coll_id(w, st, v->coll, &cid);
    if (err == MESH_OK) {
        err = store_origin_id(st, v->h.origin, v->h.incarnation, true, &oid);
    }
    if (err == MESH_OK) {
        err = store_coll_stats_get(st, cid, &stats);
    }
    if (err == MESH_OK) {
        err = s_fork_check(w, st, cid, oid, v, &stats, &force);
    }
    if (err != MESH_OK || v->res->outcome == APPLY_REJECTED) {
        return err;
    }
    err = vv_load(&w->vv, st, cid, oid);
    bool renew = false;
    if (err == MESH_OK) {
        err = s_own_rollback(m, st, v, &w->vv, &renew);
    }
    for (size_t i = 0; err == MESH_OK && i < v->set.op_count; i++) {
        err = s_apply_op(w, st, cid, oid, v, i, force, &stats);
    }
    if (err == MESH_OK) {
        err = vv_save(&w->vv, st, cid, oid);
    }
    if (err == MESH_OK) {
        err = store_coll_stats_put(st, cid, &stats);
    }
    if (err == MESH_OK) {
        err = hlc_observe(st, v->h.hlc);
    }
    store_set_t existing;
    mesh_err_t found =
        err == MESH_OK ? store_set_get(st, cid, oid, v->h.first_seq, &existing) : MESH_OK;
    /* Store the record when new, or to add the leaves a set first seen partial lacked. */
    if (err == MESH_OK &&
        (found == MESH_ENOTFOUND || (found == MESH_OK && !v->set.partial && existing.count == 0))) {
        /* A partial set's leaves are not all here: its versions keep their proofs. */
        store_set_t rec = {.oid = oid,
                           .first_seq = v->h.first_seq,
                           .header = v->set.header,
                           .header_len = (uint32_t)v->set.header_len,
                           .sig = v->set.sig,
                           .leaves = v->set.partial ? NULL : &v->leaves[0][0],
                           .count = v->set.partial ? 0 : v->h.count};
        err = store_set_put(st, cid, &rec);
    }
    if (err == MESH_OK && renew) {
        uint64_t inc = 0;
        err = store_incarnation_renew(st, &inc);
        node_log(m, MESH_LOG_WARN,
                 "a peer holds seq %llu of ours, beyond what this store holds: it was rolled "
                 "back; new incarnation %016llx",
                 (unsigned long long)(v->h.first_seq + v->h.count - 1), (unsigned long long)inc);
    }
    if (err == MESH_OK && v->res->ops_stored) {
        w->members_changed |= strcmp(v->coll, MEMBER_COLL) == 0;
    }
    v->res->outcome =
        v->res->ops_stored || v->res->ops_superseded || force ? APPLY_NEW : APPLY_KNOWN;
    return err;
}
