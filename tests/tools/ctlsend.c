/* tests/tools/ctlsend.c: a client of a daemon's control socket (docs/PROTOCOL.md §21) that
 * sends what meshctl never would, for tests 74 and 75. Test builds only
 * (build/testing/tests/ctlsend); it links the library's internals and libzmq.
 *
 *   ctlsend HOME ping          the daemon's pid and version ("ping pid=N meshsync X.Y.Z")
 *   ctlsend HOME raw HEX       one request of these bytes; prints "reply code=N text=..."
 *                              (code 0: served) or "no reply"
 *   ctlsend HOME zeros N       one request of N zero bytes; prints as raw does
 *   ctlsend HOME frames        one request of two frames (a request is one)
 *   ctlsend HOME flood N S     N connections at once, each with a wait that cannot be met
 *                              (60 s, 64 peers), held for S seconds; prints "busy=B" (the
 *                              waits told busy past the daemon's cap of 64: counted until
 *                              N - 64 came, 20 s at most; 2 s when N <= 64) and "open=N"
 *                              (the connections made)
 *
 * exit 0 when the run went as described, 2 on usage or a local failure.
 * Layer: tests. Third-party: zmq.h. SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#include "core/wire/ctlmsg.h"
#include "transport/ctl.h"

static int
c_usage(void)
{
    fprintf(stderr, "usage: ctlsend HOME ping|raw HEX|zeros N|frames|flood N SECONDS\n");
    return 2;
}

static void
c_print_reply(const uint8_t *p, size_t n, uint64_t kind)
{
    ctlmsg_reply_t rep;
    if (ctlmsg_reply_decode(kind, p, n, &rep) != MESH_OK) {
        printf("reply undecodable (%zu bytes)\n", n);
        return;
    }
    printf("reply code=%llu id=%llu text=%.*s\n", (unsigned long long)rep.code,
           (unsigned long long)rep.id, (int)rep.text_len, rep.text ? rep.text : "");
}

static int
c_raw(const char *home, const char *hex, size_t zeros)
{
    size_t n = hex ? strlen(hex) / 2 : zeros;
    uint8_t *req = calloc(n ? n : 1, 1), *reply = NULL;
    size_t reply_len = 0;
    for (size_t i = 0; hex && i < n; i++) {
        unsigned v;
        if (!req || sscanf(hex + 2 * i, "%2x", &v) != 1) {
            free(req);
            return c_usage();
        }
        req[i] = (uint8_t)v;
    }
    mesh_err_t err = ctl_call(home, req, n, 1000, 5000, &reply, &reply_len);
    free(req);
    if (err != MESH_OK) {
        printf("no reply (%s)\n", mesh_strerror(err));
        return 0;
    }
    c_print_reply(reply, reply_len, CTLMSG_WAIT); /* (an error reply decodes for any kind) */
    free(reply);
    return 0;
}

static int
c_ping(const char *home)
{
    wire_buf_t b;
    uint8_t *reply = NULL;
    size_t reply_len = 0;
    ctlmsg_req_t req = {.id = 11, .kind = CTLMSG_PING};
    ctlmsg_reply_t rep;
    wire_buf_init(&b);
    mesh_err_t err = ctlmsg_req_encode(&req, &b);
    if (err == MESH_OK) {
        err = ctl_call(home, b.data, b.len, 1000, 5000, &reply, &reply_len);
    }
    if (err == MESH_OK) {
        err = ctlmsg_reply_decode(CTLMSG_PING, reply, reply_len, &rep);
    }
    if (err == MESH_OK && rep.code == 0 && rep.id == 11) {
        printf("ping pid=%llu %.*s kinds=%llu\n", (unsigned long long)rep.pid, (int)rep.text_len,
               rep.text, (unsigned long long)rep.proto);
    } else {
        printf("no ping (%s)\n", mesh_strerror(err));
    }
    free(reply);
    wire_buf_release(&b);
    return 0;
}

/* A DEALER connected to the daemon's socket, or NULL. */
static void *
c_dealer(void *ctx, const char *home)
{
    char ep[4300];
    snprintf(ep, sizeof ep, "ipc://%s/%s", home, CTL_SOCKET);
    void *d = zmq_socket(ctx, ZMQ_DEALER);
    int zero = 0;
    if (d && (zmq_setsockopt(d, ZMQ_LINGER, &zero, sizeof zero) != 0 || zmq_connect(d, ep) != 0)) {
        zmq_close(d);
        return NULL;
    }
    return d;
}

