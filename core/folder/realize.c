/* core/folder/realize.c: entries to disk (docs/PROTOCOL.md §18.6). Temp files are named
 * .meshsync/tmp/t<n> and renamed over their path when whole; the temp directory is emptied
 * when the folder's first pass starts (nothing there survives a restart yet).
 * Layer: core (folder). Third-party: none. SPDX-License-Identifier: MIT */
#include "core/folder/realize.h"

#include "core/base/node.h"
#include "core/data/hlc.h"
#include "crypto/hash.h"
#include "fs/conflict.h"
#include "fs/path.h"
#include "fs/versions.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define REALIZE_REFUSED_KEPT 256   /* refused entries remembered, so each is logged once */
#define REALIZE_EXPIRE_S     86400 /* s between two expiries of a folder's versions */

typedef struct s_pending {
    char *path;
    uint8_t *value; /* the entry's bytes, as in the index */
    size_t value_len;
    wire_fentry_t e;
    uint64_t *offsets; /* of each block */
    bool *have;
    size_t missing;
    size_t fetched; /* blocks members sent (the rest were on this device) */
    int fd;
    char tmp[24];
} s_pending_t;

typedef struct realize_state {
    int tmp_fd; /* .meshsync/tmp, or -1 */
    s_pending_t pending[REALIZE_PENDING_MAX];
    size_t npending;
    uint64_t temp_bytes;
    uint64_t counter;
    uint8_t refused[REALIZE_REFUSED_KEPT][16]; /* (path, entry) pairs refused and logged */
    size_t nrefused;                           /* (a ring: the oldest forgotten first) */
    int64_t expired;                           /* when versions were last expired (s) */
} realize_state_t;

/* An entry of the index, copied out of its read transaction. */
typedef struct s_item {
    char *path;
    uint8_t *value;
    size_t len;
    bool conflict; /* the path has siblings (concurrent edits): its losers get copies */
} s_item_t;

static void
s_pending_drop(realize_state_t *rs, size_t i, bool unlink_tmp)
{
    s_pending_t *p = &rs->pending[i];
    if (p->fd >= 0) {
        close(p->fd);
    }
    if (unlink_tmp && rs->tmp_fd >= 0) {
        unlinkat(rs->tmp_fd, p->tmp, 0);
    }
    rs->temp_bytes -= p->e.size;
    free(p->path);
    free(p->value);
    free(p->offsets);
    free(p->have);
    wire_fentry_release(&p->e);
    rs->pending[i] = rs->pending[--rs->npending];
}

void
realize_free(folder_t *f)
{
    realize_state_t *rs = f ? f->realize : NULL;
    if (!rs) {
        return;
    }
    while (rs->npending) {
        s_pending_drop(rs, 0, true);
    }
    if (rs->tmp_fd >= 0) {
        close(rs->tmp_fd);
    }
    free(rs);
    f->realize = NULL;
}

size_t
realize_pending(const folder_t *f)
{
    return f->realize ? f->realize->npending : 0;
}

