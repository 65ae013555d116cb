/* core/sync/checker.c: the thread that verifies received batches ahead of their commit.
 * A FIFO of jobs under one mutex; the thread takes the oldest, runs import_check without
 * the lock, and marks it done. Waiters sleep on one condition variable for all jobs.
 * Layer: core. Third-party: none. SPDX-License-Identifier: MIT */
#include "core/sync/checker.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

struct checker_job {
    checker_t *owner;
    const uint8_t *bundle;
    size_t len;
    import_checked_t *result; /* NULL when the check failed */
    bool done;
    checker_job_t *next; /* in the queue */
};

struct checker {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t work; /* a job was queued, or stop */
    pthread_cond_t done; /* a job was done */
    checker_job_t *head, *tail;
    bool stop;
};

static void *
s_run(void *arg)
{
    checker_t *c = arg;
    pthread_mutex_lock(&c->lock);
    for (;;) {
        while (!c->head && !c->stop) {
            pthread_cond_wait(&c->work, &c->lock);
        }
        checker_job_t *j = c->head;
        if (!j) {
            break; /* stopped, and nothing is left */
        }
        c->head = j->next;
        if (!c->head) {
            c->tail = NULL;
        }
        pthread_mutex_unlock(&c->lock);
        import_checked_t *result = NULL;
        if (import_check(j->bundle, j->len, &result) != MESH_OK) {
            result = NULL;
        }
        pthread_mutex_lock(&c->lock);
        j->result = result;
        j->done = true;
        pthread_cond_broadcast(&c->done);
    }
    pthread_mutex_unlock(&c->lock);
    return NULL;
}

mesh_err_t
checker_open(checker_t **out)
{
    *out = NULL;
    checker_t *c = calloc(1, sizeof *c);
    if (!c) {
        return MESH_ENOMEM;
    }
    if (pthread_mutex_init(&c->lock, NULL) != 0) {
        free(c);
        return MESH_ENOMEM;
    }
    pthread_cond_init(&c->work, NULL);
    pthread_cond_init(&c->done, NULL);
    if (pthread_create(&c->thread, NULL, s_run, c) != 0) {
        pthread_cond_destroy(&c->work);
        pthread_cond_destroy(&c->done);
        pthread_mutex_destroy(&c->lock);
        free(c);
        return MESH_EIO;
    }
    *out = c;
    return MESH_OK;
}

void
checker_close(checker_t *c)
{
    if (!c) {
        return;
    }
    pthread_mutex_lock(&c->lock);
    c->stop = true;
    pthread_cond_signal(&c->work);
    pthread_mutex_unlock(&c->lock);
    pthread_join(c->thread, NULL);
    pthread_cond_destroy(&c->work);
    pthread_cond_destroy(&c->done);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

mesh_err_t
checker_submit(checker_t *c, const uint8_t *bundle, size_t len, checker_job_t **out)
{
    if (out) {
        *out = NULL;
    }
    if (!c || !bundle || !out) {
        return MESH_EINVAL;
    }
    checker_job_t *j = calloc(1, sizeof *j);
    if (!j) {
        return MESH_ENOMEM;
    }
    *j = (checker_job_t){.owner = c, .bundle = bundle, .len = len};
    pthread_mutex_lock(&c->lock);
    if (c->tail) {
        c->tail->next = j;
    } else {
        c->head = j;
    }
    c->tail = j;
    pthread_cond_signal(&c->work);
    pthread_mutex_unlock(&c->lock);
    *out = j;
    return MESH_OK;
}

const import_checked_t *
checker_wait(checker_job_t *j)
{
    if (!j) {
        return NULL;
    }
    checker_t *c = j->owner;
    pthread_mutex_lock(&c->lock);
    while (!j->done) {
        pthread_cond_wait(&c->done, &c->lock);
    }
    pthread_mutex_unlock(&c->lock);
    return j->result;
}

void
checker_job_free(checker_job_t *j)
{
    if (!j) {
        return;
    }
    (void)checker_wait(j);
    import_checked_free(j->result);
    free(j);
}
