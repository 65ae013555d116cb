/* store/store.c: the LMDB environment of a node home and every record in it.
 * Owns: opening (format check, stale readers, incarnation), write transactions that grow a
 * full map and run again, and the byte layout of each database (docs/PROTOCOL.md §6).
 * Not here: what versions mean (core/), hashing keys (the caller hands the hash in).
 * Layer: store. Third-party: lmdb.h (only here). SPDX-License-Identifier: MIT */
#include "store.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>

#include <lmdb.h>

#define S_ERRMSG_MAX 256
#define S_MAP_MIN (16ull << 20) /* the smallest map tried when a large one cannot be mapped */

enum s_db {
    S_META,
    S_ORIGINS,
    S_COLLS,
    S_ITEMS,
    S_DOTS,
    S_VECTORS,
    S_SETS,
    S_PEERS,
    S_HELD,
    S_NDB
};
static const char *const s_db_names[S_NDB] = {"meta",    "origins", "colls", "items", "dots",
                                              "vectors", "sets",    "peers", "held"};

struct store {
    MDB_env *env;
    MDB_dbi dbi[S_NDB];
    uint64_t map_size;
    uint64_t incarnation;
    bool incarnation_new;
    bool map_full; /* the current write hit MDB_MAP_FULL */
    char path[4096];
    char errmsg[S_ERRMSG_MAX];
};

struct store_txn {
    store_t *st;
    MDB_txn *txn;
};

struct store_cursor {
    store_txn_t *txn;
    MDB_cursor *cur;
    uint8_t prefix[4 + STORE_KEY_INLINE_MAX]; /* cid + key prefix bytes that must match */
    size_t prefix_len;
    const uint8_t *key_prefix; /* the full requested key prefix, for long keys */
    size_t key_prefix_len;
    size_t match_len; /* bytes of prefix every key must share (prefix_len if 0) */
    bool started;
    enum s_db db;
    uint8_t keybuf[STORE_KEY_INLINE_MAX]; /* an inline key copied out for the caller */
};

/* ---- little-endian / big-endian helpers: integers are assembled from bytes ---- */

static void
s_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static void
s_be64(uint8_t *p, uint64_t v)
{
    s_be32(p, (uint32_t)(v >> 32));
    s_be32(p + 4, (uint32_t)v);
}

static uint32_t
s_get_be32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static uint64_t
s_get_be64(const uint8_t *p)
{
    return ((uint64_t)s_get_be32(p) << 32) | s_get_be32(p + 4);
}

static void
s_le32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) {
        p[i] = (uint8_t)(v >> (8 * i));
    }
}

static void
s_le64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) {
        p[i] = (uint8_t)(v >> (8 * i));
    }
}

static uint32_t
s_get_le32(const uint8_t *p)
{
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--) {
        v = (v << 8) | p[i];
    }
    return v;
}

static uint64_t
s_get_le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) {
        v = (v << 8) | p[i];
    }
    return v;
}

/* ---- errors ---- */

