/* core/wire/blockmsg.h: the bodies of the folder block messages BLOCK_REQ and BLOCK
 * (docs/PROTOCOL.md §11.1, §18.6): which folder and block(s) are asked for, and the answer
 * (the blocks' bytes, or "not held"), in layout 1 (one block) and layout 2 (several), with
 * their strict decoders and caps.
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

/* Layout 2 (session minor 5, §18.6): one BLOCK_REQ asks several blocks of one folder, and
 * one BLOCK answers several of them. */
#define WIRE_BLOCKMSG_MULTI_MAX   32u        /* hashes of a BLOCK_REQ, blocks of a BLOCK */
#define WIRE_BLOCKMSG_MULTI_BYTES (1u << 20) /* data bytes of one BLOCK of layout 2, in all */

/* A BLOCK_REQ body of layout 2: [2, folder ID str, array(1..WIRE_BLOCKMSG_MULTI_MAX) of hash
 * bin32]. Fields borrowed from the frame. */
typedef struct wire_blocks_req {
    const char *folder;
    size_t folder_len;
    size_t n;
    const uint8_t *hash[WIRE_BLOCKMSG_MULTI_MAX];
} wire_blocks_req_t;

/* A BLOCK body of layout 2: [2, array(1..WIRE_BLOCKMSG_MULTI_MAX) of [status uint, hash bin32,
 * data bin]], each as in layout 1, their data WIRE_BLOCKMSG_MULTI_BYTES at most in all. */
typedef struct wire_blocks {
    size_t n;
    wire_block_t blk[WIRE_BLOCKMSG_MULTI_MAX];
} wire_blocks_t;

/* Append a body to out. MESH_OK, MESH_EINVAL (a field breaks the layout), MESH_ENOMEM. */
MESH_NODISCARD mesh_err_t wire_block_req_encode(const wire_block_req_t *req, wire_buf_t *out);
MESH_NODISCARD mesh_err_t wire_block_encode(const wire_block_t *blk, wire_buf_t *out);

/* Decode exactly buf[0..len) as one body; never reads outside it. MESH_OK: *out borrows
 * from buf. Errors: MESH_EPROTO (malformed, another version, a bad folder ID, a status and
 * data that disagree, trailing bytes), MESH_ETOOBIG (data past WIRE_FENTRY_BLOCK_MAX). */
MESH_NODISCARD mesh_err_t wire_block_req_decode(const uint8_t *buf, size_t len,
                                                wire_block_req_t *out);
MESH_NODISCARD mesh_err_t wire_block_decode(const uint8_t *buf, size_t len, wire_block_t *out);

/* Layout 2: as above (MESH_EINVAL also for no entry, more than WIRE_BLOCKMSG_MULTI_MAX, or
 * data past WIRE_BLOCKMSG_MULTI_BYTES in all; the decoders say MESH_EPROTO for them, and for
 * a body of layout 1). */
MESH_NODISCARD mesh_err_t wire_blocks_req_encode(const wire_blocks_req_t *req, wire_buf_t *out);
MESH_NODISCARD mesh_err_t wire_blocks_encode(const wire_blocks_t *blks, wire_buf_t *out);
MESH_NODISCARD mesh_err_t wire_blocks_req_decode(const uint8_t *buf, size_t len,
                                                 wire_blocks_req_t *out);
MESH_NODISCARD mesh_err_t wire_blocks_decode(const uint8_t *buf, size_t len, wire_blocks_t *out);

#endif /* MESH_CORE_WIRE_BLOCKMSG_H */
