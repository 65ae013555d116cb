/* core/base/node.c: the node handle's bottom half: errors, logging and the small calls
 * every module uses.
 * Owns: the error texts, each thread's detail of its last failure on a handle (thread-local,
 * so the loop thread and the callers never share one), the log hook, collection-name
 * checks, store keys, and the public calls that only read the handle.
 * Not here: opening and closing a home (core/open.c).
 * Layer: core. Third-party: none. SPDX-License-Identifier: MIT */
#include "core/base/node.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/base/testhook.h"
#include "crypto/devid.h"
#include "crypto/hash.h"

#define S_STR(x)  #x
#define S_XSTR(x) S_STR(x)

const char *
mesh_version(void)
{
    return S_XSTR(MESH_VERSION_MAJOR) "." S_XSTR(MESH_VERSION_MINOR) "." S_XSTR(MESH_VERSION_PATCH);
}

int
mesh_version_number(void)
{
    return MESH_VERSION_NUMBER;
}

const char *
mesh_strerror(mesh_err_t err)
{
    switch (err) {
    case MESH_OK:
        return "success";
    case MESH_EINVAL:
        return "invalid argument";
    case MESH_ENOMEM:
        return "out of memory";
    case MESH_EIO:
        return "input/output error";
    case MESH_ENOSPC:
        return "no space left on device";
    case MESH_ENOTFOUND:
        return "not found";
    case MESH_EPROTO:
        return "malformed encoding";
    case MESH_ETOOBIG:
        return "too big";
    case MESH_EBADSIG:
        return "bad signature";
    case MESH_EDIGEST:
        return "hash or proof mismatch";
    case MESH_ESEQGAP:
        return "sequence number out of order";
    case MESH_EUNPAIRED:
        return "not a member of this mesh";
    case MESH_ECORRUPT:
        return "store or file is damaged";
    case MESH_EFORMAT:
        return "unknown store format";
    case MESH_EEXIST:
        return "already exists";
    case MESH_EBADID:
        return "not a valid device ID";
    case MESH_ENOTINIT:
        return "no device in this home (run 'meshctl init')";
    case MESH_ESTATE:
        return "not valid in the current state";
    case MESH_EFORK:
        return "conflicting signed headers for one sequence number";
    case MESH_EBUSY:
        return "busy, try again";
    }
    return "unknown error";
}

/* Each thread keeps the detail of its last failure on each of up to S_ERR_SLOTS handles,
 * keyed by the handle's serial: serials are never reused, so a new handle at a closed one's
 * address never shows the old detail. A thread that fails on more handles than that reuses
 * the slot written longest ago. Thread-local, so no lock: the loop thread's failures land
 * in its own slots and never in a caller's. */
#define S_ERR_SLOTS 4

typedef struct s_err_slot {
    uint64_t serial; /* the handle's, 0: free */
    uint64_t used;   /* this thread's clock when last written */
    char text[NODE_ERRMSG_MAX];
} s_err_slot_t;

static _Thread_local s_err_slot_t s_err[S_ERR_SLOTS];
static _Thread_local uint64_t s_err_clock;
static uint64_t s_serial; /* the last serial given; atomic */

void
node_init(mesh_t *m)
{
    m->serial = __atomic_add_fetch(&s_serial, 1, __ATOMIC_RELAXED);
}

/* The calling thread's slot for serial, or NULL. */
static s_err_slot_t *
s_err_find(uint64_t serial)
{
    for (size_t i = 0; i < S_ERR_SLOTS; i++) {
        if (s_err[i].serial == serial) {
            return &s_err[i];
        }
    }
    return NULL;
}

/* The calling thread's slot for serial, taking the least recently written one if none. */
static s_err_slot_t *
s_err_take(uint64_t serial)
{
    s_err_slot_t *slot = s_err_find(serial);
    if (!slot) {
        slot = &s_err[0];
        for (size_t i = 1; i < S_ERR_SLOTS; i++) {
            if (s_err[i].used < slot->used) {
                slot = &s_err[i];
            }
        }
        slot->serial = serial;
    }
    slot->used = ++s_err_clock;
    return slot;
}

mesh_err_t
node_fail(mesh_t *m, mesh_err_t err, const char *fmt, ...)
{
    char text[NODE_ERRMSG_MAX]; /* the arguments may include this thread's detail itself */
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    memcpy(s_err_take(m->serial)->text, text, strlen(text) + 1);
    return err;
}

