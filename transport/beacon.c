/* transport/beacon.c: LAN beacons (docs/PROTOCOL.md §16): the fixed layout, its strict
 * decoder, the tags, and the UDP socket (IPv4 broadcast to each interface, and a multicast
 * group). Every byte a beacon holds is read here, from (pos, len) with the length checked
 * first; a beacon is only a hint: the connection it leads to is authenticated by CURVE.
 * Layer: transport. Third-party: none (BSD sockets). SPDX-License-Identifier: MIT */
#include "beacon.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "crypto/ident.h"

#define S_IFACES_MAX 32 /* interfaces sent on and joined, at most */

struct beacon_sock {
    int fd;
    uint16_t port;
    struct in_addr group; /* INADDR_ANY: none */
    char interfaces[256]; /* comma-separated names, "" for all */
};

uint64_t
beacon_epoch(int64_t unix_s)
{
    return unix_s < 0 ? 0 : (uint64_t)unix_s / BEACON_EPOCH_S;
}

/* The tag from sender_pk under key at epoch over the head of a beacon (§16.2):
 * MAC(key, head || epoch (8 bytes, big-endian) || sender_pk). */
static void
s_tag(const uint8_t *key, const uint8_t *head, uint64_t epoch, const uint8_t *sender_pk,
      uint8_t *tag)
{
    uint8_t msg[BEACON_HEAD_LEN + 8 + IDENT_PK_LEN];
    memcpy(msg, head, BEACON_HEAD_LEN);
    for (int i = 0; i < 8; i++) {
        msg[BEACON_HEAD_LEN + i] = (uint8_t)(epoch >> (56 - 8 * i));
    }
    memcpy(msg + BEACON_HEAD_LEN + 8, sender_pk, IDENT_PK_LEN);
    beaconkey_tag(key, msg, sizeof msg, tag);
}

mesh_err_t
beacon_encode(const uint8_t *self_pk, uint16_t port, uint64_t epoch,
              const uint8_t (*keys)[BEACONKEY_LEN], size_t nkeys, uint8_t *out, size_t cap,
              size_t *len)
{
    if (len) {
        *len = 0;
    }
    if (!self_pk || !keys || !out || !len || nkeys == 0 || nkeys > BEACON_TAGS_MAX || port == 0 ||
        cap < BEACON_MAX) {
        return MESH_EINVAL;
    }
    size_t count = (nkeys + BEACON_TAGS_STEP - 1) / BEACON_TAGS_STEP * BEACON_TAGS_STEP;
    memcpy(out, BEACON_MAGIC, 4);
    out[4] = BEACON_VERSION;
    out[5] = (uint8_t)count;
    out[6] = (uint8_t)(port >> 8);
    out[7] = (uint8_t)port;
    ident_random(out + 8, BEACON_NONCE_LEN);
    /* the padding first, random; then each member's tag at a random free place, so that a
     * tag's place says nothing of whom it is for */
    uint8_t *tags = out + BEACON_HEAD_LEN;
    ident_random(tags, count * BEACONKEY_TAG);
    bool used[BEACON_TAGS_MAX] = {false};
    for (size_t i = 0; i < nkeys; i++) {
        uint32_t r;
        ident_random(&r, sizeof r);
        size_t at = r % (count - i);
        size_t slot = 0;
        for (;; slot++) { /* the at-th free slot */
            if (!used[slot] && at-- == 0) {
                break;
            }
        }
        used[slot] = true;
        s_tag(keys[i], out, epoch, self_pk, tags + slot * BEACONKEY_TAG);
    }
    *len = BEACON_HEAD_LEN + count * BEACONKEY_TAG;
    return MESH_OK;
}

mesh_err_t
beacon_decode(const uint8_t *buf, size_t len, beacon_t *b)
{
    if (!b) {
        return MESH_EINVAL;
    }
    memset(b, 0, sizeof *b);
    if (!buf) {
        return MESH_EINVAL;
    }
    if (len > BEACON_MAX) {
        return MESH_ETOOBIG;
    }
    if (len < BEACON_HEAD_LEN || memcmp(buf, BEACON_MAGIC, 4) != 0 || buf[4] != BEACON_VERSION) {
        return MESH_EPROTO;
    }
    size_t count = buf[5];
    uint16_t port = (uint16_t)((uint16_t)buf[6] << 8 | buf[7]);
    if (count == 0 || count > BEACON_TAGS_MAX || port == 0 ||
        len != BEACON_HEAD_LEN + count * BEACONKEY_TAG) {
        return MESH_EPROTO;
    }
    memcpy(b->head, buf, BEACON_HEAD_LEN);
    b->port = port;
    b->ntags = count;
    memcpy(b->tags, buf + BEACON_HEAD_LEN, count * BEACONKEY_TAG);
    return MESH_OK;
}

