/* tests/unit/test_chunk.c: unit tests of fs/chunk.c (docs/PROTOCOL.md §18.1): the sizes
 * refused, min and max respected (random and constant content), the same cuts however the
 * input is split into pieces (down to single bytes), an insertion changing only the blocks
 * around it, each block's name, chunk_fd over a real file, the block cap, and the protocol's
 * cut points of a fixed input pinned (a change to the table or the rule fails here).
 * Layer: tests. Third-party: cmocka. SPDX-License-Identifier: MIT */
#include "fs/chunk.h"

#include "crypto/ident.h"
#include "util.h"

#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

static const chunk_params_t s_small = {1024, 4096, 16384}; /* many blocks in little input */

/* n bytes of the splitmix64 stream from seed. */
static uint8_t *
s_random(size_t n, uint64_t seed)
{
    uint8_t *p = malloc(n ? n : 1);
    assert_non_null(p);
    for (size_t i = 0; i < n; i++) {
        seed += 0x9e3779b97f4a7c15ull;
        uint64_t z = seed;
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        p[i] = (uint8_t)(z ^ (z >> 31));
    }
    return p;
}

/* The blocks of data fed in pieces of the sizes piece() gives (each >= 1). */
static void
s_blocks(const chunk_params_t *p, const uint8_t *data, size_t len, size_t (*piece)(size_t i),
         chunk_block_t **out, size_t *n)
{
    chunk_stream_t s;
    CHECK_OK(chunk_stream_init(&s, p, SIZE_MAX));
    for (size_t off = 0, i = 0; off < len; i++) {
        size_t k = piece(i);
        k = k < len - off ? k : len - off;
        CHECK_OK(chunk_stream_feed(&s, data + off, k));
        off += k;
    }
    CHECK_OK(chunk_stream_end(&s));
    CHECK_EQ(s.bytes, len);
    *out = s.list;
    *n = s.n;
}

static size_t
s_whole(size_t i)
{
    (void)i;
    return SIZE_MAX;
}

static size_t
s_one(size_t i)
{
    (void)i;
    return 1;
}

static size_t
s_odd(size_t i)
{
    return 1 + (i * 7919) % 5003; /* 1 .. 5003 bytes, uneven */
}

static void
test_chunk_params_refused(void **state)
{
    (void)state;
    const chunk_params_t bad[] = {
        {32, 4096, 16384},             /* min below the window */
        {1024, 3000, 16384},           /* avg not a power of two */
        {4096, 4096, 16384},           /* min not below avg */
        {1024, 4096, 4096},            /* max not above avg */
        {1024, 4096, CHUNK_LIMIT + 1}, /* max past one BLOCK body */
        {64, 128, 1024},               /* avg below 256 */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        chunker_t c;
        memset(&c, 0x55, sizeof c);
        CHECK_EQ(chunk_init(&c, &bad[i]), MESH_EINVAL);
        chunker_t zero;
        memset(&zero, 0, sizeof zero);
        CHECK(memcmp(&c, &zero, sizeof c) == 0);
    }
    chunker_t c;
    CHECK_OK(chunk_init(&c, NULL));
    CHECK_EQ(c.p.min, CHUNK_MIN);
    CHECK_EQ(c.p.avg, CHUNK_AVG);
    CHECK_EQ(c.p.max, CHUNK_MAX);
    CHECK(CHUNK_MAX <= CHUNK_LIMIT);
}

