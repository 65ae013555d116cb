/* core/bundle.c: sync by file. Exports what this device holds (or what a vector does not
 * cover) as a bundle of signed sets with their watermarks, imports bundles, and writes
 * this device's vectors (docs/PROTOCOL.md §3.5, §3.6, §9).
 * A bundle carries only live versions and tombstones, each under the signed header of its
 * set: the whole set when all its ops are live, else only the live ops with Merkle proofs.
 * Layer: core. Third-party: none. SPDX-License-Identifier: MIT */
#include "core/bundle/bundle.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/apply/apply.h"
#include "core/base/node.h"
#include "core/base/testhook.h"
#include "core/member/member.h"
#include "crypto/devid.h"
#include "crypto/hash.h"

#define S_COUNT_EXACT      20000u /* versions counted one by one in bundle_count_diff, at most */
#define S_IMPORT_TXN_BYTES (64u << 20) /* set bytes applied in one write transaction */
#define S_ENDS_TXN         ((size_t)1 << (sizeof(size_t) * 8 - 1)) /* flag on a piece's byte count */

/* The live ops of one stored set being gathered for export. */
typedef struct s_group {
    store_set_t set; /* the stored record (borrowed from the read txn) */
    uint32_t count;  /* ops in the set, from its header */
    wire_op_t *ops;  /* proof/proof_count: the version's stored proof, if any */
    size_t *index;   /* each op's leaf index in the set */
    size_t n, cap;
    wire_buf_t proofs; /* proofs computed from the set's leaves at flush */
    size_t *lens;
} s_group_t;

/* State of one export. */
typedef struct s_export {
    mesh_t *m;
    store_txn_t *txn;
    const wire_doc_t *since; /* the receiver's vectors, or NULL */
    store_item_t *item;
    s_group_t g;
    wire_buf_t set_buf; /* one encoded set */
    wire_buf_t sets;    /* a section's sets, each as a bin */
    size_t set_count;
    wire_mark_t *marks;
    size_t mark_count, mark_cap;
    size_t limit;      /* stop at a set boundary past this many set bytes (0: none) */
    size_t total;      /* set bytes in the sections already written */
    bool cut;          /* stopped at the limit: more remains */
    size_t pieces;     /* sets and watermarks written in all */
    bundle_pos_t *pos; /* where the previous batch of a pass stopped, or NULL */
    bool skipping;     /* before pos: nothing is written */
} s_export_t;

/* Find the receiver's entry for (coll, origin, incarnation). */
static const wire_vv_t *
s_since_find(const wire_doc_t *since, const char *coll, const uint8_t *origin, uint64_t inc)
{
    for (size_t i = 0; since && i < since->count; i++) {
        const wire_section_t *sec = &since->sections[i];
        if (sec->coll_len != strlen(coll) || memcmp(sec->coll, coll, sec->coll_len) != 0) {
            continue;
        }
        for (size_t j = 0; j < sec->vv_count; j++) {
            if (memcmp(sec->vvs[j].origin, origin, WIRE_ORIGIN_LEN) == 0 &&
                sec->vvs[j].incarnation == inc) {
                return &sec->vvs[j];
            }
        }
    }
    return NULL;
}

static bool
s_since_covers(const wire_vv_t *vv, uint64_t seq)
{
    if (!vv) {
        return false;
    }
    if (seq <= vv->base) {
        return true;
    }
    /* the decoder checked the extras ascending: a receiver far behind may list many */
    size_t lo = 0, hi = vv->extra_count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        uint64_t e = wire_vv_extra(vv, mid);
        if (e == seq) {
            return true;
        }
        if (e < seq) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return false;
}

/* Give every op of a partial group its proof: from the set's leaves in one pass when this
 * store holds them, else the proof stored with the version (it arrived partial). */
static mesh_err_t
s_group_proofs(s_group_t *g)
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

/* Encode the gathered group as one set into the section: whole, without proofs, when every
 * op of the set is still live; else only the live ops, each with its proof. */
static mesh_err_t
s_group_flush(s_export_t *x)
{
    s_group_t *g = &x->g;
    if (g->n == 0) {
        return MESH_OK;
    }
    bool full = g->n == g->count && g->set.count == g->count;
    mesh_err_t err = full ? MESH_OK : s_group_proofs(g);
    wire_buf_reset(&x->set_buf);
    if (err == MESH_OK) {
        err = full ? wire_set_encode(g->set.header, g->set.header_len, g->set.sig, g->ops, g->n,
                                     &x->set_buf)
                   : wire_set_encode_partial(g->set.header, g->set.header_len, g->set.sig, g->ops,
                                             g->n, &x->set_buf);
    }
    if (err == MESH_OK) {
        err = wire_section_set(x->set_buf.data, x->set_buf.len, &x->sets);
    }
    x->set_count++;
    if (x->pos) {
        x->pos->versions += g->n;
    }
    g->n = 0;
    return err;
}

/* Start a group for the set holding seq. */
static mesh_err_t
s_group_start(s_export_t *x, uint32_t cid, uint32_t oid, uint64_t seq)
{
    s_group_t *g = &x->g;
    wire_header_t h;
    mesh_err_t err = store_set_find(x->txn, cid, oid, seq, &g->set);
    if (err == MESH_OK && wire_header_decode(g->set.header, g->set.header_len, &h) != MESH_OK) {
        err = MESH_ECORRUPT;
    }
    if (err == MESH_OK && seq >= g->set.first_seq + h.count) {
        err = MESH_ECORRUPT; /* a stored version outside every stored set */
    }
    if (err == MESH_ENOTFOUND) {
        err = MESH_ECORRUPT;
    }
    g->count = err == MESH_OK ? h.count : 0;
    return err;
}

