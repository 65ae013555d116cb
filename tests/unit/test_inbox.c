/* tests/unit/test_inbox.c: unit tests of core/sync/inbox.c, the received batches a daemon has
 * not committed yet: which of the oldest make a group, when it is due (a whole group, the
 * end of a pass, a pause), what shift and forget leave, and each batch's check.
 * Layer: tests. Third-party: cmocka. SPDX-License-Identifier: MIT */
#include "core/sync/inbox.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/sync/checker.h"
#include "util.h"

static int g_a, g_b, g_c; /* senders, told apart by address */

/* Groups are up to 3 batches or 100 bytes (at least one batch); the queue holds 5. Batches
 * of 40 bytes: a group is 3 of them (120 >= 100 after the third). */
static void
test_inbox_groups_and_due(void **state)
{
    (void)state;
    inbox_t *in = NULL;
    uint8_t junk[200];
    memset(junk, 0x5a, sizeof junk);
    assert_int_equal(inbox_open(5, 1 << 20, 3, 100, 1000, &in), MESH_OK);
    assert_int_equal(inbox_count(in), 0);
    assert_false(inbox_due(in, 0));
    assert_int_equal(inbox_wait_ms(in, 0), 0);
    assert_int_equal(inbox_group(in), 0);

    assert_int_equal(inbox_add(in, &g_a, 1, junk, 40, true, 100), MESH_OK);
    assert_false(inbox_due(in, 100));       /* one batch, more to come */
    assert_int_equal(inbox_wait_ms(in, 400), 700);
    assert_true(inbox_due(in, 1100));       /* the sender paused 1 s */
    assert_int_equal(inbox_add(in, &g_b, 7, junk, 40, true, 200), MESH_OK);
    assert_false(inbox_due(in, 300));
    assert_int_equal(inbox_add(in, &g_a, 2, junk, 40, true, 300), MESH_OK);
    assert_true(inbox_due(in, 300)); /* 120 bytes: a group */
    assert_int_equal(inbox_group(in), 3);
    assert_int_equal(inbox_add(in, &g_a, 3, junk, 40, true, 400), MESH_OK);
    assert_int_equal(inbox_add(in, &g_b, 8, junk, 40, false, 400), MESH_OK);
    assert_true(inbox_full(in));
    assert_int_equal(inbox_add(in, &g_a, 4, junk, 40, true, 400), MESH_EBUSY);
    assert_int_equal(inbox_count(in), 5);

    inbox_shift(in, inbox_group(in), 500); /* the first three were committed */
    assert_int_equal(inbox_count(in), 2);
    assert_int_equal(inbox_at(in, 0)->id, 3);
    assert_ptr_equal(inbox_at(in, 0)->from, &g_a);
    assert_int_equal(inbox_at(in, 1)->id, 8);
    assert_null(inbox_at(in, 2));
    assert_true(inbox_due(in, 500)); /* the last one ended B's pass */
    assert_int_equal(inbox_group(in), 2);

    inbox_forget(in, &g_b);
    assert_int_equal(inbox_count(in), 1);
    assert_int_equal(inbox_at(in, 0)->id, 3);
    assert_false(inbox_due(in, 600)); /* 40 bytes, more to come, waiting since the shift */
    assert_int_equal(inbox_wait_ms(in, 600), 900);
    /* a group ends with the batch that reaches 100 bytes, however big */
    assert_int_equal(inbox_add(in, &g_a, 5, junk, 200, true, 700), MESH_OK);
    assert_true(inbox_due(in, 700));
    assert_int_equal(inbox_group(in), 2);
    inbox_shift(in, 1, 800);
    assert_int_equal(inbox_group(in), 1);
    inbox_close(in); /* with a batch still queued */
    inbox_close(NULL);
    assert_int_equal(inbox_open(0, 1, 1, 1, 1, &in), MESH_EINVAL);
    assert_null(in);
}

/* Each batch's check: a real bundle has one, bytes that do not decode none; the copy is
 * the inbox's own (the caller's buffer may change at once). */
