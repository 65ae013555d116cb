/* cli/cmd_status.c: `meshctl status`: this device, its peers, and how far along sync is.
 * Owns: showing mesh_status's snapshot with each collection's figures. Not here: what the
 * daemon measures or how it reports it (the library: mesh_status).
 * Layer: cli. Third-party: none. SPDX-License-Identifier: MIT */
#include "cli.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "out.h"

static const char s_usage[] =
    "usage: meshctl status\n"
    "\n"
    "Show this device, whether a daemon runs on its home, each collection (keys,\n"
    "versions, digest; in sync with every connected member, or how many versions and\n"
    "about how many bytes are left to send and to receive), and each member: connected\n"
    "or when it was last seen, its address, and how far behind it is in each direction in\n"
    "versions (items and tombstones) and bytes. On a terminal a progress bar shows each\n"
    "collection that is syncing. Bytes left are estimates from the bytes per version seen\n"
    "so far in that direction ('?' before any).\n"
    "\n"
    "--json prints {\"id\", \"daemon\", \"listen\", \"collections\": [{\"name\", \"keys\",\n"
    "\"versions\", \"digest\", \"in_sync\", \"to_send\", \"to_receive\", \"bytes_to_send\",\n"
    "\"bytes_to_receive\"}], \"peers\": [{\"id\", \"addr\", \"connected\", \"last_seen\",\n"
    "\"in_sync\", \"to_send\", \"to_receive\", \"bytes_to_send\", \"bytes_to_receive\",\n"
    "\"in_flight\", \"batches_out\", \"batches_in\", \"bytes_out\", \"bytes_in\"}]} (byte\n"
    "estimates are -1 when unknown; last_seen is Unix seconds, 0 for never).\n";

/* Write s to stdout as a terminal cannot act on it: valid UTF-8 as it is, but control
 * characters (C0, DEL, C1) and bytes that are not UTF-8 as \xNN, tab \t, newline \n,
 * backslash \\. */
static void
s_print_name(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        size_t n = *p < 0x80 ? 1 : *p >= 0xf0 ? 4 : *p >= 0xe0 ? 3 : 2;
        bool c1 = n == 2 && p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f;
        if (*p == '\\') {
            fputs("\\\\", stdout);
        } else if (*p == '\t') {
            fputs("\\t", stdout);
        } else if (*p == '\n') {
            fputs("\\n", stdout);
        } else if (n == 1 && *p >= 0x20 && *p != 0x7f) {
            putchar(*p);
        } else if (n > 1 && !c1 && strnlen((const char *)p, n) == n && out_is_utf8(p, n)) {
            fwrite(p, 1, n, stdout);
            p += n;
            continue;
        } else {
            printf("\\x%02x", *p);
        }
        p++;
    }
}

/* The snapshot's device, or all zero (with daemon false) when it cannot be read. */
static mesh_status_device_t
s_device(const mesh_status_t *st)
{
    mesh_status_device_t dev = {.size = sizeof dev};
    if (mesh_status_device(st, &dev) != MESH_OK) {
        memset(&dev, 0, sizeof dev);
        dev.listen = "";
    }
    return dev;
}

/* A collection's state over every connected peer: in sync when there is one and each
 * says so. */
typedef struct s_coll_sum {
    bool in_sync;
    size_t peers; /* connected peers that report it */
    unsigned long long to_send, to_receive;
    long long bytes_to_send, bytes_to_receive; /* -1: unknown */
} s_coll_sum_t;

static void
s_add_bytes(long long *sum, long long v)
{
    *sum = *sum < 0 || v < 0 ? -1 : *sum + v; /* unknown when any part is */
}

static s_coll_sum_t
s_coll_sum(const mesh_status_t *st, const char *name)
{
    mesh_status_device_t dev = s_device(st);
    s_coll_sum_t sum = {dev.daemon, 0, 0, 0, 0, 0};
    for (size_t i = 0; dev.daemon && i < dev.colls; i++) {
        mesh_status_coll_t c = {.size = sizeof c};
        if (mesh_status_coll(st, i, &c) != MESH_OK || strcmp(c.name, name) != 0)
            continue;
        sum.peers++;
        sum.in_sync = sum.in_sync && c.in_sync;
        sum.to_send += c.to_send;
        sum.to_receive += c.to_receive;
        s_add_bytes(&sum.bytes_to_send, c.to_send ? c.bytes_to_send : 0);
        s_add_bytes(&sum.bytes_to_receive, c.to_receive ? c.bytes_to_receive : 0);
    }
    sum.in_sync = sum.in_sync && sum.peers > 0; /* with nobody to compare, nothing is known */
    return sum;
}

