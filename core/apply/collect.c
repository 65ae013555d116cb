/* core/apply/collect.c: tombstone collection: the stable vector from the members'
 * acknowledgements, removing items made only of tombstones it covers, the floor, and the
 * repair-side refusal that keeps a collected delete deleted (docs/PROTOCOL.md §8.4, §13).
 * Layer: core. Third-party: none. SPDX-License-Identifier: MIT */
#include "core/apply/collect.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/base/node.h"
#include "core/data/txn.h"
#include "core/member/ack.h"
#include "core/member/member.h"
#include "store/gc.h"
#include "store/items.h"

bool
collect_holds_back(mesh_t *m, const uint8_t *pk, uint64_t last_ms, uint64_t now_ms,
                   uint64_t horizon_ms)
{
    (void)m;
    (void)pk; /* removed members and access lists (issue 16's other parts) filter here */
    return last_ms + horizon_ms > now_ms;
}

/* Does own hold everything ack says its signer held in collection coll? A write concurrent
 * with a tombstone (a sibling it must stay beside) was made by a member before that member
 * saw the tombstone, so before its acknowledgement: once own holds all that every
 * acknowledgement covers, such a sibling is here, and no tombstone is collected from under
 * a sibling still on its way (§8.4). */
static bool
s_holds_acked(const vector_t *own, const vector_t *ack, const char *coll)
{
    for (size_t i = 0; i < ack->count; i++) {
        const vector_coll_t *c = &ack->colls[i];
        if (strcmp(c->name, coll) != 0) {
            continue;
        }
        for (size_t j = 0; j < c->count; j++) {
            const vector_entry_t *a = &c->entries[j];
            const vector_entry_t *e = vector_find(own, coll, a->origin, a->incarnation);
            if (a->vv.base && (!e || !vv_covers(&e->vv, a->vv.base))) {
                return false;
            }
        }
    }
    return true;
}

mesh_err_t
collect_stable(const vector_t *own, vector_t *const *acks, size_t n, vector_t **out)
{
    mesh_err_t err = vector_copy(own, out);
    for (size_t i = 0; err == MESH_OK && i < (*out)->count; i++) {
        vector_coll_t *c = &(*out)->colls[i];
        bool holds = true;
        for (size_t k = 0; k < n && holds; k++) {
            holds = s_holds_acked(own, acks[k], c->name);
        }
        for (size_t j = 0; j < c->count; j++) {
            if (!holds) {
                c->entries[j].vv.base = 0; /* not yet: something acknowledged is not here */
                c->entries[j].vv.count = 0;
                continue;
            }
            vector_entry_t *e = &c->entries[j];
            e->vv.count = 0;
            for (size_t k = 0; k < n && e->vv.base; k++) {
                const vector_entry_t *a = vector_find(acks[k], c->name, e->origin, e->incarnation);
                uint64_t base = a ? a->vv.base : 0;
                e->vv.base = base < e->vv.base ? base : e->vv.base;
            }
        }
    }
    return err;
}

bool
collect_covers(const vector_t *stable, const char *coll, const version_ctx_t *ctx)
{
    for (size_t i = 0; i < ctx->count; i++) {
        const wire_dot_t *d = &ctx->dots[i];
        const vector_entry_t *e = vector_find(stable, coll, d->origin, d->incarnation);
        if (!e || e->vv.base < d->seq) {
            return false;
        }
    }
    return true;
}

