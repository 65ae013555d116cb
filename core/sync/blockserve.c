/* core/sync/blockserve.c: answers to members' BLOCK_REQs (docs/PROTOCOL.md §18.6-§18.7).
 * Layer: core (sync). Third-party: none. SPDX-License-Identifier: MIT */
#include "core/sync/blockserve.h"

#include "core/base/testhook.h"
#include "core/member/share.h"
#include "core/wire/blockmsg.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define S_ACCESS_KEPT 16 /* (folder, member) read rights remembered per store transaction */

/* May this member read this folder's collection? (As of one store transaction.) */
typedef struct s_access {
    const folder_t *f;
    uint8_t device[WIRE_ORIGIN_LEN];
    bool yes;
} s_access_t;

/* A request that came past the answer cap: answered when the next second's budget allows. */
typedef struct s_later {
    session_t *s;          /* (sessions live as long as the loop) */
    uint64_t peer_session; /* its HELLO's session id then (a restart: not answered) */
    uint64_t num;          /* the request's id */
    uint8_t hash[WIRE_FENTRY_HASH];
    size_t folder_len;
    char folder[WIRE_BLOCKMSG_ID_MAX];
} s_later_t;

struct blockserve {
    folder_t *const *f;               /* the joined folders (the caller's), */
    const size_t *n;                  /* how many, */
    blockidx_t *bi;                   /* and their block index */
    int64_t answer_s;                 /* the second of the answers counted, */
    uint32_t answers;                 /* and how many, */
    uint64_t answer_bytes;            /* of how many bytes */
    s_later_t *later;                 /* requests past the cap (a ring of BLOCKSERVE_LATER), */
    size_t later_at, nlater;          /* its first and how many */
    s_access_t access[S_ACCESS_KEPT]; /* read rights asked lately (a ring), */
    size_t naccess;                   /* how many were asked, */
    uint64_t access_txnid;            /* at this store transaction */
    uint8_t *block;                   /* an answer's blocks (2 MiB: s_answer_many) */
    uint64_t busy_seen;               /* (test hook: answers refused as if queues were full) */
    wire_buf_t body;
};

blockserve_t *
blockserve_new(folder_t *const *f, const size_t *n, blockidx_t *bi)
{
    blockserve_t *bs = calloc(1, sizeof *bs);
    if (!bs) {
        return NULL;
    }
    bs->f = f;
    bs->n = n;
    bs->bi = bi;
    bs->later = calloc(BLOCKSERVE_LATER, sizeof *bs->later);
    bs->block = malloc(2 * WIRE_FENTRY_BLOCK_MAX); /* (an answer's blocks, and one more) */
    wire_buf_init(&bs->body);
    if (!bs->later || !bs->block) {
        blockserve_free(bs);
        return NULL;
    }
    return bs;
}

void
blockserve_free(blockserve_t *bs)
{
    if (!bs) {
        return;
    }
    wire_buf_release(&bs->body);
    free(bs->later);
    free(bs->block);
    free(bs);
}

void
blockserve_forget(blockserve_t *bs)
{
    bs->naccess = 0;
}

/* May member s read folder f (hold its collection: the access list, §8.3; every member
 * while the collection was never shared)? Asked of the store once per (folder, member)
 * and store transaction. */
static bool
s_may_read(loop_t *l, blockserve_t *bs, const folder_t *f, const session_t *s)
{
    uint64_t txnid = store_last_txnid(l->m->store);
    if (txnid != bs->access_txnid) {
        bs->access_txnid = txnid;
        bs->naccess = 0;
    }
    size_t kept = bs->naccess < S_ACCESS_KEPT ? bs->naccess : S_ACCESS_KEPT;
    for (size_t i = 0; i < kept; i++) {
        if (bs->access[i].f == f && memcmp(bs->access[i].device, s->device, WIRE_ORIGIN_LEN) == 0) {
            return bs->access[i].yes;
        }
    }
    bool yes = false;
    if (share_may_hold(l->m, f->coll, s->device, &yes) != MESH_OK) {
        yes = false; /* (the access records could not be read: nothing is answered) */
    }
    s_access_t *a = &bs->access[bs->naccess++ % S_ACCESS_KEPT];
    a->f = f;
    memcpy(a->device, s->device, WIRE_ORIGIN_LEN);
    a->yes = yes;
    return yes;
}

/* Is there room left in this second's answer budget (BLOCKSERVE_PER_S, and
 * BLOCKSERVE_BYTES_S)? */
static bool
s_budget(blockserve_t *bs)
{
    int64_t sec = sync_now_ms() / 1000;
    if (sec != bs->answer_s) {
        bs->answer_s = sec;
        bs->answers = 0;
        bs->answer_bytes = 0;
    }
    return bs->answers < BLOCKSERVE_PER_S &&
           bs->answer_bytes < testhook_number(TESTHOOK_ANSWER_BYTES_S, BLOCKSERVE_BYTES_S);
}

