/* cli/cmd_init.c: `meshctl init`: create this device's identity and store.
 * Owns: making the home's missing parent directories, renaming a device that exists
 * (--name), and what init prints.
 * Not here: the home's layout and the key pair (the library, through mesh_open).
 * Layer: cli. Third-party: none. SPDX-License-Identifier: MIT */
#include "cli.h"
#include "out.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#define S_NAME_MAX 64 /* bytes of a device name (mesh_rename takes 64 at most) */

static const char s_usage[] =
    "usage: meshctl init [--name NAME]\n"
    "\n"
    "Create this device's identity (an Ed25519 key pair) and its store in the home, and\n"
    "print the new device ID. If the home already holds a device, say so and print its ID\n"
    "(exit status 0); with --name, rename it (its members see the new name once they sync).\n"
    "\n"
    "options:\n"
    "  --name NAME  the device's name: 1 to 64 bytes, no control characters (default at\n"
    "               creation: 'name' in the config file, else the host name)\n"
    "\n"
    "--json prints {\"id\", \"name\", \"home\", \"created\", \"renamed\"}.\n";

/* Make the missing parent directories of the home (mode 0700), as mkdir -p does; the
 * library makes the home itself. Returns CLI_OK, or CLI_FAIL after printing why. */
static int
s_make_parents(const cli_ctx_t *ctx)
{
    char path[CLI_PATH_MAX];
    snprintf(path, sizeof path, "%s", ctx->home);
    char *last = strrchr(path, '/');
    for (char *p = path + 1; last && p <= last; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(path, 0700) != 0 && errno != EEXIST) {
            int e = errno;
            return cli_fail_detail(e == ENOSPC ? MESH_ENOSPC : MESH_EIO, strerror(e),
                                   "create directory '%s'", path);
        }
        *p = '/';
    }
    return CLI_OK;
}

static void
s_print(const cli_ctx_t *ctx, mesh_t *m, const char *id, bool created, bool renamed)
{
    if (ctx->json) {
        out_json_t j;
        out_json_init(&j, stdout);
        out_json_object_begin(&j, NULL);
        out_json_string(&j, "id", id);
        out_json_string(&j, "name", mesh_device_name(m));
        out_json_string(&j, "home", ctx->home);
        out_json_bool(&j, "created", created);
        out_json_bool(&j, "renamed", renamed);
        out_json_object_end(&j);
        return;
    }
    if (!created && !renamed)
        cli_say("'%s' is already initialised", ctx->home);
    printf("%s\n", id);
}

int
cmd_init(int argc, char **argv, cli_ctx_t *ctx)
{
    const char *name = NULL;
    const cli_opt_t opts[] = {{"--name", 0, &name, NULL}, {NULL, 0, NULL, NULL}};
    int npos, rc = cli_parse(ctx, s_usage, argc, argv, opts, 0, 0, &npos);
    if (rc != CLI_CONTINUE)
        return rc;
    if (name) {
        size_t len = strlen(name);
        bool control = false;
        for (size_t i = 0; i < len; i++)
            control |= (unsigned char)name[i] < 0x20 || name[i] == 0x7f;
        if (len == 0 || len > S_NAME_MAX || control)
            return cli_usage_error(s_usage, "init: a name has 1 to %d bytes, no control characters",
                                   S_NAME_MAX);
        memcpy(ctx->name, name, len + 1);
    }
    mesh_t *m = NULL;
    char id[MESH_ID_TEXT_LEN + 1];
    bool created = false;
    mesh_err_t err = cli_open_ex(ctx, false, true, &m);
    if (err == MESH_ENOTINIT) {
        if (s_make_parents(ctx) != CLI_OK)
            return CLI_FAIL;
        err = cli_open_ex(ctx, true, false, &m);
        created = true;
    }
    if (err != MESH_OK)
        return cli_open_fail(ctx, err);
    err = mesh_device_id(m, id, sizeof id);
    if (err != MESH_OK) {
        rc = cli_fail(m, err, "read the device ID");
        goto out;
    }
    bool renamed = !created && name && strcmp(name, mesh_device_name(m)) != 0;
    if (renamed) {
        char was[OUT_QUOTE_LEN], now[OUT_QUOTE_LEN];
        out_quote(was, sizeof was, mesh_device_name(m), strlen(mesh_device_name(m)));
        out_quote(now, sizeof now, name, strlen(name));
        err = mesh_rename(m, name);
        if (err != MESH_OK) {
            rc = cli_fail(m, err, "rename '%s' to '%s'", was, now);
            goto out;
        }
        cli_say("renamed '%s' to '%s'", was, now);
    }
    s_print(ctx, m, id, created, renamed);
    rc = CLI_OK;
out:
    mesh_close(m);
    return rc;
}
