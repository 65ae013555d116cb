/* tests/unit/test_message.c: unit tests of core/wire/message.c, the MESSAGE frame in
 * core/wire/msg.c (docs/PROTOCOL.md §22, §11.1) and the argument checks of the public
 * presence and message calls (core/sync/presence.c). The body checked byte for byte against
 * a reference encoding written from the protocol text (tests/unit/util.c, not msgpack-c);
 * round trips at the caps; every rule refused by the encoder (MESH_EINVAL) and the decoder
 * (MESH_EPROTO / MESH_ETOOBIG, zeroed output); every truncation and a trailing byte refused;
 * no read past the input (a PROT_NONE fence); the frame's flags and cap; and an offline
 * node's calls refused with MESH_ESTATE, bad arguments with their codes.
 * Layer: tests. Third-party: cmocka. SPDX-License-Identifier: MIT */
#include "core/wire/message.h"

#include "core/wire/msg.h"
#include "util.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* The reference body: [topic str, data bin]. */
static util_bytes_t *
s_ref(const char *topic, size_t topic_len, const uint8_t *data, size_t len)
{
    util_bytes_t *bb = util_bytes_new();
    util_mark(bb), util_array(bb, 2);
    util_mark(bb), util_str(bb, topic, topic_len);
    util_mark(bb), util_bin(bb, data, len);
    util_mark(bb);
    return bb;
}

static void
s_refused(const uint8_t *p, size_t n, mesh_err_t want)
{
    wire_message_t d;
    memset(&d, 0xa5, sizeof d);
    CHECK_EQ(wire_message_decode(p, n, &d), want);
    wire_message_t zero;
    memset(&zero, 0, sizeof zero);
    CHECK(memcmp(&d, &zero, sizeof d) == 0);
}

static void
test_message_layout_matches_reference(void **state)
{
    (void)state;
    static uint8_t data[WIRE_MSG_DATA_MAX];
    util_fill(data, sizeof data, 3);
    const size_t lens[] = {0, 1, 31, 32, 255, 256, 65535, WIRE_MSG_DATA_MAX};
    const char *topics[] = {"a", "chat", "room/42 ~ x", "0123456789012345678901234567890",
                            "0123456789012345678901234567890123456789012345678901234567890123"};
    for (size_t t = 0; t < sizeof topics / sizeof *topics; t++) {
        for (size_t i = 0; i < sizeof lens / sizeof *lens; i++) {
            snprintf(util_where, sizeof util_where, "topic %zu, %zu bytes", t, lens[i]);
            size_t tl = strlen(topics[t]);
            util_bytes_t *ref = s_ref(topics[t], tl, data, lens[i]);
            wire_buf_t out;
            wire_buf_init(&out);
            wire_message_t m = {
                .topic = topics[t], .topic_len = tl, .data = data, .data_len = lens[i]};
            CHECK_OK(wire_message_encode(&m, &out));
            CHECK_EQ(out.len, ref->len);
            CHECK(memcmp(out.data, ref->b, ref->len) == 0);
            CHECK(out.len <= WIRE_MESSAGE_MAX);
            wire_message_t d;
            CHECK_OK(wire_message_decode(out.data, out.len, &d));
            CHECK_EQ(d.topic_len, tl);
            CHECK(memcmp(d.topic, topics[t], tl) == 0);
            CHECK_EQ(d.data_len, lens[i]);
            CHECK(lens[i] == 0 ? d.data == NULL : memcmp(d.data, data, lens[i]) == 0);
            wire_buf_release(&out);
            util_bytes_free(ref);
        }
    }
    util_where[0] = '\0';
}

static void
test_message_topic_rule(void **state)
{
    (void)state;
    char t[WIRE_TOPIC_MAX + 2];
    memset(t, 'x', sizeof t);
    CHECK(wire_topic_ok(t, WIRE_TOPIC_MAX));
    CHECK(!wire_topic_ok(t, WIRE_TOPIC_MAX + 1));
    CHECK(!wire_topic_ok(t, 0));
    CHECK(!wire_topic_ok(NULL, 1));
    CHECK(wire_topic_ok(" ~", 2));
    const char bad[] = {0x00, 0x09, 0x0a, 0x1b, 0x1f, 0x7f, (char)0x80, (char)0xc3, (char)0xff};
    for (size_t i = 0; i < sizeof bad; i++) {
        char s[3] = {'a', bad[i], 'b'};
        CHECK(!wire_topic_ok(s, 3));
    }
}

