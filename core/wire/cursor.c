/* core/wire/cursor.c: the primitives the wire codecs share (see cursor.h: core/wire/ only).
 * Owns: the packer glue that appends msgpack-c's output to a wire_buf_t. The bounded
 * reader and the small packing helpers are inline in cursor.h (hot paths).
 * Layer: core/wire. Third-party: msgpack.h. SPDX-License-Identifier: MIT */
#include "core/wire/cursor.h"

/* msgpack-c's write callback: append to the wire_buf_t in data; 0, or -1 once it failed. */
static int
s_write(void *data, const char *buf, size_t len)
{
    return wire_buf_append(data, buf, len) == MESH_OK ? 0 : -1;
}

void
wire_pack_init(msgpack_packer *pk, wire_buf_t *out)
{
    msgpack_packer_init(pk, out, s_write);
}
