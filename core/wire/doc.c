/* core/wire/doc.c: the encoding of bundles and vector files (docs/PROTOCOL.md §3.5, §3.6)
 * and their strict decoder. A decoded bundle's sets stay encoded bytes (each capped at
 * WIRE_SET_MAX) for wire_set_decode; each array count is bounded by the bytes left before
 * anything is allocated for it.
 * Layer: core/wire. Third-party: msgpack.h (through cursor.h). SPDX-License-Identifier: MIT */
#include "core/wire/doc.h"

#include "core/wire/cursor.h"

#include <stdlib.h>
#include <string.h>

static mesh_err_t
s_begin_doc(const char *tag, size_t count, wire_buf_t *out)
{
    size_t start = out->len;
    msgpack_packer pk;
    wire_pack_init(&pk, out);
    int rc = msgpack_pack_array(&pk, 2);
    rc |= msgpack_pack_str_with_body(&pk, tag, strlen(tag));
    rc |= msgpack_pack_array(&pk, count);
    return wire_pack_done(out, start, rc);
}

mesh_err_t
wire_bundle_begin(size_t section_count, wire_buf_t *out)
{
    return s_begin_doc(WIRE_BUNDLE_TAG, section_count, out);
}

mesh_err_t
wire_vector_begin(size_t section_count, wire_buf_t *out)
{
    return s_begin_doc(WIRE_VECTOR_TAG, section_count, out);
}

mesh_err_t
wire_section_begin(const char *coll, size_t set_count, wire_buf_t *out)
{
    size_t start = out->len;
    msgpack_packer pk;
    wire_pack_init(&pk, out);
    int rc = msgpack_pack_array(&pk, 3);
    rc |= msgpack_pack_str_with_body(&pk, coll, strlen(coll));
    rc |= msgpack_pack_array(&pk, set_count);
    return wire_pack_done(out, start, rc);
}

mesh_err_t
wire_section_set(const uint8_t *set, size_t len, wire_buf_t *out)
{
    size_t start = out->len;
    msgpack_packer pk;
    wire_pack_init(&pk, out);
    return wire_pack_done(out, start, wire_pack_bin(&pk, set, len));
}

mesh_err_t
wire_section_marks(const wire_mark_t *marks, size_t count, wire_buf_t *out)
{
    size_t start = out->len;
    msgpack_packer pk;
    wire_pack_init(&pk, out);
    for (size_t i = 0; i < count; i++) {
        if (marks[i].from && marks[i].from >= marks[i].seq) {
            return MESH_EINVAL; /* (nothing appended) */
        }
    }
    int rc = msgpack_pack_array(&pk, count);
    for (size_t i = 0; i < count; i++) {
        rc |= msgpack_pack_array(&pk, marks[i].from ? 4 : 3);
        rc |= wire_pack_bin(&pk, marks[i].origin, WIRE_ORIGIN_LEN);
        rc |= msgpack_pack_uint64(&pk, marks[i].incarnation);
        rc |= msgpack_pack_uint64(&pk, marks[i].seq);
        if (marks[i].from) {
            rc |= msgpack_pack_uint64(&pk, marks[i].from);
        }
    }
    return wire_pack_done(out, start, rc);
}

mesh_err_t
wire_vector_section(const char *coll, const wire_vv_t *vvs, const uint64_t *const *extras,
                    size_t count, wire_buf_t *out)
{
    size_t start = out->len;
    msgpack_packer pk;
    wire_pack_init(&pk, out);
    int rc = msgpack_pack_array(&pk, 2);
    rc |= msgpack_pack_str_with_body(&pk, coll, strlen(coll));
    rc |= msgpack_pack_array(&pk, count);
    for (size_t i = 0; i < count; i++) {
        rc |= msgpack_pack_array(&pk, 4);
        rc |= wire_pack_bin(&pk, vvs[i].origin, WIRE_ORIGIN_LEN);
        rc |= msgpack_pack_uint64(&pk, vvs[i].incarnation);
        rc |= msgpack_pack_uint64(&pk, vvs[i].base);
        rc |= msgpack_pack_array(&pk, vvs[i].extra_count);
        for (size_t j = 0; j < vvs[i].extra_count; j++) {
            rc |= msgpack_pack_fix_uint64(&pk, extras[i][j]);
        }
    }
    return wire_pack_done(out, start, rc);
}

uint64_t
wire_vv_extra(const wire_vv_t *vv, size_t i)
{
    return wire_cursor_be(vv->extra + 9 * i + 1, 8);
}

/* Read an array header whose count must fit in the bytes left at min_each bytes per
 * element, and allocate that many elements of size each (zeroed). */
