/* tests/unit/test_versions.c: unit tests of fs/versions.c (docs/PROTOCOL.md §19.2) on real
 * temp folders: a kept file moves to .meshsync/versions/ with its directories and its
 * extension after the stamp, a taken stamp is never replaced (the next second is), the
 * list is newest first and leaves other names out, restore picks the newest at or before
 * a time and keeps the current file first, expire removes only what is older than the
 * days (0: nothing) and the directories it empties; and nothing outside the folder is
 * touched: symlinks in the way, as the file, or as the versions directory.
 * Layer: tests. Third-party: cmocka. SPDX-License-Identifier: MIT */
#include "fs/path.h"
#include "fs/versions.h"

#include "util.h"

#include <fcntl.h>
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

#define S_WHEN 1796451300 /* 2026-12-05T06:15:00Z */
#define S_DAY  86400

typedef struct s_folder {
    char root[64];
    char outside[64];
    int fd;
} s_folder_t;

static void
s_rm(const char *path)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", path);
    CHECK(system(cmd) == 0);
}

static void
s_setup(s_folder_t *f)
{
    snprintf(f->root, sizeof f->root, "/tmp/test_versions.XXXXXX");
    snprintf(f->outside, sizeof f->outside, "/tmp/test_versions_out.XXXXXX");
    CHECK(mkdtemp(f->root) && mkdtemp(f->outside));
    f->fd = open(f->root, O_RDONLY | O_DIRECTORY);
    CHECK(f->fd >= 0);
}

static void
s_teardown(s_folder_t *f)
{
    close(f->fd);
    s_rm(f->root);
    s_rm(f->outside);
}

/* Write text at dir/rel, making its directories. */
static void
s_write(const char *dir, const char *rel, const char *text)
{
    char p[4200], cmd[4300];
    snprintf(p, sizeof p, "%s/%s", dir, rel);
    char *slash = strrchr(p, '/');
    *slash = '\0';
    snprintf(cmd, sizeof cmd, "mkdir -p '%s'", p);
    CHECK(system(cmd) == 0);
    *slash = '/';
    FILE *fp = fopen(p, "w");
    CHECK(fp);
    fputs(text, fp);
    CHECK(fclose(fp) == 0);
}

/* The content of dir/rel, or "" (a static buffer) when it cannot be read. */
static const char *
s_read(const char *dir, const char *rel)
{
    static char buf[256];
    char p[4200];
    snprintf(p, sizeof p, "%s/%s", dir, rel);
    buf[0] = '\0';
    FILE *fp = fopen(p, "r");
    if (fp) {
        size_t n = fread(buf, 1, sizeof buf - 1, fp);
        buf[n] = '\0';
        fclose(fp);
    }
    return buf;
}

static bool
s_exists(const char *dir, const char *rel)
{
    char p[4200];
    struct stat st;
    snprintf(p, sizeof p, "%s/%s", dir, rel);
    return lstat(p, &st) == 0;
}

