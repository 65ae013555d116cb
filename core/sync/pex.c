/* core/sync/pex.c: peer exchange and paths (docs/PROTOCOL.md §17). What we tell a member:
 * our own listen address when it names one host (not every interface), and per other
 * member the addresses our own links to it worked at and those it stated itself. What we
 * take: only from a member with a session up, only for members, only addresses of the
 * form, into books with caps; a told address is a hint, dialled like any other, and CURVE
 * decides who answers there. Paths: per member, the session whose batch last carried its
 * sets. The books are saved in the store's metadata now and then.
 * Layer: core (sync). Third-party: none. SPDX-License-Identifier: MIT */
#include "core/sync/pex.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/base/testhook.h"
#include "core/member/addr.h"
#include "core/member/addrbook.h"
#include "core/sync/dial.h"
#include "core/wire/addrs.h"
#include "crypto/hash.h"
#include "crypto/ident.h"
#include "store/store.h"

/* The session of the member whose device key is device, or NULL (a linear walk: a PEX
 * names at most WIRE_PEX_ENTRIES_MAX members, at most once a second per sender). */
static session_t *
s_by_device(loop_t *l, const uint8_t *device)
{
    for (size_t i = 0; i < l->nsess; i++) {
        if (memcmp(l->sess[i]->device, device, WIRE_ORIGIN_LEN) == 0) {
            return l->sess[i];
        }
    }
    return NULL;
}

void
pex_heard(loop_t *l, session_t *s, uint32_t conn)
{
    if (conn != s->conn_out || !s->addr[0]) {
        return;
    }
    int64_t now = sync_now_ms();
    if (s->book_conn == conn && now - s->book_ok_ms < PEX_WORKED_MS) {
        return;
    }
    s->book_conn = conn;
    s->book_ok_ms = now;
    if (addrbook_worked(&s->book, s->addr, (int64_t)time(NULL))) {
        node_log(l->m, MESH_LOG_DEBUG, "our link to %s at %s works", s->id, s->addr);
    }
}

/* Note the entry's addresses in the book of the member it names; true when one is new. */
static bool
s_take_entry(loop_t *l, session_t *from, const wire_pex_entry_t *e, session_t **about)
{
    bool any = false;
    *about = NULL;
    if (memcmp(e->device, ident_public_key(l->m->ident), WIRE_ORIGIN_LEN) == 0) {
        return false; /* where we are, we know */
    }
    session_t *d = s_by_device(l, e->device);
    if (!d || d->removed) {
        return false; /* not a member: nothing of it is kept */
    }
    *about = d;
    bool self = d == from;
    for (size_t i = 0; i < e->count; i++) {
        char addr[WIRE_ADDR_LEN_MAX + 1];
        bool added = false;
        if (!addr_is_valid(e->addrs[i], e->addr_lens[i])) {
            continue; /* not of the form: never dialled */
        }
        memcpy(addr, e->addrs[i], e->addr_lens[i]);
        addr[e->addr_lens[i]] = '\0';
        if (addrbook_note(&d->book, addr, self ? ADDRBOOK_SELF : ADDRBOOK_TOLD, from->device,
                          (int64_t)time(NULL), &added) == MESH_OK &&
            added) {
            node_log(l->m, MESH_LOG_DEBUG, "%s says %s is at %s", from->id, d->id, addr);
            any = true;
        }
    }
    return any;
}

mesh_err_t
pex_on_msg(loop_t *l, session_t *s, const wire_msg_t *msg)
{
    int64_t now = sync_now_ms();
    if (s->pex_heard_ms && now - s->pex_heard_ms < PEX_HEAR_GAP_MS) {
        s->pex_ignored++;
        return MESH_OK; /* too soon: a member cannot make us note addresses faster */
    }
    s->pex_heard_ms = now;
    wire_pex_t *pex = malloc(sizeof *pex);
    if (!pex) {
        return MESH_OK; /* a hint lost, nothing else */
    }
    mesh_err_t err = wire_pex_decode(msg->body, msg->body_len, pex);
    for (size_t i = 0; err == MESH_OK && i < pex->count; i++) {
        session_t *d = NULL;
        if (s_take_entry(l, s, &pex->entries[i], &d)) {
            dial_book_changed(l, d);
        }
    }
    free(pex);
    return err;
}

/* Keep the path of origin's sets until its session exists (its member's record came in the
 * same batch, and sessions follow membership at the next loop turn): pex_tick takes it. The
 * oldest goes when SYNC_PATHS_PENDING are kept. */
