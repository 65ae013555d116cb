/* core/member/access.c: per-collection access lists, folded from the access records of
 * "_mesh" (PROTOCOL.md §8.3). A record is one signer's latest word on one subject:
 *   access/<coll>/<subject ID>/<signer ID>   by the signer: "granted\n" or "revoked\n"
 * Layer: core (member). Third-party: none. SPDX-License-Identifier: MIT */
#include "core/member/access.h"

#include <stdlib.h>
#include <string.h>

#include "crypto/devid.h"

#define S_PREFIX_LEN (sizeof ACCESS_PREFIX - 1)
#define S_MESH_COLL  "_mesh" /* MEMBER_COLL: member.h includes this module, not the reverse */

void
access_list_release(access_list_t *list)
{
    if (!list) {
        return;
    }
    free(list->keys);
    memset(list, 0, sizeof *list);
}

static ptrdiff_t
s_find(const access_list_t *list, const uint8_t *pk)
{
    for (size_t i = 0; i < list->count; i++) {
        if (memcmp(list->keys[i], pk, WIRE_ORIGIN_LEN) == 0) {
            return (ptrdiff_t)i;
        }
    }
    return -1;
}

bool
access_list_has(const access_list_t *list, const uint8_t *pk)
{
    return !list->restricted || s_find(list, pk) >= 0;
}

static mesh_err_t
s_add(access_list_t *list, const uint8_t *pk)
{
    if (s_find(list, pk) >= 0) {
        return MESH_OK;
    }
    if (list->count == list->cap) {
        size_t cap = list->cap ? list->cap * 2 : 8;
        uint8_t(*k)[WIRE_ORIGIN_LEN] = realloc(list->keys, cap * sizeof *k);
        if (!k) {
            return MESH_ENOMEM;
        }
        list->keys = k;
        list->cap = cap;
    }
    memcpy(list->keys[list->count++], pk, WIRE_ORIGIN_LEN);
    return MESH_OK;
}

static void
s_remove(access_list_t *list, const uint8_t *pk)
{
    ptrdiff_t i = s_find(list, pk);
    if (i >= 0) {
        memmove(list->keys[i], list->keys[i + 1],
                (list->count - (size_t)i - 1) * sizeof *list->keys);
        list->count--;
    }
}

/* The order records are folded in: (hlc, signer, subject), granted before revoked. */
static int
s_cmp(const void *pa, const void *pb)
{
    const access_record_t *a = pa, *b = pb;
    if (a->hlc != b->hlc) {
        return a->hlc < b->hlc ? -1 : 1;
    }
    int c = memcmp(a->signer, b->signer, WIRE_ORIGIN_LEN);
    if (c == 0) {
        c = memcmp(a->subject, b->subject, WIRE_ORIGIN_LEN);
    }
    if (c == 0 && a->granted != b->granted) {
        c = a->granted ? -1 : 1;
    }
    return c;
}

mesh_err_t
access_resolve(access_record_t *records, size_t n, access_list_t *list)
{
    access_list_release(list);
    if (n) {
        qsort(records, n, sizeof *records, s_cmp);
    }
    mesh_err_t err = MESH_OK;
    for (size_t i = 0; err == MESH_OK && i < n; i++) {
        const access_record_t *r = &records[i];
        if (!list->restricted) {
            if (!r->granted) {
                continue; /* nothing to take out of "every member" */
            }
            list->restricted = true;
            err = s_add(list, r->signer); /* who makes the list is in it */
        }
        if (err != MESH_OK || s_find(list, r->signer) < 0) {
            continue; /* a device that may not hold the collection decides nothing of it */
        }
        if (r->granted) {
            err = s_add(list, r->subject);
        } else {
            s_remove(list, r->subject);
        }
    }
    if (err != MESH_OK) {
        access_list_release(list);
    }
    return err;
}

mesh_err_t
access_parse_key(const uint8_t *key, size_t len, const uint8_t **coll, size_t *coll_len,
                 uint8_t *subject, uint8_t *signer)
{
    const size_t tail = 2 * (1 + MESH_ID_TEXT_LEN); /* "/<subject ID>/<signer ID>" */
    char text[MESH_ID_TEXT_LEN + 1];
    if (len < S_PREFIX_LEN + 1 + tail || memcmp(key, ACCESS_PREFIX, S_PREFIX_LEN) != 0) {
        return MESH_EPROTO;
    }
    size_t at = len - tail;
    if (key[at] != '/' || key[at + 1 + MESH_ID_TEXT_LEN] != '/') {
        return MESH_EPROTO;
    }
    uint8_t *out[2] = {subject, signer};
    for (int i = 0; i < 2; i++) {
        memcpy(text, key + at + 1 + (size_t)i * (1 + MESH_ID_TEXT_LEN), MESH_ID_TEXT_LEN);
        text[MESH_ID_TEXT_LEN] = '\0';
        if (devid_parse(text, out[i]) != MESH_OK) {
            return MESH_EPROTO;
        }
    }
    *coll = key + S_PREFIX_LEN;
    *coll_len = at - S_PREFIX_LEN;
    return MESH_OK;
}

