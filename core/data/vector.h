/* core/data/vector.h: whole version vectors: this device's, or its view of a peer's, per
 * collection one entry (core/data/vv.h) per (origin, incarnation) (docs/PROTOCOL.md §3.6).
 * Owns: the one decoded form that export, import, sessions and status use (loaded from the
 * store, decoded from a vector file, raised by a bundle's watermarks), its vector-file
 * encoding, and the walks over it: coverage, the summary (§11.1), what each side lacks.
 * Not here: the rules on one entry (core/data/vv.h), which collections a vector covers
 * (core/bundle/vecfile.h), the byte layout (core/wire/doc.h).
 * Layer: core. Third-party: none. SPDX-License-Identifier: MIT */
#ifndef MESH_CORE_VECTOR_H
#define MESH_CORE_VECTOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/data/vv.h"
#include "core/wire/buf.h"
#include "core/wire/doc.h"
#include "core/wire/msg.h"
#include "core/wire/set.h"
#include "meshsync.h"
#include "store/store.h"

#define VECTOR_SUMMARY_LEN WIRE_SUMMARY_LEN /* bytes of a summary on the wire */

/* One entry: what is held of one (origin, incarnation) in one collection. */
typedef struct vector_entry {
    uint8_t origin[WIRE_ORIGIN_LEN];
    uint64_t incarnation;
    vv_t vv;
} vector_entry_t;

/* One collection's entries, in the order they were loaded, decoded or added. */
typedef struct vector_coll {
    char name[MESH_COLL_MAX + 1];
    vector_entry_t *entries;
    size_t count, cap;
} vector_coll_t;

/* A vector: collections in order. A decoded vector file keeps its sections and entries as
 * the file has them (a repeated one included: lookups take the first). */
typedef struct vector {
    vector_coll_t *colls;
    size_t count, cap;
} vector_t;

/* Free v and all it owns; NULL is a no-op. */
void vector_free(vector_t *v);

/* An index of a vector's collections by name, for lookups in O(log n) (a peer's vector may
 * name 4,096 collections, and an export looks up each of its own). It borrows v, which must
 * not change while the index lives. */
typedef struct vector_index vector_index_t;

/* MESH_OK: *out is new (vector_index_free). Errors: MESH_ENOMEM (*out NULL). */
MESH_NODISCARD mesh_err_t vector_index_new(const vector_t *v, vector_index_t **out);
void vector_index_free(vector_index_t *ix);

/* vector_find through ix (NULL: none found). */
const vector_entry_t *vector_index_find(const vector_index_t *ix, const char *coll,
                                        const uint8_t *origin, uint64_t inc);

/* Load the vectors of colls[0..n) from the store, in that order, each entry in the store's
 * order (a collection never written is there, empty). MESH_OK: *out is new (vector_free).
 * Errors (*out NULL): the store's, MESH_ENOMEM. */
MESH_NODISCARD mesh_err_t vector_load(store_txn_t *txn, const char *const *colls, size_t n,
                                      vector_t **out);

/* Decode exactly len bytes as a vector file (§3.6) into a vector that owns its data.
 * MESH_OK: *out is new (vector_free). Errors (*out NULL): MESH_EPROTO, MESH_ETOOBIG,
 * MESH_ENOMEM. */
MESH_NODISCARD mesh_err_t vector_decode(const uint8_t *buf, size_t len, vector_t **out);

/* Append v as a vector file to out. MESH_OK, MESH_ENOMEM. */
MESH_NODISCARD mesh_err_t vector_encode(const vector_t *v, wire_buf_t *out);

/* A copy of v. MESH_OK: *out is new (vector_free). Errors (*out NULL): MESH_ENOMEM. */
MESH_NODISCARD mesh_err_t vector_copy(const vector_t *v, vector_t **out);

/* Are a and b the same, collection for collection and entry for entry, in order? */
bool vector_equal(const vector_t *a, const vector_t *b);

/* The first entry of (coll, origin, inc) in v (NULL: none, or v NULL). Valid until v
 * changes. */
const vector_entry_t *vector_find(const vector_t *v, const char *coll, const uint8_t *origin,
                                  uint64_t inc);

/* Does ours cover every dot theirs does (vv_covers_all per entry)? If so, the device that
 * holds theirs holds nothing that ours lacks. */
bool vector_covers(const vector_t *ours, const vector_t *theirs);

/* Raise v by the watermarks of bundle (a decoded bundle): what its sender is known to hold
 * once it sent that bundle. Each watermark raises its entry's base to its seq (a range's
 * start aside: its sender holds all up to seq); an entry or collection v lacks is added.
 * Errors: MESH_ENOMEM (v then holds the watermarks raised so far: each is true). */
MESH_NODISCARD mesh_err_t vector_raise(vector_t *v, const wire_doc_t *bundle);

/* The summary sessions compare before sending vectors (PROTOCOL.md §11.1): BLAKE2b over v
 * (this device's vector) in a canonical order (collection name, then origin and
 * incarnation, empty entries left out) with each listed collection's digest in st; the
 * first VECTOR_SUMMARY_LEN bytes go to out. Two devices holding the same have the same
 * summary. Errors: the store's, MESH_ENOMEM. */
MESH_NODISCARD mesh_err_t vector_summary(store_t *st, const vector_t *v, uint8_t *out);

/* How far two devices are apart in one collection. */
typedef struct vector_count {
    char coll[MESH_COLL_MAX + 1];
    uint64_t to_send;    /* live versions and tombstones we hold that theirs does not cover */
    uint64_t to_receive; /* dots theirs covers that ours does not (live or superseded there) */
} vector_count_t;

/* Per collection (every one either side has), what theirs (a peer's vector, as far as
 * known) lacks of what st holds, and what ours (this device's vector) lacks of what theirs
 * covers. *out is malloc'd (free), *count entries, by collection name; the work is
 * O(n log n) in the collections of either side. Errors: the store's, MESH_ENOMEM. */
MESH_NODISCARD mesh_err_t vector_count(store_t *st, const vector_t *ours, const vector_t *theirs,
                                       vector_count_t **out, size_t *count);

#endif /* MESH_CORE_VECTOR_H */
