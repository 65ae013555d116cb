/* tests/unit/test_pairkey.c: unit tests of crypto/pairkey.c (AD, CI, sid, confirmation tags
 * and signatures over the pairing transcript).
 * Runs whole exchanges between two real identities and shows: the right code confirms and
 * verifies both ways; a wrong code fails both confirmations; a byte flipped anywhere in the
 * transcript (sid, Ya, ADa, Yb, ADb), whether under a fixed ISK or in transit between the
 * two sides, fails confirmation; an AD whose CURVE key is not its Ed25519 key's is refused.
 * Layer: tests. Third-party: cmocka, sodium.h. SPDX-License-Identifier: MIT */
#include "crypto/pairkey.h"

#include "crypto/ident.h"

#include <sodium.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#define S_PRS "crystal-ladder-orbit"

typedef struct s_side {
    ident_t *id;
    uint8_t ad[PAIRKEY_AD_LEN];
    uint8_t curve[IDENT_CURVE_LEN];
    cpace_t *c;
} s_side_t;

typedef struct s_pair {
    s_side_t a; /* initiator: the device that shows the code */
    s_side_t b; /* responder: the device the code is typed into */
    uint8_t ci[PAIRKEY_CI_MAX];
    size_t ci_len;
    uint8_t sid[PAIRKEY_SID_LEN];
} s_pair_t;

static void
s_side_init(s_side_t *s)
{
    memset(s, 0, sizeof(*s));
    assert_int_equal(ident_generate(&s->id), MESH_OK);
    assert_int_equal(pairkey_ad_encode(ident_public_key(s->id), s->ad), MESH_OK);
    assert_int_equal(ident_curve_public(ident_public_key(s->id), s->curve), MESH_OK);
}

/* Two identities, a CI over their CURVE keys, a fresh sid; both exchanges started. */
static void
s_pair_start(s_pair_t *p, const char *prs_a, const char *prs_b)
{
    uint8_t na[PAIRKEY_NONCE_LEN], nb[PAIRKEY_NONCE_LEN];

    s_side_init(&p->a);
    s_side_init(&p->b);
    assert_int_equal(pairkey_ci(7, p->a.curve, p->b.curve, p->ci, &p->ci_len), MESH_OK);
    randombytes_buf(na, sizeof(na));
    randombytes_buf(nb, sizeof(nb));
    pairkey_sid(na, nb, p->sid);
    assert_int_equal(cpace_new(CPACE_INITIATOR, (const uint8_t *)prs_a, strlen(prs_a), p->ci,
                               p->ci_len, p->sid, sizeof(p->sid), p->a.ad, PAIRKEY_AD_LEN, &p->a.c),
                     MESH_OK);
    assert_int_equal(cpace_new(CPACE_RESPONDER, (const uint8_t *)prs_b, strlen(prs_b), p->ci,
                               p->ci_len, p->sid, sizeof(p->sid), p->b.ad, PAIRKEY_AD_LEN, &p->b.c),
                     MESH_OK);
}

static void
s_pair_free(s_pair_t *p)
{
    cpace_free(p->a.c);
    cpace_free(p->b.c);
    ident_free(p->a.id);
    ident_free(p->b.id);
}

static void
test_pairkey_ad_round_trip_and_refusals(void **state)
{
    s_side_t s;
    uint8_t ad[PAIRKEY_AD_LEN], ed[IDENT_PK_LEN], curve[IDENT_CURVE_LEN];
    static const uint8_t zero[IDENT_PK_LEN];

    (void)state;
    s_side_init(&s);
    assert_int_equal(s.ad[0], PAIRKEY_AD_VERSION);
    assert_int_equal(pairkey_ad_decode(s.ad, PAIRKEY_AD_LEN, ed, curve), MESH_OK);
    assert_memory_equal(ed, ident_public_key(s.id), IDENT_PK_LEN);
    assert_memory_equal(curve, s.curve, IDENT_CURVE_LEN);

    assert_int_equal(pairkey_ad_decode(s.ad, PAIRKEY_AD_LEN - 1, ed, curve), MESH_EPROTO);
    assert_memory_equal(ed, zero, IDENT_PK_LEN); /* nothing half-read is left */
    memcpy(ad, s.ad, sizeof(ad));
    ad[0] = 2;
    assert_int_equal(pairkey_ad_decode(ad, PAIRKEY_AD_LEN, ed, curve), MESH_EPROTO);
    /* a CURVE key that is not the Ed25519 key's: another device's transport key */
    memcpy(ad, s.ad, sizeof(ad));
    ad[PAIRKEY_AD_LEN - 1] ^= 0x01;
    assert_int_equal(pairkey_ad_decode(ad, PAIRKEY_AD_LEN, ed, curve), MESH_EPROTO);
    assert_memory_equal(curve, zero, IDENT_CURVE_LEN);
    /* an Ed25519 key that is not a point */
    memset(ad + 1, 0xff, IDENT_PK_LEN);
    assert_int_equal(pairkey_ad_decode(ad, PAIRKEY_AD_LEN, NULL, NULL), MESH_EPROTO);
    assert_int_equal(pairkey_ad_encode(ad + 1, ad), MESH_EINVAL);
    ident_free(s.id);
}

