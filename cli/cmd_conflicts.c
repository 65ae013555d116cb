/* cli/cmd_conflicts.c: `meshctl conflicts`: the keys of a collection that have siblings, or
 * (without a collection) the file conflict copies in the folders this device syncs.
 * Owns: only what conflicts prints. Not here: how siblings arise or which one wins (the
 * library, docs/PROTOCOL.md §5.4), how copies are named (§19.3).
 * Layer: cli. Third-party: none. SPDX-License-Identifier: MIT */
#include "cli.h"
#include "out.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

static const char s_usage[] =
    "usage: meshctl conflicts [COLL]\n"
    "\n"
    "List the keys of the collection COLL that have siblings: versions written\n"
    "concurrently on different devices, none of which saw the others. One line per\n"
    "sibling: the key, a tab, '*' for the version every device shows (the winner) or a\n"
    "space, the writer's device ID, and the value (or 'del'), escaped. A new put or del\n"
    "of the key on any device that holds them all resolves the conflict. A COLL this\n"
    "device does not hold is an error (exit status 1): 'no such collection'.\n"
    "\n"
    "--json prints {\"collection\", \"conflicts\": [{\"key\", \"versions\": [VERSION]}]}, each\n"
    "VERSION as 'meshctl get --all --json' prints it.\n"
    "\n"
    "Without COLL, list the file conflicts of the folders this device syncs (meshctl folder):\n"
    "each conflict copy present in them (NAME.sync-conflict-YYYYMMDD-HHMMSS-DEVICE.EXT, the\n"
    "losing side of concurrent edits of NAME.EXT). One line per copy: the folder ID, the path\n"
    "in conflict, the losing device (the first 7 characters of its ID), the time of its edit\n"
    "(UTC) and the copy's path, separated by tabs (paths escaped). Deleting or renaming the copy\n"
    "resolves it. A folder whose root is away is skipped. --json prints {\"files\": [{\"folder\",\n"
    "\"path\", \"device\", \"time\", \"when\" (unix s), \"copy\"}]}.\n";

/* The file conflicts of every folder (conflicts without COLL). */
static int
s_files(mesh_t *m, const cli_ctx_t *ctx)
{
    mesh_folder_conflict_list_t *list = NULL;
    mesh_err_t err = mesh_folder_conflicts(m, NULL, &list);
    if (err != MESH_OK)
        return cli_fail(m, err, "list the file conflicts");
    out_json_t j;
    out_json_init(&j, stdout);
    if (ctx->json) {
        out_json_object_begin(&j, NULL);
        out_json_array_begin(&j, "files");
    }
    for (size_t i = 0; i < mesh_folder_conflict_list_count(list); i++) {
        const mesh_folder_conflict_t *c = mesh_folder_conflict_list_get(list, i);
        char when[32];
        struct tm tm;
        time_t t = (time_t)c->when;
        if (!gmtime_r(&t, &tm) || strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
            snprintf(when, sizeof when, "@%lld", (long long)c->when);
        if (ctx->json) {
            out_json_object_begin(&j, NULL);
            out_json_string(&j, "folder", c->folder);
            out_json_bytes(&j, "path", c->original, strlen(c->original));
            out_json_string(&j, "device", c->device);
            out_json_string(&j, "time", when);
            out_json_i64(&j, "when", c->when);
            out_json_bytes(&j, "copy", c->path, strlen(c->path));
            out_json_object_end(&j);
        } else {
            printf("%s\t", c->folder);
            out_escaped(stdout, c->original, strlen(c->original));
            printf("\t%s\t%s\t", c->device, when);
            out_escaped(stdout, c->path, strlen(c->path));
            putchar('\n');
        }
    }
    if (ctx->json) {
        out_json_array_end(&j);
        out_json_object_end(&j);
        putchar('\n');
    }
    mesh_folder_conflict_list_free(list);
    return CLI_OK;
}

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
    int npos, rc = cli_parse(ctx, s_usage, argc, argv, NULL, 0, 1, &npos);
    if (rc != CLI_CONTINUE)
        return rc;
    if (npos == 0) {
        mesh_t *fm = NULL;
        if (cli_open(ctx, &fm) != CLI_OK)
            return CLI_FAIL;
        rc = s_files(fm, ctx);
        mesh_close(fm);
        return rc;
    }
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
