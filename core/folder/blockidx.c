/* core/folder/blockidx.c: the block index, a hash table (linear probing, deletion by
 * backward shift) of (file, block) pairs keyed by the block's hash, over a copy of each
 * file's block list; kept in step with each folder's records by a merge of the two sorted
 * lists when the folder's generation moved, so that an update costs a walk of the records
 * and the work of the files that changed, never a rebuild. A large file's pieces (§25) are
 * in the table too, answered from its block list.
 * Layer: core (folder). Third-party: none. SPDX-License-Identifier: MIT */
#include "core/folder/blockidx.h"

#include "core/base/node.h"
#include "crypto/hash.h"
#include "fs/path.h"

#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

typedef struct s_file {
    const folder_t *f; /* NULL: a free slot */
    char *path;
    wire_fentry_block_t *blocks;
    uint64_t *offsets;
    size_t nblocks;
    wire_fentry_piece_t *pieces; /* a large file's pieces (§25), NULL otherwise */
    uint32_t *first;             /* the first block of each */
    size_t npieces;
} s_file_t;

/* One folder as indexed: its files with blocks, by path. */
typedef struct s_fold {
    const folder_t *f;
    uint64_t generation;
    uint32_t *files;
    size_t n;
} s_fold_t;

/* A directory an answer's file was opened in, kept open for the answers after it
 * (blockidx_answer): the files of a directory are asked one after another, and each opened
 * by its path cost three opens and three closes; from a kept directory, one. Kept at most
 * S_DIR_KEEP_MS from its open, and only while its folder's records and root are the same.
 * The file last answered from in it is kept open with it, while its name there is still that
 * inode (an fstatat, no link followed): a large file's blocks are asked one after another (a
 * 512 MiB file: ~3,600 answers, each an openat and a close replaced by an fstatat). */
#define S_DIRS_KEPT   4u
#define S_DIR_KEEP_MS 1000
typedef struct s_dir {
    const folder_t *f;
    uint64_t generation; /* f's, when opened */
    int root_fd;         /* f's, when opened */
    int fd1;             /* the descriptor + 1; 0: none */
    int file1;           /* the file last answered from in it: its descriptor + 1; 0: none */
    size_t file;         /* and its index in files (its folder's update closes it first), */
    dev_t file_dev;      /* and its inode: answered from only while its name still is it */
    ino_t file_ino;
    int64_t opened_ms;
    size_t len; /* path[0..len): the directory, relative to the root ("" for the root) */
    char path[PATH_MAX];
} s_dir_t;

struct blockidx {
    s_dir_t dirs[S_DIRS_KEPT];
    size_t dir_next; /* the slot a directory is kept in next */
    s_file_t *files;
    size_t nfiles;
    uint32_t *spare; /* free file slots */
    size_t nspare;
    s_fold_t *folds;
    size_t nfolds;
    uint64_t *tab; /* 0 empty, else (file + 1) << 32 | block, or | S_PIECE | piece */
    size_t cap;    /* slots (a power of two) */
    size_t used;
};

#define S_PIECE 0x80000000u /* a table value's mark of a piece */

blockidx_t *
blockidx_new(void)
{
    return calloc(1, sizeof(blockidx_t));
}

static const uint8_t *
s_hash_of(const blockidx_t *bi, uint64_t v)
{
    const s_file_t *file = &bi->files[(v >> 32) - 1];
    return v & S_PIECE ? file->pieces[v & ~S_PIECE & 0xffffffffu].hash
                       : file->blocks[v & 0xffffffffu].hash;
}

static size_t
s_home(const blockidx_t *bi, const uint8_t *hash)
{
    uint64_t h;
    memcpy(&h, hash, sizeof h); /* (a hash's bytes are uniform) */
    return (size_t)h & (bi->cap - 1);
}

static void
s_put(blockidx_t *bi, uint64_t v)
{
    size_t i = s_home(bi, s_hash_of(bi, v));
    while (bi->tab[i]) {
        i = (i + 1) & (bi->cap - 1);
    }
    bi->tab[i] = v;
    bi->used++;
}