mesh_err_t
collect_stable_load(mesh_t *m, uint64_t now_ms, uint64_t horizon_ms, vector_t **out,
                    collect_report_t *r)
{
    uint8_t(*keys)[32] = NULL;
    uint64_t *last = NULL, gen = 0;
    size_t n = 0, nacks = 0;
    vector_t **acks = NULL, *own = NULL;
    store_txn_t *txn = NULL;
    const uint8_t *self = ident_public_key(m->ident);
    *out = NULL;
    r->members = r->stale = 0;
    mesh_err_t err = member_keys_copy(m, &keys, &n, &gen);
    if (err == MESH_OK) {
        last = calloc(n ? n : 1, sizeof *last);
        acks = calloc(n ? n : 1, sizeof *acks);
        err = last && acks ? store_read_begin(m->store, &txn) : MESH_ENOMEM;
    }
    if (err == MESH_OK) {
        err = ack_own_vector(txn, &own);
    }
    if (err == MESH_OK) {
        err = ack_heard(txn, (const uint8_t(*)[32])keys, n, last);
    }
    for (size_t i = 0; err == MESH_OK && i < n; i++) {
        bool me = !memcmp(keys[i], self, 32);
        /* our own too: collect only what we told the others we hold (they would wait for
         * an acknowledgement of what is gone here) */
        if (!me && !collect_holds_back(m, keys[i], last[i], now_ms, horizon_ms)) {
            r->stale++;
            continue;
        }
        r->members += !me;
        err = ack_load(txn, keys[i], &acks[nacks]);
        if (err == MESH_ENOTFOUND || err == MESH_EPROTO) { /* it holds nothing for sure */
            acks[nacks] = calloc(1, sizeof **acks);
            err = acks[nacks] ? MESH_OK : MESH_ENOMEM;
        }
        nacks += err == MESH_OK;
    }
    store_read_end(txn);
    if (err == MESH_OK) {
        err = collect_stable(own, acks, nacks, out);
    }
    for (size_t i = 0; i < nacks; i++) {
        vector_free(acks[i]);
    }
    vector_free(own);
    free(acks);
    free(last);
    free(keys);
    return err;
}

/* ---- removing what the stable vector covers ---- */

typedef struct s_cand {
    uint32_t cid;
    char coll[MESH_COLL_MAX + 1];
    uint8_t *key;
    size_t key_len;
} s_cand_t;

typedef struct s_run {
    const vector_t *stable;
    s_cand_t *cands;
    size_t n, cap;
    store_item_t *item;
    version_ctx_t ctx;
    collect_report_t *r;
} s_run_t;

/* Is the item in run->item made only of tombstones that the stable vector covers, with
 * their contexts? run->ctx then holds their join. */
static mesh_err_t
s_collectable(store_txn_t *txn, s_run_t *run, const char *coll, bool *yes)
{
    *yes = false;
    for (size_t i = 0; i < run->item->count; i++) {
        if (run->item->versions[i].kind != WIRE_DEL) {
            return MESH_OK;
        }
    }
    version_ctx_reset(&run->ctx);
    mesh_err_t err = version_ctx_join_item(txn, run->item, &run->ctx);
    *yes = err == MESH_OK && run->item->count && collect_covers(run->stable, coll, &run->ctx);
    return err;
}

/* The candidates of collection cid: the items whose first version is a tombstone, found by
 * reading the version records in the dots tree's order (each in turn, its kind at hand),
 * not the key index (every key's versions looked up, each a read far from the last: 1M
 * items took seconds of the loop thread, in the middle of an initial sync); an item is
 * then read whole for a tombstone that is its first version, so each is looked at once. */
