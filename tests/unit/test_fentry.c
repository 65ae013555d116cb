/* tests/unit/test_fentry.c: unit tests of core/wire/fentry.c (docs/PROTOCOL.md §18.2). The
 * layout checked byte for byte against a reference encoding written from the protocol text
 * (tests/unit/util.c, not msgpack-c); files, directories and symlinks round trip; mtimes at
 * every integer form's edge; each rule refused by the encoder (MESH_EINVAL) and by the
 * decoder (MESH_EPROTO, zeroed output); the caps at their edge; every truncation and a
 * trailing byte refused; no read past the input (a PROT_NONE fence). A large file's pieces
 * (§25): layout 2 round trips, is small, an insertion changes one or two pieces, expanding
 * checks each piece (hash, count, cut rule, sizes) and asks for every missing one; the
 * pieces' caps at their edge, and one piece named 1,536 times.
 * Layer: tests. Third-party: cmocka. SPDX-License-Identifier: MIT */
#include "core/wire/fentry.h"

#include "crypto/hash.h"

#include "util.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* Marks of the reference encoding: one before each field, one at the end. */
enum { F_ARRAY, F_VERSION, F_TYPE, F_MODE, F_SIZE, F_MTIME, F_TARGET, F_HASHES, F_SIZES, F_END };

/* The reference bytes of a file entry of n blocks (block i: hash bytes i, size sizes[i]). */
static util_bytes_t *
s_ref_file(size_t n, const uint32_t *sizes, uint64_t mtime)
{
    util_bytes_t *bb = util_bytes_new();
    uint64_t total = 0;
    for (size_t i = 0; i < n; i++) {
        total += sizes[i];
    }
    util_mark(bb), util_array(bb, 8);
    util_mark(bb), util_uint(bb, 1);
    util_mark(bb), util_uint(bb, WIRE_FENTRY_FILE);
    util_mark(bb), util_uint(bb, 0644);
    util_mark(bb), util_uint(bb, total);
    util_mark(bb), util_uint(bb, mtime);
    util_mark(bb), util_bin(bb, NULL, 0);
    util_mark(bb);
    uint8_t *hashes = calloc(n ? n : 1, WIRE_FENTRY_HASH);
    assert_non_null(hashes);
    for (size_t i = 0; i < n; i++) {
        memset(hashes + i * WIRE_FENTRY_HASH, (int)(i + 1), WIRE_FENTRY_HASH);
    }
    util_bin(bb, hashes, n * WIRE_FENTRY_HASH);
    free(hashes);
    util_mark(bb), util_array(bb, n);
    for (size_t i = 0; i < n; i++) {
        util_uint(bb, sizes[i]);
    }
    util_mark(bb);
    return bb;
}

/* The entry the reference file describes. */
static void
s_file(wire_fentry_t *e, wire_fentry_block_t *blocks, size_t n, const uint32_t *sizes,
       int64_t mtime)
{
    memset(e, 0, sizeof *e);
    e->type = WIRE_FENTRY_FILE;
    e->mode = 0644;
    e->mtime_ns = mtime;
    for (size_t i = 0; i < n; i++) {
        memset(blocks[i].hash, (int)(i + 1), WIRE_FENTRY_HASH);
        blocks[i].size = sizes[i];
        e->size += sizes[i];
    }
    e->blocks = n ? blocks : NULL;
    e->nblocks = n;
}

static void
s_same(const wire_fentry_t *a, const wire_fentry_t *b)
{
    CHECK_EQ(a->type, b->type);
    CHECK_EQ(a->mode, b->mode);
    CHECK_EQ(a->size, b->size);
    CHECK_EQ(a->mtime_ns, b->mtime_ns);
    CHECK_EQ(a->target_len, b->target_len);
    CHECK(a->target_len == 0 || memcmp(a->target, b->target, a->target_len) == 0);
    CHECK_EQ(a->nblocks, b->nblocks);
    CHECK(a->nblocks == 0 || memcmp(a->blocks, b->blocks, a->nblocks * sizeof *a->blocks) == 0);
}

/* Encode e, decode the bytes, compare, encode again: the very same bytes. Returns the
 * encoding (caller releases). */
static void
s_round_trip(const wire_fentry_t *e, wire_buf_t *out)
{
    wire_fentry_t d;
    wire_buf_t again;
    wire_buf_init(out);
    wire_buf_init(&again);
    CHECK_OK(wire_fentry_encode(e, out));
    CHECK_OK(wire_fentry_decode(out->data, out->len, &d));
    s_same(e, &d);
    CHECK(d.type != WIRE_FENTRY_SYMLINK || d.target[d.target_len] == '\0');
    CHECK_OK(wire_fentry_encode(&d, &again));
    CHECK_EQ(again.len, out->len);
    CHECK(memcmp(again.data, out->data, out->len) == 0);
    wire_fentry_release(&d);
    wire_buf_release(&again);
}