static void
test_inbox_checks(void **state)
{
    (void)state;
    char dir[300], home[400];
    mesh_t *m = NULL;
    void *bundle = NULL;
    size_t len = 0;
    inbox_t *in = NULL;
    assert_int_equal(util_temp_home("test_inbox", dir, sizeof dir, home, sizeof home), 0);
    assert_int_equal(util_open(home, true, "inbox", 0, &m), MESH_OK);
    util_put(m, "notes", "k", "v");
    assert_int_equal(mesh_export(m, NULL, 0, NULL, 0, &bundle, &len), MESH_OK);
    uint8_t *mine = malloc(len);
    assert_non_null(mine);
    memcpy(mine, bundle, len);

    assert_int_equal(inbox_open(4, 1 << 20, 4, 1 << 20, 1000, &in), MESH_OK);
    assert_int_equal(inbox_add(in, &g_a, 1, mine, len, true, 0), MESH_OK);
    memset(mine, 0, len); /* the inbox has its own copy */
    assert_int_equal(inbox_add(in, &g_a, 2, mine, len, false, 0), MESH_OK);
    assert_non_null(inbox_checked(in, 0));
    assert_memory_equal(inbox_at(in, 0)->data, bundle, len);
    assert_null(inbox_checked(in, 1)); /* zeros are no bundle */
    assert_null(inbox_checked(in, 2)); /* no such batch */
    inbox_shift(in, 2, 0);
    assert_int_equal(inbox_count(in), 0);
    inbox_close(in);

    /* A real bundle is charged its bytes and its sets' and ops' check state: the queue
     * holds what its memory allows, not only what its bytes do (a 6 MB batch of 3M empty
     * sets took 3.9 GiB). Here 4 sets: the home's membership record, k, k2 (1 op each),
     * and one of 3 ops. */
    util_put(m, "notes", "k2", "v");
    mesh_txn_t *txn = NULL;
    assert_int_equal(mesh_txn_begin(m, "notes", &txn), MESH_OK);
    for (int i = 0; i < 3; i++) {
        char key[16];
        snprintf(key, sizeof key, "t%d", i);
        assert_int_equal(mesh_put(txn, key, strlen(key), "v", 1), MESH_OK);
    }
    assert_int_equal(mesh_txn_commit(&txn, NULL), MESH_OK);
    mesh_free(bundle);
    assert_int_equal(mesh_export(m, NULL, 0, NULL, 0, &bundle, &len), MESH_OK);
    size_t charge = len + 4 * INBOX_SET_BYTES + 6 * INBOX_OP_BYTES;
    assert_int_equal(inbox_charge(bundle, len), charge);
    assert_int_equal(inbox_charge((const uint8_t *)"\xc1", 1), 1); /* no outline: bytes */
    assert_int_equal(inbox_open(4, 2 * charge - 1, 4, 1 << 20, 1000, &in), MESH_OK);
    assert_true(inbox_fits(in, &g_b, bundle, len));
    assert_int_equal(inbox_add(in, &g_a, 1, bundle, len, true, 0), MESH_OK);
    assert_int_equal(inbox_bytes(in), charge);
    assert_false(inbox_fits(in, &g_b, bundle, len)); /* its bytes would fit; its sets do not */
    assert_int_equal(inbox_add(in, &g_a, 2, bundle, len, true, 0), MESH_EBUSY);
    inbox_shift(in, 1, 0);
    assert_int_equal(inbox_bytes(in), 0);
    inbox_close(in);
    free(mine);
    mesh_free(bundle);
    mesh_close(m);
    assert_int_equal(util_rm_tree(dir), 0);
}

/* The byte cap: a batch that would take the queue past max_bytes does not fit (MESH_EBUSY,
 * nothing queued) until older ones are shifted out; an empty inbox takes any one batch,
 * even one larger than the cap (a frame's own cap bounds it); one sender fills at most a
 * quarter of the queue (INBOX_SHARE). */
