/* store/gc.c: the records of tombstone collection, in the meta database under keys that
 * start with byte 0x01 (no meta name does): floors "\x01gf" ‖ cid(be32) ‖ origin(32) ‖
 * incarnation(be64) -> seq(le64); queued deletes "\x01gq" ‖ origin(32) ‖ incarnation(be64)
 * ‖ seq(be64) -> coll_len(u8) ‖ coll ‖ key (docs/PROTOCOL.md §6).
 * Layer: store. Third-party: none. SPDX-License-Identifier: MIT */
#include "gc.h"

#include <string.h>

#include "env.h"

#define S_FLOOR_KEY_LEN (3 + 4 + STORE_GC_ORIGIN_LEN + 8)
#define S_REDO_KEY_LEN  (3 + STORE_GC_ORIGIN_LEN + 8 + 8)

static void
s_floor_key(uint8_t *k, uint32_t cid, const uint8_t *origin, uint64_t incarnation)
{
    memcpy(k, "\x01gf", 3);
    env_be32(k + 3, cid);
    memcpy(k + 7, origin, STORE_GC_ORIGIN_LEN);
    env_be64(k + 7 + STORE_GC_ORIGIN_LEN, incarnation);
}

mesh_err_t
store_gc_floor_get(store_txn_t *txn, uint32_t cid, const uint8_t *origin, uint64_t incarnation,
                   uint64_t *seq)
{
    uint8_t k[S_FLOOR_KEY_LEN];
    const uint8_t *v = NULL;
    size_t vlen = 0;
    *seq = 0;
    s_floor_key(k, cid, origin, incarnation);
    mesh_err_t err = env_get(txn, ENV_META, k, sizeof k, &v, &vlen);
    if (err == MESH_ENOTFOUND) {
        return MESH_OK;
    }
    if (err == MESH_OK && vlen != 8) {
        env_seterr(env_store(txn), "collection floor of %zu bytes, not 8", vlen);
        return MESH_ECORRUPT;
    }
    if (err == MESH_OK) {
        *seq = env_get_le64(v);
    }
    return err;
}

mesh_err_t
store_gc_floor_raise(store_txn_t *txn, uint32_t cid, const uint8_t *origin, uint64_t incarnation,
                     uint64_t seq)
{
    uint64_t old = 0;
    mesh_err_t err = store_gc_floor_get(txn, cid, origin, incarnation, &old);
    if (err != MESH_OK || old >= seq) {
        return err;
    }
    uint8_t k[S_FLOOR_KEY_LEN], v[8];
    s_floor_key(k, cid, origin, incarnation);
    env_le64(v, seq);
    return env_put(txn, ENV_META, k, sizeof k, v, sizeof v);
}

static void
s_redo_key(uint8_t *k, const store_gc_redo_t *r)
{
    memcpy(k, "\x01gq", 3);
    memcpy(k + 3, r->origin, STORE_GC_ORIGIN_LEN);
    env_be64(k + 3 + STORE_GC_ORIGIN_LEN, r->incarnation);
    env_be64(k + 11 + STORE_GC_ORIGIN_LEN, r->seq);
}

mesh_err_t
store_gc_redo_put(store_txn_t *txn, const store_gc_redo_t *r)
{
    if (r->coll_len == 0 || r->coll_len > 255) {
        return MESH_EINVAL;
    }
    uint8_t k[S_REDO_KEY_LEN], *v = NULL;
    s_redo_key(k, r);
    mesh_err_t err = env_reserve(txn, ENV_META, k, sizeof k, 1 + r->coll_len + r->key_len, &v);
    if (err == MESH_OK) {
        v[0] = (uint8_t)r->coll_len;
        memcpy(v + 1, r->coll, r->coll_len);
        memcpy(v + 1 + r->coll_len, r->key, r->key_len);
    }
    return err;
}

mesh_err_t
store_gc_redo_first(store_txn_t *txn, store_gc_redo_t *r)
{
    store_cursor_t *cur = NULL;
    const uint8_t *k = NULL, *v = NULL;
    size_t klen = 0, vlen = 0;
    memset(r, 0, sizeof *r);
    mesh_err_t err = env_cursor_open(txn, ENV_META, (const uint8_t *)"\x01gq", 3, 3, &cur);
    if (err == MESH_OK) {
        err = env_cursor_next(cur, &k, &klen, &v, &vlen);
    }
    if (err == MESH_OK && (klen != S_REDO_KEY_LEN || vlen < 1 || vlen < 2u + v[0] || !v[0])) {
        env_seterr(env_store(txn), "queued delete record of %zu and %zu bytes", klen, vlen);
        err = MESH_ECORRUPT;
    }
    if (err == MESH_OK) {
        memcpy(r->origin, k + 3, STORE_GC_ORIGIN_LEN);
        r->incarnation = env_get_be64(k + 3 + STORE_GC_ORIGIN_LEN);
        r->seq = env_get_be64(k + 11 + STORE_GC_ORIGIN_LEN);
        r->coll = (const char *)v + 1;
        r->coll_len = v[0];
        r->key = v + 1 + v[0];
        r->key_len = vlen - 1 - v[0];
    }
    store_cursor_close(cur);
    return err;
}

mesh_err_t
store_gc_redo_del(store_txn_t *txn, const store_gc_redo_t *r)
{
    uint8_t k[S_REDO_KEY_LEN];
    s_redo_key(k, r);
    return env_del(txn, ENV_META, k, sizeof k);
}
