/* tests/unit/test_ignore.c: unit tests of fs/ignore.c (docs/PROTOCOL.md §19.1): the examples
 * of git's gitignore documentation, anchoring, directories only, negation (last match wins,
 * nothing re-included under an ignored directory), `*` `?` `[...]` within a component,
 * `**` across components, escapes, comments, CRLF, non-ASCII names; every parse error and
 * cap with its line; ignore_load through a real temp folder (a symlink refused); and
 * patterns built to backtrack exponentially, which must still answer at once.
 * Layer: tests. Third-party: cmocka. SPDX-License-Identifier: MIT */
#include "fs/ignore.h"

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
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

static ignore_set_t *
s_set(const char *text)
{
    ignore_set_t *set = NULL;
    char why[200];
    mesh_err_t err = ignore_parse(text, strlen(text), &set, why, sizeof why);
    if (err != MESH_OK) {
        fail_msg("'%s' refused: %s", text, why);
    }
    return set;
}

/* path (a directory when it ends in '/', which is not passed) must be ignored or not */
static void
s_is(const ignore_set_t *set, const char *path, bool want, int line)
{
    size_t len = strlen(path);
    bool dir = len > 0 && path[len - 1] == '/';
    bool got = ignore_match(set, path, dir ? len - 1 : len, dir);
    if (got != want) {
        fail_msg("line %d: '%s' is %s, expected %s", line, path, got ? "ignored" : "kept",
                 want ? "ignored" : "kept");
    }
}
#define IGN(set, p)  s_is(set, p, true, __LINE__)
#define KEEP(set, p) s_is(set, p, false, __LINE__)

static void
s_bad(const char *text, size_t len, mesh_err_t want, const char *reason)
{
    ignore_set_t *set = (ignore_set_t *)1;
    char why[200];
    mesh_err_t err = ignore_parse(text, len, &set, why, sizeof why);
    snprintf(util_where, sizeof util_where, "pattern text '%.60s'", text);
    CHECK_EQ(err, want);
    CHECK(set == NULL);
    if (!strstr(why, reason)) {
        fail_msg("'%s' does not say '%s'", why, reason);
    }
    util_where[0] = '\0';
}

/* git's documentation, its examples one by one */
static void
test_ignore_git_examples(void **state)
{
    (void)state;
    ignore_set_t *s = s_set("hello.*\n");
    IGN(s, "hello.c");
    IGN(s, "a/b/hello.txt");
    IGN(s, "hello.d/");
    KEEP(s, "hello");
    KEEP(s, "ahello.c");
    ignore_free(s);

    s = s_set("foo/\n"); /* the directory foo and everything under it, not a file foo */
    IGN(s, "foo/");
    IGN(s, "foo/x");
    IGN(s, "a/foo/");
    IGN(s, "a/foo/b/c");
    KEEP(s, "foo");
    KEEP(s, "a/foo");
    ignore_free(s);

    s = s_set("doc/frotz/\n"); /* a middle '/': relative to the root only */
    IGN(s, "doc/frotz/");
    IGN(s, "doc/frotz/x.txt");
    KEEP(s, "a/doc/frotz/");
    KEEP(s, "doc/frotz");
    ignore_free(s);

    s = s_set("frotz/\n"); /* a trailing '/' only: any level */
    IGN(s, "frotz/");
    IGN(s, "a/frotz/");
    KEEP(s, "a/frotz");
    ignore_free(s);

    ignore_set_t *s1 = s_set("doc/frotz\n"), *s2 = s_set("/doc/frotz\n"); /* the same */
    const char *paths[] = {"doc/frotz", "doc/frotz/", "doc/frotz/x", "a/doc/frotz", "frotz"};
    for (size_t i = 0; i < 5; i++) {
        size_t len = strlen(paths[i]);
        bool d = paths[i][len - 1] == '/';
        CHECK_EQ(ignore_match(s1, paths[i], len - d, d), ignore_match(s2, paths[i], len - d, d));
    }
    IGN(s1, "doc/frotz");
    KEEP(s1, "a/doc/frotz");
    ignore_free(s1);
    ignore_free(s2);

    s = s_set("foo/*\n"); /* foo/test.json and foo/bar, and (its parent) foo/bar/hello.c */
    IGN(s, "foo/test.json");
    IGN(s, "foo/bar/");
    IGN(s, "foo/bar/hello.c");
    KEEP(s, "foo/");
    KEEP(s, "a/foo/test.json");
    ignore_free(s);

    s = s_set("**/foo\n"); /* foo anywhere */
    IGN(s, "foo");
    IGN(s, "a/foo");
    IGN(s, "a/b/foo/");
    KEEP(s, "foox");
    ignore_free(s);

    s = s_set("**/foo/bar\n"); /* bar directly under a foo anywhere */
    IGN(s, "foo/bar");
    IGN(s, "x/y/foo/bar");
    KEEP(s, "foo/x/bar");
    KEEP(s, "bar");
    ignore_free(s);

    s = s_set("abc/**\n"); /* everything inside abc, not abc itself */
    KEEP(s, "abc/");
    IGN(s, "abc/x");
    IGN(s, "abc/x/y/");
    KEEP(s, "x/abc/y");
    ignore_free(s);

    s = s_set("a/**/b\n"); /* zero or more directories */
    IGN(s, "a/b");
    IGN(s, "a/x/b");
    IGN(s, "a/x/y/b");
    KEEP(s, "a/xb");
    KEEP(s, "x/a/b");
    ignore_free(s);

    /* everything but the directory foo/bar */
    s = s_set("# exclude everything except directory foo/bar\n/*\n!/foo\n/foo/*\n!/foo/bar\n");
    CHECK_EQ(ignore_count(s), 4);
    IGN(s, "x");
    IGN(s, "x/y");
    KEEP(s, "foo/");
    IGN(s, "foo/baz");
    KEEP(s, "foo/bar/");
    KEEP(s, "foo/bar/deep/file");
    ignore_free(s);
}

