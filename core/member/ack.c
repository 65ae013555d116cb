/* core/member/ack.c: acknowledgements: "ack/<signer ID>" in "_mesh", value a vector file
 * (§3.6) of the signer's bases over its user collections (docs/PROTOCOL.md §8.4).
 * Layer: core. Third-party: none. SPDX-License-Identifier: MIT */
#include "core/member/ack.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/data/hlc.h"
#include "core/data/txn.h"
#include "core/member/member.h"
#include "crypto/devid.h"
#include "store/items.h"

#define S_KEY_LEN (sizeof ACK_PREFIX - 1 + MESH_ID_TEXT_LEN)

static void
s_key(const uint8_t *pk, char *key)
{
    memcpy(key, ACK_PREFIX, sizeof ACK_PREFIX - 1);
    devid_format(pk, key + sizeof ACK_PREFIX - 1); /* writes its NUL too */
}

mesh_err_t
ack_own_vector(store_txn_t *txn, vector_t **out)
{
    store_cursor_t *cur = NULL;
    char(*names)[MESH_COLL_MAX + 1] = NULL;
    const char **ptrs = NULL;
    size_t n = 0, cap = 0;
    uint32_t cid = 0;
    char name[MESH_COLL_MAX + 1];
    *out = NULL;
    mesh_err_t err = store_colls_open(txn, &cur);
    while (err == MESH_OK && (err = store_colls_next(cur, name, &cid)) == MESH_OK) {
        if (name[0] == '_') {
            continue; /* system collections: "_mesh" holds the acknowledgements themselves */
        }
        if (n == cap) {
            cap = cap ? cap * 2 : 8;
            void *p = realloc(names, cap * sizeof *names);
            if (!p) {
                err = MESH_ENOMEM;
                break;
            }
            names = p;
        }
        memcpy(names[n++], name, sizeof name);
    }
    store_cursor_close(cur);
    if (err == MESH_ENOTFOUND) {
        err = MESH_OK;
    }
    if (err == MESH_OK && !(ptrs = malloc((n ? n : 1) * sizeof *ptrs))) {
        err = MESH_ENOMEM;
    }
    for (size_t i = 0; err == MESH_OK && i < n; i++) {
        ptrs[i] = names[i];
    }
    if (err == MESH_OK) {
        err = vector_load(txn, ptrs, n, out);
    }
    for (size_t i = 0; err == MESH_OK && i < (*out)->count; i++) {
        for (size_t j = 0; j < (*out)->colls[i].count; j++) {
            (*out)->colls[i].entries[j].vv.count = 0; /* the base alone: what is held for sure */
        }
    }
    free(ptrs);
    free(names);
    return err;
}

/* The newest version of key in "_mesh" signed by signer (origin pk), into *v; *found. */
static mesh_err_t
s_read(store_txn_t *txn, const uint8_t *signer, store_item_t *item, const store_version_t **v)
{
    char key[S_KEY_LEN + 1];
    uint32_t cid = 0;
    store_key_t skey;
    *v = NULL;
    s_key(signer, key);
    mesh_err_t err = store_coll_id(txn, MEMBER_COLL, false, &cid);
    if (err == MESH_OK) {
        node_store_key((const uint8_t *)key, S_KEY_LEN, &skey);
        err = store_item_get(txn, cid, &skey, item);
    }
    for (size_t i = 0; err == MESH_OK && i < item->count; i++) {
        uint8_t origin[WIRE_ORIGIN_LEN];
        uint64_t inc = 0;
        err = store_origin_signed(txn, item->versions[i].oid, origin, &inc);
        if (err == MESH_OK && !memcmp(origin, signer, WIRE_ORIGIN_LEN) &&
            (!*v || item->versions[i].hlc > (*v)->hlc) && item->versions[i].kind == WIRE_PUT) {
            *v = &item->versions[i];
        }
    }
    return err == MESH_OK && !*v ? MESH_ENOTFOUND : err;
}

mesh_err_t
ack_load(store_txn_t *txn, const uint8_t *signer, vector_t **out)
{
    *out = NULL;
    store_item_t *item = malloc(sizeof *item);
    const store_version_t *v = NULL;
    if (!item) {
        return MESH_ENOMEM;
    }
    mesh_err_t err = s_read(txn, signer, item, &v);
    if (err == MESH_OK) {
        err = vector_decode(v->value, v->value_len, out);
        err = err == MESH_ENOMEM ? err : err != MESH_OK ? MESH_EPROTO : MESH_OK;
    }
    free(item);
    return err;
}

/* What this device's acknowledgement would say (*buf), and whether the one stored says it
 * too and is younger than refresh_ms (*same). */
static mesh_err_t
s_compare(mesh_t *m, bool on_change, uint64_t refresh_ms, wire_buf_t *buf, bool *same)
{
    store_txn_t *txn = NULL;
    vector_t *own = NULL;
    store_item_t *item = malloc(sizeof *item);
    const store_version_t *v = NULL;
    *same = false;
    mesh_err_t err = item ? store_read_begin(m->store, &txn) : MESH_ENOMEM;
    if (err == MESH_OK) {
        err = ack_own_vector(txn, &own);
    }
    if (err == MESH_OK) {
        err = vector_encode(own, buf);
    }
    if (err == MESH_OK) {
        err = s_read(txn, ident_public_key(m->ident), item, &v);
        if (err == MESH_OK) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            uint64_t now = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
            bool equal = v->value_len == buf->len && !memcmp(v->value, buf->data, buf->len);
            *same = (equal || !on_change) && now < hlc_ms(v->hlc) + refresh_ms;
        }
        err = err == MESH_ENOTFOUND ? MESH_OK : err;
    }
    store_read_end(txn);
    vector_free(own);
    free(item);
    return err;
}

