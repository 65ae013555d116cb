/* core/member/addr.h: the one form of a network address meshsync accepts (docs/PROTOCOL.md §8):
 * tcp://HOST:PORT, HOST an IPv4 literal, a [bracketed] IPv6 literal or a DNS name.
 * Owns: checking an address a member gives (peer add, add records from the network) or a
 * listen endpoint, the reason a bad one is refused, and resolving a listen endpoint's host.
 * Not here: storing addresses (core/member/peer.c), dialling and binding (core/sync/, transport/).
 * Layer: core (member). Third-party: none. SPDX-License-Identifier: MIT */
#ifndef MESH_CORE_MEMBER_ADDR_H
#define MESH_CORE_MEMBER_ADDR_H

#include <stdbool.h>
#include <stddef.h>

#include "meshsync.h" /* mesh_err_t */

#define ADDR_HOST_MAX 253u /* bytes in a host name (DNS), or an IP literal */
#define ADDR_TEXT_MAX 300u /* bytes of a listen endpoint as resolved, NUL included */

/* What addr_parse found: the host (without brackets) and the port. */
typedef struct addr {
    char host[ADDR_HOST_MAX + 1];
    unsigned port;
    bool ipv6;   /* the host was a [bracketed] IPv6 literal */
    bool is_ip;  /* the host is an IP literal (v4 or v6), not a name */
    bool is_any; /* a listen endpoint's host "*" (every interface) */
} addr_t;

/* Check len bytes of text as an address to dial: "tcp://" HOST ":" PORT, nothing else, with
 * HOST an IPv4 literal (a.b.c.d), a [bracketed] IPv6 literal or a DNS name (labels of
 * letters, digits and '-', 1 to 63 bytes each, at most 253 in all) and PORT 1..65535. With
 * listen, it checks a listen endpoint instead: HOST may also be "*" (every interface) and
 * PORT 0 (one the system picks). Never reads past len; text needs no NUL.
 * MESH_OK: *out filled (out may be NULL). MESH_EINVAL: why (why_len bytes, may be NULL)
 * says what is wrong, naming the text escaped and cut short. Thread-safe: yes. */
MESH_NODISCARD mesh_err_t addr_parse(const char *text, size_t len, bool listen, addr_t *out,
                                     char *why, size_t why_len);

/* Is len bytes of text an address addr_parse(.., false, ..) accepts? */
bool addr_is_valid(const char *text, size_t len);

/* Turn the listen endpoint text (NUL-terminated) into the one to bind, in out (out_len
 * bytes): checked as addr_parse(.., true, ..) does; a HOST that is a name is resolved to
 * its first IPv4 address (localhost: 127.0.0.1), or kept when it names a network interface
 * of this machine (e.g. lo, eth0), which ZeroMQ binds to; an IPv6 literal is refused (the
 * transport listens on IPv4 only). port (may be NULL) receives the
 * port. MESH_OK, or MESH_EINVAL with why saying what is wrong (a bad endpoint, a name that
 * neither resolves nor names an interface). Thread-safe: yes (getaddrinfo). */
MESH_NODISCARD mesh_err_t addr_listen_resolve(const char *text, char *out, size_t out_len,
                                              unsigned *port, char *why, size_t why_len);

/* Write len bytes of text into out (out_len bytes, NUL-terminated) for a log line or an error:
 * printable ASCII as is, other bytes as \xNN, cut with "..." past about 64 bytes. */
void addr_quote(const char *text, size_t len, char *out, size_t out_len);

#endif /* MESH_CORE_MEMBER_ADDR_H */
