/* core/data/read.c: the read side of the public API.
 * Owns: mesh_get, mesh_get_versions, iteration by key prefix, mesh_log, mesh_digest and
 * mesh_collections, each in one short store read transaction, and the opaque lists that
 * hand their results out (mesh_item_version_list_t, mesh_set_list_t, mesh_coll_list_t).
 * Not here: the winner rule itself (core/data/version.c).
 * Layer: core. Third-party: none. SPDX-License-Identifier: MIT */
#include "core/data/read.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/node.h"
#include "core/data/version.h"
#include "core/wire/set.h"
#include "crypto/devid.h"

/* The lists handed out by the read calls: an array the caller never indexes itself (so
 * each item's struct may grow; include/meshsync.h, "Structs that grow"). */
struct mesh_item_version_list {
    size_t count;
    mesh_item_version_t *items; /* each value is its own malloc'd copy */
};

struct mesh_set_list {
    size_t count;
    mesh_set_info_t *items;
};

/* A collection's entry: the public info and the name it points at. */
typedef struct s_coll_entry {
    mesh_coll_info_t info;
    char name[MESH_COLL_MAX + 1];
} s_coll_entry_t;

struct mesh_coll_list {
    size_t count;
    s_coll_entry_t *items;
};

struct mesh_iter {
    mesh_t *m;
    store_txn_t *txn;
    store_cursor_t *cur;
    store_item_t *item;
    unsigned flags;
};

/* Begin a read and find the collection; MESH_ENOTFOUND when it was never written. */
static mesh_err_t
s_read_coll(mesh_t *m, const char *coll, store_txn_t **txn, uint32_t *cid)
{
    *txn = NULL;
    node_clear_err(m); /* every read starts here: no stale detail */
    mesh_err_t err = node_check_coll(m, coll, true);
    if (err != MESH_OK) {
        return err;
    }
    err = store_read_begin(m->store, txn);
    if (err != MESH_OK) {
        return node_fail_store(m, err, "read");
    }
    err = store_coll_id(*txn, coll, false, cid);
    if (err == MESH_ENOTFOUND) {
        return node_fail(m, err, "collection '%s' not found", coll);
    }
    if (err != MESH_OK) {
        return node_fail_store(m, err, "read collection");
    }
    return MESH_OK;
}

/* Read key's versions and pick the winner. */
static mesh_err_t
s_read_item(mesh_t *m, const char *coll, const void *key, size_t key_len, store_txn_t **txn,
            store_item_t *item, size_t *winner)
{
    uint32_t cid = 0;
    store_key_t skey;
    if (!key || key_len == 0) {
        return node_fail(m, MESH_EINVAL, "empty key");
    }
    if (key_len > MESH_KEY_MAX) {
        return node_fail(m, MESH_ETOOBIG, "key of %zu bytes (limit %u)", key_len, MESH_KEY_MAX);
    }
    mesh_err_t err = s_read_coll(m, coll, txn, &cid);
    if (err != MESH_OK) {
        return err;
    }
    node_store_key(key, key_len, &skey);
    err = store_item_get(*txn, cid, &skey, item);
    if (err == MESH_ENOTFOUND) {
        return node_fail(m, err, "no such key in '%s'", coll);
    }
    if (err == MESH_OK) {
        err = version_winner(*txn, item, winner);
    }
    return err == MESH_OK ? MESH_OK : node_fail_store(m, err, "read item");
}

mesh_err_t
mesh_get(mesh_t *m, const char *coll, const void *key, size_t key_len, void **value,
         size_t *value_len)
{
    store_txn_t *txn = NULL;
    size_t w = 0;
    if (value) {
        *value = NULL;
    }
    if (value_len) {
        *value_len = 0;
    }
    if (!m || !coll || !value || !value_len) {
        return MESH_EINVAL;
    }
    store_item_t *item = malloc(sizeof *item);
    if (!item) {
        return MESH_ENOMEM;
    }
    mesh_err_t err = s_read_item(m, coll, key, key_len, &txn, item, &w);
    if (err == MESH_OK && item->versions[w].kind == WIRE_DEL) {
        err = node_fail(m, MESH_ENOTFOUND, "key was deleted in '%s'", coll);
    }
    if (err == MESH_OK) {
        const store_version_t *v = &item->versions[w];
        *value = malloc(v->value_len ? v->value_len : 1);
        if (!*value) {
            err = MESH_ENOMEM;
        } else {
            memcpy(*value, v->value, v->value_len);
            *value_len = v->value_len;
        }
    }
    store_read_end(txn);
    free(item);
    return err;
}