/* Add version v (a dot of the current group's set); its proof is settled at flush. */
static mesh_err_t
s_group_add(s_export_t *x, const store_version_t *v)
{
    s_group_t *g = &x->g;
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

static mesh_err_t
s_mark_add(s_export_t *x, const uint8_t *origin, uint64_t inc, uint64_t from, uint64_t seq)
{
    if (x->mark_count == x->mark_cap) {
        size_t cap = x->mark_cap ? x->mark_cap * 2 : 16;
        wire_mark_t *mk = realloc(x->marks, cap * sizeof *mk);
        if (!mk) {
            return MESH_ENOMEM;
        }
        x->marks = mk;
        x->mark_cap = cap;
    }
    wire_mark_t *mk = &x->marks[x->mark_count++];
    memcpy(mk->origin, origin, WIRE_ORIGIN_LEN);
    mk->incarnation = inc;
    mk->seq = seq;
    mk->from = from;
    return MESH_OK;
}

/* Gather what the receiver lacks of one origin in one collection: its live versions and
 * tombstones in ascending seq, grouped by set, and a watermark. */
static mesh_err_t
s_export_origin(s_export_t *x, const char *coll, uint32_t cid, uint32_t oid, const store_vv_t *vv)
{
    uint8_t origin[WIRE_ORIGIN_LEN];
    uint64_t inc = 0, seq = 0;
    store_cursor_t *cur = NULL;
    mesh_err_t err = store_origin_get(x->txn, oid, origin, &inc);
    if (err != MESH_OK) {
        return err;
    }
    const wire_vv_t *recv = s_since_find(x->since, coll, origin, inc);
    uint64_t from = recv ? recv->base + 1 : 1;
    uint64_t resumed = 0; /* the seq the previous batch stopped at, when this resumes it */
    if (x->skipping && x->pos->oid == oid) {
        /* where the previous batch stopped: its sets and watermark went with it */
        x->skipping = false;
        resumed = x->pos->seq + 1 > from ? x->pos->seq : 0;
        from = resumed ? x->pos->seq + 1 : from;
    }
    uint64_t sent = 0; /* the last seq of the last set written, when cut */
    err = store_dots_open(x->txn, cid, oid, from, &cur);
    x->g.n = 0;
    while (err == MESH_OK && (err = store_dots_next(cur, &seq, x->item)) == MESH_OK) {
        if (s_since_covers(recv, seq)) {
            continue;
        }
        if (x->g.n && seq >= x->g.set.first_seq + x->g.count) {
            sent = x->g.set.first_seq + x->g.count - 1;
            err = s_group_flush(x);
            /* at a set boundary, never inside a set: stop once past the limit */
            if (err == MESH_OK && x->limit && x->total + x->sets.len >= x->limit) {
                x->cut = true;
                if (x->pos) {
                    snprintf(x->pos->coll, sizeof x->pos->coll, "%s", coll);
                    x->pos->oid = oid;
                    x->pos->seq = sent;
                }
                break;
            }
        }
        if (err == MESH_OK && x->g.n == 0) {
            err = s_group_start(x, cid, oid, seq);
        }
        const store_version_t *v = NULL;
        for (size_t i = 0; i < x->item->count; i++) {
            if (x->item->versions[i].oid == oid && x->item->versions[i].seq == seq) {
                v = &x->item->versions[i];
            }
        }
        if (err == MESH_OK) {
            err = v ? s_group_add(x, v) : MESH_ECORRUPT;
        }
    }
    store_cursor_close(cur);
    if (err == MESH_ENOTFOUND) {
        err = s_group_flush(x);
    }
    /* The watermark: everything held up to the base; when cut, only up to the last set
     * sent (what lies beyond goes in the next batch). When this batch resumes the origin
     * where an earlier one stopped, it covers only the range after that: a watermark
     * from the receiver's base would claim what the earlier batch carried, which may not
     * have been applied (lost on a link, or sent before the receiver took the session);
     * the range holds for a receiver that holds all up to where it starts, and closes
     * the gaps of dots superseded since (which would otherwise pile up as extras). */
    uint64_t mark = x->cut && sent < vv->base ? sent : vv->base;
    if (err == MESH_OK && !resumed && mark > (recv ? recv->base : 0)) {
        err = s_mark_add(x, origin, inc, 0, mark);
    } else if (err == MESH_OK && resumed && mark > resumed) {
        err = s_mark_add(x, origin, inc, resumed, mark);
    }
    return err;
}

/* Write one collection's section into out (empty: a section with nothing). */
static mesh_err_t
s_export_coll(s_export_t *x, const char *coll, bool empty, wire_buf_t *out)
{
    uint32_t cid = 0, oid = 0;
    store_cursor_t *cur = NULL;
    store_vv_t vv;
    wire_buf_reset(&x->sets);
    x->set_count = 0;
    x->mark_count = 0;
    mesh_err_t err = empty ? MESH_ENOTFOUND : store_coll_id(x->txn, coll, false, &cid);
    if (err == MESH_OK) {
        err = store_vvs_open(x->txn, cid, &cur);
    }
    while (err == MESH_OK && !x->cut && (err = store_vvs_next(cur, &oid, &vv)) == MESH_OK) {
        if (x->skipping && oid < x->pos->oid) {
            continue; /* sent in an earlier batch of this pass */
        }
        x->skipping = x->skipping && oid == x->pos->oid; /* s_export_origin resumes it */
        err = s_export_origin(x, coll, cid, oid, &vv);
    }
    store_cursor_close(cur);
    if (err == MESH_ENOTFOUND) {
        err = MESH_OK; /* the end, or a collection never written: an empty section */
    }
    x->total += x->sets.len;
    if (err == MESH_OK) {
        err = wire_section_begin(coll, x->set_count, out);
    }
    if (err == MESH_OK) {
        err = wire_buf_append(out, x->sets.data, x->sets.len);
    }
    if (err == MESH_OK) {
        err = wire_section_marks(x->marks, x->mark_count, out);
    }
    x->pieces += x->set_count + x->mark_count;
    return err;
}

/* The collections a bundle or vector covers: "_mesh" first, then those named, or every
 * user collection. *names is malloc'd; each name points into names_buf or colls. */
static mesh_err_t
s_coll_list(store_txn_t *txn, const char *const *colls, size_t ncolls, const char ***names,
            size_t *count, char (**names_buf)[MESH_COLL_MAX + 1])
{
    store_cursor_t *cur = NULL;
    size_t cap = ncolls + 1, n = 0;
    *names = NULL;
    *names_buf = NULL;
    *count = 0;
    if (ncolls == 0) {
        uint32_t cid = 0;
        char name[MESH_COLL_MAX + 1];
        mesh_err_t err = store_colls_open(txn, &cur);
        cap = 1;
        while (err == MESH_OK && (err = store_colls_next(cur, name, &cid)) == MESH_OK) {
            cap++;
        }
        store_cursor_close(cur);
        cur = NULL;
        if (err != MESH_ENOTFOUND) {
            return err;
        }
        *names_buf = calloc(cap, sizeof **names_buf);
        if (!*names_buf) {
            return MESH_ENOMEM;
        }
    }
    *names = calloc(cap, sizeof **names);
    if (!*names) {
        return MESH_ENOMEM;
    }
    (*names)[n++] = MEMBER_COLL;
    for (size_t i = 0; i < ncolls; i++) {
        if (strcmp(colls[i], MEMBER_COLL) != 0) {
            (*names)[n++] = colls[i];
        }
    }
    if (ncolls == 0) {
        uint32_t cid = 0;
        mesh_err_t err = store_colls_open(txn, &cur);
        while (err == MESH_OK && n < cap &&
               (err = store_colls_next(cur, (*names_buf)[n], &cid)) == MESH_OK) {
            if ((*names_buf)[n][0] != '_') {
                (*names)[n] = (*names_buf)[n];
                n++;
            }
        }
        store_cursor_close(cur);
        if (err != MESH_OK && err != MESH_ENOTFOUND) {
            return err;
        }
    }
    *count = n;
    return MESH_OK;
}

static mesh_err_t
s_check_colls(mesh_t *m, const char *const *colls, size_t ncolls)
{
    for (size_t i = 0; i < ncolls; i++) {
        mesh_err_t err = colls[i] ? node_check_coll(m, colls[i], true) : MESH_EINVAL;
        if (err != MESH_OK) {
            return err;
        }
    }
    return MESH_OK;
}

mesh_err_t
bundle_export(mesh_t *m, const char *const *colls, size_t ncolls, const wire_doc_t *since,
              size_t limit, bundle_pos_t *pos, wire_buf_t *out, bool *more, size_t *pieces)
{
    s_export_t x = {.m = m, .since = since, .limit = limit, .pos = pos};
    const char **names = NULL;
    char(*names_buf)[MESH_COLL_MAX + 1] = NULL;
    size_t count = 0;
    *more = false;
    wire_buf_init(&x.set_buf);
    wire_buf_init(&x.sets);
    wire_buf_init(&x.g.proofs);
    x.item = malloc(sizeof *x.item);
    mesh_err_t err = x.item ? store_read_begin(m->store, &x.txn) : MESH_ENOMEM;
    if (err == MESH_OK) {
        err = s_coll_list(x.txn, colls, ncolls, &names, &count, &names_buf);
    }
    if (err == MESH_OK) {
        err = wire_bundle_begin(count, out);
    }
    /* Resuming a pass: the collections before pos's get empty sections, pos's own starts
     * at its origin. A collection that is gone restarts the pass (sending twice is safe). */
    size_t first = 0;
    while (pos && pos->coll[0] && first < count && strcmp(names[first], pos->coll) != 0) {
        first++;
    }
    first = first < count ? first : 0;
    for (size_t i = 0; err == MESH_OK && i < count; i++) {
        x.skipping = pos && pos->coll[0] && i == first && strcmp(names[i], pos->coll) == 0;
        err = s_export_coll(&x, names[i], i < first, out);
    }
    store_read_end(x.txn);
    *more = x.cut;
    *pieces = x.pieces;
    wire_buf_release(&x.set_buf);
    wire_buf_release(&x.sets);
    wire_buf_release(&x.g.proofs);
    free(x.g.ops);
    free(x.g.index);
    free(x.g.lens);
    free(x.marks);
    free(x.item);
    free(names);
    free(names_buf);
    return err;
}

mesh_err_t
mesh_export(mesh_t *m, const char *const *colls, size_t ncolls, const void *since, size_t since_len,
            void **out, size_t *out_len)
{
    wire_doc_t doc = {0};
    wire_buf_t buf;
    bool more = false;
    size_t pieces = 0;
    if (out) {
        *out = NULL;
    }
    if (out_len) {
        *out_len = 0;
    }
    if (!m || !out || !out_len || (ncolls && !colls) || (since_len && !since)) {
        return MESH_EINVAL;
    }
    wire_buf_init(&buf);
    mesh_err_t err = s_check_colls(m, colls, ncolls);
    if (err == MESH_OK && since) {
        err = wire_doc_decode(since, since_len, true, &doc);
        if (err != MESH_OK) {
            node_fail(m, err, "the vector file does not decode");
        }
    }
    if (err == MESH_OK) {
        err = bundle_export(m, colls, ncolls, since ? &doc : NULL, 0, NULL, &buf, &more, &pieces);
    }
    if (err == MESH_OK) {
        *out = buf.data;
        *out_len = buf.len;
        buf.data = NULL;
    }
    wire_buf_release(&buf);
    wire_doc_release(&doc);
    return err;
}

/* Write one collection's vector entries into out. */
static mesh_err_t
s_vector_coll(store_txn_t *txn, const char *coll, wire_buf_t *out)
{
    uint32_t cid = 0, oid = 0;
    store_cursor_t *cur = NULL;
    store_vv_t svv;
    wire_vv_t *vvs = NULL;
    uint64_t **extras = NULL;
    size_t n = 0, cap = 0;
    mesh_err_t err = store_coll_id(txn, coll, false, &cid);
    if (err == MESH_OK) {
        err = store_vvs_open(txn, cid, &cur);
    }
    while (err == MESH_OK && (err = store_vvs_next(cur, &oid, &svv)) == MESH_OK) {
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            wire_vv_t *v = realloc(vvs, cap * sizeof *v);
            uint64_t **e = v ? realloc(extras, cap * sizeof *e) : NULL;
            vvs = v ? v : vvs;
            extras = e ? e : extras;
            if (!e) {
                err = MESH_ENOMEM;
                break;
            }
        }
        wire_vv_t *v = &vvs[n];
        extras[n] = malloc((svv.extra_count ? svv.extra_count : 1) * sizeof **extras);
        if (!extras[n]) {
            err = MESH_ENOMEM;
            break;
        }
        err = store_origin_get(txn, oid, v->origin, &v->incarnation);
        v->base = svv.base;
        v->extra_count = svv.extra_count;
        for (size_t i = 0; i < svv.extra_count; i++) {
            extras[n][i] = store_vv_extra(&svv, i);
        }
        n++;
    }
    store_cursor_close(cur);
    if (err == MESH_ENOTFOUND) {
        err = MESH_OK;
    }
    if (err == MESH_OK) {
        err = wire_vector_section(coll, vvs, (const uint64_t *const *)extras, n, out);
    }
    for (size_t i = 0; i < n; i++) {
        free(extras[i]);
    }
    free(extras);
    free(vvs);
    return err;
}

