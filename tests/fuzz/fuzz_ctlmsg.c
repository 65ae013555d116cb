/* tests/fuzz/fuzz_ctlmsg.c: libFuzzer harness for the control socket's requests
 * (docs/PROTOCOL.md §21), which any process of the user's may send the daemon: every byte
 * goes to ctlmsg_req_decode, and to ctlmsg_reply_decode for each kind (what a client takes
 * from the socket). What decodes must be of a known kind with every field within its cap
 * (names borrowed inside the input), and must encode again to exactly the input (one
 * meaning, one encoding); what does not must fail with a decoder's error and a request
 * zeroed but for its id. Any breach abort()s.
 * Built with tests/fuzz/check.c by `make fuzz` (clang, libFuzzer) and, with
 * tests/fuzz/replay.c, by gcc for `make test`. Seeds: corpus/ctlmsg/ (gen_corpus_ctlmsg.c).
 * Layer: tests. Third-party: none. SPDX-License-Identifier: MIT */
#include "check.h"

#include "core/wire/ctlmsg.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
s_request(const uint8_t *data, size_t size)
{
    ctlmsg_req_t req;
    mesh_err_t err = ctlmsg_req_decode(data, size, &req);
    if (err != MESH_OK) {
        CHECK(check_is_decode_error(err));
        CHECK(req.id <= CTLMSG_ID_MAX);
        req.id = 0;
        CHECK(check_is_zero(&req, sizeof req));
        return;
    }
    CHECK(size <= CTLMSG_REQUEST_MAX);
    CHECK(req.kind >= CTLMSG_KIND_FIRST && req.kind <= CTLMSG_KIND_LAST);
    CHECK(req.id <= CTLMSG_ID_MAX);
    if (req.kind == CTLMSG_WAIT) {
        CHECK(req.timeout_ms <= CTLMSG_WAIT_MS_MAX && req.peers <= CTLMSG_PEERS_MAX);
        CHECK(req.ncolls <= CTLMSG_COLLS_MAX);
        for (size_t i = 0; i < req.ncolls; i++) {
            CHECK(req.coll_lens[i] >= 1 && req.coll_lens[i] <= MESH_COLL_MAX);
            CHECK(check_is_within(req.colls[i], req.coll_lens[i], data, size));
            CHECK(!memchr(req.colls[i], '\0', req.coll_lens[i]));
        }
    }
    wire_buf_t b;
    wire_buf_init(&b);
    CHECK(ctlmsg_req_encode(&req, &b) == MESH_OK);
    CHECK(b.len == size && memcmp(b.data, data, size) == 0);
    wire_buf_release(&b);
}

static void
s_reply(uint64_t kind, const uint8_t *data, size_t size)
{
    ctlmsg_reply_t rep;
    mesh_err_t err = ctlmsg_reply_decode(kind, data, size, &rep);
    if (err != MESH_OK) {
        CHECK(check_is_decode_error(err));
        CHECK(check_is_zero(&rep, sizeof rep));
        return;
    }
    CHECK(rep.text_len <= CTLMSG_TEXT_MAX);
    CHECK(rep.text_len == 0 || check_is_within(rep.text, rep.text_len, data, size));
    CHECK(rep.status_len == 0 || check_is_within(rep.status, rep.status_len, data, size));
    CHECK(rep.synced <= rep.connected);
    wire_buf_t b;
    wire_buf_init(&b);
    CHECK(ctlmsg_reply_encode(kind, &rep, &b) == MESH_OK);
    CHECK(b.len == size && memcmp(b.data, data, size) == 0);
    wire_buf_release(&b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    s_request(data, size);
    for (uint64_t kind = CTLMSG_KIND_FIRST; kind <= CTLMSG_KIND_LAST; kind++) {
        s_reply(kind, data, size);
    }
    return 0;
}
