/* core/member/peer.h: the peer calls of the public API: mesh_peer_add and mesh_peers
 * (include/meshsync.h). Its whole interface is public.
 * Layer: core (member). Third-party: none. SPDX-License-Identifier: MIT */
#ifndef MESH_CORE_MEMBER_PEER_H
#define MESH_CORE_MEMBER_PEER_H

#include "meshsync.h"

#endif /* MESH_CORE_MEMBER_PEER_H */
