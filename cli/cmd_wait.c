/* cli/cmd_wait.c: `meshctl wait`: return once the daemon on this home has sent every
 * connected peer all it holds (for scripts, tests and benchmarks).
 * Owns: the waiting rule and its deadline. Not here: the status file (cli/cmd_status.c).
 * Layer: cli. Third-party: none. SPDX-License-Identifier: MIT */
#include "cli.h"

#include <stdio.h>
#include <time.h>

#define S_STABLE_MS 600 /* in sync for this long, status rewritten meanwhile */

static const char s_usage[] =
    "usage: meshctl wait [--timeout S] [--peers N]\n"
    "\n"
    "Wait until the daemon running on this home is in sync with every connected peer:\n"
    "each has acknowledged everything this device holds, steadily for 0.6 s. Run it on\n"
    "each device to know that all have everything. Exit 0 when in sync, 1 at the\n"
    "timeout or when no daemon runs.\n"
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
    int npos, rc = cli_parse(ctx, s_usage, argc, argv, opts, 0, 0, &npos);
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
        cli_status_t st;
        cli_status_read(ctx, &st);
        clock_gettime(CLOCK_MONOTONIC, &now);
        long long now_ms = (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000;
        size_t connected = 0, synced = 0;
        for (size_t i = 0; i < st.npeers; i++) {
            connected += st.peers[i].connected != 0;
            synced += st.peers[i].connected && st.peers[i].in_sync;
        }
        /* In sync in status files written after the wait began, without a break for
         * S_STABLE_MS: what arrived a moment ago has had time to go on to the others. */
        bool ok = st.running && now_ms - st.age_ms > start_ms && connected >= want &&
                  synced == connected;
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
