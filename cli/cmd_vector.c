/* cli/cmd_vector.c: `meshctl vector`: write this device's version vectors to a file, for
 * another device's `meshctl export --since`.
 * Owns: only the options of vector. Not here: the vector file's format (the library,
 * mesh_vector), writing the file (cli/file.c).
 * Layer: cli. Third-party: none. SPDX-License-Identifier: MIT */
#include "cli.h"

#include <stdio.h>

static const char s_usage[] =
    "usage: meshctl vector [COLL...] -o FILE\n"
    "\n"
    "Write this device's version vectors to FILE: for its membership records and each\n"
    "collection COLL (every collection when none is named), which versions of each\n"
    "writer it holds. Give FILE to 'meshctl export --since' on another device: its\n"
    "bundle then holds only what this device lacks. FILE is written whole or not at all.\n"
    "\n"
    "options:\n"
    "  -o, --output FILE  where to write the vectors; '-' is standard output (then\n"
    "                     nothing else is printed)\n"
    "\n"
    "Prints \"wrote N bytes to 'FILE'\"; --json prints {\"file\", \"bytes\"}.\n";

int
cmd_vector(int argc, char **argv, cli_ctx_t *ctx)
{
    const char *output = NULL;
    const cli_opt_t opts[] = {{"--output", 'o', &output, NULL}, {NULL, 0, NULL, NULL}};
    int npos, rc = cli_parse(ctx, s_usage, argc, argv, opts, 0, -1, &npos);
    if (rc != CLI_CONTINUE)
        return rc;
    if (!output || !output[0])
        return cli_usage_error(s_usage, "vector: say where to write the vectors with -o FILE");
    void *vec = NULL;
    size_t vec_len = 0;
    mesh_t *m = NULL;
    if (cli_open(ctx, &m) != CLI_OK)
        return CLI_FAIL;
    mesh_err_t err = mesh_vector(m, (const char *const *)argv + 1, (size_t)npos, &vec, &vec_len);
    if (err != MESH_OK) {
        rc = cli_fail(m, err, "vector");
    } else {
        rc = cli_write_output(ctx, "vector", output, vec, vec_len);
    }
    mesh_free(vec);
    mesh_close(m);
    return rc;
}
