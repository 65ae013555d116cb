/* core/folder/paths.c: the paths a realize pass looks at: a growing array, sorted by path
 * once filled, merged by one walk of two sorted lists.
 * Layer: core (folder). Third-party: none. SPDX-License-Identifier: MIT */
#include "core/folder/paths.h"

#include "core/base/node.h"
#include "store/store.h"

#include <stdlib.h>
#include <string.h>

void
paths_free(paths_t *p)
{
    for (size_t i = 0; i < p->n; i++) {
        free(p->v[i].path);
        free(p->v[i].value);
    }
    free(p->v);
    memset(p, 0, sizeof *p);
}

mesh_err_t
paths_push(paths_t *p, const char *path, size_t plen, const uint8_t *value, size_t len,
           bool conflict)
{
    if (p->n == p->cap) {
        size_t cap = p->cap ? 2 * p->cap : 64;
        paths_item_t *grown = realloc(p->v, cap * sizeof *grown);
        if (!grown) {
            return MESH_ENOMEM;
        }
        p->v = grown;
        p->cap = cap;
    }
    paths_item_t *it = &p->v[p->n];
    memset(it, 0, sizeof *it);
    it->path = strndup(path, plen);
    it->value = value ? malloc(len ? len : 1) : NULL;
    it->len = value ? len : 0;
    it->conflict = conflict;
    it->order = p->n++;
    if (!it->path || (value && !it->value)) {
        return MESH_ENOMEM; /* (freed with the list) */
    }
    if (value && len) {
        memcpy(it->value, value, len);
    }
    return MESH_OK;
}

static int
s_cmp(const void *a, const void *b)
{
    return strcmp(((const paths_item_t *)a)->path, ((const paths_item_t *)b)->path);
}

/* By path, and of one path the later item last. */
static int
s_order_cmp(const void *a, const void *b)
{
    const paths_item_t *x = a, *y = b;
    int c = strcmp(x->path, y->path);
    return c ? c : (x->order > y->order) - (x->order < y->order);
}

void
paths_sort(paths_t *p)
{
    if (p->n < 2) {
        return;
    }
    qsort(p->v, p->n, sizeof *p->v, s_order_cmp);
    size_t kept = 0;
    for (size_t i = 0; i < p->n; i++) {
        if (kept && strcmp(p->v[kept - 1].path, p->v[i].path) == 0) {
            free(p->v[kept - 1].path);
            free(p->v[kept - 1].value);
        } else {
            kept++;
        }
        p->v[kept - 1] = p->v[i];
    }
    p->n = kept;
}

mesh_err_t
paths_merge(paths_t *into, paths_t *from)
{
    if (!from->n) {
        paths_free(from);
        return MESH_OK;
    }
    if (!into->n) {
        free(into->v);
        *into = *from;
        memset(from, 0, sizeof *from);
        return MESH_OK;
    }
    paths_item_t *all = malloc((into->n + from->n) * sizeof *all);
    if (!all) {
        paths_free(from);
        return MESH_ENOMEM;
    }
    size_t i = 0, j = 0, k = 0;
    while (i < into->n || j < from->n) {
        int c = i == into->n ? 1 : j == from->n ? -1 : strcmp(into->v[i].path, from->v[j].path);
        if (c == 0) {
            free(into->v[i].path);
            free(into->v[i++].value);
        }
        all[k++] = c < 0 ? into->v[i++] : from->v[j++];
    }
    free(into->v);
    free(from->v);
    memset(from, 0, sizeof *from);
    into->v = all;
    into->n = into->cap = k;
    return MESH_OK;
}

mesh_err_t
paths_all(mesh_t *m, const folder_t *f, paths_t *out, uint64_t *cursor)
{
    mesh_iter_t *it = NULL;
    store_txn_t *txn = NULL;
    uint64_t floor = 0;
    memset(out, 0, sizeof *out);
    mesh_err_t err = store_read_begin(m->store, &txn);
    if (err == MESH_OK) {
        err = store_changes_bounds(txn, cursor, &floor);
    }
    store_read_end(txn);
    if (err != MESH_OK) {
        return err;
    }
    err = mesh_iter_open(m, f->coll, NULL, 0, &it);
    while (err == MESH_OK) {
        const uint8_t *key = NULL, *value = NULL;
        size_t klen = 0, vlen = 0;
        bool conflict = false;
        err = mesh_iter_next(it, &key, &klen, &value, &vlen, &conflict);
        if (err == MESH_OK && !memchr(key, 0, klen)) { /* (no path holds a NUL) */
            err = paths_push(out, (const char *)key, klen, value ? value : key, vlen, conflict);
        }
    }
    mesh_iter_close(it);
    err = err == MESH_ENOTFOUND ? MESH_OK : err; /* (the end, or no index yet) */
    paths_sort(out);
    size_t entries = out->n;
    for (size_t r = 0; err == MESH_OK && r < f->nrecs; r++) {
        paths_item_t key = {.path = f->recs[r].path};
        if (!entries || !bsearch(&key, out->v, entries, sizeof key, s_cmp)) {
            err = paths_push(out, key.path, strlen(key.path), NULL, 0, false);
        }
    }
    if (err != MESH_OK) {
        paths_free(out);
        return err;
    }
    paths_sort(out);
    return MESH_OK;
}

mesh_err_t
paths_changed(mesh_t *m, const folder_t *f, uint64_t *cursor, paths_t *out, bool *full)
{
    uint64_t since = *cursor;
    mesh_err_t err = MESH_OK;
    memset(out, 0, sizeof *out);
    *full = false;
    for (bool more = true; more && err == MESH_OK && !*full;) {
        mesh_change_list_t *list = NULL;
        err = mesh_changes(m, f->coll, NULL, 0, since, 0, &list);
        if (err == MESH_EINVAL || (err == MESH_OK && mesh_change_list_reset(list))) {
            *full = true;
            err = MESH_OK;
        }
        for (size_t i = 0; err == MESH_OK && !*full && i < mesh_change_list_count(list); i++) {
            const mesh_change_t *c = mesh_change_list_get(list, i);
            if (!memchr(c->key, 0, c->key_len)) {
                err = paths_push(out, (const char *)c->key, c->key_len,
                                 c->deleted ? NULL
                                 : c->value ? c->value
                                            : c->key,
                                 c->value_len, c->conflict);
            }
        }
        more = mesh_change_list_more(list);
        since = mesh_change_list_next(list);
        mesh_change_list_free(list);
    }
    if (err != MESH_OK || *full) {
        paths_free(out);
        return err;
    }
    paths_sort(out);
    *cursor = since;
    return MESH_OK;
}
