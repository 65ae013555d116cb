/* tests/unit/test_presence.c: presence and messages through the public API between two
 * online nodes in one process, on 127.0.0.1 (core/sync/presence.c, docs/PROTOCOL.md §22):
 * the presence callback and list, a direct message handed to every matching subscription
 * once, a callback that sends and unsubscribes itself from the library's thread (no
 * deadlock; not called again), mesh_unsubscribe from another thread (its callback not
 * called once it returned), the counts, and the peer seen offline once it closes.
 * Every wait has a deadline.
 * Layer: tests. Third-party: cmocka. SPDX-License-Identifier: MIT */
#include "util.h"

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#define S_DEADLINE_S 20

/* What one node's callbacks saw (written on its library thread, read by the test). */
typedef struct s_seen {
    pthread_mutex_t lock;
    mesh_t *m;
    int online, offline;
    char last_online[MESH_ID_TEXT_LEN + 1];
    int calls[4]; /* per subscription slot */
    int direct;
    char last_topic[MESH_TOPIC_MAX + 1];
    char last_data[64];
    char last_from[MESH_ID_TEXT_LEN + 1];
    uint64_t self_sub; /* slot 0 ends itself on "t/stop" and answers "ack" */
    mesh_err_t self_end, answer;
} s_seen_t;

typedef struct s_slot {
    s_seen_t *seen;
    int slot;
} s_slot_t;

static void
s_on_presence(void *ctx, const char *id, bool online)
{
    s_seen_t *s = ctx;
    pthread_mutex_lock(&s->lock);
    if (online) {
        s->online++;
        snprintf(s->last_online, sizeof s->last_online, "%s", id);
    } else {
        s->offline++;
    }
    pthread_mutex_unlock(&s->lock);
}

static void
s_on_message(void *ctx, const mesh_message_t *msg)
{
    s_slot_t *sl = ctx;
    s_seen_t *s = sl->seen;
    bool stop = false;
    pthread_mutex_lock(&s->lock);
    s->calls[sl->slot]++;
    s->direct += msg->direct;
    snprintf(s->last_topic, sizeof s->last_topic, "%s", msg->topic);
    snprintf(s->last_data, sizeof s->last_data, "%.*s", (int)msg->len, (const char *)msg->data);
    snprintf(s->last_from, sizeof s->last_from, "%s", msg->from);
    stop = sl->slot == 0 && strcmp(msg->topic, "t/stop") == 0;
    pthread_mutex_unlock(&s->lock);
    if (stop) {
        /* from the library's own thread: both calls must return, not wait for it */
        mesh_err_t a = mesh_send(s->m, msg->from, "ack", "ok", 2);
        mesh_err_t e = mesh_unsubscribe(s->m, s->self_sub);
        pthread_mutex_lock(&s->lock);
        s->answer = a;
        s->self_end = e;
        pthread_mutex_unlock(&s->lock);
    }
}

static int
s_get(s_seen_t *s, const int *field)
{
    pthread_mutex_lock(&s->lock);
    int v = *field;
    pthread_mutex_unlock(&s->lock);
    return v;
}

/* Wait until *field of s reaches want, or fail at the deadline. */
static void
s_wait(s_seen_t *s, const int *field, int want, const char *what)
{
    time_t end = time(NULL) + S_DEADLINE_S;
    while (s_get(s, field) < want) {
        if (time(NULL) > end) {
            fail_msg("timed out waiting for %s (%d of %d)", what, s_get(s, field), want);
        }
        usleep(10000);
    }
}

/* Open an online node at home listening on an ephemeral port of 127.0.0.1; its endpoint
 * into ep once its loop published it. */
static mesh_t *
s_open(const char *home, const char *name, char *ep, size_t ep_len)
{
    mesh_options_t o = {.size = sizeof o,
                        .home = home,
                        .create = true,
                        .name = name,
                        .listen = "tcp://127.0.0.1:0"};
    mesh_t *m = NULL;
    CHECK_OK(mesh_open(&o, &m));
    time_t end = time(NULL) + S_DEADLINE_S;
    ep[0] = '\0';
    while (!ep[0]) {
        mesh_status_t *st = NULL;
        mesh_status_device_t dev = {.size = sizeof dev};
        CHECK_OK(mesh_status(m, &st));
        CHECK_OK(mesh_status_device(st, &dev));
        snprintf(ep, ep_len, "%s", dev.listen ? dev.listen : "");
        mesh_status_free(st);
        CHECK(time(NULL) <= end);
        if (!ep[0]) {
            usleep(10000);
        }
    }
    return m;
}

