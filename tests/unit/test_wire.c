/* tests/unit/test_wire.c: unit tests of core/wire/ (buf.c; set.c: headers, op metadata, sets;
 * msg.c: session messages, and the head wire_msg_head writes before a body encoded apart; the cursor of cursor.c through their decoders).
 * Checks the encoders' bytes against a reference layout built here byte by byte, round trips,
 * every encoder's MESH_EINVAL/MESH_ETOOBIG case, and the strict decoder's rejections (trailing
 * bytes, every truncation, non-shortest forms, caps, order), also flush against a PROT_NONE page.
 * Layer: tests. Third-party: cmocka. SPDX-License-Identifier: MIT */
#include "core/wire/buf.h"
#include "core/wire/compact.h"
#include "core/wire/doc.h"
#include "core/wire/msg.h"
#include "core/wire/set.h"
#include "crypto/devid.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "util.h"

#define S_TAG_LEN 14u /* strlen(WIRE_SET_TAG) */

/* ---- reference encodings (util.h), from the layouts in core/wire/set.h and msg.h, not from msgpack-c ---- */

/* Header fields, marked: 0 array, 1 tag, 2 coll, 3 origin, 4 incarnation, 5 first_seq,
 * 6 count, 7 hlc, 8 root; mark 9 is the end. */
enum { SH_ARRAY, SH_TAG, SH_COLL, SH_ORIGIN, SH_INC, SH_FIRST, SH_COUNT, SH_HLC, SH_ROOT };

static void
s_ref_header(const wire_header_t *h, util_bytes_t *bb)
{
    util_mark(bb), util_array(bb, 8);
    util_mark(bb), util_str(bb, WIRE_SET_TAG, S_TAG_LEN);
    util_mark(bb), util_str(bb, h->coll, h->coll_len);
    util_mark(bb), util_bin(bb, h->origin, WIRE_ORIGIN_LEN);
    util_mark(bb), util_uint(bb, h->incarnation);
    util_mark(bb), util_uint(bb, h->first_seq);
    util_mark(bb), util_uint(bb, h->count);
    util_mark(bb), util_uint(bb, h->hlc);
    util_mark(bb), util_bin(bb, h->root, WIRE_HASH_LEN);
    util_mark(bb);
}

/* Opmeta fields, marked: 0 array, 1 seq, 2 key, 3 kind, 4 vhash|nil, 5 value_len,
 * 6 context array, then one mark per entry, then the end. */
enum { SO_ARRAY, SO_SEQ, SO_KEY, SO_KIND, SO_VHASH, SO_VLEN, SO_CTX, SO_ENTRY0 };

static void
s_ref_entry(util_bytes_t *bb, const wire_dot_t *dot)
{
    util_array(bb, 3);
    util_bin(bb, dot->origin, WIRE_ORIGIN_LEN);
    util_fixu64(bb, dot->incarnation);
    util_fixu64(bb, dot->seq);
}

static void
s_ref_opmeta(const wire_opmeta_t *op, const wire_dot_t *ctx, size_t n, util_bytes_t *bb)
{
    util_mark(bb), util_array(bb, 6);
    util_mark(bb), util_uint(bb, op->seq);
    util_mark(bb), util_bin(bb, op->key, op->key_len);
    util_mark(bb), util_uint(bb, op->kind);
    util_mark(bb);
    if (op->kind == WIRE_PUT)
        util_bin(bb, op->vhash, WIRE_HASH_LEN);
    else
        util_u8(bb, 0xc0);
    util_mark(bb), util_uint(bb, op->kind == WIRE_PUT ? op->value_len : 0);
    util_mark(bb), util_array(bb, n);
    for (size_t i = 0; i < n; i++)
        util_mark(bb), s_ref_entry(bb, &ctx[i]);
    util_mark(bb);
}

/* Set fields, marked: 0 array, 1 header, 2 sig, 3 ops array, then one mark per op, the end.
 * A full set's op is [meta, value|nil]; a partial set's [meta, value|nil, proof]. */
enum { SS_ARRAY, SS_HEADER, SS_SIG, SS_OPS, SS_OP0 };

static void
s_ref_set_as(const uint8_t *header, size_t header_len, const uint8_t *sig, const wire_op_t *ops,
             size_t n, bool partial, util_bytes_t *bb)
{
    util_mark(bb), util_array(bb, 3);
    util_mark(bb), util_bin(bb, header, header_len);
    util_mark(bb), util_bin(bb, sig, WIRE_SIG_LEN);
    util_mark(bb), util_array(bb, n);
    for (size_t i = 0; i < n; i++) {
        util_mark(bb), util_array(bb, partial ? 3 : 2);
        util_bin(bb, ops[i].meta, ops[i].meta_len);
        if (ops[i].value)
            util_bin(bb, ops[i].value, ops[i].value_len);
        else
            util_u8(bb, 0xc0);
        if (partial)
            util_bin(bb, ops[i].proof, ops[i].proof_count * WIRE_HASH_LEN);
    }
    util_mark(bb);
}

static void
s_ref_set(const uint8_t *header, size_t header_len, const uint8_t *sig, const wire_op_t *ops,
          size_t n, util_bytes_t *bb)
{
    s_ref_set_as(header, header_len, sig, ops, n, false, bb);
}

/* ---- sample values ---- */

static void
s_sample_header(wire_header_t *h, const char *coll, size_t coll_len)
{
    memset(h, 0, sizeof(*h));
    h->coll = coll;
    h->coll_len = coll_len;
    util_fill(h->origin, WIRE_ORIGIN_LEN, 0x11);
    h->incarnation = 2;
    h->first_seq = 3;
    h->count = 4;
    h->hlc = 5;
    util_fill(h->root, WIRE_HASH_LEN, 0x22);
}

static void
s_sample_put(wire_opmeta_t *op, uint64_t seq, const uint8_t *key, size_t key_len, uint32_t vlen)
{
    memset(op, 0, sizeof(*op));
    op->seq = seq;
    op->key = key;
    op->key_len = key_len;
    op->kind = WIRE_PUT;
    util_fill(op->vhash, WIRE_HASH_LEN, (uint8_t)seq);
    op->value_len = vlen;
}

static void
s_sample_del(wire_opmeta_t *op, uint64_t seq, const uint8_t *key, size_t key_len)
{
    memset(op, 0, sizeof(*op));
    op->seq = seq;
    op->key = key;
    op->key_len = key_len;
    op->kind = WIRE_DEL;
}

/* n context entries, sorted by (origin, incarnation): origins step every 3 entries. */
static void
s_sample_ctx(wire_dot_t *ctx, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        memset(ctx[i].origin, 0x40, WIRE_ORIGIN_LEN);
        ctx[i].origin[0] = (uint8_t)(i / 3 / 256);
        ctx[i].origin[WIRE_ORIGIN_LEN - 1] = (uint8_t)(i / 3);
        ctx[i].incarnation = (i % 3 == 2) ? UINT64_MAX : i % 3;
        ctx[i].seq = i == 0 ? UINT64_MAX : 1 + 1000 * i;
    }
}

/* ---- checks ---- */

static const uint8_t s_zero[sizeof(wire_set_t) + sizeof(wire_header_t) + sizeof(wire_opmeta_t)];

static void
s_assert_zeroed(const void *p, size_t n)
{
    assert_true(n <= sizeof(s_zero));
    assert_memory_equal(p, s_zero, n);
}

static void
s_assert_header_eq(const wire_header_t *got, const wire_header_t *want)
{
    assert_int_equal(got->coll_len, want->coll_len);
    assert_memory_equal(got->coll, want->coll, want->coll_len);
    assert_memory_equal(got->origin, want->origin, WIRE_ORIGIN_LEN);
    assert_true(got->incarnation == want->incarnation);
    assert_true(got->first_seq == want->first_seq);
    assert_int_equal(got->count, want->count);
    assert_true(got->hlc == want->hlc);
    assert_memory_equal(got->root, want->root, WIRE_HASH_LEN);
}

static void
s_assert_dot_eq(const wire_dot_t *got, const wire_dot_t *want)
{
    assert_memory_equal(got->origin, want->origin, WIRE_ORIGIN_LEN);
    assert_true(got->incarnation == want->incarnation);
    assert_true(got->seq == want->seq);
}

static void
s_assert_opmeta_eq(const wire_opmeta_t *got, const wire_opmeta_t *want, const wire_dot_t *ctx,
                   size_t n)
{
    static const uint8_t zero_hash[WIRE_HASH_LEN];
    wire_dot_t dot;

    assert_true(got->seq == want->seq);
    assert_int_equal(got->key_len, want->key_len);
    assert_memory_equal(got->key, want->key, want->key_len);
    assert_int_equal(got->kind, want->kind);
    if (want->kind == WIRE_PUT) {
        assert_memory_equal(got->vhash, want->vhash, WIRE_HASH_LEN);
        assert_int_equal(got->value_len, want->value_len);
    } else {
        assert_memory_equal(got->vhash, zero_hash, WIRE_HASH_LEN);
        assert_int_equal(got->value_len, 0);
    }
    assert_int_equal(got->ctx_count, n);
    for (size_t i = 0; i < n; i++) {
        memset(&dot, 0xa5, sizeof(dot));
        wire_ctx_get(got, i, &dot);
        s_assert_dot_eq(&dot, &ctx[i]);
    }
}

/* Encode, compare with the reference bytes, decode, compare fields; return the encoding. */
static void
s_header_round_trip(const wire_header_t *h, wire_buf_t *out)
{
    util_bytes_t *ref = util_bytes_new();
    wire_header_t got;

    wire_buf_reset(out);
    assert_int_equal(wire_header_encode(h, out), MESH_OK);
    s_ref_header(h, ref);
    assert_int_equal(out->len, ref->len);
    assert_memory_equal(out->data, ref->b, ref->len);
    memset(&got, 0xa5, sizeof(got));
    assert_int_equal(wire_header_decode(out->data, out->len, &got), MESH_OK);
    s_assert_header_eq(&got, h);
    assert_true((const uint8_t *)got.coll >= out->data &&
                (const uint8_t *)got.coll + got.coll_len <= out->data + out->len);
    util_bytes_free(ref);
}

static void
s_opmeta_round_trip(const wire_opmeta_t *op, const wire_dot_t *ctx, size_t n, wire_buf_t *out)
{
    util_bytes_t *ref = util_bytes_new();
    wire_opmeta_t got;

    wire_buf_reset(out);
    assert_int_equal(wire_opmeta_encode(op, ctx, n, out), MESH_OK);
    s_ref_opmeta(op, ctx, n, ref);
    assert_int_equal(out->len, ref->len);
    assert_memory_equal(out->data, ref->b, ref->len);
    memset(&got, 0xa5, sizeof(got));
    assert_int_equal(wire_opmeta_decode(out->data, out->len, &got), MESH_OK);
    s_assert_opmeta_eq(&got, op, ctx, n);
    assert_true(got.key >= out->data && got.key + got.key_len <= out->data + out->len);
    util_bytes_free(ref);
}

static mesh_err_t
s_header_code(const uint8_t *buf, size_t len)
{
    wire_header_t h;
    mesh_err_t err;

    memset(&h, 0xa5, sizeof(h));
    err = wire_header_decode(buf, len, &h);
    if (err != MESH_OK)
        s_assert_zeroed(&h, sizeof(h));
    return err;
}

static mesh_err_t
s_opmeta_code(const uint8_t *buf, size_t len)
{
    wire_opmeta_t op;
    mesh_err_t err;

    memset(&op, 0xa5, sizeof(op));
    err = wire_opmeta_decode(buf, len, &op);
    if (err != MESH_OK)
        s_assert_zeroed(&op, sizeof(op));
    return err;
}

static mesh_err_t
s_set_code(const uint8_t *buf, size_t len)
{
    wire_set_t set;
    mesh_err_t err;

    memset(&set, 0xa5, sizeof(set));
    err = wire_set_decode(buf, len, &set);
    if (err != MESH_OK)
        s_assert_zeroed(&set, sizeof(set));
    wire_set_release(&set);
    return err;
}

/* ---- a catalogue of valid encodings, for the truncation and fence tests ---- */

enum s_kind { S_HEADER, S_OPMETA, S_SET };

#define S_CASES_MAX 16u

typedef struct s_case {
    enum s_kind kind;
    wire_buf_t buf;
} s_case_t;

typedef struct s_cases {
    s_case_t c[S_CASES_MAX];
    size_t n;
} s_cases_t;

static mesh_err_t
s_code(enum s_kind kind, const uint8_t *buf, size_t len)
{
    switch (kind) {
    case S_HEADER:
        return s_header_code(buf, len);
    case S_OPMETA:
        return s_opmeta_code(buf, len);
    case S_SET:
        return s_set_code(buf, len);
    }
    fail();
    return MESH_EINVAL;
}

static wire_buf_t *
s_add(s_cases_t *cs, enum s_kind kind)
{
    assert_true(cs->n < S_CASES_MAX);
    cs->c[cs->n].kind = kind;
    wire_buf_init(&cs->c[cs->n].buf);
    return &cs->c[cs->n++].buf;
}

static void
s_cases_build(s_cases_t *cs)
{
    static uint8_t key[MESH_KEY_MAX];
    static char coll[MESH_COLL_MAX];
    wire_dot_t ctx[17];
    wire_header_t h;
    wire_opmeta_t op;
    wire_buf_t hdr, metas[3];
    uint8_t sig[WIRE_SIG_LEN], value[300];
    wire_op_t ops[3];

    memset(cs, 0, sizeof(*cs));
    util_fill(key, sizeof(key), 0x33);
    memset(coll, 'c', sizeof(coll));
    util_fill(sig, sizeof(sig), 0x44);
    util_fill(value, sizeof(value), 0x55);
    s_sample_ctx(ctx, 17);

    s_sample_header(&h, "notes", 5);
    assert_int_equal(wire_header_encode(&h, s_add(cs, S_HEADER)), MESH_OK);
    h.coll = coll, h.coll_len = MESH_COLL_MAX, h.count = WIRE_OPS_MAX;
    h.incarnation = UINT64_MAX, h.first_seq = 1ull << 40, h.hlc = 0x10000;
    assert_int_equal(wire_header_encode(&h, s_add(cs, S_HEADER)), MESH_OK);

    s_sample_put(&op, 1, key, 1, 0);
    assert_int_equal(wire_opmeta_encode(&op, ctx, 0, s_add(cs, S_OPMETA)), MESH_OK);
    s_sample_del(&op, 300, key, 40);
    assert_int_equal(wire_opmeta_encode(&op, ctx, 1, s_add(cs, S_OPMETA)), MESH_OK);
    s_sample_put(&op, 70000, key, 255, 65536);
    assert_int_equal(wire_opmeta_encode(&op, ctx, 3, s_add(cs, S_OPMETA)), MESH_OK);
    s_sample_put(&op, UINT64_MAX, key, MESH_KEY_MAX, MESH_VALUE_MAX);
    assert_int_equal(wire_opmeta_encode(&op, ctx, 17, s_add(cs, S_OPMETA)), MESH_OK);

    /* Sets of real headers and metadata: one put; put, delete, zero-length value. */
    wire_buf_init(&hdr);
    s_sample_header(&h, "notes", 5);
    assert_int_equal(wire_header_encode(&h, &hdr), MESH_OK);
    for (size_t i = 0; i < 3; i++) {
        wire_buf_init(&metas[i]);
        if (i == 1)
            s_sample_del(&op, 3 + i, key, 2);
        else
            s_sample_put(&op, 3 + i, key, 2 + i, i == 0 ? sizeof(value) : 0);
        assert_int_equal(wire_opmeta_encode(&op, ctx, i, &metas[i]), MESH_OK);
        ops[i].meta = metas[i].data;
        ops[i].meta_len = metas[i].len;
        ops[i].value = i == 1 ? NULL : value;
        ops[i].value_len = i == 0 ? sizeof(value) : 0;
    }
    assert_int_equal(wire_set_encode(hdr.data, hdr.len, sig, ops, 1, s_add(cs, S_SET)), MESH_OK);
    assert_int_equal(wire_set_encode(hdr.data, hdr.len, sig, ops, 3, s_add(cs, S_SET)), MESH_OK);
    for (size_t i = 0; i < 3; i++)
        wire_buf_release(&metas[i]);
    wire_buf_release(&hdr);
}

