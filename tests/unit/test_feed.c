/* tests/unit/test_feed.c: the change log and the change feed (docs/PROTOCOL.md §6, §20).
 * What must hold: every change of an item gets the next sequence number in the same
 * transaction (a failed transaction logs nothing; a process killed mid-write leaves a log
 * that matches the items, one entry a key); the log keeps each key's latest change only,
 * in commit order; a cursor resumes after a reopen with exactly the changes after it; remote
 * sets and conflicts are reported with their origin; a collected tombstone's entry goes and
 * an older cursor is told to reset; a store made before the log gets one entry per item at
 * its open; mesh_watch hands each change over once, and a callback may write and unwatch.
 * Layer: tests. Third-party: cmocka. SPDX-License-Identifier: MIT */
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/apply/collect.h"
#include "core/member/ack.h"
#include "store/env.h"
#include "store/store.h"
#include "util.h"

static char g_root[256];

static int
s_setup(void **state)
{
    (void)state;
    const char *base = getenv("TMPDIR");
    snprintf(g_root, sizeof g_root, "%s/test_feed.XXXXXX", base && *base ? base : "/tmp");
    return mkdtemp(g_root) ? 0 : -1;
}

static int
s_teardown(void **state)
{
    (void)state;
    return util_rm_tree(g_root) == 0 ? 0 : -1;
}

static mesh_t *
s_open(const char *sub, bool create)
{
    char home[512];
    mesh_t *m = NULL;
    snprintf(home, sizeof home, "%s/%s", g_root, sub);
    CHECK_OK(util_open(home, create, sub, 16u << 20, &m));
    return m;
}

/* The keys of the changes after since, as "key=value" or "key-" (deleted), space-separated. */
static uint64_t
s_list(mesh_t *m, const char *coll, const char *prefix, uint64_t since, char *out, size_t cap)
{
    mesh_change_list_t *l = NULL;
    CHECK_OK(mesh_changes(m, coll, prefix, prefix ? strlen(prefix) : 0, since, 0, &l));
    out[0] = '\0';
    uint64_t prev = since;
    for (size_t i = 0; i < mesh_change_list_count(l); i++) {
        const mesh_change_t *c = mesh_change_list_get(l, i);
        char one[128];
        CHECK(c->cursor > prev); /* rising */
        prev = c->cursor;
        snprintf(one, sizeof one, "%s%.*s%s%.*s", i ? " " : "", (int)c->key_len,
                 (const char *)c->key, c->deleted ? "-" : "=", (int)c->value_len,
                 c->value ? (const char *)c->value : "");
        strncat(out, one, cap - strlen(out) - 1);
    }
    CHECK(!mesh_change_list_more(l));
    uint64_t next = mesh_change_list_next(l);
    mesh_change_list_free(l);
    return next;
}

static void
test_feed_order_compaction_restart(void **state)
{
    (void)state;
    char got[512];
    mesh_t *a = s_open("a", true);
    util_put(a, "c", "k1", "1"); /* 1 */
    util_put(a, "c", "k2", "2"); /* 2 */
    util_put(a, "c", "k3", "3"); /* 3 */
    util_put(a, "c", "k1", "4"); /* 4: k1's entry 1 goes */
    util_put(a, "c", "k2", NULL); /* 5: k2's entry 2 goes */
    util_put(a, "d", "x", "5");   /* 6 */
    uint64_t next = s_list(a, "c", NULL, 0, got, sizeof got);
    assert_string_equal(got, "k3=3 k1=4 k2-");
    CHECK_EQ(next, 7); /* the end of the log, past d's entry (_mesh's genesis is 1) */
    s_list(a, NULL, NULL, 0, got, sizeof got);
    assert_string_equal(got, "k3=3 k1=4 k2- x=5"); /* no _mesh: it starts with '_' */
    s_list(a, "_mesh", NULL, 0, got, sizeof got);
    CHECK(strncmp(got, "genesis/", 8) == 0); /* asked for by name, it is there */
    s_list(a, "c", "k1", 0, got, sizeof got);
    assert_string_equal(got, "k1=4");
    s_list(a, NULL, NULL, 4, got, sizeof got); /* after k3's cursor */
    assert_string_equal(got, "k1=4 k2- x=5");
    CHECK_EQ(s_list(a, NULL, NULL, 7, got, sizeof got), 7);
    assert_string_equal(got, "");
    mesh_change_list_t *l = NULL;
    CHECK_EQ(mesh_changes(a, NULL, NULL, 0, 8, 0, &l), MESH_EINVAL); /* beyond the log */
    CHECK(l == NULL);
    /* max: stops early and says so */
    CHECK_OK(mesh_changes(a, NULL, NULL, 0, 0, 2, &l));
    CHECK_EQ(mesh_change_list_count(l), 2);
    CHECK(mesh_change_list_more(l));
    CHECK_EQ(mesh_change_list_next(l), mesh_change_list_get(l, 1)->cursor);
    mesh_change_list_free(l);
    mesh_close(a);
    /* reopened: the sequence goes on, a saved cursor gets exactly what came after it */
    a = s_open("a", false);
    util_put(a, "c", "k4", "6");
    s_list(a, NULL, NULL, 7, got, sizeof got);
    assert_string_equal(got, "k4=6");
    s_list(a, NULL, NULL, 0, got, sizeof got);
    assert_string_equal(got, "k3=3 k1=4 k2- x=5 k4=6");
    mesh_close(a);
}

