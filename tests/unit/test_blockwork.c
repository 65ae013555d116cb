/* tests/unit/test_blockwork.c: unit tests of core/folder/blockwork.c: a good block written at
 * every place of its job (and each descriptor closed once), a bad one refused and written
 * nowhere, many jobs each handed back once (busy back to 0; a worker checks up to 16 at once,
 * every fifth bad: each told apart from the good ones beside it), and jobs never collected freed
 * with the pool; a place whose file the worker makes (one left there replaced) and seals
 * (mode, mtime), and none made for a bad block; the wake: a caller that sleeps on an eventfd
 * the workers write (as the loop thread does), taking what is done at each wake, gets every
 * job back, none left unnoticed (1 to 20 submitted at once), with at most one wake per job.
 * Layer: tests. Third-party: cmocka. SPDX-License-Identifier: MIT */
#include "core/folder/blockwork.h"

#include "crypto/ident.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#define S_LEN 40000u /* a block's bytes */

/* A temp file of 3 blocks' size, all zero; its path in path. */
static int
s_file(char *path)
{
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    CHECK(ftruncate(fd, 3 * S_LEN) == 0);
    return fd;
}

static void
s_fill(uint8_t *data, uint8_t seed)
{
    for (size_t i = 0; i < S_LEN; i++) {
        data[i] = (uint8_t)(seed + i * 7);
    }
}

/* A job for data (named rightly unless bad) with places 0 and 2 of fd (each a descriptor
 * of its own: the first kept open by the second put, closed by the last). */
static blockwork_job_t *
s_job(const uint8_t *data, bool bad, int fd, int *dup_fd)
{
    uint8_t name[HASH_LEN];
    hash_tagged(HASH_TAG_BLOCK, data, S_LEN, name);
    name[0] ^= bad ? 1 : 0;
    blockwork_job_t *job = blockwork_job_new(name, data, S_LEN);
    CHECK(job != NULL);
    *dup_fd = dup(fd);
    CHECK(*dup_fd >= 0);
    CHECK_OK(blockwork_job_put(job, *dup_fd, false, 0, NULL, 7, 0));
    CHECK_OK(blockwork_job_put(job, *dup_fd, true, 2 * S_LEN, NULL, 7, 2));
    blockwork_job_early(job);
    return job;
}

static blockwork_job_t *
s_one_back(blockwork_t *bw)
{
    blockwork_drain(bw);
    blockwork_job_t *job = blockwork_done(bw);
    CHECK(job != NULL);
    CHECK(blockwork_done(bw) == NULL);
    CHECK_EQ(blockwork_busy(bw), 0);
    return job;
}

static void
test_blockwork_good_written_bad_refused(void **state)
{
    (void)state;
    char path[] = "/tmp/test_blockwork.XXXXXX";
    int fd = s_file(path), dup_fd = -1;
    uint8_t data[S_LEN], got[3 * S_LEN], zero[S_LEN] = {0};
    blockwork_t *bw = blockwork_new(BLOCKWORK_THREADS, NULL, NULL);
    CHECK(bw != NULL);
    s_fill(data, 3);
    blockwork_job_t *job = s_job(data, true, fd, &dup_fd); /* bad: written nowhere */
    blockwork_submit(bw, &job);
    CHECK(job == NULL);
    job = s_one_back(bw);
    CHECK(!job->good && !job->puts[0].wrote && !job->puts[1].wrote);
    CHECK(fcntl(dup_fd, F_GETFD) == -1 && errno == EBADF); /* (closed all the same) */
    CHECK_EQ(job->puts[0].key, 7);
    CHECK_EQ(job->puts[1].index, 2);
    blockwork_job_free(job);
    CHECK(pread(fd, got, sizeof got, 0) == (ssize_t)sizeof got);
    CHECK(memcmp(got, zero, S_LEN) == 0 && memcmp(got + 2 * S_LEN, zero, S_LEN) == 0);
    job = s_job(data, false, fd, &dup_fd); /* good: at both places, not between */
    blockwork_submit(bw, &job);
    job = s_one_back(bw);
    CHECK(job->good && job->puts[0].wrote && job->puts[1].wrote);
    CHECK(fcntl(dup_fd, F_GETFD) == -1 && errno == EBADF);
    blockwork_job_free(job);
    CHECK(pread(fd, got, sizeof got, 0) == (ssize_t)sizeof got);
    CHECK(memcmp(got, data, S_LEN) == 0 && memcmp(got + S_LEN, zero, S_LEN) == 0 &&
          memcmp(got + 2 * S_LEN, data, S_LEN) == 0);
    blockwork_free(bw);
    close(fd);
    unlink(path);
}

