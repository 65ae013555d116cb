/* fs/path.h: relative paths inside a shared folder (docs/PROTOCOL.md §18.3): the check of a
 * path from the network, and opening a path under the folder root one component at a time
 * with O_NOFOLLOW, so that nothing is ever read or written outside the folder.
 * Owns: the path rule and its caps, the safe open.
 * Not here: walking a folder (fs/scan.h), what an entry holds (core/wire/fentry.h).
 * Layer: fs (below core). Third-party: none. SPDX-License-Identifier: MIT */
#ifndef MESH_FS_PATH_H
#define MESH_FS_PATH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "meshsync.h" /* mesh_err_t */

#define PATH_LEN_MAX   4095u       /* bytes of a relative path (Linux's PATH_MAX less the NUL) */
#define PATH_NAME_MAX  255u        /* bytes of one component (NAME_MAX) */
#define PATH_DEPTH_MAX 64u         /* components of a path */
#define PATH_PRIVATE   ".meshsync" /* the folder's own directory: never a synced path */

/* The length of the valid UTF-8 sequence at p[0..left) (left >= 1), its code point in *cp
 * (when cp is not NULL); 0 when it is not one (RFC 3629: no overlong form, surrogate or
 * code point above U+10FFFF). The path rule's own decoder, for the other fs/ modules too.
 * Thread-safe. */
size_t path_utf8(const uint8_t *p, size_t left, uint32_t *cp);

/* Check rel[0..len) as a path inside a folder (§18.3): 1..PATH_LEN_MAX bytes of valid UTF-8
 * (no overlong form, surrogate, or code point above U+10FFFF), no NUL, not absolute, '/'
 * between components, no empty, "." or ".." component, each at most PATH_NAME_MAX bytes, at
 * most PATH_DEPTH_MAX of them, and the first not PATH_PRIVATE. Bytes past len are never read.
 * MESH_OK, MESH_EINVAL (malformed), MESH_ETOOBIG (a cap); why (if why_len) then says which
 * rule and where, never echoing the path. Thread-safe. */
MESH_NODISCARD mesh_err_t path_check(const char *rel, size_t len, char *why, size_t why_len);

/* Open the directory holding the last component of rel, under the directory root_fd, one
 * component at a time (openat, O_DIRECTORY | O_NOFOLLOW): a symlink or a non-directory in
 * the way is refused, never followed. With make_dirs, missing directories are made (mode
 * 0755) on the way, and each is opened again with O_NOFOLLOW after mkdirat, so a link
 * planted in between is refused too. rel must pass path_check. MESH_OK: *dir_fd is open
 * (caller closes) and *name points into rel at the last component (NUL-terminated by rel).
 * Errors: MESH_EINVAL (rel fails path_check, or a symlink or a non-directory in the way),
 * MESH_ETOOBIG, MESH_ENOTFOUND (a directory missing, without make_dirs), MESH_EIO; *dir_fd
 * is then -1, and why says what happened. Directories made before a failure stay. */
MESH_NODISCARD mesh_err_t path_open_parent(int root_fd, const char *rel, bool make_dirs,
                                           int *dir_fd, const char **name, char *why,
                                           size_t why_len);

/* Open rel under root_fd as path_open_parent does, then its last component with
 * openat(flags | O_NOFOLLOW | O_CLOEXEC, mode): a symlink there is refused too (O_CREAT
 * never creates through one). MESH_OK: *fd is open (caller closes). Errors: as
 * path_open_parent, and MESH_ENOTFOUND (no such file), MESH_EEXIST (O_CREAT | O_EXCL and it
 * exists); *fd is then -1. */
MESH_NODISCARD mesh_err_t path_open(int root_fd, const char *rel, int flags, mode_t mode,
                                    bool make_dirs, int *fd, char *why, size_t why_len);

#endif /* MESH_FS_PATH_H */
