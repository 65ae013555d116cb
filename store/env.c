/* store/env.c: the LMDB environment of a node home: opening (format check, stale readers,
 * incarnation), write transactions that grow a full map and run again, read transactions,
 * the gate that keeps every remap of the map (growth, a size another process set, a reopen)
 * apart from this process's transactions, raw record access and cursors
 * (docs/PROTOCOL.md §6). Implements the environment half of store.h and all of env.h.
 * Not here: any record's layout (store.c, items.c).
 * Layer: store. Third-party: lmdb.h (only here). SPDX-License-Identifier: MIT */
#include "env.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>

#include <lmdb.h>

#define S_ERRMSG_MAX   256
#define S_MAP_MIN      (16ull << 20) /* the smallest map tried when a large one cannot be mapped */
#define S_REMAP_WAIT_S 10            /* how long a remap waits for open transactions to end */
#define S_BEGIN_REMAPS 8             /* remaps one transaction's begin may run before failing */

static const char *const s_db_names[ENV_NDB] = {"meta",    "origins", "colls", "items",  "dots",
                                                "vectors", "sets",    "held",  "changes"};

/* The gate. LMDB remaps the file in mdb_env_set_mapsize (growth, or adopting a size another
 * process set: MDB_MAP_RESIZED) and in a reopen (after MDB_PANIC, store_release_memory), and
 * requires that no transaction of this process is open meanwhile: a reader on another
 * thread would read unmapped memory. So every transaction enters the gate (open_txns), and a
 * remap waits until open_txns is 0, alone under the gate's mutex. Transactions that begin
 * while a remap waits wait for it, so a stream of short ones cannot starve it, except on a
 * thread that already holds one (an iterator and a read inside it): that thread goes
 * through, or the remap would wait for a thread that waits for the remap. For the same
 * reason a thread that holds a transaction never remaps: its write fails (MESH_ESTATE). */
struct store {
    MDB_env *env; /* changed only by a remap, alone */
    pthread_mutex_t gate;
    pthread_cond_t gate_changed; /* open_txns fell to 0, or a remap ended */
    unsigned open_txns;          /* transactions open in this process (under gate) */
    bool remap_waiting;          /* a remap waits for open_txns to reach 0 (under gate) */
    uint64_t remaps;             /* remaps done (under gate): tells a thread whether the
                                  * map changed since it saw it */
    MDB_dbi dbi[ENV_NDB];
    uint64_t map_size;    /* atomic: read by store_map_size on any thread */
    uint64_t incarnation; /* atomic: a commit on one thread renews it, any thread reads it */
    bool incarnation_new;
    uint64_t commit_us; /* atomic: how long this process's last commit took */
    /* Called after a commit of this process that logged a change (store_set_change_hook);
     * set before the writers that may call it start, read atomically. */
    store_change_hook_fn change_hook;
    void *change_hook_ctx;
    char path[4096];
};

/* The detail of the calling thread's last failed store call: thread-local, since the loop
 * thread and a caller's fail at once, and each reads its own right after (store_errmsg). */
static _Thread_local char s_errmsg[S_ERRMSG_MAX];
/* The calling thread's current write hit MDB_MAP_FULL (its body may see only our code). */
static _Thread_local bool s_map_full;
/* Transactions the calling thread holds, on any store: a thread that holds one never waits
 * at a gate, and never remaps (see struct store). */
static _Thread_local unsigned s_thread_txns;

struct store_txn {
    store_t *st;
    MDB_txn *txn;
    /* A write's own cursor per database, opened at its first use and freed by LMDB when
     * the transaction ends: a put or get whose key falls on the leaf page of the last one
     * (a run's key-ordered walk) starts there instead of from the root (NULL in a read;
     * an append, MDB_APPEND, still looks for the tree's end from the root). */
    MDB_cursor *wcur[ENV_NDB];
    bool write;
    uint64_t incarnation_pending; /* set by a write that renewed it, until it commits */
    env_chg_t chg;                /* the change log's state (store/changes.c) */
};

