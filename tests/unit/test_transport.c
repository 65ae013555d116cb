/* tests/unit/test_transport.c: real ZeroMQ sockets on 127.0.0.1 with CURVE and ZAP: a member
 * talks both ways, an unknown key is refused even as the very first connection, a key that
 * stops being admitted is refused frame by frame, a client with the wrong server key gets
 * nothing through, and sending to a gone connection is an error, not a silent drop. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "crypto/ident.h"
#include "transport/guard.h"
#include "transport/transport.h"

typedef struct peer {
    ident_t *id;
    uint8_t pk[TRANSPORT_KEY_LEN];
    uint8_t sk[TRANSPORT_KEY_LEN];
    transport_t *t;
} peer_t;

/* The admit rule of the listening side: one allowed key, switchable. */
typedef struct rule {
    uint8_t allowed[TRANSPORT_KEY_LEN];
    bool open;
} rule_t;

static bool
s_admit(void *ctx, const uint8_t *key)
{
    rule_t *r = ctx;
    return r->open && memcmp(key, r->allowed, TRANSPORT_KEY_LEN) == 0;
}

static bool
s_admit_none(void *ctx, const uint8_t *key)
{
    (void)ctx, (void)key;
    return false;
}

static void
s_peer(peer_t *p, transport_admit_fn admit, void *ctx)
{
    assert_int_equal(ident_generate(&p->id), MESH_OK);
    assert_int_equal(ident_curve_public(ident_public_key(p->id), p->pk), MESH_OK);
    assert_int_equal(ident_curve_secret(p->id, p->sk), MESH_OK);
    assert_int_equal(transport_open(p->pk, p->sk, admit, ctx, &p->t), MESH_OK);
}

static void
s_peer_close(peer_t *p)
{
    transport_close(p->t);
    ident_free(p->id);
}

/* Send on a fresh connection: with ZMQ_IMMEDIATE nothing is taken until the CURVE
 * handshake is done, so retry (pumping both sides) for up to ms. */
static mesh_err_t
s_send_when_up(transport_t *t, uint32_t conn, const char *text, int ms, transport_t *other)
{
    mesh_err_t err = MESH_ENOTFOUND;
    for (int waited = 0; waited < ms && err == MESH_ENOTFOUND; waited += 20) {
        err = transport_send(t, conn, text, strlen(text));
        if (err == MESH_ENOTFOUND) {
            transport_msg_t ignored;
            mesh_err_t e1 = transport_recv(other, 10, &ignored);
            mesh_err_t e2 = transport_recv(t, 10, &ignored);
            assert_true(e1 == MESH_OK || e1 == MESH_ENOTFOUND);
            assert_true(e2 == MESH_OK || e2 == MESH_ENOTFOUND);
        }
    }
    return err;
}

/* Receive on t for up to ms, also pumping others (their handshakes need them polled). */
static mesh_err_t
s_recv(transport_t *t, int ms, transport_msg_t *msg, transport_t *other)
{
    for (int waited = 0; waited < ms; waited += 20) {
        if (transport_recv(t, 10, msg) == MESH_OK) {
            return MESH_OK;
        }
        if (other) {
            transport_msg_t ignored;
            mesh_err_t err = transport_recv(other, 10, &ignored);
            assert_true(err == MESH_OK || err == MESH_ENOTFOUND);
        }
    }
    return MESH_ENOTFOUND;
}

