/* cli/cmd_id.c: `meshctl id`: print this device's ID (and, with --json, its name).
 * Owns: only what id prints. Not here: the ID's text form (the library).
 * Layer: cli. Third-party: none. SPDX-License-Identifier: MIT */
#include "cli.h"
#include "out.h"

#include <stdio.h>

static const char s_usage[] =
    "usage: meshctl id\n"
    "\n"
    "Print this device's ID: 62 characters in dash-separated groups, with check\n"
    "characters, to be read aloud or pasted.\n"
    "\n"
    "--json prints {\"id\", \"name\"}.\n";

int
cmd_id(int argc, char **argv, cli_ctx_t *ctx)
{
    int npos, rc = cli_parse(ctx, s_usage, argc, argv, NULL, 0, 0, &npos);
    if (rc != CLI_CONTINUE)
        return rc;
    mesh_t *m = NULL;
    char id[MESH_ID_TEXT_LEN + 1];
    if (cli_open(ctx, &m) != CLI_OK)
        return CLI_FAIL;
    mesh_err_t err = mesh_device_id(m, id, sizeof id);
    if (err != MESH_OK) {
        rc = cli_fail(m, err, "read the device ID");
    } else if (ctx->json) {
        out_json_t j;
        out_json_init(&j, stdout);
        out_json_object_begin(&j, NULL);
        out_json_string(&j, "id", id);
        out_json_string(&j, "name", mesh_device_name(m));
        out_json_object_end(&j);
        rc = CLI_OK;
    } else {
        printf("%s\n", id);
        rc = CLI_OK;
    }
    mesh_close(m);
    return rc;
}
