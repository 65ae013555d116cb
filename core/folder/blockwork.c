/* core/folder/blockwork.c: worker threads that check received blocks and write them into
 * temp files (blockwork.h). One mutex guards both queues (to do, done); workers wait on a
 * condition for work, blockwork_drain on another for the last job under way. A job's bytes
 * and places are written by the loop thread before blockwork_submit and read by one worker
 * after it takes the job under the mutex, so they need no lock of their own. A worker takes up
 * to S_TAKE jobs at once and hashes them together (crypto/hash4.h's lanes: 4 to 8 times as
 * fast as one at a time; 16 blocks keep 8 lanes busy where 8 would leave them idle as the
 * shorter ones end), then writes each good one.
 * Layer: core (folder). Third-party: none. SPDX-License-Identifier: MIT */
#define _GNU_SOURCE /* sync_file_range(2) */
#include "core/folder/blockwork.h"

#include "crypto/hash4.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define S_TAKE 16u /* jobs a worker takes at once: checked together, in hash4's lanes */

struct blockwork {
    pthread_mutex_t mu;
    pthread_cond_t work;               /* a job to do, or stop */
    pthread_cond_t idle;               /* a job finished */
    blockwork_job_t *todo, *todo_last; /* FIFO */
    blockwork_job_t *done;             /* LIFO (the order does not matter) */
    size_t unwoken;                    /* pushed onto done since the caller last took it, or
                                          last was woken */
    blockwork_job_t *taken;            /* the loop thread's: done jobs taken at once, not yet
                                          handed back (one lock for many) */
    size_t busy;                       /* submitted, not yet handed back by blockwork_done */
    size_t running;                    /* submitted, not yet finished */
    bool stop;
    blockwork_wake_fn wake;
    void *wake_ctx;
    unsigned nthreads;
    pthread_t threads[8];
};

blockwork_job_t *
blockwork_job_new(const uint8_t *hash, const uint8_t *data, size_t len)
{
    blockwork_job_t *job = calloc(1, sizeof *job);
    if (!job || !(job->data = malloc(len ? len : 1))) {
        free(job);
        return NULL;
    }
    memcpy(job->hash, hash, HASH_LEN);
    memcpy(job->data, data, len);
    job->len = len;
    return job;
}

mesh_err_t
blockwork_job_put(blockwork_job_t *job, int fd, bool close_fd, uint64_t off, void *owner,
                  uint64_t key, size_t index)
{
    if (job->nputs == job->cap) {
        size_t cap = job->cap ? 2 * job->cap : 4;
        blockwork_put_t *puts = realloc(job->puts, cap * sizeof *puts);
        if (!puts) {
            return MESH_ENOMEM;
        }
        job->puts = puts;
        job->cap = cap;
    }
    job->puts[job->nputs++] = (blockwork_put_t){
        .fd = fd, .close_fd = close_fd, .off = off, .owner = owner, .key = key, .index = index};
    return MESH_OK;
}

void
blockwork_job_early(blockwork_job_t *job)
{
    if (job->nputs) {
        job->puts[job->nputs - 1].early = true;
    }
}

void
blockwork_job_seal(blockwork_job_t *job, uint32_t mode, int64_t mtime_ns)
{
    if (job->nputs) {
        blockwork_put_t *p = &job->puts[job->nputs - 1];
        p->seal = true;
        p->mode = mode;
        p->mtime_ns = mtime_ns;
    }
}

mesh_err_t
blockwork_job_make(blockwork_job_t *job, const char *name)
{
    size_t len = strlen(name);
    if (!job->nputs || len >= BLOCKWORK_NAME_MAX) {
        return MESH_EINVAL;
    }
    blockwork_put_t *p = &job->puts[job->nputs - 1];
    p->make = true;
    p->close_fd = true;
    memcpy(p->name, name, len + 1);
    return MESH_OK;
}

