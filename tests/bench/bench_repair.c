/* tests/bench/bench_repair.c: the slow path's figure (issue 15): repairing D = 1,000 items
 * that a device lost behind its vector's back, in a collection of N = 1,000,000 (--items N),
 * beside the full transfer of the same collection in the same run.
 * Node A commits the N items (the data of bench_commit: 32-char keys, 100-byte values, 1,000
 * puts per transaction); B takes A's full bundle (timed, its bytes counted: the full-transfer
 * figure); then D items chosen by a seeded stream are deleted from B's store with their
 * digest shares, its vector left as it is (what tests/tools/unstore does to a home). The
 * repair is then run in this process as two daemons run it (core/sync/repair.c), minus the
 * sockets: each side's snapshot (one scan of its key index), the range lists answered in
 * turn (core/data/recon.c), A's versions read into REPAIR bundles and B applying them
 * (core/bundle/repair.c). Timed: all of that; the two snapshots on two threads at once (as
 * two devices take them), the rest one side after the other. Bytes: every RANGE and REPAIR message
 * as encoded for the wire (the CURVE framing adds 16-25 bytes a message). Checked after: B holds
 * every item again and the digests are equal. Targets: under 1 s, under 1 MiB. Layer: tests.
 * Third-party: none. SPDX-License-Identifier: MIT */
#include "common.h"

#include "core/base/node.h"
#include "core/bundle/repair.h"
#include "core/data/recon.h"
#include "core/data/version.h"
#include "core/wire/msg.h"
#include "store/store.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#define S_DIFF        1000u      /* items lost on B */
#define S_TIME_TARGET 1.0        /* seconds */
#define S_BYTE_TARGET (1u << 20) /* bytes on the wire */

