/* tests/unit/test_spool.c: unit tests of core/sync/spool.c, the durable spool of
 * acknowledged batches: what spool_append writes is read back whole by the next open (the
 * replay after a crash), a record cut short at the end (a crash while appending, never
 * acknowledged) is dropped and the file cut back to the whole records before it, a file
 * that is not a spool is taken as empty, both layouts of the file are read, and the end of a pass or a batch that does not
 * decode is never spooled; a group written (its sync asked of the syncer thread) whose
 * batches leave the queue before it is taken has its records cut off. The apply itself is tested with daemons (integration test 56).
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

static int g_a; /* a sender, told apart by address */

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
s_truncate(const char *home, long size)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", home, SPOOL_FILE);
    assert_int_equal(truncate(path, size), 0);
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

/* Append the first n queued batches as the loop does: written, their sync asked of the
 * syncer (MESH_ESTATE, still queued, spool_written says n), then taken once synced. */
static void
s_append(loop_t *l, size_t n)
{
    assert_int_equal(spool_append(l, n), MESH_ESTATE);
    assert_int_equal(spool_written(l), n);
    assert_int_equal(spool_append(l, n), MESH_OK); /* (waits for the sync) */
    assert_false(spool_syncing(l->spool));
    assert_int_equal(spool_written(l), 0);
}

/* Spool three batches, as the loop does (append, take, shift), and open the file again. */
static void
test_spool_append_and_replay(void **state)
{
    (void)state;
    char dir[256], home[300];
    uint8_t junk[300];
    util_fill(junk, sizeof junk, 7);
    assert_int_equal(util_temp_home("test_spool", dir, sizeof dir, home, sizeof home), 0);
    assert_int_equal(mkdir(home, 0700), 0);

    loop_t l = {0};
    assert_int_equal(inbox_open(8, 1 << 20, 8, 1 << 20, 1000, &l.inbox), MESH_OK);
    assert_int_equal(spool_open(home, &l.spool), MESH_OK);
    assert_int_equal(spool_count(l.spool), 0);
    assert_int_equal(s_file_size(home), S_HEAD); /* the header alone */
    assert_int_equal(inbox_add(l.inbox, &g_a, 1, junk, 100, true, 0), MESH_OK);
    assert_int_equal(inbox_add(l.inbox, &g_a, 2, junk, 200, true, 0), MESH_OK);
    assert_int_equal(inbox_add(l.inbox, &g_a, 3, junk, 300, false, 0), MESH_OK);
    /* junk does not decode: never spooled, whatever comes after it */
    assert_false(spool_wants(&l, 2));
    assert_false(spool_wants(&l, 3));

    s_append(&l, 3);
    spool_take(&l, 3);
    inbox_shift(l.inbox, 3, 0);
    assert_int_equal(spool_count(l.spool), 3);
    assert_int_equal(inbox_count(l.inbox), 0);
    assert_int_equal(s_file_size(home), S_HEAD + 3 * 8 + 600);
    spool_close(l.spool); /* a crash here: all three are read back */
    l.spool = NULL;

    assert_int_equal(spool_open(home, &l.spool), MESH_OK);
    assert_int_equal(spool_count(l.spool), 3);
    spool_close(l.spool);
    l.spool = NULL;

    /* A crash in the middle of appending the third: the first two are whole. */
    s_truncate(home, S_HEAD + 3 * 8 + 600 - 1);
    assert_int_equal(spool_open(home, &l.spool), MESH_OK);
    assert_int_equal(spool_count(l.spool), 2);
    assert_int_equal(s_file_size(home), S_HEAD + 2 * 8 + 300); /* cut back to them */
    spool_close(l.spool);
    l.spool = NULL;

    /* A cut in a record's length: the one before it stays. */
    s_truncate(home, S_HEAD + 8 + 100 + 5);
    assert_int_equal(spool_open(home, &l.spool), MESH_OK);
    assert_int_equal(spool_count(l.spool), 1);
    spool_close(l.spool);
    l.spool = NULL;

    /* Not a spool at all: empty, and made one. */
    s_write_file(home, "something else entirely, and long enough");
    assert_int_equal(spool_open(home, &l.spool), MESH_OK);
    assert_int_equal(spool_count(l.spool), 0);
    assert_int_equal(s_file_size(home), S_HEAD);
    spool_close(l.spool);
    spool_close(NULL);
    inbox_close(l.inbox);
    assert_int_equal(util_rm_tree(dir), 0);
}

/* A new home (dir, home: 256 and 300 bytes) with an empty spool and two batches of 64
 * bytes of junk (n bytes, filled here) queued from g_a, numbered 1 and 2. */