static void
s_print_json(const char *id, const mesh_status_t *st, const mesh_coll_list_t *colls)
{
    mesh_status_device_t dev = s_device(st);
    out_json_t j;
    out_json_init(&j, stdout);
    out_json_object_begin(&j, NULL);
    out_json_string(&j, "id", id);
    out_json_bool(&j, "daemon", dev.daemon);
    out_json_string(&j, "listen", dev.daemon ? dev.listen : "");
    out_json_array_begin(&j, "collections");
    for (size_t i = 0; i < mesh_coll_list_count(colls); i++) {
        const mesh_coll_info_t *c = mesh_coll_list_get(colls, i);
        s_coll_sum_t sum = s_coll_sum(st, c->name);
        out_json_object_begin(&j, NULL);
        out_json_string(&j, "name", c->name);
        out_json_u64(&j, "keys", c->keys);
        out_json_u64(&j, "versions", c->versions);
        out_json_string(&j, "digest", c->digest);
        out_json_bool(&j, "in_sync", sum.in_sync);
        out_json_u64(&j, "to_send", sum.to_send);
        out_json_u64(&j, "to_receive", sum.to_receive);
        out_json_i64(&j, "bytes_to_send", sum.bytes_to_send);
        out_json_i64(&j, "bytes_to_receive", sum.bytes_to_receive);
        out_json_object_end(&j);
    }
    out_json_array_end(&j);
    out_json_array_begin(&j, "peers");
    for (size_t i = 0; dev.daemon && i < dev.peers; i++) {
        mesh_status_peer_t p = {.size = sizeof p};
        if (mesh_status_peer(st, i, &p) != MESH_OK)
            continue;
        out_json_object_begin(&j, NULL);
        out_json_string(&j, "id", p.id);
        out_json_string(&j, "addr", p.addr[0] ? p.addr : "-");
        out_json_bool(&j, "connected", p.connected);
        out_json_i64(&j, "last_seen", p.last_seen > 0 ? p.last_seen : 0);
        out_json_bool(&j, "in_sync", p.in_sync);
        out_json_u64(&j, "to_send", p.to_send);
        out_json_u64(&j, "to_receive", p.to_receive);
        out_json_i64(&j, "bytes_to_send", p.bytes_to_send);
        out_json_i64(&j, "bytes_to_receive", p.bytes_to_receive);
        out_json_u64(&j, "in_flight", p.in_flight);
        out_json_u64(&j, "batches_out", p.batches_out);
        out_json_u64(&j, "batches_in", p.batches_in);
        out_json_u64(&j, "bytes_out", p.bytes_out);
        out_json_u64(&j, "bytes_in", p.bytes_in);
        out_json_object_end(&j);
    }
    out_json_array_end(&j);
    out_json_object_end(&j);
}

/* "12.3 MB" style, or "?" when unknown. */
static const char *
s_bytes(char *buf, size_t len, long long v)
{
    if (v < 0)
        snprintf(buf, len, "?");
    else if (v < 10 * 1024)
        snprintf(buf, len, "%lld B", v);
    else if (v < 10 * 1024 * 1024)
        snprintf(buf, len, "%.1f KiB", (double)v / 1024);
    else
        snprintf(buf, len, "%.1f MiB", (double)v / (1024 * 1024));
    return buf;
}

/* A progress bar: done of total. */
static void
s_bar(unsigned long long done, unsigned long long total)
{
    enum { WIDTH = 40 };
    int filled = (int)(done * WIDTH / total);
    printf("        [");
    for (int i = 0; i < WIDTH; i++)
        putchar(i < filled ? '#' : '.');
    printf("] %3d%%\n", (int)(done * 100 / total));
}

