/* core/member/member.c: membership records in "_mesh" and this device's member view.
 * Records are items of the reserved collection, signed like any change set:
 *   genesis/<ID>            by ID itself: "name=<name>\n"
 *   add/<ID>/<signer ID>    by the signer: "name=<name>\n" and "addr=<addr>\n" lines
 *   rm/<ID>/<signer ID>     by the signer: ID is removed for good (empty value)
 *   frozen/<ID>/<signer ID> by the signer: its cut of removed ID (core/member/removal.h)
 * Layer: core. Third-party: none. SPDX-License-Identifier: MIT */
#include "core/member/member.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/node.h"
#include "core/data/txn.h"
#include "core/member/access.h"
#include "core/member/removal.h"
#include "crypto/devid.h"

void
member_view_release(member_view_t *view)
{
    if (!view) {
        return;
    }
    free(view->keys);
    free(view->removed);
    memset(view, 0, sizeof *view);
}

bool
member_view_has(const member_view_t *view, const uint8_t *pk)
{
    for (size_t i = 0; i < view->count; i++) {
        if (memcmp(view->keys[i], pk, WIRE_ORIGIN_LEN) == 0) {
            return true;
        }
    }
    return false;
}

/* Append pk to keys[0..*count) unless it is there. */
static mesh_err_t
s_keys_add(uint8_t (**keys)[WIRE_ORIGIN_LEN], size_t *count, size_t *cap, const uint8_t *pk)
{
    for (size_t i = 0; i < *count; i++) {
        if (memcmp((*keys)[i], pk, WIRE_ORIGIN_LEN) == 0) {
            return MESH_OK;
        }
    }
    if (*count == *cap) {
        size_t ncap = *cap ? *cap * 2 : 8;
        uint8_t(*k)[WIRE_ORIGIN_LEN] = realloc(*keys, ncap * sizeof *k);
        if (!k) {
            return MESH_ENOMEM;
        }
        *keys = k;
        *cap = ncap;
    }
    memcpy((*keys)[(*count)++], pk, WIRE_ORIGIN_LEN);
    return MESH_OK;
}

static mesh_err_t
s_view_add(member_view_t *view, const uint8_t *pk)
{
    return s_keys_add(&view->keys, &view->count, &view->cap, pk);
}

static bool
s_view_removed(const member_view_t *view, const uint8_t *pk)
{
    for (size_t i = 0; i < view->nremoved; i++) {
        if (memcmp(view->removed[i], pk, WIRE_ORIGIN_LEN) == 0) {
            return true;
        }
    }
    return false;
}

/* Parse "<prefix><ID>" or "<prefix><ID>/..." from key: the ID's key into pk; *rest points
 * after the ID. MESH_OK or MESH_EPROTO. */
static mesh_err_t
s_parse_id(const uint8_t *key, size_t len, size_t *pos, uint8_t *pk)
{
    char text[MESH_ID_TEXT_LEN + 1];
    if (len - *pos < MESH_ID_TEXT_LEN) {
        return MESH_EPROTO;
    }
    memcpy(text, key + *pos, MESH_ID_TEXT_LEN);
    text[MESH_ID_TEXT_LEN] = '\0';
    *pos += MESH_ID_TEXT_LEN;
    return devid_parse(text, pk) == MESH_OK ? MESH_OK : MESH_EPROTO;
}

/* Split a record key into its kind and keys. subject is the added device (or the
 * genesis device), signer the device that must have signed it. */
mesh_err_t
member_parse_key(const uint8_t *key, size_t len, bool *is_add, uint8_t *subject, uint8_t *signer)
{
    size_t pos = 0;
    if (len > 8 && memcmp(key, "genesis/", 8) == 0) {
        pos = 8;
        *is_add = false;
        mesh_err_t err = s_parse_id(key, len, &pos, subject);
        memcpy(signer, subject, WIRE_ORIGIN_LEN);
        return err == MESH_OK && pos == len ? MESH_OK : MESH_EPROTO;
    }
    if (len > 4 && memcmp(key, "add/", 4) == 0) {
        *is_add = true;
        return member_parse_pair(key, len, "add/", subject, signer);
    }
    return MESH_EPROTO;
}

mesh_err_t
member_parse_pair(const uint8_t *key, size_t len, const char *prefix, uint8_t *subject,
                  uint8_t *signer)
{
    size_t pos = strlen(prefix);
    if (len <= pos || memcmp(key, prefix, pos) != 0) {
        return MESH_EPROTO;
    }
    mesh_err_t err = s_parse_id(key, len, &pos, subject);
    if (err != MESH_OK || pos >= len || key[pos] != '/') {
        return MESH_EPROTO;
    }
    pos++;
    err = s_parse_id(key, len, &pos, signer);
    return err == MESH_OK && pos == len ? MESH_OK : MESH_EPROTO;
}

