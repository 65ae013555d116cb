/* core/loop.c: the event-loop thread and its sync sessions (docs/PROTOCOL.md §11).
 * One thread owns the transport and every session; it dials each member (its addresses in
 * turn, again while no session comes), answers handshakes (summaries before vectors), keeps
 * a view of what each peer holds, pushes what the view lacks in passes of bounded batches
 * (up to the peer's credit in flight, resent from the view after a reconnect), queues the
 * batches it receives and commits them in groups (core/checker.c verifies them meanwhile),
 * notices commits made by any process on the home, gives back memory after large applies
 * and sends, and writes HOME/status for `meshctl status` and `meshctl wait`.
 * Layer: core. Third-party: none (sockets through transport/). SPDX-License-Identifier: MIT */
#include "core/sync/loop.h"

#include <errno.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/base/node.h"
#include "core/base/testhook.h"
#include "core/bundle/bundle.h"
#include "core/member/member.h"
#include "core/sync/inbox.h"
#include "core/wire/wire.h"
#include "crypto/devid.h"
#include "crypto/ident.h"
#include "transport/transport.h"

#define S_NO_CONN   UINT32_MAX
#define S_RESEND_MS 10000 /* no ack (or no vector asked for) this long: send again */
#define S_SUMMARY_MS                                                                               \
    5000               /* a session re-announces its summary this often: if anything was           \
                        * lost on the way, the peer sees that it differs and says what it          \
                        * holds */
#define S_PUSH_BURST 4 /* batches exported per turn of the loop, between receives */

typedef struct s_session {
    uint8_t device[WIRE_ORIGIN_LEN];
    uint8_t curve[TRANSPORT_KEY_LEN];
    char id[MESH_ID_TEXT_LEN + 1];
    char addrs[512];       /* every known address, space-separated ("" if none) */
    char addr[256];        /* the one dialled, "" if none */
    size_t addr_i;         /* its place among addrs */
    int64_t redial_after;  /* no session this long after dialling: dial the next one */
    uint32_t conn_out;     /* our DEALER to it, or S_NO_CONN */
    uint32_t conn_in;      /* the inbound connection it last spoke on, or S_NO_CONN */
    bool hello_out;        /* our HELLO went out on conn_out since it last went silent */
    bool ok;               /* it said HELLO with a major version we speak */
    bool refused;          /* it speaks a major version we do not: do not push */
    int64_t refused_ms;    /* when that was said (HELLO is tried again after a while) */
    bool connected;        /* heard from within LOOP_DEAD_MS */
    uint64_t peer_session; /* the session id of its last HELLO: new when it restarted */
    uint64_t credit;       /* batches it takes in flight (its HELLO) */
    /* What it holds, as far as we know: its vector file (the "view"). */
    uint8_t *vv;
    size_t vv_len;
    wire_doc_t vv_doc;
    uint8_t *hello_vv; /* our vector file as sent in our last HELLO on conn_out */
    size_t hello_vv_len;
    uint8_t hello_summary[WIRE_SUMMARY_LEN]; /* and its summary */
    /* Sending: a pass walks what the view lacks in batches, credit of them in flight. */
    bool passing;          /* a pass is under way */
    bool pass_end;         /* it has sent its last batch */
    bool again;            /* something changed: another pass once this one is done */
    bool asked;            /* we asked for its vector: no pass until it comes */
    bundle_pos_t pos;      /* where the pass stopped */
    uint64_t pass_batches; /* batches sent in this pass */
    uint64_t sent_id;      /* the last batch id sent (ids rise by one) */
    uint32_t batch_conn;   /* the link the batches in flight went on (see s_push) */
    uint32_t sent_conn;    /* the link of the last message s_send sent */
    uint64_t acked_id;     /* the highest id acknowledged (or given up on) */
    uint8_t ack_summary[WIRE_SUMMARY_LEN]; /* its summary in its last ACK */
    int64_t progress_ms;                   /* last batch sent, ack or question */
    /* Receiving. */
    bool recv_failed; /* a batch of it failed in the commit under way: none is acknowledged */
    int64_t heard_ms, sent_ms, seen_ms, summary_ms;
    int64_t hello_ms;     /* when our HELLO went out on conn_out */
    int64_t nosession_ms; /* when we last told it to say HELLO first */
    int64_t dial_ms;      /* when we dialled it or it went silent: its link comes up soon */
    uint64_t batches_out, batches_in, bytes_out, bytes_in, ops_in;
    uint64_t versions_out;                    /* versions sent in batches */
    uint64_t batch_bytes_out, batch_bytes_in; /* bundle bytes of the batches each way */
    time_t seen_unix; /* when it was last heard from (wall clock), 0: never */
} s_session_t;

