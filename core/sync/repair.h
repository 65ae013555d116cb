/* core/sync/repair.h: the slow path with one member (docs/PROTOCOL.md §13): RANGE and
 * REPAIR messages, a repair collection by collection, and its log line.
 * Owns: struct sync_repair (one per session at most) and its life: started by the session
 * when equal vectors meet unequal summaries, answered range list by range list
 * (core/data/recon.h), the versions found sent and applied (core/bundle/repair.h), given up
 * after a silence. Not here: when to start (core/sync/session.c), the engine, the bytes.
 * Layer: core (sync). Third-party: none. SPDX-License-Identifier: MIT */
#ifndef MESH_CORE_SYNC_REPAIR_H
#define MESH_CORE_SYNC_REPAIR_H

#include <stdbool.h>
#include <stdint.h>

#include "core/sync/sync.h"

#define REPAIR_IDLE_MS   30000      /* a repair that hears nothing this long is given up */
#define REPAIR_BATCH     (1u << 20) /* bytes of sets per REPAIR message, about */
#define REPAIR_RETRY_MS  30000      /* no new repair with a member sooner than this after one */
#define REPAIR_ANSWER_MS 10000      /* nor one a member starts here sooner than this after one */
#define REPAIR_QUIET_MS  3000       /* a repair nothing was heard or sent of this long: not live */

/* Start a repair with s over every collection this device holds, one after the other,
 * for reason (a static text, logged). MESH_OK, or the store's errors / MESH_ENOMEM
 * (nothing started). */
MESH_NODISCARD mesh_err_t repair_start(loop_t *l, session_t *s, const char *reason,
                                       sync_send_fn send);

/* A RANGE or REPAIR from s. A malformed one, or one past a cap, ends the repair and
 * returns MESH_EPROTO / MESH_ETOOBIG: the session then drops the peer. */
MESH_NODISCARD mesh_err_t repair_on_msg(loop_t *l, session_t *s, const wire_msg_t *msg,
                                        sync_send_fn send);

/* Send what is due (versions waiting for the link), and give up a repair idle too long. */
void repair_tick(loop_t *l, session_t *s, int64_t now, sync_send_fn send);

/* Is a repair with s under way and moving (a message of it heard or sent, or a collection
 * of it started, within REPAIR_QUIET_MS, stretched by the loop's slowness)? A repair the
 * peer did not answer (it refuses one sooner than REPAIR_ANSWER_MS after the last it
 * answered, even across our restarts) is kept until REPAIR_IDLE_MS, but is not live: the
 * status does not count it as busy. */
bool repair_live(const loop_t *l, const session_t *s, int64_t now);

/* End s's repair, if any, without a word (the session went down). */
void repair_end(session_t *s);

#endif /* MESH_CORE_SYNC_REPAIR_H */
