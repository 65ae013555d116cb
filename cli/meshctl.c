/* cli/meshctl.c: main() of meshctl, the command-line tool over libmeshsync.
 * Owns: the command table (name, function, summary), the global options before the
 * command, `help`, `--help`, `--version`, and the final flush of stdout.
 * Not here: the commands (cli/cmd_<name>.c), option syntax and errors (cli/cli.c).
 * Layer: cli. Third-party: none; of ours only meshsync.h. SPDX-License-Identifier: MIT */
#include "cli.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

typedef struct s_cmd {
    const char *name;
    int (*fn)(int argc, char **argv, cli_ctx_t *ctx);
    const char *summary; /* one line, as in docs/meshctl.1.md */
} s_cmd_t;

static const s_cmd_t s_cmds[] = {
    {"init", cmd_init, "create this device's identity and store"},
    {"id", cmd_id, "print this device's ID"},
    {"put", cmd_put, "write a value"},
    {"get", cmd_get, "print a value, or every version of it"},
    {"del", cmd_del, "delete keys"},
    {"ls", cmd_ls, "list the collections, or the keys and values of one"},
    {"log", cmd_log, "list the change sets of a collection, newest first"},
    {"conflicts", cmd_conflicts, "list the keys that have siblings, or the file conflict copies"},
    {"dump", cmd_dump, "print every version of a collection, for comparing devices"},
    {"peer", cmd_peer, "add a device to the mesh, or list its members"},
    {"pair", cmd_pair, "pair with another device by a one-time code"},
    {"share", cmd_share, "share a collection with some members only"},
    {"unshare", cmd_unshare, "take a device out of a collection's access list"},
    {"members", cmd_members, "list who may hold a collection, or the mesh's members"},
    {"held", cmd_held, "list the change sets held back until their signer is a member"},
    {"export", cmd_export, "write a bundle of what this device holds, for import elsewhere"},
    {"import", cmd_import, "verify and apply a bundle"},
    {"vector", cmd_vector, "write this device's version vectors, for export --since"},
    {"daemon", cmd_daemon, "run the node: listen, connect to members and sync"},
    {"status", cmd_status, "show this device, its peers and how far along sync is"},
    {"wait", cmd_wait, "wait until this device has sent every connected peer what it lacks"},
    {"folder", cmd_folder, "sync a directory with the mesh; list, stop, restore versions"},
    {"watch", cmd_watch, "print the change feed as it happens"},
};

#define S_NCMDS (sizeof s_cmds / sizeof s_cmds[0])

static const char s_usage_head[] =
    "usage: meshctl [--home DIR] [--json] [--log-level LEVEL] COMMAND [ARGS]\n"
    "\n"
    "commands:\n";

static const char s_usage_tail[] =
    "\n"
    "global options (also accepted after the command):\n"
    "  --home DIR         the device's home; default $MESH_HOME, else\n"
    "                     $XDG_DATA_HOME/meshsync, else ~/.local/share/meshsync\n"
    "  --json             print the result as one JSON document\n"
    "  --no-json          print text even if the config file says json = true\n"
    "  --quiet            no confirmation line after put, del and peer add\n"
    "  --log-level LEVEL  error, warn (default), info or debug\n"
    "  -h, --help         show this help\n"
    "  --version          show the versions of meshctl and libmeshsync\n"
    "\n"
    "Run 'meshctl help COMMAND' for a command's arguments and options.\n"
    "Exit status: 0 success, 1 failure, 2 usage error.\n";

static void
s_usage(FILE *f)
{
    int width = (int)strlen("help");
    for (size_t i = 0; i < S_NCMDS; i++) {
        int len = (int)strlen(s_cmds[i].name);
        width = len > width ? len : width;
    }
    fputs(s_usage_head, f);
    for (size_t i = 0; i < S_NCMDS; i++) {
        fprintf(f, "  %-*s  %s\n", width, s_cmds[i].name, s_cmds[i].summary);
    }
    fprintf(f, "  %-*s  %s\n", width, "help", "show the usage of meshctl or of a command");
    fputs(s_usage_tail, f);
}

static const s_cmd_t *
s_find(const char *name)
{
    for (size_t i = 0; i < S_NCMDS; i++) {
        if (strcmp(s_cmds[i].name, name) == 0)
            return &s_cmds[i];
    }
    return NULL;
}

/* The edit distance between a and b (insertions, deletions, substitutions and swaps of
 * neighbours), capped: words longer than S_WORD_MAX are far from every command. */
