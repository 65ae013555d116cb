/* fs/chunk.c: the gear-hash chunker with normalized chunking (docs/PROTOCOL.md §18.1).
 * The gear hash h = (h << 1) + G[byte] forgets a byte after 64 more, so a cut depends on the
 * 64 bytes before it alone, and an insertion moves only the cuts next to it. A cut is
 * allowed from CHUNK_MIN on; before CHUNK_AVG the mask has 2 bits more than log2(avg) (cuts
 * rarer), after it 2 bits fewer (cuts likelier): block sizes bunch around the average.
 * Layer: fs. Third-party: none. SPDX-License-Identifier: MIT */
#include "fs/chunk.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define S_WINDOW    64u /* bytes a gear hash depends on (the shift's width) */
#define S_NORMAL    2u  /* normalization level: mask bits added / taken (§18.1) */
#define S_GEAR_SEED 0x6765617273656564ull /* "gearseed": G[i] is splitmix64's output i + 1 */
#define S_ROUND     (16u << 20)           /* chunk_fd: bytes cut, then named, at a time */
#define S_ROUND_MIN (64u << 10)           /* (a smaller file: a buffer of its size) */
#define S_SPLIT_MIN (1u << 20)            /* bytes of blocks named on two threads, at least */

static uint64_t s_gear[256];
static pthread_once_t s_gear_once = PTHREAD_ONCE_INIT;

/* splitmix64 (Steele, Lea, Flood): a fixed, documented table every device derives alike. */
static void
s_gear_make(void)
{
    uint64_t state = S_GEAR_SEED;
    for (size_t i = 0; i < 256; i++) {
        state += 0x9e3779b97f4a7c15ull;
        uint64_t z = state;
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        s_gear[i] = z ^ (z >> 31);
    }
}

/* A mask of the top bits of a 64-bit hash: they depend on the most bytes of the window. */
static uint64_t
s_top_bits(unsigned bits)
{
    return ~0ull << (64 - bits);
}

mesh_err_t
chunk_init(chunker_t *c, const chunk_params_t *params)
{
    chunk_params_t p = {CHUNK_MIN, CHUNK_AVG, CHUNK_MAX};
    memset(c, 0, sizeof *c);
    if (params) {
        p = *params;
    }
    if (p.min < S_WINDOW || p.min >= p.avg || p.avg >= p.max || p.max > CHUNK_LIMIT ||
        p.avg < 256 || (p.avg & (p.avg - 1)) != 0) {
        return MESH_EINVAL;
    }
    pthread_once(&s_gear_once, s_gear_make);
    unsigned bits = 0;
    while ((1u << bits) < p.avg) {
        bits++;
    }
    c->p = p;
    c->mask_small = s_top_bits(bits + S_NORMAL);
    c->mask_large = s_top_bits(bits - S_NORMAL);
    return MESH_OK;
}

void
chunk_reset(chunker_t *c)
{
    c->hash = 0;
    c->len = 0;
}

static size_t
s_min(size_t a, size_t b)
{
    return a < b ? a : b;
}

/* The byte at block index j ends a block of j + 1 bytes. Index ranges: below min - 64 not
 * hashed (they cannot reach the hash at min - 1); up to min - 2 hashed only; up to avg - 2
 * a cut when the small mask's bits are all 0; up to max - 2 the large mask's; max - 1 a cut. */
