/* cli/cmd_status.c: `meshctl status`: this device, its peers, and how far along sync is.
 * Owns: reading the daemon's status file (HOME/status) and showing it. Not here: what the
 * daemon measures (the library's event loop).
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

#define S_FRESH_MS 3000 /* a status file older than this means no daemon runs */

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

static long long
s_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The value of " key=" in line, copied into out (at most len - 1 chars), or false. */
static bool
s_field(const char *line, const char *key, char *out, size_t len)
{
    size_t klen = strlen(key);
    for (const char *p = strchr(line, ' '); p; p = strchr(p + 1, ' ')) {
        if (strncmp(p + 1, key, klen) == 0 && p[1 + klen] == '=') {
            const char *v = p + 2 + klen;
            size_t n = strcspn(v, " \n");
            if (n >= len)
                return false;
            memcpy(out, v, n);
            out[n] = '\0';
            return true;
        }
    }
    return false;
}

static unsigned long long
s_u64(const char *line, const char *key)
{
    char v[32];
    return s_field(line, key, v, sizeof v) ? strtoull(v, NULL, 10) : 0;
}

/* A number, or -1 for "-" or a missing field. */
static long long
s_i64(const char *line, const char *key)
{
    char v[32];
    return s_field(line, key, v, sizeof v) && v[0] != '-' ? strtoll(v, NULL, 10) : -1;
}

/* Parse one "peer ID key=value ..." line. */
static bool
s_peer_line(const char *line, cli_peer_status_t *p)
{
    memset(p, 0, sizeof *p);
    if (sscanf(line, "peer %62s", p->id) != 1 || !s_field(line, "addr", p->addr, sizeof p->addr))
        return false;
    p->connected = (int)s_u64(line, "connected");
    p->session = (int)s_u64(line, "session");
    p->refused = (int)s_u64(line, "refused");
    p->in_sync = (int)s_u64(line, "in_sync");
    p->silent_ms = s_i64(line, "silent_ms");
    p->seen = s_i64(line, "seen");
    p->to_send = s_u64(line, "to_send");
    p->to_receive = s_u64(line, "to_receive");
    p->bytes_to_send = s_i64(line, "bytes_to_send");
    p->bytes_to_receive = s_i64(line, "bytes_to_receive");
    p->in_flight = s_u64(line, "in_flight");
    p->batches_out = s_u64(line, "batches_out");
    p->batches_in = s_u64(line, "batches_in");
    p->bytes_out = s_u64(line, "bytes_out");
    p->bytes_in = s_u64(line, "bytes_in");
    return true;
}

/* Parse one "coll NAME peer=ID key=value ..." line. */
static bool
s_coll_line(const char *line, cli_coll_status_t *c)
{
    memset(c, 0, sizeof *c);
    if (sscanf(line, "coll %200s", c->name) != 1 || !s_field(line, "peer", c->peer, sizeof c->peer))
        return false;
    c->to_send = s_u64(line, "to_send");
    c->to_receive = s_u64(line, "to_receive");
    c->bytes_to_send = s_i64(line, "bytes_to_send");
    c->bytes_to_receive = s_i64(line, "bytes_to_receive");
    c->in_sync = (int)s_u64(line, "in_sync");
    return true;
}

