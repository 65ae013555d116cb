/* cli/cmd_wait.c: `meshctl wait`: return once the daemon on this home has sent every
 * connected peer all it holds (for scripts, tests and benchmarks).
 * Owns: the waiting rule and its deadline. Not here: the status file (cli/cmd_status.c).
 * Layer: cli. Third-party: none. SPDX-License-Identifier: MIT */
#include "cli.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#define S_STABLE_MS 600 /* in sync for this long, status rewritten meanwhile */

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

/* Is every named collection in sync with peer p? (A collection it has no line for yet
 * is not: the session is not up, or the daemon has not written it.) */
static bool
s_colls_in_sync(const cli_status_t *st, const cli_peer_status_t *p, char **colls, int n)
{
    for (int c = 0; c < n; c++) {
        bool ok = false;
        for (size_t i = 0; i < st->ncolls && !ok; i++) {
            ok = strcmp(st->colls[i].peer, p->id) == 0 &&
                 strcmp(st->colls[i].name, colls[c]) == 0 && st->colls[i].in_sync;
        }
        if (!ok) {
            return false;
        }
    }
    return true;
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
    if (peers_s && !cli_parse_u64(peers_s, 0, CLI_PEERS_MAX, &want))
        return cli_usage_error(s_usage, "wait: --peers takes a number, 0 to %d", CLI_PEERS_MAX);
    struct timespec start, now, nap = {0, 50 * 1000 * 1000};
    clock_gettime(CLOCK_MONOTONIC, &start);
    long long start_ms = (long long)start.tv_sec * 1000 + start.tv_nsec / 1000000;
    long long stable_since = -1;
    for (;;) {
        static cli_status_t st;
        cli_status_read(ctx, &st);
        clock_gettime(CLOCK_MONOTONIC, &now);
        long long now_ms = (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000;
        size_t connected = 0, synced = 0;
        for (size_t i = 0; i < st.npeers; i++) {
            connected += st.peers[i].connected != 0;
            synced += st.peers[i].connected &&
                      (npos > 0 ? s_colls_in_sync(&st, &st.peers[i], argv + 1, npos)
                                : st.peers[i].in_sync);
        }
        /* In sync in status files written after the wait began, without a break for
         * S_STABLE_MS: what arrived a moment ago has had time to go on to the others. */
        bool ok =
            st.running && now_ms - st.age_ms > start_ms && connected >= want && synced == connected;
        stable_since = ok ? (stable_since < 0 ? now_ms : stable_since) : -1;
        if (ok && now_ms - stable_since >= S_STABLE_MS)
            return CLI_OK;
        if ((uint64_t)(now.tv_sec - start.tv_sec) >= timeout) {
            cli_say("wait: %s after %llu s (%zu of %zu connected peers in sync)",
                    st.running ? "not in sync" : "no daemon runs on this home",
                    (unsigned long long)timeout, synced, connected);
            return CLI_FAIL;
        }
        nanosleep(&nap, NULL);
    }
}
