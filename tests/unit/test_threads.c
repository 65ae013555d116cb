/* tests/unit/test_threads.c: one online node shared by threads: a writer adding peers, a
 * reader reading items and the member list, and the node's own loop thread dialling the
 * peers added and logging. Each thread's error detail is its own, a failure's detail lasts
 * while other threads fail, and `make tsan-test` runs this under ThreadSanitizer.
 * Loopback only: the node listens on 127.0.0.1 and the peers' addresses are 127.0.0.1 too.
 * SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <pthread.h>
#include <time.h>

#include "crypto/devid.h"
#include "meshsync.h"
#include "util.h"

#define S_ROUNDS 200 /* peers the writer adds (each a durable commit) */

typedef struct fixture {
    char dir[64];
    char home[96];
    mesh_t *m;
    pthread_t opener; /* the thread that opened m */
    int log_lines;    /* atomic: lines the log callback got */
    int log_foreign;  /* atomic: of them, lines from a thread of the library's own */
} fixture_t;

/* What one thread saw; checked by the main thread once it is joined (cmocka's checks must
 * run on the thread that runs the case). */
typedef struct worker {
    fixture_t *f;
    const char *tag;   /* in the bad IDs this thread uses, so its details are its own */
    int *turns;        /* atomic: failures each worker made so far (index 0 writer, 1 reader) */
    int me;            /* this worker's index in turns */
    char problem[512]; /* "" while all is well, else the first thing that went wrong */
} worker_t;

