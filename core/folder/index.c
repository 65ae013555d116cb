/* core/folder/index.c: a folder's records and the scan that writes its index
 * (docs/PROTOCOL.md §18.5). Records are kept in the metadata record "folderscan/<ID>":
 * le32 count, then per path: le16 length, path, type, le32 mode, le64 size, mtime, ctime and
 * inode, le16 target length, target, le32 blocks, each 32-byte hash and le32 size.
 * Layer: core (folder). Third-party: none. SPDX-License-Identifier: MIT */
#include "core/folder/index.h"

#include "core/base/node.h"
#include "core/base/testhook.h"
#include "core/data/txn.h"
#include "crypto/devid.h"
#include "fs/chunk.h"
#include "fs/ignore.h"
#include "fs/path.h"
#include "store/store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define S_SAVE_PREFIX REGISTRY_SCAN_PREFIX
#define S_TXN_OPS     1000u      /* entries written per transaction, */
#define S_TXN_BYTES   (8u << 20) /* or this many bytes of them */

folder_t *
index_folder_new(const char *id, const char *root)
{
    folder_t *f = calloc(1, sizeof *f);
    if (!f || !(f->root = strdup(root))) {
        free(f);
        return NULL;
    }
    snprintf(f->id, sizeof f->id, "%s", id);
    registry_coll(id, f->coll);
    f->root_fd = -1;
    f->dirty = true;
    return f;
}

void
index_rec_release(index_rec_t *rec)
{
    if (rec) {
        free(rec->path);
        free(rec->target);
        free(rec->blocks);
        memset(rec, 0, sizeof *rec);
    }
}

static void
s_recs_free(index_rec_t *recs, size_t n)
{
    for (size_t i = 0; recs && i < n; i++) {
        index_rec_release(&recs[i]);
    }
    free(recs);
}

static int
s_rec_cmp(const void *a, const void *b)
{
    return strcmp(((const index_rec_t *)a)->path, ((const index_rec_t *)b)->path);
}

index_rec_t *
index_find(const folder_t *f, const char *path)
{
    index_rec_t key = {.path = (char *)path};
    return f->nrecs ? bsearch(&key, f->recs, f->nrecs, sizeof key, s_rec_cmp) : NULL;
}

mesh_err_t
index_set(folder_t *f, const char *path, index_rec_t *rec)
{
    size_t lo = 0, hi = f->nrecs;
    while (lo < hi) { /* the first record not below path */
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(f->recs[mid].path, path) < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    bool here = lo < f->nrecs && strcmp(f->recs[lo].path, path) == 0;
    f->generation++;
    if (!rec) {
        if (here) {
            index_rec_release(&f->recs[lo]);
            memmove(&f->recs[lo], &f->recs[lo + 1], (f->nrecs - lo - 1) * sizeof *f->recs);
            f->nrecs--;
        }
        return MESH_OK;
    }
    if (!rec->path && !(rec->path = strdup(path))) {
        return MESH_ENOMEM;
    }
    if (here) {
        index_rec_release(&f->recs[lo]);
        f->recs[lo] = *rec;
    } else {
        index_rec_t *grown = realloc(f->recs, (f->nrecs + 1) * sizeof *grown);
        if (!grown) {
            return MESH_ENOMEM;
        }
        f->recs = grown;
        memmove(&f->recs[lo + 1], &f->recs[lo], (f->nrecs - lo) * sizeof *f->recs);
        f->recs[lo] = *rec;
        f->nrecs++;
    }
    memset(rec, 0, sizeof *rec);
    return MESH_OK;
}

void
index_rec_entry(const index_rec_t *rec, wire_fentry_t *e)
{
    memset(e, 0, sizeof *e);
    e->type = rec->type;
    e->mode = rec->mode & WIRE_FENTRY_MODE_MAX;
    e->mtime_ns = rec->type == WIRE_FENTRY_DIR ? 0 : rec->mtime_ns;
    if (rec->type == WIRE_FENTRY_FILE) {
        e->size = rec->size;
        e->blocks = rec->blocks;
        e->nblocks = rec->nblocks;
    } else if (rec->type == WIRE_FENTRY_SYMLINK) {
        e->target = rec->target;
        e->target_len = rec->target ? strlen(rec->target) : 0;
    }
}

/* ---- keeping records in the store ---- */

static void
s_le(uint8_t *p, uint64_t v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        p[i] = (uint8_t)(v >> (8 * i));
    }
}

static uint64_t
s_get_le(const uint8_t *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        v |= (uint64_t)p[i] << (8 * i);
    }
    return v;
}

typedef struct s_save {
    const char *name;
    const uint8_t *buf;
    size_t len;
} s_save_t;

static mesh_err_t
s_save_body(store_txn_t *txn, void *ctx)
{
    const s_save_t *s = ctx;
    return store_meta_put(txn, s->name, s->buf, s->len);
}

