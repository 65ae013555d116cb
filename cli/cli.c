/* cli/cli.c: what every meshctl command shares: options, home, config file, errors.
 * Owns: the option syntax (global and per command), the home's resolution, the config
 * file's format (lines "key = value", '#' comments; keys log-level, json, name, listen,
 * discovery, discovery-port, discovery-interval, discovery-group, discovery-interfaces), the
 * log callback and the error lines.
 * Not here: the command table (cli/meshctl.c), output formats (cli/out.c).
 * Layer: cli. Third-party: none. SPDX-License-Identifier: MIT */
#include "cli.h"

#include <errno.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "out.h"

#define S_LINE_MAX 1024 /* bytes in one config line, newline included */

static const char *const s_level_names[] = {"error", "warn", "info", "debug"};

void
cli_ctx_init(cli_ctx_t *ctx)
{
    memset(ctx, 0, sizeof *ctx);
    ctx->json_flag = -1;
    ctx->log_level_flag = -1;
    ctx->log_level = MESH_LOG_WARN;
}

const char *
cli_log_level_name(int level)
{
    if (level < MESH_LOG_ERROR || level > MESH_LOG_DEBUG)
        return "?";
    return s_level_names[level];
}

static bool
s_parse_log_level(const char *s, int *out)
{
    for (int i = MESH_LOG_ERROR; i <= MESH_LOG_DEBUG; i++) {
        if (strcmp(s, s_level_names[i]) == 0) {
            *out = i;
            return true;
        }
    }
    return false;
}

/* Is arg the option name, alone or as "name=value"? Sets *value to the inline value. */
static bool
s_match(const char *arg, const char *name, const char **value)
{
    size_t len = strlen(name);
    *value = NULL;
    if (strncmp(arg, name, len) != 0)
        return false;
    if (arg[len] == '\0')
        return true;
    if (arg[len] != '=')
        return false;
    *value = arg + len + 1;
    return true;
}

/* The value of the option at argv[*i]: inline, or the next word (then *i moves to it). */
static const char *
s_take_value(const char *inline_value, int argc, char **argv, int *i)
{
    if (inline_value)
        return inline_value;
    if (*i + 1 >= argc)
        return NULL;
    return argv[++*i];
}

cli_opt_result_t
cli_global_option(cli_ctx_t *ctx, int argc, char **argv, int *i)
{
    const char *arg = argv[*i], *value = NULL;
    if (strcmp(arg, "--json") == 0 || strcmp(arg, "--no-json") == 0) {
        ctx->json_flag = arg[2] == 'j';
        return CLI_OPT_TAKEN;
    }
    if (strcmp(arg, "--quiet") == 0) {
        ctx->quiet_flag = true;
        return CLI_OPT_TAKEN;
    }
    bool is_home = s_match(arg, "--home", &value);
    if (!is_home && !s_match(arg, "--log-level", &value))
        return CLI_OPT_NOT_GLOBAL;
    const char *name = is_home ? "--home" : "--log-level";
    value = s_take_value(value, argc, argv, i);
    if (!value || !value[0]) {
        cli_say("option '%s' needs a value (see 'meshctl --help')", name);
        return CLI_OPT_BAD;
    }
    if (is_home) {
        ctx->home_flag = value;
        return CLI_OPT_TAKEN;
    }
    if (!s_parse_log_level(value, &ctx->log_level_flag)) {
        cli_say("unknown log level '%s' (use error, warn, info or debug)", value);
        return CLI_OPT_BAD;
    }
    return CLI_OPT_TAKEN;
}

