/* tests/unit/test_store_grow.c: map growth beside the transactions of other threads and of
 * another process. LMDB remaps the file when the map grows, and a read transaction open on
 * another thread meanwhile reads unmapped memory (issue 13: SIGSEGV 3 times of 3). Here a
 * store with a tiny map grows many times while reader threads run read transactions in a
 * loop; a reader holds pointers into its snapshot while a write must grow; a second process
 * grows the file past this process's map (MDB_MAP_RESIZED) while readers run; and a write
 * that must grow while its own thread holds a read transaction fails cleanly. Each reader
 * checks every byte it reads. `make asan-test` and `make tsan-test` run it too.
 * Layer: tests. SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <pthread.h>

#include "store/store.h"

#define S_MAP_TINY   (64u * 1024)  /* the map the stores under test start with */
#define S_VALUE_LEN  3000u         /* bytes per record: overflow pages all over the map */
#define S_PER_WRITE  40u           /* records per write transaction */
#define S_READERS    4             /* reader threads */
#define S_DOUBLINGS  8             /* growths the writer must cause: 64 KiB -> 16 MiB */
#define S_CHILD_MAP  (64ull << 20) /* the second process's map */
#define S_CHILD_RECS 1500u         /* records it writes: ~4.5 MiB, far past 64 KiB */
#define S_WAIT_S     120           /* deadline for a child process or a reader's progress */

typedef struct fixture {
    char dir[64];
    store_t *st;
} fixture_t;

static int
s_setup(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/test_store_grow.XXXXXX");
    if (!f || !mkdtemp(f->dir)) {
        return -1;
    }
    *state = f;
    return 0;
}

static int
s_teardown(void **state)
{
    fixture_t *f = *state;
    char cmd[128];
    store_close(f->st);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    (void)!system(cmd);
    free(f);
    return 0;
}

/* ---- records: meta "count" = n, and "r<i>" for i < n, S_VALUE_LEN bytes from i ---- */

static void
s_fill(uint8_t *v, uint64_t i)
{
    for (size_t j = 0; j < S_VALUE_LEN; j++) {
        v[j] = (uint8_t)(i * 31 + j * 7);
    }
}

/* The problem with record i as read in txn, or NULL when its bytes are right. */
static const char *
s_check_record(store_txn_t *txn, uint64_t i)
{
    char name[32];
    const uint8_t *v = NULL;
    size_t len = 0;
    uint8_t want[S_VALUE_LEN];
    snprintf(name, sizeof name, "r%llu", (unsigned long long)i);
    if (store_meta_get(txn, name, &v, &len) != MESH_OK) {
        return "a record below count is missing";
    }
    s_fill(want, i);
    return len == S_VALUE_LEN && memcmp(v, want, len) == 0 ? NULL : "a record's bytes differ";
}

/* Add S_PER_WRITE records after the count and raise it, in one write. */
static mesh_err_t
s_add_body(store_txn_t *txn, void *ctx)
{
    (void)ctx;
    uint64_t n = 0;
    uint8_t v[S_VALUE_LEN];
    mesh_err_t err = store_meta_get_u64(txn, "count", &n);
    if (err != MESH_OK && err != MESH_ENOTFOUND) {
        return err;
    }
    for (uint64_t i = n; i < n + S_PER_WRITE; i++) {
        char name[32];
        snprintf(name, sizeof name, "r%llu", (unsigned long long)i);
        s_fill(v, i);
        err = store_meta_put(txn, name, v, sizeof v);
        if (err != MESH_OK) {
            return err;
        }
    }
    return store_meta_put_u64(txn, "count", n + S_PER_WRITE);
}

static uint64_t
s_count(store_t *st)
{
    store_txn_t *txn = NULL;
    uint64_t n = 0;
    assert_int_equal(store_read_begin(st, &txn), MESH_OK);
    mesh_err_t err = store_meta_get_u64(txn, "count", &n);
    assert_true(err == MESH_OK || err == MESH_ENOTFOUND);
    store_read_end(txn);
    return n;
}

/* Every record below the count is there, byte for byte. */
static void
s_check_all(store_t *st, uint64_t want)
{
    store_txn_t *txn = NULL;
    uint64_t n = 0;
    assert_int_equal(store_read_begin(st, &txn), MESH_OK);
    assert_int_equal(store_meta_get_u64(txn, "count", &n), MESH_OK);
    assert_int_equal(n, want);
    for (uint64_t i = 0; i < n; i++) {
        const char *problem = s_check_record(txn, i);
        if (problem) {
            fail_msg("record %llu: %s", (unsigned long long)i, problem);
        }
    }
    store_read_end(txn);
}

