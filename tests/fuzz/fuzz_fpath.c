/* tests/fuzz/fuzz_fpath.c: libFuzzer harness for the keys of a folder's index, the paths that
 * come from any member (docs/PROTOCOL.md §18.3, fs/path.c); fuzz_fentry has the values.
 * Every input is a path: path_check must agree with this file's own statement of the rule
 * (UTF-8 by the Unicode standard's table of well-formed byte sequences, not by decoding),
 * answer MESH_ETOOBIG only when a cap is passed and MESH_EINVAL only when another rule is
 * broken, and say why in one line of printable ASCII that fits why_len (no byte of the path
 * but a "." or ".." component). path_utf8 must agree with the table at the input's first
 * bytes. Then the input (up to a NUL) is opened, read-only and never making a directory,
 * with path_open_parent and path_open under a fixed tree in a temp directory (d/ and d/e/
 * directories, f a file, ln a link to a directory outside, d/l2 a link to e): each parent
 * that is a link or a file is refused (MESH_EINVAL), a missing one is MESH_ENOTFOUND, else
 * the parent opened is that very directory (by inode) and the name is the last component;
 * a link as the last component is refused too. Any breach abort()s.
 * Seeds: corpus/fpath/ (gen_corpus_fpath.c).
 * Layer: tests. Third-party: none. SPDX-License-Identifier: MIT */
#include "check.h"

#include "fs/path.h"

#include <fcntl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The length of the well-formed UTF-8 sequence at p[0..left) by the Unicode standard's
 * table 3-7; 0 when there is none. */
static size_t
s_utf8_len(const uint8_t *p, size_t left)
{
    uint8_t b = p[0], lo = 0x80, hi = 0xbf;
    size_t n;
    if (b <= 0x7f) {
        return 1;
    }
    if (b >= 0xc2 && b <= 0xdf) {
        n = 2;
    } else if (b >= 0xe0 && b <= 0xef) {
        n = 3;
        lo = b == 0xe0 ? 0xa0 : 0x80;
        hi = b == 0xed ? 0x9f : 0xbf;
    } else if (b >= 0xf0 && b <= 0xf4) {
        n = 4;
        lo = b == 0xf0 ? 0x90 : 0x80;
        hi = b == 0xf4 ? 0x8f : 0xbf;
    } else {
        return 0;
    }
    if (left < n || p[1] < lo || p[1] > hi) {
        return 0;
    }
    for (size_t i = 2; i < n; i++) {
        if (p[i] < 0x80 || p[i] > 0xbf) {
            return 0;
        }
    }
    return n;
}

/* The rule of §18.3, stated apart: *cap when a cap is passed, *other when another rule is
 * broken. */
static void
s_rule(const uint8_t *p, size_t len, bool *cap, bool *other)
{
    *cap = len > PATH_LEN_MAX;
    *other = len == 0;
    for (size_t i = 0; i < len;) {
        size_t n = s_utf8_len(p + i, len - i);
        if (n == 0 || p[i] == 0) {
            *other = true;
        }
        i += n ? n : 1;
    }
    size_t start = 0, depth = 0;
    for (size_t i = 0; i <= len && len > 0; i++) {
        if (i < len && p[i] != '/') {
            continue;
        }
        size_t clen = i - start;
        *cap |= clen > PATH_NAME_MAX || ++depth > PATH_DEPTH_MAX;
        *other |= clen == 0 || (clen == 1 && p[start] == '.') ||
                  (clen == 2 && p[start] == '.' && p[start + 1] == '.') ||
                  (depth == 1 && clen == 9 && memcmp(p, ".meshsync", 9) == 0);
        start = i + 1;
    }
}

static void
s_check(const uint8_t *data, size_t size)
{
    char why[160];
    size_t why_len = size ? 1 + data[0] % sizeof why : sizeof why;
    memset(why, 'X', sizeof why);
    mesh_err_t err = path_check((const char *)data, size, why, why_len);
    bool cap, other;
    s_rule(data, size, &cap, &other);
    if (!cap && !other) {
        CHECK(err == MESH_OK && why[0] == '\0');
        return;
    }
    CHECK((err == MESH_ETOOBIG && cap) || (err == MESH_EINVAL && other));
    size_t n = strnlen(why, why_len);
    CHECK(n < why_len && (n > 0 || why_len == 1));
    for (size_t i = 0; i < n; i++) {
        CHECK(why[i] >= 0x20 && why[i] < 0x7f);
    }
    CHECK(why_len == sizeof why || why[why_len] == 'X'); /* nothing written past why_len */
}

static void
s_utf8(const uint8_t *data, size_t size)
{
    for (size_t i = 0; i < size && i < 8; i++) {
        uint32_t cp = 0xffffffffu;
        size_t n = path_utf8(data + i, size - i, &cp);
        CHECK(n == s_utf8_len(data + i, size - i));
        if (n) {
            /* the code point encodes back to the very same bytes */
            uint8_t enc[4];
            size_t m = cp < 0x80      ? (enc[0] = (uint8_t)cp, 1)
                       : cp < 0x800   ? (enc[0] = (uint8_t)(0xc0 | cp >> 6), 2)
                       : cp < 0x10000 ? (enc[0] = (uint8_t)(0xe0 | cp >> 12), 3)
                                      : (enc[0] = (uint8_t)(0xf0 | cp >> 18), 4);
            for (size_t k = 1; k < m; k++) {
                enc[k] = (uint8_t)(0x80 | ((cp >> (6 * (m - 1 - k))) & 0x3f));
            }
            CHECK(m == n && memcmp(enc, data + i, n) == 0);
        }
    }
}