static void
test_versions_keep(void **state)
{
    (void)state;
    s_folder_t f;
    char why[200];
    s_setup(&f);
    s_write(f.root, "d/a.txt", "v1");
    CHECK_OK(versions_keep(f.fd, "d/a.txt", S_WHEN, why, sizeof why));
    CHECK(!s_exists(f.root, "d/a.txt"));
    CHECK(strcmp(s_read(f.root, ".meshsync/versions/d/a~20261205-061500.txt"), "v1") == 0);
    struct stat st;
    char p[200];
    snprintf(p, sizeof p, "%s/.meshsync/versions", f.root);
    CHECK(stat(p, &st) == 0 && (st.st_mode & 0777) == 0700);

    /* the same second again: the next one, the first kept */
    s_write(f.root, "d/a.txt", "v2");
    CHECK_OK(versions_keep(f.fd, "d/a.txt", S_WHEN, why, sizeof why));
    CHECK(strcmp(s_read(f.root, ".meshsync/versions/d/a~20261205-061500.txt"), "v1") == 0);
    CHECK(strcmp(s_read(f.root, ".meshsync/versions/d/a~20261205-061501.txt"), "v2") == 0);

    /* no extension, a dotfile, several dots */
    s_write(f.root, "Makefile", "m");
    s_write(f.root, ".bashrc", "b");
    s_write(f.root, "x/a.tar.gz", "t");
    CHECK_OK(versions_keep(f.fd, "Makefile", S_WHEN, why, sizeof why));
    CHECK_OK(versions_keep(f.fd, ".bashrc", S_WHEN, why, sizeof why));
    CHECK_OK(versions_keep(f.fd, "x/a.tar.gz", S_WHEN, why, sizeof why));
    CHECK(strcmp(s_read(f.root, ".meshsync/versions/Makefile~20261205-061500"), "m") == 0);
    CHECK(strcmp(s_read(f.root, ".meshsync/versions/.bashrc~20261205-061500"), "b") == 0);
    CHECK(strcmp(s_read(f.root, ".meshsync/versions/x/a.tar~20261205-061500.gz"), "t") == 0);

    /* refused, nothing moved */
    CHECK_EQ(versions_keep(f.fd, "d/none", S_WHEN, why, sizeof why), MESH_ENOTFOUND);
    CHECK_EQ(versions_keep(f.fd, "nodir/none", S_WHEN, why, sizeof why), MESH_ENOTFOUND);
    CHECK_EQ(versions_keep(f.fd, "d", S_WHEN, why, sizeof why), MESH_EINVAL); /* a directory */
    CHECK_EQ(versions_keep(f.fd, "../x", S_WHEN, why, sizeof why), MESH_EINVAL);
    CHECK(strstr(why, "component 1 is \"..\"")); /* path_check's own reason */
    CHECK_EQ(versions_keep(f.fd, "/etc/passwd", S_WHEN, why, sizeof why), MESH_EINVAL);
    CHECK_EQ(versions_keep(f.fd, ".meshsync/versions/x", S_WHEN, why, sizeof why), MESH_EINVAL);
    s_write(f.root, "e.txt", "e");
    CHECK_EQ(versions_keep(f.fd, "e.txt", -1, why, sizeof why), MESH_EINVAL);
    CHECK(strcmp(s_read(f.root, "e.txt"), "e") == 0);

    /* 60 taken stamps: MESH_EEXIST, the file stays */
    for (int i = 0; i < 60; i++) {
        char rel[64], text[16];
        snprintf(rel, sizeof rel, ".meshsync/versions/e~20261205-0616%02d.txt", i);
        snprintf(text, sizeof text, "%d", i);
        s_write(f.root, rel, text);
    }
    CHECK_EQ(versions_keep(f.fd, "e.txt", S_WHEN + 60, why, sizeof why), MESH_EEXIST);
    CHECK(strcmp(s_read(f.root, "e.txt"), "e") == 0);
    CHECK(strcmp(s_read(f.root, ".meshsync/versions/e~20261205-061600.txt"), "0") == 0);
    s_teardown(&f);
}