/* Room for more places: the table at most half full. */
static mesh_err_t
s_reserve(blockidx_t *bi, size_t more)
{
    if (2 * (bi->used + more) <= bi->cap) {
        return MESH_OK;
    }
    size_t cap = bi->cap ? bi->cap : 1024;
    while (2 * (bi->used + more) > cap) {
        cap *= 2;
    }
    uint64_t *old = bi->tab, *tab = calloc(cap, sizeof *tab);
    if (!tab) {
        return MESH_ENOMEM;
    }
    size_t oldcap = bi->cap;
    bi->tab = tab;
    bi->cap = cap;
    bi->used = 0;
    for (size_t i = 0; i < oldcap; i++) {
        if (old[i]) {
            s_put(bi, old[i]);
        }
    }
    free(old);
    return MESH_OK;
}

/* Remove the place v (present). */
static void
s_take(blockidx_t *bi, uint64_t v)
{
    size_t mask = bi->cap - 1, i = s_home(bi, s_hash_of(bi, v));
    while (bi->tab[i] != v) {
        i = (i + 1) & mask;
    }
    bi->tab[i] = 0;
    bi->used--;
    for (size_t j = (i + 1) & mask; bi->tab[j]; j = (j + 1) & mask) {
        size_t home = s_home(bi, s_hash_of(bi, bi->tab[j]));
        /* move j back into the hole at i unless its home lies cyclically in (i, j] */
        if (((j - home) & mask) >= ((j - i) & mask)) {
            bi->tab[i] = bi->tab[j];
            bi->tab[j] = 0;
            i = j;
        }
    }
}

static void
s_file_drop(blockidx_t *bi, uint32_t id)
{
    s_file_t *file = &bi->files[id];
    for (size_t b = 0; b < file->nblocks; b++) {
        s_take(bi, ((uint64_t)id + 1) << 32 | b);
    }
    for (size_t k = 0; k < file->npieces; k++) {
        s_take(bi, ((uint64_t)id + 1) << 32 | S_PIECE | k);
    }
    free(file->path);
    free(file->blocks);
    free(file->offsets);
    free(file->pieces);
    free(file->first);
    memset(file, 0, sizeof *file);
    bi->spare[bi->nspare++] = id; /* (spare has room for every file) */
}

/* Index rec (a file with blocks) of f; its slot into *id. */
static mesh_err_t
s_file_add(blockidx_t *bi, const folder_t *f, const index_rec_t *rec, uint32_t *id)
{
    if (!bi->nspare) {
        size_t n = bi->nfiles ? 2 * bi->nfiles : 256;
        s_file_t *files = realloc(bi->files, n * sizeof *files);
        if (files) {
            bi->files = files;
        }
        uint32_t *spare = files ? realloc(bi->spare, n * sizeof *spare) : NULL;
        if (!spare) {
            return MESH_ENOMEM;
        }
        bi->spare = spare;
        for (size_t i = n; i-- > bi->nfiles;) {
            memset(&bi->files[i], 0, sizeof bi->files[i]);
            bi->spare[bi->nspare++] = (uint32_t)i;
        }
        bi->nfiles = n;
    }
    s_file_t file = {.f = f, .nblocks = rec->nblocks};
    if (rec->nblocks > WIRE_FENTRY_INLINE_MAX &&
        wire_fentry_cut(rec->blocks, rec->nblocks, &file.pieces, &file.npieces) != MESH_OK) {
        return MESH_ENOMEM; /* (a record's blocks are within the cap) */
    }
    file.path = strdup(rec->path);
    file.blocks = malloc(rec->nblocks * sizeof *file.blocks);
    file.offsets = malloc(rec->nblocks * sizeof *file.offsets);
    file.first = malloc((file.npieces + 1) * sizeof *file.first);
    if (!file.path || !file.blocks || !file.offsets || !file.first ||
        s_reserve(bi, rec->nblocks + file.npieces) != MESH_OK) {
        free(file.path);
        free(file.blocks);
        free(file.offsets);
        free(file.pieces);
        free(file.first);
        return MESH_ENOMEM;
    }
    for (size_t k = 0, b = 0; k < file.npieces; b += file.pieces[k++].nblocks) {
        file.first[k] = (uint32_t)b;
    }
    memcpy(file.blocks, rec->blocks, rec->nblocks * sizeof *file.blocks);
    uint64_t off = 0;
    for (size_t b = 0; b < rec->nblocks; b++) {
        file.offsets[b] = off;
        off += rec->blocks[b].size;
    }
    *id = bi->spare[--bi->nspare];
    bi->files[*id] = file;
    for (size_t b = 0; b < rec->nblocks; b++) {
        s_put(bi, ((uint64_t)*id + 1) << 32 | b);
    }
    for (size_t k = 0; k < file.npieces; k++) {
        s_put(bi, ((uint64_t)*id + 1) << 32 | S_PIECE | k);
    }
    return MESH_OK;
}

