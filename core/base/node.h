/* core/base/node.h: the node handle, the bottom of core: every other module of core may
 * include it, and it includes none of them.
 * Owns: struct mesh (identity, store, logging), each thread's detail of its last failure on
 * a handle, and the helpers every public call uses to report failures. Opening a home is
 * core/open.c's.
 * Not here: transactions (core/data/txn.c), reads (core/data/read.c), version rules
 * (core/data/version.h).
 * Layer: core. Third-party: none. SPDX-License-Identifier: MIT */
#ifndef MESH_CORE_NODE_H
#define MESH_CORE_NODE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/ident.h"
#include "meshsync.h"
#include "store/store.h"

#define NODE_ERRMSG_MAX 512
#define NODE_NAME_MAX   64

/* The handle. Every field but members (locked) and loop (the loop thread's own) is set while
 * mesh_open runs, before the loop thread starts, and only read after: any thread may read
 * them without a lock. The error detail is not here: each thread has its own (node_fail). */
struct mesh {
    char home[4096];
    char name[NODE_NAME_MAX + 1];
    ident_t *ident; /* the device key pair */
    char id_text[MESH_ID_TEXT_LEN + 1];
    store_t *store;
    mesh_log_fn log;
    void *log_ctx;
    int log_level;
    uint64_t serial;              /* unique in the process (node_init): keys error details */
    struct member_state *members; /* who this device trusts (core/member/member.h) */
    struct loop *loop;            /* the event-loop thread, when not offline */
    /* Apply the held-back sets whose origin is now a member (core/apply/apply.c), set by
     * core/open.c: how a membership change made below core/apply/ (mesh_peer_add) reaches
     * it. NULL: nothing to do. */
    mesh_err_t (*held_retry)(mesh_t *m);
    /* Wake the loop thread at once (core/sync/loop.c sets it before its thread starts, and
     * clears it once the thread ended), called by mesh_txn_commit after a commit of this
     * process: the loop pushes it now rather than at its next idle turn. NULL: offline. */
    void (*wake)(void *ctx);
    void *wake_ctx;
    int daemon_lock;           /* HOME/daemon.lock, held while online (core/open.c); -1 */
    uint64_t horizon_ms;       /* tombstone collection's horizon (core/apply/collect.h, §8.4) */
    uint64_t folder_rescan_ms; /* full rescan of each folder (core/sync/folders.h); 0: default */
    struct feed *feed;         /* the change feed's watches and thread (core/data/feed.c), made
                                * by the first mesh_watch under its own lock; NULL till then */
};

/* Give m its serial, which no other handle of this process has had (call once, at open). */
void node_init(mesh_t *m);

/* Record err's detail (printf-style) as the calling thread's last failure on m, and return
 * err unchanged. Another thread's detail on m is never touched. */
mesh_err_t node_fail(mesh_t *m, mesh_err_t err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Record a store failure: the store's own detail (the calling thread's, store_errmsg), prefixed
 * with what. */
mesh_err_t node_fail_store(mesh_t *m, mesh_err_t err, const char *what);

/* Clear the calling thread's detail on m (a call that starts afresh, or a failure that was
 * an answer). */
void node_clear_err(const mesh_t *m);

/* Send one line to the log callback when level is enabled, escaped as node_escape does (a
 * line of more than 1023 bytes is cut). */
void node_log(const mesh_t *m, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Log lines held back: a worker thread of the library (core/sync/spool.c's apply) must not
 * call the application's log callback, which runs on the loop thread or a caller's; its
 * lines are captured and handed to the loop thread. */
typedef struct node_log_lines {
    char *text; /* records: level (1 byte) then the escaped line and its NUL; malloc'd */
    size_t len, cap;
    size_t dropped; /* lines that found no memory */
} node_log_lines_t;

/* From now on, node_log on the calling thread appends its lines to into instead of calling
 * the callback (NULL: calls it again). into must outlive the capture. */
void node_log_capture(node_log_lines_t *into);

/* Send the lines captured in lines to m's log callback, in order, on the calling thread, and
 * free them (lines is left empty). */
void node_log_replay(const mesh_t *m, node_log_lines_t *lines);

/* Write len bytes of text into out (cap bytes, NUL included) as a terminal or a log line
 * cannot act on them: valid UTF-8 as it is, backslash as \\, tab \t, newline \n, and every
 * other control character (C0, DEL, C1) and each byte that is not UTF-8 as \xNN. Cut short
 * (never within an escape or a character) when out is too small. Returns the length
 * written. Thread-safe: yes. */
size_t node_escape(const void *text, size_t len, char *out, size_t cap);

/* The collection-name rule (docs/PROTOCOL.md §1): 1..MESH_COLL_MAX bytes of valid UTF-8
 * with no control character (C0, DEL, C1), and no leading '_' unless allow_reserved.
 * name need not be NUL-terminated (a NUL inside is a control character). MESH_OK, or
 * MESH_EINVAL / MESH_ETOOBIG with why (why_len bytes; may be NULL) naming the first bad
 * byte's position (from 1) and value, never the name itself. Thread-safe: yes. */
mesh_err_t node_coll_name_check(const char *name, size_t len, bool allow_reserved, char *why,
                                size_t why_len);

/* Check a collection name. With allow_reserved (reads, and writes of the system's own
 * collections) only its length (1..MESH_COLL_MAX bytes), so that a name stored before the
 * rules of docs/PROTOCOL.md §1 stays readable; without it (a user's write) every rule of
 * node_coll_name_check. MESH_OK or MESH_EINVAL/MESH_ETOOBIG with detail on m. */
mesh_err_t node_check_coll(mesh_t *m, const char *coll, bool allow_reserved);

/* Fill a store key for key bytes (hashing long keys). */
void node_store_key(const uint8_t *key, size_t key_len, store_key_t *out);

/* The monotonic clock in ms (CLOCK_MONOTONIC): the one clock of core's timeouts and ages. */
int64_t node_now_ms(void);

#endif /* MESH_CORE_NODE_H */
