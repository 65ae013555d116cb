/* core/sync/control.c: the daemon's control socket (docs/PROTOCOL.md §21) and mesh_wait.
 * Requests are read each turn of the loop (the transport wakes it when one waits), a few at
 * a time, so that no client holds up sync; a status or wait request that cannot be answered
 * yet waits in a short list, answered when the loop publishes figures (status.c) or at its
 * deadline. Layer: core (sync). Third-party: none (the socket through transport/ctl.h).
 * SPDX-License-Identifier: MIT */
#include "core/sync/control.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/folder/registry.h"
#include "core/sync/statusfile.h"
#include "core/wire/ctlmsg.h"
#include "crypto/hash.h"
#include "transport/ctl.h"

#define S_CONNECT_MS 500  /* a client's connect deadline (mesh_wait) */
#define S_SLACK_MS   5000 /* past a wait's own timeout, for its reply to come */

/* A request waiting for its answer. */
typedef struct s_pending {
    ctl_from_t from;
    uint64_t id, kind;
    uint64_t min_txnid;   /* STATUS */
    int64_t since;        /* when it came (CLOCK_MONOTONIC ms) */
    int64_t deadline;     /* answer by then whatever the figures say */
    int64_t stable_since; /* WAIT: in sync since this publication, -1: not */
    uint64_t txnid;       /* WAIT: the store's last transaction when it came */
    size_t peers;         /* WAIT: at least this many connected */
    size_t connected, synced;
    size_t ncolls;
    char *colls[CTLMSG_COLLS_MAX];
} s_pending_t;

/* A watch subscription (§21.4): told each new store transaction until not renewed. */
typedef struct s_sub {
    ctl_from_t from;
    uint64_t id;
    uint64_t told;   /* the store transaction it was told last */
    int64_t renewed; /* its request came last then (CLOCK_MONOTONIC ms) */
} s_sub_t;

struct control {
    ctl_server_t *server;
    s_sub_t subs[CONTROL_WATCH_MAX];
    size_t nsubs;
    s_pending_t *pending[CONTROL_PENDING_MAX];
    size_t npending;
    uint64_t seen_gen;   /* the publication the waits were last looked at against */
    uint64_t steady_key; /* what the wait rule reads of the last publication (s_steady_key), */
    int64_t steady_ms;   /* unchanged in every publication since this one (-1: none yet) */
    wire_buf_t out;      /* a reply being encoded */
    uint64_t served, refused;
};

/* ---- the rule ---- */

/* Is every collection of colls[0..n) in sync with peer p? The loop lists a (collection,
 * peer) row only while something is left either way: with a row, not yet; without one,
 * when its session is up, nothing is under way with it and its figures are counted. */
static bool
s_colls_in_sync(const mesh_status_t *st, size_t nrows, const mesh_status_peer_t *p,
                const char *const *colls, size_t n)
{
    bool idle = p->session && !p->busy && p->in_flight == 0 &&
                (p->in_sync || p->to_send + p->to_receive > 0); /* (counted) */
    if (!idle) {
        return false;
    }
    for (size_t i = 0; i < nrows; i++) {
        mesh_status_coll_t r = {.size = sizeof r};
        if (mesh_status_coll(st, i, &r) != MESH_OK || strcmp(r.peer, p->id) != 0 || r.in_sync) {
            continue;
        }
        for (size_t c = 0; c < n; c++) {
            if (strcmp(r.name, colls[c]) == 0) {
                return false;
            }
        }
    }
    return true;
}

void
control_count(const mesh_status_t *st, const char *const *colls, size_t n, size_t *connected,
              size_t *synced)
{
    mesh_status_device_t dev = {.size = sizeof dev};
    *connected = *synced = 0;
    if (mesh_status_device(st, &dev) != MESH_OK || !dev.daemon) {
        return;
    }
    for (size_t i = 0; i < dev.peers; i++) {
        mesh_status_peer_t p = {.size = sizeof p};
        if (mesh_status_peer(st, i, &p) != MESH_OK || !p.connected) {
            continue;
        }
        (*connected)++;
        *synced += n > 0 ? s_colls_in_sync(st, dev.colls, &p, colls, n) : p.in_sync;
    }
}

