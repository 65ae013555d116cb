/* cli/cmd_export.c: `meshctl export`: write a bundle of what this device holds.
 * Owns: the options of export (collections, --since, -o) and reading the vector file.
 * Not here: what a bundle holds (the library, mesh_export), writing the file (cli/file.c).
 * Layer: cli. Third-party: none. SPDX-License-Identifier: MIT */
#include "cli.h"
#include "out.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char s_usage[] =
    "usage: meshctl export [COLL...] [--since VECTOR_FILE] -o FILE\n"
    "\n"
    "Write a bundle to FILE: this device's membership records first, then the\n"
    "collections COLL (every collection when none is named; a COLL this device does not\n"
    "hold is an error, 'no such collection'): the live versions and\n"
    "tombstones it holds, whoever wrote them, with the signed set headers and Merkle\n"
    "proofs that prove them; never a superseded value. 'meshctl import' on any device\n"
    "applies it, and a bundle may be relayed: each set verifies against its writer's key.\n"
    "FILE is written whole or not at all (mode 0600).\n"
    "\n"
    "options:\n"
    "  -o, --output FILE     where to write the bundle; '-' is standard output (then\n"
    "                        nothing else is printed)\n"
    "  --since VECTOR_FILE   write only what the vector in VECTOR_FILE does not cover;\n"
    "                        make it with 'meshctl vector' on the receiving device\n"
    "\n"
    "Prints \"wrote N bytes to 'FILE'\"; --json prints {\"file\", \"bytes\"}.\n";

int
cmd_export(int argc, char **argv, cli_ctx_t *ctx)
{
    const char *output = NULL, *since_path = NULL;
    const cli_opt_t opts[] = {
        {"--output", 'o', &output, NULL}, {"--since", 0, &since_path, NULL}, {NULL, 0, NULL, NULL}};
    int npos, rc = cli_parse(ctx, s_usage, argc, argv, opts, 0, -1, &npos);
    if (rc != CLI_CONTINUE)
        return rc;
    if (!output || !output[0])
        return cli_usage_error(s_usage, "export: say where to write the bundle with -o FILE");
    if (since_path && !since_path[0])
        return cli_usage_error(s_usage, "export: --since needs a file name");
    char qsince[OUT_QUOTE_LEN], detail[256];
    uint8_t *since = NULL;
    size_t since_len = 0;
    void *bundle = NULL;
    size_t bundle_len = 0;
    mesh_t *m = NULL;
    if (since_path) {
        out_quote(qsince, sizeof qsince, since_path, strlen(since_path));
        mesh_err_t err =
            cli_read_file(since_path, CLI_FILE_MAX, &since, &since_len, detail, sizeof detail);
        if (err != MESH_OK)
            return cli_fail_detail(err, detail, "export: read '%s'", qsince);
    }
    if (cli_open(ctx, &m) != CLI_OK) {
        free(since);
        return CLI_FAIL;
    }
    for (int i = 1; i <= npos; i++) {
        if (cli_need_coll(m, argv[i]) != CLI_OK) {
            free(since);
            mesh_close(m);
            return CLI_FAIL;
        }
    }
    mesh_err_t err = mesh_export(m, (const char *const *)argv + 1, (size_t)npos, since, since_len,
                                 &bundle, &bundle_len);
    if (err == MESH_EPROTO && since_path) {
        rc = cli_fail(m, err, "export: the vector file '%s'", qsince);
    } else if (err != MESH_OK) {
        rc = cli_fail(m, err, "export");
    } else {
        rc = cli_write_output(ctx, "export", output, bundle, bundle_len);
    }
    mesh_free(bundle);
    free(since);
    mesh_close(m);
    return rc;
}
