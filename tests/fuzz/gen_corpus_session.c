/* tests/fuzz/gen_corpus_session.c: writes the seed corpus of fuzz_session into a directory:
 * one script per path of the session (see tests/fuzz/fuzz_session.c for the commands): a
 * HELLO, a batch and its commit, T's pass and P's acks under a credit of one, a restart, a
 * HELLO that covers, another major version, frames before HELLO, a mutated batch, a batch
 * since T's vector, ERRORs, silence, block messages and raw frames; contexts across the two
 * (each overwriting the other), batches queued unflushed whose contexts name each other's
 * dots, a long value mutated; the slow path (§13): a full repair started by either side, one
 * over several rounds and REPAIRs, a second start inside the rate window, mutated RANGE and
 * REPAIR frames; of minor version 2, compact batches (whole and mutated) and a HELLO that
 * names the state both held.
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
/* A write (rig_write): the collection (the byte modulo 3), 1..4 ops (bits 4-5); each op's
 * byte as in gen_corpus_apply.c. */
#define TXN(coll, nops) ((uint8_t)(((nops)-1) << 4 | ((coll) + 6 - ((nops)-1)) % 3))
/* An op's byte: a put of the two-letter key ('a' + i, 'a' + j), empty value; or a delete. */
#define KEY2(i, j)      ((uint8_t)(0x10 | (i) | (j) << 3))
#define DEL             0x80
/* The slow path, P's side (fuzz_session.c's s_cmd_slow); each then its byte b:
 * S_START b [id-1 unless b & 4] key: a RANGE starting a repair of collection b % 4 (3:
 *   _mesh), P's digest (b & 8: not P's); b & 4: P's last id (the next collection of it)
 * S_ANSWER b: recon_answer of T's last RANGE (b & 1: sent even when it asks nothing)
 * S_REPAIR b limit/64 [at (2) xor, with b & 2]: the versions P found, in pieces
 * S_RANGE_BAD b [len bytes, with b & 1] | [at (2) xor]: P's last list with a byte changed
 * S_EMPTY b: an empty list to T's last RANGE (b & 1: to P's repair)
 * S_TAKE b: P applies T's last REPAIR;  S_FORGET b;  S_REPAIR_RAW b len (2) bytes */
enum { S_START = 0x60, S_ANSWER, S_REPAIR, S_RANGE_BAD, S_EMPTY, S_TAKE, S_FORGET, S_REPAIR_RAW };
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
    /* The slow path (PROTOCOL §13). P starts a repair of "notes" where each side holds an
     * item the other lacks: T answers with its ids and sends its version, P answers and
     * sends its own, applies T's; both end with the same digest. */
    SEED("repair-p-starts", P_WRITE, TXN(0, 1), 0x20, 'p', T_WRITE, TXN(0, 1), 0x21, 't', HELLO,
         H_VEC, 48, S_START, 0, 7, 0x11, S_ANSWER, 0, S_ANSWER, 0, S_REPAIR, 0, 0xff, S_ANSWER, 0,
         S_TAKE, 0, FLUSH);
    /* 20 items in common, then two changes on each side: fingerprinted ranges split over a
     * few rounds, P's versions in four REPAIRs of about 64 bytes (more = 1, 1, 1, 0). */
    SEED("repair-rounds", P_WRITE, TXN(0, 4), KEY2(0, 0), KEY2(1, 0), KEY2(2, 0), KEY2(3, 0),
         P_WRITE, TXN(0, 4), KEY2(4, 0), KEY2(5, 0), KEY2(6, 0), KEY2(7, 0), P_WRITE, TXN(0, 4),
         KEY2(0, 1), KEY2(1, 1), KEY2(2, 1), KEY2(3, 1), P_WRITE, TXN(0, 4), KEY2(4, 1), KEY2(5, 1),
         KEY2(6, 1), KEY2(7, 1), P_WRITE, TXN(0, 4), 0, 1, 2, 3, HELLO, H_VEC, 48, BATCH, 0, 1,
         FLUSH, P_WRITE, TXN(0, 2), 0x20, 'x', KEY2(2, 1) | DEL, T_WRITE, TXN(0, 2), 0x21, 'y',
         KEY2(5, 0) | DEL, S_START, 0, 9, 0x33, S_ANSWER, 0, S_ANSWER, 0, S_ANSWER, 0, S_REPAIR, 0,
         1, S_REPAIR, 0, 1, S_REPAIR, 0, 1, S_REPAIR, 0, 0xff, S_TAKE, 0, FLUSH);
    /* T starts: P claims T's vector in a HELLO whose summary is not T's (equal vectors,
     * unequal summaries), T goes through its collections (_mesh, notes), P answers each. */
    SEED("repair-t-starts", T_WRITE, TXN(0, 1), 0x20, 't', P_WRITE, TXN(1, 1), 0x20, 'p', HELLO,
         H_VEC, 48, HELLO, 0x80 | H_VEC | 0x08 | 0x01, 48, S_ANSWER, 0, S_ANSWER, 0, S_REPAIR, 0,
         0xff, S_TAKE, 0, S_ANSWER, 0, S_ANSWER, 0, S_REPAIR, 0, 0xff, S_TAKE, 0, S_ANSWER, 0,
         S_ANSWER, 0, S_REPAIR, 0, 0xff, S_TAKE, 0, FLUSH);
    /* The rate window (repair.c's s_may_answer): id 8 "notes" (equal), id 8 "todo" (the next
     * collection of that repair: answered, a full exchange), id 8 "notes" again (out of
     * order) and id 10 (a second start too soon): both refused. */
    SEED("repair-second-start", P_WRITE, TXN(1, 1), 0x20, 'p', HELLO, H_VEC, 48, S_START, 0, 7,
         0x11, S_START, 5, 0x13, S_ANSWER, 0, S_REPAIR, 0, 0xff, S_TAKE, 0, S_START, 4, 0x14,
         S_START, 1, 9, 0x12, FLUSH);
    /* Bad slow-path frames, each after a HELLO: a REPAIR with a byte changed, a start's list
     * with a byte changed, a REPAIR of raw bytes, a start with a digest not P's then an
     * empty list, an answer after P forgot its repair. */
    SEED("repair-mutated", P_WRITE, TXN(0, 2), 0x20, 'p', 0x21, 'q', T_WRITE, TXN(0, 1), 0x20, 't',
         HELLO, H_VEC, 48, S_START, 0, 7, 0x11, S_ANSWER, 1, S_REPAIR, 2, 0xff, 0, 40, 0x10, HELLO,
         H_VEC | H_SID(1), 48, S_START, 2, 8, 0x12, S_RANGE_BAD, 0, 0, 2, 0x20, HELLO,
         H_VEC | H_SID(2), 48, S_START, 2, 9, 0x13, S_REPAIR_RAW, 0, 0, 3, 0x93, 0x01, 0x02, HELLO,
         H_VEC, 48, S_START, 0x08, 10, 0x16, S_EMPTY, 0, S_FORGET, 0, S_ANSWER, 0, FLUSH);
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
