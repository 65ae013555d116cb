/* cli/cmd_folder.c: `meshctl folder add`, `ls`, `rm`, `wait`, `set`, `versions` and
 * `restore`: the directories this device syncs with the mesh (docs/PROTOCOL.md §18, §19, §24).
 * Owns: the subcommands of folder and what they print.
 * Not here: the registry, the scan and the transfers (the library; the daemon does the work).
 * Layer: cli. Third-party: none. SPDX-License-Identifier: MIT */
#include "cli.h"
#include "out.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define S_WITH_MAX 64 /* folder add --with: devices named */

static const char s_usage[] =
    "usage: meshctl folder add PATH [--id ID] [--versions DAYS] [--with DEVICE...]\n"
    "   or: meshctl folder ls\n"
    "   or: meshctl folder rm ID\n"
    "   or: meshctl folder wait ID [--timeout S] [--peers N]\n"
    "   or: meshctl folder set ID --versions DAYS\n"
    "   or: meshctl folder versions ID PATH\n"
    "   or: meshctl folder restore ID PATH [--at TIME]\n"
    "\n"
    "folder add syncs the directory PATH as folder ID with the mesh: it writes the root\n"
    "marker PATH/.meshsync/folder-id and records the folder in this device's store; a\n"
    "running daemon picks it up within a second, scans it into the folder's index and\n"
    "brings the directory to what the other members publish. Without --id the folder gets\n"
    "the ID in PATH's marker if it has one, else a new random one; to join a folder another\n"
    "member shares (folder ls lists it as offered), give its ID. The ID is printed.\n"
    "With --with, the folder is shared with the named members only (device IDs; every word\n"
    "after --with up to the next option, so put PATH first): its index collection gets an\n"
    "access list (meshctl share) before the folder is recorded, and a member not named is\n"
    "sent neither its index nor its blocks.\n"
    "\n"
    "A file a member's change replaces or deletes is first kept in PATH/.meshsync/versions/\n"
    "for DAYS days (--versions; else 'versions' in HOME/config; else 30), 0: none kept.\n"
    "folder set changes it for a folder. folder versions lists the versions of PATH (a path\n"
    "inside the folder) kept on this device, newest first: the time it was replaced (UTC), a\n"
    "tab, its size in bytes. folder restore brings back the newest version, or with --at the\n"
    "newest kept at or before TIME (2026-12-05T08:15:00Z, 20261205-081500 as in version\n"
    "names, or @UNIX-SECONDS); the file there now, if any, is kept as a version first, so\n"
    "nothing is lost, and the restored file syncs to the other members as a local change\n"
    "(a running daemon sees it at once; else the next daemon start).\n"
    "\n"
    "folder ls lists this device's folders (ID, tab, PATH), then the folders other members\n"
    "offer that this device has not joined (ID, tab, \"(offered)\").\n"
    "\n"
    "folder rm stops syncing folder ID on this device. No file is deleted, here or\n"
    "elsewhere, and the marker stays.\n"
    "\n"
    "folder wait returns once folder ID is in sync with every connected member: its index\n"
    "collection in sync (as 'meshctl wait folder:ID', with at least N peers connected,\n"
    "default 1) and the daemon has brought the disk to it (scanned, no file waiting for\n"
    "blocks, nothing left to write or delete). Exit 0 then; 1 at once when the folder is\n"
    "stopped (its root or marker missing) or no daemon runs, and at the timeout (default\n"
    "30 s) with what is left: files and bytes still needed, the index not in sync with the\n"
    "members, or the folder not synced by the daemon.\n"
    "\n"
    "When a folder's root or marker is missing (an unmounted disk), the daemon stops that\n"
    "folder with an error in its log and status and sends nothing as deleted.\n"
    "\n"
    "options:\n"
    "  --id ID         (add) the folder's ID: 1 to 64 characters of A-Z a-z 0-9 . _ -\n"
    "  --with DEVICE...(add) share it with these members only\n"
    "  --versions DAYS (add, set) keep replaced files DAYS days, 0 to 36500 (0: none)\n"
    "  --at TIME       (restore) the newest version at or before TIME\n"
    "  -t, --timeout S (wait) give up after S seconds (default 30)\n"
    "  -p, --peers N   (wait) also wait until at least N peers are connected (default 1)\n"
    "\n"
    "--json prints, for add, {\"id\", \"path\"}; for rm, {\"id\", \"removed\": true}; for\n"
    "ls, {\"folders\": [{\"id\", \"path\" (null when offered), \"joined\"}]}; for versions,\n"
    "{\"id\", \"path\", \"versions\": [{\"time\", \"when\" (unix s), \"size\", \"name\"}]}; for\n"
    "restore, {\"id\", \"path\", \"restored\": TIME, \"when\"}; for set, {\"id\", \"versions\"}.\n";

