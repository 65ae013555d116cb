/* tests/bench/bench_chunk.c: the figures behind the block sizes of docs/PROTOCOL.md §18.1.
 * For a file of 64 MiB of seeded random bytes (BENCH_CHUNK_MIB to change it), each chunking
 * (content-defined with several average sizes, min = avg/4 and max = 4 avg; fixed 128 KiB
 * blocks, and Syncthing's fixed 512 KiB blocks for a file this large) in the same run:
 * throughput (cut points alone, and cut points with each block's BLAKE2b-256), the block
 * count and sizes, the file entry's encoded size (core/wire/fentry) for this file and
 * scaled to 512 MiB, and for 1 byte and 100 bytes inserted at the start and in the middle,
 * how many blocks and bytes of the new file the old one lacks (what a receiver would
 * fetch), with the ratio to Syncthing's blocks. The edited files are fed in 1 MiB pieces
 * (never built whole). Prints figures only: no pass or fail.
 * Layer: tests. Third-party: none. SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "core/wire/fentry.h"
#include "crypto/hash.h"
#include "crypto/ident.h"
#include "fs/chunk.h"

#define S_PIECE   (1u << 20) /* bytes fed per call */
#define S_OFFSETS 512u       /* random insertion points for the mean */

/* One way to cut: content-defined (params) or fixed blocks of `fixed` bytes. */
typedef struct s_cfg {
    const char *name;
    chunk_params_t p;
    uint32_t fixed;
} s_cfg_t;

/* The blocks of one input. */
typedef struct s_blocks {
    chunk_block_t *list;
    size_t n, cap;
} s_blocks_t;

/* A piece of an edited file: the original's bytes, or the inserted ones. */
typedef struct s_piece {
    const uint8_t *p;
    size_t len;
} s_piece_t;

static void
s_push(s_blocks_t *b, const uint8_t *hash, uint32_t size)
{
    if (b->n == b->cap) {
        b->cap = b->cap ? 2 * b->cap : 1024;
        b->list = realloc(b->list, b->cap * sizeof *b->list);
        if (!b->list) {
            bench_die("out of memory");
        }
    }
    memcpy(b->list[b->n].hash, hash, HASH_LEN);
    b->list[b->n++].size = size;
}

/* Cut and hash the input made of pieces, fed in S_PIECE bytes at a time. */
static void
s_cut(const s_cfg_t *cfg, const s_piece_t *pieces, size_t npieces, s_blocks_t *out)
{
    out->n = 0;
    if (cfg->fixed == 0) {
        chunk_stream_t s;
        if (chunk_stream_init(&s, &cfg->p, SIZE_MAX) != MESH_OK) {
            bench_die("%s: bad sizes", cfg->name);
        }
        for (size_t i = 0; i < npieces; i++) {
            for (size_t off = 0; off < pieces[i].len; off += S_PIECE) {
                size_t n = pieces[i].len - off < S_PIECE ? pieces[i].len - off : S_PIECE;
                if (chunk_stream_feed(&s, pieces[i].p + off, n) != MESH_OK) {
                    bench_die("feed failed");
                }
            }
        }
        if (chunk_stream_end(&s) != MESH_OK) {
            bench_die("end failed");
        }
        for (size_t i = 0; i < s.n; i++) {
            s_push(out, s.list[i].hash, s.list[i].size);
        }
        chunk_stream_release(&s);
        return;
    }
    hash_state_t h;
    uint8_t hash[HASH_LEN];
    uint32_t cur = 0;
    hash_init(&h, HASH_TAG_BLOCK);
    for (size_t i = 0; i < npieces; i++) {
        const uint8_t *p = pieces[i].p;
        size_t left = pieces[i].len;
        while (left) {
            size_t n = cfg->fixed - cur < left ? cfg->fixed - cur : left;
            hash_update(&h, p, n);
            cur += (uint32_t)n, p += n, left -= n;
            if (cur == cfg->fixed) {
                hash_final(&h, hash);
                s_push(out, hash, cur);
                hash_init(&h, HASH_TAG_BLOCK);
                cur = 0;
            }
        }
    }
    if (cur) {
        hash_final(&h, hash);
        s_push(out, hash, cur);
    }
}

/* Cut points alone (no hashing): the chunker's own speed. Returns the block count. */
static size_t
s_cut_only(const s_cfg_t *cfg, const uint8_t *data, size_t len)
{
    if (cfg->fixed) {
        return (len + cfg->fixed - 1) / cfg->fixed;
    }
    chunker_t c;
    size_t n = 0;
    if (chunk_init(&c, &cfg->p) != MESH_OK) {
        bench_die("%s: bad sizes", cfg->name);
    }
    while (len) {
        bool cut = false;
        size_t k = chunk_next(&c, data, len, &cut);
        n += cut;
        data += k, len -= k;
    }
    return n + (c.len > 0);
}

