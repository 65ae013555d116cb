/* core/data/feedsub.c: the change feed's subscription to a daemon's commits (docs/PROTOCOL.md
 * §21.4). A thread connects to HOME/control/socket when a daemon listens there, sends a
 * watch request and renews it every second; each reply says the daemon's store is at a new
 * transaction, and the thread kicks the feed, which reads its own store from its cursors.
 * A reply lost (a queue full while the feed was slow) loses nothing: one still queued, or
 * the next, makes the feed read everything since its cursors. No daemon, a daemon gone
 * silent, or one that refuses: the feed polls the store as before (feed.c).
 * Layer: core/data. Third-party: none (the socket through transport/ctl.h).
 * SPDX-License-Identifier: MIT */
#include "core/data/feedsub.h"

#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "core/base/node.h"
#include "core/wire/ctlmsg.h"
#include "transport/ctl.h"

#define S_CONNECT_MS 500 /* the handshake's deadline */

struct feedsub {
    char *home;
    void (*kick)(void *ctx);
    void *ctx;
    int stop_fd; /* an eventfd: readable once feedsub_stop was called */
    bool stop;   /* atomic */
    bool live;   /* atomic: a daemon answered lately */
    pthread_t thread;
};

/* Send the watch request (a renewal too) on c. */
static mesh_err_t
s_request(ctl_client_t *c)
{
    wire_buf_t buf;
    wire_buf_init(&buf);
    ctlmsg_req_t req = {.id = 1, .kind = CTLMSG_WATCH};
    mesh_err_t err = ctlmsg_req_encode(&req, &buf);
    if (err == MESH_OK) {
        err = ctl_client_send(c, buf.data, buf.len);
    }
    wire_buf_release(&buf);
    return err;
}

/* Wait up to ms for the stop (no client to wait on). */
static void
s_nap(feedsub_t *s, int64_t ms)
{
    struct pollfd p = {.fd = s->stop_fd, .events = POLLIN};
    (void)poll(&p, 1, (int)ms);
}

static void *
s_run(void *arg)
{
    feedsub_t *s = arg;
    ctl_client_t *c = NULL;
    int64_t next_try = 0, renewed = 0, heard = 0;
    uint64_t last = 0;
    while (!__atomic_load_n(&s->stop, __ATOMIC_ACQUIRE)) {
        int64_t now = node_now_ms();
        if (!c) {
            if (now < next_try) {
                s_nap(s, next_try - now);
                continue;
            }
            next_try = now + FEEDSUB_RETRY_MS;
            if (ctl_client_open(s->home, S_CONNECT_MS, &c) != MESH_OK) {
                continue;
            }
            renewed = heard = now = node_now_ms();
            if (s_request(c) != MESH_OK) {
                ctl_client_close(c);
                c = NULL;
                continue;
            }
        }
        if (now - renewed >= FEEDSUB_RENEW_MS) {
            (void)s_request(c); /* (a full queue: the next renewal) */
            renewed = now;
        }
        if (now - heard > FEEDSUB_SILENT_MS) { /* the daemon went (or hangs): poll again */
            __atomic_store_n(&s->live, false, __ATOMIC_RELEASE);
            ctl_client_close(c);
            c = NULL;
            continue;
        }
        uint8_t *reply = NULL;
        size_t len = 0;
        int64_t until = renewed + FEEDSUB_RENEW_MS - now;
        mesh_err_t err = ctl_client_recv(c, s->stop_fd, (int)(until > 0 ? until : 0), &reply, &len);
        if (err == MESH_ENOTFOUND) {
            continue;
        }
        ctlmsg_reply_t rep;
        if (err == MESH_OK) {
            err = ctlmsg_reply_decode(CTLMSG_WATCH, reply, len, &rep);
        }
        if (err == MESH_OK && rep.code != MESH_OK) {
            err = MESH_ESTATE; /* refused: too many watches, or a daemon without watch */
        }
        free(reply);
        if (err != MESH_OK) {
            __atomic_store_n(&s->live, false, __ATOMIC_RELEASE);
            ctl_client_close(c);
            c = NULL;
            next_try = node_now_ms() + FEEDSUB_REFUSED_MS;
            s->kick(s->ctx); /* (the feed polls again from now) */
            continue;
        }
        heard = node_now_ms();
        bool was = __atomic_exchange_n(&s->live, true, __ATOMIC_ACQ_REL);
        if (!was || rep.txnid != last) {
            last = rep.txnid;
            s->kick(s->ctx);
        }
    }
    __atomic_store_n(&s->live, false, __ATOMIC_RELEASE);
    ctl_client_close(c);
    return NULL;
}

mesh_err_t
feedsub_start(const char *home, void (*kick)(void *ctx), void *ctx, feedsub_t **out)
{
    *out = NULL;
    feedsub_t *s = calloc(1, sizeof *s);
    if (!s || !(s->home = strdup(home))) {
        free(s);
        return MESH_ENOMEM;
    }
    s->kick = kick;
    s->ctx = ctx;
    s->stop_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (s->stop_fd < 0 || pthread_create(&s->thread, NULL, s_run, s) != 0) {
        if (s->stop_fd >= 0) {
            close(s->stop_fd);
        }
        free(s->home);
        free(s);
        return MESH_EIO;
    }
    *out = s;
    return MESH_OK;
}

bool
feedsub_live(const feedsub_t *s)
{
    return s && __atomic_load_n(&s->live, __ATOMIC_ACQUIRE);
}

void
feedsub_stop(feedsub_t *s)
{
    if (!s) {
        return;
    }
    uint64_t one = 1;
    __atomic_store_n(&s->stop, true, __ATOMIC_RELEASE);
    (void)!write(s->stop_fd, &one, sizeof one);
    pthread_join(s->thread, NULL);
    close(s->stop_fd);
    free(s->home);
    free(s);
}