static void
s_two_queued(char *dir, char *home, uint8_t *junk, size_t n, loop_t *l)
{
    util_fill(junk, n, 3);
    assert_int_equal(util_temp_home("test_spool", dir, 256, home, 300), 0);
    assert_int_equal(mkdir(home, 0700), 0);
    assert_int_equal(inbox_open(8, 1 << 20, 8, 1 << 20, 1000, &l->inbox), MESH_OK);
    assert_int_equal(spool_open(home, &l->spool), MESH_OK);
    assert_int_equal(inbox_add(l->inbox, &g_a, 1, junk, 64, true, 0), MESH_OK);
    assert_int_equal(inbox_add(l->inbox, &g_a, 2, junk, 64, true, 0), MESH_OK);
}

/* A record whose length and complement disagree ends the spool there. */
static void
test_spool_bad_length(void **state)
{
    (void)state;
    char dir[256], home[300];
    uint8_t junk[80];
    loop_t l = {0};
    s_two_queued(dir, home, junk, sizeof junk, &l);
    s_append(&l, 2);
    spool_take(&l, 2);
    inbox_shift(l.inbox, 2, 0);
    spool_close(l.spool);
    l.spool = NULL;

    char path[4200];
    snprintf(path, sizeof path, "%s/%s", home, SPOOL_FILE);
    FILE *f = fopen(path, "r+b");
    assert_non_null(f);
    assert_int_equal(fseek(f, S_HEAD + 8 + 64 + 4, SEEK_SET), 0); /* the second's complement */
    fputc(0, f);
    fclose(f);
    assert_int_equal(spool_open(home, &l.spool), MESH_OK);
    assert_int_equal(spool_count(l.spool), 1);
    spool_close(l.spool);
    inbox_close(l.inbox);
    assert_int_equal(util_rm_tree(dir), 0);
}

/* A group written whose batches leave the queue before its sync is taken (their sender's
 * session reset: inbox_forget) is forgotten: its records are cut off (never acknowledged),
 * even when batches of the same numbers from the same sender take their place, and what
 * comes next is written where they were. */
static void
test_spool_written_then_forgotten(void **state)
{
    (void)state;
    char dir[256], home[300];
    uint8_t junk[80];
    loop_t l = {0};
    s_two_queued(dir, home, junk, sizeof junk, &l);
    assert_int_equal(spool_append(&l, 2), MESH_ESTATE);
    assert_int_equal(s_file_size(home), S_HEAD + 2 * (8 + 64)); /* written, not taken */
    inbox_forget(l.inbox, &g_a);
    /* the same sender sends batches of the same numbers and sizes again: other batches */
    assert_int_equal(inbox_add(l.inbox, &g_a, 1, junk + 1, 64, true, 0), MESH_OK);
    assert_int_equal(inbox_add(l.inbox, &g_a, 2, junk + 2, 32, true, 0), MESH_OK);
    assert_int_equal(spool_written(&l), 0);
    assert_int_equal(s_file_size(home), S_HEAD); /* cut off */
    assert_false(spool_syncing(l.spool));
    s_append(&l, 2);
    spool_take(&l, 2);
    inbox_shift(l.inbox, 2, 0);
    assert_int_equal(s_file_size(home), S_HEAD + 8 + 64 + 8 + 32);
    spool_close(l.spool);
    l.spool = NULL;
    assert_int_equal(spool_open(home, &l.spool), MESH_OK);
    assert_int_equal(spool_count(l.spool), 2); /* the two taken, none of the forgotten */
    spool_close(l.spool);
    inbox_close(l.inbox);
    assert_int_equal(util_rm_tree(dir), 0);
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

/* A record of len bytes (len < 256) of value v at p: its length, complement, bytes. */
static size_t
s_record(uint8_t *p, uint8_t len, uint8_t v)
{
    uint32_t check = (uint32_t)len ^ 0xffffffffu;
    memset(p, 0, 8);
    p[0] = len;
    for (unsigned i = 0; i < 4; i++) {
        p[4 + i] = (uint8_t)(check >> (8 * i));
    }
    memset(p + 8, v, len);
    return 8u + len;
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

    file[8] = (uint8_t)(n + 1);
    s_write_bytes(home, file, n);
    assert_int_equal(spool_open(home, &l.spool), MESH_OK);
    assert_int_equal(spool_count(l.spool), 0);
    assert_int_equal(s_file_size(home), S_HEAD);
    spool_close(l.spool);
    assert_int_equal(util_rm_tree(dir), 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spool_append_and_replay),
        cmocka_unit_test(test_spool_written_then_forgotten),
        cmocka_unit_test(test_spool_bad_length),
        cmocka_unit_test(test_spool_layouts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
