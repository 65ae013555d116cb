/* core/sync/statusfile.c: the status text of docs/PROTOCOL.md §11.4 and mesh_status.
 * Owns: escaping the text's words, decoding it strictly (every line or none), reading it
 * from the loop of this process (under status_lock) or from HOME/status, waiting for figures
 * as new as the store, and the snapshot behind the public mesh_status_* calls.
 * Not here: the figures and when they are published (core/sync/status.c).
 * Layer: core (sync). Third-party: none. SPDX-License-Identifier: MIT */
#include "core/sync/statusfile.h"
#include "core/base/testhook.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "core/member/peer.h"
#include "core/sync/sync.h"
#include "core/wire/ctlmsg.h"
#include "store/store.h"
#include "transport/ctl.h"

#define S_FRESH_MS       3000          /* a status file older than this: no daemon runs */
#define S_FILE_MAX       (64u << 20)   /* bytes of a status file read back */
#define S_PEERS_MAX      4096u         /* peer lines read back */
#define S_COLLS_MAX      (1u << 20)    /* coll lines read back */
#define S_REFUSALS_MAX   256u          /* refusal lines read back */
#define S_FOLDERS_MAX    256u          /* folder lines read back */
#define S_ERRORS_MAX     64u           /* error lines read back */
#define S_WAIT_MS        1000          /* at most this long for figures as new as the store */
#define S_TEXT_SAFE      "-._~:/@+,[]" /* bytes written as they are, besides letters, digits */
#define S_CTL_CONNECT_MS 500           /* a daemon's control socket answers a connect within */
#define S_CTL_REPLY_MS   5000          /* and a status request within (a long apply: 1.5 s) */

struct mesh_status {
    mesh_status_device_t dev;
    mesh_status_peer_t *peers;
    size_t peers_cap;
    mesh_status_coll_t *colls;
    size_t colls_cap;
    mesh_status_refusal_t *refusals;
    size_t refusals_cap;
    mesh_status_error_t *errors;
    size_t errors_cap;
    mesh_status_folder_t *folders;
    size_t nfolders, folders_cap;
    char **strings; /* every string the snapshot owns */
    size_t nstrings, strings_cap;
    int64_t updated_ms; /* when the figures were taken (CLOCK_MONOTONIC ms) */
    int64_t pid;        /* as the text says */
};

void
statusfile_put_text(FILE *f, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        bool plain = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                     (*p >= '0' && *p <= '9') || strchr(S_TEXT_SAFE, *p);
        if (plain) {
            putc(*p, f);
        } else {
            putc('%', f);
            putc(hex[*p >> 4], f);
            putc(hex[*p & 15], f);
        }
    }
}

/* ---- reading ---- */

/* Keep s (malloc'd) among the snapshot's strings, or free it. */
static const char *
s_keep(mesh_status_t *st, char *s)
{
    if (!s) {
        return NULL;
    }
    if (st->nstrings == st->strings_cap) {
        size_t cap = st->strings_cap ? st->strings_cap * 2 : 16;
        char **grown = realloc(st->strings, cap * sizeof *grown);
        if (!grown) {
            free(s);
            return NULL;
        }
        st->strings = grown;
        st->strings_cap = cap;
    }
    st->strings[st->nstrings++] = s;
    return s;
}

/* A copy of the len bytes at p, kept by st; NULL when out of memory. */
static const char *
s_copy(mesh_status_t *st, const char *p, size_t len)
{
    char *s = malloc(len + 1);
    if (s) {
        memcpy(s, p, len);
        s[len] = '\0';
    }
    return s_keep(st, s);
}

static int
s_hex_digit(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    return -1;
}

/* Undo statusfile_put_text on the len bytes at p into a string kept by st. MESH_ECORRUPT for a
 * byte that is not written as it is, a broken %XX, or %00. */