/* A write body that writes an item and then fails. */
static mesh_err_t
s_fail_body(store_txn_t *txn, void *ctx)
{
    (void)ctx;
    uint32_t cid = 0;
    store_key_t key = {(const uint8_t *)"k", 1, {0}};
    store_version_t v = {.oid = 1, .seq = 1};
    CHECK_OK(store_coll_id(txn, "c", true, &cid));
    CHECK_OK(store_item_add(txn, cid, &key, &v));
    return MESH_EIO;
}

static mesh_err_t
s_ok_body(store_txn_t *txn, void *ctx)
{
    (void)ctx;
    uint32_t cid = 0;
    store_key_t key = {(const uint8_t *)"k", 1, {0}};
    store_version_t v = {.oid = 1, .seq = 1};
    CHECK_OK(store_coll_id(txn, "c", true, &cid));
    return store_item_add(txn, cid, &key, &v);
}

/* A store made before the log: an item record without its sequence, no counter. */
static mesh_err_t
s_old_body(store_txn_t *txn, void *ctx)
{
    (void)ctx;
    uint8_t k[5] = {0, 0, 0, 1, 'o'}, v[14] = {1, 0, 1, 0, 0, 0, 9};
    CHECK_OK(env_put(txn, ENV_ITEMS, k, sizeof k, v, sizeof v));
    return env_del(txn, ENV_META, "changes", 7);
}

static uint64_t
s_last(store_t *st)
{
    store_txn_t *txn = NULL;
    uint64_t last = 0, floor = 0;
    CHECK_OK(store_read_begin(st, &txn));
    CHECK_OK(store_changes_bounds(txn, &last, &floor));
    store_read_end(txn);
    return last;
}

static void
test_feed_same_transaction(void **state)
{
    (void)state;
    char dir[512];
    store_t *st = NULL;
    snprintf(dir, sizeof dir, "%s/raw", g_root);
    CHECK_EQ(mkdir(dir, 0700), 0);
    CHECK_OK(store_open(dir, 16u << 20, &st, NULL, 0));
    CHECK_EQ(s_last(st), 0);
    CHECK_EQ(store_write(st, s_fail_body, NULL), MESH_EIO);
    CHECK_EQ(s_last(st), 0); /* the item and its entry went together */
    CHECK_OK(store_write(st, s_ok_body, NULL));
    CHECK_EQ(s_last(st), 1);
    /* an item of a store made before the log gets an entry at the next open */
    CHECK_OK(store_write(st, s_old_body, NULL));
    store_close(st);
    CHECK_OK(store_open(dir, 16u << 20, &st, NULL, 0));
    CHECK_EQ(s_last(st), 2); /* both items, in key order: a new counter */
    store_txn_t *txn = NULL;
    store_cursor_t *cur = NULL;
    CHECK_OK(store_read_begin(st, &txn));
    CHECK_OK(store_changes_open(txn, 0, &cur));
    uint64_t seq = 0;
    uint32_t cid = 0;
    const uint8_t *skey = NULL;
    size_t n = 0, skey_len = 0;
    bool gone = true;
    while (store_changes_next(cur, &seq, &cid, &skey, &skey_len, &gone) == MESH_OK) {
        CHECK(!gone);
        CHECK_EQ(skey_len, 1); /* "k" (cid 1), then "o" (cid 1, no collection record) */
        CHECK_EQ(skey[0], n == 0 ? 'k' : 'o');
        CHECK_EQ(seq, n + 1);
        n++;
    }
    CHECK_EQ(n, 2);
    store_cursor_close(cur);
    store_read_end(txn);
    store_close(st);
}

/* The number of versions of key in "c" (0: no item). */
static size_t
s_versions_left(mesh_t *m, const char *key)
{
    mesh_item_version_list_t *l = NULL;
    mesh_err_t err = mesh_get_versions(m, "c", key, strlen(key), &l);
    size_t n = err == MESH_OK ? mesh_item_version_list_count(l) : 0;
    mesh_item_version_list_free(l);
    return n;
}

