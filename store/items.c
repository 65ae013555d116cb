/* store/items.c: the records of a collection's contents: each key's index of live
 * versions (long keys by hash), the version records in dot order, change-set headers with
 * their leaves (docs/PROTOCOL.md §6). Declared in items.h.
 * Not here: the environment (env.c), small records and vectors (store.c), held sets (held.c).
 * Layer: store. Third-party: none (LMDB is reached through env.h).
 * SPDX-License-Identifier: MIT */
#include "items.h"

#include <stdlib.h>
#include <string.h>

#include "env.h"

/* ---- the key index ----
 * key: cid(be32) || key bytes                         (len <= STORE_KEY_INLINE_MAX)
 *      cid(be32) || first 400 key bytes || hash(32)   (longer keys; a length no inline
 *                                                      key can have)
 * value: count(le16) || count * [oid le32, seq le64]: the dots of the key's versions,
 *        each held in full in the dots database (below) || change(le64);
 *        or, for a key of one version (since format 3): 0xff || oid || seq || change,
 *        each a varint (LEB128): 8 bytes or so instead of 22. No record of the first kind
 *        starts with 0xff and is that short (count 255 takes 3,062 bytes).
 * Kept small on purpose: it is the one tree whose keys arrive in random order, so a
 * write transaction copies most of its leaf pages; the bulk of a version goes to the
 * dots database, whose keys arrive in order. */

#define S_REF_LEN    12u
/* After the refs: the key's change log sequence, le64 (store/changes.c); absent only in a
 * record made before the log, until the open gives it one (store_items_log). */
#define S_CHANGE_LEN 8u
#define S_ONE        0xffu                 /* the first byte of a record of one version */
#define S_ONE_MAX    (1u + 5u + 10u + 10u) /* its length at most */

/* An item record, parsed: the refs in the fixed layout (refs), or the one version's dot. */
typedef struct s_rec {
    size_t count;
    const uint8_t *refs; /* count * S_REF_LEN bytes, or NULL: oid and seq */
    uint32_t oid;
    uint64_t seq;
    uint64_t change; /* the change log sequence, 0: none */
} s_rec_t;

static size_t
s_varint_put(uint8_t *p, uint64_t x)
{
    size_t n = 0;
    while (x >= 0x80) {
        p[n++] = (uint8_t)(x | 0x80);
        x >>= 7;
    }
    p[n++] = (uint8_t)x;
    return n;
}

static bool
s_varint_get(const uint8_t **p, const uint8_t *end, uint64_t *x)
{
    uint64_t v = 0;
    for (unsigned shift = 0; shift < 64 && *p < end; shift += 7) {
        uint8_t b = *(*p)++;
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *x = v;
            return true;
        }
    }
    return false;
}

/* Parse an item record: false when it is malformed. */
static bool
s_rec_parse(const uint8_t *v, size_t len, s_rec_t *r)
{
    memset(r, 0, sizeof *r);
    if (len >= 1 && len <= S_ONE_MAX && v[0] == S_ONE) {
        const uint8_t *p = v + 1, *end = v + len;
        uint64_t oid = 0;
        r->count = 1;
        if (!s_varint_get(&p, end, &oid) || oid > UINT32_MAX || !s_varint_get(&p, end, &r->seq) ||
            !s_varint_get(&p, end, &r->change) || p != end) {
            return false;
        }
        r->oid = (uint32_t)oid;
        return true;
    }
    r->count = len >= 2 ? ((size_t)v[0] | ((size_t)v[1] << 8)) : 0;
    r->refs = v + 2;
    if (r->count == 0 || r->count > STORE_SIBLINGS_MAX) {
        return false;
    }
    if (len == 2 + r->count * S_REF_LEN + S_CHANGE_LEN) {
        r->change = env_get_le64(v + len - S_CHANGE_LEN);
        return true;
    }
    return len == 2 + r->count * S_REF_LEN;
}

/* The dot of ref i of a parsed record. */
static void
s_rec_ref(const s_rec_t *r, size_t i, uint32_t *oid, uint64_t *seq)
{
    if (r->refs) {
        *oid = env_get_le32(r->refs + i * S_REF_LEN);
        *seq = env_get_le64(r->refs + i * S_REF_LEN + 4);
    } else {
        *oid = r->oid;
        *seq = r->seq;
    }
}

