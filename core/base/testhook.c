/* core/base/testhook.c: the test hooks' values, in a test build (-DMESH_TESTING) only.
 * Owns: one slot per hook (its text and number) behind one lock, and the reading of the
 * MESH_TEST_* environment when a test-build program starts.
 * Not here: what a hook does (its call site). A release build compiles this file to nothing.
 * Layer: core, base room. Third-party: none. SPDX-License-Identifier: MIT */
#include "core/base/testhook.h"

#ifdef MESH_TESTING

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The environment variable of each hook, in testhook_t's order. */
static const char *const s_names[TESTHOOK_COUNT] = {
    "MESH_TEST_PROTO_MAJOR",    "MESH_TEST_TAMPER",          "MESH_TEST_GARBAGE",
    "MESH_TEST_GROUP_BYTES",    "MESH_TEST_COMMIT_PAUSE_MS", "MESH_TEST_IMPORT_TXN_BYTES",
    "MESH_TEST_TIME_FACTOR",    "MESH_TEST_ADDR_UNCHECKED",  "MESH_TEST_ANY_COLL",
    "MESH_TEST_NO_PEX",         "MESH_TEST_PAIR_STALL_MS",   "MESH_TEST_BAD_BLOCKS",
    "MESH_TEST_BLOCK_PAUSE_MS", "MESH_TEST_SCAN_PART_FILES", "MESH_TEST_ANSWER_BYTES_S",
    "MESH_TEST_ROOM_FILE",      "MESH_TEST_SCAN_ROUND_MS",   "MESH_TEST_SPOOL_CHARGE",
    "MESH_TEST_SPOOL_PAUSE_MS", "MESH_TEST_BLOCK_BUSY",      "MESH_TEST_SCAN_HOLD_MS",
    "MESH_TEST_WATCH_MAX",      "MESH_TEST_REPAIR_REFUSE",
};

typedef struct s_slot {
    bool set;                     /* a non-empty value was given */
    bool is_number;               /* text is all decimal digits (and fits) */
    uint64_t number;              /* text's value when is_number */
    char text[TESTHOOK_TEXT_MAX]; /* the value, NUL-terminated */
} s_slot_t;

static s_slot_t s_slots[TESTHOOK_COUNT];
static pthread_mutex_t s_lock = PTHREAD_MUTEX_INITIALIZER;

/* Whether text is one or more decimal digits whose value fits in 64 bits; *out is it. */
static bool
s_parse(const char *text, uint64_t *out)
{
    uint64_t v = 0;
    *out = 0;
    if (!*text) {
        return false;
    }
    for (const char *p = text; *p; p++) {
        if (*p < '0' || *p > '9' || v > (UINT64_MAX - (uint64_t)(*p - '0')) / 10) {
            return false;
        }
        v = v * 10 + (uint64_t)(*p - '0');
    }
    *out = v;
    return true;
}

void
testhook_set(testhook_t hook, const char *value)
{
    if ((unsigned)hook >= TESTHOOK_COUNT) {
        return;
    }
    pthread_mutex_lock(&s_lock);
    s_slot_t *s = &s_slots[hook];
    memset(s, 0, sizeof *s);
    if (value && *value) {
        s->set = true;
        snprintf(s->text, sizeof s->text, "%s", value);
        s->is_number = s_parse(s->text, &s->number);
    }
    pthread_mutex_unlock(&s_lock);
}

const char *
testhook_text(testhook_t hook)
{
    if ((unsigned)hook >= TESTHOOK_COUNT) {
        return NULL;
    }
    pthread_mutex_lock(&s_lock);
    const char *text = s_slots[hook].set ? s_slots[hook].text : NULL;
    pthread_mutex_unlock(&s_lock);
    return text;
}

uint64_t
testhook_number(testhook_t hook, uint64_t unset)
{
    if ((unsigned)hook >= TESTHOOK_COUNT) {
        return unset;
    }
    pthread_mutex_lock(&s_lock);
    uint64_t v = s_slots[hook].set && s_slots[hook].is_number ? s_slots[hook].number : unset;
    pthread_mutex_unlock(&s_lock);
    return v;
}

/* A test-build program (the integration tests' meshctl) takes its hooks from the
 * environment before main runs, while it has one thread. */
__attribute__((constructor)) static void
s_from_env(void)
{
    for (int h = 0; h < TESTHOOK_COUNT; h++) {
        testhook_set((testhook_t)h, getenv(s_names[h]));
    }
}

#endif /* MESH_TESTING */
