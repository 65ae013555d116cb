/* core/sync/pairrun.c: pairing by code as the public calls run it (mesh_pair_open, _wait,
 * _close, _join; docs/PROTOCOL.md §15.5): the listener of the device that shows the code, its
 * one-at-a-time admission, rate limit, expiry and single use, the joining device's
 * connection, and the membership records each side writes after success.
 * Not here: the exchange itself (core/sync/pair.c), the messages (core/wire/pairmsg.c), the
 * sockets (transport/). The daemon's loop is not involved: the records reach it through
 * the store, as those of `meshctl peer add` do.
 * Layer: core (sync). Third-party: none. SPDX-License-Identifier: MIT */
#include "core/sync/pairrun.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "core/base/node.h"
#include "core/base/testhook.h"
#include "core/member/addr.h"
#include "core/sync/pair.h"
#include "crypto/devid.h"
#include "crypto/ident.h"
#include "store/store.h"
#include "transport/beacon.h"
#include "transport/transport.h"

#define S_LISTEN_DEFAULT "tcp://0.0.0.0:47475"
#define S_EXPIRE_MS      (10 * 60 * 1000) /* a code's life by default */
#define S_JOIN_MS        30000            /* mesh_pair_join's deadline by default */
#define S_STALL_MS       10000            /* an attempt silent this long is dropped */
#define S_ATTEMPTS_MAX   16               /* attempts dropped unburnt per code, at most */
#define S_ATTEMPT_GAP_MS 1000             /* a new attempt at most this often */
#define S_FLUSH_MS       300              /* the last frames' time to leave before close */
#define S_FOLLOW_MS      2000             /* a daemon's time to take B's record, at most */
#define S_LAN_PORT       47474            /* pairing beacons' UDP port by default */
#define S_LAN_EVERY_MS   500              /* a pairing beacon this often while open */

struct mesh_pair {
    mesh_t *m;
    transport_t *t;
    int lock_fd;
    paircode_t code;
    char code_text[PAIRCODE_TEXT_LEN];
    char endpoint[256];
    int64_t expire_at;
    bool others;
    char **addrs, **share;
    size_t naddrs, nshare;
    mesh_pair_progress_fn progress;
    void *progress_ctx;
    pair_t *cur;        /* the attempt under way, or NULL */
    uint32_t cur_conn;  /* its connection */
    int64_t cur_ms;     /* when it last moved */
    int64_t attempt_ms; /* when the last attempt began */
    unsigned attempts;  /* attempts dropped unburnt */
    bool used;          /* paired or burnt: the code is spent */
    beacon_sock_t *lan; /* pairing beacons (§15.6), or NULL */
    uint16_t port;      /* the listener's TCP port */
    int64_t lan_ms;     /* when the last one went out */
};

/* Is LAN discovery forbidden by the environment (tests, benches: docs/PROTOCOL.md §16)? */
static bool
s_lan_off(void)
{
    const char *v = getenv("MESHSYNC_NO_DISCOVERY");
    return v && *v;
}

/* A: a pairing beacon, every S_LAN_EVERY_MS while open. */
static void
s_lan_tick(struct mesh_pair *p)
{
    uint8_t buf[BEACON_PAIR_LEN];
    size_t len = 0;
    int64_t now = node_now_ms();
    if (!p->lan || now - p->lan_ms < S_LAN_EVERY_MS ||
        beacon_pair_encode(p->code.nameplate, p->port, buf, sizeof buf, &len) != MESH_OK) {
        return;
    }
    p->lan_ms = now;
    (void)beacon_send(p->lan, buf, len);
}