static void
test_chunk_min_max_respected(void **state)
{
    (void)state;
    size_t len = 8u << 20, n = 0;
    uint8_t *data = s_random(len, 1);
    chunk_block_t *b = NULL;
    s_blocks(&s_small, data, len, s_whole, &b, &n);
    uint64_t sum = 0;
    for (size_t i = 0; i < n; i++) {
        if (i + 1 < n) {
            CHECK(b[i].size >= s_small.min && b[i].size <= s_small.max);
        }
        sum += b[i].size;
    }
    CHECK_EQ(sum, len);
    /* normalized chunking keeps the mean near avg: between avg/2 and 2 avg */
    CHECK(len / n > s_small.avg / 2 && len / n < 2 * s_small.avg);
    free(b);
    /* constant content never meets the mask: every block is max (the last what is left) */
    memset(data, 0, len);
    s_blocks(&s_small, data, 100000, s_whole, &b, &n);
    CHECK_EQ(n, 100000 / s_small.max + 1);
    for (size_t i = 0; i + 1 < n; i++) {
        CHECK_EQ(b[i].size, s_small.max);
    }
    CHECK_EQ(b[n - 1].size, 100000 % s_small.max);
    free(b);
    free(data);
}

static void
test_chunk_pieces_give_same_cuts(void **state)
{
    (void)state;
    size_t len = 1u << 20, n1 = 0, n2 = 0, n3 = 0;
    uint8_t *data = s_random(len, 2);
    chunk_block_t *a = NULL, *b = NULL, *c = NULL;
    s_blocks(&s_small, data, len, s_whole, &a, &n1);
    s_blocks(&s_small, data, len, s_odd, &b, &n2);
    s_blocks(&s_small, data, len, s_one, &c, &n3);
    CHECK(n1 > 100);
    CHECK_EQ(n1, n2);
    CHECK_EQ(n1, n3);
    CHECK(memcmp(a, b, n1 * sizeof *a) == 0);
    CHECK(memcmp(a, c, n1 * sizeof *a) == 0);
    free(a);
    free(b);
    free(c);
    free(data);
}

static void
test_chunk_block_names(void **state)
{
    (void)state;
    size_t len = 300000, n = 0, off = 0;
    uint8_t *data = s_random(len, 3);
    chunk_block_t *b = NULL;
    s_blocks(&s_small, data, len, s_odd, &b, &n);
    for (size_t i = 0; i < n; i++) {
        uint8_t h[HASH_LEN];
        hash_tagged(HASH_TAG_BLOCK, data + off, b[i].size, h);
        CHECK(memcmp(h, b[i].hash, HASH_LEN) == 0);
        off += b[i].size;
    }
    CHECK_EQ(off, len);
    free(b);
    free(data);
}

/* Insert ins bytes at `at` and check that the blocks before and after the insertion's
 * neighbourhood are the old ones: at most `most` new blocks, in one run. */
static void
s_insert_case(const uint8_t *data, size_t len, size_t at, size_t ins, size_t most)
{
    uint8_t *edited = malloc(len + ins);
    assert_non_null(edited);
    memcpy(edited, data, at);
    memset(edited + at, 0xa5, ins);
    memcpy(edited + at + ins, data + at, len - at);
    chunk_block_t *a = NULL, *b = NULL;
    size_t na = 0, nb = 0;
    s_blocks(&s_small, data, len, s_whole, &a, &na);
    s_blocks(&s_small, edited, len + ins, s_odd, &b, &nb);
    size_t head = 0, tail = 0;
    while (head < na && head < nb && memcmp(&a[head], &b[head], sizeof *a) == 0) {
        head++;
    }
    while (tail < na - head && tail < nb - head &&
           memcmp(&a[na - 1 - tail], &b[nb - 1 - tail], sizeof *a) == 0) {
        tail++;
    }
    snprintf(util_where, sizeof util_where, "insert %zu at %zu: %zu of %zu blocks new", ins, at,
             nb - head - tail, nb);
    CHECK(nb - head - tail >= 1);
    CHECK(nb - head - tail <= most);
    /* the unchanged head ends at or before the insertion */
    size_t head_bytes = 0;
    for (size_t i = 0; i < head; i++) {
        head_bytes += a[i].size;
    }
    CHECK(head_bytes <= at);
    CHECK(at - head_bytes < s_small.max + 1);
    util_where[0] = '\0';
    free(a);
    free(b);
    free(edited);
}

