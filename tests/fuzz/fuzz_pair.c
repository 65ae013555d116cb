/* tests/fuzz/fuzz_pair.c: libFuzzer harness for the pairing inputs a stranger controls
 * (docs/PROTOCOL.md §15): the code text a person types (paircode_parse), a peer's AD
 * (pairkey_ad_decode), a peer's CPace message (share || AD, into cpace_finish), and a peer's
 * confirmation tag and signature (pairkey_check, pairkey_verify) after an honest exchange
 * (the identities, CI and that exchange are made once per process).
 * Whatever parses must format back and parse to the same code; a refused input must leave
 * zeroed outputs; no input may confirm or verify (the harness's secrets are fixed, but a
 * fuzzer cannot compute a tag); any breach abort()s.
 * Built with tests/fuzz/check.c by `make fuzz` (clang, libFuzzer) and, with
 * tests/fuzz/replay.c, by gcc for `make test`. Seeds: corpus/pair/ (gen_corpus_pair.c).
 * Layer: tests. Third-party: none. SPDX-License-Identifier: MIT */
#include "check.h"

#include "crypto/cpace.h"
#include "crypto/ident.h"
#include "crypto/paircode.h"
#include "crypto/pairkey.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define S_PRS "crystal-ladder-orbit"

static ident_t *s_id_a;              /* the initiator's identity, made once per process */
static ident_t *s_id_b;              /* the responder's */
static uint8_t s_ci[PAIRKEY_CI_MAX]; /* CI over their CURVE keys */
static size_t s_ci_len;

static void
s_check_code(const uint8_t *data, size_t size)
{
    paircode_t code, back;
    char text[PAIRCODE_TEXT_LEN], why[96];
    uint8_t prs[PAIRCODE_PRS_MAX];
    mesh_err_t err = paircode_parse((const char *)data, size, &code, why, sizeof(why));

    if (err != MESH_OK) {
        CHECK(err == MESH_EINVAL || err == MESH_ENOTFOUND || err == MESH_ETOOBIG);
        CHECK(check_is_zero(&code, sizeof(code)));
        CHECK(memchr(why, '\0', sizeof(why)) != NULL && why[0] != '\0');
        return;
    }
    CHECK(code.nameplate >= 1 && code.nameplate <= PAIRCODE_NAMEPLATE_MAX);
    CHECK(paircode_format(&code, text, sizeof(text)) == MESH_OK);
    CHECK(paircode_parse(text, strlen(text), &back, NULL, 0) == MESH_OK);
    CHECK(back.nameplate == code.nameplate);
    CHECK(memcmp(back.words, code.words, PAIRCODE_WORDS) == 0);
    CHECK(paircode_prs(&code, prs) <= PAIRCODE_PRS_MAX);
}

static void
s_check_ad(const uint8_t *data, size_t size)
{
    uint8_t ed[IDENT_PK_LEN], curve[IDENT_CURVE_LEN], again[PAIRKEY_AD_LEN];

    if (pairkey_ad_decode(data, size, ed, curve) != MESH_OK) {
        CHECK(check_is_zero(ed, sizeof(ed)) && check_is_zero(curve, sizeof(curve)));
        return;
    }
    /* one AD per key: what decodes is what the key encodes to */
    CHECK(size == PAIRKEY_AD_LEN);
    CHECK(pairkey_ad_encode(ed, again) == MESH_OK);
    CHECK(memcmp(again, data, PAIRKEY_AD_LEN) == 0);
}

/* A fresh exchange in role, with the harness's fixed PRS, CI and sid and id's AD. */
static cpace_t *
s_start(cpace_role_t role, const ident_t *id)
{
    static const uint8_t sid[PAIRKEY_SID_LEN] = {1, 2, 3};
    uint8_t ad[PAIRKEY_AD_LEN], ci[PAIRKEY_CI_MAX], ca[IDENT_CURVE_LEN], cb[IDENT_CURVE_LEN];
    size_t ci_len;
    cpace_t *c = NULL;

    CHECK(ident_curve_public(ident_public_key(s_id_a), ca) == MESH_OK);
    CHECK(ident_curve_public(ident_public_key(s_id_b), cb) == MESH_OK);
    CHECK(pairkey_ci(7, ca, cb, ci, &ci_len) == MESH_OK);
    CHECK(pairkey_ad_encode(ident_public_key(id), ad) == MESH_OK);
    CHECK(cpace_new(role, (const uint8_t *)S_PRS, strlen(S_PRS), ci, ci_len, sid, sizeof(sid), ad,
                    sizeof(ad), &c) == MESH_OK);
    return c;
}

