/* core/sync/fetch.c: asking members for blocks and taking their answers in (docs/PROTOCOL.md
 * §18.6-§18.7).
 * Layer: core (sync). Third-party: none. SPDX-License-Identifier: MIT */
#include "core/sync/fetch.h"

#include "core/folder/blockwork.h"
#include "core/folder/realize.h"
#include "core/wire/blockmsg.h"
#include "crypto/hash.h"

#include <stdlib.h>
#include <string.h>

#define S_TRIED_MAX 8                    /* members a block was asked of, before all again */
#define S_SLOTS     (4 * FETCH_WANT_MAX) /* the want table's slots (a power of two) */

typedef struct s_want {
    uint8_t hash[WIRE_FENTRY_HASH];
    const folder_t *f;             /* a folder that wants it (named in the request) */
    session_t *tried[S_TRIED_MAX]; /* asked already, without a good answer */
    size_t ntried;
    session_t *asked; /* in flight to it, or NULL */
    uint64_t id;      /* the request's id */
    int64_t sent_ms, retry_ms;
    bool seen;     /* still wanted at this turn */
    bool checking; /* its answer is being checked and written by the workers (still in flight) */
} s_want_t;

struct fetch {
    folder_t *const *f; /* the joined folders (the caller's), */
    const size_t *n;    /* and how many */
    s_want_t *want;
    size_t nwant;
    size_t inflight;
    int64_t wanted_ms; /* when the wanted list was last read from the pending files */
    bool wanted_due;   /* a pass ran since (new files may lack blocks): read it at this turn */
    bool wanted_full;  /* the list was full when last read: read it at each turn (room comes) */
    uint64_t next_id;
    size_t next_sess; /* round robin among members */
    uint32_t *slot;   /* want's hash table: index + 1 per slot, 0 empty (S_SLOTS) */
    blockwork_t *bw;  /* the workers that check received blocks, or NULL */
    wire_buf_t body;
};

fetch_t *
fetch_new(folder_t *const *f, const size_t *n)
{
    fetch_t *ft = calloc(1, sizeof *ft);
    if (!ft) {
        return NULL;
    }
    ft->f = f;
    ft->n = n;
    ft->slot = calloc(S_SLOTS, sizeof *ft->slot);
    ft->want = calloc(FETCH_WANT_MAX, sizeof *ft->want);
    wire_buf_init(&ft->body);
    if (!ft->slot || !ft->want) {
        fetch_free(ft);
        return NULL;
    }
    return ft;
}

void
fetch_free(fetch_t *ft)
{
    if (!ft) {
        return;
    }
    blockwork_free(ft->bw);
    wire_buf_release(&ft->body);
    free(ft->want);
    free(ft->slot);
    free(ft);
}

void
fetch_forget(fetch_t *ft, const folder_t *f)
{
    for (size_t w = 0; w < ft->nwant; w++) {
        if (ft->want[w].f == f) {
            ft->want[w].f = NULL; /* its request's answer goes nowhere */
        }
    }
}

void
fetch_passed(fetch_t *ft)
{
    ft->wanted_due = true;
}

/* ---- requests ---- */

/* The slot of hash in the want table: its want's, or the empty one where it goes. */
static uint32_t *
s_slot(fetch_t *ft, const uint8_t *hash)
{
    uint32_t h;
    memcpy(&h, hash, sizeof h); /* (a hash's bytes are uniform) */
    for (size_t k = 0;; k++) {
        uint32_t *slot = &ft->slot[(h + k) & (S_SLOTS - 1)];
        if (!*slot || memcmp(ft->want[*slot - 1].hash, hash, WIRE_FENTRY_HASH) == 0) {
            return slot;
        }
    }
}

/* The want table again from ft->want (its order changes as wants are dropped). */
static void
s_slots_build(fetch_t *ft)
{
    memset(ft->slot, 0, S_SLOTS * sizeof *ft->slot);
    for (size_t i = 0; i < ft->nwant; i++) {
        *s_slot(ft, ft->want[i].hash) = (uint32_t)i + 1;
    }
}

static void
s_want_one(void *ctx, const uint8_t *hash)
{
    fetch_t *ft = ((void **)ctx)[0];
    const folder_t *f = ((void **)ctx)[1];
    uint32_t *slot = s_slot(ft, hash);
    if (*slot) {
        s_want_t *w = &ft->want[*slot - 1];
        w->seen = true;
        if (!w->f) {
            w->f = f;
        }
        return;
    }
    if (ft->nwant < FETCH_WANT_MAX) {
        s_want_t *w = &ft->want[ft->nwant++];
        memset(w, 0, sizeof *w);
        memcpy(w->hash, hash, WIRE_FENTRY_HASH);
        w->f = f;
        w->seen = true;
        *slot = (uint32_t)ft->nwant;
    }
}

