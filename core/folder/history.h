/* core/folder/history.h: what a folder kept on this device, for its user (docs/PROTOCOL.md
 * §19.2, §19.3, §24): the public calls that list and restore kept versions
 * (mesh_folder_versions, mesh_folder_restore) and list conflict copies
 * (mesh_folder_conflicts), each over the folder's directory, with or without a daemon.
 * Owns: those calls and their lists. Not here: keeping and expiring versions (realize,
 * fs/versions.h), naming copies (fs/conflict.h), the registry (core/folder/registry.h).
 * Layer: core (folder). Third-party: none. SPDX-License-Identifier: MIT */
#ifndef MESH_CORE_FOLDER_HISTORY_H
#define MESH_CORE_FOLDER_HISTORY_H

#include "meshsync.h"

#define HISTORY_CONFLICTS_MAX 10000u /* conflict copies listed by one call */

#endif /* MESH_CORE_FOLDER_HISTORY_H */
