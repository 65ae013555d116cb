/* core/data/vv.c: one version-vector entry in memory, and every rule on one entry.
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
    /* (base + 1 wraps to 0 at a base of 2^64-1, which a watermark may set: every extra is
     * then at or below it) */
    while (i < vv->count && (vv->extra[i] <= vv->base || vv->extra[i] == vv->base + 1)) {
        if (vv->extra[i] > vv->base) {
            vv->base = vv->extra[i];
        }
        i++;
    }
    if (i) {
        memmove(vv->extra, vv->extra + i, (vv->count - i) * sizeof *vv->extra);
        vv->count -= i;
    }
}

/* Make room for n extras (the count is left as it is). */
static mesh_err_t
s_reserve(vv_t *vv, size_t n)
{
    if (n <= vv->cap) {
        return MESH_OK;
    }
    uint64_t *e = realloc(vv->extra, n * sizeof *e);
    if (!e) {
        return MESH_ENOMEM;
    }
    vv->extra = e;
    vv->cap = n;
    return MESH_OK;
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
    return vv_load_record(vv, &s);
}

mesh_err_t
vv_load_record(vv_t *vv, const store_vv_t *rec)
{
    vv->base = 0;
    vv->count = 0;
    if (s_reserve(vv, rec->extra_count) != MESH_OK) {
        return MESH_ENOMEM;
    }
    vv->base = rec->base;
    for (size_t i = 0; i < rec->extra_count; i++) {
        vv->extra[i] = store_vv_extra(rec, i);
    }
    vv->count = rec->extra_count;
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
    if (vv->count == vv->cap && s_reserve(vv, vv->cap ? vv->cap * 2 : 16) != MESH_OK) {
        return MESH_ENOMEM;
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

mesh_err_t
vv_copy(vv_t *dst, const vv_t *src)
{
    if (s_reserve(dst, src->count) != MESH_OK) {
        return MESH_ENOMEM;
    }
    dst->base = src->base;
    if (src->count) {
        memcpy(dst->extra, src->extra, src->count * sizeof *src->extra);
    }
    dst->count = src->count;
    return MESH_OK;
}

bool
vv_equal(const vv_t *a, const vv_t *b)
{
    return a->base == b->base && a->count == b->count &&
           (a->count == 0 || memcmp(a->extra, b->extra, a->count * sizeof *a->extra) == 0);
}

bool
vv_covers_all(const vv_t *ours, const vv_t *theirs)
{
    /* every dot up to its base: ours covers base + 1 only below our own base */
    if (theirs->base > (ours ? ours->base : 0)) {
        return false;
    }
    for (size_t i = 0; i < theirs->count; i++) {
        if (!ours || !vv_covers(ours, theirs->extra[i])) {
            return false;
        }
    }
    return true;
}

uint64_t
vv_lacking(const vv_t *theirs, const vv_t *ours)
{
    uint64_t n = 0, base = ours ? ours->base : 0;
    if (theirs->base > base) {
        n = theirs->base - base;
        for (size_t i = 0; ours && i < ours->count; i++) {
            n -= ours->extra[i] <= theirs->base; /* extras are above our base */
        }
    }
    for (size_t i = 0; i < theirs->count; i++) {
        uint64_t seq = theirs->extra[i];
        n += seq > base && !(ours && vv_covers(ours, seq));
    }
    return n;
}
