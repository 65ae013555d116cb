/* core/member/removal.c: the frozen cut of a removed device. A frozen record's value lists,
 * per collection and incarnation of the subject, the highest seq its signer had accepted
 * when it learned of the removal; the cut is the highest any member published, and a set of
 * the removed device is valid when its last seq is at or below it.
 * Layer: core (member). Third-party: none. SPDX-License-Identifier: MIT */
#include "core/member/removal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/wire/set.h"
#include "crypto/devid.h"

/* A growing text buffer. */
typedef struct s_text {
    char *p;
    size_t len, cap;
} s_text_t;

static mesh_err_t
s_text_add(s_text_t *t, uint64_t inc, uint64_t seq, const char *coll)
{
    size_t need = 16 + 1 + 20 + 1 + strlen(coll) + 2;
    if (t->len + need > t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 256;
        while (cap < t->len + need) {
            cap *= 2;
        }
        char *p = realloc(t->p, cap);
        if (!p) {
            return MESH_ENOMEM;
        }
        t->p = p;
        t->cap = cap;
    }
    t->len += (size_t)snprintf(t->p + t->len, t->cap - t->len, "%016" PRIx64 " %" PRIu64 " %s\n",
                               inc, seq, coll);
    return t->len > MESH_VALUE_MAX ? MESH_ETOOBIG : MESH_OK;
}

/* The highest seq subject's entries of collection cid give, per incarnation, appended to t
 * (an incarnation's derived numbers, §5.7, count under the incarnation they were signed in). */
static mesh_err_t
s_coll_lines(store_txn_t *txn, uint32_t cid, const char *coll, const uint8_t *subject, s_text_t *t)
{
    enum { S_INCS = 64 }; /* incarnations of one device in one collection, at most listed */
    uint64_t incs[S_INCS], seqs[S_INCS];
    size_t n = 0;
    store_cursor_t *cur = NULL;
    mesh_err_t err = store_vvs_open(txn, cid, &cur);
    while (err == MESH_OK) {
        uint32_t oid = 0;
        store_vv_t vv;
        uint8_t device[32];
        uint64_t inc = 0;
        err = store_vvs_next(cur, &oid, &vv);
        if (err == MESH_OK) {
            err = store_origin_signed(txn, oid, device, &inc);
        }
        if (err != MESH_OK || memcmp(device, subject, 32) != 0) {
            continue;
        }
        uint64_t seq = vv.extra_count ? store_vv_extra(&vv, vv.extra_count - 1) : vv.base;
        size_t i = 0;
        while (i < n && incs[i] != inc) {
            i++;
        }
        if (i == n && n < S_INCS) {
            incs[n] = inc;
            seqs[n++] = 0;
        }
        if (i < n && seq > seqs[i]) {
            seqs[i] = seq;
        }
    }
    store_cursor_close(cur);
    err = err == MESH_ENOTFOUND ? MESH_OK : err;
    for (size_t i = 0; err == MESH_OK && i < n; i++) {
        if (seqs[i]) {
            err = s_text_add(t, incs[i], seqs[i], coll);
        }
    }
    return err;
}

mesh_err_t
removal_frozen_value(store_txn_t *txn, const uint8_t *subject, char **value, size_t *len)
{
    s_text_t t = {0};
    store_cursor_t *cur = NULL;
    char coll[MESH_COLL_MAX + 1];
    uint32_t cid = 0;
    mesh_err_t err = store_colls_open(txn, &cur);
    while (err == MESH_OK && (err = store_colls_next(cur, coll, &cid)) == MESH_OK) {
        err = s_coll_lines(txn, cid, coll, subject, &t);
    }
    store_cursor_close(cur);
    err = err == MESH_ENOTFOUND ? MESH_OK : err;
    if (err == MESH_OK && !t.p) {
        t.p = calloc(1, 1);
        err = t.p ? MESH_OK : MESH_ENOMEM;
    }
    if (err != MESH_OK) {
        free(t.p);
        return err;
    }
    *value = t.p;
    *len = t.len;
    return MESH_OK;
}