/* DAYS of --versions or the config's 'versions' as mesh_folder_add_options_t wants it:
 * false when it is not 0 to 36500. */
static bool
s_parse_days(const char *text, uint32_t *days)
{
    uint64_t d = 0;
    if (!cli_parse_u64(text, 0, 36500, &d))
        return false;
    *days = d == 0 ? MESH_FOLDER_VERSIONS_OFF : (uint32_t)d;
    return true;
}

/* Take "--with DEVICE..." out of argv (every word after it up to the next one starting with
 * '-'), into with[0..*n). False: more than S_WITH_MAX, or --with naming none. */
static bool
s_take_with(int *argc, char **argv, const char **with, size_t *n)
{
    int out = 1;
    *n = 0;
    for (int i = 1; i < *argc; i++) {
        if (strcmp(argv[i], "--with") != 0) {
            argv[out++] = argv[i];
            continue;
        }
        size_t before = *n;
        while (i + 1 < *argc && argv[i + 1][0] != '-') {
            if (*n == S_WITH_MAX)
                return false;
            with[(*n)++] = argv[++i];
        }
        if (*n == before)
            return false;
    }
    *argc = out;
    argv[out] = NULL;
    return true;
}

/* A time as TIME above into unix seconds; false when it is none of the forms. */
static bool
s_parse_time(const char *text, int64_t *out)
{
    struct tm tm = {0};
    char z = 0, sep = 0, extra = 0;
    uint64_t secs;
    if (text[0] == '@')
        return cli_parse_u64(text + 1, 0, INT64_MAX, &secs) && (*out = (int64_t)secs, true);
    int got = sscanf(text, "%4d-%2d-%2d%c%2d:%2d:%2d%c%c", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                     &sep, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &z, &extra);
    bool iso = (got == 7 || (got == 8 && z == 'Z')) && (sep == 'T' || sep == ' ');
    if (!iso) {
        memset(&tm, 0, sizeof tm);
        got = sscanf(text, "%4d%2d%2d-%2d%2d%2d%c", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                     &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &extra);
        if (got != 6 || strlen(text) != 15)
            return false;
    }
    if (tm.tm_year < 1970 || tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 || tm.tm_mday > 31 ||
        tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60)
        return false;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    *out = (int64_t)timegm(&tm);
    return true;
}