mesh_err_t
index_save(mesh_t *m, folder_t *f)
{
    size_t len = 4;
    for (size_t i = 0; i < f->nrecs; i++) {
        const index_rec_t *r = &f->recs[i];
        len += 2 + strlen(r->path) + 1 + 4 + 32 + 2 + (r->target ? strlen(r->target) : 0) + 4 +
               r->nblocks * 36;
    }
    uint8_t *buf = malloc(len), *p = buf;
    if (!buf) {
        return MESH_ENOMEM;
    }
    s_le(p, f->nrecs, 4), p += 4;
    for (size_t i = 0; i < f->nrecs; i++) {
        const index_rec_t *r = &f->recs[i];
        size_t pl = strlen(r->path), tl = r->target ? strlen(r->target) : 0;
        s_le(p, pl, 2), memcpy(p + 2, r->path, pl), p += 2 + pl;
        *p++ = r->type;
        s_le(p, r->mode, 4), p += 4;
        s_le(p, r->size, 8), s_le(p + 8, (uint64_t)r->mtime_ns, 8);
        s_le(p + 16, (uint64_t)r->ctime_ns, 8), s_le(p + 24, r->inode, 8), p += 32;
        s_le(p, tl, 2), memcpy(p + 2, tl ? r->target : "", tl), p += 2 + tl;
        s_le(p, r->nblocks, 4), p += 4;
        for (size_t b = 0; b < r->nblocks; b++) {
            memcpy(p, r->blocks[b].hash, 32), s_le(p + 32, r->blocks[b].size, 4), p += 36;
        }
    }
    char name[sizeof S_SAVE_PREFIX + SCAN_ID_MAX];
    snprintf(name, sizeof name, "%s%s", S_SAVE_PREFIX, f->id);
    s_save_t s = {name, buf, len};
    mesh_err_t err = store_write(m->store, s_save_body, &s);
    free(buf);
    return err == MESH_OK ? MESH_OK : node_fail_store(m, err, "folder records");
}

void
index_forget(mesh_t *m, const char *id)
{
    char name[sizeof S_SAVE_PREFIX + SCAN_ID_MAX];
    snprintf(name, sizeof name, "%s%s", S_SAVE_PREFIX, id);
    s_save_t s = {name, (const uint8_t *)"\0\0\0\0", 4};
    if (store_write(m->store, s_save_body, &s) != MESH_OK) {
        node_log(m, MESH_LOG_WARN, "folder %s: its scan records stay in the store", id);
    }
}

/* Decode the kept records (strictly: every length against the bytes left, paths by the
 * path rule, sorted and unique). MESH_OK or MESH_ECORRUPT / MESH_ENOMEM; *out NULL then. */
static mesh_err_t
s_decode(const uint8_t *p, size_t len, index_rec_t **out, size_t *n)
{
    const uint8_t *end = p + len;
    *out = NULL;
    *n = 0;
    if (len < 4) {
        return MESH_ECORRUPT;
    }
    uint64_t count = s_get_le(p, 4);
    p += 4;
    if (count > len / 45) { /* no record is shorter than 45 bytes */
        return MESH_ECORRUPT;
    }
    index_rec_t *recs = calloc(count ? count : 1, sizeof *recs);
    size_t i = 0;
    mesh_err_t err = recs ? MESH_OK : MESH_ENOMEM;
    for (; err == MESH_OK && i < count; i++) {
        index_rec_t *r = &recs[i];
        size_t pl = end - p >= 2 ? s_get_le(p, 2) : SIZE_MAX;
        if (pl > PATH_LEN_MAX || (size_t)(end - p) < 2 + pl + 33 + 2 ||
            path_check((const char *)p + 2, pl, NULL, 0) != MESH_OK) {
            err = MESH_ECORRUPT;
            break;
        }
        r->path = strndup((const char *)p + 2, pl);
        p += 2 + pl;
        r->type = *p++;
        r->mode = (uint32_t)s_get_le(p, 4), p += 4;
        r->size = s_get_le(p, 8), r->mtime_ns = (int64_t)s_get_le(p + 8, 8);
        r->ctime_ns = (int64_t)s_get_le(p + 16, 8), r->inode = s_get_le(p + 24, 8), p += 32;
        size_t tl = s_get_le(p, 2);
        p += 2;
        if (!r->path || r->type > SCAN_SYMLINK || tl > SCAN_TARGET_MAX ||
            (size_t)(end - p) < tl + 4 || (i && strcmp(recs[i - 1].path, r->path) >= 0)) {
            err = r->path ? MESH_ECORRUPT : MESH_ENOMEM;
            break;
        }
        if (tl && !(r->target = strndup((const char *)p, tl))) {
            err = MESH_ENOMEM;
            break;
        }
        p += tl;
        size_t nb = s_get_le(p, 4);
        p += 4;
        if (nb > WIRE_FENTRY_BLOCKS_MAX || (size_t)(end - p) < nb * 36) {
            err = MESH_ECORRUPT;
            break;
        }
        if (nb && !(r->blocks = calloc(nb, sizeof *r->blocks))) {
            err = MESH_ENOMEM;
            break;
        }
        r->nblocks = nb;
        for (size_t b = 0; b < nb; b++, p += 36) {
            memcpy(r->blocks[b].hash, p, 32);
            r->blocks[b].size = (uint32_t)s_get_le(p + 32, 4);
        }
    }
    if (err == MESH_OK && p != end) {
        err = MESH_ECORRUPT;
    }
    if (err != MESH_OK) {
        s_recs_free(recs, recs ? (i < count ? i + 1 : count) : 0);
        return err;
    }
    *out = recs;
    *n = count;
    return MESH_OK;
}

/* Read f's kept records once. A record that does not decode is logged and forgotten: every
 * file is then read again, and nothing is taken as deleted. */
