/* tests/unit/test_addrbook.c: unit tests of core/member/addrbook.c and core/wire/addrs.c
 * (docs/PROTOCOL.md §17): the caps of a member's book and whom a new address may push out
 * (never one that works, never one just told and not yet tried), the records' addresses
 * followed, the dial order, the rest of a failing address, what is passed on, the book kept
 * in a real store across a close; and the strict PEX decoder: its caps, one entry per
 * device in one order, no duplicate, no trailing byte, bytes past len never read.
 * Layer: tests. Third-party: cmocka. SPDX-License-Identifier: MIT */
#include "core/member/addrbook.h"
#include "core/wire/addrs.h"
#include "core/wire/msg.h"
#include "store/store.h"
#include "util.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define S_NOW 1700000000

static const uint8_t s_teller[WIRE_ORIGIN_LEN] = {7};

/* Note "tcp://10.0.0.<i>:7400" from source; returns whether it was added. */
static bool
s_note(addrbook_t *b, int i, uint8_t source, int64_t now)
{
    char a[64];
    bool added = false;
    snprintf(a, sizeof a, "tcp://10.0.0.%d:7400", i);
    assert_int_equal(addrbook_note(b, a, source, source >= ADDRBOOK_SELF ? s_teller : NULL, now,
                                   &added),
                     MESH_OK);
    return added;
}

static const char *
s_name(int i)
{
    static char a[64];
    snprintf(a, sizeof a, "tcp://10.0.0.%d:7400", i);
    return a;
}

static void
test_addrbook_caps_and_eviction(void **state)
{
    (void)state;
    addrbook_t b;
    addrbook_init(&b);
    for (int i = 1; i <= (int)ADDRBOOK_LEARNT_MAX; i++) {
        assert_true(s_note(&b, i, ADDRBOOK_TOLD, S_NOW + i));
    }
    assert_false(s_note(&b, 1, ADDRBOOK_TOLD, S_NOW)); /* known: not twice */
    /* full of addresses told a moment ago and never tried: a ninth is refused */
    assert_false(s_note(&b, 50, ADDRBOOK_TOLD, S_NOW + 10));
    assert_int_equal(b.n, ADDRBOOK_LEARNT_MAX);
    /* address 1 works, address 2 failed: the ninth takes 2's place, never 1's */
    assert_true(addrbook_worked(&b, s_name(1), S_NOW + 20));
    assert_true(addrbook_failed(&b, s_name(2), S_NOW + 21));
    assert_true(s_note(&b, 50, ADDRBOOK_TOLD, S_NOW + 22));
    assert_non_null(addrbook_find(&b, s_name(1)));
    assert_null(addrbook_find(&b, s_name(2)));
    assert_int_equal(b.n, ADDRBOOK_LEARNT_MAX);
    /* past ADDRBOOK_EVICT_S an untried one may go too: the oldest of them */
    assert_true(s_note(&b, 51, ADDRBOOK_TOLD, S_NOW + ADDRBOOK_EVICT_S + 10));
    assert_null(addrbook_find(&b, s_name(3)));
    /* the records' addresses have their own room: the learnt ones do not crowd them out */
    for (int i = 100; i < 100 + (int)(ADDRBOOK_MAX - ADDRBOOK_LEARNT_MAX); i++) {
        assert_true(s_note(&b, i, ADDRBOOK_CONFIGURED, S_NOW));
    }
    assert_false(s_note(&b, 200, ADDRBOOK_CONFIGURED, S_NOW));
    assert_int_equal(b.n, ADDRBOOK_MAX);
    /* a better source replaces a worse one; a worse one changes nothing */
    assert_false(s_note(&b, 50, ADDRBOOK_BEACON, S_NOW));
    assert_int_equal(addrbook_find(&b, s_name(50))->source, ADDRBOOK_BEACON);
    assert_false(s_note(&b, 50, ADDRBOOK_TOLD, S_NOW));
    assert_int_equal(addrbook_find(&b, s_name(50))->source, ADDRBOOK_BEACON);
    /* bad input: refused, nothing changed */
    bool added = true;
    assert_int_equal(addrbook_note(&b, "", ADDRBOOK_TOLD, NULL, S_NOW, &added), MESH_EINVAL);
    assert_false(added);
    assert_int_equal(addrbook_note(&b, "tcp://x:1", 9, NULL, S_NOW, &added), MESH_EINVAL);
    addrbook_release(&b);
}

