/* core/wire/blockmsg.c: the BLOCK_REQ and BLOCK bodies (docs/PROTOCOL.md §18.6), each a
 * msgpack array whose first element is the layout version: 1 (one block), 2 (several).
 * Layer: core/wire. Third-party: msgpack.h (through cursor.h). SPDX-License-Identifier: MIT */
#include "core/wire/blockmsg.h"

#include "core/wire/cursor.h"

#include <string.h>

#define S_VERSION 1u
#define S_MULTI   2u

/* Is id[0..len) a folder ID of §18.4: 1..64 bytes of A-Z a-z 0-9 . _ - ? */
static bool
s_id_ok(const char *id, size_t len)
{
    if (!id || len == 0 || len > WIRE_BLOCKMSG_ID_MAX) {
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        char ch = id[i];
        if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
              ch == '.' || ch == '_' || ch == '-')) {
            return false;
        }
    }
    return true;
}

mesh_err_t
wire_block_req_encode(const wire_block_req_t *req, wire_buf_t *out)
{
    if (!req || !out || !s_id_ok(req->folder, req->folder_len) || !req->hash) {
        return MESH_EINVAL;
    }
    size_t start = out->len;
    msgpack_packer pk;
    wire_pack_init(&pk, out);
    int rc = msgpack_pack_array(&pk, 3);
    rc |= msgpack_pack_uint64(&pk, S_VERSION);
    rc |= msgpack_pack_str_with_body(&pk, req->folder, req->folder_len);
    rc |= wire_pack_bin(&pk, req->hash, WIRE_FENTRY_HASH);
    return wire_pack_done(out, start, rc);
}

/* Does blk keep the rules of one answer (a hash; data, of 1..1 MiB, only when here)? */
static bool
s_block_ok(const wire_block_t *blk)
{
    return blk->hash && blk->status <= WIRE_BLOCK_NOT_HELD &&
           !(blk->status == WIRE_BLOCK_HERE &&
             (blk->data_len == 0 || blk->data_len > WIRE_FENTRY_BLOCK_MAX || !blk->data)) &&
           !(blk->status == WIRE_BLOCK_NOT_HELD && blk->data_len != 0);
}

/* An answer's status, hash and data (both layouts: after the version, or in an entry). */
static int
s_pack_entry(msgpack_packer *pk, const wire_block_t *b)
{
    int rc = msgpack_pack_uint64(pk, b->status);
    rc |= wire_pack_bin(pk, b->hash, WIRE_FENTRY_HASH);
    return rc | wire_pack_bin(pk, b->data, b->data_len);
}

mesh_err_t
wire_block_encode(const wire_block_t *blk, wire_buf_t *out)
{
    if (!blk || !out || !s_block_ok(blk)) {
        return MESH_EINVAL;
    }
    size_t start = out->len;
    msgpack_packer pk;
    wire_pack_init(&pk, out);
    int rc = msgpack_pack_array(&pk, 4);
    rc |= msgpack_pack_uint64(&pk, S_VERSION);
    rc |= s_pack_entry(&pk, blk);
    return wire_pack_done(out, start, rc);
}

mesh_err_t
wire_blocks_req_encode(const wire_blocks_req_t *req, wire_buf_t *out)
{
    if (!req || !out || !s_id_ok(req->folder, req->folder_len) || req->n == 0 ||
        req->n > WIRE_BLOCKMSG_MULTI_MAX) {
        return MESH_EINVAL;
    }
    for (size_t i = 0; i < req->n; i++) {
        if (!req->hash[i]) {
            return MESH_EINVAL;
        }
    }
    size_t start = out->len;
    msgpack_packer pk;
    wire_pack_init(&pk, out);
    int rc = msgpack_pack_array(&pk, 3);
    rc |= msgpack_pack_uint64(&pk, S_MULTI);
    rc |= msgpack_pack_str_with_body(&pk, req->folder, req->folder_len);
    rc |= msgpack_pack_array(&pk, req->n);
    for (size_t i = 0; i < req->n; i++) {
        rc |= wire_pack_bin(&pk, req->hash[i], WIRE_FENTRY_HASH);
    }
    return wire_pack_done(out, start, rc);
}