/* One collection's line (and bar, on a terminal). */
static void
s_print_coll(const mesh_status_t *st, bool daemon, const mesh_coll_info_t *c, bool tty)
{
    char b1[32], b2[32];
    s_coll_sum_t sum = s_coll_sum(st, c->name);
    printf("coll    ");
    s_print_name(c->name);
    printf("  %llu keys, %llu versions, digest %.16s", (unsigned long long)c->keys,
           (unsigned long long)c->versions, c->digest);
    if (!daemon) {
        printf("\n");
        return;
    }
    if (sum.peers == 0) {
        printf("  no member connected\n");
        return;
    }
    if (sum.in_sync) {
        printf("  in sync\n");
        return;
    }
    printf("  syncing: %llu to send (%s), %llu to receive (%s)\n", sum.to_send,
           s_bytes(b1, sizeof b1, sum.bytes_to_send), sum.to_receive,
           s_bytes(b2, sizeof b2, sum.bytes_to_receive));
    unsigned long long total = c->versions + sum.to_receive + sum.to_send;
    if (tty && total)
        s_bar(c->versions > sum.to_send ? c->versions - sum.to_send : 0, total);
}

/* One peer's line. Without a daemon: the member and its known addresses (whether it is up
 * is the daemon's to know). */
static void
s_print_peer(const mesh_status_peer_t *p, bool daemon)
{
    char b1[32], b2[32];
    printf("peer    %s  ", p->id);
    s_print_name(p->addr[0] ? p->addr : "(no address: it dials in)");
    if (!daemon) {
        printf("  (no daemon here: not connected)\n");
        return;
    }
    printf("  ");
    if (!p->connected) {
        if (p->last_seen > 0) {
            time_t t = (time_t)p->last_seen;
            struct tm tm;
            char when[64];
            localtime_r(&t, &tm);
            strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", &tm);
            printf("not connected, last seen %s\n", when);
        } else {
            printf("not connected, never seen\n");
        }
        return;
    }
    if (p->refused)
        printf("refused (protocol version)");
    else if (p->in_sync)
        printf("in sync");
    else
        printf("behind: it lacks %llu (%s), we lack %llu (%s)", (unsigned long long)p->to_send,
               s_bytes(b1, sizeof b1, p->bytes_to_send), (unsigned long long)p->to_receive,
               s_bytes(b2, sizeof b2, p->bytes_to_receive));
    printf("  sent %llu batches/%llu bytes, received %llu/%llu\n",
           (unsigned long long)p->batches_out, (unsigned long long)p->bytes_out,
           (unsigned long long)p->batches_in, (unsigned long long)p->bytes_in);
}

int
cmd_status(int argc, char **argv, cli_ctx_t *ctx)
{
    int npos, rc = cli_parse(ctx, s_usage, argc, argv, NULL, 0, 0, &npos);
    if (rc != CLI_CONTINUE)
        return rc;
    mesh_t *m = NULL;
    if (cli_open(ctx, &m) != CLI_OK)
        return CLI_FAIL;
    char id[MESH_ID_TEXT_LEN + 1] = "";
    if (mesh_device_id(m, id, sizeof id) != MESH_OK)
        id[0] = '\0';
    mesh_status_t *st = NULL;
    mesh_coll_list_t *colls = NULL;
    mesh_err_t err = mesh_status(m, &st);
    if (err == MESH_OK)
        err = mesh_collections(m, &colls);
    if (err != MESH_OK) {
        rc = cli_fail(m, err, "status");
        mesh_status_free(st);
        mesh_close(m);
        return rc;
    }
    mesh_status_device_t dev = s_device(st);
    if (ctx->json) {
        s_print_json(id, st, colls);
    } else {
        bool tty = isatty(STDOUT_FILENO);
        printf("device  %s (", id);
        s_print_name(mesh_device_name(m));
        printf(")\n");
        if (!dev.daemon) {
            printf("daemon  not running (start it with 'meshctl daemon')\n");
        } else {
            printf("daemon  pid %lld, listening on ", (long long)dev.pid);
            s_print_name(dev.listen[0] ? dev.listen : "-");
            printf("\n");
        }
        for (size_t i = 0; i < mesh_coll_list_count(colls); i++)
            s_print_coll(st, dev.daemon, mesh_coll_list_get(colls, i), tty);
        for (size_t i = 0; i < dev.peers; i++) {
            mesh_status_peer_t p = {.size = sizeof p};
            if (mesh_status_peer(st, i, &p) == MESH_OK)
                s_print_peer(&p, dev.daemon);
        }
    }
    mesh_coll_list_free(colls);
    mesh_status_free(st);
    mesh_close(m);
    return CLI_OK;
}