/* ---- errors ---- */

env_chg_t *
env_txn_chg(store_txn_t *txn)
{
    return &txn->chg;
}

void
store_set_change_hook(store_t *st, store_change_hook_fn fn, void *ctx)
{
    __atomic_store_n(&st->change_hook_ctx, ctx, __ATOMIC_RELEASE);
    __atomic_store_n(&st->change_hook, fn, __ATOMIC_RELEASE);
}

void
env_seterr(store_t *st, const char *fmt, ...)
{
    va_list ap;
    (void)st;
    va_start(ap, fmt);
    vsnprintf(s_errmsg, sizeof s_errmsg, fmt, ap);
    va_end(ap);
}

/* Map an LMDB or errno code to ours, recording the detail. */
static mesh_err_t
s_map(store_t *st, int rc, const char *what)
{
    if (rc == MDB_SUCCESS) {
        return MESH_OK;
    }
    env_seterr(st, "%s: %s", what, mdb_strerror(rc));
    if (rc == MDB_MAP_FULL) {
        s_map_full = true;
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
    (void)st;
    return s_errmsg;
}

uint64_t
store_incarnation(const store_t *st)
{
    return __atomic_load_n(&st->incarnation, __ATOMIC_RELAXED);
}

bool
store_incarnation_is_new(const store_t *st)
{
    return st->incarnation_new;
}

uint64_t
store_last_commit_us(const store_t *st)
{
    return __atomic_load_n(&st->commit_us, __ATOMIC_RELAXED);
}

uint64_t
store_map_size(const store_t *st)
{
    return __atomic_load_n(&st->map_size, __ATOMIC_RELAXED);
}

/* ---- raw get / put ---- */

/* The write's cursor on db, opened now if need be; NULL in a read (or if LMDB cannot open
 * one: the caller goes the cursorless way). Every put of a write on db goes through it
 * (env_del closes it first), so no other cursor moves records of db while it is open. */
static MDB_cursor *
s_wcur(store_txn_t *txn, env_db_t db)
{
    if (txn->write && !txn->wcur[db] &&
        mdb_cursor_open(txn->txn, txn->st->dbi[db], &txn->wcur[db]) != MDB_SUCCESS) {
        txn->wcur[db] = NULL;
    }
    return txn->wcur[db];
}

mesh_err_t
env_get(store_txn_t *txn, env_db_t db, const void *k, size_t klen, const uint8_t **v, size_t *vlen)
{
    MDB_val key = {klen, (void *)k}, val;
    MDB_cursor *c = s_wcur(txn, db);
    int rc = c ? mdb_cursor_get(c, &key, &val, MDB_SET)
               : mdb_get(txn->txn, txn->st->dbi[db], &key, &val);
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

mesh_err_t
env_put(store_txn_t *txn, env_db_t db, const void *k, size_t klen, const void *v, size_t vlen)
{
    MDB_val key = {klen, (void *)k}, val = {vlen, (void *)v};
    MDB_cursor *c = s_wcur(txn, db);
    int rc =
        c ? mdb_cursor_put(c, &key, &val, 0) : mdb_put(txn->txn, txn->st->dbi[db], &key, &val, 0);
    return s_map(txn->st, rc, s_db_names[db]);
}

/* Reserve vlen bytes for a value and return where to write them (flags: MDB_RESERVE and
 * more). */
static mesh_err_t
s_reserve(store_txn_t *txn, env_db_t db, const void *k, size_t klen, size_t vlen, unsigned flags,
          uint8_t **v)
{
    MDB_val key = {klen, (void *)k}, val = {vlen, NULL};
    MDB_cursor *c = s_wcur(txn, db);
    int rc = c ? mdb_cursor_put(c, &key, &val, MDB_RESERVE | flags)
               : mdb_put(txn->txn, txn->st->dbi[db], &key, &val, MDB_RESERVE | flags);
    if (rc == MDB_KEYEXIST) {
        return MESH_EEXIST; /* asked for with MDB_NOOVERWRITE or MDB_APPEND: an answer */
    }
    if (rc != MDB_SUCCESS) {
        return s_map(txn->st, rc, s_db_names[db]);
    }
    *v = val.mv_data;
    return MESH_OK;
}

mesh_err_t
env_reserve(store_txn_t *txn, env_db_t db, const void *k, size_t klen, size_t vlen, uint8_t **v)
{
    return s_reserve(txn, db, k, klen, vlen, 0, v);
}

mesh_err_t
env_reserve_last(store_txn_t *txn, env_db_t db, const void *k, size_t klen, size_t vlen,
                 uint8_t **v)
{
    /* MDB_APPEND refuses (MDB_KEYEXIST, nothing written) a key not above the last one: a
     * key in the middle, or the last key itself, then goes the ordinary way. */
    mesh_err_t err = s_reserve(txn, db, k, klen, vlen, MDB_APPEND, v);
    return err == MESH_EEXIST ? s_reserve(txn, db, k, klen, vlen, 0, v) : err;
}

mesh_err_t
env_reserve_new(store_txn_t *txn, env_db_t db, const void *k, size_t klen, size_t vlen, uint8_t **v)
{
    return s_reserve(txn, db, k, klen, vlen, MDB_NOOVERWRITE, v);
}

mesh_err_t
env_del(store_txn_t *txn, env_db_t db, const void *k, size_t klen)
{
    MDB_val key = {klen, (void *)k};
    if (txn->wcur[db]) { /* (a delete, rare in a write, goes the plain way: no cursor kept) */
        mdb_cursor_close(txn->wcur[db]);
        txn->wcur[db] = NULL;
    }
    int rc = mdb_del(txn->txn, txn->st->dbi[db], &key, NULL);
    if (rc == MDB_NOTFOUND) {
        return MESH_OK;
    }
    return s_map(txn->st, rc, s_db_names[db]);
}

/* The open's own metadata: read and written directly, as store.c's helpers sit above. */
static mesh_err_t
s_meta_u64(store_txn_t *txn, const char *name, uint64_t *val)
{
    const uint8_t *v = NULL;
    size_t len = 0;
    mesh_err_t err = env_get(txn, ENV_META, name, strlen(name), &v, &len);
    if (err == MESH_OK && len != 8) {
        return MESH_ECORRUPT;
    }
    *val = err == MESH_OK ? env_get_le64(v) : 0;
    return err;
}

static mesh_err_t
s_meta_put_u64(store_txn_t *txn, const char *name, uint64_t val)
{
    uint8_t b[8];
    env_le64(b, val);
    return env_put(txn, ENV_META, name, strlen(name), b, sizeof b);
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
        env_le64(out16, (uint64_t)sb.st_dev);
        env_le64(out16 + 8, (uint64_t)sb.st_ino);
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
    mesh_err_t err = s_meta_u64(txn, "format", &format);
    if (err == MESH_ENOTFOUND) {
        format = STORE_FORMAT;
        err = s_meta_put_u64(txn, "format", format);
    }
    if (err == MESH_OK && (format == 2 || format == 3)) {
        /* Format 2 differs from 3 only in writing every item record in the fixed layout,
         * which format 3 still reads (store/items.c); format 3 from 4 only in the digests'
         * definition (docs/PROTOCOL.md §5.8), which the store does not know: it notes that
         * they are to be made again (STORE_META_REDIGEST: core does, at its open). The
         * store is taken on as it is, and from now on refused by versions that read
         * format 3 at most. */
        format = STORE_FORMAT;
        err = s_meta_put_u64(txn, "format", format);
        if (err == MESH_OK) {
            err = s_meta_put_u64(txn, STORE_META_REDIGEST, 1);
        }
    }
    if (err != MESH_OK) {
        return err;
    }
    if (format != STORE_FORMAT) {
        env_seterr(st, "store format %llu is not known to this version (it reads formats 2 to %u)",
                   (unsigned long long)format, STORE_FORMAT);
        return MESH_EFORMAT;
    }
    s_file_id(st, now_fid);
    err = env_get(txn, ENV_META, "file_id", 7, &fid, &fid_len);
    if (err != MESH_OK && err != MESH_ENOTFOUND) {
        return err;
    }
    if (s_meta_u64(txn, "incarnation", &inc) == MESH_OK && err == MESH_OK &&
        fid_len == sizeof now_fid && memcmp(fid, now_fid, sizeof now_fid) == 0) {
        st->incarnation = inc;
        st->incarnation_new = false;
        return MESH_OK;
    }
    st->incarnation = s_random_u64();
    st->incarnation_new = true;
    err = s_meta_put_u64(txn, "incarnation", st->incarnation);
    if (err == MESH_OK) {
        err = env_put(txn, ENV_META, "file_id", 7, now_fid, sizeof now_fid);
    }
    return err;
}

/* The open's first write transaction: the format and identity, then the change log of a
 * store made before it (store_changes_init). */
static mesh_err_t
s_open_txn(store_txn_t *txn, void *ctx)
{
    mesh_err_t err = s_open_meta(txn, ctx);
    return err == MESH_OK ? store_changes_init(txn, NULL) : err;
}

/* Open the databases once; the handles stay valid for the environment's life. */
static mesh_err_t
s_open_dbs(store_t *st)
{
    MDB_txn *txn = NULL;
    int rc = mdb_txn_begin(st->env, NULL, 0, &txn);
    for (int i = 0; rc == MDB_SUCCESS && i < ENV_NDB; i++) {
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
        rc = mdb_env_set_maxdbs(st->env, ENV_NDB);
    }
    if (rc == MDB_SUCCESS) {
        rc = mdb_env_set_mapsize(st->env, (size_t)store_map_size(st));
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

mesh_err_t
env_open(store_t *st)
{
    int rc = s_env_try(st);
    /* Where the address space cannot hold the map (a ulimit, valgrind), use a smaller
     * one: it grows by itself when it fills. */
    while ((rc == ENOMEM || rc == EINVAL) && store_map_size(st) > S_MAP_MIN) {
        __atomic_store_n(&st->map_size, store_map_size(st) / 2, __ATOMIC_RELAXED);
        rc = s_env_try(st);
    }
    if (rc != MDB_SUCCESS) {
        return s_map(st, rc, "open store");
    }
    int dead = 0;
    (void)mdb_reader_check(st->env, &dead);
    return s_open_dbs(st);
}

/* The gate's mutex and its condition (on the monotonic clock, for s_remap's deadline). */
static int
s_gate_init(store_t *st)
{
    pthread_condattr_t attr;
    int rc = pthread_condattr_init(&attr);
    if (rc == 0) {
        rc = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
        if (rc == 0) {
            rc = pthread_cond_init(&st->gate_changed, &attr);
        }
        pthread_condattr_destroy(&attr);
    }
    if (rc == 0 && (rc = pthread_mutex_init(&st->gate, NULL)) != 0) {
        pthread_cond_destroy(&st->gate_changed);
    }
    return rc;
}

mesh_err_t
store_open(const char *dir, uint64_t map_size, store_t **out, char *errmsg, size_t errmsg_len)
{
    if (!dir || !out) {
        return MESH_EINVAL;
    }
    *out = NULL;
    store_t *st = calloc(1, sizeof *st);
    if (!st || s_gate_init(st) != 0) {
        free(st);
        return MESH_ENOMEM;
    }
    mesh_err_t err = MESH_OK;
    if (snprintf(st->path, sizeof st->path, "%s", dir) >= (int)sizeof st->path) {
        err = MESH_EINVAL;
        env_seterr(st, "path too long");
        goto out;
    }
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        env_seterr(st, "create %s: %s", dir, strerror(errno));
        err = errno == ENOSPC ? MESH_ENOSPC : MESH_EIO;
        goto out;
    }
    st->map_size = map_size ? map_size : STORE_MAP_DEFAULT;
    err = env_open(st);
    if (err == MESH_OK) {
        err = store_write(st, s_open_txn, st);
    }
out:
    if (err != MESH_OK) {
        if (errmsg && errmsg_len) {
            snprintf(errmsg, errmsg_len, "%s", s_errmsg);
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
    pthread_cond_destroy(&st->gate_changed);
    pthread_mutex_destroy(&st->gate);
    free(st);
}

/* ---- the gate: transactions apart from remaps (see struct store) ---- */

typedef enum s_remap_kind {
    S_GROW,   /* double the map: a write filled it */
    S_ADOPT,  /* map the size another process grew the file to (MDB_MAP_RESIZED) */
    S_REOPEN, /* close and reopen the environment (MDB_PANIC, store_release_memory) */
} s_remap_kind_t;

static const char *const s_remap_names[] = {"grown", "adopted from another process", "reopened"};

/* Count a transaction of the calling thread in; *seen receives the remap count. Waits while
 * a remap waits, unless this thread already holds a transaction. */
static void
s_enter(store_t *st, uint64_t *seen)
{
    pthread_mutex_lock(&st->gate);
    while (st->remap_waiting && s_thread_txns == 0) {
        pthread_cond_wait(&st->gate_changed, &st->gate);
    }
    st->open_txns++;
    *seen = st->remaps;
    pthread_mutex_unlock(&st->gate);
    s_thread_txns++;
}

/* Count a transaction of the calling thread out (its LMDB transaction has ended). */
static void
s_leave(store_t *st)
{
    s_thread_txns--;
    pthread_mutex_lock(&st->gate);
    if (--st->open_txns == 0 && st->remap_waiting) {
        pthread_cond_broadcast(&st->gate_changed);
    }
    pthread_mutex_unlock(&st->gate);
}

/* Close and open the environment again, at the current map size. Error: the store reports
 * itself closed from then on. The caller is alone (see s_remap). */
static mesh_err_t
s_reopen(store_t *st)
{
    mdb_env_close(st->env);
    st->env = NULL;
    mesh_err_t err = env_open(st);
    if (err != MESH_OK && st->env) {
        mdb_env_close(st->env);
    }
    if (err != MESH_OK) {
        st->env = NULL;
    }
    return err;
}

/* Remap now. The caller is alone: it holds the gate and no transaction is open. */
static mesh_err_t
s_remap_now(store_t *st, s_remap_kind_t kind)
{
    if (!st->env) {
        env_seterr(st, "store is closed after a fatal error");
        return MESH_EIO;
    }
    if (kind == S_REOPEN) {
        return s_reopen(st);
    }
    uint64_t size = kind == S_GROW ? store_map_size(st) * 2 : 0; /* 0: the file's size */
    int rc = mdb_env_set_mapsize(st->env, (size_t)size);
    if (rc != MDB_SUCCESS) {
        /* LMDB unmapped the old map before it failed to make the new one: map the old
         * size again, so the store keeps working at the size it had */
        mesh_err_t err = s_map(st, rc, kind == S_GROW ? "grow map" : "adopt grown map");
        (void)s_reopen(st);
        return err;
    }
    MDB_envinfo info;
    mdb_env_info(st->env, &info);
    __atomic_store_n(&st->map_size, (uint64_t)info.me_mapsize, __ATOMIC_RELAXED);
    return MESH_OK;
}

/* Remap alone: wait until no transaction of this process is open (those that begin
 * meanwhile wait, see s_enter), then remap. When another thread remapped since the caller
 * saw seen remaps, nothing is done: the caller tries again on the new map. The calling
 * thread must hold no transaction (on any store), or it would wait for itself:
 * MESH_ESTATE. MESH_EBUSY when other threads keep a transaction open for S_REMAP_WAIT_S.
 * Either way nothing changed. */
static mesh_err_t
s_remap(store_t *st, uint64_t seen, s_remap_kind_t kind)
{
    if (s_thread_txns > 0) {
        env_seterr(st,
                   "the map must be %s, which waits for every transaction of this process: "
                   "end this thread's open read transaction (an iterator?) and try again",
                   s_remap_names[kind]);
        return MESH_ESTATE;
    }
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += S_REMAP_WAIT_S;
    mesh_err_t err = MESH_OK;
    pthread_mutex_lock(&st->gate);
    while (st->remap_waiting && st->remaps == seen) {
        pthread_cond_wait(&st->gate_changed, &st->gate); /* another remaps: wait for it */
    }
    if (st->remaps == seen) {
        st->remap_waiting = true;
        int rc = 0;
        while (st->open_txns > 0 && rc != ETIMEDOUT) {
            rc = pthread_cond_timedwait(&st->gate_changed, &st->gate, &deadline);
        }
        if (st->open_txns > 0) {
            env_seterr(st, "the map must be %s, but %u transactions stayed open for %d s",
                       s_remap_names[kind], st->open_txns, S_REMAP_WAIT_S);
            err = MESH_EBUSY;
        } else {
            err = s_remap_now(st, kind);
            st->remaps++;
        }
        st->remap_waiting = false;
        pthread_cond_broadcast(&st->gate_changed);
    }
    pthread_mutex_unlock(&st->gate);
    return err;
}

/* Enter the gate and begin an LMDB transaction in txn (flags: MDB_RDONLY or 0), adopting a
 * map another process grew and reopening after MDB_PANIC. MESH_OK: txn->txn is open and
 * counted in (end it, then s_leave); *seen as for s_remap. Error: nothing is held. */
static mesh_err_t
s_begin(store_t *st, unsigned flags, store_txn_t *txn, uint64_t *seen)
{
    for (int remaps = 0;; remaps++) {
        s_enter(st, seen);
        if (!st->env) {
            s_leave(st);
            env_seterr(st, "store is closed after a fatal error");
            return MESH_EIO;
        }
        int rc = mdb_txn_begin(st->env, NULL, flags, &txn->txn);
        if (rc == MDB_SUCCESS) {
            return MESH_OK;
        }
        txn->txn = NULL;
        s_leave(st);
        if ((rc != MDB_MAP_RESIZED && rc != MDB_PANIC) || remaps == S_BEGIN_REMAPS) {
            return s_map(st, rc, flags & MDB_RDONLY ? "begin read" : "begin write");
        }
        mesh_err_t err = s_remap(st, *seen, rc == MDB_MAP_RESIZED ? S_ADOPT : S_REOPEN);
        if (err != MESH_OK) {
            return err;
        }
    }
}

uint64_t
store_last_txnid(store_t *st)
{
    /* The id a new read transaction sees, not the newest meta page (mdb_env_info): another
     * process's commit writes its meta page a moment before readers may start on it, and
     * whoever reacts to the new id must find its data. */
    store_txn_t txn = {.st = st};
    uint64_t seen = 0, id = 0;
    if (s_begin(st, MDB_RDONLY, &txn, &seen) == MESH_OK) {
        id = (uint64_t)mdb_txn_id(txn.txn);
        mdb_txn_abort(txn.txn);
        s_leave(st);
    }
    return id;
}

bool
store_release_memory(store_t *st)
{
    /* LMDB keeps the pages a write transaction dirtied for the next one, until the
     * environment closes; after a large apply that is most of the process's memory */
    bool done = false;
    pthread_mutex_lock(&st->gate);
    if (st->open_txns == 0 && !st->remap_waiting && st->env) {
        done = s_remap_now(st, S_REOPEN) == MESH_OK;
        st->remaps++;
    }
    pthread_mutex_unlock(&st->gate);
    return done;
}

/* ---- transactions ---- */

/* The microseconds from t0 to now. */
static uint64_t
s_since_us(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (uint64_t)((t1.tv_sec - t0->tv_sec) * 1000000 + (t1.tv_nsec - t0->tv_nsec) / 1000);
}

mesh_err_t
store_write(store_t *st, store_write_fn fn, void *ctx)
{
    for (int attempt = 0; attempt < 64; attempt++) {
        store_txn_t txn = {.st = st, .write = true};
        uint64_t seen = 0;
        mesh_err_t err = s_begin(st, 0, &txn, &seen);
        if (err != MESH_OK) {
            return err;
        }
        s_errmsg[0] = '\0';
        s_map_full = false;
        int rc = MDB_SUCCESS;
        err = fn(&txn, ctx);
        if (err == MESH_OK && txn.chg.dirty) {
            err = store_changes_flush(&txn); /* the log's counter, in the same transaction */
        }
        if (err == MESH_OK) {
            struct timespec t0;
            clock_gettime(CLOCK_MONOTONIC, &t0);
            rc = mdb_txn_commit(txn.txn); /* ends the transaction, whatever it returns */
            __atomic_store_n(&st->commit_us, s_since_us(&t0), __ATOMIC_RELAXED);
            if (rc == MDB_SUCCESS && txn.incarnation_pending) {
                __atomic_store_n(&st->incarnation, txn.incarnation_pending, __ATOMIC_RELAXED);
            }
            store_change_hook_fn hook = __atomic_load_n(&st->change_hook, __ATOMIC_ACQUIRE);
            if (rc == MDB_SUCCESS && txn.chg.dirty && hook) {
                hook(__atomic_load_n(&st->change_hook_ctx, __ATOMIC_ACQUIRE));
            }
            err = s_map(st, rc, "commit");
        } else {
            mdb_txn_abort(txn.txn);
        }
        s_leave(st);
        if (rc == MDB_PANIC) {
            (void)s_remap(st, seen, S_REOPEN); /* the next transaction finds it open */
            return err;
        }
        if (err == MESH_OK || !s_map_full) {
            return err;
        }
        err = s_remap(st, seen, S_GROW);
        if (err != MESH_OK) {
            return err;
        }
    }
    env_seterr(st, "map kept filling after growing");
    return MESH_EIO;
}

mesh_err_t
store_read_begin(store_t *st, store_txn_t **out)
{
    *out = NULL;
    store_txn_t *txn = calloc(1, sizeof *txn);
    if (!txn) {
        return MESH_ENOMEM;
    }
    txn->st = st;
    uint64_t seen = 0;
    mesh_err_t err = s_begin(st, MDB_RDONLY, txn, &seen);
    if (err != MESH_OK) {
        free(txn);
        return err;
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
    store_t *st = txn->st;
    mdb_txn_abort(txn->txn);
    free(txn);
    s_leave(st);
}

/* ---- incarnation inside a write ---- */

mesh_err_t
store_txn_incarnation(store_txn_t *txn, uint64_t *inc)
{
    mesh_err_t err = s_meta_u64(txn, "incarnation", inc);
    return err == MESH_ENOTFOUND ? MESH_ECORRUPT : err;
}

mesh_err_t
store_incarnation_renew(store_txn_t *txn, uint64_t *inc)
{
    *inc = s_random_u64();
    mesh_err_t err = s_meta_put_u64(txn, "incarnation", *inc);
    if (err == MESH_OK) {
        txn->incarnation_pending = *inc;
    }
    return err;
}

/* ---- cursors ---- */

struct store_cursor {
    store_txn_t *txn;
    MDB_cursor *cur;
    uint8_t start[ENV_CURSOR_KEY_MAX]; /* where the first step lands */
    size_t start_len;
    size_t match_len; /* bytes of start every key must share */
    bool started;
    const uint8_t *filter; /* kept for the cursor's user */
    size_t filter_len;
    uint8_t keybuf[STORE_KEY_INLINE_MAX];
};

mesh_err_t
env_cursor_open(store_txn_t *txn, env_db_t db, const uint8_t *start, size_t start_len,
                size_t match_len, store_cursor_t **out)
{
    *out = NULL;
    if (start_len > ENV_CURSOR_KEY_MAX || match_len > start_len) {
        return MESH_EINVAL;
    }
    store_cursor_t *cur = calloc(1, sizeof *cur);
    if (!cur) {
        return MESH_ENOMEM;
    }
    cur->txn = txn;
    if (start_len) {
        memcpy(cur->start, start, start_len);
    }
    cur->start_len = start_len;
    cur->match_len = match_len;
    int rc = mdb_cursor_open(txn->txn, txn->st->dbi[db], &cur->cur);
    if (rc != MDB_SUCCESS) {
        free(cur);
        return s_map(txn->st, rc, s_db_names[db]);
    }
    *out = cur;
    return MESH_OK;
}

mesh_err_t
env_cursor_next(store_cursor_t *cur, const uint8_t **k, size_t *klen, const uint8_t **v,
                size_t *vlen)
{
    MDB_val key = {cur->start_len, cur->start}, val;
    int rc;
    if (!cur->started) {
        cur->started = true;
        /* LMDB refuses an empty key: an empty start is the first record. */
        rc = mdb_cursor_get(cur->cur, &key, &val, cur->start_len ? MDB_SET_RANGE : MDB_FIRST);
    } else {
        rc = mdb_cursor_get(cur->cur, &key, &val, MDB_NEXT);
    }
    if (rc == MDB_NOTFOUND) {
        return MESH_ENOTFOUND;
    }
    if (rc != MDB_SUCCESS) {
        return s_map(cur->txn->st, rc, "cursor");
    }
    if (key.mv_size < cur->match_len || memcmp(key.mv_data, cur->start, cur->match_len) != 0) {
        return MESH_ENOTFOUND;
    }
    *k = key.mv_data;
    *klen = key.mv_size;
    *v = val.mv_data;
    *vlen = val.mv_size;
    return MESH_OK;
}

store_txn_t *
env_cursor_txn(store_cursor_t *cur)
{
    return cur->txn;
}

void
env_cursor_set_filter(store_cursor_t *cur, const uint8_t *p, size_t len)
{
    cur->filter = p;
    cur->filter_len = len;
}

const uint8_t *
env_cursor_filter(const store_cursor_t *cur, size_t *len)
{
    *len = cur->filter_len;
    return cur->filter;
}

uint8_t *
env_cursor_keybuf(store_cursor_t *cur)
{
    return cur->keybuf;
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

mesh_err_t
env_seek_le(store_txn_t *txn, env_db_t db, const void *k, size_t klen, size_t match_len,
            const uint8_t **rk, size_t *rklen, const uint8_t **v, size_t *vlen)
{
    MDB_cursor *c = NULL;
    MDB_val key = {klen, (void *)k}, val;
    int rc = mdb_cursor_open(txn->txn, txn->st->dbi[db], &c);
    if (rc != MDB_SUCCESS) {
        return s_map(txn->st, rc, s_db_names[db]);
    }
    rc = mdb_cursor_get(c, &key, &val, MDB_SET_RANGE);
    if (rc == MDB_SUCCESS && !(key.mv_size == klen && memcmp(key.mv_data, k, klen) == 0)) {
        rc = mdb_cursor_get(c, &key, &val, MDB_PREV); /* past it: step back */
    } else if (rc == MDB_NOTFOUND) {
        rc = mdb_cursor_get(c, &key, &val, MDB_LAST);
    }
    mesh_err_t err = MESH_ENOTFOUND;
    if (rc == MDB_SUCCESS && key.mv_size >= match_len && memcmp(key.mv_data, k, match_len) == 0) {
        *rk = key.mv_data;
        *rklen = key.mv_size;
        *v = val.mv_data;
        *vlen = val.mv_size;
        err = MESH_OK;
    } else if (rc != MDB_SUCCESS && rc != MDB_NOTFOUND) {
        err = s_map(txn->st, rc, "seek");
    }
    mdb_cursor_close(c);
    return err;
}

mesh_err_t
env_count(store_txn_t *txn, env_db_t db, uint64_t *count)
{
    MDB_stat stat;
    int rc = mdb_stat(txn->txn, txn->st->dbi[db], &stat);
    *count = rc == MDB_SUCCESS ? stat.ms_entries : 0;
    return s_map(txn->st, rc, "stat");
}

store_t *
env_store(store_txn_t *txn)
{
    return txn->st;
}
