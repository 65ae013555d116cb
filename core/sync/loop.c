/* core/sync/loop.c: the node's event-loop thread (docs/PROTOCOL.md §11; DESIGN.md,
 * Concurrency). One thread owns the transport and every session: it polls the transport,
 * hands each frame to its session, commits received batches when they are due, notices
 * commits made by any process on the home (and pushes them), runs the timers, gives back
 * memory after large applies and sends, and refreshes the status; start and stop.
 * Not here: dialling (core/sync/dial.c), the session protocol (core/sync/session.c), our
 * own vector (core/sync/own.c), the status figures (core/sync/status.c).
 * Layer: core (sync). Third-party: none (sockets through transport/). SPDX-License-Identifier: MIT
 */
#include "core/sync/loop.h"

#include <errno.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "core/base/testhook.h"
#include "core/member/member.h"
#include "core/sync/control.h"
#include "core/sync/dial.h"
#include "core/sync/discover.h"
#include "core/sync/folders.h"
#include "core/sync/pex.h"
#include "core/sync/presence.h"
#include "core/sync/repair.h"
#include "core/sync/session.h"
#include "core/sync/spool.h"
#include "core/sync/status.h"
#include "core/sync/sync.h"
#include "crypto/ident.h"
#include "transport/guard.h"

/* Acknowledgements and tombstone collection (core/apply/collect.h) scan the store on this
 * thread: not while a backlog streams in (each of its commits changes the stable vector, and
 * each scan would read the whole growing store again: at 200,000 items an eighth of the
 * receiver's CPU), but never held more than LOOP_GC_HOLD_MS in a row. */
static void
s_collect(loop_t *l, int64_t now)
{
    bool streaming = inbox_count(l->inbox) || spool_count(l->spool) ||
                     (now - l->flush_ms < LOOP_GROUP_MS && l->ops_unreleased >= LOOP_RELEASE_OPS);
    if (streaming && (!l->gc_held_ms || now - l->gc_held_ms < LOOP_GC_HOLD_MS)) {
        l->gc_held_ms = l->gc_held_ms ? l->gc_held_ms : now;
        return;
    }
    l->gc_held_ms = 0;
    collect_tick(l->m, &l->gc, now);
}

/* After a large apply, once quiet for a while, give back the memory it left (LMDB's pages
 * of the large write transactions, then the allocator's free pages: the daemon keeps its
 * heap meanwhile, see s_keep_heap); after large sends, the allocator's free pages (the
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

/* Keep the process's heap (mesh_options_t.daemon_heap). A sync moves megabytes per batch
 * through the heap (batches, ZeroMQ's copies of them, LMDB's dirty pages). By default glibc
 * maps each such block anew, or gives the top of the heap back whenever it frees one, and
 * every page then faults in again: on small VMs page faults cost the sender a fifth of its
 * time. So keep the heap; s_release_memory gives it back (malloc_trim) once a large apply
 * or send is over and all is quiet. One arena for every thread: malloc_trim gives back the
 * free top of the main arena only, and the checker thread's decoding (core/sync/checker.c)
 * or ZeroMQ's I/O thread would otherwise leave tens of MB in arenas of their own. Called
 * before those threads start. */
static void
s_keep_heap(void)
{
#ifdef __GLIBC__
    (void)mallopt(M_MMAP_THRESHOLD, 64 << 20);
    (void)mallopt(M_TRIM_THRESHOLD, 1 << 30);
    (void)mallopt(M_ARENA_MAX, 1);
#endif
}

/* A pre-auth flood (connections shut down for going past the guard's caps: strangers, who
 * cannot be told from members before CURVE and ZAP) is logged once per LOOP_FLOOD_LOG_MS,
 * with the count since the last line, never once per connection. */
static void
s_log_flood(loop_t *l, int64_t now)
{
    uint64_t shed = transport_shed(l->t);
    if (shed == l->shed || now - l->shed_ms < LOOP_FLOOD_LOG_MS) {
        return;
    }
    node_log(l->m, MESH_LOG_WARN,
             "pre-auth flood: shut down %llu connection(s) past the caps (%u per address, "
             "%zu in all) in the last %d s; %zu not yet authenticated now",
             (unsigned long long)(shed - l->shed), GUARD_PER_ADDR, transport_preauth_max(l->t),
             LOOP_FLOOD_LOG_MS / 1000, transport_preauth(l->t));
    l->shed = shed;
    l->shed_ms = now;
}

/* One turn of the loop: wait up to the turn's own wait (0 when may_wait is false) for a
 * frame and hand it to its session, and so each frame queued behind it (at most
 * LOOP_FRAMES_TURN in all, and none after LOOP_FRAMES_TURN_MS: a burst of block messages costs one
 * turn's timers and pushes, not one per frame), commit what is due, follow commits made on the
 * home, push, and run the timers. True if a frame came. */
