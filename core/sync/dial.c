/* core/sync/dial.c: reaching each member: a session slot per member, its known addresses,
 * dialling them in turn while no session comes, and the admission rule of the transport.
 * Owns: following membership (member_generation, mesh_peers) into the loop's sessions, and
 * the outgoing links (transport_connect/disconnect of conn_out).
 * Not here: what is said on a link (core/sync/session.c), the thread (core/sync/loop.c).
 * Layer: core (sync). Third-party: none. SPDX-License-Identifier: MIT */
#include "core/sync/dial.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/member/addr.h"
#include "core/member/addrbook.h"
#include "core/member/member.h"
#include "core/member/peer.h"
#include "core/sync/status.h"
#include "core/sync/sync.h"
#include "crypto/devid.h"
#include "crypto/ident.h"
#include "store/store.h"

/* The order of l->by_curve: by CURVE key (a session_t * each). */
static int
s_by_curve(const void *a, const void *b)
{
    const session_t *x = *(session_t *const *)a, *y = *(session_t *const *)b;
    return memcmp(x->curve, y->curve, TRANSPORT_KEY_LEN);
}

/* A binary search of l->by_curve: O(log members) for every frame and handshake, however
 * many members a member's records add. */
session_t *
dial_by_curve(loop_t *l, const uint8_t *curve)
{
    size_t lo = 0, hi = l->nby_curve;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = memcmp(l->by_curve[mid]->curve, curve, TRANSPORT_KEY_LEN);
        if (c == 0) {
            return l->by_curve[mid];
        }
        if (c < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return NULL;
}

/* Sort every session into l->by_curve (after sessions were added). On no memory the old
 * index stays, and the next membership change tries again. */
static void
s_index(loop_t *l)
{
    session_t **index = malloc((l->nsess ? l->nsess : 1) * sizeof *index);
    if (!index) {
        l->members_gen = UINT64_MAX;
        return;
    }
    memcpy(index, l->sess, l->nsess * sizeof *index);
    qsort(index, l->nsess, sizeof *index, s_by_curve);
    free(l->by_curve);
    l->by_curve = index;
    l->nby_curve = l->nsess;
}

/* The ZAP rule and the per-frame check: the key of a member other than us. */
bool
dial_admit(void *ctx, const uint8_t *curve)
{
    loop_t *l = ctx;
    session_t *s = dial_by_curve(l, curve);
    /* a removal is refused from the frame after it is known, before dial_members runs */
    if (s && !s->removed &&
        (member_generation(l->m) == l->members_gen || member_is(l->m, s->device))) {
        return true;
    }
    status_refused(ctx, curve); /* named in the log and in status */
    return false;
}

/* Address i of a space-separated list (NULL: empty) into out, counting only the addresses
 * that fit in cap bytes (a longer one, which another device's record may carry, is passed
 * over rather than hiding those after it); false when there is no such address. */
static bool
s_addr_at(const char *addrs, size_t i, char *out, size_t cap)
{
    const char *p = addrs ? addrs : "";
    for (;;) {
        p += strspn(p, " ");
        size_t n = strcspn(p, " ");
        if (n == 0) {
            return false;
        }
        if (n < cap && i-- == 0) {
            memcpy(out, p, n);
            out[n] = '\0';
            return true;
        }
        p += n;
    }
}

/* s's addresses in the order to dial them (addrbook_order), space-separated: malloc'd, or
 * NULL when out of memory. */
static char *
s_book_text(const session_t *s)
{
    const addrbook_entry_t *order[ADDRBOOK_MAX];
    size_t n = addrbook_order(&s->book, order), len = 1;
    for (size_t i = 0; i < n; i++) {
        len += strlen(order[i]->addr) + 1;
    }
    char *text = malloc(len);
    size_t at = 0;
    if (!text) {
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        size_t alen = strlen(order[i]->addr);
        if (i) {
            text[at++] = ' ';
        }
        memcpy(text + at, order[i]->addr, alen);
        at += alen;
    }
    text[at] = '\0';
    return text;
}

/* Does text hold the words of addrs (NULL: none yet) in any order, no more, no fewer? A
 * new order alone (an address worked or failed since) changes nothing: the turn goes on,
 * and its backoff with it (membership moves with every commit, and a dead member's order
 * with each failure). */
static bool
s_same_words(const char *text, const char *addrs)
{
    size_t n = 0, m = 0;
    if (!addrs) {
        return false;
    }
    for (const char *p = text;;) {
        p += strspn(p, " ");
        size_t len = strcspn(p, " ");
        if (len == 0) {
            break;
        }
        bool found = false;
        for (const char *q = addrs; !found;) {
            q += strspn(q, " ");
            size_t qlen = strcspn(q, " ");
            if (qlen == 0) {
                break;
            }
            found = qlen == len && memcmp(p, q, len) == 0;
            q += qlen;
        }
        if (!found) {
            return false;
        }
        n++;
        p += len;
    }
    for (const char *q = addrs;;) {
        q += strspn(q, " ");
        size_t qlen = strcspn(q, " ");
        if (qlen == 0) {
            break;
        }
        m++;
        q += qlen;
    }
    return n == m;
}

/* The place of address a among s->addrs, or SIZE_MAX. */
static size_t
s_addr_index(const session_t *s, const char *a)
{
    char at[sizeof s->addr];
    for (size_t i = 0; s_addr_at(s->addrs, i, at, sizeof at); i++) {
        if (strcmp(at, a) == 0) {
            return i;
        }
    }
    return SIZE_MAX;
}

/* Hang up our link to s, if any, and dial s->addr (none when it is ""); why (may be NULL)
 * goes into a debug line saying so. */
static void
s_connect(loop_t *l, session_t *s, const char *why)
{
    if (s->conn_out != SYNC_NO_CONN) {
        transport_disconnect(l->t, s->conn_out);
        s->conn_out = SYNC_NO_CONN;
        s->hello_out = false;
    }
    s->dial_ms = sync_now_ms();
    if (!s->addr[0]) {
        return;
    }
    if (why) {
        node_log(l->m, MESH_LOG_DEBUG, "dialling %s at %s: %s", s->id, s->addr, why);
    }
    if (transport_connect(l->t, s->curve, s->addr, &s->conn_out) != MESH_OK) {
        node_log(l->m, MESH_LOG_WARN, "cannot dial %s at %s: %s", s->id, s->addr,
                 transport_errmsg(l->t));
        s->conn_out = SYNC_NO_CONN;
    }
}

/* Follow a member's known addresses: when they change, keep the link to the address
 * dialled if it is still among them and a session came of it; else dial the first at once,
 * the wait before the next starting again at LOOP_REDIAL_MIN_MS: a member just added, or
 * one whose addresses were just given or corrected, is not left waiting for a backoff that
 * grew while nothing answered. (session_tick dials the next, in turn, while none gives a
 * session.) */
static void
s_dial(loop_t *l, session_t *s, const char *addrs)
{
    char a[sizeof s->addr];
    if (s->addrs && strcmp(s->addrs, addrs) == 0) {
        return;
    }
    char *copy = strdup(addrs);
    if (!copy) {
        node_log(l->m, MESH_LOG_WARN, "out of memory for the addresses of %s", s->id);
        return;
    }
    bool added = !s->addrs;
    free(s->addrs);
    s->addrs = copy;
    for (size_t i = 0; s->ok && s->addr[0] && s_addr_at(s->addrs, i, a, sizeof a); i++) {
        if (strcmp(a, s->addr) == 0) {
            s->addr_i = i; /* still known: a link that works is not hung up */
            return;
        }
    }
    s->addr_i = 0;
    s->redial_after = LOOP_REDIAL_MIN_MS;
    if (!s_addr_at(s->addrs, 0, s->addr, sizeof s->addr)) {
        s->addr[0] = '\0';
    }
    s_connect(l, s, added ? "a new member" : "its addresses changed");
}

/* Log, once for each number of them, the addresses member i's records give that are not of
 * the form we dial (core/member/addr.h): they are left out, never dialled. */
static void
s_note_ignored(loop_t *l, session_t *s, const mesh_peer_list_t *peers, size_t i)
{
    const char *first = NULL;
    size_t n = peer_list_ignored(peers, i, &first);
    if (n == s->addrs_ignored) {
        return;
    }
    s->addrs_ignored = n;
    if (n && first) {
        char quoted[300];
        addr_quote(first, strlen(first), quoted, sizeof quoted);
        node_log(l->m, MESH_LOG_WARN,
                 "ignoring %zu address(es) that records give for %s, never dialled: not "
                 "tcp://HOST:PORT ('%s'%s)",
                 n, s->id, quoted, n > 1 ? ", ..." : "");
    }
}

bool
dial_hint(loop_t *l, session_t *s, const char *endpoint)
{
    if (s->removed || s->connected || strlen(endpoint) >= sizeof s->addr ||
        (s->conn_out != SYNC_NO_CONN && strcmp(s->addr, endpoint) == 0)) {
        return false;
    }
    bool added = false;
    if (addr_is_valid(endpoint, strlen(endpoint)) &&
        addrbook_note(&s->book, endpoint, ADDRBOOK_BEACON, NULL, (int64_t)time(NULL), &added) ==
            MESH_OK &&
        added) {
        char *text = s_book_text(s); /* in turn with the others from now on */
        if (text) {
            free(s->addrs);
            s->addrs = text;
        }
    }
    snprintf(s->addr, sizeof s->addr, "%s", endpoint);
    size_t at = s_addr_index(s, endpoint);
    s->addr_i = at == SIZE_MAX ? 0 : at;
    s_connect(l, s, "a LAN beacon");
    s->redial_after = LOOP_REDIAL_MIN_MS;
    return true;
}

void
dial_book_changed(loop_t *l, session_t *s)
{
    char *text = s_book_text(s);
    if (!text || (s->addrs && strcmp(text, s->addrs) == 0)) {
        free(text);
        return;
    }
    free(s->addrs);
    s->addrs = text;
    size_t at = s->addr[0] ? s_addr_index(s, s->addr) : SIZE_MAX;
    s->addr_i = at == SIZE_MAX ? 0 : at;
    int64_t now = sync_now_ms();
    if (s->ok || s->removed || (s->addr[0] && now - s->dial_ms < DIAL_TOLD_GAP_MS)) {
        return; /* a session is up, or a dial just went out: the new ones take their turn */
    }
    /* the first of the new order that does not rest, at once */
    char a[sizeof s->addr];
    int64_t unix_now = (int64_t)time(NULL);
    for (size_t i = 0; s_addr_at(s->addrs, i, a, sizeof a); i++) {
        const addrbook_entry_t *e = addrbook_find(&s->book, a);
        if (!e || !addrbook_resting(e, unix_now)) {
            if (strcmp(a, s->addr) != 0 || s->conn_out == SYNC_NO_CONN) {
                snprintf(s->addr, sizeof s->addr, "%s", a);
                s->addr_i = i;
                s->redial_after = LOOP_REDIAL_MIN_MS;
                s_connect(l, s, "a member told where it is");
            }
            return;
        }
    }
}

/* No session came of our link for a while (the peer was down, refused us before it knew
 * us, or the link died without a word): dial its next known address, or the same one
 * again, waiting twice as long each time up to LOOP_REDIAL_MAX_MS. A member never heard
 * from is dialled every LOOP_REDIAL_MIN_MS: it may be up and refusing us only until its
 * user adds this device, and then the first sync should not wait out a backoff (it waited
 * 9.7 s); a refusal looks like a peer that is down from here. */
void
dial_redial(loop_t *l, session_t *s)
{
    if (s->removed) {
        return;
    }
    int64_t unix_now = (int64_t)time(NULL);
    if (s->addr[0] && s->conn_out != SYNC_NO_CONN) {
        (void)addrbook_failed(&s->book, s->addr, unix_now); /* no session came of it */
    }
    /* the next in turn that does not rest; when all rest, the next in turn all the same */
    size_t n = 0;
    char a[sizeof s->addr];
    while (s_addr_at(s->addrs, n, a, sizeof a)) {
        n++;
    }
    if (n == 0) {
        return;
    }
    size_t pick = (s->addr_i + 1) % n;
    for (size_t k = 1; k <= n; k++) {
        size_t i = (s->addr_i + k) % n;
        const addrbook_entry_t *e = NULL;
        if (s_addr_at(s->addrs, i, a, sizeof a) && (e = addrbook_find(&s->book, a)) &&
            !addrbook_resting(e, unix_now)) {
            pick = i;
            break;
        }
    }
    s->addr_i = pick;
    if (!s_addr_at(s->addrs, s->addr_i, s->addr, sizeof s->addr)) {
        return;
    }
    s_connect(l, s, NULL);
    if (s->seen_unix == 0) {
        s->redial_after = LOOP_REDIAL_MIN_MS;
    } else {
        s->redial_after =
            s->redial_after * 2 > LOOP_REDIAL_MAX_MS ? LOOP_REDIAL_MAX_MS : s->redial_after * 2;
    }
    node_log(l->m, MESH_LOG_DEBUG, "no session with %s yet: dialling %s (again in %lld ms)", s->id,
             s->addr, (long long)s->redial_after);
}

/* A new session for the member with device key pk (CURVE key curve, ID text id), added to
 * the loop's sessions, which grow with membership: no member is ever left without one.
 * NULL when out of memory (nothing changed). */
static session_t *
s_session_new(loop_t *l, const uint8_t *pk, const uint8_t *curve, const char *id)
{
    if (l->nsess == l->sess_cap) {
        size_t cap = l->sess_cap ? 2 * l->sess_cap : 16;
        session_t **grown = realloc(l->sess, cap * sizeof *grown);
        if (!grown) {
            return NULL;
        }
        l->sess = grown;
        l->sess_cap = cap;
    }
    session_t *s = calloc(1, sizeof *s);
    if (!s) {
        return NULL;
    }
    memcpy(s->device, pk, WIRE_ORIGIN_LEN);
    memcpy(s->curve, curve, TRANSPORT_KEY_LEN);
    snprintf(s->id, sizeof s->id, "%s", id);
    s->conn_out = s->conn_in = s->batch_conn = s->sent_conn = s->book_conn = SYNC_NO_CONN;
    store_txn_t *txn = NULL;
    if (store_read_begin(l->m->store, &txn) == MESH_OK) {
        if (addrbook_load(txn, s->id, &s->book) != MESH_OK) {
            node_log(l->m, MESH_LOG_WARN, "cannot read the addresses kept for %s", s->id);
        }
        char name[sizeof SYNC_PEX_KEPT + MESH_ID_TEXT_LEN];
        snprintf(name, sizeof name, "%s%s", SYNC_PEX_KEPT, s->id);
        mesh_err_t err = store_meta_get_u64(txn, name, &s->pex_kept_hash);
        if (err != MESH_OK && err != MESH_ENOTFOUND) {
            node_log(l->m, MESH_LOG_WARN, "cannot read what %s was last told", s->id);
        }
        store_read_end(txn);
    }
    l->sess[l->nsess++] = s;
    return s;
}

/* Follow membership: a session for every member, a connection to every known address. */
void
dial_members(loop_t *l)
{
    mesh_peer_list_t *peers = NULL;
    uint64_t gen = member_generation(l->m);
    if (gen == l->members_gen || mesh_peers(l->m, &peers) != MESH_OK) {
        return;
    }
    l->members_gen = gen;
    for (size_t i = 0; i < l->nsess; i++) {
        session_t *s = l->sess[i];
        if (!s->removed && !member_is(l->m, s->device)) { /* removed: cut off, for good */
            s->removed = true;
            s->ok = s->passing = false;
            s->addr[0] = '\0';
            s_connect(l, s, NULL); /* hangs up our link, dials nothing */
            if (s->conn_in != SYNC_NO_CONN) {
                transport_disconnect(l->t, s->conn_in);
                s->conn_in = SYNC_NO_CONN;
            }
            node_log(l->m, MESH_LOG_INFO, "%s was removed: its links are closed", s->id);
        }
    }
    for (size_t i = 0; i < mesh_peer_list_count(peers); i++) {
        const mesh_peer_t *p = mesh_peer_list_get(peers, i);
        uint8_t pk[WIRE_ORIGIN_LEN], curve[TRANSPORT_KEY_LEN];
        if (p->self || p->removed || devid_parse(p->id, pk) != MESH_OK ||
            ident_curve_public(pk, curve) != MESH_OK) {
            continue;
        }
        session_t *s = dial_by_curve(l, curve);
        if (!s && !(s = s_session_new(l, pk, curve, p->id))) {
            node_log(l->m, MESH_LOG_WARN, "no memory for a session with %s: not syncing with it",
                     p->id);
            l->members_gen = UINT64_MAX; /* try again next turn */
        }
        if (s) {
            snprintf(s->name, sizeof s->name, "%s", p->name);
            const char *addrs = peer_list_addrs_text(peers, i);
            s_note_ignored(l, s, peers, i);
            (void)addrbook_set_configured(&s->book, addrs ? addrs : "", (int64_t)time(NULL));
            char *text = s_book_text(s);
            if (text && !s_same_words(text, s->addrs)) {
                s_dial(l, s, text); /* the records' addresses and the others, in dial order */
            }
            free(text);
        }
    }
    if (l->nby_curve != l->nsess) {
        s_index(l);
    }
    mesh_peer_list_free(peers);
}
