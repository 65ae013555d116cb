/* transport/beacon.h: LAN beacons (docs/PROTOCOL.md §16): their fixed binary layout, the one
 * input not decoded by core's decoder, and the UDP socket that sends and receives them.
 * Owns: the layout, its strict decoder, the tags a beacon carries (one per member it is for,
 * under pairwise keys: crypto/beaconkey.h), epochs, and IPv4 broadcast and multicast.
 * Not here: which members to tag or to dial (core/sync/discover.c), trust (CURVE, later).
 * Layer: transport. Third-party: none (BSD sockets). SPDX-License-Identifier: MIT */
#ifndef MESH_TRANSPORT_BEACON_H
#define MESH_TRANSPORT_BEACON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/beaconkey.h"
#include "meshsync.h" /* mesh_err_t */

/* Layout (§16.1): magic "MSHB", version, tag count, TCP port (big-endian), nonce, tags. */
#define BEACON_MAGIC     "MSHB"
#define BEACON_VERSION   1u
#define BEACON_NONCE_LEN 16u
#define BEACON_HEAD_LEN  (4u + 1u + 1u + 2u + BEACON_NONCE_LEN) /* 24 */
#define BEACON_TAGS_MAX  32u                                    /* tags in one beacon */
#define BEACON_TAGS_STEP 4u /* the count is padded to a multiple of this (random tags) */
#define BEACON_MAX       (BEACON_HEAD_LEN + BEACON_TAGS_MAX * BEACONKEY_TAG) /* 536 bytes */
#define BEACON_EPOCH_S   600 /* seconds per epoch; a receiver accepts the one before and after */

/* A decoded beacon: only lengths were checked; the tags say nothing until matched. */
typedef struct beacon {
    uint8_t head[BEACON_HEAD_LEN]; /* the bytes every tag covers, as received */
    uint16_t port;                 /* the sender's TCP port */
    size_t ntags;
    uint8_t tags[BEACON_TAGS_MAX][BEACONKEY_TAG];
} beacon_t;

/* The epoch of a Unix time in seconds (negative times: epoch 0). */
uint64_t beacon_epoch(int64_t unix_s);

/* Encode a beacon from the device whose Ed25519 key is self_pk, listening on TCP port port,
 * with one tag for each of the nkeys pairwise keys (1..BEACON_TAGS_MAX), at epoch, padded
 * with random tags to a multiple of BEACON_TAGS_STEP, under a fresh random nonce.
 * MESH_OK: out (cap >= BEACON_MAX) holds *len bytes. Errors: MESH_EINVAL (no key, too many,
 * port 0, cap too small): *len is 0. */
MESH_NODISCARD mesh_err_t beacon_encode(const uint8_t *self_pk, uint16_t port, uint64_t epoch,
                                        const uint8_t (*keys)[BEACONKEY_LEN], size_t nkeys,
                                        uint8_t *out, size_t cap, size_t *len);

/* Decode exactly len bytes of buf. MESH_OK: *b filled. Errors (b zeroed): MESH_ETOOBIG
 * (more than BEACON_MAX bytes), MESH_EPROTO (short, another magic or version, a tag count
 * of 0 or past BEACON_TAGS_MAX, port 0, or a length that is not the count's). */
MESH_NODISCARD mesh_err_t beacon_decode(const uint8_t *buf, size_t len, beacon_t *b);

/* Whether b carries a tag from the device whose Ed25519 key is sender_pk to us, under our
 * pairwise key with it, at epoch or the one before or after. */
bool beacon_is_from(const beacon_t *b, const uint8_t *key, const uint8_t *sender_pk,
                    uint64_t epoch);

/* ---- pairing beacons (§15.6): a device that shows a pairing code says where it listens
 * for the pairing, under its public nameplate; no ID, no key, no tag. ---- */
#define BEACON_PAIR_MAGIC "MSHP"
#define BEACON_PAIR_LEN   10u /* magic, version 1, 0, nameplate (u16 BE), port (u16 BE) */

/* Encode a pairing beacon for nameplate (1..999) and the pairing listener's TCP port into
 * out (cap >= BEACON_PAIR_LEN). MESH_OK, or MESH_EINVAL (a bad nameplate, port 0, cap). */
MESH_NODISCARD mesh_err_t beacon_pair_encode(unsigned nameplate, uint16_t port, uint8_t *out,
                                             size_t cap, size_t *len);

/* Decode exactly len bytes as a pairing beacon. MESH_OK: *nameplate and *port set.
 * Errors (both zeroed): MESH_ETOOBIG (over BEACON_MAX bytes), MESH_EPROTO (another length,
 * magic, version or reserved byte, a nameplate outside 1..999, port 0). */
MESH_NODISCARD mesh_err_t beacon_pair_decode(const uint8_t *buf, size_t len, unsigned *nameplate,
                                             uint16_t *port);

/* ---- the UDP socket ---- */

typedef struct beacon_sock beacon_sock_t;

/* Open a UDP socket on port (all IPv4 addresses, shared with other processes: SO_REUSEADDR
 * and SO_REUSEPORT), able to broadcast; with group (an IPv4 multicast address, or NULL),
 * joined on every matching interface. interfaces: comma-separated names (NULL or "": every
 * interface but loopback). Non-blocking. MESH_OK: *out is new. Errors: MESH_EINVAL (a bad
 * group), MESH_EBUSY (the port is taken without sharing), MESH_EIO, MESH_ENOMEM; why
 * (why_len bytes) says which call failed. */
MESH_NODISCARD mesh_err_t beacon_open(uint16_t port, const char *group, const char *interfaces,
                                      beacon_sock_t **out, char *why, size_t why_len);

/* Close; NULL is a no-op. */
void beacon_close(beacon_sock_t *s);

/* Send buf to the broadcast address of every matching interface that is up, and to the
 * group on each; returns how many sends succeeded. */
size_t beacon_send(beacon_sock_t *s, const uint8_t *buf, size_t len);

/* Read one datagram without blocking. MESH_OK: buf holds *len bytes, and from the sender's
 * IPv4 address as text (from_len >= 16). MESH_ETOOBIG: it was longer than cap (dropped).
 * MESH_ENOTFOUND: nothing waits. MESH_EIO: the socket failed. */
MESH_NODISCARD mesh_err_t beacon_recv(beacon_sock_t *s, uint8_t *buf, size_t cap, size_t *len,
                                      char *from, size_t from_len);

#endif /* MESH_TRANSPORT_BEACON_H */
