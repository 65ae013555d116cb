/* tests/unit/test_cpace.c: unit tests of crypto/cpace.c (CPace, ristretto255, SHA-512).
 * Reproduces the test vectors of draft-irtf-cfrg-cpace-21 Appendix B.3 byte for byte (the
 * generator string's hash, g, Ya, Yb, K, the ISK), refuses the draft's invalid encoding and
 * the identity (B.3.11), and runs whole exchanges: equal ISKs with equal inputs, different
 * ones with a different code, CI, sid or a transcript with swapped shares or ADs; one finish
 * per exchange, whatever its outcome.
 * Layer: tests. Third-party: cmocka, sodium.h (the reference SHA-512, from_hash).
 * SPDX-License-Identifier: MIT */
#include "crypto/cpace.h"

#include <sodium.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* draft-irtf-cfrg-cpace-21, B.3: inputs and outputs as the draft prints them. */
#define V_PRS "Password"
#define V_CI  "0b415f696e69746961746f720b425f726573706f6e646572" /* \x0bA_initiator\x0bB_responder \
                                                                  */
#define V_SID "7e4b4791d6a8ef019b936c79fb7f2c57"
#define V_GEN_STRING                                                                               \
    "11435061636552697374726574746f3235350850617373776f726464"                                     \
    "00000000000000000000000000000000000000000000000000000000"                                     \
    "00000000000000000000000000000000000000000000000000000000"                                     \
    "00000000000000000000000000000000000000000000000000000000"                                     \
    "00000000000000000000000000000000180b415f696e69746961746f"                                     \
    "720b425f726573706f6e646572107e4b4791d6a8ef019b936c79fb7f"                                     \
    "2c57"
#define V_GEN_HASH                                                                                 \
    "da6d3ddc8802fca9058755ffd3ebde08a9c2c74945901a258482a288"                                     \
    "b6663af06bf645c93cd1c51512307199c80e84908916d983b34af772"                                     \
    "05f90851a657ee27"
#define V_G         "222b6b195fe84b1652badb6f6a3ae3d24341e7306967f0b8115b40d5698c7e56"
#define V_ADA       "ADa"
#define V_YA_SCALAR "da3d23700a9e5699258aef94dc060dfda5ebb61f02a5ea77fad53f4ff0976d08"
#define V_YA        "d6bac480f2c386c394efc7c47adb9925dcd2630b64f240c50f8d0eec482b9157"
#define V_ADB       "ADb"
#define V_YB_SCALAR "d2316b454718c35362d83d69df6320f38578ed5984651435e2949762d900b80d"
#define V_YB        "3ea7e0b19560d7c0b0f5734f63b955286dfa8232b5ebe63324e2d9e7433f7258"
#define V_K         "80b69a8a76457ab6a4d7f887a4bf6b55a2f80ac19c333f917a05fc9887c8b40f"
#define V_ISK_IR                                                                                   \
    "b69effbf61b51d56401c0f65601abe428de8206feaaf0e32198896dc"                                     \
    "ae7b35cd2b38950a39dfd5d4a79164614c2984f7daa460b588c1e80c"                                     \
    "3fa2068af7900447"
/* B.3.10 and B.3.11 */
#define V_S       "7cd0e075fa7955ba52c02759a6c90dbbfc10e6d40aea8d283e407d88cf538a05"
#define V_X       "2c3c6b8c4f3800e7aef6864025b4ed79bd599117e427c41bd47d93d654b4a51c"
#define V_SX      "7c13645fe790a468f62c39beb7388e541d8405d1ade69d1778c5fe3e7f6b600e"
#define V_INVALID "2b3c6b8c4f3800e7aef6864025b4ed79bd599117e427c41bd47d93d654b4a51c"

/* Decode hex into out (at most cap bytes); returns the length. */
static size_t
s_hex(const char *hex, uint8_t *out, size_t cap)
{
    size_t len = 0;

    assert_int_equal(sodium_hex2bin(out, cap, hex, strlen(hex), NULL, &len, NULL), 0);
    return len;
}

