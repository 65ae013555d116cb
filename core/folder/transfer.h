/* core/folder/transfer.h: a folder's pending transfers (docs/PROTOCOL.md §18.6): the files
 * that wait for blocks, each built in a temp file under .meshsync/tmp named by a hash of its
 * path and entry (so a transfer cut by a stop or a kill goes on from what it holds, its
 * blocks checked again), from blocks held anywhere on this device and blocks members send.
 * Owns: the pending files and their temp files (made, resumed, sealed with mode and mtime,
 * swept), the intake of received blocks (written here, or handed to the block workers with
 * the places they go: core/folder/blockwork.h), a full disk met while writing, and the paths
 * whose transfer was dropped before it was in place (to be waited for again).
 * Not here: when a whole file is put in place and what is checked before (realize.h), which
 * entries start a transfer, the room on the disk (realize.c), which member sends a block
 * (core/sync/). Layer: core (folder). Third-party: none. SPDX-License-Identifier: MIT */
#ifndef MESH_CORE_FOLDER_TRANSFER_H
#define MESH_CORE_FOLDER_TRANSFER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/folder/blockidx.h"
#include "core/folder/blockwork.h"
#include "core/folder/paths.h"
#include "core/wire/fentry.h"
#include "crypto/hash.h"
#include "meshsync.h"

#define TRANSFER_MAX         1024u        /* files of one folder waiting for blocks at once */
#define TRANSFER_OPEN_MAX    32u          /* of them with their temp file kept open */
#define TRANSFER_BYTES_MAX   (4ull << 30) /* bytes of those temp files (one larger file alone) */
#define TRANSFER_EARLY_BYTES (8u << 20)   /* a file this large: writeback as its blocks come */
#define TRANSFER_TMP_NAME    40           /* "r" + 32 hex digits, NUL */

/* One file waiting for blocks (or whole, not yet put in place). */
typedef struct transfer_file {
    char *path;
    uint8_t *value; /* the entry's bytes, as in the index */
    size_t value_len;
    wire_fentry_t e;
    uint64_t *offsets; /* of each block */
    bool *have;
    size_t missing;
    size_t fetched; /* blocks members sent (the rest were on this device) */
    int fd;         /* its temp file kept open, or -1 */
    uint64_t id;    /* this file's, among the folder's (blocks checked on workers) */
    size_t jobs;    /* places in blocks on the workers (transfer_block_places): not in place */
    bool sealed;    /* whole, its mode and mtime set (while its temp file was open) */
    bool lazy;      /* one block, held nowhere here: its temp file is made when it comes */
    char tmp[TRANSFER_TMP_NAME];
} transfer_file_t;

typedef struct transfer {
    int tmp_fd; /* .meshsync/tmp, or -1 */
    transfer_file_t file[TRANSFER_MAX];
    uint64_t key[TRANSFER_MAX]; /* each file's path hash, in step (transfer_find) */
    size_t n;
    uint64_t bytes;      /* of the temp files (their entries' sizes) */
    uint64_t next_id;    /* the last file's id */
    size_t ncomplete;    /* files with every block, to be put in place */
    size_t nopen;        /* files whose temp file is kept open (TRANSFER_OPEN_MAX) */
    int64_t complete_ms; /* when the first of them became whole (node_now_ms) */
    int64_t full_ms;     /* when a write last found the disk full (node_now_ms), 0: never */
    bool progress;       /* a file finished or was dropped since the caller cleared it */
    bool lost;           /* a dropped path could not be requeued (memory): look at all */
    paths_t later;       /* paths of transfers dropped before they were in place, by path */
} transfer_t;

/* Open (making it) .meshsync/tmp under root_fd into t->tmp_fd if it is not open; the t<n>
 * files (links being made) left there are removed. False when it cannot be opened. */
bool transfer_open(transfer_t *t, int root_fd);

/* Drop every transfer (their temp files kept: the next start goes on from them), close the
 * temp directory, free t->later. t stays usable (empty). */
void transfer_release(transfer_t *t);

/* The bytes of the blocks the files under way already hold in their temp files. */
uint64_t transfer_held_bytes(const transfer_t *t);

/* The index of path's transfer, or t->n. */
size_t transfer_find(const transfer_t *t, const char *path);

/* Drop transfer i (the last one moves to i); its temp file removed when unlink_tmp. */
void transfer_drop(transfer_t *t, size_t i, bool unlink_tmp);

/* Wait for (path, value) again: pushed to t->later (a full memory: false). */
bool transfer_requeue(transfer_t *t, const char *path, const uint8_t *value, size_t len);

/* No room for another transfer of size bytes now (TRANSFER_MAX, TRANSFER_BYTES_MAX)? */
bool transfer_full(const transfer_t *t, uint64_t size);

/* The hash naming (path, entry value): the same on every run (HASH_LEN bytes). */
void transfer_entry_hash(const char *path, const uint8_t *value, size_t len, uint8_t out[HASH_LEN]);

/* The temp file name of (path, value), the same after a restart. */
void transfer_tmp_name(const char *path, const uint8_t *value, size_t len,
                       char out[TRANSFER_TMP_NAME]);

/* Start path's transfer to entry e (value[0..len) its bytes; e is taken, zeroed): a temp
 * file of its size (or the one a cut transfer of the same entry left, its blocks checked),
 * with every block held here already copied in (from the block index or a whole file
 * waiting to be put in place); whole at once when none is missing. A file of one block held
 * nowhere here makes no temp file until the block comes. MESH_OK (also when no temp file
 * could be made: logged, nothing started), MESH_ENOMEM. */
MESH_NODISCARD mesh_err_t transfer_start(mesh_t *m, const char *folder_id, transfer_t *t,
                                         const blockidx_t *bi, const char *path,
                                         const uint8_t *value, size_t len, wire_fentry_t *e);

/* Give whole file i its mode and mtime (if not done while its temp file was open). */
bool transfer_seal(const transfer_t *t, size_t i);

/* Is it time to put t's whole files in place? All asked, flush_files whole, every file whole
 * and TRANSFER_EARLY_BYTES or more of them (a large file: its flush outweighs what a wait
 * could add to it), or the first whole flush_ms ago when no other file waits for blocks,
 * busy_ms while others do. */
bool transfer_due(const transfer_t *t, bool all, size_t flush_files, int64_t flush_ms,
                  int64_t busy_ms);

/* Remove the temp files of cut transfers that no transfer and no path of keep will go on
 * from (after a pass over every path). */
void transfer_sweep(const transfer_t *t, const paths_t *keep);

/* Call fn for each block hash t's files still lack (repeats possible). */
void transfer_wanted(const transfer_t *t, void (*fn)(void *ctx, const uint8_t *hash), void *ctx);

/* A block whose hash the caller has checked: written into every file of t that lacks it.
 * A file a write finds the disk full for is dropped and requeued. Returns the places. */
size_t transfer_block(mesh_t *m, const char *folder_id, transfer_t *t, const uint8_t *hash,
                      const uint8_t *data, size_t len);

/* A block received, not yet checked: add to job the places of t's files that lack it (owner
 * names t's folder to the workers). Returns how many places were added. */
size_t transfer_block_places(transfer_t *t, void *owner, blockwork_job_t *job);

/* job came back from the workers: the places of owner's files it wrote are held now; a file
 * a put found the disk full for is dropped and requeued. Returns how many places took it. */
size_t transfer_block_done(mesh_t *m, const char *folder_id, transfer_t *t, const void *owner,
                           const blockwork_job_t *job);

#endif /* MESH_CORE_FOLDER_TRANSFER_H */
