/* store/signed.c: the "signed up to" records of waiting sets (docs/PROTOCOL.md §6), in the
 * `colls` database under 'w' ‖ cid(be32) ‖ device(32) ‖ incarnation(be64) -> end(le64).
 * Declared in signed.h. Not here: the environment (env.c), the cap (core/apply/causal.c).
 * Layer: store. Third-party: none (LMDB is reached through env.h). SPDX-License-Identifier: MIT */
#include "signed.h"

#include <string.h>

#include "env.h"

#define S_DEVICE_LEN 32u
#define S_KEY_LEN    (1u + 4u + S_DEVICE_LEN + 8u)

/* The key of (cid, device, incarnation) into k (S_KEY_LEN bytes). */
static void
s_key(uint8_t *k, uint32_t cid, const uint8_t *device, uint64_t incarnation)
{
    k[0] = 'w';
    env_be32(k + 1, cid);
    memcpy(k + 5, device, S_DEVICE_LEN);
    env_be64(k + 5 + S_DEVICE_LEN, incarnation);
}

mesh_err_t
store_signed_get(store_txn_t *txn, uint32_t cid, const uint8_t *device, uint64_t incarnation,
                 uint64_t *end)
{
    uint8_t k[S_KEY_LEN];
    const uint8_t *v = NULL;
    size_t vlen = 0;
    s_key(k, cid, device, incarnation);
    mesh_err_t err = env_get(txn, ENV_COLLS, k, sizeof k, &v, &vlen);
    if (err == MESH_OK && vlen != 8) {
        return MESH_ECORRUPT;
    }
    *end = err == MESH_OK ? env_get_le64(v) : 0;
    return err;
}

mesh_err_t
store_signed_raise(store_txn_t *txn, uint32_t cid, const uint8_t *device, uint64_t incarnation,
                   uint64_t end)
{
    uint8_t k[S_KEY_LEN], v[8];
    uint64_t held = 0;
    mesh_err_t err = store_signed_get(txn, cid, device, incarnation, &held);
    if (err == MESH_OK && held >= end) {
        return MESH_OK;
    }
    if (err != MESH_OK && err != MESH_ENOTFOUND) {
        return err;
    }
    s_key(k, cid, device, incarnation);
    env_le64(v, end);
    return env_put(txn, ENV_COLLS, k, sizeof k, v, sizeof v);
}

mesh_err_t
store_signed_del(store_txn_t *txn, uint32_t cid, const uint8_t *device, uint64_t incarnation)
{
    uint8_t k[S_KEY_LEN];
    s_key(k, cid, device, incarnation);
    return env_del(txn, ENV_COLLS, k, sizeof k);
}

mesh_err_t
store_signed_open(store_txn_t *txn, uint32_t cid, const uint8_t *device, store_cursor_t **out)
{
    uint8_t k[S_KEY_LEN];
    s_key(k, cid, device, 0);
    return env_cursor_open(txn, ENV_COLLS, k, sizeof k, 5 + S_DEVICE_LEN, out);
}

mesh_err_t
store_signed_next(store_cursor_t *cur, uint64_t *incarnation, uint64_t *end)
{
    const uint8_t *k = NULL, *v = NULL;
    size_t klen = 0, vlen = 0;
    mesh_err_t err = env_cursor_next(cur, &k, &klen, &v, &vlen);
    if (err != MESH_OK) {
        return err;
    }
    if (klen != S_KEY_LEN || vlen != 8) {
        return MESH_ECORRUPT;
    }
    *incarnation = env_get_be64(k + 5 + S_DEVICE_LEN);
    *end = env_get_le64(v);
    return MESH_OK;
}
