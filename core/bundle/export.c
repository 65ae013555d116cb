/* core/bundle/export.c: what a bundle carries. Walks, per collection and origin, the live
 * versions and tombstones the receiver's vector does not cover, groups them under their
 * signed set headers (the whole set when all its ops are live, else the live ops with
 * Merkle proofs), adds the watermarks, and stops at a set boundary past a byte limit.
 * Layer: core. Third-party: none. SPDX-License-Identifier: MIT */
#include "core/bundle/export.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/apply/rules.h"
#include "core/bundle/group.h"
#include "core/bundle/vecfile.h"
#include "core/member/access.h"
#include "core/member/member.h"

/* State of one export. */
typedef struct s_export {
    mesh_t *m;
    store_txn_t *txn;
    const vector_t *since;    /* the receiver's vectors, or NULL */
    vector_index_t *since_ix; /* and their index by collection name */
    store_item_t *item;
    group_t g;          /* the live ops of one stored set being gathered */
    wire_buf_t set_buf; /* one encoded set */
    wire_buf_t sets;    /* a section's sets, each as a bin */
    size_t set_count;
    wire_mark_t *marks;
    size_t mark_count, mark_cap;
    size_t limit;         /* stop at a set boundary past this many set bytes (0: none) */
    size_t total;         /* set bytes in the sections already written */
    bool cut;             /* stopped at the limit: more remains */
    size_t pieces;        /* sets and watermarks written in all */
    uint64_t origin_end;  /* the last seq of the last set written of the current origin */
    export_pos_t *pos;    /* where the previous batch of a pass stopped, or NULL */
    bool skipping;        /* before pos: nothing is written */
    const uint8_t *to;    /* the device it is for, or NULL (anyone: a bundle file) */
    access_list_t access; /* the access list of the collection being written (§8.3) */
} s_export_t;

/* Encode the gathered group as one set into the section: whole, without proofs, when every
 * op of the set is still live; else only the live ops, each with its proof. */
static mesh_err_t
s_group_flush(s_export_t *x)
{
    group_t *g = &x->g;
    if (g->n == 0) {
        return MESH_OK;
    }
    size_t n = g->n;
    mesh_err_t err = group_encode(g, &x->set_buf);
    if (err == MESH_OK) {
        err = wire_section_set(x->set_buf.data, x->set_buf.len, &x->sets);
    }
    x->set_count++;
    if (x->pos) {
        x->pos->versions += n;
    }
    x->origin_end = g->set.first_seq + g->count - 1;
    return err;
}

/* The header alone (a partial set of no op, §3.4) of the latest stored set of (cid, oid),
 * when the receiver's vector (recv, may be NULL) lacks its last seq and no set written of
 * this origin reaches it: every op of it was superseded here, so no version of it goes. A
 * receiver takes a watermark, or a context naming a dot of that origin, only up to a
 * signed header it holds (§5.3, §5.5): this one lets it take all this device holds. */
