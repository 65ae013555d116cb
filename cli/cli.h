/* cli/cli.h: what every meshctl command shares, and the commands' entry points.
 * Owns: the run context (home, output mode, log level, config file), argument parsing,
 * opening the node, the one-line error reports with their exit statuses, whole-file reads
 * and atomic writes (defined in cli/file.c), and the declarations of cmd_<name> (each
 * defined in cli/cmd_<name>.c, listed in cli/meshctl.c).
 * Not here: escaping and JSON (cli/out.h), the command table (cli/meshctl.c).
 * Layer: cli. Third-party: none; of ours only meshsync.h. SPDX-License-Identifier: MIT */
#ifndef MESH_CLI_CLI_H
#define MESH_CLI_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "meshsync.h"

#define CLI_OK       0    /* exit status: success */
#define CLI_FAIL     1    /* exit status: the command failed */
#define CLI_USAGE    2    /* exit status: bad command line */
#define CLI_CONTINUE (-1) /* from cli_parse: go on with the command */

#define CLI_PATH_MAX 4096
#define CLI_NAME_MAX 128 /* bytes of a device name taken from the config file */

typedef struct cli_ctx {
    const char *home_flag;        /* --home DIR, or NULL */
    int json_flag;                /* --json 1, --no-json 0, not given -1 */
    int log_level_flag;           /* --log-level, or -1 */
    char home[CLI_PATH_MAX];      /* resolved home directory */
    bool json;                    /* resolved: print one JSON document */
    int log_level;                /* resolved: highest mesh_log_level_t printed */
    char name[CLI_NAME_MAX];      /* 'name' from the config file, "" if none */
    bool quiet;                   /* drop every library log line (while probing) */
    char lib_error[512];          /* the library's last error-level log line, "" if none */
    bool online;                  /* open with the event loop (meshctl daemon) */
    char **argv_all;              /* main's argv, whole (the daemon starts again with it) */
    const char *listen;           /* with online: the endpoint to listen on, or NULL */
    char listen_config[256];      /* 'listen' from the config file, "" if none */
    bool quiet_flag;              /* --quiet: no confirmation lines (cli_confirm) */
    uint64_t horizon_ms;          /* 'horizon' from the config file or --horizon, 0 if none */
    unsigned folder_rescan_s;     /* daemon --rescan: seconds between folder rescans, 0 */
    uint64_t pair_expire_ms;      /* 'pair-expire' from the config file, 0 if none */
    char pair_listen_config[256]; /* 'pair-listen' from the config file, "" if none */

    /* LAN discovery (meshctl daemon): the config file's settings ("" if not set there)... */
    char discovery_config[8];              /* 'discovery': on or off */
    char discovery_port_config[16];        /* 'discovery-port' */
    char discovery_interval_config[16];    /* 'discovery-interval' (ms) */
    char discovery_group_config[64];       /* 'discovery-group' */
    char discovery_interfaces_config[256]; /* 'discovery-interfaces' */
    /* ...and what the daemon opens with (mesh_options_t's fields of the same names) */
    bool discovery;
    unsigned discovery_port, discovery_interval_ms;
    const char *discovery_group, *discovery_interfaces;

    /* 'versions' from the config file (folder add: days kept), or NULL; its text */
    const char *folder_versions;
    char folder_versions_config[16];
} cli_ctx_t;

/* Parse a duration: digits with an optional unit s (the default), m, h or d, more than 0
 * and at most 10 years, into *ms. False when it is not one. */
bool cli_parse_duration(const char *text, uint64_t *ms);

/* One option a command takes, besides the global ones and --help. */
typedef struct cli_opt {
    const char *name;   /* long form, dashes included ("--name") */
    char short_name;    /* one-letter form ('n'), or 0 */
    const char **value; /* takes an argument: where it goes (NULL: a flag) */
    bool *flag;         /* a flag: set to true when given */
} cli_opt_t;

/* What a global option did (cli_global_option). */
typedef enum cli_opt_result {
    CLI_OPT_NOT_GLOBAL, /* not a global option: argv[*i] is untouched */
    CLI_OPT_TAKEN,      /* taken; *i is on its last word */
    CLI_OPT_BAD         /* a usage error, already printed */
} cli_opt_result_t;

/* Set every field to "not given". */
void cli_ctx_init(cli_ctx_t *ctx);

