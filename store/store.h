/* store/store.h: the store layer's interface: every LMDB database and transaction of a node
 * home, and their on-disk layout (docs/PROTOCOL.md §6). The environment and transactions
 * are implemented in env.c, metadata, origins, collections and vectors in store.c; item
 * records in items.c (declared in items.h, included at the end).
 * Owns: the environment (map growth, stale readers, format version, incarnation), and the
 * records for collections, origins, items (per key the dots of its versions), version
 * records by dot, vectors, change-set headers, held-back sets and metadata. Values from the
 * wire are kept as the bytes core hands in.
 * Not here: networking, signatures, msgpack, files other than the LMDB environment.
 * Layer: store. Third-party: lmdb.h, included only by env.c. SPDX-License-Identifier: MIT */
#ifndef MESH_STORE_STORE_H
#define MESH_STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "meshsync.h" /* mesh_err_t */

#define STORE_FORMAT         4u /* on-disk format written (§6); formats 2 and 3 are taken on */
#define STORE_META_REDIGEST  "redigest" /* meta name: the digests predate format 4 (§6) */
#define STORE_KEY_INLINE_MAX 400u       /* longer keys are stored by prefix + hash (§6) */
#define STORE_KEY_HASH_LEN   32u
#define STORE_SIBLINGS_MAX   256u         /* versions kept for one key */
#define STORE_MAP_DEFAULT    (1ull << 40) /* 1 TiB, sparse */

typedef struct store store_t;
typedef struct store_txn store_txn_t;
typedef struct store_cursor store_cursor_t;

/* An item key as the store sees it: the full bytes, and for keys longer than
 * STORE_KEY_INLINE_MAX a hash of them that the caller computed. */
typedef struct store_key {
    const uint8_t *bytes;
    size_t len;
    uint8_t hash[STORE_KEY_HASH_LEN]; /* set only when len > STORE_KEY_INLINE_MAX */
} store_key_t;

/* One version of an item. The pointers borrow LMDB memory (valid until the transaction
 * ends or the item is written) or the caller's memory (when writing). */
typedef struct store_version {
    uint32_t oid;        /* local origin number, see store_origin_id */
    uint64_t seq;        /* the dot's seq */
    uint64_t hlc;        /* HLC of the version's change set */
    uint8_t kind;        /* core's op kind (put, delete) */
    const uint8_t *meta; /* the op's signed metadata bytes, opaque here */
    uint32_t meta_len;
    const uint8_t *value; /* the value bytes (none for a delete) */
    uint32_t value_len;
    const uint8_t *proof; /* Merkle proof, kept only when the set's leaves are not */
    uint32_t proof_len;
} store_version_t;

/* An item read from the store: its full key and versions. */
typedef struct store_item {
    const uint8_t *key;
    size_t key_len;
    size_t count;
    store_version_t versions[STORE_SIBLINGS_MAX];
} store_item_t;

/* A collection's counters, kept in the same transactions as its items. */
typedef struct store_coll_stats {
    uint8_t digest[32]; /* order-free sum of version hashes (four 64-bit LE lanes) */
    uint64_t keys;      /* keys with at least one version */
    uint64_t versions;  /* versions held, tombstones included */
} store_coll_stats_t;

/* A stored change-set header with its signature and all its leaf hashes. */
typedef struct store_set {
    uint32_t oid;
    uint64_t first_seq;
    const uint8_t *header; /* the signed header bytes as received */
    uint32_t header_len;
    const uint8_t *sig;    /* 64 bytes */
    const uint8_t *leaves; /* count * 32 bytes */
    uint32_t count;
} store_set_t;

/* ---- environment ---- */

/* Open (creating if needed) the store in directory dir with an initial map of map_size
 * bytes (0: STORE_MAP_DEFAULT). Clears stale readers, checks the format (MESH_EFORMAT for
 * an unknown one), and starts a new incarnation when the data file's identity changed
 * (copied or restored) or on first creation. MESH_OK: *out is new. Error: *out NULL, and
 * errmsg (errmsg_len bytes, may be NULL) holds the detail. */
