/* cli/cmd_peer.c: `meshctl peer add`, `peer rm` and `peer ls`: the members of the mesh.
 * Owns: the subcommands of peer, checking a name and addresses before they go into a
 * record, and what peer ls prints.
 * Not here: membership records, their signing and who is a member (the library).
 * Layer: cli. Third-party: none. SPDX-License-Identifier: MIT */
#include "cli.h"
#include "out.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_PEER_NAME_MAX 64  /* bytes of a name (mesh_peer_add takes 64 at most) */
#define S_ADDR_MAX      255 /* bytes of one address */

static const char s_usage[] =
    "usage: meshctl peer add [--name NAME] ID [ADDR...]\n"
    "   or: meshctl peer rm ID\n"
    "   or: meshctl peer ls\n"
    "\n"
    "peer add writes a signed record that adds the device ID to the mesh, with its\n"
    "addresses ADDR (e.g. tcp://host:7400) and a NAME for it. The record syncs like any\n"
    "data (export and import carry it, membership first), and trust is transitive: every\n"
    "device that trusts this one then accepts the added device's change sets. Adding a\n"
    "device again updates its name and addresses. ID may be in lower case, without\n"
    "dashes, and with blanks around it (as pasted); a malformed ID fails (exit status 1)\n"
    "with what is wrong: a character outside the alphabet, the length, or which groups\n"
    "fail their check character. Change sets signed by ID that were held back (meshctl\n"
    "held) are applied at once, and a line says how many. On a terminal, add confirms\n"
    "with one line (not with --quiet or --json).\n"
    "\n"
    "peer rm writes a signed record that removes the device ID from the whole mesh, for\n"
    "good: it cannot be added again. Every member that learns of it refuses ID's key,\n"
    "sends it nothing more, and publishes the highest seqs it had taken from it; ID's\n"
    "changes above the highest published are held back, then dropped everywhere. Any\n"
    "member may remove any device, itself included.\n"
    "\n"
    "peer ls lists the members in this device's view, itself included, one line each,\n"
    "then the removed devices, fields separated by tabs:\n"
    "  ID  NAME  ADDR ADDR...  [(this device)] [(removed)]\n"
    "NAME and ADDR are escaped; the name a device gave itself wins over one it was given.\n"
    "\n"
    "options:\n"
    "  --name NAME  (add) a name for the device: 1 to 64 bytes, no control characters\n"
    "\n"
    "limits: an ADDR has 1 to 255 bytes and no blanks or control characters.\n"
    "\n"
    "--json prints, for add, {\"id\", \"name\", \"addrs\": [ADDR], \"held_released\",\n"
    "\"held_left\"}; for rm, {\"id\", \"removed\": true}; for ls, {\"peers\":\n"
    "[{\"id\", \"name\", \"addrs\": [ADDR], \"self\", \"removed\"}]}.\n";

/* Does s have a control character (or, with no_blank, a space)? */
static bool
s_has_bad_char(const char *s, bool no_blank)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p < 0x20 || *p == 0x7f || (no_blank && *p == ' '))
            return true;
    }
    return false;
}

/* The canonical text of a valid ID (upper case, a dash every 6 characters) into out. */
static void
s_canonical_id(const char *id, char out[MESH_ID_TEXT_LEN + 1])
{
    size_t n = 0, sym = 0;
    for (const char *p = id; *p && n < MESH_ID_TEXT_LEN; p++) {
        if (*p == '-')
            continue;
        if (sym && sym % 6 == 0)
            out[n++] = '-';
        out[n++] = (char)toupper((unsigned char)*p);
        sym++;
    }
    out[n] = '\0';
}

/* The sets and bytes held back from the device id (canonical text); 0 when none, or when
 * the list cannot be read (the add then says nothing of them). */
static void
s_held_of(mesh_t *m, const char *id, uint64_t *sets, uint64_t *bytes)
{
    mesh_held_list_t *list = NULL;
    *sets = *bytes = 0;
    if (mesh_held(m, &list) != MESH_OK)
        return;
    for (size_t i = 0; i < mesh_held_list_count(list); i++) {
        const mesh_held_info_t *h = mesh_held_list_get(list, i);
        if (strcmp(h->origin, id) == 0) {
            *sets = h->sets;
            *bytes = h->bytes;
        }
    }
    mesh_held_list_free(list);
}

