/* include/meshsync.h: the public API of libmeshsync, a peer-to-peer sync engine.
 * Owns: every name an embedding program may use (mesh_ prefix, opaque handles, mesh_err_t).
 * Not here: any type of libsodium, libzmq, LMDB or msgpack; those stay inside the library.
 * Layer: include (the top of core). Third-party: none. SPDX-License-Identifier: MIT
 *
 * A node (mesh_t) is one device's store, identity and, once networking is on, its sync
 * sessions. Data lives in named collections of key/value items. Writes go through a
 * transaction (mesh_txn_begin, mesh_put, mesh_del, mesh_txn_commit) that becomes one signed
 * change set; reads (mesh_get, mesh_get_versions, mesh_iter_*) see the latest commit.
 *
 * Structs that grow. Every public struct starts with `size_t size`, and fields are only ever
 * added at its end, so a program built against an older header keeps working with a newer
 * library (and can tell what an older library filled in):
 * - a struct the caller fills in or lends (mesh_options_t, mesh_import_report_t): the caller
 *   sets size to sizeof the struct it was built with, and the library reads and writes only
 *   the fields that fit in it;
 * - a result the library builds (a version, a change set, a peer, a collection): the library
 *   sets size to the sizeof it knows, and hands the items out one at a time, by pointer, from
 *   an opaque list (mesh_<thing>_list_count, _get, _free). A caller never indexes an array
 *   of a public struct, so it never depends on the struct's size; one list pattern serves
 *   every call that returns many results, and needs four calls per list, not one per field.
 * Text of any length (names, addresses) is a pointer into the list, never a fixed buffer;
 * fixed buffers hold only fixed-length text (device IDs, digests), so nothing is cut short.
 *
 * Threads. An online node (opts->offline false) runs one thread of the library's own,
 * started by mesh_open and joined by mesh_close: it owns every socket, dials and serves
 * peers, commits what they send, and calls the log callback. It shares the node with the
 * caller's threads only through the store (LMDB: one writer at a time, any number of
 * readers beside it; growing the map waits until no transaction of the process is open)
 * and the member view (under a lock). So every call on a mesh_t whose
 * "Thread-safety" line says "any thread" may run on any number of threads at once, beside
 * the library's thread. A mesh_txn_t or mesh_iter_t belongs to one thread; mesh_close runs
 * alone. Each thread has its own error detail (mesh_errmsg). */
#ifndef MESHSYNC_H
#define MESHSYNC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MESH_VERSION_MAJOR 0
#define MESH_VERSION_MINOR 2
#define MESH_VERSION_PATCH 0
/* The version as one number, MAJOR * 10000 + MINOR * 100 + PATCH (0.2.0: 200), to compare
 * with mesh_version_number(): the header a program was built with against the library it
 * runs with. The soname (libmeshsync.so.1) changes only when the ABI breaks. */
#define MESH_VERSION_NUMBER                                                                        \
    (MESH_VERSION_MAJOR * 10000 + MESH_VERSION_MINOR * 100 + MESH_VERSION_PATCH)

#if defined(__GNUC__) || defined(__clang__)
#define MESH_EXPORT       __attribute__((visibility("default")))
#define MESH_NODISCARD    __attribute__((warn_unused_result))
#define MESH_NONNULL(...) __attribute__((nonnull(__VA_ARGS__)))
#else
#define MESH_EXPORT
#define MESH_NODISCARD
#define MESH_NONNULL(...)
#endif

/* Limits, enforced with MESH_ETOOBIG (docs/PROTOCOL.md §1). */
#define MESH_KEY_MAX       1024u       /* bytes in a key */
#define MESH_VALUE_MAX     (1u << 20)  /* bytes in a value */
#define MESH_COLL_MAX      200u        /* bytes in a collection name */
#define MESH_COLLS_MAX     4096u       /* collections in one home, _mesh included */
#define MESH_TXN_OPS_MAX   10000u      /* ops in one transaction (one change set) */
#define MESH_TXN_BYTES_MAX (16u << 20) /* key and value bytes in one transaction */
#define MESH_ID_TEXT_LEN   62u         /* chars in a device ID's text form, dashes included */

/* Every failure has a code. Codes are only ever added at the end, never renumbered. */
typedef enum mesh_err {
    MESH_OK = 0,
    MESH_EINVAL,    /* bad argument or usage */
    MESH_ENOMEM,    /* out of memory */
    MESH_EIO,       /* an I/O error from the OS or the store */
    MESH_ENOSPC,    /* the disk is full; nothing was written */
    MESH_ENOTFOUND, /* no such item, collection, device or home */
    MESH_EPROTO,    /* malformed encoding */
    MESH_ETOOBIG,   /* a size limit was exceeded */
    MESH_EBADSIG,   /* a signature did not verify */
    MESH_EDIGEST,   /* a hash or Merkle proof did not match */
    MESH_ESEQGAP,   /* a sequence number is out of order */
    MESH_EUNPAIRED, /* the key or device is not a member */
    MESH_ECORRUPT,  /* the store or a file is damaged */
    MESH_EFORMAT,   /* the store has a format this version does not know */
    MESH_EEXIST,    /* already exists */
    MESH_EBADID,    /* a device ID's text is malformed or fails its check */
    MESH_ENOTINIT,  /* the home holds no device: run `meshctl init` */
    MESH_ESTATE,    /* the call is not valid in the handle's current state */
    MESH_EFORK,     /* two different signed headers for one dot; this one lost (§5.7) */
    MESH_EBUSY,     /* a queue is full; try again later */
    MESH_ERR_LAST = MESH_EBUSY
} mesh_err_t;

/* Log levels for mesh_options_t.log_level, most to least severe. */
typedef enum mesh_log_level {
    MESH_LOG_ERROR = 0,
    MESH_LOG_WARN,
    MESH_LOG_INFO,
    MESH_LOG_DEBUG
} mesh_log_level_t;

/* Log callback: called with one message line (no newline) at or above the configured level.
 * Thread-safety: it is called on the threads that make calls and, for an online node, on the
 * library's own thread, possibly at once: it must be thread-safe, keep short, and never call
 * mesh_close. */
typedef void (*mesh_log_fn)(void *ctx, int level, const char *message);

typedef struct mesh mesh_t;           /* a node: one device's home; opaque */
typedef struct mesh_txn mesh_txn_t;   /* a local transaction on one collection; opaque */
typedef struct mesh_iter mesh_iter_t; /* an iteration over a collection; opaque */

/* Options for mesh_open. Set size to sizeof(mesh_options_t); zero every field you do not
 * use. Fields are only ever added at the end, so a program built against an older header
 * keeps working. */
typedef struct mesh_options {
    size_t size;        /* sizeof(mesh_options_t), always first */
    const char *home;   /* the node's home directory (required) */
    bool create;        /* make the identity and store if the home has none */
    bool offline;       /* open no sockets (a CLI or a test); see mesh_open */
    mesh_log_fn log;    /* log callback, or NULL for silence */
    void *log_ctx;      /* passed to log */
    int log_level;      /* highest mesh_log_level_t passed to log */
    const char *name;   /* device name recorded at creation, or NULL for the hostname */
    uint64_t map_size;  /* initial LMDB map size in bytes; 0 = default (1 TiB, sparse) */
    char *errbuf;       /* if not NULL: receives the detail when mesh_open fails */
    size_t errbuf_len;  /* its size in bytes */
    const char *listen; /* not offline: the endpoint to listen on (e.g.
                         * "tcp://127.0.0.1:7000"), or NULL to only dial out */
    bool daemon_heap;   /* not offline: tune this process's allocator (glibc) for a node
                         * that syncs for a long time (see mesh_open); process-wide */
    uint64_t horizon;   /* ms: a member silent this long stops holding tombstone collection
                         * back (docs/PROTOCOL.md §8.4); 0 = 30 days */

    /* Not offline: LAN discovery (docs/PROTOCOL.md §16): send beacons and dial the members
     * heard. Off unless set, and off whenever the environment has MESHSYNC_NO_DISCOVERY set
     * (not empty). The rest: 0 or NULL for the default. */
    bool discovery;
    unsigned discovery_port;          /* its UDP port, 1..65535; 0: 47474 */
    unsigned discovery_interval_ms;   /* between beacons, 100..3600000; 0: 1000 */
    const char *discovery_group;      /* an IPv4 multicast group also used, or NULL */
    const char *discovery_interfaces; /* comma-separated interface names, or NULL: all but
                                       * loopback */

    /* Not offline: start no thread of the library's own for the node's event loop; the
     * caller runs it from its own event loop with mesh_fd and mesh_process (see there). */
    bool external_loop;
    unsigned folder_rescan_s; /* not offline: seconds between full rescans of each synced
                               * folder (inotify sees most changes sooner); 0: 60 */
} mesh_options_t;

/* One version of an item, as listed by mesh_get_versions. Siblings (concurrent versions)
 * appear side by side; exactly one has is_winner set: the one every device shows.
 * Built by the library (see "Structs that grow" above). */
typedef struct mesh_item_version {
    size_t size;                       /* sizeof(mesh_item_version_t) in the library */
    const uint8_t *value;              /* the value bytes (NULL for a deletion) */
    size_t value_len;                  /* its length */
    bool deleted;                      /* a tombstone */
    bool is_winner;                    /* the version mesh_get returns */
    char origin[MESH_ID_TEXT_LEN + 1]; /* device ID of the writer */
    uint64_t incarnation;              /* the writer's store incarnation */
    uint64_t seq; /* sequence number within (collection, origin, incarnation) */
    uint64_t hlc; /* hybrid logical clock of its change set */
} mesh_item_version_t;

/* The versions of one item, from mesh_get_versions; opaque. */
typedef struct mesh_item_version_list mesh_item_version_list_t;

/* One change set as listed by mesh_log (newest first). Built by the library. */
typedef struct mesh_set_info {
    size_t size;                       /* sizeof(mesh_set_info_t) in the library */
    char origin[MESH_ID_TEXT_LEN + 1]; /* device ID of the signer */
    uint64_t incarnation;              /* its incarnation */
    uint64_t first_seq;                /* the first seq of the set */
    uint32_t count;                    /* ops in the set */
    uint64_t hlc;                      /* its hybrid logical clock (ms << 16 | counter) */
    uint8_t root[32];                  /* Merkle root of its ops */
} mesh_set_info_t;

/* The change sets listed by mesh_log; opaque. */
typedef struct mesh_set_list mesh_set_list_t;

/* Return the library's version as "MAJOR.MINOR.PATCH"; static text.
 * Thread-safety: any thread. */
MESH_EXPORT const char *mesh_version(void);

/* Return the library's version as MESH_VERSION_NUMBER gives it, for the library that runs
 * (which may be newer than the header a program was built with).
 * Thread-safety: any thread. */
MESH_EXPORT int mesh_version_number(void);

/* Return static text for err, never NULL (unknown codes get a generic text).
 * Thread-safety: any thread. */
MESH_EXPORT const char *mesh_strerror(mesh_err_t err);

