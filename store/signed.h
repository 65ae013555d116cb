/* store/signed.h: the "signed up to" records of waiting sets (docs/PROTOCOL.md §5.3, §6):
 * per (collection, origin device, incarnation) the last seq a verified header of a set that
 * waited reached, raised only (a monotone max). What causal delivery may count as signed
 * across batches; never what a watermark may cover (that stays the stored headers).
 * Owns: the layout of these records in the `colls` database. Not here: when one is written
 * and the cap on them (core/apply/causal.c). Declared from store.h.
 * Layer: store. Third-party: none (LMDB is reached through env.h). SPDX-License-Identifier: MIT */
#ifndef MESH_STORE_SIGNED_H
#define MESH_STORE_SIGNED_H

#include <stdint.h>

#include "store.h"

/* *end: the record of (cid, device (32 bytes), incarnation). MESH_ENOTFOUND when none. */
MESH_NODISCARD mesh_err_t store_signed_get(store_txn_t *txn, uint32_t cid, const uint8_t *device,
                                           uint64_t incarnation, uint64_t *end);

/* Raise that record to end (made when absent; one above end is kept). */
MESH_NODISCARD mesh_err_t store_signed_raise(store_txn_t *txn, uint32_t cid, const uint8_t *device,
                                             uint64_t incarnation, uint64_t end);

/* Delete that record; deleting an absent one is MESH_OK. */
MESH_NODISCARD mesh_err_t store_signed_del(store_txn_t *txn, uint32_t cid, const uint8_t *device,
                                           uint64_t incarnation);

/* Iterate the records of (cid, device), by incarnation: store_signed_next gives each one's
 * incarnation and end, MESH_ENOTFOUND past the last. Close with store_cursor_close. */
MESH_NODISCARD mesh_err_t store_signed_open(store_txn_t *txn, uint32_t cid, const uint8_t *device,
                                            store_cursor_t **out);
MESH_NODISCARD mesh_err_t store_signed_next(store_cursor_t *cur, uint64_t *incarnation,
                                            uint64_t *end);

#endif /* MESH_STORE_SIGNED_H */
