/* core/base/testhook.h: the test hooks, the one place core reads them.
 * Owns: the hooks' values in a test build (-DMESH_TESTING): set by unit tests through
 * testhook_set, and by a test-build program from its MESH_TEST_* environment at start.
 * In a release build every accessor is an inline constant (unset), so hook code compiles
 * away and no hook name is in the binary (tests/check-release.sh).
 * Not here: what a hook does (its call site; docs/PROTOCOL.md §11.1, §11.2).
 * Layer: core, base room (includes nothing of ours). Third-party: none. SPDX: MIT */
#ifndef MESH_CORE_TESTHOOK_H
#define MESH_CORE_TESTHOOK_H

#include <stddef.h>
#include <stdint.h>

/* The hooks; in a test build each is also read from the environment variable named. */
typedef enum testhook {
    TESTHOOK_PROTO_MAJOR,      /* MESH_TEST_PROTO_MAJOR: major version a daemon announces */
    TESTHOOK_TAMPER,           /* MESH_TEST_TAMPER: text flipped in outgoing batches */
    TESTHOOK_GARBAGE,          /* MESH_TEST_GARBAGE: 1 sends a malformed frame after HELLO */
    TESTHOOK_GROUP_BYTES,      /* MESH_TEST_GROUP_BYTES: received batches committed per N bytes */
    TESTHOOK_COMMIT_PAUSE_MS,  /* MESH_TEST_COMMIT_PAUSE_MS: rest after each such commit */
    TESTHOOK_IMPORT_TXN_BYTES, /* MESH_TEST_IMPORT_TXN_BYTES: import txns of N set bytes */
    TESTHOOK_TIME_FACTOR,      /* MESH_TEST_TIME_FACTOR: a daemon's liveness timeouts x N */
    TESTHOOK_ADDR_UNCHECKED,   /* MESH_TEST_ADDR_UNCHECKED: 1 lets peer add store any address */
    TESTHOOK_ANY_COLL,         /* MESH_TEST_ANY_COLL: 1 writes under any collection name */
    TESTHOOK_NO_PEX,           /* MESH_TEST_NO_PEX: 1 tells no member addresses (§17) */
    TESTHOOK_PAIR_STALL_MS,    /* MESH_TEST_PAIR_STALL_MS: a joiner's silence after START */
    TESTHOOK_BAD_BLOCKS,       /* MESH_TEST_BAD_BLOCKS: 1 flips a byte of every BLOCK sent */
    TESTHOOK_BLOCK_PAUSE_MS,   /* MESH_TEST_BLOCK_PAUSE_MS: a pause before each BLOCK sent */
    TESTHOOK_SCAN_PART_FILES,  /* MESH_TEST_SCAN_PART_FILES: files a folder scan reads a turn */
    TESTHOOK_ANSWER_BYTES_S,   /* MESH_TEST_ANSWER_BYTES_S: block bytes answered per second */
    TESTHOOK_ROOM_FILE,        /* MESH_TEST_ROOM_FILE: a file holding the room on folders' disks */
    TESTHOOK_SCAN_ROUND_MS,    /* MESH_TEST_SCAN_ROUND_MS: a pause after each round a scan reads */
    TESTHOOK_SPOOL_CHARGE,     /* MESH_TEST_SPOOL_CHARGE: the charge one spooled apply takes */
    TESTHOOK_SPOOL_PAUSE_MS,   /* MESH_TEST_SPOOL_PAUSE_MS: the spool's worker rests first */
    TESTHOOK_BLOCK_BUSY,       /* MESH_TEST_BLOCK_BUSY: the first N BLOCKs find queues full */
    TESTHOOK_SCAN_HOLD_MS,     /* MESH_TEST_SCAN_HOLD_MS: a folder's first scan only, for N ms */
    TESTHOOK_WATCH_MAX,        /* MESH_TEST_WATCH_MAX: inotify's watch limit met at N watches */
    TESTHOOK_REPAIR_REFUSE,    /* MESH_TEST_REPAIR_REFUSE: 1 answers no repair a peer starts */
    TESTHOOK_COUNT
} testhook_t;

#ifdef MESH_TESTING

#define TESTHOOK_TEXT_MAX 256 /* bytes of a hook's text, with its NUL; longer is cut */

/* Set hook to value (copied), or unset it when value is NULL or "". Set a hook before the
 * work that reads it starts (a node's loop reads its hooks as it runs), not while a
 * reader may hold its text. Thread-safe: yes (one lock). */
void testhook_set(testhook_t hook, const char *value);

/* The hook's text, or NULL when it is unset; valid until the hook is next set.
 * Thread-safe: yes. */
const char *testhook_text(testhook_t hook);

/* The hook's value as a decimal number, or unset when the hook is unset or its text is not
 * all decimal digits. Thread-safe: yes. */
uint64_t testhook_number(testhook_t hook, uint64_t unset);

#else /* a release build: no hook is ever set */

static inline const char *
testhook_text(testhook_t hook)
{
    (void)hook;
    return NULL;
}

static inline uint64_t
testhook_number(testhook_t hook, uint64_t unset)
{
    (void)hook;
    return unset;
}

#endif /* MESH_TESTING */

#endif /* MESH_CORE_TESTHOOK_H */