static void
s_cases_release(s_cases_t *cs)
{
    for (size_t i = 0; i < cs->n; i++)
        wire_buf_release(&cs->c[i].buf);
}

/* ---- tests: the buffer ---- */

static void
test_wire_buf_init_reset_release(void **state)
{
    wire_buf_t b;
    wire_header_t h;
    uint8_t *data;

    (void)state;
    memset(&b, 0xa5, sizeof(b));
    wire_buf_init(&b);
    s_assert_zeroed(&b, sizeof(b));
    s_sample_header(&h, "notes", 5);
    assert_int_equal(wire_header_encode(&h, &b), MESH_OK);
    assert_true(b.len > 0 && b.len <= b.cap && !b.failed);
    data = b.data;
    wire_buf_reset(&b);
    assert_int_equal(b.len, 0);
    assert_ptr_equal(b.data, data); /* keeps the memory */
    assert_int_equal(wire_header_encode(&h, &b), MESH_OK);
    assert_int_equal(s_header_code(b.data, b.len), MESH_OK);
    wire_buf_release(&b);
    s_assert_zeroed(&b, sizeof(b));
    wire_buf_release(&b); /* released twice: a no-op */
    wire_buf_release(NULL);
}

/* Encoders append: a second encoding follows the first, which stays intact. */
static void
test_wire_encoders_append(void **state)
{
    static const uint8_t key[] = "k";
    wire_buf_t b;
    wire_header_t h;
    wire_opmeta_t op;
    size_t first;

    (void)state;
    wire_buf_init(&b);
    s_sample_header(&h, "notes", 5);
    s_sample_put(&op, 9, key, 1, 3);
    assert_int_equal(wire_header_encode(&h, &b), MESH_OK);
    first = b.len;
    assert_int_equal(wire_opmeta_encode(&op, NULL, 0, &b), MESH_OK);
    assert_int_equal(s_header_code(b.data, first), MESH_OK);
    assert_int_equal(s_opmeta_code(b.data + first, b.len - first), MESH_OK);
    wire_buf_release(&b);
}

/* ---- tests: headers ---- */

static void
test_wire_header_round_trip(void **state)
{
    static const uint8_t bytes_notes[] = {0x98, 0xae};
    static char coll[MESH_COLL_MAX];
    static const size_t colls[] = {1, 5, 31, 32, 100, MESH_COLL_MAX};
    static const uint64_t ints[] = {
        0, 1, 0x7f, 0x80, 0xff, 0x100, 0xffff, 0x10000, 0xffffffffull, 0x100000000ull, UINT64_MAX};
    wire_buf_t b;
    wire_header_t h;

    (void)state;
    wire_buf_init(&b);
    memset(coll, 'x', sizeof(coll));
    s_sample_header(&h, "notes", 5);
    s_header_round_trip(&h, &b);
    assert_memory_equal(b.data, bytes_notes, sizeof(bytes_notes)); /* fixarray 8, fixstr 14 */
    assert_memory_equal(b.data + 2, WIRE_SET_TAG, S_TAG_LEN);
    for (size_t i = 0; i < sizeof(colls) / sizeof(colls[0]); i++) {
        s_sample_header(&h, coll, colls[i]);
        s_header_round_trip(&h, &b);
    }
    /* Every integer width in every integer field (count within its cap). */
    for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
        s_sample_header(&h, "c", 1);
        h.incarnation = ints[i];
        h.hlc = ints[i];
        /* first_seq UINT64_MAX with count 1 is the decoder's known off-by-one (see the last
         * test), so the widest first_seq here is UINT64_MAX - 1. */
        h.first_seq = ints[i] == 0 ? 1 : ints[i] == UINT64_MAX ? UINT64_MAX - 1 : ints[i];
        h.count = ints[i] ? 1 : WIRE_OPS_MAX;
        if (ints[i] > 1 && ints[i] - 1 <= WIRE_OPS_MAX) {
            h.first_seq = 1;
            h.count = (uint32_t)ints[i] - 1;
        }
        s_header_round_trip(&h, &b);
    }
    /* The last seq may reach UINT64_MAX - 1. */
    s_sample_header(&h, "c", 1);
    h.first_seq = UINT64_MAX - WIRE_OPS_MAX;
    h.count = WIRE_OPS_MAX;
    s_header_round_trip(&h, &b);
    wire_buf_release(&b);
}

static void
test_wire_header_encode_rejects_invalid(void **state)
{
    static char coll[MESH_COLL_MAX + 1];
    wire_buf_t b;
    wire_header_t h;
    size_t before;

    (void)state;
    memset(coll, 'x', sizeof(coll));
    wire_buf_init(&b);
    s_sample_header(&h, "notes", 5);
    assert_int_equal(wire_header_encode(&h, &b), MESH_OK); /* something to keep */
    before = b.len;
    for (int i = 0; i < 5; i++) {
        s_sample_header(&h, "notes", 5);
        switch (i) {
        case 0:
            h.coll_len = 0;
            break;
        case 1:
            h.coll = coll, h.coll_len = MESH_COLL_MAX + 1;
            break;
        case 2:
            h.count = 0;
            break;
        case 3:
            h.count = WIRE_OPS_MAX + 1;
            break;
        default:
            h.first_seq = 0;
            break;
        }
        assert_int_equal(wire_header_encode(&h, &b), MESH_EINVAL);
        assert_int_equal(b.len, before); /* nothing appended, the earlier bytes stay valid */
        assert_int_equal(s_header_code(b.data, b.len), MESH_OK);
    }
    wire_buf_release(&b);
}

static void
test_wire_header_decode_rejects_bad_fields(void **state)
{
    static char coll[MESH_COLL_MAX + 1];
    static const uint8_t count0[] = {0x00}, count_big[] = {0xcd, 0x27, 0x11}; /* 10001 */
    static const uint8_t seq0[] = {0x00}, empty_coll[] = {0xa0}, str_origin[] = {0xa0};
    static const uint8_t origin31[] = {0xc4, 0x1f}, neg_inc[] = {0xff}, int8_inc[] = {0xd0, 0x01};
    static const uint8_t nil_root[] = {0xc0},
                         seq_max[] = {0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    static const uint8_t arr7[] = {0x97}, arr9[] = {0x99}, map8[] = {0x88};
    uint8_t alt[300];
    util_bytes_t *ref = util_bytes_new(), *bb;
    wire_header_t h;

    (void)state;
    memset(coll, 'x', sizeof(coll));
    s_sample_header(&h, "c", 1);
    s_ref_header(&h, ref);
    assert_int_equal(s_header_code(ref->b, ref->len), MESH_OK);

#define S_HDR_EXPECT(field, bytes, nbytes, code)                                                   \
    do {                                                                                           \
        bb = util_splice(ref, (field), (bytes), (nbytes));                                         \
        assert_int_equal(s_header_code(bb->b, bb->len), (code));                                   \
        util_bytes_free(bb);                                                                       \
    } while (0)

    S_HDR_EXPECT(SH_ARRAY, arr7, 1, MESH_EPROTO);
    S_HDR_EXPECT(SH_ARRAY, arr9, 1, MESH_EPROTO);
    S_HDR_EXPECT(SH_ARRAY, map8, 1, MESH_EPROTO);
    S_HDR_EXPECT(SH_COLL, empty_coll, 1, MESH_EPROTO);
    S_HDR_EXPECT(SH_ORIGIN, str_origin, 1, MESH_EPROTO);
    S_HDR_EXPECT(SH_FIRST, seq0, 1, MESH_EPROTO); /* zero seq */
    S_HDR_EXPECT(SH_COUNT, count0, 1, MESH_EPROTO);
    S_HDR_EXPECT(SH_COUNT, count_big, 3, MESH_ETOOBIG);
    S_HDR_EXPECT(SH_INC, neg_inc, 1, MESH_EPROTO); /* negative fixint */
    S_HDR_EXPECT(SH_INC, int8_inc, 2, MESH_EPROTO);
    S_HDR_EXPECT(SH_ROOT, nil_root, 1, MESH_EPROTO);
    /* first_seq + count wraps past UINT64_MAX. */
    S_HDR_EXPECT(SH_FIRST, seq_max, sizeof(seq_max), MESH_EPROTO);

    /* An origin of 31 and of 33 bytes. */
    memcpy(alt, origin31, 2), memset(alt + 2, 1, 31);
    S_HDR_EXPECT(SH_ORIGIN, alt, 33, MESH_EPROTO);
    alt[1] = 33, memset(alt + 2, 1, 33);
    S_HDR_EXPECT(SH_ORIGIN, alt, 35, MESH_EPROTO);
    alt[1] = 31;
    S_HDR_EXPECT(SH_ROOT, alt, 33, MESH_EPROTO);

    /* A collection name over MESH_COLL_MAX. */
    alt[0] = 0xd9, alt[1] = MESH_COLL_MAX + 1, memcpy(alt + 2, coll, MESH_COLL_MAX + 1);
    S_HDR_EXPECT(SH_COLL, alt, 2 + MESH_COLL_MAX + 1, MESH_ETOOBIG);
    alt[0] = 0xd9, alt[1] = MESH_COLL_MAX, memcpy(alt + 2, coll, MESH_COLL_MAX);
    S_HDR_EXPECT(SH_COLL, alt, 2 + MESH_COLL_MAX, MESH_OK); /* control: at the cap */
#undef S_HDR_EXPECT
    util_bytes_free(ref);
}

static void
test_wire_header_decode_rejects_wrong_tag(void **state)
{
    static const char tag2[] = "meshsync/set/2", tag_short[] = "meshsync/set/";
    static const char tag_long[] = "meshsync/set/10";
    uint8_t alt[80];
    util_bytes_t *ref = util_bytes_new(), *bb;
    wire_header_t h;
    mesh_err_t err;

    (void)state;
    s_sample_header(&h, "c", 1);
    s_ref_header(&h, ref);

#define S_TAG_EXPECT(nbytes, code)                                                                 \
    do {                                                                                           \
        bb = util_splice(ref, SH_TAG, alt, (nbytes));                                              \
        assert_int_equal(s_header_code(bb->b, bb->len), (code));                                   \
        util_bytes_free(bb);                                                                       \
    } while (0)

    alt[0] = 0xae, memcpy(alt + 1, tag2, 14);
    S_TAG_EXPECT(15, MESH_EPROTO);
    alt[0] = 0xad, memcpy(alt + 1, tag_short, 13);
    S_TAG_EXPECT(14, MESH_EPROTO);
    alt[0] = 0xaf, memcpy(alt + 1, tag_long, 15);
    S_TAG_EXPECT(16, MESH_EPROTO);
    alt[0] = 0xc4, alt[1] = 14, memcpy(alt + 2, WIRE_SET_TAG, 14); /* a bin, not a str */
    S_TAG_EXPECT(16, MESH_EPROTO);
    alt[0] = 0xa0;
    S_TAG_EXPECT(1, MESH_EPROTO);

    /* A wrong tag is malformed whatever its length, even past the 64-byte read bound. */
    alt[0] = 0xd9, alt[1] = 65, memset(alt + 2, 'm', 65);
    bb = util_splice(ref, SH_TAG, alt, 67);
    err = s_header_code(bb->b, bb->len);
    assert_int_equal(err, MESH_EPROTO);
    util_bytes_free(bb);
#undef S_TAG_EXPECT
    util_bytes_free(ref);
}

/* ---- tests: op metadata ---- */

static void
test_wire_opmeta_round_trip_put(void **state)
{
    static uint8_t key[MESH_KEY_MAX];
    static const size_t keys[] = {1, 31, 255, 256, MESH_KEY_MAX};
    static const size_t ns[] = {0, 1, 2, 5, 15, 16, 100};
    static const uint32_t vlens[] = {0, 1, 127, 128, 65535, 65536, MESH_VALUE_MAX};
    wire_dot_t ctx[100];
    wire_buf_t b;
    wire_opmeta_t op;

    (void)state;
    wire_buf_init(&b);
    util_fill(key, sizeof(key), 0x61);
    s_sample_ctx(ctx, 100);
    for (size_t i = 0; i < sizeof(ns) / sizeof(ns[0]); i++) {
        s_sample_put(&op, 1 + i, key, 3, 10);
        s_opmeta_round_trip(&op, ctx, ns[i], &b);
    }
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        s_sample_put(&op, UINT64_MAX - i, key, keys[i], vlens[i]);
        s_opmeta_round_trip(&op, ctx, 1, &b);
    }
    for (size_t i = 0; i < sizeof(vlens) / sizeof(vlens[0]); i++) {
        s_sample_put(&op, 0x80 + i, key, 4, vlens[i]);
        s_opmeta_round_trip(&op, ctx + i, 2, &b);
    }
    wire_buf_release(&b);
}

static void
test_wire_opmeta_round_trip_del(void **state)
{
    static const uint8_t key[] = "some/key";
    wire_dot_t ctx[5];
    wire_buf_t b;
    wire_opmeta_t op;

    (void)state;
    wire_buf_init(&b);
    s_sample_ctx(ctx, 5);
    for (size_t n = 0; n <= 5; n++) {
        s_sample_del(&op, 42 + n, key, sizeof(key) - 1);
        util_fill(op.vhash, WIRE_HASH_LEN, 0x99); /* ignored for a delete */
        s_opmeta_round_trip(&op, ctx, n, &b);
    }
    wire_buf_release(&b);
}

/* wire_ctx_get returns each entry, at the cap too; entries may share an origin. */
static void
test_wire_opmeta_ctx_get_returns_entries(void **state)
{
    static const uint8_t key[] = "k";
    wire_dot_t *ctx = calloc(WIRE_CTX_MAX, sizeof(*ctx));
    wire_buf_t b;
    wire_opmeta_t op, got;
    wire_dot_t dot;

    (void)state;
    assert_non_null(ctx);
    wire_buf_init(&b);
    s_sample_ctx(ctx, WIRE_CTX_MAX);
    s_sample_put(&op, 7, key, 1, 1);
    s_opmeta_round_trip(&op, ctx, WIRE_CTX_MAX, &b);

    /* Same origin, incarnations 0 < 1 < UINT64_MAX: sorted. Read them back in any order. */
    wire_buf_reset(&b);
    assert_int_equal(wire_opmeta_encode(&op, ctx, 3, &b), MESH_OK);
    assert_int_equal(wire_opmeta_decode(b.data, b.len, &got), MESH_OK);
    for (size_t i = 3; i > 0; i--) {
        wire_ctx_get(&got, i - 1, &dot);
        s_assert_dot_eq(&dot, &ctx[i - 1]);
    }
    wire_buf_release(&b);
    free(ctx);
}

