/* tests/unit/test_blockidx.c: the block index kept in step incrementally (core/folder/
 * blockidx, docs/PROTOCOL.md §18.6) on real files: a block is found where its record says;
 * after a record's blocks change, only the new block is found there (the old one nowhere);
 * a dropped record's block is gone; another folder's file of the same bytes is a second
 * place (the first changed on disk: the second is read); 300 files each found; and
 * blockidx_forget drops a folder. A large file's pieces (§25): each piece of its record's
 * block list is answered with its bytes (hashing to its name), the old pieces gone after
 * the record changed, the unchanged ones still there; a small file has none. Answers from
 * kept directories never follow a link.
 * Layer: tests. Third-party: cmocka. SPDX-License-Identifier: MIT */
#include "core/folder/blockidx.h"
#include "core/folder/index.h"
#include "crypto/hash.h"
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
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

/* Write text as root/name and record it in f as one block; its hash into hash. */
static void
s_file(folder_t *f, const char *name, const char *text, uint8_t *hash)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", f->root, name);
    FILE *out = fopen(path, "w");
    CHECK(out && fputs(text, out) >= 0);
    fclose(out);
    hash_tagged(HASH_TAG_BLOCK, text, strlen(text), hash);
    index_rec_t rec = {.type = WIRE_FENTRY_FILE, .size = strlen(text), .nblocks = 1};
    rec.blocks = calloc(1, sizeof *rec.blocks);
    CHECK(rec.blocks);
    memcpy(rec.blocks[0].hash, hash, 32);
    rec.blocks[0].size = (uint32_t)strlen(text);
    CHECK_OK(index_set(f, name, &rec));
}

static bool
s_reads(const blockidx_t *bi, const uint8_t *hash, const char *want)
{
    uint8_t buf[256];
    size_t len = 0;
    return blockidx_read(bi, hash, buf, sizeof buf, &len) == MESH_OK && len == strlen(want) &&
           memcmp(buf, want, len) == 0;
}

static void
test_incremental(void **state)
{
    (void)state;
    char dir1[] = "/tmp/test_blockidx.XXXXXX", dir2[] = "/tmp/test_blockidx.XXXXXX";
    CHECK(mkdtemp(dir1) && mkdtemp(dir2));
    folder_t *f1 = index_folder_new("one", dir1), *f2 = index_folder_new("two", dir2);
    CHECK(f1 && f2);
    f1->root_fd = open(dir1, O_RDONLY | O_DIRECTORY);
    f2->root_fd = open(dir2, O_RDONLY | O_DIRECTORY);
    uint8_t ha[32], hb[32], hc[32], hx[32];
    s_file(f1, "a", "alpha bytes", ha);
    s_file(f1, "b", "beta bytes", hb);
    blockidx_t *bi = blockidx_new();
    folder_t *list[2] = {f1, f2};
    CHECK_OK(blockidx_update(bi, list, 1));
    CHECK(s_reads(bi, ha, "alpha bytes") && s_reads(bi, hb, "beta bytes"));
    /* a's blocks change: the new block is found, the old one nowhere */
    s_file(f1, "a", "alpha changed", hc);
    CHECK_OK(blockidx_update(bi, list, 1));
    CHECK(s_reads(bi, hc, "alpha changed") && !blockidx_has(bi, ha));
    CHECK(s_reads(bi, hb, "beta bytes"));
    /* b's record dropped: its block is gone */
    CHECK_OK(index_set(f1, "b", NULL));
    CHECK_OK(blockidx_update(bi, list, 1));
    CHECK(!blockidx_has(bi, hb) && s_reads(bi, hc, "alpha changed"));
    /* the same bytes in a second folder: a second place, read when the first changed */
    s_file(f2, "copy", "alpha changed", hx);
    CHECK(memcmp(hx, hc, 32) == 0);
    CHECK_OK(blockidx_update(bi, list, 2));
    char path[4096];
    snprintf(path, sizeof path, "%s/a", dir1);
    FILE *out = fopen(path, "w");
    CHECK(out && fputs("edited since its scan", out) >= 0);
    fclose(out);
    CHECK(s_reads(bi, hc, "alpha changed")); /* (from two/copy) */
    /* many files: each found, then all dropped */
    for (int i = 0; i < 300; i++) {
        char name[32], text[64];
        uint8_t h[32];
        snprintf(name, sizeof name, "n%03d", i);
        snprintf(text, sizeof text, "file number %d", i);
        s_file(f2, name, text, h);
    }
    CHECK_OK(blockidx_update(bi, list, 2));
    for (int i = 0; i < 300; i += 37) {
        char text[64];
        uint8_t h[32];
        snprintf(text, sizeof text, "file number %d", i);
        hash_tagged(HASH_TAG_BLOCK, text, strlen(text), h);
        CHECK(s_reads(bi, h, text));
    }
    /* a folder forgotten (before it is freed): nothing of it is found (one/a still names
     * the block, but its file was edited: no place left that reads back) */
    uint8_t h0[32];
    hash_tagged(HASH_TAG_BLOCK, "file number 0", 13, h0);
    blockidx_forget(bi, f2);
    CHECK(!blockidx_has(bi, h0) && blockidx_has(bi, hc) && !s_reads(bi, hc, "alpha changed"));
    CHECK_OK(blockidx_update(bi, list, 1)); /* (f2 no longer listed) */
    CHECK(!blockidx_has(bi, h0));
    blockidx_free(bi);
    index_folder_free(f1);
    index_folder_free(f2);
    util_rm_tree(dir1);
    util_rm_tree(dir2);
}

