/* core/wire/set.c: the encoding of change sets (docs/PROTOCOL.md §3.1-§3.4) and its strict
 * decoder. Encoding uses msgpack-c's packer; decoding reads through the bounded cursor of
 * core/wire/cursor.h, so that no count read from the input ever drives an allocation larger
 * than the bytes present, and only canonical (shortest) forms pass.
 * Layer: core/wire. Third-party: msgpack.h (through cursor.h). SPDX-License-Identifier: MIT */
#include "core/wire/set.h"

#include "core/wire/cursor.h"

#include <stdlib.h>
#include <string.h>

/* ---- header: [tag, coll, origin, incarnation, first_seq, count, hlc, root] ---- */

mesh_err_t
wire_header_encode(const wire_header_t *h, wire_buf_t *out)
{
    if (h->coll_len == 0 || h->coll_len > MESH_COLL_MAX || h->count == 0 ||
        h->count > WIRE_OPS_MAX || h->first_seq == 0 || h->first_seq - 1 > UINT64_MAX - h->count) {
        return MESH_EINVAL; /* the last seq, first_seq + count - 1, must fit */
    }
    size_t start = out->len;
    msgpack_packer pk;
    wire_pack_init(&pk, out);
    int rc = msgpack_pack_array(&pk, 8);
    rc |= msgpack_pack_str_with_body(&pk, WIRE_SET_TAG, strlen(WIRE_SET_TAG));
    rc |= msgpack_pack_str_with_body(&pk, h->coll, h->coll_len);
    rc |= wire_pack_bin(&pk, h->origin, WIRE_ORIGIN_LEN);
    rc |= msgpack_pack_uint64(&pk, h->incarnation);
    rc |= msgpack_pack_uint64(&pk, h->first_seq);
    rc |= msgpack_pack_uint32(&pk, h->count);
    rc |= msgpack_pack_uint64(&pk, h->hlc);
    rc |= wire_pack_bin(&pk, h->root, WIRE_HASH_LEN);
    return wire_pack_done(out, start, rc);
}

mesh_err_t
wire_header_decode(const uint8_t *buf, size_t len, wire_header_t *h)
{
    wire_cursor_t c = {buf, buf + len};
    const uint8_t *tag = NULL, *coll = NULL;
    size_t tag_len = 0, coll_len = 0;
    uint64_t count = 0;
    memset(h, 0, sizeof *h);
    mesh_err_t err = wire_cursor_array_of(&c, 8);
    if (err == MESH_OK) {
        err = wire_cursor_bytes(&c, WIRE_STR, 64, &tag, &tag_len);
        err = err == MESH_ETOOBIG ? MESH_EPROTO : err; /* a wrong tag, whatever its length */
    }
    if (err == MESH_OK &&
        (tag_len != strlen(WIRE_SET_TAG) || memcmp(tag, WIRE_SET_TAG, tag_len) != 0)) {
        err = MESH_EPROTO;
    }
    if (err == MESH_OK) {
        err = wire_cursor_bytes(&c, WIRE_STR, MESH_COLL_MAX, &coll, &coll_len);
    }
    if (err == MESH_OK && coll_len == 0) {
        err = MESH_EPROTO;
    }
    if (err == MESH_OK) {
        err = wire_cursor_fixed_bin(&c, WIRE_ORIGIN_LEN, h->origin);
    }
    if (err == MESH_OK) {
        err = wire_cursor_uint(&c, &h->incarnation);
    }
    if (err == MESH_OK) {
        err = wire_cursor_uint(&c, &h->first_seq);
    }
    if (err == MESH_OK) {
        err = wire_cursor_uint(&c, &count);
    }
    if (err == MESH_OK &&
        (count == 0 || h->first_seq == 0 || h->first_seq - 1 > UINT64_MAX - count)) {
        err = MESH_EPROTO;
    }
    if (err == MESH_OK && count > WIRE_OPS_MAX) {
        err = MESH_ETOOBIG;
    }
    if (err == MESH_OK) {
        err = wire_cursor_uint(&c, &h->hlc);
    }
    if (err == MESH_OK) {
        err = wire_cursor_fixed_bin(&c, WIRE_HASH_LEN, h->root);
    }
    if (err == MESH_OK && c.p != c.end) {
        err = MESH_EPROTO;
    }
    if (err != MESH_OK) {
        memset(h, 0, sizeof *h);
        return err;
    }
    h->coll = (const char *)coll;
    h->coll_len = coll_len;
    h->count = (uint32_t)count;
    return MESH_OK;
}

