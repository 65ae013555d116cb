/* tests/fuzz/fuzz_message.c: libFuzzer harness for the body of a MESSAGE (docs/PROTOCOL.md
 * §22, core/wire/message.c), which any member sends. Every input is decoded as a body: what
 * decodes must keep every rule (a topic of 1..64 printable ASCII bytes, data of at most
 * 64 KiB, both inside the input) and re-encode to the very same bytes; what does not must
 * fail with a decoder's error and a zeroed output. The input is also decoded as a whole
 * session frame (check_msg), and wrapped as a MESSAGE frame of each flag value. Then the
 * input's bytes build a message of their own (topic length, topic, data), which must encode
 * when it keeps the rules, refuse with MESH_EINVAL when not, and decode back to itself. Any
 * breach abort()s.
 * Built with tests/fuzz/check.c by `make fuzz` (clang, libFuzzer) and, with
 * tests/fuzz/replay.c, by gcc for `make test`. Seeds: corpus/message/ (gen_corpus_message.c).
 * Layer: tests. Third-party: none. SPDX-License-Identifier: MIT */
#include "check.h"

#include "core/wire/message.h"
#include "core/wire/msg.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
s_decode(const uint8_t *data, size_t size)
{
    wire_message_t m;
    mesh_err_t err = wire_message_decode(data, size, &m);
    if (err != MESH_OK) {
        CHECK(check_is_decode_error(err));
        CHECK(check_is_zero(&m, sizeof m));
        return;
    }
    CHECK(wire_topic_ok(m.topic, m.topic_len));
    CHECK(check_is_within(m.topic, m.topic_len, data, size));
    CHECK(m.data_len <= WIRE_MSG_DATA_MAX);
    CHECK(m.data_len == 0 ? m.data == NULL : check_is_within(m.data, m.data_len, data, size));
    wire_buf_t out;
    wire_buf_init(&out);
    CHECK(wire_message_encode(&m, &out) == MESH_OK);
    CHECK(out.len == size && memcmp(out.data, data, size) == 0);
    wire_buf_release(&out);
}

/* The input as the body of a MESSAGE frame with flags 0, 1 and 2: the frame decodes
 * exactly when the flags are 0 or 1 and the body is within its cap. */
static void
s_frame(const uint8_t *data, size_t size)
{
    for (uint64_t flags = 0; flags <= 2; flags++) {
        wire_msg_t m = {.type = WIRE_MSG_MESSAGE, .num = flags, .body = data, .body_len = size};
        wire_buf_t out;
        wire_buf_init(&out);
        mesh_err_t err = wire_msg_encode(&m, &out);
        bool ok = flags <= WIRE_MESSAGE_DIRECT && size <= WIRE_MESSAGE_MAX;
        CHECK(err == (ok ? MESH_OK : MESH_EINVAL));
        if (ok) {
            wire_msg_t d;
            CHECK(wire_msg_decode(out.data, out.len, &d) == MESH_OK);
            CHECK(d.type == WIRE_MSG_MESSAGE && d.num == flags && d.body_len == size);
            CHECK(size == 0 || memcmp(d.body, data, size) == 0);
        }
        wire_buf_release(&out);
    }
    check_msg(data, size);
}

/* A message from the input's bytes: [topic length, topic..., data...]. */
static void
s_build(const uint8_t *data, size_t size)
{
    if (size < 1) {
        return;
    }
    size_t tlen = data[0] % 80;
    if (1 + tlen > size) {
        return;
    }
    wire_message_t m = {.topic = (const char *)data + 1,
                        .topic_len = tlen,
                        .data = size > 1 + tlen ? data + 1 + tlen : NULL,
                        .data_len = size - 1 - tlen};
    bool keeps = wire_topic_ok(m.topic, m.topic_len) && m.data_len <= WIRE_MSG_DATA_MAX;
    wire_buf_t out;
    wire_buf_init(&out);
    mesh_err_t err = wire_message_encode(&m, &out);
    if (!keeps) {
        CHECK(err == MESH_EINVAL && out.len == 0);
    } else {
        wire_message_t d;
        CHECK(err == MESH_OK && out.len <= WIRE_MESSAGE_MAX);
        CHECK(wire_message_decode(out.data, out.len, &d) == MESH_OK);
        CHECK(d.topic_len == m.topic_len && memcmp(d.topic, m.topic, m.topic_len) == 0);
        CHECK(d.data_len == m.data_len);
        CHECK(m.data_len == 0 || memcmp(d.data, m.data, m.data_len) == 0);
    }
    wire_buf_release(&out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    s_decode(data, size);
    s_frame(data, size);
    s_build(data, size);
    return 0;
}