/* Open (making it) .meshsync/tmp under the root and empty it. */
static int
s_tmp_open(const folder_t *f)
{
    int ms = openat(f->root_fd, PATH_PRIVATE, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (ms < 0) {
        return -1;
    }
    (void)mkdirat(ms, "tmp", 0700);
    int fd = openat(ms, "tmp", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    close(ms);
    int dup_fd = fd >= 0 ? dup(fd) : -1;
    DIR *d = dup_fd >= 0 ? fdopendir(dup_fd) : NULL;
    for (struct dirent *de; d && (de = readdir(d));) {
        if (de->d_name[0] == 't') {
            unlinkat(fd, de->d_name, 0);
        }
    }
    if (d) {
        closedir(d);
    } else if (dup_fd >= 0) {
        close(dup_fd);
    }
    return fd;
}

static realize_state_t *
s_state(folder_t *f)
{
    if (!f->realize) {
        realize_state_t *rs = calloc(1, sizeof *rs);
        if (!rs) {
            return NULL;
        }
        rs->tmp_fd = s_tmp_open(f);
        f->realize = rs;
    }
    if (f->realize->tmp_fd < 0) {
        f->realize->tmp_fd = s_tmp_open(f);
    }
    return f->realize;
}

/* Log a refusal of path's entry value[0..len) once (again only after 256 others). */
static void s_refuse(mesh_t *m, realize_state_t *rs, const char *path, const uint8_t *value,
                     size_t len, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

static void
s_refuse(mesh_t *m, realize_state_t *rs, const char *path, const uint8_t *value, size_t len,
         const char *fmt, ...)
{
    uint8_t h[HASH_LEN];
    hash_state_t st;
    hash_init(&st, HASH_TAG_KEY);
    hash_update(&st, path, strlen(path) + 1);
    hash_update(&st, value, len);
    hash_final(&st, h);
    size_t kept = rs->nrefused < REALIZE_REFUSED_KEPT ? rs->nrefused : REALIZE_REFUSED_KEPT;
    for (size_t i = 0; i < kept; i++) {
        if (memcmp(rs->refused[i], h, 16) == 0) {
            return;
        }
    }
    memcpy(rs->refused[rs->nrefused++ % REALIZE_REFUSED_KEPT], h, 16);
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    node_log(m, MESH_LOG_WARN, "%s", line);
}

/* ---- the disk against the records ---- */

static uint8_t
s_type_of(mode_t mode)
{
    return S_ISDIR(mode) ? WIRE_FENTRY_DIR : S_ISLNK(mode) ? WIRE_FENTRY_SYMLINK : WIRE_FENTRY_FILE;
}

static int64_t
s_ns(struct timespec ts)
{
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* lstat path under f's root: 1 there (*st), 0 absent, -1 not reachable (a link or a file in
 * the way of its parents: refused). */
static int
s_disk(const folder_t *f, const char *path, struct stat *st)
{
    int dfd = -1;
    const char *name = NULL;
    mesh_err_t err = path_open_parent(f->root_fd, path, false, &dfd, &name, NULL, 0);
    if (err == MESH_ENOTFOUND) {
        return 0;
    }
    if (err != MESH_OK) {
        return -1;
    }
    int rc = fstatat(dfd, name, st, AT_SYMLINK_NOFOLLOW);
    int e = errno;
    close(dfd);
    return rc == 0 ? 1 : e == ENOENT ? 0 : -1;
}

/* Does the disk (st) still hold what rec recorded? (A directory by its type and inode: its
 * times move with what it holds.) */
static bool
s_disk_is(const index_rec_t *rec, const struct stat *st)
{
    if (s_type_of(st->st_mode) != rec->type || (uint64_t)st->st_ino != rec->inode) {
        return false;
    }
    if (rec->type == WIRE_FENTRY_DIR) {
        return true;
    }
    return (rec->type != WIRE_FENTRY_FILE || (uint64_t)st->st_size == rec->size) &&
           s_ns(st->st_mtim) == rec->mtime_ns && s_ns(st->st_ctim) == rec->ctime_ns;
}

/* Does rec describe exactly entry e? */
static bool
s_rec_is(const index_rec_t *rec, const wire_fentry_t *e)
{
    if (rec->type != e->type) {
        return false;
    }
    switch (e->type) {
    case WIRE_FENTRY_DIR:
        return (rec->mode & 0777) == e->mode;
    case WIRE_FENTRY_SYMLINK:
        return rec->target && strlen(rec->target) == e->target_len &&
               memcmp(rec->target, e->target, e->target_len) == 0;
    default:
        if ((rec->mode & 0777) != e->mode || rec->size != e->size || rec->mtime_ns != e->mtime_ns ||
            rec->nblocks != e->nblocks) {
            return false;
        }
        for (size_t i = 0; i < e->nblocks; i++) {
            if (rec->blocks[i].size != e->blocks[i].size ||
                memcmp(rec->blocks[i].hash, e->blocks[i].hash, WIRE_FENTRY_HASH) != 0) {
                return false;
            }
        }
        return true;
    }
}

/* Record what is now at path (after writing e there). */
static mesh_err_t
s_record(folder_t *f, const char *path, const wire_fentry_t *e)
{
    struct stat st;
    index_rec_t rec = {0};
    if (s_disk(f, path, &st) != 1) {
        return MESH_OK; /* gone already: the next scan says so */
    }
    if (conflict_is(path, strlen(path), NULL, NULL)) {
        /* A conflict copy this device made may be in no index yet: left unrecorded, the
         * next scan reads it and indexes it (writing nothing when a member's entry of the
         * same bytes is there already). */
        f->dirty = true;
        return MESH_OK;
    }
    rec.type = s_type_of(st.st_mode);
    rec.mode = st.st_mode & 0777;
    rec.size = rec.type == WIRE_FENTRY_FILE ? (uint64_t)st.st_size : 0;
    rec.mtime_ns = s_ns(st.st_mtim);
    rec.ctime_ns = s_ns(st.st_ctim);
    rec.inode = st.st_ino;
    if (e->target && !(rec.target = strndup(e->target, e->target_len))) {
        return MESH_ENOMEM;
    }
    if (e->nblocks) {
        rec.blocks = malloc(e->nblocks * sizeof *rec.blocks);
        if (!rec.blocks) {
            index_rec_release(&rec);
            return MESH_ENOMEM;
        }
        memcpy(rec.blocks, e->blocks, e->nblocks * sizeof *rec.blocks);
        rec.nblocks = e->nblocks;
    }
    mesh_err_t err = index_set(f, path, &rec);
    index_rec_release(&rec);
    return err;
}

/* May path be written or deleted? Only when the disk holds what its record says (or
 * nothing, with no record). A local change not scanned yet is kept, and the folder scanned
 * again. */
static bool
s_may_touch(mesh_t *m, folder_t *f, const char *path, struct stat *st, int *there)
{
    const index_rec_t *rec = index_find(f, path);
    *there = s_disk(f, path, st);
    if (*there < 0) {
        node_log(m, MESH_LOG_WARN,
                 "folder %s: a link or a file is in the way of a path from the index: refused",
                 f->id);
        return false;
    }
    if ((*there == 1 && rec && s_disk_is(rec, st)) || (*there == 0 && !rec)) {
        return true;
    }
    /* Conflict copies (issue 18) will be made here: the local change is kept for now. */
    node_log(m, MESH_LOG_INFO,
             "folder %s: keeping a local change not scanned yet (scanning again first)", f->id);
    f->dirty = true;
    return false;
}

/* Move the finished temp file or link tmp (in rs->tmp_fd) over path. */
/* Keep the file at path as a version (§19.2: .meshsync/versions/PATH~STAMP) before a
 * member's change replaces or deletes it. False (logged) when it could not be kept: the
 * change is then not made here, and the file stays as it is. */
static bool
s_keep_version(mesh_t *m, folder_t *f, const char *path)
{
    char why[256];
    mesh_err_t err = versions_retire(f->root_fd, path, (int64_t)time(NULL),
                                     registry_versions_days(m, f->id), why, sizeof why);
    if (err != MESH_OK) {
        node_log(m, MESH_LOG_WARN,
                 "folder %s: %s could not be kept as a version (%s): left as it is", f->id, path,
                 why[0] ? why : mesh_strerror(err));
    }
    return err == MESH_OK;
}

static mesh_err_t
s_put_in_place(mesh_t *m, folder_t *f, realize_state_t *rs, const char *tmp, const char *path)
{
    int dfd = -1;
    const char *name = NULL;
    char why[256];
    mesh_err_t err = path_open_parent(f->root_fd, path, true, &dfd, &name, why, sizeof why);
    if (err != MESH_OK) {
        node_log(m, MESH_LOG_WARN, "folder %s: a path from the index refused: %s", f->id, why);
        return err;
    }
    struct stat st;
    if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode) &&
        unlinkat(dfd, name, AT_REMOVEDIR) != 0) {
        close(dfd);
        node_log(m, MESH_LOG_WARN, "folder %s: a directory that is not empty is in the way", f->id);
        return MESH_EEXIST;
    }
    if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode) &&
        !s_keep_version(m, f, path)) {
        close(dfd);
        return MESH_EEXIST; /* (the file that was there stays: it could not be kept) */
    }
    int rc = renameat(rs->tmp_fd, tmp, dfd, name);
    if (rc == 0) {
        (void)fsync(dfd);
    }
    close(dfd);
    return rc == 0 ? MESH_OK : MESH_EIO;
}

