/* core/sync/pex.h: peer exchange and paths (docs/PROTOCOL.md §17): telling members the
 * addresses this device knows for other members (PEX), taking theirs into the address books,
 * noting which links worked, keeping the books in the store, and which session each
 * member's latest sets came over (its path, for status).
 * Not here: the book's rules (core/member/addrbook.h), the PEX layout (core/wire/addrs.h),
 * dialling (core/sync/dial.h). Layer: core (sync). Third-party: none. SPDX-License-Identifier: MIT
 */
#ifndef MESH_CORE_SYNC_PEX_H
#define MESH_CORE_SYNC_PEX_H

#include <stdbool.h>
#include <stdint.h>

#include "core/sync/sync.h"
#include "core/wire/doc.h"
#include "core/wire/msg.h"

#define PEX_MINOR       3u    /* a peer of this minor version or later takes PEX (§11.1) */
#define PEX_CHANGED_MS  2000  /* told again at most this often when what we know changed, */
#define PEX_EVERY_MS    60000 /* and this often when it did not */
#define PEX_HEAR_GAP_MS 1000  /* a member's PEX this soon after its last is ignored */
#define PEX_SAVE_MS     5000  /* changed address books are saved this often at most */
#define PEX_WORKED_MS   60000 /* a link that goes on working is noted again this often */
#define PEX_SETTLE_MS   30000 /* after a session comes up, told again when its summary moves */
#define PEX_ORIGINS_MAX 256u  /* origins of one batch looked up for paths */

/* A frame came from s over conn: when it is our own link to s (conn_out), the address
 * dialled worked (noted at most every PEX_WORKED_MS). Cheap: called for every frame. */
void pex_heard(loop_t *l, session_t *s, uint32_t conn);

/* A PEX from s (a member with a session up): each entry for a member of the mesh other
 * than us, each address of the tcp://HOST:PORT form, noted in that member's book (the
 * member's own statement as ADDRBOOK_SELF, else ADDRBOOK_TOLD by s), and a member with a
 * new address and no session dialled (dial_book_changed). Ignored (counted) within
 * PEX_HEAR_GAP_MS of s's last. MESH_OK, or the decoder's error (the caller drops the
 * session: a malformed PEX). */
MESH_NODISCARD mesh_err_t pex_on_msg(loop_t *l, session_t *s, const wire_msg_t *msg);

/* A batch from s was committed: each origin its watermarks name (a member's) took its
 * latest sets over s (its path). */
void pex_note_batch(loop_t *l, session_t *s, const wire_doc_t *doc);

/* Per loop turn and session: tell s (a session up, minor >= PEX_MINOR) what we know, when
 * due: soon after its HELLO, then when it or the peer's summary changed (at most every
 * PEX_CHANGED_MS: a PEX the peer took before the records of the members it names skipped
 * them), or
 * PEX_EVERY_MS passed. Nothing while the MESH_TEST_NO_PEX hook is 1. First, s takes the path
 * kept for its sets while it had no session (pex_note_batch). */
void pex_tick(loop_t *l, session_t *s, int64_t now, sync_send_fn send);

/* Save the address books that changed, in one write: when PEX_SAVE_MS passed since the
 * last save, or at once with now_too (the loop ends). A failure is logged; they stay
 * changed, saved the next time. */
void pex_save(loop_t *l, int64_t now, bool now_too);

#endif /* MESH_CORE_SYNC_PEX_H */