/* Open the node whose home is opts->home.
 * With opts->create, a home without an identity gets one (an Ed25519 key pair, the secret
 * file mode 0600) and a new store; without it such a home fails with MESH_ENOTINIT.
 * opts->offline opens no sockets. Otherwise mesh_open starts the node's own event-loop
 * thread, which listens on opts->listen (if set), dials every member at the addresses its
 * membership records give, and syncs with each (docs/PROTOCOL.md §11) until mesh_close
 * stops it; the log callback is then also called from that thread.
 * opts->daemon_heap (not offline) makes the loop, before it starts its threads, keep the
 * process's heap instead of giving each freed block back at once (glibc: one arena for
 * every thread, no trimming, large blocks from the heap); the loop gives memory back once
 * a large apply or send is over. Sync moves megabytes per batch through the heap, and
 * without it every page faults in anew. It changes the allocator of the whole process: set
 * it only in a program that is the daemon. Elsewhere it is ignored.
 * Calls sodium_init itself; no global set-up is needed.
 * MESH_OK: *out is the node; close it with mesh_close(). Error: *out is NULL, and
 * opts->errbuf (when set) holds the detail, e.g. the path and the OS error.
 * Not offline: opts->listen must be tcp://HOST:PORT (HOST an IP literal, "*", an interface
 * name, or a host name, resolved to its first IPv4 address; PORT 0..65535, 0: any free one),
 * and one online node runs per home: it holds HOME/daemon.lock (its pid in it) until
 * mesh_close. Offline handles (any number, in any process) work beside it.
 * Errors: MESH_EINVAL (opts NULL, size too small, no home, a bad listen endpoint),
 * MESH_ENOTINIT, MESH_EFORMAT (the store has an unknown format), MESH_ECORRUPT, MESH_EIO,
 * MESH_ENOSPC, MESH_ENOMEM, MESH_EBUSY (not offline: another online node, e.g. a daemon,
 * runs on the home, or the listen port is in use; the detail says which, with the pid).
 * Thread-safety: any thread, several at once, each on a home of its own: a process opens a
 * home at most once at a time (LMDB's rule; other processes may open it too). */
MESH_EXPORT MESH_NODISCARD mesh_err_t mesh_open(const mesh_options_t *opts, mesh_t **out);

/* Close the node and free everything it owns. NULL is a no-op. Open transactions and
 * iterators must have ended first.
 * Thread-safety: any one thread, once no other call on m runs or will run. It stops and
 * joins the library's thread: after it returns the log callback is not called for m. */
MESH_EXPORT void mesh_close(mesh_t *m);

/* The node's event loop driven from the caller's own (opened online with
 * opts->external_loop): a descriptor to poll for reading (poll, epoll, select, or a GLib or
 * libuv watch); whenever it is readable, call mesh_process. It stays the same descriptor
 * until mesh_close; do not read it or close it. -1 when m is NULL, offline, or runs the
 * loop on the library's own thread.
 * Thread-safety: any thread. */
MESH_EXPORT int mesh_fd(const mesh_t *m);

/* Run the node's event loop until nothing is left to do now, for at most about 20 ms (it
 * never waits for the network): receive and answer frames, commit what arrived, send what
 * is due, run the timers; then mesh_fd is set to be readable when the next turn is due
 * (at once if frames are still queued, and within 50 ms in any case while the node is
 * open). Sync moves only while the caller calls it: call it whenever mesh_fd is readable.
 * The log callback is called from the calling thread. Other calls on m (puts, gets,
 * status) work as ever, from any thread, meanwhile.
 * Errors: MESH_EINVAL (m NULL), MESH_ESTATE (m has no external loop: offline, or the
 * library's own thread runs it), MESH_EIO (the descriptor could not be set: detail in
 * mesh_errmsg).
 * Thread-safety: one thread at a time for a given m (the same thread each time is
 * simplest); never from inside the log callback. */
MESH_EXPORT MESH_NODISCARD mesh_err_t mesh_process(mesh_t *m);

/* The detail of the calling thread's last failure on m (e.g. the OS error or the key that
 * was too long), or "" if none; a thread keeps the details of the last four nodes it failed
 * on. Owned by the library; valid until this thread's next call into the library.
 * Thread-safety: any thread; each thread reads only its own detail, which neither other
 * callers nor the library's thread ever overwrite. */
MESH_EXPORT const char *mesh_errmsg(const mesh_t *m);

/* Write this device's ID in text form (MESH_ID_TEXT_LEN chars and a NUL) into buf.
 * Errors: MESH_EINVAL (buf_len too small). Thread-safety: any thread. */
MESH_EXPORT MESH_NODISCARD mesh_err_t mesh_device_id(const mesh_t *m, char *buf, size_t buf_len);

/* The device name given at creation; owned by m, valid until mesh_close.
 * Thread-safety: any thread. */
MESH_EXPORT const char *mesh_device_name(const mesh_t *m);

/* Rename this device: record name as its name, and rewrite its genesis record (the name
 * every member shows for it), which syncs like any membership record. A name has 1 to 64
 * bytes and no control characters. A daemon already running on the home keeps showing the
 * old name in its own status until it restarts.
 * Errors: MESH_EINVAL (m or name NULL, a bad name), MESH_ESTATE (m is online: rename an
 * offline handle), and those of mesh_txn_commit.
 * Thread-safety: not while another thread uses m (mesh_device_name's text changes). */
MESH_EXPORT MESH_NODISCARD mesh_err_t mesh_rename(mesh_t *m, const char *name);

/* Begin a local transaction on collection coll (a NUL-terminated name of 1..MESH_COLL_MAX
 * bytes; names starting with '_' are reserved for the system). Nothing touches the store
 * until mesh_txn_commit.
 * MESH_OK: *out is the transaction; end it with mesh_txn_commit or mesh_txn_abort.
 * Error: *out is NULL. Errors: MESH_EINVAL, MESH_ETOOBIG, MESH_ENOMEM.
 * Thread-safety: any thread. The transaction has no lock: one thread at a time uses it. */
MESH_EXPORT MESH_NODISCARD mesh_err_t mesh_txn_begin(mesh_t *m, const char *coll, mesh_txn_t **out)
    MESH_NONNULL(1, 2, 3);

/* Buffer a put of key (1..MESH_KEY_MAX bytes) to value (0..MESH_VALUE_MAX bytes). The bytes
 * are copied. Errors: MESH_EINVAL, MESH_ETOOBIG (a limit above or the transaction's
 * MESH_TXN_OPS_MAX / MESH_TXN_BYTES_MAX), MESH_ENOMEM; on error the txn is unchanged.
 * Thread-safety: one thread at a time per transaction; other transactions, on this node or
 * another, may be used on other threads at once. */
MESH_EXPORT MESH_NODISCARD mesh_err_t mesh_put(mesh_txn_t *txn, const void *key, size_t key_len,
                                               const void *value, size_t value_len);

/* Buffer a deletion of key (a tombstone that syncs like any version). Deleting a key that
 * does not exist still records the tombstone. Errors: as mesh_put.
 * Thread-safety: as mesh_put. */
MESH_EXPORT MESH_NODISCARD mesh_err_t mesh_del(mesh_txn_t *txn, const void *key, size_t key_len);

/* Commit the transaction as one signed change set, in one durable LMDB write transaction:
 * each op gets its dot and causal context, the set its HLC, Merkle root and signature, and
 * the collection's vector and digest move with it. Durable when it returns MESH_OK.
 * The transaction is freed and *txn set to NULL whatever the result. A transaction with
 * no ops commits nothing and returns MESH_OK. If first_seq is not NULL it receives the
 * seq of the set's first op (0 if nothing was committed).
 * Errors: MESH_ENOSPC (disk full: nothing was written, the store works once space is
 * freed), MESH_EIO, MESH_ENOMEM; when the map must grow (a small opts->map_size, or an
 * address space too small for the default), MESH_ESTATE if this thread has an iterator
 * open and MESH_EBUSY if other threads keep theirs open for 10 s; on error the store is
 * unchanged.
 * Thread-safety: as mesh_put. Commits from several threads, the library's thread and other
 * processes on the home wait for each other on LMDB's one writer lock. */
MESH_EXPORT MESH_NODISCARD mesh_err_t mesh_txn_commit(mesh_txn_t **txn, uint64_t *first_seq);

/* Drop a transaction without committing. NULL is a no-op. Thread-safety: as mesh_put. */
MESH_EXPORT void mesh_txn_abort(mesh_txn_t *txn);

/* Read the visible value of key in coll: the winning version, unless it is a deletion.
 * MESH_OK: *value is malloc'd (caller frees with mesh_free), *value_len its length; a
 * zero-length value still gives a non-NULL pointer. Error: *value NULL, *value_len 0.
 * Errors: MESH_ENOTFOUND (no such key, or deleted), MESH_EINVAL, MESH_ETOOBIG, MESH_EIO.
 * Thread-safety: any thread (each call reads in an LMDB read transaction of its own). */
MESH_EXPORT MESH_NODISCARD mesh_err_t mesh_get(mesh_t *m, const char *coll, const void *key,
                                               size_t key_len, void **value, size_t *value_len);

/* Read every version of key in coll: one normally, several siblings after concurrent
 * writes, tombstones included.
 * m: the node. coll: the collection's name. key, key_len: the key (1..MESH_KEY_MAX bytes).
 * out: *out* the list: the winner first, then by origin ID, incarnation and seq (the same
 * order on every device); read it with mesh_item_version_list_count and _get.
 * MESH_OK: *out is new, at least one version; free it with mesh_item_version_list_free (the
 * value bytes live in it). Error: *out is NULL.
 * Errors: MESH_EINVAL (m, coll or out NULL; an empty key or a bad collection name),
 * MESH_ETOOBIG (key or name too long), MESH_ENOTFOUND (no such collection, or the key has no
 * version at all), MESH_ENOMEM, MESH_EIO and MESH_ECORRUPT (the store).
 * Thread-safety: any thread (as mesh_get). */
MESH_EXPORT MESH_NODISCARD mesh_err_t mesh_get_versions(mesh_t *m, const char *coll,
                                                        const void *key, size_t key_len,
                                                        mesh_item_version_list_t **out);

/* The number of versions in list; 0 for NULL. Thread-safety: any thread. */
MESH_EXPORT size_t mesh_item_version_list_count(const mesh_item_version_list_t *list);

/* Version i of list (0 is the winner), or NULL when i >= its count. Owned by list: valid,
 * value bytes included, until mesh_item_version_list_free. Thread-safety: any thread. */
MESH_EXPORT const mesh_item_version_t *
mesh_item_version_list_get(const mesh_item_version_list_t *list, size_t i);

/* Free a list from mesh_get_versions and every version in it. NULL is a no-op.
 * Thread-safety: any thread, once nothing else uses the list. */
MESH_EXPORT void mesh_item_version_list_free(mesh_item_version_list_t *list);

/* Free memory returned by the library (mesh_get). NULL is a no-op.
 * Thread-safety: any thread. */
MESH_EXPORT void mesh_free(void *p);