static mesh_err_t
s_unescape(mesh_status_t *st, const char *p, size_t len, const char **out)
{
    char *s = malloc(len + 1);
    size_t n = 0;
    if (!s) {
        return MESH_ENOMEM;
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c == '%') {
            int hi = i + 2 < len ? s_hex_digit(p[i + 1]) : -1;
            int lo = i + 2 < len ? s_hex_digit(p[i + 2]) : -1;
            if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
                free(s);
                return MESH_ECORRUPT;
            }
            s[n++] = (char)(hi << 4 | lo);
            i += 2;
        } else if (c > ' ' && c < 0x7f && c != '=') {
            s[n++] = (char)c;
        } else {
            free(s);
            return MESH_ECORRUPT;
        }
    }
    s[n] = '\0';
    *out = s_keep(st, s);
    return *out ? MESH_OK : MESH_ENOMEM;
}

/* A whole decimal number (a leading '-' when min < 0) within min..max. */
static bool
s_number(const char *p, size_t len, long long min, long long max, long long *out)
{
    char buf[32];
    char *end = NULL;
    if (len == 0 || len >= sizeof buf || (p[0] == '-' && min >= 0)) {
        return false;
    }
    memcpy(buf, p, len);
    buf[len] = '\0';
    errno = 0;
    long long v = strtoll(buf, &end, 10);
    if (errno || *end || v < min || v > max ||
        !(buf[0] == '-' || (buf[0] >= '0' && buf[0] <= '9'))) {
        return false;
    }
    *out = v;
    return true;
}

/* The fields of a peer or coll line: the key, its kind and where it goes. */
typedef enum s_kind { S_TEXT, S_BOOL, S_INT, S_I64, S_U64 } s_kind_t;
typedef struct s_field {
    const char *key;
    s_kind_t kind;
    size_t offset;
} s_field_t;

#define S_PEER(key, kind, member)                                                                  \
    {                                                                                              \
        key, kind, offsetof(mesh_status_peer_t, member)                                            \
    }
static const s_field_t s_peer_fields[] = {
    S_PEER("name", S_TEXT, name),
    S_PEER("addr", S_TEXT, addr),
    S_PEER("connected", S_BOOL, connected),
    S_PEER("session", S_BOOL, session),
    S_PEER("refused", S_BOOL, refused),
    S_PEER("in_sync", S_BOOL, in_sync),
    S_PEER("silent_ms", S_I64, silent_ms),
    S_PEER("seen", S_I64, last_seen),
    S_PEER("to_send", S_U64, to_send),
    S_PEER("to_receive", S_U64, to_receive),
    S_PEER("bytes_to_send", S_I64, bytes_to_send),
    S_PEER("bytes_to_receive", S_I64, bytes_to_receive),
    S_PEER("in_flight", S_U64, in_flight),
    S_PEER("batches_out", S_U64, batches_out),
    S_PEER("batches_in", S_U64, batches_in),
    S_PEER("bytes_out", S_U64, bytes_out),
    S_PEER("bytes_in", S_U64, bytes_in),
    S_PEER("busy", S_BOOL, busy),
    S_PEER("versions_in", S_U64, versions_in),
    S_PEER("batch_bytes_in", S_U64, batch_bytes_in),
    S_PEER("rate_in", S_I64, rate_in),
    S_PEER("repairs", S_U64, repairs),
    S_PEER("blocks_asked", S_U64, blocks_asked),
    S_PEER("blocks_asked_in", S_U64, blocks_asked_in),
    S_PEER("via", S_TEXT, via),
    S_PEER("via_seen", S_I64, via_seen),
    {NULL, S_TEXT, 0},
};

#define S_COLL(key, kind, member)                                                                  \
    {                                                                                              \
        key, kind, offsetof(mesh_status_coll_t, member)                                            \
    }
static const s_field_t s_coll_fields[] = {
    S_COLL("peer", S_TEXT, peer),
    S_COLL("to_send", S_U64, to_send),
    S_COLL("to_receive", S_U64, to_receive),
    S_COLL("bytes_to_send", S_I64, bytes_to_send),
    S_COLL("bytes_to_receive", S_I64, bytes_to_receive),
    S_COLL("in_sync", S_BOOL, in_sync),
    {NULL, S_TEXT, 0},
};

#define S_REFUSAL(key, kind, member)                                                               \
    {                                                                                              \
        key, kind, offsetof(mesh_status_refusal_t, member)                                         \
    }
