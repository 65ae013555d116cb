/* core/sync/loop.h: the node's own event-loop thread (DESIGN.md, Concurrency; PROTOCOL.md
 * §11), as the top of core starts and stops it.
 * Owns: the thread. Its parts: dialling (core/sync/dial.h), the session protocol
 * (core/sync/session.h), our own vector (core/sync/own.h), the status
 * (core/sync/status.h), their shared state (core/sync/sync.h).
 * Not here: the bytes (core/wire), what a batch carries (core/bundle), applying
 * (core/apply), verifying ahead (core/sync/checker.h), sockets (transport/).
 * Layer: core (sync). Third-party: none. SPDX-License-Identifier: MIT */
#ifndef MESH_CORE_LOOP_H
#define MESH_CORE_LOOP_H

#include <stdbool.h>
#include <stdint.h>

#include "core/sync/discover.h"
#include "meshsync.h"

typedef struct loop loop_t;

/* Start the loop thread of m: listen on listen (NULL: dial out only), connect to every
 * member's known addresses, and sync. With keep_heap, first tune the process's allocator
 * for it (mesh_options_t.daemon_heap). With disc on, LAN discovery too (discover.h).
 * With external, start no thread: the caller runs the loop with loop_fd and loop_process.
 * Returns once the transport listens. Errors: MESH_EIO (with detail on m), MESH_ENOMEM, and
 * discover_open's. */
MESH_NODISCARD mesh_err_t loop_start(mesh_t *m, const char *listen, bool keep_heap,
                                     const discover_config_t *disc, bool external, loop_t **out);

/* Stop the thread and wait for it (external: commit and save on the calling thread);
 * NULL is a no-op. */
void loop_stop(loop_t *loop);

/* How long the loop may wait for a frame now, in ms (0: it has work). */
int64_t loop_wait_ms(const loop_t *l);

/* External loop (loop_start with external): a descriptor that becomes readable when
 * loop_process has work (a socket may have a frame, or a timer is due); -1 when the loop
 * runs its own thread. */
int loop_fd(const loop_t *l);

/* External loop: run turns of the loop, without waiting, while frames come in, for at most
 * LOOP_PROCESS_MS; then set loop_fd to wake at the next turn due. MESH_ESTATE when the loop
 * runs its own thread; MESH_EIO when the descriptor cannot be set. */
MESH_NODISCARD mesh_err_t loop_process(loop_t *l);

#endif /* MESH_CORE_LOOP_H */
