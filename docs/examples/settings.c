/* docs/examples/settings.c: an app that keeps its preferences in the collection "settings"
 * and reacts to changes from other devices, through the change feed (meshsync(3)).
 *
 *   settings HOME                   print every setting, then follow changes until ^C
 *   settings HOME key=value...      set those, then the same
 *
 * It resumes after a restart from the cursor it saved in HOME/settings.cursor: a change
 * made by another device while it was closed is shown once, in its latest state.
 * Run it beside `meshctl daemon` on the same home (which syncs with the other devices), or
 * give it MESH_LISTEN=tcp://127.0.0.1:PORT to sync itself.
 * Build: cc settings.c $(pkg-config --cflags --libs meshsync) -o settings
 * SPDX-License-Identifier: MIT */
#include <meshsync.h>

#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t g_stop;
static char g_cursor_file[4200];

static void
on_signal(int sig)
{
    (void)sig;
    g_stop = 1;
}

static uint64_t
cursor_load(void)
{
    unsigned long long c = 0;
    FILE *f = fopen(g_cursor_file, "r");
    if (f) {
        if (fscanf(f, "%llu", &c) != 1)
            c = 0;
        fclose(f);
    }
    return c;
}

static void
cursor_save(uint64_t c)
{
    char tmp[4300];
    snprintf(tmp, sizeof tmp, "%s.tmp", g_cursor_file);
    FILE *f = fopen(tmp, "w");
    if (f && fprintf(f, "%" PRIu64 "\n", c) > 0 && fclose(f) == 0)
        rename(tmp, g_cursor_file); /* the old cursor or the new one, never half */
    else if (f)
        fclose(f);
}

/* The feed thread calls this once per change, in order. */
static void
on_change(void *ctx, const mesh_change_t *c, bool reset)
{
    (void)ctx;
    if (reset)
        printf("(some deletions were forgotten while closed: re-read all settings)\n");
    if (!c)
        return;
    if (c->deleted)
        printf("%.*s removed%s\n", (int)c->key_len, (const char *)c->key,
               c->local ? "" : " by another device");
    else
        printf("%.*s = %.*s%s%s\n", (int)c->key_len, (const char *)c->key, (int)c->value_len,
               (const char *)c->value, c->local ? "" : " (from another device)",
               c->conflict ? " [conflict]" : "");
    fflush(stdout);
    cursor_save(c->cursor); /* handled: never shown again */
}

int
main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: settings HOME [key=value...]\n");
        return 2;
    }
    snprintf(g_cursor_file, sizeof g_cursor_file, "%s/settings.cursor", argv[1]);
    char err[512] = "";
    mesh_options_t o = {.size = sizeof o,
                        .home = argv[1],
                        .create = true,
                        .offline = getenv("MESH_LISTEN") == NULL,
                        .listen = getenv("MESH_LISTEN"),
                        .errbuf = err,
                        .errbuf_len = sizeof err};
    mesh_t *m = NULL;
    if (mesh_open(&o, &m) != MESH_OK) {
        fprintf(stderr, "settings: open %s: %s\n", argv[1], err);
        return 1;
    }
    if (argc > 2) {
        mesh_txn_t *txn = NULL;
        mesh_err_t e = mesh_txn_begin(m, "settings", &txn);
        for (int i = 2; e == MESH_OK && i < argc; i++) {
            const char *eq = strchr(argv[i], '=');
            if (!eq || eq == argv[i]) {
                fprintf(stderr, "settings: '%s' is not key=value\n", argv[i]);
                mesh_txn_abort(txn);
                mesh_close(m);
                return 2;
            }
            e = mesh_put(txn, argv[i], (size_t)(eq - argv[i]), eq + 1, strlen(eq + 1));
        }
        if (e == MESH_OK)
            e = mesh_txn_commit(&txn, NULL);
        else
            mesh_txn_abort(txn);
        if (e != MESH_OK) {
            fprintf(stderr, "settings: %s (%s)\n", mesh_strerror(e), mesh_errmsg(m));
            mesh_close(m);
            return 1;
        }
    }
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    mesh_watch_t *w = NULL;
    /* everything changed since the saved cursor (0 the first time: every setting) */
    if (mesh_watch(m, "settings", NULL, 0, cursor_load(), on_change, NULL, &w) != MESH_OK) {
        fprintf(stderr, "settings: watch: %s\n", mesh_errmsg(m));
        mesh_close(m);
        return 1;
    }
    while (!g_stop)
        pause();
    mesh_unwatch(w);
    mesh_close(m);
    return 0;
}
