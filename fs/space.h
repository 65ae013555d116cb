/* fs/space.h: the room a folder's file transfer may take on the file system of a directory,
 * asked before the transfer starts (docs/PROTOCOL.md §18.6), so that a file the disk cannot
 * hold waits for room instead of filling the disk and fetching its blocks again and again.
 * Owns: the question (fstatvfs) and the bytes always left free. Not here: what waits and
 * when it is tried again (core/folder/realize.c). Layer: fs (below core). Third-party: none.
 * SPDX-License-Identifier: MIT */
#ifndef MESH_FS_SPACE_H
#define MESH_FS_SPACE_H

#include <stdbool.h>
#include <stdint.h>

#define SPACE_RESERVE     (16ull << 20) /* bytes left free for the rest of the system, */
#define SPACE_RESERVE_DIV 64u           /* or 1/64 of the file system when that is less */

/* The bytes a transfer may still write on the file system of the open directory dirfd, into
 * *room: what an unprivileged writer may use (f_bavail blocks of f_frsize bytes) less the
 * reserve (SPACE_RESERVE, at most 1/SPACE_RESERVE_DIV of the file system's size), 0 when no
 * more is free. False (and *room UINT64_MAX) when the file system cannot say: the writes
 * themselves tell then. */
bool space_room(int dirfd, uint64_t *room);

#endif /* MESH_FS_SPACE_H */
