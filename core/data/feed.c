/* core/data/feed.c: the change feed (docs/PROTOCOL.md §20). mesh_changes reads the store's
 * change log (store/changes.h) after a cursor in one read transaction and gives each
 * logged key's state now (its winner, origin, version, conflict); mesh_watch registers a
 * callback that a feed thread of the node's own calls with the same changes, woken by this
 * process's commits (the store's change hook), by a daemon's report of its commits when
 * this node is offline beside one (feedsub.h), and by polling the home's last transaction
 * id for other processes' (every S_POLL_MS; S_POLL_SUB_MS while a daemon reports).
 * Not here: giving sequence numbers (store/changes.c, in every item write).
 * Layer: core/data (rank 2). Third-party: none. SPDX-License-Identifier: MIT */
#include "core/data/feed.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/data/feedsub.h"
#include "core/data/version.h"
#include "core/wire/set.h"
#include "crypto/devid.h"

#define S_MAX_DEFAULT 1000u       /* changes a mesh_changes lists when max is 0 */
#define S_MAX_CAP     10000u      /* and at most */
#define S_BYTES_CAP   (16u << 20) /* value bytes one list holds before it stops early */
#define S_SCAN_CAP    65536u      /* log entries one call examines (filters skip the rest) */
#define S_WATCH_BATCH 256u        /* changes a watch is handed per round */
#define S_POLL_MS     25          /* how often the feed thread looks for other processes' commits */
#define S_POLL_SUB_MS 1000 /* and while a daemon reports its commits (feedsub.h): a safety net */

/* A change with the copies it points at. */
typedef struct s_entry {
    mesh_change_t c;
    uint8_t *bytes; /* key, then value */
} s_entry_t;

/* A collection's name, kept once per list. */
typedef struct s_name {
    uint32_t cid;
    char *name;
} s_name_t;

struct mesh_change_list {
    size_t count, cap;
    s_entry_t *items;
    s_name_t *names; /* every collection, read once when the first change needs a name */
    size_t name_count;
    bool names_read;
    uint64_t next;  /* the cursor to pass next */
    uint64_t floor; /* the log's floor when read */
    bool more, reset;
};

/* What to list. */
typedef struct s_filter {
    const char *coll; /* NULL: every collection not starting with '_' */
    const uint8_t *prefix;
    size_t prefix_len;
} s_filter_t;

struct mesh_watch {
    struct feed *feed;
    mesh_watch_t *next;
    char *coll;
    uint8_t *prefix;
    size_t prefix_len;
    mesh_watch_fn fn;
    void *ctx;
    uint64_t cursor;     /* atomic: the feed thread writes, mesh_watch_cursor reads */
    uint64_t told_floor; /* the floor a reset was last said for (feed thread) */
    uint64_t round;      /* the last round it was served in (under lock) */
    bool dead;           /* atomic: mesh_unwatch was called */
    bool warned;         /* a read failure was logged (feed thread) */
};

struct feed {
    mesh_t *m;
    pthread_mutex_t lock;
    pthread_cond_t wake; /* a commit of this process, a new watch, or the stop */
    pthread_cond_t idle; /* busy changed */
    pthread_t thread;
    bool stop, kicked;
    mesh_watch_t *head;
    mesh_watch_t *busy; /* the watch the thread serves now (its callbacks may run) */
    feedsub_t *sub;     /* offline: the daemon's commits, reported over its socket; or NULL */
    uint64_t round;
};

/* Makes each node's feed once, whatever thread calls mesh_watch first. */
static pthread_mutex_t s_make_lock = PTHREAD_MUTEX_INITIALIZER;

/* ---- the pull form ---- */

static void
s_list_free(mesh_change_list_t *list)
{
    if (!list) {
        return;
    }
    for (size_t i = 0; i < list->count; i++) {
        free(list->items[i].bytes);
    }
    for (size_t i = 0; i < list->name_count; i++) {
        free(list->names[i].name);
    }
    free(list->items);
    free(list->names);
    free(list);
}