/* The change log sequence an item record keeps (0: none, or a malformed record). */
static uint64_t
s_item_change(const uint8_t *v, size_t len)
{
    s_rec_t r;
    return s_rec_parse(v, len, &r) ? r.change : 0;
}

static size_t
s_item_key(uint32_t cid, const store_key_t *key, uint8_t *out)
{
    env_be32(out, cid);
    if (key->len <= STORE_KEY_INLINE_MAX) {
        memcpy(out + 4, key->bytes, key->len);
        return 4 + key->len;
    }
    memcpy(out + 4, key->bytes, STORE_KEY_INLINE_MAX);
    memcpy(out + 4 + STORE_KEY_INLINE_MAX, key->hash, STORE_KEY_HASH_LEN);
    return 4 + STORE_KEY_INLINE_MAX + STORE_KEY_HASH_LEN;
}

#define S_ITEM_KEY_MAX (4 + STORE_KEY_INLINE_MAX + STORE_KEY_HASH_LEN)

/* ---- version records: cid(be32) oid(be32) seq(be64) ->
 *      key_len le32, key (full), hlc le64, kind u8, meta_len le32, meta,
 *      value_len le32, value, proof_len le16, proof ----
 * Since format 3, when the key's bytes are found in the first S_KEY_AT_MAX bytes of the
 * metadata (the signed op metadata holds the key: PROTOCOL §3.2), they are not written
 * again: key_len is then S_KEY_IN_META | offset << 16 | length, with no key bytes after it
 * (a key is at most MESH_KEY_MAX bytes: no key_len of format 2 has that bit). */

#define S_VERSION_FIXED (4 + 8 + 1 + 4 + 4 + 2)
#define S_KEY_IN_META   0x80000000u
#define S_KEY_AT_MAX    16u /* the metadata's bytes the key is looked for in */

static void
s_dot_key(uint8_t *k, uint32_t cid, uint32_t oid, uint64_t seq)
{
    env_be32(k, cid);
    env_be32(k + 4, oid);
    env_be64(k + 8, seq);
}

/* Parse a version record into *v (oid and seq from its LMDB key) and its full key. */
static mesh_err_t
s_version_parse(store_t *st, const uint8_t *dk, const uint8_t *p, size_t len, store_version_t *v,
                const uint8_t **key, size_t *key_len)
{
    const uint8_t *end = p + len;
    if (len < S_VERSION_FIXED) {
        goto bad;
    }
    uint32_t klen = env_get_le32(p);
    bool in_meta = (klen & S_KEY_IN_META) != 0;
    size_t key_at = in_meta ? (klen >> 16) & 0xff : 0;
    klen = in_meta ? klen & 0xffff : klen;
    p += 4;
    if ((size_t)(end - p) < (in_meta ? 0 : (size_t)klen) + S_VERSION_FIXED - 4) {
        goto bad;
    }
    *key = p;
    *key_len = klen;
    p += in_meta ? 0 : klen;
    v->oid = env_get_be32(dk + 4);
    v->seq = env_get_be64(dk + 8);
    v->hlc = env_get_le64(p);
    v->kind = p[8];
    v->meta_len = env_get_le32(p + 9);
    p += 13;
    if ((size_t)(end - p) < (size_t)v->meta_len + 4) {
        goto bad;
    }
    v->meta = p;
    if (in_meta) {
        if (key_at + klen > v->meta_len) {
            goto bad;
        }
        *key = p + key_at;
    }
    p += v->meta_len;
    v->value_len = env_get_le32(p);
    p += 4;
    if ((size_t)(end - p) < (size_t)v->value_len + 2) {
        goto bad;
    }
    v->value = p;
    p += v->value_len;
    v->proof_len = (uint32_t)p[0] | ((uint32_t)p[1] << 8);
    p += 2;
    if ((size_t)(end - p) != v->proof_len) {
        goto bad;
    }
    v->proof = p;
    return MESH_OK;
bad:
    env_seterr(st, "version record is malformed");
    return MESH_ECORRUPT;
}