/* The folder [folder, folder_len) if joined, else NULL. */
static const folder_t *
s_joined(blockserve_t *bs, const char *folder, size_t folder_len)
{
    for (size_t i = 0; i < *bs->n; i++) {
        if (strlen(bs->f[i]->id) == folder_len && memcmp(bs->f[i]->id, folder, folder_len) == 0) {
            return bs->f[i];
        }
    }
    return NULL;
}

/* One answer, counted in the second's budget: the block hash of joined (NULL: a folder not
 * joined, or one s may not read) read into buf (WIRE_FENTRY_BLOCK_MAX bytes), or not held. */
static wire_block_t
s_answer_block(blockserve_t *bs, const folder_t *joined, const uint8_t *hash, uint8_t *buf)
{
    wire_block_t blk = {.status = WIRE_BLOCK_NOT_HELD, .hash = hash};
    size_t len = 0;
    bs->answers++;
    if (!joined || blockidx_answer(bs->bi, hash, buf, WIRE_FENTRY_BLOCK_MAX, &len) != MESH_OK) {
        return blk;
    }
    blk.status = WIRE_BLOCK_HERE;
    blk.data = buf;
    blk.data_len = len;
    bs->answer_bytes += len;
    uint64_t pause = testhook_number(TESTHOOK_BLOCK_PAUSE_MS, 0);
    if (pause) { /* test hook: a slow member (a transfer long enough to be cut) */
        struct timespec ts = {(time_t)(pause / 1000), (long)(pause % 1000) * 1000000L};
        nanosleep(&ts, NULL);
    }
    if (testhook_number(TESTHOOK_BAD_BLOCKS, 0) == 1) {
        buf[len / 2] ^= 0x01; /* test hook: a member that sends wrong blocks */
    }
    return blk;
}

/* Start bs->body with room for a BLOCK's head (s_send_body: its body is encoded after it,
 * and the message sent from there, not copied into another buffer). False: out of memory. */
static bool
s_body_start(blockserve_t *bs)
{
    static const uint8_t room[WIRE_MSG_HEAD_MAX];
    wire_buf_reset(&bs->body);
    return wire_buf_append(&bs->body, room, sizeof room) == MESH_OK;
}

/* Send the body encoded in bs->body after s_body_start to s as a BLOCK answering num.
 * MESH_EBUSY: the member's queue is full (nothing sent: kept for later by the caller). */
static mesh_err_t
s_send_body(loop_t *l, blockserve_t *bs, session_t *s, uint64_t num, sync_send_fn send)
{
    uint8_t head[WIRE_MSG_HEAD_MAX];
    wire_msg_t out = {.type = WIRE_MSG_BLOCK,
                      .num = num,
                      .body = bs->body.data + WIRE_MSG_HEAD_MAX,
                      .body_len = bs->body.len - WIRE_MSG_HEAD_MAX};
    size_t n = wire_msg_head(&out, head);
    if (n) {
        uint8_t *at = bs->body.data + WIRE_MSG_HEAD_MAX - n; /* (right before the body) */
        memcpy(at, head, n);
        out.encoded = at;
        out.encoded_len = n + out.body_len;
    }
    /* (test hook: the first N answers find the member's queue full) */
    uint64_t busy = testhook_number(TESTHOOK_BLOCK_BUSY, 0);
    if (bs->busy_seen < busy) {
        bs->busy_seen++;
        return MESH_EBUSY;
    }
    return send(l, s, &out); /* (no head: encoded from the fields, as before) */
}

/* Send blk to s as the answer (layout 1) to its request num. False: s's queue is full. */
static bool
s_send_block(loop_t *l, blockserve_t *bs, session_t *s, uint64_t num, const wire_block_t *blk,
             sync_send_fn send)
{
    return !(s_body_start(bs) && wire_block_encode(blk, &bs->body) == MESH_OK) ||
           s_send_body(l, bs, s, num, send) != MESH_EBUSY;
}

/* Answer request num of s: the block hash from folder [folder, folder_len), or not held.
 * False: s's queue was full, nothing was sent (the caller keeps the request for later). */
static bool
s_answer(loop_t *l, blockserve_t *bs, session_t *s, uint64_t num, const char *folder,
         size_t folder_len, const uint8_t *hash, sync_send_fn send)
{
    const folder_t *joined = s_joined(bs, folder, folder_len);
    /* only a member that may read the folder's collection is answered from it (§18.6) */
    joined = joined && s_may_read(l, bs, joined, s) ? joined : NULL;
    wire_block_t blk = s_answer_block(bs, joined, hash, bs->block);
    return s_send_block(l, bs, s, num, &blk, send);
}

