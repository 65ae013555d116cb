/* core/sync/status.h: what the node reports about its sync (docs/PROTOCOL.md §11.4).
 * Owns: HOME/status. Not here: the sessions it describes (core/sync/session.h).
 * Layer: core (sync). Third-party: none. SPDX-License-Identifier: MIT */
#ifndef MESH_CORE_SYNC_STATUS_H
#define MESH_CORE_SYNC_STATUS_H

#include <stdint.h>

#include "core/sync/sync.h"

/* Write HOME/status as of now (ms), atomically (a temporary file, renamed); on failure the
 * old file stays. Loop thread only. */
void status_write(loop_t *l, int64_t now);

#endif /* MESH_CORE_SYNC_STATUS_H */
