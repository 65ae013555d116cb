/* fs/ignore.c: .meshignore patterns (docs/PROTOCOL.md §19.1). Each pattern is compiled into
 * tokens over code points (a literal, `?`, a class, `*`, `**` then a slash as "any
 * directories", a slash then a trailing `**` as "anything inside") and matched by a
 * state-set simulation: one pass over the path, a set of token positions, so time is O(tokens x
 * characters) whatever the stars (no backtracking, nothing exponential). Layer: fs. Third-party:
 * none. SPDX-License-Identifier: MIT */
#include "fs/ignore.h"

#include "fs/path.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum {
    S_CHAR,    /* one code point, cp */
    S_ANY,     /* `?`: one code point but '/' */
    S_CLASS,   /* `[...]`: one code point but '/' in (or, neg, not in) ranges[cp..cp+n) */
    S_STAR,    /* `*`: any code points but '/', none too */
    S_ANYDIRS, /* a leading or middle `**` + '/': nothing, or anything ending in '/' */
    S_ANYPLUS, /* a trailing `**` after a '/', or a lone `**`: one code point or more */
};

typedef struct s_tok {
    uint8_t kind;
    uint8_t neg; /* S_CLASS: negated */
    uint32_t cp; /* S_CHAR: the code point; S_CLASS: the first range */
    uint32_t n;  /* S_CLASS: ranges */
} s_tok_t;

typedef struct s_range {
    uint32_t lo, hi;
} s_range_t;

typedef struct s_pat {
    size_t tok; /* first token in set->toks */
    size_t ntok;
    bool neg;      /* `!`: a match un-ignores */
    bool anchored; /* matched against the whole path, else against the last component */
    bool dir_only; /* a trailing '/': matches directories only */
} s_pat_t;

struct ignore_set {
    s_pat_t *pats;
    size_t npats, cap_pats;
    s_tok_t *toks;
    size_t ntoks, cap_toks;
    s_range_t *ranges;
    size_t nranges, cap_ranges;
};

static mesh_err_t s_why(mesh_err_t err, char *why, size_t why_len, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static mesh_err_t
s_why(mesh_err_t err, char *why, size_t why_len, const char *fmt, ...)
{
    if (why && why_len) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, why_len, fmt, ap);
        va_end(ap);
    }
    return err;
}

/* Grow an array to hold one more element. */
static bool
s_grow(void **arr, size_t *cap, size_t n, size_t elem)
{
    if (n < *cap) {
        return true;
    }
    size_t c = *cap ? *cap * 2 : 16;
    void *p = realloc(*arr, c * elem);
    if (!p) {
        return false;
    }
    *arr = p;
    *cap = c;
    return true;
}

static mesh_err_t
s_push_tok(ignore_set_t *s, uint8_t kind, uint32_t cp)
{
    if (!s_grow((void **)&s->toks, &s->cap_toks, s->ntoks, sizeof *s->toks)) {
        return MESH_ENOMEM;
    }
    s->toks[s->ntoks++] = (s_tok_t){.kind = kind, .cp = cp};
    return MESH_OK;
}

/* Parse the class whose '[' is at p[*i - 1], up to its ']' (p[0..n), the pattern's body);
 * *i ends past the ']'. MESH_EINVAL when it has no ']' or an escape at the end. */
static mesh_err_t
s_class(ignore_set_t *s, const uint8_t *p, size_t n, size_t *i)
{
    size_t j = *i;
    bool neg = false;
    if (j < n && (p[j] == '!' || p[j] == '^')) {
        neg = true;
        j++;
    }
    size_t first = s->nranges;
    bool start = true;
    for (;;) {
        if (j >= n) {
            return MESH_EINVAL;
        }
        if (p[j] == ']' && !start) {
            j++;
            break;
        }
        start = false;
        uint32_t lo, hi;
        size_t k;
        if (p[j] == '\\') {
            j++;
            if (j >= n) {
                return MESH_EINVAL;
            }
        }
        if ((k = path_utf8(p + j, n - j, &lo)) == 0) {
            return MESH_EINVAL;
        }
        j += k;
        hi = lo;
        if (j + 1 < n && p[j] == '-' && p[j + 1] != ']') {
            j++;
            if (p[j] == '\\') {
                j++;
                if (j >= n) {
                    return MESH_EINVAL;
                }
            }
            if ((k = path_utf8(p + j, n - j, &hi)) == 0) {
                return MESH_EINVAL;
            }
            j += k;
        }
        if (!s_grow((void **)&s->ranges, &s->cap_ranges, s->nranges, sizeof *s->ranges)) {
            return MESH_ENOMEM;
        }
        s->ranges[s->nranges++] = (s_range_t){lo, hi}; /* lo > hi: a range matching nothing */
    }
    mesh_err_t err = s_push_tok(s, S_CLASS, (uint32_t)first);
    if (err == MESH_OK) {
        s->toks[s->ntoks - 1].neg = neg;
        s->toks[s->ntoks - 1].n = (uint32_t)(s->nranges - first);
    }
    *i = j;
    return err;
}

