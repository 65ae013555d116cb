/* core/wire/msg.c: the encoding of session messages (docs/PROTOCOL.md §11) and its strict
 * decoder. Every message is one msgpack array led by its type; the bodies it carries are
 * bin items whose contents other modules decode.
 * Layer: core/wire. Third-party: msgpack.h (through cursor.h). SPDX-License-Identifier: MIT */
#include "core/wire/msg.h"

#include "core/wire/addrs.h"
#include "core/wire/compact.h"
#include "core/wire/cursor.h"
#include "core/wire/doc.h"
#include "core/wire/message.h"

#include <string.h>

/* A message wire_msg_encode refuses (an unknown type, a field out of range)? */
static bool
s_invalid(const wire_msg_t *msg)
{
    return msg->type < WIRE_MSG_HELLO || msg->type > WIRE_MSG_LAST ||
           (msg->type == WIRE_MSG_HELLO && (!msg->summary || msg->credit == 0 ||
                                            msg->credit > WIRE_CREDIT_MAX || msg->name_len > 64)) ||
           ((msg->type == WIRE_MSG_ACK || msg->type == WIRE_MSG_SUMMARY) &&
            msg->body_len != WIRE_SUMMARY_LEN) ||
           (msg->type == WIRE_MSG_BLOCK_REQ && msg->body_len > WIRE_BLOCK_REQ_MAX) ||
           (msg->type == WIRE_MSG_BLOCK && msg->body_len > WIRE_BLOCK_MAX) ||
           (msg->type == WIRE_MSG_CBATCH && msg->body_len > WIRE_COMPACT_MAX) ||
           (msg->type == WIRE_MSG_PEX && msg->body_len > WIRE_PEX_MAX) ||
           (msg->type == WIRE_MSG_MESSAGE &&
            (msg->body_len > WIRE_MESSAGE_MAX || msg->num > WIRE_MESSAGE_DIRECT)) ||
           (msg->type == WIRE_MSG_RANGE &&
            (msg->coll_len == 0 || msg->coll_len > MESH_COLL_MAX || !msg->coll));
}

mesh_err_t
wire_msg_encode(const wire_msg_t *msg, wire_buf_t *out)
{
    size_t start = out->len;
    msgpack_packer pk;
    int rc;
    if (s_invalid(msg)) {
        return MESH_EINVAL;
    }
    wire_pack_init(&pk, out);
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
        rc |= wire_pack_bin(&pk, msg->summary, WIRE_SUMMARY_LEN);
        rc |= wire_pack_bin(&pk, msg->covers, msg->covers ? WIRE_SUMMARY_LEN : 0);
        rc |= wire_pack_bin(&pk, msg->body, msg->body_len);
    } else if (msg->type == WIRE_MSG_RANGE) {
        rc = msgpack_pack_array(&pk, 6);
        rc |= msgpack_pack_uint8(&pk, msg->type);
        rc |= msgpack_pack_uint64(&pk, msg->num);
        rc |= msgpack_pack_str_with_body(&pk, msg->coll, msg->coll_len);
        rc |= wire_pack_bin(&pk, msg->digest, msg->digest ? WIRE_DIGEST_LEN : 0);
        rc |= wire_pack_bin(&pk, msg->hash_key, msg->hash_key ? WIRE_HASH_KEY_LEN : 0);
        rc |= wire_pack_bin(&pk, msg->body, msg->body_len);
    } else {
        bool more = msg->type == WIRE_MSG_BATCH || msg->type == WIRE_MSG_CBATCH ||
                    msg->type == WIRE_MSG_REPAIR;
        rc = msgpack_pack_array(&pk, more ? 4 : 3);
        rc |= msgpack_pack_uint8(&pk, msg->type);
        rc |= msgpack_pack_uint64(&pk, msg->num);
        rc |= wire_pack_bin(&pk, msg->body, msg->body_len);
        if (more) {
            rc |= msgpack_pack_uint8(&pk, msg->more ? 1 : 0);
        }
    }
    return wire_pack_done(out, start, rc);
}