mesh_err_t
node_fail_store(mesh_t *m, mesh_err_t err, const char *what)
{
    return node_fail(m, err, "%s: %s", what, store_errmsg(m->store));
}

void
node_clear_err(const mesh_t *m)
{
    s_err_slot_t *slot = s_err_find(m->serial);
    if (slot) {
        slot->text[0] = '\0';
    }
}

/* The length of the valid UTF-8 sequence at p[0..len), 0 when it is not one (overlong
 * forms, surrogates and code points above U+10FFFF are not). */
static size_t
s_utf8_len(const uint8_t *p, size_t len)
{
    uint8_t c = p[0];
    size_t more;
    uint32_t cp, min;
    if (c < 0x80) {
        return 1;
    }
    if ((c & 0xe0) == 0xc0) {
        more = 1, cp = c & 0x1fu, min = 0x80;
    } else if ((c & 0xf0) == 0xe0) {
        more = 2, cp = c & 0x0fu, min = 0x800;
    } else if ((c & 0xf8) == 0xf0) {
        more = 3, cp = c & 0x07u, min = 0x10000;
    } else {
        return 0;
    }
    if (len - 1 < more) {
        return 0;
    }
    for (size_t k = 1; k <= more; k++) {
        if ((p[k] & 0xc0) != 0x80) {
            return 0;
        }
        cp = cp << 6 | (p[k] & 0x3fu);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
        return 0;
    }
    return more + 1;
}

/* Is the UTF-8 sequence of n bytes at p a control character: C0, DEL or C1 (U+0080..U+009F,
 * which 8-bit terminals take as escape sequences)? */
static bool
s_is_control(const uint8_t *p, size_t n)
{
    return (n == 1 && (p[0] < 0x20 || p[0] == 0x7f)) || (n == 2 && p[0] == 0xc2 && p[1] < 0xa0);
}

size_t
node_escape(const void *text, size_t len, char *out, size_t cap)
{
    static const char hex[] = "0123456789abcdef";
    const uint8_t *p = text;
    size_t pos = 0;
    if (cap == 0) {
        return 0;
    }
    for (size_t i = 0; i < len;) {
        char piece[8];
        size_t n = s_utf8_len(p + i, len - i), w;
        if (n == 1 && (p[i] == '\\' || p[i] == '\t' || p[i] == '\n')) {
            piece[0] = '\\';
            piece[1] = p[i] == '\\' ? '\\' : p[i] == '\t' ? 't' : 'n';
            w = 2;
        } else if (n == 0 || s_is_control(p + i, n)) {
            n = 1; /* one byte at a time: a C1 character's second byte is escaped on its own */
            piece[0] = '\\', piece[1] = 'x', piece[2] = hex[p[i] >> 4], piece[3] = hex[p[i] & 15];
            w = 4;
        } else {
            memcpy(piece, p + i, n);
            w = n;
        }
        if (pos + w > cap - 1) {
            break; /* never half an escape or half a character */
        }
        memcpy(out + pos, piece, w);
        pos += w;
        i += n;
    }
    out[pos] = '\0';
    return pos;
}

/* The calling thread's capture of its log lines (node_log_capture), or NULL. */
static _Thread_local node_log_lines_t *s_capture;

/* Append one escaped line at level to the calling thread's capture. */
static void
s_capture_add(int level, const char *escaped)
{
    node_log_lines_t *c = s_capture;
    size_t need = 2 + strlen(escaped);
    if (c->cap - c->len < need) {
        size_t cap = c->cap ? c->cap * 2 : 4096;
        cap = cap < c->len + need ? c->len + need : cap;
        char *text = realloc(c->text, cap);
        if (!text) {
            c->dropped++;
            return;
        }
        c->text = text;
        c->cap = cap;
    }
    c->text[c->len] = (char)level;
    memcpy(c->text + c->len + 1, escaped, need - 1);
    c->len += need;
}

void
node_log(const mesh_t *m, int level, const char *fmt, ...)
{
    char line[1024], escaped[1024];
    va_list ap;
    if (!m->log || level > m->log_level) {
        return;
    }
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (n < 0) {
        return;
    }
    /* Names, peers' texts and error details go into log lines: a control byte in them
     * (a newline, an escape sequence) must not start a line or act on a terminal. */
    size_t len = (size_t)n < sizeof line ? (size_t)n : sizeof line - 1;
    node_escape(line, len, escaped, sizeof escaped);
    if (s_capture) {
        s_capture_add(level, escaped);
        return;
    }
    m->log(m->log_ctx, level, escaped);
}