static void
test_pairkey_ci_layout(void **state)
{
    uint8_t a[IDENT_CURVE_LEN], b[IDENT_CURVE_LEN], ci[PAIRKEY_CI_MAX], ci2[PAIRKEY_CI_MAX];
    size_t len, len2;

    (void)state;
    memset(a, 0xaa, sizeof(a));
    memset(b, 0xbb, sizeof(b));
    assert_int_equal(pairkey_ci(7, a, b, ci, &len), MESH_OK);
    /* lv_cat("meshsync-pair-v1", "7", a, b) */
    assert_int_equal(len, 1 + 16 + 1 + 1 + 1 + 32 + 1 + 32);
    assert_int_equal(ci[0], 16);
    assert_memory_equal(ci + 1, "meshsync-pair-v1", 16);
    assert_int_equal(ci[17], 1);
    assert_int_equal(ci[18], '7');
    assert_int_equal(ci[19], 32);
    assert_memory_equal(ci + 20, a, 32);
    assert_int_equal(ci[52], 32);
    assert_memory_equal(ci + 53, b, 32);
    assert_int_equal(pairkey_ci(999, a, b, ci, &len), MESH_OK);
    assert_int_equal(len, 87); /* the longest, as PROTOCOL §15.2 says */
    assert_true(len <= PAIRKEY_CI_MAX);
    /* the roles are ordered: swapping the keys changes CI */
    assert_int_equal(pairkey_ci(7, b, a, ci2, &len2), MESH_OK);
    assert_int_equal(pairkey_ci(7, a, b, ci, &len), MESH_OK);
    assert_memory_not_equal(ci, ci2, len);
    assert_int_equal(pairkey_ci(0, a, b, ci, &len), MESH_EINVAL);
    assert_int_equal(len, 0);
    assert_int_equal(pairkey_ci(1000, a, b, ci, &len), MESH_EINVAL);
}

static void
test_pairkey_right_code_confirms_and_signs(void **state)
{
    s_pair_t p;
    uint8_t ta[PAIRKEY_TAG_LEN], tb[PAIRKEY_TAG_LEN], sa[IDENT_SIG_LEN], sb[IDENT_SIG_LEN];

    (void)state;
    s_pair_start(&p, S_PRS, S_PRS);
    /* before the exchange ends there is nothing to confirm */
    assert_int_equal(pairkey_tag(p.a.c, CPACE_INITIATOR, ta), MESH_ESTATE);
    assert_int_equal(pairkey_check(p.a.c, ta, sizeof(ta)), MESH_ESTATE);
    assert_int_equal(pairkey_sign(p.a.c, p.a.id, sa), MESH_ESTATE);

    assert_int_equal(
        cpace_finish(p.b.c, cpace_share(p.a.c), CPACE_POINT_LEN, p.a.ad, PAIRKEY_AD_LEN), MESH_OK);
    assert_int_equal(
        cpace_finish(p.a.c, cpace_share(p.b.c), CPACE_POINT_LEN, p.b.ad, PAIRKEY_AD_LEN), MESH_OK);
    assert_int_equal(pairkey_tag(p.a.c, CPACE_INITIATOR, ta), MESH_OK);
    assert_int_equal(pairkey_tag(p.b.c, CPACE_RESPONDER, tb), MESH_OK);
    assert_memory_not_equal(ta, tb, PAIRKEY_TAG_LEN); /* a tag cannot be reflected */
    assert_int_equal(pairkey_check(p.b.c, ta, sizeof(ta)), MESH_OK);
    assert_int_equal(pairkey_check(p.a.c, tb, sizeof(tb)), MESH_OK);
    assert_int_equal(pairkey_check(p.a.c, ta, sizeof(ta)), MESH_EBADSIG);
    assert_int_equal(pairkey_check(p.a.c, tb, sizeof(tb) - 1), MESH_EBADSIG);

    assert_int_equal(pairkey_sign(p.a.c, p.a.id, sa), MESH_OK);
    assert_int_equal(pairkey_sign(p.b.c, p.b.id, sb), MESH_OK);
    assert_int_equal(pairkey_verify(p.b.c, sa, sizeof(sa)), MESH_OK);
    assert_int_equal(pairkey_verify(p.a.c, sb, sizeof(sb)), MESH_OK);
    /* a signature of the other role, a flipped bit, a short one */
    assert_int_equal(pairkey_verify(p.a.c, sa, sizeof(sa)), MESH_EBADSIG);
    sb[5] ^= 0x10;
    assert_int_equal(pairkey_verify(p.a.c, sb, sizeof(sb)), MESH_EBADSIG);
    assert_int_equal(pairkey_verify(p.a.c, sb, sizeof(sb) - 1), MESH_EBADSIG);
    /* signing with a key our AD does not name */
    assert_int_equal(pairkey_sign(p.a.c, p.b.id, sa), MESH_EINVAL);
    s_pair_free(&p);
}

