/* tests/fuzz/gen_corpus_addrs.c: writes the seed corpus of fuzz_addrs into a directory, with
 * the library's own encoders: PEX bodies (one member, the caps), a PEX message, stored
 * address books, and near-misses (out of order, a duplicate, truncated, trailing bytes).
 * Not built by the Makefile; run by hand after a layout change, from the top directory:
 *   make build/libmeshsync.a && cc -std=c11 -D_DEFAULT_SOURCE -Iinclude -I. \
 *     tests/fuzz/gen_corpus_addrs.c build/libmeshsync.a $(pkg-config --libs msgpack) \
 *     -o build/gen_corpus_addrs && build/gen_corpus_addrs tests/fuzz/corpus/addrs
 * Layer: tests. Third-party: none. SPDX-License-Identifier: MIT */
#include "core/wire/addrs.h"
#include "core/wire/buf.h"
#include "core/wire/msg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *s_dir;

static void
s_die(const char *what)
{
    fprintf(stderr, "gen_corpus_addrs: %s\n", what);
    exit(1);
}

static void
s_write(const char *name, const uint8_t *p, size_t len)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", s_dir, name);
    FILE *f = fopen(path, "wb");
    if (f == NULL || (len > 0 && fwrite(p, 1, len, f) != len) || fclose(f) != 0)
        s_die(path);
}

static wire_pex_t s_pex;
static char s_addrs[WIRE_PEX_ENTRIES_MAX][WIRE_PEX_ADDRS_MAX][64];

/* A PEX of n members with k addresses each. */
static void
s_make_pex(size_t n, size_t k)
{
    memset(&s_pex, 0, sizeof s_pex);
    for (size_t i = 0; i < n; i++) {
        wire_pex_entry_t *e = &s_pex.entries[i];
        memset(e->device, 0x10, WIRE_ORIGIN_LEN);
        e->device[0] = (uint8_t)i;
        for (size_t j = 0; j < k; j++) {
            snprintf(s_addrs[i][j], sizeof s_addrs[i][j], "tcp://10.0.%zu.%zu:%zu", i, j, 7400 + j);
            e->addrs[j] = s_addrs[i][j];
            e->addr_lens[j] = strlen(s_addrs[i][j]);
        }
        e->count = k;
    }
    s_pex.count = n;
}

int
main(int argc, char **argv)
{
    wire_buf_t b, m;
    if (argc != 2)
        s_die("usage: gen_corpus_addrs DIR");
    s_dir = argv[1];
    wire_buf_init(&b);
    wire_buf_init(&m);

    s_make_pex(1, 1);
    if (wire_pex_encode(&s_pex, &b) != MESH_OK)
        s_die("pex-one");
    s_write("pex-one", b.data, b.len);
    wire_msg_t msg = {.type = WIRE_MSG_PEX, .body = b.data, .body_len = b.len};
    if (wire_msg_encode(&msg, &m) != MESH_OK)
        s_die("msg-pex");
    s_write("msg-pex", m.data, m.len);
    s_write("bad-pex-truncated", b.data, b.len - 1);
    uint8_t trailing[256];
    memcpy(trailing, b.data, b.len);
    trailing[b.len] = 0;
    s_write("bad-pex-trailing", trailing, b.len + 1);

    wire_buf_reset(&b);
    s_make_pex(3, 4);
    if (wire_pex_encode(&s_pex, &b) != MESH_OK)
        s_die("pex-three");
    s_write("pex-three-four", b.data, b.len);

    wire_buf_reset(&b);
    s_make_pex(WIRE_PEX_ENTRIES_MAX, WIRE_PEX_ADDRS_MAX);
    if (wire_pex_encode(&s_pex, &b) != MESH_OK)
        s_die("pex-caps");
    s_write("pex-caps", b.data, b.len);

    /* out of order and a duplicate: the encoder refuses them, so swap bytes by hand */
    wire_buf_reset(&b);
    s_make_pex(2, 1);
    if (wire_pex_encode(&s_pex, &b) != MESH_OK)
        s_die("pex-two");
    s_write("pex-two", b.data, b.len);
    uint8_t *swapped = malloc(b.len);
    memcpy(swapped, b.data, b.len);
    for (size_t i = 0; i + 1 < b.len; i++) {
        if (swapped[i] == 0xc4 && swapped[i + 1] == WIRE_ORIGIN_LEN) {
            swapped[i + 2] = 0x7f; /* the first device above the second */
            break;
        }
    }
    s_write("bad-pex-order", swapped, b.len);
    free(swapped);

    wire_book_entry_t book[3] = {
        {.addr = "tcp://127.0.0.1:7400", .addr_len = 20, .source = 1, .added = 1700000000,
         .last_ok = 1700000100},
        {.addr = "tcp://[::1]:7401", .addr_len = 16, .source = 4, .has_teller = true,
         .added = 1700000200, .last_fail = 1700000300, .fails = 3},
        {.addr = "tcp://host.example:65535", .addr_len = 24, .source = 3, .has_teller = true},
    };
    memset(book[1].teller, 0xab, WIRE_ORIGIN_LEN);
    memset(book[2].teller, 0xcd, WIRE_ORIGIN_LEN);
    wire_buf_reset(&b);
    if (wire_book_encode(book, 3, &b) != MESH_OK)
        s_die("book");
    s_write("book-three", b.data, b.len);
    s_write("bad-book-truncated", b.data, b.len - 2);
    wire_buf_release(&b);
    wire_buf_release(&m);
    return 0;
}