mesh_err_t
member_record_put(mesh_t *m, const char *key, size_t klen, const void *value, size_t len)
{
    mesh_txn_t *txn = NULL;
    mesh_err_t err = txn_begin_system(m, MEMBER_COLL, &txn);
    if (err == MESH_OK) {
        err = mesh_put(txn, key, klen, value, len);
    }
    err = err == MESH_OK ? mesh_txn_commit(&txn, NULL) : err;
    mesh_txn_abort(txn);
    return err;
}

mesh_err_t
member_id_parse(mesh_t *m, const char *id, uint8_t *pk)
{
    if (devid_parse(id, pk) == MESH_OK) {
        return MESH_OK;
    }
    char why[160], shown[128];
    devid_explain(id, why, sizeof why);
    node_escape(id, strlen(id), shown, sizeof shown); /* anyone's bytes: one safe line */
    return node_fail(m, MESH_EBADID, "'%s' is not a valid device ID: %s", shown, why);
}

mesh_err_t
member_check_op(const wire_opmeta_t *op, const uint8_t *origin)
{
    uint8_t subject[WIRE_ORIGIN_LEN], signer[WIRE_ORIGIN_LEN];
    bool is_add = false;
    if (op->key_len > 7 && memcmp(op->key, ACCESS_PREFIX, 7) == 0) {
        return access_check_op(op, origin); /* access/<coll>/<subject>/<signer> (§8.3) */
    }
    size_t pos = 4; /* "ack/<signer ID>" (core/member/ack.h) */
    if (op->key_len > 4 && memcmp(op->key, "ack/", 4) == 0) {
        mesh_err_t err = s_parse_id(op->key, op->key_len, &pos, signer);
        return err == MESH_OK && pos == op->key_len && !memcmp(signer, origin, WIRE_ORIGIN_LEN)
                   ? MESH_OK
                   : MESH_EPROTO;
    }
    mesh_err_t err = member_parse_key(op->key, op->key_len, &is_add, subject, signer);
    if (err != MESH_OK) { /* removal (PROTOCOL.md §8.2) */
        err = member_parse_pair(op->key, op->key_len, REMOVAL_RM_PREFIX, subject, signer);
    }
    if (err != MESH_OK) {
        err = member_parse_pair(op->key, op->key_len, REMOVAL_FROZEN_PREFIX, subject, signer);
    }
    if (err != MESH_OK || memcmp(signer, origin, WIRE_ORIGIN_LEN) != 0) {
        return MESH_EPROTO;
    }
    return MESH_OK;
}

mesh_err_t
member_view_load(store_txn_t *txn, const uint8_t *self, member_view_t *view)
{
    uint32_t cid = 0;
    store_cursor_t *cur = NULL;
    view->count = view->nremoved = 0;
    mesh_err_t err = s_view_add(view, self);
    if (err == MESH_OK) {
        err = store_coll_id(txn, MEMBER_COLL, false, &cid);
        if (err == MESH_ENOTFOUND) {
            return MESH_OK;
        }
    }
    store_item_t *item = malloc(sizeof *item);
    if (!item) {
        return MESH_ENOMEM;
    }
    if (err == MESH_OK) {
        err = store_items_open(txn, cid, NULL, 0, &cur);
    }
    while (err == MESH_OK && (err = store_items_next(cur, item)) == MESH_OK) {
        uint8_t subject[WIRE_ORIGIN_LEN], signer[WIRE_ORIGIN_LEN];
        bool is_add = false;
        if (member_parse_key(item->key, item->key_len, &is_add, subject, signer) == MESH_OK) {
            err = s_view_add(view, subject);
        } else if (member_parse_pair(item->key, item->key_len, REMOVAL_RM_PREFIX, subject,
                                     signer) == MESH_OK) {
            err = s_keys_add(&view->removed, &view->nremoved, &view->rcap, subject);
        }
    }
    store_cursor_close(cur);
    free(item);
    /* Two-phase: a removed device is out for good, whatever add records name it (self
     * stays at 0: its own writes are its own). */
    size_t kept = view->count ? 1 : 0;
    for (size_t i = 1; i < view->count; i++) {
        if (!s_view_removed(view, view->keys[i])) {
            memmove(view->keys[kept++], view->keys[i], WIRE_ORIGIN_LEN);
        }
    }
    view->count = kept;
    return err == MESH_ENOTFOUND ? MESH_OK : err;
}

