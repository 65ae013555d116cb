/* transport/guard.c: the pre-auth connection table: an array of at most total + 1 entries
 * (each accept is followed by guard_enforce), scanned whole at each step: work per accepted
 * connection is O(total), a constant. One lock, for guard_member from the loop thread.
 * Layer: transport. Third-party: none. SPDX-License-Identifier: MIT */
#include "transport/guard.h"

#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

typedef struct s_conn {
    int fd;
    uint8_t addr[16];             /* the address counted: IPv4 (mapped), or an IPv6 /64 */
    uint8_t key[32];              /* (a member's) its CURVE key */
    struct sockaddr_storage peer; /* the whole peer address, port included */
    socklen_t peer_len;
    uint64_t seq; /* accept order: the lowest is the oldest */
} s_conn_t;

struct guard {
    pthread_mutex_t lock;
    s_conn_t *conns;
    size_t n, total, per_addr;
    s_conn_t *members; /* members' connections: at most GUARD_PER_MEMBER per key */
    size_t nmembers, members_cap;
    uint64_t seq;
    uint64_t shed;
};

size_t
guard_total(uint64_t nofile)
{
    uint64_t quarter = nofile / 4;
    size_t total = quarter < GUARD_TOTAL_MAX ? (size_t)quarter : GUARD_TOTAL_MAX;
    return total < GUARD_PER_ADDR ? GUARD_PER_ADDR : total;
}

mesh_err_t
guard_new(size_t total, size_t per_addr, guard_t **out)
{
    *out = NULL;
    if (total == 0 || per_addr == 0) {
        return MESH_EINVAL;
    }
    guard_t *g = calloc(1, sizeof *g);
    if (!g || !(g->conns = calloc(total + 1, sizeof *g->conns))) {
        free(g);
        return MESH_ENOMEM;
    }
    pthread_mutex_init(&g->lock, NULL);
    g->total = total;
    g->per_addr = per_addr;
    *out = g;
    return MESH_OK;
}

void
guard_free(guard_t *g)
{
    if (!g) {
        return;
    }
    pthread_mutex_destroy(&g->lock);
    free(g->conns);
    free(g->members);
    free(g);
}

/* The address a peer is counted under: IPv4 (also when mapped into IPv6) whole, IPv6 by
 * its /64 (one host may hold a whole /64). false for anything else. */
static bool
s_addr_key(const struct sockaddr_storage *ss, uint8_t *key)
{
    memset(key, 0, 16);
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *in4 = (const struct sockaddr_in *)ss;
        memcpy(key, &in4->sin_addr, 4);
        return true;
    }
    if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)ss;
        if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
            memcpy(key, in6->sin6_addr.s6_addr + 12, 4);
        } else {
            key[15] = 6; /* never equal to an IPv4 key */
            memcpy(key, in6->sin6_addr.s6_addr, 8);
        }
        return true;
    }
    return false;
}

/* The entry of fd, or n when there is none (lock held). */
static size_t
s_find(const guard_t *g, int fd)
{
    size_t i = 0;
    while (i < g->n && g->conns[i].fd != fd) {
        i++;
    }
    return i;
}

static void
s_remove(guard_t *g, size_t i)
{
    g->conns[i] = g->conns[--g->n];
}

/* arr (of *cap entries) grown by half; NULL (arr freed) when there is no memory. */
static s_conn_t *
s_grow(s_conn_t *arr, size_t *cap)
{
    size_t n = *cap ? *cap + *cap / 2 : 16;
    s_conn_t *grown = realloc(arr, n * sizeof *grown);
    if (!grown) {
        free(arr);
        *cap = 0;
        return NULL;
    }
    *cap = n;
    return grown;
}

void
guard_accepted(guard_t *g, int fd)
{
    s_conn_t c = {.fd = fd, .peer_len = sizeof c.peer};
    if (getpeername(fd, (struct sockaddr *)&c.peer, &c.peer_len) != 0 ||
        !s_addr_key(&c.peer, c.addr)) {
        return; /* gone already, or not TCP: nothing to count */
    }
    pthread_mutex_lock(&g->lock);
    size_t i = s_find(g, fd);
    if (i == g->n && g->n == g->total + 1) {
        /* (cannot happen: guard_enforce follows each accept) */
        pthread_mutex_unlock(&g->lock);
        return;
    }
    if (i == g->n) {
        g->n++;
    }
    c.seq = ++g->seq;
    g->conns[i] = c;
    pthread_mutex_unlock(&g->lock);
}

/* The entry of fd among the members', or nmembers (lock held). */
static size_t
s_find_member(const guard_t *g, int fd)
{
    size_t i = 0;
    while (i < g->nmembers && g->members[i].fd != fd) {
        i++;
    }
    return i;
}

