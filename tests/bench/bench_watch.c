/* tests/bench/bench_watch.c: how soon a change on one device reaches another device's watch
 * callback (issue 19: under 20 ms on loopback, median and p99 of 1,000). Two online nodes in
 * this process, each with its own home, its own loop thread and its own CURVE session over
 * 127.0.0.1, as two apps on two machines would be: A commits one put at a time (a signed
 * change set, a durable commit), B's mesh_watch callback notes when the key arrives; the
 * next put goes once it did. Beside it, the floor of the same path without sync: A's own
 * watch seeing A's commit (the feed's own latency), in the same run.
 *   bench_watch [--items N]   (default 1,000 changes; BENCH_ITEMS is not read here)
 * Layer: tests. Third-party: none. SPDX-License-Identifier: MIT */
#include "common.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define S_DEADLINE_S 20 /* per change, and to connect */

typedef struct s_seen {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    char tag;      /* the first letter of this run's keys */
    uint64_t want; /* the number the next key carries */
    double at;     /* when the callback saw it (0: not yet) */
} s_seen_t;

static void
s_on_change(void *ctx, const mesh_change_t *c, bool reset)
{
    s_seen_t *s = ctx;
    double now = bench_read_clock();
    (void)reset;
    char key[32];
    pthread_mutex_lock(&s->lock);
    snprintf(key, sizeof key, "%c%08llu", s->tag, (unsigned long long)s->want);
    if (c->key_len == strlen(key) && memcmp(c->key, key, c->key_len) == 0 && s->at == 0) {
        s->at = now;
        pthread_cond_signal(&s->cond);
    }
    pthread_mutex_unlock(&s->lock);
}

/* Open an online node listening on an ephemeral port of 127.0.0.1; its endpoint into ep. */
static mesh_t *
s_open(const char *home, const char *name, char *ep, size_t ep_len)
{
    mesh_options_t o = {.size = sizeof o,
                        .home = home,
                        .create = true,
                        .name = name,
                        .listen = "tcp://127.0.0.1:0"};
    mesh_t *m = NULL;
    bench_check(NULL, mesh_open(&o, &m), "mesh_open");
    time_t end = time(NULL) + S_DEADLINE_S;
    ep[0] = '\0';
    while (!ep[0] && time(NULL) <= end) {
        mesh_status_t *st = NULL;
        mesh_status_device_t dev = {.size = sizeof dev};
        bench_check(m, mesh_status(m, &st), "mesh_status");
        bench_check(m, mesh_status_device(st, &dev), "mesh_status_device");
        snprintf(ep, ep_len, "%s", dev.listen ? dev.listen : "");
        mesh_status_free(st);
        if (!ep[0]) {
            usleep(10000);
        }
    }
    if (!ep[0]) {
        bench_die("%s: no endpoint published", name);
    }
    return m;
}

static int
s_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Put n keys on writer, one at a time, each once seen's callback had the one before; the
 * latency of each into ms[]. */
static void
s_run(mesh_t *writer, s_seen_t *seen, size_t n, double *ms)
{
    for (size_t i = 0; i < n; i++) {
        char key[32];
        pthread_mutex_lock(&seen->lock);
        seen->want = i;
        seen->at = 0;
        pthread_mutex_unlock(&seen->lock);
        snprintf(key, sizeof key, "%c%08llu", seen->tag, (unsigned long long)i);
        mesh_txn_t *txn = NULL;
        bench_check(writer, mesh_txn_begin(writer, "feed", &txn), "mesh_txn_begin");
        double t0 = bench_read_clock();
        bench_check(writer, mesh_put(txn, key, strlen(key), "v", 1), "mesh_put");
        bench_check(writer, mesh_txn_commit(&txn, NULL), "mesh_txn_commit");
        struct timespec dl;
        clock_gettime(CLOCK_REALTIME, &dl);
        dl.tv_sec += S_DEADLINE_S;
        pthread_mutex_lock(&seen->lock);
        while (seen->at == 0) {
            if (pthread_cond_timedwait(&seen->cond, &seen->lock, &dl) != 0) {
                pthread_mutex_unlock(&seen->lock);
                bench_die("change %zu not seen in %d s", i, S_DEADLINE_S);
            }
        }
        ms[i] = (seen->at - t0) * 1000.0;
        pthread_mutex_unlock(&seen->lock);
    }
}