mesh_err_t
member_genesis(mesh_t *m)
{
    char key[16 + MESH_ID_TEXT_LEN], value[NODE_NAME_MAX + 16];
    void *old = NULL;
    size_t old_len = 0;
    int klen = snprintf(key, sizeof key, "genesis/%s", m->id_text);
    int vlen = snprintf(value, sizeof value, "name=%s\n", m->name);
    mesh_err_t err = mesh_get(m, MEMBER_COLL, key, (size_t)klen, &old, &old_len);
    /* written anew only when missing, or when it names the device otherwise (mesh_rename) */
    bool same = err == MESH_OK && old_len == (size_t)vlen && memcmp(old, value, old_len) == 0;
    mesh_free(old);
    if (err != MESH_ENOTFOUND && (err != MESH_OK || same)) {
        return err;
    }
    return member_record_put(m, key, (size_t)klen, value, (size_t)vlen);
}

/* The view a node holds, shared by the caller's threads and the loop thread. */
struct member_state {
    pthread_mutex_t lock;
    pthread_mutex_t reload; /* one reload at a time: read, then install (member_reload) */
    member_view_t view;
    uint64_t gen; /* bumped at each reload */
};

mesh_err_t
member_state_new(member_state_t **out)
{
    member_state_t *s = calloc(1, sizeof *s);
    *out = s;
    if (!s) {
        return MESH_ENOMEM;
    }
    pthread_mutex_init(&s->lock, NULL);
    pthread_mutex_init(&s->reload, NULL);
    return MESH_OK;
}

void
member_state_free(member_state_t *s)
{
    if (!s) {
        return;
    }
    member_view_release(&s->view);
    pthread_mutex_destroy(&s->lock);
    pthread_mutex_destroy(&s->reload);
    free(s);
}

/* Publish this device's frozen record of removed device pk unless it has one: the highest
 * seq it holds of pk, per collection and incarnation (core/member/removal.h). From now on
 * pk's sets are held back above the cut (core/apply/held.c), so the record is taken once.
 * provisional: pk is a member here that an rm record held here names (§8.2); the record
 * starts with REMOVAL_PROVISIONAL, and is rewritten in full once pk is removed here. */
static mesh_err_t
s_freeze(mesh_t *m, const uint8_t *pk, bool provisional)
{
    char key[16 + 2 * MESH_ID_TEXT_LEN], id[MESH_ID_TEXT_LEN + 1];
    void *old = NULL;
    size_t old_len = 0, len = 0;
    char *value = NULL;
    devid_format(pk, id);
    int klen = snprintf(key, sizeof key, REMOVAL_FROZEN_PREFIX "%s/%s", id, m->id_text);
    mesh_err_t err = mesh_get(m, MEMBER_COLL, key, (size_t)klen, &old, &old_len);
    bool was = err == MESH_OK && removal_frozen_provisional(old, old_len);
    mesh_free(old);
    if (err != MESH_ENOTFOUND && (err != MESH_OK || provisional || !was)) {
        return err;
    }
    store_txn_t *rt = NULL;
    err = store_read_begin(m->store, &rt);
    if (err == MESH_OK) {
        err = removal_frozen_value(rt, pk, &value, &len);
    }
    store_read_end(rt);
    size_t plen = provisional ? sizeof REMOVAL_PROVISIONAL - 1 : 0;
    char *full = err == MESH_OK ? malloc(plen + len + 1) : NULL;
    if (err == MESH_OK && !full) {
        err = MESH_ENOMEM;
    }
    if (err == MESH_OK) {
        memcpy(full, REMOVAL_PROVISIONAL, plen);
        memcpy(full + plen, value, len);
        err = plen + len > MESH_VALUE_MAX ? MESH_ETOOBIG : MESH_OK;
    }
    if (err == MESH_OK) {
        err = member_record_put(m, key, (size_t)klen, full, plen + len);
    }
    free(full);
    free(value);
    if (err == MESH_OK && provisional) {
        node_log(m, MESH_LOG_INFO,
                 "%s is named by a held removal record of a removed device: its provisional "
                 "frozen record published",
                 id);
    } else if (err == MESH_OK) {
        node_log(m, MESH_LOG_INFO, "%s is removed from the mesh: frozen, its key refused", id);
    }
    return err;
}

/* s_freeze for every removed device of m's view, then a provisional one for every member
 * that an rm record held here (signed by a removed device) names (§8.2). */
