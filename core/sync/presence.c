/* core/sync/presence.c: presence and ephemeral messages (docs/PROTOCOL.md §22). The loop
 * thread keeps the table of members (sorted by device key) with whether each has a session
 * up, since when, and its receive rate; the caller's threads read the table, queue messages
 * and change subscriptions under one lock. Callbacks run on the loop thread, outside that
 * lock, inside a second one (dispatch) that a call from another thread takes to know no old
 * callback runs once it returns. Nothing here touches the store.
 * Layer: core (sync). Third-party: none. SPDX-License-Identifier: MIT */
#include "core/sync/presence.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/member/member.h"
#include "core/wire/message.h"
#include "crypto/devid.h"
#include "crypto/ident.h"

/* One member as presence sees it. The loop thread writes it under p->lock; the rate fields
 * are the loop thread's alone. */
typedef struct presence_peer {
    uint8_t device[WIRE_ORIGIN_LEN];
    char id[MESH_ID_TEXT_LEN + 1];
    char name[65];
    char addr[256];
    int64_t since; /* Unix seconds its session came up */
    bool online;   /* a session up (HELLO taken, heard within the silence limit) */
    bool seen;     /* its session was there at the last turn (s_update) */
    bool messages; /* its minor version takes MESSAGE */
    /* Receive rate: token buckets refilled by the time passed (loop thread only). */
    double msgs, bytes;
    int64_t refill_ms;
    uint64_t dropped;        /* its messages dropped past its rate, in all */
    uint64_t dropped_logged; /* as last logged */
    int64_t logged_ms;
} presence_peer_t;

/* A message queued by mesh_send for the loop thread to send. */
typedef struct presence_out {
    bool direct;
    uint8_t to[WIRE_ORIGIN_LEN]; /* when direct */
    char topic[MESH_TOPIC_MAX + 1];
    uint8_t *data; /* malloc'd, NULL when len is 0 */
    size_t len;
} presence_out_t;

typedef struct presence_sub {
    uint64_t id;
    char prefix[MESH_TOPIC_MAX + 1];
    size_t prefix_len;
    mesh_message_fn fn;
    void *ctx;
} presence_sub_t;

struct presence {
    loop_t *l;
    pthread_mutex_t lock;     /* guards all below but the rate fields and body */
    pthread_mutex_t dispatch; /* held by the loop thread while it calls the application */
    presence_peer_t *peers;   /* sorted by device */
    size_t npeers, peers_cap;
    presence_out_t *queue; /* mesh_send's, in order */
    size_t nqueue, queue_bytes;
    presence_sub_t subs[PRESENCE_SUBS_MAX];
    size_t nsubs;
    uint64_t next_sub;
    mesh_presence_fn watch;
    void *watch_ctx;
    mesh_message_stats_t stats;
    /* loop thread only */
    double total_msgs, total_bytes;
    int64_t total_ms;
    uint64_t total_logged;
    int64_t total_logged_ms;
    wire_buf_t body;
};

struct mesh_presence_list {
    size_t count;
    mesh_presence_t *items;
};

mesh_err_t
presence_open(loop_t *l, presence_t **out)
{
    *out = NULL;
    presence_t *p = calloc(1, sizeof *p);
    if (!p) {
        return MESH_ENOMEM;
    }
    p->l = l;
    pthread_mutex_init(&p->lock, NULL);
    pthread_mutex_init(&p->dispatch, NULL);
    p->next_sub = 1;
    p->stats.size = sizeof p->stats;
    wire_buf_init(&p->body);
    *out = p;
    return MESH_OK;
}

static void
s_queue_free(presence_out_t *q, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(q[i].data);
    }
    free(q);
}

void
presence_close(presence_t *p)
{
    if (!p) {
        return;
    }
    s_queue_free(p->queue, p->nqueue);
    free(p->peers);
    wire_buf_release(&p->body);
    pthread_mutex_destroy(&p->lock);
    pthread_mutex_destroy(&p->dispatch);
    free(p);
}

/* The peer of device (under the lock, or on the loop thread), or NULL; *at is where it is
 * or would go. */
