/* core/sync/folders.c: the loop's folder work: registry, inotify, scans, realize passes and
 * block requests (docs/PROTOCOL.md §18.5-§18.7).
 * Layer: core (sync). Third-party: none. SPDX-License-Identifier: MIT */
#include "core/sync/folders.h"

#include "core/base/testhook.h"
#include "core/folder/blockidx.h"
#include "core/folder/blockwork.h"
#include "core/folder/index.h"
#include "core/folder/realize.h"
#include "core/folder/registry.h"
#include "core/sync/statusfile.h"
#include "core/wire/blockmsg.h"
#include "crypto/hash.h"
#include "fs/path.h"
#include "transport/transport.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#define S_TRIED_MAX 8 /* members a block was asked of, before all are asked again */
#define S_SLOTS     (4 * FOLDERS_WANT_MAX) /* the want table's slots (a power of two) */

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

/* What a folder still needs, as last counted (folders_put_status), and at which store
 * transaction and records' generation: counted again only when one of those moved. */
typedef struct s_need {
    uint64_t txnid, generation;
    uint64_t files, bytes;
    int64_t counted_ms; /* when (monotonic) */
    bool counted;
} s_need_t;

typedef struct s_watch {
    int wd;
    folder_t *f;
    char *rel; /* the directory's path in f (malloc'd), NULL for its root */
} s_watch_t;

struct folders {
    folder_t **f;
    size_t n;
    blockidx_t *bi;
    uint64_t txnid;      /* the store's last transaction at the last realize pass */
    int64_t registry_ms; /* when the registry was last read */
    int64_t *scan_ms;    /* per folder: its last full scan */
    int64_t *dirty_ms;   /* per folder: when inotify last said something changed */
    uint64_t *watched;   /* per folder: its generation when watches were last added */
    s_need_t *need;      /* per folder: what it still needs (status) */
    uint64_t *saved;     /* per folder: its generation when its records were last kept */
    int64_t *saved_ms;   /* per folder: when */
    int64_t parted_ms;   /* when the last scan part ended */
    int ino;             /* the inotify descriptor, or -1 */
    bool ino_full;       /* the watch limit was met (logged once) */
    s_watch_t *watches;
    size_t nwatches;
    s_want_t *want;
    size_t nwant;
    size_t inflight;
    int64_t wanted_ms; /* when the wanted list was last read from the pending files */
    bool wanted_due;   /* a pass ran since (new files may lack blocks): read it at this turn */
    bool wanted_full;  /* the list was full when last read: read it at each turn (room comes) */
    uint64_t next_id;
    size_t next_sess;    /* round robin among members */
    uint32_t *slot;      /* want's hash table: index + 1 per slot, 0 empty (S_SLOTS) */
    blockwork_t *bw;     /* the workers that check received blocks, or NULL */
    blockserve_t *serve; /* the answers to members' requests */
    wire_buf_t body;
};

/* ---- registry ---- */

static void s_checked_all(loop_t *l, struct folders *fs);
static void s_checked_some(loop_t *l, struct folders *fs, bool wait);

static void
s_drop_folder(loop_t *l, struct folders *fs, size_t i)
{
    folder_t *f = fs->f[i];
    s_checked_all(l, fs); /* (the workers' jobs name the folder's pending files) */
    for (size_t w = 0; w < fs->nwatches;) {
        if (fs->watches[w].f == f) {
            inotify_rm_watch(fs->ino, fs->watches[w].wd);
            free(fs->watches[w].rel);
            fs->watches[w] = fs->watches[--fs->nwatches];
        } else {
            w++;
        }
    }
    for (size_t w = 0; w < fs->nwant; w++) {
        if (fs->want[w].f == f) {
            fs->want[w].f = NULL; /* its request's answer goes nowhere */
        }
    }
    blockidx_forget(fs->bi, f);
    blockserve_forget(fs->serve); /* (its read rights name folders by address) */
    realize_free(f);
    index_folder_free(f);
    fs->n--;
    fs->f[i] = fs->f[fs->n];
    fs->scan_ms[i] = fs->scan_ms[fs->n];
    fs->dirty_ms[i] = fs->dirty_ms[fs->n];
    fs->watched[i] = fs->watched[fs->n];
    fs->need[i] = fs->need[fs->n];
    fs->saved[i] = fs->saved[fs->n];
    fs->saved_ms[i] = fs->saved_ms[fs->n];
}

