/* core/member/peer.c: the peer calls of the public API (mesh_peer_add, mesh_peer_remove,
 * mesh_peers and its list). Owns: turning a caller's device ID, name and addresses into an
 * add record in "_mesh", a device ID into an rm record, and folding the records of each member into
 * one mesh_peer_t (every address, any length: nothing is cut to fit). Not here: the record format
 * and the member view (core/member/member.c). Layer: core (member). Third-party: none.
 * SPDX-License-Identifier: MIT */
#include "core/member/peer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/node.h"
#include "core/base/testhook.h"
#include "core/data/txn.h"
#include "core/member/addr.h"
#include "core/member/member.h"
#include "core/member/removal.h"
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
    if (member_id_parse(m, id, pk) != MESH_OK) {
        return MESH_EBADID;
    }
    /* Records are "key=value" lines: a name or address must not smuggle in another line,
     * and an address is one space-free token (docs/PROTOCOL.md §8). */
    if (name && (strlen(name) > MEMBER_NAME_MAX || strpbrk(name, "\n\r"))) {
        return node_fail(m, MESH_EINVAL, "a name is one line of at most %u bytes", MEMBER_NAME_MAX);
    }
    /* Test hook (PROTOCOL.md §11.2): write addresses unchecked, as a peer's record may hold. */
    bool check = testhook_number(TESTHOOK_ADDR_UNCHECKED, 0) != 1;
    for (size_t i = 0; i < addr_count; i++) {
        char why[256];
        if (!addrs[i] || !addrs[i][0] || strlen(addrs[i]) > MEMBER_ADDR_MAX ||
            strpbrk(addrs[i], " \t\n\r")) {
            return node_fail(m, MESH_EINVAL, "an address is one word of at most %u bytes",
                             MEMBER_ADDR_MAX);
        }
        if (check &&
            addr_parse(addrs[i], strlen(addrs[i]), false, NULL, why, sizeof why) != MESH_OK) {
            return node_fail(m, MESH_EINVAL, "%s", why);
        }
    }
    if (addr_count > MEMBER_ADDRS_MAX) {
        return node_fail(m, MESH_ETOOBIG, "more than %u addresses", MEMBER_ADDRS_MAX);
    }
    devid_format(pk, canon);
    if (member_removed(m, pk)) {
        return node_fail(m, MESH_EUNPAIRED,
                         "%s was removed from the mesh: a removed device never comes back "
                         "(it needs a new identity: meshctl init in a new home)",
                         canon);
    }
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
    mesh_err_t err = member_record_put(m, key, (size_t)klen, value, len);
    free(value);
    if (err == MESH_OK) {
        err = member_reload(m);
    }
    /* id's sets held back so far apply now, not at the next membership change (§8). */
    if (err == MESH_OK && m->held_retry && (err = m->held_retry(m)) != MESH_OK) {
        char why[NODE_ERRMSG_MAX];
        snprintf(why, sizeof why, "%s", mesh_errmsg(m));
        node_fail(m, err,
                  "%s was added, but its held-back sets were not applied (adding it again "
                  "retries them): %s",
                  canon, why);
    }
    return err;
}

mesh_err_t
mesh_peer_remove(mesh_t *m, const char *id)
{
    uint8_t pk[WIRE_ORIGIN_LEN];
    char canon[MESH_ID_TEXT_LEN + 1], key[16 + 2 * MESH_ID_TEXT_LEN];
    if (!m || !id) {
        return MESH_EINVAL;
    }
    node_clear_err(m);
    mesh_err_t err = member_id_parse(m, id, pk);
    if (err != MESH_OK) {
        return err;
    }
    devid_format(pk, canon);
    int klen = snprintf(key, sizeof key, REMOVAL_RM_PREFIX "%s/%s", canon, m->id_text);
    void *old = NULL;
    size_t old_len = 0;
    err = mesh_get(m, MEMBER_COLL, key, (size_t)klen, &old, &old_len);
    mesh_free(old);
    if (err == MESH_OK || member_removed(m, pk)) {
        node_clear_err(m);
        return member_reload(m); /* removed already (its cut is published at the reload) */
    }
    err = member_record_put(m, key, (size_t)klen, "", 0);
    if (err == MESH_OK) {
        err = member_reload(m); /* the view, and this device's frozen record of it */
    }
    /* sets held back by the cut may be decided now (a mesh of two: at once) */
    if (err == MESH_OK && m->held_retry) {
        err = m->held_retry(m);
    }
    return err;
}

