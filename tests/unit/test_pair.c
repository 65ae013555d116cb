/* tests/unit/test_pair.c: unit tests of core/sync/pair.c, the pairing state machine, with
 * two real identities whose frames go through queues (no sockets).
 * Shows: the right code ends both sides DONE with each other's keys and A's RESULT at B; a
 * wrong code fails both sides (A: wrong code, burnt; B: told by A); B's AD naming another
 * key than its connection's is refused; a frame out of turn, a malformed one and one from a
 * second connection key are refused (the last without ending the attempt); two meshed
 * devices are refused before any share (not burnt); another nameplate is refused; the
 * listener's public key belongs to its secret; the listener's transport, capped at
 * PAIRMSG_FRAME_MAX (transport_frame_max), drops a longer frame from a stranger (counted),
 * whole or in pieces, and still takes a short one after it.
 * Layer: tests. Third-party: cmocka, sodium.h. SPDX-License-Identifier: MIT */
#include "core/sync/pair.h"

#include "crypto/ident.h"
#include "transport/transport.h"

#include <sodium.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define S_QMAX 8

typedef struct s_queue {
    uint8_t frames[S_QMAX][PAIRMSG_FRAME_MAX];
    size_t lens[S_QMAX];
    size_t n;
} s_queue_t;

static mesh_err_t
s_push(void *ctx, const uint8_t *frame, size_t len)
{
    s_queue_t *q = ctx;
    assert_true(q->n < S_QMAX && len <= PAIRMSG_FRAME_MAX);
    memcpy(q->frames[q->n], frame, len);
    q->lens[q->n++] = len;
    return MESH_OK;
}

typedef struct s_run {
    ident_t *ida, *idb;
    uint8_t curve_b[IDENT_CURVE_LEN];
    s_queue_t to_a, to_b;
    pair_t *a, *b;
} s_run_t;

static s_run_t *
s_run_new(const char *code_a, const char *code_b, bool others_a, bool others_b)
{
    s_run_t *r = calloc(1, sizeof *r);
    paircode_t ca, cb;
    assert_non_null(r);
    assert_int_equal(ident_generate(&r->ida), MESH_OK);
    assert_int_equal(ident_generate(&r->idb), MESH_OK);
    assert_int_equal(ident_curve_public(ident_public_key(r->idb), r->curve_b), MESH_OK);
    assert_int_equal(paircode_parse(code_a, strlen(code_a), &ca, NULL, 0), MESH_OK);
    assert_int_equal(paircode_parse(code_b, strlen(code_b), &cb, NULL, 0), MESH_OK);
    assert_int_equal(pair_new(PAIR_INITIATOR, r->ida, &ca, pair_listener_public, others_a, s_push,
                              &r->to_b, &r->a),
                     MESH_OK);
    assert_int_equal(pair_new(PAIR_RESPONDER, r->idb, &cb, pair_listener_public, others_b, s_push,
                              &r->to_a, &r->b),
                     MESH_OK);
    return r;
}

static void
s_run_free(s_run_t *r)
{
    pair_free(r->a);
    pair_free(r->b);
    ident_free(r->ida);
    ident_free(r->idb);
    free(r);
}

/* Deliver queued frames both ways until none is left (A sees B's connection key). */
static void
s_pump(s_run_t *r)
{
    while (r->to_a.n || r->to_b.n) {
        s_queue_t qa = r->to_a, qb = r->to_b;
        r->to_a.n = r->to_b.n = 0;
        for (size_t i = 0; i < qa.n; i++) {
            mesh_err_t e = pair_on_frame(r->a, r->curve_b, qa.frames[i], qa.lens[i]);
            (void)e; /* the states say how it went */
        }
        for (size_t i = 0; i < qb.n; i++) {
            mesh_err_t e = pair_on_frame(r->b, pair_listener_public, qb.frames[i], qb.lens[i]);
            (void)e;
        }
    }
}

static void
test_pair_right_code(void **state)
{
    (void)state;
    s_run_t *r = s_run_new("7-crystal-ladder-orbit", "7 Crystal LADDER orbit", false, false);
    assert_int_equal(pair_start(r->b), MESH_OK);
    s_pump(r);
    assert_int_equal(pair_state(r->a), PAIR_VERIFIED);
    assert_memory_equal(pair_peer_key(r->a), ident_public_key(r->idb), PAIR_KEY_LEN);
    const char *addrs[] = {"tcp://0.0.0.0:7400", "tcp://10.0.0.1:7400"};
    assert_int_equal(pair_send_result(r->a, "alpha", addrs, 2), MESH_OK);
    s_pump(r);
    assert_int_equal(pair_state(r->a), PAIR_DONE);
    assert_int_equal(pair_state(r->b), PAIR_DONE);
    assert_memory_equal(pair_peer_key(r->b), ident_public_key(r->ida), PAIR_KEY_LEN);
    assert_string_equal(pair_result_name(r->b), "alpha");
    assert_int_equal(pair_result_naddrs(r->b), 2);
    assert_string_equal(pair_result_addr(r->b, 1), "tcp://10.0.0.1:7400");
    assert_false(pair_burnt(r->a));
    s_run_free(r);
}

