/* core/wire/buf.h: the growable output buffer every wire encoder appends to.
 * Owns: wire_buf_t and its memory (init/release, reset, append).
 * Not here: any byte layout (core/wire/set.h, doc.h, msg.h), the msgpack packer glue
 * (core/wire/cursor.h, for core/wire/ only).
 * Layer: core/wire, the bottom room. Third-party: none. SPDX-License-Identifier: MIT */
#ifndef MESH_CORE_WIRE_BUF_H
#define MESH_CORE_WIRE_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "meshsync.h" /* mesh_err_t */

/* A growable output buffer. After a failed allocation it stays failed, and the encoder
 * that owns the call reports MESH_ENOMEM. */
typedef struct wire_buf {
    uint8_t *data;
    size_t len;
    size_t cap;
    bool failed;
} wire_buf_t;

void wire_buf_init(wire_buf_t *b);
void wire_buf_release(wire_buf_t *b);
void wire_buf_reset(wire_buf_t *b); /* len = 0, keeps the memory */
/* Append raw bytes. MESH_OK or MESH_ENOMEM (the buffer is then marked failed). */
MESH_NODISCARD mesh_err_t wire_buf_append(wire_buf_t *b, const void *p, size_t len);

#endif /* MESH_CORE_WIRE_BUF_H */