static void
test_wire_opmeta_encode_rejects_invalid(void **state)
{
    static uint8_t key[MESH_KEY_MAX + 1];
    wire_dot_t ctx[WIRE_CTX_MAX + 1];
    wire_buf_t b;
    wire_opmeta_t op;
    size_t before, n;

    (void)state;
    wire_buf_init(&b);
    s_sample_ctx(ctx, WIRE_CTX_MAX + 1);
    s_sample_put(&op, 1, key, 1, 0);
    assert_int_equal(wire_opmeta_encode(&op, NULL, 0, &b), MESH_OK);
    before = b.len;
    for (int i = 0; i < 8; i++) {
        s_sample_put(&op, 1, key, 1, 0);
        n = 2;
        switch (i) {
        case 0:
            op.key_len = 0;
            break;
        case 1:
            op.key_len = MESH_KEY_MAX + 1;
            break;
        case 2:
            op.kind = 2;
            break;
        case 3:
            op.value_len = MESH_VALUE_MAX + 1;
            break;
        case 4:
            n = WIRE_CTX_MAX + 1;
            break;
        case 5: /* unsorted */
            memcpy(&ctx[WIRE_CTX_MAX], &ctx[0], sizeof(ctx[0]));
            memcpy(&ctx[0], &ctx[1], sizeof(ctx[0]));
            memcpy(&ctx[1], &ctx[WIRE_CTX_MAX], sizeof(ctx[0]));
            break;
        case 6: /* a duplicate (origin, incarnation), even with another seq */
            s_sample_ctx(ctx, 2);
            ctx[1].incarnation = ctx[0].incarnation;
            break;
        default: /* the very same entry twice */
            s_sample_ctx(ctx, 2);
            memcpy(&ctx[1], &ctx[0], sizeof(ctx[0]));
            break;
        }
        assert_int_equal(wire_opmeta_encode(&op, ctx, n, &b), MESH_EINVAL);
        assert_int_equal(b.len, before);
        assert_int_equal(s_opmeta_code(b.data, b.len), MESH_OK);
    }
    wire_buf_release(&b);
}

static void
test_wire_opmeta_decode_rejects_bad_fields(void **state)
{
    static const uint8_t zero[] = {0x00}, two[] = {0x02}, nil[] = {0xc0}, one[] = {0x01};
    static const uint8_t arr5[] = {0x95}, arr7[] = {0x97}, empty_key[] = {0xc4, 0x00};
    static const uint8_t str_key[] = {0xa1, 'k'}, vlen_big[] = {0xce, 0x00, 0x10, 0x00, 0x01};
    static const uint8_t vlen_max[] = {0xce, 0x00, 0x10, 0x00, 0x00}, neg[] = {0xe0};
    static const uint8_t ctx_map[] = {0x80}, ctx_nil[] = {0xc0};
    static uint8_t key[MESH_KEY_MAX + 1];
    uint8_t alt[MESH_KEY_MAX + 8];
    util_bytes_t *put = util_bytes_new(), *del = util_bytes_new(), *bb;
    wire_opmeta_t op;
    wire_dot_t ctx[2];

    (void)state;
    s_sample_ctx(ctx, 2);
    s_sample_put(&op, 5, (const uint8_t *)"k", 1, 9);
    s_ref_opmeta(&op, ctx, 2, put);
    s_sample_del(&op, 5, (const uint8_t *)"k", 1);
    s_ref_opmeta(&op, ctx, 2, del);
    assert_int_equal(s_opmeta_code(put->b, put->len), MESH_OK);
    assert_int_equal(s_opmeta_code(del->b, del->len), MESH_OK);

#define S_OP_EXPECT(src, field, bytes, nbytes, code)                                               \
    do {                                                                                           \
        bb = util_splice((src), (field), (bytes), (nbytes));                                       \
        assert_int_equal(s_opmeta_code(bb->b, bb->len), (code));                                   \
        util_bytes_free(bb);                                                                       \
    } while (0)

    S_OP_EXPECT(put, SO_ARRAY, arr5, 1, MESH_EPROTO);
    S_OP_EXPECT(put, SO_ARRAY, arr7, 1, MESH_EPROTO);
    S_OP_EXPECT(put, SO_SEQ, zero, 1, MESH_EPROTO); /* zero seq */
    S_OP_EXPECT(put, SO_SEQ, neg, 1, MESH_EPROTO);
    S_OP_EXPECT(put, SO_KEY, empty_key, 2, MESH_EPROTO);
    S_OP_EXPECT(put, SO_KEY, str_key, 2, MESH_EPROTO);
    S_OP_EXPECT(put, SO_KIND, two, 1, MESH_EPROTO);  /* wrong kind */
    S_OP_EXPECT(put, SO_KIND, one, 1, MESH_EPROTO);  /* a delete with a hash */
    S_OP_EXPECT(del, SO_KIND, zero, 1, MESH_EPROTO); /* a put with nil */
    S_OP_EXPECT(put, SO_VHASH, nil, 1, MESH_EPROTO);
    S_OP_EXPECT(del, SO_VLEN, one, 1, MESH_EPROTO); /* a delete with a value length */
    S_OP_EXPECT(put, SO_VLEN, vlen_big, sizeof(vlen_big), MESH_ETOOBIG);
    S_OP_EXPECT(put, SO_VLEN, vlen_max, sizeof(vlen_max), MESH_OK); /* control */
    S_OP_EXPECT(put, SO_VLEN, neg, 1, MESH_EPROTO);
    S_OP_EXPECT(put, SO_CTX, ctx_map, 1, MESH_EPROTO);
    S_OP_EXPECT(put, SO_CTX, ctx_nil, 1, MESH_EPROTO);

    /* A hash of 31 bytes. */
    alt[0] = 0xc4, alt[1] = 31, memset(alt + 2, 3, 31);
    S_OP_EXPECT(put, SO_VHASH, alt, 33, MESH_EPROTO);

    /* Key > MESH_KEY_MAX with its bytes present: ETOOBIG; at the cap: fine. */
    alt[0] = 0xc5, alt[1] = (MESH_KEY_MAX + 1) >> 8, alt[2] = (MESH_KEY_MAX + 1) & 0xff;
    memcpy(alt + 3, key, MESH_KEY_MAX + 1);
    S_OP_EXPECT(put, SO_KEY, alt, 3 + MESH_KEY_MAX + 1, MESH_ETOOBIG);
    alt[1] = MESH_KEY_MAX >> 8, alt[2] = MESH_KEY_MAX & 0xff;
    S_OP_EXPECT(put, SO_KEY, alt, 3 + MESH_KEY_MAX, MESH_OK);
    /* A key length claiming more than the bytes present: malformed. */
    alt[1] = 0xff, alt[2] = 0xff;
    S_OP_EXPECT(put, SO_KEY, alt, 3, MESH_EPROTO);
#undef S_OP_EXPECT
    util_bytes_free(put);
    util_bytes_free(del);
}

/* The context: sorted by (origin, incarnation), no duplicates, seq > 0, count <= cap. */
static void
test_wire_opmeta_decode_rejects_bad_ctx(void **state)
{
    static const uint8_t key[] = "k";
    wire_dot_t *ctx = calloc(WIRE_CTX_MAX + 1, sizeof(*ctx));
    util_bytes_t *bb;
    wire_opmeta_t op;
    wire_dot_t tmp;

    (void)state;
    assert_non_null(ctx);
    s_sample_put(&op, 5, key, 1, 9);

    /* Unsorted by origin, unsorted by incarnation, a duplicate (origin, incarnation), the
     * same entry twice, a zero seq: each in a reference encoding of two or three entries. */
    for (int i = 0; i < 6; i++) {
        s_sample_ctx(ctx, 4);
        if (i == 0) { /* entries 0 and 3 differ by origin */
            tmp = ctx[0], ctx[0] = ctx[3], ctx[3] = tmp;
        } else if (i == 1) { /* entries 0 and 1 share an origin */
            tmp = ctx[0], ctx[0] = ctx[1], ctx[1] = tmp;
        } else if (i == 2) {
            ctx[1].incarnation = ctx[0].incarnation;
        } else if (i == 3) {
            ctx[1] = ctx[0];
        } else if (i == 4) {
            ctx[2].seq = 0;
        } else {
            ctx[0].seq = 0;
        }
        bb = util_bytes_new();
        s_ref_opmeta(&op, ctx, 4, bb);
        assert_int_equal(s_opmeta_code(bb->b, bb->len), MESH_EPROTO);
        util_bytes_free(bb);
    }

    /* More than WIRE_CTX_MAX entries, all present and sorted: ETOOBIG. */
    s_sample_ctx(ctx, WIRE_CTX_MAX + 1);
    bb = util_bytes_new();
    s_ref_opmeta(&op, ctx, WIRE_CTX_MAX + 1, bb);
    assert_int_equal(s_opmeta_code(bb->b, bb->len), MESH_ETOOBIG);
    /* The same count with no entries present: still the cap's code. */
    assert_int_equal(s_opmeta_code(bb->b, bb->mark[SO_ENTRY0]), MESH_ETOOBIG);
    util_bytes_free(bb);

    /* A count claiming more entries than present, and fewer. */
    s_sample_ctx(ctx, 3);
    bb = util_bytes_new();
    s_ref_opmeta(&op, ctx, 3, bb);
    assert_int_equal(s_opmeta_code(bb->b, bb->len), MESH_OK);
    bb->b[bb->mark[SO_CTX]] = 0x94;
    assert_int_equal(s_opmeta_code(bb->b, bb->len), MESH_EPROTO);
    bb->b[bb->mark[SO_CTX]] = 0x92;
    assert_int_equal(s_opmeta_code(bb->b, bb->len), MESH_EPROTO);
    bb->b[bb->mark[SO_CTX]] = 0x93;
    /* An entry of the wrong shape: [origin, inc, seq] as a 4-array, a short incarnation. */
    bb->b[bb->mark[SO_ENTRY0 + 1]] = 0x94;
    assert_int_equal(s_opmeta_code(bb->b, bb->len), MESH_EPROTO);
    bb->b[bb->mark[SO_ENTRY0 + 1]] = 0x93;
    bb->b[bb->mark[SO_ENTRY0 + 1] + 3 + WIRE_ORIGIN_LEN] = 0xce;
    assert_int_equal(s_opmeta_code(bb->b, bb->len), MESH_EPROTO);
    util_bytes_free(bb);
    free(ctx);
}

/* ---- tests: sets ---- */

static void
test_wire_set_round_trip(void **state)
{
    static const uint8_t value_a[] = "alpha", key[] = "abc";
    uint8_t sig[WIRE_SIG_LEN];
    wire_buf_t hdr, metas[4], b;
    wire_header_t h, got_h;
    wire_opmeta_t op, got_op;
    wire_op_t ops[4];
    wire_set_t set;
    wire_dot_t ctx[3];
    util_bytes_t *ref = util_bytes_new();

    (void)state;
    util_fill(sig, sizeof(sig), 0x77);
    s_sample_ctx(ctx, 3);
    wire_buf_init(&hdr);
    wire_buf_init(&b);
    s_sample_header(&h, "notes", 5);
    h.first_seq = 10, h.count = 4;
    assert_int_equal(wire_header_encode(&h, &hdr), MESH_OK);
    /* A put with a value, a delete (nil), a put of a zero-length value, a put with context. */
    for (size_t i = 0; i < 4; i++) {
        wire_buf_init(&metas[i]);
        if (i == 1)
            s_sample_del(&op, 10 + i, key, 1 + i);
        else
            s_sample_put(&op, 10 + i, key, 1 + i, i == 0 ? 5 : i == 2 ? 0 : 3);
        assert_int_equal(wire_opmeta_encode(&op, ctx, i == 3 ? 3 : 0, &metas[i]), MESH_OK);
        ops[i].meta = metas[i].data;
        ops[i].meta_len = metas[i].len;
    }
    ops[0].value = value_a, ops[0].value_len = 5;
    ops[1].value = NULL, ops[1].value_len = 0;
    ops[2].value = value_a, ops[2].value_len = 0;
    ops[3].value = value_a + 2, ops[3].value_len = 3;

    assert_int_equal(wire_set_encode(hdr.data, hdr.len, sig, ops, 4, &b), MESH_OK);
    s_ref_set(hdr.data, hdr.len, sig, ops, 4, ref);
    assert_int_equal(b.len, ref->len);
    assert_memory_equal(b.data, ref->b, ref->len);

    memset(&set, 0xa5, sizeof(set));
    assert_int_equal(wire_set_decode(b.data, b.len, &set), MESH_OK);
    assert_int_equal(set.header_len, hdr.len);
    assert_memory_equal(set.header, hdr.data, hdr.len);
    assert_memory_equal(set.sig, sig, WIRE_SIG_LEN);
    assert_int_equal(set.op_count, 4);
    assert_int_equal(wire_header_decode(set.header, set.header_len, &got_h), MESH_OK);
    s_assert_header_eq(&got_h, &h);
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(set.ops[i].meta_len, metas[i].len);
        assert_memory_equal(set.ops[i].meta, metas[i].data, metas[i].len);
        assert_int_equal(wire_opmeta_decode(set.ops[i].meta, set.ops[i].meta_len, &got_op),
                         MESH_OK);
        assert_true(got_op.seq == 10 + i);
        assert_int_equal(got_op.ctx_count, i == 3 ? 3 : 0);
        assert_int_equal(set.ops[i].value_len, ops[i].value_len);
        if (ops[i].value_len > 0)
            assert_memory_equal(set.ops[i].value, ops[i].value, ops[i].value_len);
    }
    assert_null(set.ops[1].value);     /* a delete: nil */
    assert_non_null(set.ops[2].value); /* a zero-length value is not nil */
    assert_int_equal(set.ops[2].value_len, 0);
    wire_set_release(&set);
    s_assert_zeroed(&set, sizeof(set));
    wire_set_release(&set); /* a zeroed set: a no-op */
    wire_set_release(NULL);

    /* The nil and the zero-length value are distinct encodings. */
    ops[2].value = NULL;
    {
        wire_buf_t b2;

        wire_buf_init(&b2);
        assert_int_equal(wire_set_encode(hdr.data, hdr.len, sig, ops, 4, &b2), MESH_OK);
        assert_int_equal(b2.len + 1, b.len); /* nil is one byte, an empty bin two */
        assert_true(memcmp(b2.data, b.data, b2.len) != 0);
        wire_buf_release(&b2);
    }
    for (size_t i = 0; i < 4; i++)
        wire_buf_release(&metas[i]);
    wire_buf_release(&hdr);
    wire_buf_release(&b);
    util_bytes_free(ref);
}

/* A set of 300 ops (an array16), with empty metadata, nil and empty values, bins of every
 * width (a 70000-byte value is a bin32): all round-trip. */
static void
test_wire_set_round_trip_many_ops(void **state)
{
    enum { N = 300 };
    static uint8_t value[70000];
    uint8_t sig[WIRE_SIG_LEN] = {0}, meta[] = {0x01, 0x02};
    wire_op_t *ops = calloc(N, sizeof(*ops));
    wire_buf_t b;
    wire_set_t set;

    (void)state;
    assert_non_null(ops);
    util_fill(value, sizeof(value), 0x12);
    wire_buf_init(&b);
    for (size_t i = 0; i < N; i++) {
        ops[i].meta = meta;
        ops[i].meta_len = i % 3;
        ops[i].value = i % 4 == 1 ? NULL : value;
        ops[i].value_len = i % 4 == 1 ? 0 : i == 7 ? sizeof(value) : i;
    }
    assert_int_equal(wire_set_encode(value, 300, sig, ops, N, &b), MESH_OK);
    assert_int_equal(wire_set_decode(b.data, b.len, &set), MESH_OK);
    assert_int_equal(set.op_count, N);
    assert_int_equal(set.header_len, 300);
    for (size_t i = 0; i < N; i++) {
        assert_int_equal(set.ops[i].meta_len, ops[i].meta_len);
        assert_int_equal(set.ops[i].value_len, ops[i].value_len);
        assert_true((set.ops[i].value == NULL) == (ops[i].value == NULL));
    }
    assert_memory_equal(set.ops[7].value, value, sizeof(value));
    wire_set_release(&set);
    wire_buf_release(&b);
    free(ops);
}

