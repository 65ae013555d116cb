/* fs/space.c: the room a transfer may take on a directory's file system (docs/PROTOCOL.md
 * §18.6). Layer: fs. Third-party: none. SPDX-License-Identifier: MIT */
#include "fs/space.h"

#include <sys/statvfs.h>

/* n blocks of unit bytes, UINT64_MAX past it. */
static uint64_t
s_bytes(uint64_t n, uint64_t unit)
{
    return n > UINT64_MAX / unit ? UINT64_MAX : n * unit;
}

bool
space_room(int dirfd, uint64_t *room)
{
    struct statvfs sv;
    *room = UINT64_MAX;
    if (dirfd < 0 || fstatvfs(dirfd, &sv) != 0 || sv.f_frsize == 0) {
        return false;
    }
    uint64_t avail = s_bytes(sv.f_bavail, sv.f_frsize);
    uint64_t reserve = s_bytes(sv.f_blocks, sv.f_frsize) / SPACE_RESERVE_DIV;
    reserve = reserve < SPACE_RESERVE ? reserve : SPACE_RESERVE;
    *room = avail > reserve ? avail - reserve : 0;
    return true;
}
