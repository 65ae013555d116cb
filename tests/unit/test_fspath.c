/* tests/unit/test_fspath.c: unit tests of fs/path.c (docs/PROTOCOL.md §18.3): paths from the
 * network accepted and refused (every bad form, each cap at its edge, bytes past len never
 * read, the reason never echoing the path), and the safe open: directories made on the way,
 * a symlink planted in the way (as a directory or as the file itself) and a file in the way
 * refused, `..` and absolute paths refused, and nothing ever made outside the temp root.
 * Layer: tests. Third-party: cmocka. SPDX-License-Identifier: MIT */
#include "fs/path.h"

#include "util.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

static void
s_ok(const char *p, size_t len)
{
    char why[200];
    snprintf(util_where, sizeof util_where, "path of %zu bytes", len);
    mesh_err_t err = path_check(p, len, why, sizeof why);
    if (err != MESH_OK) {
        fail_msg("refused (%s): %s", p, why);
    }
    util_where[0] = '\0';
}

static void
s_bad(const char *p, size_t len, mesh_err_t want, const char *reason)
{
    char why[200];
    snprintf(util_where, sizeof util_where, "path '%.60s' of %zu bytes", p, len);
    mesh_err_t err = path_check(p, len, why, sizeof why);
    CHECK_EQ(err, want);
    if (!strstr(why, reason)) {
        fail_msg("'%s' does not say '%s'", why, reason);
    }
    util_where[0] = '\0';
}

static void
s_bad_str(const char *p, mesh_err_t want, const char *reason)
{
    s_bad(p, strlen(p), want, reason);
}

static void
test_fspath_accepts(void **state)
{
    (void)state;
    const char *good[] = {"a",
                          "a/b/c.txt",
                          "\xc3\xbc/\xe6\x97\xa5\xe6\x9c\xac",
                          ".hidden",
                          "..a",
                          "a..",
                          "a/.meshsync",
                          "...",
                          "a b/c\td", /* control bytes are names too */
                          "\xf0\x9f\x98\x80",
                          ".meshsyncx",
                          "x\\y"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        s_ok(good[i], strlen(good[i]));
    }
    /* the caps, at their edge */
    char p[PATH_LEN_MAX + 2];
    memset(p, 'n', PATH_NAME_MAX);
    s_ok(p, PATH_NAME_MAX);
    size_t len = 0;
    for (unsigned i = 0; i < PATH_DEPTH_MAX; i++) {
        len += (size_t)snprintf(p + len, sizeof p - len, i ? "/d" : "d");
    }
    s_ok(p, len);
    memset(p, 'x', PATH_LEN_MAX);
    for (size_t i = 200; i < PATH_LEN_MAX; i += 200) {
        p[i] = '/';
    }
    s_ok(p, PATH_LEN_MAX);
}

static void
test_fspath_refuses(void **state)
{
    (void)state;
    s_bad_str("", MESH_EINVAL, "empty");
    s_bad_str("/a", MESH_EINVAL, "absolute");
    s_bad_str("/", MESH_EINVAL, "absolute");
    s_bad_str("a//b", MESH_EINVAL, "empty component");
    s_bad_str("a/", MESH_EINVAL, "empty component");
    s_bad_str(".", MESH_EINVAL, "component 1");
    s_bad_str("./a", MESH_EINVAL, "component 1");
    s_bad_str("a/./b", MESH_EINVAL, "component 2");
    s_bad_str("..", MESH_EINVAL, "\"..\"");
    s_bad_str("../etc/passwd", MESH_EINVAL, "\"..\"");
    s_bad_str("a/../../b", MESH_EINVAL, "component 2");
    s_bad_str("a/..", MESH_EINVAL, "component 2");
    s_bad_str(".meshsync", MESH_EINVAL, ".meshsync");
    s_bad_str(".meshsync/folder-id", MESH_EINVAL, ".meshsync");
    s_bad("a\0b", 3, MESH_EINVAL, "byte 2 is NUL");
    s_bad_str("\xff", MESH_EINVAL, "not UTF-8");
    s_bad_str("ok/\xc0\xaf", MESH_EINVAL, "byte 4 (0xc0)");  /* overlong '/' */
    s_bad_str("\xe0\x80\xaf", MESH_EINVAL, "not UTF-8");     /* overlong, 3 bytes */
    s_bad_str("\xed\xa0\x80", MESH_EINVAL, "not UTF-8");     /* a surrogate */
    s_bad_str("\xf4\x90\x80\x80", MESH_EINVAL, "not UTF-8"); /* above U+10FFFF */
    s_bad_str("a\xe2\x82", MESH_EINVAL, "not UTF-8");        /* cut short */
    s_bad_str("\x80", MESH_EINVAL, "not UTF-8");             /* a lone continuation */
    s_bad_str("\xe2\x28\xa1", MESH_EINVAL, "not UTF-8");     /* a bad continuation */
    char p[PATH_LEN_MAX + 2];
    memset(p, 'n', PATH_NAME_MAX + 1);
    s_bad(p, PATH_NAME_MAX + 1, MESH_ETOOBIG, "at most 255");
    size_t len = 0;
    for (unsigned i = 0; i <= PATH_DEPTH_MAX; i++) {
        len += (size_t)snprintf(p + len, sizeof p - len, i ? "/d" : "d");
    }
    s_bad(p, len, MESH_ETOOBIG, "components");
    memset(p, 'x', PATH_LEN_MAX + 1);
    s_bad(p, PATH_LEN_MAX + 1, MESH_ETOOBIG, "at most 4095");
    CHECK_EQ(path_check(NULL, 0, NULL, 0), MESH_EINVAL);
    /* the reason never echoes the path */
    char why[200];
    CHECK_EQ(path_check("secret\xff", 7, why, sizeof why), MESH_EINVAL);
    CHECK(strstr(why, "secret") == NULL);
}

