/* tests/bench/bench_apply.c: apply throughput of meshsync beside raw LMDB, and the size of
 * an incremental (--since) bundle.
 * Takes N items (16 random bytes as 32 hex chars -> 100-byte value, the data of
 * bench_commit) as real signed change sets of 1,000 ops from another device, encoded bytes
 * made up front, and times apply_batch on them (decode + signature, value and Merkle
 * checks + one durable write transaction per set), beside plain durable LMDB inserting the
 * same keys and values in the same order with a commit every 1,000, in two rounds of
 * opposite order; prints items/s and the ratio. Then, untimed for the ratio, it exports the
 * receiver's store as a full bundle into a second node, changes one item and measures the
 * --since bundle that carries that change.
 * Layer: tests. Third-party: lmdb.h (the baseline only). SPDX-License-Identifier: MIT */
#include "meshsync.h"

#include "apply.h"
#include "devid.h"
#include "hash.h"
#include "ident.h"
#include "wire.h"

#include <lmdb.h>

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define S_ITEMS_DEFAULT 1000000u              /* items per run unless --items or BENCH_ITEMS */
#define S_SET_ITEMS     1000u                 /* ops per set = puts per raw transaction */
#define S_KEY_RAW       16u                   /* random bytes per key */
#define S_KEY_LEN       (2u * S_KEY_RAW)      /* hex chars per key */
#define S_VALUE_LEN     100u                  /* bytes per value */
#define S_VERIFY        1000u                 /* keys read back after each meshsync run */
#define S_TARGET        0.50                  /* meshsync/raw ratio the issue asks for */
#define S_SINCE_TARGET  1024u                 /* bytes the --since bundle must stay under */
#define S_MAP_SIZE      ((size_t)1 << 40)     /* 1 TiB, sparse, as meshsync's default */
#define S_SEED          0x6d65736873796e63ull /* "meshsync": same data as bench_commit */
#define S_COLL          "bench"
#define S_DIRS_MAX      8u

/* The items, generated once so that every run loads the same bytes in the same order. */
typedef struct s_data {
    size_t items;
    char *keys;      /* items * S_KEY_LEN hex chars, no NULs */
    uint8_t *values; /* items * S_VALUE_LEN bytes */
} s_data_t;

/* The encoded change sets of the producing device, one per S_SET_ITEMS items. */
typedef struct s_input {
    ident_t *ident;                     /* the producer's key pair (in memory only) */
    char id_text[MESH_ID_TEXT_LEN + 1]; /* its device ID */
    uint64_t incarnation;
    size_t count;    /* sets */
    uint8_t **bytes; /* each set's encoding (malloc'd by wire_buf) */
    size_t *lens;
    uint64_t total; /* bytes in all sets */
} s_input_t;

/* One timed load. */
typedef struct s_run {
    double seconds;      /* wall time of the load loop (open and close excluded) */
    uint64_t disk_bytes; /* blocks allocated to data.mdb after the load */
    uint64_t file_bytes; /* apparent size of data.mdb */
} s_run_t;

static char s_dirs[S_DIRS_MAX][4096]; /* temp dirs still to remove */
static size_t s_ndirs;

/* Remove path and, if it is a directory, everything under it (no symlinks followed).
 * Returns 0, or -1 with errno set by the first failure. */
static int
s_rm_tree(const char *path)
{
    struct stat sb;
    if (lstat(path, &sb) != 0) {
        return -1;
    }
    if (S_ISDIR(sb.st_mode)) {
        DIR *dir = opendir(path);
        if (!dir) {
            return -1;
        }
        struct dirent *e;
        while ((e = readdir(dir)) != NULL) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) {
                continue;
            }
            char child[4200];
            snprintf(child, sizeof child, "%s/%s", path, e->d_name);
            if (s_rm_tree(child) != 0) {
                int saved = errno;
                closedir(dir);
                errno = saved;
                return -1;
            }
        }
        closedir(dir);
    }
    return remove(path);
}

/* Remove every temp dir made so far (best effort). */
static void
s_cleanup(void)
{
    while (s_ndirs > 0) {
        s_ndirs--;
        if (s_rm_tree(s_dirs[s_ndirs]) != 0) {
            fprintf(stderr, "bench_apply: cannot remove '%s': %s\n", s_dirs[s_ndirs],
                    strerror(errno));
        }
    }
}