static void s_say(mesh_pair_progress_fn fn, void *ctx, const mesh_t *m, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* A progress line: to the caller's progress function, and the log at info. */
static void
s_say(mesh_pair_progress_fn fn, void *ctx, const mesh_t *m, const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    node_log(m, MESH_LOG_INFO, "pairing: %s", line);
    if (fn) {
        fn(ctx, line);
    }
}

/* Does this device share its mesh with any other (not removed) device? */
static mesh_err_t
s_others(mesh_t *m, bool *others)
{
    mesh_peer_list_t *list = NULL;
    mesh_err_t err = mesh_peers(m, &list);
    *others = false;
    for (size_t i = 0; err == MESH_OK && i < mesh_peer_list_count(list); i++) {
        const mesh_peer_t *pe = mesh_peer_list_get(list, i);
        *others |= !pe->self && !pe->removed;
    }
    mesh_peer_list_free(list);
    return err;
}

static void
s_strv_free(char **v, size_t n)
{
    for (size_t i = 0; v && i < n; i++) {
        free(v[i]);
    }
    free(v);
}

static mesh_err_t
s_strv_copy(const char *const *in, size_t n, char ***out)
{
    *out = NULL;
    if (n == 0) {
        return MESH_OK;
    }
    char **v = calloc(n, sizeof *v);
    for (size_t i = 0; v && i < n; i++) {
        if (!(v[i] = strdup(in[i]))) {
            s_strv_free(v, n);
            return MESH_ENOMEM;
        }
    }
    *out = v;
    return v ? MESH_OK : MESH_ENOMEM;
}

/* ---- the device that shows the code ---- */

/* The ZAP rule and the per-frame check of the listener: the key of the attempt under way,
 * or, when none is, any key, but a new attempt at most once per S_ATTEMPT_GAP_MS. */
static bool
s_admit(void *ctx, const uint8_t *curve)
{
    struct mesh_pair *p = ctx;
    if (p->used) {
        return false;
    }
    if (p->cur && pair_peer_curve(p->cur)) {
        return memcmp(pair_peer_curve(p->cur), curve, PAIR_KEY_LEN) == 0;
    }
    return node_now_ms() - p->attempt_ms >= S_ATTEMPT_GAP_MS || p->attempt_ms == 0 || p->cur;
}

static mesh_err_t
s_send_a(void *ctx, const uint8_t *frame, size_t len)
{
    struct mesh_pair *p = ctx;
    return transport_send(p->t, p->cur_conn, frame, len);
}

/* Let the last frames leave before the listener closes (its sockets do not linger). */
static void
s_flush(transport_t *t)
{
    transport_msg_t tm;
    int64_t end = node_now_ms() + S_FLUSH_MS;
    while (node_now_ms() < end) {
        mesh_err_t err = transport_recv(t, 50, &tm);
        (void)err; /* whatever comes now is too late */
    }
}

mesh_err_t
mesh_pair_open(mesh_t *m, const mesh_pair_options_t *opts, mesh_pair_t **out)
{
    char why[256], lockpath[4200];
    uint8_t sk[TRANSPORT_KEY_LEN];
    if (out) {
        *out = NULL;
    }
    if (!m || !out || (opts && opts->size < sizeof(size_t))) {
        return MESH_EINVAL;
    }
    node_clear_err(m);
    mesh_pair_options_t o = {0};
    if (opts) {
        memcpy(&o, opts, opts->size < sizeof o ? opts->size : sizeof o);
    }
    if (o.addr_count > PAIRMSG_ADDRS_MAX) {
        return node_fail(m, MESH_EINVAL, "at most %u addresses for the joining device to dial",
                         PAIRMSG_ADDRS_MAX);
    }
    for (size_t i = 0; i < o.addr_count; i++) {
        if (!o.addrs[i] ||
            addr_parse(o.addrs[i], strlen(o.addrs[i]), true, NULL, why, sizeof why) != MESH_OK) {
            return node_fail(m, MESH_EINVAL, "address %zu to give: %s", i + 1, why);
        }
    }
    for (size_t i = 0; i < o.share_count; i++) {
        if (!o.share[i] || node_check_coll(m, o.share[i], false) != MESH_OK) {
            return MESH_EINVAL;
        }
    }
    struct mesh_pair *p = calloc(1, sizeof *p);
    if (!p) {
        return MESH_ENOMEM;
    }
    p->m = m;
    p->lock_fd = -1;
    p->progress = o.progress;
    p->progress_ctx = o.progress_ctx;
    p->expire_at = node_now_ms() + (int64_t)(o.expire_ms ? o.expire_ms : S_EXPIRE_MS);
    mesh_err_t err = s_strv_copy(o.addrs, o.addr_count, &p->addrs);
    p->naddrs = o.addr_count;
    if (err == MESH_OK) {
        err = s_strv_copy(o.share, o.share_count, &p->share);
        p->nshare = o.share_count;
    }
    if (err == MESH_OK) {
        err = s_others(m, &p->others);
    }
    snprintf(lockpath, sizeof lockpath, "%s/pair.lock", m->home);
    if (err == MESH_OK) {
        p->lock_fd = open(lockpath, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (p->lock_fd < 0) {
            err = node_fail(m, MESH_EIO, "%s: %s", lockpath, strerror(errno));
        } else if (flock(p->lock_fd, LOCK_EX | LOCK_NB) != 0) {
            err = node_fail(m, MESH_EBUSY, "another pairing is open on this home (%s)", lockpath);
        }
    }
    if (err == MESH_OK) {
        err = paircode_generate(&p->code);
    }
    if (err == MESH_OK) {
        err = paircode_format(&p->code, p->code_text, sizeof p->code_text);
    }
    if (err == MESH_OK) {
        memcpy(sk, pair_listener_secret, sizeof sk);
        err = transport_open(pair_listener_public, sk, s_admit, p, &p->t);
        ident_wipe(sk, sizeof sk);
        if (err != MESH_OK) {
            node_fail(m, err, "pairing listener: cannot start");
        } else {
            transport_frame_max(p->t, PAIRMSG_FRAME_MAX); /* a stranger's frames: 4 KiB */
        }
    }
    if (err == MESH_OK) {
        char bind[ADDR_TEXT_MAX];
        const char *listen = o.listen ? o.listen : S_LISTEN_DEFAULT;
        err = addr_listen_resolve(listen, bind, sizeof bind, NULL, why, sizeof why);
        if (err != MESH_OK) {
            node_fail(m, err, "pairing endpoint: %s", why);
        } else if ((err = transport_listen(p->t, bind, p->endpoint, sizeof p->endpoint)) !=
                   MESH_OK) {
            node_fail(m, err, "pairing endpoint %s: %s", bind, transport_errmsg(p->t));
        }
    }
    if (err != MESH_OK) {
        mesh_pair_close(p);
        return err;
    }
    const char *colon = strrchr(p->endpoint, ':');
    p->port = colon ? (uint16_t)strtoul(colon + 1, NULL, 10) : 0;
    if (o.lan && !s_lan_off()) {
        err = beacon_open((uint16_t)(o.lan_port ? o.lan_port : S_LAN_PORT), NULL, NULL, &p->lan,
                          why, sizeof why);
        if (err != MESH_OK) {
            node_fail(m, err, "pairing beacons: %s", why);
            mesh_pair_close(p);
            return err;
        }
    }
    s_say(p->progress, p->progress_ctx, m, "listening on %s for one device%s", p->endpoint,
          p->lan ? " (and saying so on the LAN)" : "");
    *out = p;
    return MESH_OK;
}

const char *
mesh_pair_code(const mesh_pair_t *p)
{
    return p ? p->code_text : "";
}

const char *
mesh_pair_endpoint(const mesh_pair_t *p)
{
    return p ? p->endpoint : "";
}

void
mesh_pair_close(mesh_pair_t *p)
{
    if (!p) {
        return;
    }
    pair_free(p->cur);
    beacon_close(p->lan);
    transport_close(p->t);
    if (p->lock_fd >= 0) {
        close(p->lock_fd); /* (and the lock with it) */
    }
    paircode_wipe(&p->code);
    ident_wipe(p->code_text, sizeof p->code_text);
    s_strv_free(p->addrs, p->naddrs);
    s_strv_free(p->share, p->nshare);
    free(p);
}

static bool
s_listed(char **v, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(v[i], s) == 0) {
            return true;
        }
    }
    return false;
}