static mesh_err_t
s_read_bounded(wire_cursor_t *c, size_t min_each, size_t each, size_t *n, void **out)
{
    *out = NULL;
    mesh_err_t err = wire_cursor_len(c, WIRE_ARRAY, n);
    if (err == MESH_OK && *n > wire_cursor_left(c) / min_each) {
        err = MESH_EPROTO;
    }
    if (err == MESH_OK && *n) {
        *out = calloc(*n, each);
        err = *out ? MESH_OK : MESH_ENOMEM;
    }
    if (err != MESH_OK) {
        *n = 0; /* a count without its array must not reach the release */
    }
    return err;
}

static mesh_err_t
s_read_mark(wire_cursor_t *c, wire_mark_t *m)
{
    size_t n = 0;
    mesh_err_t err = wire_cursor_len(c, WIRE_ARRAY, &n);
    if (err == MESH_OK && n != 3 && n != 4) {
        err = MESH_EPROTO;
    }
    if (err == MESH_OK) {
        err = wire_cursor_fixed_bin(c, WIRE_ORIGIN_LEN, m->origin);
    }
    if (err == MESH_OK) {
        err = wire_cursor_uint(c, &m->incarnation);
    }
    if (err == MESH_OK) {
        err = wire_cursor_uint(c, &m->seq);
    }
    m->from = 0;
    if (err == MESH_OK && n == 4) {
        err = wire_cursor_uint(c, &m->from);
    }
    if (err == MESH_OK && n == 4 && (m->from == 0 || m->from >= m->seq)) {
        err = MESH_EPROTO; /* a range is written only when it starts above 0, below seq */
    }
    return err;
}

static mesh_err_t
s_read_vv(wire_cursor_t *c, wire_vv_t *v)
{
    mesh_err_t err = wire_cursor_array_of(c, 4);
    if (err == MESH_OK) {
        err = wire_cursor_fixed_bin(c, WIRE_ORIGIN_LEN, v->origin);
    }
    if (err == MESH_OK) {
        err = wire_cursor_uint(c, &v->incarnation);
    }
    if (err == MESH_OK) {
        err = wire_cursor_uint(c, &v->base);
    }
    if (err == MESH_OK) {
        err = wire_cursor_len(c, WIRE_ARRAY, &v->extra_count);
    }
    if (err == MESH_OK && v->extra_count > wire_cursor_left(c) / 9) {
        err = MESH_EPROTO;
    }
    v->extra = c->p;
    uint64_t prev = v->base;
    for (size_t i = 0; err == MESH_OK && i < v->extra_count; i++) {
        uint64_t x = 0;
        err = wire_cursor_fix_u64(c, &x);
        if (err == MESH_OK && x <= prev) {
            err = MESH_EPROTO; /* ascending, above the base */
        }
        prev = x;
    }
    return err;
}

static mesh_err_t
s_read_section(wire_cursor_t *c, bool is_vector, wire_section_t *sec)
{
    const uint8_t *coll = NULL;
    mesh_err_t err = wire_cursor_array_of(c, is_vector ? 2 : 3);
    if (err == MESH_OK) {
        err = wire_cursor_bytes(c, WIRE_STR, MESH_COLL_MAX, &coll, &sec->coll_len);
    }
    if (err == MESH_OK && (sec->coll_len == 0 || memchr(coll, '\0', sec->coll_len))) {
        err = MESH_EPROTO; /* names are C strings everywhere else */
    }
    sec->coll = (const char *)coll;
    if (err == MESH_OK && is_vector) {
        err = s_read_bounded(c, 38, sizeof *sec->vvs, &sec->vv_count, (void **)&sec->vvs);
        for (size_t i = 0; err == MESH_OK && i < sec->vv_count; i++) {
            err = s_read_vv(c, &sec->vvs[i]);
        }
        return err;
    }
    if (err == MESH_OK) {
        err = s_read_bounded(c, WIRE_SET_MIN, sizeof *sec->sets, &sec->set_count,
                             (void **)&sec->sets);
    }
    if (err == MESH_OK && sec->set_count) {
        sec->set_lens = calloc(sec->set_count, sizeof *sec->set_lens);
        err = sec->set_lens ? MESH_OK : MESH_ENOMEM;
    }
    for (size_t i = 0; err == MESH_OK && i < sec->set_count; i++) {
        err = wire_cursor_bytes(c, WIRE_BIN, WIRE_SET_MAX, &sec->sets[i], &sec->set_lens[i]);
        if (err == MESH_OK && sec->set_lens[i] < WIRE_SET_MIN) {
            err = MESH_EPROTO; /* too short to be a set: not a bundle */
        }
    }
    if (err == MESH_OK) {
        err = s_read_bounded(c, 37, sizeof *sec->marks, &sec->mark_count, (void **)&sec->marks);
    }
    for (size_t i = 0; err == MESH_OK && i < sec->mark_count; i++) {
        err = s_read_mark(c, &sec->marks[i]);
    }
    return err;
}