static void
s_seterr(store_t *st, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
s_seterr(store_t *st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(st->errmsg, sizeof st->errmsg, fmt, ap);
    va_end(ap);
}

/* Map an LMDB or errno code to ours, recording the detail. */
static mesh_err_t
s_map(store_t *st, int rc, const char *what)
{
    if (rc == MDB_SUCCESS) {
        return MESH_OK;
    }
    s_seterr(st, "%s: %s", what, mdb_strerror(rc));
    if (rc == MDB_MAP_FULL) {
        st->map_full = true;
    }
    switch (rc) {
    case MDB_NOTFOUND:
        return MESH_ENOTFOUND;
    case ENOSPC:
    case EDQUOT:
        return MESH_ENOSPC;
    case ENOMEM:
        return MESH_ENOMEM;
    case MDB_CORRUPTED:
    case MDB_PAGE_NOTFOUND:
    case MDB_INVALID:
        return MESH_ECORRUPT;
    case MDB_VERSION_MISMATCH:
        return MESH_EFORMAT;
    case MDB_BAD_VALSIZE:
        return MESH_ETOOBIG;
    default:
        return MESH_EIO;
    }
}

const char *
store_errmsg(const store_t *st)
{
    return st ? st->errmsg : "";
}

uint64_t
store_incarnation(const store_t *st)
{
    return st->incarnation;
}

bool
store_incarnation_is_new(const store_t *st)
{
    return st->incarnation_new;
}

uint64_t
store_map_size(const store_t *st)
{
    return st->map_size;
}

/* ---- environment ---- */

/* The identity of the data file: a copy or a restored backup gets a new inode. */
static void
s_file_id(const store_t *st, uint8_t *out16)
{
    char file[4200];
    struct stat sb;
    memset(out16, 0, 16);
    snprintf(file, sizeof file, "%s/data.mdb", st->path);
    if (stat(file, &sb) == 0) {
        s_le64(out16, (uint64_t)sb.st_dev);
        s_le64(out16 + 8, (uint64_t)sb.st_ino);
    }
}

static uint64_t
s_random_u64(void)
{
    uint64_t v = 0;
    while (v == 0) {
        if (getrandom(&v, sizeof v, 0) != (ssize_t)sizeof v) {
            v = 0;
        }
    }
    return v;
}

/* Check the format and the file identity; runs in the open's first write transaction. */
static mesh_err_t
s_open_meta(store_txn_t *txn, void *ctx)
{
    store_t *st = ctx;
    uint64_t format = 0, inc = 0;
    const uint8_t *fid = NULL;
    size_t fid_len = 0;
    uint8_t now_fid[16];
    mesh_err_t err = store_meta_get_u64(txn, "format", &format);
    if (err == MESH_ENOTFOUND) {
        format = STORE_FORMAT;
        err = store_meta_put_u64(txn, "format", format);
    }
    if (err != MESH_OK) {
        return err;
    }
    if (format != STORE_FORMAT) {
        s_seterr(st, "store format %llu is not known to this version (it reads format %u)",
                 (unsigned long long)format, STORE_FORMAT);
        return MESH_EFORMAT;
    }
    s_file_id(st, now_fid);
    err = store_meta_get(txn, "file_id", &fid, &fid_len);
    if (err != MESH_OK && err != MESH_ENOTFOUND) {
        return err;
    }
    if (store_meta_get_u64(txn, "incarnation", &inc) == MESH_OK && err == MESH_OK &&
        fid_len == sizeof now_fid && memcmp(fid, now_fid, sizeof now_fid) == 0) {
        st->incarnation = inc;
        st->incarnation_new = false;
        return MESH_OK;
    }
    st->incarnation = s_random_u64();
    st->incarnation_new = true;
    err = store_meta_put_u64(txn, "incarnation", st->incarnation);
    if (err == MESH_OK) {
        err = store_meta_put(txn, "file_id", now_fid, sizeof now_fid);
    }
    return err;
}

/* Open the databases once; the handles stay valid for the environment's life. */
static mesh_err_t
s_open_dbs(store_t *st)
{
    MDB_txn *txn = NULL;
    int rc = mdb_txn_begin(st->env, NULL, 0, &txn);
    for (int i = 0; rc == MDB_SUCCESS && i < S_NDB; i++) {
        rc = mdb_dbi_open(txn, s_db_names[i], MDB_CREATE, &st->dbi[i]);
    }
    if (rc == MDB_SUCCESS) {
        rc = mdb_txn_commit(txn);
        txn = NULL;
    }
    if (txn) {
        mdb_txn_abort(txn);
    }
    return s_map(st, rc, "open databases");
}

/* One attempt at creating and opening the environment with the current map size. */
static int
s_env_try(store_t *st)
{
    int rc = mdb_env_create(&st->env);
    if (rc == MDB_SUCCESS) {
        rc = mdb_env_set_maxdbs(st->env, S_NDB);
    }
    if (rc == MDB_SUCCESS) {
        rc = mdb_env_set_mapsize(st->env, (size_t)st->map_size);
    }
    if (rc == MDB_SUCCESS) {
        rc = mdb_env_set_maxreaders(st->env, 510);
    }
    if (rc == MDB_SUCCESS) {
        /* Durable defaults: no NOSYNC, NOMETASYNC or WRITEMAP. NOTLS lets read
         * transactions live on any thread. */
        rc = mdb_env_open(st->env, st->path, MDB_NOTLS, 0600);
    }
    if (rc != MDB_SUCCESS && st->env) {
        mdb_env_close(st->env); /* a failed open leaves a handle good only for closing */
        st->env = NULL;
    }
    return rc;
}

static mesh_err_t
s_env_open(store_t *st)
{
    int rc = s_env_try(st);
    /* Where the address space cannot hold the map (a ulimit, valgrind), use a smaller
     * one: it grows by itself when it fills. */
    while ((rc == ENOMEM || rc == EINVAL) && st->map_size > S_MAP_MIN) {
        st->map_size /= 2;
        rc = s_env_try(st);
    }
    if (rc != MDB_SUCCESS) {
        return s_map(st, rc, "open store");
    }
    int dead = 0;
    (void)mdb_reader_check(st->env, &dead);
    return s_open_dbs(st);
}

mesh_err_t
store_open(const char *dir, uint64_t map_size, store_t **out, char *errmsg, size_t errmsg_len)
{
    if (!dir || !out) {
        return MESH_EINVAL;
    }
    *out = NULL;
    store_t *st = calloc(1, sizeof *st);
    if (!st) {
        return MESH_ENOMEM;
    }
    mesh_err_t err = MESH_OK;
    if (snprintf(st->path, sizeof st->path, "%s", dir) >= (int)sizeof st->path) {
        err = MESH_EINVAL;
        s_seterr(st, "path too long");
        goto out;
    }
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        s_seterr(st, "create %s: %s", dir, strerror(errno));
        err = errno == ENOSPC ? MESH_ENOSPC : MESH_EIO;
        goto out;
    }
    st->map_size = map_size ? map_size : STORE_MAP_DEFAULT;
    err = s_env_open(st);
    if (err == MESH_OK) {
        err = store_write(st, s_open_meta, st);
    }
out:
    if (err != MESH_OK) {
        if (errmsg && errmsg_len) {
            snprintf(errmsg, errmsg_len, "%s", st->errmsg);
        }
        store_close(st);
        return err;
    }
    *out = st;
    return MESH_OK;
}

void
store_close(store_t *st)
{
    if (!st) {
        return;
    }
    if (st->env) {
        mdb_env_close(st->env);
    }
    free(st);
}

/* ---- transactions ---- */

/* Begin a transaction, adopting a map that another process grew. */
static int
s_txn_begin(store_t *st, unsigned flags, MDB_txn **txn)
{
    int rc = mdb_txn_begin(st->env, NULL, flags, txn);
    if (rc == MDB_MAP_RESIZED) {
        rc = mdb_env_set_mapsize(st->env, 0);
        if (rc == MDB_SUCCESS) {
            MDB_envinfo info;
            mdb_env_info(st->env, &info);
            st->map_size = info.me_mapsize;
            rc = mdb_txn_begin(st->env, NULL, flags, txn);
        }
    }
    return rc;
}

/* After MDB_PANIC the environment must be reopened before it can be used again. */
static void
s_recover_panic(store_t *st)
{
    mdb_env_close(st->env);
    st->env = NULL;
    if (s_env_open(st) != MESH_OK) {
        st->env = NULL;
    }
}

static mesh_err_t
s_grow(store_t *st)
{
    uint64_t size = st->map_size * 2;
    int rc = mdb_env_set_mapsize(st->env, (size_t)size);
    if (rc != MDB_SUCCESS) {
        return s_map(st, rc, "grow map");
    }
    st->map_size = size;
    return MESH_OK;
}

