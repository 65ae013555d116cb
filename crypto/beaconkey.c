/* crypto/beaconkey.c: the pairwise keys and tags of LAN beacons (docs/PROTOCOL.md §16.2).
 * Owns: the key derivation and the tag. Not here: the beacon's layout (transport/beacon.c).
 * Layer: crypto. Third-party: sodium.h. SPDX-License-Identifier: MIT */
#include "beaconkey.h"

#include <sodium.h>

#include <string.h>

#define S_KEY_LABEL "meshsync-beacon-key-v1"

mesh_err_t
beaconkey_derive(const ident_t *me, const uint8_t *peer_pk, uint8_t *key)
{
    uint8_t sk[IDENT_CURVE_LEN], pk[IDENT_CURVE_LEN], shared[crypto_scalarmult_BYTES];
    if (key == NULL) {
        return MESH_EINVAL;
    }
    memset(key, 0, BEACONKEY_LEN);
    if (me == NULL || peer_pk == NULL) {
        return MESH_EINVAL;
    }
    const uint8_t *own = ident_public_key(me);
    int order = memcmp(own, peer_pk, IDENT_PK_LEN);
    if (order == 0 || ident_curve_public(peer_pk, pk) != MESH_OK) {
        return MESH_EINVAL;
    }
    mesh_err_t err = ident_curve_secret(me, sk);
    /* crypto_scalarmult fails on a result of all zeros (a low-order point) */
    if (err == MESH_OK && crypto_scalarmult(shared, sk, pk) != 0) {
        err = MESH_EINVAL;
    }
    if (err == MESH_OK) {
        crypto_generichash_state st;
        crypto_generichash_init(&st, NULL, 0, BEACONKEY_LEN);
        crypto_generichash_update(&st, (const uint8_t *)S_KEY_LABEL, sizeof S_KEY_LABEL - 1);
        crypto_generichash_update(&st, shared, sizeof shared);
        crypto_generichash_update(&st, order < 0 ? own : peer_pk, IDENT_PK_LEN);
        crypto_generichash_update(&st, order < 0 ? peer_pk : own, IDENT_PK_LEN);
        crypto_generichash_final(&st, key, BEACONKEY_LEN);
        sodium_memzero(&st, sizeof st);
    }
    sodium_memzero(sk, sizeof sk);
    sodium_memzero(shared, sizeof shared);
    return err;
}

void
beaconkey_tag(const uint8_t *key, const void *msg, size_t msg_len, uint8_t *tag)
{
    crypto_generichash(tag, BEACONKEY_TAG, msg, msg_len, key, BEACONKEY_LEN);
}

bool
beaconkey_tag_equal(const uint8_t *a, const uint8_t *b)
{
    return sodium_memcmp(a, b, BEACONKEY_TAG) == 0;
}