/* Follow the registry: start the folders added, stop those removed. */
static void
s_registry(loop_t *l, struct folders *fs)
{
    registry_folder_t *reg = NULL;
    size_t nreg = 0;
    if (registry_load(l->m, &reg, &nreg) != MESH_OK) {
        node_log(l->m, MESH_LOG_WARN, "folders: %s", mesh_errmsg(l->m));
        return;
    }
    for (size_t i = 0; i < fs->n;) {
        bool kept = false;
        for (size_t r = 0; r < nreg && !kept; r++) {
            kept = strcmp(reg[r].id, fs->f[i]->id) == 0 && strcmp(reg[r].root, fs->f[i]->root) == 0;
        }
        if (kept) {
            i++;
        } else {
            node_log(l->m, MESH_LOG_INFO, "folder %s: no longer synced here", fs->f[i]->id);
            s_drop_folder(l, fs, i);
        }
    }
    for (size_t r = 0; r < nreg && fs->n < REGISTRY_MAX; r++) {
        bool have = false;
        for (size_t i = 0; i < fs->n && !have; i++) {
            have = strcmp(reg[r].id, fs->f[i]->id) == 0;
        }
        folder_t *f = have ? NULL : index_folder_new(reg[r].id, reg[r].root);
        if (f) {
            fs->f[fs->n] = f;
            fs->scan_ms[fs->n] = 0;
            fs->dirty_ms[fs->n] = 0;
            fs->watched[fs->n] = 0;
            fs->need[fs->n] = (s_need_t){0};
            fs->saved[fs->n] = 0;
            fs->saved_ms[fs->n] = 0;
            fs->n++;
            node_log(l->m, MESH_LOG_INFO, "folder %s: syncing %s", f->id, f->root);
        }
    }
    registry_free(reg, nreg);
}

/* ---- inotify ---- */

static void
s_watch(struct folders *fs, folder_t *f, const char *rel)
{
    char path[8192];
    if (fs->ino < 0 || fs->ino_full) {
        return;
    }
    snprintf(path, sizeof path, "%s%s%s", f->root, rel ? "/" : "", rel ? rel : "");
    int wd = inotify_add_watch(fs->ino, path,
                               IN_CREATE | IN_DELETE | IN_MODIFY | IN_CLOSE_WRITE | IN_ATTRIB |
                                   IN_MOVED_FROM | IN_MOVED_TO | IN_DELETE_SELF | IN_MOVE_SELF |
                                   IN_ONLYDIR | IN_DONT_FOLLOW);
    if (wd < 0) {
        fs->ino_full = errno == ENOSPC;
        return;
    }
    char *copy = rel ? strdup(rel) : NULL; /* (NULL for the root; with no memory, a path
                                            * under the root no record holds: a scan) */
    for (size_t i = 0; i < fs->nwatches; i++) {
        if (fs->watches[i].wd == wd) {
            fs->watches[i].f = f;
            free(fs->watches[i].rel);
            fs->watches[i].rel = copy;
            return;
        }
    }
    s_watch_t *grown = realloc(fs->watches, (fs->nwatches + 1) * sizeof *grown);
    if (grown) {
        fs->watches = grown;
        fs->watches[fs->nwatches++] = (s_watch_t){wd, f, copy};
    } else {
        free(copy);
    }
}

/* Is f's directory rel (NULL: its root) watched already? */
static bool
s_watching(const struct folders *fs, const folder_t *f, const char *rel)
{
    for (size_t w = 0; w < fs->nwatches; w++) {
        const s_watch_t *x = &fs->watches[w];
        if (x->f == f && (rel ? x->rel && strcmp(x->rel, rel) == 0 : !x->rel)) {
            return true;
        }
    }
    return false;
}

/* Forget the watch wd: the kernel dropped it (IN_IGNORED: its directory went). */
static void
s_watch_gone(struct folders *fs, int wd)
{
    for (size_t w = 0; w < fs->nwatches; w++) {
        if (fs->watches[w].wd == wd) {
            free(fs->watches[w].rel);
            fs->watches[w] = fs->watches[--fs->nwatches];
            return;
        }
    }
}

/* Watch f's root and every directory recorded not watched yet, once per generation of its
 * records (a directory moved keeps its watch: inotify gives the same one for its new path,
 * which s_watch renames; a directory gone drops its watch, s_watch_gone). */
static void
s_watch_all(loop_t *l, struct folders *fs, size_t i)
{
    folder_t *f = fs->f[i];
    if (fs->watched[i] == f->generation || f->state != SCAN_ROOT_OK) {
        return;
    }
    fs->watched[i] = f->generation;
    if (!s_watching(fs, f, NULL)) {
        s_watch(fs, f, NULL);
    }
    for (size_t r = 0; r < f->nrecs; r++) {
        if (f->recs[r].type == SCAN_DIR && !s_watching(fs, f, f->recs[r].path)) {
            s_watch(fs, f, f->recs[r].path);
        }
    }
    if (fs->ino_full) {
        node_log(l->m, MESH_LOG_WARN,
                 "folders: the inotify watch limit is reached: changes past it are seen by the "
                 "periodic rescan only");
    }
}

/* Does event ev (named name) on watch w change nothing the records do not hold already?
 * Only an event about a regular file whose record the disk matches (index_holds): realize's
 * own renames, recorded as they were made. Anything else (a directory, the watch itself, an
 * overflow, a path of no record or another state) may be a change a scan must see. */
static bool
s_event_known(const s_watch_t *w, const struct inotify_event *ev, const char *name)
{
    char path[PATH_LEN_MAX + 1];
    size_t len = strnlen(name, ev->len);
    size_t at = w->rel ? strlen(w->rel) + 1 : 0; /* (the root's: the name is the path) */
    if ((ev->mask & (IN_Q_OVERFLOW | IN_ISDIR | IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF)) ||
        len == 0 || len >= ev->len || at + len > PATH_LEN_MAX) {
        return false;
    }
    snprintf(path, sizeof path, "%s%s%.*s", w->rel ? w->rel : "", w->rel ? "/" : "", (int)len,
             name);
    return index_holds(w->f, path); /* (none for .meshsync: never recorded) */
}

