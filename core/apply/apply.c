/* core/apply.c: verifying and applying other devices' change sets.
 * Verification runs before the write transaction, over the bytes as received (a large
 * batch's sets on two threads: they are independent, pure CPU, and touch no store); the write
 * transaction then applies each set's ops by the receive rules, moves the vector, the
 * digest and the set record with them, and applies the batch's watermarks. Consecutive
 * plain new sets (an initial sync is made of them) are applied as a run, their ops in key
 * order (see "runs" below); the outcome is the same as set by set.
 * Layer: core. Third-party: none. SPDX-License-Identifier: MIT */
#include "core/apply/apply.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/node.h"
#include "core/data/hlc.h"
#include "core/data/version.h"
#include "core/data/vv.h"
#include "core/member/member.h"
#include "crypto/devid.h"
#include "crypto/hash.h"

/* A set that passed verification, with what the write needs. */
typedef struct s_vset {
    const uint8_t *bytes;
    size_t len;
    wire_set_t set;
    wire_header_t h;
    char coll[MESH_COLL_MAX + 1];
    wire_opmeta_t *ops;
    uint8_t (*leaves)[HASH_LEN]; /* one per op in the set as carried */
    const uint8_t *held_id;      /* set when it came from the held-back list */
    apply_result_t *res;
    size_t group;  /* the group it came in */
    bool borrowed; /* verified ahead (apply_check): its decoding belongs to that */
} s_vset_t;

/* A set verified ahead of its apply, on any thread (apply_check). */
struct apply_checked {
    s_vset_t v;
    apply_result_t res; /* v.res points here */
};

/* State of one batch's write body; everything in it is reset on each run. */
typedef struct s_batch {
    mesh_t *m;
    s_vset_t *vs;
    size_t n;
    const apply_group_t *groups; /* NULL for held sets retried */
    size_t ngroups;
    store_item_t *item;
    version_ctx_t ctx;
    vv_t vv;
    bool members_changed;
    struct s_run *run; /* plain new sets waiting to be applied in key order */
    bool defer_dot;    /* leave the new version's record to the caller, */
    bool dot_deferred; /* which this then says */
} s_batch_t;

/* Write the record of a new version, or leave it to the caller (b->defer_dot). */
static mesh_err_t
s_dot_put(s_batch_t *b, store_txn_t *st, uint32_t cid, const store_key_t *skey,
          const store_version_t *nv)
{
    if (b->defer_dot) {
        b->dot_deferred = true;
        return MESH_OK;
    }
    return store_dot_put(st, cid, skey, nv);
}

