/* crypto/pairkey.c: the inputs meshsync gives CPace for pairing, and the confirmation
 * tags and signatures over the transcript (docs/PROTOCOL.md §15).
 * Owns: the AD layout, CI, sid, mac_key and the tags, the signed transcript digest.
 * Not here: CPace (crypto/cpace.c), the code text (crypto/paircode.c).
 * Layer: crypto. Third-party: sodium.h. SPDX-License-Identifier: MIT */
#include "pairkey.h"

#include <sodium.h>

#include <stdio.h>
#include <string.h>

#define S_CI_LABEL    "meshsync-pair-v1"
#define S_MAC_LABEL   "CPaceMac" /* draft §10.4 */
#define S_TAG_LABEL_A "meshsync-pair-confirm-initiator"
#define S_TAG_LABEL_B "meshsync-pair-confirm-responder"
#define S_SIG_LABEL   "meshsync-pair-sig-v1"
#define S_SIG_MSG_LEN (sizeof(S_SIG_LABEL) - 1 + 1 + crypto_hash_sha512_BYTES)

mesh_err_t
pairkey_ad_encode(const uint8_t *ed_pk, uint8_t *ad)
{
    if (ed_pk == NULL || ad == NULL)
        return MESH_EINVAL;
    memset(ad, 0, PAIRKEY_AD_LEN);
    ad[0] = PAIRKEY_AD_VERSION;
    memcpy(ad + 1, ed_pk, IDENT_PK_LEN);
    if (ident_curve_public(ed_pk, ad + 1 + IDENT_PK_LEN) != MESH_OK) {
        memset(ad, 0, PAIRKEY_AD_LEN);
        return MESH_EINVAL;
    }
    return MESH_OK;
}

mesh_err_t
pairkey_ad_decode(const uint8_t *ad, size_t len, uint8_t *ed_pk, uint8_t *curve_pk)
{
    uint8_t derived[IDENT_CURVE_LEN];

    if (ed_pk != NULL) {
        memset(ed_pk, 0, IDENT_PK_LEN);
    }
    if (curve_pk != NULL) {
        memset(curve_pk, 0, IDENT_CURVE_LEN);
    }
    if (ad == NULL || len != PAIRKEY_AD_LEN || ad[0] != PAIRKEY_AD_VERSION)
        return MESH_EPROTO;
    /* The CURVE key must be the one the Ed25519 key gives, so that the key the transport
     * authenticated and the ID that becomes a member are one device (§2). Public data:
     * a plain comparison. */
    if (ident_curve_public(ad + 1, derived) != MESH_OK ||
        memcmp(derived, ad + 1 + IDENT_PK_LEN, IDENT_CURVE_LEN) != 0)
        return MESH_EPROTO;
    if (ed_pk != NULL) {
        memcpy(ed_pk, ad + 1, IDENT_PK_LEN);
    }
    if (curve_pk != NULL) {
        memcpy(curve_pk, derived, IDENT_CURVE_LEN);
    }
    return MESH_OK;
}

mesh_err_t
pairkey_ci(unsigned nameplate, const uint8_t *curve_a, const uint8_t *curve_b, uint8_t *ci,
           size_t *ci_len)
{
    char digits[4];
    size_t pos = 0, n;

    if (ci_len != NULL) {
        *ci_len = 0;
    }
    if (nameplate < 1 || nameplate > 999 || curve_a == NULL || curve_b == NULL || ci == NULL ||
        ci_len == NULL)
        return MESH_EINVAL;
    n = (size_t)snprintf(digits, sizeof(digits), "%u", nameplate);
    /* Every field is shorter than 128 bytes, so each length prefix is one byte. */
    ci[pos++] = (uint8_t)(sizeof(S_CI_LABEL) - 1);
    memcpy(ci + pos, S_CI_LABEL, sizeof(S_CI_LABEL) - 1);
    pos += sizeof(S_CI_LABEL) - 1;
    ci[pos++] = (uint8_t)n;
    memcpy(ci + pos, digits, n);
    pos += n;
    ci[pos++] = IDENT_CURVE_LEN;
    memcpy(ci + pos, curve_a, IDENT_CURVE_LEN);
    pos += IDENT_CURVE_LEN;
    ci[pos++] = IDENT_CURVE_LEN;
    memcpy(ci + pos, curve_b, IDENT_CURVE_LEN);
    pos += IDENT_CURVE_LEN;
    *ci_len = pos;
    return MESH_OK;
}

