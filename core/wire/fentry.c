/* core/wire/fentry.c: a folder's file entry (docs/PROTOCOL.md §18.2): a msgpack array of 8,
 * [version 1, type, mode, size, mtime ns (int), target (bin), hashes (bin of 32 bytes per
 * block), sizes (array of uint, one per block)], every integer in its shortest form; or a
 * large file's (§25): [version 2, ..., piece hashes (bin), piece block counts (array)].
 * Layer: core/wire. Third-party: msgpack.h (through cursor.h). SPDX-License-Identifier: MIT */
#include "core/wire/fentry.h"

#include "core/wire/cursor.h"
#include "crypto/hash.h"

#include <stdlib.h>
#include <string.h>

#define S_FIELDS 8u /* elements of the entry's array */

/* Does e keep every rule of §18.2 but the caps the decoder meets first? MESH_OK, or the
 * code to return. */
static mesh_err_t
s_rules(const wire_fentry_t *e, mesh_err_t bad)
{
    if (e->type > WIRE_FENTRY_SYMLINK || e->mode > WIRE_FENTRY_MODE_MAX) {
        return bad;
    }
    if (e->type != WIRE_FENTRY_SYMLINK && (e->target_len != 0 || e->target)) {
        return bad;
    }
    if (e->type == WIRE_FENTRY_SYMLINK &&
        (e->target_len == 0 || !e->target || memchr(e->target, 0, e->target_len))) {
        return bad;
    }
    if (e->type != WIRE_FENTRY_FILE && (e->size != 0 || e->nblocks != 0 || e->npieces != 0)) {
        return bad;
    }
    if (e->npieces) {
        uint64_t total = 0;
        for (size_t i = 0; i < e->npieces; i++) {
            uint32_t n = e->pieces[i].nblocks;
            if (n == 0 || n > WIRE_FENTRY_PIECE_MAX ||
                (i + 1 < e->npieces && n < WIRE_FENTRY_PIECE_MIN)) {
                return bad;
            }
            total += n;
        }
        if (total <= WIRE_FENTRY_INLINE_MAX || total > WIRE_FENTRY_BLOCKS_MAX || e->size < total ||
            e->size > total * WIRE_FENTRY_BLOCK_MAX || (e->nblocks && e->nblocks != total)) {
            return bad;
        }
        if (!e->nblocks) {
            return MESH_OK; /* (the sizes are checked when the pieces are read) */
        }
    }
    uint64_t sum = 0;
    for (size_t i = 0; i < e->nblocks; i++) {
        if (e->blocks[i].size == 0 || e->blocks[i].size > WIRE_FENTRY_BLOCK_MAX) {
            return bad;
        }
        sum += e->blocks[i].size;
    }
    return sum == e->size ? MESH_OK : bad;
}

/* Does block b, the count-th of its piece, end the piece (§25's cut rule)? */
static bool
s_cut_after(const wire_fentry_block_t *b, size_t count)
{
    return count >= WIRE_FENTRY_PIECE_MAX ||
           (count >= WIRE_FENTRY_PIECE_MIN &&
            (b->hash[WIRE_FENTRY_HASH - 1] & WIRE_FENTRY_PIECE_MASK) == 0);
}

mesh_err_t
wire_fentry_piece_encode(const wire_fentry_block_t *blocks, size_t n, wire_buf_t *out)
{
    if (n == 0 || n > WIRE_FENTRY_PIECE_MAX || !blocks) {
        return MESH_EINVAL;
    }
    size_t start = out->len;
    msgpack_packer pk;
    wire_pack_init(&pk, out);
    int rc = msgpack_pack_array(&pk, 3);
    rc |= msgpack_pack_uint64(&pk, 1);
    rc |= msgpack_pack_bin(&pk, n * WIRE_FENTRY_HASH);
    for (size_t i = 0; i < n; i++) {
        rc |= msgpack_pack_bin_body(&pk, blocks[i].hash, WIRE_FENTRY_HASH);
    }
    rc |= msgpack_pack_array(&pk, n);
    for (size_t i = 0; i < n; i++) {
        rc |= msgpack_pack_uint64(&pk, blocks[i].size);
    }
    return wire_pack_done(out, start, rc);
}

