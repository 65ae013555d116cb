/* cli/out.c: escaped text and JSON output for meshctl.
 * Owns: the byte-level output formats described in cli/out.h and docs/meshctl.1.md
 * (OUTPUT FORMATS); nothing here knows a command.
 * Not here: what each command prints (cli/cmd_*.c), error lines (cli/cli.c).
 * Layer: cli. Third-party: none. SPDX-License-Identifier: MIT */
#include "out.h"

#include <string.h>
#include <time.h>

static const char s_hex[] = "0123456789abcdef";

/* The length of the valid UTF-8 sequence at p[0..len), 0 when it is not one. */
static size_t
s_utf8_len(const uint8_t *p, size_t len)
{
    uint8_t c = p[0];
    size_t more;
    uint32_t cp, min;
    if (c < 0x80)
        return 1;
    if ((c & 0xe0) == 0xc0) {
        more = 1, cp = c & 0x1fu, min = 0x80;
    } else if ((c & 0xf0) == 0xe0) {
        more = 2, cp = c & 0x0fu, min = 0x800;
    } else if ((c & 0xf8) == 0xf0) {
        more = 3, cp = c & 0x07u, min = 0x10000;
    } else {
        return 0;
    }
    if (len - 1 < more)
        return 0;
    for (size_t k = 1; k <= more; k++) {
        if ((p[k] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (p[k] & 0x3fu);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return more + 1;
}

/* Is the UTF-8 sequence of n bytes at p a control character (C0, DEL, C1)? */
static bool
s_is_control(const uint8_t *p, size_t n)
{
    return (n == 1 && (p[0] < 0x20 || p[0] == 0x7f)) || (n == 2 && p[0] == 0xc2 && p[1] < 0xa0);
}

/* Escape the character at p[0..len) as out_escaped does into piece (5 bytes at least).
 * Returns the bytes of p taken; *n is the length of piece. */
static size_t
s_escape_char(const uint8_t *p, size_t len, char piece[5], size_t *n)
{
    size_t take = s_utf8_len(p, len);
    if (take == 1 && (p[0] == '\\' || p[0] == '\t' || p[0] == '\n')) {
        piece[0] = '\\';
        piece[1] = p[0] == '\\' ? '\\' : p[0] == '\t' ? 't' : 'n';
        *n = 2;
        return 1;
    }
    if (take == 0 || s_is_control(p, take)) { /* one byte at a time: C1's second byte too */
        piece[0] = '\\';
        piece[1] = 'x';
        piece[2] = s_hex[p[0] >> 4];
        piece[3] = s_hex[p[0] & 15];
        *n = 4;
        return 1;
    }
    memcpy(piece, p, take);
    *n = take;
    return take;
}

void
out_escaped(FILE *f, const void *p, size_t len)
{
    const uint8_t *bytes = p;
    char piece[5];
    size_t n;
    for (size_t i = 0; i < len;) {
        i += s_escape_char(bytes + i, len - i, piece, &n);
        fwrite(piece, 1, n, f);
    }
}

void
out_terminal(FILE *f, const void *p, size_t len)
{
    const uint8_t *bytes = p;
    char piece[5];
    size_t n;
    for (size_t i = 0; i < len;) {
        if (bytes[i] == '\n' || bytes[i] == '\t' || bytes[i] == '\\') {
            putc(bytes[i++], f);
            continue;
        }
        i += s_escape_char(bytes + i, len - i, piece, &n);
        fwrite(piece, 1, n, f);
    }
}

const char *
out_quote(char *buf, size_t cap, const void *p, size_t len)
{
    const uint8_t *bytes = p;
    char piece[5];
    size_t pos = 0, n;
    if (cap < 4) {
        buf[0] = '\0';
        return buf;
    }
    for (size_t i = 0; i < len;) {
        size_t took = s_escape_char(bytes + i, len - i, piece, &n);
        /* Keep room for "..." unless this is the last character and it fits. */
        size_t room = i + took == len ? cap - 1 : cap - 4;
        if (pos + n > room) {
            memcpy(buf + pos, "...", 3);
            pos += 3;
            break;
        }
        memcpy(buf + pos, piece, n);
        pos += n;
        i += took;
    }
    buf[pos] = '\0';
    return buf;
}

bool
out_is_utf8(const void *p, size_t len)
{
    const uint8_t *s = p;
    for (size_t i = 0, n; i < len; i += n) {
        n = s_utf8_len(s + i, len - i);
        if (n == 0)
            return false;
    }
    return true;
}

const char *
out_hlc_time(uint64_t hlc, char *buf, size_t cap)
{
    uint64_t ms = hlc >> 16;
    time_t secs = (time_t)(ms / 1000);
    struct tm tm;
    char date[24];
    if (!gmtime_r(&secs, &tm) || strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &tm) == 0) {
        snprintf(buf, cap, "?");
        return buf;
    }
    snprintf(buf, cap, "%s.%03uZ", date, (unsigned)(ms % 1000));
    return buf;
}

void
out_json_init(out_json_t *j, FILE *f)
{
    memset(j, 0, sizeof *j);
    j->f = f;
}

/* Write JSON string text for len bytes of p, quotes included: valid UTF-8 as it is, but
 * control characters (C0, DEL, C1) as \uXXXX; each byte that is not UTF-8 as the six
 * characters \\xNN (the text form of out_escaped). */
static void
s_json_text(FILE *f, const uint8_t *p, size_t len)
{
    putc('"', f);
    for (size_t i = 0; i < len;) {
        size_t n = s_utf8_len(p + i, len - i);
        uint8_t c = p[i];
        if (n == 1 && (c == '"' || c == '\\')) {
            putc('\\', f);
            putc(c, f);
        } else if (n == 1 && c == '\n') {
            fputs("\\n", f);
        } else if (n == 1 && c == '\t') {
            fputs("\\t", f);
        } else if (n == 0) {
            fprintf(f, "\\\\x%c%c", s_hex[c >> 4], s_hex[c & 15]);
            n = 1;
        } else if (s_is_control(p + i, n)) {
            unsigned cp = n == 1 ? c : p[i + 1]; /* C1: U+0080..U+009F is 0xc2 0x80..0x9f */
            fprintf(f, "\\u00%c%c", s_hex[cp >> 4], s_hex[cp & 15]);
        } else {
            fwrite(p + i, 1, n, f);
        }
        i += n;
    }
    putc('"', f);
}

/* Start a value: the comma before it, and its member name. */
static void
s_value(out_json_t *j, const char *name)
{
    if (j->need_comma[j->depth])
        putc(',', j->f);
    j->need_comma[j->depth] = true;
    if (name) {
        s_json_text(j->f, (const uint8_t *)name, strlen(name));
        putc(':', j->f);
    }
}

static void
s_open(out_json_t *j, const char *name, char bracket)
{
    s_value(j, name);
    putc(bracket, j->f);
    if (j->depth < OUT_JSON_DEPTH_MAX)
        j->depth++;
    j->need_comma[j->depth] = false;
}

static void
s_close(out_json_t *j, char bracket)
{
    if (j->depth > 0)
        j->depth--;
    putc(bracket, j->f);
    if (j->depth == 0)
        putc('\n', j->f);
}

void
out_json_object_begin(out_json_t *j, const char *name)
{
    s_open(j, name, '{');
}

void
out_json_object_end(out_json_t *j)
{
    s_close(j, '}');
}

void
out_json_array_begin(out_json_t *j, const char *name)
{
    s_open(j, name, '[');
}

void
out_json_array_end(out_json_t *j)
{
    s_close(j, ']');
}

void
out_json_string(out_json_t *j, const char *name, const char *s)
{
    out_json_bytes(j, name, s, strlen(s));
}

void
out_json_bytes(out_json_t *j, const char *name, const void *p, size_t len)
{
    const uint8_t *bytes = p;
    char hex_name[64];
    if (!name || out_is_utf8(p, len)) {
        s_value(j, name);
        s_json_text(j->f, bytes, len);
        return;
    }
    snprintf(hex_name, sizeof hex_name, "%s_hex", name);
    s_value(j, hex_name);
    putc('"', j->f);
    for (size_t i = 0; i < len; i++) {
        putc(s_hex[bytes[i] >> 4], j->f);
        putc(s_hex[bytes[i] & 15], j->f);
    }
    putc('"', j->f);
}

void
out_json_u64(out_json_t *j, const char *name, uint64_t v)
{
    s_value(j, name);
    fprintf(j->f, "%llu", (unsigned long long)v);
}

void
out_json_i64(out_json_t *j, const char *name, int64_t v)
{
    s_value(j, name);
    fprintf(j->f, "%lld", (long long)v);
}

void
out_json_bool(out_json_t *j, const char *name, bool v)
{
    s_value(j, name);
    fputs(v ? "true" : "false", j->f);
}

void
out_json_hex64(out_json_t *j, const char *name, uint64_t v)
{
    s_value(j, name);
    fprintf(j->f, "\"%016llx\"", (unsigned long long)v);
}

void
out_json_version(out_json_t *j, const char *name, const mesh_item_version_t *v)
{
    char time_text[OUT_TIME_LEN];
    out_json_object_begin(j, name);
    out_json_string(j, "origin", v->origin);
    out_json_hex64(j, "incarnation", v->incarnation);
    out_json_u64(j, "seq", v->seq);
    out_json_hex64(j, "hlc", v->hlc);
    out_json_string(j, "time", out_hlc_time(v->hlc, time_text, sizeof time_text));
    out_json_bool(j, "deleted", v->deleted);
    out_json_bool(j, "winner", v->is_winner);
    if (!v->deleted)
        out_json_bytes(j, "value", v->value, v->value_len);
    out_json_object_end(j);
}