struct loop {
    mesh_t *m;
    pthread_t thread;
    int stop;
    transport_t *t;
    inbox_t *inbox; /* received batches not yet committed (checked meanwhile) */
    char listen[256];
    s_session_t sess[LOOP_SESSIONS_MAX];
    size_t nsess;
    uint64_t members_gen;
    uint64_t last_txnid;
    int64_t status_ms;
    uint64_t refused; /* transport refusals already logged */
    uint64_t major;   /* the protocol major version we announce (§11.1) */
    uint64_t session; /* random, per start: peers tell a restart from a second HELLO */
    wire_buf_t buf, body;
    /* our own vector file and summary, as of own_txnid */
    uint8_t *own;
    size_t own_len;
    wire_doc_t own_doc;
    uint8_t own_summary[WIRE_SUMMARY_LEN];
    uint64_t own_txnid;
    bool own_valid;
    int64_t flush_ms;         /* when the last commit of received batches ended */
    uint64_t ops_unreleased;  /* ops applied since the store last gave memory back */
    uint64_t sent_unreleased; /* batch bytes sent since the heap was last given back */
    int64_t sent_ms;          /* when the last batch went out */
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

/* Address i of a space-separated list into out; false when there is no such address (or
 * it does not fit). */
static bool
s_addr_at(const char *addrs, size_t i, char *out, size_t cap)
{
    const char *p = addrs;
    for (;;) {
        p += strspn(p, " ");
        size_t n = strcspn(p, " ");
        if (n == 0) {
            return false;
        }
        if (i-- == 0) {
            if (n >= cap) {
                return false;
            }
            memcpy(out, p, n);
            out[n] = '\0';
            return true;
        }
        p += n;
    }
}

/* Hang up our link to s, if any, and dial s->addr (none when it is ""). */
static void
s_connect(loop_t *l, s_session_t *s)
{
    if (s->conn_out != S_NO_CONN) {
        transport_disconnect(l->t, s->conn_out);
        s->conn_out = S_NO_CONN;
        s->hello_out = false;
    }
    s->dial_ms = s_now_ms();
    if (!s->addr[0]) {
        return;
    }
    if (transport_connect(l->t, s->curve, s->addr, &s->conn_out) != MESH_OK) {
        node_log(l->m, MESH_LOG_WARN, "cannot dial %s at %s: %s", s->id, s->addr,
                 transport_errmsg(l->t));
        s->conn_out = S_NO_CONN;
    }
}

/* Follow a member's known addresses: when they change, keep the link to the address
 * dialled if it is still among them, else dial the first. (s_tick dials the next, in turn,
 * while none gives a session.) */
static void
s_dial(loop_t *l, s_session_t *s, const char *addrs)
{
    char a[sizeof s->addr];
    if (strlen(addrs) >= sizeof s->addrs || strcmp(s->addrs, addrs) == 0) {
        return;
    }
    memcpy(s->addrs, addrs, strlen(addrs) + 1);
    for (size_t i = 0; s->addr[0] && s_addr_at(s->addrs, i, a, sizeof a); i++) {
        if (strcmp(a, s->addr) == 0) {
            s->addr_i = i; /* still known: a link that works is not hung up */
            return;
        }
    }
    s->addr_i = 0;
    s->redial_after = LOOP_REDIAL_MIN_MS;
    if (!s_addr_at(s->addrs, 0, s->addr, sizeof s->addr)) {
        s->addr[0] = '\0';
    }
    s_connect(l, s);
}

/* No session came of our link for a while (the peer was down, refused us before it knew
 * us, or the link died without a word): dial its next known address, or the same one
 * again, waiting twice as long each time up to LOOP_REDIAL_MAX_MS. */
static void
s_redial(loop_t *l, s_session_t *s)
{
    s->addr_i++;
    if (!s_addr_at(s->addrs, s->addr_i, s->addr, sizeof s->addr)) {
        s->addr_i = 0;
        if (!s_addr_at(s->addrs, 0, s->addr, sizeof s->addr)) {
            return;
        }
    }
    node_log(l->m, MESH_LOG_DEBUG, "no session with %s yet: dialling %s", s->id, s->addr);
    s_connect(l, s);
    s->redial_after =
        s->redial_after * 2 > LOOP_REDIAL_MAX_MS ? LOOP_REDIAL_MAX_MS : s->redial_after * 2;
}

/* Follow membership: a session for every member, a connection to every known address. */
static void
s_refresh_members(loop_t *l)
{
    mesh_peer_t *peers = NULL;
    size_t n = 0;
    uint64_t gen = member_generation(l->m);
    if (gen == l->members_gen || mesh_peers(l->m, &peers, &n) != MESH_OK) {
        return;
    }
    l->members_gen = gen;
    for (size_t i = 0; i < n; i++) {
        uint8_t pk[WIRE_ORIGIN_LEN], curve[TRANSPORT_KEY_LEN];
        if (peers[i].self || devid_parse(peers[i].id, pk) != MESH_OK ||
            ident_curve_public(pk, curve) != MESH_OK) {
            continue;
        }
        s_session_t *s = s_by_curve(l, curve);
        if (!s && l->nsess == LOOP_SESSIONS_MAX) {
            node_log(l->m, MESH_LOG_WARN, "%s is a member, but this daemon syncs with %u at most",
                     peers[i].id, LOOP_SESSIONS_MAX);
        }
        if (!s && l->nsess < LOOP_SESSIONS_MAX) {
            s = &l->sess[l->nsess++];
            memset(s, 0, sizeof *s);
            memcpy(s->device, pk, sizeof pk);
            memcpy(s->curve, curve, sizeof curve);
            memcpy(s->id, peers[i].id, sizeof s->id);
            s->conn_out = s->conn_in = s->batch_conn = s->sent_conn = S_NO_CONN;
        }
        if (s) {
            s_dial(l, s, peers[i].addrs);
        }
    }
    mesh_free(peers);
}

/* ---- our own vector ---- */

/* Our vector file, decoded, and its summary, fresh as of the store's last transaction. */
static mesh_err_t
s_own(loop_t *l)
{
    uint64_t txnid = store_last_txnid(l->m->store);
    if (l->own_valid && txnid == l->own_txnid) {
        return MESH_OK;
    }
    void *vv = NULL;
    size_t len = 0;
    wire_doc_t doc;
    mesh_err_t err = mesh_vector(l->m, NULL, 0, &vv, &len);
    if (err == MESH_OK) {
        err = wire_doc_decode(vv, len, true, &doc);
    }
    if (err != MESH_OK) {
        mesh_free(vv);
        return err;
    }
    wire_doc_release(&l->own_doc);
    mesh_free(l->own);
    l->own = vv;
    l->own_len = len;
    l->own_doc = doc;
    l->own_txnid = txnid;
    l->own_valid = bundle_summary(l->m, &l->own_doc, l->own_summary) == MESH_OK;
    return l->own_valid ? MESH_OK : MESH_EIO;
}

/* Keep a copy of a peer's vector file as its view; *changed says whether it differs. */
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
        if (err == MESH_OK) {
            s->bytes_out += l->buf.len;
            s->sent_ms = s_now_ms();
            s->sent_conn = conns[i];
        }
    }
    return err;
}