static void
test_cpace_generator_matches_draft(void **state)
{
    uint8_t gen_string[256], hash[64], want_hash[64], g[32], want_g[32], ci[64], sid[16];
    size_t gen_len = s_hex(V_GEN_STRING, gen_string, sizeof(gen_string));
    size_t ci_len = s_hex(V_CI, ci, sizeof(ci));
    size_t sid_len = s_hex(V_SID, sid, sizeof(sid));

    (void)state;
    /* The draft's generator string hashes to its hash result, which maps to its g: checks
     * that the draft's text was copied right and that from_hash is its element derivation. */
    assert_int_equal(gen_len, 170);
    crypto_hash_sha512(hash, gen_string, gen_len);
    s_hex(V_GEN_HASH, want_hash, sizeof(want_hash));
    assert_memory_equal(hash, want_hash, 64);
    s_hex(V_G, want_g, sizeof(want_g));
    crypto_core_ristretto255_from_hash(g, hash);
    assert_memory_equal(g, want_g, 32);

    /* Ours builds the same string from PRS, CI and sid. */
    memset(g, 0, sizeof(g));
    assert_int_equal(
        cpace_generator((const uint8_t *)V_PRS, strlen(V_PRS), ci, ci_len, sid, sid_len, g),
        MESH_OK);
    assert_memory_equal(g, want_g, 32);
}

static void
test_cpace_shares_k_and_isk_match_draft(void **state)
{
    uint8_t g[32], ya[32], yb[32], want[64], out[64], k1[32], k2[32], isk[64], sid[16];
    size_t sid_len = s_hex(V_SID, sid, sizeof(sid));

    (void)state;
    s_hex(V_G, g, sizeof(g));
    s_hex(V_YA_SCALAR, ya, sizeof(ya));
    s_hex(V_YB_SCALAR, yb, sizeof(yb));

    /* Ya = scalar_mult(ya, g), Yb = scalar_mult(yb, g) */
    assert_int_equal(cpace_scalar_mult_vfy(ya, g, out), MESH_OK);
    s_hex(V_YA, want, sizeof(want));
    assert_memory_equal(out, want, 32);
    assert_int_equal(cpace_scalar_mult_vfy(yb, g, out), MESH_OK);
    s_hex(V_YB, want, sizeof(want));
    assert_memory_equal(out, want, 32);

    /* K from both sides */
    s_hex(V_YB, out, sizeof(out));
    assert_int_equal(cpace_scalar_mult_vfy(ya, out, k1), MESH_OK);
    s_hex(V_YA, out, sizeof(out));
    assert_int_equal(cpace_scalar_mult_vfy(yb, out, k2), MESH_OK);
    s_hex(V_K, want, sizeof(want));
    assert_memory_equal(k1, want, 32);
    assert_memory_equal(k2, want, 32);

    /* ISK, initiator-responder */
    {
        uint8_t pa[32], pb[32];

        s_hex(V_YA, pa, sizeof(pa));
        s_hex(V_YB, pb, sizeof(pb));
        assert_int_equal(cpace_isk(sid, sid_len, k1, pa, (const uint8_t *)V_ADA, 3, pb,
                                   (const uint8_t *)V_ADB, 3, isk),
                         MESH_OK);
        s_hex(V_ISK_IR, want, sizeof(want));
        assert_memory_equal(isk, want, 64);
    }
}

static void
test_cpace_scalar_mult_valid_input(void **state)
{
    uint8_t s[32], x[32], want[32], out[32];

    (void)state;
    s_hex(V_S, s, sizeof(s));
    s_hex(V_X, x, sizeof(x));
    s_hex(V_SX, want, sizeof(want));
    assert_int_equal(cpace_scalar_mult_vfy(s, x, out), MESH_OK);
    assert_memory_equal(out, want, 32);
}

static void
test_cpace_refuses_invalid_and_identity(void **state)
{
    static const uint8_t zero[32];
    uint8_t s[32], bad[32], out[32];
    size_t i;

    (void)state;
    s_hex(V_S, s, sizeof(s));
    /* B.3.11: Y_i1, not a valid encoding, and Y_i2, the identity */
    s_hex(V_INVALID, bad, sizeof(bad));
    assert_false(crypto_core_ristretto255_is_valid_point(bad));
    memset(out, 0xa5, sizeof(out));
    assert_int_equal(cpace_scalar_mult_vfy(s, bad, out), MESH_EPROTO);
    assert_memory_equal(out, zero, 32); /* G.I, and no half-result left behind */
    memset(out, 0xa5, sizeof(out));
    assert_int_equal(cpace_scalar_mult_vfy(s, zero, out), MESH_EPROTO);
    assert_memory_equal(out, zero, 32);
    /* Non-canonical: the field prime p = 2^255 - 19 itself, and a high bit set. */
    memset(bad, 0xff, sizeof(bad));
    bad[0] = 0xed;
    bad[31] = 0x7f;
    assert_int_equal(cpace_scalar_mult_vfy(s, bad, out), MESH_EPROTO);
    s_hex(V_X, bad, sizeof(bad));
    bad[31] |= 0x80;
    assert_int_equal(cpace_scalar_mult_vfy(s, bad, out), MESH_EPROTO);
    /* A zero scalar makes the identity of a valid point: refused too. */
    s_hex(V_X, bad, sizeof(bad));
    memset(s, 0, sizeof(s));
    assert_int_equal(cpace_scalar_mult_vfy(s, bad, out), MESH_EPROTO);
    /* Every all-equal byte string but a few is invalid; none may crash or pass as G.I. */
    for (i = 0; i < 256; i++) {
        memset(bad, (int)i, sizeof(bad));
        s_hex(V_S, s, sizeof(s));
        if (cpace_scalar_mult_vfy(s, bad, out) == MESH_OK) {
            assert_memory_not_equal(out, zero, 32);
        }
    }
}