/* Close kept directory d, and its kept file. */
static void
s_dir_close(s_dir_t *d)
{
    if (d->file1) {
        close(d->file1 - 1);
        d->file1 = 0;
    }
    if (d->fd1) {
        close(d->fd1 - 1);
        d->fd1 = 0;
    }
}

/* Close the kept directories of f (of every folder: f NULL). */
static void
s_dirs_close(blockidx_t *bi, const folder_t *f)
{
    for (size_t i = 0; i < S_DIRS_KEPT; i++) {
        s_dir_t *d = &bi->dirs[i];
        if (d->fd1 && (!f || d->f == f)) {
            s_dir_close(d);
        }
    }
}

static void
s_fold_drop(blockidx_t *bi, size_t k)
{
    s_dirs_close(bi, bi->folds[k].f);
    for (size_t i = 0; i < bi->folds[k].n; i++) {
        s_file_drop(bi, bi->folds[k].files[i]);
    }
    free(bi->folds[k].files);
    bi->folds[k] = bi->folds[--bi->nfolds];
}

void
blockidx_forget(blockidx_t *bi, const folder_t *f)
{
    for (size_t k = 0; bi && k < bi->nfolds; k++) {
        if (bi->folds[k].f == f) {
            s_fold_drop(bi, k);
            return;
        }
    }
}

static void
s_clear(blockidx_t *bi)
{
    while (bi->nfolds) {
        s_fold_drop(bi, bi->nfolds - 1);
    }
    free(bi->folds);
    free(bi->files);
    free(bi->spare);
    free(bi->tab);
    s_dirs_close(bi, NULL);
    memset(bi, 0, sizeof *bi);
}

void
blockidx_free(blockidx_t *bi)
{
    if (bi) {
        s_clear(bi);
        free(bi);
    }
}

/* Bring fold's files in step with f's records (both sorted by path). */
static mesh_err_t
s_fold_update(blockidx_t *bi, s_fold_t *fold, const folder_t *f)
{
    size_t cap = 0;
    for (size_t r = 0; r < f->nrecs; r++) {
        cap += f->recs[r].nblocks > 0;
    }
    uint32_t *now = malloc((cap + 1) * sizeof *now);
    if (!now) {
        return MESH_ENOMEM;
    }
    size_t i = 0, r = 0, n = 0;
    mesh_err_t err = MESH_OK;
    while (err == MESH_OK && (i < fold->n || r < f->nrecs)) {
        const index_rec_t *rec = r < f->nrecs ? &f->recs[r] : NULL;
        if (rec && !rec->nblocks) {
            r++;
            continue;
        }
        const s_file_t *file = i < fold->n ? &bi->files[fold->files[i]] : NULL;
        int c = !file ? 1 : !rec ? -1 : strcmp(file->path, rec->path);
        if (c == 0 && file->nblocks == rec->nblocks &&
            memcmp(file->blocks, rec->blocks, rec->nblocks * sizeof *rec->blocks) == 0) {
            now[n++] = fold->files[i++]; /* the same blocks */
            r++;
            continue;
        }
        if (c <= 0) {
            s_file_drop(bi, fold->files[i++]); /* gone, or other blocks now */
        }
        if (c >= 0) {
            err = s_file_add(bi, f, rec, &now[n]);
            n += err == MESH_OK;
            r++;
        }
    }
    while (i < fold->n) { /* (after an error: what was not walked yet) */
        now[n++] = fold->files[i++];
    }
    free(fold->files);
    fold->files = now;
    fold->n = n;
    if (err == MESH_OK) {
        fold->generation = f->generation;
    }
    return err;
}

