/* cli/cmd_pair.c: `meshctl pair` (show a one-time code and wait for a device) and
 * `meshctl pair CODE --addr HOST:PORT` (join the device that shows it).
 * Owns: the options, which sync addresses the joining device is given (--advertise, else a
 * running daemon's listen endpoint, else the config file's), and the progress lines.
 * Not here: the exchange, its checks and the records written (the library, mesh_pair_*).
 * Layer: cli. Third-party: none. SPDX-License-Identifier: MIT */
#include "cli.h"
#include "out.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_LIST_MAX 16 /* names in a --share or --advertise list */

static const char s_usage[] =
    "usage: meshctl pair [--listen ADDR] [--expire DURATION] [--advertise ADDRS] [--share COLLS]\n"
    "   or: meshctl pair CODE [--addr HOST:PORT] [--timeout SECONDS]\n"
    "\n"
    "pair with no CODE prints a one-time code such as 7-crystal-ladder-orbit and waits\n"
    "for one device to join with it, saying what happens. The code works once: a wrong\n"
    "code typed on the other device fails both sides and burns it; it expires after\n"
    "DURATION (default 10m, or 'pair-expire' in the config file). It listens on ADDR for\n"
    "the joining device (default tcp://0.0.0.0:47475, or 'pair-listen' in the config file;\n"
    "a daemon may run meanwhile: pairing has its own port). On success the device is a\n"
    "member of this mesh (a signed add record, as peer add writes) and is told where to\n"
    "dial this device for sync: the --advertise addresses, else the listen endpoint of\n"
    "the daemon running on this home, else 'listen' in the config file (a host 0.0.0.0 is\n"
    "replaced by the address the device reached us at). --share limits the new device to\n"
    "those collections: every collection without an access list first gets one of the\n"
    "current members (who keep what they had), then the new device is added to the\n"
    "listed ones.\n"
    "\n"
    "While it waits it says on the LAN, by UDP beacons that carry the code's nameplate\n"
    "and the pairing port (no ID), where it listens (not with --no-discovery, 'discovery\n"
    "= off' in the config file, or MESHSYNC_NO_DISCOVERY set; UDP port 'discovery-port').\n"
    "\n"
    "pair CODE joins the device that shows CODE at HOST:PORT (its pairing address), or,\n"
    "without --addr, the first one heard on the LAN with CODE's nameplate. On\n"
    "success that device is recorded as a member with its addresses; a daemon on this\n"
    "home (or the next one started) then syncs with it and gets the mesh's records.\n"
    "Pairing two devices that each already share a mesh with others is refused.\n"
    "\n"
    "options:\n"
    "  --listen ADDR        the pairing endpoint to listen on, tcp://HOST:PORT\n"
    "  --expire DURATION    the code's life, e.g. 10m, 90s (1s to 24h)\n"
    "  --advertise ADDRS    sync addresses to give the joining device, comma-separated\n"
    "  --share COLLS        collections the joining device may hold, comma-separated\n"
    "  --addr HOST:PORT     (with CODE) the pairing address of the device showing it\n"
    "  --no-discovery       no pairing beacons: send none, or (with CODE) need --addr\n"
    "  --timeout SECONDS    (with CODE) give up after this long (default 30)\n"
    "\n"
    "--quiet drops the progress lines (the code and the result stay).\n"
    "--json prints, when paired, {\"paired\": ID, \"code\": CODE} (with no CODE) or\n"
    "{\"paired\": ID} (with CODE); the code itself is printed on stdout at once.\n";

static void
s_progress(void *ctx, const char *line)
{
    (void)ctx;
    char quoted[600];
    out_quote(quoted, sizeof quoted, line, strlen(line));
    fprintf(stderr, "meshctl: pair: %s\n", quoted);
}