static bool
s_tried(const s_want_t *w, const session_t *s)
{
    for (size_t i = 0; i < w->ntried; i++) {
        if (w->tried[i] == s) {
            return true;
        }
    }
    return false;
}

static void
s_mark_tried(fetch_t *ft, s_want_t *w)
{
    if (w->asked) {
        ft->inflight--;
        if (w->ntried < S_TRIED_MAX) {
            w->tried[w->ntried++] = w->asked;
        }
        w->asked = NULL;
    }
}

/* The wants asked of to with want[i] in one BLOCK_REQ (indexes into group, their count):
 * want[i], and when to takes layout 2 (minor FETCH_MULTI_MINOR), the next wants of the same
 * folder that may be asked of it, within FETCH_REQ_BLOCKS and the caps in flight (busy:
 * to's). */
static size_t
s_group(fetch_t *ft, size_t i, const session_t *to, size_t busy, int64_t now, size_t *group)
{
    size_t ng = 0, room = FETCH_REQ_BLOCKS;
    room = FETCH_INFLIGHT_PEER - busy < room ? FETCH_INFLIGHT_PEER - busy : room;
    room = FETCH_INFLIGHT_MAX - ft->inflight < room ? FETCH_INFLIGHT_MAX - ft->inflight : room;
    group[ng++] = i;
    for (size_t j = i + 1; to->minor >= FETCH_MULTI_MINOR && j < ft->nwant && ng < room; j++) {
        const s_want_t *x = &ft->want[j];
        if (!x->asked && !x->checking && x->f == ft->want[i].f && now >= x->retry_ms &&
            !s_tried(x, to)) {
            group[ng++] = j;
        }
    }
    return ng;
}

/* The BLOCK_REQ body of the wants group[0..ng) into ft->body, and msg's: layout 1 for one
 * block, 2 for more. */
static mesh_err_t
s_req_encode(fetch_t *ft, const size_t *group, size_t ng, wire_msg_t *msg)
{
    const folder_t *f = ft->want[group[0]].f;
    mesh_err_t err;
    wire_buf_reset(&ft->body);
    if (ng == 1) {
        wire_block_req_t req = {
            .folder = f->id, .folder_len = strlen(f->id), .hash = ft->want[group[0]].hash};
        err = wire_block_req_encode(&req, &ft->body);
    } else {
        wire_blocks_req_t req = {.folder = f->id, .folder_len = strlen(f->id), .n = ng};
        for (size_t g = 0; g < ng; g++) {
            req.hash[g] = ft->want[group[g]].hash;
        }
        err = wire_blocks_req_encode(&req, &ft->body);
    }
    msg->body = ft->body.data;
    msg->body_len = ft->body.len;
    return err;
}

/* Ask for what is wanted and not in flight, while the caps allow. */
static void
s_request(loop_t *l, fetch_t *ft, int64_t now, sync_send_fn send)
{
    size_t busy[64] = {0}; /* requests in flight to each of the first 64 sessions */
    size_t nsess = l->nsess < 64 ? l->nsess : 64, open = 0;
    for (size_t i = 0; i < ft->nwant; i++) {
        for (size_t k = 0; ft->want[i].asked && k < nsess; k++) {
            busy[k] += l->sess[k] == ft->want[i].asked;
        }
    }
    for (size_t k = 0; k < nsess; k++) {
        session_t *s = l->sess[k];
        open += s->ok && s->connected && busy[k] < FETCH_INFLIGHT_PEER;
    }
    for (size_t i = 0; i < ft->nwant && ft->inflight < FETCH_INFLIGHT_MAX && open; i++) {
        s_want_t *w = &ft->want[i];
        if (w->asked || w->checking || !w->f || now < w->retry_ms) {
            continue;
        }
        session_t *to = NULL;
        size_t at = 0;
        for (size_t k = 0; k < nsess && !to; k++) {
            at = (ft->next_sess + k) % nsess;
            session_t *s = l->sess[at];
            if (s->ok && s->connected && !s_tried(w, s) && busy[at] < FETCH_INFLIGHT_PEER) {
                to = s;
                ft->next_sess = (at + 1) % nsess;
            }
        }
        if (!to) {
            if (w->ntried) { /* every member asked: ask them all again a little later */
                w->ntried = 0;
                w->retry_ms = now + 2000;
            }
            continue;
        }
        size_t group[FETCH_REQ_BLOCKS], ng = s_group(ft, i, to, busy[at], now, group);
        wire_msg_t msg = {.type = WIRE_MSG_BLOCK_REQ, .num = ++ft->next_id};
        if (s_req_encode(ft, group, ng, &msg) != MESH_OK) {
            continue;
        }
        if (send(l, to, &msg) == MESH_OK) {
            to->blocks_asked += ng;
            for (size_t g = 0; g < ng; g++) {
                s_want_t *x = &ft->want[group[g]];
                x->asked = to;
                x->id = msg.num;
                x->sent_ms = now;
            }
            ft->inflight += ng;
            open -= busy[at] < FETCH_INFLIGHT_PEER && busy[at] + ng >= FETCH_INFLIGHT_PEER;
            busy[at] += ng;
        } else if (w->ntried < S_TRIED_MAX) {
            w->tried[w->ntried++] = to;
        }
    }
}