/* Take the command option at argv[*i] from opts. Returns CLI_CONTINUE or CLI_USAGE. */
static int
s_command_option(const char *usage, const char *cmd, const cli_opt_t *opts, int argc, char **argv,
                 int *i)
{
    const char *arg = argv[*i];
    for (const cli_opt_t *o = opts; o && o->name; o++) {
        const char *value = NULL;
        if (o->short_name && arg[1] == o->short_name) {
            value = arg[2] ? arg + 2 : NULL;
        } else if (!s_match(arg, o->name, &value)) {
            continue;
        }
        if (!o->value) {
            if (value)
                return cli_usage_error(usage, "%s: option '%s' takes no value", cmd, o->name);
            *o->flag = true;
            return CLI_CONTINUE;
        }
        value = s_take_value(value, argc, argv, i);
        if (!value)
            return cli_usage_error(usage, "%s: option '%s' needs a value", cmd, o->name);
        *o->value = value;
        return CLI_CONTINUE;
    }
    return cli_usage_error(usage, "%s: unknown option '%s'", cmd, arg);
}

int
cli_parse(cli_ctx_t *ctx, const char *usage, int argc, char **argv, const cli_opt_t *opts,
          int min_pos, int max_pos, int *npos)
{
    int n = 0;
    bool help = false, options_done = false;
    *npos = 0;
    for (int i = 1; i < argc; i++) {
        char *arg = argv[i];
        /* Arguments move down to argv[1 + n]; n < i, so no word not yet read is overwritten. */
        if (options_done || arg[0] != '-' || arg[1] == '\0') {
            argv[1 + n++] = arg;
        } else if (strcmp(arg, "--") == 0) {
            options_done = true;
        } else if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
            help = true;
        } else {
            cli_opt_result_t r = cli_global_option(ctx, argc, argv, &i);
            if (r == CLI_OPT_BAD)
                return CLI_USAGE;
            if (r == CLI_OPT_NOT_GLOBAL) {
                int rc = s_command_option(usage, argv[0], opts, argc, argv, &i);
                if (rc != CLI_CONTINUE)
                    return rc;
            }
        }
    }
    if (help) {
        fputs(usage, stdout);
        return CLI_OK;
    }
    if (n < min_pos)
        return cli_usage_error(usage, "%s: too few arguments", argv[0]);
    if (max_pos >= 0 && n > max_pos)
        return cli_usage_error(usage, "%s: too many arguments", argv[0]);
    *npos = n;
    return cli_settle(ctx) == CLI_OK ? CLI_CONTINUE : CLI_FAIL;
}

/* Fill ctx->home from the flag, the environment, or the user's home directory. */
static int
s_resolve_home(cli_ctx_t *ctx)
{
    const char *env = getenv("MESH_HOME"), *xdg = getenv("XDG_DATA_HOME");
    int n;
    if (ctx->home_flag) {
        n = snprintf(ctx->home, sizeof ctx->home, "%s", ctx->home_flag);
    } else if (env && env[0]) {
        n = snprintf(ctx->home, sizeof ctx->home, "%s", env);
    } else if (xdg && xdg[0] == '/') { /* the XDG spec ignores relative paths */
        n = snprintf(ctx->home, sizeof ctx->home, "%s/meshsync", xdg);
    } else {
        const char *user_home = getenv("HOME");
        if (!user_home || !user_home[0]) {
            const struct passwd *pw = getpwuid(getuid());
            user_home = pw ? pw->pw_dir : NULL;
        }
        if (!user_home || !user_home[0]) {
            return cli_fail_detail(MESH_EINVAL, "set --home or MESH_HOME", "find a home directory");
        }
        n = snprintf(ctx->home, sizeof ctx->home, "%s/.local/share/meshsync", user_home);
    }
    if (n < 0 || (size_t)n >= sizeof ctx->home)
        return cli_fail_detail(MESH_ETOOBIG, "path of the home", "resolve the home");
    return CLI_OK;
}

/* Cut the blanks at both ends of s, in place. */
static char *
s_trim(char *s)
{
    size_t len = strlen(s);
    while (len > 0 &&
           (s[len - 1] == ' ' || s[len - 1] == '\t' || s[len - 1] == '\n' || s[len - 1] == '\r')) {
        s[--len] = '\0';
    }
    while (*s == ' ' || *s == '\t') {
        s++;
    }
    return s;
}

