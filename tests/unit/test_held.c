/* tests/unit/test_held.c: the held-back list (core/apply/held.c, store/held.c) on real
 * stores in temp homes, through the public API: sets of a stranger are held, listed
 * (mesh_held, mesh_held_summary) and applied by mesh_peer_add; the caps of PROTOCOL §8.1
 * drop the oldest first (per origin, then in all), refuse one set over the per-origin cap,
 * and never touch a member's data; a list of the layout before §6's is brought into it. */
#include "core/apply/held.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/base/node.h"
#include "store/env.h"
#include "util.h"

#define S_MB 1000000u /* one "1 MB" value */

/* One set on d: n values of len bytes each (content from seed) under key0, key1... */
static void
s_write(util_dev_t *d, const char *coll, const char *key, size_t n, size_t len, uint8_t seed)
{
    uint8_t *v = malloc(len);
    mesh_txn_t *txn = NULL;
    assert_non_null(v);
    assert_int_equal(mesh_txn_begin(d->m, coll, &txn), MESH_OK);
    for (size_t i = 0; i < n; i++) {
        char k[64];
        int kl = snprintf(k, sizeof k, "%s%zu", key, i);
        util_fill(v, len, (uint8_t)(seed + i));
        assert_int_equal(mesh_put(txn, k, (size_t)kl, v, len), MESH_OK);
    }
    assert_int_equal(mesh_txn_commit(&txn, NULL), MESH_OK);
    free(v);
}

/* Export all of from into to; returns the report (text freed). */
static mesh_import_report_t
s_xfer(util_dev_t *from, util_dev_t *to)
{
    void *b = NULL;
    size_t len = 0;
    mesh_import_report_t rep = {.size = sizeof rep};
    assert_int_equal(mesh_export(from->m, NULL, 0, NULL, 0, &b, &len), MESH_OK);
    assert_int_equal(mesh_import(to->m, b, len, &rep), MESH_OK);
    mesh_free(b);
    mesh_free(rep.text);
    rep.text = NULL;
    return rep;
}

/* The entry of origin id in d's held list: its sets (0 when not listed). */
static uint64_t
s_held_sets(util_dev_t *d, const char *id)
{
    mesh_held_list_t *list = NULL;
    uint64_t n = 0;
    assert_int_equal(mesh_held(d->m, &list), MESH_OK);
    for (size_t i = 0; i < mesh_held_list_count(list); i++) {
        const mesh_held_info_t *h = mesh_held_list_get(list, i);
        assert_int_equal(h->size, sizeof *h);
        assert_true(h->first_seen_ms > 0 && h->first_seen_ms <= h->last_seen_ms);
        if (strcmp(h->origin, id) == 0) {
            n = h->sets;
        }
    }
    mesh_held_list_free(list);
    return n;
}

static mesh_held_summary_t
s_summary(util_dev_t *d)
{
    mesh_held_summary_t s = {.size = sizeof s};
    assert_int_equal(mesh_held_summary(d->m, &s), MESH_OK);
    return s;
}

/* A stranger's sets are held and listed; mesh_peer_add applies them at once. */
static void
test_held_release_on_peer_add(void **state)
{
    (void)state;
    util_dev_t a, s;
    util_dev_open(&a, "held-a");
    util_dev_open(&s, "held-s");
    util_put(s.m, "c", "k1", "one");
    util_put(s.m, "c", "k2", "two");
    mesh_import_report_t rep = s_xfer(&s, &a);
    assert_int_equal(rep.sets_held, 3); /* genesis, two writes */
    assert_int_equal(s_held_sets(&a, s.id), 3);
    mesh_held_summary_t sum = s_summary(&a);
    assert_int_equal(sum.sets, 3);
    assert_int_equal(sum.origins, 1);
    assert_int_equal(sum.cap_bytes, HELD_BYTES_MAX);
    util_expect(a.m, "c", "k1", NULL);

    assert_int_equal(mesh_peer_add(a.m, s.id, "s", NULL, 0), MESH_OK);
    util_expect(a.m, "c", "k1", "one");
    util_expect(a.m, "c", "k2", "two");
    assert_int_equal(s_held_sets(&a, s.id), 0);
    sum = s_summary(&a);
    assert_int_equal(sum.sets + sum.bytes + sum.origins + sum.dropped_sets, 0);
    assert_true(util_check_digest(a.m, "c"));
    util_dev_close(&s);
    util_dev_close(&a);
}

/* Past the per-origin byte cap the origin's oldest go first; a member's data stays. */
static void
test_held_origin_cap_oldest_first(void **state)
{
    (void)state;
    util_dev_t a, m, s;
    util_dev_open(&a, "held-a");
    util_dev_open(&m, "held-m");
    util_dev_open(&s, "held-s");
    assert_int_equal(mesh_peer_add(a.m, m.id, "m", NULL, 0), MESH_OK);
    s_write(&m, "c", "honest", 2, S_MB, 1);
    assert_int_equal(s_xfer(&m, &a).sets_held, 0);
    for (uint8_t i = 0; i < 6; i++) {
        char key[8];
        snprintf(key, sizeof key, "v%u-", i);
        s_write(&s, "c", key, 1, S_MB, (uint8_t)(10 + i));
    }
    mesh_import_report_t rep = s_xfer(&s, &a);
    assert_int_equal(rep.sets_held, 7);
    assert_int_equal(s_held_sets(&a, s.id), 4); /* 4 MiB: the 4 newest */
    mesh_held_summary_t sum = s_summary(&a);
    assert_true(sum.bytes <= HELD_ORIGIN_BYTES_MAX);
    assert_int_equal(sum.dropped_sets, 3); /* genesis, v0, v1 */

    assert_int_equal(mesh_peer_add(a.m, s.id, NULL, NULL, 0), MESH_OK);
    util_expect(a.m, "c", "v1-0", NULL);
    uint8_t *want = malloc(S_MB);
    assert_non_null(want);
    util_fill(want, S_MB, 15);
    void *got = NULL;
    size_t got_len = 0;
    assert_int_equal(mesh_get(a.m, "c", "v5-0", 4, &got, &got_len), MESH_OK);
    assert_int_equal(got_len, S_MB);
    assert_memory_equal(got, want, S_MB);
    mesh_free(got);
    util_fill(want, S_MB, 1);
    assert_int_equal(mesh_get(a.m, "c", "honest0", 7, &got, &got_len), MESH_OK);
    assert_memory_equal(got, want, S_MB);
    mesh_free(got);
    free(want);
    util_dev_close(&s);
    util_dev_close(&m);
    util_dev_close(&a);
}

