/* tests/unit/test_curveid.c: unit tests of crypto/curveid.c: for 200 fresh identities, one
 * of the two candidates of the CURVE key is the identity's own public key, and the other
 * differs only in the sign bit; u = -1 is refused.
 * Layer: tests. Third-party: cmocka. SPDX-License-Identifier: MIT */
#include "crypto/curveid.h"
#include "crypto/ident.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

static void
test_candidates_hold_the_key(void **state)
{
    (void)state;
    assert_int_equal(ident_lib_init(), MESH_OK);
    for (int i = 0; i < 200; i++) {
        ident_t *id = NULL;
        uint8_t curve[IDENT_CURVE_LEN], a[CURVEID_KEY_LEN], b[CURVEID_KEY_LEN];
        assert_int_equal(ident_generate(&id), MESH_OK);
        const uint8_t *pk = ident_public_key(id);
        assert_int_equal(ident_curve_public(pk, curve), MESH_OK);
        assert_int_equal(curveid_candidates(curve, a, b), MESH_OK);
        assert_true(memcmp(a, pk, CURVEID_KEY_LEN) == 0 || memcmp(b, pk, CURVEID_KEY_LEN) == 0);
        assert_memory_equal(a, b, CURVEID_KEY_LEN - 1);
        assert_int_equal(a[31] | 0x80, b[31]);
        ident_free(id);
    }
}

static void
test_minus_one_refused(void **state)
{
    (void)state;
    /* p - 1 = 2^255 - 20, little-endian */
    uint8_t u[CURVEID_KEY_LEN], a[CURVEID_KEY_LEN], b[CURVEID_KEY_LEN], zero[CURVEID_KEY_LEN];
    memset(u, 0xff, sizeof u);
    memset(zero, 0, sizeof zero);
    u[0] = 0xec;
    u[31] = 0x7f;
    assert_int_equal(curveid_candidates(u, a, b), MESH_EINVAL);
    assert_memory_equal(a, zero, sizeof zero);
    assert_memory_equal(b, zero, sizeof zero);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_candidates_hold_the_key),
        cmocka_unit_test(test_minus_one_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
