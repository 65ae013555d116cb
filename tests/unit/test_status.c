/* tests/unit/test_status.c: unit tests of core/sync/statusfile.c, the status text's reader
 * (docs/PROTOCOL.md §11.4), through mesh_status on an offline node whose home holds a
 * status file written here as a daemon of this process would: every kind of line is read
 * back with its words unescaped, unknown lines and words are skipped, a caller's older
 * (shorter) struct is filled only as far as its size, a malformed file is refused whole,
 * and a stale one is taken for no daemon.
 * Layer: tests. Third-party: cmocka. SPDX-License-Identifier: MIT */
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

typedef struct s_fixture {
    char dir[256], home[300];
    mesh_t *m;
} s_fixture_t;

static int
s_setup(void **state)
{
    static s_fixture_t f;
    memset(&f, 0, sizeof f);
    if (util_temp_home("test_status", f.dir, sizeof f.dir, f.home, sizeof f.home) != 0 ||
        util_open(f.home, true, "here", 0, &f.m) != MESH_OK) {
        return -1;
    }
    *state = &f;
    return 0;
}

static int
s_teardown(void **state)
{
    s_fixture_t *f = *state;
    mesh_close(f->m);
    return util_rm_tree(f->dir);
}

static long long
s_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Write HOME/status: the device lines of a live daemon (this process, now), then rest. */
static void
s_write(const s_fixture_t *f, long long updated_ms, const char *rest)
{
    char path[400];
    snprintf(path, sizeof path, "%s/status", f->home);
    FILE *out = fopen(path, "w");
    CHECK(out != NULL);
    fprintf(out, "device X\npid %ld\nlisten tcp://127.0.0.1:9\nupdated_ms %lld\ntxnid 999999\n%s",
            (long)getpid(), updated_ms, rest);
    CHECK(fclose(out) == 0);
}

static const char s_full[] =
    "peer P1 name=b%20c addr=tcp://x:1 connected=1 session=1 refused=0 silent_ms=5 seen=7 "
    "to_send=0 to_receive=40 bytes_to_send=0 bytes_to_receive=-1 in_flight=0 batches_out=1 "
    "batches_in=2 bytes_out=3 bytes_in=4 in_sync=0 busy=1 versions_in=60 batch_bytes_in=6000 "
    "rate_in=12 newer_key=whatever\n"
    "coll my%20notes peer=P1 to_send=0 to_receive=40 bytes_to_send=0 bytes_to_receive=-1 "
    "in_sync=0\n"
    "refusal ID1 alt=ID2 count=3 first=100 last=200\n"
    "error refused%20device%0A level=1 count=2 last=300\n"
    "someday a line of a newer writer\n";

static void
test_status_reads_every_line(void **state)
{
    s_fixture_t *f = *state;
    mesh_status_t *st = NULL;
    s_write(f, s_now_ms(), s_full);
    CHECK_OK(mesh_status(f->m, &st));
    mesh_status_device_t dev = {.size = sizeof dev};
    CHECK_OK(mesh_status_device(st, &dev));
    CHECK(dev.daemon);
    CHECK_EQ(dev.txnid, 999999);
    CHECK_EQ(dev.peers, 1);
    CHECK_EQ(dev.colls, 1);
    CHECK_EQ(dev.refusals, 1);
    CHECK_EQ(dev.errors, 1);
    mesh_status_peer_t p = {.size = sizeof p};
    CHECK_OK(mesh_status_peer(st, 0, &p));
    CHECK(strcmp(p.id, "P1") == 0 && strcmp(p.name, "b c") == 0);
    CHECK(p.busy && !p.in_sync);
    CHECK_EQ(p.to_receive, 40);
    CHECK_EQ(p.versions_in, 60);
    CHECK_EQ(p.batch_bytes_in, 6000);
    CHECK_EQ(p.rate_in, 12);
    mesh_status_coll_t c = {.size = sizeof c};
    CHECK_OK(mesh_status_coll(st, 0, &c));
    CHECK(strcmp(c.name, "my notes") == 0 && strcmp(c.peer, "P1") == 0);
    CHECK_EQ(c.bytes_to_receive, -1);
    mesh_status_refusal_t r = {.size = sizeof r};
    CHECK_OK(mesh_status_refusal(st, 0, &r));
    CHECK(strcmp(r.id, "ID1") == 0 && strcmp(r.alt_id, "ID2") == 0);
    CHECK_EQ(r.count, 3);
    CHECK_EQ(r.first_seen, 100);
    CHECK_EQ(r.last_seen, 200);
    mesh_status_error_t e = {.size = sizeof e};
    CHECK_OK(mesh_status_error(st, 0, &e));
    CHECK(strcmp(e.text, "refused device\n") == 0);
    CHECK_EQ(e.level, MESH_LOG_WARN);
    CHECK_EQ(e.count, 2);
    CHECK_EQ(mesh_status_refusal(st, 1, &r), MESH_ENOTFOUND);
    CHECK_EQ(mesh_status_error(st, 1, &e), MESH_ENOTFOUND);
    /* A caller built against an older header: its struct ends before busy. */
    mesh_status_peer_t old;
    memset(&old, 0x5a, sizeof old);
    old.size = offsetof(mesh_status_peer_t, busy);
    CHECK_OK(mesh_status_peer(st, 0, &old));
    CHECK_EQ(old.bytes_in, 4);
    CHECK_EQ(old.rate_in, 0x5a5a5a5a5a5a5a5a);
    mesh_status_free(st);
}

static void
test_status_refuses_malformed(void **state)
{
    static const char *const bad[] = {
        "error raw\x01text level=1 count=1 last=1\n", /* a raw control byte */
        "refusal\n",                                  /* no ID */
        "error x level=-1 count=1 last=1\n",          /* a level below 0 */
        "refusal ID alt=A count=x first=1 last=1\n",  /* not a number */
        "peer P1 rate_in=-2\n",                       /* below -1 */
        "error x level=1 count=1 last=1",             /* no final newline */
    };
    s_fixture_t *f = *state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        mesh_status_t *st = NULL;
        snprintf(util_where, sizeof util_where, "case %zu", i);
        s_write(f, s_now_ms(), bad[i]);
        CHECK_EQ(mesh_status(f->m, &st), MESH_ECORRUPT);
        CHECK(st == NULL);
    }
    util_where[0] = '\0';
}

static void
test_status_stale_is_no_daemon(void **state)
{
    s_fixture_t *f = *state;
    mesh_status_t *st = NULL;
    s_write(f, s_now_ms() - 10000, s_full);
    CHECK_OK(mesh_status(f->m, &st));
    mesh_status_device_t dev = {.size = sizeof dev};
    CHECK_OK(mesh_status_device(st, &dev));
    CHECK(!dev.daemon);
    CHECK_EQ(dev.refusals, 0);
    CHECK_EQ(dev.errors, 0);
    CHECK_EQ(dev.colls, 0);
    CHECK_EQ(dev.txnid, 0);
    mesh_status_free(st);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_status_reads_every_line, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_status_refuses_malformed, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_status_stale_is_no_daemon, s_setup, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