size_t
chunk_next(chunker_t *c, const uint8_t *data, size_t len, bool *cut)
{
    const uint64_t ms = c->mask_small, ml = c->mask_large;
    uint64_t h = c->hash;
    size_t i = 0, stop;
    uint32_t j = c->len;
    *cut = false;
    if (j < c->p.min - S_WINDOW) {
        stop = s_min(len, c->p.min - S_WINDOW - j);
        i += stop;
        j += (uint32_t)stop;
    }
    for (stop = i + s_min(len - i, j < c->p.min - 1 ? c->p.min - 1 - j : 0); i < stop; i++) {
        h = (h << 1) + s_gear[data[i]];
    }
    j = c->len + (uint32_t)i;
    for (stop = i + s_min(len - i, j < c->p.avg - 1 ? c->p.avg - 1 - j : 0); i < stop;) {
        h = (h << 1) + s_gear[data[i++]];
        if ((h & ms) == 0) {
            goto out_cut;
        }
    }
    j = c->len + (uint32_t)i;
    for (stop = i + s_min(len - i, j < c->p.max - 1 ? c->p.max - 1 - j : 0); i < stop;) {
        h = (h << 1) + s_gear[data[i++]];
        if ((h & ml) == 0) {
            goto out_cut;
        }
    }
    j = c->len + (uint32_t)i;
    if (i < len && j == c->p.max - 1) {
        i++;
        goto out_cut;
    }
    c->hash = h;
    c->len = j;
    return i;
out_cut:
    *cut = true;
    c->hash = 0;
    c->len = 0;
    return i;
}

mesh_err_t
chunk_stream_init(chunk_stream_t *s, const chunk_params_t *params, size_t max_blocks)
{
    memset(s, 0, sizeof *s);
    mesh_err_t err = chunk_init(&s->c, params);
    if (err != MESH_OK) {
        return err;
    }
    s->max_blocks = max_blocks;
    hash_init(&s->h, HASH_TAG_BLOCK);
    return MESH_OK;
}

/* Close the current block (s->cur bytes, hashed so far in s->h) and start the next. */
static mesh_err_t
s_push(chunk_stream_t *s)
{
    if (s->n == s->max_blocks) {
        return MESH_ETOOBIG;
    }
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 64;
        chunk_block_t *list = realloc(s->list, cap * sizeof *list);
        if (!list) {
            return MESH_ENOMEM;
        }
        s->list = list;
        s->cap = cap;
    }
    hash_final(&s->h, s->list[s->n].hash);
    s->list[s->n++].size = s->cur;
    s->cur = 0;
    hash_init(&s->h, HASH_TAG_BLOCK);
    return MESH_OK;
}

mesh_err_t
chunk_stream_feed(chunk_stream_t *s, const void *data, size_t len)
{
    const uint8_t *p = data;
    while (len > 0) {
        bool cut = false;
        size_t n = chunk_next(&s->c, p, len, &cut);
        hash_update(&s->h, p, n);
        s->cur += (uint32_t)n;
        s->bytes += n;
        p += n;
        len -= n;
        if (cut) {
            mesh_err_t err = s_push(s);
            if (err != MESH_OK) {
                return err;
            }
        }
    }
    return MESH_OK;
}

mesh_err_t
chunk_stream_end(chunk_stream_t *s)
{
    mesh_err_t err = s->cur > 0 ? s_push(s) : MESH_OK;
    chunk_reset(&s->c);
    return err;
}

void
chunk_stream_release(chunk_stream_t *s)
{
    if (!s) {
        return;
    }
    free(s->list);
    s->list = NULL;
    s->n = s->cap = 0;
}

/* Blocks [from, to) of list, whose bytes follow one another from data: named (§18.1). */
typedef struct s_hash_job {
    const uint8_t *data;
    chunk_block_t *list;
    size_t from, to;
} s_hash_job_t;

static void *
s_hash_run(void *arg)
{
    const s_hash_job_t *j = arg;
    const uint8_t *p = j->data;
    for (size_t i = j->from; i < j->to; i++) {
        hash_tagged(HASH_TAG_BLOCK, p, j->list[i].size, j->list[i].hash);
        p += j->list[i].size;
    }
    return NULL;
}

/* Name blocks [from, to) of list, whose bytes follow one another from data: the later half
 * of the bytes on a second thread while this one does the first half, when they are at
 * least S_SPLIT_MIN bytes in two blocks or more (else, or when no thread starts, here). */
