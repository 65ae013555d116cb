/* tests/bench/bench_reload.c: what opening a node costs when it holds many sets of removed
 * devices back (PROTOCOL §8.2): each reload of membership (every open, every change of
 * "_mesh") reads every held set of a removed device for rm records that name a member (the
 * provisional frozen record). Node X adds Y (which never syncs: X waits for its frozen
 * record, so nothing is rejected) and K removed devices; each removed device writes S sets,
 * the last with an rm record of its own naming Y, and X imports them all: K * S sets held
 * back (under the caps of §8.1: at most 1,024 per device, 4,096 in all), K provisional
 * frozen records published. Then the wall time of mesh_open on X (median of 7), against
 * the same store's twin Z that holds the same sets back from devices it never added (not
 * members, not removed: no scan). --sets S (default 1000), --devices K (default 4).
 * Prints figures only: no pass or fail. Layer: tests. Third-party: none.
 * SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

#define S_SETS_DEFAULT    1000u
#define S_DEVICES_DEFAULT 4u
#define S_DEVICES_MAX     4u /* 4,096 held sets in all (HELD_SETS_MAX) */
#define S_OPENS           7

static void
s_put(mesh_t *m, const char *key, const char *value)
{
    mesh_txn_t *t = NULL;
    bench_check(m, mesh_txn_begin(m, "notes", &t), "begin");
    bench_check(m, mesh_put(t, key, strlen(key), value, strlen(value)), "put");
    bench_check(m, mesh_txn_commit(&t, NULL), "commit");
}

static void
s_import(mesh_t *from, mesh_t *to)
{
    void *b = NULL;
    size_t len = 0;
    mesh_import_report_t rep = {.size = sizeof rep};
    bench_check(from, mesh_export(from, NULL, 0, NULL, 0, &b, &len), "export");
    mesh_err_t err = mesh_import(to, b, len, &rep);
    if (err != MESH_OK && err != MESH_EUNPAIRED) {
        bench_check(to, err, "import");
    }
    mesh_free(rep.text);
    mesh_free(b);
}

/* Median wall time of S_OPENS opens of home, in ms. */
static double
s_open_ms(const char *home, const char *name)
{
    double t[S_OPENS];
    for (int i = 0; i < S_OPENS; i++) {
        double t0 = bench_read_clock();
        mesh_t *m = bench_open(home, false, name);
        t[i] = (bench_read_clock() - t0) * 1e3;
        mesh_close(m);
    }
    for (int i = 1; i < S_OPENS; i++) { /* insertion sort */
        for (int j = i; j > 0 && t[j] < t[j - 1]; j--) {
            double x = t[j];
            t[j] = t[j - 1];
            t[j - 1] = x;
        }
    }
    return t[S_OPENS / 2];
}

static unsigned
s_arg(int argc, char **argv, const char *flag, unsigned def)
{
    for (int i = 1; i + 1 < argc; i++) {
        if (strcmp(argv[i], flag) == 0) {
            return (unsigned)strtoul(argv[i + 1], NULL, 10);
        }
    }
    return def;
}

int
main(int argc, char **argv)
{
    unsigned sets = s_arg(argc, argv, "--sets", S_SETS_DEFAULT);
    unsigned devices = s_arg(argc, argv, "--devices", S_DEVICES_DEFAULT);
    if (devices == 0 || devices > S_DEVICES_MAX || sets == 0 || sets > 1000) {
        bench_die("--devices 1..%u, --sets 1..1000", S_DEVICES_MAX);
    }
    const char *hx = bench_make_temp("x"), *hy = bench_make_temp("y"), *hz = bench_make_temp("z");
    mesh_t *x = bench_open(hx, true, "x"), *y = bench_open(hy, true, "y"),
           *z = bench_open(hz, true, "z");
    char idy[MESH_ID_TEXT_LEN + 1];
    bench_check(y, mesh_device_id(y, idy, sizeof idy), "id");
    bench_check(x, mesh_peer_add(x, idy, NULL, NULL, 0), "add y");
    bench_check(z, mesh_peer_add(z, idy, NULL, NULL, 0), "add y");
    for (unsigned k = 0; k < devices; k++) {
        char tag[16], id[MESH_ID_TEXT_LEN + 1], key[32];
        snprintf(tag, sizeof tag, "r%u", k);
        const char *hr = bench_make_temp(tag);
        mesh_t *r = bench_open(hr, true, tag);
        bench_check(r, mesh_device_id(r, id, sizeof id), "id");
        bench_check(x, mesh_peer_add(x, id, NULL, NULL, 0), "add r");
        bench_check(x, mesh_peer_remove(x, id), "remove r");
        for (unsigned s = 0; s + 1 < sets; s++) {
            snprintf(key, sizeof key, "k%u", s);
            s_put(r, key, "a value of a removed device");
        }
        bench_check(r, mesh_peer_remove(r, idy), "r removes y"); /* its last set */
        s_import(r, x);
        s_import(r, z);
        mesh_close(r);
    }
    mesh_held_summary_t hs = {.size = sizeof hs}, zs = {.size = sizeof zs};
    bench_check(x, mesh_held_summary(x, &hs), "held");
    bench_check(z, mesh_held_summary(z, &zs), "held");
    mesh_close(x);
    mesh_close(y);
    mesh_close(z);
    double tx = s_open_ms(hx, "x"), tz = s_open_ms(hz, "z");
    printf("bench_reload: %u removed device(s) x %u set(s): X holds %llu sets back (%llu bytes), "
           "Z %llu (%llu bytes)\n",
           devices, sets, (unsigned long long)hs.sets, (unsigned long long)hs.bytes,
           (unsigned long long)zs.sets, (unsigned long long)zs.bytes);
    printf("bench_reload: mesh_open, median of %d: X (removed devices' sets scanned) %.1f ms, "
           "Z (non-members' sets, no scan) %.1f ms: the scan costs %.1f ms, %.1f us per held "
           "set\n",
           S_OPENS, tx, tz, tx - tz, hs.sets ? (tx - tz) * 1e3 / (double)hs.sets : 0.0);
    bench_clean_up();
    return 0;
}