static const s_field_t s_refusal_fields[] = {
    S_REFUSAL("alt", S_TEXT, alt_id),
    S_REFUSAL("count", S_U64, count),
    S_REFUSAL("first", S_I64, first_seen),
    S_REFUSAL("last", S_I64, last_seen),
    {NULL, S_TEXT, 0},
};

#define S_ERROR(key, kind, member)                                                                 \
    {                                                                                              \
        key, kind, offsetof(mesh_status_error_t, member)                                           \
    }
static const s_field_t s_error_fields[] = {
    S_ERROR("level", S_INT, level),
    S_ERROR("count", S_U64, count),
    S_ERROR("last", S_I64, last_seen),
    {NULL, S_TEXT, 0},
};

#define S_FOLDER(key, kind, member)                                                                \
    {                                                                                              \
        key, kind, offsetof(mesh_status_folder_t, member)                                          \
    }
static const s_field_t s_folder_fields[] = {
    S_FOLDER("state", S_TEXT, state),
    S_FOLDER("why", S_TEXT, why),
    S_FOLDER("in_sync", S_BOOL, in_sync),
    S_FOLDER("need_files", S_U64, need_files),
    S_FOLDER("need_bytes", S_U64, need_bytes),
    S_FOLDER("waiting", S_U64, waiting),
    S_FOLDER("total_files", S_U64, total_files),
    S_FOLDER("total_bytes", S_U64, total_bytes),
    {NULL, S_TEXT, 0},
};

/* Set one "key=value" word of a line into the struct at base; an unknown key is skipped
 * (a newer writer's). MESH_ECORRUPT when the word or its value is malformed. */
static mesh_err_t
s_set_field(mesh_status_t *st, const s_field_t *fields, void *base, const char *w, size_t len)
{
    const char *eq = memchr(w, '=', len);
    if (!eq) {
        return MESH_ECORRUPT;
    }
    size_t klen = (size_t)(eq - w), vlen = len - klen - 1;
    const char *v = eq + 1;
    long long n = 0;
    for (const s_field_t *f = fields; f->key; f++) {
        if (strlen(f->key) != klen || memcmp(f->key, w, klen) != 0) {
            continue;
        }
        char *at = (char *)base + f->offset;
        switch (f->kind) {
        case S_TEXT:
            return s_unescape(st, v, vlen, (const char **)(void *)at);
        case S_BOOL:
            if (!s_number(v, vlen, 0, 1, &n)) {
                return MESH_ECORRUPT;
            }
            *(bool *)(void *)at = n == 1;
            return MESH_OK;
        case S_INT:
            if (!s_number(v, vlen, 0, INT_MAX, &n)) {
                return MESH_ECORRUPT;
            }
            *(int *)(void *)at = (int)n;
            return MESH_OK;
        case S_I64:
            if (!s_number(v, vlen, -1, LLONG_MAX, &n)) {
                return MESH_ECORRUPT;
            }
            *(int64_t *)(void *)at = n;
            return MESH_OK;
        case S_U64:
            if (!s_number(v, vlen, 0, LLONG_MAX, &n)) {
                return MESH_ECORRUPT;
            }
            *(uint64_t *)(void *)at = (uint64_t)n;
            return MESH_OK;
        }
    }
    return MESH_OK;
}

/* Decode the words of a peer or coll line after its kind: the first is the escaped ID or
 * name (into *first), the rest "key=value". */
static mesh_err_t
s_line_fields(mesh_status_t *st, const s_field_t *fields, void *base, const char **first,
              const char *p, const char *end)
{
    mesh_err_t err = MESH_OK;
    for (bool head = true; err == MESH_OK && p < end; head = false) {
        const char *sp = memchr(p, ' ', (size_t)(end - p));
        const char *w_end = sp ? sp : end;
        err = head ? s_unescape(st, p, (size_t)(w_end - p), first)
                   : s_set_field(st, fields, base, p, (size_t)(w_end - p));
        p = sp ? sp + 1 : end;
    }
    return err;
}

