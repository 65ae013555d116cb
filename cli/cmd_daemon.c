/* cli/cmd_daemon.c: `meshctl daemon`: run the node in the foreground until SIGINT/SIGTERM.
 * Owns: the daemon's options (the --listen flag over the config file's 'listen'), the
 * lines saying why it did not start, and its signal handling.
 * Not here: the event loop, the sync protocol and the allocator settings they want (the
 * library: mesh_open, offline false, daemon_heap set by cli_open for ctx->online).
 * Layer: cli. Third-party: none. SPDX-License-Identifier: MIT */
#include "cli.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const char s_usage[] =
    "usage: meshctl daemon [--listen ADDR] [--horizon DURATION]\n"
    "\n"
    "Run this device's node in the foreground: listen on ADDR (e.g.\n"
    "tcp://127.0.0.1:7000), connect to every member at the addresses 'meshctl peer add'\n"
    "recorded, and keep every collection in sync with each of them. Writes made by\n"
    "other meshctl commands on the same home are noticed and sent within a second.\n"
    "One daemon runs per home: a second one exits 1 naming the first one's pid.\n"
    "Logs go to stderr at --log-level; it never prompts. SIGINT or SIGTERM stops it\n"
    "cleanly (exit 0). 'meshctl status' and 'meshctl wait' show what it reports\n"
    "(it keeps it in HOME/status).\n"
    "\n"
    "options:\n"
    "  -l, --listen ADDR  the endpoint to listen on, tcp://HOST:PORT (HOST an IP address,\n"
    "                     '*', an interface or a host name, resolved at start; PORT 0\n"
    "                     picks a free one); 'none': only dial out. Default: 'listen' in\n"
    "                     HOME/config, else none\n"
    "  --horizon DURATION a member silent this long stops holding tombstone collection\n"
    "                     back (30d, 12h, 90m, 45s; a bare number is seconds). Default:\n"
    "                     'horizon' in HOME/config, else 30d\n";

/* Print why the node did not start: the library's detail names the cause (another daemon
 * and its pid, the port in use, a bad endpoint and where it came from). Returns CLI_FAIL. */
static int
s_start_fail(const cli_ctx_t *ctx, mesh_err_t err, bool from_config)
{
    if (err == MESH_EBUSY && ctx->lib_error[0]) {
        cli_say("start the daemon: %s", ctx->lib_error); /* "busy, try again" would mislead */
        return CLI_FAIL;
    }
    if (err == MESH_EINVAL && from_config)
        return cli_fail_detail(err, ctx->lib_error, "start the daemon ('listen' in '%s/config')",
                               ctx->home);
    if (err == MESH_EINVAL)
        return cli_fail_detail(err, ctx->lib_error, "start the daemon");
    return cli_open_fail(ctx, err);
}

int
cmd_daemon(int argc, char **argv, cli_ctx_t *ctx)
{
    const char *listen = NULL, *horizon = NULL;
    const cli_opt_t opts[] = {
        {"--listen", 'l', &listen, NULL}, {"--horizon", 0, &horizon, NULL}, {NULL, 0, NULL, NULL}};
    int npos, rc = cli_parse(ctx, s_usage, argc, argv, opts, 0, 0, &npos);
    if (rc != CLI_CONTINUE)
        return rc;
    /* the flag overrides the config file's 'horizon' */
    if (horizon && !cli_parse_duration(horizon, &ctx->horizon_ms))
        return cli_usage_error(s_usage,
                               "--horizon must be a duration such as 30d, 12h, 90m or 45s");
    /* the flag overrides the config file's setting; "none" asks for no listening at all */
    bool from_config = !listen && ctx->listen_config[0];
    if (from_config)
        listen = ctx->listen_config;
    if (listen && strcmp(listen, "none") == 0)
        listen = NULL;
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
    mesh_err_t err = cli_open_ex(ctx, false, false, &m);
    if (err != MESH_OK)
        return s_start_fail(ctx, err, from_config);
    char id[MESH_ID_TEXT_LEN + 1] = "";
    if (mesh_device_id(m, id, sizeof id) != MESH_OK)
        id[0] = '\0';
    cli_say("daemon %s running%s%s (pid %ld)", id, listen ? " on " : "", listen ? listen : "",
            (long)getpid());
    int sig = 0;
    sigwait(&stop, &sig);
    cli_say("daemon stopping (%s)", sig == SIGINT ? "SIGINT" : "SIGTERM");
    mesh_close(m);
    return CLI_OK;
}
