/* core/wire/addrs.c: the PEX body and the stored address book (docs/PROTOCOL.md §17), and
 * their strict decoders.
 * Layer: core/wire. Third-party: msgpack.h (through cursor.h). SPDX-License-Identifier: MIT */
#include "core/wire/addrs.h"

#include "core/wire/cursor.h"

#include <string.h>

/* Does entry e give address i twice (an earlier one equal to it)? */
static bool
s_repeats(const wire_pex_entry_t *e, size_t i)
{
    for (size_t j = 0; j < i; j++) {
        if (e->addr_lens[j] == e->addr_lens[i] &&
            memcmp(e->addrs[j], e->addrs[i], e->addr_lens[i]) == 0) {
            return true;
        }
    }
    return false;
}

/* Is e one a PEX may carry, after the entry prev (NULL for the first)? */
static bool
s_entry_ok(const wire_pex_entry_t *e, const wire_pex_entry_t *prev)
{
    if (e->count == 0 || e->count > WIRE_PEX_ADDRS_MAX ||
        (prev && memcmp(prev->device, e->device, WIRE_ORIGIN_LEN) >= 0)) {
        return false;
    }
    for (size_t i = 0; i < e->count; i++) {
        if (!e->addrs[i] || e->addr_lens[i] == 0 || e->addr_lens[i] > WIRE_ADDR_LEN_MAX ||
            s_repeats(e, i)) {
            return false;
        }
    }
    return true;
}

mesh_err_t
wire_pex_encode(const wire_pex_t *pex, wire_buf_t *out)
{
    size_t start = out->len;
    msgpack_packer pk;
    if (pex->count == 0 || pex->count > WIRE_PEX_ENTRIES_MAX) {
        return MESH_EINVAL;
    }
    for (size_t i = 0; i < pex->count; i++) {
        if (!s_entry_ok(&pex->entries[i], i ? &pex->entries[i - 1] : NULL)) {
            return MESH_EINVAL;
        }
    }
    wire_pack_init(&pk, out);
    int rc = msgpack_pack_array(&pk, pex->count);
    for (size_t i = 0; i < pex->count; i++) {
        const wire_pex_entry_t *e = &pex->entries[i];
        rc |= msgpack_pack_array(&pk, 2);
        rc |= wire_pack_bin(&pk, e->device, WIRE_ORIGIN_LEN);
        rc |= msgpack_pack_array(&pk, e->count);
        for (size_t j = 0; j < e->count; j++) {
            rc |= msgpack_pack_str_with_body(&pk, e->addrs[j], e->addr_lens[j]);
        }
    }
    return wire_pack_done(out, start, rc);
}

/* Read one [device, [address...]] entry into e. */
static mesh_err_t
s_pex_entry(wire_cursor_t *c, wire_pex_entry_t *e)
{
    size_t n = 0;
    mesh_err_t err = wire_cursor_array_of(c, 2);
    if (err == MESH_OK) {
        err = wire_cursor_fixed_bin(c, WIRE_ORIGIN_LEN, e->device);
    }
    if (err == MESH_OK) {
        err = wire_cursor_len(c, WIRE_ARRAY, &n);
    }
    if (err == MESH_OK && n == 0) {
        err = MESH_EPROTO;
    }
    if (err == MESH_OK && n > WIRE_PEX_ADDRS_MAX) {
        err = MESH_ETOOBIG;
    }
    for (size_t i = 0; err == MESH_OK && i < n; i++) {
        const uint8_t *p = NULL;
        err = wire_cursor_bytes(c, WIRE_STR, WIRE_ADDR_LEN_MAX, &p, &e->addr_lens[i]);
        e->addrs[i] = (const char *)p;
        if (err == MESH_OK && e->addr_lens[i] == 0) {
            err = MESH_EPROTO;
        }
        if (err == MESH_OK && s_repeats(e, i)) {
            err = MESH_EPROTO;
        }
        e->count = i + 1;
    }
    return err;
}

mesh_err_t
wire_pex_decode(const uint8_t *buf, size_t len, wire_pex_t *pex)
{
    wire_cursor_t c = {buf, buf + len};
    size_t n = 0;
    memset(pex, 0, sizeof *pex);
    if (len > WIRE_PEX_MAX) {
        return MESH_ETOOBIG;
    }
    mesh_err_t err = wire_cursor_len(&c, WIRE_ARRAY, &n);
    if (err == MESH_OK && n == 0) {
        err = MESH_EPROTO;
    }
    if (err == MESH_OK && n > WIRE_PEX_ENTRIES_MAX) {
        err = MESH_ETOOBIG;
    }
    for (size_t i = 0; err == MESH_OK && i < n; i++) {
        err = s_pex_entry(&c, &pex->entries[i]);
        if (err == MESH_OK && i > 0 &&
            memcmp(pex->entries[i - 1].device, pex->entries[i].device, WIRE_ORIGIN_LEN) >= 0) {
            err = MESH_EPROTO; /* one entry per device, in one order: one encoding */
        }
        pex->count = i + 1;
    }
    if (err == MESH_OK && c.p != c.end) {
        err = MESH_EPROTO;
    }
    if (err != MESH_OK) {
        memset(pex, 0, sizeof *pex);
    }
    return err;
}

