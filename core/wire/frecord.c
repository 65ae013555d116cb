/* core/wire/frecord.c: the folder record's layout and strict decoder (docs/PROTOCOL.md
 * §18.5): msgpack array(2) [1, created uint], every integer in its shortest form.
 * Layer: core/wire. Third-party: msgpack.h (through cursor.h). SPDX-License-Identifier: MIT */
#include "core/wire/frecord.h"

#include "core/wire/cursor.h"

#include <string.h>

#define S_FIELDS 2u

bool
wire_frecord_is_key(const char *key, size_t len)
{
    return key && len == sizeof WIRE_FRECORD_KEY - 1 && memcmp(key, WIRE_FRECORD_KEY, len) == 0;
}

mesh_err_t
wire_frecord_encode(const wire_frecord_t *r, wire_buf_t *out)
{
    if (!r || !out) {
        return MESH_EINVAL;
    }
    size_t start = out->len;
    msgpack_packer pk;
    wire_pack_init(&pk, out);
    int rc = msgpack_pack_array(&pk, S_FIELDS);
    rc |= msgpack_pack_uint64(&pk, WIRE_FRECORD_VERSION);
    rc |= msgpack_pack_uint64(&pk, r->created);
    return wire_pack_done(out, start, rc);
}

mesh_err_t
wire_frecord_decode(const uint8_t *buf, size_t len, wire_frecord_t *out)
{
    wire_cursor_t c = {buf, buf + len};
    uint64_t version = 0, created = 0;
    memset(out, 0, sizeof *out);
    if (!buf) {
        return MESH_EPROTO;
    }
    mesh_err_t err = wire_cursor_array_of(&c, S_FIELDS);
    if (err == MESH_OK) {
        err = wire_cursor_uint(&c, &version);
    }
    if (err == MESH_OK && version != WIRE_FRECORD_VERSION) {
        err = MESH_EPROTO;
    }
    if (err == MESH_OK) {
        err = wire_cursor_uint(&c, &created);
    }
    if (err == MESH_OK && wire_cursor_left(&c) != 0) {
        err = MESH_EPROTO; /* (trailing bytes) */
    }
    if (err == MESH_OK) {
        out->created = created;
    }
    return err;
}