void
node_log_capture(node_log_lines_t *into)
{
    s_capture = into;
}

void
node_log_replay(const mesh_t *m, node_log_lines_t *lines)
{
    for (size_t at = 0; m->log && at < lines->len;) {
        const char *line = lines->text + at + 1;
        m->log(m->log_ctx, (int)(unsigned char)lines->text[at], line);
        at += 2 + strlen(line);
    }
    if (m->log && lines->dropped) {
        node_log(m, MESH_LOG_WARN, "%zu log line(s) of a worker thread lost (no memory)",
                 lines->dropped);
    }
    free(lines->text);
    memset(lines, 0, sizeof *lines);
}

mesh_err_t
node_coll_name_check(const char *name, size_t len, bool allow_reserved, char *why, size_t why_len)
{
    char scratch[1];
    const uint8_t *p = (const uint8_t *)name;
    if (!why || why_len == 0) {
        why = scratch, why_len = sizeof scratch;
    }
    why[0] = '\0';
    if (len == 0) {
        snprintf(why, why_len, "empty collection name");
        return MESH_EINVAL;
    }
    if (len > MESH_COLL_MAX) {
        snprintf(why, why_len, "collection name of %zu bytes (limit %u)", len, MESH_COLL_MAX);
        return MESH_ETOOBIG;
    }
    for (size_t i = 0; i < len;) {
        size_t n = s_utf8_len(p + i, len - i);
        if (n == 0) {
            snprintf(why, why_len, "collection name: byte %zu (0x%02x) is not valid UTF-8", i + 1,
                     p[i]);
            return MESH_EINVAL;
        }
        if (s_is_control(p + i, n) && n == 1) {
            snprintf(why, why_len, "collection name: byte %zu (0x%02x) is a control character",
                     i + 1, p[i]);
            return MESH_EINVAL;
        }
        if (s_is_control(p + i, n)) {
            snprintf(why, why_len,
                     "collection name: bytes %zu-%zu (U+%04X) are a control character", i + 1,
                     i + 2, (unsigned)p[i + 1]);
            return MESH_EINVAL;
        }
        i += n;
    }
    if (p[0] == '_' && !allow_reserved) {
        snprintf(why, why_len, "collection names starting with '_' are reserved");
        return MESH_EINVAL;
    }
    return MESH_OK;
}

mesh_err_t
node_check_coll(mesh_t *m, const char *coll, bool allow_reserved)
{
    char why[128];
    /* test hook: write under any name a peer could send (tests of the receiving side) */
    if (testhook_number(TESTHOOK_ANY_COLL, 0) == 1) {
        allow_reserved = true;
    }
    size_t len = strlen(coll);
    if (allow_reserved && len > 0 && len <= MESH_COLL_MAX) {
        return MESH_OK; /* a read: a name stored before the rules (§1) stays readable */
    }
    mesh_err_t err = node_coll_name_check(coll, len, allow_reserved, why, sizeof why);
    return err == MESH_OK ? MESH_OK : node_fail(m, err, "%s", why);
}

int64_t
node_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
node_store_key(const uint8_t *key, size_t key_len, store_key_t *out)
{
    out->bytes = key;
    out->len = key_len;
    if (key_len > STORE_KEY_INLINE_MAX) {
        hash_tagged(HASH_TAG_KEY, key, key_len, out->hash);
    }
}

const char *
mesh_errmsg(const mesh_t *m)
{
    const s_err_slot_t *slot = m ? s_err_find(m->serial) : NULL;
    return slot ? slot->text : "";
}

mesh_err_t
mesh_device_id(const mesh_t *m, char *buf, size_t buf_len)
{
    if (!m || !buf || buf_len < MESH_ID_TEXT_LEN + 1) {
        return MESH_EINVAL;
    }
    memcpy(buf, m->id_text, MESH_ID_TEXT_LEN + 1);
    return MESH_OK;
}

const char *
mesh_device_name(const mesh_t *m)
{
    return m ? m->name : "";
}

mesh_err_t
mesh_id_check(const char *text)
{
    uint8_t pk[DEVID_RAW_LEN];
    if (!text) {
        return MESH_EINVAL;
    }
    return devid_parse(text, pk);
}

void
mesh_free(void *p)
{
    free(p);
}