static void
test_versions_symlinks(void **state)
{
    (void)state;
    s_folder_t f;
    char why[200], p[200], q[200];
    s_setup(&f);
    s_write(f.outside, "x", "secret");

    /* a symlink as a directory in the way: refused, the outside file untouched */
    snprintf(p, sizeof p, "%s/link", f.root);
    CHECK(symlink(f.outside, p) == 0);
    CHECK_EQ(versions_keep(f.fd, "link/x", S_WHEN, why, sizeof why), MESH_EINVAL);
    CHECK(strstr(why, "symlink"));
    CHECK(strcmp(s_read(f.outside, "x"), "secret") == 0);

    /* a symlink as the file: the link is kept as a version, its target untouched */
    snprintf(p, sizeof p, "%s/s", f.root);
    snprintf(q, sizeof q, "%s/x", f.outside);
    CHECK(symlink(q, p) == 0);
    CHECK_OK(versions_keep(f.fd, "s", S_WHEN, why, sizeof why));
    snprintf(p, sizeof p, "%s/.meshsync/versions/s~20261205-061500", f.root);
    struct stat st;
    CHECK(lstat(p, &st) == 0 && S_ISLNK(st.st_mode));
    CHECK(strcmp(s_read(f.outside, "x"), "secret") == 0);
    s_rm(f.root);
    CHECK(mkdir(f.root, 0700) == 0);
    close(f.fd);
    f.fd = open(f.root, O_RDONLY | O_DIRECTORY);

    /* .meshsync/versions a symlink to outside: nothing moved there */
    snprintf(p, sizeof p, "%s/.meshsync", f.root);
    CHECK(mkdir(p, 0700) == 0);
    snprintf(p, sizeof p, "%s/.meshsync/versions", f.root);
    CHECK(symlink(f.outside, p) == 0);
    s_write(f.root, "a.txt", "a");
    CHECK_EQ(versions_keep(f.fd, "a.txt", S_WHEN, why, sizeof why), MESH_EINVAL);
    CHECK(strcmp(s_read(f.root, "a.txt"), "a") == 0);
    CHECK(!s_exists(f.outside, "a~20261205-061500.txt"));
    versions_list_t l;
    CHECK_EQ(versions_list(f.fd, "a.txt", &l, why, sizeof why), MESH_EINVAL);
    CHECK_EQ(versions_expire(f.fd, S_WHEN, 1, NULL, why, sizeof why), MESH_EINVAL);
    CHECK(strcmp(s_read(f.outside, "x"), "secret") == 0);
    s_teardown(&f);
}

static void
test_versions_list_restore(void **state)
{
    (void)state;
    s_folder_t f;
    char why[200];
    versions_list_t l;
    s_setup(&f);
    CHECK_OK(versions_list(f.fd, "d/a.txt", &l, why, sizeof why)); /* nothing kept yet */
    CHECK_EQ(l.n, 0);
    s_write(f.root, "d/a.txt", "one");
    CHECK_OK(versions_keep(f.fd, "d/a.txt", S_WHEN - 2 * S_DAY, why, sizeof why));
    s_write(f.root, "d/a.txt", "two!");
    CHECK_OK(versions_keep(f.fd, "d/a.txt", S_WHEN - S_DAY, why, sizeof why));
    /* names that are not versions of d/a.txt */
    s_write(f.root, ".meshsync/versions/d/a~garbage.txt", "g");
    s_write(f.root, ".meshsync/versions/d/a~20261205-061500.md", "other ext");
    s_write(f.root, ".meshsync/versions/d/ab~20261205-061500.txt", "other name");
    s_write(f.root, ".meshsync/versions/d/a~20260230-000000.txt", "no such day");
    CHECK_OK(versions_list(f.fd, "d/a.txt", &l, why, sizeof why));
    CHECK_EQ(l.n, 2);
    CHECK_EQ(l.v[0].when, S_WHEN - S_DAY);
    CHECK_EQ(l.v[0].size, 4);
    CHECK(strcmp(l.v[0].name, "a~20261204-061500.txt") == 0);
    CHECK_EQ(l.v[1].when, S_WHEN - 2 * S_DAY);
    versions_release(&l);

    /* before the first: nothing changes */
    int64_t got = 0;
    s_write(f.root, "d/a.txt", "three");
    CHECK_EQ(versions_restore(f.fd, "d/a.txt", S_WHEN - 3 * S_DAY, S_WHEN, &got, why, sizeof why),
             MESH_ENOTFOUND);
    CHECK(strcmp(s_read(f.root, "d/a.txt"), "three") == 0);

    /* at a time between the two: the older one back, the current kept first */
    CHECK_OK(versions_restore(f.fd, "d/a.txt", S_WHEN - S_DAY - 1, S_WHEN, &got, why, sizeof why));
    CHECK_EQ(got, S_WHEN - 2 * S_DAY);
    CHECK(strcmp(s_read(f.root, "d/a.txt"), "one") == 0);
    CHECK(strcmp(s_read(f.root, ".meshsync/versions/d/a~20261205-061500.txt"), "three") == 0);
    {   /* swapped, not copied: one link each, the old version's name gone */
        char p1[200], p2[200];
        struct stat s1, s2;
        snprintf(p1, sizeof p1, "%s/d/a.txt", f.root);
        snprintf(p2, sizeof p2, "%s/.meshsync/versions/d/a~20261205-061500.txt", f.root);
        CHECK(lstat(p1, &s1) == 0 && lstat(p2, &s2) == 0);
        CHECK_EQ(s1.st_nlink, 1);
        CHECK_EQ(s2.st_nlink, 1);
        CHECK(!s_exists(f.root, ".meshsync/versions/d/a~20261203-061500.txt"));
    }
    CHECK_OK(versions_list(f.fd, "d/a.txt", &l, why, sizeof why));
    CHECK_EQ(l.n, 2);
    CHECK_EQ(l.v[0].when, S_WHEN);
    CHECK_EQ(l.v[1].when, S_WHEN - S_DAY);
    versions_release(&l);

    /* the newest, into a folder whose directory d was deleted meanwhile */
    char p[200];
    snprintf(p, sizeof p, "%s/d/a.txt", f.root);
    CHECK(unlink(p) == 0);
    snprintf(p, sizeof p, "%s/d", f.root);
    CHECK(rmdir(p) == 0);
    CHECK_OK(versions_restore(f.fd, "d/a.txt", INT64_MAX, S_WHEN + 5, &got, why, sizeof why));
    CHECK_EQ(got, S_WHEN);
    CHECK(strcmp(s_read(f.root, "d/a.txt"), "three") == 0);
    CHECK_OK(versions_list(f.fd, "d/a.txt", &l, why, sizeof why));
    CHECK_EQ(l.n, 1); /* nothing was there to keep */
    versions_release(&l);

    /* a directory where the file was: refused */
    s_write(f.root, "e/f", "x");
    s_write(f.root, ".meshsync/versions/e~20261205-061500", "old e");
    CHECK_EQ(versions_restore(f.fd, "e", INT64_MAX, S_WHEN, &got, why, sizeof why), MESH_EINVAL);
    CHECK(strcmp(s_read(f.root, ".meshsync/versions/e~20261205-061500"), "old e") == 0);
    s_teardown(&f);
}