/* Give coll, when it has no access list yet, one of the current members (B not yet one):
 * nothing changes for them, and B is then sent only what a record grants it. */
static mesh_err_t
s_pin_list(struct mesh_pair *p, const char *coll)
{
    mesh_member_list_t *mem = NULL;
    mesh_err_t err = mesh_members(p->m, coll, &mem);
    size_t n = mesh_member_list_count(mem);
    if (err == MESH_OK && !mesh_member_list_restricted(mem) && n) {
        const char **ids = calloc(n, sizeof *ids);
        for (size_t j = 0; ids && j < n; j++) {
            ids[j] = mesh_member_list_get(mem, j);
        }
        err = ids ? mesh_share(p->m, coll, ids, n) : MESH_ENOMEM;
        free(ids);
    }
    mesh_member_list_free(mem);
    return err;
}

/* With --share: an access list of the current members for every user collection without
 * one (the listed ones too, written or not yet), before B is a member. */
static mesh_err_t
s_restrict_others(struct mesh_pair *p)
{
    mesh_coll_list_t *colls = NULL;
    mesh_err_t err = mesh_collections(p->m, &colls);
    for (size_t i = 0; err == MESH_OK && i < mesh_coll_list_count(colls); i++) {
        const char *name = mesh_coll_list_get(colls, i)->name;
        if (name[0] != '_' && !s_listed(p->share, p->nshare, name)) {
            err = s_pin_list(p, name);
        }
    }
    mesh_coll_list_free(colls);
    for (size_t i = 0; err == MESH_OK && i < p->nshare; i++) {
        err = s_pin_list(p, p->share[i]);
    }
    return err;
}

