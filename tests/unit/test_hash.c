/* tests/unit/test_hash.c: unit tests of crypto/hash.c (tagged BLAKE2b, Merkle trees).
 * Checks the recursive Merkle root against a plain level-by-level reference, every proof of
 * small trees, and the rejection of tampered leaves, proofs, indexes and lengths.
 * Layer: tests. Third-party: cmocka, sodium.h (the reference hash). SPDX-License-Identifier: MIT */
#include "crypto/hash.h"

#include <sodium.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define S_ROOT_N_MAX  300u /* roots checked against the reference for n = 1..this */
#define S_PROOF_N_MAX 70u  /* every proof checked for n = 1..this */

/* The const view of a hash array that the hash_merkle_* calls take. */
#define S_CONST(hashes) ((const uint8_t(*)[HASH_LEN])(hashes))

/* Leaf i: LEAF(i as 4 bytes), distinct for every i. */
static void
s_make_leaves(uint8_t (*leaves)[HASH_LEN], size_t n)
{
    uint8_t msg[4];
    size_t i;

    for (i = 0; i < n; i++) {
        msg[0] = (uint8_t)(i >> 24);
        msg[1] = (uint8_t)(i >> 16);
        msg[2] = (uint8_t)(i >> 8);
        msg[3] = (uint8_t)i;
        hash_tagged(HASH_TAG_LEAF, msg, sizeof(msg), leaves[i]);
    }
}

/* BLAKE2b-256(0x01 || left || right), straight from libsodium. */
static void
s_ref_node(const uint8_t *left, const uint8_t *right, uint8_t *out)
{
    uint8_t buf[1 + 2 * HASH_LEN];

    buf[0] = 0x01;
    memcpy(buf + 1, left, HASH_LEN);
    memcpy(buf + 1 + HASH_LEN, right, HASH_LEN);
    crypto_generichash(out, HASH_LEN, buf, sizeof(buf), NULL, 0);
}

/* The documented shape, literally: hash pairs level by level, carry an odd last hash up. */
static void
s_ref_root(const uint8_t (*leaves)[HASH_LEN], size_t n, uint8_t *root)
{
    uint8_t(*level)[HASH_LEN] = malloc(n * HASH_LEN);
    size_t count = n;
    size_t i;

    assert_non_null(level);
    memcpy(level, leaves, n * HASH_LEN);
    while (count > 1) {
        for (i = 0; i + 1 < count; i += 2) {
            s_ref_node(level[i], level[i + 1], level[i / 2]);
        }
        if (count % 2 == 1) {
            memcpy(level[count / 2], level[count - 1], HASH_LEN);
        }
        count = (count + 1) / 2;
    }
    memcpy(root, level[0], HASH_LEN);
    free(level);
}

static void
test_hash_tagged_matches_blake2b(void **state)
{
    const uint8_t msg[] = "meshsync";
    uint8_t buf[1 + sizeof(msg)];
    uint8_t expect[HASH_LEN];
    uint8_t got[HASH_LEN];

    (void)state;
    buf[0] = HASH_TAG_VALUE;
    memcpy(buf + 1, msg, sizeof(msg));
    crypto_generichash(expect, HASH_LEN, buf, sizeof(buf), NULL, 0);
    hash_tagged(HASH_TAG_VALUE, msg, sizeof(msg), got);
    assert_memory_equal(expect, got, HASH_LEN);
}

static void
test_hash_tags_separate_domains(void **state)
{
    const enum hash_tag tags[] = {HASH_TAG_LEAF,   HASH_TAG_NODE, HASH_TAG_VALUE,
                                  HASH_TAG_DIGEST, HASH_TAG_KEY,  HASH_TAG_BLOCK};
    const size_t count = sizeof(tags) / sizeof(tags[0]);
    uint8_t out[sizeof(tags) / sizeof(tags[0])][HASH_LEN];
    size_t i;
    size_t j;

    (void)state;
    for (i = 0; i < count; i++) {
        hash_tagged(tags[i], "same message", 12, out[i]);
    }
    for (i = 0; i < count; i++) {
        for (j = i + 1; j < count; j++) {
            assert_memory_not_equal(out[i], out[j], HASH_LEN);
        }
    }
}

