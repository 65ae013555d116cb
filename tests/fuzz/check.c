/* tests/fuzz/check.c: what the fuzz targets share (see check.h): predicates, and the strict
 * decode/re-encode checks of sets, headers and op metadata.
 * Layer: tests. Third-party: none. SPDX-License-Identifier: MIT */
#include "check.h"

#include "core/wire/buf.h"
#include "core/wire/doc.h"
#include "core/wire/msg.h"
#include "core/wire/set.h"

#include <string.h>

bool
check_is_zero(const void *p, size_t n)
{
    const uint8_t *b = p;

    for (size_t i = 0; i < n; i++) {
        if (b[i] != 0) {
            return false;
        }
    }
    return true;
}

bool
check_is_within(const void *p, size_t n, const uint8_t *buf, size_t len)
{
    const uint8_t *q = p;

    return q != NULL && q >= buf && (size_t)(q - buf) <= len && n <= len - (size_t)(q - buf);
}

bool
check_is_decode_error(mesh_err_t err)
{
    return err == MESH_EPROTO || err == MESH_ETOOBIG;
}

/* ---- decoding and re-encoding sets, headers and op metadata ---- */

void
check_header(const uint8_t *buf, size_t len)
{
    wire_header_t h, again;
    wire_buf_t out;
    mesh_err_t err;

    memset(&h, 0xa5, sizeof(h));
    err = wire_header_decode(buf, len, &h);
    if (err != MESH_OK) {
        CHECK(check_is_decode_error(err));
        CHECK(check_is_zero(&h, sizeof(h)));
        return;
    }
    CHECK(check_is_within(h.coll, h.coll_len, buf, len));
    CHECK(h.coll_len >= 1 && h.coll_len <= MESH_COLL_MAX);
    CHECK(h.count >= 1 && h.count <= WIRE_OPS_MAX && h.first_seq != 0);

    wire_buf_init(&out);
    err = wire_header_encode(&h, &out);
    if (err == MESH_ENOMEM) {
        wire_buf_release(&out);
        return;
    }
    CHECK(err == MESH_OK);
    CHECK(out.len == len && memcmp(out.data, buf, len) == 0);
    CHECK(wire_header_decode(out.data, out.len, &again) == MESH_OK);
    CHECK(again.coll_len == h.coll_len && memcmp(again.coll, h.coll, h.coll_len) == 0);
    CHECK(memcmp(again.origin, h.origin, WIRE_ORIGIN_LEN) == 0);
    CHECK(again.incarnation == h.incarnation && again.first_seq == h.first_seq);
    CHECK(again.count == h.count && again.hlc == h.hlc);
    CHECK(memcmp(again.root, h.root, WIRE_HASH_LEN) == 0);
    wire_buf_release(&out);
}