MESH_NODISCARD mesh_err_t store_open(const char *dir, uint64_t map_size, store_t **out,
                                     char *errmsg, size_t errmsg_len);

/* Close the environment. NULL is a no-op. No transaction may be open. */
void store_close(store_t *st);

/* Detail of the calling thread's last failed store call (a thread-local buffer, valid until
 * that thread's next store call); st is not used. */
const char *store_errmsg(const store_t *st);

/* The current incarnation (random, non-zero) of this store. */
uint64_t store_incarnation(const store_t *st);

/* The incarnation as stored, read inside txn: another process on the same home may have
 * renewed it since this one opened. */
MESH_NODISCARD mesh_err_t store_txn_incarnation(store_txn_t *txn, uint64_t *inc);

/* Start a new incarnation inside write transaction txn (a peer showed a seq of ours this
 * store does not hold: it was rolled back). Takes effect when the transaction commits. */
MESH_NODISCARD mesh_err_t store_incarnation_renew(store_txn_t *txn, uint64_t *inc);

/* True when store_open started a new incarnation. */
bool store_incarnation_is_new(const store_t *st);

/* Microseconds the last commit of a write transaction in this process took: the writing
 * of its pages and the flushes to disk (for logs that say where the time went). */
uint64_t store_last_commit_us(const store_t *st);

/* The id of the last committed write transaction of any process on this home: it changes
 * at every commit, so a daemon can notice a CLI's writes by polling it. */
uint64_t store_last_txnid(store_t *st);

/* Give back the memory LMDB keeps from large write transactions (it holds on to every page
 * a write dirtied until the environment closes) by reopening the environment, if no
 * transaction is open in this process right now (it never waits). true when done. */
bool store_release_memory(store_t *st);

/* The current map size in bytes (it grows by itself). */
uint64_t store_map_size(const store_t *st);

/* ---- transactions ---- */

/* A write body: runs inside one write transaction and may be run again from the start
 * (after the map grew), so it must not keep side effects outside txn between runs. */
typedef mesh_err_t (*store_write_fn)(store_txn_t *txn, void *ctx);

/* Run fn in one durable write transaction (LMDB's writer lock serialises every process on
 * the home). A full map grows and fn runs again; MESH_OK only once the commit is durable.
 * Growing remaps the file, so it waits until no other transaction of this process is open
 * (those that begin meanwhile wait for it): MESH_EBUSY if some stay open for 10 s, and
 * MESH_ESTATE at once if the calling thread holds one itself, on any store (it would wait
 * for itself).
 * Error: the transaction is aborted, the store unchanged; MESH_ENOSPC for a full disk. */
MESH_NODISCARD mesh_err_t store_write(store_t *st, store_write_fn fn, void *ctx);

/* Close a cursor from any of the *_open calls. NULL is a no-op. */
void store_cursor_close(store_cursor_t *cur);

/* Begin / end a read transaction (short-lived; any thread, ended on the thread that began
 * it). A map another process grew is adopted at the begin, which waits like a growth (see
 * store_write; MESH_ESTATE when this thread holds another transaction). Keep it short: a
 * growth waits for it. */
MESH_NODISCARD mesh_err_t store_read_begin(store_t *st, store_txn_t **out);
void store_read_end(store_txn_t *txn);

/* ---- metadata (small named values) ---- */
MESH_NODISCARD mesh_err_t store_meta_get(store_txn_t *txn, const char *name, const uint8_t **val,
                                         size_t *len);
MESH_NODISCARD mesh_err_t store_meta_put(store_txn_t *txn, const char *name, const void *val,
                                         size_t len);
MESH_NODISCARD mesh_err_t store_meta_get_u64(store_txn_t *txn, const char *name, uint64_t *val);
MESH_NODISCARD mesh_err_t store_meta_put_u64(store_txn_t *txn, const char *name, uint64_t val);

/* ---- origins: (device key, incarnation) <-> local 32-bit number ---- */

/* Find the local number of (device, incarnation); with create, assign the next one.
 * MESH_ENOTFOUND if absent and !create. */
MESH_NODISCARD mesh_err_t store_origin_id(store_txn_t *txn, const uint8_t *device,
                                          uint64_t incarnation, bool create, uint32_t *oid);