/* The name of cid, reading every collection's once per list. NULL when it has none. */
static const char *
s_name(store_txn_t *txn, mesh_change_list_t *list, uint32_t cid, mesh_err_t *err)
{
    if (!list->names_read) {
        store_cursor_t *cur = NULL;
        char name[MESH_COLL_MAX + 1];
        uint32_t c = 0;
        list->names_read = true;
        *err = store_colls_open(txn, &cur);
        while (*err == MESH_OK && (*err = store_colls_next(cur, name, &c)) == MESH_OK) {
            s_name_t *grown = realloc(list->names, (list->name_count + 1) * sizeof *grown);
            char *dup = strdup(name);
            if (!grown || !dup) {
                free(dup);
                list->names = grown ? grown : list->names;
                *err = MESH_ENOMEM;
                break;
            }
            list->names = grown;
            list->names[list->name_count++] = (s_name_t){c, dup};
        }
        store_cursor_close(cur);
        if (*err != MESH_ENOTFOUND) {
            return NULL;
        }
        *err = MESH_OK;
    }
    for (size_t i = 0; i < list->name_count; i++) {
        if (list->names[i].cid == cid) {
            return list->names[i].name;
        }
    }
    return NULL;
}

/* Append a change logged at seq to list: key's winner v of item (conflict: it has
 * siblings), or with v NULL a deletion collected since (no version left to name). */
static mesh_err_t
s_add(store_txn_t *txn, mesh_t *m, mesh_change_list_t *list, uint64_t seq, const char *coll,
      const uint8_t *key, size_t key_len, const store_version_t *v, bool conflict)
{
    bool deleted = !v || v->kind == WIRE_DEL;
    size_t vlen = deleted ? 0 : v->value_len;
    if (list->count == list->cap) {
        size_t cap = list->cap ? list->cap * 2 : 16;
        s_entry_t *grown = realloc(list->items, cap * sizeof *grown);
        if (!grown) {
            return MESH_ENOMEM;
        }
        list->items = grown;
        list->cap = cap;
    }
    s_entry_t *e = &list->items[list->count];
    memset(e, 0, sizeof *e);
    e->bytes = malloc(key_len + vlen + 1);
    if (!e->bytes) {
        return MESH_ENOMEM;
    }
    if (v) {
        uint8_t origin[WIRE_ORIGIN_LEN];
        mesh_err_t err = store_origin_signed(txn, v->oid, origin, &e->c.incarnation);
        if (err != MESH_OK) {
            free(e->bytes);
            return err;
        }
        devid_format(origin, e->c.origin);
        e->c.local = strcmp(e->c.origin, m->id_text) == 0;
        e->c.seq = v->seq;
        e->c.hlc = v->hlc;
    }
    memcpy(e->bytes, key, key_len);
    if (vlen) {
        memcpy(e->bytes + key_len, v->value, vlen);
    }
    e->c.size = sizeof e->c;
    e->c.cursor = seq;
    e->c.coll = coll;
    e->c.key = e->bytes;
    e->c.key_len = key_len;
    e->c.value = deleted ? NULL : e->bytes + key_len;
    e->c.value_len = vlen;
    e->c.deleted = deleted;
    e->c.conflict = conflict;
    list->count++;
    return MESH_OK;
}

