/* core/apply/run.c: key-ordered runs of plain new sets.
 * Their ops are applied in the order of their keys (the ops of one key keep their order),
 * because the key index is the one tree whose keys arrive at random: in key order a
 * transaction walks its pages once, in turn, instead of jumping between them for every op
 * (1M-item sync: B's apply 5.2 s -> 4.3 s of CPU). The sort is a radix sort on the
 * collection and the key's first 8 bytes (a run holds tens of thousands of ops), short keys
 * copied into the sorted ops so that the walk reads them in turn. A key never held is
 * stored from its op's key and seq alone (rules_store_new_key); any other op goes through
 * the rules of rules_store_or_supersede. The new versions' records are written after, in
 * seq order, the order of their tree. Being plain, a set has no fork to check and the
 * vector covers none of its ops.
 * Layer: core. Third-party: none. SPDX-License-Identifier: MIT */
#include "core/apply/run.h"

#include <stdlib.h>
#include <string.h>

#include "core/base/node.h"
#include "core/data/hlc.h"
#include "core/member/member.h"

#define S_RUN_COLLS 8u  /* collections one run may span */
#define S_RUN_AHEAD 8u  /* ops the key-order walk reads ahead (prefetches: long keys) */
#define S_RUN_KEY   32u /* a key this long or shorter is copied into its op (s_run_op_t) */
#define S_DOT       1u  /* r->deferred: the op's version record is still to write */
#define S_DIGEST    2u  /* and its share of the digest to add */

typedef struct s_run_set {
    verify_set_t *v;
    uint32_t cid, oid;
    uint32_t base; /* its first op's index among all the run's ops, in set order */
} s_run_set_t;

/* One op of the run, sorted by key. A short key is copied in: the walk in key order then
 * reads the ops in turn, where each key in the batch's memory is a cache miss (and a TLB
 * miss, which a prefetch does not overcome: measured, 6-8% of the receiver's CPU). */
typedef struct s_run_op {
    uint64_t prefix; /* the key's first 8 bytes, big-endian, zero-padded */
    const uint8_t *key;
    uint32_t key_len;
    uint32_t cid;
    uint32_t set;                 /* index in the run's sets */
    uint32_t op;                  /* index in its set */
    uint8_t short_key[S_RUN_KEY]; /* the key, when key_len <= S_RUN_KEY */
} s_run_op_t;

struct run {
    s_run_set_t *sets; /* up to the batch's sets */
    size_t nsets;
    s_run_op_t *ops;
    s_run_op_t *scratch; /* the sort's other half */
    uint8_t *deferred;   /* per op, in set order: S_DOT, S_DIGEST: what is still to do */
    size_t ops_cap;
    uint32_t cids[S_RUN_COLLS];
    store_coll_stats_t stats[S_RUN_COLLS];
    size_t ncolls;
};

mesh_err_t
run_new(size_t max_sets, run_t **out)
{
    *out = NULL;
    run_t *r = calloc(1, sizeof *r);
    if (!r) {
        return MESH_ENOMEM;
    }
    r->sets = calloc(max_sets ? max_sets : 1, sizeof *r->sets);
    if (!r->sets) {
        free(r);
        return MESH_ENOMEM;
    }
    *out = r;
    return MESH_OK;
}

void
run_free(run_t *r)
{
    if (r) {
        free(r->sets);
        free(r->ops);
        free(r->scratch);
        free(r->deferred);
        free(r);
    }
}

void
run_reset(run_t *r)
{
    r->nsets = 0;
    r->ncolls = 0;
}

uint64_t
run_end(const run_t *r, uint32_t cid, uint32_t oid)
{
    uint64_t end = 0;
    for (size_t i = 0; i < r->nsets; i++) {
        const s_run_set_t *rs = &r->sets[i];
        if (rs->cid == cid && rs->oid == oid) {
            end = rs->v->h.first_seq + rs->v->h.count - 1;
        }
    }
    return end;
}

/* The bytes of o's key: its copy when short. */
static inline const uint8_t *
s_key(const s_run_op_t *o)
{
    return o->key_len <= S_RUN_KEY ? o->short_key : o->key;
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
    int c = memcmp(s_key(a), s_key(b), n);
    if (c != 0 || a->key_len != b->key_len) {
        return c != 0 ? c : (a->key_len < b->key_len ? -1 : 1);
    }
    if (a->set != b->set) { /* one key: the order the sets came in, then seq */
        return a->set < b->set ? -1 : 1;
    }
    return a->op < b->op ? -1 : (a->op > b->op);
}

/* Sort ops (n, in set order) as s_run_op_cmp does: a stable radix sort on the collection and
 * the key's first 8 bytes, a byte at a time from the last (a byte all of them share costs no
 * pass), then the few runs of ops alike in those sorted whole. scratch holds n ops. */
