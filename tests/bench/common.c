/* tests/bench/common.c: what the benchmarks share (see common.h): the command line, the
 * seeded items, temp dirs, dying with a message, the clock, the raw LMDB baseline and the two
 * rounds that compare it with a benchmark's meshsync load, and a store's pages in use.
 * Layer: tests. Third-party: lmdb.h (the baseline and bench_store_usage only). SPDX-License-Identifier: MIT */
#include "common.h"

#include <lmdb.h>

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define S_MAP_SIZE ((size_t)1 << 40) /* 1 TiB, sparse, as meshsync's default */
#define S_DIRS_MAX 8u

static const char *s_name = "bench";  /* the program, for messages and temp dirs */
static char s_dirs[S_DIRS_MAX][4096]; /* temp dirs still to remove */
static size_t s_ndirs;

static size_t
s_parse_items(const char *text, const char *from)
{
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || v == 0 || v > (1ull << 32)) {
        fprintf(stderr, "%s: %s: bad item count '%s'\n", s_name, from, text);
        exit(2);
    }
    return (size_t)v;
}

static void
s_usage(FILE *f)
{
    fprintf(f,
            "usage: %s [--items N]\n"
            "  --items N   items per run (default %u; env BENCH_ITEMS)\n"
            "  env BENCH_DIR: where the temp stores go (default /tmp)\n",
            s_name, BENCH_ITEMS_DEFAULT);
}

size_t
bench_parse_args(const char *name, int argc, char **argv)
{
    s_name = name;
    size_t items = BENCH_ITEMS_DEFAULT;
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
            exit(0);
        } else {
            s_usage(stderr);
            exit(2);
        }
    }
    return items;
}

/* ---- temp dirs ---- */

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

void
bench_clean_up(void)
{
    while (s_ndirs > 0) {
        s_ndirs--;
        if (s_rm_tree(s_dirs[s_ndirs]) != 0) {
            fprintf(stderr, "%s: cannot remove '%s': %s\n", s_name, s_dirs[s_ndirs],
                    strerror(errno));
        }
    }
}

void
bench_die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: ", s_name);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    bench_clean_up();
    exit(1);
}

const char *
bench_make_temp(const char *tag)
{
    const char *base = getenv("BENCH_DIR");
    if (!base || !*base) {
        base = "/tmp";
    }
    if (s_ndirs == S_DIRS_MAX) {
        bench_die("too many temp dirs");
    }
    char *dir = s_dirs[s_ndirs];
    int n = snprintf(dir, sizeof s_dirs[0], "%s/%s_%s_XXXXXX", base, s_name, tag);
    if (n < 0 || (size_t)n >= sizeof s_dirs[0]) {
        bench_die("BENCH_DIR is too long");
    }
    if (!mkdtemp(dir)) {
        bench_die("mkdtemp '%s': %s", dir, strerror(errno));
    }
    s_ndirs++;
    return dir;
}

void
bench_remove_temp(const char *dir)
{
    for (size_t i = s_ndirs; i-- > 0;) {
        if (strcmp(s_dirs[i], dir) != 0) { /* (by name: removing one moves those after) */
            continue;
        }
        if (s_rm_tree(s_dirs[i]) != 0) {
            bench_die("cannot remove '%s': %s", s_dirs[i], strerror(errno));
        }
        for (size_t j = i + 1; j < s_ndirs; j++) {
            memcpy(s_dirs[j - 1], s_dirs[j], sizeof s_dirs[0]);
        }
        s_ndirs--;
        return;
    }
    bench_die("'%s' is not a temp dir of this run", dir);
}

/* ---- the items ---- */