/* Send our vector file (want: ask for the peer's in return). */
static mesh_err_t
s_send_vector(loop_t *l, s_session_t *s, bool want)
{
    mesh_err_t err = s_own(l);
    if (err == MESH_OK) {
        wire_msg_t vec = {
            .type = WIRE_MSG_VECTOR, .num = want, .body = l->own, .body_len = l->own_len};
        err = s_send(l, s, &vec, S_NO_CONN);
    }
    return err;
}

/* HELLO on conn, with our vector file when with_vector (the dialling side always sends
 * it; the answering side only when the peer's vector lacks something we hold, and else
 * names the summary of the peer's vector it covers in covers). */
static mesh_err_t
s_send_hello(loop_t *l, s_session_t *s, uint32_t conn, bool with_vector, const uint8_t *covers)
{
    const char *name = mesh_device_name(l->m);
    mesh_err_t err = s_own(l);
    if (err != MESH_OK) {
        return err;
    }
    wire_msg_t hello = {.type = WIRE_MSG_HELLO,
                        .major = l->major,
                        .minor = WIRE_PROTO_MINOR,
                        .name = name,
                        .name_len = strlen(name),
                        .num = l->session,
                        .credit = LOOP_CREDIT,
                        .summary = l->own_summary,
                        .covers = with_vector ? NULL : covers,
                        .body = with_vector ? l->own : NULL,
                        .body_len = with_vector ? l->own_len : 0};
    err = s_send(l, s, &hello, conn);
    if (err == MESH_OK && testhook_number(TESTHOOK_GARBAGE, 0) == 1) {
        /* test hook: 0xc1 is never valid msgpack */
        static const uint8_t junk[] = {0xc1, 'j', 'u', 'n', 'k'};
        if (transport_send(l->t, conn, junk, sizeof junk) != MESH_OK) {
            node_log(l->m, MESH_LOG_DEBUG, "test hook: the junk frame did not go out");
        }
    }
    if (err == MESH_OK && with_vector && conn == s->conn_out) {
        uint8_t *copy = malloc(l->own_len ? l->own_len : 1);
        if (copy) {
            memcpy(copy, l->own, l->own_len);
            free(s->hello_vv);
            s->hello_vv = copy;
            s->hello_vv_len = l->own_len;
            memcpy(s->hello_summary, l->own_summary, WIRE_SUMMARY_LEN);
        }
    }
    return err;
}

/* Test hook (TESTHOOK_TAMPER, PROTOCOL.md §11.2): act as a relay that alters one op on
 * the wire, flipping a bit of the first occurrence of text in the batch. */
static void
s_tamper(loop_t *l, wire_buf_t *b, const char *text)
{
    size_t n = strlen(text);
    for (size_t i = 0; n && i + n <= b->len; i++) {
        if (memcmp(b->data + i, text, n) == 0) {
            b->data[i] ^= 1;
            node_log(l->m, MESH_LOG_WARN, "test hook: tampered with an outgoing batch");
            return;
        }
    }
}

/* Forget what is in flight: the next pass starts from the view (sending twice is safe). */
static void
s_reset_sending(s_session_t *s)
{
    s->passing = false;
    s->asked = false;
    s->acked_id = s->sent_id;
    s->again = true;
}

/* The pass sent everything and all of it was acknowledged. When the peer's summary now
 * equals ours, it holds what we hold: our vector is its view. Otherwise ask for its vector
 * before another pass (the view is older than what it applied). */
static void
s_pass_done(loop_t *l, s_session_t *s)
{
    bool changed = false;
    s->passing = false;
    if (s->pass_batches == 0) {
        return; /* nothing went: the view is as good as before */
    }
    if (s_own(l) == MESH_OK && memcmp(s->ack_summary, l->own_summary, WIRE_SUMMARY_LEN) == 0) {
        node_log(l->m, MESH_LOG_DEBUG, "pass to %s done: it holds what we hold", s->id);
        (void)s_take_vector(s, l->own, l->own_len, &changed);
        return;
    }
    node_log(l->m, MESH_LOG_DEBUG, "pass to %s done: asking for its vector", s->id);
    if (s_send_vector(l, s, true) == MESH_OK) {
        s->asked = true;
        s->progress_ms = s_now_ms();
    }
}

/* Send what the view lacks: start a pass when there is reason to, then batches while the
 * peer's credit lasts (a few per turn, so that receiving goes on). */
