/* core/apply/held.h: the held-back list: sets whose origin was not a member when they came
 * (DESIGN.md, Membership; docs/PROTOCOL.md §8, §8.1), kept in the store until it becomes one.
 * Owns: the caps on the list (per origin and in all, oldest dropped first), putting a set
 * on it, copying out those whose origin is now a member, telling which sets of a batch a
 * retry applied, and the public listing (mesh_held, mesh_held_summary). core/apply's own.
 * Not here: applying them (core/apply/apply.c retries them as a batch after a membership
 * change), who is a member (core/member/member.h), the records (store/held.h).
 * Layer: core. Third-party: none. SPDX-License-Identifier: MIT */
#ifndef MESH_CORE_APPLY_HELD_H
#define MESH_CORE_APPLY_HELD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/apply/verify.h"
#include "meshsync.h"
#include "store/store.h"

/* The caps of docs/PROTOCOL.md §8.1. Past one, the oldest held sets (of that origin, or of
 * all) are dropped until the new one fits; a set larger than HELD_ORIGIN_BYTES_MAX alone is
 * not kept at all (rejected, MESH_ETOOBIG). */
#define HELD_ORIGIN_SETS_MAX  1024u       /* sets held per origin */
#define HELD_ORIGIN_BYTES_MAX (4u << 20)  /* set bytes held per origin */
#define HELD_SETS_MAX         4096u       /* sets held in all */
#define HELD_BYTES_MAX        (16u << 20) /* set bytes held in all */

/* Held sets copied out of the store (the read transaction ends before they are applied). */
typedef struct held {
    uint8_t **copies;     /* each: id (STORE_HELD_ID_LEN bytes) then the set bytes */
    const uint8_t **sets; /* into copies: set i's bytes, lens[i] of them */
    const uint8_t **ids;  /* into copies: set i's id */
    size_t *lens;
    size_t n, cap;
} held_t;

/* Hold verified set v of a non-member back in st (v->res says APPLY_HELD), dropping the
 * oldest held sets, of its origin first, then of all, until it fits the caps; held already,
 * it stays as it is. A set over HELD_ORIGIN_BYTES_MAX is not kept: v->res says
 * APPLY_REJECTED (MESH_ETOOBIG) with the reason. Errors: the store's. */
MESH_NODISCARD mesh_err_t held_put(mesh_t *m, store_txn_t *st, verify_set_t *v);

/* v's origin is not a member. When it was removed (DESIGN.md, Membership): at or below
 * the frozen cut (provisional records count in it), *apply is set (v goes through the
 * rules); above it, v is held back while a member has not published its final (not
 * provisional) frozen record, else rejected for good (MESH_EUNPAIRED).
 * Otherwise v is held (held_put). Errors: the store's, MESH_ENOMEM. */
MESH_NODISCARD mesh_err_t held_or_cut(mesh_t *m, store_txn_t *st, verify_set_t *v, bool *apply);

/* The highest seq of removed device origin (incarnation inc, collection coll) that a
 * watermark may claim here: its frozen cut (0: none published yet). Dots up to the cut are
 * valid everywhere, so a member's watermark over them is as good as over a member's: without
 * it, a dot of the removed device superseded everywhere before this device took it stayed a
 * gap in its vector for good, its acknowledgement's base stopped there, and no tombstone
 * whose context names the device's dots above was ever collected (§8.4). Errors: the
 * store's, MESH_ENOMEM. */
MESH_NODISCARD mesh_err_t held_mark_cut(store_txn_t *st, const uint8_t *origin, uint64_t inc,
                                        const char *coll, uint64_t *cut);

/* Fill h (zeroed by the caller) with copies of the held sets whose origin is now a member
 * of m, or removed (its cut may be known now), oldest first. MESH_OK: release h with held_release.
 * Error: h is released. Errors: the store's, MESH_ENOMEM. */
MESH_NODISCARD mesh_err_t held_load(mesh_t *m, held_t *h);

/* Free what h holds and zero it; a zeroed h is a no-op. */
void held_release(held_t *h);

/* After held sets were retried: each of vs[0..n) marked APPLY_HELD that is no longer on
 * the list was applied, and is marked APPLY_NEW. Errors: the store's. */
MESH_NODISCARD mesh_err_t held_update(mesh_t *m, verify_set_t *vs, size_t n);

/* Bring a list kept by an older version into the layout of docs/PROTOCOL.md §6 (once, at
 * open; a read when there is nothing to do). Errors: the store's. */
MESH_NODISCARD mesh_err_t held_upgrade(mesh_t *m);

#endif /* MESH_CORE_APPLY_HELD_H */
