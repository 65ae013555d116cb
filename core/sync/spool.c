/* core/sync/spool.c: the spool of checked batches that stream in, held in memory and
 * applied in large transactions on a worker thread. A spooled batch is not acknowledged
 * until the apply that commits it ends: then one acknowledgement per sender is due (the
 * loop sends it). A crash loses only batches never acknowledged, which their senders send
 * again from this device's vector. Earlier versions wrote each group to <home>/spool and
 * synced it before acknowledging it; such a file is read at the open (a header: its magic,
 * then where the records start; one record per batch: its length, 4 bytes little-endian,
 * the length's complement, the batch's bytes), its batches are applied before any other
 * is spooled, and it is removed once they are committed (applying twice changes nothing,
 * apply.h, so a crash before the removal does no harm).
 * Layer: core (sync). Third-party: none. SPDX-License-Identifier: MIT */
#include "core/sync/spool.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/base/testhook.h"
#include "core/bundle/import.h"
#include "core/sync/checker.h"
#include "core/sync/inbox.h"
#include "core/sync/sync.h"
#include "core/wire/doc.h"

#define S_MAGIC     "MSPOOL2\n" /* the file's first 8 bytes, then where its records start */
#define S_MAGIC1    "MSPOOL1\n" /* (before: the records right after these 8 bytes) */
#define S_MAGIC_LEN 8u
#define S_HEAD_LEN  16u
#define S_REC_HEAD  8u /* a record's length and its complement */

typedef struct s_entry {
    session_t *from;       /* NULL: read from an earlier version's file */
    uint64_t peer_session; /* its sender's session id when it came (from->peer_session) */
    uint64_t id;           /* the sender's batch id */
    uint8_t *data;         /* malloc'd */
    size_t len;            /* bytes */
    size_t charge;         /* inbox_charge */
    size_t ops;            /* ops its outline counts */
    checker_job_t *job;    /* its check on the checker thread, or NULL */
    import_checked_t *own; /* or a check of its own, or NULL: the import checks it */
} s_entry_t;

/* An apply of the spool's batches (its arrays point into them), run on the worker thread
 * (spool_admit, spool_tick) or on the loop thread (spool_apply). */
typedef struct s_job {
    mesh_t *m;
    const uint8_t *bundles[SPOOL_MAX_BATCHES];
    size_t lens[SPOOL_MAX_BATCHES];
    const import_checked_t *checked[SPOOL_MAX_BATCHES];
    mesh_err_t dropped[SPOOL_MAX_BATCHES]; /* a batch dropped (it does not decode): why */
    size_t n;
    int64_t t0;
    mesh_err_t err;
    mesh_import_report_t rep;
    node_log_lines_t lines; /* logged on the worker, replayed on the loop thread */
    bool done;              /* atomic: the worker is through */
} s_job_t;

struct spool {
    char path[4200];  /* of the file an earlier version left ("": none) */
    size_t from_file; /* the first this many of q were read from it, not yet applied */
    s_entry_t q[SPOOL_MAX_BATCHES];
    size_t n;
    size_t bytes, charge;
    size_t ops;        /* the spooled batches' ops, as their outlines count them */
    size_t max_charge; /* charge spooled at most: what the last apply did in SPOOL_APPLY_MS */
    int64_t last_ms;   /* when the last batch was spooled (0: read at start) */
    int64_t failed_ms; /* when an apply last failed (0: none): none started eagerly for a while */
    /* The apply under way on the worker thread: while running, the batches (q) are its and
     * nothing is spooled; only the loop thread reads or changes running. */
    bool running;
    size_t napply;       /* the first napply of q are the apply's (running or not) */
    size_t apply_charge; /* their charge, bytes and ops */
    size_t apply_bytes, apply_ops;
    bool full; /* a group did not fit while running (spool_stalled) */
    /* Acknowledgements due (applied), oldest first: one per sender and apply. */
    spool_ack_t due[SPOOL_MAX_BATCHES];
    size_t ndue, due_at; /* how many, and the next to take */
    pthread_t thread;
    s_job_t job;
};