static void
s_push(loop_t *l, s_session_t *s)
{
    if (!s->ok || s->refused || !s->vv) {
        return;
    }
    if (!s->passing) {
        if (!s->again || s->asked) {
            return;
        }
        s->passing = true;
        s->pass_end = false;
        s->again = false;
        s->pass_batches = 0;
        memset(&s->pos, 0, sizeof s->pos);
    }
    /* While batches are in flight, the next ones go on the same link: on the other one
     * they could overtake them, and the peer would hold ops above a gap (its vector's
     * extras, which are capped) until the rest came. When that link is gone, those in
     * flight may be lost: the pass starts again from the view. */
    uint32_t only = S_NO_CONN;
    if (s->sent_id > s->acked_id && s->batch_conn != S_NO_CONN) {
        if (s->batch_conn != s->conn_in && s->batch_conn != s->conn_out) {
            node_log(l->m, MESH_LOG_DEBUG, "the link of the batches to %s went: sending again",
                     s->id);
            s->batch_conn = S_NO_CONN;
            s_reset_sending(s);
            return;
        }
        only = s->batch_conn;
    }
    for (int k = 0; k < S_PUSH_BURST && !s->pass_end && s->sent_id - s->acked_id < s->credit; k++) {
        bool more = false;
        size_t pieces = 0;
        bundle_pos_t pos = s->pos;
        wire_buf_reset(&l->body);
        mesh_err_t err = bundle_export(l->m, NULL, 0, &s->vv_doc, LOOP_BATCH_BYTES, &s->pos,
                                       &l->body, &more, &pieces);
        if (err != MESH_OK) {
            s->pos = pos;
            break;
        }
        if (pieces == 0) {
            node_log(l->m, MESH_LOG_DEBUG, "pass to %s: nothing (more) to send", s->id);
            s->pass_end = true;
            break;
        }
        const char *tamper = testhook_text(TESTHOOK_TAMPER);
        if (tamper) {
            s_tamper(l, &l->body, tamper);
        }
        wire_msg_t batch = {.type = WIRE_MSG_BATCH,
                            .num = s->sent_id + 1,
                            .body = l->body.data,
                            .body_len = l->body.len,
                            .more = more};
        if (s_send(l, s, &batch, only) != MESH_OK) {
            s->pos = pos; /* the link is busy or down: the same batch next turn */
            break;
        }
        s->batch_conn = only = s->sent_conn;
        s->sent_id++;
        s->pass_batches++;
        s->batches_out++;
        s->versions_out += s->pos.versions - pos.versions;
        s->batch_bytes_out += l->body.len;
        s->progress_ms = l->sent_ms = s_now_ms();
        l->sent_unreleased += l->body.len;
        s->pass_end = !more;
        node_log(l->m, MESH_LOG_DEBUG, "sent batch %llu (%zu bytes) to %s on %s link %u",
                 (unsigned long long)s->sent_id, l->body.len, s->id,
                 s->batch_conn & TRANSPORT_INBOUND ? "its" : "our",
                 (unsigned)(s->batch_conn & ~TRANSPORT_INBOUND));
    }
    if (s->pass_end && s->sent_id == s->acked_id) {
        s_pass_done(l, s);
    }
}

/* Could s_push send more right now? (Then the loop does not sleep.) */
static bool
s_can_push(const s_session_t *s)
{
    return s->ok && !s->refused && s->passing && !s->pass_end &&
           s->sent_id - s->acked_id < s->credit;
}

/* ---- receiving ---- */

/* Drop the session after a protocol error, with the reason in the log; the node goes on
 * serving everyone else, and the peer may start again with a HELLO. */
static void
s_drop(loop_t *l, s_session_t *s, const char *why)
{
    node_log(l->m, MESH_LOG_WARN, "dropping the session with %s: %s", s->id, why);
    s->ok = false;
    s_reset_sending(s);
    if (s->conn_in != S_NO_CONN) {
        transport_disconnect(l->t, s->conn_in);
        s->conn_in = S_NO_CONN;
    }
}

static void
s_on_hello(loop_t *l, s_session_t *s, const wire_msg_t *msg, uint32_t conn)
{
    bool changed = false;
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
        s->refused_ms = s_now_ms();
        s->ok = false;
        return;
    }
    /* A HELLO that starts the session again forgets what was in flight: it goes anew from
     * the view (so an interrupted sync resumes from what the receiver holds). A second
     * HELLO, on the other link of a session already up, changes nothing of that. */
    bool restarted = msg->num != s->peer_session;
    if (!s->ok || restarted) {
        s_reset_sending(s);
        /* its first summary and ping are due a while from now, not at once */
        s->summary_ms = s->sent_ms = s_now_ms();
    }
    s->peer_session = msg->num;
    s->credit = msg->credit;
    s->ok = true;
    s->refused = false;
    s->redial_after = LOOP_REDIAL_MIN_MS;
    /* The view: its vector when it sent one; ours when the summaries agree; what we sent
     * in our last HELLO when this answers that very one (by its summary) without a vector:
     * it holds all of that. Otherwise we ask for its vector. */
    mesh_err_t err = s_own(l);
    if (err == MESH_OK && msg->body_len) {
        err = s_take_vector(s, msg->body, msg->body_len, &changed);
        if (err != MESH_OK) {
            s_drop(l, s, "a HELLO whose vector does not decode");
            return;
        }
    } else if (err == MESH_OK && memcmp(msg->summary, l->own_summary, WIRE_SUMMARY_LEN) == 0) {
        err = s_take_vector(s, l->own, l->own_len, &changed);
    } else if (err == MESH_OK && !(conn & TRANSPORT_INBOUND) && s->hello_vv && msg->covers &&
               memcmp(msg->covers, s->hello_summary, WIRE_SUMMARY_LEN) == 0) {
        err = s_take_vector(s, s->hello_vv, s->hello_vv_len, &changed);
    } else if (err == MESH_OK && s_send_vector(l, s, true) == MESH_OK) {
        s->asked = true;
        s->progress_ms = s_now_ms();
    }
    s->again = true;
    if (restarted && s->conn_out != S_NO_CONN && (conn & TRANSPORT_INBOUND)) {
        /* Our HELLO on our own link, ahead of any batch we send on it: the peer, new,
         * takes batches only after a HELLO. */
        s->hello_out = s_send_hello(l, s, s->conn_out, true, NULL) == MESH_OK;
    }
    if (conn & TRANSPORT_INBOUND) {
        /* The answer: our vector only when its vector lacks something we hold. */
        bool covers =
            msg->body_len && s->vv && l->own_valid && bundle_vector_covers(&l->own_doc, &s->vv_doc);
        (void)s_send_hello(l, s, conn, !covers, msg->summary);
    }
    node_log(l->m, MESH_LOG_INFO, "session with %s (%.*s) up", s->id, (int)msg->name_len,
             msg->name);
    node_log(l->m, MESH_LOG_DEBUG, "HELLO from %s on %s link: %s%s", s->id,
             conn & TRANSPORT_INBOUND ? "its" : "our",
             msg->body_len ? "with its vector"
             : msg->covers ? "covers ours"
                           : "no vector",
             s->asked ? "; asked for its vector" : "");
}