/* ---- the tree the paths are opened under ---- */

enum { S_DIR, S_FILE, S_LINK };
static const struct {
    const char *path;
    int kind;
} s_tree[] = {{"d", S_DIR}, {"d/e", S_DIR}, {"f", S_FILE}, {"ln", S_LINK}, {"d/l2", S_LINK}};
#define S_TREE_N (sizeof s_tree / sizeof s_tree[0])

static char s_top[64];
static int s_root = -1;
static ino_t s_ino[S_TREE_N + 1]; /* each directory's inode; the root's last */

static void
s_rmtree(void)
{
    char p[128];
    static const char *const order[] = {"root/d/l2", "root/d/e", "root/d", "root/f",
                                        "root/ln",   "root",     "outside"};
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++) {
        snprintf(p, sizeof p, "%s/%s", s_top, order[i]);
        if (unlink(p) != 0) {
            (void)rmdir(p);
        }
    }
    (void)rmdir(s_top);
}

static void
s_make_tree(void)
{
    const char *tmp = getenv("TMPDIR");
    char p[128];
    struct stat st;
    snprintf(s_top, sizeof s_top, "%s/fuzz_fpath.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    CHECK(strlen(s_top) < sizeof s_top - 1 && mkdtemp(s_top) != NULL);
    atexit(s_rmtree);
    snprintf(p, sizeof p, "%s/outside", s_top);
    CHECK(mkdir(p, 0700) == 0);
    snprintf(p, sizeof p, "%s/root", s_top);
    CHECK(mkdir(p, 0700) == 0);
    s_root = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    CHECK(s_root >= 0 && fstat(s_root, &st) == 0);
    s_ino[S_TREE_N] = st.st_ino;
    for (size_t i = 0; i < S_TREE_N; i++) {
        snprintf(p, sizeof p, "%s/root/%s", s_top, s_tree[i].path);
        if (s_tree[i].kind == S_DIR) {
            CHECK(mkdir(p, 0700) == 0 && stat(p, &st) == 0);
            s_ino[i] = st.st_ino;
        } else if (s_tree[i].kind == S_FILE) {
            int fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
            CHECK(fd >= 0 && close(fd) == 0);
        } else {
            CHECK(symlink(strcmp(s_tree[i].path, "ln") == 0 ? "../outside" : "e", p) == 0);
        }
    }
}

/* The kind of the first n bytes of rel in the tree: its index, or -1 when not there. */
static int
s_find(const char *rel, size_t n)
{
    for (size_t i = 0; i < S_TREE_N; i++) {
        if (strlen(s_tree[i].path) == n && memcmp(s_tree[i].path, rel, n) == 0) {
            return (int)i;
        }
    }
    return -1;
}

static void
s_open(const uint8_t *data, size_t size)
{
    char rel[PATH_LEN_MAX + 2];
    size_t len = strnlen((const char *)data, size);
    if (len > PATH_LEN_MAX + 1) {
        return;
    }
    memcpy(rel, data, len);
    rel[len] = '\0';
    if (s_root < 0) {
        s_make_tree();
    }
    /* What must happen: walk the parents through the tree. */
    mesh_err_t want = path_check(rel, len, NULL, 0);
    int parent = (int)S_TREE_N; /* the root */
    const char *last = rel;
    for (const char *s = strchr(rel, '/'); want == MESH_OK && s; s = strchr(s + 1, '/')) {
        int i = s_find(rel, (size_t)(s - rel));
        if (i < 0) {
            want = MESH_ENOTFOUND;
        } else if (s_tree[i].kind != S_DIR) {
            want = MESH_EINVAL;
        } else {
            parent = i;
            last = s + 1;
        }
    }
    int dir_fd = -2;
    const char *name = rel;
    mesh_err_t err = path_open_parent(s_root, rel, false, &dir_fd, &name, NULL, 0);
    CHECK(err == want);
    if (err != MESH_OK) {
        CHECK(dir_fd == -1 && name == NULL);
    } else {
        struct stat st;
        CHECK(name == last && fstat(dir_fd, &st) == 0 && st.st_ino == s_ino[parent]);
        CHECK(close(dir_fd) == 0);
    }
    /* The whole path, read-only: a link as the last component is refused as well. */
    int fd = -2;
    err = path_open(s_root, rel, O_RDONLY, 0, false, &fd, NULL, 0);
    if (want == MESH_OK) {
        int i = s_find(rel, len);
        want = i < 0 ? MESH_ENOTFOUND : s_tree[i].kind == S_LINK ? MESH_EINVAL : MESH_OK;
    }
    CHECK(err == want);
    CHECK((err == MESH_OK) == (fd >= 0));
    if (fd >= 0) {
        CHECK(close(fd) == 0);
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    s_check(data, size);
    s_utf8(data, size);
    s_open(data, size);
    return 0;
}
