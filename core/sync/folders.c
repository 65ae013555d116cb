/* core/sync/folders.c: the loop's folder work: registry, inotify, scans, realize passes, the
 * flushes and the records kept, the status lines (docs/PROTOCOL.md §18.5-§18.9).
 * Layer: core (sync). Third-party: none. SPDX-License-Identifier: MIT */
#include "core/sync/folders.h"

#include "core/base/testhook.h"
#include "core/folder/blockidx.h"
#include "core/folder/index.h"
#include "core/folder/realize.h"
#include "core/folder/registry.h"
#include "core/sync/fetch.h"
#include "core/sync/statusfile.h"
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

/* What a folder still needs, as last counted (folders_put_status), and at which store
 * transaction and records' generation: counted again only when one of those moved. */
typedef struct s_need {
    uint64_t txnid, generation;
    uint64_t files, bytes;
    uint64_t peak_files, peak_bytes; /* the most needed since the folder was last in sync */
    int64_t counted_ms;              /* when (monotonic) */
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
    int64_t opened_ms;   /* when the folders were opened (a test hook holds scans after) */
    int ino;             /* the inotify descriptor, or -1 */
    bool ino_full;       /* the watch limit was met (logged once) */
    s_watch_t *watches;
    size_t nwatches;
    fetch_t *fetch;      /* the blocks pending files lack, asked of members */
    blockserve_t *serve; /* the answers to members' requests */
};

/* ---- registry ---- */