/* The ops a batch's outline counts (0 when it does not decode). */
static size_t
s_ops(const uint8_t *data, size_t len)
{
    size_t sets = 0, ops = 0;
    return wire_bundle_count(data, len, &sets, &ops) == MESH_OK ? ops : 0;
}

static void
s_entry_free(s_entry_t *e)
{
    checker_job_free(e->job);
    import_checked_free(e->own);
    free(e->data);
    memset(e, 0, sizeof *e);
}

/* Read the whole records of fd (file_size bytes) from start into sp; stop at the first one
 * cut short or whose length does not check (a crash while appending: never acknowledged). */
static mesh_err_t
s_load(spool_t *sp, int fd, off_t start, off_t file_size)
{
    off_t at = start;
    uint8_t head[S_REC_HEAD];
    while (sp->n < SPOOL_MAX_BATCHES && at + (off_t)S_REC_HEAD <= file_size &&
           pread(fd, head, S_REC_HEAD, at) == (ssize_t)S_REC_HEAD) {
        uint32_t len = (uint32_t)head[0] | (uint32_t)head[1] << 8 | (uint32_t)head[2] << 16 |
                       (uint32_t)head[3] << 24;
        uint32_t check = (uint32_t)head[4] | (uint32_t)head[5] << 8 | (uint32_t)head[6] << 16 |
                         (uint32_t)head[7] << 24;
        if (check != (len ^ 0xffffffffu) || len == 0 || len > SPOOL_MAX_BYTES ||
            at + (off_t)S_REC_HEAD + (off_t)len > file_size) {
            break;
        }
        uint8_t *data = malloc(len);
        if (!data) {
            return MESH_ENOMEM;
        }
        if (pread(fd, data, len, at + (off_t)S_REC_HEAD) != (ssize_t)len) {
            free(data);
            break;
        }
        sp->q[sp->n++] = (s_entry_t){
            .data = data, .len = len, .charge = inbox_charge(data, len), .ops = s_ops(data, len)};
        sp->bytes += len;
        sp->charge += sp->q[sp->n - 1].charge;
        sp->ops += sp->q[sp->n - 1].ops;
        at += (off_t)S_REC_HEAD + (off_t)len;
    }
    return MESH_OK;
}

/* Where the records of the file (size bytes) start, by its header (read into head): 0 when
 * it is not a spool file, or its start is not within it. */
static off_t
s_start_of(int fd, off_t size, uint8_t head[S_HEAD_LEN])
{
    if (size >= (off_t)S_MAGIC_LEN && pread(fd, head, S_MAGIC_LEN, 0) == (ssize_t)S_MAGIC_LEN &&
        memcmp(head, S_MAGIC1, S_MAGIC_LEN) == 0) {
        return S_MAGIC_LEN;
    }
    if (size < (off_t)S_HEAD_LEN || pread(fd, head, S_HEAD_LEN, 0) != (ssize_t)S_HEAD_LEN ||
        memcmp(head, S_MAGIC, S_MAGIC_LEN) != 0) {
        return 0;
    }
    uint64_t start = 0;
    for (unsigned i = 0; i < 8; i++) {
        start |= (uint64_t)head[S_MAGIC_LEN + i] << (8 * i);
    }
    return start >= S_HEAD_LEN && start <= (uint64_t)size ? (off_t)start : 0;
}