/* Read every event waiting: mark the folders they belong to (unless the event is about a
 * file the records hold as it is: s_event_known). */
static void
s_events(struct folders *fs, int64_t now)
{
    union {
        struct inotify_event ev;
        char bytes[16384];
    } buf;
    for (;;) {
        ssize_t n = fs->ino >= 0 ? read(fs->ino, buf.bytes, sizeof buf.bytes) : -1;
        if (n <= 0) {
            return;
        }
        for (ssize_t off = 0; off + (ssize_t)sizeof(struct inotify_event) <= n;) {
            struct inotify_event ev;
            memcpy(&ev, buf.bytes + off, sizeof ev);
            const char *name = buf.bytes + off + sizeof ev;
            off += (ssize_t)sizeof ev + ev.len;
            if (off > n) {
                break;
            }
            const s_watch_t *at = NULL;
            for (size_t w = 0; w < fs->nwatches && !at; w++) {
                at = fs->watches[w].wd == ev.wd ? &fs->watches[w] : NULL;
            }
            if (at && !at->f->dirty && s_event_known(at, &ev, name)) {
                continue;
            }
            for (size_t i = 0; i < fs->n; i++) {
                bool mine = (ev.mask & IN_Q_OVERFLOW) || (at && at->f == fs->f[i]);
                if (mine && !fs->f[i]->dirty) {
                    fs->f[i]->dirty = true;
                    fs->dirty_ms[i] = now;
                }
            }
            if (ev.mask & IN_IGNORED) {
                s_watch_gone(fs, ev.wd);
            }
        }
    }
}

/* ---- block requests ---- */

/* The slot of hash in the want table: its want's, or the empty one where it goes. */
static uint32_t *
s_slot(struct folders *fs, const uint8_t *hash)
{
    uint32_t h;
    memcpy(&h, hash, sizeof h); /* (a hash's bytes are uniform) */
    for (size_t k = 0;; k++) {
        uint32_t *slot = &fs->slot[(h + k) & (S_SLOTS - 1)];
        if (!*slot || memcmp(fs->want[*slot - 1].hash, hash, WIRE_FENTRY_HASH) == 0) {
            return slot;
        }
    }
}

/* The want table again from fs->want (its order changes as wants are dropped). */
static void
s_slots_build(struct folders *fs)
{
    memset(fs->slot, 0, S_SLOTS * sizeof *fs->slot);
    for (size_t i = 0; i < fs->nwant; i++) {
        *s_slot(fs, fs->want[i].hash) = (uint32_t)i + 1;
    }
}

