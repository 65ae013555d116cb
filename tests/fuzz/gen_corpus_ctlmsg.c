/* tests/fuzz/gen_corpus_ctlmsg.c: writes the seed corpus of fuzz_ctlmsg into a directory:
 * one request of each kind (a wait with no, one and the most collections), a reply of each
 * kind and an error reply, and some refused ones: another version, an unknown kind, a
 * trailing byte, a wait past its collection cap, a request cut short.
 * Not built by the Makefile; run by hand after a layout change, from the top directory:
 *   make build/libmeshsync.a && cc -std=c11 -D_DEFAULT_SOURCE -Iinclude -I. \
 *     tests/fuzz/gen_corpus_ctlmsg.c build/libmeshsync.a $(pkg-config --libs libsodium \
 *     msgpack-c libzmq lmdb) -o build/gen_corpus_ctlmsg && build/gen_corpus_ctlmsg tests/fuzz/corpus/ctlmsg
 * Layer: tests. Third-party: none. SPDX-License-Identifier: MIT */
#include "core/wire/ctlmsg.h"

#include <stdio.h>
#include <string.h>

static int
s_write(const char *dir, const char *name, const uint8_t *p, size_t n)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(p, 1, n, f) != n || fclose(f) != 0) {
        fprintf(stderr, "cannot write %s\n", path);
        return 1;
    }
    return 0;
}

/* Encode r and write it, cut bytes short, or with one extra byte. */
static int
s_req(const char *dir, const char *name, const ctlmsg_req_t *r, size_t cut, bool extra)
{
    wire_buf_t b;
    wire_buf_init(&b);
    if (ctlmsg_req_encode(r, &b) != MESH_OK || (extra && wire_buf_append(&b, "", 1) != MESH_OK)) {
        fprintf(stderr, "cannot encode %s\n", name);
        return 1;
    }
    int rc = s_write(dir, name, b.data, b.len - cut);
    wire_buf_release(&b);
    return rc;
}

static int
s_rep(const char *dir, const char *name, uint64_t kind, const ctlmsg_reply_t *r)
{
    wire_buf_t b;
    wire_buf_init(&b);
    if (ctlmsg_reply_encode(kind, r, &b) != MESH_OK) {
        fprintf(stderr, "cannot encode %s\n", name);
        return 1;
    }
    int rc = s_write(dir, name, b.data, b.len);
    wire_buf_release(&b);
    return rc;
}

int
main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: gen_corpus_ctlmsg DIR\n");
        return 2;
    }
    const char *d = argv[1];
    int rc = 0;
    ctlmsg_req_t r = {.id = 1, .kind = CTLMSG_PING};
    rc |= s_req(d, "ping", &r, 0, false);
    rc |= s_req(d, "ping-trailing", &r, 0, true);
    r = (ctlmsg_req_t){.id = 2, .kind = CTLMSG_STATUS, .min_txnid = 123456};
    rc |= s_req(d, "status", &r, 0, false);
    rc |= s_req(d, "status-short", &r, 1, false);
    r = (ctlmsg_req_t){.id = 3, .kind = CTLMSG_WAIT, .timeout_ms = 30000, .peers = 1};
    rc |= s_req(d, "wait-all", &r, 0, false);
    r.ncolls = 1;
    r.colls[0] = "notes";
    r.coll_lens[0] = 5;
    rc |= s_req(d, "wait-one", &r, 0, false);
    r.ncolls = CTLMSG_COLLS_MAX;
    for (size_t i = 0; i < r.ncolls; i++) {
        r.colls[i] = "c";
        r.coll_lens[i] = 1;
    }
    rc |= s_req(d, "wait-most", &r, 0, false);
    /* refused: another version, an unknown kind, past the collection cap (hand-made) */
    static const uint8_t v2[] = {0x93, 0x02, 0x01, 0x01};
    static const uint8_t kind4[] = {0x93, 0x01, 0x01, 0x04};
    rc |= s_write(d, "bad-version", v2, sizeof v2);
    rc |= s_write(d, "bad-kind", kind4, sizeof kind4);
    uint8_t many[4 + 3 + 3 + 2 * 65];
    size_t n = 0;
    many[n++] = 0x96, many[n++] = 0x01, many[n++] = 0x03, many[n++] = 0x03;
    many[n++] = 0x01, many[n++] = 0x01, many[n++] = 0xdc, many[n++] = 0x00, many[n++] = 65;
    for (int i = 0; i < 65; i++) {
        many[n++] = 0xa1, many[n++] = 'c';
    }
    rc |= s_write(d, "wait-too-many", many, n);
    ctlmsg_reply_t p = {.id = 1, .text = "meshsync 0.2.0", .text_len = 14, .pid = 42, .proto = 3};
    rc |= s_rep(d, "reply-ping", CTLMSG_PING, &p);
    p = (ctlmsg_reply_t){.id = 2, .status = (const uint8_t *)"device X\npid 1\n", .status_len = 15};
    rc |= s_rep(d, "reply-status", CTLMSG_STATUS, &p);
    p = (ctlmsg_reply_t){.id = 3, .in_sync = true, .connected = 2, .synced = 2};
    rc |= s_rep(d, "reply-wait", CTLMSG_WAIT, &p);
    p = (ctlmsg_reply_t){.id = 4, .code = MESH_EBUSY, .text = "too many", .text_len = 8};
    rc |= s_rep(d, "reply-error", 0, &p);
    return rc;
}