static void s_reject(apply_result_t *r, mesh_err_t err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
s_reject(apply_result_t *r, mesh_err_t err, const char *fmt, ...)
{
    va_list ap;
    r->outcome = APPLY_REJECTED;
    r->err = err;
    va_start(ap, fmt);
    vsnprintf(r->why, sizeof r->why, fmt, ap);
    va_end(ap);
}

/* ---- verification (no store access) ---- */

#define S_VERIFY_SPLIT_BYTES (1u << 20) /* sets to verify before a second thread helps */

/* Check one op against its value and place it in the set; computes its leaf. */
static mesh_err_t
s_verify_op(s_vset_t *v, size_t i, uint64_t *prev_seq)
{
    const wire_op_t *op = &v->set.ops[i];
    wire_opmeta_t *meta = &v->ops[i];
    apply_result_t *r = v->res;
    uint8_t vh[HASH_LEN];
    mesh_err_t err = wire_opmeta_decode(op->meta, op->meta_len, meta);
    if (err != MESH_OK) {
        s_reject(r, err, "op %zu: malformed metadata", i);
        return err;
    }
    uint64_t last = v->h.first_seq + v->h.count - 1;
    bool in_order = v->set.partial ? meta->seq > *prev_seq : meta->seq == v->h.first_seq + i;
    if (meta->seq < v->h.first_seq || meta->seq > last || !in_order) {
        s_reject(r, MESH_ESEQGAP, "op seq %llu is outside or out of order in %llu..%llu",
                 (unsigned long long)meta->seq, (unsigned long long)v->h.first_seq,
                 (unsigned long long)last);
        return MESH_ESEQGAP;
    }
    *prev_seq = meta->seq;
    if (meta->kind == WIRE_PUT) {
        if (!op->value || op->value_len != meta->value_len) {
            s_reject(r, MESH_EPROTO, "op seq %llu: value missing or of the wrong length",
                     (unsigned long long)meta->seq);
            return MESH_EPROTO;
        }
        hash_tagged(HASH_TAG_VALUE, op->value, op->value_len, vh);
        if (memcmp(vh, meta->vhash, HASH_LEN) != 0) {
            s_reject(r, MESH_EDIGEST, "op seq %llu: value does not match its signed hash",
                     (unsigned long long)meta->seq);
            return MESH_EDIGEST;
        }
    } else if (op->value) {
        s_reject(r, MESH_EPROTO, "op seq %llu: a deletion carries a value",
                 (unsigned long long)meta->seq);
        return MESH_EPROTO;
    }
    hash_tagged(HASH_TAG_LEAF, op->meta, op->meta_len, v->leaves[i]);
    if (v->set.partial && hash_merkle_verify(v->leaves[i], meta->seq - v->h.first_seq, v->h.count,
                                             (const uint8_t(*)[HASH_LEN])op->proof, op->proof_count,
                                             v->h.root) != MESH_OK) {
        s_reject(r, MESH_EDIGEST, "op seq %llu: Merkle proof does not lead to the signed root",
                 (unsigned long long)meta->seq);
        return MESH_EDIGEST;
    }
    if (strcmp(v->coll, MEMBER_COLL) == 0 && member_check_op(meta, v->h.origin) != MESH_OK) {
        s_reject(r, MESH_EPROTO, "op seq %llu: not a membership record of its signer",
                 (unsigned long long)meta->seq);
        return MESH_EPROTO;
    }
    return MESH_OK;
}

/* Decode the header and check the signature over the bytes as received. */
static mesh_err_t
s_verify_header(s_vset_t *v)
{
    apply_result_t *r = v->res;
    mesh_err_t err = wire_set_decode(v->bytes, v->len, &v->set);
    if (err != MESH_OK) {
        s_reject(r, err, "set does not decode (%s)", mesh_strerror(err));
        return err;
    }
    err = wire_header_decode(v->set.header, v->set.header_len, &v->h);
    if (err != MESH_OK) {
        s_reject(r, err, "header does not decode (%s)", mesh_strerror(err));
        return err;
    }
    memcpy(r->origin, v->h.origin, WIRE_ORIGIN_LEN);
    r->first_seq = v->h.first_seq;
    r->count = v->h.count;
    if (ident_verify(v->h.origin, v->set.header, v->set.header_len, v->set.sig) != MESH_OK) {
        s_reject(r, MESH_EBADSIG, "signature does not verify against the origin's key");
        return MESH_EBADSIG;
    }
    memcpy(v->coll, v->h.coll, v->h.coll_len);
    v->coll[v->h.coll_len] = '\0';
    if (memchr(v->coll, '\0', v->h.coll_len) ||
        (v->coll[0] == '_' && strcmp(v->coll, MEMBER_COLL) != 0)) {
        s_reject(r, MESH_EPROTO, "collection name '%s' is not allowed", v->coll);
        return MESH_EPROTO;
    }
    if (!v->set.partial && v->set.op_count != v->h.count) {
        s_reject(r, MESH_EPROTO, "a full set with %zu ops for a header of %u", v->set.op_count,
                 v->h.count);
        return MESH_EPROTO;
    }
    return MESH_OK;
}

static mesh_err_t
s_verify(s_vset_t *v)
{
    uint8_t root[HASH_LEN];
    uint64_t prev = 0;
    mesh_err_t err = s_verify_header(v);
    if (err != MESH_OK) {
        return err;
    }
    v->ops = calloc(v->set.op_count, sizeof *v->ops);
    v->leaves = malloc(v->set.op_count * sizeof *v->leaves);
    if (!v->ops || !v->leaves) {
        s_reject(v->res, MESH_ENOMEM, "out of memory");
        return MESH_ENOMEM;
    }
    for (size_t i = 0; i < v->set.op_count; i++) {
        err = s_verify_op(v, i, &prev);
        if (err != MESH_OK) {
            return err;
        }
    }
    if (!v->set.partial) {
        hash_merkle_root((const uint8_t(*)[HASH_LEN])v->leaves, v->set.op_count, root);
        if (memcmp(root, v->h.root, HASH_LEN) != 0) {
            s_reject(v->res, MESH_EDIGEST, "ops do not match the signed Merkle root");
            return MESH_EDIGEST;
        }
    }
    return MESH_OK;
}

/* Sets verified by a second thread: every other one, from the second. */
typedef struct s_verify_job {
    s_vset_t *vs;
    size_t n;
} s_verify_job_t;

static void *
s_verify_odd(void *arg)
{
    s_verify_job_t *job = arg;
    for (size_t i = 1; i < job->n; i += 2) {
        if (!job->vs[i].borrowed) {
            (void)s_verify(&job->vs[i]);
        }
    }
    return NULL;
}

/* Verify every set (the outcome lands in its result). Sets are independent and checking
 * them is pure CPU (hashes, a signature, decoding), so with several large sets a second
 * thread takes every other one while the store is not touched. */
static void
s_verify_all(s_vset_t *vs, size_t n)
{
    size_t bytes = 0;
    for (size_t i = 0; i < n; i++) {
        if (!vs[i].borrowed) {
            memset(vs[i].res, 0, sizeof *vs[i].res);
            bytes += vs[i].len;
        }
    }
    s_verify_job_t job = {vs, n};
    pthread_t helper;
    bool split = n >= 2 && bytes >= S_VERIFY_SPLIT_BYTES &&
                 pthread_create(&helper, NULL, s_verify_odd, &job) == 0;
    for (size_t i = 0; i < n; i += split ? 2 : 1) {
        if (!vs[i].borrowed) {
            (void)s_verify(&vs[i]);
        }
    }
    if (split) {
        pthread_join(helper, NULL);
    }
}

static void
s_vset_release(s_vset_t *v)
{
    if (v->borrowed) {
        return;
    }
    wire_set_release(&v->set);
    free(v->ops);
    free(v->leaves);
}

mesh_err_t
apply_check(const uint8_t *set, size_t len, apply_checked_t **out)
{
    if (out) {
        *out = NULL;
    }
    if (!set || !out) {
        return MESH_EINVAL;
    }
    apply_checked_t *c = calloc(1, sizeof *c);
    if (!c) {
        return MESH_ENOMEM;
    }
    c->v = (s_vset_t){.bytes = set, .len = len, .res = &c->res};
    if (s_verify(&c->v) == MESH_ENOMEM) {
        apply_checked_free(c);
        return MESH_ENOMEM;
    }
    *out = c;
    return MESH_OK;
}

void
apply_checked_free(apply_checked_t *c)
{
    if (c) {
        s_vset_release(&c->v);
        free(c);
    }
}

/* Take set i of group g as checked ahead: the vset borrows c's decoding, and the result
 * of the verification becomes the set's. Returns false when c is not of these bytes. */
static bool
s_borrow(s_vset_t *v, const apply_checked_t *c, const apply_group_t *g, size_t i, size_t gi)
{
    if (!c || c->v.bytes != g->sets[i] || c->v.len != g->lens[i]) {
        return false;
    }
    *v = c->v;
    v->res = &g->results[i];
    *v->res = c->res;
    v->group = gi;
    v->borrowed = true;
    return true;
}

/* ---- applying one op: the receive rules ---- */

/* The version op i of v makes (its dot: oid, the op's seq), borrowing the set's bytes. */
static store_version_t
s_new_version(const s_vset_t *v, size_t i, uint32_t oid)
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
s_store_op(s_batch_t *b, store_txn_t *st, uint32_t cid, s_vset_t *v, size_t i, store_version_t *nv,
           store_coll_stats_t *stats)
{
    const wire_opmeta_t *meta = &v->ops[i];
    store_item_t *item = b->item;
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
        return MESH_ETOOBIG;
    }
    item->versions[kept++] = *nv;
    version_digest_apply(stats->digest, v->h.origin, v->h.incarnation, nv->meta, nv->meta_len,
                         false);
    stats->versions++;
    err = store_item_put(st, cid, &skey, item->versions, kept);
    if (err == MESH_OK) {
        err = s_dot_put(b, st, cid, &skey, nv);
    }
    return err;
}

