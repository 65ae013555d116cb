/* tests/bench/baseline.c: the raw baselines that tests/bench/bench_sync.sh sets beside the
 * two-daemon figures, in the same run. `baseline lmdb` inserts a TSV's items into raw LMDB
 * with the commit sizes it is given; `baseline curve` streams messages of given sizes from a
 * ZeroMQ DEALER to a ROUTER over CURVE on 127.0.0.1. A raw baseline, not library code: it
 * includes <lmdb.h> and <zmq.h> directly and links nothing of meshsync. Not named bench_*.c,
 * so `make bench` builds it but does not run it on its own.
 * Layer: tests. Third-party: lmdb.h, zmq.h. SPDX-License-Identifier: MIT */
#include <lmdb.h>
#include <zmq.h>

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define S_MAP_SIZE     ((size_t)1 << 40)   /* 1 TiB, sparse, as tests/bench/common.c */
#define S_FILE_MAX     ((size_t)1 << 34)   /* bytes of one input file, a sanity cap */
#define S_MSG_MAX      ((uint64_t)1 << 30) /* bytes of one CURVE message */
#define S_HWM          64                  /* messages queued per pipe before POLLOUT clears */
#define S_TIMEOUT_S    600u                /* default deadline of the curve run */
#define S_ENDPOINT_MAX 256u

static const char s_usage_text[] =
    "usage: baseline lmdb --tsv FILE --dir DIR (--commits FILE | --per C) [--key-order]\n"
    "       baseline curve (--count N --size S | --sizes FILE) [--timeout SECONDS]\n"
    "                      [--listen-port P] [--connect-port Q]\n"
    "\n"
    "lmdb:  insert each KEY<TAB>VALUE line of FILE in order into a fresh raw LMDB\n"
    "       environment in DIR (made if missing; default durable flags, 1 TiB map, one\n"
    "       unnamed database), committing after each count listed in --commits (one\n"
    "       integer per line; the rest, if any, in one final commit) or every C items.\n"
    "       --key-order: in the order of their keys (LMDB's, sorted untimed) instead.\n"
    "       Prints: raw LMDB[ in key order]: N items in S.SSS s = X items/s (K commits)\n"
    "curve: a ROUTER (CURVE server) and a DEALER (CURVE client) on 127.0.0.1; after one\n"
    "       untimed exchange that completes the handshake, the client sends the messages,\n"
    "       the server takes them all and answers once. Timed from the first send to the\n"
    "       answer. --listen-port binds the server to a fixed port (default: ephemeral);\n"
    "       --connect-port makes the client dial that port instead (a proxy in between).\n"
    "       Prints: raw ZeroMQ CURVE: N messages, B bytes in S.SSS s = X MB/s\n";

/* ---- small helpers ---- */

static void s_die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void s_usage(const char *why) __attribute__((noreturn));

/* Print "baseline: <message>" on stderr and exit 1. */
static void
s_die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("baseline: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

/* Print why (if any) and the usage on stderr, and exit 2. */
static void
s_usage(const char *why)
{
    if (why) {
        fprintf(stderr, "baseline: %s\n", why);
    }
    fputs(s_usage_text, stderr);
    exit(2);
}

static double
s_clock(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Parse all of text as a decimal integer in [min, max]; a usage error (exit 2) if not. */
static uint64_t
s_parse_u64(const char *text, const char *what, uint64_t min, uint64_t max)
{
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || text[0] == '-' || v < min || v > max) {
        fprintf(stderr, "baseline: %s: '%s' is not a number from %llu to %llu\n", what, text,
                (unsigned long long)min, (unsigned long long)max);
        exit(2);
    }
    return (uint64_t)v;
}

/* Read the whole file at path into a new NUL-terminated buffer (caller frees); dies on
 * failure. */
static char *
s_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        s_die("open '%s': %s", path, strerror(errno));
    }
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    if (!buf) {
        s_die("out of memory reading '%s'", path);
    }
    for (;;) {
        if (n + 1 == cap) {
            if (cap >= S_FILE_MAX) {
                s_die("'%s' is larger than %zu bytes", path, S_FILE_MAX);
            }
            char *bigger = realloc(buf, cap * 2);
            if (!bigger) {
                s_die("out of memory reading '%s'", path);
            }
            buf = bigger;
            cap *= 2;
        }
        size_t got = fread(buf + n, 1, cap - 1 - n, f);
        n += got;
        if (got == 0) {
            break;
        }
    }
    if (ferror(f)) {
        s_die("read '%s': %s", path, strerror(errno));
    }
    fclose(f);
    buf[n] = '\0';
    *len = n;
    return buf;
}

