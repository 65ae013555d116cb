/* fs/chunk.c: the gear-hash chunker with normalized chunking (docs/PROTOCOL.md §18.1).
 * The gear hash h = (h << 1) + G[byte] forgets a byte after 64 more, so a cut depends on the
 * 64 bytes before it alone, and an insertion moves only the cuts next to it. A cut is
 * allowed from CHUNK_MIN on; before CHUNK_AVG the mask has 2 bits more than log2(avg) (cuts
 * rarer), after it 2 bits fewer (cuts likelier): block sizes bunch around the average.
 * Layer: fs. Third-party: none. SPDX-License-Identifier: MIT */
#include "fs/chunk.h"

#include "crypto/hash4.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define S_WINDOW    64u /* bytes a gear hash depends on (the shift's width) */
#define S_NORMAL    2u  /* normalization level: mask bits added / taken (§18.1) */
#define S_GEAR_SEED 0x6765617273656564ull /* "gearseed": G[i] is splitmix64's output i + 1 */
#define S_ROUND     (8u << 20)            /* chunk_fd: bytes cut, then named, at a time */
#define S_ROUND_MIN (64u << 10)           /* (a smaller file: a buffer of its size) */
#define S_SPLIT_MIN (1u << 20)            /* bytes of blocks named on two threads, at least */

#define S_HASH_BATCH 64u /* blocks named by one hash4 call (crypto/hash4.h: 4 lanes) */

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

/* Blocks list[0..n), whose bytes follow one another from data: named (§18.1). */
typedef struct s_hash_job {
    const uint8_t *data;
    chunk_block_t *list;
    size_t n;
} s_hash_job_t;

/* (S_HASH_BATCH blocks at a time through hash4: 4 lanes) */
static void *
s_hash_run(void *arg)
{
    const s_hash_job_t *j = arg;
    const uint8_t *p = j->data;
    const uint8_t *msgs[S_HASH_BATCH];
    size_t lens[S_HASH_BATCH];
    uint8_t outs[S_HASH_BATCH][HASH_LEN];
    for (size_t i = 0; i < j->n;) {
        size_t k = j->n - i < S_HASH_BATCH ? j->n - i : S_HASH_BATCH;
        for (size_t b = 0; b < k; b++) {
            msgs[b] = p;
            lens[b] = j->list[i + b].size;
            p += lens[b];
        }
        hash4_tagged(HASH_TAG_BLOCK, msgs, lens, k, outs);
        for (size_t b = 0; b < k; b++) {
            memcpy(j->list[i + b].hash, outs[b], HASH_LEN);
        }
        i += k;
    }
    return NULL;
}

/* One round's blocks being named on (up to) two threads while the next round is read and
 * cut: their sizes copied into a list of the round's own (the file's list grows meanwhile),
 * their names copied back by s_round_end. */
typedef struct s_round {
    chunk_block_t *list; /* the round's blocks (owned), or NULL when none is under way */
    size_t first;        /* the index of its first block in the file's list */
    size_t n;
    s_hash_job_t job[2];
    pthread_t th[2];
    bool started[2];
} s_round_t;

/* Start naming blocks [first, to) of list, whose bytes (bytes in all) follow one another
 * from data: the later half of the bytes on a thread, the first on another, when they are at
 * least S_SPLIT_MIN bytes in two blocks or more (else on one); less than S_SPLIT_MIN bytes
 * (a small file: a thread would cost more than it saves) are named here. A job whose thread
 * does not start runs here. MESH_OK or MESH_ENOMEM (nothing under way). */
static mesh_err_t
s_round_start(s_round_t *r, const uint8_t *data, const chunk_block_t *list, size_t first, size_t to,
              uint64_t bytes)
{
    memset(r, 0, sizeof *r);
    if (first == to) {
        return MESH_OK;
    }
    r->n = to - first;
    r->first = first;
    r->list = malloc(r->n * sizeof *r->list);
    if (!r->list) {
        return MESH_ENOMEM;
    }
    memcpy(r->list, list + first, r->n * sizeof *r->list);
    size_t k = r->n; /* the first block of the second job */
    uint64_t at = bytes;
    if (bytes >= S_SPLIT_MIN && r->n >= 2) {
        at = 0;
        for (k = 0; k + 1 < r->n && 2 * (at + r->list[k].size) <= bytes;) {
            at += r->list[k++].size;
        }
        if (k == 0) { /* (one block at least each) */
            at += r->list[k++].size;
        }
    }
    r->job[0] = (s_hash_job_t){data, r->list, k};
    r->job[1] = (s_hash_job_t){data + at, r->list + k, r->n - k};
    for (int i = 0; i < 2 && bytes >= S_SPLIT_MIN; i++) { /* (less: named here, no thread) */
        if (r->job[i].n) {
            r->started[i] = pthread_create(&r->th[i], NULL, s_hash_run, &r->job[i]) == 0;
        }
    }
    for (int i = 0; i < 2; i++) {
        if (r->job[i].n && !r->started[i]) {
            s_hash_run(&r->job[i]);
        }
    }
    return MESH_OK;
}

