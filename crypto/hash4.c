/* crypto/hash4.c: BLAKE2b-256 of up to 4 messages at once, one per 64-bit lane of an AVX2
 * register (RFC 7693: the IV, the sigma permutations, G, the last-block flag and the byte
 * counter): one-block messages in batches, longer ones block by block in lanes that each
 * take the next message as theirs ends (4 in an AVX2 register, 8 in an AVX-512 one);
 * libsodium per message without AVX2.
 * Owns: the lanes, the block padding and the runtime choice of AVX2 (and for the long
 * messages' lanes, of AVX-512: 8 lanes, or 4 with AVX-512VL's rotations).
 * Layer: crypto. Third-party: sodium.h. SPDX-License-Identifier: MIT */
#include "hash4.h"

#include <sodium.h>

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define S_BLOCK     128u /* a BLAKE2b block: tag and message must fit in one */
#define S_LANES     4u   /* a batch's, and the long messages' in an AVX2 register */
#define S_LANES_MAX 8u   /* the long messages' in an AVX-512 register */

#if defined(__x86_64__) && defined(__GNUC__)
#define S_HAVE_AVX2 1
#include <immintrin.h>
#else
#define S_HAVE_AVX2 0
#endif

/* One batch: up to 4 blocks, each padded with zeros, and each one's byte count. */
typedef struct s_batch {
    uint8_t blk[S_LANES][S_BLOCK];
    uint64_t count[S_LANES];
    uint8_t *out[S_LANES];
    size_t lanes;
} s_batch_t;

#if S_HAVE_AVX2
/* RFC 7693 §2.6: the IV (SHA-512's). */
static const uint64_t s_iv[8] = {
    0x6a09e667f3bcc908ull, 0xbb67ae8584caa73bull, 0x3c6ef372fe94f82bull, 0xa54ff53a5f1d36f1ull,
    0x510e527fade682d1ull, 0x9b05688c2b3e6c1full, 0x1f83d9abfb41bd6bull, 0x5be0cd19137e2179ull};

/* RFC 7693 §2.7: the message word order of each round; rounds 10 and 11 reuse rows 0, 1. */
static const uint8_t s_sigma[10][16] = {{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15},
                                        {14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3},
                                        {11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4},
                                        {7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8},
                                        {9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13},
                                        {2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9},
                                        {12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11},
                                        {13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10},
                                        {6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5},
                                        {10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0}};

/* The parameter block's first word for an unkeyed 32-byte digest: depth 1, fanout 1. */
#define S_PARAM0 0x01010020ull

#define S_AVX2    __attribute__((target("avx2")))
#define S_AVX512  __attribute__((target("avx2,avx512f,avx512vl")))
#define S_AVX512F __attribute__((target("avx2,avx512f")))

static S_AVX2 inline __m256i
s_rotr32(__m256i x)
{
    return _mm256_shuffle_epi32(x, _MM_SHUFFLE(2, 3, 0, 1));
}

static S_AVX2 inline __m256i
s_rotr24(__m256i x)
{
    const __m256i rot = _mm256_setr_epi8(3, 4, 5, 6, 7, 0, 1, 2, 11, 12, 13, 14, 15, 8, 9, 10, 3, 4,
                                         5, 6, 7, 0, 1, 2, 11, 12, 13, 14, 15, 8, 9, 10);
    return _mm256_shuffle_epi8(x, rot);
}

static S_AVX2 inline __m256i
s_rotr16(__m256i x)
{
    const __m256i rot = _mm256_setr_epi8(2, 3, 4, 5, 6, 7, 0, 1, 10, 11, 12, 13, 14, 15, 8, 9, 2, 3,
                                         4, 5, 6, 7, 0, 1, 10, 11, 12, 13, 14, 15, 8, 9);
    return _mm256_shuffle_epi8(x, rot);
}

static S_AVX2 inline __m256i
s_rotr63(__m256i x)
{
    return _mm256_or_si256(_mm256_srli_epi64(x, 63), _mm256_add_epi64(x, x));
}

