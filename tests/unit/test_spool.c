/* tests/unit/test_spool.c: unit tests of core/sync/spool.c, the spool of checked batches
 * held in memory: a new home gets no spool file; spooled batches are not acknowledged
 * before the apply that commits them, which makes one acknowledgement due per sender (its
 * last batch) and per session of that sender; the end of a pass or a batch that does not
 * decode is never spooled; a spool file that an earlier version left is read (both of its
 * layouts; a record cut short or whose length does not check ends it), its batches are
 * applied before any other is spooled, and the file is removed once they are; a file that
 * is not a spool is removed at the open. The apply with daemons: integration tests 56, 114.
 * Layer: tests. Third-party: cmocka. SPDX-License-Identifier: MIT */
#include "core/sync/spool.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/sync/inbox.h"
#include "core/sync/sync.h"
#include "util.h"


#define S_HEAD 16 /* "MSPOOL2\n", then where the records start (le64) */

/* The size of home's spool file, or -1. */
static long
s_file_size(const char *home)
{
    char path[4200];
    struct stat sb;
    snprintf(path, sizeof path, "%s/%s", home, SPOOL_FILE);
    return stat(path, &sb) == 0 ? (long)sb.st_size : -1;
}

static void
s_write_file(const char *home, const char *text)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", home, SPOOL_FILE);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* Write n bytes of data as home's spool file. */
static void
s_write_bytes(const char *home, const uint8_t *data, size_t n)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", home, SPOOL_FILE);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, n, f), n);
    fclose(f);
}

/* A spool record at p of the len bytes at data: its length, its complement, the bytes. */
static size_t
s_record_of(uint8_t *p, const void *data, size_t len)
{
    uint32_t l32 = (uint32_t)len, check = l32 ^ 0xffffffffu;
    for (unsigned i = 0; i < 4; i++) {
        p[i] = (uint8_t)(l32 >> (8 * i));
        p[4 + i] = (uint8_t)(check >> (8 * i));
    }
    memcpy(p + 8, data, len);
    return 8u + len;
}

/* A record of len bytes (len < 256) of value v at p. */
static size_t
s_record(uint8_t *p, uint8_t len, uint8_t v)
{
    uint8_t bytes[255];
    memset(bytes, v, len);
    return s_record_of(p, bytes, len);
}

/* A device (d) with three items in collection c, its loop (l: d's node, an inbox, a
 * spool) and the bundle of what it holds (*bundle, *len: mesh_free it): batches that decode
 * and apply (applying what one holds changes nothing). */
static void
s_device(util_dev_t *d, loop_t *l, void **bundle, size_t *len)
{
    static const char *const keys[] = {"k1", "k2", "k3"}, *const values[] = {"a", "b", "c"};
    util_dev_open(d, "spool");
    (void)util_commit(d->m, "c", keys, values, 3);
    const char *coll = "c";
    assert_int_equal(mesh_export(d->m, &coll, 1, NULL, 0, bundle, len), MESH_OK);
    memset(l, 0, sizeof *l);
    l->m = d->m;
    assert_int_equal(inbox_open(16, 1 << 24, 16, 1 << 24, 1000, &l->inbox), MESH_OK);
    assert_int_equal(spool_open(d->home, &l->spool), MESH_OK);
}

static void
s_device_close(util_dev_t *d, loop_t *l)
{
    spool_close(l->spool);
    inbox_close(l->inbox);
    util_dev_close(d);
}

/* Spool five batches of two senders as the loop does (admit, take, shift; one sender
 * restarts after its second), and apply them: no acknowledgement is due before the apply;
 * after it, each sender's last batch of each of its sessions, in order, and no more. */
