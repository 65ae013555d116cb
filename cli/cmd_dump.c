/* cli/cmd_dump.c: `meshctl dump`: every version of every key of a collection, in a
 * canonical text, and the collection's digest; equal stores give equal dumps.
 * Owns: the dump format. Not here: versions, order and digest (the library).
 * Layer: cli. Third-party: none. SPDX-License-Identifier: MIT */
#include "cli.h"
#include "out.h"

#include <stdio.h>
#include <string.h>

static const char s_usage[] =
    "usage: meshctl dump COLL\n"
    "\n"
    "Print every version of every key of the collection COLL, deletions included, to\n"
    "compare devices: devices that hold the same versions print the same text. Keys come\n"
    "in byte order, and the versions of a key the winner first, then by dot; one line\n"
    "each, fields separated by tabs:\n"
    "  KEY  ORIGIN-ID:INCARNATION:SEQ  put  VALUE\n"
    "  KEY  ORIGIN-ID:INCARNATION:SEQ  del\n"
    "with KEY and VALUE escaped and INCARNATION in 16 hex digits. The last line is\n"
    "  digest HEX keys N\n"
    "the collection's digest and the number of keys it holds versions for.\n"
    "\n"
    "--json prints {\"collection\", \"items\": [{\"key\", \"versions\": [{\"origin\",\n"
    "\"incarnation\", \"seq\", \"hlc\", \"time\", \"deleted\", \"winner\", \"value\"}]}],\n"
    "\"digest\", \"keys\"}.\n";

static void
s_print_key(const cli_ctx_t *ctx, out_json_t *j, const uint8_t *key, size_t key_len,
            const mesh_item_version_list_t *list)
{
    size_t count = mesh_item_version_list_count(list);
    if (ctx->json) {
        out_json_object_begin(j, NULL);
        out_json_bytes(j, "key", key, key_len);
        out_json_array_begin(j, "versions");
        for (size_t i = 0; i < count; i++) {
            out_json_version(j, NULL, mesh_item_version_list_get(list, i));
        }
        out_json_array_end(j);
        out_json_object_end(j);
        return;
    }
    for (size_t i = 0; i < count; i++) {
        const mesh_item_version_t *v = mesh_item_version_list_get(list, i);
        out_escaped(stdout, key, key_len);
        printf("\t%s:%016llx:%llu\t%s", v->origin, (unsigned long long)v->incarnation,
               (unsigned long long)v->seq, v->deleted ? "del" : "put");
        if (!v->deleted) {
            putchar('\t');
            out_escaped(stdout, v->value, v->value_len);
        }
        putchar('\n');
    }
}

/* Print every key's versions. MESH_OK, or the failing call's code. */
static mesh_err_t
s_dump_keys(const cli_ctx_t *ctx, out_json_t *j, mesh_t *m, const char *coll)
{
    mesh_iter_t *it = NULL;
    mesh_err_t err = mesh_iter_open_ex(m, coll, "", 0, MESH_ITER_TOMBSTONES, &it);
    const uint8_t *key, *value;
    size_t key_len, value_len;
    while (err == MESH_OK &&
           (err = mesh_iter_next(it, &key, &key_len, &value, &value_len, NULL)) == MESH_OK) {
        mesh_item_version_list_t *versions = NULL;
        err = mesh_get_versions(m, coll, key, key_len, &versions);
        if (err == MESH_OK)
            s_print_key(ctx, j, key, key_len, versions);
        mesh_item_version_list_free(versions);
    }
    mesh_iter_close(it);
    return err == MESH_ENOTFOUND ? MESH_OK : err;
}

int
cmd_dump(int argc, char **argv, cli_ctx_t *ctx)
{
    int npos, rc = cli_parse(ctx, s_usage, argc, argv, NULL, 1, 1, &npos);
    if (rc != CLI_CONTINUE)
        return rc;
    const char *coll = argv[1];
    char qcoll[OUT_QUOTE_LEN], digest[65];
    out_quote(qcoll, sizeof qcoll, coll, strlen(coll));
    mesh_t *m = NULL;
    uint64_t keys = 0;
    out_json_t j;
    out_json_init(&j, stdout);
    if (cli_open(ctx, &m) != CLI_OK)
        return CLI_FAIL;
    if (ctx->json) {
        out_json_object_begin(&j, NULL);
        out_json_bytes(&j, "collection", coll, strlen(coll));
        out_json_array_begin(&j, "items");
    }
    mesh_err_t err = s_dump_keys(ctx, &j, m, coll);
    if (err == MESH_OK)
        err = mesh_digest(m, coll, digest, sizeof digest, &keys);
    if (err != MESH_OK) {
        if (ctx->json) /* end the half document's line so the error stands apart */
            putchar('\n');
        rc = cli_fail(m, err, "dump '%s'", qcoll);
    } else if (ctx->json) {
        out_json_array_end(&j);
        out_json_string(&j, "digest", digest);
        out_json_u64(&j, "keys", keys);
        out_json_object_end(&j);
        rc = CLI_OK;
    } else {
        printf("digest %s keys %llu\n", digest, (unsigned long long)keys);
        rc = CLI_OK;
    }
    mesh_close(m);
    return rc;
}