/* Read the version record of one dot. */
static mesh_err_t
s_version_get(store_txn_t *txn, uint32_t cid, uint32_t oid, uint64_t seq, store_version_t *v,
              const uint8_t **key, size_t *key_len)
{
    uint8_t k[16];
    const uint8_t *p = NULL;
    size_t len = 0;
    s_dot_key(k, cid, oid, seq);
    mesh_err_t err = env_get(txn, ENV_DOTS, k, sizeof k, &p, &len);
    if (err == MESH_ENOTFOUND) {
        env_seterr(env_store(txn), "an item names a version the store does not hold");
        return MESH_ECORRUPT;
    }
    return err == MESH_OK ? s_version_parse(env_store(txn), k, p, len, v, key, key_len) : err;
}

/* Parse a key index record of cid and read its versions. lkey is its LMDB key: the bytes
 * of an inline key; a long key's full bytes come from its first version. */
static mesh_err_t
s_item_load(store_txn_t *txn, const uint8_t *lkey, size_t lkey_len, const uint8_t *p, size_t len,
            store_item_t *item)
{
    store_t *st = env_store(txn);
    uint32_t cid = env_get_be32(lkey);
    s_rec_t rec;
    if (!s_rec_parse(p, len, &rec)) {
        env_seterr(st, "item record is malformed");
        return MESH_ECORRUPT;
    }
    item->count = rec.count;
    for (size_t i = 0; i < item->count; i++) {
        const uint8_t *key = NULL;
        size_t key_len = 0;
        uint32_t oid = 0;
        uint64_t seq = 0;
        s_rec_ref(&rec, i, &oid, &seq);
        mesh_err_t err = s_version_get(txn, cid, oid, seq, &item->versions[i], &key, &key_len);
        if (err != MESH_OK) {
            return err;
        }
        if (i == 0) {
            item->key = key;
            item->key_len = key_len;
        }
    }
    bool long_key = lkey_len == 4 + STORE_KEY_INLINE_MAX + STORE_KEY_HASH_LEN;
    if (long_key
            ? item->key_len <= STORE_KEY_INLINE_MAX ||
                  memcmp(item->key, lkey + 4, STORE_KEY_INLINE_MAX) != 0
            : item->key_len != lkey_len - 4 || memcmp(item->key, lkey + 4, item->key_len) != 0) {
        env_seterr(st, "an item's version is of another key");
        return MESH_ECORRUPT;
    }
    return MESH_OK;
}

mesh_err_t
store_item_get(store_txn_t *txn, uint32_t cid, const store_key_t *key, store_item_t *item)
{
    uint8_t k[S_ITEM_KEY_MAX];
    size_t klen = s_item_key(cid, key, k);
    const uint8_t *v = NULL;
    size_t vlen = 0;
    item->count = 0;
    mesh_err_t err = env_get(txn, ENV_ITEMS, k, klen, &v, &vlen);
    if (err != MESH_OK) {
        return err;
    }
    err = s_item_load(txn, k, klen, v, vlen, item);
    if (err == MESH_OK && key->len > STORE_KEY_INLINE_MAX &&
        (item->key_len != key->len || memcmp(item->key, key->bytes, key->len) != 0)) {
        env_seterr(env_store(txn), "long key hash collision");
        return MESH_ECORRUPT;
    }
    return err;
}

/* The record of one version (oid, seq) with change log sequence change into p
 * (S_ONE_MAX bytes); its length. */
static size_t
s_one_encode(uint8_t *p, uint32_t oid, uint64_t seq, uint64_t change)
{
    size_t n = 0;
    p[n++] = S_ONE;
    n += s_varint_put(p + n, oid);
    n += s_varint_put(p + n, seq);
    n += s_varint_put(p + n, change);
    return n;
}

