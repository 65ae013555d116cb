/* core/sync/control.h: the daemon's control socket (docs/PROTOCOL.md §21) served on the
 * loop thread, and mesh_wait.
 * Owns: what each request does (ping, status, wait, watch), the requests waiting for an
 * answer and the watch subscriptions (each capped), the rule that says a collection is in sync with
 * the connected peers, and the public mesh_wait (over the socket, or on the figures of this process
 * or HOME/status). Not here: the bytes (core/wire/ctlmsg.h), the socket and its directory
 * (transport/ctl.h), the figures (core/sync/status.h, statusfile.h). Layer: core (sync).
 * Third-party: none. SPDX-License-Identifier: MIT */
#ifndef MESH_CORE_SYNC_CONTROL_H
#define MESH_CORE_SYNC_CONTROL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/sync/sync.h"

#define CONTROL_PENDING_MAX      64   /* requests waiting for an answer (status, wait) at once */
#define CONTROL_TURN_MAX         32   /* requests read per turn of the loop */
#define CONTROL_STATUS_MS        1000 /* a status request waits this long for figures as new */
#define CONTROL_STABLE_MS        600  /* in sync this long (publications meanwhile) for a wait */
#define CONTROL_STABLE_FOLDER_MS 200  /* the same for a wait on folder indexes only */
#define CONTROL_WATCH_MAX        64   /* watch subscriptions at once (§21.4): past it, refused */
#define CONTROL_WATCH_MS         5000 /* a watch subscription not renewed this long ends */

/* Listen on the home's control socket and have the transport wake the loop for it.
 * A socket that cannot be made (the directory not private, the path too long) is logged
 * as a warning and left off: clients read HOME/status instead. Before the loop thread
 * starts. MESH_OK, or MESH_ENOMEM. */
MESH_NODISCARD mesh_err_t control_open(loop_t *l);

/* Close the socket (its file removed); the requests still waiting get no answer (their
 * clients see the daemon go). After the loop thread ended. NULL l->control is a no-op. */
void control_close(loop_t *l);

/* Each turn of the loop: read and answer the requests waiting on the socket (at most
 * CONTROL_TURN_MAX), and answer those waiting for newer figures, sync or their timeout.
 * Loop thread only. */
void control_tick(loop_t *l, int64_t now);

/* Does a request wait for a publication (a status for newer figures, a wait for sync)?
 * Then status publishes more often. Loop thread only. */
bool control_waiting(const loop_t *l);

/* The wait rule over a snapshot: count the connected peers and, of those, the ones in sync
 * in every collection of colls[0..n) (all of them: n 0). */
void control_count(const mesh_status_t *st, const char *const *colls, size_t n, size_t *connected,
                   size_t *synced);

#endif /* MESH_CORE_SYNC_CONTROL_H */