/* Decoding must fail with want and leave *out zeroed. */
static void
s_refused(const uint8_t *p, size_t len, mesh_err_t want)
{
    wire_fentry_t d, zero;
    memset(&d, 0x5a, sizeof d);
    memset(&zero, 0, sizeof zero);
    CHECK_EQ(wire_fentry_decode(p, len, &d), want);
    CHECK(memcmp(&d, &zero, sizeof d) == 0);
}

static void
test_fentry_layout_matches_reference(void **state)
{
    (void)state;
    const uint32_t sizes[] = {131072, 1, WIRE_FENTRY_BLOCK_MAX, 70000, 200};
    wire_fentry_block_t blocks[5];
    wire_fentry_t e;
    wire_buf_t out;
    for (size_t n = 0; n <= 5; n++) {
        s_file(&e, blocks, n, sizes, 1733360000123456789ll);
        util_bytes_t *ref = s_ref_file(n, sizes, 1733360000123456789ull);
        s_round_trip(&e, &out);
        snprintf(util_where, sizeof util_where, "%zu blocks", n);
        CHECK_EQ(out.len, ref->len);
        CHECK(memcmp(out.data, ref->b, ref->len) == 0);
        wire_buf_release(&out);
        util_bytes_free(ref);
    }
    util_where[0] = '\0';
}

static void
test_fentry_dir_and_symlink(void **state)
{
    (void)state;
    wire_buf_t out;
    wire_fentry_t d = {.type = WIRE_FENTRY_DIR, .mode = 0755, .mtime_ns = 5};
    s_round_trip(&d, &out);
    wire_buf_release(&out);
    char target[WIRE_FENTRY_TARGET_MAX + 1];
    memset(target, 'x', sizeof target);
    wire_fentry_t l = {.type = WIRE_FENTRY_SYMLINK,
                       .mode = 0777,
                       .mtime_ns = -1,
                       .target = target,
                       .target_len = WIRE_FENTRY_TARGET_MAX};
    s_round_trip(&l, &out);
    wire_buf_release(&out);
    l.target = "../x", l.target_len = 4;
    s_round_trip(&l, &out);
    wire_buf_release(&out);
}

static void
test_fentry_mtime_forms(void **state)
{
    (void)state;
    const int64_t values[] = {0,
                              1,
                              127,
                              128,
                              -1,
                              -32,
                              -33,
                              -128,
                              -129,
                              -32768,
                              -32769,
                              INT32_MIN,
                              (int64_t)INT32_MIN - 1,
                              INT64_MIN,
                              INT64_MAX,
                              1ll << 40};
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        wire_fentry_t d = {.type = WIRE_FENTRY_DIR, .mtime_ns = values[i]};
        wire_buf_t out;
        snprintf(util_where, sizeof util_where, "mtime %lld", (long long)values[i]);
        s_round_trip(&d, &out);
        wire_buf_release(&out);
    }
    util_where[0] = '\0';
    /* each integer form longer than it needs, and a uint past INT64_MAX: refused */
    const uint32_t none[1] = {0};
    util_bytes_t *ref = s_ref_file(0, none, 0);
    const uint8_t longer[][9] = {
        {0xd0, 0xff},                                           /* -1 as int 8 */
        {0xd0, 0x05},                                           /* +5 as int 8 */
        {0xd1, 0xff, 0x80},                                     /* -128 as int 16 */
        {0xd2, 0xff, 0xff, 0x80, 0x00},                         /* -32768 as int 32 */
        {0xd3, 0xff, 0xff, 0xff, 0xff, 0x80, 0x00, 0x00, 0x00}, /* INT32_MIN as int 64 */
        {0xcf, 0x80, 0, 0, 0, 0, 0, 0, 0},                      /* 2^63 */
        {0xcc, 0x05},                                           /* 5 as uint 8 */
    };
    const size_t lens[] = {2, 2, 3, 5, 9, 9, 2};
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        util_bytes_t *bad = util_splice(ref, F_MTIME, longer[i], lens[i]);
        snprintf(util_where, sizeof util_where, "mtime form %zu", i);
        s_refused(bad->b, bad->len, MESH_EPROTO);
        util_bytes_free(bad);
    }
    util_where[0] = '\0';
    util_bytes_free(ref);
}