/* A digest of everything the wait rule reads in st (the peers' and the collection rows'
 * words): while it stays the same, a wait's answer stays the same for any collections. */
static uint64_t
s_steady_key(const mesh_status_t *st)
{
    mesh_status_device_t dev = {.size = sizeof dev};
    uint64_t h = HASH_FNV_START;
    if (mesh_status_device(st, &dev) != MESH_OK) {
        return h;
    }
    h = hash_fnv(h, &dev.daemon, sizeof dev.daemon);
    for (size_t i = 0; i < dev.peers; i++) {
        mesh_status_peer_t p = {.size = sizeof p};
        if (mesh_status_peer(st, i, &p) != MESH_OK) {
            continue;
        }
        uint64_t w[8] = {(uint64_t)p.connected | (uint64_t)p.session << 1 | (uint64_t)p.busy << 2 |
                             (uint64_t)p.in_sync << 3,
                         p.to_send,
                         p.to_receive,
                         p.in_flight,
                         p.batches_in,
                         p.batches_out,
                         p.versions_in,
                         i};
        h = hash_fnv(hash_fnv(h, p.id, strlen(p.id)), w, sizeof w);
    }
    for (size_t i = 0; i < dev.colls; i++) {
        mesh_status_coll_t r = {.size = sizeof r};
        if (mesh_status_coll(st, i, &r) != MESH_OK) {
            continue;
        }
        uint64_t w[3] = {r.to_send, r.to_receive, r.in_sync};
        h = hash_fnv(hash_fnv(hash_fnv(h, r.name, strlen(r.name) + 1), r.peer, strlen(r.peer) + 1),
                     w, sizeof w);
    }
    return h;
}

/* ---- the server ---- */

mesh_err_t
control_open(loop_t *l)
{
    char why[600];
    struct control *c = calloc(1, sizeof *c);
    if (!c) {
        return MESH_ENOMEM;
    }
    wire_buf_init(&c->out);
    c->steady_ms = -1;
    mesh_err_t err = ctl_server_open(l->m->home, &c->server, why, sizeof why);
    if (err == MESH_ENOMEM) {
        free(c);
        return err;
    }
    if (err != MESH_OK) {
        node_log(l->m, MESH_LOG_WARN, "control socket off (meshctl reads %s/status instead): %s",
                 l->m->home, why);
    }
    transport_poll_ctl(l->t, c->server);
    l->control = c;
    return MESH_OK;
}

static void
s_pending_free(s_pending_t *p)
{
    for (size_t i = 0; p && i < p->ncolls; i++) {
        free(p->colls[i]);
    }
    free(p);
}

void
control_close(loop_t *l)
{
    struct control *c = l->control;
    if (!c) {
        return;
    }
    transport_poll_ctl(l->t, NULL);
    for (size_t i = 0; i < c->npending; i++) {
        s_pending_free(c->pending[i]);
    }
    ctl_server_close(c->server);
    wire_buf_release(&c->out);
    free(c);
    l->control = NULL;
}

/* Send rep, the reply to a request of kind, to from (a client that went loses it). */
static void
s_reply(struct control *c, const ctl_from_t *from, uint64_t kind, const ctlmsg_reply_t *rep)
{
    wire_buf_reset(&c->out);
    if (ctlmsg_reply_encode(kind, rep, &c->out) == MESH_OK) {
        (void)ctl_server_send(c->server, from, c->out.data, c->out.len);
    }
}

static void
s_error(struct control *c, const ctl_from_t *from, uint64_t id, mesh_err_t code, const char *text)
{
    ctlmsg_reply_t rep = {.id = id, .code = code, .text = text, .text_len = strlen(text)};
    c->refused++;
    s_reply(c, from, 0, &rep);
}

