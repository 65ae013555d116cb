/* cli/cmd_put.c: `meshctl put`: write one value, from the command line or stdin.
 * Owns: reading a value from stdin (binary safe, capped at MESH_VALUE_MAX), and what put
 * prints. Not here: the limits themselves and the commit (the library).
 * Layer: cli. Third-party: none. SPDX-License-Identifier: MIT */
#include "cli.h"
#include "out.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char s_usage[] =
    "usage: meshctl put COLL KEY VALUE\n"
    "\n"
    "Write VALUE under KEY in the collection COLL, as one signed change set. A VALUE of\n"
    "'-' reads the value from standard input, byte for byte. Put '--' before a KEY or\n"
    "VALUE that starts with '-'. An empty VALUE ('') is a value, not a deletion.\n"
    "\n"
    "limits: COLL has 1 to 200 bytes and does not start with '_'; KEY has 1 to 1024\n"
    "bytes; VALUE has at most 1048576 bytes (1 MiB).\n"
    "\n"
    "--json prints {\"collection\", \"key\", \"seq\"}: seq is the write's sequence number.\n";

#define S_READ_START 65536u /* first buffer for stdin; it doubles up to the cap */

/* Read all of stdin. MESH_OK: *out is malloc'd (caller frees), *len its length.
 * MESH_ETOOBIG past MESH_VALUE_MAX bytes (reading stops there), MESH_EIO, MESH_ENOMEM;
 * on error *out is NULL and *len 0. */
static mesh_err_t
s_read_stdin(uint8_t **out, size_t *len)
{
    const size_t limit = (size_t)MESH_VALUE_MAX + 1; /* one byte more tells "too big" */
    uint8_t *buf = NULL;
    size_t cap = 0, used = 0;
    mesh_err_t err = MESH_OK;
    *out = NULL;
    *len = 0;
    for (;;) {
        if (used == cap) {
            if (cap == limit) {
                err = MESH_ETOOBIG;
                break;
            }
            size_t next = cap ? cap * 2 : S_READ_START;
            next = next < limit ? next : limit;
            uint8_t *bigger = realloc(buf, next);
            if (!bigger) {
                err = MESH_ENOMEM;
                break;
            }
            buf = bigger;
            cap = next;
        }
        size_t want = cap - used, got = fread(buf + used, 1, want, stdin);
        used += got;
        if (got < want) {
            err = ferror(stdin) ? MESH_EIO : MESH_OK;
            break;
        }
    }
    if (err != MESH_OK) {
        free(buf);
        return err;
    }
    *out = buf;
    *len = used;
    return MESH_OK;
}

static void
s_print_json(const char *coll, const char *key, uint64_t seq)
{
    out_json_t j;
    out_json_init(&j, stdout);
    out_json_object_begin(&j, NULL);
    out_json_bytes(&j, "collection", coll, strlen(coll));
    out_json_bytes(&j, "key", key, strlen(key));
    out_json_u64(&j, "seq", seq);
    out_json_object_end(&j);
}

int
cmd_put(int argc, char **argv, cli_ctx_t *ctx)
{
    int npos, rc = cli_parse(ctx, s_usage, argc, argv, NULL, 3, 3, &npos);
    if (rc != CLI_CONTINUE)
        return rc;
    const char *coll = argv[1], *key = argv[2], *arg_value = argv[3];
    char qcoll[OUT_QUOTE_LEN], qkey[OUT_QUOTE_LEN];
    out_quote(qcoll, sizeof qcoll, coll, strlen(coll));
    out_quote(qkey, sizeof qkey, key, strlen(key));
    mesh_t *m = NULL;
    mesh_txn_t *txn = NULL;
    uint8_t *stdin_value = NULL;
    const void *value = arg_value;
    size_t value_len = strlen(arg_value);
    uint64_t seq = 0;
    if (cli_open(ctx, &m) != CLI_OK)
        return CLI_FAIL;
    mesh_err_t err = MESH_OK;
    if (strcmp(arg_value, "-") == 0) {
        err = s_read_stdin(&stdin_value, &value_len);
        if (err != MESH_OK) {
            rc = cli_fail_detail(
                err, err == MESH_ETOOBIG ? "value on stdin over 1048576 bytes" : "reading stdin",
                "put '%s' in '%s'", qkey, qcoll);
            goto out;
        }
        value = stdin_value;
    }
    err = mesh_txn_begin(m, coll, &txn);
    if (err == MESH_OK)
        err = mesh_put(txn, key, strlen(key), value, value_len);
    if (err == MESH_OK)
        err = mesh_txn_commit(&txn, &seq);
    if (err != MESH_OK) {
        rc = cli_fail(m, err, "put '%s' in '%s'", qkey, qcoll);
        goto out;
    }
    if (ctx->json)
        s_print_json(coll, key, seq);
    rc = CLI_OK;
out:
    mesh_txn_abort(txn);
    free(stdin_value);
    mesh_close(m);
    return rc;
}