static mesh_err_t
s_scan_coll(store_txn_t *txn, s_run_t *run, const char *name, uint32_t cid, store_item_t *dot)
{
    store_cursor_t *cur = NULL;
    uint64_t seq = 0;
    mesh_err_t err = store_dots_open_coll(txn, cid, &cur);
    while (err == MESH_OK && run->n < COLLECT_BATCH_MAX &&
           (err = store_dots_next(cur, &seq, dot)) == MESH_OK) {
        if (dot->versions[0].kind != WIRE_DEL) {
            continue;
        }
        store_key_t skey;
        bool yes = false;
        node_store_key(dot->key, dot->key_len, &skey);
        err = store_item_get(txn, cid, &skey, run->item);
        if (err == MESH_ENOTFOUND) {
            err = MESH_OK; /* (a version no item names: not this pass's business) */
            continue;
        }
        if (err != MESH_OK || run->item->count == 0 ||
            run->item->versions[0].oid != dot->versions[0].oid ||
            run->item->versions[0].seq != seq) {
            continue;
        }
        err = s_collectable(txn, run, name, &yes);
        if (err != MESH_OK || !yes) {
            continue;
        }
        if (run->n == run->cap) {
            size_t cap = run->cap ? run->cap * 2 : 64;
            void *p = realloc(run->cands, cap * sizeof *run->cands);
            if (!p) {
                err = MESH_ENOMEM;
                break;
            }
            run->cands = p;
            run->cap = cap;
        }
        s_cand_t *c = &run->cands[run->n];
        if (!(c->key = malloc(run->item->key_len))) {
            err = MESH_ENOMEM;
            break;
        }
        memcpy(c->key, run->item->key, run->item->key_len);
        c->key_len = run->item->key_len;
        c->cid = cid;
        memcpy(c->coll, name, sizeof c->coll);
        run->n++;
    }
    store_cursor_close(cur);
    return err == MESH_ENOTFOUND ? MESH_OK : err;
}

static mesh_err_t
s_scan(store_txn_t *txn, s_run_t *run)
{
    store_cursor_t *colls = NULL;
    char name[MESH_COLL_MAX + 1];
    uint32_t cid = 0;
    store_item_t *dot = malloc(sizeof *dot);
    mesh_err_t err = dot ? store_colls_open(txn, &colls) : MESH_ENOMEM;
    while (err == MESH_OK && run->n < COLLECT_BATCH_MAX &&
           (err = store_colls_next(colls, name, &cid)) == MESH_OK) {
        if (name[0] != '_') {
            err = s_scan_coll(txn, run, name, cid, dot);
        }
    }
    store_cursor_close(colls);
    free(dot);
    return err == MESH_ENOTFOUND ? MESH_OK : err;
}

/* Remove one candidate when it still is one: digest, stats, records, floor. */
static mesh_err_t
s_remove(store_txn_t *txn, s_run_t *run, const s_cand_t *c, store_coll_stats_t *stats)
{
    store_key_t skey;
    bool yes = false;
    node_store_key(c->key, c->key_len, &skey);
    mesh_err_t err = store_item_get(txn, c->cid, &skey, run->item);
    if (err == MESH_ENOTFOUND) {
        return MESH_OK;
    }
    if (err == MESH_OK) {
        err = s_collectable(txn, run, c->coll, &yes);
    }
    if (err != MESH_OK || !yes) {
        return err;
    }
    size_t count = run->item->count;
    struct {
        uint32_t oid;
        uint64_t seq;
    } dots[STORE_SIBLINGS_MAX];
    for (size_t i = 0; err == MESH_OK && i < count; i++) {
        const store_version_t *v = &run->item->versions[i];
        uint8_t origin[WIRE_ORIGIN_LEN];
        uint64_t inc = 0;
        err = store_origin_signed(txn, v->oid, origin, &inc);
        if (err == MESH_OK) {
            version_digest_apply(stats->digest, origin, inc, v->meta, v->meta_len, true);
            dots[i].oid = v->oid;
            dots[i].seq = v->seq;
        }
    }
    for (size_t i = 0; err == MESH_OK && i < count; i++) {
        err = store_dot_del(txn, c->cid, dots[i].oid, dots[i].seq);
    }
    if (err == MESH_OK) {
        err = store_item_put(txn, c->cid, &skey, NULL, 0);
    }
    for (size_t i = 0; err == MESH_OK && i < run->ctx.count; i++) {
        const wire_dot_t *d = &run->ctx.dots[i];
        err = store_gc_floor_raise(txn, c->cid, d->origin, d->incarnation, d->seq);
    }
    if (err == MESH_OK) {
        stats->keys--;
        stats->versions -= count;
        run->r->items++;
        run->r->versions += count;
    }
    return err;
}

