/* core/sync/spool.h: the spool of checked batches that stream in (docs/PROTOCOL.md §11.2).
 * Owns: the spooled batches held in memory with their checks, their caps, their apply (all
 * of them in order, in one large write transaction, so the key index is written nearly in
 * key order: core/apply/run.c sorts the run) on a worker thread of its own while the next
 * generation is spooled, and the acknowledgements each apply makes due (a spooled batch is
 * acknowledged once committed, never before); the replay of a spool file that an earlier
 * version left in the home (it wrote batches there and acknowledged them before the apply).
 * Not here: which batches make a group and their checks (core/sync/inbox.h), sending the
 * acknowledgements (core/sync/session.c), the receive rules (core/apply/).
 * Layer: core (sync). Third-party: none. SPDX-License-Identifier: MIT */
#ifndef MESH_CORE_SPOOL_H
#define MESH_CORE_SPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "meshsync.h"

typedef struct spool spool_t;
typedef struct loop loop_t;
typedef struct session session_t;

#define SPOOL_MAX_BYTES    (60u << 20)  /* batch bytes spooled (in memory): one txn */
#define SPOOL_MAX_CHARGE   (96u << 20)  /* memory charged (inbox_charge) for them at most */
#define SPOOL_ALL_CHARGE   (192u << 20) /* and for the apply's and the next ones together */
#define SPOOL_MAX_BATCHES  512u         /* batches spooled at most (both) */
#define SPOOL_FILE         "spool"      /* in the home: an earlier version's, replayed */
#define SPOOL_APPLY_MS     1500         /* an apply's aim: the charge spooled at most is what */
#define SPOOL_START_CHARGE (16u << 20)  /* the last one checked and applied in this time (at */
#define SPOOL_MIN_CHARGE   (16u << 20)  /* first this much; never less than this; learnt from */
#define SPOOL_LEARN_CHARGE (4u << 20)   /* an apply of at least this much) */
#define SPOOL_EAGER_CHARGE (8u << 20)   /* a free worker starts on this much spooled */

/* A new spool for home. When an earlier version left a spool file there (batches it
 * acknowledged before applying them), its whole records are read (a torn one at the end,
 * never acknowledged, is dropped): they are applied first (spool_tick, spool_apply), nothing
 * else is spooled before, and the file is removed once they are committed. A file that is
 * not a spool, or holds no record, is removed at once.
 * Errors: MESH_EIO, MESH_ENOMEM (*out NULL). */
MESH_NODISCARD mesh_err_t spool_open(const char *home, spool_t **out);

/* Free sp and the batches it holds (not acknowledged: their senders send them again; a
 * file read at the open stays until they are applied); NULL is a no-op. Call before the
 * inbox closes: the checks are its checker's jobs. */
void spool_close(spool_t *sp);

/* Batches spooled, not applied yet. */
size_t spool_count(const spool_t *sp);

/* Should the oldest n queued batches (inbox_group) be spooled rather than committed: each
 * is checked and has more of its sender's pass behind it (a backlog streams in)? */
bool spool_wants(loop_t *l, size_t n);

/* Is there room in the spool for the oldest n queued batches? MESH_OK: call
 * spool_take(l, n) before shifting them out of the inbox, and do not acknowledge them: the
 * apply that commits them makes their acknowledgement due (spool_next_ack). When they do
 * not fit the caps, the spool's apply starts on a worker thread of its own and MESH_EBUSY is
 * returned: the n stay queued (not acknowledged) while more batches come and are checked,
 * and are spooled once the apply ended (spool_tick, or spool_wait); MESH_EBUSY too while an
 * apply runs and they do not fit beside it. MESH_ETOOBIG: past the caps alone, never
 * spooled: the caller commits them directly. */
MESH_NODISCARD mesh_err_t spool_admit(loop_t *l, size_t n);

/* Move the oldest n queued batches' bytes and checks into the spool (after spool_admit);
 * the inbox entries are left empty for inbox_shift. */
void spool_take(loop_t *l, size_t n);

/* An acknowledgement an apply made due: the last batch (id) of a sender's committed by it,
 * and the sender's session id (its HELLO's) when the batch came: sent only while that is
 * still the session's (a sender that restarted numbers its batches anew). */
typedef struct spool_ack {
    session_t *to;
    uint64_t peer_session;
    uint64_t id;
} spool_ack_t;

/* Take the oldest acknowledgement due (false: none), one per sender and apply. */
bool spool_next_ack(spool_t *sp, spool_ack_t *out);

/* Is the spool's apply under way on its worker thread? It commits as any writer does (a
 * mesh_import's import_many), captures its log lines (node_log_capture) and wakes the loop
 * when through; the loop thread joins it (spool_tick, spool_wait) and logs for it. */
bool spool_running(const spool_t *sp);

/* Is it running and full: a group did not fit meanwhile (spool_admit's MESH_EBUSY), so
 * what is queued waits for its end? */
bool spool_stalled(const spool_t *sp);

/* Wait for the apply under way on the worker, if any, and end it (its log lines, the spool
 * emptied; on failure kept). */
void spool_wait(loop_t *l);

/* Apply every spooled batch, in order (an apply under way on the worker ends first). Logs
 * "applied batches" as a direct commit does. Errors: the store's (the spool stays, to be
 * applied again: applying is idempotent), MESH_ENOMEM. */
mesh_err_t spool_apply(loop_t *l);

/* Apply the spool and, in the same transaction after it, the oldest n queued batches (a
 * group that is not spooled: the end of a pass), so that the key index is written once for
 * both, not twice. Logs one "applied batches" line. MESH_OK: both applied and the spool
 * emptied; the caller acknowledges the n as after a direct commit. MESH_ENOTFOUND: the
 * spool is empty, or one of the n has no sender or does not decode; other errors: the
 * store's or the import's. On any error nothing of the spool is forgotten: the caller
 * applies the spool (spool_apply) and then the n as before (applying twice is no harm). */
MESH_NODISCARD mesh_err_t spool_apply_with(loop_t *l, size_t n);

/* End the worker's apply once it is through; start one (on the worker) when none runs and
 * the batches spooled are charged SPOOL_EAGER_CHARGE or more or number half the credit a
 * sender is granted (it may be waiting for their acknowledgement), or when nothing came for
 * LOOP_GROUP_MS (a pass that stopped midway, a replay after a restart), the inbox being
 * empty. */
void spool_tick(loop_t *l, int64_t now_ms);

#endif /* MESH_CORE_SPOOL_H */
