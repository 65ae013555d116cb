/* core/apply/held.c: the held-back list of sets from non-members, in the store's held
 * records (store/held.h) under each set's hash (its id), with the caps of
 * docs/PROTOCOL.md §8.1 and the public listing (mesh_held, mesh_held_summary).
 * Layer: core. Third-party: none. SPDX-License-Identifier: MIT */
#include "core/apply/held.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/base/node.h"
#include "core/member/ack.h"
#include "core/member/member.h"
#include "core/member/removal.h"
#include "crypto/devid.h"
#include "crypto/hash.h"

/* Now, in microseconds of unix time (when a held set came). */
static int64_t
s_now_us(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_REALTIME, &ts) != 0) {
        return 0;
    }
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Drop the oldest held set of origin (NULL: of all) to make room. *len gets its bytes. */
static mesh_err_t
s_drop_oldest(mesh_t *m, store_txn_t *st, const uint8_t *origin, size_t *len)
{
    const uint8_t *id = NULL;
    *len = 0;
    mesh_err_t err = store_held_oldest(st, origin, &id);
    if (err == MESH_OK) {
        err = store_held_drop(st, id, len);
    }
    if (err == MESH_ENOTFOUND) {
        return MESH_ECORRUPT; /* the totals count a set the index does not have */
    }
    if (err == MESH_OK) {
        node_log(m, MESH_LOG_DEBUG, "dropped a held-back set of %zu bytes: over the %s cap", *len,
                 origin ? "per-device" : "total");
    }
    return err;
}

/* Drop the oldest held sets until one more of len bytes from origin fits every cap. */
static mesh_err_t
s_make_room(mesh_t *m, store_txn_t *st, const uint8_t *origin, size_t len)
{
    store_held_totals_t o, t;
    size_t dropped = 0, n = 0;
    mesh_err_t err = store_held_totals(st, origin, &o, NULL, NULL);
    while (err == MESH_OK && o.sets &&
           (o.sets + 1 > HELD_ORIGIN_SETS_MAX || o.bytes + len > HELD_ORIGIN_BYTES_MAX)) {
        err = s_drop_oldest(m, st, origin, &n);
        o.sets--;
        o.bytes = o.bytes > n ? o.bytes - n : 0;
        dropped++;
    }
    if (err == MESH_OK) {
        err = store_held_totals(st, NULL, &t, NULL, NULL);
    }
    while (err == MESH_OK && t.sets &&
           (t.sets + 1 > HELD_SETS_MAX || t.bytes + len > HELD_BYTES_MAX)) {
        err = s_drop_oldest(m, st, NULL, &n);
        t.sets--;
        t.bytes = t.bytes > n ? t.bytes - n : 0;
        dropped++;
    }
    /* One warning at the 1st, 2nd, 4th, 8th... drop of the store's life: a flood is told,
     * in a number of lines that grows with the log of its size. */
    if (err == MESH_OK && dropped) {
        err = store_held_totals(st, NULL, &t, NULL, NULL);
        uint64_t before = t.dropped_sets - dropped;
        bool crossed = false;
        for (uint64_t p = 1; p && p <= t.dropped_sets; p <<= 1) {
            crossed |= p > before;
        }
        if (err == MESH_OK && crossed) {
            node_log(m, MESH_LOG_WARN,
                     "held-back sets: %llu dropped so far (%llu bytes), the oldest first, to keep "
                     "under the caps of %u sets and %u bytes per device, %u sets and %u bytes "
                     "in all",
                     (unsigned long long)t.dropped_sets, (unsigned long long)t.dropped_bytes,
                     HELD_ORIGIN_SETS_MAX, HELD_ORIGIN_BYTES_MAX, HELD_SETS_MAX, HELD_BYTES_MAX);
        }
    }
    return err;
}

mesh_err_t
held_put(mesh_t *m, store_txn_t *st, verify_set_t *v)
{
    uint8_t id[HASH_LEN];
    v->res->outcome = APPLY_HELD;
    if (v->len > HELD_ORIGIN_BYTES_MAX) {
        verify_reject(v->res, MESH_ETOOBIG,
                      "origin is not a member (yet), and the set's %zu bytes are over the %u "
                      "held back per device: not kept",
                      v->len, HELD_ORIGIN_BYTES_MAX);
        node_log(m, MESH_LOG_INFO, "%s", v->res->why);
        return MESH_OK;
    }
    hash_tagged(HASH_TAG_NODE, v->bytes, v->len, id);
    mesh_err_t err = store_held_has(st, id);
    if (err != MESH_ENOTFOUND) {
        return err; /* MESH_OK: held already */
    }
    err = s_make_room(m, st, v->h.origin, v->len);
    if (err == MESH_OK) {
        err = store_held_put(st, id, v->h.origin, s_now_us(), v->bytes, v->len);
    }
    return err;
}

