/* cli/cmd_put.c: `meshctl put`: write one value, from the command line or stdin, or many
 * from a TSV file (--from-tsv).
 * Owns: reading a value from stdin (binary safe, capped at MESH_VALUE_MAX), the TSV format
 * and its split into change sets, and what put prints.
 * Not here: the limits themselves and the commit (the library).
 * Layer: cli. Third-party: none. SPDX-License-Identifier: MIT */
#include "cli.h"
#include "out.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char s_usage[] =
    "usage: meshctl put COLL KEY VALUE\n"
    "   or: meshctl put --from-tsv FILE COLL\n"
    "\n"
    "Write VALUE under KEY in the collection COLL, as one signed change set. A VALUE of\n"
    "'-' reads the value from standard input, byte for byte. Put '--' before a KEY or\n"
    "VALUE that starts with '-'. An empty VALUE ('') is a value, not a deletion; an\n"
    "empty KEY is a usage error (exit status 2). On a terminal, put confirms with one\n"
    "line (not with --quiet or --json).\n"
    "\n"
    "options:\n"
    "  --from-tsv FILE  write every line of FILE ('-': standard input) instead, each\n"
    "                   KEY, a tab, VALUE (the rest of the line, tabs included; no\n"
    "                   escapes), in change sets of up to 10000 lines and 16 MiB. The\n"
    "                   whole file is checked before anything is written; a later line\n"
    "                   with the same KEY wins.\n"
    "\n"
    "limits: COLL has 1 to 200 bytes of UTF-8, with no control characters (tab,\n"
    "newline, ESC, ...), and does not start with '_'; KEY has 1 to 1024 bytes; VALUE\n"
    "has at most 1048576 bytes (1 MiB).\n"
    "\n"
    "--json prints {\"collection\", \"key\", \"seq\"}: seq is the write's sequence number;\n"
    "with --from-tsv {\"collection\", \"count\", \"sets\", \"seq\"}: the lines written, the\n"
    "change sets, and the sequence number of the first write.\n";

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

/* One line of a TSV file: a key and a value, pointing into the file's bytes. */
typedef struct s_pair {
    const uint8_t *key, *value;
    size_t key_len, value_len;
} s_pair_t;

/* Split the TSV text buf[0..len) into pairs. MESH_OK: *out (malloc'd; caller frees) has
 * *count pairs, each within the limits. Otherwise detail says which line is wrong. */
static mesh_err_t
s_tsv_parse(const uint8_t *buf, size_t len, s_pair_t **out, size_t *count, char *detail,
            size_t detail_len)
{
    size_t lines = 0, n = 0;
    *out = NULL;
    *count = 0;
    for (size_t i = 0; i < len; i++) {
        lines += buf[i] == '\n';
    }
    lines += len > 0 && buf[len - 1] != '\n';
    s_pair_t *pairs = calloc(lines ? lines : 1, sizeof *pairs);
    if (!pairs)
        return MESH_ENOMEM;
    for (size_t pos = 0; pos < len; n++) {
        const uint8_t *line = buf + pos, *nl = memchr(line, '\n', len - pos);
        size_t line_len = nl ? (size_t)(nl - line) : len - pos;
        const uint8_t *tab = memchr(line, '\t', line_len);
        mesh_err_t err = MESH_OK;
        pos += line_len + (nl != NULL);
        if (!tab) {
            snprintf(detail, detail_len, "line %zu: no tab between a key and a value", n + 1);
            err = MESH_EINVAL;
        } else if (tab == line) {
            snprintf(detail, detail_len, "line %zu: empty key", n + 1);
            err = MESH_EINVAL;
        } else {
            pairs[n].key = line;
            pairs[n].key_len = (size_t)(tab - line);
            pairs[n].value = tab + 1;
            pairs[n].value_len = line_len - pairs[n].key_len - 1;
            if (pairs[n].key_len > MESH_KEY_MAX) {
                snprintf(detail, detail_len, "line %zu: key of %zu bytes (limit %u)", n + 1,
                         pairs[n].key_len, MESH_KEY_MAX);
                err = MESH_ETOOBIG;
            } else if (pairs[n].value_len > MESH_VALUE_MAX) {
                snprintf(detail, detail_len, "line %zu: value of %zu bytes (limit %u)", n + 1,
                         pairs[n].value_len, MESH_VALUE_MAX);
                err = MESH_ETOOBIG;
            }
        }
        if (err != MESH_OK) {
            free(pairs);
            return err;
        }
    }
    *out = pairs;
    *count = n;
    return MESH_OK;
}

/* Write the pairs into coll in change sets within MESH_TXN_OPS_MAX and MESH_TXN_BYTES_MAX.
 * *written counts the pairs committed, *sets the change sets, *first_seq the first seq. */
