/* tests/unit/test_scan.c: unit tests of fs/scan.c (docs/PROTOCOL.md §18.4): the root marker
 * (written, found, missing, another folder's, a missing root: each told apart, and a walk
 * then yields nothing), the walk (types, sizes, targets, order, .meshsync/ and special files
 * and bad names skipped, symlinks never followed), each kind of change noticed by metadata
 * alone, and a walk of an unchanged tree reading no file content (the process's read
 * counter, /proc/self/io, stays put while files of megabytes are walked).
 * Layer: tests. Third-party: cmocka. SPDX-License-Identifier: MIT */
#include "fs/scan.h"

#include "crypto/ident.h"
#include "fs/chunk.h"
#include "util.h"

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
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#define S_ID      "folder-1"
#define S_MAX_ENT 64

/* What a walk yielded, copied. */
typedef struct s_seen {
    size_t n;
    scan_entry_t e[S_MAX_ENT];
    char path[S_MAX_ENT][256];
    char target[S_MAX_ENT][256];
} s_seen_t;

static mesh_err_t
s_collect(void *ctx, const scan_entry_t *e)
{
    s_seen_t *s = ctx;
    if (s->n == S_MAX_ENT) {
        return MESH_ETOOBIG;
    }
    s->e[s->n] = *e;
    snprintf(s->path[s->n], sizeof s->path[0], "%s", e->path);
    s->e[s->n].path = s->path[s->n];
    if (e->target) {
        snprintf(s->target[s->n], sizeof s->target[0], "%s", e->target);
        s->e[s->n].target = s->target[s->n];
    }
    s->n++;
    return MESH_OK;
}

/* After a struct copy, point each entry at its copy's own strings. */
static void
s_fix_paths(s_seen_t *s)
{
    for (size_t i = 0; i < s->n; i++) {
        s->e[i].path = s->path[i];
        s->e[i].target = s->e[i].target ? s->target[i] : NULL;
    }
}

static const scan_entry_t *
s_find(const s_seen_t *s, const char *path)
{
    for (size_t i = 0; i < s->n; i++) {
        if (strcmp(s->path[i], path) == 0) {
            return &s->e[i];
        }
    }
    return NULL;
}

static char s_top[64], s_root[128];

static void
s_path(char *out, size_t len, const char *rel)
{
    snprintf(out, len, "%s/%s", s_root, rel);
}

static void
s_write(const char *rel, const void *p, size_t n)
{
    char path[512];
    s_path(path, sizeof path, rel);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    CHECK(fd >= 0);
    CHECK(write(fd, p, n) == (ssize_t)n);
    close(fd);
}

static void
s_mkdir(const char *rel)
{
    char path[512];
    s_path(path, sizeof path, rel);
    CHECK(mkdir(path, 0755) == 0);
}

static int
s_setup(void **state)
{
    (void)state;
    snprintf(s_top, sizeof s_top, "/tmp/test_scan.XXXXXX");
    if (!mkdtemp(s_top)) {
        return -1;
    }
    snprintf(s_root, sizeof s_root, "%s/root", s_top);
    return mkdir(s_root, 0755);
}

static int
s_teardown(void **state)
{
    (void)state;
    return util_rm_tree(s_top);
}

static mesh_err_t
s_walk(s_seen_t *seen, scan_stats_t *st, enum scan_root *rs)
{
    char why[256];
    memset(seen, 0, sizeof *seen);
    return scan_walk(s_root, S_ID, s_collect, seen, st, rs, why, sizeof why);
}

