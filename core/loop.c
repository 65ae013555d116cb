/* core/loop.c: the event-loop thread and its sync sessions (docs/PROTOCOL.md §11).
 * One thread owns the transport and every session; it answers handshakes, applies what
 * peers send, pushes what they lack in bounded batches (one outstanding per peer, resent
 * from the peer's own vector after a reconnect), notices commits made by any process on
 * the home, and writes HOME/status for `meshctl status` and `meshctl wait`.
 * Layer: core. Third-party: none (sockets through transport/). SPDX-License-Identifier: MIT */
#include "loop.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../crypto/devid.h"
#include "../crypto/ident.h"
#include "../transport/transport.h"
#include "bundle.h"
#include "node.h"
#include "wire.h"

#define S_NO_CONN UINT32_MAX
#define S_RESEND_MS 3000 /* a batch not acknowledged this long is sent again */
#define S_VECTOR_MS 5000 /* a session re-announces our vectors this often: if anything was
                          * lost on the way, the peer sees what we lack and sends it */

typedef struct s_session {
    uint8_t device[WIRE_ORIGIN_LEN];
    uint8_t curve[TRANSPORT_KEY_LEN];
    char id[MESH_ID_TEXT_LEN + 1];
    char addr[256];      /* the address dialled, "" if none */
    uint32_t conn_out;   /* our DEALER to it, or S_NO_CONN */
    uint32_t conn_in;    /* the inbound connection it last spoke on, or S_NO_CONN */
    bool hello_out;      /* our HELLO went out on conn_out since it last went silent */
    bool ok;             /* it said HELLO with a major version we speak */
    bool refused;        /* it speaks a major version we do not: do not push */
    bool connected;      /* heard from within LOOP_DEAD_MS */
    uint8_t *vv;         /* its last vector file */
    size_t vv_len;
    wire_doc_t vv_doc;
    uint64_t peer_session; /* the session id of its last HELLO: new when it restarted */
    uint64_t batch_out;  /* id of the batch awaiting its ack, 0 if none */
    int64_t batch_ms;    /* when it went out */
    uint64_t next_id;
    bool stalled;        /* the last ack moved nothing: wait for a new commit */
    int64_t heard_ms, pinged_ms, seen_ms, vector_ms;
    uint64_t batches_out, batches_in, bytes_out, bytes_in;
} s_session_t;

struct loop {
    mesh_t *m;
    pthread_t thread;
    int stop;
    transport_t *t;
    char listen[256];
    s_session_t sess[LOOP_SESSIONS_MAX];
    size_t nsess;
    uint64_t members_gen;
    uint64_t last_txnid;
    int64_t status_ms;
    uint64_t refused;     /* transport refusals already logged */
    uint64_t major;       /* the protocol major version we announce (§11.1) */
    uint64_t session;     /* random, per start: peers tell a restart from a second HELLO */
    const char *tamper;   /* test hook: flip a byte of this text in outgoing batches */
    bool garbage;         /* test hook: follow each HELLO with a malformed frame */
    wire_buf_t buf, body;
};

static int64_t
s_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- members and sessions ---- */

static s_session_t *
s_by_curve(loop_t *l, const uint8_t *curve)
{
    for (size_t i = 0; i < l->nsess; i++) {
        if (memcmp(l->sess[i].curve, curve, TRANSPORT_KEY_LEN) == 0) {
            return &l->sess[i];
        }
    }
    return NULL;
}

/* The ZAP rule and the per-frame check: the key of a member other than us. */
static bool
s_admit(void *ctx, const uint8_t *curve)
{
    return s_by_curve(ctx, curve) != NULL;
}

/* Dial a member at the first address its records give; when that address changes, hang
 * up and dial the new one. */
static void
s_dial(loop_t *l, s_session_t *s, const char *addrs)
{
    size_t n = strcspn(addrs, " ");
    if (n == 0 || n >= sizeof s->addr ||
        (s->conn_out != S_NO_CONN && strlen(s->addr) == n && memcmp(s->addr, addrs, n) == 0)) {
        return;
    }
    if (s->conn_out != S_NO_CONN) {
        transport_disconnect(l->t, s->conn_out);
        s->conn_out = S_NO_CONN;
        s->hello_out = false;
    }
    memcpy(s->addr, addrs, n);
    s->addr[n] = '\0';
    if (transport_connect(l->t, s->curve, s->addr, &s->conn_out) != MESH_OK) {
        node_log(l->m, MESH_LOG_WARN, "cannot dial %s at %s: %s", s->id, s->addr,
                 transport_errmsg(l->t));
        s->conn_out = S_NO_CONN;
    }
}