/* A partial set: each op carries its Merkle proof (0 to WIRE_PROOF_MAX hashes). */
static void
test_wire_set_partial_round_trip(void **state)
{
    static uint8_t proofs[(WIRE_PROOF_MAX + 1) * WIRE_HASH_LEN]; /* op i's starts at byte i */
    static const uint8_t meta[] = {0x01, 0x02, 0x03}, value[] = "v";
    static const size_t counts[] = {0, 1, 5, WIRE_PROOF_MAX};
    uint8_t sig[WIRE_SIG_LEN];
    wire_op_t ops[4];
    wire_buf_t b;
    wire_set_t set;
    util_bytes_t *ref = util_bytes_new();

    (void)state;
    util_fill(proofs, sizeof(proofs), 0x31);
    util_fill(sig, sizeof(sig), 0x32);
    memset(ops, 0, sizeof(ops));
    for (size_t i = 0; i < 4; i++) {
        ops[i].meta = meta, ops[i].meta_len = 1 + i % 3;
        ops[i].value = i == 1 ? NULL : value, ops[i].value_len = i == 1 ? 0 : 1;
        ops[i].proof = proofs + i, ops[i].proof_count = counts[i];
    }
    wire_buf_init(&b);
    assert_int_equal(wire_set_encode_partial(meta, 3, sig, ops, 4, &b), MESH_OK);
    s_ref_set_as(meta, 3, sig, ops, 4, true, ref);
    assert_int_equal(b.len, ref->len);
    assert_memory_equal(b.data, ref->b, ref->len);
    memset(&set, 0xa5, sizeof(set));
    assert_int_equal(wire_set_decode(b.data, b.len, &set), MESH_OK);
    assert_true(set.partial);
    assert_int_equal(set.op_count, 4);
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(set.ops[i].proof_count, counts[i]);
        assert_non_null(set.ops[i].proof); /* an empty proof is still a proof */
        if (counts[i] > 0)
            assert_memory_equal(set.ops[i].proof, proofs + i, counts[i] * WIRE_HASH_LEN);
        assert_true((set.ops[i].value == NULL) == (i == 1));
    }
    wire_set_release(&set);

    /* The same ops as a full set: no proofs, not partial (proof fields ignored). */
    wire_buf_reset(&b);
    assert_int_equal(wire_set_encode(meta, 3, sig, ops, 4, &b), MESH_OK);
    assert_int_equal(wire_set_decode(b.data, b.len, &set), MESH_OK);
    assert_false(set.partial);
    for (size_t i = 0; i < 4; i++) {
        assert_null(set.ops[i].proof);
        assert_int_equal(set.ops[i].proof_count, 0);
    }
    wire_set_release(&set);
    wire_buf_release(&b);
    util_bytes_free(ref);
}

static void
test_wire_set_partial_rejects_bad_proofs(void **state)
{
    static uint8_t proofs[(WIRE_PROOF_MAX + 1) * WIRE_HASH_LEN];
    static const uint8_t meta[] = {0x01};
    static const uint8_t op2[] = {0x92, 0xc4, 0x01, 0x01, 0xc0};
    static const uint8_t op4[] = {0x94, 0xc4, 0x01, 0x01, 0xc0, 0xc4, 0x00, 0xc0};
    static const uint8_t op_nil_proof[] = {0x93, 0xc4, 0x01, 0x01, 0xc0, 0xc0};
    uint8_t sig[WIRE_SIG_LEN] = {0}, alt[1200];
    wire_op_t ops[2];
    wire_buf_t b;
    util_bytes_t *ref = util_bytes_new(), *bb;
    size_t n;

    (void)state;
    memset(ops, 0, sizeof(ops));
    for (size_t i = 0; i < 2; i++)
        ops[i].meta = meta, ops[i].meta_len = 1, ops[i].proof = proofs, ops[i].proof_count = 1;
    wire_buf_init(&b);
    assert_int_equal(wire_set_encode_partial(meta, 1, sig, ops, 2, &b), MESH_OK);
    n = b.len;
    ops[1].proof_count = WIRE_PROOF_MAX + 1;
    assert_int_equal(wire_set_encode_partial(meta, 1, sig, ops, 2, &b), MESH_EINVAL);
    assert_int_equal(b.len, n);
    ops[1].proof_count = 1;
    s_ref_set_as(meta, 1, sig, ops, 2, true, ref);
    assert_int_equal(s_set_code(ref->b, ref->len), MESH_OK);

#define S_PART_EXPECT(field, bytes, nbytes, code)                                                  \
    do {                                                                                           \
        bb = util_splice(ref, (field), (bytes), (nbytes));                                         \
        assert_int_equal(s_set_code(bb->b, bb->len), (code));                                      \
        util_bytes_free(bb);                                                                       \
    } while (0)

    /* Full and partial ops mixed, either way round; 4 elements; a nil proof. */
    S_PART_EXPECT(SS_OP0 + 1, op2, sizeof(op2), MESH_EPROTO);
    S_PART_EXPECT(SS_OP0, op2, sizeof(op2), MESH_EPROTO);
    S_PART_EXPECT(SS_OP0, op4, sizeof(op4), MESH_EPROTO);
    S_PART_EXPECT(SS_OP0, op_nil_proof, sizeof(op_nil_proof), MESH_EPROTO);
    /* A proof that is not whole hashes; one over WIRE_PROOF_MAX hashes; one at it. */
    memcpy(alt, op_nil_proof, 5);
    alt[5] = 0xc4, alt[6] = WIRE_HASH_LEN + 1, memset(alt + 7, 0, WIRE_HASH_LEN + 1);
    S_PART_EXPECT(SS_OP0, alt, 7 + WIRE_HASH_LEN + 1, MESH_EPROTO);
    n = (WIRE_PROOF_MAX + 1) * WIRE_HASH_LEN;
    alt[5] = 0xc5, alt[6] = (uint8_t)(n >> 8), alt[7] = (uint8_t)n, memset(alt + 8, 0, n);
    S_PART_EXPECT(SS_OP0, alt, 8 + n, MESH_ETOOBIG);
    n = WIRE_PROOF_MAX * WIRE_HASH_LEN;
    alt[5] = 0xc5, alt[6] = (uint8_t)(n >> 8), alt[7] = (uint8_t)n;
    S_PART_EXPECT(SS_OP0, alt, 8 + n, MESH_OK);
#undef S_PART_EXPECT
    wire_buf_release(&b);
    util_bytes_free(ref);
}

static void
test_wire_set_encode_rejects_too_big(void **state)
{
    static const uint8_t hdr[] = "h";
    uint8_t sig[WIRE_SIG_LEN] = {0};
    uint8_t *value = malloc(MESH_VALUE_MAX);
    size_t n = WIRE_SET_MAX / MESH_VALUE_MAX + 1;
    wire_op_t *ops = calloc(WIRE_OPS_MAX + 1, sizeof(*ops));
    wire_buf_t b;
    size_t before;

    (void)state;
    assert_non_null(value);
    assert_non_null(ops);
    memset(value, 0x5a, MESH_VALUE_MAX);
    wire_buf_init(&b);
    for (size_t i = 0; i <= WIRE_OPS_MAX; i++) {
        ops[i].meta = hdr;
        ops[i].meta_len = 1;
    }
    assert_int_equal(wire_set_encode(hdr, 1, sig, ops, 1, &b), MESH_OK);
    before = b.len;
    /* Too many ops. */
    assert_int_equal(wire_set_encode(hdr, 1, sig, ops, WIRE_OPS_MAX + 1, &b), MESH_ETOOBIG);
    assert_int_equal(b.len, before);
    /* Over WIRE_SET_MAX bytes, in values of at most MESH_VALUE_MAX each. */
    for (size_t i = 0; i < n; i++) {
        ops[i].value = value;
        ops[i].value_len = MESH_VALUE_MAX;
    }
    assert_int_equal(wire_set_encode(hdr, 1, sig, ops, n, &b), MESH_ETOOBIG);
    assert_int_equal(b.len, before);
    assert_int_equal(s_set_code(b.data, b.len), MESH_OK);
    /* Well under it, the same values encode and decode. */
    wire_buf_reset(&b);
    assert_int_equal(wire_set_encode(hdr, 1, sig, ops, n - 2, &b), MESH_OK);
    assert_true(b.len > (n - 2) * MESH_VALUE_MAX);
    assert_int_equal(s_set_code(b.data, b.len), MESH_OK);
    wire_buf_release(&b);
    free(ops);
    free(value);
}

static void
test_wire_set_decode_rejects_bad_fields(void **state)
{
    static const uint8_t arr2[] = {0x92}, arr4[] = {0x94}, ops0[] = {0x90};
    static const uint8_t ops_nil[] = {0xc0}, sig_str[] = {0xa0}, hdr_nil[] = {0xc0};
    static const uint8_t op_arr1[] = {0x91, 0xc4, 0x01, 0x00};
    static const uint8_t op_arr3[] = {0x93, 0xc4, 0x01, 0x00, 0xc0, 0xc0};
    static const uint8_t op_meta_nil[] = {0x92, 0xc0, 0xc0};
    static const uint8_t op_val_str[] = {0x92, 0xc4, 0x01, 0x00, 0xa1, 'v'};
    static const uint8_t op_val_int[] = {0x92, 0xc4, 0x01, 0x00, 0x00};
    static const uint8_t op_empty[] = {0x92, 0xc4, 0x00, 0xc0}; /* control: 4 bytes */
    static const uint8_t meta[] = {0x01};
    uint8_t alt[8192], sig[WIRE_SIG_LEN] = {0};
    wire_op_t ops[2] = {{.meta = meta, .meta_len = 1},
                        {.meta = meta, .meta_len = 1, .value = meta, .value_len = 1}};
    util_bytes_t *ref = util_bytes_new(), *bb;

    (void)state;
    s_ref_set(meta, 1, sig, ops, 2, ref);
    assert_int_equal(s_set_code(ref->b, ref->len), MESH_OK);

#define S_SET_EXPECT(field, bytes, nbytes, code)                                                   \
    do {                                                                                           \
        bb = util_splice(ref, (field), (bytes), (nbytes));                                         \
        assert_int_equal(s_set_code(bb->b, bb->len), (code));                                      \
        util_bytes_free(bb);                                                                       \
    } while (0)

    S_SET_EXPECT(SS_ARRAY, arr2, 1, MESH_EPROTO);
    S_SET_EXPECT(SS_ARRAY, arr4, 1, MESH_EPROTO);
    S_SET_EXPECT(SS_HEADER, hdr_nil, 1, MESH_EPROTO);
    S_SET_EXPECT(SS_SIG, sig_str, 1, MESH_EPROTO);
    S_SET_EXPECT(SS_OPS, ops_nil, 1, MESH_EPROTO);
    S_SET_EXPECT(SS_OP0, op_arr1, sizeof(op_arr1), MESH_EPROTO);
    S_SET_EXPECT(SS_OP0, op_arr3, sizeof(op_arr3), MESH_EPROTO);
    S_SET_EXPECT(SS_OP0, op_meta_nil, sizeof(op_meta_nil), MESH_EPROTO);
    S_SET_EXPECT(SS_OP0, op_val_str, sizeof(op_val_str), MESH_EPROTO);
    S_SET_EXPECT(SS_OP0, op_val_int, sizeof(op_val_int), MESH_EPROTO);
    S_SET_EXPECT(SS_OP0, op_empty, sizeof(op_empty), MESH_OK);

    /* Zero ops: the header alone, a partial set of no op (§3.4), decodes as partial. */
    bb = util_bytes_new();
    util_raw(bb, ref->b, ref->mark[SS_OPS]);
    util_raw(bb, ops0, 1);
    assert_int_equal(s_set_code(bb->b, bb->len), MESH_OK);
    wire_set_t hdr_only;
    assert_int_equal(wire_set_decode(bb->b, bb->len, &hdr_only), MESH_OK);
    assert_true(hdr_only.partial);
    assert_int_equal(hdr_only.op_count, 0);
    wire_set_release(&hdr_only);
    /* ... and with anything after the empty ops array, it is malformed */
    util_raw(bb, ops0, 1);
    assert_int_equal(s_set_code(bb->b, bb->len), MESH_EPROTO);
    util_bytes_free(bb);

    /* A signature of 63 bytes. */
    alt[0] = 0xc4, alt[1] = 63, memset(alt + 2, 0, 63);
    S_SET_EXPECT(SS_SIG, alt, 65, MESH_EPROTO);
    /* A header over 4096 bytes (its cap in the set), and at it. */
    alt[0] = 0xc5, alt[1] = 0x10, alt[2] = 0x01, memset(alt + 3, 0, 4097);
    S_SET_EXPECT(SS_HEADER, alt, 3 + 4097, MESH_ETOOBIG);
    alt[2] = 0x00;
    S_SET_EXPECT(SS_HEADER, alt, 3 + 4096, MESH_OK);
#undef S_SET_EXPECT
    util_bytes_free(ref);
}

/* A value over MESH_VALUE_MAX, and an input over WIRE_SET_MAX, give ETOOBIG. */
static void
test_wire_set_decode_rejects_over_caps(void **state)
{
    size_t len = WIRE_SET_MAX + 1, vlen = MESH_VALUE_MAX + 1;
    uint8_t *buf = calloc(1, len);
    size_t pos = 0;

    (void)state;
    assert_non_null(buf);
    /* [bin8 "h", bin8 sig, [[bin8 "m", bin32 value]]] */
    buf[pos++] = 0x93;
    buf[pos++] = 0xc4, buf[pos++] = 1, buf[pos++] = 'h';
    buf[pos++] = 0xc4, buf[pos++] = WIRE_SIG_LEN, pos += WIRE_SIG_LEN;
    buf[pos++] = 0x91, buf[pos++] = 0x92;
    buf[pos++] = 0xc4, buf[pos++] = 1, buf[pos++] = 'm';
    buf[pos++] = 0xc6;
    buf[pos++] = (uint8_t)(vlen >> 24), buf[pos++] = (uint8_t)(vlen >> 16);
    buf[pos++] = (uint8_t)(vlen >> 8), buf[pos++] = (uint8_t)vlen;
    assert_int_equal(s_set_code(buf, pos + vlen), MESH_ETOOBIG);
    /* control: one byte less is a value at the cap (its length field says so). */
    buf[pos - 1] = (uint8_t)(vlen - 1);
    assert_int_equal(s_set_code(buf, pos + vlen - 1), MESH_OK);
    /* The whole input over WIRE_SET_MAX, valid up to there: ETOOBIG before anything else. */
    assert_int_equal(s_set_code(buf, len), MESH_ETOOBIG);
    free(buf);
}

/* An op count must be backed by bytes present before anything is allocated for it. */
static void
test_wire_set_decode_bounds_op_count_by_bytes(void **state)
{
    static const uint8_t tail[20] = {0x92, 0xc4, 0x00, 0xc0};
    uint8_t short_input[20] = {0x93, 0xc4, 0x00, 0xc4, 0x40};
    uint8_t buf[128], sig[WIRE_SIG_LEN] = {0};
    size_t pos = 0;

    (void)state;
    /* 20 bytes can't hold a header and a signature, whatever comes after. */
    memset(short_input + 5, 0xdd, sizeof(short_input) - 5);
    assert_int_equal(s_set_code(short_input, sizeof(short_input)), MESH_EPROTO);

    /* [bin8 "", sig, array32 count] then 20 bytes. */
    buf[pos++] = 0x93, buf[pos++] = 0xc4, buf[pos++] = 0x00;
    buf[pos++] = 0xc4, buf[pos++] = WIRE_SIG_LEN;
    memcpy(buf + pos, sig, WIRE_SIG_LEN), pos += WIRE_SIG_LEN;
    memcpy(buf + pos + 5, tail, sizeof(tail));

    /* 4 billion ops: over WIRE_OPS_MAX, which is checked first (as the context cap is), so
     * the code is ETOOBIG. (Asked for as EPROTO; the cap's code is what set.h documents.) */
    buf[pos] = 0xdd, buf[pos + 1] = 0xff, buf[pos + 2] = 0xff, buf[pos + 3] = 0xff;
    buf[pos + 4] = 0xff;
    assert_int_equal(s_set_code(buf, pos + 5 + sizeof(tail)), MESH_ETOOBIG);
    /* WIRE_OPS_MAX ops in 20 bytes: within the cap, but not backed by the bytes: EPROTO. */
    buf[pos] = 0xdc, buf[pos + 1] = WIRE_OPS_MAX >> 8, buf[pos + 2] = WIRE_OPS_MAX & 0xff;
    memmove(buf + pos + 3, tail, sizeof(tail));
    assert_int_equal(s_set_code(buf, pos + 3 + sizeof(tail)), MESH_EPROTO);
    /* 5 ops claimed, the 20 bytes hold 1 op and then junk: EPROTO; 1 op claimed: fine. */
    buf[pos] = 0x95;
    memmove(buf + pos + 1, tail, sizeof(tail));
    assert_int_equal(s_set_code(buf, pos + 1 + sizeof(tail)), MESH_EPROTO);
    buf[pos] = 0x91;
    assert_int_equal(s_set_code(buf, pos + 1 + 4), MESH_OK);
}