void
guard_gone(guard_t *g, int fd)
{
    pthread_mutex_lock(&g->lock);
    size_t i = s_find(g, fd);
    if (i < g->n) {
        s_remove(g, i);
    }
    i = s_find_member(g, fd);
    if (i < g->nmembers) {
        g->members[i] = g->members[--g->nmembers];
    }
    pthread_mutex_unlock(&g->lock);
}

static bool s_same_peer(const s_conn_t *c);

size_t
guard_member(guard_t *g, int fd, const uint8_t *key)
{
    size_t shed = 0;
    pthread_mutex_lock(&g->lock);
    size_t i = s_find(g, fd);
    if (i < g->n) {
        s_remove(g, i); /* no longer pre-auth */
    }
    i = s_find_member(g, fd);
    if (i < g->nmembers && memcmp(g->members[i].key, key, 32) == 0) {
        pthread_mutex_unlock(&g->lock);
        return 0; /* known: the common case, one scan */
    }
    if (i == g->nmembers) {
        s_conn_t c = {.fd = fd, .peer_len = sizeof c.peer};
        if (getpeername(fd, (struct sockaddr *)&c.peer, &c.peer_len) != 0 ||
            (g->nmembers == g->members_cap &&
             !(g->members = s_grow(g->members, &g->members_cap)))) {
            g->nmembers = g->members ? g->nmembers : 0;
            pthread_mutex_unlock(&g->lock);
            return 0;
        }
        g->members[g->nmembers++] = c;
    }
    memcpy(g->members[i].key, key, 32);
    g->members[i].seq = ++g->seq;
    /* past the cap: the key's oldest other connections go */
    for (;;) {
        size_t count = 0, oldest = g->nmembers;
        for (size_t j = 0; j < g->nmembers; j++) {
            if (memcmp(g->members[j].key, key, 32) == 0) {
                count++;
                if (j != i &&
                    (oldest == g->nmembers || g->members[j].seq < g->members[oldest].seq)) {
                    oldest = j;
                }
            }
        }
        if (count <= GUARD_PER_MEMBER || oldest == g->nmembers) {
            break;
        }
        s_conn_t c = g->members[oldest];
        g->members[oldest] = g->members[--g->nmembers];
        if (i == g->nmembers) {
            i = oldest; /* (entry i was the last: it moved into the hole) */
        }
        if (s_same_peer(&c) && shutdown(c.fd, SHUT_RDWR) == 0) {
            shed++;
        }
    }
    g->shed += shed;
    pthread_mutex_unlock(&g->lock);
    return shed;
}

/* How many entries share entry i's address (lock held). */
static size_t
s_count_addr(const guard_t *g, size_t i)
{
    size_t n = 0;
    for (size_t j = 0; j < g->n; j++) {
        n += memcmp(g->conns[j].addr, g->conns[i].addr, 16) == 0;
    }
    return n;
}

/* The entry to shed, or n when every cap holds: the oldest entry of the address holding
 * the most, when that address is over per_addr or all are over total (lock held). */
static size_t
s_victim(const guard_t *g)
{
    size_t most = 0, victim = g->n;
    for (size_t i = 0; i < g->n; i++) {
        size_t k = s_count_addr(g, i);
        if (k > most || (k == most && victim < g->n && g->conns[i].seq < g->conns[victim].seq)) {
            most = k;
            victim = i;
        }
    }
    return most > g->per_addr || g->n > g->total ? victim : g->n;
}

/* Is fd still the connection recorded in c (and not a reused descriptor)? */
static bool
s_same_peer(const s_conn_t *c)
{
    struct sockaddr_storage now;
    socklen_t len = sizeof now;
    return getpeername(c->fd, (struct sockaddr *)&now, &len) == 0 && len == c->peer_len &&
           memcmp(&now, &c->peer, len) == 0;
}

size_t
guard_enforce(guard_t *g)
{
    size_t shed = 0;
    pthread_mutex_lock(&g->lock);
    for (size_t i = s_victim(g); i < g->n; i = s_victim(g)) {
        s_conn_t c = g->conns[i];
        s_remove(g, i);
        if (s_same_peer(&c) && shutdown(c.fd, SHUT_RDWR) == 0) {
            shed++;
        }
    }
    g->shed += shed;
    pthread_mutex_unlock(&g->lock);
    return shed;
}

size_t
guard_count(guard_t *g)
{
    pthread_mutex_lock(&g->lock);
    size_t n = g->n;
    pthread_mutex_unlock(&g->lock);
    return n;
}

size_t
guard_max(const guard_t *g)
{
    return g->total;
}

uint64_t
guard_shed(guard_t *g)
{
    pthread_mutex_lock(&g->lock);
    uint64_t n = g->shed;
    pthread_mutex_unlock(&g->lock);
    return n;
}