mesh_err_t
beacon_pair_encode(unsigned nameplate, uint16_t port, uint8_t *out, size_t cap, size_t *len)
{
    *len = 0;
    if (!out || cap < BEACON_PAIR_LEN || nameplate < 1 || nameplate > 999 || port == 0) {
        return MESH_EINVAL;
    }
    memcpy(out, BEACON_PAIR_MAGIC, 4);
    out[4] = 1;
    out[5] = 0;
    out[6] = (uint8_t)(nameplate >> 8);
    out[7] = (uint8_t)nameplate;
    out[8] = (uint8_t)(port >> 8);
    out[9] = (uint8_t)port;
    *len = BEACON_PAIR_LEN;
    return MESH_OK;
}

mesh_err_t
beacon_pair_decode(const uint8_t *buf, size_t len, unsigned *nameplate, uint16_t *port)
{
    *nameplate = 0;
    *port = 0;
    if (len > BEACON_MAX) {
        return MESH_ETOOBIG;
    }
    if (!buf || len != BEACON_PAIR_LEN || memcmp(buf, BEACON_PAIR_MAGIC, 4) != 0 || buf[4] != 1 ||
        buf[5] != 0) {
        return MESH_EPROTO;
    }
    unsigned n = (unsigned)buf[6] << 8 | buf[7];
    uint16_t p = (uint16_t)((uint16_t)buf[8] << 8 | buf[9]);
    if (n < 1 || n > 999 || p == 0) {
        return MESH_EPROTO;
    }
    *nameplate = n;
    *port = p;
    return MESH_OK;
}

bool
beacon_is_from(const beacon_t *b, const uint8_t *key, const uint8_t *sender_pk, uint64_t epoch)
{
    if (!b || !key || !sender_pk) {
        return false;
    }
    for (uint64_t e = epoch == 0 ? 0 : epoch - 1; e <= epoch + 1; e++) {
        uint8_t tag[BEACONKEY_TAG];
        s_tag(key, b->head, e, sender_pk, tag);
        for (size_t i = 0; i < b->ntags; i++) {
            if (beaconkey_tag_equal(tag, b->tags[i])) {
                return true;
            }
        }
    }
    return false;
}

/* ---- the UDP socket ---- */

/* Whether the interface named name is one of s's (all but loopback when none are named). */
static bool
s_wanted(const beacon_sock_t *s, const struct ifaddrs *ifa)
{
    if (!ifa->ifa_addr || ifa->ifa_addr->sa_family != AF_INET || !(ifa->ifa_flags & IFF_UP)) {
        return false;
    }
    if (!s->interfaces[0]) {
        return !(ifa->ifa_flags & IFF_LOOPBACK);
    }
    size_t n = strlen(ifa->ifa_name);
    for (const char *p = s->interfaces; *p;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len == n && strncmp(p, ifa->ifa_name, n) == 0) {
            return true;
        }
        p += len + (end ? 1 : 0);
    }
    return false;
}

static mesh_err_t
s_fail(char *why, size_t why_len, const char *what, mesh_err_t err)
{
    if (why && why_len) {
        snprintf(why, why_len, "%s: %s", what, strerror(errno));
    }
    return err;
}