static void
test_versions_expire(void **state)
{
    (void)state;
    s_folder_t f;
    char why[200];
    size_t removed = 99;
    s_setup(&f);
    CHECK_OK(versions_expire(f.fd, S_WHEN, 30, &removed, why, sizeof why)); /* none kept */
    CHECK_EQ(removed, 0);
    const int64_t ages[] = {0, 29 * S_DAY, 30 * S_DAY, 30 * S_DAY + 1, 400 * S_DAY};
    for (size_t i = 0; i < 5; i++) {
        char rel[32];
        snprintf(rel, sizeof rel, "d%zu/e/f.txt", i);
        s_write(f.root, rel, "x");
        CHECK_OK(versions_keep(f.fd, rel, S_WHEN - ages[i], why, sizeof why));
    }
    s_write(f.root, ".meshsync/versions/not-a-version.txt", "mine");
    s_write(f.root, ".meshsync/versions/old~20000101-000000.a.b", "not one either");

    CHECK_OK(versions_expire(f.fd, S_WHEN, 0, &removed, why, sizeof why)); /* off: none */
    CHECK_EQ(removed, 0);
    CHECK(s_exists(f.root, ".meshsync/versions/d4/e/f~20251031-061500.txt"));
    CHECK_EQ(versions_expire(f.fd, S_WHEN, VERSIONS_DAYS_MAX + 1, &removed, why, sizeof why),
             MESH_EINVAL);

    CHECK_OK(versions_expire(f.fd, S_WHEN, 30, &removed, why, sizeof why));
    CHECK_EQ(removed, 2); /* 30 days and a second, 400 days */
    CHECK(s_exists(f.root, ".meshsync/versions/d0/e/f~20261205-061500.txt"));
    CHECK(s_exists(f.root, ".meshsync/versions/d1/e"));
    CHECK(s_exists(f.root, ".meshsync/versions/d2/e")); /* exactly 30 days: kept */
    CHECK(!s_exists(f.root, ".meshsync/versions/d3")); /* emptied directories go */
    CHECK(!s_exists(f.root, ".meshsync/versions/d4"));
    CHECK(s_exists(f.root, ".meshsync/versions/not-a-version.txt"));
    CHECK(s_exists(f.root, ".meshsync/versions/old~20000101-000000.a.b"));
    CHECK(s_exists(f.root, ".meshsync/versions"));

    CHECK_OK(versions_expire(f.fd, S_WHEN + 365 * S_DAY, 1, &removed, why, sizeof why));
    CHECK_EQ(removed, 3);
    CHECK(!s_exists(f.root, ".meshsync/versions/d0"));
    s_teardown(&f);
}

