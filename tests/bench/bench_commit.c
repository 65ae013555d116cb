/* tests/bench/bench_commit.c: local commit throughput of meshsync beside raw LMDB.
 * Loads N items (16 random bytes as 32 hex chars -> 100-byte value) in transactions of
 * 1,000 puts, once through mesh_txn_begin/mesh_put/mesh_txn_commit (signing and a durable
 * commit included) and once through plain durable LMDB, same keys, same order, same
 * transaction sizes, in two rounds of opposite order; prints items/s and the ratio.
 * Layer: tests. Third-party: lmdb.h (the baseline only). SPDX-License-Identifier: MIT */
#include "meshsync.h"

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
#define S_TXN_ITEMS     1000u                 /* puts per transaction, both systems */
#define S_KEY_RAW       16u                   /* random bytes per key */
#define S_KEY_LEN       (2u * S_KEY_RAW)      /* hex chars per key */
#define S_VALUE_LEN     100u                  /* bytes per value */
#define S_VERIFY        1000u                 /* keys read back after each meshsync run */
#define S_TARGET        0.50                  /* meshsync/raw ratio the issue asks for */
#define S_MAP_SIZE      ((size_t)1 << 40)     /* 1 TiB, sparse, as meshsync's default */
#define S_SEED          0x6d65736873796e63ull /* "meshsync": same data on every run */
#define S_COLL          "bench"
#define S_DIRS_MAX      8u

/* The items, generated once so that every run loads the same bytes in the same order. */
typedef struct s_data {
    size_t items;
    char *keys;      /* items * S_KEY_LEN hex chars, no NULs */
    uint8_t *values; /* items * S_VALUE_LEN bytes */
} s_data_t;

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
            fprintf(stderr, "bench_commit: cannot remove '%s': %s\n", s_dirs[s_ndirs],
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
    fputs("bench_commit: ", stderr);
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
    int n = snprintf(dir, sizeof s_dirs[0], "%s/bench_commit_%s_XXXXXX", base, tag);
    if (n < 0 || (size_t)n >= sizeof s_dirs[0]) {
        s_die("BENCH_DIR is too long");
    }
    if (!mkdtemp(dir)) {
        s_die("mkdtemp '%s': %s", dir, strerror(errno));
    }
    s_ndirs++;
    return dir;
}

/* Remove the most recent temp dir once its run is measured, to keep the disk footprint low. */
static void
s_rmdir_last(void)
{
    if (s_ndirs == 0) {
        return;
    }
    if (s_rm_tree(s_dirs[s_ndirs - 1]) != 0) {
        s_die("cannot remove '%s': %s", s_dirs[s_ndirs - 1], strerror(errno));
    }
    s_ndirs--;
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

/* Load every item into a fresh, durable LMDB env, committing every S_TXN_ITEMS puts. */
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
    for (size_t i = 0; i < d->items; i += S_TXN_ITEMS) {
        size_t end = i + S_TXN_ITEMS < d->items ? i + S_TXN_ITEMS : d->items;
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
    s_rmdir_last();
}

static void
s_mesh_check(mesh_t *m, mesh_err_t err, const char *what)
{
    if (err != MESH_OK) {
        s_die("meshsync: %s: %s (%s)", what, mesh_strerror(err), m ? mesh_errmsg(m) : "");
    }
}

/* Read back S_VERIFY items chosen at random (a different PRNG stream) and compare. */
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
}

/* Load every item through meshsync into a fresh home, one change set per S_TXN_ITEMS puts. */
static void
s_run_mesh(const s_data_t *d, s_run_t *run)
{
    const char *home = s_mkdir_temp("mesh");
    mesh_options_t opts;
    memset(&opts, 0, sizeof opts);
    opts.size = sizeof opts;
    opts.home = home;
    opts.create = true;
    opts.offline = true;
    opts.name = "bench";
    mesh_t *m = NULL;
    s_mesh_check(NULL, mesh_open(&opts, &m), "mesh_open");

    double start = s_now();
    for (size_t i = 0; i < d->items; i += S_TXN_ITEMS) {
        size_t end = i + S_TXN_ITEMS < d->items ? i + S_TXN_ITEMS : d->items;
        mesh_txn_t *txn = NULL;
        s_mesh_check(m, mesh_txn_begin(m, S_COLL, &txn), "mesh_txn_begin");
        for (size_t j = i; j < end; j++) {
            mesh_err_t err = mesh_put(txn, d->keys + j * S_KEY_LEN, S_KEY_LEN,
                                      d->values + j * S_VALUE_LEN, S_VALUE_LEN);
            if (err != MESH_OK) {
                mesh_txn_abort(txn);
                s_mesh_check(m, err, "mesh_put");
            }
        }
        s_mesh_check(m, mesh_txn_commit(&txn, NULL), "mesh_txn_commit");
    }
    run->seconds = s_now() - start;

    s_verify_mesh(m, d);
    mesh_close(m);
    s_file_size(home, "/store", run);
    s_rmdir_last();
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

static size_t
s_parse_items(const char *text, const char *from)
{
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || v == 0 || v > (1ull << 32)) {
        fprintf(stderr, "bench_commit: %s: bad item count '%s'\n", from, text);
        exit(2);
    }
    return (size_t)v;
}

static void
s_usage(FILE *f)
{
    fprintf(f,
            "usage: bench_commit [--items N]\n"
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
    s_data_make(&data, items);
    printf("bench_commit: meshsync %s, LMDB %s\n", mesh_version(), mdb_version(NULL, NULL, NULL));
    printf("%zu items, keys %u hex chars, values %u bytes, %u puts per transaction, "
           "durable commits\n\n",
           items, S_KEY_LEN, S_VALUE_LEN, S_TXN_ITEMS);

    /* Round 1 raw then meshsync, round 2 the other way: page cache and file-system state
     * left by one run then favour neither system in the average. */
    s_run_t raw[2], mesh[2];
    printf("%-18s %10s %9s %12s %10s %10s\n", "system", "items", "seconds", "items/s", "disk MiB",
           "file MiB");
    s_run_raw(&data, &raw[0]);
    s_row("raw LMDB  (1st)", items, &raw[0]);
    s_run_mesh(&data, &mesh[0]);
    s_row("meshsync  (2nd)", items, &mesh[0]);
    s_run_mesh(&data, &mesh[1]);
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
    printf("verify: %zu random keys read back with mesh_get after each meshsync run: ok\n",
           items < S_VERIFY ? items : S_VERIFY);
    printf("commit: meshsync %.0f items/s, raw LMDB %.0f items/s, ratio %.2f (target >= %.2f)\n",
           mesh_rate, raw_rate, ratio, S_TARGET);

    s_data_release(&data);
    s_cleanup();
    return 0;
}