static bool
s_turn(loop_t *l, bool may_wait)
{
    transport_msg_t tm;
    dial_members(l);
    int64_t now = sync_now_ms();
    for (size_t i = 0; i < l->nsess; i++) {
        /* a link that comes up any moment: say HELLO as soon as it does */
        const session_t *s = l->sess[i];
        l->quick |= s->conn_out != SYNC_NO_CONN && !s->hello_out && now - s->dial_ms < 3000;
    }
    int64_t wait = may_wait ? loop_wait_ms(l) : 0;
    mesh_err_t err = transport_recv(l->t, wait > 0 ? (int)wait : 0, &tm);
    l->quick = false;
    bool got = err == MESH_OK;
    int64_t until = got ? sync_now_ms() + LOOP_FRAMES_TURN_MS : 0;
    for (unsigned n = 0; err == MESH_OK; n++) { /* what else is queued, up to the caps */
        session_on_msg(l, &tm);
        if (n + 1 == LOOP_FRAMES_TURN || sync_now_ms() >= until) {
            break; /* (a frame that took long, e.g. one that committed: the rest next turn) */
        }
        err = transport_recv(l->t, 0, &tm);
    }
    if (err != MESH_OK) {
        /* Nothing waits: whatever a peer sent until now has been heard. (A long commit
         * below must not make peers whose pings queue meanwhile look silent.) */
        l->drained_ms = sync_now_ms();
        /* (while the spool applies on its worker and is full, what is due waits: it keeps
         * coming, and is checked, until the queue is full) */
        if (inbox_due(l->inbox, l->drained_ms) && !spool_stalled(l->spool)) {
            session_flush_group(l); /* commit while the checker goes on */
        }
    }
    if (transport_refused(l->t) != l->refused) {
        node_log(l->m, MESH_LOG_WARN,
                 "refused %llu connection attempt(s) or frame(s) from keys that are not "
                 "members",
                 (unsigned long long)(transport_refused(l->t) - l->refused));
        l->refused = transport_refused(l->t);
    }
    s_log_flood(l, sync_now_ms());
    uint64_t txnid = store_last_txnid(l->m->store);
    if (txnid != l->last_txnid) {
        node_log(l->m, MESH_LOG_DEBUG, "store at transaction %llu", (unsigned long long)txnid);
        /* a commit by anyone on this home: push it, and follow membership */
        l->last_txnid = txnid;
        if (member_reload(l->m) != MESH_OK) {
            node_log(l->m, MESH_LOG_WARN, "membership: %s", mesh_errmsg(l->m));
        }
        for (size_t i = 0; i < l->nsess; i++) {
            l->sess[i]->again = true;
        }
    }
    l->busy = false;
    for (size_t i = 0; i < l->nsess; i++) {
        session_push(l, l->sess[i]);
        l->busy |= session_can_push(l->sess[i]);
    }
    now = sync_now_ms();
    session_tick(l, now);
    discover_tick(l, l->discover, now);
    spool_tick(l, now);
    session_ack_spooled(l); /* (an apply that ended: its senders' acknowledgements) */
    s_release_memory(l, now);
    status_tick(l, now);
    control_tick(l, now);
    s_collect(l, now);
    pex_save(l, now, false);
    return got;
}

int64_t
loop_wait_ms(const loop_t *l)
{
    /* Sleep only when nothing waits: no commit due, nothing to push; queued batches wait
     * for more of their pass only until LOOP_GROUP_MS after the first. */
    int64_t wait = l->busy ? 0 : l->quick ? 2 : LOOP_IDLE_MS;
    /* (while the spool applies on its worker and is full, a commit due waits for its end,
     * which wakes the loop: no turn in between but for frames) */
    if (inbox_count(l->inbox) && !spool_stalled(l->spool)) {
        int64_t due = inbox_wait_ms(l->inbox, sync_now_ms()); /* 0 once a commit is due */
        wait = due < wait ? due : wait;
    }
    return wait < 0 ? 0 : wait;
}

/* What the loop does when it stops: commit what it received, save the sessions' state. */
static void
s_finish(loop_t *l)
{
    session_flush(l);
    session_save(l);
    folders_close(l);
    pex_save(l, 0, true);
}

static void *
s_run(void *arg)
{
    loop_t *l = arg;
    while (!__atomic_load_n(&l->stop, __ATOMIC_ACQUIRE)) {
        (void)s_turn(l, true);
    }
    s_finish(l);
    return NULL;
}

/* ---- the external loop (mesh_fd, mesh_process) ---- */

static mesh_err_t s_external_arm(loop_t *l, int64_t ms);

