/* core/sync/status.c: what the loop reports about its sync, and when it publishes it.
 * Owns: per session the counts of what is left each way (vector_count, kept: counted again
 * only when the store or the peer's view changed, and at most a tenth of the time), the
 * receive rate, the refused devices, the last warnings (a hook on the node's log callback),
 * and publishing the text of docs/PROTOCOL.md §11.4 when something changed (a folder settled,
 * a session's state) or a wait is parked on the control socket (every 100 ms at most), or
 * 250 ms passed.
 * Not here: the text's escaping and reader (core/sync/statusfile.c), the sessions.
 * Layer: core (sync). Third-party: none. SPDX-License-Identifier: MIT */
#include "core/sync/status.h"
#include "core/sync/folders.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/data/vector.h"
#include "core/sync/control.h"
#include "core/sync/own.h"
#include "core/sync/repair.h"
#include "core/sync/statusfile.h"
#include "crypto/curveid.h"
#include "crypto/devid.h"
#include "crypto/hash.h"

#define S_SOON_MS         100   /* something changed: publish, but not more often than this */
#define S_COUNT_SHARE     10    /* counting takes at most 1/this of the loop's time */
#define S_RATE_MS         1000  /* the receive rate is measured over this long */
#define S_REFUSALS        16u   /* refused keys remembered (the least recent goes) */
#define S_REFUSAL_LOG_MS  60000 /* a refused key is logged again after this long */
#define S_REFUSAL_LOGS_MS 1000  /* and no refusal at all more often than this */
#define S_ERRORS          5u    /* warnings and errors remembered */
#define S_ERROR_LEN       512u  /* bytes kept of each */

/* One session's figures, as last counted. */
typedef struct s_fig {
    char id[MESH_ID_TEXT_LEN + 1]; /* the session they are of ("" : none) */
    bool counted;                  /* rows and totals hold a count */
    const vector_t *vv;            /* the view counted against: a new one is noticed */
    vector_t *view;                /* a copy of it: a view raised in place is noticed */
    uint64_t txnid;                /* the store's transaction (own vector) counted at */
    uint64_t bytes_in;             /* the session's bytes_in then: nothing came since */
    vector_count_t *rows;          /* the collections with something left, by name */
    size_t nrows;
    uint64_t to_send, to_receive;
    int64_t rate_ms;   /* the receive rate's last sample: when, */
    uint64_t rate_ops; /* and the versions received by then */
    int64_t rate;      /* versions per second, -1 before two samples */
} s_fig_t;

typedef struct s_refusal {
    uint8_t curve[TRANSPORT_KEY_LEN];
    char id[MESH_ID_TEXT_LEN + 1], alt[MESH_ID_TEXT_LEN + 1];
    uint64_t count;
    time_t first, last;
    int64_t logged_ms; /* when last logged, 0: never */
} s_refusal_t;

typedef struct s_error {
    char text[S_ERROR_LEN];
    int level;
    uint64_t count;
    time_t last;
} s_error_t;

struct status {
    mesh_log_fn log; /* the node's own log callback and its context */
    void *log_ctx;
    pthread_mutex_t lock;       /* guards errors, nerrors, events: the hook runs on any thread */
    s_error_t errors[S_ERRORS]; /* the most recent first */
    size_t nerrors;
    uint64_t events;                  /* errors and refusals noted: a change to publish */
    s_refusal_t refusals[S_REFUSALS]; /* loop thread only */
    size_t nrefusals;
    int64_t refusal_logged_ms;
    s_fig_t *figs; /* figs[i]: session i's (grown with the sessions) */
    size_t figs_cap;
    int64_t count_after; /* no counting before this (the budget) */
    uint64_t key;        /* what the last publication showed, hashed */
    int64_t published_ms;
    int64_t cost_ms; /* how long the last publication took */
};

/* Session i of the loop: the one place that knows how the loop holds its sessions. */
static session_t *
s_sess(loop_t *l, size_t i)
{
    return l->sess[i];
}

/* Make room for the figures of l->nsess sessions; false when out of memory. */
static bool
s_figs_grow(status_t *w, size_t n)
{
    if (n <= w->figs_cap) {
        return true;
    }
    size_t cap = w->figs_cap ? w->figs_cap : 8;
    while (cap < n) {
        cap *= 2;
    }
    s_fig_t *grown = realloc(w->figs, cap * sizeof *grown);
    if (!grown) {
        return false;
    }
    memset(grown + w->figs_cap, 0, (cap - w->figs_cap) * sizeof *grown);
    for (size_t i = w->figs_cap; i < cap; i++) {
        grown[i].rate = -1;
    }
    w->figs = grown;
    w->figs_cap = cap;
    return true;
}