/* Grow *array (of *cap items of size) to hold n + 1. */
static bool
s_grow(void **array, size_t *cap, size_t n, size_t size)
{
    if (n < *cap) {
        return true;
    }
    size_t want = *cap ? *cap * 2 : 8;
    void *grown = realloc(*array, want * size);
    if (!grown) {
        return false;
    }
    *array = grown;
    *cap = want;
    return true;
}

/* Decode one line of the text (without its newline). */
static mesh_err_t
s_line(mesh_status_t *st, const char *p, const char *end)
{
    const char *sp = memchr(p, ' ', (size_t)(end - p));
    size_t klen = sp ? (size_t)(sp - p) : (size_t)(end - p);
    const char *v = sp ? sp + 1 : end;
    long long n = 0;
    if (klen == 4 && memcmp(p, "peer", 4) == 0) {
        if (st->dev.peers == S_PEERS_MAX ||
            !s_grow((void **)&st->peers, &st->peers_cap, st->dev.peers, sizeof *st->peers)) {
            return st->dev.peers == S_PEERS_MAX ? MESH_ECORRUPT : MESH_ENOMEM;
        }
        mesh_status_peer_t *peer = &st->peers[st->dev.peers];
        memset(peer, 0, sizeof *peer);
        peer->size = sizeof *peer;
        peer->name = peer->addr = peer->via = "";
        peer->silent_ms = -1;
        peer->rate_in = -1;
        st->dev.peers++;
        return s_line_fields(st, s_peer_fields, peer, &peer->id, v, end);
    }
    if (klen == 4 && memcmp(p, "coll", 4) == 0) {
        if (st->dev.colls == S_COLLS_MAX ||
            !s_grow((void **)&st->colls, &st->colls_cap, st->dev.colls, sizeof *st->colls)) {
            return st->dev.colls == S_COLLS_MAX ? MESH_ECORRUPT : MESH_ENOMEM;
        }
        mesh_status_coll_t *coll = &st->colls[st->dev.colls];
        memset(coll, 0, sizeof *coll);
        coll->size = sizeof *coll;
        coll->peer = "";
        st->dev.colls++;
        return s_line_fields(st, s_coll_fields, coll, &coll->name, v, end);
    }
    if (klen == 7 && memcmp(p, "refusal", 7) == 0) {
        if (st->dev.refusals == S_REFUSALS_MAX || !s_grow((void **)&st->refusals, &st->refusals_cap,
                                                          st->dev.refusals, sizeof *st->refusals)) {
            return st->dev.refusals == S_REFUSALS_MAX ? MESH_ECORRUPT : MESH_ENOMEM;
        }
        mesh_status_refusal_t *r = &st->refusals[st->dev.refusals++];
        memset(r, 0, sizeof *r);
        r->size = sizeof *r;
        r->alt_id = "";
        return s_line_fields(st, s_refusal_fields, r, &r->id, v, end);
    }
    if (klen == 5 && memcmp(p, "error", 5) == 0) {
        if (st->dev.errors == S_ERRORS_MAX ||
            !s_grow((void **)&st->errors, &st->errors_cap, st->dev.errors, sizeof *st->errors)) {
            return st->dev.errors == S_ERRORS_MAX ? MESH_ECORRUPT : MESH_ENOMEM;
        }
        mesh_status_error_t *e = &st->errors[st->dev.errors++];
        memset(e, 0, sizeof *e);
        e->size = sizeof *e;
        return s_line_fields(st, s_error_fields, e, &e->text, v, end);
    }
    if (klen == 6 && memcmp(p, "folder", 6) == 0) {
        if (st->nfolders == S_FOLDERS_MAX ||
            !s_grow((void **)&st->folders, &st->folders_cap, st->nfolders, sizeof *st->folders)) {
            return st->nfolders == S_FOLDERS_MAX ? MESH_ECORRUPT : MESH_ENOMEM;
        }
        mesh_status_folder_t *fo = &st->folders[st->nfolders++];
        memset(fo, 0, sizeof *fo);
        fo->size = sizeof *fo;
        fo->state = fo->why = "";
        return s_line_fields(st, s_folder_fields, fo, &fo->id, v, end);
    }
    if (klen == 5 && memcmp(p, "txnid", 5) == 0) {
        if (!s_number(v, (size_t)(end - v), 0, LLONG_MAX, &n)) {
            return MESH_ECORRUPT;
        }
        st->dev.txnid = (uint64_t)n;
        return MESH_OK;
    }
    if (klen == 6 && memcmp(p, "listen", 6) == 0) {
        return s_unescape(st, v, (size_t)(end - v), &st->dev.listen);
    }
    if (klen == 3 && memcmp(p, "pid", 3) == 0) {
        if (!s_number(v, (size_t)(end - v), 0, INT32_MAX, &n)) {
            return MESH_ECORRUPT;
        }
        st->pid = n;
        return MESH_OK;
    }
    if (klen == 10 && memcmp(p, "updated_ms", 10) == 0) {
        if (!s_number(v, (size_t)(end - v), 0, LLONG_MAX, &n)) {
            return MESH_ECORRUPT;
        }
        st->updated_ms = n;
        return MESH_OK;
    }
    return MESH_OK; /* device, or a line of a newer writer */
}

