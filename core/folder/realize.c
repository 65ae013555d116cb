/* core/folder/realize.c: entries to disk (docs/PROTOCOL.md §18.6). A file's temp file
 * (core/folder/transfer.c) is renamed over its path when whole; a link is made as
 * .meshsync/tmp/t<n> and renamed likewise.
 * Layer: core (folder). Third-party: none. SPDX-License-Identifier: MIT */
#define _GNU_SOURCE /* syncfs(2): one flush for many files */
#include "core/folder/realize.h"

#include "core/folder/paths.h"
#include "core/folder/pieces.h"
#include "core/folder/transfer.h"

#include "core/base/node.h"
#include "core/base/testhook.h"
#include "core/data/hlc.h"
#include "core/wire/frecord.h"
#include "crypto/hash.h"
#include "fs/conflict.h"
#include "fs/path.h"
#include "fs/space.h"
#include "fs/versions.h"

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
#define REALIZE_ROOM_SEEN_MS 100   /* the disk's room is asked again after (s_room) */

typedef struct realize_state {
    transfer_t x;                              /* the files waiting for blocks */
    uint64_t counter;                          /* links' temp names (t<n>) */
    uint8_t refused[REALIZE_REFUSED_KEPT][16]; /* (path, entry) pairs refused and logged */
    size_t nrefused;                           /* (a ring: the oldest forgotten first) */
    int64_t expired;                           /* when versions were last expired (s) */
    uint64_t cursor;     /* the change feed's place that the passes have read up to */
    bool full_done;      /* a pass over every path was made (cursor is good) */
    bool full;           /* the next pass looks at every path again */
    bool stopped;        /* a pass found the folder stopped: the next good one is full */
    bool progress;       /* a wanted piece came since the last pass */
    uint64_t ignore_gen; /* f->ignore_gen at the last full pass */
    paths_t wait;        /* paths not settled yet (no room, a local change first), by path */
    int64_t room_ms;     /* when a file last found no room on the disk (node_now_ms), 0: none */
    int64_t seen_ms;     /* when the disk last said its room (seen), 0: never; the files */
    uint64_t seen, used; /* started since may take used bytes of it */
    bool renamed;        /* files put in place since the last syncfs (realize_sync) */
    size_t wrote_plain;  /* files of one block from members put in place by this flush */
    pieces_t pieces;     /* large files' pieces wanted or held (§25) */
    int put_pieces;      /* in one s_put: 1 a file waits for pieces, 2 its pieces refused */
    int dir_fd;          /* the directory of the last path looked at (s_parent), or -1, */
    size_t dir_len;      /* and its path (dir[0..dir_len), "" for the root) */
    char dir[PATH_LEN_MAX + 1];
} realize_state_t;

static void s_wait_add(realize_state_t *rs, const char *path, const uint8_t *value, size_t len);

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
    transfer_release(&rs->x); /* (temp files kept: the next start goes on from them) */
    s_parent_drop(rs);
    paths_free(&rs->wait);
    pieces_release(&rs->pieces);
    free(rs);
    f->realize = NULL;
}

size_t
realize_pending(const folder_t *f)
{
    return f->realize ? f->realize->x.n : 0;
}

uint64_t
realize_held_bytes(const folder_t *f)
{
    return f->realize ? transfer_held_bytes(&f->realize->x) : 0;
}

static realize_state_t *
s_state(folder_t *f)
{
    if (!f->realize) {
        realize_state_t *rs = calloc(1, sizeof *rs);
        if (!rs) {
            return NULL;
        }
        rs->x.tmp_fd = -1;
        rs->dir_fd = -1;
        f->realize = rs;
    }
    (void)transfer_open(&f->realize->x, f->root_fd); /* (-1 still: realize_pass says so) */
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
    transfer_entry_hash(path, value, len, h);
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
    /* The scan writes the change against its base (beside a member's version that came
     * meanwhile: a conflict, PROTOCOL.md §19.3), and the next pass makes the copies. */
    node_log(m, MESH_LOG_INFO,
             "folder %s: keeping a local change not scanned yet (scanning again first)", f->id);
    f->dirty = true;
    return false;
}

/* Move the finished temp file or link tmp (in rs->x.tmp_fd) over path. */
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

