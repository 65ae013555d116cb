/* tests/unit/test_ctlmsg.c: unit tests of core/wire/ctlmsg.c, the control socket's
 * requests and replies (docs/PROTOCOL.md §21). Requests checked byte for byte against a
 * reference encoding written from the protocol text (tests/unit/util.c, not msgpack-c);
 * each kind round trips; the decoder refuses another version, an unknown kind, a wrong
 * arity, a trailing byte, every truncation, a non-shortest integer, each cap one past its
 * edge (and takes it at the edge), keeps the id of a request it refuses when the id could be
 * read, and reads no byte past its input (a PROT_NONE fence); replies round trip per kind.
 * Layer: tests. Third-party: cmocka. SPDX-License-Identifier: MIT */
#include "core/wire/ctlmsg.h"

#include "util.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* The reference bytes of a request: [1, id, kind, ...]. */
static util_bytes_t *
s_ref_wait(uint64_t id, uint64_t timeout, uint64_t peers, size_t ncolls, const char *name)
{
    util_bytes_t *bb = util_bytes_new();
    util_array(bb, 6);
    util_uint(bb, 1);
    util_uint(bb, id);
    util_uint(bb, CTLMSG_WAIT);
    util_uint(bb, timeout);
    util_uint(bb, peers);
    util_array(bb, ncolls);
    for (size_t i = 0; i < ncolls; i++) {
        util_str(bb, name, strlen(name));
    }
    return bb;
}

static void
test_ctlmsg_layout(void **state)
{
    (void)state;
    wire_buf_t b;
    wire_buf_init(&b);
    /* ping */
    ctlmsg_req_t req = {.id = 7, .kind = CTLMSG_PING};
    assert_int_equal(ctlmsg_req_encode(&req, &b), MESH_OK);
    util_bytes_t *bb = util_bytes_new();
    util_array(bb, 3), util_uint(bb, 1), util_uint(bb, 7), util_uint(bb, CTLMSG_PING);
    assert_int_equal(b.len, bb->len);
    assert_memory_equal(b.data, bb->b, b.len);
    util_bytes_free(bb);
    /* status */
    wire_buf_reset(&b);
    req = (ctlmsg_req_t){.id = 300, .kind = CTLMSG_STATUS, .min_txnid = 1ull << 40};
    assert_int_equal(ctlmsg_req_encode(&req, &b), MESH_OK);
    bb = util_bytes_new();
    util_array(bb, 4), util_uint(bb, 1), util_uint(bb, 300), util_uint(bb, CTLMSG_STATUS);
    util_uint(bb, 1ull << 40);
    assert_int_equal(b.len, bb->len);
    assert_memory_equal(b.data, bb->b, b.len);
    util_bytes_free(bb);
    /* wait, two collections */
    wire_buf_reset(&b);
    req = (ctlmsg_req_t){.id = 9, .kind = CTLMSG_WAIT, .timeout_ms = 30000, .peers = 2,
                         .ncolls = 2};
    req.colls[0] = req.colls[1] = "notes";
    req.coll_lens[0] = req.coll_lens[1] = 5;
    assert_int_equal(ctlmsg_req_encode(&req, &b), MESH_OK);
    bb = s_ref_wait(9, 30000, 2, 2, "notes");
    assert_int_equal(b.len, bb->len);
    assert_memory_equal(b.data, bb->b, b.len);
    ctlmsg_req_t got;
    assert_int_equal(ctlmsg_req_decode(bb->b, bb->len, &got), MESH_OK);
    assert_int_equal(got.id, 9);
    assert_int_equal(got.kind, CTLMSG_WAIT);
    assert_int_equal(got.timeout_ms, 30000);
    assert_int_equal(got.peers, 2);
    assert_int_equal(got.ncolls, 2);
    assert_int_equal(got.coll_lens[1], 5);
    assert_memory_equal(got.colls[1], "notes", 5);
    util_bytes_free(bb);
    wire_buf_release(&b);
}