/* Start iterating the visible items of coll whose keys start with prefix (prefix_len 0:
 * all), in key byte order. Deleted keys are skipped. The iterator holds an LMDB read
 * transaction: keep it short (a growth of the map waits for it), and close it before
 * closing the node.
 * MESH_OK: *out is new; close it with mesh_iter_close. Error: *out NULL.
 * Errors: MESH_EINVAL, MESH_ENOMEM, MESH_EIO.
 * Thread-safety: any thread; the iterator then belongs to that thread, which steps and
 * closes it (its read transaction holds a lock of that thread's). */
MESH_EXPORT MESH_NODISCARD mesh_err_t mesh_iter_open(mesh_t *m, const char *coll,
                                                     const void *prefix, size_t prefix_len,
                                                     mesh_iter_t **out);

/* Flags for mesh_iter_open_ex. */
#define MESH_ITER_TOMBSTONES 1u /* also return keys whose winner is a deletion (value NULL) */

/* As mesh_iter_open, with flags (0 or MESH_ITER_TOMBSTONES). Thread-safety: as mesh_iter_open. */
MESH_EXPORT MESH_NODISCARD mesh_err_t mesh_iter_open_ex(mesh_t *m, const char *coll,
                                                        const void *prefix, size_t prefix_len,
                                                        unsigned flags, mesh_iter_t **out);

/* Step to the next item. MESH_OK: *key and *value point at its bytes, valid until the next call
 * on the iterator; *conflict is true when the item has siblings (conflict may be NULL).
 * MESH_ENOTFOUND: no more items. Errors: MESH_EIO, MESH_ECORRUPT.
 * Thread-safety: only on the thread that opened the iterator. */
MESH_EXPORT MESH_NODISCARD mesh_err_t mesh_iter_next(mesh_iter_t *it, const uint8_t **key,
                                                     size_t *key_len, const uint8_t **value,
                                                     size_t *value_len, bool *conflict);

/* End an iteration. NULL is a no-op. Thread-safety: as mesh_iter_next. */
MESH_EXPORT void mesh_iter_close(mesh_iter_t *it);

/* List the change sets of coll held by this node, newest first (by HLC, then origin, seq).
 * m: the node. coll: the collection's name. max: list at most this many (0: all).
 * out: *out* the list; read it with mesh_set_list_count and mesh_set_list_get.
 * MESH_OK: *out is new (empty for a collection never written); free it with
 * mesh_set_list_free. Error: *out is NULL.
 * Errors: MESH_EINVAL (m, coll or out NULL; a bad collection name), MESH_ETOOBIG (the name
 * is too long), MESH_ENOMEM, MESH_EIO, MESH_ECORRUPT (a stored header does not decode).
 * Thread-safety: any thread (as mesh_get). */
MESH_EXPORT MESH_NODISCARD mesh_err_t mesh_log(mesh_t *m, const char *coll, size_t max,
                                               mesh_set_list_t **out);

/* The number of change sets in list; 0 for NULL. Thread-safety: any thread. */
MESH_EXPORT size_t mesh_set_list_count(const mesh_set_list_t *list);

/* Change set i of list (0 is the newest), or NULL when i >= its count. Owned by list: valid
 * until mesh_set_list_free. Thread-safety: any thread. */
MESH_EXPORT const mesh_set_info_t *mesh_set_list_get(const mesh_set_list_t *list, size_t i);

/* Free a list from mesh_log. NULL is a no-op. Thread-safety: any thread, once nothing else
 * uses the list. */
MESH_EXPORT void mesh_set_list_free(mesh_set_list_t *list);

/* The collection's digest (the order-free sum of its live versions and tombstones, equal on
 * devices that hold the same versions) as 64 hex chars and a NUL in buf, and the number of
 * keys it holds versions for, tombstones included, in *items (may be NULL). A collection never
 * written has the zero digest. Errors: MESH_EINVAL (buf_len < 65), MESH_EIO.
 * Thread-safety: any thread (as mesh_get). */
MESH_EXPORT MESH_NODISCARD mesh_err_t mesh_digest(mesh_t *m, const char *coll, char *buf,
                                                  size_t buf_len, uint64_t *items);

/* A member of this device's mesh, as listed by mesh_peers. Built by the library; its text
 * lives in the list it came from. */
typedef struct mesh_peer {
    size_t size;                   /* sizeof(mesh_peer_t) in the library */
    char id[MESH_ID_TEXT_LEN + 1]; /* device ID */
    const char *name;              /* the name it gave itself, or one given when added ("") */
    size_t addr_count;             /* known addresses, every one that any record gives */
    const char *const *addrs;      /* addrs[0..addr_count): each one NUL-terminated */
    bool self;                     /* this device */
    bool removed; /* removed from the mesh (mesh_peer_remove): for good, its key refused */
} mesh_peer_t;

/* Remove a device from the whole mesh: write a signed rm record for id (any accepted text
 * form), which syncs like data. Membership is a two-phase set: a removed device never comes
 * back (mesh_peer_add of it then fails MESH_EUNPAIRED, and no add record counts). Every
 * member that learns of it refuses the device's key from then on, sends it nothing more,
 * and publishes the highest seqs it had accepted from it; the device's change sets above
 * the highest published are held back, then rejected for good (docs/PROTOCOL.md §8.2). Any
 * member may remove any device, itself included; removing one again changes nothing.
 * Errors: MESH_EINVAL, MESH_EBADID (a malformed id, with why in mesh_errmsg), the store's.
 * Thread-safety: any thread. */
MESH_EXPORT MESH_NODISCARD mesh_err_t mesh_peer_remove(mesh_t *m, const char *id);

/* The members listed by mesh_peers; opaque. */
typedef struct mesh_peer_list mesh_peer_list_t;

/* Add a device to the mesh: write a signed add record for id (any accepted text form),
 * with an optional name (may be NULL) and addresses (e.g. "tcp://host:port"). The record
 * syncs like data; every device that trusts this one then trusts the added device.
 * Adding a device again updates its name and addresses. A name is one line of at most 64
 * bytes; an address one word (no spaces) of at most 200 bytes; at most 8 addresses.
 * Once the record is committed, the held-back sets (mesh_held) whose signer is now a member
 * are applied, in further transactions; a set that then fails the receive rules is dropped
 * with a warning in the log.
 * Errors: MESH_EBADID, MESH_EINVAL (a bad name or address), MESH_ETOOBIG (too many
 * addresses), MESH_EUNPAIRED (id was removed: for good), and those of mesh_txn_commit; a failure
 * while applying the held-back sets (the device is added then, and its sets stay held: adding it
 * again retries them). Thread-safety: any thread; it commits as mesh_txn_commit does. */
MESH_EXPORT MESH_NODISCARD mesh_err_t mesh_peer_add(mesh_t *m, const char *id, const char *name,
                                                    const char *const *addrs, size_t addr_count);

/* List the members of the mesh in this device's view (itself included), each with its name
 * and every address its records give (this device's own add records first, the addresses it
 * was told last first; then those other members gave; no address twice), then the devices
 * removed (mesh_peer_remove), each with removed set (this device too, when it was).
 * m: the node. out: *out* the list; read it with mesh_peer_list_count and mesh_peer_list_get.
 * MESH_OK: *out is new; free it with mesh_peer_list_free. Error: *out is NULL.
 * Errors: MESH_EINVAL (m or out NULL), MESH_ENOMEM, MESH_EIO and MESH_ECORRUPT (the store).
 * Thread-safety: any thread (it reads the store, as mesh_get). */
MESH_EXPORT MESH_NODISCARD mesh_err_t mesh_peers(mesh_t *m, mesh_peer_list_t **out);

/* The number of members in list; 0 for NULL. Thread-safety: any thread. */
MESH_EXPORT size_t mesh_peer_list_count(const mesh_peer_list_t *list);

/* Member i of list, or NULL when i >= its count. Owned by list: valid, with its name and
 * addresses, until mesh_peer_list_free. Thread-safety: any thread. */
MESH_EXPORT const mesh_peer_t *mesh_peer_list_get(const mesh_peer_list_t *list, size_t i);

/* Free a list from mesh_peers. NULL is a no-op. Thread-safety: any thread, once nothing else
 * uses the list. */
MESH_EXPORT void mesh_peer_list_free(mesh_peer_list_t *list);

/* ---- Sharing per collection (docs/PROTOCOL.md §8.3) ----
 * A collection is shared with every member of the mesh until an access record names who
 * may hold it; from then on only the devices its access list holds receive it, relay it, or
 * have their sets of it accepted. */

/* Share user collection coll with the members ids[0..count) (any accepted ID text): write
 * one signed "granted" access record for each, in one change set. The first share of a
 * collection makes its access list, with this device in it; later ones count only from a
 * device the list holds. The records sync like data; a device not in the list is sent
 * nothing more of coll from the moment a device holds the records, even on open sessions.
 * Errors: MESH_EINVAL (m, coll or ids NULL, count 0, a bad or reserved collection name),
 * MESH_EBADID (an ID does not parse), MESH_ENOTFOUND (an ID is not a member of the mesh),
 * MESH_ESTATE (coll has an access list that does not hold this device), and those of
 * mesh_txn_commit. Thread-safety: any thread; it commits as mesh_txn_commit does. */
MESH_EXPORT MESH_NODISCARD mesh_err_t mesh_share(mesh_t *m, const char *coll,
                                                 const char *const *ids, size_t count);

/* Take device id out of coll's access list: write a signed "revoked" access record. The
 * device keeps what it holds but is sent nothing new of coll, and its sets of coll are
 * refused from then on. A device may unshare itself.
 * Errors: MESH_EINVAL (m, coll or id NULL, a bad or reserved name), MESH_EBADID,
 * MESH_ESTATE (coll has no access list, so is every member's: share it with some first;
 * or its list does not hold this device), and those of mesh_txn_commit.
 * Thread-safety: any thread; it commits as mesh_txn_commit does. */
MESH_EXPORT MESH_NODISCARD mesh_err_t mesh_unshare(mesh_t *m, const char *coll, const char *id);

/* The device IDs listed by mesh_members; opaque. */
typedef struct mesh_member_list mesh_member_list_t;

/* List who may hold coll in this device's view: the mesh members its access list holds,
 * or every member when it has none; with coll NULL, the members of the mesh. IDs are in
 * byte order of their keys. MESH_OK: *out is new; free it with mesh_member_list_free.
 * Error: *out is NULL. Errors: MESH_EINVAL (m or out NULL, a bad collection name),
 * MESH_ENOMEM, MESH_EIO and MESH_ECORRUPT (the store).
 * Thread-safety: any thread (it reads the store, as mesh_get). */
MESH_EXPORT MESH_NODISCARD mesh_err_t mesh_members(mesh_t *m, const char *coll,
                                                   mesh_member_list_t **out);

/* The number of devices in list; 0 for NULL. Thread-safety: any thread. */
MESH_EXPORT size_t mesh_member_list_count(const mesh_member_list_t *list);

/* Device i's ID text (MESH_ID_TEXT_LEN chars), or NULL when i >= its count. Owned by list:
 * valid until mesh_member_list_free. Thread-safety: any thread. */
MESH_EXPORT const char *mesh_member_list_get(const mesh_member_list_t *list, size_t i);

/* Does the collection listed have an access list (false: every member may hold it, or the
 * list is of the mesh)? false for NULL. Thread-safety: any thread. */
MESH_EXPORT bool mesh_member_list_restricted(const mesh_member_list_t *list);