/* Follow membership: a session for every member, a connection to every known address. */
static void
s_refresh_members(loop_t *l)
{
    mesh_peer_t *peers = NULL;
    size_t n = 0;
    if (l->m->members_gen == l->members_gen || mesh_peers(l->m, &peers, &n) != MESH_OK) {
        return;
    }
    l->members_gen = l->m->members_gen;
    for (size_t i = 0; i < n; i++) {
        uint8_t pk[WIRE_ORIGIN_LEN], curve[TRANSPORT_KEY_LEN];
        if (peers[i].self || devid_parse(peers[i].id, pk) != MESH_OK ||
            ident_curve_public(pk, curve) != MESH_OK) {
            continue;
        }
        s_session_t *s = s_by_curve(l, curve);
        if (!s && l->nsess < LOOP_SESSIONS_MAX) {
            s = &l->sess[l->nsess++];
            memset(s, 0, sizeof *s);
            memcpy(s->device, pk, sizeof pk);
            memcpy(s->curve, curve, sizeof curve);
            memcpy(s->id, peers[i].id, sizeof s->id);
            s->conn_out = s->conn_in = S_NO_CONN;
            s->next_id = 1;
        }
        if (s) {
            s_dial(l, s, peers[i].addrs);
        }
    }
    mesh_free(peers);
}

/* ---- sending ---- */

/* Send msg to the session: on our own connection when it is up, else back on the
 * connection it spoke on. */
static mesh_err_t
s_send(loop_t *l, s_session_t *s, const wire_msg_t *msg, uint32_t only)
{
    wire_buf_reset(&l->buf);
    mesh_err_t err = wire_msg_encode(msg, &l->buf);
    if (err != MESH_OK) {
        return err;
    }
    /* Both sides prefer the connection dialled by the lower device key, so that one link
     * carries the session both ways, in order, when both have dialled. */
    bool ours_first = memcmp(ident_public_key(l->m->ident), s->device, WIRE_ORIGIN_LEN) < 0;
    uint32_t conns[2] = {ours_first ? s->conn_out : s->conn_in,
                         ours_first ? s->conn_in : s->conn_out};
    err = MESH_ENOTFOUND;
    for (int i = 0; i < 2 && err != MESH_OK; i++) {
        if (conns[i] == S_NO_CONN || (only != S_NO_CONN && conns[i] != only)) {
            continue;
        }
        err = transport_send(l->t, conns[i], l->buf.data, l->buf.len);
    }
    if (err == MESH_OK) {
        s->bytes_out += l->buf.len;
    }
    return err;
}

/* Our vector file, into l->body. */
static mesh_err_t
s_vector(loop_t *l)
{
    void *vv = NULL;
    size_t len = 0;
    wire_buf_reset(&l->body);
    mesh_err_t err = mesh_vector(l->m, NULL, 0, &vv, &len);
    if (err == MESH_OK) {
        err = wire_buf_append(&l->body, vv, len);
    }
    mesh_free(vv);
    return err;
}

/* Send our vector file to the session (on conn only, unless S_NO_CONN). */
static mesh_err_t
s_send_vector(loop_t *l, s_session_t *s, uint32_t conn)
{
    mesh_err_t err = s_vector(l);
    if (err == MESH_OK) {
        wire_msg_t vec = {.type = WIRE_MSG_VECTOR, .body = l->body.data, .body_len = l->body.len};
        err = s_send(l, s, &vec, conn);
    }
    return err;
}

