/* store/changes.c: the local change log (docs/PROTOCOL.md §6, §20). Every write of an item's
 * record (items.c: store_item_put, store_item_add) calls store_change_log in the same
 * transaction: the key gets the next sequence number (kept at the end of its item record)
 * and its earlier entry goes, so the log holds one entry per key that has an item (live or
 * tombstone), never more. A removed item (tombstone collection) loses its entry and raises
 * the floor.
 * Not here: what a change says (core/data/feed), the items (items.c).
 * Layer: store. Third-party: none. SPDX-License-Identifier: MIT */
#include "env.h"

#include <string.h>

#define S_META     "changes" /* last(le64) ‖ floor(le64) */
#define S_IKEY_MAX (4 + STORE_KEY_INLINE_MAX + STORE_KEY_HASH_LEN)

static mesh_err_t
s_load(store_txn_t *txn, env_chg_t *c)
{
    if (c->loaded) {
        return MESH_OK;
    }
    const uint8_t *v = NULL;
    size_t vlen = 0;
    mesh_err_t err = env_get(txn, ENV_META, S_META, strlen(S_META), &v, &vlen);
    if (err == MESH_ENOTFOUND) {
        c->last = c->floor = 0;
    } else if (err != MESH_OK) {
        return err;
    } else if (vlen != 16) {
        env_seterr(env_store(txn), "the change log's counter is malformed");
        return MESH_ECORRUPT;
    } else {
        c->last = env_get_le64(v);
        c->floor = env_get_le64(v + 8);
    }
    c->loaded = true;
    return MESH_OK;
}

mesh_err_t
store_change_peek(store_txn_t *txn, uint64_t *next)
{
    env_chg_t *c = env_txn_chg(txn);
    mesh_err_t err = s_load(txn, c);
    *next = c->last + 1;
    return err;
}

mesh_err_t
store_change_log(store_txn_t *txn, const uint8_t *ikey, size_t ilen, uint64_t old, uint64_t *seq)
{
    env_chg_t *c = env_txn_chg(txn);
    mesh_err_t err = s_load(txn, c);
    uint8_t sk[8];
    if (err == MESH_OK && old) {
        env_be64(sk, old);
        err = env_del(txn, ENV_CHANGES, sk, sizeof sk);
    }
    if (err != MESH_OK) {
        return err;
    }
    *seq = ++c->last;
    c->dirty = true;
    uint8_t *p = NULL;
    env_be64(sk, *seq);
    err = env_reserve_last(txn, ENV_CHANGES, sk, sizeof sk, ilen, &p);
    if (err == MESH_OK) {
        memcpy(p, ikey, ilen);
    }
    return err;
}

mesh_err_t
store_change_drop(store_txn_t *txn, uint64_t old)
{
    env_chg_t *c = env_txn_chg(txn);
    mesh_err_t err = s_load(txn, c);
    uint8_t sk[8];
    if (err != MESH_OK || old == 0) {
        return err;
    }
    env_be64(sk, old);
    err = env_del(txn, ENV_CHANGES, sk, sizeof sk);
    if (err == MESH_OK) {
        c->floor = old > c->floor ? old : c->floor;
        c->dirty = true;
    }
    return err;
}

mesh_err_t
store_changes_flush(store_txn_t *txn)
{
    env_chg_t *c = env_txn_chg(txn);
    uint8_t b[16];
    env_le64(b, c->last);
    env_le64(b + 8, c->floor);
    return env_put(txn, ENV_META, S_META, strlen(S_META), b, sizeof b);
}

mesh_err_t
store_changes_init(store_txn_t *txn, void *ctx)
{
    (void)ctx;
    const uint8_t *v = NULL;
    size_t vlen = 0;
    mesh_err_t err = env_get(txn, ENV_META, S_META, strlen(S_META), &v, &vlen);
    if (err != MESH_ENOTFOUND) {
        return err; /* MESH_OK: the log exists */
    }
    env_chg_t *c = env_txn_chg(txn);
    c->loaded = true;
    c->dirty = true; /* the counter is written even for an empty store */
    return store_items_log(txn);
}

mesh_err_t
store_changes_bounds(store_txn_t *txn, uint64_t *last, uint64_t *floor)
{
    const uint8_t *v = NULL;
    size_t vlen = 0;
    mesh_err_t err = env_get(txn, ENV_META, S_META, strlen(S_META), &v, &vlen);
    *last = *floor = 0;
    if (err == MESH_ENOTFOUND) {
        return MESH_OK;
    }
    if (err == MESH_OK && vlen != 16) {
        env_seterr(env_store(txn), "the change log's counter is malformed");
        return MESH_ECORRUPT;
    }
    if (err == MESH_OK) {
        *last = env_get_le64(v);
        *floor = env_get_le64(v + 8);
    }
    return err;
}

mesh_err_t
store_changes_open(store_txn_t *txn, uint64_t since, store_cursor_t **out)
{
    uint8_t start[8];
    env_be64(start, since == UINT64_MAX ? since : since + 1);
    return env_cursor_open(txn, ENV_CHANGES, start, sizeof start, 0, out);
}

mesh_err_t
store_changes_next(store_cursor_t *cur, uint64_t *seq, uint32_t *cid, const uint8_t **skey,
                   size_t *skey_len)
{
    const uint8_t *k = NULL, *v = NULL;
    size_t klen = 0, vlen = 0;
    mesh_err_t err = env_cursor_next(cur, &k, &klen, &v, &vlen);
    if (err != MESH_OK) {
        return err;
    }
    if (klen != 8 || vlen < 5 || vlen > S_IKEY_MAX) {
        env_seterr(env_store(env_cursor_txn(cur)), "a change log entry is malformed");
        return MESH_ECORRUPT;
    }
    *seq = env_get_be64(k);
    *cid = env_get_be32(v);
    *skey = v + 4;
    *skey_len = vlen - 4;
    return MESH_OK;
}