mesh_err_t
wire_fentry_cut(const wire_fentry_block_t *blocks, size_t n, wire_fentry_piece_t **pieces,
                size_t *npieces)
{
    *pieces = NULL;
    *npieces = 0;
    if (n > WIRE_FENTRY_BLOCKS_MAX || (n && !blocks)) {
        return MESH_EINVAL;
    }
    if (n == 0) {
        return MESH_OK;
    }
    /* at most one piece per PIECE_MIN blocks, and the last */
    wire_fentry_piece_t *v = malloc((n / WIRE_FENTRY_PIECE_MIN + 1) * sizeof *v);
    wire_buf_t buf;
    wire_buf_init(&buf);
    if (!v) {
        return MESH_ENOMEM;
    }
    mesh_err_t err = MESH_OK;
    size_t np = 0, first = 0;
    for (size_t i = 0; i < n && err == MESH_OK; i++) {
        if (i + 1 == n || s_cut_after(&blocks[i], i + 1 - first)) {
            wire_buf_reset(&buf);
            err = wire_fentry_piece_encode(blocks + first, i + 1 - first, &buf);
            if (err == MESH_OK) {
                hash_tagged(HASH_TAG_BLOCK, buf.data, buf.len, v[np].hash);
                v[np++].nblocks = (uint32_t)(i + 1 - first);
            }
            first = i + 1;
        }
    }
    wire_buf_release(&buf);
    if (err != MESH_OK) {
        free(v);
        return err;
    }
    *pieces = v;
    *npieces = np;
    return MESH_OK;
}

mesh_err_t
wire_fentry_encode(const wire_fentry_t *e, wire_buf_t *out)
{
    if (!e || !out || e->target_len > WIRE_FENTRY_TARGET_MAX ||
        e->nblocks > WIRE_FENTRY_BLOCKS_MAX || (e->nblocks && !e->blocks) ||
        e->npieces > WIRE_FENTRY_PIECES_MAX || (e->npieces && !e->pieces) ||
        s_rules(e, MESH_EINVAL) != MESH_OK) {
        return MESH_EINVAL;
    }
    wire_fentry_piece_t *cut = NULL;
    const wire_fentry_piece_t *pieces = e->pieces;
    size_t npieces = e->npieces;
    if (e->nblocks > WIRE_FENTRY_INLINE_MAX) { /* (the blocks win over pieces given) */
        mesh_err_t err = wire_fentry_cut(e->blocks, e->nblocks, &cut, &npieces);
        if (err != MESH_OK) {
            return err;
        }
        pieces = cut;
    } else if (e->nblocks) {
        npieces = 0; /* (pieces only with more blocks: s_rules) */
    }
    size_t start = out->len;
    msgpack_packer pk;
    wire_pack_init(&pk, out);
    int rc = msgpack_pack_array(&pk, S_FIELDS);
    rc |= msgpack_pack_uint64(&pk, npieces ? WIRE_FENTRY_VERSION_PIECES : WIRE_FENTRY_VERSION);
    rc |= msgpack_pack_uint64(&pk, e->type);
    rc |= msgpack_pack_uint64(&pk, e->mode);
    rc |= msgpack_pack_uint64(&pk, e->size);
    rc |= msgpack_pack_int64(&pk, e->mtime_ns);
    rc |= wire_pack_bin(&pk, e->target, e->target_len);
    if (npieces) {
        rc |= msgpack_pack_bin(&pk, npieces * WIRE_FENTRY_HASH);
        for (size_t i = 0; i < npieces; i++) {
            rc |= msgpack_pack_bin_body(&pk, pieces[i].hash, WIRE_FENTRY_HASH);
        }
        rc |= msgpack_pack_array(&pk, npieces);
        for (size_t i = 0; i < npieces; i++) {
            rc |= msgpack_pack_uint64(&pk, pieces[i].nblocks);
        }
        free(cut);
        return wire_pack_done(out, start, rc);
    }
    rc |= msgpack_pack_bin(&pk, e->nblocks * WIRE_FENTRY_HASH);
    for (size_t i = 0; i < e->nblocks; i++) {
        rc |= msgpack_pack_bin_body(&pk, e->blocks[i].hash, WIRE_FENTRY_HASH);
    }
    rc |= msgpack_pack_array(&pk, e->nblocks);
    for (size_t i = 0; i < e->nblocks; i++) {
        rc |= msgpack_pack_uint64(&pk, e->blocks[i].size);
    }
    return wire_pack_done(out, start, rc);
}