static void
test_cpace_isk_binds_order_of_transcript(void **state)
{
    uint8_t k[32], ya[32], yb[32], sid[16], isk[64], swapped[64];
    size_t sid_len = s_hex(V_SID, sid, sizeof(sid));
    const uint8_t *ada = (const uint8_t *)V_ADA, *adb = (const uint8_t *)V_ADB;

    (void)state;
    s_hex(V_K, k, sizeof(k));
    s_hex(V_YA, ya, sizeof(ya));
    s_hex(V_YB, yb, sizeof(yb));
    assert_int_equal(cpace_isk(sid, sid_len, k, ya, ada, 3, yb, adb, 3, isk), MESH_OK);
    /* shares and ADs swapped (B's view taken for A's) */
    assert_int_equal(cpace_isk(sid, sid_len, k, yb, adb, 3, ya, ada, 3, swapped), MESH_OK);
    assert_memory_not_equal(isk, swapped, 64);
    /* shares swapped alone, ADs swapped alone */
    assert_int_equal(cpace_isk(sid, sid_len, k, yb, ada, 3, ya, adb, 3, swapped), MESH_OK);
    assert_memory_not_equal(isk, swapped, 64);
    assert_int_equal(cpace_isk(sid, sid_len, k, ya, adb, 3, yb, ada, 3, swapped), MESH_OK);
    assert_memory_not_equal(isk, swapped, 64);
    /* moving a byte from one AD to the next field: lv_cat keeps the boundary */
    assert_int_equal(cpace_isk(sid, sid_len, k, ya, ada, 2, yb, adb, 3, swapped), MESH_OK);
    assert_memory_not_equal(isk, swapped, 64);
}

/* Run a whole exchange: A with (prs_a, ci_a, sid_a, ada), B with its own; returns whether
 * both finished; isk_a and isk_b receive the ISKs (or zeros). */
static int
s_exchange(const char *prs_a, const char *prs_b, const char *ci_a, const char *ci_b,
           const char *sid_a, const char *sid_b, const char *ada, const char *adb, uint8_t *isk_a,
           uint8_t *isk_b)
{
    cpace_t *a = NULL, *b = NULL;
    int ok;

    memset(isk_a, 0, CPACE_ISK_LEN);
    memset(isk_b, 0, CPACE_ISK_LEN);
    assert_int_equal(cpace_new(CPACE_INITIATOR, (const uint8_t *)prs_a, strlen(prs_a),
                               (const uint8_t *)ci_a, strlen(ci_a), (const uint8_t *)sid_a,
                               strlen(sid_a), (const uint8_t *)ada, strlen(ada), &a),
                     MESH_OK);
    assert_int_equal(cpace_new(CPACE_RESPONDER, (const uint8_t *)prs_b, strlen(prs_b),
                               (const uint8_t *)ci_b, strlen(ci_b), (const uint8_t *)sid_b,
                               strlen(sid_b), (const uint8_t *)adb, strlen(adb), &b),
                     MESH_OK);
    assert_null(cpace_isk_get(a));
    ok = cpace_finish(b, cpace_share(a), CPACE_POINT_LEN, (const uint8_t *)ada, strlen(ada)) ==
             MESH_OK &&
         cpace_finish(a, cpace_share(b), CPACE_POINT_LEN, (const uint8_t *)adb, strlen(adb)) ==
             MESH_OK;
    if (ok) {
        memcpy(isk_a, cpace_isk_get(a), CPACE_ISK_LEN);
        memcpy(isk_b, cpace_isk_get(b), CPACE_ISK_LEN);
    }
    cpace_free(a);
    cpace_free(b);
    return ok;
}

