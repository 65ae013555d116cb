/* core/member/share.c: the sharing calls of the public API (mesh_share, mesh_unshare,
 * mesh_members and its list; include/meshsync.h). Owns: turning a caller's collection and
 * device IDs into signed access records in "_mesh", and listing who may hold a collection.
 * Not here: the record format and the rule (core/member/access.c), the member view
 * (core/member/member.c). Layer: core (member). Third-party: none.
 * SPDX-License-Identifier: MIT */
#include "core/member/share.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/node.h"
#include "core/data/txn.h"
#include "core/member/access.h"
#include "core/member/member.h"
#include "crypto/devid.h"

struct mesh_member_list {
    bool restricted;
    size_t count;
    char (*ids)[MESH_ID_TEXT_LEN + 1];
};

/* The access list of coll as this device holds it now. */
static mesh_err_t
s_list_now(mesh_t *m, const char *coll, access_list_t *list)
{
    store_txn_t *txn = NULL;
    mesh_err_t err = store_read_begin(m->store, &txn);
    if (err == MESH_OK) {
        err = access_list_load(txn, coll, list);
    }
    store_read_end(txn);
    return err == MESH_OK ? MESH_OK : node_fail_store(m, err, "read the access records");
}

mesh_err_t
share_may_hold(mesh_t *m, const char *coll, const uint8_t *pk, bool *yes)
{
    access_list_t list = {0};
    *yes = true;
    mesh_err_t err = s_list_now(m, coll, &list);
    *yes = err == MESH_OK && access_list_has(&list, pk);
    access_list_release(&list);
    return err;
}

/* Write one record "access/<coll>/<ID of pks[i]>/<own ID>" = value for each of pks[0..n), in
 * one change set. */
static mesh_err_t
s_write(mesh_t *m, const char *coll, uint8_t (*pks)[WIRE_ORIGIN_LEN], size_t n, const char *value)
{
    char key[sizeof ACCESS_PREFIX + MESH_COLL_MAX + 2 * (MESH_ID_TEXT_LEN + 1) + 1];
    mesh_txn_t *txn = NULL;
    mesh_err_t err = txn_begin_system(m, MEMBER_COLL, &txn);
    for (size_t i = 0; err == MESH_OK && i < n; i++) {
        char id[MESH_ID_TEXT_LEN + 1];
        devid_format(pks[i], id);
        int klen = snprintf(key, sizeof key, "%s%s/%s/%s", ACCESS_PREFIX, coll, id, m->id_text);
        err = mesh_put(txn, key, (size_t)klen, value, ACCESS_VALUE_LEN);
    }
    err = err == MESH_OK ? mesh_txn_commit(&txn, NULL) : err;
    mesh_txn_abort(txn);
    return err;
}

/* Check coll (a user collection) and that this device may decide of it: a list that is
 * made holds it. *list is coll's list. */
static mesh_err_t
s_prepare(mesh_t *m, const char *coll, access_list_t *list)
{
    mesh_err_t err = node_check_coll(m, coll, false);
    if (err == MESH_OK) {
        err = s_list_now(m, coll, list);
    }
    if (err == MESH_OK && !access_list_has(list, ident_public_key(m->ident))) {
        err = node_fail(m, MESH_ESTATE,
                        "this device is not in the access list of \"%s\": only a device that "
                        "may hold it shares or unshares it",
                        coll);
    }
    return err;
}

