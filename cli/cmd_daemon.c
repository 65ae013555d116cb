/* cli/cmd_daemon.c: `meshctl daemon`: run the node in the foreground until SIGINT/SIGTERM.
 * Owns: the daemon's options, its signal handling and its allocator settings.
 * Not here: the event loop and the sync protocol (the library: mesh_open, offline false).
 * Layer: cli. Third-party: none. SPDX-License-Identifier: MIT */
#include "cli.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

static const char s_usage[] =
    "usage: meshctl daemon [--listen ADDR]\n"
    "\n"
    "Run this device's node in the foreground: listen on ADDR (e.g.\n"
    "tcp://127.0.0.1:7000), connect to every member at the addresses 'meshctl peer add'\n"
    "recorded, and keep every collection in sync with each of them. Writes made by\n"
    "other meshctl commands on the same home are noticed and sent within a second.\n"
    "Logs go to stderr at --log-level; it never prompts. SIGINT or SIGTERM stops it\n"
    "cleanly (exit 0). 'meshctl status' and 'meshctl wait' read what it writes to\n"
    "HOME/status.\n"
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
#ifdef __GLIBC__
    /* A sync moves megabytes per batch through the heap (batches, ZeroMQ's copies of them,
     * LMDB's dirty pages). By default glibc maps each such block anew, or gives the top of
     * the heap back whenever it frees one, and every page then faults in again: on these
     * VMs page faults cost the sender a fifth of its time. So keep the heap; the loop gives
     * it back (malloc_trim) once a large apply or send is over and all is quiet. One arena
     * for every thread: malloc_trim gives back the free top of the main arena only, and the
     * checker thread's decoding (core/checker.c) or ZeroMQ's I/O thread would otherwise
     * leave tens of MB in arenas of their own. */
    (void)mallopt(M_MMAP_THRESHOLD, 64 << 20);
    (void)mallopt(M_TRIM_THRESHOLD, 1 << 30);
    (void)mallopt(M_ARENA_MAX, 1);
#endif
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