static void s_die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void
s_die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("bench_apply: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    s_cleanup();
    exit(1);
}

/* Make a fresh directory under $BENCH_DIR (default /tmp); it is removed by s_cleanup. */
static const char *
s_mkdir_temp(const char *tag)
{
    const char *base = getenv("BENCH_DIR");
    if (!base || !*base) {
        base = "/tmp";
    }
    if (s_ndirs == S_DIRS_MAX) {
        s_die("too many temp dirs");
    }
    char *dir = s_dirs[s_ndirs];
    int n = snprintf(dir, sizeof s_dirs[0], "%s/bench_apply_%s_XXXXXX", base, tag);
    if (n < 0 || (size_t)n >= sizeof s_dirs[0]) {
        s_die("BENCH_DIR is too long");
    }
    if (!mkdtemp(dir)) {
        s_die("mkdtemp '%s': %s", dir, strerror(errno));
    }
    s_ndirs++;
    return dir;
}

/* Remove one temp dir (made by s_mkdir_temp) once it is no longer needed. */
static void
s_rmdir(const char *dir)
{
    for (size_t i = s_ndirs; i-- > 0;) {
        if (s_dirs[i] != dir) {
            continue;
        }
        if (s_rm_tree(s_dirs[i]) != 0) {
            s_die("cannot remove '%s': %s", s_dirs[i], strerror(errno));
        }
        for (size_t j = i + 1; j < s_ndirs; j++) {
            memcpy(s_dirs[j - 1], s_dirs[j], sizeof s_dirs[0]);
        }
        s_ndirs--;
        return;
    }
    s_die("'%s' is not a temp dir of this run", dir);
}

static double
s_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t
s_splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static void
s_data_make(s_data_t *d, size_t items)
{
    static const char hex[] = "0123456789abcdef";
    uint64_t state = S_SEED;
    d->items = items;
    d->keys = malloc(items * S_KEY_LEN);
    d->values = malloc(items * S_VALUE_LEN);
    if (!d->keys || !d->values) {
        s_die("out of memory for %zu items", items);
    }
    for (size_t i = 0; i < items; i++) {
        char *key = d->keys + i * S_KEY_LEN;
        for (size_t w = 0; w < S_KEY_RAW / 8; w++) {
            uint64_t r = s_splitmix64(&state);
            for (size_t b = 0; b < 8; b++) {
                uint8_t byte = (uint8_t)(r >> (8 * b));
                key[(w * 8 + b) * 2] = hex[byte >> 4];
                key[(w * 8 + b) * 2 + 1] = hex[byte & 15];
            }
        }
        uint8_t *value = d->values + i * S_VALUE_LEN;
        for (size_t off = 0; off < S_VALUE_LEN; off += 8) {
            uint64_t r = s_splitmix64(&state);
            size_t n = S_VALUE_LEN - off < 8 ? S_VALUE_LEN - off : 8;
            memcpy(value + off, &r, n);
        }
    }
}

static void
s_data_release(s_data_t *d)
{
    free(d->keys);
    free(d->values);
    d->keys = NULL;
    d->values = NULL;
}

static void
s_mesh_check(mesh_t *m, mesh_err_t err, const char *what)
{
    if (err != MESH_OK) {
        s_die("meshsync: %s: %s (%s)", what, mesh_strerror(err), m ? mesh_errmsg(m) : "");
    }
}

/* ---- the input: signed sets from another device, encoded with the library's encoders ---- */

/* Encode items [from, to) as one full set, first_seq from + 1, as a commit on the producer
 * would: each op's metadata (no context: every key is new), its Merkle leaf, the root in
 * the header, the header signed; appends the set's bytes to in. */
