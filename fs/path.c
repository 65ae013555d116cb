/* fs/path.c: the relative-path rule (docs/PROTOCOL.md §18.3) and the component-by-component
 * open under a folder root (openat with O_NOFOLLOW; a symlink in the way gives ELOOP or
 * ENOTDIR and is refused).
 * Layer: fs. Third-party: none. SPDX-License-Identifier: MIT */
#include "fs/path.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

size_t
path_utf8(const uint8_t *p, size_t left, uint32_t *cp)
{
    uint8_t b = p[0];
    size_t n;
    uint32_t c, floor;
    if (b < 0x80) {
        n = 1, c = b, floor = 0;
    } else if ((b & 0xe0) == 0xc0) {
        n = 2, c = b & 0x1f, floor = 0x80;
    } else if ((b & 0xf0) == 0xe0) {
        n = 3, c = b & 0x0f, floor = 0x800;
    } else if ((b & 0xf8) == 0xf0) {
        n = 4, c = b & 0x07, floor = 0x10000;
    } else {
        return 0;
    }
    if (left < n) {
        return 0;
    }
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80) {
            return 0;
        }
        c = c << 6 | (p[i] & 0x3f);
    }
    if (c < floor || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff)) {
        return 0;
    }
    if (cp) {
        *cp = c;
    }
    return n;
}

mesh_err_t
path_check(const char *rel, size_t len, char *why, size_t why_len)
{
    const uint8_t *p = (const uint8_t *)rel;
    size_t start = 0, depth = 0;
    if (why && why_len) {
        why[0] = '\0';
    }
    if (!rel || len == 0) {
        return s_why(MESH_EINVAL, why, why_len, "path: empty");
    }
    if (len > PATH_LEN_MAX) {
        return s_why(MESH_ETOOBIG, why, why_len, "path: %zu bytes (at most %u)", len, PATH_LEN_MAX);
    }
    if (p[0] == '/') {
        return s_why(MESH_EINVAL, why, why_len, "path: absolute");
    }
    for (size_t i = 0; i <= len; i++) {
        if (i < len && p[i] != '/') {
            if (p[i] == 0) {
                return s_why(MESH_EINVAL, why, why_len, "path: byte %zu is NUL", i + 1);
            }
            size_t n = path_utf8(p + i, len - i, NULL);
            if (n == 0) {
                return s_why(MESH_EINVAL, why, why_len, "path: byte %zu (0x%02x) is not UTF-8",
                             i + 1, p[i]);
            }
            i += n - 1;
            continue;
        }
        /* a component ends at i */
        size_t clen = i - start;
        if (clen == 0) {
            return s_why(MESH_EINVAL, why, why_len, "path: empty component at byte %zu", i + 1);
        }
        if (clen > PATH_NAME_MAX) {
            return s_why(MESH_ETOOBIG, why, why_len,
                         "path: component %zu has %zu bytes (at most %u)", depth + 1, clen,
                         PATH_NAME_MAX);
        }
        if ((clen == 1 && p[start] == '.') ||
            (clen == 2 && p[start] == '.' && p[start + 1] == '.')) {
            return s_why(MESH_EINVAL, why, why_len, "path: component %zu is \"%.*s\"", depth + 1,
                         (int)clen, rel + start);
        }
        if (depth == 0 && clen == strlen(PATH_PRIVATE) && memcmp(rel, PATH_PRIVATE, clen) == 0) {
            return s_why(MESH_EINVAL, why, why_len, "path: inside the folder's own %s",
                         PATH_PRIVATE);
        }
        if (++depth > PATH_DEPTH_MAX) {
            return s_why(MESH_ETOOBIG, why, why_len, "path: more than %u components",
                         PATH_DEPTH_MAX);
        }
        start = i + 1;
    }
    return MESH_OK;
}

/* Open the directory name under dir_fd without following a link; with make, make it first
 * when missing. Returns the fd, or -1 with errno. */
static int
s_open_dir(int dir_fd, const char *name, bool make)
{
    int flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
    int fd = openat(dir_fd, name, flags);
    if (fd < 0 && errno == ENOENT && make) {
        if (mkdirat(dir_fd, name, 0755) != 0 && errno != EEXIST) {
            return -1;
        }
        fd = openat(dir_fd, name, flags); /* a link planted since mkdirat: ELOOP */
    }
    return fd;
}

/* The error and text for a failed open of component n. */
static mesh_err_t
s_open_error(int e, size_t n, char *why, size_t why_len)
{
    if (e == ELOOP || e == ENOTDIR) {
        return s_why(MESH_EINVAL, why, why_len,
                     "path: component %zu is a symlink or not a directory: refused", n);
    }
    if (e == ENOENT) {
        return s_why(MESH_ENOTFOUND, why, why_len, "path: component %zu does not exist", n);
    }
    if (e == EEXIST) {
        return s_why(MESH_EEXIST, why, why_len, "path: component %zu exists", n);
    }
    return s_why(MESH_EIO, why, why_len, "path: component %zu: %s", n, strerror(e));
}

mesh_err_t
path_open_parent(int root_fd, const char *rel, bool make_dirs, int *dir_fd, const char **name,
                 char *why, size_t why_len)
{
    char comp[PATH_NAME_MAX + 1];
    *dir_fd = -1;
    *name = NULL;
    mesh_err_t err = rel ? path_check(rel, strlen(rel), why, why_len) : MESH_EINVAL;
    if (err != MESH_OK) {
        return err;
    }
    int fd = fcntl(root_fd, F_DUPFD_CLOEXEC, 0);
    if (fd < 0) {
        return s_why(MESH_EIO, why, why_len, "path: root: %s", strerror(errno));
    }
    const char *p = rel, *slash;
    size_t n = 1;
    while ((slash = strchr(p, '/')) != NULL) {
        memcpy(comp, p, (size_t)(slash - p));
        comp[slash - p] = '\0';
        int next = s_open_dir(fd, comp, make_dirs);
        int e = errno;
        close(fd);
        if (next < 0) {
            return s_open_error(e, n, why, why_len);
        }
        fd = next;
        p = slash + 1;
        n++;
    }
    *dir_fd = fd;
    *name = p;
    return MESH_OK;
}

mesh_err_t
path_open(int root_fd, const char *rel, int flags, mode_t mode, bool make_dirs, int *fd, char *why,
          size_t why_len)
{
    int dir_fd = -1;
    const char *name = NULL;
    *fd = -1;
    mesh_err_t err = path_open_parent(root_fd, rel, make_dirs, &dir_fd, &name, why, why_len);
    if (err != MESH_OK) {
        return err;
    }
    int f = openat(dir_fd, name, flags | O_NOFOLLOW | O_CLOEXEC, mode);
    int e = errno;
    close(dir_fd);
    if (f < 0) {
        size_t n = 1;
        for (const char *q = rel; q < name; q++) {
            n += *q == '/';
        }
        return s_open_error(e, n, why, why_len);
    }
    *fd = f;
    return MESH_OK;
}