static void
test_transport_member_talks_both_ways(void **state)
{
    (void)state;
    rule_t rule = {.open = true};
    peer_t a, b;
    char ep[128];
    uint32_t conn = 0;
    transport_msg_t m;
    s_peer(&a, s_admit, &rule);
    s_peer(&b, s_admit_none, NULL); /* b only dials out: nobody connects to it */
    memcpy(rule.allowed, b.pk, TRANSPORT_KEY_LEN);
    assert_int_equal(transport_listen(a.t, "tcp://127.0.0.1:0", ep, sizeof ep), MESH_OK);
    assert_non_null(strstr(ep, "tcp://127.0.0.1:"));
    assert_int_equal(transport_connect(b.t, a.pk, ep, &conn), MESH_OK);
    assert_int_equal(s_send_when_up(b.t, conn, "ping", 5000, a.t), MESH_OK);
    assert_int_equal(s_recv(a.t, 5000, &m, b.t), MESH_OK);
    assert_int_equal(m.len, 4);
    assert_memory_equal(m.data, "ping", 4);
    assert_memory_equal(m.peer_key, b.pk, TRANSPORT_KEY_LEN); /* the key CURVE proved */
    assert_true(m.conn & TRANSPORT_INBOUND);
    uint32_t back = m.conn;
    assert_int_equal(transport_send(a.t, back, "pong", 4), MESH_OK);
    assert_int_equal(s_recv(b.t, 5000, &m, a.t), MESH_OK);
    assert_memory_equal(m.data, "pong", 4);
    assert_memory_equal(m.peer_key, a.pk, TRANSPORT_KEY_LEN);
    assert_int_equal(m.conn, conn);
    /* a connection that does not exist is an error, not a silent drop */
    assert_int_equal(transport_send(a.t, TRANSPORT_INBOUND | 77, "x", 1), MESH_ENOTFOUND);
    assert_int_equal(transport_send(b.t, 99, "x", 1), MESH_ENOTFOUND);
    s_peer_close(&b);
    s_peer_close(&a);
}

/* Frames go in pieces of TRANSPORT_PIECE_MAX (§10): libzmq's message cap is one piece, so
 * that a stranger can make it hold only that much per connection before CURVE is through.
 * Frames of 0 bytes, one piece exactly, one byte more, and 5 MiB + 3 arrive whole and in
 * order, both ways (the joined ones can be kept: transport_keep); a send into a queue that fills mid-frame fails, and the receiver drops
 * the part it got when the next frame starts. */
static void
test_transport_frames_in_pieces(void **state)
{
    (void)state;
    rule_t rule = {.open = true};
    peer_t a, b;
    char ep[128];
    uint32_t conn = 0;
    transport_msg_t m;
    s_peer(&a, s_admit, &rule);
    s_peer(&b, s_admit_none, NULL);
    memcpy(rule.allowed, b.pk, TRANSPORT_KEY_LEN);
    assert_int_equal(transport_listen(a.t, "tcp://127.0.0.1:0", ep, sizeof ep), MESH_OK);
    assert_int_equal(transport_connect(b.t, a.pk, ep, &conn), MESH_OK);
    assert_int_equal(s_send_when_up(b.t, conn, "hello", 5000, a.t), MESH_OK);
    assert_int_equal(s_recv(a.t, 5000, &m, b.t), MESH_OK);
    uint32_t back = m.conn;
    size_t sizes[] = {0, TRANSPORT_PIECE_MAX, TRANSPORT_PIECE_MAX + 1, (5u << 20) + 3};
    size_t big = sizes[3];
    uint8_t *data = malloc(big);
    assert_non_null(data);
    for (size_t i = 0; i < big; i++) {
        data[i] = (uint8_t)(i * 7 + i / 4099);
    }
    uint8_t *kept = NULL;
    for (size_t k = 0; k < 4; k++) {
        assert_int_equal(transport_send(b.t, conn, data, sizes[k]), MESH_OK);
        assert_int_equal(s_recv(a.t, 10000, &m, b.t), MESH_OK);
        assert_int_equal(m.len, sizes[k]);
        assert_true(sizes[k] == 0 || memcmp(m.data, data, sizes[k]) == 0);
        /* a frame joined from pieces is handed over once (a whole one: never), and
         * outlives the next transport_recv */
        free(kept);
        kept = transport_keep(a.t, &m);
        assert_true((kept != NULL) == (sizes[k] > TRANSPORT_PIECE_MAX));
        assert_true(!kept || kept == m.data);
        assert_null(transport_keep(a.t, &m));
        assert_int_equal(transport_send(a.t, back, data, sizes[k]), MESH_OK);
        assert_int_equal(s_recv(b.t, 10000, &m, a.t), MESH_OK);
        assert_int_equal(m.len, sizes[k]);
        assert_true(sizes[k] == 0 || memcmp(m.data, data, sizes[k]) == 0);
        assert_true(!kept || memcmp(kept, data, sizes[k]) == 0);
    }
    assert_non_null(kept);
    free(kept);
    /* Fill b's queue to a with 5 MiB frames unread until a send fails (some cut short),
     * then read all: every frame a gets is whole (a cut one is dropped, never joined to
     * the next), and a last small frame arrives as it was sent. */
    int sent = 0;
    while (sent < 200 && transport_send(b.t, conn, data, big) == MESH_OK) {
        sent++;
    }
    assert_true(sent < 200); /* the queue filled */
    size_t whole = 0;
    for (int tries = 0; tries < 400; tries++) {
        mesh_err_t err = transport_recv(a.t, 20, &m);
        if (err == MESH_OK) {
            assert_int_equal(m.len, big);
            assert_memory_equal(m.data, data, big);
            whole++;
        }
        if (err != MESH_OK && transport_send(b.t, conn, "end", 3) == MESH_OK) {
            break;
        }
    }
    assert_int_equal(s_recv(a.t, 10000, &m, b.t) == MESH_OK || whole, 1);
    bool end = false;
    for (int tries = 0; tries < 500 && !end; tries++) {
        if (m.len == 3 && memcmp(m.data, "end", 3) == 0) {
            end = true;
        } else {
            assert_int_equal(m.len, big);
            assert_memory_equal(m.data, data, big);
            whole++;
            assert_int_equal(s_recv(a.t, 10000, &m, b.t), MESH_OK);
        }
    }
    assert_true(end);
    assert_true(whole >= (size_t)sent); /* every frame sent whole arrived whole */
    free(data);
    s_peer_close(&b);
    s_peer_close(&a);
}

