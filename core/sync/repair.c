/* core/sync/repair.c: the slow path with one member (docs/PROTOCOL.md §13). The side that
 * starts goes through its collections one after the other: a RANGE with its digest and
 * first range list; the peer answers "equal" (an empty list) when its digest is the same,
 * else the two answer each other's lists until the reconciliation is over; then each sends
 * the versions it found the other lacks in REPAIR messages, the last with more = 0, and
 * applies the other's. When both are through, the repair of that collection is logged.
 * Layer: core (sync). Third-party: none. SPDX-License-Identifier: MIT */
#include "core/sync/repair.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/testhook.h"
#include "core/bundle/repair.h"
#include "core/data/recon.h"
#include "core/member/access.h"
#include "core/member/member.h"
#include "crypto/ident.h"

struct sync_repair {
    uint64_t id;
    bool initiator;
    const char *reason;
    char (*colls)[MESH_COLL_MAX + 1]; /* the initiator's collections, in name order */
    size_t ncolls, ci;                /* and the next one */
    char coll[MESH_COLL_MAX + 1];     /* the one under way ("" : none) */
    recon_set_t *set;                 /* its snapshot */
    recon_t *r;
    uint8_t key[RECON_KEY_LEN]; /* the item hashes' key, the starting side's choice */
    size_t next;                /* the next item of the snapshot to export */
    bool sent_all;              /* our last REPAIR went */
    bool peer_done;             /* the peer's last REPAIR came */
    int64_t heard_ms, start_ms;
    int64_t active_ms; /* something heard or sent of it last (repair_live) */
    uint64_t lists, list_bytes, items_out, bytes_out, items_in, bytes_in;
    wire_buf_t buf;
};

/* Forget the collection under way. */
static void
s_coll_clear(sync_repair_t *rp)
{
    recon_free(rp->r);
    recon_set_free(rp->set);
    rp->r = NULL;
    rp->set = NULL;
    rp->coll[0] = '\0';
    rp->next = 0;
    rp->sent_all = rp->peer_done = false;
    rp->lists = rp->list_bytes = rp->items_out = rp->bytes_out = rp->items_in = rp->bytes_in = 0;
}

void
repair_end(session_t *s)
{
    sync_repair_t *rp = s->repair;
    if (!rp) {
        return;
    }
    s_coll_clear(rp);
    free(rp->colls);
    wire_buf_release(&rp->buf);
    free(rp);
    s->repair = NULL;
}

/* Snapshot coll (none held: an empty one) under key, and its digest (zero when none).
 * With same (a peer's digest): when ours equals it, *set stays NULL (nothing to compare). */
static mesh_err_t
s_snapshot(loop_t *l, const session_t *s, const char *coll, const uint8_t *key, const uint8_t *same,
           recon_set_t **set, uint8_t *digest)
{
    access_list_t access = {0};
    store_txn_t *txn = NULL;
    uint32_t cid = 0;
    store_coll_stats_t stats;
    *set = NULL;
    memset(digest, 0, WIRE_DIGEST_LEN);
    mesh_err_t err = store_read_begin(l->m->store, &txn);
    if (err == MESH_OK) {
        err = store_coll_id(txn, coll, false, &cid);
    }
    if (err == MESH_OK && strcmp(coll, MEMBER_COLL) != 0) {
        /* a peer that may not hold it (§8.3) compares against nothing and is sent nothing */
        err = access_list_load(txn, coll, &access);
        err = err == MESH_OK && !access_list_has(&access, s->device) ? MESH_ENOTFOUND : err;
        access_list_release(&access);
    }
    if (err == MESH_ENOTFOUND) {
        store_read_end(txn);
        return same && memcmp(same, digest, WIRE_DIGEST_LEN) == 0 ? MESH_OK : recon_set_new(set);
    }
    if (err == MESH_OK) {
        err = store_coll_stats_get(txn, cid, &stats);
    }
    if (err == MESH_OK) {
        memcpy(digest, stats.digest, WIRE_DIGEST_LEN);
    }
    if (err == MESH_OK && !(same && memcmp(same, digest, WIRE_DIGEST_LEN) == 0)) {
        err = recon_set_load(txn, cid, key, set);
    }
    store_read_end(txn);
    return err;
}