mesh_err_t
wire_blocks_encode(const wire_blocks_t *blks, wire_buf_t *out)
{
    if (!blks || !out || blks->n == 0 || blks->n > WIRE_BLOCKMSG_MULTI_MAX) {
        return MESH_EINVAL;
    }
    size_t bytes = 0;
    for (size_t i = 0; i < blks->n; i++) {
        if (!s_block_ok(&blks->blk[i])) {
            return MESH_EINVAL;
        }
        bytes += blks->blk[i].data_len;
    }
    if (bytes > WIRE_BLOCKMSG_MULTI_BYTES) {
        return MESH_EINVAL;
    }
    size_t start = out->len;
    msgpack_packer pk;
    wire_pack_init(&pk, out);
    int rc = msgpack_pack_array(&pk, 2);
    rc |= msgpack_pack_uint64(&pk, S_MULTI);
    rc |= msgpack_pack_array(&pk, blks->n);
    for (size_t i = 0; i < blks->n; i++) {
        rc |= msgpack_pack_array(&pk, 3);
        rc |= s_pack_entry(&pk, &blks->blk[i]);
    }
    return wire_pack_done(out, start, rc);
}

/* The array of n and its layout version (want). */
static mesh_err_t
s_head_of(wire_cursor_t *c, size_t n, uint64_t want)
{
    uint64_t version = 0;
    mesh_err_t err = wire_cursor_array_of(c, n);
    if (err == MESH_OK) {
        err = wire_cursor_uint(c, &version);
    }
    return err == MESH_OK && version != want ? MESH_EPROTO : err;
}

static mesh_err_t
s_head(wire_cursor_t *c, size_t n)
{
    return s_head_of(c, n, S_VERSION);
}

/* A folder ID (§18.4) into *id, *len. MESH_OK or MESH_EPROTO. */
static mesh_err_t
s_folder(wire_cursor_t *c, const char **id, size_t *len)
{
    const uint8_t *p = NULL;
    mesh_err_t err = wire_cursor_bytes(c, WIRE_STR, WIRE_BLOCKMSG_ID_MAX, &p, len);
    if (err == MESH_OK) {
        *id = (const char *)p;
        err = s_id_ok(*id, *len) ? MESH_OK : MESH_EPROTO;
    }
    return err == MESH_ETOOBIG ? MESH_EPROTO : err; /* an over-long ID is malformed */
}

/* The length of an array of 1..WIRE_BLOCKMSG_MULTI_MAX entries. MESH_OK or MESH_EPROTO. */
static mesh_err_t
s_entries(wire_cursor_t *c, size_t *n)
{
    mesh_err_t err = wire_cursor_len(c, WIRE_ARRAY, n);
    return err == MESH_OK && (*n == 0 || *n > WIRE_BLOCKMSG_MULTI_MAX) ? MESH_EPROTO : err;
}

/* An answer's status, hash bin32 and data bin, checked (after a layout 1 BLOCK's version, or
 * as one entry of a layout 2 BLOCK). */
static mesh_err_t
s_entry_body(wire_cursor_t *c, wire_block_t *b)
{
    uint64_t status = 0;
    mesh_err_t err = wire_cursor_uint(c, &status);
    if (err == MESH_OK && status > WIRE_BLOCK_NOT_HELD) {
        err = MESH_EPROTO;
    }
    if (err == MESH_OK) {
        b->status = (uint8_t)status;
        err = wire_cursor_fixed_bin_ptr(c, WIRE_FENTRY_HASH, &b->hash);
    }
    if (err == MESH_OK) {
        err = wire_cursor_bytes(c, WIRE_BIN, WIRE_FENTRY_BLOCK_MAX, &b->data, &b->data_len);
    }
    if (err == MESH_OK && (b->status == WIRE_BLOCK_HERE) != (b->data_len > 0)) {
        err = MESH_EPROTO;
    }
    return err;
}