mesh_err_t
spool_open(const char *home, spool_t **out)
{
    struct stat sb;
    uint8_t head[S_HEAD_LEN];
    *out = NULL;
    spool_t *sp = calloc(1, sizeof *sp);
    if (!sp) {
        return MESH_ENOMEM;
    }
    sp->max_charge = SPOOL_START_CHARGE;
    snprintf(sp->path, sizeof sp->path, "%s/%s", home, SPOOL_FILE);
    int fd = open(sp->path, O_RDONLY | O_CLOEXEC);
    mesh_err_t err = MESH_OK;
    if (fd < 0) {
        err = errno == ENOENT ? MESH_OK : MESH_EIO;
    } else if (fstat(fd, &sb) != 0) {
        err = MESH_EIO;
    } else {
        off_t start = s_start_of(fd, sb.st_size, head);
        err = start ? s_load(sp, fd, start, sb.st_size) : MESH_OK;
    }
    if (fd >= 0) {
        close(fd);
    }
    sp->from_file = sp->n;
    if (err == MESH_OK && fd >= 0 && sp->n == 0 && unlink(sp->path) != 0 && errno != ENOENT) {
        err = MESH_EIO; /* (not a spool, or nothing in it: nothing to apply) */
    }
    if (err != MESH_OK) {
        spool_close(sp);
        return err;
    }
    if (sp->n == 0) {
        sp->path[0] = '\0';
    }
    *out = sp;
    return MESH_OK;
}

void
spool_close(spool_t *sp)
{
    if (!sp) {
        return;
    }
    if (sp->running) {
        /* (the loop stops with session_flush, which waits for it: this is a failed start) */
        (void)pthread_join(sp->thread, NULL);
        node_log_lines_t *lines = &sp->job.lines;
        free(lines->text);
        mesh_free(sp->job.rep.text);
    }
    for (size_t i = 0; i < sp->n; i++) {
        s_entry_free(&sp->q[i]);
    }
    free(sp);
}

size_t
spool_count(const spool_t *sp)
{
    return sp ? sp->n : 0;
}

bool
spool_wants(loop_t *l, size_t n)
{
    /* (test hook: a test that sets the commits' grouping watches each commit: no spool) */
    if (!l->spool || n == 0 || n > SPOOL_MAX_BATCHES ||
        testhook_number(TESTHOOK_GROUP_BYTES, 0) != 0) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        const inbox_batch_t *b = inbox_at(l->inbox, i);
        if (!b->more || !b->from || !inbox_checked(l->inbox, i)) {
            return false; /* the end of a pass, or a batch that does not decode */
        }
    }
    return true;
}

static bool s_start(loop_t *l);

/* Do n more batches of bytes and charge fit the caps? The batches after those of the apply
 * (the generation that fills) are capped as one apply is, and all of them together by the
 * charge (memory) and count caps. (An empty generation takes any group within the fixed
 * caps.) Batches read from an earlier version's file take nothing till they are applied. */
static bool
s_fits(const spool_t *sp, size_t n, size_t bytes, size_t charge)
{
    size_t fill_n = sp->n - sp->napply, fill_bytes = sp->bytes - sp->apply_bytes,
           fill_charge = sp->charge - sp->apply_charge;
    /* (test hook: smaller applies, so that a small test has one under way and more after) */
    uint64_t max = testhook_number(TESTHOOK_SPOOL_CHARGE, sp->max_charge);
    return !sp->from_file && sp->n + n <= SPOOL_MAX_BATCHES &&
           bytes <= SPOOL_MAX_BYTES - fill_bytes && charge <= SPOOL_MAX_CHARGE - fill_charge &&
           charge <= SPOOL_ALL_CHARGE - sp->charge && (fill_n == 0 || fill_charge + charge <= max);
}

mesh_err_t
spool_admit(loop_t *l, size_t n)
{
    spool_t *sp = l->spool;
    size_t bytes = 0, charge = 0;
    for (size_t i = 0; i < n; i++) {
        const inbox_batch_t *b = inbox_at(l->inbox, i);
        bytes += b->len;
        charge += inbox_charge(b->data, b->len);
    }
    if (bytes > SPOOL_MAX_BYTES || charge > SPOOL_MAX_CHARGE) {
        return MESH_ETOOBIG; /* (never spooled: committed directly) */
    }
    mesh_err_t err = MESH_OK;
    if (!s_fits(sp, n, bytes, charge) && !sp->running && !s_start(l)) {
        err = spool_apply(l); /* (no thread: here) */
    }
    if (err == MESH_OK && !s_fits(sp, n, bytes, charge)) {
        sp->full = sp->running; /* (till the apply ends: spool_stalled) */
        return MESH_EBUSY;      /* the n stay queued, unacknowledged, while the spool applies */
    }
    return err;
}

