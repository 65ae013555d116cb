/* tests/unit/test_hash4.c: unit tests of crypto/hash4.c (BLAKE2b-256 of several messages at
 * once) against libsodium's crypto_generichash: every message length of one block, every lane
 * count, mixed and longer lengths in one call, long messages of many blocks (8 or 4 lanes,
 * a lane taking the next message when its own ends), and Merkle levels hashed in place.
 * Layer: tests. Third-party: cmocka, sodium.h (the reference hash). SPDX-License-Identifier: MIT */
#include "crypto/hash4.h"

#include <sodium.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define S_MSG_MAX 300u /* longest message tried: past one block, to libsodium */
#define S_N_MAX   13u  /* messages per call: 1..4 lanes, then several batches and a tail */

/* BLAKE2b-256(tag || msg), straight from libsodium. */
static void
s_ref(uint8_t tag, const uint8_t *msg, size_t len, uint8_t *out)
{
    uint8_t buf[1 + S_MSG_MAX];
    buf[0] = tag;
    memcpy(buf + 1, msg, len);
    crypto_generichash(out, HASH_LEN, buf, 1 + len, NULL, 0);
}

/* Hash n messages of lens[] (random bytes) in one call and check each against libsodium. */
static void
s_check(const size_t *lens, size_t n)
{
    static uint8_t data[S_N_MAX][S_MSG_MAX];
    const uint8_t *msgs[S_N_MAX] = {0};
    uint8_t outs[S_N_MAX][HASH_LEN];
    uint8_t expect[HASH_LEN];
    for (size_t i = 0; i < n; i++) {
        randombytes_buf(data[i], lens[i]);
        msgs[i] = data[i];
    }
    hash4_tagged(HASH_TAG_VALUE, msgs, lens, n, outs);
    for (size_t i = 0; i < n; i++) {
        s_ref(HASH_TAG_VALUE, data[i], lens[i], expect);
        assert_memory_equal(expect, outs[i], HASH_LEN);
    }
}

static void
test_hash4_tagged_every_length(void **state)
{
    (void)state;
    for (size_t len = 0; len < 128; len++) {
        for (size_t n = 1; n <= 4; n++) {
            size_t lens[4] = {len, len, len, len};
            s_check(lens, n);
        }
    }
}

static void
test_hash4_tagged_mixed_lengths(void **state)
{
    (void)state;
    for (int round = 0; round < 2000; round++) {
        size_t n = 1 + randombytes_uniform(S_N_MAX);
        size_t lens[S_N_MAX];
        for (size_t i = 0; i < n; i++) {
            /* mostly one block (0..127 bytes), now and then past it */
            lens[i] = randombytes_uniform(8) ? randombytes_uniform(128)
                                             : randombytes_uniform(S_MSG_MAX + 1);
        }
        s_check(lens, n);
    }
}

static void
test_hash4_tagged_no_messages(void **state)
{
    uint8_t outs[1][HASH_LEN] = {{0xaa}};
    (void)state;
    hash4_tagged(HASH_TAG_LEAF, NULL, NULL, 0, outs);
    assert_int_equal(outs[0][0], 0xaa);
}

/* Messages of many blocks, one per lane: every length around the block edges (the tag
 * shifts the message by one byte), then lengths far apart in one call (lanes end at different
 * blocks and take the next message), checked against libsodium (crypto/hash.h). */
static void
test_hash4_tagged_long_messages(void **state)
{
    enum { S_LONG = 9, S_BIG = 300000 };
    static uint8_t data[S_LONG][S_BIG];
    const uint8_t *msgs[S_LONG];
    size_t lens[S_LONG];
    uint8_t outs[S_LONG][HASH_LEN], expect[HASH_LEN];
    (void)state;
    randombytes_buf(data, sizeof data);
    for (size_t i = 0; i < S_LONG; i++) {
        msgs[i] = data[i];
    }
    for (size_t len = 126; len < 3 * 128 + 3; len++) {
        for (size_t i = 0; i < S_LONG; i++) {
            lens[i] = len + i;
        }
        hash4_tagged(HASH_TAG_BLOCK, msgs, lens, S_LONG, outs);
        for (size_t i = 0; i < S_LONG; i++) {
            hash_tagged(HASH_TAG_BLOCK, msgs[i], lens[i], expect);
            assert_memory_equal(expect, outs[i], HASH_LEN);
        }
    }
    for (int round = 0; round < 20; round++) {
        size_t n = 1 + randombytes_uniform(S_LONG);
        for (size_t i = 0; i < n; i++) {
            lens[i] = randombytes_uniform(4) ? randombytes_uniform(S_BIG + 1) : randombytes_uniform(300);
        }
        hash4_tagged(HASH_TAG_BLOCK, msgs, lens, n, outs);
        for (size_t i = 0; i < n; i++) {
            hash_tagged(HASH_TAG_BLOCK, msgs[i], lens[i], expect);
            assert_memory_equal(expect, outs[i], HASH_LEN);
        }
    }
}

/* The same with 4 lanes where the CPU has AVX-512 (whose 8 lanes it takes there): with
 * AVX-512VL's rotations, then plain AVX2 (the testing build's MESH_TESTING_HASH4). */
static void
test_hash4_tagged_long_messages_4_lanes(void **state)
{
    assert_int_equal(setenv("MESH_TESTING_HASH4", "vl", 1), 0);
    test_hash4_tagged_long_messages(state);
    assert_int_equal(setenv("MESH_TESTING_HASH4", "avx2", 1), 0);
    test_hash4_tagged_long_messages(state);
    assert_int_equal(unsetenv("MESH_TESTING_HASH4"), 0);
}

/* Every pair count 0..40, into a separate array and in place. */
static void
test_hash4_pairs_match_nodes(void **state)
{
    enum { S_NODES = 80 };
    uint8_t nodes[S_NODES][HASH_LEN];
    uint8_t inplace[S_NODES][HASH_LEN];
    uint8_t outs[S_NODES / 2][HASH_LEN];
    uint8_t expect[HASH_LEN];
    (void)state;
    for (size_t pairs = 0; pairs <= S_NODES / 2; pairs++) {
        randombytes_buf(nodes, sizeof nodes);
        memcpy(inplace, nodes, sizeof nodes);
        hash4_pairs((const uint8_t(*)[HASH_LEN])nodes, pairs, outs);
        hash4_pairs((const uint8_t(*)[HASH_LEN])inplace, pairs, inplace);
        for (size_t j = 0; j < pairs; j++) {
            s_ref(HASH_TAG_NODE, nodes[2 * j], 2 * HASH_LEN, expect);
            assert_memory_equal(expect, outs[j], HASH_LEN);
            assert_memory_equal(expect, inplace[j], HASH_LEN);
        }
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hash4_tagged_every_length),
        cmocka_unit_test(test_hash4_tagged_mixed_lengths),
        cmocka_unit_test(test_hash4_tagged_no_messages),
        cmocka_unit_test(test_hash4_tagged_long_messages),
        cmocka_unit_test(test_hash4_tagged_long_messages_4_lanes),
        cmocka_unit_test(test_hash4_pairs_match_nodes),
    };
    if (sodium_init() < 0)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
