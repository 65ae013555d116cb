/* core/sync/fsyncer.c: a thread that syncs one file when asked (fsyncer.h). Each sync covers
 * every ticket asked for before it began; the outcome of the last failed sync is kept as the
 * range of tickets it covered.
 * Layer: core (sync). Third-party: none. SPDX-License-Identifier: MIT */
#include "core/sync/fsyncer.h"

#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

struct fsyncer {
    int fd;
    void (*wake)(void *ctx);
    void *ctx;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;         /* a ticket asked for, a sync ended, or stop */
    uint64_t asked;            /* the last ticket asked for (under mu) */
    uint64_t done;             /* every ticket up to this one is synced, or its sync failed */
    uint64_t fail_lo, fail_hi; /* the tickets the last failed sync covered (0, 0: none) */
    bool stop;
};

static void *
s_run(void *arg)
{
    fsyncer_t *fs = arg;
    pthread_mutex_lock(&fs->mu);
    for (;;) {
        while (!fs->stop && fs->done == fs->asked) {
            pthread_cond_wait(&fs->cv, &fs->mu);
        }
        if (fs->done == fs->asked) {
            break; /* (stop, with nothing asked for left) */
        }
        uint64_t upto = fs->asked;
        pthread_mutex_unlock(&fs->mu);
        bool ok = fdatasync(fs->fd) == 0;
        pthread_mutex_lock(&fs->mu);
        if (!ok) {
            fs->fail_lo = fs->done + 1;
            fs->fail_hi = upto;
        }
        fs->done = upto;
        pthread_cond_broadcast(&fs->cv);
        if (fs->wake) {
            pthread_mutex_unlock(&fs->mu);
            fs->wake(fs->ctx);
            pthread_mutex_lock(&fs->mu);
        }
    }
    pthread_mutex_unlock(&fs->mu);
    return NULL;
}

fsyncer_t *
fsyncer_start(int fd, void (*wake)(void *ctx), void *ctx)
{
    fsyncer_t *fs = calloc(1, sizeof *fs);
    if (!fs) {
        return NULL;
    }
    fs->fd = fd;
    fs->wake = wake;
    fs->ctx = ctx;
    pthread_mutex_init(&fs->mu, NULL);
    pthread_cond_init(&fs->cv, NULL);
    if (pthread_create(&fs->thread, NULL, s_run, fs) != 0) {
        pthread_cond_destroy(&fs->cv);
        pthread_mutex_destroy(&fs->mu);
        free(fs);
        return NULL;
    }
    return fs;
}

void
fsyncer_stop(fsyncer_t *fs)
{
    if (!fs) {
        return;
    }
    pthread_mutex_lock(&fs->mu);
    fs->stop = true;
    pthread_cond_broadcast(&fs->cv);
    pthread_mutex_unlock(&fs->mu);
    (void)pthread_join(fs->thread, NULL);
    pthread_cond_destroy(&fs->cv);
    pthread_mutex_destroy(&fs->mu);
    free(fs);
}

uint64_t
fsyncer_ask(fsyncer_t *fs)
{
    pthread_mutex_lock(&fs->mu);
    uint64_t t = ++fs->asked;
    pthread_cond_broadcast(&fs->cv);
    pthread_mutex_unlock(&fs->mu);
    return t;
}

/* (under mu) */
static bool
s_failed(const fsyncer_t *fs, uint64_t t)
{
    return fs->fail_hi && t >= fs->fail_lo && t <= fs->fail_hi;
}

bool
fsyncer_done(fsyncer_t *fs, uint64_t t, bool *failed)
{
    pthread_mutex_lock(&fs->mu);
    bool done = fs->done >= t;
    *failed = done && s_failed(fs, t);
    pthread_mutex_unlock(&fs->mu);
    return done;
}

bool
fsyncer_wait(fsyncer_t *fs, uint64_t t)
{
    pthread_mutex_lock(&fs->mu);
    while (fs->done < t) {
        pthread_cond_wait(&fs->cv, &fs->mu);
    }
    bool ok = !s_failed(fs, t);
    pthread_mutex_unlock(&fs->mu);
    return ok;
}
