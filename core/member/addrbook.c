/* core/member/addrbook.c: the address book of one member (docs/PROTOCOL.md §17): its
 * entries, the caps and eviction, the dial order, the rest of a failing address, what is
 * passed on to other members, and the local record that keeps it across restarts.
 * Layer: core (member). Third-party: none. SPDX-License-Identifier: MIT */
#include "core/member/addrbook.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/member/addr.h"
#include "core/wire/buf.h"

void
addrbook_init(addrbook_t *b)
{
    memset(b, 0, sizeof *b);
}

void
addrbook_release(addrbook_t *b)
{
    if (b) {
        free(b->e);
        memset(b, 0, sizeof *b);
    }
}

addrbook_entry_t *
addrbook_find(const addrbook_t *b, const char *addr)
{
    for (size_t i = 0; i < b->n; i++) {
        if (strcmp(b->e[i].addr, addr) == 0) {
            return &b->e[i];
        }
    }
    return NULL;
}

/* Did e work, and not fail since? */
static bool
s_working(const addrbook_entry_t *e)
{
    return e->last_ok > 0 && e->last_ok >= e->last_fail;
}

static void
s_remove(addrbook_t *b, size_t i)
{
    memmove(&b->e[i], &b->e[i + 1], (b->n - i - 1) * sizeof b->e[0]);
    b->n--;
    b->dirty = true;
}

/* The place of the entry a new learnt address may take in a full book: the oldest learnt one
 * that is not working and was tried (or is older than ADDRBOOK_EVICT_S); b->n when none.
 * So a member cannot push out an address that works, nor the ones it told a moment ago
 * before they are tried: each address it makes us keep is dialled before it goes. */
static size_t
s_victim(const addrbook_t *b, int64_t now)
{
    size_t v = b->n;
    for (size_t i = 0; i < b->n; i++) {
        const addrbook_entry_t *e = &b->e[i];
        if (e->source == ADDRBOOK_CONFIGURED || s_working(e) ||
            (e->fails == 0 && now - e->added < ADDRBOOK_EVICT_S)) {
            continue;
        }
        if (v == b->n || e->added < b->e[v].added) {
            v = i;
        }
    }
    return v;
}

static size_t
s_count_learnt(const addrbook_t *b)
{
    size_t n = 0;
    for (size_t i = 0; i < b->n; i++) {
        n += b->e[i].source != ADDRBOOK_CONFIGURED;
    }
    return n;
}

mesh_err_t
addrbook_note(addrbook_t *b, const char *addr, uint8_t source, const uint8_t *teller, int64_t now,
              bool *added)
{
    *added = false;
    size_t len = strlen(addr);
    if (len == 0 || len > WIRE_ADDR_LEN_MAX || source < ADDRBOOK_CONFIGURED ||
        source > ADDRBOOK_TOLD) {
        return MESH_EINVAL;
    }
    addrbook_entry_t *e = addrbook_find(b, addr);
    if (e) {
        if (source < e->source) {
            e->source = source;
            e->has_teller = teller != NULL;
            if (teller) {
                memcpy(e->teller, teller, WIRE_ORIGIN_LEN);
            }
            b->dirty = true;
        }
        return MESH_OK;
    }
    size_t learnt = s_count_learnt(b);
    if (source == ADDRBOOK_CONFIGURED ? b->n - learnt >= ADDRBOOK_MAX - ADDRBOOK_LEARNT_MAX
                                      : learnt >= ADDRBOOK_LEARNT_MAX) {
        size_t v = source == ADDRBOOK_CONFIGURED ? b->n : s_victim(b, now);
        if (v == b->n) {
            return MESH_OK; /* full of what must stay: refused */
        }
        s_remove(b, v);
    }
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 2;
        cap = cap > ADDRBOOK_MAX ? ADDRBOOK_MAX : cap;
        addrbook_entry_t *grown = realloc(b->e, cap * sizeof *grown);
        if (!grown) {
            return MESH_ENOMEM;
        }
        b->e = grown;
        b->cap = cap;
    }
    e = &b->e[b->n++];
    memset(e, 0, sizeof *e);
    memcpy(e->addr, addr, len + 1);
    e->source = source;
    e->has_teller = teller != NULL;
    if (teller) {
        memcpy(e->teller, teller, WIRE_ORIGIN_LEN);
    }
    e->added = now;
    b->dirty = true;
    *added = true;
    return MESH_OK;
}