static void
s_run_sort(s_run_op_t *ops, s_run_op_t *scratch, size_t n)
{
    s_run_op_t *from = ops, *to = scratch;
    for (int b = 0; b < 12; b++) { /* bytes 0..7 of prefix, then 0..3 of cid */
        size_t count[256] = {0};
        for (size_t i = 0; i < n; i++) {
            uint64_t word = b < 8 ? from[i].prefix : from[i].cid;
            count[(word >> (8 * (b < 8 ? b : b - 8))) & 0xff]++;
        }
        size_t at = 0;
        bool one = false;
        for (size_t d = 0; d < 256; d++) {
            one |= count[d] == n;
            size_t c = count[d];
            count[d] = at;
            at += c;
        }
        if (one) {
            continue;
        }
        for (size_t i = 0; i < n; i++) {
            uint64_t word = b < 8 ? from[i].prefix : from[i].cid;
            to[count[(word >> (8 * (b < 8 ? b : b - 8))) & 0xff]++] = from[i];
        }
        s_run_op_t *t = from;
        from = to;
        to = t;
    }
    if (from != ops) {
        memcpy(ops, from, n * sizeof *ops);
    }
    for (size_t i = 0; i < n;) { /* ops alike in collection and prefix: insertion sort */
        size_t end = i + 1;
        while (end < n && ops[end].cid == ops[i].cid && ops[end].prefix == ops[i].prefix) {
            end++;
        }
        for (size_t j = i + 1; j < end; j++) {
            s_run_op_t o = ops[j];
            size_t k = j;
            for (; k > i && s_run_op_cmp(&ops[k - 1], &o) > 0; k--) {
                ops[k] = ops[k - 1];
            }
            ops[k] = o;
        }
        i = end;
    }
}

/* Ask the CPU for the memory op o's rules will read: its key (a long one, not copied into
 * o), its metadata and its op in the set, its digest share. */
static void
s_run_prefetch(const run_t *r, const s_run_op_t *o)
{
    const verify_set_t *v = r->sets[o->set].v;
    __builtin_prefetch(o->key);
    __builtin_prefetch(&v->ops[o->op]);
    __builtin_prefetch(&v->set.ops[o->op]);
    if (v->digests) {
        __builtin_prefetch(v->digests[o->op]);
    }
}

/* The stats slot of cid in the run, loading it on first use; NULL when the run already
 * spans S_RUN_COLLS other collections. */
static mesh_err_t
s_run_stats(run_t *r, store_txn_t *st, uint32_t cid, store_coll_stats_t **out)
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

