/* cli/file.c: whole files in and out for meshctl: bundles, vector files, TSV input.
 * Owns: reading a file or stdin whole (with a size cap), and writing a file atomically (a
 * temporary file in the same directory, fsync'd and renamed into place) or to stdout,
 * and the line that reports such a write. Not here: what the bytes mean (the library), the error
 * lines (cli/cli.c). Layer: cli. Third-party: none. SPDX-License-Identifier: MIT */
#include "cli.h"
#include "out.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define S_READ_START 65536u /* first buffer for a stream; it doubles up to the cap */

/* The mesh_err_t for an OS error e, with its text in detail. */
static mesh_err_t
s_os_error(int e, char *detail, size_t detail_len)
{
    snprintf(detail, detail_len, "%s", strerror(e));
    if (e == ENOSPC || e == EDQUOT)
        return MESH_ENOSPC;
    if (e == ENOENT)
        return MESH_ENOTFOUND;
    if (e == ENOMEM)
        return MESH_ENOMEM;
    return MESH_EIO;
}

/* Read fd to its end into *buf (cap bytes, grown by doubling, never past max + 1 bytes). */
static mesh_err_t
s_read_fd(int fd, uint64_t max, uint8_t **buf, size_t *cap, size_t *used, char *detail,
          size_t detail_len)
{
    const uint64_t limit = max + 1; /* one byte more tells "too big" */
    for (;;) {
        if (*used == *cap) {
            if (*cap >= limit) {
                snprintf(detail, detail_len, "over %llu bytes", (unsigned long long)max);
                return MESH_ETOOBIG;
            }
            uint64_t next = *cap ? (uint64_t)*cap * 2 : S_READ_START;
            next = next < limit ? next : limit;
            if (next > SIZE_MAX)
                return MESH_ENOMEM;
            uint8_t *bigger = realloc(*buf, (size_t)next);
            if (!bigger) {
                snprintf(detail, detail_len, "%llu bytes", (unsigned long long)next);
                return MESH_ENOMEM;
            }
            *buf = bigger;
            *cap = (size_t)next;
        }
        ssize_t got = read(fd, *buf + *used, *cap - *used);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            return s_os_error(errno, detail, detail_len);
        if (got == 0)
            return MESH_OK;
        *used += (size_t)got;
    }
}

mesh_err_t
cli_read_file(const char *path, uint64_t max, uint8_t **out, size_t *len, char *detail,
              size_t detail_len)
{
    bool is_stdin = strcmp(path, "-") == 0;
    uint8_t *buf = NULL;
    size_t cap = 0, used = 0;
    struct stat st;
    *out = NULL;
    *len = 0;
    detail[0] = '\0';
    int fd = is_stdin ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return s_os_error(errno, detail, detail_len);
    mesh_err_t err = MESH_OK;
    if (fstat(fd, &st) != 0) {
        err = s_os_error(errno, detail, detail_len);
    } else if (S_ISDIR(st.st_mode)) {
        err = s_os_error(EISDIR, detail, detail_len);
    } else if (S_ISREG(st.st_mode) && (uint64_t)st.st_size > max) {
        snprintf(detail, detail_len, "%llu bytes, over %llu", (unsigned long long)st.st_size,
                 (unsigned long long)max);
        err = MESH_ETOOBIG;
    } else if (S_ISREG(st.st_mode)) {
        /* One byte more than its size, so that reading to the end takes one pass. */
        cap = (size_t)st.st_size + 1;
        buf = malloc(cap);
        if (!buf)
            err = MESH_ENOMEM;
    }
    if (err == MESH_OK)
        err = s_read_fd(fd, max, &buf, &cap, &used, detail, detail_len);
    if (!is_stdin)
        close(fd);
    if (err != MESH_OK) {
        free(buf);
        return err;
    }
    if (!buf) { /* an empty stream: still a valid pointer */
        buf = malloc(1);
        if (!buf)
            return MESH_ENOMEM;
    }
    *out = buf;
    *len = used;
    return MESH_OK;
}

/* Write all len bytes of p to fd. Returns 0, or an errno value. */
static int
s_write_all(int fd, const uint8_t *p, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return errno;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Make the directory of path durable after a rename into it (best effort: some file
 * systems cannot fsync a directory). */
static void
s_sync_dir(const char *path)
{
    char dir[CLI_PATH_MAX];
    const char *slash = strrchr(path, '/');
    if (!slash) {
        snprintf(dir, sizeof dir, ".");
    } else {
        size_t n = slash == path ? 1 : (size_t)(slash - path);
        snprintf(dir, sizeof dir, "%.*s", (int)n, path);
    }
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
}

mesh_err_t
cli_write_file(const char *path, const void *p, size_t len, char *detail, size_t detail_len)
{
    char tmp[CLI_PATH_MAX + 16];
    detail[0] = '\0';
    if (strcmp(path, "-") == 0) {
        errno = 0;
        if (fwrite(p, 1, len, stdout) != len || fflush(stdout) != 0)
            return s_os_error(errno ? errno : EIO, detail, detail_len);
        return MESH_OK;
    }
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    if (!base[0]) {
        snprintf(detail, detail_len, "a directory, not a file name");
        return MESH_EINVAL;
    }
    int n = snprintf(tmp, sizeof tmp, "%.*s.%s.XXXXXX", (int)(base - path), path, base);
    if (n < 0 || (size_t)n >= sizeof tmp) {
        snprintf(detail, detail_len, "path too long");
        return MESH_ETOOBIG;
    }
    int fd = mkstemp(tmp); /* mode 0600: a bundle holds the collections' data */
    if (fd < 0)
        return s_os_error(errno, detail, detail_len);
    int e = s_write_all(fd, p, len);
    if (e == 0 && fsync(fd) != 0)
        e = errno;
    if (close(fd) != 0 && e == 0)
        e = errno;
    if (e == 0 && rename(tmp, path) != 0)
        e = errno;
    if (e != 0) {
        unlink(tmp);
        return s_os_error(e, detail, detail_len);
    }
    s_sync_dir(path);
    return MESH_OK;
}

int
cli_write_output(const cli_ctx_t *ctx, const char *what, const char *path, const void *p,
                 size_t len)
{
    char qpath[OUT_QUOTE_LEN], detail[256];
    out_quote(qpath, sizeof qpath, path, strlen(path));
    bool to_stdout = strcmp(path, "-") == 0;
    if (to_stdout && isatty(STDOUT_FILENO)) {
        cli_say("%s: not writing binary data to a terminal (redirect it, or use -o FILE)", what);
        return CLI_FAIL;
    }
    mesh_err_t err = cli_write_file(path, p, len, detail, sizeof detail);
    if (err != MESH_OK)
        return cli_fail_detail(err, detail, "%s: write '%s'", what, qpath);
    if (to_stdout)
        return CLI_OK;
    if (ctx->json) {
        out_json_t j;
        out_json_init(&j, stdout);
        out_json_object_begin(&j, NULL);
        out_json_string(&j, "file", path);
        out_json_u64(&j, "bytes", len);
        out_json_object_end(&j);
    } else {
        printf("wrote %zu bytes to '%s'\n", len, qpath);
    }
    return CLI_OK;
}