void
pairkey_sid(const uint8_t *nonce_a, const uint8_t *nonce_b, uint8_t *sid)
{
    memcpy(sid, nonce_a, PAIRKEY_NONCE_LEN);
    memcpy(sid + PAIRKEY_NONCE_LEN, nonce_b, PAIRKEY_NONCE_LEN);
}

/* One field of lv_cat, fed to a SHA-512 state (mac NULL) or an HMAC-SHA-512 one. */
static void
s_lv(crypto_hash_sha512_state *st, crypto_auth_hmacsha512_state *mac, const void *bytes, size_t len)
{
    uint8_t prefix[CPACE_LEN_PREFIX_MAX];
    size_t n = cpace_len_prefix(len, prefix);

    if (mac != NULL) {
        crypto_auth_hmacsha512_update(mac, prefix, n);
        if (len > 0) {
            crypto_auth_hmacsha512_update(mac, bytes, len);
        }
        return;
    }
    crypto_hash_sha512_update(st, prefix, n);
    if (len > 0) {
        crypto_hash_sha512_update(st, bytes, len);
    }
}

/* Feed lv_cat(sid, Ya, ADa, Yb, ADb) to st or mac, as s_lv. */
static void
s_transcript(crypto_hash_sha512_state *st, crypto_auth_hmacsha512_state *mac, const uint8_t *sid,
             size_t sid_len, const uint8_t *ya, const uint8_t *ada, size_t ada_len,
             const uint8_t *yb, const uint8_t *adb, size_t adb_len)
{
    s_lv(st, mac, sid, sid_len);
    s_lv(st, mac, ya, CPACE_POINT_LEN);
    s_lv(st, mac, ada, ada_len);
    s_lv(st, mac, yb, CPACE_POINT_LEN);
    s_lv(st, mac, adb, adb_len);
}

mesh_err_t
pairkey_tag_compute(const uint8_t *isk, const uint8_t *sid, size_t sid_len, const uint8_t *ya,
                    const uint8_t *ada, size_t ada_len, const uint8_t *yb, const uint8_t *adb,
                    size_t adb_len, cpace_role_t who, uint8_t *tag)
{
    crypto_hash_sha512_state st;
    crypto_auth_hmacsha512_state mac;
    uint8_t mac_key[crypto_hash_sha512_BYTES];
    uint8_t full[crypto_auth_hmacsha512_BYTES];
    const char *label = who == CPACE_INITIATOR ? S_TAG_LABEL_A : S_TAG_LABEL_B;

    if (isk == NULL || ya == NULL || yb == NULL || tag == NULL ||
        (who != CPACE_INITIATOR && who != CPACE_RESPONDER) || sid_len > CPACE_INPUT_MAX ||
        ada_len > CPACE_INPUT_MAX || adb_len > CPACE_INPUT_MAX || (sid == NULL && sid_len > 0) ||
        (ada == NULL && ada_len > 0) || (adb == NULL && adb_len > 0))
        return MESH_EINVAL;
    crypto_hash_sha512_init(&st);
    crypto_hash_sha512_update(&st, (const uint8_t *)S_MAC_LABEL, sizeof(S_MAC_LABEL) - 1);
    if (sid_len > 0) {
        crypto_hash_sha512_update(&st, sid, sid_len);
    }
    crypto_hash_sha512_update(&st, isk, CPACE_ISK_LEN);
    crypto_hash_sha512_final(&st, mac_key);

    crypto_auth_hmacsha512_init(&mac, mac_key, sizeof(mac_key));
    s_lv(NULL, &mac, label, strlen(label));
    s_transcript(NULL, &mac, sid, sid_len, ya, ada, ada_len, yb, adb, adb_len);
    crypto_auth_hmacsha512_final(&mac, full);
    memcpy(tag, full, PAIRKEY_TAG_LEN);

    sodium_memzero(&st, sizeof(st));
    sodium_memzero(&mac, sizeof(mac));
    sodium_memzero(mac_key, sizeof(mac_key));
    sodium_memzero(full, sizeof(full));
    return MESH_OK;
}

mesh_err_t
pairkey_tag(const cpace_t *c, cpace_role_t who, uint8_t *tag)
{
    size_t sid_len, ada_len, adb_len;
    const uint8_t *isk = cpace_isk_get(c);
    const uint8_t *sid = cpace_sid(c, &sid_len);
    const uint8_t *ada = cpace_transcript_ad(c, CPACE_INITIATOR, &ada_len);
    const uint8_t *adb = cpace_transcript_ad(c, CPACE_RESPONDER, &adb_len);

    if (tag == NULL)
        return MESH_EINVAL;
    if (isk == NULL)
        return MESH_ESTATE;
    return pairkey_tag_compute(isk, sid, sid_len, cpace_transcript_share(c, CPACE_INITIATOR), ada,
                               ada_len, cpace_transcript_share(c, CPACE_RESPONDER), adb, adb_len,
                               who, tag);
}