/* Send the range list in rp->buf; the first of a collection carries digest and key. */
static mesh_err_t
s_send_range(loop_t *l, session_t *s, sync_repair_t *rp, const uint8_t *digest, sync_send_fn send)
{
    wire_msg_t msg = {.type = WIRE_MSG_RANGE,
                      .num = rp->id,
                      .coll = rp->coll,
                      .coll_len = strlen(rp->coll),
                      .digest = digest,
                      .hash_key = digest ? rp->key : NULL,
                      .body = rp->buf.data,
                      .body_len = rp->buf.len};
    rp->lists++;
    rp->list_bytes += rp->buf.len;
    return send(l, s, &msg);
}

/* The collection is through on both sides: say what moved. */
static void
s_coll_done(loop_t *l, session_t *s, sync_repair_t *rp)
{
    bool moved = rp->items_in || rp->items_out;
    node_log(l->m, moved ? MESH_LOG_WARN : MESH_LOG_INFO,
             "repair of collection \"%s\" with %s (%s): %llu items in (%llu bytes), %llu items "
             "out (%llu bytes), %llu range lists (%llu bytes), %lld ms",
             rp->coll, s->id, rp->reason, (unsigned long long)rp->items_in,
             (unsigned long long)rp->bytes_in, (unsigned long long)rp->items_out,
             (unsigned long long)rp->bytes_out, (unsigned long long)rp->lists,
             (unsigned long long)rp->list_bytes, (long long)(sync_now_ms() - rp->start_ms));
    s->repairs += moved;
    s_coll_clear(rp);
}

/* The initiator's next collection: its snapshot, digest and first list. The repair ends
 * after the last. */
static mesh_err_t
s_next_coll(loop_t *l, session_t *s, sync_repair_t *rp, sync_send_fn send)
{
    uint8_t digest[WIRE_DIGEST_LEN];
    if (rp->ci == rp->ncolls) {
        node_log(l->m, MESH_LOG_DEBUG, "repair with %s: every collection compared", s->id);
        repair_end(s);
        return MESH_OK;
    }
    snprintf(rp->coll, sizeof rp->coll, "%s", rp->colls[rp->ci++]);
    rp->start_ms = sync_now_ms();
    ident_random(rp->key, sizeof rp->key);
    mesh_err_t err = s_snapshot(l, s, rp->coll, rp->key, NULL, &rp->set, digest);
    if (err == MESH_OK) {
        err = recon_new(rp->set, &rp->r);
    }
    wire_buf_reset(&rp->buf);
    if (err == MESH_OK) {
        err = recon_start(rp->r, &rp->buf);
    }
    if (err == MESH_OK) {
        err = s_send_range(l, s, rp, digest, send);
    }
    rp->active_ms = sync_now_ms(); /* (after our snapshot: a new collection under way) */
    return err;
}

/* Send the versions found, in REPAIR messages of about REPAIR_BATCH bytes, while the link
 * takes them; then, when the peer's came too, the collection is done. */
static mesh_err_t
s_push(loop_t *l, session_t *s, sync_repair_t *rp, sync_send_fn send)
{
    mesh_err_t err = MESH_OK;
    size_t n = recon_set_count(rp->set);
    for (int k = 0; k < 4 && !rp->sent_all && err == MESH_OK; k++) {
        size_t next = rp->next, items = 0;
        wire_buf_reset(&rp->buf);
        err = repair_export(l->m, rp->coll, rp->set, rp->r, &next, REPAIR_BATCH, &rp->buf, &items);
        if (err != MESH_OK) {
            break;
        }
        bool more = next < n;
        wire_msg_t msg = {.type = WIRE_MSG_REPAIR,
                          .num = rp->id,
                          .body = rp->buf.data,
                          .body_len = rp->buf.len,
                          .more = more};
        if (send(l, s, &msg) != MESH_OK) {
            break; /* the link is busy: next turn */
        }
        rp->next = next;
        rp->active_ms = sync_now_ms();
        rp->items_out += items;
        rp->bytes_out += rp->buf.len;
        rp->sent_all = !more;
    }
    if (err == MESH_OK && rp->sent_all && rp->peer_done) {
        s_coll_done(l, s, rp);
        return rp->initiator ? s_next_coll(l, s, rp, send) : (repair_end(s), MESH_OK);
    }
    return err;
}

