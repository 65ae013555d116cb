/* core/base/node.h: the node handle, the bottom of core: every other module of core may
 * include it, and it includes none of them.
 * Owns: struct mesh (identity, store, logging, the last error's detail) and the helpers
 * every public call uses to report failures. Opening a home is core/open.c's.
 * Not here: transactions (core/data/txn.c), reads (core/data/read.c), version rules (core/data/version.h).
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

struct mesh {
    char home[4096];
    char name[NODE_NAME_MAX + 1];
    ident_t *ident; /* the device key pair */
    char id_text[MESH_ID_TEXT_LEN + 1];
    store_t *store;
    mesh_log_fn log;
    void *log_ctx;
    int log_level;
    char errmsg[NODE_ERRMSG_MAX]; /* detail of the last failure, "" if none */
    struct member_state *members; /* who this device trusts (core/member/member.h) */
    struct loop *loop;            /* the event-loop thread, when not offline */
};

/* Record err's detail (printf-style) on m and return err unchanged. */
mesh_err_t node_fail(mesh_t *m, mesh_err_t err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Record a store failure: the store's own detail, prefixed with what. */
mesh_err_t node_fail_store(mesh_t *m, mesh_err_t err, const char *what);

/* Send one line to the log callback when level is enabled. */
void node_log(const mesh_t *m, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Check a collection name (1..MESH_COLL_MAX bytes, no NUL inside, not reserved unless
 * allow_reserved). MESH_OK or MESH_EINVAL/MESH_ETOOBIG with detail on m. */
mesh_err_t node_check_coll(mesh_t *m, const char *coll, bool allow_reserved);

/* Fill a store key for key bytes (hashing long keys). */
void node_store_key(const uint8_t *key, size_t key_len, store_key_t *out);

#endif /* MESH_CORE_NODE_H */