/* The number of keys in coll (tombstones included). */
static uint64_t
s_keys(mesh_t *m, const char *coll)
{
    char hex[65];
    uint64_t items = 0;
    CHECK_OK(mesh_digest(m, coll, hex, sizeof hex, &items));
    return items;
}

static void
test_feed_crash_leaves_log_matching_items(void **state)
{
    (void)state;
    mesh_t *a = s_open("crash", true);
    mesh_close(a);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        mesh_t *c = s_open("crash", false);
        for (unsigned i = 0;; i++) { /* until killed */
            char key[32], value[32];
            snprintf(key, sizeof key, "k%u", i % 50);
            snprintf(value, sizeof value, "v%u", i);
            util_put(c, "c", key, i % 7 == 3 ? NULL : value);
        }
    }
    struct timespec nap = {0, 300 * 1000 * 1000};
    nanosleep(&nap, NULL);
    kill(pid, SIGKILL);
    int status = 0;
    CHECK_EQ(waitpid(pid, &status, 0), pid);
    a = s_open("crash", false);
    mesh_change_list_t *l = NULL;
    CHECK_OK(mesh_changes(a, "c", NULL, 0, 0, 0, &l));
    CHECK(mesh_change_list_count(l) > 0);
    CHECK_EQ(mesh_change_list_count(l), s_keys(a, "c")); /* one entry a key, no more, no less */
    for (size_t i = 0; i < mesh_change_list_count(l); i++) {
        const mesh_change_t *c = mesh_change_list_get(l, i);
        for (size_t j = 0; j < i; j++) { /* each key once */
            const mesh_change_t *o = mesh_change_list_get(l, j);
            CHECK(o->key_len != c->key_len || memcmp(o->key, c->key, c->key_len) != 0);
        }
    }
    mesh_change_list_free(l);
    mesh_close(a);
}

static void
test_feed_remote_conflict_and_collection(void **state)
{
    (void)state;
    char got[512];
    mesh_t *a = s_open("ra", true), *b = s_open("rb", true);
    char ida[MESH_ID_TEXT_LEN + 1];
    CHECK_OK(mesh_device_id(a, ida, sizeof ida));
    CHECK_OK(mesh_peer_add(b, ida, "a", NULL, 0));
    char idb[MESH_ID_TEXT_LEN + 1];
    CHECK_OK(mesh_device_id(b, idb, sizeof idb));
    CHECK_OK(mesh_peer_add(a, idb, "b", NULL, 0));
    util_put(a, "c", "both", "from-a");
    util_put(b, "c", "both", "from-b");
    util_put(a, "c", "only", "a");
    uint64_t since = s_list(b, "c", NULL, 0, got, sizeof got);
    void *buf = NULL;
    size_t len = 0;
    mesh_import_report_t rep = {.size = sizeof rep};
    CHECK_OK(mesh_export(a, NULL, 0, NULL, 0, &buf, &len));
    CHECK_OK(mesh_import(b, buf, len, &rep));
    mesh_free(rep.text);
    mesh_free(buf);
    mesh_change_list_t *l = NULL;
    CHECK_OK(mesh_changes(b, "c", NULL, 0, since, 0, &l));
    CHECK_EQ(mesh_change_list_count(l), 2);
    for (size_t i = 0; i < 2; i++) {
        const mesh_change_t *c = mesh_change_list_get(l, i);
        CHECK_EQ(c->size, sizeof *c);
        assert_string_equal(c->coll, "c");
        if (c->key_len == 4 && memcmp(c->key, "only", 4) == 0) { /* a's write, no conflict */
            assert_string_equal(c->origin, ida);
            CHECK(!c->local && !c->conflict && !c->deleted);
        } else { /* "both": siblings now */
            CHECK(c->conflict);
            CHECK_EQ(c->local, strcmp(c->origin, idb) == 0);
        }
    }
    mesh_change_list_free(l);
    mesh_close(b);
    /* collection: a tombstone collected keeps its entry, as a deletion with no version */
    util_put(a, "c", "gone", "v");
    uint64_t before = s_list(a, "c", NULL, 0, got, sizeof got);
    util_put(a, "c", "gone", NULL);
    CHECK_OK(mesh_peer_remove(a, idb)); /* a alone holds collection back */
    bool wrote = false;
    CHECK_OK(ack_publish(a, true, 3600 * 1000, &wrote));
    vector_t *stable = NULL;
    collect_report_t r;
    bool more = false;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    CHECK_OK(collect_stable_load(a, (uint64_t)now.tv_sec * 1000, COLLECT_HORIZON_MS_DEFAULT,
                                 &stable, &r));
    CHECK_OK(collect_run(a, stable, &r, &more));
    vector_free(stable);
    CHECK(r.items >= 1);
    CHECK_EQ(s_versions_left(a, "gone"), 0);
    s_list(a, "c", NULL, before, got, sizeof got);
    assert_string_equal(got, "gone-"); /* the delete, though the item is gone */
    CHECK_OK(mesh_changes(a, "c", "go", 2, before, 0, &l));
    CHECK(!mesh_change_list_reset(l)); /* nothing was pruned */
    CHECK_EQ(mesh_change_list_count(l), 1);
    CHECK(mesh_change_list_get(l, 0)->origin[0] == '\0'); /* no version left to name */
    mesh_change_list_free(l);
    /* written again: the new entry alone speaks for the key */
    util_put(a, "c", "gone", "back");
    s_list(a, "c", NULL, before, got, sizeof got);
    assert_string_equal(got, "gone=back");
    mesh_close(a);
}