/* ---- set records whose every op is gone ---- */

typedef struct s_set_ref {
    uint32_t oid;
    uint64_t first_seq;
} s_set_ref_t;

/* May the set record (cid, oid, first_seq, count: its header's ops) go? Not when it is its
 * origin's latest (watermarks and a header sent alone need it, §5.5), under a derived number
 * (§5.7), past what every member acknowledged, or holding a live version or tombstone (its
 * leaves give their proofs). */
static mesh_err_t
s_set_gone(store_txn_t *txn, const vector_t *stable, const char *coll, uint32_t cid,
           const store_set_t *set, bool *gone)
{
    uint8_t origin[WIRE_ORIGIN_LEN];
    uint64_t inc = 0, seq = 0, end = set->first_seq + set->count;
    bool derived = false;
    store_cursor_t *cur = NULL;
    *gone = false;
    mesh_err_t err = store_origin_is_derived(txn, set->oid, &derived);
    if (err == MESH_OK && !derived) {
        err = store_origin_get(txn, set->oid, origin, &inc);
    }
    if (err != MESH_OK || derived) {
        return err;
    }
    /* "_mesh" is in no acknowledgement: its superseded sets (an acknowledgement replaced
     * every second under load) go as soon as none of their ops is held; nothing ever sends
     * such a set again but an origin's latest (§5.5), which stays */
    const vector_entry_t *e = vector_find(stable, coll, origin, inc);
    if (strcmp(coll, MEMBER_COLL) != 0 && (!e || e->vv.base < end - 1)) {
        return MESH_OK;
    }
    store_item_t *item = malloc(sizeof *item);
    err = item ? store_dots_open(txn, cid, set->oid, set->first_seq, &cur) : MESH_ENOMEM;
    if (err == MESH_OK) {
        err = store_dots_next(cur, &seq, item);
    }
    store_cursor_close(cur);
    free(item);
    if (err == MESH_ENOTFOUND || (err == MESH_OK && seq >= end)) {
        *gone = true;
        err = MESH_OK;
    }
    return err;
}

/* Remove the set records of cid whose every op is gone (s_set_gone). */
static mesh_err_t
s_sets(store_txn_t *txn, s_run_t *run, uint32_t cid, const char *coll)
{
    store_cursor_t *cur = NULL;
    store_set_t set, prev = {0};
    s_set_ref_t *refs = NULL;
    size_t n = 0, cap = 0;
    bool have = false;
    mesh_err_t err = store_sets_open(txn, cid, &cur);
    while (err == MESH_OK && (err = store_sets_next(cur, &set)) == MESH_OK) {
        bool gone = false;
        if (have && prev.oid == set.oid) { /* prev is not its origin's latest */
            err = s_set_gone(txn, run->stable, coll, cid, &prev, &gone);
        }
        if (err == MESH_OK && gone && n == cap) {
            cap = cap ? cap * 2 : 64;
            s_set_ref_t *p = realloc(refs, cap * sizeof *refs);
            err = p ? MESH_OK : MESH_ENOMEM;
            refs = p ? p : refs;
        }
        if (err == MESH_OK && gone) {
            refs[n++] = (s_set_ref_t){prev.oid, prev.first_seq};
        }
        /* the ops the header signs: a partial set's record keeps no leaves (count 0) */
        wire_header_t h = {0};
        if (err == MESH_OK && wire_header_decode(set.header, set.header_len, &h) != MESH_OK) {
            err = MESH_ECORRUPT;
        }
        prev = (store_set_t){.oid = set.oid, .first_seq = set.first_seq, .count = h.count};
        have = true;
    }
    store_cursor_close(cur);
    err = err == MESH_ENOTFOUND ? MESH_OK : err;
    for (size_t i = 0; err == MESH_OK && i < n; i++) {
        err = store_set_del(txn, cid, refs[i].oid, refs[i].first_seq);
    }
    run->r->sets += err == MESH_OK ? n : 0;
    free(refs);
    return err;
}