static void
s_input_set(s_input_t *in, const s_data_t *d, size_t from, size_t to, uint64_t hlc,
            wire_buf_t *metas, size_t *offs, uint8_t (*leaves)[HASH_LEN], wire_op_t *ops)
{
    size_t n = to - from;
    wire_buf_reset(metas);
    for (size_t k = 0; k < n; k++) {
        size_t i = from + k;
        wire_opmeta_t meta = {.seq = (uint64_t)i + 1,
                              .key = (const uint8_t *)d->keys + i * S_KEY_LEN,
                              .key_len = S_KEY_LEN,
                              .kind = WIRE_PUT,
                              .value_len = S_VALUE_LEN};
        hash_tagged(HASH_TAG_VALUE, d->values + i * S_VALUE_LEN, S_VALUE_LEN, meta.vhash);
        offs[k] = metas->len;
        s_mesh_check(NULL, wire_opmeta_encode(&meta, NULL, 0, metas), "wire_opmeta_encode");
    }
    offs[n] = metas->len;
    for (size_t k = 0; k < n; k++) {
        ops[k] = (wire_op_t){.meta = metas->data + offs[k],
                             .meta_len = offs[k + 1] - offs[k],
                             .value = d->values + (from + k) * S_VALUE_LEN,
                             .value_len = S_VALUE_LEN};
        hash_tagged(HASH_TAG_LEAF, ops[k].meta, ops[k].meta_len, leaves[k]);
    }
    wire_header_t h = {.coll = S_COLL,
                       .coll_len = strlen(S_COLL),
                       .incarnation = in->incarnation,
                       .first_seq = (uint64_t)from + 1,
                       .count = (uint32_t)n,
                       .hlc = hlc};
    memcpy(h.origin, ident_public_key(in->ident), WIRE_ORIGIN_LEN);
    hash_merkle_root((const uint8_t(*)[HASH_LEN])leaves, n, h.root);
    wire_buf_t header, set;
    wire_buf_init(&header);
    wire_buf_init(&set);
    s_mesh_check(NULL, wire_header_encode(&h, &header), "wire_header_encode");
    uint8_t sig[IDENT_SIG_LEN];
    ident_sign(in->ident, header.data, header.len, sig);
    s_mesh_check(NULL, wire_set_encode(header.data, header.len, sig, ops, n, &set),
                 "wire_set_encode");
    wire_buf_release(&header);
    in->bytes[in->count] = set.data; /* the set's buffer is kept; released in s_input_release */
    in->lens[in->count] = set.len;
    in->total += set.len;
    in->count++;
}