void
check_opmeta(const uint8_t *buf, size_t len)
{
    static wire_dot_t ctx[WIRE_CTX_MAX];
    wire_opmeta_t op, again;
    wire_dot_t dot;
    wire_buf_t out;
    mesh_err_t err;

    memset(&op, 0xa5, sizeof(op));
    err = wire_opmeta_decode(buf, len, &op);
    if (err != MESH_OK) {
        CHECK(check_is_decode_error(err));
        CHECK(check_is_zero(&op, sizeof(op)));
        return;
    }
    CHECK(check_is_within(op.key, op.key_len, buf, len));
    CHECK(op.key_len >= 1 && op.key_len <= MESH_KEY_MAX && op.seq != 0);
    CHECK(op.kind == WIRE_PUT || op.kind == WIRE_DEL);
    CHECK(op.value_len <= MESH_VALUE_MAX);
    CHECK(op.kind == WIRE_PUT || (op.value_len == 0 && check_is_zero(op.vhash, WIRE_HASH_LEN)));
    CHECK(op.ctx_count <= WIRE_CTX_MAX);
    CHECK(check_is_within(op.ctx, op.ctx_count * WIRE_CTX_ENTRY_LEN, buf, len));
    for (size_t i = 0; i < op.ctx_count; i++) {
        wire_ctx_get(&op, i, &ctx[i]);
        CHECK(ctx[i].seq != 0);
        if (i > 0) {
            int c = memcmp(ctx[i - 1].origin, ctx[i].origin, WIRE_ORIGIN_LEN);

            CHECK(c < 0 || (c == 0 && ctx[i - 1].incarnation < ctx[i].incarnation));
        }
    }

    wire_buf_init(&out);
    err = wire_opmeta_encode(&op, ctx, op.ctx_count, &out);
    if (err == MESH_ENOMEM) {
        wire_buf_release(&out);
        return;
    }
    CHECK(err == MESH_OK);
    CHECK(out.len == len && memcmp(out.data, buf, len) == 0);
    CHECK(wire_opmeta_decode(out.data, out.len, &again) == MESH_OK);
    CHECK(again.seq == op.seq && again.kind == op.kind && again.value_len == op.value_len);
    CHECK(again.key_len == op.key_len && memcmp(again.key, op.key, op.key_len) == 0);
    CHECK(memcmp(again.vhash, op.vhash, WIRE_HASH_LEN) == 0);
    CHECK(again.ctx_count == op.ctx_count);
    for (size_t i = 0; i < again.ctx_count; i++) {
        wire_ctx_get(&again, i, &dot);
        CHECK(memcmp(dot.origin, ctx[i].origin, WIRE_ORIGIN_LEN) == 0);
        CHECK(dot.incarnation == ctx[i].incarnation && dot.seq == ctx[i].seq);
    }
    wire_buf_release(&out);
}

/* Re-encode a decoded set from its parts: the very same bytes, decoding to the same set. */
static void
s_check_set_reencodes(const wire_set_t *set, const uint8_t *buf, size_t len)
{
    wire_set_t again;
    wire_buf_t out;
    mesh_err_t err;

    wire_buf_init(&out);
    if (set->partial)
        err = wire_set_encode_partial(set->header, set->header_len, set->sig, set->ops,
                                      set->op_count, &out);
    else
        err =
            wire_set_encode(set->header, set->header_len, set->sig, set->ops, set->op_count, &out);
    /* The encoder's size check is a conservative estimate; near the cap it may refuse. */
    if (err == MESH_ENOMEM || (err == MESH_ETOOBIG && len > WIRE_SET_MAX / 2)) {
        wire_buf_release(&out);
        return;
    }
    CHECK(err == MESH_OK);
    CHECK(out.len == len && memcmp(out.data, buf, len) == 0);
    CHECK(wire_set_decode(out.data, out.len, &again) == MESH_OK);
    CHECK(again.op_count == set->op_count && again.partial == set->partial);
    CHECK(again.header_len == set->header_len);
    CHECK(again.header - out.data == set->header - buf);
    CHECK(again.sig - out.data == set->sig - buf);
    for (size_t i = 0; i < set->op_count; i++) {
        const wire_op_t *a = &again.ops[i], *b = &set->ops[i];

        CHECK(a->meta - out.data == b->meta - buf && a->meta_len == b->meta_len);
        CHECK((a->value == NULL) == (b->value == NULL) && a->value_len == b->value_len);
        CHECK(a->value == NULL || a->value - out.data == b->value - buf);
        CHECK((a->proof == NULL) == (b->proof == NULL) && a->proof_count == b->proof_count);
    }
    wire_set_release(&again);
    wire_buf_release(&out);
}

