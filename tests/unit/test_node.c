/* tests/unit/test_node.c: the public API on one device: open, transactions, reads,
 * iteration, the log, digests, signatures of committed sets, limits and error texts, and
 * the result lists and sized structs of the ABI (every peer address, whole). */
#include <pthread.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "crypto/devid.h"
#include "crypto/hash.h"
#include "crypto/ident.h"
#include "meshsync.h"
#include "core/base/node.h"
#include "core/data/version.h"
#include "util.h"
#include "core/wire/set.h"

typedef struct fixture {
    char dir[64];
    char home[96];
    mesh_t *m;
} fixture_t;

static int
s_setup(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    if (!f || util_temp_home("test_node", f->dir, sizeof f->dir, f->home, sizeof f->home) != 0) {
        free(f);
        return -1;
    }
    if (util_open(f->home, true, "testbox", 0, &f->m) != MESH_OK) {
        return -1;
    }
    *state = f;
    return 0;
}

static int
s_teardown(void **state)
{
    fixture_t *f = *state;
    mesh_close(f->m);
    int rc = util_rm_tree(f->dir);
    free(f);
    return rc == 0 ? 0 : -1;
}

static void
test_node_open_requires_init(void **state)
{
    fixture_t *f = *state;
    char other[128];
    mesh_t *m = NULL;
    snprintf(other, sizeof other, "%s/none", f->dir);
    mesh_options_t o = {.size = sizeof o, .home = other, .offline = true};
    assert_int_equal(mesh_open(&o, &m), MESH_ENOTINIT);
    assert_null(m);
    o.size = 4; /* too small to hold the fields */
    assert_int_equal(mesh_open(&o, &m), MESH_EINVAL);
    assert_int_equal(mesh_open(NULL, &m), MESH_EINVAL);
}

static void
test_node_device_id_and_name(void **state)
{
    fixture_t *f = *state;
    char id[MESH_ID_TEXT_LEN + 1], again[MESH_ID_TEXT_LEN + 1];
    assert_int_equal(mesh_device_id(f->m, id, sizeof id), MESH_OK);
    assert_int_equal(strlen(id), MESH_ID_TEXT_LEN);
    assert_int_equal(mesh_id_check(id), MESH_OK);
    assert_int_equal(mesh_device_id(f->m, id, 10), MESH_EINVAL);
    assert_string_equal(mesh_device_name(f->m), "testbox");
    /* reopening keeps the identity and the name */
    mesh_close(f->m);
    assert_int_equal(util_open(f->home, false, NULL, 0, &f->m), MESH_OK);
    assert_int_equal(mesh_device_id(f->m, again, sizeof again), MESH_OK);
    assert_string_equal(id, again);
    assert_string_equal(mesh_device_name(f->m), "testbox");
}

static void
test_node_put_get_del(void **state)
{
    fixture_t *f = *state;
    util_put(f->m, "notes", "a", "1");
    util_expect(f->m, "notes", "a", "1");
    util_put(f->m, "notes", "a", "2");
    util_expect(f->m, "notes", "a", "2");
    util_expect(f->m, "other", "a", NULL);
    util_put(f->m, "notes", "a", NULL);
    util_expect(f->m, "notes", "a", NULL);
    /* the tombstone is a version of its own */
    mesh_item_version_list_t *vs = NULL;
    assert_int_equal(mesh_get_versions(f->m, "notes", "a", 1, &vs), MESH_OK);
    assert_int_equal(mesh_item_version_list_count(vs), 1);
    const mesh_item_version_t *v0 = mesh_item_version_list_get(vs, 0);
    assert_int_equal(v0->size, sizeof *v0);
    assert_true(v0->deleted);
    assert_null(v0->value);
    assert_true(v0->is_winner);
    assert_int_equal(v0->seq, 3);
    assert_null(mesh_item_version_list_get(vs, 1));
    mesh_item_version_list_free(vs);
    assert_int_equal(mesh_get_versions(f->m, "notes", "nope", 4, &vs), MESH_ENOTFOUND);
    assert_null(vs);
    assert_int_equal(mesh_item_version_list_count(NULL), 0);
    assert_null(mesh_item_version_list_get(NULL, 0));
    mesh_item_version_list_free(NULL);
    /* an empty value is a value, not a deletion */
    mesh_txn_t *txn = NULL;
    void *v = NULL;
    size_t len = 9;
    assert_int_equal(mesh_txn_begin(f->m, "notes", &txn), MESH_OK);
    assert_int_equal(mesh_put(txn, "e", 1, NULL, 0), MESH_OK);
    assert_int_equal(mesh_txn_commit(&txn, NULL), MESH_OK);
    assert_int_equal(mesh_get(f->m, "notes", "e", 1, &v, &len), MESH_OK);
    assert_non_null(v);
    assert_int_equal(len, 0);
    mesh_free(v);
}