static void
test_transport_unknown_key_refused_first(void **state)
{
    (void)state;
    rule_t rule = {.open = true};
    peer_t a, b, c;
    char ep[128];
    uint32_t cb = 0, cc = 0;
    transport_msg_t m;
    s_peer(&a, s_admit, &rule);
    s_peer(&b, s_admit_none, NULL);
    s_peer(&c, s_admit_none, NULL);
    memcpy(rule.allowed, b.pk, TRANSPORT_KEY_LEN);
    assert_int_equal(transport_listen(a.t, "tcp://127.0.0.1:0", ep, sizeof ep), MESH_OK);
    /* the stranger is the very first to connect */
    assert_int_equal(transport_connect(c.t, a.pk, ep, &cc), MESH_OK);
    /* the handshake is refused: whether libzmq takes the frame into its queue or not
     * (ZMQ_IMMEDIATE races with the refusal), nothing reaches a */
    mesh_err_t sent = s_send_when_up(c.t, cc, "let me in", 1000, a.t);
    assert_true(sent == MESH_OK || sent == MESH_ENOTFOUND);
    assert_int_equal(s_recv(a.t, 1000, &m, c.t), MESH_ENOTFOUND);
    assert_true(transport_refused(a.t) >= 1);
    /* the member still gets through */
    assert_int_equal(transport_connect(b.t, a.pk, ep, &cb), MESH_OK);
    assert_int_equal(s_send_when_up(b.t, cb, "hi", 5000, a.t), MESH_OK);
    assert_int_equal(s_recv(a.t, 5000, &m, b.t), MESH_OK);
    assert_memory_equal(m.peer_key, b.pk, TRANSPORT_KEY_LEN);
    s_peer_close(&c);
    s_peer_close(&b);
    s_peer_close(&a);
}

static void
test_transport_admission_checked_per_frame(void **state)
{
    (void)state;
    rule_t rule = {.open = true};
    peer_t a, b;
    char ep[128];
    uint32_t conn = 0;
    transport_msg_t m;
    s_peer(&a, s_admit, &rule);
    s_peer(&b, s_admit_none, NULL);
    memcpy(rule.allowed, b.pk, TRANSPORT_KEY_LEN);
    assert_int_equal(transport_listen(a.t, "tcp://127.0.0.1:0", ep, sizeof ep), MESH_OK);
    assert_int_equal(transport_connect(b.t, a.pk, ep, &conn), MESH_OK);
    assert_int_equal(s_send_when_up(b.t, conn, "one", 5000, a.t), MESH_OK);
    assert_int_equal(s_recv(a.t, 5000, &m, b.t), MESH_OK);
    uint64_t refused = transport_refused(a.t);
    rule.open = false; /* b is removed: its next frame must not get through */
    assert_int_equal(transport_send(b.t, conn, "two", 3), MESH_OK);
    assert_int_equal(s_recv(a.t, 1000, &m, b.t), MESH_ENOTFOUND);
    assert_true(transport_refused(a.t) > refused);
    s_peer_close(&b);
    s_peer_close(&a);
}