bool
cli_parse_duration(const char *text, uint64_t *ms)
{
    char *end = NULL;
    errno = 0;
    if (!text || text[0] < '0' || text[0] > '9')
        return false;
    unsigned long long n = strtoull(text, &end, 10);
    uint64_t unit = 1000;
    if (*end == 'm')
        unit = 60 * 1000;
    else if (*end == 'h')
        unit = 3600 * 1000;
    else if (*end == 'd')
        unit = 24 * 3600 * 1000;
    else if (*end != 's' && *end != '\0')
        return false;
    if (*end && end[1] != '\0')
        return false;
    if (errno || n == 0 || n > 3650ull * 24 * 3600 * 1000 / unit)
        return false;
    *ms = n * unit;
    return true;
}

/* Apply one "key = value" line. Returns "" when applied, else what is wrong with it. */
static const char *
s_config_line(cli_ctx_t *ctx, char *line, int *level, int *json)
{
    char *eq = strchr(line, '=');
    if (!eq)
        return "expected 'key = value'";
    *eq = '\0';
    const char *key = s_trim(line), *value = s_trim(eq + 1);
    if (strcmp(key, "log-level") == 0)
        return s_parse_log_level(value, level) ? "" : "unknown log level";
    if (strcmp(key, "json") == 0) {
        if (strcmp(value, "true") != 0 && strcmp(value, "false") != 0)
            return "json must be true or false";
        *json = value[0] == 't';
        return "";
    }
    if (strcmp(key, "listen") == 0) {
        /* checked when the daemon starts (mesh_open), which names the file if it is bad */
        size_t len = strlen(value);
        if (len == 0 || len >= sizeof ctx->listen_config)
            return "listen must have 1 to 255 bytes (tcp://HOST:PORT, or none)";
        memcpy(ctx->listen_config, value, len + 1);
        return "";
    }
    if (strcmp(key, "pair-expire") == 0) /* meshctl pair */
        return cli_parse_duration(value, &ctx->pair_expire_ms) &&
                       ctx->pair_expire_ms <= 24ull * 3600 * 1000
                   ? ""
                   : "pair-expire must be a duration such as 10m or 90s, at most 24h";
    if (strcmp(key, "pair-listen") == 0) { /* meshctl pair; checked when it listens */
        size_t len = strlen(value);
        if (len == 0 || len >= sizeof ctx->pair_listen_config)
            return "pair-listen must have 1 to 255 bytes (tcp://HOST:PORT)";
        memcpy(ctx->pair_listen_config, value, len + 1);
        return "";
    }
    if (strcmp(key, "horizon") == 0)
        return cli_parse_duration(value, &ctx->horizon_ms)
                   ? ""
                   : "horizon must be a duration such as 30d, 12h, 90m or 45s";
    const struct {
        const char *key;
        char *dst;
        size_t cap;
    } disc[] = {
        {"discovery", ctx->discovery_config, sizeof ctx->discovery_config},
        {"discovery-port", ctx->discovery_port_config, sizeof ctx->discovery_port_config},
        {"discovery-interval", ctx->discovery_interval_config,
         sizeof ctx->discovery_interval_config},
        {"discovery-group", ctx->discovery_group_config, sizeof ctx->discovery_group_config},
        {"discovery-interfaces", ctx->discovery_interfaces_config,
         sizeof ctx->discovery_interfaces_config}};
    for (size_t i = 0; i < sizeof disc / sizeof disc[0]; i++) {
        if (strcmp(key, disc[i].key) == 0) { /* checked by meshctl daemon, naming the file */
            size_t len = strlen(value);
            if (len == 0 || len >= disc[i].cap)
                return "value empty or too long";
            memcpy(disc[i].dst, value, len + 1);
            return "";
        }
    }
    if (strcmp(key, "versions") == 0) { /* folder add: checked there, as --versions */
        size_t len = strlen(value);
        if (len == 0 || len >= sizeof ctx->folder_versions_config)
            return "versions must be a number of days, 0 to 36500";
        memcpy(ctx->folder_versions_config, value, len + 1);
        ctx->folder_versions = ctx->folder_versions_config;
        return "";
    }
    if (strcmp(key, "name") == 0) {
        size_t len = strlen(value);
        if (len == 0 || len >= sizeof ctx->name)
            return "name must have 1 to 127 bytes";
        memcpy(ctx->name, value, len + 1);
        return "";
    }
    if (ctx->log_level >= MESH_LOG_WARN)
        fprintf(stderr, "meshctl: [warn] config: unknown key '%s' ignored\n", key);
    return "";
}