static mesh_err_t
s_tsv_write(mesh_t *m, const char *coll, const s_pair_t *pairs, size_t count, size_t *written,
            size_t *sets, uint64_t *first_seq)
{
    mesh_txn_t *txn = NULL;
    size_t in_txn = 0, bytes = 0;
    mesh_err_t err = MESH_OK;
    *written = *sets = 0;
    *first_seq = 0;
    if (count == 0) { /* nothing to write; still refuse a collection that cannot be written */
        err = mesh_txn_begin(m, coll, &txn);
        mesh_txn_abort(txn);
        return err;
    }
    for (size_t i = 0; i <= count && err == MESH_OK; i++) {
        size_t more = i < count ? pairs[i].key_len + pairs[i].value_len : 0;
        if (txn &&
            (i == count || in_txn == MESH_TXN_OPS_MAX || bytes + more > MESH_TXN_BYTES_MAX)) {
            uint64_t seq = 0;
            err = mesh_txn_commit(&txn, &seq);
            if (err != MESH_OK)
                break;
            *first_seq = *sets ? *first_seq : seq;
            *written += in_txn;
            (*sets)++;
            in_txn = bytes = 0;
        }
        if (i == count)
            break;
        if (!txn)
            err = mesh_txn_begin(m, coll, &txn);
        if (err == MESH_OK)
            err = mesh_put(txn, pairs[i].key, pairs[i].key_len, pairs[i].value, pairs[i].value_len);
        in_txn++;
        bytes += more;
    }
    mesh_txn_abort(txn);
    return err;
}

/* put --from-tsv FILE COLL. */
static int
s_put_tsv(cli_ctx_t *ctx, const char *path, const char *coll)
{
    char qcoll[OUT_QUOTE_LEN], qpath[OUT_QUOTE_LEN], detail[256];
    out_quote(qcoll, sizeof qcoll, coll, strlen(coll));
    out_quote(qpath, sizeof qpath, path, strlen(path));
    uint8_t *buf = NULL;
    size_t len = 0, count = 0, written = 0, sets = 0;
    s_pair_t *pairs = NULL;
    uint64_t seq = 0;
    mesh_t *m = NULL;
    int rc = CLI_FAIL;
    mesh_err_t err = cli_read_file(path, CLI_FILE_MAX, &buf, &len, detail, sizeof detail);
    if (err != MESH_OK)
        return cli_fail_detail(err, detail, "put: read '%s'", qpath);
    err = s_tsv_parse(buf, len, &pairs, &count, detail, sizeof detail);
    if (err != MESH_OK) {
        rc = cli_fail_detail(err, detail, "put: TSV file '%s'", qpath);
        goto out;
    }
    if (cli_open(ctx, &m) != CLI_OK)
        goto out;
    err = s_tsv_write(m, coll, pairs, count, &written, &sets, &seq);
    if (err != MESH_OK) {
        if (written)
            cli_say("put: %zu of %zu lines of '%s' were written before the failure", written, count,
                    qpath);
        rc = cli_fail(m, err, "put '%s' in '%s'", qpath, qcoll);
        goto out;
    }
    if (ctx->json) {
        out_json_t j;
        out_json_init(&j, stdout);
        out_json_object_begin(&j, NULL);
        out_json_bytes(&j, "collection", coll, strlen(coll));
        out_json_u64(&j, "count", written);
        out_json_u64(&j, "sets", sets);
        out_json_u64(&j, "seq", seq);
        out_json_object_end(&j);
    }
    cli_confirm(ctx, "wrote %zu %s in '%s' (%zu change %s)", written,
                cli_plural(written, "key", "keys"), qcoll, sets, cli_plural(sets, "set", "sets"));
    rc = CLI_OK;
out:
    mesh_close(m);
    free(pairs);
    free(buf);
    return rc;
}

int
cmd_put(int argc, char **argv, cli_ctx_t *ctx)
{
    const char *tsv = NULL;
    const cli_opt_t opts[] = {{"--from-tsv", 0, &tsv, NULL}, {NULL, 0, NULL, NULL}};
    int npos, rc = cli_parse(ctx, s_usage, argc, argv, opts, 1, 3, &npos);
    if (rc != CLI_CONTINUE)
        return rc;
    if (tsv && npos > 1)
        return cli_usage_error(s_usage, "put: too many arguments with --from-tsv");
    if (tsv)
        return s_put_tsv(ctx, tsv, argv[1]);
    if (npos < 3)
        return cli_usage_error(s_usage, "put: too few arguments");
    const char *coll = argv[1], *key = argv[2], *arg_value = argv[3];
    if (!coll[0])
        return cli_usage_error(s_usage, "put: COLL is empty (a collection name has 1 to %u bytes)",
                               MESH_COLL_MAX);
    if (!key[0])
        return cli_usage_error(s_usage, "put: KEY is empty (a key has 1 to %u bytes)",
                               MESH_KEY_MAX);
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
    cli_confirm(ctx, "wrote '%s' in '%s'", qkey, qcoll);
    rc = CLI_OK;
out:
    mesh_txn_abort(txn);
    free(stdin_value);
    mesh_close(m);
    return rc;
}
