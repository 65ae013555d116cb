/* core/data/read.h: the read side of the public API (mesh_get, mesh_get_versions,
 * mesh_iter_*, mesh_log, mesh_digest, mesh_collections and their result lists in meshsync.h).
 * Owns: short read transactions that return the winner, the siblings, prefix iteration,
 * the list of change sets and the collection digest. Its whole interface is public.
 * Layer: core. Third-party: none. SPDX-License-Identifier: MIT */
#ifndef MESH_CORE_READ_H
#define MESH_CORE_READ_H

#include "meshsync.h"

#endif /* MESH_CORE_READ_H */
