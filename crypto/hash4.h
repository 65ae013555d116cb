/* crypto/hash4.h: BLAKE2b-256 of several messages at once (docs/PROTOCOL.md §4).
 * Owns: the multi-message hashing, one message per 64-bit lane of an AVX2 register (4 at a
 * time), written from RFC 7693: one-block messages in batches of 4, longer ones (a folder's
 * content blocks) a 128-byte block of each of 4 messages per compression (8, in an AVX-512
 * register, where the CPU has AVX-512 and more than 4 are given), a lane taking the next
 * message when its own ends; libsodium per message on a CPU without AVX2. The digests are
 * exactly hash_tagged's (and hash.c's NODE hashes).
 * Not here: the tags and the tree shape (crypto/hash.h).
 * Layer: crypto. Third-party: sodium.h, included only by the .c file.
 * SPDX-License-Identifier: MIT */
#ifndef MESH_CRYPTO_HASH4_H
#define MESH_CRYPTO_HASH4_H

#include <stddef.h>
#include <stdint.h>

#include "hash.h"

/* outs[i] = hash_tagged(tag, msgs[i], lens[i]) for i < n (any n and lengths; the one-block
 * ones, 1 + lens[i] <= 128, in batches of 4, then the longer ones in 4 or 8 lanes: 4 long
 * messages hash about 4 times as fast as one at a time, 16 or more 6 to 8 times with AVX-512).
 * outs must not overlap msgs. */
void hash4_tagged(enum hash_tag tag, const uint8_t *const msgs[], const size_t lens[], size_t n,
                  uint8_t (*outs)[HASH_LEN]);

/* outs[j] = NODE(nodes[2j] || nodes[2j + 1]) for j < pairs: a level of a Merkle tree hashed
 * into the next. outs may be nodes itself (a level reduced in place). */
void hash4_pairs(const uint8_t (*nodes)[HASH_LEN], size_t pairs, uint8_t (*outs)[HASH_LEN]);

#endif /* MESH_CRYPTO_HASH4_H */
