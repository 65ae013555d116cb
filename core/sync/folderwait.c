/* core/sync/folderwait.c: mesh_folder_wait. The daemon's status is read (mesh_status) until
 * the folder's line says its disk holds its index (in_sync, §18.9); then its index
 * collection is waited for with the members (mesh_wait); then the status once more, as
 * published after that: in sync at that read, done, else (entries came, a local change was
 * noticed) the disk is waited for again. Between reads it rests until the daemon publishes
 * (inotify on HOME/status being renamed into place, §11.4) or a while passes.
 * Layer: core (sync). Third-party: none. SPDX-License-Identifier: MIT */
#include "core/sync/folderwait.h"

#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <time.h>
#include <unistd.h>

#include "core/base/node.h"
#include "core/sync/sync.h"

#define S_POLL_MS 100 /* the status read again this often without inotify, */
#define S_SEEN_MS 300 /* or, told of each publication, at least this often */

/* What the status says of folder id. */
enum s_seen { S_ERROR = -2, S_NO_DAEMON = -1, S_UNLISTED = 0, S_LISTED = 1 };

static enum s_seen
s_folder(mesh_t *m, const char *id, mesh_status_folder_t *f, char *why, size_t why_len)
{
    mesh_status_t *st = NULL;
    if (mesh_status(m, &st) != MESH_OK) {
        return S_ERROR;
    }
    enum s_seen seen = S_UNLISTED;
    mesh_status_device_t dev = {.size = sizeof dev};
    if (mesh_status_device(st, &dev) != MESH_OK || !dev.daemon) {
        seen = S_NO_DAEMON;
    }
    for (size_t i = 0; seen == S_UNLISTED && i < mesh_status_folder_count(st); i++) {
        mesh_status_folder_t g = {.size = sizeof g};
        if (mesh_status_folder(st, i, &g) == MESH_OK && strcmp(g.id, id) == 0) {
            seen = S_LISTED;
            *f = g;
            f->state = strcmp(g.state, "stopped") == 0 ? "stopped" : "";
            snprintf(why, why_len, "%s", g.why ? g.why : "");
            f->id = f->why = NULL; /* (owned by st) */
        }
    }
    mesh_status_free(st);
    return seen;
}

