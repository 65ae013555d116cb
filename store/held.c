/* store/held.c: the held-back list's records (docs/PROTOCOL.md §6): each set under its id,
 * an index by arrival (all, and per origin) and running totals, kept in step in the same
 * write. Declared in held.h.
 * Not here: the environment (env.c), the caps (core/apply/held.c).
 * Layer: store. Third-party: none (LMDB is reached through env.h). SPDX-License-Identifier: MIT */
#include "held.h"

#include <stdlib.h>
#include <string.h>

#include "env.h"

/* The `held` database holds five kinds of records, told apart by their first byte:
 *   's' id(32)                  -> origin(32) order(le64) seen_us(le64) set bytes
 *   'a' order(be64)             -> id(32)                       arrival index, oldest first
 *   'p' origin(32) order(be64)  -> id(32) len(le64) seen_us(le64)  per origin, oldest first
 *   'g' origin(32)              -> sets(le64) bytes(le64)        an origin's totals
 *   't'                         -> sets bytes next_order dropped_sets dropped_bytes (le64 each)
 * Records of the layout before it have 32-byte keys (id -> origin || set): no key above has
 * that length. */
#define S_ORIGIN_LEN 32u
#define S_SET_HEAD   (S_ORIGIN_LEN + 16u) /* origin, order, seen_us */
#define S_OLD_KEYLEN 32u

typedef struct s_total {
    uint64_t sets, bytes, next_order, dropped_sets, dropped_bytes;
} s_total_t;

static mesh_err_t
s_total_get(store_txn_t *txn, s_total_t *t)
{
    const uint8_t *v = NULL;
    size_t len = 0;
    *t = (s_total_t){0};
    mesh_err_t err = env_get(txn, ENV_HELD, "t", 1, &v, &len);
    if (err == MESH_ENOTFOUND) {
        return MESH_OK;
    }
    if (err != MESH_OK) {
        return err;
    }
    if (len != 40) {
        return MESH_ECORRUPT;
    }
    *t = (s_total_t){env_get_le64(v), env_get_le64(v + 8), env_get_le64(v + 16),
                     env_get_le64(v + 24), env_get_le64(v + 32)};
    return MESH_OK;
}

static mesh_err_t
s_total_put(store_txn_t *txn, const s_total_t *t)
{
    uint8_t v[40];
    env_le64(v, t->sets);
    env_le64(v + 8, t->bytes);
    env_le64(v + 16, t->next_order);
    env_le64(v + 24, t->dropped_sets);
    env_le64(v + 32, t->dropped_bytes);
    return env_put(txn, ENV_HELD, "t", 1, v, sizeof v);
}

/* An origin's totals: *sets and *bytes (zero when it has none held). */
static mesh_err_t
s_origin_get(store_txn_t *txn, const uint8_t *origin, uint64_t *sets, uint64_t *bytes)
{
    uint8_t k[1 + S_ORIGIN_LEN] = {'g'};
    const uint8_t *v = NULL;
    size_t len = 0;
    memcpy(k + 1, origin, S_ORIGIN_LEN);
    *sets = *bytes = 0;
    mesh_err_t err = env_get(txn, ENV_HELD, k, sizeof k, &v, &len);
    if (err == MESH_ENOTFOUND) {
        return MESH_OK;
    }
    if (err == MESH_OK && len != 16) {
        return MESH_ECORRUPT;
    }
    if (err == MESH_OK) {
        *sets = env_get_le64(v);
        *bytes = env_get_le64(v + 8);
    }
    return err;
}

/* Add one set of len bytes to origin's totals (add true) or take it away. */
static mesh_err_t
s_origin_count(store_txn_t *txn, const uint8_t *origin, size_t len, bool add)
{
    uint8_t k[1 + S_ORIGIN_LEN] = {'g'}, v[16];
    uint64_t sets = 0, bytes = 0;
    memcpy(k + 1, origin, S_ORIGIN_LEN);
    mesh_err_t err = s_origin_get(txn, origin, &sets, &bytes);
    if (err != MESH_OK) {
        return err;
    }
    if (!add && (sets == 0 || bytes < len)) {
        return MESH_ECORRUPT;
    }
    sets = add ? sets + 1 : sets - 1;
    bytes = add ? bytes + len : bytes - len;
    if (sets == 0) {
        return env_del(txn, ENV_HELD, k, sizeof k);
    }
    env_le64(v, sets);
    env_le64(v + 8, bytes);
    return env_put(txn, ENV_HELD, k, sizeof k, v, sizeof v);
}

