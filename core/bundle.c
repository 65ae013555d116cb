/* core/bundle.c: sync by file. Exports what this device holds (or what a vector does not
 * cover) as a bundle of signed sets with their watermarks, imports bundles, and writes
 * this device's vectors (docs/PROTOCOL.md §3.5, §3.6, §9).
 * A bundle carries only live versions and tombstones, each under the signed header of its
 * set: the whole set when all its ops are live, else only the live ops with Merkle proofs.
 * Layer: core. Third-party: none. SPDX-License-Identifier: MIT */
#include "bundle.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../crypto/devid.h"
#include "../crypto/hash.h"
#include "apply.h"
#include "member.h"
#include "node.h"

/* The live ops of one stored set being gathered for export. */
typedef struct s_group {
    store_set_t set;    /* the stored record (borrowed from the read txn) */
    uint32_t count;     /* ops in the set, from its header */
    wire_op_t *ops;     /* proof/proof_count: the version's stored proof, if any */
    size_t *index;      /* each op's leaf index in the set */
    size_t n, cap;
    wire_buf_t proofs;  /* proofs computed from the set's leaves at flush */
    size_t *lens;
} s_group_t;

/* State of one export. */
typedef struct s_export {
    mesh_t *m;
    store_txn_t *txn;
    const wire_doc_t *since; /* the receiver's vectors, or NULL */
    store_item_t *item;
    s_group_t g;
    wire_buf_t set_buf;      /* one encoded set */
    wire_buf_t sets;         /* a section's sets, each as a bin */
    size_t set_count;
    wire_mark_t *marks;
    size_t mark_count, mark_cap;
    size_t limit;            /* stop at a set boundary past this many set bytes (0: none) */
    size_t total;            /* set bytes in the sections already written */
    bool cut;                /* stopped at the limit: more remains */
    size_t pieces;           /* sets and watermarks written in all */
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
    for (size_t i = 0; i < vv->extra_count; i++) {
        if (wire_vv_extra(vv, i) == seq) {
            return true;
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
        err = full ? wire_set_encode(g->set.header, g->set.header_len, g->set.sig, g->ops,
                                     g->n, &x->set_buf)
                   : wire_set_encode_partial(g->set.header, g->set.header_len, g->set.sig,
                                             g->ops, g->n, &x->set_buf);
    }
    if (err == MESH_OK) {
        err = wire_section_set(x->set_buf.data, x->set_buf.len, &x->sets);
    }
    x->set_count++;
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
s_mark_add(s_export_t *x, const uint8_t *origin, uint64_t inc, uint64_t seq)
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
    return MESH_OK;
}

/* Gather what the receiver lacks of one origin in one collection: its live versions and
 * tombstones in ascending seq, grouped by set, and a watermark. */
static mesh_err_t
s_export_origin(s_export_t *x, const char *coll, uint32_t cid, uint32_t oid,
                const store_vv_t *vv)
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
     * sent (what lies beyond goes in the next batch). */
    uint64_t mark = x->cut && sent < vv->base ? sent : vv->base;
    if (err == MESH_OK && mark > (recv ? recv->base : 0)) {
        err = s_mark_add(x, origin, inc, mark);
    }
    return err;
}