/* One member as mesh_peers builds it: the public struct first (mesh_peer_list_get hands
 * out &pub), then the memory its pointers point at. Every string is the list's own copy. */
typedef struct s_peer_entry {
    mesh_peer_t pub;
    char *name;          /* the first name a record gives, or NULL */
    char **addrs;        /* every address, in the order found, none twice */
    size_t naddrs;       /* addresses in addrs */
    size_t cap;          /* room in addrs */
    char *text;          /* the addresses space-separated, built last (peer_list_addrs_text) */
    size_t ignored;      /* addresses its records give that are not tcp://HOST:PORT (addr.h) */
    char *ignored_first; /* the first of them, or NULL */
} s_peer_entry_t;

struct mesh_peer_list {
    size_t count;
    s_peer_entry_t *items;
};

/* A NUL-terminated copy of len bytes of s, or NULL. */
static char *
s_strndup(const uint8_t *s, size_t len)
{
    char *d = malloc(len + 1);
    if (d) {
        memcpy(d, s, len);
        d[len] = '\0';
    }
    return d;
}

/* Append an address (len bytes) to the peer's list unless it is there already. */
static mesh_err_t
s_addr_add(s_peer_entry_t *e, const uint8_t *addr, size_t len)
{
    for (size_t i = 0; i < e->naddrs; i++) {
        if (strlen(e->addrs[i]) == len && memcmp(e->addrs[i], addr, len) == 0) {
            return MESH_OK;
        }
    }
    if (e->naddrs == e->cap) {
        size_t cap = e->cap ? e->cap * 2 : 4;
        char **a = realloc(e->addrs, cap * sizeof *a);
        if (!a) {
            return MESH_ENOMEM;
        }
        e->addrs = a;
        e->cap = cap;
    }
    char *copy = s_strndup(addr, len);
    if (!copy) {
        return MESH_ENOMEM;
    }
    e->addrs[e->naddrs++] = copy;
    return MESH_OK;
}

/* Fold one record's "name=" and "addr=" lines into the peer: the first name found stays,
 * every address of the tcp://HOST:PORT form is kept (whatever its length: nothing is cut to
 * fit), and the others are counted, never listed. */
static mesh_err_t
s_peer_fold(s_peer_entry_t *e, const uint8_t *v, size_t len)
{
    mesh_err_t err = MESH_OK;
    size_t pos = 0;
    while (err == MESH_OK && pos < len) {
        const uint8_t *nl = memchr(v + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - v) : len;
        size_t n = end - pos;
        if (n > 5 && memcmp(v + pos, "name=", 5) == 0 && !e->name) {
            e->name = s_strndup(v + pos + 5, n - 5);
            err = e->name ? MESH_OK : MESH_ENOMEM;
        } else if (n > 5 && memcmp(v + pos, "addr=", 5) == 0) {
            /* a record from the network may carry anything: keep only what may be dialled */
            if (addr_is_valid((const char *)v + pos + 5, n - 5)) {
                err = s_addr_add(e, v + pos + 5, n - 5);
            } else if (e->ignored++ == 0) {
                e->ignored_first = s_strndup(v + pos + 5, n - 5);
                err = e->ignored_first ? MESH_OK : MESH_ENOMEM;
            }
        }
        pos = end + 1;
    }
    return err;
}

/* Point the entry's public struct at what it holds, and join its addresses into text. */
static mesh_err_t
s_peer_finish(s_peer_entry_t *e)
{
    size_t len = 1;
    for (size_t i = 0; i < e->naddrs; i++) {
        len += strlen(e->addrs[i]) + 1;
    }
    e->text = malloc(len);
    if (!e->text) {
        return MESH_ENOMEM;
    }
    size_t used = 0;
    for (size_t i = 0; i < e->naddrs; i++) {
        size_t n = strlen(e->addrs[i]);
        if (i) {
            e->text[used++] = ' ';
        }
        memcpy(e->text + used, e->addrs[i], n);
        used += n;
    }
    e->text[used] = '\0';
    e->pub.size = sizeof e->pub;
    e->pub.name = e->name ? e->name : "";
    e->pub.addr_count = e->naddrs;
    e->pub.addrs = (const char *const *)e->addrs;
    return MESH_OK;
}