/* Write the 's', 'a' and 'p' records of a set as number order, and count it. */
static mesh_err_t
s_put(store_txn_t *txn, s_total_t *t, const uint8_t *id, const uint8_t *origin, int64_t seen_us,
      const uint8_t *set, size_t len)
{
    uint8_t sk[1 + STORE_HELD_ID_LEN] = {'s'}, ak[9] = {'a'}, pk[1 + S_ORIGIN_LEN + 8] = {'p'};
    uint8_t pv[STORE_HELD_ID_LEN + 16];
    uint8_t *p = NULL;
    uint64_t order = t->next_order++;
    memcpy(sk + 1, id, STORE_HELD_ID_LEN);
    mesh_err_t err = env_reserve_new(txn, ENV_HELD, sk, sizeof sk, S_SET_HEAD + len, &p);
    if (err != MESH_OK) {
        return err; /* MESH_EEXIST: held already */
    }
    memcpy(p, origin, S_ORIGIN_LEN);
    env_le64(p + S_ORIGIN_LEN, order);
    env_le64(p + S_ORIGIN_LEN + 8, (uint64_t)seen_us);
    memcpy(p + S_SET_HEAD, set, len);
    env_be64(ak + 1, order);
    err = env_put(txn, ENV_HELD, ak, sizeof ak, id, STORE_HELD_ID_LEN);
    memcpy(pk + 1, origin, S_ORIGIN_LEN);
    env_be64(pk + 1 + S_ORIGIN_LEN, order);
    memcpy(pv, id, STORE_HELD_ID_LEN);
    env_le64(pv + STORE_HELD_ID_LEN, len);
    env_le64(pv + STORE_HELD_ID_LEN + 8, (uint64_t)seen_us);
    if (err == MESH_OK) {
        err = env_put(txn, ENV_HELD, pk, sizeof pk, pv, sizeof pv);
    }
    if (err == MESH_OK) {
        err = s_origin_count(txn, origin, len, true);
    }
    t->sets++;
    t->bytes += len;
    return err;
}

mesh_err_t
store_held_put(store_txn_t *txn, const uint8_t *id, const uint8_t *origin, int64_t seen_us,
               const uint8_t *set, size_t len)
{
    s_total_t t;
    mesh_err_t err = s_total_get(txn, &t);
    if (err == MESH_OK) {
        err = s_put(txn, &t, id, origin, seen_us, set, len);
    }
    return err == MESH_OK ? s_total_put(txn, &t) : err;
}

/* Remove set id and its index records; *len gets its bytes. MESH_ENOTFOUND if not held. */
static mesh_err_t
s_del(store_txn_t *txn, s_total_t *t, const uint8_t *id_in, size_t *len)
{
    uint8_t sk[1 + STORE_HELD_ID_LEN] = {'s'}, ak[9] = {'a'}, pk[1 + S_ORIGIN_LEN + 8] = {'p'};
    uint8_t origin[S_ORIGIN_LEN];
    const uint8_t *v = NULL;
    size_t vlen = 0;
    memcpy(sk + 1, id_in, STORE_HELD_ID_LEN); /* id_in may point into a record deleted here */
    mesh_err_t err = env_get(txn, ENV_HELD, sk, sizeof sk, &v, &vlen);
    if (err != MESH_OK) {
        return err;
    }
    if (vlen < S_SET_HEAD) {
        return MESH_ECORRUPT;
    }
    uint64_t order = env_get_le64(v + S_ORIGIN_LEN);
    memcpy(origin, v, S_ORIGIN_LEN);
    *len = vlen - S_SET_HEAD;
    env_be64(ak + 1, order);
    memcpy(pk + 1, origin, S_ORIGIN_LEN);
    env_be64(pk + 1 + S_ORIGIN_LEN, order);
    err = env_del(txn, ENV_HELD, sk, sizeof sk);
    if (err == MESH_OK) {
        err = env_del(txn, ENV_HELD, ak, sizeof ak);
    }
    if (err == MESH_OK) {
        err = env_del(txn, ENV_HELD, pk, sizeof pk);
    }
    if (err == MESH_OK) {
        err = s_origin_count(txn, origin, *len, false);
    }
    if (err == MESH_OK && (t->sets == 0 || t->bytes < *len)) {
        err = MESH_ECORRUPT;
    }
    if (err == MESH_OK) {
        t->sets--;
        t->bytes -= *len;
    }
    return err;
}

mesh_err_t
store_held_del(store_txn_t *txn, const uint8_t *id)
{
    s_total_t t;
    size_t len = 0;
    mesh_err_t err = s_total_get(txn, &t);
    if (err == MESH_OK) {
        err = s_del(txn, &t, id, &len);
    }
    if (err == MESH_ENOTFOUND) {
        return MESH_OK;
    }
    return err == MESH_OK ? s_total_put(txn, &t) : err;
}

