/* crypto/hash.c: BLAKE2b-256 with a leading domain tag, and Merkle roots, proofs and checks
 * (docs/PROTOCOL.md §4).
 * Owns: the tree shape (pairs level by level, an odd last node carried up unchanged).
 * Not here: what a leaf's bytes mean (core/wire/set.c).
 * Layer: crypto. Third-party: sodium.h. SPDX-License-Identifier: MIT */
#include "hash.h"

#include <sodium.h>

#include "hash4.h"

#include <stdalign.h>
#include <stdlib.h>
#include <string.h>

_Static_assert(sizeof(crypto_generichash_state) <= sizeof(((hash_state_t *)0)->opaque),
               "hash_state_t too small for libsodium's BLAKE2b state");
_Static_assert(alignof(crypto_generichash_state) <= alignof(hash_state_t),
               "hash_state_t under-aligned for libsodium's BLAKE2b state");

/* Depth of a tree of 2^64 leaves, the most a size_t can count. */
#define S_DEPTH_MAX 64u

static crypto_generichash_state *
s_state(hash_state_t *st)
{
    return (crypto_generichash_state *)(void *)st->opaque;
}

void
hash_init(hash_state_t *st, enum hash_tag tag)
{
    uint8_t tag_byte = (uint8_t)tag;

    crypto_generichash_init(s_state(st), NULL, 0, HASH_LEN);
    crypto_generichash_update(s_state(st), &tag_byte, 1);
}

void
hash_update(hash_state_t *st, const void *msg, size_t msg_len)
{
    crypto_generichash_update(s_state(st), msg, msg_len);
}

/* Write the digest to out (HASH_LEN bytes); st must be re-initialised before reuse. */
void
hash_final(hash_state_t *st, uint8_t *out)
{
    crypto_generichash_final(s_state(st), out, HASH_LEN);
}

void
hash_tagged(enum hash_tag tag, const void *msg, size_t msg_len, uint8_t *out)
{
    hash_state_t st;

    hash_init(&st, tag);
    hash_update(&st, msg, msg_len);
    hash_final(&st, out);
}

void
hash_short(const uint8_t *key, const void *msg, size_t msg_len, uint8_t *out)
{
    crypto_shorthash_siphashx24(out, msg, msg_len, key);
}

/* out = NODE(left || right); out may alias either input. */
static void
s_node(const uint8_t *left, const uint8_t *right, uint8_t *out)
{
    hash_state_t st;

    hash_init(&st, HASH_TAG_NODE);
    hash_update(&st, left, HASH_LEN);
    hash_update(&st, right, HASH_LEN);
    hash_final(&st, out);
}

/* The size of the left subtree of a tree of n >= 2 leaves: the largest power of two below n.
 * Pairing level by level with the odd last node carried up builds exactly this split: the
 * first 2^k leaves pair only among themselves for k levels (every level of them is even and
 * starts at offset 0), the other n - 2^k <= 2^k reduce to one node in at most k levels and
 * are carried up, and the two meet at level k. tests/unit/test_hash.c checks this against a
 * level-by-level reference. */
static size_t
s_split(size_t n)
{
    size_t left = 1;

    while (left < n - left) {
        left <<= 1;
    }
    return left;
}

/* Leaves whose root is made level by level in one stack buffer (4 KiB), 4 pairs at a time. */
#define S_CHUNK 256u

/* Root of leaves[0..n), 1 <= n <= S_CHUNK, level by level: pairs (0,1), (2,3)... hashed 4 at
 * a time into the buffer (the first level from leaves, the others in place), an odd last
 * node carried up unchanged. Never inlined: the buffer stays out of s_root's recursive frames. */
static __attribute__((noinline)) void
s_root_chunk(const uint8_t (*leaves)[HASH_LEN], size_t n, uint8_t *out)
{
    uint8_t level[S_CHUNK / 2][HASH_LEN]; /* the second level: (n + 1) / 2 <= S_CHUNK / 2 */
    const uint8_t(*from)[HASH_LEN] = leaves;
    size_t m = n;

    while (m > 1) {
        hash4_pairs(from, m / 2, level);
        if (m % 2) {
            memcpy(level[m / 2], from[m - 1], HASH_LEN);
        }
        from = (const uint8_t(*)[HASH_LEN])level;
        m = (m + 1) / 2;
    }
    memcpy(out, from[0], HASH_LEN);
}

/* Root of leaves[0..n), n >= 1, by recursion over the split down to S_CHUNK leaves, then level
 * by level (the same shape: see s_split): no heap, O(n) hashes, a stack depth of at most
 * S_DEPTH_MAX frames and one chunk's buffer. */
static void
s_root(const uint8_t (*leaves)[HASH_LEN], size_t n, uint8_t *out)
{
    uint8_t left[HASH_LEN];
    uint8_t right[HASH_LEN];
    size_t split;

    if (n <= S_CHUNK) {
        s_root_chunk(leaves, n, out);
        return;
    }
    split = s_split(n);
    s_root(leaves, split, left);
    s_root(leaves + split, n - split, right);
    s_node(left, right, out);
}

/* With n == 0 (outside the contract) root is set to zeros rather than left undefined. */
void
hash_merkle_root(const uint8_t (*leaves)[HASH_LEN], size_t n, uint8_t *root)
{
    if (leaves == NULL || n == 0) {
        memset(root, 0, HASH_LEN);
        return;
    }
    s_root(leaves, n, root);
}

