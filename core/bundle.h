/* core/bundle.h: sync by file: mesh_export, mesh_import and mesh_vector (meshsync.h).
 * Owns: choosing what a bundle carries (live versions and tombstones the receiver's
 * vector does not cover, grouped under their signed set headers, with watermarks), and
 * reporting what an import did. Public in meshsync.h, but for the bounded export that
 * sync sessions use.
 * Layer: core. Third-party: none. SPDX-License-Identifier: MIT */
#ifndef MESH_CORE_BUNDLE_H
#define MESH_CORE_BUNDLE_H

#include <stdbool.h>

#include "meshsync.h"
#include "wire.h"

/* Append a bundle to out with what since (a decoded vector file, or NULL for everything)
 * does not cover, in colls[0..ncolls) (all user collections when 0; membership first).
 * With limit > 0, stop at the first set boundary past limit bytes of sets: *more is then
 * true, and the watermarks cover only what was written (the sessions' bounded batches).
 * *pieces counts the sets and watermarks written (0: the receiver lacks nothing).
 * Errors: the store's, MESH_ENOMEM. */
MESH_NODISCARD mesh_err_t bundle_export(mesh_t *m, const char *const *colls, size_t ncolls,
                                        const wire_doc_t *since, size_t limit, wire_buf_t *out,
                                        bool *more, size_t *pieces);

/* Count the live versions and tombstones this device holds that since (a decoded vector
 * file) does not cover, over every collection: what a peer still lacks (for status).
 * Errors: the store's. */
MESH_NODISCARD mesh_err_t bundle_count_missing(mesh_t *m, const wire_doc_t *since,
                                               uint64_t *items);

#endif /* MESH_CORE_BUNDLE_H */
