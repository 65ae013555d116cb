/* core/wire/fentry.c: a folder's file entry (docs/PROTOCOL.md §18.2): a msgpack array of 8,
 * [version 1, type, mode, size, mtime ns (int), target (bin), hashes (bin of 32 bytes per
 * block), sizes (array of uint, one per block)], every integer in its shortest form.
 * Layer: core/wire. Third-party: msgpack.h (through cursor.h). SPDX-License-Identifier: MIT */
#include "core/wire/fentry.h"

#include "core/wire/cursor.h"

#include <stdlib.h>
#include <string.h>

#define S_FIELDS 8u /* elements of the entry's array */

/* Does e keep every rule of §18.2 but the caps the decoder meets first? MESH_OK, or the
 * code to return. */
static mesh_err_t
s_rules(const wire_fentry_t *e, mesh_err_t bad)
{
    if (e->type > WIRE_FENTRY_SYMLINK || e->mode > WIRE_FENTRY_MODE_MAX) {
        return bad;
    }
    if (e->type != WIRE_FENTRY_SYMLINK && (e->target_len != 0 || e->target)) {
        return bad;
    }
    if (e->type == WIRE_FENTRY_SYMLINK &&
        (e->target_len == 0 || !e->target || memchr(e->target, 0, e->target_len))) {
        return bad;
    }
    if (e->type != WIRE_FENTRY_FILE && (e->size != 0 || e->nblocks != 0)) {
        return bad;
    }
    uint64_t sum = 0;
    for (size_t i = 0; i < e->nblocks; i++) {
        if (e->blocks[i].size == 0 || e->blocks[i].size > WIRE_FENTRY_BLOCK_MAX) {
            return bad;
        }
        sum += e->blocks[i].size;
    }
    return sum == e->size ? MESH_OK : bad;
}

mesh_err_t
wire_fentry_encode(const wire_fentry_t *e, wire_buf_t *out)
{
    if (!e || !out || e->target_len > WIRE_FENTRY_TARGET_MAX ||
        e->nblocks > WIRE_FENTRY_BLOCKS_MAX || (e->nblocks && !e->blocks) ||
        s_rules(e, MESH_EINVAL) != MESH_OK) {
        return MESH_EINVAL;
    }
    size_t start = out->len;
    msgpack_packer pk;
    wire_pack_init(&pk, out);
    int rc = msgpack_pack_array(&pk, S_FIELDS);
    rc |= msgpack_pack_uint64(&pk, WIRE_FENTRY_VERSION);
    rc |= msgpack_pack_uint64(&pk, e->type);
    rc |= msgpack_pack_uint64(&pk, e->mode);
    rc |= msgpack_pack_uint64(&pk, e->size);
    rc |= msgpack_pack_int64(&pk, e->mtime_ns);
    rc |= wire_pack_bin(&pk, e->target, e->target_len);
    rc |= msgpack_pack_bin(&pk, e->nblocks * WIRE_FENTRY_HASH);
    for (size_t i = 0; i < e->nblocks; i++) {
        rc |= msgpack_pack_bin_body(&pk, e->blocks[i].hash, WIRE_FENTRY_HASH);
    }
    rc |= msgpack_pack_array(&pk, e->nblocks);
    for (size_t i = 0; i < e->nblocks; i++) {
        rc |= msgpack_pack_uint64(&pk, e->blocks[i].size);
    }
    return wire_pack_done(out, start, rc);
}

/* Read a signed 64-bit integer in msgpack's shortest form (a non-negative one as a uint,
 * a negative one as the shortest of negative fixint, int 8, 16, 32, 64). MESH_OK or
 * MESH_EPROTO. */
static mesh_err_t
s_int(wire_cursor_t *c, int64_t *v)
{
    if (wire_cursor_left(c) < 1) {
        return MESH_EPROTO;
    }
    uint8_t t = *c->p;
    if (t <= 0x7f || (t >= 0xcc && t <= 0xcf)) {
        uint64_t u = 0;
        mesh_err_t err = wire_cursor_uint(c, &u);
        if (err == MESH_OK && u > INT64_MAX) {
            err = MESH_EPROTO;
        }
        *v = (int64_t)u;
        return err;
    }
    if (t >= 0xe0) {
        *v = (int8_t)t;
        c->p++;
        return MESH_OK;
    }
    size_t n = t == 0xd0 ? 1 : t == 0xd1 ? 2 : t == 0xd2 ? 4 : t == 0xd3 ? 8 : 0;
    if (n == 0 || wire_cursor_left(c) < 1 + n) {
        return MESH_EPROTO;
    }
    uint64_t raw = wire_cursor_be(c->p + 1, n);
    int64_t x;
    if (n < 8 && (raw >> (8 * n - 1)) & 1) {
        raw |= ~0ull << (8 * n); /* sign-extend */
    }
    memcpy(&x, &raw, sizeof x);
    /* shortest form: negative, and below what the next smaller form holds */
    int64_t floor = n == 1 ? -32 : n == 2 ? -128 : n == 4 ? -32768 : -2147483648ll;
    if (x >= floor) {
        return MESH_EPROTO;
    }
    *v = x;
    c->p += 1 + n;
    return MESH_OK;
}