static mesh_err_t
s_write(store_txn_t *txn, void *arg)
{
    s_run_t *run = arg;
    store_coll_stats_t stats;
    store_cursor_t *colls = NULL;
    char name[MESH_COLL_MAX + 1];
    uint32_t cid = 0;
    /* the body may run again (the map grew) */
    run->r->items = run->r->versions = run->r->sets = 0;
    mesh_err_t err = MESH_OK;
    for (size_t i = 0; err == MESH_OK && i < run->n;) {
        cid = run->cands[i].cid;
        err = store_coll_stats_get(txn, cid, &stats);
        for (; err == MESH_OK && i < run->n && run->cands[i].cid == cid; i++) {
            err = s_remove(txn, run, &run->cands[i], &stats);
        }
        if (err == MESH_OK) {
            err = store_coll_stats_put(txn, cid, &stats);
        }
    }
    /* then the set records that nothing needs any more, collection by collection */
    size_t ncolls = 0;
    uint32_t *cids = NULL;
    char(*names)[MESH_COLL_MAX + 1] = NULL;
    if (err == MESH_OK) {
        err = store_colls_open(txn, &colls);
    }
    while (err == MESH_OK && (err = store_colls_next(colls, name, &cid)) == MESH_OK) {
        if (name[0] == '_' && strcmp(name, MEMBER_COLL) != 0) {
            continue;
        }
        uint32_t *c = realloc(cids, (ncolls + 1) * sizeof *cids);
        cids = c ? c : cids;
        void *p = c ? realloc(names, (ncolls + 1) * sizeof *names) : NULL;
        names = p ? p : names;
        if (!p) {
            err = MESH_ENOMEM;
            break;
        }
        cids[ncolls] = cid;
        memcpy(names[ncolls++], name, sizeof name);
    }
    store_cursor_close(colls);
    err = err == MESH_ENOTFOUND ? MESH_OK : err;
    for (size_t i = 0; err == MESH_OK && i < ncolls; i++) {
        err = s_sets(txn, run, cids[i], names[i]);
    }
    free(cids);
    free(names);
    return err;
}

mesh_err_t
collect_run(mesh_t *m, const vector_t *stable, collect_report_t *r, bool *more)
{
    s_run_t run = {.stable = stable, .r = r};
    store_txn_t *txn = NULL;
    r->items = r->versions = 0;
    *more = false;
    version_ctx_init(&run.ctx);
    run.item = malloc(sizeof *run.item);
    mesh_err_t err = run.item ? store_read_begin(m->store, &txn) : MESH_ENOMEM;
    if (err == MESH_OK) {
        err = s_scan(txn, &run);
    }
    store_read_end(txn);
    if (err == MESH_OK) {
        err = store_write(m->store, s_write, &run);
        *more = run.n == COLLECT_BATCH_MAX;
    }
    for (size_t i = 0; i < run.n; i++) {
        free(run.cands[i].key);
    }
    free(run.cands);
    free(run.item);
    version_ctx_release(&run.ctx);
    return err != MESH_OK ? node_fail_store(m, err, "collect tombstones") : MESH_OK;
}

/* ---- the repair side: never undo a collected delete ---- */

/* A tombstone offered under the floor is taken back (*refused cleared) when this device
 * holds a version of its key, live or not: it cannot undo a delete, and without it this
 * device showed the sibling alone while a member that had not collected held the tombstone
 * beside it for good (never collected there: it may win, or the sibling's dots are never
 * all acknowledged), showing the key deleted, or holding other tombstones. That happens
 * when this device collected with members silent past its horizon and one of them had
 * written the sibling concurrently, or when the sibling is a removed device's, valid below
 * its cut, that came after every member acknowledged (§8.4; model seed 1718). */