static void
s_want_one(void *ctx, const uint8_t *hash)
{
    struct folders *fs = ((void **)ctx)[0];
    const folder_t *f = ((void **)ctx)[1];
    uint32_t *slot = s_slot(fs, hash);
    if (*slot) {
        s_want_t *w = &fs->want[*slot - 1];
        w->seen = true;
        if (!w->f) {
            w->f = f;
        }
        return;
    }
    if (fs->nwant < FOLDERS_WANT_MAX) {
        s_want_t *w = &fs->want[fs->nwant++];
        memset(w, 0, sizeof *w);
        memcpy(w->hash, hash, WIRE_FENTRY_HASH);
        w->f = f;
        w->seen = true;
        *slot = (uint32_t)fs->nwant;
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
s_mark_tried(struct folders *fs, s_want_t *w)
{
    if (w->asked) {
        fs->inflight--;
        if (w->ntried < S_TRIED_MAX) {
            w->tried[w->ntried++] = w->asked;
        }
        w->asked = NULL;
    }
}

/* The wants asked of to with want[i] in one BLOCK_REQ (indexes into group, their count):
 * want[i], and when to takes layout 2 (minor FOLDERS_MULTI_MINOR), the next wants of the same
 * folder that may be asked of it, within FOLDERS_REQ_BLOCKS and the caps in flight (busy:
 * to's). */
static size_t
s_group(struct folders *fs, size_t i, const session_t *to, size_t busy, int64_t now, size_t *group)
{
    size_t ng = 0, room = FOLDERS_REQ_BLOCKS;
    room = FOLDERS_INFLIGHT_PEER - busy < room ? FOLDERS_INFLIGHT_PEER - busy : room;
    room = FOLDERS_INFLIGHT_MAX - fs->inflight < room ? FOLDERS_INFLIGHT_MAX - fs->inflight : room;
    group[ng++] = i;
    for (size_t j = i + 1; to->minor >= FOLDERS_MULTI_MINOR && j < fs->nwant && ng < room; j++) {
        const s_want_t *x = &fs->want[j];
        if (!x->asked && !x->checking && x->f == fs->want[i].f && now >= x->retry_ms &&
            !s_tried(x, to)) {
            group[ng++] = j;
        }
    }
    return ng;
}

/* The BLOCK_REQ body of the wants group[0..ng) into fs->body, and msg's: layout 1 for one
 * block, 2 for more. */
static mesh_err_t
s_req_encode(struct folders *fs, const size_t *group, size_t ng, wire_msg_t *msg)
{
    const folder_t *f = fs->want[group[0]].f;
    mesh_err_t err;
    wire_buf_reset(&fs->body);
    if (ng == 1) {
        wire_block_req_t req = {
            .folder = f->id, .folder_len = strlen(f->id), .hash = fs->want[group[0]].hash};
        err = wire_block_req_encode(&req, &fs->body);
    } else {
        wire_blocks_req_t req = {.folder = f->id, .folder_len = strlen(f->id), .n = ng};
        for (size_t g = 0; g < ng; g++) {
            req.hash[g] = fs->want[group[g]].hash;
        }
        err = wire_blocks_req_encode(&req, &fs->body);
    }
    msg->body = fs->body.data;
    msg->body_len = fs->body.len;
    return err;
}

/* Ask for what is wanted and not in flight, while the caps allow. */
static void
s_request(loop_t *l, struct folders *fs, int64_t now, folders_send_fn send)
{
    size_t busy[64] = {0}; /* requests in flight to each of the first 64 sessions */
    size_t nsess = l->nsess < 64 ? l->nsess : 64, open = 0;
    for (size_t i = 0; i < fs->nwant; i++) {
        for (size_t k = 0; fs->want[i].asked && k < nsess; k++) {
            busy[k] += l->sess[k] == fs->want[i].asked;
        }
    }
    for (size_t k = 0; k < nsess; k++) {
        session_t *s = l->sess[k];
        open += s->ok && s->connected && busy[k] < FOLDERS_INFLIGHT_PEER;
    }
    for (size_t i = 0; i < fs->nwant && fs->inflight < FOLDERS_INFLIGHT_MAX && open; i++) {
        s_want_t *w = &fs->want[i];
        if (w->asked || w->checking || !w->f || now < w->retry_ms) {
            continue;
        }
        session_t *to = NULL;
        size_t at = 0;
        for (size_t k = 0; k < nsess && !to; k++) {
            at = (fs->next_sess + k) % nsess;
            session_t *s = l->sess[at];
            if (s->ok && s->connected && !s_tried(w, s) && busy[at] < FOLDERS_INFLIGHT_PEER) {
                to = s;
                fs->next_sess = (at + 1) % nsess;
            }
        }
        if (!to) {
            if (w->ntried) { /* every member asked: ask them all again a little later */
                w->ntried = 0;
                w->retry_ms = now + 2000;
            }
            continue;
        }
        size_t group[FOLDERS_REQ_BLOCKS], ng = s_group(fs, i, to, busy[at], now, group);
        wire_msg_t msg = {.type = WIRE_MSG_BLOCK_REQ, .num = ++fs->next_id};
        if (s_req_encode(fs, group, ng, &msg) != MESH_OK) {
            continue;
        }
        if (send(l, to, &msg) == MESH_OK) {
            for (size_t g = 0; g < ng; g++) {
                s_want_t *x = &fs->want[group[g]];
                x->asked = to;
                x->id = msg.num;
                x->sent_ms = now;
            }
            fs->inflight += ng;
            open -= busy[at] < FOLDERS_INFLIGHT_PEER && busy[at] + ng >= FOLDERS_INFLIGHT_PEER;
            busy[at] += ng;
        } else if (w->ntried < S_TRIED_MAX) {
            w->tried[w->ntried++] = to;
        }
    }
}

/* The wanted list at this turn: what pending files lack; timeouts; requests. */
/* Read what the pending files lack into the wanted list (a hash table rebuilt, every block
 * of every pending file looked at): after a pass, when the list was full (room may have come
 * free), else every FOLDERS_WANTED_MS (files dropped meanwhile: their wants go). Not at
 * every turn: a block that comes takes its want off the list itself, and each turn of a
 * transfer of small files brings one. */
static bool
s_wanted(struct folders *fs, int64_t now)
{
    if (!fs->wanted_due && !fs->wanted_full && now - fs->wanted_ms < FOLDERS_WANTED_MS) {
        return false;
    }
    fs->wanted_due = false;
    fs->wanted_ms = now;
    for (size_t i = 0; i < fs->nwant; i++) {
        fs->want[i].seen = false;
    }
    s_slots_build(fs);
    for (size_t i = 0; i < fs->n; i++) {
        void *ctx[2] = {fs, fs->f[i]};
        realize_wanted(fs->f[i], s_want_one, ctx);
    }
    fs->wanted_full = fs->nwant == FOLDERS_WANT_MAX;
    return true;
}

static void
s_blocks(loop_t *l, struct folders *fs, int64_t now, folders_send_fn send)
{
    bool read = s_wanted(fs, now);
    for (size_t i = 0; i < fs->nwant;) {
        s_want_t *w = &fs->want[i];
        if (w->asked && now - w->sent_ms > FOLDERS_REQ_TIMEOUT_MS) {
            node_log(l->m, MESH_LOG_INFO, "a block asked of %s came not in time: asking another",
                     w->asked->id);
            s_mark_tried(fs, w);
        }
        if (read && !w->seen && !w->asked && !w->checking) {
            fs->want[i] = fs->want[--fs->nwant];
        } else {
            i++;
        }
    }
    s_request(l, fs, now, send);
}

/* ---- the turn ---- */

/* Keep folder i's records in the store when realize changed them, at most once per
 * FOLDERS_SAVE_MS (force: now). Records not kept when the daemon dies cost a read of those
 * files at the next scan, nothing else: realize touches no path without its record. */
static void
s_save(loop_t *l, struct folders *fs, size_t i, int64_t now, bool force)
{
    folder_t *f = fs->f[i];
    if (f->generation == fs->saved[i] || !f->loaded ||
        (!force && now - fs->saved_ms[i] < FOLDERS_SAVE_MS)) {
        return;
    }
    fs->saved[i] = f->generation;
    fs->saved_ms[i] = now;
    realize_sync(f); /* (the renames the records describe: durable first) */
    uint64_t before = store_last_txnid(l->m->store);
    if (index_save(l->m, f) != MESH_OK) {
        node_log(l->m, MESH_LOG_WARN, "%s", mesh_errmsg(l->m));
    }
    if (fs->txnid == before && store_last_txnid(l->m->store) == before + 1) {
        fs->txnid = before + 1; /* (its own transaction alone: no entry changed, no pass due) */
    }
}

static struct folders *
s_open(loop_t *l)
{
    struct folders *fs = calloc(1, sizeof *fs);
    if (!fs) {
        return NULL;
    }
    fs->f = calloc(REGISTRY_MAX, sizeof *fs->f);
    fs->scan_ms = calloc(REGISTRY_MAX, sizeof *fs->scan_ms);
    fs->dirty_ms = calloc(REGISTRY_MAX, sizeof *fs->dirty_ms);
    fs->watched = calloc(REGISTRY_MAX, sizeof *fs->watched);
    fs->need = calloc(REGISTRY_MAX, sizeof *fs->need);
    fs->saved = calloc(REGISTRY_MAX, sizeof *fs->saved);
    fs->saved_ms = calloc(REGISTRY_MAX, sizeof *fs->saved_ms);
    fs->slot = calloc(S_SLOTS, sizeof *fs->slot);
    fs->want = calloc(FOLDERS_WANT_MAX, sizeof *fs->want);
    fs->bi = blockidx_new();
    fs->serve = fs->bi && fs->f ? blockserve_new(fs->f, &fs->n, fs->bi) : NULL;
    fs->ino = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    fs->registry_ms = INT64_MIN / 2;
    fs->txnid = UINT64_MAX;
    wire_buf_init(&fs->body);
    l->folders = fs;
    if (!fs->f || !fs->scan_ms || !fs->dirty_ms || !fs->watched || !fs->need || !fs->want ||
        !fs->serve || !fs->saved || !fs->saved_ms || !fs->slot) {
        folders_close(l);
        return NULL;
    }
    if (fs->ino < 0) {
        node_log(l->m, MESH_LOG_WARN, "folders: no inotify (%s): the periodic rescan only",
                 strerror(errno));
    }
    return fs;
}

void
folders_tick(loop_t *l, int64_t now, folders_send_fn send)
{
    struct folders *fs = l->folders ? l->folders : s_open(l);
    if (!fs) {
        return;
    }
    uint64_t txnid = store_last_txnid(l->m->store);
    if (txnid != fs->txnid || now - fs->registry_ms >= FOLDERS_REGISTRY_MS) {
        fs->registry_ms = now;
        s_registry(l, fs);
    }
    blockserve_later(l, fs->serve, send); /* (requests past the cap: this second's budget) */
    s_checked_some(l, fs, false);         /* (blocks the workers checked and wrote) */
    if (fs->n == 0) {
        fs->txnid = txnid;
        return;
    }
    s_events(fs, now);
    int64_t rescan = l->m->folder_rescan_ms ? (int64_t)l->m->folder_rescan_ms : FOLDERS_RESCAN_MS;
    for (size_t i = 0; i < fs->n; i++) {
        folder_t *f = fs->f[i];
        /* a stopped folder is looked at every second: its root or marker may be back */
        /* the next part of a scan once the frames that came during the last are served
         * (members' block requests: a large scan would answer one a part), but at least
         * every other FOLDERS_SCAN_PART_MS */
        bool next_part =
            f->more && (now - fs->parted_ms >= FOLDERS_SCAN_PART_MS || !transport_pending(l->t));
        bool due = fs->scan_ms[i] == 0 || next_part || now - fs->scan_ms[i] >= rescan ||
                   (f->state != SCAN_ROOT_OK && now - fs->scan_ms[i] >= FOLDERS_STOPPED_MS) ||
                   (f->dirty && now - fs->dirty_ms[i] >= FOLDERS_SETTLE_MS &&
                    /* (while files arrive, their own renames wake inotify: a scan a second) */
                    (realize_pending(f) == 0 || now - fs->scan_ms[i] >= FOLDERS_BUSY_SCAN_MS));
        if (!due) {
            continue;
        }
        if (fs->scan_ms[i] && now - fs->scan_ms[i] >= rescan) {
            realize_full(f); /* what inotify missed: every path looked at again */
        }
        fs->scan_ms[i] = now;
        realize_sync(f); /* (a scan keeps the records, realize's among them) */
        if (index_scan_some(l->m, f, FOLDERS_SCAN_PART_MS,
                            (size_t)testhook_number(TESTHOOK_SCAN_PART_FILES, 0),
                            NULL) != MESH_OK) {
            node_log(l->m, MESH_LOG_WARN, "%s", mesh_errmsg(l->m));
        }
        fs->parted_ms = sync_now_ms();
        if (f->dirty) {
            fs->dirty_ms[i] = now; /* a file changed while read: again a little later */
        }
        s_watch_all(l, fs, i);
        l->busy |= f->more; /* (the next part at the next turn, without the idle wait) */
    }
    /* A realize pass when the store changed (remote entries, or this device's scan wrote
     * some; each pass reads only what changed since the last, from the change feed), or
     * when a folder has paths waiting and room came free: a scan that wrote nothing needs
     * none, so a path realize must leave alone (a local change the scan cannot record) costs
     * no pass after every scan. */
    txnid = store_last_txnid(l->m->store);
    bool changed = txnid != fs->txnid, any = changed;
    fs->txnid = txnid;
    for (size_t i = 0; i < fs->n && !any; i++) {
        any = realize_wants_pass(fs->f[i]);
    }
    if (any && blockidx_update(fs->bi, fs->f, fs->n) != MESH_OK) {
        node_log(l->m, MESH_LOG_WARN, "folders: no block index: out of memory");
    }
    for (size_t i = 0; any && i < fs->n; i++) {
        if ((changed || realize_wants_pass(fs->f[i])) &&
            realize_pass(l->m, fs->f[i], fs->bi) != MESH_OK) {
            node_log(l->m, MESH_LOG_WARN, "%s", mesh_errmsg(l->m));
        }
        fs->wanted_due = true;
    }
    s_blocks(l, fs, now, send);
    bool moved = false;
    for (size_t i = 0; i < fs->n; i++) {
        uint64_t generation = fs->f[i]->generation;
        realize_flush(l->m, fs->f[i], false); /* (whole files in place, then their records) */
        moved |= fs->f[i]->generation != generation;
        s_save(l, fs, i, now, false);
    }
    if (moved) {
        s_events(fs, now); /* (realize's own renames, known: not left queued for the status) */
    }
}

/* ---- messages ---- */

/* w's answer from s was refused (not held, or not the block asked for: bad): asked again,
 * of another member. */
static void
s_refused(loop_t *l, struct folders *fs, s_want_t *w, const session_t *s, bool bad)
{
    if (bad) {
        node_log(l->m, MESH_LOG_WARN,
                 "a block from %s does not match its hash: refused, asking another member", s->id);
    }
    w->checking = false;
    s_mark_tried(fs, w);
}

/* w's block is in, checked and written where it was wanted: w is done. (The records of the
 * files it finished are kept by s_save.) */
static void
s_taken(struct folders *fs, s_want_t *w)
{
    fs->inflight--;
    *w = fs->want[--fs->nwant];
}

/* A job the workers finished: its places are held (or not, when it was bad). */
static void
s_checked(loop_t *l, struct folders *fs, blockwork_job_t *job)
{
    s_want_t *w = NULL;
    for (size_t i = 0; i < fs->nwant && !w; i++) {
        if (fs->want[i].checking && fs->want[i].id == job->num &&
            memcmp(fs->want[i].hash, job->hash, WIRE_FENTRY_HASH) == 0) {
            w = &fs->want[i];
        }
    }
    for (size_t i = 0; i < fs->n; i++) {
        (void)realize_block_done(l->m, fs->f[i], job); /* (a bad one: its places let go) */
    }
    if (w && job->good) {
        s_taken(fs, w);
    } else if (w) {
        w->asked = job->from; /* (so that it counts as tried) */
        s_refused(l, fs, w, job->from, true);
    }
    blockwork_job_free(job);
}

/* Take in the jobs the workers finished (wait: every job submitted, waited for). */
static void
s_checked_some(loop_t *l, struct folders *fs, bool wait)
{
    if (!fs->bw) {
        return;
    }
    if (wait) {
        blockwork_drain(fs->bw);
    }
    for (blockwork_job_t *job; (job = blockwork_done(fs->bw));) {
        s_checked(l, fs, job);
    }
    l->quick |= blockwork_busy(fs->bw) > 0; /* (the next turn looks again within 2 ms) */
}

static void
s_checked_all(loop_t *l, struct folders *fs)
{
    s_checked_some(l, fs, true);
}

/* Hand w's block (data[0..len), its name said to be w's) to the workers, with the places
 * that want it: checked and written there off the loop thread. False when it could not be
 * (no workers, out of memory): the caller checks and writes it here. */
static bool
s_to_workers(struct folders *fs, s_want_t *w, const session_t *s, uint64_t num, const uint8_t *data,
             size_t len)
{
    if (!fs->bw && !(fs->bw = blockwork_new(BLOCKWORK_THREADS))) {
        return false;
    }
    blockwork_job_t *job = blockwork_job_new(w->hash, data, len);
    if (!job) {
        return false;
    }
    job->num = num;
    job->from = (void *)s;
    for (size_t i = 0; i < fs->n; i++) {
        (void)realize_block_places(fs->f[i], job);
    }
    blockwork_submit(fs->bw, &job);
    w->asked = NULL; /* (still in flight: fs->inflight counts it until it is checked) */
    w->checking = true;
    return true;
}

/* One block answered by s to its request num: the want asked of s under num with blk's
 * hash; a BLOCK of layout 1 (alone) with another hash is taken as the answer to the request's
 * block (one of layout 1) and refused. Late ones (asked of another since), and blocks of a
 * BLOCK of layout 2 that were not asked, are passed over. */
static void
s_on_entry(loop_t *l, struct folders *fs, session_t *s, uint64_t num, const wire_block_t *blk,
           bool alone)
{
    s_want_t *w = NULL, *any = NULL;
    for (size_t i = 0; i < fs->nwant && !w; i++) {
        if (fs->want[i].asked == s && fs->want[i].id == num) {
            any = any ? any : &fs->want[i];
            w = memcmp(fs->want[i].hash, blk->hash, WIRE_FENTRY_HASH) == 0 ? &fs->want[i] : NULL;
        }
    }
    w = w ? w : alone ? any : NULL;
    if (!w) {
        return; /* late, after a timeout: asked of another already */
    }
    if (blk->status != WIRE_BLOCK_HERE || memcmp(blk->hash, w->hash, HASH_LEN) != 0) {
        s_refused(l, fs, w, s, blk->status == WIRE_BLOCK_HERE);
        return;
    }
    if (s_to_workers(fs, w, s, num, blk->data, blk->data_len)) {
        return;
    }
    uint8_t got[HASH_LEN];
    hash_tagged(HASH_TAG_BLOCK, blk->data, blk->data_len, got);
    if (memcmp(got, w->hash, HASH_LEN) != 0) {
        s_refused(l, fs, w, s, true);
        return;
    }
    for (size_t i = 0; i < fs->n; i++) {
        (void)realize_block(l->m, fs->f[i], w->hash, blk->data, blk->data_len);
    }
    s_taken(fs, w);
}

/* A BLOCK: layout 1 (one block) or 2 (several, each taken as one of layout 1). */
static mesh_err_t
s_on_block(loop_t *l, struct folders *fs, session_t *s, const wire_msg_t *msg)
{
    wire_block_t blk;
    if (wire_block_decode(msg->body, msg->body_len, &blk) == MESH_OK) {
        s_on_entry(l, fs, s, msg->num, &blk, true);
        return MESH_OK;
    }
    wire_blocks_t many;
    if (wire_blocks_decode(msg->body, msg->body_len, &many) != MESH_OK) {
        return MESH_EPROTO;
    }
    for (size_t i = 0; i < many.n; i++) {
        s_on_entry(l, fs, s, msg->num, &many.blk[i], false);
    }
    return MESH_OK;
}

mesh_err_t
folders_on_msg(loop_t *l, session_t *s, const wire_msg_t *msg, folders_send_fn send)
{
    struct folders *fs = l->folders ? l->folders : s_open(l);
    if (!fs) {
        return MESH_OK;
    }
    return msg->type == WIRE_MSG_BLOCK_REQ ? blockserve_on_req(l, fs->serve, s, msg, send)
                                           : s_on_block(l, fs, s, msg);
}

void
folders_close(loop_t *l)
{
    struct folders *fs = l->folders;
    if (!fs) {
        return;
    }
    s_checked_all(l, fs);
    for (size_t i = 0; fs->f && fs->saved && i < fs->n; i++) {
        realize_flush(l->m, fs->f[i], true);
        s_save(l, fs, i, 0, true);
    }
    while (fs->f && fs->n) {
        s_drop_folder(l, fs, fs->n - 1);
    }
    blockwork_free(fs->bw);
    blockserve_free(fs->serve);
    if (fs->ino >= 0) {
        close(fs->ino);
    }
    blockidx_free(fs->bi);
    wire_buf_release(&fs->body);
    for (size_t w = 0; w < fs->nwatches; w++) {
        free(fs->watches[w].rel);
    }
    free(fs->watches);
    free(fs->want);
    free(fs->watched);
    free(fs->need);
    free(fs->saved);
    free(fs->saved_ms);
    free(fs->slot);
    free(fs->dirty_ms);
    free(fs->scan_ms);
    free(fs->f);
    free(fs);
    l->folders = NULL;
}

/* ---- status (docs/PROTOCOL.md §18.9) ---- */

/* Whether the disk holds entry e at its path as far as the records tell (type, size,
 * blocks, target; a file's mtime too): what realize_pass would leave alone. */
static bool
s_realized(const index_rec_t *rec, const wire_fentry_t *e)
{
    if (!rec || rec->type != e->type) {
        return false;
    }
    if (e->type == WIRE_FENTRY_SYMLINK) {
        return rec->target && strlen(rec->target) == e->target_len &&
               memcmp(rec->target, e->target, e->target_len) == 0;
    }
    if (e->type != WIRE_FENTRY_FILE) {
        return true;
    }
    /* (a large file's pieces against rec's blocks cut so, §25) */
    return rec->size == e->size && rec->mtime_ns == e->mtime_ns &&
           wire_fentry_lists(e, rec->blocks, rec->nblocks);
}

/* Count what f's disk still lacks of its index: entries not realized (a file's bytes are
 * its size), and records whose path has no entry (a delete still to do). */
static void
s_need_count(loop_t *l, const folder_t *f, s_need_t *need)
{
    need->files = need->bytes = 0;
    mesh_iter_t *it = NULL;
    mesh_err_t err = mesh_iter_open(l->m, f->coll, NULL, 0, &it);
    size_t matched = 0; /* records with an entry */
    while (err == MESH_OK) {
        const uint8_t *key = NULL, *value = NULL;
        size_t klen = 0, vlen = 0;
        err = mesh_iter_next(it, &key, &klen, &value, &vlen, NULL);
        if (err != MESH_OK || klen >= 4096 || memchr(key, 0, klen)) {
            continue;
        }
        char path[4096];
        memcpy(path, key, klen);
        path[klen] = 0;
        const index_rec_t *rec = index_find(f, path);
        matched += rec != NULL;
        wire_fentry_t e;
        if (path_check(path, klen, NULL, 0) != MESH_OK ||
            wire_fentry_decode(value, vlen, &e) != MESH_OK) {
            continue; /* (refused by realize too: nothing to wait for) */
        }
        if (index_ignored(f, path, e.type == WIRE_FENTRY_DIR)) {
            wire_fentry_release(&e);
            continue; /* (stays local: realize never writes it, §19.1) */
        }
        if (!s_realized(rec, &e)) {
            need->files++;
            need->bytes += e.type == WIRE_FENTRY_FILE ? e.size : 0;
        }
        wire_fentry_release(&e);
    }
    mesh_iter_close(it);
    need->files += f->nrecs - (matched < f->nrecs ? matched : f->nrecs);
}

uint64_t
folders_put_status(loop_t *l, FILE *out)
{
    struct folders *fs = l->folders;
    uint64_t key = HASH_FNV_START; /* over the words below */
    if (!fs) {
        return key;
    }
    uint64_t txnid = store_last_txnid(l->m->store);
    int queued = 0; /* inotify events not read yet: some folder may have changed (asked
                     * for a publication only: the next turn reads them, for the key) */
    if (out && fs->ino >= 0 && ioctl(fs->ino, FIONREAD, &queued) != 0) {
        queued = 0;
    }
    for (size_t i = 0; i < fs->n; i++) {
        folder_t *f = fs->f[i];
        s_need_t *need = &fs->need[i];
        bool stopped = f->state != SCAN_ROOT_OK && fs->scan_ms[i] != 0;
        /* in sync but for what the records lack: scanned (no part left to read), nothing
         * dirty or queued by inotify, a realize pass at the store's last transaction, no
         * file waiting for blocks (cheap: the key) */
        bool settled = !stopped && fs->scan_ms[i] != 0 && !f->dirty && !f->more && queued == 0 &&
                       fs->txnid == txnid && realize_pending(f) == 0;
        uint64_t words[3] = {(uint64_t)stopped | (uint64_t)(fs->scan_ms[i] != 0) << 1 |
                                 (uint64_t)settled << 2,
                             settled ? f->generation : 0, i};
        for (size_t w = 0; w < 3; w++) {
            key = hash_fnv_u64(key, words[w]);
        }
        if (!out) {
            continue;
        }
        /* (a count reads the whole index: while the folder is not settled, and so not in
         * sync whatever the count says, at most every FOLDERS_COUNT_MS, for the progress) */
        int64_t now = sync_now_ms();
        bool stale = need->txnid != txnid || need->generation != f->generation;
        if (!stopped && (!need->counted ||
                         (stale && (settled || now - need->counted_ms >= FOLDERS_COUNT_MS)))) {
            s_need_count(l, f, need);
            need->counted = true;
            need->counted_ms = now;
            need->txnid = txnid;
            need->generation = f->generation;
        }
        /* in sync: settled and nothing the records lack */
        bool in_sync = settled && need->files == 0;
        fputs("folder ", out);
        statusfile_put_text(out, f->id);
        fprintf(out, " state=%s in_sync=%d need_files=%llu need_bytes=%llu waiting=%zu",
                stopped               ? "stopped"
                : fs->scan_ms[i] == 0 ? "starting"
                                      : "ok",
                in_sync ? 1 : 0, (unsigned long long)(stopped ? 0 : need->files),
                (unsigned long long)(stopped ? 0 : need->bytes), realize_pending(f));
        if (stopped) {
            fputs(" why=", out);
            statusfile_put_text(out, f->why[0] ? f->why : "-");
        }
        fputc('\n', out);
    }
    return key;
}