/* Read a signed 64-bit integer in msgpack's shortest form (a non-negative one as a uint,
 * a negative one as the shortest of negative fixint, int 8, 16, 32, 64). MESH_OK or
 * MESH_EPROTO. */
static mesh_err_t
s_int(wire_cursor_t *c, int64_t *v)
{
    if (wire_cursor_left(c) < 1) {
        return MESH_EPROTO;
    }
    uint8_t t = *c->p;
    if (t <= 0x7f || (t >= 0xcc && t <= 0xcf)) {
        uint64_t u = 0;
        mesh_err_t err = wire_cursor_uint(c, &u);
        if (err == MESH_OK && u > INT64_MAX) {
            err = MESH_EPROTO;
        }
        *v = (int64_t)u;
        return err;
    }
    if (t >= 0xe0) {
        *v = (int8_t)t;
        c->p++;
        return MESH_OK;
    }
    size_t n = t == 0xd0 ? 1 : t == 0xd1 ? 2 : t == 0xd2 ? 4 : t == 0xd3 ? 8 : 0;
    if (n == 0 || wire_cursor_left(c) < 1 + n) {
        return MESH_EPROTO;
    }
    uint64_t raw = wire_cursor_be(c->p + 1, n);
    int64_t x;
    if (n < 8 && (raw >> (8 * n - 1)) & 1) {
        raw |= ~0ull << (8 * n); /* sign-extend */
    }
    memcpy(&x, &raw, sizeof x);
    /* shortest form: negative, and below what the next smaller form holds */
    int64_t floor = n == 1 ? -32 : n == 2 ? -128 : n == 4 ? -32768 : -2147483648ll;
    if (x >= floor) {
        return MESH_EPROTO;
    }
    *v = x;
    c->p += 1 + n;
    return MESH_OK;
}

/* Read an unsigned integer of at most max. MESH_OK, MESH_EPROTO. */
static mesh_err_t
s_uint_max(wire_cursor_t *c, uint64_t max, uint64_t *v)
{
    mesh_err_t err = wire_cursor_uint(c, v);
    return err == MESH_OK && *v > max ? MESH_EPROTO : err;
}

/* Read a list of at most max blocks (hashes bin, sizes array) into *blocks (calloc'd, NULL
 * when empty) and *n. */
static mesh_err_t
s_blocks(wire_cursor_t *c, size_t max, wire_fentry_block_t **blocks, size_t *n)
{
    const uint8_t *hashes = NULL;
    size_t hlen = 0;
    mesh_err_t err = wire_cursor_bytes(c, WIRE_BIN, max * WIRE_FENTRY_HASH, &hashes, &hlen);
    if (err == MESH_OK && hlen % WIRE_FENTRY_HASH != 0) {
        err = MESH_EPROTO;
    }
    if (err == MESH_OK) {
        err = wire_cursor_len(c, WIRE_ARRAY, n);
    }
    if (err == MESH_OK && *n != hlen / WIRE_FENTRY_HASH) {
        err = MESH_EPROTO;
    }
    if (err != MESH_OK || *n == 0) {
        *n = 0;
        return err;
    }
    /* n is bounded by the hashes present (32 bytes each) and the cap */
    *blocks = calloc(*n, sizeof **blocks);
    if (!*blocks) {
        *n = 0;
        return MESH_ENOMEM;
    }
    for (size_t i = 0; i < *n && err == MESH_OK; i++) {
        uint64_t size = 0;
        memcpy((*blocks)[i].hash, hashes + i * WIRE_FENTRY_HASH, WIRE_FENTRY_HASH);
        err = s_uint_max(c, WIRE_FENTRY_BLOCK_MAX, &size);
        (*blocks)[i].size = (uint32_t)size;
    }
    return err;
}

