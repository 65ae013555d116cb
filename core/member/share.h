/* core/member/share.h: the sharing calls of the public API: mesh_share, mesh_unshare,
 * mesh_members and its list (include/meshsync.h); for the sync loop, whether a device may
 * hold a collection as this device's store says now.
 * Layer: core (member). Third-party: none. SPDX-License-Identifier: MIT */
#ifndef MESH_CORE_MEMBER_SHARE_H
#define MESH_CORE_MEMBER_SHARE_H

#include <stdbool.h>
#include <stdint.h>

#include "meshsync.h"

/* May device pk hold coll, by coll's access list in the store now (PROTOCOL.md §8.3)?
 * *yes is true when coll has no list. Errors: the store's (with the handle's detail; *yes
 * is then false). */
MESH_NODISCARD mesh_err_t share_may_hold(mesh_t *m, const char *coll, const uint8_t *pk, bool *yes);

#endif /* MESH_CORE_MEMBER_SHARE_H */
