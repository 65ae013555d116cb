/* core/folder/transfer.c: pending transfers and their temp files (docs/PROTOCOL.md §18.6).
 * A temp file is .meshsync/tmp/r<hash of path and entry>; one a cut transfer left is gone
 * on from after a restart (its blocks checked); links' t<n> files are removed when the temp
 * directory is opened.
 * Layer: core (folder). Third-party: none. SPDX-License-Identifier: MIT */
#include "core/folder/transfer.h"

#include "core/base/node.h"
#include "crypto/hash.h"
#include "fs/path.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* A file became whole. */
static void
s_complete(transfer_t *t)
{
    if (t->ncomplete++ == 0) {
        t->complete_ms = node_now_ms();
    }
}

/* A path's key in t->key (FNV-1a): a transfer is found by one pass over those keys, not a
 * string compare with each of up to TRANSFER_MAX paths. */
static uint64_t
s_key(const char *path)
{
    return hash_fnv(HASH_FNV_START, path, strlen(path));
}

uint64_t
transfer_held_bytes(const transfer_t *t)
{
    uint64_t held = 0;
    for (size_t i = 0; i < t->n; i++) {
        const transfer_file_t *p = &t->file[i];
        for (size_t b = 0; p->have && b < p->e.nblocks; b++) {
            held += p->have[b] ? p->e.blocks[b].size : 0;
        }
    }
    return held;
}

size_t
transfer_find(const transfer_t *t, const char *path)
{
    uint64_t key = s_key(path);
    for (size_t i = 0; i < t->n; i++) {
        if (t->key[i] == key && strcmp(t->file[i].path, path) == 0) {
            return i;
        }
    }
    return t->n;
}

void
transfer_drop(transfer_t *t, size_t i, bool unlink_tmp)
{
    transfer_file_t *p = &t->file[i];
    if (p->fd >= 0) {
        close(p->fd);
        t->nopen--;
    }
    if (unlink_tmp && t->tmp_fd >= 0) {
        unlinkat(t->tmp_fd, p->tmp, 0);
    }
    t->ncomplete -= p->missing == 0;
    t->bytes -= p->e.size;
    free(p->path);
    free(p->value);
    free(p->offsets);
    free(p->have);
    wire_fentry_release(&p->e);
    t->key[i] = t->key[t->n - 1];
    t->file[i] = t->file[--t->n];
    t->progress = true;
}

bool
transfer_requeue(transfer_t *t, const char *path, const uint8_t *value, size_t len)
{
    return paths_push(&t->later, path, strlen(path), value, len, false) == MESH_OK;
}

