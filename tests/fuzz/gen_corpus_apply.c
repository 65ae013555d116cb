/* tests/fuzz/gen_corpus_apply.c: writes the seed corpus of fuzz_apply into a directory: one
 * script per path the harness has (see tests/fuzz/fuzz_apply.c for the commands): honest
 * syncs with contexts across devices, relays, a stranger held then added, sets sent alone
 * before the sets their contexts name (across two and three devices, a stranger's, add
 * records), every kind of forged set (each field, every signer), forks (an origin's
 * overlapping or same-dot headers, before and after the honest set), watermarks (a node's
 * real incarnation: exact, ahead, for dots not held), raw bytes as a bundle and as a set, a
 * mutated export, commits the daemon's way and one by one.
 * Not built by the Makefile; run by hand after the script's layout changes, from the top:
 *   cc -std=c11 tests/fuzz/gen_corpus_apply.c -o build/gen_corpus_apply && \
 *     build/gen_corpus_apply tests/fuzz/corpus/apply
 * Layer: tests. Third-party: none. SPDX-License-Identifier: MIT */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The harness's commands (fuzz_apply.c): the low 3 bits; the node in bits 4-5 (T, W1, W2, S);
 * flags in bits 6-7. */
enum { T = 0, W1 = 1, W2 = 2, S = 3 };
enum { WRITE = 0, ALONE = 1, TAKE = 2, HONEST = 3, ADD = 4, FORGE = 5, RAW = 6, OTHER = 7 };
#define OP(cmd, node, hi) ((uint8_t)((cmd) | (node) << 4 | (hi) << 6))
/* ALONE's byte after the op: which full set of the node's export (0x80: _mesh's too).
 * FORGE's bytes: from | signer << 2 (| 0x40: applied alone), the set, the op, what (% 8: the
 * field; 0x80: the far value), a 2-byte number, the watermark (seq in bits 0-3, its origin in
 * bits 4-5, 0x40: sent, 0x80: seq 2^64-1). */
#define MARK(origin, seq) ((uint8_t)(0x40 | (origin) << 4 | (seq)))
/* A write's first byte: the collection (0..2), 1..4 ops; each op's byte: key letter (0..7),
 * 0x10 a two-letter key, 0x80 a delete, (k >> 5 & 3) value bytes follow; 0x60 a long value. */
#define TXN(coll, nops)   ((uint8_t)((coll) | ((nops)-1) << 4))

static const char *s_dir;

static void
s_write(const char *name, const uint8_t *p, size_t len)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", s_dir, name);
    FILE *f = fopen(path, "wb");
    if (f == NULL || fwrite(p, 1, len, f) != len || fclose(f) != 0) {
        fprintf(stderr, "gen_corpus_apply: %s\n", path);
        exit(1);
    }
}

#define SEED(name, ...)                                                                            \
    do {                                                                                           \
        static const uint8_t b[] = {__VA_ARGS__};                                                  \
        s_write(name, b, sizeof b);                                                                \
    } while (0)

