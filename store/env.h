/* store/env.h: the LMDB environment and raw record access, shared by the store's files.
 * Owns: the databases' names, reading and writing one record, cursors over a key range,
 * error mapping and the detail text; the byte order helpers of every layout.
 * Not here: any record's layout (store.c, items.c). No LMDB type appears here.
 * Layer: store (internal to store/). Third-party: lmdb.h, included only by env.c.
 * SPDX-License-Identifier: MIT */
#ifndef MESH_STORE_ENV_H
#define MESH_STORE_ENV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"

typedef enum env_db {
    ENV_META,
    ENV_ORIGINS,
    ENV_COLLS,
    ENV_ITEMS,
    ENV_DOTS,
    ENV_VECTORS,
    ENV_SETS,
    ENV_HELD,
    ENV_CHANGES, /* the change log by sequence (store/changes.c) */
    ENV_NDB
} env_db_t;

#define ENV_CURSOR_KEY_MAX 512u /* longest start key of a cursor */

/* The change log's state within one write transaction (store/changes.c): the last sequence
 * given and the floor, read from meta at the first change, written back before the commit
 * when dirty. Zero at every begin (a body that runs again starts afresh). */
typedef struct env_chg {
    uint64_t last;  /* the last sequence number given */
    uint64_t floor; /* the greatest sequence whose entry was pruned */
    uint64_t gone;  /* entries of removed items (kept as deletions) */
    bool loaded;    /* last and floor were read in this transaction */
    bool dirty;     /* this transaction logged or dropped an entry */
} env_chg_t;

/* The change log's state of a write transaction. */
env_chg_t *env_txn_chg(store_txn_t *txn);

/* Record the detail of a failure on st (printf-style). */
void env_seterr(store_t *st, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The store a transaction belongs to. */
store_t *env_store(store_txn_t *txn);

/* Read one record; MESH_ENOTFOUND if absent. *v borrows LMDB memory until the txn ends
 * or the record is written. */
MESH_NODISCARD mesh_err_t env_get(store_txn_t *txn, env_db_t db, const void *k, size_t klen,
                                  const uint8_t **v, size_t *vlen);
/* Write one record. */
MESH_NODISCARD mesh_err_t env_put(store_txn_t *txn, env_db_t db, const void *k, size_t klen,
                                  const void *v, size_t vlen);
/* Make room for a vlen-byte value and point *v at it, to fill before the next write. */
MESH_NODISCARD mesh_err_t env_reserve(store_txn_t *txn, env_db_t db, const void *k, size_t klen,
                                      size_t vlen, uint8_t **v);
/* As env_reserve, for a key db does not hold yet: MESH_EEXIST (nothing written) if it
 * does. One search of the tree where a read and then a write would take two. */
MESH_NODISCARD mesh_err_t env_reserve_new(store_txn_t *txn, env_db_t db, const void *k, size_t klen,
                                          size_t vlen, uint8_t **v);
/* As env_reserve, for a key likely above every key db holds (a dot or a set of the origin
 * written last): then added at the tree's end without a search from the root, and a leaf
 * that fills up stays full instead of splitting in half (MDB_APPEND); else as env_reserve. */
MESH_NODISCARD mesh_err_t env_reserve_last(store_txn_t *txn, env_db_t db, const void *k,
                                           size_t klen, size_t vlen, uint8_t **v);
/* Delete one record; deleting an absent one is MESH_OK. */
MESH_NODISCARD mesh_err_t env_del(store_txn_t *txn, env_db_t db, const void *k, size_t klen);
/* The record with the greatest key at or below k whose key starts with k[0..match_len).
 * MESH_ENOTFOUND if none. */
MESH_NODISCARD mesh_err_t env_seek_le(store_txn_t *txn, env_db_t db, const void *k, size_t klen,
                                      size_t match_len, const uint8_t **rk, size_t *rklen,
                                      const uint8_t **v, size_t *vlen);
/* Number of records in db. */
MESH_NODISCARD mesh_err_t env_count(store_txn_t *txn, env_db_t db, uint64_t *count);

/* A cursor that starts at start (or the first record for an empty start) and yields the
 * records whose key begins with start[0..match_len). */
MESH_NODISCARD mesh_err_t env_cursor_open(store_txn_t *txn, env_db_t db, const uint8_t *start,
                                          size_t start_len, size_t match_len, store_cursor_t **out);
/* The next record: MESH_OK, or MESH_ENOTFOUND past the range. */
MESH_NODISCARD mesh_err_t env_cursor_next(store_cursor_t *cur, const uint8_t **k, size_t *klen,
                                          const uint8_t **v, size_t *vlen);
/* The transaction a cursor runs in. */
store_txn_t *env_cursor_txn(store_cursor_t *cur);
/* A filter a cursor's user keeps with it (items: a long key prefix), and a scratch buffer
 * of STORE_KEY_INLINE_MAX bytes for copying a key out. */
void env_cursor_set_filter(store_cursor_t *cur, const uint8_t *p, size_t len);
const uint8_t *env_cursor_filter(const store_cursor_t *cur, size_t *len);
uint8_t *env_cursor_keybuf(store_cursor_t *cur);

/* Open the environment in dir with a map of *map_size bytes (smaller where the address
 * space refuses it; *map_size says what was used). */
MESH_NODISCARD mesh_err_t env_open(store_t *st);
void env_close(store_t *st);

/* Big-endian (in keys, so they sort) and little-endian (in values) integers. */
static inline void
env_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static inline void
env_be64(uint8_t *p, uint64_t v)
{
    env_be32(p, (uint32_t)(v >> 32));
    env_be32(p + 4, (uint32_t)v);
}

static inline uint32_t
env_get_be32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static inline uint64_t
env_get_be64(const uint8_t *p)
{
    return ((uint64_t)env_get_be32(p) << 32) | env_get_be32(p + 4);
}

static inline void
env_le32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) {
        p[i] = (uint8_t)(v >> (8 * i));
    }
}

static inline void
env_le64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) {
        p[i] = (uint8_t)(v >> (8 * i));
    }
}

static inline uint32_t
env_get_le32(const uint8_t *p)
{
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--) {
        v = (v << 8) | p[i];
    }
    return v;
}

static inline uint64_t
env_get_le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) {
        v = (v << 8) | p[i];
    }
    return v;
}

#endif /* MESH_STORE_ENV_H */