/* Wait for round r's names and copy them into list (when not NULL: a failed chunk_fd only
 * waits). */
static void
s_round_end(s_round_t *r, chunk_block_t *list)
{
    for (int i = 0; i < 2; i++) {
        if (r->started[i]) {
            pthread_join(r->th[i], NULL);
        }
        r->started[i] = false;
    }
    for (size_t i = 0; list && i < r->n; i++) {
        memcpy(list[r->first + i].hash, r->list[i].hash, HASH_LEN);
    }
    free(r->list);
    r->list = NULL;
    r->n = 0;
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

/* Read from fd into buf after its first have bytes, up to want bytes in all; with whole
 * (not SIZE_MAX), the end is taken as reached once whole bytes are there. */
static mesh_err_t
s_fill(int fd, uint8_t *buf, size_t *have, size_t want, size_t whole, bool *eof,
       uint64_t *bytes_read)
{
    while (!*eof && *have < want) {
        if (*have == whole) {
            *eof = true;
            break;
        }
        ssize_t got = read(fd, buf + *have, want - *have);
        if (got < 0 && errno == EINTR) {
            continue;
        }
        if (got < 0) {
            return MESH_EIO;
        }
        *eof = got == 0;
        *have += (size_t)got;
        *bytes_read += (uint64_t)got;
    }
    return MESH_OK;
}

/* A file being chunked in rounds of at most S_ROUND bytes, in two buffers by turns: read,
 * cut (the chunker goes on across rounds), then the round's whole blocks named on two
 * threads while the next round is read and cut into the other buffer; the last block's start
 * moves to the front of that buffer (at most max - 1 bytes). The same blocks as a stream. */
struct chunk_file {
    int fd;
    size_t max_blocks;
    chunker_t c;
    chunk_block_t *list; /* the blocks so far (the last round's still being named) */
    size_t nlist, cap;
    size_t round;    /* bytes read per round */
    size_t have;     /* bytes at the front of buf[now] carried from the last round */
    uint8_t *buf[2]; /* (a file smaller than a round: one) */
    bool now;        /* the buffer the next round reads into */
    bool small;
    size_t whole; /* a small file's size, when the caller said it (else SIZE_MAX) */
    bool eof;
    bool done; /* every block cut and named */
    s_round_t naming;
    uint64_t bytes_read;
    mesh_err_t err; /* the first failure: every later step returns it */
};

/* (size: the file's, from the caller's fstat, or -1: fstat here) */
static mesh_err_t
s_file_new(int fd, const chunk_params_t *params, size_t max_blocks, int64_t size,
           chunk_file_t **out)
{
    struct stat st;
    *out = NULL;
    chunk_file_t *cf = calloc(1, sizeof *cf);
    if (!cf) {
        return MESH_ENOMEM;
    }
    mesh_err_t err = fd < 0 ? MESH_EINVAL : chunk_init(&cf->c, params);
    if (err != MESH_OK) {
        free(cf);
        return err;
    }
    cf->fd = fd;
    cf->max_blocks = max_blocks;
    cf->round = S_ROUND;
    cf->whole = SIZE_MAX;
    if (size < 0) {
        size = fstat(fd, &st) == 0 ? (int64_t)st.st_size : -1;
    } else if ((uint64_t)size < S_ROUND) {
        cf->whole = (size_t)size;
    }
    cf->small = size >= 0 && (uint64_t)size < S_ROUND;
    if (cf->small) {
        cf->round = (size_t)size < S_ROUND_MIN ? S_ROUND_MIN : (size_t)size + 1;
    }
    cf->buf[0] = malloc(cf->round + cf->c.p.max);
    cf->buf[1] = cf->small ? NULL : malloc(cf->round + cf->c.p.max);
    if (!cf->buf[0] || (!cf->small && !cf->buf[1])) {
        chunk_file_free(cf);
        return MESH_ENOMEM;
    }
    *out = cf;
    return MESH_OK;
}

mesh_err_t
chunk_file_new(int fd, const chunk_params_t *params, size_t max_blocks, chunk_file_t **out)
{
    return s_file_new(fd, params, max_blocks, -1, out);
}

mesh_err_t
chunk_file_new_sized(int fd, const chunk_params_t *params, size_t max_blocks, uint64_t size,
                     chunk_file_t **out)
{
    return s_file_new(fd, params, max_blocks, size > INT64_MAX ? -1 : (int64_t)size, out);
}

/* Read and cut one round into buf[now]; its whole blocks are named from *start on. */
static mesh_err_t
s_cut_round(chunk_file_t *cf, size_t *start)
{
    uint8_t *b = cf->buf[cf->now];
    size_t carry = cf->have;
    *start = 0;
    mesh_err_t err =
        s_fill(cf->fd, b, &cf->have, carry + cf->round, cf->whole, &cf->eof, &cf->bytes_read);
    for (size_t pos = carry; err == MESH_OK && pos < cf->have;) {
        bool cut = false;
        pos += chunk_next(&cf->c, b + pos, cf->have - pos, &cut);
        if (cut) {
            err = s_add(&cf->list, &cf->nlist, &cf->cap, cf->max_blocks, (uint32_t)(pos - *start));
            *start = pos;
        }
    }
    if (err == MESH_OK && cf->eof && *start < cf->have) {
        err = s_add(&cf->list, &cf->nlist, &cf->cap, cf->max_blocks, (uint32_t)(cf->have - *start));
        *start = cf->have;
    }
    return err;
}

mesh_err_t
chunk_file_step(chunk_file_t *cf, bool *done)
{
    *done = cf->done;
    if (cf->err != MESH_OK || cf->done) {
        return cf->err;
    }
    if (!cf->buf[cf->now] && !(cf->buf[cf->now] = malloc(cf->round + cf->c.p.max))) {
        cf->err = MESH_ENOMEM; /* (a small file that grew while it was read) */
        return cf->err;
    }
    uint8_t *b = cf->buf[cf->now];
    size_t first = cf->nlist, start = 0;
    mesh_err_t err = s_cut_round(cf, &start);
    s_round_end(&cf->naming, err == MESH_OK ? cf->list : NULL); /* (the other buffer is free) */
    if (err == MESH_OK) {
        err = s_round_start(&cf->naming, b, cf->list, first, cf->nlist, start);
    }
    if (err == MESH_OK && cf->have > start) { /* (not at the end: the file is not small) */
        memcpy(cf->buf[!cf->now], b + start, cf->have - start);
    }
    cf->have -= start;
    cf->now = !cf->now;
    if (err == MESH_OK && cf->eof) {
        s_round_end(&cf->naming, cf->list);
        cf->done = true;
    }
    cf->err = err;
    *done = cf->done;
    return err;
}

uint64_t
chunk_file_bytes(const chunk_file_t *cf)
{
    return cf->bytes_read;
}

mesh_err_t
chunk_file_take(chunk_file_t *cf, chunk_block_t **blocks, size_t *n)
{
    *blocks = NULL;
    *n = 0;
    if (cf->err != MESH_OK || !cf->done) {
        return cf->err != MESH_OK ? cf->err : MESH_EINVAL;
    }
    *blocks = cf->list;
    *n = cf->nlist;
    cf->list = NULL;
    cf->nlist = cf->cap = 0;
    return MESH_OK;
}

void
chunk_file_free(chunk_file_t *cf)
{
    if (!cf) {
        return;
    }
    s_round_end(&cf->naming, NULL);
    free(cf->buf[0]);
    free(cf->buf[1]);
    free(cf->list);
    free(cf);
}

mesh_err_t
chunk_fd(int fd, const chunk_params_t *params, size_t max_blocks, chunk_block_t **blocks, size_t *n,
         uint64_t *bytes_read)
{
    chunk_file_t *cf = NULL;
    bool done = false;
    *blocks = NULL;
    *n = 0;
    *bytes_read = 0;
    mesh_err_t err = chunk_file_new(fd, params, max_blocks, &cf);
    while (err == MESH_OK && !done) {
        err = chunk_file_step(cf, &done);
    }
    if (err == MESH_OK) {
        err = chunk_file_take(cf, blocks, n);
    }
    *bytes_read = cf ? chunk_file_bytes(cf) : 0;
    chunk_file_free(cf);
    return err;
}