/* Leave out of keys[0..*n) the members not heard of (ack_heard) within the horizon
 * (PROTOCOL §8.4): a removal no longer waits for their frozen records. */
static mesh_err_t
s_drop_stale(mesh_t *m, store_txn_t *st, uint8_t (*keys)[32], size_t *n)
{
    uint64_t *last = calloc(*n ? *n : 1, sizeof *last);
    mesh_err_t err = last ? ack_heard(st, (const uint8_t(*)[32])keys, *n, last) : MESH_ENOMEM;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t now = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
    size_t k = 0;
    for (size_t i = 0; err == MESH_OK && i < *n; i++) {
        if (last[i] + m->horizon_ms > now) {
            memmove(keys[k++], keys[i], 32);
        }
    }
    if (err == MESH_OK) {
        *n = k;
    }
    free(last);
    return err;
}

mesh_err_t
held_mark_cut(store_txn_t *st, const uint8_t *origin, uint64_t inc, const char *coll, uint64_t *cut)
{
    enum removal_verdict verdict = REMOVAL_HOLD;
    *cut = 0;
    /* no member listed: the cut alone, whatever the verdict on a set above it */
    return removal_verdict(st, MEMBER_COLL, origin, inc, coll, 1, NULL, 0, &verdict, cut);
}

mesh_err_t
held_or_cut(mesh_t *m, store_txn_t *st, verify_set_t *v, bool *apply)
{
    *apply = false;
    if (!member_removed(m, v->h.origin)) {
        return held_put(m, st, v);
    }
    uint8_t(*keys)[32] = NULL;
    size_t n = 0;
    uint64_t gen = 0, cut = 0, last = v->h.first_seq + v->h.count - 1;
    if (v->set.partial && v->set.op_count) {
        /* a partial set is judged by the last op it carries (ascending, verified): a member
         * that held only some ops of a set below the cut forwards just those (§8.2) */
        last = v->ops[v->set.op_count - 1].seq;
    }
    enum removal_verdict verdict = REMOVAL_HOLD;
    mesh_err_t err = member_keys_copy(m, &keys, &n, &gen);
    if (err == MESH_OK) {
        err = s_drop_stale(m, st, keys, &n);
    }
    if (err == MESH_OK) {
        err = removal_verdict(st, MEMBER_COLL, v->h.origin, v->h.incarnation, v->coll, last,
                              (const uint8_t(*)[32])keys, n, &verdict, &cut);
    }
    free(keys);
    if (err != MESH_OK || verdict == REMOVAL_HOLD) {
        return err != MESH_OK ? err : held_put(m, st, v);
    }
    *apply = verdict == REMOVAL_APPLY;
    if (verdict == REMOVAL_REJECT) {
        char id[MESH_ID_TEXT_LEN + 1];
        devid_format(v->h.origin, id);
        verify_reject(v->res, MESH_EUNPAIRED,
                      "%s was removed: seqs %llu..%llu of %s are past its frozen cut (seq %llu)",
                      id, (unsigned long long)v->h.first_seq, (unsigned long long)last, v->coll,
                      (unsigned long long)cut);
        node_log(m, MESH_LOG_INFO, "%s", v->res->why);
    }
    return MESH_OK;
}

mesh_err_t
held_update(mesh_t *m, verify_set_t *vs, size_t n)
{
    store_txn_t *txn = NULL;
    mesh_err_t err = store_read_begin(m->store, &txn);
    for (size_t i = 0; err == MESH_OK && i < n; i++) {
        uint8_t id[HASH_LEN];
        if (vs[i].res->outcome != APPLY_HELD) {
            continue;
        }
        hash_tagged(HASH_TAG_NODE, vs[i].bytes, vs[i].len, id);
        err = store_held_has(txn, id);
        if (err == MESH_ENOTFOUND) {
            vs[i].res->outcome = APPLY_NEW;
            err = MESH_OK;
        }
    }
    store_read_end(txn);
    return err;
}