static void
test_presence_two_nodes(void **state)
{
    (void)state;
    char dir_a[256], home_a[300], dir_b[256], home_b[300], ep_a[256], ep_b[256];
    char id_a[MESH_ID_TEXT_LEN + 1], id_b[MESH_ID_TEXT_LEN + 1];
    CHECK(util_temp_home("test_presence_a", dir_a, sizeof dir_a, home_a, sizeof home_a) == 0);
    CHECK(util_temp_home("test_presence_b", dir_b, sizeof dir_b, home_b, sizeof home_b) == 0);
    s_seen_t sa = {.lock = PTHREAD_MUTEX_INITIALIZER}, sb = {.lock = PTHREAD_MUTEX_INITIALIZER};
    mesh_t *a = s_open(home_a, "alpha", ep_a, sizeof ep_a);
    mesh_t *b = s_open(home_b, "beta", ep_b, sizeof ep_b);
    sa.m = a;
    sb.m = b;
    CHECK_OK(mesh_device_id(a, id_a, sizeof id_a));
    CHECK_OK(mesh_device_id(b, id_b, sizeof id_b));
    CHECK_OK(mesh_presence_watch(a, s_on_presence, &sa));
    CHECK_OK(mesh_presence_watch(b, s_on_presence, &sb));
    /* B: slot 0 takes everything (and ends itself on t/stop), slot 1 "t/", slot 2 "m/";
     * A: slot 0 takes "ack" */
    s_slot_t b0 = {&sb, 0}, b1 = {&sb, 1}, b2 = {&sb, 2}, a0 = {&sa, 0};
    uint64_t sub_b1 = 0, sub_b2 = 0, sub_a = 0;
    CHECK_OK(mesh_subscribe(b, "", s_on_message, &b0, &sb.self_sub));
    CHECK_OK(mesh_subscribe(b, "t/", s_on_message, &b1, &sub_b1));
    CHECK_OK(mesh_subscribe(b, "m/", s_on_message, &b2, &sub_b2));
    CHECK_OK(mesh_subscribe(a, "ack", s_on_message, &a0, &sub_a));
    CHECK(sb.self_sub && sub_b1 && sub_b2 && sub_a && sub_b1 != sb.self_sub);
    const char *addr_a[] = {ep_a}, *addr_b[] = {ep_b};
    CHECK_OK(mesh_peer_add(a, id_b, "beta", addr_b, 1));
    CHECK_OK(mesh_peer_add(b, id_a, "alpha", addr_a, 1));
    s_wait(&sa, &sa.online, 1, "B online on A");
    s_wait(&sb, &sb.online, 1, "A online on B");
    CHECK(strcmp(sa.last_online, id_b) == 0);

    /* the list */
    mesh_presence_list_t *list = NULL;
    CHECK_OK(mesh_presence(a, &list));
    CHECK_EQ(mesh_presence_list_count(list), 1);
    const mesh_presence_t *p = mesh_presence_list_get(list, 0);
    CHECK(p && strcmp(p->id, id_b) == 0 && strcmp(p->name, "beta") == 0 && p->messages);
    CHECK(p->since > 0 && p->since <= (int64_t)time(NULL));
    CHECK(p->addr[0] == '\0' || strcmp(p->addr, ep_b) == 0);
    CHECK(mesh_presence_list_get(list, 1) == NULL);
    mesh_presence_list_free(list);

    /* a direct message: once to each matching subscription */
    CHECK_OK(mesh_send(a, id_b, "t/1", "hello", 5));
    s_wait(&sb, &sb.calls[1], 1, "t/1 on B's t/ subscription");
    s_wait(&sb, &sb.calls[0], 1, "t/1 on B's catch-all");
    pthread_mutex_lock(&sb.lock);
    CHECK(strcmp(sb.last_data, "hello") == 0 && strcmp(sb.last_from, id_a) == 0);
    CHECK_EQ(sb.direct, 2);
    CHECK_EQ(sb.calls[2], 0);
    pthread_mutex_unlock(&sb.lock);

    /* a callback that answers and ends itself, on the library's thread */
    CHECK_OK(mesh_send(a, NULL, "t/stop", "", 0));
    s_wait(&sa, &sa.calls[0], 1, "B's answer on A");
    pthread_mutex_lock(&sb.lock);
    CHECK_EQ(sb.answer, MESH_OK);
    CHECK_EQ(sb.self_end, MESH_OK);
    CHECK_EQ(sb.calls[0], 2);
    pthread_mutex_unlock(&sb.lock);
    CHECK_EQ(mesh_unsubscribe(b, sb.self_sub), MESH_ENOTFOUND);

    /* mesh_unsubscribe from this thread: not called once it returned */
    CHECK_OK(mesh_unsubscribe(b, sub_b1));
    int before = s_get(&sb, &sb.calls[1]);
    for (int i = 0; i < 5; i++) {
        CHECK_OK(mesh_send(a, id_b, "t/after", "x", 1));
    }
    CHECK_OK(mesh_send(a, id_b, "m/marker", "m", 1)); /* in order behind them */
    s_wait(&sb, &sb.calls[2], 1, "the marker on B");
    CHECK_EQ(s_get(&sb, &sb.calls[1]), before);
    CHECK_EQ(s_get(&sb, &sb.calls[0]), 2); /* (ended itself) */

    mesh_message_stats_t st = {.size = sizeof st};
    CHECK_OK(mesh_message_stats(b, &st));
    CHECK_EQ(st.received, 8);     /* t/1, t/stop, 5 t/after, m/marker */
    CHECK_EQ(st.delivered, 5);    /* t/1 and t/stop twice each, m/marker */
    CHECK_EQ(st.unsubscribed, 5); /* the t/after ones */
    CHECK_EQ(st.over_member + st.over_total, 0);
    CHECK_EQ(st.sent, 1);
    CHECK_OK(mesh_message_stats(a, &st));
    CHECK_EQ(st.sent, 8);

    /* B closes: offline on A, and then a message to it fails at once (counted from the
     * offline lines before: a slow run, valgrind's, may have seen B silent for a while) */
    int offline = s_get(&sa, &sa.offline);
    mesh_close(b);
    s_wait(&sa, &sa.offline, offline + 1, "B offline on A");
    CHECK_EQ(mesh_send(a, id_b, "t/1", "late", 4), MESH_ENOTFOUND);
    CHECK(strstr(mesh_errmsg(a), "no session up") != NULL);
    CHECK_OK(mesh_send(a, NULL, "t/1", "nobody", 6)); /* to all: nobody online */
    CHECK_OK(mesh_presence(a, &list));
    CHECK_EQ(mesh_presence_list_count(list), 0);
    mesh_presence_list_free(list);
    CHECK_OK(mesh_presence_watch(a, NULL, NULL));
    mesh_close(a);
    util_rm_tree(dir_a);
    util_rm_tree(dir_b);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_presence_two_nodes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