/* Past the total cap the oldest of all go; one set over the per-origin cap is not kept. */
static void
test_held_total_cap_and_too_big(void **state)
{
    (void)state;
    util_dev_t a, first;
    util_dev_open(&a, "held-a");
    util_dev_open(&first, "held-f");
    s_write(&first, "c", "k", 1, S_MB, 1);
    (void)s_xfer(&first, &a);
    for (int i = 0; i < 17; i++) {
        util_dev_t t;
        util_dev_open(&t, "held-t");
        s_write(&t, "c", "k", 1, S_MB, (uint8_t)i);
        assert_int_equal(s_xfer(&t, &a).sets_held, 2);
        util_dev_close(&t);
    }
    mesh_held_summary_t sum = s_summary(&a);
    assert_true(sum.bytes <= HELD_BYTES_MAX);
    assert_true(sum.dropped_sets >= 2);
    assert_int_equal(s_held_sets(&a, first.id), 0); /* the oldest went first */

    util_dev_t big;
    util_dev_open(&big, "held-b");
    s_write(&big, "c", "k", 5, S_MB, 3); /* one 5 MB set */
    mesh_import_report_t rep = s_xfer(&big, &a);
    assert_int_equal(rep.sets_rejected, 1);
    assert_int_equal(rep.sets_held, 1); /* its genesis */
    assert_int_equal(s_held_sets(&a, big.id), 1);
    mesh_held_summary_t after = s_summary(&a);
    assert_true(after.bytes <= HELD_BYTES_MAX);
    util_dev_close(&big);
    util_dev_close(&first);
    util_dev_close(&a);
}

/* Bad arguments; an empty list; a list as an older version kept it is brought in. */
static mesh_err_t
s_old_record(store_txn_t *txn, void *ctx)
{
    const uint8_t *set = ctx;
    uint8_t id[32], v[32 + 8];
    memset(id, 0x42, sizeof id);
    memset(v, 0x07, 32); /* an origin */
    memcpy(v + 32, set, 8);
    return env_put(txn, ENV_HELD, id, sizeof id, v, sizeof v);
}

static void
test_held_api_and_upgrade(void **state)
{
    (void)state;
    util_dev_t a;
    mesh_held_list_t *list = (mesh_held_list_t *)&list;
    mesh_held_summary_t sum = {.size = 0};
    util_dev_open(&a, "held-a");
    assert_int_equal(mesh_held(NULL, &list), MESH_EINVAL);
    assert_null(list);
    assert_int_equal(mesh_held(a.m, NULL), MESH_EINVAL);
    assert_int_equal(mesh_held_summary(a.m, &sum), MESH_EINVAL);
    assert_int_equal(mesh_held_summary(a.m, NULL), MESH_EINVAL);
    assert_int_equal(mesh_held(a.m, &list), MESH_OK);
    assert_int_equal(mesh_held_list_count(list), 0);
    assert_null(mesh_held_list_get(list, 0));
    mesh_held_list_free(list);
    mesh_held_list_free(NULL);
    assert_int_equal(mesh_held_list_count(NULL), 0);
    /* a summary lent smaller: only what fits is written */
    struct {
        size_t size;
        uint64_t sets;
    } small = {sizeof small, 99};
    assert_int_equal(mesh_held_summary(a.m, (mesh_held_summary_t *)&small), MESH_OK);
    assert_int_equal(small.sets, 0);

    uint8_t set[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    assert_int_equal(store_write(a.m->store, s_old_record, set), MESH_OK);
    assert_int_equal(held_upgrade(a.m), MESH_OK);
    sum = (mesh_held_summary_t){.size = sizeof sum};
    assert_int_equal(mesh_held_summary(a.m, &sum), MESH_OK);
    assert_int_equal(sum.sets, 1);
    assert_int_equal(sum.bytes, 8);
    assert_int_equal(mesh_held(a.m, &list), MESH_OK);
    assert_int_equal(mesh_held_list_count(list), 1);
    assert_int_equal(mesh_held_list_get(list, 0)->bytes, 8);
    mesh_held_list_free(list);
    assert_int_equal(held_upgrade(a.m), MESH_OK); /* once only */
    assert_int_equal(mesh_held_summary(a.m, &sum), MESH_OK);
    assert_int_equal(sum.sets, 1);
    util_dev_close(&a);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_held_release_on_peer_add),
        cmocka_unit_test(test_held_origin_cap_oldest_first),
        cmocka_unit_test(test_held_total_cap_and_too_big),
        cmocka_unit_test(test_held_api_and_upgrade),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