/* B proved the code and its key: its records (access first, then the add record). */
static mesh_err_t
s_add_b(struct mesh_pair *p, const char *id)
{
    mesh_err_t err = p->nshare ? s_restrict_others(p) : MESH_OK;
    if (err == MESH_OK) {
        err = mesh_peer_add(p->m, id, NULL, NULL, 0);
    }
    for (size_t i = 0; err == MESH_OK && i < p->nshare; i++) {
        const char *ids[] = {id};
        err = mesh_share(p->m, p->share[i], ids, 1);
    }
    if (err != MESH_OK && p->nshare) {
        /* B would not be limited as asked: take it out again, for good */
        mesh_err_t rm = mesh_peer_remove(p->m, id);
        (void)rm; /* the first failure is the one to report */
    }
    return err;
}

/* A daemon running on this home admits B only once its loop has taken our records (it
 * follows the store's transactions); B, told RESULT, dials at once. So before RESULT, wait
 * (at most S_FOLLOW_MS) until the daemon's status was written at or past our commit: else
 * its first refusal would make B's daemon wait for its redial (3 s). No daemon: no wait. */
static void
s_daemon_follow(struct mesh_pair *p)
{
    uint64_t want = store_last_txnid(p->m->store);
    int64_t end = node_now_ms() + S_FOLLOW_MS;
    for (bool said = false;; said = true) {
        mesh_status_t *st = NULL;
        mesh_status_device_t dev = {.size = sizeof dev};
        bool wait = mesh_status(p->m, &st) == MESH_OK && mesh_status_device(st, &dev) == MESH_OK &&
                    dev.daemon && dev.pid != (int64_t)getpid() && dev.txnid < want;
        mesh_status_free(st);
        if (!wait || node_now_ms() >= end) {
            return;
        }
        if (!said) {
            s_say(p->progress, p->progress_ctx, p->m, "waiting for the daemon to take the record");
        }
        usleep(20 * 1000);
    }
}

