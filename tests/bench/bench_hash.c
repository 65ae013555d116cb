/* tests/bench/bench_hash.c: CPU nanoseconds per BLAKE2b-256 of the short messages a receiver
 * checks per op (a 100-byte value, ~90 bytes of op metadata, a Merkle pair of 64 bytes), one
 * at a time through libsodium (hash_tagged) beside 4 at a time (crypto/hash4), and per leaf
 * of a Merkle root of 65,536 leaves (a full set's most). Process CPU time, best of 5 runs.
 * Prints figures only: no pass or fail.
 * Layer: tests. Third-party: none. SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto/hash.h"
#include "crypto/hash4.h"
#include "crypto/ident.h"

#define S_MSGS   4096u  /* messages per pass */
#define S_PASSES 50u    /* passes per run */
#define S_RUNS   5u     /* runs: the best is printed */
#define S_LEAVES 65536u /* leaves of the root timed */

static double
s_cpu(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* Best ns per message of S_MSGS messages of len bytes: one at a time, or through hash4. */
static double
s_time(const uint8_t (*data)[128], size_t len, int batched, uint8_t (*outs)[HASH_LEN])
{
    static const uint8_t *msgs[S_MSGS];
    static size_t lens[S_MSGS];
    double best = 1e9;
    for (size_t i = 0; i < S_MSGS; i++) {
        msgs[i] = data[i];
        lens[i] = len;
    }
    for (unsigned run = 0; run < S_RUNS; run++) {
        double t = s_cpu();
        for (unsigned p = 0; p < S_PASSES; p++) {
            if (batched) {
                hash4_tagged(HASH_TAG_VALUE, msgs, lens, S_MSGS, outs);
            } else {
                for (size_t i = 0; i < S_MSGS; i++) {
                    hash_tagged(HASH_TAG_VALUE, data[i], len, outs[i]);
                }
            }
        }
        double ns = (s_cpu() - t) / (S_MSGS * S_PASSES) * 1e9;
        best = ns < best ? ns : best;
    }
    return best;
}

int
main(void)
{
    static uint8_t data[S_MSGS][128];
    static uint8_t outs[S_MSGS][HASH_LEN];
    static uint8_t leaves[S_LEAVES][HASH_LEN];
    static const size_t lens[] = {100, 90, 64, 127};
    uint8_t root[HASH_LEN];
    if (ident_lib_init() != MESH_OK) {
        return 1;
    }
    ident_random(data, sizeof data);
    ident_random(leaves, sizeof leaves);
    printf("BLAKE2b-256 of tag || msg, CPU ns per message (best of %u runs of %u x %u)\n",
           S_RUNS, S_PASSES, S_MSGS);
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        double one = s_time((const uint8_t(*)[128])data, lens[i], 0, outs);
        double four = s_time((const uint8_t(*)[128])data, lens[i], 1, outs);
        printf("  %3zu bytes: libsodium one at a time %.1f ns, hash4 %.1f ns (x%.2f)\n", lens[i],
               one, four, one / four);
    }
    double best = 1e9;
    for (unsigned run = 0; run < S_RUNS; run++) {
        double t = s_cpu();
        hash_merkle_root((const uint8_t(*)[HASH_LEN])leaves, S_LEAVES, root);
        double ns = (s_cpu() - t) / S_LEAVES * 1e9;
        best = ns < best ? ns : best;
    }
    printf("  Merkle root of %u leaves: %.1f ns per leaf\n", S_LEAVES, best);
    return 0;
}
