/* core/folder/blockwork.h: received blocks checked against their names (BLAKE2b, §18.1) and
 * written at their places in temp files, on worker threads, so that the loop thread goes on
 * receiving (and ZeroMQ's I/O thread decrypting) while blocks are hashed and written.
 * Owns: the worker threads and their queues. Not here: which places want a block, and what
 * a written block changes (core/folder/realize.h), which member sends it (core/sync/folders.c).
 * A job is the caller's until blockwork_submit, the pool's until blockwork_done hands it back;
 * only the loop thread calls these functions.
 * Layer: core (folder). Third-party: none. SPDX-License-Identifier: MIT */
#ifndef MESH_CORE_FOLDER_BLOCKWORK_H
#define MESH_CORE_FOLDER_BLOCKWORK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/hash.h"
#include "meshsync.h"

#define BLOCKWORK_THREADS 2u /* workers: hashing is the cost, and a machine has 2 cores or more */

#define BLOCKWORK_NAME_MAX 48u /* bytes of a file name a worker makes, with its NUL */

typedef struct blockwork blockwork_t;

/* One place a checked block is written: off in fd, for the caller's (owner, key, index). */
typedef struct blockwork_put {
    int fd;        /* written with pwrite; closed by the worker when close_fd */
    bool close_fd; /* the last put of this descriptor in its job */
    bool wrote;    /* out: the whole block was written there */
    bool full;     /* out: not, for lack of room (ENOSPC, EDQUOT) */
    bool early;    /* its writeback started at once (a large file: less left for the fsync) */
    bool seal;     /* after the write, before the close: fchmod mode, futimens mtime_ns (the
                      place that makes its file whole: the loop need not open it again) */
    bool sealed;   /* out: sealed so */
    uint32_t mode;
    int64_t mtime_ns;
    bool make; /* fd is a directory: once the block is checked, the file name is made in
                  it (O_CREAT | O_EXCL, one left there replaced), fd becomes the file's,
                  and the directory's descriptor is closed (close_fd is set) */
    bool made; /* out: it was made */
    char name[BLOCKWORK_NAME_MAX];
    uint64_t off; /* where in the file */
    void *owner;  /* the caller's: whose place (a folder) */
    uint64_t key; /* the caller's: which file of it (a pending file's id) */
    size_t index; /* the caller's: which block of that file */
} blockwork_put_t;

typedef struct blockwork_job {
    uint8_t hash[HASH_LEN]; /* the name the bytes must have */
    uint8_t *data;          /* the block's bytes (owned: blockwork_job_free) */
    size_t len;
    blockwork_put_t *puts; /* where it goes once checked (owned) */
    size_t nputs, cap;
    bool good;    /* out: data hashes to hash (nothing is written when not) */
    uint64_t num; /* the caller's: the request it answers */
    void *from;   /* the caller's: who sent it */
    struct blockwork_job *next;
} blockwork_job_t;

/* A job for a copy of data[0..len), named hash. NULL when out of memory. */
blockwork_job_t *blockwork_job_new(const uint8_t *hash, const uint8_t *data, size_t len);

/* Add a place to job (fd its own: closed by the worker when close_fd, or by
 * blockwork_job_free when the job never ran). MESH_OK or MESH_ENOMEM (nothing added). */
MESH_NODISCARD mesh_err_t blockwork_job_put(blockwork_job_t *job, int fd, bool close_fd,
                                            uint64_t off, void *owner, uint64_t key, size_t index);

/* The last place added to job: its bytes' writeback is started as soon as they are written
 * (sync_file_range), so that the fsync of a large file finds little left to write. */
void blockwork_job_early(blockwork_job_t *job);

/* The last place added to job (one with close_fd) makes its file whole: once written, the
 * file gets mode and mtime_ns (fchmod, futimens) before the worker closes it (put.sealed). */
void blockwork_job_seal(blockwork_job_t *job, uint32_t mode, int64_t mtime_ns);

/* The last place added to job (a directory's descriptor, close_fd set) is the file name in
 * that directory, made by the worker once the block is checked (put.make): the loop thread
 * does not wait for a file system's inode allocation. MESH_EINVAL: a name too long. */
MESH_NODISCARD mesh_err_t blockwork_job_make(blockwork_job_t *job, const char *name);

/* Give the file open at fd mode (fchmod) and mtime_ns (futimens; its atime left): a whole
 * file's, on a worker or the caller's thread. False when either failed (or fd < 0). */
bool blockwork_seal_fd(int fd, uint32_t mode, int64_t mtime_ns);

/* Free job, closing the descriptors it still owns; NULL is a no-op. */
void blockwork_job_free(blockwork_job_t *job);

#define BLOCKWORK_WAKE_JOBS 8u /* finished jobs that wake the caller (blockwork_new) */

/* Called on a worker thread, outside the pool's lock, as jobs finish: the caller's wake-up (a
 * loop's eventfd), so that it need not poll blockwork_done while jobs are under way. */
typedef void (*blockwork_wake_fn)(void *ctx);

/* Start the workers; wake (NULL: none) is called with ctx once BLOCKWORK_WAKE_JOBS finished
 * jobs wait to be taken since blockwork_done last took them (or since the last wake), and
 * when the last job under way finishes with any waiting: so a job finished is never left
 * unwoken for once no other is under way, and a caller that takes them at each turn anyway
 * (a loop woken by frames) is woken about once per BLOCKWORK_WAKE_JOBS, not once per job.
 * NULL when no thread could start (the caller checks blocks itself). */
blockwork_t *blockwork_new(unsigned threads, blockwork_wake_fn wake, void *ctx);

/* Hand *job to the workers (*job becomes NULL): its data hashed, and when it matches, written
 * at each of its places. */
void blockwork_submit(blockwork_t *bw, blockwork_job_t **job);

/* A job the workers finished (the caller's again, to free), or NULL when none is. */
blockwork_job_t *blockwork_done(blockwork_t *bw);

/* Jobs submitted and not handed back yet. */
size_t blockwork_busy(const blockwork_t *bw);

/* Wait until every submitted job is finished (they are handed back by blockwork_done). */
void blockwork_drain(blockwork_t *bw);

/* Stop the workers (after the jobs under way), freeing every job not handed back; NULL is a
 * no-op. */
void blockwork_free(blockwork_t *bw);

#endif /* MESH_CORE_FOLDER_BLOCKWORK_H */
