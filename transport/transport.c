/* transport/transport.c: ZeroMQ sockets, CURVE and the ZAP handler.
 * The ZAP handler is a REP socket on inproc://zeromq.zap.01, bound when the transport is
 * created, before the ROUTER can accept anything (in libzmq 4.3 a CURVE server without a
 * ZAP handler admits every key). It answers on the caller's thread, inside transport_recv,
 * and gives each admitted client the hex of its key as User-Id, which every inbound frame
 * carries and which is checked again against the admit rule at each frame.
 * Layer: transport. Third-party: zmq.h (only here). SPDX-License-Identifier: MIT */
#include "transport.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <zmq.h>

#include "crypto/ident.h"
#include "transport/ctl.h"
#include "transport/guard.h"

#define S_ZAP_ENDPOINT "inproc://zeromq.zap.01"
#define S_DOMAIN       "meshsync"
#define S_INBOUND_MAX  1024u
/* transport_recv reads the socket that gave the last frame again before it polls, at most
 * S_FAST_MAX frames in a row (then a poll: the ZAP handler, the control socket and the wake
 * are looked at too): a burst of small frames costs one recv each, not a poll each. */
#define S_FAST_MAX     64u
#define S_HOT_NONE     (-1)
#define S_HOT_ROUTER   (-2)
#define S_RID_MAX      255u
#define S_HANDSHAKE_MS 10000 /* a connection not through CURVE and ZAP by then is closed */

#if defined(__SANITIZE_THREAD__)
/* ThreadSanitizer (make tsan-test) cannot see libzmq's hand-over of a received frame from its
 * I/O thread, which decrypted it, to ours: every read of the frame would be checked as a race,
 * and a report built and then suppressed (tests/tsan.supp) over each byte of a large batch,
 * which slowed a daemon to a crawl. So a TSan build copies each frame once, with this
 * thread's accesses ignored, into a buffer of its own that only this thread writes. The
 * same holds the other way: zmq_send copies a frame that the I/O thread then reads (and
 * a report over a 1 MiB batch stalled the sender's I/O thread for seconds, so that its
 * peer took it for silent), so a TSan build sends with this thread's accesses ignored. */
void __tsan_ignore_thread_begin(void);
void __tsan_ignore_thread_end(void);
#define S_TSAN 1
#else
#define S_TSAN 0
#endif

/* The first byte of each piece (§10): a whole frame; the first piece of one cut in pieces
 * (then the frame's length, 8 bytes big-endian); a piece that follows. */
#define S_PIECE_WHOLE    0u
#define S_PIECE_FIRST    2u
#define S_PIECE_NEXT     1u
#define S_PIECE_HEAD     9u /* the most bytes a piece carries before its data */
/* libzmq's cap on one message as it comes off the wire, a piece in its CURVE box (the
 * MESSAGE command's name, nonce, MAC and flags: under 64 bytes more) */
#define S_PIECE_WIRE_MAX (TRANSPORT_PIECE_MAX + S_PIECE_HEAD + 128u)

/* A frame being joined from its pieces, per connection. */
typedef struct s_join {
    uint8_t *buf;
    size_t len, cap, total; /* total 0: not joining */
} s_join_t;

typedef struct s_inbound {
    uint8_t rid[S_RID_MAX];
    size_t rid_len;
    bool used;
    s_join_t join;
} s_inbound_t;

typedef struct s_outbound {
    void *sock;
    uint8_t key[TRANSPORT_KEY_LEN];
    s_join_t join;
} s_outbound_t;

struct transport {
    void *ctx;
    void *zap;
    void *router;
    uint8_t pk[TRANSPORT_KEY_LEN];
    uint8_t sk[TRANSPORT_KEY_LEN];
    transport_admit_fn admit;
    void *admit_ctx;
    s_inbound_t in[S_INBOUND_MAX];
    s_outbound_t out[TRANSPORT_CONNS_MAX];
    zmq_msg_t last; /* the frame handed out by the last transport_recv */
    bool have_last;
    uint8_t *joined;    /* or the frame joined from pieces it handed out */
    uint8_t *tsan_copy; /* a TSan build: the last frame, copied (see S_TSAN) */
    size_t tsan_cap;
    uint64_t refused;
    size_t frame_max; /* longer frames are refused (transport_frame_max) */
    char errmsg[256];
    /* The pre-auth guard (transport/guard.h): a thread reads the ROUTER's accept and
     * disconnect events from libzmq's socket monitor and sheds connections over the caps. */
    guard_t *guard;
    void *monitor;   /* our end of the monitor (only the watch thread uses it) */
    pthread_t watch; /* the thread, when watching */
    bool watching;
    int watch_stop; /* set to end the thread */
    void *ctl;      /* the control socket's, polled too (transport_poll_ctl), or NULL */
    int wake_fd;    /* an eventfd polled too (transport_poll_fd), or -1 */
    int hot;        /* the socket that gave the last frame (S_HOT_ROUTER, a dealer's index) */
    unsigned fast;  /* frames taken from it in a row without a poll */
};