static void
test_scan_marker_states(void **state)
{
    (void)state;
    s_seen_t seen;
    scan_stats_t st;
    enum scan_root rs;
    char why[256], other[256];
    s_write("file", "x", 1);
    /* no marker: the walk stops before yielding anything */
    CHECK_EQ(s_walk(&seen, &st, &rs), MESH_ENOTFOUND);
    CHECK_EQ(rs, SCAN_ROOT_NO_MARKER);
    CHECK_EQ(seen.n, 0);
    CHECK_EQ(scan_root_check(s_root, S_ID, NULL, why, sizeof why), SCAN_ROOT_NO_MARKER);
    CHECK(strstr(why, "marker missing") != NULL);
    /* bad IDs */
    CHECK_EQ(scan_marker_write(s_root, "", why, sizeof why), MESH_EINVAL);
    CHECK_EQ(scan_marker_write(s_root, "a/b", why, sizeof why), MESH_EINVAL);
    CHECK_EQ(scan_marker_write(s_root, ".x", why, sizeof why), MESH_EINVAL);
    /* written (twice: the second finds it) */
    CHECK_OK(scan_marker_write(s_root, S_ID, why, sizeof why));
    CHECK_OK(scan_marker_write(s_root, S_ID, why, sizeof why));
    int fd = -1;
    CHECK_EQ(scan_root_check(s_root, S_ID, &fd, why, sizeof why), SCAN_ROOT_OK);
    CHECK(fd >= 0);
    close(fd);
    CHECK_OK(s_walk(&seen, &st, &rs));
    CHECK_EQ(rs, SCAN_ROOT_OK);
    CHECK_EQ(seen.n, 1); /* "file"; .meshsync/ is never yielded */
    /* another folder's root */
    CHECK_EQ(scan_root_check(s_root, "folder-2", &fd, why, sizeof why), SCAN_ROOT_OTHER);
    CHECK_EQ(fd, -1);
    CHECK_EQ(scan_marker_write(s_root, "folder-2", why, sizeof why), MESH_EEXIST);
    /* the marker deleted (a share that came back empty would look like this) */
    char marker[512];
    s_path(marker, sizeof marker, SCAN_MARKER);
    CHECK(unlink(marker) == 0);
    CHECK_EQ(s_walk(&seen, &st, &rs), MESH_ENOTFOUND);
    CHECK_EQ(rs, SCAN_ROOT_NO_MARKER);
    CHECK_EQ(seen.n, 0);
    /* the root gone (renamed away: an unmounted disk) */
    snprintf(other, sizeof other, "%s/moved", s_top);
    CHECK(rename(s_root, other) == 0);
    CHECK_EQ(s_walk(&seen, &st, &rs), MESH_ENOTFOUND);
    CHECK_EQ(rs, SCAN_ROOT_MISSING);
    CHECK_EQ(seen.n, 0);
    CHECK_EQ(scan_root_check(s_root, S_ID, NULL, why, sizeof why), SCAN_ROOT_MISSING);
    CHECK(strstr(why, "root missing") != NULL);
    CHECK_EQ(scan_marker_write(s_root, S_ID, why, sizeof why), MESH_ENOTFOUND);
    /* the root a file */
    int f = open(s_root, O_WRONLY | O_CREAT, 0644);
    CHECK(f >= 0);
    close(f);
    CHECK_EQ(scan_root_check(s_root, S_ID, NULL, why, sizeof why), SCAN_ROOT_MISSING);
    CHECK(unlink(s_root) == 0);
    CHECK(rename(other, s_root) == 0);
    CHECK(strcmp(scan_root_text(SCAN_ROOT_ERROR), scan_root_text(SCAN_ROOT_MISSING)) != 0);
}

static void
test_scan_walk_entries(void **state)
{
    (void)state;
    s_seen_t seen;
    scan_stats_t st;
    enum scan_root rs;
    char why[256], path[512];
    CHECK_OK(scan_marker_write(s_root, S_ID, why, sizeof why));
    s_mkdir("d");
    s_mkdir("d/empty");
    s_write("d/f2", "hello", 5);
    s_write("b", "bb", 2);
    s_write("a", "", 0);
    s_path(path, sizeof path, "d/link");
    CHECK(symlink("/etc", path) == 0); /* to a directory outside: never followed */
    s_path(path, sizeof path, "dirlink");
    CHECK(symlink("d", path) == 0); /* to a directory inside: a link, not walked */
    s_path(path, sizeof path, "fifo");
    CHECK(mkfifo(path, 0644) == 0);
    s_write("bad\xff", "x", 1); /* not UTF-8: no path may hold it */
    s_path(path, sizeof path, ".meshsync/own-file");
    int fd = open(path, O_WRONLY | O_CREAT, 0600);
    CHECK(fd >= 0);
    close(fd);
    CHECK_OK(s_walk(&seen, &st, &rs));
    const char *order[] = {"a", "b", "d", "d/empty", "d/f2", "d/link", "dirlink"};
    CHECK_EQ(seen.n, sizeof order / sizeof order[0]);
    for (size_t i = 0; i < seen.n; i++) {
        snprintf(util_where, sizeof util_where, "entry %zu: %s", i, seen.path[i]);
        CHECK(strcmp(seen.path[i], order[i]) == 0);
        CHECK_EQ(seen.e[i].path_len, strlen(order[i]));
        CHECK(!seen.e[i].unlisted);
    }
    util_where[0] = '\0';
    CHECK_EQ(s_find(&seen, "a")->type, SCAN_FILE);
    CHECK_EQ(s_find(&seen, "a")->size, 0);
    CHECK_EQ(s_find(&seen, "b")->size, 2);
    CHECK_EQ(s_find(&seen, "b")->mode, 0644);
    CHECK_EQ(s_find(&seen, "d")->type, SCAN_DIR);
    CHECK_EQ(s_find(&seen, "d/empty")->type, SCAN_DIR);
    CHECK_EQ(s_find(&seen, "d/f2")->size, 5);
    const scan_entry_t *l = s_find(&seen, "d/link");
    CHECK_EQ(l->type, SCAN_SYMLINK);
    CHECK(strcmp(l->target, "/etc") == 0);
    CHECK_EQ(l->size, 4);
    CHECK_EQ(s_find(&seen, "dirlink")->type, SCAN_SYMLINK);
    CHECK_EQ(st.files, 3);
    CHECK_EQ(st.dirs, 2);
    CHECK_EQ(st.symlinks, 2);
    CHECK_EQ(st.special, 1);
    CHECK_EQ(st.bad_names, 1);
    CHECK_EQ(st.unlisted, 0);
    struct stat sb;
    s_path(path, sizeof path, "b");
    CHECK(stat(path, &sb) == 0);
    CHECK_EQ(s_find(&seen, "b")->inode, sb.st_ino);
    CHECK_EQ(s_find(&seen, "b")->mtime_ns,
             (int64_t)sb.st_mtim.tv_sec * 1000000000 + sb.st_mtim.tv_nsec);
}