/* Read the changes after since that f selects into list (fresh), at most max. */
static mesh_err_t
s_read(mesh_t *m, const s_filter_t *f, uint64_t since, size_t max, mesh_change_list_t *list)
{
    store_txn_t *txn = NULL;
    store_cursor_t *cur = NULL;
    uint64_t last = 0, want_cid = 0;
    uint32_t cid = 0;
    size_t bytes = 0, scanned = 0;
    store_item_t *item = malloc(sizeof *item);
    if (!item) {
        return MESH_ENOMEM;
    }
    mesh_err_t err = store_read_begin(m->store, &txn);
    if (err == MESH_OK) {
        err = store_changes_bounds(txn, &last, &list->floor);
    }
    if (err != MESH_OK) {
        err = node_fail_store(m, err, "read the change log");
        goto out;
    }
    if (since > last) {
        err = node_fail(m, MESH_EINVAL,
                        "cursor %llu is beyond this home's change log (%llu): a cursor of "
                        "another home or of a store restored from an older copy; start from 0",
                        (unsigned long long)since, (unsigned long long)last);
        goto out;
    }
    list->next = last;
    list->reset = since != 0 && since < list->floor;
    if (f->coll) {
        err = store_coll_id(txn, f->coll, false, &cid);
        if (err == MESH_ENOTFOUND) {
            err = MESH_OK; /* never written: nothing to list, up to the end */
            goto out;
        }
        if (err != MESH_OK) {
            err = node_fail_store(m, err, "read collection");
            goto out;
        }
        want_cid = (uint64_t)cid + 1;
    }
    err = store_changes_open(txn, since, &cur);
    while (err == MESH_OK) {
        uint64_t seq = 0;
        const uint8_t *skey = NULL;
        size_t skey_len = 0;
        if (list->count == max || bytes >= S_BYTES_CAP || scanned == S_SCAN_CAP) {
            list->more = true;
            break;
        }
        bool gone = false;
        err = store_changes_next(cur, &seq, &cid, &skey, &skey_len, &gone);
        if (err != MESH_OK) {
            break;
        }
        scanned++;
        list->next = seq;
        if (want_cid && cid != want_cid - 1) {
            continue;
        }
        const char *coll = f->coll ? f->coll : s_name(txn, list, cid, &err);
        if (err != MESH_OK || !coll || (!f->coll && coll[0] == '_')) {
            continue;
        }
        err = store_item_get_stored(txn, cid, skey, skey_len, item);
        if (gone) {
            /* a deletion collected since; the key written again has a later entry */
            if (err == MESH_OK) {
                continue;
            }
            if (err != MESH_ENOTFOUND) {
                break;
            }
            err = MESH_OK;
            if (skey_len > STORE_KEY_INLINE_MAX) {
                list->reset = true; /* a long key's stored form is not the key: re-read */
                continue;
            }
            if (skey_len >= f->prefix_len &&
                (f->prefix_len == 0 || memcmp(skey, f->prefix, f->prefix_len) == 0)) {
                err = s_add(txn, m, list, seq, coll, skey, skey_len, NULL, false);
            }
            continue;
        }
        if (err == MESH_ENOTFOUND) {
            err = MESH_OK; /* not in this snapshot's items: nothing to say */
            continue;
        }
        if (err == MESH_OK && (item->key_len < f->prefix_len ||
                               (f->prefix_len && memcmp(item->key, f->prefix, f->prefix_len)))) {
            continue;
        }
        size_t w = 0;
        if (err == MESH_OK) {
            err = version_winner(txn, item, &w);
        }
        if (err == MESH_OK) {
            err = s_add(txn, m, list, seq, coll, item->key, item->key_len, &item->versions[w],
                        item->count > 1);
        }
        if (err == MESH_OK && list->count) {
            bytes += list->items[list->count - 1].c.value_len;
        }
    }
    if (err == MESH_ENOTFOUND) {
        err = MESH_OK;
        list->next = last; /* every entry up to the end was seen */
    }
    if (err == MESH_ENOMEM) {
        err = node_fail(m, err, "out of memory reading the change log");
    } else if (err != MESH_OK) {
        err = node_fail_store(m, err, "read the change log");
    }
out:
    store_cursor_close(cur);
    store_read_end(txn);
    free(item);
    return err;
}

/* Check a feed's filter as the read calls check theirs. */
static mesh_err_t
s_check(mesh_t *m, const char *coll, const void *prefix, size_t prefix_len)
{
    if (coll) {
        mesh_err_t err = node_check_coll(m, coll, true);
        if (err != MESH_OK) {
            return err;
        }
    }
    if (prefix_len > MESH_KEY_MAX) {
        return node_fail(m, MESH_ETOOBIG, "prefix of %zu bytes (limit %u)", prefix_len,
                         MESH_KEY_MAX);
    }
    if (prefix_len && !prefix) {
        return node_fail(m, MESH_EINVAL, "prefix NULL with a length");
    }
    return MESH_OK;
}