/* The descriptor the caller polls: an epoll set of the transport's sockets and a timer. */
static mesh_err_t
s_external_open(loop_t *l)
{
    struct epoll_event ev = {.events = EPOLLIN};
    l->epfd = epoll_create1(EPOLL_CLOEXEC);
    l->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    ev.data.fd = l->timerfd;
    if (l->epfd < 0 || l->timerfd < 0 || epoll_ctl(l->epfd, EPOLL_CTL_ADD, l->timerfd, &ev) != 0) {
        return node_fail(l->m, MESH_EIO, "the loop's descriptor: %s", strerror(errno));
    }
    return s_external_arm(l, 0); /* readable at once: the first turn dials the members */
}

static void
s_external_close(loop_t *l)
{
    if (l->timerfd >= 0) {
        close(l->timerfd);
    }
    if (l->epfd >= 0) {
        close(l->epfd);
    }
    l->epfd = l->timerfd = -1;
}

/* Make the descriptor readable in ms (0: at once), and hold the transport's descriptors
 * (sockets come and go with connections: those gone are taken out, new ones put in). */
static mesh_err_t
s_external_arm(loop_t *l, int64_t ms)
{
    int fds[LOOP_PROCESS_FDS];
    size_t n = l->t ? transport_fds(l->t, fds, LOOP_PROCESS_FDS) : 0;
    for (size_t i = 0; i < l->nfds; i++) {
        bool kept = false;
        for (size_t j = 0; j < n && !kept; j++) {
            kept = fds[j] == l->fds[i];
        }
        if (!kept) { /* (a closed socket's descriptor has left the set already: ENOENT) */
            (void)epoll_ctl(l->epfd, EPOLL_CTL_DEL, l->fds[i], NULL);
        }
    }
    for (size_t j = 0; j < n; j++) {
        struct epoll_event ev = {.events = EPOLLIN, .data.fd = fds[j]};
        if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fds[j], &ev) != 0 && errno != EEXIST) {
            return node_fail(l->m, MESH_EIO, "the loop's descriptor: %s", strerror(errno));
        }
    }
    memcpy(l->fds, fds, n * sizeof fds[0]);
    l->nfds = n;
    struct itimerspec due = {.it_value = {.tv_sec = (time_t)(ms / 1000),
                                          .tv_nsec = ms > 0 ? (long)(ms % 1000) * 1000000L : 1L}};
    if (timerfd_settime(l->timerfd, 0, &due, NULL) != 0) {
        return node_fail(l->m, MESH_EIO, "the loop's timer: %s", strerror(errno));
    }
    return MESH_OK;
}

int
loop_fd(const loop_t *l)
{
    return l && l->external ? l->epfd : -1;
}

mesh_err_t
loop_process(loop_t *l)
{
    if (!l->external) {
        return MESH_ESTATE;
    }
    uint64_t expired;
    while (read(l->timerfd, &expired, sizeof expired) > 0) {
        /* (drained: the timer is armed again below) */
    }
    int64_t t0 = sync_now_ms();
    bool more;
    do {
        more = s_turn(l, false) || transport_pending(l->t);
    } while (more && sync_now_ms() - t0 < LOOP_PROCESS_MS);
    /* libzmq's descriptors say only that something changed: a frame still queued is waited
     * for by the timer, not by them */
    return s_external_arm(l, more || transport_pending(l->t) ? 0 : loop_wait_ms(l));
}

/* ---- the wake (a local commit) ---- */

static void
s_wake(void *ctx)
{
    loop_t *l = ctx;
    uint64_t one = 1;
    (void)!write(l->wake_fd, &one, sizeof one); /* (full at 2^64-2: readable already) */
}

/* An eventfd the transport polls, written by m->wake after each local commit. */
static mesh_err_t
s_wake_open(loop_t *l)
{
    l->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (l->wake_fd < 0) {
        return node_fail(l->m, MESH_EIO, "the loop's wake: %s", strerror(errno));
    }
    transport_poll_fd(l->t, l->wake_fd);
    l->m->wake_ctx = l;
    l->m->wake = s_wake;
    return MESH_OK;
}

/* After the loop's last turn (no call of the node runs any more: mesh_close). */
static void
s_wake_close(loop_t *l)
{
    if (l->m->wake_ctx == l) {
        l->m->wake = NULL;
        l->m->wake_ctx = NULL;
    }
    if (l->wake_fd >= 0) {
        transport_poll_fd(l->t, -1);
        close(l->wake_fd);
    }
    l->wake_fd = -1;
}