static mesh_err_t
s_fail(transport_t *t, const char *what)
{
    snprintf(t->errmsg, sizeof t->errmsg, "%s: %s", what, zmq_strerror(zmq_errno()));
    return MESH_EIO;
}

const char *
transport_errmsg(const transport_t *t)
{
    return t ? t->errmsg : "";
}

void
transport_frame_max(transport_t *t, size_t max)
{
    t->frame_max = max < TRANSPORT_FRAME_MAX ? max : TRANSPORT_FRAME_MAX;
}

uint64_t
transport_refused(const transport_t *t)
{
    return t->refused;
}

static void
s_hex(const uint8_t *key, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < TRANSPORT_KEY_LEN; i++) {
        out[2 * i] = digits[key[i] >> 4];
        out[2 * i + 1] = digits[key[i] & 15];
    }
    out[2 * TRANSPORT_KEY_LEN] = '\0';
}

static bool
s_unhex(const char *hex, uint8_t *key)
{
    if (!hex || strlen(hex) != 2 * TRANSPORT_KEY_LEN) {
        return false;
    }
    for (size_t i = 0; i < 2 * TRANSPORT_KEY_LEN; i++) {
        char c = hex[i];
        int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (v < 0) {
            return false;
        }
        key[i / 2] = (uint8_t)(i % 2 ? (key[i / 2] << 4) | v : v);
    }
    return true;
}

static int
s_set_int(void *sock, int opt, int value)
{
    return zmq_setsockopt(sock, opt, &value, sizeof value);
}

/* Receive one whole multipart message, keeping its first max frames in parts (the rest are
 * read and dropped); returns the number of frames read. */
static int
s_recv_parts(void *sock, zmq_msg_t *parts, int max)
{
    int n = 0, more = 1;
    while (more) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, sock, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&m);
            break;
        }
        more = zmq_msg_more(&m);
        if (n < max) {
            zmq_msg_init(&parts[n]);
            zmq_msg_move(&parts[n], &m);
        }
        zmq_msg_close(&m);
        n++;
    }
    return n;
}

static void
s_close_parts(zmq_msg_t *parts, int n, int max)
{
    for (int i = 0; i < n && i < max; i++) {
        zmq_msg_close(&parts[i]);
    }
}

/* The watch thread: apply each accept and disconnect event of the ROUTER to the guard, then
 * shed what is over its caps. Every pending event is read before shedding, so that a
 * descriptor already closed (its disconnect queued) is not taken for a live one. Ends with
 * the monitor (transport_close stops it first). */
static void *
s_watch(void *arg)
{
    transport_t *t = arg;
    while (!__atomic_load_n(&t->watch_stop, __ATOMIC_ACQUIRE)) {
        zmq_pollitem_t item = {.socket = t->monitor, .events = ZMQ_POLLIN};
        if (zmq_poll(&item, 1, 200) < 0 && zmq_errno() != EINTR) {
            return NULL;
        }
        zmq_msg_t parts[2];
        int n;
        while ((n = s_recv_parts(t->monitor, parts, 2)) > 0) {
            uint16_t event = 0;
            uint32_t value = 0;
            if (zmq_msg_size(&parts[0]) == 6) {
                memcpy(&event, zmq_msg_data(&parts[0]), 2);
                memcpy(&value, (uint8_t *)zmq_msg_data(&parts[0]) + 2, 4);
            }
            s_close_parts(parts, n, 2);
            if (event == ZMQ_EVENT_ACCEPTED) {
                guard_accepted(t->guard, (int)value);
            } else if (event == ZMQ_EVENT_DISCONNECTED) {
                guard_gone(t->guard, (int)value);
            } else if (event == ZMQ_EVENT_MONITOR_STOPPED) {
                return NULL;
            }
        }
        (void)guard_enforce(t->guard);
    }
    return NULL;
}

/* Watch the ROUTER r (before it binds): its socket monitor, our end of it, the guard sized
 * by RLIMIT_NOFILE, and the thread. MESH_OK, or MESH_EIO/MESH_ENOMEM with nothing left. */
static mesh_err_t
s_watch_start(transport_t *t, void *r)
{
    char endpoint[64];
    struct rlimit nofile = {.rlim_cur = 1024};
    (void)getrlimit(RLIMIT_NOFILE, &nofile);
    snprintf(endpoint, sizeof endpoint, "inproc://meshsync.monitor.%p", (void *)t);
    mesh_err_t err = guard_new(guard_total((uint64_t)nofile.rlim_cur), GUARD_PER_ADDR, &t->guard);
    if (err != MESH_OK) {
        return err;
    }
    int events = ZMQ_EVENT_ACCEPTED | ZMQ_EVENT_DISCONNECTED | ZMQ_EVENT_MONITOR_STOPPED;
    if (zmq_socket_monitor(r, endpoint, events) != 0 ||
        !(t->monitor = zmq_socket(t->ctx, ZMQ_PAIR)) || s_set_int(t->monitor, ZMQ_LINGER, 0) != 0 ||
        zmq_connect(t->monitor, endpoint) != 0) {
        err = s_fail(t, "monitor the listening socket");
    } else if (pthread_create(&t->watch, NULL, s_watch, t) != 0) {
        snprintf(t->errmsg, sizeof t->errmsg, "cannot start the pre-auth guard's thread");
        err = MESH_EIO;
    }
    if (err != MESH_OK) {
        (void)zmq_socket_monitor(r, NULL, 0);
        if (t->monitor) {
            zmq_close(t->monitor);
            t->monitor = NULL;
        }
        guard_free(t->guard);
        t->guard = NULL;
        return err;
    }
    t->watching = true;
    return MESH_OK;
}

