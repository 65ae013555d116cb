/* tests/bench/bench_status.c: what the status writer costs with many collections.
 * Two nodes in this process (each with its loop, on 127.0.0.1): A holds N collections of one
 * key each (--colls N, default 4000, at most MESH_COLLS_MAX - 1; BENCH_COLLS), B syncs them all; then, with both in
 * sync and idle, the CPU time the process spends over 10 s (the loops publish their status
 * every 250 ms) and the wall time of one mesh_status on B. An O(N^2) count shows as a share
 * of a core that grows fourfold when N doubles. Prints figures only: no pass or fail.
 * Layer: tests. Third-party: none. SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "common.h"

#define S_COLLS_DEFAULT 4000u
#define S_SYNC_S        1800 /* deadline for B to hold every collection */
#define S_IDLE_S        10   /* seconds of idle CPU measured */

static double
s_cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec / 1e6;
}

static mesh_t *
s_open(const char *dir, bool offline)
{
    mesh_t *m = NULL;
    char errbuf[256] = "";
    mesh_options_t o = {.size = sizeof o,
                        .home = dir,
                        .create = true,
                        .offline = offline,
                        .listen = offline ? NULL : "tcp://127.0.0.1:0",
                        .errbuf = errbuf,
                        .errbuf_len = sizeof errbuf};
    if (mesh_open(&o, &m) != MESH_OK) {
        bench_die("open %s: %s", dir, errbuf);
    }
    return m;
}

static size_t
s_colls(mesh_t *m)
{
    mesh_coll_list_t *l = NULL;
    bench_check(m, mesh_collections(m, &l), "collections");
    size_t n = mesh_coll_list_count(l);
    mesh_coll_list_free(l);
    return n;
}

int
main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    size_t colls = S_COLLS_DEFAULT;
    const char *env = getenv("BENCH_COLLS");
    if (env && *env) {
        colls = strtoul(env, NULL, 10);
    }
    for (int i = 1; i + 1 < argc; i++) {
        if (strcmp(argv[i], "--colls") == 0) {
            colls = strtoul(argv[++i], NULL, 10);
        }
    }
    if (colls == 0 || colls >= MESH_COLLS_MAX) { /* (_mesh is one of a home's collections) */
        fprintf(stderr, "bench_status: --colls takes 1 to %u\n", MESH_COLLS_MAX - 1);
        return 2;
    }
    const char *da = bench_make_temp("status-a"), *db = bench_make_temp("status-b");
    char ida[MESH_ID_TEXT_LEN + 1], idb[MESH_ID_TEXT_LEN + 1], name[32];
    mesh_t *a = s_open(da, true);
    double t0 = bench_read_clock();
    for (size_t i = 0; i < colls; i++) {
        mesh_txn_t *txn = NULL;
        snprintf(name, sizeof name, "c%07zu", i);
        bench_check(a, mesh_txn_begin(a, name, &txn), "begin");
        bench_check(a, mesh_put(txn, "k", 1, "v", 1), "put");
        bench_check(a, mesh_txn_commit(&txn, NULL), "commit");
    }
    printf("A: %zu collections written in %.1f s\n", colls, bench_read_clock() - t0);
    mesh_t *b = s_open(db, true);
    bench_check(a, mesh_device_id(a, ida, sizeof ida), "id");
    bench_check(b, mesh_device_id(b, idb, sizeof idb), "id");
    bench_check(a, mesh_peer_add(a, idb, "b", NULL, 0), "peer add");
    mesh_close(a);
    mesh_close(b);
    a = s_open(da, false);
    mesh_status_t *st = NULL;
    mesh_status_device_t dev = {.size = sizeof dev};
    bench_check(a, mesh_status(a, &st), "status");
    bench_check(a, mesh_status_device(st, &dev), "status");
    char listen[256];
    snprintf(listen, sizeof listen, "%s", dev.listen);
    mesh_status_free(st);
    b = s_open(db, false);
    const char *addrs[] = {listen};
    bench_check(b, mesh_peer_add(b, ida, "a", addrs, 1), "peer add");
    t0 = bench_read_clock();
    while (s_colls(b) < colls) {
        if (bench_read_clock() - t0 > S_SYNC_S) {
            bench_die("B holds %zu of %zu collections after %d s", s_colls(b), colls, S_SYNC_S);
        }
        sleep(1);
    }
    printf("B: all %zu collections after %.1f s\n", colls, bench_read_clock() - t0);
    sleep(3); /* the last acknowledgements and vectors */
    double cpu = s_cpu_seconds(), wall = bench_read_clock();
    sleep(S_IDLE_S);
    cpu = s_cpu_seconds() - cpu;
    wall = bench_read_clock() - wall;
    printf("idle, in sync: %.2f s of CPU in %.1f s (%.0f%% of one core), %zu collections\n", cpu,
           wall, 100 * cpu / wall, colls);
    for (int i = 0; i < 3; i++) {
        t0 = bench_read_clock();
        bench_check(b, mesh_status(b, &st), "status");
        bench_check(b, mesh_status_device(st, &dev), "status");
        printf("mesh_status on B: %.1f ms (figures of transaction %llu, %zu collection rows)\n",
               1000 * (bench_read_clock() - t0), (unsigned long long)dev.txnid, dev.colls);
        mesh_status_free(st);
        sleep(1);
    }
    mesh_close(b);
    mesh_close(a);
    bench_remove_temp(db);
    bench_remove_temp(da);
    return 0;
}