void
check_set(const uint8_t *buf, size_t len)
{
    wire_set_t set;
    mesh_err_t err;

    memset(&set, 0xa5, sizeof(set));
    err = wire_set_decode(buf, len, &set);
    if (err != MESH_OK) {
        CHECK(check_is_decode_error(err) || err == MESH_ENOMEM);
        CHECK(check_is_zero(&set, sizeof(set)));
        wire_set_release(&set);
        return;
    }
    CHECK(set.op_count >= 1 && set.op_count <= WIRE_OPS_MAX);
    CHECK(check_is_within(set.header, set.header_len, buf, len));
    CHECK(check_is_within(set.sig, WIRE_SIG_LEN, buf, len));
    check_header(set.header, set.header_len);
    for (size_t i = 0; i < set.op_count; i++) {
        const wire_op_t *op = &set.ops[i];

        CHECK(check_is_within(op->meta, op->meta_len, buf, len));
        CHECK(op->value == NULL ? op->value_len == 0
                                : check_is_within(op->value, op->value_len, buf, len));
        CHECK(op->value_len <= MESH_VALUE_MAX);
        if (set.partial) {
            CHECK(op->proof_count <= WIRE_PROOF_MAX);
            CHECK(check_is_within(op->proof, op->proof_count * WIRE_HASH_LEN, buf, len));
        } else {
            CHECK(op->proof == NULL && op->proof_count == 0);
        }
        check_opmeta(op->meta, op->meta_len);
    }
    s_check_set_reencodes(&set, buf, len);
    wire_set_release(&set);
    CHECK(check_is_zero(&set, sizeof(set)));
}

void
check_msg(const uint8_t *buf, size_t len)
{
    wire_msg_t msg, again;
    wire_buf_t out;
    mesh_err_t err;

    memset(&msg, 0xa5, sizeof(msg));
    err = wire_msg_decode(buf, len, &msg);
    if (err != MESH_OK) {
        CHECK(check_is_decode_error(err));
        CHECK(check_is_zero(&msg, sizeof(msg)));
        return;
    }
    CHECK(msg.type >= WIRE_MSG_HELLO && msg.type <= WIRE_MSG_LAST);
    CHECK(msg.body_len == 0 || check_is_within(msg.body, msg.body_len, buf, len));
    if (msg.type == WIRE_MSG_HELLO && msg.major != WIRE_PROTO_MAJOR) {
        /* another version's HELLO: its first four elements only, nothing to re-encode */
        CHECK(msg.credit == 0 && msg.summary == NULL && msg.name == NULL && msg.body == NULL);
        return;
    }
    if (msg.type == WIRE_MSG_HELLO) {
        CHECK(msg.credit >= 1 && msg.credit <= WIRE_CREDIT_MAX);
        CHECK(check_is_within(msg.summary, WIRE_SUMMARY_LEN, buf, len));
        CHECK(check_is_within(msg.name, msg.name_len, buf, len));
        CHECK(msg.covers == NULL || check_is_within(msg.covers, WIRE_SUMMARY_LEN, buf, len));
    }
    wire_buf_init(&out);
    err = wire_msg_encode(&msg, &out);
    if (err == MESH_ENOMEM) {
        wire_buf_release(&out);
        return;
    }
    CHECK(err == MESH_OK);
    CHECK(out.len == len && memcmp(out.data, buf, len) == 0);
    CHECK(wire_msg_decode(out.data, out.len, &again) == MESH_OK);
    CHECK(again.type == msg.type && again.num == msg.num && again.more == msg.more);
    CHECK(again.major == msg.major && again.minor == msg.minor && again.credit == msg.credit);
    CHECK(again.body_len == msg.body_len);
    CHECK((again.covers == NULL) == (msg.covers == NULL));
    wire_buf_release(&out);
    if (msg.type == WIRE_MSG_HELLO || msg.type == WIRE_MSG_VECTOR) {
        /* the vector file it carries goes through the same decoder as any other */
        wire_doc_t doc;
        err = wire_doc_decode(msg.body, msg.body_len, true, &doc);
        CHECK(err == MESH_OK || check_is_decode_error(err) || err == MESH_ENOMEM);
        if (err == MESH_OK) {
            wire_doc_release(&doc);
        }
    }
}