/* Import the oldest n queued batches in one go, with their checks. When they do not
 * decode or apply as a whole, each goes alone: a session whose batch does not is dropped,
 * and marked failed so that none of its batches is acknowledged (they come again). */
static mesh_err_t
s_import(loop_t *l, size_t n)
{
    mesh_import_report_t rep;
    const uint8_t *bundles[LOOP_QUEUE_BATCHES];
    size_t lens[LOOP_QUEUE_BATCHES];
    const bundle_checked_t *checked[LOOP_QUEUE_BATCHES];
    const inbox_batch_t *first = inbox_at(l->inbox, 0), *last = inbox_at(l->inbox, n - 1);
    s_session_t *s0 = first->from;
    int64_t t0 = s_now_ms();
    for (size_t i = 0; i < n; i++) {
        bundles[i] = inbox_at(l->inbox, i)->data;
        lens[i] = inbox_at(l->inbox, i)->len;
        checked[i] = inbox_checked(l->inbox, i);
    }
    mesh_err_t err = bundle_import_many(l->m, bundles, lens, checked, n, &rep);
    if (err == MESH_OK) {
        if (rep.text) {
            node_log(l->m, MESH_LOG_WARN, "batches from %s: %s", s0->id, rep.text);
        }
        node_log(l->m, MESH_LOG_DEBUG,
                 "applied batches %llu..%llu from %s: %llu sets, %llu ops stored (%lld ms, the "
                 "last commit %llu ms)",
                 (unsigned long long)first->id, (unsigned long long)last->id, s0->id,
                 (unsigned long long)(rep.sets_new + rep.sets_known),
                 (unsigned long long)rep.ops_stored, (long long)(s_now_ms() - t0),
                 (unsigned long long)(store_last_commit_us(l->m->store) / 1000));
        s0->ops_in += rep.ops_stored;
        l->ops_unreleased += rep.ops_stored;
        mesh_free(rep.text);
        return MESH_OK;
    }
    if (err != MESH_EPROTO && err != MESH_ETOOBIG) {
        node_log(l->m, MESH_LOG_ERROR, "applying %zu batch(es) failed: %s", n, mesh_strerror(err));
        return err;
    }
    node_log(l->m, MESH_LOG_DEBUG, "batches %llu..%llu do not apply together (%s): one at a time",
             (unsigned long long)first->id, (unsigned long long)last->id, mesh_strerror(err));
    for (size_t i = 0; i < n; i++) {
        s_session_t *s = inbox_at(l->inbox, i)->from;
        if (s->recv_failed) {
            continue; /* dropped already */
        }
        err = bundle_import_many(l->m, &bundles[i], &lens[i], &checked[i], 1, &rep);
        if (err == MESH_EPROTO || err == MESH_ETOOBIG) {
            char why[320];
            snprintf(why, sizeof why, "a batch that does not decode or apply (%s: %s)",
                     mesh_strerror(err), mesh_errmsg(l->m));
            s_drop(l, s, why);
        } else if (err != MESH_OK) {
            node_log(l->m, MESH_LOG_ERROR, "applying a batch from %s failed: %s", s->id,
                     mesh_strerror(err));
        }
        if (err == MESH_OK) {
            mesh_free(rep.text);
        } else {
            s->recv_failed = true;
        }
    }
    return MESH_OK;
}

/* Commit the oldest queued batches, a group of them (inbox_group), in one write
 * transaction, and acknowledge each session's last among them. The batches queued behind
 * them stay queued (and are checked meanwhile), but those of a session that failed, which
 * come again (as does everything after a store error). */
static void
s_flush_group(loop_t *l)
{
    size_t n = inbox_group(l->inbox), queued = inbox_count(l->inbox);
    if (n == 0) {
        return;
    }
    for (size_t i = 0; i < queued; i++) {
        s_session_t *s = inbox_at(l->inbox, i)->from;
        s->recv_failed = false;
    }
    mesh_err_t err = s_import(l, n);
    for (size_t i = 0; i < n; i++) {
        const inbox_batch_t *b = inbox_at(l->inbox, i);
        s_session_t *s = b->from;
        s->batches_in++;
        bool ok = err == MESH_OK && !s->recv_failed;
        if (ok && s->vv) {
            /* it holds what it sent: no need to send any of that back */
            bool changed = false;
            wire_buf_reset(&l->body);
            if (bundle_vector_raise(&s->vv_doc, b->data, b->len, &l->body) == MESH_OK) {
                (void)s_take_vector(s, l->body.data, l->body.len, &changed);
            }
        }
        bool last = true; /* of its session among those committed */
        for (size_t j = i + 1; j < n && last; j++) {
            last = inbox_at(l->inbox, j)->from != s;
        }
        if (ok && last && s_own(l) == MESH_OK) {
            /* (after a failure nothing is acknowledged: it comes again) */
            wire_msg_t ack = {.type = WIRE_MSG_ACK,
                              .num = b->id,
                              .body = l->own_summary,
                              .body_len = WIRE_SUMMARY_LEN};
            (void)s_send(l, s, &ack, S_NO_CONN);
        }
    }
    s_session_t *failed[LOOP_QUEUE_BATCHES];
    size_t nfailed = 0;
    for (size_t i = 0; i < n; i++) {
        s_session_t *s = inbox_at(l->inbox, i)->from;
        if (s->recv_failed) {
            failed[nfailed++] = s; /* (twice is no harm: forgetting is idempotent) */
        }
    }
    inbox_shift(l->inbox, err == MESH_OK ? n : inbox_count(l->inbox), s_now_ms());
    for (size_t i = 0; i < nfailed; i++) {
        inbox_forget(l->inbox, failed[i]); /* not acknowledged: they come again */
    }
    uint64_t pause_ms = testhook_number(TESTHOOK_COMMIT_PAUSE_MS, 0); /* at most 10 s */
    if (pause_ms > 0) {
        pause_ms = pause_ms > 10000 ? 10000 : pause_ms;
        struct timespec rest = {(time_t)(pause_ms / 1000), (long)(pause_ms % 1000) * 1000000};
        nanosleep(&rest, NULL);
    }
    l->flush_ms = s_now_ms();
}

