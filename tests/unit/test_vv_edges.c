/* tests/unit/test_vv_edges.c: a version vector at the top of the seq space (core/data/vv.c).
 * Found by fuzz_apply (tests/fuzz/corpus/apply/crash-vector-base-max): a watermark raised a
 * member's base to 2^64-1 above extras the vector held; s_absorb compared them with base + 1,
 * which wrapped to 0, so they stayed below the base, and the device's vector file no longer
 * decoded (extras must ascend above the base): every export since it, and every peer's
 * reading of its HELLO, failed. Kept apart from the other tests so that it merges alone.
 * Layer: tests. Third-party: cmocka. SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "core/data/vv.h"
#include "meshsync.h"
#include "util.h"

/* Extras below a raise to 2^64-1 are absorbed; the vector then covers every seq. */
static void
test_vv_raise_to_max(void **state)
{
    (void)state;
    vv_t vv;
    vv_init(&vv);
    CHECK_OK(vv_add(&vv, 1));
    CHECK_OK(vv_add(&vv, 3));
    CHECK_OK(vv_add(&vv, 7));
    CHECK_EQ(vv.base, 1);
    CHECK_EQ(vv.count, 2);
    vv_raise(&vv, UINT64_MAX);
    CHECK(vv.base == UINT64_MAX);
    CHECK_EQ(vv.count, 0);
    CHECK(vv_covers(&vv, 2) && vv_covers(&vv, UINT64_MAX));
    CHECK_OK(vv_add(&vv, 5)); /* covered: nothing changes */
    CHECK_EQ(vv.count, 0);
    vv_release(&vv);
}

/* An extra of 2^64-1 right above the base is absorbed like any other. */
static void
test_vv_extra_max(void **state)
{
    (void)state;
    vv_t vv;
    vv_init(&vv);
    CHECK_OK(vv_add(&vv, UINT64_MAX));
    CHECK_EQ(vv.count, 1);
    vv_raise(&vv, UINT64_MAX - 1);
    CHECK(vv.base == UINT64_MAX);
    CHECK_EQ(vv.count, 0);
    vv_release(&vv);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vv_raise_to_max),
        cmocka_unit_test(test_vv_extra_max),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
