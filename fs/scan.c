/* fs/scan.c: the folder walk (openat, fdopendir, fstatat with AT_SYMLINK_NOFOLLOW), each
 * directory's names sorted bytewise before they are yielded, and the root marker
 * (docs/PROTOCOL.md §18.4).
 * Layer: fs. Third-party: none. SPDX-License-Identifier: MIT */
#include "fs/scan.h"

#include "fs/path.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define S_MARKER_DIR  ".meshsync"
#define S_MARKER_FILE "folder-id"
#define S_MARKER_TMP  "folder-id.tmp"

static void s_why(char *why, size_t why_len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
s_why(char *why, size_t why_len, const char *fmt, ...)
{
    if (why && why_len) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, why_len, fmt, ap);
        va_end(ap);
    }
}

const char *
scan_root_text(enum scan_root state)
{
    switch (state) {
    case SCAN_ROOT_OK:
        return "ok";
    case SCAN_ROOT_MISSING:
        return "folder root missing";
    case SCAN_ROOT_NO_MARKER:
        return "folder marker missing";
    case SCAN_ROOT_OTHER:
        return "folder marker names another folder";
    case SCAN_ROOT_ERROR:
        return "folder root unreadable";
    }
    return "unknown root state";
}

/* Is id a folder ID: 1..SCAN_ID_MAX bytes of [A-Za-z0-9._-], not starting with '.'? */
static bool
s_id_ok(const char *id)
{
    size_t n = id ? strlen(id) : 0;
    if (n == 0 || n > SCAN_ID_MAX || id[0] == '.') {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        char c = id[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-')) {
            return false;
        }
    }
    return true;
}

/* Read the marker under root_fd into buf (at most len - 1 bytes, NUL-terminated): the
 * length, or -1 with errno (ENOENT when .meshsync/ or the marker is missing). */
static ssize_t
s_marker_read(int root_fd, char *buf, size_t len)
{
    int dir = openat(root_fd, S_MARKER_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (dir < 0) {
        return -1;
    }
    int fd = openat(dir, S_MARKER_FILE, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    int e = errno;
    close(dir);
    if (fd < 0) {
        errno = e;
        return -1;
    }
    size_t got = 0;
    while (got < len - 1) {
        ssize_t r = read(fd, buf + got, len - 1 - got);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            if (r < 0) {
                e = errno;
                close(fd);
                errno = e;
                return -1;
            }
            break;
        }
        got += (size_t)r;
    }
    close(fd);
    buf[got] = '\0';
    return (ssize_t)got;
}

enum scan_root
scan_root_check(const char *root, const char *folder_id, int *root_fd, char *why, size_t why_len)
{
    char marker[SCAN_ID_MAX + 3];
    if (root_fd) {
        *root_fd = -1;
    }
    s_why(why, why_len, "ok");
    if (!root || !s_id_ok(folder_id)) {
        s_why(why, why_len, "no root or a bad folder ID");
        return SCAN_ROOT_ERROR;
    }
    int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        s_why(why, why_len, "%s: %s", scan_root_text(SCAN_ROOT_MISSING), strerror(e));
        if (e == ENOENT || e == ENOTDIR) {
            return SCAN_ROOT_MISSING;
        }
        s_why(why, why_len, "%s: %s", scan_root_text(SCAN_ROOT_ERROR), strerror(e));
        return SCAN_ROOT_ERROR;
    }
    ssize_t n = s_marker_read(fd, marker, sizeof marker);
    enum scan_root state = SCAN_ROOT_OK;
    if (n < 0) {
        int e = errno;
        state = e == ENOENT ? SCAN_ROOT_NO_MARKER : SCAN_ROOT_ERROR;
        s_why(why, why_len, "%s: %s: %s", scan_root_text(state), SCAN_MARKER, strerror(e));
    } else if ((size_t)n != strlen(folder_id) + 1 || marker[n - 1] != '\n' ||
               memcmp(marker, folder_id, (size_t)n - 1) != 0) {
        state = SCAN_ROOT_OTHER;
        s_why(why, why_len, "%s (%s)", scan_root_text(state), SCAN_MARKER);
    }
    if (state != SCAN_ROOT_OK || !root_fd) {
        close(fd);
    } else {
        *root_fd = fd;
    }
    return state;
}

