/* tests/fuzz/fuzz_fentry.c: libFuzzer harness for a folder's file entries (docs/PROTOCOL.md
 * §18.2, core/wire/fentry.c), which come from any member. Every input is decoded: what
 * decodes must keep every rule (type, mode bits, a target only for a symlink and without
 * NUL, blocks only for a file, each 1 byte to 1 MiB, summing to the size, the caps) and
 * re-encode to the very same bytes; what does not must fail with a decoder's error and a
 * zeroed entry. Then the input's bytes build an entry of their own (type, mode, mtime,
 * target, block sizes and hashes), which must encode when it keeps the rules, refuse with
 * MESH_EINVAL when not, and decode back to itself. A large file's layout 2 (§25): what
 * decodes keeps the piece rules and round trips too (a layout 1 entry of more than 128
 * blocks, an older device's, re-encodes as layout 2 of the same blocks); the input is also
 * offered as the bytes of a piece (named by its hash), which expands or is refused leaving
 * the entry as it was. The input is also decoded as a folder record (§18.5, core/wire/frecord.c,
 * the value under the index's one reserved key): what decodes re-encodes to the same bytes,
 * what does not fails with a decoder's error and a zeroed record. Any breach abort()s.
 * Built with tests/fuzz/check.c by `make fuzz` (clang, libFuzzer) and, with
 * tests/fuzz/replay.c, by gcc for `make test`. Seeds: corpus/fentry/ (gen_corpus_fentry.c).
 * Layer: tests. Third-party: none. SPDX-License-Identifier: MIT */
#include "check.h"

#include "core/wire/fentry.h"
#include "core/wire/frecord.h"
#include "crypto/hash.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define S_BUILT_MAX 64u /* blocks of an entry built from the input */

/* Does e keep the piece rules of §25 (pieces only, as decoded)? */
static bool
s_keeps_piece_rules(const wire_fentry_t *e)
{
    uint64_t total = 0;
    if (e->type != WIRE_FENTRY_FILE || e->nblocks || e->blocks || !e->pieces ||
        e->npieces > WIRE_FENTRY_PIECES_MAX) {
        return false;
    }
    for (size_t i = 0; i < e->npieces; i++) {
        uint32_t n = e->pieces[i].nblocks;
        if (n == 0 || n > WIRE_FENTRY_PIECE_MAX ||
            (i + 1 < e->npieces && n < WIRE_FENTRY_PIECE_MIN)) {
            return false;
        }
        total += n;
    }
    return total > WIRE_FENTRY_INLINE_MAX && total <= WIRE_FENTRY_BLOCKS_MAX &&
           e->size >= total && e->size <= total * WIRE_FENTRY_BLOCK_MAX;
}

/* Does e keep every rule of §18.2? */
static bool
s_keeps_rules(const wire_fentry_t *e)
{
    uint64_t sum = 0;
    if (e->npieces) {
        return s_keeps_piece_rules(e);
    }
    if (e->type > WIRE_FENTRY_SYMLINK || e->mode > WIRE_FENTRY_MODE_MAX ||
        e->target_len > WIRE_FENTRY_TARGET_MAX || e->nblocks > WIRE_FENTRY_BLOCKS_MAX) {
        return false;
    }
    if ((e->type == WIRE_FENTRY_SYMLINK) != (e->target_len > 0) ||
        (e->target_len && memchr(e->target, 0, e->target_len))) {
        return false;
    }
    if (e->type != WIRE_FENTRY_FILE && (e->size || e->nblocks)) {
        return false;
    }
    for (size_t i = 0; i < e->nblocks; i++) {
        if (e->blocks[i].size == 0 || e->blocks[i].size > WIRE_FENTRY_BLOCK_MAX) {
            return false;
        }
        sum += e->blocks[i].size;
    }
    return sum == e->size;
}

static void
s_decode(const uint8_t *data, size_t size)
{
    wire_fentry_t e;
    mesh_err_t err = wire_fentry_decode(data, size, &e);
    if (err != MESH_OK) {
        CHECK(check_is_decode_error(err) || err == MESH_ENOMEM);
        CHECK(check_is_zero(&e, sizeof e));
        return;
    }
    CHECK(s_keeps_rules(&e));
    CHECK(e.target_len == 0 ? e.target == NULL : e.target[e.target_len] == '\0');
    CHECK((e.nblocks == 0) == (e.blocks == NULL));
    CHECK((e.npieces == 0) == (e.pieces == NULL));
    wire_buf_t out;
    wire_buf_init(&out);
    CHECK(wire_fentry_encode(&e, &out) == MESH_OK);
    if (e.nblocks > WIRE_FENTRY_INLINE_MAX) { /* layout 1 of many blocks: now layout 2 */
        wire_fentry_t d;
        CHECK(out.len > 2 && out.data[1] == WIRE_FENTRY_VERSION_PIECES);
        CHECK(wire_fentry_decode(out.data, out.len, &d) == MESH_OK);
        CHECK(d.size == e.size && wire_fentry_lists(&d, e.blocks, e.nblocks));
        wire_fentry_release(&d);
    } else {
        CHECK(out.len == size && memcmp(out.data, data, size) == 0);
    }
    wire_buf_release(&out);
    wire_fentry_release(&e);
    CHECK(check_is_zero(&e, sizeof e));
}

/* An entry from the input's bytes: [type, mode hi, mode lo, 8 mtime bytes, target length,
 * target..., then 3 bytes of size and 1 hash byte per block]. */