/* Decode the status text (len bytes): every line or none. */
static mesh_err_t
s_decode(mesh_status_t *st, const char *text, size_t len)
{
    const char *p = text, *end = text + len;
    mesh_err_t err = MESH_OK;
    while (err == MESH_OK && p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl) {
            return MESH_ECORRUPT; /* every line ends with a newline */
        }
        err = s_line(st, p, nl);
        p = nl + 1;
    }
    for (size_t i = 0; err == MESH_OK && i < st->dev.peers; i++) {
        err = st->peers[i].id ? MESH_OK : MESH_ECORRUPT; /* "peer" with no ID */
    }
    for (size_t i = 0; err == MESH_OK && i < st->dev.colls; i++) {
        err = st->colls[i].name ? MESH_OK : MESH_ECORRUPT;
    }
    for (size_t i = 0; err == MESH_OK && i < st->dev.refusals; i++) {
        err = st->refusals[i].id ? MESH_OK : MESH_ECORRUPT;
    }
    for (size_t i = 0; err == MESH_OK && i < st->dev.errors; i++) {
        err = st->errors[i].text ? MESH_OK : MESH_ECORRUPT;
    }
    return err;
}

/* Without a loop: the members (but this device), with their names and addresses. */
static mesh_err_t
s_members(mesh_t *m, mesh_status_t *st)
{
    mesh_peer_list_t *peers = NULL;
    mesh_err_t err = mesh_peers(m, &peers);
    for (size_t i = 0; err == MESH_OK && i < mesh_peer_list_count(peers); i++) {
        const mesh_peer_t *p = mesh_peer_list_get(peers, i);
        const char *addrs = peer_list_addrs_text(peers, i);
        if (p->self) {
            continue;
        }
        if (!s_grow((void **)&st->peers, &st->peers_cap, st->dev.peers, sizeof *st->peers)) {
            err = MESH_ENOMEM;
            break;
        }
        mesh_status_peer_t *peer = &st->peers[st->dev.peers++];
        memset(peer, 0, sizeof *peer);
        peer->size = sizeof *peer;
        peer->silent_ms = -1;
        peer->rate_in = -1;
        peer->id = s_copy(st, p->id, strlen(p->id));
        peer->name = s_copy(st, p->name, strlen(p->name));
        peer->addr = s_copy(st, addrs ? addrs : "", addrs ? strlen(addrs) : 0);
        peer->via = "";
        err = peer->id && peer->name && peer->addr ? MESH_OK : MESH_ENOMEM;
    }
    mesh_peer_list_free(peers);
    return err;
}

