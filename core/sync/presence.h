/* core/sync/presence.h: presence and ephemeral messages (docs/PROTOCOL.md §22): which
 * members have a session up now (the public mesh_presence calls and their callback), and
 * MESSAGEs to one member or to every connected member on a topic (mesh_send, mesh_subscribe):
 * queued by the caller's thread, sent by the loop thread, received under per-sender and total
 * rate caps, handed to the subscribers' callbacks on the loop thread; never stored, never
 * relayed. Not here: the body's layout (core/wire/message.h), sessions (core/sync/session.h).
 * Layer: core (sync). Third-party: none. SPDX-License-Identifier: MIT */
#ifndef MESH_CORE_SYNC_PRESENCE_H
#define MESH_CORE_SYNC_PRESENCE_H

#include <stdint.h>

#include "core/sync/sync.h"
#include "core/wire/msg.h"

#define PRESENCE_MINOR       4u         /* a peer of this minor version or later takes MESSAGE */
#define PRESENCE_RATE_MSGS   64u        /* messages a second taken from one member, */
#define PRESENCE_RATE_BYTES  (1u << 20) /* and data bytes a second (bursts of twice these) */
#define PRESENCE_TOTAL_SHARE 8u         /* all members together: this many times one's rate */
#define PRESENCE_QUEUE_MAX   256u       /* messages queued to send, not yet sent by the loop */
#define PRESENCE_QUEUE_BYTES (4u << 20) /* and their data bytes */
#define PRESENCE_SUBS_MAX    64u        /* subscriptions on one node */
#define PRESENCE_LOG_MS      10000      /* drops logged once per member this often at most */

typedef struct presence presence_t;

/* New presence state for loop l (no member online, no subscription). MESH_OK or
 * MESH_ENOMEM (*out NULL). */
MESH_NODISCARD mesh_err_t presence_open(loop_t *l, presence_t **out);

/* Free p, its queue and subscriptions, unsent messages dropped; NULL is a no-op. Only once
 * the loop thread has ended. */
void presence_close(presence_t *p);

/* A MESSAGE from s (a session up): its body decoded, then taken under s's and the total
 * rate (past either: dropped, counted, logged at most every PRESENCE_LOG_MS per member) and
 * handed to each subscription whose prefix starts its topic. Loop thread. MESH_OK, or the
 * decoder's error (the caller drops the session: a malformed frame). */
MESH_NODISCARD mesh_err_t presence_on_msg(loop_t *l, session_t *s, const wire_msg_t *msg);

/* Per loop turn (loop thread): note which members went online or offline since the last
 * turn (calling the presence callback for each), then send the queued messages with send
 * (one that finds its member gone is dropped and counted). */
void presence_tick(loop_t *l, int64_t now, sync_send_fn send);

#endif /* MESH_CORE_SYNC_PRESENCE_H */