/* Fold the "_mesh" records into the members' entries: genesis records first (a device's own
 * name wins), then this device's own add records (the addresses it was told last come
 * first), then everyone else's. */
static mesh_err_t
s_peers_fold(mesh_t *m, uint8_t (*keys)[32], s_peer_entry_t *items, size_t n)
{
    mesh_iter_t *it = NULL;
    const uint8_t *k = NULL, *v = NULL;
    size_t kl = 0, vl = 0;
    mesh_err_t err = MESH_OK;
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
            for (size_t i = 0; err == MESH_OK && i < n; i++) {
                if (memcmp(keys[i], subject, WIRE_ORIGIN_LEN) == 0) {
                    err = s_peer_fold(&items[i], v, vl);
                }
            }
        }
    }
    mesh_iter_close(it);
    return err;
}

mesh_err_t
mesh_peers(mesh_t *m, mesh_peer_list_t **out)
{
    if (out) {
        *out = NULL;
    }
    if (!m || !out) {
        return MESH_EINVAL;
    }
    uint8_t(*keys)[32] = NULL, (*gone)[32] = NULL;
    size_t n = 0, ngone = 0, nself = 0;
    uint64_t gen = 0;
    if (member_keys_copy(m, &keys, &n, &gen) != MESH_OK ||
        member_removed_copy(m, &gone, &ngone) != MESH_OK) {
        free(keys);
        return MESH_ENOMEM;
    }
    /* the removed after the members (this device is among the members: it says so) */
    uint8_t(*all)[32] = realloc(keys, (n + ngone + 1) * sizeof *all);
    if (!all) {
        free(keys);
        free(gone);
        return MESH_ENOMEM;
    }
    keys = all;
    for (size_t i = 0; i < ngone; i++) {
        if (memcmp(gone[i], ident_public_key(m->ident), 32) != 0) {
            memcpy(keys[n++], gone[i], 32);
        } else {
            nself = 1;
        }
    }
    free(gone);
    mesh_peer_list_t *list = calloc(1, sizeof *list);
    s_peer_entry_t *items = calloc(n ? n : 1, sizeof *items);
    if (!list || !items) {
        free(items);
        free(list);
        free(keys);
        return MESH_ENOMEM;
    }
    list->items = items;
    list->count = n;
    for (size_t i = 0; i < n; i++) {
        devid_format(keys[i], items[i].pub.id);
        items[i].pub.self = memcmp(keys[i], ident_public_key(m->ident), 32) == 0;
        items[i].pub.removed = (items[i].pub.self && nself) || member_removed(m, keys[i]);
    }
    mesh_err_t err = s_peers_fold(m, keys, items, n);
    for (size_t i = 0; err == MESH_OK && i < n; i++) {
        err = s_peer_finish(&items[i]);
    }
    free(keys);
    if (err != MESH_OK) {
        mesh_peer_list_free(list);
        return err;
    }
    *out = list;
    return MESH_OK;
}

size_t
mesh_peer_list_count(const mesh_peer_list_t *list)
{
    return list ? list->count : 0;
}

const mesh_peer_t *
mesh_peer_list_get(const mesh_peer_list_t *list, size_t i)
{
    return list && i < list->count ? &list->items[i].pub : NULL;
}

const char *
peer_list_addrs_text(const mesh_peer_list_t *list, size_t i)
{
    return list && i < list->count ? list->items[i].text : NULL;
}

size_t
peer_list_ignored(const mesh_peer_list_t *list, size_t i, const char **first)
{
    *first = list && i < list->count ? list->items[i].ignored_first : NULL;
    return list && i < list->count ? list->items[i].ignored : 0;
}

void
mesh_peer_list_free(mesh_peer_list_t *list)
{
    if (!list) {
        return;
    }
    for (size_t i = 0; i < list->count; i++) {
        s_peer_entry_t *e = &list->items[i];
        for (size_t j = 0; j < e->naddrs; j++) {
            free(e->addrs[j]);
        }
        free(e->addrs);
        free(e->name);
        free(e->text);
        free(e->ignored_first);
    }
    free(list->items);
    free(list);
}
