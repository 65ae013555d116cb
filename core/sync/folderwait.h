/* core/sync/folderwait.h: mesh_folder_wait (meshsync.h): waiting until a folder is in sync,
 * its disk and its index both.
 * Owns: that wait's loop over the daemon's published status (docs/PROTOCOL.md §18.9).
 * Not here: the figures (core/sync/status.c, folders.c), waiting for collections (mesh_wait,
 * core/sync/control.c).
 * Layer: core (sync). Third-party: none. SPDX-License-Identifier: MIT */
#ifndef MESH_CORE_SYNC_FOLDERWAIT_H
#define MESH_CORE_SYNC_FOLDERWAIT_H

#include "meshsync.h"

#endif /* MESH_CORE_SYNC_FOLDERWAIT_H */
