/* tests/unit/test_conflict.c: unit tests of fs/conflict.c (docs/PROTOCOL.md §19.3): conflict
 * names for plain names, no extension, dotfiles, several dots, a dot in a directory, names
 * at the component cap (cut at a character boundary, the extension kept or given up), the
 * device ID's dashes skipped; stamps at their edges and impossible dates refused; and the
 * recognition of a conflict copy's name (so it is never conflicted again), not fooled by
 * near misses.
 * Layer: tests. Third-party: cmocka. SPDX-License-Identifier: MIT */
#include "fs/conflict.h"
#include "fs/path.h"

#include "util.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#define S_WHEN 1796451300 /* 2026-12-05T06:15:00Z */
#define S_DEV  "ABCDEF-GHIJKL-MNOPQR"

static void
s_name(const char *rel, const char *want)
{
    char out[PATH_LEN_MAX + 1];
    size_t n = 0;
    snprintf(util_where, sizeof util_where, "conflict name of '%s'", rel);
    CHECK_OK(conflict_name(rel, strlen(rel), S_WHEN, S_DEV, out, sizeof out, &n));
    CHECK_EQ(n, strlen(want));
    if (strcmp(out, want) != 0) {
        fail_msg("'%s' gave '%s', expected '%s'", rel, out, want);
    }
    int64_t when = 0;
    char dev[CONFLICT_DEVICE_LEN + 1];
    CHECK(conflict_is(out, n, &when, dev)); /* and it is recognised */
    CHECK_EQ(when, S_WHEN);
    CHECK(strcmp(dev, "ABCDEFG") == 0);
    CHECK(!conflict_is(rel, strlen(rel), NULL, NULL));
    util_where[0] = '\0';
}

static void
test_conflict_names(void **state)
{
    (void)state;
    s_name("a.txt", "a.sync-conflict-20261205-061500-ABCDEFG.txt");
    s_name("Makefile", "Makefile.sync-conflict-20261205-061500-ABCDEFG");
    s_name(".bashrc", ".bashrc.sync-conflict-20261205-061500-ABCDEFG");
    s_name("a.tar.gz", "a.tar.sync-conflict-20261205-061500-ABCDEFG.gz");
    s_name(".config.json", ".config.sync-conflict-20261205-061500-ABCDEFG.json");
    s_name("a.", "a..sync-conflict-20261205-061500-ABCDEFG");
    s_name("dir.d/file", "dir.d/file.sync-conflict-20261205-061500-ABCDEFG");
    s_name("x/y/\xc3\xa9t\xc3\xa9.md", "x/y/\xc3\xa9t\xc3\xa9.sync-conflict-20261205-061500-ABCDEFG.md");
    CHECK_EQ(conflict_ext_at("a.tar.gz", 8), 5);
    CHECK_EQ(conflict_ext_at(".bashrc", 7), 7);
    CHECK_EQ(conflict_ext_at("noext", 5), 5);
    CHECK_EQ(conflict_ext_at("a.", 2), 2);

    /* a short device, and one with fewer than 7 characters */
    char out[PATH_LEN_MAX + 1];
    size_t n;
    CHECK_OK(conflict_name("f", 1, 0, "ab1", out, sizeof out, &n));
    CHECK(strcmp(out, "f.sync-conflict-19700101-000000-ab1") == 0);
}