mesh_err_t
store_write(store_t *st, store_write_fn fn, void *ctx)
{
    if (!st->env) {
        s_seterr(st, "store is closed after a fatal error");
        return MESH_EIO;
    }
    for (int attempt = 0; attempt < 64; attempt++) {
        store_txn_t txn = {st, NULL};
        int rc = s_txn_begin(st, 0, &txn.txn);
        if (rc != MDB_SUCCESS) {
            return s_map(st, rc, "begin write");
        }
        st->errmsg[0] = '\0';
        st->map_full = false;
        mesh_err_t err = fn(&txn, ctx);
        if (err == MESH_OK) {
            rc = mdb_txn_commit(txn.txn);
            txn.txn = NULL;
            if (rc == MDB_SUCCESS) {
                return MESH_OK;
            }
            if (rc != MDB_MAP_FULL) {
                mesh_err_t cerr = s_map(st, rc, "commit");
                if (rc == MDB_PANIC) {
                    s_recover_panic(st);
                }
                return cerr;
            }
        } else {
            mdb_txn_abort(txn.txn);
            txn.txn = NULL;
            if (!st->map_full) {
                return err;
            }
        }
        err = s_grow(st);
        if (err != MESH_OK) {
            return err;
        }
    }
    s_seterr(st, "map kept filling after growing");
    return MESH_EIO;
}

mesh_err_t
store_read_begin(store_t *st, store_txn_t **out)
{
    *out = NULL;
    if (!st->env) {
        s_seterr(st, "store is closed after a fatal error");
        return MESH_EIO;
    }
    store_txn_t *txn = calloc(1, sizeof *txn);
    if (!txn) {
        return MESH_ENOMEM;
    }
    txn->st = st;
    int rc = s_txn_begin(st, MDB_RDONLY, &txn->txn);
    if (rc != MDB_SUCCESS) {
        free(txn);
        return s_map(st, rc, "begin read");
    }
    *out = txn;
    return MESH_OK;
}

void
store_read_end(store_txn_t *txn)
{
    if (!txn) {
        return;
    }
    mdb_txn_abort(txn->txn);
    free(txn);
}

/* ---- raw get / put ---- */

static mesh_err_t
s_get(store_txn_t *txn, enum s_db db, const void *k, size_t klen, const uint8_t **v,
      size_t *vlen)
{
    MDB_val key = {klen, (void *)k}, val;
    int rc = mdb_get(txn->txn, txn->st->dbi[db], &key, &val);
    if (rc == MDB_NOTFOUND) {
        return MESH_ENOTFOUND;
    }
    if (rc != MDB_SUCCESS) {
        return s_map(txn->st, rc, s_db_names[db]);
    }
    *v = val.mv_data;
    *vlen = val.mv_size;
    return MESH_OK;
}

static mesh_err_t
s_put(store_txn_t *txn, enum s_db db, const void *k, size_t klen, const void *v, size_t vlen)
{
    MDB_val key = {klen, (void *)k}, val = {vlen, (void *)v};
    return s_map(txn->st, mdb_put(txn->txn, txn->st->dbi[db], &key, &val, 0), s_db_names[db]);
}

/* Reserve vlen bytes for a value and return where to write them. */
static mesh_err_t
s_reserve(store_txn_t *txn, enum s_db db, const void *k, size_t klen, size_t vlen, uint8_t **v)
{
    MDB_val key = {klen, (void *)k}, val = {vlen, NULL};
    int rc = mdb_put(txn->txn, txn->st->dbi[db], &key, &val, MDB_RESERVE);
    if (rc != MDB_SUCCESS) {
        return s_map(txn->st, rc, s_db_names[db]);
    }
    *v = val.mv_data;
    return MESH_OK;
}

static mesh_err_t
s_del(store_txn_t *txn, enum s_db db, const void *k, size_t klen)
{
    MDB_val key = {klen, (void *)k};
    int rc = mdb_del(txn->txn, txn->st->dbi[db], &key, NULL);
    if (rc == MDB_NOTFOUND) {
        return MESH_OK;
    }
    return s_map(txn->st, rc, s_db_names[db]);
}

/* ---- metadata ---- */

mesh_err_t
store_meta_get(store_txn_t *txn, const char *name, const uint8_t **val, size_t *len)
{
    return s_get(txn, S_META, name, strlen(name), val, len);
}

mesh_err_t
store_meta_put(store_txn_t *txn, const char *name, const void *val, size_t len)
{
    return s_put(txn, S_META, name, strlen(name), val, len);
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
        s_seterr(txn->st, "meta %s has %zu bytes, not 8", name, len);
        return MESH_ECORRUPT;
    }
    *val = s_get_le64(v);
    return MESH_OK;
}

mesh_err_t
store_meta_put_u64(store_txn_t *txn, const char *name, uint64_t val)
{
    uint8_t b[8];
    s_le64(b, val);
    return store_meta_put(txn, name, b, sizeof b);
}

/* ---- origins: "f" device(32) inc(8) -> oid ; "r" oid(4) -> device inc ---- */

mesh_err_t
store_origin_id(store_txn_t *txn, const uint8_t *device, uint64_t incarnation, bool create,
                uint32_t *oid)
{
    uint8_t k[41];
    const uint8_t *v = NULL;
    size_t vlen = 0;
    k[0] = 'f';
    memcpy(k + 1, device, 32);
    s_be64(k + 33, incarnation);
    mesh_err_t err = s_get(txn, S_ORIGINS, k, sizeof k, &v, &vlen);
    if (err == MESH_OK) {
        if (vlen != 4) {
            return MESH_ECORRUPT;
        }
        *oid = s_get_le32(v);
        return MESH_OK;
    }
    if (err != MESH_ENOTFOUND || !create) {
        return err;
    }
    uint64_t next = 0;
    err = store_meta_get_u64(txn, "next_oid", &next);
    if (err != MESH_OK && err != MESH_ENOTFOUND) {
        return err;
    }
    next = next ? next : 1;
    uint8_t ov[4], rk[5], rv[40];
    s_le32(ov, (uint32_t)next);
    rk[0] = 'r';
    s_be32(rk + 1, (uint32_t)next);
    memcpy(rv, device, 32);
    s_le64(rv + 32, incarnation);
    err = s_put(txn, S_ORIGINS, k, sizeof k, ov, sizeof ov);
    if (err == MESH_OK) {
        err = s_put(txn, S_ORIGINS, rk, sizeof rk, rv, sizeof rv);
    }
    if (err == MESH_OK) {
        err = store_meta_put_u64(txn, "next_oid", next + 1);
    }
    if (err == MESH_OK) {
        *oid = (uint32_t)next;
    }
    return err;
}

