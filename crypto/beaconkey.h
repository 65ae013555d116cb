/* crypto/beaconkey.h: the keys and tags of LAN beacons (docs/PROTOCOL.md §16.2).
 * Owns: the pairwise beacon key of two devices (X25519 of one's CURVE secret and the other's
 * CURVE public key, hashed with both Ed25519 keys) and the keyed tag (BLAKE2b, 16 bytes).
 * Not here: the beacon's layout and which tags it carries (transport/beacon.h).
 * Layer: crypto. Third-party: sodium.h, included only by beaconkey.c. SPDX-License-Identifier: MIT
 */
#ifndef MESH_CRYPTO_BEACONKEY_H
#define MESH_CRYPTO_BEACONKEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/ident.h"
#include "meshsync.h" /* mesh_err_t */

#define BEACONKEY_LEN 32u /* a pairwise beacon key */
#define BEACONKEY_TAG 16u /* a beacon tag */

/* The beacon key that we (me) and the device whose Ed25519 public key is peer_pk share:
 * BLAKE2b-256 keyed by nothing of "meshsync-beacon-key-v1" || X25519(our CURVE secret,
 * its CURVE public key) || the lower Ed25519 key || the higher one. Both devices compute
 * the same key; no third party can (it needs one of the two secrets), even knowing both IDs.
 * MESH_OK: key holds BEACONKEY_LEN bytes. Errors: MESH_EINVAL (peer_pk is not a valid point,
 * is our own key, or the shared point is the identity): key is zeroed. */
MESH_NODISCARD mesh_err_t beaconkey_derive(const ident_t *me, const uint8_t *peer_pk, uint8_t *key);

/* tag = BLAKE2b-128 keyed by key (BEACONKEY_LEN bytes) over msg. */
void beaconkey_tag(const uint8_t *key, const void *msg, size_t msg_len, uint8_t *tag);

/* Whether two tags of BEACONKEY_TAG bytes are equal, in constant time. */
bool beaconkey_tag_equal(const uint8_t *a, const uint8_t *b);

#endif /* MESH_CRYPTO_BEACONKEY_H */