/* Stop the monitor (its last event ends the thread, or the stop flag within 200 ms), join
 * the thread, free the guard. */
static void
s_watch_stop(transport_t *t)
{
    if (t->watching) {
        (void)zmq_socket_monitor(t->router, NULL, 0);
        __atomic_store_n(&t->watch_stop, 1, __ATOMIC_RELEASE); /* (should the event not come) */
        pthread_join(t->watch, NULL);
        t->watching = false;
    }
    if (t->monitor) {
        zmq_close(t->monitor);
        t->monitor = NULL;
    }
    guard_free(t->guard);
    t->guard = NULL;
}

size_t
transport_preauth_max(const transport_t *t)
{
    return t->guard ? guard_max(t->guard) : 0;
}

uint64_t
transport_shed(const transport_t *t)
{
    return t->guard ? guard_shed(t->guard) : 0;
}

size_t
transport_preauth(const transport_t *t)
{
    return t->guard ? guard_count(t->guard) : 0;
}

mesh_err_t
transport_open(const uint8_t *public_key, const uint8_t *secret_key, transport_admit_fn admit,
               void *admit_ctx, transport_t **out)
{
    *out = NULL;
    transport_t *t = calloc(1, sizeof *t);
    if (!t) {
        return MESH_ENOMEM;
    }
    memcpy(t->pk, public_key, TRANSPORT_KEY_LEN);
    memcpy(t->sk, secret_key, TRANSPORT_KEY_LEN);
    t->admit = admit;
    t->admit_ctx = admit_ctx;
    t->frame_max = TRANSPORT_FRAME_MAX;
    t->wake_fd = -1;
    t->hot = S_HOT_NONE;
    mesh_err_t err = MESH_OK;
    t->ctx = zmq_ctx_new();
    if (!t->ctx) {
        err = s_fail(t, "zmq context");
    }
    if (err == MESH_OK && !(t->zap = zmq_socket(t->ctx, ZMQ_REP))) {
        err = s_fail(t, "zap socket");
    }
    if (err == MESH_OK &&
        (s_set_int(t->zap, ZMQ_LINGER, 0) != 0 || zmq_bind(t->zap, S_ZAP_ENDPOINT) != 0)) {
        err = s_fail(t, "bind the ZAP handler");
    }
    if (err != MESH_OK) {
        transport_close(t);
        return err;
    }
    *out = t;
    return MESH_OK;
}

void
transport_close(transport_t *t)
{
    if (!t) {
        return;
    }
    if (t->have_last) {
        zmq_msg_close(&t->last);
    }
    for (size_t i = 0; i < TRANSPORT_CONNS_MAX; i++) {
        if (t->out[i].sock) {
            zmq_close(t->out[i].sock);
        }
        free(t->out[i].join.buf);
    }
    for (size_t i = 0; i < S_INBOUND_MAX; i++) {
        free(t->in[i].join.buf);
    }
    free(t->joined);
    s_watch_stop(t);
    if (t->router) {
        zmq_close(t->router);
    }
    if (t->zap) {
        zmq_close(t->zap);
    }
    if (t->ctx) {
        zmq_ctx_term(t->ctx);
    }
    ident_wipe(t->sk, sizeof t->sk);
    free(t->tsan_copy);
    free(t);
}

