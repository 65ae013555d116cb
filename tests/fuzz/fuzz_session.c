/* tests/fuzz/fuzz_session.c: libFuzzer harness for the session state machine of
 * core/sync/session.c (docs/PROTOCOL.md §11), driven by one peer. A target T and a member P
 * (W1 of fuzz_apply: fixed key pairs, each adding the other, the stores put back to the same
 * template before each run: tests/fuzz/rig.h) talk over
 * real transports on 127.0.0.1, set up once per process (CURVE and ZAP included). T's loop is
 * a loop_t with no thread of its own: the harness turns it, so a run is one thread's
 * sequence of events. The input is a script: P sends a frame it builds (HELLO of this or
 * another major version, any credit and session id, with P's vector, T's or none; VECTOR;
 * BATCH of P's export, whole or since T's last vector, or mutated; ACK of T's last batch id or
 * one near it; PING, PONG, SUMMARY, ERROR, BLOCK_REQ, BLOCK) or the input's bytes as a frame;
 * P plays its side of the slow path (§13) with the library's engine over its own store: a
 * RANGE that starts a repair (digest, key, recon_start's list), recon_answer's answers to
 * T's lists (also as the responder of a repair T starts), REPAIRs of the versions it found
 * (repair_export), mutated or raw ones, T's REPAIRs applied to P's store; P writes or takes
 * T's export; T's timers run at a time the input moves on; T commits its queue or pushes.
 * Each frame P sends is handed to session_on_msg as the loop would, and every frame T sends
 * back is read by P before the next command (its last batch id, summary, vector, RANGE and
 * REPAIR are what P's next frames may quote). MESH_FUZZ_TRACE=1: each frame on stderr.
 * What must hold: no crash or sanitizer report; T's batch ids acknowledged never pass those
 * sent; at the end T's queue commits and T's and P's stores are sound (tests/fuzz/rig.h).
 * Built by `make fuzz` (clang, libFuzzer) and, with tests/fuzz/replay.c, by gcc for `make
 * test`, with tests/fuzz/check.c and tests/fuzz/rig.c.
 * Layer: tests. Third-party: none. SPDX-License-Identifier: MIT */
#include "check.h"
#include "rig.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/node.h"
#include "core/bundle/repair.h"
#include "core/data/recon.h"
#include "core/data/vector.h"
#include "core/sync/dial.h"
#include "core/sync/inbox.h"
#include "core/sync/presence.h"
#include "core/sync/repair.h"
#include "core/sync/session.h"
#include "core/sync/sync.h"
#include "core/wire/buf.h"
#include "core/wire/compact.h"
#include "core/wire/msg.h"
#include "crypto/ident.h"
#include "store/store.h"
#include "transport/transport.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define S_CMDS_MAX 64   /* commands per run */
#define S_WAIT_MS  2000 /* a frame on 127.0.0.1 arrives within this, or is taken as lost */

/* What lasts the whole process: T's loop (the transport's admission callback holds it),
 * T's transport and P's, P's connection to T. */
static loop_t *g_l;
static transport_t *g_p;
static uint32_t g_conn;

/* What P has heard from T in this run. */
typedef struct s_heard {
    uint64_t batch_id;                 /* T's last BATCH id */
    uint8_t summary[WIRE_SUMMARY_LEN]; /* T's last summary (HELLO, ACK, SUMMARY) */
    uint8_t *vector;                   /* T's last vector file (HELLO, VECTOR), or NULL */
    size_t vector_len;
    uint8_t *range; /* T's last RANGE frame (whole, as it came), or NULL */
    size_t range_len;
    uint8_t *repair; /* T's last REPAIR frame, or NULL */
    size_t repair_len;
    uint64_t frames;
    uint64_t bytes; /* of the frames heard in this run */
    uint64_t lost;  /* of frames T sent that did not come in time */
} s_heard_t;

/* P's side of one repair (PROTOCOL §13), played by the harness with the library's own
 * engine over P's store: the one P started, or the one T started that P answers. */
typedef struct s_prep {
    uint64_t id;
    char coll[MESH_COLL_MAX + 1];
    recon_set_t *set; /* P's snapshot of coll under the repair's key */
    recon_t *r;       /* NULL: no repair under way on P's side */
    size_t next;      /* the next item of set to export */
    wire_buf_t list;  /* P's last range list */
} s_prep_t;