/* RFC 7693 §3.1: the mixing function G on four lanes at once. */
static S_AVX2 inline void
s_g(__m256i *v, int a, int b, int c, int d, __m256i x, __m256i y)
{
    v[a] = _mm256_add_epi64(_mm256_add_epi64(v[a], v[b]), x);
    v[d] = s_rotr32(_mm256_xor_si256(v[d], v[a]));
    v[c] = _mm256_add_epi64(v[c], v[d]);
    v[b] = s_rotr24(_mm256_xor_si256(v[b], v[c]));
    v[a] = _mm256_add_epi64(_mm256_add_epi64(v[a], v[b]), y);
    v[d] = s_rotr16(_mm256_xor_si256(v[d], v[a]));
    v[c] = _mm256_add_epi64(v[c], v[d]);
    v[b] = s_rotr63(_mm256_xor_si256(v[b], v[c]));
}

/* Word w of each lane's block, lane k in 64-bit element k (the blocks are little endian, as
 * is x86): a 4 x 4 transpose of each lane's words 4 at a time. */
static S_AVX2 inline __attribute__((always_inline)) void
s_words(const uint8_t *const blk[S_LANES], __m256i *m)
{
    for (int w = 0; w < 16; w += 4) {
        __m256i r0 = _mm256_loadu_si256((const __m256i *)(const void *)(blk[0] + 8 * w));
        __m256i r1 = _mm256_loadu_si256((const __m256i *)(const void *)(blk[1] + 8 * w));
        __m256i r2 = _mm256_loadu_si256((const __m256i *)(const void *)(blk[2] + 8 * w));
        __m256i r3 = _mm256_loadu_si256((const __m256i *)(const void *)(blk[3] + 8 * w));
        __m256i lo01 = _mm256_unpacklo_epi64(r0, r1); /* words w, w + 2 of lanes 0, 1 */
        __m256i hi01 = _mm256_unpackhi_epi64(r0, r1); /* words w + 1, w + 3 */
        __m256i lo23 = _mm256_unpacklo_epi64(r2, r3);
        __m256i hi23 = _mm256_unpackhi_epi64(r2, r3);
        m[w] = _mm256_permute2x128_si256(lo01, lo23, 0x20);
        m[w + 1] = _mm256_permute2x128_si256(hi01, hi23, 0x20);
        m[w + 2] = _mm256_permute2x128_si256(lo01, lo23, 0x31);
        m[w + 3] = _mm256_permute2x128_si256(hi01, hi23, 0x31);
    }
}

/* RFC 7693 §3.2's 12 rounds of F on the working vector v with the message words m, G being
 * g: the one schedule of columns and diagonals, for each register width and G below. */
#define S_ROUNDS(g, v, m)                                                                          \
    for (int r = 0; r < 12; r++) {                                                                 \
        const uint8_t *s = s_sigma[r % 10];                                                        \
        g(v, 0, 4, 8, 12, m[s[0]], m[s[1]]);                                                       \
        g(v, 1, 5, 9, 13, m[s[2]], m[s[3]]);                                                       \
        g(v, 2, 6, 10, 14, m[s[4]], m[s[5]]);                                                      \
        g(v, 3, 7, 11, 15, m[s[6]], m[s[7]]);                                                      \
        g(v, 0, 5, 10, 15, m[s[8]], m[s[9]]);                                                      \
        g(v, 1, 6, 11, 12, m[s[10]], m[s[11]]);                                                    \
        g(v, 2, 7, 8, 13, m[s[12]], m[s[13]]);                                                     \
        g(v, 3, 4, 9, 14, m[s[14]], m[s[15]]);                                                     \
    }

/* RFC 7693 §3.2's 12 rounds of F on v with the message words m (inlined into each
 * compression: a call would keep v and m in memory). */
static S_AVX2 inline __attribute__((always_inline)) void
s_rounds(__m256i *v, const __m256i *m)
{
    S_ROUNDS(s_g, v, m);
}

/* RFC 7693 §3.2 for a single, last block per lane: h = IV ^ parameters, then F with the
 * counter t = the lane's byte count and the last-block flag; writes each lane's digest. */