/* The attempt under way ended without success: burnt (the code is spent) or dropped. */
static mesh_err_t
s_end_attempt(struct mesh_pair *p, mesh_err_t err)
{
    bool by_peer = false;
    const char *text = "";
    (void)pair_failure(p->cur, &by_peer, &text);
    if (pair_burnt(p->cur)) {
        p->used = pair_burnt(p->cur);
        s_say(p->progress, p->progress_ctx, p->m, "failed: %s%s", text,
              p->used ? "; the code is burnt" : "");
        s_flush(p->t);
        return node_fail(p->m, err, "pairing failed: %s%s", text,
                         p->used ? "; the code is burnt: open a new pairing" : "");
    }
    s_say(p->progress, p->progress_ctx, p->m, "an attempt was refused (%s); still waiting", text);
    s_flush(p->t);
    pair_free(p->cur);
    p->cur = NULL;
    if (++p->attempts >= S_ATTEMPTS_MAX) {
        p->used = true;
        return node_fail(p->m, MESH_ESTATE, "pairing failed: %u attempts failed; the code is burnt",
                         p->attempts);
    }
    return MESH_OK;
}

mesh_err_t
mesh_pair_wait(mesh_pair_t *p, char *id, size_t id_len)
{
    if (!p) {
        return MESH_EINVAL;
    }
    mesh_t *m = p->m;
    node_clear_err(m);
    if (p->used) {
        return node_fail(m, MESH_ESTATE, "this pairing's code was used: open a new one");
    }
    for (;;) {
        int64_t now = node_now_ms();
        transport_msg_t tm;
        mesh_err_t err = MESH_OK;
        if (now >= p->expire_at) {
            if (p->cur) {
                pair_abort(p->cur, PAIR_REASON_EXPIRED, NULL);
                s_flush(p->t);
            }
            p->used = true;
            s_say(p->progress, p->progress_ctx, m, "the code expired");
            return node_fail(m, MESH_ESTATE, "the pairing code expired: open a new pairing");
        }
        if (p->cur && now - p->cur_ms >= S_STALL_MS) {
            pair_abort(p->cur, PAIR_REASON_PROTOCOL, "silent too long");
            /* dropped, not burnt: silence gives no guess at the code */
            s_say(p->progress, p->progress_ctx, m, "the device went silent: dropped it");
            s_flush(p->t);
            pair_free(p->cur);
            p->cur = NULL;
            if (++p->attempts >= S_ATTEMPTS_MAX) {
                p->used = true;
                return node_fail(m, MESH_ESTATE, "pairing failed: %u attempts failed", p->attempts);
            }
        }
        s_lan_tick(p);
        err = transport_recv(p->t, 100, &tm);
        if (err == MESH_ENOTFOUND) {
            continue;
        }
        if (err != MESH_OK) {
            return node_fail(m, err, "pairing listener: %s", transport_errmsg(p->t));
        }
        if (!p->cur) {
            err = pair_new(PAIR_INITIATOR, m->ident, &p->code, pair_listener_public, p->others,
                           s_send_a, p, &p->cur);
            if (err != MESH_OK) {
                return node_fail(m, err, "pairing: cannot start an attempt");
            }
            p->attempt_ms = now;
            s_say(p->progress, p->progress_ctx, m, "a device connected: checking the code");
        }
        if (pair_peer_curve(p->cur) &&
            memcmp(pair_peer_curve(p->cur), tm.peer_key, PAIR_KEY_LEN) != 0) {
            continue; /* (the transport admits only the attempt's key; in case) */
        }
        p->cur_conn = tm.conn;
        p->cur_ms = now;
        err = pair_on_frame(p->cur, tm.peer_key, tm.data, tm.len);
        if (pair_state(p->cur) == PAIR_FAILED) {
            err = s_end_attempt(p, err);
            if (err != MESH_OK || p->used) {
                return err;
            }
            continue;
        }
        if (pair_state(p->cur) != PAIR_VERIFIED) {
            continue;
        }
        char idtext[MESH_ID_TEXT_LEN + 1];
        devid_format(pair_peer_key(p->cur), idtext);
        s_say(p->progress, p->progress_ctx, m, "%s knew the code: adding it to the mesh", idtext);
        p->used = true;
        err = s_add_b(p, idtext);
        if (err != MESH_OK) {
            char detail[NODE_ERRMSG_MAX];
            snprintf(detail, sizeof detail, "%s", mesh_errmsg(m));
            pair_abort(p->cur, PAIR_REASON_INTERNAL, "cannot write its records");
            s_flush(p->t);
            return node_fail(m, err, "pairing: cannot add %s: %s", idtext, detail);
        }
        s_daemon_follow(p);
        err = pair_send_result(p->cur, m->name, (const char *const *)p->addrs, p->naddrs);
        s_flush(p->t);
        if (err != MESH_OK) {
            s_say(p->progress, p->progress_ctx, m,
                  "added %s, but could not tell it so: it will not know where to dial", idtext);
        }
        s_say(p->progress, p->progress_ctx, m, "paired with %s", idtext);
        if (id && id_len > MESH_ID_TEXT_LEN) {
            memcpy(id, idtext, sizeof idtext);
        }
        return MESH_OK;
    }
}