void
held_release(held_t *h)
{
    for (size_t i = 0; i < h->n; i++) {
        free(h->copies[i]);
    }
    free(h->copies);
    free(h->sets);
    free(h->ids);
    free(h->lens);
    *h = (held_t){0};
}

/* Append a copy of set (len bytes) and its id to h. Errors: MESH_ENOMEM (h unchanged). */
static mesh_err_t
s_held_add(held_t *h, const uint8_t *id, const uint8_t *set, size_t len)
{
    if (h->n == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 16;
        uint8_t **c = realloc(h->copies, cap * sizeof *c);
        const uint8_t **s = c ? realloc(h->sets, cap * sizeof *s) : NULL;
        const uint8_t **i = s ? realloc(h->ids, cap * sizeof *i) : NULL;
        size_t *l = i ? realloc(h->lens, cap * sizeof *l) : NULL;
        h->copies = c ? c : h->copies;
        h->sets = s ? s : h->sets;
        h->ids = i ? i : h->ids;
        h->lens = l ? l : h->lens;
        if (!l) {
            return MESH_ENOMEM;
        }
        h->cap = cap;
    }
    uint8_t *copy = malloc(STORE_HELD_ID_LEN + len);
    if (!copy) {
        return MESH_ENOMEM;
    }
    memcpy(copy, id, STORE_HELD_ID_LEN);
    memcpy(copy + STORE_HELD_ID_LEN, set, len);
    h->copies[h->n] = copy;
    h->ids[h->n] = copy;
    h->sets[h->n] = copy + STORE_HELD_ID_LEN;
    h->lens[h->n] = len;
    h->n++;
    return MESH_OK;
}

mesh_err_t
held_load(mesh_t *m, held_t *h)
{
    store_txn_t *txn = NULL;
    store_cursor_t *cur = NULL;
    mesh_err_t err = store_read_begin(m->store, &txn);
    if (err == MESH_OK) {
        err = store_held_open(txn, &cur);
    }
    while (err == MESH_OK) {
        store_held_set_t s;
        err = store_held_next(cur, &s);
        if (err == MESH_OK && (member_is(m, s.origin) || member_removed(m, s.origin))) {
            err = s_held_add(h, s.id, s.set, s.len);
        }
    }
    store_cursor_close(cur);
    store_read_end(txn);
    if (err == MESH_ENOTFOUND) {
        err = MESH_OK;
    }
    if (err != MESH_OK) {
        held_release(h);
    }
    return err;
}

static mesh_err_t
s_upgrade(store_txn_t *txn, void *ctx)
{
    return store_held_upgrade(txn, s_now_us(), ctx);
}

mesh_err_t
held_upgrade(mesh_t *m)
{
    store_txn_t *txn = NULL;
    size_t n = 0;
    mesh_err_t err = store_read_begin(m->store, &txn);
    bool old = err == MESH_OK && store_held_is_old(txn);
    store_read_end(txn);
    if (err == MESH_OK && old) {
        err = store_write(m->store, s_upgrade, &n);
        if (err != MESH_OK) {
            return node_fail_store(m, err, "upgrade the held-back list");
        }
        node_log(m, MESH_LOG_INFO, "held-back list: %zu sets brought into the current layout", n);
    }
    return err == MESH_OK ? MESH_OK : node_fail_store(m, err, "read the held-back list");
}

/* ---- the public listing ---- */

struct mesh_held_list {
    size_t count;
    mesh_held_info_t *items;
};

/* Oldest first (the order they are dropped in), then by ID. */
static int
s_by_first_seen(const void *a, const void *b)
{
    const mesh_held_info_t *x = a, *y = b;
    if (x->first_seen_ms != y->first_seen_ms) {
        return x->first_seen_ms < y->first_seen_ms ? -1 : 1;
    }
    return strcmp(x->origin, y->origin);
}

/* Append origin's entry to list (room for it is there). */
static mesh_err_t
s_list_add(store_txn_t *txn, mesh_held_list_t *list, const uint8_t *origin)
{
    store_held_totals_t t;
    int64_t first = 0, last = 0;
    mesh_err_t err = store_held_totals(txn, origin, &t, &first, &last);
    if (err != MESH_OK) {
        return err;
    }
    mesh_held_info_t *e = &list->items[list->count++];
    *e = (mesh_held_info_t){.size = sizeof *e,
                            .sets = t.sets,
                            .bytes = t.bytes,
                            .first_seen_ms = first / 1000,
                            .last_seen_ms = last / 1000};
    devid_format(origin, e->origin);
    return MESH_OK;
}

