/* tests/unit/test_frecord.c: unit tests of core/wire/frecord.c, the folder record under the
 * reserved key of a folder's index (docs/PROTOCOL.md §18.5): the reserved key is no path
 * (§18.3); the layout byte for byte; a round trip at each integer form; every truncation, a
 * trailing byte, another version, a non-shortest integer and another type refused with a
 * zeroed output; no read past the input (a PROT_NONE fence).
 * Layer: tests. Third-party: cmocka. SPDX-License-Identifier: MIT */
#include "core/wire/frecord.h"

#include "fs/path.h"

#include "util.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

static void
test_frecord_key_is_no_path(void **state)
{
    (void)state;
    const char *k = WIRE_FRECORD_KEY;
    assert_true(wire_frecord_is_key(k, strlen(k)));
    assert_false(wire_frecord_is_key(k, strlen(k) - 1));
    assert_false(wire_frecord_is_key(".meshsync/folder/x", 18));
    assert_false(wire_frecord_is_key("folder", 6));
    assert_false(wire_frecord_is_key(NULL, 0));
    assert_int_not_equal(path_check(k, strlen(k), NULL, 0), MESH_OK);
}

static void
test_frecord_layout(void **state)
{
    (void)state;
    static const uint8_t want[] = {0x92, 0x01, 0xce, 0x69, 0x32, 0x8a, 0x00};
    wire_frecord_t r = {.created = 0x69328a00u};
    wire_buf_t out;
    wire_buf_init(&out);
    assert_int_equal(wire_frecord_encode(&r, &out), MESH_OK);
    assert_int_equal(out.len, sizeof want);
    assert_memory_equal(out.data, want, sizeof want);
    wire_buf_release(&out);
    assert_int_equal(wire_frecord_encode(NULL, &out), MESH_EINVAL);
}

static void
test_frecord_round_trip(void **state)
{
    (void)state;
    static const uint64_t values[] = {0,      0x7f,    0x80,        0xff,           0x100,
                                      0xffff, 0x10000, 0xffffffffu, 0x100000000ull, UINT64_MAX};
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        wire_frecord_t r = {.created = values[i]}, d;
        wire_buf_t out;
        util_fence_t fence;
        wire_buf_init(&out);
        assert_int_equal(wire_frecord_encode(&r, &out), MESH_OK);
        util_fence_init(&fence, out.len);
        const uint8_t *p = util_fence_put(&fence, out.data, out.len);
        assert_int_equal(wire_frecord_decode(p, out.len, &d), MESH_OK);
        assert_true(d.created == values[i]);
        for (size_t cut = 0; cut < out.len; cut++) { /* every truncation */
            p = util_fence_put(&fence, out.data, cut);
            assert_int_equal(wire_frecord_decode(p, cut, &d), MESH_EPROTO);
            assert_true(d.created == 0);
        }
        util_fence_release(&fence);
        wire_buf_release(&out);
    }
}

/* Each of these is refused, the output zeroed. */
static void
test_frecord_refused(void **state)
{
    (void)state;
    static const struct {
        const char *why;
        uint8_t bytes[12];
        size_t len;
    } bad[] = {
        {"a trailing byte", {0x92, 0x01, 0x05, 0x00}, 4},
        {"version 2", {0x92, 0x02, 0x05}, 3},
        {"version 0", {0x92, 0x00, 0x05}, 3},
        {"three fields", {0x93, 0x01, 0x05, 0x05}, 4},
        {"one field", {0x91, 0x01}, 2},
        {"created not shortest", {0x92, 0x01, 0xcc, 0x05}, 4},
        {"version not shortest", {0x92, 0xcc, 0x01, 0x05}, 4},
        {"created negative", {0x92, 0x01, 0xff}, 3},
        {"created a string", {0x92, 0x01, 0xa1, 'x'}, 4},
        {"a map", {0x82, 0x01, 0x05, 0x02, 0x05}, 5},
        {"text", {'n', 'o', 't', ' ', 'a', ' ', 'r', 'e', 'c', 'o', 'r', 'd'}, 12},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        wire_frecord_t d = {.created = 7};
        if (wire_frecord_decode(bad[i].bytes, bad[i].len, &d) != MESH_EPROTO) {
            fail_msg("not refused: %s", bad[i].why);
        }
        assert_true(d.created == 0);
    }
    wire_frecord_t d = {.created = 7};
    assert_int_equal(wire_frecord_decode(NULL, 0, &d), MESH_EPROTO);
    assert_true(d.created == 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_frecord_key_is_no_path),
        cmocka_unit_test(test_frecord_layout),
        cmocka_unit_test(test_frecord_round_trip),
        cmocka_unit_test(test_frecord_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
