/* tests/bench/bench_gc.c: tombstone collection's figure (issue 16): the store after N
 * (--items N, default 1,000,000) puts and deletes over the same 1,000 keys, once collection
 * has run, beside a store holding just those 1,000 keys.
 * Node G (a mesh of one: its own vector is the stable one, PROTOCOL §8.4) runs N / 2,000
 * rounds of one transaction putting the 1,000 keys (bench_commit's data: 32-char keys,
 * 100-byte values) and one deleting them, a collection pass (core/apply/collect.c, as the
 * daemon's timer runs it) every 10 rounds, then puts the keys once more and collects. Node K
 * puts the 1,000 keys in one transaction. Both closed, each environment is measured with raw
 * LMDB: pages in use (branch, leaf and overflow pages of every database, mdb_stat), the
 * file's high-water mark (mdb_env_info: an LMDB file never shrinks) and the size of a
 * compacting copy (mdb_env_copy2, MDB_CP_COMPACT). Checked: G reads each key's last value.
 * Target: G within 2x of K in pages in use and in the compacting copy. Layer: tests.
 * Third-party: none. SPDX-License-Identifier: MIT */
#include "common.h"

#include "core/apply/collect.h"
#include "core/base/node.h"
#include "core/member/ack.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_KEYS        1000u /* the keys churned over */
#define S_GC_EVERY    10u   /* rounds between collection passes */
#define S_TARGET      2.0   /* G / K */

/* One transaction: every key put (its value) or deleted. */
static void
s_round(mesh_t *m, const bench_data_t *d, bool put)
{
    mesh_txn_t *txn = NULL;
    bench_check(m, mesh_txn_begin(m, BENCH_COLL, &txn), "mesh_txn_begin");
    for (size_t j = 0; j < d->items; j++) {
        const char *key = d->keys + j * BENCH_KEY_LEN;
        mesh_err_t err = put ? mesh_put(txn, key, BENCH_KEY_LEN, d->values + j * BENCH_VALUE_LEN,
                                        BENCH_VALUE_LEN)
                             : mesh_del(txn, key, BENCH_KEY_LEN);
        if (err != MESH_OK) {
            mesh_txn_abort(txn);
            bench_check(m, err, put ? "mesh_put" : "mesh_del");
        }
    }
    bench_check(m, mesh_txn_commit(&txn, NULL), "mesh_txn_commit");
}

/* One collection pass (all of it: a pass removes at most COLLECT_BATCH_MAX items). */
static void
s_collect(mesh_t *m, collect_report_t *sum)
{
    bool more = true, wrote = false;
    bench_check(m, ack_publish(m, true, 1000, &wrote), "ack_publish");
    while (more) {
        vector_t *stable = NULL;
        collect_report_t r = {0};
        bench_check(m, collect_stable_load(m, 0, COLLECT_HORIZON_MS_DEFAULT, &stable, &r),
                    "collect_stable_load");
        bench_check(m, collect_run(m, stable, &r, &more), "collect_run");
        vector_free(stable);
        sum->items += r.items;
        sum->versions += r.versions;
        sum->sets += r.sets;
    }
}

static void
s_measure(const char *home, bench_usage_t *u)
{
    char dir[4200];
    snprintf(dir, sizeof dir, "%s/store", home);
    bench_store_usage(dir, u);
}

static void
s_print(const char *what, const bench_usage_t *u)
{
    printf("%-34s %9" PRIu64 " pages in use (%6.2f MiB), high-water %9" PRIu64
           " pages, file %8.2f MiB, compacting copy %8.2f MiB\n",
           what, u->pages_used, (double)(u->pages_used * u->page_size) / 1048576.0,
           u->pages_high, (double)u->file_bytes / 1048576.0,
           (double)u->compact_bytes / 1048576.0);
}

int
main(int argc, char **argv)
{
    size_t ops = bench_parse_args("bench_gc", argc, argv);
    size_t rounds = ops / (2 * S_KEYS) ? ops / (2 * S_KEYS) : 1;
    bench_data_t d;
    bench_print_versions();
    bench_make_data(&d, S_KEYS);

    const char *home_g = bench_make_temp("churn"), *home_k = bench_make_temp("keys");
    mesh_t *g = bench_open(home_g, true, "churn");
    collect_report_t sum = {0};
    double t0 = bench_read_clock();
    for (size_t r = 0; r < rounds; r++) {
        s_round(g, &d, true);
        s_round(g, &d, false);
        if ((r + 1) % S_GC_EVERY == 0) {
            s_collect(g, &sum);
        }
    }
    s_round(g, &d, true);
    s_collect(g, &sum);
    double t_load = bench_read_clock() - t0;
    bench_verify_values(g, &d);
    printf("%zu puts and deletes over %u keys (+%u puts) in %.2f s; collected %" PRIu64
           " tombstones and %" PRIu64 " set records\n",
           rounds * 2 * S_KEYS, S_KEYS, S_KEYS, t_load, sum.versions, sum.sets);
    mesh_close(g);

    mesh_t *k = bench_open(home_k, true, "keys");
    s_round(k, &d, true);
    bench_verify_values(k, &d);
    mesh_close(k);

    bench_usage_t ug, uk;
    s_measure(home_g, &ug);
    s_measure(home_k, &uk);
    s_print("after the churn, collected:", &ug);
    s_print("just the 1,000 keys:", &uk);
    double r_pages = (double)ug.pages_used / (double)uk.pages_used;
    double r_copy = (double)ug.compact_bytes / (double)uk.compact_bytes;
    printf("gc: pages in use %.2fx, compacting copy %.2fx (target <= %.0fx): %s\n", r_pages,
           r_copy, S_TARGET, r_pages <= S_TARGET && r_copy <= S_TARGET ? "ok" : "OVER");
    bench_remove_temp(home_k); /* (the later one first: removing one moves those after it) */
    bench_remove_temp(home_g);
    bench_free_data(&d);
    return 0;
}