mesh_err_t
wire_doc_decode(const uint8_t *buf, size_t len, bool is_vector, wire_doc_t *doc)
{
    wire_cursor_t c = {buf, buf + len};
    const uint8_t *tag = NULL;
    size_t tag_len = 0;
    const char *want = is_vector ? WIRE_VECTOR_TAG : WIRE_BUNDLE_TAG;
    memset(doc, 0, sizeof *doc);
    mesh_err_t err = wire_cursor_array_of(&c, 2);
    if (err == MESH_OK) {
        err = wire_cursor_bytes(&c, WIRE_STR, 64, &tag, &tag_len);
        err = err == MESH_ETOOBIG ? MESH_EPROTO : err; /* a wrong tag, whatever its length */
    }
    if (err == MESH_OK && (tag_len != strlen(want) || memcmp(tag, want, tag_len) != 0)) {
        err = MESH_EPROTO;
    }
    if (err == MESH_OK) {
        err = s_read_bounded(&c, 4, sizeof *doc->sections, &doc->count, (void **)&doc->sections);
    }
    for (size_t i = 0; err == MESH_OK && i < doc->count; i++) {
        err = s_read_section(&c, is_vector, &doc->sections[i]);
    }
    if (err == MESH_OK && c.p != c.end) {
        err = MESH_EPROTO;
    }
    if (err != MESH_OK) {
        wire_doc_release(doc);
    }
    return err;
}

/* The ops of one encoded set as its outline says ([header, sig, [op...]]); 0 when it does
 * not read that far. */
static size_t
s_outline_ops(const uint8_t *set, size_t len)
{
    wire_cursor_t c = {set, set + len};
    const uint8_t *p = NULL;
    size_t n = 0;
    mesh_err_t err = wire_cursor_array_of(&c, 3);
    if (err == MESH_OK) {
        err = wire_cursor_bytes(&c, WIRE_BIN, SIZE_MAX, &p, &n);
    }
    if (err == MESH_OK) {
        err = wire_cursor_bytes(&c, WIRE_BIN, SIZE_MAX, &p, &n);
    }
    if (err == MESH_OK) {
        err = wire_cursor_len(&c, WIRE_ARRAY, &n);
    }
    return err == MESH_OK ? n : 0;
}

mesh_err_t
wire_bundle_count(const uint8_t *buf, size_t len, size_t *sets, size_t *ops)
{
    wire_cursor_t c = {buf, buf + len};
    const uint8_t *p = NULL;
    size_t nsec = 0, n = 0, plen = 0;
    *sets = *ops = 0;
    mesh_err_t err = wire_cursor_array_of(&c, 2);
    if (err == MESH_OK) {
        err = wire_cursor_bytes(&c, WIRE_STR, 64, &p, &plen);
    }
    if (err == MESH_OK) {
        err = wire_cursor_len(&c, WIRE_ARRAY, &nsec);
    }
    for (size_t s = 0; err == MESH_OK && s < nsec; s++) {
        err = wire_cursor_array_of(&c, 3);
        if (err == MESH_OK) {
            err = wire_cursor_bytes(&c, WIRE_STR, MESH_COLL_MAX, &p, &plen);
        }
        if (err == MESH_OK) {
            err = wire_cursor_len(&c, WIRE_ARRAY, &n);
        }
        for (size_t i = 0; err == MESH_OK && i < n; i++) {
            err = wire_cursor_bytes(&c, WIRE_BIN, WIRE_SET_MAX, &p, &plen);
            *sets += err == MESH_OK;
            *ops += err == MESH_OK ? s_outline_ops(p, plen) : 0;
        }
        if (err == MESH_OK) {
            err = wire_cursor_len(&c, WIRE_ARRAY, &n);
        }
        for (size_t i = 0; err == MESH_OK && i < n; i++) {
            wire_mark_t m;
            err = s_read_mark(&c, &m);
        }
    }
    if (err == MESH_OK && c.p != c.end) {
        err = MESH_EPROTO;
    }
    if (err != MESH_OK) {
        *sets = *ops = 0;
        return MESH_EPROTO;
    }
    return MESH_OK;
}

void
wire_doc_release(wire_doc_t *doc)
{
    if (!doc) {
        return;
    }
    for (size_t i = 0; i < doc->count; i++) {
        free(doc->sections[i].sets);
        free(doc->sections[i].set_lens);
        free(doc->sections[i].marks);
        free(doc->sections[i].vvs);
    }
    free(doc->sections);
    memset(doc, 0, sizeof *doc);
}