static void
test_chunk_insertion_changes_only_nearby(void **state)
{
    (void)state;
    size_t len = 4u << 20;
    uint8_t *data = s_random(len, 4);
    s_insert_case(data, len, 0, 1, 3);
    s_insert_case(data, len, 0, 100, 3);
    s_insert_case(data, len, len / 2 + 777, 1, 3);
    s_insert_case(data, len, len / 2 + 777, 100, 3);
    s_insert_case(data, len, len - 10, 5000, 3);
    /* many places: on average barely more than one block */
    size_t total = 0;
    for (size_t k = 1; k <= 20; k++) {
        chunk_block_t *a = NULL, *b = NULL;
        size_t na = 0, nb = 0, at = k * (len / 21) + k * 31, head = 0, tail = 0;
        uint8_t *edited = malloc(len + 1);
        assert_non_null(edited);
        memcpy(edited, data, at);
        edited[at] = (uint8_t)k;
        memcpy(edited + at + 1, data + at, len - at);
        s_blocks(&s_small, data, len, s_whole, &a, &na);
        s_blocks(&s_small, edited, len + 1, s_whole, &b, &nb);
        while (head < na && head < nb && memcmp(&a[head], &b[head], sizeof *a) == 0) {
            head++;
        }
        while (tail < na - head && tail < nb - head &&
               memcmp(&a[na - 1 - tail], &b[nb - 1 - tail], sizeof *a) == 0) {
            tail++;
        }
        total += nb - head - tail;
        free(a);
        free(b);
        free(edited);
    }
    CHECK(total <= 30); /* 20 insertions: at most 1.5 new blocks each on average */
    free(data);
}

static void
test_chunk_fd_matches_stream(void **state)
{
    (void)state;
    char path[] = "/tmp/test_chunk.XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    /* 40 MiB: five of chunk_fd's rounds (cut, then named on two threads beside the next),
     * the blocks across their edges too; then 3 MiB, one round */
    size_t len = (40u << 20) + 12345, n = 0, m = 0;
    uint8_t *data = s_random(len, 5);
    chunk_block_t *a = NULL, *b = NULL;
    uint64_t bytes = 0;
    for (int round = 0; round < 2; round++, len = (3u << 20) + 12345) {
        CHECK(ftruncate(fd, 0) == 0 && lseek(fd, 0, SEEK_SET) == 0);
        CHECK(write(fd, data, len) == (ssize_t)len);
        CHECK(lseek(fd, 0, SEEK_SET) == 0);
        CHECK_OK(chunk_fd(fd, NULL, SIZE_MAX, &a, &n, &bytes));
        CHECK_EQ(bytes, len);
        s_blocks(NULL, data, len, s_odd, &b, &m);
        CHECK_EQ(n, m);
        CHECK(memcmp(a, b, n * sizeof *a) == 0);
        free(a);
        free(b);
    }
    /* the cap: fewer blocks allowed than the file has */
    CHECK(lseek(fd, 0, SEEK_SET) == 0);
    a = (chunk_block_t *)data;
    CHECK_EQ(chunk_fd(fd, NULL, n - 1, &a, &m, &bytes), MESH_ETOOBIG);
    CHECK(a == NULL && m == 0);
    /* an empty file has no block; a bad fd is refused */
    CHECK(ftruncate(fd, 0) == 0 && lseek(fd, 0, SEEK_SET) == 0);
    CHECK_OK(chunk_fd(fd, NULL, SIZE_MAX, &a, &m, &bytes));
    CHECK(m == 0 && bytes == 0);
    free(a);
    CHECK_EQ(chunk_fd(-1, NULL, SIZE_MAX, &a, &m, &bytes), MESH_EINVAL);
    int wfd = open(path, O_WRONLY);
    CHECK(wfd >= 0);
    CHECK_EQ(chunk_fd(wfd, NULL, SIZE_MAX, &a, &m, &bytes), MESH_EIO); /* not readable */
    CHECK(a == NULL && m == 0);
    close(wfd);
    close(fd);
    unlink(path);
    free(data);
}