/* Read what the pending files lack into the wanted list (a hash table rebuilt, every block
 * of every pending file looked at): after a pass, when the list was full (room may have come
 * free), else every FETCH_WANTED_MS (files dropped meanwhile: their wants go). Not at
 * every turn: a block that comes takes its want off the list itself, and each turn of a
 * transfer of small files brings one. */
static bool
s_wanted(fetch_t *ft, int64_t now)
{
    if (!ft->wanted_due && !ft->wanted_full && now - ft->wanted_ms < FETCH_WANTED_MS) {
        return false;
    }
    ft->wanted_due = false;
    ft->wanted_ms = now;
    for (size_t i = 0; i < ft->nwant; i++) {
        ft->want[i].seen = false;
    }
    s_slots_build(ft);
    for (size_t i = 0; i < *ft->n; i++) {
        void *ctx[2] = {ft, ft->f[i]};
        realize_wanted(ft->f[i], s_want_one, ctx);
    }
    ft->wanted_full = ft->nwant == FETCH_WANT_MAX;
    return true;
}

void
fetch_turn(loop_t *l, fetch_t *ft, int64_t now, sync_send_fn send)
{
    bool read = s_wanted(ft, now);
    for (size_t i = 0; i < ft->nwant;) {
        s_want_t *w = &ft->want[i];
        if (w->asked && now - w->sent_ms > FETCH_REQ_TIMEOUT_MS) {
            node_log(l->m, MESH_LOG_INFO, "a block asked of %s came not in time: asking another",
                     w->asked->id);
            s_mark_tried(ft, w);
        }
        if (read && !w->seen && !w->asked && !w->checking) {
            ft->want[i] = ft->want[--ft->nwant];
        } else {
            i++;
        }
    }
    s_request(l, ft, now, send);
}

/* w's answer from s was refused (not held, or not the block asked for: bad): asked again,
 * of another member. */
static void
s_refused(loop_t *l, fetch_t *ft, s_want_t *w, const session_t *s, bool bad)
{
    if (bad) {
        node_log(l->m, MESH_LOG_WARN,
                 "a block from %s does not match its hash: refused, asking another member", s->id);
    }
    w->checking = false;
    s_mark_tried(ft, w);
}

/* w's block is in, checked and written where it was wanted: w is done. (The records of the
 * files it finished are kept by s_save.) */
static void
s_taken(fetch_t *ft, s_want_t *w)
{
    ft->inflight--;
    *w = ft->want[--ft->nwant];
}

/* A job the workers finished: its places are held (or not, when it was bad). */
static void
s_checked(loop_t *l, fetch_t *ft, blockwork_job_t *job)
{
    s_want_t *w = NULL;
    for (size_t i = 0; i < ft->nwant && !w; i++) {
        if (ft->want[i].checking && ft->want[i].id == job->num &&
            memcmp(ft->want[i].hash, job->hash, WIRE_FENTRY_HASH) == 0) {
            w = &ft->want[i];
        }
    }
    for (size_t i = 0; i < *ft->n; i++) {
        (void)realize_block_done(l->m, ft->f[i], job); /* (a bad one: its places let go) */
    }
    if (w && job->good) {
        s_taken(ft, w);
    } else if (w) {
        w->asked = job->from; /* (so that it counts as tried) */
        s_refused(l, ft, w, job->from, true);
    }
    blockwork_job_free(job);
}

