/* tests/fuzz/gen_corpus_wire.c: writes the seed corpus of fuzz_wire into a directory, with
 * the library's own encoders: valid sets, a header and op metadata alone, and near-misses.
 * Not built by the Makefile; run by hand after a layout change, from the top directory:
 *   make build/libmeshsync.a && cc -std=c11 -D_DEFAULT_SOURCE -Iinclude -I. \
 *     tests/fuzz/gen_corpus_wire.c build/libmeshsync.a $(pkg-config --libs msgpack) \
 *     -o build/gen_corpus_wire && build/gen_corpus_wire tests/fuzz/corpus/wire
 * Layer: tests. Third-party: none. SPDX-License-Identifier: MIT */
#include "core/wire/buf.h"
#include "core/wire/msg.h"
#include "core/wire/set.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *s_dir;

static void
s_die(const char *what)
{
    fprintf(stderr, "gen_corpus_wire: %s\n", what);
    exit(1);
}

static void
s_write(const char *name, const uint8_t *p, size_t len)
{
    char path[512];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", s_dir, name);
    f = fopen(path, "wb");
    if (f == NULL || (len > 0 && fwrite(p, 1, len, f) != len) || fclose(f) != 0)
        s_die(path);
}

static void
s_fill(uint8_t *p, size_t n, uint8_t seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(seed + 7 * i);
}

static void
s_ok(mesh_err_t err)
{
    if (err != MESH_OK)
        s_die("an encoder failed");
}

/* The header of a set of count ops from first_seq. */
static void
s_header(wire_buf_t *out, const char *coll, uint64_t first_seq, uint32_t count)
{
    wire_header_t h;

    memset(&h, 0, sizeof(h));
    h.coll = coll;
    h.coll_len = strlen(coll);
    s_fill(h.origin, WIRE_ORIGIN_LEN, 0x11);
    h.incarnation = 1;
    h.first_seq = first_seq;
    h.count = count;
    h.hlc = (1700000000000ull << 16) | 3;
    s_fill(h.root, WIRE_HASH_LEN, 0x22);
    wire_buf_reset(out);
    s_ok(wire_header_encode(&h, out));
}

/* Metadata of op seq: a put of vlen bytes, or a delete; with nctx context entries. */
static void
s_opmeta(wire_buf_t *out, uint64_t seq, const char *key, size_t key_len, int del, uint32_t vlen,
         size_t nctx)
{
    wire_opmeta_t op;
    wire_dot_t ctx[4];

    memset(&op, 0, sizeof(op));
    op.seq = seq;
    op.key = (const uint8_t *)key;
    op.key_len = key_len;
    op.kind = del ? WIRE_DEL : WIRE_PUT;
    if (!del) {
        s_fill(op.vhash, WIRE_HASH_LEN, (uint8_t)seq);
        op.value_len = vlen;
    }
    for (size_t i = 0; i < 4; i++) {
        memset(ctx[i].origin, 0x30 + (int)(i / 2), WIRE_ORIGIN_LEN);
        ctx[i].incarnation = i % 2;
        ctx[i].seq = 10 + i;
    }
    wire_buf_reset(out);
    s_ok(wire_opmeta_encode(&op, ctx, nctx, out));
}

/* A whole set of n ops (n <= 4): op i is a put, or a delete when i is in dels, with i context
 * entries when with_ctx. */