/* One entry of a BLOCK of layout 2: [status, hash bin32, data bin]. */
static mesh_err_t
s_entry(wire_cursor_t *c, wire_block_t *b)
{
    mesh_err_t err = wire_cursor_array_of(c, 3);
    return err == MESH_OK ? s_entry_body(c, b) : err;
}

mesh_err_t
wire_block_req_decode(const uint8_t *buf, size_t len, wire_block_req_t *out)
{
    wire_cursor_t c = {buf, buf + len};
    memset(out, 0, sizeof *out);
    if (!buf) {
        return MESH_EPROTO;
    }
    mesh_err_t err = s_head(&c, 3);
    if (err == MESH_OK) {
        err = s_folder(&c, &out->folder, &out->folder_len);
    }
    if (err == MESH_OK) {
        err = wire_cursor_fixed_bin_ptr(&c, WIRE_FENTRY_HASH, &out->hash);
    }
    if (err == MESH_OK && c.p != c.end) {
        err = MESH_EPROTO;
    }
    if (err != MESH_OK) {
        memset(out, 0, sizeof *out);
        return err == MESH_ETOOBIG ? MESH_EPROTO : err; /* an over-long ID is malformed */
    }
    return MESH_OK;
}

mesh_err_t
wire_block_decode(const uint8_t *buf, size_t len, wire_block_t *out)
{
    wire_cursor_t c = {buf, buf + len};
    memset(out, 0, sizeof *out);
    if (!buf) {
        return MESH_EPROTO;
    }
    mesh_err_t err = s_head(&c, 4);
    if (err == MESH_OK) {
        err = s_entry_body(&c, out);
    }
    if (err == MESH_OK && c.p != c.end) {
        err = MESH_EPROTO;
    }
    if (err != MESH_OK) {
        memset(out, 0, sizeof *out);
    }
    return err;
}

mesh_err_t
wire_blocks_req_decode(const uint8_t *buf, size_t len, wire_blocks_req_t *out)
{
    wire_cursor_t c = {buf, buf + len};
    memset(out, 0, sizeof *out);
    if (!buf) {
        return MESH_EPROTO;
    }
    size_t n = 0;
    mesh_err_t err = s_head_of(&c, 3, S_MULTI);
    if (err == MESH_OK) {
        err = s_folder(&c, &out->folder, &out->folder_len);
    }
    if (err == MESH_OK) {
        err = s_entries(&c, &n);
    }
    for (size_t i = 0; err == MESH_OK && i < n; i++) {
        err = wire_cursor_fixed_bin_ptr(&c, WIRE_FENTRY_HASH, &out->hash[i]);
    }
    if (err == MESH_OK && c.p != c.end) {
        err = MESH_EPROTO;
    }
    if (err != MESH_OK) {
        memset(out, 0, sizeof *out);
        return err;
    }
    out->n = n;
    return MESH_OK;
}

mesh_err_t
wire_blocks_decode(const uint8_t *buf, size_t len, wire_blocks_t *out)
{
    wire_cursor_t c = {buf, buf + len};
    memset(out, 0, sizeof *out);
    if (!buf) {
        return MESH_EPROTO;
    }
    size_t n = 0, bytes = 0;
    mesh_err_t err = s_head_of(&c, 2, S_MULTI);
    if (err == MESH_OK) {
        err = s_entries(&c, &n);
    }
    for (size_t i = 0; err == MESH_OK && i < n; i++) {
        err = s_entry(&c, &out->blk[i]);
        bytes += out->blk[i].data_len;
    }
    if (err == MESH_OK && bytes > WIRE_BLOCKMSG_MULTI_BYTES) {
        err = MESH_ETOOBIG;
    }
    if (err == MESH_OK && c.p != c.end) {
        err = MESH_EPROTO;
    }
    if (err != MESH_OK) {
        memset(out, 0, sizeof *out);
        return err;
    }
    out->n = n;
    return MESH_OK;
}