static void
test_blockwork_many_back_once(void **state)
{
    (void)state;
    char path[] = "/tmp/test_blockwork.XXXXXX";
    int fd = s_file(path), dup_fd = -1;
    uint8_t data[S_LEN];
    bool seen[64] = {false};
    blockwork_t *bw = blockwork_new(BLOCKWORK_THREADS, NULL, NULL);
    CHECK(bw != NULL);
    for (uint64_t i = 0; i < 64; i++) {
        s_fill(data, (uint8_t)i);
        blockwork_job_t *job = s_job(data, i % 5 == 0, fd, &dup_fd);
        job->num = i;
        blockwork_submit(bw, &job);
    }
    size_t back = 0;
    while (back < 64) { /* (collected while workers still run, then the rest) */
        blockwork_job_t *job = blockwork_done(bw);
        if (!job) {
            blockwork_drain(bw);
            continue;
        }
        CHECK(job->num < 64 && !seen[job->num]);
        seen[job->num] = true;
        CHECK(job->good == (job->num % 5 != 0));
        blockwork_job_free(job);
        back++;
    }
    CHECK_EQ(blockwork_busy(bw), 0);
    for (int i = 0; i < 8; i++) { /* never collected: freed with the pool */
        s_fill(data, (uint8_t)i);
        blockwork_job_t *job = s_job(data, false, fd, &dup_fd);
        blockwork_submit(bw, &job);
    }
    blockwork_free(bw);
    blockwork_free(NULL);
    blockwork_job_free(NULL);
    close(fd);
    unlink(path);
}

/* A job of one place that makes its file (blockwork_job_make) in dir and seals it
 * (blockwork_job_seal): named rightly unless bad. */
static blockwork_job_t *
s_make_job(const uint8_t *data, bool bad, int dir, const char *name)
{
    uint8_t hash[HASH_LEN];
    hash_tagged(HASH_TAG_BLOCK, data, S_LEN, hash);
    hash[0] ^= bad ? 1 : 0;
    blockwork_job_t *job = blockwork_job_new(hash, data, S_LEN);
    CHECK(job != NULL);
    int dup_fd = dup(dir);
    CHECK(dup_fd >= 0);
    CHECK_OK(blockwork_job_put(job, dup_fd, false, 0, NULL, 1, 0));
    CHECK_OK(blockwork_job_make(job, name));
    blockwork_job_seal(job, 0640, 1500000000123456789);
    return job;
}

