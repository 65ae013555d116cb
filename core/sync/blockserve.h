/* core/sync/blockserve.h: answering members' block requests (docs/PROTOCOL.md §18.6-§18.7):
 * a BLOCK_REQ of either layout answered from the block index for a member that may read the
 * folder, within a per-second budget of answers and bytes; requests past it kept in order
 * and answered in a later second (past that cap too, dropped: the asker asks again).
 * Owns: the budget, the requests kept for later, the read rights asked lately, the answer's
 * buffers. Not here: asking for blocks and taking answers in (core/sync/folders.c), reading
 * a block (core/folder/blockidx.h), the bodies' layout (core/wire/blockmsg.h).
 * Layer: core (sync). Third-party: none. SPDX-License-Identifier: MIT */
#ifndef MESH_CORE_SYNC_BLOCKSERVE_H
#define MESH_CORE_SYNC_BLOCKSERVE_H

#include <stddef.h>
#include <stdint.h>

#include "core/folder/blockidx.h"
#include "core/folder/index.h"
#include "core/sync/sync.h"

#define BLOCKSERVE_PER_S   8192u        /* BLOCKs sent per second, all members (more: wait), */
#define BLOCKSERVE_BYTES_S (1ull << 30) /* and their bytes per second */
#define BLOCKSERVE_LATER   512u         /* requests past the budget kept (more: dropped) */

typedef struct blockserve blockserve_t;

/* A server for the joined folders f[0..*n) (the caller's array and count, read at each
 * call) and their block index bi. NULL when out of memory. */
blockserve_t *blockserve_new(folder_t *const *f, const size_t *n, blockidx_t *bi);

/* Free bs; NULL is a no-op. */
void blockserve_free(blockserve_t *bs);

/* A folder is about to be freed: forget the read rights asked lately (they name folders by
 * address). */
void blockserve_forget(blockserve_t *bs);

/* A BLOCK_REQ from s: the requests kept earlier first, then this one's blocks as the budget
 * allows (layout 2: those in one BLOCK of layout 2, at most WIRE_BLOCKMSG_MULTI_BYTES of
 * data, a larger block alone in a BLOCK of layout 1); the rest kept. MESH_EPROTO when its
 * body is malformed. */
MESH_NODISCARD mesh_err_t blockserve_on_req(loop_t *l, blockserve_t *bs, session_t *s,
                                            const wire_msg_t *msg, sync_send_fn send);

/* Answer the requests kept past the budget, the oldest first, while this second's budget
 * allows; one whose member restarted or went silent since is dropped (it asks again). */
void blockserve_later(loop_t *l, blockserve_t *bs, sync_send_fn send);

#endif /* MESH_CORE_SYNC_BLOCKSERVE_H */