static bool
s_admit_all(void *ctx, const uint8_t *key)
{
    (void)ctx, (void)key;
    return true;
}

/* The CURVE key pair of node n. */
static void
s_curve(const rig_node_t *n, uint8_t *pk, uint8_t *sk)
{
    CHECK(ident_curve_public(n->pk, pk) == MESH_OK);
    CHECK(ident_curve_secret(n->m->ident, sk) == MESH_OK);
}

/* Once per process: T's loop and transport (listening on 127.0.0.1), P's, and P's link. */
static void
s_setup(rig_node_t *t, rig_node_t *p)
{
    uint8_t tpk[TRANSPORT_KEY_LEN], tsk[TRANSPORT_KEY_LEN], ppk[TRANSPORT_KEY_LEN],
        psk[TRANSPORT_KEY_LEN];
    char ep[256];
    g_l = calloc(1, sizeof *g_l);
    CHECK(g_l != NULL);
    wire_buf_init(&g_l->buf);
    wire_buf_init(&g_l->body);
    CHECK(pthread_mutex_init(&g_l->status_lock, NULL) == 0);
    CHECK(inbox_open(LOOP_QUEUE_BATCHES, LOOP_QUEUE_BYTES, LOOP_GROUP_BATCHES, LOOP_GROUP_BYTES,
                     LOOP_GROUP_MS, &g_l->inbox) == MESH_OK);
    CHECK(presence_open(g_l, &g_l->presence) == MESH_OK); /* MESSAGE frames (§22) */
    s_curve(t, tpk, tsk);
    s_curve(p, ppk, psk);
    CHECK(transport_open(tpk, tsk, dial_admit, g_l, &g_l->t) == MESH_OK);
    CHECK(transport_listen(g_l->t, "tcp://127.0.0.1:0", ep, sizeof ep) == MESH_OK);
    CHECK(transport_open(ppk, psk, s_admit_all, NULL, &g_p) == MESH_OK);
    CHECK(transport_connect(g_p, tpk, ep, &g_conn) == MESH_OK);
}

/* Make T's loop T's for this run (m is new each run): no session, nothing of ours known. */
static void
s_loop_begin(mesh_t *m)
{
    g_l->m = m;
    g_l->members_gen = UINT64_MAX;
    g_l->major = WIRE_PROTO_MAJOR;
    g_l->session = 42;
    g_l->slow = 1;
    g_l->drained_ms = sync_now_ms();
    g_l->nsess = 0;
    g_l->own_valid = false;
    g_l->own_txnid = 0;
    dial_members(g_l);
    CHECK(g_l->nsess == 1);
}

/* With MESH_FUZZ_TRACE set, each frame either way on stderr (to write seeds by). */
static void
s_trace(const char *who, const uint8_t *p, size_t len)
{
    static int on = -1;
    wire_msg_t msg;
    if (on < 0) {
        on = getenv("MESH_FUZZ_TRACE") != NULL;
    }
    if (!on) {
        return;
    }
    if (wire_msg_decode(p, len, &msg) != MESH_OK) {
        fprintf(stderr, "%s: %zu bytes that do not decode\n", who, len);
        return;
    }
    fprintf(stderr, "%s: type %u num %llu body %zu more %d coll %.*s%s\n", who, msg.type,
            (unsigned long long)msg.num, msg.body_len, msg.more, (int)msg.coll_len,
            msg.coll ? msg.coll : "", msg.digest ? " (start)" : "");
}

/* Bytes of the frames T sent in this run (its sessions are the run's). */
static uint64_t
s_sent(void)
{
    uint64_t n = 0;
    for (size_t i = 0; i < g_l->nsess; i++) {
        n += g_l->sess[i]->bytes_out;
    }
    return n;
}

/* Read what T sent P, every frame it sent so far (so that a run does not depend on how
 * fast frames cross the loopback); remember its last batch id, summary, vector file,
 * RANGE and REPAIR. */