bool
transfer_open(transfer_t *t, int root_fd)
{
    if (t->tmp_fd >= 0) {
        return true;
    }
    int ms = openat(root_fd, PATH_PRIVATE, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (ms < 0) {
        return false;
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
    t->tmp_fd = fd;
    return fd >= 0;
}

void
transfer_release(transfer_t *t)
{
    while (t->n) {
        transfer_drop(t, 0, false); /* (temp files kept: the next start goes on from them) */
    }
    if (t->tmp_fd >= 0) {
        close(t->tmp_fd);
    }
    t->tmp_fd = -1;
    paths_free(&t->later);
}

bool
transfer_full(const transfer_t *t, uint64_t size)
{
    return t->n == TRANSFER_MAX || (t->n && t->bytes + size > TRANSFER_BYTES_MAX);
}

void
transfer_entry_hash(const char *path, const uint8_t *value, size_t len, uint8_t out[HASH_LEN])
{
    hash_state_t st;
    hash_init(&st, HASH_TAG_KEY);
    hash_update(&st, path, strlen(path) + 1);
    hash_update(&st, value, len);
    hash_final(&st, out);
}

void
transfer_tmp_name(const char *path, const uint8_t *value, size_t len, char out[TRANSFER_TMP_NAME])
{
    uint8_t h[HASH_LEN];
    transfer_entry_hash(path, value, len, h);
    out[0] = 'r';
    for (size_t i = 0; i < 16; i++) {
        snprintf(out + 1 + 2 * i, 3, "%02x", h[i]);
    }
}

/* ---- temp files ---- */

/* p's temp file for writing: its open descriptor, or opened now (*opened: close it after). */
static int
s_tmp_fd(const transfer_t *t, const transfer_file_t *p, bool *opened)
{
    *opened = p->fd < 0;
    return p->fd >= 0 ? p->fd : openat(t->tmp_fd, p->tmp, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
}

/* Make lazy p's temp file now (its block came): anything left there by a cut transfer is
 * replaced (one block: nothing to go on from). */
static int
s_tmp_make(const transfer_t *t, transfer_file_t *p, bool *opened)
{
    const int create = O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
    int fd = openat(t->tmp_fd, p->tmp, create, 0600);
    if (fd < 0 && errno == EEXIST) {
        (void)unlinkat(t->tmp_fd, p->tmp, 0);
        fd = openat(t->tmp_fd, p->tmp, create, 0600);
    }
    p->lazy = fd < 0;
    *opened = fd >= 0;
    return fd;
}

/* Give whole file p, open at fd, its mode and mtime. */
static bool
s_seal_fd(int fd, const transfer_file_t *p)
{
    return blockwork_seal_fd(fd, p->e.mode, p->e.mtime_ns);
}

bool
transfer_seal(const transfer_t *t, size_t i)
{
    const transfer_file_t *p = &t->file[i];
    if (p->sealed) {
        return true;
    }
    bool opened = false;
    int fd = s_tmp_fd(t, p, &opened);
    bool ok = s_seal_fd(fd, p);
    if (opened && fd >= 0) {
        close(fd);
    }
    return ok;
}

bool
transfer_due(const transfer_t *t, bool all, size_t flush_files, int64_t flush_ms, int64_t busy_ms)
{
    if (!t->ncomplete) {
        return false;
    }
    int64_t waited = node_now_ms() - t->complete_ms;
    return all || t->ncomplete >= flush_files ||
           (t->ncomplete == t->n && t->bytes >= TRANSFER_EARLY_BYTES) ||
           waited >= (t->ncomplete == t->n ? flush_ms : busy_ms);
}

static int
s_name_cmp(const void *a, const void *b)
{
    return strcmp(a, b);
}

void
transfer_sweep(const transfer_t *t, const paths_t *keep)
{
    char(*names)[TRANSFER_TMP_NAME] = malloc((keep->n + 1) * sizeof *names);
    size_t n = 0;
    if (!names || t->tmp_fd < 0) {
        free(names);
        return;
    }
    for (size_t i = 0; i < keep->n; i++) {
        if (keep->v[i].value) {
            transfer_tmp_name(keep->v[i].path, keep->v[i].value, keep->v[i].len, names[n++]);
        }
    }
    if (n > 1) {
        qsort(names, n, sizeof *names, s_name_cmp);
    }
    int dup_fd = dup(t->tmp_fd);
    DIR *d = dup_fd >= 0 ? fdopendir(dup_fd) : NULL;
    for (struct dirent *de; d && (de = readdir(d));) {
        bool kept =
            de->d_name[0] != 'r' || (n && bsearch(de->d_name, names, n, sizeof *names, s_name_cmp));
        for (size_t i = 0; i < t->n && !kept; i++) {
            kept = strcmp(t->file[i].tmp, de->d_name) == 0;
        }
        if (!kept) {
            (void)unlinkat(t->tmp_fd, de->d_name, 0);
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
s_tmp_file(const transfer_t *t, const transfer_file_t *p, bool *resumed)
{
    struct stat st;
    const int create = O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
    int fd = openat(t->tmp_fd, p->tmp, create, 0600); /* (most often none is there) */
    *resumed = false;
    if (fd < 0 && errno == EEXIST) {
        fd = openat(t->tmp_fd, p->tmp, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
        *resumed = fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_nlink == 1 &&
                   (uint64_t)st.st_size == p->e.size;
        if (*resumed) {
            return fd;
        }
        if (fd >= 0) {
            close(fd);
        }
        (void)unlinkat(t->tmp_fd, p->tmp, 0);
        fd = openat(t->tmp_fd, p->tmp, create, 0600);
    }
    /* its size at once when it comes in several blocks (a cut transfer is gone on from only
     * when its size is right); one block's write gives it its size */
    if (fd >= 0 && p->e.nblocks > 1 && ftruncate(fd, (off_t)p->e.size) != 0) {
        close(fd);
        fd = -1;
    }
    return fd;
}

/* ---- starting a transfer ---- */

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

/* A block of want's hash and size from the temp file of another file that is whole
 * (waiting to be put in place), read into buf and checked: a file renamed or copied from
 * one that is being put in place right now (its old path gone, its new one not yet in the
 * block index) still moves no data. */
static bool
s_from_whole(const transfer_t *t, const transfer_file_t *self, const wire_fentry_block_t *want,
             uint8_t *buf)
{
    for (size_t j = 0; t->ncomplete && j < t->n; j++) {
        const transfer_file_t *q = &t->file[j];
        for (size_t b = 0; q != self && q->missing == 0 && b < q->e.nblocks; b++) {
            if (q->e.blocks[b].size != want->size ||
                memcmp(q->e.blocks[b].hash, want->hash, WIRE_FENTRY_HASH) != 0) {
                continue;
            }
            bool opened = false;
            int fd = s_tmp_fd(t, q, &opened);
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

/* Fill p's temp file (open) with what is held here: its own blocks from a cut transfer
 * (resumed), the block index's, a whole file's. Returns the blocks kept from a cut one. */
static size_t
s_fill(const transfer_t *t, const blockidx_t *bi, transfer_file_t *p, bool resumed, uint8_t *buf)
{
    size_t kept = 0;
    uint64_t off = 0;
    for (size_t i = 0; i < p->e.nblocks; i++) {
        const wire_fentry_block_t *b = &p->e.blocks[i];
        size_t len = b->size;
        p->offsets[i] = off;
        off += b->size;
        if (resumed && s_block_at(p->fd, p->offsets[i], b, buf)) {
            p->have[i] = true; /* (written before the cut) */
            kept++;
        } else if (blockidx_read(bi, b->hash, buf, WIRE_FENTRY_BLOCK_MAX, &len) == MESH_OK &&
                   len == b->size &&
                   pwrite(p->fd, buf, len, (off_t)p->offsets[i]) == (ssize_t)len) {
            p->have[i] = true;
        } else if (s_from_whole(t, p, b, buf) &&
                   pwrite(p->fd, buf, b->size, (off_t)p->offsets[i]) == (ssize_t)b->size) {
            p->have[i] = true;
        } else {
            p->missing++;
        }
    }
    return kept;
}

/* A new file at the end of t (path and value copied, e taken): NULL when out of memory. */
static transfer_file_t *
s_add(transfer_t *t, const char *path, const uint8_t *value, size_t len, wire_fentry_t *e)
{
    transfer_file_t *p = &t->file[t->n];
    memset(p, 0, sizeof *p);
    p->fd = -1;
    p->id = ++t->next_id;
    t->key[t->n] = s_key(path);
    transfer_tmp_name(path, value, len, p->tmp);
    p->path = strdup(path);
    p->value = malloc(len ? len : 1);
    p->offsets = calloc(e->nblocks + 1, sizeof *p->offsets);
    p->have = calloc(e->nblocks + 1, sizeof *p->have);
    t->n++;
    p->e = *e;
    memset(e, 0, sizeof *e); /* the file owns it now */
    t->bytes += p->e.size;
    if (!p->path || !p->value || !p->offsets || !p->have) {
        transfer_drop(t, t->n - 1, false);
        return NULL;
    }
    memcpy(p->value, value, len);
    p->value_len = len;
    return p;
}

mesh_err_t
transfer_start(mesh_t *m, const char *folder_id, transfer_t *t, const blockidx_t *bi,
               const char *path, const uint8_t *value, size_t len, wire_fentry_t *e)
{
    transfer_file_t *p = s_add(t, path, value, len, e);
    if (!p) {
        return MESH_ENOMEM;
    }
    if (p->e.nblocks == 1 && !blockidx_has(bi, p->e.blocks[0].hash)) {
        /* one block to fetch: the temp file is made when it comes (transfer_block), so a
         * pass that starts many small files makes no file yet and asks for their blocks */
        p->lazy = true;
        p->missing = 1;
        return MESH_OK;
    }
    uint8_t *buf = malloc(WIRE_FENTRY_BLOCK_MAX);
    bool resumed = false;
    p->fd = buf ? s_tmp_file(t, p, &resumed) : -1;
    if (p->fd < 0) {
        if (buf) {
            node_log(m, MESH_LOG_WARN, "folder %s: no temp file: %s", folder_id, strerror(errno));
        }
        transfer_drop(t, t->n - 1, buf != NULL); /* (out of memory: a cut one is kept) */
        mesh_err_t err = buf ? MESH_OK : MESH_ENOMEM;
        free(buf);
        return err;
    }
    size_t kept = s_fill(t, bi, p, resumed, buf);
    free(buf);
    p->sealed = p->missing == 0 && s_seal_fd(p->fd, p); /* (while it is open) */
    if (p->missing == 0 || t->nopen >= TRANSFER_OPEN_MAX) {
        close(p->fd); /* (opened again for each block: pending files are many, descriptors few) */
        p->fd = -1;
    } else {
        t->nopen++;
    }
    if (kept) {
        node_log(m, MESH_LOG_INFO,
                 "folder %s: resumed %s: %zu of %zu blocks from a cut transfer, %zu to fetch",
                 folder_id, p->path, kept, p->e.nblocks, p->missing);
    }
    if (p->missing == 0) {
        s_complete(t); /* (put in place by the caller's flush) */
    }
    return MESH_OK;
}

/* ---- blocks coming in ---- */

void
transfer_wanted(const transfer_t *t, void (*fn)(void *ctx, const uint8_t *hash), void *ctx)
{
    for (size_t i = 0; i < t->n; i++) {
        const transfer_file_t *p = &t->file[i];
        for (size_t b = 0; b < p->e.nblocks; b++) {
            if (!p->have[b]) {
                fn(ctx, p->e.blocks[b].hash);
            }
        }
    }
}

/* File i met a full disk (ENOSPC, EDQUOT) while a block was written: it is dropped (its
 * temp file removed, so the room it took is free again) and its path waits; t->full_ms
 * tells the caller to let no file start for a while, then only once there is room: its
 * blocks are not fetched again and again meanwhile. */
static void
s_disk_full(mesh_t *m, const char *folder_id, transfer_t *t, size_t i)
{
    transfer_file_t *p = &t->file[i];
    node_log(m, MESH_LOG_WARN,
             "folder %s: its disk is full while writing %s: the transfer is dropped (its temp "
             "file removed) and waits for room",
             folder_id, p->path);
    if (!transfer_requeue(t, p->path, p->value, p->value_len)) {
        t->lost = true; /* (out of memory: the caller looks at every path again) */
    }
    t->full_ms = node_now_ms();
    transfer_drop(t, i, true);
}

/* Write block (hash, data, len) into every place of file p that lacks it; *full: a write
 * found the disk full. Returns the places taken. */
static size_t
s_write_places(transfer_t *t, transfer_file_t *p, const uint8_t *hash, const uint8_t *data,
               size_t len, bool *full)
{
    int fd = -1;
    bool opened = false;
    size_t took = 0;
    for (size_t b = 0; b < p->e.nblocks; b++) {
        if (p->have[b] || p->e.blocks[b].size != len ||
            memcmp(p->e.blocks[b].hash, hash, WIRE_FENTRY_HASH) != 0) {
            continue;
        }
        if (fd < 0 && (fd = p->lazy ? s_tmp_make(t, p, &opened) : s_tmp_fd(t, p, &opened)) < 0) {
            break;
        }
        if (pwrite(fd, data, len, (off_t)p->offsets[b]) != (ssize_t)len) {
            *full |= errno == ENOSPC || errno == EDQUOT;
            continue;
        }
        p->have[b] = true;
        p->fetched++;
        took++;
        if (--p->missing == 0) {
            p->sealed = s_seal_fd(fd, p); /* (while it is open) */
            s_complete(t);
        }
    }
    if (opened && fd >= 0) {
        close(fd);
    }
    return took;
}

size_t
transfer_block(mesh_t *m, const char *folder_id, transfer_t *t, const uint8_t *hash,
               const uint8_t *data, size_t len)
{
    size_t took = 0;
    for (size_t i = 0; i < t->n;) {
        bool full = false;
        took += s_write_places(t, &t->file[i], hash, data, len, &full);
        if (full) {
            s_disk_full(m, folder_id, t, i); /* (file i is dropped: the next is at i now) */
            continue;
        }
        i++;
    }
    return took;
}

/* A descriptor of p's temp file that a worker may write and close: a duplicate of the one
 * kept open, or the file opened now; for a lazy one, a duplicate of the temp directory's, in
 * which the worker makes it (*make). -1 when none. */
static int
s_put_fd(const transfer_t *t, transfer_file_t *p, bool *make)
{
    bool opened = false;
    *make = p->lazy;
    if (p->fd >= 0 || p->lazy) {
        return fcntl(p->lazy ? t->tmp_fd : p->fd, F_DUPFD_CLOEXEC, 0);
    }
    return s_tmp_fd(t, p, &opened);
}

size_t
transfer_block_places(transfer_t *t, void *owner, blockwork_job_t *job)
{
    size_t added = 0;
    for (size_t i = 0; i < t->n; i++) {
        transfer_file_t *p = &t->file[i];
        size_t first = job->nputs, jobs = p->jobs;
        int fd = -1;
        bool make = false;
        for (size_t b = 0; b < p->e.nblocks; b++) {
            if (p->have[b] || p->e.blocks[b].size != job->len ||
                memcmp(p->e.blocks[b].hash, job->hash, WIRE_FENTRY_HASH) != 0) {
                continue;
            }
            if ((fd < 0 && (fd = s_put_fd(t, p, &make)) < 0) ||
                blockwork_job_put(job, fd, false, p->offsets[b], owner, p->id, b) != MESH_OK) {
                break; /* (the block is asked for again) */
            }
            if (make) { /* (a lazy file has one block: one place) */
                if (blockwork_job_make(job, p->tmp) != MESH_OK) {
                    job->nputs--;
                    break;
                }
                p->lazy = false; /* (made by the worker: made again if it could not) */
            }
            if (p->e.size >= TRANSFER_EARLY_BYTES) {
                blockwork_job_early(job);
            }
            p->jobs++;
            added++;
        }
        if (job->nputs > first) {
            job->puts[job->nputs - 1].close_fd = true; /* (its last place closes it) */
            if (jobs == 0 && job->nputs - first == p->missing) {
                /* (this job makes it whole: sealed by the worker before the close) */
                blockwork_job_seal(job, p->e.mode, p->e.mtime_ns);
            }
        } else if (fd >= 0) {
            close(fd);
        }
    }
    return added;
}

/* Remove the temp file name a worker made for a transfer dropped meanwhile, unless a
 * transfer of the same path and entry (the same name) started since: that one's. */
static void
s_unmade(const transfer_t *t, const char *name)
{
    for (size_t i = 0; i < t->n; i++) {
        if (strcmp(t->file[i].tmp, name) == 0) {
            return;
        }
    }
    if (t->tmp_fd >= 0) {
        (void)unlinkat(t->tmp_fd, name, 0);
    }
}

/* t's file of id key, or NULL (dropped since). */
static transfer_file_t *
s_file_of(transfer_t *t, uint64_t key)
{
    for (size_t i = 0; i < t->n; i++) {
        if (t->file[i].id == key) {
            return &t->file[i];
        }
    }
    return NULL;
}

size_t
transfer_block_done(mesh_t *m, const char *folder_id, transfer_t *t, const void *owner,
                    const blockwork_job_t *job)
{
    size_t took = 0;
    for (size_t k = 0; k < job->nputs; k++) {
        const blockwork_put_t *put = &job->puts[k];
        transfer_file_t *p = put->owner == owner ? s_file_of(t, put->key) : NULL;
        if (!p) {
            if (put->owner == owner && put->made) {
                s_unmade(t, put->name); /* (dropped while the worker made it) */
            }
            continue;
        }
        p->jobs--;
        p->lazy |= put->make && !put->made;
        if (put->full) {
            s_disk_full(m, folder_id, t, (size_t)(p - t->file)); /* (its other puts: no p) */
            continue;
        }
        if (!put->wrote || p->have[put->index]) {
            continue; /* (not checked, not written, or found here meanwhile) */
        }
        p->have[put->index] = true;
        p->fetched++;
        took++;
        if (--p->missing == 0) {
            p->sealed = put->sealed || transfer_seal(t, (size_t)(p - t->file));
            s_complete(t); /* (put in place by the caller's flush) */
        }
    }
    return took;
}
