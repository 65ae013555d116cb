/* cli/cmd_daemon.c: `meshctl daemon`: run the node in the foreground until SIGINT/SIGTERM.
 * Owns: the daemon's options (the --listen flag over the config file's 'listen', and LAN
 * discovery's flags over the config file's discovery lines), the
 * lines saying why it did not start, and its signal handling: SIGINT/SIGTERM stop it,
 * SIGHUP reloads the config file (restarting the node when its settings changed), and the
 * service manager hears of each (cli/notify.h).
 * Not here: the event loop, the sync protocol and the allocator settings they want (the
 * library: mesh_open, offline false, daemon_heap set by cli_open for ctx->online).
 * Layer: cli. Third-party: none. SPDX-License-Identifier: MIT */
#include "cli.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "notify.h"

static const char s_usage[] =
    "usage: meshctl daemon [--listen ADDR] [--horizon DURATION] [--rescan SECONDS]\n"
    "\n"
    "Run this device's node in the foreground: listen on ADDR (e.g.\n"
    "tcp://127.0.0.1:7000), connect to every member at the addresses 'meshctl peer add'\n"
    "recorded, and keep every collection in sync with each of them. Writes made by\n"
    "other meshctl commands on the same home are noticed and sent within a second.\n"
    "One daemon runs per home: a second one exits 1 naming the first one's pid.\n"
    "Logs go to stderr at --log-level; it never prompts. SIGINT or SIGTERM stops it\n"
    "cleanly (exit 0). SIGHUP reads HOME/config again: changed settings restart the\n"
    "node with them (flags still win), a config with an error keeps the running ones.\n"
    "Under systemd (Type=notify) it reports readiness, reloads and its stop through\n"
    "$NOTIFY_SOCKET. 'meshctl status' and 'meshctl wait' show what it reports\n"
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

/* The daemon's flags, kept to resolve its settings again on SIGHUP (they override the
 * config file's lines every time). */
typedef struct s_flags {
    const char *listen, *horizon, *rescan, *port, *interval, *group, *interfaces;
    bool no_discovery;
} s_flags_t;

/* Resolve the daemon's settings on ctx: each flag over its config line (horizon, LAN
 * discovery, listen: "none" listens nowhere). *from_config: the endpoint is the config
 * file's. Returns CLI_CONTINUE, or CLI_USAGE / CLI_FAIL after saying what is bad. */
static int
s_settings(cli_ctx_t *ctx, const s_flags_t *f, bool *from_config)
{
    /* the flag overrides the config file's 'horizon' */
    if (f->horizon && !cli_parse_duration(f->horizon, &ctx->horizon_ms))
        return cli_usage_error(s_usage,
                               "--horizon must be a duration such as 30d, 12h, 90m or 45s");
    uint64_t rescan_s = 0;
    if (f->rescan && !cli_parse_u64(f->rescan, 1, 86400, &rescan_s))
        return cli_usage_error(s_usage, "--rescan must be a number of seconds, 1 to 86400");
    ctx->folder_rescan_s = (unsigned)rescan_s;
    int rc = s_discovery(ctx, f->no_discovery, f->port, f->interval, f->group, f->interfaces);
    if (rc != CLI_CONTINUE)
        return rc;
    const char *listen = f->listen;
    *from_config = !listen && ctx->listen_config[0];
    if (*from_config)
        listen = ctx->listen_config;
    ctx->listen = listen && strcmp(listen, "none") == 0 ? NULL : listen;
    return CLI_CONTINUE;
}

