/* core/wire.c: msgpack encoding of change sets, and the strict decoder.
 * Owns: the layouts of docs/PROTOCOL.md §3. Encoding uses msgpack-c's packer; decoding
 * uses a small cursor reader of our own, so that no count read from the input ever drives
 * an allocation larger than the bytes present, and only canonical (shortest) forms pass.
 * Layer: core. Third-party: msgpack.h (only here). SPDX-License-Identifier: MIT */
#include "core/wire/wire.h"

#include <stdlib.h>
#include <string.h>

#include <msgpack.h>

/* ---- output buffer ---- */

void
wire_buf_init(wire_buf_t *b)
{
    memset(b, 0, sizeof *b);
}

void
wire_buf_release(wire_buf_t *b)
{
    if (!b) {
        return;
    }
    free(b->data);
    memset(b, 0, sizeof *b);
}

void
wire_buf_reset(wire_buf_t *b)
{
    b->len = 0;
    b->failed = false;
}

static int
s_buf_write(void *data, const char *buf, size_t len)
{
    wire_buf_t *b = data;
    if (b->failed) {
        return -1;
    }
    if (len > b->cap - b->len) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap - b->len < len) {
            cap *= 2;
        }
        uint8_t *p = realloc(b->data, cap);
        if (!p) {
            b->failed = true;
            return -1;
        }
        b->data = p;
        b->cap = cap;
    }
    memcpy(b->data + b->len, buf, len);
    b->len += len;
    return 0;
}

mesh_err_t
wire_buf_append(wire_buf_t *b, const void *p, size_t len)
{
    if (len == 0) {
        return b->failed ? MESH_ENOMEM : MESH_OK;
    }
    return s_buf_write(b, p, len) == 0 ? MESH_OK : MESH_ENOMEM;
}

static mesh_err_t
s_pack_done(wire_buf_t *out, size_t start, int rc)
{
    if (rc != 0 || out->failed) {
        out->len = start;
        return MESH_ENOMEM;
    }
    return MESH_OK;
}

static int
s_pack_bytes(msgpack_packer *pk, const void *p, size_t len)
{
    int rc = msgpack_pack_bin(pk, len);
    return len ? rc | msgpack_pack_bin_body(pk, p, len) : rc; /* no memcpy from NULL */
}

/* ---- the cursor reader ---- */

typedef struct s_cur {
    const uint8_t *p;
    const uint8_t *end;
} s_cur_t;

static size_t
s_left(const s_cur_t *c)
{
    return (size_t)(c->end - c->p);
}

static uint64_t
s_be(const uint8_t *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        v = (v << 8) | p[i];
    }
    return v;
}

/* Read an unsigned integer in its shortest msgpack form. */
static mesh_err_t
s_read_uint(s_cur_t *c, uint64_t *v)
{
    if (s_left(c) < 1) {
        return MESH_EPROTO;
    }
    uint8_t t = *c->p;
    if (t <= 0x7f) {
        *v = t;
        c->p++;
        return MESH_OK;
    }
    size_t n = t == 0xcc ? 1 : t == 0xcd ? 2 : t == 0xce ? 4 : t == 0xcf ? 8 : 0;
    if (n == 0 || s_left(c) < 1 + n) {
        return MESH_EPROTO;
    }
    *v = s_be(c->p + 1, n);
    /* Shortest form only: one meaning, one encoding. */
    uint64_t floor = n == 1 ? 0x80 : n == 2 ? 0x100 : n == 4 ? 0x10000 : 0x100000000ull;
    if (*v < floor) {
        return MESH_EPROTO;
    }
    c->p += 1 + n;
    return MESH_OK;
}

/* Read a uint64 in the fixed 9-byte form (0xcf). */
static mesh_err_t
s_read_fix_u64(s_cur_t *c, uint64_t *v)
{
    if (s_left(c) < 9 || c->p[0] != 0xcf) {
        return MESH_EPROTO;
    }
    *v = s_be(c->p + 1, 8);
    c->p += 9;
    return MESH_OK;
}

/* Read a length header of type family: array (fix 0x90, 16 0xdc, 32 0xdd), bin (0xc4-0xc6)
 * or str (fix 0xa0, 0xd9-0xdb); shortest form only. */
