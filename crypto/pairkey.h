/* crypto/pairkey.h: meshsync's use of CPace for pairing (docs/PROTOCOL.md §15): what CI,
 * sid and ADa/ADb hold, and the key confirmation and signatures over the whole transcript.
 * Owns: the AD layout (both keys of a device), CI and sid, confirmation tags (HMAC-SHA-512
 * under a key from the ISK) checked in constant time, the transcript signatures.
 * Not here: CPace itself (crypto/cpace.h), the code (crypto/paircode.h), messages and flow.
 * Layer: crypto. Third-party: sodium.h, included only by .c files of crypto/.
 * SPDX-License-Identifier: MIT */
#ifndef MESH_CRYPTO_PAIRKEY_H
#define MESH_CRYPTO_PAIRKEY_H

#include <stddef.h>
#include <stdint.h>

#include "meshsync.h" /* mesh_err_t */

#include "cpace.h" /* cpace_t, cpace_role_t */
#include "ident.h" /* ident_t, key lengths */

#define PAIRKEY_AD_VERSION 1u  /* first byte of an AD */
#define PAIRKEY_AD_LEN     65u /* version, Ed25519 key (32), CURVE key (32) */
#define PAIRKEY_NONCE_LEN  16u /* each side's random contribution to the sid */
#define PAIRKEY_SID_LEN    32u /* initiator's nonce || responder's nonce */
#define PAIRKEY_CI_MAX     96u /* bytes of a CI (pairkey_ci) */
#define PAIRKEY_TAG_LEN    32u /* a confirmation tag: HMAC-SHA-512 cut to 32 bytes */

/* ad (PAIRKEY_AD_LEN bytes) = PAIRKEY_AD_VERSION || ed_pk || curve_pk, where curve_pk is the
 * CURVE key derived from ed_pk (§2). MESH_OK, or MESH_EINVAL (ed_pk is not a valid key). */
MESH_NODISCARD mesh_err_t pairkey_ad_encode(const uint8_t *ed_pk, uint8_t *ad);

/* Read a peer's AD: exactly PAIRKEY_AD_LEN bytes, the known version, an Ed25519 key that is
 * a valid point, and the CURVE key derived from it. ed_pk and curve_pk receive
 * IDENT_PK_LEN and IDENT_CURVE_LEN bytes (either may be NULL); zeroed on failure.
 * MESH_OK or MESH_EPROTO. */
MESH_NODISCARD mesh_err_t pairkey_ad_decode(const uint8_t *ad, size_t len, uint8_t *ed_pk,
                                            uint8_t *curve_pk);

/* CI = lv_cat(b"meshsync-pair-v1", nameplate as decimal ASCII, curve_a, curve_b): the
 * CURVE keys of the initiator (a) and the responder (b) on the connection that carries the
 * exchange, as each side's transport sees them. ci holds PAIRKEY_CI_MAX bytes; *ci_len
 * receives the length. MESH_OK or MESH_EINVAL (nameplate outside 1..999). */
MESH_NODISCARD mesh_err_t pairkey_ci(unsigned nameplate, const uint8_t *curve_a,
                                     const uint8_t *curve_b, uint8_t *ci, size_t *ci_len);

/* sid = nonce_a || nonce_b (PAIRKEY_NONCE_LEN bytes each, drawn fresh by each side). */
void pairkey_sid(const uint8_t *nonce_a, const uint8_t *nonce_b, uint8_t *sid);

/* The confirmation tag of side who over one transcript:
 *   mac_key = SHA-512(b"CPaceMac" || sid || ISK)                       (draft §10.4)
 *   tag     = HMAC-SHA-512(mac_key, lv_cat(label, sid, Ya, ADa, Yb, ADb)), first 32 bytes
 * with label b"meshsync-pair-confirm-initiator" or b"...-responder". MESH_OK or MESH_EINVAL
 * (a length above CPACE_INPUT_MAX, a bad role). */
MESH_NODISCARD mesh_err_t pairkey_tag_compute(const uint8_t *isk, const uint8_t *sid,
                                              size_t sid_len, const uint8_t *ya, const uint8_t *ada,
                                              size_t ada_len, const uint8_t *yb, const uint8_t *adb,
                                              size_t adb_len, cpace_role_t who, uint8_t *tag);

/* The tag of side who over the finished exchange c (its ISK and transcript): ours to send
 * (who = cpace_role(c)) or the peer's to expect. MESH_OK, MESH_ESTATE (c not finished). */
MESH_NODISCARD mesh_err_t pairkey_tag(const cpace_t *c, cpace_role_t who, uint8_t *tag);

/* Check the peer's tag (tag_len bytes) against the one c expects, in constant time.
 * MESH_OK, MESH_EBADSIG (wrong tag or wrong length), MESH_ESTATE (c not finished). */
MESH_NODISCARD mesh_err_t pairkey_check(const cpace_t *c, const uint8_t *tag, size_t tag_len);

/* Sign the transcript of finished c as its own side with id, whose key must be the Ed25519
 * key of our AD: sig receives IDENT_SIG_LEN bytes over b"meshsync-pair-sig-v1" || role ||
 * SHA-512(lv_cat(sid, Ya, ADa, Yb, ADb)). MESH_OK, MESH_ESTATE (not finished), MESH_EINVAL
 * (id is not the key our AD names). */
MESH_NODISCARD mesh_err_t pairkey_sign(const cpace_t *c, const ident_t *id, uint8_t *sig);

/* Verify the peer's signature (sig_len bytes) over the transcript of finished c with the
 * Ed25519 key of the peer's AD. MESH_OK, MESH_EBADSIG (bad signature or length),
 * MESH_EPROTO (the peer's AD does not decode), MESH_ESTATE (c not finished). */
MESH_NODISCARD mesh_err_t pairkey_verify(const cpace_t *c, const uint8_t *sig, size_t sig_len);

#endif /* MESH_CRYPTO_PAIRKEY_H */
