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

#include "core/member/member.h"
#include "core/member/peer.h"
#include "core/sync/status.h"
#include "core/sync/sync.h"
#include "crypto/devid.h"
#include "crypto/ident.h"

session_t *
dial_by_curve(loop_t *l, const uint8_t *curve)
{
    for (size_t i = 0; i < l->nsess; i++) {
        if (memcmp(l->sess[i].curve, curve, TRANSPORT_KEY_LEN) == 0) {
            return &l->sess[i];
        }
    }
    return NULL;
}

/* The ZAP rule and the per-frame check: the key of a member other than us. */
bool
dial_admit(void *ctx, const uint8_t *curve)
{
    if (dial_by_curve(ctx, curve)) {
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

/* Hang up our link to s, if any, and dial s->addr (none when it is ""). */
static void
s_connect(loop_t *l, session_t *s)
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
    if (transport_connect(l->t, s->curve, s->addr, &s->conn_out) != MESH_OK) {
        node_log(l->m, MESH_LOG_WARN, "cannot dial %s at %s: %s", s->id, s->addr,
                 transport_errmsg(l->t));
        s->conn_out = SYNC_NO_CONN;
    }
}

/* Follow a member's known addresses: when they change, keep the link to the address
 * dialled if it is still among them, else dial the first. (session_tick dials the next, in turn,
 * while none gives a session.) */
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
    free(s->addrs);
    s->addrs = copy;
    for (size_t i = 0; s->addr[0] && s_addr_at(s->addrs, i, a, sizeof a); i++) {
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
    s_connect(l, s);
}

/* No session came of our link for a while (the peer was down, refused us before it knew
 * us, or the link died without a word): dial its next known address, or the same one
 * again, waiting twice as long each time up to LOOP_REDIAL_MAX_MS. */
void
dial_redial(loop_t *l, session_t *s)
{
    s->addr_i++;
    if (!s_addr_at(s->addrs, s->addr_i, s->addr, sizeof s->addr)) {
        s->addr_i = 0;
        if (!s_addr_at(s->addrs, 0, s->addr, sizeof s->addr)) {
            return;
        }
    }
    node_log(l->m, MESH_LOG_DEBUG, "no session with %s yet: dialling %s", s->id, s->addr);
    s_connect(l, s);
    s->redial_after =
        s->redial_after * 2 > LOOP_REDIAL_MAX_MS ? LOOP_REDIAL_MAX_MS : s->redial_after * 2;
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
    for (size_t i = 0; i < mesh_peer_list_count(peers); i++) {
        const mesh_peer_t *p = mesh_peer_list_get(peers, i);
        uint8_t pk[WIRE_ORIGIN_LEN], curve[TRANSPORT_KEY_LEN];
        if (p->self || devid_parse(p->id, pk) != MESH_OK ||
            ident_curve_public(pk, curve) != MESH_OK) {
            continue;
        }
        session_t *s = dial_by_curve(l, curve);
        if (!s && l->nsess == LOOP_SESSIONS_MAX) {
            node_log(l->m, MESH_LOG_WARN, "%s is a member, but this daemon syncs with %u at most",
                     p->id, LOOP_SESSIONS_MAX);
        }
        if (!s && l->nsess < LOOP_SESSIONS_MAX) {
            s = &l->sess[l->nsess++];
            memset(s, 0, sizeof *s);
            memcpy(s->device, pk, sizeof pk);
            memcpy(s->curve, curve, sizeof curve);
            memcpy(s->id, p->id, sizeof s->id);
            s->conn_out = s->conn_in = s->batch_conn = s->sent_conn = SYNC_NO_CONN;
        }
        if (s) {
            snprintf(s->name, sizeof s->name, "%s", p->name);
            const char *addrs = peer_list_addrs_text(peers, i);
            s_dial(l, s, addrs ? addrs : "");
        }
    }
    mesh_peer_list_free(peers);
}
