/* core/sync/session.c: the session protocol with one member (docs/PROTOCOL.md §11): HELLO
 * and version negotiation, summaries and vectors (the view of what the peer holds), passes
 * of bounded batches under the peer's credit, queueing the batches it sends and committing
 * them in groups with acknowledgements (core/sync/inbox.c checks them meanwhile), ping, and
 * the per-session timers (silence, HELLO again, summary again, resend).
 * Not here: finding and dialling the member (core/sync/dial.c), our own vector
 * (core/sync/own.c), the thread and its poll (core/sync/loop.c).
 * Layer: core (sync). Third-party: none. SPDX-License-Identifier: MIT */
#include "core/sync/session.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/base/testhook.h"
#include "core/bundle/export.h"
#include "core/bundle/import.h"
#include "core/data/vector.h"
#include "core/member/member.h"
#include "core/sync/dial.h"
#include "core/sync/folders.h"
#include "core/sync/inbox.h"
#include "core/sync/own.h"
#include "core/sync/pex.h"
#include "core/sync/presence.h"
#include "core/sync/repair.h"
#include "core/sync/spool.h"
#include "core/wire/compact.h"
#include "crypto/ident.h"
#include "store/store.h"

#define S_RESEND_MS 10000 /* no ack (or no vector asked for) this long: send again */
#define S_SUMMARY_MS                                                                               \
    5000                   /* a session re-announces its summary this often: if anything was       \
                            * lost on the way, the peer sees that it differs and says what it      \
                            * holds */
#define S_PUSH_BURST   4   /* batches exported per turn of the loop, between receives */
#define S_PUSH_TURN_MS 100 /* and no more after this long (a slow disk or CPU) */

/* Make v (taken over) the peer's view; *changed says whether it differs from the last. */
static void
s_set_view(session_t *s, vector_t *v, bool *changed)
{
    *changed = !s->vv || !vector_equal(s->vv, v);
    vector_free(s->vv);
    s->vv = v;
}

/* Take a peer's vector file (len bytes of body), decoded once, as its view. */
static mesh_err_t
s_take_vector(session_t *s, const uint8_t *body, size_t len, bool *changed)
{
    vector_t *v = NULL;
    *changed = false;
    mesh_err_t err = vector_decode(body, len, &v);
    if (err == MESH_OK) {
        s_set_view(s, v, changed);
        s->view_exact = true;
    }
    return err;
}

/* Take a copy of v (ours, or ours as sent in HELLO) as the peer's view. */
static mesh_err_t
s_take_view(session_t *s, const vector_t *v, bool *changed)
{
    vector_t *copy = NULL;
    *changed = false;
    mesh_err_t err = vector_copy(v, &copy);
    if (err == MESH_OK) {
        s_set_view(s, copy, changed);
        s->view_exact = false; /* it holds at least that */
    }
    return err;
}

/* ---- sending ---- */

/* Send msg to the session: on our own connection when it is up, else back on the
 * connection it spoke on. */
static mesh_err_t
s_send(loop_t *l, session_t *s, const wire_msg_t *msg, uint32_t only)
{
    if (s->removed || (member_generation(l->m) != l->members_gen && !member_is(l->m, s->device))) {
        return MESH_EUNPAIRED; /* a removed device is sent nothing more (dial.c) */
    }
    const uint8_t *bytes = msg->encoded; /* (encoded by the caller already: sent as is) */
    size_t len = msg->encoded_len;
    if (!bytes) {
        wire_buf_reset(&l->buf);
        mesh_err_t err = wire_msg_encode(msg, &l->buf);
        if (err != MESH_OK) {
            return err;
        }
        bytes = l->buf.data;
        len = l->buf.len;
    }
    /* Both sides prefer the connection dialled by the lower device key, so that one link
     * carries the session both ways, in order, when both have dialled. */
    bool ours_first = memcmp(ident_public_key(l->m->ident), s->device, WIRE_ORIGIN_LEN) < 0;
    uint32_t conns[2] = {ours_first ? s->conn_out : s->conn_in,
                         ours_first ? s->conn_in : s->conn_out};
    mesh_err_t err = MESH_ENOTFOUND;
    for (int i = 0; i < 2 && err != MESH_OK; i++) {
        if (conns[i] == SYNC_NO_CONN || (only != SYNC_NO_CONN && conns[i] != only)) {
            continue;
        }
        err = transport_send(l->t, conns[i], bytes, len);
        if (err == MESH_OK) {
            s->bytes_out += len;
            s->sent_ms = sync_now_ms();
            s->sent_conn = conns[i];
        }
    }
    return err;
}

/* s_send on whichever link is up: what the slow path sends with (core/sync/repair.c). */
static mesh_err_t
s_send_any(loop_t *l, session_t *s, const wire_msg_t *msg)
{
    return s_send(l, s, msg, SYNC_NO_CONN);
}

/* Start the slow path (§13) when the digests differ where the vectors cannot tell
 * (own_digests_differ). Only the side with the lower device key starts, at most once in
 * REPAIR_RETRY_MS, and never while a pass or a question is under way or received batches
 * wait. */