/* The device (32 bytes into device) and incarnation of a local number: the incarnation its
 * vector entry names (for a derived one, §5.7: the derived incarnation). */
MESH_NODISCARD mesh_err_t store_origin_get(store_txn_t *txn, uint32_t oid, uint8_t *device,
                                           uint64_t *incarnation);
/* The same, with the incarnation its versions' headers were signed with: what a version's
 * dot, its context entries and its digest contribution name. The one of store_origin_get
 * except for a derived number. */
MESH_NODISCARD mesh_err_t store_origin_signed(store_txn_t *txn, uint32_t oid, uint8_t *device,
                                              uint64_t *incarnation);
/* The number of (oid's device, incarnation), made when new, derived from oid: where the
 * versions of a forked set signed under oid's incarnation move (docs/PROTOCOL.md §5.7). A
 * number made before by a watermark alone becomes derived. MESH_EEXIST when that number
 * is derived from another incarnation already; MESH_EINVAL when it is oid itself. */
MESH_NODISCARD mesh_err_t store_origin_derive(store_txn_t *txn, uint32_t oid, uint64_t incarnation,
                                              uint32_t *derived);
/* The numbers derived from oid (store_origin_derive), ascending, in derived[0..*n).
 * MESH_ETOOBIG when there are more than max. */
MESH_NODISCARD mesh_err_t store_origin_forks(store_txn_t *txn, uint32_t oid, uint32_t *derived,
                                             size_t max, size_t *n);
/* Is oid a derived number? */
MESH_NODISCARD mesh_err_t store_origin_is_derived(store_txn_t *txn, uint32_t oid, bool *derived);

/* ---- collections ---- */

/* Find the local number of collection name; with create, assign the next one. */
MESH_NODISCARD mesh_err_t store_coll_id(store_txn_t *txn, const char *name, bool create,
                                        uint32_t *cid);
/* Read / write a collection's stats (all zero for one never written). */
MESH_NODISCARD mesh_err_t store_coll_stats_get(store_txn_t *txn, uint32_t cid,
                                               store_coll_stats_t *stats);
MESH_NODISCARD mesh_err_t store_coll_stats_put(store_txn_t *txn, uint32_t cid,
                                               const store_coll_stats_t *stats);

/* ---- vectors: per (cid, oid) the base N and extra dots above it ---- */
#define STORE_VV_EXTRA_MAX 65536u
typedef struct store_vv {
    uint64_t base;
    size_t extra_count;
    const uint8_t *extra_raw; /* extra_count little-endian u64 seqs, ascending */
} store_vv_t;
/* Read the vector entry (all zero when absent). */
MESH_NODISCARD mesh_err_t store_vv_get(store_txn_t *txn, uint32_t cid, uint32_t oid,
                                       store_vv_t *vv);
uint64_t store_vv_extra(const store_vv_t *vv, size_t i);
MESH_NODISCARD mesh_err_t store_vv_put(store_txn_t *txn, uint32_t cid, uint32_t oid, uint64_t base,
                                       const uint64_t *extra, size_t extra_count);

/* Iterate the vector entries of cid: each step gives an oid and its entry. */
MESH_NODISCARD mesh_err_t store_vvs_open(store_txn_t *txn, uint32_t cid, store_cursor_t **out);
MESH_NODISCARD mesh_err_t store_vvs_next(store_cursor_t *cur, uint32_t *oid, store_vv_t *vv);

/* Iterate the collections: each step gives a name (NUL-terminated into name, which holds
 * MESH_COLL_MAX + 1 bytes) and its cid. */
MESH_NODISCARD mesh_err_t store_colls_open(store_txn_t *txn, store_cursor_t **out);
MESH_NODISCARD mesh_err_t store_colls_next(store_cursor_t *cur, char *name, uint32_t *cid);

/* Items, the dot index, change-set headers: store/items.h; the change log: store/changes.h; held
 * sets: store/held.h; what waiting sets' headers reached: store/signed.h. */
#include "changes.h"
#include "held.h"
#include "items.h"
#include "signed.h"

#endif /* MESH_STORE_STORE_H */
