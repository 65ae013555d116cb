/* cli/cmd_conflicts.c: `meshctl conflicts`: the keys of a collection that have siblings.
 * Owns: only what conflicts prints. Not here: how siblings arise or which one wins (the
 * library, docs/PROTOCOL.md §5.4).
 * Layer: cli. Third-party: none. SPDX-License-Identifier: MIT */
#include "cli.h"
#include "out.h"

#include <stdio.h>
#include <string.h>

static const char s_usage[] =
    "usage: meshctl conflicts COLL\n"
    "\n"
    "List the keys of the collection COLL that have siblings: versions written\n"
    "concurrently on different devices, none of which saw the others. One line per\n"
    "sibling: the key, a tab, '*' for the version every device shows (the winner) or a\n"
    "space, the writer's device ID, and the value (or 'del'), escaped. A new put or del\n"
    "of the key on any device that holds them all resolves the conflict. A COLL this\n"
    "device does not hold is an error (exit status 1): 'no such collection'.\n"
    "\n"
    "--json prints {\"collection\", \"conflicts\": [{\"key\", \"versions\": [VERSION]}]}, each\n"
    "VERSION as 'meshctl get --all --json' prints it.\n";

/* Print the siblings of one key. */
static mesh_err_t
s_key(mesh_t *m, const cli_ctx_t *ctx, out_json_t *j, const char *coll, const uint8_t *key,
      size_t key_len)
{
    mesh_item_version_list_t *vs = NULL;
    mesh_err_t err = mesh_get_versions(m, coll, key, key_len, &vs);
    if (err != MESH_OK)
        return err;
    size_t n = mesh_item_version_list_count(vs);
    if (ctx->json) {
        out_json_object_begin(j, NULL);
        out_json_bytes(j, "key", key, key_len);
        out_json_array_begin(j, "versions");
        for (size_t i = 0; i < n; i++)
            out_json_version(j, NULL, mesh_item_version_list_get(vs, i));
        out_json_array_end(j);
        out_json_object_end(j);
    } else {
        for (size_t i = 0; i < n; i++) {
            const mesh_item_version_t *v = mesh_item_version_list_get(vs, i);
            out_escaped(stdout, key, key_len);
            printf("\t%c %s ", v->is_winner ? '*' : ' ', v->origin);
            if (v->deleted)
                fputs("del", stdout);
            else
                out_escaped(stdout, v->value, v->value_len);
            putchar('\n');
        }
    }
    mesh_item_version_list_free(vs);
    return MESH_OK;
}

int
cmd_conflicts(int argc, char **argv, cli_ctx_t *ctx)
{
    int npos, rc = cli_parse(ctx, s_usage, argc, argv, NULL, 1, 1, &npos);
    if (rc != CLI_CONTINUE)
        return rc;
    rc = CLI_OK;
    const char *coll = argv[1];
    char qcoll[OUT_QUOTE_LEN];
    out_quote(qcoll, sizeof qcoll, coll, strlen(coll));
    mesh_t *m = NULL;
    mesh_iter_t *it = NULL;
    out_json_t j;
    if (cli_open(ctx, &m) != CLI_OK)
        return CLI_FAIL;
    if (cli_need_coll(m, coll) != CLI_OK) {
        mesh_close(m);
        return CLI_FAIL;
    }
    mesh_err_t err = mesh_iter_open_ex(m, coll, NULL, 0, MESH_ITER_TOMBSTONES, &it);
    if (err != MESH_OK) {
        rc = cli_fail(m, err, "list the conflicts of '%s'", qcoll);
        goto out;
    }
    if (ctx->json) {
        out_json_init(&j, stdout);
        out_json_object_begin(&j, NULL);
        out_json_bytes(&j, "collection", coll, strlen(coll));
        out_json_array_begin(&j, "conflicts");
    }
    const uint8_t *key, *value;
    size_t key_len, value_len;
    bool conflict;
    while ((err = mesh_iter_next(it, &key, &key_len, &value, &value_len, &conflict)) == MESH_OK) {
        if (conflict && (err = s_key(m, ctx, &j, coll, key, key_len)) != MESH_OK)
            break;
    }
    if (err != MESH_ENOTFOUND) {
        rc = cli_fail(m, err, "list the conflicts of '%s'", qcoll);
        goto out;
    }
    if (ctx->json) {
        out_json_array_end(&j);
        out_json_object_end(&j);
        putchar('\n');
    }
out:
    mesh_iter_close(it);
    mesh_close(m);
    return rc;
}