/* The ID in text without the blanks around it (a pasted ID often has a space or a newline
 * at an end), in out (out_len bytes; longer is cut, and then fails to parse). */
static const char *
s_trim_id(const char *text, char *out, size_t out_len)
{
    while (*text == ' ' || *text == '\t' || *text == '\n' || *text == '\r')
        text++;
    size_t len = strlen(text);
    while (len > 0 && (text[len - 1] == ' ' || text[len - 1] == '\t' || text[len - 1] == '\n' ||
                       text[len - 1] == '\r'))
        len--;
    len = len < out_len - 1 ? len : out_len - 1;
    memcpy(out, text, len);
    out[len] = '\0';
    return out;
}

/* Write count addresses as the JSON array "addrs". */
static void
s_json_addrs(out_json_t *j, const char *const *addrs, size_t count)
{
    out_json_array_begin(j, "addrs");
    for (size_t i = 0; i < count; i++) {
        out_json_string(j, NULL, addrs[i]);
    }
    out_json_array_end(j);
}

static int
s_add(int argc, char **argv, cli_ctx_t *ctx)
{
    const char *name = NULL;
    const cli_opt_t opts[] = {{"--name", 0, &name, NULL}, {NULL, 0, NULL, NULL}};
    int npos, rc = cli_parse(ctx, s_usage, argc, argv, opts, 1, -1, &npos);
    if (rc != CLI_CONTINUE)
        return rc;
    if (name && (!name[0] || strlen(name) > S_PEER_NAME_MAX || s_has_bad_char(name, false)))
        return cli_usage_error(s_usage,
                               "peer add: a name has 1 to %d bytes and no control characters",
                               S_PEER_NAME_MAX);
    char id_buf[2 * MESH_ID_TEXT_LEN];
    const char *id = s_trim_id(argv[1], id_buf, sizeof id_buf);
    const char *const *addrs = (const char *const *)argv + 2;
    size_t naddrs = (size_t)npos - 1;
    char qid[OUT_QUOTE_LEN], qaddr[OUT_QUOTE_LEN], canon[MESH_ID_TEXT_LEN + 1];
    out_quote(qid, sizeof qid, id, strlen(id));
    for (size_t i = 0; i < naddrs; i++) {
        if (!addrs[i][0] || strlen(addrs[i]) > S_ADDR_MAX || s_has_bad_char(addrs[i], true)) {
            out_quote(qaddr, sizeof qaddr, addrs[i], strlen(addrs[i]));
            return cli_usage_error(s_usage,
                                   "peer add: address '%s': 1 to %d bytes, no blanks or "
                                   "control characters",
                                   qaddr, S_ADDR_MAX);
        }
    }
    mesh_t *m = NULL;
    if (cli_open(ctx, &m) != CLI_OK)
        return CLI_FAIL;
    /* What was held back from it, before and after: mesh_peer_add applies it. */
    uint64_t held = 0, held_bytes = 0, left = 0, left_bytes = 0;
    s_canonical_id(id, canon);
    s_held_of(m, canon, &held, &held_bytes);
    mesh_err_t err = mesh_peer_add(m, id, name, addrs, naddrs);
    if (err == MESH_EBADID) {
        rc = cli_fail(m, err, "peer add"); /* the detail names the ID, and what is wrong */
        goto out;
    }
    if (err != MESH_OK) {
        rc = cli_fail(m, err, "peer add '%s'", qid);
        goto out;
    }
    s_held_of(m, canon, &left, &left_bytes);
    uint64_t released = held > left ? held - left : 0;
    if (ctx->json) {
        out_json_t j;
        out_json_init(&j, stdout);
        out_json_object_begin(&j, NULL);
        out_json_string(&j, "id", canon);
        out_json_string(&j, "name", name ? name : "");
        s_json_addrs(&j, addrs, naddrs);
        out_json_u64(&j, "held_released", released);
        out_json_u64(&j, "held_left", left);
        out_json_object_end(&j);
    } else if (held) {
        printf("applied %llu of the %llu %s held back from %s (%llu bytes)%s\n",
               (unsigned long long)released, (unsigned long long)held, held == 1 ? "set" : "sets",
               canon, (unsigned long long)(held_bytes - left_bytes),
               left ? "; the rest is still held: see 'meshctl held'" : "");
    }
    s_canonical_id(id, canon);
    char qname[OUT_QUOTE_LEN];
    cli_confirm(ctx,
                "added %s%s%s%s to the mesh; it syncs with this device once it adds this "
                "device too",
                canon, name ? " ('" : "",
                name ? out_quote(qname, sizeof qname, name, strlen(name)) : "", name ? "')" : "");
    rc = CLI_OK;
out:
    mesh_close(m);
    return rc;
}