static void
test_node_txn_is_one_set(void **state)
{
    fixture_t *f = *state;
    mesh_txn_t *txn = NULL;
    uint64_t first = 0;
    assert_int_equal(mesh_txn_begin(f->m, "c", &txn), MESH_OK);
    for (int i = 0; i < 50; i++) {
        char k[16];
        int n = snprintf(k, sizeof k, "k%02d", i);
        assert_int_equal(mesh_put(txn, k, (size_t)n, "v", 1), MESH_OK);
    }
    assert_int_equal(mesh_txn_commit(&txn, &first), MESH_OK);
    assert_int_equal(first, 1);
    util_put(f->m, "c", "z", "last");
    mesh_set_list_t *sets = NULL;
    assert_int_equal(mesh_log(f->m, "c", 0, &sets), MESH_OK);
    assert_int_equal(mesh_set_list_count(sets), 2);
    const mesh_set_info_t *s0 = mesh_set_list_get(sets, 0), *s1 = mesh_set_list_get(sets, 1);
    assert_int_equal(s0->size, sizeof *s0);
    assert_int_equal(s0->first_seq, 51); /* newest first */
    assert_int_equal(s0->count, 1);
    assert_int_equal(s1->first_seq, 1);
    assert_int_equal(s1->count, 50);
    assert_true(s0->hlc > s1->hlc);
    assert_null(mesh_set_list_get(sets, 2));
    mesh_set_list_free(sets);
    assert_int_equal(mesh_log(f->m, "c", 1, &sets), MESH_OK);
    assert_int_equal(mesh_set_list_count(sets), 1);
    mesh_set_list_free(sets);
    assert_int_equal(mesh_log(f->m, "never-written", 0, &sets), MESH_OK);
    assert_int_equal(mesh_set_list_count(sets), 0);
    mesh_set_list_free(sets);
    assert_int_equal(mesh_log(f->m, "c", 0, NULL), MESH_EINVAL);
    /* an empty transaction commits nothing */
    assert_int_equal(mesh_txn_begin(f->m, "c", &txn), MESH_OK);
    assert_int_equal(mesh_txn_commit(&txn, &first), MESH_OK);
    assert_int_equal(first, 0);
    /* an aborted one neither */
    assert_int_equal(mesh_txn_begin(f->m, "c", &txn), MESH_OK);
    assert_int_equal(mesh_put(txn, "gone", 4, "x", 1), MESH_OK);
    mesh_txn_abort(txn);
    util_expect(f->m, "c", "gone", NULL);
}

/* Committed sets verify against the device key; leaves are the stored op metadata. */
static void
test_node_sets_are_signed(void **state)
{
    fixture_t *f = *state;
    mesh_txn_t *txn = NULL;
    assert_int_equal(mesh_txn_begin(f->m, "sig", &txn), MESH_OK);
    assert_int_equal(mesh_put(txn, "a", 1, "x", 1), MESH_OK);
    assert_int_equal(mesh_put(txn, "b", 1, "y", 1), MESH_OK);
    assert_int_equal(mesh_del(txn, "c", 1), MESH_OK);
    assert_int_equal(mesh_txn_commit(&txn, NULL), MESH_OK);

    store_txn_t *st = NULL;
    uint32_t cid = 0, oid = 0;
    store_set_t set;
    wire_header_t h;
    uint8_t root[HASH_LEN];
    const uint8_t *pk = ident_public_key(f->m->ident);
    assert_int_equal(store_read_begin(f->m->store, &st), MESH_OK);
    assert_int_equal(store_coll_id(st, "sig", false, &cid), MESH_OK);
    assert_int_equal(
        store_origin_id(st, pk, store_incarnation(f->m->store), false, &oid), MESH_OK);
    assert_int_equal(store_set_get(st, cid, oid, 1, &set), MESH_OK);
    assert_int_equal(ident_verify(pk, set.header, set.header_len, set.sig), MESH_OK);
    assert_int_equal(wire_header_decode(set.header, set.header_len, &h), MESH_OK);
    assert_int_equal(h.count, 3);
    assert_memory_equal(h.coll, "sig", 3);
    assert_memory_equal(h.origin, pk, 32);
    hash_merkle_root((const uint8_t(*)[HASH_LEN])set.leaves, set.count, root);
    assert_memory_equal(root, h.root, HASH_LEN);
    /* leaf 1 is the hash of key "b"'s stored metadata, which binds its value hash */
    store_item_t *item = malloc(sizeof *item);
    store_key_t k = {.bytes = (const uint8_t *)"b", .len = 1};
    uint8_t leaf[HASH_LEN], vh[HASH_LEN];
    wire_opmeta_t op;
    assert_int_equal(store_item_get(st, cid, &k, item), MESH_OK);
    hash_tagged(HASH_TAG_LEAF, item->versions[0].meta, item->versions[0].meta_len, leaf);
    assert_memory_equal(leaf, set.leaves + HASH_LEN, HASH_LEN);
    assert_int_equal(wire_opmeta_decode(item->versions[0].meta, item->versions[0].meta_len, &op),
                     MESH_OK);
    hash_tagged(HASH_TAG_VALUE, "y", 1, vh);
    assert_memory_equal(op.vhash, vh, HASH_LEN);
    assert_int_equal(op.seq, 2);
    /* a flipped header bit fails */
    uint8_t *bad = malloc(set.header_len);
    memcpy(bad, set.header, set.header_len);
    bad[set.header_len / 2] ^= 1;
    assert_int_equal(ident_verify(pk, bad, set.header_len, set.sig), MESH_EBADSIG);
    free(bad);
    free(item);
    store_read_end(st);
}