/* Free a list from mesh_members. NULL is a no-op. Thread-safety: any thread, once nothing
 * else uses the list. */
MESH_EXPORT void mesh_member_list_free(mesh_member_list_t *list);

/* One device's held-back sets, as listed by mesh_held: sets signed by a device that is not
 * (yet) a member, kept aside and applied once it becomes one (docs/PROTOCOL.md §8, §8.1).
 * Built by the library. */
typedef struct mesh_held_info {
    size_t size;                       /* sizeof(mesh_held_info_t) in the library */
    char origin[MESH_ID_TEXT_LEN + 1]; /* the signer's device ID */
    uint64_t sets;                     /* its sets held */
    uint64_t bytes;                    /* their bytes, as received */
    int64_t first_seen_ms;             /* when the oldest of them came (unix time, ms) */
    int64_t last_seen_ms;              /* when the newest of them came */
} mesh_held_info_t;

/* The devices listed by mesh_held; opaque. */
typedef struct mesh_held_list mesh_held_list_t;

/* List the devices whose sets are held back, one entry each, oldest first (the order the
 * caps drop them in). A device stops being listed when mesh_peer_add, or an add record
 * received, makes it a member: its sets are then applied.
 * m: the node. out: *out* the list (empty when nothing is held); read it with
 * mesh_held_list_count and mesh_held_list_get.
 * MESH_OK: *out is new; free it with mesh_held_list_free. Error: *out is NULL.
 * Errors: MESH_EINVAL (m or out NULL), MESH_ENOMEM, MESH_EIO and MESH_ECORRUPT (the store).
 * Thread-safety: any thread (it reads the store, as mesh_get). */
MESH_EXPORT MESH_NODISCARD mesh_err_t mesh_held(mesh_t *m, mesh_held_list_t **out);

/* The number of devices in list; 0 for NULL. Thread-safety: any thread. */
MESH_EXPORT size_t mesh_held_list_count(const mesh_held_list_t *list);

/* Entry i of list, or NULL when i >= its count. Owned by list: valid until
 * mesh_held_list_free. Thread-safety: any thread. */
MESH_EXPORT const mesh_held_info_t *mesh_held_list_get(const mesh_held_list_t *list, size_t i);

/* Free a list from mesh_held. NULL is a no-op. Thread-safety: any thread, once nothing else
 * uses the list. */
MESH_EXPORT void mesh_held_list_free(mesh_held_list_t *list);

/* The held-back list in figures, and its caps. Lent by the caller: set size to
 * sizeof(mesh_held_summary_t). */
typedef struct mesh_held_summary {
    size_t size;               /* set by the caller: sizeof(mesh_held_summary_t) */
    uint64_t sets;             /* sets held */
    uint64_t bytes;            /* their bytes */
    uint64_t origins;          /* devices they come from */
    uint64_t dropped_sets;     /* sets dropped, oldest first, to keep under the caps (ever) */
    uint64_t dropped_bytes;    /* their bytes */
    uint64_t cap_origin_sets;  /* the caps: sets held per device */
    uint64_t cap_origin_bytes; /* bytes held per device */
    uint64_t cap_sets;         /* sets held in all */
    uint64_t cap_bytes;        /* bytes held in all */
} mesh_held_summary_t;

/* Fill *out with the held-back list's figures (only the fields that fit in out->size; size
 * itself is left as it is): one short read, for a status line.
 * Errors: MESH_EINVAL (m or out NULL, or out->size < sizeof(size_t)), MESH_EIO and
 * MESH_ECORRUPT (the store). Thread-safety: any thread (as mesh_get). */
MESH_EXPORT MESH_NODISCARD mesh_err_t mesh_held_summary(mesh_t *m, mesh_held_summary_t *out);

/* What mesh_import did. Lent by the caller: set size to sizeof(mesh_import_report_t). */
typedef struct mesh_import_report {
    size_t size;          /* set by the caller: sizeof(mesh_import_report_t) */
    size_t sets_new;      /* sets that added something */
    size_t sets_known;    /* sets already held: nothing changed */
    size_t sets_held;     /* sets from devices not (yet) members: kept aside, applied later */
    size_t sets_rejected; /* sets that failed verification: nothing of them kept */
    size_t ops_stored;    /* versions stored */
    char *text;           /* one line per held, rejected or waiting set, or NULL; mesh_free it */
    size_t sets_waiting;  /* sets whose causal context names versions not held here (yet):
                             not applied; imported again once those came (PROTOCOL.md §5.3) */
} mesh_import_report_t;

/* Write a bundle: membership first, then each collection in colls[0..ncolls) (all user
 * collections when ncolls is 0): the live versions and tombstones this device holds, with
 * the signed headers and proofs that prove them, and watermarks. With since (the bytes of
 * a vector file from mesh_vector on the receiving device), only what that vector does not
 * cover. MESH_OK: *out (caller frees with mesh_free) holds *out_len bytes.
 * Errors: MESH_EINVAL, MESH_EPROTO (since does not decode), MESH_ENOMEM, MESH_EIO.
 * Thread-safety: any thread (as mesh_get). */
MESH_EXPORT MESH_NODISCARD mesh_err_t mesh_export(mesh_t *m, const char *const *colls,
                                                  size_t ncolls, const void *since,
                                                  size_t since_len, void **out, size_t *out_len);

/* Verify and apply a bundle from mesh_export (any device's, relayed by anyone). Each set is
 * checked against its origin's signature; sets that fail are rejected one by one and the
 * rest applied; sets from devices that are not members are held back until membership
 * makes them members. Importing the same bundle twice changes nothing.
 * m: the node. bundle, len: the bundle's bytes. report: *out* what happened; the caller sets
 * report->size first (sizeof(mesh_import_report_t)), and the library fills only the fields
 * that fit in that size (report->size itself is left as it is).
 * MESH_OK: *report says what happened; report->text (when it fits) is malloc'd or NULL:
 * the caller frees it with mesh_free. Error: the counts say what was applied before the
 * failure (the sections before it stay applied), and text is NULL.
 * Errors: MESH_EINVAL (m, bundle or report NULL, or report->size < sizeof(size_t)),
 * MESH_EPROTO (not a bundle), MESH_ETOOBIG (past a cap), MESH_ENOSPC, MESH_EIO,
 * MESH_ENOMEM. Thread-safety: any thread; it commits as mesh_txn_commit does. */
MESH_EXPORT MESH_NODISCARD mesh_err_t mesh_import(mesh_t *m, const void *bundle, size_t len,
                                                  mesh_import_report_t *report);

/* Write this device's version vectors (membership first, then colls, or all user
 * collections when ncolls is 0) as a vector file for another device's mesh_export.
 * MESH_OK: *out (caller frees with mesh_free) holds *out_len bytes.
 * Thread-safety: any thread (as mesh_get). */
MESH_EXPORT MESH_NODISCARD mesh_err_t mesh_vector(mesh_t *m, const char *const *colls,
                                                  size_t ncolls, void **out, size_t *out_len);

/* One collection as listed by mesh_collections. Built by the library; its name lives in
 * the list it came from. */
typedef struct mesh_coll_info {
    size_t size;       /* sizeof(mesh_coll_info_t) in the library */
    const char *name;  /* its name */
    uint64_t keys;     /* keys with a version, tombstones included */
    uint64_t versions; /* versions held: live values, siblings and tombstones */
    char digest[65];   /* the digest as 64 hex chars (see mesh_digest) */
} mesh_coll_info_t;

/* The collections listed by mesh_collections; opaque. */
typedef struct mesh_coll_list mesh_coll_list_t;

/* List the user collections this device holds (not the system ones), by name (byte order).
 * m: the node. out: *out* the list; read it with mesh_coll_list_count and mesh_coll_list_get.
 * MESH_OK: *out is new (empty when there is none); free it with mesh_coll_list_free.
 * Error: *out is NULL. Errors: MESH_EINVAL (m or out NULL), MESH_ENOMEM, MESH_EIO and
 * MESH_ECORRUPT (the store). Thread-safety: any thread (as mesh_get). */
MESH_EXPORT MESH_NODISCARD mesh_err_t mesh_collections(mesh_t *m, mesh_coll_list_t **out);

/* The number of collections in list; 0 for NULL. Thread-safety: any thread. */
MESH_EXPORT size_t mesh_coll_list_count(const mesh_coll_list_t *list);

/* Collection i of list, or NULL when i >= its count. Owned by list: valid, with its name,
 * until mesh_coll_list_free.
 * Thread-safety: any thread. */
MESH_EXPORT const mesh_coll_info_t *mesh_coll_list_get(const mesh_coll_list_t *list, size_t i);

/* Free a list from mesh_collections. NULL is a no-op. Thread-safety: any thread, once
 * nothing else uses the list. */
MESH_EXPORT void mesh_coll_list_free(mesh_coll_list_t *list);

/* Check a device ID's text (case and dashes are free). MESH_OK, or MESH_EBADID.
 * Thread-safety: any thread. */
MESH_EXPORT MESH_NODISCARD mesh_err_t mesh_id_check(const char *text);

/* ---- Sync status ----
 * What the node reports about its sync, as a snapshot taken by mesh_status and read through
 * the accessors below. The accessors fill size-first structs: set out->size to sizeof the
 * struct as your header defines it; fields are only ever added at the end, and a library
 * newer than your header fills only the fields your size covers. */

typedef struct mesh_status mesh_status_t; /* a snapshot of the node's sync; opaque */

/* This device, and the loop that syncs it. */
typedef struct mesh_status_device {
    size_t size;        /* sizeof(mesh_status_device_t), set by the caller; always first */
    const char *id;     /* this device's ID (text form) */
    const char *name;   /* its name */
    bool daemon;        /* a loop syncs this home: this node's own, or a daemon's whose
                         * status is fresh (written within the last 3 s) */
    int64_t pid;        /* the process that runs that loop, 0 when none */
    const char *listen; /* the endpoint it listens on, "" when none */
    int64_t age_ms;     /* how old the figures are, in ms; -1 without a loop */
    size_t peers;       /* peers listed (mesh_status_peer takes 0..peers-1) */
    size_t colls;       /* (collection, peer) rows (mesh_status_coll takes 0..colls-1) */
    uint64_t txnid;     /* the store transaction the figures were counted at (0: unknown) */
    size_t refusals;    /* devices refused lately (mesh_status_refusal takes 0..refusals-1) */
    size_t errors;      /* the loop's last warnings and errors (mesh_status_error takes
                         * 0..errors-1) */
    const char *source; /* where the figures came from: "loop" (this node's own),
                         * "socket" (the daemon's answer on its control socket,
                         * docs/PROTOCOL.md §21), "file" (HOME/status), "" (no loop) */
} mesh_status_device_t;

/* One member, as the loop sees it. Without a loop: every member but this device, with its
 * name and known addresses, and nothing else set. */