/* Read HOME/status into *text (malloc'd, *len bytes); *text NULL when there is none. */
static mesh_err_t
s_read_file(mesh_t *m, char **text, size_t *len)
{
    char path[4200];
    *text = NULL;
    *len = 0;
    snprintf(path, sizeof path, "%s/status", m->home);
    FILE *f = fopen(path, "r");
    if (!f) {
        return errno == ENOENT ? MESH_OK : MESH_EIO;
    }
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    mesh_err_t err = buf ? MESH_OK : MESH_ENOMEM;
    while (err == MESH_OK) {
        if (n == cap) {
            char *grown = cap < S_FILE_MAX ? realloc(buf, cap * 2) : NULL;
            err = cap >= S_FILE_MAX ? MESH_ECORRUPT : grown ? MESH_OK : MESH_ENOMEM;
            if (err != MESH_OK) {
                break;
            }
            buf = grown;
            cap *= 2;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0) {
            err = ferror(f) ? MESH_EIO : MESH_OK;
            break;
        }
    }
    fclose(f);
    if (err != MESH_OK) {
        free(buf);
        return err;
    }
    *text = buf;
    *len = n;
    return MESH_OK;
}

/* The loop's published text (a copy), or NULL before the first. */
static mesh_err_t
s_read_loop(loop_t *l, char **text, size_t *len)
{
    mesh_err_t err = MESH_OK;
    *text = NULL;
    *len = 0;
    pthread_mutex_lock(&l->status_lock);
    if (l->status_text) {
        *text = malloc(l->status_len + 1);
        if (*text) {
            memcpy(*text, l->status_text, l->status_len);
            *len = l->status_len;
        } else {
            err = MESH_ENOMEM;
        }
    }
    pthread_mutex_unlock(&l->status_lock);
    return err;
}

/* The status text of the daemon on m's home, asked over its control socket (§21) for
 * figures counted at txnid want or later (it waits up to 1 s for them itself). MESH_OK:
 * *text (malloc'd) and *len. Otherwise no daemon answered there (the caller reads the file):
 * MESH_ENOTFOUND (none listens), MESH_EINVAL (not a private directory), MESH_EBUSY (no
 * reply in time), or what the reply says. */
static mesh_err_t
s_read_ctl(mesh_t *m, uint64_t want, char **text, size_t *len)
{
    wire_buf_t req;
    uint8_t *reply = NULL;
    size_t reply_len = 0;
    ctlmsg_reply_t rep;
    ctlmsg_req_t r = {.id = 1, .kind = CTLMSG_STATUS, .min_txnid = want};
    wire_buf_init(&req);
    mesh_err_t err = ctlmsg_req_encode(&r, &req);
    if (err == MESH_OK) {
        err = ctl_call(m->home, req.data, req.len, S_CTL_CONNECT_MS, S_CTL_REPLY_MS, &reply,
                       &reply_len);
    }
    if (err == MESH_OK) {
        err = ctlmsg_reply_decode(CTLMSG_STATUS, reply, reply_len, &rep);
    }
    if (err == MESH_OK && (rep.code != MESH_OK || rep.id != r.id)) {
        err = rep.code != MESH_OK ? (mesh_err_t)rep.code : MESH_EPROTO;
    }
    if (err == MESH_OK) {
        *text = malloc(rep.status_len + 1);
        if (*text) {
            memcpy(*text, rep.status, rep.status_len);
            *len = rep.status_len;
        } else {
            err = MESH_ENOMEM;
        }
    }
    free(reply);
    wire_buf_release(&req);
    return err;
}

/* Does a daemon run for this snapshot of the file: its process is there and it wrote the
 * file lately? */
static bool
s_daemon_runs(const mesh_status_t *st, int64_t now)
{
    /* (Test hook: under ThreadSanitizer a daemon's turn of its loop can pass the 3 s, so
     * "lately" stretches with the liveness timeouts.) */
    uint64_t slow = testhook_number(TESTHOOK_TIME_FACTOR, 1);
    int64_t fresh = S_FRESH_MS * (slow < 1 ? 1 : slow > 20 ? 20 : (int64_t)slow);
    return st->pid > 0 && (kill((pid_t)st->pid, 0) == 0 || errno == EPERM) &&
           now - st->updated_ms < fresh;
}

/* Forget what the file said of peers and collections (its daemon is gone). */
static void
s_forget_sync(mesh_status_t *st)
{
    st->dev.peers = 0;
    st->dev.colls = 0;
    st->dev.refusals = 0;
    st->dev.errors = 0;
    st->nfolders = 0;
    st->dev.txnid = 0;
    st->dev.listen = "";
    st->pid = 0;
}