/* ---- the joining device ---- */

typedef struct s_join {
    transport_t *t;
    uint32_t conn;
    int64_t deadline;
} s_join_t;

static bool
s_admit_listener(void *ctx, const uint8_t *curve)
{
    (void)ctx;
    return memcmp(curve, pair_listener_public, PAIR_KEY_LEN) == 0;
}

/* Send to the listener, waiting while the connection is not up yet (or its queue full). */
static mesh_err_t
s_send_b(void *ctx, const uint8_t *frame, size_t len)
{
    s_join_t *j = ctx;
    for (;;) {
        mesh_err_t err = transport_send(j->t, j->conn, frame, len);
        if ((err != MESH_ENOTFOUND && err != MESH_EBUSY) || node_now_ms() >= j->deadline) {
            return err;
        }
        usleep(20 * 1000);
    }
}

/* addr with a host 0.0.0.0, * or [::] given the host B reached A at (host). */
static void
s_fix_host(const char *addr, const char *host, char *out, size_t out_len)
{
    static const char *const any[] = {"tcp://0.0.0.0:", "tcp://*:", "tcp://[::]:"};
    for (size_t i = 0; i < sizeof any / sizeof any[0]; i++) {
        size_t n = strlen(any[i]);
        if (strncmp(addr, any[i], n) == 0) {
            snprintf(out, out_len, "tcp://%s:%s", host, addr + n);
            return;
        }
    }
    snprintf(out, out_len, "%s", addr);
}

/* B after success: the add record for A, with the addresses it gave that are valid. */
static mesh_err_t
s_add_a(mesh_t *m, pair_t *pr, const addr_t *reached, const char *idtext,
        mesh_pair_progress_fn progress, void *ctx)
{
    char fixed[PAIRMSG_ADDRS_MAX][PAIRMSG_ADDR_MAX + 300];
    const char *addrs[PAIRMSG_ADDRS_MAX];
    size_t n = 0;
    char host[ADDR_HOST_MAX + 3];
    snprintf(host, sizeof host, reached->ipv6 ? "[%s]" : "%s", reached->host);
    for (size_t i = 0; i < pair_result_naddrs(pr); i++) {
        s_fix_host(pair_result_addr(pr, i), host, fixed[n], sizeof fixed[n]);
        if (addr_is_valid(fixed[n], strlen(fixed[n]))) {
            addrs[n] = fixed[n];
            n++;
        }
    }
    if (n == 0) {
        s_say(progress, ctx, m,
              "%s gave no address to dial: it must dial this device (or: meshctl peer add)",
              idtext);
    }
    const char *name = pair_result_name(pr);
    mesh_err_t err = mesh_peer_add(m, idtext, name[0] ? name : NULL, addrs, n);
    if (err == MESH_EINVAL && name[0]) {
        err = mesh_peer_add(m, idtext, NULL, addrs, n); /* a name it may not have */
    }
    return err;
}

