/* core/wire/message.h: the body of a MESSAGE (docs/PROTOCOL.md §22): an ephemeral message
 * between members, a topic and its data, carried in one session frame (§11.1, type 15).
 * Owns: the body's byte layout, its caps and its strict decoder; the topic rule.
 * Not here: who may send or receive one, rates and delivery (core/sync/presence.h).
 * Layer: core/wire. Third-party: none here (message.c uses msgpack.h). SPDX-License-Identifier: MIT
 */
#ifndef MESH_CORE_WIRE_MESSAGE_H
#define MESH_CORE_WIRE_MESSAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/wire/buf.h"
#include "meshsync.h" /* mesh_err_t, MESH_MESSAGE_MAX, MESH_TOPIC_MAX */

#define WIRE_TOPIC_MAX      MESH_TOPIC_MAX   /* bytes of a topic (§22) */
#define WIRE_MSG_DATA_MAX   MESH_MESSAGE_MAX /* bytes of a message's data (§22) */
/* Bytes of an encoded body: the caps above and their headers (array 1, str 2, bin 5). */
#define WIRE_MESSAGE_MAX    (WIRE_MSG_DATA_MAX + WIRE_TOPIC_MAX + 8u)
#define WIRE_MESSAGE_ALL    0u /* the frame's flags: to every member connected, on the topic */
#define WIRE_MESSAGE_DIRECT 1u /* to the receiver alone */

/* A decoded body; topic and data point into the input (borrowed). */
typedef struct wire_message {
    const char *topic; /* 1..WIRE_TOPIC_MAX bytes of printable ASCII (not NUL-terminated) */
    size_t topic_len;
    const uint8_t *data; /* NULL when data_len is 0 */
    size_t data_len;     /* 0..WIRE_MSG_DATA_MAX */
} wire_message_t;

/* Is topic[0..len) a topic: 1..WIRE_TOPIC_MAX bytes, each printable ASCII (0x20..0x7e)? So a
 * topic shown on a terminal or in a log line can carry no control byte. Thread-safe: yes. */
bool wire_topic_ok(const char *topic, size_t len);

/* Append a body: array(2) [topic str, data bin]. MESH_OK, MESH_EINVAL (a topic that is not
 * one, data past WIRE_MSG_DATA_MAX, data NULL with data_len > 0), MESH_ENOMEM (out as before). */
MESH_NODISCARD mesh_err_t wire_message_encode(const wire_message_t *msg, wire_buf_t *out);

/* Decode exactly len bytes as a body into *msg (pointing into buf). Never reads outside buf.
 * MESH_OK; MESH_EPROTO (malformed, not the shortest form, a topic that is not one, trailing
 * bytes); MESH_ETOOBIG (len past WIRE_MESSAGE_MAX, a topic or data past its cap). On error
 * *msg is zeroed. Thread-safe: yes. */
MESH_NODISCARD mesh_err_t wire_message_decode(const uint8_t *buf, size_t len, wire_message_t *msg);

#endif /* MESH_CORE_WIRE_MESSAGE_H */
