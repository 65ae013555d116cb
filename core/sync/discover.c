/* core/sync/discover.c: LAN discovery in the daemon (docs/PROTOCOL.md §16). Each interval a
 * beacon tagged for the next (up to) 32 other members; each beacon heard is tried against
 * the beacon key of every member (at most DISCOVER_MEMBERS_MAX, three epochs each), at most
 * DISCOVER_RECV_MAX a second; one from a member whose session is not up gives dial_hint an
 * address, tcp://<its source IP>:<its port>, which CURVE then authenticates like any other.
 * Beacons that do not decode, come past the cap, or match no member are counted and dropped.
 * Layer: core (sync). Third-party: none. SPDX-License-Identifier: MIT */
#include "core/sync/discover.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/base/node.h"
#include "core/member/member.h"
#include "core/sync/dial.h"
#include "core/sync/sync.h"
#include "crypto/beaconkey.h"
#include "transport/beacon.h"

#define S_LOG_MS  10000 /* drop counts are logged at most this often */
#define S_TICK_IN 64    /* datagrams read per loop turn, at most */

struct discover {
    beacon_sock_t *sock;
    uint16_t tcp_port; /* ours, from the bound endpoint; 0: we send nothing */
    int64_t interval_ms;
    int64_t next_ms;      /* when our next beacon goes */
    size_t nsess;         /* the sessions the keys were made for */
    uint64_t members_gen; /* and membership's generation then */
    size_t nkeys;
    uint8_t (*keys)[BEACONKEY_LEN]; /* our beacon key with each member, */
    session_t **who;                /* and its session */
    size_t turn;                    /* the first member the next beacon tags */
    int64_t window_ms;              /* the current second of the receive cap */
    unsigned window_count;
    uint64_t malformed, flooded, unknown, heard; /* beacons dropped (three ways), recognised */
    uint64_t logged_drops;
    int64_t logged_ms;
};

/* The port of a bound endpoint "tcp://HOST:PORT" to announce, or 0: none, or one only this
 * host can reach (HOST on 127.0.0.0/8), which no beacon should send a LAN member to. */
static uint16_t
s_port_of(const char *endpoint)
{
    const char *colon = strrchr(endpoint, ':');
    if (!colon || strncmp(endpoint, "tcp://", 6) != 0 || strncmp(endpoint + 6, "127.", 4) == 0) {
        return 0;
    }
    char *end;
    unsigned long p = strtoul(colon + 1, &end, 10);
    return *end || p == 0 || p > 65535 ? 0 : (uint16_t)p;
}

mesh_err_t
discover_open(loop_t *l, const discover_config_t *c, discover_t **out)
{
    *out = NULL;
    if (!c || !c->on) {
        return MESH_OK;
    }
    const char *env = getenv(DISCOVER_ENV_OFF);
    if (env && env[0]) {
        node_log(l->m, MESH_LOG_INFO, "LAN discovery off: %s is set", DISCOVER_ENV_OFF);
        return MESH_OK;
    }
    unsigned port = c->port ? c->port : DISCOVER_PORT;
    unsigned interval = c->interval_ms ? c->interval_ms : DISCOVER_INTERVAL_MS;
    if (port > 65535 || interval < 100 || interval > 3600000) {
        return node_fail(l->m, MESH_EINVAL,
                         "discovery: port %u or interval %u ms out of range (1..65535, "
                         "100..3600000)",
                         port, interval);
    }
    discover_t *d = calloc(1, sizeof *d);
    if (!d) {
        return MESH_ENOMEM;
    }
    char why[300] = "";
    mesh_err_t err =
        beacon_open((uint16_t)port, c->group, c->interfaces, &d->sock, why, sizeof why);
    if (err != MESH_OK) {
        free(d);
        if (err == MESH_EINVAL || err == MESH_ENOMEM) {
            return node_fail(l->m, err, "discovery on UDP port %u: %s", port, why);
        }
        /* the network's trouble (the port held by another program, no IPv4): the daemon
         * still syncs over the addresses it knows */
        node_log(l->m, MESH_LOG_WARN, "LAN discovery off: UDP port %u: %s", port, why);
        return MESH_OK;
    }
    d->tcp_port = s_port_of(l->listen);
    d->interval_ms = interval;
    d->next_ms = 0; /* at once */
    d->members_gen = UINT64_MAX;
    node_log(l->m, MESH_LOG_INFO, "LAN discovery on UDP port %u, a beacon every %u ms%s%s%s%s%s",
             port, interval, c->group ? ", group " : "", c->group ? c->group : "",
             c->interfaces ? ", interfaces " : "", c->interfaces ? c->interfaces : "",
             d->tcp_port ? "" : " (hearing only: not listening where a LAN member can dial)");
    *out = d;
    return MESH_OK;
}

void
discover_close(discover_t *d)
{
    if (!d) {
        return;
    }
    beacon_close(d->sock);
    if (d->keys) {
        ident_wipe(d->keys, d->nkeys * sizeof *d->keys);
    }
    free(d->keys);
    free(d->who);
    free(d);
}

/* Make the beacon key with each member that has a session (not removed), when membership
 * moved. On failure keep none: nothing is sent or recognised until it works. */
