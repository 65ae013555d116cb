/* tests/unit/test_collect.c: tombstone collection (core/apply/collect.c) and the
 * acknowledgements it reads (core/member/ack.c), on real nodes in one process that sync by
 * bundles.
 * - the rule, pure: the stable vector is each entry's minimum over every acknowledgement (a
 *   missing entry is 0), and all 0 in a collection while own lacks what an acknowledgement
 *   covers; a tombstone item is covered only when every entry of its join is.
 * - a mesh of one collects its deletes at once; the item, its dots, stats and digest go
 *   (the digest recounted from the store agrees); live keys stay.
 * - two members: nothing is collected until the other member acknowledged the delete; a
 *   member silent past the horizon no longer holds it back.
 * - two tombstones of one key go together, once, as do keys deleted on either side.
 * - a tombstone beside a live sibling is never collected, nor one whose sibling is still on
 *   its way (what the acknowledgements cover is not all here yet).
 * - under the floor, a version the store lacks is refused (a live one queued and deleted
 *   anew, covering its dot); one above the floor, or one held, is not refused.
 * - an "ack/<ID>" record is accepted only from the device it names, in exactly that form.
 * Layer: tests. Third-party: cmocka. SPDX-License-Identifier: MIT */
#include "core/apply/collect.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/member/ack.h"
#include "core/member/member.h"
#include "crypto/devid.h"
#include "store/gc.h"
#include "store/store.h"
#include "util.h"

static char g_root[256];

static int
s_setup(void **state)
{
    (void)state;
    const char *base = getenv("MESH_TEST_TMPDIR");
    snprintf(g_root, sizeof g_root, "%s/test_collect.XXXXXX", base && *base ? base : "/tmp");
    return mkdtemp(g_root) ? 0 : -1;
}

static int
s_teardown(void **state)
{
    (void)state;
    return util_rm_tree(g_root) == 0 ? 0 : -1;
}

static mesh_t *
s_open(const char *sub)
{
    char home[512];
    mesh_t *m = NULL;
    snprintf(home, sizeof home, "%s/%s", g_root, sub);
    CHECK_OK(util_open(home, true, sub, 16u << 20, &m));
    return m;
}

static uint64_t
s_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* a and b members of each other; their device IDs into ida and idb. */
static void
s_members(mesh_t *a, mesh_t *b, char ida[MESH_ID_TEXT_LEN + 1], char idb[MESH_ID_TEXT_LEN + 1])
{
    CHECK_OK(mesh_device_id(a, ida, MESH_ID_TEXT_LEN + 1));
    CHECK_OK(mesh_device_id(b, idb, MESH_ID_TEXT_LEN + 1));
    CHECK_OK(mesh_peer_add(a, idb, NULL, NULL, 0));
    CHECK_OK(mesh_peer_add(b, ida, NULL, NULL, 0));
}

/* Everything from's store holds, imported into to. */
static void
s_sync(mesh_t *from, mesh_t *to)
{
    void *buf = NULL;
    size_t len = 0;
    mesh_import_report_t rep = {.size = sizeof rep};
    CHECK_OK(mesh_export(from, NULL, 0, NULL, 0, &buf, &len));
    CHECK_OK(mesh_import(to, buf, len, &rep));
    CHECK_EQ(rep.sets_rejected, 0);
    mesh_free(rep.text);
    mesh_free(buf);
}

/* One collection pass with horizon_ms, as if now were now_ms; the report in *r. */
static void
s_collect(mesh_t *m, uint64_t now_ms, uint64_t horizon_ms, collect_report_t *r)
{
    vector_t *stable = NULL;
    bool more = false;
    CHECK_OK(collect_stable_load(m, now_ms, horizon_ms, &stable, r));
    CHECK_OK(collect_run(m, stable, r, &more));
    CHECK(!more);
    vector_free(stable);
}