mesh_err_t
mesh_vector(mesh_t *m, const char *const *colls, size_t ncolls, void **out, size_t *out_len)
{
    store_txn_t *txn = NULL;
    wire_buf_t buf;
    const char **names = NULL;
    char(*names_buf)[MESH_COLL_MAX + 1] = NULL;
    size_t count = 0;
    if (out) {
        *out = NULL;
    }
    if (out_len) {
        *out_len = 0;
    }
    if (!m || !out || !out_len || (ncolls && !colls)) {
        return MESH_EINVAL;
    }
    wire_buf_init(&buf);
    mesh_err_t err = s_check_colls(m, colls, ncolls);
    if (err == MESH_OK) {
        err = store_read_begin(m->store, &txn);
    }
    if (err == MESH_OK) {
        err = s_coll_list(txn, colls, ncolls, &names, &count, &names_buf);
    }
    if (err == MESH_OK) {
        err = wire_vector_begin(count, &buf);
    }
    for (size_t i = 0; err == MESH_OK && i < count; i++) {
        err = s_vector_coll(txn, names[i], &buf);
    }
    store_read_end(txn);
    if (err == MESH_OK) {
        *out = buf.data;
        *out_len = buf.len;
        buf.data = NULL;
    }
    wire_buf_release(&buf);
    free(names);
    free(names_buf);
    return err;
}