void
spool_take(loop_t *l, size_t n)
{
    spool_t *sp = l->spool;
    for (size_t i = 0; i < n && sp->n < SPOOL_MAX_BATCHES; i++) {
        const inbox_batch_t *b = inbox_at(l->inbox, i);
        session_t *from = b->from;
        s_entry_t *e = &sp->q[sp->n++];
        *e = (s_entry_t){.from = from,
                         .peer_session = from->peer_session,
                         .id = b->id,
                         .len = b->len,
                         .ops = s_ops(b->data, b->len)};
        e->charge = inbox_take(l->inbox, i, &e->data, &e->job, &e->own);
        sp->bytes += e->len;
        sp->charge += e->charge;
        sp->ops += e->ops;
        e->from->ops_in += e->ops; /* (received: the status's rate counts it now) */
    }
    sp->last_ms = sync_now_ms();
    if (n) {
        node_log(l->m, MESH_LOG_DEBUG,
                 "spool: took batches %llu..%llu (%zu spooled, acknowledged once applied)",
                 (unsigned long long)sp->q[sp->n - n].id, (unsigned long long)sp->q[sp->n - 1].id,
                 sp->n);
    }
}

bool
spool_next_ack(spool_t *sp, spool_ack_t *out)
{
    if (!sp || sp->due_at == sp->ndue) {
        if (sp) {
            sp->ndue = sp->due_at = 0;
        }
        return false;
    }
    *out = sp->due[sp->due_at++];
    return true;
}

/* The first a spooled batches are applied: each sender's last among them is due an
 * acknowledgement (a batch of a sender's earlier session is acknowledged under that one's
 * id, and the loop drops it: spool_ack_t). */
static void
s_due(spool_t *sp, size_t a)
{
    for (size_t i = 0; i < a; i++) {
        const s_entry_t *e = &sp->q[i];
        bool last = e->from != NULL;
        for (size_t j = i + 1; j < a && last; j++) {
            last = sp->q[j].from != e->from || sp->q[j].peer_session != e->peer_session;
        }
        if (last && sp->ndue < SPOOL_MAX_BATCHES) {
            sp->due[sp->ndue++] =
                (spool_ack_t){.to = e->from, .peer_session = e->peer_session, .id = e->id};
        }
    }
}

/* Forget the first a spooled batches (applied). Once those read from an earlier version's
 * file are, the file goes. */
static void
s_forget(spool_t *sp, size_t a)
{
    for (size_t i = 0; i < a; i++) {
        sp->bytes -= sp->q[i].len;
        sp->charge -= sp->q[i].charge;
        sp->ops -= sp->q[i].ops;
        s_entry_free(&sp->q[i]);
    }
    memmove(sp->q, sp->q + a, (sp->n - a) * sizeof sp->q[0]);
    memset(sp->q + sp->n - a, 0, a * sizeof sp->q[0]);
    sp->n -= a;
    sp->napply = sp->apply_bytes = sp->apply_charge = sp->apply_ops = 0;
    sp->from_file = sp->from_file > a ? sp->from_file - a : 0;
    if (!sp->from_file && sp->path[0] && (unlink(sp->path) == 0 || errno == ENOENT)) {
        sp->path[0] = '\0'; /* (else tried again after the next apply) */
    }
}

/* The first of sp's batches (0: a past run's, or none) with a sender, for the log. */
static session_t *
s_first_from(const spool_t *sp)
{
    for (size_t i = 0; i < sp->n; i++) {
        if (sp->q[i].from) {
            return sp->q[i].from;
        }
    }
    return NULL;
}

/* After an apply of the first a spooled batches that took ms (and of `more` queued batches
 * with it, as the log says): the next apply's size, as this apply went (by the charge,
 * which counts sets and ops: many small sets cost more than their ops), the log line, their
 * acknowledgements due, and the a forgotten. Another sender's batch that is not spooled waits
 * behind an apply (and a direct one blocks the loop): an apply holds what this machine applies in
 * SPOOL_APPLY_MS. */