/* Finish pending file i: mode, mtime, fsync, then rename into place if the disk still holds
 * what its record says. */
static void
s_finish(mesh_t *m, folder_t *f, realize_state_t *rs, size_t i)
{
    s_pending_t *p = &rs->pending[i];
    struct stat st;
    int there = 0;
    struct timespec times[2] = {
        {.tv_nsec = UTIME_OMIT},
        {.tv_sec = p->e.mtime_ns / 1000000000, .tv_nsec = p->e.mtime_ns % 1000000000}};
    if (times[1].tv_nsec < 0) {
        times[1].tv_sec--, times[1].tv_nsec += 1000000000;
    }
    bool ok = fchmod(p->fd, p->e.mode) == 0 && futimens(p->fd, times) == 0 && fsync(p->fd) == 0;
    if (!ok) {
        node_log(m, MESH_LOG_WARN, "folder %s: a temp file could not be finished", f->id);
    } else if (s_may_touch(m, f, p->path, &st, &there) &&
               s_put_in_place(m, f, rs, p->tmp, p->path) == MESH_OK) {
        if (s_record(f, p->path, &p->e) != MESH_OK) {
            f->dirty = true;
        }
        node_log(m, MESH_LOG_INFO, "folder %s: wrote %s (%zu blocks, %zu from members)", f->id,
                 p->path, p->e.nblocks, p->fetched);
        s_pending_drop(rs, i, false);
        return;
    }
    s_pending_drop(rs, i, true);
}

