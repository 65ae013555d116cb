/* cli/cmd_log.c: `meshctl log`: list a collection's change sets, newest first.
 * Owns: only what log prints. Not here: the sets' order and contents (the library), device
 * labels (cli/names.h).
 * Layer: cli. Third-party: none. SPDX-License-Identifier: MIT */
#include "cli.h"
#include "names.h"
#include "out.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

static const char s_usage[] =
    "usage: meshctl log [-n N] COLL\n"
    "\n"
    "List the change sets of the collection COLL that this device holds, newest first,\n"
    "one line each:\n"
    "  ORIGIN inc=INCARNATION seq=FIRST..LAST ops=COUNT hlc=TIME\n"
    "ORIGIN is the writer's name when it is a member with a name no other member has,\n"
    "followed by the start of its ID in parentheses when another has it too, the start of\n"
    "its ID alone for a member without a name, and its whole ID for a device that is not\n"
    "a member. INCARNATION is 16 hex digits, and TIME the set's clock in ISO-8601 UTC.\n"
    "\n"
    "options:\n"
    "  -n N  list at most N sets\n"
    "\n"
    "--json prints {\"collection\", \"sets\": [{\"origin\", \"origin_name\",\n"
    "\"incarnation\", \"first_seq\", \"last_seq\", \"count\", \"hlc\", \"time\", \"root\"}]};\n"
    "root is the Merkle root of the set's ops in hex; origin_name is \"\" for a writer\n"
    "without a name or not a member.\n";

static void
s_print(const cli_ctx_t *ctx, const names_t *names, const char *coll, const mesh_set_list_t *sets)
{
    char label[NAMES_LABEL_LEN];
    size_t count = mesh_set_list_count(sets);
    char time_text[OUT_TIME_LEN], root[65];
    out_json_t j;
    out_json_init(&j, stdout);
    if (ctx->json) {
        out_json_object_begin(&j, NULL);
        out_json_bytes(&j, "collection", coll, strlen(coll));
        out_json_array_begin(&j, "sets");
    }
    for (size_t i = 0; i < count; i++) {
        const mesh_set_info_t *s = mesh_set_list_get(sets, i);
        uint64_t last = s->first_seq + (s->count ? s->count - 1 : 0);
        out_hlc_time(s->hlc, time_text, sizeof time_text);
        if (!ctx->json) {
            names_print(stdout, names_label(names, s->origin, label, sizeof label));
            printf(" inc=%016llx seq=%llu..%llu ops=%lu hlc=%s\n",
                   (unsigned long long)s->incarnation, (unsigned long long)s->first_seq,
                   (unsigned long long)last, (unsigned long)s->count, time_text);
            continue;
        }
        for (size_t k = 0; k < sizeof s->root; k++) {
            snprintf(root + 2 * k, 3, "%02x", s->root[k]);
        }
        out_json_object_begin(&j, NULL);
        out_json_string(&j, "origin", s->origin);
        out_json_string(&j, "origin_name", names_name(names, s->origin));
        out_json_hex64(&j, "incarnation", s->incarnation);
        out_json_u64(&j, "first_seq", s->first_seq);
        out_json_u64(&j, "last_seq", last);
        out_json_u64(&j, "count", s->count);
        out_json_hex64(&j, "hlc", s->hlc);
        out_json_string(&j, "time", time_text);
        out_json_string(&j, "root", root);
        out_json_object_end(&j);
    }
    if (ctx->json) {
        out_json_array_end(&j);
        out_json_object_end(&j);
    }
}

int
cmd_log(int argc, char **argv, cli_ctx_t *ctx)
{
    const char *max_text = NULL;
    const cli_opt_t opts[] = {{"-n", 'n', &max_text, NULL}, {NULL, 0, NULL, NULL}};
    int npos, rc = cli_parse(ctx, s_usage, argc, argv, opts, 1, 1, &npos);
    if (rc != CLI_CONTINUE)
        return rc;
    uint64_t max = 0;
    if (max_text && !cli_parse_u64(max_text, 1, SIZE_MAX, &max))
        return cli_usage_error(s_usage, "log: -n needs a whole number from 1, not '%s'", max_text);
    const char *coll = argv[1];
    char qcoll[OUT_QUOTE_LEN];
    out_quote(qcoll, sizeof qcoll, coll, strlen(coll));
    mesh_t *m = NULL;
    mesh_set_list_t *sets = NULL;
    if (cli_open(ctx, &m) != CLI_OK)
        return CLI_FAIL;
    if (cli_need_coll(m, coll) != CLI_OK) {
        mesh_close(m);
        return CLI_FAIL;
    }
    names_t *names = NULL;
    mesh_err_t err = mesh_log(m, coll, (size_t)max, &sets);
    if (err == MESH_OK)
        err = names_load(m, &names);
    if (err != MESH_OK) {
        rc = cli_fail(m, err, "list the change sets of '%s'", qcoll);
    } else {
        s_print(ctx, names, coll, sets);
        rc = CLI_OK;
    }
    names_free(names);
    mesh_set_list_free(sets);
    mesh_close(m);
    return rc;
}
