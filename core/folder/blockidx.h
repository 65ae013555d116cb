/* core/folder/blockidx.h: where this device holds each block (docs/PROTOCOL.md §18.6): a
 * hash -> (folder, path, offset, size) index over the last scan's records of every folder,
 * so that a block already on disk in any file of any folder is copied, not fetched, and a
 * member's BLOCK_REQ is answered from disk; and each large file's pieces of its block list
 * (§25), answered from the records. Kept in step incrementally: an update costs a
 * walk of the records and the work of the files that changed.
 * Owns: the index and reading a block back (checked against its hash: a file edited since
 * its scan yields nothing). Not here: the records (core/folder/index.h), the network.
 * Layer: core (folder). Third-party: none. SPDX-License-Identifier: MIT */
#ifndef MESH_CORE_FOLDER_BLOCKIDX_H
#define MESH_CORE_FOLDER_BLOCKIDX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/folder/index.h"
#include "meshsync.h"

typedef struct blockidx blockidx_t;

/* A new, empty index. NULL: out of memory. */
blockidx_t *blockidx_new(void);

/* Free bi; NULL is a no-op. */
void blockidx_free(blockidx_t *bi);

/* Bring bi in step with the records of folders[0..n): a folder whose generation moved
 * since is walked once against what bi holds of it, and only its files whose blocks changed
 * are dropped or added; a folder no longer listed is dropped. MESH_OK or MESH_ENOMEM (bi is
 * then empty: the next update builds it again). */
MESH_NODISCARD mesh_err_t blockidx_update(blockidx_t *bi, folder_t *const *folders, size_t n);

/* Drop what bi holds of f (before f is freed); NULL bi is a no-op. */
void blockidx_forget(blockidx_t *bi, const folder_t *f);

/* Read the block named hash from any local place that still holds it into buf (cap bytes
 * at least its size): each place is read through its folder's open root (fs/path.h) and
 * checked against hash (a block copied into another file is never taken on trust: a write
 * within the file system's timestamp granularity after the scan leaves the stat check
 * unchanged). A piece (§25) is made from its file's record. MESH_OK: *len is its size.
 * MESH_ENOTFOUND: held nowhere (or every place changed since its scan). */
MESH_NODISCARD mesh_err_t blockidx_read(const blockidx_t *bi, const uint8_t *hash, uint8_t *buf,
                                        size_t cap, size_t *len);

/* blockidx_read for an answer to a member: a place whose file the stat check finds as
 * scanned (size, mtime, ctime and inode as its record, of the generation indexed: the rule
 * by which a rescan reads no content) is taken as it is, without a second hash; the asker
 * checks every block it gets (§18.6). The directories its files are opened in are kept open
 * for the next answers (a few, each at most a second, and only while their folder's records
 * and root stay the same; closed when they change, by blockidx_update, blockidx_forget
 * and blockidx_free). */
MESH_NODISCARD mesh_err_t blockidx_answer(blockidx_t *bi, const uint8_t *hash, uint8_t *buf,
                                          size_t cap, size_t *len);

/* Is hash in the index (without reading it)? */
bool blockidx_has(const blockidx_t *bi, const uint8_t *hash);

#endif /* MESH_CORE_FOLDER_BLOCKIDX_H */