mesh_err_t
mesh_share(mesh_t *m, const char *coll, const char *const *ids, size_t count)
{
    if (!m || !coll || !ids || !count) {
        return MESH_EINVAL;
    }
    if (count > MESH_TXN_OPS_MAX) {
        return node_fail(m, MESH_ETOOBIG, "more than %u devices at once", MESH_TXN_OPS_MAX);
    }
    access_list_t list = {0};
    uint8_t(*pks)[WIRE_ORIGIN_LEN] = malloc((count + 1) * sizeof *pks);
    mesh_err_t err = pks ? s_prepare(m, coll, &list) : MESH_ENOMEM;
    for (size_t i = 0; err == MESH_OK && i < count; i++) {
        if (!ids[i]) {
            err = MESH_EINVAL;
        } else if ((err = member_id_parse(m, ids[i], pks[i])) == MESH_OK && !member_is(m, pks[i])) {
            err = node_fail(m, MESH_ENOTFOUND,
                            "%s is not a member of the mesh: add it first (meshctl peer add)",
                            ids[i]);
        }
    }
    /* The list this makes holds this device by a record of its own, which later records
     * about others (the same key, the same signer) never replace. */
    const uint8_t *self = ident_public_key(m->ident);
    bool named = false;
    for (size_t i = 0; err == MESH_OK && i < count; i++) {
        named = named || memcmp(pks[i], self, WIRE_ORIGIN_LEN) == 0;
    }
    if (err == MESH_OK && !list.restricted && !named) {
        memcpy(pks[count++], self, WIRE_ORIGIN_LEN);
    }
    if (err == MESH_OK) {
        err = s_write(m, coll, pks, count, ACCESS_GRANTED);
    }
    access_list_release(&list);
    free(pks);
    return err;
}

mesh_err_t
mesh_unshare(mesh_t *m, const char *coll, const char *id)
{
    if (!m || !coll || !id) {
        return MESH_EINVAL;
    }
    access_list_t list = {0};
    uint8_t pk[1][WIRE_ORIGIN_LEN];
    mesh_err_t err = s_prepare(m, coll, &list);
    if (err == MESH_OK && !list.restricted) {
        err = node_fail(m, MESH_ESTATE,
                        "\"%s\" has no access list, so every member may hold it: share it with "
                        "the devices that may first (meshctl share)",
                        coll);
    }
    if (err == MESH_OK) {
        err = member_id_parse(m, id, pk[0]);
    }
    if (err == MESH_OK) {
        err = s_write(m, coll, pk, 1, ACCESS_REVOKED);
    }
    access_list_release(&list);
    return err;
}

/* Byte order of device keys, for a stable listing. */
static int
s_key_cmp(const void *a, const void *b)
{
    return memcmp(a, b, WIRE_ORIGIN_LEN);
}

mesh_err_t
mesh_members(mesh_t *m, const char *coll, mesh_member_list_t **out)
{
    if (out) {
        *out = NULL;
    }
    if (!m || !out) {
        return MESH_EINVAL;
    }
    access_list_t list = {0};
    uint8_t(*keys)[WIRE_ORIGIN_LEN] = NULL;
    size_t n = 0;
    uint64_t gen = 0;
    mesh_err_t err = coll ? node_check_coll(m, coll, false) : MESH_OK;
    if (err == MESH_OK && coll) {
        err = s_list_now(m, coll, &list);
    }
    if (err == MESH_OK) {
        err = member_keys_copy(m, &keys, &n, &gen);
    }
    mesh_member_list_t *ml = err == MESH_OK ? calloc(1, sizeof *ml) : NULL;
    err = err == MESH_OK && !ml ? MESH_ENOMEM : err;
    if (err == MESH_OK) {
        ml->restricted = list.restricted;
        ml->ids = malloc((n ? n : 1) * sizeof *ml->ids);
        err = ml->ids ? MESH_OK : MESH_ENOMEM;
    }
    if (err == MESH_OK) {
        qsort(keys, n, sizeof *keys, s_key_cmp);
        for (size_t i = 0; i < n; i++) {
            if (access_list_has(&list, keys[i])) {
                devid_format(keys[i], ml->ids[ml->count++]);
            }
        }
        *out = ml;
    } else {
        mesh_member_list_free(ml);
    }
    free(keys);
    access_list_release(&list);
    return err;
}

size_t
mesh_member_list_count(const mesh_member_list_t *list)
{
    return list ? list->count : 0;
}

const char *
mesh_member_list_get(const mesh_member_list_t *list, size_t i)
{
    return list && i < list->count ? list->ids[i] : NULL;
}

bool
mesh_member_list_restricted(const mesh_member_list_t *list)
{
    return list && list->restricted;
}

void
mesh_member_list_free(mesh_member_list_t *list)
{
    if (!list) {
        return;
    }
    free(list->ids);
    free(list);
}