mesh_err_t
transport_listen(transport_t *t, const char *endpoint, char *bound, size_t bound_len)
{
    if (t->router) {
        snprintf(t->errmsg, sizeof t->errmsg, "already listening");
        return MESH_ESTATE;
    }
    void *r = zmq_socket(t->ctx, ZMQ_ROUTER);
    if (!r) {
        return s_fail(t, "router socket");
    }
    int64_t maxmsg = S_PIECE_WIRE_MAX; /* one piece (§10) */
    size_t len = bound_len;
    if (s_set_int(r, ZMQ_LINGER, 0) != 0 || s_set_int(r, ZMQ_ROUTER_MANDATORY, 1) != 0 ||
        s_set_int(r, ZMQ_CURVE_SERVER, 1) != 0 ||
        zmq_setsockopt(r, ZMQ_CURVE_SECRETKEY, t->sk, TRANSPORT_KEY_LEN) != 0 ||
        zmq_setsockopt(r, ZMQ_ZAP_DOMAIN, S_DOMAIN, strlen(S_DOMAIN)) != 0 ||
        zmq_setsockopt(r, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg) != 0 ||
        s_set_int(r, ZMQ_HANDSHAKE_IVL, S_HANDSHAKE_MS) != 0 ||
        s_set_int(r, ZMQ_SNDHWM, TRANSPORT_SNDHWM) != 0 ||
        s_set_int(r, ZMQ_RCVHWM, TRANSPORT_RCVHWM) != 0) {
        mesh_err_t err = s_fail(t, "router options");
        zmq_close(r);
        return err;
    }
    mesh_err_t err = s_watch_start(t, r);
    if (err != MESH_OK) {
        zmq_close(r);
        return err;
    }
    t->router = r;
    if (zmq_bind(r, endpoint) != 0) {
        int e = zmq_errno();
        snprintf(t->errmsg, sizeof t->errmsg, "listen on %s: %s", endpoint, zmq_strerror(e));
        s_watch_stop(t);
        t->router = NULL;
        zmq_close(r);
        return e == EADDRINUSE ? MESH_EBUSY : MESH_EIO;
    }
    if (bound && bound_len && zmq_getsockopt(r, ZMQ_LAST_ENDPOINT, bound, &len) != 0) {
        bound[0] = '\0';
    }
    return MESH_OK;
}

mesh_err_t
transport_connect(transport_t *t, const uint8_t *server_key, const char *endpoint, uint32_t *conn)
{
    size_t i = 0;
    while (i < TRANSPORT_CONNS_MAX && t->out[i].sock) {
        i++;
    }
    if (i == TRANSPORT_CONNS_MAX) {
        snprintf(t->errmsg, sizeof t->errmsg, "more than %u connections", TRANSPORT_CONNS_MAX);
        return MESH_ETOOBIG;
    }
    void *d = zmq_socket(t->ctx, ZMQ_DEALER);
    if (!d) {
        return s_fail(t, "dealer socket");
    }
    int64_t maxmsg = S_PIECE_WIRE_MAX; /* one piece (§10) */
    if (s_set_int(d, ZMQ_LINGER, 0) != 0 || s_set_int(d, ZMQ_RECONNECT_IVL, 100) != 0 ||
        s_set_int(d, ZMQ_IMMEDIATE, 1) != 0 || /* queue nothing for a link not up */
        s_set_int(d, ZMQ_RECONNECT_IVL_MAX, 5000) != 0 ||
        zmq_setsockopt(d, ZMQ_CURVE_SERVERKEY, server_key, TRANSPORT_KEY_LEN) != 0 ||
        zmq_setsockopt(d, ZMQ_CURVE_PUBLICKEY, t->pk, TRANSPORT_KEY_LEN) != 0 ||
        zmq_setsockopt(d, ZMQ_CURVE_SECRETKEY, t->sk, TRANSPORT_KEY_LEN) != 0 ||
        zmq_setsockopt(d, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg) != 0 ||
        s_set_int(d, ZMQ_SNDHWM, TRANSPORT_SNDHWM) != 0 ||
        s_set_int(d, ZMQ_RCVHWM, TRANSPORT_RCVHWM) != 0 || zmq_connect(d, endpoint) != 0) {
        mesh_err_t err = s_fail(t, "connect");
        zmq_close(d);
        return err;
    }
    t->out[i].sock = d;
    memcpy(t->out[i].key, server_key, TRANSPORT_KEY_LEN);
    *conn = (uint32_t)i;
    return MESH_OK;
}

/* Forget a frame being joined. */
static void
s_join_reset(s_join_t *j, bool release)
{
    j->len = j->total = 0;
    if (release) {
        free(j->buf);
        j->buf = NULL;
        j->cap = 0;
    }
}

void
transport_disconnect(transport_t *t, uint32_t conn)
{
    if (conn & TRANSPORT_INBOUND) {
        uint32_t i = conn & ~TRANSPORT_INBOUND;
        if (i < S_INBOUND_MAX) {
            t->in[i].used = false;
            s_join_reset(&t->in[i].join, true);
        }
        return;
    }
    if (conn < TRANSPORT_CONNS_MAX && t->out[conn].sock) {
        zmq_close(t->out[conn].sock);
        t->out[conn].sock = NULL;
        s_join_reset(&t->out[conn].join, true);
    }
}

/* memcpy of bytes libzmq's I/O thread wrote, with this thread's accesses ignored in a TSan
 * build (see S_TSAN). */
static void
s_copy_in(uint8_t *dst, const void *src, size_t n)
{
#if S_TSAN
    __tsan_ignore_thread_begin();
#endif
    if (n) {
        memcpy(dst, src, n);
    }
#if S_TSAN
    __tsan_ignore_thread_end();
#endif
}

/* zmq_send, with this thread's accesses ignored in a TSan build (see S_TSAN). */
/* Send msg (a piece built in place: its bytes copied once, not into a buffer and again by
 * zmq_send); closed here when it is not sent. */
static int
s_send_msg(void *sock, zmq_msg_t *msg, int flags)
{
    int rc = zmq_msg_send(msg, sock, flags);
    if (rc < 0) {
        int e = errno;
        zmq_msg_close(msg);
        errno = e;
    }
    return rc;
}

