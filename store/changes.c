/* store/changes.c: the local change log (docs/PROTOCOL.md §6, §20). Every write of an item's
 * record (items.c: store_item_put, store_item_add) calls store_change_log in the same
 * transaction: the key gets the next sequence number (kept at the end of its item record)
 * and its earlier entry goes, so the log holds one entry per key that has an item (live or
 * tombstone). An item removed by tombstone collection keeps its entry, marked gone (the
 * feed reports it as a deletion); the oldest gone entries are pruned past S_GONE_MAX,
 * raising the floor.
 * Not here: what a change says (core/data/feed), the items (items.c).
 * Layer: store. Third-party: none. SPDX-License-Identifier: MIT */
#include "env.h"

#include <string.h>

#define S_META     "changes" /* last(le64) ‖ floor(le64) ‖ gone(le64) */
#define S_META_LEN 24u
#define S_IKEY_MAX (4 + STORE_KEY_INLINE_MAX + STORE_KEY_HASH_LEN)
#define S_LIVE     0u     /* an entry's first byte: the key has an item */
#define S_GONE     1u     /* the item was removed (collected): a deletion */
#define S_GONE_MAX 65536u /* gone entries kept; past it the oldest quarter is pruned */

static mesh_err_t
s_meta_read(store_txn_t *txn, env_chg_t *c)
{
    const uint8_t *v = NULL;
    size_t vlen = 0;
    mesh_err_t err = env_get(txn, ENV_META, S_META, strlen(S_META), &v, &vlen);
    c->last = c->floor = c->gone = 0;
    if (err == MESH_ENOTFOUND) {
        return MESH_OK;
    }
    if (err == MESH_OK && vlen != S_META_LEN) {
        env_seterr(env_store(txn), "the change log's counter is malformed");
        return MESH_ECORRUPT;
    }
    if (err == MESH_OK) {
        c->last = env_get_le64(v);
        c->floor = env_get_le64(v + 8);
        c->gone = env_get_le64(v + 16);
    }
    return err;
}

static mesh_err_t
s_load(store_txn_t *txn, env_chg_t *c)
{
    if (c->loaded) {
        return MESH_OK;
    }
    mesh_err_t err = s_meta_read(txn, c);
    c->loaded = err == MESH_OK;
    return err;
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
    err = env_reserve_last(txn, ENV_CHANGES, sk, sizeof sk, 1 + ilen, &p);
    if (err == MESH_OK) {
        p[0] = S_LIVE;
        memcpy(p + 1, ikey, ilen);
    }
    return err;
}

/* Prune the oldest quarter of the gone entries (a walk from the log's start), raising the
 * floor to the last pruned. */
static mesh_err_t
s_prune(store_txn_t *txn, env_chg_t *c)
{
    uint64_t want = S_GONE_MAX / 4, pruned = 0, from = 0;
    mesh_err_t err = MESH_OK;
    while (err == MESH_OK && pruned < want) {
        uint64_t batch[256];
        size_t n = 0;
        store_cursor_t *cur = NULL;
        err = store_changes_open(txn, from, &cur);
        while (err == MESH_OK && n < 256 && pruned + n < want) {
            uint64_t seq = 0;
            uint32_t cid = 0;
            const uint8_t *skey = NULL;
            size_t skey_len = 0;
            bool gone = false;
            err = store_changes_next(cur, &seq, &cid, &skey, &skey_len, &gone);
            if (err == MESH_OK) {
                from = seq;
                if (gone) {
                    batch[n++] = seq;
                }
            }
        }
        store_cursor_close(cur);
        bool end = err == MESH_ENOTFOUND;
        err = end ? MESH_OK : err;
        for (size_t i = 0; err == MESH_OK && i < n; i++) {
            uint8_t sk[8];
            env_be64(sk, batch[i]);
            err = env_del(txn, ENV_CHANGES, sk, sizeof sk);
            c->floor = batch[i] > c->floor ? batch[i] : c->floor;
        }
        pruned += n;
        if (end) {
            break;
        }
    }
    c->gone = c->gone > pruned ? c->gone - pruned : 0;
    return err;
}

mesh_err_t
store_change_drop(store_txn_t *txn, const uint8_t *ikey, size_t ilen, uint64_t old)
{
    env_chg_t *c = env_txn_chg(txn);
    mesh_err_t err = s_load(txn, c);
    if (err != MESH_OK || old == 0) {
        return err;
    }
    uint8_t sk[8], *p = NULL;
    env_be64(sk, old);
    err = env_reserve(txn, ENV_CHANGES, sk, sizeof sk, 1 + ilen, &p);
    if (err != MESH_OK) {
        return err;
    }
    p[0] = S_GONE;
    memcpy(p + 1, ikey, ilen);
    c->gone++;
    c->dirty = true;
    return c->gone > S_GONE_MAX ? s_prune(txn, c) : MESH_OK;
}

mesh_err_t
store_changes_flush(store_txn_t *txn)
{
    env_chg_t *c = env_txn_chg(txn);
    uint8_t b[S_META_LEN];
    env_le64(b, c->last);
    env_le64(b + 8, c->floor);
    env_le64(b + 16, c->gone);
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
    env_chg_t c;
    mesh_err_t err = s_meta_read(txn, &c);
    *last = c.last;
    *floor = c.floor;
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
                   size_t *skey_len, bool *gone)
{
    const uint8_t *k = NULL, *v = NULL;
    size_t klen = 0, vlen = 0;
    mesh_err_t err = env_cursor_next(cur, &k, &klen, &v, &vlen);
    if (err != MESH_OK) {
        return err;
    }
    if (klen != 8 || vlen < 6 || vlen > 1 + S_IKEY_MAX || v[0] > S_GONE) {
        env_seterr(env_store(env_cursor_txn(cur)), "a change log entry is malformed");
        return MESH_ECORRUPT;
    }
    *seq = env_get_be64(k);
    *gone = v[0] == S_GONE;
    *cid = env_get_be32(v + 1);
    *skey = v + 5;
    *skey_len = vlen - 5;
    return MESH_OK;
}