static void
test_cpace_exchange_agrees_only_on_equal_inputs(void **state)
{
    uint8_t a[CPACE_ISK_LEN], b[CPACE_ISK_LEN], first[CPACE_ISK_LEN];

    (void)state;
    assert_true(s_exchange("crystal-ladder-orbit", "crystal-ladder-orbit", "ci", "ci", "sid", "sid",
                           "ADa", "ADb", a, b));
    assert_memory_equal(a, b, CPACE_ISK_LEN);
    memcpy(first, a, sizeof(first));
    /* fresh scalars: a second run with the same inputs gives another key */
    assert_true(s_exchange("crystal-ladder-orbit", "crystal-ladder-orbit", "ci", "ci", "sid", "sid",
                           "ADa", "ADb", a, b));
    assert_memory_equal(a, b, CPACE_ISK_LEN);
    assert_memory_not_equal(a, first, CPACE_ISK_LEN);
    /* one wrong word, a different CI, a different sid: both finish, the keys differ */
    assert_true(s_exchange("crystal-ladder-orbit", "crystal-ladder-otter", "ci", "ci", "sid", "sid",
                           "ADa", "ADb", a, b));
    assert_memory_not_equal(a, b, CPACE_ISK_LEN);
    assert_true(s_exchange("crystal-ladder-orbit", "crystal-ladder-orbit", "ci", "cj", "sid", "sid",
                           "ADa", "ADb", a, b));
    assert_memory_not_equal(a, b, CPACE_ISK_LEN);
    assert_true(s_exchange("crystal-ladder-orbit", "crystal-ladder-orbit", "ci", "ci", "sid", "sie",
                           "ADa", "ADb", a, b));
    assert_memory_not_equal(a, b, CPACE_ISK_LEN);
}

static void
test_cpace_exchange_swapped_ads_disagree(void **state)
{
    cpace_t *a = NULL, *b = NULL;
    const uint8_t *prs = (const uint8_t *)"acid-zebra-piano";

    (void)state;
    assert_int_equal(
        cpace_new(CPACE_INITIATOR, prs, 16, NULL, 0, NULL, 0, (const uint8_t *)"keys-of-A", 9, &a),
        MESH_OK);
    assert_int_equal(
        cpace_new(CPACE_RESPONDER, prs, 16, NULL, 0, NULL, 0, (const uint8_t *)"keys-of-B", 9, &b),
        MESH_OK);
    /* B is told that A's AD is B's own (a relay swapping the keys): both finish, and the
     * ISKs differ, so the confirmation that follows fails. */
    assert_int_equal(cpace_finish(b, cpace_share(a), 32, (const uint8_t *)"keys-of-B", 9), MESH_OK);
    assert_int_equal(cpace_finish(a, cpace_share(b), 32, (const uint8_t *)"keys-of-B", 9), MESH_OK);
    assert_memory_not_equal(cpace_isk_get(a), cpace_isk_get(b), CPACE_ISK_LEN);
    cpace_free(a);
    cpace_free(b);
}