/* (known: what s_may_touch just found at path, there or not; NULL: looked at here) */
static mesh_err_t
s_put_in_place(mesh_t *m, folder_t *f, realize_state_t *rs, const char *tmp, const char *path,
               const struct stat *known, bool known_there)
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
    bool there = known ? known_there : fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
    if (known && there) {
        st = *known;
    }
    if (there && S_ISDIR(st.st_mode) && unlinkat(dfd, name, AT_REMOVEDIR) != 0) {
        node_log(m, MESH_LOG_WARN, "folder %s: a directory that is not empty is in the way", f->id);
        return MESH_EEXIST;
    }
    if (there && S_ISREG(st.st_mode) && !s_keep_version(m, f, path)) {
        return MESH_EEXIST; /* (the file that was there stays: it could not be kept) */
    }
    /* (dfd is s_parent's: kept open for the next path) */
    int rc = renameat(rs->x.tmp_fd, tmp, dfd, name); /* (made durable by realize_flush) */
    return rc == 0 ? MESH_OK : MESH_EIO;
}

/* Finish whole pending file i (sealed, its bytes durable): rename it into place if the disk
 * still holds what its record says. True when it is in place. */
static bool
s_finish(mesh_t *m, folder_t *f, realize_state_t *rs, size_t i, bool sealed)
{
    transfer_file_t *p = &rs->x.file[i];
    struct stat st;
    int there = 0;
    if (!sealed) {
        node_log(m, MESH_LOG_WARN, "folder %s: a temp file could not be finished", f->id);
    } else if (s_may_touch(m, f, p->path, &st, &there) &&
               s_put_in_place(m, f, rs, p->tmp, p->path, &st, there == 1) == MESH_OK) {
        if (s_record(f, p->path, &p->e) != MESH_OK) {
            f->dirty = true;
        }
        /* (a file of one block fetched: counted in the flush's line, named at debug) */
        bool plain = p->e.nblocks == 1 && p->fetched == 1;
        rs->wrote_plain += plain;
        node_log(m, plain ? MESH_LOG_DEBUG : MESH_LOG_INFO,
                 "folder %s: wrote %s (%zu blocks, %zu from members)", f->id, p->path, p->e.nblocks,
                 p->fetched);
        transfer_drop(&rs->x, i, false);
        return true;
    }
    s_wait_add(rs, p->path, p->value, p->value_len); /* tried again at a later pass */
    transfer_drop(&rs->x, i, true);
    return false;
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
    if (!rs ||
        !transfer_due(&rs->x, all, REALIZE_FLUSH_FILES, REALIZE_FLUSH_MS, REALIZE_FLUSH_BUSY_MS)) {
        return;
    }
    /* mode and mtime, then one syncfs for the bytes of every whole file (not an fsync
     * each; it makes the renames of the last flush durable too), the renames, and one more
     * syncfs for them when no file waits any more (else at the next flush, or before their
     * records are kept: realize_sync); a file with blocks still being written by the
     * workers (whole already from blocks found here) waits for them */
    bool sealed[TRANSFER_MAX], ready = false;
    for (size_t i = 0; i < rs->x.n; i++) {
        const transfer_file_t *p = &rs->x.file[i];
        sealed[i] = p->missing == 0 && transfer_seal(&rs->x, i);
        ready |= p->missing == 0 && p->jobs == 0;
    }
    if (!ready) {
        return;
    }
    int64_t t0 = node_now_ms();
    if (syncfs(rs->x.tmp_fd) != 0) {
        node_log(m, MESH_LOG_WARN, "folder %s: temp files not made durable (%s): kept for later",
                 f->id, strerror(errno));
        return;
    }
    int64_t t1 = node_now_ms();
    rs->renamed = false;
    bool moved = false;
    for (size_t i = 0; i < rs->x.n;) {
        if (rs->x.file[i].missing == 0 && rs->x.file[i].jobs == 0) {
            size_t last = rs->x.n - 1;
            moved |= s_finish(m, f, rs, i, sealed[i]); /* moves the last pending file to i */
            sealed[i] = sealed[last];
        } else {
            i++;
        }
    }
    s_parent_drop(rs);
    if (rs->wrote_plain) {
        node_log(m, MESH_LOG_INFO, "folder %s: wrote %zu file(s) of one block from members", f->id,
                 rs->wrote_plain);
        rs->wrote_plain = 0;
    }
    rs->renamed = moved;
    if (rs->x.n == 0) {
        realize_sync(f);
    }
    node_log(m, MESH_LOG_DEBUG, "folder %s: flush: %lld ms (its syncfs %lld ms)", f->id,
             (long long)(node_now_ms() - t0), (long long)(t1 - t0));
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
    if (symlinkat(e->target, rs->x.tmp_fd, tmp) != 0) {
        return MESH_OK;
    }
    if (s_put_in_place(m, f, rs, tmp, path, NULL, false) != MESH_OK) {
        unlinkat(rs->x.tmp_fd, tmp, 0);
        return MESH_OK;
    }
    return s_record(f, path, e);
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

/* Room for size more bytes by what the disk said less than REALIZE_ROOM_SEEN_MS ago, less
 * what the files started since may have taken, with the transfers under way counted whole:
 * a file of a tree of small ones asks the disk no question of its own. False: ask the disk. */
static bool
s_room_seen(realize_state_t *rs, uint64_t size)
{
    if (!rs->seen_ms || node_now_ms() - rs->seen_ms >= REALIZE_ROOM_SEEN_MS ||
        rs->used + size + rs->x.bytes > rs->seen) {
        return false;
    }
    rs->used += size;
    return true;
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
    uint64_t room = UINT64_MAX, need = size + rs->x.bytes;
    if (size == 0) {
        return true; /* (an empty file takes no block) */
    }
    if (rs->x.full_ms && node_now_ms() - rs->x.full_ms < REALIZE_ROOM_WAIT_MS) {
        rs->room_ms = node_now_ms(); /* (a disk that was full a moment ago: a quota statvfs */
        return false;                /* does not show; s_disk_full said so) */
    }
    uint64_t hook = s_room_hook();
    if (hook == UINT64_MAX && s_room_seen(rs, size)) {
        return true;
    }
    transfer_tmp_name(it->path, it->value, it->len, tmp);
    if (fstatat(rs->x.tmp_fd, tmp, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode)) {
        uint64_t held = (uint64_t)st.st_blocks * 512;
        need -= held < size ? held : size;
    }
    if (hook != UINT64_MAX) {
        room = hook;
    } else {
        (void)space_room(rs->x.tmp_fd, &room); /* (a disk that cannot say: the writes tell) */
        rs->seen_ms = node_now_ms();
        rs->seen = room;
        rs->used = 0;
    }
    if (need <= room) {
        rs->used += size;
        return true;
    }
    rs->room_ms = node_now_ms();
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
    if (transfer_full(&rs->x, e->size) || !s_room(m, f, rs, it, e->size)) {
        return MESH_OK; /* a later pass */
    }
    if (e->npieces && !e->blocks) {
        mesh_err_t err = s_expand(m, f, rs, bi, it, e);
        if (err != MESH_OK) {
            return err == MESH_ENOMEM ? err : MESH_OK; /* (a later pass, or refused) */
        }
    }
    return transfer_start(m, f->id, &rs->x, bi, it->path, it->value, it->len, e);
}

/* Bring path to entry it (already decoded into e). */
static mesh_err_t
s_one(mesh_t *m, folder_t *f, realize_state_t *rs, const blockidx_t *bi, const paths_item_t *it,
      wire_fentry_t *e)
{
    const index_rec_t *rec = index_find(f, it->path);
    if (rec && index_rec_is(rec, e)) {
        return MESH_OK;
    }
    size_t i = transfer_find(&rs->x, it->path);
    if (i < rs->x.n) {
        const transfer_file_t *p = &rs->x.file[i];
        if (p->value_len == it->len && memcmp(p->value, it->value, it->len) == 0) {
            return MESH_OK; /* under way */
        }
        transfer_drop(&rs->x, i, true); /* the entry changed meanwhile */
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
    if (!transfer_requeue(&rs->x, path, value, len)) {
        rs->full = true; /* (out of memory: every path is looked at again later) */
    }
}

/* Is the disk at it->path what the entry says, or a transfer of it under way? */
static bool
s_settled(const folder_t *f, const realize_state_t *rs, const paths_item_t *it)
{
    size_t i = transfer_find(&rs->x, it->path);
    if (i < rs->x.n) {
        const transfer_file_t *p = &rs->x.file[i];
        return p->value_len == it->len && memcmp(p->value, it->value, it->len) == 0;
    }
    const index_rec_t *rec = index_find(f, it->path);
    wire_fentry_t e;
    if (!rec || wire_fentry_decode(it->value, it->len, &e) != MESH_OK) {
        return false;
    }
    bool same = index_rec_is(rec, &e);
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
    if (it->known && it->file && !it->conflict && transfer_full(&rs->x, it->size)) {
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
    if (rec && !it->conflict && index_rec_is(rec, &e)) {
        /* (as on disk already) */
    } else if (it->file && !it->conflict && transfer_full(&rs->x, e.size) &&
               !s_settled(f, rs, it)) {
        *settled = false; /* no room for another transfer: a later pass (no disk touched) */
    } else {
        /* the losers' copies before the winner replaces what is there, so that their
         * blocks are still on disk */
        rs->put_pieces = 0;
        err = it->conflict ? s_conflict_copies(m, f, rs, bi, it->path) : MESH_OK;
        err = err == MESH_OK ? s_one(m, f, rs, bi, it, &e) : err;
        /* (pieces refused: settled until the entry changes; pieces asked for: it waits) */
        *settled = err == MESH_OK &&
                   (rs->put_pieces == 2 || (rs->put_pieces == 0 && s_settled(f, rs, it) &&
                                            !(it->conflict && rs->x.n == TRANSFER_MAX)));
    }
    wire_fentry_release(&e);
    return err;
}

/* Delete from disk what path's record holds (its entry is gone), and drop a transfer of
 * it. *settled: done (or nothing recorded); else it waits for a later pass. */
static void
s_del(mesh_t *m, folder_t *f, realize_state_t *rs, const char *path, bool *settled)
{
    size_t i = transfer_find(&rs->x, path);
    if (i < rs->x.n) {
        transfer_drop(&rs->x, i, true);
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
           (rs->full || rs->x.lost || rs->stopped || rs->ignore_gen != f->ignore_gen ||
            rs->x.later.n || ((rs->progress || rs->x.progress) && rs->wait.n) ||
            (rs->room_ms && node_now_ms() - rs->room_ms >= REALIZE_ROOM_WAIT_MS));
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
    if (rs->x.tmp_fd < 0) {
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
    rs->progress = rs->x.progress = false;
    rs->room_ms = 0; /* (set again by a file that still finds no room) */
    pieces_pass(&rs->pieces);
    bool full =
        !rs->full_done || rs->full || rs->x.lost || rs->stopped || rs->ignore_gen != f->ignore_gen;
    mesh_err_t err = full ? MESH_OK : paths_changed(m, f, &rs->cursor, &items, &full);
    if (err == MESH_OK && full) {
        uint64_t cursor = 0;
        err = paths_all(m, f, &items, &cursor);
        if (err == MESH_OK) {
            for (size_t i = 0; i < rs->x.n;) { /* transfers of paths gone from the index */
                size_t k = s_find(&items, rs->x.file[i].path);
                if (k < items.n && items.v[k].value) {
                    i++;
                } else {
                    transfer_drop(&rs->x, i, true);
                }
            }
            paths_free(&rs->wait); /* (every path is in items) */
            rs->cursor = cursor;
            rs->full_done = true;
            rs->full = rs->x.lost = rs->stopped = false;
            rs->ignore_gen = f->ignore_gen;
        }
    }
    err = err == MESH_OK ? paths_merge(&rs->wait, &items) : err;
    if (err == MESH_OK && rs->x.later.n) { /* (files dropped before they were in place) */
        paths_sort(&rs->x.later);
        err = paths_merge(&rs->wait, &rs->x.later);
    }
    err = err == MESH_OK ? s_work(m, f, rs, bi) : err;
    s_parent_drop(rs);
    if (err == MESH_OK && full) {
        transfer_sweep(&rs->x, &rs->wait);
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
    if (rs) {
        transfer_wanted(&rs->x, fn, ctx);
        pieces_wanted(&rs->pieces, fn, ctx);
    }
}

/* A block that is good (checked) may be a wanted piece of a large file's block list (§25):
 * kept, the next pass reads it. */
static size_t
s_piece(realize_state_t *rs, const uint8_t *hash, const uint8_t *data, size_t len)
{
    if (!pieces_block(&rs->pieces, hash, data, len)) {
        return 0;
    }
    rs->progress = true;
    return 1;
}

size_t
realize_block(mesh_t *m, folder_t *f, const uint8_t *hash, const uint8_t *data, size_t len)
{
    realize_state_t *rs = f->realize;
    if (!rs) {
        return 0;
    }
    /* (the files it makes whole are put in place by realize_flush) */
    size_t took = transfer_block(m, f->id, &rs->x, hash, data, len);
    return took + s_piece(rs, hash, data, len);
}

size_t
realize_block_places(folder_t *f, blockwork_job_t *job)
{
    return f->realize ? transfer_block_places(&f->realize->x, f, job) : 0;
}

size_t
realize_block_done(mesh_t *m, folder_t *f, const blockwork_job_t *job)
{
    realize_state_t *rs = f->realize;
    if (!rs) {
        return 0;
    }
    size_t took = transfer_block_done(m, f->id, &rs->x, f, job);
    return took + (job->good ? s_piece(rs, job->hash, job->data, job->len) : 0);
}
