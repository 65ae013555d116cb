/* tests/tools/extloop.c: an app that runs a node's event loop from its own poll() loop
 * (mesh_fd, mesh_process; include/meshsync.h), as a program with a GUI or server loop of its
 * own would, using the public API only (tests/integration/80-external-loop.sh).
 *
 *   extloop HOME LISTEN SECONDS [--put COLL KEY VALUE] [--until COLL KEY]
 *
 * Opens HOME (made by `meshctl init`) online with external_loop on LISTEN
 * (tcp://127.0.0.1:0 for any port), puts KEY=VALUE if asked, then polls mesh_fd and calls
 * mesh_process whenever it is readable, until KEY is readable in COLL (--until) or SECONDS
 * pass. Prints "got VALUE" when it arrives, then "wakes N per-s R": the times mesh_fd was
 * readable, and their rate (an idle node must not keep its caller busy). Before
 * anything it checks the calls' edges: mesh_fd is -1 and mesh_process MESH_ESTATE on an
 * offline handle. Exit 0: KEY arrived (or no --until and SECONDS passed); 1: it did not;
 * 2: usage or an API error (printed).
 * Layer: tests. Third-party: none. SPDX-License-Identifier: MIT */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "meshsync.h"

static long long
x_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int
x_fail(const char *what, mesh_t *m, mesh_err_t err)
{
    fprintf(stderr, "extloop: %s: %s (%s)\n", what, mesh_strerror(err), m ? mesh_errmsg(m) : "");
    return 2;
}

/* An offline handle has no loop to drive: mesh_fd -1, mesh_process MESH_ESTATE. */
static int
x_check_offline(const char *home)
{
    mesh_options_t o = {.size = sizeof o, .home = home, .offline = true};
    mesh_t *m = NULL;
    mesh_err_t err = mesh_open(&o, &m);
    if (err != MESH_OK) {
        return x_fail("open offline", NULL, err);
    }
    int fd = mesh_fd(m);
    err = mesh_process(m);
    mesh_close(m);
    if (fd != -1 || err != MESH_ESTATE) {
        fprintf(stderr, "extloop: offline handle: mesh_fd %d, mesh_process %s\n", fd,
                mesh_strerror(err));
        return 2;
    }
    return 0;
}

static int
x_put(mesh_t *m, const char *coll, const char *key, const char *value)
{
    mesh_txn_t *txn = NULL;
    mesh_err_t err = mesh_txn_begin(m, coll, &txn);
    if (err == MESH_OK) {
        err = mesh_put(txn, key, strlen(key), value, strlen(value));
        if (err != MESH_OK) {
            mesh_txn_abort(txn);
        }
    }
    if (err == MESH_OK) {
        err = mesh_txn_commit(&txn, NULL);
    }
    return err == MESH_OK ? 0 : x_fail("put", m, err);
}

int
main(int argc, char **argv)
{
    const char *put[3] = {NULL}, *until[2] = {NULL};
    if (argc < 4) {
        fprintf(stderr, "usage: extloop HOME LISTEN SECONDS [--put COLL KEY VALUE] "
                        "[--until COLL KEY]\n");
        return 2;
    }
    for (int i = 4; i < argc; i++) {
        if (strcmp(argv[i], "--put") == 0 && i + 3 < argc) {
            put[0] = argv[i + 1], put[1] = argv[i + 2], put[2] = argv[i + 3];
            i += 3;
        } else if (strcmp(argv[i], "--until") == 0 && i + 2 < argc) {
            until[0] = argv[i + 1], until[1] = argv[i + 2];
            i += 2;
        } else {
            fprintf(stderr, "extloop: unknown argument %s\n", argv[i]);
            return 2;
        }
    }
    int rc = x_check_offline(argv[1]);
    if (rc != 0) {
        return rc;
    }
    char errbuf[512] = "";
    mesh_options_t o = {.size = sizeof o,
                        .home = argv[1],
                        .listen = argv[2],
                        .external_loop = true,
                        .errbuf = errbuf,
                        .errbuf_len = sizeof errbuf};
    mesh_t *m = NULL;
    mesh_err_t err = mesh_open(&o, &m);
    if (err != MESH_OK) {
        fprintf(stderr, "extloop: open: %s (%s)\n", mesh_strerror(err), errbuf);
        return 2;
    }
    if (mesh_fd(m) < 0) {
        mesh_close(m);
        fprintf(stderr, "extloop: an external loop's mesh_fd is %d\n", mesh_fd(m));
        return 2;
    }
    if (put[0] && (rc = x_put(m, put[0], put[1], put[2])) != 0) {
        mesh_close(m);
        return rc;
    }
    long long start = x_now_ms(), deadline = start + atoll(argv[3]) * 1000;
    unsigned long wakes = 0;
    bool got = false;
    while (!got && x_now_ms() < deadline) {
        struct pollfd p = {.fd = mesh_fd(m), .events = POLLIN};
        int n = poll(&p, 1, (int)(deadline - x_now_ms()));
        if (n <= 0) {
            continue;
        }
        wakes++;
        if ((err = mesh_process(m)) != MESH_OK) {
            rc = x_fail("mesh_process", m, err);
            break;
        }
        if (until[0]) {
            void *v = NULL;
            size_t len = 0;
            err = mesh_get(m, until[0], until[1], strlen(until[1]), &v, &len);
            if (err == MESH_OK) {
                printf("got %.*s\n", (int)len, (const char *)v);
                mesh_free(v);
                got = true;
            } else if (err != MESH_ENOTFOUND) {
                rc = x_fail("get", m, err);
                break;
            }
        }
    }
    long long ms = x_now_ms() - start;
    printf("wakes %lu per-s %.1f\n", wakes, ms > 0 ? (double)wakes * 1000.0 / (double)ms : 0.0);
    mesh_close(m);
    if (rc != 0) {
        return rc;
    }
    return !until[0] || got ? 0 : 1;
}