/* Write the record of key k: count refs and the change log sequence seq. */
static mesh_err_t
s_item_write(store_txn_t *txn, const uint8_t *k, size_t klen, const store_version_t *versions,
             size_t count, uint64_t seq)
{
    uint8_t *p = NULL;
    if (count == 1) {
        uint8_t one[S_ONE_MAX];
        size_t n = s_one_encode(one, versions[0].oid, versions[0].seq, seq);
        mesh_err_t err = env_reserve(txn, ENV_ITEMS, k, klen, n, &p);
        if (err == MESH_OK) {
            memcpy(p, one, n);
        }
        return err;
    }
    size_t len = 2 + count * S_REF_LEN + S_CHANGE_LEN;
    mesh_err_t err = env_reserve(txn, ENV_ITEMS, k, klen, len, &p);
    if (err != MESH_OK) {
        return err;
    }
    p[0] = (uint8_t)count;
    p[1] = (uint8_t)(count >> 8);
    for (size_t i = 0; i < count; i++) {
        env_le32(p + 2 + i * S_REF_LEN, versions[i].oid);
        env_le64(p + 2 + i * S_REF_LEN + 4, versions[i].seq);
    }
    env_le64(p + len - S_CHANGE_LEN, seq);
    return MESH_OK;
}

mesh_err_t
store_item_put(store_txn_t *txn, uint32_t cid, const store_key_t *key,
               const store_version_t *versions, size_t count)
{
    uint8_t k[S_ITEM_KEY_MAX];
    size_t klen = s_item_key(cid, key, k);
    if (count > STORE_SIBLINGS_MAX) {
        env_seterr(env_store(txn), "more than %u versions of one key", STORE_SIBLINGS_MAX);
        return MESH_ETOOBIG;
    }
    /* the change log (store/changes.c), in this transaction: the key's earlier entry goes */
    const uint8_t *v = NULL;
    size_t vlen = 0;
    uint64_t old = 0, seq = 0;
    mesh_err_t err = env_get(txn, ENV_ITEMS, k, klen, &v, &vlen);
    if (err == MESH_OK) {
        old = s_item_change(v, vlen);
    } else if (err != MESH_ENOTFOUND) {
        return err;
    }
    if (count == 0) {
        if (err == MESH_ENOTFOUND) {
            return MESH_OK;
        }
        err = env_del(txn, ENV_ITEMS, k, klen);
        return err == MESH_OK ? store_change_drop(txn, k, klen, old) : err;
    }
    err = store_change_log(txn, k, klen, old, &seq);
    return err == MESH_OK ? s_item_write(txn, k, klen, versions, count, seq) : err;
}

mesh_err_t
store_item_add(store_txn_t *txn, uint32_t cid, const store_key_t *key, const store_version_t *v)
{
    uint8_t k[S_ITEM_KEY_MAX];
    size_t klen = s_item_key(cid, key, k);
    uint8_t *p = NULL, one[S_ONE_MAX];
    uint64_t seq = 0, next = 0;
    size_t n = 0;
    mesh_err_t err = store_change_peek(txn, &next); /* the sequence store_change_log gives */
    if (err == MESH_OK) {
        n = s_one_encode(one, v->oid, v->seq, next);
        err = env_reserve_new(txn, ENV_ITEMS, k, klen, n, &p);
    }
    if (err != MESH_OK) {
        return err;
    }
    memcpy(p, one, n);
    err = store_change_log(txn, k, klen, 0, &seq); /* the change log, same transaction */
    if (err == MESH_OK && seq != next) {
        env_seterr(env_store(txn), "the change log's counter moved under a write");
        err = MESH_ECORRUPT;
    }
    return err;
}

#define S_LOG_BATCH 512u /* item records given a sequence per pass of store_items_log */

