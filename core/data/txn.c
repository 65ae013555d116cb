/* core/data/txn.c: local transactions: buffered puts and deletes on one collection, committed
 * as one signed change set in one durable store transaction.
 * Owns: mesh_txn_begin/put/del/commit/abort; dots, contexts, the set header, Merkle root
 * and signature of local writes (docs/PROTOCOL.md §3, §5).
 * Layer: core. Third-party: none. SPDX-License-Identifier: MIT */
#include "core/data/txn.h"

#include <stdlib.h>
#include <string.h>

#include "core/base/node.h"
#include "core/data/hlc.h"
#include "core/data/version.h"
#include "core/wire/buf.h"
#include "core/wire/set.h"
#include "crypto/hash.h"
#include "store/gc.h"

typedef struct s_op {
    uint8_t kind;                 /* enum wire_kind */
    size_t key_off, key_len;      /* in the arena */
    size_t value_off, value_len;  /* in the arena */
    uint8_t vhash[WIRE_HASH_LEN]; /* filled at commit */
    store_key_t skey;             /* filled at commit */
    bool cover;                   /* its context covers cover_dot too (txn_cover) */
    wire_dot_t cover_dot;
    bool based;              /* it supersedes only the versions of its base (txn_base) */
    size_t base_off, base_n; /* their dots in the arena (wire_dot_t each) */
} s_op_t;

struct mesh_txn {
    mesh_t *m;
    char coll[MESH_COLL_MAX + 1];
    s_op_t *ops;
    size_t count, cap;
    uint8_t *arena; /* key and value bytes of every op */
    size_t arena_len, arena_cap;
};

/* What one run of the commit body needs; everything it fills is reset on each run. */
typedef struct s_commit {
    mesh_txn_t *txn;
    wire_buf_t meta; /* one op's metadata at a time */
    wire_buf_t header;
    uint8_t (*leaves)[HASH_LEN];
    version_ctx_t ctx;
    version_ctx_t floors;  /* the collection's collection floors as dots (s_floors) */
    bool floors_read;      /* in this run of the body */
    store_item_t *item;    /* big: on the heap */
    store_version_t *kept; /* STORE_SIBLINGS_MAX, when an op is based: its key's versions
                            * that stay (NULL when none is) */
    uint64_t first_seq;
    uint64_t incarnation; /* read inside the write: another process may have renewed it */
} s_commit_t;

static mesh_err_t
s_begin(mesh_t *m, const char *coll, bool system, mesh_txn_t **out)
{
    *out = NULL;
    mesh_err_t err = node_check_coll(m, coll, system);
    if (err != MESH_OK) {
        return err;
    }
    mesh_txn_t *txn = calloc(1, sizeof *txn);
    if (!txn) {
        return MESH_ENOMEM;
    }
    txn->m = m;
    memcpy(txn->coll, coll, strlen(coll) + 1);
    *out = txn;
    return MESH_OK;
}

mesh_err_t
mesh_txn_begin(mesh_t *m, const char *coll, mesh_txn_t **out)
{
    return s_begin(m, coll, false, out);
}

mesh_err_t
txn_begin_system(mesh_t *m, const char *coll, mesh_txn_t **out)
{
    return s_begin(m, coll, true, out);
}

void
mesh_txn_abort(mesh_txn_t *txn)
{
    if (!txn) {
        return;
    }
    free(txn->ops);
    free(txn->arena);
    free(txn);
}

/* Copy len bytes into the arena; *off receives their place. */
static mesh_err_t
s_arena_add(mesh_txn_t *txn, const void *p, size_t len, size_t *off)
{
    if (len > txn->arena_cap - txn->arena_len) {
        size_t cap = txn->arena_cap ? txn->arena_cap : 4096;
        while (cap - txn->arena_len < len) {
            cap *= 2;
        }
        uint8_t *a = realloc(txn->arena, cap);
        if (!a) {
            return MESH_ENOMEM;
        }
        txn->arena = a;
        txn->arena_cap = cap;
    }
    *off = txn->arena_len;
    if (len) {
        memcpy(txn->arena + txn->arena_len, p, len);
    }
    txn->arena_len += len;
    return MESH_OK;
}