static mesh_err_t
s_beside_live(store_txn_t *st, uint32_t cid, const wire_opmeta_t *op, bool *refused)
{
    store_key_t skey;
    store_item_t *item = malloc(sizeof *item);
    if (!item) {
        return MESH_ENOMEM;
    }
    node_store_key(op->key, op->key_len, &skey);
    mesh_err_t err = store_item_get(st, cid, &skey, item);
    *refused &= !(err == MESH_OK && item->count > 0);
    free(item);
    return err == MESH_ENOTFOUND ? MESH_OK : err;
}

mesh_err_t
collect_refuses(store_txn_t *st, uint32_t cid, uint32_t at, const wire_header_t *h,
                const wire_opmeta_t *op, bool *refused)
{
    uint64_t floor = 0, seq = 0;
    store_cursor_t *cur = NULL;
    *refused = false;
    mesh_err_t err = store_gc_floor_get(st, cid, h->origin, h->incarnation, &floor);
    if (err != MESH_OK || op->seq > floor) {
        return err;
    }
    store_item_t *item = malloc(sizeof *item);
    if (!item) {
        return MESH_ENOMEM;
    }
    err = store_dots_open(st, cid, at, op->seq, &cur);
    if (err == MESH_OK) {
        err = store_dots_next(cur, &seq, item);
    }
    store_cursor_close(cur);
    free(item);
    if (err == MESH_ENOTFOUND || (err == MESH_OK && seq != op->seq)) {
        err = MESH_OK;
        *refused = true;
    } else {
        return err; /* held here: the rules say "known" */
    }
    if (op->kind == WIRE_DEL) {
        err = s_beside_live(st, cid, op, refused);
        if (err != MESH_OK || !*refused) {
            return err;
        }
    }
    if (op->kind == WIRE_PUT) { /* a live value: the device that offered it is to drop it */
        store_gc_redo_t r = {.coll = h->coll,
                             .coll_len = h->coll_len,
                             .key = op->key,
                             .key_len = op->key_len,
                             .incarnation = h->incarnation,
                             .seq = op->seq};
        memcpy(r.origin, h->origin, WIRE_ORIGIN_LEN);
        err = store_gc_redo_put(st, &r);
    }
    return err;
}

/* Write key of coll anew as it reads here (its value, or deleted), covering dot. */
static mesh_err_t
s_redo_one(mesh_t *m, const char *coll, const uint8_t *key, size_t key_len, const wire_dot_t *dot)
{
    void *value = NULL;
    size_t value_len = 0;
    mesh_txn_t *txn = NULL;
    mesh_err_t err = mesh_get(m, coll, key, key_len, &value, &value_len);
    bool live = err == MESH_OK;
    err = err == MESH_ENOTFOUND ? MESH_OK : err;
    if (err == MESH_OK) {
        err = mesh_txn_begin(m, coll, &txn);
    }
    if (err == MESH_OK) {
        err = live ? mesh_put(txn, key, key_len, value, value_len) : mesh_del(txn, key, key_len);
    }
    if (err == MESH_OK) {
        err = txn_cover(txn, dot);
    }
    if (err == MESH_OK) {
        err = mesh_txn_commit(&txn, NULL);
    }
    mesh_txn_abort(txn);
    mesh_free(value);
    return err;
}

static mesh_err_t
s_redo_drop(store_txn_t *txn, void *arg)
{
    return store_gc_redo_del(txn, arg);
}

