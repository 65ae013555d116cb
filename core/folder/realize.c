/* core/folder/realize.c: entries to disk (docs/PROTOCOL.md §18.6). A file's temp file is
 * .meshsync/tmp/r<hash of path and entry>, renamed over its path when whole; one a cut
 * transfer left is gone on from after a restart (its blocks checked), links' t<n> files are
 * removed when the folder's first pass starts.
 * Layer: core (folder). Third-party: none. SPDX-License-Identifier: MIT */
#define _GNU_SOURCE /* syncfs(2): one flush for many files */
#include "core/folder/realize.h"

#include "core/folder/paths.h"
#include "core/folder/pieces.h"

#include "core/base/node.h"
#include "core/base/testhook.h"
#include "core/data/hlc.h"
#include "core/wire/frecord.h"
#include "crypto/hash.h"
#include "fs/conflict.h"
#include "fs/path.h"
#include "fs/space.h"
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
#define REALIZE_ROOM_WAIT_MS 2000  /* a file with no room on the disk is tried again after */

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
    uint64_t id;  /* this pending file's, among the folder's (blocks checked on workers) */
    size_t jobs;  /* places in blocks on the workers (realize_block_places): not put in place */
    bool sealed;  /* whole, its mode and mtime set (while its temp file was open) */
    bool lazy;    /* one block, held nowhere here: its temp file is made when it comes */
    char tmp[40]; /* "r" + 32 hex digits (s_tmp_name) */
} s_pending_t;

typedef struct realize_state {
    int tmp_fd; /* .meshsync/tmp, or -1 */
    s_pending_t pending[REALIZE_PENDING_MAX];
    uint64_t pkey[REALIZE_PENDING_MAX]; /* each pending file's path hash (s_key), in step */
    size_t npending;
    uint64_t temp_bytes;
    uint64_t counter;
    uint64_t next_id;                          /* the last pending file's id */
    uint8_t refused[REALIZE_REFUSED_KEPT][16]; /* (path, entry) pairs refused and logged */
    size_t nrefused;                           /* (a ring: the oldest forgotten first) */
    int64_t expired;                           /* when versions were last expired (s) */
    uint64_t cursor;     /* the change feed's place that the passes have read up to */
    bool full_done;      /* a pass over every path was made (cursor is good) */
    bool full;           /* the next pass looks at every path again */
    bool stopped;        /* a pass found the folder stopped: the next good one is full */
    bool progress;       /* a pending file finished or was dropped since the last pass */
    uint64_t ignore_gen; /* f->ignore_gen at the last full pass */
    paths_t wait;        /* paths not settled yet (no room, a local change first), by path */
    paths_t later;       /* paths to wait for, added outside a pass (merged at the next one) */
    size_t ncomplete;    /* pending files with every block, to be put in place (realize_flush) */
    size_t nopen;        /* pending files whose temp file is kept open (REALIZE_OPEN_MAX) */
    int64_t complete_ms; /* when the first of them became whole (monotonic) */
    int64_t room_ms;     /* when a file last found no room on the disk (monotonic), 0: none */
    int64_t full_ms;     /* when a write last found the disk full (monotonic), 0: never */
    bool renamed;        /* files put in place since the last syncfs (realize_sync) */
    pieces_t pieces;     /* large files' pieces wanted or held (§25) */
    int put_pieces;      /* in one s_put: 1 a file waits for pieces, 2 its pieces refused */
    int dir_fd;          /* the directory of the last path looked at (s_parent), or -1, */
    size_t dir_len;      /* and its path (dir[0..dir_len), "" for the root) */
    char dir[PATH_LEN_MAX + 1];
} realize_state_t;

static int64_t
s_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A pending file became whole. */
static void
s_complete(realize_state_t *rs)
{
    if (rs->ncomplete++ == 0) {
        rs->complete_ms = s_mono_ms();
    }
}

static void s_wait_add(realize_state_t *rs, const char *path, const uint8_t *value, size_t len);

static void
s_pending_drop(realize_state_t *rs, size_t i, bool unlink_tmp)
{
    s_pending_t *p = &rs->pending[i];
    if (p->fd >= 0) {
        close(p->fd);
        rs->nopen--;
    }
    if (unlink_tmp && rs->tmp_fd >= 0) {
        unlinkat(rs->tmp_fd, p->tmp, 0);
    }
    rs->ncomplete -= p->missing == 0;
    rs->temp_bytes -= p->e.size;
    free(p->path);
    free(p->value);
    free(p->offsets);
    free(p->have);
    wire_fentry_release(&p->e);
    rs->pkey[i] = rs->pkey[rs->npending - 1];
    rs->pending[i] = rs->pending[--rs->npending];
    rs->progress = true;
}

/* A path's key in rs->pkey (FNV-1a): a pending file is found by one pass over those keys,
 * not a string compare with each of up to REALIZE_PENDING_MAX paths. */
static uint64_t
s_key(const char *path)
{
    return hash_fnv(HASH_FNV_START, path, strlen(path));
}

/* The index of path's pending file, or rs->npending. */
static size_t
s_pending_find(const realize_state_t *rs, const char *path)
{
    uint64_t key = s_key(path);
    for (size_t i = 0; i < rs->npending; i++) {
        if (rs->pkey[i] == key && strcmp(rs->pending[i].path, path) == 0) {
            return i;
        }
    }
    return rs->npending;
}

/* Close the directory kept by s_parent. */
static void
s_parent_drop(realize_state_t *rs)
{
    if (rs->dir_fd >= 0) {
        close(rs->dir_fd);
    }
    rs->dir_fd = -1;
    rs->dir_len = 0;
}

