/* core/wire/message.c: the body of a MESSAGE (docs/PROTOCOL.md §22) and its strict decoder:
 * array(2) [topic str (1..64 bytes of printable ASCII), data bin (0..64 KiB)].
 * Layer: core/wire. Third-party: msgpack.h (through cursor.h). SPDX-License-Identifier: MIT */
#include "core/wire/message.h"

#include "core/wire/cursor.h"

#include <string.h>

bool
wire_topic_ok(const char *topic, size_t len)
{
    if (!topic || len == 0 || len > WIRE_TOPIC_MAX) {
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)topic[i];
        if (c < 0x20 || c > 0x7e) {
            return false;
        }
    }
    return true;
}

mesh_err_t
wire_message_encode(const wire_message_t *msg, wire_buf_t *out)
{
    size_t start = out->len;
    msgpack_packer pk;
    if (!wire_topic_ok(msg->topic, msg->topic_len) || msg->data_len > WIRE_MSG_DATA_MAX ||
        (!msg->data && msg->data_len)) {
        return MESH_EINVAL;
    }
    wire_pack_init(&pk, out);
    int rc = msgpack_pack_array(&pk, 2);
    rc |= msgpack_pack_str_with_body(&pk, msg->topic, msg->topic_len);
    rc |= wire_pack_bin(&pk, msg->data, msg->data_len);
    return wire_pack_done(out, start, rc);
}

mesh_err_t
wire_message_decode(const uint8_t *buf, size_t len, wire_message_t *msg)
{
    wire_cursor_t c = {buf, buf + len};
    const uint8_t *topic = NULL;
    memset(msg, 0, sizeof *msg);
    if (len > WIRE_MESSAGE_MAX) {
        return MESH_ETOOBIG;
    }
    mesh_err_t err = wire_cursor_array_of(&c, 2);
    if (err == MESH_OK) {
        err = wire_cursor_bytes(&c, WIRE_STR, WIRE_TOPIC_MAX, &topic, &msg->topic_len);
    }
    if (err == MESH_OK && !wire_topic_ok((const char *)topic, msg->topic_len)) {
        err = MESH_EPROTO;
    }
    if (err == MESH_OK) {
        err = wire_cursor_bytes(&c, WIRE_BIN, WIRE_MSG_DATA_MAX, &msg->data, &msg->data_len);
    }
    if (err == MESH_OK && c.p != c.end) {
        err = MESH_EPROTO;
    }
    if (err != MESH_OK) {
        memset(msg, 0, sizeof *msg);
        return err;
    }
    msg->topic = (const char *)topic;
    if (msg->data_len == 0) {
        msg->data = NULL;
    }
    return MESH_OK;
}