static void
s_pending(loop_t *l, const uint8_t *origin, session_t *via, time_t now)
{
    size_t at = l->npaths_pending;
    for (size_t i = 0; i < l->npaths_pending; i++) {
        if (memcmp(l->paths_pending[i].origin, origin, WIRE_ORIGIN_LEN) == 0) {
            at = i;
            break;
        }
    }
    if (at == SYNC_PATHS_PENDING) {
        at = 0;
        for (size_t i = 1; i < SYNC_PATHS_PENDING; i++) {
            at = l->paths_pending[i].when < l->paths_pending[at].when ? i : at;
        }
    } else if (at == l->npaths_pending) {
        l->npaths_pending++;
    }
    memcpy(l->paths_pending[at].origin, origin, WIRE_ORIGIN_LEN);
    l->paths_pending[at].via = via;
    l->paths_pending[at].when = now;
}

/* Take a kept path for s, now that it has a session; drop those older than a minute (an
 * origin that is no member). */
static void
s_take_pending(loop_t *l, session_t *s, time_t now)
{
    for (size_t i = l->npaths_pending; i-- > 0;) {
        sync_path_pending_t *p = &l->paths_pending[i];
        bool mine = memcmp(p->origin, s->device, WIRE_ORIGIN_LEN) == 0;
        if (mine && p->when >= s->via_unix) {
            s->via = p->via;
            s->via_unix = p->when;
        }
        if (mine || now - p->when > 60) {
            *p = l->paths_pending[--l->npaths_pending];
        }
    }
}

void
pex_note_batch(loop_t *l, session_t *s, const wire_doc_t *doc)
{
    const uint8_t *prev = NULL;
    size_t looked = 0;
    time_t now = time(NULL);
    for (size_t i = 0; doc && i < doc->count; i++) {
        const wire_section_t *sec = &doc->sections[i];
        for (size_t j = 0; j < sec->mark_count && looked < PEX_ORIGINS_MAX; j++) {
            const uint8_t *origin = sec->marks[j].origin;
            if (prev && memcmp(prev, origin, WIRE_ORIGIN_LEN) == 0) {
                continue;
            }
            prev = origin;
            looked++;
            session_t *d = s_by_device(l, origin);
            if (d) {
                d->via = s;
                d->via_unix = now;
            } else {
                s_pending(l, origin, s, now);
            }
        }
    }
}

/* Where the FNV-1a of what we tell a member starts (not HASH_FNV_START: the hash is kept
 * in the store, and one made by an earlier build must compare equal). */
#define S_KEPT_START 1469598103934665603ull

/* Our own listen address, when it names one host: what we state about ourself. */
static bool
s_own_addr(const loop_t *l, const char **addr, size_t *len)
{
    addr_t a;
    size_t n = strlen(l->listen);
    if (n == 0 || n > WIRE_ADDR_LEN_MAX ||
        addr_parse(l->listen, n, false, &a, NULL, 0) != MESH_OK || strcmp(a.host, "0.0.0.0") == 0) {
        return false;
    }
    *addr = l->listen;
    *len = n;
    return true;
}

static int
s_entry_cmp(const void *a, const void *b)
{
    return memcmp(((const wire_pex_entry_t *)a)->device, ((const wire_pex_entry_t *)b)->device,
                  WIRE_ORIGIN_LEN);
}

/* What we tell r, into pex (count 0: nothing to tell): ourself first, then the other
 * members in turn from a place that moves each time, so that past WIRE_PEX_ENTRIES_MAX
 * members every one is told of in time. */
static void
s_build(loop_t *l, session_t *r, wire_pex_t *pex)
{
    size_t start = l->pex_start;
    memset(pex, 0, sizeof *pex);
    wire_pex_entry_t *e = &pex->entries[0];
    if (s_own_addr(l, &e->addrs[0], &e->addr_lens[0])) {
        memcpy(e->device, ident_public_key(l->m->ident), WIRE_ORIGIN_LEN);
        e->count = 1;
        pex->count = 1;
    }
    for (size_t k = 0; k < l->nsess && pex->count < WIRE_PEX_ENTRIES_MAX; k++) {
        session_t *d = l->sess[(start + k) % l->nsess];
        e = &pex->entries[pex->count];
        if (d == r || d->removed) {
            continue;
        }
        e->count = addrbook_shareable(&d->book, e->addrs, WIRE_PEX_ADDRS_MAX);
        for (size_t i = 0; i < e->count; i++) {
            e->addr_lens[i] = strlen(e->addrs[i]);
        }
        if (e->count) {
            memcpy(e->device, d->device, WIRE_ORIGIN_LEN);
            pex->count++;
        }
    }
    l->pex_start = l->nsess ? (start + WIRE_PEX_ENTRIES_MAX) % l->nsess : 0;
    qsort(pex->entries, pex->count, sizeof pex->entries[0], s_entry_cmp);
}