/* Set rel's mtime to the given seconds and nanoseconds, without following a link. */
static void
s_set_mtime(const char *rel, time_t sec, long nsec)
{
    char path[512];
    struct timespec ts[2] = {{0, UTIME_OMIT}, {sec, nsec}};
    s_path(path, sizeof path, rel);
    CHECK(utimensat(AT_FDCWD, path, ts, AT_SYMLINK_NOFOLLOW) == 0);
}

/* Walk again and return the one file or symlink whose entry changed against before (NULL:
 * none; fails on more than one, or on an entry added or gone). A directory's own entry
 * changes too when a name in it is made or renamed (its mtime): those are left out. */
static const char *
s_changed(const s_seen_t *before, s_seen_t *after)
{
    scan_stats_t st;
    enum scan_root rs;
    const char *which = NULL;
    CHECK_OK(s_walk(after, &st, &rs));
    CHECK_EQ(after->n, before->n);
    for (size_t i = 0; i < after->n; i++) {
        const scan_entry_t *known = s_find(before, after->path[i]);
        CHECK(known != NULL);
        if (after->e[i].type != SCAN_DIR && scan_changed(&after->e[i], known)) {
            snprintf(util_where, sizeof util_where, "changed: %s and %s", which ? which : "-",
                     after->path[i]);
            CHECK(which == NULL);
            which = after->path[i];
        }
    }
    util_where[0] = '\0';
    return which;
}

static void
test_scan_notices_each_change(void **state)
{
    (void)state;
    static s_seen_t a, b;
    scan_stats_t st;
    enum scan_root rs;
    char why[256], path[512], tmp[512];
    CHECK_OK(scan_marker_write(s_root, S_ID, why, sizeof why));
    s_mkdir("d");
    s_write("d/f", "12345678", 8);
    s_write("g", "abc", 3);
    s_set_mtime("d/f", 1000000, 5);
    s_set_mtime("g", 1000000, 5);
    CHECK_OK(s_walk(&a, &st, &rs));
    CHECK(s_changed(&a, &b) == NULL); /* nothing changed: nothing reported */
    /* content rewritten, same size, mtime put back: ctime still moves */
    s_write("d/f", "87654321", 8);
    s_set_mtime("d/f", 1000000, 5);
    CHECK(strcmp(s_changed(&a, &b), "d/f") == 0);
    CHECK_EQ(s_find(&b, "d/f")->size, 8);
    memcpy(&a, &b, sizeof a), s_fix_paths(&a);
    /* mtime alone (a touch) */
    s_set_mtime("g", 1000001, 5);
    CHECK(strcmp(s_changed(&a, &b), "g") == 0);
    memcpy(&a, &b, sizeof a), s_fix_paths(&a);
    /* size (an append) */
    s_path(path, sizeof path, "g");
    int fd = open(path, O_WRONLY | O_APPEND);
    CHECK(fd >= 0 && write(fd, "d", 1) == 1);
    close(fd);
    CHECK(strcmp(s_changed(&a, &b), "g") == 0);
    memcpy(&a, &b, sizeof a), s_fix_paths(&a);
    /* mode (chmod) */
    CHECK(chmod(path, 0600) == 0);
    CHECK(strcmp(s_changed(&a, &b), "g") == 0);
    CHECK_EQ(s_find(&b, "g")->mode, 0600);
    memcpy(&a, &b, sizeof a), s_fix_paths(&a);
    /* replaced by another file of the same size and mtime (an editor's save by rename) */
    s_write("d/f.new", "87654321", 8);
    s_set_mtime("d/f.new", 1000000, 5);
    s_path(tmp, sizeof tmp, "d/f.new");
    s_path(path, sizeof path, "d/f");
    CHECK(rename(tmp, path) == 0);
    CHECK(strcmp(s_changed(&a, &b), "d/f") == 0);
    CHECK(s_find(&b, "d/f")->inode != s_find(&a, "d/f")->inode);
    CHECK(scan_changed(s_find(&b, "d"), s_find(&a, "d"))); /* a name made in it */
    CHECK_EQ(s_find(&b, "d/f")->mtime_ns, s_find(&a, "d/f")->mtime_ns);
    CHECK_EQ(s_find(&b, "d/f")->size, s_find(&a, "d/f")->size);
    memcpy(&a, &b, sizeof a), s_fix_paths(&a);
    /* a file replaced by a symlink of the same length */
    CHECK(unlink(path) == 0);
    CHECK(symlink("12345678", path) == 0);
    CHECK(strcmp(s_changed(&a, &b), "d/f") == 0);
    CHECK_EQ(s_find(&b, "d/f")->type, SCAN_SYMLINK);
}