static size_t
s_versions(mesh_t *m, const char *coll, const char *key)
{
    mesh_item_version_list_t *l = NULL;
    mesh_err_t err = mesh_get_versions(m, coll, key, strlen(key), &l);
    size_t n = err == MESH_OK ? mesh_item_version_list_count(l) : 0;
    CHECK(err == MESH_OK || err == MESH_ENOTFOUND);
    mesh_item_version_list_free(l);
    return n;
}

static uint64_t
s_stat_versions(mesh_t *m, const char *coll)
{
    mesh_coll_list_t *l = NULL;
    uint64_t n = 0;
    CHECK_OK(mesh_collections(m, &l));
    for (size_t i = 0; i < mesh_coll_list_count(l); i++) {
        if (strcmp(mesh_coll_list_get(l, i)->name, coll) == 0) {
            n = mesh_coll_list_get(l, i)->versions;
        }
    }
    mesh_coll_list_free(l);
    return n;
}

/* A vector of one collection "c" with the given (origin byte, incarnation 1, base) entries. */
static vector_t *
s_vector(const uint8_t *origins, const uint64_t *bases, size_t n)
{
    vector_t *v = calloc(1, sizeof *v);
    CHECK(v != NULL);
    v->colls = calloc(1, sizeof *v->colls);
    v->count = v->cap = 1;
    strcpy(v->colls[0].name, "c");
    v->colls[0].entries = calloc(n ? n : 1, sizeof *v->colls[0].entries);
    v->colls[0].count = v->colls[0].cap = n;
    for (size_t i = 0; i < n; i++) {
        memset(v->colls[0].entries[i].origin, origins[i], WIRE_ORIGIN_LEN);
        v->colls[0].entries[i].incarnation = 1;
        v->colls[0].entries[i].vv.base = bases[i];
    }
    return v;
}

static void
test_collect_stable_rule(void **state)
{
    (void)state;
    const uint8_t o[] = {1, 2, 3};
    vector_t *own = s_vector(o, (const uint64_t[]){10, 10, 10}, 3);
    vector_t *acks[2] = {s_vector(o, (const uint64_t[]){4, 12, 10}, 3),
                         s_vector(o, (const uint64_t[]){7, 9}, 2)}; /* origin 3 missing */
    vector_t *stable = NULL;
    /* an acknowledgement covers what own lacks (origin 2's 11, 12): nothing is stable */
    CHECK_OK(collect_stable(own, acks, 2, &stable));
    for (size_t i = 0; i < 3; i++) {
        CHECK_EQ(stable->colls[0].entries[i].vv.base, 0);
    }
    vector_free(stable);
    acks[0]->colls[0].entries[1].vv.base = 10;
    CHECK_OK(collect_stable(own, acks, 2, &stable));
    CHECK_EQ(stable->colls[0].entries[0].vv.base, 4);
    CHECK_EQ(stable->colls[0].entries[1].vv.base, 9);
    CHECK_EQ(stable->colls[0].entries[2].vv.base, 0);

    version_ctx_t ctx;
    version_ctx_init(&ctx);
    wire_dot_t d = {.incarnation = 1, .seq = 4};
    memset(d.origin, 1, WIRE_ORIGIN_LEN);
    CHECK_OK(version_ctx_add(&ctx, &d));
    CHECK(collect_covers(stable, "c", &ctx));
    CHECK(!collect_covers(stable, "other", &ctx)); /* another collection: nothing covered */
    d.seq = 5;                                     /* one past what the first member acknowledged */
    CHECK_OK(version_ctx_add(&ctx, &d));
    CHECK(!collect_covers(stable, "c", &ctx));
    version_ctx_reset(&ctx);
    d.seq = 1;
    memset(d.origin, 3, WIRE_ORIGIN_LEN); /* an origin one ack lacks */
    CHECK_OK(version_ctx_add(&ctx, &d));
    CHECK(!collect_covers(stable, "c", &ctx));
    d.incarnation = 2; /* another incarnation than the vector's */
    version_ctx_reset(&ctx);
    memset(d.origin, 1, WIRE_ORIGIN_LEN);
    CHECK_OK(version_ctx_add(&ctx, &d));
    CHECK(!collect_covers(stable, "c", &ctx));
    version_ctx_release(&ctx);
    vector_free(stable);
    vector_free(acks[0]);
    vector_free(acks[1]);
    vector_free(own);
}