/* Each rule of §18.2 refused by the encoder. */
static void
test_fentry_encoder_refuses(void **state)
{
    (void)state;
    const uint32_t sizes[] = {10, 20};
    wire_fentry_block_t blocks[2];
    wire_fentry_t e;
    wire_buf_t out;
    wire_buf_init(&out);
#define S_BAD(mutate)                                                                              \
    do {                                                                                           \
        s_file(&e, blocks, 2, sizes, 7);                                                           \
        mutate;                                                                                    \
        CHECK_EQ(wire_fentry_encode(&e, &out), MESH_EINVAL);                                       \
        CHECK_EQ(out.len, 0);                                                                      \
    } while (0)
    S_BAD(e.type = 3);
    S_BAD(e.mode = 04755);     /* setuid from the network: never */
    S_BAD(e.size = 31);        /* not the sum of the blocks */
    S_BAD(blocks[1].size = 0); /* an empty block */
    S_BAD((blocks[1].size = WIRE_FENTRY_BLOCK_MAX + 1, e.size = 10 + blocks[1].size));
    S_BAD((e.target = "x", e.target_len = 1));                         /* a file with a target */
    S_BAD((e.type = WIRE_FENTRY_DIR));                                 /* a directory with blocks */
    S_BAD((e.type = WIRE_FENTRY_DIR, e.nblocks = 0, e.blocks = NULL)); /* ... with a size */
    S_BAD((e.type = WIRE_FENTRY_SYMLINK, e.nblocks = 0, e.blocks = NULL, e.size = 0));
    S_BAD((e.type = WIRE_FENTRY_SYMLINK, e.nblocks = 0, e.blocks = NULL, e.size = 0,
           e.target = "a\0b", e.target_len = 3)); /* a NUL in the target */
    S_BAD((e.nblocks = WIRE_FENTRY_BLOCKS_MAX + 1));
    S_BAD((e.blocks = NULL));
#undef S_BAD
    CHECK_EQ(wire_fentry_encode(NULL, &out), MESH_EINVAL);
    wire_buf_release(&out);
}

/* Each rule refused by the decoder, on reference bytes with one field replaced. */
static void
test_fentry_decoder_refuses(void **state)
{
    (void)state;
    const uint32_t sizes[] = {10, 20};
    util_bytes_t *ref = s_ref_file(2, sizes, 7);
    struct {
        size_t field;
        uint8_t alt[8];
        size_t len;
        mesh_err_t want;
    } cases[] = {
        {F_ARRAY, {0x97}, 1, MESH_EPROTO},             /* 7 elements */
        {F_ARRAY, {0x99}, 1, MESH_EPROTO},             /* 9 elements */
        {F_ARRAY, {0xdc, 0x00, 0x08}, 3, MESH_EPROTO}, /* array 16 for 8: not shortest */
        {F_VERSION, {0x02}, 1, MESH_EPROTO},           /* layout 2 for 2 blocks: too few */
        {F_VERSION, {0x03}, 1, MESH_EPROTO},           /* another version */
        {F_TYPE, {0x03}, 1, MESH_EPROTO},              /* no such type */
        {F_TYPE, {0x01}, 1, MESH_EPROTO},              /* a directory with blocks */
        {F_TYPE, {0x02}, 1, MESH_EPROTO},              /* a symlink with blocks */
        {F_MODE, {0xcd, 0x09, 0xed}, 3, MESH_EPROTO},  /* 04755 */
        {F_MODE, {0xa1, 'x'}, 2, MESH_EPROTO},         /* a str */
        {F_SIZE, {29}, 1, MESH_EPROTO},                /* not the sum */
        {F_SIZE, {31}, 1, MESH_EPROTO},                /* not the sum */
        {F_TARGET, {0xc4, 0x01, 'x'}, 3, MESH_EPROTO}, /* a file with a target */
        {F_TARGET, {0xa0}, 1, MESH_EPROTO},            /* a str, not a bin */
        {F_TARGET, {0xc0}, 1, MESH_EPROTO},            /* nil */
        {F_HASHES, {0xc4, 0x00}, 2, MESH_EPROTO},      /* 0 hashes, 2 sizes */
        {F_SIZES, {0x91, 30}, 2, MESH_EPROTO},         /* 1 size, 2 hashes */
        {F_SIZES, {0x92, 0, 30}, 3, MESH_EPROTO},      /* an empty block */
        {F_SIZES, {0x92, 10, 0xce, 0, 0x10, 0, 1}, 7, MESH_EPROTO}, /* a block past 1 MiB */
        {F_END, {0x00}, 1, MESH_EPROTO},                            /* a trailing byte */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t f = cases[i].field;
        util_bytes_t *bad = f == F_END ? NULL : util_splice(ref, f, cases[i].alt, cases[i].len);
        snprintf(util_where, sizeof util_where, "case %zu (field %zu)", i, f);
        if (f == F_END) {
            bad = util_bytes_new();
            util_raw(bad, ref->b, ref->len);
            util_raw(bad, cases[i].alt, cases[i].len);
        }
        s_refused(bad->b, bad->len, cases[i].want);
        util_bytes_free(bad);
    }
    util_where[0] = '\0';
    /* 9 bytes of hash: not a whole number of hashes */
    util_bytes_t *bad =
        util_splice(ref, F_HASHES, (const uint8_t[]){0xc4, 0x09, 1, 2, 3, 4, 5, 6, 7, 8, 9}, 11);
    s_refused(bad->b, bad->len, MESH_EPROTO);
    util_bytes_free(bad);
    /* every truncation */
    for (size_t n = 0; n < ref->len; n++) {
        snprintf(util_where, sizeof util_where, "first %zu of %zu bytes", n, ref->len);
        s_refused(ref->b, n, MESH_EPROTO);
    }
    util_where[0] = '\0';
    s_refused(NULL, 0, MESH_EPROTO);
    util_bytes_free(ref);
}