/* Read HOME/config into *level and *json (left as they are when not set there). */
static int
s_read_config(cli_ctx_t *ctx, int *level, int *json)
{
    char path[CLI_PATH_MAX + 16], line[S_LINE_MAX], detail[S_LINE_MAX + 64];
    snprintf(path, sizeof path, "%s/config", ctx->home);
    FILE *f = fopen(path, "r");
    if (!f) {
        if (errno == ENOENT || errno == ENOTDIR)
            return CLI_OK;
        return cli_fail_detail(MESH_EIO, strerror(errno), "read config '%s'", path);
    }
    int rc = CLI_OK;
    for (int lineno = 1; rc == CLI_OK && fgets(line, sizeof line, f); lineno++) {
        size_t len = strlen(line);
        const char *why = "";
        if (len == sizeof line - 1 && line[len - 1] != '\n' && !feof(f)) {
            why = "line too long";
        } else {
            char *text = s_trim(line);
            if (text[0] != '\0' && text[0] != '#')
                why = s_config_line(ctx, text, level, json);
        }
        if (why[0]) {
            snprintf(detail, sizeof detail, "line %d: %s", lineno, why);
            rc = cli_fail_detail(MESH_EINVAL, detail, "read config '%s'", path);
        }
    }
    if (rc == CLI_OK && ferror(f))
        rc = cli_fail_detail(MESH_EIO, "read error", "read config '%s'", path);
    fclose(f);
    return rc;
}

int
cli_settle(cli_ctx_t *ctx)
{
    int level = MESH_LOG_WARN, json = 0;
    if (s_resolve_home(ctx) != CLI_OK)
        return CLI_FAIL;
    /* The flag's level, when given, already decides the config file's own warnings. */
    ctx->log_level = ctx->log_level_flag >= 0 ? ctx->log_level_flag : MESH_LOG_WARN;
    if (s_read_config(ctx, &level, &json) != CLI_OK)
        return CLI_FAIL;
    ctx->log_level = ctx->log_level_flag >= 0 ? ctx->log_level_flag : level;
    ctx->json = ctx->json_flag >= 0 ? ctx->json_flag == 1 : json == 1;
    return CLI_OK;
}

int
cli_subcommand(cli_ctx_t *ctx, int argc, char **argv, const char *usage, const char *cmd,
               const cli_sub_t *subs, size_t n)
{
    char words[128] = ""; /* "add, rm or ls", for the errors */
    for (size_t k = 0; k < n; k++) {
        size_t len = strlen(words);
        snprintf(words + len, sizeof words - len, "%s%s",
                 k == 0      ? ""
                 : k + 1 < n ? ", "
                             : " or ",
                 subs[k].word);
    }
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
            fputs(usage, stdout);
            return CLI_OK;
        }
        if (arg[0] == '-' && arg[1] != '\0') {
            cli_opt_result_t r = cli_global_option(ctx, argc, argv, &i);
            if (r == CLI_OPT_BAD)
                return CLI_USAGE;
            if (r == CLI_OPT_NOT_GLOBAL)
                return cli_usage_error(usage, "%s: unknown option '%s' before %s", cmd, arg, words);
            continue;
        }
        for (size_t k = 0; k < n; k++) {
            if (strcmp(arg, subs[k].word) == 0) {
                argv[i] = subs[k].name;
                return subs[k].run(argc - i, argv + i, ctx);
            }
        }
        return cli_usage_error(usage, "%s: unknown subcommand '%s' (use %s)", cmd, arg, words);
    }
    return cli_usage_error(usage, "%s: say %s", cmd, words);
}