/* Take argv[*i] if it is a global option (--home DIR, --json, --no-json, --quiet,
 * --log-level L, also as --opt=VALUE); an option's value may be the next word, and *i then moves to
 * it. */
cli_opt_result_t cli_global_option(cli_ctx_t *ctx, int argc, char **argv, int *i);

/* One subcommand of a command that has them (peer, folder). */
typedef struct cli_sub {
    const char *word; /* what the user types: "add" */
    char *name;       /* its full name, argv[0] of the subcommand: "peer add" (static) */
    int (*run)(int argc, char **argv, cli_ctx_t *ctx);
} cli_sub_t;

/* Run the subcommand of command cmd: the first word of argv[1..] that is not a global
 * option picks one of subs[0..n) (the global options before it are taken here), which
 * runs on the words from it on. -h/--help before it prints usage. Returns the
 * subcommand's status, or CLI_OK (help) / CLI_USAGE after printing a usage error that
 * lists the subcommands. */
int cli_subcommand(cli_ctx_t *ctx, int argc, char **argv, const char *usage, const char *cmd,
                   const cli_sub_t *subs, size_t n);

/* Parse a command's words argv[1..argc-1] (argv[0] is its name): the options in opts (a
 * list ended by a zeroed entry), the global options, -h/--help, and "--", which ends the
 * options; "-" alone is an argument. The arguments are moved to argv[1..*npos], in order,
 * and must number min_pos..max_pos (max_pos < 0: no limit). Then the home and the config
 * file are resolved (cli_settle).
 * Returns CLI_CONTINUE to go on; otherwise the exit status: CLI_OK after printing usage
 * (--help) to stdout, CLI_USAGE after printing a usage error, CLI_FAIL on a bad config. */
int cli_parse(cli_ctx_t *ctx, const char *usage, int argc, char **argv, const cli_opt_t *opts,
              int min_pos, int max_pos, int *npos);

/* Resolve the home (--home, $MESH_HOME, $XDG_DATA_HOME/meshsync, ~/.local/share/meshsync)
 * and read HOME/config (absent is fine); flags given override its settings.
 * Returns CLI_OK, or CLI_FAIL after printing why. */
int cli_settle(cli_ctx_t *ctx);

/* Read HOME/config again (meshctl daemon on SIGHUP): every setting it gives is first reset,
 * then read; flags given still override the log level. Returns CLI_OK, or CLI_FAIL after
 * printing why (ctx's settings are then partly read: reload into a copy). */
int cli_reload_config(cli_ctx_t *ctx);

/* Open the node in ctx->home with offline set and the CLI's log callback. With quiet, the
 * library logs nothing (a probe). On failure *out is NULL and ctx->lib_error holds the
 * library's detail. Returns mesh_open's code. */
mesh_err_t cli_open_ex(cli_ctx_t *ctx, bool create, bool quiet, mesh_t **out);

/* Open the existing node in ctx->home (never creating it). Returns CLI_OK with *out set,
 * or CLI_FAIL after printing the error line. */
int cli_open(cli_ctx_t *ctx, mesh_t **out);

/* Print the error line for cli_open_ex's failure err ("open 'HOME': ..."). Returns CLI_FAIL. */
int cli_open_fail(const cli_ctx_t *ctx, mesh_err_t err);

/* Print "meshctl: <what>: <mesh_strerror(err)> (<mesh_errmsg(m)>)" on stderr, with what
 * from fmt and no parenthesis when m is NULL or has no detail; "<what>: <detail>" when the
 * detail already says what mesh_strerror does (no message repeats itself). The detail is
 * escaped (out_quote): it may hold a peer's or a name's bytes. Returns CLI_FAIL. */