mesh_err_t
access_check_op(const wire_opmeta_t *op, const uint8_t *origin)
{
    const uint8_t *coll = NULL;
    size_t coll_len = 0;
    uint8_t subject[WIRE_ORIGIN_LEN], signer[WIRE_ORIGIN_LEN];
    if (access_parse_key(op->key, op->key_len, &coll, &coll_len, subject, signer) != MESH_OK ||
        memcmp(signer, origin, WIRE_ORIGIN_LEN) != 0 || coll_len > MESH_COLL_MAX ||
        (op->kind == WIRE_PUT && op->value_len != ACCESS_VALUE_LEN)) {
        return MESH_EPROTO;
    }
    return MESH_OK;
}

/* Append the records of one stored item (every put version with a known value). */
static mesh_err_t
s_take_item(const store_item_t *item, const uint8_t *subject, const uint8_t *signer,
            access_record_t **recs, size_t *n, size_t *cap)
{
    for (size_t v = 0; v < item->count; v++) {
        const store_version_t *ver = &item->versions[v];
        bool granted = ver->value_len == ACCESS_VALUE_LEN &&
                       memcmp(ver->value, ACCESS_GRANTED, ACCESS_VALUE_LEN) == 0;
        bool revoked = ver->value_len == ACCESS_VALUE_LEN &&
                       memcmp(ver->value, ACCESS_REVOKED, ACCESS_VALUE_LEN) == 0;
        if (ver->kind != WIRE_PUT || (!granted && !revoked) || *n == ACCESS_RECORDS_MAX) {
            continue;
        }
        if (*n == *cap) {
            size_t c = *cap ? *cap * 2 : 16;
            access_record_t *r = realloc(*recs, c * sizeof *r);
            if (!r) {
                return MESH_ENOMEM;
            }
            *recs = r;
            *cap = c;
        }
        access_record_t *r = &(*recs)[(*n)++];
        memcpy(r->subject, subject, WIRE_ORIGIN_LEN);
        memcpy(r->signer, signer, WIRE_ORIGIN_LEN);
        r->hlc = ver->hlc;
        r->granted = granted;
    }
    return MESH_OK;
}

mesh_err_t
access_list_load(store_txn_t *txn, const char *coll, access_list_t *list)
{
    uint32_t cid = 0;
    store_cursor_t *cur = NULL;
    access_record_t *recs = NULL;
    size_t n = 0, cap = 0, clen = strlen(coll);
    access_list_release(list);
    if (clen > MESH_COLL_MAX) {
        return MESH_OK; /* no record can name it */
    }
    mesh_err_t err = store_coll_id(txn, S_MESH_COLL, false, &cid);
    if (err == MESH_ENOTFOUND) {
        return MESH_OK;
    }
    uint8_t prefix[S_PREFIX_LEN + MESH_COLL_MAX + 1];
    memcpy(prefix, ACCESS_PREFIX, S_PREFIX_LEN);
    memcpy(prefix + S_PREFIX_LEN, coll, clen);
    prefix[S_PREFIX_LEN + clen] = '/';
    store_item_t *item = malloc(sizeof *item);
    err = err == MESH_OK && !item ? MESH_ENOMEM : err;
    if (err == MESH_OK) {
        err = store_items_open(txn, cid, prefix, S_PREFIX_LEN + clen + 1, &cur);
    }
    while (err == MESH_OK && (err = store_items_next(cur, item)) == MESH_OK) {
        const uint8_t *c = NULL;
        size_t c_len = 0;
        uint8_t subject[WIRE_ORIGIN_LEN], signer[WIRE_ORIGIN_LEN];
        /* the prefix also finds "access/<coll>/<more>/...": only coll's own count */
        if (access_parse_key(item->key, item->key_len, &c, &c_len, subject, signer) == MESH_OK &&
            c_len == clen && memcmp(c, coll, clen) == 0) {
            err = s_take_item(item, subject, signer, &recs, &n, &cap);
        }
    }
    store_cursor_close(cur);
    free(item);
    if (err == MESH_ENOTFOUND) {
        err = access_resolve(recs, n, list);
    }
    free(recs);
    return err;
}