static mesh_err_t
s_add(mesh_txn_t *txn, uint8_t kind, const void *key, size_t key_len, const void *value,
      size_t value_len)
{
    mesh_t *m = txn->m;
    if (!key || key_len == 0 || (value_len && !value)) {
        return node_fail(m, MESH_EINVAL, "empty key or missing value");
    }
    if (key_len > MESH_KEY_MAX) {
        return node_fail(m, MESH_ETOOBIG, "key of %zu bytes (limit %u)", key_len, MESH_KEY_MAX);
    }
    if (value_len > MESH_VALUE_MAX) {
        return node_fail(m, MESH_ETOOBIG, "value of %zu bytes (limit %u)", value_len,
                         MESH_VALUE_MAX);
    }
    if (txn->count == MESH_TXN_OPS_MAX) {
        return node_fail(m, MESH_ETOOBIG, "more than %u ops in one transaction", MESH_TXN_OPS_MAX);
    }
    if (txn->arena_len + key_len + value_len > MESH_TXN_BYTES_MAX) {
        return node_fail(m, MESH_ETOOBIG, "more than %u bytes in one transaction",
                         MESH_TXN_BYTES_MAX);
    }
    if (txn->count == txn->cap) {
        size_t cap = txn->cap ? txn->cap * 2 : 16;
        s_op_t *ops = realloc(txn->ops, cap * sizeof *ops);
        if (!ops) {
            return MESH_ENOMEM;
        }
        txn->ops = ops;
        txn->cap = cap;
    }
    s_op_t *op = &txn->ops[txn->count];
    size_t arena_before = txn->arena_len;
    memset(op, 0, sizeof *op);
    op->kind = kind;
    op->key_len = key_len;
    op->value_len = value_len;
    mesh_err_t err = s_arena_add(txn, key, key_len, &op->key_off);
    if (err == MESH_OK) {
        err = s_arena_add(txn, value, value_len, &op->value_off);
    }
    if (err != MESH_OK) {
        txn->arena_len = arena_before;
        return err;
    }
    txn->count++;
    return MESH_OK;
}

mesh_err_t
mesh_put(mesh_txn_t *txn, const void *key, size_t key_len, const void *value, size_t value_len)
{
    if (!txn) {
        return MESH_EINVAL;
    }
    return s_add(txn, WIRE_PUT, key, key_len, value, value_len);
}

mesh_err_t
mesh_del(mesh_txn_t *txn, const void *key, size_t key_len)
{
    if (!txn) {
        return MESH_EINVAL;
    }
    return s_add(txn, WIRE_DEL, key, key_len, NULL, 0);
}

mesh_err_t
txn_cover(mesh_txn_t *txn, const wire_dot_t *dot)
{
    if (!txn || !dot || txn->count == 0) {
        return MESH_EINVAL;
    }
    txn->ops[txn->count - 1].cover = true;
    txn->ops[txn->count - 1].cover_dot = *dot;
    return MESH_OK;
}

mesh_err_t
txn_base(mesh_txn_t *txn, const wire_dot_t *dots, size_t n)
{
    if (!txn || txn->count == 0 || (n && !dots) || n > STORE_SIBLINGS_MAX) {
        return MESH_EINVAL;
    }
    s_op_t *op = &txn->ops[txn->count - 1];
    mesh_err_t err = s_arena_add(txn, dots, n * sizeof *dots, &op->base_off);
    if (err == MESH_OK) {
        op->based = true;
        op->base_n = n;
    }
    return err;
}

/* Remove every current version of the item (but those keep marks, when not NULL) from the
 * digest, then their records (a record's removal may move the others' bytes, read for the
 * digest). */
static mesh_err_t
s_retire_versions(store_txn_t *st, uint32_t cid, const store_item_t *item, const bool *keep,
                  store_coll_stats_t *stats)
{
    for (size_t i = 0; i < item->count; i++) {
        const store_version_t *v = &item->versions[i];
        if (keep && keep[i]) {
            continue;
        }
        uint8_t origin[WIRE_ORIGIN_LEN];
        uint64_t inc = 0;
        mesh_err_t err = store_origin_signed(st, v->oid, origin, &inc);
        if (err != MESH_OK) {
            return err;
        }
        version_digest_apply(stats->digest, origin, inc, v->meta, v->meta_len, true);
        stats->versions--;
    }
    for (size_t i = 0; i < item->count; i++) {
        if (keep && keep[i]) {
            continue;
        }
        mesh_err_t err = store_dot_del(st, cid, item->versions[i].oid, item->versions[i].seq);
        if (err != MESH_OK) {
            return err;
        }
    }
    return MESH_OK;
}