static int
s_load(int *p)
{
    return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static void
s_problem(worker_t *w, const char *fmt, ...)
{
    if (w->problem[0]) {
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(w->problem, sizeof w->problem, fmt, ap);
    va_end(ap);
}

/* Log callback: may run on the library's own thread, so it only counts, atomically. */
static void
s_log(void *ctx, int level, const char *message)
{
    fixture_t *f = ctx;
    (void)level;
    (void)message;
    __atomic_add_fetch(&f->log_lines, 1, __ATOMIC_RELAXED);
    if (!pthread_equal(pthread_self(), f->opener)) {
        __atomic_add_fetch(&f->log_foreign, 1, __ATOMIC_RELAXED);
    }
}

static int
s_setup(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    if (!f || util_temp_home("test_threads", f->dir, sizeof f->dir, f->home, sizeof f->home)) {
        free(f);
        return -1;
    }
    f->opener = pthread_self();
    mesh_options_t o = {.size = sizeof o,
                        .home = f->home,
                        .create = true,
                        .name = "threads",
                        .log = s_log,
                        .log_ctx = f,
                        .log_level = MESH_LOG_DEBUG,
                        .listen = "tcp://127.0.0.1:0"};
    if (mesh_open(&o, &f->m) != MESH_OK) {
        free(f);
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

/* The ID of a made-up device: any 32 bytes are a key's text form. */
static void
s_device(int n, char id[MESH_ID_TEXT_LEN + 1])
{
    uint8_t pk[DEVID_RAW_LEN];
    util_fill(pk, sizeof pk, (uint8_t)(n + 1));
    pk[0] = (uint8_t)n;
    pk[1] = (uint8_t)(n >> 8);
    devid_format(pk, id);
}

/* Fail a call on the shared node with a detail naming this thread and round, and check
 * that this thread reads exactly that detail back. */
static void
s_fail_own(worker_t *w, int round, char *bad, size_t bad_size)
{
    snprintf(bad, bad_size, "bad-%s-%d", w->tag, round);
    mesh_err_t err = mesh_peer_add(w->f->m, bad, NULL, NULL, 0);
    if (err != MESH_EBADID) {
        s_problem(w, "peer_add(%s) returned %s", bad, mesh_strerror(err));
    } else if (!strstr(mesh_errmsg(w->f->m), bad)) {
        s_problem(w, "after failing with %s, errmsg is '%s'", bad, mesh_errmsg(w->f->m));
    }
    __atomic_add_fetch(&w->turns[w->me], 1, __ATOMIC_ACQ_REL);
}

/* Wait (up to a few seconds) until the other worker has failed n more times than before, or
 * has finished. */
static void
s_await_other(const worker_t *w, int before, int n)
{
    struct timespec nap = {0, 1000000};
    for (int i = 0;
         i < 5000 && s_load(&w->turns[1 - w->me]) < before + n && s_load(&w->turns[2]) == 0; i++) {
        nanosleep(&nap, NULL);
    }
}

/* The writer: add S_ROUNDS peers (each a commit the loop thread notices and dials), failing
 * in between with details of its own. */
static void *
s_writer(void *arg)
{
    worker_t *w = arg;
    char id[MESH_ID_TEXT_LEN + 1], bad[64];
    const char *addrs[1] = {"tcp://127.0.0.1:9"}; /* nothing listens: the loop redials */
    for (int i = 0; i < S_ROUNDS && !w->problem[0]; i++) {
        s_device(i, id);
        mesh_err_t err = mesh_peer_add(w->f->m, id, "peer", addrs, 1);
        if (err != MESH_OK) {
            s_problem(w, "peer_add %d: %s (%s)", i, mesh_strerror(err), mesh_errmsg(w->f->m));
        }
        s_fail_own(w, i, bad, sizeof bad);
    }
    __atomic_store_n(&w->turns[2], 1, __ATOMIC_RELEASE); /* the writer is done */
    return NULL;
}

/* The reader: read an item and the member list, fail with a detail of its own, let the
 * writer fail meanwhile, and check that its own detail is still there. */
static void *
s_reader(void *arg)
{
    worker_t *w = arg;
    char bad[64];
    for (int i = 0; !w->problem[0] && s_load(&w->turns[2]) == 0; i++) {
        void *v = NULL;
        size_t len = 0;
        mesh_err_t err = mesh_get(w->f->m, "notes", "k", 1, &v, &len);
        if (err != MESH_OK || len != 1 || memcmp(v, "v", 1) != 0) {
            s_problem(w, "get: %s", mesh_strerror(err));
        }
        mesh_free(v);
        mesh_peer_list_t *peers = NULL;
        err = mesh_peers(w->f->m, &peers);
        if (err != MESH_OK || mesh_peer_list_count(peers) < 1) {
            s_problem(w, "peers: %s", mesh_strerror(err));
        }
        mesh_peer_list_free(peers);
        s_fail_own(w, i, bad, sizeof bad);
        s_await_other(w, s_load(&w->turns[1 - w->me]), 2);
        if (!strstr(mesh_errmsg(w->f->m), bad)) {
            s_problem(w, "the detail of %s became '%s' while the writer failed", bad,
                      mesh_errmsg(w->f->m));
        }
    }
    return NULL;
}

static void
test_threads_errmsg_is_per_thread(void **state)
{
    fixture_t *f = *state;
    util_put(f->m, "notes", "k", "v");
    /* the main thread fails first: its detail must outlive everything the others do */
    assert_int_equal(mesh_peer_add(f->m, "bad-main", NULL, NULL, 0), MESH_EBADID);
    assert_non_null(strstr(mesh_errmsg(f->m), "'bad-main'"));

    int turns[3] = {0, 0, 0}; /* writer's failures, reader's, writer done */
    worker_t writer = {.f = f, .tag = "writer", .turns = turns, .me = 0};
    worker_t reader = {.f = f, .tag = "reader", .turns = turns, .me = 1};
    pthread_t tw, tr;
    assert_int_equal(pthread_create(&tw, NULL, s_writer, &writer), 0);
    assert_int_equal(pthread_create(&tr, NULL, s_reader, &reader), 0);
    pthread_join(tw, NULL);
    pthread_join(tr, NULL);
    assert_string_equal(writer.problem, "");
    assert_string_equal(reader.problem, "");
    assert_int_equal(s_load(&turns[0]), S_ROUNDS);
    assert_true(s_load(&turns[1]) > 0);

    assert_non_null(strstr(mesh_errmsg(f->m), "'bad-main'"));
    mesh_peer_list_t *peers = NULL;
    assert_int_equal(mesh_peers(f->m, &peers), MESH_OK);
    assert_int_equal(mesh_peer_list_count(peers), 1 + S_ROUNDS);
    mesh_peer_list_free(peers);
    /* the loop thread follows the commits and logs from its own thread */
    for (int i = 0; i < 500 && s_load(&f->log_foreign) == 0; i++) {
        struct timespec nap = {0, 10000000};
        nanosleep(&nap, NULL);
    }
    assert_true(s_load(&f->log_foreign) > 0);
    assert_true(s_load(&f->log_lines) >= s_load(&f->log_foreign));
}

/* One thread, two nodes: a failure on one leaves the detail on the other alone, and a call
 * that succeeds clears only its own node's detail. */
static void
test_threads_errmsg_is_per_node(void **state)
{
    fixture_t *f = *state;
    char dir[64], home[96];
    mesh_t *other = NULL;
    assert_int_equal(util_temp_home("test_threads", dir, sizeof dir, home, sizeof home), 0);
    assert_int_equal(util_open(home, true, "other", 0, &other), MESH_OK);
    assert_string_equal(mesh_errmsg(other), "");
    assert_int_equal(mesh_peer_add(f->m, "bad-first", NULL, NULL, 0), MESH_EBADID);
    assert_int_equal(mesh_peer_add(other, "bad-second", NULL, NULL, 0), MESH_EBADID);
    assert_non_null(strstr(mesh_errmsg(f->m), "'bad-first'"));
    assert_non_null(strstr(mesh_errmsg(other), "'bad-second'"));
    util_put(other, "notes", "k", "v");
    util_expect(other, "notes", "k", "v");
    assert_string_equal(mesh_errmsg(other), "");
    assert_non_null(strstr(mesh_errmsg(f->m), "'bad-first'"));
    mesh_close(other);
    assert_int_equal(util_rm_tree(dir), 0);
    assert_string_equal(mesh_errmsg(NULL), "");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_threads_errmsg_is_per_thread, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_threads_errmsg_is_per_node, s_setup, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
