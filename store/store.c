/* store/store.c: small records of a node home: metadata, origins (device, incarnation) and
 * their local numbers, collections with their stats, and version vectors
 * (docs/PROTOCOL.md §6). Declared in store.h.
 * Not here: the environment (env.c), items, dots, sets and held sets (items.c).
 * Layer: store. Third-party: none (LMDB is reached through env.h).
 * SPDX-License-Identifier: MIT */
#include "store.h"

#include <stdlib.h>
#include <string.h>

#include "env.h"

/* ---- metadata ---- */

mesh_err_t
store_meta_get(store_txn_t *txn, const char *name, const uint8_t **val, size_t *len)
{
    return env_get(txn, ENV_META, name, strlen(name), val, len);
}

mesh_err_t
store_meta_put(store_txn_t *txn, const char *name, const void *val, size_t len)
{
    return env_put(txn, ENV_META, name, strlen(name), val, len);
}

mesh_err_t
store_meta_get_u64(store_txn_t *txn, const char *name, uint64_t *val)
{
    const uint8_t *v = NULL;
    size_t len = 0;
    *val = 0;
    mesh_err_t err = store_meta_get(txn, name, &v, &len);
    if (err != MESH_OK) {
        return err;
    }
    if (len != 8) {
        env_seterr(env_store(txn), "meta %s has %zu bytes, not 8", name, len);
        return MESH_ECORRUPT;
    }
    *val = env_get_le64(v);
    return MESH_OK;
}

mesh_err_t
store_meta_put_u64(store_txn_t *txn, const char *name, uint64_t val)
{
    uint8_t b[8];
    env_le64(b, val);
    return store_meta_put(txn, name, b, sizeof b);
}

/* ---- numbers: origins and collections are named in records by a 4-byte number ---- */

/* *num: the number that the record k of db holds; MESH_ENOTFOUND when there is none. */
static mesh_err_t
s_number_get(store_txn_t *txn, env_db_t db, const uint8_t *k, size_t klen, uint32_t *num)
{
    const uint8_t *v = NULL;
    size_t vlen = 0;
    mesh_err_t err = env_get(txn, db, k, klen, &v, &vlen);
    if (err == MESH_OK) {
        if (vlen != 4) {
            return MESH_ECORRUPT;
        }
        *num = env_get_le32(v);
    }
    return err;
}

/* *next: the next number to give out, from the meta counter name (1 when none yet); the
 * caller stores next + 1 there once it has used it. */
static mesh_err_t
s_number_next(store_txn_t *txn, const char *name, uint64_t *next)
{
    *next = 0;
    mesh_err_t err = store_meta_get_u64(txn, name, next);
    if (err != MESH_OK && err != MESH_ENOTFOUND) {
        return err;
    }
    *next = *next ? *next : 1;
    return MESH_OK;
}

/* ---- origins: "f" device(32) inc(8) -> oid ; "r" oid(4) -> device inc [signed inc] ---- */

mesh_err_t
store_origin_id(store_txn_t *txn, const uint8_t *device, uint64_t incarnation, bool create,
                uint32_t *oid)
{
    uint8_t k[41];
    k[0] = 'f';
    memcpy(k + 1, device, 32);
    env_be64(k + 33, incarnation);
    uint64_t next = 0;
    mesh_err_t err = s_number_get(txn, ENV_ORIGINS, k, sizeof k, oid);
    if (err != MESH_ENOTFOUND || !create) {
        return err;
    }
    err = s_number_next(txn, "next_oid", &next);
    if (err != MESH_OK) {
        return err;
    }
    uint8_t ov[4], rk[5], rv[40];
    env_le32(ov, (uint32_t)next);
    rk[0] = 'r';
    env_be32(rk + 1, (uint32_t)next);
    memcpy(rv, device, 32);
    env_le64(rv + 32, incarnation);
    err = env_put(txn, ENV_ORIGINS, k, sizeof k, ov, sizeof ov);
    if (err == MESH_OK) {
        err = env_put(txn, ENV_ORIGINS, rk, sizeof rk, rv, sizeof rv);
    }
    if (err == MESH_OK) {
        err = store_meta_put_u64(txn, "next_oid", next + 1);
    }
    if (err == MESH_OK) {
        *oid = (uint32_t)next;
    }
    return err;
}