/* Split a comma-separated list in place into v (at most S_LIST_MAX). */
static bool
s_split(char *s, const char **v, size_t *n)
{
    *n = 0;
    for (char *save = NULL, *t = strtok_r(s, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        if (*n == S_LIST_MAX)
            return false;
        v[(*n)++] = t;
    }
    return *n > 0;
}

/* The sync address of a daemon running on this home, into buf ("" if none). */
static void
s_daemon_listen(mesh_t *m, char *buf, size_t len)
{
    mesh_status_t *st = NULL;
    mesh_status_device_t dev = {.size = sizeof dev};
    buf[0] = '\0';
    if (mesh_status(m, &st) == MESH_OK && mesh_status_device(st, &dev) == MESH_OK && dev.daemon &&
        dev.listen && dev.listen[0])
        snprintf(buf, len, "%s", dev.listen);
    mesh_status_free(st);
}

/* Pairing beacons: on unless --no-discovery or 'discovery = off'; the port of
 * 'discovery-port' (0: the library's default). */
static bool
s_lan(const cli_ctx_t *ctx, bool no_discovery, unsigned *port)
{
    uint64_t p = 0;
    *port = 0;
    if (ctx->discovery_port_config[0] && cli_parse_u64(ctx->discovery_port_config, 1, 65535, &p))
        *port = (unsigned)p;
    return !no_discovery && strcmp(ctx->discovery_config, "off") != 0;
}

/* Say that the pairing succeeded with id: a line, or with --json an object (with the code
 * used, when given). CLI_OK. */
static int
s_paired(const cli_ctx_t *ctx, const char *id, const char *code)
{
    if (!ctx->json) {
        printf("paired with %s\n", id);
        return CLI_OK;
    }
    out_json_t j;
    out_json_init(&j, stdout);
    out_json_object_begin(&j, NULL);
    out_json_string(&j, "paired", id);
    if (code) {
        out_json_string(&j, "code", code);
    }
    out_json_object_end(&j);
    return CLI_OK;
}

static int
s_join(cli_ctx_t *ctx, const char *code, const char *addr, const char *timeout_s, bool no_discovery)
{
    uint64_t timeout = 30;
    if (timeout_s && !cli_parse_u64(timeout_s, 1, 3600, &timeout))
        return cli_usage_error(s_usage, "pair: --timeout takes seconds, 1 to 3600");
    mesh_t *m = NULL;
    if (cli_open(ctx, &m) != CLI_OK)
        return CLI_FAIL;
    char id[MESH_ID_TEXT_LEN + 1] = "";
    mesh_pair_options_t o = {.size = sizeof o,
                             .timeout_ms = timeout * 1000,
                             .progress = ctx->json || ctx->quiet_flag ? NULL : s_progress};
    o.lan = s_lan(ctx, no_discovery, &o.lan_port);
    mesh_err_t err = mesh_pair_join(m, code, addr, &o, id, sizeof id);
    int rc = err != MESH_OK ? cli_fail(m, err, "pair") : s_paired(ctx, id, NULL);
    mesh_close(m);
    return rc;
}

static int
s_show(cli_ctx_t *ctx, const char *listen, const char *expire_s, char *advertise, char *share,
       bool no_discovery)
{
    const char *addrs[S_LIST_MAX], *colls[S_LIST_MAX];
    size_t naddrs = 0, ncolls = 0;
    uint64_t expire = ctx->pair_expire_ms ? ctx->pair_expire_ms : 10 * 60 * 1000;
    if (expire_s && (!cli_parse_duration(expire_s, &expire) || expire > 24ull * 3600 * 1000))
        return cli_usage_error(s_usage, "pair: --expire takes a duration, 1s to 24h");
    if (advertise && !s_split(advertise, addrs, &naddrs))
        return cli_usage_error(s_usage, "pair: --advertise takes 1 to 8 addresses");
    if (share && !s_split(share, colls, &ncolls))
        return cli_usage_error(s_usage, "pair: --share takes 1 to %d collections", S_LIST_MAX);
    mesh_t *m = NULL;
    if (cli_open(ctx, &m) != CLI_OK)
        return CLI_FAIL;
    char daemon_listen[256];
    if (!advertise) {
        s_daemon_listen(m, daemon_listen, sizeof daemon_listen);
        if (!daemon_listen[0] && ctx->listen_config[0] && strcmp(ctx->listen_config, "none"))
            snprintf(daemon_listen, sizeof daemon_listen, "%s", ctx->listen_config);
        if (daemon_listen[0])
            addrs[naddrs++] = daemon_listen;
        else
            cli_say("pair: no sync address to give (no daemon runs here, no 'listen' in the "
                    "config, no --advertise): the other device will not know where to dial");
    }
    mesh_pair_options_t o = {.size = sizeof o,
                             .listen = listen                       ? listen
                                       : ctx->pair_listen_config[0] ? ctx->pair_listen_config
                                                                    : NULL,
                             .expire_ms = expire,
                             .addrs = addrs,
                             .addr_count = naddrs,
                             .share = colls,
                             .share_count = ncolls,
                             .progress = ctx->quiet_flag ? NULL : s_progress};
    o.lan = s_lan(ctx, no_discovery, &o.lan_port);
    mesh_pair_t *p = NULL;
    mesh_err_t err = mesh_pair_open(m, &o, &p);
    if (err != MESH_OK) {
        int rc = cli_fail(m, err, "pair");
        mesh_close(m);
        return rc;
    }
    /* the code on stdout (a script reads it), how to use it on stderr */
    printf("%s\n", mesh_pair_code(p));
    fflush(stdout);
    cli_say("pair: on the other device run: meshctl pair %s --addr HOST:%s", mesh_pair_code(p),
            strrchr(mesh_pair_endpoint(p), ':') + 1);
    cli_say("pair: the code expires in %llu s and works once", (unsigned long long)(expire / 1000));
    char id[MESH_ID_TEXT_LEN + 1] = "";
    err = mesh_pair_wait(p, id, sizeof id);
    int rc = err != MESH_OK ? cli_fail(m, err, "pair") : s_paired(ctx, id, mesh_pair_code(p));
    mesh_pair_close(p);
    mesh_close(m);
    return rc;
}

int
cmd_pair(int argc, char **argv, cli_ctx_t *ctx)
{
    const char *listen = NULL, *expire = NULL, *advertise = NULL, *share = NULL, *addr = NULL,
               *timeout = NULL;
    bool no_discovery = false;
    const cli_opt_t opts[] = {{"--no-discovery", 0, NULL, &no_discovery},
                              {"--listen", 'l', &listen, NULL},
                              {"--expire", 0, &expire, NULL},
                              {"--advertise", 0, &advertise, NULL},
                              {"--share", 0, &share, NULL},
                              {"--addr", 'a', &addr, NULL},
                              {"--timeout", 't', &timeout, NULL},
                              {NULL, 0, NULL, NULL}};
    int npos, rc = cli_parse(ctx, s_usage, argc, argv, opts, 0, 4, &npos);
    if (rc != CLI_CONTINUE)
        return rc;
    if (npos == 0) {
        if (addr || timeout)
            return cli_usage_error(s_usage, "pair: --addr and --timeout go with CODE");
        char adv[1024] = "", sh[1024] = "";
        if (advertise && strlen(advertise) >= sizeof adv)
            return cli_usage_error(s_usage, "pair: --advertise is too long");
        if (share && strlen(share) >= sizeof sh)
            return cli_usage_error(s_usage, "pair: --share is too long");
        snprintf(adv, sizeof adv, "%s", advertise ? advertise : "");
        snprintf(sh, sizeof sh, "%s", share ? share : "");
        return s_show(ctx, listen, expire, advertise ? adv : NULL, share ? sh : NULL, no_discovery);
    }
    if (listen || expire || advertise || share)
        return cli_usage_error(s_usage, "pair: --listen, --expire, --advertise and --share go "
                                        "without CODE");
    /* the code may be typed as one word or as several ("7 crystal ladder orbit") */
    char code[256] = "";
    for (int i = 1; i <= npos; i++) {
        size_t len = strlen(code);
        if (len + strlen(argv[i]) + 2 > sizeof code)
            return cli_usage_error(s_usage, "pair: the code is too long");
        snprintf(code + len, sizeof code - len, "%s%s", len ? " " : "", argv[i]);
    }
    return s_join(ctx, code, addr, timeout, no_discovery);
}