mesh_err_t
wire_book_encode(const wire_book_entry_t *entries, size_t count, wire_buf_t *out)
{
    size_t start = out->len;
    msgpack_packer pk;
    if (count > WIRE_BOOK_MAX) {
        return MESH_EINVAL;
    }
    for (size_t i = 0; i < count; i++) {
        const wire_book_entry_t *e = &entries[i];
        if (!e->addr || e->addr_len == 0 || e->addr_len > WIRE_ADDR_LEN_MAX || e->source == 0 ||
            e->source > WIRE_BOOK_SOURCE_MAX) {
            return MESH_EINVAL;
        }
    }
    wire_pack_init(&pk, out);
    int rc = msgpack_pack_array(&pk, count);
    for (size_t i = 0; i < count; i++) {
        const wire_book_entry_t *e = &entries[i];
        rc |= msgpack_pack_array(&pk, 7);
        rc |= msgpack_pack_str_with_body(&pk, e->addr, e->addr_len);
        rc |= msgpack_pack_uint8(&pk, e->source);
        rc |= wire_pack_bin(&pk, e->teller, e->has_teller ? WIRE_ORIGIN_LEN : 0);
        rc |= msgpack_pack_uint64(&pk, e->added);
        rc |= msgpack_pack_uint64(&pk, e->last_ok);
        rc |= msgpack_pack_uint64(&pk, e->last_fail);
        rc |= msgpack_pack_uint64(&pk, e->fails);
    }
    return wire_pack_done(out, start, rc);
}

/* Read one stored entry into e. */
static mesh_err_t
s_book_entry(wire_cursor_t *c, wire_book_entry_t *e)
{
    const uint8_t *p = NULL;
    uint64_t source = 0;
    size_t n = 0;
    mesh_err_t err = wire_cursor_array_of(c, 7);
    if (err == MESH_OK) {
        err = wire_cursor_bytes(c, WIRE_STR, WIRE_ADDR_LEN_MAX, &p, &e->addr_len);
        e->addr = (const char *)p;
    }
    if (err == MESH_OK && e->addr_len == 0) {
        err = MESH_EPROTO;
    }
    if (err == MESH_OK) {
        err = wire_cursor_uint(c, &source);
    }
    if (err == MESH_OK && (source == 0 || source > WIRE_BOOK_SOURCE_MAX)) {
        err = MESH_EPROTO;
    }
    e->source = (uint8_t)source;
    if (err == MESH_OK) {
        err = wire_cursor_bytes(c, WIRE_BIN, WIRE_ORIGIN_LEN, &p, &n);
    }
    if (err == MESH_OK && n != 0 && n != WIRE_ORIGIN_LEN) {
        err = MESH_EPROTO;
    }
    if (err == MESH_OK && n) {
        e->has_teller = true;
        memcpy(e->teller, p, WIRE_ORIGIN_LEN);
    }
    if (err == MESH_OK) {
        err = wire_cursor_uint(c, &e->added);
    }
    if (err == MESH_OK) {
        err = wire_cursor_uint(c, &e->last_ok);
    }
    if (err == MESH_OK) {
        err = wire_cursor_uint(c, &e->last_fail);
    }
    if (err == MESH_OK) {
        err = wire_cursor_uint(c, &e->fails);
    }
    return err;
}

mesh_err_t
wire_book_decode(const uint8_t *buf, size_t len, wire_book_entry_t *entries, size_t *count)
{
    wire_cursor_t c = {buf, buf + len};
    size_t n = 0;
    *count = 0;
    mesh_err_t err = wire_cursor_len(&c, WIRE_ARRAY, &n);
    if (err == MESH_OK && n > WIRE_BOOK_MAX) {
        err = MESH_ETOOBIG;
    }
    for (size_t i = 0; err == MESH_OK && i < n; i++) {
        memset(&entries[i], 0, sizeof entries[i]);
        err = s_book_entry(&c, &entries[i]);
    }
    if (err == MESH_OK && c.p != c.end) {
        err = MESH_EPROTO;
    }
    *count = err == MESH_OK ? n : 0;
    return err;
}
