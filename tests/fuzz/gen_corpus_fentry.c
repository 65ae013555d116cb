/* tests/fuzz/gen_corpus_fentry.c: writes the seed corpus of fuzz_fentry into a directory:
 * files of 0, 1, 3 and 300 blocks, a directory, symlinks (short, at the target cap), mtimes
 * negative and at the integer forms' edges, and broken ones: one byte short and long,
 * another version, a size that is not the sum, a block past 1 MiB, setuid mode, a directory
 * with blocks, a symlink with a NUL; a large file's layout 2 (§25) and one piece of 148
 * blocks; folder records (§18.5: record, -long, -version-2, -not-shortest). file-300 and
 * file-300-size-off were written by the layout 1 encoder (before §25: an older device's
 * entry, still read); this program now writes layout 2 there.
 * Not built by the Makefile; run by hand after a layout change, from the top directory:
 *   make build/libmeshsync.a && cc -std=c11 -D_DEFAULT_SOURCE -Iinclude -I. \
 *     tests/fuzz/gen_corpus_fentry.c build/libmeshsync.a $(pkg-config --libs msgpack) \
 *     -o build/gen_corpus_fentry && build/gen_corpus_fentry tests/fuzz/corpus/fentry
 * Layer: tests. Third-party: none. SPDX-License-Identifier: MIT */
#include "core/wire/fentry.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int
s_write(const char *dir, const char *name, const uint8_t *p, size_t n)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || (n && fwrite(p, 1, n, f) != n) || fclose(f) != 0) {
        fprintf(stderr, "cannot write %s\n", path);
        return 1;
    }
    return 0;
}

/* Encode e and write it as name; with a mutation: cut (bytes less), extra (a byte more), or
 * byte `at` set to v. */
static int
s_put(const char *dir, const char *name, const wire_fentry_t *e, long cut, int extra, long at,
      uint8_t v)
{
    wire_buf_t out;
    wire_buf_init(&out);
    if (wire_fentry_encode(e, &out) != MESH_OK || wire_buf_append(&out, "\0", 1) != MESH_OK) {
        fprintf(stderr, "cannot encode %s\n", name);
        return 1;
    }
    out.len--;
    if (at >= 0 && (size_t)at < out.len) {
        out.data[at] = v;
    }
    int bad = s_write(dir, name, out.data, out.len - (size_t)cut + (size_t)extra);
    wire_buf_release(&out);
    return bad;
}

int
main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: gen_corpus_fentry DIR\n");
        return 2;
    }
    const char *d = argv[1];
    static wire_fentry_block_t blocks[300];
    for (size_t i = 0; i < 300; i++) {
        memset(blocks[i].hash, (int)i, sizeof blocks[i].hash);
        blocks[i].size = i % 3 == 0 ? 131072 : (uint32_t)(1 + i * 997);
    }
    int bad = 0;
    wire_fentry_t e = {.type = WIRE_FENTRY_FILE, .mode = 0644, .mtime_ns = 1733360000123456789ll};
    bad |= s_put(d, "file-empty", &e, 0, 0, -1, 0);
    e.blocks = blocks, e.nblocks = 1, e.size = blocks[0].size;
    bad |= s_put(d, "file-1", &e, 0, 0, -1, 0);
    bad |= s_put(d, "file-1-short", &e, 1, 0, -1, 0);
    bad |= s_put(d, "file-1-long", &e, 0, 1, -1, 0);
    bad |= s_put(d, "file-1-version-2", &e, 0, 0, 1, 2);
    e.nblocks = 3, e.size = (uint64_t)blocks[0].size + blocks[1].size + blocks[2].size;
    e.mtime_ns = -1;
    bad |= s_put(d, "file-3-mtime-neg", &e, 0, 0, -1, 0);
    e.mtime_ns = INT64_MIN;
    bad |= s_put(d, "file-3-mtime-min", &e, 0, 0, -1, 0);
    e.mtime_ns = -33;
    bad |= s_put(d, "file-3-mtime-int8", &e, 0, 0, -1, 0);
    e.nblocks = 300, e.size = 0;
    for (size_t i = 0; i < 300; i++) {
        e.size += blocks[i].size;
    }
    e.mtime_ns = 5;
    bad |= s_put(d, "file-300", &e, 0, 0, -1, 0);
    bad |= s_put(d, "file-300-size-off", &e, 0, 0, 6, 0x00); /* a byte of the size changed */
    bad |= s_put(d, "file-300-pieces", &e, 0, 0, -1, 0);
    bad |= s_put(d, "file-300-pieces-short", &e, 1, 0, -1, 0);
    {
        static wire_fentry_block_t pb[148]; /* a piece: 129 + (its last byte, 19) % 128 blocks */
        for (size_t i = 0; i < 148; i++) {
            memset(pb[i].hash, (int)(i + 1), sizeof pb[i].hash);
            pb[i].size = i + 1 == 148 ? 19 + 128 * 1000 : (uint32_t)(100 + i);
        }
        wire_buf_t out;
        wire_buf_init(&out);
        bad |= wire_fentry_piece_encode(pb, 148, &out) != MESH_OK ||
               s_write(d, "piece-148", out.data, out.len);
        wire_buf_release(&out);
    }
    wire_fentry_t dir = {.type = WIRE_FENTRY_DIR, .mode = 0755, .mtime_ns = 7};
    bad |= s_put(d, "dir", &dir, 0, 0, -1, 0);
    bad |= s_put(d, "dir-setuid-mode", &dir, 0, 0, 4, 0x09); /* 0755 -> 04755 */
    char target[WIRE_FENTRY_TARGET_MAX];
    memset(target, 'z', sizeof target);
    wire_fentry_t ln = {.type = WIRE_FENTRY_SYMLINK, .mode = 0777, .target = "../a/b",
                        .target_len = 6};
    bad |= s_put(d, "symlink", &ln, 0, 0, -1, 0);
    bad |= s_put(d, "symlink-nul", &ln, 0, 0, 9, 0);
    bad |= s_put(d, "symlink-as-dir", &ln, 0, 0, 2, 1);
    ln.target = target, ln.target_len = sizeof target;
    bad |= s_put(d, "symlink-cap", &ln, 0, 0, -1, 0);
    /* the folder record under the reserved key (§18.5): good, another version, a byte
     * long, an integer not in its shortest form */
    static const uint8_t rec[] = {0x92, 0x01, 0xce, 0x69, 0x32, 0x8a, 0x00, 0x00};
    static const uint8_t rec_v2[] = {0x92, 0x02, 0xce, 0x69, 0x32, 0x8a, 0x00};
    static const uint8_t rec_wide[] = {0x92, 0x01, 0xcc, 0x05};
    bad |= s_write(d, "record", rec, sizeof rec - 1);
    bad |= s_write(d, "record-long", rec, sizeof rec);
    bad |= s_write(d, "record-version-2", rec_v2, sizeof rec_v2);
    bad |= s_write(d, "record-not-shortest", rec_wide, sizeof rec_wide);
    return bad;
}
