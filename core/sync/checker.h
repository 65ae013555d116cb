/* core/sync/checker.h: a thread that decodes and verifies received batches while the loop
 * thread commits earlier ones (docs/PROTOCOL.md §11.2).
 * Owns: the thread, its queue of batches, and each batch's check (import_check: the
 * decoded bundle and its sets' verification) until the caller frees it. Checking touches
 * no store and no node, so it runs beside the loop.
 * Not here: what a check is (core/bundle/import.h, core/apply/apply.h), applying (the
 * loop, through import_many).
 * Layer: core. Third-party: none. SPDX-License-Identifier: MIT */
#ifndef MESH_CORE_CHECKER_H
#define MESH_CORE_CHECKER_H

#include <stddef.h>
#include <stdint.h>

#include "core/bundle/import.h"
#include "meshsync.h"

typedef struct checker checker_t;
typedef struct checker_job checker_job_t;

/* Start the thread. Errors: MESH_ENOMEM, MESH_EIO (no thread); *out is then NULL. */
MESH_NODISCARD mesh_err_t checker_open(checker_t **out);

/* Check every batch still queued, then stop the thread and free c; NULL is a no-op.
 * Free every job (checker_job_free) before: a job needs its checker. */
void checker_close(checker_t *c);

/* Queue bundle (len bytes, borrowed: unchanged until the job is freed) for import_check.
 * MESH_OK: *out is the job. Errors: MESH_EINVAL, MESH_ENOMEM (*out NULL: the caller goes
 * without, and the import verifies the batch itself). */
MESH_NODISCARD mesh_err_t checker_submit(checker_t *c, const uint8_t *bundle, size_t len,
                                         checker_job_t **out);

/* Wait until j is checked. Returns the check (owned by j, valid until checker_job_free),
 * or NULL when there is none (the bundle did not decode, or no memory): the import then
 * verifies, and reports, by itself. */
const import_checked_t *checker_wait(checker_job_t *j);

/* Wait for j if it is still queued or running, then free it and its check; NULL is a
 * no-op. */
void checker_job_free(checker_job_t *j);

#endif /* MESH_CORE_CHECKER_H */