/* Commit every queued batch, a group at a time. */
static void
s_flush(loop_t *l)
{
    while (inbox_count(l->inbox)) {
        s_flush_group(l);
    }
}

/* After a large apply, once quiet for a while, give back the memory it left (LMDB's pages
 * of the large write transactions, then the allocator's free pages: the daemon keeps its
 * heap meanwhile, see cmd_daemon.c); after large sends, the allocator's free pages (the
 * batches libzmq queued for a slower receiver). */
static void
s_release_memory(loop_t *l, int64_t now)
{
    bool quiet = !inbox_count(l->inbox) && now - l->flush_ms >= LOOP_RELEASE_MS &&
                 now - l->sent_ms >= LOOP_RELEASE_MS;
    if (!quiet) {
        return;
    }
    if (l->ops_unreleased >= LOOP_RELEASE_OPS && store_release_memory(l->m->store)) {
        node_log(l->m, MESH_LOG_DEBUG, "gave back the memory of %llu ops applied",
                 (unsigned long long)l->ops_unreleased);
        l->ops_unreleased = 0;
        l->own_valid = false;
        l->sent_unreleased = LOOP_RELEASE_SENT; /* and the heap, below */
    }
    if (l->sent_unreleased >= LOOP_RELEASE_SENT) {
#ifdef __GLIBC__
        (void)malloc_trim(0);
#endif
        l->sent_unreleased = 0;
    }
}

/* Queue a batch for a later commit (inbox_due); its sets are checked meanwhile. A full
 * queue commits a group first. */
static void
s_on_batch(loop_t *l, s_session_t *s, const wire_msg_t *msg)
{
    if (inbox_full(l->inbox)) {
        s_flush_group(l);
    }
    if (inbox_add(l->inbox, s, msg->num, msg->body, msg->body_len, msg->more, s_now_ms()) !=
        MESH_OK) {
        node_log(l->m, MESH_LOG_ERROR, "no memory for a batch from %s", s->id);
        return; /* not acknowledged: it comes again */
    }
    s->batch_bytes_in += msg->body_len;
}