void
realize_free(folder_t *f)
{
    realize_state_t *rs = f ? f->realize : NULL;
    if (!rs) {
        return;
    }
    while (rs->npending) {
        s_pending_drop(rs, 0, false); /* (temp files kept: the next start goes on from them) */
    }
    if (rs->tmp_fd >= 0) {
        close(rs->tmp_fd);
    }
    s_parent_drop(rs);
    paths_free(&rs->wait);
    paths_free(&rs->later);
    pieces_release(&rs->pieces);
    free(rs);
    f->realize = NULL;
}

size_t
realize_pending(const folder_t *f)
{
    return f->realize ? f->realize->npending : 0;
}

/* Open (making it) .meshsync/tmp under the root; remove the t<n> files (links) left there. */
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
        rs->dir_fd = -1;
        f->realize = rs;
    }
    if (f->realize->tmp_fd < 0) {
        f->realize->tmp_fd = s_tmp_open(f);
    }
    return f->realize;
}

/* The directory of path under f's root (made, with make_dirs), opened by path_open_parent
 * (no link followed, nothing outside the folder) and *name in path: kept open (the caller
 * does not close it) for the next path of the same directory, until s_parent_drop at the end
 * of this pass or flush: paths come in order, so the files of one directory cost one walk
 * from the root, not one for each step of each file. MESH_ENOTFOUND, MESH_EINVAL, ... as
 * path_open_parent (why). */
static mesh_err_t
s_parent(const folder_t *f, const char *path, bool make_dirs, int *dfd, const char **name,
         char *why, size_t why_len)
{
    realize_state_t *rs = f->realize;
    const char *slash = strrchr(path, '/');
    size_t len = slash ? (size_t)(slash - path) : 0;
    mesh_err_t err = path_check(path, strlen(path), why, why_len);
    if (err != MESH_OK) {
        return err;
    }
    if (rs->dir_fd >= 0 && rs->dir_len == len && memcmp(rs->dir, path, len) == 0) {
        *dfd = rs->dir_fd;
        *name = slash ? slash + 1 : path;
        return MESH_OK;
    }
    s_parent_drop(rs);
    err = path_open_parent(f->root_fd, path, make_dirs, dfd, name, why, why_len);
    if (err == MESH_OK) {
        rs->dir_fd = *dfd;
        rs->dir_len = len;
        memcpy(rs->dir, path, len);
    }
    return err;
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
    mesh_err_t err = s_parent(f, path, false, &dfd, &name, NULL, 0);
    if (err == MESH_ENOTFOUND) {
        return 0;
    }
    if (err != MESH_OK) {
        return -1;
    }
    int rc = fstatat(dfd, name, st, AT_SYMLINK_NOFOLLOW);
    return rc == 0 ? 1 : errno == ENOENT ? 0 : -1;
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
    default: /* (a large file's pieces against rec's blocks cut so, §25) */
        return (rec->mode & 0777) == e->mode && rec->size == e->size &&
               rec->mtime_ns == e->mtime_ns && wire_fentry_lists(e, rec->blocks, rec->nblocks);
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
    mesh_err_t err = s_parent(f, path, true, &dfd, &name, why, sizeof why);
    if (err != MESH_OK) {
        node_log(m, MESH_LOG_WARN, "folder %s: a path from the index refused: %s", f->id, why);
        return err;
    }
    struct stat st;
    bool there = fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
    if (there && S_ISDIR(st.st_mode) && unlinkat(dfd, name, AT_REMOVEDIR) != 0) {
        node_log(m, MESH_LOG_WARN, "folder %s: a directory that is not empty is in the way", f->id);
        return MESH_EEXIST;
    }
    if (there && S_ISREG(st.st_mode) && !s_keep_version(m, f, path)) {
        return MESH_EEXIST; /* (the file that was there stays: it could not be kept) */
    }
    /* (dfd is s_parent's: kept open for the next path) */
    int rc = renameat(rs->tmp_fd, tmp, dfd, name); /* (made durable by realize_flush) */
    return rc == 0 ? MESH_OK : MESH_EIO;
}