static void
test_blockwork_makes_and_seals(void **state)
{
    (void)state;
    char path[] = "/tmp/test_blockwork.XXXXXX";
    CHECK(mkdtemp(path) != NULL);
    int dir = open(path, O_RDONLY | O_DIRECTORY);
    CHECK(dir >= 0);
    uint8_t data[S_LEN], got[S_LEN + 1];
    s_fill(data, 9);
    int old = openat(dir, "r1", O_WRONLY | O_CREAT, 0600); /* (a cut transfer's: replaced) */
    CHECK(old >= 0 && write(old, "stale", 5) == 5);
    close(old);
    blockwork_t *bw = blockwork_new(BLOCKWORK_THREADS, NULL, NULL);
    CHECK(bw != NULL);
    blockwork_job_t *job = s_make_job(data, false, dir, "r1");
    blockwork_submit(bw, &job);
    job = s_one_back(bw);
    CHECK(job->good && job->puts[0].made && job->puts[0].wrote && job->puts[0].sealed);
    blockwork_job_free(job);
    struct stat st;
    CHECK(fstatat(dir, "r1", &st, 0) == 0);
    CHECK((st.st_mode & 07777) == 0640 && st.st_size == (off_t)S_LEN);
    CHECK(st.st_mtim.tv_sec == 1500000000 && st.st_mtim.tv_nsec == 123456789);
    int fd = openat(dir, "r1", O_RDONLY);
    CHECK(fd >= 0 && read(fd, got, sizeof got) == (ssize_t)S_LEN && memcmp(got, data, S_LEN) == 0);
    close(fd);
    /* a bad block: no file made, the directory's descriptor closed all the same */
    job = s_make_job(data, true, dir, "r2");
    blockwork_submit(bw, &job);
    job = s_one_back(bw);
    CHECK(!job->good && !job->puts[0].made && !job->puts[0].wrote);
    blockwork_job_free(job);
    CHECK(fstatat(dir, "r2", &st, 0) != 0 && errno == ENOENT);
    blockwork_free(bw);
    CHECK(unlinkat(dir, "r1", 0) == 0);
    close(dir);
    CHECK(rmdir(path) == 0);
}

static unsigned s_wakes; /* (atomic: the workers') */

/* The wake hook: count, and make the eventfd at ctx readable (as the loop's s_wake). */
static void
s_wake(void *ctx)
{
    uint64_t one = 1;
    __atomic_add_fetch(&s_wakes, 1, __ATOMIC_RELAXED);
    CHECK(write(*(int *)ctx, &one, sizeof one) == (ssize_t)sizeof one);
}

/* Sleep until efd is readable, as the loop does (a lost wake is a stall: 10 s, a failure),
 * then take every finished job: how many. */
static size_t
s_woken_take(blockwork_t *bw, int efd)
{
    struct pollfd p = {.fd = efd, .events = POLLIN};
    CHECK(poll(&p, 1, 10000) == 1);
    uint64_t count;
    CHECK(read(efd, &count, sizeof count) == (ssize_t)sizeof count);
    size_t n = 0;
    for (blockwork_job_t *job; (job = blockwork_done(bw)); n++) {
        CHECK(job->good);
        blockwork_job_free(job);
    }
    return n;
}

static void
test_blockwork_wakes_for_each_job_unseen(void **state)
{
    (void)state;
    char path[] = "/tmp/test_blockwork.XXXXXX";
    int fd = s_file(path), dup_fd = -1;
    int efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    CHECK(efd >= 0);
    uint8_t data[S_LEN];
    blockwork_t *bw = blockwork_new(BLOCKWORK_THREADS, s_wake, &efd);
    CHECK(bw != NULL);
    size_t back = 0, sent = 0;
    for (unsigned round = 0; back < 256; round++) {
        unsigned many = round % 5 == 4 ? 20 : 1 + round % 4; /* (20: past BLOCKWORK_WAKE_JOBS) */
        for (unsigned k = 0; k < many && sent < 256; k++, sent++) {
            s_fill(data, (uint8_t)sent);
            blockwork_job_t *job = s_job(data, false, fd, &dup_fd);
            blockwork_submit(bw, &job);
        }
        back += s_woken_take(bw, efd);
    }
    CHECK_EQ(back, 256);
    CHECK_EQ(blockwork_busy(bw), 0);
    unsigned wakes = __atomic_load_n(&s_wakes, __ATOMIC_RELAXED);
    CHECK(wakes >= 1 && wakes <= 256);
    blockwork_free(bw);
    close(efd);
    close(fd);
    unlink(path);
}

int
main(void)
{
    if (ident_lib_init() != MESH_OK) {
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_blockwork_good_written_bad_refused),
        cmocka_unit_test(test_blockwork_many_back_once),
        cmocka_unit_test(test_blockwork_makes_and_seals),
        cmocka_unit_test(test_blockwork_wakes_for_each_job_unseen),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