/* ---- reader threads ---- */

typedef struct reader {
    store_t *st;
    int *stop;         /* atomic: set by the main thread */
    uint64_t reads;    /* atomic: read transactions done */
    uint64_t saw_max;  /* atomic: the greatest count seen */
    char problem[256]; /* "" while all is well; read by the main thread once joined */
} reader_t;

/* One read transaction: the count, then the newest record, the oldest and one between,
 * each checked byte by byte (cmocka's checks belong to the main thread: a problem is kept
 * for it). */
static bool
s_read_once(reader_t *r, uint64_t turn)
{
    store_txn_t *txn = NULL;
    uint64_t n = 0;
    mesh_err_t err = store_read_begin(r->st, &txn);
    if (err != MESH_OK) {
        snprintf(r->problem, sizeof r->problem, "store_read_begin: %s: %s", mesh_strerror(err),
                 store_errmsg(r->st));
        return false;
    }
    err = store_meta_get_u64(txn, "count", &n);
    const char *problem = err == MESH_OK || err == MESH_ENOTFOUND ? NULL : "count unreadable";
    uint64_t picks[3] = {n - 1, 0, turn % (n ? n : 1)};
    for (int i = 0; !problem && n && i < 3; i++) {
        problem = s_check_record(txn, picks[i]);
    }
    store_read_end(txn);
    if (problem) {
        snprintf(r->problem, sizeof r->problem, "at count %llu: %s", (unsigned long long)n,
                 problem);
        return false;
    }
    if (n > __atomic_load_n(&r->saw_max, __ATOMIC_RELAXED)) {
        __atomic_store_n(&r->saw_max, n, __ATOMIC_RELAXED);
    }
    __atomic_add_fetch(&r->reads, 1, __ATOMIC_RELAXED);
    return true;
}

static void *
s_reader(void *arg)
{
    reader_t *r = arg;
    for (uint64_t turn = 0; !__atomic_load_n(r->stop, __ATOMIC_ACQUIRE); turn++) {
        if (!s_read_once(r, turn)) {
            break;
        }
    }
    return NULL;
}

typedef struct readers {
    int stop;
    reader_t r[S_READERS];
    pthread_t t[S_READERS];
} readers_t;

static void
s_readers_start(readers_t *rs, store_t *st)
{
    memset(rs, 0, sizeof *rs);
    for (int i = 0; i < S_READERS; i++) {
        rs->r[i].st = st;
        rs->r[i].stop = &rs->stop;
        assert_int_equal(pthread_create(&rs->t[i], NULL, s_reader, &rs->r[i]), 0);
    }
}

/* Wait until every reader has seen a count of at least n (or stopped on a problem). */
static void
s_readers_wait_for(readers_t *rs, uint64_t n)
{
    time_t end = time(NULL) + S_WAIT_S;
    for (int i = 0; i < S_READERS; i++) {
        while (__atomic_load_n(&rs->r[i].saw_max, __ATOMIC_RELAXED) < n && !rs->r[i].problem[0] &&
               time(NULL) < end) {
            usleep(1000);
        }
    }
}

/* Stop and join the readers; each must have read and found nothing wrong. */
static void
s_readers_stop(readers_t *rs)
{
    __atomic_store_n(&rs->stop, 1, __ATOMIC_RELEASE);
    for (int i = 0; i < S_READERS; i++) {
        assert_int_equal(pthread_join(rs->t[i], NULL), 0);
    }
    for (int i = 0; i < S_READERS; i++) {
        if (rs->r[i].problem[0]) {
            fail_msg("reader %d: %s", i, rs->r[i].problem);
        }
        assert_true(rs->r[i].reads > 0);
    }
}

/* ---- cases ---- */

/* A writer grows a 64 KiB map to 16 MiB or more, one doubling at a time, while four
 * threads read in a loop. Must hold after: no reader crashed or read a wrong byte, every
 * reader saw the last count, and every record is there. */