#define S_WORD_MAX 16
static size_t
s_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    size_t d[S_WORD_MAX + 1][S_WORD_MAX + 1];
    if (la > S_WORD_MAX || lb > S_WORD_MAX)
        return SIZE_MAX;
    for (size_t i = 0; i <= la; i++) {
        for (size_t k = 0; k <= lb; k++) {
            if (i == 0 || k == 0) {
                d[i][k] = i + k;
                continue;
            }
            size_t best = d[i - 1][k - 1] + (a[i - 1] != b[k - 1]);
            best = d[i - 1][k] + 1 < best ? d[i - 1][k] + 1 : best;
            best = d[i][k - 1] + 1 < best ? d[i][k - 1] + 1 : best;
            if (i > 1 && k > 1 && a[i - 1] == b[k - 2] && a[i - 2] == b[k - 1])
                best = d[i - 2][k - 2] + 1 < best ? d[i - 2][k - 2] + 1 : best;
            d[i][k] = best;
        }
    }
    return d[la][lb];
}

/* An unknown command: say so, with the nearest command when one is close (at most two
 * edits, and fewer than half the word) or starts with it. */
static int
s_unknown(const char *name)
{
    const char *best = NULL;
    size_t best_d = SIZE_MAX, len = strlen(name);
    for (size_t i = 0; i < S_NCMDS; i++) {
        size_t d = s_distance(name, s_cmds[i].name);
        if (len >= 2 && strncmp(s_cmds[i].name, name, len) == 0)
            d = 0; /* a prefix: "stat" for status */
        if (d < best_d) {
            best_d = d;
            best = s_cmds[i].name;
        }
    }
    char qname[64];
    size_t k = 0;
    for (const char *p = name; *p && k + 5 < sizeof qname; p++) { /* escaped, short */
        unsigned char c = (unsigned char)*p;
        k += (size_t)snprintf(qname + k, sizeof qname - k, c > 0x20 && c < 0x7f ? "%c" : "\\x%02x",
                              c);
    }
    if (best && best_d <= 2 && best_d * 2 < len + 1) {
        cli_say("'%s' is not a meshctl command; did you mean '%s'? (see 'meshctl help')", qname,
                best);
    } else {
        cli_say("'%s' is not a meshctl command (see 'meshctl help')", qname);
    }
    return CLI_USAGE;
}

/* help [COMMAND]: the usage of meshctl, or the command's own --help text. */
static int
s_help(int argc, char **argv, cli_ctx_t *ctx)
{
    if (argc < 2 || strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0 ||
        strcmp(argv[1], "-h") == 0) {
        s_usage(stdout);
        return CLI_OK;
    }
    if (argc > 2) {
        cli_say("help: too many arguments");
        fputs("usage: meshctl help [COMMAND]\n", stderr);
        return CLI_USAGE;
    }
    const s_cmd_t *cmd = s_find(argv[1]);
    if (!cmd)
        return s_unknown(argv[1]);
    char help_flag[] = "--help";
    char *words[] = {argv[1], help_flag, NULL};
    return cmd->fn(2, words, ctx);
}

/* Flush stdout; a result that could not be written is a failure. */
static int
s_finish(int rc)
{
    if (fflush(stdout) != 0 || ferror(stdout)) {
        int e = errno;
        if (rc == CLI_OK)
            cli_say("write the result: %s", e == ENOSPC  ? "no space left on device"
                                            : e == EPIPE ? "broken pipe"
                                                         : "output error");
        return CLI_FAIL;
    }
    return rc;
}

int
main(int argc, char **argv)
{
    cli_ctx_t ctx;
    cli_ctx_init(&ctx);
    ctx.argv_all = argv;
    int i = 1;
    for (; i < argc && argv[i][0] == '-' && argv[i][1] != '\0'; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--") == 0) {
            i++;
            break;
        }
        if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
            s_usage(stdout);
            return s_finish(CLI_OK);
        }
        if (strcmp(arg, "--version") == 0) {
            printf("meshctl %d.%d.%d (libmeshsync %s)\n", MESH_VERSION_MAJOR, MESH_VERSION_MINOR,
                   MESH_VERSION_PATCH, mesh_version());
            return s_finish(CLI_OK);
        }
        cli_opt_result_t r = cli_global_option(&ctx, argc, argv, &i);
        if (r == CLI_OPT_BAD)
            return CLI_USAGE;
        if (r == CLI_OPT_NOT_GLOBAL) {
            cli_say("unknown option '%s' (see 'meshctl --help')", arg);
            return CLI_USAGE;
        }
    }
    if (i >= argc) {
        s_usage(stderr);
        return CLI_USAGE;
    }
    if (strcmp(argv[i], "help") == 0)
        return s_finish(s_help(argc - i, argv + i, &ctx));
    const s_cmd_t *cmd = s_find(argv[i]);
    if (!cmd)
        return s_unknown(argv[i]);
    return s_finish(cmd->fn(argc - i, argv + i, &ctx));
}
