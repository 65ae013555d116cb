/* tests/bench/bench_status_cmd.c: how long the whole `meshctl status` command takes against a
 * running daemon whose home holds many items (issue 19: under 50 ms with 1,000,000), beside
 * the floors of starting any process (`true`), of reading the daemon's status file
 * (`cat HOME/status`) and of starting meshctl itself with its libraries (`--version`). One home of N items (one collection, transactions of 10,000), one
 * `meshctl daemon` on it (127.0.0.1, no discovery); then each command R times in turn, each
 * timed from fork to exit (wall clock), its output to /dev/null. Prints median and p99.
 *   bench_status_cmd [--items N]   (default 1,000,000; BENCH_ITEMS is not read here)
 *   MESHCTL: the meshctl to run (default build/meshctl); BENCH_STATUS_RUNS: R (default 50)
 * Layer: tests. Third-party: none. SPDX-License-Identifier: MIT */
#include "common.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define S_TXN       10000u /* puts per transaction while filling the home */
#define S_RUNS      50u
#define S_RUNS_MAX  10000u
#define S_DEADLINE  60 /* s: for the daemon to answer status */

static const char *s_meshctl;
static pid_t s_daemon = -1;

/* Run argv to its end with stdout and stderr to /dev/null; its exit status, or -1. The
 * CPU time it took (user and system, ms) into *cpu_ms when not NULL. */