/* An overwrite's context covers the version it replaced (transitively). */
static void
test_node_context_is_transitive(void **state)
{
    fixture_t *f = *state;
    util_put(f->m, "ctx", "k", "1");
    util_put(f->m, "ctx", "k", "2");
    util_put(f->m, "ctx", "k", "3");
    store_txn_t *st = NULL;
    uint32_t cid = 0;
    store_item_t *item = malloc(sizeof *item);
    store_key_t k = {.bytes = (const uint8_t *)"k", .len = 1};
    wire_opmeta_t op;
    wire_dot_t dot;
    assert_int_equal(store_read_begin(f->m->store, &st), MESH_OK);
    assert_int_equal(store_coll_id(st, "ctx", false, &cid), MESH_OK);
    assert_int_equal(store_item_get(st, cid, &k, item), MESH_OK);
    assert_int_equal(item->count, 1);
    assert_int_equal(
        wire_opmeta_decode(item->versions[0].meta, item->versions[0].meta_len, &op), MESH_OK);
    assert_int_equal(op.seq, 3);
    assert_int_equal(op.ctx_count, 1);
    wire_ctx_get(&op, 0, &dot);
    assert_int_equal(dot.seq, 2);
    assert_int_equal(dot.incarnation, store_incarnation(f->m->store));
    /* only the live version is in the dot index */
    uint64_t n = 0;
    assert_int_equal(store_dot_count_above(st, cid, item->versions[0].oid, 0, &n), MESH_OK);
    assert_int_equal(n, 1);
    store_read_end(st);
    free(item);
}

static void
test_node_digest_equals_recount(void **state)
{
    fixture_t *f = *state;
    char hex[65];
    uint64_t keys = 9;
    assert_int_equal(mesh_digest(f->m, "dg", hex, sizeof hex, &keys), MESH_OK);
    assert_int_equal(keys, 0);
    uint64_t rng = 12345;
    for (int step = 0; step < 60; step++) {
        mesh_txn_t *txn = NULL;
        assert_int_equal(mesh_txn_begin(f->m, "dg", &txn), MESH_OK);
        for (int i = 0; i < 5; i++) {
            rng = rng * 6364136223846793005ull + 1442695040888963407ull;
            char k[8];
            int n = snprintf(k, sizeof k, "k%u", (unsigned)(rng >> 60));
            if ((rng >> 40) % 4 == 0) {
                assert_int_equal(mesh_del(txn, k, (size_t)n), MESH_OK);
            } else {
                assert_int_equal(mesh_put(txn, k, (size_t)n, &rng, sizeof rng), MESH_OK);
            }
        }
        assert_int_equal(mesh_txn_commit(&txn, NULL), MESH_OK);
        assert_true(util_check_digest(f->m, "dg"));
    }
}

