/* tests/bench/common.h: what the benchmarks share, linked into every tests/bench binary.
 * Owns: the command line (--items N, BENCH_ITEMS), the items (N keys of 16 random bytes as 32
 * hex chars, 100-byte values, the same seeded bytes on every run), temp dirs under $BENCH_DIR
 * (default /tmp) removed after use and on failure, bench_die, the clock, the raw LMDB baseline
 * (durable, a commit every BENCH_BATCH puts), reading a meshsync node's items back, and the two
 * rounds of opposite order that compare raw LMDB with a benchmark's meshsync load.
 * Layer: tests. Third-party: none (lmdb.h in common.c only). SPDX-License-Identifier: MIT */
#ifndef MESH_TESTS_BENCH_COMMON_H
#define MESH_TESTS_BENCH_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "meshsync.h"

#define BENCH_ITEMS_DEFAULT 1000000u              /* items per run unless --items or BENCH_ITEMS */
#define BENCH_BATCH         1000u                 /* puts per transaction / ops per set */
#define BENCH_KEY_RAW       16u                   /* random bytes per key */
#define BENCH_KEY_LEN       (2u * BENCH_KEY_RAW)  /* hex chars per key */
#define BENCH_VALUE_LEN     100u                  /* bytes per value */
#define BENCH_VERIFY        1000u                 /* keys read back after each meshsync run */
#define BENCH_TARGET        0.50                  /* meshsync/raw ratio the issue asks for */
#define BENCH_SEED          0x6d65736873796e63ull /* "meshsync": same data on every run */
#define BENCH_COLL          "bench"

/* The items, generated once so that every run loads the same bytes in the same order. */
typedef struct bench_data {
    size_t items;
    size_t batch;    /* puts per transaction (BENCH_BATCH unless a bench sets another) */
    char *keys;      /* items * BENCH_KEY_LEN hex chars, no NULs */
    uint8_t *values; /* items * BENCH_VALUE_LEN bytes */
} bench_data_t;

/* One timed load. */
typedef struct bench_run {
    double seconds;      /* wall time of the load loop (open and close excluded) */
    uint64_t disk_bytes; /* blocks allocated to data.mdb after the load */
    uint64_t file_bytes; /* apparent size of data.mdb */
} bench_run_t;

/* What the two rounds give: the averages the ratio is taken from. */
typedef struct bench_result {
    double raw_rate;  /* items/s of raw LMDB over its mean time */
    double mesh_rate; /* items/s of meshsync over its mean time */
    double ratio;     /* mesh_rate / raw_rate (0 if raw_rate is 0) */
} bench_result_t;

/* Name the program (for messages and temp dirs: "<name>_<tag>_XXXXXX") and parse its command
 * line: returns the item count (BENCH_ITEMS, then --items N, default BENCH_ITEMS_DEFAULT).
 * --help prints the usage and exits 0; anything else unknown exits 2. */
size_t bench_parse_args(const char *name, int argc, char **argv);

/* Print "<name>: <message>" on stderr, remove every temp dir, exit 1. */
void bench_die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* Make a fresh directory under $BENCH_DIR (default /tmp); bench_remove_temp or
 * bench_clean_up removes it. */
const char *bench_make_temp(const char *tag);

/* Remove one temp dir made by bench_make_temp once it is no longer needed. */
void bench_remove_temp(const char *dir);

/* Remove every temp dir made so far (best effort). */
void bench_clean_up(void);

/* Seconds on the monotonic clock. */
double bench_read_clock(void);

/* The next value of the splitmix64 stream *state. */
uint64_t bench_mix(uint64_t *state);

/* Generate the items (from BENCH_SEED), or release them. */
void bench_make_data(bench_data_t *d, size_t items);
void bench_free_data(bench_data_t *d);

/* bench_die unless err is MESH_OK ("meshsync: <what>: <error> (<m's detail>)"). */
void bench_check(mesh_t *m, mesh_err_t err, const char *what);

/* Open (with create, make) the offline node whose home is dir, named name. */
mesh_t *bench_open(const char *dir, bool create, const char *name);

/* Record the size of dir<sub>/data.mdb in run. */
void bench_measure_store(const char *dir, const char *sub, bench_run_t *run);

/* What an LMDB environment holds, read with raw LMDB while no node has it open. */
typedef struct bench_usage {
    uint64_t page_size;
    uint64_t pages_used;    /* branch, leaf and overflow pages of every database (mdb_stat) */
    uint64_t pages_high;    /* the file's high-water mark: last page number + 1 (mdb_env_info) */
    uint64_t file_bytes;    /* apparent size of data.mdb */
    uint64_t compact_bytes; /* size of a compacting copy (mdb_env_copy2, MDB_CP_COMPACT) */
} bench_usage_t;

/* Measure the LMDB environment in env_dir (a home's store/, its node closed). */
void bench_store_usage(const char *env_dir, bench_usage_t *u);

/* Read back BENCH_VERIFY items chosen at random (a PRNG stream of its own) with mesh_get and
 * compare their values. */
void bench_verify_values(mesh_t *m, const bench_data_t *d);

/* items / seconds, or 0. */
double bench_rate(size_t items, double seconds);

/* Print "<name>: meshsync <version>, LMDB <version>". */
void bench_print_versions(void);

/* Round 1 raw LMDB then meshsync, round 2 the other way: page cache and file-system state left
 * by one run then favour neither system in the average. run_mesh(ctx, round, run) does one
 * timed meshsync load of d (round 0 runs second in its round, round 1 first). Prints the table,
 * the averages and the ratio line, and returns the averages in *out. */
void bench_compare(const bench_data_t *d, void (*run_mesh)(void *ctx, int round, bench_run_t *run),
                   void *ctx, bench_result_t *out);

#endif
