/* crypto/paircode.h: the one-time pairing code, e.g. `7-crystal-ladder-orbit`: a public
 * nameplate (1..999) and three secret words of a list of 256, 24 secret bits
 * (docs/PROTOCOL.md §15).
 * Owns: the word list, drawing a code, its text (format, tolerant parse) and its PRS.
 * Not here: CPace (crypto/cpace.h), code expiry and use (the daemon's pairing).
 * Layer: crypto. Third-party: sodium.h, included only by .c files of crypto/.
 * SPDX-License-Identifier: MIT */
#ifndef MESH_CRYPTO_PAIRCODE_H
#define MESH_CRYPTO_PAIRCODE_H

#include <stddef.h>
#include <stdint.h>

#include "meshsync.h" /* mesh_err_t */

#define PAIRCODE_WORDS         3u   /* secret words in a code */
#define PAIRCODE_LIST_LEN      256u /* words in the list: 8 bits each */
#define PAIRCODE_SECRET_BITS   24u  /* PAIRCODE_WORDS * 8: one online guess in 16,777,216 */
#define PAIRCODE_NAMEPLATE_MAX 999u /* nameplates are 1..999, public, never secret */
#define PAIRCODE_WORD_MAX      7u   /* letters of the longest word */
#define PAIRCODE_TEXT_LEN      32u  /* a buffer that holds any formatted code and its NUL */
#define PAIRCODE_PRS_MAX       24u  /* bytes of a PRS: 3 words, 2 dashes */
#define PAIRCODE_INPUT_MAX     256u /* bytes of text paircode_parse reads at most */

typedef struct paircode {
    unsigned nameplate;            /* 1..PAIRCODE_NAMEPLATE_MAX, sent in clear */
    uint8_t words[PAIRCODE_WORDS]; /* indexes into the list: the secret */
} paircode_t;

/* Draw a fresh code: nameplate uniform in 1..999, each word uniform in the list (libsodium's
 * randombytes). MESH_OK, MESH_EINVAL (code NULL), MESH_EIO (libsodium could not start). */
MESH_NODISCARD mesh_err_t paircode_generate(paircode_t *code);

/* The canonical text "N-word-word-word" (lower case) into buf (buf_len bytes, NUL-ended).
 * MESH_OK, MESH_EINVAL (nameplate out of range), MESH_ETOOBIG (buf too small: "" left). */
MESH_NODISCARD mesh_err_t paircode_format(const paircode_t *code, char *buf, size_t buf_len);

/* Parse len bytes of text (no NUL needed): the nameplate (1 to 3 digits, 1..999), then
 * exactly PAIRCODE_WORDS words of the list, in any case, separated by any run of spaces,
 * tabs, line ends or dashes; leading and trailing separators are ignored.
 * MESH_OK: *out holds the code. Error: *out is zeroed, and why (why_len bytes, may be NULL)
 * says what is wrong, never quoting more than one word.
 * Errors: MESH_EINVAL (malformed: a bad nameplate, a wrong number of words, a byte that is
 * neither letter, digit nor separator), MESH_ENOTFOUND (a word not in the list),
 * MESH_ETOOBIG (len above PAIRCODE_INPUT_MAX). */
MESH_NODISCARD mesh_err_t paircode_parse(const char *text, size_t len, paircode_t *out, char *why,
                                         size_t why_len);

/* The PRS of code: its words in lower case joined by '-' (no nameplate: it is public),
 * into prs (PAIRCODE_PRS_MAX bytes); returns the length. */
size_t paircode_prs(const paircode_t *code, uint8_t *prs);

/* Word index of the list (index < PAIRCODE_LIST_LEN), or NULL. */
const char *paircode_word(size_t index);

/* Wipe the code (its words are a secret). NULL is a no-op. */
void paircode_wipe(paircode_t *code);

#endif /* MESH_CRYPTO_PAIRCODE_H */
