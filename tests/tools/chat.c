/* tests/tools/chat.c: presence and messages from the command line (docs/PROTOCOL.md §22),
 * written as an application would: it includes only meshsync.h. It opens a node home online
 * (it is that home's daemon while it runs: it syncs), prints presence changes and the
 * messages it receives as lines on stdout, and sends what stdin says. Test build only
 * (build/testing/tests/chat); the integration tests 76 and 77 drive it through a FIFO.
 *
 * usage: chat --home HOME [--listen EP] [--sub PREFIX]... [--topic T] [--log-level L]
 *   --sub PREFIX: subscribe to topics starting with PREFIX (default: one subscription to "")
 *   --topic T: the topic of plain lines (default "chat")
 * stdin, one command a line:
 *   TEXT                      TEXT to every member connected, on the --topic
 *   /say TOPIC TEXT           to every member connected, on TOPIC
 *   /to ID TOPIC TEXT         to member ID alone
 *   /flood ID|all TOPIC N BYTES  N messages of BYTES bytes, each sent as soon as the queue
 *                             takes it (a full queue is waited out, 1 ms at a time, 10 s at most)
 *   /big ID|all TOPIC BYTES   one message of BYTES bytes (past 64 KiB: refused)
 *   /presence                 "present ID SINCE ADDR NAME" per member online, then "presence N"
 *   /stats                    the message counts on one line
 *   /put COLL KEY VALUE       a write of one item, which syncs as any
 *   /quit                     (or end of input, or SIGTERM/SIGINT): close and exit 0
 * stdout: "ready ID LISTEN", "online ID", "offline ID",
 *   "msg FROM TOPIC direct|all LEN TEXT" (TEXT: the first 64 bytes, escaped),
 *   "ok CMD" or "error CMD: STRERROR: DETAIL" per command, "stats ...".
 * Layer: tests (an application of the public API). Third-party: none. SPDX-License-Identifier: MIT
 */
#include "meshsync.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define S_SUBS_MAX 16

static pthread_mutex_t s_out = PTHREAD_MUTEX_INITIALIZER; /* one line at a time */
static volatile sig_atomic_t s_stop;

static void
s_on_signal(int sig)
{
    (void)sig;
    s_stop = 1;
}

static void s_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
s_line(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    pthread_mutex_lock(&s_out);
    vprintf(fmt, ap);
    fputc('\n', stdout);
    fflush(stdout);
    pthread_mutex_unlock(&s_out);
    va_end(ap);
}

static void
s_log(void *ctx, int level, const char *message)
{
    (void)ctx;
    (void)level;
    pthread_mutex_lock(&s_out);
    fprintf(stderr, "chat: %s\n", message);
    pthread_mutex_unlock(&s_out);
}

/* The library's thread: a member came or went. */
static void
s_on_presence(void *ctx, const char *id, bool online)
{
    (void)ctx;
    s_line("%s %s", online ? "online" : "offline", id);
}

/* The library's thread: a message. */
static void
s_on_message(void *ctx, const mesh_message_t *msg)
{
    (void)ctx;
    char text[64 * 4 + 1];
    size_t k = 0;
    const unsigned char *d = msg->data;
    for (size_t i = 0; i < msg->len && i < 64; i++) {
        if (d[i] >= 0x21 && d[i] <= 0x7e && d[i] != '\\') {
            text[k++] = (char)d[i];
        } else {
            k += (size_t)snprintf(text + k, sizeof text - k, "\\x%02x", d[i]);
        }
    }
    text[k] = '\0';
    s_line("msg %s %s %s %zu %s", msg->from, msg->topic, msg->direct ? "direct" : "all", msg->len,
           text);
}

static void
s_result(mesh_t *m, const char *cmd, mesh_err_t err)
{
    if (err == MESH_OK) {
        s_line("ok %s", cmd);
    } else {
        s_line("error %s: %s: %s", cmd, mesh_strerror(err), mesh_errmsg(m));
    }
}

