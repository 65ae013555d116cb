/* cli/cmd_wait.c: `meshctl wait`: return once the daemon on this home has sent every
 * connected peer all it holds (for scripts, tests and benchmarks).
 * Owns: the command's options and what it says at the timeout. Not here: the waiting rule
 * and asking the daemon (the library: mesh_wait, over the control socket).
 * Layer: cli. Third-party: none. SPDX-License-Identifier: MIT */
#include "cli.h"
#include "out.h"

#include <stdio.h>

#define S_PEERS_MAX 64 /* --peers at most (a daemon syncs with 64 members at most) */
#define S_COLLS_MAX 64 /* collections named at most (docs/PROTOCOL.md §21) */

static const char s_usage[] =
    "usage: meshctl wait [COLL...] [--timeout S] [--peers N]\n"
    "\n"
    "Wait until the daemon running on this home is in sync with every connected peer in\n"
    "the collections named (all of them by default): nothing in flight, each has\n"
    "everything this device holds and this device has everything it holds, steadily for\n"
    "0.6 s. Run it on each device to know that all have everything. The daemon is asked\n"
    "over its control socket and answers as soon as that holds; with none answering there,\n"
    "its status file is read. Exit 0 when in sync, 1 at the timeout or when no daemon runs.\n"
    "--json prints {\"in_sync\", \"daemon\", \"connected\", \"synced\"} in every case but an\n"
    "error (then nothing on stdout, the reason on stderr).\n"
    "\n"
    "options:\n"
    "  -t, --timeout S  give up after S seconds (default 30)\n"
    "  -p, --peers N    also wait until at least N peers are connected (default 1)\n";

int
cmd_wait(int argc, char **argv, cli_ctx_t *ctx)
{
    const char *timeout_s = NULL, *peers_s = NULL;
    const cli_opt_t opts[] = {{"--timeout", 't', &timeout_s, NULL},
                              {"--peers", 'p', &peers_s, NULL},
                              {NULL, 0, NULL, NULL}};
    int npos, rc = cli_parse(ctx, s_usage, argc, argv, opts, 0, -1, &npos);
    if (rc != CLI_CONTINUE)
        return rc;
    uint64_t timeout = 30, want = 1;
    if (timeout_s && !cli_parse_u64(timeout_s, 0, 86400, &timeout))
        return cli_usage_error(s_usage, "wait: --timeout takes seconds, 0 to 86400");
    if (peers_s && !cli_parse_u64(peers_s, 0, S_PEERS_MAX, &want))
        return cli_usage_error(s_usage, "wait: --peers takes a number, 0 to %d", S_PEERS_MAX);
    if (npos > S_COLLS_MAX)
        return cli_usage_error(s_usage, "wait: %d collections at most", S_COLLS_MAX);
    mesh_t *m = NULL;
    if (cli_open(ctx, &m) != CLI_OK)
        return CLI_FAIL;
    size_t connected = 0, synced = 0;
    mesh_err_t err = mesh_wait(m, (const char *const *)(argv + 1), (size_t)npos, (size_t)want,
                               (uint32_t)(timeout * 1000), &connected, &synced);
    if ((err == MESH_OK || err == MESH_EBUSY || err == MESH_ENOTFOUND) && ctx->json) {
        out_json_t j;
        out_json_init(&j, stdout);
        out_json_object_begin(&j, NULL);
        out_json_bool(&j, "in_sync", err == MESH_OK);
        out_json_bool(&j, "daemon", err != MESH_ENOTFOUND);
        out_json_u64(&j, "connected", connected);
        out_json_u64(&j, "synced", synced);
        out_json_object_end(&j);
    }
    if (err == MESH_OK) {
        rc = CLI_OK;
    } else if (err == MESH_EBUSY || err == MESH_ENOTFOUND) {
        cli_say("wait: %s after %llu s (%zu of %zu connected peers in sync)",
                err == MESH_EBUSY ? "not in sync" : "no daemon runs on this home",
                (unsigned long long)timeout, synced, connected);
        rc = CLI_FAIL;
    } else {
        rc = cli_fail(m, err, "wait");
    }
    mesh_close(m);
    return rc;
}
