/* cli/cmd_folder.c: `meshctl folder add`, `folder ls` and `folder rm`: the directories this
 * device syncs with the mesh (docs/PROTOCOL.md §18).
 * Owns: the subcommands of folder and what they print.
 * Not here: the registry, the scan and the transfers (the library; the daemon does the work).
 * Layer: cli. Third-party: none. SPDX-License-Identifier: MIT */
#include "cli.h"
#include "out.h"

#include <stdio.h>
#include <string.h>

static const char s_usage[] =
    "usage: meshctl folder add PATH [--id ID]\n"
    "   or: meshctl folder ls\n"
    "   or: meshctl folder rm ID\n"
    "\n"
    "folder add syncs the directory PATH as folder ID with the mesh: it writes the root\n"
    "marker PATH/.meshsync/folder-id and records the folder in this device's store; a\n"
    "running daemon picks it up within a second, scans it into the folder's index and\n"
    "brings the directory to what the other members publish. Without --id the folder gets\n"
    "the ID in PATH's marker if it has one, else a new random one; to join a folder another\n"
    "member shares (folder ls lists it as offered), give its ID. The ID is printed.\n"
    "\n"
    "folder ls lists this device's folders (ID, tab, PATH), then the folders other members\n"
    "offer that this device has not joined (ID, tab, \"(offered)\").\n"
    "\n"
    "folder rm stops syncing folder ID on this device. No file is deleted, here or\n"
    "elsewhere, and the marker stays.\n"
    "\n"
    "When a folder's root or marker is missing (an unmounted disk), the daemon stops that\n"
    "folder with an error in its log and status and sends nothing as deleted.\n"
    "\n"
    "options:\n"
    "  --id ID   (add) the folder's ID: 1 to 64 characters of A-Z a-z 0-9 . _ -\n"
    "\n"
    "--json prints, for add, {\"id\", \"path\"}; for rm, {\"id\", \"removed\": true}; for\n"
    "ls, {\"folders\": [{\"id\", \"path\" (null when offered), \"joined\"}]}.\n";

static int
s_add(int argc, char **argv, cli_ctx_t *ctx)
{
    const char *id = NULL;
    const cli_opt_t opts[] = {{"--id", 0, &id, NULL}, {NULL, 0, NULL, NULL}};
    int npos, rc = cli_parse(ctx, s_usage, argc, argv, opts, 1, 1, &npos);
    if (rc != CLI_CONTINUE)
        return rc;
    mesh_t *m = NULL;
    if (cli_open(ctx, &m) != CLI_OK)
        return CLI_FAIL;
    char got[80] = "";
    mesh_err_t err = mesh_folder_add(m, argv[1], id, got, sizeof got);
    if (err != MESH_OK) {
        rc = cli_fail(m, err, "folder add");
    } else {
        if (ctx->json) {
            out_json_t j;
            out_json_init(&j, stdout);
            out_json_object_begin(&j, NULL);
            out_json_string(&j, "id", got);
            out_json_bytes(&j, "path", argv[1], strlen(argv[1]));
            out_json_object_end(&j);
        } else {
            printf("%s\n", got);
        }
        rc = CLI_OK;
    }
    mesh_close(m);
    return rc;
}

static int
s_rm(int argc, char **argv, cli_ctx_t *ctx)
{
    int npos, rc = cli_parse(ctx, s_usage, argc, argv, NULL, 1, 1, &npos);
    if (rc != CLI_CONTINUE)
        return rc;
    mesh_t *m = NULL;
    if (cli_open(ctx, &m) != CLI_OK)
        return CLI_FAIL;
    mesh_err_t err = mesh_folder_rm(m, argv[1]);
    if (err != MESH_OK) {
        rc = cli_fail(m, err, "folder rm");
    } else {
        if (ctx->json) {
            out_json_t j;
            out_json_init(&j, stdout);
            out_json_object_begin(&j, NULL);
            out_json_string(&j, "id", argv[1]);
            out_json_bool(&j, "removed", true);
            out_json_object_end(&j);
        }
        cli_confirm(ctx, "folder %s is no longer synced here; no file was deleted", argv[1]);
        rc = CLI_OK;
    }
    mesh_close(m);
    return rc;
}

static int
s_ls(int argc, char **argv, cli_ctx_t *ctx)
{
    int npos, rc = cli_parse(ctx, s_usage, argc, argv, NULL, 0, 0, &npos);
    if (rc != CLI_CONTINUE)
        return rc;
    mesh_t *m = NULL;
    mesh_folder_list_t *list = NULL;
    if (cli_open(ctx, &m) != CLI_OK)
        return CLI_FAIL;
    mesh_err_t err = mesh_folder_ls(m, &list);
    if (err != MESH_OK) {
        rc = cli_fail(m, err, "folder ls");
        mesh_close(m);
        return rc;
    }
    out_json_t j;
    out_json_init(&j, stdout);
    if (ctx->json) {
        out_json_object_begin(&j, NULL);
        out_json_array_begin(&j, "folders");
    }
    for (size_t i = 0; i < mesh_folder_list_count(list); i++) {
        const mesh_folder_t *f = mesh_folder_list_get(list, i);
        if (ctx->json) {
            out_json_object_begin(&j, NULL);
            out_json_string(&j, "id", f->id);
            if (f->path) {
                out_json_bytes(&j, "path", f->path, strlen(f->path));
            }
            out_json_bool(&j, "joined", f->joined);
            out_json_object_end(&j);
        } else {
            fputs(f->id, stdout);
            fputc('\t', stdout);
            if (f->path) {
                out_escaped(stdout, f->path, strlen(f->path));
            } else {
                fputs("(offered)", stdout);
            }
            fputc('\n', stdout);
        }
    }
    if (ctx->json) {
        out_json_array_end(&j);
        out_json_object_end(&j);
    }
    mesh_folder_list_free(list);
    mesh_close(m);
    return CLI_OK;
}

int
cmd_folder(int argc, char **argv, cli_ctx_t *ctx)
{
    static char s_add_name[] = "folder add", s_ls_name[] = "folder ls", s_rm_name[] = "folder rm";
    const cli_sub_t subs[] = {
        {"add", s_add_name, s_add}, {"ls", s_ls_name, s_ls}, {"rm", s_rm_name, s_rm}};
    return cli_subcommand(ctx, argc, argv, s_usage, "folder", subs, sizeof subs / sizeof subs[0]);
}