static S_AVX2 void
s_compress4(s_batch_t *b)
{
    __m256i m[16], v[16];
    const uint8_t *blk[S_LANES] = {b->blk[0], b->blk[1], b->blk[2], b->blk[3]};
    s_words(blk, m);
    for (int i = 0; i < 8; i++) {
        v[i] = _mm256_set1_epi64x((long long)(s_iv[i] ^ (i == 0 ? S_PARAM0 : 0)));
        v[i + 8] = _mm256_set1_epi64x((long long)s_iv[i]);
    }
    v[12] = _mm256_xor_si256(v[12], _mm256_loadu_si256((const __m256i *)(const void *)b->count));
    v[14] = _mm256_xor_si256(v[14], _mm256_set1_epi64x(-1));
    s_rounds(v, m);
    uint64_t h[4][S_LANES]; /* h[word][lane] */
    for (int i = 0; i < 4; i++) {
        __m256i h0 = _mm256_set1_epi64x((long long)(s_iv[i] ^ (i == 0 ? S_PARAM0 : 0)));
        __m256i x = _mm256_xor_si256(h0, _mm256_xor_si256(v[i], v[i + 8]));
        _mm256_storeu_si256((__m256i *)(void *)h[i], x);
    }
    for (size_t k = 0; k < b->lanes; k++) {
        for (int i = 0; i < 4; i++) {
            memcpy(b->out[k] + 8 * i, &h[i][k], 8);
        }
    }
}

/* Long messages, one per lane, a 128-byte block of each per compression: a lane whose
 * message ends takes the next one (lanes with none left run on an idle block, ignored). */
typedef struct s_lanes {
    uint64_t h[8][S_LANES_MAX];        /* each lane's chained state, word by word */
    uint64_t t[S_LANES_MAX];           /* the byte counter after this block */
    uint64_t f[S_LANES_MAX];           /* the last-block flag (all ones on a message's last) */
    const uint8_t *blk[S_LANES_MAX];   /* this block of each lane */
    uint8_t pad[S_LANES_MAX][S_BLOCK]; /* a lane's first block (the tag in front) or its last */
    const uint8_t *msg[S_LANES_MAX];
    uint64_t total[S_LANES_MAX]; /* bytes hashed: the tag and the message */
    uint64_t done[S_LANES_MAX];  /* of those, compressed */
    uint8_t *out[S_LANES_MAX];   /* NULL: the lane is idle */
    size_t nl;                   /* lanes: 4 (an AVX2 register) or 8 (an AVX-512 one) */
    uint8_t tag;
} s_lanes_t;

/* RFC 7693 §3.2 before the rounds: each lane's message words m, and v from its state h
 * (kept in h), counter t and flag f. */
static S_AVX2 inline void
s_lanes_in(const s_lanes_t *L, __m256i *m, __m256i *v, __m256i *h)
{
    s_words(L->blk, m);
    for (int i = 0; i < 8; i++) {
        h[i] = _mm256_loadu_si256((const __m256i *)(const void *)L->h[i]);
        v[i] = h[i];
        v[i + 8] = _mm256_set1_epi64x((long long)s_iv[i]);
    }
    v[12] = _mm256_xor_si256(v[12], _mm256_loadu_si256((const __m256i *)(const void *)L->t));
    v[14] = _mm256_xor_si256(v[14], _mm256_loadu_si256((const __m256i *)(const void *)L->f));
}

/* And after them: each lane's new state. */
static S_AVX2 inline void
s_lanes_out(s_lanes_t *L, const __m256i *v, const __m256i *h)
{
    for (int i = 0; i < 8; i++) {
        __m256i x = _mm256_xor_si256(h[i], _mm256_xor_si256(v[i], v[i + 8]));
        _mm256_storeu_si256((__m256i *)(void *)L->h[i], x);
    }
}

/* RFC 7693 §3.2: F on each lane's state h with its block, counter t and flag f. */
static S_AVX2 void
s_compress_lanes(s_lanes_t *L)
{
    __m256i m[16], v[16], h[8];
    s_lanes_in(L, m, v, h);
    s_rounds(v, m);
    s_lanes_out(L, v, h);
}

/* s_g with AVX-512VL's rotations: one instruction each (AVX2 shuffles bytes, and shifts
 * twice and ors for the 63-bit one): about a quarter faster. */