static void
s_input_make(s_input_t *in, const s_data_t *d)
{
    memset(in, 0, sizeof *in);
    s_mesh_check(NULL, ident_lib_init(), "ident_lib_init");
    s_mesh_check(NULL, ident_generate(&in->ident), "ident_generate");
    devid_format(ident_public_key(in->ident), in->id_text);
    while (in->incarnation == 0) {
        ident_random(&in->incarnation, sizeof in->incarnation);
    }
    size_t sets = (d->items + S_SET_ITEMS - 1) / S_SET_ITEMS;
    in->bytes = calloc(sets, sizeof *in->bytes);
    in->lens = calloc(sets, sizeof *in->lens);
    size_t *offs = malloc((S_SET_ITEMS + 1) * sizeof *offs);
    uint8_t(*leaves)[HASH_LEN] = malloc(S_SET_ITEMS * sizeof *leaves);
    wire_op_t *ops = malloc(S_SET_ITEMS * sizeof *ops);
    if (!in->bytes || !in->lens || !offs || !leaves || !ops) {
        s_die("out of memory for %zu sets", sets);
    }
    wire_buf_t metas;
    wire_buf_init(&metas);
    /* HLCs as the producer's clock would give them: now, one step per set. */
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t hlc = ((uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u) << 16;
    for (size_t i = 0; i < d->items; i += S_SET_ITEMS) {
        size_t end = i + S_SET_ITEMS < d->items ? i + S_SET_ITEMS : d->items;
        s_input_set(in, d, i, end, hlc++, &metas, offs, leaves, ops);
    }
    wire_buf_release(&metas);
    free(offs);
    free(leaves);
    free(ops);
}

static void
s_input_release(s_input_t *in)
{
    for (size_t i = 0; i < in->count; i++) {
        free(in->bytes[i]);
    }
    free(in->bytes);
    free(in->lens);
    ident_free(in->ident);
    memset(in, 0, sizeof *in);
}

/* ---- raw LMDB ---- */

static void
s_file_size(const char *dir, const char *sub, s_run_t *run)
{
    char file[4200];
    struct stat sb;
    snprintf(file, sizeof file, "%s%s/data.mdb", dir, sub);
    if (stat(file, &sb) != 0) {
        s_die("stat '%s': %s", file, strerror(errno));
    }
    run->disk_bytes = (uint64_t)sb.st_blocks * 512u;
    run->file_bytes = (uint64_t)sb.st_size;
}

static void
s_mdb_check(int rc, const char *what)
{
    if (rc != MDB_SUCCESS) {
        s_die("raw LMDB: %s: %s", what, mdb_strerror(rc));
    }
}

/* Load every item into a fresh, durable LMDB env, committing every S_SET_ITEMS puts. */
static void
s_run_raw(const s_data_t *d, s_run_t *run)
{
    const char *dir = s_mkdir_temp("raw");
    MDB_env *env = NULL;
    MDB_txn *txn = NULL;
    MDB_dbi dbi;
    s_mdb_check(mdb_env_create(&env), "env_create");
    s_mdb_check(mdb_env_set_mapsize(env, S_MAP_SIZE), "env_set_mapsize");
    s_mdb_check(mdb_env_open(env, dir, 0, 0600), "env_open");
    s_mdb_check(mdb_txn_begin(env, NULL, 0, &txn), "txn_begin");
    s_mdb_check(mdb_dbi_open(txn, NULL, 0, &dbi), "dbi_open");
    s_mdb_check(mdb_txn_commit(txn), "txn_commit");

    double start = s_now();
    for (size_t i = 0; i < d->items; i += S_SET_ITEMS) {
        size_t end = i + S_SET_ITEMS < d->items ? i + S_SET_ITEMS : d->items;
        s_mdb_check(mdb_txn_begin(env, NULL, 0, &txn), "txn_begin");
        for (size_t j = i; j < end; j++) {
            MDB_val key = {S_KEY_LEN, d->keys + j * S_KEY_LEN};
            MDB_val value = {S_VALUE_LEN, d->values + j * S_VALUE_LEN};
            s_mdb_check(mdb_put(txn, dbi, &key, &value, 0), "put");
        }
        s_mdb_check(mdb_txn_commit(txn), "txn_commit");
    }
    run->seconds = s_now() - start;

    /* Not timed: the store holds every item (random 128-bit keys do not collide). */
    MDB_stat ms;
    s_mdb_check(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn), "txn_begin");
    s_mdb_check(mdb_stat(txn, dbi, &ms), "stat");
    mdb_txn_abort(txn);
    if (ms.ms_entries != d->items) {
        s_die("raw LMDB holds %zu entries, expected %zu", (size_t)ms.ms_entries, d->items);
    }
    mdb_env_close(env);
    s_file_size(dir, "", run);
    s_rmdir(dir);
}

/* ---- meshsync ---- */

/* Open (or with create, make) the node whose home is dir. */
static mesh_t *
s_mesh_open(const char *dir, bool create, const char *name)
{
    mesh_options_t opts;
    memset(&opts, 0, sizeof opts);
    opts.size = sizeof opts;
    opts.home = dir;
    opts.create = create;
    opts.offline = true;
    opts.name = name;
    mesh_t *m = NULL;
    s_mesh_check(NULL, mesh_open(&opts, &m), "mesh_open");
    return m;
}

/* A fresh receiver in a new temp dir that trusts the producer. */
static mesh_t *
s_receiver(const s_input_t *in, const char *tag, const char **home)
{
    *home = s_mkdir_temp(tag);
    mesh_t *m = s_mesh_open(*home, true, "receiver");
    s_mesh_check(m, mesh_peer_add(m, in->id_text, "producer", NULL, 0), "mesh_peer_add");
    return m;
}

/* Apply one encoded set alone; returns its result (the call itself must succeed). */
static apply_result_t
s_apply_one(mesh_t *m, const uint8_t *set, size_t len)
{
    apply_result_t res;
    s_mesh_check(m, apply_batch(m, &set, &len, 1, NULL, &res), "apply_batch");
    return res;
}

/* Not timed: the input is what a receiver accepts, and what it must refuse. Applies set 0
 * to a scratch receiver after a copy with one value byte changed and a copy with one
 * signature byte changed were both rejected, and reads its first item back. */