/* Forget what a decode put into st: its figures and the strings past the first keep. */
static void
s_reset(mesh_status_t *st, size_t keep)
{
    s_forget_sync(st);
    st->updated_ms = 0;
    while (st->nstrings > keep) {
        free(st->strings[--st->nstrings]);
    }
}

/* Read and decode the published text into st: the loop's in this process, else HOME/status
 * (*text NULL when there is none). When a daemon publishes figures counted before the
 * store's last commit, read again until they catch up or S_WAIT_MS passed: a snapshot
 * taken after a write must not show the time before it. */
static mesh_err_t
s_read_fresh(mesh_t *m, mesh_status_t *st, char **text, size_t *len)
{
    uint64_t want = store_last_txnid(m->store);
    size_t keep = st->nstrings;
    if (!m->loop && s_read_ctl(m, want, text, len) == MESH_OK) {
        st->dev.source = "socket"; /* the daemon answered: it runs, its figures are new */
        return s_decode(st, *text, *len);
    }
    int64_t deadline = sync_now_ms() + S_WAIT_MS;
    for (;;) {
        mesh_err_t err = m->loop ? s_read_loop(m->loop, text, len) : s_read_file(m, text, len);
        if (err == MESH_OK && *text) {
            err = s_decode(st, *text, *len);
        }
        bool live = m->loop || (*text && s_daemon_runs(st, sync_now_ms()));
        if (err != MESH_OK || !*text || !live || st->dev.txnid == 0 || st->dev.txnid >= want ||
            sync_now_ms() >= deadline) {
            return err;
        }
        free(*text);
        *text = NULL;
        *len = 0;
        s_reset(st, keep);
        struct timespec nap = {0, 25 * 1000 * 1000};
        nanosleep(&nap, NULL);
    }
}

mesh_err_t
mesh_status(mesh_t *m, mesh_status_t **out)
{
    if (!out) {
        return MESH_EINVAL;
    }
    *out = NULL;
    if (!m) {
        return MESH_EINVAL;
    }
    char *text = NULL;
    size_t len = 0;
    mesh_status_t *st = calloc(1, sizeof *st);
    if (!st) {
        return MESH_ENOMEM;
    }
    st->dev.size = sizeof st->dev;
    st->dev.listen = "";
    st->dev.source = "";
    st->dev.id = s_copy(st, m->id_text, strlen(m->id_text));
    st->dev.name = s_copy(st, m->name, strlen(m->name));
    mesh_err_t err = st->dev.id && st->dev.name ? MESH_OK : MESH_ENOMEM;
    if (err == MESH_OK) {
        err = s_read_fresh(m, st, &text, &len);
    }
    int64_t now = sync_now_ms();
    if (err == MESH_OK && text && strcmp(st->dev.source, "socket") == 0) {
        st->dev.daemon = true;
        st->updated_ms = st->updated_ms ? st->updated_ms : now;
    } else if (err == MESH_OK && m->loop) {
        st->dev.source = "loop";
        st->dev.daemon = true;
        st->pid = getpid();
        st->updated_ms = text ? st->updated_ms : now;
        if (!text) {
            st->dev.listen = s_copy(st, m->loop->listen, strlen(m->loop->listen));
            err = st->dev.listen ? MESH_OK : MESH_ENOMEM;
        }
    } else if (err == MESH_OK) {
        st->dev.daemon = text && s_daemon_runs(st, now);
        st->dev.source = st->dev.daemon ? "file" : "";
        if (!st->dev.daemon) {
            s_forget_sync(st);
            err = s_members(m, st);
        }
    }
    free(text);
    if (err != MESH_OK) {
        mesh_status_free(st);
        return err;
    }
    st->dev.pid = st->dev.daemon ? st->pid : 0;
    st->dev.age_ms = st->dev.daemon ? now - st->updated_ms : -1;
    *out = st;
    return MESH_OK;
}