bool
removal_frozen_provisional(const uint8_t *value, size_t len)
{
    size_t plen = sizeof REMOVAL_PROVISIONAL - 1;
    return len >= plen && memcmp(value, REMOVAL_PROVISIONAL, plen) == 0;
}

/* Is pk one of keys[0..n)? */
static bool
s_in(const uint8_t (*keys)[32], size_t n, const uint8_t *pk)
{
    for (size_t i = 0; i < n; i++) {
        if (memcmp(keys[i], pk, 32) == 0) {
            return true;
        }
    }
    return false;
}

/* Add to out[0..*n) the subject of each op of held set bytes (len) that is an rm record of
 * its origin naming a member (the caller checked the origin is removed). */
static mesh_err_t
s_held_rm_subjects(const uint8_t *bytes, size_t len, const char *mesh_coll,
                   const uint8_t (*members)[32], size_t nmembers, const uint8_t *self,
                   uint8_t (*out)[32], size_t *n)
{
    wire_set_t set;
    wire_header_t h;
    mesh_err_t err = wire_set_decode(bytes, len, &set);
    if (err == MESH_ENOMEM) {
        return err;
    }
    if (err != MESH_OK) {
        return MESH_OK; /* verified when it was held: not ours to judge again */
    }
    size_t clen = strlen(mesh_coll);
    if (wire_header_decode(set.header, set.header_len, &h) != MESH_OK || h.coll_len != clen ||
        memcmp(h.coll, mesh_coll, clen) != 0) {
        wire_set_release(&set);
        return MESH_OK;
    }
    size_t rlen = strlen(REMOVAL_RM_PREFIX);
    for (size_t i = 0; i < set.op_count; i++) {
        wire_opmeta_t op;
        char text[MESH_ID_TEXT_LEN + 1];
        uint8_t subject[32], signer[32];
        if (wire_opmeta_decode(set.ops[i].meta, set.ops[i].meta_len, &op) != MESH_OK ||
            op.kind != WIRE_PUT || op.key_len != rlen + 2 * MESH_ID_TEXT_LEN + 1 ||
            memcmp(op.key, REMOVAL_RM_PREFIX, rlen) != 0 ||
            op.key[rlen + MESH_ID_TEXT_LEN] != '/') {
            continue;
        }
        memcpy(text, op.key + rlen, MESH_ID_TEXT_LEN);
        text[MESH_ID_TEXT_LEN] = '\0';
        bool ok = devid_parse(text, subject) == MESH_OK;
        memcpy(text, op.key + rlen + MESH_ID_TEXT_LEN + 1, MESH_ID_TEXT_LEN);
        ok = ok && devid_parse(text, signer) == MESH_OK;
        if (ok && memcmp(signer, h.origin, 32) == 0 && memcmp(subject, self, 32) != 0 &&
            s_in(members, nmembers, subject) && !s_in((const uint8_t(*)[32])out, *n, subject)) {
            memcpy(out[(*n)++], subject, 32);
        }
    }
    wire_set_release(&set);
    return MESH_OK;
}

mesh_err_t
removal_held_subjects(store_txn_t *txn, const char *mesh_coll, const uint8_t (*removed)[32],
                      size_t nremoved, const uint8_t (*members)[32], size_t nmembers,
                      const uint8_t *self, uint8_t (**out)[32], size_t *n)
{
    store_cursor_t *cur = NULL;
    *n = 0;
    *out = malloc((nmembers ? nmembers : 1) * sizeof **out);
    mesh_err_t err = *out ? MESH_OK : MESH_ENOMEM;
    if (err == MESH_OK && nremoved) {
        err = store_held_open(txn, &cur);
    }
    while (err == MESH_OK && nremoved) {
        store_held_set_t s;
        err = store_held_next(cur, &s);
        if (err == MESH_OK && s_in(removed, nremoved, s.origin)) {
            err = s_held_rm_subjects(s.set, s.len, mesh_coll, members, nmembers, self, *out, n);
        }
    }
    store_cursor_close(cur);
    err = err == MESH_ENOTFOUND ? MESH_OK : err;
    if (err != MESH_OK) {
        free(*out);
        *out = NULL;
        *n = 0;
    }
    return err;
}