/* ---- tests: properties over every catalogue encoding ---- */

static void
test_wire_decode_rejects_trailing_byte(void **state)
{
    static const uint8_t extra[] = {0x00, 0xc0, 0xff};
    s_cases_t cs;

    (void)state;
    s_cases_build(&cs);
    for (size_t i = 0; i < cs.n; i++) {
        wire_buf_t *b = &cs.c[i].buf;

        assert_int_equal(s_code(cs.c[i].kind, b->data, b->len), MESH_OK);
        for (size_t j = 0; j < sizeof(extra); j++) {
            uint8_t *copy = malloc(b->len + 2);

            assert_non_null(copy);
            memcpy(copy, b->data, b->len);
            copy[b->len] = extra[j];
            copy[b->len + 1] = extra[j];
            assert_int_equal(s_code(cs.c[i].kind, copy, b->len + 1), MESH_EPROTO);
            assert_int_equal(s_code(cs.c[i].kind, copy, b->len + 2), MESH_EPROTO);
            free(copy);
        }
    }
    s_cases_release(&cs);
}

/* Every prefix of a valid encoding is malformed, read from an exact-size heap copy. */
static void
test_wire_decode_rejects_every_truncation(void **state)
{
    s_cases_t cs;

    (void)state;
    s_cases_build(&cs);
    for (size_t i = 0; i < cs.n; i++) {
        wire_buf_t *b = &cs.c[i].buf;

        for (size_t len = 0; len < b->len; len++) {
            uint8_t *copy = malloc(len ? len : 1);

            assert_non_null(copy);
            if (len > 0)
                memcpy(copy, b->data, len);
            assert_int_equal(s_code(cs.c[i].kind, copy, len), MESH_EPROTO);
            free(copy);
        }
    }
    s_cases_release(&cs);
}

/* Each valid encoding, and each of its prefixes, decoded flush against a PROT_NONE page:
 * a read past the end faults. */
static void
test_wire_decode_against_prot_none_fence(void **state)
{
    s_cases_t cs;
    util_fence_t fence;
    size_t longest = 0;

    (void)state;
    s_cases_build(&cs);
    for (size_t i = 0; i < cs.n; i++)
        longest = cs.c[i].buf.len > longest ? cs.c[i].buf.len : longest;
    util_fence_init(&fence, longest);
    for (size_t i = 0; i < cs.n; i++) {
        wire_buf_t *b = &cs.c[i].buf;
        const uint8_t *p = util_fence_put(&fence, b->data, b->len);

        assert_int_equal(s_code(cs.c[i].kind, p, b->len), MESH_OK);
        for (size_t len = 0; len < b->len; len++) {
            p = util_fence_put(&fence, b->data, len);
            assert_int_equal(s_code(cs.c[i].kind, p, len), MESH_EPROTO);
        }
        /* Also each suffix: a decoder starting mid-stream must stay inside it. */
        for (size_t skip = 1; skip <= b->len; skip++) {
            p = util_fence_put(&fence, b->data + skip, b->len - skip);
            (void)s_code(cs.c[i].kind, p, b->len - skip);
        }
    }
    util_fence_release(&fence);
    s_cases_release(&cs);
}

/* One meaning, one encoding: a longer form of any integer or length is rejected. */
static void
test_wire_decode_rejects_non_shortest_forms(void **state)
{
    /* Non-shortest spellings of small values. */
    static const uint8_t u8_2[] = {0xcc, 0x02}, u16_2[] = {0xcd, 0x00, 0x02};
    static const uint8_t u16_200[] = {0xcd, 0x00, 0xc8}, u32_2[] = {0xce, 0, 0, 0, 0x02};
    static const uint8_t u32_ffff[] = {0xce, 0, 0, 0xff, 0xff};
    static const uint8_t u64_2[] = {0xcf, 0, 0, 0, 0, 0, 0, 0, 0x02};
    static const uint8_t u64_big32[] = {0xcf, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff};
    static const uint8_t arr16_8[] = {0xdc, 0x00, 0x08}, arr32_8[] = {0xdd, 0, 0, 0, 0x08};
    static const uint8_t arr16_6[] = {0xdc, 0x00, 0x06}, arr16_3[] = {0xdc, 0x00, 0x03};
    static const uint8_t arr16_2[] = {0xdc, 0x00, 0x02}, arr16_1[] = {0xdc, 0x00, 0x01};
    static const uint8_t str8_c[] = {0xd9, 0x01, 'c'}, str16_c[] = {0xda, 0x00, 0x01, 'c'};
    /* Shortest spellings of other values: the controls. */
    static const uint8_t ok_200[] = {0xcc, 0xc8}, ok_256[] = {0xcd, 0x01, 0x00};
    static const uint8_t ok_big32[] = {0xcf, 0, 0, 0, 0x01, 0, 0, 0, 0};
    uint8_t alt[64];
    util_bytes_t *hdr = util_bytes_new(), *om = util_bytes_new(), *set = util_bytes_new(), *bb;
    wire_header_t h;
    wire_opmeta_t op;
    wire_dot_t ctx[1];
    wire_op_t ops[1];
    uint8_t sig[WIRE_SIG_LEN] = {0};

    (void)state;
    s_sample_header(&h, "c", 1);
    s_ref_header(&h, hdr);
    s_sample_ctx(ctx, 1);
    s_sample_put(&op, 2, (const uint8_t *)"k", 1, 2);
    s_ref_opmeta(&op, ctx, 1, om);
    ops[0].meta = om->b, ops[0].meta_len = om->len, ops[0].value = NULL, ops[0].value_len = 0;
    s_ref_set(hdr->b, hdr->len, sig, ops, 1, set);

#define S_FORM_EXPECT(decode, src, field, bytes, code)                                             \
    do {                                                                                           \
        bb = util_splice((src), (field), (bytes), sizeof(bytes));                                  \
        assert_int_equal(decode(bb->b, bb->len), (code));                                          \
        util_bytes_free(bb);                                                                       \
    } while (0)

    /* Every uint field of the header. */
    for (size_t f = SH_INC; f <= SH_HLC; f++) {
        S_FORM_EXPECT(s_header_code, hdr, f, u8_2, MESH_EPROTO);
        S_FORM_EXPECT(s_header_code, hdr, f, u16_2, MESH_EPROTO);
        S_FORM_EXPECT(s_header_code, hdr, f, u16_200, MESH_EPROTO);
        S_FORM_EXPECT(s_header_code, hdr, f, u32_2, MESH_EPROTO);
        S_FORM_EXPECT(s_header_code, hdr, f, u32_ffff, MESH_EPROTO);
        S_FORM_EXPECT(s_header_code, hdr, f, u64_2, MESH_EPROTO);
        S_FORM_EXPECT(s_header_code, hdr, f, u64_big32, MESH_EPROTO);
        S_FORM_EXPECT(s_header_code, hdr, f, ok_200, MESH_OK);
        S_FORM_EXPECT(s_header_code, hdr, f, ok_256, MESH_OK);
        S_FORM_EXPECT(s_header_code, hdr, f, ok_big32, f == SH_COUNT ? MESH_ETOOBIG : MESH_OK);
    }
    S_FORM_EXPECT(s_header_code, hdr, SH_ARRAY, arr16_8, MESH_EPROTO);
    S_FORM_EXPECT(s_header_code, hdr, SH_ARRAY, arr32_8, MESH_EPROTO);
    S_FORM_EXPECT(s_header_code, hdr, SH_COLL, str8_c, MESH_EPROTO);
    S_FORM_EXPECT(s_header_code, hdr, SH_COLL, str16_c, MESH_EPROTO);
    alt[0] = 0xd9, alt[1] = S_TAG_LEN, memcpy(alt + 2, WIRE_SET_TAG, S_TAG_LEN);
    bb = util_splice(hdr, SH_TAG, alt, 2 + S_TAG_LEN);
    assert_int_equal(s_header_code(bb->b, bb->len), MESH_EPROTO);
    util_bytes_free(bb);
    for (size_t f = SH_ORIGIN; f <= SH_ROOT; f += SH_ROOT - SH_ORIGIN) { /* bin16 of 32 */
        alt[0] = 0xc5, alt[1] = 0, alt[2] = 32, memset(alt + 3, 9, 32);
        bb = util_splice(hdr, f, alt, 35);
        assert_int_equal(s_header_code(bb->b, bb->len), MESH_EPROTO);
        util_bytes_free(bb);
    }

    /* The uint fields of op metadata, its arrays and its key. */
    for (size_t f = SO_SEQ; f <= SO_VLEN; f++) {
        if (f == SO_KEY || f == SO_VHASH)
            continue;
        S_FORM_EXPECT(s_opmeta_code, om, f, u8_2, MESH_EPROTO);
        S_FORM_EXPECT(s_opmeta_code, om, f, u16_2, MESH_EPROTO);
        S_FORM_EXPECT(s_opmeta_code, om, f, u32_2, MESH_EPROTO);
        S_FORM_EXPECT(s_opmeta_code, om, f, u64_2, MESH_EPROTO);
        S_FORM_EXPECT(s_opmeta_code, om, f, ok_256, f == SO_KIND ? MESH_EPROTO : MESH_OK);
    }
    S_FORM_EXPECT(s_opmeta_code, om, SO_ARRAY, arr16_6, MESH_EPROTO);
    S_FORM_EXPECT(s_opmeta_code, om, SO_CTX, arr16_1, MESH_EPROTO);
    alt[0] = 0xc5, alt[1] = 0, alt[2] = 1, alt[3] = 'k';
    bb = util_splice(om, SO_KEY, alt, 4);
    assert_int_equal(s_opmeta_code(bb->b, bb->len), MESH_EPROTO);
    util_bytes_free(bb);
    /* A context entry as a 3-array16. */
    memcpy(alt, arr16_3, 3);
    bb = util_bytes_new();
    util_raw(bb, om->b, om->mark[SO_ENTRY0]);
    util_raw(bb, alt, 3);
    util_raw(bb, om->b + om->mark[SO_ENTRY0] + 1, om->len - om->mark[SO_ENTRY0] - 1);
    assert_int_equal(s_opmeta_code(bb->b, bb->len), MESH_EPROTO);
    util_bytes_free(bb);

    /* The set's arrays and bins. */
    S_FORM_EXPECT(s_set_code, set, SS_ARRAY, arr16_3, MESH_EPROTO);
    S_FORM_EXPECT(s_set_code, set, SS_OPS, arr16_1, MESH_EPROTO);
    bb = util_bytes_new(); /* the op entry as a 2-array16 */
    util_raw(bb, set->b, set->mark[SS_OP0]);
    util_raw(bb, arr16_2, 3);
    util_raw(bb, set->b + set->mark[SS_OP0] + 1, set->len - set->mark[SS_OP0] - 1);
    assert_int_equal(s_set_code(bb->b, bb->len), MESH_EPROTO);
    util_bytes_free(bb);
    alt[0] = 0xc5, alt[1] = 0, alt[2] = WIRE_SIG_LEN;
    bb = util_bytes_new(); /* the signature as a bin16 */
    util_raw(bb, set->b, set->mark[SS_SIG]);
    util_raw(bb, alt, 3);
    util_raw(bb, sig, WIRE_SIG_LEN);
    util_raw(bb, set->b + set->mark[SS_OPS], set->len - set->mark[SS_OPS]);
    assert_int_equal(s_set_code(bb->b, bb->len), MESH_EPROTO);
    util_bytes_free(bb);
    bb = util_bytes_new(); /* the header as a bin16 */
    util_raw(bb, set->b, set->mark[SS_HEADER]);
    alt[0] = 0xc5, alt[1] = (uint8_t)(hdr->len >> 8), alt[2] = (uint8_t)hdr->len;
    util_raw(bb, alt, 3);
    util_raw(bb, hdr->b, hdr->len);
    util_raw(bb, set->b + set->mark[SS_SIG], set->len - set->mark[SS_SIG]);
    assert_int_equal(s_set_code(bb->b, bb->len), MESH_EPROTO);
    util_bytes_free(bb);
#undef S_FORM_EXPECT
    util_bytes_free(hdr);
    util_bytes_free(om);
    util_bytes_free(set);
}

/* ---- known encoder/decoder mismatches ---- */

/* Encoders refuse what the decoder rejects, so that nothing we sign is unreadable. */
static void
test_wire_encoders_refuse_what_decoders_reject(void **state)
{
    static const uint8_t key[] = "k", big[5000];
    static uint8_t bigv[MESH_VALUE_MAX + 1];
    uint8_t sig[WIRE_SIG_LEN] = {0};
    wire_header_t h;
    wire_opmeta_t op;
    wire_dot_t dot;
    wire_op_t one = {.meta = key, .meta_len = 1, .value = key, .value_len = 1};
    wire_buf_t b;
    mesh_err_t err;

    (void)state;
    wire_buf_init(&b);

#define S_MISMATCH(encode, refused, decode)                                                        \
    do {                                                                                           \
        wire_buf_reset(&b);                                                                        \
        err = (encode);                                                                            \
        assert_int_equal(err, (refused));                                                          \
        (void)decode;                                                                              \
    } while (0)

    /* wire_header_encode encodes a first_seq + count - 1 past UINT64_MAX; wire_header_decode
     * rejects it (and a last seq of exactly UINT64_MAX too: first_seq UINT64_MAX, count 1). */
    s_sample_header(&h, "c", 1);
    h.first_seq = UINT64_MAX - 1, h.count = 5;
    S_MISMATCH(wire_header_encode(&h, &b), MESH_EINVAL, s_header_code);
    /* wire_opmeta_encode encodes seq 0; wire_opmeta_decode rejects it. */
    s_sample_put(&op, 0, key, 1, 1);
    S_MISMATCH(wire_opmeta_encode(&op, NULL, 0, &b), MESH_EINVAL, s_opmeta_code);
    /* wire_opmeta_encode encodes a context entry of seq 0; s_read_ctx_entry rejects it. */
    s_sample_put(&op, 1, key, 1, 1);
    memset(&dot, 0, sizeof(dot));
    S_MISMATCH(wire_opmeta_encode(&op, &dot, 1, &b), MESH_EINVAL, s_opmeta_code);
    /* s_set_encode encodes zero ops, a header over 4096 bytes and a value over MESH_VALUE_MAX;
     * wire_set_decode rejects each. */
    S_MISMATCH(wire_set_encode(key, 1, sig, &one, 0, &b), MESH_EINVAL, s_set_code);
    wire_buf_reset(&b);
    err = wire_set_encode(big, sizeof(big), sig, &one, 1, &b);
    assert_int_equal(err, MESH_ETOOBIG);
    one.value = bigv, one.value_len = sizeof(bigv);
    wire_buf_reset(&b);
    err = wire_set_encode(key, 1, sig, &one, 1, &b);
    assert_int_equal(err, MESH_ETOOBIG);
#undef S_MISMATCH
    wire_buf_release(&b);
}

/* ---- session messages (§11): HELLO, BATCH, SUMMARY and ACK ---- */

/* HELLO fields, marked: 0 array, 1 type, 2 proto name, 3 major, 4 minor, 5 name, 6 session,
 * 7 credit, 8 summary, 9 covers, 10 vector; mark 11 is the end. */