mesh_err_t
beacon_open(uint16_t port, const char *group, const char *interfaces, beacon_sock_t **out,
            char *why, size_t why_len)
{
    if (why && why_len) {
        why[0] = '\0';
    }
    if (!out) {
        return MESH_EINVAL;
    }
    *out = NULL;
    if (interfaces && strlen(interfaces) >= sizeof((beacon_sock_t *)0)->interfaces) {
        snprintf(why, why_len, "interfaces: too long");
        return MESH_EINVAL;
    }
    beacon_sock_t *s = calloc(1, sizeof *s);
    if (!s) {
        return MESH_ENOMEM;
    }
    s->port = port;
    snprintf(s->interfaces, sizeof s->interfaces, "%s", interfaces ? interfaces : "");
    if (group && group[0] &&
        (inet_pton(AF_INET, group, &s->group) != 1 || !IN_MULTICAST(ntohl(s->group.s_addr)))) {
        snprintf(why, why_len, "'%s' is not an IPv4 multicast group", group);
        free(s);
        return MESH_EINVAL;
    }
    mesh_err_t err = MESH_EIO;
    int one = 1;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
    s->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s->fd < 0) {
        err = s_fail(why, why_len, "socket", MESH_EIO);
        goto out;
    }
    if (setsockopt(s->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        setsockopt(s->fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0 ||
        setsockopt(s->fd, SOL_SOCKET, SO_BROADCAST, &one, sizeof one) != 0) {
        err = s_fail(why, why_len, "setsockopt", MESH_EIO);
        goto out;
    }
    if (bind(s->fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        err = s_fail(why, why_len, "bind", errno == EADDRINUSE ? MESH_EBUSY : MESH_EIO);
        goto out;
    }
    if (s->group.s_addr != INADDR_ANY) {
        struct ifaddrs *ifs = NULL;
        if (getifaddrs(&ifs) != 0) {
            err = s_fail(why, why_len, "getifaddrs", MESH_EIO);
            goto out;
        }
        int joined = 0;
        for (struct ifaddrs *ifa = ifs; ifa && joined < S_IFACES_MAX; ifa = ifa->ifa_next) {
            if (s_wanted(s, ifa)) {
                struct ip_mreq mr = {.imr_multiaddr = s->group,
                                     .imr_interface =
                                         ((struct sockaddr_in *)ifa->ifa_addr)->sin_addr};
                joined += setsockopt(s->fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mr, sizeof mr) == 0;
            }
        }
        freeifaddrs(ifs);
    }
    *out = s;
    return MESH_OK;
out:
    beacon_close(s);
    return err;
}

void
beacon_close(beacon_sock_t *s)
{
    if (!s) {
        return;
    }
    if (s->fd >= 0) {
        close(s->fd);
    }
    free(s);
}

/* Send buf to addr:port; true when the kernel took it. */
static bool
s_send_to(beacon_sock_t *s, struct in_addr addr, const uint8_t *buf, size_t len)
{
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(s->port), .sin_addr = addr};
    return sendto(s->fd, buf, len, MSG_DONTWAIT, (struct sockaddr *)&to, sizeof to) == (ssize_t)len;
}

size_t
beacon_send(beacon_sock_t *s, const uint8_t *buf, size_t len)
{
    struct ifaddrs *ifs = NULL;
    size_t sent = 0;
    int n = 0;
    if (!s || !buf || getifaddrs(&ifs) != 0) {
        return 0;
    }
    for (struct ifaddrs *ifa = ifs; ifa && n < S_IFACES_MAX; ifa = ifa->ifa_next) {
        if (!s_wanted(s, ifa)) {
            continue;
        }
        n++;
        if ((ifa->ifa_flags & IFF_BROADCAST) && ifa->ifa_broadaddr) {
            sent += s_send_to(s, ((struct sockaddr_in *)ifa->ifa_broadaddr)->sin_addr, buf, len);
        }
        if (s->group.s_addr != INADDR_ANY) {
            struct in_addr via = ((struct sockaddr_in *)ifa->ifa_addr)->sin_addr;
            if (setsockopt(s->fd, IPPROTO_IP, IP_MULTICAST_IF, &via, sizeof via) == 0) {
                sent += s_send_to(s, s->group, buf, len);
            }
        }
    }
    freeifaddrs(ifs);
    return sent;
}

mesh_err_t
beacon_recv(beacon_sock_t *s, uint8_t *buf, size_t cap, size_t *len, char *from, size_t from_len)
{
    struct sockaddr_in sa;
    socklen_t sl = sizeof sa;
    *len = 0;
    ssize_t n = recvfrom(s->fd, buf, cap, MSG_DONTWAIT | MSG_TRUNC, (struct sockaddr *)&sa, &sl);
    if (n < 0) {
        return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? MESH_ENOTFOUND
                                                                         : MESH_EIO;
    }
    if ((size_t)n > cap) {
        return MESH_ETOOBIG;
    }
    if (sl < sizeof sa || sa.sin_family != AF_INET ||
        !inet_ntop(AF_INET, &sa.sin_addr, from, (socklen_t)from_len)) {
        return MESH_EPROTO;
    }
    *len = (size_t)n;
    return MESH_OK;
}