static void
s_input_check(const s_input_t *in, const s_data_t *d)
{
    const char *home = NULL;
    mesh_t *m = s_receiver(in, "sample", &home);
    size_t len = in->lens[0];
    uint8_t *copy = malloc(len);
    if (!copy) {
        s_die("out of memory");
    }
    /* Where the first op's value and the signature sit in the encoded bytes. */
    wire_set_t ws;
    s_mesh_check(NULL, wire_set_decode(in->bytes[0], len, &ws), "wire_set_decode");
    size_t value_at = (size_t)(ws.ops[0].value - in->bytes[0]);
    size_t sig_at = (size_t)(ws.sig - in->bytes[0]);
    wire_set_release(&ws);
    memcpy(copy, in->bytes[0], len);
    copy[value_at] ^= 1;
    apply_result_t r = s_apply_one(m, copy, len);
    if (r.outcome != APPLY_REJECTED || r.err != MESH_EDIGEST) {
        s_die("sample: a set with a changed value was not rejected with EDIGEST "
              "(outcome %d, %s)",
              (int)r.outcome, mesh_strerror(r.err));
    }
    memcpy(copy, in->bytes[0], len);
    copy[sig_at + 10] ^= 1;
    r = s_apply_one(m, copy, len);
    if (r.outcome != APPLY_REJECTED || r.err != MESH_EBADSIG) {
        s_die("sample: a set with a changed signature was not rejected with EBADSIG "
              "(outcome %d, %s)",
              (int)r.outcome, mesh_strerror(r.err));
    }
    free(copy);
    size_t n0 = d->items < S_SET_ITEMS ? d->items : S_SET_ITEMS;
    r = s_apply_one(m, in->bytes[0], len);
    if (r.outcome != APPLY_NEW || r.ops_stored != n0) {
        s_die("sample: set 0: outcome %d, %u ops stored of %zu (%s)", (int)r.outcome, r.ops_stored,
              n0, r.why);
    }
    r = s_apply_one(m, in->bytes[0], len);
    if (r.outcome != APPLY_KNOWN) {
        s_die("sample: set 0 applied twice: outcome %d, not APPLY_KNOWN", (int)r.outcome);
    }
    void *value = NULL;
    size_t value_len = 0;
    s_mesh_check(m, mesh_get(m, S_COLL, d->keys, S_KEY_LEN, &value, &value_len), "mesh_get");
    if (value_len != S_VALUE_LEN || memcmp(value, d->values, S_VALUE_LEN) != 0) {
        s_die("sample: item 0 reads back a different value");
    }
    mesh_free(value);
    mesh_close(m);
    s_rmdir(home);
}

/* Read back S_VERIFY items chosen at random (a different PRNG stream) and compare, and
 * check the collection's key count. */
static void
s_verify_mesh(mesh_t *m, const s_data_t *d)
{
    uint64_t state = S_SEED ^ 0x5bd1e995ull;
    size_t checks = d->items < S_VERIFY ? d->items : S_VERIFY;
    for (size_t n = 0; n < checks; n++) {
        size_t i = (size_t)(s_splitmix64(&state) % d->items);
        void *value = NULL;
        size_t value_len = 0;
        const char *key = d->keys + i * S_KEY_LEN;
        mesh_err_t err = mesh_get(m, S_COLL, key, S_KEY_LEN, &value, &value_len);
        if (err != MESH_OK) {
            s_die("verify: mesh_get of item %zu ('%.*s'): %s", i, (int)S_KEY_LEN, key,
                  mesh_strerror(err));
        }
        bool same = value_len == S_VALUE_LEN &&
                    memcmp(value, d->values + i * S_VALUE_LEN, S_VALUE_LEN) == 0;
        mesh_free(value);
        if (!same) {
            s_die("verify: item %zu ('%.*s') reads back a different value (%zu bytes)", i,
                  (int)S_KEY_LEN, key, value_len);
        }
    }
    char digest[65];
    uint64_t keys = 0;
    s_mesh_check(m, mesh_digest(m, S_COLL, digest, sizeof digest, &keys), "mesh_digest");
    if (keys != d->items) {
        s_die("verify: the collection holds %" PRIu64 " keys, expected %zu", keys, d->items);
    }
}