typedef struct mesh_status_peer {
    size_t size;              /* sizeof(mesh_status_peer_t), set by the caller; always first */
    const char *id;           /* its device ID */
    const char *name;         /* its name in the membership records, "" when none */
    const char *addr;         /* the address dialled, "" when none (it dials in); without
                               * a loop every known address, space-separated */
    bool connected;           /* heard from within the last 4 s */
    bool session;             /* a session is up (it said HELLO in a version we speak) */
    bool refused;             /* it speaks a protocol version we do not, or refused ours */
    bool in_sync;             /* session up, nothing in flight, nothing left either way */
    int64_t silent_ms;        /* since it was last heard from, -1 if never */
    int64_t last_seen;        /* when it was last heard from (Unix seconds), 0 if never */
    uint64_t to_send;         /* versions it lacks that this device holds */
    uint64_t to_receive;      /* versions this device lacks that it holds */
    int64_t bytes_to_send;    /* estimated bytes of to_send, -1 when unknown */
    int64_t bytes_to_receive; /* estimated bytes of to_receive, -1 when unknown */
    uint64_t in_flight;       /* batches sent to it and not yet acknowledged */
    uint64_t batches_out;     /* batches sent to it */
    uint64_t batches_in;      /* batches received from it and committed */
    uint64_t bytes_out;       /* bytes sent to it (every message) */
    uint64_t bytes_in;        /* bytes received from it (every message) */
    bool busy;                /* a pass to it, a batch in flight or a question is under way */
    uint64_t versions_in;     /* versions received from it in batches and committed */
    uint64_t batch_bytes_in;  /* bundle bytes of the batches received from it */
    int64_t rate_in;          /* versions received from it per second lately, -1 unknown */
    uint64_t repairs;         /* slow-path repairs with it that moved versions, since the
                               * loop started (docs/PROTOCOL.md §13) */
    const char *via;          /* its path (docs/PROTOCOL.md §17): the ID of the member whose
                               * session brought its latest sets (its own ID: directly), ""
                               * when none came since the loop started */
    int64_t via_seen;         /* when those came (Unix seconds), 0 if none */
    uint64_t blocks_asked;    /* file blocks this device asked of it (BLOCK_REQ, §18.6), */
    uint64_t blocks_asked_in; /* and it asked of this device, since the loop started */
} mesh_status_peer_t;

/* One collection against one peer with a session up, listed only while something is left
 * either way: a collection without a row for such a peer has nothing left with it, and is in
 * sync with it unless that peer is busy. */
typedef struct mesh_status_coll {
    size_t size;              /* sizeof(mesh_status_coll_t), set by the caller; always first */
    const char *name;         /* the collection's name */
    const char *peer;         /* the peer's device ID */
    uint64_t to_send;         /* versions of it the peer lacks */
    uint64_t to_receive;      /* versions of it this device lacks */
    int64_t bytes_to_send;    /* estimated bytes of to_send, -1 when unknown */
    int64_t bytes_to_receive; /* estimated bytes of to_receive, -1 when unknown */
    bool in_sync;             /* nothing in flight to that peer, nothing left either way */
} mesh_status_coll_t;

/* A device refused lately: not a member, it tried to connect (or sent a frame). Its CURVE
 * key is all that is known of it, and that gives its device ID up to one bit: it is id or
 * alt_id (the two differ in the last characters; `meshctl id` on it tells which). */
typedef struct mesh_status_refusal {
    size_t size;        /* sizeof(mesh_status_refusal_t), set by the caller; always first */
    const char *id;     /* the first device ID its key may belong to */
    const char *alt_id; /* the other one */
    uint64_t count;     /* attempts refused */
    int64_t first_seen; /* the first one (Unix seconds) */
    int64_t last_seen;  /* the last one (Unix seconds) */
} mesh_status_refusal_t;

/* One of the loop's last warnings or errors (as given to the log callback, at most
 * mesh_options_t.log_level): repeats of the same text count on the same entry. */
typedef struct mesh_status_error {
    size_t size;       /* sizeof(mesh_status_error_t), set by the caller; always first */
    const char *text;  /* the message */
    int level;         /* MESH_LOG_ERROR or MESH_LOG_WARN */
    uint64_t count;    /* times said in a row */
    int64_t last_seen; /* the last time (Unix seconds) */
} mesh_status_error_t;

/* Take a snapshot of the node's sync. On a node whose loop runs in this process (not
 * offline), the figures the loop last published (it refreshes them every 250 ms). On an
 * offline node, those of the daemon running on the same home: asked over its control socket
 * (HOME/control/socket, docs/PROTOCOL.md §21), or, when nothing answers there, read from
 * the status file it keeps (HOME/status, §11.4); when no daemon runs (nothing answers on
 * the socket, and no file, its process gone, or not refreshed for 3 s), the members with
 * their addresses and daemon false. The device part's source says which.
 * Figures older than the store (a commit since they were counted, e.g. a write just made)
 * are waited for, up to 1 s, so that a snapshot taken after a write shows it.
 * MESH_OK: *out is the snapshot; free it with mesh_status_free. Error: *out is NULL.
 * Errors: MESH_EINVAL (m or out NULL), MESH_ECORRUPT (the status file does not decode),
 * MESH_EIO (it cannot be read, or the members cannot be listed), MESH_ENOMEM.
 * Thread-safety: any thread, also while the node's loop runs (it reads the published
 * figures under a lock); the snapshot itself is the caller's. */
MESH_EXPORT MESH_NODISCARD mesh_err_t mesh_status(mesh_t *m, mesh_status_t **out);

/* Fill *out (out->size set by the caller) with the device part of st. Strings are owned by
 * st and valid until mesh_status_free(st).
 * Errors: MESH_EINVAL (st or out NULL, out->size smaller than a size_t).
 * Thread-safety: a snapshot may be read from any thread, by several at once. */
MESH_EXPORT MESH_NODISCARD mesh_err_t mesh_status_device(const mesh_status_t *st,
                                                         mesh_status_device_t *out);

/* Fill *out (out->size set by the caller) with peer i of st (0 <= i < the device's peers).
 * Strings are owned by st and valid until mesh_status_free(st).
 * Errors: MESH_EINVAL (as mesh_status_device), MESH_ENOTFOUND (no peer i); on error *out
 * is unchanged. Thread-safety: as mesh_status_device. */
MESH_EXPORT MESH_NODISCARD mesh_err_t mesh_status_peer(const mesh_status_t *st, size_t i,
                                                       mesh_status_peer_t *out);

/* Fill *out (out->size set by the caller) with (collection, peer) row i of st (0 <= i <
 * the device's colls), listed peer by peer, by collection name within a peer. Strings are
 * owned by st and valid until mesh_status_free(st).
 * Errors: MESH_EINVAL (as mesh_status_device), MESH_ENOTFOUND (no row i); on error *out is
 * unchanged. Thread-safety: as mesh_status_device. */
MESH_EXPORT MESH_NODISCARD mesh_err_t mesh_status_coll(const mesh_status_t *st, size_t i,
                                                       mesh_status_coll_t *out);

/* Fill *out (out->size set by the caller) with refusal i of st (0 <= i < the device's
 * refusals), the most recent first. Strings are owned by st and valid until
 * mesh_status_free(st). Errors: MESH_EINVAL (as mesh_status_device), MESH_ENOTFOUND (no
 * refusal i); on error *out is unchanged. Thread-safety: as mesh_status_device. */
MESH_EXPORT MESH_NODISCARD mesh_err_t mesh_status_refusal(const mesh_status_t *st, size_t i,
                                                          mesh_status_refusal_t *out);

/* Fill *out (out->size set by the caller) with error i of st (0 <= i < the device's errors),
 * the most recent first. Strings are owned by st and valid until mesh_status_free(st).
 * Errors: MESH_EINVAL (as mesh_status_device), MESH_ENOTFOUND (no error i); on error *out is
 * unchanged. Thread-safety: as mesh_status_device. */
MESH_EXPORT MESH_NODISCARD mesh_err_t mesh_status_error(const mesh_status_t *st, size_t i,
                                                        mesh_status_error_t *out);

/* Free a snapshot from mesh_status and every string it owns. NULL is a no-op.
 * Thread-safety: any thread, once nothing else uses the snapshot. */
MESH_EXPORT void mesh_status_free(mesh_status_t *st);

/* ---- Pairing by a one-time code (docs/PROTOCOL.md §15) ----
 * Device A opens a pairing (mesh_pair_open): it draws a code such as
 * "7-crystal-ladder-orbit" and listens for one device on a pairing endpoint of its own (the
 * sync listener is not involved; a daemon may run on the home meanwhile). Device B, told the
 * code and A's pairing address, joins (mesh_pair_join). Both sides then run CPace over the
 * code: a wrong code fails both sides and burns the code; the code works once and expires.
 * After success A has written the add record for B (and, with share, B's access records)
 * and B the add record for A with the addresses A gave: B then syncs with A (its daemon, or
 * the next one started) and is trusted by every member once A's record reaches it. */

/* A progress line for people ("a device connected: exchanging keys"), no newline. */
typedef void (*mesh_pair_progress_fn)(void *ctx, const char *line);

/* Options of mesh_pair_open and mesh_pair_join. Set size to sizeof(mesh_pair_options_t);
 * zero every field you do not use. */
typedef struct mesh_pair_options {
    size_t size;                    /* sizeof(mesh_pair_options_t), always first */
    const char *listen;             /* open: the pairing endpoint, tcp://HOST:PORT (PORT 0: any
                                     * free one); NULL: "tcp://0.0.0.0:47475" */
    uint64_t expire_ms;             /* open: the code expires after this; 0: 10 minutes */
    const char *const *addrs;       /* open: the sync addresses B is to dial A at (e.g. its
                                     * daemon's "tcp://host:7400"); a host 0.0.0.0, * or [::]
                                     * is replaced at B by the host B reached A at */
    size_t addr_count;              /* their number, 0..8 */
    const char *const *share;       /* open: limit B to these collections (see mesh_pair_open) */
    size_t share_count;             /* their number; 0: B gets every collection, as any member */
    uint64_t timeout_ms;            /* join: give up after this; 0: 30 s */
    mesh_pair_progress_fn progress; /* progress lines, or NULL */
    void *progress_ctx;             /* passed to progress */
    bool lan;                       /* open: send pairing beacons (nameplate and port, no ID)
                                     * on the LAN while open; join with addr NULL: find the
                                     * device by them. Off whenever the environment has
                                     * MESHSYNC_NO_DISCOVERY set (not empty) */
    unsigned lan_port;              /* their UDP port; 0: 47474 (docs/PROTOCOL.md §15.6) */
} mesh_pair_options_t;

/* A pairing opened by mesh_pair_open; opaque. */
typedef struct mesh_pair mesh_pair_t;

/* Open a pairing on m (offline or not): draw a fresh code and listen on opts->listen for
 * the joining device. One pairing at a time per home (HOME/pair.lock). With share, B is
 * limited to those collections: every user collection that has no access list yet (the
 * listed ones too) first gets one of the current members, then each listed one is shared
 * with B (mesh_share).
 * MESH_OK: *out is open; wait with mesh_pair_wait, close with mesh_pair_close.
 * Errors: MESH_EINVAL (a bad option), MESH_EBUSY (another pairing is open on this home, or
 * the endpoint is in use), MESH_EIO, MESH_ENOMEM; detail in mesh_errmsg(m).
 * Thread-safety: any thread; the pairing then belongs to that thread. */