mesh_err_t
repair_start(loop_t *l, session_t *s, const char *reason, sync_send_fn send)
{
    store_txn_t *txn = NULL;
    store_cursor_t *cur = NULL;
    sync_repair_t *rp = calloc(1, sizeof *rp);
    if (!rp) {
        return MESH_ENOMEM;
    }
    repair_end(s);
    s->repair = rp;
    s->repair_ms = sync_now_ms();
    rp->initiator = true;
    rp->reason = reason;
    rp->heard_ms = rp->active_ms = s->repair_ms;
    wire_buf_init(&rp->buf);
    ident_random(&rp->id, sizeof rp->id);
    mesh_err_t err = store_read_begin(l->m->store, &txn);
    if (err == MESH_OK) {
        err = store_colls_open(txn, &cur);
    }
    char name[MESH_COLL_MAX + 1];
    uint32_t cid = 0;
    while (err == MESH_OK && (err = store_colls_next(cur, name, &cid)) == MESH_OK) {
        void *c = realloc(rp->colls, (rp->ncolls + 1) * sizeof *rp->colls);
        if (!c) {
            err = MESH_ENOMEM;
            break;
        }
        rp->colls = c;
        snprintf(rp->colls[rp->ncolls++], sizeof *rp->colls, "%s", name);
    }
    store_cursor_close(cur);
    store_read_end(txn);
    err = err == MESH_ENOTFOUND ? MESH_OK : err;
    node_log(l->m, MESH_LOG_INFO, "repair with %s: %s; comparing %zu collections", s->id, reason,
             rp->ncolls);
    if (err == MESH_OK) {
        err = s_next_coll(l, s, rp, send);
    }
    if (err != MESH_OK) {
        repair_end(s);
    }
    return err;
}

/* A RANGE that starts a repair here: answered "equal" at once when the digests are, else
 * a repair of that collection begins on this side. */
static mesh_err_t
s_on_start(loop_t *l, session_t *s, const wire_msg_t *msg, const char *coll, sync_send_fn send)
{
    uint8_t digest[WIRE_DIGEST_LEN];
    recon_set_t *set = NULL;
    repair_end(s);
    mesh_err_t err = s_snapshot(l, s, coll, msg->hash_key, msg->digest, &set, digest);
    if (err != MESH_OK) {
        return err;
    }
    sync_repair_t *rp = calloc(1, sizeof *rp);
    if (!rp) {
        recon_set_free(set);
        return MESH_ENOMEM;
    }
    s->repair = rp;
    rp->id = msg->num;
    rp->reason = "asked by the peer";
    rp->heard_ms = rp->active_ms = rp->start_ms = sync_now_ms();
    rp->set = set;
    wire_buf_init(&rp->buf);
    snprintf(rp->coll, sizeof rp->coll, "%s", coll);
    if (!set) {
        err = s_send_range(l, s, rp, NULL, send); /* an empty list: nothing differs */
        repair_end(s);
        return err;
    }
    return recon_new(set, &rp->r);
}

/* May the peer's RANGE starting a repair of coll under id be answered? Each start costs a
 * snapshot of the collection (a read of every item), so a member gets one new repair in
 * REPAIR_ANSWER_MS (an honest one starts one in REPAIR_RETRY_MS), and within one repair each
 * collection once, in name order, as the initiator goes through them (§13). The rest are
 * not answered (the peer's repair is given up when idle) and counted; the log says so at
 * the 1st, 2nd, 4th, 8th... refusal. */
static bool
s_may_answer(loop_t *l, session_t *s, uint64_t id, const char *coll)
{
    int64_t now = sync_now_ms();
    bool same = s->answer_ms && s->answer_id == id;
    bool refuse = testhook_number(TESTHOOK_REPAIR_REFUSE, 0) == 1;
    if (!refuse && (same ? strcmp(coll, s->answer_coll) > 0
                         : !s->answer_ms || now - s->answer_ms >= REPAIR_ANSWER_MS)) {
        if (!same) {
            s->answer_id = id;
            s->answer_ms = now;
        }
        snprintf(s->answer_coll, sizeof s->answer_coll, "%s", coll);
        return true;
    }
    s->answers_refused++;
    if ((s->answers_refused & (s->answers_refused - 1)) ==
        0) { /* 1, 2, 4, 8...: a flood logs little */
        node_log(l->m, MESH_LOG_WARN,
                 "repair asked by %s not answered: %s (%llu refused since the loop started)", s->id,
                 refuse ? "refused by the test hook"
                 : same ? "a collection out of order"
                        : "too soon after its last one",
                 (unsigned long long)s->answers_refused);
    }
    return false;
}