static void
test_fentry_caps(void **state)
{
    (void)state;
    /* a target one past the cap, its bytes present */
    util_bytes_t *bb = util_bytes_new();
    char target[WIRE_FENTRY_TARGET_MAX + 1];
    memset(target, 'y', sizeof target);
    util_array(bb, 8), util_uint(bb, 1), util_uint(bb, WIRE_FENTRY_SYMLINK), util_uint(bb, 0777);
    util_uint(bb, 0), util_uint(bb, 0), util_bin(bb, target, sizeof target);
    util_bin(bb, NULL, 0), util_array(bb, 0);
    s_refused(bb->b, bb->len, MESH_ETOOBIG);
    util_bytes_free(bb);
    /* blocks: the cap decodes, one more is refused with its bytes present */
    for (size_t n = WIRE_FENTRY_BLOCKS_MAX; n <= WIRE_FENTRY_BLOCKS_MAX + 1; n++) {
        bb = util_bytes_new();
        uint8_t *hashes = calloc(n, WIRE_FENTRY_HASH);
        assert_non_null(hashes);
        util_array(bb, 8), util_uint(bb, 1), util_uint(bb, 0), util_uint(bb, 0600);
        util_uint(bb, n), util_uint(bb, 0), util_bin(bb, NULL, 0);
        util_bin(bb, hashes, n * WIRE_FENTRY_HASH), util_array(bb, n);
        for (size_t i = 0; i < n; i++) {
            util_uint(bb, 1);
        }
        wire_fentry_t d;
        if (n == WIRE_FENTRY_BLOCKS_MAX) {
            CHECK_OK(wire_fentry_decode(bb->b, bb->len, &d));
            CHECK_EQ(d.nblocks, n);
            CHECK(bb->len < (1u << 20)); /* fits one value (PROTOCOL §1) */
            wire_fentry_release(&d);
        } else {
            s_refused(bb->b, bb->len, MESH_ETOOBIG);
        }
        free(hashes);
        util_bytes_free(bb);
    }
    wire_fentry_release(NULL);
}

static void
test_fentry_reads_only_its_bytes(void **state)
{
    (void)state;
    const uint32_t sizes[] = {5, 6, 7};
    util_bytes_t *ref = s_ref_file(3, sizes, 99);
    util_fence_t f;
    util_fence_init(&f, ref->len);
    for (size_t n = 0; n <= ref->len; n++) {
        const uint8_t *p = util_fence_put(&f, ref->b, n);
        wire_fentry_t d;
        mesh_err_t err = wire_fentry_decode(p, n, &d);
        CHECK_EQ(err, n == ref->len ? MESH_OK : MESH_EPROTO);
        wire_fentry_release(&d);
    }
    util_fence_release(&f);
    util_bytes_free(ref);
}


/* ---- a large file's pieces (§25) ---- */

#define S_BIG 4100u /* blocks of a 512 MiB file at the mean block size */

