/* core/bundle/vecfile.h: vector files: mesh_vector (meshsync.h), and which collections a
 * vector file or a bundle covers (docs/PROTOCOL.md §3.5, §3.6).
 * Owns: the scope of a file (membership first, then the named collections, or every user
 * collection), and loading this device's vector over that scope in one read transaction.
 * Not here: the decoded vector and its rules (core/data/vector.h), bundles
 * (core/bundle/export.h, core/bundle/import.h).
 * Layer: core. Third-party: none. SPDX-License-Identifier: MIT */
#ifndef MESH_CORE_VECFILE_H
#define MESH_CORE_VECFILE_H

#include <stddef.h>

#include "core/base/node.h"
#include "core/data/vector.h"
#include "meshsync.h"
#include "store/store.h"

/* Is each of colls[0..ncolls) a collection name a caller may name in a file (reserved
 * names too)? Errors: MESH_EINVAL (a NULL or bad name, with the handle's detail). */
MESH_NODISCARD mesh_err_t vecfile_check_colls(mesh_t *m, const char *const *colls, size_t ncolls);

/* The collections a vector file or bundle covers: "_mesh" first, then colls[0..ncolls)
 * (checked by the caller), or every user collection in txn when ncolls is 0. MESH_OK:
 * *names is malloc'd with *count names, each pointing into *names_buf (malloc'd, may be
 * NULL) or colls; free both. Errors (all NULL): the store's, MESH_ENOMEM. */
MESH_NODISCARD mesh_err_t vecfile_colls(store_txn_t *txn, const char *const *colls, size_t ncolls,
                                        const char ***names, size_t *count,
                                        char (**names_buf)[MESH_COLL_MAX + 1]);

/* This device's vector over colls[0..ncolls) (all user collections when 0; membership
 * first), read from the store in one transaction, decoded: what the sessions compare and
 * send (no vector file is encoded). MESH_OK: *out is new (vector_free). Errors (*out
 * NULL): MESH_EINVAL (a bad name), the store's, MESH_ENOMEM. */
MESH_NODISCARD mesh_err_t vecfile_load(mesh_t *m, const char *const *colls, size_t ncolls,
                                       vector_t **out);

#endif /* MESH_CORE_VECFILE_H */