/* Compile one pattern line p[0..n) (no newline) of line number line. */
static mesh_err_t
s_compile(ignore_set_t *s, const uint8_t *p, size_t n, size_t line, char *why, size_t why_len)
{
    s_pat_t pat = {.tok = s->ntoks};
    /* trailing spaces go, unless escaped */
    while (n > 0 && p[n - 1] == ' ') {
        size_t bs = 0;
        while (bs + 1 < n && p[n - 2 - bs] == '\\') {
            bs++;
        }
        if (bs % 2) {
            break;
        }
        n--;
    }
    if (n == 0) {
        return MESH_OK; /* blank */
    }
    if (p[0] == '!') {
        pat.neg = true;
        p++, n--;
    }
    if (n > 0 && p[n - 1] == '/') {
        size_t bs = 0;
        while (bs + 1 < n && p[n - 2 - bs] == '\\') {
            bs++;
        }
        if (bs % 2 == 0) {
            pat.dir_only = true;
            n--;
        }
    }
    if (n > 0 && p[0] == '/') {
        pat.anchored = true;
        p++, n--;
    }
    if (n == 0) {
        return s_why(MESH_EINVAL, why, why_len, "%s line %zu: nothing to match", IGNORE_FILE, line);
    }
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '\\') {
            i++;
        } else if (p[i] == '/') {
            pat.anchored = true; /* a '/' at the start or in the middle anchors */
            if (i + 1 < n && p[i + 1] == '/') {
                return s_why(MESH_EINVAL, why, why_len, "%s line %zu: empty component (//)",
                             IGNORE_FILE, line);
            }
        }
    }
    mesh_err_t err = MESH_OK;
    size_t i = 0;
    while (i < n && err == MESH_OK) {
        uint8_t b = p[i];
        bool comp_start = i == 0 || p[i - 1] == '/';
        if (b == '*') {
            size_t j = i;
            while (j < n && p[j] == '*') {
                j++;
            }
            bool comp_end = j == n || p[j] == '/';
            if (j - i == 2 && comp_start && comp_end) {
                if (j < n) { /* `**` + '/': any directories, the '/' included */
                    err = s_push_tok(s, S_ANYDIRS, 0);
                    i = j + 1;
                } else { /* a trailing `**` after a '/', or a lone one: anything */
                    err = s_push_tok(s, S_ANYPLUS, 0);
                    i = j;
                }
            } else {
                err = s_push_tok(s, S_STAR, 0); /* other runs of '*' are one '*' */
                i = j;
            }
        } else if (b == '?') {
            err = s_push_tok(s, S_ANY, 0);
            i++;
        } else if (b == '[') {
            i++;
            err = s_class(s, p, n, &i);
            if (err == MESH_EINVAL) {
                return s_why(err, why, why_len, "%s line %zu: '[' without its ']'", IGNORE_FILE,
                             line);
            }
        } else {
            uint32_t cp;
            if (b == '\\') {
                if (++i >= n) {
                    return s_why(MESH_EINVAL, why, why_len, "%s line %zu: a trailing backslash",
                                 IGNORE_FILE, line);
                }
            }
            size_t k = path_utf8(p + i, n - i, &cp);
            if (k == 0) {
                return s_why(MESH_EINVAL, why, why_len, "%s line %zu: not UTF-8", IGNORE_FILE,
                             line);
            }
            err = s_push_tok(s, S_CHAR, cp);
            i += k;
        }
    }
    if (err != MESH_OK) {
        return s_why(err, why, why_len, "%s: out of memory", IGNORE_FILE);
    }
    if (!s_grow((void **)&s->pats, &s->cap_pats, s->npats, sizeof *s->pats)) {
        return s_why(MESH_ENOMEM, why, why_len, "%s: out of memory", IGNORE_FILE);
    }
    pat.ntok = s->ntoks - pat.tok;
    s->pats[s->npats++] = pat;
    return MESH_OK;
}