/* Record blocks[0..n) under name in f. */
static void
s_set_blocks(folder_t *f, const char *name, const wire_fentry_block_t *blocks, size_t n)
{
    index_rec_t rec = {.type = WIRE_FENTRY_FILE, .nblocks = n};
    rec.blocks = calloc(n, sizeof *rec.blocks);
    CHECK(rec.blocks);
    memcpy(rec.blocks, blocks, n * sizeof *blocks);
    for (size_t i = 0; i < n; i++) {
        rec.size += blocks[i].size;
    }
    CHECK_OK(index_set(f, name, &rec));
}

/* n blocks (seeded random hashes, sizes 1000..) into out. */
static void
s_big_blocks(size_t n, uint64_t seed, wire_fentry_block_t *out)
{
    for (size_t i = 0; i < n; i++) {
        uint64_t x = seed * 1000003u + i;
        hash_tagged(HASH_TAG_BLOCK, &x, sizeof x, out[i].hash);
        out[i].size = 1000 + (uint32_t)i;
    }
}

/* How many of pieces[0..n) bi answers, each checked: its bytes hash to its name. */
static size_t
s_pieces_held(const blockidx_t *bi, const wire_fentry_piece_t *pieces, size_t n)
{
    size_t held = 0;
    uint8_t buf[WIRE_FENTRY_PIECE_BYTES], got[32];
    for (size_t k = 0; k < n; k++) {
        size_t len = 0;
        if (blockidx_read(bi, pieces[k].hash, buf, sizeof buf, &len) == MESH_OK) {
            hash_tagged(HASH_TAG_BLOCK, buf, len, got);
            CHECK(memcmp(got, pieces[k].hash, 32) == 0);
            held++;
        }
    }
    return held;
}

