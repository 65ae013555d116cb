/* tests/fuzz/fuzz_fentry.c: libFuzzer harness for a folder's file entries (docs/PROTOCOL.md
 * §18.2, core/wire/fentry.c), which come from any member. Every input is decoded: what
 * decodes must keep every rule (type, mode bits, a target only for a symlink and without
 * NUL, blocks only for a file, each 1 byte to 1 MiB, summing to the size, the caps) and
 * re-encode to the very same bytes; what does not must fail with a decoder's error and a
 * zeroed entry. Then the input's bytes build an entry of their own (type, mode, mtime,
 * target, block sizes and hashes), which must encode when it keeps the rules, refuse with
 * MESH_EINVAL when not, and decode back to itself. Any breach abort()s.
 * Built with tests/fuzz/check.c by `make fuzz` (clang, libFuzzer) and, with
 * tests/fuzz/replay.c, by gcc for `make test`. Seeds: corpus/fentry/ (gen_corpus_fentry.c).
 * Layer: tests. Third-party: none. SPDX-License-Identifier: MIT */
#include "check.h"

#include "core/wire/fentry.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define S_BUILT_MAX 64u /* blocks of an entry built from the input */

/* Does e keep every rule of §18.2? */
static bool
s_keeps_rules(const wire_fentry_t *e)
{
    uint64_t sum = 0;
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
    wire_buf_t out;
    wire_buf_init(&out);
    CHECK(wire_fentry_encode(&e, &out) == MESH_OK);
    CHECK(out.len == size && memcmp(out.data, data, size) == 0);
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

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    s_decode(data, size);
    s_build(data, size);
    return 0;
}
