/* core/wire/pairmsg.c: the pairing messages (docs/PROTOCOL.md §15.4) and their strict
 * decoder. Every message is one msgpack array led by its type (64..68).
 * Layer: core/wire. Third-party: msgpack.h (through cursor.h). SPDX-License-Identifier: MIT */
#include "core/wire/pairmsg.h"

#include "core/wire/cursor.h"

#include <string.h>

/* The elements of each message's array (its type first). */
static size_t
s_arity(uint64_t type)
{
    switch (type) {
    case PAIRMSG_START:
        return 5;
    case PAIRMSG_SHARE:
        return 4;
    case PAIRMSG_CONFIRM:
        return 3;
    case PAIRMSG_RESULT:
        return 4;
    case PAIRMSG_ERROR:
        return 3;
    default:
        return 0;
    }
}

mesh_err_t
pairmsg_encode(const pairmsg_t *msg, wire_buf_t *out)
{
    size_t start = out->len;
    msgpack_packer pk;
    size_t n = s_arity(msg->type);
    if (n == 0 ||
        (msg->type == PAIRMSG_START &&
         (msg->version == 0 || msg->nameplate < 1 || msg->nameplate > 999)) ||
        (msg->type == PAIRMSG_RESULT &&
         (msg->name_len > PAIRMSG_NAME_MAX || (msg->name_len && !msg->name) ||
          msg->naddrs > PAIRMSG_ADDRS_MAX)) ||
        (msg->type == PAIRMSG_ERROR &&
         (msg->reason < 1 || msg->reason > PAIR_REASON_LAST || msg->text_len > PAIRMSG_TEXT_MAX ||
          (msg->text_len && !msg->text)))) {
        return MESH_EINVAL;
    }
    for (size_t i = 0; msg->type == PAIRMSG_RESULT && i < msg->naddrs; i++) {
        if (!msg->addrs[i] || msg->addr_lens[i] == 0 || msg->addr_lens[i] > PAIRMSG_ADDR_MAX) {
            return MESH_EINVAL;
        }
    }
    wire_pack_init(&pk, out);
    int rc = msgpack_pack_array(&pk, n);
    rc |= msgpack_pack_uint8(&pk, msg->type);
    switch (msg->type) {
    case PAIRMSG_START:
        rc |= msgpack_pack_uint64(&pk, msg->version);
        rc |= msgpack_pack_uint64(&pk, msg->nameplate);
        rc |= wire_pack_bin(&pk, msg->nonce, PAIRMSG_NONCE_LEN);
        rc |= msgpack_pack_uint8(&pk, msg->others ? 1 : 0);
        break;
    case PAIRMSG_SHARE:
        rc |= wire_pack_bin(&pk, msg->nonce, PAIRMSG_NONCE_LEN);
        rc |= wire_pack_bin(&pk, msg->share, PAIRMSG_SHARE_LEN);
        rc |= wire_pack_bin(&pk, msg->ad, PAIRMSG_AD_LEN);
        break;
    case PAIRMSG_CONFIRM:
        rc |= wire_pack_bin(&pk, msg->tag, PAIRMSG_TAG_LEN);
        rc |= wire_pack_bin(&pk, msg->sig, msg->has_sig ? PAIRMSG_SIG_LEN : 0);
        break;
    case PAIRMSG_RESULT:
        rc |= wire_pack_bin(&pk, msg->key, PAIRMSG_KEY_LEN);
        rc |= msgpack_pack_str_with_body(&pk, msg->name ? msg->name : "", msg->name_len);
        rc |= msgpack_pack_array(&pk, msg->naddrs);
        for (size_t i = 0; i < msg->naddrs; i++) {
            rc |= msgpack_pack_str_with_body(&pk, msg->addrs[i], msg->addr_lens[i]);
        }
        break;
    default: /* PAIRMSG_ERROR */
        rc |= msgpack_pack_uint64(&pk, msg->reason);
        rc |= msgpack_pack_str_with_body(&pk, msg->text ? msg->text : "", msg->text_len);
        break;
    }
    return wire_pack_done(out, start, rc);
}

/* A str of at most max bytes. */
static mesh_err_t
s_str(wire_cursor_t *c, size_t max, const char **s, size_t *len)
{
    const uint8_t *p = NULL;
    mesh_err_t err = wire_cursor_bytes(c, WIRE_STR, max, &p, len);
    *s = (const char *)p;
    return err;
}