/* ---- the log hook (any thread) ---- */

static void
s_note_error(status_t *w, int level, const char *message)
{
    pthread_mutex_lock(&w->lock);
    s_error_t *e = &w->errors[0];
    if (w->nerrors == 0 || e->level != level || strncmp(e->text, message, S_ERROR_LEN - 1) != 0) {
        memmove(&w->errors[1], &w->errors[0], (S_ERRORS - 1) * sizeof *e);
        w->nerrors += w->nerrors < S_ERRORS;
        memset(e, 0, sizeof *e);
        snprintf(e->text, sizeof e->text, "%s", message);
        e->level = level;
    }
    e->count++;
    e->last = time(NULL);
    w->events++;
    pthread_mutex_unlock(&w->lock);
}

static void
s_log(void *ctx, int level, const char *message)
{
    status_t *w = ctx;
    if (level <= MESH_LOG_WARN) {
        s_note_error(w, level, message);
    }
    if (w->log) {
        w->log(w->log_ctx, level, message);
    }
}

mesh_err_t
status_open(loop_t *l)
{
    status_t *w = calloc(1, sizeof *w);
    l->status = w;
    if (!w) {
        return MESH_ENOMEM;
    }
    pthread_mutex_init(&w->lock, NULL);
    w->log = l->m->log;
    w->log_ctx = l->m->log_ctx;
    l->m->log = s_log;
    l->m->log_ctx = w;
    return MESH_OK;
}

static void
s_fig_clear(s_fig_t *f)
{
    vector_free(f->view);
    free(f->rows);
    memset(f, 0, sizeof *f);
    f->rate = -1;
}

void
status_close(loop_t *l)
{
    status_t *w = l->status;
    if (!w) {
        return;
    }
    l->m->log = w->log;
    l->m->log_ctx = w->log_ctx;
    for (size_t i = 0; i < w->figs_cap; i++) {
        s_fig_clear(&w->figs[i]);
    }
    free(w->figs);
    pthread_mutex_destroy(&w->lock);
    free(w);
    l->status = NULL;
}

/* ---- refusals (loop thread) ---- */

/* The entry for curve: found, or made in a free slot or the least recently seen one. */
static s_refusal_t *
s_refusal_for(status_t *w, const uint8_t *curve)
{
    size_t oldest = 0;
    for (size_t i = 0; i < w->nrefusals; i++) {
        if (memcmp(w->refusals[i].curve, curve, TRANSPORT_KEY_LEN) == 0) {
            return &w->refusals[i];
        }
        oldest = w->refusals[i].last < w->refusals[oldest].last ? i : oldest;
    }
    s_refusal_t *r = &w->refusals[w->nrefusals < S_REFUSALS ? w->nrefusals++ : oldest];
    uint8_t first[CURVEID_KEY_LEN], second[CURVEID_KEY_LEN];
    memset(r, 0, sizeof *r);
    memcpy(r->curve, curve, TRANSPORT_KEY_LEN);
    if (curveid_candidates(curve, first, second) == MESH_OK) {
        devid_format(first, r->id);
        devid_format(second, r->alt);
    } else {
        snprintf(r->id, sizeof r->id, "(not a device key)");
    }
    r->first = time(NULL);
    return r;
}

void
status_refused(loop_t *l, const uint8_t *curve)
{
    status_t *w = l->status;
    if (!w) {
        return;
    }
    s_refusal_t *r = s_refusal_for(w, curve);
    int64_t now = sync_now_ms();
    r->count++;
    r->last = time(NULL);
    pthread_mutex_lock(&w->lock);
    w->events++;
    pthread_mutex_unlock(&w->lock);
    if ((r->logged_ms && now - r->logged_ms < S_REFUSAL_LOG_MS) ||
        (w->refusal_logged_ms && now - w->refusal_logged_ms < S_REFUSAL_LOGS_MS)) {
        return;
    }
    r->logged_ms = w->refusal_logged_ms = now;
    node_log(l->m, MESH_LOG_WARN,
             "refused device %s (or %s: its key fits either; 'meshctl id' on it tells which), "
             "not a member: 'meshctl peer add ID' here lets it in (%llu attempt(s) so far)",
             r->id, r->alt, (unsigned long long)r->count);
}

/* ---- counting (loop thread) ---- */