mesh_err_t
store_items_log(store_txn_t *txn)
{
    /* Key by key, in passes of S_LOG_BATCH keys copied out (a cursor's records do not
     * outlive the writes of the pass), each record rewritten with its sequence. */
    uint8_t *keys = malloc((size_t)S_LOG_BATCH * S_ITEM_KEY_MAX);
    size_t *lens = malloc(S_LOG_BATCH * sizeof *lens);
    store_version_t *refs = malloc(STORE_SIBLINGS_MAX * sizeof *refs);
    uint8_t start[S_ITEM_KEY_MAX];
    size_t start_len = 0, n = S_LOG_BATCH;
    mesh_err_t err = keys && lens && refs ? MESH_OK : MESH_ENOMEM;
    while (err == MESH_OK && n == S_LOG_BATCH) {
        store_cursor_t *cur = NULL;
        n = 0;
        err = env_cursor_open(txn, ENV_ITEMS, start, start_len, 0, &cur);
        while (err == MESH_OK && n < S_LOG_BATCH) {
            const uint8_t *rk = NULL, *rv = NULL;
            size_t rklen = 0, rvlen = 0;
            err = env_cursor_next(cur, &rk, &rklen, &rv, &rvlen);
            if (err == MESH_OK && rklen <= S_ITEM_KEY_MAX &&
                !(rklen == start_len && memcmp(rk, start, rklen) == 0)) {
                memcpy(keys + n * S_ITEM_KEY_MAX, rk, rklen);
                lens[n++] = rklen;
            }
        }
        store_cursor_close(cur);
        err = err == MESH_ENOTFOUND ? MESH_OK : err;
        for (size_t i = 0; err == MESH_OK && i < n; i++) {
            const uint8_t *k = keys + i * S_ITEM_KEY_MAX, *v = NULL;
            size_t vlen = 0;
            uint64_t seq = 0;
            s_rec_t rec = {0};
            err = env_get(txn, ENV_ITEMS, k, lens[i], &v, &vlen);
            if (err == MESH_OK && !s_rec_parse(v, vlen, &rec)) {
                env_seterr(env_store(txn), "item record is malformed");
                err = MESH_ECORRUPT;
            }
            for (size_t j = 0; err == MESH_OK && j < rec.count; j++) {
                s_rec_ref(&rec, j, &refs[j].oid, &refs[j].seq);
            }
            if (err == MESH_OK) {
                err = store_change_log(txn, k, lens[i], rec.change, &seq);
            }
            if (err == MESH_OK) {
                err = s_item_write(txn, k, lens[i], refs, rec.count, seq);
            }
        }
        if (n) {
            start_len = lens[n - 1];
            memcpy(start, keys + (n - 1) * S_ITEM_KEY_MAX, start_len);
        }
    }
    free(keys);
    free(lens);
    free(refs);
    return err;
}

mesh_err_t
store_items_open(store_txn_t *txn, uint32_t cid, const uint8_t *prefix, size_t prefix_len,
                 store_cursor_t **out)
{
    uint8_t start[4 + STORE_KEY_INLINE_MAX];
    size_t inline_len = prefix_len < STORE_KEY_INLINE_MAX ? prefix_len : STORE_KEY_INLINE_MAX;
    env_be32(start, cid);
    if (inline_len) {
        memcpy(start + 4, prefix, inline_len);
    }
    mesh_err_t err = env_cursor_open(txn, ENV_ITEMS, start, 4 + inline_len, 4 + inline_len, out);
    if (err == MESH_OK) {
        env_cursor_set_filter(*out, prefix, prefix_len);
    }
    return err;
}

mesh_err_t
store_items_next(store_cursor_t *cur, store_item_t *item)
{
    const uint8_t *k = NULL, *v = NULL;
    size_t klen = 0, vlen = 0, plen = 0;
    const uint8_t *prefix = env_cursor_filter(cur, &plen);
    for (;;) {
        mesh_err_t err = env_cursor_next(cur, &k, &klen, &v, &vlen);
        if (err != MESH_OK) {
            return err;
        }
        err = s_item_load(env_cursor_txn(cur), k, klen, v, vlen, item);
        if (err != MESH_OK) {
            return err;
        }
        /* A prefix longer than the inline part is matched on the full key. */
        if (plen <= STORE_KEY_INLINE_MAX ||
            (item->key_len >= plen && memcmp(item->key, prefix, plen) == 0)) {
            return MESH_OK;
        }
    }
}

mesh_err_t
store_refs_open(store_txn_t *txn, uint32_t cid, store_cursor_t **out)
{
    uint8_t start[4];
    env_be32(start, cid);
    return env_cursor_open(txn, ENV_ITEMS, start, 4, 4, out);
}