static void
test_grow_while_threads_read(void **state)
{
    fixture_t *f = *state;
    char msg[256] = "";
    assert_int_equal(store_open(f->dir, S_MAP_TINY, &f->st, msg, sizeof msg), MESH_OK);
    uint64_t start = store_map_size(f->st);
    readers_t rs;
    s_readers_start(&rs, f->st);
    uint64_t writes = 0;
    while (store_map_size(f->st) < start << S_DOUBLINGS) {
        mesh_err_t err = store_write(f->st, s_add_body, NULL);
        if (err != MESH_OK) {
            s_readers_stop(&rs);
            fail_msg("write %llu: %s: %s", (unsigned long long)writes, mesh_strerror(err),
                     store_errmsg(f->st));
        }
        writes++;
    }
    s_readers_wait_for(&rs, writes * S_PER_WRITE);
    s_readers_stop(&rs);
    for (int i = 0; i < S_READERS; i++) {
        assert_int_equal(rs.r[i].saw_max, writes * S_PER_WRITE);
    }
    s_check_all(f->st, writes * S_PER_WRITE);
}

/* A reader that holds its snapshot, and pointers into it, while a write on another thread
 * must grow the map. */
typedef struct holder {
    store_t *st;
    int state;           /* atomic: 1 holding, 2 the main thread's write started, 3 done */
    uint64_t map_at_end; /* the map size just before the transaction ended */
    char problem[256];   /* "" while all is well */
} holder_t;

static void *
s_holder(void *arg)
{
    holder_t *h = arg;
    store_txn_t *txn = NULL;
    const uint8_t *v = NULL;
    size_t len = 0;
    uint8_t want[S_VALUE_LEN];
    if (store_read_begin(h->st, &txn) != MESH_OK ||
        store_meta_get(txn, "r0", &v, &len) != MESH_OK) {
        snprintf(h->problem, sizeof h->problem, "cannot read r0");
        store_read_end(txn);
        __atomic_store_n(&h->state, 3, __ATOMIC_RELEASE);
        return NULL;
    }
    __atomic_store_n(&h->state, 1, __ATOMIC_RELEASE);
    time_t end = time(NULL) + S_WAIT_S;
    while (__atomic_load_n(&h->state, __ATOMIC_ACQUIRE) != 2 && time(NULL) < end) {
        usleep(1000);
    }
    usleep(200 * 1000); /* the writer is past its first full map by now, or waits for us */
    s_fill(want, 0);
    if (len != S_VALUE_LEN || memcmp(v, want, len) != 0) { /* v: in the map */
        snprintf(h->problem, sizeof h->problem, "r0 changed under its read transaction");
    }
    h->map_at_end = store_map_size(h->st);
    store_read_end(txn);
    __atomic_store_n(&h->state, 3, __ATOMIC_RELEASE);
    return NULL;
}

/* Must hold: the growth waits for the open read transaction (the map keeps its size until
 * it ends, and its bytes stay mapped and right), then completes; the writes all land. */
static void
test_grow_waits_for_open_reader(void **state)
{
    fixture_t *f = *state;
    char msg[256] = "";
    assert_int_equal(store_open(f->dir, S_MAP_TINY, &f->st, msg, sizeof msg), MESH_OK);
    assert_int_equal(store_write(f->st, s_add_body, NULL), MESH_OK);
    holder_t h = {.st = f->st};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, s_holder, &h), 0);
    time_t end = time(NULL) + S_WAIT_S;
    while (__atomic_load_n(&h.state, __ATOMIC_ACQUIRE) == 0 && time(NULL) < end) {
        usleep(1000);
    }
    uint64_t start = store_map_size(f->st);
    __atomic_store_n(&h.state, 2, __ATOMIC_RELEASE);
    int writes = 1;
    while (store_map_size(f->st) < start * 4) {
        assert_int_equal(store_write(f->st, s_add_body, NULL), MESH_OK);
        writes++;
    }
    assert_int_equal(pthread_join(t, NULL), 0);
    if (h.problem[0]) {
        fail_msg("reader: %s", h.problem);
    }
    assert_int_equal(h.map_at_end, start); /* the growth waited for the reader */
    s_check_all(f->st, (uint64_t)writes * S_PER_WRITE);
}

/* Must hold: a write that must grow while its own thread holds a read transaction fails
 * at once with MESH_ESTATE (waiting would wait for itself), and changes nothing; once the
 * read ends, the same write succeeds. */