mesh_err_t
mesh_changes(mesh_t *m, const char *coll, const void *prefix, size_t prefix_len, uint64_t since,
             size_t max, mesh_change_list_t **out)
{
    if (out) {
        *out = NULL;
    }
    if (!m || !out) {
        return MESH_EINVAL;
    }
    node_clear_err(m);
    mesh_err_t err = s_check(m, coll, prefix, prefix_len);
    if (err != MESH_OK) {
        return err;
    }
    max = max == 0 ? S_MAX_DEFAULT : max > S_MAX_CAP ? S_MAX_CAP : max;
    mesh_change_list_t *list = calloc(1, sizeof *list);
    if (!list) {
        return MESH_ENOMEM;
    }
    s_filter_t f = {coll, prefix, prefix_len};
    err = s_read(m, &f, since, max, list);
    if (err != MESH_OK) {
        s_list_free(list);
        return err;
    }
    *out = list;
    return MESH_OK;
}

size_t
mesh_change_list_count(const mesh_change_list_t *list)
{
    return list ? list->count : 0;
}

const mesh_change_t *
mesh_change_list_get(const mesh_change_list_t *list, size_t i)
{
    return list && i < list->count ? &list->items[i].c : NULL;
}

uint64_t
mesh_change_list_next(const mesh_change_list_t *list)
{
    return list ? list->next : 0;
}

bool
mesh_change_list_more(const mesh_change_list_t *list)
{
    return list && list->more;
}

bool
mesh_change_list_reset(const mesh_change_list_t *list)
{
    return list && list->reset;
}

void
mesh_change_list_free(mesh_change_list_t *list)
{
    s_list_free(list);
}

/* ---- the push form ---- */

/* The store's change hook: a commit of this process logged a change. */
static void
s_kick(void *ctx)
{
    struct feed *fd = ctx;
    pthread_mutex_lock(&fd->lock);
    fd->kicked = true;
    pthread_cond_signal(&fd->wake);
    pthread_mutex_unlock(&fd->lock);
}

static void
s_watch_free(mesh_watch_t *w)
{
    free(w->coll);
    free(w->prefix);
    free(w);
}

/* Take w out of the list (under lock). */
static void
s_unlink(struct feed *fd, mesh_watch_t *w)
{
    for (mesh_watch_t **p = &fd->head; *p; p = &(*p)->next) {
        if (*p == w) {
            *p = w->next;
            return;
        }
    }
}

/* Serve one watch one round: read its next changes and call its callback with each.
 * Returns true when it has more to read at once. */
static bool
s_serve(struct feed *fd, mesh_watch_t *w)
{
    mesh_change_list_t *list = calloc(1, sizeof *list);
    if (!list) {
        return false;
    }
    s_filter_t f = {w->coll, w->prefix, w->prefix_len};
    uint64_t since = __atomic_load_n(&w->cursor, __ATOMIC_RELAXED);
    mesh_err_t err = s_read(fd->m, &f, since, S_WATCH_BATCH, list);
    if (err != MESH_OK) {
        if (!w->warned) {
            node_log(fd->m, MESH_LOG_WARN, "change feed: a watch cannot read the log: %s (%s)",
                     mesh_strerror(err), mesh_errmsg(fd->m));
            w->warned = true;
        }
        s_list_free(list);
        return false;
    }
    w->warned = false;
    bool reset = list->reset && list->floor > w->told_floor;
    if (reset) {
        w->told_floor = list->floor;
    }
    if (reset && list->count == 0 && !__atomic_load_n(&w->dead, __ATOMIC_ACQUIRE)) {
        w->fn(w->ctx, NULL, true);
    }
    for (size_t i = 0; i < list->count; i++) {
        if (__atomic_load_n(&w->dead, __ATOMIC_ACQUIRE)) {
            break;
        }
        w->fn(w->ctx, &list->items[i].c, reset && i == 0);
        __atomic_store_n(&w->cursor, list->items[i].c.cursor, __ATOMIC_RELAXED);
    }
    bool more = list->more;
    if (!__atomic_load_n(&w->dead, __ATOMIC_ACQUIRE)) {
        __atomic_store_n(&w->cursor, list->next, __ATOMIC_RELAXED);
    }
    s_list_free(list);
    return more;
}