static S_AVX512 inline void
s_g_vl(__m256i *v, int a, int b, int c, int d, __m256i x, __m256i y)
{
    v[a] = _mm256_add_epi64(_mm256_add_epi64(v[a], v[b]), x);
    v[d] = _mm256_ror_epi64(_mm256_xor_si256(v[d], v[a]), 32);
    v[c] = _mm256_add_epi64(v[c], v[d]);
    v[b] = _mm256_ror_epi64(_mm256_xor_si256(v[b], v[c]), 24);
    v[a] = _mm256_add_epi64(_mm256_add_epi64(v[a], v[b]), y);
    v[d] = _mm256_ror_epi64(_mm256_xor_si256(v[d], v[a]), 16);
    v[c] = _mm256_add_epi64(v[c], v[d]);
    v[b] = _mm256_ror_epi64(_mm256_xor_si256(v[b], v[c]), 63);
}

/* s_compress_lanes with s_g_vl. */
static S_AVX512 void
s_compress_lanes_vl(s_lanes_t *L)
{
    __m256i m[16], v[16], h[8];
    s_lanes_in(L, m, v, h);
    S_ROUNDS(s_g_vl, v, m);
    s_lanes_out(L, v, h);
}

/* Word w of each of 8 lanes' blocks, lane k in 64-bit element k: an 8 x 8 transpose of
 * each lane's words 8 at a time (pairs of words, then of pairs, then of fours). */
static S_AVX512F void
s_words8(const uint8_t *const blk[S_LANES_MAX], __m512i *m)
{
    const __m512i pairs_lo = _mm512_setr_epi64(0, 1, 8, 9, 4, 5, 12, 13);
    const __m512i pairs_hi = _mm512_setr_epi64(2, 3, 10, 11, 6, 7, 14, 15);
    const __m512i fours_lo = _mm512_setr_epi64(0, 1, 2, 3, 8, 9, 10, 11);
    const __m512i fours_hi = _mm512_setr_epi64(4, 5, 6, 7, 12, 13, 14, 15);
    static const int word[4] = {0, 2, 1, 3}; /* the first word of b[j] (and b[j + 4]) */
    for (int w = 0; w < 16; w += 8) {
        __m512i r[8], a[8], b[8];
        for (int k = 0; k < 8; k++) {
            r[k] = _mm512_loadu_si512((const void *)(blk[k] + 8 * w));
        }
        for (int k = 0; k < 8;
             k += 2) { /* a[k]: words 0, 2, 4, 6 of rows k, k + 1; a[k + 1]: odd */
            a[k] = _mm512_unpacklo_epi64(r[k], r[k + 1]);
            a[k + 1] = _mm512_unpackhi_epi64(r[k], r[k + 1]);
        }
        for (int q = 0; q < 8; q += 4) { /* rows q..q + 3: words 0, 4 | 2, 6 | 1, 5 | 3, 7 */
            b[q] = _mm512_permutex2var_epi64(a[q], pairs_lo, a[q + 2]);
            b[q + 1] = _mm512_permutex2var_epi64(a[q], pairs_hi, a[q + 2]);
            b[q + 2] = _mm512_permutex2var_epi64(a[q + 1], pairs_lo, a[q + 3]);
            b[q + 3] = _mm512_permutex2var_epi64(a[q + 1], pairs_hi, a[q + 3]);
        }
        for (int j = 0; j < 4; j++) {
            m[w + word[j]] = _mm512_permutex2var_epi64(b[j], fours_lo, b[j + 4]);
            m[w + word[j] + 4] = _mm512_permutex2var_epi64(b[j], fours_hi, b[j + 4]);
        }
    }
}

/* RFC 7693 §3.1's G on 8 lanes at once. */
static S_AVX512F inline void
s_g8(__m512i *v, int a, int b, int c, int d, __m512i x, __m512i y)
{
    v[a] = _mm512_add_epi64(_mm512_add_epi64(v[a], v[b]), x);
    v[d] = _mm512_ror_epi64(_mm512_xor_si512(v[d], v[a]), 32);
    v[c] = _mm512_add_epi64(v[c], v[d]);
    v[b] = _mm512_ror_epi64(_mm512_xor_si512(v[b], v[c]), 24);
    v[a] = _mm512_add_epi64(_mm512_add_epi64(v[a], v[b]), y);
    v[d] = _mm512_ror_epi64(_mm512_xor_si512(v[d], v[a]), 16);
    v[c] = _mm512_add_epi64(v[c], v[d]);
    v[b] = _mm512_ror_epi64(_mm512_xor_si512(v[b], v[c]), 63);
}

