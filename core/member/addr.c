/* core/member/addr.c: checking tcp://HOST:PORT addresses and resolving listen endpoints.
 * Every address a member gives is checked here before it is stored (mesh_peer_add) and again
 * when it is read from a record (a peer's records may carry anything: ipc:// paths, control
 * bytes), so the daemon dials only tcp:// endpoints of the one form.
 * Layer: core (member). Third-party: none (libc's resolver). SPDX-License-Identifier: MIT */
#include "core/member/addr.h"

#include <arpa/inet.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#define S_SCHEME     "tcp://"
#define S_SCHEME_LEN 6u
#define S_LABEL_MAX  63u
#define S_QUOTE_MAX  64u /* bytes of an address shown in a message */

void
addr_quote(const char *text, size_t len, char *out, size_t out_len)
{
    size_t o = 0;
    if (!out_len) {
        return;
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)text[i];
        char piece[8];
        if (i == S_QUOTE_MAX) {
            snprintf(piece, sizeof piece, "...");
            i = len;
        } else if (c >= 0x20 && c < 0x7f && c != '\\') {
            piece[0] = (char)c;
            piece[1] = '\0';
        } else {
            snprintf(piece, sizeof piece, "\\x%02x", c);
        }
        size_t n = strlen(piece);
        if (o + n >= out_len) {
            break;
        }
        memcpy(out + o, piece, n);
        o += n;
    }
    out[o] = '\0';
}

/* Say why text is refused: "'<text>' <reason>". Returns MESH_EINVAL. */
__attribute__((format(printf, 5, 6))) static mesh_err_t
s_refuse(const char *text, size_t len, char *why, size_t why_len, const char *fmt, ...)
{
    if (!why || !why_len) {
        return MESH_EINVAL;
    }
    char quoted[4 * S_QUOTE_MAX + 8], reason[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    addr_quote(text, len, quoted, sizeof quoted);
    snprintf(why, why_len, "'%s' %s", quoted, reason);
    return MESH_EINVAL;
}

/* Is host (len bytes) a DNS name: dot-separated labels of letters, digits and '-', none
 * empty, none starting or ending with '-', each at most 63 bytes (one final dot allowed)? */
static bool
s_is_dns_name(const char *host, size_t len)
{
    if (len && host[len - 1] == '.') {
        len--;
    }
    if (len == 0 || len > ADDR_HOST_MAX) {
        return false;
    }
    size_t label = 0;
    for (size_t i = 0; i <= len; i++) {
        char c = i < len ? host[i] : '.';
        if (c == '.') {
            if (label == 0 || label > S_LABEL_MAX || host[i - 1] == '-') {
                return false;
            }
            label = 0;
            continue;
        }
        bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        if (!alnum && !(c == '-' && label > 0)) {
            return false;
        }
        label++;
    }
    return true;
}

/* Is host (len bytes) made of digits and dots only (so it must be an IPv4 literal)? */
static bool
s_looks_numeric(const char *host, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (!(host[i] == '.' || (host[i] >= '0' && host[i] <= '9'))) {
            return false;
        }
    }
    return true;
}

/* Parse PORT (len bytes, decimal digits only) into *port. */
static bool
s_port(const char *p, size_t len, unsigned *port)
{
    unsigned v = 0;
    if (len == 0 || len > 5) {
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        if (p[i] < '0' || p[i] > '9') {
            return false;
        }
        v = v * 10 + (unsigned)(p[i] - '0');
    }
    *port = v;
    return true;
}

/* Check HOST (len bytes) and fill out's host fields. MESH_OK or MESH_EINVAL (why). */
static mesh_err_t
s_host(const char *text, size_t text_len, const char *host, size_t len, bool listen, addr_t *out,
       char *why, size_t why_len)
{
    char buf[ADDR_HOST_MAX + 1];
    unsigned char ip[sizeof(struct in6_addr)];
    if (len == 0) {
        return s_refuse(text, text_len, why, why_len, "has no host (expected tcp://HOST:PORT)");
    }
    if (host[0] == '[') {
        if (len < 3 || host[len - 1] != ']' || len - 2 > ADDR_HOST_MAX) {
            return s_refuse(text, text_len, why, why_len, "has a malformed [IPv6] host");
        }
        memcpy(buf, host + 1, len - 2);
        buf[len - 2] = '\0';
        if (memchr(host + 1, '\0', len - 2) || inet_pton(AF_INET6, buf, ip) != 1) {
            return s_refuse(text, text_len, why, why_len, "has a malformed [IPv6] host");
        }
        out->ipv6 = out->is_ip = true;
    } else if (listen && len == 1 && host[0] == '*') {
        snprintf(buf, sizeof buf, "*");
        out->is_any = true;
    } else {
        if (len > ADDR_HOST_MAX) {
            return s_refuse(text, text_len, why, why_len, "has a host longer than %u bytes",
                            ADDR_HOST_MAX);
        }
        memcpy(buf, host, len);
        buf[len] = '\0';
        if (s_looks_numeric(host, len)) {
            if (inet_pton(AF_INET, buf, ip) != 1) {
                return s_refuse(text, text_len, why, why_len, "has a malformed IPv4 address");
            }
            out->is_ip = true;
        } else if (!s_is_dns_name(host, len)) {
            return s_refuse(text, text_len, why, why_len,
                            "has a host that is neither an IP address nor a host name "
                            "(letters, digits, '-' and '.')");
        }
    }
    memcpy(out->host, buf, strlen(buf) + 1);
    return MESH_OK;
}