/* The record of origin number oid: its device (32 bytes into device) and its incarnation:
 * the vector's, or with signed_inc the one its sets were signed with (a derived origin's
 * record holds both, §5.7; any other's one). */
static mesh_err_t
s_origin_read(store_txn_t *txn, uint32_t oid, bool signed_inc, uint8_t *device,
              uint64_t *incarnation)
{
    uint8_t rk[5];
    const uint8_t *v = NULL;
    size_t vlen = 0;
    rk[0] = 'r';
    env_be32(rk + 1, oid);
    mesh_err_t err = env_get(txn, ENV_ORIGINS, rk, sizeof rk, &v, &vlen);
    if (err != MESH_OK) {
        return err;
    }
    if (vlen != 40 && vlen != 48) {
        return MESH_ECORRUPT;
    }
    memcpy(device, v, 32);
    *incarnation = env_get_le64(v + (signed_inc && vlen == 48 ? 40 : 32));
    return MESH_OK;
}

mesh_err_t
store_origin_get(store_txn_t *txn, uint32_t oid, uint8_t *device, uint64_t *incarnation)
{
    return s_origin_read(txn, oid, false, device, incarnation);
}

mesh_err_t
store_origin_signed(store_txn_t *txn, uint32_t oid, uint8_t *device, uint64_t *incarnation)
{
    return s_origin_read(txn, oid, true, device, incarnation);
}

/* ---- derived origins of forked sets: "d" oid(be32) derived(be32) -> nothing; the derived
 * one's "r" record adds the incarnation its sets were signed with (§5.7) ---- */

mesh_err_t
store_origin_derive(store_txn_t *txn, uint32_t oid, uint64_t incarnation, uint32_t *derived)
{
    uint8_t device[32], rk[5], rv[48], dk[9];
    uint64_t signed_inc = 0;
    const uint8_t *v = NULL;
    size_t vlen = 0;
    *derived = 0;
    mesh_err_t err = store_origin_get(txn, oid, device, &signed_inc);
    if (err == MESH_OK) {
        err = store_origin_id(txn, device, incarnation, true, derived);
    }
    if (err == MESH_OK && *derived == oid) {
        err = MESH_EINVAL; /* an incarnation is never derived from itself */
    }
    rk[0] = 'r';
    env_be32(rk + 1, *derived);
    if (err == MESH_OK) {
        err = env_get(txn, ENV_ORIGINS, rk, sizeof rk, &v, &vlen);
    }
    if (err == MESH_OK && vlen == 48) {
        return env_get_le64(v + 40) == signed_inc ? MESH_OK : MESH_EEXIST;
    }
    /* new, or named before by a watermark alone: it becomes derived from oid */
    memcpy(rv, device, 32);
    env_le64(rv + 32, incarnation);
    env_le64(rv + 40, signed_inc);
    dk[0] = 'd';
    env_be32(dk + 1, oid);
    env_be32(dk + 5, *derived);
    if (err == MESH_OK) {
        err = env_put(txn, ENV_ORIGINS, rk, sizeof rk, rv, sizeof rv);
    }
    if (err == MESH_OK) {
        err = env_put(txn, ENV_ORIGINS, dk, sizeof dk, "", 0);
    }
    return err;
}