static void
s_hear(s_heard_t *h)
{
    transport_msg_t tm;
    wire_msg_t msg;
    int64_t end = sync_now_ms() + S_WAIT_MS;
    for (;;) {
        bool all = h->bytes + h->lost >= s_sent();
        if (transport_recv(g_p, all ? 0 : 5, &tm) != MESH_OK) {
            if (all) {
                break;
            }
            if (sync_now_ms() >= end) {
                h->lost = s_sent() - h->bytes; /* (not to wait for it again) */
                break;
            }
            continue;
        }
        h->frames++;
        h->bytes += tm.len;
        s_trace("T", tm.data, tm.len);
        CHECK(wire_msg_decode(tm.data, tm.len, &msg) == MESH_OK); /* T sends only what decodes */
        if (msg.type == WIRE_MSG_BATCH || msg.type == WIRE_MSG_CBATCH) {
            h->batch_id = msg.num;
        }
        if (msg.type == WIRE_MSG_HELLO && msg.summary) {
            memcpy(h->summary, msg.summary, WIRE_SUMMARY_LEN);
        }
        if (msg.type == WIRE_MSG_ACK || msg.type == WIRE_MSG_SUMMARY) {
            memcpy(h->summary, msg.body, WIRE_SUMMARY_LEN);
        }
        if ((msg.type == WIRE_MSG_HELLO || msg.type == WIRE_MSG_VECTOR) && msg.body_len) {
            free(h->vector);
            h->vector = malloc(msg.body_len);
            CHECK(h->vector != NULL);
            memcpy(h->vector, msg.body, msg.body_len);
            h->vector_len = msg.body_len;
        }
        if (msg.type == WIRE_MSG_RANGE || msg.type == WIRE_MSG_REPAIR) {
            uint8_t **keep = msg.type == WIRE_MSG_RANGE ? &h->range : &h->repair;
            free(*keep);
            *keep = malloc(tm.len);
            CHECK(*keep != NULL);
            memcpy(*keep, tm.data, tm.len);
            *(msg.type == WIRE_MSG_RANGE ? &h->range_len : &h->repair_len) = tm.len;
        }
    }
}

/* Forget what P heard (the end of a run). */
static void
s_heard_free(s_heard_t *h)
{
    free(h->vector);
    free(h->range);
    free(h->repair);
    memset(h, 0, sizeof *h);
}

/* The end of a run: what T queued is committed, what T sent is heard, and the session's
 * state freed. */
static void
s_loop_end(s_heard_t *h)
{
    session_flush(g_l);
    s_hear(h);
    CHECK(inbox_count(g_l->inbox) == 0);
    for (size_t i = 0; i < g_l->nsess; i++) {
        session_t *s = g_l->sess[i];
        repair_end(s); /* (a repair the run started holds snapshots and lists) */
        vector_free(s->vv);
        vector_free(s->hello_vv);
        vector_free(s->agreed_vv);
        free(s->addrs);
        addrbook_release(&s->book);
        free(s);
        g_l->sess[i] = NULL;
    }
    g_l->nsess = 0;
    g_l->nby_curve = 0;
    g_l->nsess = 0;
    vector_free(g_l->own_vv);
    g_l->own_vv = NULL;
    free(g_l->own);
    g_l->own = NULL;
    g_l->own_len = 0;
}

/* P sends len bytes; T receives them (answering the handshake meanwhile, the first time)
 * and acts on them as its loop would. */
static void
s_deliver(const uint8_t *p, size_t len, s_heard_t *h)
{
    transport_msg_t tm;
    int64_t end = sync_now_ms() + S_WAIT_MS;
    mesh_err_t err;
    while ((err = transport_send(g_p, g_conn, p, len)) == MESH_ENOTFOUND && sync_now_ms() < end) {
        mesh_err_t r = transport_recv(g_l->t, 5, &tm); /* the handshake: nothing else comes */
        CHECK(r == MESH_ENOTFOUND);
    }
    if (err != MESH_OK) {
        return; /* MESH_ETOOBIG, or the link is not up in time: nothing reaches T */
    }
    s_trace("P", p, len);
    while (sync_now_ms() < end) {
        if (transport_recv(g_l->t, 10, &tm) == MESH_OK) {
            session_on_msg(g_l, &tm);
            break;
        }
    }
    s_hear(h);
}

/* Encode msg (CHECKed) and deliver it. */
static void
s_send(const wire_msg_t *msg, s_heard_t *h)
{
    wire_buf_t b;
    wire_buf_init(&b);
    CHECK(wire_msg_encode(msg, &b) == MESH_OK);
    s_deliver(b.data, b.len, h);
    wire_buf_release(&b);
}