/* ---- the push form ---- */

typedef struct s_seen {
    pthread_mutex_t lock;
    char keys[1024];
    unsigned count;
    mesh_t *m;
    mesh_watch_t *self; /* unwatch from the callback after the key "stop" */
    bool writer; /* writes "echoed" when it sees "echo" */
} s_seen_t;

static void
s_on_change(void *ctx, const mesh_change_t *c, bool reset)
{
    s_seen_t *s = ctx;
    (void)reset;
    if (!c) {
        return;
    }
    pthread_mutex_lock(&s->lock);
    strncat(s->keys, " ", sizeof s->keys - strlen(s->keys) - 1);
    strncat(s->keys, (const char *)c->key, c->key_len < 64 ? c->key_len : 64);
    s->count++;
    pthread_mutex_unlock(&s->lock);
    if (c->key_len == 4 && memcmp(c->key, "echo", 4) == 0 && s->writer) {
        s->writer = false;
        util_put(s->m, "c", "echoed", "x"); /* a callback may write */
    }
    if (c->key_len == 4 && memcmp(c->key, "stop", 4) == 0) {
        mesh_unwatch(s->self); /* and end its own watch */
    }
}

static bool
s_wait_count(s_seen_t *s, unsigned n)
{
    for (int i = 0; i < 500; i++) { /* 10 s */
        pthread_mutex_lock(&s->lock);
        unsigned c = s->count;
        pthread_mutex_unlock(&s->lock);
        if (c >= n) {
            return true;
        }
        struct timespec nap = {0, 20 * 1000 * 1000};
        nanosleep(&nap, NULL);
    }
    return false;
}

static void
test_feed_watch(void **state)
{
    (void)state;
    mesh_t *a = s_open("w", true);
    util_put(a, "c", "old", "1");
    s_seen_t s = {.lock = PTHREAD_MUTEX_INITIALIZER, .m = a, .writer = true};
    s_seen_t all = {.lock = PTHREAD_MUTEX_INITIALIZER, .m = a};
    mesh_watch_t *w = NULL, *w2 = NULL;
    CHECK_OK(mesh_watch(a, "c", NULL, 0, MESH_CURSOR_NOW, s_on_change, &s, &w));
    s.self = w;
    CHECK_OK(mesh_watch(a, NULL, "e", 1, 0, s_on_change, &all, &w2)); /* a backlog too */
    util_put(a, "c", "p", "1");
    util_put(a, "c", "echo", "2");
    CHECK(s_wait_count(&s, 3)); /* p, echo, and echoed written by the callback */
    util_put(a, "c", "stop", "3");
    CHECK(s_wait_count(&s, 4));
    util_put(a, "c", "after", "4"); /* the watch has ended: not seen */
    CHECK(s_wait_count(&all, 2)); /* echo, echoed: the prefix "e" */
    pthread_mutex_lock(&s.lock);
    assert_string_equal(s.keys, " p echo echoed stop");
    pthread_mutex_unlock(&s.lock);
    pthread_mutex_lock(&all.lock);
    assert_string_equal(all.keys, " echo echoed");
    pthread_mutex_unlock(&all.lock);
    CHECK(mesh_watch_cursor(w2) >= 5); /* genesis 1, old 2, p 3, echo 4, echoed 5 */
    CHECK_EQ(mesh_watch(a, "c", NULL, 0, 99, s_on_change, &s, &w), MESH_EINVAL);
    mesh_unwatch(w2);
    mesh_close(a); /* s's watch ended in its callback; nothing left to free */
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_feed_order_compaction_restart, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_feed_same_transaction, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_feed_crash_leaves_log_matching_items, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_feed_remote_conflict_and_collection, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_feed_watch, s_setup, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
