/* fs/scan.h: walking a shared folder (docs/PROTOCOL.md §18.4): its entries (files,
 * directories, symlinks, never followed) with the metadata that tells a change without
 * reading content, and the root marker that keeps a missing root from looking like a
 * folder whose every file was deleted.
 * Owns: the walk, the change rule (size, mtime, inode, ctime), the marker file.
 * Not here: file content and blocks (fs/chunk.h), the path rule (fs/path.h).
 * Layer: fs (below core). Third-party: none. SPDX-License-Identifier: MIT */
#ifndef MESH_FS_SCAN_H
#define MESH_FS_SCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "meshsync.h" /* mesh_err_t */

#define SCAN_MARKER     ".meshsync/folder-id" /* at the root: the folder's ID and a newline */
#define SCAN_ID_MAX     64u                   /* bytes of a folder ID: [A-Za-z0-9._-] */
#define SCAN_TARGET_MAX 4095u                 /* bytes of a symlink target */

/* What an entry is (the same numbers as the file entry's type, §18.2). */
enum scan_type { SCAN_FILE = 0, SCAN_DIR = 1, SCAN_SYMLINK = 2 };

/* One entry of a walk: borrowed, valid during the callback only. */
typedef struct scan_entry {
    const char *path; /* relative to the root, '/' between components, NUL-terminated */
    size_t path_len;
    uint8_t type;       /* enum scan_type */
    uint32_t mode;      /* permission bits (st_mode & 07777) */
    uint64_t size;      /* a file's bytes; 0 for a directory; a symlink's target length */
    int64_t mtime_ns;   /* modification time, ns since the epoch */
    int64_t ctime_ns;   /* status change time, ns since the epoch */
    uint64_t inode;     /* st_ino */
    const char *target; /* a symlink's target (NUL-terminated), else NULL */
    bool unlisted;      /* a directory whose entries could not be read: keep what was known
                           under it, never take them as deleted */
} scan_entry_t;

/* What a walk saw and left out. */
typedef struct scan_stats {
    uint64_t files, dirs, symlinks; /* entries yielded */
    uint64_t special;               /* sockets, fifos, devices: not synced, skipped */
    uint64_t bad_names; /* names no path may hold (fs/path.h: not UTF-8, too long): skipped */
    uint64_t unlisted;  /* directories that could not be read (entry.unlisted) */
    uint64_t vanished;  /* names gone between the listing and their stat */
} scan_stats_t;

/* The state of a folder root before a walk. Anything but SCAN_ROOT_OK stops the folder: a
 * missing root or marker is an unmounted disk or a dead share, not a mass deletion. */
enum scan_root {
    SCAN_ROOT_OK = 0,
    SCAN_ROOT_MISSING,   /* the root does not exist or is not a directory */
    SCAN_ROOT_NO_MARKER, /* the root holds no SCAN_MARKER */
    SCAN_ROOT_OTHER,     /* the marker names another folder */
    SCAN_ROOT_ERROR      /* the root or marker could not be read (permissions, I/O) */
};

/* A short text for a root state ("root missing", "marker missing", ...). */
const char *scan_root_text(enum scan_root state);

/* Check the root directory and its marker against folder_id. SCAN_ROOT_OK: *root_fd (when
 * root_fd is not NULL) is the root, open (caller closes); else *root_fd is -1 and why says
 * what was found. The root path itself may be a symlink (the user's choice); nothing inside
 * it is followed. */
enum scan_root scan_root_check(const char *root, const char *folder_id, int *root_fd, char *why,
                               size_t why_len);

/* Write the marker of folder_id into the existing directory root (.meshsync/ made with mode
 * 0700, the marker written to a temp file, fsynced and renamed). MESH_OK (also when it is
 * already there), MESH_EINVAL (a bad ID), MESH_ENOTFOUND (no root), MESH_EEXIST (the root is
 * another folder's), MESH_EIO; why says which. */
MESH_NODISCARD mesh_err_t scan_marker_write(const char *root, const char *folder_id, char *why,
                                            size_t why_len);

/* Called once per entry, parents before what they hold, names in bytewise order within a
 * directory. A return other than MESH_OK ends the walk with that code. */
typedef mesh_err_t (*scan_fn)(void *ctx, const scan_entry_t *entry);

/* Walk the folder at root after scan_root_check: every entry below the root but the root's
 * own .meshsync/, through openat and fstatat without following any symlink, reading no file
 * content (a symlink's target is read with readlinkat). Names that no path may hold
 * (path_check) and special files are counted in *stats and skipped.
 * MESH_OK; MESH_ENOTFOUND when the root check fails (*root_state says which, and no entry
 * was yielded); MESH_EIO, MESH_ENOMEM; or the callback's code. After an error the entries
 * yielded are a part of the folder only: never take what was not yielded as deleted. */
MESH_NODISCARD mesh_err_t scan_walk(const char *root, const char *folder_id, scan_fn fn, void *ctx,
                                    scan_stats_t *stats, enum scan_root *root_state, char *why,
                                    size_t why_len);

/* Has an entry changed since known was taken? By its type, size, mode, mtime, inode and ctime
 * alone (§18.4): content is never read for this. */
bool scan_changed(const scan_entry_t *now, const scan_entry_t *known);

#endif /* MESH_FS_SCAN_H */