/* s_compress_lanes on 8 lanes, in AVX-512 registers. */
static S_AVX512F void
s_compress_lanes8(s_lanes_t *L)
{
    __m512i m[16], v[16], h[8];
    s_words8(L->blk, m);
    for (int i = 0; i < 8; i++) {
        h[i] = _mm512_loadu_si512((const void *)L->h[i]);
        v[i] = h[i];
        v[i + 8] = _mm512_set1_epi64((long long)s_iv[i]);
    }
    v[12] = _mm512_xor_si512(v[12], _mm512_loadu_si512((const void *)L->t));
    v[14] = _mm512_xor_si512(v[14], _mm512_loadu_si512((const void *)L->f));
    S_ROUNDS(s_g8, v, m);
    for (int i = 0; i < 8; i++) {
        __m512i x = _mm512_xor_si512(h[i], _mm512_xor_si512(v[i], v[i + 8]));
        _mm512_storeu_si512((void *)L->h[i], x);
    }
}

/* The lanes for nlong long messages on this CPU: 8 in AVX-512 registers (for more than 4),
 * else 4 with AVX-512VL's rotations, else 4 in AVX2 (the testing build: MESH_TESTING_HASH4=avx2 or
 * =vl chooses one of the last two, so that tests try them on a CPU with AVX-512 too). */
static void
s_choose(s_lanes_t *L, size_t nlong, void (**compress)(s_lanes_t *))
{
    const char *want = NULL;
#ifdef MESH_TESTING
    want = getenv("MESH_TESTING_HASH4");
#endif
    bool f512 = __builtin_cpu_supports("avx512f");
    bool vl = f512 && __builtin_cpu_supports("avx512vl");
    L->nl = S_LANES;
    *compress = s_compress_lanes;
    if (want && strcmp(want, "avx2") == 0) {
        return;
    }
    if (vl) {
        *compress = s_compress_lanes_vl;
    }
    if (f512 && nlong > S_LANES && !(want && strcmp(want, "vl") == 0)) {
        L->nl = S_LANES_MAX;
        *compress = s_compress_lanes8;
    }
}

/* Lane k's next block, counter and flag: read in place when it is whole and past the tag,
 * else copied into the lane's pad, zero filled. */
static void
s_lane_block(s_lanes_t *L, size_t k)
{
    if (!L->out[k]) {
        L->blk[k] = L->pad[k];
        L->t[k] = L->f[k] = 0;
        return;
    }
    uint64_t done = L->done[k], left = L->total[k] - done;
    size_t take = left < S_BLOCK ? (size_t)left : S_BLOCK;
    if (done == 0) {
        L->pad[k][0] = L->tag;
        memcpy(L->pad[k] + 1, L->msg[k], take - 1);
    } else if (take == S_BLOCK) {
        L->blk[k] = L->msg[k] + done - 1;
    } else {
        memcpy(L->pad[k], L->msg[k] + done - 1, take);
    }
    if (done == 0 || take < S_BLOCK) {
        memset(L->pad[k] + take, 0, S_BLOCK - take);
        L->blk[k] = L->pad[k];
    }
    L->t[k] = done + take;
    L->f[k] = left <= S_BLOCK ? ~0ull : 0;
}

/* Start msg[0..len) in lane k, its digest to out. */
static void
s_lane_start(s_lanes_t *L, size_t k, const uint8_t *msg, size_t len, uint8_t *out)
{
    for (int i = 0; i < 8; i++) {
        L->h[i][k] = s_iv[i] ^ (i == 0 ? S_PARAM0 : 0);
    }
    L->msg[k] = msg;
    L->total[k] = 1 + (uint64_t)len;
    L->done[k] = 0;
    L->out[k] = out;
}