mesh_err_t
ignore_parse(const char *text, size_t len, ignore_set_t **set, char *why, size_t why_len)
{
    *set = NULL;
    if (why && why_len) {
        why[0] = '\0';
    }
    if (len > IGNORE_FILE_MAX) {
        return s_why(MESH_ETOOBIG, why, why_len, "%s: %zu bytes (at most %u)", IGNORE_FILE, len,
                     IGNORE_FILE_MAX);
    }
    if (len && !text) {
        return s_why(MESH_EINVAL, why, why_len, "%s: no text", IGNORE_FILE);
    }
    ignore_set_t *s = calloc(1, sizeof *s);
    if (!s) {
        return s_why(MESH_ENOMEM, why, why_len, "%s: out of memory", IGNORE_FILE);
    }
    const uint8_t *p = (const uint8_t *)text;
    size_t start = 0, line = 0;
    mesh_err_t err = MESH_OK;
    while (start < len && err == MESH_OK) {
        const uint8_t *nl = memchr(p + start, '\n', len - start);
        size_t end = nl ? (size_t)(nl - p) : len, n = end - start;
        line++;
        if (n > 0 && p[start + n - 1] == '\r') {
            n--;
        }
        if (n == 0 || p[start] == '#') {
            /* blank or a comment (of any length) */
        } else if (n > IGNORE_PATTERN_MAX) {
            err = s_why(MESH_ETOOBIG, why, why_len, "%s line %zu: %zu bytes (at most %u)",
                        IGNORE_FILE, line, n, IGNORE_PATTERN_MAX);
        } else if (memchr(p + start, 0, n)) {
            err = s_why(MESH_EINVAL, why, why_len, "%s line %zu: a NUL byte", IGNORE_FILE, line);
        } else {
            err = s_compile(s, p + start, n, line, why, why_len);
            if (err == MESH_OK && s->npats > IGNORE_PATTERNS_MAX) {
                err = s_why(MESH_ETOOBIG, why, why_len, "%s line %zu: more than %u patterns",
                            IGNORE_FILE, line, IGNORE_PATTERNS_MAX);
            }
        }
        start = end + 1;
    }
    if (err != MESH_OK) {
        ignore_free(s);
        return err;
    }
    *set = s;
    return MESH_OK;
}

mesh_err_t
ignore_load(int root_fd, ignore_set_t **set, char *why, size_t why_len)
{
    int fd = -1;
    *set = NULL;
    mesh_err_t err = path_open(root_fd, IGNORE_FILE, O_RDONLY, 0, false, &fd, why, why_len);
    if (err == MESH_ENOTFOUND) {
        return ignore_parse("", 0, set, why, why_len);
    }
    if (err != MESH_OK) {
        return err == MESH_EINVAL
                   ? s_why(err, why, why_len, "%s: a symlink or not a file: refused", IGNORE_FILE)
                   : err;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return s_why(MESH_EINVAL, why, why_len, "%s: not a regular file", IGNORE_FILE);
    }
    char *buf = malloc(IGNORE_FILE_MAX + 1);
    if (!buf) {
        close(fd);
        return s_why(MESH_ENOMEM, why, why_len, "%s: out of memory", IGNORE_FILE);
    }
    size_t got = 0;
    while (got <= IGNORE_FILE_MAX) {
        ssize_t r = read(fd, buf + got, IGNORE_FILE_MAX + 1 - got);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r < 0) {
            err = s_why(MESH_EIO, why, why_len, "%s: %s", IGNORE_FILE, strerror(errno));
            break;
        }
        if (r == 0) {
            break;
        }
        got += (size_t)r;
    }
    close(fd);
    if (err == MESH_OK) {
        err = ignore_parse(buf, got, set, why, why_len); /* got > max: MESH_ETOOBIG */
    }
    free(buf);
    return err;
}

/* ---- matching ---- */

static bool
s_class_has(const ignore_set_t *s, const s_tok_t *t, uint32_t c)
{
    bool in = false;
    for (uint32_t k = 0; k < t->n && !in; k++) {
        const s_range_t *r = &s->ranges[t->cp + k];
        in = c >= r->lo && c <= r->hi;
    }
    return in != (bool)t->neg;
}

