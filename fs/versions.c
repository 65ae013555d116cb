/* fs/versions.c: kept versions of replaced and deleted files (docs/PROTOCOL.md §19.2). A
 * version's path in the versions directory is the file's own with "~" and its stamp before
 * the extension (conflict_tag_path); moves never replace (renameat2 RENAME_NOREPLACE, or a
 * check then renameat where the filesystem has no such flag).
 * Layer: fs. Third-party: none. SPDX-License-Identifier: MIT */
#include "fs/versions.h"

#include "fs/conflict.h"
#include "fs/path.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define S_TRIES     60u                       /* seconds tried past a taken stamp */
#define S_TAG_LEN   (1u + CONFLICT_STAMP_LEN) /* "~" + stamp */
#define S_DIR_FLAGS (O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)

static mesh_err_t s_why(mesh_err_t err, char *why, size_t why_len, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static mesh_err_t
s_why(mesh_err_t err, char *why, size_t why_len, const char *fmt, ...)
{
    if (why && why_len) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, why_len, fmt, ap);
        va_end(ap);
    }
    return err;
}

/* Open (with make: make first) the versions directory under root_fd, one component at a
 * time without following a link. *fd = -1 and MESH_ENOTFOUND when it is missing. */
static mesh_err_t
s_open_versions(int root_fd, bool make, int *fd, char *why, size_t why_len)
{
    static const char *const comps[] = {PATH_PRIVATE, "versions"};
    int dir = root_fd;
    *fd = -1;
    for (size_t i = 0; i < 2; i++) {
        int next = openat(dir, comps[i], S_DIR_FLAGS);
        if (next < 0 && errno == ENOENT && make) {
            if (mkdirat(dir, comps[i], 0700) != 0 && errno != EEXIST) {
                next = -1;
            } else {
                next = openat(dir, comps[i], S_DIR_FLAGS);
            }
        }
        int e = errno;
        if (dir != root_fd) {
            close(dir);
        }
        if (next < 0) {
            if (e == ENOENT) {
                return s_why(MESH_ENOTFOUND, why, why_len, "versions: no %s", VERSIONS_DIR);
            }
            if (e == ELOOP || e == ENOTDIR) {
                return s_why(MESH_EINVAL, why, why_len,
                             "versions: %s is a symlink or not a directory: refused", comps[i]);
            }
            return s_why(MESH_EIO, why, why_len, "versions: %s: %s", VERSIONS_DIR, strerror(e));
        }
        dir = next;
    }
    *fd = dir;
    return MESH_OK;
}

/* The version path of rel stamped when into out (PATH_LEN_MAX + 1 bytes). */
static mesh_err_t
s_vpath(const char *rel, int64_t when, char *out, char *why, size_t why_len)
{
    char tag[S_TAG_LEN + 1];
    size_t n;
    tag[0] = '~';
    if (conflict_stamp(when, tag + 1) != MESH_OK) {
        return s_why(MESH_EINVAL, why, why_len, "versions: time %lld outside 1970..9999",
                     (long long)when);
    }
    mesh_err_t err = conflict_tag_path(rel, strlen(rel), tag, S_TAG_LEN, out, PATH_LEN_MAX + 1, &n);
    if (err != MESH_OK) {
        return s_why(err, why, why_len, "versions: no version name for this path (%s)",
                     err == MESH_ETOOBIG ? "too long" : "invalid");
    }
    return MESH_OK;
}

/* Move from_dir/from to to_dir/to, never replacing: 0, or -1 with errno (EEXIST: taken). */
static int
s_move(int from_dir, const char *from, int to_dir, const char *to)
{
#ifdef SYS_renameat2
    if (syscall(SYS_renameat2, from_dir, from, to_dir, to, 1u /* RENAME_NOREPLACE */) == 0) {
        return 0;
    }
    if (errno != ENOSYS && errno != EINVAL) {
        return -1;
    }
#endif
    struct stat st; /* no RENAME_NOREPLACE here: check, then rename */
    if (fstatat(to_dir, to, &st, AT_SYMLINK_NOFOLLOW) == 0) {
        errno = EEXIST;
        return -1;
    }
    return renameat(from_dir, from, to_dir, to);
}