/* ---- one entry ---- */

static mesh_err_t
s_make_dir(mesh_t *m, folder_t *f, const char *path, const wire_fentry_t *e, int there,
           const struct stat *st)
{
    int dfd = -1;
    const char *name = NULL;
    char why[256];
    mesh_err_t err = path_open_parent(f->root_fd, path, true, &dfd, &name, why, sizeof why);
    if (err != MESH_OK) {
        node_log(m, MESH_LOG_WARN, "folder %s: a path from the index refused: %s", f->id, why);
        return MESH_OK;
    }
    if (there == 1 && !S_ISDIR(st->st_mode)) {
        (void)unlinkat(dfd, name, 0); /* what was recorded there: replaced by the directory */
    }
    if ((there != 1 || !S_ISDIR(st->st_mode)) && mkdirat(dfd, name, 0700) != 0 && errno != EEXIST) {
        close(dfd);
        return MESH_OK;
    }
    (void)fchmodat(dfd, name, e->mode | 0700, 0);
    close(dfd);
    return s_record(f, path, e);
}

static mesh_err_t
s_make_link(mesh_t *m, folder_t *f, realize_state_t *rs, const char *path, const wire_fentry_t *e)
{
    char tmp[24];
    snprintf(tmp, sizeof tmp, "t%llu", (unsigned long long)++rs->counter);
    if (symlinkat(e->target, rs->tmp_fd, tmp) != 0) {
        return MESH_OK;
    }
    if (s_put_in_place(m, f, rs, tmp, path) != MESH_OK) {
        unlinkat(rs->tmp_fd, tmp, 0);
        return MESH_OK;
    }
    return s_record(f, path, e);
}

/* Start a file: a temp file of its size with every block held here copied in; done at once
 * when none is missing, else pending. */
