/* core/wire/fentry.h: the byte layout of a folder's file entry (docs/PROTOCOL.md §18.2), the
 * value stored under a path in a folder's index collection: type, mode, size, mtime, a
 * symlink's target and a file's block list (hash and size of each block), with its one
 * strict decoder; a large file's block list is cut into pieces named by their hash (§25),
 * and the entry lists the pieces.
 * Owns: the entry layout, the pieces and their caps. Not here: cutting and hashing blocks
 * (fs/chunk.h), the path rule (fs/path.h), what a receiver does with an entry. Layer: core/wire.
 * Third-party: none here (fentry.c uses msgpack.h). SPDX-License-Identifier: MIT
 */
#ifndef MESH_CORE_WIRE_FENTRY_H
#define MESH_CORE_WIRE_FENTRY_H

#include <stdbool.h>
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

/* A file of more than WIRE_FENTRY_INLINE_MAX blocks has a layout 2 entry (§25): its block
 * list is cut into pieces, each named like a block (BLAKE2b-256, tag 0x05, of its bytes),
 * and the entry lists the pieces. A piece ends after a block whose hash's last byte has its
 * low 6 bits 0, once it holds PIECE_MIN blocks, or when it holds PIECE_MAX. */
#define WIRE_FENTRY_VERSION_PIECES 2u
#define WIRE_FENTRY_INLINE_MAX     128u /* blocks listed in the entry itself */
#define WIRE_FENTRY_PIECE_MIN      16u  /* blocks of a piece but the last */
#define WIRE_FENTRY_PIECE_MAX      256u /* blocks of any piece */
#define WIRE_FENTRY_PIECE_MASK     63u  /* the cut: (hash[31] & MASK) == 0 */
#define WIRE_FENTRY_PIECES_MAX     (WIRE_FENTRY_BLOCKS_MAX / WIRE_FENTRY_PIECE_MIN + 1u)
#define WIRE_FENTRY_PIECE_SIZE(n)  (16u + 37u * (n)) /* bytes of a piece of n blocks, at most */
#define WIRE_FENTRY_PIECE_BYTES    WIRE_FENTRY_PIECE_SIZE(WIRE_FENTRY_PIECE_MAX)

/* What an entry is (the numbers of fs/scan.h's enum scan_type). */
enum wire_fentry_type { WIRE_FENTRY_FILE = 0, WIRE_FENTRY_DIR = 1, WIRE_FENTRY_SYMLINK = 2 };

typedef struct wire_fentry_block {
    uint8_t hash[WIRE_FENTRY_HASH];
    uint32_t size; /* 1 .. WIRE_FENTRY_BLOCK_MAX */
} wire_fentry_block_t;

/* One piece of a layout 2 entry: its name and how many blocks it lists. */
typedef struct wire_fentry_piece {
    uint8_t hash[WIRE_FENTRY_HASH];
    uint32_t nblocks; /* 1 .. WIRE_FENTRY_PIECE_MAX */
} wire_fentry_piece_t;

/* A decoded entry; the caller embeds it (wire_fentry_release frees what decode made). A
 * layout 2 entry decodes to its pieces only (blocks NULL, nblocks 0) until
 * wire_fentry_expand fills its blocks from the pieces' bytes. */
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
    wire_fentry_piece_t *pieces; /* a layout 2 entry's pieces in order; NULL otherwise */
    size_t npieces;
} wire_fentry_t;

/* Append e's encoding to out: layout 2 when e has more than WIRE_FENTRY_INLINE_MAX blocks
 * (cut into pieces here) or pieces only, else layout 1. MESH_OK, MESH_EINVAL (e breaks a
 * rule of §18.2: the decoder would refuse it), MESH_ENOMEM (out is then as before). */
MESH_NODISCARD mesh_err_t wire_fentry_encode(const wire_fentry_t *e, wire_buf_t *out);

/* Decode exactly buf[0..len) as one entry; never reads outside it, and allocates only for
 * what the bytes present hold. MESH_OK: *out owns its target and blocks (free them with
 * wire_fentry_release). Error: *out is zeroed. Errors: MESH_EPROTO (malformed, another
 * version, a rule of §18.2 broken, trailing bytes), MESH_ETOOBIG (a cap), MESH_ENOMEM. */
MESH_NODISCARD mesh_err_t wire_fentry_decode(const uint8_t *buf, size_t len, wire_fentry_t *out);

/* Cut blocks[0..n) into pieces (§25): *pieces (malloc'd, NULL when n is 0), *npieces.
 * MESH_OK, MESH_EINVAL (n past WIRE_FENTRY_BLOCKS_MAX), MESH_ENOMEM. */
MESH_NODISCARD mesh_err_t wire_fentry_cut(const wire_fentry_block_t *blocks, size_t n,
                                          wire_fentry_piece_t **pieces, size_t *npieces);

/* Append the bytes of the piece listing blocks[0..n) (1 .. PIECE_MAX of them) to out:
 * array(3) [1, hashes bin, sizes array]. MESH_OK, MESH_EINVAL, MESH_ENOMEM. */
MESH_NODISCARD mesh_err_t wire_fentry_piece_encode(const wire_fentry_block_t *blocks, size_t n,
                                                   wire_buf_t *out);

/* Where a piece's bytes come from: write them into buf (cap bytes) and set *len; MESH_OK,
 * MESH_ENOTFOUND (not held here: the caller may ask for it), or MESH_EPROTO (known not to
 * fit: what a member sent under its name was longer than the piece may be). What it gives
 * is checked. */
typedef mesh_err_t (*wire_fentry_piece_fn)(void *ctx, const wire_fentry_piece_t *piece,
                                           uint8_t *buf, size_t cap, size_t *len);

/* Fill a layout 2 entry's blocks from its pieces (a no-op for one with blocks): fn is asked
 * for every piece (so that it learns all that are missing); each piece is checked against
 * its hash, decoded strictly, must list the number of blocks the entry says and keep the
 * cut rule, and the blocks' sizes must add up to the entry's size. MESH_OK; MESH_ENOTFOUND
 * (a piece is not held: e unchanged); MESH_EPROTO (a piece that does not hash to its name,
 * decode or fit: e unchanged); MESH_ENOMEM. */
MESH_NODISCARD mesh_err_t wire_fentry_expand(wire_fentry_t *e, wire_fentry_piece_fn fn, void *ctx);

/* Does e list exactly blocks[0..n) (hashes and sizes), inline or through its pieces (then
 * blocks are cut and the pieces compared)? False on out of memory. */
bool wire_fentry_lists(const wire_fentry_t *e, const wire_fentry_block_t *blocks, size_t n);

/* Free what e owns and zero it; NULL is a no-op. */
void wire_fentry_release(wire_fentry_t *e);

#endif /* MESH_CORE_WIRE_FENTRY_H */