static void
s_deadline(struct timespec *ts, long ms)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_nsec += ms * 1000000L;
    ts->tv_sec += ts->tv_nsec / 1000000000L;
    ts->tv_nsec %= 1000000000L;
}

static void *
s_thread(void *arg)
{
    struct feed *fd = arg;
    uint64_t seen = 0;
    bool again = true; /* a new watch may have changes waiting already */
    pthread_mutex_lock(&fd->lock);
    while (!fd->stop) {
        if (!fd->kicked && !again) {
            struct timespec ts;
            s_deadline(&ts, feedsub_live(fd->sub) ? S_POLL_SUB_MS : S_POLL_MS);
            (void)pthread_cond_timedwait(&fd->wake, &fd->lock, &ts);
            if (fd->stop) {
                break;
            }
        }
        bool kicked = fd->kicked;
        fd->kicked = false;
        pthread_mutex_unlock(&fd->lock);
        uint64_t id = store_last_txnid(fd->m->store);
        bool work = again || kicked || id != seen;
        seen = id;
        again = false;
        pthread_mutex_lock(&fd->lock);
        if (!work) {
            continue;
        }
        uint64_t round = ++fd->round;
        for (;;) {
            mesh_watch_t *w = fd->head;
            while (w && (w->round == round || __atomic_load_n(&w->dead, __ATOMIC_ACQUIRE))) {
                w = w->next;
            }
            if (!w || fd->stop) {
                break;
            }
            w->round = round;
            fd->busy = w;
            pthread_mutex_unlock(&fd->lock);
            bool more = s_serve(fd, w);
            pthread_mutex_lock(&fd->lock);
            again = again || more;
            fd->busy = NULL;
            if (__atomic_load_n(&w->dead, __ATOMIC_ACQUIRE)) {
                s_unlink(fd, w);
                s_watch_free(w);
            }
            pthread_cond_broadcast(&fd->idle);
        }
    }
    pthread_mutex_unlock(&fd->lock);
    return NULL;
}

/* m's feed, made and its thread started at the first call. */
static mesh_err_t
s_feed(mesh_t *m, struct feed **out)
{
    mesh_err_t err = MESH_OK;
    pthread_mutex_lock(&s_make_lock);
    struct feed *fd = m->feed;
    if (!fd) {
        fd = calloc(1, sizeof *fd);
        pthread_condattr_t ca;
        if (!fd) {
            err = MESH_ENOMEM;
        } else {
            fd->m = m;
            pthread_mutex_init(&fd->lock, NULL);
            pthread_condattr_init(&ca);
            pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
            pthread_cond_init(&fd->wake, &ca);
            pthread_condattr_destroy(&ca);
            pthread_cond_init(&fd->idle, NULL);
            /* offline beside a daemon: its commits are told, not polled for (no
             * subscription: the feed polls, as with no daemon) */
            if (!m->loop && feedsub_start(m->home, s_kick, fd, &fd->sub) != MESH_OK) {
                node_log(m, MESH_LOG_DEBUG, "change feed: no thread for the daemon's commits");
            }
            if (pthread_create(&fd->thread, NULL, s_thread, fd) != 0) {
                feedsub_stop(fd->sub);
                pthread_mutex_destroy(&fd->lock);
                pthread_cond_destroy(&fd->wake);
                pthread_cond_destroy(&fd->idle);
                free(fd);
                fd = NULL;
                err = node_fail(m, MESH_EIO, "cannot start the feed thread");
            } else {
                store_set_change_hook(m->store, s_kick, fd);
                m->feed = fd;
            }
        }
    }
    pthread_mutex_unlock(&s_make_lock);
    *out = fd;
    return err;
}

