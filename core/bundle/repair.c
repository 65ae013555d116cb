/* core/bundle/repair.c: the versions of the slow path (docs/PROTOCOL.md §13): reading the
 * items a reconciliation marked into one bundle section (their versions grouped under their
 * signed headers, as export.c does for a pass), and applying such a bundle by the receive
 * rules (b) and (c) alone.
 * Layer: core (bundle). Third-party: none. SPDX-License-Identifier: MIT */
#include "core/bundle/repair.h"

#include <stdlib.h>
#include <string.h>

#include "core/apply/apply.h"
#include "core/apply/rules.h"
#include "core/wire/doc.h"
#include "core/wire/set.h"
#include "crypto/devid.h"
#include "crypto/hash.h"

/* ---- export ---- */

typedef struct s_dot {
    uint32_t oid;
    uint64_t seq;
} s_dot_t;

static int
s_dot_cmp(const void *a, const void *b)
{
    const s_dot_t *x = a, *y = b;
    if (x->oid != y->oid) {
        return x->oid < y->oid ? -1 : 1;
    }
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* What one repair_export gathers. */
typedef struct s_out {
    store_txn_t *txn;
    uint32_t cid;
    s_dot_t *dots;
    size_t n, cap;
    store_item_t *item;
    wire_op_t *ops; /* one set's ops */
    size_t *index;  /* and their leaf indices */
    uint8_t (*proofs)[HASH_LEN];
    size_t *lens;
    wire_buf_t set; /* one encoded set */
    wire_buf_t sets;
    size_t set_count;
} s_out_t;

static mesh_err_t
s_dot_add(s_out_t *o, uint32_t oid, uint64_t seq)
{
    if (o->n == o->cap) {
        size_t cap = o->cap ? o->cap * 2 : 256;
        s_dot_t *d = realloc(o->dots, cap * sizeof *d);
        if (!d) {
            return MESH_ENOMEM;
        }
        o->dots = d;
        o->cap = cap;
    }
    o->dots[o->n++] = (s_dot_t){oid, seq};
    return MESH_OK;
}

/* The version record of one dot, borrowed from the read transaction. */
static mesh_err_t
s_version(s_out_t *o, const s_dot_t *d, store_version_t *v)
{
    store_cursor_t *cur = NULL;
    uint64_t at = 0;
    mesh_err_t err = store_dots_open(o->txn, o->cid, d->oid, d->seq, &cur);
    if (err == MESH_OK) {
        err = store_dots_next(cur, &at, o->item);
    }
    store_cursor_close(cur);
    if (err == MESH_ENOTFOUND || (err == MESH_OK && at != d->seq)) {
        err = MESH_ECORRUPT; /* an item names a version the store does not hold */
    }
    if (err == MESH_OK) {
        *v = o->item->versions[0];
    }
    return err;
}

/* Encode dots[0..k) (ascending, all of set s, whose header says count ops) as one set:
 * whole when they are all of it and its leaves are here, else partial with proofs (from
 * the stored leaves, or each version's stored proof when it arrived partial). */
static mesh_err_t
s_encode_set(s_out_t *o, const store_set_t *s, uint32_t count, const s_dot_t *dots, size_t k)
{
    mesh_err_t err = MESH_OK;
    for (size_t i = 0; i < k && err == MESH_OK; i++) {
        store_version_t v;
        err = s_version(o, &dots[i], &v);
        wire_op_t *op = &o->ops[i];
        memset(op, 0, sizeof *op);
        if (err == MESH_OK) {
            op->meta = v.meta;
            op->meta_len = v.meta_len;
            op->value = v.kind == WIRE_PUT ? v.value : NULL;
            op->value_len = v.kind == WIRE_PUT ? v.value_len : 0;
            op->proof = v.proof;
            op->proof_count = v.proof_len / HASH_LEN;
            o->index[i] = dots[i].seq - s->first_seq;
        }
    }
    bool leaves = s->count == count, full = leaves && k == count;
    if (err == MESH_OK && leaves && !full) {
        err = hash_merkle_proofs((const uint8_t(*)[HASH_LEN])s->leaves, count, o->index, k,
                                 o->proofs, o->lens);
        for (size_t i = 0; err == MESH_OK && i < k; i++) {
            o->ops[i].proof = o->proofs[i * HASH_PROOF_MAX];
            o->ops[i].proof_count = o->lens[i];
        }
        err = err == MESH_EINVAL ? MESH_ECORRUPT : err;
    }
    wire_buf_reset(&o->set);
    if (err == MESH_OK) {
        err = full ? wire_set_encode(s->header, s->header_len, s->sig, o->ops, k, &o->set)
                   : wire_set_encode_partial(s->header, s->header_len, s->sig, o->ops, k, &o->set);
    }
    if (err == MESH_OK) {
        err = wire_section_set(o->set.data, o->set.len, &o->sets);
        o->set_count++;
    }
    return err;
}

/* Group the gathered dots (sorted) by their stored sets and encode each group. */
static mesh_err_t
s_encode_all(s_out_t *o)
{
    mesh_err_t err = MESH_OK;
    size_t i = 0;
    while (i < o->n && err == MESH_OK) {
        store_set_t s;
        wire_header_t h;
        err = rules_header_at(o->txn, o->cid, o->dots[i].oid, o->dots[i].seq, &s, &h);
        if (err == MESH_ENOTFOUND || (err == MESH_OK && o->dots[i].seq >= s.first_seq + h.count)) {
            err = MESH_ECORRUPT; /* a stored version outside every stored set */
        }
        size_t k = 0;
        while (err == MESH_OK && i + k < o->n && o->dots[i + k].oid == o->dots[i].oid &&
               o->dots[i + k].seq < s.first_seq + h.count) {
            k++;
        }
        if (err == MESH_OK) {
            err = s_encode_set(o, &s, h.count, &o->dots[i], k);
        }
        i += k;
    }
    return err;
}

/* Make room for n ops of one set in the scratch arrays. */
static mesh_err_t
s_scratch(s_out_t *o, size_t n)
{
    o->ops = calloc(n, sizeof *o->ops);
    o->index = calloc(n, sizeof *o->index);
    o->lens = calloc(n, sizeof *o->lens);
    o->proofs = calloc(n * HASH_PROOF_MAX, HASH_LEN);
    return o->ops && o->index && o->lens && o->proofs ? MESH_OK : MESH_ENOMEM;
}

mesh_err_t
repair_export(mesh_t *m, const char *coll, const recon_set_t *set, const recon_t *r, size_t *next,
              size_t limit, wire_buf_t *out, size_t *items)
{
    s_out_t o = {0};
    size_t start = out->len, i = *next, n = recon_set_count(set), bytes = 0;
    *items = 0;
    wire_buf_init(&o.set);
    wire_buf_init(&o.sets);
    o.item = malloc(sizeof *o.item);
    mesh_err_t err = o.item ? store_read_begin(m->store, &o.txn) : MESH_ENOMEM;
    if (err == MESH_OK) {
        err = store_coll_id(o.txn, coll, false, &o.cid);
    }
    if (err == MESH_ENOTFOUND) { /* no such collection here: an empty snapshot, none to send */
        err = MESH_OK;
        i = n;
    }
    for (; err == MESH_OK && i < n && (*items == 0 || bytes < limit); i++) {
        const uint8_t *key = NULL;
        size_t key_len = 0;
        if (!recon_sends(r, i)) {
            continue;
        }
        recon_set_key(set, i, &key, &key_len);
        err = store_item_get_stored(o.txn, o.cid, key, key_len, o.item);
        if (err == MESH_ENOTFOUND) {
            err = MESH_OK; /* gone since the snapshot: a later repair sees it */
            continue;
        }
        for (size_t j = 0; err == MESH_OK && j < o.item->count; j++) {
            const store_version_t *v = &o.item->versions[j];
            bytes += v->meta_len + v->value_len + 64 + HASH_PROOF_MAX * 2;
            err = s_dot_add(&o, v->oid, v->seq);
        }
        ++*items;
    }
    if (err == MESH_OK && o.n) {
        qsort(o.dots, o.n, sizeof *o.dots, s_dot_cmp);
        err = s_scratch(&o, o.n);
    }
    if (err == MESH_OK) {
        err = s_encode_all(&o);
    }
    if (err == MESH_OK) {
        err = wire_bundle_begin(1, out);
    }
    if (err == MESH_OK) {
        err = wire_section_begin(coll, o.set_count, out);
    }
    if (err == MESH_OK) {
        err = wire_buf_append(out, o.sets.data, o.sets.len);
    }
    if (err == MESH_OK) {
        err = wire_section_marks(NULL, 0, out);
    }
    store_read_end(o.txn);
    free(o.item);
    free(o.dots);
    free(o.ops);
    free(o.index);
    free(o.lens);
    free(o.proofs);
    wire_buf_release(&o.set);
    wire_buf_release(&o.sets);
    if (err != MESH_OK) {
        out->len = start;
        *items = 0;
        return err;
    }
    *next = i;
    return MESH_OK;
}

/* ---- apply ---- */

mesh_err_t
repair_apply(mesh_t *m, const char *coll, const uint8_t *bundle, size_t len, size_t *stored)
{
    wire_doc_t doc = {0};
    apply_result_t *res = NULL;
    *stored = 0;
    mesh_err_t err = wire_doc_decode(bundle, len, false, &doc);
    if (err == MESH_OK && (doc.count != 1 || doc.sections[0].mark_count != 0 ||
                           doc.sections[0].coll_len != strlen(coll) ||
                           memcmp(doc.sections[0].coll, coll, doc.sections[0].coll_len) != 0)) {
        err = MESH_EPROTO;
    }
    const wire_section_t *sec = err == MESH_OK ? &doc.sections[0] : NULL;
    size_t n = sec ? sec->set_count : 0;
    if (err == MESH_OK) {
        res = calloc(n ? n : 1, sizeof *res);
        err = res ? MESH_OK : MESH_ENOMEM;
    }
    /* the receive rules but for rule (a) (apply_repair): forks, causal delivery, held sets
     * and caps as for any set */
    if (err == MESH_OK) {
        err = apply_repair(m, sec->sets, sec->set_lens, n, res);
    }
    for (size_t i = 0; err == MESH_OK && i < n; i++) {
        *stored += res[i].ops_stored;
        if (res[i].outcome == APPLY_REJECTED || res[i].outcome == APPLY_WAITING) {
            node_log(m, MESH_LOG_WARN, "repair: a set left out: %s", res[i].why);
        }
    }
    free(res);
    wire_doc_release(&doc);
    return err;
}