static void
test_addrbook_follows_the_records(void **state)
{
    (void)state;
    addrbook_t b;
    addrbook_init(&b);
    assert_true(addrbook_set_configured(&b, "tcp://a:1 tcp://b:2", S_NOW));
    assert_int_equal(b.n, 2);
    assert_false(addrbook_set_configured(&b, " tcp://a:1  tcp://b:2 ", S_NOW));
    assert_true(s_note(&b, 1, ADDRBOOK_TOLD, S_NOW));
    /* b:2 is no longer given: gone; a told address now given by a record becomes one */
    assert_true(addrbook_set_configured(&b, "tcp://a:1 tcp://10.0.0.1:7400", S_NOW));
    assert_null(addrbook_find(&b, "tcp://b:2"));
    assert_int_equal(addrbook_find(&b, s_name(1))->source, ADDRBOOK_CONFIGURED);
    assert_true(addrbook_set_configured(&b, "", S_NOW));
    assert_int_equal(b.n, 0);
    addrbook_release(&b);
}

static void
test_addrbook_order_and_rest(void **state)
{
    (void)state;
    addrbook_t b;
    const addrbook_entry_t *order[ADDRBOOK_MAX];
    addrbook_init(&b);
    s_note(&b, 1, ADDRBOOK_TOLD, S_NOW);       /* failed twice */
    s_note(&b, 2, ADDRBOOK_TOLD, S_NOW);       /* never tried, told */
    s_note(&b, 3, ADDRBOOK_CONFIGURED, S_NOW); /* never tried, a record's */
    s_note(&b, 4, ADDRBOOK_SELF, S_NOW);       /* worked, earlier */
    s_note(&b, 5, ADDRBOOK_TOLD, S_NOW);       /* worked, later */
    s_note(&b, 6, ADDRBOOK_BEACON, S_NOW);     /* failed once */
    addrbook_failed(&b, s_name(1), S_NOW + 1);
    addrbook_failed(&b, s_name(1), S_NOW + 2);
    addrbook_worked(&b, s_name(4), S_NOW + 3);
    addrbook_worked(&b, s_name(5), S_NOW + 4);
    addrbook_failed(&b, s_name(6), S_NOW + 5);
    size_t n = addrbook_order(&b, order);
    assert_int_equal(n, 6);
    const int want[] = {5, 4, 3, 2, 6, 1};
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(order[i]->addr, s_name(want[i]));
    }
    /* a failure after it worked: no longer first */
    addrbook_failed(&b, s_name(5), S_NOW + 4);
    assert_true(addrbook_find(&b, s_name(5))->last_fail > addrbook_find(&b, s_name(5))->last_ok);
    addrbook_order(&b, order);
    assert_string_equal(order[0]->addr, s_name(4));
    /* rests: 3 s after one failure, doubling, at most ADDRBOOK_REST_MAX_S */
    const addrbook_entry_t *e6 = addrbook_find(&b, s_name(6)), *e1 = addrbook_find(&b, s_name(1));
    assert_true(addrbook_resting(e6, S_NOW + 5 + 2));
    assert_false(addrbook_resting(e6, S_NOW + 5 + 3));
    assert_true(addrbook_resting(e1, S_NOW + 2 + 5));
    assert_false(addrbook_resting(e1, S_NOW + 2 + 6));
    for (int i = 0; i < 40; i++) {
        addrbook_failed(&b, s_name(6), S_NOW + 100);
    }
    assert_true(addrbook_resting(e6, S_NOW + 100 + ADDRBOOK_REST_MAX_S - 1));
    assert_false(addrbook_resting(e6, S_NOW + 100 + ADDRBOOK_REST_MAX_S));
    assert_false(addrbook_resting(addrbook_find(&b, s_name(4)), S_NOW + 5)); /* works */
    addrbook_release(&b);
}

static void
test_addrbook_shareable(void **state)
{
    (void)state;
    addrbook_t b;
    const char *out[WIRE_PEX_ADDRS_MAX];
    addrbook_init(&b);
    s_note(&b, 1, ADDRBOOK_CONFIGURED, S_NOW); /* in records: every member has it */
    s_note(&b, 2, ADDRBOOK_TOLD, S_NOW);       /* only told: a hint, not passed on */
    s_note(&b, 3, ADDRBOOK_SELF, S_NOW);       /* the member's own word */
    s_note(&b, 4, ADDRBOOK_TOLD, S_NOW);       /* told, and our link to it worked */
    s_note(&b, 5, ADDRBOOK_SELF, S_NOW);       /* its own word, failing here */
    addrbook_worked(&b, s_name(1), S_NOW + 1);
    addrbook_worked(&b, s_name(4), S_NOW + 1);
    for (unsigned i = 0; i < ADDRBOOK_SHARE_FAILS; i++) {
        addrbook_failed(&b, s_name(5), S_NOW + 2 + i);
    }
    size_t n = addrbook_shareable(&b, out, WIRE_PEX_ADDRS_MAX);
    assert_int_equal(n, 2);
    assert_string_equal(out[0], s_name(4));
    assert_string_equal(out[1], s_name(3));
    assert_int_equal(addrbook_shareable(&b, out, 1), 1);
    addrbook_release(&b);
}