static void
test_message_encoder_refuses(void **state)
{
    (void)state;
    static uint8_t data[WIRE_MSG_DATA_MAX + 1];
    char long_topic[WIRE_TOPIC_MAX + 1];
    memset(long_topic, 't', sizeof long_topic);
    const wire_message_t bad[] = {
        {.topic = "t", .topic_len = 1, .data = data, .data_len = WIRE_MSG_DATA_MAX + 1},
        {.topic = long_topic, .topic_len = WIRE_TOPIC_MAX + 1},
        {.topic = "", .topic_len = 0},
        {.topic = NULL, .topic_len = 1},
        {.topic = "a\nb", .topic_len = 3},
        {.topic = "t", .topic_len = 1, .data = NULL, .data_len = 1},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        wire_buf_t out;
        wire_buf_init(&out);
        CHECK_EQ(wire_message_encode(&bad[i], &out), MESH_EINVAL);
        CHECK_EQ(out.len, 0);
        wire_buf_release(&out);
    }
}

static void
test_message_decoder_refuses(void **state)
{
    (void)state;
    const uint8_t data[4] = {1, 2, 3, 4};
    util_bytes_t *ref = s_ref("chat", 4, data, sizeof data);
    /* each field swapped for another encoding or type */
    struct {
        size_t field;
        const uint8_t *alt;
        size_t len;
        mesh_err_t want;
    } cases[] = {
        {0, (const uint8_t *)"\x93", 1, MESH_EPROTO},         /* an array of 3 */
        {0, (const uint8_t *)"\x91", 1, MESH_EPROTO},         /* of 1 */
        {0, (const uint8_t *)"\xdc\x00\x02", 3, MESH_EPROTO}, /* array 16 of 2: not shortest */
        {0, (const uint8_t *)"\x82", 1, MESH_EPROTO},         /* a map */
        {1, (const uint8_t *)"\xc4\x04chat", 6, MESH_EPROTO}, /* topic as bin */
        {1, (const uint8_t *)"\xd9\x04chat", 6, MESH_EPROTO}, /* str 8 of 4: not shortest */
        {1, (const uint8_t *)"\xa0", 1, MESH_EPROTO},         /* empty topic */
        {1, (const uint8_t *)"\xa2\x61\x0a", 3, MESH_EPROTO}, /* a newline in it */
        {1, (const uint8_t *)"\xa2\x61\x80", 3, MESH_EPROTO}, /* a byte past ASCII */
        {1, (const uint8_t *)"\xc0", 1, MESH_EPROTO},         /* nil */
        {2, (const uint8_t *)"\xa4\x01\x02\x03\x04", 5, MESH_EPROTO},         /* data as str */
        {2, (const uint8_t *)"\xc0", 1, MESH_EPROTO},                         /* nil data */
        {2, (const uint8_t *)"\xc5\x00\x04\x01\x02\x03\x04", 7, MESH_EPROTO}, /* bin 16 of 4 */
        {2, (const uint8_t *)"\xc4\x05\x01\x02\x03\x04", 6, MESH_EPROTO},     /* claims one more */
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        snprintf(util_where, sizeof util_where, "case %zu", i);
        util_bytes_t *bb = util_splice(ref, cases[i].field, cases[i].alt, cases[i].len);
        s_refused(bb->b, bb->len, cases[i].want);
        util_bytes_free(bb);
    }
    util_where[0] = '\0';
    /* a topic of 65 bytes, data of 64 KiB + 1: past their caps */
    char t[WIRE_TOPIC_MAX + 1];
    memset(t, 'q', sizeof t);
    util_bytes_t *bb = s_ref(t, sizeof t, data, 1);
    s_refused(bb->b, bb->len, MESH_ETOOBIG);
    util_bytes_free(bb);
    static uint8_t big[WIRE_MSG_DATA_MAX + 1];
    bb = s_ref("t", 1, big, sizeof big);
    s_refused(bb->b, bb->len, MESH_ETOOBIG);
    util_bytes_free(bb);
    /* every truncation, and one byte more */
    for (size_t n = 0; n < ref->len; n++) {
        s_refused(ref->b, n, MESH_EPROTO);
    }
    uint8_t more[64];
    memcpy(more, ref->b, ref->len);
    more[ref->len] = 0;
    s_refused(more, ref->len + 1, MESH_EPROTO);
    util_bytes_free(ref);
}