static void
test_hash_incremental_equals_one_shot(void **state)
{
    uint8_t msg[1000];
    uint8_t one_shot[HASH_LEN];
    uint8_t pieces[HASH_LEN];
    hash_state_t st;
    size_t cut;

    (void)state;
    for (cut = 0; cut < sizeof(msg); cut++) {
        msg[cut] = (uint8_t)(cut * 7 + 3);
    }
    hash_tagged(HASH_TAG_DIGEST, msg, sizeof(msg), one_shot);
    for (cut = 0; cut <= sizeof(msg); cut += 37) {
        hash_init(&st, HASH_TAG_DIGEST);
        hash_update(&st, msg, cut);
        hash_update(&st, NULL, 0);
        hash_update(&st, msg + cut, sizeof(msg) - cut);
        hash_final(&st, pieces);
        assert_memory_equal(one_shot, pieces, HASH_LEN);
    }
}

static void
test_hash_merkle_root_matches_reference(void **state)
{
    uint8_t(*leaves)[HASH_LEN] = malloc(S_ROOT_N_MAX * HASH_LEN);
    uint8_t expect[HASH_LEN];
    uint8_t got[HASH_LEN];
    size_t n;

    (void)state;
    assert_non_null(leaves);
    s_make_leaves(leaves, S_ROOT_N_MAX);
    for (n = 1; n <= S_ROOT_N_MAX; n++) {
        s_ref_root(S_CONST(leaves), n, expect);
        hash_merkle_root(S_CONST(leaves), n, got);
        assert_memory_equal(expect, got, HASH_LEN);
    }
    free(leaves);
}

static void
test_hash_merkle_root_small_shapes(void **state)
{
    uint8_t leaves[3][HASH_LEN];
    uint8_t ab[HASH_LEN];
    uint8_t expect[HASH_LEN];
    uint8_t got[HASH_LEN];

    (void)state;
    s_make_leaves(leaves, 3);
    hash_merkle_root(S_CONST(leaves), 1, got);
    assert_memory_equal(leaves[0], got, HASH_LEN);

    /* n = 3: NODE(NODE(a, b), c), c carried up unchanged. */
    s_ref_node(leaves[0], leaves[1], ab);
    s_ref_node(ab, leaves[2], expect);
    hash_merkle_root(S_CONST(leaves), 3, got);
    assert_memory_equal(expect, got, HASH_LEN);
}

static void
test_hash_merkle_root_large(void **state)
{
    /* around the 256-leaf chunks made level by level, and past a set's 65,536 ops */
    static const size_t ns[] = {511, 512, 513, 4097, 65535, 65536, 65537, 100000};
    const size_t n_max = 100000;
    uint8_t(*leaves)[HASH_LEN] = malloc(n_max * HASH_LEN);
    uint8_t expect[HASH_LEN];
    uint8_t got[HASH_LEN];

    (void)state;
    assert_non_null(leaves);
    s_make_leaves(leaves, n_max);
    for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++) {
        s_ref_root(S_CONST(leaves), ns[i], expect);
        hash_merkle_root(S_CONST(leaves), ns[i], got);
        assert_memory_equal(expect, got, HASH_LEN);
    }
    free(leaves);
}

/* The proof length the level-by-level shape gives: one per level where the node has a
 * sibling, i.e. is not the odd last node. */
static size_t
s_ref_proof_len(size_t index, size_t n)
{
    size_t len = 0;

    while (n > 1) {
        if (!(index == n - 1 && n % 2 == 1)) {
            len++;
        }
        index /= 2;
        n = (n + 1) / 2;
    }
    return len;
}