static void
test_ignore_negation(void **state)
{
    (void)state;
    ignore_set_t *s = s_set("*.html\n!foo.html\n");
    IGN(s, "a.html");
    KEEP(s, "foo.html");
    KEEP(s, "d/foo.html");
    ignore_free(s);

    s = s_set("!foo.html\n*.html\n"); /* the last match wins */
    IGN(s, "foo.html");
    ignore_free(s);

    /* a negated file under an ignored directory stays ignored (as in git) */
    s = s_set("build/\n!build/keep.txt\n!keep.txt\n");
    IGN(s, "build/keep.txt");
    IGN(s, "build/");
    KEEP(s, "keep.txt");
    ignore_free(s);

    s = s_set("\\!important!.txt\n"); /* an escaped '!' is a name */
    IGN(s, "!important!.txt");
    KEEP(s, "important!.txt");
    ignore_free(s);
}

static void
test_ignore_wildcards(void **state)
{
    (void)state;
    ignore_set_t *s = s_set("*.o\n");
    IGN(s, "a.o");
    IGN(s, ".o");
    IGN(s, "x/y/z.o");
    KEEP(s, "a.oo");
    KEEP(s, "a.o.c");
    ignore_free(s);

    s = s_set("/src/*.c\n"); /* '*' never crosses a '/' */
    IGN(s, "src/a.c");
    KEEP(s, "src/x/a.c");
    KEEP(s, "x/src/a.c");
    ignore_free(s);

    s = s_set("f?o\n");
    IGN(s, "foo");
    IGN(s, "f.o");
    IGN(s, "f\xc3\xbco"); /* one character, two bytes */
    KEEP(s, "fo");
    KEEP(s, "fooo");
    ignore_free(s);

    s = s_set("a?b\n"); /* '?' never matches a '/' (a/b is two components) */
    KEEP(s, "a/b");
    ignore_free(s);

    s = s_set("[abc].txt\nfile[0-9]\nx[!0-9]y\nz[^a-c]z\n[]]q\nr[a\\]]s\n[\xc3\xa0-\xc3\xbf]e\n");
    IGN(s, "a.txt");
    IGN(s, "c.txt");
    KEEP(s, "d.txt");
    IGN(s, "file7");
    KEEP(s, "filex");
    KEEP(s, "file10");
    IGN(s, "xay");
    KEEP(s, "x5y");
    IGN(s, "zdz");
    KEEP(s, "zbz");
    IGN(s, "]q");
    IGN(s, "r]s");
    IGN(s, "ras");
    IGN(s, "\xc3\xa9"
           "e"); /* U+00E9 in U+00E0..U+00FF */
    KEEP(s, "ee");
    ignore_free(s);

    s = s_set("***.log\na**b\n"); /* runs of '*' not a whole component are one '*' */
    IGN(s, "x.log");
    IGN(s, "x/y.log/z/"); /* the directory y.log is ignored, so z is too */
    IGN(s, "aXb");
    KEEP(s, "a/b");
    ignore_free(s);

    s = s_set("**\n"); /* everything */
    IGN(s, "a");
    IGN(s, "a/b/c");
    ignore_free(s);

    s = s_set("/**/x\n**/y/**\n"); /* anchored `**` still matches every level */
    IGN(s, "x");
    IGN(s, "a/b/x");
    KEEP(s, "y/");
    IGN(s, "y/z");
    IGN(s, "a/y/z");
    ignore_free(s);
}

