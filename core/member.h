/* core/member.h: membership as replicated data (DESIGN.md, Membership; PROTOCOL.md §8).
 * Owns: the reserved collection "_mesh" and its records (genesis, add), their key format,
 * this device's view of who is a member, and mesh_peer_add / mesh_peers.
 * Not here: applying sets (core/apply.c), which asks this module who is a member.
 * Layer: core. Third-party: none. SPDX-License-Identifier: MIT */
#ifndef MESH_CORE_MEMBER_H
#define MESH_CORE_MEMBER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../store/store.h"
#include "meshsync.h"
#include "wire.h"

#define MEMBER_COLL      "_mesh"
#define MEMBER_NAME_MAX  64u  /* bytes in a device name */
#define MEMBER_ADDR_MAX  200u /* bytes in one address */
#define MEMBER_ADDRS_MAX 8u   /* addresses in one add record */

/* The set of member device keys in this device's view. */
typedef struct member_view {
    uint8_t (*keys)[WIRE_ORIGIN_LEN];
    size_t count;
    size_t cap;
} member_view_t;

void member_view_release(member_view_t *view);

/* Rebuild the view: self, plus every origin and every add record's subject held in
 * "_mesh" (only members' sets are ever applied there). */
MESH_NODISCARD mesh_err_t member_view_load(store_txn_t *txn, const uint8_t *self,
                                           member_view_t *view);

/* Is pk a member in the view? */
bool member_is(const member_view_t *view, const uint8_t *pk);

/* Check that an op in "_mesh" from origin is a well-formed record of origin's own:
 * key "genesis/<origin ID>" or "add/<subject ID>/<origin ID>". MESH_OK or MESH_EPROTO. */
MESH_NODISCARD mesh_err_t member_check_op(const wire_opmeta_t *op, const uint8_t *origin);

/* Write this device's genesis record if it has none (at creation). */
MESH_NODISCARD mesh_err_t member_genesis(mesh_t *m);

#endif /* MESH_CORE_MEMBER_H */
