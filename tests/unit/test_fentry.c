/* tests/unit/test_fentry.c: unit tests of core/wire/fentry.c (docs/PROTOCOL.md §18.2). The
 * layout checked byte for byte against a reference encoding written from the protocol text
 * (tests/unit/util.c, not msgpack-c); files, directories and symlinks round trip; mtimes at
 * every integer form's edge; each rule refused by the encoder (MESH_EINVAL) and by the
 * decoder (MESH_EPROTO, zeroed output); the caps at their edge; every truncation and a
 * trailing byte refused; no read past the input (a PROT_NONE fence).
 * Layer: tests. Third-party: cmocka. SPDX-License-Identifier: MIT */
#include "core/wire/fentry.h"

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
        {F_VERSION, {0x02}, 1, MESH_EPROTO},           /* another version */
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
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
