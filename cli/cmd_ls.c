/* cli/cmd_ls.c: `meshctl ls`: list the visible items of a collection.
 * Owns: only what ls prints. Not here: the iteration and its order (the library).
 * Layer: cli. Third-party: none. SPDX-License-Identifier: MIT */
#include "cli.h"
#include "out.h"

#include <stdio.h>
#include <string.h>

static const char s_usage[] =
    "usage: meshctl ls [--keys] COLL [PREFIX]\n"
    "\n"
    "List the items of the collection COLL whose keys start with PREFIX, in key byte\n"
    "order, one line each: the key, a tab, the value, both escaped. A line ends in\n"
    "' (conflict)' when the item has siblings ('meshctl get --all' shows them). Deleted\n"
    "keys are not listed.\n"
    "\n"
    "options:\n"
    "  -k, --keys  print only the keys\n"
    "\n"
    "--json prints {\"collection\", \"items\": [{\"key\", \"value\", \"conflict\"}]}, without\n"
    "\"value\" under --keys; keys and values that are not UTF-8 come as \"key_hex\" and\n"
    "\"value_hex\".\n";

typedef struct s_ls {
    bool keys_only;
    out_json_t json; /* used when ctx->json */
} s_ls_t;

static void
s_item(const cli_ctx_t *ctx, s_ls_t *ls, const uint8_t *key, size_t key_len, const uint8_t *value,
       size_t value_len, bool conflict)
{
    if (ctx->json) {
        out_json_object_begin(&ls->json, NULL);
        out_json_bytes(&ls->json, "key", key, key_len);
        if (!ls->keys_only)
            out_json_bytes(&ls->json, "value", value, value_len);
        out_json_bool(&ls->json, "conflict", conflict);
        out_json_object_end(&ls->json);
        return;
    }
    out_escaped(stdout, key, key_len);
    if (!ls->keys_only) {
        putchar('\t');
        out_escaped(stdout, value, value_len);
    }
    fputs(conflict ? " (conflict)\n" : "\n", stdout);
}

int
cmd_ls(int argc, char **argv, cli_ctx_t *ctx)
{
    s_ls_t ls = {.keys_only = false};
    const cli_opt_t opts[] = {{"--keys", 'k', NULL, &ls.keys_only}, {NULL, 0, NULL, NULL}};
    int npos, rc = cli_parse(ctx, s_usage, argc, argv, opts, 1, 2, &npos);
    if (rc != CLI_CONTINUE)
        return rc;
    const char *coll = argv[1], *prefix = npos > 1 ? argv[2] : "";
    char qcoll[OUT_QUOTE_LEN];
    out_quote(qcoll, sizeof qcoll, coll, strlen(coll));
    mesh_t *m = NULL;
    mesh_iter_t *it = NULL;
    if (cli_open(ctx, &m) != CLI_OK)
        return CLI_FAIL;
    mesh_err_t err = mesh_iter_open(m, coll, prefix, strlen(prefix), &it);
    if (err != MESH_OK) {
        rc = cli_fail(m, err, "list '%s'", qcoll);
        goto out;
    }
    if (ctx->json) {
        out_json_init(&ls.json, stdout);
        out_json_object_begin(&ls.json, NULL);
        out_json_bytes(&ls.json, "collection", coll, strlen(coll));
        out_json_array_begin(&ls.json, "items");
    }
    const uint8_t *key, *value;
    size_t key_len, value_len;
    bool conflict;
    while ((err = mesh_iter_next(it, &key, &key_len, &value, &value_len, &conflict)) == MESH_OK) {
        s_item(ctx, &ls, key, key_len, value, value_len, conflict);
    }
    if (err != MESH_ENOTFOUND) {
        /* Half a JSON document is no document: end the line so the error stands apart. */
        if (ctx->json)
            putchar('\n');
        rc = cli_fail(m, err, "list '%s'", qcoll);
        goto out;
    }
    if (ctx->json) {
        out_json_array_end(&ls.json);
        out_json_object_end(&ls.json);
    }
    rc = CLI_OK;
out:
    mesh_iter_close(it);
    mesh_close(m);
    return rc;
}