static void
test_node_iterate_by_prefix(void **state)
{
    fixture_t *f = *state;
    const char *keys[] = {"b/2", "a/1", "b/1", "c", "b/3"};
    for (size_t i = 0; i < 5; i++) {
        util_put(f->m, "it", keys[i], keys[i]);
    }
    util_put(f->m, "it", "b/2", NULL);
    mesh_iter_t *it = NULL;
    const uint8_t *k = NULL, *v = NULL;
    size_t kl = 0, vl = 0;
    bool conflict = true;
    assert_int_equal(mesh_iter_open(f->m, "it", "b/", 2, &it), MESH_OK);
    assert_int_equal(mesh_iter_next(it, &k, &kl, &v, &vl, &conflict), MESH_OK);
    assert_int_equal(kl, 3);
    assert_memory_equal(k, "b/1", 3);
    assert_memory_equal(v, "b/1", 3);
    assert_false(conflict);
    assert_int_equal(mesh_iter_next(it, &k, &kl, &v, &vl, NULL), MESH_OK);
    assert_memory_equal(k, "b/3", 3); /* b/2 is deleted */
    assert_int_equal(mesh_iter_next(it, &k, &kl, &v, &vl, NULL), MESH_ENOTFOUND);
    mesh_iter_close(it);
    assert_int_equal(mesh_iter_open_ex(f->m, "it", "b/", 2, MESH_ITER_TOMBSTONES, &it), MESH_OK);
    int n = 0;
    while (mesh_iter_next(it, &k, &kl, &v, &vl, NULL) == MESH_OK) {
        n++;
    }
    assert_int_equal(n, 3);
    mesh_iter_close(it);
    /* a collection never written iterates as empty */
    assert_int_equal(mesh_iter_open(f->m, "none", NULL, 0, &it), MESH_OK);
    assert_int_equal(mesh_iter_next(it, &k, &kl, &v, &vl, NULL), MESH_ENOTFOUND);
    mesh_iter_close(it);
}

static void
test_node_limits_are_enforced(void **state)
{
    fixture_t *f = *state;
    mesh_txn_t *txn = NULL;
    static uint8_t big[MESH_VALUE_MAX + 1];
    char coll[MESH_COLL_MAX + 2];
    memset(coll, 'c', sizeof coll - 1);
    coll[sizeof coll - 1] = '\0';
    assert_int_equal(mesh_txn_begin(f->m, coll, &txn), MESH_ETOOBIG);
    assert_null(txn);
    assert_int_equal(mesh_txn_begin(f->m, "_system", &txn), MESH_EINVAL);
    assert_int_equal(mesh_txn_begin(f->m, "", &txn), MESH_EINVAL);
    assert_int_equal(mesh_txn_begin(f->m, "lim", &txn), MESH_OK);
    assert_int_equal(mesh_put(txn, big, MESH_KEY_MAX + 1, "v", 1), MESH_ETOOBIG);
    assert_non_null(strstr(mesh_errmsg(f->m), "key of 1025 bytes"));
    assert_int_equal(mesh_put(txn, "k", 1, big, MESH_VALUE_MAX + 1), MESH_ETOOBIG);
    assert_int_equal(mesh_put(txn, "", 0, "v", 1), MESH_EINVAL);
    assert_int_equal(mesh_put(txn, big, MESH_KEY_MAX, big, MESH_VALUE_MAX), MESH_OK);
    assert_int_equal(mesh_txn_commit(&txn, NULL), MESH_OK);
    void *v = NULL;
    size_t len = 0;
    assert_int_equal(mesh_get(f->m, "lim", big, MESH_KEY_MAX, &v, &len), MESH_OK);
    assert_int_equal(len, MESH_VALUE_MAX);
    mesh_free(v);
    assert_int_equal(mesh_get(f->m, "lim", big, MESH_KEY_MAX + 1, &v, &len), MESH_ETOOBIG);
}

static void
test_node_survives_reopen(void **state)
{
    fixture_t *f = *state;
    util_put(f->m, "dur", "k", "kept");
    mesh_close(f->m);
    assert_int_equal(util_open(f->home, false, NULL, 0, &f->m), MESH_OK);
    util_expect(f->m, "dur", "k", "kept");
    util_put(f->m, "dur", "k2", "more");
    mesh_set_list_t *sets = NULL;
    assert_int_equal(mesh_log(f->m, "dur", 0, &sets), MESH_OK);
    assert_int_equal(mesh_set_list_count(sets), 2);
    assert_int_equal(mesh_set_list_get(sets, 0)->first_seq, 2); /* seq goes on, never reused */
    assert_int_equal(mesh_set_list_get(sets, 0)->incarnation,
                     mesh_set_list_get(sets, 1)->incarnation);
    mesh_set_list_free(sets);
}

/* A store of format 3 (digests of the definition before §5.8's): its collections' digests
 * are made again at the open, whatever they held, and the store is of format 4 after. */
static mesh_err_t
s_as_format3(store_txn_t *txn, void *arg)
{
    uint32_t cid = 0;
    store_coll_stats_t stats;
    (void)arg;
    mesh_err_t err = store_coll_id(txn, "old", false, &cid);
    err = err == MESH_OK ? store_coll_stats_get(txn, cid, &stats) : err;
    stats.digest[0] ^= 0x5a; /* (what the old definition gave differs from the new) */
    err = err == MESH_OK ? store_coll_stats_put(txn, cid, &stats) : err;
    return err == MESH_OK ? store_meta_put_u64(txn, "format", 3) : err;
}