/* Decoding bb must fail with err, leave the request zeroed but for id (want_id). */
static void
s_refused(const util_bytes_t *bb, mesh_err_t err, uint64_t want_id)
{
    ctlmsg_req_t got;
    assert_int_equal(ctlmsg_req_decode(bb->b, bb->len, &got), err);
    assert_int_equal(got.id, want_id);
    ctlmsg_req_t zero;
    memset(&zero, 0, sizeof zero);
    got.id = 0;
    assert_memory_equal(&got, &zero, sizeof got);
}

static void
test_ctlmsg_decoder_refuses(void **state)
{
    (void)state;
    util_bytes_t *bb = util_bytes_new();
    /* another version: not even the id is taken */
    util_array(bb, 3), util_uint(bb, 2), util_uint(bb, 5), util_uint(bb, CTLMSG_PING);
    s_refused(bb, MESH_EPROTO, 0);
    util_bytes_free(bb);
    /* an unknown kind (5: folder status's, not served yet): the id is kept */
    bb = util_bytes_new();
    util_array(bb, 3), util_uint(bb, 1), util_uint(bb, 5), util_uint(bb, 5);
    s_refused(bb, MESH_EPROTO, 5);
    util_bytes_free(bb);
    /* a wrong arity */
    bb = util_bytes_new();
    util_array(bb, 4), util_uint(bb, 1), util_uint(bb, 6), util_uint(bb, CTLMSG_PING);
    util_uint(bb, 0);
    s_refused(bb, MESH_EPROTO, 6);
    util_bytes_free(bb);
    /* a trailing byte */
    bb = s_ref_wait(8, 1000, 1, 1, "c");
    util_u8(bb, 0);
    s_refused(bb, MESH_EPROTO, 8);
    util_bytes_free(bb);
    /* not an array; an empty input */
    bb = util_bytes_new();
    util_uint(bb, 1);
    s_refused(bb, MESH_EPROTO, 0);
    ctlmsg_req_t got;
    assert_int_equal(ctlmsg_req_decode(bb->b, 0, &got), MESH_EPROTO);
    util_bytes_free(bb);
    /* an id in a longer form than it needs (0xcd 0x00 0x05) */
    bb = util_bytes_new();
    util_array(bb, 3), util_uint(bb, 1), util_u8(bb, 0xcd), util_be(bb, 5, 2);
    util_uint(bb, CTLMSG_PING);
    s_refused(bb, MESH_EPROTO, 0);
    util_bytes_free(bb);
    /* an empty collection name; one with a NUL byte */
    bb = s_ref_wait(3, 1000, 1, 1, "");
    s_refused(bb, MESH_EPROTO, 3);
    util_bytes_free(bb);
    bb = util_bytes_new();
    util_array(bb, 6), util_uint(bb, 1), util_uint(bb, 3), util_uint(bb, CTLMSG_WAIT);
    util_uint(bb, 1), util_uint(bb, 1), util_array(bb, 1), util_str(bb, "a\0b", 3);
    s_refused(bb, MESH_EPROTO, 3);
    util_bytes_free(bb);
    /* a collection name as bin, not str */
    bb = util_bytes_new();
    util_array(bb, 6), util_uint(bb, 1), util_uint(bb, 3), util_uint(bb, CTLMSG_WAIT);
    util_uint(bb, 1), util_uint(bb, 1), util_array(bb, 1), util_bin(bb, "ab", 2);
    s_refused(bb, MESH_EPROTO, 3);
    util_bytes_free(bb);
    /* every truncation of a good request */
    bb = s_ref_wait(77, 5000, 3, 2, "coll");
    for (size_t n = 0; n < bb->len; n++) {
        assert_int_not_equal(ctlmsg_req_decode(bb->b, n, &got), MESH_OK);
    }
    util_bytes_free(bb);
}