static void
test_cpace_finish_once_and_refuses_bad_shares(void **state)
{
    static const uint8_t zero[32];
    cpace_t *a = NULL, *b = NULL;
    const uint8_t *prs = (const uint8_t *)"acid-zebra-piano";
    uint8_t share[32];

    (void)state;
    /* the identity: refused, and the exchange is spent */
    assert_int_equal(cpace_new(CPACE_INITIATOR, prs, 16, NULL, 0, NULL, 0, NULL, 0, &a), MESH_OK);
    assert_int_equal(cpace_finish(a, zero, 32, NULL, 0), MESH_EPROTO);
    assert_null(cpace_isk_get(a));
    assert_null(cpace_transcript_share(a, CPACE_INITIATOR));
    assert_int_equal(cpace_new(CPACE_RESPONDER, prs, 16, NULL, 0, NULL, 0, NULL, 0, &b), MESH_OK);
    assert_int_equal(cpace_finish(a, cpace_share(b), 32, NULL, 0), MESH_ESTATE);
    cpace_free(a);
    a = NULL;

    /* a wrong length, an invalid encoding, our own share reflected, an oversized AD */
    assert_int_equal(cpace_new(CPACE_INITIATOR, prs, 16, NULL, 0, NULL, 0, NULL, 0, &a), MESH_OK);
    assert_int_equal(cpace_finish(a, cpace_share(b), 31, NULL, 0), MESH_EPROTO);
    cpace_free(a);
    assert_int_equal(cpace_new(CPACE_INITIATOR, prs, 16, NULL, 0, NULL, 0, NULL, 0, &a), MESH_OK);
    s_hex(V_INVALID, share, sizeof(share));
    assert_int_equal(cpace_finish(a, share, 32, NULL, 0), MESH_EPROTO);
    cpace_free(a);
    assert_int_equal(cpace_new(CPACE_INITIATOR, prs, 16, NULL, 0, NULL, 0, NULL, 0, &a), MESH_OK);
    memcpy(share, cpace_share(a), 32);
    assert_int_equal(cpace_finish(a, share, 32, NULL, 0), MESH_EPROTO);
    cpace_free(a);
    assert_int_equal(cpace_new(CPACE_INITIATOR, prs, 16, NULL, 0, NULL, 0, NULL, 0, &a), MESH_OK);
    {
        uint8_t *big = calloc(1, CPACE_INPUT_MAX + 1);

        assert_non_null(big);
        assert_int_equal(cpace_finish(a, cpace_share(b), 32, big, CPACE_INPUT_MAX + 1),
                         MESH_ETOOBIG);
        free(big);
    }
    cpace_free(a);
    /* b is still good: a fresh initiator completes with it */
    assert_int_equal(cpace_new(CPACE_INITIATOR, prs, 16, NULL, 0, NULL, 0, NULL, 0, &a), MESH_OK);
    assert_int_equal(cpace_finish(b, cpace_share(a), 32, NULL, 0), MESH_OK);
    assert_int_equal(cpace_finish(a, cpace_share(b), 32, NULL, 0), MESH_OK);
    assert_memory_equal(cpace_isk_get(a), cpace_isk_get(b), CPACE_ISK_LEN);
    assert_int_equal(cpace_finish(a, cpace_share(b), 32, NULL, 0), MESH_ESTATE);
    assert_non_null(cpace_isk_get(a)); /* a spent call leaves the finished state alone */
    cpace_free(a);
    cpace_free(b);
    cpace_free(NULL);
}

static void
test_cpace_new_checks_arguments(void **state)
{
    cpace_t *c = (cpace_t *)1;
    uint8_t *big = calloc(1, CPACE_INPUT_MAX + 1);
    uint8_t g[32];

    (void)state;
    assert_non_null(big);
    assert_int_equal(cpace_new(CPACE_INITIATOR, big, 0, NULL, 0, NULL, 0, NULL, 0, &c),
                     MESH_EINVAL);
    assert_null(c);
    assert_int_equal(
        cpace_new(CPACE_INITIATOR, big, CPACE_INPUT_MAX + 1, NULL, 0, NULL, 0, NULL, 0, &c),
        MESH_EINVAL);
    assert_int_equal(cpace_new((cpace_role_t)2, big, 4, NULL, 0, NULL, 0, NULL, 0, &c),
                     MESH_EINVAL);
    assert_int_equal(
        cpace_new(CPACE_INITIATOR, big, 4, big, CPACE_INPUT_MAX + 1, NULL, 0, NULL, 0, &c),
        MESH_EINVAL);
    assert_null(c);
    /* the longest PRS, CI and sid are taken; a PRS over one block gets no padding */
    assert_int_equal(
        cpace_generator(big, CPACE_INPUT_MAX, big, CPACE_INPUT_MAX, big, CPACE_INPUT_MAX, g),
        MESH_OK);
    assert_true(crypto_core_ristretto255_is_valid_point(g));
    free(big);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cpace_generator_matches_draft),
        cmocka_unit_test(test_cpace_shares_k_and_isk_match_draft),
        cmocka_unit_test(test_cpace_scalar_mult_valid_input),
        cmocka_unit_test(test_cpace_refuses_invalid_and_identity),
        cmocka_unit_test(test_cpace_isk_binds_order_of_transcript),
        cmocka_unit_test(test_cpace_exchange_agrees_only_on_equal_inputs),
        cmocka_unit_test(test_cpace_exchange_swapped_ads_disagree),
        cmocka_unit_test(test_cpace_finish_once_and_refuses_bad_shares),
        cmocka_unit_test(test_cpace_new_checks_arguments),
    };

    if (sodium_init() < 0)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