mesh_err_t
loop_start(mesh_t *m, const char *listen, bool keep_heap, const discover_config_t *disc,
           bool external, loop_t **out)
{
    uint8_t curve_pk[TRANSPORT_KEY_LEN], curve_sk[TRANSPORT_KEY_LEN];
    *out = NULL;
    loop_t *l = calloc(1, sizeof *l);
    if (!l) {
        return MESH_ENOMEM;
    }
    l->m = m;
    l->members_gen = UINT64_MAX;
    l->external = external;
    l->epfd = l->timerfd = l->wake_fd = -1;
    /* Test hook (PROTOCOL.md §11.1): announce another major version, to show refusal. */
    l->major = testhook_number(TESTHOOK_PROTO_MAJOR, WIRE_PROTO_MAJOR);
    ident_random(&l->session, sizeof l->session);
    /* Test hook: a build under ThreadSanitizer runs several times slower; a peer that is only
     * slow must not be taken for a dead one there. */
    uint64_t slow = testhook_number(TESTHOOK_TIME_FACTOR, 1);
    l->slow = slow < 1 ? 1 : slow > 20 ? 20 : (int64_t)slow;
    /* Test hook: commit received batches in groups of this many bytes (1: each alone). */
    size_t group_bytes = (size_t)testhook_number(TESTHOOK_GROUP_BYTES, 0);
    if (group_bytes == 0 || group_bytes > LOOP_GROUP_BYTES) {
        group_bytes = LOOP_GROUP_BYTES;
    }
    if (keep_heap) {
        s_keep_heap();
    }
    pthread_mutex_init(&l->status_lock, NULL);
    wire_buf_init(&l->buf);
    wire_buf_init(&l->body);
    mesh_err_t err = ident_curve_public(ident_public_key(m->ident), curve_pk);
    if (err == MESH_OK) {
        err = ident_curve_secret(m->ident, curve_sk);
    }
    if (err == MESH_OK) {
        err = transport_open(curve_pk, curve_sk, dial_admit, l, &l->t);
    }
    ident_wipe(curve_sk, sizeof curve_sk);
    if (err == MESH_OK && listen) {
        err = transport_listen(l->t, listen, l->listen, sizeof l->listen);
    }
    bool said = false; /* the failure's detail is on m already */
    if (err == MESH_OK) {
        err = discover_open(l, disc, &l->discover);
        said = err != MESH_OK;
    }
    if (err == MESH_OK) {
        err = inbox_open(LOOP_QUEUE_BATCHES, LOOP_QUEUE_BYTES, LOOP_GROUP_BATCHES, group_bytes,
                         LOOP_GROUP_MS, &l->inbox);
    }
    if (err == MESH_OK) {
        err = spool_open(m->home, &l->spool);
        if (err != MESH_OK) {
            node_fail(m, err, "cannot open the spool in %s", m->home);
            said = true;
        }
    }
    if (err == MESH_OK) {
        err = status_open(l);
    }
    if (err == MESH_OK) {
        err = control_open(l);
    }
    if (err == MESH_OK) {
        err = presence_open(l, &l->presence);
    }
    if (err == MESH_OK) {
        err = s_wake_open(l);
    }
    if (err == MESH_OK && external) {
        err = s_external_open(l);
        said = err != MESH_OK;
    } else if (err == MESH_OK && pthread_create(&l->thread, NULL, s_run, l) != 0) {
        err = MESH_EIO;
    }
    if (err != MESH_OK) {
        s_external_close(l);
        s_wake_close(l);
        presence_close(l->presence);
        control_close(l);
        status_close(l);
        if (!said) {
            node_fail(m, err, "network: %s", l->t ? transport_errmsg(l->t) : "cannot start");
        }
        discover_close(l->discover);
        spool_close(l->spool);
        inbox_close(l->inbox);
        transport_close(l->t);
        wire_buf_release(&l->buf);
        wire_buf_release(&l->body);
        pthread_mutex_destroy(&l->status_lock);
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
    if (l->external) {
        s_finish(l);
        s_external_close(l);
    } else {
        pthread_join(l->thread, NULL);
    }
    s_wake_close(l);
    presence_close(l->presence);
    control_close(l);
    status_close(l);
    char path[4200];
    snprintf(path, sizeof path, "%s/status", l->m->home);
    (void)unlink(path); /* no daemon runs here any more */
    for (size_t i = 0; i < l->nsess; i++) {
        repair_end(l->sess[i]);
        vector_free(l->sess[i]->vv);
        vector_free(l->sess[i]->hello_vv);
        vector_free(l->sess[i]->agreed_vv);
        free(l->sess[i]->addrs);
        addrbook_release(&l->sess[i]->book);
        free(l->sess[i]);
    }
    free(l->sess);
    free(l->by_curve);
    vector_free(l->own_vv);
    free(l->own);
    collect_state_release(&l->gc);
    discover_close(l->discover);
    spool_close(l->spool); /* (empty too, unless its apply failed: then in the file) */
    inbox_close(l->inbox); /* (empty: the thread's last s_flush committed all) */
    transport_close(l->t);
    wire_buf_release(&l->buf);
    wire_buf_release(&l->body);
    free(l->status_text);
    pthread_mutex_destroy(&l->status_lock);
    free(l);
}