static mesh_err_t
s_send_hello(loop_t *l, s_session_t *s, uint32_t conn)
{
    const char *name = mesh_device_name(l->m);
    wire_msg_t hello = {.type = WIRE_MSG_HELLO,
                        .major = l->major,
                        .minor = WIRE_PROTO_MINOR,
                        .name = name,
                        .name_len = strlen(name),
                        .num = l->session};
    mesh_err_t err = s_send(l, s, &hello, conn);
    if (err == MESH_OK && l->garbage) {
        /* test hook (MESH_TEST_GARBAGE): 0xc1 is never valid msgpack */
        static const uint8_t junk[] = {0xc1, 'j', 'u', 'n', 'k'};
        if (transport_send(l->t, conn, junk, sizeof junk) != MESH_OK) {
            node_log(l->m, MESH_LOG_DEBUG, "test hook: the junk frame did not go out");
        }
    }
    if (err == MESH_OK) {
        err = s_send_vector(l, s, conn);
    }
    return err;
}

/* Test hook (MESH_TEST_TAMPER, PROTOCOL.md §11.5): act as a relay that alters one op on
 * the wire, flipping a bit of the first occurrence of the text in the batch. */
static void
s_tamper(loop_t *l, wire_buf_t *b)
{
    size_t n = strlen(l->tamper);
    for (size_t i = 0; n && i + n <= b->len; i++) {
        if (memcmp(b->data + i, l->tamper, n) == 0) {
            b->data[i] ^= 1;
            node_log(l->m, MESH_LOG_WARN, "test hook: tampered with an outgoing batch");
            return;
        }
    }
}

/* Send the next batch of what the peer's vector does not cover, if any and if none is
 * awaiting its ack. */
static void
s_push(loop_t *l, s_session_t *s)
{
    bool more = false;
    size_t pieces = 0;
    if (!s->ok || s->refused || !s->vv || s->batch_out || s->stalled) {
        return;
    }
    wire_buf_reset(&l->body);
    mesh_err_t err =
        bundle_export(l->m, NULL, 0, &s->vv_doc, LOOP_BATCH_BYTES, &l->body, &more, &pieces);
    if (err != MESH_OK || pieces == 0) {
        return;
    }
    if (l->tamper) {
        s_tamper(l, &l->body);
    }
    wire_msg_t batch = {.type = WIRE_MSG_BATCH,
                        .num = s->next_id,
                        .body = l->body.data,
                        .body_len = l->body.len};
    if (s_send(l, s, &batch, S_NO_CONN) == MESH_OK) {
        s->batch_ms = s_now_ms();
        s->batch_out = s->next_id++;
        s->batches_out++;
        node_log(l->m, MESH_LOG_DEBUG, "sent batch %llu (%zu bytes) to %s",
                 (unsigned long long)s->batch_out, l->body.len, s->id);
    }
}

/* ---- receiving ---- */

/* Keep the peer's latest vector file. */
static mesh_err_t
s_take_vector(s_session_t *s, const uint8_t *body, size_t len, bool *changed)
{
    *changed = !s->vv || s->vv_len != len || memcmp(s->vv, body, len) != 0;
    if (!*changed) {
        return MESH_OK;
    }
    uint8_t *copy = malloc(len ? len : 1);
    wire_doc_t doc;
    if (!copy) {
        return MESH_ENOMEM;
    }
    memcpy(copy, body, len);
    mesh_err_t err = wire_doc_decode(copy, len, true, &doc);
    if (err != MESH_OK) {
        free(copy);
        return err;
    }
    wire_doc_release(&s->vv_doc);
    free(s->vv);
    s->vv = copy;
    s->vv_len = len;
    s->vv_doc = doc;
    return MESH_OK;
}

/* Drop the session after a protocol error, with the reason in the log; the node goes on
 * serving everyone else, and the peer may start again with a HELLO. */
static void
s_drop(loop_t *l, s_session_t *s, const char *why)
{
    node_log(l->m, MESH_LOG_WARN, "dropping the session with %s: %s", s->id, why);
    s->ok = false;
    s->batch_out = 0;
    if (s->conn_in != S_NO_CONN) {
        transport_disconnect(l->t, s->conn_in);
        s->conn_in = S_NO_CONN;
    }
}