/* msgpack-c's write callback for wire_msg_head: into a head of WIRE_MSG_HEAD_MAX bytes. */
typedef struct s_head {
    uint8_t *p;
    size_t len;
} s_head_t;

static int
s_head_write(void *data, const char *buf, size_t len)
{
    s_head_t *h = data;
    if (h->len + len > WIRE_MSG_HEAD_MAX) {
        return -1;
    }
    memcpy(h->p + h->len, buf, len);
    h->len += len;
    return 0;
}

size_t
wire_msg_head(const wire_msg_t *msg, uint8_t head[WIRE_MSG_HEAD_MAX])
{
    bool three = msg->type != WIRE_MSG_HELLO && msg->type != WIRE_MSG_RANGE &&
                 msg->type != WIRE_MSG_BATCH && msg->type != WIRE_MSG_CBATCH &&
                 msg->type != WIRE_MSG_REPAIR;
    if (!three || s_invalid(msg)) {
        return 0;
    }
    s_head_t h = {.p = head};
    msgpack_packer pk;
    msgpack_packer_init(&pk, &h, s_head_write);
    int rc = msgpack_pack_array(&pk, 3);
    rc |= msgpack_pack_uint8(&pk, msg->type);
    rc |= msgpack_pack_uint64(&pk, msg->num);
    rc |= msgpack_pack_bin(&pk, msg->body_len); /* (the bin's head: its bytes follow) */
    return rc == 0 ? h.len : 0;
}

