/* core/bundle/import.h: taking bundles in: mesh_import (meshsync.h), the check a daemon
 * runs ahead on its checker thread, and the import of several received batches at once
 * (docs/PROTOCOL.md §3.5, §9, §11.2).
 * Owns: decoding a bundle once and keeping it decoded with its sets' verification
 * (import_checked_t), applying sections in bounded write transactions, and the report.
 * Not here: verifying and applying one set (core/apply/apply.h), what a bundle carries
 * (core/bundle/export.h), a peer's view raised by a bundle (core/data/vector.h).
 * Layer: core. Third-party: none. SPDX-License-Identifier: MIT */
#ifndef MESH_CORE_IMPORT_H
#define MESH_CORE_IMPORT_H

#include <stddef.h>
#include <stdint.h>

#include "core/apply/apply.h"
#include "core/base/node.h"
#include "core/wire/buf.h"
#include "core/wire/doc.h"
#include "meshsync.h"

/* A bundle decoded, and its sets verified, ahead of its import (opaque). */
typedef struct import_checked import_checked_t;

/* Decode bundle (len bytes) and verify every set it carries (apply_check), touching no
 * store: pure CPU, safe on any thread. The bytes are borrowed and must stay unchanged
 * until the result is freed. MESH_OK: *out is new (free with import_checked_free); a set
 * that failed verification is rejected, with its reason, by the import that takes it.
 * Errors (*out NULL): MESH_EPROTO or MESH_ETOOBIG (the bundle does not decode: its import
 * says so again), MESH_EINVAL, MESH_ENOMEM. */
MESH_NODISCARD mesh_err_t import_check(const uint8_t *bundle, size_t len, import_checked_t **out);

/* The bundle c decoded (its sections, sets and watermarks), or NULL when c is NULL. Valid
 * until c is freed. */
const wire_doc_t *import_checked_doc(const import_checked_t *c);

/* Free c; NULL is a no-op. */
void import_checked_free(import_checked_t *c);

/* mesh_import of n bundles (bundles[i], lens[i] bytes each), their sections applied in
 * order in one durable write transaction per 64 MiB of sets (never splitting a set; a
 * section's watermarks go with its last sets): a session commits the batches it has
 * received at once. checked (may be NULL, as may each checked[i]) holds bundles[i]
 * checked ahead by import_check: its decoded bundle and its sets' verification are taken
 * as they are when it was made over these very bytes (the same pointer and length; else
 * it is ignored). Only a bundle without such a check is decoded here.
 * The report adds up all of them. Errors: as mesh_import's; when one bundle does not
 * decode, none is applied. */
MESH_NODISCARD mesh_err_t import_many(mesh_t *m, const uint8_t *const *bundles, const size_t *lens,
                                      const import_checked_t *const *checked, size_t n,
                                      mesh_import_report_t *report);

#endif /* MESH_CORE_IMPORT_H */