static void
s_on_hello(loop_t *l, s_session_t *s, const wire_msg_t *msg, uint32_t conn)
{
    if (msg->major != l->major) {
        char text[160];
        int n = snprintf(text, sizeof text,
                         "protocol major version %llu is not supported; this device speaks %u",
                         (unsigned long long)msg->major, (unsigned)l->major);
        wire_msg_t err = {.type = WIRE_MSG_ERROR,
                          .num = MESH_EPROTO,
                          .body = (const uint8_t *)text,
                          .body_len = (size_t)n};
        node_log(l->m, MESH_LOG_WARN, "refusing %s: %s", s->id, text);
        (void)s_send(l, s, &err, conn);
        s->refused = true;
        s->ok = false;
        return;
    }
    /* A HELLO that starts the session again forgets what was in flight: it goes anew from
     * the vector that follows. (A second HELLO, on the other link of a session already up,
     * changes nothing; a batch lost to a restart the session did not notice is sent again
     * after S_RESEND_MS.) */
    bool restarted = msg->num != s->peer_session;
    if (!s->ok || restarted) {
        s->batch_out = 0;
    }
    s->peer_session = msg->num;
    s->ok = true;
    s->refused = false;
    s->stalled = false;
    if (restarted && s->conn_out != S_NO_CONN && !(conn & TRANSPORT_INBOUND)) {
        /* nothing to do: this HELLO is the answer on our own link */
    } else if (restarted && s->conn_out != S_NO_CONN) {
        /* Our HELLO on our own link, ahead of any batch we send on it: the peer, new,
         * takes batches only after a HELLO. */
        s->hello_out = s_send_hello(l, s, s->conn_out) == MESH_OK;
    }
    if (conn & TRANSPORT_INBOUND) {
        (void)s_send_hello(l, s, conn); /* the answer; a HELLO on our own link needs none */
    }
    node_log(l->m, MESH_LOG_INFO, "session with %s (%.*s) up", s->id, (int)msg->name_len,
             msg->name);
}

static void
s_on_batch(loop_t *l, s_session_t *s, const wire_msg_t *msg)
{
    mesh_import_report_t rep;
    mesh_err_t err = mesh_import(l->m, msg->body, msg->body_len, &rep);
    if (err == MESH_EPROTO || err == MESH_ETOOBIG) {
        s_drop(l, s, "a batch that does not decode");
        return;
    }
    if (err != MESH_OK) {
        node_log(l->m, MESH_LOG_ERROR, "applying a batch from %s failed: %s", s->id,
                 mesh_strerror(err));
        return; /* not acknowledged: it comes again */
    }
    if (rep.text) {
        node_log(l->m, MESH_LOG_WARN, "batch from %s: %s", s->id, rep.text);
    }
    mesh_free(rep.text);
    s->batches_in++;
    if (s_vector(l) == MESH_OK) {
        wire_msg_t ack = {.type = WIRE_MSG_ACK,
                          .num = msg->num,
                          .body = l->body.data,
                          .body_len = l->body.len};
        (void)s_send(l, s, &ack, S_NO_CONN);
    }
}

static void
s_on_msg(loop_t *l, const transport_msg_t *tm)
{
    s_session_t *s = s_by_curve(l, tm->peer_key);
    wire_msg_t msg;
    bool changed = false;
    if (!s) {
        return; /* the transport admitted it a moment ago: membership just changed */
    }
    if (tm->conn & TRANSPORT_INBOUND) {
        s->conn_in = tm->conn;
    }
    s->bytes_in += tm->len;
    s->heard_ms = s_now_ms();
    s->connected = true;
    if (wire_msg_decode(tm->data, tm->len, &msg) != MESH_OK) {
        s_drop(l, s, "a malformed frame");
        return;
    }
    /* Before HELLO only a vector is kept (frames of one session may come over two links,
     * so the peer's VECTOR can overtake its HELLO); a batch waits to be sent again. */
    if (msg.type != WIRE_MSG_HELLO && msg.type != WIRE_MSG_ERROR &&
        msg.type != WIRE_MSG_VECTOR && !s->ok) {
        return;
    }
    switch (msg.type) {
    case WIRE_MSG_HELLO:
        s_on_hello(l, s, &msg, tm->conn);
        break;
    case WIRE_MSG_VECTOR:
    case WIRE_MSG_ACK:
        if (s_take_vector(s, msg.body, msg.body_len, &changed) != MESH_OK) {
            s_drop(l, s, "a vector that does not decode");
            break;
        }
        if (msg.type == WIRE_MSG_ACK && msg.num == s->batch_out) {
            s->batch_out = 0;
            s->stalled = !changed; /* it took nothing more: wait for a new commit */
        }
        if (msg.type == WIRE_MSG_VECTOR && changed) {
            s->stalled = false; /* a vector that moved: whatever it lacks can go now */
        }
        s_push(l, s);
        break;
    case WIRE_MSG_BATCH:
        s_on_batch(l, s, &msg);
        break;
    case WIRE_MSG_PING: {
        wire_msg_t pong = {.type = WIRE_MSG_PONG, .num = msg.num};
        (void)s_send(l, s, &pong, S_NO_CONN);
        break;
    }
    case WIRE_MSG_ERROR:
        node_log(l->m, MESH_LOG_WARN, "%s refused the session: %.*s", s->id,
                 (int)msg.body_len, (const char *)msg.body);
        s->refused = true;
        s->ok = false;
        break;
    default:
        break; /* PONG: being heard is all it is for; block messages: not yet */
    }
}

