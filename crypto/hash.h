/* crypto/hash.h: BLAKE2b hashing with domain separation, and Merkle trees over change-set
 * leaves (docs/PROTOCOL.md §4).
 * Owns: the hash tags, leaf and node hashing, Merkle roots, proofs and their checks.
 * Not here: what a leaf's bytes mean (core/wire/set.h).
 * Layer: crypto. Third-party: sodium.h, included only by .c files of crypto/.
 * SPDX-License-Identifier: MIT */
#ifndef MESH_CRYPTO_HASH_H
#define MESH_CRYPTO_HASH_H

#include <stddef.h>
#include <stdint.h>

#include "meshsync.h" /* mesh_err_t */

#define HASH_LEN       32u /* BLAKE2b-256 */
#define HASH_PROOF_MAX 32u /* hashes in a proof: enough for 2^32 leaves */

/* Domain tags: the first byte hashed, so that no hash of one kind equals one of another. */
enum hash_tag {
    HASH_TAG_LEAF = 0x00,    /* a change-set op (Merkle leaf) */
    HASH_TAG_NODE = 0x01,    /* a Merkle interior node */
    HASH_TAG_VALUE = 0x02,   /* an item's value */
    HASH_TAG_DIGEST = 0x03,  /* an origin's base in its versions' digest shares */
    HASH_TAG_KEY = 0x04,     /* a long key stored by hash */
    HASH_TAG_BLOCK = 0x05,   /* a folder content block (reserved) */
    HASH_TAG_SUMMARY = 0x06, /* a session's summary of vectors and digests */
    HASH_TAG_RECON = 0x07    /* an item in the slow path's range fingerprints */
};

/* out = BLAKE2b-256(tag || msg). */
void hash_tagged(enum hash_tag tag, const void *msg, size_t msg_len, uint8_t *out);

#define HASH_SHORT_KEY_LEN 16u /* key of hash_short */
#define HASH_SHORT_LEN     16u /* output of hash_short */

/* out = SipHash-2-4 with 128-bit output (libsodium's siphashx24) of msg under key: a keyed
 * hash five times as fast as BLAKE2b on short inputs, for hashing every item of a store
 * with a fresh random key (the slow path's fingerprints, docs/PROTOCOL.md §13). */
void hash_short(const uint8_t *key, const void *msg, size_t msg_len, uint8_t *out);

/* Incremental form of hash_tagged for messages in several pieces. */
typedef struct hash_state {
    uint8_t opaque[384] __attribute__((aligned(64))); /* holds libsodium's BLAKE2b state */
} hash_state_t;
void hash_init(hash_state_t *st, enum hash_tag tag);
void hash_update(hash_state_t *st, const void *msg, size_t msg_len);
void hash_final(hash_state_t *st, uint8_t *out);

/* Merkle root over n leaf hashes (n >= 1): pairs are hashed as NODE(left || right) level by
 * level; an odd last hash is carried up unchanged. With n == 1 the root is the leaf. */
void hash_merkle_root(const uint8_t (*leaves)[HASH_LEN], size_t n, uint8_t *root);

/* The proof for leaf index of n: the sibling hashes from the bottom up, *proof_len of them
 * (at most HASH_PROOF_MAX). MESH_OK or MESH_EINVAL (index >= n, n == 0). */
MESH_NODISCARD mesh_err_t hash_merkle_proof(const uint8_t (*leaves)[HASH_LEN], size_t n,
                                            size_t index, uint8_t (*proof)[HASH_LEN],
                                            size_t *proof_len);

/* The proofs of several leaves at once, from one pass over the tree (O(n) hashing for all
 * of them, where hash_merkle_proof costs O(n) each). For each i < k: proofs + i *
 * HASH_PROOF_MAX holds the proof of leaf indices[i], lens[i] its length.
 * MESH_OK, MESH_EINVAL (an index >= n, n == 0, n > 2^32), MESH_ENOMEM. */
MESH_NODISCARD mesh_err_t hash_merkle_proofs(const uint8_t (*leaves)[HASH_LEN], size_t n,
                                             const size_t *indices, size_t k,
                                             uint8_t (*proofs)[HASH_LEN], size_t *lens);

/* Check that leaf is at index of n under root, given the proof. MESH_OK or MESH_EDIGEST
 * (wrong proof length for the shape, or a mismatch). */
MESH_NODISCARD mesh_err_t hash_merkle_verify(const uint8_t *leaf, size_t index, size_t n,
                                             const uint8_t (*proof)[HASH_LEN], size_t proof_len,
                                             const uint8_t *root);

/* FNV-1a (64 bits) of msg, going on from h (HASH_FNV_START to begin). Not for security:
 * a cheap fingerprint for table keys and for telling whether local state changed. */
#define HASH_FNV_START 14695981039346656037ull
uint64_t hash_fnv(uint64_t h, const void *msg, size_t msg_len);

/* hash_fnv over v's 8 bytes, least significant first. */
uint64_t hash_fnv_u64(uint64_t h, uint64_t v);

#endif /* MESH_CRYPTO_HASH_H */