/* P's vector file into *p (mesh_free), or T's last one (not to be freed: *own false). */
static void
s_vector(rig_node_t *pn, const s_heard_t *h, bool theirs, const uint8_t **p, size_t *len,
         void **own)
{
    *own = NULL;
    if (theirs && h->vector) {
        *p = h->vector, *len = h->vector_len;
        return;
    }
    CHECK(mesh_vector(pn->m, NULL, 0, own, len) == MESH_OK);
    *p = *own;
}

static void
s_cmd_frame(uint8_t op, rig_in_t *in, rig_node_t *pn, s_heard_t *h)
{
    uint8_t b = rig_u8(in);
    wire_msg_t msg = {0};
    void *own = NULL;
    uint8_t summary[WIRE_SUMMARY_LEN];
    size_t got = 0;
    memcpy(summary, h->summary, sizeof summary);
    if (b & 0x80) {
        memset(summary, b, sizeof summary); /* not T's */
    }
    switch (op % 6) {
    case 0: /* HELLO */
        msg.type = WIRE_MSG_HELLO;
        msg.major = b & 0x40 ? WIRE_PROTO_MAJOR + 1 : WIRE_PROTO_MAJOR;
        msg.minor = (b & 1) * 2; /* 0, or 2: slow path, compact batches, agreed states */
        msg.name = "p\x1b[31m";
        msg.name_len = b & 2 ? 6 : 1;
        msg.num = b >> 2 & 3; /* its session id: new ones restart the session */
        msg.credit = 1 + rig_u8(in) % 64;
        msg.summary = summary;
        msg.covers = b & 0x20 ? summary : NULL;
        if (b & 0x10) {
            s_vector(pn, h, b & 0x08, &msg.body, &msg.body_len, &own);
        }
        break;
    case 1: /* VECTOR */
        msg.type = WIRE_MSG_VECTOR;
        msg.num = b & 1;
        if (b & 2) {
            msg.body = rig_bytes(in, rig_u8(in), &msg.body_len);
        } else {
            s_vector(pn, h, b & 4, &msg.body, &msg.body_len, &own);
        }
        break;
    case 2: { /* BATCH: P's export, since T's last vector or whole, perhaps compact (CBATCH,
               * when small), perhaps one byte changed */
        size_t len = 0;
        void *vec = b & 1 ? h->vector : NULL;
        CHECK(mesh_export(pn->m, NULL, 0, vec, vec ? h->vector_len : 0, &own, &len) == MESH_OK);
        wire_buf_t compact;
        bool cbatch = false;
        wire_buf_init(&compact);
        if ((b & 8) &&
            wire_compact_encode(own, len, ident_public_key(pn->m->ident), &compact) == MESH_OK) {
            cbatch = true;
            mesh_free(own);
            own = malloc(compact.len);
            CHECK(own != NULL);
            memcpy(own, compact.data, compact.len);
            len = compact.len;
        }
        wire_buf_release(&compact);
        if (b & 2) {
            uint16_t at = (uint16_t)rig_num(in, 2);
            ((uint8_t *)own)[at % len] ^= rig_u8(in) | 1;
        }
        msg.type = cbatch ? WIRE_MSG_CBATCH : WIRE_MSG_BATCH;
        msg.num = rig_u8(in);
        msg.more = b & 4;
        msg.body = own;
        msg.body_len = len;
        break;
    }
    case 3: /* ACK of T's last batch, or one near it */
        msg.type = WIRE_MSG_ACK;
        msg.num = h->batch_id + (b & 3) - 1;
        msg.body = summary;
        msg.body_len = WIRE_SUMMARY_LEN;
        break;
    case 4: /* PING, PONG, SUMMARY, ERROR, BLOCK_REQ, BLOCK */
        msg.type = (uint8_t[]){WIRE_MSG_PING,  WIRE_MSG_PONG,      WIRE_MSG_SUMMARY,
                               WIRE_MSG_ERROR, WIRE_MSG_BLOCK_REQ, WIRE_MSG_BLOCK}[b % 6];
        msg.num = rig_u8(in);
        if (msg.type == WIRE_MSG_SUMMARY) {
            msg.body = summary;
            msg.body_len = WIRE_SUMMARY_LEN;
        } else {
            msg.body = rig_bytes(in, rig_u8(in), &got);
            msg.body_len = got;
        }
        break;
    default: { /* the input's bytes as a frame */
        size_t want = (size_t)rig_num(in, 2);
        const uint8_t *p = rig_bytes(in, want, &got);
        uint8_t *exact = malloc(got ? got : 1);
        CHECK(exact != NULL);
        memcpy(exact, p, got);
        s_deliver(exact, got, h);
        free(exact);
        return;
    }
    }
    s_send(&msg, h);
    mesh_free(own);
}