static void
test_message_reads_only_its_bytes(void **state)
{
    (void)state;
    const uint8_t data[300] = {9};
    util_bytes_t *ref = s_ref("room", 4, data, sizeof data);
    util_fence_t f;
    util_fence_init(&f, ref->len);
    for (size_t n = 0; n <= ref->len; n++) {
        const uint8_t *p = util_fence_put(&f, ref->b, n);
        wire_message_t d;
        CHECK_EQ(wire_message_decode(p, n, &d), n == ref->len ? MESH_OK : MESH_EPROTO);
    }
    util_fence_release(&f);
    util_bytes_free(ref);
}

/* The frame: [15, flags, body], flags 0 or 1, the body at most WIRE_MESSAGE_MAX. */
static void
test_message_frame(void **state)
{
    (void)state;
    CHECK_EQ(WIRE_MSG_MESSAGE, 15);
    CHECK(WIRE_PROTO_MINOR >= 4);
    static uint8_t body[WIRE_MESSAGE_MAX + 1];
    for (uint64_t flags = 0; flags <= 2; flags++) {
        for (size_t len = WIRE_MESSAGE_MAX; len <= WIRE_MESSAGE_MAX + 1; len++) {
            snprintf(util_where, sizeof util_where, "flags %llu, %zu bytes",
                     (unsigned long long)flags, len);
            wire_msg_t m = {.type = WIRE_MSG_MESSAGE, .num = flags, .body = body, .body_len = len};
            wire_buf_t out;
            wire_buf_init(&out);
            bool ok = flags <= 1 && len <= WIRE_MESSAGE_MAX;
            CHECK_EQ(wire_msg_encode(&m, &out), ok ? MESH_OK : MESH_EINVAL);
            /* the decoder, from reference bytes */
            util_bytes_t *bb = util_bytes_new();
            util_array(bb, 3), util_uint(bb, 15), util_uint(bb, flags), util_bin(bb, body, len);
            if (ok) {
                CHECK_EQ(out.len, bb->len);
                CHECK(memcmp(out.data, bb->b, bb->len) == 0);
            }
            wire_msg_t d;
            mesh_err_t want = ok ? MESH_OK : len > WIRE_MESSAGE_MAX ? MESH_ETOOBIG : MESH_EPROTO;
            CHECK_EQ(wire_msg_decode(bb->b, bb->len, &d), want);
            if (ok) {
                CHECK_EQ(d.type, WIRE_MSG_MESSAGE);
                CHECK_EQ(d.num, flags);
                CHECK_EQ(d.body_len, len);
            }
            util_bytes_free(bb);
            wire_buf_release(&out);
        }
    }
    /* one element more or fewer */
    util_bytes_t *bb = util_bytes_new();
    util_array(bb, 4), util_uint(bb, 15), util_uint(bb, 0), util_bin(bb, body, 1), util_uint(bb, 0);
    wire_msg_t d;
    CHECK_EQ(wire_msg_decode(bb->b, bb->len, &d), MESH_EPROTO);
    util_bytes_free(bb);
    bb = util_bytes_new();
    util_array(bb, 2), util_uint(bb, 15), util_uint(bb, 0);
    CHECK_EQ(wire_msg_decode(bb->b, bb->len, &d), MESH_EPROTO);
    util_bytes_free(bb);
    /* the next type is unknown */
    bb = util_bytes_new();
    util_array(bb, 3), util_uint(bb, 16), util_uint(bb, 0), util_bin(bb, body, 1);
    CHECK_EQ(wire_msg_decode(bb->b, bb->len, &d), MESH_EPROTO);
    util_bytes_free(bb);
    util_where[0] = '\0';
}

static void
s_no_message(void *ctx, const mesh_message_t *msg)
{
    (void)ctx;
    (void)msg;
    fail_msg("no message expected");
}

/* The public calls' argument checks; an offline node has no sessions (MESH_ESTATE), and
 * the handle still works after each refusal. */
