/* cli/cmd_held.c: `meshctl held`: the sets held back because their signer is not (yet) a
 * member, one line per signer, with the caps and what they dropped.
 * Owns: only what held prints. Not here: the list, its caps and its release (the library).
 * Layer: cli. Third-party: none. SPDX-License-Identifier: MIT */
#include "cli.h"
#include "out.h"

#include <stdint.h>
#include <stdio.h>

static const char s_usage[] =
    "usage: meshctl held\n"
    "\n"
    "List the change sets held back: signed by a device that is not (yet) a member of this\n"
    "device's mesh, kept aside and applied once it becomes one ('meshctl peer add ID', or\n"
    "an add record that arrives). One line per signer, the oldest first, fields separated\n"
    "by tabs:\n"
    "  ORIGIN-ID  SETS sets  BYTES bytes  first FIRST  last LAST\n"
    "FIRST and LAST say when its oldest and newest held sets came (ISO-8601 UTC). A last\n"
    "line gives the totals, the caps (per device and in all) and how many sets the caps\n"
    "dropped, the oldest first; nothing a member signed is ever dropped.\n"
    "\n"
    "--json prints {\"sets\", \"bytes\", \"dropped_sets\", \"dropped_bytes\", \"caps\":\n"
    "{\"origin_sets\", \"origin_bytes\", \"sets\", \"bytes\"}, \"origins\": [{\"origin\", "
    "\"sets\",\n"
    "\"bytes\", \"first_seen\", \"last_seen\"}]}, times in milliseconds since 1970.\n";

static void
s_print_json(const mesh_held_summary_t *s, const mesh_held_list_t *list)
{
    out_json_t j;
    out_json_init(&j, stdout);
    out_json_object_begin(&j, NULL);
    out_json_u64(&j, "sets", s->sets);
    out_json_u64(&j, "bytes", s->bytes);
    out_json_u64(&j, "dropped_sets", s->dropped_sets);
    out_json_u64(&j, "dropped_bytes", s->dropped_bytes);
    out_json_object_begin(&j, "caps");
    out_json_u64(&j, "origin_sets", s->cap_origin_sets);
    out_json_u64(&j, "origin_bytes", s->cap_origin_bytes);
    out_json_u64(&j, "sets", s->cap_sets);
    out_json_u64(&j, "bytes", s->cap_bytes);
    out_json_object_end(&j);
    out_json_array_begin(&j, "origins");
    for (size_t i = 0; i < mesh_held_list_count(list); i++) {
        const mesh_held_info_t *h = mesh_held_list_get(list, i);
        out_json_object_begin(&j, NULL);
        out_json_string(&j, "origin", h->origin);
        out_json_u64(&j, "sets", h->sets);
        out_json_u64(&j, "bytes", h->bytes);
        out_json_i64(&j, "first_seen", h->first_seen_ms);
        out_json_i64(&j, "last_seen", h->last_seen_ms);
        out_json_object_end(&j);
    }
    out_json_array_end(&j);
    out_json_object_end(&j);
}

static void
s_print_text(const mesh_held_summary_t *s, const mesh_held_list_t *list)
{
    char first[OUT_TIME_LEN], last[OUT_TIME_LEN];
    for (size_t i = 0; i < mesh_held_list_count(list); i++) {
        const mesh_held_info_t *h = mesh_held_list_get(list, i);
        /* out_hlc_time takes an HLC: the wall time in ms above 16 bits of counter */
        out_hlc_time((uint64_t)h->first_seen_ms << 16, first, sizeof first);
        out_hlc_time((uint64_t)h->last_seen_ms << 16, last, sizeof last);
        printf("%s\t%llu %s\t%llu bytes\tfirst %s\tlast %s\n", h->origin,
               (unsigned long long)h->sets, h->sets == 1 ? "set" : "sets",
               (unsigned long long)h->bytes, first, last);
    }
    printf("held back: %llu %s, %llu bytes, from %llu %s (caps: %llu sets and %llu bytes per "
           "device, %llu sets and %llu bytes in all); dropped so far: %llu %s, %llu bytes\n",
           (unsigned long long)s->sets, s->sets == 1 ? "set" : "sets", (unsigned long long)s->bytes,
           (unsigned long long)s->origins, s->origins == 1 ? "device" : "devices",
           (unsigned long long)s->cap_origin_sets, (unsigned long long)s->cap_origin_bytes,
           (unsigned long long)s->cap_sets, (unsigned long long)s->cap_bytes,
           (unsigned long long)s->dropped_sets, s->dropped_sets == 1 ? "set" : "sets",
           (unsigned long long)s->dropped_bytes);
}

int
cmd_held(int argc, char **argv, cli_ctx_t *ctx)
{
    int npos, rc = cli_parse(ctx, s_usage, argc, argv, NULL, 0, 0, &npos);
    if (rc != CLI_CONTINUE)
        return rc;
    mesh_t *m = NULL;
    mesh_held_list_t *list = NULL;
    mesh_held_summary_t sum = {.size = sizeof sum};
    if (cli_open(ctx, &m) != CLI_OK)
        return CLI_FAIL;
    mesh_err_t err = mesh_held(m, &list);
    if (err == MESH_OK)
        err = mesh_held_summary(m, &sum);
    if (err != MESH_OK) {
        rc = cli_fail(m, err, "list the held-back sets");
    } else {
        if (ctx->json)
            s_print_json(&sum, list);
        else
            s_print_text(&sum, list);
        rc = CLI_OK;
    }
    mesh_held_list_free(list);
    mesh_close(m);
    return rc;
}
