/* core/sync/status.h: what the node reports about its sync (docs/PROTOCOL.md §11.4), and
 * the public mesh_status calls (include/meshsync.h) that read it back.
 * Owns: HOME/status and the published status text. Not here: the sessions it describes
 * (core/sync/session.h).
 * Layer: core (sync). Third-party: none. SPDX-License-Identifier: MIT */
#ifndef MESH_CORE_SYNC_STATUS_H
#define MESH_CORE_SYNC_STATUS_H

#include <stdint.h>

#include "core/sync/sync.h"

/* Publish the status as of now (ms): write HOME/status atomically (a temporary file,
 * renamed; on failure the old file stays) for a CLI beside this process, and hand the same
 * text to mesh_status in this process (under l->status_lock). Loop thread only. */
void status_publish(loop_t *l, int64_t now);

#endif /* MESH_CORE_SYNC_STATUS_H */
