/* tests/unit/test_checker.c: unit tests of core/sync/checker.c, the thread that checks
 * received batches ahead of their commit.
 * Real bundles from a real node are queued (with bytes that do not decode among them); each
 * job's check must be there, or be NULL for bytes that do not decode, whatever order the
 * jobs are waited for or freed in, and closing waits for what is still queued.
 * Layer: tests. Third-party: cmocka. SPDX-License-Identifier: MIT */
#include "core/sync/checker.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "util.h"

#define S_JOBS 40 /* jobs queued at once */

typedef struct s_fixture {
    char dir[300], home[400];
    mesh_t *m;
    void *bundle; /* a full export of the node: several sets */
    size_t len;
} s_fixture_t;

static int
s_setup(void **state)
{
    s_fixture_t *f = calloc(1, sizeof *f);
    assert_non_null(f);
    assert_int_equal(util_temp_home("test_checker", f->dir, sizeof f->dir, f->home,
                                    sizeof f->home),
                     0);
    assert_int_equal(util_open(f->home, true, "checker", 0, &f->m), MESH_OK);
    for (int i = 0; i < 5; i++) {
        char key[16];
        snprintf(key, sizeof key, "k%d", i);
        util_put(f->m, "notes", key, "some value");
    }
    assert_int_equal(mesh_export(f->m, NULL, 0, NULL, 0, &f->bundle, &f->len), MESH_OK);
    *state = f;
    return 0;
}

static int
s_teardown(void **state)
{
    s_fixture_t *f = *state;
    mesh_free(f->bundle);
    mesh_close(f->m);
    assert_int_equal(util_rm_tree(f->dir), 0);
    free(f);
    return 0;
}

/* Every other job is of bytes that do not decode (the bundle cut short); waited for in
 * reverse order of submission, each good one has its check and each bad one none. */
static void
test_checker_checks_every_job(void **state)
{
    s_fixture_t *f = *state;
    checker_t *c = NULL;
    checker_job_t *jobs[S_JOBS];

    assert_int_equal(checker_open(&c), MESH_OK);
    for (size_t i = 0; i < S_JOBS; i++) {
        size_t len = i % 2 ? f->len - 1 : f->len;
        assert_int_equal(checker_submit(c, f->bundle, len, &jobs[i]), MESH_OK);
        assert_non_null(jobs[i]);
    }
    for (size_t i = S_JOBS; i-- > 0;) {
        const import_checked_t *r = checker_wait(jobs[i]);
        if (i % 2) {
            assert_null(r);
        } else {
            assert_non_null(r);
            assert_ptr_equal(checker_wait(jobs[i]), r); /* waiting again gives the same */
        }
    }
    for (size_t i = 0; i < S_JOBS; i++) {
        checker_job_free(jobs[i]);
    }
    checker_close(c);
}

/* A job freed without a wait (still queued or being checked) waits for itself; a check
 * taken from the thread is the one an import uses: the bundle goes into a second node
 * with it and gives the same digest. */
static void
test_checker_free_unwaited_and_import(void **state)
{
    s_fixture_t *f = *state;
    checker_t *c = NULL;
    checker_job_t *jobs[S_JOBS];
    char dir[300], home[400], want[65], got[65];
    mesh_t *other = NULL;
    mesh_import_report_t rep;

    assert_int_equal(checker_open(&c), MESH_OK);
    for (size_t i = 0; i < S_JOBS; i++) {
        assert_int_equal(checker_submit(c, f->bundle, f->len, &jobs[i]), MESH_OK);
    }
    for (size_t i = 0; i + 1 < S_JOBS; i++) {
        checker_job_free(jobs[i]); /* most of them unwaited */
    }
    const import_checked_t *check = checker_wait(jobs[S_JOBS - 1]);
    assert_non_null(check);
    assert_int_equal(util_temp_home("test_checker2", dir, sizeof dir, home, sizeof home), 0);
    assert_int_equal(util_open(home, true, "other", 0, &other), MESH_OK);
    char id[MESH_ID_TEXT_LEN + 1];
    assert_int_equal(mesh_device_id(f->m, id, sizeof id), MESH_OK);
    assert_int_equal(mesh_peer_add(other, id, NULL, NULL, 0), MESH_OK);
    const uint8_t *b = f->bundle;
    assert_int_equal(import_many(other, &b, &f->len, &check, 1, &rep), MESH_OK);
    assert_int_equal(rep.sets_rejected + rep.sets_held, 0);
    assert_true(rep.sets_new > 0);
    mesh_free(rep.text);
    util_digest(f->m, "notes", want);
    util_digest(other, "notes", got);
    assert_string_equal(got, want);
    checker_job_free(jobs[S_JOBS - 1]);
    checker_close(c);
    mesh_close(other);
    assert_int_equal(util_rm_tree(dir), 0);
}

/* Bad arguments: no job, and nothing queued; NULLs are no-ops where documented. */
static void
test_checker_bad_arguments(void **state)
{
    s_fixture_t *f = *state;
    checker_t *c = NULL;
    checker_job_t *j = (checker_job_t *)&j;

    assert_int_equal(checker_open(&c), MESH_OK);
    assert_int_equal(checker_submit(c, NULL, 1, &j), MESH_EINVAL);
    assert_null(j);
    assert_int_equal(checker_submit(NULL, f->bundle, f->len, &j), MESH_EINVAL);
    assert_null(checker_wait(NULL));
    checker_job_free(NULL);
    checker_close(c);
    checker_close(NULL);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_checker_checks_every_job, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_checker_free_unwaited_and_import, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_checker_bad_arguments, s_setup, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