/* ---- op metadata: [seq, key, kind, vhash|nil, value_len, [ctx entries]] ----
 * A context entry is [origin bin32, incarnation fixu64, seq fixu64]: 53 bytes. */

static bool
s_dot_less(const wire_dot_t *a, const wire_dot_t *b)
{
    int c = memcmp(a->origin, b->origin, WIRE_ORIGIN_LEN);
    return c < 0 || (c == 0 && a->incarnation < b->incarnation);
}

mesh_err_t
wire_opmeta_encode(const wire_opmeta_t *op, const wire_dot_t *ctx, size_t ctx_count,
                   wire_buf_t *out)
{
    if (op->seq == 0 || op->key_len == 0 || op->key_len > MESH_KEY_MAX || op->kind > WIRE_DEL ||
        ctx_count > WIRE_CTX_MAX || op->value_len > MESH_VALUE_MAX ||
        (op->kind == WIRE_DEL && op->value_len)) {
        return MESH_EINVAL;
    }
    for (size_t i = 0; i < ctx_count; i++) {
        if (ctx[i].seq == 0 || (i > 0 && !s_dot_less(&ctx[i - 1], &ctx[i]))) {
            return MESH_EINVAL;
        }
    }
    size_t start = out->len;
    msgpack_packer pk;
    wire_pack_init(&pk, out);
    int rc = msgpack_pack_array(&pk, 6);
    rc |= msgpack_pack_uint64(&pk, op->seq);
    rc |= wire_pack_bin(&pk, op->key, op->key_len);
    rc |= msgpack_pack_uint8(&pk, op->kind);
    if (op->kind == WIRE_PUT) {
        rc |= wire_pack_bin(&pk, op->vhash, WIRE_HASH_LEN);
        rc |= msgpack_pack_uint32(&pk, op->value_len);
    } else {
        rc |= msgpack_pack_nil(&pk);
        rc |= msgpack_pack_uint32(&pk, 0);
    }
    rc |= msgpack_pack_array(&pk, ctx_count);
    for (size_t i = 0; i < ctx_count; i++) {
        rc |= msgpack_pack_array(&pk, 3);
        rc |= wire_pack_bin(&pk, ctx[i].origin, WIRE_ORIGIN_LEN);
        rc |= msgpack_pack_fix_uint64(&pk, ctx[i].incarnation);
        rc |= msgpack_pack_fix_uint64(&pk, ctx[i].seq);
    }
    return wire_pack_done(out, start, rc);
}

/* Check one context entry at c and step over it. */
static mesh_err_t
s_read_ctx_entry(wire_cursor_t *c, wire_dot_t *dot)
{
    mesh_err_t err = wire_cursor_array_of(c, 3);
    if (err == MESH_OK) {
        err = wire_cursor_fixed_bin(c, WIRE_ORIGIN_LEN, dot->origin);
    }
    if (err == MESH_OK) {
        err = wire_cursor_fix_u64(c, &dot->incarnation);
    }
    if (err == MESH_OK) {
        err = wire_cursor_fix_u64(c, &dot->seq);
    }
    if (err == MESH_OK && dot->seq == 0) {
        err = MESH_EPROTO;
    }
    return err;
}