static void
test_node_format3_digests_made_again(void **state)
{
    fixture_t *f = *state;
    char want[65], got[65];
    util_put(f->m, "old", "a", "1");
    util_put(f->m, "old", "b", "2");
    util_put(f->m, "old", "a", NULL); /* (a tombstone counts too) */
    assert_int_equal(mesh_digest(f->m, "old", want, sizeof want, NULL), MESH_OK);
    mesh_close(f->m);
    store_t *st = NULL;
    char dir[400], detail[128];
    snprintf(dir, sizeof dir, "%s/store", f->home);
    assert_int_equal(store_open(dir, 0, &st, detail, sizeof detail), MESH_OK);
    assert_int_equal(store_write(st, s_as_format3, NULL), MESH_OK);
    store_close(st);
    assert_int_equal(util_open(f->home, false, NULL, 0, &f->m), MESH_OK);
    assert_int_equal(mesh_digest(f->m, "old", got, sizeof got, NULL), MESH_OK);
    assert_string_equal(got, want);
    assert_true(util_check_digest(f->m, "old"));
    store_txn_t *txn = NULL;
    uint64_t format = 0, stale = 9;
    assert_int_equal(store_read_begin(f->m->store, &txn), MESH_OK);
    assert_int_equal(store_meta_get_u64(txn, "format", &format), MESH_OK);
    assert_int_equal(store_meta_get_u64(txn, STORE_META_REDIGEST, &stale), MESH_OK);
    store_read_end(txn);
    assert_int_equal(format, STORE_FORMAT);
    assert_int_equal(stale, 0);
}

static void
test_node_every_error_has_text(void **state)
{
    (void)state;
    for (int a = 0; a <= MESH_ERR_LAST; a++) {
        const char *t = mesh_strerror((mesh_err_t)a);
        assert_non_null(t);
        assert_string_not_equal(t, "unknown error");
        for (int b = 0; b < a; b++) {
            assert_string_not_equal(t, mesh_strerror((mesh_err_t)b));
        }
    }
    assert_string_equal(mesh_strerror((mesh_err_t)(MESH_ERR_LAST + 1)), "unknown error");
    char want[32];
    snprintf(want, sizeof want, "%d.%d.%d", MESH_VERSION_MAJOR, MESH_VERSION_MINOR,
             MESH_VERSION_PATCH);
    assert_string_equal(mesh_version(), want);
}

static void
s_log_collect(void *ctx, int level, const char *message)
{
    (void)level;
    int *count = ctx;
    assert_non_null(message);
    (*count)++;
}

static void
test_node_log_callback_gets_messages(void **state)
{
    fixture_t *f = *state;
    char other[128];
    int count = 0;
    mesh_t *m = NULL;
    snprintf(other, sizeof other, "%s/logged", f->dir);
    mesh_options_t o = {.size = sizeof o, .home = other, .create = true, .offline = true,
                        .log = s_log_collect, .log_ctx = &count, .log_level = MESH_LOG_DEBUG};
    assert_int_equal(mesh_open(&o, &m), MESH_OK);
    assert_true(count >= 1);
    mesh_close(m);
    count = 0;
    o.log_level = MESH_LOG_ERROR;
    o.create = false;
    assert_int_equal(mesh_open(&o, &m), MESH_OK);
    assert_int_equal(count, 0);
    mesh_close(m);
}

/* What the capture test's callback saw: each line as "level:text", and on which thread. */
typedef struct s_seen {
    char lines[4][64];
    int n;
    pthread_t thread;
    bool other_thread;
} s_seen_t;

static void
s_log_seen(void *ctx, int level, const char *message)
{
    s_seen_t *seen = ctx;
    seen->other_thread |= !pthread_equal(pthread_self(), seen->thread);
    if (seen->n < 4) {
        snprintf(seen->lines[seen->n++], sizeof seen->lines[0], "%d:%s", level, message);
    }
}

typedef struct s_worker {
    mesh_t *m;
    node_log_lines_t lines;
} s_worker_t;

static void *
s_worker_logs(void *arg)
{
    s_worker_t *w = arg;
    node_log_capture(&w->lines);
    node_log(w->m, MESH_LOG_WARN, "first %d", 1);
    node_log(w->m, MESH_LOG_DEBUG, "second\n(escaped)");
    node_log_capture(NULL);
    return NULL;
}

/* A worker thread's lines are captured, never given to the callback on that thread, and
 * the replay gives them to it on the replaying thread, in order, with their levels. */