mesh_err_t
mesh_watch(mesh_t *m, const char *coll, const void *prefix, size_t prefix_len, uint64_t since,
           mesh_watch_fn fn, void *ctx, mesh_watch_t **out)
{
    if (out) {
        *out = NULL;
    }
    if (!m || !fn || !out) {
        return MESH_EINVAL;
    }
    node_clear_err(m);
    mesh_err_t err = s_check(m, coll, prefix, prefix_len);
    if (err != MESH_OK) {
        return err;
    }
    /* the cursor now, and a check of since, in one read */
    store_txn_t *txn = NULL;
    uint64_t last = 0, floor = 0;
    err = store_read_begin(m->store, &txn);
    if (err == MESH_OK) {
        err = store_changes_bounds(txn, &last, &floor);
    }
    store_read_end(txn);
    if (err != MESH_OK) {
        return node_fail_store(m, err, "read the change log");
    }
    if (since == MESH_CURSOR_NOW) {
        since = last;
    } else if (since > last) {
        return node_fail(m, MESH_EINVAL,
                         "cursor %llu is beyond this home's change log (%llu); start from 0",
                         (unsigned long long)since, (unsigned long long)last);
    }
    mesh_watch_t *w = calloc(1, sizeof *w);
    if (!w || (coll && !(w->coll = strdup(coll))) ||
        (prefix_len && !(w->prefix = malloc(prefix_len)))) {
        if (w) {
            s_watch_free(w);
        }
        return MESH_ENOMEM;
    }
    if (prefix_len) {
        memcpy(w->prefix, prefix, prefix_len);
    }
    w->prefix_len = prefix_len;
    w->fn = fn;
    w->ctx = ctx;
    w->cursor = since;
    struct feed *fd = NULL;
    err = s_feed(m, &fd);
    if (err != MESH_OK) {
        s_watch_free(w);
        return err;
    }
    w->feed = fd;
    pthread_mutex_lock(&fd->lock);
    mesh_watch_t **tail = &fd->head;
    while (*tail) {
        tail = &(*tail)->next;
    }
    *tail = w;
    fd->kicked = true;
    pthread_cond_signal(&fd->wake);
    pthread_mutex_unlock(&fd->lock);
    *out = w;
    return MESH_OK;
}

uint64_t
mesh_watch_cursor(const mesh_watch_t *w)
{
    return w ? __atomic_load_n(&w->cursor, __ATOMIC_RELAXED) : 0;
}

void
mesh_unwatch(mesh_watch_t *w)
{
    if (!w) {
        return;
    }
    struct feed *fd = w->feed;
    pthread_mutex_lock(&fd->lock);
    __atomic_store_n(&w->dead, true, __ATOMIC_RELEASE);
    if (fd->busy == w) {
        if (!pthread_equal(pthread_self(), fd->thread)) {
            while (fd->busy == w) { /* the thread frees it when its callback returns */
                pthread_cond_wait(&fd->idle, &fd->lock);
            }
        }
    } else {
        s_unlink(fd, w);
        s_watch_free(w);
    }
    pthread_mutex_unlock(&fd->lock);
}

void
feed_close(mesh_t *m)
{
    struct feed *fd = m->feed;
    if (!fd) {
        return;
    }
    /* The feed thread reads fd->sub under the lock (feedsub_live): take it out there, then
     * stop it outside the lock (its thread kicks fd, which takes the lock). */
    pthread_mutex_lock(&fd->lock);
    feedsub_t *sub = fd->sub;
    fd->sub = NULL;
    pthread_mutex_unlock(&fd->lock);
    feedsub_stop(sub);
    pthread_mutex_lock(&fd->lock);
    fd->stop = true;
    pthread_cond_signal(&fd->wake);
    pthread_mutex_unlock(&fd->lock);
    pthread_join(fd->thread, NULL);
    store_set_change_hook(m->store, NULL, NULL);
    while (fd->head) {
        mesh_watch_t *w = fd->head;
        fd->head = w->next;
        s_watch_free(w);
    }
    pthread_mutex_destroy(&fd->lock);
    pthread_cond_destroy(&fd->wake);
    pthread_cond_destroy(&fd->idle);
    free(fd);
    m->feed = NULL;
}