/* The path from the root down to leaf index of n: returns its length (the proof length) and
 * sets bit d of *went_right when the path goes right at depth d (0 = the root's children). */
static size_t
s_path(size_t index, size_t n, uint64_t *went_right)
{
    size_t depth = 0;
    size_t split;

    *went_right = 0;
    while (n > 1) {
        split = s_split(n);
        if (index < split) {
            n = split;
        } else {
            *went_right |= (uint64_t)1 << depth;
            index -= split;
            n -= split;
        }
        depth++;
    }
    return depth;
}

/* Write the proof for leaf index of leaves[0..n) into proof[0..depth), bottom up: the
 * sibling at the top of this subtree goes last, at proof[depth - 1]. */
static void
s_proof(const uint8_t (*leaves)[HASH_LEN], size_t n, size_t index, uint8_t (*proof)[HASH_LEN],
        size_t depth)
{
    size_t split;

    if (n == 1)
        return;
    split = s_split(n);
    if (index < split) {
        s_root(leaves + split, n - split, proof[depth - 1]);
        s_proof(leaves, split, index, proof, depth - 1);
    } else {
        s_root(leaves, split, proof[depth - 1]);
        s_proof(leaves + split, n - split, index - split, proof, depth - 1);
    }
}

/* proof must hold HASH_PROOF_MAX hashes. A shape deeper than that (n > 2^32) is MESH_EINVAL.
 * On error *proof_len is 0 and proof is untouched. */
mesh_err_t
hash_merkle_proof(const uint8_t (*leaves)[HASH_LEN], size_t n, size_t index,
                  uint8_t (*proof)[HASH_LEN], size_t *proof_len)
{
    uint64_t went_right;
    size_t depth;

    if (proof_len != NULL) {
        *proof_len = 0;
    }
    if (leaves == NULL || proof == NULL || proof_len == NULL || n == 0 || index >= n)
        return MESH_EINVAL;
    depth = s_path(index, n, &went_right);
    if (depth > HASH_PROOF_MAX)
        return MESH_EINVAL;
    s_proof(leaves, n, index, proof, depth);
    *proof_len = depth;
    return MESH_OK;
}

/* Build every level of the tree (pairs hashed, an odd last node carried up), then read each
 * proof off the levels: at each level the sibling, if there is one. */
mesh_err_t
hash_merkle_proofs(const uint8_t (*leaves)[HASH_LEN], size_t n, const size_t *indices, size_t k,
                   uint8_t (*proofs)[HASH_LEN], size_t *lens)
{
    if (leaves == NULL || n == 0 || n > ((size_t)1 << 32) || (k && (!indices || !proofs || !lens)))
        return MESH_EINVAL;
    for (size_t i = 0; i < k; i++) {
        lens[i] = 0;
        if (indices[i] >= n)
            return MESH_EINVAL;
    }
    uint8_t(*up)[HASH_LEN] = malloc(2 * n * HASH_LEN); /* ceil halves: under 2n in all */
    if (up == NULL)
        return MESH_ENOMEM;
    const uint8_t(*level)[HASH_LEN] = leaves;
    uint8_t(*next)[HASH_LEN] = up;
    size_t m = n, shift = 0;
    while (m > 1) {
        for (size_t i = 0; i < k; i++) {
            size_t sib = (indices[i] >> shift) ^ 1;
            if (sib < m)
                memcpy(proofs[i * HASH_PROOF_MAX + lens[i]++], level[sib], HASH_LEN);
        }
        size_t half = (m + 1) / 2;
        hash4_pairs(level, m / 2, next);
        if (m % 2)
            memcpy(next[half - 1], level[m - 1], HASH_LEN);
        level = (const uint8_t(*)[HASH_LEN])next;
        next += half;
        m = half;
        shift++;
    }
    free(up);
    return MESH_OK;
}

/* Recompute the root from leaf and the proof along the path that (index, n) fixes; the
 * proof length must be exactly that path's length. */
mesh_err_t
hash_merkle_verify(const uint8_t *leaf, size_t index, size_t n, const uint8_t (*proof)[HASH_LEN],
                   size_t proof_len, const uint8_t *root)
{
    uint8_t acc[HASH_LEN];
    uint64_t went_right;
    size_t depth;
    size_t i;

    if (leaf == NULL || root == NULL || n == 0 || index >= n)
        return MESH_EDIGEST;
    depth = s_path(index, n, &went_right);
    if (depth > HASH_PROOF_MAX || proof_len != depth || (depth > 0 && proof == NULL))
        return MESH_EDIGEST;
    memcpy(acc, leaf, HASH_LEN);
    for (i = 0; i < depth; i++) {
        /* proof[i] is the sibling at depth (depth - 1 - i) from the root. */
        if (went_right & ((uint64_t)1 << (depth - 1 - i))) {
            s_node(proof[i], acc, acc);
        } else {
            s_node(acc, proof[i], acc);
        }
    }
    return sodium_memcmp(acc, root, HASH_LEN) == 0 ? MESH_OK : MESH_EDIGEST;
}

uint64_t
hash_fnv(uint64_t h, const void *msg, size_t msg_len)
{
    const uint8_t *p = msg;
    for (size_t i = 0; i < msg_len; i++) {
        h = (h ^ p[i]) * 1099511628211ull;
    }
    return h;
}

uint64_t
hash_fnv_u64(uint64_t h, uint64_t v)
{
    for (int i = 0; i < 8; i++) {
        h = (h ^ ((v >> (8 * i)) & 0xff)) * 1099511628211ull;
    }
    return h;
}
