/* tests/fuzz/gen_corpus_session.c: writes the seed corpus of fuzz_session into a directory:
 * one script per path of the session (see tests/fuzz/fuzz_session.c for the commands): a
 * HELLO, a batch and its commit, T's pass and P's acks under a credit of one, a restart, a
 * HELLO that covers, another major version, frames before HELLO, a mutated batch, a batch
 * since T's vector, ERRORs, silence, block messages and raw frames; contexts across the two
 * (each overwriting the other), batches queued unflushed whose contexts name each other's
 * dots, a long value mutated; of minor version 2, compact batches (whole and mutated) and a
 * HELLO that names the state both held.
 * Not built by the Makefile; run by hand after the script's layout changes, from the top:
 *   cc -std=c11 tests/fuzz/gen_corpus_session.c -o build/gen_corpus_session && \
 *     build/gen_corpus_session tests/fuzz/corpus/session
 * Layer: tests. Third-party: none. SPDX-License-Identifier: MIT */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The harness's commands (fuzz_session.c). A frame P sends: a byte below 0x80 whose value
 * modulo 6 is the kind, then the kind's own bytes. */
enum { HELLO = 0x00, VECTOR = 0x01, BATCH = 0x02, ACK = 0x03, MISC = 0x04, RAW = 0x05 };
enum {
    P_WRITE = 0x80,
    P_TAKE = 0xa0,
    TICK = 0xb0,
    FLUSH_GROUP = 0xc0,
    FLUSH = 0xc1,
    T_WRITE = 0xd0,
    PUSH = 0xe0
};
/* HELLO's byte: 0x40 another major, 0x20 covers, 0x10 with a vector (0x08: T's), session id
 * in bits 2-3, 0x80 a summary not T's; then the credit. */
#define H_VEC           0x10
#define H_COVERS        0x20
#define H_SID(n)        ((n) << 2)
/* A write (rig_write): the collection, 1..4 ops; each op's byte as in gen_corpus_apply.c. */
#define TXN(coll, nops) ((uint8_t)((coll) | ((nops)-1) << 4))
/* MISC's byte (modulo 6): PING, PONG, SUMMARY, ERROR, BLOCK_REQ, BLOCK. */
enum { M_PING, M_PONG, M_SUMMARY, M_ERROR, M_BLOCK_REQ, M_BLOCK };
#define E_NOTFOUND 5 /* MESH_ENOTFOUND */

static const char *s_dir;