/* The block ends of data cut with cfg (content-defined only), in *ends (malloc'd). */
static size_t
s_ends(const s_cfg_t *cfg, const uint8_t *data, size_t len, size_t **ends)
{
    chunker_t c;
    size_t n = 0, cap = 1024, pos = 0;
    *ends = malloc(cap * sizeof **ends);
    if (!*ends || chunk_init(&c, &cfg->p) != MESH_OK) {
        bench_die("out of memory");
    }
    while (pos < len) {
        bool cut = false;
        pos += chunk_next(&c, data + pos, len - pos, &cut);
        if (cut || pos == len) {
            if (n == cap && !(*ends = realloc(*ends, (cap *= 2) * sizeof **ends))) {
                bench_die("out of memory");
            }
            (*ends)[n++] = pos;
        }
    }
    return n;
}

static int
s_size_cmp(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return x < y ? -1 : x > y;
}

/* Insert ins[0..d) at x: cut the new file from the start of the old block holding x until a
 * cut falls on an old block end (shifted by d), from where both files cut alike. The new
 * blocks in between are what a receiver fetches: *blocks of them, *bytes bytes. */
static void
s_insert(const s_cfg_t *cfg, const uint8_t *data, size_t len, const size_t *ends, size_t n,
         size_t x, const uint8_t *ins, size_t d, size_t *blocks, uint64_t *bytes)
{
    size_t lo = 0, hi = n; /* first old end > x */
    while (lo < hi) {
        size_t m = (lo + hi) / 2;
        if (ends[m] > x) {
            hi = m;
        } else {
            lo = m + 1;
        }
    }
    size_t s0 = lo ? ends[lo - 1] : 0, pos = s0, nb = 0; /* pos: in new-file offsets */
    chunker_t c;
    if (chunk_init(&c, &cfg->p) != MESH_OK) {
        bench_die("bad sizes");
    }
    for (;;) {
        const uint8_t *p;
        size_t avail;
        if (pos < x) {
            p = data + pos, avail = x - pos;
        } else if (pos < x + d) {
            p = ins + (pos - x), avail = x + d - pos;
        } else if (pos - d < len) {
            p = data + (pos - d), avail = len - (pos - d);
        } else {
            nb += c.len > 0;
            break;
        }
        bool cut = false;
        pos += chunk_next(&c, p, avail < 65536 ? avail : 65536, &cut);
        if (cut) {
            nb++;
            size_t old = pos - d;
            if (pos >= x + d && bsearch(&old, ends, n, sizeof *ends, s_size_cmp)) {
                break;
            }
        }
    }
    *blocks = nb;
    *bytes = pos - s0;
}

static int
s_hash_cmp(const void *a, const void *b)
{
    return memcmp(a, b, HASH_LEN);
}

/* Blocks (and their bytes) of now whose hash old (sorted) lacks. */
static void
s_diff(const s_blocks_t *old_sorted, const s_blocks_t *now, size_t *blocks, uint64_t *bytes)
{
    *blocks = 0, *bytes = 0;
    for (size_t i = 0; i < now->n; i++) {
        if (!bsearch(now->list[i].hash, old_sorted->list, old_sorted->n, sizeof *now->list,
                     s_hash_cmp)) {
            (*blocks)++;
            *bytes += now->list[i].size;
        }
    }
}

/* The encoded size of the file entry of these blocks. */
static size_t
s_entry_bytes(const s_blocks_t *b, uint64_t size)
{
    wire_fentry_t e = {.type = WIRE_FENTRY_FILE, .mode = 0644, .size = size, .mtime_ns = 1};
    wire_buf_t out;
    wire_buf_init(&out);
    e.blocks = calloc(b->n ? b->n : 1, sizeof *e.blocks);
    if (!e.blocks) {
        bench_die("out of memory");
    }
    for (size_t i = 0; i < b->n; i++) {
        memcpy(e.blocks[i].hash, b->list[i].hash, HASH_LEN);
        e.blocks[i].size = b->list[i].size;
    }
    e.nblocks = b->n;
    if (b->n > WIRE_FENTRY_BLOCKS_MAX) {
        e.nblocks = 0; /* past the cap: estimate from the bytes per block below */
    }
    size_t len = 0;
    if (e.nblocks && wire_fentry_encode(&e, &out) == MESH_OK) {
        len = out.len;
    } else {
        len = 16 + b->n * (HASH_LEN + 5);
    }
    free(e.blocks);
    wire_buf_release(&out);
    return len;
}