mesh_err_t
statusfile_loop_snapshot(loop_t *l, mesh_status_t **out)
{
    char *text = NULL;
    size_t len = 0;
    *out = NULL;
    mesh_err_t err = s_read_loop(l, &text, &len);
    if (err != MESH_OK || !text) {
        return err;
    }
    mesh_status_t *st = calloc(1, sizeof *st);
    if (!st) {
        free(text);
        return MESH_ENOMEM;
    }
    st->dev.size = sizeof st->dev;
    st->dev.id = st->dev.name = st->dev.listen = "";
    st->dev.source = "loop";
    err = s_decode(st, text, len);
    free(text);
    if (err != MESH_OK) {
        mesh_status_free(st);
        return err;
    }
    st->dev.daemon = true;
    st->dev.pid = st->pid;
    st->dev.age_ms = sync_now_ms() - st->updated_ms;
    *out = st;
    return MESH_OK;
}

/* Copy the full struct src (its size field set aside) into out, as far as out->size
 * reaches: the caller's struct may be an older, shorter one. */
static void
s_fill(void *out, const void *src, size_t full)
{
    size_t want;
    memcpy(&want, out, sizeof want);
    memcpy((char *)out + sizeof want, (const char *)src + sizeof want,
           (want < full ? want : full) - sizeof want);
}

mesh_err_t
mesh_status_device(const mesh_status_t *st, mesh_status_device_t *out)
{
    if (!st || !out || out->size < sizeof out->size) {
        return MESH_EINVAL;
    }
    s_fill(out, &st->dev, sizeof st->dev);
    return MESH_OK;
}

mesh_err_t
mesh_status_peer(const mesh_status_t *st, size_t i, mesh_status_peer_t *out)
{
    if (!st || !out || out->size < sizeof out->size) {
        return MESH_EINVAL;
    }
    if (i >= st->dev.peers) {
        return MESH_ENOTFOUND;
    }
    s_fill(out, &st->peers[i], sizeof st->peers[i]);
    return MESH_OK;
}

mesh_err_t
mesh_status_coll(const mesh_status_t *st, size_t i, mesh_status_coll_t *out)
{
    if (!st || !out || out->size < sizeof out->size) {
        return MESH_EINVAL;
    }
    if (i >= st->dev.colls) {
        return MESH_ENOTFOUND;
    }
    s_fill(out, &st->colls[i], sizeof st->colls[i]);
    return MESH_OK;
}

mesh_err_t
mesh_status_refusal(const mesh_status_t *st, size_t i, mesh_status_refusal_t *out)
{
    if (!st || !out || out->size < sizeof out->size) {
        return MESH_EINVAL;
    }
    if (i >= st->dev.refusals) {
        return MESH_ENOTFOUND;
    }
    s_fill(out, &st->refusals[i], sizeof st->refusals[i]);
    return MESH_OK;
}

mesh_err_t
mesh_status_error(const mesh_status_t *st, size_t i, mesh_status_error_t *out)
{
    if (!st || !out || out->size < sizeof out->size) {
        return MESH_EINVAL;
    }
    if (i >= st->dev.errors) {
        return MESH_ENOTFOUND;
    }
    s_fill(out, &st->errors[i], sizeof st->errors[i]);
    return MESH_OK;
}

void
mesh_status_free(mesh_status_t *st)
{
    if (!st) {
        return;
    }
    for (size_t i = 0; i < st->nstrings; i++) {
        free(st->strings[i]);
    }
    free(st->strings);
    free(st->peers);
    free(st->colls);
    free(st->refusals);
    free(st->errors);
    free(st->folders);
    free(st);
}

size_t
mesh_status_folder_count(const mesh_status_t *st)
{
    return st ? st->nfolders : 0;
}

mesh_err_t
mesh_status_folder(const mesh_status_t *st, size_t i, mesh_status_folder_t *out)
{
    if (!st || !out || out->size < sizeof(size_t)) {
        return MESH_EINVAL;
    }
    if (i >= st->nfolders) {
        return MESH_ENOTFOUND;
    }
    s_fill(out, &st->folders[i], sizeof st->folders[i]);
    return MESH_OK;
}