mesh_err_t
collect_redo(mesh_t *m, size_t *done)
{
    *done = 0;
    mesh_err_t err = MESH_OK;
    for (size_t round = 0; err == MESH_OK && round < 256; round++) {
        store_txn_t *txn = NULL;
        store_gc_redo_t r;
        char coll[MESH_COLL_MAX + 1];
        uint8_t key[MESH_KEY_MAX];
        size_t key_len = 0;
        wire_dot_t dot;
        err = store_read_begin(m->store, &txn);
        if (err == MESH_OK) {
            err = store_gc_redo_first(txn, &r);
        }
        if (err == MESH_OK && (r.coll_len > MESH_COLL_MAX || r.key_len > MESH_KEY_MAX)) {
            err = MESH_ECORRUPT;
        }
        if (err == MESH_OK) {
            memcpy(coll, r.coll, r.coll_len);
            coll[r.coll_len] = '\0';
            memcpy(key, r.key, r.key_len);
            key_len = r.key_len;
            memcpy(dot.origin, r.origin, WIRE_ORIGIN_LEN);
            dot.incarnation = r.incarnation;
            dot.seq = r.seq;
        }
        store_read_end(txn);
        if (err == MESH_ENOTFOUND) {
            return MESH_OK;
        }
        if (err == MESH_OK) {
            mesh_err_t e = s_redo_one(m, coll, key, key_len, &dot);
            if (e != MESH_OK) { /* dropped from the queue all the same: never a loop */
                node_log(m, MESH_LOG_WARN, "collection: delete anew in \"%s\": %s", coll,
                         mesh_strerror(e));
            }
            r.coll = coll;
            r.key = key;
            err = store_write(m->store, s_redo_drop, &r);
            *done += e == MESH_OK;
        }
    }
    return err;
}

/* ---- the daemon's timer ---- */

#define S_TICK_MS    1000                  /* how often the timer looks */
#define S_REFRESH_MS (24ull * 3600 * 1000) /* an unchanged acknowledgement, at least daily */

static uint64_t
s_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void
collect_tick(mesh_t *m, collect_state_t *s, int64_t now_ms)
{
    if (now_ms < s->next_ms) {
        return;
    }
    s->next_ms = now_ms + S_TICK_MS;
    uint64_t refresh = m->horizon_ms / 3;
    bool wrote = false, more = false;
    vector_t *stable = NULL;
    collect_report_t r = {0};
    size_t redone = 0;
    bool needed = false;
    mesh_err_t err = ack_needed(m, &s->scanned, &needed);
    if (err == MESH_OK) {
        err = ack_publish(m, needed, refresh < S_REFRESH_MS ? refresh : S_REFRESH_MS, &wrote);
    }
    if (err != MESH_OK) {
        node_log(m, MESH_LOG_WARN, "acknowledgement: %s", mesh_errmsg(m));
    }
    err = collect_stable_load(m, s_wall_ms(), m->horizon_ms, &stable, &r);
    if (err == MESH_OK && now_ms >= s->run_ms && (!s->last || !vector_equal(s->last, stable))) {
        int64_t t0 = node_now_ms();
        err = collect_run(m, stable, &r, &more);
        /* a pass scans the items on the loop thread: at most a twentieth of its time */
        int64_t took = node_now_ms() - t0;
        s->run_ms = now_ms + (took * 20 > S_TICK_MS ? took * 20 : 0);
        if (err == MESH_OK && (r.items || r.sets)) {
            node_log(m, MESH_LOG_INFO,
                     "collected %llu tombstone(s) of %llu deleted key(s) and %llu set "
                     "record(s) (%zu member(s) acknowledged, %zu silent past the horizon)",
                     (unsigned long long)r.versions, (unsigned long long)r.items,
                     (unsigned long long)r.sets, r.members, r.stale);
        }
        if (err == MESH_OK && !more) {
            vector_free(s->last);
            s->last = stable;
            stable = NULL;
        }
    }
    if (err != MESH_OK) {
        node_log(m, MESH_LOG_WARN, "collection: %s", mesh_errmsg(m));
    }
    vector_free(stable);
    if (collect_redo(m, &redone) != MESH_OK) {
        node_log(m, MESH_LOG_WARN, "collection: delete anew: %s", mesh_errmsg(m));
    } else if (redone) {
        node_log(m, MESH_LOG_WARN,
                 "collection: a repair offered %zu collected value(s) back: deleted anew", redone);
    }
}

void
collect_state_release(collect_state_t *s)
{
    if (s) {
        vector_free(s->last);
        vector_free(s->scanned);
        s->last = s->scanned = NULL;
    }
}