/* B without an address: the first pairing beacon with our nameplate gives the device's
 * address (the beacon's source) and its pairing port, as "HOST:PORT" into out. */
static mesh_err_t
s_lan_find(mesh_t *m, const mesh_pair_options_t *o, unsigned nameplate, int64_t deadline, char *out,
           size_t out_len)
{
    char why[256];
    beacon_sock_t *sock = NULL;
    if (!o->lan || s_lan_off()) {
        return node_fail(m, MESH_EINVAL,
                         "no address given, and LAN discovery is off%s: give the other "
                         "device's pairing address",
                         s_lan_off() ? " (MESHSYNC_NO_DISCOVERY is set)" : "");
    }
    mesh_err_t err = beacon_open((uint16_t)(o->lan_port ? o->lan_port : S_LAN_PORT), NULL, NULL,
                                 &sock, why, sizeof why);
    if (err != MESH_OK) {
        return node_fail(m, err, "pairing beacons: %s", why);
    }
    s_say(o->progress, o->progress_ctx, m, "looking for nameplate %u on the LAN", nameplate);
    err = MESH_EBUSY;
    while (err == MESH_EBUSY && node_now_ms() < deadline) {
        uint8_t buf[BEACON_MAX];
        size_t len = 0;
        char from[24];
        unsigned np = 0;
        uint16_t port = 0;
        mesh_err_t r = beacon_recv(sock, buf, sizeof buf, &len, from, sizeof from);
        if (r == MESH_ENOTFOUND || r == MESH_ETOOBIG) {
            usleep(20 * 1000);
        } else if (r != MESH_OK) {
            err = r;
        } else if (beacon_pair_decode(buf, len, &np, &port) == MESH_OK && np == nameplate) {
            snprintf(out, out_len, "%s:%u", from, (unsigned)port);
            s_say(o->progress, o->progress_ctx, m, "found it at %s", out);
            err = MESH_OK;
        }
    }
    beacon_close(sock);
    if (err == MESH_EBUSY) {
        return node_fail(m, err, "no pairing beacon with nameplate %u heard on the LAN in time",
                         nameplate);
    }
    return err == MESH_OK ? MESH_OK : node_fail(m, err, "pairing beacons: cannot read them");
}