mesh_err_t
repair_on_msg(loop_t *l, session_t *s, const wire_msg_t *msg, sync_send_fn send)
{
    char coll[MESH_COLL_MAX + 1];
    mesh_err_t err = MESH_OK;
    if (msg->type == WIRE_MSG_RANGE) {
        snprintf(coll, sizeof coll, "%.*s", (int)msg->coll_len, msg->coll);
        if (msg->digest && !msg->hash_key) {
            return MESH_EPROTO; /* a repair's first RANGE carries both */
        }
        if (msg->digest && (!s->repair || s->repair->initiator || s->repair->id != msg->num)) {
            if (!s_may_answer(l, s, msg->num, coll)) {
                return MESH_OK; /* not answered: its repair is given up when idle */
            }
            err = s_on_start(l, s, msg, coll, send);
            if (err != MESH_OK) {
                node_log(l->m, MESH_LOG_WARN, "repair asked by %s not started: %s", s->id,
                         mesh_strerror(err));
                repair_end(s);
                return MESH_OK;
            }
        }
    }
    sync_repair_t *rp = s->repair;
    if (!rp || rp->id != msg->num || !rp->r) {
        return MESH_OK; /* of a repair given up here */
    }
    rp->heard_ms = rp->active_ms = sync_now_ms();
    if (msg->type == WIRE_MSG_REPAIR) {
        size_t stored = 0;
        err = repair_apply(l->m, rp->coll, msg->body, msg->body_len, &stored);
        if (err == MESH_EPROTO) {
            return err;
        }
        if (err != MESH_OK) {
            node_log(l->m, MESH_LOG_ERROR, "repair with %s: applying versions failed: %s", s->id,
                     mesh_strerror(err));
            repair_end(s);
            return MESH_OK;
        }
        rp->items_in += stored;
        rp->bytes_in += msg->body_len;
        rp->peer_done = !msg->more;
        return recon_done(rp->r) ? s_push(l, s, rp, send) : MESH_OK;
    }
    if (strcmp(coll, rp->coll) != 0) {
        return MESH_EPROTO;
    }
    rp->lists++;
    rp->list_bytes += msg->body_len;
    if (msg->body_len == 0 && rp->initiator) {
        node_log(l->m, MESH_LOG_DEBUG, "repair with %s: \"%s\" is equal", s->id, rp->coll);
        s_coll_clear(rp);
        return s_next_coll(l, s, rp, send);
    }
    bool reply = false;
    wire_buf_reset(&rp->buf);
    err = recon_answer(rp->r, msg->body, msg->body_len, &rp->buf, &reply);
    if (err == MESH_OK && reply) {
        err = s_send_range(l, s, rp, NULL, send);
        err = err == MESH_EBUSY || err == MESH_ENOTFOUND ? MESH_OK : err; /* the timer gives up */
    }
    if (err == MESH_OK && recon_done(rp->r)) {
        err = s_push(l, s, rp, send);
    }
    if (err != MESH_OK) {
        node_log(l->m, MESH_LOG_WARN, "repair with %s given up: %s", s->id, mesh_strerror(err));
        repair_end(s);
    }
    return err == MESH_EPROTO || err == MESH_ETOOBIG ? err : MESH_OK;
}

bool
repair_live(const loop_t *l, const session_t *s, int64_t now)
{
    return s->repair && now - s->repair->active_ms <= REPAIR_QUIET_MS * l->slow;
}

void
repair_tick(loop_t *l, session_t *s, int64_t now, sync_send_fn send)
{
    sync_repair_t *rp = s->repair;
    if (!rp) {
        return;
    }
    if (now - rp->heard_ms > REPAIR_IDLE_MS * l->slow) {
        node_log(l->m, MESH_LOG_INFO, "repair with %s given up: nothing heard for %d s", s->id,
                 REPAIR_IDLE_MS / 1000);
        repair_end(s);
        return;
    }
    if (rp->r && recon_done(rp->r) && !rp->sent_all && s_push(l, s, rp, send) != MESH_OK) {
        node_log(l->m, MESH_LOG_WARN, "repair with %s given up: its versions could not be read",
                 s->id);
        repair_end(s);
    }
}