static void
s_load(mesh_t *m, folder_t *f)
{
    store_txn_t *txn = NULL;
    const uint8_t *val = NULL;
    size_t len = 0;
    char name[sizeof S_SAVE_PREFIX + SCAN_ID_MAX];
    snprintf(name, sizeof name, "%s%s", S_SAVE_PREFIX, f->id);
    f->loaded = true;
    if (store_read_begin(m->store, &txn) != MESH_OK) {
        return;
    }
    if (store_meta_get(txn, name, &val, &len) == MESH_OK &&
        s_decode(val, len, &f->recs, &f->nrecs) != MESH_OK) {
        node_log(m, MESH_LOG_WARN, "folder %s: its scan records do not decode: scanning anew",
                 f->id);
    }
    store_read_end(txn);
    f->generation++;
}

/* ---- the scan ---- */

typedef struct s_walk {
    folder_t *f;
    index_rec_t *list; /* what the walk saw, in walk order */
    bool *fresh;       /* per entry: new or changed since its record */
    size_t n, cap;
    size_t nfresh;   /* entries of fresh (the walk's count) */
    char **unlisted; /* directories that could not be listed */
    size_t nunlisted;
} s_walk_t;

static void
s_entry_of(const index_rec_t *r, scan_entry_t *e)
{
    memset(e, 0, sizeof *e);
    e->path = r->path;
    e->type = r->type;
    e->mode = r->mode;
    e->size = r->size;
    e->mtime_ns = r->mtime_ns;
    e->ctime_ns = r->ctime_ns;
    e->inode = r->inode;
    e->target = r->target;
}

bool
index_ignored(const folder_t *f, const char *path, bool is_dir)
{
    return f->ignore && ignore_match(f->ignore, path, strlen(path), is_dir);
}

/* Read the root's .meshignore again into f->ignore. False when it does not parse (then
 * f->ignore_bad, and the reason is logged once per new reason). */
static bool
s_ignore_load(mesh_t *m, folder_t *f)
{
    char why[sizeof f->ignore_why] = "";
    struct stat st;
    uint64_t stamp = 0; /* (taken before the read: a change after it is seen next time) */
    if (fstatat(f->root_fd, IGNORE_FILE, &st, AT_SYMLINK_NOFOLLOW) == 0) {
        stamp = ((uint64_t)st.st_ino * 0x9e3779b97f4a7c15u) ^ (uint64_t)st.st_size ^
                ((uint64_t)st.st_mtim.tv_sec << 30) ^ (uint64_t)st.st_mtim.tv_nsec ^
                ((uint64_t)st.st_ctim.tv_sec << 34) ^ ((uint64_t)st.st_ctim.tv_nsec << 3);
    }
    if (stamp != f->ignore_stamp) {
        f->ignore_stamp = stamp;
        f->ignore_gen++;
    }
    ignore_free(f->ignore);
    f->ignore = NULL;
    mesh_err_t err = ignore_load(f->root_fd, &f->ignore, why, sizeof why);
    f->ignore_bad = err != MESH_OK;
    if (f->ignore_bad && strcmp(why, f->ignore_why) != 0) {
        node_log(m, MESH_LOG_WARN, "folder %s: %s: %s (%s): nothing is synced until it is fixed",
                 f->id, IGNORE_FILE, why[0] ? why : "cannot be read", mesh_strerror(err));
    }
    snprintf(f->ignore_why, sizeof f->ignore_why, "%s", f->ignore_bad ? why : "");
    return !f->ignore_bad;
}

bool
index_holds(const folder_t *f, const char *path)
{
    const index_rec_t *rec = index_find(f, path);
    struct stat st;
    if (!rec || rec->type != SCAN_FILE || f->state != SCAN_ROOT_OK || f->root_fd < 0 ||
        fstatat(f->root_fd, path, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode)) {
        return false;
    }
    scan_entry_t known,
        now = {.type = SCAN_FILE,
               .size = (uint64_t)st.st_size,
               .mode = (uint32_t)(st.st_mode & WIRE_FENTRY_MODE_MAX),
               .mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec,
               .ctime_ns = (int64_t)st.st_ctim.tv_sec * 1000000000 + st.st_ctim.tv_nsec,
               .inode = (uint64_t)st.st_ino};
    s_entry_of(rec, &known);
    return !scan_changed(&now, &known);
}

static mesh_err_t
s_on_entry(void *ctx, const scan_entry_t *e)
{
    s_walk_t *w = ctx;
    /* an ignored path is not recorded, so it is neither put nor deleted (§19.1) */
    if (index_ignored(w->f, e->path, e->type == SCAN_DIR)) {
        return MESH_OK;
    }
    if (w->n == w->cap) {
        size_t cap = w->cap ? 2 * w->cap : 256;
        index_rec_t *list = realloc(w->list, cap * sizeof *list);
        if (list) {
            w->list = list;
        }
        bool *fresh = list ? realloc(w->fresh, cap * sizeof *fresh) : NULL;
        if (!fresh) {
            return MESH_ENOMEM;
        }
        w->fresh = fresh;
        w->cap = cap;
    }
    if (e->unlisted) {
        char **u = realloc(w->unlisted, (w->nunlisted + 1) * sizeof *u);
        if (u) {
            w->unlisted = u;
        }
        if (!u || !(u[w->nunlisted] = strdup(e->path))) {
            return MESH_ENOMEM;
        }
        w->nunlisted++;
    }
    index_rec_t *r = &w->list[w->n];
    memset(r, 0, sizeof *r);
    r->path = strdup(e->path);
    r->type = e->type;
    r->mode = e->mode & WIRE_FENTRY_MODE_MAX;
    r->size = e->type == SCAN_FILE ? e->size : 0;
    r->mtime_ns = e->mtime_ns;
    r->ctime_ns = e->ctime_ns;
    r->inode = e->inode;
    if (!r->path || (e->target && !(r->target = strdup(e->target)))) {
        index_rec_release(r);
        return MESH_ENOMEM;
    }
    const index_rec_t *old = index_find(w->f, e->path);
    scan_entry_t known, now = *e;
    now.size = r->size;
    now.mode = r->mode;
    bool fresh = true;
    if (old) {
        s_entry_of(old, &known);
        fresh = scan_changed(&now, &known) ||
                (old->target && e->target && strcmp(old->target, e->target) != 0);
    }
    if (!fresh && old->nblocks) {
        r->blocks = malloc(old->nblocks * sizeof *r->blocks);
        if (!r->blocks) {
            index_rec_release(r);
            return MESH_ENOMEM;
        }
        memcpy(r->blocks, old->blocks, old->nblocks * sizeof *r->blocks);
        r->nblocks = old->nblocks;
    }
    w->fresh[w->n++] = fresh;
    return MESH_OK;
}