static void
s_hash_blocks(const uint8_t *data, chunk_block_t *list, size_t from, size_t to, uint64_t bytes)
{
    s_hash_job_t mine = {data, list, from, to}, other = {0};
    pthread_t th;
    bool split = false;
    if (bytes >= S_SPLIT_MIN && to - from >= 2) {
        uint64_t at = 0; /* the bytes of blocks [from, k): where block k starts */
        size_t k = from;
        while (k + 1 < to && 2 * (at + list[k].size) <= bytes) {
            at += list[k++].size;
        }
        if (k == from) { /* (one block at least each) */
            at += list[k++].size;
        }
        other.data = data + at;
        other.list = list;
        other.from = k;
        other.to = to;
        mine.to = k;
        split = pthread_create(&th, NULL, s_hash_run, &other) == 0;
        if (!split) {
            mine.to = to;
        }
    }
    s_hash_run(&mine);
    if (split) {
        pthread_join(th, NULL);
    }
}

/* Add a block of size bytes to *list (unnamed yet). MESH_OK, MESH_ETOOBIG, MESH_ENOMEM. */
static mesh_err_t
s_add(chunk_block_t **list, size_t *n, size_t *cap, size_t max_blocks, uint32_t size)
{
    if (*n == max_blocks) {
        return MESH_ETOOBIG;
    }
    if (*n == *cap) {
        size_t grown = *cap ? 2 * *cap : 64;
        chunk_block_t *l = realloc(*list, grown * sizeof *l);
        if (!l) {
            return MESH_ENOMEM;
        }
        *list = l;
        *cap = grown;
    }
    (*list)[(*n)++].size = size;
    return MESH_OK;
}

/* Rounds of at most S_ROUND bytes: read, cut (the chunker goes on across rounds), then the
 * round's whole blocks named on two threads; the last block's start moves to the front of
 * the buffer for the next round (at most max - 1 bytes). The same blocks as a stream. */
mesh_err_t
chunk_fd(int fd, const chunk_params_t *params, size_t max_blocks, chunk_block_t **blocks, size_t *n,
         uint64_t *bytes_read)
{
    chunker_t c;
    chunk_block_t *list = NULL;
    size_t nlist = 0, cap = 0, round = S_ROUND, have = 0;
    struct stat st;
    *blocks = NULL;
    *n = 0;
    *bytes_read = 0;
    mesh_err_t err = fd < 0 ? MESH_EINVAL : chunk_init(&c, params);
    if (err != MESH_OK) {
        return err;
    }
    if (fstat(fd, &st) == 0 && st.st_size >= 0 && (uint64_t)st.st_size < round) {
        round = (size_t)st.st_size < S_ROUND_MIN ? S_ROUND_MIN : (size_t)st.st_size + 1;
    }
    uint8_t *buf = malloc(round + c.p.max);
    err = buf ? MESH_OK : MESH_ENOMEM;
    for (bool eof = false; err == MESH_OK && !eof;) {
        size_t carry = have, start = 0, first = nlist;
        while (err == MESH_OK && !eof && have < carry + round) {
            ssize_t got = read(fd, buf + have, carry + round - have);
            if (got < 0 && errno == EINTR) {
                continue;
            }
            if (got < 0) {
                err = MESH_EIO;
            } else {
                eof = got == 0;
                have += (size_t)got;
                *bytes_read += (uint64_t)got;
            }
        }
        for (size_t pos = carry; err == MESH_OK && pos < have;) {
            bool cut = false;
            pos += chunk_next(&c, buf + pos, have - pos, &cut);
            if (cut) {
                err = s_add(&list, &nlist, &cap, max_blocks, (uint32_t)(pos - start));
                start = pos;
            }
        }
        if (err == MESH_OK && eof && start < have) {
            err = s_add(&list, &nlist, &cap, max_blocks, (uint32_t)(have - start));
            start = have;
        }
        if (err == MESH_OK) {
            s_hash_blocks(buf, list, first, nlist, start);
            memmove(buf, buf + start, have - start);
            have -= start;
        }
    }
    free(buf);
    if (err != MESH_OK) {
        free(list);
        return err;
    }
    *blocks = list;
    *n = nlist;
    return MESH_OK;
}