static presence_peer_t *
s_find(presence_t *p, const uint8_t *device, size_t *at)
{
    size_t lo = 0, hi = p->npeers;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = memcmp(p->peers[mid].device, device, WIRE_ORIGIN_LEN);
        if (c == 0) {
            *at = mid;
            return &p->peers[mid];
        }
        if (c < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    *at = lo;
    return NULL;
}

/* The peer of s, added (offline) when new; NULL when out of memory. Under the lock. */
static presence_peer_t *
s_peer_of(presence_t *p, const session_t *s)
{
    size_t at = 0;
    presence_peer_t *e = s_find(p, s->device, &at);
    if (e) {
        return e;
    }
    if (p->npeers == p->peers_cap) {
        size_t cap = p->peers_cap ? 2 * p->peers_cap : 8;
        presence_peer_t *grown = realloc(p->peers, cap * sizeof *grown);
        if (!grown) {
            return NULL;
        }
        p->peers = grown;
        p->peers_cap = cap;
    }
    memmove(&p->peers[at + 1], &p->peers[at], (p->npeers - at) * sizeof *p->peers);
    p->npeers++;
    e = &p->peers[at];
    memset(e, 0, sizeof *e);
    memcpy(e->device, s->device, WIRE_ORIGIN_LEN);
    devid_format(s->device, e->id);
    e->msgs = 2.0 * PRESENCE_RATE_MSGS;
    e->bytes = 2.0 * PRESENCE_RATE_BYTES;
    e->refill_ms = sync_now_ms();
    return e;
}

/* Is this the loop thread (a call from inside a callback)? */
static bool
s_on_loop(const presence_t *p)
{
    return pthread_equal(pthread_self(), p->l->thread) != 0;
}

/* ---- the loop thread ---- */

/* Take one message of len bytes from a bucket of rate per second (burst twice that)?
 * Refills by the time since *at. */
static bool
s_take(double *msgs, double *bytes, int64_t *at, int64_t now, double rate_msgs, double rate_bytes,
       size_t len)
{
    double secs = (double)(now - *at) / 1000.0;
    *at = now;
    *msgs += secs * rate_msgs;
    *bytes += secs * rate_bytes;
    *msgs = *msgs > 2 * rate_msgs ? 2 * rate_msgs : *msgs;
    *bytes = *bytes > 2 * rate_bytes ? 2 * rate_bytes : *bytes;
    if (*msgs < 1.0 || *bytes < (double)len) {
        return false;
    }
    *msgs -= 1.0;
    *bytes -= (double)len;
    return true;
}

/* Hand msg to every subscription whose prefix starts its topic (loop thread). */
static void
s_deliver(presence_t *p, const mesh_message_t *msg, size_t topic_len)
{
    uint64_t ids[PRESENCE_SUBS_MAX];
    size_t n = 0;
    pthread_mutex_lock(&p->lock);
    for (size_t i = 0; i < p->nsubs; i++) {
        if (p->subs[i].prefix_len <= topic_len &&
            memcmp(p->subs[i].prefix, msg->topic, p->subs[i].prefix_len) == 0) {
            ids[n++] = p->subs[i].id;
        }
    }
    if (n == 0) {
        p->stats.unsubscribed++;
    }
    pthread_mutex_unlock(&p->lock);
    pthread_mutex_lock(&p->dispatch);
    for (size_t k = 0; k < n; k++) {
        /* still subscribed? (a callback before may have ended it) */
        mesh_message_fn fn = NULL;
        void *ctx = NULL;
        pthread_mutex_lock(&p->lock);
        for (size_t i = 0; i < p->nsubs; i++) {
            if (p->subs[i].id == ids[k]) {
                fn = p->subs[i].fn;
                ctx = p->subs[i].ctx;
                p->stats.delivered++;
            }
        }
        pthread_mutex_unlock(&p->lock);
        if (fn) {
            fn(ctx, msg);
        }
    }
    pthread_mutex_unlock(&p->dispatch);
}

/* Log a member's drops past its rate, at most once per PRESENCE_LOG_MS. */
static void
s_log_drops(loop_t *l, presence_peer_t *e, int64_t now)
{
    if (e->dropped != e->dropped_logged && now - e->logged_ms >= PRESENCE_LOG_MS) {
        node_log(l->m, MESH_LOG_WARN,
                 "messages from %s past its rate (%u a second, %u bytes a second): dropped "
                 "%llu",
                 e->id, PRESENCE_RATE_MSGS, PRESENCE_RATE_BYTES,
                 (unsigned long long)(e->dropped - e->dropped_logged));
        e->dropped_logged = e->dropped;
        e->logged_ms = now;
    }
}

mesh_err_t
presence_on_msg(loop_t *l, session_t *s, const wire_msg_t *msg)
{
    presence_t *p = l->presence;
    wire_message_t body;
    mesh_err_t err = wire_message_decode(msg->body, msg->body_len, &body);
    if (err != MESH_OK) {
        return err;
    }
    if (!p || s->removed) { /* (no presence: a loop a test turns by hand) */
        return MESH_OK;     /* its frames are refused: this one came before we heard */
    }
    int64_t now = sync_now_ms();
    pthread_mutex_lock(&p->lock);
    presence_peer_t *e = s_peer_of(p, s);
    pthread_mutex_unlock(&p->lock);
    if (!e) {
        return MESH_OK; /* out of memory: the message is lost, as on the way */
    }
    /* Its own rate first: a flood from one member is dropped against its own bucket and
     * never reaches the total, so it cannot take another member's share. */
    bool ok = s_take(&e->msgs, &e->bytes, &e->refill_ms, now, PRESENCE_RATE_MSGS,
                     PRESENCE_RATE_BYTES, body.data_len);
    bool total = ok && s_take(&p->total_msgs, &p->total_bytes, &p->total_ms, now,
                              (double)PRESENCE_RATE_MSGS * PRESENCE_TOTAL_SHARE,
                              (double)PRESENCE_RATE_BYTES * PRESENCE_TOTAL_SHARE, body.data_len);
    pthread_mutex_lock(&p->lock);
    if (!ok) {
        e->dropped++;
        p->stats.over_member++;
    } else if (!total) {
        p->stats.over_total++;
    } else {
        p->stats.received++;
    }
    uint64_t over_total = p->stats.over_total;
    pthread_mutex_unlock(&p->lock);
    s_log_drops(l, e, now);
    if (over_total != p->total_logged && now - p->total_logged_ms >= PRESENCE_LOG_MS) {
        node_log(l->m, MESH_LOG_WARN, "messages past the rate of all members: dropped %llu",
                 (unsigned long long)(over_total - p->total_logged));
        p->total_logged = over_total;
        p->total_logged_ms = now;
    }
    if (!ok || !total) {
        return MESH_OK;
    }
    char topic[MESH_TOPIC_MAX + 1];
    memcpy(topic, body.topic, body.topic_len);
    topic[body.topic_len] = '\0';
    mesh_message_t m = {.size = sizeof m,
                        .topic = topic,
                        .data = body.data,
                        .len = body.data_len,
                        .direct = msg->num == WIRE_MESSAGE_DIRECT};
    memcpy(m.from, e->id, sizeof m.from);
    s_deliver(p, &m, body.topic_len);
    return MESH_OK;
}

/* A member went online or offline: for the callbacks after the table is updated. */
typedef struct presence_change {
    char id[MESH_ID_TEXT_LEN + 1];
    bool online;
} presence_change_t;

/* Forget the offline members whose session is gone (the loop's sessions changed), so the
 * table follows the membership instead of growing with every device ever seen. */
static void
s_sweep(presence_t *p)
{
    size_t k = 0;
    for (size_t i = 0; i < p->npeers; i++) {
        if (p->peers[i].seen || p->peers[i].online) {
            p->peers[k++] = p->peers[i];
        }
    }
    p->npeers = k;
}

/* Bring the table up to the sessions; the changes go into *changes (malloc'd, *n of them). */
static void
s_update(presence_t *p, presence_change_t **changes, size_t *n)
{
    loop_t *l = p->l;
    size_t cap = 0;
    *changes = NULL;
    *n = 0;
    pthread_mutex_lock(&p->lock);
    for (size_t i = 0; i < p->npeers; i++) {
        p->peers[i].seen = false;
    }
    for (size_t i = 0; i < l->nsess; i++) {
        const session_t *s = l->sess[i];
        bool online = s->ok && s->connected && !s->removed;
        size_t at = 0;
        presence_peer_t *e = s_find(p, s->device, &at);
        if (!e && !online) {
            continue;
        }
        if (!e && !(e = s_peer_of(p, s))) {
            continue; /* out of memory: seen next turn */
        }
        e->seen = true;
        if (online) {
            /* what may move while it stays online */
            snprintf(e->name, sizeof e->name, "%s", s->name);
            snprintf(e->addr, sizeof e->addr, "%s", s->conn_out != SYNC_NO_CONN ? s->addr : "");
            e->messages = s->minor >= PRESENCE_MINOR;
        }
        if (e->online == online) {
            continue;
        }
        e->online = online;
        e->since = online ? (int64_t)time(NULL) : 0;
        node_log(l->m, MESH_LOG_DEBUG, "presence: %s %s", e->id, online ? "online" : "offline");
        if (*n == cap) {
            size_t c = cap ? 2 * cap : 8;
            presence_change_t *grown = realloc(*changes, c * sizeof *grown);
            if (!grown) {
                continue; /* out of memory: that callback is missed, the table is right */
            }
            *changes = grown;
            cap = c;
        }
        memcpy((*changes)[*n].id, e->id, sizeof e->id);
        (*changes)[(*n)++].online = online;
    }
    /* a session gone while online (the loop does not free them today) is offline too */
    for (size_t i = 0; i < p->npeers; i++) {
        presence_peer_t *e = &p->peers[i];
        if (!e->seen && e->online) {
            e->online = false;
            presence_change_t *grown = realloc(*changes, (*n + 1) * sizeof *grown);
            if (grown) {
                *changes = grown;
                memcpy((*changes)[*n].id, e->id, sizeof e->id);
                (*changes)[(*n)++].online = false;
            }
        }
    }
    s_sweep(p);
    pthread_mutex_unlock(&p->lock);
}

/* The session of device, or NULL (linear: one lookup per direct message sent). */
static session_t *
s_session(loop_t *l, const uint8_t *device)
{
    for (size_t i = 0; i < l->nsess; i++) {
        if (memcmp(l->sess[i]->device, device, WIRE_ORIGIN_LEN) == 0) {
            return l->sess[i];
        }
    }
    return NULL;
}

static bool
s_takes(const session_t *s)
{
    return s->ok && s->connected && !s->removed && s->minor >= PRESENCE_MINOR;
}

/* Send one queued message; returns how many members it went to, *lost those it did not. */
static void
s_send_one(presence_t *p, const presence_out_t *o, sync_send_fn send, uint64_t *sent,
           uint64_t *lost)
{
    loop_t *l = p->l;
    wire_message_t body = {
        .topic = o->topic, .topic_len = strlen(o->topic), .data = o->data, .data_len = o->len};
    wire_buf_reset(&p->body);
    if (wire_message_encode(&body, &p->body) != MESH_OK) {
        (*lost)++;
        return;
    }
    wire_msg_t msg = {.type = WIRE_MSG_MESSAGE,
                      .num = o->direct ? WIRE_MESSAGE_DIRECT : WIRE_MESSAGE_ALL,
                      .body = p->body.data,
                      .body_len = p->body.len};
    if (o->direct) {
        session_t *s = s_session(l, o->to);
        if (s && s_takes(s) && send(l, s, &msg) == MESH_OK) {
            (*sent)++;
        } else {
            (*lost)++;
        }
        return;
    }
    for (size_t i = 0; i < l->nsess; i++) {
        if (!s_takes(l->sess[i])) {
            continue;
        }
        if (send(l, l->sess[i], &msg) == MESH_OK) {
            (*sent)++;
        } else {
            (*lost)++;
        }
    }
}

void
presence_tick(loop_t *l, int64_t now, sync_send_fn send)
{
    presence_t *p = l->presence;
    presence_change_t *changes = NULL;
    size_t n = 0;
    (void)now;
    if (!p) {
        return; /* (a loop a test turns by hand) */
    }
    s_update(p, &changes, &n);
    /* the queue, taken whole: mesh_send may add to a new one meanwhile */
    pthread_mutex_lock(&p->lock);
    presence_out_t *queue = p->queue;
    size_t nqueue = p->nqueue;
    p->queue = NULL;
    p->nqueue = p->queue_bytes = 0;
    pthread_mutex_unlock(&p->lock);
    uint64_t sent = 0, lost = 0;
    for (size_t i = 0; i < nqueue; i++) {
        s_send_one(p, &queue[i], send, &sent, &lost);
    }
    s_queue_free(queue, nqueue);
    if (sent || lost) {
        pthread_mutex_lock(&p->lock);
        p->stats.sent += sent;
        p->stats.lost += lost;
        pthread_mutex_unlock(&p->lock);
    }
    if (n) {
        pthread_mutex_lock(&p->dispatch);
        for (size_t i = 0; i < n; i++) {
            pthread_mutex_lock(&p->lock);
            mesh_presence_fn fn = p->watch;
            void *ctx = p->watch_ctx;
            pthread_mutex_unlock(&p->lock);
            if (fn) {
                fn(ctx, changes[i].id, changes[i].online);
            }
        }
        pthread_mutex_unlock(&p->dispatch);
    }
    free(changes);
}

/* ---- the public calls (any thread) ---- */

/* m's presence state, or NULL with MESH_ESTATE's detail (an offline node). */
static presence_t *
s_of(mesh_t *m, const char *what)
{
    if (!m->loop || !m->loop->presence) {
        node_fail(m, MESH_ESTATE, "%s: an offline node has no sessions", what);
        return NULL;
    }
    return m->loop->presence;
}

mesh_err_t
mesh_presence(mesh_t *m, mesh_presence_list_t **out)
{
    if (out) {
        *out = NULL;
    }
    if (!m || !out) {
        return MESH_EINVAL;
    }
    node_clear_err(m);
    presence_t *p = s_of(m, "presence");
    if (!p) {
        return MESH_ESTATE;
    }
    pthread_mutex_lock(&p->lock);
    size_t n = 0;
    for (size_t i = 0; i < p->npeers; i++) {
        n += p->peers[i].online;
    }
    /* one block: the list, its items, then each item's name and address */
    size_t text = sizeof p->peers[0].name + sizeof p->peers[0].addr;
    mesh_presence_list_t *list = malloc(sizeof *list + n * (sizeof(mesh_presence_t) + text));
    if (!list) {
        pthread_mutex_unlock(&p->lock);
        return node_fail(m, MESH_ENOMEM, "presence: out of memory");
    }
    list->count = n;
    list->items = (mesh_presence_t *)(list + 1);
    char *strings = (char *)(list->items + n);
    size_t k = 0;
    for (size_t i = 0; i < p->npeers; i++) {
        const presence_peer_t *e = &p->peers[i];
        if (!e->online) {
            continue;
        }
        mesh_presence_t *it = &list->items[k];
        char *name = strings + k * text, *addr = name + sizeof e->name;
        memcpy(it->id, e->id, sizeof it->id);
        memcpy(name, e->name, sizeof e->name);
        memcpy(addr, e->addr, sizeof e->addr);
        it->size = sizeof *it;
        it->name = name;
        it->addr = addr;
        it->since = e->since;
        it->messages = e->messages;
        k++;
    }
    pthread_mutex_unlock(&p->lock);
    *out = list;
    return MESH_OK;
}

size_t
mesh_presence_list_count(const mesh_presence_list_t *list)
{
    return list ? list->count : 0;
}

const mesh_presence_t *
mesh_presence_list_get(const mesh_presence_list_t *list, size_t i)
{
    return list && i < list->count ? &list->items[i] : NULL;
}

void
mesh_presence_list_free(mesh_presence_list_t *list)
{
    free(list);
}

mesh_err_t
mesh_presence_watch(mesh_t *m, mesh_presence_fn fn, void *ctx)
{
    if (!m) {
        return MESH_EINVAL;
    }
    node_clear_err(m);
    presence_t *p = s_of(m, "presence watch");
    if (!p) {
        return MESH_ESTATE;
    }
    bool loop = s_on_loop(p);
    if (!loop) {
        pthread_mutex_lock(&p->dispatch); /* the old callback is not running past here */
    }
    pthread_mutex_lock(&p->lock);
    p->watch = fn;
    p->watch_ctx = ctx;
    pthread_mutex_unlock(&p->lock);
    if (!loop) {
        pthread_mutex_unlock(&p->dispatch);
    }
    return MESH_OK;
}

mesh_err_t
mesh_subscribe(mesh_t *m, const char *prefix, mesh_message_fn fn, void *ctx, uint64_t *id)
{
    if (id) {
        *id = 0;
    }
    if (!m || !prefix || !fn || !id) {
        return m ? node_fail(m, MESH_EINVAL, "subscribe: a NULL argument") : MESH_EINVAL;
    }
    node_clear_err(m);
    size_t len = strnlen(prefix, MESH_TOPIC_MAX + 1);
    if (len > MESH_TOPIC_MAX) {
        return node_fail(m, MESH_ETOOBIG, "subscribe: a prefix past %u bytes", MESH_TOPIC_MAX);
    }
    if (len && !wire_topic_ok(prefix, len)) {
        return node_fail(m, MESH_EINVAL, "subscribe: a prefix of other than printable ASCII");
    }
    presence_t *p = s_of(m, "subscribe");
    if (!p) {
        return MESH_ESTATE;
    }
    pthread_mutex_lock(&p->lock);
    if (p->nsubs == PRESENCE_SUBS_MAX) {
        pthread_mutex_unlock(&p->lock);
        return node_fail(m, MESH_EBUSY, "subscribe: %u subscriptions already", PRESENCE_SUBS_MAX);
    }
    presence_sub_t *sub = &p->subs[p->nsubs++];
    memcpy(sub->prefix, prefix, len);
    sub->prefix[len] = '\0';
    sub->prefix_len = len;
    sub->fn = fn;
    sub->ctx = ctx;
    sub->id = p->next_sub++;
    *id = sub->id;
    pthread_mutex_unlock(&p->lock);
    return MESH_OK;
}

mesh_err_t
mesh_unsubscribe(mesh_t *m, uint64_t id)
{
    if (!m) {
        return MESH_EINVAL;
    }
    node_clear_err(m);
    presence_t *p = s_of(m, "unsubscribe");
    if (!p) {
        return MESH_ESTATE;
    }
    bool loop = s_on_loop(p), found = false;
    if (!loop) {
        pthread_mutex_lock(&p->dispatch); /* its callback is not running past here */
    }
    pthread_mutex_lock(&p->lock);
    for (size_t i = 0; i < p->nsubs; i++) {
        if (p->subs[i].id == id) {
            p->subs[i] = p->subs[--p->nsubs];
            found = true;
            break;
        }
    }
    pthread_mutex_unlock(&p->lock);
    if (!loop) {
        pthread_mutex_unlock(&p->dispatch);
    }
    return found ? MESH_OK
                 : node_fail(m, MESH_ENOTFOUND, "unsubscribe: no subscription %llu",
                             (unsigned long long)id);
}

/* Check mesh_send's arguments; the device key of to into to_pk. */
static mesh_err_t
s_send_args(mesh_t *m, const char *to, const char *topic, const void *data, size_t len,
            uint8_t *to_pk)
{
    if (!topic || (!data && len)) {
        return node_fail(m, MESH_EINVAL, "send: a NULL argument");
    }
    size_t tlen = strnlen(topic, MESH_TOPIC_MAX + 1);
    if (!wire_topic_ok(topic, tlen)) {
        return node_fail(m, MESH_EINVAL,
                         "send: a topic is 1 to %u bytes of printable ASCII (0x20..0x7e)",
                         MESH_TOPIC_MAX);
    }
    if (len > MESH_MESSAGE_MAX) {
        return node_fail(m, MESH_ETOOBIG, "send: %zu bytes is past the cap of %u a message", len,
                         MESH_MESSAGE_MAX);
    }
    if (!to) {
        return MESH_OK;
    }
    mesh_err_t err = member_id_parse(m, to, to_pk);
    if (err != MESH_OK) {
        return err;
    }
    if (memcmp(to_pk, ident_public_key(m->ident), WIRE_ORIGIN_LEN) == 0) {
        return node_fail(m, MESH_EINVAL, "send: to is this device");
    }
    if (!member_is(m, to_pk)) {
        return node_fail(m, MESH_EUNPAIRED, "send: %s is not a member", to);
    }
    return MESH_OK;
}

mesh_err_t
mesh_send(mesh_t *m, const char *to, const char *topic, const void *data, size_t len)
{
    uint8_t to_pk[WIRE_ORIGIN_LEN] = {0};
    if (!m) {
        return MESH_EINVAL;
    }
    node_clear_err(m);
    mesh_err_t err = s_send_args(m, to, topic, data, len, to_pk);
    if (err != MESH_OK) {
        return err;
    }
    presence_t *p = s_of(m, "send");
    if (!p) {
        return MESH_ESTATE;
    }
    uint8_t *copy = NULL;
    if (len && !(copy = malloc(len))) {
        return node_fail(m, MESH_ENOMEM, "send: out of memory");
    }
    if (len) {
        memcpy(copy, data, len);
    }
    pthread_mutex_lock(&p->lock);
    size_t at = 0;
    const presence_peer_t *e = to ? s_find(p, to_pk, &at) : NULL;
    if (to && (!e || !e->online)) {
        err = node_fail(m, MESH_ENOTFOUND,
                        "send: %s has no session up (messages are never queued for later)", to);
    } else if (to && !e->messages) {
        err = node_fail(m, MESH_ESTATE, "send: %s speaks a protocol version without messages", to);
    } else if (p->nqueue >= PRESENCE_QUEUE_MAX || p->queue_bytes + len > PRESENCE_QUEUE_BYTES) {
        err = node_fail(m, MESH_EBUSY, "send: %zu messages (%zu bytes) wait to be sent already",
                        p->nqueue, p->queue_bytes);
    } else if (p->nqueue == 0 || (p->nqueue & (p->nqueue - 1)) == 0) {
        /* grown at powers of two: the array's size is always one */
        size_t cap = p->nqueue ? 2 * p->nqueue : 1;
        presence_out_t *grown = realloc(p->queue, cap * sizeof *grown);
        if (!grown) {
            err = node_fail(m, MESH_ENOMEM, "send: out of memory");
        } else {
            p->queue = grown;
        }
    }
    if (err == MESH_OK) {
        presence_out_t *o = &p->queue[p->nqueue++];
        memset(o, 0, sizeof *o);
        o->direct = to != NULL;
        memcpy(o->to, to_pk, sizeof o->to);
        snprintf(o->topic, sizeof o->topic, "%s", topic);
        o->data = copy;
        o->len = len;
        p->queue_bytes += len;
        copy = NULL;
    }
    pthread_mutex_unlock(&p->lock);
    free(copy);
    return err;
}

mesh_err_t
mesh_message_stats(mesh_t *m, mesh_message_stats_t *out)
{
    if (!m || !out || out->size < sizeof(size_t)) {
        return m ? node_fail(m, MESH_EINVAL, "message stats: set out->size") : MESH_EINVAL;
    }
    node_clear_err(m);
    presence_t *p = s_of(m, "message stats");
    if (!p) {
        return MESH_ESTATE;
    }
    size_t size = out->size < sizeof *out ? out->size : sizeof *out;
    pthread_mutex_lock(&p->lock);
    mesh_message_stats_t st = p->stats;
    pthread_mutex_unlock(&p->lock);
    st.size = size;
    memcpy(out, &st, size);
    return MESH_OK;
}