mesh_err_t
wire_opmeta_decode(const uint8_t *buf, size_t len, wire_opmeta_t *op)
{
    wire_cursor_t c = {buf, buf + len};
    uint64_t kind = 0, value_len = 0;
    size_t ctx_count = 0;
    memset(op, 0, sizeof *op);
    mesh_err_t err = wire_cursor_array_of(&c, 6);
    if (err == MESH_OK) {
        err = wire_cursor_uint(&c, &op->seq);
    }
    if (err == MESH_OK && op->seq == 0) {
        err = MESH_EPROTO;
    }
    if (err == MESH_OK) {
        err = wire_cursor_bytes(&c, WIRE_BIN, MESH_KEY_MAX, &op->key, &op->key_len);
    }
    if (err == MESH_OK && op->key_len == 0) {
        err = MESH_EPROTO;
    }
    if (err == MESH_OK) {
        err = wire_cursor_uint(&c, &kind);
    }
    if (err == MESH_OK && kind == WIRE_PUT) {
        err = wire_cursor_fixed_bin(&c, WIRE_HASH_LEN, op->vhash);
    } else if (err == MESH_OK && (kind != WIRE_DEL || !wire_cursor_nil(&c))) {
        err = MESH_EPROTO;
    }
    if (err == MESH_OK) {
        err = wire_cursor_uint(&c, &value_len);
    }
    if (err == MESH_OK && (value_len > MESH_VALUE_MAX || (kind == WIRE_DEL && value_len))) {
        err = value_len > MESH_VALUE_MAX ? MESH_ETOOBIG : MESH_EPROTO;
    }
    if (err == MESH_OK) {
        err = wire_cursor_len(&c, WIRE_ARRAY, &ctx_count);
    }
    if (err == MESH_OK && ctx_count > WIRE_CTX_MAX) {
        err = MESH_ETOOBIG;
    }
    if (err == MESH_OK && wire_cursor_left(&c) != ctx_count * WIRE_CTX_ENTRY_LEN) {
        err = MESH_EPROTO;
    }
    op->ctx = c.p;
    wire_dot_t prev, dot;
    for (size_t i = 0; err == MESH_OK && i < ctx_count; i++) {
        err = s_read_ctx_entry(&c, &dot);
        if (err == MESH_OK && i > 0 && !s_dot_less(&prev, &dot)) {
            err = MESH_EPROTO; /* sorted, no duplicates: one meaning, one encoding */
        }
        prev = dot;
    }
    if (err == MESH_OK && c.p != c.end) {
        err = MESH_EPROTO;
    }
    if (err != MESH_OK) {
        memset(op, 0, sizeof *op);
        return err;
    }
    op->kind = (uint8_t)kind;
    op->value_len = (uint32_t)value_len;
    op->ctx_count = ctx_count;
    return MESH_OK;
}

void
wire_ctx_get(const wire_opmeta_t *op, size_t i, wire_dot_t *dot)
{
    const uint8_t *p = op->ctx + i * WIRE_CTX_ENTRY_LEN;
    memcpy(dot->origin, p + 3, WIRE_ORIGIN_LEN);
    dot->incarnation = wire_cursor_be(p + 3 + WIRE_ORIGIN_LEN + 1, 8);
    dot->seq = wire_cursor_be(p + 3 + WIRE_ORIGIN_LEN + 10, 8);
}

/* ---- set: [header bin, sig bin64, [[meta bin, value bin|nil], ...]] ---- */

/* Encode a set; with partial, each op entry carries its proof as a third element. */
static mesh_err_t
s_set_encode(const uint8_t *header, size_t header_len, const uint8_t *sig, const wire_op_t *ops,
             size_t op_count, bool partial, wire_buf_t *out)
{
    /* Refuse here whatever wire_set_decode would refuse; no sum can wrap, since every
     * term is capped before it is added. */
    if (op_count == 0 && !partial) {
        return MESH_EINVAL; /* (a partial set of no op is a header alone, §3.4) */
    }
    if (op_count > WIRE_OPS_MAX || header_len > WIRE_HEADER_MAX) {
        return MESH_ETOOBIG;
    }
    size_t total = header_len + WIRE_SIG_LEN + 16;
    for (size_t i = 0; i < op_count; i++) {
        if (partial && ops[i].proof_count > WIRE_PROOF_MAX) {
            return MESH_EINVAL;
        }
        if (ops[i].value_len > MESH_VALUE_MAX || ops[i].meta_len > WIRE_SET_MAX) {
            return MESH_ETOOBIG;
        }
        total += ops[i].meta_len + ops[i].value_len + 16;
        total += partial ? ops[i].proof_count * WIRE_HASH_LEN + 8 : 0;
        if (total > WIRE_SET_MAX) {
            return MESH_ETOOBIG;
        }
    }
    size_t start = out->len;
    msgpack_packer pk;
    wire_pack_init(&pk, out);
    int rc = msgpack_pack_array(&pk, 3);
    rc |= wire_pack_bin(&pk, header, header_len);
    rc |= wire_pack_bin(&pk, sig, WIRE_SIG_LEN);
    rc |= msgpack_pack_array(&pk, op_count);
    for (size_t i = 0; i < op_count; i++) {
        rc |= msgpack_pack_array(&pk, partial ? 3 : 2);
        rc |= wire_pack_bin(&pk, ops[i].meta, ops[i].meta_len);
        rc |= ops[i].value ? wire_pack_bin(&pk, ops[i].value, ops[i].value_len)
                           : msgpack_pack_nil(&pk);
        if (partial) {
            rc |= wire_pack_bin(&pk, ops[i].proof, ops[i].proof_count * WIRE_HASH_LEN);
        }
    }
    return wire_pack_done(out, start, rc);
}

