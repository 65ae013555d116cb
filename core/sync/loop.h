/* core/loop.h: the node's own event-loop thread (DESIGN.md, Concurrency; PROTOCOL.md §11).
 * Owns: the transport, dialling and re-dialling members, one sync session per connected
 * member, the session protocol (hello and version negotiation, summaries and vectors,
 * passes of bounded batches under credit, grouped commits with acknowledgements, live push
 * of new commits, ping/pong), and the status file a CLI reads.
 * Not here: the bytes (core/wire.c), what a batch carries (core/bundle.c), applying
 * (core/apply.c), verifying ahead (core/checker.c), sockets (transport/).
 * Layer: core. Third-party: none. SPDX-License-Identifier: MIT */
#ifndef MESH_CORE_LOOP_H
#define MESH_CORE_LOOP_H

#include "meshsync.h"

#define LOOP_BATCH_BYTES      (1u << 20)  /* set bytes per batch, cut at a set boundary */
#define LOOP_CREDIT           48u         /* batches a peer may have in flight to us */
#define LOOP_GROUP_BATCHES    64u         /* received batches committed in one transaction, */
#define LOOP_GROUP_BYTES      (32u << 20) /* at most, or this many bytes, */
#define LOOP_GROUP_MS         1000        /* or whatever came before the sender paused this long */
#define LOOP_QUEUE_BATCHES    (2 * LOOP_CREDIT) /* received batches queued, checked ahead */
#define LOOP_RELEASE_OPS      20000u            /* after applying this many ops, */
#define LOOP_RELEASE_MS       1000 /* and a second without any, the store gives memory back */
#define LOOP_RELEASE_SENT     (32u << 20) /* so does the heap after this many batch bytes sent */
#define LOOP_PING_MS          1000        /* ping a silent peer this often */
#define LOOP_DEAD_MS          4000        /* a peer silent this long is disconnected */
#define LOOP_HELLO_RETRY_MS   2000        /* a HELLO unanswered this long is said again */
#define LOOP_REDIAL_MIN_MS    3000        /* no session this long after dialling: dial again, */
#define LOOP_REDIAL_MAX_MS    30000       /* waiting twice as long each time, up to this */
#define LOOP_REFUSED_RETRY_MS 60000       /* a peer that refused our version: HELLO again after */
#define LOOP_STATUS_MS        250         /* status file refresh */
#define LOOP_SESSIONS_MAX     64u

typedef struct loop loop_t;

/* Start the loop thread of m: listen on listen (NULL: dial out only), connect to every
 * member's known addresses, and sync. Returns once the transport listens.
 * Errors: MESH_EIO (with detail on m), MESH_ENOMEM. */
MESH_NODISCARD mesh_err_t loop_start(mesh_t *m, const char *listen, loop_t **out);

/* Stop the thread and wait for it; NULL is a no-op. */
void loop_stop(loop_t *loop);

#endif /* MESH_CORE_LOOP_H */