static void
s_print(const char *what, double *ms, size_t n)
{
    qsort(ms, n, sizeof ms[0], s_cmp);
    size_t p99 = (n * 99 + 99) / 100;
    printf("%-34s median %7.2f ms   p99 %7.2f ms   max %7.2f ms\n", what, ms[n / 2],
           ms[(p99 ? p99 : 1) - 1], ms[n - 1]);
}

int
main(int argc, char **argv)
{
    size_t n = bench_parse_args("bench_watch", argc, argv);
    if (argc < 2) {
        n = 1000; /* (not BENCH_ITEMS, which sizes the stores of the other benches) */
    }
    bench_print_versions();
    const char *dir_a = bench_make_temp("a"), *dir_b = bench_make_temp("b");
    char ep_a[256], ep_b[256], id_a[MESH_ID_TEXT_LEN + 1], id_b[MESH_ID_TEXT_LEN + 1];
    mesh_t *a = s_open(dir_a, "alpha", ep_a, sizeof ep_a);
    mesh_t *b = s_open(dir_b, "beta", ep_b, sizeof ep_b);
    bench_check(a, mesh_device_id(a, id_a, sizeof id_a), "mesh_device_id");
    bench_check(b, mesh_device_id(b, id_b, sizeof id_b), "mesh_device_id");
    const char *addr_a[] = {ep_a}, *addr_b[] = {ep_b};
    bench_check(a, mesh_peer_add(a, id_b, "beta", addr_b, 1), "mesh_peer_add");
    bench_check(b, mesh_peer_add(b, id_a, "alpha", addr_a, 1), "mesh_peer_add");

    s_seen_t on_b = {
        .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER, .tag = 'w'};
    s_seen_t on_a = {
        .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER, .tag = 'o'};
    mesh_watch_t *wb = NULL, *wa = NULL;
    bench_check(b, mesh_watch(b, "feed", NULL, 0, MESH_CURSOR_NOW, s_on_change, &on_b, &wb),
                "mesh_watch");
    /* a first change carries the session up (not timed) */
    double *warm = malloc(sizeof(double));
    double *ms = malloc(n * sizeof(double)), *own = malloc(n * sizeof(double));
    if (!warm || !ms || !own) {
        bench_die("out of memory");
    }
    printf("%zu changes, one put per commit, each sent once the one before reached B's watch\n\n",
           n);
    on_b.tag = 'x';
    s_run(a, &on_b, 1, warm);
    on_b.tag = 'w';
    s_run(a, &on_b, n, ms);
    mesh_unwatch(wb);
    bench_check(a, mesh_watch(a, "feed", NULL, 0, MESH_CURSOR_NOW, s_on_change, &on_a, &wa),
                "mesh_watch");
    s_run(a, &on_a, n, own);
    mesh_unwatch(wa);
    s_print("put on A -> B's watch callback:", ms, n);
    s_print("floor: put on A -> A's own watch:", own, n);
    printf("watch: median %.2f ms, p99 %.2f ms from a commit on A to B's callback (target < 20 "
           "ms), the feed alone %.2f ms\n",
           ms[n / 2], ms[(n * 99 + 99) / 100 - 1], own[n / 2]);
    mesh_close(a);
    mesh_close(b);
    free(warm);
    free(ms);
    free(own);
    bench_remove_temp(dir_a);
    bench_remove_temp(dir_b);
    bench_clean_up();
    return 0;
}