/* Each field on its own makes scan_changed true; equal entries make it false. */
static void
test_scan_changed_fields(void **state)
{
    (void)state;
    scan_entry_t k = {.path = "p",
                      .path_len = 1,
                      .type = SCAN_FILE,
                      .mode = 0644,
                      .size = 10,
                      .mtime_ns = 100,
                      .ctime_ns = 200,
                      .inode = 7};
    scan_entry_t n = k;
    CHECK(!scan_changed(&n, &k));
    n.size = 11;
    CHECK(scan_changed(&n, &k));
    n = k;
    n.mtime_ns = 101;
    CHECK(scan_changed(&n, &k));
    n = k;
    n.ctime_ns = 201;
    CHECK(scan_changed(&n, &k));
    n = k;
    n.inode = 8;
    CHECK(scan_changed(&n, &k));
    n = k;
    n.mode = 0600;
    CHECK(scan_changed(&n, &k));
    n = k;
    n.type = SCAN_DIR;
    CHECK(scan_changed(&n, &k));
    n = k;
}

/* The bytes this process has read through read() and pread() so far (/proc/self/io). */
static uint64_t
s_rchar(void)
{
    FILE *f = fopen("/proc/self/io", "r");
    char line[128];
    uint64_t v = UINT64_MAX;
    if (!f) {
        return UINT64_MAX;
    }
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "rchar:", 6) == 0) {
            v = strtoull(line + 6, NULL, 10);
        }
    }
    fclose(f);
    return v;
}

static void
test_scan_reads_no_content(void **state)
{
    (void)state;
    static s_seen_t a, b;
    scan_stats_t st;
    enum scan_root rs;
    char why[256];
    CHECK_OK(scan_marker_write(s_root, S_ID, why, sizeof why));
    size_t len = 2u << 20;
    uint8_t *data = malloc(len);
    CHECK(data != NULL);
    util_fill(data, len, 9);
    s_mkdir("big");
    for (int i = 0; i < 4; i++) {
        char rel[32];
        snprintf(rel, sizeof rel, "big/f%d", i);
        s_write(rel, data, len);
    }
    CHECK_OK(s_walk(&a, &st, &rs));
    if (s_rchar() == UINT64_MAX) {
        skip(); /* no /proc/self/io here */
    }
    uint64_t r0 = s_rchar();
    CHECK(s_changed(&a, &b) == NULL);
    uint64_t r1 = s_rchar();
    /* 8 MiB of files walked: what was read is the marker and /proc's own text */
    snprintf(util_where, sizeof util_where, "a walk of an unchanged tree read %llu bytes",
             (unsigned long long)(r1 - r0));
    CHECK(r1 - r0 < 4096);
    /* the counter does see content reads: chunking one file reads all of it */
    char path[512];
    s_path(path, sizeof path, "big/f2");
    int fd = open(path, O_RDONLY);
    CHECK(fd >= 0);
    chunk_block_t *blocks = NULL;
    size_t n = 0;
    uint64_t got = 0;
    CHECK_OK(chunk_fd(fd, NULL, SIZE_MAX, &blocks, &n, &got));
    close(fd);
    free(blocks);
    CHECK(s_rchar() - r1 >= len);
    util_where[0] = '\0';
    /* and unreadable content does not stop a walk (meaningful when not root) */
    CHECK(chmod(path, 0) == 0);
    CHECK_OK(s_walk(&b, &st, &rs));
    CHECK_EQ(b.n, a.n);
    free(data);
}

int
main(void)
{
    if (ident_lib_init() != MESH_OK) {
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_scan_marker_states, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_scan_walk_entries, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_scan_notices_each_change, s_setup, s_teardown),
        cmocka_unit_test(test_scan_changed_fields),
        cmocka_unit_test_setup_teardown(test_scan_reads_no_content, s_setup, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