static mesh_err_t
s_save(store_txn_t *txn, void *ctx)
{
    return addrbook_save(txn, "ID-ONE", ctx);
}

static void
test_addrbook_kept_in_the_store(void **state)
{
    (void)state;
    char dir[256], home[300], msg[256];
    store_t *st = NULL;
    store_txn_t *txn = NULL;
    addrbook_t b, back;
    assert_int_equal(util_temp_home("addrbook", dir, sizeof dir, home, sizeof home), 0);
    assert_int_equal(store_open(dir, 0, &st, msg, sizeof msg), MESH_OK);
    addrbook_init(&b);
    addrbook_init(&back);
    s_note(&b, 1, ADDRBOOK_CONFIGURED, S_NOW);
    s_note(&b, 2, ADDRBOOK_TOLD, S_NOW + 1);
    addrbook_worked(&b, s_name(2), S_NOW + 2);
    addrbook_failed(&b, s_name(1), S_NOW + 3);
    assert_int_equal(store_write(st, s_save, &b), MESH_OK);
    store_close(st);
    st = NULL;
    assert_int_equal(store_open(dir, 0, &st, msg, sizeof msg), MESH_OK);
    assert_int_equal(store_read_begin(st, &txn), MESH_OK);
    assert_int_equal(addrbook_load(txn, "ID-ONE", &back), MESH_OK);
    assert_int_equal(back.n, 2);
    const addrbook_entry_t *e2 = addrbook_find(&back, s_name(2));
    assert_non_null(e2);
    assert_int_equal(e2->source, ADDRBOOK_TOLD);
    assert_true(e2->has_teller);
    assert_memory_equal(e2->teller, s_teller, WIRE_ORIGIN_LEN);
    assert_int_equal(e2->added, S_NOW + 1);
    assert_int_equal(e2->last_ok, S_NOW + 2);
    assert_int_equal(addrbook_find(&back, s_name(1))->fails, 1);
    assert_int_equal(addrbook_find(&back, s_name(1))->last_fail, S_NOW + 3);
    assert_false(back.dirty);
    assert_int_equal(addrbook_load(txn, "ID-NONE", &back), MESH_OK); /* none: empty */
    assert_int_equal(back.n, 0);
    store_read_end(txn);
    store_close(st);
    addrbook_release(&b);
    addrbook_release(&back);
    util_rm_tree(dir);
}

/* ---- the PEX decoder ---- */

/* A PEX body by hand: n entries, device i = {base + i}, each with k addresses. */
static util_bytes_t *
s_body(size_t n, uint8_t base, size_t k)
{
    util_bytes_t *bb = util_bytes_new();
    util_array(bb, n);
    for (size_t i = 0; i < n; i++) {
        uint8_t dev[WIRE_ORIGIN_LEN] = {(uint8_t)(base + i)};
        char a[32];
        util_array(bb, 2);
        util_bin(bb, dev, sizeof dev);
        util_array(bb, k);
        for (size_t j = 0; j < k; j++) {
            snprintf(a, sizeof a, "tcp://h%zu:%zu", j, i + 1);
            util_str(bb, a, strlen(a));
        }
    }
    return bb;
}

static mesh_err_t
s_decode(const util_bytes_t *bb)
{
    static wire_pex_t pex;
    util_fence_t f;
    util_fence_init(&f, bb->len);
    mesh_err_t err = wire_pex_decode(util_fence_put(&f, bb->b, bb->len), bb->len, &pex);
    if (err != MESH_OK) {
        assert_int_equal(pex.count, 0);
    }
    util_fence_release(&f);
    return err;
}