static void
test_collect_alone(void **state)
{
    (void)state;
    mesh_t *a = s_open("alone");
    collect_report_t r;
    util_put(a, "c", "gone", "v1");
    util_put(a, "c", "kept", "v2");
    util_put(a, "c", "gone", NULL);
    CHECK_EQ(s_versions(a, "c", "gone"), 1);
    CHECK_EQ(s_stat_versions(a, "c"), 2);
    /* not before this device acknowledged it itself */
    s_collect(a, s_now_ms(), COLLECT_HORIZON_MS_DEFAULT, &r);
    CHECK_EQ(r.items, 0);
    bool wrote = false, needed = false;
    vector_t *scanned = NULL;
    CHECK_OK(ack_needed(a, &scanned, &needed));
    CHECK(needed); /* it holds a tombstone no acknowledgement covers */
    CHECK_OK(ack_publish(a, needed, 3600 * 1000, &wrote));
    CHECK(wrote);
    CHECK_OK(ack_needed(a, &scanned, &needed));
    CHECK(!needed);
    util_put(a, "c", "other", "v"); /* a put alone needs no new acknowledgement */
    CHECK_OK(ack_needed(a, &scanned, &needed));
    CHECK(!needed);
    CHECK_OK(ack_publish(a, needed, 3600 * 1000, &wrote));
    CHECK(!wrote);
    util_put(a, "c", "other", NULL);
    util_put(a, "c", "other", "back"); /* the tombstone went at once: nothing to tell */
    CHECK_OK(ack_needed(a, &scanned, &needed));
    CHECK(!needed);
    vector_free(scanned);
    s_collect(a, s_now_ms(), COLLECT_HORIZON_MS_DEFAULT, &r);
    CHECK_EQ(r.items, 1);
    CHECK_EQ(r.versions, 1);
    CHECK_EQ(r.members, 0);
    /* the first set's one op was superseded: its record goes; the second holds a live
     * value, the third is the origin's latest: they stay */
    /* gone's put and delete: nothing of theirs held, acknowledged; other's put and delete
     * (seqs 4, 5) hold nothing either but came after the acknowledgement (seq 3) */
    CHECK_EQ(r.sets, 2);
    CHECK_EQ(s_versions(a, "c", "gone"), 0);
    CHECK_EQ(s_stat_versions(a, "c"), 2);
    CHECK(util_check_digest(a, "c")); /* the digest agrees with what is stored */
    util_expect(a, "c", "kept", "v2");
    util_expect(a, "c", "other", "back");
    s_collect(a, s_now_ms(), COLLECT_HORIZON_MS_DEFAULT, &r); /* again: nothing more */
    CHECK_EQ(r.items, 0);
    /* the key can be written again, and reads so */
    util_put(a, "c", "gone", "v3");
    util_expect(a, "c", "gone", "v3");
    mesh_close(a);
}