/* The states: pos[i] (before token i; i == ntok: matched) and in[i] (inside an S_ANYDIRS
 * or S_ANYPLUS token i, at least one code point taken). */
#define S_STATES (IGNORE_PATTERN_MAX + 1)

/* Follow the moves that take no input, from token 0 up (they only go forward). */
static void
s_close(const s_tok_t *t, size_t n, uint8_t *pos, const uint8_t *in)
{
    for (size_t i = 0; i < n; i++) {
        if ((pos[i] && (t[i].kind == S_STAR || t[i].kind == S_ANYDIRS)) ||
            (in[i] && t[i].kind == S_ANYPLUS)) {
            pos[i + 1] = 1;
        }
    }
}

/* Does the pattern match str[0..len) as a whole? */
static bool
s_match(const ignore_set_t *s, const s_pat_t *pat, const uint8_t *str, size_t len)
{
    const s_tok_t *t = s->toks + pat->tok;
    size_t n = pat->ntok;
    uint8_t pos[S_STATES], in[S_STATES], npos[S_STATES], nin[S_STATES];
    memset(pos, 0, n + 1);
    memset(in, 0, n + 1);
    pos[0] = 1;
    s_close(t, n, pos, in);
    for (size_t at = 0; at < len;) {
        uint32_t c;
        size_t k = path_utf8(str + at, len - at, &c);
        if (k == 0) {
            c = 0x110000u + str[at]; /* a byte that is not UTF-8: matches `?` and `*` only */
            k = 1;
        }
        at += k;
        memset(npos, 0, n + 1);
        memset(nin, 0, n + 1);
        bool any = false;
        for (size_t i = 0; i < n; i++) {
            if (pos[i]) {
                switch (t[i].kind) {
                case S_CHAR:
                    npos[i + 1] |= c == t[i].cp;
                    break;
                case S_ANY:
                    npos[i + 1] |= c != '/';
                    break;
                case S_CLASS:
                    npos[i + 1] |= c != '/' && s_class_has(s, &t[i], c);
                    break;
                case S_STAR:
                    npos[i] |= c != '/';
                    break;
                case S_ANYDIRS:
                    nin[i] = 1;
                    npos[i + 1] |= c == '/';
                    break;
                default: /* S_ANYPLUS */
                    nin[i] = 1;
                    break;
                }
            }
            if (in[i]) {
                nin[i] = 1;
                npos[i + 1] |= t[i].kind == S_ANYDIRS && c == '/';
            }
        }
        s_close(t, n, npos, nin);
        memcpy(pos, npos, n + 1);
        memcpy(in, nin, n + 1);
        for (size_t i = 0; i <= n && !any; i++) {
            any = pos[i] || in[i];
        }
        if (!any) {
            return false;
        }
    }
    return pos[n] != 0;
}

/* The verdict for one path (its parents aside): 1 ignored, 0 un-ignored by a negation,
 * -1 no pattern matches. */
static int
s_verdict(const ignore_set_t *s, const uint8_t *path, size_t len, bool is_dir)
{
    size_t base = len;
    while (base > 0 && path[base - 1] != '/') {
        base--;
    }
    for (size_t k = s->npats; k-- > 0;) { /* the last match wins */
        const s_pat_t *pat = &s->pats[k];
        if (pat->dir_only && !is_dir) {
            continue;
        }
        bool m =
            pat->anchored ? s_match(s, pat, path, len) : s_match(s, pat, path + base, len - base);
        if (m) {
            return pat->neg ? 0 : 1;
        }
    }
    return -1;
}

bool
ignore_match(const ignore_set_t *set, const char *path, size_t len, bool is_dir)
{
    if (!set || set->npats == 0 || !path || len == 0) {
        return false;
    }
    const uint8_t *p = (const uint8_t *)path;
    for (size_t i = 0; i < len; i++) { /* each parent directory first */
        if (p[i] == '/' && i > 0 && s_verdict(set, p, i, true) == 1) {
            return true;
        }
    }
    return s_verdict(set, p, len, is_dir) == 1;
}

size_t
ignore_count(const ignore_set_t *set)
{
    return set ? set->npats : 0;
}

void
ignore_free(ignore_set_t *set)
{
    if (set) {
        free(set->pats);
        free(set->toks);
        free(set->ranges);
        free(set);
    }
}