static mesh_err_t
s_make_file(mesh_t *m, folder_t *f, realize_state_t *rs, const blockidx_t *bi, const s_item_t *it,
            wire_fentry_t *e)
{
    if (rs->npending == REALIZE_PENDING_MAX ||
        (rs->npending && rs->temp_bytes + e->size > REALIZE_TEMP_MAX)) {
        return MESH_OK; /* a later pass */
    }
    s_pending_t *p = &rs->pending[rs->npending];
    memset(p, 0, sizeof *p);
    p->fd = -1;
    snprintf(p->tmp, sizeof p->tmp, "t%llu", (unsigned long long)++rs->counter);
    p->path = strdup(it->path);
    p->value = malloc(it->len ? it->len : 1);
    p->offsets = calloc(e->nblocks + 1, sizeof *p->offsets);
    p->have = calloc(e->nblocks + 1, sizeof *p->have);
    uint8_t *buf = malloc(WIRE_FENTRY_BLOCK_MAX);
    rs->npending++;
    p->e = *e;
    memset(e, 0, sizeof *e); /* the pending file owns it now */
    rs->temp_bytes += p->e.size;
    if (!p->path || !p->value || !p->offsets || !p->have || !buf) {
        free(buf);
        s_pending_drop(rs, rs->npending - 1, false);
        return MESH_ENOMEM;
    }
    memcpy(p->value, it->value, it->len);
    p->value_len = it->len;
    p->fd = openat(rs->tmp_fd, p->tmp, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (p->fd < 0 || ftruncate(p->fd, (off_t)p->e.size) != 0) {
        free(buf);
        node_log(m, MESH_LOG_WARN, "folder %s: no temp file: %s", f->id, strerror(errno));
        s_pending_drop(rs, rs->npending - 1, true);
        return MESH_OK;
    }
    uint64_t off = 0;
    for (size_t i = 0; i < p->e.nblocks; i++) {
        size_t len = 0;
        p->offsets[i] = off;
        off += p->e.blocks[i].size;
        if (blockidx_read(bi, p->e.blocks[i].hash, buf, WIRE_FENTRY_BLOCK_MAX, &len) == MESH_OK &&
            len == p->e.blocks[i].size &&
            pwrite(p->fd, buf, len, (off_t)p->offsets[i]) == (ssize_t)len) {
            p->have[i] = true;
        } else {
            p->missing++;
        }
    }
    free(buf);
    if (p->missing == 0) {
        s_finish(m, f, rs, rs->npending - 1);
    }
    return MESH_OK;
}

/* Bring path to entry it (already decoded into e). */
static mesh_err_t
s_one(mesh_t *m, folder_t *f, realize_state_t *rs, const blockidx_t *bi, const s_item_t *it,
      wire_fentry_t *e)
{
    const index_rec_t *rec = index_find(f, it->path);
    if (rec && s_rec_is(rec, e)) {
        return MESH_OK;
    }
    for (size_t i = 0; i < rs->npending; i++) {
        s_pending_t *p = &rs->pending[i];
        if (strcmp(p->path, it->path) == 0) {
            if (p->value_len == it->len && memcmp(p->value, it->value, it->len) == 0) {
                return MESH_OK; /* under way */
            }
            s_pending_drop(rs, i, true); /* the entry changed meanwhile */
            break;
        }
    }
    struct stat st;
    int there = 0;
    if (!s_may_touch(m, f, it->path, &st, &there)) {
        return MESH_OK;
    }
    switch (e->type) {
    case WIRE_FENTRY_DIR:
        return s_make_dir(m, f, it->path, e, there, &st);
    case WIRE_FENTRY_SYMLINK:
        return s_make_link(m, f, rs, it->path, e);
    default:
        return s_make_file(m, f, rs, bi, it, e);
    }
}

/* The losers of a conflicted path (siblings: concurrent edits) kept beside it, the same on
 * every device (§19.3): each live file version that is not the winner is realized at
 * NAME.sync-conflict-STAMP-DEVICE.EXT (its writer's clock and ID), which the next scan
 * indexes like any file. A conflict copy is never itself copied (conflict_is). */
static mesh_err_t
s_conflict_copies(mesh_t *m, folder_t *f, realize_state_t *rs, const blockidx_t *bi,
                  const char *path)
{
    size_t plen = strlen(path);
    mesh_item_version_list_t *list = NULL;
    if (conflict_is(path, plen, NULL, NULL)) {
        return MESH_OK;
    }
    mesh_err_t err = mesh_get_versions(m, f->coll, path, plen, &list);
    if (err != MESH_OK) {
        return err == MESH_ENOTFOUND ? MESH_OK : err;
    }
    for (size_t i = 0; err == MESH_OK && i < mesh_item_version_list_count(list); i++) {
        const mesh_item_version_t *v = mesh_item_version_list_get(list, i);
        char name[PATH_LEN_MAX + 1];
        size_t n = 0;
        wire_fentry_t e;
        if (v->is_winner || v->deleted ||
            wire_fentry_decode(v->value, v->value_len, &e) != MESH_OK) {
            continue;
        }
        if (e.type == WIRE_FENTRY_FILE &&
            conflict_name(path, plen, (int64_t)(hlc_ms(v->hlc) / 1000), v->origin, name,
                          sizeof name, &n) == MESH_OK &&
            !index_ignored(f, name, false)) {
            s_item_t it = {.path = name, .value = (uint8_t *)v->value, .len = v->value_len};
            err = s_one(m, f, rs, bi, &it, &e);
        }
        wire_fentry_release(&e);
    }
    mesh_item_version_list_free(list);
    return err;
}

/* ---- the pass ---- */

static int
s_item_cmp(const void *a, const void *b)
{
    return strcmp(((const s_item_t *)a)->path, ((const s_item_t *)b)->path);
}

static void
s_items_free(s_item_t *items, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(items[i].path);
        free(items[i].value);
    }
    free(items);
}

