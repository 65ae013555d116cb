/* cli/cmd_import.c: `meshctl import`: verify and apply a bundle, and say what it did.
 * Owns: reading the bundle (a file or stdin, up to CLI_FILE_MAX), the report's text and
 * JSON, and import's exit status (1 when a set was rejected).
 * Not here: verifying and applying (the library, mesh_import).
 * Layer: cli. Third-party: none. SPDX-License-Identifier: MIT */
#include "cli.h"
#include "out.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char s_usage[] =
    "usage: meshctl import FILE\n"
    "\n"
    "Verify and apply the bundle in FILE ('-': standard input), made by 'meshctl export'\n"
    "on any device. Each change set is checked against its writer's signature and Merkle\n"
    "root: a set that fails is rejected, nothing of it kept, and the rest applied. A set\n"
    "from a device that is not (yet) a member of this device's mesh is held back, and\n"
    "applied once membership records make it one. Importing a bundle again changes\n"
    "nothing. A set whose causal context names versions this device does not hold yet\n"
    "waits: it is not applied, and importing again after those came applies it. Prints\n"
    "one line of counts:\n"
    "  applied N sets (N versions), N already known, N held back, N rejected\n"
    "(and ', N waiting' when any wait), then one line per held, rejected or waiting set,\n"
    "with the reason (escaped). A set whose collection name breaks the rules of\n"
    "'meshctl put' is rejected.\n"
    "\n"
    "Exit status 1 when any set was rejected (after the report), or when FILE is not a\n"
    "bundle (nothing applied); held-back sets are not a failure.\n"
    "\n"
    "--json prints {\"file\", \"applied\", \"versions\", \"known\", \"held\", \"rejected\",\n"
    "\"waiting\", \"held_sets\": [LINE], \"rejected_sets\": [LINE], \"waiting_sets\": [LINE]}.\n";

/* The report's lines that start with prefix, as JSON strings in the array name. */
static void
s_json_lines(out_json_t *j, const char *name, const char *text, const char *prefix)
{
    char line[1024];
    out_json_array_begin(j, name);
    for (const char *p = text; p && *p;) {
        size_t n = strcspn(p, "\n");
        if (strncmp(p, prefix, strlen(prefix)) == 0) {
            snprintf(line, sizeof line, "%.*s", (int)n, p);
            out_json_string(j, NULL, line);
        }
        p += n + (p[n] == '\n');
    }
    out_json_array_end(j);
}

static void
s_print(const cli_ctx_t *ctx, const char *path, const mesh_import_report_t *r)
{
    if (ctx->json) {
        out_json_t j;
        out_json_init(&j, stdout);
        out_json_object_begin(&j, NULL);
        out_json_string(&j, "file", path);
        out_json_u64(&j, "applied", r->sets_new);
        out_json_u64(&j, "versions", r->ops_stored);
        out_json_u64(&j, "known", r->sets_known);
        out_json_u64(&j, "held", r->sets_held);
        out_json_u64(&j, "rejected", r->sets_rejected);
        out_json_u64(&j, "waiting", r->sets_waiting);
        /* (the prefixes mesh_import's report starts each line with) */
        s_json_lines(&j, "held_sets", r->text, "held back ");
        s_json_lines(&j, "rejected_sets", r->text, "rejected ");
        s_json_lines(&j, "waiting_sets", r->text, "waiting ");
        out_json_object_end(&j);
        return;
    }
    printf("applied %zu %s (%zu %s), %zu already known, %zu held back, %zu rejected", r->sets_new,
           cli_plural(r->sets_new, "set", "sets"), r->ops_stored,
           cli_plural(r->ops_stored, "version", "versions"), r->sets_known, r->sets_held,
           r->sets_rejected);
    if (r->sets_waiting) {
        printf(", %zu waiting", r->sets_waiting);
    }
    putchar('\n');
    /* one line per set; the library escaped the names in them, and out_terminal keeps
     * any control byte left from acting on a terminal */
    for (const char *p = r->text; p && *p;) {
        size_t n = strcspn(p, "\n");
        out_terminal(stdout, p, n);
        putchar('\n');
        p += n + (p[n] == '\n');
    }
}

int
cmd_import(int argc, char **argv, cli_ctx_t *ctx)
{
    int npos, rc = cli_parse(ctx, s_usage, argc, argv, NULL, 1, 1, &npos);
    if (rc != CLI_CONTINUE)
        return rc;
    const char *path = argv[1];
    char qpath[OUT_QUOTE_LEN], detail[256];
    out_quote(qpath, sizeof qpath, path, strlen(path));
    uint8_t *bundle = NULL;
    size_t len = 0;
    mesh_t *m = NULL;
    mesh_import_report_t report;
    memset(&report, 0, sizeof report);
    report.size = sizeof report;
    mesh_err_t err = cli_read_file(path, CLI_FILE_MAX, &bundle, &len, detail, sizeof detail);
    if (err != MESH_OK)
        return cli_fail_detail(err, detail, "import: read '%s'", qpath);
    if (cli_open(ctx, &m) != CLI_OK) {
        free(bundle);
        return CLI_FAIL;
    }
    err = mesh_import(m, bundle, len, &report);
    if (err != MESH_OK) {
        /* Sections before the failure stay applied; say so when there were any. */
        if (report.sets_new)
            cli_say("import '%s': %zu %s applied before the failure", qpath, report.sets_new,
                    cli_plural(report.sets_new, "set was", "sets were"));
        rc = cli_fail(m, err, "import '%s'", qpath);
    } else {
        s_print(ctx, path, &report);
        rc = CLI_OK;
        if (report.sets_rejected) {
            cli_say("import '%s': %zu %s rejected", qpath, report.sets_rejected,
                    cli_plural(report.sets_rejected, "set", "sets"));
            rc = CLI_FAIL;
        }
    }
    mesh_free(report.text);
    free(bundle);
    mesh_close(m);
    return rc;
}