mesh_err_t
run_flush(run_t *r, rules_t *w, store_txn_t *st)
{
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
        s_run_op_t *scratch = ops ? realloc(r->scratch, nops * sizeof *scratch) : NULL;
        r->scratch = scratch ? scratch : r->scratch;
        uint8_t *deferred = scratch ? realloc(r->deferred, nops) : NULL;
        r->deferred = deferred ? deferred : r->deferred;
        if (!deferred) {
            return MESH_ENOMEM;
        }
        r->ops_cap = nops;
    }
    memset(r->deferred, 0, nops);
    size_t k = 0;
    for (size_t i = 0; i < r->nsets; i++) {
        const verify_set_t *v = r->sets[i].v;
        r->sets[i].base = (uint32_t)k;
        for (size_t j = 0; j < v->set.op_count; j++, k++) {
            const wire_opmeta_t *meta = &v->ops[j];
            uint64_t prefix = 0;
            for (size_t c = 0; c < 8; c++) {
                prefix = (prefix << 8) | (c < meta->key_len ? meta->key[c] : 0);
            }
            s_run_op_t *o = &r->ops[k];
            *o = (s_run_op_t){.prefix = prefix,
                              .key = meta->key,
                              .key_len = (uint32_t)meta->key_len,
                              .cid = r->sets[i].cid,
                              .set = (uint32_t)i,
                              .op = (uint32_t)j};
            if (meta->key_len <= S_RUN_KEY) {
                memcpy(o->short_key, meta->key, meta->key_len);
            }
        }
    }
    s_run_sort(r->ops, r->scratch, nops);
    /* The key index in key order. A new version's record waits for the walk in seq order
     * below (the dots tree takes keys in order too), unless the next op is of the same key
     * and will read it. */
    for (size_t i = 0; err == MESH_OK && i < nops; i++) {
        const s_run_op_t *o = &r->ops[i];
        s_run_set_t *rs = &r->sets[o->set];
        store_coll_stats_t *stats = NULL;
        err = s_run_stats(r, st, o->cid, &stats);
        if (err == MESH_OK && !stats) {
            err = MESH_ECORRUPT; /* run_add keeps a run within S_RUN_COLLS */
        }
        const s_run_op_t *next = i + 1 < nops ? &r->ops[i + 1] : NULL;
        /* (the prefixes, at hand, tell most keys apart without reading the keys' bytes,
         * which lie all over the batch's memory) */
        w->defer_dot = !next || next->cid != o->cid || next->prefix != o->prefix ||
                       next->key_len != o->key_len ||
                       memcmp(s_key(next), s_key(o), o->key_len) != 0;
        w->dot_deferred = false;
        w->digest_deferred = false;
        if (i + S_RUN_AHEAD < nops && r->ops[i + S_RUN_AHEAD].key_len > S_RUN_KEY) {
            s_run_prefetch(r, &r->ops[i + S_RUN_AHEAD]);
        }
        if (err == MESH_OK && w->defer_dot) { /* (a full set: op i's seq is first_seq + i) */
            err = rules_store_new_key(w, st, rs->cid, rs->oid, rs->v, s_key(o), o->key_len,
                                      rs->v->h.first_seq + o->op, stats);
            if (err == MESH_EEXIST) {
                err = rules_store_held_key(w, st, rs->cid, rs->oid, rs->v, o->op, stats);
            }
        } else if (err == MESH_OK) {
            err = rules_store_or_supersede(w, st, rs->cid, rs->oid, rs->v, o->op, stats);
        }
        if (err == MESH_ETOOBIG) {
            w->culprit = rs->v; /* a cap its data hit: the caller leaves it out */
        }
        r->deferred[rs->base + o->op] =
            (uint8_t)((w->dot_deferred ? S_DOT : 0u) | (w->digest_deferred ? S_DIGEST : 0u));
        w->defer_dot = false;
    }
    /* In set order, the order of the dots tree and of each set's memory: the deferred
     * records, and the new keys' shares of the digest (a sum: its order does not matter;
     * in key order, each share's hash was a read of memory far from the last). */
    size_t k2 = 0;
    for (size_t i = 0; err == MESH_OK && i < r->nsets; i++) {
        const verify_set_t *v = r->sets[i].v;
        store_coll_stats_t *stats = NULL;
        err = s_run_stats(r, st, r->sets[i].cid, &stats);
        if (err == MESH_OK && !stats) {
            err = MESH_ECORRUPT; /* (the walk above loaded each of them) */
        }
        for (size_t j = 0; err == MESH_OK && j < v->set.op_count; j++, k2++) {
            if (r->deferred[k2]) {
                store_key_t skey;
                node_store_key(v->ops[j].key, v->ops[j].key_len, &skey);
                store_version_t nv = rules_new_version(v, j, r->sets[i].oid);
                if (r->deferred[k2] & S_DIGEST) {
                    rules_digest_add(stats->digest, v, j, &nv);
                }
                if (r->deferred[k2] & S_DOT) {
                    err = store_dot_put(st, r->sets[i].cid, &skey, &nv);
                }
            }
        }
    }
    for (size_t i = 0; err == MESH_OK && i < r->nsets; i++) {
        s_run_set_t *rs = &r->sets[i];
        verify_set_t *v = rs->v;
        err = vv_load(&w->vv, st, rs->cid, rs->oid);
        if (err == MESH_OK) {
            vv_raise(&w->vv, v->h.first_seq + v->h.count - 1);
            err = vv_save(&w->vv, st, rs->cid, rs->oid);
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

mesh_err_t
run_add(run_t *r, rules_t *w, store_txn_t *st, verify_set_t *v, bool *taken)
{
    uint32_t cid = 0, oid = 0;
    *taken = false;
    bool plain = !v->set.partial && !v->held_id && v->res->outcome != APPLY_REJECTED &&
                 strcmp(v->coll, MEMBER_COLL) != 0 && member_is(w->m, v->h.origin) &&
                 memcmp(v->h.origin, ident_public_key(w->m->ident), WIRE_ORIGIN_LEN) != 0;
    mesh_err_t err = MESH_OK;
    if (plain) {
        err = rules_coll_id(w, st, v->coll, &cid);
        if (err == MESH_OK) {
            err = store_origin_id(st, v->h.origin, v->h.incarnation, true, &oid);
        }
        /* right above what is held: the last set of this origin in the run, or the store */
        uint64_t end = err == MESH_OK ? run_end(r, cid, oid) : 0;
        if (err == MESH_OK && end) {
            plain = end + 1 == v->h.first_seq;
        } else if (err == MESH_OK) {
            err = vv_load(&w->vv, st, cid, oid);
            plain = err == MESH_OK && w->vv.count == 0 && w->vv.base + 1 == v->h.first_seq;
        }
        if (err == MESH_OK && plain) { /* (a set seen partial may reach beyond the base) */
            store_set_t s;
            wire_header_t sh;
            bool other = false;
            err = rules_other_header(st, cid, oid, v, &s, &sh, &other);
            plain = !other;
        }
        store_coll_stats_t *stats = NULL;
        if (err == MESH_OK && plain) {
            err = s_run_stats(r, st, cid, &stats);
        }
        if (err == MESH_OK && plain && !stats) {
            err = run_flush(r, w, st); /* a run spans at most S_RUN_COLLS collections */
            if (err == MESH_OK) {
                err = s_run_stats(r, st, cid, &stats);
            }
        }
    }
    if (err != MESH_OK) {
        return err;
    }
    if (!plain) {
        return run_flush(r, w, st);
    }
    r->sets[r->nsets++] = (s_run_set_t){.v = v, .cid = cid, .oid = oid};
    *taken = true;
    return MESH_OK;
}