static void
s_keys(loop_t *l, discover_t *d)
{
    uint64_t gen = member_generation(l->m);
    if (gen == d->members_gen && l->nsess == d->nsess) {
        return;
    }
    if (d->keys) {
        ident_wipe(d->keys, d->nkeys * sizeof *d->keys);
    }
    free(d->keys);
    free(d->who);
    d->nkeys = 0;
    size_t cap = l->nsess < DISCOVER_MEMBERS_MAX ? l->nsess : DISCOVER_MEMBERS_MAX;
    d->keys = cap ? malloc(cap * sizeof *d->keys) : NULL;
    d->who = cap ? malloc(cap * sizeof *d->who) : NULL;
    if (cap && (!d->keys || !d->who)) {
        node_log(l->m, MESH_LOG_WARN, "discovery: out of memory for %zu beacon keys", cap);
        return; /* tried again next turn */
    }
    for (size_t i = 0; i < l->nsess && d->nkeys < cap; i++) {
        session_t *s = l->sess[i];
        if (!s->removed && beaconkey_derive(l->m->ident, s->device, d->keys[d->nkeys]) == MESH_OK) {
            d->who[d->nkeys++] = s;
        }
    }
    d->members_gen = gen;
    d->nsess = l->nsess;
}

/* Send our beacon, tagged for the next BEACON_TAGS_MAX members in turn. */
static void
s_send(loop_t *l, discover_t *d)
{
    if (!d->tcp_port || !d->nkeys) {
        return; /* nobody to tag, or nothing to dial */
    }
    uint8_t keys[BEACON_TAGS_MAX][BEACONKEY_LEN], buf[BEACON_MAX];
    size_t n = d->nkeys < BEACON_TAGS_MAX ? d->nkeys : BEACON_TAGS_MAX, len = 0;
    for (size_t i = 0; i < n; i++) {
        memcpy(keys[i], d->keys[(d->turn + i) % d->nkeys], BEACONKEY_LEN);
    }
    d->turn = (d->turn + n) % d->nkeys;
    mesh_err_t err =
        beacon_encode(ident_public_key(l->m->ident), d->tcp_port, beacon_epoch((int64_t)time(NULL)),
                      (const uint8_t(*)[BEACONKEY_LEN])keys, n, buf, sizeof buf, &len);
    ident_wipe(keys, sizeof keys);
    if (err == MESH_OK && beacon_send(d->sock, buf, len) == 0) {
        node_log(l->m, MESH_LOG_DEBUG, "discovery: no interface took our beacon");
    }
}

/* One datagram heard from the IPv4 address from: a member's beacon dials it. */
static void
s_heard(loop_t *l, discover_t *d, const uint8_t *buf, size_t len, const char *from)
{
    beacon_t b;
    if (beacon_decode(buf, len, &b) != MESH_OK) {
        d->malformed++;
        return;
    }
    uint64_t epoch = beacon_epoch((int64_t)time(NULL));
    for (size_t i = 0; i < d->nkeys; i++) {
        session_t *s = d->who[i];
        if (beacon_is_from(&b, d->keys[i], s->device, epoch)) {
            char endpoint[96];
            d->heard++;
            snprintf(endpoint, sizeof endpoint, "tcp://%s:%u", from, (unsigned)b.port);
            if (dial_hint(l, s, endpoint)) {
                node_log(l->m, MESH_LOG_INFO, "discovered %s at %s (LAN beacon)", s->id, endpoint);
            }
            return;
        }
    }
    d->unknown++; /* a stranger's, a former member's, or our own */
}

/* Log what was dropped since the last line, at most every S_LOG_MS. */
static void
s_log_drops(loop_t *l, discover_t *d, int64_t now)
{
    uint64_t drops = d->malformed + d->flooded;
    if (drops == d->logged_drops || now - d->logged_ms < S_LOG_MS) {
        return;
    }
    node_log(l->m, MESH_LOG_WARN,
             "discovery: dropped %llu malformed or oversized beacon(s) and %llu past the cap of "
             "%u a second so far",
             (unsigned long long)d->malformed, (unsigned long long)d->flooded, DISCOVER_RECV_MAX);
    d->logged_drops = drops;
    d->logged_ms = now;
}

void
discover_tick(loop_t *l, discover_t *d, int64_t now)
{
    if (!d) {
        return;
    }
    s_keys(l, d);
    uint8_t buf[BEACON_MAX];
    char from[64];
    for (int i = 0; i < S_TICK_IN; i++) {
        size_t len = 0;
        mesh_err_t err = beacon_recv(d->sock, buf, sizeof buf, &len, from, sizeof from);
        if (err == MESH_ENOTFOUND || err == MESH_EIO) {
            break;
        }
        if (now - d->window_ms >= 1000) {
            d->window_ms = now;
            d->window_count = 0;
        }
        if (err != MESH_OK) {
            d->malformed++;
        } else if (++d->window_count > DISCOVER_RECV_MAX) {
            d->flooded++;
        } else {
            s_heard(l, d, buf, len, from);
        }
    }
    if (now >= d->next_ms) {
        s_send(l, d);
        /* up to a tenth later, so that devices started together do not stay in step */
        uint32_t r;
        ident_random(&r, sizeof r);
        d->next_ms = now + d->interval_ms + (int64_t)(r % (uint32_t)(d->interval_ms / 10 + 1));
    }
    s_log_drops(l, d, now);
}