/* Read a layout 2 entry's pieces (hashes bin, block counts array) into e. */
static mesh_err_t
s_pieces(wire_cursor_t *c, wire_fentry_t *e)
{
    const uint8_t *hashes = NULL;
    size_t hlen = 0, n = 0;
    mesh_err_t err =
        wire_cursor_bytes(c, WIRE_BIN, WIRE_FENTRY_PIECES_MAX * WIRE_FENTRY_HASH, &hashes, &hlen);
    if (err == MESH_OK && (hlen == 0 || hlen % WIRE_FENTRY_HASH != 0)) {
        err = MESH_EPROTO;
    }
    if (err == MESH_OK) {
        err = wire_cursor_len(c, WIRE_ARRAY, &n);
    }
    if (err == MESH_OK && n != hlen / WIRE_FENTRY_HASH) {
        err = MESH_EPROTO;
    }
    if (err != MESH_OK) {
        return err;
    }
    e->pieces = calloc(n, sizeof *e->pieces);
    if (!e->pieces) {
        return MESH_ENOMEM;
    }
    e->npieces = n;
    for (size_t i = 0; i < n && err == MESH_OK; i++) {
        uint64_t count = 0;
        memcpy(e->pieces[i].hash, hashes + i * WIRE_FENTRY_HASH, WIRE_FENTRY_HASH);
        err = s_uint_max(c, WIRE_FENTRY_PIECE_MAX, &count);
        e->pieces[i].nblocks = (uint32_t)count;
    }
    return err;
}

mesh_err_t
wire_fentry_decode(const uint8_t *buf, size_t len, wire_fentry_t *out)
{
    wire_cursor_t c = {buf, buf + len};
    uint64_t version = 0, type = 0, mode = 0;
    const uint8_t *target = NULL;
    memset(out, 0, sizeof *out);
    if (!buf) {
        return MESH_EPROTO;
    }
    mesh_err_t err = wire_cursor_array_of(&c, S_FIELDS);
    if (err == MESH_OK) {
        err = wire_cursor_uint(&c, &version);
    }
    if (err == MESH_OK && version != WIRE_FENTRY_VERSION && version != WIRE_FENTRY_VERSION_PIECES) {
        err = MESH_EPROTO;
    }
    if (err == MESH_OK) {
        err = s_uint_max(&c, WIRE_FENTRY_SYMLINK, &type);
    }
    if (err == MESH_OK) {
        err = s_uint_max(&c, WIRE_FENTRY_MODE_MAX, &mode);
    }
    if (err == MESH_OK) {
        out->type = (uint8_t)type;
        out->mode = (uint32_t)mode;
        err = wire_cursor_uint(&c, &out->size);
    }
    if (err == MESH_OK) {
        err = s_int(&c, &out->mtime_ns);
    }
    if (err == MESH_OK) {
        err = wire_cursor_bytes(&c, WIRE_BIN, WIRE_FENTRY_TARGET_MAX, &target, &out->target_len);
    }
    if (err == MESH_OK && out->target_len) {
        out->target = malloc(out->target_len + 1);
        if (!out->target) {
            err = MESH_ENOMEM;
        } else {
            memcpy(out->target, target, out->target_len);
            out->target[out->target_len] = '\0';
        }
    }
    if (err == MESH_OK && version == WIRE_FENTRY_VERSION_PIECES) {
        err = out->type == WIRE_FENTRY_FILE ? s_pieces(&c, out) : MESH_EPROTO;
    } else if (err == MESH_OK) {
        err = s_blocks(&c, WIRE_FENTRY_BLOCKS_MAX, &out->blocks, &out->nblocks);
    }
    if (err == MESH_OK && c.p != c.end) {
        err = MESH_EPROTO; /* trailing bytes */
    }
    if (err == MESH_OK) {
        err = s_rules(out, MESH_EPROTO);
    }
    if (err != MESH_OK) {
        wire_fentry_release(out);
    }
    return err;
}

void
wire_fentry_release(wire_fentry_t *e)
{
    if (!e) {
        return;
    }
    free(e->target);
    free(e->blocks);
    free(e->pieces);
    memset(e, 0, sizeof *e);
}

/* Decode exactly buf[0..len) as a piece of n blocks into blocks[0..n). */
static mesh_err_t
s_piece_decode(const uint8_t *buf, size_t len, size_t n, wire_fentry_block_t *blocks)
{
    wire_cursor_t c = {buf, buf + len};
    uint64_t version = 0;
    wire_fentry_block_t *got = NULL;
    size_t ngot = 0;
    mesh_err_t err = wire_cursor_array_of(&c, 3);
    if (err == MESH_OK) {
        err = wire_cursor_uint(&c, &version);
    }
    if (err == MESH_OK && version != 1) {
        err = MESH_EPROTO;
    }
    if (err == MESH_OK) {
        err = s_blocks(&c, WIRE_FENTRY_PIECE_MAX, &got, &ngot);
    }
    if (err == MESH_OK && (ngot != n || c.p != c.end)) {
        err = MESH_EPROTO; /* another count, or trailing bytes */
    }
    if (err == MESH_OK) {
        memcpy(blocks, got, n * sizeof *blocks);
    }
    free(got);
    return err == MESH_ETOOBIG ? MESH_EPROTO : err;
}

