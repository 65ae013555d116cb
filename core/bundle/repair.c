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
#include "core/bundle/group.h"
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
    group_t g;      /* one set's versions */
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

/* Group the gathered dots (sorted) by their stored sets and encode each group as one set
 * (whole, or partial with proofs: core/bundle/group.h). */
static mesh_err_t
s_encode_all(s_out_t *o)
{
    mesh_err_t err = MESH_OK;
    for (size_t i = 0; i < o->n && err == MESH_OK;) {
        uint32_t oid = o->dots[i].oid;
        err = group_start(&o->g, o->txn, o->cid, oid, o->dots[i].seq);
        for (; err == MESH_OK && i < o->n && o->dots[i].oid == oid &&
               group_holds(&o->g, o->dots[i].seq);
             i++) {
            store_version_t v;
            err = s_version(o, &o->dots[i], &v);
            if (err == MESH_OK) {
                err = group_add(&o->g, &v);
            }
        }
        if (err == MESH_OK) {
            err = group_encode(&o->g, &o->set);
        }
        if (err == MESH_OK) {
            err = wire_section_set(o->set.data, o->set.len, &o->sets);
            o->set_count++;
        }
    }
    return err;
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
    group_init(&o.g);
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
    group_release(&o.g);
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
