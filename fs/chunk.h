/* fs/chunk.h: content-defined chunking of file content into blocks (docs/PROTOCOL.md §18.1):
 * a gear-hash chunker with normalized chunking (after FastCDC's idea), fed in pieces of any
 * size so that no file is ever read whole into memory, and each block named by its hash.
 * Owns: the gear table, the cut rule and the protocol's block sizes (CHUNK_MIN/AVG/MAX).
 * Not here: the hash itself (crypto/hash.h, tag 0x05), which files to chunk (fs/scan.h).
 * Layer: fs (below core; uses crypto/). Third-party: none. SPDX-License-Identifier: MIT */
#ifndef MESH_FS_CHUNK_H
#define MESH_FS_CHUNK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/hash.h"
#include "meshsync.h" /* mesh_err_t */

/* The protocol's block sizes (§18.1, chosen by tests/bench/bench_chunk.c): every device
 * cuts with these, so that equal content gives equal blocks on every device. */
#define CHUNK_MIN (32u << 10)  /* bytes: no cut before this (but at the end of a file) */
#define CHUNK_AVG (128u << 10) /* bytes: the normalization point, a power of two */
#define CHUNK_MAX (512u << 10) /* bytes: always a cut here */

#define CHUNK_LIMIT (1u << 20) /* the largest max allowed: a block fits one BLOCK body (§11.1) */

/* Sizes of one chunker: 64 <= min < avg < max <= CHUNK_LIMIT, avg a power of two, and
 * avg >= 256 (the masks take log2(avg) +- 2 bits). */
typedef struct chunk_params {
    uint32_t min;
    uint32_t avg;
    uint32_t max;
} chunk_params_t;

/* One chunker's state between pieces: the caller embeds it (chunk_init; nothing to release). */
typedef struct chunker {
    chunk_params_t p;
    uint64_t mask_small; /* before avg: more bits, cuts are rarer (normalization) */
    uint64_t mask_large; /* from avg on: fewer bits, cuts are likelier */
    uint64_t hash;       /* the gear hash of the bytes seen in this block */
    uint32_t len;        /* bytes of the current block seen so far */
} chunker_t;

/* Start a chunker with params (NULL: the protocol's CHUNK_MIN/AVG/MAX).
 * MESH_OK, or MESH_EINVAL (sizes outside the rule above; *c is then zeroed). */
MESH_NODISCARD mesh_err_t chunk_init(chunker_t *c, const chunk_params_t *params);

/* Scan data[0..len) as the continuation of the current block. Returns how many bytes of
 * data belong to the current block (1..len when len > 0); *cut says whether the block ends
 * with the last of them (the chunker then starts the next block). The bytes not consumed
 * start the next call. At the end of the input, the c->len bytes seen since the last cut
 * (if any) make the last block: call chunk_reset before reusing the chunker. Pure: the same
 * bytes give the same cuts however they are split into pieces. */
size_t chunk_next(chunker_t *c, const uint8_t *data, size_t len, bool *cut);

/* Forget the current block (start a new input). */
void chunk_reset(chunker_t *c);

/* One block: its size and name, BLAKE2b-256 of tag 0x05 || content (§4, §18.1). */
typedef struct chunk_block {
    uint8_t hash[HASH_LEN];
    uint32_t size;
} chunk_block_t;

/* Blocks of an input fed in pieces: chunking and hashing in one pass. */
typedef struct chunk_stream {
    chunker_t c;
    hash_state_t h;      /* the hash of the current block */
    chunk_block_t *list; /* the blocks so far (malloc'd; chunk_stream_release frees) */
    size_t n;
    size_t cap;
    size_t max_blocks; /* more than this: MESH_ETOOBIG */
    uint32_t cur;      /* bytes of the current block fed so far */
    uint64_t bytes;    /* bytes fed */
} chunk_stream_t;

/* Start a stream (params NULL: the protocol's sizes) that refuses inputs of more than
 * max_blocks blocks. MESH_OK or MESH_EINVAL. */
MESH_NODISCARD mesh_err_t chunk_stream_init(chunk_stream_t *s, const chunk_params_t *params,
                                            size_t max_blocks);

/* Feed the next piece. MESH_OK, MESH_ENOMEM, MESH_ETOOBIG (past max_blocks). After an error
 * the stream only awaits chunk_stream_release. */
MESH_NODISCARD mesh_err_t chunk_stream_feed(chunk_stream_t *s, const void *data, size_t len);

/* End the input: the last partial block, if any, is added. MESH_OK: s->list[0..s->n) are
 * the blocks (an empty input has none). Errors as chunk_stream_feed. */
MESH_NODISCARD mesh_err_t chunk_stream_end(chunk_stream_t *s);

/* Free the block list; NULL is a no-op. */
void chunk_stream_release(chunk_stream_t *s);

/* A file being chunked a round at a time, so that a caller with other work (an event loop)
 * can do it between rounds: rounds of at most 8 MiB read into two buffers by turns (one of
 * the file's size, when smaller), each round's blocks named on two threads (started by one
 * step, joined by the next) while the next round is read and cut. Owns its buffers and
 * threads; the fd stays the caller's (open until chunk_file_free). One thread uses it. */
typedef struct chunk_file chunk_file_t;

/* Start chunking fd from its current offset to its end (params NULL: the protocol's sizes),
 * refusing more than max_blocks blocks. MESH_OK: *out (chunk_file_free); MESH_EINVAL (fd < 0,
 * bad params), MESH_ENOMEM: *out NULL. */
MESH_NODISCARD mesh_err_t chunk_file_new(int fd, const chunk_params_t *params, size_t max_blocks,
                                         chunk_file_t **out);

/* chunk_file_new for fd of size bytes (the caller's fstat): a file smaller than a round is
 * taken as whole once size bytes were read (no read to see its end: the caller checks its
 * size after, as a file that grew while it was read must be read again anyway). */
MESH_NODISCARD mesh_err_t chunk_file_new_sized(int fd, const chunk_params_t *params,
                                               size_t max_blocks, uint64_t size,
                                               chunk_file_t **out);

/* Read and cut the next round. MESH_OK, *done true once the end was read and every block
 * named; MESH_EIO (a read failed), MESH_ENOMEM, MESH_ETOOBIG (more than max_blocks): the same
 * error for every later step. */
MESH_NODISCARD mesh_err_t chunk_file_step(chunk_file_t *cf, bool *done);

/* The bytes read so far. */
uint64_t chunk_file_bytes(const chunk_file_t *cf);

/* Once done: take the blocks (*blocks, caller frees with free(), and *n). MESH_OK; the step's
 * error, or MESH_EINVAL before done: *blocks NULL, *n 0. */
MESH_NODISCARD mesh_err_t chunk_file_take(chunk_file_t *cf, chunk_block_t **blocks, size_t *n);

/* Stop (waiting for the naming threads) and free; NULL is a no-op. */
void chunk_file_free(chunk_file_t *cf);

/* Chunk an open file from its current offset to its end, all rounds in one call (chunk_file).
 * MESH_OK: *blocks (caller frees with free()) and *n; *bytes_read the bytes read (also on
 * failure). Errors: MESH_EIO (a read failed), MESH_ENOMEM, MESH_ETOOBIG (more than max_blocks),
 * MESH_EINVAL; on error *blocks is NULL, *n 0. */
MESH_NODISCARD mesh_err_t chunk_fd(int fd, const chunk_params_t *params, size_t max_blocks,
                                   chunk_block_t **blocks, size_t *n, uint64_t *bytes_read);

#endif /* MESH_FS_CHUNK_H */