static void
s_applied(loop_t *l, const mesh_import_report_t *rep, int64_t ms, uint64_t last_id, size_t more,
          size_t a)
{
    spool_t *sp = l->spool;
    session_t *s0 = s_first_from(sp);
    size_t charge = 0;
    for (size_t i = 0; i < a; i++) {
        charge += sp->q[i].charge;
    }
    char also[48] = "";
    if (more) {
        snprintf(also, sizeof also, ", and %zu more", more);
    }
    node_log(l->m, MESH_LOG_DEBUG,
             "applied batches %llu..%llu from %s: %llu sets, %llu ops stored (%lld ms, the "
             "last commit %llu ms; spooled, %zu batches%s)",
             (unsigned long long)sp->q[0].id, (unsigned long long)last_id,
             s0 ? s0->id : "a past run", (unsigned long long)(rep->sets_new + rep->sets_known),
             (unsigned long long)rep->ops_stored, (long long)ms,
             (unsigned long long)(store_last_commit_us(l->m->store) / 1000), a, also);
    if (charge >= SPOOL_LEARN_CHARGE) {
        uint64_t fit = (uint64_t)charge * SPOOL_APPLY_MS / (uint64_t)(ms > 0 ? ms : 1);
        sp->max_charge = fit < SPOOL_MIN_CHARGE   ? SPOOL_MIN_CHARGE
                         : fit > SPOOL_MAX_CHARGE ? SPOOL_MAX_CHARGE
                                                  : (size_t)fit;
    }
    l->ops_unreleased += rep->ops_stored;
    s_due(sp, a);
    s_forget(sp, a);
    l->flush_ms = sync_now_ms();
}

/* No apply holds any of the spooled batches (it failed, or did not start): the next takes
 * them all again. */
static void
s_unclaim(spool_t *sp)
{
    sp->napply = sp->apply_bytes = sp->apply_charge = sp->apply_ops = 0;
}

/* The spooled batches' bytes, lengths and checks (waited for) into the job: all of them
 * (they are its: napply), the next ones spooled after them. */
static void
s_gather(spool_t *sp, s_job_t *j)
{
    j->n = sp->napply = sp->n;
    sp->apply_bytes = sp->bytes;
    sp->apply_charge = sp->charge;
    sp->apply_ops = sp->ops;
    for (size_t i = 0; i < sp->n; i++) {
        s_entry_t *e = &sp->q[i];
        j->bundles[i] = e->data;
        j->lens[i] = e->len;
        j->checked[i] = e->job ? checker_wait(e->job) : e->own;
        j->dropped[i] = MESH_OK;
    }
}

/* Apply j's batches, in one transaction; when one does not decode (a damaged file), each
 * alone, the others applied and that one's error in j->dropped. Touches the store and the
 * node only as an import does (any thread); logs through node_log. Sets j->err, j->rep. */
static void
s_job_run(s_job_t *j)
{
    mesh_import_report_t one;
    j->err = import_many(j->m, j->bundles, j->lens, j->checked, j->n, &j->rep);
    if (j->err != MESH_EPROTO && j->err != MESH_ETOOBIG) {
        return;
    }
    memset(&j->rep, 0, sizeof j->rep);
    j->err = MESH_OK;
    for (size_t i = 0; j->err == MESH_OK && i < j->n; i++) {
        j->err = import_many(j->m, &j->bundles[i], &j->lens[i], &j->checked[i], 1, &one);
        if (j->err == MESH_EPROTO || j->err == MESH_ETOOBIG) {
            j->dropped[i] = j->err;
            j->err = MESH_OK;
            continue;
        }
        j->rep.sets_new += one.sets_new;
        j->rep.sets_known += one.sets_known;
        j->rep.ops_stored += one.ops_stored;
        mesh_free(one.text);
    }
}