/* The input as the initiator's message (share || AD) to a responder, and as the whole
 * share (its length checked); then as the initiator's tag and signature. */
static void
s_check_message(const uint8_t *data, size_t size)
{
    cpace_t *b = s_start(CPACE_RESPONDER, s_id_b);
    mesh_err_t err;

    if (size >= CPACE_POINT_LEN) {
        err =
            cpace_finish(b, data, CPACE_POINT_LEN, data + CPACE_POINT_LEN, size - CPACE_POINT_LEN);
    } else {
        err = cpace_finish(b, data, size, NULL, 0);
    }
    if (err != MESH_OK) {
        CHECK(err == MESH_EPROTO || err == MESH_ETOOBIG);
        CHECK(cpace_isk_get(b) == NULL);
        CHECK(pairkey_check(b, data, size) == MESH_ESTATE);
    } else {
        CHECK(cpace_isk_get(b) != NULL);
        CHECK(pairkey_check(b, data, size) == MESH_EBADSIG);
    }
    /* a spent exchange stays spent */
    CHECK(cpace_finish(b, data, size, NULL, 0) == MESH_ESTATE);
    cpace_free(b);
}

/* The input as the peer's tag and signature after an honest exchange (made once per
 * process: checks read a finished exchange and change nothing): never accepted. */
static void
s_check_confirmation(const uint8_t *data, size_t size)
{
    static cpace_t *a, *b;
    uint8_t tag[PAIRKEY_TAG_LEN];

    if (a == NULL) {
        uint8_t ad_a[PAIRKEY_AD_LEN], ad_b[PAIRKEY_AD_LEN];

        a = s_start(CPACE_INITIATOR, s_id_a);
        b = s_start(CPACE_RESPONDER, s_id_b);
        CHECK(pairkey_ad_encode(ident_public_key(s_id_a), ad_a) == MESH_OK);
        CHECK(pairkey_ad_encode(ident_public_key(s_id_b), ad_b) == MESH_OK);
        CHECK(cpace_finish(b, cpace_share(a), CPACE_POINT_LEN, ad_a, sizeof(ad_a)) == MESH_OK);
        CHECK(cpace_finish(a, cpace_share(b), CPACE_POINT_LEN, ad_b, sizeof(ad_b)) == MESH_OK);
    }
    CHECK(pairkey_check(a, data, size) == MESH_EBADSIG);
    CHECK(pairkey_check(b, data, size) == MESH_EBADSIG);
    CHECK(pairkey_verify(a, data, size) == MESH_EBADSIG);
    CHECK(pairkey_verify(b, data, size) == MESH_EBADSIG);
    /* and the honest tag still checks: the refusals above changed nothing */
    CHECK(pairkey_tag(a, CPACE_INITIATOR, tag) == MESH_OK);
    CHECK(pairkey_check(b, tag, sizeof(tag)) == MESH_OK);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (s_id_a == NULL) {
        uint8_t ca[IDENT_CURVE_LEN], cb[IDENT_CURVE_LEN];

        CHECK(ident_generate(&s_id_a) == MESH_OK);
        CHECK(ident_generate(&s_id_b) == MESH_OK);
        CHECK(ident_curve_public(ident_public_key(s_id_a), ca) == MESH_OK);
        CHECK(ident_curve_public(ident_public_key(s_id_b), cb) == MESH_OK);
        CHECK(pairkey_ci(7, ca, cb, s_ci, &s_ci_len) == MESH_OK);
    }
    s_check_code(data, size);
    s_check_ad(data, size);
    s_check_message(data, size);
    s_check_confirmation(data, size);
    return 0;
}