/* ---- the slow path, P's side ---- */

/* P forgets its repair. */
static void
s_prep_clear(s_prep_t *pr)
{
    recon_free(pr->r);
    recon_set_free(pr->set);
    pr->r = NULL;
    pr->set = NULL;
    pr->next = 0;
    pr->coll[0] = '\0';
}

/* P begins a repair of coll under id and key (started by either side): its snapshot of
 * coll (none held: an empty one), its engine, and its digest into digest (zero: none). */
static void
s_prep_begin(rig_node_t *pn, s_prep_t *pr, uint64_t id, const char *coll, const uint8_t *key,
             uint8_t *digest)
{
    store_txn_t *txn = NULL;
    uint32_t cid = 0;
    store_coll_stats_t stats;
    s_prep_clear(pr);
    pr->id = id;
    snprintf(pr->coll, sizeof pr->coll, "%s", coll);
    memset(digest, 0, WIRE_DIGEST_LEN);
    CHECK(store_read_begin(pn->m->store, &txn) == MESH_OK);
    mesh_err_t err = store_coll_id(txn, coll, false, &cid);
    if (err == MESH_ENOTFOUND) {
        CHECK(recon_set_new(&pr->set) == MESH_OK);
    } else {
        CHECK(err == MESH_OK);
        CHECK(store_coll_stats_get(txn, cid, &stats) == MESH_OK);
        memcpy(digest, stats.digest, WIRE_DIGEST_LEN);
        CHECK(recon_set_load(txn, cid, key, &pr->set) == MESH_OK);
    }
    store_read_end(txn);
    CHECK(recon_new(pr->set, &pr->r) == MESH_OK);
}

/* The collection of a repair P starts: a user one, or the membership records. */
static const char *
s_repair_coll(uint8_t b)
{
    return b % 4 < RIG_COLLS ? rig_colls[b % 4] : "_mesh";
}

/* Send a RANGE of P's repair (or of id, coll) with body; digest and key for a start. */
static void
s_send_range(uint64_t id, const char *coll, const uint8_t *digest, const uint8_t *key,
             const uint8_t *body, size_t len, s_heard_t *h)
{
    wire_msg_t msg = {.type = WIRE_MSG_RANGE,
                      .num = id,
                      .coll = coll,
                      .coll_len = strlen(coll),
                      .digest = digest,
                      .hash_key = key,
                      .body = body,
                      .body_len = len};
    s_send(&msg, h);
}

/* One slow-path command (op & 7) of P:
 *   0 start a repair: RANGE with P's digest (or one not P's), a key, recon_start's list of
 *     P's snapshot; a new id, or P's last one (the next collection of that repair)
 *   1 answer T's last RANGE with recon_answer (becoming the responder of a repair T
 *     starts), sending the answer when it asks something (or anyway)
 *   2 send the versions P's engine marked (repair_export), in pieces of a size the input
 *     picks, perhaps one byte changed, perhaps with the wrong id or more flag
 *   3 a RANGE of P's repair whose list is P's last one with a byte changed, or the input's
 *   4 an empty RANGE ("equal", or nothing asked) to T's last RANGE or P's repair
 *   5 P applies T's last REPAIR to its own store (repair_apply), as a responder would
 *   6 P forgets its repair (T's is given up when idle)
 *   7 a REPAIR of P's repair with the input's bytes as its bundle */
