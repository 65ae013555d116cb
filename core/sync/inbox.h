/* core/sync/inbox.h: the batches a daemon received and has not committed yet
 * (docs/PROTOCOL.md §11.2, step 3).
 * Owns: the queue in arrival order (each batch's bytes: a copy, or a buffer it adopted),
 * each batch's check on the checker thread (core/sync/checker.h) while earlier ones commit,
 * which of the oldest make the next group, and when that group is due.
 * Not here: committing and acknowledging (core/sync/loop.c), what a check is
 * (core/bundle/import.h).
 * Layer: core. Third-party: none. SPDX-License-Identifier: MIT */
#ifndef MESH_CORE_INBOX_H
#define MESH_CORE_INBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/bundle/import.h"
#include "meshsync.h"

typedef struct inbox inbox_t;
struct checker_job; /* core/sync/checker.h */

/* One queued batch. */
typedef struct inbox_batch {
    void *from;  /* who sent it (the caller's session), compared as a pointer */
    uint64_t id; /* the sender's batch id */
    const uint8_t *data;
    size_t len;
    bool more; /* more of its sender's pass follows */
} inbox_batch_t;

/* What a queued batch is charged beside its bytes, per set and per op its outline says it
 * carries (wire_bundle_count): an upper estimate of the memory its check holds while queued
 * (import_check: ~0.7 KiB a set, ~190 bytes an op) and its apply adds while it commits
 * (docs/PROTOCOL.md §12). */
#define INBOX_SET_BYTES 1536u
#define INBOX_OP_BYTES  256u
#define INBOX_SHARE     4u /* one sender's batches take at most 1/4 of the queue's bytes */

/* An empty inbox of at most max batches and max_bytes bytes charged: each batch's bytes and
 * the memory its check and apply take (INBOX_SET_BYTES, INBOX_OP_BYTES; docs/PROTOCOL.md §12:
 * a single batch alone may be charged more), whose groups are up to group_batches batches
 * or group_bytes bytes (at least one batch), due also wait_ms after the first came; starts
 * the checker thread. Errors: MESH_EINVAL, MESH_ENOMEM, MESH_EIO (no thread); *out NULL. */
MESH_NODISCARD mesh_err_t inbox_open(size_t max, size_t max_bytes, size_t group_batches,
                                     size_t group_bytes, int64_t wait_ms, inbox_t **out);

/* Drop whatever is queued, stop the checker and free in; NULL is a no-op. */
void inbox_close(inbox_t *in);

/* Batches queued, and whether no more fit (commit a group first). */
size_t inbox_count(const inbox_t *in);
bool inbox_full(const inbox_t *in);

/* What a batch of len bytes at data is charged (inbox_fits): len, and INBOX_SET_BYTES and
 * INBOX_OP_BYTES for each set and op its outline says it carries. */
size_t inbox_charge(const uint8_t *data, size_t len);

/* Would the batch of len bytes at data from `from` fit now: fewer than max batches queued,
 * max_bytes not passed with its charge, and its sender's charges within max_bytes /
 * INBOX_SHARE (an empty inbox takes any one batch, and a sender with none queued any batch that
 * fits the queue)? When not, commit a group first: the sender waits meanwhile (its credit), and no
 * batch is refused or failed. */
bool inbox_fits(const inbox_t *in, const void *from, const uint8_t *data, size_t len);

/* Bytes charged for the batches queued (inbox_charge). */
size_t inbox_bytes(const inbox_t *in);

/* Queue a copy of data (len bytes) from `from`, now_ms being the time, and start its check.
 * Errors: MESH_EBUSY (it does not fit: inbox_fits), MESH_ENOMEM: nothing queued (not acknowledged,
 * it comes again). */
MESH_NODISCARD mesh_err_t inbox_add(inbox_t *in, void *from, uint64_t id, const uint8_t *data,
                                    size_t len, bool more, int64_t now_ms);

/* inbox_add without the copy: queue buf itself (malloc'd, the batch's len bytes at its
 * start; at most a few bytes more behind them, the inbox charges len), which the inbox owns
 * from MESH_OK on (freed, or handed over by inbox_take, as a copy is). Errors: MESH_EBUSY
 * (inbox_fits): buf stays the caller's. */
MESH_NODISCARD mesh_err_t inbox_adopt(inbox_t *in, void *from, uint64_t id, uint8_t *buf,
                                      size_t len, bool more, int64_t now_ms);

/* Is the oldest group due for a commit: a whole group queued, the last batch ended its
 * sender's pass, or wait_ms passed since the first of the queue came? */
bool inbox_due(const inbox_t *in, int64_t now_ms);

/* Milliseconds until inbox_due turns true by time alone (0 if due or empty: no wait). */
int64_t inbox_wait_ms(const inbox_t *in, int64_t now_ms);

/* How many of the oldest batches make the next group (0 when empty). */
size_t inbox_group(const inbox_t *in);

/* Batch i (0 the oldest), valid until it is shifted out or forgotten. */
const inbox_batch_t *inbox_at(const inbox_t *in, size_t i);

/* Wait for the check of batch i and return it (owned by the inbox, valid as the batch): the
 * batch decoded, with its sets verified. A batch the checker thread could not take is
 * checked here, on the caller's thread, once. NULL when there is none (the batch does not
 * decode, or no memory): its import then decodes and verifies it. */
const import_checked_t *inbox_checked(inbox_t *in, size_t i);

/* Hand batch i's bytes and check over to the caller (core/sync/spool.h): *data (malloc'd,
 * the batch's len bytes; free()), *job (its check on the checker thread, or NULL; free it
 * with checker_job_free before the inbox closes) and *own (a check made by inbox_checked,
 * or NULL; import_checked_free). The entry stays queued, holding nothing, until shifted
 * out. Returns what the batch was charged (inbox_charge). */
size_t inbox_take(inbox_t *in, size_t i, uint8_t **data, struct checker_job **job,
                  import_checked_t **own);

/* Remove the oldest n batches (committed, or given up), now_ms being the time. */
void inbox_shift(inbox_t *in, size_t n, int64_t now_ms);

/* Remove every queued batch from `from` (it failed or went: they come again). */
void inbox_forget(inbox_t *in, const void *from);

#endif /* MESH_CORE_INBOX_H */