static void
test_grow_refused_under_own_reader(void **state)
{
    fixture_t *f = *state;
    char msg[256] = "";
    assert_int_equal(store_open(f->dir, S_MAP_TINY, &f->st, msg, sizeof msg), MESH_OK);
    uint64_t start = store_map_size(f->st);
    store_txn_t *txn = NULL;
    assert_int_equal(store_read_begin(f->st, &txn), MESH_OK);
    mesh_err_t err = MESH_OK;
    uint64_t done = 0;
    while (err == MESH_OK && done < 1000) {
        err = store_write(f->st, s_add_body, NULL);
        done += err == MESH_OK;
    }
    assert_int_equal(err, MESH_ESTATE);
    assert_non_null(strstr(store_errmsg(f->st), "end this thread's open read transaction"));
    assert_int_equal(store_map_size(f->st), start);
    store_read_end(txn);
    assert_int_equal(s_count(f->st), done * S_PER_WRITE);
    assert_int_equal(store_write(f->st, s_add_body, NULL), MESH_OK);
    assert_true(store_map_size(f->st) > start);
    s_check_all(f->st, (done + 1) * S_PER_WRITE);
}

/* The second process: open dir with a large map, and once told to (a byte on go), write
 * S_CHILD_RECS records. Runs no cmocka check: its exit status says how it went. */
static int
s_child(const char *dir, int go)
{
    char byte = 0;
    if (read(go, &byte, 1) != 1) {
        return 2;
    }
    store_t *st = NULL;
    char msg[256] = "";
    if (store_open(dir, S_CHILD_MAP, &st, msg, sizeof msg) != MESH_OK) {
        fprintf(stderr, "child: store_open: %s\n", msg);
        return 3;
    }
    for (unsigned i = 0; i < S_CHILD_RECS / S_PER_WRITE; i++) {
        if (store_write(st, s_add_body, NULL) != MESH_OK) {
            fprintf(stderr, "child: write: %s\n", store_errmsg(st));
            store_close(st);
            return 4;
        }
    }
    store_close(st);
    return 0;
}

/* Wait for pid to exit (deadline S_WAIT_S; past it, kill it): its exit status, or -1. */
static int
s_wait_child(pid_t pid)
{
    time_t end = time(NULL) + S_WAIT_S;
    int status = 0;
    pid_t got = 0;
    while ((got = waitpid(pid, &status, WNOHANG)) == 0 && time(NULL) < end) {
        usleep(10 * 1000);
    }
    if (got == 0) {
        kill(pid, SIGKILL);
        (void)waitpid(pid, &status, 0);
        return -1;
    }
    return got == pid && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Another process grows the file far past this one's 64 KiB map while four threads read
 * here: each transaction that begins then gets MDB_MAP_RESIZED, and the map must be
 * adopted without pulling it from under the others. Must hold after: no reader crashed or
 * read a wrong byte, each saw the other process's last count, this process's own write
 * lands on the adopted map, and every record is there. */
static void
test_adopt_map_grown_by_another_process(void **state)
{
    fixture_t *f = *state;
    int go[2];
    assert_int_equal(pipe(go), 0);
    pid_t pid = fork(); /* before any thread or store here: the child starts clean */
    assert_true(pid >= 0);
    if (pid == 0) {
        close(go[1]);
        _exit(s_child(f->dir, go[0]));
    }
    close(go[0]);
    char msg[256] = "";
    assert_int_equal(store_open(f->dir, S_MAP_TINY, &f->st, msg, sizeof msg), MESH_OK);
    assert_int_equal(store_write(f->st, s_add_body, NULL), MESH_OK);
    uint64_t start = store_map_size(f->st);
    readers_t rs;
    s_readers_start(&rs, f->st);
    assert_int_equal(write(go[1], "g", 1), 1);
    close(go[1]);
    int status = s_wait_child(pid);
    if (status != 0) {
        s_readers_stop(&rs);
        fail_msg("the second process failed (status %d)", status);
    }
    uint64_t child_end = S_PER_WRITE + (S_CHILD_RECS / S_PER_WRITE) * S_PER_WRITE;
    s_readers_wait_for(&rs, child_end);
    assert_int_equal(store_write(f->st, s_add_body, NULL), MESH_OK);
    s_readers_stop(&rs);
    for (int i = 0; i < S_READERS; i++) {
        assert_true(rs.r[i].saw_max >= child_end);
    }
    assert_true(store_map_size(f->st) > start);
    s_check_all(f->st, child_end + S_PER_WRITE);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_grow_while_threads_read, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_grow_waits_for_open_reader, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_grow_refused_under_own_reader, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_adopt_map_grown_by_another_process, s_setup,
                                        s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
