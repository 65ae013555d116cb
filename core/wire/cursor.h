/* core/wire/cursor.h: the primitives the wire codecs share. For the .c files of core/wire/
 * only: no file outside core/wire/ includes it, nor does any wire header (it pulls in
 * msgpack.h, which nothing outside core/wire/ may see).
 * Owns: the bounded (pos, end) read cursor, which never reads past end and accepts only
 * the shortest msgpack form of each item, so that one meaning has one encoding
 * (wire_cursor_*, inline); and the glue that packs into a wire_buf_t (wire_pack_*).
 * Not here: any whole layout (core/wire/set.c, doc.c, msg.c).
 * Layer: core/wire. Third-party: msgpack.h. SPDX-License-Identifier: MIT */
#ifndef MESH_CORE_WIRE_CURSOR_H
#define MESH_CORE_WIRE_CURSOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/wire/buf.h"
#include "meshsync.h" /* mesh_err_t */

#include <msgpack.h>

/* ---- reading: every call checks the bytes left before it reads; on an error the
 * cursor's position is unspecified and the caller abandons the input. Defined here, inline:
 * they run once per item of every decode, and a call across files made decoding a set
 * about half again slower. ---- */

/* The unread bytes [p, end) of an input. */
typedef struct wire_cursor {
    const uint8_t *p;
    const uint8_t *end;
} wire_cursor_t;

/* The families of length-prefixed items: array (fix 0x90, 16 0xdc, 32 0xdd), bin
 * (0xc4-0xc6) or str (fix 0xa0, 0xd9-0xdb). */
enum wire_family { WIRE_ARRAY, WIRE_BIN, WIRE_STR };

/* Bytes left to read. */
static inline size_t
wire_cursor_left(const wire_cursor_t *c)
{
    return (size_t)(c->end - c->p);
}

/* The big-endian integer in the n (<= 8) bytes at p; the caller has checked they exist. */
static inline uint64_t
wire_cursor_be(const uint8_t *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        v = (v << 8) | p[i];
    }
    return v;
}

/* Read an unsigned integer in its shortest form. MESH_OK or MESH_EPROTO. */
MESH_NODISCARD static inline mesh_err_t
wire_cursor_uint(wire_cursor_t *c, uint64_t *v)
{
    if (wire_cursor_left(c) < 1) {
        return MESH_EPROTO;
    }
    uint8_t t = *c->p;
    if (t <= 0x7f) {
        *v = t;
        c->p++;
        return MESH_OK;
    }
    size_t n = t == 0xcc ? 1 : t == 0xcd ? 2 : t == 0xce ? 4 : t == 0xcf ? 8 : 0;
    if (n == 0 || wire_cursor_left(c) < 1 + n) {
        return MESH_EPROTO;
    }
    *v = wire_cursor_be(c->p + 1, n);
    /* Shortest form only: one meaning, one encoding. */
    uint64_t floor = n == 1 ? 0x80 : n == 2 ? 0x100 : n == 4 ? 0x10000 : 0x100000000ull;
    if (*v < floor) {
        return MESH_EPROTO;
    }
    c->p += 1 + n;
    return MESH_OK;
}

/* Read a uint64 in the fixed 9-byte form (0xcf). MESH_OK or MESH_EPROTO. */
MESH_NODISCARD static inline mesh_err_t
wire_cursor_fix_u64(wire_cursor_t *c, uint64_t *v)
{
    if (wire_cursor_left(c) < 9 || c->p[0] != 0xcf) {
        return MESH_EPROTO;
    }
    *v = wire_cursor_be(c->p + 1, 8);
    c->p += 9;
    return MESH_OK;
}

/* Read the length header of an item of family fam, shortest form only; the bytes it
 * counts are not checked. MESH_OK or MESH_EPROTO. */
