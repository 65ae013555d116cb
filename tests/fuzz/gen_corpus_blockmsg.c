/* tests/fuzz/gen_corpus_blockmsg.c: writes the seed corpus of fuzz_blockmsg into a
 * directory: BLOCK_REQ bodies (IDs of 1 and 64 bytes), BLOCK bodies (here with 1 byte and
 * 70 KiB of data, not held), and broken ones: another version, a bad ID byte, a hash of 31
 * bytes, "not held" with data, "here" without, a byte short and a byte long; and of layout 2
 * (several blocks): a BLOCK_REQ of three hashes, a BLOCK of two, each also a byte short.
 * Not built by the Makefile; run by hand after a layout change, from the top directory:
 *   make build/libmeshsync.a && cc -std=c11 -D_DEFAULT_SOURCE -Iinclude -I. \
 *     tests/fuzz/gen_corpus_blockmsg.c build/libmeshsync.a $(pkg-config --libs msgpack) \
 *     -o build/gen_corpus_blockmsg && build/gen_corpus_blockmsg tests/fuzz/corpus/blockmsg
 * Layer: tests. Third-party: none. SPDX-License-Identifier: MIT */
#include "core/wire/blockmsg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int
s_write(const char *dir, const char *name, const uint8_t *p, size_t n)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || (n && fwrite(p, 1, n, f) != n) || fclose(f) != 0) {
        fprintf(stderr, "cannot write %s\n", path);
        return 1;
    }
    return 0;
}

/* Write out's bytes as name, with byte at set to v (at < 0: none), cut bytes fewer and
 * extra (0 or 1) more. */
static int
s_put(const char *dir, const char *name, wire_buf_t *out, long at, uint8_t v, size_t cut,
      size_t extra)
{
    if (extra && wire_buf_append(out, "\0", 1) != MESH_OK) {
        return 1;
    }
    if (at >= 0 && (size_t)at < out->len) {
        out->data[at] = v;
    }
    return s_write(dir, name, out->data, out->len - cut);
}

int
main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: gen_corpus_blockmsg DIR\n");
        return 2;
    }
    const char *d = argv[1];
    uint8_t hash[WIRE_FENTRY_HASH];
    static uint8_t big[70 << 10];
    for (size_t i = 0; i < sizeof hash; i++) {
        hash[i] = (uint8_t)(i * 7 + 1);
    }
    for (size_t i = 0; i < sizeof big; i++) {
        big[i] = (uint8_t)(i * 31);
    }
    static const char id64[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._";
    int bad = 0;
    wire_buf_t out;
    struct {
        const char *name;
        const char *id;
        long at;
        uint8_t v;
        size_t cut, extra;
    } reqs[] = {{"req-id1", "x", -1, 0, 0, 0},      {"req-id64", id64, -1, 0, 0, 0},
                {"req-version-2", "x", 1, 2, 0, 0}, {"req-bad-id-byte", "xy", 4, '/', 0, 0},
                {"req-short", "x", -1, 0, 1, 0},    {"req-long", "x", -1, 0, 0, 1}};
    for (size_t i = 0; i < sizeof reqs / sizeof reqs[0]; i++) {
        wire_block_req_t r = {.folder = reqs[i].id, .folder_len = strlen(reqs[i].id), .hash = hash};
        wire_buf_init(&out);
        bad |= wire_block_req_encode(&r, &out) != MESH_OK ||
               s_put(d, reqs[i].name, &out, reqs[i].at, reqs[i].v, reqs[i].cut, reqs[i].extra);
        wire_buf_release(&out);
    }
    struct {
        const char *name;
        uint8_t status;
        size_t len;
        long at;
        uint8_t v;
        size_t cut, extra;
    } blks[] = {{"block-1", 0, 1, -1, 0, 0, 0},
                {"block-70k", 0, sizeof big, -1, 0, 0, 0},
                {"block-not-held", 1, 0, -1, 0, 0, 0},
                {"block-status-2", 0, 1, 2, 2, 0, 0},
                {"block-not-held-data", 0, 1, 2, 1, 0, 0},
                {"block-here-empty", 1, 0, 2, 0, 0, 0},
                {"block-hash-31", 0, 1, 4, 31, 0, 0},
                {"block-short", 0, 1, -1, 0, 1, 0},
                {"block-long", 0, 1, -1, 0, 0, 1}};
    for (size_t i = 0; i < sizeof blks / sizeof blks[0]; i++) {
        wire_block_t b = {
            .status = blks[i].status, .hash = hash, .data = big, .data_len = blks[i].len};
        wire_buf_init(&out);
        bad |= wire_block_encode(&b, &out) != MESH_OK ||
               s_put(d, blks[i].name, &out, blks[i].at, blks[i].v, blks[i].cut, blks[i].extra);
        wire_buf_release(&out);
    }
    /* layout 2: three hashes asked, two blocks answered (here, not held); and cut short */
    wire_blocks_req_t rs = {.folder = "x", .folder_len = 1, .n = 3, .hash = {hash, hash, hash}};
    wire_blocks_t bs = {
        .n = 2,
        .blk = {{.status = WIRE_BLOCK_HERE, .hash = hash, .data = big, .data_len = 9},
                {.status = WIRE_BLOCK_NOT_HELD, .hash = hash}}};
    for (size_t cut = 0; cut < 2; cut++) {
        wire_buf_init(&out);
        bad |= wire_blocks_req_encode(&rs, &out) != MESH_OK ||
               s_put(d, cut ? "reqs-3-short" : "reqs-3", &out, -1, 0, cut, 0);
        wire_buf_release(&out);
        wire_buf_init(&out);
        bad |= wire_blocks_encode(&bs, &out) != MESH_OK ||
               s_put(d, cut ? "blocks-2-short" : "blocks-2", &out, -1, 0, cut, 0);
        wire_buf_release(&out);
    }
    return bad;
}