int
main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    (void)bench_parse_args("bench_chunk", argc > 1 ? argc : 1, argv);
    size_t mib = 64;
    const char *env = getenv("BENCH_CHUNK_MIB");
    if (env && *env) {
        mib = strtoul(env, NULL, 10);
    }
    if (mib < 2 || mib > 4096 || ident_lib_init() != MESH_OK) {
        bench_die("BENCH_CHUNK_MIB takes 2 to 4096");
    }
    const size_t len = mib << 20, mid = len / 2 + 12345;
    uint8_t *data = malloc(len), ins[100];
    if (!data) {
        bench_die("out of memory");
    }
    uint64_t st = BENCH_SEED;
    for (size_t i = 0; i < len; i += 8) {
        uint64_t v = bench_mix(&st);
        memcpy(data + i, &v, len - i < 8 ? len - i : 8);
    }
    for (size_t i = 0; i < sizeof ins; i++) {
        ins[i] = (uint8_t)bench_mix(&st);
    }
    const s_cfg_t cfgs[] = {
        {"cdc 16K", {4u << 10, 16u << 10, 64u << 10}, 0},
        {"cdc 32K", {8u << 10, 32u << 10, 128u << 10}, 0},
        {"cdc 64K", {16u << 10, 64u << 10, 256u << 10}, 0},
        {"cdc 128K", {32u << 10, 128u << 10, 512u << 10}, 0},
        {"cdc 256K", {64u << 10, 256u << 10, 1024u << 10}, 0},
        {"fixed 128K", {0, 0, 0}, 128u << 10},
        {"fixed 512K", {0, 0, 0}, 512u << 10}, /* Syncthing's for files of 256 MiB to 512 MiB */
    };
    const size_t ncfg = sizeof cfgs / sizeof cfgs[0], base = ncfg - 1;
    struct {
        const char *name;
        size_t at, n;
    } edits[] = {{"+1 B at start", 0, 1},
                 {"+100 B at start", 0, 100},
                 {"+1 B in middle", mid, 1},
                 {"+100 B in middle", mid, 100}};
    enum { S_EDITS = 4 };
    uint64_t changed[sizeof cfgs / sizeof cfgs[0]][S_EDITS];
    size_t changed_n[sizeof cfgs / sizeof cfgs[0]][S_EDITS];
    double entry512[sizeof cfgs / sizeof cfgs[0]]; /* the entry's bytes, scaled to 512 MiB */
    printf("bench_chunk: meshsync %s; %zu MiB of random bytes; chunking fed in 1 MiB pieces\n",
           mesh_version(), mib);
    printf("  (defaults: CHUNK_MIN %u, CHUNK_AVG %u, CHUNK_MAX %u)\n", CHUNK_MIN, CHUNK_AVG,
           CHUNK_MAX);
    printf("%-11s %9s %9s %7s %8s %8s %8s %9s %10s\n", "chunking", "cut MB/s", "+hash MB/s",
           "blocks", "mean KiB", "min KiB", "max KiB", "entry KiB", "@512M KiB");
    s_blocks_t orig = {0}, now = {0};
    for (size_t c = 0; c < ncfg; c++) {
        const s_cfg_t *cfg = &cfgs[c];
        double t0 = bench_read_clock();
        size_t n_only = s_cut_only(cfg, data, len);
        double t1 = bench_read_clock();
        s_piece_t whole = {data, len};
        s_cut(cfg, &whole, 1, &orig);
        double t2 = bench_read_clock();
        if (n_only != orig.n) {
            bench_die("%s: %zu cuts alone, %zu with hashing", cfg->name, n_only, orig.n);
        }
        uint32_t lo = UINT32_MAX, hi = 0;
        for (size_t i = 0; i < orig.n; i++) {
            if (i + 1 < orig.n) { /* the last block is what is left: any size */
                lo = orig.list[i].size < lo ? orig.list[i].size : lo;
            }
            hi = orig.list[i].size > hi ? orig.list[i].size : hi;
        }
        size_t entry = s_entry_bytes(&orig, len);
        entry512[c] = entry * (512.0 / mib);
        char cut_rate[32] = "-";
        if (!cfg->fixed) {
            snprintf(cut_rate, sizeof cut_rate, "%.0f", (double)len / 1e6 / (t1 - t0));
        }
        printf("%-11s %9s %10.0f %7zu %8.1f %8.1f %8.1f %9.1f %10.1f\n", cfg->name, cut_rate,
               (double)len / 1e6 / (t2 - t1), orig.n, (double)len / orig.n / 1024.0, lo / 1024.0,
               hi / 1024.0, entry / 1024.0, entry * (512.0 / mib) / 1024.0);
        qsort(orig.list, orig.n, sizeof *orig.list, s_hash_cmp);
        for (size_t e = 0; e < S_EDITS; e++) {
            s_piece_t pieces[3] = {
                {data, edits[e].at}, {ins, edits[e].n}, {data + edits[e].at, len - edits[e].at}};
            s_cut(cfg, pieces, 3, &now);
            s_diff(&orig, &now, &changed_n[c][e], &changed[c][e]);
            if (!cfg->fixed) { /* the cut-point count below must agree with the hashes */
                size_t *ends = NULL, nb = 0, n = s_ends(cfg, data, len, &ends);
                uint64_t by = 0;
                s_insert(cfg, data, len, ends, n, edits[e].at, ins, edits[e].n, &nb, &by);
                free(ends);
                if (nb != changed_n[c][e] || by != changed[c][e]) {
                    bench_die("%s, %s: %zu blocks %llu bytes by cut points, %zu %llu by hashes",
                              cfg->name, edits[e].name, nb, (unsigned long long)by, changed_n[c][e],
                              (unsigned long long)changed[c][e]);
                }
            }
        }
    }
    printf("\nblocks and KiB the old file lacks (what a receiver fetches), per edit; "
           "x = ratio to fixed 512K (Syncthing)\n");
    printf("%-11s", "chunking");
    for (size_t e = 0; e < S_EDITS; e++) {
        printf(" | %-25s", edits[e].name);
    }
    printf("\n");
    for (size_t c = 0; c < ncfg; c++) {
        printf("%-11s", cfgs[c].name);
        for (size_t e = 0; e < S_EDITS; e++) {
            double ratio = changed[base][e] ? (double)changed[c][e] / changed[base][e] : 0;
            printf(" | %5zu blk %8.1f KiB %5.3fx", changed_n[c][e], changed[c][e] / 1024.0, ratio);
        }
        printf("\n");
    }
    printf("\n+100 B at %u offsets spread over the file (cut points only): mean and worst\n",
           S_OFFSETS);
    for (size_t c = 0; c < ncfg; c++) {
        if (cfgs[c].fixed) {
            continue;
        }
        size_t *ends = NULL, nb = 0, worst_nb = 0;
        size_t n = s_ends(&cfgs[c], data, len, &ends);
        uint64_t by = 0, sum_by = 0, sum_nb = 0, worst_by = 0;
        for (unsigned k = 0; k < S_OFFSETS; k++) {
            size_t x = (size_t)(bench_mix(&st) % len);
            s_insert(&cfgs[c], data, len, ends, n, x, ins, 100, &nb, &by);
            sum_nb += nb, sum_by += by;
            worst_nb = nb > worst_nb ? nb : worst_nb;
            worst_by = by > worst_by ? by : worst_by;
        }
        printf("  %-11s %5.2f blocks %8.1f KiB (worst %zu blocks, %.1f KiB)\n", cfgs[c].name,
               (double)sum_nb / S_OFFSETS, sum_by / 1024.0 / S_OFFSETS, worst_nb,
               worst_by / 1024.0);
        free(ends);
    }
    printf("\na 512 MiB file, +100 B in the middle: the blocks fetched and the whole entry sent "
           "again (its block list scaled from this file)\n");
    for (size_t c = 0; c < ncfg; c++) {
        printf("  %-11s %8.1f KiB blocks + %7.1f KiB entry = %8.1f KiB\n", cfgs[c].name,
               changed[c][3] / 1024.0, entry512[c] / 1024.0,
               (changed[c][3] + entry512[c]) / 1024.0);
    }
    printf("\nratios, the protocol's chunking (cdc %uK) against fixed 512K (Syncthing) and "
           "fixed 128K, bytes fetched:\n",
           CHUNK_AVG >> 10);
    size_t mine = ncfg;
    for (size_t c = 0; c < ncfg; c++) {
        if (!cfgs[c].fixed && cfgs[c].p.avg == CHUNK_AVG && cfgs[c].p.min == CHUNK_MIN &&
            cfgs[c].p.max == CHUNK_MAX) {
            mine = c;
        }
    }
    if (mine == ncfg) {
        bench_die("the protocol's sizes are not among the configurations");
    }
    for (size_t e = 0; e < S_EDITS; e++) {
        printf("  %-17s %10.1f KiB: %7.4f of Syncthing's %9.1f KiB, %7.4f of fixed 128K's %9.1f "
               "KiB\n",
               edits[e].name, changed[mine][e] / 1024.0,
               (double)changed[mine][e] / (double)changed[base][e], changed[base][e] / 1024.0,
               (double)changed[mine][e] / (double)changed[base - 1][e],
               changed[base - 1][e] / 1024.0);
    }
    free(orig.list);
    free(now.list);
    free(data);
    return 0;
}