MESH_NODISCARD static inline mesh_err_t
wire_cursor_len(wire_cursor_t *c, enum wire_family fam, size_t *len)
{
    if (wire_cursor_left(c) < 1) {
        return MESH_EPROTO;
    }
    uint8_t t = *c->p;
    size_t n = 0, fix = 0;
    bool fixed = false;
    if (fam == WIRE_ARRAY && (t & 0xf0) == 0x90) {
        fixed = true, fix = t & 0x0f;
    } else if (fam == WIRE_STR && (t & 0xe0) == 0xa0) {
        fixed = true, fix = t & 0x1f;
    } else if (fam == WIRE_ARRAY) {
        n = t == 0xdc ? 2 : t == 0xdd ? 4 : 0;
    } else if (fam == WIRE_BIN) {
        n = t == 0xc4 ? 1 : t == 0xc5 ? 2 : t == 0xc6 ? 4 : 0;
    } else {
        n = t == 0xd9 ? 1 : t == 0xda ? 2 : t == 0xdb ? 4 : 0;
    }
    if (fixed) {
        *len = fix;
        c->p++;
        return MESH_OK;
    }
    if (n == 0 || wire_cursor_left(c) < 1 + n) {
        return MESH_EPROTO;
    }
    uint64_t v = wire_cursor_be(c->p + 1, n);
    uint64_t floor = fam == WIRE_BIN   ? (n == 1   ? 0
                                          : n == 2 ? 0x100
                                                   : 0x10000)
                     : fam == WIRE_STR ? (n == 1   ? 0x20
                                          : n == 2 ? 0x100
                                                   : 0x10000)
                                       : (n == 2 ? 0x10 : 0x10000);
    if (v < floor) {
        return MESH_EPROTO;
    }
    c->p += 1 + n;
    *len = (size_t)v;
    return MESH_OK;
}

/* Read a bin or str of at most max bytes and point *p at them in the input; the bytes
 * must be present. MESH_OK, MESH_EPROTO, or MESH_ETOOBIG (longer than max). */
MESH_NODISCARD static inline mesh_err_t
wire_cursor_bytes(wire_cursor_t *c, enum wire_family fam, size_t max, const uint8_t **p,
                  size_t *len)
{
    mesh_err_t err = wire_cursor_len(c, fam, len);
    if (err != MESH_OK) {
        return err;
    }
    if (*len > wire_cursor_left(c)) {
        return MESH_EPROTO;
    }
    if (*len > max) {
        return MESH_ETOOBIG;
    }
    *p = c->p;
    c->p += *len;
    return MESH_OK;
}

/* Read a bin of exactly n bytes into out. MESH_OK or MESH_EPROTO (any other length). */
MESH_NODISCARD static inline mesh_err_t
wire_cursor_fixed_bin(wire_cursor_t *c, size_t n, uint8_t *out)
{
    const uint8_t *p = NULL;
    size_t len = 0;
    mesh_err_t err = wire_cursor_bytes(c, WIRE_BIN, n, &p, &len);
    if (err == MESH_OK && len != n) {
        err = MESH_EPROTO;
    }
    if (err == MESH_ETOOBIG) {
        err = MESH_EPROTO;
    }
    if (err == MESH_OK) {
        memcpy(out, p, n);
    }
    return err;
}

/* Read a bin of exactly n bytes and point *p at it. MESH_OK or MESH_EPROTO. */
MESH_NODISCARD static inline mesh_err_t
wire_cursor_fixed_bin_ptr(wire_cursor_t *c, size_t n, const uint8_t **p)
{
    size_t len = 0;
    mesh_err_t err = wire_cursor_bytes(c, WIRE_BIN, SIZE_MAX, p, &len);
    return err == MESH_OK && len != n ? MESH_EPROTO : err;
}

/* Read an array header of exactly n elements. MESH_OK or MESH_EPROTO. */
MESH_NODISCARD static inline mesh_err_t
wire_cursor_array_of(wire_cursor_t *c, size_t n)
{
    size_t len = 0;
    mesh_err_t err = wire_cursor_len(c, WIRE_ARRAY, &len);
    if (err == MESH_OK && len != n) {
        err = MESH_EPROTO;
    }
    return err;
}

/* Step over a nil if one is next; is one there? */
static inline bool
wire_cursor_nil(wire_cursor_t *c)
{
    if (wire_cursor_left(c) >= 1 && *c->p == 0xc0) {
        c->p++;
        return true;
    }
    return false;
}

/* ---- writing: msgpack-c's packer, appending to a wire_buf_t ---- */

/* Point pk at out: what pk packs is appended to out. */
void wire_pack_init(msgpack_packer *pk, wire_buf_t *out);

/* Pack p[0..len) as a bin (p may be NULL when len is 0). msgpack-c's return: 0 or -1. */
static inline int
wire_pack_bin(msgpack_packer *pk, const void *p, size_t len)
{
    int rc = msgpack_pack_bin(pk, len);
    return len ? rc | msgpack_pack_bin_body(pk, p, len) : rc; /* no memcpy from NULL */
}

/* End an encoder that started appending at out->len == start and or-ed its packer
 * results into rc: MESH_OK, or MESH_ENOMEM with out cut back to start. */
MESH_NODISCARD static inline mesh_err_t
wire_pack_done(wire_buf_t *out, size_t start, int rc)
{
    if (rc != 0 || out->failed) {
        out->len = start;
        return MESH_ENOMEM;
    }
    return MESH_OK;
}

#endif /* MESH_CORE_WIRE_CURSOR_H */