/* Store op i of v unless a local version's context covers it (rule b: then only its dot
 * is new here); the vector is the caller's. */
static mesh_err_t
s_store_or_supersede(s_batch_t *b, store_txn_t *st, uint32_t cid, uint32_t oid, s_vset_t *v,
                     size_t i, store_coll_stats_t *stats)
{
    const wire_opmeta_t *meta = &v->ops[i];
    wire_dot_t dot;
    store_key_t skey;
    memcpy(dot.origin, v->h.origin, WIRE_ORIGIN_LEN);
    dot.incarnation = v->h.incarnation;
    dot.seq = meta->seq;
    node_store_key(meta->key, meta->key_len, &skey);
    store_version_t nv = s_new_version(v, i, oid);
    /* A key this store has never held (all of them in an initial sync): nothing can cover
     * or supersede the op, and one search of the key index writes it. */
    mesh_err_t err = store_item_add(st, cid, &skey, &nv);
    if (err == MESH_OK) {
        stats->keys++;
        stats->versions++;
        version_digest_apply(stats->digest, v->h.origin, v->h.incarnation, nv.meta, nv.meta_len,
                             false);
        v->res->ops_stored++;
        return s_dot_put(b, st, cid, &skey, &nv);
    }
    if (err == MESH_EEXIST) {
        err = store_item_get(st, cid, &skey, b->item);
    }
    bool obsolete = false;
    for (size_t j = 0; err == MESH_OK && j < b->item->count && !obsolete; j++) {
        const store_version_t *lv = &b->item->versions[j];
        obsolete = lv->oid == oid && lv->seq == meta->seq;
        if (!obsolete) {
            err = s_local_covers(lv, &dot, &obsolete);
        }
    }
    if (err == MESH_OK && !obsolete) {
        err = s_store_op(b, st, cid, v, i, &nv, stats);
        v->res->ops_stored++;
    } else if (err == MESH_OK) {
        v->res->ops_superseded++; /* rule (b): only its dot is new here */
    }
    return err;
}

/* Apply op i of v: (a) covered by the vector: nothing; (b) covered by a local version's
 * context: count its dot only; (c) otherwise store it. force skips (a) for a fork winner. */
static mesh_err_t
s_apply_op(s_batch_t *b, store_txn_t *st, uint32_t cid, uint32_t oid, s_vset_t *v, size_t i,
           bool force, store_coll_stats_t *stats)
{
    uint64_t seq = v->ops[i].seq;
    if (!force && vv_covers(&b->vv, seq)) {
        v->res->ops_old++;
        return MESH_OK;
    }
    mesh_err_t err = s_store_or_supersede(b, st, cid, oid, v, i, stats);
    return err == MESH_OK ? vv_add(&b->vv, seq) : err;
}

/* ---- the fork rule (§5.7) ---- */

