/* cli/out.h: how meshctl writes results: escaped text and JSON documents.
 * Owns: the text escaping (valid UTF-8 as is, \\ \t \n, control characters and bytes that
 * are not UTF-8 as \xNN), the one JSON string encoder (valid UTF-8 goes as a string "NAME",
 * anything else as hex in "NAME_hex"), and the text form of HLC times (ISO-8601 UTC, ms).
 * Not here: what each command prints (cli/cmd_*.c), error lines (cli/cli.h).
 * Layer: cli. Third-party: none; of ours only meshsync.h. SPDX-License-Identifier: MIT */
#ifndef MESH_CLI_OUT_H
#define MESH_CLI_OUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "meshsync.h"

#define OUT_JSON_DEPTH_MAX 8  /* nesting of objects and arrays */
#define OUT_TIME_LEN       32 /* bytes for out_hlc_time's text, NUL included */
#define OUT_QUOTE_LEN      84 /* bytes for a name quoted in a message, NUL included */

/* Write len bytes of p to f so that a terminal cannot act on them: valid UTF-8 as it is,
 * backslash as \\, tab \t, newline \n, and each byte of another control character (C0,
 * DEL, C1: ESC starts escape sequences) or of what is not UTF-8 as \xNN (lowercase hex). */
void out_escaped(FILE *f, const void *p, size_t len);

/* Write len bytes of p to f for a terminal: as out_escaped, but newline and tab as they are
 * and backslash unescaped (a value read by a person, not a line to parse). */
void out_terminal(FILE *f, const void *p, size_t len);

/* Escape len bytes of p as out_escaped does into buf (cap bytes, NUL included), cut short
 * with "..." (never inside a character) when it does not fit. Returns buf, for a name in a
 * message. */
const char *out_quote(char *buf, size_t cap, const void *p, size_t len);

/* Are the len bytes of p valid UTF-8 (no overlong forms, surrogates or code points above
 * U+10FFFF)? */
bool out_is_utf8(const void *p, size_t len);

/* Write an HLC's wall time (hlc >> 16, in ms since 1970) into buf as
 * "YYYY-MM-DDTHH:MM:SS.mmmZ" (cap >= OUT_TIME_LEN). Returns buf. */
const char *out_hlc_time(uint64_t hlc, char *buf, size_t cap);

/* A JSON document written as it goes, on one line ending in a newline. Every writer takes
 * the member's name, or NULL inside an array and for the top value. */
typedef struct out_json {
    FILE *f;
    int depth;                               /* open objects and arrays */
    bool need_comma[OUT_JSON_DEPTH_MAX + 1]; /* per depth: a value was written */
} out_json_t;

void out_json_init(out_json_t *j, FILE *f);
void out_json_object_begin(out_json_t *j, const char *name);
void out_json_object_end(out_json_t *j);
void out_json_array_begin(out_json_t *j, const char *name);
void out_json_array_end(out_json_t *j);

/* A NUL-terminated string, as out_json_bytes writes it. */
void out_json_string(out_json_t *j, const char *name, const char *s);

/* Bytes: as the string "name" when valid UTF-8 (control characters as \uXXXX), else as
 * lowercase hex in "name_hex". An array element (name NULL) that is not UTF-8 is a string
 * with each such byte as the text \xNN. So every command encodes a name the same way. */
void out_json_bytes(out_json_t *j, const char *name, const void *p, size_t len);

void out_json_u64(out_json_t *j, const char *name, uint64_t v);
void out_json_i64(out_json_t *j, const char *name, int64_t v);
void out_json_bool(out_json_t *j, const char *name, bool v);

/* A 64-bit value that JSON numbers cannot hold exactly, as a 16-digit hex string. */
void out_json_hex64(out_json_t *j, const char *name, uint64_t v);

/* One version as an object: origin, incarnation, seq, hlc, time, deleted, winner, and
 * value (or value_hex) unless it is a deletion. */
void out_json_version(out_json_t *j, const char *name, const mesh_item_version_t *v);

#endif /* MESH_CLI_OUT_H */