double
bench_read_clock(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

uint64_t
bench_mix(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

void
bench_make_data(bench_data_t *d, size_t items)
{
    static const char hex[] = "0123456789abcdef";
    uint64_t state = BENCH_SEED;
    d->items = items;
    d->batch = BENCH_BATCH;
    d->keys = malloc(items * BENCH_KEY_LEN);
    d->values = malloc(items * BENCH_VALUE_LEN);
    if (!d->keys || !d->values) {
        bench_die("out of memory for %zu items", items);
    }
    for (size_t i = 0; i < items; i++) {
        char *key = d->keys + i * BENCH_KEY_LEN;
        for (size_t w = 0; w < BENCH_KEY_RAW / 8; w++) {
            uint64_t r = bench_mix(&state);
            for (size_t b = 0; b < 8; b++) {
                uint8_t byte = (uint8_t)(r >> (8 * b));
                key[(w * 8 + b) * 2] = hex[byte >> 4];
                key[(w * 8 + b) * 2 + 1] = hex[byte & 15];
            }
        }
        uint8_t *value = d->values + i * BENCH_VALUE_LEN;
        for (size_t off = 0; off < BENCH_VALUE_LEN; off += 8) {
            uint64_t r = bench_mix(&state);
            size_t n = BENCH_VALUE_LEN - off < 8 ? BENCH_VALUE_LEN - off : 8;
            memcpy(value + off, &r, n);
        }
    }
}

void
bench_free_data(bench_data_t *d)
{
    free(d->keys);
    free(d->values);
    d->keys = NULL;
    d->values = NULL;
}

/* ---- raw LMDB ---- */

void
bench_measure_store(const char *dir, const char *sub, bench_run_t *run)
{
    char file[4200];
    struct stat sb;
    snprintf(file, sizeof file, "%s%s/data.mdb", dir, sub);
    if (stat(file, &sb) != 0) {
        bench_die("stat '%s': %s", file, strerror(errno));
    }
    run->disk_bytes = (uint64_t)sb.st_blocks * 512u;
    run->file_bytes = (uint64_t)sb.st_size;
}

static void
s_mdb_check(int rc, const char *what)
{
    if (rc != MDB_SUCCESS) {
        bench_die("raw LMDB: %s: %s", what, mdb_strerror(rc));
    }
}

/* Add the pages of the tree st describes. */
static uint64_t
s_pages(const MDB_stat *st)
{
    return (uint64_t)st->ms_branch_pages + st->ms_leaf_pages + st->ms_overflow_pages;
}

void
bench_store_usage(const char *env_dir, bench_usage_t *u)
{
    MDB_env *env = NULL;
    MDB_txn *txn = NULL;
    MDB_cursor *cur = NULL;
    MDB_dbi main_dbi;
    MDB_stat st;
    MDB_envinfo info;
    MDB_val k, v;
    struct stat sb;
    char file[4200];
    memset(u, 0, sizeof *u);
    s_mdb_check(mdb_env_create(&env), "env_create");
    s_mdb_check(mdb_env_set_maxdbs(env, 64), "env_set_maxdbs");
    s_mdb_check(mdb_env_set_mapsize(env, S_MAP_SIZE), "env_set_mapsize");
    s_mdb_check(mdb_env_open(env, env_dir, MDB_RDONLY, 0600), "env_open");
    s_mdb_check(mdb_env_info(env, &info), "env_info");
    s_mdb_check(mdb_env_stat(env, &st), "env_stat");
    u->page_size = st.ms_psize;
    u->pages_high = (uint64_t)info.me_last_pgno + 1;
    s_mdb_check(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn), "txn_begin");
    s_mdb_check(mdb_dbi_open(txn, NULL, 0, &main_dbi), "dbi_open");
    s_mdb_check(mdb_stat(txn, main_dbi, &st), "stat");
    u->pages_used = s_pages(&st);
    /* the main database's keys name the others */
    s_mdb_check(mdb_cursor_open(txn, main_dbi, &cur), "cursor_open");
    while (mdb_cursor_get(cur, &k, &v, MDB_NEXT) == MDB_SUCCESS) {
        char name[256];
        MDB_dbi dbi;
        if (k.mv_size >= sizeof name) {
            continue;
        }
        memcpy(name, k.mv_data, k.mv_size);
        name[k.mv_size] = '\0';
        if (mdb_dbi_open(txn, name, 0, &dbi) == MDB_SUCCESS &&
            mdb_stat(txn, dbi, &st) == MDB_SUCCESS) {
            u->pages_used += s_pages(&st);
        }
    }
    mdb_cursor_close(cur);
    mdb_txn_abort(txn);
    const char *copy = bench_make_temp("compact");
    s_mdb_check(mdb_env_copy2(env, copy, MDB_CP_COMPACT), "env_copy2 (compact)");
    mdb_env_close(env);
    snprintf(file, sizeof file, "%s/data.mdb", copy);
    if (stat(file, &sb) != 0) {
        bench_die("stat '%s': %s", file, strerror(errno));
    }
    u->compact_bytes = (uint64_t)sb.st_size;
    bench_remove_temp(copy);
    snprintf(file, sizeof file, "%s/data.mdb", env_dir);
    if (stat(file, &sb) != 0) {
        bench_die("stat '%s': %s", file, strerror(errno));
    }
    u->file_bytes = (uint64_t)sb.st_size;
}

/* Load every item into a fresh, durable LMDB env, committing every d->batch puts. */
static void
s_run_raw(const bench_data_t *d, bench_run_t *run)
{
    const char *dir = bench_make_temp("raw");
    MDB_env *env = NULL;
    MDB_txn *txn = NULL;
    MDB_dbi dbi;
    s_mdb_check(mdb_env_create(&env), "env_create");
    s_mdb_check(mdb_env_set_mapsize(env, S_MAP_SIZE), "env_set_mapsize");
    s_mdb_check(mdb_env_open(env, dir, 0, 0600), "env_open");
    s_mdb_check(mdb_txn_begin(env, NULL, 0, &txn), "txn_begin");
    s_mdb_check(mdb_dbi_open(txn, NULL, 0, &dbi), "dbi_open");
    s_mdb_check(mdb_txn_commit(txn), "txn_commit");

    double start = bench_read_clock();
    for (size_t i = 0; i < d->items; i += d->batch) {
        size_t end = i + d->batch < d->items ? i + d->batch : d->items;
        s_mdb_check(mdb_txn_begin(env, NULL, 0, &txn), "txn_begin");
        for (size_t j = i; j < end; j++) {
            MDB_val key = {BENCH_KEY_LEN, d->keys + j * BENCH_KEY_LEN};
            MDB_val value = {BENCH_VALUE_LEN, d->values + j * BENCH_VALUE_LEN};
            s_mdb_check(mdb_put(txn, dbi, &key, &value, 0), "put");
        }
        s_mdb_check(mdb_txn_commit(txn), "txn_commit");
    }
    run->seconds = bench_read_clock() - start;

    /* Not timed: the store holds every item (random 128-bit keys do not collide). */
    MDB_stat ms;
    s_mdb_check(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn), "txn_begin");
    s_mdb_check(mdb_stat(txn, dbi, &ms), "stat");
    mdb_txn_abort(txn);
    if (ms.ms_entries != d->items) {
        bench_die("raw LMDB holds %zu entries, expected %zu", (size_t)ms.ms_entries, d->items);
    }
    mdb_env_close(env);
    bench_measure_store(dir, "", run);
    bench_remove_temp(dir);
}