mesh_err_t
ack_publish(mesh_t *m, bool on_change, uint64_t refresh_ms, bool *wrote)
{
    wire_buf_t buf;
    bool same = false;
    char key[S_KEY_LEN + 1];
    *wrote = false;
    wire_buf_init(&buf);
    mesh_err_t err = s_compare(m, on_change, refresh_ms, &buf, &same);
    if (err == MESH_OK && !same && buf.len > MESH_VALUE_MAX) {
        err = node_fail(m, MESH_ETOOBIG, "acknowledgement of %zu bytes (limit %u)", buf.len,
                        MESH_VALUE_MAX);
    }
    if (err == MESH_OK && !same) {
        s_key(ident_public_key(m->ident), key);
        err = member_record_put(m, key, S_KEY_LEN, buf.data, buf.len);
        *wrote = err == MESH_OK;
    }
    wire_buf_release(&buf);
    return err;
}

mesh_err_t
ack_heard(store_txn_t *txn, const uint8_t (*keys)[32], size_t n, uint64_t *last_ms)
{
    store_cursor_t *cur = NULL;
    uint32_t cid = 0;
    memset(last_ms, 0, n * sizeof *last_ms);
    store_item_t *item = malloc(sizeof *item);
    if (!item) {
        return MESH_ENOMEM;
    }
    mesh_err_t err = store_coll_id(txn, MEMBER_COLL, false, &cid);
    if (err == MESH_OK) {
        err = store_items_open(txn, cid, NULL, 0, &cur);
    }
    while (err == MESH_OK && (err = store_items_next(cur, item)) == MESH_OK) {
        uint8_t subject[WIRE_ORIGIN_LEN], signer[WIRE_ORIGIN_LEN];
        bool is_add = false, parsed = member_parse_key(item->key, item->key_len, &is_add, subject,
                                                       signer) == MESH_OK;
        for (size_t i = 0; err == MESH_OK && i < item->count; i++) {
            uint8_t origin[WIRE_ORIGIN_LEN];
            uint64_t inc = 0, ms = hlc_ms(item->versions[i].hlc);
            err = store_origin_signed(txn, item->versions[i].oid, origin, &inc);
            for (size_t k = 0; err == MESH_OK && k < n; k++) {
                bool names = parsed && !memcmp(subject, keys[k], WIRE_ORIGIN_LEN);
                if ((names || !memcmp(origin, keys[k], WIRE_ORIGIN_LEN)) && ms > last_ms[k]) {
                    last_ms[k] = ms;
                }
            }
        }
    }
    store_cursor_close(cur);
    free(item);
    return err == MESH_ENOTFOUND ? MESH_OK : err;
}

/* The base of (coll, origin, inc) in v, 0 when v (may be NULL) has none. */
static uint64_t
s_base(const vector_t *v, const char *coll, const uint8_t *origin, uint64_t inc)
{
    const vector_entry_t *e = vector_find(v, coll, origin, inc);
    return e ? e->vv.base : 0;
}

/* Is there a tombstone among the dots (from, to] of entry e of collection cid? */
static mesh_err_t
s_tombstone_in(store_txn_t *txn, uint32_t cid, const vector_entry_t *e, uint64_t from,
               store_item_t *item, bool *found)
{
    uint32_t oid = 0;
    uint64_t seq = 0;
    store_cursor_t *cur = NULL;
    mesh_err_t err = store_origin_id(txn, e->origin, e->incarnation, false, &oid);
    if (err == MESH_OK) {
        err = store_dots_open(txn, cid, oid, from + 1, &cur);
    }
    while (err == MESH_OK && !*found && (err = store_dots_next(cur, &seq, item)) == MESH_OK &&
           seq <= e->vv.base) {
        *found = item->count && item->versions[0].kind == WIRE_DEL;
    }
    store_cursor_close(cur);
    return err == MESH_ENOTFOUND ? MESH_OK : err;
}

mesh_err_t
ack_needed(mesh_t *m, vector_t **scanned, bool *needed)
{
    store_txn_t *txn = NULL;
    vector_t *own = NULL, *last = NULL;
    store_item_t *item = malloc(sizeof *item);
    *needed = false;
    mesh_err_t err = item ? store_read_begin(m->store, &txn) : MESH_ENOMEM;
    if (err == MESH_OK) {
        err = ack_own_vector(txn, &own);
    }
    if (err == MESH_OK) {
        err = ack_load(txn, ident_public_key(m->ident), &last);
        err = err == MESH_ENOTFOUND || err == MESH_EPROTO ? MESH_OK : err;
    }
    for (size_t i = 0; err == MESH_OK && !*needed && i < own->count; i++) {
        const vector_coll_t *c = &own->colls[i];
        uint32_t cid = 0;
        err = store_coll_id(txn, c->name, false, &cid);
        for (size_t j = 0; err == MESH_OK && !*needed && j < c->count; j++) {
            const vector_entry_t *e = &c->entries[j];
            uint64_t a = s_base(last, c->name, e->origin, e->incarnation);
            uint64_t b = s_base(*scanned, c->name, e->origin, e->incarnation);
            uint64_t from = a > b ? a : b;
            if (e->vv.base > from) {
                err = s_tombstone_in(txn, cid, e, from, item, needed);
            }
        }
        err = err == MESH_ENOTFOUND ? MESH_OK : err;
    }
    store_read_end(txn);
    if (err == MESH_OK && !*needed) { /* all read up to own: not again */
        vector_free(*scanned);
        *scanned = own;
        own = NULL;
    }
    vector_free(own);
    vector_free(last);
    free(item);
    return err;
}
