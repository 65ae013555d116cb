/* core/wire/range.h: the byte layout of a range list, the body of a RANGE message of the
 * slow path (docs/PROTOCOL.md §13): consecutive key ranges, each with what the sender says
 * of it (nothing, a fingerprint, its item ids, the ids it needs), and its one strict reader.
 * Owns: the entry layout, the caps on it, the order rule of the bounds.
 * Not here: what the entries mean and how they are answered (core/data/recon.h).
 * Layer: core/wire. Third-party: none here (range.c uses msgpack.h). SPDX-License-Identifier: MIT
 */
#ifndef MESH_CORE_WIRE_RANGE_H
#define MESH_CORE_WIRE_RANGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/wire/buf.h"
#include "meshsync.h" /* mesh_err_t */

#define WIRE_RANGE_MAX       65536u /* entries in one range list (§12) */
#define WIRE_RANGE_IDS_MAX   256u   /* ids in one IDS or NEED entry (§12) */
#define WIRE_RANGE_BOUND_MAX 432u   /* bytes of a bound: a stored key's at most (§6) */
#define WIRE_RANGE_FP_LEN    8u     /* bytes of a range fingerprint */
#define WIRE_RANGE_ID_LEN    8u     /* bytes of an item id */

/* What an entry says of its range (§13). */
enum wire_range_mode {
    WIRE_RANGE_SKIP = 0, /* nothing: the range is settled */
    WIRE_RANGE_FP = 1,   /* the sender's fingerprint of its items in the range */
    WIRE_RANGE_IDS = 2,  /* the ids of all the sender's items in the range */
    WIRE_RANGE_NEED = 3  /* ids of the receiver's items in the range the sender lacks */
};

/* One entry: the range runs from the previous entry's bound (the first: from the lowest
 * key) up to, not including, bound; the last entry's bound is the end of the key space. */
typedef struct wire_range {
    uint8_t mode;         /* enum wire_range_mode */
    bool last;            /* bound is the end of the key space (no bytes) */
    const uint8_t *bound; /* borrowed from the input */
    size_t bound_len;
    const uint8_t *ids; /* FP: WIRE_RANGE_FP_LEN bytes; IDS, NEED: count ids */
    size_t count;       /* ids (IDS, NEED) */
} wire_range_t;

/* Writing a range list: each bound is written as the length it shares with the bound
 * before it and the rest, so keys with long common prefixes cost a few bytes each. */
typedef struct wire_range_writer {
    wire_buf_t *out;
    uint8_t prev[WIRE_RANGE_BOUND_MAX]; /* the bound before */
    size_t prev_len;
} wire_range_writer_t;

void wire_range_writer_init(wire_range_writer_t *w, wire_buf_t *out);

/* Append one entry (bound NULL/0 with last), whose bound must rise above the one before.
 * MESH_OK, MESH_EINVAL (a field out of its cap, a mode unknown, a bound not rising),
 * MESH_ENOMEM (out is then as before). */
MESH_NODISCARD mesh_err_t wire_range_put(wire_range_writer_t *w, const wire_range_t *r);

/* Reading a range list: start with wire_range_reader_init, then wire_range_next until
 * *end. The reader enforces the layout, the caps, strictly rising bounds (bytewise, a
 * prefix before what extends it) in their one encoding, and a last entry that ends the key
 * space with nothing after it; an empty list is malformed. An entry's bound is the
 * reader's copy: valid until the next call. */
typedef struct wire_range_reader {
    const uint8_t *p, *end;
    uint8_t prev[WIRE_RANGE_BOUND_MAX]; /* the bound before */
    size_t prev_len;
    uint8_t fp[WIRE_RANGE_FP_LEN]; /* the last FP entry's fingerprint */
    size_t count;                  /* entries read */
    bool done;                     /* the last entry was read */
} wire_range_reader_t;

void wire_range_reader_init(wire_range_reader_t *rd, const uint8_t *body, size_t len);

/* The next entry into *r, or *end at the end of a well-formed list. MESH_OK, MESH_EPROTO
 * (malformed, out of order, trailing bytes), MESH_ETOOBIG (a cap). */
MESH_NODISCARD mesh_err_t wire_range_next(wire_range_reader_t *rd, wire_range_t *r, bool *end);

/* Compare key a with b bytewise, a prefix first (the store's key order, §6): <0, 0, >0. */
int wire_range_cmp(const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len);

#endif /* MESH_CORE_WIRE_RANGE_H */