static void
test_hash_merkle_every_proof_verifies(void **state)
{
    uint8_t leaves[S_PROOF_N_MAX][HASH_LEN];
    uint8_t proof[HASH_PROOF_MAX][HASH_LEN];
    uint8_t root[HASH_LEN];
    size_t proof_len;
    size_t n;
    size_t i;

    (void)state;
    s_make_leaves(leaves, S_PROOF_N_MAX);
    for (n = 1; n <= S_PROOF_N_MAX; n++) {
        hash_merkle_root(S_CONST(leaves), n, root);
        for (i = 0; i < n; i++) {
            assert_int_equal(hash_merkle_proof(S_CONST(leaves), n, i, proof, &proof_len), MESH_OK);
            assert_int_equal(proof_len, s_ref_proof_len(i, n));
            assert_int_equal(hash_merkle_verify(leaves[i], i, n, S_CONST(proof), proof_len, root),
                             MESH_OK);
        }
    }
}

/* Verify leaf i of n with every kind of tampering; each must fail with MESH_EDIGEST. */
static void
s_check_tampering(uint8_t (*leaves)[HASH_LEN], size_t n, size_t i, const uint8_t *root)
{
    uint8_t proof[HASH_PROOF_MAX + 1][HASH_LEN];
    uint8_t leaf[HASH_LEN];
    uint8_t bad_root[HASH_LEN];
    size_t len;
    size_t k;

    assert_int_equal(hash_merkle_proof(S_CONST(leaves), n, i, proof, &len), MESH_OK);
    memcpy(leaf, leaves[i], HASH_LEN);
    leaf[HASH_LEN - 1] ^= 0x01;
    assert_int_equal(hash_merkle_verify(leaf, i, n, S_CONST(proof), len, root), MESH_EDIGEST);
    for (k = 0; k < len; k++) {
        proof[k][k % HASH_LEN] ^= 0x80;
        assert_int_equal(hash_merkle_verify(leaves[i], i, n, S_CONST(proof), len, root),
                         MESH_EDIGEST);
        proof[k][k % HASH_LEN] ^= 0x80;
    }
    if (n > 1) {
        assert_int_equal(hash_merkle_verify(leaves[i], (i + 1) % n, n, S_CONST(proof), len, root),
                         MESH_EDIGEST);
    }
    /* n is bound only through the shape: a leaf count that moves the path must fail. */
    if (s_ref_proof_len(i, n + 1) != len) {
        assert_int_equal(hash_merkle_verify(leaves[i], i, n + 1, S_CONST(proof), len, root),
                         MESH_EDIGEST);
    }
    if (len > 0) {
        assert_int_equal(hash_merkle_verify(leaves[i], i, n, S_CONST(proof), len - 1, root),
                         MESH_EDIGEST);
    }
    memset(proof[len], 0, HASH_LEN);
    assert_int_equal(hash_merkle_verify(leaves[i], i, n, S_CONST(proof), len + 1, root),
                     MESH_EDIGEST);
    memcpy(bad_root, root, HASH_LEN);
    bad_root[0] ^= 0x01;
    assert_int_equal(hash_merkle_verify(leaves[i], i, n, S_CONST(proof), len, bad_root),
                     MESH_EDIGEST);
    /* After all that, the untouched proof still verifies. */
    assert_int_equal(hash_merkle_verify(leaves[i], i, n, S_CONST(proof), len, root), MESH_OK);
}

static void
test_hash_merkle_rejects_tampering(void **state)
{
    uint8_t leaves[S_PROOF_N_MAX][HASH_LEN];
    uint8_t root[HASH_LEN];
    size_t n;
    size_t i;

    (void)state;
    s_make_leaves(leaves, S_PROOF_N_MAX);
    for (n = 1; n <= S_PROOF_N_MAX; n++) {
        hash_merkle_root(S_CONST(leaves), n, root);
        for (i = 0; i < n; i++) {
            s_check_tampering(leaves, n, i, root);
        }
    }
}