static void
test_conflict_long_names(void **state)
{
    (void)state;
    char rel[PATH_NAME_MAX + 8], out[PATH_LEN_MAX + 1];
    size_t n, tag = strlen(".sync-conflict-20261205-061500-ABCDEFG");
    /* a name at the cap: the base is cut, the extension kept, the component at the cap */
    memset(rel, 'n', PATH_NAME_MAX - 4);
    memcpy(rel + PATH_NAME_MAX - 4, ".txt", 5);
    CHECK_OK(conflict_name(rel, PATH_NAME_MAX, S_WHEN, S_DEV, out, sizeof out, &n));
    CHECK_EQ(n, PATH_NAME_MAX);
    CHECK(memcmp(out + PATH_NAME_MAX - 4, ".txt", 4) == 0);
    CHECK_EQ(strspn(out, "n"), PATH_NAME_MAX - 4 - tag);
    CHECK(path_check(out, n, NULL, 0) == MESH_OK);
    CHECK(conflict_is(out, n, NULL, NULL));

    /* two-byte characters: never cut inside one */
    for (size_t i = 0; i + 1 < PATH_NAME_MAX - 1; i += 2) {
        rel[i] = '\xc3';
        rel[i + 1] = '\xa9';
    }
    rel[PATH_NAME_MAX - 1] = '\0';
    CHECK_OK(conflict_name(rel, PATH_NAME_MAX - 1, S_WHEN, S_DEV, out, sizeof out, &n));
    CHECK(n <= PATH_NAME_MAX);
    CHECK(path_check(out, n, NULL, 0) == MESH_OK); /* still valid UTF-8 */
    CHECK(conflict_is(out, n, NULL, NULL));

    /* an extension too long to keep: taken as part of the base */
    rel[0] = 'a';
    rel[1] = '.';
    memset(rel + 2, 'x', PATH_NAME_MAX - 2);
    rel[PATH_NAME_MAX] = '\0';
    CHECK_OK(conflict_name(rel, PATH_NAME_MAX, S_WHEN, S_DEV, out, sizeof out, &n));
    CHECK_EQ(n, PATH_NAME_MAX);
    CHECK(strcmp(out + n - tag, ".sync-conflict-20261205-061500-ABCDEFG") == 0);

    /* a path at PATH_LEN_MAX has no room left */
    static char longp[PATH_LEN_MAX + 1];
    for (size_t i = 0; i < PATH_LEN_MAX; i++) {
        longp[i] = (i % 64 == 63) ? '/' : 'p';
    }
    longp[PATH_LEN_MAX - 1] = 'z';
    CHECK_EQ(conflict_name(longp, PATH_LEN_MAX, S_WHEN, S_DEV, out, sizeof out, &n),
             MESH_ETOOBIG);
    CHECK_EQ(n, 0);
    /* nor a too small out */
    CHECK_EQ(conflict_name("a.txt", 5, S_WHEN, S_DEV, out, 20, &n), MESH_ETOOBIG);
}

static void
test_conflict_refuses(void **state)
{
    (void)state;
    char out[PATH_LEN_MAX + 1];
    size_t n;
    CHECK_EQ(conflict_name("a", 1, -1, S_DEV, out, sizeof out, &n), MESH_EINVAL);
    CHECK_EQ(conflict_name("a", 1, 253402300800LL, S_DEV, out, sizeof out, &n), MESH_EINVAL);
    CHECK_EQ(conflict_name("a", 1, S_WHEN, "ab/cd", out, sizeof out, &n), MESH_EINVAL);
    CHECK_EQ(conflict_name("a", 1, S_WHEN, "", out, sizeof out, &n), MESH_EINVAL);
    CHECK_EQ(conflict_name("a", 1, S_WHEN, "---", out, sizeof out, &n), MESH_EINVAL);
    CHECK_EQ(conflict_name("a", 1, S_WHEN, NULL, out, sizeof out, &n), MESH_EINVAL);
    CHECK_EQ(conflict_name("../a", 4, S_WHEN, S_DEV, out, sizeof out, &n), MESH_EINVAL);
    CHECK_EQ(conflict_name("/a", 2, S_WHEN, S_DEV, out, sizeof out, &n), MESH_EINVAL);
    CHECK_EQ(conflict_name("", 0, S_WHEN, S_DEV, out, sizeof out, &n), MESH_EINVAL);
    CHECK_EQ(conflict_tag_path("a", 1, "x/y", 3, out, sizeof out, &n), MESH_EINVAL);
    CHECK_EQ(conflict_tag_path("a", 1, "", 0, out, sizeof out, &n), MESH_EINVAL);
    CHECK(out[0] == '\0' && n == 0);
}

