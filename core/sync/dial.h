/* core/sync/dial.h: reaching each member (docs/PROTOCOL.md §11): a session per member,
 * dialling its known addresses in turn, and who the transport admits.
 * Owns: the session slots and the outgoing links. Not here: the session protocol
 * (core/sync/session.h), the thread (core/sync/loop.h).
 * Layer: core (sync). Third-party: none. SPDX-License-Identifier: MIT */
#ifndef MESH_CORE_SYNC_DIAL_H
#define MESH_CORE_SYNC_DIAL_H

#include <stdbool.h>
#include <stdint.h>

#include "core/sync/sync.h"

/* The session of the member whose CURVE key is curve, or NULL. */
session_t *dial_by_curve(loop_t *l, const uint8_t *curve);

/* The transport's admission rule (transport_open's callback, ctx the loop): the key of a
 * member other than us. Called on the loop thread, inside transport_recv. */
bool dial_admit(void *ctx, const uint8_t *curve);

/* Follow membership when its generation moved: a session for every member, however many
 * (the sessions grow with membership), and a link to one of its known addresses (up to
 * TRANSPORT_CONNS_MAX links: a member beyond them is not dialled, but still admitted),
 * dialled at once for a new member and for one without a session whose addresses changed.
 * Addresses not of the tcp://HOST:PORT form are never dialled (logged once). */
void dial_members(loop_t *l);

/* A LAN beacon (core/sync/discover.c) says s listens at endpoint: unless s is removed, was
 * heard from within LOOP_DEAD_MS, or our link already dials endpoint, dial it there now
 * (hanging up our link elsewhere). Returns whether it dialled. CURVE authenticates the
 * link as for any address; the known addresses stay as they are. */
bool dial_hint(loop_t *l, session_t *s, const char *endpoint);

/* A told address lets a dial wait this long after the last before it goes out at once. */
#define DIAL_TOLD_GAP_MS 1000

/* s's address book changed (core/sync/pex.c): its addresses, in the book's dial order, are
 * the ones dialled in turn from now on. Without a session up, the first of them that does not
 * rest is dialled at once, unless a dial went out within DIAL_TOLD_GAP_MS (so that a member
 * telling addresses cannot make us dial faster). */
void dial_book_changed(loop_t *l, session_t *s);

/* No session came of s's link for a while: note that its address failed (its book), and dial
 * the next known address in turn that does not rest (or the next in turn, when all rest, or
 * the same one again), waiting twice as long each time up to LOOP_REDIAL_MAX_MS. */
void dial_redial(loop_t *l, session_t *s);

#endif /* MESH_CORE_SYNC_DIAL_H */