enum {
    SM_ARRAY,
    SM_TYPE,
    SM_PROTO,
    SM_MAJOR,
    SM_MINOR,
    SM_NAME,
    SM_SESSION,
    SM_CREDIT,
    SM_SUMMARY,
    SM_COVERS,
    SM_VECTOR
};

/* The reference HELLO: [1, "meshsync", major, minor, name, session, credit, summary (bin 16),
 * covers (bin 16 or bin 0), vector (bin)]. */
static void
s_ref_hello(util_bytes_t *bb, const char *name, uint64_t session, uint64_t credit,
            const uint8_t *summary, const uint8_t *covers, const uint8_t *vector, size_t vector_len)
{
    util_mark(bb), util_array(bb, 10);
    util_mark(bb), util_uint(bb, WIRE_MSG_HELLO);
    util_mark(bb), util_str(bb, WIRE_PROTO_NAME, strlen(WIRE_PROTO_NAME));
    util_mark(bb), util_uint(bb, WIRE_PROTO_MAJOR);
    util_mark(bb), util_uint(bb, WIRE_PROTO_MINOR);
    util_mark(bb), util_str(bb, name, strlen(name));
    util_mark(bb), util_uint(bb, session);
    util_mark(bb), util_uint(bb, credit);
    util_mark(bb), util_bin(bb, summary, WIRE_SUMMARY_LEN);
    util_mark(bb), util_bin(bb, covers, covers ? WIRE_SUMMARY_LEN : 0);
    util_mark(bb), util_bin(bb, vector, vector_len);
    util_mark(bb);
}

/* Other messages, marked: 0 array, 1 type, 2 num, 3 body, 4 more (BATCH only), then the end. */
enum { SN_ARRAY, SN_TYPE, SN_NUM, SN_BODY, SN_MORE };

static void
s_ref_msg(util_bytes_t *bb, uint8_t type, uint64_t num, const uint8_t *body, size_t body_len,
          int more)
{
    util_mark(bb), util_array(bb, more >= 0 ? 4 : 3);
    util_mark(bb), util_uint(bb, type);
    util_mark(bb), util_uint(bb, num);
    util_mark(bb), util_bin(bb, body, body_len);
    if (more >= 0) {
        util_mark(bb), util_uint(bb, (uint64_t)more);
    }
    util_mark(bb);
}

/* Decode len bytes of p from an exact-size heap copy; on failure msg must come back zeroed. */
static mesh_err_t
s_msg_code(const uint8_t *p, size_t len, wire_msg_t *msg)
{
    static const wire_msg_t zero;
    uint8_t *copy = malloc(len ? len : 1);

    assert_non_null(copy);
    if (len > 0)
        memcpy(copy, p, len);
    memset(msg, 0x5a, sizeof(*msg));
    mesh_err_t err = wire_msg_decode(copy, len, msg);
    if (err != MESH_OK)
        assert_memory_equal(msg, &zero, sizeof(*msg));
    free(copy);
    return err;
}

/* Encode msg, check its bytes against ref, and decode them again into *out; out's pointers
 * borrow *enc, which the caller releases. */
static void
s_msg_round_trip(const wire_msg_t *msg, const util_bytes_t *ref, wire_buf_t *enc, wire_msg_t *out)
{
    wire_buf_init(enc);
    assert_int_equal(wire_msg_encode(msg, enc), MESH_OK);
    assert_int_equal(enc->len, ref->len);
    assert_memory_equal(enc->data, ref->b, ref->len);
    assert_int_equal(wire_msg_decode(enc->data, enc->len, out), MESH_OK);
}

/* A HELLO carries name, session id, credit, a 16-byte summary and a vector file (or nothing)
 * byte for byte as documented, and decodes back to the same fields; credit 1 and
 * WIRE_CREDIT_MAX are both in range. */
static void
test_wire_msg_hello_round_trip(void **state)
{
    static const uint64_t credits[] = {1, 16, WIRE_CREDIT_MAX};
    static const uint64_t sessions[] = {0, 127, 0x1234567890ull, UINT64_MAX};
    uint8_t summary[WIRE_SUMMARY_LEN], covers[WIRE_SUMMARY_LEN], vector[300];

    (void)state;
    util_fill(summary, sizeof(summary), 0x31);
    util_fill(covers, sizeof(covers), 0x77);
    util_fill(vector, sizeof(vector), 0x42);
    for (size_t i = 0; i < 3; i++) {
        for (size_t with_vector = 0; with_vector < 2; with_vector++) {
            wire_msg_t msg = {.type = WIRE_MSG_HELLO,
                              .major = WIRE_PROTO_MAJOR,
                              .minor = WIRE_PROTO_MINOR,
                              .name = "laptop",
                              .name_len = 6,
                              .num = sessions[(i + with_vector) % 4],
                              .credit = credits[i],
                              .summary = summary,
                              .covers = !with_vector && i % 2 ? covers : NULL,
                              .body = with_vector ? vector : NULL,
                              .body_len = with_vector ? sizeof(vector) : 0};
            util_bytes_t *ref = util_bytes_new();
            wire_buf_t enc;
            wire_msg_t out;

            s_ref_hello(ref, "laptop", msg.num, msg.credit, summary, msg.covers, vector,
                        msg.body_len);
            s_msg_round_trip(&msg, ref, &enc, &out);
            assert_int_equal(out.type, WIRE_MSG_HELLO);
            assert_int_equal(out.major, WIRE_PROTO_MAJOR);
            assert_int_equal(out.minor, WIRE_PROTO_MINOR);
            assert_int_equal(out.name_len, 6);
            assert_memory_equal(out.name, "laptop", 6);
            assert_true(out.num == msg.num);
            assert_true(out.credit == msg.credit);
            assert_non_null(out.summary);
            assert_memory_equal(out.summary, summary, WIRE_SUMMARY_LEN);
            if (msg.covers) {
                assert_non_null(out.covers);
                assert_memory_equal(out.covers, covers, WIRE_SUMMARY_LEN);
            } else {
                assert_null(out.covers);
            }
            assert_int_equal(out.body_len, msg.body_len);
            if (with_vector)
                assert_memory_equal(out.body, vector, sizeof(vector));
            assert_false(out.more);
            wire_buf_release(&enc);
            util_bytes_free(ref);
        }
    }
}

/* BATCH [3, id, bundle, more], SUMMARY [10, 0, bin 16] and ACK [4, id, bin 16]: the bytes as
 * documented, and back. */
static void
test_wire_msg_batch_summary_ack_round_trip(void **state)
{
    uint8_t bundle[200], summary[WIRE_SUMMARY_LEN];

    (void)state;
    util_fill(bundle, sizeof(bundle), 0x17);
    util_fill(summary, sizeof(summary), 0x93);
    for (int more = 0; more < 2; more++) {
        wire_msg_t msg = {.type = WIRE_MSG_BATCH,
                          .num = more ? 70000 : 1,
                          .more = more == 1,
                          .body = bundle,
                          .body_len = sizeof(bundle)};
        util_bytes_t *ref = util_bytes_new();
        wire_buf_t enc;
        wire_msg_t out;

        s_ref_msg(ref, WIRE_MSG_BATCH, msg.num, bundle, sizeof(bundle), more);
        s_msg_round_trip(&msg, ref, &enc, &out);
        assert_int_equal(out.type, WIRE_MSG_BATCH);
        assert_true(out.num == msg.num);
        assert_true(out.more == (more == 1));
        assert_int_equal(out.body_len, sizeof(bundle));
        assert_memory_equal(out.body, bundle, sizeof(bundle));
        assert_null(out.summary);
        assert_true(out.credit == 0);
        wire_buf_release(&enc);
        util_bytes_free(ref);
    }
    for (int i = 0; i < 2; i++) {
        uint8_t type = i == 0 ? WIRE_MSG_SUMMARY : WIRE_MSG_ACK;
        uint64_t num = i == 0 ? 0 : 0x10000;
        wire_msg_t msg = {.type = type,
                          .num = num,
                          .more = true, /* ignored by every type but BATCH */
                          .body = summary,
                          .body_len = sizeof(summary)};
        util_bytes_t *ref = util_bytes_new();
        wire_buf_t enc;
        wire_msg_t out;

        s_ref_msg(ref, type, num, summary, sizeof(summary), -1);
        s_msg_round_trip(&msg, ref, &enc, &out);
        assert_int_equal(out.type, type);
        assert_true(out.num == num);
        assert_false(out.more);
        assert_int_equal(out.body_len, WIRE_SUMMARY_LEN);
        assert_memory_equal(out.body, summary, WIRE_SUMMARY_LEN);
        wire_buf_release(&enc);
        util_bytes_free(ref);
    }
}

/* The decoder rejects a HELLO with credit 0 or above WIRE_CREDIT_MAX, a summary of other than
 * 16 bytes (or not a bin), the old six-field layout, and every prefix of a good one; a BATCH
 * with more 2 or of three or five fields; type 11 (and 0). */
static void
test_wire_msg_decode_rejects_bad_fields(void **state)
{
    uint8_t summary[WIRE_SUMMARY_LEN + 1], vector[40], bundle[30];
    util_bytes_t *hello = util_bytes_new(), *bb, *batch = util_bytes_new();
    wire_msg_t msg;

    (void)state;
    util_fill(summary, sizeof(summary), 0x21);
    util_fill(vector, sizeof(vector), 0x65);
    util_fill(bundle, sizeof(bundle), 0x08);
    s_ref_hello(hello, "phone", 99, 8, summary, NULL, vector, sizeof(vector));
    assert_int_equal(s_msg_code(hello->b, hello->len, &msg), MESH_OK);
    assert_true(msg.credit == 8);

    /* credit: 0, WIRE_CREDIT_MAX + 1 and far above are out; WIRE_CREDIT_MAX is in */
    static const uint64_t bad_credits[] = {0, WIRE_CREDIT_MAX + 1, 1u << 20, UINT64_MAX};
    for (size_t i = 0; i < 4; i++) {
        util_bytes_t *c = util_bytes_new();

        util_uint(c, bad_credits[i]);
        bb = util_splice(hello, SM_CREDIT, c->b, c->len);
        assert_int_equal(s_msg_code(bb->b, bb->len, &msg), MESH_EPROTO);
        util_bytes_free(bb);
        util_bytes_free(c);
    }
    {
        util_bytes_t *c = util_bytes_new();

        util_uint(c, WIRE_CREDIT_MAX);
        bb = util_splice(hello, SM_CREDIT, c->b, c->len);
        assert_int_equal(s_msg_code(bb->b, bb->len, &msg), MESH_OK);
        assert_true(msg.credit == WIRE_CREDIT_MAX);
        util_bytes_free(bb);
        util_bytes_free(c);
    }
    /* summary: 0, 15 and 17 bytes, and 16 bytes as a str */
    static const size_t bad_lens[] = {0, WIRE_SUMMARY_LEN - 1, WIRE_SUMMARY_LEN + 1};
    for (size_t i = 0; i < 3; i++) {
        util_bytes_t *s = util_bytes_new();

        util_bin(s, summary, bad_lens[i]);
        bb = util_splice(hello, SM_SUMMARY, s->b, s->len);
        mesh_err_t err = s_msg_code(bb->b, bb->len, &msg);
        assert_true(err == MESH_EPROTO || err == MESH_ETOOBIG);
        util_bytes_free(bb);
        util_bytes_free(s);
    }
    {
        util_bytes_t *s = util_bytes_new();

        util_str(s, summary, WIRE_SUMMARY_LEN);
        bb = util_splice(hello, SM_SUMMARY, s->b, s->len);
        assert_int_equal(s_msg_code(bb->b, bb->len, &msg), MESH_EPROTO);
        util_bytes_free(bb);
        util_bytes_free(s);
    }
    /* the old layout: [1, "meshsync", major, minor, name, session] */
    bb = util_bytes_new();
    util_array(bb, 6);
    util_raw(bb, hello->b + hello->mark[SM_TYPE], hello->mark[SM_CREDIT] - hello->mark[SM_TYPE]);
    assert_int_equal(s_msg_code(bb->b, bb->len, &msg), MESH_EPROTO);
    util_bytes_free(bb);
    /* covers of 15 or 17 bytes */
    for (size_t i = 1; i < 3; i++) {
        util_bytes_t *cv = util_bytes_new();

        util_bin(cv, summary, bad_lens[i]);
        bb = util_splice(hello, SM_COVERS, cv->b, cv->len);
        mesh_err_t err = s_msg_code(bb->b, bb->len, &msg);
        assert_true(err == MESH_EPROTO || err == MESH_ETOOBIG);
        util_bytes_free(bb);
        util_bytes_free(cv);
    }
    /* nine fields (no vector), and ten announced with nine present */
    bb = util_bytes_new();
    util_array(bb, 9);
    util_raw(bb, hello->b + hello->mark[SM_TYPE], hello->mark[SM_VECTOR] - hello->mark[SM_TYPE]);
    assert_int_equal(s_msg_code(bb->b, bb->len, &msg), MESH_EPROTO);
    util_bytes_free(bb);
    assert_int_equal(s_msg_code(hello->b, hello->mark[SM_VECTOR], &msg), MESH_EPROTO);
    /* every truncation, and a trailing byte */
    for (size_t len = 0; len < hello->len; len++)
        assert_int_equal(s_msg_code(hello->b, len, &msg), MESH_EPROTO);
    util_u8(hello, 0xc0);
    assert_int_equal(s_msg_code(hello->b, hello->len, &msg), MESH_EPROTO);

    /* BATCH: more 2 (and 255, 0x100), three fields (the old layout), five fields */
    s_ref_msg(batch, WIRE_MSG_BATCH, 5, bundle, sizeof(bundle), 1);
    assert_int_equal(s_msg_code(batch->b, batch->len, &msg), MESH_OK);
    assert_true(msg.more);
    static const uint64_t bad_more[] = {2, 255, 0x100};
    for (size_t i = 0; i < 3; i++) {
        util_bytes_t *c = util_bytes_new();

        util_uint(c, bad_more[i]);
        bb = util_splice(batch, SN_MORE, c->b, c->len);
        assert_int_equal(s_msg_code(bb->b, bb->len, &msg), MESH_EPROTO);
        util_bytes_free(bb);
        util_bytes_free(c);
    }
    bb = util_bytes_new();
    s_ref_msg(bb, WIRE_MSG_BATCH, 5, bundle, sizeof(bundle), -1);
    assert_int_equal(s_msg_code(bb->b, bb->len, &msg), MESH_EPROTO);
    util_bytes_free(bb);
    bb = util_bytes_new();
    util_array(bb, 5);
    util_raw(bb, batch->b + batch->mark[SN_TYPE], batch->len - batch->mark[SN_TYPE]);
    util_uint(bb, 0);
    assert_int_equal(s_msg_code(bb->b, bb->len, &msg), MESH_EPROTO);
    util_bytes_free(bb);
    /* a SUMMARY or an ACK with a fourth field */
    for (int i = 0; i < 2; i++) {
        bb = util_bytes_new();
        util_array(bb, 4);
        util_uint(bb, i == 0 ? WIRE_MSG_SUMMARY : WIRE_MSG_ACK);
        util_uint(bb, 0);
        util_bin(bb, summary, WIRE_SUMMARY_LEN);
        util_uint(bb, 0);
        assert_int_equal(s_msg_code(bb->b, bb->len, &msg), MESH_EPROTO);
        util_bytes_free(bb);
    }
    /* a SUMMARY or an ACK whose summary is not 16 bytes: refused both ways */
    for (int i = 0; i < 2; i++) {
        for (size_t n = 0; n <= WIRE_SUMMARY_LEN + 1; n += WIRE_SUMMARY_LEN / 2 + 1) {
            uint8_t type = i == 0 ? WIRE_MSG_SUMMARY : WIRE_MSG_ACK;
            wire_msg_t m = {.type = type, .num = 1, .body = summary, .body_len = n};
            wire_buf_t out;

            bb = util_bytes_new();
            s_ref_msg(bb, type, 1, summary, n, -1);
            assert_int_equal(s_msg_code(bb->b, bb->len, &msg), MESH_EPROTO);
            util_bytes_free(bb);
            wire_buf_init(&out);
            assert_int_equal(wire_msg_encode(&m, &out), MESH_EINVAL);
            assert_int_equal(out.len, 0);
            wire_buf_release(&out);
        }
    }
    /* types past the last one (15, in the three-field shape), and 0 */
    static const uint64_t bad_types[] = {0, WIRE_MSG_LAST + 1, 255};
    for (size_t i = 0; i < 3; i++) {
        bb = util_bytes_new();
        s_ref_msg(bb, 0, 0, summary, WIRE_SUMMARY_LEN, -1);
        util_bytes_t *t = util_bytes_new();
        util_uint(t, bad_types[i]);
        util_bytes_t *bad = util_splice(bb, SN_TYPE, t->b, t->len);
        assert_int_equal(s_msg_code(bad->b, bad->len, &msg), MESH_EPROTO);
        util_bytes_free(bad);
        util_bytes_free(t);
        util_bytes_free(bb);
    }
    assert_int_equal(WIRE_MSG_LAST + 1, 16);
    util_bytes_free(batch);
    util_bytes_free(hello);
}