static void
test_pairkey_wrong_code_fails_both_ways(void **state)
{
    s_pair_t p;
    uint8_t ta[PAIRKEY_TAG_LEN], tb[PAIRKEY_TAG_LEN];

    (void)state;
    s_pair_start(&p, S_PRS, "crystal-ladder-otter");
    assert_int_equal(
        cpace_finish(p.b.c, cpace_share(p.a.c), CPACE_POINT_LEN, p.a.ad, PAIRKEY_AD_LEN), MESH_OK);
    assert_int_equal(
        cpace_finish(p.a.c, cpace_share(p.b.c), CPACE_POINT_LEN, p.b.ad, PAIRKEY_AD_LEN), MESH_OK);
    assert_int_equal(pairkey_tag(p.a.c, CPACE_INITIATOR, ta), MESH_OK);
    assert_int_equal(pairkey_tag(p.b.c, CPACE_RESPONDER, tb), MESH_OK);
    assert_int_equal(pairkey_check(p.b.c, ta, sizeof(ta)), MESH_EBADSIG);
    assert_int_equal(pairkey_check(p.a.c, tb, sizeof(tb)), MESH_EBADSIG);
    s_pair_free(&p);
}

/* Flip each bit-0 of each byte of one field under a fixed ISK: the tag must change. */
static void
s_flip_each(uint8_t *field, size_t len, const uint8_t *isk, uint8_t *sid, uint8_t *ya, uint8_t *ada,
            uint8_t *yb, uint8_t *adb, const uint8_t *tag_ref)
{
    uint8_t tag[PAIRKEY_TAG_LEN];
    size_t i;

    for (i = 0; i < len; i++) {
        field[i] ^= 0x01;
        assert_int_equal(pairkey_tag_compute(isk, sid, PAIRKEY_SID_LEN, ya, ada, PAIRKEY_AD_LEN, yb,
                                             adb, PAIRKEY_AD_LEN, CPACE_INITIATOR, tag),
                         MESH_OK);
        if (sodium_memcmp(tag, tag_ref, PAIRKEY_TAG_LEN) == 0) {
            fail_msg("byte %zu flipped, same tag", i);
        }
        field[i] ^= 0x01;
    }
}

