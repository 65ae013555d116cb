/* core/bundle.h: sync by file: mesh_export, mesh_import and mesh_vector (meshsync.h).
 * Owns: choosing what a bundle carries (live versions and tombstones the receiver's
 * vector does not cover, grouped under their signed set headers, with watermarks), and
 * reporting what an import did. Public in meshsync.h, but for the bounded export that
 * sync sessions use.
 * Layer: core. Third-party: none. SPDX-License-Identifier: MIT */
#ifndef MESH_CORE_BUNDLE_H
#define MESH_CORE_BUNDLE_H

#include <stdbool.h>

#include "core/wire/buf.h"
#include "core/wire/doc.h"
#include "meshsync.h"

/* Where a batch of a pass stopped: everything of origin oid (a local origin id) in coll up
 * to seq went out, with every collection and origin before it in export order. */
typedef struct bundle_pos {
    char coll[MESH_COLL_MAX + 1]; /* "" : from the start */
    uint32_t oid;
    uint64_t seq;
    uint64_t versions; /* live versions and tombstones the pass has written so far */
} bundle_pos_t;

/* Append a bundle to out with what since (a decoded vector file, or NULL for everything)
 * does not cover, in colls[0..ncolls) (all user collections when 0; membership first).
 * With limit > 0, stop at the first set boundary past limit bytes of sets: *more is then
 * true, and the watermarks cover only what was written (the sessions' bounded batches).
 * pos (may be NULL) resumes a pass of several batches: the export starts after *pos, and
 * when cut, *pos is set to where this one stopped.
 * *pieces counts the sets and watermarks written (0: the receiver lacks nothing).
 * Errors: the store's, MESH_ENOMEM. */
MESH_NODISCARD mesh_err_t bundle_export(mesh_t *m, const char *const *colls, size_t ncolls,
                                        const wire_doc_t *since, size_t limit, bundle_pos_t *pos,
                                        wire_buf_t *out, bool *more, size_t *pieces);

/* How far two devices are apart in one collection. */
typedef struct bundle_count {
    char coll[MESH_COLL_MAX + 1];
    uint64_t to_send;    /* live versions and tombstones we hold that theirs does not cover */
    uint64_t to_receive; /* dots theirs covers that ours does not (live or superseded there) */
} bundle_count_t;

/* Per collection (every one either side has), what theirs (a peer's decoded vector file)
 * lacks of what this device holds, and what ours (this device's decoded vector file) lacks
 * of what theirs covers. *out is malloc'd (free), *count entries.
 * Errors: the store's, MESH_ENOMEM, MESH_EPROTO (a collection name too long). */
MESH_NODISCARD mesh_err_t bundle_count_diff(mesh_t *m, const wire_doc_t *ours,
                                            const wire_doc_t *theirs, bundle_count_t **out,
                                            size_t *count);

/* A bundle whose sets were verified ahead of its import (opaque). */
typedef struct bundle_checked bundle_checked_t;

/* Decode bundle (len bytes) and verify every set it carries (apply_check), touching no
 * store: pure CPU, safe on any thread. The bytes are borrowed and must stay unchanged
 * until the result is freed. MESH_OK: *out is new (free with bundle_checked_free); a set
 * that failed verification is rejected, with its reason, by the import that takes it.
 * Errors (*out NULL): MESH_EPROTO or MESH_ETOOBIG (the bundle does not decode: its import
 * says so again), MESH_ENOMEM. */
MESH_NODISCARD mesh_err_t bundle_check(const uint8_t *bundle, size_t len, bundle_checked_t **out);

/* Free c; NULL is a no-op. */
void bundle_checked_free(bundle_checked_t *c);

/* mesh_import of n bundles (bundles[i], lens[i] bytes each), their sections applied in
 * order in one durable write transaction per 64 MiB of sets (never splitting a set; a
 * section's watermarks go with its last sets): a session commits the batches it has
 * received at once. checked (may be NULL, as may each checked[i]) holds bundles[i]
 * verified ahead by bundle_check over the same bytes: its sets are not verified again.
 * The report adds up all of them. Errors: as mesh_import's; when one bundle does not
 * decode, none is applied. */
MESH_NODISCARD mesh_err_t bundle_import_many(mesh_t *m, const uint8_t *const *bundles,
                                             const size_t *lens,
                                             const bundle_checked_t *const *checked, size_t n,
                                             mesh_import_report_t *report);

#define BUNDLE_SUMMARY_LEN 16u /* bytes of a summary on the wire */

/* The summary sessions compare before sending vectors (PROTOCOL.md §11.1): BLAKE2b over
 * vector (this device's decoded vector file) in a canonical order (collection name, then
 * origin and incarnation, empty entries left out) with each listed collection's digest;
 * the first BUNDLE_SUMMARY_LEN bytes go to out. Two devices holding the same have the
 * same summary. Errors: the store's, MESH_ENOMEM. */
MESH_NODISCARD mesh_err_t bundle_summary(mesh_t *m, const wire_doc_t *vector, uint8_t *out);

/* Does ours (a decoded vector file) cover every dot theirs does? If so, the device that
 * sent theirs holds nothing that ours lacks. */
bool bundle_vector_covers(const wire_doc_t *ours, const wire_doc_t *theirs);

/* Append to out the vector file view (decoded) raised by the watermarks of bundle (len
 * bytes): what its sender is known to hold once it sent that bundle. Errors: MESH_EPROTO
 * (the bundle does not decode), MESH_ENOMEM. */
MESH_NODISCARD mesh_err_t bundle_vector_raise(const wire_doc_t *view, const uint8_t *bundle,
                                              size_t len, wire_buf_t *out);

#endif /* MESH_CORE_BUNDLE_H */