static void
s_on_ack(loop_t *l, s_session_t *s, const wire_msg_t *msg)
{
    if (msg->num <= s->acked_id || msg->num > s->sent_id) {
        return; /* of batches given up on, or of an earlier start of ours */
    }
    s->acked_id = msg->num;
    s->progress_ms = s_now_ms();
    node_log(l->m, MESH_LOG_DEBUG, "%s acknowledged batch %llu", s->id,
             (unsigned long long)msg->num);
    memcpy(s->ack_summary, msg->body, WIRE_SUMMARY_LEN);
    if (s->passing && s->pass_end && s->acked_id == s->sent_id) {
        s_pass_done(l, s);
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
    if ((tm->conn & TRANSPORT_INBOUND) && tm->conn != s->conn_in) {
        if (s->conn_in != S_NO_CONN) {
            transport_disconnect(l->t, s->conn_in); /* it reconnected: the old one is gone */
        }
        s->conn_in = tm->conn;
    }
    s->bytes_in += tm->len;
    s->heard_ms = s_now_ms();
    s->seen_unix = time(NULL);
    s->connected = true;
    if (wire_msg_decode(tm->data, tm->len, &msg) != MESH_OK) {
        s_flush(l);
        s_drop(l, s, "a malformed frame");
        return;
    }
    if (msg.type == WIRE_MSG_HELLO || msg.type == WIRE_MSG_ERROR) {
        /* what came before is committed before a session starts again or ends; nothing
         * else waits for queued batches (a VECTOR speaks of the peer's holdings, not ours;
         * a SUMMARY is not compared while batches are queued) */
        s_flush(l);
    }
    /* Before HELLO only a vector is kept (frames of one session may come over two links,
     * so the peer's VECTOR can overtake its HELLO); a batch waits to be sent again. A peer
     * that goes on as if a session were up (we restarted, and its link reconnected without
     * it noticing) is told to say HELLO again, at most once a second. */
    if (msg.type != WIRE_MSG_HELLO && msg.type != WIRE_MSG_ERROR && msg.type != WIRE_MSG_VECTOR &&
        !s->ok) {
        if (!s->refused && s->heard_ms - s->nosession_ms >= 1000) {
            static const char text[] = "no session: say HELLO first";
            wire_msg_t no = {.type = WIRE_MSG_ERROR,
                             .num = MESH_ENOTFOUND,
                             .body = (const uint8_t *)text,
                             .body_len = sizeof text - 1};
            s->nosession_ms = s->heard_ms;
            (void)s_send(l, s, &no, tm->conn);
        }
        return;
    }
    switch (msg.type) {
    case WIRE_MSG_HELLO:
        s_on_hello(l, s, &msg, tm->conn);
        break;
    case WIRE_MSG_VECTOR:
        node_log(l->m, MESH_LOG_DEBUG, "vector from %s%s", s->id,
                 msg.num == 1 ? " (answer wanted)" : "");
        if (s_take_vector(s, msg.body, msg.body_len, &changed) != MESH_OK) {
            s_drop(l, s, "a vector that does not decode");
            break;
        }
        s->again |= changed || s->asked;
        s->asked = false;
        if (msg.num == 1) {
            (void)s_send_vector(l, s, false);
        }
        break;
    case WIRE_MSG_SUMMARY:
        /* it differs from ours: say what we hold, so that it sends what we lack (while
         * received batches are queued, what we hold is about to change: the next SUMMARY,
         * 5 s later, is compared instead, and a pass ends with a check of its own) */
        if (!inbox_count(l->inbox) && s_own(l) == MESH_OK &&
            memcmp(msg.body, l->own_summary, WIRE_SUMMARY_LEN) != 0) {
            (void)s_send_vector(l, s, false);
            s->again = true; /* and look again at what it may lack (cheap when nothing) */
        }
        break;
    case WIRE_MSG_ACK:
        s_on_ack(l, s, &msg);
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
        if (msg.num == MESH_ENOTFOUND) {
            /* it restarted and does not know us yet: start the session again */
            node_log(l->m, MESH_LOG_INFO, "%s has no session with us: saying HELLO again", s->id);
            s->ok = false;
            s->hello_out = false;
            s_reset_sending(s);
            break;
        }
        node_log(l->m, MESH_LOG_WARN, "%s refused the session: %.*s", s->id, (int)msg.body_len,
                 (const char *)msg.body);
        s->refused = true;
        s->refused_ms = s_now_ms();
        s->ok = false;
        break;
    default:
        break; /* PONG: being heard is all it is for; block messages: not yet */
    }
    if (s->ok) {
        s_push(l, s);
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
            s->dial_ms = now;
            s_reset_sending(s);
        }
        if (s->refused && now - s->refused_ms >= LOOP_REFUSED_RETRY_MS) {
            s->refused = false; /* it may have been upgraded since: say HELLO again */
            s->hello_out = false;
        }
        if (s->addr[0] && !s->ok && !s->refused && now - s->dial_ms >= s->redial_after) {
            s_redial(l, s);
        }
        if (s->conn_out != S_NO_CONN && s->hello_out && !s->ok && !s->refused &&
            now - s->hello_ms > LOOP_HELLO_RETRY_MS) {
            s->hello_out = false; /* unanswered (refused before it became a member?): again */
        }
        if (s->conn_out != S_NO_CONN && !s->hello_out && !s->refused) {
            s->hello_out = s_send_hello(l, s, s->conn_out, true, NULL) == MESH_OK;
            s->hello_ms = now;
        } else if (s->connected && now - s->sent_ms >= LOOP_PING_MS) {
            /* nothing else went to it for a while: a ping keeps it hearing from us */
            wire_msg_t ping = {.type = WIRE_MSG_PING, .num = (uint64_t)now};
            (void)s_send(l, s, &ping, S_NO_CONN);
        }
        if (s->connected) {
            s->seen_ms = now;
        }
        if (s->ok && now - s->summary_ms >= S_SUMMARY_MS && s_own(l) == MESH_OK) {
            wire_msg_t sum = {
                .type = WIRE_MSG_SUMMARY, .body = l->own_summary, .body_len = WIRE_SUMMARY_LEN};
            s->summary_ms = now;
            (void)s_send(l, s, &sum, S_NO_CONN);
        }
        if (((s->passing && s->sent_id != s->acked_id) || s->asked) &&
            now - s->progress_ms > S_RESEND_MS) {
            /* lost with a link that broke, or dropped by a peer not yet past HELLO:
             * applying twice changes nothing, so send what it lacks again */
            node_log(l->m, MESH_LOG_INFO, "batches to %s unacknowledged: sending again", s->id);
            s_reset_sending(s);
        }
    }
}

/* "N" bytes, estimated from the bytes per version seen so far that way, or "-". */
static const char *
s_estimate(char *buf, size_t len, uint64_t versions, uint64_t bytes, uint64_t seen_versions)
{
    if (versions == 0) {
        snprintf(buf, len, "0");
    } else if (seen_versions == 0) {
        snprintf(buf, len, "-");
    } else {
        snprintf(buf, len, "%llu",
                 (unsigned long long)((double)versions * (double)bytes / (double)seen_versions));
    }
    return buf;
}

/* Write HOME/status (to a temporary file, then renamed) for meshctl status and wait: one
 * "key value" line for the node, one line of key=value fields per peer, and one per
 * collection and connected peer (PROTOCOL.md §11.4). */