static void
test_pairkey_tag_binds_every_transcript_byte(void **state)
{
    uint8_t isk[CPACE_ISK_LEN], sid[PAIRKEY_SID_LEN], ya[32], yb[32];
    uint8_t ada[PAIRKEY_AD_LEN], adb[PAIRKEY_AD_LEN], ref[PAIRKEY_TAG_LEN], tag[PAIRKEY_TAG_LEN];

    (void)state;
    randombytes_buf(isk, sizeof(isk));
    randombytes_buf(sid, sizeof(sid));
    randombytes_buf(ya, sizeof(ya));
    randombytes_buf(yb, sizeof(yb));
    randombytes_buf(ada, sizeof(ada));
    randombytes_buf(adb, sizeof(adb));
    assert_int_equal(pairkey_tag_compute(isk, sid, sizeof(sid), ya, ada, sizeof(ada), yb, adb,
                                         sizeof(adb), CPACE_INITIATOR, ref),
                     MESH_OK);
    s_flip_each(sid, sizeof(sid), isk, sid, ya, ada, yb, adb, ref);
    s_flip_each(ya, sizeof(ya), isk, sid, ya, ada, yb, adb, ref);
    s_flip_each(ada, sizeof(ada), isk, sid, ya, ada, yb, adb, ref);
    s_flip_each(yb, sizeof(yb), isk, sid, ya, ada, yb, adb, ref);
    s_flip_each(adb, sizeof(adb), isk, sid, ya, ada, yb, adb, ref);
    s_flip_each(isk, sizeof(isk), isk, sid, ya, ada, yb, adb, ref);
    /* both devices' keys swapped between ADa and ADb: another tag */
    assert_int_equal(pairkey_tag_compute(isk, sid, sizeof(sid), ya, adb, sizeof(adb), yb, ada,
                                         sizeof(ada), CPACE_INITIATOR, tag),
                     MESH_OK);
    assert_memory_not_equal(tag, ref, PAIRKEY_TAG_LEN);
    /* the two roles' tags differ */
    assert_int_equal(pairkey_tag_compute(isk, sid, sizeof(sid), ya, ada, sizeof(ada), yb, adb,
                                         sizeof(adb), CPACE_RESPONDER, tag),
                     MESH_OK);
    assert_memory_not_equal(tag, ref, PAIRKEY_TAG_LEN);
}

/* One exchange whose message from who has byte pos of (share || AD) flipped in transit.
 * Returns 1 when the side receiving it refuses (its finish fails, or the sender's tag
 * does not check), 0 when the corruption went unnoticed. */
static int
s_flipped_in_transit_refused(cpace_role_t who, size_t pos)
{
    s_pair_t p;
    uint8_t msg[CPACE_POINT_LEN + PAIRKEY_AD_LEN], tag[PAIRKEY_TAG_LEN];
    s_side_t *from, *to;
    int refused;

    s_pair_start(&p, S_PRS, S_PRS);
    from = who == CPACE_INITIATOR ? &p.a : &p.b;
    to = who == CPACE_INITIATOR ? &p.b : &p.a;
    memcpy(msg, cpace_share(from->c), CPACE_POINT_LEN);
    memcpy(msg + CPACE_POINT_LEN, from->ad, PAIRKEY_AD_LEN);
    msg[pos] ^= 0x01;
    /* the sender sees the true message from its peer */
    assert_int_equal(
        cpace_finish(from->c, cpace_share(to->c), CPACE_POINT_LEN, to->ad, PAIRKEY_AD_LEN),
        MESH_OK);
    if (cpace_finish(to->c, msg, CPACE_POINT_LEN, msg + CPACE_POINT_LEN, PAIRKEY_AD_LEN) !=
        MESH_OK) {
        refused = 1;
    } else {
        assert_int_equal(pairkey_tag(from->c, who, tag), MESH_OK);
        refused = pairkey_check(to->c, tag, sizeof(tag)) == MESH_EBADSIG;
    }
    s_pair_free(&p);
    return refused;
}

static void
test_pairkey_flip_in_transit_fails_confirmation(void **state)
{
    size_t pos;

    (void)state;
    for (pos = 0; pos < CPACE_POINT_LEN + PAIRKEY_AD_LEN; pos++) {
        if (!s_flipped_in_transit_refused(CPACE_INITIATOR, pos)) {
            fail_msg("byte %zu of the initiator's message flipped, confirmed", pos);
        }
        if (!s_flipped_in_transit_refused(CPACE_RESPONDER, pos)) {
            fail_msg("byte %zu of the responder's message flipped, confirmed", pos);
        }
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pairkey_ad_round_trip_and_refusals),
        cmocka_unit_test(test_pairkey_ci_layout),
        cmocka_unit_test(test_pairkey_right_code_confirms_and_signs),
        cmocka_unit_test(test_pairkey_wrong_code_fails_both_ways),
        cmocka_unit_test(test_pairkey_tag_binds_every_transcript_byte),
        cmocka_unit_test(test_pairkey_flip_in_transit_fails_confirmation),
    };

    if (sodium_init() < 0)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