mesh_err_t
store_origin_get(store_txn_t *txn, uint32_t oid, uint8_t *device, uint64_t *incarnation)
{
    uint8_t rk[5];
    const uint8_t *v = NULL;
    size_t vlen = 0;
    rk[0] = 'r';
    s_be32(rk + 1, oid);
    mesh_err_t err = s_get(txn, S_ORIGINS, rk, sizeof rk, &v, &vlen);
    if (err != MESH_OK) {
        return err;
    }
    if (vlen != 40) {
        return MESH_ECORRUPT;
    }
    memcpy(device, v, 32);
    *incarnation = s_get_le64(v + 32);
    return MESH_OK;
}

/* ---- collections: "n" name -> cid ; "s" cid(4) -> stats ---- */

mesh_err_t
store_coll_id(store_txn_t *txn, const char *name, bool create, uint32_t *cid)
{
    uint8_t k[1 + MESH_COLL_MAX];
    size_t nlen = strlen(name);
    const uint8_t *v = NULL;
    size_t vlen = 0;
    if (nlen == 0 || nlen > MESH_COLL_MAX) {
        return MESH_EINVAL;
    }
    k[0] = 'n';
    memcpy(k + 1, name, nlen);
    mesh_err_t err = s_get(txn, S_COLLS, k, 1 + nlen, &v, &vlen);
    if (err == MESH_OK) {
        if (vlen != 4) {
            return MESH_ECORRUPT;
        }
        *cid = s_get_le32(v);
        return MESH_OK;
    }
    if (err != MESH_ENOTFOUND || !create) {
        return err;
    }
    uint64_t next = 0;
    err = store_meta_get_u64(txn, "next_cid", &next);
    if (err != MESH_OK && err != MESH_ENOTFOUND) {
        return err;
    }
    next = next ? next : 1;
    uint8_t cv[4];
    s_le32(cv, (uint32_t)next);
    err = s_put(txn, S_COLLS, k, 1 + nlen, cv, sizeof cv);
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
    s_be32(k + 1, cid);
    mesh_err_t err = s_get(txn, S_COLLS, k, sizeof k, &v, &vlen);
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
    stats->keys = s_get_le64(v + 32);
    stats->versions = s_get_le64(v + 40);
    return MESH_OK;
}

mesh_err_t
store_coll_stats_put(store_txn_t *txn, uint32_t cid, const store_coll_stats_t *stats)
{
    uint8_t k[5], v[48];
    k[0] = 's';
    s_be32(k + 1, cid);
    memcpy(v, stats->digest, 32);
    s_le64(v + 32, stats->keys);
    s_le64(v + 40, stats->versions);
    return s_put(txn, S_COLLS, k, sizeof k, v, sizeof v);
}

/* ---- items ----
 * key: cid(be32) || key bytes                         (len <= STORE_KEY_INLINE_MAX)
 *      cid(be32) || first 400 key bytes || hash(32)   (longer keys; a length no inline
 *                                                      key can have)
 * value: full key length(le32) || full key (long keys only) || count(le16) ||
 *        count * [oid le32, seq le64, hlc le64, kind u8, meta_len le32, meta,
 *                 value_len le32, value] */

#define S_VERSION_FIXED (4 + 8 + 8 + 1 + 4 + 4 + 2)

static size_t
s_item_key(uint32_t cid, const store_key_t *key, uint8_t *out)
{
    s_be32(out, cid);
    if (key->len <= STORE_KEY_INLINE_MAX) {
        memcpy(out + 4, key->bytes, key->len);
        return 4 + key->len;
    }
    memcpy(out + 4, key->bytes, STORE_KEY_INLINE_MAX);
    memcpy(out + 4 + STORE_KEY_INLINE_MAX, key->hash, STORE_KEY_HASH_LEN);
    return 4 + STORE_KEY_INLINE_MAX + STORE_KEY_HASH_LEN;
}

#define S_ITEM_KEY_MAX (4 + STORE_KEY_INLINE_MAX + STORE_KEY_HASH_LEN)

/* Parse an item record; lkey is its LMDB key (for the bytes of inline keys). */
static mesh_err_t
s_item_parse(store_t *st, const uint8_t *lkey, size_t lkey_len, const uint8_t *p, size_t len,
             store_item_t *item)
{
    const uint8_t *end = p + len;
    if (len < 6) {
        goto bad;
    }
    uint32_t klen = s_get_le32(p);
    p += 4;
    if (klen > STORE_KEY_INLINE_MAX) {
        if ((size_t)(end - p) < klen) {
            goto bad;
        }
        item->key = p;
        p += klen;
    } else {
        if (lkey_len != 4 + (size_t)klen) {
            goto bad;
        }
        item->key = lkey + 4;
    }
    item->key_len = klen;
    if (end - p < 2) {
        goto bad;
    }
    item->count = (size_t)p[0] | ((size_t)p[1] << 8);
    p += 2;
    if (item->count > STORE_SIBLINGS_MAX) {
        goto bad;
    }
    for (size_t i = 0; i < item->count; i++) {
        store_version_t *v = &item->versions[i];
        if (end - p < S_VERSION_FIXED) {
            goto bad;
        }
        v->oid = s_get_le32(p);
        v->seq = s_get_le64(p + 4);
        v->hlc = s_get_le64(p + 12);
        v->kind = p[20];
        v->meta_len = s_get_le32(p + 21);
        p += 25;
        if ((size_t)(end - p) < (size_t)v->meta_len + 4) {
            goto bad;
        }
        v->meta = p;
        p += v->meta_len;
        v->value_len = s_get_le32(p);
        p += 4;
        if ((size_t)(end - p) < v->value_len) {
            goto bad;
        }
        v->value = p;
        p += v->value_len;
        if (end - p < 2) {
            goto bad;
        }
        v->proof_len = (uint32_t)p[0] | ((uint32_t)p[1] << 8);
        p += 2;
        if ((size_t)(end - p) < v->proof_len) {
            goto bad;
        }
        v->proof = p;
        p += v->proof_len;
    }
    if (p != end) {
        goto bad;
    }
    return MESH_OK;
bad:
    s_seterr(st, "item record is malformed");
    return MESH_ECORRUPT;
}

