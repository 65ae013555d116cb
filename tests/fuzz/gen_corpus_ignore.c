/* tests/fuzz/gen_corpus_ignore.c: writes the seed corpus of fuzz_ignore into a directory: git's
 * documented examples, negations under ignored directories, classes, escapes, `**` in each
 * place, CRLF, non-UTF-8 and broken patterns, and the starred patterns a backtracking
 * matcher takes exponential time on; each with paths to match ('+': a directory).
 * Not built by the Makefile; run by hand after a syntax change, from the top directory:
 *   cc -std=c11 tests/fuzz/gen_corpus_ignore.c -o build/gen_corpus_ignore &&
 *     build/gen_corpus_ignore tests/fuzz/corpus/ignore
 * Layer: tests. Third-party: none. SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <string.h>

static int
s_put(const char *dir, const char *name, const char *text, const char *paths)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f) {
        fprintf(stderr, "cannot write %s\n", path);
        return 1;
    }
    fwrite(text, 1, strlen(text), f);
    fputc(0, f);
    fwrite(paths, 1, strlen(paths), f);
    return fclose(f) != 0;
}

int
main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: gen_corpus_ignore DIR\n");
        return 2;
    }
    const char *d = argv[1];
    char stars[512] = "";
    for (int i = 0; i < 60; i++) {
        strcat(stars, "a*");
    }
    strcat(stars, "b\n**/a/**/a/**/a/**/a/**/x\n");
    int bad = 0;
    bad |= s_put(d, "git-examples", "hello.*\nfoo/\ndoc/frotz/\n/doc/x\nfoo/*\n**/foo/bar\nabc/**\na/**/b\n",
                 "hello.c\n+foo\nfoo\na/foo/b\n+doc/frotz\nx/doc/frotz\nfoo/bar/hello.c\nabc\nabc/x\na/x/y/b");
    bad |= s_put(d, "except-foo-bar", "# everything but foo/bar\n/*\n!/foo\n/foo/*\n!/foo/bar\n",
                 "x\n+foo\nfoo/baz\n+foo/bar\nfoo/bar/deep/f");
    bad |= s_put(d, "negation", "*.html\n!foo.html\nbuild/\n!build/keep\n\\!lit\n",
                 "a.html\nfoo.html\nbuild/keep\n+build\n!lit");
    bad |= s_put(d, "classes", "[abc].t\nf[0-9]\nx[!0-9]y\nz[^a-c]z\n[]]q\nr[a\\]]s\n[\xc3\xa0-\xc3\xbf]e\n",
                 "a.t\nf7\nxay\nzdz\n]q\nr]s\n\xc3\xa9" "e");
    bad |= s_put(d, "escapes", "\\#h\r\nsp   \nesc\\ \n\\*s\nq\\?\nb\\\\s\n", "#h\nsp\nesc \n*s\nq?\nb\\s");
    bad |= s_put(d, "stars", stars, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n"
                                    "a/a/a/a/a/a/a/a/a/a/a/a/a/a/y");
    bad |= s_put(d, "broken-class", "ok\n[abc\n", "ok");
    bad |= s_put(d, "broken-backslash", "a\\", "a");
    bad |= s_put(d, "broken-utf8", "\xff\n", "\xff");
    bad |= s_put(d, "broken-empty", "!\n/\na//b\n", "a");
    bad |= s_put(d, "dirs-only", "*/\n/top/\n**/\n", "+a\na\n+top\ntop/x\n+x/y");
    bad |= s_put(d, "no-newline", "last", "last\nx/last\n+last/y");
    return bad;
}
