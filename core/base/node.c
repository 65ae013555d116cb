/* core/base/node.c: the node handle's bottom half: errors, logging and the small calls
 * every module uses.
 * Owns: the error texts, each thread's detail of its last failure on a handle (thread-local,
 * so the loop thread and the callers never share one), the log hook, collection-name
 * checks, store keys, and the public calls that only read the handle.
 * Not here: opening and closing a home (core/open.c).
 * Layer: core. Third-party: none. SPDX-License-Identifier: MIT */
#include "core/base/node.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/devid.h"
#include "crypto/hash.h"

#define S_STR(x)  #x
#define S_XSTR(x) S_STR(x)

const char *
mesh_version(void)
{
    return S_XSTR(MESH_VERSION_MAJOR) "." S_XSTR(MESH_VERSION_MINOR) "." S_XSTR(MESH_VERSION_PATCH);
}

const char *
mesh_strerror(mesh_err_t err)
{
    switch (err) {
    case MESH_OK:
        return "success";
    case MESH_EINVAL:
        return "invalid argument";
    case MESH_ENOMEM:
        return "out of memory";
    case MESH_EIO:
        return "input/output error";
    case MESH_ENOSPC:
        return "no space left on device";
    case MESH_ENOTFOUND:
        return "not found";
    case MESH_EPROTO:
        return "malformed encoding";
    case MESH_ETOOBIG:
        return "too big";
    case MESH_EBADSIG:
        return "bad signature";
    case MESH_EDIGEST:
        return "hash or proof mismatch";
    case MESH_ESEQGAP:
        return "sequence number out of order";
    case MESH_EUNPAIRED:
        return "not a member of this mesh";
    case MESH_ECORRUPT:
        return "store or file is damaged";
    case MESH_EFORMAT:
        return "unknown store format";
    case MESH_EEXIST:
        return "already exists";
    case MESH_EBADID:
        return "not a valid device ID";
    case MESH_ENOTINIT:
        return "no device in this home (run 'meshctl init')";
    case MESH_ESTATE:
        return "not valid in the current state";
    case MESH_EFORK:
        return "conflicting signed headers for one sequence number";
    case MESH_EBUSY:
        return "busy, try again";
    }
    return "unknown error";
}

/* Each thread keeps the detail of its last failure on each of up to S_ERR_SLOTS handles,
 * keyed by the handle's serial: serials are never reused, so a new handle at a closed one's
 * address never shows the old detail. A thread that fails on more handles than that reuses
 * the slot written longest ago. Thread-local, so no lock: the loop thread's failures land
 * in its own slots and never in a caller's. */
#define S_ERR_SLOTS 4

typedef struct s_err_slot {
    uint64_t serial; /* the handle's, 0: free */
    uint64_t used;   /* this thread's clock when last written */
    char text[NODE_ERRMSG_MAX];
} s_err_slot_t;

static _Thread_local s_err_slot_t s_err[S_ERR_SLOTS];
static _Thread_local uint64_t s_err_clock;
static uint64_t s_serial; /* the last serial given; atomic */

void
node_init(mesh_t *m)
{
    m->serial = __atomic_add_fetch(&s_serial, 1, __ATOMIC_RELAXED);
}

/* The calling thread's slot for serial, or NULL. */
static s_err_slot_t *
s_err_find(uint64_t serial)
{
    for (size_t i = 0; i < S_ERR_SLOTS; i++) {
        if (s_err[i].serial == serial) {
            return &s_err[i];
        }
    }
    return NULL;
}

/* The calling thread's slot for serial, taking the least recently written one if none. */
static s_err_slot_t *
s_err_take(uint64_t serial)
{
    s_err_slot_t *slot = s_err_find(serial);
    if (!slot) {
        slot = &s_err[0];
        for (size_t i = 1; i < S_ERR_SLOTS; i++) {
            if (s_err[i].used < slot->used) {
                slot = &s_err[i];
            }
        }
        slot->serial = serial;
    }
    slot->used = ++s_err_clock;
    return slot;
}

mesh_err_t
node_fail(mesh_t *m, mesh_err_t err, const char *fmt, ...)
{
    char text[NODE_ERRMSG_MAX]; /* the arguments may include this thread's detail itself */
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    memcpy(s_err_take(m->serial)->text, text, strlen(text) + 1);
    return err;
}

mesh_err_t
node_fail_store(mesh_t *m, mesh_err_t err, const char *what)
{
    return node_fail(m, err, "%s: %s", what, store_errmsg(m->store));
}

void
node_clear_err(const mesh_t *m)
{
    s_err_slot_t *slot = s_err_find(m->serial);
    if (slot) {
        slot->text[0] = '\0';
    }
}

void
node_log(const mesh_t *m, int level, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    if (!m->log || level > m->log_level) {
        return;
    }
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    m->log(m->log_ctx, level, line);
}

mesh_err_t
node_check_coll(mesh_t *m, const char *coll, bool allow_reserved)
{
    size_t len = strlen(coll);
    if (len == 0) {
        return node_fail(m, MESH_EINVAL, "empty collection name");
    }
    if (len > MESH_COLL_MAX) {
        return node_fail(m, MESH_ETOOBIG, "collection name of %zu bytes (limit %u)", len,
                         MESH_COLL_MAX);
    }
    if (coll[0] == '_' && !allow_reserved) {
        return node_fail(m, MESH_EINVAL, "collection names starting with '_' are reserved");
    }
    return MESH_OK;
}

void
node_store_key(const uint8_t *key, size_t key_len, store_key_t *out)
{
    out->bytes = key;
    out->len = key_len;
    if (key_len > STORE_KEY_INLINE_MAX) {
        hash_tagged(HASH_TAG_KEY, key, key_len, out->hash);
    }
}

const char *
mesh_errmsg(const mesh_t *m)
{
    const s_err_slot_t *slot = m ? s_err_find(m->serial) : NULL;
    return slot ? slot->text : "";
}

mesh_err_t
mesh_device_id(const mesh_t *m, char *buf, size_t buf_len)
{
    if (!m || !buf || buf_len < MESH_ID_TEXT_LEN + 1) {
        return MESH_EINVAL;
    }
    memcpy(buf, m->id_text, MESH_ID_TEXT_LEN + 1);
    return MESH_OK;
}

const char *
mesh_device_name(const mesh_t *m)
{
    return m ? m->name : "";
}

mesh_err_t
mesh_id_check(const char *text)
{
    uint8_t pk[DEVID_RAW_LEN];
    if (!text) {
        return MESH_EINVAL;
    }
    return devid_parse(text, pk);
}

void
mesh_free(void *p)
{
    free(p);
}