/* outs[i] for each message of lens[i] >= S_BLOCK, 4 at a time. */
static void
s_long(uint8_t tag, const uint8_t *const msgs[], const size_t lens[], size_t n,
       uint8_t (*outs)[HASH_LEN])
{
    void (*compress)(s_lanes_t *);
    s_lanes_t L;
    size_t nlong = 0;
    for (size_t i = 0; i < n; i++) {
        nlong += lens[i] >= S_BLOCK;
    }
    if (nlong == 0) {
        return; /* (short ones only: no lanes to set up) */
    }
    memset(&L, 0, sizeof L);
    s_choose(&L, nlong, &compress);
    L.tag = tag;
    size_t next = 0, busy = 0;
    for (;;) {
        for (size_t k = 0; k < L.nl; k++) {
            while (!L.out[k] && next < n) {
                if (lens[next] >= S_BLOCK) {
                    s_lane_start(&L, k, msgs[next], lens[next], outs[next]);
                    busy++;
                }
                next++;
            }
            s_lane_block(&L, k);
        }
        if (!busy) {
            return;
        }
        compress(&L);
        for (size_t k = 0; k < L.nl; k++) {
            L.done[k] = L.t[k];
            if (L.out[k] && L.f[k]) {
                for (int i = 0; i < 4; i++) {
                    memcpy(L.out[k] + 8 * i, &L.h[i][k], 8);
                }
                L.out[k] = NULL;
                busy--;
            }
        }
    }
}

static int
s_use_avx2(void)
{
    return __builtin_cpu_supports("avx2");
}
#else
static int
s_use_avx2(void)
{
    return 0;
}

static void
s_compress4(s_batch_t *b)
{
    (void)b;
}

static void
s_long(uint8_t tag, const uint8_t *const msgs[], const size_t lens[], size_t n,
       uint8_t (*outs)[HASH_LEN])
{
    (void)tag, (void)msgs, (void)lens, (void)n, (void)outs;
}
#endif

/* BLAKE2b-256(tag || msg) by libsodium, one message at a time. out may overlap msg. */
static void
s_one(uint8_t tag, const void *msg, size_t len, uint8_t *out)
{
    crypto_generichash_state st;
    uint8_t tmp[HASH_LEN];
    crypto_generichash_init(&st, NULL, 0, HASH_LEN);
    crypto_generichash_update(&st, &tag, 1);
    crypto_generichash_update(&st, msg, len);
    crypto_generichash_final(&st, tmp, HASH_LEN);
    memcpy(out, tmp, HASH_LEN);
}

/* Hash the batch's lanes and empty it for the next. */
static void
s_flush(s_batch_t *b)
{
    if (b->lanes == 0) {
        return;
    }
    s_compress4(b);
    memset(b->blk, 0, sizeof b->blk);
    memset(b->count, 0, sizeof b->count);
    b->lanes = 0;
}

/* Add one lane: tag || msg (1 + len <= S_BLOCK), digest to out. */
static void
s_add(s_batch_t *b, uint8_t tag, const void *msg, size_t len, uint8_t *out)
{
    size_t k = b->lanes++;
    b->blk[k][0] = tag;
    memcpy(b->blk[k] + 1, msg, len);
    b->count[k] = 1 + len;
    b->out[k] = out;
}

void
hash4_tagged(enum hash_tag tag, const uint8_t *const msgs[], const size_t lens[], size_t n,
             uint8_t (*outs)[HASH_LEN])
{
    if (!s_use_avx2()) {
        for (size_t i = 0; i < n; i++) {
            s_one((uint8_t)tag, msgs[i], lens[i], outs[i]);
        }
        return;
    }
    s_batch_t b;
    memset(&b, 0, sizeof b);
    for (size_t i = 0; i < n; i++) {
        if (lens[i] >= S_BLOCK) {
            continue; /* (s_long's) */
        }
        s_add(&b, (uint8_t)tag, msgs[i], lens[i], outs[i]);
        if (b.lanes == S_LANES) {
            s_flush(&b);
        }
    }
    s_flush(&b);
    s_long((uint8_t)tag, msgs, lens, n, outs);
}

/* Each batch copies its 8 input nodes into its blocks before writing its 4 outputs, and a
 * later batch reads only nodes past those outputs, so outs may be nodes. */
void
hash4_pairs(const uint8_t (*nodes)[HASH_LEN], size_t pairs, uint8_t (*outs)[HASH_LEN])
{
    if (!s_use_avx2()) {
        for (size_t j = 0; j < pairs; j++) {
            s_one(HASH_TAG_NODE, nodes[2 * j], 2 * HASH_LEN, outs[j]);
        }
        return;
    }
    s_batch_t b;
    memset(&b, 0, sizeof b);
    for (size_t j = 0; j < pairs; j++) {
        s_add(&b, HASH_TAG_NODE, nodes[2 * j], 2 * HASH_LEN, outs[j]);
        if (b.lanes == S_LANES) {
            s_flush(&b);
        }
    }
    s_flush(&b);
}