static void
s_cmd_slow(uint8_t op, rig_in_t *in, rig_node_t *pn, s_prep_t *pr, s_heard_t *h)
{
    uint8_t b = rig_u8(in), digest[WIRE_DIGEST_LEN], key[RECON_KEY_LEN];
    wire_msg_t heard;
    size_t got = 0;
    switch (op & 7) {
    case 0: {
        uint64_t id = b & 4 && pr->id ? pr->id : 1u + rig_u8(in);
        memset(key, rig_u8(in), sizeof key);
        s_prep_begin(pn, pr, id, s_repair_coll(b), key, digest);
        if (b & 8) {
            memset(digest, b, sizeof digest);
        }
        wire_buf_reset(&pr->list);
        CHECK(recon_start(pr->r, &pr->list) == MESH_OK);
        s_send_range(pr->id, pr->coll, digest, key, pr->list.data, pr->list.len, h);
        break;
    }
    case 1: {
        bool send = false;
        if (!h->range) {
            return;
        }
        CHECK(wire_msg_decode(h->range, h->range_len, &heard) == MESH_OK);
        char coll[MESH_COLL_MAX + 1];
        snprintf(coll, sizeof coll, "%.*s", (int)heard.coll_len, heard.coll);
        if (heard.digest && heard.hash_key &&
            (!pr->r || pr->id != heard.num || strcmp(pr->coll, coll) != 0)) {
            s_prep_begin(pn, pr, heard.num, coll, heard.hash_key, digest);
            if (memcmp(digest, heard.digest, sizeof digest) == 0 && !(b & 2)) {
                s_prep_clear(pr);
                s_send_range(heard.num, coll, NULL, NULL, NULL, 0, h); /* equal */
                return;
            }
        }
        if (!pr->r || heard.body_len == 0) {
            return;
        }
        wire_buf_reset(&pr->list);
        if (recon_answer(pr->r, heard.body, heard.body_len, &pr->list, &send) != MESH_OK) {
            s_prep_clear(pr); /* (P's engine is not to be used again) */
            return;
        }
        if (send || (b & 1)) {
            s_send_range(pr->id, pr->coll, NULL, NULL, pr->list.data, pr->list.len, h);
        }
        break;
    }
    case 2: {
        wire_buf_t out;
        size_t items = 0;
        if (!pr->r) {
            return;
        }
        size_t limit = 1 + (size_t)rig_u8(in) * 64;
        wire_buf_init(&out);
        if (repair_export(pn->m, pr->coll, pr->set, pr->r, &pr->next, limit, &out, &items) ==
            MESH_OK) {
            if (b & 2 && out.len) {
                uint16_t at = (uint16_t)rig_num(in, 2);
                out.data[at % out.len] ^= rig_u8(in) | 1;
            }
            wire_msg_t msg = {.type = WIRE_MSG_REPAIR,
                              .num = pr->id + (b & 4 ? 1 : 0),
                              .body = out.data,
                              .body_len = out.len,
                              .more = (pr->next < recon_set_count(pr->set)) != (b & 1)};
            s_send(&msg, h);
        }
        wire_buf_release(&out);
        break;
    }
    case 3: {
        const char *coll = pr->coll[0] ? pr->coll : s_repair_coll(b);
        if (b & 1 || pr->list.len == 0) {
            const uint8_t *p = rig_bytes(in, rig_u8(in), &got);
            s_send_range(pr->id, coll, NULL, NULL, p, got, h);
            break;
        }
        uint8_t *copy = malloc(pr->list.len);
        CHECK(copy != NULL);
        memcpy(copy, pr->list.data, pr->list.len);
        uint16_t at = (uint16_t)rig_num(in, 2);
        copy[at % pr->list.len] ^= rig_u8(in) | 1;
        memset(key, b, sizeof key);
        memset(digest, b, sizeof digest);
        s_send_range(pr->id, coll, b & 2 ? digest : NULL, b & 2 ? key : NULL, copy, pr->list.len,
                     h);
        free(copy);
        break;
    }
    case 4:
        if (h->range && !(b & 1)) {
            CHECK(wire_msg_decode(h->range, h->range_len, &heard) == MESH_OK);
            char coll[MESH_COLL_MAX + 1];
            snprintf(coll, sizeof coll, "%.*s", (int)heard.coll_len, heard.coll);
            s_send_range(heard.num, coll, NULL, NULL, NULL, 0, h);
        } else if (pr->coll[0]) {
            s_send_range(pr->id, pr->coll, NULL, NULL, NULL, 0, h);
        }
        break;
    case 5: {
        size_t stored = 0;
        if (!h->repair || !pr->coll[0]) {
            return;
        }
        CHECK(wire_msg_decode(h->repair, h->repair_len, &heard) == MESH_OK);
        mesh_err_t err = repair_apply(pn->m, pr->coll, heard.body, heard.body_len, &stored);
        (void)err; /* (of another collection, or P's store said no: P's affair) */
        break;
    }
    case 6:
        s_prep_clear(pr);
        break;
    default: {
        const uint8_t *p = rig_bytes(in, (size_t)rig_num(in, 2), &got);
        wire_msg_t msg = {
            .type = WIRE_MSG_REPAIR, .num = pr->id, .body = p, .body_len = got, .more = b & 1};
        s_send(&msg, h);
        break;
    }
    }
}