static void
test_spool_acks_after_the_apply(void **state)
{
    (void)state;
    util_dev_t d;
    loop_t l;
    void *bundle = NULL;
    size_t len = 0;
    s_device(&d, &l, &bundle, &len);
    assert_int_equal(s_file_size(d.home), -1); /* no file: nothing on disk but the store */
    session_t sa = {.id = "A", .peer_session = 7}, sb = {.id = "B", .peer_session = 9};
    assert_int_equal(inbox_add(l.inbox, &sa, 1, bundle, len, true, 0), MESH_OK);
    assert_int_equal(inbox_add(l.inbox, &sb, 4, bundle, len, true, 0), MESH_OK);
    assert_int_equal(inbox_add(l.inbox, &sa, 2, bundle, len, true, 0), MESH_OK);
    assert_int_equal(spool_admit(&l, 3), MESH_OK);
    spool_take(&l, 3);
    inbox_shift(l.inbox, 3, 0);
    sa.peer_session = 8; /* A restarted: it numbers its batches anew */
    assert_int_equal(inbox_add(l.inbox, &sa, 1, bundle, len, true, 0), MESH_OK);
    assert_int_equal(inbox_add(l.inbox, &sb, 5, bundle, len, true, 0), MESH_OK);
    assert_int_equal(spool_admit(&l, 2), MESH_OK);
    spool_take(&l, 2);
    inbox_shift(l.inbox, 2, 0);
    assert_int_equal(spool_count(l.spool), 5);
    /* received: counted at once, 3 batches of A's and 2 of B's (each the same bundle) */
    assert_true(sb.ops_in >= 2 * 3);
    assert_int_equal(2 * sa.ops_in, 3 * sb.ops_in);
    spool_ack_t ack;
    assert_false(spool_next_ack(l.spool, &ack)); /* nothing committed, nothing due */

    assert_int_equal(spool_apply(&l), MESH_OK);
    assert_int_equal(spool_count(l.spool), 0);
    const struct {
        session_t *to;
        uint64_t session, id;
    } want[] = {{&sa, 7, 2}, {&sa, 8, 1}, {&sb, 9, 5}};
    for (size_t i = 0; i < 3; i++) {
        assert_true(spool_next_ack(l.spool, &ack));
        assert_ptr_equal(ack.to, want[i].to);
        assert_int_equal(ack.peer_session, want[i].session);
        assert_int_equal(ack.id, want[i].id);
    }
    assert_false(spool_next_ack(l.spool, &ack));
    assert_int_equal(s_file_size(d.home), -1);
    util_expect(d.m, "c", "k2", "b");
    mesh_free(bundle);
    s_device_close(&d, &l);
}

/* The end of a pass, or a batch that does not decode, is never spooled. */
static void
test_spool_wants(void **state)
{
    (void)state;
    util_dev_t d;
    loop_t l;
    void *bundle = NULL;
    size_t len = 0;
    uint8_t junk[100];
    util_fill(junk, sizeof junk, 7);
    s_device(&d, &l, &bundle, &len);
    session_t sa = {.id = "A"};
    assert_int_equal(inbox_add(l.inbox, &sa, 1, bundle, len, true, 0), MESH_OK);
    assert_int_equal(inbox_add(l.inbox, &sa, 2, junk, sizeof junk, true, 0), MESH_OK);
    assert_int_equal(inbox_add(l.inbox, &sa, 3, bundle, len, false, 0), MESH_OK);
    assert_false(spool_wants(&l, 2)); /* junk does not decode */
    inbox_shift(l.inbox, 2, 0);
    assert_false(spool_wants(&l, 1)); /* the end of its pass */
    mesh_free(bundle);
    s_device_close(&d, &l);
}

/* An earlier version's spool file (two whole records of the device's bundle, a third cut
 * short): the two are read; a batch queued meanwhile is not admitted beside them (the
 * worker applies them first); once applied no acknowledgement is due for them (their
 * sender had it from that version), the file is gone, and the batch is admitted. */