/* Keep only the rows with something left, and sum them. */
static void
s_fig_keep(s_fig_t *f, vector_count_t *rows, size_t n)
{
    size_t kept = 0;
    f->to_send = f->to_receive = 0;
    for (size_t i = 0; i < n; i++) {
        f->to_send += rows[i].to_send;
        f->to_receive += rows[i].to_receive;
        if (rows[i].to_send || rows[i].to_receive) {
            if (kept != i) {
                rows[kept] = rows[i];
            }
            kept++;
        }
    }
    free(f->rows);
    f->rows = NULL;
    f->nrows = 0;
    if (kept) {
        vector_count_t *shrunk = realloc(rows, kept * sizeof *rows);
        f->rows = shrunk ? shrunk : rows;
        f->nrows = kept;
    } else {
        free(rows);
    }
}

/* Bring session i's figures up to date when the store or its view changed since they were
 * counted and the budget allows; true when they changed. Without a session up, or without
 * our vector, nothing is left to count: zero. */
static bool
s_fig_update(loop_t *l, size_t i, int64_t now)
{
    status_t *w = l->status;
    session_t *s = s_sess(l, i);
    s_fig_t *f = &w->figs[i];
    if (strcmp(f->id, s->id) != 0) {
        s_fig_clear(f);
        memcpy(f->id, s->id, sizeof f->id);
    }
    if (!s->ok || !s->vv) {
        bool had = f->counted;
        vector_free(f->view);
        free(f->rows);
        f->view = NULL;
        f->rows = NULL;
        f->vv = NULL;
        f->nrows = 0;
        f->to_send = f->to_receive = 0;
        f->counted = false;
        return had;
    }
    uint64_t txnid = store_last_txnid(l->m->store);
    if (f->counted && f->txnid == txnid) {
        if (f->vv == s->vv && f->bytes_in == s->bytes_in) {
            return false;
        }
        if (f->view && vector_equal(f->view, s->vv)) {
            f->vv = s->vv; /* (the same view, anew) */
            f->bytes_in = s->bytes_in;
            return false;
        }
    }
    if (now < w->count_after) {
        return false; /* over budget: the last figures stand (their txnid says how old) */
    }
    vector_count_t *rows = NULL;
    vector_t *view = NULL;
    size_t n = 0;
    /* (the cost is the count's own: what the turn did before it, a scan hashing a large
     * file or a commit, is not counting, and held the figures nine times that long) */
    int64_t start = sync_now_ms();
    if (own_update(l) != MESH_OK ||
        vector_count(l->m->store, l->own_vv, s->vv, &rows, &n) != MESH_OK ||
        vector_copy(s->vv, &view) != MESH_OK) {
        free(rows);
        return false; /* (the next turn tries again) */
    }
    s_fig_keep(f, rows, n);
    vector_free(f->view);
    f->view = view;
    f->vv = s->vv;
    f->bytes_in = s->bytes_in;
    f->txnid = l->own_txnid;
    f->counted = true;
    int64_t end = sync_now_ms();
    w->count_after = end + (end - start) * (S_COUNT_SHARE - 1);
    node_log(l->m, MESH_LOG_DEBUG,
             "figures with %s counted in %lld ms: to send %llu, to receive %llu", s->id,
             (long long)(end - start), (unsigned long long)f->to_send,
             (unsigned long long)f->to_receive);
    return true;
}

/* Session i's receive rate, sampled every S_RATE_MS. */
static void
s_rate_update(loop_t *l, size_t i, int64_t now)
{
    s_fig_t *f = &l->status->figs[i];
    uint64_t ops = s_sess(l, i)->ops_in;
    if (f->rate_ms == 0 || ops < f->rate_ops) {
        f->rate_ms = now;
        f->rate_ops = ops;
        f->rate = -1;
    } else if (now - f->rate_ms >= S_RATE_MS) {
        f->rate = (int64_t)((ops - f->rate_ops) * 1000 / (uint64_t)(now - f->rate_ms));
        f->rate_ms = now;
        f->rate_ops = ops;
    }
}

/* ---- the text ---- */

/* A pass, a batch in flight, a question for its vector, or a live repair (one the peer
 * answers: repair_live) is under way with s. */
static bool
s_busy(const loop_t *l, const session_t *s, int64_t now)
{
    return s->passing || s->asked || s->sent_id != s->acked_id || repair_live(l, s, now);
}

/* Bytes estimated from the bytes per version seen so far that way, or -1 when nothing was
 * seen to estimate from. */
static long long
s_estimate(uint64_t versions, uint64_t bytes, uint64_t seen_versions)
{
    if (versions == 0) {
        return 0;
    }
    if (seen_versions == 0) {
        return -1;
    }
    return (long long)((double)versions * (double)bytes / (double)seen_versions);
}