/* Answer a status request with the text published last (the caller holds none of the
 * lock: the loop thread is the only writer). */
static void
s_status_reply(loop_t *l, const ctl_from_t *from, uint64_t id)
{
    struct control *c = l->control;
    if (!l->status_text) {
        s_error(c, from, id, MESH_ESTATE, "no status published yet");
        return;
    }
    ctlmsg_reply_t rep = {
        .id = id, .status = (const uint8_t *)l->status_text, .status_len = l->status_len};
    s_reply(c, from, CTLMSG_STATUS, &rep);
    c->served++;
}

static void
s_wait_reply(loop_t *l, const s_pending_t *p, bool in_sync)
{
    ctlmsg_reply_t rep = {
        .id = p->id, .in_sync = in_sync, .connected = p->connected, .synced = p->synced};
    s_reply(l->control, &p->from, CTLMSG_WAIT, &rep);
    l->control->served++;
}

/* Keep req from as a pending request. At the cap the oldest is answered "busy" and
 * dropped: the socket cannot tell a client that went away (libzmq's stable API says nothing
 * of it), so a flood of waits from clients that left cannot shut a new one out; a client
 * told "busy" reads the figures itself (mesh_wait). MESH_OK or MESH_ENOMEM. */
static mesh_err_t
s_park(loop_t *l, const ctl_from_t *from, const ctlmsg_req_t *req, int64_t now)
{
    struct control *c = l->control;
    if (c->npending == CONTROL_PENDING_MAX) {
        s_pending_t *old = c->pending[0];
        s_error(c, &old->from, old->id, MESH_EBUSY,
                "too many requests waiting: the oldest is dropped; try again later");
        s_pending_free(old);
        memmove(c->pending, c->pending + 1, --c->npending * sizeof *c->pending);
    }
    s_pending_t *p = calloc(1, sizeof *p);
    if (!p) {
        return MESH_ENOMEM;
    }
    p->from = *from;
    p->id = req->id;
    p->kind = req->kind;
    p->min_txnid = req->min_txnid;
    p->since = now;
    p->deadline = now + (req->kind == CTLMSG_STATUS ? CONTROL_STATUS_MS : (int64_t)req->timeout_ms);
    p->stable_since = -1;
    p->txnid = store_last_txnid(l->m->store);
    p->peers = (size_t)req->peers;
    for (size_t i = 0; i < req->ncolls; i++) {
        p->colls[i] = strndup(req->colls[i], req->coll_lens[i]);
        p->ncolls = i + 1;
        if (!p->colls[i]) {
            s_pending_free(p);
            return MESH_ENOMEM;
        }
    }
    c->pending[c->npending++] = p;
    return MESH_OK;
}

/* Tell sub the store's last transaction. */
static void
s_watch_tell(struct control *c, s_sub_t *sub, uint64_t txnid)
{
    ctlmsg_reply_t rep = {.id = sub->id, .txnid = txnid};
    s_reply(c, &sub->from, CTLMSG_WATCH, &rep); /* (a full queue drops it: the client's own
                                                 * queued replies make it read all anyway) */
    sub->told = txnid;
    c->served++;
}

/* A watch request: a new subscription, or the renewal of one (same client, same id),
 * answered at once with the store's last transaction. At the cap a new one is refused
 * (MESH_EBUSY: the client polls the store); subscriptions of clients gone end within
 * CONTROL_WATCH_MS, so a flood holds the list no longer than that. */