/* A name at the component cap: its version name is cut, and still listed and expired. */
static void
test_versions_long_name(void **state)
{
    (void)state;
    s_folder_t f;
    char why[200], rel[PATH_NAME_MAX + 1];
    versions_list_t l;
    s_setup(&f);
    memset(rel, 'n', PATH_NAME_MAX - 4);
    memcpy(rel + PATH_NAME_MAX - 4, ".txt", 5);
    s_write(f.root, rel, "long");
    CHECK_OK(versions_keep(f.fd, rel, S_WHEN, why, sizeof why));
    CHECK_OK(versions_list(f.fd, rel, &l, why, sizeof why));
    CHECK_EQ(l.n, 1);
    CHECK_EQ(strlen(l.v[0].name), PATH_NAME_MAX);
    versions_release(&l);
    CHECK_OK(versions_restore(f.fd, rel, INT64_MAX, S_WHEN, NULL, why, sizeof why));
    CHECK(strcmp(s_read(f.root, rel), "long") == 0);
    CHECK_OK(versions_keep(f.fd, rel, S_WHEN, why, sizeof why));
    size_t removed = 0;
    CHECK_OK(versions_expire(f.fd, S_WHEN + 2 * S_DAY, 1, &removed, why, sizeof why));
    CHECK_EQ(removed, 1);
    s_teardown(&f);
}

/* versions_retire: kept with days > 0, removed with days 0 (versioning off), nothing done
 * for a path with no file. */
static void
test_versions_retire(void **state)
{
    (void)state;
    s_folder_t f;
    char why[200];
    versions_list_t l;
    s_setup(&f);
    s_write(f.root, "d/a.txt", "one");
    CHECK_OK(versions_retire(f.fd, "d/a.txt", S_WHEN, 30, why, sizeof why));
    CHECK(!s_exists(f.root, "d/a.txt"));
    CHECK_OK(versions_list(f.fd, "d/a.txt", &l, why, sizeof why));
    CHECK_EQ(l.n, 1);
    versions_release(&l);
    s_write(f.root, "d/a.txt", "two");
    CHECK_OK(versions_retire(f.fd, "d/a.txt", S_WHEN + 5, 0, why, sizeof why));
    CHECK(!s_exists(f.root, "d/a.txt"));
    CHECK_OK(versions_list(f.fd, "d/a.txt", &l, why, sizeof why));
    CHECK_EQ(l.n, 1); /* nothing new kept */
    versions_release(&l);
    CHECK_EQ(versions_retire(f.fd, "d/a.txt", S_WHEN, 0, why, sizeof why), MESH_ENOTFOUND);
    CHECK_EQ(versions_retire(f.fd, "../x", S_WHEN, 0, why, sizeof why), MESH_EINVAL);
    s_teardown(&f);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_versions_keep),   cmocka_unit_test(test_versions_symlinks),
        cmocka_unit_test(test_versions_list_restore), cmocka_unit_test(test_versions_expire),
        cmocka_unit_test(test_versions_long_name),    cmocka_unit_test(test_versions_retire),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