mesh_err_t
store_item_get(store_txn_t *txn, uint32_t cid, const store_key_t *key, store_item_t *item)
{
    uint8_t k[S_ITEM_KEY_MAX];
    size_t klen = s_item_key(cid, key, k);
    const uint8_t *v = NULL;
    size_t vlen = 0;
    item->count = 0;
    mesh_err_t err = s_get(txn, S_ITEMS, k, klen, &v, &vlen);
    if (err != MESH_OK) {
        return err;
    }
    MDB_val lk = {klen, k};
    err = s_item_parse(txn->st, lk.mv_data, lk.mv_size, v, vlen, item);
    if (err == MESH_OK && key->len > STORE_KEY_INLINE_MAX &&
        (item->key_len != key->len || memcmp(item->key, key->bytes, key->len) != 0)) {
        s_seterr(txn->st, "long key hash collision");
        return MESH_ECORRUPT;
    }
    if (err == MESH_OK && key->len <= STORE_KEY_INLINE_MAX) {
        item->key = key->bytes; /* k is on our stack: point at the caller's bytes */
    }
    return err;
}

mesh_err_t
store_item_put(store_txn_t *txn, uint32_t cid, const store_key_t *key,
               const store_version_t *versions, size_t count)
{
    uint8_t k[S_ITEM_KEY_MAX];
    size_t klen = s_item_key(cid, key, k);
    if (count == 0) {
        return s_del(txn, S_ITEMS, k, klen);
    }
    if (count > STORE_SIBLINGS_MAX) {
        s_seterr(txn->st, "more than %u versions of one key", STORE_SIBLINGS_MAX);
        return MESH_ETOOBIG;
    }
    size_t total = 4 + (key->len > STORE_KEY_INLINE_MAX ? key->len : 0) + 2;
    for (size_t i = 0; i < count; i++) {
        total += S_VERSION_FIXED + versions[i].meta_len + versions[i].value_len +
                 versions[i].proof_len;
        if (versions[i].proof_len > 0xffff) {
            return MESH_ETOOBIG;
        }
    }
    uint8_t *p = NULL;
    mesh_err_t err = s_reserve(txn, S_ITEMS, k, klen, total, &p);
    if (err != MESH_OK) {
        return err;
    }
    s_le32(p, (uint32_t)key->len);
    p += 4;
    if (key->len > STORE_KEY_INLINE_MAX) {
        memcpy(p, key->bytes, key->len);
        p += key->len;
    }
    p[0] = (uint8_t)count;
    p[1] = (uint8_t)(count >> 8);
    p += 2;
    for (size_t i = 0; i < count; i++) {
        const store_version_t *v = &versions[i];
        s_le32(p, v->oid);
        s_le64(p + 4, v->seq);
        s_le64(p + 12, v->hlc);
        p[20] = v->kind;
        s_le32(p + 21, v->meta_len);
        p += 25;
        memcpy(p, v->meta, v->meta_len);
        p += v->meta_len;
        s_le32(p, v->value_len);
        p += 4;
        if (v->value_len) {
            memcpy(p, v->value, v->value_len);
        }
        p += v->value_len;
        p[0] = (uint8_t)v->proof_len;
        p[1] = (uint8_t)(v->proof_len >> 8);
        p += 2;
        if (v->proof_len) {
            memcpy(p, v->proof, v->proof_len);
        }
        p += v->proof_len;
    }
    return MESH_OK;
}

mesh_err_t
store_items_open(store_txn_t *txn, uint32_t cid, const uint8_t *prefix, size_t prefix_len,
                 store_cursor_t **out)
{
    *out = NULL;
    store_cursor_t *cur = calloc(1, sizeof *cur);
    if (!cur) {
        return MESH_ENOMEM;
    }
    cur->txn = txn;
    cur->db = S_ITEMS;
    s_be32(cur->prefix, cid);
    size_t inline_len = prefix_len < STORE_KEY_INLINE_MAX ? prefix_len : STORE_KEY_INLINE_MAX;
    memcpy(cur->prefix + 4, prefix, inline_len);
    cur->prefix_len = 4 + inline_len;
    cur->key_prefix = prefix;
    cur->key_prefix_len = prefix_len;
    int rc = mdb_cursor_open(txn->txn, txn->st->dbi[S_ITEMS], &cur->cur);
    if (rc != MDB_SUCCESS) {
        free(cur);
        return s_map(txn->st, rc, "items cursor");
    }
    *out = cur;
    return MESH_OK;
}

/* Step the cursor: the first call positions at the prefix, later ones move on. MESH_OK
 * while the key starts with the cursor's prefix. */