static void
test_spool_file_of_an_earlier_version(void **state)
{
    (void)state;
    util_dev_t d;
    loop_t l;
    void *bundle = NULL;
    size_t len = 0;
    s_device(&d, &l, &bundle, &len);
    spool_close(l.spool);
    size_t n = S_HEAD + 3 * (8 + len);
    uint8_t *file = calloc(1, n);
    assert_non_null(file);
    memcpy(file, "MSPOOL2\n", 8);
    file[8] = S_HEAD;
    for (size_t i = 0; i < 3; i++) {
        (void)s_record_of(file + S_HEAD + i * (8 + len), bundle, len);
    }
    s_write_bytes(d.home, file, n - 1); /* the third cut short: never acknowledged */
    free(file);
    assert_int_equal(spool_open(d.home, &l.spool), MESH_OK);
    assert_int_equal(spool_count(l.spool), 2);

    session_t sa = {.id = "A", .peer_session = 1};
    assert_int_equal(inbox_add(l.inbox, &sa, 1, bundle, len, true, 0), MESH_OK);
    assert_int_equal(spool_admit(&l, 1), MESH_EBUSY); /* the file's first, on the worker */
    assert_true(spool_running(l.spool));
    spool_wait(&l);
    assert_int_equal(spool_count(l.spool), 0);
    spool_ack_t ack;
    assert_false(spool_next_ack(l.spool, &ack));
    assert_int_equal(s_file_size(d.home), -1);
    assert_int_equal(spool_admit(&l, 1), MESH_OK);
    spool_take(&l, 1);
    inbox_shift(l.inbox, 1, 0);
    assert_int_equal(spool_count(l.spool), 1);
    mesh_free(bundle);
    s_device_close(&d, &l);
}

/* The first layout (the records right after "MSPOOL1\n") is read; the second reads from
 * where its header says the records start (those before were applied: a crash after an
 * apply and before the file was cut back), and a start past the file's end is no spool. */
static void
test_spool_layouts(void **state)
{
    (void)state;
    char dir[256], home[300];
    uint8_t file[200];
    loop_t l = {0};
    assert_int_equal(util_temp_home("test_spool", dir, sizeof dir, home, sizeof home), 0);
    assert_int_equal(mkdir(home, 0700), 0);

    memcpy(file, "MSPOOL1\n", 8);
    size_t n = 8 + s_record(file + 8, 10, 1);
    s_write_bytes(home, file, n);
    assert_int_equal(spool_open(home, &l.spool), MESH_OK);
    assert_int_equal(spool_count(l.spool), 1);
    spool_close(l.spool);

    memset(file, 0, sizeof file);
    memcpy(file, "MSPOOL2\n", 8);
    n = S_HEAD + s_record(file + S_HEAD, 10, 1);
    file[8] = (uint8_t)n; /* the first was applied: the records start at the second */
    n += s_record(file + n, 20, 2);
    n += s_record(file + n, 30, 3);
    s_write_bytes(home, file, n);
    assert_int_equal(spool_open(home, &l.spool), MESH_OK);
    assert_int_equal(spool_count(l.spool), 2);
    spool_close(l.spool);

    file[(size_t)file[8] + 8 + 20 + 4] ^= 1; /* the second's complement: it ends there */
    s_write_bytes(home, file, n);
    assert_int_equal(spool_open(home, &l.spool), MESH_OK);
    assert_int_equal(spool_count(l.spool), 1);
    spool_close(l.spool);

    file[8] = (uint8_t)(n + 1);
    s_write_bytes(home, file, n);
    assert_int_equal(spool_open(home, &l.spool), MESH_OK);
    assert_int_equal(spool_count(l.spool), 0);
    assert_int_equal(s_file_size(home), -1); /* not a spool: removed */
    spool_close(l.spool);

    s_write_file(home, "something else entirely, and long enough");
    assert_int_equal(spool_open(home, &l.spool), MESH_OK);
    assert_int_equal(spool_count(l.spool), 0);
    assert_int_equal(s_file_size(home), -1);
    spool_close(l.spool);
    assert_int_equal(util_rm_tree(dir), 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spool_acks_after_the_apply),
        cmocka_unit_test(test_spool_wants),
        cmocka_unit_test(test_spool_file_of_an_earlier_version),
        cmocka_unit_test(test_spool_layouts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