mesh_err_t
blockidx_update(blockidx_t *bi, folder_t *const *folders, size_t n)
{
    for (size_t k = 0; k < bi->nfolds;) { /* folders no longer listed */
        bool listed = false;
        for (size_t i = 0; i < n && !listed; i++) {
            listed = folders[i] == bi->folds[k].f;
        }
        if (listed) {
            k++;
        } else {
            s_fold_drop(bi, k);
        }
    }
    mesh_err_t err = MESH_OK;
    for (size_t i = 0; err == MESH_OK && i < n; i++) {
        s_fold_t *fold = NULL;
        for (size_t k = 0; k < bi->nfolds && !fold; k++) {
            fold = bi->folds[k].f == folders[i] ? &bi->folds[k] : NULL;
        }
        if (!fold) {
            s_fold_t *grown = realloc(bi->folds, (bi->nfolds + 1) * sizeof *grown);
            if (!grown) {
                err = MESH_ENOMEM;
                break;
            }
            bi->folds = grown;
            fold = &bi->folds[bi->nfolds++];
            *fold = (s_fold_t){.f = folders[i], .generation = folders[i]->generation - 1};
        }
        if (fold->generation != folders[i]->generation) {
            s_dirs_close(bi, folders[i]); /* (its records changed: its kept directories go) */
            err = s_fold_update(bi, fold, folders[i]);
        }
    }
    if (err != MESH_OK) {
        s_clear(bi);
    }
    return err;
}

bool
blockidx_has(const blockidx_t *bi, const uint8_t *hash)
{
    if (!bi || !bi->cap) {
        return false;
    }
    for (size_t i = s_home(bi, hash); bi->tab[i]; i = (i + 1) & (bi->cap - 1)) {
        if (memcmp(s_hash_of(bi, bi->tab[i]), hash, WIRE_FENTRY_HASH) == 0) {
            return true;
        }
    }
    return false;
}

/* The bytes of file's piece k (§25), from its block list (what the scan read: the piece
 * names blocks, each checked when it is read). */
static mesh_err_t
s_piece_read(const s_file_t *file, size_t k, uint8_t *buf, size_t cap, size_t *len)
{
    wire_buf_t out;
    wire_buf_init(&out);
    mesh_err_t err =
        wire_fentry_piece_encode(file->blocks + file->first[k], file->pieces[k].nblocks, &out);
    if (err == MESH_OK && out.len > cap) {
        err = MESH_ETOOBIG;
    }
    if (err == MESH_OK) {
        memcpy(buf, out.data, out.len);
        *len = out.len;
    }
    wire_buf_release(&out);
    return err;
}

/* Does the disk still hold file's bytes as scanned? Its record (of the generation bi
 * indexed) says the same size, mtime, ctime and inode as fd: the rule by which a rescan
 * reads no content (§18.3), so the block needs no hash. */