static mesh_err_t
s_cursor_step(store_cursor_t *cur, MDB_val *k, MDB_val *v)
{
    int rc;
    if (!cur->started) {
        cur->started = true;
        k->mv_size = cur->prefix_len;
        k->mv_data = cur->prefix;
        /* LMDB refuses an empty key: an empty prefix starts at the first record. */
        rc = mdb_cursor_get(cur->cur, k, v, cur->prefix_len ? MDB_SET_RANGE : MDB_FIRST);
    } else {
        rc = mdb_cursor_get(cur->cur, k, v, MDB_NEXT);
    }
    if (rc == MDB_NOTFOUND) {
        return MESH_ENOTFOUND;
    }
    if (rc != MDB_SUCCESS) {
        return s_map(cur->txn->st, rc, "cursor");
    }
    size_t match = cur->match_len ? cur->match_len : cur->prefix_len;
    if (k->mv_size < match || memcmp(k->mv_data, cur->prefix, match) != 0) {
        return MESH_ENOTFOUND;
    }
    return MESH_OK;
}

mesh_err_t
store_items_next(store_cursor_t *cur, store_item_t *item)
{
    MDB_val k, v;
    for (;;) {
        mesh_err_t err = s_cursor_step(cur, &k, &v);
        if (err != MESH_OK) {
            return err;
        }
        err = s_item_parse(cur->txn->st, k.mv_data, k.mv_size, v.mv_data, v.mv_size, item);
        if (err != MESH_OK) {
            return err;
        }
        /* A prefix longer than the inline part is matched on the full key. */
        if (cur->key_prefix_len <= STORE_KEY_INLINE_MAX ||
            (item->key_len >= cur->key_prefix_len &&
             memcmp(item->key, cur->key_prefix, cur->key_prefix_len) == 0)) {
            return MESH_OK;
        }
    }
}

void
store_cursor_close(store_cursor_t *cur)
{
    if (!cur) {
        return;
    }
    mdb_cursor_close(cur->cur);
    free(cur);
}

/* ---- dot index: cid(be32) oid(be32) seq(be64) -> item key without cid ---- */

static void
s_dot_key(uint8_t *k, uint32_t cid, uint32_t oid, uint64_t seq)
{
    s_be32(k, cid);
    s_be32(k + 4, oid);
    s_be64(k + 8, seq);
}

mesh_err_t
store_dot_put(store_txn_t *txn, uint32_t cid, uint32_t oid, uint64_t seq, const store_key_t *key)
{
    uint8_t k[16], ik[S_ITEM_KEY_MAX];
    s_dot_key(k, cid, oid, seq);
    size_t iklen = s_item_key(cid, key, ik);
    return s_put(txn, S_DOTS, k, sizeof k, ik + 4, iklen - 4);
}

mesh_err_t
store_dot_del(store_txn_t *txn, uint32_t cid, uint32_t oid, uint64_t seq)
{
    uint8_t k[16];
    s_dot_key(k, cid, oid, seq);
    return s_del(txn, S_DOTS, k, sizeof k);
}

mesh_err_t
store_dot_count_above(store_txn_t *txn, uint32_t cid, uint32_t oid, uint64_t seq,
                      uint64_t *count)
{
    uint8_t k[16];
    MDB_cursor *c = NULL;
    MDB_val key, val;
    *count = 0;
    if (seq == UINT64_MAX) {
        return MESH_OK;
    }
    s_dot_key(k, cid, oid, seq + 1);
    int rc = mdb_cursor_open(txn->txn, txn->st->dbi[S_DOTS], &c);
    if (rc != MDB_SUCCESS) {
        return s_map(txn->st, rc, "dots cursor");
    }
    key.mv_size = sizeof k;
    key.mv_data = k;
    rc = mdb_cursor_get(c, &key, &val, MDB_SET_RANGE);
    while (rc == MDB_SUCCESS && key.mv_size == 16 && memcmp(key.mv_data, k, 8) == 0) {
        (*count)++;
        rc = mdb_cursor_get(c, &key, &val, MDB_NEXT);
    }
    mdb_cursor_close(c);
    if (rc != MDB_SUCCESS && rc != MDB_NOTFOUND) {
        return s_map(txn->st, rc, "dots scan");
    }
    return MESH_OK;
}

/* ---- vectors: cid(be32) oid(be32) -> base le64, extra count le32, extras le64... ---- */

mesh_err_t
store_vv_get(store_txn_t *txn, uint32_t cid, uint32_t oid, store_vv_t *vv)
{
    uint8_t k[8];
    const uint8_t *v = NULL;
    size_t vlen = 0;
    memset(vv, 0, sizeof *vv);
    s_be32(k, cid);
    s_be32(k + 4, oid);
    mesh_err_t err = s_get(txn, S_VECTORS, k, sizeof k, &v, &vlen);
    if (err == MESH_ENOTFOUND) {
        return MESH_OK;
    }
    if (err != MESH_OK) {
        return err;
    }
    if (vlen < 12) {
        return MESH_ECORRUPT;
    }
    vv->base = s_get_le64(v);
    vv->extra_count = s_get_le32(v + 8);
    if (vlen != 12 + 8 * vv->extra_count) {
        return MESH_ECORRUPT;
    }
    vv->extra_raw = v + 12;
    return MESH_OK;
}

uint64_t
store_vv_extra(const store_vv_t *vv, size_t i)
{
    return s_get_le64(vv->extra_raw + 8 * i);
}

mesh_err_t
store_vv_put(store_txn_t *txn, uint32_t cid, uint32_t oid, uint64_t base, const uint64_t *extra,
             size_t extra_count)
{
    uint8_t k[8], *p = NULL;
    if (extra_count > STORE_VV_EXTRA_MAX) {
        return MESH_ETOOBIG;
    }
    s_be32(k, cid);
    s_be32(k + 4, oid);
    mesh_err_t err = s_reserve(txn, S_VECTORS, k, sizeof k, 12 + 8 * extra_count, &p);
    if (err != MESH_OK) {
        return err;
    }
    s_le64(p, base);
    s_le32(p + 8, (uint32_t)extra_count);
    for (size_t i = 0; i < extra_count; i++) {
        s_le64(p + 12 + 8 * i, extra[i]);
    }
    return MESH_OK;
}

/* ---- sets: cid(be32) oid(be32) first_seq(be64) ->
 *      header_len le32, header, sig(64), count le32, leaves(count * 32) ---- */