/* ---- timers and status ---- */

static void
s_tick(loop_t *l, int64_t now)
{
    for (size_t i = 0; i < l->nsess; i++) {
        s_session_t *s = &l->sess[i];
        if (s->connected && now - s->heard_ms > LOOP_DEAD_MS) {
            node_log(l->m, MESH_LOG_INFO, "%s went silent", s->id);
            s->connected = false;
            s->ok = false;
            s->hello_out = false;
            s->batch_out = 0;
        }
        if (s->conn_out != S_NO_CONN && !s->hello_out && !s->refused) {
            s->hello_out = s_send_hello(l, s, s->conn_out) == MESH_OK;
            s->pinged_ms = now;
        } else if (s->connected && now - s->pinged_ms >= LOOP_PING_MS) {
            wire_msg_t ping = {.type = WIRE_MSG_PING, .num = (uint64_t)now};
            (void)s_send(l, s, &ping, S_NO_CONN);
            s->pinged_ms = now;
        }
        if (s->connected) {
            s->seen_ms = now;
        }
        if (s->ok && now - s->vector_ms >= S_VECTOR_MS) {
            s->vector_ms = now;
            (void)s_send_vector(l, s, S_NO_CONN);
        }
        if (s->batch_out && now - s->batch_ms > S_RESEND_MS) {
            /* lost with a link that broke, or dropped by a peer not yet past HELLO:
             * applying twice changes nothing, so send what it lacks again */
            node_log(l->m, MESH_LOG_INFO, "batch %llu to %s unacknowledged: sending again",
                     (unsigned long long)s->batch_out, s->id);
            s->batch_out = 0;
        }
    }
}

/* Items of ours the peer's vector does not cover, over every collection. */
static uint64_t
s_to_send(loop_t *l, const s_session_t *s)
{
    uint64_t items = 0;
    if (!s->vv || bundle_count_missing(l->m, &s->vv_doc, &items) != MESH_OK) {
        return 0;
    }
    return items;
}

/* Write HOME/status (to a temporary file, then renamed) for meshctl status and wait: one
 * "key value" line for the node, one line of key=value fields per peer (PROTOCOL.md §11.4). */
static void
s_status_write(loop_t *l, int64_t now)
{
    char path[4200], tmp[4300];
    snprintf(path, sizeof path, "%s/status", l->m->home);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f) {
        return;
    }
    fprintf(f, "device %s\npid %ld\nlisten %s\nupdated_ms %lld\n", l->m->id_text,
            (long)getpid(), l->listen[0] ? l->listen : "-", (long long)now);
    for (size_t i = 0; i < l->nsess; i++) {
        s_session_t *s = &l->sess[i];
        uint64_t pending = s->ok ? s_to_send(l, s) : 0;
        bool in_sync = s->ok && !s->batch_out && pending == 0;
        fprintf(f,
                "peer %s addr=%s connected=%d session=%d refused=%d silent_ms=%lld "
                "to_send=%llu batch_out=%d batches_out=%llu batches_in=%llu bytes_out=%llu "
                "bytes_in=%llu in_sync=%d\n",
                s->id, s->addr[0] ? s->addr : "-", s->connected, s->ok, s->refused,
                (long long)(s->heard_ms ? now - s->heard_ms : -1), (unsigned long long)pending,
                s->batch_out != 0, (unsigned long long)s->batches_out,
                (unsigned long long)s->batches_in, (unsigned long long)s->bytes_out,
                (unsigned long long)s->bytes_in, in_sync);
    }
    if (fclose(f) == 0) {
        (void)rename(tmp, path);
    }
}