mesh_err_t
store_origin_forks(store_txn_t *txn, uint32_t oid, uint32_t *derived, size_t max, size_t *n)
{
    uint8_t dk[5];
    store_cursor_t *cur = NULL;
    const uint8_t *k = NULL, *v = NULL;
    size_t klen = 0, vlen = 0;
    *n = 0;
    dk[0] = 'd';
    env_be32(dk + 1, oid);
    mesh_err_t err = env_cursor_open(txn, ENV_ORIGINS, dk, sizeof dk, sizeof dk, &cur);
    while (err == MESH_OK && (err = env_cursor_next(cur, &k, &klen, &v, &vlen)) == MESH_OK) {
        if (klen != 9) {
            err = MESH_ECORRUPT;
        } else if (*n == max) {
            err = MESH_ETOOBIG;
        } else {
            derived[(*n)++] = env_get_be32(k + 5);
        }
    }
    store_cursor_close(cur);
    return err == MESH_ENOTFOUND ? MESH_OK : err;
}

mesh_err_t
store_origin_is_derived(store_txn_t *txn, uint32_t oid, bool *derived)
{
    uint8_t rk[5];
    const uint8_t *v = NULL;
    size_t vlen = 0;
    *derived = false;
    rk[0] = 'r';
    env_be32(rk + 1, oid);
    mesh_err_t err = env_get(txn, ENV_ORIGINS, rk, sizeof rk, &v, &vlen);
    *derived = err == MESH_OK && vlen == 48;
    return err;
}

/* ---- collections: "n" name -> cid ; "s" cid(4) -> stats ---- */

mesh_err_t
store_coll_id(store_txn_t *txn, const char *name, bool create, uint32_t *cid)
{
    uint8_t k[1 + MESH_COLL_MAX];
    size_t nlen = strlen(name);
    uint64_t next = 0;
    if (nlen == 0 || nlen > MESH_COLL_MAX) {
        return MESH_EINVAL;
    }
    k[0] = 'n';
    memcpy(k + 1, name, nlen);
    mesh_err_t err = s_number_get(txn, ENV_COLLS, k, 1 + nlen, cid);
    if (err != MESH_ENOTFOUND || !create) {
        return err;
    }
    err = s_number_next(txn, "next_cid", &next);
    if (err != MESH_OK) {
        return err;
    }
    if (next > MESH_COLLS_MAX) { /* collections are never removed: next - 1 of them */
        env_seterr(env_store(txn), "more than %u collections", MESH_COLLS_MAX);
        return MESH_ETOOBIG;
    }
    uint8_t cv[4];
    env_le32(cv, (uint32_t)next);
    err = env_put(txn, ENV_COLLS, k, 1 + nlen, cv, sizeof cv);
    if (err == MESH_OK) {
        err = store_meta_put_u64(txn, "next_cid", next + 1);
    }
    if (err == MESH_OK) {
        *cid = (uint32_t)next;
    }
    return err;
}

mesh_err_t
store_coll_stats_get(store_txn_t *txn, uint32_t cid, store_coll_stats_t *stats)
{
    uint8_t k[5];
    const uint8_t *v = NULL;
    size_t vlen = 0;
    memset(stats, 0, sizeof *stats);
    k[0] = 's';
    env_be32(k + 1, cid);
    mesh_err_t err = env_get(txn, ENV_COLLS, k, sizeof k, &v, &vlen);
    if (err == MESH_ENOTFOUND) {
        return MESH_OK;
    }
    if (err != MESH_OK) {
        return err;
    }
    if (vlen != 48) {
        return MESH_ECORRUPT;
    }
    memcpy(stats->digest, v, 32);
    stats->keys = env_get_le64(v + 32);
    stats->versions = env_get_le64(v + 40);
    return MESH_OK;
}

mesh_err_t
store_coll_stats_put(store_txn_t *txn, uint32_t cid, const store_coll_stats_t *stats)
{
    uint8_t k[5], v[48];
    k[0] = 's';
    env_be32(k + 1, cid);
    memcpy(v, stats->digest, 32);
    env_le64(v + 32, stats->keys);
    env_le64(v + 40, stats->versions);
    return env_put(txn, ENV_COLLS, k, sizeof k, v, sizeof v);
}