mesh_err_t
store_refs_next(store_cursor_t *cur, const uint8_t **skey, size_t *skey_len, const uint8_t **refs,
                size_t *count)
{
    const uint8_t *k = NULL, *v = NULL;
    size_t klen = 0, vlen = 0;
    mesh_err_t err = env_cursor_next(cur, &k, &klen, &v, &vlen);
    if (err != MESH_OK) {
        return err;
    }
    s_rec_t rec;
    if (klen <= 4 || !s_rec_parse(v, vlen, &rec)) {
        env_seterr(env_store(env_cursor_txn(cur)), "item record is malformed");
        return MESH_ECORRUPT;
    }
    *skey = k + 4;
    *skey_len = klen - 4;
    if (rec.refs) {
        *refs = rec.refs;
    } else { /* one version: its ref in the fixed layout, in the cursor's scratch */
        uint8_t *one = env_cursor_keybuf(cur);
        env_le32(one, rec.oid);
        env_le64(one + 4, rec.seq);
        *refs = one;
    }
    *count = rec.count;
    return MESH_OK;
}

void
store_ref_get(const uint8_t *refs, size_t i, uint32_t *oid, uint64_t *seq)
{
    *oid = env_get_le32(refs + i * S_REF_LEN);
    *seq = env_get_le64(refs + i * S_REF_LEN + 4);
}

mesh_err_t
store_item_get_stored(store_txn_t *txn, uint32_t cid, const uint8_t *skey, size_t skey_len,
                      store_item_t *item)
{
    uint8_t k[S_ITEM_KEY_MAX];
    const uint8_t *v = NULL;
    size_t vlen = 0;
    item->count = 0;
    if (skey_len == 0 || skey_len > S_ITEM_KEY_MAX - 4) {
        return MESH_ENOTFOUND;
    }
    env_be32(k, cid);
    memcpy(k + 4, skey, skey_len);
    mesh_err_t err = env_get(txn, ENV_ITEMS, k, 4 + skey_len, &v, &vlen);
    return err == MESH_OK ? s_item_load(txn, k, 4 + skey_len, v, vlen, item) : err;
}

/* ---- the dots database: one version record per live dot (layout above) ---- */

mesh_err_t
store_dot_put(store_txn_t *txn, uint32_t cid, const store_key_t *key, const store_version_t *v)
{
    uint8_t k[16];
    s_dot_key(k, cid, v->oid, v->seq);
    if (v->proof_len > 0xffff) {
        env_seterr(env_store(txn), "a proof of %u bytes", (unsigned)v->proof_len);
        return MESH_ETOOBIG;
    }
    /* the key's bytes where the metadata holds them, if it does (§3.2: right after the seq) */
    size_t key_at = S_KEY_AT_MAX + 1;
    for (size_t at = 0; key->len > 0 && key->len <= 0xffff && at <= S_KEY_AT_MAX &&
                        at + key->len <= v->meta_len && key_at > S_KEY_AT_MAX;
         at++) {
        if (v->meta[at] == key->bytes[0] && memcmp(v->meta + at, key->bytes, key->len) == 0) {
            key_at = at;
        }
    }
    size_t key_bytes = key_at <= S_KEY_AT_MAX ? 0 : key->len;
    size_t total = S_VERSION_FIXED + key_bytes + v->meta_len + v->value_len + v->proof_len;
    uint8_t *p = NULL;
    /* The dots of an origin come in seq order: most go at the tree's end. */
    mesh_err_t err = env_reserve_last(txn, ENV_DOTS, k, sizeof k, total, &p);
    if (err != MESH_OK) {
        return err;
    }
    env_le32(p, key_bytes ? (uint32_t)key->len
                          : S_KEY_IN_META | (uint32_t)key_at << 16 | (uint32_t)key->len);
    p += 4;
    if (key_bytes) {
        memcpy(p, key->bytes, key_bytes);
    }
    p += key_bytes;
    env_le64(p, v->hlc);
    p[8] = v->kind;
    env_le32(p + 9, v->meta_len);
    p += 13;
    memcpy(p, v->meta, v->meta_len);
    p += v->meta_len;
    env_le32(p, v->value_len);
    p += 4;
    if (v->value_len) {
        memcpy(p, v->value, v->value_len);
    }
    p += v->value_len;
    p[0] = (uint8_t)v->proof_len;
    p[1] = (uint8_t)(v->proof_len >> 8);
    if (v->proof_len) {
        memcpy(p + 2, v->proof, v->proof_len);
    }
    return MESH_OK;
}

mesh_err_t
store_dot_del(store_txn_t *txn, uint32_t cid, uint32_t oid, uint64_t seq)
{
    uint8_t k[16];
    s_dot_key(k, cid, oid, seq);
    return env_del(txn, ENV_DOTS, k, sizeof k);
}

