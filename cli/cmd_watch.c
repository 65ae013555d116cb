/* cli/cmd_watch.c: `meshctl watch`: print the change feed (mesh_watch, docs/PROTOCOL.md §20)
 * as it happens, as text or JSON lines, including the writes of a daemon running on the
 * same home in another process (the feed subscribes to its commits over its control socket,
 * core/data/feedsub.c, or polls the home's log when none answers).
 * Owns: the line formats (JSON's documented in docs/meshctl.1.md), --since/--limit/--timeout.
 * Not here: the feed (core/data/feed.c, feedsub.c).
 * Layer: cli. Third-party: none. SPDX-License-Identifier: MIT */
#include "cli.h"
#include "names.h"
#include "out.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static const char s_usage[] =
    "usage: meshctl watch [COLL] [--prefix P] [--since CURSOR] [--limit N] [--timeout S] [--json]\n"
    "\n"
    "Print each change of COLL (every collection not starting with '_' by default) as it\n"
    "happens: writes here, sets from peers applied by a daemon, writes of other meshctl\n"
    "commands. Each line starts with the change's cursor; pass the last one printed to\n"
    "--since to resume after it, with nothing missed and nothing twice. A key changed\n"
    "several times while nobody watched is printed once, in its latest state.\n"
    "With --json: one JSON object a line (fields in meshctl(1)). Runs until interrupted.\n"
    "\n"
    "options:\n"
    "  -p, --prefix P     only keys starting with P\n"
    "  -s, --since C      start after cursor C (0: every key's latest change); default: now\n"
    "  -n, --limit N      exit 0 after N changes (1 if the timeout comes first)\n"
    "  -t, --timeout S    exit after S seconds\n";

static volatile sig_atomic_t s_stop;

static void
s_on_signal(int sig)
{
    (void)sig;
    s_stop = 1;
}

typedef struct s_watch {
    const cli_ctx_t *ctx;
    const names_t *names;
    unsigned long long printed; /* atomic: read by the main thread */
} s_watch_t;

static void
s_print_json(const mesh_change_t *c, uint64_t cursor, bool reset)
{
    char time_text[OUT_TIME_LEN];
    out_json_t j;
    out_json_init(&j, stdout);
    out_json_object_begin(&j, NULL);
    out_json_u64(&j, "cursor", cursor);
    if (reset) {
        out_json_bool(&j, "reset", true);
    }
    if (c) {
        out_json_bytes(&j, "collection", c->coll, strlen(c->coll));
        out_json_bytes(&j, "key", c->key, c->key_len);
        out_json_bool(&j, "deleted", c->deleted);
        out_json_bool(&j, "conflict", c->conflict);
        out_json_bool(&j, "local", c->local);
        out_json_string(&j, "origin", c->origin);
        out_json_hex64(&j, "incarnation", c->incarnation);
        out_json_u64(&j, "seq", c->seq);
        out_json_hex64(&j, "hlc", c->hlc);
        out_json_string(&j, "time", out_hlc_time(c->hlc, time_text, sizeof time_text));
        if (!c->deleted) {
            out_json_bytes(&j, "value", c->value, c->value_len);
        }
    }
    out_json_object_end(&j);
}

/* The feed thread's callback: one line per change, flushed at once. */
static void
s_on_change(void *ctx, const mesh_change_t *c, bool reset)
{
    s_watch_t *w = ctx;
    if (reset && !w->ctx->json) {
        cli_say("watch: the cursor is older than deletions this home has forgotten; "
                "read the collection afresh");
    }
    if (w->ctx->json) {
        s_print_json(c, c ? c->cursor : 0, reset);
    } else if (c) {
        char label[128];
        printf("%llu ", (unsigned long long)c->cursor);
        out_terminal(stdout, c->coll, strlen(c->coll));
        putchar(' ');
        out_terminal(stdout, c->key, c->key_len);
        printf(" %s%s ", c->deleted ? "del" : "put", c->conflict ? " conflict" : "");
        names_print(stdout, names_label(w->names, c->origin, label, sizeof label));
        printf(" %llu\n", (unsigned long long)c->seq);
    }
    fflush(stdout);
    if (c) {
        __atomic_add_fetch(&w->printed, 1, __ATOMIC_RELAXED);
    }
}

int
cmd_watch(int argc, char **argv, cli_ctx_t *ctx)
{
    const char *prefix = NULL, *since_s = NULL, *limit_s = NULL, *timeout_s = NULL;
    const cli_opt_t opts[] = {{"--prefix", 'p', &prefix, NULL},
                              {"--since", 's', &since_s, NULL},
                              {"--limit", 'n', &limit_s, NULL},
                              {"--timeout", 't', &timeout_s, NULL},
                              {NULL, 0, NULL, NULL}};
    int npos, rc = cli_parse(ctx, s_usage, argc, argv, opts, 0, 1, &npos);
    if (rc != CLI_CONTINUE)
        return rc;
    uint64_t since = MESH_CURSOR_NOW, limit = 0, timeout = 0;
    if (since_s && !cli_parse_u64(since_s, 0, UINT64_MAX - 1, &since))
        return cli_usage_error(s_usage, "watch: --since takes a cursor (a number)");
    if (limit_s && !cli_parse_u64(limit_s, 1, UINT64_MAX, &limit))
        return cli_usage_error(s_usage, "watch: --limit takes a number, at least 1");
    if (timeout_s && !cli_parse_u64(timeout_s, 1, 86400 * 365, &timeout))
        return cli_usage_error(s_usage, "watch: --timeout takes seconds, at least 1");
    const char *coll = npos >= 1 ? argv[1] : NULL;
    mesh_t *m = NULL;
    if (cli_open(ctx, &m) != CLI_OK)
        return CLI_FAIL;
    names_t *names = NULL;
    mesh_err_t err = ctx->json ? MESH_OK : names_load(m, &names);
    if (err != MESH_OK) {
        rc = cli_fail(m, err, "watch: read the members");
        mesh_close(m);
        return rc;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = s_on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    s_watch_t w = {ctx, names, 0};
    mesh_watch_t *h = NULL;
    err = mesh_watch(m, coll, prefix, prefix ? strlen(prefix) : 0, since, s_on_change, &w, &h);
    if (err != MESH_OK) {
        rc = cli_fail(m, err, "watch");
        names_free(names);
        mesh_close(m);
        return rc;
    }
    struct timespec start, now, nap = {0, 20 * 1000 * 1000};
    clock_gettime(CLOCK_MONOTONIC, &start);
    rc = CLI_OK;
    while (!s_stop) {
        unsigned long long n = __atomic_load_n(&w.printed, __ATOMIC_RELAXED);
        if (limit && n >= limit)
            break;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (timeout && (uint64_t)(now.tv_sec - start.tv_sec) >= timeout) {
            if (limit) {
                cli_say("watch: %llu of %llu changes after %llu s", n, (unsigned long long)limit,
                        (unsigned long long)timeout);
                rc = CLI_FAIL;
            }
            break;
        }
        nanosleep(&nap, NULL);
    }
    mesh_unwatch(h);
    names_free(names);
    mesh_close(m);
    return rc;
}