/* Write one collection's section into out. */
static mesh_err_t
s_export_coll(s_export_t *x, const char *coll, wire_buf_t *out)
{
    uint32_t cid = 0, oid = 0;
    store_cursor_t *cur = NULL;
    store_vv_t vv;
    wire_buf_reset(&x->sets);
    x->set_count = 0;
    x->mark_count = 0;
    mesh_err_t err = store_coll_id(x->txn, coll, false, &cid);
    if (err == MESH_OK) {
        err = store_vvs_open(x->txn, cid, &cur);
    }
    while (err == MESH_OK && !x->cut && (err = store_vvs_next(cur, &oid, &vv)) == MESH_OK) {
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
              size_t limit, wire_buf_t *out, bool *more, size_t *pieces)
{
    s_export_t x = {.m = m, .since = since, .limit = limit};
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
    for (size_t i = 0; err == MESH_OK && i < count; i++) {
        err = s_export_coll(&x, names[i], out);
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
mesh_export(mesh_t *m, const char *const *colls, size_t ncolls, const void *since,
            size_t since_len, void **out, size_t *out_len)
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
        err = bundle_export(m, colls, ncolls, since ? &doc : NULL, 0, &buf, &more, &pieces);
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

/* Apply one section of a bundle in batches that never split a set. */
static mesh_err_t
s_import_section(mesh_t *m, const wire_section_t *sec, mesh_import_report_t *rep,
                 wire_buf_t *text)
{
    char coll[MESH_COLL_MAX + 1];
    apply_result_t *res = calloc(sec->set_count ? sec->set_count : 1, sizeof *res);
    if (!res) {
        return MESH_ENOMEM;
    }
    memcpy(coll, sec->coll, sec->coll_len);
    coll[sec->coll_len] = '\0';
    apply_marks_t marks = {sec->coll, sec->coll_len, sec->marks, sec->mark_count};
    mesh_err_t err = apply_batch(m, sec->sets, sec->set_lens, sec->set_count, &marks, res);
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
    free(res);
    return err;
}

mesh_err_t
mesh_import(mesh_t *m, const void *bundle, size_t len, mesh_import_report_t *report)
{
    wire_doc_t doc;
    wire_buf_t text;
    if (report) {
        memset(report, 0, sizeof *report);
    }
    if (!m || !bundle || !report) {
        return MESH_EINVAL;
    }
    mesh_err_t err = wire_doc_decode(bundle, len, false, &doc);
    if (err != MESH_OK) {
        return node_fail(m, err, "not a bundle, or a damaged one (%s)", mesh_strerror(err));
    }
    wire_buf_init(&text);
    for (size_t i = 0; err == MESH_OK && i < doc.count; i++) {
        err = s_import_section(m, &doc.sections[i], report, &text);
    }
    wire_doc_release(&doc);
    if (err == MESH_OK && text.len) {
        err = wire_buf_append(&text, "", 1);
        report->text = (char *)text.data;
        text.data = NULL;
    }
    wire_buf_release(&text);
    return err;
}

mesh_err_t
bundle_count_missing(mesh_t *m, const wire_doc_t *since, uint64_t *items)
{
    store_txn_t *txn = NULL;
    store_cursor_t *colls = NULL;
    char name[MESH_COLL_MAX + 1];
    uint32_t cid = 0;
    *items = 0;
    mesh_err_t err = store_read_begin(m->store, &txn);
    if (err == MESH_OK) {
        err = store_colls_open(txn, &colls);
    }
    while (err == MESH_OK && (err = store_colls_next(colls, name, &cid)) == MESH_OK) {
        store_cursor_t *vvs = NULL;
        store_vv_t vv;
        uint32_t oid = 0;
        err = store_vvs_open(txn, cid, &vvs);
        while (err == MESH_OK && (err = store_vvs_next(vvs, &oid, &vv)) == MESH_OK) {
            uint8_t origin[WIRE_ORIGIN_LEN];
            uint64_t inc = 0, above = 0;
            err = store_origin_get(txn, oid, origin, &inc);
            const wire_vv_t *recv = err == MESH_OK ? s_since_find(since, name, origin, inc) : NULL;
            if (err == MESH_OK) {
                err = store_dot_count_above(txn, cid, oid, recv ? recv->base : 0, &above);
            }
            /* the receiver's extras are dots it holds above its base */
            *items += above > (recv ? recv->extra_count : 0) ? above - (recv ? recv->extra_count : 0)
                                                              : 0;
        }
        store_cursor_close(vvs);
        err = err == MESH_ENOTFOUND ? MESH_OK : err;
    }
    store_cursor_close(colls);
    store_read_end(txn);
    return err == MESH_ENOTFOUND ? MESH_OK : err;
}
