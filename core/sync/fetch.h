/* core/sync/fetch.h: fetching the blocks a device's pending files lack (docs/PROTOCOL.md
 * §18.6-§18.7): the wanted list (read from realize's pending transfers, a hash table over
 * it), BLOCK_REQs to members in turn within the caps in flight (up to FETCH_REQ_BLOCKS of a
 * folder in one request to a member that takes layout 2), timeouts, and the BLOCK answers:
 * each block handed to the block workers with the places that want it (or checked and
 * written here when there are none), a bad or missing one asked of another member.
 * Owns: the wanted list and the requests in flight, the block workers. Not here: what the
 * pending files are and where a block goes (core/folder/realize.h, transfer.h), answering
 * members (core/sync/blockserve.h), the bodies' layout (core/wire/blockmsg.h).
 * Layer: core (sync). Third-party: none. SPDX-License-Identifier: MIT */
#ifndef MESH_CORE_SYNC_FETCH_H
#define MESH_CORE_SYNC_FETCH_H

#include <stddef.h>
#include <stdint.h>

#include "core/folder/index.h"
#include "core/sync/sync.h"

#define FETCH_INFLIGHT_MAX   128u  /* block requests in flight, all members */
#define FETCH_INFLIGHT_PEER  64u   /* and to one member (each counted per block) */
#define FETCH_REQ_BLOCKS     16u   /* blocks asked in one BLOCK_REQ (layout 2), at most */
#define FETCH_MULTI_MINOR    5u    /* a member of this minor version or later takes it */
#define FETCH_WANT_MAX       8192u /* blocks waited for at once (more: a later turn) */
#define FETCH_REQ_TIMEOUT_MS 10000 /* a request unanswered this long: ask another */
#define FETCH_WANTED_MS      100   /* what pending files lack read again at least this often */

typedef struct fetch fetch_t;

/* Fetching for the joined folders f[0..*n) (the caller's array and count, read at each
 * call). NULL when out of memory. */
fetch_t *fetch_new(folder_t *const *f, const size_t *n);

/* Free ft (its workers joined; call fetch_drain first); NULL is a no-op. */
void fetch_free(fetch_t *ft);

/* Folder f is about to be freed: the answers to its requests go nowhere. */
void fetch_forget(fetch_t *ft, const folder_t *f);

/* A realize pass ran: new files may lack blocks (the wanted list is read at the next turn). */
void fetch_passed(fetch_t *ft);

/* One turn at now (ms): the wanted list when due, timeouts, requests while the caps allow. */
void fetch_turn(loop_t *l, fetch_t *ft, int64_t now, sync_send_fn send);

/* Take in the blocks the workers checked and wrote (drain: wait for every one first). */
void fetch_checked(loop_t *l, fetch_t *ft, bool drain);

/* A BLOCK from s (layout 1 or 2). MESH_EPROTO when its body is malformed. */
MESH_NODISCARD mesh_err_t fetch_on_block(loop_t *l, fetch_t *ft, session_t *s,
                                         const wire_msg_t *msg);

#endif /* MESH_CORE_SYNC_FETCH_H */
