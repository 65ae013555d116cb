/* core/folder/realize.h: bringing a folder's disk to its index (docs/PROTOCOL.md §18.6):
 * directories, symlinks (as links, never followed) and files, each file built in a temp
 * file under .meshsync/tmp from blocks held anywhere on this device (core/folder/blockidx.h)
 * and blocks members send, every block checked, mode and mtime set, fsynced and renamed
 * into place, so that a half-written file is never visible; and deletes. A path whose disk
 * state differs from its last scan record (a local edit not scanned yet) is never written
 * or deleted: the folder is scanned again first, and the local change kept.
 * Owns: which entries are brought to disk and when (the passes, the paths that wait), the
 * disk checked against the records before a path is touched, putting whole files in place
 * (the flush), directories, links, deletes, conflict copies, the room on the disk before a
 * file starts. Not here: the pending transfers, their temp files and the blocks coming in
 * (core/folder/transfer.h), which member sends a block (core/sync/), the scan
 * (core/folder/index.h).
 * Layer: core (folder). Third-party: none. SPDX-License-Identifier: MIT */
#ifndef MESH_CORE_FOLDER_REALIZE_H
#define MESH_CORE_FOLDER_REALIZE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/folder/blockidx.h"
#include "core/folder/blockwork.h"
#include "core/folder/index.h"
#include "meshsync.h"

#define REALIZE_FLUSH_FILES   256u /* whole files put in place together (one syncfs), */
#define REALIZE_FLUSH_MS      50   /* or the first of them waited this long (ms), */
#define REALIZE_FLUSH_BUSY_MS 250  /* this long while other files wait for blocks */

/* One pass over f, proportional to what changed (§18.6): the paths whose entry in f's index
 * collection changed since the last pass (read from the store's change feed from f's own
 * cursor), with the paths still waiting from earlier passes (no room for another transfer,
 * a local change to scan first, a transfer dropped), are brought to disk as far as local
 * blocks allow (files that need blocks from members wait, pending), and a path whose entry
 * is gone is deleted from disk. The first pass, a pass after realize_full, after the folder
 * was stopped, after its .meshignore changed (f->ignore_gen) or when the feed cannot say
 * (a cursor it forgot) looks at every path: each entry, and each record without one. Paths
 * and entries from the network are checked first (path_check, wire_fentry_decode: a bad
 * one is refused and logged). Does nothing while f is stopped (its root or marker
 * missing). MESH_OK, or MESH_ENOMEM / MESH_EIO (detail on m). */
MESH_NODISCARD mesh_err_t realize_pass(mesh_t *m, folder_t *f, const blockidx_t *bi);

/* Make f's next pass look at every path (after a periodic rescan: what inotify missed). */
void realize_full(folder_t *f);

/* Does f want a pass although the store did not change (a full pass asked for, the folder
 * back from stopped, its ignore patterns changed, or paths waiting and a transfer finished
 * or was dropped since)? */
bool realize_wants_pass(const folder_t *f);

/* Call fn for each block hash the pending files of f still lack, and each piece of a large
 * file's block list wanted (§25) (repeats possible). */
void realize_wanted(const folder_t *f, void (*fn)(void *ctx, const uint8_t *hash), void *ctx);

/* A block whose hash the caller has checked: write it into every pending file of f that
 * lacks it (a file it makes whole is put in place by realize_flush), or keep it as a wanted
 * piece (at most the bytes reserved for it; the next pass reads it). Returns how many
 * places took it. */
size_t realize_block(mesh_t *m, folder_t *f, const uint8_t *hash, const uint8_t *data, size_t len);

/* A block received, not yet checked (job: its name, bytes and length): add to job the
 * places in f's pending files that lack it, each a descriptor of the temp file the worker
 * writes and closes (blockwork.h). A file with places in a job is not put in place before
 * realize_block_done. Returns how many places were added. */
size_t realize_block_places(folder_t *f, blockwork_job_t *job);

/* job came back from the workers: the places of f it wrote (checked) are held now (a file
 * it makes whole is put in place by realize_flush), and when good, a wanted piece (§25)
 * takes its bytes as realize_block does; a file a put found the disk full for is dropped
 * and waits for room, as in realize_block. Returns how many places took it. */
size_t realize_block_done(mesh_t *m, folder_t *f, const blockwork_job_t *job);

/* Put f's whole pending files in place: mode and mtime, one syncfs for all their bytes
 * (and the renames of the flush before), each renamed over its path if the disk there
 * still holds what its record says (else it waits for a later pass), and one syncfs for the
 * renames once no file waits for blocks (else the next flush's, or realize_sync's); a file
 * the rename left is never half written. Done when all is set, or REALIZE_FLUSH_FILES are
 * whole, or every file is whole and they hold 8 MiB or more (at once: a large file), or the
 * first became whole REALIZE_FLUSH_MS ago (REALIZE_FLUSH_BUSY_MS while other files wait for
 * blocks); else nothing yet. */
void realize_flush(mesh_t *m, folder_t *f, bool all);

/* Make the renames of f's last flush durable (one syncfs), if not yet: before the records
 * that say those files are there are kept in the store. */
void realize_sync(folder_t *f);

/* Files of f still waiting for blocks (or whole, not yet put in place). */
size_t realize_pending(const folder_t *f);

/* Bytes those files already hold (their blocks in their temp files: the status's progress
 * within large files). */
uint64_t realize_held_bytes(const folder_t *f);

/* Drop f's pending transfers and their temp files; NULL state is a no-op. */
void realize_free(folder_t *f);

#endif /* MESH_CORE_FOLDER_REALIZE_H */