/* Copy one stored version out to the caller's struct; the value is copied to dst. */
static mesh_err_t
s_version_out(store_txn_t *txn, const store_version_t *v, bool winner, uint8_t *dst,
              mesh_item_version_t *out)
{
    uint8_t origin[WIRE_ORIGIN_LEN];
    mesh_err_t err = store_origin_signed(txn, v->oid, origin, &out->incarnation);
    if (err != MESH_OK) {
        return err;
    }
    out->size = sizeof *out;
    devid_format(origin, out->origin);
    out->seq = v->seq;
    out->hlc = v->hlc;
    out->deleted = v->kind == WIRE_DEL;
    out->is_winner = winner;
    out->value = out->deleted ? NULL : dst;
    out->value_len = out->deleted ? 0 : v->value_len;
    if (!out->deleted) {
        memcpy(dst, v->value, v->value_len);
    }
    return MESH_OK;
}

/* Order of siblings after the winner: by origin ID, incarnation, seq. */
static int
s_version_cmp(const void *a, const void *b)
{
    const mesh_item_version_t *x = a, *y = b;
    int c = strcmp(x->origin, y->origin);
    if (c != 0) {
        return c;
    }
    if (x->incarnation != y->incarnation) {
        return x->incarnation < y->incarnation ? -1 : 1;
    }
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

mesh_err_t
mesh_get_versions(mesh_t *m, const char *coll, const void *key, size_t key_len,
                  mesh_item_version_list_t **out)
{
    store_txn_t *txn = NULL;
    size_t w = 0;
    if (out) {
        *out = NULL;
    }
    if (!m || !coll || !out) {
        return MESH_EINVAL;
    }
    store_item_t *item = malloc(sizeof *item);
    mesh_item_version_list_t *list = calloc(1, sizeof *list);
    if (!item || !list) {
        free(item);
        free(list);
        return MESH_ENOMEM;
    }
    mesh_err_t err = s_read_item(m, coll, key, key_len, &txn, item, &w);
    if (err == MESH_OK) {
        list->items = calloc(item->count, sizeof *list->items);
        err = list->items ? MESH_OK : MESH_ENOMEM;
    }
    /* The winner first, then the others; each value owns a copy. */
    mesh_item_version_t *vs = list->items;
    for (size_t i = 0; err == MESH_OK && i < item->count; i++) {
        size_t src = i == 0 ? w : (i <= w ? i - 1 : i);
        uint8_t *dst = malloc(item->versions[src].value_len + 1);
        err = dst ? s_version_out(txn, &item->versions[src], src == w, dst, &vs[list->count])
                  : MESH_ENOMEM;
        if (err != MESH_OK || vs[list->count].deleted) {
            free(dst);
        }
        list->count += err == MESH_OK;
    }
    if (err == MESH_OK) {
        /* the winner first, the others in a canonical order, whatever order they came in */
        if (list->count > 2) {
            qsort(vs + 1, list->count - 1, sizeof *vs, s_version_cmp);
        }
        *out = list;
        list = NULL;
    }
    mesh_item_version_list_free(list);
    store_read_end(txn);
    free(item);
    return err;
}

size_t
mesh_item_version_list_count(const mesh_item_version_list_t *list)
{
    return list ? list->count : 0;
}

const mesh_item_version_t *
mesh_item_version_list_get(const mesh_item_version_list_t *list, size_t i)
{
    return list && i < list->count ? &list->items[i] : NULL;
}

void
mesh_item_version_list_free(mesh_item_version_list_t *list)
{
    if (!list) {
        return;
    }
    for (size_t i = 0; i < list->count; i++) {
        free((void *)list->items[i].value);
    }
    free(list->items);
    free(list);
}

mesh_err_t
mesh_iter_open(mesh_t *m, const char *coll, const void *prefix, size_t prefix_len,
               mesh_iter_t **out)
{
    return mesh_iter_open_ex(m, coll, prefix, prefix_len, 0, out);
}

mesh_err_t
mesh_iter_open_ex(mesh_t *m, const char *coll, const void *prefix, size_t prefix_len,
                  unsigned flags, mesh_iter_t **out)
{
    uint32_t cid = 0;
    if (out) {
        *out = NULL;
    }
    if (!m || !coll || !out || (prefix_len && !prefix) || (flags & ~MESH_ITER_TOMBSTONES)) {
        return MESH_EINVAL;
    }
    mesh_iter_t *it = calloc(1, sizeof *it);
    if (!it) {
        return MESH_ENOMEM;
    }
    it->m = m;
    it->flags = flags;
    it->item = malloc(sizeof *it->item);
    mesh_err_t err = it->item ? s_read_coll(m, coll, &it->txn, &cid) : MESH_ENOMEM;
    if (err == MESH_ENOTFOUND) {
        err = MESH_OK; /* a collection never written iterates as empty */
    } else if (err == MESH_OK) {
        err = store_items_open(it->txn, cid, prefix, prefix_len, &it->cur);
    }
    if (err != MESH_OK) {
        mesh_iter_close(it);
        return err;
    }
    *out = it;
    return MESH_OK;
}

mesh_err_t
mesh_iter_next(mesh_iter_t *it, const uint8_t **key, size_t *key_len, const uint8_t **value,
               size_t *value_len, bool *conflict)
{
    if (!it || !key || !key_len || !value || !value_len) {
        return MESH_EINVAL;
    }
    *key = *value = NULL;
    *key_len = *value_len = 0;
    if (!it->cur) {
        return MESH_ENOTFOUND;
    }
    for (;;) {
        size_t w = 0;
        mesh_err_t err = store_items_next(it->cur, it->item);
        if (err == MESH_OK) {
            err = version_winner(it->txn, it->item, &w);
        }
        if (err != MESH_OK) {
            return err == MESH_ENOTFOUND ? err : node_fail_store(it->m, err, "iterate");
        }
        const store_version_t *v = &it->item->versions[w];
        if (v->kind == WIRE_DEL && !(it->flags & MESH_ITER_TOMBSTONES)) {
            continue;
        }
        *key = it->item->key;
        *key_len = it->item->key_len;
        *value = v->kind == WIRE_DEL ? NULL : v->value;
        *value_len = v->kind == WIRE_DEL ? 0 : v->value_len;
        if (conflict) {
            *conflict = it->item->count > 1;
        }
        return MESH_OK;
    }
}

void
mesh_iter_close(mesh_iter_t *it)
{
    if (!it) {
        return;
    }
    store_cursor_close(it->cur);
    store_read_end(it->txn);
    free(it->item);
    free(it);
}

/* Newest first: HLC descending, then origin ID, then first seq descending. */
static int
s_set_cmp(const void *a, const void *b)
{
    const mesh_set_info_t *x = a, *y = b;
    if (x->hlc != y->hlc) {
        return x->hlc < y->hlc ? 1 : -1;
    }
    int c = strcmp(x->origin, y->origin);
    if (c != 0) {
        return c;
    }
    return x->first_seq < y->first_seq ? 1 : x->first_seq > y->first_seq ? -1 : 0;
}

/* Append one stored set to the growing list. */
static mesh_err_t
s_log_add(const store_set_t *s, mesh_set_info_t **list, size_t *n, size_t *cap)
{
    wire_header_t h;
    mesh_err_t err = wire_header_decode(s->header, s->header_len, &h);
    if (err != MESH_OK) {
        return MESH_ECORRUPT;
    }
    if (*n == *cap) {
        size_t c = *cap ? *cap * 2 : 64;
        mesh_set_info_t *l = realloc(*list, c * sizeof *l);
        if (!l) {
            return MESH_ENOMEM;
        }
        *list = l;
        *cap = c;
    }
    mesh_set_info_t *info = &(*list)[(*n)++];
    memset(info, 0, sizeof *info);
    info->size = sizeof *info;
    devid_format(h.origin, info->origin);
    info->incarnation = h.incarnation;
    info->first_seq = h.first_seq;
    info->count = h.count;
    info->hlc = h.hlc;
    memcpy(info->root, h.root, sizeof info->root);
    return MESH_OK;
}

mesh_err_t
mesh_log(mesh_t *m, const char *coll, size_t max, mesh_set_list_t **out)
{
    store_txn_t *txn = NULL;
    store_cursor_t *cur = NULL;
    mesh_set_info_t *list = NULL;
    size_t n = 0, cap = 0;
    uint32_t cid = 0;
    if (out) {
        *out = NULL;
    }
    if (!m || !coll || !out) {
        return MESH_EINVAL;
    }
    mesh_set_list_t *result = calloc(1, sizeof *result);
    if (!result) {
        return MESH_ENOMEM;
    }
    mesh_err_t err = s_read_coll(m, coll, &txn, &cid);
    if (err == MESH_OK) {
        err = store_sets_open(txn, cid, &cur);
    }
    while (err == MESH_OK) {
        store_set_t s;
        err = store_sets_next(cur, &s);
        if (err == MESH_OK) {
            err = s_log_add(&s, &list, &n, &cap);
        }
    }
    store_cursor_close(cur);
    store_read_end(txn);
    if (err == MESH_ENOTFOUND) {
        err = MESH_OK; /* the end of the sets, or a collection never written */
    }
    if (err != MESH_OK) {
        free(list);
        free(result);
        return err;
    }
    if (n) {
        qsort(list, n, sizeof *list, s_set_cmp);
    }
    result->items = list;
    result->count = max && n > max ? max : n;
    *out = result;
    return MESH_OK;
}

size_t
mesh_set_list_count(const mesh_set_list_t *list)
{
    return list ? list->count : 0;
}

const mesh_set_info_t *
mesh_set_list_get(const mesh_set_list_t *list, size_t i)
{
    return list && i < list->count ? &list->items[i] : NULL;
}

void
mesh_set_list_free(mesh_set_list_t *list)
{
    if (!list) {
        return;
    }
    free(list->items);
    free(list);
}

mesh_err_t
mesh_digest(mesh_t *m, const char *coll, char *buf, size_t buf_len, uint64_t *items)
{
    store_txn_t *txn = NULL;
    store_coll_stats_t stats;
    uint32_t cid = 0;
    if (items) {
        *items = 0;
    }
    if (!m || !coll || !buf || buf_len < 65) {
        return MESH_EINVAL;
    }
    memset(&stats, 0, sizeof stats);
    mesh_err_t err = s_read_coll(m, coll, &txn, &cid);
    if (err == MESH_OK) {
        err = store_coll_stats_get(txn, cid, &stats);
    } else if (err == MESH_ENOTFOUND) {
        err = MESH_OK;
    }
    store_read_end(txn);
    if (err != MESH_OK) {
        return err;
    }
    for (size_t i = 0; i < 32; i++) {
        snprintf(buf + 2 * i, 3, "%02x", stats.digest[i]);
    }
    if (items) {
        *items = stats.keys;
    }
    return MESH_OK;
}

mesh_err_t
mesh_collections(mesh_t *m, mesh_coll_list_t **out)
{
    store_txn_t *txn = NULL;
    store_cursor_t *cur = NULL;
    s_coll_entry_t *list = NULL;
    size_t n = 0, cap = 0;
    char name[MESH_COLL_MAX + 1];
    uint32_t cid = 0;
    if (out) {
        *out = NULL;
    }
    if (!m || !out) {
        return MESH_EINVAL;
    }
    mesh_coll_list_t *result = calloc(1, sizeof *result);
    if (!result) {
        return MESH_ENOMEM;
    }
    mesh_err_t err = store_read_begin(m->store, &txn);
    if (err == MESH_OK) {
        err = store_colls_open(txn, &cur);
    }
    while (err == MESH_OK && (err = store_colls_next(cur, name, &cid)) == MESH_OK) {
        store_coll_stats_t stats;
        if (name[0] == '_') {
            continue;
        }
        if (n == cap) {
            cap = cap ? cap * 2 : 8;
            s_coll_entry_t *l = realloc(list, cap * sizeof *l);
            if (!l) {
                err = MESH_ENOMEM;
                break;
            }
            list = l;
        }
        err = store_coll_stats_get(txn, cid, &stats);
        s_coll_entry_t *e = &list[n++];
        mesh_coll_info_t *c = &e->info;
        memset(e, 0, sizeof *e);
        memcpy(e->name, name, strlen(name) + 1);
        c->size = sizeof *c;
        c->keys = stats.keys;
        c->versions = stats.versions;
        for (size_t i = 0; i < 32; i++) {
            snprintf(c->digest + 2 * i, 3, "%02x", stats.digest[i]);
        }
    }
    store_cursor_close(cur);
    store_read_end(txn);
    if (err != MESH_ENOTFOUND && err != MESH_OK) {
        free(list);
        free(result);
        return node_fail_store(m, err, "list collections");
    }
    /* the names are pointed at only now that the array no longer moves */
    for (size_t i = 0; i < n; i++) {
        list[i].info.name = list[i].name;
    }
    result->items = list;
    result->count = n;
    *out = result;
    return MESH_OK;
}

size_t
mesh_coll_list_count(const mesh_coll_list_t *list)
{
    return list ? list->count : 0;
}

const mesh_coll_info_t *
mesh_coll_list_get(const mesh_coll_list_t *list, size_t i)
{
    return list && i < list->count ? &list->items[i].info : NULL;
}

void
mesh_coll_list_free(mesh_coll_list_t *list)
{
    if (!list) {
        return;
    }
    free(list->items);
    free(list);
}