static void
s_watch(loop_t *l, const ctl_from_t *from, uint64_t id, int64_t now)
{
    struct control *c = l->control;
    s_sub_t *sub = NULL;
    for (size_t i = 0; i < c->nsubs && !sub; i++) {
        s_sub_t *x = &c->subs[i];
        if (x->id == id && x->from.len == from->len &&
            memcmp(x->from.id, from->id, from->len) == 0) {
            sub = x;
        }
    }
    if (!sub && c->nsubs == CONTROL_WATCH_MAX) {
        s_error(c, from, id, MESH_EBUSY, "too many watches: read the store instead");
        return;
    }
    if (!sub) {
        sub = &c->subs[c->nsubs++];
        sub->from = *from;
        sub->id = id;
        node_log(l->m, MESH_LOG_DEBUG, "control: a watch subscribed (%zu now)", c->nsubs);
    }
    sub->renewed = now;
    s_watch_tell(c, sub, store_last_txnid(l->m->store));
}

/* Each turn: tell every subscription of a transaction it was not told, and end those not
 * renewed. */
static void
s_watch_tick(loop_t *l, int64_t now)
{
    struct control *c = l->control;
    if (c->nsubs == 0) {
        return;
    }
    uint64_t txnid = store_last_txnid(l->m->store);
    size_t kept = 0;
    for (size_t i = 0; i < c->nsubs; i++) {
        s_sub_t *sub = &c->subs[i];
        if (now - sub->renewed > CONTROL_WATCH_MS) {
            node_log(l->m, MESH_LOG_DEBUG, "control: a watch ended (not renewed for %d s)",
                     CONTROL_WATCH_MS / 1000);
            continue;
        }
        if (sub->told != txnid) {
            s_watch_tell(c, sub, txnid);
        }
        if (kept != i) {
            c->subs[kept] = *sub;
        }
        kept++;
    }
    c->nsubs = kept;
}

/* Serve one request's bytes from a client. */
static void
s_serve(loop_t *l, const ctl_from_t *from, const uint8_t *data, size_t len, int64_t now)
{
    struct control *c = l->control;
    ctlmsg_req_t req;
    char text[CTLMSG_TEXT_MAX];
    mesh_err_t err = ctlmsg_req_decode(data, len, &req);
    if (err != MESH_OK) {
        snprintf(text, sizeof text,
                 "malformed request (%zu bytes): %s; this daemon speaks "
                 "control protocol version %u",
                 len, mesh_strerror(err), CTLMSG_VERSION);
        s_error(c, from, req.id, err, text);
        return;
    }
    if (req.kind == CTLMSG_PING) {
        snprintf(text, sizeof text, "meshsync %s", mesh_version());
        ctlmsg_reply_t rep = {.id = req.id,
                              .text = text,
                              .text_len = strlen(text),
                              .pid = (uint64_t)getpid(),
                              .proto = CTLMSG_KIND_LAST};
        s_reply(c, from, CTLMSG_PING, &rep);
        c->served++;
        return;
    }
    if (req.kind == CTLMSG_WATCH) {
        s_watch(l, from, req.id, now);
        return;
    }
    if (req.kind == CTLMSG_STATUS && l->status_text &&
        (l->status_txnid == 0 || l->status_txnid >= req.min_txnid)) {
        s_status_reply(l, from, req.id);
        return;
    }
    if (s_park(l, from, &req, now) != MESH_OK) {
        s_error(c, from, req.id, MESH_ENOMEM, "out of memory");
    }
}

/* Follow the publications: steady_ms is the first of those the wait rule reads the same in
 * as in st, published at pub_ms. */
static void
s_steady(struct control *c, const mesh_status_t *st, int64_t pub_ms)
{
    uint64_t key = s_steady_key(st);
    if (c->steady_ms < 0 || key != c->steady_key) {
        c->steady_key = key;
        c->steady_ms = pub_ms;
    }
}

/* How long p's collections must have been in sync: CONTROL_STABLE_FOLDER_MS when it names
 * only folder indexes (whose wait reads the folder's exact line too, §18.9), else
 * CONTROL_STABLE_MS. */
static int64_t
s_stable_ms(const s_pending_t *p)
{
    bool folders = p->ncolls > 0;
    for (size_t i = 0; i < p->ncolls && folders; i++) {
        folders = strncmp(p->colls[i], REGISTRY_COLL_PREFIX, sizeof REGISTRY_COLL_PREFIX - 1) == 0;
    }
    return folders ? CONTROL_STABLE_FOLDER_MS : CONTROL_STABLE_MS;
}

