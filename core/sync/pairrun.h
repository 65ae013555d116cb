/* core/sync/pairrun.h: pairing by code as the public calls run it (docs/PROTOCOL.md §15.5):
 * mesh_pair_open, mesh_pair_code, mesh_pair_endpoint, mesh_pair_wait, mesh_pair_close and
 * mesh_pair_join, declared in include/meshsync.h; nothing else is exported.
 * Owns: the pairing listener (its fixed key, one attempt at a time, rate limit, expiry,
 * single use, HOME/pair.lock), the joiner's connection, the records written after success.
 * Not here: the exchange (core/sync/pair.h), the messages (core/wire/pairmsg.h).
 * Layer: core (sync). Third-party: none. SPDX-License-Identifier: MIT */
#ifndef MESH_CORE_SYNC_PAIRRUN_H
#define MESH_CORE_SYNC_PAIRRUN_H

#include "meshsync.h" /* the mesh_pair_* calls */

#endif /* MESH_CORE_SYNC_PAIRRUN_H */
