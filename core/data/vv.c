/* core/vv.c: one version-vector entry in memory.
 * Layer: core. Third-party: none. SPDX-License-Identifier: MIT */
#include "core/data/vv.h"

#include <stdlib.h>
#include <string.h>

void
vv_init(vv_t *vv)
{
    memset(vv, 0, sizeof *vv);
}

void
vv_release(vv_t *vv)
{
    if (!vv) {
        return;
    }
    free(vv->extra);
    memset(vv, 0, sizeof *vv);
}

/* Fold extras that have become contiguous with the base into it. */
static void
s_absorb(vv_t *vv)
{
    size_t i = 0;
    while (i < vv->count && vv->extra[i] <= vv->base + 1) {
        if (vv->extra[i] == vv->base + 1) {
            vv->base++;
        }
        i++;
    }
    if (i) {
        memmove(vv->extra, vv->extra + i, (vv->count - i) * sizeof *vv->extra);
        vv->count -= i;
    }
}

mesh_err_t
vv_load(vv_t *vv, store_txn_t *txn, uint32_t cid, uint32_t oid)
{
    store_vv_t s;
    vv->base = 0;
    vv->count = 0;
    mesh_err_t err = store_vv_get(txn, cid, oid, &s);
    if (err != MESH_OK) {
        return err;
    }
    vv->base = s.base;
    if (s.extra_count > vv->cap) {
        uint64_t *e = realloc(vv->extra, s.extra_count * sizeof *e);
        if (!e) {
            return MESH_ENOMEM;
        }
        vv->extra = e;
        vv->cap = s.extra_count;
    }
    for (size_t i = 0; i < s.extra_count; i++) {
        vv->extra[i] = store_vv_extra(&s, i);
    }
    vv->count = s.extra_count;
    return MESH_OK;
}

mesh_err_t
vv_save(const vv_t *vv, store_txn_t *txn, uint32_t cid, uint32_t oid)
{
    return store_vv_put(txn, cid, oid, vv->base, vv->extra, vv->count);
}

/* Index of the first extra >= seq. */
static size_t
s_find(const vv_t *vv, uint64_t seq)
{
    size_t lo = 0, hi = vv->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (vv->extra[mid] < seq) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

bool
vv_covers(const vv_t *vv, uint64_t seq)
{
    if (seq <= vv->base) {
        return true;
    }
    size_t i = s_find(vv, seq);
    return i < vv->count && vv->extra[i] == seq;
}

mesh_err_t
vv_add(vv_t *vv, uint64_t seq)
{
    if (vv_covers(vv, seq)) {
        return MESH_OK;
    }
    if (seq == vv->base + 1) {
        vv->base = seq;
        s_absorb(vv);
        return MESH_OK;
    }
    if (vv->count == STORE_VV_EXTRA_MAX) {
        return MESH_ETOOBIG;
    }
    if (vv->count == vv->cap) {
        size_t cap = vv->cap ? vv->cap * 2 : 16;
        uint64_t *e = realloc(vv->extra, cap * sizeof *e);
        if (!e) {
            return MESH_ENOMEM;
        }
        vv->extra = e;
        vv->cap = cap;
    }
    size_t i = s_find(vv, seq);
    memmove(vv->extra + i + 1, vv->extra + i, (vv->count - i) * sizeof *vv->extra);
    vv->extra[i] = seq;
    vv->count++;
    return MESH_OK;
}

void
vv_raise(vv_t *vv, uint64_t n)
{
    if (n > vv->base) {
        vv->base = n;
    }
    s_absorb(vv);
}