MESH_EXPORT MESH_NODISCARD mesh_err_t mesh_pair_open(mesh_t *m, const mesh_pair_options_t *opts,
                                                     mesh_pair_t **out);

/* The code to tell the other device ("N-word-word-word"), and the endpoint actually bound
 * (with the port chosen); valid until mesh_pair_close.
 * Thread-safety: any thread, while p is open (they read what mesh_pair_open set). */
MESH_EXPORT const char *mesh_pair_code(const mesh_pair_t *p);
/* (see mesh_pair_code) Thread-safety: any thread, while p is open. */
MESH_EXPORT const char *mesh_pair_endpoint(const mesh_pair_t *p);

/* Serve the pairing until one device has paired, the code is burnt, or it expires. Devices
 * that connect are taken one at a time (others are refused at the handshake while one is
 * under way); an attempt silent for 10 s is dropped without burning the code, as is one
 * refused before any share was sent (another nameplate, both devices meshed), at most 16
 * such per code and one a second.
 * MESH_OK: paired; id (id_len >= MESH_ID_TEXT_LEN + 1 bytes, may be NULL) receives B's ID.
 * Errors: MESH_EBADSIG (a wrong code: the code is burnt), MESH_ESTATE (expired, or already
 * used; or 16 attempts failed), MESH_EPROTO (the peer broke the protocol: burnt), and the
 * store's errors while writing B's records. A device refused because both devices already
 * share a mesh with others is told so, and the pairing goes on waiting (the code is not
 * burnt: no share was sent).
 * Thread-safety: the thread that opened p. */
MESH_EXPORT MESH_NODISCARD mesh_err_t mesh_pair_wait(mesh_pair_t *p, char *id, size_t id_len);

/* Stop listening, wipe the code and free p. NULL is a no-op.
 * Thread-safety: the thread that opened p, once nothing else uses p. */
MESH_EXPORT void mesh_pair_close(mesh_pair_t *p);

/* Join the pairing that shows code at addr ("host:port" or "tcp://host:port": A's pairing
 * endpoint), within opts->timeout_ms. addr NULL, with opts->lan: the first pairing beacon
 * heard with the code's nameplate gives it (MESH_EINVAL when LAN discovery is off). MESH_OK: A's
 * add record is written here (with the addresses A gave), and id (may be NULL) receives A's ID.
 * Errors: MESH_EINVAL (a malformed code or address: detail in mesh_errmsg), MESH_ENOTFOUND
 * (a word not in the list; or no pairing with that nameplate there), MESH_EBADSIG (wrong
 * code: A burnt it), MESH_EEXIST (both devices share a mesh with others), MESH_ESTATE (the
 * code expired or was used), MESH_EBUSY (no answer in time: no pairing open there, or
 * another device is pairing with it now; or no pairing beacon heard), MESH_EPROTO, MESH_EIO.
 * Thread-safety: any thread. */
MESH_EXPORT MESH_NODISCARD mesh_err_t mesh_pair_join(mesh_t *m, const char *code, const char *addr,
                                                     const mesh_pair_options_t *opts, char *id,
                                                     size_t id_len);

/* ---- Folders (issue 18; docs/PROTOCOL.md §18): directories synced between members ---- */

/* One folder as listed by mesh_folder_ls. Built by the library (fields only ever added at the
 * end); its strings are owned by the list. */
typedef struct mesh_folder {
    size_t size;      /* sizeof(mesh_folder_t) in the library */
    const char *id;   /* the folder ID (1..64 bytes of A-Z a-z 0-9 . _ -) */
    const char *path; /* its root on this device, or NULL: offered by other members (their
                       * index arrives here) and not joined */
    bool joined;      /* this device syncs it (path is set) */
} mesh_folder_t;

typedef struct mesh_folder_list mesh_folder_list_t; /* opaque: mesh_folder_ls */

/* Sync the directory path as folder id (NULL: the ID in its root marker if it has one, else a
 * new random one), writing the root marker PATH/.meshsync/folder-id; a daemon on this home
 * picks it up, scans it into the folder's index and brings it to the index other members
 * publish. To join a folder another member offers (mesh_folder_ls), pass its ID. When this
 * device holds nothing of the folder's index yet (it creates the folder), the folder record
 * is written to the index (docs/PROTOCOL.md §18.5), so members see it offered while it is
 * still empty. id_out (may be NULL) receives the ID (at most 65 bytes with the NUL).
 * Errors: MESH_EINVAL (a malformed ID), MESH_ENOTFOUND (path is not a directory), MESH_EEXIST
 * (the ID or the directory is synced already, or its marker names another folder),
 * MESH_ETOOBIG (256 folders already), MESH_EIO, and those of mesh_txn_commit for the record
 * (MESH_ENOSPC...: the folder is then not recorded); detail in mesh_errmsg.
 * Thread-safety: any thread. */
MESH_EXPORT MESH_NODISCARD mesh_err_t mesh_folder_add(mesh_t *m, const char *path, const char *id,
                                                      char *id_out, size_t id_out_len);

/* Stop syncing folder id on this device. No file is deleted, here or elsewhere; the marker
 * stays. Errors: MESH_EINVAL, MESH_ENOTFOUND (no such folder here), MESH_EIO.
 * Thread-safety: any thread. */
MESH_EXPORT MESH_NODISCARD mesh_err_t mesh_folder_rm(mesh_t *m, const char *id);

/* List this device's folders, then the folders offered by other members (an index
 * collection held here whose folder this device has not joined). MESH_OK: *out is new (free
 * with mesh_folder_list_free). Errors: MESH_EINVAL, MESH_ENOMEM, MESH_ECORRUPT, MESH_EIO.
 * Thread-safety: any thread. */
MESH_EXPORT MESH_NODISCARD mesh_err_t mesh_folder_ls(mesh_t *m, mesh_folder_list_t **out);

/* Number of folders in list (0 for NULL). Thread-safety: any thread. */
MESH_EXPORT size_t mesh_folder_list_count(const mesh_folder_list_t *list);

/* Folder i of list, or NULL when i >= its count; owned by list. Thread-safety: any thread. */
MESH_EXPORT const mesh_folder_t *mesh_folder_list_get(const mesh_folder_list_t *list, size_t i);

/* Free a list; NULL is a no-op. Thread-safety: any thread. */
MESH_EXPORT void mesh_folder_list_free(mesh_folder_list_t *list);
/* ---- Change feed (docs/PROTOCOL.md §20) ----
 * Every change this node's store takes (a local put or delete, a remote set applied, a
 * conflict, a fork's versions moved) gives the key a local sequence number, written in the
 * same transaction as the change: the cursor. The log keeps each key's latest change only,
 * so a reader gets the latest state of every key changed after its cursor, in the order of
 * those latest changes, never a change twice and none missed, across restarts and crashes
 * (save the cursor of the last change handled; resume from it). Cursors belong to one home:
 * they are not comparable between devices, nor valid in a copy or a restored backup. */

/* One change, as mesh_changes lists it and mesh_watch hands it over: the key's state at the
 * time it was read (its winner). A deletion whose tombstone was collected since (tombstone
 * collection, docs/PROTOCOL.md §8.4) is still listed, deleted, with no version left to name:
 * origin "", incarnation, seq and hlc 0. Built by the library (see "Structs that grow"). */
typedef struct mesh_change {
    size_t size;                       /* sizeof(mesh_change_t) in the library */
    uint64_t cursor;                   /* this change's place: resume after it from here */
    const char *coll;                  /* the collection */
    const uint8_t *key;                /* the key bytes */
    size_t key_len;                    /* their length */
    const uint8_t *value;              /* the winner's value (NULL when deleted) */
    size_t value_len;                  /* its length */
    bool deleted;                      /* the winner is a deletion */
    bool conflict;                     /* the key holds siblings (mesh_get_versions) */
    bool local;                        /* the winner was written by this device */
    char origin[MESH_ID_TEXT_LEN + 1]; /* device ID of the winner's writer */
    uint64_t incarnation;              /* the writer's store incarnation */
    uint64_t seq; /* the winner's seq within (collection, origin, incarnation) */
    uint64_t hlc; /* hybrid logical clock of the winner's change set */
} mesh_change_t;

/* The changes listed by mesh_changes; opaque. */
typedef struct mesh_change_list mesh_change_list_t;

/* The cursor "now" for mesh_watch: only changes committed after the call. */
#define MESH_CURSOR_NOW UINT64_MAX

/* List the changes after cursor since (0: from the start), oldest first: at most max
 * (0: 1,000; at most 10,000), and fewer when their values pass 16 MiB. coll NULL: every
 * collection whose name does not start with '_'; otherwise that one collection (a reserved
 * one such as "_mesh" too). prefix (prefix_len bytes, 0: any): only keys starting with it.
 * MESH_OK: *out is new; read it with mesh_change_list_count, _get, _next, _more and
 * _reset; free it with mesh_change_list_free. Error: *out is NULL.
 * Errors: MESH_EINVAL (m or out NULL; a bad collection name; since beyond this home's log:
 * a cursor of another home or of a store restored from an older copy: start again from
 * 0), MESH_ETOOBIG (name or prefix too long), MESH_ENOMEM, MESH_EIO, MESH_ECORRUPT.
 * Thread-safety: any thread (it reads in one read transaction of its own, as mesh_get). */
MESH_EXPORT MESH_NODISCARD mesh_err_t mesh_changes(mesh_t *m, const char *coll, const void *prefix,
                                                   size_t prefix_len, uint64_t since, size_t max,
                                                   mesh_change_list_t **out);

/* The number of changes in list; 0 for NULL. Thread-safety: any thread. */
MESH_EXPORT size_t mesh_change_list_count(const mesh_change_list_t *list);

/* Change i of list (0 is the oldest), or NULL when i >= its count. Owned by list: valid, with
 * its text, key and value, until mesh_change_list_free. Thread-safety: any thread. */
MESH_EXPORT const mesh_change_t *mesh_change_list_get(const mesh_change_list_t *list, size_t i);

/* The cursor to pass as since next: past every change listed and every entry the filters
 * skipped (so it may be past the last change's cursor). 0 for NULL. Thread-safety: any thread. */
MESH_EXPORT uint64_t mesh_change_list_next(const mesh_change_list_t *list);

/* Did the call stop early (max, the value bytes, or a scan budget), with more changes after
 * mesh_change_list_next? Then call again at once. false for NULL. Thread-safety: any thread. */
MESH_EXPORT bool mesh_change_list_more(const mesh_change_list_t *list);

/* Is since older than a deletion the log has since forgotten (the log keeps 65,536
 * collected deletions, then prunes the oldest quarter; and a collected key longer than 400
 * bytes cannot be named)? Then a key the caller holds may be gone without a change saying
 * so: read the collection afresh (mesh_iter_open), then go on from mesh_change_list_next.
 * Never for since 0. false for NULL. Thread-safety: any thread. */
MESH_EXPORT bool mesh_change_list_reset(const mesh_change_list_t *list);

/* Free a list from mesh_changes. NULL is a no-op. Thread-safety: any thread, once nothing
 * else uses the list. */
MESH_EXPORT void mesh_change_list_free(mesh_change_list_t *list);

