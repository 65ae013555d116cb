/* crypto/ident.h: the device identity: one Ed25519 key pair, its secret file, signing.
 * Owns: key generation, the identity file (0600), sign/verify, CURVE key derivation.
 * Not here: the text form of IDs (crypto/devid.h), hashing (crypto/hash.h).
 * Layer: crypto. Third-party: sodium.h, included only by .c files of crypto/.
 * SPDX-License-Identifier: MIT */
#ifndef MESH_CRYPTO_IDENT_H
#define MESH_CRYPTO_IDENT_H

#include <stddef.h>
#include <stdint.h>

#include "meshsync.h" /* mesh_err_t */

#define IDENT_PK_LEN    32u /* Ed25519 public key = the device's raw ID */
#define IDENT_SIG_LEN   64u /* Ed25519 detached signature */
#define IDENT_CURVE_LEN 32u /* X25519 (CURVE) key */

typedef struct ident ident_t; /* opaque: the secret lives in sodium_malloc'd memory */

/* Initialise libsodium once; idempotent and thread-safe. MESH_OK or MESH_EIO. */
MESH_NODISCARD mesh_err_t ident_lib_init(void);

/* Load the identity file at path, or with create set and no file there, make a new key
 * pair and write it (mode 0600, written to a temp file, fsync'd, renamed into place).
 * MESH_OK: *out is new; free with ident_free. Error: *out is NULL, and why (why_len bytes,
 * may be NULL) says what to do when there is more to say than the code ("" otherwise).
 * Errors: MESH_ENOTINIT (no file, create unset), MESH_ECORRUPT (bad length/contents or a
 * public key that does not match the secret), MESH_EINVAL (the file's mode lets group or
 * others in: refused, why says chmod 600), MESH_EIO, MESH_ENOMEM. */
MESH_NODISCARD mesh_err_t ident_load(const char *path, int create, ident_t **out, char *why,
                                     size_t why_len);

/* A fresh identity in memory only (tests, benches). */
MESH_NODISCARD mesh_err_t ident_generate(ident_t **out);

/* Wipe and free. NULL is a no-op. */
void ident_free(ident_t *id);

/* The raw public key (IDENT_PK_LEN bytes), valid while id lives. */
const uint8_t *ident_public_key(const ident_t *id);

/* Sign msg with id: sig receives IDENT_SIG_LEN bytes. */
void ident_sign(const ident_t *id, const uint8_t *msg, size_t msg_len, uint8_t *sig);

/* Verify a detached signature by pk over msg. MESH_OK or MESH_EBADSIG. */
MESH_NODISCARD mesh_err_t ident_verify(const uint8_t *pk, const uint8_t *msg, size_t msg_len,
                                       const uint8_t *sig);

/* The X25519 keys for CURVE derived from the identity: curve_pk from any Ed25519 public
 * key; curve_sk from our secret (IDENT_CURVE_LEN bytes each). MESH_OK or MESH_EINVAL (a
 * public key that is not a valid point). */
MESH_NODISCARD mesh_err_t ident_curve_public(const uint8_t *pk, uint8_t *curve_pk);
MESH_NODISCARD mesh_err_t ident_curve_secret(const ident_t *id, uint8_t *curve_sk);

/* Wipe len bytes of a secret at buf (sodium_memzero: a plain memset before free or return
 * may be removed by the compiler). NULL with len 0 is a no-op. */
void ident_wipe(void *buf, size_t len);

/* Fill buf with len cryptographically random bytes. */
void ident_random(void *buf, size_t len);

#endif /* MESH_CRYPTO_IDENT_H */