void
fetch_checked(loop_t *l, fetch_t *ft, bool drain)
{
    if (!ft->bw) {
        return;
    }
    if (drain) {
        blockwork_drain(ft->bw);
    }
    for (blockwork_job_t *job; (job = blockwork_done(ft->bw));) {
        s_checked(l, ft, job);
    }
    /* (jobs still under way: the workers wake the loop when 8 more are done or the last
     * is, s_workers_wake; no quick turns while they run) */
}

/* The workers have finished jobs for the loop (blockwork_new): wake it (its eventfd, m->wake:
 * safe from any thread, and set for as long as the workers live, which folders_close joins
 * before the loop lets go of its wake). */
static void
s_workers_wake(void *ctx)
{
    mesh_t *m = ctx;
    if (m->wake) {
        m->wake(m->wake_ctx);
    }
}

/* Hand w's block (data[0..len), its name said to be w's) to the workers, with the places
 * that want it: checked and written there off the loop thread. False when it could not be
 * (no workers, out of memory): the caller checks and writes it here. */
static bool
s_to_workers(loop_t *l, fetch_t *ft, s_want_t *w, const session_t *s, uint64_t num,
             const uint8_t *data, size_t len)
{
    if (!ft->bw && !(ft->bw = blockwork_new(BLOCKWORK_THREADS, s_workers_wake, l->m))) {
        return false;
    }
    blockwork_job_t *job = blockwork_job_new(w->hash, data, len);
    if (!job) {
        return false;
    }
    job->num = num;
    job->from = (void *)s;
    for (size_t i = 0; i < *ft->n; i++) {
        (void)realize_block_places(ft->f[i], job);
    }
    blockwork_submit(ft->bw, &job);
    w->asked = NULL; /* (still in flight: ft->inflight counts it until it is checked) */
    w->checking = true;
    return true;
}

/* One block answered by s to its request num: the want asked of s under num with blk's
 * hash; a BLOCK of layout 1 (alone) with another hash is taken as the answer to the request's
 * block (one of layout 1) and refused. Late ones (asked of another since), and blocks of a
 * BLOCK of layout 2 that were not asked, are passed over. */
static void
s_on_entry(loop_t *l, fetch_t *ft, session_t *s, uint64_t num, const wire_block_t *blk, bool alone)
{
    s_want_t *w = NULL, *any = NULL;
    for (size_t i = 0; i < ft->nwant && !w; i++) {
        if (ft->want[i].asked == s && ft->want[i].id == num) {
            any = any ? any : &ft->want[i];
            w = memcmp(ft->want[i].hash, blk->hash, WIRE_FENTRY_HASH) == 0 ? &ft->want[i] : NULL;
        }
    }
    w = w ? w : alone ? any : NULL;
    if (!w) {
        return; /* late, after a timeout: asked of another already */
    }
    if (blk->status != WIRE_BLOCK_HERE || memcmp(blk->hash, w->hash, HASH_LEN) != 0) {
        s_refused(l, ft, w, s, blk->status == WIRE_BLOCK_HERE);
        return;
    }
    if (s_to_workers(l, ft, w, s, num, blk->data, blk->data_len)) {
        return;
    }
    uint8_t got[HASH_LEN];
    hash_tagged(HASH_TAG_BLOCK, blk->data, blk->data_len, got);
    if (memcmp(got, w->hash, HASH_LEN) != 0) {
        s_refused(l, ft, w, s, true);
        return;
    }
    for (size_t i = 0; i < *ft->n; i++) {
        (void)realize_block(l->m, ft->f[i], w->hash, blk->data, blk->data_len);
    }
    s_taken(ft, w);
}

/* (layout 2: each block taken as one of layout 1) */
mesh_err_t
fetch_on_block(loop_t *l, fetch_t *ft, session_t *s, const wire_msg_t *msg)
{
    wire_block_t blk;
    if (wire_block_decode(msg->body, msg->body_len, &blk) == MESH_OK) {
        s_on_entry(l, ft, s, msg->num, &blk, true);
        return MESH_OK;
    }
    wire_blocks_t many;
    if (wire_blocks_decode(msg->body, msg->body_len, &many) != MESH_OK) {
        return MESH_EPROTO;
    }
    for (size_t i = 0; i < many.n; i++) {
        s_on_entry(l, ft, s, msg->num, &many.blk[i], false);
    }
    return MESH_OK;
}