static void
test_collect_waits_for_acks(void **state)
{
    (void)state;
    mesh_t *a = s_open("wa"), *b = s_open("wb");
    char ida[MESH_ID_TEXT_LEN + 1], idb[MESH_ID_TEXT_LEN + 1];
    collect_report_t r;
    bool wrote = false;
    s_members(a, b, ida, idb);
    util_put(a, "c", "k", "v");
    s_sync(a, b);
    CHECK_OK(ack_publish(b, true, 1000, &wrote));
    CHECK(wrote);
    CHECK_OK(ack_publish(b, true, 3600 * 1000, &wrote)); /* unchanged and young: not again */
    CHECK(!wrote);
    util_put(a, "c", "k", NULL);
    s_sync(a, b); /* B holds the delete, but has not acknowledged it */
    s_sync(b, a);
    /* B's acknowledgement predates the delete: it holds collection back */
    s_collect(a, s_now_ms(), COLLECT_HORIZON_MS_DEFAULT, &r);
    CHECK_EQ(r.members, 1);
    CHECK_EQ(r.items, 0);
    CHECK_EQ(s_versions(a, "c", "k"), 1);
    /* B silent past the horizon: it no longer does (once A acknowledged it itself) */
    CHECK_OK(ack_publish(a, true, 1000, &wrote));
    s_collect(a, s_now_ms() + 3600 * 1000, 1000, &r);
    CHECK_EQ(r.stale, 1);
    CHECK_EQ(r.items, 1);
    CHECK_EQ(s_versions(a, "c", "k"), 0);
    /* B acknowledges the delete, and collects once A acknowledged it too */
    CHECK_OK(ack_publish(b, true, 1000, &wrote));
    CHECK(wrote);
    s_sync(b, a);
    s_collect(b, s_now_ms(), COLLECT_HORIZON_MS_DEFAULT, &r);
    CHECK_EQ(r.items, 0); /* A has not acknowledged yet */
    CHECK_OK(ack_publish(a, true, 1000, &wrote));
    s_sync(a, b);
    s_collect(b, s_now_ms(), COLLECT_HORIZON_MS_DEFAULT, &r);
    CHECK_EQ(r.items, 1);
    CHECK(util_check_digest(b, "c"));
    char da[65], db[65];
    util_digest(a, "c", da);
    util_digest(b, "c", db);
    CHECK(strcmp(da, db) == 0);
    mesh_close(b);
    mesh_close(a);
}

/* Two tombstones of one key (both members deleted it before they met), beside keys whose
 * tombstone is the second version of the dots tree's order: each item is collected once,
 * with all its versions (the scan reads the dots tree, and takes an item at its first
 * version's tombstone). */
static void
test_collect_two_tombstones(void **state)
{
    (void)state;
    mesh_t *a = s_open("ta"), *b = s_open("tb");
    char ida[MESH_ID_TEXT_LEN + 1], idb[MESH_ID_TEXT_LEN + 1];
    collect_report_t r;
    bool wrote = false;
    s_members(a, b, ida, idb);
    util_put(a, "c", "k", "v");
    util_put(a, "c", "x", "v");
    util_put(a, "c", "y", "v");
    util_put(a, "c", "live", "v");
    s_sync(a, b);
    util_put(a, "c", "k", NULL);
    util_put(b, "c", "k", NULL);
    util_put(b, "c", "y", NULL);
    util_put(a, "c", "x", NULL);
    s_sync(a, b);
    s_sync(b, a);
    CHECK_EQ(s_versions(a, "c", "k"), 2);
    CHECK_EQ(s_versions(b, "c", "k"), 2);
    CHECK_OK(ack_publish(a, true, 1000, &wrote));
    CHECK_OK(ack_publish(b, true, 1000, &wrote));
    s_sync(a, b);
    s_sync(b, a);
    s_collect(a, s_now_ms(), COLLECT_HORIZON_MS_DEFAULT, &r);
    CHECK_EQ(r.items, 3);    /* k, x, y */
    CHECK_EQ(r.versions, 4); /* k's two */
    CHECK_EQ(s_versions(a, "c", "k"), 0);
    CHECK_EQ(s_versions(a, "c", "x"), 0);
    CHECK_EQ(s_versions(a, "c", "y"), 0);
    util_expect(a, "c", "live", "v");
    CHECK(util_check_digest(a, "c"));
    s_collect(a, s_now_ms(), COLLECT_HORIZON_MS_DEFAULT, &r); /* again: nothing more */
    CHECK_EQ(r.items, 0);
    mesh_close(b);
    mesh_close(a);
}