static void
test_pex_decoder(void **state)
{
    (void)state;
    static wire_pex_t pex;
    wire_buf_t out;
    util_bytes_t *bb = s_body(3, 1, 2);
    assert_int_equal(wire_pex_decode(bb->b, bb->len, &pex), MESH_OK);
    assert_int_equal(pex.count, 3);
    assert_int_equal(pex.entries[2].count, 2);
    assert_memory_equal(pex.entries[1].addrs[1], "tcp://h1:2", 10);
    wire_buf_init(&out);
    assert_int_equal(wire_pex_encode(&pex, &out), MESH_OK);
    assert_int_equal(out.len, bb->len);
    assert_memory_equal(out.data, bb->b, bb->len);
    /* every prefix fails, and never reads past its end (the fence) */
    for (size_t len = 0; len < bb->len; len++) {
        util_bytes_t cut = *bb;
        cut.len = len;
        assert_int_not_equal(s_decode(&cut), MESH_OK);
    }
    util_raw(bb, "", 1); /* a trailing byte */
    assert_int_equal(s_decode(bb), MESH_EPROTO);
    util_bytes_free(bb);
    /* the caps */
    bb = s_body(WIRE_PEX_ENTRIES_MAX, 0, WIRE_PEX_ADDRS_MAX);
    assert_int_equal(s_decode(bb), MESH_OK);
    util_bytes_free(bb);
    bb = s_body(WIRE_PEX_ENTRIES_MAX + 1, 0, 1);
    assert_int_equal(s_decode(bb), MESH_ETOOBIG);
    util_bytes_free(bb);
    bb = s_body(1, 0, WIRE_PEX_ADDRS_MAX + 1);
    assert_int_equal(s_decode(bb), MESH_ETOOBIG);
    util_bytes_free(bb);
    /* none, an entry with none, an empty address, one too long, a duplicate */
    bb = s_body(0, 0, 0);
    assert_int_equal(s_decode(bb), MESH_EPROTO);
    util_bytes_free(bb);
    bb = s_body(1, 0, 0);
    assert_int_equal(s_decode(bb), MESH_EPROTO);
    util_bytes_free(bb);
    uint8_t dev[WIRE_ORIGIN_LEN] = {0};
    char longer[WIRE_ADDR_LEN_MAX + 1];
    memset(longer, 'a', sizeof longer);
    const struct {
        const char *a;
        size_t len;
        const char *b;
        size_t blen;
        mesh_err_t want;
    } cases[] = {
        {"", 0, NULL, 0, MESH_EPROTO},
        {longer, sizeof longer, NULL, 0, MESH_ETOOBIG},
        {"tcp://x:1", 9, "tcp://x:1", 9, MESH_EPROTO},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        bb = util_bytes_new();
        util_array(bb, 1);
        util_array(bb, 2);
        util_bin(bb, dev, sizeof dev);
        util_array(bb, cases[i].b ? 2 : 1);
        util_str(bb, cases[i].a, cases[i].len);
        if (cases[i].b) {
            util_str(bb, cases[i].b, cases[i].blen);
        }
        assert_int_equal(s_decode(bb), cases[i].want);
        util_bytes_free(bb);
    }
    /* two entries of one device, or out of order: one encoding only */
    util_bytes_t *twice = s_body(1, 5, 1), *two = s_body(2, 5, 1);
    bb = util_bytes_new();
    util_array(bb, 2);
    util_raw(bb, twice->b + 1, twice->len - 1);
    util_raw(bb, twice->b + 1, twice->len - 1);
    assert_int_equal(s_decode(bb), MESH_EPROTO);
    util_bytes_free(bb);
    assert_int_equal(s_decode(two), MESH_OK);
    two->b[1 + 1 + 2] = 9; /* the first device's key now above the second's */
    assert_int_equal(s_decode(two), MESH_EPROTO);
    util_bytes_free(twice);
    util_bytes_free(two);
    /* the encoder refuses what the decoder would */
    pex.entries[0].count = 0;
    wire_buf_reset(&out);
    assert_int_equal(wire_pex_encode(&pex, &out), MESH_EINVAL);
    wire_buf_release(&out);
}

static void
test_pex_message_cap(void **state)
{
    (void)state;
    wire_buf_t out;
    wire_msg_t msg = {.type = WIRE_MSG_PEX};
    uint8_t *big = calloc(1, WIRE_PEX_MAX + 1);
    assert_non_null(big);
    wire_buf_init(&out);
    msg.body = big;
    msg.body_len = WIRE_PEX_MAX + 1;
    assert_int_equal(wire_msg_encode(&msg, &out), MESH_EINVAL);
    /* a frame past the cap, by hand: [14, 0, bin of WIRE_PEX_MAX + 1] */
    util_bytes_t *bb = util_bytes_new();
    util_array(bb, 3);
    util_uint(bb, WIRE_MSG_PEX);
    util_uint(bb, 0);
    util_bin(bb, big, WIRE_PEX_MAX + 1);
    wire_msg_t got;
    assert_int_equal(wire_msg_decode(bb->b, bb->len, &got), MESH_ETOOBIG);
    util_bytes_free(bb);
    msg.body_len = 10;
    assert_int_equal(wire_msg_encode(&msg, &out), MESH_OK);
    assert_int_equal(wire_msg_decode(out.data, out.len, &got), MESH_OK);
    assert_int_equal(got.type, WIRE_MSG_PEX);
    assert_int_equal(got.body_len, 10);
    wire_buf_release(&out);
    free(big);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_addrbook_caps_and_eviction),
        cmocka_unit_test(test_addrbook_follows_the_records),
        cmocka_unit_test(test_addrbook_order_and_rest),
        cmocka_unit_test(test_addrbook_shareable),
        cmocka_unit_test(test_addrbook_kept_in_the_store),
        cmocka_unit_test(test_pex_decoder),
        cmocka_unit_test(test_pex_message_cap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
