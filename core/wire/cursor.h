/* core/wire/cursor.h: the primitives the wire codecs share. For the .c files of core/wire/
 * only: no file outside core/wire/ includes it, nor does any wire header (it pulls in
 * msgpack.h, which nothing outside core/wire/ may see).
 * Owns: the bounded (pos, end) read cursor, which accepts only the shortest msgpack form
 * of each item (wire_cursor_*), and the glue that packs into a wire_buf_t (wire_pack_*).
 * Not here: any whole layout (core/wire/set.c, doc.c, msg.c).
 * Layer: core/wire. Third-party: msgpack.h. SPDX-License-Identifier: MIT */
#ifndef MESH_CORE_WIRE_CURSOR_H
#define MESH_CORE_WIRE_CURSOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/wire/buf.h"
#include "meshsync.h" /* mesh_err_t */

#include <msgpack.h>

/* ---- reading: every call checks the bytes left before it reads; on an error the
 * cursor's position is unspecified and the caller abandons the input ---- */

/* The unread bytes [p, end) of an input. */
typedef struct wire_cursor {
    const uint8_t *p;
    const uint8_t *end;
} wire_cursor_t;

/* The families of length-prefixed items: array (fix 0x90, 16 0xdc, 32 0xdd), bin
 * (0xc4-0xc6) or str (fix 0xa0, 0xd9-0xdb). */
enum wire_family { WIRE_ARRAY, WIRE_BIN, WIRE_STR };

/* Bytes left to read. */
size_t wire_cursor_left(const wire_cursor_t *c);

/* The big-endian integer in the n (<= 8) bytes at p; the caller has checked they exist. */
uint64_t wire_cursor_be(const uint8_t *p, size_t n);

/* Read an unsigned integer in its shortest form. MESH_OK or MESH_EPROTO. */
MESH_NODISCARD mesh_err_t wire_cursor_uint(wire_cursor_t *c, uint64_t *v);

/* Read a uint64 in the fixed 9-byte form (0xcf). MESH_OK or MESH_EPROTO. */
MESH_NODISCARD mesh_err_t wire_cursor_fix_u64(wire_cursor_t *c, uint64_t *v);

/* Read the length header of an item of family fam, shortest form only; the bytes it
 * counts are not checked. MESH_OK or MESH_EPROTO. */
MESH_NODISCARD mesh_err_t wire_cursor_len(wire_cursor_t *c, enum wire_family fam, size_t *len);

/* Read a bin or str of at most max bytes and point *p at them in the input; the bytes
 * must be present. MESH_OK, MESH_EPROTO, or MESH_ETOOBIG (longer than max). */
MESH_NODISCARD mesh_err_t wire_cursor_bytes(wire_cursor_t *c, enum wire_family fam, size_t max,
                                            const uint8_t **p, size_t *len);

/* Read a bin of exactly n bytes into out. MESH_OK or MESH_EPROTO (any other length). */
MESH_NODISCARD mesh_err_t wire_cursor_fixed_bin(wire_cursor_t *c, size_t n, uint8_t *out);

/* Read a bin of exactly n bytes and point *p at it. MESH_OK or MESH_EPROTO. */
MESH_NODISCARD mesh_err_t wire_cursor_fixed_bin_ptr(wire_cursor_t *c, size_t n, const uint8_t **p);

/* Read an array header of exactly n elements. MESH_OK or MESH_EPROTO. */
MESH_NODISCARD mesh_err_t wire_cursor_array_of(wire_cursor_t *c, size_t n);

/* Step over a nil if one is next; is one there? */
bool wire_cursor_nil(wire_cursor_t *c);

/* ---- writing: msgpack-c's packer, appending to a wire_buf_t ---- */

/* Point pk at out: what pk packs is appended to out. */
void wire_pack_init(msgpack_packer *pk, wire_buf_t *out);

/* Pack p[0..len) as a bin (p may be NULL when len is 0). msgpack-c's return: 0 or -1. */
int wire_pack_bin(msgpack_packer *pk, const void *p, size_t len);

/* End an encoder that started appending at out->len == start and or-ed its packer
 * results into rc: MESH_OK, or MESH_ENOMEM with out cut back to start. */
MESH_NODISCARD mesh_err_t wire_pack_done(wire_buf_t *out, size_t start, int rc);

#endif /* MESH_CORE_WIRE_CURSOR_H */