/* Read an unsigned integer of at most max. MESH_OK, MESH_EPROTO. */
static mesh_err_t
s_uint_max(wire_cursor_t *c, uint64_t max, uint64_t *v)
{
    mesh_err_t err = wire_cursor_uint(c, v);
    return err == MESH_OK && *v > max ? MESH_EPROTO : err;
}

/* Read the block list (hashes bin, sizes array) into e. */
static mesh_err_t
s_blocks(wire_cursor_t *c, wire_fentry_t *e)
{
    const uint8_t *hashes = NULL;
    size_t hlen = 0, n = 0;
    mesh_err_t err =
        wire_cursor_bytes(c, WIRE_BIN, WIRE_FENTRY_BLOCKS_MAX * WIRE_FENTRY_HASH, &hashes, &hlen);
    if (err == MESH_OK && hlen % WIRE_FENTRY_HASH != 0) {
        err = MESH_EPROTO;
    }
    if (err == MESH_OK) {
        err = wire_cursor_len(c, WIRE_ARRAY, &n);
    }
    if (err == MESH_OK && n != hlen / WIRE_FENTRY_HASH) {
        err = MESH_EPROTO;
    }
    if (err != MESH_OK || n == 0) {
        return err;
    }
    /* n is bounded by the hashes present (32 bytes each) and the cap */
    e->blocks = calloc(n, sizeof *e->blocks);
    if (!e->blocks) {
        return MESH_ENOMEM;
    }
    e->nblocks = n;
    for (size_t i = 0; i < n && err == MESH_OK; i++) {
        uint64_t size = 0;
        memcpy(e->blocks[i].hash, hashes + i * WIRE_FENTRY_HASH, WIRE_FENTRY_HASH);
        err = s_uint_max(c, WIRE_FENTRY_BLOCK_MAX, &size);
        e->blocks[i].size = (uint32_t)size;
    }
    return err;
}

mesh_err_t
wire_fentry_decode(const uint8_t *buf, size_t len, wire_fentry_t *out)
{
    wire_cursor_t c = {buf, buf + len};
    uint64_t version = 0, type = 0, mode = 0;
    const uint8_t *target = NULL;
    memset(out, 0, sizeof *out);
    if (!buf) {
        return MESH_EPROTO;
    }
    mesh_err_t err = wire_cursor_array_of(&c, S_FIELDS);
    if (err == MESH_OK) {
        err = wire_cursor_uint(&c, &version);
    }
    if (err == MESH_OK && version != WIRE_FENTRY_VERSION) {
        err = MESH_EPROTO;
    }
    if (err == MESH_OK) {
        err = s_uint_max(&c, WIRE_FENTRY_SYMLINK, &type);
    }
    if (err == MESH_OK) {
        err = s_uint_max(&c, WIRE_FENTRY_MODE_MAX, &mode);
    }
    if (err == MESH_OK) {
        out->type = (uint8_t)type;
        out->mode = (uint32_t)mode;
        err = wire_cursor_uint(&c, &out->size);
    }
    if (err == MESH_OK) {
        err = s_int(&c, &out->mtime_ns);
    }
    if (err == MESH_OK) {
        err = wire_cursor_bytes(&c, WIRE_BIN, WIRE_FENTRY_TARGET_MAX, &target, &out->target_len);
    }
    if (err == MESH_OK && out->target_len) {
        out->target = malloc(out->target_len + 1);
        if (!out->target) {
            err = MESH_ENOMEM;
        } else {
            memcpy(out->target, target, out->target_len);
            out->target[out->target_len] = '\0';
        }
    }
    if (err == MESH_OK) {
        err = s_blocks(&c, out);
    }
    if (err == MESH_OK && c.p != c.end) {
        err = MESH_EPROTO; /* trailing bytes */
    }
    if (err == MESH_OK) {
        err = s_rules(out, MESH_EPROTO);
    }
    if (err != MESH_OK) {
        wire_fentry_release(out);
    }
    return err;
}

void
wire_fentry_release(wire_fentry_t *e)
{
    if (!e) {
        return;
    }
    free(e->target);
    free(e->blocks);
    memset(e, 0, sizeof *e);
}
