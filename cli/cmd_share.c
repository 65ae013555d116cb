/* cli/cmd_share.c: `meshctl share`, `meshctl unshare` and `meshctl members`: who may hold
 * a collection (its access list), and the members of the mesh.
 * Owns: only what these commands take and print. Not here: access records, their rule and
 * signing (the library: mesh_share, mesh_unshare, mesh_members).
 * Layer: cli. Third-party: none. SPDX-License-Identifier: MIT */
#include "cli.h"
#include "out.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char s_share_usage[] =
    "usage: meshctl share COLL ID...\n"
    "\n"
    "Share the collection COLL with the members ID (in one signed change set). A collection\n"
    "is every member's until it is first shared: from then on only the devices its access\n"
    "list holds receive it, relay it, or have their changes to it accepted; the device that\n"
    "first shares it is in the list. Only a device in the list shares or unshares it. The\n"
    "records sync like data, membership first. Each ID must be a member (meshctl peer add).\n"
    "On a terminal, share confirms with one line (not with --quiet or --json).\n"
    "\n"
    "--json prints {\"coll\", \"shared\": [ID]}.\n";

static const char s_unshare_usage[] =
    "usage: meshctl unshare COLL ID\n"
    "\n"
    "Take the device ID out of the access list of COLL: it keeps what it holds, but is sent\n"
    "nothing new of COLL from the moment a device holds the record (open sessions included),\n"
    "and its changes to COLL are refused. COLL must have been shared first (meshctl share).\n"
    "A device may unshare itself. On a terminal, unshare confirms with one line.\n"
    "\n"
    "--json prints {\"coll\", \"unshared\": ID}.\n";

static const char s_members_usage[] =
    "usage: meshctl members [COLL]\n"
    "\n"
    "List who may hold COLL in this device's view, one device ID a line: the members its\n"
    "access list holds, or every member when it has none (on a terminal, a line says so). Without\n"
    "COLL, list the members of the mesh.\n"
    "\n"
    "--json prints {\"coll\" (\"\" without COLL), \"restricted\", \"members\": [ID]}.\n";

int
cmd_share(int argc, char **argv, cli_ctx_t *ctx)
{
    int npos, rc = cli_parse(ctx, s_share_usage, argc, argv, NULL, 2, -1, &npos);
    if (rc != CLI_CONTINUE)
        return rc;
    mesh_t *m = NULL;
    if (cli_open(ctx, &m) != CLI_OK)
        return CLI_FAIL;
    const char *coll = argv[1];
    const char *const *ids = (const char *const *)argv + 2;
    size_t n = (size_t)npos - 1;
    mesh_err_t err = mesh_share(m, coll, ids, n);
    if (err != MESH_OK) {
        rc = cli_fail(m, err, "share '%s'", coll);
    } else if (ctx->json) {
        out_json_t j;
        out_json_init(&j, stdout);
        out_json_object_begin(&j, NULL);
        out_json_string(&j, "coll", coll);
        out_json_array_begin(&j, "shared");
        for (size_t i = 0; i < n; i++)
            out_json_string(&j, NULL, ids[i]);
        out_json_array_end(&j);
        out_json_object_end(&j);
        rc = CLI_OK;
    } else {
        cli_confirm(ctx, "shared '%s' with %zu %s", coll, n, cli_plural(n, "device", "devices"));
        rc = CLI_OK;
    }
    mesh_close(m);
    return rc;
}

int
cmd_unshare(int argc, char **argv, cli_ctx_t *ctx)
{
    int npos, rc = cli_parse(ctx, s_unshare_usage, argc, argv, NULL, 2, 2, &npos);
    if (rc != CLI_CONTINUE)
        return rc;
    mesh_t *m = NULL;
    if (cli_open(ctx, &m) != CLI_OK)
        return CLI_FAIL;
    mesh_err_t err = mesh_unshare(m, argv[1], argv[2]);
    if (err != MESH_OK) {
        rc = cli_fail(m, err, "unshare '%s'", argv[1]);
    } else if (ctx->json) {
        out_json_t j;
        out_json_init(&j, stdout);
        out_json_object_begin(&j, NULL);
        out_json_string(&j, "coll", argv[1]);
        out_json_string(&j, "unshared", argv[2]);
        out_json_object_end(&j);
        rc = CLI_OK;
    } else {
        cli_confirm(ctx, "unshared '%s' from %s", argv[1], argv[2]);
        rc = CLI_OK;
    }
    mesh_close(m);
    return rc;
}

int
cmd_members(int argc, char **argv, cli_ctx_t *ctx)
{
    int npos, rc = cli_parse(ctx, s_members_usage, argc, argv, NULL, 0, 1, &npos);
    if (rc != CLI_CONTINUE)
        return rc;
    const char *coll = npos ? argv[1] : NULL;
    mesh_t *m = NULL;
    mesh_member_list_t *list = NULL;
    if (cli_open(ctx, &m) != CLI_OK)
        return CLI_FAIL;
    mesh_err_t err = mesh_members(m, coll, &list);
    if (err != MESH_OK) {
        rc = cli_fail(m, err, "list the members");
    } else if (ctx->json) {
        out_json_t j;
        out_json_init(&j, stdout);
        out_json_object_begin(&j, NULL);
        out_json_string(&j, "coll", coll ? coll : "");
        out_json_bool(&j, "restricted", mesh_member_list_restricted(list));
        out_json_array_begin(&j, "members");
        for (size_t i = 0; i < mesh_member_list_count(list); i++)
            out_json_string(&j, NULL, mesh_member_list_get(list, i));
        out_json_array_end(&j);
        out_json_object_end(&j);
        rc = CLI_OK;
    } else {
        for (size_t i = 0; i < mesh_member_list_count(list); i++)
            printf("%s\n", mesh_member_list_get(list, i));
        if (coll && !mesh_member_list_restricted(list))
            cli_confirm(ctx, "'%s' has no access list: every member may hold it", coll);
        rc = CLI_OK;
    }
    mesh_member_list_free(list);
    mesh_close(m);
    return rc;
}