mesh_err_t
store_held_drop(store_txn_t *txn, const uint8_t *id, size_t *len)
{
    s_total_t t;
    size_t n = 0;
    mesh_err_t err = s_total_get(txn, &t);
    if (err == MESH_OK) {
        err = s_del(txn, &t, id, &n);
    }
    if (err != MESH_OK) {
        return err;
    }
    t.dropped_sets++;
    t.dropped_bytes += n;
    if (len) {
        *len = n;
    }
    return s_total_put(txn, &t);
}

mesh_err_t
store_held_has(store_txn_t *txn, const uint8_t *id)
{
    uint8_t sk[1 + STORE_HELD_ID_LEN] = {'s'};
    const uint8_t *v = NULL;
    size_t len = 0;
    memcpy(sk + 1, id, STORE_HELD_ID_LEN);
    return env_get(txn, ENV_HELD, sk, sizeof sk, &v, &len);
}

/* The first and last records of an index range (prefix of plen bytes at key): *first and
 * *last get their values (may be NULL). MESH_ENOTFOUND when the range is empty. */
static mesh_err_t
s_range_ends(store_txn_t *txn, const uint8_t *prefix, size_t plen, size_t klen,
             const uint8_t **first, size_t *first_len, const uint8_t **last, size_t *last_len)
{
    store_cursor_t *cur = NULL;
    const uint8_t *k = NULL;
    size_t kl = 0;
    mesh_err_t err = env_cursor_open(txn, ENV_HELD, prefix, plen, plen, &cur);
    if (err == MESH_OK) {
        err = env_cursor_next(cur, &k, &kl, first, first_len);
    }
    store_cursor_close(cur);
    if (err == MESH_OK && kl != klen) {
        err = MESH_ECORRUPT;
    }
    if (err == MESH_OK && last) {
        uint8_t top[1 + S_ORIGIN_LEN + 8];
        memcpy(top, prefix, plen);
        memset(top + plen, 0xff, klen - plen);
        err = env_seek_le(txn, ENV_HELD, top, klen, plen, &k, &kl, last, last_len);
    }
    return err;
}

mesh_err_t
store_held_oldest(store_txn_t *txn, const uint8_t *origin, const uint8_t **id)
{
    uint8_t prefix[1 + S_ORIGIN_LEN] = {origin ? 'p' : 'a'};
    const uint8_t *v = NULL;
    size_t plen = 1, vlen = 0;
    *id = NULL;
    if (origin) {
        memcpy(prefix + 1, origin, S_ORIGIN_LEN);
        plen += S_ORIGIN_LEN;
    }
    mesh_err_t err = s_range_ends(txn, prefix, plen, plen + 8, &v, &vlen, NULL, NULL);
    if (err == MESH_OK && vlen < STORE_HELD_ID_LEN) {
        err = MESH_ECORRUPT;
    }
    if (err == MESH_OK) {
        *id = v;
    }
    return err;
}

mesh_err_t
store_held_totals(store_txn_t *txn, const uint8_t *origin, store_held_totals_t *out,
                  int64_t *first_us, int64_t *last_us)
{
    *out = (store_held_totals_t){0};
    if (first_us) {
        *first_us = 0;
    }
    if (last_us) {
        *last_us = 0;
    }
    if (!origin) {
        s_total_t t;
        mesh_err_t err = s_total_get(txn, &t);
        *out = (store_held_totals_t){t.sets, t.bytes, t.dropped_sets, t.dropped_bytes};
        return err;
    }
    mesh_err_t err = s_origin_get(txn, origin, &out->sets, &out->bytes);
    if (err != MESH_OK || out->sets == 0 || (!first_us && !last_us)) {
        return err;
    }
    uint8_t prefix[1 + S_ORIGIN_LEN] = {'p'};
    const uint8_t *first = NULL, *last = NULL;
    size_t flen = 0, llen = 0;
    memcpy(prefix + 1, origin, S_ORIGIN_LEN);
    err = s_range_ends(txn, prefix, sizeof prefix, sizeof prefix + 8, &first, &flen, &last, &llen);
    if (err == MESH_OK && (flen != STORE_HELD_ID_LEN + 16 || llen != STORE_HELD_ID_LEN + 16)) {
        err = MESH_ECORRUPT;
    }
    if (err == MESH_OK && first_us) {
        *first_us = (int64_t)env_get_le64(first + STORE_HELD_ID_LEN + 8);
    }
    if (err == MESH_OK && last_us) {
        *last_us = (int64_t)env_get_le64(last + STORE_HELD_ID_LEN + 8);
    }
    return err;
}

mesh_err_t
store_held_open(store_txn_t *txn, store_cursor_t **out)
{
    return env_cursor_open(txn, ENV_HELD, (const uint8_t *)"a", 1, 1, out);
}

