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

#include "crypto/ident.h"
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

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_transport_member_talks_both_ways),
        cmocka_unit_test(test_transport_unknown_key_refused_first),
        cmocka_unit_test(test_transport_admission_checked_per_frame),
        cmocka_unit_test(test_transport_wrong_server_key_gets_nothing),
        cmocka_unit_test(test_transport_listen_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
