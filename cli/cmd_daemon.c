/* cli/cmd_daemon.c: `meshctl daemon`: run the node in the foreground until SIGINT/SIGTERM.
 * Owns: the daemon's options and its signal handling.
 * Not here: the event loop, the sync protocol and the allocator settings they want (the
 * library: mesh_open, offline false, daemon_heap set by cli_open for ctx->online).
 * Layer: cli. Third-party: none. SPDX-License-Identifier: MIT */
#include "cli.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>

static const char s_usage[] =
    "usage: meshctl daemon [--listen ADDR]\n"
    "\n"
    "Run this device's node in the foreground: listen on ADDR (e.g.\n"
    "tcp://127.0.0.1:7000), connect to every member at the addresses 'meshctl peer add'\n"
    "recorded, and keep every collection in sync with each of them. Writes made by\n"
    "other meshctl commands on the same home are noticed and sent within a second.\n"
    "Logs go to stderr at --log-level; it never prompts. SIGINT or SIGTERM stops it\n"
    "cleanly (exit 0). 'meshctl status' and 'meshctl wait' show what it reports\n"
    "(it keeps it in HOME/status).\n"
    "\n"
    "options:\n"
    "  -l, --listen ADDR  the ZeroMQ endpoint to listen on; without it the daemon only\n"
    "                     dials out\n";

int
cmd_daemon(int argc, char **argv, cli_ctx_t *ctx)
{
    const char *listen = NULL;
    const cli_opt_t opts[] = {{"--listen", 'l', &listen, NULL}, {NULL, 0, NULL, NULL}};
    int npos, rc = cli_parse(ctx, s_usage, argc, argv, opts, 0, 0, &npos);
    if (rc != CLI_CONTINUE)
        return rc;
    /* Block the stop signals before the loop thread starts, so that it inherits the mask
     * and this thread alone takes them, in sigwait. */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    ctx->online = true;
    ctx->listen = listen;
    mesh_t *m = NULL;
    if (cli_open(ctx, &m) != CLI_OK)
        return CLI_FAIL;
    char id[MESH_ID_TEXT_LEN + 1] = "";
    if (mesh_device_id(m, id, sizeof id) != MESH_OK)
        id[0] = '\0';
    cli_say("daemon %s running%s%s", id, listen ? " on " : "", listen ? listen : "");
    int sig = 0;
    sigwait(&stop, &sig);
    cli_say("daemon stopping (%s)", sig == SIGINT ? "SIGINT" : "SIGTERM");
    mesh_close(m);
    return CLI_OK;
}
