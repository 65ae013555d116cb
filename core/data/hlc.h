/* core/data/hlc.h: the node's hybrid logical clock (docs/PROTOCOL.md §5).
 * Owns: the clock's value (48 bits of Unix milliseconds, 16 bits of counter), persisted in
 * the store's metadata with every commit so that it never goes backwards.
 * Layer: core. Third-party: none. SPDX-License-Identifier: MIT */
#ifndef MESH_CORE_HLC_H
#define MESH_CORE_HLC_H

#include <stdint.h>

#include "meshsync.h"
#include "store/store.h"

#define HLC_SKEW_MAX_MS 60000u /* remote clocks further ahead are never folded in */

/* Allocate the next HLC inside write transaction txn: above both the stored clock and the
 * wall clock; stores it. */
MESH_NODISCARD mesh_err_t hlc_next(store_txn_t *txn, uint64_t *hlc);

/* Fold a remote HLC into the stored clock (inside write transaction txn), unless it is
 * more than HLC_SKEW_MAX_MS ahead of the wall clock: then the clock is left alone. */
MESH_NODISCARD mesh_err_t hlc_observe(store_txn_t *txn, uint64_t remote);

/* The milliseconds part of an HLC. */
uint64_t hlc_ms(uint64_t hlc);

#endif /* MESH_CORE_HLC_H */