static mesh_err_t
s_freeze_all(mesh_t *m)
{
    uint8_t(*keys)[32] = NULL, (*members)[32] = NULL, (*named)[32] = NULL;
    size_t n = 0, nmembers = 0, nnamed = 0;
    uint64_t gen = 0;
    mesh_err_t err = member_removed_copy(m, &keys, &n);
    for (size_t i = 0; err == MESH_OK && i < n; i++) { /* none of itself: it counts for nothing */
        if (memcmp(keys[i], ident_public_key(m->ident), 32) != 0) {
            err = s_freeze(m, keys[i], false);
        }
    }
    if (err == MESH_OK && n) {
        err = member_keys_copy(m, &members, &nmembers, &gen);
    }
    store_txn_t *rt = NULL;
    if (err == MESH_OK && n) {
        err = store_read_begin(m->store, &rt);
        if (err == MESH_OK) {
            err = removal_held_subjects(rt, MEMBER_COLL, (const uint8_t(*)[32])keys, n,
                                        (const uint8_t(*)[32])members, nmembers,
                                        ident_public_key(m->ident), &named, &nnamed);
        }
        store_read_end(rt);
    }
    for (size_t i = 0; err == MESH_OK && i < nnamed; i++) {
        err = s_freeze(m, named[i], true);
    }
    free(named);
    free(members);
    free(keys);
    return err == MESH_OK ? MESH_OK : node_fail_store(m, err, "publish a frozen record");
}

mesh_err_t
member_reload(mesh_t *m)
{
    /* Reads and installs are serialised: two threads reloading at once (the loop thread
     * following a commit, and the thread that made it) could otherwise install in the
     * other order, the older view last, and a member just added would be missing until the
     * next change (mesh_peers after mesh_peer_add, test_threads). */
    member_state_t *s = m->members;
    store_txn_t *txn = NULL;
    member_view_t view = {0};
    pthread_mutex_lock(&s->reload);
    mesh_err_t err = store_read_begin(m->store, &txn);
    if (err == MESH_OK) {
        err = member_view_load(txn, ident_public_key(m->ident), &view);
    }
    store_read_end(txn);
    if (err == MESH_OK) {
        pthread_mutex_lock(&s->lock);
        member_view_release(&s->view);
        s->view = view;
        s->gen++;
        pthread_mutex_unlock(&s->lock);
    }
    pthread_mutex_unlock(&s->reload);
    if (err != MESH_OK) {
        member_view_release(&view);
        return node_fail_store(m, err, "read membership");
    }
    return s_freeze_all(m);
}

bool
member_is(mesh_t *m, const uint8_t *pk)
{
    member_state_t *s = m->members;
    pthread_mutex_lock(&s->lock);
    bool yes = member_view_has(&s->view, pk);
    pthread_mutex_unlock(&s->lock);
    return yes;
}

uint64_t
member_generation(mesh_t *m)
{
    member_state_t *s = m->members;
    pthread_mutex_lock(&s->lock);
    uint64_t gen = s->gen;
    pthread_mutex_unlock(&s->lock);
    return gen;
}

mesh_err_t
member_keys_copy(mesh_t *m, uint8_t (**keys)[32], size_t *count, uint64_t *gen)
{
    member_state_t *s = m->members;
    pthread_mutex_lock(&s->lock);
    size_t n = s->view.count;
    *keys = malloc((n ? n : 1) * sizeof **keys);
    if (*keys) {
        memcpy(*keys, s->view.keys, n * sizeof **keys);
        *count = n;
        *gen = s->gen;
    }
    pthread_mutex_unlock(&s->lock);
    return *keys ? MESH_OK : MESH_ENOMEM;
}

bool
member_removed(mesh_t *m, const uint8_t *pk)
{
    member_state_t *s = m->members;
    pthread_mutex_lock(&s->lock);
    bool yes = s_view_removed(&s->view, pk);
    pthread_mutex_unlock(&s->lock);
    return yes;
}

mesh_err_t
member_removed_copy(mesh_t *m, uint8_t (**keys)[32], size_t *count)
{
    member_state_t *s = m->members;
    pthread_mutex_lock(&s->lock);
    size_t n = s->view.nremoved;
    *keys = malloc((n ? n : 1) * sizeof **keys);
    if (*keys) {
        if (n) { /* (no list yet: removed is NULL) */
            memcpy(*keys, s->view.removed, n * sizeof **keys);
        }
        *count = n;
    }
    pthread_mutex_unlock(&s->lock);
    return *keys ? MESH_OK : MESH_ENOMEM;
}