/* ---- meshsync ---- */

void
bench_check(mesh_t *m, mesh_err_t err, const char *what)
{
    if (err != MESH_OK) {
        bench_die("meshsync: %s: %s (%s)", what, mesh_strerror(err), m ? mesh_errmsg(m) : "");
    }
}

mesh_t *
bench_open(const char *dir, bool create, const char *name)
{
    mesh_options_t opts;
    memset(&opts, 0, sizeof opts);
    opts.size = sizeof opts;
    opts.home = dir;
    opts.create = create;
    opts.offline = true;
    opts.name = name;
    mesh_t *m = NULL;
    bench_check(NULL, mesh_open(&opts, &m), "mesh_open");
    return m;
}

void
bench_verify_values(mesh_t *m, const bench_data_t *d)
{
    uint64_t state = BENCH_SEED ^ 0x5bd1e995ull;
    size_t checks = d->items < BENCH_VERIFY ? d->items : BENCH_VERIFY;
    for (size_t n = 0; n < checks; n++) {
        size_t i = (size_t)(bench_mix(&state) % d->items);
        void *value = NULL;
        size_t value_len = 0;
        const char *key = d->keys + i * BENCH_KEY_LEN;
        mesh_err_t err = mesh_get(m, BENCH_COLL, key, BENCH_KEY_LEN, &value, &value_len);
        if (err != MESH_OK) {
            bench_die("verify: mesh_get of item %zu ('%.*s'): %s", i, (int)BENCH_KEY_LEN, key,
                      mesh_strerror(err));
        }
        bool same = value_len == BENCH_VALUE_LEN &&
                    memcmp(value, d->values + i * BENCH_VALUE_LEN, BENCH_VALUE_LEN) == 0;
        mesh_free(value);
        if (!same) {
            bench_die("verify: item %zu ('%.*s') reads back a different value (%zu bytes)", i,
                      (int)BENCH_KEY_LEN, key, value_len);
        }
    }
}

