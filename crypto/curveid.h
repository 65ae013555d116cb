/* crypto/curveid.h: which device IDs a CURVE (X25519) public key can belong to.
 * Owns: the map back from Montgomery u to the Edwards y of docs/PROTOCOL.md §2, which fixes
 * a device ID up to the sign bit it loses: two candidates, one of them the device's.
 * Not here: the forward map (crypto/ident.h), the text form (crypto/devid.h).
 * Layer: crypto. Third-party: none. SPDX-License-Identifier: MIT */
#ifndef MESH_CRYPTO_CURVEID_H
#define MESH_CRYPTO_CURVEID_H

#include <stdint.h>

#include "meshsync.h" /* mesh_err_t */

#define CURVEID_KEY_LEN 32u /* bytes of a CURVE key and of a device's raw ID */

/* The two raw device IDs (Ed25519 public keys) whose CURVE key is curve_pk: y = (u - 1) /
 * (u + 1) mod 2^255 - 19, with the sign bit clear (first) and set (second). Which of them
 * the device holds cannot be told from the CURVE key. MESH_OK, or MESH_EINVAL when u is -1
 * (no Edwards point: not a key ident_curve_public gives); first and second are then zeroed. */
MESH_NODISCARD mesh_err_t curveid_candidates(const uint8_t *curve_pk, uint8_t *first,
                                             uint8_t *second);

#endif /* MESH_CRYPTO_CURVEID_H */
