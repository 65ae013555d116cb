/* core/base/node.c: the node handle's bottom half: errors, logging and the small calls
 * every module uses.
 * Owns: the error texts, the last failure's detail, the log hook, collection-name checks,
 * store keys, and the public calls that only read the handle.
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

mesh_err_t
node_fail(mesh_t *m, mesh_err_t err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m->errmsg, sizeof m->errmsg, fmt, ap);
    va_end(ap);
    return err;
}

mesh_err_t
node_fail_store(mesh_t *m, mesh_err_t err, const char *what)
{
    return node_fail(m, err, "%s: %s", what, store_errmsg(m->store));
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
    return m ? m->errmsg : "";
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
