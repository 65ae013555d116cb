/* cli/cmd_daemon.c: `meshctl daemon`: run the node in the foreground until SIGINT/SIGTERM.
 * Owns: the daemon's options (the --listen flag over the config file's 'listen', and LAN
 * discovery's flags over the config file's discovery lines), the
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
    "usage: meshctl daemon [--listen ADDR] [--horizon DURATION] [--rescan SECONDS]\n"
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
    "                     'horizon' in HOME/config, else 30d\n"
    "  --rescan SECONDS   between full rescans of each synced folder (meshctl folder),\n"
    "                     1 to 86400; inotify sees most changes within a second. Default 60\n"
    "  --no-discovery     send and hear no LAN beacons (HOME/config: discovery = off).\n"
    "                     Discovery is on by default, off whenever MESHSYNC_NO_DISCOVERY\n"
    "                     is set in the environment\n"
    "  --discovery-port N       the beacons' UDP port (default 47474)\n"
    "  --discovery-interval MS  between beacons, 100 to 3600000 (default 1000)\n"
    "  --discovery-group ADDR   an IPv4 multicast group to use too (default: none)\n"
    "  --discovery-interfaces LIST  comma-separated interface names (default: every\n"
    "                     interface but loopback). Each also from HOME/config, as\n"
    "                     discovery-port, discovery-interval, discovery-group and\n"
    "                     discovery-interfaces\n";

/* Resolve LAN discovery: each flag over the config file's line. Returns CLI_CONTINUE, or
 * CLI_USAGE / CLI_FAIL after saying which value is bad and where it came from. */
static int
s_discovery(cli_ctx_t *ctx, bool off, const char *port, const char *interval, const char *group,
            const char *interfaces)
{
    const struct {
        const char *flag, *config;
        uint64_t min, max;
        unsigned *out;
    } nums[] = {
        {port, ctx->discovery_port_config, 1, 65535, &ctx->discovery_port},
        {interval, ctx->discovery_interval_config, 100, 3600000, &ctx->discovery_interval_ms}};
    const char *names[] = {"discovery-port", "discovery-interval"};
    if (ctx->discovery_config[0] && strcmp(ctx->discovery_config, "on") != 0 &&
        strcmp(ctx->discovery_config, "off") != 0)
        return cli_fail_detail(MESH_EINVAL, "discovery must be on or off",
                               "start the daemon ('discovery' in '%s/config')", ctx->home);
    ctx->discovery = !off && strcmp(ctx->discovery_config, "off") != 0;
    for (size_t i = 0; i < 2; i++) {
        const char *v = nums[i].flag ? nums[i].flag : nums[i].config[0] ? nums[i].config : NULL;
        uint64_t n = 0;
        if (v && !cli_parse_u64(v, nums[i].min, nums[i].max, &n)) {
            if (nums[i].flag)
                return cli_usage_error(s_usage, "--%s must be %llu to %llu", names[i],
                                       (unsigned long long)nums[i].min,
                                       (unsigned long long)nums[i].max);
            return cli_fail_detail(MESH_EINVAL, "out of range or not a number",
                                   "start the daemon ('%s' in '%s/config')", names[i], ctx->home);
        }
        *nums[i].out = (unsigned)n;
    }
    ctx->discovery_group = group                            ? group
                           : ctx->discovery_group_config[0] ? ctx->discovery_group_config
                                                            : NULL;
    ctx->discovery_interfaces = interfaces ? interfaces
                                : ctx->discovery_interfaces_config[0]
                                    ? ctx->discovery_interfaces_config
                                    : NULL;
    return CLI_CONTINUE;
}

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
    const char *listen = NULL, *horizon = NULL, *port = NULL, *interval = NULL, *group = NULL,
               *interfaces = NULL, *rescan = NULL;
    bool no_discovery = false;
    const cli_opt_t opts[] = {{"--listen", 'l', &listen, NULL},
                              {"--horizon", 0, &horizon, NULL},
                              {"--rescan", 0, &rescan, NULL},
                              {"--no-discovery", 0, NULL, &no_discovery},
                              {"--discovery-port", 0, &port, NULL},
                              {"--discovery-interval", 0, &interval, NULL},
                              {"--discovery-group", 0, &group, NULL},
                              {"--discovery-interfaces", 0, &interfaces, NULL},
                              {NULL, 0, NULL, NULL}};
    int npos, rc = cli_parse(ctx, s_usage, argc, argv, opts, 0, 0, &npos);
    if (rc != CLI_CONTINUE)
        return rc;
    /* the flag overrides the config file's 'horizon' */
    if (horizon && !cli_parse_duration(horizon, &ctx->horizon_ms))
        return cli_usage_error(s_usage,
                               "--horizon must be a duration such as 30d, 12h, 90m or 45s");
    uint64_t rescan_s = 0;
    if (rescan && !cli_parse_u64(rescan, 1, 86400, &rescan_s))
        return cli_usage_error(s_usage, "--rescan must be a number of seconds, 1 to 86400");
    ctx->folder_rescan_s = (unsigned)rescan_s;
    rc = s_discovery(ctx, no_discovery, port, interval, group, interfaces);
    if (rc != CLI_CONTINUE)
        return rc;
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
