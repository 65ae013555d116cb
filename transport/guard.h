/* transport/guard.h: the pre-auth budget (docs/PROTOCOL.md, Resource budget): the TCP
 * connections accepted and not yet heard from as a member, capped per source address and in
 * total; past a cap, the oldest of the address holding the most are shut down.
 * Owns: the table of pre-auth connections (by descriptor, with the peer's address), the caps
 * and the count of connections shed. Not here: where the accept and disconnect events come
 * from (transport.c reads them from libzmq's socket monitor), who is a member.
 * Layer: transport. Third-party: none (plain sockets). SPDX-License-Identifier: MIT */
#ifndef MESH_TRANSPORT_GUARD_H
#define MESH_TRANSPORT_GUARD_H

#include <stddef.h>
#include <stdint.h>

#include "meshsync.h" /* mesh_err_t */

#define GUARD_TOTAL_MAX  128u /* pre-auth connections at once, at most (and a quarter of */
                              /* RLIMIT_NOFILE: the rest is kept for members, guard_total); */
                              /* each may make libzmq hold one piece, ~1 MiB (§10, §12) */
#define GUARD_PER_ADDR   8u   /* pre-auth connections from one IPv4 address or IPv6 /64 */
/* Inbound connections of one member key at once (one, and its successor while the old is
 * not yet seen gone): each may hold a frame being joined (≤ 64 MiB) and libzmq's read-ahead,
 * so a member opening connections by the hundred must not multiply them (§12). */
#define GUARD_PER_MEMBER 2u

typedef struct guard guard_t;

/* The total cap for a process allowed nofile descriptors: GUARD_TOTAL_MAX, or nofile / 4
 * when that is less (at least GUARD_PER_ADDR). */
size_t guard_total(uint64_t nofile);

/* An empty table with these caps. MESH_OK: *out is new. Errors: MESH_EINVAL (a cap of 0),
 * MESH_ENOMEM; *out NULL. */
MESH_NODISCARD mesh_err_t guard_new(size_t total, size_t per_addr, guard_t **out);

/* Free g; NULL is a no-op. */
void guard_free(guard_t *g);

/* libzmq accepted connection fd: it is pre-auth until guard_member. Its peer's address is
 * read now (a descriptor that is no TCP socket is ignored). */
void guard_accepted(guard_t *g, int fd);

/* Connection fd is gone (closed, or about to be: the descriptor may be reused after). */
void guard_gone(guard_t *g, int fd);

/* Connection fd carried a frame of the member whose CURVE key is key (32 bytes): no longer
 * pre-auth, now counted against that key's GUARD_PER_MEMBER; past it, the key's oldest other
 * connection is shut down (unless its descriptor was reused meanwhile). A call from another
 * thread than the other calls' is safe: g has a lock. Returns how many were shut down. */
size_t guard_member(guard_t *g, int fd, const uint8_t *key);

/* Enforce the caps: while an address holds more than per_addr, or all more than total,
 * shut down (shutdown(2): libzmq then closes it) the oldest pre-auth connection of the
 * address holding the most. A descriptor whose peer is no longer the one recorded (reused
 * for another connection) is dropped from the table, not shut down. Returns how many were
 * shut down. */
size_t guard_enforce(guard_t *g);

/* Pre-auth connections now, the total cap, and those shut down so far. */
size_t guard_count(guard_t *g);
size_t guard_max(const guard_t *g);
uint64_t guard_shed(guard_t *g);

#endif /* MESH_TRANSPORT_GUARD_H */