/* Apply every set, one per write transaction, into a fresh receiver. With keep, the
 * receiver's home stays (closed) for the bundle measurement and *kept names it. */
static void
s_run_mesh(const s_input_t *in, const s_data_t *d, s_run_t *run, const char **kept)
{
    const char *home = NULL;
    mesh_t *m = s_receiver(in, "mesh", &home);

    double start = s_now();
    for (size_t i = 0; i < in->count; i++) {
        apply_result_t res;
        const uint8_t *set = in->bytes[i];
        mesh_err_t err = apply_batch(m, &set, &in->lens[i], 1, NULL, &res);
        if (err != MESH_OK) {
            s_mesh_check(m, err, "apply_batch");
        }
        size_t want = i + 1 < in->count ? S_SET_ITEMS : d->items - i * S_SET_ITEMS;
        if (res.outcome != APPLY_NEW || res.ops_stored != want) {
            s_die("set %zu: outcome %d, %u ops stored of %zu (%s)", i, (int)res.outcome,
                  res.ops_stored, want, res.why);
        }
    }
    run->seconds = s_now() - start;

    s_verify_mesh(m, d);
    mesh_close(m);
    s_file_size(home, "/store", run);
    if (kept) {
        *kept = home;
    } else {
        s_rmdir(home);
    }
}

static double
s_rate(size_t items, double seconds)
{
    return seconds > 0 ? (double)items / seconds : 0;
}

static void
s_row(const char *system, size_t items, const s_run_t *run)
{
    printf("%-18s %10zu %9.3f %12.0f %10.1f %10.1f\n", system, items, run->seconds,
           s_rate(items, run->seconds), (double)run->disk_bytes / 1048576.0,
           (double)run->file_bytes / 1048576.0);
}

/* ---- bundles: a full copy into a second node, then one change by --since ---- */

static void
s_import_check(mesh_t *m, const void *bundle, size_t len, size_t want_new, const char *what)
{
    mesh_import_report_t rep;
    s_mesh_check(m, mesh_import(m, bundle, len, &rep), what);
    bool ok = rep.sets_held == 0 && rep.sets_rejected == 0 && rep.sets_new >= want_new;
    if (!ok) {
        s_die("%s: %zu new, %zu known, %zu held, %zu rejected: %s", what, rep.sets_new,
              rep.sets_known, rep.sets_held, rep.sets_rejected, rep.text ? rep.text : "");
    }
    mesh_free(rep.text);
}

static void
s_digest_same(mesh_t *a, mesh_t *b, const char *when)
{
    char da[65], db[65];
    uint64_t ka = 0, kb = 0;
    s_mesh_check(a, mesh_digest(a, S_COLL, da, sizeof da, &ka), "mesh_digest");
    s_mesh_check(b, mesh_digest(b, S_COLL, db, sizeof db, &kb), "mesh_digest");
    if (strcmp(da, db) != 0 || ka != kb) {
        s_die("%s: the two nodes' digests differ (%s, %" PRIu64 " keys / %s, %" PRIu64 " keys)",
              when, da, ka, db, kb);
    }
}

/* Node A (home_a: the receiver of a timed run, holding every item) and a fresh node B that
 * trust each other; B takes A's full bundle; A changes one item; B sends its vector and A
 * exports only what it lacks; B imports that and must read the new value. */