/* Send n messages of size bytes each (filled with a pattern), waiting out a full queue. */
static mesh_err_t
s_flood(mesh_t *m, const char *to, const char *topic, long n, long size)
{
    if (n < 0 || size < 0 || size > (long)MESH_MESSAGE_MAX * 2) {
        return MESH_EINVAL;
    }
    char *data = malloc((size_t)size + 1);
    if (!data) {
        return MESH_ENOMEM;
    }
    mesh_err_t err = MESH_OK;
    for (long i = 0; i < n && err == MESH_OK; i++) {
        memset(data, 'a' + (int)(i % 26), (size_t)size);
        int waited = 0;
        while ((err = mesh_send(m, to, topic, data, (size_t)size)) == MESH_EBUSY &&
               waited++ < 10000) {
            usleep(1000);
        }
    }
    free(data);
    return err;
}

static void
s_presence(mesh_t *m)
{
    mesh_presence_list_t *list = NULL;
    mesh_err_t err = mesh_presence(m, &list);
    if (err != MESH_OK) {
        s_result(m, "presence", err);
        return;
    }
    size_t n = mesh_presence_list_count(list);
    for (size_t i = 0; i < n; i++) {
        const mesh_presence_t *p = mesh_presence_list_get(list, i);
        s_line("present %s %lld %s %s", p->id, (long long)p->since, p->addr[0] ? p->addr : "-",
               p->name[0] ? p->name : "-");
    }
    s_line("presence %zu", n);
    mesh_presence_list_free(list);
}

static void
s_stats(mesh_t *m)
{
    mesh_message_stats_t st = {.size = sizeof st};
    mesh_err_t err = mesh_message_stats(m, &st);
    if (err != MESH_OK) {
        s_result(m, "stats", err);
        return;
    }
    s_line("stats sent=%llu lost=%llu received=%llu delivered=%llu unsubscribed=%llu "
           "over_member=%llu over_total=%llu",
           (unsigned long long)st.sent, (unsigned long long)st.lost,
           (unsigned long long)st.received, (unsigned long long)st.delivered,
           (unsigned long long)st.unsubscribed, (unsigned long long)st.over_member,
           (unsigned long long)st.over_total);
}

static mesh_err_t
s_put(mesh_t *m, const char *coll, const char *key, const char *value)
{
    mesh_txn_t *txn = NULL;
    mesh_err_t err = mesh_txn_begin(m, coll, &txn);
    if (err == MESH_OK) {
        err = mesh_put(txn, key, strlen(key), value, strlen(value));
    }
    if (err == MESH_OK) {
        err = mesh_txn_commit(&txn, NULL);
    }
    mesh_txn_abort(txn);
    return err;
}

/* Run one line of input; false for /quit. */
static bool
s_command(mesh_t *m, char *line, const char *topic)
{
    char *save = NULL, *cmd = line;
    if (line[0] != '/') {
        s_result(m, "say", mesh_send(m, NULL, topic, line, strlen(line)));
        return true;
    }
    cmd = strtok_r(line, " ", &save);
    char *a1 = strtok_r(NULL, " ", &save);
    if (strcmp(cmd, "/quit") == 0) {
        return false;
    } else if (strcmp(cmd, "/presence") == 0) {
        s_presence(m);
    } else if (strcmp(cmd, "/stats") == 0) {
        s_stats(m);
    } else if (strcmp(cmd, "/say") == 0 && a1) {
        char *text = save ? save : "";
        s_result(m, "say", mesh_send(m, NULL, a1, text, strlen(text)));
    } else if (strcmp(cmd, "/to") == 0 && a1) {
        char *t = strtok_r(NULL, " ", &save), *text = save ? save : "";
        s_result(m, "to", t ? mesh_send(m, a1, t, text, strlen(text)) : MESH_EINVAL);
    } else if ((strcmp(cmd, "/flood") == 0 || strcmp(cmd, "/big") == 0) && a1) {
        bool big = cmd[1] == 'b';
        char *t = strtok_r(NULL, " ", &save), *n = strtok_r(NULL, " ", &save);
        char *size = big ? n : strtok_r(NULL, " ", &save);
        const char *to = strcmp(a1, "all") == 0 ? NULL : a1;
        mesh_err_t err =
            t && size ? s_flood(m, to, t, big ? 1 : strtol(n, NULL, 10), strtol(size, NULL, 10))
                      : MESH_EINVAL;
        s_result(m, cmd + 1, err);
    } else if (strcmp(cmd, "/put") == 0 && a1) {
        char *key = strtok_r(NULL, " ", &save), *value = save ? save : "";
        s_result(m, "put", key ? s_put(m, a1, key, value) : MESH_EINVAL);
    } else {
        s_line("error %s: unknown command or missing arguments", cmd);
    }
    return true;
}