static int
c_frames(const char *home)
{
    void *ctx = zmq_ctx_new();
    void *d = c_dealer(ctx, home);
    if (!d) {
        return 2;
    }
    zmq_send(d, "\x93\x01\x01", 3, ZMQ_SNDMORE);
    zmq_send(d, "\x01", 1, 0);
    zmq_pollitem_t it = {.socket = d, .events = ZMQ_POLLIN};
    if (zmq_poll(&it, 1, 5000) == 1) {
        uint8_t buf[1024];
        int n = zmq_recv(d, buf, sizeof buf, 0);
        c_print_reply(buf, n > 0 ? (size_t)n : 0, CTLMSG_WAIT);
    } else {
        printf("no reply\n");
    }
    zmq_close(d);
    zmq_ctx_term(ctx);
    return 0;
}

static int
c_flood(const char *home, int n, int seconds)
{
    void *ctx = zmq_ctx_new();
    int max = 1000;
    zmq_ctx_set(ctx, ZMQ_MAX_SOCKETS, n + 8);
    void **socks = calloc((size_t)n, sizeof *socks);
    wire_buf_t b;
    wire_buf_init(&b);
    ctlmsg_req_t req = {.id = 1, .kind = CTLMSG_WAIT, .timeout_ms = 60000, .peers = 64};
    if (!ctx || !socks || n < 1 || n > max || ctlmsg_req_encode(&req, &b) != MESH_OK) {
        return 2;
    }
    for (int i = 0; i < n; i++) {
        socks[i] = c_dealer(ctx, home);
        if (socks[i]) {
            zmq_send(socks[i], b.data, b.len, ZMQ_DONTWAIT);
        }
    }
    int busy = 0, open = 0;
    struct timespec nap = {0, 100 * 1000 * 1000};
    /* Past the cap: until every older wait was told busy (a deadline of 20 s for a slow
     * build); within it: 2 s for a wrong "busy" to come. */
    int want = n > 64 ? n - 64 : -1, rounds = want > 0 ? 200 : 20;
    for (int t = 0; t < rounds && busy != want; t++) {
        for (int i = 0; i < n; i++) {
            uint8_t buf[1024];
            int got = socks[i] ? zmq_recv(socks[i], buf, sizeof buf, ZMQ_DONTWAIT) : -1;
            ctlmsg_reply_t rep;
            if (got > 0 && ctlmsg_reply_decode(CTLMSG_WAIT, buf, (size_t)got, &rep) == MESH_OK &&
                rep.code == MESH_EBUSY) {
                busy++;
            }
        }
        nanosleep(&nap, NULL);
    }
    for (int i = 0; i < n; i++) {
        open += socks[i] != NULL;
    }
    printf("busy=%d open=%d\n", busy, open);
    fflush(stdout);
    for (int s = 0; s < seconds; s++) {
        struct timespec one = {1, 0};
        nanosleep(&one, NULL);
    }
    for (int i = 0; i < n; i++) {
        if (socks[i]) {
            zmq_close(socks[i]);
        }
    }
    free(socks);
    wire_buf_release(&b);
    zmq_ctx_term(ctx);
    return 0;
}

int
main(int argc, char **argv)
{
    if (argc < 3) {
        return c_usage();
    }
    if (strcmp(argv[2], "ping") == 0 && argc == 3) {
        return c_ping(argv[1]);
    }
    if (strcmp(argv[2], "raw") == 0 && argc == 4) {
        return c_raw(argv[1], argv[3], 0);
    }
    if (strcmp(argv[2], "zeros") == 0 && argc == 4) {
        return c_raw(argv[1], NULL, (size_t)atol(argv[3]));
    }
    if (strcmp(argv[2], "frames") == 0 && argc == 3) {
        return c_frames(argv[1]);
    }
    if (strcmp(argv[2], "flood") == 0 && argc == 5) {
        return c_flood(argv[1], atoi(argv[3]), atoi(argv[4]));
    }
    return c_usage();
}