static void
test_pair_wrong_code_fails_both(void **state)
{
    (void)state;
    s_run_t *r = s_run_new("7-crystal-ladder-orbit", "7-crystal-ladder-oasis", false, false);
    bool by_peer = true;
    assert_int_equal(pair_start(r->b), MESH_OK);
    s_pump(r);
    assert_int_equal(pair_state(r->a), PAIR_FAILED);
    assert_int_equal(pair_state(r->b), PAIR_FAILED);
    assert_int_equal(pair_failure(r->a, &by_peer, NULL), PAIR_REASON_WRONG_CODE);
    assert_false(by_peer);
    assert_true(pair_burnt(r->a));
    assert_int_equal(pair_failure(r->b, &by_peer, NULL), PAIR_REASON_WRONG_CODE);
    assert_true(by_peer);
    s_run_free(r);
}

static void
test_pair_ad_of_another_key_refused(void **state)
{
    (void)state;
    s_run_t *r = s_run_new("7-crystal-ladder-orbit", "7-crystal-ladder-orbit", false, false);
    assert_int_equal(pair_start(r->b), MESH_OK);
    /* A takes START from B's queue, but as if from another connection key */
    uint8_t other[IDENT_CURVE_LEN];
    memset(other, 0x42, sizeof other);
    s_queue_t q = r->to_a;
    r->to_a.n = 0;
    assert_int_equal(pair_on_frame(r->a, other, q.frames[0], q.lens[0]), MESH_OK);
    q = r->to_b;
    r->to_b.n = 0;
    assert_int_equal(pair_on_frame(r->b, pair_listener_public, q.frames[0], q.lens[0]), MESH_OK);
    /* B's SHARE names B's key; A pinned another: refused, burnt */
    q = r->to_a;
    r->to_a.n = 0;
    assert_int_equal(pair_on_frame(r->a, other, q.frames[0], q.lens[0]), MESH_EPROTO);
    assert_int_equal(pair_state(r->a), PAIR_FAILED);
    assert_true(pair_burnt(r->a));
    s_run_free(r);
}

static void
test_pair_out_of_turn_malformed_and_strangers(void **state)
{
    (void)state;
    s_run_t *r = s_run_new("7-crystal-ladder-orbit", "7-crystal-ladder-orbit", false, false);
    assert_int_equal(pair_start(r->b), MESH_OK);
    s_queue_t q = r->to_a;
    r->to_a.n = 0;
    assert_int_equal(pair_on_frame(r->a, r->curve_b, q.frames[0], q.lens[0]), MESH_OK);
    /* a second key's frame is not this attempt's, and leaves it as it was */
    uint8_t other[IDENT_CURVE_LEN];
    memset(other, 0x42, sizeof other);
    assert_int_equal(pair_on_frame(r->a, other, q.frames[0], q.lens[0]), MESH_EUNPAIRED);
    assert_int_equal(pair_state(r->a), PAIR_WAIT_SHARE);
    /* START again, out of turn: fails, burnt (A's share went out) */
    assert_int_equal(pair_on_frame(r->a, r->curve_b, q.frames[0], q.lens[0]), MESH_EPROTO);
    assert_true(pair_burnt(r->a));
    s_run_free(r);
    r = s_run_new("7-crystal-ladder-orbit", "7-crystal-ladder-orbit", false, false);
    static const uint8_t junk[] = {0x93, 64, 1};
    assert_int_equal(pair_on_frame(r->a, r->curve_b, junk, sizeof junk), MESH_EPROTO);
    assert_int_equal(pair_state(r->a), PAIR_FAILED);
    assert_false(pair_burnt(r->a)); /* nothing was offered yet */
    assert_int_equal(r->to_b.n, 1); /* the ERROR */
    s_run_free(r);
}