static void
test_collect_keeps_live_sibling(void **state)
{
    (void)state;
    mesh_t *a = s_open("sa"), *b = s_open("sb");
    char ida[MESH_ID_TEXT_LEN + 1], idb[MESH_ID_TEXT_LEN + 1];
    collect_report_t r;
    bool wrote = false;
    s_members(a, b, ida, idb);
    util_put(a, "c", "k", "first");
    s_sync(a, b);
    util_put(a, "c", "k", NULL);         /* A deletes */
    util_put(b, "c", "k", "concurrent"); /* B writes, not having seen it */
    s_sync(a, b);
    s_sync(b, a);
    CHECK_EQ(s_versions(a, "c", "k"), 2);
    CHECK_OK(ack_publish(a, true, 1000, &wrote));
    CHECK_OK(ack_publish(b, true, 1000, &wrote));
    s_sync(a, b);
    s_sync(b, a);
    s_collect(a, s_now_ms(), COLLECT_HORIZON_MS_DEFAULT, &r);
    CHECK_EQ(r.members, 1);
    CHECK_EQ(r.items, 0); /* the tombstone stays beside the live value */
    CHECK_EQ(s_versions(a, "c", "k"), 2);
    mesh_close(b);
    mesh_close(a);
}

/* Only "_mesh" (the acknowledgements) from from's store, imported into to. */
static void
s_sync_mesh(mesh_t *from, mesh_t *to)
{
    const char *colls[] = {"_mesh"};
    void *buf = NULL;
    size_t len = 0;
    mesh_import_report_t rep = {.size = sizeof rep};
    CHECK_OK(mesh_export(from, colls, 1, NULL, 0, &buf, &len));
    CHECK_OK(mesh_import(to, buf, len, &rep));
    CHECK_EQ(rep.sets_rejected, 0);
    mesh_free(rep.text);
    mesh_free(buf);
}

/* A sibling still on its way: C wrote k concurrently with A's delete; B and C hold both and
 * acknowledge them; A has every acknowledgement but not yet C's write, so its tombstone is
 * alone on A. Before, A collected it, and when C's write came A held it alone while B held
 * both for good (B never collects beside a live sibling): the digests never met, and a
 * repair every 30 s moved the same item. Now A waits until it holds what the
 * acknowledgements cover; must hold after: A, B and C hold the same two versions. */
static void
test_collect_sibling_in_flight(void **state)
{
    (void)state;
    mesh_t *n[3] = {s_open("fa"), s_open("fb"), s_open("fc")};
    char id[3][MESH_ID_TEXT_LEN + 1];
    collect_report_t r;
    bool wrote = false;
    for (int i = 0; i < 3; i++) {
        CHECK_OK(mesh_device_id(n[i], id[i], sizeof id[i]));
    }
    for (int i = 0; i < 3; i++) {
        for (int j = 0; j < 3; j++) {
            if (i != j) {
                CHECK_OK(mesh_peer_add(n[i], id[j], NULL, NULL, 0));
            }
        }
    }
    util_put(n[0], "c", "k", "first");
    s_sync(n[0], n[1]);
    s_sync(n[0], n[2]);
    util_put(n[0], "c", "k", NULL);         /* A deletes */
    util_put(n[2], "c", "k", "concurrent"); /* C writes, not having seen it */
    s_sync(n[0], n[1]);
    s_sync(n[2], n[1]); /* B: both */
    s_sync(n[0], n[2]); /* C: both */
    CHECK_EQ(s_versions(n[1], "c", "k"), 2);
    for (int i = 0; i < 3; i++) {
        CHECK_OK(ack_publish(n[i], true, 1000, &wrote));
    }
    s_sync_mesh(n[1], n[0]);
    s_sync_mesh(n[2], n[0]);
    CHECK_EQ(s_versions(n[0], "c", "k"), 1); /* A: its tombstone alone */
    s_collect(n[0], s_now_ms(), COLLECT_HORIZON_MS_DEFAULT, &r);
    CHECK_EQ(r.members, 2);
    CHECK_EQ(r.items, 0); /* C's write, which the acknowledgements cover, is not here yet */
    s_sync(n[2], n[0]);
    s_sync(n[0], n[1]);
    s_sync(n[1], n[2]);
    char d[3][65];
    for (int i = 0; i < 3; i++) {
        s_collect(n[i], s_now_ms(), COLLECT_HORIZON_MS_DEFAULT, &r);
        CHECK_EQ(s_versions(n[i], "c", "k"), 2);
        util_digest(n[i], "c", d[i]);
    }
    CHECK(strcmp(d[0], d[1]) == 0 && strcmp(d[0], d[2]) == 0);
    for (int i = 0; i < 3; i++) {
        mesh_close(n[i]);
    }
}