/* s_send_piece's work: the piece built in a message of libzmq's, then sent. */
static mesh_err_t
s_piece_send(transport_t *t, uint32_t conn, const uint8_t *data, size_t len, size_t k)
{
    size_t at = k * TRANSPORT_PIECE_MAX,
           n = len - at < TRANSPORT_PIECE_MAX ? len - at : TRANSPORT_PIECE_MAX;
    uint8_t kind = len <= TRANSPORT_PIECE_MAX ? S_PIECE_WHOLE
                   : k == 0                   ? S_PIECE_FIRST
                                              : S_PIECE_NEXT;
    size_t head = kind == S_PIECE_FIRST ? S_PIECE_HEAD : 1;
    zmq_msg_t msg;
    if (zmq_msg_init_size(&msg, head + n) != 0) {
        return MESH_ENOMEM;
    }
    uint8_t *piece = zmq_msg_data(&msg);
    piece[0] = kind;
    for (size_t b = 0; head == S_PIECE_HEAD && b < 8; b++) {
        piece[1 + b] = (uint8_t)((uint64_t)len >> (56 - 8 * b));
    }
    if (n) {
        memcpy(piece + head, data + at, n);
    }
    if (conn & TRANSPORT_INBOUND) {
        const s_inbound_t *in = &t->in[conn & ~TRANSPORT_INBOUND];
        bool rid = zmq_send(t->router, in->rid, in->rid_len, ZMQ_SNDMORE | ZMQ_DONTWAIT) >= 0;
        if (!rid) {
            int e = errno;
            zmq_msg_close(&msg);
            errno = e;
        }
        if (!rid || s_send_msg(t->router, &msg, ZMQ_DONTWAIT) < 0) {
            int e = zmq_errno();
            return e == EHOSTUNREACH ? MESH_ENOTFOUND
                   : e == EAGAIN     ? MESH_EBUSY
                                     : s_fail(t, "send");
        }
        return MESH_OK;
    }
    /* With ZMQ_IMMEDIATE a link that is not up takes nothing: EAGAIN, never a block. */
    if (s_send_msg(t->out[conn].sock, &msg, ZMQ_DONTWAIT) < 0) {
        return zmq_errno() == EAGAIN ? (k ? MESH_EBUSY : MESH_ENOTFOUND) : s_fail(t, "send");
    }
    return MESH_OK;
}

/* Send piece k of a frame of len bytes: its head, then its share of data. (A TSan build
 * builds and sends it with this thread's accesses ignored: the I/O thread reads and frees
 * the message's bytes written here, a hand-over TSan cannot see.) */
static mesh_err_t
s_send_piece(transport_t *t, uint32_t conn, const uint8_t *data, size_t len, size_t k)
{
#if S_TSAN
    __tsan_ignore_thread_begin();
#endif
    mesh_err_t err = s_piece_send(t, conn, data, len, k);
#if S_TSAN
    __tsan_ignore_thread_end();
#endif
    return err;
}

mesh_err_t
transport_send(transport_t *t, uint32_t conn, const void *data, size_t len)
{
    if (len > TRANSPORT_FRAME_MAX) {
        return MESH_ETOOBIG;
    }
    if (conn & TRANSPORT_INBOUND) {
        uint32_t i = conn & ~TRANSPORT_INBOUND;
        if (i >= S_INBOUND_MAX || !t->in[i].used || !t->router) {
            return MESH_ENOTFOUND;
        }
    } else if (conn >= TRANSPORT_CONNS_MAX || !t->out[conn].sock) {
        return MESH_ENOTFOUND;
    }
    /* Every piece without waiting: one refused after the first leaves the frame cut short
     * at the peer, which drops it when the next frame starts (the caller sends it again). */
    size_t pieces = len ? (len + TRANSPORT_PIECE_MAX - 1) / TRANSPORT_PIECE_MAX : 1;
    mesh_err_t err = MESH_OK;
    for (size_t k = 0; err == MESH_OK && k < pieces; k++) {
        err = s_send_piece(t, conn, data, len, k);
    }
    return err;
}

/* Answer one ZAP request: admit the CURVE key if the caller's rule says so. */
static void
s_zap_answer(transport_t *t)
{
    zmq_msg_t parts[8];
    int n = s_recv_parts(t->zap, parts, 8);
    char user[2 * TRANSPORT_KEY_LEN + 1] = "";
    bool ok = false;
    const char *reqid = "";
    size_t reqid_len = 0;
    if (n >= 7 && zmq_msg_size(&parts[5]) == 5 &&
        memcmp(zmq_msg_data(&parts[5]), "CURVE", 5) == 0 &&
        zmq_msg_size(&parts[6]) == TRANSPORT_KEY_LEN) {
        const uint8_t *key = zmq_msg_data(&parts[6]);
        ok = t->admit(t->admit_ctx, key);
        s_hex(key, user);
    }
    if (n >= 2) {
        reqid = zmq_msg_data(&parts[1]);
        reqid_len = zmq_msg_size(&parts[1]);
    }
    t->refused += !ok;
    zmq_send(t->zap, "1.0", 3, ZMQ_SNDMORE);
    zmq_send(t->zap, reqid, reqid_len, ZMQ_SNDMORE);
    zmq_send(t->zap, ok ? "200" : "400", 3, ZMQ_SNDMORE);
    zmq_send(t->zap, ok ? "OK" : "not a member", ok ? 2 : 12, ZMQ_SNDMORE);
    zmq_send(t->zap, user, ok ? strlen(user) : 0, ZMQ_SNDMORE);
    zmq_send(t->zap, "", 0, 0);
    s_close_parts(parts, n, 8);
}