mesh_err_t
store_held_next(store_cursor_t *cur, store_held_set_t *out)
{
    const uint8_t *k = NULL, *id = NULL, *v = NULL;
    size_t klen = 0, idlen = 0, vlen = 0;
    uint8_t sk[1 + STORE_HELD_ID_LEN] = {'s'};
    mesh_err_t err = env_cursor_next(cur, &k, &klen, &id, &idlen);
    if (err != MESH_OK) {
        return err;
    }
    if (klen != 9 || idlen != STORE_HELD_ID_LEN) {
        return MESH_ECORRUPT;
    }
    memcpy(sk + 1, id, STORE_HELD_ID_LEN);
    err = env_get(env_cursor_txn(cur), ENV_HELD, sk, sizeof sk, &v, &vlen);
    if (err == MESH_ENOTFOUND || (err == MESH_OK && vlen < S_SET_HEAD)) {
        return MESH_ECORRUPT; /* an index entry with no set */
    }
    if (err != MESH_OK) {
        return err;
    }
    *out = (store_held_set_t){.id = id,
                              .origin = v,
                              .set = v + S_SET_HEAD,
                              .len = vlen - S_SET_HEAD,
                              .seen_us = (int64_t)env_get_le64(v + S_ORIGIN_LEN + 8)};
    return MESH_OK;
}

mesh_err_t
store_held_origins_open(store_txn_t *txn, store_cursor_t **out)
{
    return env_cursor_open(txn, ENV_HELD, (const uint8_t *)"g", 1, 1, out);
}

mesh_err_t
store_held_origins_next(store_cursor_t *cur, const uint8_t **origin, store_held_totals_t *out)
{
    const uint8_t *k = NULL, *v = NULL;
    size_t klen = 0, vlen = 0;
    mesh_err_t err = env_cursor_next(cur, &k, &klen, &v, &vlen);
    if (err != MESH_OK) {
        return err;
    }
    if (klen != 1 + S_ORIGIN_LEN || vlen != 16) {
        return MESH_ECORRUPT;
    }
    *origin = k + 1;
    *out = (store_held_totals_t){.sets = env_get_le64(v), .bytes = env_get_le64(v + 8)};
    return MESH_OK;
}

bool
store_held_is_old(store_txn_t *txn)
{
    const uint8_t *v = NULL;
    size_t len = 0;
    uint64_t n = 0;
    if (env_get(txn, ENV_HELD, "t", 1, &v, &len) != MESH_ENOTFOUND) {
        return false;
    }
    return env_count(txn, ENV_HELD, &n) == MESH_OK && n > 0;
}

mesh_err_t
store_held_upgrade(store_txn_t *txn, int64_t now_us, size_t *upgraded)
{
    uint8_t id[S_OLD_KEYLEN];
    s_total_t t;
    size_t n = 0;
    if (upgraded) {
        *upgraded = 0;
    }
    if (!store_held_is_old(txn)) {
        return MESH_OK;
    }
    mesh_err_t err = s_total_get(txn, &t);
    /* Old records sort before every new one of a greater first byte, and a new one's key
     * never has their length: take the first old record left, one at a time, until none. */
    while (err == MESH_OK) {
        store_cursor_t *cur = NULL;
        const uint8_t *k = NULL, *v = NULL;
        size_t klen = 0, vlen = 0;
        err = env_cursor_open(txn, ENV_HELD, NULL, 0, 0, &cur);
        while (err == MESH_OK) {
            err = env_cursor_next(cur, &k, &klen, &v, &vlen);
            if (err == MESH_OK && klen == S_OLD_KEYLEN) {
                break;
            }
        }
        store_cursor_close(cur);
        if (err == MESH_ENOTFOUND) {
            err = MESH_OK;
            break;
        }
        if (err == MESH_OK && vlen < S_ORIGIN_LEN) {
            err = MESH_ECORRUPT;
        }
        /* A copy: the writes below may move the record's page. */
        uint8_t *copy = err == MESH_OK ? malloc(vlen) : NULL;
        if (err == MESH_OK && !copy) {
            err = MESH_ENOMEM;
        }
        if (err == MESH_OK) {
            memcpy(id, k, sizeof id);
            memcpy(copy, v, vlen);
            err = s_put(txn, &t, id, copy, now_us, copy + S_ORIGIN_LEN, vlen - S_ORIGIN_LEN);
            err = err == MESH_EEXIST ? MESH_OK : err;
        }
        free(copy);
        if (err == MESH_OK) {
            err = env_del(txn, ENV_HELD, id, sizeof id);
            n++;
        }
    }
    if (err == MESH_OK) {
        err = s_total_put(txn, &t);
    }
    if (err == MESH_OK && upgraded) {
        *upgraded = n;
    }
    return err;
}
