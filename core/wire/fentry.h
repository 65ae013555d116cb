/* core/wire/fentry.h: the byte layout of a folder's file entry (docs/PROTOCOL.md §18.2), the
 * value stored under a path in a folder's index collection: type, mode, size, mtime, a
 * symlink's target and a file's block list (hash and size of each block), with its one
 * strict decoder.
 * Owns: the entry layout and its caps. Not here: cutting and hashing blocks (fs/chunk.h),
 * the path rule (fs/path.h), what a receiver does with an entry.
 * Layer: core/wire. Third-party: none here (fentry.c uses msgpack.h). SPDX-License-Identifier: MIT
 */
#ifndef MESH_CORE_WIRE_FENTRY_H
#define MESH_CORE_WIRE_FENTRY_H

#include <stddef.h>
#include <stdint.h>

#include "core/wire/buf.h"
#include "meshsync.h" /* mesh_err_t */

#define WIRE_FENTRY_VERSION    1u         /* the layout's first element */
#define WIRE_FENTRY_HASH       32u        /* bytes of a block's name: BLAKE2b-256 (§4, tag 0x05) */
#define WIRE_FENTRY_BLOCK_MAX  (1u << 20) /* bytes of one block: one BLOCK body (§11.1) */
#define WIRE_FENTRY_BLOCKS_MAX 24576u     /* blocks of one entry: 37 bytes each, under 1 MiB */
#define WIRE_FENTRY_TARGET_MAX 4095u      /* bytes of a symlink's target */
#define WIRE_FENTRY_MODE_MAX   0777u      /* permission bits only: no setuid, setgid, sticky */

/* What an entry is (the numbers of fs/scan.h's enum scan_type). */
enum wire_fentry_type { WIRE_FENTRY_FILE = 0, WIRE_FENTRY_DIR = 1, WIRE_FENTRY_SYMLINK = 2 };

typedef struct wire_fentry_block {
    uint8_t hash[WIRE_FENTRY_HASH];
    uint32_t size; /* 1 .. WIRE_FENTRY_BLOCK_MAX */
} wire_fentry_block_t;

/* A decoded entry; the caller embeds it (wire_fentry_release frees what decode made). */
typedef struct wire_fentry {
    uint8_t type;      /* enum wire_fentry_type */
    uint32_t mode;     /* 0 .. WIRE_FENTRY_MODE_MAX */
    uint64_t size;     /* a file's bytes = the sum of its block sizes; 0 otherwise */
    int64_t mtime_ns;  /* modification time, ns since the epoch (may be negative) */
    char *target;      /* a symlink's target, NUL-terminated (1 .. TARGET_MAX bytes, no NUL);
                          NULL otherwise */
    size_t target_len; /* its length */
    wire_fentry_block_t *blocks; /* a file's blocks in order; NULL when none */
    size_t nblocks;
} wire_fentry_t;

/* Append e's encoding to out. MESH_OK, MESH_EINVAL (e breaks a rule of §18.2: the decoder
 * would refuse it), MESH_ENOMEM (out is then as before). */
MESH_NODISCARD mesh_err_t wire_fentry_encode(const wire_fentry_t *e, wire_buf_t *out);

/* Decode exactly buf[0..len) as one entry; never reads outside it, and allocates only for
 * what the bytes present hold. MESH_OK: *out owns its target and blocks (free them with
 * wire_fentry_release). Error: *out is zeroed. Errors: MESH_EPROTO (malformed, another
 * version, a rule of §18.2 broken, trailing bytes), MESH_ETOOBIG (a cap), MESH_ENOMEM. */
MESH_NODISCARD mesh_err_t wire_fentry_decode(const uint8_t *buf, size_t len, wire_fentry_t *out);

/* Free what e owns and zero it; NULL is a no-op. */
void wire_fentry_release(wire_fentry_t *e);

#endif /* MESH_CORE_WIRE_FENTRY_H */
