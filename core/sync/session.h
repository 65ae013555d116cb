/* core/sync/session.h: the session protocol with one member (docs/PROTOCOL.md §11), as the
 * loop thread drives it: a message in, a turn of pushing, the timers, the commits.
 * Owns: what a session says and when. Not here: dialling (core/sync/dial.h), the thread
 * (core/sync/loop.h), the queue of received batches (core/sync/inbox.h).
 * Layer: core (sync). Third-party: none. SPDX-License-Identifier: MIT */
#ifndef MESH_CORE_SYNC_SESSION_H
#define MESH_CORE_SYNC_SESSION_H

#include <stdbool.h>
#include <stdint.h>

#include "core/sync/sync.h"
#include "transport/transport.h"

/* Take one frame from the transport: find its session, decode it and act on it (a HELLO
 * starts or answers the session, a VECTOR replaces the view, a BATCH is queued, an ACK
 * moves the pass on, ...); then push what the session may send. A malformed frame drops
 * the session (logged); nothing is returned, the loop goes on with the others. */
void session_on_msg(loop_t *l, const transport_msg_t *tm);

/* Send what the view of s lacks: start a pass when there is reason to, then a few batches
 * while the peer's credit lasts. */
void session_push(loop_t *l, session_t *s);

/* Could session_push send more right now? (Then the loop does not sleep.) */
bool session_can_push(const session_t *s);

/* The timers of every session at now (ms): silence, a refused peer tried again, redialling
 * (dial_redial), HELLO again, ping, summary again, and resending what went unacknowledged. */
void session_tick(loop_t *l, int64_t now);

/* Commit the oldest queued batches, a group of them, in one write transaction, and
 * acknowledge each session's last among them. */
void session_flush_group(loop_t *l);

/* Send the acknowledgements of spooled batches that an apply committed (core/sync/spool.h:
 * spool_next_ack), each with the summary after it; a sender that restarted since its batch
 * came gets none (it numbers its batches anew). Called after anything that may end an
 * apply: a flush, and the loop's turn (spool_tick). */
void session_ack_spooled(loop_t *l);

/* Commit every queued batch, a group at a time. */
void session_flush(loop_t *l);

/* Keep in the store what each session last agreed on with its member (its summary and
 * vector, "agreed/<ID>" in the metadata) when it changed: the loop's last act. */
void session_save(loop_t *l);

#endif /* MESH_CORE_SYNC_SESSION_H */
