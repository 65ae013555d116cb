/* crypto/devid.h: the text form of a device ID (docs/PROTOCOL.md §2).
 * Owns: base32 of the 32-byte public key with one GF(32) check character per 26 data
 * characters, shown as 9 dash-separated groups of 6.
 * Not here: keys themselves (crypto/ident.h).
 * Layer: crypto. Third-party: none. SPDX-License-Identifier: MIT */
#ifndef MESH_CRYPTO_DEVID_H
#define MESH_CRYPTO_DEVID_H

#include <stddef.h>
#include <stdint.h>

#include "meshsync.h" /* mesh_err_t, MESH_ID_TEXT_LEN */

#define DEVID_RAW_LEN 32u /* bytes of the public key */

/* Write the text form of pk (DEVID_RAW_LEN bytes) into out, which must hold
 * MESH_ID_TEXT_LEN + 1 bytes: upper case, dashes every 6 characters, NUL-terminated. */
void devid_format(const uint8_t *pk, char *out);

/* Parse text (lower or upper case, dashes anywhere or missing, nothing else) into pk.
 * MESH_OK, or MESH_EBADID for a wrong length, a character outside the alphabet, non-zero
 * padding bits, or a failed check character; pk is zeroed on error. */
MESH_NODISCARD mesh_err_t devid_parse(const char *text, uint8_t *pk);

/* Say in why (why_len bytes) what is wrong with text as an ID, for a person who typed it:
 * the first character outside the alphabet (by position), a wrong length, or which half
 * (by its shown groups) fails its check character. Never copies text beyond one printable
 * character. Thread-safe: yes. */
void devid_explain(const char *text, char *why, size_t why_len);

#endif /* MESH_CRYPTO_DEVID_H */
