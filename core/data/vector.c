/* core/data/vector.c: whole version vectors, decoded once and kept so: loading, decoding,
 * encoding, coverage, raising by watermarks, the summary and the counts of what each side
 * lacks. The rules on one entry are vv.c's; this file only walks collections and entries.
 * Layer: core. Third-party: none. SPDX-License-Identifier: MIT */
#include "core/data/vector.h"

#include <stdlib.h>
#include <string.h>

#include "core/base/node.h"
#include "crypto/hash.h"

#define S_COUNT_EXACT 20000u /* versions counted one by one in vector_count, at most */

/* ---- building ---- */

static mesh_err_t
s_new(vector_t **out)
{
    *out = calloc(1, sizeof **out);
    return *out ? MESH_OK : MESH_ENOMEM;
}

void
vector_free(vector_t *v)
{
    if (!v) {
        return;
    }
    for (size_t i = 0; i < v->count; i++) {
        for (size_t j = 0; j < v->colls[i].count; j++) {
            vv_release(&v->colls[i].entries[j].vv);
        }
        free(v->colls[i].entries);
    }
    free(v->colls);
    free(v);
}

/* Append an empty collection named name (len bytes, at most MESH_COLL_MAX); NULL: no
 * memory. Valid until the next append. */
static vector_coll_t *
s_coll_add(vector_t *v, const char *name, size_t len)
{
    if (v->count == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 8;
        vector_coll_t *c = realloc(v->colls, cap * sizeof *c);
        if (!c) {
            return NULL;
        }
        v->colls = c;
        v->cap = cap;
    }
    vector_coll_t *c = &v->colls[v->count++];
    memset(c, 0, sizeof *c);
    memcpy(c->name, name, len);
    return c;
}

/* Append an empty entry of (origin, inc) to c; NULL: no memory. */
static vector_entry_t *
s_entry_add(vector_coll_t *c, const uint8_t *origin, uint64_t inc)
{
    if (c->count == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 8;
        vector_entry_t *e = realloc(c->entries, cap * sizeof *e);
        if (!e) {
            return NULL;
        }
        c->entries = e;
        c->cap = cap;
    }
    vector_entry_t *e = &c->entries[c->count++];
    memcpy(e->origin, origin, WIRE_ORIGIN_LEN);
    e->incarnation = inc;
    vv_init(&e->vv);
    return e;
}

/* The first collection named name (len bytes) in v, or NULL. */
static vector_coll_t *
s_coll_first(const vector_t *v, const char *name, size_t len)
{
    for (size_t i = 0; v && i < v->count; i++) {
        if (strlen(v->colls[i].name) == len && memcmp(v->colls[i].name, name, len) == 0) {
            return &v->colls[i];
        }
    }
    return NULL;
}

/* The first entry of (origin, inc) among the collections named name (len bytes) of v (a
 * vector file may repeat a collection), or NULL. */
static vector_entry_t *
s_find(const vector_t *v, const char *name, size_t len, const uint8_t *origin, uint64_t inc)
{
    for (size_t i = 0; v && i < v->count; i++) {
        const vector_coll_t *c = &v->colls[i];
        if (strlen(c->name) != len || memcmp(c->name, name, len) != 0) {
            continue;
        }
        for (size_t j = 0; j < c->count; j++) {
            if (c->entries[j].incarnation == inc &&
                memcmp(c->entries[j].origin, origin, WIRE_ORIGIN_LEN) == 0) {
                return &c->entries[j];
            }
        }
    }
    return NULL;
}

