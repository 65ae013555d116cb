/* core/apply/held.h: the held-back list: sets whose origin was not a member when they came
 * (DESIGN.md, Membership; docs/PROTOCOL.md §8), kept in the store until it becomes one.
 * Owns: putting a set on the list, copying out those whose origin is now a member, and
 * telling which sets of a batch a retry applied. core/apply's own.
 * Not here: applying them (core/apply/apply.c retries them as a batch after a membership
 * change), who is a member (core/member/member.h).
 * Layer: core. Third-party: none. SPDX-License-Identifier: MIT */
#ifndef MESH_CORE_APPLY_HELD_H
#define MESH_CORE_APPLY_HELD_H

#include <stddef.h>
#include <stdint.h>

#include "core/apply/verify.h"
#include "meshsync.h"
#include "store/store.h"

/* Held sets copied out of the store (the read transaction ends before they are applied). */
typedef struct held {
    uint8_t **copies;     /* each: id (STORE_HELD_ID_LEN bytes) then the set bytes */
    const uint8_t **sets; /* into copies: set i's bytes, lens[i] of them */
    const uint8_t **ids;  /* into copies: set i's id */
    size_t *lens;
    size_t n, cap;
} held_t;

/* Hold verified set v back in st: v->res says APPLY_HELD. Errors: the store's. */
MESH_NODISCARD mesh_err_t held_put(store_txn_t *st, verify_set_t *v);

/* Fill h (zeroed by the caller) with copies of the held sets whose origin is now a member
 * of m, in the list's order. MESH_OK: release h with held_release. Error: h is released.
 * Errors: the store's, MESH_ENOMEM. */
MESH_NODISCARD mesh_err_t held_load(mesh_t *m, held_t *h);

/* Free what h holds and zero it; a zeroed h is a no-op. */
void held_release(held_t *h);

/* After held sets were retried: each of vs[0..n) marked APPLY_HELD that is no longer on
 * the list was applied, and is marked APPLY_NEW. Errors: the store's. */
MESH_NODISCARD mesh_err_t held_update(mesh_t *m, verify_set_t *vs, size_t n);

#endif /* MESH_CORE_APPLY_HELD_H */