uint64_t
removal_frozen_seq(const uint8_t *value, size_t len, uint64_t incarnation, const char *coll)
{
    uint64_t best = 0;
    size_t clen = strlen(coll), pos = 0;
    while (pos < len) {
        const uint8_t *nl = memchr(value + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - value) : len;
        char line[64];
        size_t head = end - pos < sizeof line - 1 ? end - pos : sizeof line - 1;
        memcpy(line, value + pos, head);
        line[head] = '\0';
        uint64_t inc = 0, seq = 0;
        int used = 0;
        if (sscanf(line, "%16" SCNx64 " %" SCNu64 " %n", &inc, &seq, &used) == 2 && used > 0 &&
            inc == incarnation && end - pos - (size_t)used == clen &&
            memcmp(value + pos + used, coll, clen) == 0 && seq > best) {
            best = seq;
        }
        pos = end + 1;
    }
    return best;
}

mesh_err_t
removal_verdict(store_txn_t *txn, const char *mesh_coll, const uint8_t *origin,
                uint64_t incarnation, const char *coll, uint64_t last, const uint8_t (*members)[32],
                size_t n, enum removal_verdict *out, uint64_t *cut)
{
    char prefix[16 + MESH_ID_TEXT_LEN + 1];
    uint8_t *published = calloc(n ? n : 1, 1); /* members[i] has published */
    store_item_t *item = malloc(sizeof *item);
    store_cursor_t *cur = NULL;
    uint32_t cid = 0;
    *cut = 0;
    *out = REMOVAL_HOLD;
    mesh_err_t err = published && item ? MESH_OK : MESH_ENOMEM;
    size_t plen = (size_t)snprintf(prefix, sizeof prefix, "%s", REMOVAL_FROZEN_PREFIX);
    devid_format(origin, prefix + plen);
    plen += MESH_ID_TEXT_LEN;
    prefix[plen++] = '/';
    if (err == MESH_OK) {
        err = store_coll_id(txn, mesh_coll, false, &cid);
    }
    if (err == MESH_OK) {
        err = store_items_open(txn, cid, (const uint8_t *)prefix, plen, &cur);
    }
    while (err == MESH_OK && (err = store_items_next(cur, item)) == MESH_OK) {
        char text[MESH_ID_TEXT_LEN + 1];
        uint8_t signer[32];
        if (item->key_len != plen + MESH_ID_TEXT_LEN) {
            continue;
        }
        memcpy(text, item->key + plen, MESH_ID_TEXT_LEN);
        text[MESH_ID_TEXT_LEN] = '\0';
        /* the device's own record of itself counts for nothing: it tells what the device
         * wrote, not what a member took (§8.2) */
        if (devid_parse(text, signer) != MESH_OK || memcmp(signer, origin, 32) == 0) {
            continue;
        }
        for (size_t v = 0; v < item->count; v++) {
            const store_version_t *ver = &item->versions[v];
            /* a provisional record counts in the cut, but its signer has not published
             * its final one: a set above the cut still waits for it */
            bool final = !removal_frozen_provisional(ver->value, ver->value_len);
            for (size_t i = 0; final && i < n; i++) {
                published[i] |= memcmp(members[i], signer, 32) == 0;
            }
            uint64_t seq = removal_frozen_seq(ver->value, ver->value_len, incarnation, coll);
            *cut = seq > *cut ? seq : *cut;
        }
    }
    store_cursor_close(cur);
    err = err == MESH_ENOTFOUND ? MESH_OK : err;
    if (err == MESH_OK) {
        bool all = true;
        for (size_t i = 0; all && i < n; i++) {
            all = published[i] || memcmp(members[i], origin, 32) == 0;
        }
        *out = last <= *cut ? REMOVAL_APPLY : all ? REMOVAL_REJECT : REMOVAL_HOLD;
    }
    free(item);
    free(published);
    return err;
}