static void
test_ignore_syntax(void **state)
{
    (void)state;
    /* comments, blank lines, CRLF, trailing spaces (unless escaped), escapes */
    ignore_set_t *s = s_set("# a comment\n\n   \n\\#hash\r\nsp   \nesc\\ \n\\*star\nq\\?\n"
                            "back\\\\slash\nlast-no-newline");
    CHECK_EQ(ignore_count(s), 7);
    IGN(s, "#hash");
    KEEP(s, "# a comment");
    IGN(s, "sp");
    KEEP(s, "sp   ");
    IGN(s, "esc ");
    KEEP(s, "esc");
    IGN(s, "*star");
    KEEP(s, "xstar");
    IGN(s, "q?");
    KEEP(s, "qx");
    IGN(s, "back\\slash");
    IGN(s, "last-no-newline");
    ignore_free(s);

    s = s_set("");
    CHECK_EQ(ignore_count(s), 0);
    KEEP(s, "anything");
    ignore_free(s);
    CHECK(!ignore_match(NULL, "a", 1, false));
    CHECK_EQ(ignore_count(NULL), 0);
    ignore_free(NULL);

    s = s_set("\xe6\x97\xa5\xe6\x9c\xac/\n*.\xc3\xa9t\xc3\xa9\n"); /* names in any UTF-8 */
    IGN(s, "x/\xe6\x97\xa5\xe6\x9c\xac/y");
    IGN(s, "a.\xc3\xa9t\xc3\xa9");
    ignore_free(s);

    s = s_set("/a\n");
    KEEP(s, "b/a");
    IGN(s, "a/b");
    ignore_free(s);

    /* only the bytes given are read */
    s = NULL;
    CHECK_OK(ignore_parse("abc\nxyz", 3, &s, NULL, 0));
    CHECK_EQ(ignore_count(s), 1);
    IGN(s, "abc");
    KEEP(s, "xyz");
    CHECK(!ignore_match(s, "abcdef", 3 - 3, false)); /* an empty path: nothing */
    CHECK(ignore_match(s, "abc/def", 3, true));
    ignore_free(s);
}

static void
test_ignore_errors(void **state)
{
    (void)state;
    s_bad("ok\n[abc\n", 8, MESH_EINVAL, "line 2: '[' without its ']'");
    s_bad("a\\", 2, MESH_EINVAL, "line 1: a trailing backslash");
    s_bad("!\n", 2, MESH_EINVAL, "line 1: nothing to match");
    s_bad("/\n", 2, MESH_EINVAL, "nothing to match");
    s_bad("!/\n", 3, MESH_EINVAL, "nothing to match");
    s_bad("x\na//b\n", 7, MESH_EINVAL, "line 2: empty component");
    s_bad("a\0b\n", 4, MESH_EINVAL, "line 1: a NUL byte");
    s_bad("\xff\n", 2, MESH_EINVAL, "line 1: not UTF-8");
    s_bad("\xc0\xaf\n", 3, MESH_EINVAL, "not UTF-8"); /* overlong '/' */
    s_bad("[\xff]\n", 4, MESH_EINVAL, "']'");

    /* the caps, at their edge */
    char *big = malloc(IGNORE_FILE_MAX + 2);
    CHECK(big);
    memset(big, '#', IGNORE_FILE_MAX + 1);
    ignore_set_t *s = NULL;
    CHECK_OK(ignore_parse(big, IGNORE_FILE_MAX, &s, NULL, 0)); /* one long comment line */
    ignore_free(s);
    s_bad(big, IGNORE_FILE_MAX + 1, MESH_ETOOBIG, "bytes (at most");

    memset(big, 'x', IGNORE_PATTERN_MAX + 1);
    CHECK_OK(ignore_parse(big, IGNORE_PATTERN_MAX, &s, NULL, 0));
    CHECK(ignore_match(s, big, IGNORE_PATTERN_MAX, false));
    ignore_free(s);
    big[IGNORE_PATTERN_MAX + 1] = '\0';
    s_bad(big, IGNORE_PATTERN_MAX + 1, MESH_ETOOBIG, "line 1: 1025 bytes");

    size_t n = 0;
    for (unsigned i = 0; i <= IGNORE_PATTERNS_MAX; i++) {
        n += (size_t)snprintf(big + n, 16, "p%u\n", i);
    }
    CHECK_OK(ignore_parse(big, n - 6, &s, NULL, 0)); /* without "p1000\n" */
    CHECK_EQ(ignore_count(s), IGNORE_PATTERNS_MAX);
    IGN(s, "p999");
    KEEP(s, "p1000");
    ignore_free(s);
    s_bad(big, n, MESH_ETOOBIG, "line 1001: more than 1000 patterns");
    free(big);
}