/* A based op (txn_base) on a key with versions: it supersedes the versions its base names,
 * and of the others only what they superseded (their contexts), so they stay beside it as
 * siblings, as they will on every device that applies the set. A version that stays but
 * that the context covers after all (one origin's seqs are one number in a context) is
 * superseded too: here as there. Fills c->ctx; c->kept[0..*nkept) the versions that stay. */
static mesh_err_t
s_supersede_base(s_commit_t *c, store_txn_t *st, uint32_t cid, const s_op_t *op,
                 store_coll_stats_t *stats, size_t *nkept)
{
    const store_item_t *item = c->item;
    bool keep[STORE_SIBLINGS_MAX] = {false};
    wire_dot_t dots[STORE_SIBLINGS_MAX];
    mesh_err_t err = MESH_OK;
    *nkept = 0;
    for (size_t i = 0; i < item->count && err == MESH_OK; i++) {
        err = version_ctx_join_context(st, &item->versions[i], &c->ctx, &dots[i]);
        keep[i] = true;
        for (size_t b = 0; b < op->base_n && keep[i]; b++) {
            wire_dot_t base;
            memcpy(&base, c->txn->arena + op->base_off + b * sizeof base, sizeof base);
            keep[i] = memcmp(base.origin, dots[i].origin, WIRE_ORIGIN_LEN) != 0 ||
                      base.incarnation != dots[i].incarnation || base.seq != dots[i].seq;
        }
        if (err == MESH_OK && !keep[i]) {
            err = version_ctx_add(&c->ctx, &dots[i]);
        }
    }
    for (size_t i = 0; i < item->count && err == MESH_OK; i++) {
        keep[i] = keep[i] && !version_ctx_covers(&c->ctx, &dots[i]);
        if (keep[i]) {
            c->kept[*nkept] =
                (store_version_t){.oid = item->versions[i].oid, .seq = item->versions[i].seq};
            (*nkept)++;
        }
    }
    return err == MESH_OK ? s_retire_versions(st, cid, item, keep, stats) : err;
}

/* The collection floors of cid (PROTOCOL §8.4), one dot per (origin, incarnation) whose
 * floor is above 0, read once per commit into c->floors. A write to a key this store holds
 * no item of takes them into its context: had the key's tombstones been collected here
 * while another device still holds them, the write supersedes them there too (else they
 * would stay beside it as siblings on that device for good). Most collections have none. */
static mesh_err_t
s_floors(s_commit_t *c, store_txn_t *st, uint32_t cid)
{
    store_cursor_t *cur = NULL;
    uint32_t oid = 0;
    store_vv_t vv;
    if (c->floors_read) {
        return MESH_OK;
    }
    c->floors_read = true;
    version_ctx_reset(&c->floors);
    mesh_err_t err = store_vvs_open(st, cid, &cur);
    while (err == MESH_OK && (err = store_vvs_next(cur, &oid, &vv)) == MESH_OK) {
        wire_dot_t d = {.seq = 0};
        err = store_origin_signed(st, oid, d.origin, &d.incarnation);
        if (err == MESH_OK) {
            err = store_gc_floor_get(st, cid, d.origin, d.incarnation, &d.seq);
        }
        if (err == MESH_OK && d.seq) {
            err = version_ctx_add(&c->floors, &d);
        }
    }
    store_cursor_close(cur);
    return err == MESH_ENOTFOUND ? MESH_OK : err;
}