static void
s_drop_folder(loop_t *l, struct folders *fs, size_t i)
{
    folder_t *f = fs->f[i];
    fetch_checked(l, fs->fetch, true); /* (the workers' jobs name the folder's pending files) */
    for (size_t w = 0; w < fs->nwatches;) {
        if (fs->watches[w].f == f) {
            inotify_rm_watch(fs->ino, fs->watches[w].wd);
            free(fs->watches[w].rel);
            fs->watches[w] = fs->watches[--fs->nwatches];
        } else {
            w++;
        }
    }
    fetch_forget(fs->fetch, f);
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
    /* (test hook: the system's watch limit, met at N watches) */
    uint64_t max = testhook_number(TESTHOOK_WATCH_MAX, 0);
    int wd = max && fs->nwatches >= max
                 ? (errno = ENOSPC, -1)
                 : inotify_add_watch(fs->ino, path,
                                     IN_CREATE | IN_DELETE | IN_MODIFY | IN_CLOSE_WRITE |
                                         IN_ATTRIB | IN_MOVED_FROM | IN_MOVED_TO | IN_DELETE_SELF |
                                         IN_MOVE_SELF | IN_ONLYDIR | IN_DONT_FOLLOW);
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
            /* (a name moved in, first: a whole file or tree put there at once, as an editor or
             * a sync tool saves, so the scan starts at once, or FOLDERS_SETTLE_MS after the
             * last one: no more scans than settling gives while names keep coming; anything
             * else first, such as a file created and written, settles FOLDERS_SETTLE_MS: what
             * follows joins it) */
            bool whole = (ev.mask & (IN_MOVED_TO | IN_Q_OVERFLOW)) == IN_MOVED_TO;
            for (size_t i = 0; i < fs->n; i++) {
                bool mine = (ev.mask & IN_Q_OVERFLOW) || (at && at->f == fs->f[i]);
                if (mine && !fs->f[i]->dirty) {
                    int64_t early = now - FOLDERS_SETTLE_MS;
                    fs->f[i]->dirty = true;
                    fs->dirty_ms[i] = !whole                   ? now
                                      : fs->scan_ms[i] > early ? fs->scan_ms[i]
                                                               : early;
                }
            }
            if (ev.mask & IN_IGNORED) {
                s_watch_gone(fs, ev.wd);
            }
        }
    }
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
    fs->opened_ms = sync_now_ms();
    fs->f = calloc(REGISTRY_MAX, sizeof *fs->f);
    fs->scan_ms = calloc(REGISTRY_MAX, sizeof *fs->scan_ms);
    fs->dirty_ms = calloc(REGISTRY_MAX, sizeof *fs->dirty_ms);
    fs->watched = calloc(REGISTRY_MAX, sizeof *fs->watched);
    fs->need = calloc(REGISTRY_MAX, sizeof *fs->need);
    fs->saved = calloc(REGISTRY_MAX, sizeof *fs->saved);
    fs->saved_ms = calloc(REGISTRY_MAX, sizeof *fs->saved_ms);
    fs->fetch = fs->f ? fetch_new(fs->f, &fs->n) : NULL;
    fs->bi = blockidx_new();
    fs->serve = fs->bi && fs->f ? blockserve_new(fs->f, &fs->n, fs->bi) : NULL;
    fs->ino = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    fs->registry_ms = INT64_MIN / 2;
    fs->txnid = UINT64_MAX;
    l->folders = fs;
    if (!fs->f || !fs->scan_ms || !fs->dirty_ms || !fs->watched || !fs->need || !fs->fetch ||
        !fs->serve || !fs->saved || !fs->saved_ms) {
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
    fetch_checked(l, fs->fetch, false);   /* (blocks the workers checked and wrote) */
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
        /* (test hook: after its first scan, a folder's local changes wait while members'
         * entries come, as they may within FOLDERS_SETTLE_MS) */
        if (!due || (fs->scan_ms[i] &&
                     now - fs->opened_ms < (int64_t)testhook_number(TESTHOOK_SCAN_HOLD_MS, 0))) {
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
        fetch_passed(fs->fetch);
    }
    fetch_turn(l, fs->fetch, now, send);
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

mesh_err_t
folders_on_msg(loop_t *l, session_t *s, const wire_msg_t *msg, folders_send_fn send)
{
    struct folders *fs = l->folders ? l->folders : s_open(l);
    if (!fs) {
        return MESH_OK;
    }
    return msg->type == WIRE_MSG_BLOCK_REQ ? blockserve_on_req(l, fs->serve, s, msg, send)
                                           : fetch_on_block(l, fs->fetch, s, msg);
}

void
folders_close(loop_t *l)
{
    struct folders *fs = l->folders;
    if (!fs) {
        return;
    }
    if (fs->fetch) {
        fetch_checked(l, fs->fetch, true);
    }
    for (size_t i = 0; fs->f && fs->saved && i < fs->n; i++) {
        realize_flush(l->m, fs->f[i], true);
        s_save(l, fs, i, 0, true);
    }
    while (fs->f && fs->n) {
        s_drop_folder(l, fs, fs->n - 1);
    }
    fetch_free(fs->fetch);
    blockserve_free(fs->serve);
    if (fs->ino >= 0) {
        close(fs->ino);
    }
    blockidx_free(fs->bi);
    for (size_t w = 0; w < fs->nwatches; w++) {
        free(fs->watches[w].rel);
    }
    free(fs->watches);
    free(fs->watched);
    free(fs->need);
    free(fs->saved);
    free(fs->saved_ms);
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
        /* (what it needs: whole files as counted, less the blocks its transfers hold) */
        uint64_t held = realize_held_bytes(f);
        uint64_t bytes = stopped || held >= need->bytes ? 0 : need->bytes - held;
        /* the whole that a progress bar shows: the most needed since it was last in sync */
        if (in_sync || stopped) {
            need->peak_files = need->peak_bytes = 0;
        } else {
            need->peak_files = need->files > need->peak_files ? need->files : need->peak_files;
            need->peak_bytes = bytes > need->peak_bytes ? bytes : need->peak_bytes;
        }
        fputs("folder ", out);
        statusfile_put_text(out, f->id);
        fprintf(out,
                " state=%s in_sync=%d need_files=%llu need_bytes=%llu waiting=%zu "
                "total_files=%llu total_bytes=%llu",
                stopped               ? "stopped"
                : fs->scan_ms[i] == 0 ? "starting"
                                      : "ok",
                in_sync ? 1 : 0, (unsigned long long)(stopped ? 0 : need->files),
                (unsigned long long)bytes, realize_pending(f), (unsigned long long)need->peak_files,
                (unsigned long long)need->peak_bytes);
        if (stopped) {
            fputs(" why=", out);
            statusfile_put_text(out, f->why[0] ? f->why : "-");
        }
        fputc('\n', out);
    }
    return key;
}