static void
test_node_log_capture(void **state)
{
    fixture_t *f = *state;
    char other[128];
    s_seen_t seen = {.thread = pthread_self()};
    mesh_t *m = NULL;
    snprintf(other, sizeof other, "%s/captured", f->dir);
    mesh_options_t o = {.size = sizeof o, .home = other, .create = true, .offline = true,
                        .log = s_log_seen, .log_ctx = &seen, .log_level = MESH_LOG_DEBUG};
    assert_int_equal(mesh_open(&o, &m), MESH_OK);
    seen.n = 0;
    s_worker_t w = {.m = m};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, s_worker_logs, &w), 0);
    assert_int_equal(pthread_join(t, NULL), 0);
    assert_int_equal(seen.n, 0);
    assert_false(seen.other_thread);
    node_log_replay(m, &w.lines);
    assert_int_equal(seen.n, 2);
    char want[64];
    snprintf(want, sizeof want, "%d:first 1", MESH_LOG_WARN);
    assert_string_equal(seen.lines[0], want);
    snprintf(want, sizeof want, "%d:second\\n(escaped)", MESH_LOG_DEBUG);
    assert_string_equal(seen.lines[1], want);
    assert_null(w.lines.text);
    assert_int_equal(w.lines.len, 0);
    node_log_replay(m, &w.lines); /* (empty: nothing) */
    assert_int_equal(seen.n, 2);
    mesh_close(m);
}

static mesh_err_t
s_set_inc(store_txn_t *txn, void *arg)
{
    return store_meta_put_u64(txn, "incarnation", *(uint64_t *)arg);
}

/* A store restored from a snapshot that kept its incarnation learns from its own later set,
 * relayed back, that it was rolled back: it starts a new incarnation, so no dot is reused. */
static void
test_node_rollback_renews_incarnation(void **state)
{
    fixture_t *f = *state;
    char cmd[512], store_dir[160];
    util_put(f->m, "rb", "k1", "v1");
    uint64_t inc = store_incarnation(f->m->store);
    mesh_close(f->m);
    f->m = NULL;
    snprintf(cmd, sizeof cmd, "cp -a '%s/store' '%s/snap'", f->home, f->dir);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(util_open(f->home, false, NULL, 0, &f->m), MESH_OK);
    util_put(f->m, "rb", "k2", "v2"); /* seq 2, which the snapshot does not hold */
    void *bundle = NULL;
    size_t len = 0;
    assert_int_equal(mesh_export(f->m, NULL, 0, NULL, 0, &bundle, &len), MESH_OK);
    mesh_close(f->m);
    f->m = NULL;
    /* Restore the snapshot and hide the restore: same incarnation, matching file identity. */
    snprintf(cmd, sizeof cmd, "rm -rf '%s/store' && mv '%s/snap' '%s/store'", f->home, f->dir,
             f->home);
    assert_int_equal(system(cmd), 0);
    snprintf(store_dir, sizeof store_dir, "%s/store", f->home);
    store_t *st = NULL;
    char msg[128];
    assert_int_equal(store_open(store_dir, 0, &st, msg, sizeof msg), MESH_OK);
    assert_int_equal(store_write(st, s_set_inc, &inc), MESH_OK);
    store_close(st);
    assert_int_equal(util_open(f->home, false, NULL, 0, &f->m), MESH_OK);
    assert_int_equal(store_incarnation(f->m->store), inc);
    mesh_import_report_t rep = {.size = sizeof rep};
    assert_int_equal(mesh_import(f->m, bundle, len, &rep), MESH_OK);
    mesh_free(rep.text);
    mesh_free(bundle);
    assert_int_equal(rep.sets_rejected, 0);
    util_expect(f->m, "rb", "k2", "v2"); /* our own write came back */
    assert_int_not_equal(store_incarnation(f->m->store), inc);
    util_put(f->m, "rb", "k3", "v3");
    mesh_set_list_t *sets = NULL;
    assert_int_equal(mesh_log(f->m, "rb", 1, &sets), MESH_OK);
    assert_int_equal(mesh_set_list_count(sets), 1);
    /* the new write is not a second seq 3 */
    assert_int_not_equal(mesh_set_list_get(sets, 0)->incarnation, inc);
    assert_int_equal(mesh_set_list_get(sets, 0)->first_seq, 1);
    mesh_set_list_free(sets);
}

/* Eight addresses of 200 bytes (the most mesh_peer_add takes) and a name of 64: every one
 * comes back from mesh_peers, whole and in order; nothing is cut to fit a buffer. */