enum s_family { S_ARRAY, S_BIN, S_STR };

static mesh_err_t
s_read_len(s_cur_t *c, enum s_family fam, size_t *len)
{
    if (s_left(c) < 1) {
        return MESH_EPROTO;
    }
    uint8_t t = *c->p;
    size_t n = 0, fix = 0;
    bool fixed = false;
    if (fam == S_ARRAY && (t & 0xf0) == 0x90) {
        fixed = true, fix = t & 0x0f;
    } else if (fam == S_STR && (t & 0xe0) == 0xa0) {
        fixed = true, fix = t & 0x1f;
    } else if (fam == S_ARRAY) {
        n = t == 0xdc ? 2 : t == 0xdd ? 4 : 0;
    } else if (fam == S_BIN) {
        n = t == 0xc4 ? 1 : t == 0xc5 ? 2 : t == 0xc6 ? 4 : 0;
    } else {
        n = t == 0xd9 ? 1 : t == 0xda ? 2 : t == 0xdb ? 4 : 0;
    }
    if (fixed) {
        *len = fix;
        c->p++;
        return MESH_OK;
    }
    if (n == 0 || s_left(c) < 1 + n) {
        return MESH_EPROTO;
    }
    uint64_t v = s_be(c->p + 1, n);
    uint64_t floor = fam == S_BIN   ? (n == 1   ? 0
                                       : n == 2 ? 0x100
                                                : 0x10000)
                     : fam == S_STR ? (n == 1   ? 0x20
                                       : n == 2 ? 0x100
                                                : 0x10000)
                                    : (n == 2 ? 0x10 : 0x10000);
    if (v < floor) {
        return MESH_EPROTO;
    }
    c->p += 1 + n;
    *len = (size_t)v;
    return MESH_OK;
}

/* Read a bin or str of at most max bytes; the bytes must be present. */
static mesh_err_t
s_read_bytes(s_cur_t *c, enum s_family fam, size_t max, const uint8_t **p, size_t *len)
{
    mesh_err_t err = s_read_len(c, fam, len);
    if (err != MESH_OK) {
        return err;
    }
    if (*len > s_left(c)) {
        return MESH_EPROTO;
    }
    if (*len > max) {
        return MESH_ETOOBIG;
    }
    *p = c->p;
    c->p += *len;
    return MESH_OK;
}

/* Read a bin of exactly n bytes into out. */
static mesh_err_t
s_read_fixed_bin(s_cur_t *c, size_t n, uint8_t *out)
{
    const uint8_t *p = NULL;
    size_t len = 0;
    mesh_err_t err = s_read_bytes(c, S_BIN, n, &p, &len);
    if (err == MESH_OK && len != n) {
        err = MESH_EPROTO;
    }
    if (err == MESH_ETOOBIG) {
        err = MESH_EPROTO;
    }
    if (err == MESH_OK) {
        memcpy(out, p, n);
    }
    return err;
}

/* Read a bin of exactly n bytes and point at it; any other length is malformed. */
static mesh_err_t
s_read_fixed_bin_ptr(s_cur_t *c, size_t n, const uint8_t **p)
{
    size_t len = 0;
    mesh_err_t err = s_read_bytes(c, S_BIN, SIZE_MAX, p, &len);
    return err == MESH_OK && len != n ? MESH_EPROTO : err;
}

/* Read an array header of exactly n elements. */
static mesh_err_t
s_read_array_of(s_cur_t *c, size_t n)
{
    size_t len = 0;
    mesh_err_t err = s_read_len(c, S_ARRAY, &len);
    if (err == MESH_OK && len != n) {
        err = MESH_EPROTO;
    }
    return err;
}

static bool
s_read_nil(s_cur_t *c)
{
    if (s_left(c) >= 1 && *c->p == 0xc0) {
        c->p++;
        return true;
    }
    return false;
}

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
    msgpack_packer_init(&pk, out, s_buf_write);
    int rc = msgpack_pack_array(&pk, 8);
    rc |= msgpack_pack_str_with_body(&pk, WIRE_SET_TAG, strlen(WIRE_SET_TAG));
    rc |= msgpack_pack_str_with_body(&pk, h->coll, h->coll_len);
    rc |= s_pack_bytes(&pk, h->origin, WIRE_ORIGIN_LEN);
    rc |= msgpack_pack_uint64(&pk, h->incarnation);
    rc |= msgpack_pack_uint64(&pk, h->first_seq);
    rc |= msgpack_pack_uint32(&pk, h->count);
    rc |= msgpack_pack_uint64(&pk, h->hlc);
    rc |= s_pack_bytes(&pk, h->root, WIRE_HASH_LEN);
    return s_pack_done(out, start, rc);
}

