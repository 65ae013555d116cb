/* tests/fuzz/gen_corpus_message.c: writes the seed corpus of fuzz_message into a directory:
 * bodies with empty, small and 64 KiB data, topics of 1 and 64 bytes and of every printable
 * edge (space, tilde), each length header form of the data (bin 8, 16, 32), and broken ones:
 * one byte short and long, an empty topic, a control byte and a byte past ASCII in the
 * topic, a topic of 65 bytes, data of 64 KiB + 1, the topic as bin, an array of 3.
 * Not built by the Makefile; run by hand after a layout change, from the top directory:
 *   make build/libmeshsync.a && cc -std=c11 -D_DEFAULT_SOURCE -Iinclude -I. \
 *     tests/fuzz/gen_corpus_message.c build/libmeshsync.a $(pkg-config --libs msgpack) \
 *     -o build/gen_corpus_message && build/gen_corpus_message tests/fuzz/corpus/message
 * Layer: tests. Third-party: none. SPDX-License-Identifier: MIT */
#include "core/wire/message.h"

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

/* Encode topic and len bytes of data and write them as name; with a mutation: cut (bytes
 * less), extra (a byte more), or byte `at` set to v. */
static int
s_put(const char *dir, const char *name, const char *topic, size_t len, long cut, int extra,
      long at, uint8_t v)
{
    static uint8_t data[WIRE_MSG_DATA_MAX];
    for (size_t i = 0; i < len; i++) {
        data[i] = (uint8_t)(i * 7 + 1);
    }
    wire_message_t m = {
        .topic = topic, .topic_len = strlen(topic), .data = len ? data : NULL, .data_len = len};
    wire_buf_t out;
    wire_buf_init(&out);
    if (wire_message_encode(&m, &out) != MESH_OK || wire_buf_append(&out, "\0", 1) != MESH_OK) {
        fprintf(stderr, "cannot encode %s\n", name);
        return 1;
    }
    out.len--;
    if (at >= 0 && (size_t)at < out.len) {
        out.data[at] = v;
    }
    int bad = s_write(dir, name, out.data, out.len - (size_t)cut + (size_t)extra);
    wire_buf_release(&out);
    return bad;
}

int
main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: gen_corpus_message DIR\n");
        return 2;
    }
    const char *d = argv[1];
    char t64[65];
    memset(t64, 'T', 64);
    t64[64] = '\0';
    int bad = 0;
    bad |= s_put(d, "empty", "chat", 0, 0, 0, -1, 0);
    bad |= s_put(d, "small", "room/1", 12, 0, 0, -1, 0);
    bad |= s_put(d, "bin8", "a", 200, 0, 0, -1, 0);
    bad |= s_put(d, "bin16", "b", 300, 0, 0, -1, 0);
    bad |= s_put(d, "bin32-max", t64, WIRE_MSG_DATA_MAX, 0, 0, -1, 0);
    bad |= s_put(d, "edges", " ~", 1, 0, 0, -1, 0);
    bad |= s_put(d, "short", "chat", 12, 1, 0, -1, 0);
    bad |= s_put(d, "long", "chat", 12, 0, 1, -1, 0);
    bad |= s_put(d, "empty-topic", "c", 3, 0, 0, 1, 0xa0);
    bad |= s_put(d, "topic-control", "chat", 3, 0, 0, 3, 0x1b);
    bad |= s_put(d, "topic-high", "chat", 3, 0, 0, 3, 0xc3);
    bad |= s_put(d, "topic-bin", "chat", 3, 0, 0, 1, 0xc4);
    bad |= s_put(d, "array3", "chat", 3, 0, 0, 0, 0x93);
    /* past the caps: a topic of 65 bytes, data of 64 KiB + 1 (written by hand) */
    uint8_t b[8 + 65 + 8];
    size_t n = 0;
    b[n++] = 0x92, b[n++] = 0xd9, b[n++] = 65;
    memset(b + n, 'x', 65), n += 65;
    b[n++] = 0xc4, b[n++] = 1, b[n++] = 0;
    bad |= s_write(d, "topic-65", b, n);
    static uint8_t big[8 + WIRE_MSG_DATA_MAX + 1];
    n = 0;
    big[n++] = 0x92, big[n++] = 0xa1, big[n++] = 'x';
    big[n++] = 0xc6, big[n++] = 0, big[n++] = 1, big[n++] = 0, big[n++] = 1;
    n += WIRE_MSG_DATA_MAX + 1;
    bad |= s_write(d, "data-64k-plus-1", big, n);
    return bad;
}
