/* tests/unit/test_space.c: unit tests of fs/space.c (docs/PROTOCOL.md §18.6): the room on a
 * real directory's file system is what fstatvfs says less the reserve (at most SPACE_RESERVE,
 * at most 1/64 of the file system); a descriptor that cannot say gives false and no cap.
 * Layer: tests. Third-party: cmocka. SPDX-License-Identifier: MIT */
#include "fs/space.h"

#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cmocka.h>

static void
test_space_room_of_a_directory(void **state)
{
    (void)state;
    int fd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    assert_true(fd >= 0);
    struct statvfs sv;
    assert_int_equal(fstatvfs(fd, &sv), 0);
    uint64_t room = 0;
    assert_true(space_room(fd, &room));
    uint64_t avail = (uint64_t)sv.f_bavail * sv.f_frsize;
    uint64_t size = (uint64_t)sv.f_blocks * sv.f_frsize;
    uint64_t reserve =
        size / SPACE_RESERVE_DIV < SPACE_RESERVE ? size / SPACE_RESERVE_DIV : SPACE_RESERVE;
    /* (other processes write meanwhile: room within a few MiB of what was read) */
    uint64_t want = avail > reserve ? avail - reserve : 0;
    uint64_t diff = room > want ? room - want : want - room;
    assert_true(diff <= (64ull << 20));
    assert_true(room <= avail);
    close(fd);
}

static void
test_space_room_unknown(void **state)
{
    (void)state;
    uint64_t room = 0;
    assert_false(space_room(-1, &room));
    assert_true(room == UINT64_MAX);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_space_room_of_a_directory),
        cmocka_unit_test(test_space_room_unknown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