static void
test_pair_meshed_and_nameplate_refused(void **state)
{
    (void)state;
    s_run_t *r = s_run_new("7-crystal-ladder-orbit", "7-crystal-ladder-orbit", true, true);
    bool by_peer = false;
    assert_int_equal(pair_start(r->b), MESH_OK);
    s_pump(r);
    assert_int_equal(pair_failure(r->a, NULL, NULL), PAIR_REASON_MESHED);
    assert_int_equal(pair_failure(r->b, &by_peer, NULL), PAIR_REASON_MESHED);
    assert_true(by_peer);
    assert_false(pair_burnt(r->a));
    s_run_free(r);
    /* one side meshed: fine */
    r = s_run_new("7-crystal-ladder-orbit", "7-crystal-ladder-orbit", true, false);
    assert_int_equal(pair_start(r->b), MESH_OK);
    s_pump(r);
    assert_int_equal(pair_state(r->a), PAIR_VERIFIED);
    s_run_free(r);
    r = s_run_new("7-crystal-ladder-orbit", "8-crystal-ladder-orbit", false, false);
    assert_int_equal(pair_start(r->b), MESH_OK);
    s_pump(r);
    assert_int_equal(pair_failure(r->a, NULL, NULL), PAIR_REASON_NAMEPLATE);
    assert_int_equal(pair_failure(r->b, NULL, NULL), PAIR_REASON_NAMEPLATE);
    assert_false(pair_burnt(r->a));
    s_run_free(r);
}

static void
test_pair_listener_keys(void **state)
{
    (void)state;
    uint8_t pk[32];
    assert_int_equal(crypto_scalarmult_base(pk, pair_listener_secret), 0);
    assert_memory_equal(pk, pair_listener_public, 32);
}

static bool
s_admit_any(void *ctx, const uint8_t *key)
{
    (void)ctx;
    (void)key;
    return true;
}

/* Wait up to 3 s for a frame on a (pumping b meanwhile). */
static mesh_err_t
s_recv(transport_t *a, transport_t *b, transport_msg_t *msg)
{
    for (int i = 0; i < 150; i++) {
        transport_msg_t ignored;
        mesh_err_t e = transport_recv(b, 1, &ignored);
        (void)e;
        if (transport_recv(a, 20, msg) == MESH_OK) {
            return MESH_OK;
        }
    }
    return MESH_ENOTFOUND;
}

static void
test_pair_listener_frame_cap(void **state)
{
    (void)state;
    uint8_t sk[32], bpk[32], bsk[32], *big = calloc(1, 3u << 20);
    char ep[256];
    transport_t *a = NULL, *b = NULL;
    transport_msg_t msg;
    uint32_t conn = 0;
    assert_non_null(big);
    big[0] = 0x93;
    memcpy(sk, pair_listener_secret, sizeof sk);
    assert_int_equal(transport_open(pair_listener_public, sk, s_admit_any, NULL, &a), MESH_OK);
    transport_frame_max(a, PAIRMSG_FRAME_MAX);
    assert_int_equal(transport_listen(a, "tcp://127.0.0.1:0", ep, sizeof ep), MESH_OK);
    randombytes_buf(bsk, sizeof bsk);
    crypto_scalarmult_base(bpk, bsk);
    assert_int_equal(transport_open(bpk, bsk, s_admit_any, NULL, &b), MESH_OK);
    assert_int_equal(transport_connect(b, pair_listener_public, ep, &conn), MESH_OK);
    mesh_err_t err = MESH_ENOTFOUND;
    for (int i = 0; i < 300 && err != MESH_OK; i++) {
        err = transport_send(b, conn, big, PAIRMSG_FRAME_MAX + 1); /* one whole piece */
        if (err != MESH_OK) { /* a answers the handshake (ZAP) as it polls */
            mesh_err_t e = transport_recv(a, 10, &msg);
            assert_int_equal(e, MESH_ENOTFOUND);
        }
    }
    assert_int_equal(err, MESH_OK);
    assert_int_equal(transport_send(b, conn, big, 3u << 20), MESH_OK); /* in pieces */
    assert_int_equal(transport_send(b, conn, big, 3), MESH_OK);
    assert_int_equal(s_recv(a, b, &msg), MESH_OK);
    assert_int_equal(msg.len, 3); /* the short one only */
    assert_true(transport_refused(a) >= 2);
    transport_close(b);
    transport_close(a);
    free(big);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pair_right_code),
        cmocka_unit_test(test_pair_wrong_code_fails_both),
        cmocka_unit_test(test_pair_ad_of_another_key_refused),
        cmocka_unit_test(test_pair_out_of_turn_malformed_and_strangers),
        cmocka_unit_test(test_pair_meshed_and_nameplate_refused),
        cmocka_unit_test(test_pair_listener_keys),
        cmocka_unit_test(test_pair_listener_frame_cap),
    };
    if (sodium_init() < 0)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