/* Entries of one vector section, for sorting into the summary's canonical order. */
static int
s_vv_cmp(const void *a, const void *b)
{
    const wire_vv_t *x = *(const wire_vv_t *const *)a, *y = *(const wire_vv_t *const *)b;
    int c = memcmp(x->origin, y->origin, WIRE_ORIGIN_LEN);
    return c ? c : (x->incarnation > y->incarnation) - (x->incarnation < y->incarnation);
}

static void
s_hash_u64(hash_state_t *st, uint64_t v)
{
    uint8_t b[8];
    for (int i = 0; i < 8; i++) {
        b[i] = (uint8_t)(v >> (8 * i));
    }
    hash_update(st, b, sizeof b);
}

mesh_err_t
bundle_summary(mesh_t *m, const wire_doc_t *vector, uint8_t *out)
{
    hash_state_t st;
    uint8_t full[HASH_LEN];
    store_txn_t *txn = NULL;
    mesh_err_t err = store_read_begin(m->store, &txn);
    hash_init(&st, HASH_TAG_SUMMARY);
    for (size_t i = 0; err == MESH_OK && i < vector->count; i++) {
        const wire_section_t *sec = &vector->sections[i];
        const wire_vv_t **e = calloc(sec->vv_count ? sec->vv_count : 1, sizeof *e);
        char coll[MESH_COLL_MAX + 1];
        store_coll_stats_t stats;
        uint32_t cid = 0;
        size_t n = 0;
        if (!e) {
            err = MESH_ENOMEM;
            break;
        }
        for (size_t j = 0; j < sec->vv_count; j++) {
            if (sec->vvs[j].base || sec->vvs[j].extra_count) {
                e[n++] = &sec->vvs[j]; /* an empty entry says nothing */
            }
        }
        if (n && sec->coll_len <= MESH_COLL_MAX) {
            qsort(e, n, sizeof *e, s_vv_cmp);
            memcpy(coll, sec->coll, sec->coll_len);
            coll[sec->coll_len] = '\0';
            memset(&stats, 0, sizeof stats);
            err = store_coll_id(txn, coll, false, &cid);
            if (err == MESH_OK) {
                err = store_coll_stats_get(txn, cid, &stats);
            }
            err = err == MESH_ENOTFOUND ? MESH_OK : err;
            s_hash_u64(&st, sec->coll_len);
            hash_update(&st, sec->coll, sec->coll_len);
            hash_update(&st, stats.digest, sizeof stats.digest);
            s_hash_u64(&st, n);
            for (size_t j = 0; j < n; j++) {
                hash_update(&st, e[j]->origin, WIRE_ORIGIN_LEN);
                s_hash_u64(&st, e[j]->incarnation);
                s_hash_u64(&st, e[j]->base);
                s_hash_u64(&st, e[j]->extra_count);
                for (size_t k = 0; k < e[j]->extra_count; k++) {
                    s_hash_u64(&st, wire_vv_extra(e[j], k));
                }
            }
        }
        free(e);
    }
    store_read_end(txn);
    hash_final(&st, full);
    memcpy(out, full, BUNDLE_SUMMARY_LEN);
    return err;
}