/* A watermark is [origin, inc, seq], or [origin, inc, seq, from] for the range (from, seq]
 * (§3.5): both round-trip byte for byte; a range from 0, or not below seq, is refused by
 * the encoder (nothing appended) and the decoder. */
static void
test_wire_mark_ranges(void **state)
{
    (void)state;
    wire_mark_t marks[2] = {{.incarnation = 7, .seq = 100}, {.incarnation = 7, .seq = 300, .from = 100}};
    util_fill(marks[0].origin, WIRE_ORIGIN_LEN, 1);
    util_fill(marks[1].origin, WIRE_ORIGIN_LEN, 2);
    wire_buf_t b;
    wire_doc_t doc;
    wire_buf_init(&b);
    assert_int_equal(wire_bundle_begin(1, &b), MESH_OK);
    assert_int_equal(wire_section_begin("notes", 0, &b), MESH_OK);
    assert_int_equal(wire_section_marks(marks, 2, &b), MESH_OK);
    assert_int_equal(wire_doc_decode(b.data, b.len, false, &doc), MESH_OK);
    assert_int_equal(doc.count, 1);
    assert_int_equal(doc.sections[0].mark_count, 2);
    assert_int_equal(doc.sections[0].marks[0].from, 0);
    assert_int_equal(doc.sections[0].marks[1].from, 100);
    assert_int_equal(doc.sections[0].marks[1].seq, 300);
    wire_doc_release(&doc);
    size_t len = b.len;
    /* the range's last element is 100 (one byte, 0x64): 0 and 300 are refused */
    assert_int_equal(b.data[len - 1], 0x64);
    b.data[len - 1] = 0x00;
    assert_int_equal(wire_doc_decode(b.data, b.len, false, &doc), MESH_EPROTO);
    wire_buf_release(&b);
    marks[1].from = 300;
    wire_buf_init(&b);
    assert_int_equal(wire_section_marks(marks, 2, &b), MESH_EINVAL);
    assert_int_equal(b.len, 0);
    wire_buf_release(&b);
}

/* A HELLO of another major version decodes from its first four elements whatever follows
 * (fewer, more, or other elements), so that the session can refuse it with a reason;
 * one of this major version must have the whole layout, and fewer than four elements
 * never decode. */
static void
test_wire_msg_hello_other_major(void **state)
{
    (void)state;
    wire_msg_t msg;
    util_bytes_t *bb = util_bytes_new();
    /* version 2 with a layout of its own: [1, "meshsync", 2, 5, {"x": 1}] */
    util_array(bb, 5);
    util_uint(bb, WIRE_MSG_HELLO);
    util_str(bb, WIRE_PROTO_NAME, strlen(WIRE_PROTO_NAME));
    util_uint(bb, WIRE_PROTO_MAJOR + 1);
    util_uint(bb, 5);
    util_u8(bb, 0x81), util_str(bb, "x", 1), util_uint(bb, 1);
    assert_int_equal(s_msg_code(bb->b, bb->len, &msg), MESH_OK);
    assert_int_equal(msg.type, WIRE_MSG_HELLO);
    assert_int_equal(msg.major, WIRE_PROTO_MAJOR + 1);
    assert_int_equal(msg.minor, 5);
    assert_int_equal(msg.credit, 0);
    assert_null(msg.summary);
    assert_null(msg.body);
    util_bytes_free(bb);
    /* the same short layout claiming this major version is malformed */
    bb = util_bytes_new();
    util_array(bb, 5);
    util_uint(bb, WIRE_MSG_HELLO);
    util_str(bb, WIRE_PROTO_NAME, strlen(WIRE_PROTO_NAME));
    util_uint(bb, WIRE_PROTO_MAJOR);
    util_uint(bb, 5);
    util_u8(bb, 0x81), util_str(bb, "x", 1), util_uint(bb, 1);
    assert_int_equal(s_msg_code(bb->b, bb->len, &msg), MESH_EPROTO);
    util_bytes_free(bb);
    /* three elements are not a HELLO of any version; nor is another protocol's name */
    bb = util_bytes_new();
    util_array(bb, 3);
    util_uint(bb, WIRE_MSG_HELLO);
    util_str(bb, WIRE_PROTO_NAME, strlen(WIRE_PROTO_NAME));
    util_uint(bb, WIRE_PROTO_MAJOR + 1);
    assert_int_equal(s_msg_code(bb->b, bb->len, &msg), MESH_EPROTO);
    util_bytes_free(bb);
    bb = util_bytes_new();
    util_array(bb, 4);
    util_uint(bb, WIRE_MSG_HELLO);
    util_str(bb, "meshsink", 8);
    util_uint(bb, WIRE_PROTO_MAJOR + 1);
    util_uint(bb, 0);
    assert_int_equal(s_msg_code(bb->b, bb->len, &msg), MESH_EPROTO);
    util_bytes_free(bb);
}

/* The reserved block messages have the three-element layout, and their bodies a cap each
 * (§11.1): at the cap they decode and encode, one byte more fails both ways. */
static void
test_wire_msg_block_caps(void **state)
{
    (void)state;
    static const struct {
        uint8_t type;
        size_t cap;
    } kinds[] = {{WIRE_MSG_BLOCK_REQ, WIRE_BLOCK_REQ_MAX}, {WIRE_MSG_BLOCK, WIRE_BLOCK_MAX}};
    uint8_t *body = calloc(1, WIRE_BLOCK_MAX + 1);
    assert_non_null(body);
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        for (size_t extra = 0; extra < 2; extra++) {
            size_t len = kinds[k].cap + extra;
            util_bytes_t *bb = util_bytes_new();
            wire_msg_t msg;
            wire_buf_t out;
            s_ref_msg(bb, kinds[k].type, 7, body, len, -1);
            assert_int_equal(s_msg_code(bb->b, bb->len, &msg), extra ? MESH_ETOOBIG : MESH_OK);
            wire_msg_t m = {.type = kinds[k].type, .num = 7, .body = body, .body_len = len};
            wire_buf_init(&out);
            assert_int_equal(wire_msg_encode(&m, &out), extra ? MESH_EINVAL : MESH_OK);
            if (!extra) {
                assert_int_equal(out.len, bb->len);
                assert_memory_equal(out.data, bb->b, bb->len);
            }
            wire_buf_release(&out);
            util_bytes_free(bb);
        }
    }
    free(body);
}

/* The encoder refuses a HELLO without a summary or with a credit of 0 (or past
 * WIRE_CREDIT_MAX), and a type past WIRE_MSG_LAST; it appends nothing then. */
static void
test_wire_msg_encode_rejects_invalid(void **state)
{
    uint8_t summary[WIRE_SUMMARY_LEN] = {1};
    wire_msg_t ok = {.type = WIRE_MSG_HELLO,
                     .major = 1,
                     .name = "n",
                     .name_len = 1,
                     .credit = 4,
                     .summary = summary};
    wire_msg_t bad;
    wire_buf_t b;

    (void)state;
    wire_buf_init(&b);
    assert_int_equal(wire_buf_append(&b, "xyz", 3), MESH_OK);
    bad = ok, bad.summary = NULL;
    assert_int_equal(wire_msg_encode(&bad, &b), MESH_EINVAL);
    bad = ok, bad.credit = 0;
    assert_int_equal(wire_msg_encode(&bad, &b), MESH_EINVAL);
    bad = ok, bad.credit = WIRE_CREDIT_MAX + 1;
    assert_int_equal(wire_msg_encode(&bad, &b), MESH_EINVAL);
    bad = ok, bad.type = WIRE_MSG_LAST + 1;
    assert_int_equal(wire_msg_encode(&bad, &b), MESH_EINVAL);
    bad = ok, bad.type = 0;
    assert_int_equal(wire_msg_encode(&bad, &b), MESH_EINVAL);
    assert_int_equal(b.len, 3);
    assert_memory_equal(b.data, "xyz", 3);
    /* the same HELLO with its summary and credit goes through, after what was there */
    assert_int_equal(wire_msg_encode(&ok, &b), MESH_OK);
    assert_true(b.len > 3);
    wire_msg_t out;
    assert_int_equal(wire_msg_decode(b.data + 3, b.len - 3, &out), MESH_OK);
    assert_true(out.credit == 4);
    wire_buf_release(&b);
}

/* A bundle of n fake set entries (bins of WIRE_SET_MIN bytes whose outline claims ops ops
 * each, below 65,536; ops 0: zeros, no outline), in one section, as a BATCH. */
static void
s_batch_of(size_t n, uint32_t ops, wire_buf_t *frame)
{
    uint8_t set[WIRE_SET_MIN] = {0};
    wire_buf_t bundle;
    wire_buf_init(&bundle);
    if (ops) { /* [bin 1, bin 1, array16 ops] */
        static const uint8_t head[] = {0x93, 0xc4, 1, 0, 0xc4, 1, 0, 0xdc};
        memcpy(set, head, sizeof head);
        set[8] = (uint8_t)(ops >> 8), set[9] = (uint8_t)ops;
    }
    assert_int_equal(wire_bundle_begin(1, &bundle), MESH_OK);
    assert_int_equal(wire_section_begin("c", n, &bundle), MESH_OK);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(wire_section_set(set, sizeof set, &bundle), MESH_OK);
    assert_int_equal(wire_section_marks(NULL, 0, &bundle), MESH_OK);
    wire_msg_t msg = {.type = WIRE_MSG_BATCH, .num = 1, .body = bundle.data, .body_len = bundle.len};
    wire_buf_init(frame);
    assert_int_equal(wire_msg_encode(&msg, frame), MESH_OK);
    wire_buf_release(&bundle);
}

/* A BATCH carries at most WIRE_BATCH_SETS_MAX sets and WIRE_BATCH_OPS_MAX ops, counted from
 * its outline (wire_bundle_count): one past either is MESH_ETOOBIG, however few bytes it
 * takes (a 6 MB batch of 3M sets took a daemon to 3.9 GiB); a body that is no bundle is left
 * to its import. */
static void
test_wire_msg_batch_caps(void **state)
{
    wire_buf_t frame;
    wire_msg_t msg;
    size_t sets = 0, ops = 0;

    (void)state;
    s_batch_of(WIRE_BATCH_SETS_MAX, 0, &frame);
    assert_int_equal(wire_msg_decode(frame.data, frame.len, &msg), MESH_OK);
    assert_int_equal(wire_bundle_count(msg.body, msg.body_len, &sets, &ops), MESH_OK);
    assert_int_equal(sets, WIRE_BATCH_SETS_MAX);
    assert_int_equal(ops, 0);
    wire_buf_release(&frame);
    s_batch_of(WIRE_BATCH_SETS_MAX + 1, 0, &frame);
    assert_int_equal(wire_msg_decode(frame.data, frame.len, &msg), MESH_ETOOBIG);
    wire_buf_release(&frame);

    s_batch_of(2, WIRE_BATCH_OPS_MAX / 2, &frame);
    assert_int_equal(wire_msg_decode(frame.data, frame.len, &msg), MESH_OK);
    assert_int_equal(wire_bundle_count(msg.body, msg.body_len, &sets, &ops), MESH_OK);
    assert_int_equal(sets, 2);
    assert_int_equal(ops, WIRE_BATCH_OPS_MAX);
    wire_buf_release(&frame);
    s_batch_of(2, WIRE_BATCH_OPS_MAX / 2 + 1, &frame);
    assert_int_equal(wire_msg_decode(frame.data, frame.len, &msg), MESH_ETOOBIG);
    wire_buf_release(&frame);

    /* no bundle: counted nothing, decoded as a message */
    static const uint8_t junk[] = {0x94, 3, 1, 0xc4, 1, 0xc1, 0};
    assert_int_equal(wire_msg_decode(junk, sizeof junk, &msg), MESH_OK);
    assert_int_equal(wire_bundle_count(msg.body, msg.body_len, &sets, &ops), MESH_EPROTO);
    assert_int_equal(sets + ops, 0);
}

/* ---- the compact form of a batch (core/wire/compact.c, PROTOCOL.md §11.1 CBATCH) ---- */

/* Two real nodes: A writes (puts, an overwrite that supersedes part of a set, a delete), B
 * takes A's sets and overwrites one of A's keys (a context naming A's dot), so that B's
 * export carries full sets of two origins, a partial set, contexts and watermarks. */
typedef struct s_pair {
    char dir[2][64], home[2][96];
    mesh_t *m[2];
    char id[2][MESH_ID_TEXT_LEN + 1];
    void *bundle;
    size_t len;
} s_pair_t;

static void
s_pair_open(s_pair_t *p)
{
    static const char *const keys1[] = {"k1", "k2", "k3"}, *const vals1[] = {"v1", "v2", "v3"};
    static const char *const keys2[] = {"k1", "k3"}, *const vals2[] = {"v1 again", NULL};
    mesh_import_report_t rep = {.size = sizeof rep};
    void *b = NULL;
    size_t blen = 0;
    memset(p, 0, sizeof *p);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(util_temp_home("test_wire_compact", p->dir[i], sizeof p->dir[i],
                                        p->home[i], sizeof p->home[i]),
                         0);
        assert_int_equal(util_open(p->home[i], true, i ? "b" : "a", 0, &p->m[i]), MESH_OK);
        assert_int_equal(mesh_device_id(p->m[i], p->id[i], sizeof p->id[i]), MESH_OK);
    }
    assert_int_equal(mesh_peer_add(p->m[1], p->id[0], "a", NULL, 0), MESH_OK);
    assert_true(util_commit(p->m[0], "notes", keys1, vals1, 3) == 1);
    assert_true(util_commit(p->m[0], "notes", keys2, vals2, 2) == 4);
    assert_int_equal(mesh_export(p->m[0], NULL, 0, NULL, 0, &b, &blen), MESH_OK);
    assert_int_equal(mesh_import(p->m[1], b, blen, &rep), MESH_OK);
    assert_int_equal(rep.sets_rejected, 0);
    mesh_free(rep.text);
    mesh_free(b);
    util_put(p->m[1], "notes", "k2", "v2 by b");
    util_put(p->m[1], "notes", "k4", "v4 by b");
    assert_int_equal(mesh_export(p->m[1], NULL, 0, NULL, 0, &p->bundle, &p->len), MESH_OK);
}

static void
s_pair_close(s_pair_t *p)
{
    mesh_free(p->bundle);
    for (int i = 0; i < 2; i++) {
        mesh_close(p->m[i]);
        assert_int_equal(util_rm_tree(p->dir[i]), 0);
    }
}

