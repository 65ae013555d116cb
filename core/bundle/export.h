/* core/bundle/export.h: what a bundle carries: mesh_export (meshsync.h), and the bounded
 * export that sync sessions send in batches (docs/PROTOCOL.md §3.5, §11.2).
 * Owns: choosing what goes out (live versions and tombstones the receiver's vector does
 * not cover, grouped under their signed set headers, with watermarks), cutting a pass into
 * batches at set boundaries, and where a pass stopped.
 * Not here: the receiver's vector (core/data/vector.h), which collections a bundle covers
 * (core/bundle/vecfile.h), taking a bundle in (core/bundle/import.h).
 * Layer: core. Third-party: none. SPDX-License-Identifier: MIT */
#ifndef MESH_CORE_EXPORT_H
#define MESH_CORE_EXPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/base/node.h"
#include "core/data/vector.h"
#include "core/wire/buf.h"
#include "core/wire/doc.h"
#include "meshsync.h"

/* Where a batch of a pass stopped: everything of origin oid (a local origin id) in coll up
 * to seq went out, with every collection and origin before it in export order. */
typedef struct export_pos {
    char coll[MESH_COLL_MAX + 1]; /* "" : from the start */
    uint32_t oid;
    uint64_t seq;
    uint64_t versions; /* live versions and tombstones the pass has written so far */
} export_pos_t;

/* Append a bundle to out with what since (the receiver's vector, or NULL for everything)
 * does not cover, in colls[0..ncolls) (all user collections when 0; membership first).
 * With limit > 0, stop at the first set boundary past limit bytes of sets: *more is then
 * true, and the watermarks cover only what was written (the sessions' bounded batches).
 * pos (may be NULL) resumes a pass of several batches: the export starts after *pos, and
 * when cut, *pos is set to where this one stopped.
 * *pieces counts the sets and watermarks written (0: the receiver lacks nothing).
 * Errors: the store's, MESH_ENOMEM. */
MESH_NODISCARD mesh_err_t export_bundle(mesh_t *m, const char *const *colls, size_t ncolls,
                                        const vector_t *since, size_t limit, export_pos_t *pos,
                                        wire_buf_t *out, bool *more, size_t *pieces);

/* export_bundle for one device, to (its key; NULL: anyone): a collection whose access list
 * does not hold it goes as an empty section (PROTOCOL.md §8.3). Whatever the receiver, the
 * sets of a device a collection's list does not hold are left out of it. */
MESH_NODISCARD mesh_err_t export_bundle_to(mesh_t *m, const uint8_t *to, const char *const *colls,
                                           size_t ncolls, const vector_t *since, size_t limit,
                                           export_pos_t *pos, wire_buf_t *out, bool *more,
                                           size_t *pieces);

#endif /* MESH_CORE_EXPORT_H */