int
cli_reload_config(cli_ctx_t *ctx)
{
    int level = MESH_LOG_WARN, json = 0;
    ctx->listen_config[0] = ctx->pair_listen_config[0] = '\0';
    ctx->discovery_config[0] = ctx->discovery_port_config[0] = '\0';
    ctx->discovery_interval_config[0] = ctx->discovery_group_config[0] = '\0';
    ctx->discovery_interfaces_config[0] = '\0';
    ctx->horizon_ms = ctx->pair_expire_ms = 0;
    ctx->folder_versions = NULL;
    if (s_read_config(ctx, &level, &json) != CLI_OK)
        return CLI_FAIL;
    ctx->log_level = ctx->log_level_flag >= 0 ? ctx->log_level_flag : level;
    return CLI_OK;
}

/* The library's log callback: "meshctl: [level] message" on stderr (a daemon's lines start
 * with the UTC time). meshctl reports every
 * failure in its own error line, which the library's error lines would repeat, so those
 * show only at --log-level info or debug. */
static void
s_log(void *arg, int level, const char *message)
{
    cli_ctx_t *ctx = arg;
    /* atomic: an online node's thread calls this while cli_open_ex ends its quiet spell */
    /* (the log level: atomic, as meshctl daemon changes it on SIGHUP while this runs) */
    if (__atomic_load_n(&ctx->quiet, __ATOMIC_RELAXED) ||
        level > __atomic_load_n(&ctx->log_level, __ATOMIC_RELAXED))
        return;
    if (level == MESH_LOG_ERROR &&
        __atomic_load_n(&ctx->log_level, __ATOMIC_RELAXED) < MESH_LOG_INFO)
        return;
    char stamp[96] = "";
    if (ctx->online) {
        /* a daemon's lines carry the time (UTC, microseconds), for logs kept for months and
         * for benchmarks that line them up with other clocks */
        struct timespec ts;
        struct tm tm;
        clock_gettime(CLOCK_REALTIME, &ts);
        gmtime_r(&ts.tv_sec, &tm);
        snprintf(stamp, sizeof stamp, "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ ", tm.tm_year + 1900,
                 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000);
    }
    /* (one fprintf: one write on the unbuffered stderr, a whole line at once) */
    fprintf(stderr, "%smeshctl: [%s] %s\n", stamp, cli_log_level_name(level), message);
}

mesh_err_t
cli_open_ex(cli_ctx_t *ctx, bool create, bool quiet, mesh_t **out)
{
    mesh_options_t opts;
    memset(&opts, 0, sizeof opts);
    opts.size = sizeof opts;
    opts.home = ctx->home;
    opts.create = create;
    opts.offline = !ctx->online;
    opts.listen = ctx->listen;
    opts.daemon_heap = ctx->online; /* meshctl daemon: this process is the daemon */
    opts.discovery = ctx->online && ctx->discovery;
    opts.discovery_port = ctx->discovery_port;
    opts.discovery_interval_ms = ctx->discovery_interval_ms;
    opts.discovery_group = ctx->discovery_group;
    opts.discovery_interfaces = ctx->discovery_interfaces;
    opts.log = s_log;
    opts.log_ctx = ctx;
    opts.log_level = MESH_LOG_DEBUG; /* s_log filters, and keeps error lines as detail */
    opts.name = ctx->name[0] ? ctx->name : NULL;
    opts.horizon = ctx->horizon_ms;
    opts.folder_rescan_s = ctx->folder_rescan_s;
    opts.errbuf = ctx->lib_error; /* the detail of a failed open lands here */
    opts.errbuf_len = sizeof ctx->lib_error;
    __atomic_store_n(&ctx->quiet, quiet, __ATOMIC_RELAXED);
    ctx->lib_error[0] = '\0';
    mesh_err_t err = mesh_open(&opts, out);
    __atomic_store_n(&ctx->quiet, false, __ATOMIC_RELAXED);
    return err;
}