mesh_err_t
wire_set_encode(const uint8_t *header, size_t header_len, const uint8_t *sig, const wire_op_t *ops,
                size_t op_count, wire_buf_t *out)
{
    return s_set_encode(header, header_len, sig, ops, op_count, false, out);
}

mesh_err_t
wire_set_encode_partial(const uint8_t *header, size_t header_len, const uint8_t *sig,
                        const wire_op_t *ops, size_t op_count, wire_buf_t *out)
{
    return s_set_encode(header, header_len, sig, ops, op_count, true, out);
}

/* The smallest encoding of one op entry: fixarray, empty bin8 (2 bytes), nil. */
#define S_OP_MIN 4u

/* Read one op entry: [meta, value|nil] or, in a partial set, [meta, value|nil, proof].
 * partial is NULL for the first op (which decides), else every op must match it. */
static mesh_err_t
s_read_op(wire_cursor_t *c, const bool *partial, wire_op_t *op)
{
    size_t n = 0;
    mesh_err_t err = wire_cursor_len(c, WIRE_ARRAY, &n);
    if (err == MESH_OK && (n < 2 || n > 3 || (partial && *partial != (n == 3)))) {
        err = MESH_EPROTO;
    }
    if (err == MESH_OK) {
        err = wire_cursor_bytes(c, WIRE_BIN, WIRE_SET_MAX, &op->meta, &op->meta_len);
    }
    if (err == MESH_OK && !wire_cursor_nil(c)) {
        err = wire_cursor_bytes(c, WIRE_BIN, MESH_VALUE_MAX, &op->value, &op->value_len);
    }
    if (err == MESH_OK && n == 3) {
        size_t len = 0;
        err = wire_cursor_bytes(c, WIRE_BIN, WIRE_PROOF_MAX * WIRE_HASH_LEN, &op->proof, &len);
        if (err == MESH_OK && len % WIRE_HASH_LEN != 0) {
            err = MESH_EPROTO;
        }
        op->proof_count = len / WIRE_HASH_LEN;
        if (err == MESH_OK && !op->proof) {
            op->proof = c->p; /* an empty proof (a one-op set) is still a proof */
        }
    }
    return err;
}

mesh_err_t
wire_set_decode(const uint8_t *buf, size_t len, wire_set_t *set)
{
    wire_cursor_t c = {buf, buf + len};
    const uint8_t *sig = NULL;
    size_t n = 0;
    memset(set, 0, sizeof *set);
    if (len > WIRE_SET_MAX) {
        return MESH_ETOOBIG;
    }
    mesh_err_t err = wire_cursor_array_of(&c, 3);
    if (err == MESH_OK) {
        err = wire_cursor_bytes(&c, WIRE_BIN, WIRE_HEADER_MAX, &set->header, &set->header_len);
    }
    if (err == MESH_OK) {
        err = wire_cursor_fixed_bin_ptr(&c, WIRE_SIG_LEN, &sig);
    }
    if (err == MESH_OK) {
        err = wire_cursor_len(&c, WIRE_ARRAY, &n);
    }
    if (err == MESH_OK && n > WIRE_OPS_MAX) {
        err = MESH_ETOOBIG;
    }
    /* The count may only allocate what the bytes present could hold. */
    if (err == MESH_OK && n > wire_cursor_left(&c) / S_OP_MIN) {
        err = MESH_EPROTO;
    }
    if (err == MESH_OK) {
        set->ops = calloc(n ? n : 1, sizeof *set->ops);
        err = set->ops ? MESH_OK : MESH_ENOMEM;
    }
    set->partial = n == 0; /* no op: the header alone, a partial set (§3.4) */
    for (size_t i = 0; err == MESH_OK && i < n; i++) {
        err = s_read_op(&c, i == 0 ? NULL : &set->partial, &set->ops[i]);
        if (i == 0 && err == MESH_OK) {
            set->partial = set->ops[0].proof != NULL;
        }
    }
    if (err == MESH_OK && c.p != c.end) {
        err = MESH_EPROTO;
    }
    if (err != MESH_OK) {
        wire_set_release(set);
        return err;
    }
    set->sig = sig;
    set->op_count = n;
    return MESH_OK;
}

void
wire_set_release(wire_set_t *set)
{
    if (!set) {
        return;
    }
    free(set->ops);
    memset(set, 0, sizeof *set);
}
