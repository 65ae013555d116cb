/* cli/cmd_status.c: `meshctl status`: this device, its peers, and how far along sync is.
 * Owns: reading the daemon's status file (HOME/status) and showing it. Not here: what the
 * daemon measures (the library's event loop).
 * Layer: cli. Third-party: none. SPDX-License-Identifier: MIT */
#include "cli.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "out.h"

#define S_FRESH_MS 3000 /* a status file older than this means no daemon runs */

static const char s_usage[] =
    "usage: meshctl status\n"
    "\n"
    "Show this device, whether a daemon runs on its home, each collection (keys,\n"
    "versions, digest), and each member: connected or silent, its address, and whether\n"
    "it has everything this device holds (in sync) or how many versions (items and\n"
    "tombstones) it still lacks; on a terminal, with a progress bar while it syncs.\n"
    "\n"
    "--json prints {\"id\", \"daemon\", \"listen\", \"collections\": [{\"name\", \"keys\",\n"
    "\"versions\", \"digest\"}], \"peers\": [{\"id\", \"addr\", \"connected\", \"in_sync\",\n"
    "\"to_send\", \"batches_out\", \"batches_in\", \"bytes_out\", \"bytes_in\"}]}.\n";

static long long
s_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Parse one "peer ID key=value ..." line. */
static bool
s_peer_line(const char *line, cli_peer_status_t *p)
{
    memset(p, 0, sizeof *p);
    return sscanf(line,
                  "peer %62s addr=%255s connected=%d session=%d refused=%d silent_ms=%lld "
                  "to_send=%llu batch_out=%d batches_out=%llu batches_in=%llu bytes_out=%llu "
                  "bytes_in=%llu in_sync=%d",
                  p->id, p->addr, &p->connected, &p->session, &p->refused, &p->silent_ms,
                  &p->to_send, &p->batch_out, &p->batches_out, &p->batches_in, &p->bytes_out,
                  &p->bytes_in, &p->in_sync) == 13;
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
        if (st->npeers < CLI_PEERS_MAX && s_peer_line(line, &st->peers[st->npeers]))
            st->npeers++;
    }
    fclose(f);
    st->age_ms = s_now_ms() - updated;
    st->running = st->pid > 0 && (kill((pid_t)st->pid, 0) == 0 || errno == EPERM) &&
                  st->age_ms < S_FRESH_MS;
    return CLI_OK;
}

static void
s_print_json(const char *id, const cli_status_t *st, const mesh_coll_info_t *colls, size_t n)
{
    out_json_t j;
    out_json_init(&j, stdout);
    out_json_object_begin(&j, NULL);
    out_json_string(&j, "id", id);
    out_json_bool(&j, "daemon", st->running);
    out_json_string(&j, "listen", st->running ? st->listen : "");
    out_json_array_begin(&j, "collections");
    for (size_t i = 0; i < n; i++) {
        out_json_object_begin(&j, NULL);
        out_json_string(&j, "name", colls[i].name);
        out_json_u64(&j, "keys", colls[i].keys);
        out_json_u64(&j, "versions", colls[i].versions);
        out_json_string(&j, "digest", colls[i].digest);
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
        out_json_bool(&j, "in_sync", p->in_sync);
        out_json_u64(&j, "to_send", p->to_send);
        out_json_u64(&j, "batches_out", p->batches_out);
        out_json_u64(&j, "batches_in", p->batches_in);
        out_json_u64(&j, "bytes_out", p->bytes_out);
        out_json_u64(&j, "bytes_in", p->bytes_in);
        out_json_object_end(&j);
    }
    out_json_array_end(&j);
    out_json_object_end(&j);
}

/* A progress bar for a peer that lacks to_send of the total versions this device holds. */
static void
s_bar(uint64_t total, uint64_t to_send)
{
    enum { WIDTH = 40 };
    uint64_t done = to_send < total ? total - to_send : 0;
    int filled = (int)(done * WIDTH / total);
    printf("        [");
    for (int i = 0; i < WIDTH; i++)
        putchar(i < filled ? '#' : '.');
    printf("] %3d%%  %llu of %llu versions\n", (int)(done * 100 / total),
           (unsigned long long)done, (unsigned long long)total);
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
    cli_status_t st;
    cli_status_read(ctx, &st);
    mesh_coll_info_t *colls = NULL;
    size_t ncolls = 0;
    mesh_err_t err = mesh_collections(m, &colls, &ncolls);
    if (err != MESH_OK) {
        rc = cli_fail(m, err, "status");
        mesh_close(m);
        return rc;
    }
    uint64_t total = 0;
    for (size_t i = 0; i < ncolls; i++)
        total += colls[i].versions;
    if (ctx->json) {
        s_print_json(id, &st, colls, ncolls);
        mesh_free(colls);
        mesh_close(m);
        return CLI_OK;
    }
    printf("device  %s (%s)\n", id, mesh_device_name(m));
    if (!st.running) {
        printf("daemon  not running (start it with 'meshctl daemon')\n");
    } else {
        printf("daemon  pid %ld, listening on %s\n", st.pid, st.listen);
    }
    for (size_t i = 0; i < ncolls; i++)
        printf("coll    %s  %llu keys, %llu versions, digest %.16s\n", colls[i].name,
               (unsigned long long)colls[i].keys, (unsigned long long)colls[i].versions,
               colls[i].digest);
    mesh_free(colls);
    for (size_t i = 0; st.running && i < st.npeers; i++) {
        const cli_peer_status_t *p = &st.peers[i];
        const char *state = !p->connected ? "not connected"
                            : p->refused  ? "refused (protocol version)"
                            : p->in_sync  ? "in sync"
                                          : "syncing";
        printf("peer    %s  %s  %s", p->id, p->addr, state);
        if (p->connected && !p->in_sync)
            printf(" (%llu versions to send)", p->to_send);
        printf("  sent %llu batches/%llu bytes, received %llu/%llu\n", p->batches_out,
               p->bytes_out, p->batches_in, p->bytes_in);
        if (p->connected && !p->in_sync && total && isatty(STDOUT_FILENO))
            s_bar(total, p->to_send);
    }
    mesh_close(m);
    return CLI_OK;
}
