/* crypto/cpace.c: CPace over libsodium's ristretto255 with SHA-512 (draft-irtf-cfrg-cpace-21,
 * §7, §8.1, §8.3 and Appendix A), initiator-responder setting (docs/PROTOCOL.md §15).
 * Owns: the generator string and its hash, shares, the verified scalar multiplication, the
 * ISK, and one exchange's state in sodium_malloc'd memory.
 * Not here: PRS/CI/sid/AD contents and confirmation (crypto/pairkey.c).
 * Layer: crypto. Third-party: sodium.h. SPDX-License-Identifier: MIT */
#include "cpace.h"

#include "ident.h"

#include <sodium.h>

#include <string.h>

#define S_DSI          "CPaceRistretto255"     /* G_Ristretto255.DSI */
#define S_DSI_ISK      "CPaceRistretto255_ISK" /* G.DSI || b"_ISK" */
#define S_SHA512_BLOCK 128u                    /* H.s_in_bytes of SHA-512 */

struct cpace {
    cpace_role_t role;
    int state;                         /* S_STARTED, S_DONE or S_FAILED */
    uint8_t y[CPACE_SCALAR_LEN];       /* our scalar; wiped by cpace_finish */
    uint8_t share[2][CPACE_POINT_LEN]; /* Ya, Yb (ours at [role]) */
    uint8_t ad[2][CPACE_INPUT_MAX];    /* ADa, ADb */
    size_t ad_len[2];
    uint8_t sid[CPACE_INPUT_MAX];
    size_t sid_len;
    uint8_t isk[CPACE_ISK_LEN];
};

enum { S_STARTED = 1, S_DONE = 2, S_FAILED = 3 };

size_t
cpace_len_prefix(size_t len, uint8_t *out)
{
    size_t n = 0;

    do {
        uint8_t byte = (uint8_t)(len & 0x7f);

        len >>= 7;
        out[n++] = (uint8_t)(len != 0 ? byte | 0x80 : byte);
    } while (len != 0);
    return n;
}

/* Feed prepend_len(bytes) to st: one field of lv_cat. */
static void
s_hash_lv(crypto_hash_sha512_state *st, const void *bytes, size_t len)
{
    uint8_t prefix[CPACE_LEN_PREFIX_MAX];
    size_t n = cpace_len_prefix(len, prefix);

    crypto_hash_sha512_update(st, prefix, n);
    if (len > 0) {
        crypto_hash_sha512_update(st, bytes, len);
    }
}

/* A (ptr, len) input is acceptable: within the cap, and not NULL with a length. */
static int
s_input_ok(const void *p, size_t len)
{
    return len <= CPACE_INPUT_MAX && (p != NULL || len == 0);
}

mesh_err_t
cpace_generator(const uint8_t *prs, size_t prs_len, const uint8_t *ci, size_t ci_len,
                const uint8_t *sid, size_t sid_len, uint8_t *g)
{
    static const uint8_t zeros[S_SHA512_BLOCK];
    crypto_hash_sha512_state st;
    uint8_t hash[crypto_hash_sha512_BYTES];
    uint8_t scratch[CPACE_LEN_PREFIX_MAX];
    size_t dsi_len = sizeof(S_DSI) - 1, zpad = 0;
    size_t used;

    if (g == NULL || prs_len == 0 || !s_input_ok(prs, prs_len) || !s_input_ok(ci, ci_len) ||
        !s_input_ok(sid, sid_len))
        return MESH_EINVAL;
    if (ident_lib_init() != MESH_OK)
        return MESH_EIO;
    /* len_zpad = MAX(0, s_in_bytes - len(prepend_len(PRS)) - len(prepend_len(DSI)) - 1):
     * DSI, PRS and the padding fill the first block, so its hash does not depend on the
     * length of a short PRS (draft §8.1). */
    used = cpace_len_prefix(prs_len, scratch) + prs_len + cpace_len_prefix(dsi_len, scratch) +
           dsi_len + 1;
    if (used < S_SHA512_BLOCK) {
        zpad = S_SHA512_BLOCK - used;
    }
    crypto_hash_sha512_init(&st);
    s_hash_lv(&st, S_DSI, dsi_len);
    s_hash_lv(&st, prs, prs_len);
    s_hash_lv(&st, zeros, zpad);
    s_hash_lv(&st, ci, ci_len);
    s_hash_lv(&st, sid, sid_len);
    crypto_hash_sha512_final(&st, hash);
    crypto_core_ristretto255_from_hash(g, hash);
    sodium_memzero(&st, sizeof(st));
    sodium_memzero(hash, sizeof(hash));
    return MESH_OK;
}