static void
s_write(const char *name, const uint8_t *p, size_t len)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", s_dir, name);
    FILE *f = fopen(path, "wb");
    if (f == NULL || fwrite(p, 1, len, f) != len || fclose(f) != 0) {
        fprintf(stderr, "gen_corpus_session: %s\n", path);
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
    SEED("hello-batch-ack", P_WRITE, TXN(0, 1), 0x20, 'v', HELLO, H_VEC, 48, BATCH, 0, 1, FLUSH,
         T_WRITE, TXN(1, 1), 0x20, 't', PUSH, ACK, 1, TICK, 0, 250, FLUSH_GROUP);
    SEED("credit-one-pass", T_WRITE, TXN(0, 1), 0x20, 'a', T_WRITE, TXN(1, 1), 0x20, 'b', T_WRITE,
         TXN(2, 1), 0x03, HELLO, H_VEC, 0, PUSH, ACK, 1, PUSH, ACK, 1, PUSH, ACK, 1, ACK, 2, ACK, 0,
         PUSH);
    SEED("hello-restart", HELLO, H_VEC, 48, HELLO, H_VEC | H_SID(1), 48, HELLO, H_COVERS, 48, HELLO,
         H_SID(2) | 0x08 | H_VEC, 1);
    SEED("hello-other-major", HELLO, 0x40, 48, BATCH, 0, 1, TICK, 0xff, 0xff, HELLO, H_VEC, 48);
    SEED("frames-before-hello", P_WRITE, TXN(0, 1), 0x20, 'v', BATCH, 0, 1, ACK, 1, MISC, M_SUMMARY,
         0, VECTOR, 1, HELLO, 0, 48, VECTOR, 0x05);
    SEED("batch-mutated", P_WRITE, TXN(0, 2), 0x20, 'v', 0x21, 'w', HELLO, H_VEC, 48, BATCH, 2,
         0x00, 0x30, 0x10, 1, BATCH, 0, 2, FLUSH, HELLO, H_VEC | H_SID(1), 48);
    SEED("batch-since-t", HELLO, H_VEC, 48, T_WRITE, TXN(0, 1), 0x20, 't', PUSH, ACK, 1, P_TAKE,
         P_WRITE, TXN(0, 1), 0x20, 'p', MISC, M_SUMMARY | 0x80, 0, BATCH, 1, 1, BATCH, 5, 2,
         FLUSH_GROUP, TICK, 0x01, 0x00, FLUSH, MISC, M_PING, 7, 0);
    SEED("errors", HELLO, H_VEC, 48, MISC, M_ERROR, E_NOTFOUND, 2, 'n', 'o', PUSH, HELLO, H_VEC, 48,
         MISC, M_ERROR, 6, 3, 0x1b, '[', 'm', TICK, 0xff, 0xff);
    SEED("silence", HELLO, H_VEC, 48, P_WRITE, TXN(0, 1), 0x20, 'v', BATCH, 0, 1, TICK, 0x10, 0x00,
         BATCH, 0, 2, FLUSH, TICK, 0x20, 0x00);
    SEED("block-messages", HELLO, H_VEC, 48, MISC, M_BLOCK_REQ, 1, 3, 'a', 'b', 'c', MISC, M_BLOCK,
         2, 0, MISC, M_PONG, 3, 0);
    SEED("raw-frames", RAW, 0, 0, 1, 0xc1, HELLO, H_VEC, 48, RAW, 0, 0, 3, 0x93, 0x05, 0x00, RAW, 0,
         0, 0);
    SEED("vector-raw", HELLO, 0, 48, VECTOR, 0x03, 4, 0x92, 0xa1, 'x', 0x90, PUSH);
    /* Contexts across the two: P overwrites T's key after taking T's export (its context
     * names T's dot), T deletes it again (naming P's), each side's batch in turn. */
    SEED("overwrite-each-other", T_WRITE, TXN(0, 1), 0x20, 't', HELLO, H_VEC, 48, PUSH, ACK, 1,
         P_TAKE, P_WRITE, TXN(0, 1), 0x20, 'p', BATCH, 1, 1, FLUSH, T_WRITE, TXN(0, 1), 0x80, PUSH,
         ACK, 1, P_TAKE, P_WRITE, TXN(0, 1), 0x20, 'q', BATCH, 1, 2, FLUSH_GROUP, FLUSH, PUSH);
    /* Two batches queued before a commit, the second's contexts naming the first's dots,
     * and the second sent again (since T's vector) after a restart. */
    SEED("batches-unflushed", HELLO, H_VEC, 48, P_WRITE, TXN(0, 1), 0x20, 'a', BATCH, 0, 1, P_WRITE,
         TXN(0, 2), 0x20, 'b', 0x21, 'c', BATCH, 4, 2, P_WRITE, TXN(1, 1), 0x20, 'd', BATCH, 0, 3,
         FLUSH_GROUP, HELLO, H_VEC | H_SID(1), 48, BATCH, 1, 1, FLUSH);
    /* A batch with a long value and a delete, mutated in its last bytes, then whole. */
    SEED("batch-long-mutated", HELLO, H_VEC, 48, P_WRITE, TXN(2, 2), 0x64, 0x81, BATCH, 2, 0xff,
         0xf0, 0x40, 1, BATCH, 0, 2, FLUSH, PUSH, ACK, 1);
    /* Minor version 2 (HELLO byte 0x01): a compact batch (BATCH byte 0x08) and T's own pushed
     * compact, a compact batch mutated (0x0a), and a HELLO without a vector that names, by
     * T's old summary, the state both held (T wrote since). */
    SEED("cbatch", P_WRITE, TXN(0, 1), 0x20, 'v', HELLO, H_VEC | 0x01, 48, BATCH, 0x08, 1, FLUSH,
         T_WRITE, TXN(1, 1), 0x20, 't', PUSH, ACK, 1, TICK, 0, 250, FLUSH_GROUP);
    SEED("cbatch-mutated", P_WRITE, TXN(0, 2), 0x20, 'v', 0x21, 'w', HELLO, H_VEC | 0x01, 48, BATCH,
         0x0a, 0x00, 0x30, 0x10, 1, BATCH, 0x0a, 0x00, 0x05, 0x01, 2, BATCH, 0x08, 3, FLUSH);
    SEED("hello-names-agreed", HELLO, H_VEC | 0x01, 48, HELLO, 0x01 | H_SID(1), 48, T_WRITE,
         TXN(0, 1), 0x20, 't', HELLO, 0x01 | H_SID(2), 48, PUSH, ACK, 1, FLUSH);
    return 0;
}