/* One peer's line, then one line per collection with something left. */
static void
s_put_peer(loop_t *l, FILE *f, size_t i, int64_t now)
{
    const session_t *s = s_sess(l, i);
    const s_fig_t *g = &l->status->figs[i];
    bool busy = s_busy(l, s, now);
    bool in_sync = s->ok && g->counted && !busy && g->to_send == 0 && g->to_receive == 0 &&
                   !own_digests_differ(l, s); /* (equal vectors, unequal digests: §13) */
    fputs("peer ", f);
    statusfile_put_text(f, s->id);
    fputs(" name=", f);
    statusfile_put_text(f, s->name);
    fputs(" addr=", f);
    statusfile_put_text(f, s->addr);
    fprintf(
        f,
        " connected=%d session=%d refused=%d silent_ms=%lld seen=%lld to_send=%llu "
        "to_receive=%llu bytes_to_send=%lld bytes_to_receive=%lld in_flight=%llu "
        "batches_out=%llu batches_in=%llu bytes_out=%llu bytes_in=%llu in_sync=%d busy=%d "
        "versions_in=%llu batch_bytes_in=%llu rate_in=%lld repairs=%llu blocks_asked=%llu "
        "blocks_asked_in=%llu",
        s->connected, s->ok, s->refused, (long long)(s->heard_ms ? now - s->heard_ms : -1),
        (long long)s->seen_unix, (unsigned long long)g->to_send, (unsigned long long)g->to_receive,
        s_estimate(g->to_send, s->batch_bytes_out, s->versions_out),
        s_estimate(g->to_receive, s->batch_bytes_in, s->ops_in),
        (unsigned long long)(s->sent_id - s->acked_id), (unsigned long long)s->batches_out,
        (unsigned long long)s->batches_in, (unsigned long long)s->bytes_out,
        (unsigned long long)s->bytes_in, in_sync, busy, (unsigned long long)s->ops_in,
        (unsigned long long)s->batch_bytes_in, (long long)g->rate, (unsigned long long)s->repairs,
        (unsigned long long)s->blocks_asked, (unsigned long long)s->blocks_asked_in);
    /* its path (§17): the member whose session brought its latest sets, and when */
    fputs(" via=", f);
    statusfile_put_text(f, s->via ? s->via->id : "");
    fprintf(f, " via_seen=%lld\n", (long long)s->via_unix);
    for (size_t c = 0; c < g->nrows; c++) {
        const vector_count_t *r = &g->rows[c];
        fputs("coll ", f);
        statusfile_put_text(f, r->coll);
        fputs(" peer=", f);
        statusfile_put_text(f, s->id);
        fprintf(f,
                " to_send=%llu to_receive=%llu bytes_to_send=%lld bytes_to_receive=%lld "
                "in_sync=0\n",
                (unsigned long long)r->to_send, (unsigned long long)r->to_receive,
                s_estimate(r->to_send, s->batch_bytes_out, s->versions_out),
                s_estimate(r->to_receive, s->batch_bytes_in, s->ops_in));
    }
}

/* The refusal and error lines, the most recent first. */
static void
s_put_events(status_t *w, FILE *f)
{
    const s_refusal_t *order[S_REFUSALS];
    size_t n = w->nrefusals;
    for (size_t i = 0; i < n; i++) {
        order[i] = &w->refusals[i];
    }
    for (size_t i = 1; i < n; i++) { /* (insertion sort: a handful) */
        for (size_t j = i; j > 0 && order[j]->last > order[j - 1]->last; j--) {
            const s_refusal_t *t = order[j];
            order[j] = order[j - 1];
            order[j - 1] = t;
        }
    }
    for (size_t i = 0; i < n; i++) {
        fputs("refusal ", f);
        statusfile_put_text(f, order[i]->id);
        fputs(" alt=", f);
        statusfile_put_text(f, order[i]->alt);
        fprintf(f, " count=%llu first=%lld last=%lld\n", (unsigned long long)order[i]->count,
                (long long)order[i]->first, (long long)order[i]->last);
    }
    pthread_mutex_lock(&w->lock);
    for (size_t i = 0; i < w->nerrors; i++) {
        const s_error_t *e = &w->errors[i];
        fputs("error ", f);
        statusfile_put_text(f, e->text[0] ? e->text : "-");
        fprintf(f, " level=%d count=%llu last=%lld\n", e->level, (unsigned long long)e->count,
                (long long)e->last);
    }
    pthread_mutex_unlock(&w->lock);
}