static int
s_rm(int argc, char **argv, cli_ctx_t *ctx)
{
    int npos, rc = cli_parse(ctx, s_usage, argc, argv, NULL, 1, 1, &npos);
    if (rc != CLI_CONTINUE)
        return rc;
    char id_buf[2 * MESH_ID_TEXT_LEN], canon[MESH_ID_TEXT_LEN + 1];
    const char *id = s_trim_id(argv[1], id_buf, sizeof id_buf);
    mesh_t *m = NULL;
    if (cli_open(ctx, &m) != CLI_OK)
        return CLI_FAIL;
    mesh_err_t err = mesh_peer_remove(m, id);
    if (err != MESH_OK) {
        rc = cli_fail(m, err, "peer rm"); /* a bad ID: the detail names it, and what is wrong */
    } else {
        s_canonical_id(id, canon);
        if (ctx->json) {
            out_json_t j;
            out_json_init(&j, stdout);
            out_json_object_begin(&j, NULL);
            out_json_string(&j, "id", canon);
            out_json_bool(&j, "removed", true);
            out_json_object_end(&j);
        }
        cli_confirm(ctx, "removed %s from the mesh, for good; its key is refused", canon);
        rc = CLI_OK;
    }
    mesh_close(m);
    return rc;
}

static void
s_print_peers(const cli_ctx_t *ctx, const mesh_peer_list_t *peers)
{
    out_json_t j;
    out_json_init(&j, stdout);
    if (ctx->json) {
        out_json_object_begin(&j, NULL);
        out_json_array_begin(&j, "peers");
    }
    for (size_t i = 0; i < mesh_peer_list_count(peers); i++) {
        const mesh_peer_t *p = mesh_peer_list_get(peers, i);
        if (ctx->json) {
            out_json_object_begin(&j, NULL);
            out_json_string(&j, "id", p->id);
            out_json_string(&j, "name", p->name);
            s_json_addrs(&j, p->addrs, p->addr_count);
            out_json_bool(&j, "self", p->self);
            out_json_bool(&j, "removed", p->removed);
            out_json_object_end(&j);
            continue;
        }
        printf("%s\t", p->id);
        out_escaped(stdout, p->name, strlen(p->name));
        putchar('\t');
        for (size_t a = 0; a < p->addr_count; a++) {
            if (a)
                putchar(' ');
            out_escaped(stdout, p->addrs[a], strlen(p->addrs[a])); /* a peer's text */
        }
        printf("%s%s\n", p->self ? "\t(this device)" : "", p->removed ? "\t(removed)" : "");
    }
    if (ctx->json) {
        out_json_array_end(&j);
        out_json_object_end(&j);
    }
}

static int
s_ls(int argc, char **argv, cli_ctx_t *ctx)
{
    int npos, rc = cli_parse(ctx, s_usage, argc, argv, NULL, 0, 0, &npos);
    if (rc != CLI_CONTINUE)
        return rc;
    mesh_t *m = NULL;
    mesh_peer_list_t *peers = NULL;
    if (cli_open(ctx, &m) != CLI_OK)
        return CLI_FAIL;
    mesh_err_t err = mesh_peers(m, &peers);
    if (err != MESH_OK) {
        rc = cli_fail(m, err, "list the peers");
    } else {
        s_print_peers(ctx, peers);
        rc = CLI_OK;
    }
    mesh_peer_list_free(peers);
    mesh_close(m);
    return rc;
}

int
cmd_peer(int argc, char **argv, cli_ctx_t *ctx)
{
    static char s_add_name[] = "peer add", s_ls_name[] = "peer ls", s_rm_name[] = "peer rm";
    const cli_sub_t subs[] = {
        {"add", s_add_name, s_add}, {"rm", s_rm_name, s_rm}, {"ls", s_ls_name, s_ls}};
    return cli_subcommand(ctx, argc, argv, s_usage, "peer", subs, sizeof subs / sizeof subs[0]);
}
