/* core/member/peer.c: the peer calls of the public API (mesh_peer_add, mesh_peers).
 * Owns: turning a caller's device ID, name and addresses into an add record in "_mesh", and
 * folding the records of each member into one mesh_peer_t.
 * Not here: the record format and the member view (core/member/member.c).
 * Layer: core (member). Third-party: none. SPDX-License-Identifier: MIT */
#include "core/member/peer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/node.h"
#include "core/data/txn.h"
#include "core/member/member.h"
#include "core/wire/set.h"
#include "crypto/devid.h"

mesh_err_t
mesh_peer_add(mesh_t *m, const char *id, const char *name, const char *const *addrs,
              size_t addr_count)
{
    uint8_t pk[WIRE_ORIGIN_LEN];
    char canon[MESH_ID_TEXT_LEN + 1], key[16 + 2 * MESH_ID_TEXT_LEN];
    if (!m || !id || (addr_count && !addrs)) {
        return MESH_EINVAL;
    }
    if (devid_parse(id, pk) != MESH_OK) {
        return node_fail(m, MESH_EBADID, "'%s' is not a valid device ID", id);
    }
    /* Records are "key=value" lines: a name or address must not smuggle in another line,
     * and an address is one space-free token (docs/PROTOCOL.md §8). */
    if (name && (strlen(name) > MEMBER_NAME_MAX || strpbrk(name, "\n\r"))) {
        return node_fail(m, MESH_EINVAL, "a name is one line of at most %u bytes", MEMBER_NAME_MAX);
    }
    for (size_t i = 0; i < addr_count; i++) {
        if (!addrs[i] || !addrs[i][0] || strlen(addrs[i]) > MEMBER_ADDR_MAX ||
            strpbrk(addrs[i], " \t\n\r")) {
            return node_fail(m, MESH_EINVAL, "an address is one word of at most %u bytes",
                             MEMBER_ADDR_MAX);
        }
    }
    if (addr_count > MEMBER_ADDRS_MAX) {
        return node_fail(m, MESH_ETOOBIG, "more than %u addresses", MEMBER_ADDRS_MAX);
    }
    devid_format(pk, canon);
    int klen = snprintf(key, sizeof key, "add/%s/%s", canon, m->id_text);
    size_t cap = 64 + (name ? strlen(name) : 0);
    for (size_t i = 0; i < addr_count; i++) {
        cap += strlen(addrs[i]) + 8;
    }
    char *value = malloc(cap);
    if (!value) {
        return MESH_ENOMEM;
    }
    size_t len = 0;
    if (name && name[0]) {
        len += (size_t)snprintf(value + len, cap - len, "name=%s\n", name);
    }
    for (size_t i = 0; i < addr_count; i++) {
        len += (size_t)snprintf(value + len, cap - len, "addr=%s\n", addrs[i]);
    }
    mesh_txn_t *txn = NULL;
    mesh_err_t err = txn_begin_system(m, MEMBER_COLL, &txn);
    if (err == MESH_OK) {
        err = mesh_put(txn, key, (size_t)klen, value, len);
    }
    err = err == MESH_OK ? mesh_txn_commit(&txn, NULL) : err;
    mesh_txn_abort(txn);
    free(value);
    if (err == MESH_OK) {
        err = member_reload(m);
    }
    return err;
}

/* Is the address (len bytes) already in the peer's space-separated list? */
static bool
s_addr_known(const mesh_peer_t *peer, const char *addr, size_t len)
{
    const char *p = peer->addrs;
    while (*p) {
        size_t n = strcspn(p, " ");
        if (n == len && memcmp(p, addr, len) == 0) {
            return true;
        }
        p += n + (p[n] == ' ');
    }
    return false;
}

/* Append an address to the peer's list unless it is there or does not fit. */
static void
s_addr_add(mesh_peer_t *peer, const char *addr, size_t len)
{
    size_t used = strlen(peer->addrs);
    if (s_addr_known(peer, addr, len) || used + len + 2 > sizeof peer->addrs) {
        return;
    }
    if (used) {
        peer->addrs[used++] = ' ';
    }
    memcpy(peer->addrs + used, addr, len);
    peer->addrs[used + len] = '\0';
}

/* Fold one record's "name=" and "addr=" lines into peer. */
static void
s_peer_fold(mesh_peer_t *peer, const uint8_t *v, size_t len)
{
    size_t pos = 0;
    while (pos < len) {
        const uint8_t *nl = memchr(v + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - v) : len;
        size_t n = end - pos;
        if (n > 5 && memcmp(v + pos, "name=", 5) == 0 && !peer->name[0]) {
            size_t c = n - 5 < sizeof peer->name - 1 ? n - 5 : sizeof peer->name - 1;
            memcpy(peer->name, v + pos + 5, c);
            peer->name[c] = '\0';
        } else if (n > 5 && memcmp(v + pos, "addr=", 5) == 0) {
            s_addr_add(peer, (const char *)v + pos + 5, n - 5);
        }
        pos = end + 1;
    }
}

mesh_err_t
mesh_peers(mesh_t *m, mesh_peer_t **out, size_t *count)
{
    if (out) {
        *out = NULL;
    }
    if (count) {
        *count = 0;
    }
    if (!m || !out || !count) {
        return MESH_EINVAL;
    }
    uint8_t(*keys)[32] = NULL;
    size_t n = 0;
    uint64_t gen = 0;
    if (member_keys_copy(m, &keys, &n, &gen) != MESH_OK) {
        return MESH_ENOMEM;
    }
    mesh_peer_t *peers = calloc(n ? n : 1, sizeof *peers);
    if (!peers) {
        free(keys);
        return MESH_ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        devid_format(keys[i], peers[i].id);
        peers[i].self = memcmp(keys[i], ident_public_key(m->ident), 32) == 0;
    }
    mesh_iter_t *it = NULL;
    const uint8_t *k = NULL, *v = NULL;
    size_t kl = 0, vl = 0;
    mesh_err_t err = mesh_iter_open(m, MEMBER_COLL, NULL, 0, &it);
    /* Genesis records first (a device's own name wins), then this device's own add
     * records (the addresses it was told last come first), then everyone else's. */
    const uint8_t *self = ident_public_key(m->ident);
    for (int pass = 0; err == MESH_OK && pass < 3; pass++) {
        const char *prefix = pass == 0 ? "genesis/" : "add/";
        mesh_iter_close(it);
        it = NULL;
        err = mesh_iter_open(m, MEMBER_COLL, prefix, strlen(prefix), &it);
        while (err == MESH_OK && mesh_iter_next(it, &k, &kl, &v, &vl, NULL) == MESH_OK) {
            uint8_t subject[WIRE_ORIGIN_LEN], signer[WIRE_ORIGIN_LEN];
            bool is_add = false;
            if (member_parse_key(k, kl, &is_add, subject, signer) != MESH_OK ||
                (pass > 0 && (memcmp(signer, self, WIRE_ORIGIN_LEN) == 0) != (pass == 1))) {
                continue;
            }
            for (size_t i = 0; i < n; i++) {
                if (memcmp(keys[i], subject, WIRE_ORIGIN_LEN) == 0) {
                    s_peer_fold(&peers[i], v, vl);
                }
            }
        }
    }
    mesh_iter_close(it);
    free(keys);
    if (err != MESH_OK) {
        free(peers);
        return err;
    }
    *out = peers;
    *count = n;
    return MESH_OK;
}