static void
s_check_repair(loop_t *l, session_t *s, const char *reason)
{
    int64_t now = sync_now_ms();
    if (!s->ok || s->minor < 1 || s->repair || s->passing || s->asked || inbox_count(l->inbox) ||
        memcmp(ident_public_key(l->m->ident), s->device, WIRE_ORIGIN_LEN) > 0 ||
        (s->repair_ms && now - s->repair_ms < REPAIR_RETRY_MS) || !own_digests_differ(l, s)) {
        return;
    }
    if (repair_start(l, s, reason, s_send_any) != MESH_OK) {
        node_log(l->m, MESH_LOG_WARN, "repair with %s not started: %s", s->id, mesh_errmsg(l->m));
    }
}

/* ---- what both held at once (§11.2: a HELLO without the dialler's vector) ---- */

/* The metadata name under which the agreed state with s is kept. */
static void
s_agreed_name(const session_t *s, char *name, size_t size)
{
    snprintf(name, size, "agreed/%s", s->id);
}

/* Look up, once per loop start, what was last agreed on with s (session_save kept it). A
 * record that does not decode is ignored: it is only a hint. */
static void
s_load_agreed(loop_t *l, session_t *s)
{
    store_txn_t *txn = NULL;
    const uint8_t *val = NULL;
    size_t len = 0;
    char name[MESH_ID_TEXT_LEN + 16];
    if (s->agreed_loaded) {
        return;
    }
    s->agreed_loaded = true;
    s_agreed_name(s, name, sizeof name);
    if (s->agreed_known || store_read_begin(l->m->store, &txn) != MESH_OK) {
        return;
    }
    vector_t *v = NULL;
    if (store_meta_get(txn, name, &val, &len) == MESH_OK && len > WIRE_SUMMARY_LEN &&
        vector_decode(val + WIRE_SUMMARY_LEN, len - WIRE_SUMMARY_LEN, &v) == MESH_OK) {
        memcpy(s->agreed, val, WIRE_SUMMARY_LEN);
        s->agreed_vv = v;
        s->agreed_known = true;
    }
    store_read_end(txn);
}

/* When the peer's last summary equals ours, both hold the same: keep that state (our vector,
 * which is then exactly its vector, and the summary that names it). */
static void
s_note_agreed(loop_t *l, session_t *s)
{
    vector_t *copy = NULL;
    if (!s->peer_summary_known || s->minor < 2 || own_update(l) != MESH_OK ||
        memcmp(s->peer_summary, l->own_summary, WIRE_SUMMARY_LEN) != 0 ||
        (s->agreed_known && memcmp(s->agreed, l->own_summary, WIRE_SUMMARY_LEN) == 0) ||
        vector_copy(l->own_vv, &copy) != MESH_OK) {
        return;
    }
    vector_free(s->agreed_vv);
    s->agreed_vv = copy;
    memcpy(s->agreed, l->own_summary, WIRE_SUMMARY_LEN);
    s->agreed_known = s->agreed_dirty = true;
    s->agreed_loaded = true; /* (newer than what the store holds) */
}

typedef struct s_save {
    loop_t *l;
    wire_buf_t buf;
} s_save_t;

static mesh_err_t
s_save_body(store_txn_t *txn, void *ctx)
{
    s_save_t *sv = ctx;
    mesh_err_t err = MESH_OK;
    for (size_t i = 0; i < sv->l->nsess && err == MESH_OK; i++) {
        session_t *s = sv->l->sess[i];
        char name[MESH_ID_TEXT_LEN + 16];
        if (!s->agreed_dirty || !s->agreed_known) {
            continue;
        }
        s_agreed_name(s, name, sizeof name);
        wire_buf_reset(&sv->buf);
        err = wire_buf_append(&sv->buf, s->agreed, WIRE_SUMMARY_LEN);
        if (err == MESH_OK) {
            err = vector_encode(s->agreed_vv, &sv->buf);
        }
        if (err == MESH_OK) {
            err = store_meta_put(txn, name, sv->buf.data, sv->buf.len);
        }
    }
    return err;
}

void
session_save(loop_t *l)
{
    bool dirty = false;
    for (size_t i = 0; i < l->nsess; i++) {
        dirty |= l->sess[i]->agreed_dirty && l->sess[i]->agreed_known;
    }
    if (!dirty) {
        return;
    }
    s_save_t sv = {.l = l};
    wire_buf_init(&sv.buf);
    mesh_err_t err = store_write(l->m->store, s_save_body, &sv);
    wire_buf_release(&sv.buf);
    if (err != MESH_OK) {
        node_log(l->m, MESH_LOG_DEBUG, "what the sessions agreed on was not kept: %s",
                 mesh_strerror(err));
        return;
    }
    for (size_t i = 0; i < l->nsess; i++) {
        l->sess[i]->agreed_dirty = false;
    }
}