/* Write op number i of the set as the key's one version, replacing what was there. */
static mesh_err_t
s_commit_op(s_commit_t *c, store_txn_t *st, uint32_t cid, uint32_t oid, uint64_t hlc, size_t i,
            store_coll_stats_t *stats)
{
    mesh_txn_t *txn = c->txn;
    const s_op_t *op = &txn->ops[i];
    const uint8_t *pk = ident_public_key(txn->m->ident);
    uint64_t inc = c->incarnation;
    wire_opmeta_t meta = {.seq = c->first_seq + i,
                          .key = txn->arena + op->key_off,
                          .key_len = op->key_len,
                          .kind = op->kind,
                          .value_len = (uint32_t)op->value_len};
    memcpy(meta.vhash, op->vhash, WIRE_HASH_LEN);
    version_ctx_reset(&c->ctx);
    wire_buf_reset(&c->meta);
    /* A new key takes one search of the key index (the item names only the dot); a key
     * with versions is read, and its versions give the new one's context. */
    store_version_t ref = {.oid = oid, .seq = meta.seq};
    bool fresh = false;
    size_t nkept = 0;
    mesh_err_t err = store_item_add(st, cid, &op->skey, &ref);
    if (err == MESH_OK) {
        stats->keys++;
        fresh = true;
        err = s_floors(c, st, cid);
        for (size_t k = 0; err == MESH_OK && k < c->floors.count; k++) {
            err = version_ctx_add(&c->ctx, &c->floors.dots[k]);
        }
    } else if (err == MESH_EEXIST) {
        err = store_item_get(st, cid, &op->skey, c->item);
        if (err == MESH_OK && op->based) {
            err = s_supersede_base(c, st, cid, op, stats, &nkept);
        } else if (err == MESH_OK) {
            err = version_ctx_join_item(st, c->item, &c->ctx);
            err = err == MESH_OK ? s_retire_versions(st, cid, c->item, NULL, stats) : err;
        }
    }
    if (err == MESH_OK && op->cover) {
        err = version_ctx_add(&c->ctx, &op->cover_dot);
    }
    if (err == MESH_OK) {
        err = wire_opmeta_encode(&meta, c->ctx.dots, c->ctx.count, &c->meta);
    }
    if (err != MESH_OK) {
        return err;
    }
    store_version_t v = {.oid = oid,
                         .seq = meta.seq,
                         .hlc = hlc,
                         .kind = op->kind,
                         .meta = c->meta.data,
                         .meta_len = (uint32_t)c->meta.len,
                         .value = txn->arena + op->value_off,
                         .value_len = (uint32_t)op->value_len};
    hash_tagged(HASH_TAG_LEAF, c->meta.data, c->meta.len, c->leaves[i]);
    version_digest_apply(stats->digest, pk, inc, c->meta.data, c->meta.len, false);
    stats->versions++;
    if (nkept) {
        c->kept[nkept] = v; /* (the versions that stay, then the new one) */
    }
    err = fresh ? MESH_OK : store_item_put(st, cid, &op->skey, nkept ? c->kept : &v, nkept + 1);
    if (err == MESH_OK) {
        err = store_dot_put(st, cid, &op->skey, &v);
    }
    return err;
}

/* Sign the set's header and store it with its leaves. */
static mesh_err_t
s_commit_header(s_commit_t *c, store_txn_t *st, uint32_t cid, uint32_t oid, uint64_t hlc)
{
    mesh_txn_t *txn = c->txn;
    wire_header_t h = {.coll = txn->coll,
                       .coll_len = strlen(txn->coll),
                       .incarnation = c->incarnation,
                       .first_seq = c->first_seq,
                       .count = (uint32_t)txn->count,
                       .hlc = hlc};
    uint8_t sig[IDENT_SIG_LEN];
    memcpy(h.origin, ident_public_key(txn->m->ident), WIRE_ORIGIN_LEN);
    hash_merkle_root((const uint8_t(*)[HASH_LEN])c->leaves, txn->count, h.root);
    wire_buf_reset(&c->header);
    mesh_err_t err = wire_header_encode(&h, &c->header);
    if (err != MESH_OK) {
        return err;
    }
    ident_sign(txn->m->ident, c->header.data, c->header.len, sig);
    store_set_t set = {.oid = oid,
                       .first_seq = c->first_seq,
                       .header = c->header.data,
                       .header_len = (uint32_t)c->header.len,
                       .sig = sig,
                       .leaves = &c->leaves[0][0],
                       .count = (uint32_t)txn->count};
    return store_set_put(st, cid, &set);
}