static void
s_set(wire_buf_t *out, size_t n, unsigned dels, int with_ctx, const char *key, size_t key_len,
      int partial)
{
    static const uint8_t value[] = "hello, mesh";
    static uint8_t proof[3 * WIRE_HASH_LEN];
    uint8_t sig[WIRE_SIG_LEN];
    wire_buf_t hdr, metas[4];
    wire_op_t ops[4];

    s_fill(sig, sizeof(sig), 0x44);
    s_fill(proof, sizeof(proof), 0x55);
    wire_buf_init(&hdr);
    s_header(&hdr, "notes", 5, (uint32_t)n);
    memset(ops, 0, sizeof(ops));
    for (size_t i = 0; i < n; i++) {
        int del = (dels >> i) & 1;

        wire_buf_init(&metas[i]);
        s_opmeta(&metas[i], 5 + i, key, key_len, del, del ? 0 : (uint32_t)(i * 3 % 12),
                 with_ctx ? i + 1 : 0);
        ops[i].meta = metas[i].data;
        ops[i].meta_len = metas[i].len;
        ops[i].value = del ? NULL : value;
        ops[i].value_len = del ? 0 : i * 3 % 12;
        ops[i].proof = proof;
        ops[i].proof_count = i % 4;
    }
    wire_buf_reset(out);
    if (partial)
        s_ok(wire_set_encode_partial(hdr.data, hdr.len, sig, ops, n, out));
    else
        s_ok(wire_set_encode(hdr.data, hdr.len, sig, ops, n, out));
    for (size_t i = 0; i < n; i++)
        wire_buf_release(&metas[i]);
    wire_buf_release(&hdr);
}

/* b with one byte appended. */
static void
s_write_trailing(const char *name, const wire_buf_t *b, uint8_t extra)
{
    uint8_t *p = malloc(b->len + 1);

    if (p == NULL)
        s_die("out of memory");
    memcpy(p, b->data, b->len);
    p[b->len] = extra;
    s_write(name, p, b->len + 1);
    free(p);
}

/* b with the byte at pos replaced by the bytes alt[0..n). */
static void
s_write_spliced(const char *name, const wire_buf_t *b, size_t pos, const uint8_t *alt, size_t n)
{
    uint8_t *p = malloc(b->len + n);

    if (p == NULL || pos >= b->len)
        s_die("bad splice");
    memcpy(p, b->data, pos);
    memcpy(p + pos, alt, n);
    memcpy(p + pos + n, b->data + pos + 1, b->len - pos - 1);
    s_write(name, p, b->len - 1 + n);
    free(p);
}