static void
test_transport_wrong_server_key_gets_nothing(void **state)
{
    (void)state;
    rule_t rule = {.open = true};
    peer_t a, b, fake;
    char ep[128];
    uint32_t conn = 0;
    transport_msg_t m;
    s_peer(&a, s_admit, &rule);
    s_peer(&b, s_admit_none, NULL);
    s_peer(&fake, s_admit_none, NULL);
    memcpy(rule.allowed, b.pk, TRANSPORT_KEY_LEN);
    assert_int_equal(transport_listen(a.t, "tcp://127.0.0.1:0", ep, sizeof ep), MESH_OK);
    /* b believes the server is someone else: CURVE fails, nothing is delivered */
    assert_int_equal(transport_connect(b.t, fake.pk, ep, &conn), MESH_OK);
    mesh_err_t sent = s_send_when_up(b.t, conn, "secret", 1000, a.t);
    assert_true(sent == MESH_OK || sent == MESH_ENOTFOUND);
    assert_int_equal(s_recv(a.t, 1000, &m, b.t), MESH_ENOTFOUND);
    s_peer_close(&fake);
    s_peer_close(&b);
    s_peer_close(&a);
}

static void
test_transport_listen_errors(void **state)
{
    (void)state;
    rule_t rule = {.open = true};
    peer_t a, b;
    char ep[128];
    s_peer(&a, s_admit, &rule);
    s_peer(&b, s_admit, &rule);
    assert_int_equal(transport_listen(a.t, "tcp://127.0.0.1:0", ep, sizeof ep), MESH_OK);
    assert_int_equal(transport_listen(a.t, "tcp://127.0.0.1:0", NULL, 0), MESH_ESTATE);
    /* the port is taken: told apart from other failures */
    assert_int_equal(transport_listen(b.t, ep, NULL, 0), MESH_EBUSY);
    assert_non_null(strstr(transport_errmsg(b.t), "listen on"));
    s_peer_close(&b);
    s_peer_close(&a);
}

/* A TCP client from source address src (127.0.0.x) to port on 127.0.0.1. */
static int
s_client(const char *src, uint16_t port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    assert_true(fd >= 0);
    assert_int_equal(inet_pton(AF_INET, src, &a.sin_addr), 1);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    a.sin_port = htons(port);
    assert_int_equal(inet_pton(AF_INET, "127.0.0.1", &a.sin_addr), 1);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    return fd;
}

/* Has the server shut down the connection whose client end is fd (EOF at once)? */
static bool
s_shut(int fd)
{
    char c;
    return recv(fd, &c, 1, MSG_DONTWAIT) == 0;
}

/* The guard's caps on real connections: per address (the oldest of it shed first), in all
 * (the oldest of the address holding the most), a member's connection no longer counted,
 * and a gone descriptor forgotten; what it sheds is shut down, the rest stays open. */