/* chunk_file a round at a time: the same blocks as chunk_fd, several steps for a file of
 * several rounds, nothing to take before the last; a file freed half read leaves nothing. */
static void
test_chunk_file_steps(void **state)
{
    (void)state;
    char path[] = "/tmp/test_chunk.XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    size_t len = (20u << 20) + 777, n = 0, m = 0, steps = 0;
    uint8_t *data = s_random(len, 9);
    CHECK(write(fd, data, len) == (ssize_t)len);
    chunk_block_t *a = NULL, *b = NULL;
    chunk_file_t *cf = NULL;
    bool done = false;
    CHECK(lseek(fd, 0, SEEK_SET) == 0);
    CHECK_OK(chunk_file_new(fd, NULL, SIZE_MAX, &cf));
    CHECK_OK(chunk_file_step(cf, &done));
    CHECK(!done);
    CHECK_EQ(chunk_file_take(cf, &a, &n), MESH_EINVAL);
    CHECK(a == NULL && n == 0);
    for (steps = 1; !done; steps++) {
        CHECK_OK(chunk_file_step(cf, &done));
    }
    CHECK(steps >= 3);
    CHECK_EQ(chunk_file_bytes(cf), len);
    CHECK_OK(chunk_file_take(cf, &a, &n));
    chunk_file_free(cf);
    s_blocks(NULL, data, len, s_odd, &b, &m);
    CHECK_EQ(n, m);
    CHECK(memcmp(a, b, n * sizeof *a) == 0);
    free(a);
    free(b);
    /* stopped half way: the naming threads are joined, the buffers freed */
    CHECK(lseek(fd, 0, SEEK_SET) == 0);
    CHECK_OK(chunk_file_new(fd, NULL, SIZE_MAX, &cf));
    CHECK_OK(chunk_file_step(cf, &done));
    CHECK_OK(chunk_file_step(cf, &done));
    CHECK(!done);
    chunk_file_free(cf);
    chunk_file_free(NULL);
    close(fd);
    unlink(path);
    free(data);
}

/* The protocol's cut points of a fixed input (splitmix64 from seed 18, 4 MiB): every device
 * must cut alike, so a change to the gear table or the cut rule is a protocol change
 * (docs/PROTOCOL.md §18.1) and must fail here. */
static void
test_chunk_protocol_cuts_pinned(void **state)
{
    (void)state;
    static const uint32_t want[] = {173984, 186283, 159390, 75347,  135358, 41516,  149446,
                                    143797, 208028, 204450, 180773, 139474, 132644, 135317,
                                    150185, 142110, 133548, 138739, 196118, 172572, 181836,
                                    131305, 209486, 226387, 184245, 55137,  143037, 63792};
    size_t len = 4u << 20, n = 0;
    uint8_t *data = s_random(len, 18);
    chunk_block_t *b = NULL;
    s_blocks(NULL, data, len, s_odd, &b, &n);
    if (getenv("TEST_CHUNK_PRINT")) {
        for (size_t i = 0; i < n; i++) {
            printf("%u,", b[i].size);
        }
        printf("\n");
    }
    CHECK_EQ(n, sizeof want / sizeof want[0]);
    for (size_t i = 0; i < n; i++) {
        CHECK_EQ(b[i].size, want[i]);
    }
    free(b);
    free(data);
}

int
main(void)
{
    if (ident_lib_init() != MESH_OK) {
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chunk_params_refused),
        cmocka_unit_test(test_chunk_min_max_respected),
        cmocka_unit_test(test_chunk_pieces_give_same_cuts),
        cmocka_unit_test(test_chunk_block_names),
        cmocka_unit_test(test_chunk_insertion_changes_only_nearby),
        cmocka_unit_test(test_chunk_fd_matches_stream),
        cmocka_unit_test(test_chunk_file_steps),
        cmocka_unit_test(test_chunk_protocol_cuts_pinned),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