int
cli_open(cli_ctx_t *ctx, mesh_t **out)
{
    mesh_err_t err = cli_open_ex(ctx, false, false, out);
    return err == MESH_OK ? CLI_OK : cli_open_fail(ctx, err);
}

int
cli_open_fail(const cli_ctx_t *ctx, mesh_err_t err)
{
    return cli_fail_detail(err, ctx->lib_error, "open '%s'", ctx->home);
}

__attribute__((format(printf, 3, 0))) static int
s_vfail(mesh_err_t err, const char *detail, const char *fmt, va_list ap)
{
    char line[2048], quoted[1024];
    size_t len = 0;
    int n = snprintf(line, sizeof line, "meshctl: ");
    len = (size_t)n;
    n = vsnprintf(line + len, sizeof line - len, fmt, ap);
    len = n < 0 ? len : len + (size_t)n;
    len = len < sizeof line ? len : sizeof line - 1;
    const char *what = mesh_strerror(err);
    if (detail && detail[0]) {
        out_quote(quoted, sizeof quoted, detail, strlen(detail));
        /* A detail that already names the failure stands alone: "not a bundle, or a
         * damaged one (malformed encoding)" needs no second "malformed encoding". */
        if (strstr(quoted, what)) {
            snprintf(line + len, sizeof line - len, ": %s", quoted);
        } else {
            snprintf(line + len, sizeof line - len, ": %s (%s)", what, quoted);
        }
    } else {
        snprintf(line + len, sizeof line - len, ": %s", what);
    }
    /* One write, so that the lines of processes sharing stderr do not interleave. */
    fprintf(stderr, "%s\n", line);
    return CLI_FAIL;
}

int
cli_fail(const mesh_t *m, mesh_err_t err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    s_vfail(err, m ? mesh_errmsg(m) : NULL, fmt, ap);
    va_end(ap);
    return CLI_FAIL;
}

int
cli_fail_detail(mesh_err_t err, const char *detail, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    s_vfail(err, detail, fmt, ap);
    va_end(ap);
    return CLI_FAIL;
}

void
cli_say(const char *fmt, ...)
{
    char line[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    fprintf(stderr, "meshctl: %s\n", line);
}

int
cli_usage_error(const char *usage, const char *fmt, ...)
{
    char line[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    size_t first = strcspn(usage, "\n");
    fprintf(stderr, "meshctl: %s\n%.*s\n", line, (int)first, usage);
    return CLI_USAGE;
}

bool
cli_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
    char *end = NULL;
    if (s[0] < '0' || s[0] > '9') /* strtoull would take blanks, a sign and "" */
        return false;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < min || v > max)
        return false;
    *out = v;
    return true;
}

void
cli_confirm(const cli_ctx_t *ctx, const char *fmt, ...)
{
    if (ctx->json || ctx->quiet_flag || !isatty(STDOUT_FILENO))
        return;
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
}

const char *
cli_plural(uint64_t n, const char *one, const char *many)
{
    return n == 1 ? one : many;
}

int
cli_need_coll(mesh_t *m, const char *coll)
{
    mesh_coll_list_t *list = NULL;
    char qcoll[OUT_QUOTE_LEN];
    if (coll[0] == '_')
        return CLI_OK;
    mesh_err_t err = mesh_collections(m, &list);
    if (err != MESH_OK)
        return cli_fail(m, err, "list the collections");
    bool found = false;
    for (size_t i = 0; i < mesh_coll_list_count(list) && !found; i++) {
        found = strcmp(mesh_coll_list_get(list, i)->name, coll) == 0;
    }
    mesh_coll_list_free(list);
    if (found)
        return CLI_OK;
    cli_say("no such collection '%s' (see 'meshctl ls')",
            out_quote(qcoll, sizeof qcoll, coll, strlen(coll)));
    return CLI_FAIL;
}