mesh_err_t
cpace_scalar_mult_vfy(const uint8_t *y, const uint8_t *x, uint8_t *out)
{
    if (y == NULL || x == NULL || out == NULL)
        return MESH_EINVAL;
    if (ident_lib_init() != MESH_OK)
        return MESH_EIO;
    /* RFC 9496 decoding refuses any string with bit 255 set (not a canonical field
     * element); libsodium 1.0.18's is_valid_point ignores that bit, so it is checked here:
     * otherwise two byte strings would name one share. The multiplication refuses a bad
     * encoding too, and fails when the product is the identity (G.I). */
    if ((x[CPACE_POINT_LEN - 1] & 0x80) != 0 || !crypto_core_ristretto255_is_valid_point(x) ||
        crypto_scalarmult_ristretto255(out, y, x) != 0) {
        memset(out, 0, CPACE_POINT_LEN);
        return MESH_EPROTO;
    }
    return MESH_OK;
}

mesh_err_t
cpace_isk(const uint8_t *sid, size_t sid_len, const uint8_t *k, const uint8_t *ya,
          const uint8_t *ada, size_t ada_len, const uint8_t *yb, const uint8_t *adb, size_t adb_len,
          uint8_t *isk)
{
    crypto_hash_sha512_state st;

    if (k == NULL || ya == NULL || yb == NULL || isk == NULL || !s_input_ok(sid, sid_len) ||
        !s_input_ok(ada, ada_len) || !s_input_ok(adb, adb_len))
        return MESH_EINVAL;
    crypto_hash_sha512_init(&st);
    s_hash_lv(&st, S_DSI_ISK, sizeof(S_DSI_ISK) - 1);
    s_hash_lv(&st, sid, sid_len);
    s_hash_lv(&st, k, CPACE_POINT_LEN);
    /* transcript_ir(Ya, ADa, Yb, ADb) = lv_cat(Ya, ADa) || lv_cat(Yb, ADb) */
    s_hash_lv(&st, ya, CPACE_POINT_LEN);
    s_hash_lv(&st, ada, ada_len);
    s_hash_lv(&st, yb, CPACE_POINT_LEN);
    s_hash_lv(&st, adb, adb_len);
    crypto_hash_sha512_final(&st, isk);
    sodium_memzero(&st, sizeof(st));
    return MESH_OK;
}

mesh_err_t
cpace_new(cpace_role_t role, const uint8_t *prs, size_t prs_len, const uint8_t *ci, size_t ci_len,
          const uint8_t *sid, size_t sid_len, const uint8_t *ad, size_t ad_len, cpace_t **out)
{
    cpace_t *c = NULL;
    uint8_t g[CPACE_POINT_LEN];
    mesh_err_t err;

    if (out == NULL)
        return MESH_EINVAL;
    *out = NULL;
    if ((role != CPACE_INITIATOR && role != CPACE_RESPONDER) || !s_input_ok(ad, ad_len))
        return MESH_EINVAL;
    if (ident_lib_init() != MESH_OK)
        return MESH_EIO;
    err = cpace_generator(prs, prs_len, ci, ci_len, sid, sid_len, g);
    if (err != MESH_OK)
        return err;
    c = sodium_malloc(sizeof(*c));
    if (c == NULL) {
        err = MESH_ENOMEM;
        goto out;
    }
    memset(c, 0, sizeof(*c));
    c->role = role;
    /* Y = y * g with y uniform in 1..order-1 (draft §8.3 allows this sampling); a g whose
     * product is the identity cannot come out of the element derivation but is refused. */
    crypto_core_ristretto255_scalar_random(c->y);
    if (crypto_scalarmult_ristretto255(c->share[role], c->y, g) != 0) {
        err = MESH_EPROTO;
        goto out;
    }
    if (ad_len > 0) {
        memcpy(c->ad[role], ad, ad_len);
    }
    c->ad_len[role] = ad_len;
    if (sid_len > 0) {
        memcpy(c->sid, sid, sid_len);
    }
    c->sid_len = sid_len;
    c->state = S_STARTED;
    *out = c;
    c = NULL;
out:
    sodium_memzero(g, sizeof(g));
    cpace_free(c);
    return err;
}