/* The write body: may run more than once (after the map grew). */
static mesh_err_t
s_commit_body(store_txn_t *st, void *arg)
{
    s_commit_t *c = arg;
    mesh_txn_t *txn = c->txn;
    mesh_t *m = txn->m;
    uint32_t cid = 0, oid = 0;
    uint64_t hlc = 0;
    store_vv_t vv;
    store_coll_stats_t stats;
    mesh_err_t err = store_coll_id(st, txn->coll, true, &cid);
    if (err == MESH_OK) {
        err = store_txn_incarnation(st, &c->incarnation);
    }
    if (err == MESH_OK) {
        err = store_origin_id(st, ident_public_key(m->ident), c->incarnation, true, &oid);
    }
    if (err == MESH_OK) {
        err = store_vv_get(st, cid, oid, &vv);
    }
    if (err == MESH_OK) {
        err = hlc_next(st, &hlc);
    }
    if (err == MESH_OK) {
        err = store_coll_stats_get(st, cid, &stats);
    }
    /* Local dots are contiguous: this origin's vector base is the last seq used. */
    c->first_seq = vv.base + 1;
    c->floors_read = false;
    for (size_t i = 0; i < txn->count && err == MESH_OK; i++) {
        err = s_commit_op(c, st, cid, oid, hlc, i, &stats);
    }
    if (err == MESH_OK) {
        err = s_commit_header(c, st, cid, oid, hlc);
    }
    if (err == MESH_OK) {
        err = store_vv_put(st, cid, oid, vv.base + txn->count, NULL, 0);
    }
    if (err == MESH_OK) {
        err = store_coll_stats_put(st, cid, &stats);
    }
    return err;
}

/* Hash values and long keys once, outside the write transaction. */
static void
s_prepare_ops(mesh_txn_t *txn)
{
    for (size_t i = 0; i < txn->count; i++) {
        s_op_t *op = &txn->ops[i];
        node_store_key(txn->arena + op->key_off, op->key_len, &op->skey);
        if (op->kind == WIRE_PUT) {
            hash_tagged(HASH_TAG_VALUE, txn->arena + op->value_off, op->value_len, op->vhash);
        }
    }
}

mesh_err_t
mesh_txn_commit(mesh_txn_t **ptxn, uint64_t *first_seq)
{
    if (first_seq) {
        *first_seq = 0;
    }
    if (!ptxn || !*ptxn) {
        return MESH_EINVAL;
    }
    mesh_txn_t *txn = *ptxn;
    *ptxn = NULL;
    mesh_t *m = txn->m;
    mesh_err_t err = MESH_OK;
    s_commit_t c = {.txn = txn};
    node_clear_err(m);
    if (txn->count == 0) {
        goto out;
    }
    wire_buf_init(&c.meta);
    wire_buf_init(&c.header);
    version_ctx_init(&c.ctx);
    version_ctx_init(&c.floors);
    c.leaves = malloc(txn->count * sizeof *c.leaves);
    c.item = malloc(sizeof *c.item);
    bool based = false;
    for (size_t i = 0; i < txn->count; i++) {
        based |= txn->ops[i].based;
    }
    c.kept = based ? malloc((STORE_SIBLINGS_MAX + 1) * sizeof *c.kept) : NULL;
    if (!c.leaves || !c.item || (based && !c.kept)) {
        err = MESH_ENOMEM;
        goto out;
    }
    s_prepare_ops(txn);
    err = store_write(m->store, s_commit_body, &c);
    if (err != MESH_OK) {
        node_fail(m, err, "%s", store_errmsg(m->store));
        node_log(m, MESH_LOG_ERROR, "commit to '%s' failed: %s", txn->coll, mesh_errmsg(m));
        goto out;
    }
    node_log(m, MESH_LOG_DEBUG, "committed %zu ops to '%s' at seq %llu", txn->count, txn->coll,
             (unsigned long long)c.first_seq);
    if (first_seq) {
        *first_seq = c.first_seq;
    }
    if (m->wake) {
        m->wake(m->wake_ctx); /* the loop pushes it now (core/sync/loop.c) */
    }
out:
    free(c.leaves);
    free(c.item);
    free(c.kept);
    version_ctx_release(&c.ctx);
    version_ctx_release(&c.floors);
    wire_buf_release(&c.meta);
    wire_buf_release(&c.header);
    mesh_txn_abort(txn);
    return err;
}