/* The worker thread: j's apply, its log lines captured for the loop thread, which it wakes
 * when done. */
static void *
s_job_thread(void *arg)
{
    s_job_t *j = arg;
    uint64_t pause_ms = testhook_number(TESTHOOK_SPOOL_PAUSE_MS, 0); /* at most 10 s */
    if (pause_ms > 0) {
        pause_ms = pause_ms > 10000 ? 10000 : pause_ms;
        struct timespec rest = {(time_t)(pause_ms / 1000), (long)(pause_ms % 1000) * 1000000};
        nanosleep(&rest, NULL);
    }
    node_log_capture(&j->lines);
    s_job_run(j);
    node_log_capture(NULL);
    __atomic_store_n(&j->done, true, __ATOMIC_RELEASE);
    if (j->m->wake) {
        j->m->wake(j->m->wake_ctx); /* (the loop thread's eventfd: safe from any thread) */
    }
    return NULL;
}

/* On the loop thread, after j ran: its log lines, the dropped batches named, and on success
 * the spool emptied (s_applied); on failure it stays, to be applied again. */
static mesh_err_t
s_job_end(loop_t *l, s_job_t *j)
{
    spool_t *sp = l->spool;
    node_log_replay(l->m, &j->lines);
    for (size_t i = 0; i < j->n; i++) {
        if (j->dropped[i] != MESH_OK) {
            node_log(l->m, MESH_LOG_WARN,
                     "spool: dropped batch %llu from %s: it does not decode or apply (%s)",
                     (unsigned long long)sp->q[i].id,
                     sp->q[i].from ? sp->q[i].from->id : "a past run",
                     mesh_strerror(j->dropped[i]));
        }
    }
    if (j->err != MESH_OK) {
        node_log(l->m, MESH_LOG_ERROR, "applying %zu spooled batch(es) failed: %s (kept)", j->n,
                 mesh_strerror(j->err));
        s_unclaim(sp);
        sp->failed_ms = sync_now_ms();
        return j->err;
    }
    if (j->rep.text) {
        session_t *s0 = s_first_from(sp);
        node_log(l->m, MESH_LOG_WARN, "spooled batches from %s: %s", s0 ? s0->id : "a past run",
                 j->rep.text);
    }
    mesh_free(j->rep.text);
    s_applied(l, &j->rep, sync_now_ms() - j->t0, sp->q[j->n - 1].id, 0, j->n);
    return MESH_OK;
}

bool
spool_running(const spool_t *sp)
{
    return sp && sp->running;
}

bool
spool_stalled(const spool_t *sp)
{
    return sp && sp->running && sp->full;
}

/* Wait for the apply under way on the worker, if any, and end it. */
static mesh_err_t
s_join(loop_t *l)
{
    spool_t *sp = l->spool;
    if (!sp || !sp->running) {
        return MESH_OK;
    }
    (void)pthread_join(sp->thread, NULL);
    sp->running = sp->full = false;
    return s_job_end(l, &sp->job);
}

void
spool_wait(loop_t *l)
{
    (void)s_join(l); /* (on failure the spool stays: applied again later) */
}

/* Start applying the whole spool on the worker thread. false: it could not start (no
 * thread: the caller applies it here). */
static bool
s_start(loop_t *l)
{
    spool_t *sp = l->spool;
    s_job_t *j = &sp->job;
    memset(j, 0, sizeof *j);
    j->m = l->m;
    j->t0 = sync_now_ms();
    s_gather(sp, j);
    if (pthread_create(&sp->thread, NULL, s_job_thread, j) != 0) {
        s_unclaim(sp);
        return false;
    }
    sp->running = true;
    node_log(l->m, MESH_LOG_DEBUG,
             "spool: applying batches %llu..%llu on its worker (%zu batches); spooling goes on",
             (unsigned long long)sp->q[0].id, (unsigned long long)sp->q[sp->n - 1].id, sp->n);
    return true;
}

