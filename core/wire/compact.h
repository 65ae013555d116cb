/* core/wire/compact.h: the compact form of a batch's bundle (docs/PROTOCOL.md §11.1, CBATCH):
 * the same bundle with what the receiver can rebuild left out (each header's tag, collection,
 * op count and Merkle root, each op's seq, kind, value hash and length, the empty _mesh
 * section) and every (origin, incarnation) written once, named by index after (the sender's
 * own key as nil: the receiver knows it from the session).
 * Owns: that layout, its encoder (from a bundle) and its expansion (back to the bundle's
 * exact bytes, which are then verified like any). Not here: checking signatures or anything
 * a set means (core/apply/), the bundle layout (core/wire/doc.h).
 * Layer: core/wire. Third-party: none here (compact.c uses msgpack.h). SPDX-License-Identifier: MIT
 */
#ifndef MESH_CORE_WIRE_COMPACT_H
#define MESH_CORE_WIRE_COMPACT_H

#include <stddef.h>
#include <stdint.h>

#include "core/wire/buf.h"
#include "meshsync.h" /* mesh_err_t */

/* Bytes of a compact bundle a CBATCH may carry, and of the bundle it stands for: a sender
 * writes the compact form only for bundles of at most WIRE_COMPACT_OUT_MAX bytes (the few
 * changes of a live push or a restart), so what a CBATCH makes the receiver rebuild and hash
 * in its loop stays that of a small BATCH, whatever a peer puts in it. */
#define WIRE_COMPACT_MAX      (64u << 10)
#define WIRE_COMPACT_OUT_MAX  (64u << 10)
#define WIRE_COMPACT_DOTS_MAX 1024u /* (origin, incarnation) pairs in its table */

/* Append the compact form of the bundle (len bytes) to out. Only a bundle whose compact form
 * expands back to exactly its bytes is written: MESH_OK; MESH_EINVAL when it does not (a
 * bundle that does not decode, too many pairs, a result past WIRE_COMPACT_MAX: send the bundle
 * as it is), MESH_ENOMEM. On an error out is as it was. sender (WIRE_ORIGIN_LEN bytes, or
 * NULL) is the sending device's key, which the receiver knows from its session: written as nil
 * wherever it is an origin. */
MESH_NODISCARD mesh_err_t wire_compact_encode(const uint8_t *bundle, size_t len,
                                              const uint8_t *sender, wire_buf_t *out);

/* Append the bundle that the compact form (len bytes, from a peer) stands for to out: every
 * signed byte rebuilt from what it carries, for the receiver to verify as received.
 * MESH_OK; MESH_EPROTO (malformed: a layout error, an index past the table, a field a
 * header or op cannot hold), MESH_ETOOBIG (past a cap: WIRE_COMPACT_MAX in, WIRE_COMPACT_OUT_MAX
 * out, WIRE_COMPACT_DOTS_MAX), MESH_ENOMEM. On an error out is as it was. sender is the key
 * of the device it came from (the session's peer), for an origin written as nil (NULL: a nil
 * origin is malformed). */
MESH_NODISCARD mesh_err_t wire_compact_expand(const uint8_t *buf, size_t len, const uint8_t *sender,
                                              wire_buf_t *out);

#endif /* MESH_CORE_WIRE_COMPACT_H */