static uint64_t
s_rand(uint64_t *st)
{
    *st += 0x9e3779b97f4a7c15ull;
    uint64_t z = *st;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* n blocks with random hashes and sizes (32 KiB .. 512 KiB); the sum of sizes. */
static uint64_t
s_big(wire_fentry_block_t *b, size_t n, uint64_t seed)
{
    uint64_t st = seed, sum = 0;
    for (size_t i = 0; i < n; i++) {
        for (size_t k = 0; k < WIRE_FENTRY_HASH; k += 8) {
            uint64_t r = s_rand(&st);
            memcpy(b[i].hash + k, &r, 8);
        }
        b[i].size = 32768 + (uint32_t)(s_rand(&st) % (480u * 1024));
        sum += b[i].size;
    }
    return sum;
}

/* A piece source: the pieces of blocks[0..n) as wire_fentry_cut makes them; serves also
 * bad bytes when asked (mode), and counts what it was asked. */
typedef struct s_src {
    const wire_fentry_block_t *blocks;
    size_t n;
    int mode; /* 0 good, 1 one byte changed, 2 piece 3 missing, 3 a trailing byte, 4 known
                 not to fit */
    size_t asked;
} s_src_t;

static mesh_err_t
s_src_fn(void *ctx, const wire_fentry_piece_t *pc, uint8_t *buf, size_t cap, size_t *len)
{
    s_src_t *src = ctx;
    wire_fentry_piece_t *cut = NULL;
    size_t np = 0, first = 0;
    mesh_err_t err = MESH_ENOTFOUND;
    src->asked++;
    if (src->mode == 4) {
        return MESH_EPROTO;
    }
    CHECK_OK(wire_fentry_cut(src->blocks, src->n, &cut, &np));
    for (size_t k = 0; k < np; first += cut[k++].nblocks) {
        if (memcmp(cut[k].hash, pc->hash, WIRE_FENTRY_HASH) != 0 || (src->mode == 2 && k == 3)) {
            continue;
        }
        wire_buf_t out;
        wire_buf_init(&out);
        CHECK_OK(wire_fentry_piece_encode(src->blocks + first, cut[k].nblocks, &out));
        if (src->mode == 3) {
            CHECK_OK(wire_buf_append(&out, "", 1));
        }
        CHECK(out.len <= cap && out.len <= WIRE_FENTRY_PIECE_SIZE(cut[k].nblocks));
        memcpy(buf, out.data, out.len);
        *len = out.len;
        if (src->mode == 1) {
            buf[out.len - 1] ^= 1;
        }
        wire_buf_release(&out);
        err = MESH_OK;
        break;
    }
    free(cut);
    return err;
}

static void
test_fentry_pieces_round_trip(void **state)
{
    (void)state;
    wire_fentry_block_t *b = calloc(S_BIG, sizeof *b);
    assert_non_null(b);
    wire_fentry_t e = {.type = WIRE_FENTRY_FILE, .mode = 0644, .mtime_ns = 5};
    e.size = s_big(b, S_BIG, 1);
    e.blocks = b;
    e.nblocks = S_BIG;
    wire_buf_t out, again;
    wire_buf_init(&out);
    wire_buf_init(&again);
    CHECK_OK(wire_fentry_encode(&e, &out));
    CHECK(out.data[0] == 0x98 && out.data[1] == WIRE_FENTRY_VERSION_PIECES);
    CHECK(out.len < 4096); /* (the inline list: 37 bytes a block, about 148 KiB) */
    wire_fentry_t d;
    CHECK_OK(wire_fentry_decode(out.data, out.len, &d));
    CHECK(d.npieces > S_BIG / (WIRE_FENTRY_PIECE_MIN + 2 * WIRE_FENTRY_PIECE_MASK) &&
          d.npieces < S_BIG / WIRE_FENTRY_PIECE_MIN);
    CHECK(d.blocks == NULL && d.nblocks == 0 && d.size == e.size);
    CHECK_OK(wire_fentry_encode(&d, &again)); /* pieces only: the same bytes */
    CHECK(again.len == out.len && memcmp(again.data, out.data, out.len) == 0);
    CHECK(wire_fentry_lists(&d, b, S_BIG));
    b[2000].size ^= 1;
    CHECK(!wire_fentry_lists(&d, b, S_BIG));
    b[2000].size ^= 1;
    CHECK(!wire_fentry_lists(&d, b, S_BIG - 1));
    s_src_t src = {.blocks = b, .n = S_BIG};
    CHECK_OK(wire_fentry_expand(&d, s_src_fn, &src));
    CHECK_EQ(src.asked, d.npieces);
    CHECK_EQ(d.nblocks, S_BIG);
    CHECK(memcmp(d.blocks, b, S_BIG * sizeof *b) == 0);
    CHECK(wire_fentry_lists(&d, b, S_BIG));
    wire_buf_reset(&again);
    CHECK_OK(wire_fentry_encode(&d, &again)); /* expanded: the blocks cut again, same bytes */
    CHECK(again.len == out.len && memcmp(again.data, out.data, out.len) == 0);
    wire_fentry_release(&d);
    /* the inline limit: 128 blocks stay layout 1, 129 are pieces */
    for (size_t n = WIRE_FENTRY_INLINE_MAX; n <= WIRE_FENTRY_INLINE_MAX + 1; n++) {
        wire_fentry_t small = {.type = WIRE_FENTRY_FILE, .mode = 0600, .blocks = b, .nblocks = n};
        for (size_t i = 0; i < n; i++) {
            small.size += b[i].size;
        }
        wire_buf_reset(&again);
        CHECK_OK(wire_fentry_encode(&small, &again));
        CHECK_EQ(again.data[1], n == WIRE_FENTRY_INLINE_MAX ? WIRE_FENTRY_VERSION
                                                            : WIRE_FENTRY_VERSION_PIECES);
    }
    /* a layout 1 entry of many blocks (an older device's) is still read */
    util_bytes_t *bb = util_bytes_new();
    util_array(bb, 8), util_uint(bb, 1), util_uint(bb, 0), util_uint(bb, 0644);
    util_uint(bb, e.size), util_uint(bb, 5), util_bin(bb, NULL, 0);
    uint8_t *hashes = malloc(S_BIG * WIRE_FENTRY_HASH);
    assert_non_null(hashes);
    for (size_t i = 0; i < S_BIG; i++) {
        memcpy(hashes + i * WIRE_FENTRY_HASH, b[i].hash, WIRE_FENTRY_HASH);
    }
    util_bin(bb, hashes, S_BIG * WIRE_FENTRY_HASH), util_array(bb, S_BIG);
    for (size_t i = 0; i < S_BIG; i++) {
        util_uint(bb, b[i].size);
    }
    CHECK_OK(wire_fentry_decode(bb->b, bb->len, &d));
    CHECK(d.nblocks == S_BIG && d.npieces == 0);
    wire_buf_reset(&again);
    CHECK_OK(wire_fentry_encode(&d, &again)); /* written again as layout 2 */
    CHECK(again.len == out.len && memcmp(again.data, out.data, out.len) == 0);
    wire_fentry_release(&d);
    free(hashes);
    util_bytes_free(bb);
    wire_buf_release(&out);
    wire_buf_release(&again);
    free(b);
}

/* 1 KiB inserted in the middle of a large file changes the block there (one block becomes
 * two): one or two pieces differ, all others are the same. */
static void
test_fentry_pieces_insert(void **state)
{
    (void)state;
    wire_fentry_block_t *a = calloc(S_BIG, sizeof *a), *b = calloc(S_BIG + 1, sizeof *b);
    assert_non_null(a);
    assert_non_null(b);
    s_big(a, S_BIG, 2);
    for (size_t at = 100; at < S_BIG; at += 397) {
        memcpy(b, a, at * sizeof *a);
        s_big(b + at, 2, at); /* the changed block, now two */
        memcpy(b + at + 2, a + at + 1, (S_BIG - at - 1) * sizeof *a);
        wire_fentry_piece_t *pa = NULL, *pb = NULL;
        size_t na = 0, nb = 0, differ = 0;
        CHECK_OK(wire_fentry_cut(a, S_BIG, &pa, &na));
        CHECK_OK(wire_fentry_cut(b, S_BIG + 1, &pb, &nb));
        for (size_t k = 0; k < nb; k++) {
            bool held = false;
            for (size_t j = 0; j < na && !held; j++) {
                held = memcmp(pa[j].hash, pb[k].hash, WIRE_FENTRY_HASH) == 0;
            }
            differ += !held;
        }
        snprintf(util_where, sizeof util_where, "insert at block %zu: %zu pieces new", at, differ);
        CHECK(differ >= 1 && differ <= 2);
        free(pa);
        free(pb);
    }
    util_where[0] = '\0';
    free(a);
    free(b);
}

/* A piece source of pieces given by hand. */
typedef struct s_held {
    uint8_t hash[2][WIRE_FENTRY_HASH];
    wire_buf_t bytes[2];
    size_t n;
} s_held_t;

static mesh_err_t
s_held_fn(void *ctx, const wire_fentry_piece_t *pc, uint8_t *buf, size_t cap, size_t *len)
{
    s_held_t *h = ctx;
    for (size_t k = 0; k < h->n; k++) {
        if (memcmp(h->hash[k], pc->hash, WIRE_FENTRY_HASH) == 0 && h->bytes[k].len <= cap) {
            memcpy(buf, h->bytes[k].data, h->bytes[k].len);
            *len = h->bytes[k].len;
            return MESH_OK;
        }
    }
    return MESH_ENOTFOUND;
}

/* Expanding refuses a piece that does not hash to its name, lists another count, breaks
 * the cut rule or the entry's size; a missing piece leaves e as it was and every piece
 * was asked for. Layout 2's own rules are refused by the decoder. */
static void
test_fentry_pieces_refused(void **state)
{
    (void)state;
    wire_fentry_block_t *b = calloc(S_BIG, sizeof *b);
    assert_non_null(b);
    wire_fentry_t e = {.type = WIRE_FENTRY_FILE, .mode = 0644};
    e.size = s_big(b, S_BIG, 3);
    e.blocks = b;
    e.nblocks = S_BIG;
    wire_buf_t out;
    wire_buf_init(&out);
    CHECK_OK(wire_fentry_encode(&e, &out));
    for (int mode = 1; mode <= 4; mode++) {
        wire_fentry_t d;
        CHECK_OK(wire_fentry_decode(out.data, out.len, &d));
        s_src_t src = {.blocks = b, .n = S_BIG, .mode = mode};
        CHECK_EQ(wire_fentry_expand(&d, s_src_fn, &src), mode == 2 ? MESH_ENOTFOUND : MESH_EPROTO);
        CHECK(d.blocks == NULL && d.nblocks == 0);
        CHECK(mode != 2 || src.asked == d.npieces); /* (every missing piece learnt at once) */
        wire_fentry_release(&d);
    }
    /* a size that is not the blocks' sum */
    wire_fentry_t d;
    CHECK_OK(wire_fentry_decode(out.data, out.len, &d));
    d.size++;
    s_src_t src = {.blocks = b, .n = S_BIG};
    CHECK_EQ(wire_fentry_expand(&d, s_src_fn, &src), MESH_EPROTO);
    d.size--;
    /* a piece named by its hash but listed with another count */
    d.pieces[0].nblocks++;
    d.pieces[1].nblocks--;
    CHECK_EQ(wire_fentry_expand(&d, s_src_fn, &src), MESH_EPROTO);
    wire_fentry_release(&d);
    /* pieces cut against the rule (200 blocks, no cut: one piece of 200, but 100 + 100 given) */
    for (size_t i = 0; i < 200; i++) {
        b[i].hash[WIRE_FENTRY_HASH - 1] = 1;
    }
    wire_fentry_t two = {.type = WIRE_FENTRY_FILE, .mode = 0644, .npieces = 2};
    wire_fentry_piece_t pcs[2];
    s_held_t held = {.n = 2};
    two.pieces = pcs;
    for (size_t k = 0; k < 2; k++) {
        wire_buf_init(&held.bytes[k]);
        CHECK_OK(wire_fentry_piece_encode(b + 100 * k, 100, &held.bytes[k]));
        hash_tagged(HASH_TAG_BLOCK, held.bytes[k].data, held.bytes[k].len, pcs[k].hash);
        memcpy(held.hash[k], pcs[k].hash, WIRE_FENTRY_HASH);
        pcs[k].nblocks = 100;
        for (size_t i = 0; i < 100; i++) {
            two.size += b[100 * k + i].size;
        }
    }
    wire_buf_reset(&out);
    CHECK_OK(wire_fentry_encode(&two, &out));
    CHECK_OK(wire_fentry_decode(out.data, out.len, &d));
    CHECK_EQ(wire_fentry_expand(&d, s_held_fn, &held), MESH_EPROTO);
    CHECK(d.blocks == NULL);
    wire_fentry_release(&d);
    /* the same pieces with the rule kept (the first ends at a cut): they expand */
    b[99].hash[WIRE_FENTRY_HASH - 1] = 0;
    wire_buf_reset(&held.bytes[0]);
    CHECK_OK(wire_fentry_piece_encode(b, 100, &held.bytes[0]));
    hash_tagged(HASH_TAG_BLOCK, held.bytes[0].data, held.bytes[0].len, pcs[0].hash);
    memcpy(held.hash[0], pcs[0].hash, WIRE_FENTRY_HASH);
    wire_buf_reset(&out);
    CHECK_OK(wire_fentry_encode(&two, &out));
    CHECK_OK(wire_fentry_decode(out.data, out.len, &d));
    CHECK_OK(wire_fentry_expand(&d, s_held_fn, &held));
    CHECK(d.nblocks == 200 && wire_fentry_lists(&d, b, 200));
    wire_fentry_release(&d);
    wire_buf_release(&held.bytes[0]);
    wire_buf_release(&held.bytes[1]);
    /* the decoder: layout 2 with a piece too small (not last), too large, none, a directory,
     * a size below one byte per block */
    struct {
        uint32_t counts[3];
        size_t n;
        uint64_t size;
        uint8_t type;
    } bad[] = {
        {{WIRE_FENTRY_PIECE_MIN - 1, 200, 0}, 2, 1000000, 0},
        {{WIRE_FENTRY_PIECE_MAX + 1, 0, 0}, 1, 1000000, 0},
        {{0, 0, 0}, 0, 1000000, 0},
        {{100, 100, 0}, 2, 1000000, 1},
        {{100, 100, 0}, 2, 199, 0},
        {{60, 60, 0}, 2, 1000000, 0}, /* 120 blocks: layout 1's */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        util_bytes_t *bb = util_bytes_new();
        uint8_t hashes[3 * WIRE_FENTRY_HASH] = {0};
        util_array(bb, 8), util_uint(bb, 2), util_uint(bb, bad[i].type), util_uint(bb, 0644);
        util_uint(bb, bad[i].size), util_uint(bb, 0), util_bin(bb, NULL, 0);
        util_bin(bb, hashes, bad[i].n * WIRE_FENTRY_HASH), util_array(bb, bad[i].n);
        for (size_t k = 0; k < bad[i].n; k++) {
            util_uint(bb, bad[i].counts[k]);
        }
        snprintf(util_where, sizeof util_where, "layout 2 case %zu", i);
        s_refused(bb->b, bb->len, MESH_EPROTO);
        util_bytes_free(bb);
    }
    util_where[0] = '\0';
    wire_buf_release(&out);
    free(b);
}

/* The pieces' caps at their edge, as a lying member may write them: 1,536 pieces of 16
 * blocks (24,576 blocks, the cap) decode; 1,537 (one block more) are refused, and so are
 * more piece names than WIRE_FENTRY_PIECES_MAX. One piece named 1,536 times (a file of one
 * run of 16 blocks, repeated) expands from that one piece to 24,576 blocks, and encodes again
 * to the same bytes. */
static void
test_fentry_pieces_caps(void **state)
{
    (void)state;
    const size_t np = WIRE_FENTRY_BLOCKS_MAX / WIRE_FENTRY_PIECE_MIN; /* 1,536 */
    wire_fentry_block_t run[WIRE_FENTRY_PIECE_MIN];
    uint64_t st = 7, run_size = 0;
    for (size_t i = 0; i < WIRE_FENTRY_PIECE_MIN; i++) {
        for (size_t k = 0; k < WIRE_FENTRY_HASH; k += 8) {
            uint64_t r = s_rand(&st);
            memcpy(run[i].hash + k, &r, 8);
        }
        run[i].hash[WIRE_FENTRY_HASH - 1] = i + 1 < WIRE_FENTRY_PIECE_MIN ? 1 : 0; /* (a cut) */
        run[i].size = 1000 + (uint32_t)i;
        run_size += run[i].size;
    }
    s_held_t held = {.n = 1};
    wire_buf_init(&held.bytes[0]);
    CHECK_OK(wire_fentry_piece_encode(run, WIRE_FENTRY_PIECE_MIN, &held.bytes[0]));
    hash_tagged(HASH_TAG_BLOCK, held.bytes[0].data, held.bytes[0].len, held.hash[0]);
    uint8_t *names = malloc((np + 2) * WIRE_FENTRY_HASH);
    assert_non_null(names);
    for (size_t k = 0; k < np + 2; k++) {
        memcpy(names + k * WIRE_FENTRY_HASH, held.hash[0], WIRE_FENTRY_HASH);
    }
    for (size_t extra = 0; extra <= 2; extra++) {
        /* np pieces of 16, then `extra` more of 1 block */
        size_t n = np + extra;
        util_bytes_t *bb = util_bytes_new();
        util_array(bb, 8), util_uint(bb, 2), util_uint(bb, 0), util_uint(bb, 0644);
        util_uint(bb, np * run_size + extra * 1000), util_uint(bb, 0), util_bin(bb, NULL, 0);
        util_bin(bb, names, n * WIRE_FENTRY_HASH), util_array(bb, n);
        for (size_t k = 0; k < n; k++) {
            util_uint(bb, k < np ? WIRE_FENTRY_PIECE_MIN : 1);
        }
        snprintf(util_where, sizeof util_where, "%zu pieces", n);
        if (extra == 1) {
            s_refused(bb->b, bb->len, MESH_EPROTO); /* (24,577 blocks) */
        } else if (extra == 2) {
            s_refused(bb->b, bb->len, MESH_ETOOBIG); /* (past WIRE_FENTRY_PIECES_MAX) */
        } else {
            wire_fentry_t d;
            wire_buf_t again;
            wire_buf_init(&again);
            CHECK_OK(wire_fentry_decode(bb->b, bb->len, &d));
            CHECK_EQ(d.npieces, np);
            CHECK_OK(wire_fentry_expand(&d, s_held_fn, &held));
            CHECK_EQ(d.nblocks, WIRE_FENTRY_BLOCKS_MAX);
            CHECK(memcmp(d.blocks + d.nblocks - WIRE_FENTRY_PIECE_MIN, run, sizeof run) == 0);
            CHECK_OK(wire_fentry_encode(&d, &again));
            CHECK(again.len == bb->len && memcmp(again.data, bb->b, bb->len) == 0);
            wire_buf_release(&again);
            wire_fentry_release(&d);
        }
        util_bytes_free(bb);
    }
    util_where[0] = '\0';
    free(names);
    wire_buf_release(&held.bytes[0]);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fentry_layout_matches_reference),
        cmocka_unit_test(test_fentry_dir_and_symlink),
        cmocka_unit_test(test_fentry_mtime_forms),
        cmocka_unit_test(test_fentry_encoder_refuses),
        cmocka_unit_test(test_fentry_decoder_refuses),
        cmocka_unit_test(test_fentry_caps),
        cmocka_unit_test(test_fentry_reads_only_its_bytes),
        cmocka_unit_test(test_fentry_pieces_round_trip),
        cmocka_unit_test(test_fentry_pieces_insert),
        cmocka_unit_test(test_fentry_pieces_refused),
        cmocka_unit_test(test_fentry_pieces_caps),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