/* Make p's file p->name in the directory p->fd (closed): p->fd becomes the file's, or -1. */
static void
s_make(blockwork_put_t *p)
{
    const int create = O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
    int fd = openat(p->fd, p->name, create, 0600);
    if (fd < 0 && errno == EEXIST) {
        (void)unlinkat(p->fd, p->name, 0); /* (a cut transfer's: one block, nothing to keep) */
        fd = openat(p->fd, p->name, create, 0600);
    }
    int e = errno;
    close(p->fd);
    p->fd = fd;
    p->made = fd >= 0;
    errno = e;
}

bool
blockwork_seal_fd(int fd, uint32_t mode, int64_t mtime_ns)
{
    struct timespec times[2] = {
        {.tv_nsec = UTIME_OMIT},
        {.tv_sec = mtime_ns / 1000000000, .tv_nsec = mtime_ns % 1000000000}};
    if (times[1].tv_nsec < 0) {
        times[1].tv_sec--, times[1].tv_nsec += 1000000000;
    }
    return fd >= 0 && fchmod(fd, (mode_t)mode) == 0 && futimens(fd, times) == 0;
}

void
blockwork_job_free(blockwork_job_t *job)
{
    if (!job) {
        return;
    }
    for (size_t i = 0; i < job->nputs; i++) {
        if (job->puts[i].close_fd && job->puts[i].fd >= 0) {
            close(job->puts[i].fd);
        }
    }
    free(job->puts);
    free(job->data);
    free(job);
}

/* Write job (checked: job->good) at its places. Its descriptors are closed either way. */
static void
s_put(blockwork_job_t *job)
{
    for (size_t i = 0; i < job->nputs; i++) {
        blockwork_put_t *p = &job->puts[i];
        errno = 0;
        if (job->good && p->make && p->fd >= 0) {
            s_make(p);
        }
        p->wrote = job->good && p->fd >= 0 &&
                   pwrite(p->fd, job->data, job->len, (off_t)p->off) == (ssize_t)job->len;
        p->full = job->good && !p->wrote && (errno == ENOSPC || errno == EDQUOT);
        if (p->wrote && p->early) { /* (a hint: the fsync before the rename is the promise) */
            (void)sync_file_range(p->fd, (off_t)p->off, (off_t)job->len, SYNC_FILE_RANGE_WRITE);
        }
        p->sealed = p->wrote && p->seal && blockwork_seal_fd(p->fd, p->mode, p->mtime_ns);
        if (p->close_fd && p->fd >= 0) {
            close(p->fd);
        }
        p->fd = -1;
    }
}

/* Check jobs[0..n) (hashed together: crypto/hash4.h's lanes); write each good one at its
 * places. */
static void
s_run(blockwork_job_t *const *jobs, size_t n)
{
    const uint8_t *msgs[S_TAKE];
    size_t lens[S_TAKE];
    uint8_t got[S_TAKE][HASH_LEN];
    for (size_t i = 0; i < n; i++) {
        msgs[i] = jobs[i]->data;
        lens[i] = jobs[i]->len;
    }
    hash4_tagged(HASH_TAG_BLOCK, msgs, lens, n, got);
    for (size_t i = 0; i < n; i++) {
        jobs[i]->good = memcmp(got[i], jobs[i]->hash, HASH_LEN) == 0;
        s_put(jobs[i]);
    }
}

/* Hand job back (under the lock): true when the caller is to be woken. The caller is woken
 * once BLOCKWORK_WAKE_JOBS wait for it, or when the pool goes idle: none is left unnoticed,
 * for while a job waits unwoken for, another is under way, whose end (or the end of the last
 * one after it) wakes. */
static bool
s_finished(blockwork_t *bw, blockwork_job_t *job)
{
    job->next = bw->done;
    bw->done = job;
    bool idle = --bw->running == 0;
    if (idle) {
        pthread_cond_broadcast(&bw->idle);
    }
    bool wake = bw->wake && (++bw->unwoken >= BLOCKWORK_WAKE_JOBS || idle);
    if (wake) {
        bw->unwoken = 0;
    }
    return wake;
}