static bool
s_unchanged(const blockidx_t *bi, const s_file_t *file, int fd)
{
    struct stat st;
    const index_rec_t *rec = index_find(file->f, file->path);
    bool current = false;
    for (size_t i = 0; i < bi->nfolds && !current; i++) {
        current = bi->folds[i].f == file->f && bi->folds[i].generation == file->f->generation;
    }
    return current && rec && rec->type == WIRE_FENTRY_FILE && fstat(fd, &st) == 0 &&
           (uint64_t)st.st_size == rec->size && (uint64_t)st.st_ino == rec->inode &&
           (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec == rec->mtime_ns &&
           (int64_t)st.st_ctim.tv_sec * 1000000000 + st.st_ctim.tv_nsec == rec->ctime_ns;
}

/* The kept directory of file's path, opened (path_open_parent: no link in the way) and kept
 * when none is; NULL when it cannot be. (A slot too old or of another generation is let go.) */
static s_dir_t *
s_dir_of(blockidx_t *bi, const s_file_t *file)
{
    const folder_t *f = file->f;
    const char *slash = strrchr(file->path, '/');
    size_t len = slash ? (size_t)(slash - file->path) : 0;
    int64_t now = node_now_ms();
    for (size_t i = 0; i < S_DIRS_KEPT; i++) {
        s_dir_t *d = &bi->dirs[i];
        if (d->fd1 && (now - d->opened_ms > S_DIR_KEEP_MS || now < d->opened_ms ||
                       d->f->generation != d->generation || d->f->root_fd != d->root_fd)) {
            s_dir_close(d);
        }
        if (d->fd1 && d->f == f && d->len == len && memcmp(d->path, file->path, len) == 0) {
            return d;
        }
    }
    s_dir_t *d = &bi->dirs[bi->dir_next++ % S_DIRS_KEPT];
    int fd = -1;
    const char *name = NULL;
    if (len >= sizeof d->path ||
        path_open_parent(f->root_fd, file->path, false, &fd, &name, NULL, 0) != MESH_OK) {
        return NULL;
    }
    s_dir_close(d);
    *d = (s_dir_t){.f = f,
                   .generation = f->generation,
                   .root_fd = f->root_fd,
                   .fd1 = fd + 1,
                   .opened_ms = now,
                   .len = len};
    memcpy(d->path, file->path, len);
    return d;
}

/* Open file (bi->files[id]) for an answer: its last component in its kept directory
 * (O_NOFOLLOW: a link there is refused, as path_open does), kept open there (*owned false:
 * not to be closed), or by its path when kept is NULL (*owned true). -1: it cannot be. */
static int
s_open_file(blockidx_t *kept, const s_file_t *file, size_t id, bool *owned)
{
    int fd = -1;
    *owned = !kept;
    if (!kept) {
        return path_open(file->f->root_fd, file->path, O_RDONLY, 0, false, &fd, NULL, 0) == MESH_OK
                   ? fd
                   : -1;
    }
    s_dir_t *d = path_check(file->path, strlen(file->path), NULL, 0) == MESH_OK
                     ? s_dir_of(kept, file)
                     : NULL;
    if (!d) {
        return -1;
    }
    const char *slash = strrchr(file->path, '/'), *name = slash ? slash + 1 : file->path;
    struct stat st;
    if (d->file1 && d->file == id && fstatat(d->fd1 - 1, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
        st.st_ino == d->file_ino && st.st_dev == d->file_dev) {
        return d->file1 - 1;
    }
    if (d->file1) {
        close(d->file1 - 1);
        d->file1 = 0;
    }
    fd = openat(d->fd1 - 1, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd >= 0 && fstat(fd, &st) == 0) {
        d->file1 = fd + 1;
        d->file = id;
        d->file_dev = st.st_dev;
        d->file_ino = st.st_ino;
    } else if (fd >= 0) {
        close(fd);
        fd = -1;
    }
    return fd;
}

/* blockidx_read and blockidx_answer: trust, with the stat check, the bytes of a file found
 * as scanned (only for an answer, kept: its asker checks every block it gets; its files are
 * opened in the directories kept there). */
static mesh_err_t
s_read(const blockidx_t *bi, blockidx_t *kept, const uint8_t *hash, uint8_t *buf, size_t cap,
       size_t *len)
{
    bool trust = kept != NULL;
    *len = 0;
    if (!bi || !bi->cap) {
        return MESH_ENOTFOUND;
    }
    for (size_t i = s_home(bi, hash); bi->tab[i]; i = (i + 1) & (bi->cap - 1)) {
        uint64_t v = bi->tab[i];
        const s_file_t *file = &bi->files[(v >> 32) - 1];
        size_t b = v & 0xffffffffu;
        int fd = -1;
        bool owned = true;
        if ((v & S_PIECE) && memcmp(s_hash_of(bi, v), hash, WIRE_FENTRY_HASH) == 0 &&
            s_piece_read(file, b & ~S_PIECE, buf, cap, len) == MESH_OK) {
            return MESH_OK;
        }
        if (v & S_PIECE) {
            continue;
        }
        uint8_t got[HASH_LEN];
        if (memcmp(file->blocks[b].hash, hash, WIRE_FENTRY_HASH) != 0 ||
            file->blocks[b].size > cap || file->f->root_fd < 0 ||
            (fd = s_open_file(kept, file, (v >> 32) - 1, &owned)) < 0) {
            continue;
        }
        size_t size = file->blocks[b].size;
        ssize_t got_n = pread(fd, buf, size, (off_t)file->offsets[b]);
        bool trusted = trust && got_n == (ssize_t)size && s_unchanged(bi, file, fd);
        if (owned) {
            close(fd);
        }
        if (got_n != (ssize_t)size) {
            continue;
        }
        if (!trusted) {
            hash_tagged(HASH_TAG_BLOCK, buf, size, got);
        }
        if (trusted || memcmp(got, hash, HASH_LEN) == 0) {
            *len = size;
            return MESH_OK;
        }
    }
    return MESH_ENOTFOUND;
}

mesh_err_t
blockidx_read(const blockidx_t *bi, const uint8_t *hash, uint8_t *buf, size_t cap, size_t *len)
{
    return s_read(bi, NULL, hash, buf, cap, len);
}

mesh_err_t
blockidx_answer(blockidx_t *bi, const uint8_t *hash, uint8_t *buf, size_t cap, size_t *len)
{
    *len = 0;
    return bi ? s_read(bi, bi, hash, buf, cap, len) : MESH_ENOTFOUND;
}