/* A file of one non-negative integer per line (blank lines skipped), as a new array
 * (caller frees); dies on anything else. */
static uint64_t *
s_read_numbers(const char *path, uint64_t max, size_t *count)
{
    size_t len = 0, n = 0, cap = 0;
    char *text = s_read_file(path, &len);
    uint64_t *out = NULL;
    char *line = text;
    for (size_t lineno = 1; *line; lineno++) {
        char *nl = strchr(line, '\n');
        char *next = nl ? nl + 1 : line + strlen(line);
        if (nl) {
            *nl = '\0';
        }
        if (*line) {
            char what[64];
            snprintf(what, sizeof what, "line %zu", lineno);
            if (n == cap) {
                cap = cap ? cap * 2 : 1024;
                uint64_t *bigger = realloc(out, cap * sizeof *out);
                if (!bigger) {
                    s_die("out of memory reading '%s'", path);
                }
                out = bigger;
            }
            out[n++] = s_parse_u64(line, what, 0, max);
        }
        line = next;
    }
    free(text);
    *count = n;
    return out;
}

/* ---- raw LMDB ---- */

typedef struct s_item {
    const char *key; /* into the TSV text */
    size_t key_len;
    const char *value;
    size_t value_len;
} s_item_t;

static void
s_mdb_check(int rc, const char *what)
{
    if (rc != MDB_SUCCESS) {
        s_die("raw LMDB: %s: %s", what, mdb_strerror(rc));
    }
}

/* Split the TSV text into items in file order (the text stays owned by the caller and must
 * outlive them); an empty last line is allowed, a line without a tab is not. */
static s_item_t *
s_parse_tsv(const char *path, const char *text, size_t len, size_t *count)
{
    size_t n = 0, cap = 0;
    s_item_t *items = NULL;
    const char *pos = text, *end = text + len;
    for (size_t lineno = 1; pos < end; lineno++) {
        const char *nl = memchr(pos, '\n', (size_t)(end - pos));
        const char *line_end = nl ? nl : end;
        const char *tab = memchr(pos, '\t', (size_t)(line_end - pos));
        if (!tab || tab == pos) {
            s_die("%s: line %zu is not KEY<TAB>VALUE", path, lineno);
        }
        if (n == cap) {
            cap = cap ? cap * 2 : 65536;
            s_item_t *bigger = realloc(items, cap * sizeof *items);
            if (!bigger) {
                s_die("out of memory reading '%s'", path);
            }
            items = bigger;
        }
        items[n].key = pos;
        items[n].key_len = (size_t)(tab - pos);
        items[n].value = tab + 1;
        items[n].value_len = (size_t)(line_end - tab - 1);
        n++;
        pos = nl ? nl + 1 : end;
    }
    if (n == 0) {
        s_die("%s holds no items", path);
    }
    *count = n;
    return items;
}

/* Items by key as LMDB's default comparison orders them: bytes, then the shorter first. */
static int
s_item_cmp(const void *pa, const void *pb)
{
    const s_item_t *a = pa, *b = pb;
    int c = memcmp(a->key, b->key, a->key_len < b->key_len ? a->key_len : b->key_len);
    return c ? c : (a->key_len > b->key_len) - (a->key_len < b->key_len);
}

/* Insert the items in order into a fresh environment in dir, one write transaction per
 * count (then, past the counts, every `per` items, or all the rest in one when per is 0),
 * and print the one-line result. Counts of 0 commit nothing. Only the insert loop is timed;
 * the entry count is checked after it. Dies on any LMDB error. */