/* Note the peer's summary (from its HELLO, SUMMARY or ACK). */
static void
s_peer_summary(loop_t *l, session_t *s, const uint8_t *summary)
{
    memcpy(s->peer_summary, summary, WIRE_SUMMARY_LEN);
    s->peer_summary_known = true;
    s_note_agreed(l, s);
}

/* Send our vector file (want: ask for the peer's in return). */
static mesh_err_t
s_send_vector(loop_t *l, session_t *s, bool want)
{
    mesh_err_t err = own_file(l);
    if (err == MESH_OK) {
        wire_msg_t vec = {
            .type = WIRE_MSG_VECTOR, .num = want, .body = l->own, .body_len = l->own_len};
        err = s_send(l, s, &vec, SYNC_NO_CONN);
    }
    return err;
}

/* HELLO on conn, with our vector file when with_vector (the dialling side always sends
 * it; the answering side only when the peer's vector lacks something we hold, and else
 * names the summary of the peer's vector it covers in covers). */
static mesh_err_t
s_send_hello(loop_t *l, session_t *s, uint32_t conn, bool with_vector, const uint8_t *covers)
{
    const char *name = mesh_device_name(l->m);
    bool dialler = with_vector;
    s_load_agreed(l, s);
    mesh_err_t err = with_vector ? own_file(l) : own_update(l);
    if (err != MESH_OK) {
        return err;
    }
    /* The dialler leaves its vector out when it holds what both held when they last agreed:
     * the summary names it, and the peer, when it remembers that state, takes it (else it
     * asks for the vector, one round trip more). */
    if (with_vector && s->agreed_known &&
        memcmp(s->agreed, l->own_summary, WIRE_SUMMARY_LEN) == 0) {
        with_vector = false;
        covers = NULL;
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
    if (err == MESH_OK && dialler && conn == s->conn_out) {
        vector_t *copy = NULL;
        if (vector_copy(l->own_vv, &copy) == MESH_OK) {
            vector_free(s->hello_vv);
            s->hello_vv = copy;
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
s_reset_sending(session_t *s)
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
s_pass_done(loop_t *l, session_t *s)
{
    bool changed = false;
    s->passing = false;
    if (s->pass_batches == 0) {
        return; /* nothing went: the view is as good as before */
    }
    if (own_update(l) == MESH_OK && memcmp(s->ack_summary, l->own_summary, WIRE_SUMMARY_LEN) == 0) {
        node_log(l->m, MESH_LOG_DEBUG, "pass to %s done: it holds what we hold", s->id);
        (void)s_take_view(s, l->own_vv, &changed);
        return;
    }
    node_log(l->m, MESH_LOG_DEBUG, "pass to %s done: asking for its vector", s->id);
    if (s_send_vector(l, s, true) == MESH_OK) {
        s->asked = true;
        s->progress_ms = sync_now_ms();
    }
}

/* Send what the view lacks: start a pass when there is reason to, then batches while the
 * peer's credit lasts (a few per turn, so that receiving goes on). */
void
session_push(loop_t *l, session_t *s)
{
    if (!s->ok || s->refused || s->removed || !s->vv) {
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
    uint32_t only = SYNC_NO_CONN;
    if (s->sent_id > s->acked_id && s->batch_conn != SYNC_NO_CONN) {
        if (s->batch_conn != s->conn_in && s->batch_conn != s->conn_out) {
            node_log(l->m, MESH_LOG_DEBUG, "the link of the batches to %s went: sending again",
                     s->id);
            s->batch_conn = SYNC_NO_CONN;
            s_reset_sending(s);
            return;
        }
        only = s->batch_conn;
    }
    int64_t turn_ms = sync_now_ms();
    for (int k = 0; k < S_PUSH_BURST && !s->pass_end && s->sent_id - s->acked_id < s->credit &&
                    sync_now_ms() - turn_ms < S_PUSH_TURN_MS;
         k++) {
        bool more = false;
        size_t pieces = 0;
        export_pos_t pos = s->pos;
        wire_buf_reset(&l->body);
        mesh_err_t err = export_bundle_to(l->m, s->device, NULL, 0, s->vv, LOOP_BATCH_BYTES,
                                          &s->pos, &l->body, &more, &pieces);
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
        wire_buf_t compact;
        wire_buf_init(&compact);
        /* A small batch (a live push, the changes after a restart) goes compact to a peer
         * of minor 2+; an initial sync's do not (their sets would be hashed twice). */
        if (s->minor >= 2 && l->body.len <= WIRE_COMPACT_OUT_MAX &&
            wire_compact_encode(l->body.data, l->body.len, ident_public_key(l->m->ident),
                                &compact) == MESH_OK) {
            batch.type = WIRE_MSG_CBATCH;
            batch.body = compact.data;
            batch.body_len = compact.len;
        }
        err = s_send(l, s, &batch, only);
        size_t compact_len = batch.type == WIRE_MSG_CBATCH ? compact.len : 0;
        wire_buf_release(&compact);
        if (err != MESH_OK) {
            s->pos = pos; /* the link is busy or down: the same batch next turn */
            break;
        }
        s->batch_conn = only = s->sent_conn;
        s->sent_id++;
        s->pass_batches++;
        s->batches_out++;
        s->versions_out += s->pos.versions - pos.versions;
        s->batch_bytes_out += l->body.len;
        s->progress_ms = l->sent_ms = sync_now_ms();
        l->sent_unreleased += l->body.len;
        s->pass_end = !more;
        char compact_note[48] = "";
        if (compact_len) {
            snprintf(compact_note, sizeof compact_note, ", compact in %zu bytes", compact_len);
        }
        node_log(l->m, MESH_LOG_DEBUG, "sent batch %llu (%zu bytes) to %s on %s link %u%s",
                 (unsigned long long)s->sent_id, l->body.len, s->id,
                 s->batch_conn & TRANSPORT_INBOUND ? "its" : "our",
                 (unsigned)(s->batch_conn & ~TRANSPORT_INBOUND), compact_note);
    }
    if (s->pass_end && s->sent_id == s->acked_id) {
        s_pass_done(l, s);
    }
}

/* Could s_push send more right now? (Then the loop does not sleep.) */
bool
session_can_push(const session_t *s)
{
    return s->ok && !s->refused && s->passing && !s->pass_end &&
           s->sent_id - s->acked_id < s->credit;
}

/* ---- receiving ---- */

/* Drop the session after a protocol error, with the reason in the log; the node goes on
 * serving everyone else, and the peer may start again with a HELLO. */
static void
s_drop(loop_t *l, session_t *s, const char *why)
{
    node_log(l->m, MESH_LOG_WARN, "dropping the session with %s: %s", s->id, why);
    s->ok = false;
    repair_end(s);
    s_reset_sending(s);
    if (s->conn_in != SYNC_NO_CONN) {
        transport_disconnect(l->t, s->conn_in);
        s->conn_in = SYNC_NO_CONN;
    }
}

static void
s_on_hello(loop_t *l, session_t *s, const wire_msg_t *msg, uint32_t conn)
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
        s->refused_ms = sync_now_ms();
        s->ok = false;
        return;
    }
    /* A HELLO that starts the session again forgets what was in flight: it goes anew from
     * the view (so an interrupted sync resumes from what the receiver holds). A second
     * HELLO, on the other link of a session already up, changes nothing of that. */
    bool restarted = msg->num != s->peer_session;
    if (!s->ok || restarted) {
        s_reset_sending(s);
        repair_end(s);
        /* its first summary and ping are due a while from now, not at once */
        s->summary_ms = s->sent_ms = sync_now_ms();
    }
    s->peer_session = msg->num;
    s->credit = msg->credit;
    s->minor = msg->minor;
    s_peer_summary(l, s, msg->summary);
    s->ok = true;
    s->refused = false;
    s->redial_after = LOOP_REDIAL_MIN_MS;
    /* The view: its vector when it sent one; ours when the summaries agree; what we sent
     * in our last HELLO when this answers that very one (by its summary) without a vector:
     * it holds all of that. Otherwise we ask for its vector. */
    s_load_agreed(l, s);
    mesh_err_t err = own_update(l);
    bool named = false; /* its HELLO named, by its summary, the state both last agreed on */
    if (err == MESH_OK && msg->body_len) {
        err = s_take_vector(s, msg->body, msg->body_len, &changed);
        if (err != MESH_OK) {
            s_drop(l, s, "a HELLO whose vector does not decode");
            return;
        }
    } else if (err == MESH_OK && memcmp(msg->summary, l->own_summary, WIRE_SUMMARY_LEN) == 0) {
        err = s_take_view(s, l->own_vv, &changed);
    } else if (err == MESH_OK && !(conn & TRANSPORT_INBOUND) && s->hello_vv && msg->covers &&
               memcmp(msg->covers, s->hello_summary, WIRE_SUMMARY_LEN) == 0) {
        err = s_take_view(s, s->hello_vv, &changed);
    } else if (err == MESH_OK && (conn & TRANSPORT_INBOUND) && !msg->covers && s->agreed_known &&
               memcmp(msg->summary, s->agreed, WIRE_SUMMARY_LEN) == 0) {
        err = s_take_view(s, s->agreed_vv, &changed);
        s->view_exact = named = err == MESH_OK; /* its vector exactly, as its summary says */
    } else if (err == MESH_OK && s_send_vector(l, s, true) == MESH_OK) {
        s->asked = true;
        s->progress_ms = sync_now_ms();
    }
    s->again = true;
    if (restarted && s->conn_out != SYNC_NO_CONN && (conn & TRANSPORT_INBOUND)) {
        /* Our HELLO on our own link, ahead of any batch we send on it: the peer, new,
         * takes batches only after a HELLO. */
        s->hello_out = s_send_hello(l, s, s->conn_out, true, NULL) == MESH_OK;
    }
    if (conn & TRANSPORT_INBOUND) {
        /* The answer: our vector only when its vector lacks something we hold. */
        bool covers =
            (msg->body_len || named) && s->vv && l->own_valid && vector_covers(l->own_vv, s->vv);
        (void)s_send_hello(l, s, conn, !covers, msg->summary);
    }
    node_log(l->m, MESH_LOG_INFO, "session with %s (%.*s) up", s->id, (int)msg->name_len,
             msg->name);
    s_check_repair(l, s, "equal vectors, unequal digests at HELLO");
    node_log(l->m, MESH_LOG_DEBUG, "HELLO from %s on %s link: %s%s", s->id,
             conn & TRANSPORT_INBOUND ? "its" : "our",
             msg->body_len ? "with its vector"
             : msg->covers ? "covers ours"
             : named       ? "names the state we last agreed on"
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
    const import_checked_t *checked[LOOP_QUEUE_BATCHES];
    const inbox_batch_t *first = inbox_at(l->inbox, 0), *last = inbox_at(l->inbox, n - 1);
    session_t *s0 = first->from;
    int64_t t0 = sync_now_ms();
    for (size_t i = 0; i < n; i++) {
        bundles[i] = inbox_at(l->inbox, i)->data;
        lens[i] = inbox_at(l->inbox, i)->len;
        checked[i] = inbox_checked(l->inbox, i);
    }
    mesh_err_t err = import_many(l->m, bundles, lens, checked, n, &rep);
    if (err == MESH_OK) {
        if (rep.text) {
            node_log(l->m, MESH_LOG_WARN, "batches from %s: %s", s0->id, rep.text);
        }
        node_log(l->m, MESH_LOG_DEBUG,
                 "applied batches %llu..%llu from %s: %llu sets, %llu ops stored (%lld ms, the "
                 "last commit %llu ms)",
                 (unsigned long long)first->id, (unsigned long long)last->id, s0->id,
                 (unsigned long long)(rep.sets_new + rep.sets_known),
                 (unsigned long long)rep.ops_stored, (long long)(sync_now_ms() - t0),
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
        session_t *s = inbox_at(l->inbox, i)->from;
        if (s->recv_failed) {
            continue; /* dropped already */
        }
        err = import_many(l->m, &bundles[i], &lens[i], &checked[i], 1, &rep);
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

/* Acknowledge s's batch id (and those before it) with our summary (own_update first). */
static void
s_ack(loop_t *l, session_t *s, uint64_t id)
{
    wire_msg_t ack = {
        .type = WIRE_MSG_ACK, .num = id, .body = l->own_summary, .body_len = WIRE_SUMMARY_LEN};
    (void)s_send(l, s, &ack, SYNC_NO_CONN);
    s_note_agreed(l, s); /* (we may now hold what it said it holds) */
}

/* Send the acknowledgements the spool's applies made due (spool_next_ack): the summary
 * after them, to each sender still in the session its batches came in. */
void
session_ack_spooled(loop_t *l)
{
    spool_ack_t due;
    bool summary = false;
    while (spool_next_ack(l->spool, &due)) {
        session_t *s = due.to;
        if (s->peer_session != due.peer_session) {
            continue; /* (it restarted meanwhile: it sends from our vector again) */
        }
        summary = summary || own_update(l) == MESH_OK;
        if (summary) {
            s_ack(l, s, due.id);
        }
    }
}

/* Commit the oldest queued batches, a group of them (inbox_group), in one write
 * transaction, and acknowledge each session's last among them. The batches queued behind
 * them stay queued (and are checked meanwhile), but those of a session that failed, which
 * come again (as does everything after a store error). */
void
session_flush_group(loop_t *l)
{
    size_t n = inbox_group(l->inbox), queued = inbox_count(l->inbox);
    if (n == 0) {
        return;
    }
    for (size_t i = 0; i < queued; i++) {
        session_t *s = inbox_at(l->inbox, i)->from;
        s->recv_failed = false;
    }
    /* A backlog streaming in is spooled, applied later in a large transaction
     * (core/sync/spool.h) on a worker thread while the next are spooled, and acknowledged
     * once that commits; anything else goes after what is spooled (an apply under way ends
     * first). When the spool is full while it applies, the group stays queued, not
     * acknowledged: a caller that needs it gone (the queue is full, the loop stops) calls
     * again and waits. */
    bool wants = spool_wants(l, n), stalled = spool_stalled(l->spool);
    if (!wants) {
        spool_wait(l);
    }
    mesh_err_t sp_err = wants ? spool_admit(l, n) : MESH_ENOTFOUND;
    if (sp_err == MESH_EBUSY && !stalled) {
        session_ack_spooled(l);
        return;
    }
    if (sp_err == MESH_EBUSY) {
        spool_wait(l);
        sp_err = spool_admit(l, n);
    }
    bool spooled = sp_err == MESH_OK;
    /* (what is spooled and the group after it in one commit, when they go together) */
    bool joined = !spooled && spool_apply_with(l, n) == MESH_OK;
    mesh_err_t err = spooled || joined ? MESH_OK : spool_apply(l);
    if (!spooled && !joined && err == MESH_OK) {
        err = s_import(l, n);
    }
    session_ack_spooled(l); /* (what the spool committed first: lower batch ids) */
    for (size_t i = 0; i < n; i++) {
        const inbox_batch_t *b = inbox_at(l->inbox, i);
        session_t *s = b->from;
        s->batches_in++;
        bool ok = err == MESH_OK && !s->recv_failed;
        if (ok && s->vv) {
            /* it holds what it sent: no need to send any of that back (the view is raised
             * in place by the batch's watermarks, as its check decoded them) */
            const wire_doc_t *doc = import_checked_doc(inbox_checked(l->inbox, i));
            s->view_exact = false; /* raised by what it sent: a bound now */
            if (doc && vector_raise(s->vv, doc) != MESH_OK) {
                node_log(l->m, MESH_LOG_DEBUG, "no memory to raise the view of %s", s->id);
            }
        }
        if (ok) {
            pex_note_batch(l, s, import_checked_doc(inbox_checked(l->inbox, i)));
        }
        bool last = true; /* of its session among those committed */
        for (size_t j = i + 1; j < n && last; j++) {
            last = inbox_at(l->inbox, j)->from != s;
        }
        if (ok && last && !spooled && own_update(l) == MESH_OK) {
            /* (after a failure nothing is acknowledged: it comes again; a spooled batch is
             * once its apply commits, session_ack_spooled) */
            s_ack(l, s, b->id);
        }
    }
    session_t *failed[LOOP_QUEUE_BATCHES];
    size_t nfailed = 0;
    for (size_t i = 0; i < n; i++) {
        session_t *s = inbox_at(l->inbox, i)->from;
        if (s->recv_failed) {
            failed[nfailed++] = s; /* (twice is no harm: forgetting is idempotent) */
        }
    }
    if (spooled) {
        spool_take(l, n);
    }
    inbox_shift(l->inbox, err == MESH_OK ? n : inbox_count(l->inbox), sync_now_ms());
    for (size_t i = 0; i < nfailed; i++) {
        inbox_forget(l->inbox, failed[i]); /* not acknowledged: they come again */
    }
    uint64_t pause_ms = testhook_number(TESTHOOK_COMMIT_PAUSE_MS, 0); /* at most 10 s */
    if (pause_ms > 0) {
        pause_ms = pause_ms > 10000 ? 10000 : pause_ms;
        struct timespec rest = {(time_t)(pause_ms / 1000), (long)(pause_ms % 1000) * 1000000};
        nanosleep(&rest, NULL);
    }
    l->flush_ms = sync_now_ms();
}

/* Commit every queued batch, a group at a time. */
void
session_flush(loop_t *l)
{
    while (inbox_count(l->inbox)) {
        session_flush_group(l);
    }
    (void)spool_apply(l); /* (on failure not acknowledged: sent again) */
    session_ack_spooled(l);
}

/* Queue a batch for a later commit (inbox_due); its sets are checked meanwhile. When it
 * does not fit (LOOP_QUEUE_BATCHES, LOOP_QUEUE_BYTES), groups are committed first: the
 * senders wait meanwhile, under their credit, and nobody's batch is refused. A batch that
 * came in pieces (tm, its frame: NULL for one rebuilt here) is not copied: the inbox adopts
 * the transport's buffer, its body moved to the start in place (a copy wrote every byte
 * again into pages touched for the first time: issue 15); msg's bytes are gone then. */
static void
s_on_batch(loop_t *l, session_t *s, const wire_msg_t *msg, const transport_msg_t *tm)
{
    while (!inbox_fits(l->inbox, s, msg->body, msg->body_len)) {
        session_flush_group(l); /* (each commits or forgets one batch at least) */
    }
    size_t len = msg->body_len;
    uint8_t *kept = tm ? transport_keep(l->t, tm) : NULL;
    mesh_err_t err;
    if (kept) {
        memmove(kept, msg->body, len);
        err = inbox_adopt(l->inbox, s, msg->num, kept, len, msg->more, sync_now_ms());
    } else {
        err = inbox_add(l->inbox, s, msg->num, msg->body, len, msg->more, sync_now_ms());
    }
    if (err != MESH_OK) {
        free(kept); /* (inbox_fits said yes: only no memory, and a kept frame cannot fail) */
        node_log(l->m, MESH_LOG_ERROR, "no memory for a batch from %s", s->id);
        return; /* not acknowledged: it comes again */
    }
    s->batch_bytes_in += len;
}

/* A batch in the compact form: rebuilt into the bundle it stands for (every signed byte
 * from what it carries), which is then capped, queued and verified like any BATCH. One that
 * does not expand drops the session with the reason, as any malformed frame does. */
static void
s_on_cbatch(loop_t *l, session_t *s, const wire_msg_t *msg)
{
    wire_buf_t bundle;
    size_t sets = 0, ops = 0;
    wire_buf_init(&bundle);
    mesh_err_t err = wire_compact_expand(msg->body, msg->body_len, s->device, &bundle);
    if (err == MESH_OK && wire_bundle_count(bundle.data, bundle.len, &sets, &ops) == MESH_OK &&
        (sets > WIRE_BATCH_SETS_MAX || ops > WIRE_BATCH_OPS_MAX)) {
        err = MESH_ETOOBIG;
    }
    if (err == MESH_ENOMEM) {
        node_log(l->m, MESH_LOG_ERROR, "no memory for a batch from %s", s->id);
    } else if (err != MESH_OK) {
        char why[200];
        snprintf(why, sizeof why, "a compact batch that does not expand (%s%s)", mesh_strerror(err),
                 err == MESH_ETOOBIG ? ": past a cap of §11.1 or §12" : ": malformed");
        session_flush(l);
        s_drop(l, s, why);
    } else {
        wire_msg_t batch = *msg;
        batch.type = WIRE_MSG_BATCH;
        batch.body = bundle.data;
        batch.body_len = bundle.len;
        s_on_batch(l, s, &batch, NULL);
    }
    wire_buf_release(&bundle); /* (the inbox queued a copy) */
}

static void
s_on_ack(loop_t *l, session_t *s, const wire_msg_t *msg)
{
    if (msg->num <= s->acked_id || msg->num > s->sent_id) {
        return; /* of batches given up on, or of an earlier start of ours */
    }
    s->acked_id = msg->num;
    s->progress_ms = sync_now_ms();
    node_log(l->m, MESH_LOG_DEBUG, "%s acknowledged batch %llu", s->id,
             (unsigned long long)msg->num);
    memcpy(s->ack_summary, msg->body, WIRE_SUMMARY_LEN);
    s_peer_summary(l, s, msg->body);
    if (s->passing && s->pass_end && s->acked_id == s->sent_id) {
        s_pass_done(l, s);
    }
}

void
session_on_msg(loop_t *l, const transport_msg_t *tm)
{
    session_t *s = dial_by_curve(l, tm->peer_key);
    wire_msg_t msg;
    bool changed = false;
    if (!s) {
        return; /* the transport admitted it a moment ago: membership just changed */
    }
    if ((tm->conn & TRANSPORT_INBOUND) && tm->conn != s->conn_in) {
        if (s->conn_in != SYNC_NO_CONN) {
            transport_disconnect(l->t, s->conn_in); /* it reconnected: the old one is gone */
        }
        s->conn_in = tm->conn;
    }
    s->bytes_in += tm->len;
    s->heard_ms = sync_now_ms();
    s->seen_unix = time(NULL);
    s->connected = true;
    pex_heard(l, s, tm->conn); /* (our own link: its address worked) */
    mesh_err_t decoded = wire_msg_decode(tm->data, tm->len, &msg);
    if (decoded != MESH_OK) {
        char why[160] = "a malformed frame";
        if (decoded == MESH_ETOOBIG) { /* which caps: docs/PROTOCOL.md §12 */
            snprintf(why, sizeof why,
                     "a malformed frame (past a cap: a BATCH of over %u sets or %u ops, or a "
                     "block or message too large)",
                     WIRE_BATCH_SETS_MAX, WIRE_BATCH_OPS_MAX);
        }
        session_flush(l);
        s_drop(l, s, why);
        return;
    }
    if (msg.type == WIRE_MSG_HELLO || msg.type == WIRE_MSG_ERROR) {
        /* what came before is committed before a session starts again or ends; nothing
         * else waits for queued batches (a VECTOR speaks of the peer's holdings, not ours;
         * a SUMMARY is not compared while batches are queued) */
        session_flush(l);
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
        /* Another pass only when its vector moved: an answer to our question after a
         * pass that equals the view before it means it took none of what we sent (sets
         * it rejected or holds back), and sending them again at once looped for good
         * (750 batches of one rejected set in a few seconds). A commit here, or a change
         * of its vector, starts the next pass. */
        if (s->asked && !changed) {
            node_log(l->m, MESH_LOG_DEBUG,
                     "%s took none of the last pass (rejected or held there): not sending "
                     "it again until something changes",
                     s->id);
        }
        s->again |= changed;
        bool after_pass = s->asked;
        s->asked = false;
        if (msg.num == 1) {
            (void)s_send_vector(l, s, false);
        }
        s_check_repair(l, s,
                       after_pass ? "a pass ended with digests that disagree"
                                  : "equal vectors, unequal digests");
        break;
    case WIRE_MSG_SUMMARY:
        s_peer_summary(l, s, msg.body);
        /* it differs from ours: say what we hold, so that it sends what we lack (while
         * received batches are queued, what we hold is about to change: the next SUMMARY,
         * 5 s later, is compared instead, and a pass ends with a check of its own) */
        if (!inbox_count(l->inbox) && own_update(l) == MESH_OK &&
            memcmp(msg.body, l->own_summary, WIRE_SUMMARY_LEN) != 0) {
            (void)s_send_vector(l, s, false);
            s->again = true; /* and look again at what it may lack (cheap when nothing) */
        }
        break;
    case WIRE_MSG_ACK:
        s_on_ack(l, s, &msg);
        break;
    case WIRE_MSG_RANGE:
    case WIRE_MSG_REPAIR: {
        mesh_err_t err = repair_on_msg(l, s, &msg, s_send_any);
        if (err != MESH_OK) {
            char why[200];
            snprintf(why, sizeof why, "a %s that is malformed or past a cap (§13): %s",
                     msg.type == WIRE_MSG_RANGE ? "range list" : "repair", mesh_strerror(err));
            s_drop(l, s, why);
        }
        break;
    }
    case WIRE_MSG_BATCH:
        s_on_batch(l, s, &msg, tm);
        break;
    case WIRE_MSG_CBATCH:
        s_on_cbatch(l, s, &msg);
        break;
    case WIRE_MSG_PEX:
        if (pex_on_msg(l, s, &msg) != MESH_OK) {
            s_drop(l, s, "a PEX that is malformed or past a cap (§17)");
        }
        break;
    case WIRE_MSG_BLOCK_REQ:
    case WIRE_MSG_BLOCK:
        if (folders_on_msg(l, s, &msg, s_send_any) != MESH_OK) {
            s_drop(l, s, "a block message that is malformed (§18.6)");
        }
        break;
    case WIRE_MSG_MESSAGE:
        if (presence_on_msg(l, s, &msg) != MESH_OK) {
            s_drop(l, s, "a MESSAGE that is malformed or past a cap (§22)");
        }
        break;
    case WIRE_MSG_PING: {
        wire_msg_t pong = {.type = WIRE_MSG_PONG, .num = msg.num};
        (void)s_send(l, s, &pong, SYNC_NO_CONN);
        break;
    }
    case WIRE_MSG_ERROR:
        if (msg.num == MESH_ENOTFOUND) {
            /* it restarted and does not know us yet: start the session again */
            node_log(l->m, MESH_LOG_INFO, "%s has no session with us: saying HELLO again", s->id);
            s->ok = false;
            repair_end(s);
            s->hello_out = false;
            s_reset_sending(s);
            break;
        }
        node_log(l->m, MESH_LOG_WARN, "%s refused the session: %.*s", s->id, (int)msg.body_len,
                 (const char *)msg.body);
        s->refused = true;
        s->refused_ms = sync_now_ms();
        s->ok = false;
        break;
    default:
        break; /* PONG: being heard is all it is for */
    }
    if (s->ok) {
        session_push(l, s);
    }
}

/* ---- timers ---- */

void
session_tick(loop_t *l, int64_t now)
{
    for (size_t i = 0; i < l->nsess; i++) {
        session_t *s = l->sess[i];
        /* silent: nothing heard from it for that long before the last time nothing waited
         * (a peer is not silent while its frames queue behind our own long commit) */
        if (s->connected && l->drained_ms - s->heard_ms > LOOP_DEAD_MS * l->slow) {
            node_log(l->m, MESH_LOG_INFO, "%s went silent", s->id);
            s->connected = false;
            repair_end(s);
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
            dial_redial(l, s);
        }
        if (s->conn_out != SYNC_NO_CONN && s->hello_out && !s->ok && !s->refused &&
            now - s->hello_ms > LOOP_HELLO_RETRY_MS * l->slow) {
            s->hello_out = false; /* unanswered (refused before it became a member?): again */
        }
        if (s->conn_out != SYNC_NO_CONN && !s->hello_out && !s->refused) {
            s->hello_out = s_send_hello(l, s, s->conn_out, true, NULL) == MESH_OK;
            s->hello_ms = now;
        } else if (s->connected && now - s->sent_ms >= LOOP_PING_MS) {
            /* nothing else went to it for a while: a ping keeps it hearing from us */
            wire_msg_t ping = {.type = WIRE_MSG_PING, .num = (uint64_t)now};
            (void)s_send(l, s, &ping, SYNC_NO_CONN);
        }
        if (s->connected) {
            s->seen_ms = now;
        }
        if (s->ok && now - s->summary_ms >= S_SUMMARY_MS && own_update(l) == MESH_OK) {
            wire_msg_t sum = {
                .type = WIRE_MSG_SUMMARY, .body = l->own_summary, .body_len = WIRE_SUMMARY_LEN};
            s->summary_ms = now;
            (void)s_send(l, s, &sum, SYNC_NO_CONN);
        }
        repair_tick(l, s, now, s_send_any);
        pex_tick(l, s, now, s_send_any);
        if (((s->passing && s->sent_id != s->acked_id) || s->asked) &&
            now - s->progress_ms > S_RESEND_MS * l->slow) {
            /* lost with a link that broke, or dropped by a peer not yet past HELLO:
             * applying twice changes nothing, so send what it lacks again */
            node_log(l->m, MESH_LOG_INFO, "batches to %s unacknowledged: sending again", s->id);
            s_reset_sending(s);
        }
    }
    folders_tick(l, now, s_send_any);
    presence_tick(l, now, s_send_any); /* presence and messages (§22) */
}