static void
test_inbox_byte_cap(void **state)
{
    (void)state;
    static uint8_t junk[300];
    inbox_t *in = NULL;
    assert_int_equal(inbox_open(10, 250, 10, 1000, 1000, &in), MESH_OK);
    assert_true(inbox_fits(in, &g_c, junk, 300));
    assert_int_equal(inbox_add(in, &g_a, 1, junk, 100, true, 0), MESH_OK);
    assert_int_equal(inbox_add(in, &g_b, 2, junk, 100, true, 0), MESH_OK);
    assert_true(inbox_fits(in, &g_c, junk, 50));
    assert_false(inbox_fits(in, &g_c, junk, 51));
    assert_int_equal(inbox_add(in, &g_c, 3, junk, 51, true, 0), MESH_EBUSY);
    assert_int_equal(inbox_count(in), 2);
    assert_int_equal(inbox_bytes(in), 200);
    assert_int_equal(inbox_add(in, &g_c, 3, junk, 50, true, 0), MESH_OK);
    assert_true(inbox_full(in)); /* 250 of 250 */
    assert_false(inbox_fits(in, &g_c, junk, 0) && inbox_fits(in, &g_c, junk, 1));
    inbox_shift(in, 3, 0);
    assert_int_equal(inbox_bytes(in), 0);
    assert_true(inbox_fits(in, &g_c, junk, 300)); /* alone, a batch past the cap is taken */
    assert_int_equal(inbox_add(in, &g_a, 4, junk, 300, false, 0), MESH_OK);
    assert_false(inbox_fits(in, &g_c, junk, 1));
    inbox_close(in);

    /* One sender's share: a quarter of the queue (100 of 400 bytes), past which its next
     * batch waits while another's still fits. */
    assert_int_equal(inbox_open(10, 400, 10, 1000, 1000, &in), MESH_OK);
    assert_int_equal(inbox_add(in, &g_a, 1, junk, 60, true, 0), MESH_OK);
    assert_true(inbox_fits(in, &g_a, junk, 40));
    assert_false(inbox_fits(in, &g_a, junk, 41));
    assert_int_equal(inbox_add(in, &g_a, 2, junk, 41, true, 0), MESH_EBUSY);
    assert_true(inbox_fits(in, &g_b, junk, 300)); /* none of its own queued: the queue's room */
    assert_int_equal(inbox_add(in, &g_b, 1, junk, 300, true, 0), MESH_OK);
    inbox_forget(in, &g_a);
    assert_true(inbox_fits(in, &g_a, junk, 100));
    inbox_close(in);
    assert_int_equal(inbox_open(4, 0, 4, 1, 1, &in), MESH_EINVAL);
    assert_null(in);
}

/* inbox_adopt queues the caller's buffer itself (no copy): charged as inbox_add would, the
 * same pointer in inbox_at and from inbox_take; one that does not fit stays the caller's. */
static void
test_inbox_adopt(void **state)
{
    (void)state;
    inbox_t *in = NULL;
    assert_int_equal(inbox_open(10, 250, 10, 1000, 1000, &in), MESH_OK);
    uint8_t *a = malloc(100), *b = malloc(200), *c = malloc(60);
    assert_true(a && b && c);
    memset(a, 0x11, 100);
    memset(b, 0x22, 200);
    memset(c, 0x33, 60);
    assert_int_equal(inbox_adopt(in, &g_a, 1, a, 100, true, 0), MESH_OK);
    assert_int_equal(inbox_adopt(in, &g_b, 2, b, 200, true, 0), MESH_EBUSY); /* past 250 */
    assert_int_equal(inbox_adopt(in, &g_b, 2, c, 60, true, 0), MESH_OK);
    free(b); /* (refused: still ours) */
    assert_int_equal(inbox_bytes(in), 160);
    assert_ptr_equal(inbox_at(in, 0)->data, a);
    assert_ptr_equal(inbox_at(in, 1)->data, c);
    uint8_t *data = NULL;
    struct checker_job *job = NULL;
    import_checked_t *own = NULL;
    assert_int_equal(inbox_take(in, 0, &data, &job, &own), 100);
    assert_ptr_equal(data, a);
    assert_null(inbox_at(in, 0)->data);
    checker_job_free(job);
    import_checked_free(own);
    free(data);
    inbox_shift(in, 1, 0);
    inbox_close(in); /* (frees c) */
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_inbox_groups_and_due),
        cmocka_unit_test(test_inbox_checks),
        cmocka_unit_test(test_inbox_byte_cap),
        cmocka_unit_test(test_inbox_adopt),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