/* T and P add each other. */
static void
s_nodes_setup(rig_node_t *n)
{
    rig_add(&n[0], &n[1]);
    rig_add(&n[1], &n[0]);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const names[2] = {"t", "w1"};
    static const uint8_t seeds[2] = {1, 2};
    static rig_node_t nodes[2]; /* T and P, kept for the process (rig_nodes_begin) */
    rig_in_t in = {data, size};
    s_heard_t h = {0};
    s_prep_t pr = {0};
    int64_t now = sync_now_ms();

    rig_nodes_begin(nodes, 2, names, seeds, s_nodes_setup);
    rig_node_t *t = &nodes[0], *p = &nodes[1];
    if (!g_l) {
        s_setup(t, p);
    }
    s_loop_begin(t->m);
    s_hear(&h); /* (nothing is left of an earlier run: it heard all; but to be sure) */
    s_heard_free(&h);
    wire_buf_init(&pr.list);
    for (int c = 0; c < S_CMDS_MAX && in.len > 0; c++) {
        uint8_t op = rig_u8(&in);
        session_t *s = g_l->sess[0];
        switch (op >> 4) {
        case 0:
        case 1:
        case 2:
        case 3:
        case 4:
        case 5:
            s_cmd_frame(op, &in, p, &h);
            break;
        case 6:
        case 7: /* P's side of a repair */
            s_cmd_slow(op, &in, p, &pr, &h);
            break;
        case 8:
        case 9: /* P writes */
            rig_write(p, &in);
            break;
        case 10: { /* P takes T's export */
            void *b = NULL;
            size_t len = 0;
            rig_export(t, &b, &len);
            mesh_import_report_t rep = {.size = sizeof rep};
            CHECK(mesh_import(p->m, b, len, &rep) == MESH_OK);
            mesh_free(rep.text);
            mesh_free(b);
            break;
        }
        case 11: /* T's timers, the input moving the clock on */
            now += (int64_t)rig_num(&in, 2) * 4;
            g_l->drained_ms = now;
            session_tick(g_l, now);
            s_hear(&h);
            break;
        case 12: /* T commits a group, or all it queued */
            if (op & 1) {
                session_flush(g_l);
            } else {
                session_flush_group(g_l);
            }
            s_hear(&h);
            rig_check_store(t->m);
            break;
        case 13: /* T writes */
            rig_write(t, &in);
            s->again = true;
            break;
        default: /* T pushes what it may */
            session_push(g_l, s);
            s_hear(&h);
            break;
        }
        CHECK(s->acked_id <= s->sent_id);
        CHECK(inbox_count(g_l->inbox) <= LOOP_QUEUE_BATCHES);
    }
    s_loop_end(&h);
    s_heard_free(&h);
    s_prep_clear(&pr);
    wire_buf_release(&pr.list);
    rig_check_store(t->m);
    rig_check_store(p->m);
    if (getenv("MESH_FUZZ_TRACE")) {
        for (size_t i = 0; i < RIG_COLLS; i++) {
            char dt[65] = "-", dp[65] = "-";
            uint64_t kt = 0, kp = 0;
            mesh_err_t et = mesh_digest(t->m, rig_colls[i], dt, sizeof dt, &kt),
                       ep = mesh_digest(p->m, rig_colls[i], dp, sizeof dp, &kp);
            (void)et, (void)ep; /* ("-": none) */
            fprintf(stderr, "%s: T %.8s (%llu keys), P %.8s (%llu keys)\n", rig_colls[i], dt,
                    (unsigned long long)kt, dp, (unsigned long long)kp);
        }
    }
    return 0;
}
