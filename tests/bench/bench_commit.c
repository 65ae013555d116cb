/* tests/bench/bench_commit.c: local commit throughput of meshsync beside raw LMDB, in
 * transactions of 1,000 puts and (the embedding figure) of 100.
 * Loads N items (16 random bytes as 32 hex chars -> 100-byte value) in transactions of
 * 1,000 puts, once through mesh_txn_begin/mesh_put/mesh_txn_commit (signing and a durable
 * commit included) and once through plain durable LMDB, same keys, same order, same
 * transaction sizes, in two rounds of opposite order; prints items/s and the ratio.
 * The items, temp dirs, the raw LMDB run and the rounds are in common.c.
 * Layer: tests. Third-party: none. SPDX-License-Identifier: MIT */
#include "common.h"

#include <stdio.h>
#include <stdlib.h>

#define S_EMBED_BATCH     100u /* puts per transaction of the embedding figure */
#define S_EMBED_TARGET_US 20.0 /* issue 19: under 20 us per put, amortised */

/* Load every item through meshsync into a fresh home, one change set per d->batch puts. */
static void
s_run_mesh(void *ctx, int round, bench_run_t *run)
{
    const bench_data_t *d = ctx;
    (void)round;
    const char *home = bench_make_temp("mesh");
    mesh_t *m = bench_open(home, true, "bench");

    double start = bench_read_clock();
    for (size_t i = 0; i < d->items; i += d->batch) {
        size_t end = i + d->batch < d->items ? i + d->batch : d->items;
        mesh_txn_t *txn = NULL;
        bench_check(m, mesh_txn_begin(m, BENCH_COLL, &txn), "mesh_txn_begin");
        for (size_t j = i; j < end; j++) {
            mesh_err_t err = mesh_put(txn, d->keys + j * BENCH_KEY_LEN, BENCH_KEY_LEN,
                                      d->values + j * BENCH_VALUE_LEN, BENCH_VALUE_LEN);
            if (err != MESH_OK) {
                mesh_txn_abort(txn);
                bench_check(m, err, "mesh_put");
            }
        }
        bench_check(m, mesh_txn_commit(&txn, NULL), "mesh_txn_commit");
    }
    run->seconds = bench_read_clock() - start;

    bench_verify_values(m, d);
    mesh_close(m);
    bench_measure_store(home, "/store", run);
    bench_remove_temp(home);
}

int
main(int argc, char **argv)
{
    size_t items = bench_parse_args("bench_commit", argc, argv);
    bench_data_t data;
    bench_make_data(&data, items);
    bench_print_versions();
    printf("%zu items, keys %u hex chars, values %u bytes, %u puts per transaction, "
           "durable commits\n\n",
           items, BENCH_KEY_LEN, BENCH_VALUE_LEN, BENCH_BATCH);

    bench_result_t res;
    bench_compare(&data, s_run_mesh, &data, &res);
    printf("verify: %zu random keys read back with mesh_get after each meshsync run: ok\n",
           items < BENCH_VERIFY ? items : BENCH_VERIFY);
    printf("commit: meshsync %.0f items/s, raw LMDB %.0f items/s, ratio %.2f (target >= %.2f)\n",
           res.mesh_rate, res.raw_rate, res.ratio, BENCH_TARGET);

    /* An embedding app (issue 19): small transactions of 100 puts, each a signed change set
     * and a durable commit, beside raw LMDB committing as often. A tenth of the items: the
     * commits, not the items, cost here. */
    data.batch = S_EMBED_BATCH;
    data.items = items / 10 > S_EMBED_BATCH ? items / 10 : items;
    printf("\nembedding: %zu items, %u puts per transaction\n\n", data.items, S_EMBED_BATCH);
    bench_compare(&data, s_run_mesh, &data, &res);
    printf("embedding: mesh_put in transactions of %u: %.1f us per put amortised (raw LMDB "
           "%.1f us), ratio %.2f (target < %.0f us)\n",
           S_EMBED_BATCH, res.mesh_rate > 0 ? 1e6 / res.mesh_rate : 0,
           res.raw_rate > 0 ? 1e6 / res.raw_rate : 0, res.ratio, S_EMBED_TARGET_US);
    data.items = items;
    bench_free_data(&data);
    bench_clean_up();
    return 0;
}