mesh_err_t
wire_header_decode(const uint8_t *buf, size_t len, wire_header_t *h)
{
    s_cur_t c = {buf, buf + len};
    const uint8_t *tag = NULL, *coll = NULL;
    size_t tag_len = 0, coll_len = 0;
    uint64_t count = 0;
    memset(h, 0, sizeof *h);
    mesh_err_t err = s_read_array_of(&c, 8);
    if (err == MESH_OK) {
        err = s_read_bytes(&c, S_STR, 64, &tag, &tag_len);
        err = err == MESH_ETOOBIG ? MESH_EPROTO : err; /* a wrong tag, whatever its length */
    }
    if (err == MESH_OK &&
        (tag_len != strlen(WIRE_SET_TAG) || memcmp(tag, WIRE_SET_TAG, tag_len) != 0)) {
        err = MESH_EPROTO;
    }
    if (err == MESH_OK) {
        err = s_read_bytes(&c, S_STR, MESH_COLL_MAX, &coll, &coll_len);
    }
    if (err == MESH_OK && coll_len == 0) {
        err = MESH_EPROTO;
    }
    if (err == MESH_OK) {
        err = s_read_fixed_bin(&c, WIRE_ORIGIN_LEN, h->origin);
    }
    if (err == MESH_OK) {
        err = s_read_uint(&c, &h->incarnation);
    }
    if (err == MESH_OK) {
        err = s_read_uint(&c, &h->first_seq);
    }
    if (err == MESH_OK) {
        err = s_read_uint(&c, &count);
    }
    if (err == MESH_OK &&
        (count == 0 || h->first_seq == 0 || h->first_seq - 1 > UINT64_MAX - count)) {
        err = MESH_EPROTO;
    }
    if (err == MESH_OK && count > WIRE_OPS_MAX) {
        err = MESH_ETOOBIG;
    }
    if (err == MESH_OK) {
        err = s_read_uint(&c, &h->hlc);
    }
    if (err == MESH_OK) {
        err = s_read_fixed_bin(&c, WIRE_HASH_LEN, h->root);
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
    msgpack_packer_init(&pk, out, s_buf_write);
    int rc = msgpack_pack_array(&pk, 6);
    rc |= msgpack_pack_uint64(&pk, op->seq);
    rc |= s_pack_bytes(&pk, op->key, op->key_len);
    rc |= msgpack_pack_uint8(&pk, op->kind);
    if (op->kind == WIRE_PUT) {
        rc |= s_pack_bytes(&pk, op->vhash, WIRE_HASH_LEN);
        rc |= msgpack_pack_uint32(&pk, op->value_len);
    } else {
        rc |= msgpack_pack_nil(&pk);
        rc |= msgpack_pack_uint32(&pk, 0);
    }
    rc |= msgpack_pack_array(&pk, ctx_count);
    for (size_t i = 0; i < ctx_count; i++) {
        rc |= msgpack_pack_array(&pk, 3);
        rc |= s_pack_bytes(&pk, ctx[i].origin, WIRE_ORIGIN_LEN);
        rc |= msgpack_pack_fix_uint64(&pk, ctx[i].incarnation);
        rc |= msgpack_pack_fix_uint64(&pk, ctx[i].seq);
    }
    return s_pack_done(out, start, rc);
}

/* Check one context entry at c and step over it. */
static mesh_err_t
s_read_ctx_entry(s_cur_t *c, wire_dot_t *dot)
{
    mesh_err_t err = s_read_array_of(c, 3);
    if (err == MESH_OK) {
        err = s_read_fixed_bin(c, WIRE_ORIGIN_LEN, dot->origin);
    }
    if (err == MESH_OK) {
        err = s_read_fix_u64(c, &dot->incarnation);
    }
    if (err == MESH_OK) {
        err = s_read_fix_u64(c, &dot->seq);
    }
    if (err == MESH_OK && dot->seq == 0) {
        err = MESH_EPROTO;
    }
    return err;
}

mesh_err_t
wire_opmeta_decode(const uint8_t *buf, size_t len, wire_opmeta_t *op)
{
    s_cur_t c = {buf, buf + len};
    uint64_t kind = 0, value_len = 0;
    size_t ctx_count = 0;
    memset(op, 0, sizeof *op);
    mesh_err_t err = s_read_array_of(&c, 6);
    if (err == MESH_OK) {
        err = s_read_uint(&c, &op->seq);
    }
    if (err == MESH_OK && op->seq == 0) {
        err = MESH_EPROTO;
    }
    if (err == MESH_OK) {
        err = s_read_bytes(&c, S_BIN, MESH_KEY_MAX, &op->key, &op->key_len);
    }
    if (err == MESH_OK && op->key_len == 0) {
        err = MESH_EPROTO;
    }
    if (err == MESH_OK) {
        err = s_read_uint(&c, &kind);
    }
    if (err == MESH_OK && kind == WIRE_PUT) {
        err = s_read_fixed_bin(&c, WIRE_HASH_LEN, op->vhash);
    } else if (err == MESH_OK && (kind != WIRE_DEL || !s_read_nil(&c))) {
        err = MESH_EPROTO;
    }
    if (err == MESH_OK) {
        err = s_read_uint(&c, &value_len);
    }
    if (err == MESH_OK && (value_len > MESH_VALUE_MAX || (kind == WIRE_DEL && value_len))) {
        err = value_len > MESH_VALUE_MAX ? MESH_ETOOBIG : MESH_EPROTO;
    }
    if (err == MESH_OK) {
        err = s_read_len(&c, S_ARRAY, &ctx_count);
    }
    if (err == MESH_OK && ctx_count > WIRE_CTX_MAX) {
        err = MESH_ETOOBIG;
    }
    if (err == MESH_OK && s_left(&c) != ctx_count * WIRE_CTX_ENTRY_LEN) {
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
    dot->incarnation = s_be(p + 3 + WIRE_ORIGIN_LEN + 1, 8);
    dot->seq = s_be(p + 3 + WIRE_ORIGIN_LEN + 10, 8);
}

/* ---- set: [header bin, sig bin64, [[meta bin, value bin|nil], ...]] ---- */

/* Encode a set; with partial, each op entry carries its proof as a third element. */
static mesh_err_t
s_set_encode(const uint8_t *header, size_t header_len, const uint8_t *sig, const wire_op_t *ops,
             size_t op_count, bool partial, wire_buf_t *out)
{
    /* Refuse here whatever wire_set_decode would refuse; no sum can wrap, since every
     * term is capped before it is added. */
    if (op_count == 0) {
        return MESH_EINVAL;
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
    msgpack_packer_init(&pk, out, s_buf_write);
    int rc = msgpack_pack_array(&pk, 3);
    rc |= s_pack_bytes(&pk, header, header_len);
    rc |= s_pack_bytes(&pk, sig, WIRE_SIG_LEN);
    rc |= msgpack_pack_array(&pk, op_count);
    for (size_t i = 0; i < op_count; i++) {
        rc |= msgpack_pack_array(&pk, partial ? 3 : 2);
        rc |= s_pack_bytes(&pk, ops[i].meta, ops[i].meta_len);
        rc |= ops[i].value ? s_pack_bytes(&pk, ops[i].value, ops[i].value_len)
                           : msgpack_pack_nil(&pk);
        if (partial) {
            rc |= s_pack_bytes(&pk, ops[i].proof, ops[i].proof_count * WIRE_HASH_LEN);
        }
    }
    return s_pack_done(out, start, rc);
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
s_read_op(s_cur_t *c, const bool *partial, wire_op_t *op)
{
    size_t n = 0;
    mesh_err_t err = s_read_len(c, S_ARRAY, &n);
    if (err == MESH_OK && (n < 2 || n > 3 || (partial && *partial != (n == 3)))) {
        err = MESH_EPROTO;
    }
    if (err == MESH_OK) {
        err = s_read_bytes(c, S_BIN, WIRE_SET_MAX, &op->meta, &op->meta_len);
    }
    if (err == MESH_OK && !s_read_nil(c)) {
        err = s_read_bytes(c, S_BIN, MESH_VALUE_MAX, &op->value, &op->value_len);
    }
    if (err == MESH_OK && n == 3) {
        size_t len = 0;
        err = s_read_bytes(c, S_BIN, WIRE_PROOF_MAX * WIRE_HASH_LEN, &op->proof, &len);
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
    s_cur_t c = {buf, buf + len};
    const uint8_t *sig = NULL;
    size_t n = 0;
    memset(set, 0, sizeof *set);
    if (len > WIRE_SET_MAX) {
        return MESH_ETOOBIG;
    }
    mesh_err_t err = s_read_array_of(&c, 3);
    if (err == MESH_OK) {
        err = s_read_bytes(&c, S_BIN, WIRE_HEADER_MAX, &set->header, &set->header_len);
    }
    if (err == MESH_OK) {
        err = s_read_fixed_bin_ptr(&c, WIRE_SIG_LEN, &sig);
    }
    if (err == MESH_OK) {
        err = s_read_len(&c, S_ARRAY, &n);
    }
    if (err == MESH_OK && n > WIRE_OPS_MAX) {
        err = MESH_ETOOBIG;
    }
    /* The count may only allocate what the bytes present could hold. */
    if (err == MESH_OK && (n == 0 || n > s_left(&c) / S_OP_MIN)) {
        err = MESH_EPROTO;
    }
    if (err == MESH_OK) {
        set->ops = calloc(n, sizeof *set->ops);
        err = set->ops ? MESH_OK : MESH_ENOMEM;
    }
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

/* ---- bundles and vector files (§3.5, §3.6) ---- */

static mesh_err_t
s_begin_doc(const char *tag, size_t count, wire_buf_t *out)
{
    size_t start = out->len;
    msgpack_packer pk;
    msgpack_packer_init(&pk, out, s_buf_write);
    int rc = msgpack_pack_array(&pk, 2);
    rc |= msgpack_pack_str_with_body(&pk, tag, strlen(tag));
    rc |= msgpack_pack_array(&pk, count);
    return s_pack_done(out, start, rc);
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
    msgpack_packer_init(&pk, out, s_buf_write);
    int rc = msgpack_pack_array(&pk, 3);
    rc |= msgpack_pack_str_with_body(&pk, coll, strlen(coll));
    rc |= msgpack_pack_array(&pk, set_count);
    return s_pack_done(out, start, rc);
}

mesh_err_t
wire_section_set(const uint8_t *set, size_t len, wire_buf_t *out)
{
    size_t start = out->len;
    msgpack_packer pk;
    msgpack_packer_init(&pk, out, s_buf_write);
    return s_pack_done(out, start, s_pack_bytes(&pk, set, len));
}

mesh_err_t
wire_section_marks(const wire_mark_t *marks, size_t count, wire_buf_t *out)
{
    size_t start = out->len;
    msgpack_packer pk;
    msgpack_packer_init(&pk, out, s_buf_write);
    for (size_t i = 0; i < count; i++) {
        if (marks[i].from && marks[i].from >= marks[i].seq) {
            return MESH_EINVAL; /* (nothing appended) */
        }
    }
    int rc = msgpack_pack_array(&pk, count);
    for (size_t i = 0; i < count; i++) {
        rc |= msgpack_pack_array(&pk, marks[i].from ? 4 : 3);
        rc |= s_pack_bytes(&pk, marks[i].origin, WIRE_ORIGIN_LEN);
        rc |= msgpack_pack_uint64(&pk, marks[i].incarnation);
        rc |= msgpack_pack_uint64(&pk, marks[i].seq);
        if (marks[i].from) {
            rc |= msgpack_pack_uint64(&pk, marks[i].from);
        }
    }
    return s_pack_done(out, start, rc);
}

mesh_err_t
wire_vector_section(const char *coll, const wire_vv_t *vvs, const uint64_t *const *extras,
                    size_t count, wire_buf_t *out)
{
    size_t start = out->len;
    msgpack_packer pk;
    msgpack_packer_init(&pk, out, s_buf_write);
    int rc = msgpack_pack_array(&pk, 2);
    rc |= msgpack_pack_str_with_body(&pk, coll, strlen(coll));
    rc |= msgpack_pack_array(&pk, count);
    for (size_t i = 0; i < count; i++) {
        rc |= msgpack_pack_array(&pk, 4);
        rc |= s_pack_bytes(&pk, vvs[i].origin, WIRE_ORIGIN_LEN);
        rc |= msgpack_pack_uint64(&pk, vvs[i].incarnation);
        rc |= msgpack_pack_uint64(&pk, vvs[i].base);
        rc |= msgpack_pack_array(&pk, vvs[i].extra_count);
        for (size_t j = 0; j < vvs[i].extra_count; j++) {
            rc |= msgpack_pack_fix_uint64(&pk, extras[i][j]);
        }
    }
    return s_pack_done(out, start, rc);
}

uint64_t
wire_vv_extra(const wire_vv_t *vv, size_t i)
{
    return s_be(vv->extra + 9 * i + 1, 8);
}

/* Read an array header whose count must fit in the bytes left at min_each bytes per
 * element, and allocate that many elements of size each (zeroed). */
static mesh_err_t
s_read_bounded(s_cur_t *c, size_t min_each, size_t each, size_t *n, void **out)
{
    *out = NULL;
    mesh_err_t err = s_read_len(c, S_ARRAY, n);
    if (err == MESH_OK && *n > s_left(c) / min_each) {
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
s_read_mark(s_cur_t *c, wire_mark_t *m)
{
    size_t n = 0;
    mesh_err_t err = s_read_len(c, S_ARRAY, &n);
    if (err == MESH_OK && n != 3 && n != 4) {
        err = MESH_EPROTO;
    }
    if (err == MESH_OK) {
        err = s_read_fixed_bin(c, WIRE_ORIGIN_LEN, m->origin);
    }
    if (err == MESH_OK) {
        err = s_read_uint(c, &m->incarnation);
    }
    if (err == MESH_OK) {
        err = s_read_uint(c, &m->seq);
    }
    m->from = 0;
    if (err == MESH_OK && n == 4) {
        err = s_read_uint(c, &m->from);
    }
    if (err == MESH_OK && n == 4 && (m->from == 0 || m->from >= m->seq)) {
        err = MESH_EPROTO; /* a range is written only when it starts above 0, below seq */
    }
    return err;
}

static mesh_err_t
s_read_vv(s_cur_t *c, wire_vv_t *v)
{
    mesh_err_t err = s_read_array_of(c, 4);
    if (err == MESH_OK) {
        err = s_read_fixed_bin(c, WIRE_ORIGIN_LEN, v->origin);
    }
    if (err == MESH_OK) {
        err = s_read_uint(c, &v->incarnation);
    }
    if (err == MESH_OK) {
        err = s_read_uint(c, &v->base);
    }
    if (err == MESH_OK) {
        err = s_read_len(c, S_ARRAY, &v->extra_count);
    }
    if (err == MESH_OK && v->extra_count > s_left(c) / 9) {
        err = MESH_EPROTO;
    }
    v->extra = c->p;
    uint64_t prev = v->base;
    for (size_t i = 0; err == MESH_OK && i < v->extra_count; i++) {
        uint64_t x = 0;
        err = s_read_fix_u64(c, &x);
        if (err == MESH_OK && x <= prev) {
            err = MESH_EPROTO; /* ascending, above the base */
        }
        prev = x;
    }
    return err;
}

static mesh_err_t
s_read_section(s_cur_t *c, bool is_vector, wire_section_t *sec)
{
    const uint8_t *coll = NULL;
    mesh_err_t err = s_read_array_of(c, is_vector ? 2 : 3);
    if (err == MESH_OK) {
        err = s_read_bytes(c, S_STR, MESH_COLL_MAX, &coll, &sec->coll_len);
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
        err = s_read_bounded(c, 2, sizeof *sec->sets, &sec->set_count, (void **)&sec->sets);
    }
    if (err == MESH_OK && sec->set_count) {
        sec->set_lens = calloc(sec->set_count, sizeof *sec->set_lens);
        err = sec->set_lens ? MESH_OK : MESH_ENOMEM;
    }
    for (size_t i = 0; err == MESH_OK && i < sec->set_count; i++) {
        err = s_read_bytes(c, S_BIN, WIRE_SET_MAX, &sec->sets[i], &sec->set_lens[i]);
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
    s_cur_t c = {buf, buf + len};
    const uint8_t *tag = NULL;
    size_t tag_len = 0;
    const char *want = is_vector ? WIRE_VECTOR_TAG : WIRE_BUNDLE_TAG;
    memset(doc, 0, sizeof *doc);
    mesh_err_t err = s_read_array_of(&c, 2);
    if (err == MESH_OK) {
        err = s_read_bytes(&c, S_STR, 64, &tag, &tag_len);
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

/* ---- session messages (§11) ---- */

mesh_err_t
wire_msg_encode(const wire_msg_t *msg, wire_buf_t *out)
{
    size_t start = out->len;
    msgpack_packer pk;
    int rc;
    if (msg->type < WIRE_MSG_HELLO || msg->type > WIRE_MSG_LAST ||
        (msg->type == WIRE_MSG_HELLO && (!msg->summary || msg->credit == 0 ||
                                         msg->credit > WIRE_CREDIT_MAX || msg->name_len > 64)) ||
        ((msg->type == WIRE_MSG_ACK || msg->type == WIRE_MSG_SUMMARY) &&
         msg->body_len != WIRE_SUMMARY_LEN) ||
        (msg->type == WIRE_MSG_BLOCK_REQ && msg->body_len > WIRE_BLOCK_REQ_MAX) ||
        (msg->type == WIRE_MSG_BLOCK && msg->body_len > WIRE_BLOCK_MAX)) {
        return MESH_EINVAL;
    }
    msgpack_packer_init(&pk, out, s_buf_write);
    if (msg->type == WIRE_MSG_HELLO && msg->major != WIRE_PROTO_MAJOR) {
        /* another major version (a test playing one): the four elements every version
         * keeps, and one of a layout this version does not know */
        rc = msgpack_pack_array(&pk, 5);
        rc |= msgpack_pack_uint8(&pk, msg->type);
        rc |= msgpack_pack_str_with_body(&pk, WIRE_PROTO_NAME, strlen(WIRE_PROTO_NAME));
        rc |= msgpack_pack_uint64(&pk, msg->major);
        rc |= msgpack_pack_uint64(&pk, msg->minor);
        rc |= msgpack_pack_map(&pk, 0);
    } else if (msg->type == WIRE_MSG_HELLO) {
        rc = msgpack_pack_array(&pk, 10);
        rc |= msgpack_pack_uint8(&pk, msg->type);
        rc |= msgpack_pack_str_with_body(&pk, WIRE_PROTO_NAME, strlen(WIRE_PROTO_NAME));
        rc |= msgpack_pack_uint64(&pk, msg->major);
        rc |= msgpack_pack_uint64(&pk, msg->minor);
        rc |= msgpack_pack_str_with_body(&pk, msg->name, msg->name_len);
        rc |= msgpack_pack_uint64(&pk, msg->num);
        rc |= msgpack_pack_uint64(&pk, msg->credit);
        rc |= s_pack_bytes(&pk, msg->summary, WIRE_SUMMARY_LEN);
        rc |= s_pack_bytes(&pk, msg->covers, msg->covers ? WIRE_SUMMARY_LEN : 0);
        rc |= s_pack_bytes(&pk, msg->body, msg->body_len);
    } else {
        rc = msgpack_pack_array(&pk, msg->type == WIRE_MSG_BATCH ? 4 : 3);
        rc |= msgpack_pack_uint8(&pk, msg->type);
        rc |= msgpack_pack_uint64(&pk, msg->num);
        rc |= s_pack_bytes(&pk, msg->body, msg->body_len);
        if (msg->type == WIRE_MSG_BATCH) {
            rc |= msgpack_pack_uint8(&pk, msg->more ? 1 : 0);
        }
    }
    return s_pack_done(out, start, rc);
}

mesh_err_t
wire_msg_decode(const uint8_t *buf, size_t len, wire_msg_t *msg)
{
    s_cur_t c = {buf, buf + len};
    size_t n = 0;
    uint64_t type = 0;
    const uint8_t *p = NULL;
    memset(msg, 0, sizeof *msg);
    mesh_err_t err = s_read_len(&c, S_ARRAY, &n);
    if (err == MESH_OK) {
        err = s_read_uint(&c, &type);
    }
    if (err == MESH_OK && (type < WIRE_MSG_HELLO || type > WIRE_MSG_LAST ||
                           (type == WIRE_MSG_HELLO   ? n < 4u
                            : type == WIRE_MSG_BATCH ? n != 4u
                                                     : n != 3u))) {
        err = MESH_EPROTO;
    }
    if (err == MESH_OK && type == WIRE_MSG_HELLO) {
        size_t plen = 0;
        err = s_read_bytes(&c, S_STR, 16, &p, &plen);
        if (err != MESH_OK || plen != strlen(WIRE_PROTO_NAME) ||
            memcmp(p, WIRE_PROTO_NAME, plen) != 0) {
            err = MESH_EPROTO;
        }
        if (err == MESH_OK) {
            err = s_read_uint(&c, &msg->major);
        }
        if (err == MESH_OK) {
            err = s_read_uint(&c, &msg->minor);
        }
        if (err == MESH_OK && msg->major != WIRE_PROTO_MAJOR) {
            /* Another major version: only the first four elements keep their places in
             * every version (§11.1), and they are all the session needs to refuse it. */
            msg->type = (uint8_t)type;
            return MESH_OK;
        }
        if (err == MESH_OK && n != 10u) {
            err = MESH_EPROTO;
        }
        if (err == MESH_OK) {
            err = s_read_bytes(&c, S_STR, 64, &p, &msg->name_len);
            msg->name = (const char *)p;
        }
        if (err == MESH_OK) {
            err = s_read_uint(&c, &msg->num);
        }
        if (err == MESH_OK) {
            err = s_read_uint(&c, &msg->credit);
        }
        if (err == MESH_OK && (msg->credit == 0 || msg->credit > WIRE_CREDIT_MAX)) {
            err = MESH_EPROTO;
        }
        if (err == MESH_OK) {
            err = s_read_bytes(&c, S_BIN, WIRE_SUMMARY_LEN, &msg->summary, &plen);
        }
        if (err == MESH_OK && plen != WIRE_SUMMARY_LEN) {
            err = MESH_EPROTO;
        }
        if (err == MESH_OK) {
            err = s_read_bytes(&c, S_BIN, WIRE_SUMMARY_LEN, &msg->covers, &plen);
        }
        if (err == MESH_OK && plen != 0 && plen != WIRE_SUMMARY_LEN) {
            err = MESH_EPROTO;
        }
        msg->covers = plen ? msg->covers : NULL;
        if (err == MESH_OK) {
            err = s_read_bytes(&c, S_BIN, SIZE_MAX, &msg->body, &msg->body_len);
        }
    } else if (err == MESH_OK) {
        err = s_read_uint(&c, &msg->num);
        if (err == MESH_OK) {
            err = s_read_bytes(&c, S_BIN, SIZE_MAX, &msg->body, &msg->body_len);
        }
        if (err == MESH_OK && (type == WIRE_MSG_ACK || type == WIRE_MSG_SUMMARY) &&
            msg->body_len != WIRE_SUMMARY_LEN) {
            err = MESH_EPROTO; /* both carry a summary, nothing else */
        }
        if (err == MESH_OK && ((type == WIRE_MSG_BLOCK_REQ && msg->body_len > WIRE_BLOCK_REQ_MAX) ||
                               (type == WIRE_MSG_BLOCK && msg->body_len > WIRE_BLOCK_MAX))) {
            err = MESH_ETOOBIG;
        }
        uint64_t more = 0;
        if (err == MESH_OK && type == WIRE_MSG_BATCH) {
            err = s_read_uint(&c, &more);
        }
        if (err == MESH_OK && more > 1) {
            err = MESH_EPROTO;
        }
        msg->more = more == 1;
    }
    if (err == MESH_OK && c.p != c.end) {
        err = MESH_EPROTO;
    }
    if (err != MESH_OK) {
        memset(msg, 0, sizeof *msg);
        return err;
    }
    msg->type = (uint8_t)type;
    return MESH_OK;
}