/* Load the items into m, BENCH_BATCH puts per transaction. */
static void
s_load(mesh_t *m, const bench_data_t *d)
{
    for (size_t i = 0; i < d->items; i += BENCH_BATCH) {
        size_t end = i + BENCH_BATCH < d->items ? i + BENCH_BATCH : d->items;
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
}

/* The items lost on B: D distinct indices. */
typedef struct s_loss {
    const bench_data_t *d;
    size_t *at;
    size_t n;
} s_loss_t;

/* Delete the lost items from B's store with their digest shares, in one write transaction;
 * the vector and the set headers stay. */
static mesh_err_t
s_unstore(store_txn_t *txn, void *arg)
{
    const s_loss_t *loss = arg;
    static store_item_t item;
    uint32_t cid = 0;
    store_coll_stats_t stats;
    mesh_err_t err = store_coll_id(txn, BENCH_COLL, false, &cid);
    if (err == MESH_OK) {
        err = store_coll_stats_get(txn, cid, &stats);
    }
    for (size_t k = 0; err == MESH_OK && k < loss->n; k++) {
        store_key_t key = {.bytes = (const uint8_t *)loss->d->keys + loss->at[k] * BENCH_KEY_LEN,
                           .len = BENCH_KEY_LEN};
        err = store_item_get(txn, cid, &key, &item);
        uint32_t oids[STORE_SIBLINGS_MAX];
        uint64_t seqs[STORE_SIBLINGS_MAX];
        size_t n = err == MESH_OK ? item.count : 0;
        for (size_t i = 0; err == MESH_OK && i < n; i++) {
            uint8_t origin[32];
            uint64_t inc = 0;
            err = store_origin_get(txn, item.versions[i].oid, origin, &inc);
            version_digest_apply(stats.digest, origin, inc, item.versions[i].meta,
                                 item.versions[i].meta_len, true);
            oids[i] = item.versions[i].oid;
            seqs[i] = item.versions[i].seq;
        }
        for (size_t i = 0; err == MESH_OK && i < n; i++) {
            err = store_dot_del(txn, cid, oids[i], seqs[i]);
        }
        if (err == MESH_OK) {
            err = store_item_put(txn, cid, &key, NULL, 0);
            stats.keys--;
            stats.versions -= n;
        }
    }
    return err == MESH_OK ? store_coll_stats_put(txn, cid, &stats) : err;
}

/* One side's snapshot of the collection. */
static recon_set_t *
s_snapshot(mesh_t *m, const uint8_t *key)
{
    store_txn_t *txn = NULL;
    uint32_t cid = 0;
    recon_set_t *set = NULL;
    bench_check(m, store_read_begin(m->store, &txn), "store_read_begin");
    mesh_err_t err = store_coll_id(txn, BENCH_COLL, false, &cid);
    if (err == MESH_OK) {
        err = recon_set_load(txn, cid, key, &set);
    }
    store_read_end(txn);
    bench_check(m, err, "recon_set_load");
    return set;
}

/* The bytes of msg as it goes on the wire. */
static size_t
s_wire_len(const wire_msg_t *msg)
{
    wire_buf_t b;
    wire_buf_init(&b);
    if (wire_msg_encode(msg, &b) != MESH_OK) {
        bench_die("wire_msg_encode failed");
    }
    size_t n = b.len;
    wire_buf_release(&b);
    return n;
}

/* One side's snapshot, on a thread of its own: two devices take theirs at the same time. */
typedef struct s_side {
    mesh_t *m;
    const uint8_t *key;
    recon_set_t *set;
} s_side_t;

static void *
s_snapshot_thread(void *arg)
{
    s_side_t *side = arg;
    side->set = s_snapshot(side->m, side->key);
    return NULL;
}

/* The repair of A (which holds everything) and B (which lost the items), timed. */
typedef struct s_figures {
    double seconds, snapshot_seconds, cpu_seconds;
    size_t range_bytes, repair_bytes, lists, repairs, items;
} s_figures_t;

/* CPU seconds (user and system) this process has used. */
static double
s_cpu(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static void
s_repair(mesh_t *a, mesh_t *b, s_figures_t *f)
{
    double cpu0 = s_cpu();
    uint8_t key[RECON_KEY_LEN] = {0x6b, 0x65, 0x79};
    double t0 = bench_read_clock();
    s_side_t side_a = {.m = a, .key = key};
    pthread_t th;
    if (pthread_create(&th, NULL, s_snapshot_thread, &side_a) != 0) {
        bench_die("pthread_create failed");
    }
    recon_set_t *sb = s_snapshot(b, key);
    pthread_join(th, NULL);
    recon_set_t *sa = side_a.set;
    f->snapshot_seconds = bench_read_clock() - t0;
    recon_t *rb = NULL, *ra = NULL;
    bench_check(b, recon_new(sb, &rb), "recon_new");
    bench_check(a, recon_new(sa, &ra), "recon_new");
    wire_buf_t msg, ans;
    wire_buf_init(&msg);
    wire_buf_init(&ans);
    /* B starts (it found the digests unequal), with its digest: a RANGE of its first list */
    bench_check(b, recon_start(rb, &msg), "recon_start");
    uint8_t digest[WIRE_DIGEST_LEN] = {0};
    wire_msg_t range = {.type = WIRE_MSG_RANGE,
                        .num = 1,
                        .coll = BENCH_COLL,
                        .coll_len = strlen(BENCH_COLL),
                        .digest = digest,
                        .hash_key = key,
                        .body = msg.data,
                        .body_len = msg.len};
    f->range_bytes += s_wire_len(&range);
    f->lists++;
    recon_t *to = ra;
    for (;;) {
        bool send = false;
        wire_buf_reset(&ans);
        bench_check(to == ra ? a : b, recon_answer(to, msg.data, msg.len, &ans, &send),
                    "recon_answer");
        if (!send) {
            break;
        }
        range.digest = NULL;
        range.hash_key = NULL;
        range.body = ans.data;
        range.body_len = ans.len;
        f->range_bytes += s_wire_len(&range);
        f->lists++;
        wire_buf_t t = msg;
        msg = ans;
        ans = t;
        to = to == ra ? rb : ra;
    }
    if (!recon_done(ra) || !recon_done(rb)) {
        bench_die("the reconciliation ended on one side only");
    }
    /* A's versions to B, in REPAIR messages; B has nothing A lacks (an empty one) */
    size_t next = 0, n = recon_set_count(sa);
    do {
        size_t items = 0;
        wire_buf_reset(&msg);
        bench_check(a, repair_export(a, BENCH_COLL, sa, ra, &next, 1u << 20, &msg, &items),
                    "repair_export");
        wire_msg_t rep = {.type = WIRE_MSG_REPAIR,
                          .num = 1,
                          .body = msg.data,
                          .body_len = msg.len,
                          .more = next < n};
        f->repair_bytes += s_wire_len(&rep);
        f->repairs++;
        f->items += items;
        size_t stored = 0;
        bench_check(b, repair_apply(b, BENCH_COLL, msg.data, msg.len, &stored), "repair_apply");
    } while (next < n);
    f->repair_bytes += 8; /* B's empty REPAIR: [12, 1, bundle of no set, 0] */
    f->seconds = bench_read_clock() - t0;
    f->cpu_seconds = s_cpu() - cpu0;
    if (recon_send_count(rb) != 0) {
        bench_die("B found %zu items A lacks", recon_send_count(rb));
    }
    wire_buf_release(&msg);
    wire_buf_release(&ans);
    recon_free(ra);
    recon_free(rb);
    recon_set_free(sa);
    recon_set_free(sb);
}

static void
s_digests(mesh_t *a, mesh_t *b, bool want_equal, const char *when)
{
    char da[65], db[65];
    uint64_t ka = 0, kb = 0;
    bench_check(a, mesh_digest(a, BENCH_COLL, da, sizeof da, &ka), "mesh_digest");
    bench_check(b, mesh_digest(b, BENCH_COLL, db, sizeof db, &kb), "mesh_digest");
    if ((strcmp(da, db) == 0 && ka == kb) != want_equal) {
        bench_die("%s: the digests are %s (%" PRIu64 " and %" PRIu64 " keys)", when,
                  want_equal ? "unequal" : "equal", ka, kb);
    }
}

int
main(int argc, char **argv)
{
    size_t items = bench_parse_args("bench_repair", argc, argv);
    bench_data_t d;
    bench_print_versions();
    bench_make_data(&d, items);
    size_t diff = S_DIFF < items / 2 ? S_DIFF : items / 2;

    const char *home_a = bench_make_temp("a"), *home_b = bench_make_temp("b");
    mesh_t *a = bench_open(home_a, true, "node-a"), *b = bench_open(home_b, true, "node-b");
    char id_a[MESH_ID_TEXT_LEN + 1], id_b[MESH_ID_TEXT_LEN + 1];
    bench_check(a, mesh_device_id(a, id_a, sizeof id_a), "mesh_device_id");
    bench_check(b, mesh_device_id(b, id_b, sizeof id_b), "mesh_device_id");
    bench_check(a, mesh_peer_add(a, id_b, "node-b", NULL, 0), "mesh_peer_add");
    bench_check(b, mesh_peer_add(b, id_a, "node-a", NULL, 0), "mesh_peer_add");
    double t0 = bench_read_clock();
    s_load(a, &d);
    printf("loaded %zu items on A in %.2f s\n", items, bench_read_clock() - t0);

    /* the full transfer, for comparison */
    void *full = NULL;
    size_t full_len = 0;
    mesh_import_report_t rep = {.size = sizeof rep};
    t0 = bench_read_clock();
    bench_check(a, mesh_export(a, NULL, 0, NULL, 0, &full, &full_len), "mesh_export");
    bench_check(b, mesh_import(b, full, full_len, &rep), "mesh_import");
    double t_full = bench_read_clock() - t0;
    mesh_free(rep.text);
    mesh_free(full);
    s_digests(a, b, true, "after the full transfer");

    /* B loses diff items behind its vector's back */
    s_loss_t loss = {.d = &d, .at = calloc(diff, sizeof(size_t)), .n = diff};
    uint8_t *taken = calloc(items, 1);
    uint64_t rng = BENCH_SEED ^ 0x72657061697200ull;
    if (!loss.at || !taken) {
        bench_die("out of memory");
    }
    for (size_t k = 0; k < diff;) {
        size_t i = (size_t)(bench_mix(&rng) % items);
        if (!taken[i]) {
            taken[i] = 1;
            loss.at[k++] = i;
        }
    }
    bench_check(b, store_write(b->store, s_unstore, &loss), "deleting items from B");
    s_digests(a, b, false, "after the loss");

    s_figures_t f = {0};
    s_repair(a, b, &f);
    s_digests(a, b, true, "after the repair");
    for (size_t k = 0; k < diff; k++) {
        void *got = NULL;
        size_t got_len = 0;
        size_t i = loss.at[k];
        bench_check(
            b, mesh_get(b, BENCH_COLL, d.keys + i * BENCH_KEY_LEN, BENCH_KEY_LEN, &got, &got_len),
            "mesh_get of a repaired item");
        bool same =
            got_len == BENCH_VALUE_LEN && memcmp(got, d.values + i * BENCH_VALUE_LEN, got_len) == 0;
        mesh_free(got);
        if (!same) {
            bench_die("repaired item %zu reads another value", i);
        }
    }
    size_t bytes = f.range_bytes + f.repair_bytes;
    printf("\nfull transfer of %zu items: %zu bytes (%.1f MiB), export + import %.2f s\n", items,
           full_len, (double)full_len / 1048576.0, t_full);
    printf("repair of %zu lost items among %zu: %.3f s (the two snapshots, at once: %.3f s), "
           "%zu bytes (%.1f KiB): %zu range lists (%zu bytes), %zu REPAIR (%zu bytes, %zu items)\n",
           diff, items, f.seconds, f.snapshot_seconds, bytes, (double)bytes / 1024.0, f.lists,
           f.range_bytes, f.repairs, f.repair_bytes, f.items);
    printf("CPU time of the repair, both sides: %.3f s (the wall time above depends on the "
           "machine's load)\n",
           f.cpu_seconds);
    printf("verify: B reads every repaired value, digests equal: ok\n");
    printf("repair: %.3f s (target < %.0f s): %s; %zu bytes (target < %u): %s; full transfer "
           "%zu bytes, %.2f s\n",
           f.seconds, S_TIME_TARGET, f.seconds < S_TIME_TARGET ? "ok" : "OVER", bytes,
           S_BYTE_TARGET, bytes < S_BYTE_TARGET ? "ok" : "OVER", full_len, t_full);
    free(loss.at);
    free(taken);
    mesh_close(a);
    mesh_close(b);
    bench_remove_temp(home_b); /* (the later one first: removing one moves those after it) */
    bench_remove_temp(home_a);
    bench_free_data(&d);
    return 0;
}
