/* core/loop.h: the node's own event-loop thread (DESIGN.md, Concurrency; PROTOCOL.md §11).
 * Owns: the transport, one sync session per connected member, the session protocol (hello
 * and version negotiation, vectors, bounded batches with acknowledgements, live push of
 * new commits, ping/pong), and the status file a CLI reads.
 * Not here: the bytes (core/wire.c), what a batch carries (core/bundle.c), applying
 * (core/apply.c), sockets (transport/).
 * Layer: core. Third-party: none. SPDX-License-Identifier: MIT */
#ifndef MESH_CORE_LOOP_H
#define MESH_CORE_LOOP_H

#include "meshsync.h"

#define LOOP_BATCH_BYTES (1u << 20) /* set bytes per batch, cut at a set boundary */
#define LOOP_PING_MS 1000           /* ping a silent peer this often */
#define LOOP_DEAD_MS 4000           /* a peer silent this long is disconnected */
#define LOOP_STATUS_MS 250          /* status file refresh */
#define LOOP_SESSIONS_MAX 64u

typedef struct loop loop_t;

/* Start the loop thread of m: listen on listen (NULL: dial out only), connect to every
 * member's known addresses, and sync. Returns once the transport listens.
 * Errors: MESH_EIO (with detail on m), MESH_ENOMEM. */
MESH_NODISCARD mesh_err_t loop_start(mesh_t *m, const char *listen, loop_t **out);

/* Stop the thread and wait for it; NULL is a no-op. */
void loop_stop(loop_t *loop);

#endif /* MESH_CORE_LOOP_H */
