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
 * The items, temp dirs, the raw LMDB run and the rounds are in common.c.
 * Layer: tests. Third-party: none. SPDX-License-Identifier: MIT */
#include "common.h"

#include "core/apply/apply.h"
#include "crypto/devid.h"
#include "crypto/hash.h"
#include "crypto/ident.h"
#include "core/wire/buf.h"
#include "core/wire/set.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define S_SINCE_TARGET 1024u /* bytes the --since bundle must stay under */

/* The encoded change sets of the producing device, one per BENCH_BATCH items. */
typedef struct s_input {
    ident_t *ident;                     /* the producer's key pair (in memory only) */
    char id_text[MESH_ID_TEXT_LEN + 1]; /* its device ID */
    uint64_t incarnation;
    size_t count;    /* sets */
    uint8_t **bytes; /* each set's encoding (malloc'd by wire_buf) */
    size_t *lens;
    uint64_t total; /* bytes in all sets */
} s_input_t;

/* ---- the input: signed sets from another device, encoded with the library's encoders ---- */

/* Encode items [from, to) as one full set, first_seq from + 1, as a commit on the producer
 * would: each op's metadata (no context: every key is new), its Merkle leaf, the root in
 * the header, the header signed; appends the set's bytes to in. */
static void
s_input_set(s_input_t *in, const bench_data_t *d, size_t from, size_t to, uint64_t hlc,
            wire_buf_t *metas, size_t *offs, uint8_t (*leaves)[HASH_LEN], wire_op_t *ops)
{
    size_t n = to - from;
    wire_buf_reset(metas);
    for (size_t k = 0; k < n; k++) {
        size_t i = from + k;
        wire_opmeta_t meta = {.seq = (uint64_t)i + 1,
                              .key = (const uint8_t *)d->keys + i * BENCH_KEY_LEN,
                              .key_len = BENCH_KEY_LEN,
                              .kind = WIRE_PUT,
                              .value_len = BENCH_VALUE_LEN};
        hash_tagged(HASH_TAG_VALUE, d->values + i * BENCH_VALUE_LEN, BENCH_VALUE_LEN, meta.vhash);
        offs[k] = metas->len;
        bench_check(NULL, wire_opmeta_encode(&meta, NULL, 0, metas), "wire_opmeta_encode");
    }
    offs[n] = metas->len;
    for (size_t k = 0; k < n; k++) {
        ops[k] = (wire_op_t){.meta = metas->data + offs[k],
                             .meta_len = offs[k + 1] - offs[k],
                             .value = d->values + (from + k) * BENCH_VALUE_LEN,
                             .value_len = BENCH_VALUE_LEN};
        hash_tagged(HASH_TAG_LEAF, ops[k].meta, ops[k].meta_len, leaves[k]);
    }
    wire_header_t h = {.coll = BENCH_COLL,
                       .coll_len = strlen(BENCH_COLL),
                       .incarnation = in->incarnation,
                       .first_seq = (uint64_t)from + 1,
                       .count = (uint32_t)n,
                       .hlc = hlc};
    memcpy(h.origin, ident_public_key(in->ident), WIRE_ORIGIN_LEN);
    hash_merkle_root((const uint8_t(*)[HASH_LEN])leaves, n, h.root);
    wire_buf_t header, set;
    wire_buf_init(&header);
    wire_buf_init(&set);
    bench_check(NULL, wire_header_encode(&h, &header), "wire_header_encode");
    uint8_t sig[IDENT_SIG_LEN];
    ident_sign(in->ident, header.data, header.len, sig);
    bench_check(NULL, wire_set_encode(header.data, header.len, sig, ops, n, &set),
                "wire_set_encode");
    wire_buf_release(&header);
    in->bytes[in->count] = set.data; /* the set's buffer is kept; released in s_input_release */
    in->lens[in->count] = set.len;
    in->total += set.len;
    in->count++;
}