/* Rest until the daemon publishes again (fd >= 0) or ms pass. */
static void
s_rest(int fd, int64_t ms)
{
    if (fd < 0) {
        struct timespec nap = {ms / 1000, (ms % 1000) * 1000000L};
        nanosleep(&nap, NULL);
        return;
    }
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (poll(&p, 1, (int)ms) > 0) {
        char events[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
        while (read(fd, events, sizeof events) > 0) {
            /* (the events say only that something was published: read them all) */
        }
    }
}

/* Read the status until folder id's disk holds its index (MESH_OK; *at_once: at the first
 * read), it is stopped (MESH_ESTATE), no daemon runs (MESH_ENOTFOUND) or the deadline
 * (MESH_EBUSY). */
static mesh_err_t
s_realized(mesh_t *m, const char *id, int64_t deadline, int watch, bool *at_once)
{
    char why[256];
    for (*at_once = true;; *at_once = false) {
        mesh_status_folder_t f = {.size = sizeof f};
        enum s_seen seen = s_folder(m, id, &f, why, sizeof why);
        if (seen == S_ERROR) {
            return node_fail(m, MESH_EIO, "folder wait: the daemon's status: %s", mesh_errmsg(m));
        }
        if (seen == S_NO_DAEMON) {
            return node_fail(m, MESH_ENOTFOUND, "folder wait: no daemon syncs this home");
        }
        if (seen == S_LISTED && f.state[0]) {
            return node_fail(m, MESH_ESTATE, "folder %s is stopped: %s", id, why);
        }
        if (seen == S_LISTED && f.in_sync) {
            return MESH_OK;
        }
        int64_t left = deadline - sync_now_ms();
        if (left <= 0) {
            return MESH_EBUSY;
        }
        int64_t most = watch >= 0 ? S_SEEN_MS : S_POLL_MS;
        s_rest(watch, left < most ? left : most);
    }
}

/* MESH_EBUSY, with mesh_errmsg saying what the status says is left at the timeout. */
static mesh_err_t
s_left(mesh_t *m, const char *id, const char *const *colls, size_t peers, uint32_t timeout_ms)
{
    char why[256];
    unsigned secs = (timeout_ms + 999) / 1000;
    mesh_status_folder_t f = {.size = sizeof f};
    switch (s_folder(m, id, &f, why, sizeof why)) {
    case S_ERROR:
        snprintf(why, sizeof why, "%s", mesh_errmsg(m)); /* (node_fail writes over it) */
        return node_fail(m, MESH_EBUSY, "not in sync after %u s; the daemon's status: %s", secs,
                         why);
    case S_NO_DAEMON:
        return node_fail(m, MESH_EBUSY, "not in sync after %u s; no daemon syncs this home now",
                         secs);
    case S_UNLISTED:
        return node_fail(m, MESH_EBUSY,
                         "not in sync after %u s: the daemon does not sync folder %s (not joined "
                         "on this device, or not taken up yet)",
                         secs, id);
    case S_LISTED:
        break;
    }
    if (f.state[0]) {
        return node_fail(m, MESH_EBUSY, "not in sync after %u s: folder %s is stopped: %s", secs,
                         id, why);
    }
    if (!f.in_sync) {
        return node_fail(m, MESH_EBUSY,
                         "not in sync after %u s: %llu files, %llu bytes still needed (%llu "
                         "waiting for blocks)",
                         secs, (unsigned long long)f.need_files, (unsigned long long)f.need_bytes,
                         (unsigned long long)f.waiting);
    }
    size_t connected = 0, synced = 0; /* (one more ask of the daemon, for its counts) */
    if (mesh_wait(m, colls, 1, peers, 0, &connected, &synced) == MESH_OK) {
        return node_fail(m, MESH_EBUSY,
                         "not in sync after %u s: its index came into sync with the members just "
                         "after",
                         secs);
    }
    return node_fail(m, MESH_EBUSY,
                     "not in sync after %u s: its index is not in sync with the members (%zu of "
                     "%zu connected peers in sync, %zu wanted)",
                     secs, synced, connected, peers);
}

mesh_err_t
mesh_folder_wait(mesh_t *m, const char *id, size_t peers, uint32_t timeout_ms)
{
    char coll[MESH_COLL_MAX + 1];
    if (!m || !id || !id[0] || strlen(id) + 7 > MESH_COLL_MAX || timeout_ms > 86400000u) {
        return m ? node_fail(m, MESH_EINVAL, "folder wait: no folder ID, or one too long")
                 : MESH_EINVAL;
    }
    snprintf(coll, sizeof coll, "folder:%s", id);
    const char *colls[1] = {coll};
    int64_t deadline = sync_now_ms() + (int64_t)timeout_ms;
    /* (watched before the first read: no publication is missed) */
    int watch = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (watch >= 0 && inotify_add_watch(watch, m->home, IN_MOVED_TO) < 0) {
        close(watch);
        watch = -1;
    }
    bool coll_ok = false, at_once = false;
    mesh_err_t err;
    for (;;) {
        /* in sync at the read after the index was: done */
        err = s_realized(m, id, deadline, watch, &at_once);
        if (err != MESH_OK || (coll_ok && at_once)) {
            break;
        }
        int64_t left = deadline - sync_now_ms();
        err = mesh_wait(m, colls, 1, peers, (uint32_t)(left > 0 ? left : 0), NULL, NULL);
        if (err != MESH_OK) {
            break;
        }
        coll_ok = true;
    }
    if (watch >= 0) {
        close(watch);
    }
    return err == MESH_EBUSY ? s_left(m, id, colls, peers, timeout_ms) : err;
}
