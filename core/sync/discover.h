/* core/sync/discover.h: LAN discovery in the daemon (docs/PROTOCOL.md §16): when to send a
 * beacon and whom it tags, and what a received one leads to (a dial, never trust).
 * Owns: the beacon keys of the members (recomputed when membership moves), the interval,
 * the caps on beacons examined and the counts of those dropped.
 * Not here: the layout, tags and UDP socket (transport/beacon.h), dialling (dial.h).
 * Layer: core (sync). Third-party: none. SPDX-License-Identifier: MIT */
#ifndef MESH_CORE_SYNC_DISCOVER_H
#define MESH_CORE_SYNC_DISCOVER_H

#include <stdbool.h>
#include <stdint.h>

#include "meshsync.h"

#define DISCOVER_PORT        47474u /* the UDP port by default */
#define DISCOVER_INTERVAL_MS 1000u  /* between beacons by default */
#define DISCOVER_MEMBERS_MAX 1024u  /* members whose beacons we recognise (keys kept) */
#define DISCOVER_RECV_MAX    64u    /* beacons examined per second; the rest are dropped */
#define DISCOVER_ENV_OFF     "MESHSYNC_NO_DISCOVERY" /* set (not empty): never on */

typedef struct loop loop_t;
typedef struct discover discover_t;

/* What mesh_options_t says of discovery. */
typedef struct discover_config {
    bool on;
    unsigned port;          /* UDP; 0: DISCOVER_PORT */
    unsigned interval_ms;   /* 0: DISCOVER_INTERVAL_MS */
    const char *group;      /* IPv4 multicast group, or NULL */
    const char *interfaces; /* comma-separated names, or NULL: all but loopback */
} discover_config_t;

/* Start discovery for l (after it listens) as c says: nothing when c is NULL, off, or the
 * environment has DISCOVER_ENV_OFF set, or when the UDP socket cannot be had (the port
 * taken, no IPv4: logged, the daemon runs on without). MESH_OK: *out is new, or NULL when
 * off. Errors (detail on l's node): MESH_EINVAL (a bad group, interval or port),
 * MESH_ENOMEM. */
MESH_NODISCARD mesh_err_t discover_open(loop_t *l, const discover_config_t *c, discover_t **out);

/* Stop; NULL is a no-op. */
void discover_close(discover_t *d);

/* On the loop thread, each turn: read the beacons that came (each recognised one from a
 * member whose session is not up dials it there), and send ours when due. */
void discover_tick(loop_t *l, discover_t *d, int64_t now);

#endif /* MESH_CORE_SYNC_DISCOVER_H */