mesh_err_t
wire_fentry_expand(wire_fentry_t *e, wire_fentry_piece_fn fn, void *ctx)
{
    if (e->blocks || !e->npieces) {
        return MESH_OK;
    }
    size_t total = 0;
    for (size_t i = 0; i < e->npieces; i++) {
        total += e->pieces[i].nblocks; /* (at most BLOCKS_MAX: s_rules) */
    }
    wire_fentry_block_t *blocks = malloc(total * sizeof *blocks);
    uint8_t *buf = malloc(WIRE_FENTRY_PIECE_BYTES);
    mesh_err_t err = blocks && buf ? MESH_OK : MESH_ENOMEM;
    bool missing = false;
    uint64_t sum = 0;
    for (size_t i = 0, at = 0; i < e->npieces && err == MESH_OK; i++) {
        const wire_fentry_piece_t *pc = &e->pieces[i];
        uint8_t got[HASH_LEN];
        size_t len = 0;
        mesh_err_t found = fn(ctx, pc, buf, WIRE_FENTRY_PIECE_BYTES, &len);
        if (found == MESH_EPROTO) {
            err = found; /* (known not to fit) */
            break;
        }
        if (found != MESH_OK || missing) {
            missing |= found != MESH_OK;
            err = found == MESH_ENOMEM ? found : MESH_OK; /* (ask for the rest too) */
            continue;
        }
        if (len > WIRE_FENTRY_PIECE_SIZE(pc->nblocks) || len > WIRE_FENTRY_PIECE_BYTES) {
            err = MESH_EPROTO;
            break;
        }
        hash_tagged(HASH_TAG_BLOCK, buf, len, got);
        if (memcmp(got, pc->hash, HASH_LEN) != 0) {
            err = MESH_EPROTO;
            break;
        }
        err = s_piece_decode(buf, len, pc->nblocks, blocks + at);
        for (size_t b = 0; b < pc->nblocks && err == MESH_OK; b++) {
            /* the cut rule: only the last block of a piece ends it (any, in the last piece) */
            bool ends = s_cut_after(&blocks[at + b], b + 1);
            if (blocks[at + b].size == 0 ||
                (b + 1 < pc->nblocks ? ends : !ends && i + 1 < e->npieces)) {
                err = MESH_EPROTO;
            }
            sum += blocks[at + b].size;
        }
        at += pc->nblocks;
    }
    free(buf);
    if (err == MESH_OK && !missing && sum != e->size) {
        err = MESH_EPROTO;
    }
    if (err != MESH_OK || missing) {
        free(blocks);
        return err != MESH_OK ? err : MESH_ENOTFOUND;
    }
    e->blocks = blocks;
    e->nblocks = total;
    return MESH_OK;
}

bool
wire_fentry_lists(const wire_fentry_t *e, const wire_fentry_block_t *blocks, size_t n)
{
    if (e->blocks || !e->npieces) {
        if (e->nblocks != n) {
            return false;
        }
        for (size_t i = 0; i < n; i++) {
            if (e->blocks[i].size != blocks[i].size ||
                memcmp(e->blocks[i].hash, blocks[i].hash, WIRE_FENTRY_HASH) != 0) {
                return false;
            }
        }
        return true;
    }
    wire_fentry_piece_t *cut = NULL;
    size_t ncut = 0;
    if (n <= WIRE_FENTRY_INLINE_MAX || wire_fentry_cut(blocks, n, &cut, &ncut) != MESH_OK) {
        return false;
    }
    bool same = ncut == e->npieces;
    for (size_t i = 0; same && i < ncut; i++) {
        same = cut[i].nblocks == e->pieces[i].nblocks &&
               memcmp(cut[i].hash, e->pieces[i].hash, WIRE_FENTRY_HASH) == 0;
    }
    free(cut);
    return same;
}