bool
bundle_vector_covers(const wire_doc_t *ours, const wire_doc_t *theirs)
{
    char coll[MESH_COLL_MAX + 1];
    for (size_t i = 0; i < theirs->count; i++) {
        const wire_section_t *sec = &theirs->sections[i];
        if (sec->coll_len > MESH_COLL_MAX) {
            return false;
        }
        memcpy(coll, sec->coll, sec->coll_len);
        coll[sec->coll_len] = '\0';
        for (size_t j = 0; j < sec->vv_count; j++) {
            const wire_vv_t *t = &sec->vvs[j];
            const wire_vv_t *o = s_since_find(ours, coll, t->origin, t->incarnation);
            /* every dot up to its base: ours covers base + 1 only below our own base */
            if (t->base > (o ? o->base : 0)) {
                return false;
            }
            for (size_t k = 0; k < t->extra_count; k++) {
                if (!s_since_covers(o, wire_vv_extra(t, k))) {
                    return false;
                }
            }
        }
    }
    return true;
}

/* One collection of a view being raised: its entries and their extras. */
typedef struct s_raise {
    char coll[MESH_COLL_MAX + 1];
    wire_vv_t *vvs;
    uint64_t **extras;
    size_t n;
} s_raise_t;

static mesh_err_t
s_raise_add(s_raise_t *r, const wire_vv_t *vv, size_t cap)
{
    if (r->n == cap) {
        return MESH_EINVAL;
    }
    wire_vv_t *v = &r->vvs[r->n];
    *v = *vv;
    r->extras[r->n] = malloc((vv->extra_count ? vv->extra_count : 1) * sizeof **r->extras);
    if (!r->extras[r->n]) {
        return MESH_ENOMEM;
    }
    for (size_t i = 0; i < vv->extra_count; i++) {
        r->extras[r->n][i] = wire_vv_extra(vv, i);
    }
    r->n++;
    return MESH_OK;
}

/* Raise entry v (extras in e) to a watermark. */
static void
s_raise_mark(wire_vv_t *v, uint64_t *e, uint64_t seq)
{
    size_t k = 0;
    if (seq <= v->base) {
        return;
    }
    v->base = seq;
    for (size_t i = 0; i < v->extra_count; i++) {
        if (e[i] == v->base + 1) {
            v->base++; /* a run of extras right above the new base joins it */
        } else if (e[i] > v->base) {
            e[k++] = e[i];
        }
    }
    v->extra_count = k;
}