/* Load one collection's entries from the store into v (empty when never written). */
static mesh_err_t
s_load_coll(store_txn_t *txn, const char *name, vector_t *v)
{
    uint32_t cid = 0, oid = 0;
    store_cursor_t *cur = NULL;
    store_vv_t rec;
    vector_coll_t *c = s_coll_add(v, name, strlen(name));
    mesh_err_t err = c ? store_coll_id(txn, name, false, &cid) : MESH_ENOMEM;
    if (err == MESH_OK) {
        err = store_vvs_open(txn, cid, &cur);
    }
    while (err == MESH_OK && (err = store_vvs_next(cur, &oid, &rec)) == MESH_OK) {
        uint8_t origin[WIRE_ORIGIN_LEN];
        uint64_t inc = 0;
        err = store_origin_get(txn, oid, origin, &inc);
        vector_entry_t *e = err == MESH_OK ? s_entry_add(c, origin, inc) : NULL;
        if (err == MESH_OK) {
            err = e ? vv_load_record(&e->vv, &rec) : MESH_ENOMEM;
        }
    }
    store_cursor_close(cur);
    return err == MESH_ENOTFOUND ? MESH_OK : err;
}

mesh_err_t
vector_load(store_txn_t *txn, const char *const *colls, size_t n, vector_t **out)
{
    mesh_err_t err = s_new(out);
    for (size_t i = 0; err == MESH_OK && i < n; i++) {
        if (strlen(colls[i]) > MESH_COLL_MAX) {
            err = MESH_EINVAL;
            break;
        }
        err = s_load_coll(txn, colls[i], *out);
    }
    if (err != MESH_OK) {
        vector_free(*out);
        *out = NULL;
    }
    return err;
}

/* Append the decoded entry w to c, its extras copied out of the file. */
static mesh_err_t
s_entry_decode(vector_coll_t *c, const wire_vv_t *w)
{
    vector_entry_t *e = s_entry_add(c, w->origin, w->incarnation);
    if (!e) {
        return MESH_ENOMEM;
    }
    if (w->extra_count) {
        e->vv.extra = malloc(w->extra_count * sizeof *e->vv.extra);
        if (!e->vv.extra) {
            return MESH_ENOMEM;
        }
        e->vv.cap = w->extra_count;
    }
    e->vv.base = w->base;
    for (size_t k = 0; k < w->extra_count; k++) {
        e->vv.extra[k] = wire_vv_extra(w, k);
    }
    e->vv.count = w->extra_count;
    return MESH_OK;
}

/* A collection whose name this device refuses (PROTOCOL.md §1) can never be received here:
 * for this device, a peer does not have it (so status does not show it coming, and no
 * pass waits for it). */
static bool
s_name_ok(const char *name, size_t len)
{
    bool system = len == 5 && memcmp(name, "_mesh", 5) == 0;
    return node_coll_name_check(name, len, system, NULL, 0) == MESH_OK;
}

mesh_err_t
vector_decode(const uint8_t *buf, size_t len, vector_t **out)
{
    wire_doc_t doc;
    *out = NULL;
    mesh_err_t err = wire_doc_decode(buf, len, true, &doc);
    if (err != MESH_OK) {
        return err;
    }
    /* No home holds more collections than MESH_COLLS_MAX, so no honest vector names more;
     * the lookups by name below stay O(MESH_COLLS_MAX) each (a HELLO naming 60,000
     * collections kept a daemon busy for 15 s) */
    err = doc.count > MESH_COLLS_MAX ? MESH_ETOOBIG : s_new(out);
    for (size_t i = 0; err == MESH_OK && i < doc.count; i++) {
        const wire_section_t *sec = &doc.sections[i];
        if (!s_name_ok(sec->coll, sec->coll_len)) {
            continue;
        }
        /* (the decoder bounds a name by MESH_COLL_MAX) */
        vector_coll_t *c =
            sec->coll_len <= MESH_COLL_MAX ? s_coll_add(*out, sec->coll, sec->coll_len) : NULL;
        err = c ? MESH_OK : sec->coll_len > MESH_COLL_MAX ? MESH_EPROTO : MESH_ENOMEM;
        for (size_t j = 0; err == MESH_OK && j < sec->vv_count; j++) {
            err = s_entry_decode(c, &sec->vvs[j]);
        }
    }
    wire_doc_release(&doc);
    if (err != MESH_OK) {
        vector_free(*out);
        *out = NULL;
    }
    return err;
}