static void
test_node_peers_list_every_address(void **state)
{
    fixture_t *f = *state;
    char other[MESH_ID_TEXT_LEN + 1], addrs[8][201], name[65];
    const char *argv[8];
    uint8_t pk[32];
    memset(pk, 7, sizeof pk);
    devid_format(pk, other);
    for (int i = 0; i < 8; i++) {
        /* tcp://host-I.<letters, a dot after each 60 (labels stay under 64)>:PORT */
        int n = snprintf(addrs[i], sizeof addrs[i], "tcp://host-%d.", i);
        for (int label = 0; n < 200 - 5; n++) {
            addrs[i][n] = ++label == 61 ? '.' : (char)('a' + i);
            label = label == 61 ? 0 : label;
        }
        memcpy(addrs[i] + n, ":740", 4); /* the port, 7400 + i (i < 8) */
        addrs[i][n + 4] = (char)('0' + i);
        addrs[i][n + 5] = '\0';
        assert_int_equal(strlen(addrs[i]), 200);
        argv[i] = addrs[i];
    }
    memset(name, 'n', 64);
    name[64] = '\0';
    assert_int_equal(mesh_peer_add(f->m, other, name, argv, 8), MESH_OK);
    mesh_peer_list_t *peers = NULL;
    assert_int_equal(mesh_peers(f->m, &peers), MESH_OK);
    assert_int_equal(mesh_peer_list_count(peers), 2);
    const mesh_peer_t *p = NULL;
    for (size_t i = 0; i < mesh_peer_list_count(peers); i++) {
        const mesh_peer_t *q = mesh_peer_list_get(peers, i);
        assert_int_equal(q->size, sizeof *q);
        if (strcmp(q->id, other) == 0) {
            p = q;
        } else {
            assert_true(q->self);
            assert_int_equal(q->addr_count, 0);
        }
    }
    assert_non_null(p);
    assert_false(p->self);
    assert_string_equal(p->name, name);
    assert_int_equal(p->addr_count, 8);
    for (size_t i = 0; i < 8; i++) {
        assert_string_equal(p->addrs[i], addrs[i]);
    }
    assert_null(mesh_peer_list_get(peers, 2));
    mesh_peer_list_free(peers);
    /* a ninth address is refused, not dropped: the record stays as it was */
    const char *nine[9];
    for (int i = 0; i < 9; i++) {
        nine[i] = addrs[i % 8];
    }
    assert_int_equal(mesh_peer_add(f->m, other, NULL, nine, 9), MESH_ETOOBIG);
    assert_int_equal(mesh_peers(f->m, NULL), MESH_EINVAL);
    assert_int_equal(mesh_peer_list_count(NULL), 0);
    mesh_peer_list_free(NULL);
}

/* mesh_collections lists user collections by name, with their counts and digests. */
static void
test_node_collections_list(void **state)
{
    fixture_t *f = *state;
    mesh_coll_list_t *colls = NULL;
    assert_int_equal(mesh_collections(f->m, &colls), MESH_OK);
    assert_int_equal(mesh_coll_list_count(colls), 0);
    mesh_coll_list_free(colls);
    util_put(f->m, "my notes", "a", "1");
    util_put(f->m, "b", "k", "v");
    util_put(f->m, "b", "k", NULL);
    assert_int_equal(mesh_collections(f->m, &colls), MESH_OK);
    assert_int_equal(mesh_coll_list_count(colls), 2);
    const mesh_coll_info_t *b = mesh_coll_list_get(colls, 0);
    const mesh_coll_info_t *notes = mesh_coll_list_get(colls, 1);
    assert_int_equal(b->size, sizeof *b);
    assert_string_equal(b->name, "b");
    assert_int_equal(b->keys, 1);
    assert_int_equal(b->versions, 1);
    assert_string_equal(notes->name, "my notes");
    char digest[65];
    assert_int_equal(mesh_digest(f->m, "my notes", digest, sizeof digest, NULL), MESH_OK);
    assert_string_equal(notes->digest, digest);
    assert_null(mesh_coll_list_get(colls, 2));
    mesh_coll_list_free(colls);
    assert_int_equal(mesh_collections(f->m, NULL), MESH_EINVAL);
    mesh_coll_list_free(NULL);
}

/* The import report is the caller's, size first: the library fills only the fields that
 * fit in the size it is given, and refuses a report without one. */
static void
test_node_import_report_is_sized(void **state)
{
    fixture_t *f = *state;
    void *bundle = NULL;
    size_t len = 0;
    util_put(f->m, "c", "k", "v");
    assert_int_equal(mesh_export(f->m, NULL, 0, NULL, 0, &bundle, &len), MESH_OK);
    mesh_import_report_t rep;
    memset(&rep, 0, sizeof rep);
    assert_int_equal(mesh_import(f->m, bundle, len, &rep), MESH_EINVAL); /* size 0 */
    /* an older, shorter report: up to sets_known, and no room for text */
    memset(&rep, 0x5a, sizeof rep);
    rep.size = offsetof(mesh_import_report_t, sets_held);
    assert_int_equal(mesh_import(f->m, bundle, len, &rep), MESH_OK);
    assert_int_equal(rep.size, offsetof(mesh_import_report_t, sets_held));
    assert_int_equal(rep.sets_new, 0);
    assert_true(rep.sets_known > 0); /* our own sets: held already */
    const unsigned char *tail = (const unsigned char *)&rep.sets_held;
    for (size_t i = 0; i < sizeof rep - offsetof(mesh_import_report_t, sets_held); i++) {
        assert_int_equal(tail[i], 0x5a); /* past its size, nothing is written */
    }
    rep = (mesh_import_report_t){.size = sizeof rep};
    assert_int_equal(mesh_import(f->m, bundle, len, &rep), MESH_OK);
    assert_true(rep.sets_known > 0);
    assert_null(rep.text);
    assert_int_equal(mesh_import(f->m, bundle, len, NULL), MESH_EINVAL);
    mesh_free(bundle);
}