/* A watch's callback: one change (valid only during the call). reset: as
 * mesh_change_list_reset, said with the first change after it (change NULL when there is
 * none). See mesh_watch for the thread it runs on and what it may call. */
typedef void (*mesh_watch_fn)(void *ctx, const mesh_change_t *change, bool reset);

typedef struct mesh_watch mesh_watch_t; /* a registered watch; opaque */

/* Call fn for every change after cursor since (MESH_CURSOR_NOW: from now on) of coll (NULL:
 * every collection not starting with '_') whose key starts with prefix, as mesh_changes
 * lists them: local writes, remote sets applied, conflicts, and writes of other processes
 * on this home (a daemon, a meshctl). Each watch keeps its own cursor; each change reaches
 * fn once, in order, with its cursor: save it to resume with since after a restart.
 * The callbacks of every watch on m run on one thread of the library's own (the feed
 * thread, started by the first mesh_watch), never on the sync loop's, one at a time. A
 * commit of this process wakes it at once; another process's is seen within 25 ms. Each
 * round hands each watch at most 256 changes read in one short read transaction that is
 * ended before the first callback, so a callback may call any mesh_ function on m (read,
 * write, mesh_watch, mesh_unwatch of any watch, itself included) except mesh_close. A slow
 * callback stalls only the feed: syncing and writing go on, and the log keeps one entry a
 * key, so a watch that falls behind later gets the latest state of each key changed
 * meanwhile, never a queue that grows.
 * MESH_OK: *out is the watch; end it with mesh_unwatch (mesh_close ends those left, once
 * a callback under way has returned).
 * Errors: MESH_EINVAL (m, fn or out NULL; a bad collection name; since beyond the log),
 * MESH_ETOOBIG, MESH_ENOMEM, MESH_EIO (the thread did not start).
 * Thread-safety: any thread, the feed thread included. */
MESH_EXPORT MESH_NODISCARD mesh_err_t mesh_watch(mesh_t *m, const char *coll, const void *prefix,
                                                 size_t prefix_len, uint64_t since,
                                                 mesh_watch_fn fn, void *ctx, mesh_watch_t **out);

/* The cursor of the last change w handed to its callback (or skipped by its filters): where
 * it would resume. Thread-safety: any thread, while w is watched. */
MESH_EXPORT uint64_t mesh_watch_cursor(const mesh_watch_t *w);

/* End a watch: once it returns, w's callback runs no more (called from another thread, it
 * waits for a callback of w under way to return; from w's own callback it returns at once
 * and that call is the last). NULL is a no-op.
 * Thread-safety: any thread, the feed thread included; once per watch. */
MESH_EXPORT void mesh_unwatch(mesh_watch_t *w);

/* ---- The daemon and meshctl: waiting for sync (docs/PROTOCOL.md §21) ---- */

/* Wait until the loop that syncs this home is in sync with every connected peer in the
 * collections colls[0..ncolls) (every collection when ncolls is 0), with at least peers
 * peers connected, steadily for 0.6 s in figures published after the call began; or until
 * timeout_ms passed. On an offline node the daemon of the home is asked over its control
 * socket and answers as soon as that holds (nothing is polled meanwhile); when none answers
 * there (none runs yet, or its socket is off), and on a node whose loop runs in this
 * process, its published figures are read every 50 ms (mesh_status). connected and synced
 * (each may be NULL) receive the peers connected at the end and, of those, the ones in sync.
 * MESH_OK: in sync. Errors: MESH_EBUSY (not in sync at the timeout), MESH_ENOTFOUND (no
 * loop synced this home during the wait: no daemon runs), MESH_EINVAL (m NULL, more than 64
 * collections or peers, a name empty or over MESH_COLL_MAX, timeout_ms over a day), and
 * mesh_status's errors.
 * Thread-safety: any thread, several at once. */
MESH_EXPORT MESH_NODISCARD mesh_err_t mesh_wait(mesh_t *m, const char *const *colls, size_t ncolls,
                                                size_t peers, uint32_t timeout_ms,
                                                size_t *connected, size_t *synced);

/* Wait until folder id (folder add, mesh_folder_add) is in sync: the disk of this home holds
 * all its index (mesh_status_folder's in_sync: nothing to fetch, write or delete) and its
 * index is in sync with at least peers connected members (mesh_wait on the collection
 * "folder:ID"), both at one reading of the status published after the index was; or until
 * timeout_ms passed. The daemon (or this process's loop) syncs the home; its status is read
 * again at each publication it makes (inotify on HOME/status), at least every 0.3 s.
 * MESH_OK: in sync. Errors: MESH_EBUSY (not in sync at the timeout: mesh_errmsg says what
 * the status says is left: files and bytes still needed, the index not in sync with the
 * members, or the folder not synced here yet), MESH_ESTATE (the folder is
 * stopped: its root or marker is missing, mesh_errmsg says which), MESH_ENOTFOUND (no
 * daemon syncs this home), MESH_EINVAL (m or id NULL, id empty or too long, timeout_ms
 * over a day), MESH_EIO (the status could not be read), and mesh_wait's.
 * Thread-safety: any thread, several at once. */
MESH_EXPORT MESH_NODISCARD mesh_err_t mesh_folder_wait(mesh_t *m, const char *id, size_t peers,
                                                       uint32_t timeout_ms);

/* ---- Presence and messages (docs/PROTOCOL.md §22) ----
 * An online node knows which members have a session up with it now (presence), and sends
 * them ephemeral messages over the same encrypted sessions: to one member, or to every
 * member connected, on a topic. A message is never stored, queued for an offline member,
 * acknowledged or relayed: it reaches the members with a session up with the sender, or no
 * one. Both callbacks below run on the library's own thread (see Threads above): they must
 * return soon (messages and the sync wait behind them), may call any call whose
 * Thread-safety line says "any thread" (mesh_send, mesh_get, mesh_put, mesh_unsubscribe ...),
 * and must never call mesh_close. */

#define MESH_TOPIC_MAX   64u         /* bytes in a topic: printable ASCII (0x20..0x7e) */
#define MESH_MESSAGE_MAX (64u << 10) /* bytes of data in one message */

/* A member with a session up, as listed by mesh_presence. Built by the library; its text
 * lives in the list it came from. */
typedef struct mesh_presence {
    size_t size;                   /* sizeof(mesh_presence_t) in the library */
    char id[MESH_ID_TEXT_LEN + 1]; /* device ID */
    const char *name;              /* its name in the membership records ("" if none) */
    const char *addr;              /* the address our own link to it was dialled at, "" when only it
                                    * dialled us */
    int64_t since;                 /* when its session came up (Unix time, seconds) */
    bool messages;                 /* it takes messages (protocol 1.4 or later) */
} mesh_presence_t;

/* The members listed by mesh_presence; opaque. */
typedef struct mesh_presence_list mesh_presence_list_t;

/* List the members with a session up now (in device key order), as of the library's
 * thread's last turn (at most ~50 ms old).
 * MESH_OK: *out is new; free it with mesh_presence_list_free. Error: *out is NULL.
 * Errors: MESH_EINVAL (m or out NULL), MESH_ESTATE (an offline node has no sessions),
 * MESH_ENOMEM. Thread-safety: any thread. */
MESH_EXPORT MESH_NODISCARD mesh_err_t mesh_presence(mesh_t *m, mesh_presence_list_t **out);

/* The number of members in list; 0 for NULL. Thread-safety: any thread. */
MESH_EXPORT size_t mesh_presence_list_count(const mesh_presence_list_t *list);

/* Member i of list, or NULL when i >= its count. Owned by list: valid until
 * mesh_presence_list_free. Thread-safety: any thread. */
MESH_EXPORT const mesh_presence_t *mesh_presence_list_get(const mesh_presence_list_t *list,
                                                          size_t i);

/* Free a list from mesh_presence. NULL is a no-op. Thread-safety: any thread, once nothing
 * else uses the list. */
MESH_EXPORT void mesh_presence_list_free(mesh_presence_list_t *list);

/* Called with a member's device ID when its session comes up (online true) or goes (false:
 * it was silent for 4 s, stopped, or was removed). id is valid during the call. */
typedef void (*mesh_presence_fn)(void *ctx, const char *id, bool online);

/* Set the one presence callback of m (fn NULL: none), replacing the last. It is called on
 * the library's thread; members already online when it is set are not announced (list them
 * with mesh_presence). Once this returns, the old callback is not running and is not called
 * again (when called from inside a callback: not called again).
 * Errors: MESH_EINVAL (m NULL), MESH_ESTATE (an offline node).
 * Thread-safety: any thread. */
MESH_EXPORT MESH_NODISCARD mesh_err_t mesh_presence_watch(mesh_t *m, mesh_presence_fn fn,
                                                          void *ctx);

/* A message received, as handed to a subscription's callback; valid during the call. */
typedef struct mesh_message {
    size_t size;                     /* sizeof(mesh_message_t) in the library */
    char from[MESH_ID_TEXT_LEN + 1]; /* the sending member's device ID */
    const char *topic;               /* 1..MESH_TOPIC_MAX bytes, NUL-terminated */
    const void *data;                /* len bytes (NULL when len is 0) */
    size_t len;                      /* 0..MESH_MESSAGE_MAX */
    bool direct;                     /* sent to this device alone (else to all on the topic) */
} mesh_message_t;

typedef void (*mesh_message_fn)(void *ctx, const mesh_message_t *msg);

/* Subscribe fn to the messages whose topic starts with prefix ("" for every topic; at most
 * MESH_TOPIC_MAX bytes), direct or to all. A message is handed to every subscription it
 * matches, once each, on the library's thread. A message no subscription matches is
 * dropped (counted). id: *out* the subscription's id, for mesh_unsubscribe.
 * Errors: MESH_EINVAL (a NULL argument, a prefix not of printable ASCII), MESH_ETOOBIG (a
 * prefix past MESH_TOPIC_MAX), MESH_EBUSY (64 subscriptions on m already), MESH_ESTATE (an
 * offline node). Thread-safety: any thread. */
MESH_EXPORT MESH_NODISCARD mesh_err_t mesh_subscribe(mesh_t *m, const char *prefix,
                                                     mesh_message_fn fn, void *ctx, uint64_t *id);

/* End subscription id. Once this returns its callback is not running and is not called
 * again (from inside a callback: not called again). (Called from a callback of another
 * node, it waits for this node's callback to return: two nodes' callbacks that end each
 * other's subscriptions at once would wait for each other.)
 * Errors: MESH_EINVAL (m NULL), MESH_ENOTFOUND (no such subscription), MESH_ESTATE.
 * Thread-safety: any thread. */
MESH_EXPORT mesh_err_t mesh_unsubscribe(mesh_t *m, uint64_t id);