mesh_err_t
vector_encode(const vector_t *v, wire_buf_t *out)
{
    wire_vv_t *vvs = NULL;
    const uint64_t **extras = NULL;
    size_t cap = 0;
    mesh_err_t err = wire_vector_begin(v->count, out);
    for (size_t i = 0; err == MESH_OK && i < v->count; i++) {
        const vector_coll_t *c = &v->colls[i];
        if (c->count > cap) {
            free(vvs);
            free(extras);
            cap = c->count;
            vvs = calloc(cap, sizeof *vvs);
            extras = calloc(cap, sizeof *extras);
            if (!vvs || !extras) {
                err = MESH_ENOMEM;
                break;
            }
        }
        for (size_t j = 0; j < c->count; j++) {
            const vector_entry_t *e = &c->entries[j];
            memcpy(vvs[j].origin, e->origin, WIRE_ORIGIN_LEN);
            vvs[j].incarnation = e->incarnation;
            vvs[j].base = e->vv.base;
            vvs[j].extra_count = e->vv.count;
            extras[j] = e->vv.extra;
        }
        err = wire_vector_section(c->name, vvs, extras, c->count, out);
    }
    free(vvs);
    free(extras);
    return err;
}

mesh_err_t
vector_copy(const vector_t *v, vector_t **out)
{
    mesh_err_t err = s_new(out);
    for (size_t i = 0; err == MESH_OK && i < v->count; i++) {
        const vector_coll_t *from = &v->colls[i];
        vector_coll_t *c = s_coll_add(*out, from->name, strlen(from->name));
        err = c ? MESH_OK : MESH_ENOMEM;
        for (size_t j = 0; err == MESH_OK && j < from->count; j++) {
            const vector_entry_t *f = &from->entries[j];
            vector_entry_t *e = s_entry_add(c, f->origin, f->incarnation);
            err = e ? vv_copy(&e->vv, &f->vv) : MESH_ENOMEM;
        }
    }
    if (err != MESH_OK) {
        vector_free(*out);
        *out = NULL;
    }
    return err;
}

bool
vector_equal(const vector_t *a, const vector_t *b)
{
    if (a->count != b->count) {
        return false;
    }
    for (size_t i = 0; i < a->count; i++) {
        const vector_coll_t *x = &a->colls[i], *y = &b->colls[i];
        if (x->count != y->count || strcmp(x->name, y->name) != 0) {
            return false;
        }
        for (size_t j = 0; j < x->count; j++) {
            const vector_entry_t *e = &x->entries[j], *f = &y->entries[j];
            if (e->incarnation != f->incarnation ||
                memcmp(e->origin, f->origin, WIRE_ORIGIN_LEN) != 0 || !vv_equal(&e->vv, &f->vv)) {
                return false;
            }
        }
    }
    return true;
}

/* ---- walks ---- */

const vector_entry_t *
vector_find(const vector_t *v, const char *coll, const uint8_t *origin, uint64_t inc)
{
    return s_find(v, coll, strlen(coll), origin, inc);
}

mesh_err_t
vector_raise(vector_t *v, const wire_doc_t *bundle)
{
    for (size_t i = 0; i < bundle->count; i++) {
        const wire_section_t *sec = &bundle->sections[i];
        if (sec->coll_len > MESH_COLL_MAX) {
            return MESH_EPROTO; /* (the decoder bounds a name by MESH_COLL_MAX) */
        }
        vector_coll_t *c = s_coll_first(v, sec->coll, sec->coll_len);
        if (!c && (!s_name_ok(sec->coll, sec->coll_len) || v->count >= MESH_COLLS_MAX)) {
            continue; /* never held here, or past what a home may hold */
        }
        if (!c && !(c = s_coll_add(v, sec->coll, sec->coll_len))) {
            return MESH_ENOMEM;
        }
        for (size_t k = 0; k < sec->mark_count; k++) {
            const wire_mark_t *mk = &sec->marks[k];
            vector_entry_t *e = s_find(v, sec->coll, sec->coll_len, mk->origin, mk->incarnation);
            if (!e && !(e = s_entry_add(c, mk->origin, mk->incarnation))) {
                return MESH_ENOMEM;
            }
            if (mk->seq > e->vv.base) {
                vv_raise(&e->vv, mk->seq);
            }
        }
    }
    return MESH_OK;
}