static void *
s_worker(void *arg)
{
    blockwork_t *bw = arg;
    pthread_mutex_lock(&bw->mu);
    for (;;) {
        while (!bw->todo && !bw->stop) {
            pthread_cond_wait(&bw->work, &bw->mu);
        }
        if (!bw->todo) {
            break; /* stopping, and nothing left to do */
        }
        blockwork_job_t *jobs[S_TAKE];
        size_t n = 0;
        for (; bw->todo && n < S_TAKE; n++) {
            jobs[n] = bw->todo;
            bw->todo = jobs[n]->next;
        }
        if (!bw->todo) {
            bw->todo_last = NULL;
        }
        pthread_mutex_unlock(&bw->mu);
        s_run(jobs, n);
        pthread_mutex_lock(&bw->mu);
        bool wake = false;
        for (size_t i = 0; i < n; i++) {
            wake |= s_finished(bw, jobs[i]);
        }
        if (wake) {
            pthread_mutex_unlock(&bw->mu);
            bw->wake(bw->wake_ctx);
            pthread_mutex_lock(&bw->mu);
        }
    }
    pthread_mutex_unlock(&bw->mu);
    return NULL;
}

blockwork_t *
blockwork_new(unsigned threads, blockwork_wake_fn wake, void *ctx)
{
    blockwork_t *bw = calloc(1, sizeof *bw);
    if (!bw) {
        return NULL;
    }
    bw->wake = wake;
    bw->wake_ctx = ctx;
    threads = threads > 8 ? 8 : threads ? threads : 1;
    pthread_mutex_init(&bw->mu, NULL);
    pthread_cond_init(&bw->work, NULL);
    pthread_cond_init(&bw->idle, NULL);
    while (bw->nthreads < threads &&
           pthread_create(&bw->threads[bw->nthreads], NULL, s_worker, bw) == 0) {
        bw->nthreads++;
    }
    if (bw->nthreads == 0) {
        blockwork_free(bw);
        return NULL;
    }
    return bw;
}

void
blockwork_submit(blockwork_t *bw, blockwork_job_t **job)
{
    blockwork_job_t *j = *job;
    *job = NULL;
    j->next = NULL;
    pthread_mutex_lock(&bw->mu);
    if (bw->todo_last) {
        bw->todo_last->next = j;
    } else {
        bw->todo = j;
    }
    bw->todo_last = j;
    bw->busy++;
    bw->running++;
    pthread_cond_signal(&bw->work);
    pthread_mutex_unlock(&bw->mu);
}

blockwork_job_t *
blockwork_done(blockwork_t *bw)
{
    if (!bw->taken) {
        pthread_mutex_lock(&bw->mu);
        bw->taken = bw->done;
        bw->done = NULL;
        bw->unwoken = 0; /* (all taken: none waits for a wake) */
        pthread_mutex_unlock(&bw->mu);
    }
    blockwork_job_t *job = bw->taken;
    if (job) {
        bw->taken = job->next;
        job->next = NULL;
        bw->busy--;
    }
    return job;
}

size_t
blockwork_busy(const blockwork_t *bw)
{
    return bw->busy; /* (written by the loop thread alone: submit and done) */
}

void
blockwork_drain(blockwork_t *bw)
{
    pthread_mutex_lock(&bw->mu);
    while (bw->running) {
        pthread_cond_wait(&bw->idle, &bw->mu);
    }
    pthread_mutex_unlock(&bw->mu);
}

void
blockwork_free(blockwork_t *bw)
{
    if (!bw) {
        return;
    }
    pthread_mutex_lock(&bw->mu);
    bw->stop = true;
    pthread_cond_broadcast(&bw->work);
    pthread_mutex_unlock(&bw->mu);
    for (unsigned i = 0; i < bw->nthreads; i++) {
        pthread_join(bw->threads[i], NULL);
    }
    for (blockwork_job_t *j = bw->done, *next; j; j = next) {
        next = j->next;
        blockwork_job_free(j);
    }
    for (blockwork_job_t *j = bw->taken, *next; j; j = next) {
        next = j->next;
        blockwork_job_free(j);
    }
    pthread_cond_destroy(&bw->idle);
    pthread_cond_destroy(&bw->work);
    pthread_mutex_destroy(&bw->mu);
    free(bw);
}