static int
s_usage(void)
{
    fprintf(stderr, "usage: chat --home HOME [--listen EP] [--sub PREFIX]... [--topic T] "
                    "[--log-level error|warn|info|debug]\n");
    return 2;
}

int
main(int argc, char **argv)
{
    const char *home = NULL, *listen = "tcp://127.0.0.1:0", *topic = "chat";
    const char *subs[S_SUBS_MAX];
    size_t nsubs = 0;
    int level = MESH_LOG_WARN;
    for (int i = 1; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) {
            return s_usage();
        } else if (strcmp(argv[i], "--home") == 0) {
            home = v;
        } else if (strcmp(argv[i], "--listen") == 0) {
            listen = v;
        } else if (strcmp(argv[i], "--topic") == 0) {
            topic = v;
        } else if (strcmp(argv[i], "--sub") == 0 && nsubs < S_SUBS_MAX) {
            subs[nsubs++] = v;
        } else if (strcmp(argv[i], "--log-level") == 0) {
            level = strcmp(v, "error") == 0   ? MESH_LOG_ERROR
                    : strcmp(v, "info") == 0  ? MESH_LOG_INFO
                    : strcmp(v, "debug") == 0 ? MESH_LOG_DEBUG
                                              : MESH_LOG_WARN;
        } else {
            return s_usage();
        }
        i++;
    }
    if (!home) {
        return s_usage();
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = s_on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    char errbuf[512] = "";
    mesh_options_t o = {.size = sizeof o,
                        .home = home,
                        .listen = listen,
                        .log = s_log,
                        .log_level = level,
                        .errbuf = errbuf,
                        .errbuf_len = sizeof errbuf};
    mesh_t *m = NULL;
    mesh_err_t err = mesh_open(&o, &m);
    if (err != MESH_OK) {
        fprintf(stderr, "chat: cannot open '%s': %s: %s\n", home, mesh_strerror(err), errbuf);
        return 1;
    }
    char id[MESH_ID_TEXT_LEN + 1];
    uint64_t sub = 0;
    err = mesh_device_id(m, id, sizeof id);
    if (err == MESH_OK) {
        err = mesh_presence_watch(m, s_on_presence, NULL);
    }
    for (size_t i = 0; err == MESH_OK && i < (nsubs ? nsubs : 1); i++) {
        err = mesh_subscribe(m, nsubs ? subs[i] : "", s_on_message, NULL, &sub);
    }
    if (err != MESH_OK) {
        fprintf(stderr, "chat: %s: %s\n", mesh_strerror(err), mesh_errmsg(m));
        mesh_close(m);
        return 1;
    }
    s_line("ready %s %s", id, listen);
    char line[4096];
    size_t have = 0;
    bool eof = false;
    while (!s_stop && !eof) {
        struct pollfd pfd = {.fd = 0, .events = POLLIN};
        int r = poll(&pfd, 1, 100);
        if (r < 0 && errno != EINTR) {
            break;
        }
        if (r <= 0) {
            continue;
        }
        ssize_t got = read(0, line + have, sizeof line - 1 - have);
        if (got <= 0) {
            eof = true;
            got = 0;
        }
        have += (size_t)got;
        line[have] = '\0';
        char *nl;
        while (!s_stop && (nl = memchr(line, '\n', have))) {
            *nl = '\0';
            size_t used = (size_t)(nl - line) + 1;
            bool go = line[0] == '\0' || s_command(m, line, topic);
            memmove(line, nl + 1, have - used);
            have -= used;
            line[have] = '\0';
            if (!go) {
                s_stop = 1;
            }
        }
        if (have == sizeof line - 1) {
            have = 0; /* a line too long: dropped */
        }
    }
    mesh_close(m);
    return 0;
}