mesh_err_t
mesh_pair_join(mesh_t *m, const char *code, const char *addr, const mesh_pair_options_t *opts,
               char *id, size_t id_len)
{
    char why[256], endpoint[PAIRMSG_ADDR_MAX + 8];
    paircode_t pc;
    addr_t reached;
    if (!m || !code || (opts && opts->size < sizeof(size_t))) {
        return MESH_EINVAL;
    }
    node_clear_err(m);
    mesh_pair_options_t o = {0};
    if (opts) {
        memcpy(&o, opts, opts->size < sizeof o ? opts->size : sizeof o);
    }
    mesh_err_t err = paircode_parse(code, strlen(code), &pc, why, sizeof why);
    if (err != MESH_OK) {
        return node_fail(m, err, "the code: %s", why);
    }
    int64_t deadline = node_now_ms() + (int64_t)(o.timeout_ms ? o.timeout_ms : S_JOIN_MS);
    char found[64];
    if (!addr) {
        err = s_lan_find(m, &o, pc.nameplate, deadline, found, sizeof found);
        if (err != MESH_OK) {
            paircode_wipe(&pc);
            return err;
        }
        addr = found;
    }
    snprintf(endpoint, sizeof endpoint, "%s%s", strncmp(addr, "tcp://", 6) ? "tcp://" : "", addr);
    if (addr_parse(endpoint, strlen(endpoint), false, &reached, why, sizeof why) != MESH_OK) {
        paircode_wipe(&pc);
        return node_fail(m, MESH_EINVAL, "the address: %s", why);
    }
    bool others = false;
    err = s_others(m, &others);
    if (err != MESH_OK) {
        paircode_wipe(&pc);
        return err;
    }
    uint8_t pk[TRANSPORT_KEY_LEN], sk[TRANSPORT_KEY_LEN];
    s_join_t j = {.conn = 0, .deadline = deadline};
    pair_t *pr = NULL;
    err = ident_curve_public(ident_public_key(m->ident), pk);
    if (err == MESH_OK) {
        err = ident_curve_secret(m->ident, sk);
    }
    if (err == MESH_OK) {
        err = transport_open(pk, sk, s_admit_listener, NULL, &j.t);
    }
    ident_wipe(sk, sizeof sk);
    if (err == MESH_OK) {
        transport_frame_max(j.t, PAIRMSG_FRAME_MAX);
        err = transport_connect(j.t, pair_listener_public, endpoint, &j.conn);
    }
    if (err == MESH_OK) {
        err = pair_new(PAIR_RESPONDER, m->ident, &pc, pair_listener_public, others, s_send_b, &j,
                       &pr);
    }
    paircode_wipe(&pc);
    if (err != MESH_OK) {
        node_fail(m, err, "pairing: cannot connect to %s: %s", endpoint,
                  j.t ? transport_errmsg(j.t) : "no transport");
        transport_close(j.t);
        return err;
    }
    s_say(o.progress, o.progress_ctx, m, "connecting to %s", endpoint);
    err = pair_start(pr);
    if (err != MESH_OK && node_now_ms() >= j.deadline) {
        err = MESH_EBUSY; /* START never went out: no listener took the connection */
    }
    if (err == MESH_OK) {
        s_say(o.progress, o.progress_ctx, m, "connected: exchanging keys");
        /* Test hook: stay silent a while after START (a pairing held open, test 60). */
        uint64_t stall = testhook_number(TESTHOOK_PAIR_STALL_MS, 0);
        if (stall) {
            usleep((useconds_t)(stall > 60000 ? 60000 : stall) * 1000);
        }
    }
    while (err == MESH_OK && pair_state(pr) != PAIR_DONE && pair_state(pr) != PAIR_FAILED) {
        transport_msg_t tm;
        int64_t left = j.deadline - node_now_ms();
        if (left <= 0) {
            err = MESH_EBUSY;
            break;
        }
        mesh_err_t r = transport_recv(j.t, left > 100 ? 100 : (int)left, &tm);
        if (r == MESH_OK) {
            err = pair_on_frame(pr, tm.peer_key, tm.data, tm.len);
            if (err == MESH_EUNPAIRED) {
                err = MESH_OK;
            }
        } else if (r != MESH_ENOTFOUND) {
            err = r;
        }
    }
    char idtext[MESH_ID_TEXT_LEN + 1] = "";
    if (pair_peer_key(pr)) {
        devid_format(pair_peer_key(pr), idtext);
    }
    if (pair_state(pr) == PAIR_DONE) {
        s_say(o.progress, o.progress_ctx, m, "%s knew the code: recording it", idtext);
        err = s_add_a(m, pr, &reached, idtext, o.progress, o.progress_ctx);
        if (err == MESH_OK) {
            s_say(o.progress, o.progress_ctx, m, "paired with %s", idtext);
            if (id && id_len > MESH_ID_TEXT_LEN) {
                memcpy(id, idtext, sizeof idtext);
            }
        }
    } else if (pair_state(pr) == PAIR_FAILED && err != MESH_EBUSY) {
        bool by_peer = false;
        const char *text = "";
        (void)pair_failure(pr, &by_peer, &text);
        s_flush(j.t);
        node_fail(m, err, "pairing failed: %s", text);
    } else if (err == MESH_EBUSY) {
        pair_abort(pr, PAIR_REASON_PROTOCOL, "gave up waiting");
        node_fail(m, err,
                  "no answer from %s in time: no pairing is open there, or another device is "
                  "pairing with it now",
                  endpoint);
    } else {
        node_fail(m, err, "pairing with %s: %s", endpoint, transport_errmsg(j.t));
    }
    pair_free(pr);
    transport_close(j.t);
    return err;
}