mesh_err_t
scan_marker_write(const char *root, const char *folder_id, char *why, size_t why_len)
{
    char line[SCAN_ID_MAX + 2];
    int dir = -1, fd = -1;
    mesh_err_t err = MESH_OK;
    if (!root || !s_id_ok(folder_id)) {
        s_why(why, why_len, "folder ID: 1 to %u bytes of A-Z a-z 0-9 . _ -, not starting '.'",
              SCAN_ID_MAX);
        return MESH_EINVAL;
    }
    enum scan_root state = scan_root_check(root, folder_id, NULL, why, why_len);
    if (state == SCAN_ROOT_OK) {
        return MESH_OK;
    }
    if (state != SCAN_ROOT_NO_MARKER) {
        return state == SCAN_ROOT_MISSING ? MESH_ENOTFOUND
               : state == SCAN_ROOT_OTHER ? MESH_EEXIST
                                          : MESH_EIO;
    }
    int root_fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (root_fd < 0) {
        s_why(why, why_len, "folder root: %s", strerror(errno));
        return MESH_EIO;
    }
    if (mkdirat(root_fd, S_MARKER_DIR, 0700) != 0 && errno != EEXIST) {
        err = MESH_EIO;
    }
    if (err == MESH_OK) {
        dir = openat(root_fd, S_MARKER_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        err = dir < 0 ? MESH_EIO : MESH_OK;
    }
    if (err == MESH_OK) {
        fd = openat(dir, S_MARKER_TMP, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
        err = fd < 0 ? MESH_EIO : MESH_OK;
    }
    if (err == MESH_OK) {
        int len = snprintf(line, sizeof line, "%s\n", folder_id);
        if (write(fd, line, (size_t)len) != len || fsync(fd) != 0) {
            err = MESH_EIO;
        }
    }
    if (err == MESH_OK && (renameat(dir, S_MARKER_TMP, dir, S_MARKER_FILE) != 0 ||
                           fsync(dir) != 0 || fsync(root_fd) != 0)) {
        err = MESH_EIO;
    }
    if (err != MESH_OK) {
        s_why(why, why_len, "writing %s: %s", SCAN_MARKER, strerror(errno));
    }
    if (fd >= 0) {
        close(fd);
    }
    if (dir >= 0) {
        close(dir);
    }
    close(root_fd);
    return err;
}

bool
scan_changed(const scan_entry_t *now, const scan_entry_t *known)
{
    return now->type != known->type || now->size != known->size || now->mode != known->mode ||
           now->mtime_ns != known->mtime_ns || now->inode != known->inode ||
           now->ctime_ns != known->ctime_ns;
}

/* One walk's state. */
typedef struct s_walk {
    scan_fn fn;
    void *ctx;
    scan_stats_t *stats;
    char path[PATH_LEN_MAX + 1];      /* the current path */
    char target[SCAN_TARGET_MAX + 2]; /* a symlink's target */
} s_walk_t;

static int
s_name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names in the directory d, sorted, "." and ".." left out (and PATH_PRIVATE at the
 * root). MESH_OK: *names (each and the array malloc'd) and *n. */
static mesh_err_t
s_list(DIR *d, bool at_root, char ***names, size_t *n)
{
    char **list = NULL;
    size_t count = 0, cap = 0;
    struct dirent *de;
    mesh_err_t err = MESH_OK;
    errno = 0;
    while (err == MESH_OK && (de = readdir(d)) != NULL) {
        const char *name = de->d_name;
        if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0 ||
            (at_root && strcmp(name, PATH_PRIVATE) == 0)) {
            continue;
        }
        if (count == cap) {
            size_t c = cap ? 2 * cap : 32;
            char **l = realloc(list, c * sizeof *l);
            if (!l) {
                err = MESH_ENOMEM;
                break;
            }
            list = l, cap = c;
        }
        if ((list[count] = strdup(name)) == NULL) {
            err = MESH_ENOMEM;
            break;
        }
        count++;
        errno = 0;
    }
    if (err == MESH_OK && errno != 0) {
        err = MESH_EIO;
    }
    if (err != MESH_OK) {
        for (size_t i = 0; i < count; i++) {
            free(list[i]);
        }
        free(list);
        return err;
    }
    if (count) {
        qsort(list, count, sizeof *list, s_name_cmp);
    }
    *names = list;
    *n = count;
    return MESH_OK;
}

static mesh_err_t s_dir(s_walk_t *w, int dir_fd, size_t plen, bool at_root);

static int64_t
s_ns(struct timespec t)
{
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

/* Stat and yield the entry name of dir_fd (w->path[0..plen) its path), and walk it if it is a
 * directory. */
static mesh_err_t
s_entry(s_walk_t *w, int dir_fd, const char *name, size_t plen)
{
    struct stat st;
    scan_entry_t e = {0};
    if (fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
        if (errno == ENOENT) {
            w->stats->vanished++;
            return MESH_OK;
        }
        return MESH_EIO;
    }
    e.path = w->path;
    e.path_len = plen;
    e.mode = (uint32_t)(st.st_mode & 07777);
    e.mtime_ns = s_ns(st.st_mtim);
    e.ctime_ns = s_ns(st.st_ctim);
    e.inode = (uint64_t)st.st_ino;
    if (S_ISREG(st.st_mode)) {
        e.type = SCAN_FILE;
        e.size = (uint64_t)st.st_size;
        w->stats->files++;
    } else if (S_ISLNK(st.st_mode)) {
        ssize_t n = readlinkat(dir_fd, name, w->target, sizeof w->target);
        if (n < 0) {
            if (errno == ENOENT) {
                w->stats->vanished++;
                return MESH_OK;
            }
            return MESH_EIO;
        }
        if (n == 0 || (size_t)n > SCAN_TARGET_MAX || memchr(w->target, 0, (size_t)n)) {
            w->stats->bad_names++;
            return MESH_OK;
        }
        w->target[n] = '\0';
        e.type = SCAN_SYMLINK;
        e.size = (uint64_t)n;
        e.target = w->target;
        w->stats->symlinks++;
    } else if (S_ISDIR(st.st_mode)) {
        e.type = SCAN_DIR;
        w->stats->dirs++;
        int fd = openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0) {
            if (errno == ENOENT) {
                w->stats->dirs--;
                w->stats->vanished++;
                return MESH_OK;
            }
            e.unlisted = true;
            w->stats->unlisted++;
            return w->fn(w->ctx, &e);
        }
        mesh_err_t err = w->fn(w->ctx, &e);
        if (err == MESH_OK) {
            err = s_dir(w, fd, plen, false); /* closes fd */
        } else {
            close(fd);
        }
        return err;
    } else {
        w->stats->special++;
        return MESH_OK;
    }
    return w->fn(w->ctx, &e);
}

/* Walk the open directory dir_fd (taken: closed here), whose path is w->path[0..plen). */
static mesh_err_t
s_dir(s_walk_t *w, int dir_fd, size_t plen, bool at_root)
{
    char **names = NULL;
    size_t n = 0;
    DIR *d = fdopendir(dir_fd);
    if (!d) {
        close(dir_fd);
        return MESH_EIO;
    }
    mesh_err_t err = s_list(d, at_root, &names, &n);
    for (size_t i = 0; err == MESH_OK && i < n; i++) {
        size_t len = strlen(names[i]), sub = plen + (plen ? 1 : 0) + len;
        if (sub > PATH_LEN_MAX) {
            w->stats->bad_names++;
            continue;
        }
        if (plen) {
            w->path[plen] = '/';
        }
        memcpy(w->path + sub - len, names[i], len + 1);
        if (path_check(w->path, sub, NULL, 0) != MESH_OK) {
            w->stats->bad_names++;
        } else {
            err = s_entry(w, dirfd(d), names[i], sub);
        }
        w->path[plen] = '\0';
    }
    for (size_t i = 0; i < n; i++) {
        free(names[i]);
    }
    free(names);
    closedir(d);
    return err;
}

mesh_err_t
scan_walk(const char *root, const char *folder_id, scan_fn fn, void *ctx, scan_stats_t *stats,
          enum scan_root *root_state, char *why, size_t why_len)
{
    int root_fd = -1;
    memset(stats, 0, sizeof *stats);
    *root_state = scan_root_check(root, folder_id, &root_fd, why, why_len);
    if (*root_state != SCAN_ROOT_OK) {
        return MESH_ENOTFOUND;
    }
    s_walk_t *w = calloc(1, sizeof *w);
    if (!w) {
        close(root_fd);
        return MESH_ENOMEM;
    }
    w->fn = fn;
    w->ctx = ctx;
    w->stats = stats;
    mesh_err_t err = s_dir(w, root_fd, 0, true);
    if (err == MESH_EIO || err == MESH_ENOMEM) {
        s_why(why, why_len, "walking the folder: %s",
              err == MESH_EIO ? "a directory could not be read" : "out of memory");
    }
    free(w);
    return err;
}