/* Look at pending request p now: answered (true), or still waiting. fresh: a snapshot of
 * a publication the waits have not seen yet (NULL: none), published at pub_ms. */
static bool
s_pending_done(loop_t *l, s_pending_t *p, const mesh_status_t *fresh, int64_t pub_ms, int64_t now)
{
    if (p->kind == CTLMSG_STATUS) {
        bool ready = l->status_text && (l->status_txnid == 0 || l->status_txnid >= p->min_txnid);
        if (ready || now >= p->deadline) {
            s_status_reply(l, &p->from, p->id);
            return true;
        }
        return false;
    }
    /* (a publication counts once it came after the request and its figures were counted at
     * the store's transaction then or later: a change committed before the request shows) */
    if (fresh && pub_ms > p->since && l->status_txnid >= p->txnid) {
        control_count(fresh, (const char *const *)p->colls, p->ncolls, &p->connected, &p->synced);
        bool ok = p->connected >= p->peers && p->synced == p->connected;
        /* in sync now, and what the rule reads unchanged since steady_ms: in sync since */
        int64_t since = p->stable_since < 0 ? l->control->steady_ms : p->stable_since;
        p->stable_since = ok ? since : -1;
        if (ok && pub_ms - p->stable_since >= s_stable_ms(p)) {
            s_wait_reply(l, p, true);
            return true;
        }
    }
    if (now >= p->deadline) {
        s_wait_reply(l, p, false);
        return true;
    }
    return false;
}

bool
control_waiting(const loop_t *l)
{
    const struct control *c = l->control;
    return c && c->npending > 0;
}

void
control_tick(loop_t *l, int64_t now)
{
    struct control *c = l->control;
    if (!c || !c->server) {
        return;
    }
    for (int i = 0; i < CONTROL_TURN_MAX; i++) {
        ctl_from_t from;
        const uint8_t *data = NULL;
        size_t len = 0;
        mesh_err_t err = ctl_server_recv(c->server, &from, &data, &len);
        if (err == MESH_ENOTFOUND) {
            break;
        }
        if (err != MESH_OK) {
            s_error(c, &from, 0, MESH_EPROTO, "a request is one frame");
            continue;
        }
        s_serve(l, &from, data, len, now);
    }
    s_watch_tick(l, now);
    mesh_status_t *fresh = NULL;
    int64_t pub_ms = 0;
    if (l->status_gen != c->seen_gen) {
        /* each publication (a few a second) is read, waits or not: a wait that comes when
         * the figures have long been in sync is credited with that time (s_steady) */
        c->seen_gen = l->status_gen;
        if (statusfile_loop_snapshot(l, &fresh) == MESH_OK && fresh) {
            mesh_status_device_t dev = {.size = sizeof dev};
            if (mesh_status_device(fresh, &dev) == MESH_OK) {
                pub_ms = sync_now_ms() - dev.age_ms;
            }
            s_steady(c, fresh, pub_ms);
        }
    }
    size_t kept = 0;
    for (size_t i = 0; i < c->npending; i++) {
        s_pending_t *p = c->pending[i];
        if (s_pending_done(l, p, fresh, pub_ms, now)) {
            s_pending_free(p);
        } else {
            c->pending[kept++] = p;
        }
    }
    c->npending = kept;
    mesh_status_free(fresh);
}

/* ---- mesh_wait ---- */

/* Ask the daemon of m's home to wait (§21): MESH_OK in sync, MESH_EBUSY not at the timeout,
 * MESH_ENOTFOUND when no daemon answers there (or it is not private: MESH_EINVAL). */