/* Fill list from the store: one entry per origin with sets held. */
static mesh_err_t
s_list_fill(store_txn_t *txn, mesh_held_list_t *list)
{
    store_cursor_t *cur = NULL;
    size_t cap = 0;
    mesh_err_t err = store_held_origins_open(txn, &cur);
    while (err == MESH_OK) {
        const uint8_t *origin = NULL;
        store_held_totals_t t;
        err = store_held_origins_next(cur, &origin, &t);
        if (err == MESH_OK && list->count == cap) {
            size_t ncap = cap ? cap * 2 : 8;
            mesh_held_info_t *items = realloc(list->items, ncap * sizeof *items);
            if (!items) {
                err = MESH_ENOMEM;
                break;
            }
            list->items = items;
            cap = ncap;
        }
        if (err == MESH_OK) {
            err = s_list_add(txn, list, origin);
        }
    }
    store_cursor_close(cur);
    return err == MESH_ENOTFOUND ? MESH_OK : err;
}

mesh_err_t
mesh_held(mesh_t *m, mesh_held_list_t **out)
{
    if (out) {
        *out = NULL;
    }
    if (!m || !out) {
        return MESH_EINVAL;
    }
    node_clear_err(m);
    mesh_held_list_t *list = calloc(1, sizeof *list);
    if (!list) {
        return MESH_ENOMEM;
    }
    store_txn_t *txn = NULL;
    mesh_err_t err = store_read_begin(m->store, &txn);
    if (err == MESH_OK) {
        err = s_list_fill(txn, list);
    }
    store_read_end(txn);
    if (err != MESH_OK) {
        mesh_held_list_free(list);
        return err == MESH_ENOMEM ? err : node_fail_store(m, err, "read the held-back list");
    }
    if (list->count > 1) {
        qsort(list->items, list->count, sizeof *list->items, s_by_first_seen);
    }
    *out = list;
    return MESH_OK;
}

size_t
mesh_held_list_count(const mesh_held_list_t *list)
{
    return list ? list->count : 0;
}

const mesh_held_info_t *
mesh_held_list_get(const mesh_held_list_t *list, size_t i)
{
    return list && i < list->count ? &list->items[i] : NULL;
}

void
mesh_held_list_free(mesh_held_list_t *list)
{
    if (list) {
        free(list->items);
        free(list);
    }
}

mesh_err_t
mesh_held_summary(mesh_t *m, mesh_held_summary_t *out)
{
    if (!m || !out || out->size < sizeof(size_t)) {
        return MESH_EINVAL;
    }
    node_clear_err(m);
    mesh_held_summary_t s = {.size = out->size,
                             .cap_origin_sets = HELD_ORIGIN_SETS_MAX,
                             .cap_origin_bytes = HELD_ORIGIN_BYTES_MAX,
                             .cap_sets = HELD_SETS_MAX,
                             .cap_bytes = HELD_BYTES_MAX};
    store_held_totals_t t;
    store_txn_t *txn = NULL;
    store_cursor_t *cur = NULL;
    mesh_err_t err = store_read_begin(m->store, &txn);
    if (err == MESH_OK) {
        err = store_held_totals(txn, NULL, &t, NULL, NULL);
    }
    if (err == MESH_OK) {
        err = store_held_origins_open(txn, &cur);
    }
    while (err == MESH_OK) {
        const uint8_t *origin = NULL;
        store_held_totals_t o;
        err = store_held_origins_next(cur, &origin, &o);
        s.origins += err == MESH_OK;
    }
    store_cursor_close(cur);
    store_read_end(txn);
    if (err != MESH_ENOTFOUND) {
        return node_fail_store(m, err, "read the held-back list");
    }
    s.sets = t.sets;
    s.bytes = t.bytes;
    s.dropped_sets = t.dropped_sets;
    s.dropped_bytes = t.dropped_bytes;
    size_t n = out->size < sizeof s ? out->size : sizeof s;
    memcpy((char *)out + sizeof(size_t), (const char *)&s + sizeof(size_t), n - sizeof(size_t));
    return MESH_OK;
}