static void
s_run_lmdb(const char *dir, const s_item_t *items, size_t n, const uint64_t *counts, size_t ncounts,
           uint64_t per, bool key_order)
{
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        s_die("mkdir '%s': %s", dir, strerror(errno));
    }
    MDB_env *env = NULL;
    MDB_txn *txn = NULL;
    MDB_dbi dbi;
    MDB_stat ms;
    s_mdb_check(mdb_env_create(&env), "env_create");
    s_mdb_check(mdb_env_set_mapsize(env, S_MAP_SIZE), "env_set_mapsize");
    s_mdb_check(mdb_env_open(env, dir, 0, 0600), "env_open");
    s_mdb_check(mdb_txn_begin(env, NULL, 0, &txn), "txn_begin");
    s_mdb_check(mdb_dbi_open(txn, NULL, 0, &dbi), "dbi_open");
    s_mdb_check(mdb_stat(txn, dbi, &ms), "stat");
    s_mdb_check(mdb_txn_commit(txn), "txn_commit");
    if (ms.ms_entries != 0) {
        s_die("'%s' already holds a database with %zu entries", dir, (size_t)ms.ms_entries);
    }

    size_t done = 0, next_count = 0, commits = 0;
    double start = s_clock();
    while (done < n) {
        uint64_t take = next_count < ncounts ? counts[next_count++] : per ? per : n - done;
        if (take == 0) {
            continue;
        }
        size_t stop = take < n - done ? done + (size_t)take : n;
        s_mdb_check(mdb_txn_begin(env, NULL, 0, &txn), "txn_begin");
        for (; done < stop; done++) {
            MDB_val key = {items[done].key_len, (void *)items[done].key};
            MDB_val value = {items[done].value_len, (void *)items[done].value};
            s_mdb_check(mdb_put(txn, dbi, &key, &value, 0), "put");
        }
        s_mdb_check(mdb_txn_commit(txn), "txn_commit");
        commits++;
    }
    double seconds = s_clock() - start;

    s_mdb_check(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn), "txn_begin");
    s_mdb_check(mdb_stat(txn, dbi, &ms), "stat");
    mdb_txn_abort(txn);
    mdb_env_close(env);
    if (ms.ms_entries != n) {
        s_die("raw LMDB holds %zu entries after %zu puts (a key repeats in the TSV)",
              (size_t)ms.ms_entries, n);
    }
    printf("raw LMDB%s: %zu items in %.3f s = %.0f items/s (%zu commits)\n",
           key_order ? " in key order" : "", n, seconds,
           seconds > 0 ? (double)n / seconds : 0.0, commits);
}

static int
s_cmd_lmdb(int argc, char **argv)
{
    const char *tsv = NULL, *commits = NULL, *dir = NULL;
    uint64_t per = 0;
    bool key_order = false;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--key-order") == 0) {
            key_order = true;
            continue;
        }
        if (i + 1 >= argc) {
            s_usage("an option without its value");
        }
        if (strcmp(argv[i], "--tsv") == 0) {
            tsv = argv[++i];
        } else if (strcmp(argv[i], "--commits") == 0) {
            commits = argv[++i];
        } else if (strcmp(argv[i], "--dir") == 0) {
            dir = argv[++i];
        } else if (strcmp(argv[i], "--per") == 0) {
            per = s_parse_u64(argv[++i], "--per", 1, UINT32_MAX);
        } else {
            s_usage("unknown option");
        }
    }
    if (!tsv || !dir || (!commits) == (per == 0)) {
        s_usage("lmdb takes --tsv, --dir and one of --commits or --per");
    }
    size_t len = 0, n = 0, ncounts = 0;
    char *text = s_read_file(tsv, &len);
    s_item_t *items = s_parse_tsv(tsv, text, len, &n);
    uint64_t *counts = commits ? s_read_numbers(commits, UINT32_MAX, &ncounts) : NULL;
    if (key_order) {
        qsort(items, n, sizeof *items, s_item_cmp);
    }
    s_run_lmdb(dir, items, n, counts, ncounts, per, key_order);
    free(counts);
    free(items);
    free(text);
    return 0;
}