/* ---- vectors: cid(be32) oid(be32) -> base le64, extra count le32, extras le64... ---- */

mesh_err_t
store_vv_get(store_txn_t *txn, uint32_t cid, uint32_t oid, store_vv_t *vv)
{
    uint8_t k[8];
    const uint8_t *v = NULL;
    size_t vlen = 0;
    memset(vv, 0, sizeof *vv);
    env_be32(k, cid);
    env_be32(k + 4, oid);
    mesh_err_t err = env_get(txn, ENV_VECTORS, k, sizeof k, &v, &vlen);
    if (err == MESH_ENOTFOUND) {
        return MESH_OK;
    }
    if (err != MESH_OK) {
        return err;
    }
    if (vlen < 12) {
        return MESH_ECORRUPT;
    }
    vv->base = env_get_le64(v);
    vv->extra_count = env_get_le32(v + 8);
    if (vlen != 12 + 8 * vv->extra_count) {
        return MESH_ECORRUPT;
    }
    vv->extra_raw = v + 12;
    return MESH_OK;
}

uint64_t
store_vv_extra(const store_vv_t *vv, size_t i)
{
    return env_get_le64(vv->extra_raw + 8 * i);
}

mesh_err_t
store_vv_put(store_txn_t *txn, uint32_t cid, uint32_t oid, uint64_t base, const uint64_t *extra,
             size_t extra_count)
{
    uint8_t k[8], *p = NULL;
    if (extra_count > STORE_VV_EXTRA_MAX) {
        return MESH_ETOOBIG;
    }
    env_be32(k, cid);
    env_be32(k + 4, oid);
    mesh_err_t err = env_reserve(txn, ENV_VECTORS, k, sizeof k, 12 + 8 * extra_count, &p);
    if (err != MESH_OK) {
        return err;
    }
    env_le64(p, base);
    env_le32(p + 8, (uint32_t)extra_count);
    for (size_t i = 0; i < extra_count; i++) {
        env_le64(p + 12 + 8 * i, extra[i]);
    }
    return MESH_OK;
}

mesh_err_t
store_vvs_open(store_txn_t *txn, uint32_t cid, store_cursor_t **out)
{
    uint8_t k[4];
    env_be32(k, cid);
    return env_cursor_open(txn, ENV_VECTORS, k, sizeof k, sizeof k, out);
}

mesh_err_t
store_vvs_next(store_cursor_t *cur, uint32_t *oid, store_vv_t *vv)
{
    const uint8_t *k = NULL, *p = NULL;
    size_t klen = 0, vlen = 0;
    mesh_err_t err = env_cursor_next(cur, &k, &klen, &p, &vlen);
    if (err != MESH_OK) {
        return err;
    }
    if (klen != 8 || vlen < 12) {
        return MESH_ECORRUPT;
    }
    *oid = env_get_be32(k + 4);
    vv->base = env_get_le64(p);
    vv->extra_count = env_get_le32(p + 8);
    vv->extra_raw = p + 12;
    return vlen == 12 + 8 * vv->extra_count ? MESH_OK : MESH_ECORRUPT;
}

mesh_err_t
store_colls_open(store_txn_t *txn, store_cursor_t **out)
{
    return env_cursor_open(txn, ENV_COLLS, (const uint8_t *)"n", 1, 1, out);
}

mesh_err_t
store_colls_next(store_cursor_t *cur, char *name, uint32_t *cid)
{
    const uint8_t *k = NULL, *v = NULL;
    size_t klen = 0, vlen = 0;
    mesh_err_t err = env_cursor_next(cur, &k, &klen, &v, &vlen);
    if (err != MESH_OK) {
        return err;
    }
    if (klen < 2 || klen > 1 + MESH_COLL_MAX || vlen != 4) {
        return MESH_ECORRUPT;
    }
    memcpy(name, k + 1, klen - 1);
    name[klen - 1] = '\0';
    *cid = env_get_le32(v);
    return MESH_OK;
}