/* when (unix seconds) as 2026-12-05T08:15:00Z into out (21 bytes). */
static void
s_format_time(int64_t when, char *out, size_t out_len)
{
    struct tm tm;
    time_t t = (time_t)when;
    if (!gmtime_r(&t, &tm) || strftime(out, out_len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(out, out_len, "@%lld", (long long)when);
}

static int
s_add(int argc, char **argv, cli_ctx_t *ctx)
{
    const char *id = NULL, *versions = NULL, *with[S_WITH_MAX];
    size_t nwith = 0;
    const cli_opt_t opts[] = {
        {"--id", 0, &id, NULL}, {"--versions", 0, &versions, NULL}, {NULL, 0, NULL, NULL}};
    if (!s_take_with(&argc, argv, with, &nwith))
        return cli_usage_error(s_usage, "folder add: --with takes 1 to %d device IDs", S_WITH_MAX);
    int npos, rc = cli_parse(ctx, s_usage, argc, argv, opts, 1, 1, &npos);
    if (rc != CLI_CONTINUE)
        return rc;
    mesh_folder_add_options_t o = {
        .size = sizeof o, .id = id, .with = nwith ? with : NULL, .with_count = nwith};
    if (versions && !s_parse_days(versions, &o.versions_days))
        return cli_usage_error(s_usage, "folder add: --versions takes days, 0 to 36500");
    if (!versions && ctx->folder_versions && !s_parse_days(ctx->folder_versions, &o.versions_days))
        return cli_usage_error(s_usage,
                               "folder add: 'versions' in %s/config takes days, 0 to "
                               "36500",
                               ctx->home);
    mesh_t *m = NULL;
    if (cli_open(ctx, &m) != CLI_OK)
        return CLI_FAIL;
    char got[80] = "";
    mesh_err_t err = mesh_folder_add_ex(m, argv[1], &o, got, sizeof got);
    if (err != MESH_OK) {
        rc = cli_fail(m, err, "folder add");
    } else {
        if (ctx->json) {
            out_json_t j;
            out_json_init(&j, stdout);
            out_json_object_begin(&j, NULL);
            out_json_string(&j, "id", got);
            out_json_bytes(&j, "path", argv[1], strlen(argv[1]));
            out_json_object_end(&j);
        } else {
            printf("%s\n", got);
        }
        rc = CLI_OK;
    }
    mesh_close(m);
    return rc;
}

static int
s_set(int argc, char **argv, cli_ctx_t *ctx)
{
    const char *versions = NULL;
    const cli_opt_t opts[] = {{"--versions", 0, &versions, NULL}, {NULL, 0, NULL, NULL}};
    int npos, rc = cli_parse(ctx, s_usage, argc, argv, opts, 1, 1, &npos);
    if (rc != CLI_CONTINUE)
        return rc;
    uint32_t days = 0;
    if (!versions || !s_parse_days(versions, &days))
        return cli_usage_error(s_usage, "folder set: say --versions DAYS, 0 to 36500");
    mesh_t *m = NULL;
    if (cli_open(ctx, &m) != CLI_OK)
        return CLI_FAIL;
    mesh_err_t err = mesh_folder_set_versions(m, argv[1], days);
    if (err != MESH_OK) {
        rc = cli_fail(m, err, "folder set");
    } else {
        unsigned shown = days == MESH_FOLDER_VERSIONS_OFF ? 0 : days;
        if (ctx->json) {
            out_json_t j;
            out_json_init(&j, stdout);
            out_json_object_begin(&j, NULL);
            out_json_string(&j, "id", argv[1]);
            out_json_u64(&j, "versions", shown);
            out_json_object_end(&j);
        }
        cli_confirm(ctx, "folder %s keeps replaced files %u days%s", argv[1], shown,
                    shown ? "" : " (none kept)");
        rc = CLI_OK;
    }
    mesh_close(m);
    return rc;
}

static int
s_versions(int argc, char **argv, cli_ctx_t *ctx)
{
    int npos, rc = cli_parse(ctx, s_usage, argc, argv, NULL, 2, 2, &npos);
    if (rc != CLI_CONTINUE)
        return rc;
    mesh_t *m = NULL;
    mesh_folder_version_list_t *list = NULL;
    if (cli_open(ctx, &m) != CLI_OK)
        return CLI_FAIL;
    mesh_err_t err = mesh_folder_versions(m, argv[1], argv[2], &list);
    if (err != MESH_OK) {
        rc = cli_fail(m, err, "folder versions");
        mesh_close(m);
        return rc;
    }
    out_json_t j;
    out_json_init(&j, stdout);
    if (ctx->json) {
        out_json_object_begin(&j, NULL);
        out_json_string(&j, "id", argv[1]);
        out_json_bytes(&j, "path", argv[2], strlen(argv[2]));
        out_json_array_begin(&j, "versions");
    }
    for (size_t i = 0; i < mesh_folder_version_list_count(list); i++) {
        const mesh_folder_version_t *v = mesh_folder_version_list_get(list, i);
        char when[32];
        s_format_time(v->when, when, sizeof when);
        if (ctx->json) {
            out_json_object_begin(&j, NULL);
            out_json_string(&j, "time", when);
            out_json_i64(&j, "when", v->when);
            out_json_u64(&j, "size", v->bytes);
            out_json_bytes(&j, "name", v->name, strlen(v->name));
            out_json_object_end(&j);
        } else {
            printf("%s\t%llu\n", when, (unsigned long long)v->bytes);
        }
    }
    if (ctx->json) {
        out_json_array_end(&j);
        out_json_object_end(&j);
    } else if (mesh_folder_version_list_count(list) == 0) {
        cli_confirm(ctx, "no version of this path is kept here");
    }
    mesh_folder_version_list_free(list);
    mesh_close(m);
    return CLI_OK;
}

static int
s_restore(int argc, char **argv, cli_ctx_t *ctx)
{
    const char *at_s = NULL;
    const cli_opt_t opts[] = {{"--at", 0, &at_s, NULL}, {NULL, 0, NULL, NULL}};
    int npos, rc = cli_parse(ctx, s_usage, argc, argv, opts, 2, 2, &npos);
    if (rc != CLI_CONTINUE)
        return rc;
    int64_t at = INT64_MAX, got = 0;
    if (at_s && !s_parse_time(at_s, &at))
        return cli_usage_error(s_usage, "folder restore: --at takes 2026-12-05T08:15:00Z, "
                                        "20261205-081500 or @UNIX-SECONDS (UTC)");
    mesh_t *m = NULL;
    if (cli_open(ctx, &m) != CLI_OK)
        return CLI_FAIL;
    mesh_err_t err = mesh_folder_restore(m, argv[1], argv[2], at, &got);
    if (err != MESH_OK) {
        rc = cli_fail(m, err, "folder restore");
    } else {
        char when[32];
        s_format_time(got, when, sizeof when);
        if (ctx->json) {
            out_json_t j;
            out_json_init(&j, stdout);
            out_json_object_begin(&j, NULL);
            out_json_string(&j, "id", argv[1]);
            out_json_bytes(&j, "path", argv[2], strlen(argv[2]));
            out_json_string(&j, "restored", when);
            out_json_i64(&j, "when", got);
            out_json_object_end(&j);
        }
        cli_confirm(ctx,
                    "restored the version of %s; the file that was there, if any, is kept "
                    "as a version",
                    when);
        rc = CLI_OK;
    }
    mesh_close(m);
    return rc;
}

static int
s_rm(int argc, char **argv, cli_ctx_t *ctx)
{
    int npos, rc = cli_parse(ctx, s_usage, argc, argv, NULL, 1, 1, &npos);
    if (rc != CLI_CONTINUE)
        return rc;
    mesh_t *m = NULL;
    if (cli_open(ctx, &m) != CLI_OK)
        return CLI_FAIL;
    mesh_err_t err = mesh_folder_rm(m, argv[1]);
    if (err != MESH_OK) {
        rc = cli_fail(m, err, "folder rm");
    } else {
        if (ctx->json) {
            out_json_t j;
            out_json_init(&j, stdout);
            out_json_object_begin(&j, NULL);
            out_json_string(&j, "id", argv[1]);
            out_json_bool(&j, "removed", true);
            out_json_object_end(&j);
        }
        cli_confirm(ctx, "folder %s is no longer synced here; no file was deleted", argv[1]);
        rc = CLI_OK;
    }
    mesh_close(m);
    return rc;
}

static int
s_ls(int argc, char **argv, cli_ctx_t *ctx)
{
    int npos, rc = cli_parse(ctx, s_usage, argc, argv, NULL, 0, 0, &npos);
    if (rc != CLI_CONTINUE)
        return rc;
    mesh_t *m = NULL;
    mesh_folder_list_t *list = NULL;
    if (cli_open(ctx, &m) != CLI_OK)
        return CLI_FAIL;
    mesh_err_t err = mesh_folder_ls(m, &list);
    if (err != MESH_OK) {
        rc = cli_fail(m, err, "folder ls");
        mesh_close(m);
        return rc;
    }
    out_json_t j;
    out_json_init(&j, stdout);
    if (ctx->json) {
        out_json_object_begin(&j, NULL);
        out_json_array_begin(&j, "folders");
    }
    for (size_t i = 0; i < mesh_folder_list_count(list); i++) {
        const mesh_folder_t *f = mesh_folder_list_get(list, i);
        if (ctx->json) {
            out_json_object_begin(&j, NULL);
            out_json_string(&j, "id", f->id);
            if (f->path) {
                out_json_bytes(&j, "path", f->path, strlen(f->path));
            }
            out_json_bool(&j, "joined", f->joined);
            out_json_object_end(&j);
        } else {
            fputs(f->id, stdout);
            fputc('\t', stdout);
            if (f->path) {
                out_escaped(stdout, f->path, strlen(f->path));
            } else {
                fputs("(offered)", stdout);
            }
            fputc('\n', stdout);
        }
    }
    if (ctx->json) {
        out_json_array_end(&j);
        out_json_object_end(&j);
    }
    mesh_folder_list_free(list);
    mesh_close(m);
    return CLI_OK;
}

static int
s_wait(int argc, char **argv, cli_ctx_t *ctx)
{
    const char *timeout_s = NULL, *peers_s = NULL;
    const cli_opt_t opts[] = {{"--timeout", 't', &timeout_s, NULL},
                              {"--peers", 'p', &peers_s, NULL},
                              {NULL, 0, NULL, NULL}};
    int npos, rc = cli_parse(ctx, s_usage, argc, argv, opts, 1, 1, &npos);
    if (rc != CLI_CONTINUE)
        return rc;
    uint64_t timeout = 30, want = 1;
    if (timeout_s && !cli_parse_u64(timeout_s, 0, 86400, &timeout))
        return cli_usage_error(s_usage, "folder wait: --timeout takes seconds, 0 to 86400");
    if (peers_s && !cli_parse_u64(peers_s, 0, 64, &want))
        return cli_usage_error(s_usage, "folder wait: --peers takes a number, 0 to 64");
    if (strlen(argv[1]) + 7 > MESH_COLL_MAX) /* (the index collection is "folder:ID") */
        return cli_usage_error(s_usage, "folder wait: no folder ID is that long");
    mesh_t *m = NULL;
    if (cli_open(ctx, &m) != CLI_OK)
        return CLI_FAIL;
    mesh_err_t err = mesh_folder_wait(m, argv[1], (size_t)want, (uint32_t)timeout * 1000);
    if (err == MESH_OK) {
        if (ctx->json) {
            out_json_t j;
            out_json_init(&j, stdout);
            out_json_object_begin(&j, NULL);
            out_json_string(&j, "id", argv[1]);
            out_json_bool(&j, "in_sync", true);
            out_json_object_end(&j);
        }
        mesh_close(m);
        return CLI_OK;
    }
    if (err != MESH_EBUSY) { /* (stopped, no daemon, the status unreadable: m says which) */
        rc = cli_fail(m, err, "folder wait");
        mesh_close(m);
        return rc;
    }
    /* not in sync at the timeout: the library says what the status says is left */
    cli_say("folder wait: %s", mesh_errmsg(m));
    mesh_close(m);
    return CLI_FAIL;
}

int
cmd_folder(int argc, char **argv, cli_ctx_t *ctx)
{
    static char s_add_name[] = "folder add", s_ls_name[] = "folder ls", s_rm_name[] = "folder rm",
                s_wait_name[] = "folder wait", s_set_name[] = "folder set",
                s_versions_name[] = "folder versions", s_restore_name[] = "folder restore";
    const cli_sub_t subs[] = {{"add", s_add_name, s_add},
                              {"ls", s_ls_name, s_ls},
                              {"rm", s_rm_name, s_rm},
                              {"wait", s_wait_name, s_wait},
                              {"set", s_set_name, s_set},
                              {"versions", s_versions_name, s_versions},
                              {"restore", s_restore_name, s_restore}};
    return cli_subcommand(ctx, argc, argv, s_usage, "folder", subs, sizeof subs / sizeof subs[0]);
}