/* Copy the visible entries of f's index out (keys with a NUL are skipped: no path holds
 * one). */
static mesh_err_t
s_snapshot(mesh_t *m, const folder_t *f, s_item_t **out, size_t *n)
{
    mesh_iter_t *it = NULL;
    s_item_t *items = NULL;
    size_t count = 0, cap = 0;
    *out = NULL;
    *n = 0;
    mesh_err_t err = mesh_iter_open(m, f->coll, NULL, 0, &it);
    if (err == MESH_ENOTFOUND) {
        return MESH_OK; /* no index yet */
    }
    while (err == MESH_OK) {
        const uint8_t *key = NULL, *value = NULL;
        size_t klen = 0, vlen = 0;
        bool conflict = false;
        err = mesh_iter_next(it, &key, &klen, &value, &vlen, &conflict);
        if (err != MESH_OK) {
            break;
        }
        if (memchr(key, 0, klen)) {
            continue;
        }
        if (count == cap) {
            cap = cap ? 2 * cap : 256;
            s_item_t *grown = realloc(items, cap * sizeof *items);
            if (!grown) {
                err = MESH_ENOMEM;
                break;
            }
            items = grown;
        }
        items[count].path = strndup((const char *)key, klen);
        items[count].value = malloc(vlen ? vlen : 1);
        items[count].len = vlen;
        items[count].conflict = conflict;
        count++;
        if (!items[count - 1].path || !items[count - 1].value) {
            err = MESH_ENOMEM;
            break;
        }
        memcpy(items[count - 1].value, value, vlen);
    }
    mesh_iter_close(it);
    if (err != MESH_ENOTFOUND) {
        s_items_free(items, count);
        return err;
    }
    if (count > 1) { /* (qsort's array may not be NULL, even for 0 items) */
        qsort(items, count, sizeof *items, s_item_cmp);
    }
    *out = items;
    *n = count;
    return MESH_OK;
}

/* Delete from disk what a record holds and the index no longer does. */
static void
s_deletes(mesh_t *m, folder_t *f, const s_item_t *items, size_t n)
{
    realize_state_t *rs = f->realize;
    for (size_t i = 0; rs && i < rs->npending;) { /* transfers of paths gone from the index */
        s_item_t key = {.path = rs->pending[i].path};
        if (n && bsearch(&key, items, n, sizeof key, s_item_cmp)) {
            i++;
        } else {
            s_pending_drop(rs, i, true);
        }
    }
    for (size_t i = f->nrecs; i-- > 0;) { /* children before their directory */
        s_item_t key = {.path = f->recs[i].path};
        struct stat st;
        int there = 0;
        if ((n && bsearch(&key, items, n, sizeof key, s_item_cmp)) ||
            !s_may_touch(m, f, key.path, &st, &there)) {
            continue;
        }
        int dfd = -1;
        const char *name = NULL;
        bool gone = there == 0;
        if (!gone &&
            path_open_parent(f->root_fd, key.path, false, &dfd, &name, NULL, 0) == MESH_OK) {
            if (S_ISREG(st.st_mode)) { /* a file goes to the versions (§19.2) */
                gone = s_keep_version(m, f, key.path);
            } else {
                gone = unlinkat(dfd, name, S_ISDIR(st.st_mode) ? AT_REMOVEDIR : 0) == 0;
            }
            if (!gone && errno == ENOTEMPTY) {
                /* what is left in it is not in the index: the next scan sends it again */
                gone = true;
            }
            close(dfd);
        }
        if (gone) {
            char *path = strdup(key.path);
            if (path && index_set(f, path, NULL) != MESH_OK) {
                f->dirty = true;
            }
            free(path);
        }
    }
}

