/* core/wire/frecord.h: the folder record (docs/PROTOCOL.md §18.5), the value under the one
 * reserved key of a folder's index collection, written by the device that creates the
 * folder so that the folder is offered to members while it is still empty; with its one
 * strict decoder.
 * Owns: the reserved key and the record's layout. Not here: who writes it (core/folder/
 * registry.c), the path rule that keeps the key from any path (fs/path.h, §18.3).
 * Layer: core/wire. Third-party: none here (frecord.c uses msgpack.h).
 * SPDX-License-Identifier: MIT */
#ifndef MESH_CORE_WIRE_FRECORD_H
#define MESH_CORE_WIRE_FRECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/wire/buf.h"
#include "meshsync.h" /* mesh_err_t */

/* The reserved key: its first component is .meshsync, which no path may have (§18.3). */
#define WIRE_FRECORD_KEY     ".meshsync/folder"
#define WIRE_FRECORD_VERSION 1u /* the layout's first element */

/* A decoded folder record: [1, created uint (unix s, the creating device's clock)]. */
typedef struct wire_frecord {
    uint64_t created; /* unix seconds when the folder was first added */
} wire_frecord_t;

/* Is key[0..len) the reserved key of the folder record? */
bool wire_frecord_is_key(const char *key, size_t len);

/* Append r's bytes to out. MESH_OK; MESH_EINVAL (NULL), MESH_ENOMEM (out unchanged). */
MESH_NODISCARD mesh_err_t wire_frecord_encode(const wire_frecord_t *r, wire_buf_t *out);

/* Decode exactly len bytes of buf as a folder record; never reads outside them.
 * MESH_OK: *out filled. Error: *out zeroed. Errors: MESH_EPROTO (malformed, another
 * version, a non-shortest integer, trailing bytes). Thread-safe: yes. */
MESH_NODISCARD mesh_err_t wire_frecord_decode(const uint8_t *buf, size_t len, wire_frecord_t *out);

#endif /* MESH_CORE_WIRE_FRECORD_H */