static void
test_pieces(void **state)
{
    (void)state;
    char dir[] = "/tmp/test_blockidx.XXXXXX";
    CHECK(mkdtemp(dir));
    folder_t *f = index_folder_new("one", dir);
    CHECK(f);
    f->root_fd = open(dir, O_RDONLY | O_DIRECTORY);
    static wire_fentry_block_t a[1000], b[1000];
    wire_fentry_piece_t *pa = NULL, *pb = NULL, *ps = NULL;
    size_t na = 0, nb = 0, ns = 0;
    s_big_blocks(1000, 1, a);
    s_big_blocks(WIRE_FENTRY_INLINE_MAX, 2, b);
    s_set_blocks(f, "big", a, 1000);
    s_set_blocks(f, "small", b, WIRE_FENTRY_INLINE_MAX); /* (inline: no pieces) */
    CHECK_OK(wire_fentry_cut(b, WIRE_FENTRY_INLINE_MAX, &ps, &ns));
    CHECK_OK(wire_fentry_cut(a, 1000, &pa, &na));
    CHECK(na >= 4);
    blockidx_t *bi = blockidx_new();
    CHECK_OK(blockidx_update(bi, &f, 1));
    CHECK_EQ(s_pieces_held(bi, pa, na), na);
    CHECK_EQ(s_pieces_held(bi, ps, ns), 0);
    /* one block of big changes: its piece is new, the old one gone, the others held */
    memcpy(b, a, sizeof a);
    b[500].hash[0] ^= 1;
    s_set_blocks(f, "big", b, 1000);
    CHECK_OK(wire_fentry_cut(b, 1000, &pb, &nb));
    CHECK_OK(blockidx_update(bi, &f, 1));
    CHECK_EQ(s_pieces_held(bi, pb, nb), nb);
    CHECK_EQ(s_pieces_held(bi, pa, na), na - 1);
    blockidx_free(bi);
    free(pa);
    free(pb);
    free(ps);
    index_folder_free(f);
    util_rm_tree(dir);
}

static bool
s_answers(blockidx_t *bi, const uint8_t *hash, const char *want)
{
    uint8_t buf[256];
    size_t len = 0;
    return blockidx_answer(bi, hash, buf, sizeof buf, &len) == MESH_OK && len == strlen(want) &&
           memcmp(buf, want, len) == 0;
}

/* blockidx_answer keeps the directory of its files open for the next answers, never
 * following a link: a file replaced by a symlink in a kept directory is refused; once the
 * folder's records changed, a directory replaced by a symlink is refused too (opened again
 * by its path). */
static void
test_answer_kept_dirs(void **state)
{
    (void)state;
    char dir[] = "/tmp/test_blockidx.XXXXXX", path[4096], to[4096];
    CHECK(mkdtemp(dir));
    folder_t *f = index_folder_new("one", dir);
    CHECK(f);
    f->root_fd = open(dir, O_RDONLY | O_DIRECTORY);
    snprintf(path, sizeof path, "%s/d", dir);
    CHECK(mkdir(path, 0700) == 0);
    snprintf(path, sizeof path, "%s/out", dir);
    CHECK(mkdir(path, 0700) == 0);
    uint8_t hf[32], hg[32], hh[32], hx[32];
    s_file(f, "d/f", "first bytes", hf);
    s_file(f, "d/g", "second bytes", hg);
    s_file(f, "d/h", "third bytes", hh);
    s_file(f, "out/g", "second bytes", hx);
    CHECK_OK(index_set(f, "out/g", NULL)); /* (out/ holds the bytes, no record says so) */
    blockidx_t *bi = blockidx_new();
    CHECK_OK(blockidx_update(bi, &f, 1));
    CHECK(s_answers(bi, hf, "first bytes") && s_answers(bi, hg, "second bytes"));
    /* d/g becomes a link to out/g (the same bytes): refused, in the kept directory too */
    snprintf(path, sizeof path, "%s/d/g", dir);
    CHECK(unlink(path) == 0 && symlink("../out/g", path) == 0);
    CHECK(!s_answers(bi, hg, "second bytes"));
    /* d becomes a link to out once the records changed: d/h is refused */
    snprintf(path, sizeof path, "%s/d", dir);
    snprintf(to, sizeof to, "%s/d.old", dir);
    CHECK(rename(path, to) == 0 && symlink("out", path) == 0);
    snprintf(path, sizeof path, "%s/out/h", dir);
    FILE *out = fopen(path, "w");
    CHECK(out && fputs("third bytes", out) >= 0);
    fclose(out);
    s_file(f, "x", "a new record", hx);
    CHECK_OK(blockidx_update(bi, &f, 1));
    CHECK(!s_answers(bi, hh, "third bytes") && s_answers(bi, hx, "a new record"));
    blockidx_free(bi);
    index_folder_free(f); /* (closes its root) */
    util_rm_tree(dir);
}

int
main(void)
{
    if (ident_lib_init() != MESH_OK) {
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_incremental),
        cmocka_unit_test(test_pieces),
        cmocka_unit_test(test_answer_kept_dirs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
