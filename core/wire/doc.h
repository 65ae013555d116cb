/* core/wire/doc.h: the encoding of bundles and vector files (docs/PROTOCOL.md §3.5, §3.6):
 * per collection, a bundle carries encoded sets and watermarks, a vector file the entries
 * of a version vector.
 * Owns: their byte layouts, written in pieces, and their strict decoder.
 * Not here: the sets inside a bundle (core/wire/set.h), what a vector means (core/data/).
 * Layer: core/wire. Third-party: none here (doc.c uses msgpack.h). SPDX-License-Identifier: MIT */
#ifndef MESH_CORE_WIRE_DOC_H
#define MESH_CORE_WIRE_DOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/wire/buf.h"
#include "core/wire/set.h" /* WIRE_ORIGIN_LEN */
#include "meshsync.h"      /* mesh_err_t */

#define WIRE_BUNDLE_TAG "meshsync/bundle/1"
#define WIRE_VECTOR_TAG "meshsync/vector/1"
#define WIRE_BUNDLE_MAX (1ull << 40) /* bytes in one bundle: bounded by the file */

/* A watermark: "you now hold all of origin's dots up to seq" (§3.5); with from > 0, only
 * those in (from, seq]: it then holds for a receiver that already holds all up to from. */
typedef struct wire_mark {
    uint8_t origin[WIRE_ORIGIN_LEN];
    uint64_t incarnation;
    uint64_t seq;
    uint64_t from; /* 0: from the receiver's base; else 1..seq-1 */
} wire_mark_t;

/* One vector entry as written to a vector file (§3.6). The extras are read in place. */
typedef struct wire_vv {
    uint8_t origin[WIRE_ORIGIN_LEN];
    uint64_t incarnation;
    uint64_t base;
    const uint8_t *extra; /* extra_count fixed-width (0xcf) uint64s, ascending */
    size_t extra_count;
} wire_vv_t;

/* A section of a bundle or a vector file: one collection. Pointers borrow the input. */
typedef struct wire_section {
    const char *coll;
    size_t coll_len;
    const uint8_t **sets; /* bundle: each set's encoded bytes */
    size_t *set_lens;
    size_t set_count;
    wire_mark_t *marks; /* bundle: watermarks */
    size_t mark_count;
    wire_vv_t *vvs; /* vector file: entries */
    size_t vv_count;
} wire_section_t;

/* A decoded bundle or vector file; free with wire_doc_release. */
typedef struct wire_doc {
    wire_section_t *sections;
    size_t count;
} wire_doc_t;

/* Bundles (§3.5): [tag, [[coll, [set bin...], [[origin, inc, seq]...]]...]], written in
 * pieces: begin with the section count, then per section its header, its sets and its
 * marks. */
MESH_NODISCARD mesh_err_t wire_bundle_begin(size_t section_count, wire_buf_t *out);
MESH_NODISCARD mesh_err_t wire_section_begin(const char *coll, size_t set_count, wire_buf_t *out);
MESH_NODISCARD mesh_err_t wire_section_set(const uint8_t *set, size_t len, wire_buf_t *out);
MESH_NODISCARD mesh_err_t wire_section_marks(const wire_mark_t *marks, size_t count,
                                             wire_buf_t *out);

/* Vector files (§3.6): [tag, [[coll, [[origin, inc, base, [extra...]]...]]...]]. */
MESH_NODISCARD mesh_err_t wire_vector_begin(size_t section_count, wire_buf_t *out);
MESH_NODISCARD mesh_err_t wire_vector_section(const char *coll, const wire_vv_t *vvs,
                                              const uint64_t *const *extras, size_t count,
                                              wire_buf_t *out);

/* Decode a whole bundle (is_vector false) or vector file (true). MESH_OK: *doc filled.
 * Errors: MESH_EPROTO, MESH_ETOOBIG, MESH_ENOMEM; *doc zeroed. */
MESH_NODISCARD mesh_err_t wire_doc_decode(const uint8_t *buf, size_t len, bool is_vector,
                                          wire_doc_t *doc);
void wire_doc_release(wire_doc_t *doc);

/* The sets a bundle carries and the ops in them, counted from its outline alone (array and
 * bin headers: no set is decoded, nothing is allocated), to cap and charge a received batch
 * before anything is spent on it (docs/PROTOCOL.md §12). A set entry whose own outline does
 * not read counts no ops (it fails its decode before any op costs memory). MESH_OK: *sets
 * and *ops filled. MESH_EPROTO: the bundle's outline does not read (wire_doc_decode fails
 * too); *sets and *ops are then 0. */
MESH_NODISCARD mesh_err_t wire_bundle_count(const uint8_t *buf, size_t len, size_t *sets,
                                            size_t *ops);

/* Read extra i of a decoded vector entry. */
uint64_t wire_vv_extra(const wire_vv_t *vv, size_t i);

#endif /* MESH_CORE_WIRE_DOC_H */