static void
test_conflict_stamps(void **state)
{
    (void)state;
    char s[CONFLICT_STAMP_LEN + 1];
    int64_t t;
    CHECK_OK(conflict_stamp(0, s));
    CHECK(strcmp(s, "19700101-000000") == 0);
    CHECK_OK(conflict_stamp(253402300799LL, s));
    CHECK(strcmp(s, "99991231-235959") == 0);
    CHECK(conflict_stamp_parse(s, &t) && t == 253402300799LL);
    CHECK_OK(conflict_stamp(S_WHEN, s));
    CHECK(strcmp(s, "20261205-061500") == 0);
    CHECK(conflict_stamp_parse("20240229-120000", &t)); /* a leap day */
    const char *bad[] = {"20230229-120000", "20261305-000000", "20261200-000000",
                         "20261205-240000", "20261205-006000", "20261205-000060",
                         "20261205 061500", "2026120a-061500", "19691231-235959"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(util_where, sizeof util_where, "stamp %s", bad[i]);
        CHECK(!conflict_stamp_parse(bad[i], &t));
    }
    util_where[0] = '\0';
}

static void
test_conflict_recognise(void **state)
{
    (void)state;
    const char *yes[] = {"a.sync-conflict-20261205-061500-ABC.txt",
                         "a.sync-conflict-20261205-061500-A",
                         "d/x.sync-conflict-20261205-061500-ABCDEFG.tar.gz.sync-conflict-"
                         "20261206-000000-ZZZ",
                         "dir/.sync-conflict-20261205-061500-abc1234"};
    const char *no[] = {"a.txt",
                        "a.sync-conflict-20261305-061500-ABC.txt", /* month 13 */
                        "a.sync-conflict-20260230-061500-ABC.txt", /* February 30th */
                        "a.sync-conflict-20261205-061500-ABCDEFGH.txt", /* 8 characters */
                        "a.sync-conflict-20261205-061500-.txt",
                        "a.sync-conflict-20261205-061500-AB_C",
                        "a.sync-conflict-20261205-061500",
                        "a.sync-conflict-20261205-061500ABC",
                        "x.sync-conflict-20261205-061500-ABC/b.txt", /* a directory's name */
                        "a.sync-conflict-2026"};
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
        snprintf(util_where, sizeof util_where, "'%s'", yes[i]);
        CHECK(conflict_is(yes[i], strlen(yes[i]), NULL, NULL));
    }
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++) {
        snprintf(util_where, sizeof util_where, "'%s'", no[i]);
        CHECK(!conflict_is(no[i], strlen(no[i]), NULL, NULL));
    }
    util_where[0] = '\0';
    int64_t when;
    char dev[CONFLICT_DEVICE_LEN + 1];
    CHECK(conflict_is(yes[2], strlen(yes[2]), &when, dev)); /* the first tag in the name */
    CHECK_EQ(when, S_WHEN);
    CHECK(strcmp(dev, "ABCDEFG") == 0);
    /* only the bytes given are read */
    CHECK(!conflict_is(yes[0], 20, NULL, NULL));
}

/* The path a copy was named after: conflict_name's tag taken out again, for any name. */
static void
test_conflict_original(void **state)
{
    (void)state;
    const char *paths[] = {"a.txt", "d/e/a.tar.gz", "Makefile", "d/.bashrc", "a.", "x/y"};
    char copy[PATH_LEN_MAX + 1], back[PATH_LEN_MAX + 1];
    size_t n;
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        snprintf(util_where, sizeof util_where, "'%s'", paths[i]);
        CHECK_OK(conflict_name(paths[i], strlen(paths[i]), S_WHEN, "ABCDEFG-HIJ", copy,
                               sizeof copy, &n));
        CHECK_OK(conflict_original(copy, n, back, sizeof back));
        CHECK(strcmp(back, paths[i]) == 0);
        CHECK_EQ(conflict_original(copy, n, back, strlen(paths[i])), MESH_ETOOBIG);
    }
    util_where[0] = '\0';
    CHECK_EQ(conflict_original("a.txt", 5, back, sizeof back), MESH_EINVAL);
    CHECK_EQ(conflict_original("x.sync-conflict-2026", 20, back, sizeof back), MESH_EINVAL);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conflict_names),   cmocka_unit_test(test_conflict_long_names),
        cmocka_unit_test(test_conflict_refuses), cmocka_unit_test(test_conflict_stamps),
        cmocka_unit_test(test_conflict_recognise), cmocka_unit_test(test_conflict_original),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