void
pex_tick(loop_t *l, session_t *s, int64_t now, sync_send_fn send)
{
    if (l->npaths_pending) {
        s_take_pending(l, s, time(NULL));
    }
    if (!s->ok || s->removed) {
        s->pex_sent_ms = 0; /* told again soon after its next HELLO */
        s->pex_up_ms = 0;
        return;
    }
    if (!s->pex_up_ms) {
        s->pex_up_ms = now;
    }
    if (s->minor < PEX_MINOR || testhook_number(TESTHOOK_NO_PEX, 0) == 1 ||
        (s->pex_sent_ms && now - s->pex_sent_ms < PEX_CHANGED_MS)) {
        return;
    }
    wire_pex_t *pex = malloc(sizeof *pex);
    if (!pex) {
        return;
    }
    wire_buf_t body;
    wire_buf_init(&body);
    s_build(l, s, pex);
    bool first = s->pex_sent_ms == 0;
    s->pex_sent_ms = now; /* (whether sent or not: looked at again in PEX_CHANGED_MS) */
    if (pex->count && wire_pex_encode(pex, &body) == MESH_OK) {
        /* what it holds too: a PEX taken before the records of the members it names (they
         * come in its first batches) skips them, and says so to nobody; told again once
         * its summary moved, they are taken */
        uint64_t kept = hash_fnv(S_KEPT_START, body.data, body.len), h = kept;
        /* a member told what it was told before, by the last session (kept in the store):
         * not again at its first turn (one changed item after a restart costs no PEX) */
        bool unchanged = first && kept == s->pex_kept_hash;
        if (unchanged) {
            s->pex_sent_hash = h;
            s->pex_told_ms = now;
        }
        /* what it holds too while the session settles (PEX_SETTLE_MS after it came up,
         * once told in it): a PEX taken before the records of the members it names (they
         * come in its first batches) skips them, and says so to nobody; told again once
         * its summary moved, they are taken. Later, PEX_EVERY_MS covers it. */
        if (s->peer_summary_known && s->pex_told_ms >= s->pex_up_ms && !unchanged &&
            now - s->pex_up_ms < PEX_SETTLE_MS) {
            h = hash_fnv(h, s->peer_summary, WIRE_SUMMARY_LEN);
        }
        if (!unchanged &&
            (first || h != s->pex_sent_hash || now - s->pex_told_ms >= PEX_EVERY_MS)) {
            wire_msg_t msg = {.type = WIRE_MSG_PEX, .body = body.data, .body_len = body.len};
            if (send(l, s, &msg) == MESH_OK) {
                s->pex_sent_hash = h;
                s->pex_told_ms = now;
                s->pex_kept_dirty |= kept != s->pex_kept_hash;
                s->pex_kept_hash = kept;
                node_log(l->m, MESH_LOG_DEBUG, "told %s the addresses of %zu member(s)", s->id,
                         pex->count);
            }
        }
    }
    wire_buf_release(&body);
    free(pex);
}

static mesh_err_t
s_save_body(store_txn_t *txn, void *ctx)
{
    loop_t *l = ctx;
    mesh_err_t err = MESH_OK;
    for (size_t i = 0; i < l->nsess && err == MESH_OK; i++) {
        session_t *s = l->sess[i];
        if (s->book.dirty) {
            err = addrbook_save(txn, s->id, &s->book);
        }
        if (err == MESH_OK && s->pex_kept_dirty) {
            char name[sizeof SYNC_PEX_KEPT + MESH_ID_TEXT_LEN];
            snprintf(name, sizeof name, "%s%s", SYNC_PEX_KEPT, s->id);
            err = store_meta_put_u64(txn, name, s->pex_kept_hash);
        }
    }
    return err;
}

void
pex_save(loop_t *l, int64_t now, bool now_too)
{
    bool dirty = false;
    if (!now_too && now - l->pex_save_ms < PEX_SAVE_MS) {
        return;
    }
    l->pex_save_ms = now;
    for (size_t i = 0; i < l->nsess && !dirty; i++) {
        dirty = l->sess[i]->book.dirty || l->sess[i]->pex_kept_dirty;
    }
    if (!dirty) {
        return;
    }
    mesh_err_t err = store_write(l->m->store, s_save_body, l);
    if (err != MESH_OK) {
        node_log(l->m, MESH_LOG_WARN, "cannot save the address books: %s", mesh_strerror(err));
        return;
    }
    for (size_t i = 0; i < l->nsess; i++) {
        l->sess[i]->book.dirty = l->sess[i]->pex_kept_dirty = false;
    }
}