mesh_err_t
pairkey_check(const cpace_t *c, const uint8_t *tag, size_t tag_len)
{
    uint8_t expect[PAIRKEY_TAG_LEN];
    cpace_role_t peer;
    mesh_err_t err;

    if (c == NULL || (tag == NULL && tag_len > 0))
        return MESH_EINVAL;
    if (cpace_isk_get(c) == NULL)
        return MESH_ESTATE;
    peer = cpace_role(c) == CPACE_INITIATOR ? CPACE_RESPONDER : CPACE_INITIATOR;
    err = pairkey_tag(c, peer, expect);
    if (err == MESH_OK && (tag_len != PAIRKEY_TAG_LEN || crypto_verify_32(expect, tag) != 0)) {
        err = MESH_EBADSIG;
    }
    sodium_memzero(expect, sizeof(expect));
    return err;
}

/* msg (S_SIG_MSG_LEN bytes) = label || role byte || SHA-512(lv_cat(sid, Ya, ADa, Yb, ADb)). */
static void
s_sig_message(const cpace_t *c, cpace_role_t who, uint8_t *msg)
{
    crypto_hash_sha512_state st;
    size_t sid_len, ada_len, adb_len;
    const uint8_t *sid = cpace_sid(c, &sid_len);
    const uint8_t *ada = cpace_transcript_ad(c, CPACE_INITIATOR, &ada_len);
    const uint8_t *adb = cpace_transcript_ad(c, CPACE_RESPONDER, &adb_len);

    memcpy(msg, S_SIG_LABEL, sizeof(S_SIG_LABEL) - 1);
    msg[sizeof(S_SIG_LABEL) - 1] = who == CPACE_INITIATOR ? 'A' : 'B';
    crypto_hash_sha512_init(&st);
    s_transcript(&st, NULL, sid, sid_len, cpace_transcript_share(c, CPACE_INITIATOR), ada, ada_len,
                 cpace_transcript_share(c, CPACE_RESPONDER), adb, adb_len);
    crypto_hash_sha512_final(&st, msg + sizeof(S_SIG_LABEL));
}

mesh_err_t
pairkey_sign(const cpace_t *c, const ident_t *id, uint8_t *sig)
{
    uint8_t msg[S_SIG_MSG_LEN];
    uint8_t ed_pk[IDENT_PK_LEN];
    size_t ad_len;
    const uint8_t *ad;

    if (c == NULL || id == NULL || sig == NULL)
        return MESH_EINVAL;
    if (cpace_isk_get(c) == NULL)
        return MESH_ESTATE;
    ad = cpace_transcript_ad(c, cpace_role(c), &ad_len);
    if (pairkey_ad_decode(ad, ad_len, ed_pk, NULL) != MESH_OK ||
        memcmp(ed_pk, ident_public_key(id), IDENT_PK_LEN) != 0)
        return MESH_EINVAL;
    s_sig_message(c, cpace_role(c), msg);
    ident_sign(id, msg, sizeof(msg), sig);
    return MESH_OK;
}

mesh_err_t
pairkey_verify(const cpace_t *c, const uint8_t *sig, size_t sig_len)
{
    uint8_t msg[S_SIG_MSG_LEN];
    uint8_t ed_pk[IDENT_PK_LEN];
    cpace_role_t peer;
    size_t ad_len;
    const uint8_t *ad;

    if (c == NULL || (sig == NULL && sig_len > 0))
        return MESH_EINVAL;
    if (cpace_isk_get(c) == NULL)
        return MESH_ESTATE;
    peer = cpace_role(c) == CPACE_INITIATOR ? CPACE_RESPONDER : CPACE_INITIATOR;
    ad = cpace_transcript_ad(c, peer, &ad_len);
    if (pairkey_ad_decode(ad, ad_len, ed_pk, NULL) != MESH_OK)
        return MESH_EPROTO;
    if (sig_len != IDENT_SIG_LEN)
        return MESH_EBADSIG;
    s_sig_message(c, peer, msg);
    return ident_verify(ed_pk, msg, sizeof(msg), sig);
}