static void
s_run_bundles(const s_data_t *d, const char *home_a)
{
    mesh_t *a = s_mesh_open(home_a, false, NULL);
    const char *home_b = s_mkdir_temp("b");
    mesh_t *b = s_mesh_open(home_b, true, "node-b");
    char id_a[MESH_ID_TEXT_LEN + 1], id_b[MESH_ID_TEXT_LEN + 1];
    s_mesh_check(a, mesh_device_id(a, id_a, sizeof id_a), "mesh_device_id");
    s_mesh_check(b, mesh_device_id(b, id_b, sizeof id_b), "mesh_device_id");
    s_mesh_check(a, mesh_peer_add(a, id_b, "node-b", NULL, 0), "mesh_peer_add");
    s_mesh_check(b, mesh_peer_add(b, id_a, "node-a", NULL, 0), "mesh_peer_add");

    void *full = NULL;
    size_t full_len = 0;
    double t0 = s_now();
    s_mesh_check(a, mesh_export(a, NULL, 0, NULL, 0, &full, &full_len), "mesh_export (full)");
    double t_export = s_now() - t0;
    t0 = s_now();
    s_import_check(b, full, full_len, 1, "mesh_import (full)");
    double t_import = s_now() - t0;
    mesh_free(full);
    s_digest_same(a, b, "after the full bundle");

    /* One item changes on A: an ordinary local transaction, a new value for item n/2. */
    size_t at = d->items / 2;
    const char *key = d->keys + at * S_KEY_LEN;
    uint8_t value[S_VALUE_LEN];
    for (size_t i = 0; i < S_VALUE_LEN; i++) {
        value[i] = (uint8_t)(d->values[at * S_VALUE_LEN + i] ^ 0xa5);
    }
    mesh_txn_t *txn = NULL;
    s_mesh_check(a, mesh_txn_begin(a, S_COLL, &txn), "mesh_txn_begin");
    mesh_err_t err = mesh_put(txn, key, S_KEY_LEN, value, S_VALUE_LEN);
    if (err != MESH_OK) {
        mesh_txn_abort(txn);
        s_mesh_check(a, err, "mesh_put");
    }
    s_mesh_check(a, mesh_txn_commit(&txn, NULL), "mesh_txn_commit");

    void *vec = NULL, *since = NULL;
    size_t vec_len = 0, since_len = 0;
    s_mesh_check(b, mesh_vector(b, NULL, 0, &vec, &vec_len), "mesh_vector");
    t0 = s_now();
    s_mesh_check(a, mesh_export(a, NULL, 0, vec, vec_len, &since, &since_len),
                 "mesh_export (since)");
    double t_since = s_now() - t0;
    s_import_check(b, since, since_len, 1, "mesh_import (since)");
    mesh_free(since);
    mesh_free(vec);

    void *got = NULL;
    size_t got_len = 0;
    s_mesh_check(b, mesh_get(b, S_COLL, key, S_KEY_LEN, &got, &got_len), "mesh_get on B");
    bool same = got_len == S_VALUE_LEN && memcmp(got, value, S_VALUE_LEN) == 0;
    mesh_free(got);
    if (!same) {
        s_die("--since: B does not read the changed value of item %zu", at);
    }
    s_digest_same(a, b, "after the --since bundle");
    mesh_close(a);
    mesh_close(b);
    s_rmdir(home_b);

    printf("\nfull bundle of A (%zu items, every set with its signed header): %zu bytes "
           "(%.1f MiB, %.0f B per item)\n",
           d->items, full_len, (double)full_len / 1048576.0, (double)full_len / (double)d->items);
    printf("  mesh_export %.3f s (%.0f items/s), mesh_import into fresh B %.3f s (%.0f items/s, "
           "one write transaction)\n",
           t_export, s_rate(d->items, t_export), t_import, s_rate(d->items, t_import));
    printf("--since bundle for 1 changed item among %zu: %zu bytes (target < %u): %s; export "
           "%.3f s, vector %zu bytes\n",
           d->items, since_len, S_SINCE_TARGET, since_len < S_SINCE_TARGET ? "ok" : "OVER", t_since,
           vec_len);
    printf("verify: B reads the new value, and A and B have equal digests after each bundle: "
           "ok\n");
    printf("since: %zu bytes for 1 changed item among %zu (target < %u)\n", since_len, d->items,
           S_SINCE_TARGET);
}

static size_t
s_parse_items(const char *text, const char *from)
{
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || v == 0 || v > (1ull << 32)) {
        fprintf(stderr, "bench_apply: %s: bad item count '%s'\n", from, text);
        exit(2);
    }
    return (size_t)v;
}

static void
s_usage(FILE *f)
{
    fprintf(f,
            "usage: bench_apply [--items N]\n"
            "  --items N   items per run (default %u; env BENCH_ITEMS)\n"
            "  env BENCH_DIR: where the temp stores go (default /tmp)\n",
            S_ITEMS_DEFAULT);
}