static void
test_hash_merkle_rejects_bad_arguments(void **state)
{
    uint8_t leaves[4][HASH_LEN];
    uint8_t proof[HASH_PROOF_MAX][HASH_LEN];
    uint8_t root[HASH_LEN];
    size_t proof_len = 99;

    (void)state;
    s_make_leaves(leaves, 4);
    hash_merkle_root(S_CONST(leaves), 4, root);
    assert_int_equal(hash_merkle_proof(S_CONST(leaves), 4, 4, proof, &proof_len), MESH_EINVAL);
    assert_int_equal(proof_len, 0);
    proof_len = 99;
    assert_int_equal(hash_merkle_proof(S_CONST(leaves), 0, 0, proof, &proof_len), MESH_EINVAL);
    assert_int_equal(proof_len, 0);
    assert_int_equal(hash_merkle_proof(NULL, 4, 0, proof, &proof_len), MESH_EINVAL);
    assert_int_equal(hash_merkle_verify(leaves[0], 4, 4, S_CONST(proof), 2, root), MESH_EDIGEST);
    assert_int_equal(hash_merkle_verify(leaves[0], 0, 0, S_CONST(proof), 0, root), MESH_EDIGEST);
    /* A single leaf is its own root, with an empty proof. */
    assert_int_equal(hash_merkle_verify(leaves[0], 0, 1, NULL, 0, leaves[0]), MESH_OK);
}

/* Many proofs from one pass equal the proofs taken one by one, for every shape up to 130. */
static void
test_hash_merkle_proofs_equal_single_proofs(void **state)
{
    enum { N = 130 };
    static uint8_t leaves[N][HASH_LEN];
    static uint8_t many[N * HASH_PROOF_MAX][HASH_LEN];
    uint8_t one[HASH_PROOF_MAX][HASH_LEN];
    size_t idx[N], lens[N], len = 0;
    (void)state;
    s_make_leaves(leaves, N);
    for (size_t n = 1; n <= N; n++) {
        for (size_t i = 0; i < n; i++) {
            idx[i] = n - 1 - i; /* any order */
        }
        assert_int_equal(hash_merkle_proofs((const uint8_t(*)[HASH_LEN])leaves, n, idx, n, many,
                                            lens),
                         MESH_OK);
        for (size_t i = 0; i < n; i++) {
            assert_int_equal(hash_merkle_proof((const uint8_t(*)[HASH_LEN])leaves, n, idx[i],
                                               one, &len),
                             MESH_OK);
            assert_int_equal(lens[i], len);
            assert_memory_equal(many[i * HASH_PROOF_MAX], one, len * HASH_LEN);
        }
    }
    idx[0] = 5;
    assert_int_equal(hash_merkle_proofs((const uint8_t(*)[HASH_LEN])leaves, 5, idx, 1, many, lens),
                     MESH_EINVAL);
}

/* FNV-1a 64: the published vectors ("" is the start value, "a", "foobar"), going on from a
 * given h equals one pass over the concatenation, and hash_fnv_u64 is the 8 bytes LSB first. */
static void
test_hash_fnv_vectors(void **state)
{
    (void)state;
    assert_true(hash_fnv(HASH_FNV_START, "", 0) == 0xcbf29ce484222325ull);
    assert_true(hash_fnv(HASH_FNV_START, "a", 1) == 0xaf63dc4c8601ec8cull);
    assert_true(hash_fnv(HASH_FNV_START, "foobar", 6) == 0x85944171f73967e8ull);
    assert_true(hash_fnv(hash_fnv(HASH_FNV_START, "foo", 3), "bar", 3) ==
                hash_fnv(HASH_FNV_START, "foobar", 6));
    const uint8_t le[8] = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08};
    assert_true(hash_fnv_u64(HASH_FNV_START, 0x0807060504030201ull) ==
                hash_fnv(HASH_FNV_START, le, sizeof le));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hash_tagged_matches_blake2b),
        cmocka_unit_test(test_hash_fnv_vectors),
        cmocka_unit_test(test_hash_tags_separate_domains),
        cmocka_unit_test(test_hash_incremental_equals_one_shot),
        cmocka_unit_test(test_hash_merkle_root_matches_reference),
        cmocka_unit_test(test_hash_merkle_root_small_shapes),
        cmocka_unit_test(test_hash_merkle_root_large),
        cmocka_unit_test(test_hash_merkle_every_proof_verifies),
        cmocka_unit_test(test_hash_merkle_rejects_tampering),
        cmocka_unit_test(test_hash_merkle_rejects_bad_arguments),
        cmocka_unit_test(test_hash_merkle_proofs_equal_single_proofs),
    };

    if (sodium_init() < 0)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