/* ---- raw ZeroMQ CURVE ---- */

static void
s_zmq_check(int rc, const char *what)
{
    if (rc != 0) {
        s_die("zmq: %s: %s", what, zmq_strerror(zmq_errno()));
    }
}

static void
s_set_int(void *sock, int option, int value, const char *what)
{
    s_zmq_check(zmq_setsockopt(sock, option, &value, sizeof value), what);
}

/* Wait for events on the poll items until the deadline (a CLOCK_MONOTONIC time); dies
 * when it passes first. */
static void
s_poll(zmq_pollitem_t *items, int n, double deadline, const char *waiting_for)
{
    for (;;) {
        double left = deadline - s_clock();
        if (left <= 0) {
            s_die("curve: no %s before the deadline", waiting_for);
        }
        int rc = zmq_poll(items, n, (long)(left * 1000) + 1);
        if (rc > 0) {
            return;
        }
        if (rc < 0 && zmq_errno() != EINTR) {
            s_die("zmq: poll: %s", zmq_strerror(zmq_errno()));
        }
    }
}

/* Receive one message from the ROUTER: its routing id into rid (*rid_len bytes) and the
 * size of its one payload part; false when none is waiting. */
static bool
s_router_recv(void *router, uint8_t *rid, size_t *rid_len, size_t *size)
{
    int got = zmq_recv(router, rid, 255, ZMQ_DONTWAIT);
    if (got < 0) {
        if (zmq_errno() == EAGAIN) {
            return false;
        }
        s_die("zmq: router recv: %s", zmq_strerror(zmq_errno()));
    }
    *rid_len = (size_t)got;
    zmq_msg_t msg;
    zmq_msg_init(&msg);
    if (zmq_msg_recv(&msg, router, ZMQ_DONTWAIT) < 0) {
        s_die("zmq: router recv payload: %s", zmq_strerror(zmq_errno()));
    }
    if (zmq_msg_more(&msg)) {
        s_die("curve: a message of more than one part");
    }
    *size = zmq_msg_size(&msg);
    zmq_msg_close(&msg);
    return true;
}