static int
s_run_cpu(char *const argv[], double *cpu_ms)
{
    pid_t pid = fork();
    if (pid < 0) {
        bench_die("fork: %m");
    }
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        if (null >= 0) {
            dup2(null, 1);
            dup2(null, 2);
        }
        execv(argv[0], argv);
        _exit(127);
    }
    int status = 0;
    struct rusage ru;
    if (wait4(pid, &status, 0, &ru) != pid) {
        return -1;
    }
    if (cpu_ms) {
        *cpu_ms = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000.0 +
                  (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1000.0;
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static int
s_run(char *const argv[])
{
    return s_run_cpu(argv, NULL);
}

static int
s_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Time runs of argv (ms[] and cpu[] hold runs each); print the line. Dies when one fails.
 * The CPU time, unlike the wall time, does not grow with the machine's load. */
static double
s_time(const char *what, char *const argv[], size_t runs, double *ms, double *cpu)
{
    for (size_t i = 0; i < runs; i++) {
        double t0 = bench_read_clock();
        int rc = s_run_cpu(argv, &cpu[i]);
        ms[i] = (bench_read_clock() - t0) * 1000.0;
        if (rc != 0) {
            bench_die("%s exited %d", what, rc);
        }
    }
    qsort(ms, runs, sizeof ms[0], s_cmp);
    qsort(cpu, runs, sizeof cpu[0], s_cmp);
    size_t p99 = (runs * 99 + 99) / 100;
    printf("%-34s median %7.2f ms   p99 %7.2f ms   CPU median %6.2f ms\n", what, ms[runs / 2],
           ms[(p99 ? p99 : 1) - 1], cpu[runs / 2]);
    return ms[runs / 2];
}

static void
s_fill(const char *home, size_t n)
{
    mesh_t *m = bench_open(home, true, "alpha");
    char key[32], value[40];
    for (size_t i = 0; i < n;) {
        mesh_txn_t *txn = NULL;
        bench_check(m, mesh_txn_begin(m, "bench", &txn), "mesh_txn_begin");
        for (size_t k = 0; k < S_TXN && i < n; k++, i++) {
            int kl = snprintf(key, sizeof key, "key%09zu", i);
            int vl = snprintf(value, sizeof value, "value of item %zu", i);
            bench_check(m, mesh_put(txn, key, (size_t)kl, value, (size_t)vl), "mesh_put");
        }
        bench_check(m, mesh_txn_commit(&txn, NULL), "mesh_txn_commit");
    }
    mesh_close(m);
}

static void
s_stop_daemon(void)
{
    if (s_daemon > 0) {
        kill(s_daemon, SIGTERM);
        (void)waitpid(s_daemon, NULL, 0);
        s_daemon = -1;
    }
}

int
main(int argc, char **argv)
{
    size_t n = bench_parse_args("bench_status_cmd", argc, argv);
    if (argc < 2) {
        n = 1000000;
    }
    size_t runs = S_RUNS;
    const char *r = getenv("BENCH_STATUS_RUNS");
    if (r && *r) {
        runs = (size_t)strtoul(r, NULL, 10);
        runs = runs < 1 ? 1 : runs > S_RUNS_MAX ? S_RUNS_MAX : runs;
    }
    s_meshctl = getenv("MESHCTL");
    if (!s_meshctl || !*s_meshctl) {
        s_meshctl = "build/meshctl";
    }
    if (access(s_meshctl, X_OK) != 0) {
        bench_die("no meshctl at '%s' (set MESHCTL)", s_meshctl);
    }
    bench_print_versions();
    const char *home = bench_make_temp("home");
    double t0 = bench_read_clock();
    s_fill(home, n);
    printf("%zu items in one collection, written in %.1f s\n", n, bench_read_clock() - t0);

    setenv("MESHSYNC_NO_DISCOVERY", "1", 1);
    s_daemon = fork();
    if (s_daemon < 0) {
        bench_die("fork: %m");
    }
    if (s_daemon == 0) {
        int null = open("/dev/null", O_WRONLY);
        if (null >= 0) {
            dup2(null, 2);
        }
        execl(s_meshctl, s_meshctl, "--home", home, "daemon", "--listen", "tcp://127.0.0.1:0",
              (char *)NULL);
        _exit(127);
    }
    atexit(s_stop_daemon); /* (bench_die too) */
    char status_path[600], socket_path[600];
    snprintf(status_path, sizeof status_path, "%s/status", home);
    snprintf(socket_path, sizeof socket_path, "%s/control/socket", home);
    char *status_argv[] = {(char *)s_meshctl, "--home", (char *)home, "status", NULL};
    char *json_argv[] = {(char *)s_meshctl, "--home", (char *)home, "--json", "status", NULL};
    char *cat_argv[] = {"/bin/cat", status_path, NULL};
    char *true_argv[] = {"/bin/true", NULL};
    char *version_argv[] = {(char *)s_meshctl, "--version", NULL};
    struct stat sb;
    time_t end = time(NULL) + S_DEADLINE;
    while (stat(socket_path, &sb) != 0 || stat(status_path, &sb) != 0 || s_run(status_argv) != 0) {
        if (time(NULL) > end || waitpid(s_daemon, NULL, WNOHANG) == s_daemon) {
            s_daemon = -1;
            bench_die("the daemon did not answer status within %d s", S_DEADLINE);
        }
        usleep(50000);
    }
    double *ms = malloc(runs * sizeof *ms), *cpu = malloc(runs * sizeof *cpu);
    if (!ms || !cpu) {
        s_stop_daemon();
        bench_die("out of memory");
    }
    printf("%zu runs each, one after another, against a running daemon\n\n", runs);
    s_time("true (process start):", true_argv, runs, ms, cpu);
    s_time("cat HOME/status:", cat_argv, runs, ms, cpu);
    s_time("meshctl --version (its own start):", version_argv, runs, ms, cpu);
    double text = s_time("meshctl status:", status_argv, runs, ms, cpu);
    size_t p99 = (runs * 99 + 99) / 100;
    double text_p99 = ms[(p99 ? p99 : 1) - 1], text_cpu = cpu[runs / 2];
    s_time("meshctl --json status:", json_argv, runs, ms, cpu);
    printf("status: median %.2f ms, p99 %.2f ms (CPU %.2f ms) for the whole command with %zu "
           "items (target < 50 ms)\n",
           text, text_p99, text_cpu, n);
    free(ms);
    free(cpu);
    s_stop_daemon();
    bench_remove_temp(home);
    bench_clean_up();
    return 0;
}