/* A fresh node that knows A and B as members, given the bundle: what it took. */
static void
s_import_fresh(const s_pair_t *p, const uint8_t *bundle, size_t len, mesh_import_report_t *rep,
               bool (*check)(mesh_t *m))
{
    char dir[64], home[96];
    mesh_t *c = NULL;
    assert_int_equal(util_temp_home("test_wire_compact", dir, sizeof dir, home, sizeof home), 0);
    assert_int_equal(util_open(home, true, "c", 0, &c), MESH_OK);
    assert_int_equal(mesh_peer_add(c, p->id[0], "a", NULL, 0), MESH_OK);
    assert_int_equal(mesh_peer_add(c, p->id[1], "b", NULL, 0), MESH_OK);
    rep->size = sizeof *rep;
    assert_int_equal(mesh_import(c, bundle, len, rep), MESH_OK);
    mesh_free(rep->text);
    rep->text = NULL;
    assert_true(check(c));
    mesh_close(c);
    assert_int_equal(util_rm_tree(dir), 0);
}

static bool
s_holds_all(mesh_t *c)
{
    util_expect(c, "notes", "k1", "v1 again");
    util_expect(c, "notes", "k2", "v2 by b");
    util_expect(c, "notes", "k3", NULL);
    util_expect(c, "notes", "k4", "v4 by b");
    return true;
}

static bool
s_lacks_k4(mesh_t *c)
{
    util_expect(c, "notes", "k4", NULL);
    return true;
}

/* A real bundle goes compact and expands back to exactly its bytes, which a third node
 * imports as it would the bundle; the compact form is smaller. */
static void
test_wire_compact_round_trip(void **state)
{
    (void)state;
    s_pair_t p;
    wire_buf_t c, back;
    mesh_import_report_t rep;
    s_pair_open(&p);
    wire_buf_init(&c);
    wire_buf_init(&back);
    assert_int_equal(wire_compact_encode(p.bundle, p.len, NULL, &c), MESH_OK);
    assert_true(c.len < p.len * 3 / 4);
    assert_int_equal(wire_compact_expand(c.data, c.len, NULL, &back), MESH_OK);
    assert_int_equal(back.len, p.len);
    assert_memory_equal(back.data, p.bundle, p.len);
    s_import_fresh(&p, back.data, back.len, &rep, s_holds_all);
    assert_int_equal(rep.sets_rejected, 0);
    assert_true(rep.sets_new >= 4);
    /* appended after what out held, which stays */
    wire_buf_reset(&back);
    assert_int_equal(wire_buf_append(&back, "xy", 2), MESH_OK);
    assert_int_equal(wire_compact_expand(c.data, c.len, NULL, &back), MESH_OK);
    assert_int_equal(back.len, p.len + 2);
    assert_memory_equal(back.data + 2, p.bundle, p.len);
    /* the sender's own key goes as nil (the receiver knows it from its session): shorter,
     * the same bytes back with that key; without a key a nil origin is malformed, and with
     * another key the rebuilt sets name another origin, whose signature does not verify */
    uint8_t pk_b[DEVID_RAW_LEN], pk_a[DEVID_RAW_LEN];
    wire_buf_t cs;
    wire_buf_init(&cs);
    assert_int_equal(devid_parse(p.id[1], pk_b), MESH_OK);
    assert_int_equal(devid_parse(p.id[0], pk_a), MESH_OK);
    assert_int_equal(wire_compact_encode(p.bundle, p.len, pk_b, &cs), MESH_OK);
    assert_true(cs.len + WIRE_ORIGIN_LEN <= c.len);
    wire_buf_reset(&back);
    assert_int_equal(wire_compact_expand(cs.data, cs.len, pk_b, &back), MESH_OK);
    assert_int_equal(back.len, p.len);
    assert_memory_equal(back.data, p.bundle, p.len);
    wire_buf_reset(&back);
    assert_int_equal(wire_compact_expand(cs.data, cs.len, NULL, &back), MESH_EPROTO);
    assert_int_equal(back.len, 0);
    assert_int_equal(wire_compact_expand(cs.data, cs.len, pk_a, &back), MESH_OK);
    s_import_fresh(&p, back.data, back.len, &rep, s_lacks_k4);
    assert_true(rep.sets_rejected >= 1);
    wire_buf_release(&cs);
    /* what does not decode as a bundle does not go compact, and leaves out as it was */
    wire_buf_reset(&c);
    assert_int_equal(wire_compact_encode((const uint8_t *)"\x92\x01\x02", 3, NULL, &c), MESH_EINVAL);
    assert_int_equal(c.len, 0);
    wire_buf_release(&c);
    wire_buf_release(&back);
    s_pair_close(&p);
}

/* What the compact form leaves out is rebuilt, never trusted: a value changed on the way
 * expands (it is well formed) into a set whose signature fails, and the receiver rejects
 * that set alone. */
static void
test_wire_compact_tamper_rejected(void **state)
{
    (void)state;
    s_pair_t p;
    wire_buf_t c, back;
    mesh_import_report_t rep;
    s_pair_open(&p);
    wire_buf_init(&c);
    wire_buf_init(&back);
    assert_int_equal(wire_compact_encode(p.bundle, p.len, NULL, &c), MESH_OK);
    uint8_t *hit = NULL;
    for (size_t i = 0; i + 7 <= c.len && !hit; i++) {
        hit = memcmp(c.data + i, "v4 by b", 7) == 0 ? c.data + i : NULL;
    }
    assert_non_null(hit);
    hit[1] ^= 1; /* "v4 by b" -> "v5 by b" */
    assert_int_equal(wire_compact_expand(c.data, c.len, NULL, &back), MESH_OK);
    s_import_fresh(&p, back.data, back.len, &rep, s_lacks_k4);
    assert_int_equal(rep.sets_rejected, 1);
    wire_buf_release(&c);
    wire_buf_release(&back);
    s_pair_close(&p);
}

/* A compact form that does not expand is a clear error, never a crash, and out stays as it
 * was: every truncation, a trailing byte, a dot index past the table, a table past its cap. */
static void
test_wire_compact_rejects_malformed(void **state)
{
    (void)state;
    s_pair_t p;
    wire_buf_t c, back;
    s_pair_open(&p);
    wire_buf_init(&c);
    wire_buf_init(&back);
    assert_int_equal(wire_compact_encode(p.bundle, p.len, NULL, &c), MESH_OK);
    for (size_t n = 0; n < c.len; n++) {
        mesh_err_t err = wire_compact_expand(c.data, n, NULL, &back);
        assert_true(err == MESH_EPROTO || err == MESH_ETOOBIG);
        assert_int_equal(back.len, 0);
    }
    assert_int_equal(wire_buf_append(&c, "\x00", 1), MESH_OK);
    assert_int_equal(wire_compact_expand(c.data, c.len, NULL, &back), MESH_EPROTO);
    assert_int_equal(back.len, 0);
    /* [[[origin, 1]], [["c", [[5, 1, 1, sig, [["k", "v", []]]]], []]]]: index 5 of 1 */
    util_bytes_t *bb = util_bytes_new();
    uint8_t origin[WIRE_ORIGIN_LEN] = {0}, sig[WIRE_SIG_LEN] = {0};
    util_array(bb, 2), util_array(bb, 1), util_array(bb, 2), util_bin(bb, origin, sizeof origin);
    util_uint(bb, 1), util_array(bb, 1), util_array(bb, 3), util_str(bb, "c", 1);
    util_array(bb, 1), util_array(bb, 5), util_mark(bb), util_uint(bb, 5), util_mark(bb);
    util_uint(bb, 1);
    util_uint(bb, 1), util_bin(bb, sig, sizeof sig), util_array(bb, 1), util_array(bb, 3);
    util_bin(bb, "k", 1), util_bin(bb, "v", 1), util_array(bb, 0), util_array(bb, 0);
    assert_int_equal(wire_compact_expand(bb->b, bb->len, NULL, &back), MESH_EPROTO);
    util_bytes_t *ok = util_splice(bb, 0, "\x00", 1); /* index 0: it expands */
    assert_int_equal(wire_compact_expand(ok->b, ok->len, NULL, &back), MESH_OK);
    assert_true(back.len > 0);
    util_bytes_free(ok);
    util_bytes_free(bb);
    /* a table of more pairs than WIRE_COMPACT_DOTS_MAX */
    uint8_t big[] = {0x92, 0xdc, (WIRE_COMPACT_DOTS_MAX + 1) >> 8, (WIRE_COMPACT_DOTS_MAX + 1) & 0xff};
    wire_buf_reset(&back);
    assert_int_equal(wire_compact_expand(big, sizeof big, NULL, &back), MESH_ETOOBIG);
    assert_int_equal(back.len, 0);
    wire_buf_release(&c);
    wire_buf_release(&back);
    s_pair_close(&p);
}

/* CBATCH [13, id, compact bundle, more]: round trip; a body past WIRE_COMPACT_MAX is refused
 * both ways (its expansion would be past what a batch may cost). */
static void
test_wire_msg_cbatch(void **state)
{
    (void)state;
    wire_buf_t b;
    wire_msg_t out;
    uint8_t body[40];
    util_fill(body, sizeof body, 0x31);
    wire_buf_init(&b);
    wire_msg_t msg = {
        .type = WIRE_MSG_CBATCH, .num = 9, .body = body, .body_len = sizeof body, .more = true};
    assert_int_equal(wire_msg_encode(&msg, &b), MESH_OK);
    assert_int_equal(wire_msg_decode(b.data, b.len, &out), MESH_OK);
    assert_int_equal(out.type, WIRE_MSG_CBATCH);
    assert_int_equal(out.num, 9);
    assert_true(out.more);
    assert_int_equal(out.body_len, sizeof body);
    assert_memory_equal(out.body, body, sizeof body);
    uint8_t *huge = calloc(1, WIRE_COMPACT_MAX + 1);
    assert_non_null(huge);
    msg.body = huge;
    msg.body_len = WIRE_COMPACT_MAX + 1;
    wire_buf_reset(&b);
    assert_int_equal(wire_msg_encode(&msg, &b), MESH_EINVAL);
    msg.body_len = WIRE_COMPACT_MAX;
    assert_int_equal(wire_msg_encode(&msg, &b), MESH_OK);
    assert_int_equal(wire_msg_decode(b.data, b.len, &out), MESH_OK);
    /* one byte more in the body: bin32 header then WIRE_COMPACT_MAX + 1 bytes */
    wire_buf_reset(&b);
    uint32_t over = WIRE_COMPACT_MAX + 1;
    uint8_t head[] = {0x94, WIRE_MSG_CBATCH, 0x01, 0xc6, (uint8_t)(over >> 24),
                      (uint8_t)(over >> 16), (uint8_t)(over >> 8), (uint8_t)over};
    assert_int_equal(wire_buf_append(&b, head, sizeof head), MESH_OK);
    assert_int_equal(wire_buf_append(&b, huge, WIRE_COMPACT_MAX + 1), MESH_OK);
    assert_int_equal(wire_buf_append(&b, "\x00", 1), MESH_OK);
    assert_int_equal(wire_msg_decode(b.data, b.len, &out), MESH_ETOOBIG);
    free(huge);
    wire_buf_release(&b);
}

/* wire_msg_head then the body is, byte for byte, what wire_msg_encode writes, for bodies
 * whose bin heads take 1, 2 and 4 bytes of length and numbers of each width; 0 for the types
 * of other elements and for a message wire_msg_encode refuses. */
static void
test_wire_msg_head_then_body_is_the_message(void **state)
{
    static uint8_t body[70000];
    const size_t lens[] = {0, 5, 255, 256, 65535, 65536, 70000};
    const uint64_t nums[] = {0, 127, 128, 65536, UINT64_MAX};
    const uint8_t types[] = {WIRE_MSG_BLOCK, WIRE_MSG_BLOCK_REQ, WIRE_MSG_PEX};
    uint8_t head[WIRE_MSG_HEAD_MAX];
    wire_buf_t b;
    (void)state;
    for (size_t i = 0; i < sizeof body; i++) {
        body[i] = (uint8_t)(i * 13);
    }
    wire_buf_init(&b);
    for (size_t t = 0; t < sizeof types; t++) {
        for (size_t k = 0; k < sizeof lens / sizeof lens[0]; k++) {
            for (size_t j = 0; j < sizeof nums / sizeof nums[0]; j++) {
                wire_msg_t m = {.type = types[t], .num = nums[j], .body = body, .body_len = lens[k]};
                wire_buf_reset(&b);
                mesh_err_t err = wire_msg_encode(&m, &b);
                size_t n = wire_msg_head(&m, head);
                assert_int_equal(n != 0, err == MESH_OK); /* (refused alike: too long) */
                if (err == MESH_OK) {
                    assert_int_equal(b.len, n + lens[k]);
                    assert_memory_equal(b.data, head, n);
                    assert_memory_equal(b.data + n, body, lens[k]);
                }
            }
        }
    }
    uint8_t summary[WIRE_SUMMARY_LEN] = {1};
    wire_msg_t other = {.type = WIRE_MSG_HELLO, .major = 1, .credit = 4, .summary = summary};
    assert_int_equal(wire_msg_head(&other, head), 0);
    other = (wire_msg_t){.type = WIRE_MSG_BATCH, .body = body, .body_len = 5};
    assert_int_equal(wire_msg_head(&other, head), 0);
    other = (wire_msg_t){.type = WIRE_MSG_ACK, .body = body, .body_len = 5}; /* (not a summary) */
    assert_int_equal(wire_msg_head(&other, head), 0);
    wire_buf_release(&b);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wire_buf_init_reset_release),
        cmocka_unit_test(test_wire_encoders_append),
        cmocka_unit_test(test_wire_header_round_trip),
        cmocka_unit_test(test_wire_header_encode_rejects_invalid),
        cmocka_unit_test(test_wire_header_decode_rejects_bad_fields),
        cmocka_unit_test(test_wire_header_decode_rejects_wrong_tag),
        cmocka_unit_test(test_wire_opmeta_round_trip_put),
        cmocka_unit_test(test_wire_opmeta_round_trip_del),
        cmocka_unit_test(test_wire_opmeta_ctx_get_returns_entries),
        cmocka_unit_test(test_wire_opmeta_encode_rejects_invalid),
        cmocka_unit_test(test_wire_opmeta_decode_rejects_bad_fields),
        cmocka_unit_test(test_wire_opmeta_decode_rejects_bad_ctx),
        cmocka_unit_test(test_wire_set_round_trip),
        cmocka_unit_test(test_wire_set_round_trip_many_ops),
        cmocka_unit_test(test_wire_set_partial_round_trip),
        cmocka_unit_test(test_wire_set_partial_rejects_bad_proofs),
        cmocka_unit_test(test_wire_set_encode_rejects_too_big),
        cmocka_unit_test(test_wire_set_decode_rejects_bad_fields),
        cmocka_unit_test(test_wire_set_decode_rejects_over_caps),
        cmocka_unit_test(test_wire_set_decode_bounds_op_count_by_bytes),
        cmocka_unit_test(test_wire_decode_rejects_trailing_byte),
        cmocka_unit_test(test_wire_decode_rejects_every_truncation),
        cmocka_unit_test(test_wire_decode_against_prot_none_fence),
        cmocka_unit_test(test_wire_decode_rejects_non_shortest_forms),
        cmocka_unit_test(test_wire_encoders_refuse_what_decoders_reject),
        cmocka_unit_test(test_wire_msg_hello_round_trip),
        cmocka_unit_test(test_wire_msg_batch_summary_ack_round_trip),
        cmocka_unit_test(test_wire_msg_decode_rejects_bad_fields),
        cmocka_unit_test(test_wire_msg_batch_caps),
        cmocka_unit_test(test_wire_msg_encode_rejects_invalid),
        cmocka_unit_test(test_wire_msg_head_then_body_is_the_message),
        cmocka_unit_test(test_wire_mark_ranges),
        cmocka_unit_test(test_wire_msg_hello_other_major),
        cmocka_unit_test(test_wire_msg_block_caps),
        cmocka_unit_test(test_wire_compact_round_trip),
        cmocka_unit_test(test_wire_compact_tamper_rejected),
        cmocka_unit_test(test_wire_compact_rejects_malformed),
        cmocka_unit_test(test_wire_msg_cbatch),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