mesh_err_t
spool_apply(loop_t *l)
{
    spool_t *sp = l->spool;
    mesh_err_t err = s_join(l);
    if (!sp || sp->n == 0 || err != MESH_OK) {
        return err;
    }
    s_job_t *j = &sp->job;
    memset(j, 0, sizeof *j);
    j->m = l->m;
    j->t0 = sync_now_ms();
    s_gather(sp, j);
    s_job_run(j);
    return s_job_end(l, j);
}

mesh_err_t
spool_apply_with(loop_t *l, size_t n)
{
    spool_t *sp = l->spool;
    enum { S_MAX = SPOOL_MAX_BATCHES + LOOP_QUEUE_BATCHES };
    const uint8_t *bundles[S_MAX];
    size_t lens[S_MAX];
    const import_checked_t *checked[S_MAX];
    mesh_import_report_t rep;
    if (!sp || sp->n == 0 || n == 0 || n > LOOP_QUEUE_BATCHES) {
        return MESH_ENOTFOUND;
    }
    for (size_t i = 0; i < n; i++) {
        const inbox_batch_t *b = inbox_at(l->inbox, i);
        if (!b->from || !inbox_checked(l->inbox, i)) {
            return MESH_ENOTFOUND; /* (one that does not decode goes alone, as ever) */
        }
    }
    if (s_join(l) != MESH_OK || sp->n == 0) {
        return MESH_ENOTFOUND; /* (the caller applies the spool again, then the n) */
    }
    int64_t t0 = sync_now_ms();
    s_job_t *j = &sp->job;
    memset(j, 0, sizeof *j);
    s_gather(sp, j);
    for (size_t i = 0; i < sp->n; i++) {
        bundles[i] = j->bundles[i];
        lens[i] = j->lens[i];
        checked[i] = j->checked[i];
    }
    for (size_t i = 0; i < n; i++) {
        const inbox_batch_t *b = inbox_at(l->inbox, i);
        bundles[sp->n + i] = b->data;
        lens[sp->n + i] = b->len;
        checked[sp->n + i] = inbox_checked(l->inbox, i);
    }
    mesh_err_t err = import_many(l->m, bundles, lens, checked, sp->n + n, &rep);
    if (err != MESH_OK) {
        s_unclaim(sp);
        return err; /* (the caller applies them apart, as before: applying is idempotent) */
    }
    if (rep.text) {
        session_t *s0 = s_first_from(sp);
        node_log(l->m, MESH_LOG_WARN, "batches from %s: %s", s0 ? s0->id : "a past run", rep.text);
    }
    mesh_free(rep.text);
    for (size_t i = 0; i < n; i++) {
        const inbox_batch_t *b = inbox_at(l->inbox, i);
        session_t *s = b->from;
        s->ops_in += s_ops(b->data, b->len); /* (as spool_take counts the spooled) */
    }
    s_applied(l, &rep, sync_now_ms() - t0, inbox_at(l->inbox, n - 1)->id, n, sp->n);
    return MESH_OK;
}

void
spool_tick(loop_t *l, int64_t now_ms)
{
    spool_t *sp = l->spool;
    if (sp && sp->running && __atomic_load_n(&sp->job.done, __ATOMIC_ACQUIRE)) {
        spool_wait(l); /* (through: joined at once) */
    }
    /* (the worker is free: it starts on what is spooled once that is worth a commit, so it
     * never waits idle for a generation to fill while batches stream in, nor while their
     * senders wait for acknowledgements, their credit spent) */
    bool worth = sp && (sp->charge >= SPOOL_EAGER_CHARGE || sp->n >= LOOP_CREDIT / 2) &&
                 (!sp->failed_ms || now_ms - sp->failed_ms >= LOOP_GROUP_MS);
    if (sp && sp->n && !sp->running &&
        (worth || (!inbox_count(l->inbox) && now_ms - sp->last_ms >= LOOP_GROUP_MS))) {
        if (!s_start(l)) {
            (void)spool_apply(l); /* (on failure, kept: tried again a while later) */
        }
        sp->last_ms = now_ms;
    }
}