/* Send len bytes of data on topic (1..MESH_TOPIC_MAX bytes of printable ASCII) to member
 * to (any accepted ID text), or with to NULL to every member with a session up that takes
 * messages (none: MESH_OK, nothing sent). The message is copied and queued; the library's
 * thread sends it within its next turn (~50 ms). MESH_OK means queued for members online at
 * the call: a session that goes meanwhile loses it (counted in mesh_message_stats), and
 * nothing says it arrived. The receiver takes at most 64 messages and 1 MiB a second from
 * one member (bursts of twice that), and 8 times that from all; past it, it drops them.
 * Errors: MESH_EINVAL (a NULL argument but to, a bad topic, to is this device),
 * MESH_ETOOBIG (len past MESH_MESSAGE_MAX), MESH_EBADID (to does not parse), MESH_EUNPAIRED
 * (to is not a member), MESH_ENOTFOUND (to has no session up: messages are never queued for
 * later), MESH_ESTATE (an offline node; or to's version takes no messages), MESH_EBUSY (256
 * messages or 4 MiB queued and not yet sent: try again later), MESH_ENOMEM; detail in
 * mesh_errmsg. Thread-safety: any thread. */
MESH_EXPORT MESH_NODISCARD mesh_err_t mesh_send(mesh_t *m, const char *to, const char *topic,
                                                const void *data, size_t len);

/* Counts of messages since the node opened. */
typedef struct mesh_message_stats {
    size_t size;           /* set by the caller: sizeof(mesh_message_stats_t) */
    uint64_t sent;         /* messages sent, one per receiving member */
    uint64_t lost;         /* queued, but its member's session went before it was sent */
    uint64_t received;     /* messages taken in (under the rate caps) */
    uint64_t delivered;    /* calls of subscription callbacks */
    uint64_t unsubscribed; /* taken in, matching no subscription */
    uint64_t over_member;  /* dropped: past the rate of their sender */
    uint64_t over_total;   /* dropped: past the rate of all members together */
} mesh_message_stats_t;

/* Fill *out (up to out->size bytes) with m's counts.
 * Errors: MESH_EINVAL (a NULL argument, out->size too small), MESH_ESTATE (an offline node).
 * Thread-safety: any thread. */
MESH_EXPORT MESH_NODISCARD mesh_err_t mesh_message_stats(mesh_t *m, mesh_message_stats_t *out);

/* ---- Folder status (issue 18: `meshctl status` per folder, `meshctl folder wait`) ----
 * A status snapshot (mesh_status) lists each folder the daemon syncs (docs/PROTOCOL.md
 * §18.9), read through the two calls below. */

/* One folder, as the loop sees it. */
typedef struct mesh_status_folder {
    size_t size;          /* sizeof(mesh_status_folder_t), set by the caller; always first */
    const char *id;       /* the folder's ID */
    const char *state;    /* "ok", "starting" (not scanned yet) or "stopped" */
    const char *why;      /* when stopped, why (its root or marker missing...); else "" */
    bool in_sync;         /* scanned, nothing changed since, its disk holds all its index
                           * (no file waiting for blocks, no realize pass due) */
    uint64_t need_files;  /* paths whose disk state is not yet what the index says */
    uint64_t need_bytes;  /* bytes of those files (their whole sizes) */
    uint64_t waiting;     /* files waiting for blocks from members */
    uint64_t total_files; /* the most need_files and need_bytes were since the folder was */
    uint64_t total_bytes; /* last in sync (0 when in sync): the whole of a progress bar */
} mesh_status_folder_t;

/* How many folders st lists (0 without a loop, or with none).
 * Thread-safety: as mesh_status_device. */
MESH_EXPORT size_t mesh_status_folder_count(const mesh_status_t *st);

/* Fill *out (up to out->size bytes) with folder i (0 .. mesh_status_folder_count - 1).
 * Strings are owned by st and valid until mesh_status_free(st).
 * Errors: MESH_EINVAL (as mesh_status_device), MESH_ENOTFOUND (no folder i); on error *out
 * is unchanged. Thread-safety: as mesh_status_device. */
MESH_EXPORT MESH_NODISCARD mesh_err_t mesh_status_folder(const mesh_status_t *st, size_t i,
                                                         mesh_status_folder_t *out);

/* ---- Folder versions, restore, conflict copies and sharing (issue 18; docs/PROTOCOL.md §19,
 * §24) ---- */

/* mesh_folder_add_options_t.versions_days for a folder that keeps no versions. */
#define MESH_FOLDER_VERSIONS_OFF UINT32_MAX

/* Options of mesh_folder_add_ex; zero-filled but for size, it does what mesh_folder_add does.
 * Fields are only ever added at the end. */
typedef struct mesh_folder_add_options {
    size_t size;             /* sizeof(mesh_folder_add_options_t); always first */
    const char *id;          /* as mesh_folder_add's id (NULL: the marker's, else a new one) */
    const char *const *with; /* share the folder with these members only (device IDs), or
                              * NULL: every member may hold it */
    size_t with_count;       /* how many IDs with holds (0: no list is written) */
    uint32_t versions_days;  /* days a replaced or deleted file is kept in .meshsync/versions
                              * (docs/PROTOCOL.md §19.2): 1..36500; 0: the default, 30;
                              * MESH_FOLDER_VERSIONS_OFF: none kept */
} mesh_folder_add_options_t;

/* mesh_folder_add with options. With with_count IDs, the folder's index collection
 * ("folder:" + ID) is first shared with them (mesh_share: its access list then holds this
 * device and them), so a member not named is sent neither its index nor its blocks; then the
 * folder is recorded with its version retention. Errors: those of mesh_folder_add, those of
 * mesh_share (MESH_EBADID, MESH_ENOTFOUND: an ID is not a member; MESH_ESTATE: the folder's
 * access list does not hold this device), MESH_EINVAL (versions_days above 36500 and not
 * MESH_FOLDER_VERSIONS_OFF, with NULL with with_count). A failed share records nothing.
 * Thread-safety: as mesh_folder_add. */
MESH_EXPORT MESH_NODISCARD mesh_err_t mesh_folder_add_ex(mesh_t *m, const char *path,
                                                         const mesh_folder_add_options_t *opts,
                                                         char *id_out, size_t id_out_len);

/* Set how long folder id keeps replaced and deleted files (days as in
 * mesh_folder_add_options_t.versions_days). A running daemon uses it from its next keep or
 * expiry; versions kept before stay until they are older than the new retention (none is
 * removed while it is off). Errors: MESH_EINVAL (a bad ID or days), MESH_ENOTFOUND (no such
 * folder here), MESH_EIO. Thread-safety: as mesh_folder_add. */
MESH_EXPORT MESH_NODISCARD mesh_err_t mesh_folder_set_versions(mesh_t *m, const char *id,
                                                               uint32_t days);

/* One kept version of a path, as listed by mesh_folder_versions. Built by the library. */
typedef struct mesh_folder_version {
    size_t size;      /* sizeof(mesh_folder_version_t) in the library */
    int64_t when;     /* unix seconds (UTC): when it was replaced, deleted or restored over */
    uint64_t bytes;   /* its size */
    const char *name; /* its file name in .meshsync/versions/ beside the path's own directory */
} mesh_folder_version_t;

typedef struct mesh_folder_version_list mesh_folder_version_list_t; /* opaque */

/* List the versions of path (relative to the root of folder id, which this device syncs)
 * kept on this device, newest first; none is an empty list. Works with or without a daemon
 * (it reads the folder's directory). MESH_OK: *out is new (free with
 * mesh_folder_version_list_free). Errors: MESH_EINVAL (a bad ID or path, a symlink in the
 * way), MESH_ENOTFOUND (no such folder here), MESH_ESTATE (its root or marker is missing),
 * MESH_ETOOBIG (over 10,000 versions), MESH_ENOMEM, MESH_EIO; detail in mesh_errmsg.
 * Thread-safety: any thread (one call at a time per mesh_t). */
MESH_EXPORT MESH_NODISCARD mesh_err_t mesh_folder_versions(mesh_t *m, const char *id,
                                                           const char *path,
                                                           mesh_folder_version_list_t **out);

/* Number of versions in list (0 for NULL). Thread-safety: any thread. */
MESH_EXPORT size_t mesh_folder_version_list_count(const mesh_folder_version_list_t *list);

/* Version i of list, or NULL when i >= its count; owned by list. Thread-safety: any thread. */
MESH_EXPORT const mesh_folder_version_t *
mesh_folder_version_list_get(const mesh_folder_version_list_t *list, size_t i);

/* Free list; NULL is a no-op. Thread-safety: any thread. */
MESH_EXPORT void mesh_folder_version_list_free(mesh_folder_version_list_t *list);

/* Bring back the newest version of path kept at or before at (unix seconds; INT64_MAX: the
 * newest of all). The file at path now, if any, is first kept as a version itself, so a
 * restore loses nothing. The restored file is a local change: a daemon scans it and sends
 * it to the other members (without one, the next daemon start does). *restored (may be NULL)
 * is the chosen version's time. Errors: as mesh_folder_versions, and MESH_ENOTFOUND also
 * when no version is kept at or before at (nothing changed), MESH_EEXIST (a file came to
 * path meanwhile: kept, nothing restored). Thread-safety: as mesh_folder_versions. */
MESH_EXPORT MESH_NODISCARD mesh_err_t mesh_folder_restore(mesh_t *m, const char *id,
                                                          const char *path, int64_t at,
                                                          int64_t *restored);

/* One conflict copy (docs/PROTOCOL.md §19.3) in a folder, as listed by mesh_folder_conflicts.
 * Built by the library. */
typedef struct mesh_folder_conflict {
    size_t size;          /* sizeof(mesh_folder_conflict_t) in the library */
    const char *folder;   /* the folder's ID */
    const char *path;     /* the copy's path, relative to the folder root */
    const char *original; /* the path it is the losing side of (its base may be cut) */
    const char *device;   /* the losing device: the first 7 characters of its ID, no dashes */
    int64_t when;         /* the losing edit's time, unix seconds (UTC) */
} mesh_folder_conflict_t;

typedef struct mesh_folder_conflict_list mesh_folder_conflict_list_t; /* opaque */

/* List the conflict copies present in folder id (NULL: every folder this device syncs whose
 * root is there), by folder then path. A folder whose root or marker is missing is skipped.
 * MESH_OK: *out is new (free with mesh_folder_conflict_list_free). Errors: MESH_EINVAL,
 * MESH_ENOTFOUND (id given, no such folder here), MESH_ESTATE (id given, its root or marker
 * missing), MESH_ETOOBIG (over 10,000 copies), MESH_ENOMEM, MESH_EIO.
 * Thread-safety: any thread (one call at a time per mesh_t). */
MESH_EXPORT MESH_NODISCARD mesh_err_t mesh_folder_conflicts(mesh_t *m, const char *id,
                                                            mesh_folder_conflict_list_t **out);

/* Number of copies in list (0 for NULL). Thread-safety: any thread. */
MESH_EXPORT size_t mesh_folder_conflict_list_count(const mesh_folder_conflict_list_t *list);

/* Copy i of list, or NULL when i >= its count; owned by list. Thread-safety: any thread. */
MESH_EXPORT const mesh_folder_conflict_t *
mesh_folder_conflict_list_get(const mesh_folder_conflict_list_t *list, size_t i);

/* Free list; NULL is a no-op. Thread-safety: any thread. */
MESH_EXPORT void mesh_folder_conflict_list_free(mesh_folder_conflict_list_t *list);

#ifdef __cplusplus
}
#endif

#endif /* MESHSYNC_H */
