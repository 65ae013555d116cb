/* fs/conflict.c: conflict-copy names and the extension rule (docs/PROTOCOL.md §19.3).
 * Layer: fs. Third-party: none. SPDX-License-Identifier: MIT */
#include "fs/conflict.h"

#include "fs/path.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#define S_TIME_MAX 253402300799LL /* 9999-12-31T23:59:59Z */

size_t
conflict_ext_at(const char *name, size_t len)
{
    for (size_t i = len; i-- > 0;) {
        if (name[i] == '.') {
            return (i == 0 || i == len - 1) ? len : i;
        }
    }
    return len;
}

mesh_err_t
conflict_tag_path(const char *rel, size_t len, const char *tag, size_t tag_len, char *out,
                  size_t out_len, size_t *out_n)
{
    *out_n = 0;
    if (out_len) {
        out[0] = '\0';
    }
    if (!rel || path_check(rel, len, NULL, 0) != MESH_OK || !tag || tag_len == 0 ||
        memchr(tag, '/', tag_len) || memchr(tag, 0, tag_len) || tag_len >= PATH_NAME_MAX) {
        return MESH_EINVAL;
    }
    size_t c = len;
    while (c > 0 && rel[c - 1] != '/') {
        c--;
    }
    const char *name = rel + c;
    size_t nlen = len - c, e = conflict_ext_at(name, nlen), base = e;
    if (nlen + tag_len > PATH_NAME_MAX) {
        size_t cut = nlen + tag_len - PATH_NAME_MAX;
        if (e <= cut) { /* the extension is too long to keep: it is base too */
            e = nlen;
        }
        base = e - cut;
        while (base > 0 && ((unsigned char)name[base] & 0xc0) == 0x80) {
            base--; /* not inside a UTF-8 character */
        }
        if (base == 0) {
            return MESH_ETOOBIG;
        }
    }
    size_t n = c + base + tag_len + (nlen - e);
    if (n > PATH_LEN_MAX || n >= out_len) {
        return MESH_ETOOBIG;
    }
    memcpy(out, rel, c + base);
    memcpy(out + c + base, tag, tag_len);
    memcpy(out + c + base + tag_len, name + e, nlen - e);
    out[n] = '\0';
    *out_n = n;
    return MESH_OK;
}

mesh_err_t
conflict_stamp(int64_t when, char *out)
{
    struct tm tm;
    time_t t = (time_t)when;
    char buf[64];
    out[0] = '\0';
    if (when < 0 || when > S_TIME_MAX || !gmtime_r(&t, &tm)) {
        return MESH_EINVAL;
    }
    int n = snprintf(buf, sizeof buf, "%04d%02d%02d-%02d%02d%02d", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    if (n != (int)CONFLICT_STAMP_LEN) {
        return MESH_EINVAL;
    }
    memcpy(out, buf, CONFLICT_STAMP_LEN + 1);
    return MESH_OK;
}

/* The number of the digits s[0..n), or -1 when one is not a digit. */
static int
s_num(const char *s, size_t n)
{
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return -1;
        }
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

bool
conflict_stamp_parse(const char *s, int64_t *when)
{
    int y = s_num(s, 4), mo = s_num(s + 4, 2), d = s_num(s + 6, 2), h = s_num(s + 9, 2),
        mi = s_num(s + 11, 2), se = s_num(s + 13, 2);
    if (s[8] != '-' || y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 23 ||
        mi < 0 || mi > 59 || se < 0 || se > 59) {
        return false;
    }
    struct tm tm = {.tm_year = y - 1900,
                    .tm_mon = mo - 1,
                    .tm_mday = d,
                    .tm_hour = h,
                    .tm_min = mi,
                    .tm_sec = se};
    time_t t = timegm(&tm);
    char back[CONFLICT_STAMP_LEN + 1];
    if (t == (time_t)-1 || conflict_stamp((int64_t)t, back) != MESH_OK ||
        memcmp(back, s, CONFLICT_STAMP_LEN) != 0) {
        return false; /* e.g. February 30th */
    }
    *when = (int64_t)t;
    return true;
}

static bool
s_alnum(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

mesh_err_t
conflict_name(const char *rel, size_t len, int64_t when, const char *device, char *out,
              size_t out_len, size_t *out_n)
{
    char tag[sizeof CONFLICT_TAG + CONFLICT_STAMP_LEN + CONFLICT_DEVICE_LEN + 2];
    char stamp[CONFLICT_STAMP_LEN + 1];
    *out_n = 0;
    if (out_len) {
        out[0] = '\0';
    }
    if (!device || conflict_stamp(when, stamp) != MESH_OK) {
        return MESH_EINVAL;
    }
    size_t n = strlen(CONFLICT_TAG);
    memcpy(tag, CONFLICT_TAG, n);
    memcpy(tag + n, stamp, CONFLICT_STAMP_LEN);
    n += CONFLICT_STAMP_LEN;
    tag[n++] = '-';
    size_t got = 0;
    for (const char *p = device; *p && got < CONFLICT_DEVICE_LEN; p++) {
        if (*p == '-') {
            continue; /* the ID's group dashes */
        }
        if (!s_alnum(*p)) {
            return MESH_EINVAL;
        }
        tag[n++] = *p;
        got++;
    }
    if (got == 0) {
        return MESH_EINVAL;
    }
    return conflict_tag_path(rel, len, tag, n, out, out_len, out_n);
}

/* Find the conflict tag in the last component of rel[0..len): its offset into rel in *at and
 * its length (".sync-conflict-" through the device) in *tag_len. */
static bool
s_find(const char *rel, size_t len, int64_t *when, char *device, size_t *at_out, size_t *tag_len)
{
    size_t c = len, tl = strlen(CONFLICT_TAG);
    while (c > 0 && rel[c - 1] != '/') {
        c--;
    }
    const char *name = rel + c;
    size_t nlen = len - c;
    for (size_t i = 0; i + tl + CONFLICT_STAMP_LEN + 2 <= nlen; i++) {
        if (memcmp(name + i, CONFLICT_TAG, tl) != 0) {
            continue;
        }
        const char *s = name + i + tl;
        int64_t t;
        if (!conflict_stamp_parse(s, &t) || s[CONFLICT_STAMP_LEN] != '-') {
            continue;
        }
        size_t at = i + tl + CONFLICT_STAMP_LEN + 1, d = 0;
        while (at + d < nlen && d <= CONFLICT_DEVICE_LEN && s_alnum(name[at + d])) {
            d++;
        }
        if (d == 0 || d > CONFLICT_DEVICE_LEN || (at + d < nlen && name[at + d] != '.')) {
            continue;
        }
        if (when) {
            *when = t;
        }
        if (device) {
            memcpy(device, name + at, d);
            device[d] = '\0';
        }
        *at_out = c + i;
        *tag_len = at + d - i;
        return true;
    }
    return false;
}

bool
conflict_is(const char *rel, size_t len, int64_t *when, char *device)
{
    size_t at, tag_len;
    return s_find(rel, len, when, device, &at, &tag_len);
}

mesh_err_t
conflict_original(const char *rel, size_t len, char *out, size_t out_len)
{
    size_t at, tag_len;
    if (!s_find(rel, len, NULL, NULL, &at, &tag_len)) {
        return MESH_EINVAL;
    }
    if (len - tag_len + 1 > out_len) {
        return MESH_ETOOBIG;
    }
    memcpy(out, rel, at);
    memcpy(out + at, rel + at + tag_len, len - at - tag_len);
    out[len - tag_len] = '\0';
    return MESH_OK;
}
