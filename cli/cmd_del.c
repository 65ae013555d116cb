/* cli/cmd_del.c: `meshctl del`: delete keys, in one change set.
 * Owns: only what del prints. Not here: tombstones and their syncing (the library).
 * Layer: cli. Third-party: none. SPDX-License-Identifier: MIT */
#include "cli.h"
#include "out.h"

#include <stdio.h>
#include <string.h>

static const char s_usage[] =
    "usage: meshctl del COLL KEY...\n"
    "\n"
    "Delete each KEY from the collection COLL, all in one signed change set. A deletion\n"
    "is a version of its own (a tombstone) and syncs like a write; deleting a key that\n"
    "does not exist records one too, and succeeds. Put '--' before a KEY that starts\n"
    "with '-'. An empty KEY is a usage error (exit status 2). On a terminal, del\n"
    "confirms with one line (not with --quiet or --json).\n"
    "\n"
    "--json prints {\"collection\", \"count\", \"seq\"}: the number of keys and the\n"
    "sequence number of the first deletion.\n";

int
cmd_del(int argc, char **argv, cli_ctx_t *ctx)
{
    int npos, rc = cli_parse(ctx, s_usage, argc, argv, NULL, 2, -1, &npos);
    if (rc != CLI_CONTINUE)
        return rc;
    const char *coll = argv[1];
    if (!coll[0])
        return cli_usage_error(s_usage, "del: COLL is empty (a collection name has 1 to %u bytes)",
                               MESH_COLL_MAX);
    for (int i = 2; i <= npos; i++) {
        if (!argv[i][0])
            return cli_usage_error(s_usage, "del: KEY %d is empty (a key has 1 to %u bytes)", i - 1,
                                   MESH_KEY_MAX);
    }
    char qcoll[OUT_QUOTE_LEN], qkey[OUT_QUOTE_LEN];
    out_quote(qcoll, sizeof qcoll, coll, strlen(coll));
    mesh_t *m = NULL;
    mesh_txn_t *txn = NULL;
    uint64_t seq = 0;
    if (cli_open(ctx, &m) != CLI_OK)
        return CLI_FAIL;
    mesh_err_t err = mesh_txn_begin(m, coll, &txn);
    if (err != MESH_OK) {
        rc = cli_fail(m, err, "delete from '%s'", qcoll);
        goto out;
    }
    for (int i = 2; i <= npos; i++) {
        err = mesh_del(txn, argv[i], strlen(argv[i]));
        if (err != MESH_OK) {
            out_quote(qkey, sizeof qkey, argv[i], strlen(argv[i]));
            rc = cli_fail(m, err, "delete '%s' from '%s'", qkey, qcoll);
            goto out;
        }
    }
    err = mesh_txn_commit(&txn, &seq);
    if (err != MESH_OK) {
        rc = cli_fail(m, err, "delete from '%s'", qcoll);
        goto out;
    }
    if (ctx->json) {
        out_json_t j;
        out_json_init(&j, stdout);
        out_json_object_begin(&j, NULL);
        out_json_bytes(&j, "collection", coll, strlen(coll));
        out_json_u64(&j, "count", (uint64_t)(npos - 1));
        out_json_u64(&j, "seq", seq);
        out_json_object_end(&j);
    }
    if (npos == 2) {
        cli_confirm(ctx, "deleted '%s' from '%s'",
                    out_quote(qkey, sizeof qkey, argv[2], strlen(argv[2])), qcoll);
    } else {
        cli_confirm(ctx, "deleted %d keys from '%s'", npos - 1, qcoll);
    }
    rc = CLI_OK;
out:
    mesh_txn_abort(txn);
    mesh_close(m);
    return rc;
}
