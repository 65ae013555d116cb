/* store/held.h: the records of the held-back list (docs/PROTOCOL.md §6, §8.1): sets whose
 * origin was not a member when they came, each with its arrival order and time, an index
 * oldest first (in all, and per origin), and the running totals the caps are checked on.
 * Owns: the layout of the `held` database and keeping its indexes and totals in step.
 * Not here: the caps and what is dropped (core/apply/held.c). Declared from store.h.
 * Layer: store. Third-party: none (LMDB is reached through env.h). SPDX-License-Identifier: MIT */
#ifndef MESH_STORE_HELD_H
#define MESH_STORE_HELD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"

#define STORE_HELD_ID_LEN 32u /* a held set's id: the caller's hash of its bytes */

/* Totals of held sets: of one origin, or of the whole list. */
typedef struct store_held_totals {
    uint64_t sets;          /* sets held */
    uint64_t bytes;         /* their bytes, as received */
    uint64_t dropped_sets;  /* (whole list only) sets dropped to keep under a cap, ever */
    uint64_t dropped_bytes; /* (whole list only) their bytes */
} store_held_totals_t;

/* One held set as read back. The pointers borrow LMDB memory until the txn ends. */
typedef struct store_held_set {
    const uint8_t *id;     /* STORE_HELD_ID_LEN bytes */
    const uint8_t *origin; /* 32 bytes */
    const uint8_t *set;    /* the set's bytes, as received */
    size_t len;
    int64_t seen_us; /* when it came (unix time, microseconds) */
} store_held_set_t;

/* Hold a set (len bytes) from origin under id, seen at seen_us, as the newest of the list;
 * the totals grow by one set and len bytes. MESH_EEXIST (nothing written) when id is held. */
MESH_NODISCARD mesh_err_t store_held_put(store_txn_t *txn, const uint8_t *id, const uint8_t *origin,
                                         int64_t seen_us, const uint8_t *set, size_t len);

/* Remove the set id (released: applied or rejected now that its origin is a member);
 * removing one not held is MESH_OK. */
MESH_NODISCARD mesh_err_t store_held_del(store_txn_t *txn, const uint8_t *id);

/* Remove the set id to keep under a cap, counting it in the dropped totals; *len (may be
 * NULL) gets its bytes. MESH_ENOTFOUND when not held. */
MESH_NODISCARD mesh_err_t store_held_drop(store_txn_t *txn, const uint8_t *id, size_t *len);

/* MESH_OK if a set with this id is held, MESH_ENOTFOUND if not. */
MESH_NODISCARD mesh_err_t store_held_has(store_txn_t *txn, const uint8_t *id);

/* The id of the oldest set held: of origin, or of all when origin is NULL. *id borrows
 * LMDB memory until the next write. MESH_ENOTFOUND when there is none. */
MESH_NODISCARD mesh_err_t store_held_oldest(store_txn_t *txn, const uint8_t *origin,
                                            const uint8_t **id);

/* The totals of origin's held sets, or of the whole list when origin is NULL (zero when
 * nothing is held). With origin, *first_us and *last_us (may be NULL) get when its oldest
 * and newest held sets came (0 when none). */
MESH_NODISCARD mesh_err_t store_held_totals(store_txn_t *txn, const uint8_t *origin,
                                            store_held_totals_t *out, int64_t *first_us,
                                            int64_t *last_us);

/* Iterate the held sets, oldest first: store_held_next fills *out, MESH_ENOTFOUND past the
 * last. Close the cursor with store_cursor_close. */
MESH_NODISCARD mesh_err_t store_held_open(store_txn_t *txn, store_cursor_t **out);
MESH_NODISCARD mesh_err_t store_held_next(store_cursor_t *cur, store_held_set_t *out);

/* Iterate the origins that have sets held, in key order: each gives the origin (32 bytes,
 * borrowed) and its totals; MESH_ENOTFOUND past the last. */
MESH_NODISCARD mesh_err_t store_held_origins_open(store_txn_t *txn, store_cursor_t **out);
MESH_NODISCARD mesh_err_t store_held_origins_next(store_cursor_t *cur, const uint8_t **origin,
                                                  store_held_totals_t *out);

/* Does the list hold records of the layout before §6's current one (id -> origin || set,
 * with no order and no totals)? A read: false once the totals record exists. */
bool store_held_is_old(store_txn_t *txn);

/* Bring those records into the current layout, as the newest of the list in key order,
 * seen at now_us. *upgraded (may be NULL) says how many. A no-op once it was done. */
MESH_NODISCARD mesh_err_t store_held_upgrade(store_txn_t *txn, int64_t now_us, size_t *upgraded);

#endif /* MESH_STORE_HELD_H */
