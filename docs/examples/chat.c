/* docs/examples/chat.c: a chat-like feed on meshsync, a complete program that uses only
 * <meshsync.h>. Each line typed is appended to the collection "feed" (its history, kept and
 * synced like any data, so a device that was away catches up) and sent at once as a message
 * to the members online (shown as it arrives); presence changes are shown as they happen.
 *
 * Build against the installed library:
 *   cc -o chat docs/examples/chat.c $(pkg-config --cflags --libs meshsync)
 * Run, on each device (the home made and paired before, e.g. with meshctl init and pair):
 *   ./chat HOME tcp://0.0.0.0:7400
 * SPDX-License-Identifier: MIT */
#include <meshsync.h>

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define FEED "feed" /* the collection of the history */

static pthread_mutex_t out = PTHREAD_MUTEX_INITIALIZER; /* lines from two threads */

/* Called on the library's thread when a member comes or goes. */
static void
on_presence(void *ctx, const char *id, bool online)
{
    (void)ctx;
    pthread_mutex_lock(&out);
    printf("* %.13s... is %s\n", id, online ? "here" : "gone");
    fflush(stdout);
    pthread_mutex_unlock(&out);
}

/* Called on the library's thread for each line another member typed. */
static void
on_message(void *ctx, const mesh_message_t *msg)
{
    (void)ctx;
    pthread_mutex_lock(&out);
    printf("<%.13s...> %.*s\n", msg->from, (int)msg->len, (const char *)msg->data);
    fflush(stdout);
    pthread_mutex_unlock(&out);
}

/* Show the history: the feed's items, in key order (the keys start with the time). */
static void
show_history(mesh_t *m)
{
    mesh_iter_t *it = NULL;
    const uint8_t *key, *value;
    size_t key_len, value_len;
    if (mesh_iter_open(m, FEED, NULL, 0, &it) != MESH_OK) {
        return;
    }
    while (mesh_iter_next(it, &key, &key_len, &value, &value_len, NULL) == MESH_OK) {
        printf("  %.*s\n", (int)value_len, (const char *)value);
    }
    mesh_iter_close(it);
}

/* Append a line to the feed: a key of the time and this device, so two devices never
 * write the same key. */
static mesh_err_t
append(mesh_t *m, const char *me, const char *line)
{
    char key[128];
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    snprintf(key, sizeof key, "%020lld/%.13s", (long long)ts.tv_sec * 1000000000 + ts.tv_nsec,
             me);
    mesh_txn_t *txn = NULL;
    mesh_err_t err = mesh_txn_begin(m, FEED, &txn);
    if (err == MESH_OK) {
        err = mesh_put(txn, key, strlen(key), line, strlen(line));
    }
    if (err == MESH_OK) {
        return mesh_txn_commit(&txn, NULL);
    }
    mesh_txn_abort(txn);
    return err;
}

int
main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: chat HOME LISTEN\n");
        return 2;
    }
    mesh_options_t o = {.size = sizeof o, .home = argv[1], .listen = argv[2]};
    mesh_t *m = NULL;
    mesh_err_t err = mesh_open(&o, &m);
    if (err != MESH_OK) {
        fprintf(stderr, "chat: %s\n", mesh_strerror(err));
        return 1;
    }
    char me[MESH_ID_TEXT_LEN + 1];
    uint64_t sub = 0;
    if (mesh_device_id(m, me, sizeof me) != MESH_OK ||
        mesh_presence_watch(m, on_presence, NULL) != MESH_OK ||
        mesh_subscribe(m, "chat", on_message, NULL, &sub) != MESH_OK) {
        fprintf(stderr, "chat: %s\n", mesh_errmsg(m));
        mesh_close(m);
        return 1;
    }
    show_history(m);
    char line[1024];
    while (fgets(line, sizeof line, stdin)) {
        line[strcspn(line, "\n")] = '\0';
        if (!line[0]) {
            continue;
        }
        err = append(m, me, line);
        if (err == MESH_OK) {
            err = mesh_send(m, NULL, "chat", line, strlen(line)); /* to everyone online */
        }
        if (err != MESH_OK) {
            pthread_mutex_lock(&out);
            fprintf(stderr, "chat: %s: %s\n", mesh_strerror(err), mesh_errmsg(m));
            pthread_mutex_unlock(&out);
        }
    }
    mesh_unsubscribe(m, sub); /* (mesh_close would end it too) */
    mesh_close(m);
    return 0;
}