/* A file whose read goes on over several parts of a scan (f->reading, the file of
 * f->later[0]): a large file is read a round at a time, the loop served between parts. */
struct index_reading {
    int fd;
    struct stat before; /* at open: the file must still be so when its last round is read */
    chunk_file_t *cf;
    bool resumed; /* read over several parts (the loop ran between: its path is checked) */
};

/* The directory of the last file read (f->dir): opened by path_open_parent (no link
 * followed), kept until the end of the part of the scan (s_dir_drop), never across loop
 * turns, when realize may move directories. */
struct index_dir {
    int fd;
    size_t len; /* its path: path[0..len), "" for the root */
    char path[PATH_LEN_MAX + 1];
};

static void
s_dir_drop(folder_t *f)
{
    if (f->dir) {
        close(f->dir->fd);
        free(f->dir);
        f->dir = NULL;
    }
}

/* Open the file at path under f's root for reading, through f->dir (opened for path's
 * directory when it is another). The results of path_open. */
static mesh_err_t
s_open_file(folder_t *f, const char *path, int *fd)
{
    const char *slash = strrchr(path, '/'), *name = NULL;
    size_t len = slash ? (size_t)(slash - path) : 0;
    char why[256];
    *fd = -1;
    if (!f->dir || f->dir->len != len || memcmp(f->dir->path, path, len) != 0) {
        s_dir_drop(f);
        struct index_dir *d = malloc(sizeof *d);
        if (!d) {
            return MESH_ENOMEM;
        }
        mesh_err_t err = path_open_parent(f->root_fd, path, false, &d->fd, &name, why, sizeof why);
        if (err != MESH_OK) {
            free(d);
            return err;
        }
        d->len = len;
        memcpy(d->path, path, len);
        f->dir = d;
    }
    name = slash ? slash + 1 : path;
    int got = openat(f->dir->fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (got < 0) {
        return errno == ENOENT ? MESH_ENOTFOUND : errno == ELOOP ? MESH_EINVAL : MESH_EIO;
    }
    *fd = got;
    return MESH_OK;
}

/* Stop f's read under way, if any (its file is read anew by the scan that next takes it). */
static void
s_reading_end(folder_t *f)
{
    if (f->reading) {
        chunk_file_free(f->reading->cf);
        close(f->reading->fd);
        free(f->reading);
        f->reading = NULL;
    }
}

/* Open r and start reading it into f->reading. MESH_OK (f->reading NULL when the file went
 * or is no longer a regular file), MESH_EIO (unreadable), MESH_ENOMEM. */
static mesh_err_t
s_reading_start(folder_t *f, const index_rec_t *r)
{
    struct index_reading *rd = calloc(1, sizeof *rd);
    if (!rd) {
        return MESH_ENOMEM;
    }
    mesh_err_t err = s_open_file(f, r->path, &rd->fd);
    if (err == MESH_ENOMEM) {
        free(rd);
        return err;
    }
    if (err == MESH_ENOTFOUND || err == MESH_EINVAL) {
        err = MESH_OK; /* gone or replaced meanwhile: the next scan sees what it is */
    } else if (err != MESH_OK) {
        err = MESH_EIO; /* not readable (permissions) */
    } else if (fstat(rd->fd, &rd->before) != 0 || !S_ISREG(rd->before.st_mode)) {
        err = MESH_OK;
    } else if ((err = chunk_file_new_sized(rd->fd, NULL, WIRE_FENTRY_BLOCKS_MAX,
                                           (uint64_t)rd->before.st_size, &rd->cf)) == MESH_OK) {
        f->reading = rd;
        return MESH_OK;
    }
    if (rd->fd >= 0) {
        close(rd->fd);
    }
    free(rd);
    return err;
}

/* Is the file read whole (bytes) still what it was when opened, the one the walk saw (its
 * inode), and still at r's path (a read over several parts: the loop may have replaced it
 * meanwhile; one read in one go: nothing of this daemon ran between the open and now)? */
static bool
s_reading_stable(const folder_t *f, const index_rec_t *r, uint64_t bytes, struct stat *after)
{
    const struct stat *before = &f->reading->before;
    struct stat at;
    return fstat(f->reading->fd, after) == 0 && after->st_size == before->st_size &&
           after->st_mtim.tv_sec == before->st_mtim.tv_sec &&
           after->st_mtim.tv_nsec == before->st_mtim.tv_nsec &&
           (uint64_t)after->st_size == r->size && bytes == r->size &&
           (uint64_t)after->st_ino == r->inode &&
           (!f->reading->resumed || (fstatat(f->root_fd, r->path, &at, AT_SYMLINK_NOFOLLOW) == 0 &&
                                     at.st_ino == after->st_ino && at.st_dev == after->st_dev));
}

/* Take the blocks of the read just finished into r when the file stayed unchanged. */
static mesh_err_t
s_reading_take(folder_t *f, index_rec_t *r, bool *stable)
{
    chunk_block_t *blocks = NULL;
    size_t n = 0;
    struct stat after;
    mesh_err_t err = chunk_file_take(f->reading->cf, &blocks, &n);
    if (err == MESH_OK && s_reading_stable(f, r, chunk_file_bytes(f->reading->cf), &after)) {
        free(r->blocks);
        r->blocks = n ? calloc(n, sizeof *r->blocks) : NULL;
        if (n && !r->blocks) {
            err = MESH_ENOMEM;
        }
        for (size_t i = 0; err == MESH_OK && i < n; i++) {
            memcpy(r->blocks[i].hash, blocks[i].hash, HASH_LEN);
            r->blocks[i].size = blocks[i].size;
        }
        r->nblocks = err == MESH_OK ? n : 0;
        r->mtime_ns = (int64_t)after.st_mtim.tv_sec * 1000000000 + after.st_mtim.tv_nsec;
        r->ctime_ns = (int64_t)after.st_ctim.tv_sec * 1000000000 + after.st_ctim.tv_nsec;
        *stable = err == MESH_OK;
    }
    free(blocks);
    return err;
}

/* Read the blocks of file r (fresh), or read on where the last part stopped (f->reading),
 * a round at a time until until (0: no limit; one round at least). *done false: the budget
 * ran out first and f->reading goes on (the caller keeps r as f->later[0]). Done: MESH_OK,
 * with *stable false when the file changed or went while it was read (it is scanned again
 * soon); MESH_ETOOBIG (past the cap of one entry) or MESH_EIO (unreadable): it is left out;
 * MESH_ENOMEM. */
static mesh_err_t
s_read_blocks(folder_t *f, index_rec_t *r, int64_t until, bool *stable, bool *done)
{
    *stable = false;
    *done = true;
    mesh_err_t err = MESH_OK;
    if (f->reading) {
        f->reading->resumed = true;
    } else {
        err = s_reading_start(f, r);
    }
    if (err != MESH_OK || !f->reading) {
        return err;
    }
    uint64_t pause_ms = testhook_number(TESTHOOK_SCAN_ROUND_MS, 0);
    bool whole = false;
    do {
        err = chunk_file_step(f->reading->cf, &whole);
        if (pause_ms && err == MESH_OK && !whole) {
            usleep((useconds_t)(pause_ms * 1000));
        }
    } while (err == MESH_OK && !whole && (!until || node_now_ms() < until));
    *done = err != MESH_OK || whole;
    if (err == MESH_OK && whole) {
        err = s_reading_take(f, r, stable);
    }
    if (*done) {
        s_reading_end(f);
    }
    return err; /* MESH_ETOOBIG: past the block cap; MESH_EIO: unreadable */
}

/* Is path below one of the directories that could not be listed? */
static bool
s_under_unlisted(const s_walk_t *w, const char *path)
{
    for (size_t i = 0; i < w->nunlisted; i++) {
        size_t n = strlen(w->unlisted[i]);
        if (strncmp(path, w->unlisted[i], n) == 0 && path[n] == '/') {
            return true;
        }
    }
    return false;
}

/* Does coll hold exactly value[0..len) as path's visible entry? (NULL value: any at all?)
 * *present (may be NULL): it holds one at all. */
static bool
s_stored_is(mesh_t *m, const folder_t *f, const char *path, const uint8_t *value, size_t len,
            bool *present)
{
    void *got = NULL;
    size_t got_len = 0;
    bool any = mesh_get(m, f->coll, path, strlen(path), &got, &got_len) == MESH_OK;
    if (present) {
        *present = any;
    }
    if (!any) {
        return false;
    }
    bool same = !value || (got_len == len && memcmp(got, value, len) == 0);
    mesh_free(got);
    return same;
}

bool
index_rec_is(const index_rec_t *rec, const wire_fentry_t *e)
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

/* The base of a local change of a file at path (PROTOCOL §19.3): of the versions the index
 * collection holds for path, those the change was made from, which it supersedes: the one
 * the disk held before (its record: old, NULL when it had none), a tombstone (an edit wins
 * over a delete), and one of the same content as the change (now: its new record; NULL for
 * a delete). Any other version came from a member while the change was made here (the disk
 * never held it): *others is then true, and the change must leave it beside it, a conflict
 * (txn_base), not write over it. base: STORE_SIBLINGS_MAX dots. */
static mesh_err_t
s_base_of(mesh_t *m, const folder_t *f, const char *path, const index_rec_t *old,
          const index_rec_t *now, wire_dot_t *base, size_t *nbase, bool *others)
{
    mesh_item_version_list_t *list = NULL;
    *nbase = 0;
    *others = false;
    mesh_err_t err = mesh_get_versions(m, f->coll, path, strlen(path), &list);
    if (err == MESH_ENOTFOUND) {
        return MESH_OK;
    }
    size_t n = mesh_item_version_list_count(list);
    for (size_t i = 0; err == MESH_OK && i < n && *nbase < STORE_SIBLINGS_MAX; i++) {
        const mesh_item_version_t *v = mesh_item_version_list_get(list, i);
        wire_fentry_t e;
        bool from = v->deleted || wire_fentry_decode(v->value, v->value_len, &e) != MESH_OK;
        if (!from) { /* (one that does not decode is never on a disk: superseded) */
            from = (old && index_rec_is(old, &e)) ||
                   (now && e.type == now->type && e.size == now->size &&
                    wire_fentry_lists(&e, now->blocks, now->nblocks));
            wire_fentry_release(&e);
        }
        if (!from) {
            *others = true;
            continue;
        }
        wire_dot_t *d = &base[(*nbase)++];
        err = devid_parse(v->origin, d->origin);
        d->incarnation = v->incarnation;
        d->seq = v->seq;
    }
    mesh_item_version_list_free(list);
    return err;
}

/* Write ops to f->coll, a transaction per S_TXN_OPS. */
typedef struct s_writer {
    mesh_t *m;
    folder_t *f;
    mesh_txn_t *txn;
    size_t ops, bytes;
    bool wrote;
} s_writer_t;

static mesh_err_t
s_commit(s_writer_t *w)
{
    mesh_err_t err = MESH_OK;
    if (w->txn) {
        err = mesh_txn_commit(&w->txn, NULL);
        w->wrote |= err == MESH_OK;
    }
    w->ops = w->bytes = 0;
    return err;
}

/* Write path's new entry value[0..len) (NULL: a delete). A file's change is written against
 * its base (s_base_of: old, its record before, now after; NULL when none; only when the index
 * shows an entry for path, present: else it holds none or tombstones only): over a member's
 * version that came meanwhile it is written beside it (a conflict), and a delete is not
 * written at all (the member's newer file comes back here: an edit wins over a delete). */
static mesh_err_t
s_write(s_writer_t *w, const char *path, const uint8_t *value, size_t len, const index_rec_t *old,
        const index_rec_t *now, bool present)
{
    wire_dot_t base[STORE_SIBLINGS_MAX];
    size_t nbase = 0;
    bool others = false;
    mesh_err_t err = MESH_OK;
    if (present && ((now && now->type == SCAN_FILE) || (!now && old && old->type == SCAN_FILE))) {
        err = s_base_of(w->m, w->f, path, old, now, base, &nbase, &others);
    }
    if (err == MESH_OK && others) {
        node_log(w->m, MESH_LOG_INFO,
                 value ? "folder %s: %s changed here while a member's change of it came: both kept "
                         "(a conflict copy, PROTOCOL.md §19.3)"
                       : "folder %s: %s deleted here while a member's change of it came: the "
                         "change is kept (it comes back here)",
                 w->f->id, path);
        if (!value) {
            return MESH_OK;
        }
    }
    if (err == MESH_OK && w->txn && (w->ops >= S_TXN_OPS || w->bytes + len > S_TXN_BYTES)) {
        err = s_commit(w);
    }
    if (err == MESH_OK && !w->txn) {
        err = mesh_txn_begin(w->m, w->f->coll, &w->txn);
    }
    if (err == MESH_OK) {
        err = value ? mesh_put(w->txn, path, strlen(path), value, len)
                    : mesh_del(w->txn, path, strlen(path));
    }
    if (err == MESH_OK && others) {
        err = txn_base(w->txn, base, nbase);
    }
    w->ops++;
    w->bytes += len + strlen(path);
    return err;
}

/* Write r's entry (encoded in buf) to the index collection unless the store holds it so. */
static mesh_err_t
s_write_rec(s_writer_t *w, const index_rec_t *r, wire_buf_t *buf)
{
    wire_fentry_t e;
    index_rec_entry(r, &e);
    wire_buf_reset(buf);
    mesh_err_t err = wire_fentry_encode(&e, buf);
    bool present = false;
    if (err == MESH_OK && !s_stored_is(w->m, w->f, r->path, buf->data, buf->len, &present)) {
        err = s_write(w, r->path, buf->data, buf->len, index_find(w->f, r->path), r, present);
    }
    return err;
}

/* Note f's root state; log it when it changes. */
static void
s_root_state(mesh_t *m, folder_t *f, enum scan_root state, const char *why)
{
    if (state != f->state) {
        if (state != SCAN_ROOT_OK) {
            node_log(m, MESH_LOG_ERROR,
                     "folder %s stopped: %s (%s); nothing is sent as deleted until it is back",
                     f->id, scan_root_text(state), why);
        } else {
            node_log(m, MESH_LOG_INFO, "folder %s: its root is back at %s", f->id, f->root);
        }
    }
    f->state = state;
    snprintf(f->why, sizeof f->why, "%s", state == SCAN_ROOT_OK ? "" : why);
}

/* Move r (a file the walk found new or changed, not read) to the end of f->later. */
static mesh_err_t
s_later_push(folder_t *f, index_rec_t *r)
{
    size_t n = f->nlater;
    if ((n & (n - 1)) == 0) { /* (0, 1, 2, 4, ...: grown to twice as many) */
        index_rec_t *grown = realloc(f->later, (n ? 2 * n : 1) * sizeof *grown);
        if (!grown) {
            return MESH_ENOMEM;
        }
        f->later = grown;
    }
    f->later[f->nlater++] = *r;
    memset(r, 0, sizeof *r);
    return MESH_OK;
}

/* A part after the first: read on through f->later within the budget, put each file read
 * whole and unchanged (its entry written when it differs, its record taken), and leave the
 * rest for the next part. Never a delete: the walk of the first part decided those. */
static mesh_err_t
s_scan_later(mesh_t *m, folder_t *f, uint32_t budget_ms, size_t max_files, bool *changed)
{
    int64_t until = budget_ms ? node_now_ms() + (int64_t)budget_ms : 0;
    size_t i = 0, nread = 0;
    s_writer_t wr = {.m = m, .f = f};
    wire_buf_t buf;
    mesh_err_t err = MESH_OK;
    wire_buf_init(&buf);
    for (; err == MESH_OK && i < f->nlater; i++) {
        if (nread && ((until && node_now_ms() >= until) || (max_files && nread >= max_files))) {
            break;
        }
        index_rec_t *r = &f->later[i];
        bool stable = false, done = true;
        if (index_ignored(f, r->path, false)) { /* (.meshignore changed since the walk) */
            s_reading_end(f);                   /* (its read, if under way) */
            index_rec_release(r);
            continue;
        }
        err = s_read_blocks(f, r, until, &stable, &done);
        nread++;
        if (!done) {
            break; /* (read on by the next part: r becomes f->later[0]) */
        }
        if (err == MESH_ETOOBIG || err == MESH_EIO) {
            node_log(m, MESH_LOG_WARN, "folder %s: %s is %s: not synced", f->id, r->path,
                     err == MESH_ETOOBIG ? "too large for one entry" : "unreadable");
            index_rec_release(r);
            err = MESH_OK;
            continue;
        }
        if (err != MESH_OK || !stable) {
            f->dirty |= err == MESH_OK; /* changing while read: look again soon */
            index_rec_release(r);
            continue;
        }
        err = s_write_rec(&wr, r, &buf);
        err = err == MESH_OK ? index_set(f, r->path, r) : err; /* (r taken) */
    }
    wire_buf_release(&buf);
    s_dir_drop(f);
    for (size_t k = 0; k < i; k++) {
        index_rec_release(&f->later[k]); /* (a file not put: its old record stays) */
    }
    memmove(f->later, f->later + i, (f->nlater - i) * sizeof *f->later);
    f->nlater -= i;
    f->more = f->nlater > 0;
    if (f->more) {
        node_log(m, MESH_LOG_DEBUG, "folder %s: scan part: %zu file(s) read, %zu for the next",
                 f->id, nread, f->nlater);
    }
    err = err == MESH_OK ? s_commit(&wr) : err;
    mesh_txn_abort(wr.txn);
    if (changed) {
        *changed = wr.wrote;
    }
    if (err == MESH_OK && !f->more) {
        err = index_save(m, f); /* (the last part: the records as the walk and reads left them) */
    }
    if (err != MESH_OK) {
        s_reading_end(f);
        s_recs_free(f->later, f->nlater); /* (not resumed at once: at the next due scan) */
        f->later = NULL;
        f->nlater = 0;
        f->more = false;
        return node_fail(m, err, "folder %s: scan: %s", f->id, mesh_strerror(err));
    }
    return MESH_OK;
}

mesh_err_t
index_scan(mesh_t *m, folder_t *f, bool *changed)
{
    return index_scan_some(m, f, 0, 0, changed);
}

mesh_err_t
index_scan_some(mesh_t *m, folder_t *f, uint32_t budget_ms, size_t max_files, bool *changed)
{
    int64_t until = 0;
    bool spent = false; /* the budget is spent: files not read yet wait for the next part */
    size_t nread = 0, nlater = 0;
    char why[256] = "";
    s_walk_t w = {.f = f};
    scan_stats_t stats;
    enum scan_root state = SCAN_ROOT_OK;
    s_writer_t wr = {.m = m, .f = f};
    wire_buf_t buf;
    mesh_err_t err = MESH_OK;
    if (changed) {
        *changed = false;
    }
    if (!f->loaded) {
        s_load(m, f);
    }
    if (f->more && f->nlater && f->state == SCAN_ROOT_OK && f->root_fd >= 0) {
        return s_scan_later(m, f, budget_ms, max_files, changed);
    }
    s_reading_end(f);
    s_recs_free(f->later, f->nlater); /* (a whole walk: what is left to read comes anew) */
    f->later = NULL;
    f->nlater = 0;
    f->dirty = false;
    f->more = false;
    if (f->root_fd >= 0) {
        close(f->root_fd);
        f->root_fd = -1;
    }
    state = scan_root_check(f->root, f->id, &f->root_fd, why, sizeof why);
    if (state == SCAN_ROOT_OK && !s_ignore_load(m, f)) {
        goto out; /* (which paths to leave out is unknown: take nothing in, nothing as gone) */
    }
    if (state == SCAN_ROOT_OK) {
        err = scan_walk(f->root, f->id, s_on_entry, &w, &stats, &state, why, sizeof why);
        /* reading gets the budget after the walk (the next parts do not walk again) */
        until = budget_ms ? node_now_ms() + (int64_t)budget_ms : 0;
    }
    s_root_state(m, f, state, why);
    if (state != SCAN_ROOT_OK || err != MESH_OK) {
        /* a walk that did not finish yields part of the folder only: take nothing as
         * deleted, write nothing */
        goto out;
    }
    wire_buf_init(&buf);
    for (size_t i = 0; err == MESH_OK && i < w.n; i++) {
        index_rec_t *r = &w.list[i];
        bool stable = true;
        if (!w.fresh[i]) {
            continue;
        }
        /* past the budget, content is read by the next part: a file not read now keeps
         * its old record (or none), so it is neither written nor taken as deleted */
        bool later = r->type == SCAN_FILE && spent;
        f->more |= later;
        nlater += later;
        if (r->type == SCAN_FILE && !later) {
            bool done = true;
            err = s_read_blocks(f, r, until, &stable, &done);
            nread++;
            /* a file not read whole within the budget: read on by the next part, as the
             * first of f->later (no file was left for later before it) */
            later = !done;
            f->more |= later;
            nlater += later;
            spent = later || (until && node_now_ms() >= until) || (max_files && nread >= max_files);
        }
        bool skip = err == MESH_ETOOBIG || err == MESH_EIO;
        if (skip) {
            /* past the cap of one entry (§18.2) or unreadable: left out until it changes
             * (the next full rescan reads it again) */
            node_log(m, MESH_LOG_WARN, "folder %s: %s is %s: not synced", f->id, r->path,
                     err == MESH_ETOOBIG ? "too large for one entry" : "unreadable");
            err = MESH_OK;
            stable = false;
        }
        if (err != MESH_OK || !stable || later) {
            /* changing while read: keep the old record, look again soon */
            const index_rec_t *old = index_find(f, r->path);
            if (later && err == MESH_OK) {
                err = s_later_push(f, r); /* (read by the next part) */
            }
            index_rec_release(r);
            f->dirty |= !skip && !later;
            if (old) {
                w.fresh[i] = false;
                err = err == MESH_OK && (r->path = strdup(old->path)) ? MESH_OK : MESH_ENOMEM;
                r->type = old->type; /* marks it kept as it was (below) */
                r->size = UINT64_MAX;
            }
            continue;
        }
        err = s_write_rec(&wr, r, &buf);
    }
    wire_buf_release(&buf);
    s_dir_drop(f);
    if (f->more) {
        node_log(m, MESH_LOG_DEBUG, "folder %s: scan part: %zu file(s) read, %zu for the next",
                 f->id, nread, nlater);
    }
    w.nfresh = w.n;
    size_t kept = 0; /* drop the new files that changed while read (no record yet) */
    for (size_t i = 0; i < w.n; i++) {
        if (w.list[i].path) {
            w.list[kept++] = w.list[i];
        }
    }
    w.n = kept;
    /* what the walk did not see: deleted, unless under a directory that could not be read */
    if (w.n > 1) { /* (qsort's array may not be NULL, even for 0 items) */
        qsort(w.list, w.n, sizeof *w.list, s_rec_cmp);
    }
    for (size_t i = 0; err == MESH_OK && i < f->nrecs; i++) {
        index_rec_t key = {.path = f->recs[i].path};
        index_rec_t *now = w.n ? bsearch(&key, w.list, w.n, sizeof key, s_rec_cmp) : NULL;
        if (now && now->size == UINT64_MAX) { /* kept as it was: copy the old record */
            free(now->path);
            *now = f->recs[i];
            memset(&f->recs[i], 0, sizeof f->recs[i]);
            f->recs[i].path = strdup(now->path);
            err = f->recs[i].path ? MESH_OK : MESH_ENOMEM;
        } else if (!now && s_under_unlisted(&w, key.path)) {
            /* keep it: unknown, not deleted */
            index_rec_t *grown = realloc(w.list, (w.n + 1) * sizeof *grown);
            err = grown ? MESH_OK : MESH_ENOMEM;
            if (grown) {
                w.list = grown;
                w.list[w.n++] = f->recs[i];
                memset(&f->recs[i], 0, sizeof f->recs[i]);
                f->recs[i].path = strdup(w.list[w.n - 1].path);
            }
        } else if (!now && index_ignored(f, key.path, f->recs[i].type == SCAN_DIR)) {
            /* ignored now: its record goes, and no delete is sent (it stays elsewhere) */
        } else if (!now && s_stored_is(m, f, key.path, NULL, 0, NULL)) {
            err = s_write(&wr, key.path, NULL, 0, &f->recs[i], NULL, true);
        }
    }
    if (err == MESH_OK) {
        err = s_commit(&wr);
    }
    /* the records changed when an entry is new or changed, or one is gone */
    bool recs_changed = w.n != f->nrecs;
    for (size_t i = 0; i < w.nfresh && !recs_changed; i++) {
        recs_changed = w.fresh[i];
    }
    if (err == MESH_OK) {
        if (w.n > 1) { /* (qsort's array may not be NULL, even for 0 items) */
            qsort(w.list, w.n, sizeof *w.list, s_rec_cmp);
        }
        s_recs_free(f->recs, f->nrecs);
        f->recs = w.list;
        f->nrecs = w.n;
        w.list = NULL;
        w.n = 0;
        if (recs_changed) {
            f->generation++;
            /* (between the parts of a scan the loop keeps them, at most once in a while) */
            err = f->more ? MESH_OK : index_save(m, f);
        }
    }
    if (changed) {
        *changed = wr.wrote;
    }
out:
    mesh_txn_abort(wr.txn);
    s_recs_free(w.list, w.n);
    free(w.fresh);
    for (size_t i = 0; i < w.nunlisted; i++) {
        free(w.unlisted[i]);
    }
    free(w.unlisted);
    if (err != MESH_OK) {
        f->more = false; /* (a failed scan is not resumed at once: at the next due scan) */
        return node_fail(m, err, "folder %s: scan: %s", f->id, mesh_strerror(err));
    }
    return MESH_OK;
}

void
index_folder_free(folder_t *f)
{
    if (!f) {
        return;
    }
    s_recs_free(f->recs, f->nrecs);
    s_reading_end(f);
    s_dir_drop(f);
    s_recs_free(f->later, f->nlater);
    if (f->root_fd >= 0) {
        close(f->root_fd);
    }
    ignore_free(f->ignore);
    free(f->root);
    free(f);
}
