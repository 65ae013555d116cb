/* cli/cmd_get.c: `meshctl get`: print a value, or every version of a key.
 * Owns: what get prints: the raw value bytes, or one line per version (--all).
 * Not here: which version wins (the library), escaping and JSON (cli/out.c).
 * Layer: cli. Third-party: none. SPDX-License-Identifier: MIT */
#include "cli.h"
#include "out.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const char s_usage[] =
    "usage: meshctl get [--all] COLL KEY\n"
    "\n"
    "Print the value of KEY in the collection COLL: its bytes exactly, with no newline\n"
    "added; on a terminal, control characters other than newline and tab, and bytes\n"
    "that are not UTF-8, show as \\xNN. A key that is missing or deleted is an error\n"
    "(exit status 1); an empty KEY is a usage error (exit status 2).\n"
    "\n"
    "options:\n"
    "  -a, --all  print every version of the key instead (siblings after concurrent\n"
    "             writes, and deletions), one line each, the winner first and marked '*':\n"
    "             * ORIGIN-ID inc=INCARNATION seq=N hlc=TIME put VALUE\n"
    "               ORIGIN-ID inc=INCARNATION seq=N hlc=TIME del\n"
    "             with VALUE escaped and TIME in ISO-8601 UTC\n"
    "\n"
    "--json prints {\"collection\", \"key\", \"value\"}, or with --all {\"collection\", \"key\",\n"
    "\"versions\": [{\"origin\", \"incarnation\", \"seq\", \"hlc\", \"time\", \"deleted\", "
    "\"winner\",\n"
    "\"value\"}]}; a value that is not UTF-8 comes as \"value_hex\".\n";

static void
s_print_versions(const cli_ctx_t *ctx, const char *coll, const char *key,
                 const mesh_item_version_list_t *list)
{
    size_t count = mesh_item_version_list_count(list);
    char time_text[OUT_TIME_LEN];
    if (ctx->json) {
        out_json_t j;
        out_json_init(&j, stdout);
        out_json_object_begin(&j, NULL);
        out_json_bytes(&j, "collection", coll, strlen(coll));
        out_json_bytes(&j, "key", key, strlen(key));
        out_json_array_begin(&j, "versions");
        for (size_t i = 0; i < count; i++) {
            out_json_version(&j, NULL, mesh_item_version_list_get(list, i));
        }
        out_json_array_end(&j);
        out_json_object_end(&j);
        return;
    }
    for (size_t i = 0; i < count; i++) {
        const mesh_item_version_t *v = mesh_item_version_list_get(list, i);
        printf("%c %s inc=%016llx seq=%llu hlc=%s %s", v->is_winner ? '*' : ' ', v->origin,
               (unsigned long long)v->incarnation, (unsigned long long)v->seq,
               out_hlc_time(v->hlc, time_text, sizeof time_text), v->deleted ? "del" : "put");
        if (!v->deleted) {
            putchar(' ');
            out_escaped(stdout, v->value, v->value_len);
        }
        putchar('\n');
    }
}

static void
s_print_value(const cli_ctx_t *ctx, const char *coll, const char *key, const void *value,
              size_t len)
{
    if (ctx->json) {
        out_json_t j;
        out_json_init(&j, stdout);
        out_json_object_begin(&j, NULL);
        out_json_bytes(&j, "collection", coll, strlen(coll));
        out_json_bytes(&j, "key", key, strlen(key));
        out_json_bytes(&j, "value", value, len);
        out_json_object_end(&j);
        return;
    }
    if (len > 0 && isatty(STDOUT_FILENO)) {
        out_terminal(stdout, value, len); /* a value is anyone's bytes: no escape sequences */
    } else if (len > 0) {
        fwrite(value, 1, len, stdout);
    }
}

int
cmd_get(int argc, char **argv, cli_ctx_t *ctx)
{
    bool all = false;
    const cli_opt_t opts[] = {{"--all", 'a', NULL, &all}, {NULL, 0, NULL, NULL}};
    int npos, rc = cli_parse(ctx, s_usage, argc, argv, opts, 2, 2, &npos);
    if (rc != CLI_CONTINUE)
        return rc;
    const char *coll = argv[1], *key = argv[2];
    if (!coll[0])
        return cli_usage_error(s_usage, "get: COLL is empty (a collection name has 1 to %u bytes)",
                               MESH_COLL_MAX);
    if (!key[0])
        return cli_usage_error(s_usage, "get: KEY is empty (a key has 1 to %u bytes)",
                               MESH_KEY_MAX);
    char qcoll[OUT_QUOTE_LEN], qkey[OUT_QUOTE_LEN];
    out_quote(qcoll, sizeof qcoll, coll, strlen(coll));
    out_quote(qkey, sizeof qkey, key, strlen(key));
    mesh_t *m = NULL;
    void *value = NULL;
    size_t len = 0;
    mesh_item_version_list_t *versions = NULL;
    mesh_err_t err;
    if (cli_open(ctx, &m) != CLI_OK)
        return CLI_FAIL;
    if (all) {
        err = mesh_get_versions(m, coll, key, strlen(key), &versions);
    } else {
        err = mesh_get(m, coll, key, strlen(key), &value, &len);
    }
    if (err == MESH_ENOTFOUND) {
        cli_say("'%s' not found in '%s'", qkey, qcoll);
        rc = CLI_FAIL;
    } else if (err != MESH_OK) {
        rc = cli_fail(m, err, "get '%s' from '%s'", qkey, qcoll);
    } else {
        if (all) {
            s_print_versions(ctx, coll, key, versions);
        } else {
            s_print_value(ctx, coll, key, value, len);
        }
        rc = CLI_OK;
    }
    mesh_item_version_list_free(versions);
    mesh_free(value);
    mesh_close(m);
    return rc;
}