/* The inbound connection number for a routing id, made on first sight. */
static bool
s_inbound(transport_t *t, const uint8_t *rid, size_t len, uint32_t *conn)
{
    size_t free_slot = S_INBOUND_MAX;
    for (size_t i = 0; i < S_INBOUND_MAX; i++) {
        if (t->in[i].used && t->in[i].rid_len == len && memcmp(t->in[i].rid, rid, len) == 0) {
            *conn = (uint32_t)i | TRANSPORT_INBOUND;
            return true;
        }
        if (!t->in[i].used && free_slot == S_INBOUND_MAX) {
            free_slot = i;
        }
    }
    if (free_slot == S_INBOUND_MAX || len > S_RID_MAX) {
        return false;
    }
    memcpy(t->in[free_slot].rid, rid, len);
    t->in[free_slot].rid_len = len;
    t->in[free_slot].used = true;
    *conn = (uint32_t)free_slot | TRANSPORT_INBOUND;
    return true;
}

/* Make room in j for need bytes, grown as bytes come, not to a claimed length: doubled
 * from one piece (at most twice the bytes come, or the frame's length), and doubled
 * already when need fills it and more is to come, so that a frame of up to two pieces (a
 * large BATCH: ~1.8 MB) takes one allocation and no copying realloc (the heap's: loop.c
 * keeps chunks this size out of mmap). False: no memory. */
static bool
s_join_grow(s_join_t *j, size_t need)
{
    if (need < j->cap || (need == j->cap && (need == j->total || !j->cap))) {
        return true;
    }
    size_t cap = j->cap ? j->cap : TRANSPORT_PIECE_MAX;
    while (cap < need || (cap == need && need < j->total)) {
        cap *= 2;
    }
    cap = cap > j->total ? j->total : cap;
    uint8_t *grown = realloc(j->buf, cap);
    if (!grown) {
        return false;
    }
    j->buf = grown;
    j->cap = cap;
    return true;
}

/* Take the piece in part (its sender's join state j): MESH_OK when it ends a frame, which
 * *msg then holds (part moved to t->last, or the joined bytes in t->joined); MESH_ENOTFOUND
 * when more must come, or the piece is not well formed (dropped and counted). */
static mesh_err_t
s_take_piece(transport_t *t, s_join_t *j, zmq_msg_t *part, transport_msg_t *msg)
{
    const uint8_t *p = zmq_msg_data(part);
    size_t n = zmq_msg_size(part);
    uint8_t kind = 0xff;
    s_copy_in(&kind, p, n ? 1 : 0);
    if (kind == S_PIECE_WHOLE && n - 1 > t->frame_max) {
        s_join_reset(j, false);
        t->refused++; /* over this transport's cap */
        return MESH_ENOTFOUND;
    }
    if (kind == S_PIECE_WHOLE) {
        s_join_reset(j, false); /* a frame cut short before it is dropped */
        zmq_msg_init(&t->last);
        zmq_msg_move(&t->last, part);
        t->have_last = true;
        msg->data = (const uint8_t *)zmq_msg_data(&t->last) + 1;
        msg->len = zmq_msg_size(&t->last) - 1;
        return MESH_OK;
    }
    uint64_t total = 0;
    size_t head = kind == S_PIECE_FIRST ? S_PIECE_HEAD : 1;
    if (kind == S_PIECE_FIRST && n >= S_PIECE_HEAD) {
        uint8_t be[8];
        s_copy_in(be, p + 1, 8);
        for (int b = 0; b < 8; b++) {
            total = total << 8 | be[b];
        }
        s_join_reset(j, false);
        if (total <= TRANSPORT_PIECE_MAX || total > t->frame_max) {
            t->refused++; /* a frame that needs no pieces, or over the cap */
            return MESH_ENOTFOUND;
        }
        j->total = total;
    }
    bool ok = (kind == S_PIECE_FIRST && n >= S_PIECE_HEAD) || (kind == S_PIECE_NEXT && j->total);
    if (!ok || n - head > j->total - j->len) {
        s_join_reset(j, false);
        t->refused++; /* not a piece, a piece of no frame, or past the frame's length */
        return MESH_ENOTFOUND;
    }
    if (!s_join_grow(j, j->len + (n - head))) {
        s_join_reset(j, true);
        return MESH_ENOTFOUND;
    }
    s_copy_in(j->buf + j->len, p + head, n - head);
    j->len += n - head;
    if (j->len < j->total) {
        return MESH_ENOTFOUND;
    }
    t->joined = j->buf; /* handed out until the next transport_recv */
    msg->data = j->buf;
    msg->len = j->len;
    j->buf = NULL;
    j->cap = 0;
    s_join_reset(j, false);
    return MESH_OK;
}