mesh_err_t
store_dot_count_above(store_txn_t *txn, uint32_t cid, uint32_t oid, uint64_t seq, uint64_t *count)
{
    uint8_t k[16];
    store_cursor_t *cur = NULL;
    const uint8_t *rk = NULL, *v = NULL;
    size_t rklen = 0, vlen = 0;
    *count = 0;
    if (seq == UINT64_MAX) {
        return MESH_OK;
    }
    s_dot_key(k, cid, oid, seq + 1);
    mesh_err_t err = env_cursor_open(txn, ENV_DOTS, k, sizeof k, 8, &cur);
    while (err == MESH_OK && (err = env_cursor_next(cur, &rk, &rklen, &v, &vlen)) == MESH_OK) {
        (*count)++;
    }
    store_cursor_close(cur);
    return err == MESH_ENOTFOUND ? MESH_OK : err;
}

/* ---- sets: cid(be32) oid(be32) first_seq(be64) ->
 *      header_len le32, header, sig(64), count le32, leaves(count * 32) ---- */

mesh_err_t
store_set_put(store_txn_t *txn, uint32_t cid, const store_set_t *set)
{
    uint8_t k[16], *p = NULL;
    s_dot_key(k, cid, set->oid, set->first_seq);
    size_t len = 4 + set->header_len + 64 + 4 + 32 * (size_t)set->count;
    mesh_err_t err = env_reserve_last(txn, ENV_SETS, k, sizeof k, len, &p);
    if (err != MESH_OK) {
        return err;
    }
    env_le32(p, set->header_len);
    memcpy(p + 4, set->header, set->header_len);
    p += 4 + set->header_len;
    memcpy(p, set->sig, 64);
    env_le32(p + 64, set->count);
    if (set->count) {
        memcpy(p + 68, set->leaves, 32 * (size_t)set->count);
    }
    return MESH_OK;
}

static mesh_err_t
s_set_parse(store_t *st, const uint8_t *k, const uint8_t *p, size_t len, store_set_t *set)
{
    set->oid = env_get_be32(k + 4);
    set->first_seq = env_get_be64(k + 8);
    if (len < 72) {
        goto bad;
    }
    set->header_len = env_get_le32(p);
    if (len < 72 + (size_t)set->header_len) {
        goto bad;
    }
    set->header = p + 4;
    set->sig = p + 4 + set->header_len;
    set->count = env_get_le32(set->sig + 64);
    set->leaves = set->sig + 68;
    if (len != 72 + (size_t)set->header_len + 32 * (size_t)set->count) {
        goto bad;
    }
    return MESH_OK;
bad:
    env_seterr(st, "set record is malformed");
    return MESH_ECORRUPT;
}

mesh_err_t
store_set_get(store_txn_t *txn, uint32_t cid, uint32_t oid, uint64_t first_seq, store_set_t *set)
{
    uint8_t k[16];
    const uint8_t *v = NULL;
    size_t vlen = 0;
    s_dot_key(k, cid, oid, first_seq);
    mesh_err_t err = env_get(txn, ENV_SETS, k, sizeof k, &v, &vlen);
    if (err != MESH_OK) {
        return err;
    }
    return s_set_parse(env_store(txn), k, v, vlen, set);
}

mesh_err_t
store_sets_open(store_txn_t *txn, uint32_t cid, store_cursor_t **out)
{
    uint8_t k[4];
    env_be32(k, cid);
    return env_cursor_open(txn, ENV_SETS, k, sizeof k, sizeof k, out);
}

mesh_err_t
store_sets_next(store_cursor_t *cur, store_set_t *set)
{
    const uint8_t *k = NULL, *v = NULL;
    size_t klen = 0, vlen = 0;
    mesh_err_t err = env_cursor_next(cur, &k, &klen, &v, &vlen);
    if (err != MESH_OK) {
        return err;
    }
    if (klen != 16) {
        return MESH_ECORRUPT;
    }
    return s_set_parse(env_store(env_cursor_txn(cur)), k, v, vlen, set);
}

/* ---- lookups and scans for applying and exporting ---- */

