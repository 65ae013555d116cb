/* core/apply/held.c: the held-back list of sets from non-members, in the store's held
 * table under each set's hash (its id).
 * Layer: core. Third-party: none. SPDX-License-Identifier: MIT */
#include "core/apply/held.h"

#include <stdlib.h>
#include <string.h>

#include "core/base/node.h"
#include "core/member/member.h"
#include "crypto/hash.h"

mesh_err_t
held_put(store_txn_t *st, verify_set_t *v)
{
    uint8_t id[HASH_LEN];
    v->res->outcome = APPLY_HELD;
    hash_tagged(HASH_TAG_NODE, v->bytes, v->len, id);
    return store_held_put(st, id, v->h.origin, v->bytes, v->len);
}

mesh_err_t
held_update(mesh_t *m, verify_set_t *vs, size_t n)
{
    store_txn_t *txn = NULL;
    mesh_err_t err = store_read_begin(m->store, &txn);
    for (size_t i = 0; err == MESH_OK && i < n; i++) {
        uint8_t id[HASH_LEN];
        if (vs[i].res->outcome != APPLY_HELD) {
            continue;
        }
        hash_tagged(HASH_TAG_NODE, vs[i].bytes, vs[i].len, id);
        err = store_held_has(txn, id);
        if (err == MESH_ENOTFOUND) {
            vs[i].res->outcome = APPLY_NEW;
            err = MESH_OK;
        }
    }
    store_read_end(txn);
    return err;
}

void
held_release(held_t *h)
{
    for (size_t i = 0; i < h->n; i++) {
        free(h->copies[i]);
    }
    free(h->copies);
    free(h->sets);
    free(h->ids);
    free(h->lens);
    *h = (held_t){0};
}

/* Append a copy of set (len bytes) and its id to h. Errors: MESH_ENOMEM (h unchanged). */
static mesh_err_t
s_held_add(held_t *h, const uint8_t *id, const uint8_t *set, size_t len)
{
    if (h->n == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 16;
        uint8_t **c = realloc(h->copies, cap * sizeof *c);
        const uint8_t **s = c ? realloc(h->sets, cap * sizeof *s) : NULL;
        const uint8_t **i = s ? realloc(h->ids, cap * sizeof *i) : NULL;
        size_t *l = i ? realloc(h->lens, cap * sizeof *l) : NULL;
        h->copies = c ? c : h->copies;
        h->sets = s ? s : h->sets;
        h->ids = i ? i : h->ids;
        h->lens = l ? l : h->lens;
        if (!l) {
            return MESH_ENOMEM;
        }
        h->cap = cap;
    }
    uint8_t *copy = malloc(STORE_HELD_ID_LEN + len);
    if (!copy) {
        return MESH_ENOMEM;
    }
    memcpy(copy, id, STORE_HELD_ID_LEN);
    memcpy(copy + STORE_HELD_ID_LEN, set, len);
    h->copies[h->n] = copy;
    h->ids[h->n] = copy;
    h->sets[h->n] = copy + STORE_HELD_ID_LEN;
    h->lens[h->n] = len;
    h->n++;
    return MESH_OK;
}

mesh_err_t
held_load(mesh_t *m, held_t *h)
{
    store_txn_t *txn = NULL;
    store_cursor_t *cur = NULL;
    mesh_err_t err = store_read_begin(m->store, &txn);
    if (err == MESH_OK) {
        err = store_held_open(txn, &cur);
    }
    while (err == MESH_OK) {
        const uint8_t *id = NULL, *origin = NULL, *set = NULL;
        size_t len = 0;
        err = store_held_next(cur, &id, &origin, &set, &len);
        if (err == MESH_OK && member_is(m, origin)) {
            err = s_held_add(h, id, set, len);
        }
    }
    store_cursor_close(cur);
    store_read_end(txn);
    if (err == MESH_ENOTFOUND) {
        err = MESH_OK;
    }
    if (err != MESH_OK) {
        held_release(h);
    }
    return err;
}
