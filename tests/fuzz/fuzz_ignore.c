/* tests/fuzz/fuzz_ignore.c: libFuzzer harness for .meshignore patterns (docs/PROTOCOL.md §19.1,
 * fs/ignore.c), text that may come from any member when the file syncs. The input is the
 * pattern text, a NUL, then paths one a line (a leading '+' marks a directory). Must hold:
 * a parse either makes a set within the caps or fails with MESH_EINVAL / MESH_ETOOBIG /
 * MESH_ENOMEM, no set and a reason; a path under an ignored directory is ignored; the same
 * text with "**" added ignores every path that passes path_check, with "!**" added none;
 * each such path (without a CR), written as an anchored pattern with every special byte escaped, matches
 * itself and not itself with a byte added. Any breach abort()s.
 * Built with tests/fuzz/check.c by `make fuzz` (clang, libFuzzer) and, with
 * tests/fuzz/replay.c, by gcc for `make test`. Seeds: corpus/ignore/ (gen_corpus_ignore.c).
 * Layer: tests. Third-party: none. SPDX-License-Identifier: MIT */
#include "check.h"

#include "fs/ignore.h"
#include "fs/path.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define S_PATHS_MAX 16u /* paths of one input checked */

static ignore_set_t *
s_parse(const char *text, size_t len)
{
    ignore_set_t *set = (ignore_set_t *)1;
    char why[256] = "";
    mesh_err_t err = ignore_parse(text, len, &set, why, sizeof why);
    if (err != MESH_OK) {
        CHECK(err == MESH_EINVAL || err == MESH_ETOOBIG || err == MESH_ENOMEM);
        CHECK(set == NULL && why[0] != '\0');
        return NULL;
    }
    CHECK(set != NULL && ignore_count(set) <= IGNORE_PATTERNS_MAX);
    return set;
}

/* The text with one more line. */
static ignore_set_t *
s_parse_plus(const char *text, size_t len, const char *line)
{
    size_t n = strlen(line);
    char *t = malloc(len + n + 2);
    CHECK(t);
    if (len) {
        memcpy(t, text, len);
    }
    t[len] = '\n';
    memcpy(t + len + 1, line, n + 1);
    ignore_set_t *set = s_parse(t, len + 1 + n);
    free(t);
    return set;
}

static void
s_literal(const char *path, size_t len)
{
    char pat[2 * PATH_LEN_MAX + 2];
    size_t n = 0;
    if (len > IGNORE_PATTERN_MAX / 2 - 1 || memchr(path, '\r', len)) { /* a CR ends a line */
        return;
    }
    pat[n++] = '/';
    for (size_t i = 0; i < len; i++) {
        if (strchr("\\*?[!# \r", path[i])) {
            pat[n++] = '\\';
        }
        pat[n++] = path[i];
    }
    ignore_set_t *set = s_parse(pat, n);
    CHECK(set && ignore_count(set) == 1);
    CHECK(ignore_match(set, path, len, false));
    CHECK(ignore_match(set, path, len, true));
    char longer[PATH_LEN_MAX + 2];
    memcpy(longer, path, len);
    longer[len] = 'x';
    CHECK(!ignore_match(set, longer, len + 1, false));
    ignore_free(set);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nul = memchr(data, 0, size);
    size_t tlen = nul ? (size_t)(nul - data) : size;
    const char *text = (const char *)data;
    ignore_set_t *set = s_parse(text, tlen);
    ignore_set_t *all = set ? s_parse_plus(text, tlen, "**") : NULL;
    ignore_set_t *none = set ? s_parse_plus(text, tlen, "!**") : NULL;
    CHECK(!set || tlen + 4 > IGNORE_FILE_MAX || ignore_count(set) == IGNORE_PATTERNS_MAX ||
          (all && none));
    size_t at = nul ? tlen + 1 : size, paths = 0;
    while (at < size && paths++ < S_PATHS_MAX) {
        const uint8_t *nl = memchr(data + at, '\n', size - at);
        size_t end = nl ? (size_t)(nl - data) : size;
        const char *p = (const char *)data + at;
        size_t len = end - at;
        bool dir = len && p[0] == '+';
        p += dir, len -= dir;
        if (len) {
            bool ign = ignore_match(set, p, len, dir);
            for (size_t i = 1; i < len; i++) { /* an ignored parent: ignored */
                if (p[i] == '/' && p[i - 1] != '/' && ignore_match(set, p, i, true)) {
                    CHECK(ign);
                }
            }
            if (path_check(p, len, NULL, 0) == MESH_OK) { /* a real path */
                CHECK(!all || ignore_match(all, p, len, dir));
                CHECK(!none || !ignore_match(none, p, len, dir));
                s_literal(p, len);
            }
        }
        at = end + 1;
    }
    ignore_free(set);
    ignore_free(all);
    ignore_free(none);
    return 0;
}