static void
s_input_make(s_input_t *in, const bench_data_t *d)
{
    memset(in, 0, sizeof *in);
    bench_check(NULL, ident_lib_init(), "ident_lib_init");
    bench_check(NULL, ident_generate(&in->ident), "ident_generate");
    devid_format(ident_public_key(in->ident), in->id_text);
    while (in->incarnation == 0) {
        ident_random(&in->incarnation, sizeof in->incarnation);
    }
    size_t sets = (d->items + BENCH_BATCH - 1) / BENCH_BATCH;
    in->bytes = calloc(sets, sizeof *in->bytes);
    in->lens = calloc(sets, sizeof *in->lens);
    size_t *offs = malloc((BENCH_BATCH + 1) * sizeof *offs);
    uint8_t(*leaves)[HASH_LEN] = malloc(BENCH_BATCH * sizeof *leaves);
    wire_op_t *ops = malloc(BENCH_BATCH * sizeof *ops);
    if (!in->bytes || !in->lens || !offs || !leaves || !ops) {
        bench_die("out of memory for %zu sets", sets);
    }
    wire_buf_t metas;
    wire_buf_init(&metas);
    /* HLCs as the producer's clock would give them: now, one step per set. */
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t hlc = ((uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u) << 16;
    for (size_t i = 0; i < d->items; i += BENCH_BATCH) {
        size_t end = i + BENCH_BATCH < d->items ? i + BENCH_BATCH : d->items;
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

/* ---- meshsync ---- */

static mesh_t *
s_receiver(const s_input_t *in, const char *tag, const char **home)
{
    *home = bench_make_temp(tag);
    mesh_t *m = bench_open(*home, true, "receiver");
    bench_check(m, mesh_peer_add(m, in->id_text, "producer", NULL, 0), "mesh_peer_add");
    return m;
}

/* Apply one encoded set alone; returns its result (the call itself must succeed). */
static apply_result_t
s_apply_one(mesh_t *m, const uint8_t *set, size_t len)
{
    apply_result_t res;
    bench_check(m, apply_batch(m, &set, &len, 1, NULL, &res), "apply_batch");
    return res;
}

/* Not timed: the input is what a receiver accepts, and what it must refuse. Applies set 0
 * to a scratch receiver after a copy with one value byte changed and a copy with one
 * signature byte changed were both rejected, and reads its first item back. */
static void
s_input_check(const s_input_t *in, const bench_data_t *d)
{
    const char *home = NULL;
    mesh_t *m = s_receiver(in, "sample", &home);
    size_t len = in->lens[0];
    uint8_t *copy = malloc(len);
    if (!copy) {
        bench_die("out of memory");
    }
    /* Where the first op's value and the signature sit in the encoded bytes. */
    wire_set_t ws;
    bench_check(NULL, wire_set_decode(in->bytes[0], len, &ws), "wire_set_decode");
    size_t value_at = (size_t)(ws.ops[0].value - in->bytes[0]);
    size_t sig_at = (size_t)(ws.sig - in->bytes[0]);
    wire_set_release(&ws);
    memcpy(copy, in->bytes[0], len);
    copy[value_at] ^= 1;
    apply_result_t r = s_apply_one(m, copy, len);
    if (r.outcome != APPLY_REJECTED || r.err != MESH_EDIGEST) {
        bench_die("sample: a set with a changed value was not rejected with EDIGEST "
                  "(outcome %d, %s)",
                  (int)r.outcome, mesh_strerror(r.err));
    }
    memcpy(copy, in->bytes[0], len);
    copy[sig_at + 10] ^= 1;
    r = s_apply_one(m, copy, len);
    if (r.outcome != APPLY_REJECTED || r.err != MESH_EBADSIG) {
        bench_die("sample: a set with a changed signature was not rejected with EBADSIG "
                  "(outcome %d, %s)",
                  (int)r.outcome, mesh_strerror(r.err));
    }
    free(copy);
    size_t n0 = d->items < BENCH_BATCH ? d->items : BENCH_BATCH;
    r = s_apply_one(m, in->bytes[0], len);
    if (r.outcome != APPLY_NEW || r.ops_stored != n0) {
        bench_die("sample: set 0: outcome %d, %u ops stored of %zu (%s)", (int)r.outcome,
                  r.ops_stored, n0, r.why);
    }
    r = s_apply_one(m, in->bytes[0], len);
    if (r.outcome != APPLY_KNOWN) {
        bench_die("sample: set 0 applied twice: outcome %d, not APPLY_KNOWN", (int)r.outcome);
    }
    void *value = NULL;
    size_t value_len = 0;
    bench_check(m, mesh_get(m, BENCH_COLL, d->keys, BENCH_KEY_LEN, &value, &value_len), "mesh_get");
    if (value_len != BENCH_VALUE_LEN || memcmp(value, d->values, BENCH_VALUE_LEN) != 0) {
        bench_die("sample: item 0 reads back a different value");
    }
    mesh_free(value);
    mesh_close(m);
    bench_remove_temp(home);
}

/* Read back BENCH_VERIFY items chosen at random and compare, and check the collection's key
 * count. */
static void
s_verify_mesh(mesh_t *m, const bench_data_t *d)
{
    bench_verify_values(m, d);
    char digest[65];
    uint64_t keys = 0;
    bench_check(m, mesh_digest(m, BENCH_COLL, digest, sizeof digest, &keys), "mesh_digest");
    if (keys != d->items) {
        bench_die("verify: the collection holds %" PRIu64 " keys, expected %zu", keys, d->items);
    }
}

/* Apply every set, one per write transaction, into a fresh receiver. With keep, the
 * receiver's home stays (closed) for the bundle measurement and *kept names it. */
static void
s_apply_all(const s_input_t *in, const bench_data_t *d, bench_run_t *run, const char **kept)
{
    const char *home = NULL;
    mesh_t *m = s_receiver(in, "mesh", &home);

    double start = bench_read_clock();
    for (size_t i = 0; i < in->count; i++) {
        apply_result_t res;
        const uint8_t *set = in->bytes[i];
        mesh_err_t err = apply_batch(m, &set, &in->lens[i], 1, NULL, &res);
        if (err != MESH_OK) {
            bench_check(m, err, "apply_batch");
        }
        size_t want = i + 1 < in->count ? BENCH_BATCH : d->items - i * BENCH_BATCH;
        if (res.outcome != APPLY_NEW || res.ops_stored != want) {
            bench_die("set %zu: outcome %d, %u ops stored of %zu (%s)", i, (int)res.outcome,
                      res.ops_stored, want, res.why);
        }
    }
    run->seconds = bench_read_clock() - start;

    s_verify_mesh(m, d);
    mesh_close(m);
    bench_measure_store(home, "/store", run);
    if (kept) {
        *kept = home;
    } else {
        bench_remove_temp(home);
    }
}

/* What the rounds need: the input, and where round 2's receiver home is kept (node A of the
 * bundle measurement). */
typedef struct s_rounds {
    const s_input_t *in;
    const bench_data_t *d;
    const char *home_a;
} s_rounds_t;

/* One timed meshsync run of bench_compare; the second (round 1: meshsync first) keeps its
 * receiver's home. */
static void
s_run_mesh(void *ctx, int round, bench_run_t *run)
{
    s_rounds_t *r = ctx;
    s_apply_all(r->in, r->d, run, round == 1 ? &r->home_a : NULL);
}

/* ---- bundles: a full copy into a second node, then one change by --since ---- */

static void
s_import_check(mesh_t *m, const void *bundle, size_t len, size_t want_new, const char *what)
{
    mesh_import_report_t rep = {.size = sizeof rep};
    bench_check(m, mesh_import(m, bundle, len, &rep), what);
    bool ok = rep.sets_held == 0 && rep.sets_rejected == 0 && rep.sets_new >= want_new;
    if (!ok) {
        bench_die("%s: %zu new, %zu known, %zu held, %zu rejected: %s", what, rep.sets_new,
                  rep.sets_known, rep.sets_held, rep.sets_rejected, rep.text ? rep.text : "");
    }
    mesh_free(rep.text);
}

static void
s_digest_same(mesh_t *a, mesh_t *b, const char *when)
{
    char da[65], db[65];
    uint64_t ka = 0, kb = 0;
    bench_check(a, mesh_digest(a, BENCH_COLL, da, sizeof da, &ka), "mesh_digest");
    bench_check(b, mesh_digest(b, BENCH_COLL, db, sizeof db, &kb), "mesh_digest");
    if (strcmp(da, db) != 0 || ka != kb) {
        bench_die("%s: the two nodes' digests differ (%s, %" PRIu64 " keys / %s, %" PRIu64 " keys)",
                  when, da, ka, db, kb);
    }
}

/* Node A (home_a: the receiver of a timed run, holding every item) and a fresh node B that
 * trust each other; B takes A's full bundle; A changes one item; B sends its vector and A
 * exports only what it lacks; B imports that and must read the new value. */
static void
s_run_bundles(const bench_data_t *d, const char *home_a)
{
    mesh_t *a = bench_open(home_a, false, NULL);
    const char *home_b = bench_make_temp("b");
    mesh_t *b = bench_open(home_b, true, "node-b");
    char id_a[MESH_ID_TEXT_LEN + 1], id_b[MESH_ID_TEXT_LEN + 1];
    bench_check(a, mesh_device_id(a, id_a, sizeof id_a), "mesh_device_id");
    bench_check(b, mesh_device_id(b, id_b, sizeof id_b), "mesh_device_id");
    bench_check(a, mesh_peer_add(a, id_b, "node-b", NULL, 0), "mesh_peer_add");
    bench_check(b, mesh_peer_add(b, id_a, "node-a", NULL, 0), "mesh_peer_add");

    void *full = NULL;
    size_t full_len = 0;
    double t0 = bench_read_clock();
    bench_check(a, mesh_export(a, NULL, 0, NULL, 0, &full, &full_len), "mesh_export (full)");
    double t_export = bench_read_clock() - t0;
    t0 = bench_read_clock();
    s_import_check(b, full, full_len, 1, "mesh_import (full)");
    double t_import = bench_read_clock() - t0;
    mesh_free(full);
    s_digest_same(a, b, "after the full bundle");

    /* One item changes on A: an ordinary local transaction, a new value for item n/2. */
    size_t at = d->items / 2;
    const char *key = d->keys + at * BENCH_KEY_LEN;
    uint8_t value[BENCH_VALUE_LEN];
    for (size_t i = 0; i < BENCH_VALUE_LEN; i++) {
        value[i] = (uint8_t)(d->values[at * BENCH_VALUE_LEN + i] ^ 0xa5);
    }
    mesh_txn_t *txn = NULL;
    bench_check(a, mesh_txn_begin(a, BENCH_COLL, &txn), "mesh_txn_begin");
    mesh_err_t err = mesh_put(txn, key, BENCH_KEY_LEN, value, BENCH_VALUE_LEN);
    if (err != MESH_OK) {
        mesh_txn_abort(txn);
        bench_check(a, err, "mesh_put");
    }
    bench_check(a, mesh_txn_commit(&txn, NULL), "mesh_txn_commit");

    void *vec = NULL, *since = NULL;
    size_t vec_len = 0, since_len = 0;
    bench_check(b, mesh_vector(b, NULL, 0, &vec, &vec_len), "mesh_vector");
    t0 = bench_read_clock();
    bench_check(a, mesh_export(a, NULL, 0, vec, vec_len, &since, &since_len),
                "mesh_export (since)");
    double t_since = bench_read_clock() - t0;
    s_import_check(b, since, since_len, 1, "mesh_import (since)");
    mesh_free(since);
    mesh_free(vec);

    void *got = NULL;
    size_t got_len = 0;
    bench_check(b, mesh_get(b, BENCH_COLL, key, BENCH_KEY_LEN, &got, &got_len), "mesh_get on B");
    bool same = got_len == BENCH_VALUE_LEN && memcmp(got, value, BENCH_VALUE_LEN) == 0;
    mesh_free(got);
    if (!same) {
        bench_die("--since: B does not read the changed value of item %zu", at);
    }
    s_digest_same(a, b, "after the --since bundle");
    mesh_close(a);
    mesh_close(b);
    bench_remove_temp(home_b);

    printf("\nfull bundle of A (%zu items, every set with its signed header): %zu bytes "
           "(%.1f MiB, %.0f B per item)\n",
           d->items, full_len, (double)full_len / 1048576.0, (double)full_len / (double)d->items);
    printf("  mesh_export %.3f s (%.0f items/s), mesh_import into fresh B %.3f s (%.0f items/s, "
           "one write transaction per 64 MiB of sets)\n",
           t_export, bench_rate(d->items, t_export), t_import, bench_rate(d->items, t_import));
    printf("--since bundle for 1 changed item among %zu: %zu bytes (target < %u): %s; export "
           "%.3f s, vector %zu bytes\n",
           d->items, since_len, S_SINCE_TARGET, since_len < S_SINCE_TARGET ? "ok" : "OVER", t_since,
           vec_len);
    printf("verify: B reads the new value, and A and B have equal digests after each bundle: "
           "ok\n");
    printf("since: %zu bytes for 1 changed item among %zu (target < %u)\n", since_len, d->items,
           S_SINCE_TARGET);
}

int
main(int argc, char **argv)
{
    size_t items = bench_parse_args("bench_apply", argc, argv);
    bench_data_t data;
    s_input_t input;
    bench_make_data(&data, items);
    double t0 = bench_read_clock();
    s_input_make(&input, &data);
    double t_input = bench_read_clock() - t0;
    bench_print_versions();
    printf("%zu items, keys %u hex chars, values %u bytes; meshsync applies %zu signed sets of "
           "%u ops\nfrom another device (decode + verify + apply, one durable write "
           "transaction per set);\nraw LMDB commits every %u puts\n",
           items, BENCH_KEY_LEN, BENCH_VALUE_LEN, input.count, BENCH_BATCH, BENCH_BATCH);
    printf("input (untimed): %zu sets, %.1f MiB encoded, %.0f B per op, made in %.3f s\n",
           input.count, (double)input.total / 1048576.0, (double)input.total / (double)items,
           t_input);
    s_input_check(&input, &data);
    printf("sample (untimed): set 0 applies as new, again as known; a changed value and a "
           "changed signature are rejected: ok\n\n");

    s_rounds_t rounds = {.in = &input, .d = &data, .home_a = NULL};
    bench_result_t res;
    bench_compare(&data, s_run_mesh, &rounds, &res);
    printf("verify: every set APPLY_NEW with all ops stored; %zu random keys read back with "
           "mesh_get and the key count checked after each meshsync run: ok\n",
           items < BENCH_VERIFY ? items : BENCH_VERIFY);

    s_input_release(&input);
    s_run_bundles(&data, rounds.home_a);
    printf("apply: meshsync %.0f items/s, raw LMDB %.0f items/s, ratio %.2f (target >= %.2f)\n",
           res.mesh_rate, res.raw_rate, res.ratio, BENCH_TARGET);

    bench_free_data(&data);
    bench_clean_up();
    return 0;
}