uint8_t *
transport_keep(transport_t *t, const transport_msg_t *msg)
{
    uint8_t *kept = t->joined;
    if (!kept || msg->data != kept) {
        return NULL;
    }
    t->joined = NULL;
    return kept;
}

/* Take one frame from the ROUTER: MESH_OK with *msg, or MESH_ENOTFOUND (refused/none). */
static mesh_err_t
s_from_router(transport_t *t, transport_msg_t *msg)
{
    zmq_msg_t parts[2];
    int n = s_recv_parts(t->router, parts, 2);
    mesh_err_t err = MESH_ENOTFOUND;
    if (n == 2) {
        const char *user = zmq_msg_gets(&parts[1], "User-Id");
        /* The key is checked for every frame: membership may have changed since the
         * handshake. */
        if (s_unhex(user, msg->peer_key) && t->admit(t->admit_ctx, msg->peer_key) &&
            s_inbound(t, zmq_msg_data(&parts[0]), zmq_msg_size(&parts[0]), &msg->conn)) {
            if (t->guard) {
                /* a member's connection: no longer counted against the pre-auth caps, and
                 * one of at most GUARD_PER_MEMBER of its key (past it, its oldest goes) */
                guard_member(t->guard, zmq_msg_get(&parts[1], ZMQ_SRCFD), msg->peer_key);
            }
            s_join_t *j = &t->in[msg->conn & ~TRANSPORT_INBOUND].join;
            err = s_take_piece(t, j, &parts[1], msg);
            s_close_parts(parts, n, 2); /* (a part moved to t->last is left empty) */
            return err;
        }
        t->refused++;
    }
    s_close_parts(parts, n, 2);
    return err;
}

static mesh_err_t
s_from_dealer(transport_t *t, size_t i, transport_msg_t *msg)
{
    zmq_msg_t part;
    zmq_msg_init(&part);
    if (zmq_msg_recv(&part, t->out[i].sock, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&part);
        return MESH_ENOTFOUND;
    }
    if (zmq_msg_more(&part)) { /* our peers send single frames: drain and drop the rest */
        zmq_msg_t rest;
        do {
            zmq_msg_init(&rest);
            zmq_msg_recv(&rest, t->out[i].sock, ZMQ_DONTWAIT);
            int more = zmq_msg_more(&rest);
            zmq_msg_close(&rest);
            if (!more) {
                break;
            }
        } while (1);
        zmq_msg_close(&part);
        return MESH_ENOTFOUND;
    }
    msg->conn = (uint32_t)i;
    memcpy(msg->peer_key, t->out[i].key, TRANSPORT_KEY_LEN);
    mesh_err_t err = s_take_piece(t, &t->out[i].join, &part, msg);
    zmq_msg_close(&part);
    return err;
}

static int64_t
s_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A TSan build only: hand out a copy of msg's frame made with this thread's accesses
 * ignored (see S_TSAN), valid, as the frame is, until the next transport_recv. */
static mesh_err_t
s_tsan_copy(transport_t *t, transport_msg_t *msg)
{
    if (msg->len > t->tsan_cap) {
        uint8_t *grown = realloc(t->tsan_copy, msg->len);
        if (!grown) {
            return MESH_ENOMEM;
        }
        t->tsan_copy = grown;
        t->tsan_cap = msg->len;
    }
#if S_TSAN
    __tsan_ignore_thread_begin();
#endif
    if (msg->len) {
        memcpy(t->tsan_copy, msg->data, msg->len);
    }
#if S_TSAN
    __tsan_ignore_thread_end();
#endif
    msg->data = t->tsan_copy;
    return MESH_OK;
}

/* The next frame of the socket that gave the last one, without a poll (see S_FAST_MAX):
 * MESH_OK with *msg, or MESH_ENOTFOUND (none there, or a poll is due: the caller polls). */
static mesh_err_t
s_from_hot(transport_t *t, transport_msg_t *msg)
{
    int hot = t->hot;
    t->hot = S_HOT_NONE;
    if (hot == S_HOT_NONE || t->fast >= S_FAST_MAX) {
        return MESH_ENOTFOUND;
    }
    mesh_err_t err = MESH_ENOTFOUND;
    if (hot == S_HOT_ROUTER && t->router) {
        err = s_from_router(t, msg);
    } else if (hot >= 0 && t->out[hot].sock) {
        err = s_from_dealer(t, (size_t)hot, msg);
    }
    if (err == MESH_OK) {
        t->hot = hot;
        t->fast++;
    }
    return err;
}