static void
test_ctlmsg_caps(void **state)
{
    (void)state;
    char name[MESH_COLL_MAX + 2];
    memset(name, 'n', sizeof name);
    name[MESH_COLL_MAX] = '\0';
    ctlmsg_req_t got;
    /* at each edge: taken */
    util_bytes_t *bb = s_ref_wait(CTLMSG_ID_MAX, CTLMSG_WAIT_MS_MAX, CTLMSG_PEERS_MAX, 1, name);
    assert_int_equal(ctlmsg_req_decode(bb->b, bb->len, &got), MESH_OK);
    util_bytes_free(bb);
    bb = s_ref_wait(1, 1, 1, CTLMSG_COLLS_MAX, "c");
    assert_int_equal(ctlmsg_req_decode(bb->b, bb->len, &got), MESH_OK);
    assert_int_equal(got.ncolls, CTLMSG_COLLS_MAX);
    util_bytes_free(bb);
    /* one past: refused */
    bb = s_ref_wait(1, CTLMSG_WAIT_MS_MAX + 1ull, 1, 0, "");
    s_refused(bb, MESH_ETOOBIG, 1);
    util_bytes_free(bb);
    bb = s_ref_wait(1, 1, CTLMSG_PEERS_MAX + 1ull, 0, "");
    s_refused(bb, MESH_ETOOBIG, 1);
    util_bytes_free(bb);
    bb = s_ref_wait(1, 1, 1, CTLMSG_COLLS_MAX + 1, "c");
    s_refused(bb, MESH_ETOOBIG, 1);
    util_bytes_free(bb);
    bb = s_ref_wait(CTLMSG_ID_MAX + 1ull, 1, 1, 0, "");
    s_refused(bb, MESH_ETOOBIG, 0);
    util_bytes_free(bb);
    name[MESH_COLL_MAX] = 'n';
    name[MESH_COLL_MAX + 1] = '\0';
    bb = s_ref_wait(2, 1, 1, 1, name);
    s_refused(bb, MESH_ETOOBIG, 2);
    util_bytes_free(bb);
    /* a request over CTLMSG_REQUEST_MAX bytes, whatever it holds */
    uint8_t big[CTLMSG_REQUEST_MAX + 1];
    memset(big, 0, sizeof big);
    assert_int_equal(ctlmsg_req_decode(big, sizeof big, &got), MESH_ETOOBIG);
    /* the encoder refuses what the decoder would */
    wire_buf_t b;
    wire_buf_init(&b);
    ctlmsg_req_t req = {.id = 1, .kind = CTLMSG_WAIT, .peers = CTLMSG_PEERS_MAX + 1};
    assert_int_equal(ctlmsg_req_encode(&req, &b), MESH_EINVAL);
    req = (ctlmsg_req_t){.id = 1, .kind = 5};
    assert_int_equal(ctlmsg_req_encode(&req, &b), MESH_EINVAL);
    req = (ctlmsg_req_t){.id = 1, .kind = CTLMSG_WAIT, .ncolls = 1};
    req.colls[0] = "";
    assert_int_equal(ctlmsg_req_encode(&req, &b), MESH_EINVAL);
    assert_int_equal(b.len, 0);
    wire_buf_release(&b);
}

static void
test_ctlmsg_reads_only_its_bytes(void **state)
{
    (void)state;
    util_fence_t f;
    util_fence_init(&f, 4096);
    util_bytes_t *bb = s_ref_wait(77, 5000, 3, 2, "coll");
    ctlmsg_req_t got;
    for (size_t n = 0; n <= bb->len; n++) {
        const uint8_t *p = util_fence_put(&f, bb->b, n);
        mesh_err_t err = ctlmsg_req_decode(p, n, &got);
        assert_int_equal(err == MESH_OK, n == bb->len);
    }
    util_bytes_free(bb);
    util_fence_release(&f);
}

