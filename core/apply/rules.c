/* core/apply/rules.c: applying one verified set inside a batch's write transaction.
 * Each op the vector does not cover is stored, or only its dot counted when a local
 * version's context covers it; the versions its own context covers leave. A set whose
 * range another stored header of its origin and incarnation reaches into is a fork: every
 * header of it keeps its versions, under an incarnation derived from that header (§5.7).
 * The digest and counts move with each op.
 * Layer: core. Third-party: none. SPDX-License-Identifier: MIT */
#include "core/apply/rules.h"

#include <string.h>

#include "core/apply/collect.h"
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

mesh_err_t
rules_store_new_key(rules_t *w, store_txn_t *st, uint32_t cid, uint32_t oid, verify_set_t *v,
                    const uint8_t *key, size_t key_len, uint64_t seq, store_coll_stats_t *stats)
{
    store_key_t skey;
    node_store_key(key, key_len, &skey);
    store_version_t nv = {.oid = oid, .seq = seq}; /* (all the key index takes of it) */
    mesh_err_t err = store_item_add(st, cid, &skey, &nv);
    if (err == MESH_OK) {
        stats->keys++;
        stats->versions++;
        w->dot_deferred = true;
        w->digest_deferred = true;
        v->res->ops_stored++;
    }
    return err;
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

void
rules_digest_add(uint8_t *digest, const verify_set_t *v, size_t i, const store_version_t *nv)
{
    if (v->digests) {
        version_digest_add(digest, v->digests[i], false);
    } else {
        version_digest_apply(digest, v->h.origin, v->h.incarnation, nv->meta, nv->meta_len, false);
    }
}

/* Add op i's new version nv to the digest. */
static void
s_digest_add(store_coll_stats_t *stats, const verify_set_t *v, size_t i, const store_version_t *nv)
{
    rules_digest_add(stats->digest, v, i, nv);
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
        err = store_origin_signed(st, lv.oid, dot.origin, &dot.incarnation);
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
    s_digest_add(stats, v, i, nv);
    stats->versions++;
    err = store_item_put(st, cid, &skey, item->versions, kept);
    if (err == MESH_OK) {
        err = s_dot_put(w, st, cid, &skey, nv);
    }
    return err;
}

mesh_err_t
rules_store_held_key(rules_t *w, store_txn_t *st, uint32_t cid, uint32_t oid, verify_set_t *v,
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
    mesh_err_t err = store_item_get(st, cid, &skey, w->item);
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

/* Store op i of v unless a local version's context covers it (rule b: then only its dot
 * is new here); the vector is the caller's. */
mesh_err_t
rules_store_or_supersede(rules_t *w, store_txn_t *st, uint32_t cid, uint32_t oid, verify_set_t *v,
                         size_t i, store_coll_stats_t *stats)
{
    const wire_opmeta_t *meta = &v->ops[i];
    /* A key this store has never held (all of them in an initial sync): nothing can cover
     * or supersede the op, and one search of the key index writes it. */
    mesh_err_t err;
    if (w->defer_dot) {
        err = rules_store_new_key(w, st, cid, oid, v, meta->key, meta->key_len, meta->seq, stats);
    } else {
        store_key_t skey;
        node_store_key(meta->key, meta->key_len, &skey);
        store_version_t nv = rules_new_version(v, i, oid);
        err = store_item_add(st, cid, &skey, &nv);
        if (err == MESH_OK) {
            stats->keys++;
            stats->versions++;
            s_digest_add(stats, v, i, &nv);
            v->res->ops_stored++;
            return store_dot_put(st, cid, &skey, &nv);
        }
    }
    return err == MESH_EEXIST ? rules_store_held_key(w, st, cid, oid, v, i, stats) : err;
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

/* Apply op i of v, whose versions live under number at (its origin's, or one derived from
 * it for a forked set, §5.7), with at's vector in at_vv: (a) covered by it: nothing; (b)
 * covered by a local version's context: count its dot only; (c) otherwise store it. The
 * dot is counted in w->vv (of the signed incarnation) too. */
static mesh_err_t
s_apply_op(rules_t *w, store_txn_t *st, uint32_t cid, uint32_t at, vv_t *at_vv, verify_set_t *v,
           size_t i, store_coll_stats_t *stats)
{
    uint64_t seq = v->ops[i].seq;
    bool refused = false;
    if (w->repair && vv_covers(at_vv, seq)) { /* never undo a collected delete (§13) */
        mesh_err_t err = collect_refuses(st, cid, at, &v->h, &v->ops[i], &refused);
        if (err != MESH_OK) {
            return err;
        }
    }
    if (refused || (!w->repair && vv_covers(at_vv, seq))) {
        v->res->ops_old++;
        return MESH_OK;
    }
    mesh_err_t err = rules_store_or_supersede(w, st, cid, at, v, i, stats);
    if (err != MESH_OK) {
        return err; /* (a cap it hit is named there) */
    }
    err = vv_add(at_vv, seq);
    if (err == MESH_OK && at_vv != &w->vv) {
        err = vv_add(&w->vv, seq);
    }
    if (err == MESH_ETOOBIG) {
        w->cap = "65,536 dots above a gap in one vector";
    }
    return err;
}

/* ---- the fork rule (§5.7) ---- */

uint64_t
rules_fork_incarnation(const uint8_t *header, size_t header_len, uint64_t incarnation)
{
    uint8_t h[HASH_LEN];
    uint64_t inc = 0;
    hash_tagged(HASH_TAG_NODE, header, header_len, h);
    for (int i = 0; i < 8; i++) {
        inc |= (uint64_t)h[i] << (8 * i);
    }
    inc = inc ? inc : 1;
    return inc == incarnation ? ~inc : inc; /* (~1 is not 0) */
}

mesh_err_t
rules_header_at(store_txn_t *st, uint32_t cid, uint32_t oid, uint64_t seq, store_set_t *s,
                wire_header_t *sh)
{
    mesh_err_t err = store_set_find(st, cid, oid, seq, s);
    if (err == MESH_OK && wire_header_decode(s->header, s->header_len, sh) != MESH_OK) {
        err = MESH_ECORRUPT;
    }
    return err;
}

static bool
s_same_header(const store_set_t *s, const verify_set_t *v)
{
    return s->header_len == v->set.header_len &&
           memcmp(s->header, v->set.header, s->header_len) == 0;
}

/* What the stored headers of v's (collection, origin, incarnation) say of v (§5.7): the
 * number v's record lives under when it is stored already (*known: its origin's oid, or
 * one derived from it; 0 when new); *forks: how many other headers overlap it (those under
 * oid, which never overlap each other, and those moved to derived numbers); *derived: how
 * many derived numbers oid has. The first overlapping header of oid goes to *s and *sh. */
static mesh_err_t
s_fork_scan(store_txn_t *st, uint32_t cid, uint32_t oid, const verify_set_t *v, store_set_t *s,
            wire_header_t *sh, uint32_t *known, size_t *forks, size_t *derived)
{
    uint64_t first = v->h.first_seq, last = first + v->h.count - 1;
    uint32_t nums[RULES_FORKS_MAX];
    store_set_t o;
    wire_header_t oh;
    *known = 0;
    *forks = 0;
    /* under oid: from the last header starting at or below v's last seq, down while they
     * reach into v */
    mesh_err_t err = MESH_OK;
    for (uint64_t seq = last; err == MESH_OK;) {
        err = rules_header_at(st, cid, oid, seq, &o, &oh);
        if (err != MESH_OK || o.first_seq + oh.count <= first) {
            break;
        }
        if (s_same_header(&o, v)) {
            *known = oid;
        } else if ((*forks)++ == 0) {
            *s = o;
            *sh = oh;
        }
        if (o.first_seq <= 1) {
            break;
        }
        seq = o.first_seq - 1;
    }
    if (err == MESH_ENOTFOUND) {
        err = MESH_OK;
    }
    if (err == MESH_OK) {
        err = store_origin_forks(st, oid, nums, RULES_FORKS_MAX, derived);
    }
    /* each derived number holds one header of a collection */
    for (size_t i = 0; err == MESH_OK && i < *derived; i++) {
        err = rules_header_at(st, cid, nums[i], last, &o, &oh);
        if (err == MESH_ENOTFOUND) {
            err = MESH_OK;
        } else if (err == MESH_OK && o.first_seq + oh.count > first) {
            if (s_same_header(&o, v)) {
                *known = nums[i];
            } else {
                (*forks)++;
            }
        }
    }
    return err;
}

/* Name dot (oid, seq) (oid, to) in its key's index, when it is a live version (*live). */
static mesh_err_t
s_rename_dot(rules_t *w, store_txn_t *st, uint32_t cid, uint32_t oid, uint64_t seq, uint32_t to,
             bool *live)
{
    store_cursor_t *cur = NULL;
    uint64_t at = 0;
    uint8_t key[MESH_KEY_MAX];
    size_t key_len = 0;
    store_key_t skey;
    *live = false;
    mesh_err_t err = store_dots_open(st, cid, oid, seq, &cur);
    if (err == MESH_OK) {
        err = store_dots_next(cur, &at, w->item);
    }
    if (err == MESH_OK && at == seq && w->item->key_len <= sizeof key) {
        key_len = w->item->key_len; /* LMDB memory the writes below may move */
        memcpy(key, w->item->key, key_len);
        *live = true;
    } else if (err == MESH_OK && at == seq) {
        err = MESH_ECORRUPT;
    }
    store_cursor_close(cur);
    if (err == MESH_ENOTFOUND || !*live) {
        return err == MESH_ENOTFOUND ? MESH_OK : err; /* superseded already */
    }
    node_store_key(key, key_len, &skey);
    err = store_item_get(st, cid, &skey, w->item);
    bool found = false;
    for (size_t j = 0; err == MESH_OK && j < w->item->count; j++) {
        if (w->item->versions[j].oid == oid && w->item->versions[j].seq == seq) {
            w->item->versions[j].oid = to;
            found = true;
        }
    }
    if (err == MESH_OK && !found) {
        err = MESH_ECORRUPT; /* a version record its key does not name */
    }
    return err == MESH_OK ? store_item_put(st, cid, &skey, w->item->versions, w->item->count) : err;
}

/* Move the stored set of oid starting at first_seq (count seqs, header bytes header) to the
 * number derived from its header (§5.7): its version records, their dots in the key index,
 * its record, and that number's vector, which covers the seqs of its range that oid's
 * covers (this set was the one header of them here). Dots, contexts and the digest name
 * the signed incarnation: they do not change. */
static mesh_err_t
s_move_set(rules_t *w, store_txn_t *st, uint32_t cid, uint32_t oid, uint64_t inc,
           uint64_t first_seq, uint32_t count, const uint8_t *header, size_t header_len)
{
    uint32_t to = 0;
    vv_t vv, from;
    mesh_err_t err =
        store_origin_derive(st, oid, rules_fork_incarnation(header, header_len, inc), &to);
    for (uint64_t seq = first_seq; err == MESH_OK && seq < first_seq + count; seq++) {
        bool live = false;
        err = s_rename_dot(w, st, cid, oid, seq, to, &live);
        if (err == MESH_OK && live) {
            err = store_dot_move(st, cid, oid, seq, to);
        }
    }
    if (err == MESH_OK) {
        err = store_set_move(st, cid, oid, first_seq, to);
    }
    vv_init(&vv);
    vv_init(&from);
    if (err == MESH_OK) {
        err = vv_load(&vv, st, cid, to);
    }
    if (err == MESH_OK) {
        err = vv_load(&from, st, cid, oid);
    }
    for (uint64_t seq = first_seq; err == MESH_OK && seq < first_seq + count; seq++) {
        if (vv_covers(&from, seq)) {
            err = vv_add(&vv, seq);
        }
    }
    if (err == MESH_OK) {
        err = vv_save(&vv, st, cid, to);
    }
    vv_release(&vv);
    vv_release(&from);
    return err;
}

/* Move every stored header of oid that overlaps v out of oid (§5.7). */
static mesh_err_t
s_move_overlapping(rules_t *w, store_txn_t *st, uint32_t cid, uint32_t oid, const verify_set_t *v)
{
    uint64_t first = v->h.first_seq, last = first + v->h.count - 1;
    uint8_t header[WIRE_HEADER_MAX];
    store_set_t o;
    wire_header_t oh;
    mesh_err_t err = MESH_OK;
    for (uint64_t seq = last; err == MESH_OK;) {
        err = rules_header_at(st, cid, oid, seq, &o, &oh);
        if (err != MESH_OK || o.first_seq + oh.count <= first) {
            break;
        }
        if (o.header_len > sizeof header) {
            return MESH_ECORRUPT;
        }
        /* the record's bytes move: keep what is needed of them */
        uint64_t at = o.first_seq;
        size_t header_len = o.header_len;
        memcpy(header, o.header, header_len);
        err = s_move_set(w, st, cid, oid, v->h.incarnation, at, oh.count, header, header_len);
        if (at <= 1) {
            break;
        }
        seq = at - 1;
    }
    return err == MESH_ENOTFOUND ? MESH_OK : err;
}

mesh_err_t
rules_other_header(store_txn_t *st, uint32_t cid, uint32_t oid, const verify_set_t *v,
                   store_set_t *s, wire_header_t *sh, bool *other)
{
    uint32_t known = 0;
    size_t forks = 0, derived = 0;
    bool is_derived = false;
    *other = false;
    mesh_err_t err = store_origin_is_derived(st, oid, &is_derived);
    if (err == MESH_OK) {
        err = s_fork_scan(st, cid, oid, v, s, sh, &known, &forks, &derived);
    }
    *other = err == MESH_OK && (forks > 0 || is_derived || (known && known != oid));
    return err;
}

/* Where v's versions go (§5.7): *at is oid, or the number derived from v's header when
 * another stored header of its origin and incarnation overlaps it; those of oid then move
 * out first (*moved says so). v is rejected (MESH_EFORK) when its incarnation is itself a
 * derived one, or when a fork would pass RULES_FORKS_MAX derived numbers. */
static mesh_err_t
s_fork_check(rules_t *w, store_txn_t *st, uint32_t cid, uint32_t oid, verify_set_t *v, uint32_t *at,
             bool *moved)
{
    store_set_t s;
    wire_header_t sh;
    uint32_t known = 0;
    size_t forks = 0, derived = 0;
    bool is_derived = false;
    *at = oid;
    *moved = false;
    char id[MESH_ID_TEXT_LEN + 1];
    devid_format(v->h.origin, id);
    uint64_t first = v->h.first_seq, last = first + v->h.count - 1;
    mesh_err_t err = store_origin_is_derived(st, oid, &is_derived);
    if (err == MESH_OK && is_derived) {
        verify_reject(v->res, MESH_EFORK,
                      "a set of %s names the incarnation of a forked set's (§5.7)", id);
        node_log(w->m, MESH_LOG_WARN, "%s", v->res->why);
        return MESH_OK;
    }
    if (err == MESH_OK) {
        err = s_fork_scan(st, cid, oid, v, &s, &sh, &known, &forks, &derived);
    }
    if (err != MESH_OK || known || forks == 0) {
        *at = known ? known : oid; /* seen before, or no fork */
        return err;
    }
    size_t to_move = 0; /* the headers of oid that overlap v: they move too */
    for (uint64_t seq = last; err == MESH_OK;) {
        store_set_t o;
        wire_header_t oh;
        err = rules_header_at(st, cid, oid, seq, &o, &oh);
        if (err != MESH_OK || o.first_seq + oh.count <= first) {
            break;
        }
        to_move++;
        seq = o.first_seq > 1 ? o.first_seq - 1 : 0;
        if (seq == 0) {
            break;
        }
    }
    if (err == MESH_ENOTFOUND) {
        err = MESH_OK;
    }
    if (err == MESH_OK && derived + to_move + 1 > RULES_FORKS_MAX) {
        verify_reject(v->res, MESH_EFORK,
                      "fork: %s signed more than %u forked headers for one incarnation: "
                      "seq %llu..%llu left out (§5.7)",
                      id, RULES_FORKS_MAX, (unsigned long long)first, (unsigned long long)last);
        node_log(w->m, MESH_LOG_WARN, "%s", v->res->why);
        return MESH_OK;
    }
    node_log(w->m, MESH_LOG_WARN,
             "fork: %s signed %zu other header(s) overlapping seq %llu..%llu; each keeps its "
             "versions under an incarnation derived from it (§5.7)",
             id, forks, (unsigned long long)first, (unsigned long long)last);
    if (err == MESH_OK) {
        err = s_move_overlapping(w, st, cid, oid, v);
    }
    if (err == MESH_OK) {
        err = store_origin_derive(
            st, oid, rules_fork_incarnation(v->set.header, v->set.header_len, v->h.incarnation),
            at);
    }
    if (err == MESH_EEXIST || err == MESH_EINVAL) { /* (an origin that chose such a number) */
        verify_reject(v->res, MESH_EFORK,
                      "fork: a set of %s would move to an incarnation taken already (§5.7)", id);
        node_log(w->m, MESH_LOG_WARN, "%s", v->res->why);
        return MESH_OK;
    }
    *moved = err == MESH_OK;
    return err;
}

/* ---- one set ---- */

/* A set of our own current incarnation that reaches beyond our own vector, or that forks
 * one of ours, proves this store was rolled back: its next commits must not reuse those
 * seqs (§5.1). */
static mesh_err_t
s_own_rollback(mesh_t *m, store_txn_t *st, const verify_set_t *v, const vv_t *vv, bool forked,
               bool *renew)
{
    uint64_t inc = 0;
    *renew = false;
    if (memcmp(v->h.origin, ident_public_key(m->ident), WIRE_ORIGIN_LEN) != 0) {
        return MESH_OK;
    }
    mesh_err_t err = store_txn_incarnation(st, &inc);
    if (err == MESH_OK && inc == v->h.incarnation) {
        *renew = forked || !vv_covers(vv, v->h.first_seq + v->h.count - 1);
    }
    return err;
}

/* Apply v's ops under number at, with at's vector in *at_vv, then save the vectors. */
static mesh_err_t
s_apply_ops(rules_t *w, store_txn_t *st, uint32_t cid, uint32_t oid, uint32_t at, vv_t *at_vv,
            verify_set_t *v, store_coll_stats_t *stats)
{
    mesh_err_t err = MESH_OK;
    for (size_t i = 0; err == MESH_OK && i < v->set.op_count; i++) {
        err = s_apply_op(w, st, cid, at, at_vv, v, i, stats);
    }
    if (err == MESH_OK && at != oid) {
        err = vv_save(at_vv, st, cid, at);
    }
    if (err == MESH_OK) {
        err = vv_save(&w->vv, st, cid, oid);
    }
    return err;
}

mesh_err_t
rules_apply_set(rules_t *w, store_txn_t *st, verify_set_t *v)
{
    mesh_t *m = w->m;
    uint32_t cid = 0, oid = 0, at = 0;
    store_coll_stats_t stats;
    bool moved = false;
    vv_t at_vv;
    if (!member_is(m, v->h.origin)) {
        bool cut_ok = false; /* a removed origin's set within its frozen cut (held.h) */
        mesh_err_t herr = held_or_cut(m, st, v, &cut_ok);
        if (herr != MESH_OK || !cut_ok) {
            return herr;
        }
    }
    mesh_err_t err = rules_coll_id(w, st, v->coll, &cid);
    if (err == MESH_OK) {
        err = store_origin_id(st, v->h.origin, v->h.incarnation, true, &oid);
    }
    if (err == MESH_OK) {
        err = store_coll_stats_get(st, cid, &stats);
    }
    if (err == MESH_OK) {
        err = s_fork_check(w, st, cid, oid, v, &at, &moved);
    }
    if (err != MESH_OK || v->res->outcome == APPLY_REJECTED) {
        return err;
    }
    vv_init(&at_vv);
    err = vv_load(&w->vv, st, cid, oid);
    if (err == MESH_OK && at != oid) {
        err = vv_load(&at_vv, st, cid, at);
    }
    bool renew = false;
    if (err == MESH_OK) {
        err = s_own_rollback(m, st, v, &w->vv, at != oid, &renew);
    }
    if (err == MESH_OK) {
        err = s_apply_ops(w, st, cid, oid, at, at == oid ? &w->vv : &at_vv, v, &stats);
    }
    vv_release(&at_vv);
    if (err == MESH_OK) {
        err = store_coll_stats_put(st, cid, &stats);
    }
    if (err == MESH_OK) {
        err = hlc_observe(st, v->h.hlc);
    }
    store_set_t existing;
    mesh_err_t found =
        err == MESH_OK ? store_set_get(st, cid, at, v->h.first_seq, &existing) : MESH_OK;
    /* Store the record when new, or to add the leaves a set first seen partial lacked. */
    if (err == MESH_OK &&
        (found == MESH_ENOTFOUND || (found == MESH_OK && !v->set.partial && existing.count == 0))) {
        /* A partial set's leaves are not all here: its versions keep their proofs. */
        store_set_t rec = {.oid = at,
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
                 "a peer holds seq %llu of ours, %s: this store was rolled back; new "
                 "incarnation %016llx",
                 (unsigned long long)(v->h.first_seq + v->h.count - 1),
                 at != oid ? "signed differently" : "beyond what this store holds",
                 (unsigned long long)inc);
    }
    if (err == MESH_OK && v->res->ops_stored) {
        w->members_changed |= strcmp(v->coll, MEMBER_COLL) == 0;
    }
    v->res->outcome =
        v->res->ops_stored || v->res->ops_superseded || moved ? APPLY_NEW : APPLY_KNOWN;
    return err;
}