mesh_err_t
wire_msg_decode(const uint8_t *buf, size_t len, wire_msg_t *msg)
{
    wire_cursor_t c = {buf, buf + len};
    size_t n = 0;
    uint64_t type = 0;
    const uint8_t *p = NULL;
    memset(msg, 0, sizeof *msg);
    mesh_err_t err = wire_cursor_len(&c, WIRE_ARRAY, &n);
    if (err == MESH_OK) {
        err = wire_cursor_uint(&c, &type);
    }
    if (err == MESH_OK &&
        (type < WIRE_MSG_HELLO || type > WIRE_MSG_LAST ||
         (type == WIRE_MSG_HELLO                                                         ? n < 4u
          : type == WIRE_MSG_BATCH || type == WIRE_MSG_CBATCH || type == WIRE_MSG_REPAIR ? n != 4u
          : type == WIRE_MSG_RANGE                                                       ? n != 6u
                                   : n != 3u))) {
        err = MESH_EPROTO;
    }
    if (err == MESH_OK && type == WIRE_MSG_HELLO) {
        size_t plen = 0;
        err = wire_cursor_bytes(&c, WIRE_STR, 16, &p, &plen);
        if (err != MESH_OK || plen != strlen(WIRE_PROTO_NAME) ||
            memcmp(p, WIRE_PROTO_NAME, plen) != 0) {
            err = MESH_EPROTO;
        }
        if (err == MESH_OK) {
            err = wire_cursor_uint(&c, &msg->major);
        }
        if (err == MESH_OK) {
            err = wire_cursor_uint(&c, &msg->minor);
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
            err = wire_cursor_bytes(&c, WIRE_STR, 64, &p, &msg->name_len);
            msg->name = (const char *)p;
        }
        if (err == MESH_OK) {
            err = wire_cursor_uint(&c, &msg->num);
        }
        if (err == MESH_OK) {
            err = wire_cursor_uint(&c, &msg->credit);
        }
        if (err == MESH_OK && (msg->credit == 0 || msg->credit > WIRE_CREDIT_MAX)) {
            err = MESH_EPROTO;
        }
        if (err == MESH_OK) {
            err = wire_cursor_bytes(&c, WIRE_BIN, WIRE_SUMMARY_LEN, &msg->summary, &plen);
        }
        if (err == MESH_OK && plen != WIRE_SUMMARY_LEN) {
            err = MESH_EPROTO;
        }
        if (err == MESH_OK) {
            err = wire_cursor_bytes(&c, WIRE_BIN, WIRE_SUMMARY_LEN, &msg->covers, &plen);
        }
        if (err == MESH_OK && plen != 0 && plen != WIRE_SUMMARY_LEN) {
            err = MESH_EPROTO;
        }
        msg->covers = plen ? msg->covers : NULL;
        if (err == MESH_OK) {
            err = wire_cursor_bytes(&c, WIRE_BIN, SIZE_MAX, &msg->body, &msg->body_len);
        }
    } else if (err == MESH_OK && type == WIRE_MSG_RANGE) {
        size_t dlen = 0;
        const uint8_t *coll = NULL;
        err = wire_cursor_uint(&c, &msg->num);
        if (err == MESH_OK) {
            err = wire_cursor_bytes(&c, WIRE_STR, MESH_COLL_MAX, &coll, &msg->coll_len);
            msg->coll = (const char *)coll;
        }
        if (err == MESH_OK && msg->coll_len == 0) {
            err = MESH_EPROTO;
        }
        if (err == MESH_OK) {
            err = wire_cursor_bytes(&c, WIRE_BIN, WIRE_DIGEST_LEN, &msg->digest, &dlen);
        }
        if (err == MESH_OK && dlen != 0 && dlen != WIRE_DIGEST_LEN) {
            err = MESH_EPROTO;
        }
        msg->digest = dlen ? msg->digest : NULL;
        if (err == MESH_OK) {
            err = wire_cursor_bytes(&c, WIRE_BIN, WIRE_HASH_KEY_LEN, &msg->hash_key, &dlen);
        }
        if (err == MESH_OK && dlen != 0 && dlen != WIRE_HASH_KEY_LEN) {
            err = MESH_EPROTO;
        }
        msg->hash_key = dlen ? msg->hash_key : NULL;
        if (err == MESH_OK) {
            err = wire_cursor_bytes(&c, WIRE_BIN, SIZE_MAX, &msg->body, &msg->body_len);
        }
    } else if (err == MESH_OK) {
        err = wire_cursor_uint(&c, &msg->num);
        if (err == MESH_OK) {
            err = wire_cursor_bytes(&c, WIRE_BIN, SIZE_MAX, &msg->body, &msg->body_len);
        }
        if (err == MESH_OK && (type == WIRE_MSG_ACK || type == WIRE_MSG_SUMMARY) &&
            msg->body_len != WIRE_SUMMARY_LEN) {
            err = MESH_EPROTO; /* both carry a summary, nothing else */
        }
        if (err == MESH_OK && ((type == WIRE_MSG_BLOCK_REQ && msg->body_len > WIRE_BLOCK_REQ_MAX) ||
                               (type == WIRE_MSG_BLOCK && msg->body_len > WIRE_BLOCK_MAX) ||
                               (type == WIRE_MSG_CBATCH && msg->body_len > WIRE_COMPACT_MAX) ||
                               (type == WIRE_MSG_PEX && msg->body_len > WIRE_PEX_MAX) ||
                               (type == WIRE_MSG_MESSAGE && msg->body_len > WIRE_MESSAGE_MAX))) {
            err = MESH_ETOOBIG;
        }
        if (err == MESH_OK && type == WIRE_MSG_MESSAGE && msg->num > WIRE_MESSAGE_DIRECT) {
            err = MESH_EPROTO; /* flags: to all on the topic (0) or to the receiver alone (1) */
        }
        uint64_t more = 0;
        if (err == MESH_OK &&
            (type == WIRE_MSG_BATCH || type == WIRE_MSG_CBATCH || type == WIRE_MSG_REPAIR)) {
            err = wire_cursor_uint(&c, &more);
        }
        if (err == MESH_OK && more > 1) {
            err = MESH_EPROTO;
        }
        msg->more = more == 1;
        /* Each set and op would cost check state while the batch is queued (§12). A body
         * whose outline does not read costs none: it fails its decode, and its import
         * reports it. */
        size_t sets = 0, ops = 0;
        if (err == MESH_OK && type == WIRE_MSG_BATCH &&
            wire_bundle_count(msg->body, msg->body_len, &sets, &ops) == MESH_OK &&
            (sets > WIRE_BATCH_SETS_MAX || ops > WIRE_BATCH_OPS_MAX)) {
            err = MESH_ETOOBIG;
        }
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
