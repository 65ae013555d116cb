/* tests/unit/test_fsyncer.c: unit tests of core/sync/fsyncer.c: tickets rise and each one
 * asked for is done after a wait, the wake called from the syncer's thread (an eventfd the
 * test sleeps on, as the loop thread does); a ticket asked for right before the stop is
 * synced before the thread ends; a file that cannot be synced (a pipe: fdatasync fails)
 * says so for the tickets that sync covered, and a later ticket of a good sync does not.
 * Layer: tests. Third-party: cmocka. SPDX-License-Identifier: MIT */
#include "core/sync/fsyncer.h"

#include "util.h"

#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cmocka.h>

static void
s_wake(void *ctx)
{
    uint64_t one = 1;
    CHECK(write(*(int *)ctx, &one, sizeof one) == (ssize_t)sizeof one);
}

static void
test_fsyncer_tickets_done_and_woken(void **state)
{
    (void)state;
    char path[] = "/tmp/test_fsyncer.XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    int efd = eventfd(0, EFD_CLOEXEC);
    CHECK(efd >= 0);
    fsyncer_t *fs = fsyncer_start(fd, s_wake, &efd);
    CHECK(fs != NULL);
    uint64_t last = 0;
    for (int i = 0; i < 20; i++) {
        CHECK(write(fd, "0123456789", 10) == 10);
        uint64_t t = fsyncer_ask(fs);
        CHECK(t > last); /* (tickets rise) */
        last = t;
        CHECK(fsyncer_wait(fs, t));
        bool failed = true;
        CHECK(fsyncer_done(fs, t, &failed));
        CHECK(!failed);
        /* the wake came (the syncer writes the eventfd after each sync): no wait forever */
        struct pollfd p = {.fd = efd, .events = POLLIN};
        CHECK(poll(&p, 1, 10000) == 1);
        uint64_t got = 0;
        CHECK(read(efd, &got, sizeof got) == (ssize_t)sizeof got && got >= 1);
    }
    uint64_t t = fsyncer_ask(fs);
    fsyncer_stop(fs); /* (the sync asked for ends first) */
    close(efd);
    close(fd);
    unlink(path);
    CHECK(t == last + 1);
}

static void
test_fsyncer_failure_said_for_its_tickets(void **state)
{
    (void)state;
    int p[2];
    CHECK(pipe(p) == 0);
    fsyncer_t *bad = fsyncer_start(p[1], NULL, NULL);
    CHECK(bad != NULL);
    uint64_t t = fsyncer_ask(bad);
    CHECK(!fsyncer_wait(bad, t)); /* fdatasync of a pipe fails (EINVAL) */
    bool failed = false;
    CHECK(fsyncer_done(bad, t, &failed));
    CHECK(failed);
    fsyncer_stop(bad);
    close(p[0]);
    close(p[1]);

    char path[] = "/tmp/test_fsyncer.XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    fsyncer_t *good = fsyncer_start(fd, NULL, NULL);
    CHECK(good != NULL);
    t = fsyncer_ask(good);
    CHECK(fsyncer_wait(good, t));
    CHECK(fsyncer_done(good, t, &failed));
    CHECK(!failed);
    CHECK(!fsyncer_done(good, t + 1, &failed)); /* (not asked for: not done) */
    fsyncer_stop(good);
    fsyncer_stop(NULL);
    close(fd);
    unlink(path);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fsyncer_tickets_done_and_woken),
        cmocka_unit_test(test_fsyncer_failure_said_for_its_tickets),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