const uint8_t *
cpace_share(const cpace_t *c)
{
    return c != NULL ? c->share[c->role] : NULL;
}

mesh_err_t
cpace_finish(cpace_t *c, const uint8_t *peer_share, size_t peer_len, const uint8_t *peer_ad,
             size_t peer_ad_len)
{
    uint8_t k[CPACE_POINT_LEN];
    int peer;
    mesh_err_t err;

    if (c == NULL || (peer_share == NULL && peer_len > 0) || (peer_ad == NULL && peer_ad_len > 0))
        return MESH_EINVAL;
    if (c->state != S_STARTED)
        return MESH_ESTATE;
    peer = c->role == CPACE_INITIATOR ? CPACE_RESPONDER : CPACE_INITIATOR;
    c->state = S_FAILED;
    if (peer_len != CPACE_POINT_LEN) {
        err = MESH_EPROTO;
        goto out;
    }
    if (peer_ad_len > CPACE_INPUT_MAX) {
        err = MESH_ETOOBIG;
        goto out;
    }
    /* Our own share sent back would give K = y^2 g, which is not an attack on the code,
     * but a party talking to itself is never a pairing. */
    if (sodium_memcmp(peer_share, c->share[c->role], CPACE_POINT_LEN) == 0) {
        err = MESH_EPROTO;
        goto out;
    }
    err = cpace_scalar_mult_vfy(c->y, peer_share, k);
    if (err != MESH_OK)
        goto out;
    memcpy(c->share[peer], peer_share, CPACE_POINT_LEN);
    if (peer_ad_len > 0) {
        memcpy(c->ad[peer], peer_ad, peer_ad_len);
    }
    c->ad_len[peer] = peer_ad_len;
    err = cpace_isk(c->sid, c->sid_len, k, c->share[0], c->ad[0], c->ad_len[0], c->share[1],
                    c->ad[1], c->ad_len[1], c->isk);
    if (err == MESH_OK) {
        c->state = S_DONE;
    }
out:
    sodium_memzero(c->y, sizeof(c->y));
    sodium_memzero(k, sizeof(k));
    return err;
}

const uint8_t *
cpace_isk_get(const cpace_t *c)
{
    return c != NULL && c->state == S_DONE ? c->isk : NULL;
}

const uint8_t *
cpace_sid(const cpace_t *c, size_t *len)
{
    if (c == NULL || c->state != S_DONE) {
        if (len != NULL) {
            *len = 0;
        }
        return NULL;
    }
    if (len != NULL) {
        *len = c->sid_len;
    }
    return c->sid;
}

const uint8_t *
cpace_transcript_share(const cpace_t *c, cpace_role_t who)
{
    if (c == NULL || c->state != S_DONE || (who != CPACE_INITIATOR && who != CPACE_RESPONDER))
        return NULL;
    return c->share[who];
}

const uint8_t *
cpace_transcript_ad(const cpace_t *c, cpace_role_t who, size_t *len)
{
    if (c == NULL || c->state != S_DONE || (who != CPACE_INITIATOR && who != CPACE_RESPONDER)) {
        if (len != NULL) {
            *len = 0;
        }
        return NULL;
    }
    if (len != NULL) {
        *len = c->ad_len[who];
    }
    return c->ad[who];
}

cpace_role_t
cpace_role(const cpace_t *c)
{
    return c != NULL ? c->role : CPACE_INITIATOR;
}

void
cpace_free(cpace_t *c)
{
    if (c == NULL)
        return;
    /* sodium_free wipes the region before it unmaps it. */
    sodium_free(c);
}