/* p's temp file for writing: its open descriptor, or opened now (*opened: close it after). */
static int
s_tmp_fd(const realize_state_t *rs, const s_pending_t *p, bool *opened)
{
    *opened = p->fd < 0;
    return p->fd >= 0 ? p->fd : openat(rs->tmp_fd, p->tmp, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
}

/* Make lazy p's temp file now (its block came): anything left there by a cut transfer is
 * replaced (one block: nothing to go on from). */
static int
s_tmp_make(const realize_state_t *rs, s_pending_t *p, bool *opened)
{
    const int create = O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
    int fd = openat(rs->tmp_fd, p->tmp, create, 0600);
    if (fd < 0 && errno == EEXIST) {
        (void)unlinkat(rs->tmp_fd, p->tmp, 0);
        fd = openat(rs->tmp_fd, p->tmp, create, 0600);
    }
    p->lazy = fd < 0;
    *opened = fd >= 0;
    return fd;
}

/* Give whole pending file p, open at fd, its mode and mtime. */
static bool
s_seal_fd(int fd, const s_pending_t *p)
{
    struct timespec times[2] = {
        {.tv_nsec = UTIME_OMIT},
        {.tv_sec = p->e.mtime_ns / 1000000000, .tv_nsec = p->e.mtime_ns % 1000000000}};
    if (times[1].tv_nsec < 0) {
        times[1].tv_sec--, times[1].tv_nsec += 1000000000;
    }
    return fd >= 0 && fchmod(fd, p->e.mode) == 0 && futimens(fd, times) == 0;
}

/* Give whole pending file p its mode and mtime. */
static bool
s_seal(const realize_state_t *rs, const s_pending_t *p)
{
    bool opened = false;
    int fd = s_tmp_fd(rs, p, &opened);
    bool ok = s_seal_fd(fd, p);
    if (opened && fd >= 0) {
        close(fd);
    }
    return ok;
}

/* Finish whole pending file i (sealed, its bytes durable): rename it into place if the disk
 * still holds what its record says. True when it is in place. */
static bool
s_finish(mesh_t *m, folder_t *f, realize_state_t *rs, size_t i, bool sealed)
{
    s_pending_t *p = &rs->pending[i];
    struct stat st;
    int there = 0;
    if (!sealed) {
        node_log(m, MESH_LOG_WARN, "folder %s: a temp file could not be finished", f->id);
    } else if (s_may_touch(m, f, p->path, &st, &there) &&
               s_put_in_place(m, f, rs, p->tmp, p->path) == MESH_OK) {
        if (s_record(f, p->path, &p->e) != MESH_OK) {
            f->dirty = true;
        }
        node_log(m, MESH_LOG_INFO, "folder %s: wrote %s (%zu blocks, %zu from members)", f->id,
                 p->path, p->e.nblocks, p->fetched);
        s_pending_drop(rs, i, false);
        return true;
    }
    s_wait_add(rs, p->path, p->value, p->value_len); /* tried again at a later pass */
    s_pending_drop(rs, i, true);
    return false;
}

/* Is it time to put rs's whole files in place? All asked, REALIZE_FLUSH_FILES whole, or the
 * first whole REALIZE_FLUSH_MS ago when no other file waits for blocks (the end of a
 * transfer), REALIZE_FLUSH_BUSY_MS while others do (their blocks come meanwhile: fewer,
 * larger batches, each one syncfs). */
static bool
s_flush_due(const realize_state_t *rs, bool all)
{
    if (!rs || !rs->ncomplete) {
        return false;
    }
    int64_t waited = s_mono_ms() - rs->complete_ms;
    return all || rs->ncomplete >= REALIZE_FLUSH_FILES ||
           waited >= (rs->ncomplete == rs->npending ? REALIZE_FLUSH_MS : REALIZE_FLUSH_BUSY_MS);
}

void
realize_sync(folder_t *f)
{
    realize_state_t *rs = f->realize;
    if (rs && rs->renamed) {
        (void)syncfs(f->root_fd);
        rs->renamed = false;
    }
}

void
realize_flush(mesh_t *m, folder_t *f, bool all)
{
    realize_state_t *rs = f->realize;
    if (!s_flush_due(rs, all)) {
        return;
    }
    /* mode and mtime, then one syncfs for the bytes of every whole file (not an fsync
     * each; it makes the renames of the last flush durable too), the renames, and one more
     * syncfs for them when no file waits any more (else at the next flush, or before their
     * records are kept: realize_sync); a file with blocks still being written by the
     * workers (whole already from blocks found here) waits for them */
    bool sealed[REALIZE_PENDING_MAX], ready = false;
    for (size_t i = 0; i < rs->npending; i++) {
        const s_pending_t *p = &rs->pending[i];
        sealed[i] = p->missing == 0 && (p->sealed || s_seal(rs, p));
        ready |= p->missing == 0 && p->jobs == 0;
    }
    if (!ready) {
        return;
    }
    if (syncfs(rs->tmp_fd) != 0) {
        node_log(m, MESH_LOG_WARN, "folder %s: temp files not made durable (%s): kept for later",
                 f->id, strerror(errno));
        return;
    }
    rs->renamed = false;
    bool moved = false;
    for (size_t i = 0; i < rs->npending;) {
        if (rs->pending[i].missing == 0 && rs->pending[i].jobs == 0) {
            size_t last = rs->npending - 1;
            moved |= s_finish(m, f, rs, i, sealed[i]); /* moves the last pending file to i */
            sealed[i] = sealed[last];
        } else {
            i++;
        }
    }
    s_parent_drop(rs);
    rs->renamed = moved;
    if (rs->npending == 0) {
        realize_sync(f);
    }
}

/* ---- one entry ---- */

static mesh_err_t
s_make_dir(mesh_t *m, folder_t *f, const char *path, const wire_fentry_t *e, int there,
           const struct stat *st)
{
    int dfd = -1;
    const char *name = NULL;
    char why[256];
    mesh_err_t err = s_parent(f, path, true, &dfd, &name, why, sizeof why);
    if (err != MESH_OK) {
        node_log(m, MESH_LOG_WARN, "folder %s: a path from the index refused: %s", f->id, why);
        return MESH_OK;
    }
    if (there == 1 && !S_ISDIR(st->st_mode)) {
        (void)unlinkat(dfd, name, 0); /* what was recorded there: replaced by the directory */
    }
    if ((there != 1 || !S_ISDIR(st->st_mode)) && mkdirat(dfd, name, 0700) != 0 && errno != EEXIST) {
        return MESH_OK;
    }
    (void)fchmodat(dfd, name, e->mode | 0700, 0);
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

/* No room for another pending file of size bytes now? */
static bool
s_no_room(const realize_state_t *rs, uint64_t size)
{
    return rs->npending == REALIZE_PENDING_MAX ||
           (rs->npending && rs->temp_bytes + size > REALIZE_TEMP_MAX);
}

/* The temp file name of (path, value): "r" and 32 hex digits of their hash, the same after
 * a restart, so that a transfer cut by a stop or a kill goes on from what it holds. */
static void
s_tmp_name(const char *path, const uint8_t *value, size_t len, char out[40])
{
    uint8_t h[HASH_LEN];
    hash_state_t st;
    hash_init(&st, HASH_TAG_KEY);
    hash_update(&st, path, strlen(path) + 1);
    hash_update(&st, value, len);
    hash_final(&st, h);
    out[0] = 'r';
    for (size_t i = 0; i < 16; i++) {
        snprintf(out + 1 + 2 * i, 3, "%02x", h[i]);
    }
}

/* Does fd hold block b at off (read into buf, and hashed)? */
static bool
s_block_at(int fd, uint64_t off, const wire_fentry_block_t *b, uint8_t *buf)
{
    uint8_t got[HASH_LEN];
    if (pread(fd, buf, b->size, (off_t)off) != (ssize_t)b->size) {
        return false;
    }
    hash_tagged(HASH_TAG_BLOCK, buf, b->size, got);
    return memcmp(got, b->hash, HASH_LEN) == 0;
}

static int
s_name_cmp(const void *a, const void *b)
{
    return strcmp(a, b);
}

/* After a full pass: remove the temp files of cut transfers that no pending file and no
 * waiting path will go on from (their entry changed or went meanwhile). */
static void
s_tmp_sweep(realize_state_t *rs)
{
    char(*names)[40] = malloc((rs->wait.n + 1) * sizeof *names);
    size_t n = 0;
    if (!names || rs->tmp_fd < 0) {
        free(names);
        return;
    }
    for (size_t i = 0; i < rs->wait.n; i++) {
        if (rs->wait.v[i].value) {
            s_tmp_name(rs->wait.v[i].path, rs->wait.v[i].value, rs->wait.v[i].len, names[n++]);
        }
    }
    if (n > 1) {
        qsort(names, n, sizeof *names, s_name_cmp);
    }
    int dup_fd = dup(rs->tmp_fd);
    DIR *d = dup_fd >= 0 ? fdopendir(dup_fd) : NULL;
    for (struct dirent *de; d && (de = readdir(d));) {
        bool keep =
            de->d_name[0] != 'r' || (n && bsearch(de->d_name, names, n, sizeof *names, s_name_cmp));
        for (size_t i = 0; i < rs->npending && !keep; i++) {
            keep = strcmp(rs->pending[i].tmp, de->d_name) == 0;
        }
        if (!keep) {
            (void)unlinkat(rs->tmp_fd, de->d_name, 0);
        }
    }
    if (d) {
        closedir(d);
    } else if (dup_fd >= 0) {
        close(dup_fd);
    }
    free(names);
}

/* Open p's temp file: one a cut transfer left (a regular file of p's size with one link) is
 * kept (*resumed: its blocks are checked before use); anything else there is replaced. */
static int
s_tmp_file(const realize_state_t *rs, const s_pending_t *p, bool *resumed)
{
    struct stat st;
    const int create = O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
    int fd = openat(rs->tmp_fd, p->tmp, create, 0600); /* (most often none is there) */
    *resumed = false;
    if (fd < 0 && errno == EEXIST) {
        fd = openat(rs->tmp_fd, p->tmp, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
        *resumed = fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_nlink == 1 &&
                   (uint64_t)st.st_size == p->e.size;
        if (*resumed) {
            return fd;
        }
        if (fd >= 0) {
            close(fd);
        }
        (void)unlinkat(rs->tmp_fd, p->tmp, 0);
        fd = openat(rs->tmp_fd, p->tmp, create, 0600);
    }
    /* its size at once when it comes in several blocks (a cut transfer is gone on from only
     * when its size is right); one block's write gives it its size */
    if (fd >= 0 && p->e.nblocks > 1 && ftruncate(fd, (off_t)p->e.size) != 0) {
        close(fd);
        fd = -1;
    }
    return fd;
}

/* Fill a large file's block list from its pieces: MESH_OK with e's blocks; MESH_ENOTFOUND
 * (pieces asked of members: rs->put_pieces 1, the path waits); MESH_EPROTO (a piece that
 * does not match the entry: refused and logged, rs->put_pieces 2); MESH_ENOMEM. */
static mesh_err_t
s_expand(mesh_t *m, folder_t *f, realize_state_t *rs, const blockidx_t *bi, const paths_item_t *it,
         wire_fentry_t *e)
{
    size_t fetched = 0;
    mesh_err_t err = pieces_expand(&rs->pieces, bi, it->path, e, &fetched);
    if (err == MESH_OK) {
        node_log(m, MESH_LOG_INFO,
                 "folder %s: %s: %zu blocks listed in %zu pieces, %zu from members", f->id,
                 it->path, e->nblocks, e->npieces, fetched);
    } else if (err == MESH_ENOTFOUND) {
        rs->put_pieces |= 1;
    } else if (err == MESH_EPROTO) {
        rs->put_pieces |= 2;
        s_refuse(m, rs, it->path, it->value, it->len,
                 "folder %s: %s: a piece of its block list does not fit its entry: refused", f->id,
                 it->path);
    }
    return err;
}

/* A block of want's hash and size from the temp file of another pending file that is whole
 * (waiting for realize_flush), read into buf and checked: a file renamed or copied from one
 * that is being put in place right now (its old path gone, its new one not yet in the block
 * index) still moves no data. Only whole files are looked at (REALIZE_FLUSH_FILES at most). */
static bool
s_from_whole(const realize_state_t *rs, const s_pending_t *self, const wire_fentry_block_t *want,
             uint8_t *buf)
{
    for (size_t j = 0; rs->ncomplete && j < rs->npending; j++) {
        const s_pending_t *q = &rs->pending[j];
        for (size_t b = 0; q != self && q->missing == 0 && b < q->e.nblocks; b++) {
            if (q->e.blocks[b].size != want->size ||
                memcmp(q->e.blocks[b].hash, want->hash, WIRE_FENTRY_HASH) != 0) {
                continue;
            }
            bool opened = false;
            int fd = s_tmp_fd(rs, q, &opened);
            bool ok = fd >= 0 && s_block_at(fd, q->offsets[b], want, buf);
            if (opened && fd >= 0) {
                close(fd);
            }
            if (ok) {
                return true;
            }
        }
    }
    return false;
}

/* The room on the folder's disk the test hook MESH_TEST_ROOM_FILE gives (the number in the
 * file it names), in place of what the file system says, or UINT64_MAX (unset): a test's
 * disk that fills and frees while the daemon runs, or that is fuller than it says. */
static uint64_t
s_room_hook(void)
{
    const char *name = testhook_text(TESTHOOK_ROOM_FILE);
    FILE *fp = name ? fopen(name, "re") : NULL;
    char line[32] = "";
    uint64_t room = UINT64_MAX;
    if (fp && fgets(line, sizeof line, fp) && line[0] >= '0' && line[0] <= '9') {
        room = strtoull(line, NULL, 10);
    }
    if (fp) {
        fclose(fp);
    }
    return room;
}

/* Room on the folder's disk for it->path's file of size bytes to start (§18.6)? What a cut
 * transfer's temp file holds already is not needed again, the transfers under way are
 * counted whole, the reserve stays free (fs/space). No room: logged once per (path, entry),
 * and the path is tried again REALIZE_ROOM_WAIT_MS later; nothing is written or asked. */
static bool
s_room(mesh_t *m, folder_t *f, realize_state_t *rs, const paths_item_t *it, uint64_t size)
{
    char tmp[40];
    struct stat st;
    uint64_t room = UINT64_MAX, need = size + rs->temp_bytes;
    if (size == 0) {
        return true; /* (an empty file takes no block) */
    }
    if (rs->full_ms && s_mono_ms() - rs->full_ms < REALIZE_ROOM_WAIT_MS) {
        rs->room_ms = s_mono_ms(); /* (a disk that was full a moment ago: a quota statvfs */
        return false;              /* does not show; s_disk_full said so) */
    }
    uint64_t hook = s_room_hook();
    s_tmp_name(it->path, it->value, it->len, tmp);
    if (fstatat(rs->tmp_fd, tmp, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode)) {
        uint64_t held = (uint64_t)st.st_blocks * 512;
        need -= held < size ? held : size;
    }
    if (hook != UINT64_MAX) {
        room = hook;
    } else {
        (void)space_room(rs->tmp_fd, &room); /* (a disk that cannot say: the writes tell) */
    }
    if (need <= room) {
        return true;
    }
    rs->room_ms = s_mono_ms();
    s_refuse(m, rs, it->path, it->value, it->len,
             "folder %s: no room for %s on its disk: %llu bytes to write (with the transfers "
             "under way), %llu free beyond the reserve; it waits for room (tried again every "
             "%d s)",
             f->id, it->path, (unsigned long long)need, (unsigned long long)room,
             REALIZE_ROOM_WAIT_MS / 1000);
    return false;
}

/* Start a file: a temp file of its size (or the one a cut transfer of the same entry left),
 * with every block it holds already (checked) or held here copied in; done at once when
 * none is missing, else pending. A large file's block list is read from its pieces first
 * (§25): while some are asked of members, nothing is started. */
static mesh_err_t
s_make_file(mesh_t *m, folder_t *f, realize_state_t *rs, const blockidx_t *bi,
            const paths_item_t *it, wire_fentry_t *e)
{
    if (s_no_room(rs, e->size) || !s_room(m, f, rs, it, e->size)) {
        return MESH_OK; /* a later pass */
    }
    if (e->npieces && !e->blocks) {
        mesh_err_t err = s_expand(m, f, rs, bi, it, e);
        if (err != MESH_OK) {
            return err == MESH_ENOMEM ? err : MESH_OK; /* (a later pass, or refused) */
        }
    }
    s_pending_t *p = &rs->pending[rs->npending];
    memset(p, 0, sizeof *p);
    p->fd = -1;
    p->id = ++rs->next_id;
    rs->pkey[rs->npending] = s_key(it->path);
    s_tmp_name(it->path, it->value, it->len, p->tmp);
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
    if (p->e.nblocks == 1 && !blockidx_has(bi, p->e.blocks[0].hash)) {
        /* one block to fetch: the temp file is made when it comes (realize_block), so a
         * pass that starts many small files makes no file yet and asks for their blocks */
        free(buf);
        p->lazy = true;
        p->missing = 1;
        return MESH_OK;
    }
    bool resumed = false;
    size_t kept = 0;
    p->fd = s_tmp_file(rs, p, &resumed);
    if (p->fd < 0) {
        free(buf);
        node_log(m, MESH_LOG_WARN, "folder %s: no temp file: %s", f->id, strerror(errno));
        s_pending_drop(rs, rs->npending - 1, true);
        return MESH_OK;
    }
    uint64_t off = 0;
    for (size_t i = 0; i < p->e.nblocks; i++) {
        size_t len = p->e.blocks[i].size;
        p->offsets[i] = off;
        off += p->e.blocks[i].size;
        if (resumed && s_block_at(p->fd, p->offsets[i], &p->e.blocks[i], buf)) {
            p->have[i] = true; /* (written before the cut) */
            kept++;
        } else if (blockidx_read(bi, p->e.blocks[i].hash, buf, WIRE_FENTRY_BLOCK_MAX, &len) ==
                       MESH_OK &&
                   len == p->e.blocks[i].size &&
                   pwrite(p->fd, buf, len, (off_t)p->offsets[i]) == (ssize_t)len) {
            p->have[i] = true;
        } else if (s_from_whole(rs, p, &p->e.blocks[i], buf) &&
                   pwrite(p->fd, buf, p->e.blocks[i].size, (off_t)p->offsets[i]) ==
                       (ssize_t)p->e.blocks[i].size) {
            p->have[i] = true;
        } else {
            p->missing++;
        }
    }
    free(buf);
    p->sealed = p->missing == 0 && s_seal_fd(p->fd, p); /* (while it is open) */
    if (p->missing == 0 || rs->nopen >= REALIZE_OPEN_MAX) {
        close(p->fd); /* (opened again for each block: pending files are many, descriptors few) */
        p->fd = -1;
    } else {
        rs->nopen++;
    }
    if (kept) {
        node_log(m, MESH_LOG_INFO,
                 "folder %s: resumed %s: %zu of %zu blocks from a cut transfer, %zu to fetch",
                 f->id, p->path, kept, p->e.nblocks, p->missing);
    }
    if (p->missing == 0) {
        s_complete(rs); /* (put in place by realize_flush) */
    }
    return MESH_OK;
}

/* Bring path to entry it (already decoded into e). */
static mesh_err_t
s_one(mesh_t *m, folder_t *f, realize_state_t *rs, const blockidx_t *bi, const paths_item_t *it,
      wire_fentry_t *e)
{
    const index_rec_t *rec = index_find(f, it->path);
    if (rec && s_rec_is(rec, e)) {
        return MESH_OK;
    }
    size_t i = s_pending_find(rs, it->path);
    if (i < rs->npending) {
        const s_pending_t *p = &rs->pending[i];
        if (p->value_len == it->len && memcmp(p->value, it->value, it->len) == 0) {
            return MESH_OK; /* under way */
        }
        s_pending_drop(rs, i, true); /* the entry changed meanwhile */
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
            paths_item_t it = {.path = name, .value = (uint8_t *)v->value, .len = v->value_len};
            err = s_one(m, f, rs, bi, &it, &e);
        }
        wire_fentry_release(&e);
    }
    mesh_item_version_list_free(list);
    return err;
}

/* ---- the pass ---- */

/* Wait for (path, value) again: a pending file dropped before it was in place (merged into
 * rs->wait at the next pass: this may run within one). */
static void
s_wait_add(realize_state_t *rs, const char *path, const uint8_t *value, size_t len)
{
    if (paths_push(&rs->later, path, strlen(path), value, len, false) != MESH_OK) {
        rs->full = true; /* (out of memory: every path is looked at again later) */
    }
}

/* Is the disk at it->path what the entry says, or a transfer of it under way? */
static bool
s_settled(const folder_t *f, const realize_state_t *rs, const paths_item_t *it)
{
    size_t i = s_pending_find(rs, it->path);
    if (i < rs->npending) {
        const s_pending_t *p = &rs->pending[i];
        return p->value_len == it->len && memcmp(p->value, it->value, it->len) == 0;
    }
    const index_rec_t *rec = index_find(f, it->path);
    wire_fentry_t e;
    if (!rec || wire_fentry_decode(it->value, it->len, &e) != MESH_OK) {
        return false;
    }
    bool same = s_rec_is(rec, &e);
    wire_fentry_release(&e);
    return same;
}

/* The folder record under its reserved key (§18.5): only checked, logged once if it does
 * not decode (the folder goes on: its record only makes it offered). */
static void
s_folder_record(mesh_t *m, const folder_t *f, realize_state_t *rs, const paths_item_t *it)
{
    wire_frecord_t r;
    if (wire_frecord_decode(it->value, it->len, &r) != MESH_OK) {
        s_refuse(m, rs, it->path, it->value, it->len,
                 "folder %s: its folder record (%s) does not decode: ignored", f->id, it->path);
    }
}

/* Bring it->path to its entry as far as now possible. *settled: done, under way, or never
 * to be done (refused, ignored); else it waits for a later pass. */
static mesh_err_t
s_put(mesh_t *m, folder_t *f, realize_state_t *rs, const blockidx_t *bi, paths_item_t *it,
      bool *settled)
{
    char why[160];
    wire_fentry_t e;
    *settled = true;
    if (it->known && it->file && !it->conflict && s_no_room(rs, it->size)) {
        *settled = false; /* no room for another transfer: a later pass (no disk touched) */
        return MESH_OK;
    }
    if (wire_frecord_is_key(it->path, strlen(it->path))) {
        s_folder_record(m, f, rs, it); /* (never a path: nothing on disk) */
        return MESH_OK;
    }
    if (path_check(it->path, strlen(it->path), why, sizeof why) != MESH_OK) {
        s_refuse(m, rs, it->path, it->value, it->len, "folder %s: a path in its index refused: %s",
                 f->id, why);
        return MESH_OK;
    }
    if (wire_fentry_decode(it->value, it->len, &e) != MESH_OK) {
        s_refuse(m, rs, it->path, it->value, it->len,
                 "folder %s: an entry in its index does not decode", f->id);
        return MESH_OK;
    }
    it->known = true;
    it->file = e.type == WIRE_FENTRY_FILE;
    it->size = e.size;
    if (index_ignored(f, it->path, e.type == WIRE_FENTRY_DIR)) {
        wire_fentry_release(&e); /* (an ignored path stays local, §19.1) */
        return MESH_OK;
    }
    const index_rec_t *rec = index_find(f, it->path);
    mesh_err_t err = MESH_OK;
    if (rec && !it->conflict && s_rec_is(rec, &e)) {
        /* (as on disk already) */
    } else if (it->file && !it->conflict && s_no_room(rs, e.size) && !s_settled(f, rs, it)) {
        *settled = false; /* no room for another transfer: a later pass (no disk touched) */
    } else {
        /* the losers' copies before the winner replaces what is there, so that their
         * blocks are still on disk */
        rs->put_pieces = 0;
        err = it->conflict ? s_conflict_copies(m, f, rs, bi, it->path) : MESH_OK;
        err = err == MESH_OK ? s_one(m, f, rs, bi, it, &e) : err;
        /* (pieces refused: settled until the entry changes; pieces asked for: it waits) */
        *settled = err == MESH_OK && (rs->put_pieces == 2 ||
                                      (rs->put_pieces == 0 && s_settled(f, rs, it) &&
                                       !(it->conflict && rs->npending == REALIZE_PENDING_MAX)));
    }
    wire_fentry_release(&e);
    return err;
}

/* Delete from disk what path's record holds (its entry is gone), and drop a transfer of
 * it. *settled: done (or nothing recorded); else it waits for a later pass. */
static void
s_del(mesh_t *m, folder_t *f, realize_state_t *rs, const char *path, bool *settled)
{
    size_t i = s_pending_find(rs, path);
    if (i < rs->npending) {
        s_pending_drop(rs, i, true);
    }
    struct stat st;
    int there = 0;
    *settled = !index_find(f, path);
    if (*settled || !s_may_touch(m, f, path, &st, &there)) {
        return;
    }
    int dfd = -1;
    const char *name = NULL;
    bool gone = there == 0;
    if (!gone && s_parent(f, path, false, &dfd, &name, NULL, 0) == MESH_OK) {
        if (S_ISREG(st.st_mode)) { /* a file goes to the versions (§19.2) */
            gone = s_keep_version(m, f, path);
        } else {
            gone = unlinkat(dfd, name, S_ISDIR(st.st_mode) ? AT_REMOVEDIR : 0) == 0;
        }
        if (!gone && errno == ENOTEMPTY) {
            /* what is left in it is not in the index: the next scan sends it again */
            gone = true;
        }
    }
    if (gone) {
        char *copy = strdup(path);
        if (!copy || index_set(f, copy, NULL) != MESH_OK) {
            f->dirty = true;
        }
        free(copy);
    }
    *settled = gone;
}

/* Work through rs->wait: entries in path order (a directory before what it holds), then
 * deletes in reverse order (what a directory holds before it); what is settled leaves it. */
static mesh_err_t
s_work(mesh_t *m, folder_t *f, realize_state_t *rs, const blockidx_t *bi)
{
    mesh_err_t err = MESH_OK;
    bool *done = calloc(rs->wait.n + 1, sizeof *done);
    if (!done) {
        return MESH_ENOMEM;
    }
    for (size_t i = 0; err == MESH_OK && i < rs->wait.n; i++) {
        if (rs->wait.v[i].value) {
            err = s_put(m, f, rs, bi, &rs->wait.v[i], &done[i]);
        }
    }
    for (size_t i = rs->wait.n; err == MESH_OK && i-- > 0;) {
        if (!rs->wait.v[i].value) {
            s_del(m, f, rs, rs->wait.v[i].path, &done[i]);
        }
    }
    size_t kept = 0;
    for (size_t i = 0; i < rs->wait.n; i++) {
        if (done[i] && err == MESH_OK) {
            free(rs->wait.v[i].path);
            free(rs->wait.v[i].value);
        } else {
            rs->wait.v[kept++] = rs->wait.v[i];
        }
    }
    rs->wait.n = kept;
    free(done);
    return err;
}

/* The index of path in p (sorted), or p->n. */
static size_t
s_find(const paths_t *p, const char *path)
{
    size_t lo = 0, hi = p->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(p->v[mid].path, path);
        if (c == 0) {
            return mid;
        }
        if (c < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return p->n;
}

void
realize_full(folder_t *f)
{
    if (f->realize) {
        f->realize->full = true;
    }
}

bool
realize_wants_pass(const folder_t *f)
{
    const realize_state_t *rs = f->realize;
    return rs && f->state == SCAN_ROOT_OK &&
           (rs->full || rs->stopped || rs->ignore_gen != f->ignore_gen || rs->later.n ||
            (rs->progress && rs->wait.n) ||
            (rs->room_ms && s_mono_ms() - rs->room_ms >= REALIZE_ROOM_WAIT_MS));
}

mesh_err_t
realize_pass(mesh_t *m, folder_t *f, const blockidx_t *bi)
{
    paths_t items = {0};
    realize_state_t *rs = s_state(f);
    if (!rs) {
        return MESH_ENOMEM;
    }
    if (f->state != SCAN_ROOT_OK || f->root_fd < 0 || f->ignore_bad) {
        /* (a .meshignore that does not parse: which paths stay local is unknown) */
        rs->stopped = true; /* back: every path is looked at again */
        return MESH_OK;
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
    rs->progress = false;
    rs->room_ms = 0; /* (set again by a file that still finds no room) */
    pieces_pass(&rs->pieces);
    bool full = !rs->full_done || rs->full || rs->stopped || rs->ignore_gen != f->ignore_gen;
    mesh_err_t err = full ? MESH_OK : paths_changed(m, f, &rs->cursor, &items, &full);
    if (err == MESH_OK && full) {
        uint64_t cursor = 0;
        err = paths_all(m, f, &items, &cursor);
        if (err == MESH_OK) {
            for (size_t i = 0; i < rs->npending;) { /* transfers of paths gone from the index */
                size_t k = s_find(&items, rs->pending[i].path);
                if (k < items.n && items.v[k].value) {
                    i++;
                } else {
                    s_pending_drop(rs, i, true);
                }
            }
            paths_free(&rs->wait); /* (every path is in items) */
            rs->cursor = cursor;
            rs->full_done = true;
            rs->full = rs->stopped = false;
            rs->ignore_gen = f->ignore_gen;
        }
    }
    err = err == MESH_OK ? paths_merge(&rs->wait, &items) : err;
    if (err == MESH_OK && rs->later.n) { /* (files dropped before they were in place) */
        paths_sort(&rs->later);
        err = paths_merge(&rs->wait, &rs->later);
    }
    err = err == MESH_OK ? s_work(m, f, rs, bi) : err;
    s_parent_drop(rs);
    if (err == MESH_OK && full) {
        s_tmp_sweep(rs);
    }
    pieces_trim(&rs->pieces, err == MESH_OK && full);
    if (err != MESH_OK) {
        if (err != MESH_ENOMEM && err != MESH_EIO) {
            rs->full = true; /* (what was read may be lost: every path again next time) */
        }
        return node_fail(m, err, "folder %s: %s", f->id, mesh_strerror(err));
    }
    return MESH_OK;
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
    if (rs) {
        pieces_wanted(&rs->pieces, fn, ctx);
    }
}

/* Pending file i met a full disk (ENOSPC, EDQUOT) while a block was written: it is dropped
 * (its temp file removed, so the room it took is free again) and its path waits, tried
 * again by s_room, which lets no file start for REALIZE_ROOM_WAIT_MS, then only once there
 * is room: its blocks are not fetched again and again meanwhile. */
static void
s_disk_full(mesh_t *m, const folder_t *f, realize_state_t *rs, size_t i)
{
    s_pending_t *p = &rs->pending[i];
    node_log(m, MESH_LOG_WARN,
             "folder %s: its disk is full while writing %s: the transfer is dropped (its temp "
             "file removed) and waits for room",
             f->id, p->path);
    s_wait_add(rs, p->path, p->value, p->value_len);
    rs->full_ms = s_mono_ms();
    s_pending_drop(rs, i, true);
}

size_t
realize_block(mesh_t *m, folder_t *f, const uint8_t *hash, const uint8_t *data, size_t len)
{
    realize_state_t *rs = f->realize;
    size_t took = 0;
    /* (the files it makes whole are put in place by realize_flush) */
    for (size_t i = 0; rs && i < rs->npending;) {
        s_pending_t *p = &rs->pending[i];
        int fd = -1;
        bool opened = false;
        bool full = false; /* a write found the disk full */
        for (size_t b = 0; b < p->e.nblocks; b++) {
            if (!p->have[b] && p->e.blocks[b].size == len &&
                memcmp(p->e.blocks[b].hash, hash, WIRE_FENTRY_HASH) == 0 &&
                (fd >= 0 ||
                 (fd = p->lazy ? s_tmp_make(rs, p, &opened) : s_tmp_fd(rs, p, &opened)) >= 0)) {
                if (pwrite(fd, data, len, (off_t)p->offsets[b]) != (ssize_t)len) {
                    full |= errno == ENOSPC || errno == EDQUOT;
                    continue;
                }
                p->have[b] = true;
                p->fetched++;
                took++;
                if (--p->missing == 0) {
                    p->sealed = s_seal_fd(fd, p); /* (while it is open) */
                    s_complete(rs);               /* (put in place by realize_flush) */
                }
            }
        }
        if (opened && fd >= 0) {
            close(fd);
        }
        if (full) {
            s_disk_full(m, f, rs, i); /* (pending file i is dropped: the next is at i now) */
            continue;
        }
        i++;
    }
    if (rs && pieces_block(&rs->pieces, hash, data, len)) { /* (the next pass reads it) */
        rs->progress = true;
        took++;
    }
    return took;
}

/* A descriptor of p's temp file that a worker may write and close: a duplicate of the one
 * kept open, or the file opened (made, for a lazy one) now. -1 when none. */
static int
s_put_fd(const realize_state_t *rs, s_pending_t *p)
{
    bool opened = false;
    if (p->fd >= 0) {
        return fcntl(p->fd, F_DUPFD_CLOEXEC, 0);
    }
    return p->lazy ? s_tmp_make(rs, p, &opened) : s_tmp_fd(rs, p, &opened);
}

size_t
realize_block_places(folder_t *f, blockwork_job_t *job)
{
    realize_state_t *rs = f->realize;
    size_t added = 0;
    for (size_t i = 0; rs && i < rs->npending; i++) {
        s_pending_t *p = &rs->pending[i];
        size_t first = job->nputs;
        int fd = -1;
        for (size_t b = 0; b < p->e.nblocks; b++) {
            if (p->have[b] || p->e.blocks[b].size != job->len ||
                memcmp(p->e.blocks[b].hash, job->hash, WIRE_FENTRY_HASH) != 0) {
                continue;
            }
            if ((fd < 0 && (fd = s_put_fd(rs, p)) < 0) ||
                blockwork_job_put(job, fd, false, p->offsets[b], f, p->id, b) != MESH_OK) {
                break; /* (the block is asked for again) */
            }
            if (p->e.size >= REALIZE_EARLY_BYTES) {
                blockwork_job_early(job);
            }
            p->jobs++;
            added++;
        }
        if (job->nputs > first) {
            job->puts[job->nputs - 1].close_fd = true; /* (its last place closes it) */
        } else if (fd >= 0) {
            close(fd);
        }
    }
    return added;
}

/* f's pending file of id key, or NULL (dropped since). */
static s_pending_t *
s_pending_of(realize_state_t *rs, uint64_t key)
{
    for (size_t i = 0; i < rs->npending; i++) {
        if (rs->pending[i].id == key) {
            return &rs->pending[i];
        }
    }
    return NULL;
}

size_t
realize_block_done(mesh_t *m, folder_t *f, const blockwork_job_t *job)
{
    realize_state_t *rs = f->realize;
    size_t took = 0;
    for (size_t k = 0; rs && k < job->nputs; k++) {
        const blockwork_put_t *put = &job->puts[k];
        s_pending_t *p = put->owner == f ? s_pending_of(rs, put->key) : NULL;
        if (!p) {
            continue;
        }
        p->jobs--;
        if (put->full) {
            s_disk_full(m, f, rs, (size_t)(p - rs->pending)); /* (the rest of its puts: no p) */
            continue;
        }
        if (!put->wrote || p->have[put->index]) {
            continue; /* (not checked, not written, or found here meanwhile) */
        }
        p->have[put->index] = true;
        p->fetched++;
        took++;
        if (--p->missing == 0) {
            p->sealed = s_seal(rs, p);
            s_complete(rs); /* (put in place by realize_flush) */
        }
    }
    if (rs && job->good && pieces_block(&rs->pieces, job->hash, job->data, job->len)) {
        rs->progress = true; /* (the next pass reads it) */
        took++;
    }
    return took;
}