static void
test_message_api_refusals(void **state)
{
    (void)state;
    util_dev_t d;
    util_dev_open(&d, "test_message");
    mesh_t *m = d.m;
    uint64_t id = 99;
    mesh_presence_list_t *list = (mesh_presence_list_t *)&id;
    CHECK_EQ(mesh_presence(NULL, &list), MESH_EINVAL);
    CHECK(list == NULL);
    CHECK_EQ(mesh_presence(m, NULL), MESH_EINVAL);
    list = (mesh_presence_list_t *)&id;
    CHECK_EQ(mesh_presence(m, &list), MESH_ESTATE);
    CHECK(list == NULL);
    CHECK(strstr(mesh_errmsg(m), "offline") != NULL);
    CHECK_EQ(mesh_presence_list_count(NULL), 0);
    CHECK(mesh_presence_list_get(NULL, 0) == NULL);
    mesh_presence_list_free(NULL);
    CHECK_EQ(mesh_presence_watch(NULL, NULL, NULL), MESH_EINVAL);
    CHECK_EQ(mesh_presence_watch(m, NULL, NULL), MESH_ESTATE);
    CHECK_EQ(mesh_subscribe(m, "", s_no_message, NULL, &id), MESH_ESTATE);
    CHECK_EQ(id, 0);
    CHECK_EQ(mesh_subscribe(m, NULL, s_no_message, NULL, &id), MESH_EINVAL);
    CHECK_EQ(mesh_subscribe(m, "a", NULL, NULL, &id), MESH_EINVAL);
    CHECK_EQ(mesh_subscribe(m, "a", s_no_message, NULL, NULL), MESH_EINVAL);
    CHECK_EQ(mesh_subscribe(m, "a\tb", s_no_message, NULL, &id), MESH_EINVAL);
    char long_topic[MESH_TOPIC_MAX + 2];
    memset(long_topic, 'x', sizeof long_topic - 1);
    long_topic[MESH_TOPIC_MAX + 1] = '\0';
    CHECK_EQ(mesh_subscribe(m, long_topic, s_no_message, NULL, &id), MESH_ETOOBIG);
    CHECK_EQ(mesh_unsubscribe(m, 1), MESH_ESTATE);
    CHECK_EQ(mesh_unsubscribe(NULL, 1), MESH_EINVAL);
    static uint8_t big[MESH_MESSAGE_MAX + 1];
    CHECK_EQ(mesh_send(NULL, NULL, "t", "x", 1), MESH_EINVAL);
    CHECK_EQ(mesh_send(m, NULL, NULL, "x", 1), MESH_EINVAL);
    CHECK_EQ(mesh_send(m, NULL, "t", NULL, 1), MESH_EINVAL);
    CHECK_EQ(mesh_send(m, NULL, "", "x", 1), MESH_EINVAL);
    CHECK_EQ(mesh_send(m, NULL, long_topic, "x", 1), MESH_EINVAL);
    CHECK_EQ(mesh_send(m, NULL, "a\x1b[2J", "x", 1), MESH_EINVAL);
    CHECK_EQ(mesh_send(m, NULL, "t", big, sizeof big), MESH_ETOOBIG);
    CHECK(strstr(mesh_errmsg(m), "65536") != NULL);
    CHECK_EQ(mesh_send(m, "not-an-id", "t", "x", 1), MESH_EBADID);
    CHECK_EQ(mesh_send(m, d.id, "t", "x", 1), MESH_EINVAL); /* this device */
    util_dev_t other;
    util_dev_open(&other, "test_message_other");
    CHECK_EQ(mesh_send(m, other.id, "t", "x", 1), MESH_EUNPAIRED);
    CHECK_EQ(mesh_send(m, NULL, "t", big, MESH_MESSAGE_MAX), MESH_ESTATE); /* offline */
    CHECK_EQ(mesh_send(m, NULL, "t", NULL, 0), MESH_ESTATE);
    mesh_message_stats_t st = {.size = 0};
    CHECK_EQ(mesh_message_stats(m, &st), MESH_EINVAL);
    st.size = sizeof st;
    CHECK_EQ(mesh_message_stats(m, &st), MESH_ESTATE);
    /* the handle works */
    util_put(m, "notes", "k", "v");
    util_dev_close(&other);
    util_dev_close(&d);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_message_layout_matches_reference),
        cmocka_unit_test(test_message_topic_rule),
        cmocka_unit_test(test_message_encoder_refuses),
        cmocka_unit_test(test_message_decoder_refuses),
        cmocka_unit_test(test_message_reads_only_its_bytes),
        cmocka_unit_test(test_message_frame),
        cmocka_unit_test(test_message_api_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