static mesh_err_t
s_wait_call(mesh_t *m, const char *const *colls, size_t ncolls, size_t peers, uint32_t ms,
            size_t *connected, size_t *synced)
{
    ctlmsg_req_t req = {
        .id = 1, .kind = CTLMSG_WAIT, .timeout_ms = ms, .peers = peers, .ncolls = ncolls};
    for (size_t i = 0; i < ncolls; i++) {
        req.colls[i] = colls[i];
        req.coll_lens[i] = strlen(colls[i]);
    }
    wire_buf_t buf;
    uint8_t *reply = NULL;
    size_t reply_len = 0;
    ctlmsg_reply_t rep;
    wire_buf_init(&buf);
    mesh_err_t err = ctlmsg_req_encode(&req, &buf);
    if (err == MESH_OK) {
        err = ctl_call(m->home, buf.data, buf.len, S_CONNECT_MS, (int)ms + S_SLACK_MS, &reply,
                       &reply_len);
    }
    if (err == MESH_OK) {
        err = ctlmsg_reply_decode(CTLMSG_WAIT, reply, reply_len, &rep);
    }
    if (err == MESH_OK && rep.code != MESH_OK) {
        err = MESH_ESTATE; /* (refused, e.g. too many waiting: the caller reads the figures) */
    } else if (err == MESH_OK) {
        *connected = (size_t)rep.connected;
        *synced = (size_t)rep.synced;
        err = rep.in_sync ? MESH_OK : MESH_EBUSY;
    }
    free(reply);
    wire_buf_release(&buf);
    return err;
}

static int64_t
s_now_ms(void)
{
    return sync_now_ms();
}

mesh_err_t
mesh_wait(mesh_t *m, const char *const *colls, size_t ncolls, size_t peers, uint32_t timeout_ms,
          size_t *connected, size_t *synced)
{
    size_t conn_dummy = 0, sync_dummy = 0;
    connected = connected ? connected : &conn_dummy;
    synced = synced ? synced : &sync_dummy;
    *connected = *synced = 0;
    if (!m || (ncolls && !colls) || ncolls > CTLMSG_COLLS_MAX || peers > CTLMSG_PEERS_MAX ||
        timeout_ms > CTLMSG_WAIT_MS_MAX) {
        return MESH_EINVAL;
    }
    for (size_t i = 0; i < ncolls; i++) {
        if (!colls[i] || !colls[i][0] || strlen(colls[i]) > MESH_COLL_MAX) {
            return MESH_EINVAL;
        }
    }
    int64_t start = s_now_ms(), deadline = start + timeout_ms, stable_since = -1;
    bool ran = false;
    for (;;) {
        int64_t now = s_now_ms();
        if (!m->loop) {
            /* the daemon answers at once when it can (no figure polled meanwhile) */
            mesh_err_t err =
                s_wait_call(m, colls, ncolls, peers,
                            (uint32_t)(deadline > now ? deadline - now : 0), connected, synced);
            if (err == MESH_OK || err == MESH_EBUSY) {
                return err;
            }
        }
        /* No daemon answers on the socket: this node's own loop, or the daemon's file. */
        mesh_status_t *st = NULL;
        mesh_err_t err = mesh_status(m, &st);
        if (err != MESH_OK) {
            return err;
        }
        mesh_status_device_t dev = {.size = sizeof dev};
        bool running = mesh_status_device(st, &dev) == MESH_OK && dev.daemon;
        ran |= running;
        control_count(st, colls, ncolls, connected, synced);
        mesh_status_free(st);
        now = s_now_ms();
        bool ok =
            running && now - dev.age_ms > start && *connected >= peers && *synced == *connected;
        stable_since = ok ? (stable_since < 0 ? now : stable_since) : -1;
        if (ok && now - stable_since >= CONTROL_STABLE_MS) {
            return MESH_OK;
        }
        if (now >= deadline) {
            return ran ? MESH_EBUSY : MESH_ENOTFOUND;
        }
        struct timespec nap = {0, 50 * 1000 * 1000};
        nanosleep(&nap, NULL);
    }
}
