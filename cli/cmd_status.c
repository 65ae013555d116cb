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

#include "out.h"

#define S_FRESH_MS 3000 /* a status file older than this means no daemon runs */

static const char s_usage[] =
    "usage: meshctl status\n"
    "\n"
    "Show this device, whether a daemon runs on its home, and each member: connected\n"
    "or silent, its address, and whether it has everything this device holds (in sync)\n"
    "or how many versions (items and tombstones) it still lacks.\n"
    "\n"
    "--json prints {\"id\", \"daemon\", \"listen\", \"peers\": [{\"id\", \"addr\",\n"
    "\"connected\", \"in_sync\", \"to_send\", \"batches_out\", \"batches_in\", \"bytes_out\",\n"
    "\"bytes_in\"}]}.\n";

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
s_print_json(const char *id, const cli_status_t *st)
{
    printf("{\"id\":\"%s\",\"daemon\":%s,\"listen\":\"%s\",\"peers\":[", id,
           st->running ? "true" : "false", st->running ? st->listen : "");
    for (size_t i = 0; st->running && i < st->npeers; i++) {
        const cli_peer_status_t *p = &st->peers[i];
        printf("%s{\"id\":\"%s\",\"addr\":\"%s\",\"connected\":%s,\"in_sync\":%s,"
               "\"to_send\":%llu,\"batches_out\":%llu,\"batches_in\":%llu,\"bytes_out\":%llu,"
               "\"bytes_in\":%llu}",
               i ? "," : "", p->id, p->addr, p->connected ? "true" : "false",
               p->in_sync ? "true" : "false", p->to_send, p->batches_out, p->batches_in,
               p->bytes_out, p->bytes_in);
    }
    printf("]}\n");
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
    if (ctx->json) {
        s_print_json(id, &st);
        mesh_close(m);
        return CLI_OK;
    }
    printf("device  %s (%s)\n", id, mesh_device_name(m));
    if (!st.running) {
        printf("daemon  not running (start it with 'meshctl daemon')\n");
    } else {
        printf("daemon  pid %ld, listening on %s\n", st.pid, st.listen);
    }
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
    }
    mesh_close(m);
    return CLI_OK;
}