mesh_err_t
store_set_put(store_txn_t *txn, uint32_t cid, const store_set_t *set)
{
    uint8_t k[16], *p = NULL;
    s_dot_key(k, cid, set->oid, set->first_seq);
    size_t len = 4 + set->header_len + 64 + 4 + 32 * (size_t)set->count;
    mesh_err_t err = s_reserve(txn, S_SETS, k, sizeof k, len, &p);
    if (err != MESH_OK) {
        return err;
    }
    s_le32(p, set->header_len);
    memcpy(p + 4, set->header, set->header_len);
    p += 4 + set->header_len;
    memcpy(p, set->sig, 64);
    s_le32(p + 64, set->count);
    memcpy(p + 68, set->leaves, 32 * (size_t)set->count);
    return MESH_OK;
}

static mesh_err_t
s_set_parse(store_t *st, const uint8_t *k, const uint8_t *p, size_t len, store_set_t *set)
{
    set->oid = s_get_be32(k + 4);
    set->first_seq = s_get_be64(k + 8);
    if (len < 72) {
        goto bad;
    }
    set->header_len = s_get_le32(p);
    if (len < 72 + (size_t)set->header_len) {
        goto bad;
    }
    set->header = p + 4;
    set->sig = p + 4 + set->header_len;
    set->count = s_get_le32(set->sig + 64);
    set->leaves = set->sig + 68;
    if (len != 72 + (size_t)set->header_len + 32 * (size_t)set->count) {
        goto bad;
    }
    return MESH_OK;
bad:
    s_seterr(st, "set record is malformed");
    return MESH_ECORRUPT;
}

mesh_err_t
store_set_get(store_txn_t *txn, uint32_t cid, uint32_t oid, uint64_t first_seq,
              store_set_t *set)
{
    uint8_t k[16];
    const uint8_t *v = NULL;
    size_t vlen = 0;
    s_dot_key(k, cid, oid, first_seq);
    mesh_err_t err = s_get(txn, S_SETS, k, sizeof k, &v, &vlen);
    if (err != MESH_OK) {
        return err;
    }
    return s_set_parse(txn->st, k, v, vlen, set);
}

mesh_err_t
store_sets_open(store_txn_t *txn, uint32_t cid, store_cursor_t **out)
{
    *out = NULL;
    store_cursor_t *cur = calloc(1, sizeof *cur);
    if (!cur) {
        return MESH_ENOMEM;
    }
    cur->txn = txn;
    cur->db = S_SETS;
    s_be32(cur->prefix, cid);
    cur->prefix_len = 4;
    int rc = mdb_cursor_open(txn->txn, txn->st->dbi[S_SETS], &cur->cur);
    if (rc != MDB_SUCCESS) {
        free(cur);
        return s_map(txn->st, rc, "sets cursor");
    }
    *out = cur;
    return MESH_OK;
}

mesh_err_t
store_sets_next(store_cursor_t *cur, store_set_t *set)
{
    MDB_val k, v;
    mesh_err_t err = s_cursor_step(cur, &k, &v);
    if (err != MESH_OK) {
        return err;
    }
    if (k.mv_size != 16) {
        return MESH_ECORRUPT;
    }
    return s_set_parse(cur->txn->st, k.mv_data, v.mv_data, v.mv_size, set);
}

/* ---- lookups and scans added for applying and exporting ---- */

mesh_err_t
store_set_find(store_txn_t *txn, uint32_t cid, uint32_t oid, uint64_t seq, store_set_t *set)
{
    uint8_t k[16];
    MDB_cursor *c = NULL;
    MDB_val key = {sizeof k, k}, val;
    s_dot_key(k, cid, oid, seq);
    int rc = mdb_cursor_open(txn->txn, txn->st->dbi[S_SETS], &c);
    if (rc != MDB_SUCCESS) {
        return s_map(txn->st, rc, "sets cursor");
    }
    rc = mdb_cursor_get(c, &key, &val, MDB_SET_RANGE);
    if (rc == MDB_SUCCESS && key.mv_size == 16 && memcmp(key.mv_data, k, 16) == 0) {
        /* exact hit */
    } else if (rc == MDB_SUCCESS || rc == MDB_NOTFOUND) {
        rc = mdb_cursor_get(c, &key, &val, rc == MDB_SUCCESS ? MDB_PREV : MDB_LAST);
    }
    mesh_err_t err = MESH_ENOTFOUND;
    if (rc == MDB_SUCCESS && key.mv_size == 16 && memcmp(key.mv_data, k, 8) == 0) {
        err = s_set_parse(txn->st, key.mv_data, val.mv_data, val.mv_size, set);
    } else if (rc != MDB_SUCCESS && rc != MDB_NOTFOUND) {
        err = s_map(txn->st, rc, "sets seek");
    }
    mdb_cursor_close(c);
    return err;
}

mesh_err_t
store_set_del(store_txn_t *txn, uint32_t cid, uint32_t oid, uint64_t first_seq)
{
    uint8_t k[16];
    s_dot_key(k, cid, oid, first_seq);
    return s_del(txn, S_SETS, k, sizeof k);
}

/* Open a cursor on db positioned (on first step) at prefix[0..prefix_len) ++ start. */
static mesh_err_t
s_cursor_new(store_txn_t *txn, enum s_db db, const uint8_t *start, size_t start_len,
             size_t prefix_len, store_cursor_t **out)
{
    *out = NULL;
    store_cursor_t *cur = calloc(1, sizeof *cur);
    if (!cur) {
        return MESH_ENOMEM;
    }
    cur->txn = txn;
    cur->db = db;
    memcpy(cur->prefix, start, start_len);
    cur->prefix_len = start_len;
    cur->match_len = prefix_len;
    int rc = mdb_cursor_open(txn->txn, txn->st->dbi[db], &cur->cur);
    if (rc != MDB_SUCCESS) {
        free(cur);
        return s_map(txn->st, rc, s_db_names[db]);
    }
    *out = cur;
    return MESH_OK;
}