static void
test_fspath_reads_only_len(void **state)
{
    (void)state;
    util_fence_t f;
    util_fence_init(&f, 64);
    const uint8_t *p = util_fence_put(&f, (const uint8_t *)"a/b\xe2", 4);
    CHECK_EQ(path_check((const char *)p, 3, NULL, 0), MESH_OK);     /* the cut byte is past len */
    CHECK_EQ(path_check((const char *)p, 4, NULL, 0), MESH_EINVAL); /* cut at the fence */
    p = util_fence_put(&f, (const uint8_t *)"x/..", 4);
    CHECK_EQ(path_check((const char *)p, 4, NULL, 0), MESH_EINVAL);
    CHECK_EQ(path_check((const char *)p, 3, NULL, 0), MESH_EINVAL); /* "x/." */
    p = util_fence_put(&f, (const uint8_t *)"ab/c/", 5);
    CHECK_EQ(path_check((const char *)p, 5, NULL, 0), MESH_EINVAL); /* an empty last one */
    CHECK_EQ(path_check((const char *)p, 4, NULL, 0), MESH_OK);
    util_fence_release(&f);
}

/* ---- the safe open, in a temp dir holding root/ and outside/ ---- */

typedef struct s_dirs {
    char top[64];
    char root[PATH_MAX];
    char outside[PATH_MAX];
    int root_fd;
} s_dirs_t;

static void
s_dirs_make(s_dirs_t *d)
{
    snprintf(d->top, sizeof d->top, "/tmp/test_fspath.XXXXXX");
    CHECK(mkdtemp(d->top) != NULL);
    snprintf(d->root, sizeof d->root, "%s/root", d->top);
    snprintf(d->outside, sizeof d->outside, "%s/outside", d->top);
    CHECK(mkdir(d->root, 0755) == 0 && mkdir(d->outside, 0755) == 0);
    d->root_fd = open(d->root, O_RDONLY | O_DIRECTORY);
    CHECK(d->root_fd >= 0);
}

/* How many names the directory holds (besides . and ..). */
static size_t
s_count(const char *dir)
{
    DIR *d = opendir(dir);
    size_t n = 0;
    CHECK(d != NULL);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    }
    closedir(d);
    return n;
}

static void
s_dirs_free(s_dirs_t *d)
{
    close(d->root_fd);
    CHECK_EQ(util_rm_tree(d->top), 0);
}

static void
test_fspath_open_makes_dirs(void **state)
{
    (void)state;
    s_dirs_t d;
    s_dirs_make(&d);
    int fd = -1;
    char why[200], path[PATH_MAX + 32];
    CHECK_EQ(
        path_open(d.root_fd, "a/b/c.txt", O_WRONLY | O_CREAT, 0644, false, &fd, why, sizeof why),
        MESH_ENOTFOUND);
    CHECK_EQ(fd, -1);
    CHECK_EQ(s_count(d.root), 0); /* nothing made without make_dirs */
    CHECK_OK(
        path_open(d.root_fd, "a/b/c.txt", O_WRONLY | O_CREAT, 0644, true, &fd, why, sizeof why));
    CHECK(write(fd, "hi", 2) == 2);
    close(fd);
    snprintf(path, sizeof path, "%s/a/b/c.txt", d.root);
    struct stat st;
    CHECK(stat(path, &st) == 0 && st.st_size == 2);
    /* O_EXCL on what exists */
    CHECK_EQ(path_open(d.root_fd, "a/b/c.txt", O_WRONLY | O_CREAT | O_EXCL, 0644, false, &fd, why,
                       sizeof why),
             MESH_EEXIST);
    /* a file in the way of a directory */
    CHECK_EQ(
        path_open(d.root_fd, "a/b/c.txt/d", O_WRONLY | O_CREAT, 0644, true, &fd, why, sizeof why),
        MESH_EINVAL);
    CHECK(strstr(why, "component 3") != NULL);
    /* the parent and the name */
    int dir_fd = -1;
    const char *name = NULL;
    CHECK_OK(path_open_parent(d.root_fd, "a/b/c.txt", false, &dir_fd, &name, why, sizeof why));
    CHECK(strcmp(name, "c.txt") == 0);
    CHECK(fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0);
    close(dir_fd);
    CHECK_OK(path_open_parent(d.root_fd, "top", false, &dir_fd, &name, why, sizeof why));
    CHECK(strcmp(name, "top") == 0);
    close(dir_fd);
    CHECK_EQ(s_count(d.outside), 0);
    s_dirs_free(&d);
}

