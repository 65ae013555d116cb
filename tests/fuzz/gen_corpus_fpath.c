/* tests/fuzz/gen_corpus_fpath.c: writes the seed corpus of fuzz_fpath into a directory:
 * paths through fuzz_fpath's tree (a directory, a file and links in the way, missing
 * parents), the broken forms of §18.3 (absolute, "..", ".", empty components, .meshsync/, a
 * NUL), UTF-8 at its edges (NFC and NFD names, overlong, surrogate, past U+10FFFF, cut), and
 * the caps with one to spare and one past (255-byte components, 64 components, 4095 bytes).
 * Not built by the Makefile; run by hand from the top directory:
 *   cc -std=c11 tests/fuzz/gen_corpus_fpath.c -o build/gen_corpus_fpath &&
 *     build/gen_corpus_fpath tests/fuzz/corpus/fpath
 * Layer: tests. Third-party: none. SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <string.h>

static int
s_write(const char *dir, const char *name, const char *p, size_t n)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || (n && fwrite(p, 1, n, f) != n) || fclose(f) != 0) {
        fprintf(stderr, "cannot write %s\n", path);
        return 1;
    }
    return 0;
}

/* n copies of the part (its length plen), joined by sep when sep is not 0, into buf. */
static size_t
s_repeat(char *buf, const char *part, size_t plen, size_t n, char sep)
{
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
        if (i && sep) {
            buf[len++] = sep;
        }
        memcpy(buf + len, part, plen);
        len += plen;
    }
    return len;
}

int
main(int argc, char **argv)
{
    static const struct {
        const char *name, *path;
        size_t len; /* 0: strlen */
    } seeds[] = {
        {"plain", "a.txt", 0},
        {"tree-dir", "d", 0},
        {"tree-deep", "d/e/x", 0},
        {"tree-file", "f", 0},
        {"tree-file-parent", "f/x", 0},
        {"tree-link", "ln", 0},
        {"tree-link-parent", "ln/x", 0},
        {"tree-link-inner", "d/l2/x", 0},
        {"tree-missing", "q/r/s", 0},
        {"absolute", "/etc/passwd", 0},
        {"dotdot", "d/../../x", 0},
        {"dot", "./a", 0},
        {"empty-component", "a//b", 0},
        {"trailing-slash", "a/", 0},
        {"private", ".meshsync/x", 0},
        {"private-deeper", "a/.meshsync", 0},
        {"nul", "a\0b", 3},
        {"spaces-newline", "x y/new\nline\t.txt", 0},
        {"nfc", "caf\xc3\xa9.txt", 0},
        {"nfd", "cafe\xcc\x81.txt", 0},
        {"four-bytes", "d/\xf0\x9f\x8e\x89", 0},
        {"overlong", "\xc0\xaf", 0},
        {"overlong-3", "\xe0\x80\xaf", 0},
        {"surrogate", "\xed\xa0\x80", 0},
        {"past-max", "\xf4\x90\x80\x80", 0},
        {"cut", "ab\xe6\x97", 0},
        {"lone-continuation", "\x80", 0},
    };
    if (argc != 2) {
        fprintf(stderr, "usage: %s DIR\n", argv[0]);
        return 2;
    }
    int rc = 0;
    for (size_t i = 0; i < sizeof seeds / sizeof seeds[0]; i++) {
        size_t n = seeds[i].len ? seeds[i].len : strlen(seeds[i].path);
        rc |= s_write(argv[1], seeds[i].name, seeds[i].path, n);
    }
    static char buf[8192];
    size_t n = s_repeat(buf, "n", 1, 255, 0);
    rc |= s_write(argv[1], "name-255", buf, n);
    n = s_repeat(buf, "n", 1, 256, 0);
    rc |= s_write(argv[1], "name-256", buf, n);
    n = s_repeat(buf, "\xc3\xa9", 2, 128, 0); /* 256 bytes, 128 characters */
    rc |= s_write(argv[1], "name-256-utf8", buf, n);
    n = s_repeat(buf, "c", 1, 64, '/');
    rc |= s_write(argv[1], "depth-64", buf, n);
    n = s_repeat(buf, "c", 1, 65, '/');
    rc |= s_write(argv[1], "depth-65", buf, n);
    char part[63];
    memset(part, 'p', sizeof part);
    n = s_repeat(buf, part, sizeof part, 64, '/'); /* 64 * 63 + 63 = 4095 bytes */
    rc |= s_write(argv[1], "len-4095", buf, n);
    buf[n++] = 'x';
    rc |= s_write(argv[1], "len-4096", buf, n);
    return rc;
}