/* Collected on one device, written again there before the other collected: A's new write
 * of k covers the collection floors (its key has no item on A), so on B it supersedes the
 * tombstone B still holds. Before, the new write's context named nothing: B kept the
 * tombstone beside it as a sibling it could never collect, and A refused it at every
 * repair (the digests never met; where the tombstone won, B showed k deleted). Must hold
 * after: A and B hold the one new version, digests equal. */
static void
test_collect_rewrite_after_collect(void **state)
{
    (void)state;
    mesh_t *a = s_open("qa"), *b = s_open("qb");
    char ida[MESH_ID_TEXT_LEN + 1], idb[MESH_ID_TEXT_LEN + 1];
    collect_report_t r;
    bool wrote = false;
    s_members(a, b, ida, idb);
    util_put(a, "c", "k", "first");
    util_put(b, "c", "other", "b's"); /* (B's origin in the collection too) */
    s_sync(a, b);
    s_sync(b, a);
    util_put(a, "c", "k", NULL);
    s_sync(a, b);
    CHECK_OK(ack_publish(a, true, 1000, &wrote));
    CHECK_OK(ack_publish(b, true, 1000, &wrote));
    s_sync(b, a);
    s_sync(a, b);
    s_collect(a, s_now_ms(), COLLECT_HORIZON_MS_DEFAULT, &r);
    CHECK_EQ(r.items, 1); /* A collected; B has not run its pass */
    CHECK_EQ(s_versions(b, "c", "k"), 1);
    util_put(a, "c", "k", "again");
    s_sync(a, b);
    CHECK_EQ(s_versions(b, "c", "k"), 1); /* the tombstone superseded, not a sibling */
    util_expect(b, "c", "k", "again");
    char da[65], db[65];
    util_digest(a, "c", da);
    util_digest(b, "c", db);
    CHECK(strcmp(da, db) == 0);
    mesh_close(b);
    mesh_close(a);
}

typedef struct s_refuse {
    wire_header_t h;
    wire_opmeta_t op;
    uint32_t cid, at;
    bool refused;
} s_refuse_t;

static mesh_err_t
s_refuse_body(store_txn_t *txn, void *arg)
{
    s_refuse_t *t = arg;
    return collect_refuses(txn, t->cid, t->at, &t->h, &t->op, &t->refused);
}