static double
s_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Patterns that make a backtracking matcher take exponential time (many stars, many `**`,
 * against a long path that almost matches) answer here in polynomial time: the whole case
 * takes well under a second (a backtracking matcher would not finish); no timing is
 * asserted, only that the answers are right. */
static void
test_ignore_no_blowup(void **state)
{
    (void)state;
    char pat[IGNORE_PATTERN_MAX + 1], path[4096];
    size_t n = 0;
    for (int i = 0; i < 200; i++) {
        pat[n++] = 'a';
        pat[n++] = '*';
    }
    pat[n++] = 'b';
    pat[n] = '\0';
    memset(path, 'a', 4000);
    path[4000] = '\0';
    ignore_set_t *s = s_set(pat);
    double t0 = s_now();
    KEEP(s, path);
    path[3999] = 'b';
    IGN(s, path);
    ignore_free(s);

    n = 0;
    for (int i = 0; i < 100; i++) {
        memcpy(pat + n, "**/a/", 5);
        n += 5;
    }
    memcpy(pat + n, "x", 2);
    s = s_set(pat);
    n = 0;
    for (int i = 0; i < 63; i++) {
        memcpy(path + n, "a/", 2);
        n += 2;
    }
    memcpy(path + n, "y", 2);
    KEEP(s, path);
    ignore_free(s);
    print_message("no blowup: %.3f s\n", s_now() - t0);
}

static void
test_ignore_load(void **state)
{
    (void)state;
    char root[] = "/tmp/test_ignore.XXXXXX", p[256], why[200];
    CHECK(mkdtemp(root));
    int rfd = open(root, O_RDONLY | O_DIRECTORY);
    CHECK(rfd >= 0);
    ignore_set_t *s = NULL;
    CHECK_OK(ignore_load(rfd, &s, why, sizeof why)); /* no file: an empty set */
    CHECK_EQ(ignore_count(s), 0);
    ignore_free(s);

    snprintf(p, sizeof p, "%s/%s", root, IGNORE_FILE);
    FILE *f = fopen(p, "w");
    CHECK(f);
    fputs("*.tmp\n!keep.tmp\n", f);
    fclose(f);
    CHECK_OK(ignore_load(rfd, &s, why, sizeof why));
    CHECK_EQ(ignore_count(s), 2);
    IGN(s, "a.tmp");
    KEEP(s, "keep.tmp");
    ignore_free(s);

    f = fopen(p, "w");
    CHECK(f);
    fputs("ok\n[bad\n", f);
    fclose(f);
    CHECK_EQ(ignore_load(rfd, &s, why, sizeof why), MESH_EINVAL);
    CHECK(s == NULL && strstr(why, "line 2"));

    /* a symlink is refused, never followed out of the folder */
    char target[300];
    snprintf(target, sizeof target, "%s.outside", root);
    f = fopen(target, "w");
    CHECK(f);
    fputs("*\n", f);
    fclose(f);
    CHECK(unlink(p) == 0 && symlink(target, p) == 0);
    CHECK_EQ(ignore_load(rfd, &s, why, sizeof why), MESH_EINVAL);
    CHECK(s == NULL && strstr(why, "symlink"));
    unlink(p);
    unlink(target);

    /* a directory there: refused */
    CHECK(mkdir(p, 0700) == 0);
    CHECK_EQ(ignore_load(rfd, &s, why, sizeof why), MESH_EINVAL);
    CHECK(s == NULL && strstr(why, "not a regular file"));
    CHECK(rmdir(p) == 0);

    /* too big */
    f = fopen(p, "w");
    CHECK(f);
    for (unsigned i = 0; i <= IGNORE_FILE_MAX / 8; i++) {
        fputs("#2345678", f);
    }
    fclose(f);
    CHECK_EQ(ignore_load(rfd, &s, why, sizeof why), MESH_ETOOBIG);
    unlink(p);
    close(rfd);
    CHECK(rmdir(root) == 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ignore_git_examples), cmocka_unit_test(test_ignore_negation),
        cmocka_unit_test(test_ignore_wildcards),    cmocka_unit_test(test_ignore_syntax),
        cmocka_unit_test(test_ignore_errors),       cmocka_unit_test(test_ignore_no_blowup),
        cmocka_unit_test(test_ignore_load),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