static mesh_err_t
s_decode_body(wire_cursor_t *c, uint64_t type, pairmsg_t *msg)
{
    mesh_err_t err = MESH_OK;
    uint64_t v = 0;
    size_t n = 0;
    const uint8_t *p = NULL;
    switch (type) {
    case PAIRMSG_START:
        err = wire_cursor_uint(c, &msg->version);
        if (err == MESH_OK) {
            err = wire_cursor_uint(c, &msg->nameplate);
        }
        if (err == MESH_OK && (msg->version == 0 || msg->nameplate < 1 || msg->nameplate > 999)) {
            err = MESH_EPROTO;
        }
        if (err == MESH_OK) {
            err = wire_cursor_fixed_bin(c, PAIRMSG_NONCE_LEN, msg->nonce);
        }
        if (err == MESH_OK) {
            err = wire_cursor_uint(c, &v);
        }
        if (err == MESH_OK && v > 1) {
            err = MESH_EPROTO;
        }
        msg->others = v == 1;
        return err;
    case PAIRMSG_SHARE:
        err = wire_cursor_fixed_bin(c, PAIRMSG_NONCE_LEN, msg->nonce);
        if (err == MESH_OK) {
            err = wire_cursor_fixed_bin(c, PAIRMSG_SHARE_LEN, msg->share);
        }
        if (err == MESH_OK) {
            err = wire_cursor_fixed_bin(c, PAIRMSG_AD_LEN, msg->ad);
        }
        return err;
    case PAIRMSG_CONFIRM:
        err = wire_cursor_fixed_bin(c, PAIRMSG_TAG_LEN, msg->tag);
        if (err == MESH_OK) {
            err = wire_cursor_bytes(c, WIRE_BIN, PAIRMSG_SIG_LEN, &p, &n);
        }
        if (err == MESH_OK && n != 0 && n != PAIRMSG_SIG_LEN) {
            err = MESH_EPROTO;
        }
        if (err == MESH_OK && n) {
            memcpy(msg->sig, p, n);
            msg->has_sig = true;
        }
        return err;
    case PAIRMSG_RESULT:
        err = wire_cursor_fixed_bin(c, PAIRMSG_KEY_LEN, msg->key);
        if (err == MESH_OK) {
            err = s_str(c, PAIRMSG_NAME_MAX, &msg->name, &msg->name_len);
        }
        if (err == MESH_OK) {
            err = wire_cursor_len(c, WIRE_ARRAY, &n);
        }
        if (err == MESH_OK && n > PAIRMSG_ADDRS_MAX) {
            err = MESH_ETOOBIG;
        }
        for (size_t i = 0; err == MESH_OK && i < n; i++) {
            err = s_str(c, PAIRMSG_ADDR_MAX, &msg->addrs[i], &msg->addr_lens[i]);
            if (err == MESH_OK && msg->addr_lens[i] == 0) {
                err = MESH_EPROTO;
            }
            msg->naddrs = i + 1;
        }
        return err;
    default: /* PAIRMSG_ERROR */
        err = wire_cursor_uint(c, &msg->reason);
        if (err == MESH_OK && (msg->reason < 1 || msg->reason > PAIR_REASON_LAST)) {
            err = MESH_EPROTO;
        }
        if (err == MESH_OK) {
            err = s_str(c, PAIRMSG_TEXT_MAX, &msg->text, &msg->text_len);
        }
        return err;
    }
}

mesh_err_t
pairmsg_decode(const uint8_t *buf, size_t len, pairmsg_t *msg)
{
    memset(msg, 0, sizeof *msg);
    if (len > PAIRMSG_FRAME_MAX) {
        return MESH_ETOOBIG;
    }
    wire_cursor_t c = {buf, buf + len};
    size_t n = 0;
    uint64_t type = 0;
    mesh_err_t err = wire_cursor_len(&c, WIRE_ARRAY, &n);
    if (err == MESH_OK) {
        err = wire_cursor_uint(&c, &type);
    }
    if (err == MESH_OK && (s_arity(type) == 0 || n != s_arity(type))) {
        err = MESH_EPROTO;
    }
    if (err == MESH_OK) {
        err = s_decode_body(&c, type, msg);
    }
    if (err == MESH_OK && wire_cursor_left(&c) != 0) {
        err = MESH_EPROTO;
    }
    if (err != MESH_OK) {
        memset(msg, 0, sizeof *msg);
        return err;
    }
    msg->type = (uint8_t)type;
    return MESH_OK;
}

const char *
pairmsg_reason_text(uint64_t reason)
{
    switch (reason) {
    case PAIR_REASON_WRONG_CODE:
        return "wrong code";
    case PAIR_REASON_BUSY:
        return "another device is pairing with it now";
    case PAIR_REASON_NAMEPLATE:
        return "no pairing open with that nameplate";
    case PAIR_REASON_MESHED:
        return "both devices already share a mesh with other devices";
    case PAIR_REASON_EXPIRED:
        return "the code expired or was used";
    case PAIR_REASON_PROTOCOL:
        return "a protocol error";
    case PAIR_REASON_INTERNAL:
        return "a local failure";
    case PAIR_REASON_VERSION:
        return "a pairing version it does not speak";
    default:
        return "unknown reason";
    }
}