/* ---- the summary ---- */

/* Entries of one collection, for sorting into the summary's canonical order. */
static int
s_entry_cmp(const void *a, const void *b)
{
    const vector_entry_t *x = *(const vector_entry_t *const *)a;
    const vector_entry_t *y = *(const vector_entry_t *const *)b;
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

/* Hash one collection's non-empty entries e[0..n), sorted, with its digest. */
static mesh_err_t
s_summary_coll(store_txn_t *txn, hash_state_t *st, const vector_coll_t *c, const vector_entry_t **e,
               size_t n)
{
    store_coll_stats_t stats;
    uint32_t cid = 0;
    qsort(e, n, sizeof *e, s_entry_cmp);
    memset(&stats, 0, sizeof stats);
    mesh_err_t err = store_coll_id(txn, c->name, false, &cid);
    if (err == MESH_OK) {
        err = store_coll_stats_get(txn, cid, &stats);
    }
    size_t len = strlen(c->name);
    s_hash_u64(st, len);
    hash_update(st, c->name, len);
    hash_update(st, stats.digest, sizeof stats.digest);
    s_hash_u64(st, n);
    for (size_t j = 0; j < n; j++) {
        hash_update(st, e[j]->origin, WIRE_ORIGIN_LEN);
        s_hash_u64(st, e[j]->incarnation);
        s_hash_u64(st, e[j]->vv.base);
        s_hash_u64(st, e[j]->vv.count);
        for (size_t k = 0; k < e[j]->vv.count; k++) {
            s_hash_u64(st, e[j]->vv.extra[k]);
        }
    }
    return err == MESH_ENOTFOUND ? MESH_OK : err;
}

mesh_err_t
vector_summary(store_t *st, const vector_t *v, uint8_t *out)
{
    hash_state_t hs;
    uint8_t full[HASH_LEN];
    store_txn_t *txn = NULL;
    mesh_err_t err = store_read_begin(st, &txn);
    hash_init(&hs, HASH_TAG_SUMMARY);
    for (size_t i = 0; err == MESH_OK && i < v->count; i++) {
        const vector_coll_t *c = &v->colls[i];
        const vector_entry_t **e = calloc(c->count ? c->count : 1, sizeof *e);
        size_t n = 0;
        if (!e) {
            err = MESH_ENOMEM;
            break;
        }
        for (size_t j = 0; j < c->count; j++) {
            if (c->entries[j].vv.base || c->entries[j].vv.count) {
                e[n++] = &c->entries[j]; /* an empty entry says nothing */
            }
        }
        if (n) {
            err = s_summary_coll(txn, &hs, c, e, n);
        }
        free(e);
    }
    store_read_end(txn);
    hash_final(&hs, full);
    memcpy(out, full, VECTOR_SUMMARY_LEN);
    return err;
}

/* ---- what each side lacks ---- */

/* A vector's collections by name (then by place, so that the first of a repeated
 * collection comes first), looked up in O(log n): counting must not be O(n^2) in the
 * collections, which a peer's vector file may list by the hundred thousand. */
struct vector_index {
    const vector_coll_t **colls;
    size_t count;
};
typedef vector_index_t s_index_t;

static int
s_by_name(const void *a, const void *b)
{
    const vector_coll_t *x = *(const vector_coll_t *const *)a;
    const vector_coll_t *y = *(const vector_coll_t *const *)b;
    int c = strcmp(x->name, y->name);
    return c ? c : (x > y) - (x < y);
}

static mesh_err_t
s_index_make(const vector_t *v, s_index_t *ix)
{
    ix->count = v ? v->count : 0;
    ix->colls = malloc((ix->count ? ix->count : 1) * sizeof *ix->colls);
    if (!ix->colls) {
        return MESH_ENOMEM;
    }
    for (size_t i = 0; i < ix->count; i++) {
        ix->colls[i] = &v->colls[i];
    }
    qsort(ix->colls, ix->count, sizeof *ix->colls, s_by_name);
    return MESH_OK;
}

/* The place of the first collection named name in ix (ix->count: none). */
static size_t
s_index_first(const s_index_t *ix, const char *name)
{
    size_t lo = 0, hi = ix->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(ix->colls[mid]->name, name) < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo < ix->count && strcmp(ix->colls[lo]->name, name) == 0 ? lo : ix->count;
}

/* vector_find through ix: the first entry of (origin, inc) among the collections named
 * name, or NULL. */
static const vector_entry_t *
s_index_find(const s_index_t *ix, const char *name, const uint8_t *origin, uint64_t inc)
{
    for (size_t i = s_index_first(ix, name); i < ix->count && strcmp(ix->colls[i]->name, name) == 0;
         i++) {
        const vector_coll_t *c = ix->colls[i];
        for (size_t j = 0; j < c->count; j++) {
            if (c->entries[j].incarnation == inc &&
                memcmp(c->entries[j].origin, origin, WIRE_ORIGIN_LEN) == 0) {
                return &c->entries[j];
            }
        }
    }
    return NULL;
}

mesh_err_t
vector_index_new(const vector_t *v, vector_index_t **out)
{
    *out = calloc(1, sizeof **out);
    if (!*out) {
        return MESH_ENOMEM;
    }
    mesh_err_t err = s_index_make(v, *out);
    if (err != MESH_OK) {
        free(*out);
        *out = NULL;
    }
    return err;
}

void
vector_index_free(vector_index_t *ix)
{
    if (ix) {
        free(ix->colls);
        free(ix);
    }
}

const vector_entry_t *
vector_index_find(const vector_index_t *ix, const char *coll, const uint8_t *origin, uint64_t inc)
{
    return ix ? s_index_find(ix, coll, origin, inc) : NULL;
}

bool
vector_covers(const vector_t *ours, const vector_t *theirs)
{
    s_index_t ix = {NULL, 0};
    bool covers = true;
    /* through an index of ours: O(n log n) in the collections, not O(n^2) (a HELLO's vector
     * file may name 4,096) */
    if (s_index_make(ours, &ix) != MESH_OK) {
        return false; /* (no memory: "not known to cover", the safe answer) */
    }
    for (size_t i = 0; covers && i < theirs->count; i++) {
        const vector_coll_t *c = &theirs->colls[i];
        for (size_t j = 0; covers && j < c->count; j++) {
            const vector_entry_t *t = &c->entries[j];
            const vector_entry_t *o = s_index_find(&ix, c->name, t->origin, t->incarnation);
            covers = vv_covers_all(o ? &o->vv : NULL, &t->vv);
        }
    }
    free(ix.colls);
    return covers;
}

static int
s_count_by_name(const void *a, const void *b)
{
    return strcmp(((const vector_count_t *)a)->coll, ((const vector_count_t *)b)->coll);
}

/* A new zeroed entry for coll at the end of *counts; NULL: no memory. */
static vector_count_t *
s_count_add(vector_count_t **counts, size_t *n, size_t *cap, const char *coll)
{
    if (*n == *cap) {
        size_t c = *cap ? *cap * 2 : 8;
        vector_count_t *p = realloc(*counts, c * sizeof *p);
        if (!p) {
            return NULL;
        }
        *counts = p;
        *cap = c;
    }
    vector_count_t *e = &(*counts)[(*n)++];
    memset(e, 0, sizeof *e);
    memcpy(e->coll, coll, strlen(coll));
    return e;
}

/* Add to e what theirs lacks of one stored collection (cid, named name). */
static mesh_err_t
s_count_send(store_txn_t *txn, const s_index_t *theirs, const char *name, uint32_t cid,
             vector_count_t *e)
{
    store_cursor_t *vvs = NULL;
    store_vv_t vv;
    uint32_t oid = 0;
    mesh_err_t err = store_vvs_open(txn, cid, &vvs);
    while (err == MESH_OK && (err = store_vvs_next(vvs, &oid, &vv)) == MESH_OK) {
        uint8_t origin[WIRE_ORIGIN_LEN];
        uint64_t inc = 0, above = 0;
        err = store_origin_get(txn, oid, origin, &inc);
        const vector_entry_t *recv =
            err == MESH_OK ? s_index_find(theirs, name, origin, inc) : NULL;
        uint64_t from = recv ? recv->vv.base : 0;
        if (err == MESH_OK && vv.base > from + S_COUNT_EXACT) {
            /* far apart: count dots, not live versions (no scan of the whole index);
             * the count becomes exact as the gap closes */
            above = vv.base - from + vv.extra_count;
        } else if (err == MESH_OK) {
            err = store_dot_count_above(txn, cid, oid, from, &above);
        }
        /* the receiver's extras are dots it holds above its base */
        uint64_t extras = recv ? recv->vv.count : 0;
        e->to_send += above > extras ? above - extras : 0;
    }
    store_cursor_close(vvs);
    return err == MESH_ENOTFOUND ? MESH_OK : err;
}

/* Add what ours lacks of theirs, collection by collection (a repeated one adds to the same
 * entry), to counts: the stored collections' entries are its first nstored, by name. */
static mesh_err_t
s_count_receive(const s_index_t *ours, const s_index_t *theirs, vector_count_t **counts, size_t *n,
                size_t *cap, size_t nstored)
{
    vector_count_t *e = NULL;
    for (size_t i = 0; i < theirs->count; i++) {
        const vector_coll_t *c = theirs->colls[i];
        if (!e || strcmp(e->coll, c->name) != 0) {
            vector_count_t key;
            memcpy(key.coll, c->name, sizeof key.coll);
            e = bsearch(&key, *counts, nstored, sizeof key, s_count_by_name);
            e = e ? e : s_count_add(counts, n, cap, c->name);
            if (!e) {
                return MESH_ENOMEM;
            }
        }
        for (size_t j = 0; j < c->count; j++) {
            const vector_entry_t *t = &c->entries[j];
            const vector_entry_t *o = s_index_find(ours, c->name, t->origin, t->incarnation);
            e->to_receive += vv_lacking(&t->vv, o ? &o->vv : NULL);
        }
    }
    return MESH_OK;
}

mesh_err_t
vector_count(store_t *st, const vector_t *ours, const vector_t *theirs, vector_count_t **out,
             size_t *count)
{
    store_txn_t *txn = NULL;
    store_cursor_t *colls = NULL;
    char name[MESH_COLL_MAX + 1];
    uint32_t cid = 0;
    vector_count_t *counts = NULL;
    size_t n = 0, cap = 0;
    s_index_t ours_ix = {NULL, 0}, theirs_ix = {NULL, 0};
    *out = NULL;
    *count = 0;
    mesh_err_t err = s_index_make(ours, &ours_ix);
    if (err == MESH_OK) {
        err = s_index_make(theirs, &theirs_ix);
    }
    if (err == MESH_OK) {
        err = store_read_begin(st, &txn);
    }
    if (err == MESH_OK) {
        err = store_colls_open(txn, &colls);
    }
    while (err == MESH_OK && (err = store_colls_next(colls, name, &cid)) == MESH_OK) {
        vector_count_t *e = s_count_add(&counts, &n, &cap, name); /* names are unique */
        err = e ? s_count_send(txn, &theirs_ix, name, cid, e) : MESH_ENOMEM;
    }
    store_cursor_close(colls);
    store_read_end(txn);
    err = err == MESH_ENOTFOUND ? MESH_OK : err;
    if (err == MESH_OK) {
        qsort(counts, n, sizeof *counts, s_count_by_name);
        err = s_count_receive(&ours_ix, &theirs_ix, &counts, &n, &cap, n);
        qsort(counts, n, sizeof *counts, s_count_by_name);
    }
    free(ours_ix.colls);
    free(theirs_ix.colls);
    if (err != MESH_OK) {
        free(counts);
        return err;
    }
    *out = counts;
    *count = n;
    return MESH_OK;
}