static void
test_fspath_open_refuses_symlinks(void **state)
{
    (void)state;
    s_dirs_t d;
    s_dirs_make(&d);
    int fd = 123;
    char why[200], link[PATH_MAX + 32], target[PATH_MAX + 32];
    /* a symlink to a directory outside, in the way */
    snprintf(link, sizeof link, "%s/link", d.root);
    CHECK(symlink(d.outside, link) == 0);
    CHECK_EQ(path_open(d.root_fd, "link/x", O_WRONLY | O_CREAT, 0644, true, &fd, why, sizeof why),
             MESH_EINVAL);
    CHECK_EQ(fd, -1);
    CHECK(strstr(why, "symlink") != NULL);
    CHECK_EQ(
        path_open(d.root_fd, "link/deeper/x", O_WRONLY | O_CREAT, 0644, true, &fd, why, sizeof why),
        MESH_EINVAL);
    /* deeper: root/a/ holds a link to outside */
    CHECK_OK(path_open(d.root_fd, "a/ok", O_WRONLY | O_CREAT, 0644, true, &fd, why, sizeof why));
    close(fd);
    snprintf(link, sizeof link, "%s/a/up", d.root);
    CHECK(symlink("../..", link) == 0);
    CHECK_EQ(path_open(d.root_fd, "a/up/outside/x", O_WRONLY | O_CREAT, 0644, true, &fd, why,
                       sizeof why),
             MESH_EINVAL);
    /* the file itself a symlink to a file outside: never written through */
    snprintf(target, sizeof target, "%s/victim", d.outside);
    int v = open(target, O_WRONLY | O_CREAT, 0644);
    CHECK(v >= 0 && write(v, "keep", 4) == 4);
    close(v);
    snprintf(link, sizeof link, "%s/f", d.root);
    CHECK(symlink(target, link) == 0);
    CHECK_EQ(
        path_open(d.root_fd, "f", O_WRONLY | O_CREAT | O_TRUNC, 0644, false, &fd, why, sizeof why),
        MESH_EINVAL);
    CHECK_EQ(path_open(d.root_fd, "f", O_RDONLY, 0, false, &fd, why, sizeof why), MESH_EINVAL);
    struct stat st;
    CHECK(stat(target, &st) == 0 && st.st_size == 4);
    /* a dangling link where a new file would go: O_CREAT does not create its target */
    snprintf(target, sizeof target, "%s/made", d.outside);
    snprintf(link, sizeof link, "%s/dangling", d.root);
    CHECK(symlink(target, link) == 0);
    CHECK_EQ(
        path_open(d.root_fd, "dangling", O_WRONLY | O_CREAT, 0644, false, &fd, why, sizeof why),
        MESH_EINVAL);
    /* .. and absolute paths never reach an open */
    CHECK_EQ(
        path_open(d.root_fd, "../outside/x", O_WRONLY | O_CREAT, 0644, true, &fd, why, sizeof why),
        MESH_EINVAL);
    CHECK_EQ(path_open(d.root_fd, "a/../../outside/x", O_WRONLY | O_CREAT, 0644, true, &fd, why,
                       sizeof why),
             MESH_EINVAL);
    snprintf(target, sizeof target, "%s/abs", d.outside);
    CHECK_EQ(path_open(d.root_fd, target, O_WRONLY | O_CREAT, 0644, true, &fd, why, sizeof why),
             MESH_EINVAL);
    CHECK_EQ(
        path_open(d.root_fd, ".meshsync/x", O_WRONLY | O_CREAT, 0644, true, &fd, why, sizeof why),
        MESH_EINVAL);
    /* outside holds only the victim, unchanged; the root has only what was made in it */
    CHECK_EQ(s_count(d.outside), 1);
    CHECK_EQ(s_count(d.root), 4); /* link, a, f, dangling */
    s_dirs_free(&d);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fspath_accepts),
        cmocka_unit_test(test_fspath_refuses),
        cmocka_unit_test(test_fspath_reads_only_len),
        cmocka_unit_test(test_fspath_open_makes_dirs),
        cmocka_unit_test(test_fspath_open_refuses_symlinks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
