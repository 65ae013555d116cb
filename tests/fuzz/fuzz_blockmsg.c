/* tests/fuzz/fuzz_blockmsg.c: libFuzzer harness for the folder block messages' bodies
 * (docs/PROTOCOL.md §18.6, core/wire/blockmsg.c), which come from any member. Every input is
 * decoded as a BLOCK_REQ body and as a BLOCK body, of layout 1 and of layout 2 (several): what
 * decodes must keep the rules (a folder ID of 1..64 bytes of A-Z a-z 0-9 . _ -, a 32-byte hash,
 * data only when "here", at most 1 MiB) and re-encode to the very same bytes; what does not must
 * fail with a decoder's error and a zeroed output. Then the input's bytes build bodies of their
 * own, which must encode when they keep the rules, refuse with MESH_EINVAL when not, and decode
 * back to themselves. Any breach abort()s. Seeds: corpus/blockmsg/ (gen_corpus_blockmsg.c). Layer:
 * tests. Third-party: none. SPDX-License-Identifier: MIT */
#include "check.h"

#include "core/wire/blockmsg.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool
s_id_ok(const char *id, size_t len)
{
    if (len == 0 || len > WIRE_BLOCKMSG_ID_MAX) {
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        char ch = id[i];
        if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
              ch == '.' || ch == '_' || ch == '-')) {
            return false;
        }
    }
    return true;
}

/* The same for the bodies of layout 2 (several blocks): 1..32 entries, each as one of
 * layout 1, at most 1 MiB of data in all. */
static void
s_decode_many(const uint8_t *data, size_t size)
{
    wire_blocks_req_t req;
    wire_buf_t out;
    wire_buf_init(&out);
    mesh_err_t err = wire_blocks_req_decode(data, size, &req);
    if (err != MESH_OK) {
        CHECK(check_is_decode_error(err));
        CHECK(check_is_zero(&req, sizeof req));
    } else {
        CHECK(s_id_ok(req.folder, req.folder_len));
        CHECK(req.n >= 1 && req.n <= WIRE_BLOCKMSG_MULTI_MAX);
        CHECK(wire_blocks_req_encode(&req, &out) == MESH_OK);
        CHECK(out.len == size && memcmp(out.data, data, size) == 0);
    }
    wire_buf_reset(&out);
    static wire_blocks_t blks;
    err = wire_blocks_decode(data, size, &blks);
    if (err != MESH_OK) {
        CHECK(check_is_decode_error(err));
        CHECK(check_is_zero(&blks, sizeof blks));
    } else {
        size_t bytes = 0;
        CHECK(blks.n >= 1 && blks.n <= WIRE_BLOCKMSG_MULTI_MAX);
        for (size_t i = 0; i < blks.n; i++) {
            const wire_block_t *b = &blks.blk[i];
            CHECK(b->status <= WIRE_BLOCK_NOT_HELD && b->hash);
            CHECK((b->status == WIRE_BLOCK_HERE) == (b->data_len > 0));
            bytes += b->data_len;
        }
        CHECK(bytes <= WIRE_BLOCKMSG_MULTI_BYTES);
        CHECK(wire_blocks_encode(&blks, &out) == MESH_OK);
        CHECK(out.len == size && memcmp(out.data, data, size) == 0);
    }
    wire_buf_release(&out);
}

static void
s_decode(const uint8_t *data, size_t size)
{
    wire_block_req_t req;
    wire_buf_t out;
    wire_buf_init(&out);
    mesh_err_t err = wire_block_req_decode(data, size, &req);
    if (err != MESH_OK) {
        CHECK(check_is_decode_error(err));
        CHECK(check_is_zero(&req, sizeof req));
    } else {
        CHECK(s_id_ok(req.folder, req.folder_len) && req.hash);
        CHECK(wire_block_req_encode(&req, &out) == MESH_OK);
        CHECK(out.len == size && memcmp(out.data, data, size) == 0);
    }
    wire_buf_reset(&out);
    wire_block_t blk;
    err = wire_block_decode(data, size, &blk);
    if (err != MESH_OK) {
        CHECK(check_is_decode_error(err));
        CHECK(check_is_zero(&blk, sizeof blk));
    } else {
        CHECK(blk.status <= WIRE_BLOCK_NOT_HELD && blk.hash);
        CHECK((blk.status == WIRE_BLOCK_HERE) == (blk.data_len > 0));
        CHECK(blk.data_len <= WIRE_FENTRY_BLOCK_MAX);
        CHECK(wire_block_encode(&blk, &out) == MESH_OK);
        CHECK(out.len == size && memcmp(out.data, data, size) == 0);
    }
    wire_buf_release(&out);
    s_decode_many(data, size);
}

/* Bodies from the input: [status, id length, id..., then data]; the hash is the first 32
 * bytes (or zeros). */
static void
s_build(const uint8_t *data, size_t size)
{
    uint8_t hash[WIRE_FENTRY_HASH] = {0};
    if (size < 2) {
        return;
    }
    memcpy(hash, data, size < sizeof hash ? size : sizeof hash);
    size_t idlen = data[1] % 80;
    idlen = 2 + idlen <= size ? idlen : size - 2;
    wire_block_req_t req = {.folder = (const char *)data + 2, .folder_len = idlen, .hash = hash};
    wire_buf_t out;
    wire_buf_init(&out);
    mesh_err_t err = wire_block_req_encode(&req, &out);
    if (!s_id_ok(req.folder, req.folder_len)) {
        CHECK(err == MESH_EINVAL && out.len == 0);
    } else {
        wire_block_req_t d;
        CHECK(err == MESH_OK);
        CHECK(wire_block_req_decode(out.data, out.len, &d) == MESH_OK);
        CHECK(d.folder_len == idlen && memcmp(d.folder, req.folder, idlen) == 0);
        CHECK(memcmp(d.hash, hash, sizeof hash) == 0);
    }
    wire_buf_reset(&out);
    wire_block_t blk = {.status = data[0] % 3,
                        .hash = hash,
                        .data = data + 2 + idlen,
                        .data_len = size - 2 - idlen};
    err = wire_block_encode(&blk, &out);
    bool ok =
        blk.status <= WIRE_BLOCK_NOT_HELD && (blk.status == WIRE_BLOCK_HERE) == (blk.data_len > 0);
    if (!ok) {
        CHECK(err == MESH_EINVAL && out.len == 0);
    } else {
        wire_block_t d;
        CHECK(err == MESH_OK);
        CHECK(wire_block_decode(out.data, out.len, &d) == MESH_OK);
        CHECK(d.status == blk.status && d.data_len == blk.data_len);
        CHECK(blk.data_len == 0 || memcmp(d.data, blk.data, blk.data_len) == 0);
    }
    wire_buf_release(&out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    s_decode(data, size);
    s_build(data, size);
    return 0;
}