/* The status text as of now (PROTOCOL.md §11.4). txnid: the oldest transaction the figures
 * were counted at. MESH_OK: *out is malloc'd, *len its length (a NUL follows). */
static mesh_err_t
s_text(loop_t *l, int64_t now, uint64_t txnid, char **out, size_t *len)
{
    *out = NULL;
    *len = 0;
    FILE *f = open_memstream(out, len);
    if (!f) {
        return MESH_ENOMEM;
    }
    fputs("device ", f);
    statusfile_put_text(f, l->m->id_text);
    fprintf(f, "\npid %ld\nlisten ", (long)getpid());
    statusfile_put_text(f, l->listen);
    fprintf(f, "\nupdated_ms %lld\ntxnid %llu\n", (long long)now, (unsigned long long)txnid);
    for (size_t i = 0; i < l->nsess; i++) {
        s_put_peer(l, f, i, now);
    }
    (void)folders_put_status(l, f);
    s_put_events(l->status, f);
    if (ferror(f) || fclose(f) != 0) {
        free(*out);
        *out = NULL;
        *len = 0;
        return MESH_ENOMEM;
    }
    return MESH_OK;
}

static void
s_publish(loop_t *l, int64_t now, uint64_t txnid)
{
    char path[4200], tmp[4300], *text = NULL;
    size_t len = 0;
    if (s_text(l, now, txnid, &text, &len) != MESH_OK) {
        return; /* (no memory: the figures published last stay) */
    }
    snprintf(path, sizeof path, "%s/status", l->m->home);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (f) {
        bool ok = fwrite(text, 1, len, f) == len;
        if (fclose(f) == 0 && ok) {
            (void)rename(tmp, path);
        }
    }
    pthread_mutex_lock(&l->status_lock);
    char *old = l->status_text;
    l->status_text = text;
    l->status_len = len;
    l->status_gen++;
    l->status_txnid = txnid;
    pthread_mutex_unlock(&l->status_lock);
    free(old);
}

static uint64_t
s_key(loop_t *l, int64_t now)
{
    status_t *w = l->status;
    uint64_t h =
        hash_fnv_u64(HASH_FNV_START, l->nsess); /* (what a publication shows but the figures) */
    pthread_mutex_lock(&w->lock);
    h = hash_fnv_u64(h, w->events);
    pthread_mutex_unlock(&w->lock);
    for (size_t i = 0; i < l->nsess; i++) {
        const session_t *s = s_sess(l, i);
        h = hash_fnv_u64(h, (uint64_t)s->connected | (uint64_t)s->ok << 1 |
                                (uint64_t)s->refused << 2 | (uint64_t)s_busy(l, s, now) << 3 |
                                (uint64_t)own_digests_differ(l, s) << 4);
        h = hash_fnv_u64(h, s->acked_id);
        h = hash_fnv_u64(h, s->batches_in);
    }
    return hash_fnv_u64(h, folders_put_status(l, NULL)); /* (a folder settled: publish it soon) */
}

void
status_tick(loop_t *l, int64_t now)
{
    status_t *w = l->status;
    if (!w || now - w->published_ms < S_SOON_MS) {
        return; /* (nothing is published this soon: nothing to look at either) */
    }
    if (!s_figs_grow(w, l->nsess)) {
        return; /* (no memory: the figures published last stay) */
    }
    bool changed = false;
    uint64_t txnid = store_last_txnid(l->m->store);
    for (size_t i = 0; i < l->nsess; i++) {
        changed |= s_fig_update(l, i, now);
        s_rate_update(l, i, now);
        if (w->figs[i].counted && w->figs[i].txnid < txnid) {
            txnid = w->figs[i].txnid; /* (figures kept while over budget) */
        }
    }
    uint64_t key = s_key(l, now);
    changed |= key != w->key;
    /* (a wait parked on the control socket measures how long the sync holds between
     * publications: those come soon while one waits and it holds; publishing soon takes
     * at most 1/S_COUNT_SHARE of the loop's time, as counting does) */
    changed |= control_waiting(l);
    int64_t soon = w->cost_ms * S_COUNT_SHARE > S_SOON_MS ? w->cost_ms * S_COUNT_SHARE : S_SOON_MS;
    if (now - w->published_ms >= LOOP_STATUS_MS || (changed && now - w->published_ms >= soon)) {
        s_publish(l, now, txnid);
        w->key = key;
        w->published_ms = now;
        w->cost_ms = sync_now_ms() - now;
    }
}