int
main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s DIR\n", argv[0]);
        return 2;
    }
    s_dir = argv[1];
    /* W1 and W2 write, W1 takes W2's and overwrites (its context covers W2's dot), both
     * exports go to T (one since T's vector), committed the daemon's way; T writes too. */
    SEED("honest-contexts", OP(WRITE, W1, 0), TXN(0, 2), 0x20, 'v', 0x01, OP(WRITE, W2, 0),
         TXN(0, 1), 0x20, 'w', OP(TAKE, W1, W2), OP(WRITE, W1, 0), TXN(0, 1), 0x20, 'x',
         OP(HONEST, W1, 0), OP(HONEST, W2, 1), OP(OTHER, T, 0), OP(WRITE, T, 0), TXN(1, 1), 0x02);
    /* Concurrent writes of one key (siblings), a delete, a long value, one by one. */
    SEED("honest-siblings", OP(WRITE, W1, 0), TXN(0, 1), 0x23, 'a', OP(WRITE, W2, 0), TXN(0, 1),
         0x23, 'b', OP(WRITE, W2, 0), TXN(2, 2), 0x83, 0x64, OP(HONEST, W1, 0), OP(HONEST, W2, 0),
         OP(OTHER, T, 1), OP(WRITE, T, 0), TXN(0, 1), 0x83, OP(OTHER, T, 0));
    /* W2 relays W1's sets (partial after W1's overwrite) to T. */
    SEED("honest-relay", OP(WRITE, W1, 0), TXN(1, 3), 0x20, '1', 0x21, '2', 0x22, '3',
         OP(WRITE, W1, 0), TXN(1, 1), 0x21, '4', OP(TAKE, W2, W1), OP(HONEST, W2, 0),
         OP(OTHER, T, 0));
    /* S's sets are held at T until W1 adds S; W1's add record releases them. */
    SEED("stranger-held-then-added", OP(WRITE, S, 0), TXN(0, 1), 0x20, 's', OP(HONEST, S, 0),
         OP(OTHER, T, 0), OP(ADD, W1, S), OP(HONEST, W1, 0), OP(OTHER, T, 0));
    /* Forged sets: each field the harness changes (what % 8), re-signed by the origin. */
    for (int what = 0; what < 8; what++) {
        for (int hi = 0; hi < 2; hi++) {
            uint8_t b[] = {OP(WRITE, W1, 0), TXN(0, 2), 0x20, 'v', 0x01, OP(WRITE, W2, 0),
                           TXN(0, 1), 0x20, 'w', OP(TAKE, W1, W2), OP(WRITE, W1, 0), TXN(0, 1),
                           0x00, OP(HONEST, W1, 0), OP(OTHER, T, 0),
                           /* forge from W1, signed by W1, queued */
                           OP(FORGE, 0, 0), 0 /* from, signer */, 0 /* set */, 0 /* op */,
                           (uint8_t)(what | hi << 7), 0x00, 0x05, 0x00 /* no watermark */,
                           OP(OTHER, T, 0), OP(WRITE, W1, 0), TXN(0, 1), 0x20, 'z',
                           OP(HONEST, W1, 1), OP(OTHER, T, 0)};
            char name[64];
            b[16] = W1 | W1 << 2; /* from W1, signed by W1 */
            snprintf(name, sizeof name, "forge-%d%s", what, hi ? "-hi" : "");
            s_write(name, b, sizeof b);
        }
    }
    /* A set of W1's signed by W2 (the origin is not the signer), applied alone; and one
     * signed by T but claiming T's origin with another incarnation. */
    SEED("forge-wrong-signer-alone", OP(WRITE, W1, 0), TXN(0, 1), 0x20, 'v', OP(FORGE, 0, 0),
         W1 | W2 << 2 | 0x40, 0, 0, 1, 0, 1, 0);
    SEED("forge-t-incarnation", OP(WRITE, T, 0), TXN(0, 1), 0x20, 'v', OP(FORGE, 0, 0), T | T << 2,
         0, 0, 0x86, 0, 7, 0);
    /* A forged watermark: "you hold all of W2's dots up to 2^64-1" beside a set of W1's. */
    SEED("forge-watermark", OP(WRITE, W1, 0), TXN(0, 1), 0x20, 'v', OP(WRITE, W2, 0), TXN(0, 1),
         0x20, 'w', OP(FORGE, 0, 0), W1 | W1 << 2, 0, 0, 4, 0, 1, 0xe0, OP(OTHER, T, 0),
         OP(HONEST, W2, 0), OP(OTHER, T, 0));
    /* Raw bytes: as a bundle (a truncated tag), and as one set (an empty array). */
    SEED("raw-bundle", OP(RAW, 0, 0), 0, 0, 5, 0x92, 0xb1, 'm', 'e', 's', OP(OTHER, T, 0));
    SEED("raw-set", OP(RAW, 0, 0), 1, 0, 1, 0x90);
    /* One byte of W1's export changed, committed beside an honest one of W2's. */
    SEED("mutated-export", OP(WRITE, W1, 0), TXN(0, 1), 0x20, 'v', OP(WRITE, W2, 0), TXN(0, 1),
         0x20, 'w', OP(OTHER, W1, 2), 0, 40, 0x10, OP(HONEST, W2, 0), OP(OTHER, T, 0));
    /* Sets alone, before what their contexts name: W1's overwrite of W2's key (pick 0 or
     * 1: one of them is W1's set), then W2's export; T must end where the exports take it. */
    SEED("alone-before-context-0", OP(WRITE, W2, 0), TXN(0, 1), 0x20, 'w', OP(TAKE, W1, W2),
         OP(WRITE, W1, 0), TXN(0, 1), 0x20, 'v', OP(ALONE, W1, 0), 0, OP(OTHER, T, 1),
         OP(HONEST, W2, 0), OP(OTHER, T, 0));
    SEED("alone-before-context-1", OP(WRITE, W2, 0), TXN(0, 1), 0x20, 'w', OP(TAKE, W1, W2),
         OP(WRITE, W1, 0), TXN(0, 1), 0x20, 'v', OP(ALONE, W1, 0), 1, OP(OTHER, T, 0),
         OP(HONEST, W2, 0), OP(OTHER, T, 0));
    /* A chain over three devices (W2, W1, W2 again overwrite one key, each context naming
     * the last), sent alone newest first, one by one, then in one commit. */
    SEED("alone-chain", OP(WRITE, W2, 0), TXN(0, 2), 0x20, 'w', 0x01, OP(TAKE, W1, W2),
         OP(WRITE, W1, 0), TXN(0, 1), 0x20, 'v', OP(TAKE, W2, W1), OP(WRITE, W2, 0), TXN(0, 1),
         0x20, 'x', OP(ALONE, W2, 0), 2, OP(OTHER, T, 1), OP(ALONE, W2, 0), 1, OP(OTHER, T, 1),
         OP(ALONE, W2, 0), 0, OP(OTHER, T, 1));
    SEED("alone-chain-one-commit", OP(WRITE, W2, 0), TXN(0, 1), 0x20, 'w', OP(TAKE, W1, W2),
         OP(WRITE, W1, 0), TXN(0, 1), 0x20, 'v', OP(TAKE, W2, W1), OP(WRITE, W2, 0), TXN(0, 1),
         0x20, 'x', OP(ALONE, W2, 0), 2, OP(ALONE, W2, 0), 1, OP(ALONE, W2, 0), 0, OP(OTHER, T, 0));
    /* A stranger's set alone (held), then W1 adds S and T gets W1's _mesh sets alone. */
    SEED("alone-stranger-add-records", OP(WRITE, S, 0), TXN(0, 1), 0x20, 's', OP(ALONE, S, 0), 0,
         OP(OTHER, T, 0), OP(ADD, W1, S), OP(ALONE, W1, 0), 0x80, OP(ALONE, W1, 0), 0x81,
         OP(ALONE, W1, 0), 0x82, OP(ALONE, W1, 0), 0x83, OP(OTHER, T, 0), OP(ALONE, W1, 0), 0x84,
         OP(OTHER, T, 1));
    /* Forks: W1's second set re-signed by W1 with its first seq moved back over the first
     * set (an overlapping header), reaching T before the honest sets, then after them; and
     * the same dots with another value, applied alone. */
    SEED("fork-overlap-first", OP(WRITE, W1, 0), TXN(0, 1), 0x20, 'v', OP(WRITE, W1, 0), TXN(0, 2),
         0x21, 'w', 0x22, 'x', OP(FORGE, 0, 0), W1 | W1 << 2, 1, 0, 0x85, 0, 1, 0, OP(OTHER, T, 0),
         OP(HONEST, W1, 0), OP(OTHER, T, 0));
    SEED("fork-overlap-after", OP(WRITE, W1, 0), TXN(0, 1), 0x20, 'v', OP(WRITE, W1, 0), TXN(0, 2),
         0x21, 'w', 0x22, 'x', OP(HONEST, W1, 0), OP(OTHER, T, 0), OP(FORGE, 0, 0), W1 | W1 << 2, 1,
         1, 0x85, 0, 1, 0, OP(OTHER, T, 1), OP(WRITE, W1, 0), TXN(0, 1), 0x21, 'y',
         OP(HONEST, W1, 1), OP(OTHER, T, 0));
    SEED("fork-same-dot-alone", OP(WRITE, W1, 0), TXN(0, 1), 0x20, 'v', OP(HONEST, W1, 0),
         OP(OTHER, T, 0), OP(FORGE, 0, 0), W1 | W1 << 2 | 0x40, 0, 0, 0x83, 0, 3, 0,
         OP(FORGE, 0, 0), W1 | W1 << 2, 0, 0, 0x03, 0, 5, 0, OP(OTHER, T, 0));
    /* Watermarks for a real incarnation: W1's seq 1 exactly (held), W2's seq 2 (not held),
     * W2's seq 1 before W2's set arrives, then W2's export. */
    SEED("mark-exact", OP(WRITE, W1, 0), TXN(0, 1), 0x20, 'v', OP(HONEST, W1, 0), OP(OTHER, T, 0),
         OP(FORGE, 0, 0), W1 | W1 << 2, 0, 0, 1, 0, 0, MARK(W1, 1), OP(OTHER, T, 0));
    SEED("mark-not-held", OP(WRITE, W1, 0), TXN(0, 1), 0x20, 'v', OP(WRITE, W2, 0), TXN(0, 1), 0x20,
         'w', OP(WRITE, W2, 0), TXN(1, 1), 0x20, 'x', OP(FORGE, 0, 0), W1 | W1 << 2, 0, 0, 1, 0, 0,
         MARK(W2, 2), OP(OTHER, T, 0), OP(HONEST, W2, 1), OP(OTHER, T, 0));
    SEED("mark-then-set", OP(WRITE, W2, 0), TXN(0, 1), 0x20, 'w', OP(TAKE, W1, W2),
         OP(WRITE, W1, 0), TXN(0, 1), 0x20, 'v', OP(FORGE, 0, 0), W1 | W1 << 2, 0, 0, 3, 0, 2,
         MARK(W2, 1), OP(OTHER, T, 0), OP(ALONE, W2, 0), 0, OP(OTHER, T, 0), OP(HONEST, W2, 0),
         OP(OTHER, T, 1));
    /* A context claiming a dot of another origin far ahead (W2's seq + 9), signed by W1. */
    SEED("forge-context-other-origin", OP(WRITE, W2, 0), TXN(0, 1), 0x20, 'w', OP(TAKE, W1, W2),
         OP(WRITE, W1, 0), TXN(0, 1), 0x20, 'v', OP(FORGE, 0, 0), W1 | W1 << 2, 0, 0, 0, 0, 9, 0,
         OP(FORGE, 0, 0), W1 | W1 << 2, 0, 0, 0, 0, 10, 0, OP(OTHER, T, 0), OP(HONEST, W2, 0),
         OP(OTHER, T, 0), OP(WRITE, W2, 0), TXN(0, 1), 0x20, 'z', OP(HONEST, W2, 1),
         OP(OTHER, T, 0));
    return 0;
}