static void
s_router_reply(void *router, const uint8_t *rid, size_t rid_len, const char *text)
{
    if (zmq_send(router, rid, rid_len, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
        zmq_send(router, text, strlen(text), ZMQ_DONTWAIT) < 0) {
        s_die("zmq: router send: %s", zmq_strerror(zmq_errno()));
    }
}

/* Wait for the server's one-part answer on the DEALER. */
static void
s_dealer_await(void *dealer, double deadline, const char *what)
{
    zmq_pollitem_t item = {dealer, 0, ZMQ_POLLIN, 0};
    char reply[16];
    s_poll(&item, 1, deadline, what);
    if (zmq_recv(dealer, reply, sizeof reply, ZMQ_DONTWAIT) < 0) {
        s_die("zmq: dealer recv: %s", zmq_strerror(zmq_errno()));
    }
}

/* The ROUTER (CURVE server, one context of its own) bound on 127.0.0.1, and the DEALER
 * (CURVE client, another context: two I/O threads, as two daemons have) connected to it or
 * to connect_port. Both with fresh key pairs, linger 0 and S_HWM. */
static void
s_curve_open(void *ctx_server, void *ctx_client, unsigned listen_port, unsigned connect_port,
             void **router, void **dealer)
{
    char server_pk[41], server_sk[41], client_pk[41], client_sk[41];
    char endpoint[S_ENDPOINT_MAX];
    size_t endpoint_len = sizeof endpoint;
    if (zmq_curve_keypair(server_pk, server_sk) != 0 ||
        zmq_curve_keypair(client_pk, client_sk) != 0) {
        s_die("zmq: curve_keypair: %s (libzmq without CURVE?)", zmq_strerror(zmq_errno()));
    }
    *router = zmq_socket(ctx_server, ZMQ_ROUTER);
    *dealer = zmq_socket(ctx_client, ZMQ_DEALER);
    if (!*router || !*dealer) {
        s_die("zmq: socket: %s", zmq_strerror(zmq_errno()));
    }
    s_set_int(*router, ZMQ_LINGER, 0, "router linger");
    s_set_int(*router, ZMQ_SNDHWM, S_HWM, "router sndhwm");
    s_set_int(*router, ZMQ_RCVHWM, S_HWM, "router rcvhwm");
    s_set_int(*router, ZMQ_CURVE_SERVER, 1, "curve server");
    s_zmq_check(zmq_setsockopt(*router, ZMQ_CURVE_SECRETKEY, server_sk, 40), "server key");
    snprintf(endpoint, sizeof endpoint, "tcp://127.0.0.1:%u", listen_port);
    s_zmq_check(zmq_bind(*router, endpoint), "bind");
    s_zmq_check(zmq_getsockopt(*router, ZMQ_LAST_ENDPOINT, endpoint, &endpoint_len),
                "last endpoint");
    if (connect_port) {
        snprintf(endpoint, sizeof endpoint, "tcp://127.0.0.1:%u", connect_port);
    }

    s_set_int(*dealer, ZMQ_LINGER, 0, "dealer linger");
    s_set_int(*dealer, ZMQ_SNDHWM, S_HWM, "dealer sndhwm");
    s_set_int(*dealer, ZMQ_RCVHWM, S_HWM, "dealer rcvhwm");
    s_zmq_check(zmq_setsockopt(*dealer, ZMQ_CURVE_SERVERKEY, server_pk, 40), "server public");
    s_zmq_check(zmq_setsockopt(*dealer, ZMQ_CURVE_PUBLICKEY, client_pk, 40), "client public");
    s_zmq_check(zmq_setsockopt(*dealer, ZMQ_CURVE_SECRETKEY, client_sk, 40), "client secret");
    s_zmq_check(zmq_connect(*dealer, endpoint), "connect");
}

/* Stream the messages (sizes[i] bytes each) from the DEALER to the ROUTER in one thread,
 * driven by zmq_poll, and print the one-line result. Dies at the deadline. */
static void
s_run_curve(const uint64_t *sizes, size_t n, unsigned timeout_s, unsigned listen_port,
            unsigned connect_port)
{
    uint64_t total = 0, largest = 1;
    for (size_t i = 0; i < n; i++) {
        total += sizes[i];
        largest = sizes[i] > largest ? sizes[i] : largest;
    }
    uint8_t *payload = malloc((size_t)largest);
    if (!payload) {
        s_die("out of memory for a %llu-byte message", (unsigned long long)largest);
    }
    for (uint64_t i = 0; i < largest; i++) {
        payload[i] = (uint8_t)(i * 131u + 7u); /* CURVE does not compress: any bytes do */
    }
    void *ctx_server = zmq_ctx_new(), *ctx_client = zmq_ctx_new();
    void *router = NULL, *dealer = NULL;
    if (!ctx_server || !ctx_client) {
        s_die("zmq: ctx_new: %s", zmq_strerror(zmq_errno()));
    }
    s_curve_open(ctx_server, ctx_client, listen_port, connect_port, &router, &dealer);
    double deadline = s_clock() + timeout_s;
    uint8_t rid[256];
    size_t rid_len = 0, size = 0;

    /* Untimed: one exchange, so the TCP connection and CURVE handshake are done. */
    s_zmq_check(zmq_send(dealer, "hi", 2, 0) == 2 ? 0 : -1, "dealer send");
    zmq_pollitem_t first = {router, 0, ZMQ_POLLIN, 0};
    do {
        s_poll(&first, 1, deadline, "handshake");
    } while (!s_router_recv(router, rid, &rid_len, &size));
    s_router_reply(router, rid, rid_len, "go");
    s_dealer_await(dealer, deadline, "answer to the first message");

    size_t sent = 0, received = 0;
    uint64_t received_bytes = 0;
    double start = s_clock();
    while (received < n) {
        zmq_pollitem_t items[2] = {{router, 0, ZMQ_POLLIN, 0},
                                   {dealer, 0, sent < n ? ZMQ_POLLOUT : 0, 0}};
        s_poll(items, 2, deadline, "progress");
        while (sent < n && (items[1].revents & ZMQ_POLLOUT)) {
            if (zmq_send(dealer, payload, (size_t)sizes[sent], ZMQ_DONTWAIT) < 0) {
                if (zmq_errno() == EAGAIN) {
                    break;
                }
                s_die("zmq: dealer send: %s", zmq_strerror(zmq_errno()));
            }
            sent++;
        }
        while (received < n && s_router_recv(router, rid, &rid_len, &size)) {
            received++;
            received_bytes += size;
        }
    }
    s_router_reply(router, rid, rid_len, "done");
    s_dealer_await(dealer, deadline, "answer after the last message");
    double seconds = s_clock() - start;

    if (received_bytes != total) {
        s_die("curve: %llu bytes received, %llu sent", (unsigned long long)received_bytes,
              (unsigned long long)total);
    }
    zmq_close(dealer);
    zmq_close(router);
    zmq_ctx_term(ctx_client);
    zmq_ctx_term(ctx_server);
    free(payload);
    printf("raw ZeroMQ CURVE: %zu messages, %llu bytes in %.3f s = %.1f MB/s\n", n,
           (unsigned long long)total, seconds, seconds > 0 ? (double)total / seconds / 1e6 : 0.0);
}

static int
s_cmd_curve(int argc, char **argv)
{
    const char *sizes_file = NULL;
    uint64_t count = 0, size = 0, timeout = S_TIMEOUT_S, listen_port = 0, connect_port = 0;
    bool have_size = false;
    for (int i = 2; i < argc; i++) {
        if (i + 1 >= argc) {
            s_usage("an option without its value");
        }
        if (strcmp(argv[i], "--count") == 0) {
            count = s_parse_u64(argv[++i], "--count", 1, UINT32_MAX);
        } else if (strcmp(argv[i], "--size") == 0) {
            size = s_parse_u64(argv[++i], "--size", 0, S_MSG_MAX);
            have_size = true;
        } else if (strcmp(argv[i], "--sizes") == 0) {
            sizes_file = argv[++i];
        } else if (strcmp(argv[i], "--timeout") == 0) {
            timeout = s_parse_u64(argv[++i], "--timeout", 1, 86400);
        } else if (strcmp(argv[i], "--listen-port") == 0) {
            listen_port = s_parse_u64(argv[++i], "--listen-port", 1, 65535);
        } else if (strcmp(argv[i], "--connect-port") == 0) {
            connect_port = s_parse_u64(argv[++i], "--connect-port", 1, 65535);
        } else {
            s_usage("unknown option");
        }
    }
    if (sizes_file ? count || have_size : !count || !have_size) {
        s_usage("curve takes --count and --size, or --sizes");
    }
    size_t n = (size_t)count;
    uint64_t *sizes = NULL;
    if (sizes_file) {
        sizes = s_read_numbers(sizes_file, S_MSG_MAX, &n);
        if (n == 0) {
            s_die("%s lists no sizes", sizes_file);
        }
    } else {
        sizes = malloc(n * sizeof *sizes);
        if (!sizes) {
            s_die("out of memory for %zu sizes", n);
        }
        for (size_t i = 0; i < n; i++) {
            sizes[i] = size;
        }
    }
    s_run_curve(sizes, n, (unsigned)timeout, (unsigned)listen_port, (unsigned)connect_port);
    free(sizes);
    return 0;
}

int
main(int argc, char **argv)
{
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        fputs(s_usage_text, stdout);
        return 0;
    }
    if (argc >= 2 && strcmp(argv[1], "lmdb") == 0) {
        return s_cmd_lmdb(argc, argv);
    }
    if (argc >= 2 && strcmp(argv[1], "curve") == 0) {
        return s_cmd_curve(argc, argv);
    }
    s_usage(NULL);
}
