/* core/member/peer.h: the peer calls of the public API: mesh_peer_add, mesh_peers and the
 * peer list (include/meshsync.h); for the sync loop, a member's addresses as one line, and
 * those its records give that are not addresses (left out of the list).
 * Layer: core (member). Third-party: none. SPDX-License-Identifier: MIT */
#ifndef MESH_CORE_MEMBER_PEER_H
#define MESH_CORE_MEMBER_PEER_H

#include "meshsync.h"

/* Member i's addresses, space-separated ("" if none), whatever their number and length;
 * NULL when i is past the list. Owned by list: valid until mesh_peer_list_free. */
const char *peer_list_addrs_text(const mesh_peer_list_t *list, size_t i);

/* How many addresses member i's records give that are not of the tcp://HOST:PORT form
 * (core/member/addr.h), which the list leaves out; *first is the first of them (NUL-ended,
 * may hold any byte but NUL; owned by list) or NULL. 0 when i is past the list. */
size_t peer_list_ignored(const mesh_peer_list_t *list, size_t i, const char **first);

#endif /* MESH_CORE_MEMBER_PEER_H */