mesh_err_t
realize_pass(mesh_t *m, folder_t *f, const blockidx_t *bi)
{
    s_item_t *items = NULL;
    size_t n = 0;
    if (f->state != SCAN_ROOT_OK || f->root_fd < 0 || f->ignore_bad) {
        return MESH_OK; /* (a .meshignore that does not parse: which paths stay local is unknown) */
    }
    realize_state_t *rs = s_state(f);
    if (!rs) {
        return MESH_ENOMEM;
    }
    if (rs->tmp_fd < 0) {
        return node_fail(m, MESH_EIO, "folder %s: %s/tmp cannot be made", f->id, PATH_PRIVATE);
    }
    int64_t now = (int64_t)time(NULL);
    if (now - rs->expired >= REALIZE_EXPIRE_S) { /* versions past their days, once a day */
        char why[200];
        size_t removed = 0;
        rs->expired = now;
        if (versions_expire(f->root_fd, now, registry_versions_days(m, f->id), &removed, why,
                            sizeof why) != MESH_OK) {
            node_log(m, MESH_LOG_WARN, "folder %s: expiring versions: %s", f->id, why);
        } else if (removed) {
            node_log(m, MESH_LOG_INFO, "folder %s: %zu version(s) older than %u days removed",
                     f->id, removed, registry_versions_days(m, f->id));
        }
    }
    mesh_err_t err = s_snapshot(m, f, &items, &n);
    for (size_t i = 0; err == MESH_OK && i < n; i++) {
        char why[160];
        wire_fentry_t e;
        if (path_check(items[i].path, strlen(items[i].path), why, sizeof why) != MESH_OK) {
            s_refuse(m, rs, items[i].path, items[i].value, items[i].len,
                     "folder %s: a path in its index refused: %s", f->id, why);
            continue;
        }
        if (wire_fentry_decode(items[i].value, items[i].len, &e) != MESH_OK) {
            s_refuse(m, rs, items[i].path, items[i].value, items[i].len,
                     "folder %s: an entry in its index does not decode", f->id);
            continue;
        }
        if (!index_ignored(f, items[i].path, e.type == WIRE_FENTRY_DIR)) {
            /* (an ignored path stays local, §19.1; the losers' copies before the winner
             * replaces what is there, so that their blocks are still on disk) */
            err = items[i].conflict ? s_conflict_copies(m, f, rs, bi, items[i].path) : MESH_OK;
            err = err == MESH_OK ? s_one(m, f, rs, bi, &items[i], &e) : err;
        }
        wire_fentry_release(&e);
    }
    if (err == MESH_OK) {
        s_deletes(m, f, items, n);
    }
    s_items_free(items, n);
    return err == MESH_OK ? MESH_OK : node_fail(m, err, "folder %s: %s", f->id, mesh_strerror(err));
}

void
realize_wanted(const folder_t *f, void (*fn)(void *ctx, const uint8_t *hash), void *ctx)
{
    const realize_state_t *rs = f->realize;
    for (size_t i = 0; rs && i < rs->npending; i++) {
        const s_pending_t *p = &rs->pending[i];
        for (size_t b = 0; b < p->e.nblocks; b++) {
            if (!p->have[b]) {
                fn(ctx, p->e.blocks[b].hash);
            }
        }
    }
}

size_t
realize_block(mesh_t *m, folder_t *f, const uint8_t *hash, const uint8_t *data, size_t len)
{
    realize_state_t *rs = f->realize;
    size_t took = 0;
    for (size_t i = 0; rs && i < rs->npending;) {
        s_pending_t *p = &rs->pending[i];
        for (size_t b = 0; b < p->e.nblocks; b++) {
            if (!p->have[b] && p->e.blocks[b].size == len &&
                memcmp(p->e.blocks[b].hash, hash, WIRE_FENTRY_HASH) == 0 &&
                pwrite(p->fd, data, len, (off_t)p->offsets[b]) == (ssize_t)len) {
                p->have[b] = true;
                p->missing--;
                p->fetched++;
                took++;
            }
        }
        if (p->missing == 0) {
            s_finish(m, f, rs, i); /* moves the last pending file to i */
        } else {
            i++;
        }
    }
    return took;
}
