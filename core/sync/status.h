/* core/sync/status.h: what the loop reports about its sync, and when it publishes it.
 * Owns: the figures (per peer and per collection with something left; the receive rate),
 * the devices refused lately, the loop's last warnings, and publishing the status text
 * (HOME/status, and for this process under l->status_lock).
 * Not here: the text's format and reader, mesh_status (core/sync/statusfile.h); the
 * sessions the figures describe (core/sync/session.h).
 * Layer: core (sync). Third-party: none. SPDX-License-Identifier: MIT */
#ifndef MESH_CORE_SYNC_STATUS_H
#define MESH_CORE_SYNC_STATUS_H

#include <stdint.h>

#include "core/sync/sync.h"

typedef struct status status_t; /* the writer's state, l->status; opaque */

/* Make l->status and put its log hook between the node and its log callback (to keep the
 * last warnings and errors). Before the loop thread starts, while nothing else uses l->m.
 * MESH_OK or MESH_ENOMEM (then l->status is NULL and nothing changed). */
MESH_NODISCARD mesh_err_t status_open(loop_t *l);

/* Give the node its own log callback back and free l->status; after the loop thread ended.
 * A NULL l->status is a no-op. */
void status_close(loop_t *l);

/* Each turn of the loop: publish the status as of now (ms) when something it shows changed
 * (a folder settled, a session's state) or a request waits on the control socket (at most
 * every 100 ms), or 250 ms passed: write HOME/status atomically (a temporary file,
 * renamed; on failure the old file stays) and hand the same text to mesh_status in this
 * process. Counting what is left is the costly part: done again only when the store or a
 * peer's view changed, and at most a tenth of the time. Loop thread only. */
void status_tick(loop_t *l, int64_t now);

/* The admission rule refused this CURVE key (TRANSPORT_KEY_LEN bytes): count it among the
 * refusals, and log it, naming the device, the first time and then once a minute at most.
 * Loop thread only. */
void status_refused(loop_t *l, const uint8_t *curve);

#endif /* MESH_CORE_SYNC_STATUS_H */
