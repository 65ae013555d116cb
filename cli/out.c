/* cli/out.c: escaped text and JSON output for meshctl.
 * Owns: the byte-level output formats described in cli/out.h and docs/meshctl.1.md
 * (OUTPUT FORMATS); nothing here knows a command.
 * Not here: what each command prints (cli/cmd_*.c), error lines (cli/cli.c).
 * Layer: cli. Third-party: none. SPDX-License-Identifier: MIT */
#include "out.h"

#include <string.h>
#include <time.h>

static const char s_hex[] = "0123456789abcdef";

/* Escape one byte as out_escaped does into piece (5 bytes). Returns its length. */
static size_t
s_escape_byte(uint8_t c, char piece[5])
{
    if (c == '\\' || c == '\t' || c == '\n') {
        piece[0] = '\\';
        piece[1] = c == '\\' ? '\\' : c == '\t' ? 't' : 'n';
        return 2;
    }
    if (c >= 0x20 && c < 0x7f) {
        piece[0] = (char)c;
        return 1;
    }
    piece[0] = '\\';
    piece[1] = 'x';
    piece[2] = s_hex[c >> 4];
    piece[3] = s_hex[c & 15];
    return 4;
}

void
out_escaped(FILE *f, const void *p, size_t len)
{
    const uint8_t *bytes = p;
    char piece[5];
    for (size_t i = 0; i < len; i++) {
        fwrite(piece, 1, s_escape_byte(bytes[i], piece), f);
    }
}

const char *
out_quote(char *buf, size_t cap, const void *p, size_t len)
{
    const uint8_t *bytes = p;
    char piece[5];
    size_t pos = 0;
    if (cap < 4) {
        buf[0] = '\0';
        return buf;
    }
    for (size_t i = 0; i < len; i++) {
        size_t n = s_escape_byte(bytes[i], piece);
        /* Keep room for "..." unless this is the last byte and it fits. */
        size_t room = i + 1 == len ? cap - 1 : cap - 4;
        if (pos + n > room) {
            memcpy(buf + pos, "...", 3);
            pos += 3;
            break;
        }
        memcpy(buf + pos, piece, n);
        pos += n;
    }
    buf[pos] = '\0';
    return buf;
}

bool
out_is_utf8(const void *p, size_t len)
{
    const uint8_t *s = p;
    size_t i = 0;
    while (i < len) {
        uint8_t c = s[i];
        size_t more;
        uint32_t cp, min;
        if (c < 0x80) {
            i++;
            continue;
        }
        if ((c & 0xe0) == 0xc0) {
            more = 1, cp = c & 0x1fu, min = 0x80;
        } else if ((c & 0xf0) == 0xe0) {
            more = 2, cp = c & 0x0fu, min = 0x800;
        } else if ((c & 0xf8) == 0xf0) {
            more = 3, cp = c & 0x07u, min = 0x10000;
        } else {
            return false;
        }
        if (len - i - 1 < more)
            return false;
        for (size_t k = 1; k <= more; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return false;
            cp = cp << 6 | (s[i + k] & 0x3fu);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += more + 1;
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

/* Write JSON string text for len bytes of p, quotes included. With latin1, each byte from
 * 0x80 up goes as its own \u00XX (for text that is not valid UTF-8). */
static void
s_json_text(FILE *f, const uint8_t *p, size_t len, bool latin1)
{
    putc('"', f);
    for (size_t i = 0; i < len; i++) {
        uint8_t c = p[i];
        if (c == '"' || c == '\\') {
            putc('\\', f);
            putc(c, f);
        } else if (c == '\n') {
            fputs("\\n", f);
        } else if (c == '\t') {
            fputs("\\t", f);
        } else if (c < 0x20 || c == 0x7f || (latin1 && c >= 0x80)) {
            fprintf(f, "\\u00%c%c", s_hex[c >> 4], s_hex[c & 15]);
        } else {
            putc(c, f);
        }
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
        s_json_text(j->f, (const uint8_t *)name, strlen(name), false);
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
    size_t len = strlen(s);
    s_value(j, name);
    s_json_text(j->f, (const uint8_t *)s, len, !out_is_utf8(s, len));
}

void
out_json_bytes(out_json_t *j, const char *name, const void *p, size_t len)
{
    const uint8_t *bytes = p;
    char hex_name[64];
    if (out_is_utf8(p, len)) {
        s_value(j, name);
        s_json_text(j->f, bytes, len, false);
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