static void
s_status_write(loop_t *l, int64_t now)
{
    char path[4200], tmp[4300], b1[32], b2[32];
    snprintf(path, sizeof path, "%s/status", l->m->home);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f) {
        return;
    }
    bool own = s_own(l) == MESH_OK;
    fprintf(f, "device %s\npid %ld\nlisten %s\nupdated_ms %lld\n", l->m->id_text, (long)getpid(),
            l->listen[0] ? l->listen : "-", (long long)now);
    for (size_t i = 0; i < l->nsess; i++) {
        s_session_t *s = &l->sess[i];
        bundle_count_t *counts = NULL;
        size_t n = 0;
        uint64_t to_send = 0, to_receive = 0;
        if (s->ok && s->vv && own &&
            bundle_count_diff(l->m, &l->own_doc, &s->vv_doc, &counts, &n) != MESH_OK) {
            n = 0;
        }
        for (size_t c = 0; c < n; c++) {
            to_send += counts[c].to_send;
            to_receive += counts[c].to_receive;
        }
        bool busy = s->passing || s->asked || s->sent_id != s->acked_id;
        bool in_sync = s->ok && !busy && to_send == 0 && to_receive == 0;
        fprintf(f,
                "peer %s addr=%s connected=%d session=%d refused=%d silent_ms=%lld seen=%lld "
                "to_send=%llu to_receive=%llu bytes_to_send=%s bytes_to_receive=%s "
                "in_flight=%llu batches_out=%llu batches_in=%llu bytes_out=%llu bytes_in=%llu "
                "in_sync=%d\n",
                s->id, s->addr[0] ? s->addr : "-", s->connected, s->ok, s->refused,
                (long long)(s->heard_ms ? now - s->heard_ms : -1), (long long)s->seen_unix,
                (unsigned long long)to_send, (unsigned long long)to_receive,
                s_estimate(b1, sizeof b1, to_send, s->batch_bytes_out, s->versions_out),
                s_estimate(b2, sizeof b2, to_receive, s->batch_bytes_in, s->ops_in),
                (unsigned long long)(s->sent_id - s->acked_id), (unsigned long long)s->batches_out,
                (unsigned long long)s->batches_in, (unsigned long long)s->bytes_out,
                (unsigned long long)s->bytes_in, in_sync);
        for (size_t c = 0; c < n; c++) {
            fprintf(
                f,
                "coll %s peer=%s to_send=%llu to_receive=%llu bytes_to_send=%s "
                "bytes_to_receive=%s in_sync=%d\n",
                counts[c].coll, s->id, (unsigned long long)counts[c].to_send,
                (unsigned long long)counts[c].to_receive,
                s_estimate(b1, sizeof b1, counts[c].to_send, s->batch_bytes_out, s->versions_out),
                s_estimate(b2, sizeof b2, counts[c].to_receive, s->batch_bytes_in, s->ops_in),
                !busy && counts[c].to_send == 0 && counts[c].to_receive == 0);
        }
        free(counts);
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
    bool busy = false, quick = false;
    while (!__atomic_load_n(&l->stop, __ATOMIC_ACQUIRE)) {
        s_refresh_members(l);
        int64_t now = s_now_ms();
        for (size_t i = 0; i < l->nsess; i++) {
            /* a link that comes up any moment: say HELLO as soon as it does */
            const s_session_t *s = &l->sess[i];
            quick |= s->conn_out != S_NO_CONN && !s->hello_out && now - s->dial_ms < 3000;
        }
        /* Sleep only when nothing waits: no commit due, nothing to push; queued batches
         * wait for more of their pass only until LOOP_GROUP_MS after the first. */
        int64_t wait = busy ? 0 : quick ? 2 : 50;
        if (inbox_count(l->inbox) && inbox_wait_ms(l->inbox, now) < wait) {
            wait = inbox_wait_ms(l->inbox, now); /* 0 once a commit is due */
        }
        mesh_err_t err = transport_recv(l->t, wait > 0 ? (int)wait : 0, &tm);
        quick = false;
        if (err == MESH_OK) {
            s_on_msg(l, &tm);
        } else if (inbox_due(l->inbox, s_now_ms())) {
            s_flush_group(l); /* nothing more waits: commit while the checker goes on */
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
            node_log(l->m, MESH_LOG_DEBUG, "store at transaction %llu", (unsigned long long)txnid);
            /* a commit by anyone on this home: push it, and follow membership */
            l->last_txnid = txnid;
            if (member_reload(l->m) != MESH_OK) {
                node_log(l->m, MESH_LOG_WARN, "membership: %s", mesh_errmsg(l->m));
            }
            for (size_t i = 0; i < l->nsess; i++) {
                l->sess[i].again = true;
            }
        }
        busy = false;
        for (size_t i = 0; i < l->nsess; i++) {
            s_push(l, &l->sess[i]);
            busy |= s_can_push(&l->sess[i]);
        }
        now = s_now_ms();
        s_tick(l, now);
        s_release_memory(l, now);
        if (now - l->status_ms >= LOOP_STATUS_MS) {
            s_status_write(l, now);
            l->status_ms = now;
        }
    }
    s_flush(l);
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
    /* Test hook (PROTOCOL.md §11.1): announce another major version, to show refusal. */
    l->major = testhook_number(TESTHOOK_PROTO_MAJOR, WIRE_PROTO_MAJOR);
    ident_random(&l->session, sizeof l->session);
    /* Test hook: commit received batches in groups of this many bytes (1: each alone). */
    size_t group_bytes = (size_t)testhook_number(TESTHOOK_GROUP_BYTES, 0);
    if (group_bytes == 0 || group_bytes > LOOP_GROUP_BYTES) {
        group_bytes = LOOP_GROUP_BYTES;
    }
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
    if (err == MESH_OK) {
        err = inbox_open(LOOP_QUEUE_BATCHES, LOOP_GROUP_BATCHES, group_bytes, LOOP_GROUP_MS,
                         &l->inbox);
    }
    if (err == MESH_OK && pthread_create(&l->thread, NULL, s_run, l) != 0) {
        err = MESH_EIO;
    }
    if (err != MESH_OK) {
        node_fail(m, err, "network: %s", l->t ? transport_errmsg(l->t) : "cannot start");
        inbox_close(l->inbox);
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
        free(l->sess[i].hello_vv);
    }
    wire_doc_release(&l->own_doc);
    mesh_free(l->own);
    inbox_close(l->inbox); /* (empty: the thread's last s_flush committed all) */
    transport_close(l->t);
    wire_buf_release(&l->buf);
    wire_buf_release(&l->body);
    free(l);
}
