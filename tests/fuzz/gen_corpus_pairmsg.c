/* tests/fuzz/gen_corpus_pairmsg.c: writes the seed corpus of fuzz_pairmsg into a directory:
 * one honest message of each type (CONFIRM with and without a signature, RESULT with no
 * and with the most addresses, ERROR of each edge reason), and some refused ones: a START
 * with nameplate 0, a SHARE one byte short, an unknown type, a trailing byte, a RESULT past
 * its address cap, an oversized frame.
 * Not built by the Makefile; run by hand after a layout change, from the top directory:
 *   make build/libmeshsync.a && cc -std=c11 -D_DEFAULT_SOURCE -Iinclude -I. \
 *     tests/fuzz/gen_corpus_pairmsg.c build/libmeshsync.a $(pkg-config --libs libsodium \
 *     msgpack-c) -o build/gen_corpus_pairmsg && build/gen_corpus_pairmsg tests/fuzz/corpus/pairmsg
 * Layer: tests. Third-party: none. SPDX-License-Identifier: MIT */
#include "core/wire/pairmsg.h"

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

/* Encode m and write it; with cut, drop that many bytes from the end; with extra, add one. */
static int
s_msg(const char *dir, const char *name, const pairmsg_t *m, size_t cut, bool extra)
{
    wire_buf_t b;
    wire_buf_init(&b);
    if (pairmsg_encode(m, &b) != MESH_OK || (extra && wire_buf_append(&b, "", 1) != MESH_OK)) {
        fprintf(stderr, "cannot encode %s\n", name);
        return 1;
    }
    int rc = s_write(dir, name, b.data, b.len - cut);
    wire_buf_release(&b);
    return rc;
}

int
main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: gen_corpus_pairmsg DIR\n");
        return 2;
    }
    const char *d = argv[1];
    int rc = 0;
    pairmsg_t m;
    memset(&m, 0, sizeof m);
    m.type = PAIRMSG_START, m.version = 1, m.nameplate = 7, m.others = true;
    memset(m.nonce, 0x11, sizeof m.nonce);
    rc |= s_msg(d, "start", &m, 0, false);
    m.nameplate = 999;
    rc |= s_msg(d, "start-999", &m, 0, false);
    rc |= s_msg(d, "start-trailing", &m, 0, true);
    memset(&m, 0, sizeof m);
    m.type = PAIRMSG_SHARE;
    memset(m.nonce, 0x22, sizeof m.nonce);
    memset(m.share, 0x33, sizeof m.share);
    memset(m.ad, 0x44, sizeof m.ad);
    m.ad[0] = 1;
    rc |= s_msg(d, "share", &m, 0, false);
    rc |= s_msg(d, "share-short", &m, 1, false);
    memset(&m, 0, sizeof m);
    m.type = PAIRMSG_CONFIRM;
    memset(m.tag, 0x55, sizeof m.tag);
    rc |= s_msg(d, "confirm", &m, 0, false);
    m.has_sig = true;
    memset(m.sig, 0x66, sizeof m.sig);
    rc |= s_msg(d, "confirm-sig", &m, 0, false);
    memset(&m, 0, sizeof m);
    m.type = PAIRMSG_RESULT;
    memset(m.key, 0x77, sizeof m.key);
    rc |= s_msg(d, "result-empty", &m, 0, false);
    m.name = "laptop", m.name_len = 6;
    static char addr[PAIRMSG_ADDR_MAX];
    memset(addr, 'a', sizeof addr);
    memcpy(addr, "tcp://", 6);
    for (size_t i = 0; i < PAIRMSG_ADDRS_MAX; i++) {
        m.addrs[i] = i == 0 ? "tcp://0.0.0.0:7400" : addr;
        m.addr_lens[i] = i == 0 ? 18 : sizeof addr;
    }
    m.naddrs = PAIRMSG_ADDRS_MAX;
    rc |= s_msg(d, "result-full", &m, 0, false);
    memset(&m, 0, sizeof m);
    m.type = PAIRMSG_ERROR, m.reason = PAIR_REASON_WRONG_CODE;
    m.text = "wrong code", m.text_len = 10;
    rc |= s_msg(d, "error", &m, 0, false);
    m.reason = PAIR_REASON_LAST, m.text = addr, m.text_len = PAIRMSG_TEXT_MAX;
    rc |= s_msg(d, "error-long", &m, 0, false);
    /* hand-made refusals */
    static const uint8_t np0[] = {0x95, 64, 1, 0, 0xc4, 16, 0, 0, 0, 0, 0, 0,
                                  0,    0,  0, 0, 0,    0,  0, 0, 0, 0, 0};
    rc |= s_write(d, "start-nameplate-0", np0, sizeof np0);
    static const uint8_t unknown[] = {0x93, 69, 0, 0};
    rc |= s_write(d, "unknown-type", unknown, sizeof unknown);
    static const uint8_t nine[] = {0x94, 67, 0xc4, 32, 0, 0, 0, 0, 0, 0, 0,    0,   0,
                                   0,    0,  0,    0,  0, 0, 0, 0, 0, 0, 0,    0,   0,
                                   0,    0,  0,    0,  0, 0, 0, 0, 0, 0, 0xa0, 0x99};
    rc |= s_write(d, "result-nine-addrs", nine, sizeof nine);
    static uint8_t big[PAIRMSG_FRAME_MAX + 1];
    big[0] = 0x93;
    rc |= s_write(d, "oversized", big, sizeof big);
    return rc;
}