mesh_err_t
store_set_find(store_txn_t *txn, uint32_t cid, uint32_t oid, uint64_t seq, store_set_t *set)
{
    uint8_t k[16];
    const uint8_t *rk = NULL, *v = NULL;
    size_t rklen = 0, vlen = 0;
    s_dot_key(k, cid, oid, seq);
    mesh_err_t err = env_seek_le(txn, ENV_SETS, k, sizeof k, 8, &rk, &rklen, &v, &vlen);
    if (err == MESH_OK && rklen != 16) {
        err = MESH_ECORRUPT;
    }
    return err == MESH_OK ? s_set_parse(env_store(txn), rk, v, vlen, set) : err;
}

mesh_err_t
store_set_del(store_txn_t *txn, uint32_t cid, uint32_t oid, uint64_t first_seq)
{
    uint8_t k[16];
    s_dot_key(k, cid, oid, first_seq);
    return env_del(txn, ENV_SETS, k, sizeof k);
}

/* Copy record k of db to the same key with oid new_oid, then remove it (the record's bytes
 * do not name their oid). The bytes are copied out first: the write may move them. */
static mesh_err_t
s_record_move(store_txn_t *txn, env_db_t db, uint32_t cid, uint32_t oid, uint64_t seq,
              uint32_t new_oid, uint8_t **copy, size_t *copy_len)
{
    uint8_t k[16], nk[16];
    const uint8_t *v = NULL;
    size_t vlen = 0;
    *copy = NULL;
    *copy_len = 0;
    s_dot_key(k, cid, oid, seq);
    s_dot_key(nk, cid, new_oid, seq);
    mesh_err_t err = env_get(txn, db, k, sizeof k, &v, &vlen);
    if (err != MESH_OK) {
        return err;
    }
    uint8_t *b = malloc(vlen ? vlen : 1);
    if (!b) {
        return MESH_ENOMEM;
    }
    memcpy(b, v, vlen);
    err = env_put(txn, db, nk, sizeof nk, b, vlen);
    if (err == MESH_OK) {
        err = env_del(txn, db, k, sizeof k);
    }
    if (err != MESH_OK) {
        free(b);
        return err;
    }
    *copy = b;
    *copy_len = vlen;
    return MESH_OK;
}

mesh_err_t
store_dot_move(store_txn_t *txn, uint32_t cid, uint32_t oid, uint64_t seq, uint32_t new_oid)
{
    uint8_t *b = NULL;
    size_t len = 0;
    mesh_err_t err = s_record_move(txn, ENV_DOTS, cid, oid, seq, new_oid, &b, &len);
    free(b);
    return err;
}

mesh_err_t
store_set_move(store_txn_t *txn, uint32_t cid, uint32_t oid, uint64_t first_seq, uint32_t new_oid)
{
    uint8_t *b = NULL;
    size_t len = 0;
    mesh_err_t err = s_record_move(txn, ENV_SETS, cid, oid, first_seq, new_oid, &b, &len);
    free(b);
    return err;
}

mesh_err_t
store_dots_open(store_txn_t *txn, uint32_t cid, uint32_t oid, uint64_t from_seq,
                store_cursor_t **out)
{
    uint8_t k[16];
    s_dot_key(k, cid, oid, from_seq);
    return env_cursor_open(txn, ENV_DOTS, k, sizeof k, 8, out);
}

mesh_err_t
store_dots_open_coll(store_txn_t *txn, uint32_t cid, store_cursor_t **out)
{
    uint8_t k[4];
    env_be32(k, cid);
    return env_cursor_open(txn, ENV_DOTS, k, sizeof k, sizeof k, out);
}

mesh_err_t
store_dots_next(store_cursor_t *cur, uint64_t *seq, store_item_t *item)
{
    const uint8_t *k = NULL, *v = NULL;
    size_t klen = 0, vlen = 0;
    mesh_err_t err = env_cursor_next(cur, &k, &klen, &v, &vlen);
    if (err != MESH_OK) {
        return err;
    }
    if (klen != 16) {
        return MESH_ECORRUPT;
    }
    *seq = env_get_be64(k + 8);
    item->count = 1;
    return s_version_parse(env_store(env_cursor_txn(cur)), k, v, vlen, &item->versions[0],
                           &item->key, &item->key_len);
}