static bool
s_streq(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

/* Do a and b run the node alike (everything mesh_open is given)? */
static bool
s_same(const cli_ctx_t *a, const cli_ctx_t *b)
{
    return s_streq(a->listen, b->listen) && a->horizon_ms == b->horizon_ms &&
           a->folder_rescan_s == b->folder_rescan_s && a->discovery == b->discovery &&
           a->discovery_port == b->discovery_port &&
           a->discovery_interval_ms == b->discovery_interval_ms &&
           s_streq(a->discovery_group, b->discovery_group) &&
           s_streq(a->discovery_interfaces, b->discovery_interfaces);
}

/* Tell the service manager (if any) that the daemon runs, and where it listens. */
static void
s_ready(const cli_ctx_t *ctx)
{
    char state[400];
    snprintf(state, sizeof state, "READY=1\nSTATUS=syncing, listening on %s",
             ctx->listen ? ctx->listen : "none (dialling out only)");
    (void)notify_send(state);
}

/* SIGHUP: read HOME/config again. Unchanged settings (or a new log level only) keep the
 * node running; changed ones restart it with them; settings that do not parse, or a node
 * that will not start with them, leave the running settings in place (said in the log).
 * Returns the node that runs now, or NULL (after saying why) when none could be started
 * again: the daemon then exits 1 and its service manager restarts it. */
static mesh_t *
s_reload(cli_ctx_t *ctx, const s_flags_t *f, mesh_t *m)
{
    char mono[64], state[96];
    bool from_config;
    snprintf(state, sizeof state, "RELOADING=1\n%s", notify_monotonic(mono, sizeof mono));
    (void)notify_send(state);
    cli_ctx_t *next = malloc(sizeof *next), *old = malloc(sizeof *old);
    if (!next || !old) {
        cli_say("reload: out of memory; kept the running settings");
    } else if (*next = *ctx, cli_reload_config(next) != CLI_OK ||
                                 s_settings(next, f, &from_config) != CLI_CONTINUE) {
        cli_say("reload: '%s/config' has an error (above); kept the running settings", ctx->home);
    } else if (s_same(ctx, next)) {
        __atomic_store_n(&ctx->log_level, next->log_level, __ATOMIC_RELAXED);
        cli_say("reload: the node's settings are unchanged (log level %s)",
                cli_log_level_name(next->log_level));
    } else {
        *old = *ctx;
        mesh_close(m);
        m = NULL;
        *ctx = *next;
        (void)s_settings(ctx, f, &from_config); /* (ctx's own buffers: parsed fine above) */
        mesh_err_t err = cli_open_ex(ctx, false, false, &m);
        if (err == MESH_OK) {
            cli_say("reload: restarted with the new settings, listening on %s",
                    ctx->listen ? ctx->listen : "none");
        } else {
            cli_say("reload: cannot start with the new settings (%s%s%s); back to the running "
                    "ones",
                    mesh_strerror(err), ctx->lib_error[0] ? ": " : "", ctx->lib_error);
            *ctx = *old;
            (void)s_settings(ctx, f, &from_config);
            err = cli_open_ex(ctx, false, false, &m);
            if (err != MESH_OK) {
                (void)s_start_fail(ctx, err, from_config);
                m = NULL;
            }
        }
    }
    free(next);
    free(old);
    if (m) {
        s_ready(ctx);
    }
    return m;
}

/* The daemon's heap in transparent huge pages: glibc asks the kernel for them (madvise) with
 * its tunable glibc.malloc.hugetlb=1, which it reads only when a process starts, so the
 * daemon starts again, once, with the tunable added to GLIBC_TUNABLES, unless that names
 * it already (glibc.malloc.hugetlb=0 keeps them off). Without them a sync of 1M items
 * spent a quarter of the receiver's CPU in page faults on its batches and store pages,
 * most of it the fault's own cost in a virtual machine (docs/meshctl.1, ENVIRONMENT). If
 * the new start fails, this one goes on as it is. */
static void
s_huge_pages(const cli_ctx_t *ctx)
{
    const char *was = getenv("GLIBC_TUNABLES");
    char tunables[1024];
    if (!ctx->argv_all || (was && strstr(was, "glibc.malloc.hugetlb"))) {
        return;
    }
    int n = snprintf(tunables, sizeof tunables, "%s%sglibc.malloc.hugetlb=1", was ? was : "",
                     was && *was ? ":" : "");
    if (n < 0 || (size_t)n >= sizeof tunables || setenv("GLIBC_TUNABLES", tunables, 1) != 0) {
        return;
    }
    execv("/proc/self/exe", ctx->argv_all);
}

int
cmd_daemon(int argc, char **argv, cli_ctx_t *ctx)
{
    s_flags_t f = {0};
    const cli_opt_t opts[] = {{"--listen", 'l', &f.listen, NULL},
                              {"--horizon", 0, &f.horizon, NULL},
                              {"--rescan", 0, &f.rescan, NULL},
                              {"--no-discovery", 0, NULL, &f.no_discovery},
                              {"--discovery-port", 0, &f.port, NULL},
                              {"--discovery-interval", 0, &f.interval, NULL},
                              {"--discovery-group", 0, &f.group, NULL},
                              {"--discovery-interfaces", 0, &f.interfaces, NULL},
                              {NULL, 0, NULL, NULL}};
    int npos, rc = cli_parse(ctx, s_usage, argc, argv, opts, 0, 0, &npos);
    if (rc != CLI_CONTINUE)
        return rc;
    s_huge_pages(ctx); /* (before any thread, lock or socket: nothing to undo) */
    bool from_config;
    rc = s_settings(ctx, &f, &from_config);
    if (rc != CLI_CONTINUE)
        return rc;
    /* Block the stop and reload signals before the loop thread starts, so that it inherits
     * the mask and this thread alone takes them, in sigwait. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    ctx->online = true;
    mesh_t *m = NULL;
    mesh_err_t err = cli_open_ex(ctx, false, false, &m);
    if (err != MESH_OK)
        return s_start_fail(ctx, err, from_config);
    char id[MESH_ID_TEXT_LEN + 1] = "";
    if (mesh_device_id(m, id, sizeof id) != MESH_OK)
        id[0] = '\0';
    cli_say("daemon %s running%s%s (pid %ld)", id, ctx->listen ? " on " : "",
            ctx->listen ? ctx->listen : "", (long)getpid());
    s_ready(ctx);
    int sig = 0;
    while (sigwait(&sigs, &sig) == 0 && sig == SIGHUP) {
        cli_say("SIGHUP: reading '%s/config' again", ctx->home);
        if (!(m = s_reload(ctx, &f, m)))
            return CLI_FAIL;
    }
    (void)notify_send("STOPPING=1");
    cli_say("daemon stopping (%s)", sig == SIGINT ? "SIGINT" : "SIGTERM");
    mesh_close(m);
    return CLI_OK;
}