static void
s_build(const uint8_t *data, size_t size)
{
    if (size < 12) {
        return;
    }
    wire_fentry_block_t blocks[S_BUILT_MAX];
    char target[256];
    wire_fentry_t e = {.type = data[0] % 4, .mode = (uint32_t)(data[1] << 8 | data[2]) & 07777};
    uint64_t mt = 0;
    for (int i = 0; i < 8; i++) {
        mt = mt << 8 | data[3 + i];
    }
    memcpy(&e.mtime_ns, &mt, sizeof mt);
    size_t pos = 12, tlen = data[11];
    if (tlen && pos + tlen <= size) {
        memcpy(target, data + pos, tlen);
        e.target = target;
        e.target_len = tlen;
        pos += tlen;
    }
    for (; pos + 4 <= size && e.nblocks < S_BUILT_MAX; pos += 4) {
        wire_fentry_block_t *b = &blocks[e.nblocks++];
        b->size = (uint32_t)(data[pos] << 16 | data[pos + 1] << 8 | data[pos + 2]) % 0x180000;
        memset(b->hash, data[pos + 3], sizeof b->hash);
        e.size += b->size;
    }
    e.blocks = e.nblocks ? blocks : NULL;
    if (data[0] & 0x80) {
        e.size += 1; /* sometimes not the sum */
    }
    wire_buf_t out;
    wire_buf_init(&out);
    mesh_err_t err = wire_fentry_encode(&e, &out);
    if (!s_keeps_rules(&e)) {
        CHECK(err == MESH_EINVAL && out.len == 0);
    } else {
        wire_fentry_t d;
        CHECK(err == MESH_OK);
        CHECK(wire_fentry_decode(out.data, out.len, &d) == MESH_OK);
        CHECK(d.type == e.type && d.mode == e.mode && d.size == e.size &&
              d.mtime_ns == e.mtime_ns && d.target_len == e.target_len &&
              d.nblocks == e.nblocks);
        CHECK(e.target_len == 0 || memcmp(d.target, e.target, e.target_len) == 0);
        CHECK(e.nblocks == 0 || memcmp(d.blocks, e.blocks, e.nblocks * sizeof *e.blocks) == 0);
        wire_fentry_release(&d);
    }
    wire_buf_release(&out);
}

typedef struct s_one_piece {
    const uint8_t *data;
    size_t size;
} s_one_piece_t;

/* wire_fentry_piece_fn: the input as the bytes of every piece asked for. */
static mesh_err_t
s_piece_fn(void *ctx, const wire_fentry_piece_t *pc, uint8_t *buf, size_t cap, size_t *len)
{
    const s_one_piece_t *p = ctx;
    (void)pc;
    if (p->size > cap) {
        return MESH_ENOTFOUND;
    }
    memcpy(buf, p->data, p->size);
    *len = p->size;
    return MESH_OK;
}

/* The input as a piece: an entry of one piece named by its hash, of 129 + (its last byte %
 * 128) blocks (a valid piece's last byte is its last block size's low byte), expanded. */
static void
s_piece(const uint8_t *data, size_t size)
{
    if (size < 1 || size > WIRE_FENTRY_PIECE_BYTES) {
        return;
    }
    wire_fentry_piece_t pc = {.nblocks = WIRE_FENTRY_INLINE_MAX + 1u + data[size - 1] % 128u};
    hash_tagged(HASH_TAG_BLOCK, data, size, pc.hash);
    for (int k = 0; k < 2; k++) {
        wire_fentry_t e = {.type = WIRE_FENTRY_FILE, .pieces = &pc, .npieces = 1};
        e.size = k == 0 ? pc.nblocks : (uint64_t)pc.nblocks * WIRE_FENTRY_BLOCK_MAX;
        s_one_piece_t src = {data, size};
        mesh_err_t err = wire_fentry_expand(&e, s_piece_fn, &src);
        if (err != MESH_OK) {
            CHECK(err == MESH_EPROTO || err == MESH_ENOMEM);
            CHECK(e.blocks == NULL && e.nblocks == 0);
            continue;
        }
        uint64_t sum = 0;
        CHECK(e.nblocks == pc.nblocks && e.blocks);
        for (size_t i = 0; i < e.nblocks; i++) {
            CHECK(e.blocks[i].size >= 1 && e.blocks[i].size <= WIRE_FENTRY_BLOCK_MAX);
            sum += e.blocks[i].size;
        }
        CHECK(sum == e.size);
        wire_buf_t out; /* the blocks are the piece's own: the same bytes again */
        wire_buf_init(&out);
        CHECK(wire_fentry_piece_encode(e.blocks, e.nblocks, &out) == MESH_OK);
        CHECK(out.len == size && memcmp(out.data, data, size) == 0);
        wire_buf_release(&out);
        free(e.blocks);
    }
}

/* The input as a folder record: refused with a zeroed record, or the same bytes again. */
static void
s_record(const uint8_t *data, size_t size)
{
    wire_frecord_t r;
    mesh_err_t err = wire_frecord_decode(data, size, &r);
    if (err != MESH_OK) {
        CHECK(err == MESH_EPROTO);
        CHECK(check_is_zero(&r, sizeof r));
        return;
    }
    wire_buf_t out;
    wire_buf_init(&out);
    CHECK(wire_frecord_encode(&r, &out) == MESH_OK);
    CHECK(out.len == size && memcmp(out.data, data, size) == 0);
    wire_buf_release(&out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    s_decode(data, size);
    s_build(data, size);
    s_piece(data, size);
    s_record(data, size);
    return 0;
}