/* Is the len bytes at word among text's space-separated words? */
static bool
s_in_text(const char *text, const char *word, size_t len)
{
    for (const char *p = text;;) {
        p += strspn(p, " ");
        size_t n = strcspn(p, " ");
        if (n == 0) {
            return false;
        }
        if (n == len && memcmp(p, word, len) == 0) {
            return true;
        }
        p += n;
    }
}

bool
addrbook_set_configured(addrbook_t *b, const char *text, int64_t now)
{
    bool changed = false;
    for (size_t i = b->n; i-- > 0;) {
        addrbook_entry_t *e = &b->e[i];
        if (e->source == ADDRBOOK_CONFIGURED && !s_in_text(text, e->addr, strlen(e->addr))) {
            s_remove(b, i);
            changed = true;
        }
    }
    for (const char *p = text;;) {
        p += strspn(p, " ");
        size_t n = strcspn(p, " ");
        char addr[WIRE_ADDR_LEN_MAX + 1];
        bool added = false;
        if (n == 0) {
            break;
        }
        if (n <= WIRE_ADDR_LEN_MAX) {
            memcpy(addr, p, n);
            addr[n] = '\0';
            addrbook_entry_t *e = addrbook_find(b, addr);
            if (e && e->source != ADDRBOOK_CONFIGURED) {
                e->source = ADDRBOOK_CONFIGURED; /* (the caps hold: configured ones are few) */
                e->has_teller = false;
                b->dirty = true;
            } else if (!e &&
                       addrbook_note(b, addr, ADDRBOOK_CONFIGURED, NULL, now, &added) == MESH_OK &&
                       added) {
                changed = true;
            }
        }
        p += n;
    }
    return changed;
}

bool
addrbook_worked(addrbook_t *b, const char *addr, int64_t now)
{
    addrbook_entry_t *e = addrbook_find(b, addr);
    if (!e || (e->last_ok == now && e->fails == 0)) {
        return false;
    }
    e->last_ok = now;
    e->fails = 0;
    b->dirty = true;
    return true;
}

bool
addrbook_failed(addrbook_t *b, const char *addr, int64_t now)
{
    addrbook_entry_t *e = addrbook_find(b, addr);
    if (!e) {
        return false;
    }
    e->last_fail = now > e->last_ok ? now : e->last_ok + 1; /* after its last success */
    if (e->fails < UINT32_MAX) {
        e->fails++;
    }
    b->dirty = true;
    return true;
}

bool
addrbook_resting(const addrbook_entry_t *e, int64_t now)
{
    if (e->fails == 0 || s_working(e)) {
        return false;
    }
    int64_t rest = ADDRBOOK_REST_MIN_S;
    for (uint32_t i = 1; i < e->fails && rest < ADDRBOOK_REST_MAX_S; i++) {
        rest *= 2;
    }
    rest = rest > ADDRBOOK_REST_MAX_S ? ADDRBOOK_REST_MAX_S : rest;
    return now - e->last_fail < rest;
}

/* The class of e in the dial order: 0 working, 1 never tried, 2 failed. */
static int
s_class(const addrbook_entry_t *e)
{
    return s_working(e) ? 0 : e->fails == 0 && e->last_fail == 0 ? 1 : 2;
}

/* Should a come before b in the dial order? (Insertion keeps the order they became known
 * for ties.) */
static bool
s_before(const addrbook_entry_t *a, const addrbook_entry_t *b)
{
    int ca = s_class(a), cb = s_class(b);
    if (ca != cb) {
        return ca < cb;
    }
    if (ca == 0) {
        return a->last_ok > b->last_ok;
    }
    if (ca == 1) {
        return a->source < b->source;
    }
    return a->fails < b->fails;
}

size_t
addrbook_order(const addrbook_t *b, const addrbook_entry_t **order)
{
    size_t n = 0;
    for (size_t i = 0; i < b->n && n < ADDRBOOK_MAX; i++) {
        size_t j = n++;
        while (j > 0 && s_before(&b->e[i], order[j - 1])) {
            order[j] = order[j - 1];
            j--;
        }
        order[j] = &b->e[i];
    }
    return n;
}