mesh_err_t
addr_parse(const char *text, size_t len, bool listen, addr_t *out, char *why, size_t why_len)
{
    addr_t scratch;
    addr_t *a = out ? out : &scratch;
    memset(a, 0, sizeof *a);
    if (why && why_len) {
        why[0] = '\0';
    }
    if (!text) {
        return s_refuse("", 0, why, why_len, "is not an address");
    }
    if (len < S_SCHEME_LEN || memcmp(text, S_SCHEME, S_SCHEME_LEN) != 0) {
        return s_refuse(text, len, why, why_len, "is not an address: expected tcp://HOST:PORT");
    }
    const char *host = text + S_SCHEME_LEN, *end = text + len;
    const char *colon = NULL;
    for (const char *p = end; p > host; p--) {
        if (p[-1] == ':') {
            colon = p - 1;
            break;
        }
        if (p[-1] == ']') {
            break;
        }
    }
    if (!colon) {
        return s_refuse(text, len, why, why_len, "has no port (expected tcp://HOST:PORT)");
    }
    unsigned port = 0;
    if (!s_port(colon + 1, (size_t)(end - colon - 1), &port)) {
        return s_refuse(text, len, why, why_len, "has a port that is not a number");
    }
    unsigned low = listen ? 0 : 1;
    if (port < low || port > 65535) {
        return s_refuse(text, len, why, why_len, "has port %u, outside %u..65535", port, low);
    }
    mesh_err_t err = s_host(text, len, host, (size_t)(colon - host), listen, a, why, why_len);
    if (err != MESH_OK) {
        memset(a, 0, sizeof *a);
        return err;
    }
    a->port = port;
    return MESH_OK;
}

bool
addr_is_valid(const char *text, size_t len)
{
    return addr_parse(text, len, false, NULL, NULL, 0) == MESH_OK;
}

mesh_err_t
addr_listen_resolve(const char *text, char *out, size_t out_len, unsigned *port, char *why,
                    size_t why_len)
{
    addr_t a;
    if (out_len) {
        out[0] = '\0';
    }
    mesh_err_t err = addr_parse(text, text ? strlen(text) : 0, true, &a, why, why_len);
    if (err != MESH_OK) {
        return err;
    }
    if (port) {
        *port = a.port;
    }
    int n = 0;
    if (a.ipv6) {
        /* the transport opens IPv4 sockets only (no ZMQ_IPV6): say so, not "no such device" */
        return s_refuse(text, strlen(text), why, why_len,
                        "is IPv6: listening on IPv6 is not supported yet");
    }
    if (a.is_ip || a.is_any) {
        n = snprintf(out, out_len, "%s", text);
    } else {
        struct addrinfo hints, *res = NULL;
        memset(&hints, 0, sizeof hints);
        hints.ai_family = AF_INET;
        hints.ai_socktype = SOCK_STREAM;
        char ip[INET_ADDRSTRLEN] = "";
        if (getaddrinfo(a.host, NULL, &hints, &res) == 0 && res) {
            const struct sockaddr_in *sin = (const struct sockaddr_in *)(const void *)res->ai_addr;
            if (!inet_ntop(AF_INET, &sin->sin_addr, ip, sizeof ip)) {
                ip[0] = '\0';
            }
        }
        if (res) {
            freeaddrinfo(res);
        }
        if (ip[0]) {
            n = snprintf(out, out_len, S_SCHEME "%s:%u", ip, a.port);
        } else if (if_nametoindex(a.host) != 0) {
            n = snprintf(out, out_len, "%s", text); /* an interface: ZeroMQ binds to it */
        } else {
            return s_refuse(text, strlen(text), why, why_len,
                            "names no IPv4 host this machine resolves, and no network interface");
        }
    }
    if (n < 0 || (size_t)n >= out_len) {
        return s_refuse(text, strlen(text), why, why_len, "is too long");
    }
    return MESH_OK;
}