mesh_err_t
bundle_vector_raise(const wire_doc_t *view, const uint8_t *bundle, size_t len, wire_buf_t *out)
{
    wire_doc_t b;
    mesh_err_t err = wire_doc_decode(bundle, len, false, &b);
    if (err != MESH_OK) {
        return err;
    }
    size_t ncoll = view->count + b.count, n = 0, cap = 0; /* entries in any one section */
    for (size_t k = 0; k < view->count; k++) {
        cap += view->sections[k].vv_count;
    }
    for (size_t k = 0; k < b.count; k++) {
        cap += b.sections[k].mark_count;
    }
    s_raise_t *r = calloc(ncoll ? ncoll : 1, sizeof *r);
    err = r ? MESH_OK : MESH_ENOMEM;
    for (size_t pass = 0; err == MESH_OK && pass < 2; pass++) {
        const wire_doc_t *d = pass == 0 ? view : &b;
        for (size_t i = 0; err == MESH_OK && i < d->count; i++) {
            const wire_section_t *sec = &d->sections[i];
            size_t j = 0;
            while (j < n && (strlen(r[j].coll) != sec->coll_len ||
                             memcmp(r[j].coll, sec->coll, sec->coll_len) != 0)) {
                j++;
            }
            if (j == n) {
                if (sec->coll_len > MESH_COLL_MAX) {
                    err = MESH_EPROTO;
                    break;
                }
                memcpy(r[n].coll, sec->coll, sec->coll_len);
                r[n].vvs = calloc(cap ? cap : 1, sizeof *r[n].vvs);
                r[n].extras = calloc(cap ? cap : 1, sizeof *r[n].extras);
                n++;
                if (!r[j].vvs || !r[j].extras) {
                    err = MESH_ENOMEM;
                    break;
                }
            }
            for (size_t k = 0; err == MESH_OK && pass == 0 && k < sec->vv_count; k++) {
                err = s_raise_add(&r[j], &sec->vvs[k], cap);
            }
            for (size_t k = 0; err == MESH_OK && pass == 1 && k < sec->mark_count; k++) {
                const wire_mark_t *mk = &sec->marks[k];
                size_t e = 0;
                while (e < r[j].n && (memcmp(r[j].vvs[e].origin, mk->origin, WIRE_ORIGIN_LEN) ||
                                      r[j].vvs[e].incarnation != mk->incarnation)) {
                    e++;
                }
                if (e == r[j].n) {
                    wire_vv_t fresh = {.incarnation = mk->incarnation};
                    memcpy(fresh.origin, mk->origin, WIRE_ORIGIN_LEN);
                    err = s_raise_add(&r[j], &fresh, cap);
                }
                if (err == MESH_OK) {
                    s_raise_mark(&r[j].vvs[e], r[j].extras[e], mk->seq);
                }
            }
        }
    }
    if (err == MESH_OK) {
        err = wire_vector_begin(n, out);
    }
    for (size_t j = 0; err == MESH_OK && j < n; j++) {
        err = wire_vector_section(r[j].coll, r[j].vvs, (const uint64_t *const *)r[j].extras, r[j].n,
                                  out);
    }
    for (size_t j = 0; r && j < n; j++) {
        for (size_t k = 0; k < r[j].n; k++) {
            free(r[j].extras[k]);
        }
        free(r[j].extras);
        free(r[j].vvs);
    }
    free(r);
    wire_doc_release(&b);
    return err;
}