/* ---- the comparison ---- */

double
bench_rate(size_t items, double seconds)
{
    return seconds > 0 ? (double)items / seconds : 0;
}

void
bench_print_versions(void)
{
    printf("%s: meshsync %s, LMDB %s\n", s_name, mesh_version(), mdb_version(NULL, NULL, NULL));
}

static void
s_row(const char *system, size_t items, const bench_run_t *run)
{
    printf("%-18s %10zu %9.3f %12.0f %10.1f %10.1f\n", system, items, run->seconds,
           bench_rate(items, run->seconds), (double)run->disk_bytes / 1048576.0,
           (double)run->file_bytes / 1048576.0);
}

void
bench_compare(const bench_data_t *d, void (*run_mesh)(void *ctx, int round, bench_run_t *run),
              void *ctx, bench_result_t *out)
{
    size_t items = d->items;
    bench_run_t raw[2], mesh[2];
    printf("%-18s %10s %9s %12s %10s %10s\n", "system", "items", "seconds", "items/s", "disk MiB",
           "file MiB");
    s_run_raw(d, &raw[0]);
    s_row("raw LMDB  (1st)", items, &raw[0]);
    run_mesh(ctx, 0, &mesh[0]);
    s_row("meshsync  (2nd)", items, &mesh[0]);
    run_mesh(ctx, 1, &mesh[1]);
    s_row("meshsync  (1st)", items, &mesh[1]);
    s_run_raw(d, &raw[1]);
    s_row("raw LMDB  (2nd)", items, &raw[1]);

    /* The average rate is items over the mean time (the harmonic mean of the two rates). */
    bench_run_t raw_avg = {(raw[0].seconds + raw[1].seconds) / 2, raw[1].disk_bytes,
                           raw[1].file_bytes};
    bench_run_t mesh_avg = {(mesh[0].seconds + mesh[1].seconds) / 2, mesh[1].disk_bytes,
                            mesh[1].file_bytes};
    printf("\n");
    s_row("raw LMDB  (avg)", items, &raw_avg);
    s_row("meshsync  (avg)", items, &mesh_avg);

    out->raw_rate = bench_rate(items, raw_avg.seconds);
    out->mesh_rate = bench_rate(items, mesh_avg.seconds);
    out->ratio = out->raw_rate > 0 ? out->mesh_rate / out->raw_rate : 0;
    printf("\nratio meshsync/raw: %.2f (round 1 %.2f, round 2 %.2f); disk per item: "
           "meshsync %.0f B, raw %.0f B\n",
           out->ratio, raw[0].seconds / mesh[0].seconds, raw[1].seconds / mesh[1].seconds,
           (double)mesh_avg.disk_bytes / (double)items, (double)raw_avg.disk_bytes / (double)items);
}
