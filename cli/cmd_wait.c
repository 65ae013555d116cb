/* cli/cmd_wait.c: `meshctl wait`: return once the daemon on this home has sent every
 * connected peer all it holds (for scripts, tests and benchmarks).
 * Owns: the waiting rule and its deadline. Not here: the status (the library: mesh_status).
 * Layer: cli. Third-party: none. SPDX-License-Identifier: MIT */
#include "cli.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#define S_STABLE_MS 600 /* in sync for this long, status published meanwhile */
#define S_PEERS_MAX 64  /* --peers at most (a daemon syncs with 64 members at most) */

static const char s_usage[] =
    "usage: meshctl wait [COLL...] [--timeout S] [--peers N]\n"
    "\n"
    "Wait until the daemon running on this home is in sync with every connected peer in\n"
    "the collections named (all of them by default): nothing in flight, each has\n"
    "everything this device holds and this device has everything it holds, steadily for\n"
    "0.6 s. Run it on each device to know that all have everything. Exit 0 when in sync,\n"
    "1 at the timeout or when no daemon runs.\n"
    "\n"
    "options:\n"
    "  -t, --timeout S  give up after S seconds (default 30)\n"
    "  -p, --peers N    also wait until at least N peers are connected (default 1)\n";

/* Is every named collection in sync with peer p? The daemon lists a (collection, peer) row
 * only while something is left either way: with a row, not yet; without one, when its
 * session is up, nothing is under way with it and its figures are counted. */
static bool
s_colls_in_sync(const mesh_status_t *st, size_t nrows, const mesh_status_peer_t *p, char **colls,
                int n)
{
    bool idle = p->session && !p->busy && p->in_flight == 0 &&
                (p->in_sync || p->to_send + p->to_receive > 0); /* (counted) */
    for (int c = 0; c < n; c++) {
        bool row = false;
        for (size_t i = 0; i < nrows && !row; i++) {
            mesh_status_coll_t r = {.size = sizeof r};
            row = mesh_status_coll(st, i, &r) == MESH_OK && strcmp(r.peer, p->id) == 0 &&
                  strcmp(r.name, colls[c]) == 0 && !r.in_sync;
        }
        if (row || !idle) {
            return false;
        }
    }
    return true;
}

/* The daemon's state now: whether it runs, when it published it, and how many peers are
 * connected and how many of those in sync. */
typedef struct s_state {
    bool running;
    long long updated_ms; /* CLOCK_MONOTONIC ms */
    size_t connected, synced;
} s_state_t;

static mesh_err_t
s_state(mesh_t *m, char **colls, int ncolls, long long now_ms, s_state_t *out)
{
    mesh_status_t *st = NULL;
    mesh_status_device_t dev = {.size = sizeof dev};
    memset(out, 0, sizeof *out);
    mesh_err_t err = mesh_status(m, &st);
    if (err == MESH_OK)
        err = mesh_status_device(st, &dev);
    if (err != MESH_OK) {
        mesh_status_free(st);
        return err;
    }
    out->running = dev.daemon;
    out->updated_ms = now_ms - dev.age_ms;
    for (size_t i = 0; dev.daemon && i < dev.peers; i++) {
        mesh_status_peer_t p = {.size = sizeof p};
        if (mesh_status_peer(st, i, &p) != MESH_OK || !p.connected)
            continue;
        out->connected++;
        out->synced += ncolls > 0 ? s_colls_in_sync(st, dev.colls, &p, colls, ncolls) : p.in_sync;
    }
    mesh_status_free(st);
    return MESH_OK;
}

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
    mesh_t *m = NULL;
    if (cli_open(ctx, &m) != CLI_OK)
        return CLI_FAIL;
    struct timespec start, now, nap = {0, 50 * 1000 * 1000};
    clock_gettime(CLOCK_MONOTONIC, &start);
    long long start_ms = (long long)start.tv_sec * 1000 + start.tv_nsec / 1000000;
    long long stable_since = -1;
    for (;;) {
        s_state_t st;
        clock_gettime(CLOCK_MONOTONIC, &now);
        long long now_ms = (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000;
        mesh_err_t err = s_state(m, argv + 1, npos, now_ms, &st);
        if (err != MESH_OK) {
            rc = cli_fail(m, err, "wait");
            mesh_close(m);
            return rc;
        }
        /* In sync in status published after the wait began, without a break for
         * S_STABLE_MS: what arrived a moment ago has had time to go on to the others. */
        bool ok = st.running && st.updated_ms > start_ms && st.connected >= want &&
                  st.synced == st.connected;
        stable_since = ok ? (stable_since < 0 ? now_ms : stable_since) : -1;
        if (ok && now_ms - stable_since >= S_STABLE_MS) {
            mesh_close(m);
            return CLI_OK;
        }
        if ((uint64_t)(now.tv_sec - start.tv_sec) >= timeout) {
            cli_say("wait: %s after %llu s (%zu of %zu connected peers in sync)",
                    st.running ? "not in sync" : "no daemon runs on this home",
                    (unsigned long long)timeout, st.synced, st.connected);
            mesh_close(m);
            return CLI_FAIL;
        }
        nanosleep(&nap, NULL);
    }
}