int cli_fail(const mesh_t *m, mesh_err_t err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* As cli_fail, with the detail given ("" or NULL: none). */
int cli_fail_detail(mesh_err_t err, const char *detail, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Print "meshctl: <message>" on stderr. */
void cli_say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Print "meshctl: <message>", then usage's first line and a pointer to --help, on stderr.
 * Returns CLI_USAGE. */
int cli_usage_error(const char *usage, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Print one confirmation line on stdout ("wrote 'k' in 'notes'") when a person reads it:
 * stdout is a terminal, and neither --json nor --quiet is given. */
void cli_confirm(const cli_ctx_t *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* one when n is 1, else many: "1 key", "2 keys". */
const char *cli_plural(uint64_t n, const char *one, const char *many);

/* Does the (user) collection coll exist on m? CLI_OK; else CLI_FAIL after printing
 * "meshctl: no such collection 'COLL'" (or the listing's error). Names starting with '_'
 * pass (the library decides about them). For ls, log, export and conflicts, so that a
 * mistyped name is not taken for an empty collection. */
int cli_need_coll(mesh_t *m, const char *coll);

/* Parse s as a whole decimal number in min..max. Returns true and sets *out, or false. */
bool cli_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);

/* The name of a log level ("error", "warn", "info", "debug"), or "?". */
const char *cli_log_level_name(int level);

#define CLI_FILE_MAX (4ull << 30) /* bytes of a bundle, vector or TSV file meshctl reads */

/* Read all of path ("-": standard input), at most max bytes, into *out (malloc'd, not NULL
 * even when empty; the caller frees it) and *len. On error *out is NULL and detail
 * (detail_len bytes) says why. Errors: MESH_ETOOBIG (over max), MESH_ENOTFOUND, MESH_EIO,
 * MESH_ENOMEM. (cli/file.c) */
mesh_err_t cli_read_file(const char *path, uint64_t max, uint8_t **out, size_t *len, char *detail,
                         size_t detail_len);

/* Write len bytes of p to path atomically: into a temporary file in path's directory (mode
 * 0600), fsync'd and renamed over path, so path holds the old bytes or all the new ones;
 * "-" writes to standard output. On error nothing is left behind and detail says why.
 * Errors: MESH_ENOSPC, MESH_ENOTFOUND (no such directory), MESH_EIO, MESH_EINVAL (path
 * names a directory), MESH_ETOOBIG (path too long). (cli/file.c) */
mesh_err_t cli_write_file(const char *path, const void *p, size_t len, char *detail,
                          size_t detail_len);

/* Write the len bytes that command what ("export", "vector") made to path (cli_write_file,
 * refusing a terminal for "-"), then report "wrote N bytes to 'PATH'" on stdout, or with
 * --json {"file", "bytes"}; nothing when path is "-". Returns CLI_OK, or CLI_FAIL after
 * printing the error line. (cli/file.c) */
int cli_write_output(const cli_ctx_t *ctx, const char *what, const char *path, const void *p,
                     size_t len);

/* The commands. Each takes its own words (argv[0] is its name) and returns the exit status
 * (CLI_OK, CLI_FAIL, CLI_USAGE) after printing its result or one error line. */
int cmd_init(int argc, char **argv, cli_ctx_t *ctx);
int cmd_id(int argc, char **argv, cli_ctx_t *ctx);
int cmd_put(int argc, char **argv, cli_ctx_t *ctx);
int cmd_get(int argc, char **argv, cli_ctx_t *ctx);
int cmd_del(int argc, char **argv, cli_ctx_t *ctx);
int cmd_ls(int argc, char **argv, cli_ctx_t *ctx);
int cmd_log(int argc, char **argv, cli_ctx_t *ctx);
int cmd_dump(int argc, char **argv, cli_ctx_t *ctx);
int cmd_peer(int argc, char **argv, cli_ctx_t *ctx);
int cmd_held(int argc, char **argv, cli_ctx_t *ctx);
int cmd_share(int argc, char **argv, cli_ctx_t *ctx); /* and unshare, members: cmd_share.c */
int cmd_unshare(int argc, char **argv, cli_ctx_t *ctx);
int cmd_members(int argc, char **argv, cli_ctx_t *ctx);
int cmd_export(int argc, char **argv, cli_ctx_t *ctx);
int cmd_pair(int argc, char **argv, cli_ctx_t *ctx);
int cmd_import(int argc, char **argv, cli_ctx_t *ctx);
int cmd_vector(int argc, char **argv, cli_ctx_t *ctx);
int cmd_daemon(int argc, char **argv, cli_ctx_t *ctx);
int cmd_conflicts(int argc, char **argv, cli_ctx_t *ctx);
int cmd_status(int argc, char **argv, cli_ctx_t *ctx);
int cmd_wait(int argc, char **argv, cli_ctx_t *ctx);
int cmd_folder(int argc, char **argv, cli_ctx_t *ctx);
int cmd_watch(int argc, char **argv, cli_ctx_t *ctx);

#endif /* MESH_CLI_CLI_H */