static void
test_collect_refuses_under_floor(void **state)
{
    (void)state;
    mesh_t *a = s_open("ra");
    collect_report_t r;
    size_t done = 0;
    util_put(a, "c", "x", "old");  /* seq 1 */
    util_put(a, "c", "y", "live"); /* seq 2 */
    util_put(a, "c", "x", NULL);   /* seq 3, its context covers seq 1 */
    util_put(a, "c", "z", "new");  /* seq 4 */
    bool wrote = false;
    CHECK_OK(ack_publish(a, true, 1000, &wrote));
    s_collect(a, s_now_ms(), COLLECT_HORIZON_MS_DEFAULT, &r);
    CHECK_EQ(r.items, 1);

    s_refuse_t t = {.h = {.coll = "c", .coll_len = 1, .incarnation = store_incarnation(a->store)},
                    .op = {.key = (const uint8_t *)"x", .key_len = 1, .kind = WIRE_PUT, .seq = 1}};
    memcpy(t.h.origin, ident_public_key(a->ident), WIRE_ORIGIN_LEN);
    store_txn_t *txn = NULL;
    CHECK_OK(store_read_begin(a->store, &txn));
    CHECK_OK(store_coll_id(txn, "c", false, &t.cid));
    CHECK_OK(store_origin_id(txn, t.h.origin, t.h.incarnation, false, &t.at));
    uint64_t floor = 0;
    CHECK_OK(store_gc_floor_get(txn, t.cid, t.h.origin, t.h.incarnation, &floor));
    CHECK_EQ(floor, 3); /* the tombstone's own dot and its context */
    store_read_end(txn);

    /* x's old value (seq 1): under the floor, not held: refused, and queued */
    CHECK_OK(store_write(a->store, s_refuse_body, &t));
    CHECK(t.refused);
    /* y (seq 2): under the floor but held: not refused (the rules call it known) */
    t.op.seq = 2;
    t.op.key = (const uint8_t *)"y";
    CHECK_OK(store_write(a->store, s_refuse_body, &t));
    CHECK(!t.refused);
    /* seq 4: above the floor (a damaged store's loss): the repair may bring it */
    t.op.seq = 4;
    t.op.key = (const uint8_t *)"z";
    CHECK_OK(store_write(a->store, s_refuse_body, &t));
    CHECK(!t.refused);

    /* the queued delete: x deleted anew, its context covering seq 1 */
    CHECK_OK(collect_redo(a, &done));
    CHECK_EQ(done, 1);
    CHECK_EQ(s_versions(a, "c", "x"), 1);
    util_expect(a, "c", "x", NULL);
    CHECK_OK(collect_redo(a, &done)); /* the queue is empty now */
    CHECK_EQ(done, 0);
    mesh_close(a);
}

static void
test_collect_ack_key(void **state)
{
    (void)state;
    uint8_t a[WIRE_ORIGIN_LEN], b[WIRE_ORIGIN_LEN];
    char key[80], ida[MESH_ID_TEXT_LEN + 1];
    memset(a, 7, sizeof a);
    memset(b, 9, sizeof b);
    devid_format(a, ida);
    wire_opmeta_t op = {.key = (const uint8_t *)key, .kind = WIRE_PUT};
    op.key_len = (size_t)snprintf(key, sizeof key, "ack/%s", ida);
    CHECK_OK(member_check_op(&op, a));
    CHECK_EQ(member_check_op(&op, b), MESH_EPROTO); /* signed by another device */
    op.key_len = (size_t)snprintf(key, sizeof key, "ack/%sx", ida);
    CHECK_EQ(member_check_op(&op, a), MESH_EPROTO); /* trailing bytes */
    op.key_len = (size_t)snprintf(key, sizeof key, "ack/%s", "short");
    CHECK_EQ(member_check_op(&op, a), MESH_EPROTO);
    op.key_len = 4;
    CHECK_EQ(member_check_op(&op, a), MESH_EPROTO); /* "ack/" alone */
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_collect_stable_rule),
        cmocka_unit_test(test_collect_alone),
        cmocka_unit_test(test_collect_waits_for_acks),
        cmocka_unit_test(test_collect_two_tombstones),
        cmocka_unit_test(test_collect_keeps_live_sibling),
        cmocka_unit_test(test_collect_sibling_in_flight),
        cmocka_unit_test(test_collect_rewrite_after_collect),
        cmocka_unit_test(test_collect_refuses_under_floor),
        cmocka_unit_test(test_collect_ack_key),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
