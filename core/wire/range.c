/* core/wire/range.c: the range list of the slow path (docs/PROTOCOL.md §13) and its strict
 * reader. Each entry is msgpack items back to back, no array around them: a head (uint:
 * shared << 3 | last << 2 | mode), where shared is the length the bound has in common with
 * the bound before; unless last, the rest of the bound (bin, at least one byte); then for
 * FP the fingerprint as a uint64 in the fixed 0xcf form (its 8 bytes little-endian) and
 * for IDS and NEED a bin of ids.
 * Layer: core/wire. Third-party: msgpack.h (through cursor.h). SPDX-License-Identifier: MIT */
#include "core/wire/range.h"

#include "core/wire/cursor.h"

#include <string.h>

int
wire_range_cmp(const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len)
{
    size_t n = a_len < b_len ? a_len : b_len;
    int c = n ? memcmp(a, b, n) : 0;
    if (c != 0) {
        return c;
    }
    return a_len < b_len ? -1 : a_len > b_len;
}

void
wire_range_writer_init(wire_range_writer_t *w, wire_buf_t *out)
{
    w->out = out;
    w->prev_len = 0;
}

mesh_err_t
wire_range_put(wire_range_writer_t *w, const wire_range_t *r)
{
    wire_buf_t *out = w->out;
    size_t start = out->len, shared = 0;
    msgpack_packer pk;
    if (r->mode > WIRE_RANGE_NEED || r->bound_len > WIRE_RANGE_BOUND_MAX ||
        (r->last && r->bound_len) || (!r->last && r->bound_len == 0) ||
        ((r->mode == WIRE_RANGE_IDS || r->mode == WIRE_RANGE_NEED) &&
         r->count > WIRE_RANGE_IDS_MAX) ||
        (r->mode == WIRE_RANGE_NEED && r->count == 0)) {
        return MESH_EINVAL;
    }
    if (!r->last) {
        while (shared < w->prev_len && shared < r->bound_len &&
               w->prev[shared] == r->bound[shared]) {
            shared++;
        }
        if (shared == r->bound_len ||
            (shared < w->prev_len && r->bound[shared] < w->prev[shared])) {
            return MESH_EINVAL; /* not above the bound before */
        }
    }
    wire_pack_init(&pk, out);
    int rc = msgpack_pack_uint64(&pk, (uint64_t)shared << 3 | (r->last ? 4u : 0u) | r->mode);
    if (!r->last) {
        rc |= wire_pack_bin(&pk, r->bound + shared, r->bound_len - shared);
    }
    if (r->mode == WIRE_RANGE_FP) {
        uint64_t fp = 0;
        for (int i = 7; i >= 0; i--) {
            fp = fp << 8 | r->ids[i];
        }
        uint8_t fixed[9] = {0xcf};
        for (int i = 0; i < 8; i++) {
            fixed[1 + i] = (uint8_t)(fp >> (56 - 8 * i));
        }
        rc |= wire_buf_append(out, fixed, sizeof fixed) == MESH_OK ? 0 : -1;
    } else if (r->mode != WIRE_RANGE_SKIP) {
        rc |= wire_pack_bin(&pk, r->ids, r->count * WIRE_RANGE_ID_LEN);
    }
    mesh_err_t err = wire_pack_done(out, start, rc);
    if (err == MESH_OK && !r->last) {
        memmove(w->prev, r->bound, r->bound_len); /* (r->bound may point into w->prev) */
        w->prev_len = r->bound_len;
    }
    return err;
}

void
wire_range_reader_init(wire_range_reader_t *rd, const uint8_t *body, size_t len)
{
    rd->p = body;
    rd->end = body + len;
    rd->prev_len = 0;
    rd->count = 0;
    rd->done = false;
}

/* Read a bound after the one in rd->prev into rd->prev (its one encoding: the whole
 * length shared with the one before, then at least one byte that sorts above). */
static mesh_err_t
s_bound(wire_range_reader_t *rd, wire_cursor_t *c, uint64_t shared)
{
    const uint8_t *rest = NULL;
    size_t rest_len = 0;
    mesh_err_t err = MESH_OK;
    if (shared > rd->prev_len) {
        err = MESH_EPROTO;
    }
    if (err == MESH_OK) {
        err = wire_cursor_bytes(c, WIRE_BIN, WIRE_RANGE_BOUND_MAX, &rest, &rest_len);
    }
    if (err == MESH_OK && shared + rest_len > WIRE_RANGE_BOUND_MAX) {
        err = MESH_ETOOBIG;
    }
    if (err == MESH_OK &&
        (rest_len == 0 || (shared < rd->prev_len && rest[0] <= rd->prev[shared]))) {
        err = MESH_EPROTO; /* not rising, or not the whole shared length */
    }
    if (err == MESH_OK) {
        memcpy(rd->prev + shared, rest, rest_len);
        rd->prev_len = (size_t)shared + rest_len;
    }
    return err;
}

mesh_err_t
wire_range_next(wire_range_reader_t *rd, wire_range_t *r, bool *end)
{
    wire_cursor_t c = {rd->p, rd->end};
    uint64_t head = 0;
    size_t len = 0;
    memset(r, 0, sizeof *r);
    *end = false;
    if (rd->done) {
        if (c.p != c.end) {
            return MESH_EPROTO; /* nothing may follow the end of the key space */
        }
        *end = true;
        return MESH_OK;
    }
    if (rd->count == WIRE_RANGE_MAX) {
        return MESH_ETOOBIG;
    }
    mesh_err_t err = wire_cursor_uint(&c, &head);
    if (err == MESH_OK) {
        r->mode = (uint8_t)(head & 3);
        r->last = (head & 4) != 0;
        if (r->last && head >> 3) {
            err = MESH_EPROTO; /* the end of the key space shares nothing */
        } else if (!r->last) {
            err = s_bound(rd, &c, head >> 3);
            r->bound = rd->prev;
            r->bound_len = rd->prev_len;
        }
    }
    if (err == MESH_OK && r->mode == WIRE_RANGE_FP) {
        uint64_t fp = 0;
        err = wire_cursor_fix_u64(&c, &fp);
        for (int i = 0; i < 8; i++) {
            rd->fp[i] = (uint8_t)(fp >> (8 * i));
        }
        r->ids = rd->fp;
    } else if (err == MESH_OK && r->mode != WIRE_RANGE_SKIP) {
        err =
            wire_cursor_bytes(&c, WIRE_BIN, WIRE_RANGE_IDS_MAX * WIRE_RANGE_ID_LEN, &r->ids, &len);
        if (err == MESH_OK &&
            (len % WIRE_RANGE_ID_LEN != 0 || (r->mode == WIRE_RANGE_NEED && len == 0))) {
            err = MESH_EPROTO;
        }
        r->count = len / WIRE_RANGE_ID_LEN;
    }
    if (err != MESH_OK) {
        memset(r, 0, sizeof *r);
        return err;
    }
    rd->p = c.p;
    rd->count++;
    rd->done = r->last;
    return MESH_OK;
}