void
blockserve_later(loop_t *l, blockserve_t *bs, sync_send_fn send)
{
    while (bs->nlater && s_budget(bs)) {
        s_later_t *r = &bs->later[bs->later_at];
        if (r->s->ok && r->s->connected && r->s->peer_session == r->peer_session &&
            !s_answer(l, bs, r->s, r->num, r->folder, r->folder_len, r->hash, send)) {
            break; /* (its queue is full: it stays first, for the next turn) */
        }
        bs->later_at = (bs->later_at + 1) % BLOCKSERVE_LATER;
        bs->nlater--;
    }
}

/* Keep s's request num for block hash of folder [folder, folder_len) for a later second
 * (BLOCKSERVE_LATER blocks in order; past that, dropped: the asker times out and asks again). */
static void
s_later_keep(blockserve_t *bs, session_t *s, uint64_t num, const char *folder, size_t folder_len,
             const uint8_t *hash)
{
    if (bs->nlater < BLOCKSERVE_LATER) {
        s_later_t *r = &bs->later[(bs->later_at + bs->nlater++) % BLOCKSERVE_LATER];
        r->s = s;
        r->peer_session = s->peer_session;
        r->num = num;
        memcpy(r->hash, hash, WIRE_FENTRY_HASH);
        memcpy(r->folder, folder, folder_len); /* (at most WIRE_BLOCKMSG_ID_MAX) */
        r->folder_len = folder_len;
    }
}

/* A BLOCK_REQ of layout 2: the blocks the second's budget allows answered in one BLOCK of
 * layout 2 (WIRE_BLOCKMSG_MULTI_BYTES of data at most: a block past that is sent alone in
 * its own BLOCK of layout 1), the others kept for a later second one by one, as requests of
 * layout 1 are (their answers of layout 1, each with the request's number). */
static void
s_answer_many(loop_t *l, blockserve_t *bs, session_t *s, uint64_t num, const wire_blocks_req_t *req,
              sync_send_fn send)
{
    const folder_t *joined = s_joined(bs, req->folder, req->folder_len);
    joined = joined && s_may_read(l, bs, joined, s) ? joined : NULL;
    wire_blocks_t out = {.n = 0};
    size_t used = 0;
    for (size_t i = 0; i < req->n; i++) {
        if (bs->nlater || !s_budget(bs)) {
            s_later_keep(bs, s, num, req->folder, req->folder_len, req->hash[i]);
            continue;
        }
        wire_block_t blk = s_answer_block(bs, joined, req->hash[i], bs->block + used);
        if (used + blk.data_len > WIRE_BLOCKMSG_MULTI_BYTES) {
            if (!s_send_block(l, bs, s, num, &blk, send)) {
                s_later_keep(bs, s, num, req->folder, req->folder_len, req->hash[i]);
            }
            continue;
        }
        used += blk.data_len;
        out.blk[out.n++] = blk;
    }
    if (out.n && s_body_start(bs) && wire_blocks_encode(&out, &bs->body) == MESH_OK &&
        s_send_body(l, bs, s, num, send) == MESH_EBUSY) {
        for (size_t k = 0; k < out.n; k++) { /* (its queue is full: each one later) */
            s_later_keep(bs, s, num, req->folder, req->folder_len, out.blk[k].hash);
        }
    }
}

/* (past the budget, kept, BLOCKSERVE_LATER blocks in order, and answered in a later
 * second, so that the asker waits no timeout; past that too, dropped: the asker times out
 * and asks again, or another member) */
mesh_err_t
blockserve_on_req(loop_t *l, blockserve_t *bs, session_t *s, const wire_msg_t *msg,
                  sync_send_fn send)
{
    wire_block_req_t req;
    wire_blocks_req_t many;
    bool one = wire_block_req_decode(msg->body, msg->body_len, &req) == MESH_OK;
    if (!one && wire_blocks_req_decode(msg->body, msg->body_len, &many) != MESH_OK) {
        return MESH_EPROTO;
    }
    s->blocks_asked_in += one ? 1 : many.n;
    blockserve_later(l, bs, send);
    if (!one) {
        s_answer_many(l, bs, s, msg->num, &many, send);
    } else if (!bs->nlater && s_budget(bs)) {
        if (!s_answer(l, bs, s, msg->num, req.folder, req.folder_len, req.hash, send)) {
            s_later_keep(bs, s, msg->num, req.folder, req.folder_len, req.hash);
        }
    } else {
        s_later_keep(bs, s, msg->num, req.folder, req.folder_len, req.hash);
    }
    return MESH_OK;
}
