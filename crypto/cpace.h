/* crypto/cpace.h: CPace (draft-irtf-cfrg-cpace-21), suite CPACE-RISTR255-SHA512, in the
 * initiator-responder setting (docs/PROTOCOL.md §15).
 * Owns: lv_cat, the generator, scalars and shares, scalar_mult_vfy (invalid encodings and
 * the identity refused), the ISK, and one exchange's state (cpace_new .. cpace_finish).
 * Not here: what PRS, CI, sid and AD hold, key confirmation (crypto/pairkey.h), messages.
 * Layer: crypto. Third-party: sodium.h, included only by .c files of crypto/.
 * SPDX-License-Identifier: MIT */
#ifndef MESH_CRYPTO_CPACE_H
#define MESH_CRYPTO_CPACE_H

#include <stddef.h>
#include <stdint.h>

#include "meshsync.h" /* mesh_err_t */

#define CPACE_POINT_LEN  32u   /* an encoded ristretto255 element: g, Ya, Yb, K */
#define CPACE_SCALAR_LEN 32u   /* a scalar, little endian */
#define CPACE_ISK_LEN    64u   /* the intermediate session key: SHA-512 output */
#define CPACE_INPUT_MAX  1024u /* bytes of each of PRS, CI, sid, ADa, ADb: hard cap */

/* The two roles of the initiator-responder setting: A (initiator) sends Ya, ADa first, B
 * (responder) answers Yb, ADb. The transcript is lv_cat(Ya,ADa) || lv_cat(Yb,ADb). */
typedef enum cpace_role {
    CPACE_INITIATOR = 0, /* A */
    CPACE_RESPONDER = 1  /* B */
} cpace_role_t;

/* The primitives, as the draft names them, for the test vectors and for pairkey.c. None
 * keeps state; K (cpace_scalar_mult_vfy) must never leave the crypto layer (draft §10.3). */

/* The encoded generator g: ristretto255 element derivation (crypto_core_ristretto255_
 * from_hash) of SHA-512(generator_string(b"CPaceRistretto255", PRS, CI, sid, 128)).
 * MESH_OK, or MESH_EINVAL (a length above CPACE_INPUT_MAX, prs empty, NULL with a length). */
MESH_NODISCARD mesh_err_t cpace_generator(const uint8_t *prs, size_t prs_len, const uint8_t *ci,
                                          size_t ci_len, const uint8_t *sid, size_t sid_len,
                                          uint8_t *g);

/* scalar_mult_vfy(y, X): out = encode(y * decode(X)). MESH_OK, or MESH_EPROTO (X is not
 * the canonical encoding of a group element, bit 255 included, or the product is the
 * identity, as when X
 * encodes the identity or y is 0 mod the group order); out is zeroed on failure. */
MESH_NODISCARD mesh_err_t cpace_scalar_mult_vfy(const uint8_t *y, const uint8_t *x, uint8_t *out);

/* ISK = SHA-512(lv_cat(b"CPaceRistretto255_ISK", sid, K) || lv_cat(Ya, ADa) || lv_cat(Yb,
 * ADb)). MESH_OK or MESH_EINVAL (a length above CPACE_INPUT_MAX). */
MESH_NODISCARD mesh_err_t cpace_isk(const uint8_t *sid, size_t sid_len, const uint8_t *k,
                                    const uint8_t *ya, const uint8_t *ada, size_t ada_len,
                                    const uint8_t *yb, const uint8_t *adb, size_t adb_len,
                                    uint8_t *isk);

/* prepend_len's prefix for a string of len bytes (draft A.1: LEB128, 7 bits a byte, low
 * bits first, bit 7 set while more follow): writes 1..CPACE_LEN_PREFIX_MAX bytes to out and
 * returns how many. For lv_cat outside this file (pairkey.c). */
#define CPACE_LEN_PREFIX_MAX 10u
size_t cpace_len_prefix(size_t len, uint8_t *out);

/* One exchange. Secrets (the scalar, the ISK) live in sodium_malloc'd memory. */
typedef struct cpace cpace_t;

/* Start an exchange in role: derive g from PRS, CI and sid, draw a fresh scalar y (uniform
 * in 1..order-1) and compute our share Y = y * g. ad is our associated data (ADa for the
 * initiator, ADb for the responder); everything is copied.
 * MESH_OK: *out is new; free it with cpace_free. Error: *out is NULL.
 * Errors: MESH_EINVAL (a length above CPACE_INPUT_MAX, prs empty, a bad role), MESH_ENOMEM,
 * MESH_EIO (libsodium could not start). */
MESH_NODISCARD mesh_err_t cpace_new(cpace_role_t role, const uint8_t *prs, size_t prs_len,
                                    const uint8_t *ci, size_t ci_len, const uint8_t *sid,
                                    size_t sid_len, const uint8_t *ad, size_t ad_len,
                                    cpace_t **out);

/* Our share Y (CPACE_POINT_LEN bytes) to send with our AD; valid while c lives. */
const uint8_t *cpace_share(const cpace_t *c);

/* Take the peer's share and AD, compute K = scalar_mult_vfy(y, Y_peer) and the ISK over the
 * transcript in initiator-responder order. Works once: the scalar is wiped whatever the
 * outcome, so a run gives one guess at the code.
 * MESH_OK: cpace_isk_get(c) gives the ISK. Errors: MESH_EPROTO (peer_len is not
 * CPACE_POINT_LEN, an invalid encoding, the identity, or a share equal to ours, which is a
 * reflection), MESH_ETOOBIG (peer_ad_len above CPACE_INPUT_MAX), MESH_ESTATE (already
 * finished). */
MESH_NODISCARD mesh_err_t cpace_finish(cpace_t *c, const uint8_t *peer_share, size_t peer_len,
                                       const uint8_t *peer_ad, size_t peer_ad_len);

/* After a successful cpace_finish: the ISK (CPACE_ISK_LEN bytes), and the transcript's
 * parts in initiator-responder order (Ya, ADa, Yb, ADb) and the sid, for pairkey.c; all
 * valid while c lives. Before it, or after a failed one: NULL (lengths 0). */
const uint8_t *cpace_isk_get(const cpace_t *c);
const uint8_t *cpace_sid(const cpace_t *c, size_t *len);
const uint8_t *cpace_transcript_share(const cpace_t *c, cpace_role_t who);
const uint8_t *cpace_transcript_ad(const cpace_t *c, cpace_role_t who, size_t *len);
cpace_role_t cpace_role(const cpace_t *c);

/* Wipe and free; NULL is a no-op. */
void cpace_free(cpace_t *c);

#endif /* MESH_CRYPTO_CPACE_H */