void
transport_poll_ctl(transport_t *t, struct ctl_server *ctl)
{
    t->ctl = ctl_server_socket(ctl);
}

void
transport_poll_fd(transport_t *t, int fd)
{
    t->wake_fd = fd;
}

mesh_err_t
transport_recv(transport_t *t, int timeout_ms, transport_msg_t *msg)
{
    zmq_pollitem_t items[4 + TRANSPORT_CONNS_MAX];
    size_t idx[4 + TRANSPORT_CONNS_MAX];
    int64_t deadline = timeout_ms < 0 ? -1 : s_now_ms() + timeout_ms;
    if (t->have_last) {
        zmq_msg_close(&t->last);
        t->have_last = false;
    }
    free(t->joined);
    t->joined = NULL;
    if (s_from_hot(t, msg) == MESH_OK) {
        return S_TSAN && !t->joined ? s_tsan_copy(t, msg) : MESH_OK;
    }
    for (;;) {
        int n = 0;
        items[n++] = (zmq_pollitem_t){.socket = t->zap, .events = ZMQ_POLLIN};
        if (t->router) {
            items[n++] = (zmq_pollitem_t){.socket = t->router, .events = ZMQ_POLLIN};
        }
        for (size_t i = 0; i < TRANSPORT_CONNS_MAX; i++) {
            if (t->out[i].sock) {
                idx[n] = i;
                items[n++] = (zmq_pollitem_t){.socket = t->out[i].sock, .events = ZMQ_POLLIN};
            }
        }
        int ctl = n; /* (last: they are not a connection's) */
        if (t->ctl) {
            items[n++] = (zmq_pollitem_t){.socket = t->ctl, .events = ZMQ_POLLIN};
        }
        int wake = n;
        if (t->wake_fd >= 0) {
            items[n++] = (zmq_pollitem_t){.fd = t->wake_fd, .events = ZMQ_POLLIN};
        }
        long wait = deadline < 0 ? -1 : (long)(deadline - s_now_ms());
        if (deadline >= 0 && wait < 0) {
            wait = 0;
        }
        int rc = zmq_poll(items, n, wait);
        if (rc < 0) {
            if (zmq_errno() == EINTR) {
                return MESH_ENOTFOUND;
            }
            return s_fail(t, "poll");
        }
        if (items[0].revents & ZMQ_POLLIN) {
            s_zap_answer(t);
        }
        for (int i = 1; i < ctl; i++) {
            if (!(items[i].revents & ZMQ_POLLIN)) {
                continue;
            }
            bool router = t->router && i == 1;
            if ((router ? s_from_router(t, msg) : s_from_dealer(t, idx[i], msg)) == MESH_OK) {
                t->hot = router ? S_HOT_ROUTER : (int)idx[i];
                t->fast = 0;
                /* (a joined frame is a copy of our own already) */
                return S_TSAN && !t->joined ? s_tsan_copy(t, msg) : MESH_OK;
            }
        }
        if (wake < n && (items[wake].revents & ZMQ_POLLIN)) {
            uint64_t count;
            (void)!read(t->wake_fd, &count, sizeof count); /* (drained: an eventfd) */
            return MESH_ENOTFOUND; /* woken: the caller looks at what changed */
        }
        if (ctl < wake && (items[ctl].revents & ZMQ_POLLIN)) {
            return MESH_ENOTFOUND; /* a control request: the caller serves it */
        }
        if (deadline >= 0 && s_now_ms() >= deadline) {
            return MESH_ENOTFOUND;
        }
    }
}

/* Each socket transport_recv polls, in its order: the ZAP handler, the router, the dealers. */
static size_t
s_sockets(transport_t *t, void **socks)
{
    size_t n = 0;
    socks[n++] = t->zap;
    if (t->router) {
        socks[n++] = t->router;
    }
    for (size_t i = 0; i < TRANSPORT_CONNS_MAX; i++) {
        if (t->out[i].sock) {
            socks[n++] = t->out[i].sock;
        }
    }
    return n;
}

size_t
transport_fds(transport_t *t, int *fds, size_t cap)
{
    void *socks[2 + TRANSPORT_CONNS_MAX];
    size_t n = s_sockets(t, socks), k = 0;
    for (size_t i = 0; i < n && k < cap; i++) {
        int fd = -1;
        size_t len = sizeof fd;
        if (zmq_getsockopt(socks[i], ZMQ_FD, &fd, &len) == 0 && fd >= 0) {
            fds[k++] = fd;
        }
    }
    if (t->wake_fd >= 0 && k < cap) {
        fds[k++] = t->wake_fd;
    }
    return k;
}

bool
transport_pending(transport_t *t)
{
    void *socks[2 + TRANSPORT_CONNS_MAX];
    size_t n = s_sockets(t, socks);
    for (size_t i = 0; i < n; i++) {
        int ev = 0;
        size_t len = sizeof ev;
        if (zmq_getsockopt(socks[i], ZMQ_EVENTS, &ev, &len) == 0 && (ev & ZMQ_POLLIN)) {
            return true;
        }
    }
    return false;
}