/* Remove every live version of a stored set that lost to another header. */
static mesh_err_t
s_drop_set(s_batch_t *b, store_txn_t *st, uint32_t cid, uint32_t oid, const store_set_t *lost,
           uint32_t count, store_coll_stats_t *stats)
{
    for (uint64_t seq = lost->first_seq; seq < lost->first_seq + count; seq++) {
        store_cursor_t *cur = NULL;
        uint64_t at = 0;
        mesh_err_t err = store_dots_open(st, cid, oid, seq, &cur);
        if (err == MESH_OK) {
            err = store_dots_next(cur, &at, b->item);
        }
        /* The key lives in LMDB memory about to be rewritten: copy it before the cursor
         * closes. */
        uint8_t key[MESH_KEY_MAX];
        size_t key_len = err == MESH_OK ? b->item->key_len : 0;
        if (err == MESH_OK && key_len <= sizeof key) {
            memcpy(key, b->item->key, key_len);
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
            err = store_item_get(st, cid, &skey, b->item);
        }
        if (err != MESH_OK) {
            return err;
        }
        size_t kept = 0;
        for (size_t j = 0; j < b->item->count && err == MESH_OK; j++) {
            store_version_t lv = b->item->versions[j];
            if (lv.oid == oid && lv.seq == seq) {
                uint8_t origin[WIRE_ORIGIN_LEN];
                uint64_t inc = 0;
                err = store_origin_get(st, oid, origin, &inc);
                version_digest_apply(stats->digest, origin, inc, lv.meta, lv.meta_len, true);
                stats->versions--;
            } else {
                b->item->versions[kept++] = lv;
            }
        }
        if (err == MESH_OK && kept == 0) {
            stats->keys--;
        }
        if (err == MESH_OK) {
            err = store_item_put(st, cid, &skey, b->item->versions, kept);
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
static mesh_err_t
s_other_header(store_txn_t *st, uint32_t cid, uint32_t oid, const s_vset_t *v, store_set_t *s,
               wire_header_t *sh, bool *other)
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
s_fork_check(s_batch_t *b, store_txn_t *st, uint32_t cid, uint32_t oid, s_vset_t *v,
             store_coll_stats_t *stats, bool *force)
{
    store_set_t s;
    wire_header_t sh;
    bool other = false;
    *force = false;
    uint64_t last = v->h.first_seq + v->h.count - 1;
    mesh_err_t err = s_other_header(st, cid, oid, v, &s, &sh, &other);
    if (err != MESH_OK || !other) {
        return err; /* no overlap, or the same set again */
    }
    uint8_t mine[HASH_LEN], theirs[HASH_LEN];
    hash_tagged(HASH_TAG_NODE, v->set.header, v->set.header_len, mine);
    hash_tagged(HASH_TAG_NODE, s.header, s.header_len, theirs);
    char id[MESH_ID_TEXT_LEN + 1];
    devid_format(v->h.origin, id);
    if (memcmp(mine, theirs, HASH_LEN) > 0) {
        s_reject(v->res, MESH_EFORK,
                 "fork: %s signed another header for seq %llu..%llu, which wins (§5.7)", id,
                 (unsigned long long)v->h.first_seq, (unsigned long long)last);
        node_log(b->m, MESH_LOG_WARN, "%s", v->res->why);
        return MESH_OK;
    }
    node_log(b->m, MESH_LOG_WARN,
             "fork: %s signed two headers for seq %llu..%llu; the stored one loses (§5.7)", id,
             (unsigned long long)s.first_seq, (unsigned long long)(s.first_seq + sh.count - 1));
    *force = true;
    return s_drop_set(b, st, cid, oid, &s, sh.count, stats);
}

/* ---- one set, and the batch ---- */

/* A set of our own current incarnation that reaches beyond our own vector proves this store
 * was rolled back: its next commits must not reuse those seqs (§5.1). */
static mesh_err_t
s_own_rollback(mesh_t *m, store_txn_t *st, const s_vset_t *v, const vv_t *vv, bool *renew)
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

static mesh_err_t
s_apply_set(s_batch_t *b, store_txn_t *st, s_vset_t *v)
{
    mesh_t *m = b->m;
    uint32_t cid = 0, oid = 0;
    store_coll_stats_t stats;
    bool force = false;
    uint8_t id[HASH_LEN];
    if (!member_is(m, v->h.origin)) {
        v->res->outcome = APPLY_HELD;
        hash_tagged(HASH_TAG_NODE, v->bytes, v->len, id);
        return store_held_put(st, id, v->h.origin, v->bytes, v->len);
    }
    mesh_err_t err = store_coll_id(st, v->coll, true, &cid);
    if (err == MESH_OK) {
        err = store_origin_id(st, v->h.origin, v->h.incarnation, true, &oid);
    }
    if (err == MESH_OK) {
        err = store_coll_stats_get(st, cid, &stats);
    }
    if (err == MESH_OK) {
        err = s_fork_check(b, st, cid, oid, v, &stats, &force);
    }
    if (err != MESH_OK || v->res->outcome == APPLY_REJECTED) {
        return err;
    }
    err = vv_load(&b->vv, st, cid, oid);
    bool renew = false;
    if (err == MESH_OK) {
        err = s_own_rollback(m, st, v, &b->vv, &renew);
    }
    for (size_t i = 0; err == MESH_OK && i < v->set.op_count; i++) {
        err = s_apply_op(b, st, cid, oid, v, i, force, &stats);
    }
    if (err == MESH_OK) {
        err = vv_save(&b->vv, st, cid, oid);
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
        b->members_changed |= strcmp(v->coll, MEMBER_COLL) == 0;
    }
    v->res->outcome =
        v->res->ops_stored || v->res->ops_superseded || force ? APPLY_NEW : APPLY_KNOWN;
    return err;
}

/* Was any set of origin (in group g) held or rejected? Then its watermark waits. */
static bool
s_origin_blocked(const s_batch_t *b, size_t g, const wire_mark_t *mk)
{
    for (size_t i = 0; i < b->n; i++) {
        const apply_result_t *r = b->vs[i].res;
        if (b->vs[i].group != g) {
            continue;
        }
        if ((r->outcome == APPLY_HELD || r->outcome == APPLY_REJECTED) &&
            memcmp(r->origin, mk->origin, WIRE_ORIGIN_LEN) == 0) {
            return true;
        }
    }
    return false;
}

static uint64_t s_run_end(const s_batch_t *b, uint32_t cid, uint32_t oid);

static mesh_err_t
s_apply_marks(s_batch_t *b, store_txn_t *st, size_t g)
{
    const apply_marks_t *am = b->groups[g].marks;
    char coll[MESH_COLL_MAX + 1];
    uint32_t cid = 0, oid = 0;
    if (!am || am->count == 0 || am->coll_len == 0 || am->coll_len > MESH_COLL_MAX) {
        return MESH_OK;
    }
    memcpy(coll, am->coll, am->coll_len);
    coll[am->coll_len] = '\0';
    mesh_err_t err = MESH_OK;
    bool have_cid = false;
    for (size_t i = 0; err == MESH_OK && i < am->count; i++) {
        const wire_mark_t *mk = &am->marks[i];
        if (!member_is(b->m, mk->origin) || s_origin_blocked(b, g, mk)) {
            continue; /* nothing is created for a mark that does not apply */
        }
        if (!have_cid) {
            err = store_coll_id(st, coll, true, &cid);
            have_cid = err == MESH_OK;
        }
        if (err == MESH_OK) {
            err = store_origin_id(st, mk->origin, mk->incarnation, true, &oid);
        }
        if (err == MESH_OK) {
            err = vv_load(&b->vv, st, cid, oid);
        }
        /* A range (from, seq] holds only above all that is held up to from: the base, or
         * the run's sets of the origin waiting to be written, which lie right above it (the
         * run raises the base to their end when it writes them: a raise past it now is
         * the same in the end). */
        uint64_t held = b->vv.base;
        if (err == MESH_OK && mk->from > held) {
            uint64_t end = s_run_end(b, cid, oid);
            held = end > held ? end : held;
        }
        if (err == MESH_OK && mk->seq > b->vv.base && mk->from <= held) {
            vv_raise(&b->vv, mk->seq);
            err = vv_save(&b->vv, st, cid, oid);
        }
    }
    return err;
}

/* ---- runs: plain new sets applied together, their ops in key order ----
 * A set is plain when it is full, verified, of a user collection, from a member other than
 * this device, starts right above all this store holds of its origin (the vector has no
 * extras) and no stored header reaches into its range: then there is no fork to check and
 * the vector covers none of its ops. An initial sync is made of such sets. Consecutive
 * plain sets form a run; their ops are applied in the order of their keys (the ops of one
 * key keep their order), because the key index is the one tree whose keys arrive at
 * random: in key order a transaction walks its pages once, in turn, instead of jumping
 * between them for every op (1M-item sync: B's apply 5.2 s -> 4.3 s of CPU). Each op
 * still goes through the rules of s_store_or_supersede; the new versions' records are
 * written after, in seq order, the order of their tree. */

#define S_RUN_COLLS 8u /* collections one run may span */

typedef struct s_run_set {
    s_vset_t *v;
    uint32_t cid, oid;
} s_run_set_t;

typedef struct s_run_op {
    uint64_t prefix; /* the key's first 8 bytes, big-endian, zero-padded */
    const uint8_t *key;
    uint32_t key_len;
    uint32_t cid;
    uint32_t set;   /* index in the run's sets */
    uint32_t op;    /* index in its set */
    uint32_t place; /* index among all the run's ops, in set order */
} s_run_op_t;

typedef struct s_run {
    s_run_set_t *sets; /* up to b->n */
    size_t nsets;
    s_run_op_t *ops;
    uint8_t *deferred; /* per op, in set order: its record is still to write */
    size_t ops_cap;
    uint32_t cids[S_RUN_COLLS];
    store_coll_stats_t stats[S_RUN_COLLS];
    size_t ncolls;
} s_run_t;

/* The last seq of the run's sets of (cid, oid), or 0 when it holds none: they follow each
 * other right above the base (s_run_add), so all up to it is held once they are written. */
static uint64_t
s_run_end(const s_batch_t *b, uint32_t cid, uint32_t oid)
{
    uint64_t end = 0;
    for (size_t i = 0; i < b->run->nsets; i++) {
        const s_run_set_t *rs = &b->run->sets[i];
        if (rs->cid == cid && rs->oid == oid) {
            end = rs->v->h.first_seq + rs->v->h.count - 1;
        }
    }
    return end;
}

static int
s_run_op_cmp(const void *pa, const void *pb)
{
    const s_run_op_t *a = pa, *b = pb;
    if (a->cid != b->cid) {
        return a->cid < b->cid ? -1 : 1;
    }
    if (a->prefix != b->prefix) {
        return a->prefix < b->prefix ? -1 : 1;
    }
    size_t n = a->key_len < b->key_len ? a->key_len : b->key_len;
    int c = memcmp(a->key, b->key, n);
    if (c != 0 || a->key_len != b->key_len) {
        return c != 0 ? c : (a->key_len < b->key_len ? -1 : 1);
    }
    if (a->set != b->set) { /* one key: the order the sets came in, then seq */
        return a->set < b->set ? -1 : 1;
    }
    return a->op < b->op ? -1 : (a->op > b->op);
}

/* The stats slot of cid in the run, loading it on first use; NULL when the run already
 * spans S_RUN_COLLS other collections. */
static mesh_err_t
s_run_stats(s_run_t *r, store_txn_t *st, uint32_t cid, store_coll_stats_t **out)
{
    *out = NULL;
    for (size_t i = 0; i < r->ncolls; i++) {
        if (r->cids[i] == cid) {
            *out = &r->stats[i];
            return MESH_OK;
        }
    }
    if (r->ncolls == S_RUN_COLLS) {
        return MESH_OK;
    }
    mesh_err_t err = store_coll_stats_get(st, cid, &r->stats[r->ncolls]);
    if (err == MESH_OK) {
        r->cids[r->ncolls] = cid;
        *out = &r->stats[r->ncolls++];
    }
    return err;
}

/* Apply the run's sets: their ops in key order, then per set (in order) its vector, its
 * record and the clock; then the collections' stats. */
static mesh_err_t
s_run_flush(s_batch_t *b, store_txn_t *st)
{
    s_run_t *r = b->run;
    mesh_err_t err = MESH_OK;
    if (r->nsets == 0) {
        return MESH_OK;
    }
    size_t nops = 0;
    for (size_t i = 0; i < r->nsets; i++) {
        nops += r->sets[i].v->set.op_count;
    }
    if (nops > r->ops_cap) {
        s_run_op_t *ops = realloc(r->ops, nops * sizeof *ops);
        r->ops = ops ? ops : r->ops;
        uint8_t *deferred = ops ? realloc(r->deferred, nops) : NULL;
        r->deferred = deferred ? deferred : r->deferred;
        if (!deferred) {
            return MESH_ENOMEM;
        }
        r->ops_cap = nops;
    }
    memset(r->deferred, 0, nops);
    size_t k = 0;
    for (size_t i = 0; i < r->nsets; i++) {
        const s_vset_t *v = r->sets[i].v;
        for (size_t j = 0; j < v->set.op_count; j++, k++) {
            const wire_opmeta_t *meta = &v->ops[j];
            uint64_t prefix = 0;
            for (size_t c = 0; c < 8; c++) {
                prefix = (prefix << 8) | (c < meta->key_len ? meta->key[c] : 0);
            }
            r->ops[k] = (s_run_op_t){.prefix = prefix,
                                     .key = meta->key,
                                     .key_len = (uint32_t)meta->key_len,
                                     .cid = r->sets[i].cid,
                                     .set = (uint32_t)i,
                                     .op = (uint32_t)j,
                                     .place = (uint32_t)k};
        }
    }
    qsort(r->ops, nops, sizeof *r->ops, s_run_op_cmp);
    /* The key index in key order. A new version's record waits for the walk in seq order
     * below (the dots tree takes keys in order too), unless the next op is of the same key
     * and will read it. */
    for (size_t i = 0; err == MESH_OK && i < nops; i++) {
        const s_run_op_t *o = &r->ops[i];
        s_run_set_t *rs = &r->sets[o->set];
        store_coll_stats_t *stats = NULL;
        err = s_run_stats(r, st, o->cid, &stats);
        if (err == MESH_OK && !stats) {
            err = MESH_ECORRUPT; /* s_run_add keeps a run within S_RUN_COLLS */
        }
        const s_run_op_t *next = i + 1 < nops ? &r->ops[i + 1] : NULL;
        b->defer_dot = !next || next->cid != o->cid || next->key_len != o->key_len ||
                       memcmp(next->key, o->key, o->key_len) != 0;
        b->dot_deferred = false;
        if (err == MESH_OK) {
            err = s_store_or_supersede(b, st, rs->cid, rs->oid, rs->v, o->op, stats);
        }
        r->deferred[o->place] = b->dot_deferred;
        b->defer_dot = false;
    }
    size_t k2 = 0;
    for (size_t i = 0; err == MESH_OK && i < r->nsets; i++) {
        const s_vset_t *v = r->sets[i].v;
        for (size_t j = 0; err == MESH_OK && j < v->set.op_count; j++, k2++) {
            if (r->deferred[k2]) {
                store_key_t skey;
                node_store_key(v->ops[j].key, v->ops[j].key_len, &skey);
                store_version_t nv = s_new_version(v, j, r->sets[i].oid);
                err = store_dot_put(st, r->sets[i].cid, &skey, &nv);
            }
        }
    }
    for (size_t i = 0; err == MESH_OK && i < r->nsets; i++) {
        s_run_set_t *rs = &r->sets[i];
        s_vset_t *v = rs->v;
        err = vv_load(&b->vv, st, rs->cid, rs->oid);
        if (err == MESH_OK) {
            vv_raise(&b->vv, v->h.first_seq + v->h.count - 1);
            err = vv_save(&b->vv, st, rs->cid, rs->oid);
        }
        if (err == MESH_OK) {
            err = hlc_observe(st, v->h.hlc);
        }
        if (err == MESH_OK) {
            store_set_t rec = {.oid = rs->oid,
                               .first_seq = v->h.first_seq,
                               .header = v->set.header,
                               .header_len = (uint32_t)v->set.header_len,
                               .sig = v->set.sig,
                               .leaves = &v->leaves[0][0],
                               .count = v->h.count};
            err = store_set_put(st, rs->cid, &rec);
        }
        v->res->outcome = v->res->ops_stored || v->res->ops_superseded ? APPLY_NEW : APPLY_KNOWN;
    }
    for (size_t i = 0; err == MESH_OK && i < r->ncolls; i++) {
        err = store_coll_stats_put(st, r->cids[i], &r->stats[i]);
    }
    r->nsets = 0;
    r->ncolls = 0;
    return err;
}

/* Take v into the run when it is plain (see above); *taken says whether it was. A set that
 * is not plain first ends the run, so sets keep their order. */
static mesh_err_t
s_run_add(s_batch_t *b, store_txn_t *st, s_vset_t *v, bool *taken)
{
    s_run_t *r = b->run;
    uint32_t cid = 0, oid = 0;
    *taken = false;
    bool plain = !v->set.partial && !v->held_id && v->res->outcome != APPLY_REJECTED &&
                 strcmp(v->coll, MEMBER_COLL) != 0 && member_is(b->m, v->h.origin) &&
                 memcmp(v->h.origin, ident_public_key(b->m->ident), WIRE_ORIGIN_LEN) != 0;
    mesh_err_t err = MESH_OK;
    if (plain) {
        err = store_coll_id(st, v->coll, true, &cid);
        if (err == MESH_OK) {
            err = store_origin_id(st, v->h.origin, v->h.incarnation, true, &oid);
        }
        /* right above what is held: the last set of this origin in the run, or the store */
        uint64_t end = err == MESH_OK ? s_run_end(b, cid, oid) : 0;
        if (err == MESH_OK && end) {
            plain = end + 1 == v->h.first_seq;
        } else if (err == MESH_OK) {
            err = vv_load(&b->vv, st, cid, oid);
            plain = err == MESH_OK && b->vv.count == 0 && b->vv.base + 1 == v->h.first_seq;
        }
        if (err == MESH_OK && plain) { /* (a set seen partial may reach beyond the base) */
            store_set_t s;
            wire_header_t sh;
            bool other = false;
            err = s_other_header(st, cid, oid, v, &s, &sh, &other);
            plain = !other;
        }
        store_coll_stats_t *stats = NULL;
        if (err == MESH_OK && plain) {
            err = s_run_stats(r, st, cid, &stats);
        }
        if (err == MESH_OK && plain && !stats) {
            err = s_run_flush(b, st); /* a run spans at most S_RUN_COLLS collections */
            if (err == MESH_OK) {
                err = s_run_stats(r, st, cid, &stats);
            }
        }
    }
    if (err != MESH_OK) {
        return err;
    }
    if (!plain) {
        return s_run_flush(b, st);
    }
    r->sets[r->nsets++] = (s_run_set_t){.v = v, .cid = cid, .oid = oid};
    *taken = true;
    return MESH_OK;
}

static mesh_err_t
s_batch_body(store_txn_t *st, void *arg)
{
    s_batch_t *b = arg;
    size_t g = 0; /* groups before g have their watermarks applied */
    b->members_changed = false;
    b->run->nsets = 0;
    b->run->ncolls = 0;
    for (size_t i = 0; i < b->n; i++) {
        s_vset_t *v = &b->vs[i];
        /* A group's watermarks go right after its sets, before the next group's, as when
         * each group is applied alone: a watermark may cover a dot its sets lack (a
         * superseded op, left out of a partial set), and the sets of the next groups would
         * otherwise pile up in the vector's capped extras above that gap. */
        for (; g < b->ngroups && g < v->group; g++) {
            mesh_err_t err = s_apply_marks(b, st, g);
            if (err != MESH_OK) {
                return err;
            }
        }
        if (v->res->outcome == APPLY_REJECTED && v->res->err != MESH_EFORK) {
            continue; /* failed verification */
        }
        /* Reset what a previous run of this body (after the map grew) left. */
        v->res->outcome = APPLY_NEW;
        v->res->err = MESH_OK;
        v->res->ops_stored = v->res->ops_old = v->res->ops_superseded = 0;
        bool taken = false;
        mesh_err_t err = s_run_add(b, st, v, &taken);
        if (err != MESH_OK) {
            return err;
        }
        if (taken) {
            continue;
        }
        err = s_apply_set(b, st, v);
        if (err == MESH_OK && v->held_id && v->res->outcome != APPLY_HELD) {
            err = store_held_del(st, v->held_id);
        }
        if (err != MESH_OK) {
            return err;
        }
    }
    mesh_err_t ferr = s_run_flush(b, st);
    if (ferr != MESH_OK) {
        return ferr;
    }
    for (; g < b->ngroups; g++) {
        mesh_err_t err = s_apply_marks(b, st, g);
        if (err != MESH_OK) {
            return err;
        }
    }
    return MESH_OK;
}

static mesh_err_t s_retry_held(mesh_t *m, int depth);

/* After held sets were retried, a set of this batch that is no longer held was applied. */
static mesh_err_t
s_update_held(mesh_t *m, s_batch_t *b)
{
    store_txn_t *txn = NULL;
    mesh_err_t err = store_read_begin(m->store, &txn);
    for (size_t i = 0; err == MESH_OK && i < b->n; i++) {
        uint8_t id[HASH_LEN];
        if (b->vs[i].res->outcome != APPLY_HELD) {
            continue;
        }
        hash_tagged(HASH_TAG_NODE, b->vs[i].bytes, b->vs[i].len, id);
        err = store_held_has(txn, id);
        if (err == MESH_ENOTFOUND) {
            b->vs[i].res->outcome = APPLY_NEW;
            err = MESH_OK;
        }
    }
    store_read_end(txn);
    return err;
}

/* Held sets copied out of the store (the read transaction ends before applying). */
typedef struct s_held {
    uint8_t **copies; /* each: id (32 bytes) then the set bytes */
    const uint8_t **sets;
    const uint8_t **ids;
    size_t *lens;
    size_t n, cap;
} s_held_t;

/* Verify and apply the groups, or (groups NULL) the held sets h. */
static mesh_err_t
s_batch(mesh_t *m, const apply_group_t *groups, size_t ngroups, const s_held_t *h,
        apply_result_t *held_results, int depth)
{
    s_batch_t b = {.m = m, .groups = groups, .ngroups = groups ? ngroups : 0};
    mesh_err_t err = MESH_OK;
    size_t n = h ? h->n : 0;
    for (size_t g = 0; g < b.ngroups; g++) {
        n += groups[g].n;
    }
    b.n = n;
    s_run_t run = {.sets = calloc(n ? n : 1, sizeof *run.sets)};
    b.run = &run;
    b.vs = calloc(n ? n : 1, sizeof *b.vs);
    b.item = malloc(sizeof *b.item);
    version_ctx_init(&b.ctx);
    vv_init(&b.vv);
    if (!b.vs || !b.item || !run.sets) {
        err = MESH_ENOMEM;
        goto out;
    }
    size_t k = 0;
    for (size_t g = 0; g < b.ngroups; g++) {
        for (size_t i = 0; i < groups[g].n; i++, k++) {
            if (groups[g].checked && s_borrow(&b.vs[k], groups[g].checked[i], &groups[g], i, g)) {
                continue;
            }
            b.vs[k] = (s_vset_t){.bytes = groups[g].sets[i],
                                 .len = groups[g].lens[i],
                                 .res = &groups[g].results[i],
                                 .group = g};
        }
    }
    for (size_t i = 0; h && i < h->n; i++, k++) {
        b.vs[k] = (s_vset_t){
            .bytes = h->sets[i], .len = h->lens[i], .res = &held_results[i], .held_id = h->ids[i]};
    }
    s_verify_all(b.vs, n);
    err = store_write(m->store, s_batch_body, &b);
    if (err != MESH_OK) {
        node_fail_store(m, err, "apply");
        goto out;
    }
    if (b.members_changed) {
        err = member_reload(m);
        if (err == MESH_OK) {
            err = s_retry_held(m, depth + 1);
        }
        if (err == MESH_OK) {
            err = s_update_held(m, &b);
        }
    }
out:
    for (size_t i = 0; b.vs && i < n; i++) {
        s_vset_release(&b.vs[i]);
    }
    free(b.vs);
    free(b.item);
    free(run.sets);
    free(run.ops);
    free(run.deferred);
    version_ctx_release(&b.ctx);
    vv_release(&b.vv);
    return err;
}

static void
s_held_release(s_held_t *h)
{
    for (size_t i = 0; i < h->n; i++) {
        free(h->copies[i]);
    }
    free(h->copies);
    free(h->sets);
    free(h->ids);
    free(h->lens);
}

static mesh_err_t
s_held_add(s_held_t *h, const uint8_t *id, const uint8_t *set, size_t len)
{
    if (h->n == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 16;
        uint8_t **c = realloc(h->copies, cap * sizeof *c);
        const uint8_t **s = c ? realloc(h->sets, cap * sizeof *s) : NULL;
        const uint8_t **i = s ? realloc(h->ids, cap * sizeof *i) : NULL;
        size_t *l = i ? realloc(h->lens, cap * sizeof *l) : NULL;
        h->copies = c ? c : h->copies;
        h->sets = s ? s : h->sets;
        h->ids = i ? i : h->ids;
        h->lens = l ? l : h->lens;
        if (!l) {
            return MESH_ENOMEM;
        }
        h->cap = cap;
    }
    uint8_t *copy = malloc(STORE_HELD_ID_LEN + len);
    if (!copy) {
        return MESH_ENOMEM;
    }
    memcpy(copy, id, STORE_HELD_ID_LEN);
    memcpy(copy + STORE_HELD_ID_LEN, set, len);
    h->copies[h->n] = copy;
    h->ids[h->n] = copy;
    h->sets[h->n] = copy + STORE_HELD_ID_LEN;
    h->lens[h->n] = len;
    h->n++;
    return MESH_OK;
}

/* Apply the held sets whose origin is now a member. */
static mesh_err_t
s_retry_held(mesh_t *m, int depth)
{
    store_txn_t *txn = NULL;
    store_cursor_t *cur = NULL;
    s_held_t h = {0};
    if (depth > 64) {
        return MESH_OK; /* each level needs a membership change: it cannot go on for long */
    }
    mesh_err_t err = store_read_begin(m->store, &txn);
    if (err == MESH_OK) {
        err = store_held_open(txn, &cur);
    }
    while (err == MESH_OK) {
        const uint8_t *id = NULL, *origin = NULL, *set = NULL;
        size_t len = 0;
        err = store_held_next(cur, &id, &origin, &set, &len);
        if (err == MESH_OK && member_is(m, origin)) {
            err = s_held_add(&h, id, set, len);
        }
    }
    store_cursor_close(cur);
    store_read_end(txn);
    if (err == MESH_ENOTFOUND) {
        err = MESH_OK;
    }
    apply_result_t *res = h.n ? calloc(h.n, sizeof *res) : NULL;
    if (err == MESH_OK && h.n && !res) {
        err = MESH_ENOMEM;
    }
    if (err == MESH_OK && h.n) {
        err = s_batch(m, NULL, 0, &h, res, depth);
        for (size_t i = 0; err == MESH_OK && i < h.n; i++) {
            node_log(m, res[i].outcome == APPLY_REJECTED ? MESH_LOG_WARN : MESH_LOG_INFO,
                     "held-back set seq %llu: %s", (unsigned long long)res[i].first_seq,
                     res[i].outcome == APPLY_REJECTED ? res[i].why : "applied");
        }
    }
    free(res);
    s_held_release(&h);
    return err;
}

mesh_err_t
apply_groups(mesh_t *m, const apply_group_t *groups, size_t ngroups)
{
    if (!m || (ngroups && !groups)) {
        return MESH_EINVAL;
    }
    for (size_t g = 0; g < ngroups; g++) {
        if (groups[g].n && (!groups[g].sets || !groups[g].lens || !groups[g].results)) {
            return MESH_EINVAL;
        }
    }
    return s_batch(m, groups, ngroups, NULL, NULL, 0);
}

mesh_err_t
apply_batch(mesh_t *m, const uint8_t *const *sets, const size_t *lens, size_t n,
            const apply_marks_t *marks, apply_result_t *results)
{
    apply_group_t g = {.sets = sets, .lens = lens, .n = n, .marks = marks, .results = results};
    return apply_groups(m, &g, 1);
}
