/* cli/cmd_ls.c: `meshctl ls`: list the collections with their item counts, or the visible
 * items of one collection.
 * Owns: only what ls prints. Not here: the iteration and its order (the library).
 * Layer: cli. Third-party: none. SPDX-License-Identifier: MIT */
#include "cli.h"
#include "out.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char s_usage[] =
    "usage: meshctl ls [--keys] [COLL [PREFIX]]\n"
    "\n"
    "Without COLL, list the collections this device holds, in byte order, one line each:\n"
    "the name (escaped), a tab, and its number of items ('3 items'; deleted keys are not\n"
    "items). With COLL, list the items of the collection COLL whose keys start with\n"
    "PREFIX, in key byte order, one line each: the key, a tab, the value, both escaped\n"
    "(UTF-8 as it is; tab, newline and backslash as \\t, \\n and \\\\; other control\n"
    "characters and bytes that are not UTF-8 as \\xNN). A line\n"
    "ends in ' (conflict)' when the item has siblings ('meshctl get --all' shows them).\n"
    "Deleted keys are not listed. A COLL this device does not hold is an error (exit\n"
    "status 1): 'no such collection'.\n"
    "\n"
    "options:\n"
    "  -k, --keys  print only the keys\n"
    "\n"
    "--json prints {\"collections\": [{\"name\", \"items\", \"keys\", \"versions\"}]} without\n"
    "COLL (keys and versions count deleted keys too); with COLL {\"collection\", \"items\":\n"
    "[{\"key\", \"value\", \"conflict\"}]}, without \"value\" under --keys. Text that is not\n"
    "UTF-8 comes as hex in \"name_hex\", \"key_hex\", \"value_hex\".\n";

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

/* The number of visible items of coll, in *count. */
static mesh_err_t
s_count(mesh_t *m, const char *coll, uint64_t *count)
{
    mesh_iter_t *it = NULL;
    *count = 0;
    mesh_err_t err = mesh_iter_open(m, coll, "", 0, &it);
    const uint8_t *key, *value;
    size_t key_len, value_len;
    while (err == MESH_OK &&
           (err = mesh_iter_next(it, &key, &key_len, &value, &value_len, NULL)) == MESH_OK) {
        (*count)++;
    }
    mesh_iter_close(it);
    return err == MESH_ENOTFOUND ? MESH_OK : err;
}

/* ls without COLL: every collection with its item count. */
static int
s_list_colls(const cli_ctx_t *ctx, mesh_t *m)
{
    mesh_coll_list_t *list = NULL;
    out_json_t j;
    mesh_err_t err = mesh_collections(m, &list);
    if (err != MESH_OK)
        return cli_fail(m, err, "list the collections");
    size_t n = mesh_coll_list_count(list);
    uint64_t *counts = calloc(n ? n : 1, sizeof *counts);
    if (!counts) {
        mesh_coll_list_free(list);
        return cli_fail_detail(MESH_ENOMEM, NULL, "list the collections");
    }
    /* every count first: a failure prints no half list */
    for (size_t i = 0; i < n && err == MESH_OK; i++) {
        err = s_count(m, mesh_coll_list_get(list, i)->name, &counts[i]);
    }
    int rc = CLI_OK;
    if (err != MESH_OK) {
        rc = cli_fail(m, err, "list the collections");
        goto out;
    }
    if (ctx->json) {
        out_json_init(&j, stdout);
        out_json_object_begin(&j, NULL);
        out_json_array_begin(&j, "collections");
    }
    for (size_t i = 0; i < n; i++) {
        const mesh_coll_info_t *c = mesh_coll_list_get(list, i);
        if (ctx->json) {
            out_json_object_begin(&j, NULL);
            out_json_string(&j, "name", c->name);
            out_json_u64(&j, "items", counts[i]);
            out_json_u64(&j, "keys", c->keys);
            out_json_u64(&j, "versions", c->versions);
            out_json_object_end(&j);
            continue;
        }
        out_escaped(stdout, c->name, strlen(c->name));
        printf("\t%llu %s\n", (unsigned long long)counts[i],
               cli_plural(counts[i], "item", "items"));
    }
    if (ctx->json) {
        out_json_array_end(&j);
        out_json_object_end(&j);
    }
out:
    free(counts);
    mesh_coll_list_free(list);
    return rc;
}

int
cmd_ls(int argc, char **argv, cli_ctx_t *ctx)
{
    s_ls_t ls = {.keys_only = false};
    const cli_opt_t opts[] = {{"--keys", 'k', NULL, &ls.keys_only}, {NULL, 0, NULL, NULL}};
    int npos, rc = cli_parse(ctx, s_usage, argc, argv, opts, 0, 2, &npos);
    if (rc != CLI_CONTINUE)
        return rc;
    mesh_t *m = NULL;
    mesh_iter_t *it = NULL;
    if (npos == 0) {
        if (cli_open(ctx, &m) != CLI_OK)
            return CLI_FAIL;
        rc = s_list_colls(ctx, m);
        mesh_close(m);
        return rc;
    }
    const char *coll = argv[1], *prefix = npos > 1 ? argv[2] : "";
    char qcoll[OUT_QUOTE_LEN];
    out_quote(qcoll, sizeof qcoll, coll, strlen(coll));
    if (cli_open(ctx, &m) != CLI_OK)
        return CLI_FAIL;
    if (cli_need_coll(m, coll) != CLI_OK) {
        mesh_close(m);
        return CLI_FAIL;
    }
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
