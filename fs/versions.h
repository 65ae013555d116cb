/* fs/versions.h: replaced and deleted files kept inside the folder (docs/PROTOCOL.md §19.2),
 * under .meshsync/versions/ with the folder's directory structure, as
 * `dir/name~YYYYMMDD-HHMMSS.ext` (UTC): keep one, list a path's, restore one, expire old ones.
 * Every open goes from the open folder root one component at a time with O_NOFOLLOW
 * (fs/path.h), so nothing outside the folder is read, moved or removed.
 * Owns: the versions directory, the version name, the retention rule.
 * Not here: when a file is replaced or deleted (core), conflict copies (fs/conflict.h).
 * Layer: fs (below core). Third-party: none. SPDX-License-Identifier: MIT */
#ifndef MESH_FS_VERSIONS_H
#define MESH_FS_VERSIONS_H

#include <stddef.h>
#include <stdint.h>

#include "meshsync.h" /* mesh_err_t */

#define VERSIONS_DIR          ".meshsync/versions" /* under the folder root */
#define VERSIONS_DAYS_DEFAULT 30u                  /* days a version is kept by default */
#define VERSIONS_DAYS_MAX     36500u               /* the largest retention, 100 years */
#define VERSIONS_LIST_MAX     10000u               /* versions of one path listed */

/* One kept version of a path. */
typedef struct versions_entry {
    int64_t when;   /* unix seconds (UTC) of its stamp: when it was replaced or deleted */
    uint64_t size;  /* bytes */
    char name[256]; /* its file name in the versions directory (NUL-terminated) */
} versions_entry_t;

/* The versions of one path, newest first. */
typedef struct versions_list {
    versions_entry_t *v;
    size_t n;
} versions_list_t;

/* Move the file (or symlink) at rel under root_fd into the versions directory as
 * `rel~STAMP.ext` (STAMP: when, YYYYMMDD-HHMMSS UTC; the extension rule of
 * conflict_ext_at), making its directories. A version that exists with that stamp is never
 * replaced: the next free second is taken (at most 60 later). MESH_OK; MESH_ENOTFOUND (no
 * file at rel), MESH_EINVAL (rel fails path_check, a directory, a symlink or a file in the
 * way, a time outside 1970..9999), MESH_EEXIST (60 seconds taken), MESH_ETOOBIG, MESH_EIO;
 * why says which. Nothing is moved on error. */
MESH_NODISCARD mesh_err_t versions_keep(int root_fd, const char *rel, int64_t when, char *why,
                                        size_t why_len);

/* The file (or symlink) at rel leaves its path (a member's change replaces or deletes it):
 * with days > 0 it is kept (versions_keep); with days == 0 (versioning off, §19.2) it is
 * removed. Errors as versions_keep; nothing is moved or removed on error. */
MESH_NODISCARD mesh_err_t versions_retire(int root_fd, const char *rel, int64_t when, unsigned days,
                                          char *why, size_t why_len);

/* List the versions of rel into *out (released with versions_release), newest first; none
 * is an empty list (MESH_OK). Errors: MESH_EINVAL (rel fails path_check, a symlink in the
 * way), MESH_ETOOBIG (more than VERSIONS_LIST_MAX), MESH_ENOMEM, MESH_EIO. */
MESH_NODISCARD mesh_err_t versions_list(int root_fd, const char *rel, versions_list_t *out,
                                        char *why, size_t why_len);

void versions_release(versions_list_t *list);

/* Bring back the newest version of rel kept at or before at (INT64_MAX: the newest of all):
 * the file now at rel, if any, is first kept as a version stamped now (a hard link), then
 * swapped with the version in one step (renameat2 RENAME_EXCHANGE, so rel is never absent;
 * a file that came to rel meanwhile stays as a version), else the version is moved to rel
 * (its directories made). *restored (may be NULL) says the chosen stamp.
 * MESH_ENOTFOUND: no version at or before at (nothing changed). Other errors as
 * versions_keep. */
MESH_NODISCARD mesh_err_t versions_restore(int root_fd, const char *rel, int64_t at, int64_t now,
                                           int64_t *restored, char *why, size_t why_len);

/* Remove the versions stamped more than days x 86,400 seconds before now, and the
 * directories of the versions tree that this leaves empty. days == 0 means versioning is
 * off: nothing is removed (versions kept before stay until turned on again or removed by
 * hand; the engine just keeps no new ones). Names that are not versions are left alone.
 * *removed (may be NULL) counts the files removed. MESH_EINVAL: days above
 * VERSIONS_DAYS_MAX, or a symlink where the versions directory should be; MESH_EIO. */
MESH_NODISCARD mesh_err_t versions_expire(int root_fd, int64_t now, unsigned days, size_t *removed,
                                          char *why, size_t why_len);

#endif /* MESH_FS_VERSIONS_H */