int
cli_status_read(const cli_ctx_t *ctx, cli_status_t *st)
{
    char path[CLI_PATH_MAX + 16], line[1024];
    long long updated = 0;
    memset(st, 0, sizeof *st);
    snprintf(path, sizeof path, "%s/status", ctx->home);
    FILE *f = fopen(path, "r");
    if (!f)
        return CLI_OK;
    while (fgets(line, sizeof line, f)) {
        if (sscanf(line, "pid %ld", &st->pid) == 1 || sscanf(line, "listen %255s", st->listen) == 1)
            continue;
        if (sscanf(line, "updated_ms %lld", &updated) == 1)
            continue;
        if (strncmp(line, "peer ", 5) == 0 && st->npeers < CLI_PEERS_MAX &&
            s_peer_line(line, &st->peers[st->npeers]))
            st->npeers++;
        if (strncmp(line, "coll ", 5) == 0 && st->ncolls < CLI_COLL_LINES_MAX &&
            s_coll_line(line, &st->colls[st->ncolls]))
            st->ncolls++;
    }
    fclose(f);
    st->age_ms = s_now_ms() - updated;
    st->running =
        st->pid > 0 && (kill((pid_t)st->pid, 0) == 0 || errno == EPERM) && st->age_ms < S_FRESH_MS;
    return CLI_OK;
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
s_coll_sum(const cli_status_t *st, const char *name)
{
    s_coll_sum_t sum = {st->running, 0, 0, 0, 0, 0};
    for (size_t i = 0; st->running && i < st->ncolls; i++) {
        const cli_coll_status_t *c = &st->colls[i];
        if (strcmp(c->name, name) != 0)
            continue;
        sum.peers++;
        sum.in_sync = sum.in_sync && c->in_sync;
        sum.to_send += c->to_send;
        sum.to_receive += c->to_receive;
        s_add_bytes(&sum.bytes_to_send, c->to_send ? c->bytes_to_send : 0);
        s_add_bytes(&sum.bytes_to_receive, c->to_receive ? c->bytes_to_receive : 0);
    }
    sum.in_sync = sum.in_sync && sum.peers > 0; /* with nobody to compare, nothing is known */
    return sum;
}

static void
s_print_json(const char *id, const cli_status_t *st, const mesh_coll_list_t *colls)
{
    out_json_t j;
    out_json_init(&j, stdout);
    out_json_object_begin(&j, NULL);
    out_json_string(&j, "id", id);
    out_json_bool(&j, "daemon", st->running);
    out_json_string(&j, "listen", st->running ? st->listen : "");
    out_json_array_begin(&j, "collections");
    for (size_t i = 0; i < mesh_coll_list_count(colls); i++) {
        const mesh_coll_info_t *info = mesh_coll_list_get(colls, i);
        s_coll_sum_t sum = s_coll_sum(st, info->name);
        out_json_object_begin(&j, NULL);
        out_json_string(&j, "name", info->name);
        out_json_u64(&j, "keys", info->keys);
        out_json_u64(&j, "versions", info->versions);
        out_json_string(&j, "digest", info->digest);
        out_json_bool(&j, "in_sync", sum.in_sync);
        out_json_u64(&j, "to_send", sum.to_send);
        out_json_u64(&j, "to_receive", sum.to_receive);
        out_json_i64(&j, "bytes_to_send", sum.bytes_to_send);
        out_json_i64(&j, "bytes_to_receive", sum.bytes_to_receive);
        out_json_object_end(&j);
    }
    out_json_array_end(&j);
    out_json_array_begin(&j, "peers");
    for (size_t i = 0; st->running && i < st->npeers; i++) {
        const cli_peer_status_t *p = &st->peers[i];
        out_json_object_begin(&j, NULL);
        out_json_string(&j, "id", p->id);
        out_json_string(&j, "addr", p->addr);
        out_json_bool(&j, "connected", p->connected);
        out_json_i64(&j, "last_seen", p->seen > 0 ? p->seen : 0);
        out_json_bool(&j, "in_sync", p->in_sync);
        out_json_u64(&j, "to_send", p->to_send);
        out_json_u64(&j, "to_receive", p->to_receive);
        out_json_i64(&j, "bytes_to_send", p->bytes_to_send);
        out_json_i64(&j, "bytes_to_receive", p->bytes_to_receive);
        out_json_u64(&j, "in_flight", p->in_flight);
        out_json_u64(&j, "batches_out", p->batches_out);
        out_json_u64(&j, "batches_in", p->batches_in);
        out_json_u64(&j, "bytes_out", p->bytes_out);
        out_json_u64(&j, "bytes_in", p->bytes_in);
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

/* Without a daemon: the members this device knows, with their addresses (whether they
 * are up is the daemon's to know). */
static void
s_print_members(mesh_t *m)
{
    mesh_peer_list_t *peers = NULL;
    if (mesh_peers(m, &peers) != MESH_OK)
        return;
    for (size_t i = 0; i < mesh_peer_list_count(peers); i++) {
        const mesh_peer_t *p = mesh_peer_list_get(peers, i);
        if (p->self)
            continue;
        printf("peer    %s  ", p->id);
        for (size_t a = 0; a < p->addr_count; a++)
            printf("%s%s", a ? " " : "", p->addrs[a]);
        printf("%s  (no daemon here: not connected)\n",
               p->addr_count ? "" : "(no address: it dials in)");
    }
    mesh_peer_list_free(peers);
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

int
cmd_status(int argc, char **argv, cli_ctx_t *ctx)
{
    int npos, rc = cli_parse(ctx, s_usage, argc, argv, NULL, 0, 0, &npos);
    if (rc != CLI_CONTINUE)
        return rc;
    mesh_t *m = NULL;
    if (cli_open(ctx, &m) != CLI_OK)
        return CLI_FAIL;
    char id[MESH_ID_TEXT_LEN + 1] = "", b1[32], b2[32];
    if (mesh_device_id(m, id, sizeof id) != MESH_OK)
        id[0] = '\0';
    static cli_status_t st;
    cli_status_read(ctx, &st);
    mesh_coll_list_t *colls = NULL;
    mesh_err_t err = mesh_collections(m, &colls);
    if (err != MESH_OK) {
        rc = cli_fail(m, err, "status");
        mesh_close(m);
        return rc;
    }
    if (ctx->json) {
        s_print_json(id, &st, colls);
        mesh_coll_list_free(colls);
        mesh_close(m);
        return CLI_OK;
    }
    bool tty = isatty(STDOUT_FILENO);
    printf("device  %s (%s)\n", id, mesh_device_name(m));
    if (!st.running) {
        printf("daemon  not running (start it with 'meshctl daemon')\n");
    } else {
        printf("daemon  pid %ld, listening on %s\n", st.pid, st.listen);
    }
    for (size_t i = 0; i < mesh_coll_list_count(colls); i++) {
        const mesh_coll_info_t *info = mesh_coll_list_get(colls, i);
        s_coll_sum_t sum = s_coll_sum(&st, info->name);
        printf("coll    %s  %llu keys, %llu versions, digest %.16s", info->name,
               (unsigned long long)info->keys, (unsigned long long)info->versions, info->digest);
        if (!st.running) {
            printf("\n");
            continue;
        }
        if (sum.peers == 0) {
            printf("  no member connected\n");
            continue;
        }
        if (sum.in_sync) {
            printf("  in sync\n");
            continue;
        }
        printf("  syncing: %llu to send (%s), %llu to receive (%s)\n", sum.to_send,
               s_bytes(b1, sizeof b1, sum.bytes_to_send), sum.to_receive,
               s_bytes(b2, sizeof b2, sum.bytes_to_receive));
        unsigned long long total = info->versions + sum.to_receive + sum.to_send;
        if (tty && total)
            s_bar(info->versions > sum.to_send ? info->versions - sum.to_send : 0, total);
    }
    mesh_coll_list_free(colls);
    if (!st.running)
        s_print_members(m);
    for (size_t i = 0; st.running && i < st.npeers; i++) {
        const cli_peer_status_t *p = &st.peers[i];
        printf("peer    %s  %s  ", p->id,
               strcmp(p->addr, "-") == 0 ? "(no address: it dials in)" : p->addr);
        if (!p->connected) {
            if (p->seen > 0) {
                time_t t = (time_t)p->seen;
                struct tm tm;
                char when[64];
                localtime_r(&t, &tm);
                strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", &tm);
                printf("not connected, last seen %s\n", when);
            } else {
                printf("not connected, never seen\n");
            }
            continue;
        }
        if (p->refused)
            printf("refused (protocol version)");
        else if (p->in_sync)
            printf("in sync");
        else
            printf("behind: it lacks %llu (%s), we lack %llu (%s)", p->to_send,
                   s_bytes(b1, sizeof b1, p->bytes_to_send), p->to_receive,
                   s_bytes(b2, sizeof b2, p->bytes_to_receive));
        printf("  sent %llu batches/%llu bytes, received %llu/%llu\n", p->batches_out, p->bytes_out,
               p->batches_in, p->bytes_in);
    }
    mesh_close(m);
    return CLI_OK;
}