size_t
addrbook_shareable(const addrbook_t *b, const char **out, size_t max)
{
    const addrbook_entry_t *order[ADDRBOOK_MAX];
    size_t n = addrbook_order(b, order), k = 0;
    for (size_t i = 0; i < n && k < max; i++) {
        if (order[i]->source != ADDRBOOK_CONFIGURED && s_working(order[i])) {
            out[k++] = order[i]->addr;
        }
    }
    for (size_t i = 0; i < n && k < max; i++) {
        if (order[i]->source == ADDRBOOK_SELF && !s_working(order[i]) &&
            order[i]->fails < ADDRBOOK_SHARE_FAILS) {
            out[k++] = order[i]->addr;
        }
    }
    return k;
}

static void
s_meta_name(const char *id, char *name, size_t size)
{
    snprintf(name, size, "%s%s", ADDRBOOK_META_PREFIX, id);
}

mesh_err_t
addrbook_load(store_txn_t *txn, const char *id, addrbook_t *b)
{
    char name[sizeof ADDRBOOK_META_PREFIX + MESH_ID_TEXT_LEN + 1];
    const uint8_t *val = NULL;
    size_t len = 0, count = 0;
    wire_book_entry_t entries[WIRE_BOOK_MAX];
    addrbook_release(b);
    s_meta_name(id, name, sizeof name);
    mesh_err_t err = store_meta_get(txn, name, &val, &len);
    if (err == MESH_ENOTFOUND) {
        return MESH_OK;
    }
    if (err != MESH_OK) {
        return err;
    }
    if (wire_book_decode(val, len, entries, &count) != MESH_OK) {
        return MESH_OK; /* a hint only: start again */
    }
    for (size_t i = 0; i < count; i++) {
        const wire_book_entry_t *w = &entries[i];
        char addr[WIRE_ADDR_LEN_MAX + 1];
        bool added = false;
        if (!addr_is_valid(w->addr, w->addr_len)) {
            continue;
        }
        memcpy(addr, w->addr, w->addr_len);
        addr[w->addr_len] = '\0';
        if (addrbook_note(b, addr, w->source, w->has_teller ? w->teller : NULL, (int64_t)w->added,
                          &added) != MESH_OK ||
            !added) {
            continue;
        }
        addrbook_entry_t *e = &b->e[b->n - 1];
        e->last_ok = (int64_t)w->last_ok;
        e->last_fail = (int64_t)w->last_fail;
        e->fails = w->fails > UINT32_MAX ? UINT32_MAX : (uint32_t)w->fails;
    }
    b->dirty = false;
    return MESH_OK;
}

mesh_err_t
addrbook_save(store_txn_t *txn, const char *id, const addrbook_t *b)
{
    char name[sizeof ADDRBOOK_META_PREFIX + MESH_ID_TEXT_LEN + 1];
    wire_book_entry_t entries[WIRE_BOOK_MAX];
    wire_buf_t buf;
    size_t n = b->n > WIRE_BOOK_MAX ? WIRE_BOOK_MAX : b->n;
    for (size_t i = 0; i < n; i++) {
        const addrbook_entry_t *e = &b->e[i];
        entries[i] = (wire_book_entry_t){
            .addr = e->addr,
            .addr_len = strlen(e->addr),
            .source = e->source,
            .has_teller = e->has_teller,
            .added = e->added > 0 ? (uint64_t)e->added : 0,
            .last_ok = e->last_ok > 0 ? (uint64_t)e->last_ok : 0,
            .last_fail = e->last_fail > 0 ? (uint64_t)e->last_fail : 0,
            .fails = e->fails,
        };
        memcpy(entries[i].teller, e->teller, WIRE_ORIGIN_LEN);
    }
    s_meta_name(id, name, sizeof name);
    wire_buf_init(&buf);
    mesh_err_t err = wire_book_encode(entries, n, &buf);
    if (err == MESH_OK) {
        err = store_meta_put(txn, name, buf.data, buf.len);
    }
    wire_buf_release(&buf);
    return err;
}

const char *
addrbook_source_name(uint8_t source)
{
    switch (source) {
    case ADDRBOOK_CONFIGURED:
        return "configured";
    case ADDRBOOK_BEACON:
        return "beacon";
    case ADDRBOOK_SELF:
        return "self";
    case ADDRBOOK_TOLD:
        return "told";
    }
    return "?";
}