/* Append one line about a set that was not applied to the report's text. */
static mesh_err_t
s_report_line(wire_buf_t *text, const char *coll, const apply_result_t *r)
{
    char line[400], id[MESH_ID_TEXT_LEN + 1];
    devid_format(r->origin, id);
    int n = snprintf(line, sizeof line, "%s '%s' from %s seq %llu..%llu: %s\n",
                     r->outcome == APPLY_HELD ? "held back" : "rejected", coll, id,
                     (unsigned long long)r->first_seq,
                     (unsigned long long)(r->first_seq + (r->count ? r->count - 1 : 0)),
                     r->outcome == APPLY_HELD ? "origin is not a member (yet)" : r->why);
    if (n <= 0) {
        return MESH_OK;
    }
    return wire_buf_append(text, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
}

/* Count what became of the sets of one group (a bundle section) in the report. */
static mesh_err_t
s_report_group(mesh_t *m, const wire_section_t *sec, const apply_result_t *res,
               mesh_import_report_t *rep, wire_buf_t *text)
{
    char coll[MESH_COLL_MAX + 1];
    mesh_err_t err = MESH_OK;
    memcpy(coll, sec->coll, sec->coll_len);
    coll[sec->coll_len] = '\0';
    for (size_t i = 0; err == MESH_OK && i < sec->set_count; i++) {
        switch (res[i].outcome) {
        case APPLY_NEW:
            rep->sets_new++;
            break;
        case APPLY_KNOWN:
            rep->sets_known++;
            break;
        case APPLY_HELD:
            rep->sets_held++;
            err = s_report_line(text, coll, &res[i]);
            break;
        case APPLY_REJECTED:
            rep->sets_rejected++;
            err = s_report_line(text, coll, &res[i]);
            node_log(m, MESH_LOG_INFO, "rejected a set in '%s': %s", coll, res[i].why);
            break;
        }
        rep->ops_stored += res[i].ops_stored;
    }
    return err;
}

/* Apply the groups in order, in write transactions of at most S_IMPORT_TXN_BYTES of sets
 * (at least one set each; a large bundle would otherwise outgrow what one LMDB transaction
 * may dirty), and ending after membership sets. A group cut in pieces keeps its
 * watermarks for its last piece, so they are applied only with, or after, all its sets. */
static mesh_err_t
s_apply_in_txns(mesh_t *m, const apply_group_t *groups, size_t ngroups, size_t nsets)
{
    size_t limit = (size_t)testhook_number(TESTHOOK_IMPORT_TXN_BYTES, S_IMPORT_TXN_BYTES);
    apply_group_t *pieces = calloc(ngroups + nsets + 1, sizeof *pieces);
    size_t *bytes = calloc(ngroups + nsets + 1, sizeof *bytes);
    size_t np = 0;
    mesh_err_t err = pieces && bytes ? MESH_OK : MESH_ENOMEM;
    for (size_t g = 0; err == MESH_OK && g < ngroups; g++) {
        size_t i = 0;
        do { /* a group with no sets still carries its watermarks */
            apply_group_t *p = &pieces[np];
            *p = groups[g];
            p->sets = groups[g].n ? groups[g].sets + i : NULL;
            p->lens = groups[g].n ? groups[g].lens + i : NULL;
            p->results = groups[g].n ? groups[g].results + i : NULL;
            p->checked = groups[g].n && groups[g].checked ? groups[g].checked + i : NULL;
            p->n = 0;
            bytes[np] = 0;
            while (i < groups[g].n && (p->n == 0 || bytes[np] + groups[g].lens[i] <= limit)) {
                bytes[np] += groups[g].lens[i++];
                p->n++;
            }
            p->marks = i == groups[g].n ? groups[g].marks : NULL;
            /* sets of "_mesh" end their transaction: the next ones may be of a device
             * they make a member, which only a committed membership lets in */
            bytes[np] |=
                groups[g].n && groups[g].marks &&
                        groups[g].marks->coll_len == strlen(MEMBER_COLL) &&
                        memcmp(groups[g].marks->coll, MEMBER_COLL, groups[g].marks->coll_len) == 0
                    ? S_ENDS_TXN
                    : 0;
            np++;
        } while (i < groups[g].n);
    }
    for (size_t first = 0; err == MESH_OK && first < np;) {
        size_t end = first + 1, total = bytes[first] & ~S_ENDS_TXN;
        while (end < np && !(bytes[end - 1] & S_ENDS_TXN) &&
               total + (bytes[end] & ~S_ENDS_TXN) <= limit) {
            total += bytes[end++] & ~S_ENDS_TXN;
        }
        err = apply_groups(m, pieces + first, end - first);
        first = end;
    }
    free(pieces);
    free(bytes);
    return err;
}

/* A bundle's sets verified ahead, in the order the bundle carries them. */
struct bundle_checked {
    apply_checked_t **sets;
    size_t n;
};

mesh_err_t
bundle_check(const uint8_t *bundle, size_t len, bundle_checked_t **out)
{
    if (out) {
        *out = NULL;
    }
    if (!bundle || !out) {
        return MESH_EINVAL;
    }
    wire_doc_t doc;
    mesh_err_t err = wire_doc_decode(bundle, len, false, &doc);
    if (err != MESH_OK) {
        return err;
    }
    size_t nsets = 0;
    for (size_t s = 0; s < doc.count; s++) {
        nsets += doc.sections[s].set_count;
    }
    bundle_checked_t *c = calloc(1, sizeof *c);
    if (c) {
        c->sets = calloc(nsets ? nsets : 1, sizeof *c->sets);
    }
    err = c && c->sets ? MESH_OK : MESH_ENOMEM;
    for (size_t s = 0; err == MESH_OK && s < doc.count; s++) {
        const wire_section_t *sec = &doc.sections[s];
        for (size_t i = 0; err == MESH_OK && i < sec->set_count; i++) {
            err = apply_check(sec->sets[i], sec->set_lens[i], &c->sets[c->n]);
            c->n += err == MESH_OK;
        }
    }
    wire_doc_release(&doc);
    if (err != MESH_OK) {
        bundle_checked_free(c);
        return err;
    }
    *out = c;
    return MESH_OK;
}

void
bundle_checked_free(bundle_checked_t *c)
{
    if (!c) {
        return;
    }
    for (size_t i = 0; i < c->n; i++) {
        apply_checked_free(c->sets[i]);
    }
    free(c->sets);
    free(c);
}

mesh_err_t
bundle_import_many(mesh_t *m, const uint8_t *const *bundles, const size_t *lens,
                   const bundle_checked_t *const *checked, size_t n, mesh_import_report_t *report)
{
    wire_doc_t *docs = calloc(n ? n : 1, sizeof *docs);
    size_t ndocs = 0, ngroups = 0, nsets = 0;
    apply_group_t *groups = NULL;
    apply_result_t *res = NULL;
    apply_marks_t *marks = NULL;
    wire_buf_t text;
    mesh_err_t err = docs ? MESH_OK : MESH_ENOMEM;
    wire_buf_init(&text);
    memset(report, 0, sizeof *report);
    for (; err == MESH_OK && ndocs < n; ndocs++) {
        err = wire_doc_decode(bundles[ndocs], lens[ndocs], false, &docs[ndocs]);
        if (err != MESH_OK) {
            node_fail(m, err, "not a bundle, or a damaged one (%s)", mesh_strerror(err));
            break;
        }
        ngroups += docs[ndocs].count;
        for (size_t s = 0; s < docs[ndocs].count; s++) {
            nsets += docs[ndocs].sections[s].set_count;
        }
    }
    if (err == MESH_OK) {
        groups = calloc(ngroups ? ngroups : 1, sizeof *groups);
        marks = calloc(ngroups ? ngroups : 1, sizeof *marks);
        res = calloc(nsets ? nsets : 1, sizeof *res);
        err = groups && marks && res ? MESH_OK : MESH_ENOMEM;
    }
    size_t g = 0, r = 0;
    for (size_t d = 0; err == MESH_OK && d < ndocs; d++) {
        /* the same bytes decode to the same sets: a check of them lines up with the doc */
        const bundle_checked_t *c = checked ? checked[d] : NULL;
        size_t at = 0;
        for (size_t s = 0; s < docs[d].count; s++, g++) {
            const wire_section_t *sec = &docs[d].sections[s];
            marks[g] = (apply_marks_t){sec->coll, sec->coll_len, sec->marks, sec->mark_count};
            groups[g] =
                (apply_group_t){.sets = sec->sets,
                                .lens = sec->set_lens,
                                .n = sec->set_count,
                                .marks = &marks[g],
                                .results = &res[r],
                                .checked = c && at + sec->set_count <= c->n ? c->sets + at : NULL};
            r += sec->set_count;
            at += sec->set_count;
        }
    }
    if (err == MESH_OK) {
        err = s_apply_in_txns(m, groups, ngroups, nsets);
    }
    g = 0;
    for (size_t d = 0; err == MESH_OK && d < ndocs; d++) {
        for (size_t s = 0; err == MESH_OK && s < docs[d].count; s++, g++) {
            err = s_report_group(m, &docs[d].sections[s], groups[g].results, report, &text);
        }
    }
    for (size_t d = 0; d < ndocs; d++) {
        wire_doc_release(&docs[d]);
    }
    free(docs);
    free(groups);
    free(marks);
    free(res);
    if (err == MESH_OK && text.len) {
        err = wire_buf_append(&text, "", 1);
        report->text = (char *)text.data;
        text.data = NULL;
    }
    wire_buf_release(&text);
    return err;
}

mesh_err_t
mesh_import(mesh_t *m, const void *bundle, size_t len, mesh_import_report_t *report)
{
    if (report) {
        memset(report, 0, sizeof *report);
    }
    if (!m || !bundle || !report) {
        return MESH_EINVAL;
    }
    const uint8_t *b = bundle;
    return bundle_import_many(m, &b, &len, NULL, 1, report);
}

/* Dots theirs covers that ours does not, for one entry (ours may be NULL). */
static uint64_t
s_lacking(const wire_vv_t *theirs, const wire_vv_t *ours)
{
    uint64_t n = 0, base = ours ? ours->base : 0;
    if (theirs->base > base) {
        n = theirs->base - base;
        for (size_t i = 0; ours && i < ours->extra_count; i++) {
            n -= wire_vv_extra(ours, i) <= theirs->base; /* extras are above our base */
        }
    }
    for (size_t i = 0; i < theirs->extra_count; i++) {
        uint64_t seq = wire_vv_extra(theirs, i);
        n += seq > base && !s_since_covers(ours, seq);
    }
    return n;
}

/* The entry of counts for coll, added when new. */
static bundle_count_t *
s_count_for(bundle_count_t **counts, size_t *n, size_t *cap, const char *coll, size_t len)
{
    for (size_t i = 0; i < *n; i++) {
        if (strlen((*counts)[i].coll) == len && memcmp((*counts)[i].coll, coll, len) == 0) {
            return &(*counts)[i];
        }
    }
    if (len > MESH_COLL_MAX) {
        return NULL;
    }
    if (*n == *cap) {
        size_t c = *cap ? *cap * 2 : 8;
        bundle_count_t *p = realloc(*counts, c * sizeof *p);
        if (!p) {
            return NULL;
        }
        *counts = p;
        *cap = c;
    }
    bundle_count_t *e = &(*counts)[(*n)++];
    memset(e, 0, sizeof *e);
    memcpy(e->coll, coll, len);
    return e;
}

mesh_err_t
bundle_count_diff(mesh_t *m, const wire_doc_t *ours, const wire_doc_t *theirs, bundle_count_t **out,
                  size_t *count)
{
    store_txn_t *txn = NULL;
    store_cursor_t *colls = NULL;
    char name[MESH_COLL_MAX + 1];
    uint32_t cid = 0;
    bundle_count_t *counts = NULL;
    size_t n = 0, cap = 0;
    *out = NULL;
    *count = 0;
    mesh_err_t err = store_read_begin(m->store, &txn);
    if (err == MESH_OK) {
        err = store_colls_open(txn, &colls);
    }
    while (err == MESH_OK && (err = store_colls_next(colls, name, &cid)) == MESH_OK) {
        store_cursor_t *vvs = NULL;
        store_vv_t vv;
        uint32_t oid = 0;
        bundle_count_t *e = s_count_for(&counts, &n, &cap, name, strlen(name));
        err = e ? store_vvs_open(txn, cid, &vvs) : MESH_ENOMEM;
        while (err == MESH_OK && (err = store_vvs_next(vvs, &oid, &vv)) == MESH_OK) {
            uint8_t origin[WIRE_ORIGIN_LEN];
            uint64_t inc = 0, above = 0;
            err = store_origin_get(txn, oid, origin, &inc);
            const wire_vv_t *recv = err == MESH_OK ? s_since_find(theirs, name, origin, inc) : NULL;
            uint64_t from = recv ? recv->base : 0;
            if (err == MESH_OK && vv.base > from + S_COUNT_EXACT) {
                /* far apart: count dots, not live versions (no scan of the whole index);
                 * the count becomes exact as the gap closes */
                above = vv.base - from + vv.extra_count;
            } else if (err == MESH_OK) {
                err = store_dot_count_above(txn, cid, oid, from, &above);
            }
            /* the receiver's extras are dots it holds above its base */
            uint64_t extras = recv ? recv->extra_count : 0;
            e->to_send += above > extras ? above - extras : 0;
        }
        store_cursor_close(vvs);
        err = err == MESH_ENOTFOUND ? MESH_OK : err;
    }
    store_cursor_close(colls);
    store_read_end(txn);
    err = err == MESH_ENOTFOUND ? MESH_OK : err;
    for (size_t i = 0; err == MESH_OK && i < theirs->count; i++) {
        const wire_section_t *sec = &theirs->sections[i];
        bundle_count_t *e = s_count_for(&counts, &n, &cap, sec->coll, sec->coll_len);
        if (!e) {
            err = sec->coll_len > MESH_COLL_MAX ? MESH_EPROTO : MESH_ENOMEM;
            break;
        }
        for (size_t j = 0; j < sec->vv_count; j++) {
            e->to_receive += s_lacking(&sec->vvs[j], s_since_find(ours, e->coll, sec->vvs[j].origin,
                                                                  sec->vvs[j].incarnation));
        }
    }
    if (err != MESH_OK) {
        free(counts);
        return err;
    }
    *out = counts;
    *count = n;
    return MESH_OK;
}