/* The collection-name rule and the escaping of log text (docs/PROTOCOL.md §1). */
static void
test_node_coll_names_and_escaping(void **state)
{
    fixture_t *f = *state;
    mesh_txn_t *txn = NULL;
    char why[128], out[64];
    static const char *const good[] = {"a b", "caf\xc3\xa9", "\xe6\x97\xa5\xe6\x9c\xac", "\xc2\xa0nbsp"};
    static const struct {
        const char *name, *why;
    } bad[] = {
        {"ev\x1bil", "byte 3 (0x1b) is a control character"},
        {"a\tb", "byte 2 (0x09)"},
        {"del\x7f", "byte 4 (0x7f)"},
        {"c1\xc2\x9b", "bytes 3-4 (U+009B)"},
        {"bad\xff", "byte 4 (0xff) is not valid UTF-8"},
        {"over\xc0\xaflong", "byte 5 (0xc0) is not valid UTF-8"},
        {"sur\xed\xa0\x80", "byte 4 (0xed) is not valid UTF-8"},
        {"cut\xe6\x97", "byte 4 (0xe6) is not valid UTF-8"},
        {"_sys", "reserved"},
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        assert_int_equal(node_coll_name_check(good[i], strlen(good[i]), false, why, sizeof why),
                         MESH_OK);
    }
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(node_coll_name_check(bad[i].name, strlen(bad[i].name), false, why,
                                              sizeof why),
                         MESH_EINVAL);
        assert_non_null(strstr(why, bad[i].why));
        /* a write under it fails the same way, and stores nothing */
        assert_int_equal(mesh_txn_begin(f->m, bad[i].name, &txn), MESH_EINVAL);
        assert_null(txn);
        assert_non_null(strstr(mesh_errmsg(f->m), bad[i].why));
    }
    /* A NUL inside a name given by length is a control character. */
    assert_int_equal(node_coll_name_check("a\0b", 3, false, why, sizeof why), MESH_EINVAL);
    assert_int_equal(node_coll_name_check("_mesh", 5, true, NULL, 0), MESH_OK);
    mesh_coll_list_t *colls = NULL;
    assert_int_equal(mesh_collections(f->m, &colls), MESH_OK);
    for (size_t i = 0; i < mesh_coll_list_count(colls); i++) {
        assert_true(strncmp(mesh_coll_list_get(colls, i)->name, "ev", 2) != 0);
    }
    mesh_coll_list_free(colls);

    /* Escaping: UTF-8 as is, control characters and invalid bytes as \xNN, cut whole. */
    static const char text[] = "caf\xc3\xa9\n\t\\\x1b[\xc2\x9b\xff";
    static const char expect[] = "caf\xc3\xa9\\n\\t\\\\\\x1b[\\xc2\\x9b\\xff";
    assert_int_equal(node_escape(text, sizeof text - 1, out, sizeof out), strlen(expect));
    assert_string_equal(out, expect);
    assert_int_equal(node_escape("ab\x1b", 3, out, 5), 2); /* no half escape */
    assert_string_equal(out, "ab");
    assert_int_equal(node_escape("a\xc3\xa9", 3, out, 3), 1); /* no half character */
    assert_string_equal(out, "a");
}

int
main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, s_setup, s_teardown)
    const struct CMUnitTest tests[] = {
        T(test_node_open_requires_init),     T(test_node_device_id_and_name),
        T(test_node_put_get_del),            T(test_node_txn_is_one_set),
        T(test_node_sets_are_signed),        T(test_node_context_is_transitive),
        T(test_node_digest_equals_recount),  T(test_node_iterate_by_prefix),
        T(test_node_limits_are_enforced),    T(test_node_survives_reopen),
        T(test_node_every_error_has_text),   T(test_node_log_callback_gets_messages),
        T(test_node_rollback_renews_incarnation), T(test_node_peers_list_every_address),
        T(test_node_collections_list),       T(test_node_import_report_is_sized),
        T(test_node_coll_names_and_escaping), T(test_node_log_capture),
        T(test_node_format3_digests_made_again),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