static void
test_ctlmsg_replies(void **state)
{
    (void)state;
    wire_buf_t b;
    wire_buf_init(&b);
    ctlmsg_reply_t rep = {.id = 4, .text = "meshsync 0.2.0", .text_len = 14, .pid = 1234,
                          .proto = CTLMSG_KIND_LAST};
    ctlmsg_reply_t got;
    assert_int_equal(ctlmsg_reply_encode(CTLMSG_PING, &rep, &b), MESH_OK);
    assert_int_equal(ctlmsg_reply_decode(CTLMSG_PING, b.data, b.len, &got), MESH_OK);
    assert_int_equal(got.id, 4);
    assert_int_equal(got.pid, 1234);
    assert_int_equal(got.text_len, 14);
    assert_memory_equal(got.text, "meshsync 0.2.0", 14);
    /* the same bytes are not a status reply */
    assert_int_equal(ctlmsg_reply_decode(CTLMSG_STATUS, b.data, b.len, &got), MESH_EPROTO);
    wire_buf_reset(&b);
    rep = (ctlmsg_reply_t){.id = 5, .status = (const uint8_t *)"device X\n", .status_len = 9};
    assert_int_equal(ctlmsg_reply_encode(CTLMSG_STATUS, &rep, &b), MESH_OK);
    assert_int_equal(ctlmsg_reply_decode(CTLMSG_STATUS, b.data, b.len, &got), MESH_OK);
    assert_int_equal(got.status_len, 9);
    assert_memory_equal(got.status, "device X\n", 9);
    wire_buf_reset(&b);
    rep = (ctlmsg_reply_t){.id = 6, .in_sync = true, .connected = 3, .synced = 3};
    assert_int_equal(ctlmsg_reply_encode(CTLMSG_WAIT, &rep, &b), MESH_OK);
    assert_int_equal(ctlmsg_reply_decode(CTLMSG_WAIT, b.data, b.len, &got), MESH_OK);
    assert_true(got.in_sync);
    assert_int_equal(got.connected, 3);
    /* a watch's reply: the store's transaction; its request carries the client's */
    wire_buf_reset(&b);
    rep = (ctlmsg_reply_t){.id = 7, .txnid = 123456789};
    assert_int_equal(ctlmsg_reply_encode(CTLMSG_WATCH, &rep, &b), MESH_OK);
    assert_int_equal(ctlmsg_reply_decode(CTLMSG_WATCH, b.data, b.len, &got), MESH_OK);
    assert_int_equal(got.id, 7);
    assert_int_equal(got.txnid, 123456789);
    assert_int_equal(ctlmsg_reply_decode(CTLMSG_WAIT, b.data, b.len, &got), MESH_EPROTO);
    wire_buf_reset(&b);
    ctlmsg_req_t wreq = {.id = 8, .kind = CTLMSG_WATCH, .min_txnid = 42}, wgot;
    assert_int_equal(ctlmsg_req_encode(&wreq, &b), MESH_OK);
    assert_int_equal(ctlmsg_req_decode(b.data, b.len, &wgot), MESH_OK);
    assert_int_equal(wgot.kind, CTLMSG_WATCH);
    assert_int_equal(wgot.min_txnid, 42);
    /* more in sync than connected: refused */
    wire_buf_reset(&b);
    rep = (ctlmsg_reply_t){.id = 6, .connected = 1, .synced = 2};
    assert_int_equal(ctlmsg_reply_encode(CTLMSG_WAIT, &rep, &b), MESH_OK);
    assert_int_equal(ctlmsg_reply_decode(CTLMSG_WAIT, b.data, b.len, &got), MESH_EPROTO);
    /* an error reply, to any kind */
    wire_buf_reset(&b);
    rep = (ctlmsg_reply_t){.id = 0, .code = MESH_EPROTO, .text = "malformed", .text_len = 9};
    assert_int_equal(ctlmsg_reply_encode(0, &rep, &b), MESH_OK);
    assert_int_equal(ctlmsg_reply_decode(CTLMSG_WAIT, b.data, b.len, &got), MESH_OK);
    assert_int_equal(got.code, MESH_EPROTO);
    assert_int_equal(got.text_len, 9);
    /* every truncation refused */
    for (size_t n = 0; n < b.len; n++) {
        assert_int_not_equal(ctlmsg_reply_decode(CTLMSG_WAIT, b.data, n, &got), MESH_OK);
    }
    wire_buf_release(&b);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ctlmsg_layout),
        cmocka_unit_test(test_ctlmsg_decoder_refuses),
        cmocka_unit_test(test_ctlmsg_caps),
        cmocka_unit_test(test_ctlmsg_reads_only_its_bytes),
        cmocka_unit_test(test_ctlmsg_replies),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