static void *
s_run(void *arg)
{
    loop_t *l = arg;
    transport_msg_t tm;
    while (!__atomic_load_n(&l->stop, __ATOMIC_ACQUIRE)) {
        s_refresh_members(l);
        mesh_err_t err = transport_recv(l->t, 50, &tm);
        if (err == MESH_OK) {
            s_on_msg(l, &tm);
        }
        if (transport_refused(l->t) != l->refused) {
            node_log(l->m, MESH_LOG_WARN,
                     "refused %llu connection attempt(s) or frame(s) from keys that are not "
                     "members",
                     (unsigned long long)(transport_refused(l->t) - l->refused));
            l->refused = transport_refused(l->t);
        }
        uint64_t txnid = store_last_txnid(l->m->store);
        if (txnid != l->last_txnid) {
            /* a commit by anyone on this home: push it, and follow membership */
            l->last_txnid = txnid;
            (void)node_members_reload(l->m);
            for (size_t i = 0; i < l->nsess; i++) {
                l->sess[i].stalled = false;
            }
        }
        for (size_t i = 0; i < l->nsess; i++) {
            s_push(l, &l->sess[i]);
        }
        int64_t now = s_now_ms();
        s_tick(l, now);
        if (now - l->status_ms >= LOOP_STATUS_MS) {
            s_status_write(l, now);
            l->status_ms = now;
        }
    }
    return NULL;
}

mesh_err_t
loop_start(mesh_t *m, const char *listen, loop_t **out)
{
    uint8_t curve_pk[TRANSPORT_KEY_LEN], curve_sk[TRANSPORT_KEY_LEN];
    *out = NULL;
    loop_t *l = calloc(1, sizeof *l);
    if (!l) {
        return MESH_ENOMEM;
    }
    l->m = m;
    l->members_gen = UINT64_MAX;
    l->major = WIRE_PROTO_MAJOR;
    ident_random(&l->session, sizeof l->session);
    /* Test hook (PROTOCOL.md §11.1): announce another major version, to show refusal. */
    const char *major = getenv("MESH_TEST_PROTO_MAJOR");
    if (major && *major) {
        l->major = strtoull(major, NULL, 10);
    }
    const char *tamper = getenv("MESH_TEST_TAMPER");
    l->tamper = tamper && *tamper ? tamper : NULL;
    const char *garbage = getenv("MESH_TEST_GARBAGE");
    l->garbage = garbage && *garbage == '1';
    wire_buf_init(&l->buf);
    wire_buf_init(&l->body);
    mesh_err_t err = ident_curve_public(ident_public_key(m->ident), curve_pk);
    if (err == MESH_OK) {
        err = ident_curve_secret(m->ident, curve_sk);
    }
    if (err == MESH_OK) {
        err = transport_open(curve_pk, curve_sk, s_admit, l, &l->t);
    }
    memset(curve_sk, 0, sizeof curve_sk);
    if (err == MESH_OK && listen) {
        err = transport_listen(l->t, listen, l->listen, sizeof l->listen);
    }
    if (err == MESH_OK && pthread_create(&l->thread, NULL, s_run, l) != 0) {
        err = MESH_EIO;
    }
    if (err != MESH_OK) {
        node_fail(m, err, "network: %s", l->t ? transport_errmsg(l->t) : "cannot start");
        transport_close(l->t);
        wire_buf_release(&l->buf);
        wire_buf_release(&l->body);
        free(l);
        return err;
    }
    node_log(m, MESH_LOG_INFO, "%s listening on %s", m->id_text, l->listen[0] ? l->listen : "-");
    *out = l;
    return MESH_OK;
}

void
loop_stop(loop_t *l)
{
    if (!l) {
        return;
    }
    __atomic_store_n(&l->stop, 1, __ATOMIC_RELEASE);
    pthread_join(l->thread, NULL);
    char path[4200];
    snprintf(path, sizeof path, "%s/status", l->m->home);
    (void)unlink(path); /* no daemon runs here any more */
    for (size_t i = 0; i < l->nsess; i++) {
        wire_doc_release(&l->sess[i].vv_doc);
        free(l->sess[i].vv);
    }
    transport_close(l->t);
    wire_buf_release(&l->buf);
    wire_buf_release(&l->body);
    free(l);
}