static void
test_transport_guard_caps(void **state)
{
    (void)state;
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    socklen_t alen = sizeof a;
    assert_int_equal(inet_pton(AF_INET, "127.0.0.1", &a.sin_addr), 1);
    assert_int_equal(bind(lfd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(lfd, 64), 0);
    assert_int_equal(getsockname(lfd, (struct sockaddr *)&a, &alen), 0);
    uint16_t port = ntohs(a.sin_port);
    guard_t *g = NULL;
    assert_int_equal(guard_new(5, 3, &g), MESH_OK);
    int cl[8], sv[8];
    const char *src[8] = {"127.0.0.2", "127.0.0.2", "127.0.0.2", "127.0.0.2",
                          "127.0.0.3", "127.0.0.3", "127.0.0.4", "127.0.0.4"};
    for (int i = 0; i < 8; i++) {
        cl[i] = s_client(src[i], port);
        sv[i] = accept(lfd, NULL, NULL);
        assert_true(sv[i] >= 0);
    }
    /* 4 from .2 with 3 allowed: the oldest of .2 goes */
    for (int i = 0; i < 4; i++) {
        guard_accepted(g, sv[i]);
    }
    assert_int_equal(guard_enforce(g), 1);
    assert_true(s_shut(cl[0]));
    assert_false(s_shut(cl[1]));
    assert_int_equal(guard_count(g), 3);
    /* a member's connection leaves the count; a gone one too */
    uint8_t key_a[32] = {1}, key_b[32] = {2};
    assert_int_equal(guard_member(g, sv[1], key_a), 0);
    guard_gone(g, sv[2]);
    assert_int_equal(guard_count(g), 1);
    /* 1 of .2, 2 of .3, 2 of .4: 5 of 5; one more of .4 and the total is past: .4 holds
     * the most, its oldest goes */
    guard_accepted(g, sv[4]);
    guard_accepted(g, sv[5]);
    guard_accepted(g, sv[6]);
    guard_accepted(g, sv[7]);
    assert_int_equal(guard_enforce(g), 0);
    int extra_cl = s_client("127.0.0.4", port), extra_sv = accept(lfd, NULL, NULL);
    guard_accepted(g, extra_sv);
    assert_int_equal(guard_enforce(g), 1);
    assert_true(s_shut(cl[6]));
    assert_false(s_shut(cl[7]) || s_shut(extra_cl) || s_shut(cl[4]) || s_shut(cl[3]));
    assert_int_equal(guard_count(g), 5);
    assert_int_equal(guard_shed(g), 2);
    /* a descriptor closed and reused for another connection before its event came is
     * forgotten, not shut down: sv[3] (.2, the oldest entry) now holds a connection from .5 */
    int other_cl = s_client("127.0.0.5", port), other_sv = accept(lfd, NULL, NULL);
    assert_int_equal(dup2(other_sv, sv[3]), sv[3]); /* (closes the old sv[3]) */
    close(other_sv);
    int more_cl = s_client("127.0.0.2", port), more_sv = accept(lfd, NULL, NULL);
    guard_accepted(g, more_sv); /* 6 of 5; .2, .3, .4 hold 2 each: the oldest is sv[3] */
    assert_int_equal(guard_enforce(g), 0);
    assert_false(s_shut(other_cl));
    assert_int_equal(guard_count(g), 5);
    /* A member key holds at most GUARD_PER_MEMBER (2) connections: a third of key_a sheds
     * its oldest (sv[1]); key_b's are counted apart; a connection seen again is no new one */
    int m_cl[3], m_sv[3];
    for (int i = 0; i < 3; i++) {
        m_cl[i] = s_client("127.0.0.6", port);
        m_sv[i] = accept(lfd, NULL, NULL);
        assert_true(m_sv[i] >= 0);
    }
    assert_int_equal(guard_member(g, m_sv[0], key_b), 0);
    assert_int_equal(guard_member(g, m_sv[1], key_a), 0); /* key_a: sv[1], m_sv[1] */
    assert_int_equal(guard_member(g, m_sv[1], key_a), 0); /* the same again */
    assert_int_equal(guard_member(g, m_sv[2], key_a), 1); /* a third: sv[1] goes */
    assert_true(s_shut(cl[1]));
    assert_false(s_shut(m_cl[0]) || s_shut(m_cl[1]) || s_shut(m_cl[2]));
    guard_gone(g, m_sv[1]); /* gone: key_a holds one, so the next is no third */
    int n_cl = s_client("127.0.0.6", port), n_sv = accept(lfd, NULL, NULL);
    assert_int_equal(guard_member(g, n_sv, key_a), 0);
    assert_false(s_shut(m_cl[2]) || s_shut(n_cl));
    for (int i = 0; i < 3; i++) {
        close(m_cl[i]);
        close(m_sv[i]);
    }
    close(n_cl);
    close(n_sv);
    guard_free(g);
    guard_free(NULL);
    assert_int_equal(guard_total(1024), GUARD_TOTAL_MAX); /* 128: a quarter of 1024 is more */
    assert_int_equal(guard_total(512), 128);
    assert_int_equal(guard_total(400), 100);
    assert_int_equal(guard_total(256), 64);
    assert_int_equal(guard_total(0), GUARD_PER_ADDR);
    int all[] = {extra_cl, extra_sv, other_cl, more_cl, more_sv, lfd};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        close(all[i]);
    }
    for (int i = 0; i < 8; i++) {
        close(cl[i]);
        close(sv[i]);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_transport_member_talks_both_ways),
        cmocka_unit_test(test_transport_frames_in_pieces),
        cmocka_unit_test(test_transport_unknown_key_refused_first),
        cmocka_unit_test(test_transport_admission_checked_per_frame),
        cmocka_unit_test(test_transport_wrong_server_key_gets_nothing),
        cmocka_unit_test(test_transport_listen_errors),
        cmocka_unit_test(test_transport_guard_caps),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