int
main(int argc, char **argv)
{
    static char long_key[MESH_KEY_MAX];
    static const uint8_t u8_seq[] = {0xcc, 0x05}, arr16_3[] = {0xdc, 0x00, 0x03};
    wire_buf_t b;

    if (argc != 2) {
        fprintf(stderr, "usage: %s DIR\n", argv[0]);
        return 2;
    }
    s_dir = argv[1];
    memset(long_key, 'k', sizeof(long_key));
    wire_buf_init(&b);

    /* Valid sets. */
    s_set(&b, 1, 0, 0, "a", 1, 0);
    s_write("set-1op", b.data, b.len);
    s_write_trailing("bad-set-1op-trailing", &b, 0x00);
    s_write("bad-set-1op-truncated", b.data, b.len - 1);
    s_write("bad-set-1op-half", b.data, b.len / 2);
    s_write_spliced("bad-set-1op-array16", &b, 0, arr16_3, sizeof(arr16_3));
    s_set(&b, 3, 0, 0, "abc", 3, 0);
    s_write("set-3ops", b.data, b.len);
    s_set(&b, 2, 2, 0, "gone", 4, 0);
    s_write("set-put-del", b.data, b.len);
    s_set(&b, 1, 1, 0, "gone", 4, 0);
    s_write("set-del", b.data, b.len);
    s_set(&b, 4, 4, 1, "ctx", 3, 0);
    s_write("set-4ops-ctx", b.data, b.len);
    s_write("bad-set-4ops-ctx-truncated", b.data, b.len - 7);
    s_set(&b, 1, 0, 0, long_key, sizeof(long_key), 0);
    s_write("set-long-key", b.data, b.len);
    s_set(&b, 3, 2, 1, "part", 4, 1);
    s_write("set-partial", b.data, b.len);
    s_write_trailing("bad-set-partial-trailing", &b, 0xc0);

    /* A header alone. */
    s_header(&b, "notes", 1, 1);
    s_write("header", b.data, b.len);
    s_write_trailing("bad-header-trailing", &b, 0x00);
    s_write("bad-header-truncated", b.data, b.len - 1);
    s_header(&b, "a-collection-name-of-more-than-31-bytes", 1ull << 40, WIRE_OPS_MAX);
    s_write("header-long", b.data, b.len);

    /* Op metadata alone; the seq is the byte after the fixarray. */
    s_opmeta(&b, 5, "key", 3, 0, 12, 0);
    s_write("opmeta-put", b.data, b.len);
    s_write_spliced("bad-opmeta-seq-uint8", &b, 1, u8_seq, sizeof(u8_seq));
    s_write_trailing("bad-opmeta-trailing", &b, 0x01);
    s_write("bad-opmeta-truncated", b.data, b.len - 1);
    s_opmeta(&b, 6, "key", 3, 1, 0, 0);
    s_write("opmeta-del", b.data, b.len);
    s_opmeta(&b, 7, "key", 3, 0, 300, 1);
    s_write("opmeta-put-ctx1", b.data, b.len);
    s_opmeta(&b, 300, "key", 3, 1, 0, 4);
    s_write("opmeta-del-ctx4", b.data, b.len);
    s_write("bad-opmeta-ctx4-truncated", b.data, b.len - 1);
    s_opmeta(&b, 70000, long_key, sizeof(long_key), 0, MESH_VALUE_MAX, 2);
    s_write("opmeta-long-key", b.data, b.len);

    s_write("empty", b.data, 0);
    /* Session messages (§11.1). */
    {
        static const uint8_t summary[WIRE_SUMMARY_LEN] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
        static const uint8_t vec[] = {0x92, 0xb1, 'm', 'e', 's', 'h', 's', 'y', 'n', 'c',
                                      '/',  'v',  'e', 'c', 't', 'o', 'r', '/', '1', 0x90};
        const wire_msg_t msgs[] = {
            {.type = WIRE_MSG_HELLO,
             .major = 1,
             .name = "a",
             .name_len = 1,
             .num = 7,
             .credit = 48,
             .summary = summary,
             .body = vec,
             .body_len = sizeof(vec)},
            {.type = WIRE_MSG_HELLO,
             .major = 1,
             .name = "b",
             .name_len = 1,
             .num = 1 << 20,
             .credit = 1,
             .summary = summary,
             .covers = summary},
            {.type = WIRE_MSG_VECTOR, .num = 1, .body = vec, .body_len = sizeof(vec)},
            {.type = WIRE_MSG_BATCH, .num = 3, .body = vec, .body_len = sizeof(vec), .more = true},
            {.type = WIRE_MSG_ACK, .num = 3, .body = summary, .body_len = WIRE_SUMMARY_LEN},
            {.type = WIRE_MSG_SUMMARY, .body = summary, .body_len = WIRE_SUMMARY_LEN},
            {.type = WIRE_MSG_HELLO, .major = 2, .summary = summary, .credit = 1},
            {.type = WIRE_MSG_BLOCK_REQ, .num = 5, .body = summary, .body_len = 8},
            {.type = WIRE_MSG_PING, .num = 123456789}, /* last: its truncation follows */
        };
        static const char *const names[] = {
            "msg-hello",   "msg-hello-novector", "msg-vector",    "msg-batch", "msg-ack",
            "msg-summary", "msg-hello-major2",   "msg-block-req", "msg-ping"};
        for (size_t i = 0; i < sizeof(msgs) / sizeof(msgs[0]); i++) {
            wire_buf_reset(&b);
            if (wire_msg_encode(&msgs[i], &b) != MESH_OK)
                s_die("cannot encode a session message");
            s_write(names[i], b.data, b.len);
        }
        s_write("bad-msg-ping-truncated", b.data, b.len - 1);
    }

    wire_buf_release(&b);
    return 0;
}
