/* core/folder/index.h: one folder's index on this device (docs/PROTOCOL.md §18.5): the last
 * scan's record of each path (what the disk held, with the metadata that tells a change),
 * kept in the store across restarts, and the scan that turns the disk into this device's
 * signed entries of the folder's index collection (a put only where an entry's bytes differ,
 * a delete for a path gone from disk under a root whose marker is present).
 * Owns: folder_t (a synced folder's state), the records and their store layout.
 * Not here: the walk and the change rule (fs/scan.h), the registry (core/folder/registry.h),
 * bringing the disk to the index (core/folder/realize.h). Ignore patterns (.meshignore) will
 * filter the walk in index_scan (marked there).
 * Layer: core (folder). Third-party: none. SPDX-License-Identifier: MIT */
#ifndef MESH_CORE_FOLDER_INDEX_H
#define MESH_CORE_FOLDER_INDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/folder/registry.h"
#include "core/wire/fentry.h"
#include "fs/scan.h"
#include "meshsync.h"

/* What the last scan (or realize) saw at one path. */
typedef struct index_rec {
    char *path; /* relative, NUL-terminated (malloc'd) */
    uint8_t type;
    uint32_t mode;
    uint64_t size;
    int64_t mtime_ns, ctime_ns;
    uint64_t inode;
    char *target;                /* a symlink's target (malloc'd), else NULL */
    wire_fentry_block_t *blocks; /* a file's blocks (malloc'd), else NULL */
    size_t nblocks;
} index_rec_t;

struct realize_state; /* core/folder/realize.c */

/* A folder this node syncs, as the daemon holds it. */
typedef struct folder {
    char id[SCAN_ID_MAX + 1];
    char *root; /* the local root (malloc'd) */
    char coll[REGISTRY_COLL_LEN];
    index_rec_t *recs; /* sorted by path (strcmp) */
    size_t nrecs;
    int root_fd;          /* open while the root is well, else -1 */
    enum scan_root state; /* the last root check */
    char why[256];        /* what it found, when not SCAN_ROOT_OK */
    bool dirty;           /* something may have changed on disk: scan soon */
    bool more;            /* the last scan stopped at its budget: go on at the next turn */
    index_rec_t *later;   /* the files its walk found new or changed, not read yet (walk */
    size_t nlater;        /* order): the next parts read them without walking again */
    bool loaded;          /* recs were read from the store */
    uint64_t generation;  /* rises whenever recs change (the block index follows) */
    struct realize_state *realize;
    /* the file of later[0] being read over several parts (a large one), or NULL */
    struct index_reading *reading;
    struct index_dir *dir;     /* the directory of the last file read, kept open within one part
                                  of a scan (the files of a directory come one after another) */
    struct ignore_set *ignore; /* the root's .meshignore as the last scan read it (§19.1) */
    bool ignore_bad;           /* it did not parse: nothing is scanned or realized */
    char ignore_why[200];      /* why (logged once per new reason) */
    uint64_t ignore_stamp;     /* .meshignore's inode, size and times at its last load */
    uint64_t ignore_gen;       /* rises when that stamp changed (realize looks at every path) */
} folder_t;

/* A new folder state for id at root (recs not loaded yet). NULL: out of memory. */
folder_t *index_folder_new(const char *id, const char *root);

/* Free f and what it owns (free f->realize first: realize_free); NULL is a no-op. */
void index_folder_free(folder_t *f);

/* The record of path, or NULL. */
index_rec_t *index_find(const folder_t *f, const char *path);

/* Set the record of path to *rec (taking what it owns; rec is zeroed), or with rec NULL drop
 * it. MESH_OK or MESH_ENOMEM. */
MESH_NODISCARD mesh_err_t index_set(folder_t *f, const char *path, index_rec_t *rec);

/* Is path (a directory when is_dir) left out of sync by the folder's .meshignore
 * (fs/ignore.h, as the last scan read it)? An ignored path is neither indexed, nor
 * deleted from the index when it becomes ignored, nor written or deleted from the
 * network: it stays local (§19.1). */
bool index_ignored(const folder_t *f, const char *path, bool is_dir);

/* Does the disk hold at path (a regular file) just what its record says (size, mode, mtime,
 * inode, ctime: what a scan would find unchanged)? An inotify event about such a path needs
 * no scan: realize's own renames are recorded as they are made (§18.5). False when there is
 * no such record, the folder is stopped, or the path is not reachable. */
bool index_holds(const folder_t *f, const char *path);

/* Free what rec owns and zero it. */
void index_rec_release(index_rec_t *rec);

/* The file entry (§18.2) of rec into e (borrowing rec's target and blocks). A directory's
 * mtime is not part of its entry (0): it changes with every name added under it. */
void index_rec_entry(const index_rec_t *rec, wire_fentry_t *e);

/* Does rec describe exactly entry e (type, mode, size, mtime and blocks, or a link's
 * target; a directory by its mode)? */
bool index_rec_is(const index_rec_t *rec, const wire_fentry_t *e);

/* Scan f: check the root and its marker (a failure stops the folder: f->state and f->why say
 * why, the error is logged once, nothing is taken as deleted), walk it, read the content of
 * new or changed files only (scan_changed), and write this device's puts and deletes into
 * f->coll, then keep the records in the store. *changed (may be NULL) says whether any entry
 * was written. MESH_OK also for a stopped folder; else the first error (detail on m). */
MESH_NODISCARD mesh_err_t index_scan(mesh_t *m, folder_t *f, bool *changed);

/* index_scan in parts: once budget_ms (0: no limit) of reading content is spent, or
 * max_files files were read (0: no limit), the files not read yet keep their old record (a
 * new one none), so they are neither written nor taken as deleted, and f->more asks for the
 * next part. The first part walks the whole folder (metadata only: deletes come from a whole
 * walk) and keeps the files it did not read in f->later; the next parts read on from there
 * without walking again (a file that changed meanwhile is seen as changing, and scanned
 * again soon), write only puts, and take each file's record. Each part commits what it
 * read, so a peer fetches the first files while the rest are read, and the caller's loop
 * runs between parts. */
MESH_NODISCARD mesh_err_t index_scan_some(mesh_t *m, folder_t *f, uint32_t budget_ms,
                                          size_t max_files, bool *changed);

/* Keep f's records in the store (metadata "folderscan/<ID>"). */
MESH_NODISCARD mesh_err_t index_save(mesh_t *m, folder_t *f);

/* Forget the records of f kept in the store (mesh_folder_rm's daemon side). */
void index_forget(mesh_t *m, const char *id);

#endif /* MESH_CORE_FOLDER_INDEX_H */