static mesh_err_t
s_latest_header(s_export_t *x, uint32_t cid, uint32_t oid, const vv_t *recv)
{
    store_set_t s;
    wire_header_t h;
    mesh_err_t err = rules_header_at(x->txn, cid, oid, UINT64_MAX, &s, &h);
    if (err == MESH_ENOTFOUND) {
        return MESH_OK;
    }
    uint64_t last = err == MESH_OK ? s.first_seq + h.count - 1 : 0;
    if (err != MESH_OK || x->origin_end >= last || (recv && vv_covers(recv, last))) {
        return err;
    }
    wire_buf_reset(&x->set_buf);
    err = wire_set_encode_partial(s.header, s.header_len, s.sig, NULL, 0, &x->set_buf);
    if (err == MESH_OK) {
        err = wire_section_set(x->set_buf.data, x->set_buf.len, &x->sets);
    }
    x->set_count++;
    x->origin_end = last;
    return err;
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
    if (err != MESH_OK || !access_list_has(&x->access, origin)) {
        return err; /* a device that may not hold the collection: its sets are not relayed */
    }
    const vector_entry_t *found = vector_index_find(x->since_ix, coll, origin, inc);
    const vv_t *recv = found ? &found->vv : NULL;
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
    x->origin_end = 0;
    while (err == MESH_OK && (err = store_dots_next(cur, &seq, x->item)) == MESH_OK) {
        if (recv && vv_covers(recv, seq)) {
            continue;
        }
        if (x->g.n && !group_holds(&x->g, seq)) {
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
            err = group_start(&x->g, x->txn, cid, oid, seq);
        }
        const store_version_t *v = NULL;
        for (size_t i = 0; i < x->item->count; i++) {
            if (x->item->versions[i].oid == oid && x->item->versions[i].seq == seq) {
                v = &x->item->versions[i];
            }
        }
        if (err == MESH_OK) {
            err = v ? group_add(&x->g, v) : MESH_ECORRUPT;
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
    if (err == MESH_OK && !x->cut) {
        err = s_latest_header(x, cid, oid, recv);
    }
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
        access_list_release(&x->access);
        err = strcmp(coll, MEMBER_COLL) ? access_list_load(x->txn, coll, &x->access) : MESH_OK;
    }
    if (err == MESH_OK && x->to && !access_list_has(&x->access, x->to)) {
        err = MESH_ENOTFOUND; /* the receiver may not hold it: an empty section */
    }
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

mesh_err_t
export_bundle(mesh_t *m, const char *const *colls, size_t ncolls, const vector_t *since,
              size_t limit, export_pos_t *pos, wire_buf_t *out, bool *more, size_t *pieces)
{
    return export_bundle_to(m, NULL, colls, ncolls, since, limit, pos, out, more, pieces);
}

mesh_err_t
export_bundle_to(mesh_t *m, const uint8_t *to, const char *const *colls, size_t ncolls,
                 const vector_t *since, size_t limit, export_pos_t *pos, wire_buf_t *out,
                 bool *more, size_t *pieces)
{
    s_export_t x = {.m = m, .since = since, .limit = limit, .pos = pos, .to = to};
    const char **names = NULL;
    char(*names_buf)[MESH_COLL_MAX + 1] = NULL;
    size_t count = 0;
    *more = false;
    wire_buf_init(&x.set_buf);
    wire_buf_init(&x.sets);
    group_init(&x.g);
    x.item = malloc(sizeof *x.item);
    mesh_err_t err = x.item ? MESH_OK : MESH_ENOMEM;
    if (err == MESH_OK && since) {
        err = vector_index_new(since, &x.since_ix);
    }
    if (err == MESH_OK) {
        err = store_read_begin(m->store, &x.txn);
    }
    if (err == MESH_OK) {
        err = vecfile_colls(x.txn, colls, ncolls, &names, &count, &names_buf);
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
    vector_index_free(x.since_ix);
    *more = x.cut;
    *pieces = x.pieces;
    wire_buf_release(&x.set_buf);
    wire_buf_release(&x.sets);
    group_release(&x.g);
    free(x.marks);
    free(x.item);
    access_list_release(&x.access);
    free(names);
    free(names_buf);
    return err;
}

mesh_err_t
mesh_export(mesh_t *m, const char *const *colls, size_t ncolls, const void *since, size_t since_len,
            void **out, size_t *out_len)
{
    vector_t *vec = NULL;
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
    mesh_err_t err = vecfile_check_colls(m, colls, ncolls);
    if (err == MESH_OK && since) {
        err = vector_decode(since, since_len, &vec);
        if (err != MESH_OK) {
            node_fail(m, err, "the vector file does not decode");
        }
    }
    if (err == MESH_OK) {
        err = export_bundle(m, colls, ncolls, vec, 0, NULL, &buf, &more, &pieces);
    }
    if (err == MESH_OK) {
        *out = buf.data;
        *out_len = buf.len;
        buf.data = NULL;
    }
    wire_buf_release(&buf);
    vector_free(vec);
    return err;
}