mesh_err_t
store_dots_open(store_txn_t *txn, uint32_t cid, uint32_t oid, uint64_t from_seq,
                store_cursor_t **out)
{
    uint8_t k[16];
    s_dot_key(k, cid, oid, from_seq);
    return s_cursor_new(txn, S_DOTS, k, sizeof k, 8, out);
}

mesh_err_t
store_dots_next(store_cursor_t *cur, uint64_t *seq, store_item_t *item)
{
    MDB_val k, v, ik, iv;
    mesh_err_t err = s_cursor_step(cur, &k, &v);
    if (err != MESH_OK) {
        return err;
    }
    if (k.mv_size != 16 || v.mv_size > S_ITEM_KEY_MAX - 4) {
        return MESH_ECORRUPT;
    }
    *seq = s_get_be64((const uint8_t *)k.mv_data + 8);
    uint8_t key[S_ITEM_KEY_MAX];
    memcpy(key, k.mv_data, 4); /* cid */
    memcpy(key + 4, v.mv_data, v.mv_size);
    ik.mv_size = 4 + v.mv_size;
    ik.mv_data = key;
    int rc = mdb_get(cur->txn->txn, cur->txn->st->dbi[S_ITEMS], &ik, &iv);
    if (rc != MDB_SUCCESS) {
        s_seterr(cur->txn->st, "dot index points at a missing item");
        return rc == MDB_NOTFOUND ? MESH_ECORRUPT : s_map(cur->txn->st, rc, "items");
    }
    /* ik points at our stack copy: parse against the stored key instead. */
    err = s_item_parse(cur->txn->st, key, ik.mv_size, iv.mv_data, iv.mv_size, item);
    if (err == MESH_OK && item->key == key + 4) {
        memcpy(cur->keybuf, key + 4, item->key_len);
        item->key = cur->keybuf;
    }
    return err;
}

mesh_err_t
store_vvs_open(store_txn_t *txn, uint32_t cid, store_cursor_t **out)
{
    uint8_t k[4];
    s_be32(k, cid);
    return s_cursor_new(txn, S_VECTORS, k, sizeof k, 4, out);
}

mesh_err_t
store_vvs_next(store_cursor_t *cur, uint32_t *oid, store_vv_t *vv)
{
    MDB_val k, v;
    mesh_err_t err = s_cursor_step(cur, &k, &v);
    if (err != MESH_OK) {
        return err;
    }
    const uint8_t *p = v.mv_data;
    if (k.mv_size != 8 || v.mv_size < 12) {
        return MESH_ECORRUPT;
    }
    *oid = s_get_be32((const uint8_t *)k.mv_data + 4);
    vv->base = s_get_le64(p);
    vv->extra_count = s_get_le32(p + 8);
    vv->extra_raw = p + 12;
    return v.mv_size == 12 + 8 * vv->extra_count ? MESH_OK : MESH_ECORRUPT;
}

mesh_err_t
store_colls_open(store_txn_t *txn, store_cursor_t **out)
{
    return s_cursor_new(txn, S_COLLS, (const uint8_t *)"n", 1, 1, out);
}

mesh_err_t
store_colls_next(store_cursor_t *cur, char *name, uint32_t *cid)
{
    MDB_val k, v;
    mesh_err_t err = s_cursor_step(cur, &k, &v);
    if (err != MESH_OK) {
        return err;
    }
    if (k.mv_size < 2 || k.mv_size > 1 + MESH_COLL_MAX || v.mv_size != 4) {
        return MESH_ECORRUPT;
    }
    memcpy(name, (const uint8_t *)k.mv_data + 1, k.mv_size - 1);
    name[k.mv_size - 1] = '\0';
    *cid = s_get_le32(v.mv_data);
    return MESH_OK;
}

/* held: id(32) -> origin(32) || set bytes */

mesh_err_t
store_held_put(store_txn_t *txn, const uint8_t *id, const uint8_t *origin, const uint8_t *set,
               size_t len)
{
    uint8_t *p = NULL;
    mesh_err_t err = s_reserve(txn, S_HELD, id, STORE_HELD_ID_LEN, 32 + len, &p);
    if (err == MESH_OK) {
        memcpy(p, origin, 32);
        memcpy(p + 32, set, len);
    }
    return err;
}

mesh_err_t
store_held_open(store_txn_t *txn, store_cursor_t **out)
{
    return s_cursor_new(txn, S_HELD, (const uint8_t *)"", 0, 0, out);
}

mesh_err_t
store_held_next(store_cursor_t *cur, const uint8_t **id, const uint8_t **origin,
                const uint8_t **set, size_t *len)
{
    MDB_val k, v;
    mesh_err_t err = s_cursor_step(cur, &k, &v);
    if (err != MESH_OK) {
        return err;
    }
    if (k.mv_size != STORE_HELD_ID_LEN || v.mv_size < 32) {
        return MESH_ECORRUPT;
    }
    *id = k.mv_data;
    *origin = v.mv_data;
    *set = (const uint8_t *)v.mv_data + 32;
    *len = v.mv_size - 32;
    return MESH_OK;
}

mesh_err_t
store_held_del(store_txn_t *txn, const uint8_t *id)
{
    return s_del(txn, S_HELD, id, STORE_HELD_ID_LEN);
}

mesh_err_t
store_held_has(store_txn_t *txn, const uint8_t *id)
{
    const uint8_t *v = NULL;
    size_t len = 0;
    return s_get(txn, S_HELD, id, STORE_HELD_ID_LEN, &v, &len);
}

mesh_err_t
store_held_count(store_txn_t *txn, uint64_t *count)
{
    MDB_stat stat;
    int rc = mdb_stat(txn->txn, txn->st->dbi[S_HELD], &stat);
    *count = rc == MDB_SUCCESS ? stat.ms_entries : 0;
    return s_map(txn->st, rc, "held stat");
}
