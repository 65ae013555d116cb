/* core/folder/pieces.h: a large file's block list in pieces (docs/PROTOCOL.md §25) on the
 * receiving side: the pieces wanted from members (asked through realize_wanted), held until
 * a pass reads them into a whole block list, or gone stale; large files' turns at the caps,
 * so that pieces nobody sends hold them for one or two rescan periods, not for ever.
 * Owns: the pieces of one folder and their caps. Not here: the piece format and the cut
 * (core/wire/fentry.h), the files they list (core/folder/realize.h), who is asked (the loop).
 * Layer: core (folder). Third-party: none. SPDX-License-Identifier: MIT */
#ifndef MESH_CORE_FOLDER_PIECES_H
#define MESH_CORE_FOLDER_PIECES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/folder/blockidx.h"
#include "core/wire/fentry.h"
#include "meshsync.h"

#define PIECES_MAX   4096u      /* pieces of large files' block lists wanted or held, */
#define PIECES_BYTES (4u << 20) /* and the bytes reserved for them (one folder) */

/* A piece of a large file's block list (§25) wanted from members, or held until a pass
 * reads it. */
typedef struct pieces_piece {
    uint8_t hash[WIRE_FENTRY_HASH];
    uint8_t *data; /* NULL: still wanted */
    uint32_t len;
    uint32_t cap;  /* bytes reserved for it: WIRE_FENTRY_PIECE_SIZE(its blocks) */
    uint64_t pass; /* the last pass that asked for it */
    uint64_t born; /* full passes made when it was reserved (pieces_trim) */
    bool used;     /* read into a whole block list by this pass: dropped at its end */
    bool too_long; /* a member sent more bytes under its name than the piece may hold */
    bool stale;    /* waited for through a rescan period: still wanted, reserves no bytes,
                    * and its slot may go to a new piece */
} pieces_piece_t;

/* A large file's turn at reserving pieces (§25): first come, first served; a path whose
 * pieces did not all come within a rescan period or two goes to the back of the queue. */
typedef struct pieces_turn {
    uint8_t key[16]; /* hash of the path */
    uint64_t seq;    /* its place in the queue */
    uint64_t pass;   /* the last pass that asked for its pieces */
    uint64_t since;  /* full passes made when it could first reserve (granted) */
    bool granted;    /* it could reserve */
    bool satisfied;  /* every piece it lacks was reserved at its last look */
} pieces_turn_t;

/* One folder's pieces: zeroed to start (nothing to allocate), pieces_release to end. The
 * fields are pieces.c's. */
typedef struct pieces {
    pieces_piece_t *pieces; /* PIECES_MAX slots (made at the first want) */
    uint16_t *pidx;         /* slots by hash: 0 free, a tomb, else a piece's slot + 1 */
    size_t npieces;
    size_t piece_bytes;   /* reserved by them (PIECES_BYTES) */
    uint64_t passes;      /* realize passes made */
    uint64_t fulls;       /* full passes made */
    size_t nstale;        /* pieces stale */
    size_t stale_at;      /* where the next look for a stale slot starts */
    pieces_turn_t *turns; /* paths waiting for pieces, in no order (seq orders them) */
    size_t nturns, turns_cap;
    uint64_t next_seq;
} pieces_t;

/* Free what ps holds and zero it. */
void pieces_release(pieces_t *ps);

/* A realize pass begins. */
void pieces_pass(pieces_t *ps);

/* Fill e's block list (the large file at path) from its pieces: each from the pieces held
 * here, from any local file's record (bi), else wanted (reserved while the caps and path's
 * turn allow). MESH_OK: e's blocks listed, *fetched the pieces members sent; MESH_ENOTFOUND:
 * some are wanted (the path waits); MESH_EPROTO: a piece does not match the entry (refuse
 * it); MESH_ENOMEM. */
MESH_NODISCARD mesh_err_t pieces_expand(pieces_t *ps, const blockidx_t *bi, const char *path,
                                        wire_fentry_t *e, size_t *fetched);

/* At the end of a pass (full: every path was looked at): drop the pieces read into block
 * lists, and after a full pass the pieces no path asked for; pieces reserved two full passes
 * ago and still not read go stale (their bytes freed); turns over go to the back. */
void pieces_trim(pieces_t *ps, bool full);

/* Call fn with each wanted piece's name to ask of members: at most 256 at a time, the
 * longest reserved first, none stale. */
void pieces_wanted(const pieces_t *ps, void (*fn)(void *ctx, const uint8_t *hash), void *ctx);

/* A block members sent under hash: kept when it is a wanted piece (true: the next pass reads
 * it); one longer than the piece may be is not kept, and its entry is refused then. */
bool pieces_block(pieces_t *ps, const uint8_t *hash, const uint8_t *data, size_t len);

#endif /* MESH_CORE_FOLDER_PIECES_H */
