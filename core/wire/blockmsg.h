/* core/wire/blockmsg.h: the bodies of the folder block messages BLOCK_REQ and BLOCK
 * (docs/PROTOCOL.md §11.1, §18.6): which folder and block are asked for, and the answer
 * (the block's bytes, or "not held"), with their one strict decoder and caps.
 * Owns: the two body layouts. Not here: the frame around them (core/wire/msg.h), who is
 * asked and when (core/sync/blocks.h), the block's hash check (its caller, crypto/hash.h).
 * Layer: core/wire. Third-party: none here (blockmsg.c uses msgpack.h). SPDX-License-Identifier:
 * MIT */
#ifndef MESH_CORE_WIRE_BLOCKMSG_H
#define MESH_CORE_WIRE_BLOCKMSG_H

#include <stddef.h>
#include <stdint.h>

#include "core/wire/buf.h"
#include "core/wire/fentry.h"
#include "meshsync.h" /* mesh_err_t */

#define WIRE_BLOCKMSG_ID_MAX 64u /* bytes of a folder ID (§18.4) */
/* BLOCK status: the block follows, or the answering device holds it nowhere */
enum wire_block_status { WIRE_BLOCK_HERE = 0, WIRE_BLOCK_NOT_HELD = 1 };

/* A BLOCK_REQ body: [1, folder ID str, hash bin32]. Fields borrowed from the frame. */
typedef struct wire_block_req {
    const char *folder; /* 1..WIRE_BLOCKMSG_ID_MAX bytes of [A-Za-z0-9._-], not NUL-ended */
    size_t folder_len;
    const uint8_t *hash; /* WIRE_FENTRY_HASH bytes */
} wire_block_req_t;

/* A BLOCK body: [1, status uint, hash bin32, data bin (1..WIRE_FENTRY_BLOCK_MAX bytes when
 * HERE, empty when NOT_HELD)]. Fields borrowed from the frame. */
typedef struct wire_block {
    uint8_t status; /* enum wire_block_status */
    const uint8_t *hash;
    const uint8_t *data;
    size_t data_len;
} wire_block_t;

/* Append a body to out. MESH_OK, MESH_EINVAL (a field breaks the layout), MESH_ENOMEM. */
MESH_NODISCARD mesh_err_t wire_block_req_encode(const wire_block_req_t *req, wire_buf_t *out);
MESH_NODISCARD mesh_err_t wire_block_encode(const wire_block_t *blk, wire_buf_t *out);

/* Decode exactly buf[0..len) as one body; never reads outside it. MESH_OK: *out borrows
 * from buf. Errors: MESH_EPROTO (malformed, another version, a bad folder ID, a status and
 * data that disagree, trailing bytes), MESH_ETOOBIG (data past WIRE_FENTRY_BLOCK_MAX). */
MESH_NODISCARD mesh_err_t wire_block_req_decode(const uint8_t *buf, size_t len,
                                                wire_block_req_t *out);
MESH_NODISCARD mesh_err_t wire_block_decode(const uint8_t *buf, size_t len, wire_block_t *out);

#endif /* MESH_CORE_WIRE_BLOCKMSG_H */