int
main(int argc, char **argv)
{
    size_t items = S_ITEMS_DEFAULT;
    const char *env_items = getenv("BENCH_ITEMS");
    if (env_items && *env_items) {
        items = s_parse_items(env_items, "BENCH_ITEMS");
    }
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--items") == 0 && i + 1 < argc) {
            items = s_parse_items(argv[++i], "--items");
        } else if (strncmp(argv[i], "--items=", 8) == 0) {
            items = s_parse_items(argv[i] + 8, "--items");
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            s_usage(stdout);
            return 0;
        } else {
            s_usage(stderr);
            return 2;
        }
    }

    s_data_t data;
    s_input_t input;
    s_data_make(&data, items);
    double t0 = s_now();
    s_input_make(&input, &data);
    double t_input = s_now() - t0;
    printf("bench_apply: meshsync %s, LMDB %s\n", mesh_version(), mdb_version(NULL, NULL, NULL));
    printf("%zu items, keys %u hex chars, values %u bytes; meshsync applies %zu signed sets of "
           "%u ops\nfrom another device (decode + verify + apply, one durable write "
           "transaction per set);\nraw LMDB commits every %u puts\n",
           items, S_KEY_LEN, S_VALUE_LEN, input.count, S_SET_ITEMS, S_SET_ITEMS);
    printf("input (untimed): %zu sets, %.1f MiB encoded, %.0f B per op, made in %.3f s\n",
           input.count, (double)input.total / 1048576.0, (double)input.total / (double)items,
           t_input);
    s_input_check(&input, &data);
    printf("sample (untimed): set 0 applies as new, again as known; a changed value and a "
           "changed signature are rejected: ok\n\n");

    /* Round 1 raw then meshsync, round 2 the other way: page cache and file-system state
     * left by one run then favour neither system in the average. */
    s_run_t raw[2], mesh[2];
    const char *home_a = NULL;
    printf("%-18s %10s %9s %12s %10s %10s\n", "system", "items", "seconds", "items/s", "disk MiB",
           "file MiB");
    s_run_raw(&data, &raw[0]);
    s_row("raw LMDB  (1st)", items, &raw[0]);
    s_run_mesh(&input, &data, &mesh[0], NULL);
    s_row("meshsync  (2nd)", items, &mesh[0]);
    s_run_mesh(&input, &data, &mesh[1], &home_a);
    s_row("meshsync  (1st)", items, &mesh[1]);
    s_run_raw(&data, &raw[1]);
    s_row("raw LMDB  (2nd)", items, &raw[1]);

    /* The average rate is items over the mean time (the harmonic mean of the two rates). */
    s_run_t raw_avg = {(raw[0].seconds + raw[1].seconds) / 2, raw[1].disk_bytes, raw[1].file_bytes};
    s_run_t mesh_avg = {(mesh[0].seconds + mesh[1].seconds) / 2, mesh[1].disk_bytes,
                        mesh[1].file_bytes};
    printf("\n");
    s_row("raw LMDB  (avg)", items, &raw_avg);
    s_row("meshsync  (avg)", items, &mesh_avg);

    double raw_rate = s_rate(items, raw_avg.seconds);
    double mesh_rate = s_rate(items, mesh_avg.seconds);
    double ratio = raw_rate > 0 ? mesh_rate / raw_rate : 0;
    printf("\nratio meshsync/raw: %.2f (round 1 %.2f, round 2 %.2f); disk per item: "
           "meshsync %.0f B, raw %.0f B\n",
           ratio, raw[0].seconds / mesh[0].seconds, raw[1].seconds / mesh[1].seconds,
           (double)mesh_avg.disk_bytes / (double)items, (double)raw_avg.disk_bytes / (double)items);
    printf("verify: every set APPLY_NEW with all ops stored; %zu random keys read back with "
           "mesh_get and the key count checked after each meshsync run: ok\n",
           items < S_VERIFY ? items : S_VERIFY);

    s_input_release(&input);
    s_run_bundles(&data, home_a);
    printf("apply: meshsync %.0f items/s, raw LMDB %.0f items/s, ratio %.2f (target >= %.2f)\n",
           mesh_rate, raw_rate, ratio, S_TARGET);

    s_data_release(&data);
    s_cleanup();
    return 0;
}