/* The file (or symlink) at rel: its parent directory open in *dir and its name. */
static mesh_err_t
s_source(int root_fd, const char *rel, int *dir, const char **name, char *why, size_t why_len)
{
    struct stat st;
    mesh_err_t err = path_open_parent(root_fd, rel, false, dir, name, why, why_len);
    if (err != MESH_OK) {
        return err;
    }
    if (fstatat(*dir, *name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
        int e = errno;
        close(*dir);
        *dir = -1;
        return e == ENOENT ? s_why(MESH_ENOTFOUND, why, why_len, "versions: no file there")
                           : s_why(MESH_EIO, why, why_len, "versions: %s", strerror(e));
    }
    if (!S_ISREG(st.st_mode) && !S_ISLNK(st.st_mode)) {
        close(*dir);
        *dir = -1;
        return s_why(MESH_EINVAL, why, why_len, "versions: not a file or a symlink: not kept");
    }
    return MESH_OK;
}

/* versions_keep; with by_link, the file is kept by a hard link in the versions directory
 * and stays at rel too (versions_restore then swaps the version in). */
static mesh_err_t
s_keep(int root_fd, const char *rel, int64_t when, bool by_link, char *why, size_t why_len)
{
    char vpath[PATH_LEN_MAX + 1];
    int sdir = -1, vfd = -1;
    const char *name;
    if (why && why_len) {
        why[0] = '\0';
    }
    mesh_err_t err = rel ? path_check(rel, strlen(rel), why, why_len) : MESH_EINVAL;
    if (err == MESH_OK) {
        err = s_vpath(rel, when, vpath, why, why_len);
    }
    if (err == MESH_OK && when > INT64_MAX - (int64_t)S_TRIES) {
        err = s_why(MESH_EINVAL, why, why_len, "versions: time out of range");
    }
    if (err == MESH_OK) {
        err = s_source(root_fd, rel, &sdir, &name, why, why_len);
    }
    if (err == MESH_OK) {
        err = s_open_versions(root_fd, true, &vfd, why, why_len);
    }
    for (unsigned k = 0; err == MESH_OK; k++) {
        int ddir;
        const char *vname;
        if (k == S_TRIES) {
            err = s_why(MESH_EEXIST, why, why_len, "versions: %u stamps from this one taken",
                        S_TRIES);
            break;
        }
        err = s_vpath(rel, when + (int64_t)k, vpath, why, why_len);
        if (err == MESH_OK) {
            err = path_open_parent(vfd, vpath, true, &ddir, &vname, why, why_len);
        }
        if (err != MESH_OK) {
            break;
        }
        int rc = by_link ? linkat(sdir, name, ddir, vname, 0) : s_move(sdir, name, ddir, vname);
        int e = errno;
        close(ddir);
        if (rc == 0) {
            break;
        }
        if (e != EEXIST) {
            err = s_why(MESH_EIO, why, why_len, "versions: keep: %s", strerror(e));
        }
    }
    if (sdir >= 0) {
        close(sdir);
    }
    if (vfd >= 0) {
        close(vfd);
    }
    return err;
}

mesh_err_t
versions_keep(int root_fd, const char *rel, int64_t when, char *why, size_t why_len)
{
    return s_keep(root_fd, rel, when, false, why, why_len);
}

mesh_err_t
versions_retire(int root_fd, const char *rel, int64_t when, unsigned days, char *why,
                size_t why_len)
{
    if (days > 0) {
        return versions_keep(root_fd, rel, when, why, why_len);
    }
    int dir = -1;
    const char *name;
    if (why && why_len) {
        why[0] = '\0';
    }
    mesh_err_t err = rel ? path_check(rel, strlen(rel), why, why_len) : MESH_EINVAL;
    if (err == MESH_OK) {
        err = s_source(root_fd, rel, &dir, &name, why, why_len);
    }
    if (err == MESH_OK && unlinkat(dir, name, 0) != 0) {
        err = s_why(MESH_EIO, why, why_len, "versions: remove: %s", strerror(errno));
    }
    if (dir >= 0) {
        close(dir);
    }
    return err;
}

static int
s_newest_first(const void *a, const void *b)
{
    const versions_entry_t *x = a, *y = b;
    return x->when < y->when ? 1 : x->when > y->when ? -1 : strcmp(x->name, y->name);
}

/* Is name (in the directory of rel's versions) a version of rel? Its stamp into *when. */
static bool
s_is_version_of(const char *rel, const char *name, int64_t *when)
{
    char vpath[PATH_LEN_MAX + 1];
    const char *base = strrchr(rel, '/');
    size_t dir_len = base ? (size_t)(base + 1 - rel) : 0;
    for (const char *t = strchr(name, '~'); t; t = strchr(t + 1, '~')) {
        if (strlen(t + 1) < CONFLICT_STAMP_LEN || !conflict_stamp_parse(t + 1, when)) {
            continue;
        }
        if (s_vpath(rel, *when, vpath, NULL, 0) == MESH_OK && strcmp(vpath + dir_len, name) == 0) {
            return true;
        }
    }
    return false;
}

mesh_err_t
versions_list(int root_fd, const char *rel, versions_list_t *out, char *why, size_t why_len)
{
    int vfd = -1, dfd = -1;
    const char *name;
    size_t cap = 0;
    out->v = NULL;
    out->n = 0;
    if (why && why_len) {
        why[0] = '\0';
    }
    mesh_err_t err = rel ? path_check(rel, strlen(rel), why, why_len) : MESH_EINVAL;
    if (err != MESH_OK) {
        return err;
    }
    err = s_open_versions(root_fd, false, &vfd, why, why_len);
    if (err == MESH_OK) {
        err = path_open_parent(vfd, rel, false, &dfd, &name, why, why_len);
        close(vfd);
    }
    if (err == MESH_ENOTFOUND) {
        return MESH_OK; /* nothing kept */
    }
    if (err != MESH_OK) {
        return err;
    }
    DIR *d = fdopendir(dfd);
    if (!d) {
        close(dfd);
        return s_why(MESH_EIO, why, why_len, "versions: list: %s", strerror(errno));
    }
    struct dirent *de;
    while (err == MESH_OK && (de = readdir(d)) != NULL) {
        struct stat st;
        int64_t when;
        if (!s_is_version_of(rel, de->d_name, &when) ||
            fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
            (!S_ISREG(st.st_mode) && !S_ISLNK(st.st_mode))) {
            continue;
        }
        if (out->n == VERSIONS_LIST_MAX) {
            err = s_why(MESH_ETOOBIG, why, why_len, "versions: more than %u of one path",
                        VERSIONS_LIST_MAX);
            break;
        }
        if (out->n == cap) {
            size_t c = cap ? cap * 2 : 8;
            versions_entry_t *v = realloc(out->v, c * sizeof *v);
            if (!v) {
                err = s_why(MESH_ENOMEM, why, why_len, "versions: out of memory");
                break;
            }
            out->v = v;
            cap = c;
        }
        versions_entry_t *e = &out->v[out->n++];
        e->when = when;
        e->size = (uint64_t)st.st_size;
        snprintf(e->name, sizeof e->name, "%s", de->d_name);
    }
    closedir(d);
    if (err != MESH_OK) {
        versions_release(out);
        return err;
    }
    if (out->n > 1) {
        qsort(out->v, out->n, sizeof *out->v, s_newest_first);
    }
    return MESH_OK;
}

void
versions_release(versions_list_t *list)
{
    if (list) {
        free(list->v);
        list->v = NULL;
        list->n = 0;
    }
}

/* Swap the version vdir/vname with the file at ddir/dname (cur: its stat, kept already by a
 * link), atomically (renameat2 RENAME_EXCHANGE); the version's old name then holds what
 * was at the path: removed when it is cur (kept under its own stamp), else left there (a
 * file that came meanwhile: kept, never lost). Without RENAME_EXCHANGE: the version renamed
 * over the path. */
static mesh_err_t
s_swap_in(int vdir, const char *vname, int ddir, const char *dname, const struct stat *cur,
          char *why, size_t why_len)
{
    struct stat st;
#ifdef SYS_renameat2
    if (syscall(SYS_renameat2, vdir, vname, ddir, dname, 2u /* RENAME_EXCHANGE */) == 0) {
        if (fstatat(vdir, vname, &st, AT_SYMLINK_NOFOLLOW) == 0 && st.st_ino == cur->st_ino &&
            st.st_dev == cur->st_dev) {
            (void)unlinkat(vdir, vname, 0);
        }
        return MESH_OK;
    }
    if (errno != ENOSYS && errno != EINVAL) {
        return s_why(MESH_EIO, why, why_len, "versions: restore: %s", strerror(errno));
    }
#endif
    (void)st;
    (void)cur;
    if (renameat(vdir, vname, ddir, dname) != 0) {
        return s_why(MESH_EIO, why, why_len, "versions: restore: %s", strerror(errno));
    }
    return MESH_OK;
}

mesh_err_t
versions_restore(int root_fd, const char *rel, int64_t at, int64_t now, int64_t *restored,
                 char *why, size_t why_len)
{
    versions_list_t list;
    mesh_err_t err = versions_list(root_fd, rel, &list, why, why_len);
    if (err != MESH_OK) {
        return err;
    }
    const versions_entry_t *pick = NULL;
    for (size_t i = 0; i < list.n && !pick; i++) {
        pick = list.v[i].when <= at ? &list.v[i] : NULL;
    }
    if (!pick) {
        versions_release(&list);
        return s_why(MESH_ENOTFOUND, why, why_len, "versions: none kept at or before that time");
    }
    int cur_dir = -1, vfd = -1, sdir = -1, ddir = -1;
    const char *cur_name, *sname, *dname;
    struct stat cur;
    bool have_cur = false;
    err = s_source(root_fd, rel, &cur_dir, &cur_name, why, why_len);
    if (err == MESH_OK) {
        /* the file there now becomes a version first: linked into the versions, so that the
         * path is never empty (a scan in between would send a delete) */
        have_cur = fstatat(cur_dir, cur_name, &cur, AT_SYMLINK_NOFOLLOW) == 0;
        close(cur_dir);
        err = have_cur ? s_keep(root_fd, rel, now, true, why, why_len)
                       : s_why(MESH_EIO, why, why_len, "versions: %s", strerror(errno));
    } else if (err == MESH_ENOTFOUND) {
        err = MESH_OK;
    }
    if (err == MESH_OK) {
        err = s_open_versions(root_fd, false, &vfd, why, why_len);
    }
    if (err == MESH_OK) {
        err = path_open_parent(vfd, rel, false, &sdir, &sname, why, why_len);
    }
    if (err == MESH_OK) {
        err = path_open_parent(root_fd, rel, true, &ddir, &dname, why, why_len);
    }
    if (err == MESH_OK && have_cur) {
        err = s_swap_in(sdir, pick->name, ddir, dname, &cur, why, why_len);
    } else if (err == MESH_OK && s_move(sdir, pick->name, ddir, dname) != 0) {
        err = errno == EEXIST
                  ? s_why(MESH_EEXIST, why, why_len, "versions: a file came to the path: kept")
                  : s_why(MESH_EIO, why, why_len, "versions: restore: %s", strerror(errno));
    }
    if (err == MESH_OK && restored) {
        *restored = pick->when;
    }
    if (vfd >= 0) {
        close(vfd);
    }
    if (sdir >= 0) {
        close(sdir);
    }
    if (ddir >= 0) {
        close(ddir);
    }
    versions_release(&list);
    return err;
}

/* The stamp of a version's file name: the last "~" + stamp followed by the end or by an
 * extension (a '.' and no other '.'). */
static bool
s_stamp_of(const char *name, int64_t *when)
{
    size_t len = strlen(name);
    for (size_t i = len; i-- > 0;) {
        if (name[i] != '~' || len - i - 1 < CONFLICT_STAMP_LEN) {
            continue;
        }
        const char *after = name + i + 1 + CONFLICT_STAMP_LEN;
        if (conflict_stamp_parse(name + i + 1, when) &&
            (*after == '\0' || (*after == '.' && !strchr(after + 1, '.')))) {
            return true;
        }
    }
    return false;
}

/* Expire under the open directory dfd (closed here); depth counts the levels. */
static mesh_err_t
s_expire_dir(int dfd, int64_t cutoff, unsigned depth, size_t *removed)
{
    DIR *d = fdopendir(dfd);
    if (!d) {
        close(dfd);
        return MESH_EIO;
    }
    mesh_err_t err = MESH_OK;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        const char *n = de->d_name;
        struct stat st;
        int64_t when;
        if (strcmp(n, ".") == 0 || strcmp(n, "..") == 0 ||
            fstatat(dirfd(d), n, &st, AT_SYMLINK_NOFOLLOW) != 0) {
            continue;
        }
        if (S_ISDIR(st.st_mode)) {
            int sub = depth < PATH_DEPTH_MAX ? openat(dirfd(d), n, S_DIR_FLAGS) : -1;
            if (sub >= 0) {
                mesh_err_t e = s_expire_dir(sub, cutoff, depth + 1, removed);
                err = err == MESH_OK ? e : err;
                (void)unlinkat(dirfd(d), n, AT_REMOVEDIR); /* only when empty */
            }
        } else if (s_stamp_of(n, &when) && when < cutoff) {
            if (unlinkat(dirfd(d), n, 0) == 0) {
                (*removed)++;
            } else if (errno != ENOENT) {
                err = MESH_EIO;
            }
        }
    }
    closedir(d);
    return err;
}

mesh_err_t
versions_expire(int root_fd, int64_t now, unsigned days, size_t *removed, char *why, size_t why_len)
{
    size_t count = 0;
    int vfd;
    if (removed) {
        *removed = 0;
    }
    if (why && why_len) {
        why[0] = '\0';
    }
    if (days > VERSIONS_DAYS_MAX) {
        return s_why(MESH_EINVAL, why, why_len, "versions: %u days (at most %u)", days,
                     VERSIONS_DAYS_MAX);
    }
    if (days == 0) {
        return MESH_OK; /* versioning off: what was kept stays */
    }
    mesh_err_t err = s_open_versions(root_fd, false, &vfd, why, why_len);
    if (err == MESH_ENOTFOUND) {
        return MESH_OK;
    }
    if (err != MESH_OK) {
        return err;
    }
    err = s_expire_dir(vfd, now - (int64_t)days * 86400, 1, &count);
    if (removed) {
        *removed = count;
    }
    return err == MESH_OK ? MESH_OK
                          : s_why(err, why, why_len, "versions: expire: some could not be removed");
}
