/* core/node.c: opening and closing a node home, errors and logging.
 * Owns: the home's layout (identity file, store directory), mesh_open/close, the error
 * texts, and the device's name.
 * Layer: core. Third-party: none. SPDX-License-Identifier: MIT */
#include "node.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../crypto/devid.h"
#include "../crypto/hash.h"
#include "loop.h"

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

/* Store the device name at creation; read it on every open. */
typedef struct s_name_ctx {
    mesh_t *m;
    const char *want; /* name to record if none is stored */
} s_name_ctx_t;

static mesh_err_t
s_name_write(store_txn_t *txn, void *ctx)
{
    s_name_ctx_t *c = ctx;
    const uint8_t *v = NULL;
    size_t len = 0;
    mesh_err_t err = store_meta_get(txn, "name", &v, &len);
    if (err == MESH_ENOTFOUND && c->want) {
        len = strnlen(c->want, NODE_NAME_MAX);
        err = store_meta_put(txn, "name", c->want, len);
        v = (const uint8_t *)c->want;
    }
    if (err == MESH_OK) {
        len = len < NODE_NAME_MAX ? len : NODE_NAME_MAX;
        memcpy(c->m->name, v, len);
        c->m->name[len] = '\0';
    }
    return err == MESH_ENOTFOUND ? MESH_OK : err;
}

static mesh_err_t
s_open_name(mesh_t *m, const mesh_options_t *o)
{
    char host[NODE_NAME_MAX + 1] = "device";
    if (!o->name && gethostname(host, sizeof host) != 0) {
        snprintf(host, sizeof host, "device");
    }
    host[NODE_NAME_MAX] = '\0';
    s_name_ctx_t c = {m, o->name ? o->name : host};
    mesh_err_t err = store_write(m->store, s_name_write, &c);
    return err == MESH_OK ? MESH_OK : node_fail_store(m, err, "record name");
}

/* Make the home directory (0700) when creating; check that it exists otherwise. */
static mesh_err_t
s_home_prepare(mesh_t *m, bool create)
{
    struct stat sb;
    if (stat(m->home, &sb) == 0) {
        return S_ISDIR(sb.st_mode) ? MESH_OK
                                   : node_fail(m, MESH_EINVAL, "%s is not a directory", m->home);
    }
    if (!create) {
        return node_fail(m, MESH_ENOTINIT, "no home at %s", m->home);
    }
    if (mkdir(m->home, 0700) != 0) {
        return node_fail(m, errno == ENOSPC ? MESH_ENOSPC : MESH_EIO, "create %s: %s", m->home,
                         strerror(errno));
    }
    return MESH_OK;
}

static mesh_err_t
s_open(mesh_t *m, const mesh_options_t *o)
{
    char path[4200], detail[256] = "";
    mesh_err_t err = ident_lib_init();
    if (err != MESH_OK) {
        return node_fail(m, err, "libsodium failed to initialise");
    }
    err = s_home_prepare(m, o->create);
    if (err != MESH_OK) {
        return err;
    }
    snprintf(path, sizeof path, "%s/identity", m->home);
    err = ident_load(path, o->create, &m->ident);
    if (err != MESH_OK) {
        return node_fail(m, err, "identity %s: %s", path, mesh_strerror(err));
    }
    devid_format(ident_public_key(m->ident), m->id_text);
    snprintf(path, sizeof path, "%s/store", m->home);
    err = store_open(path, o->map_size, &m->store, detail, sizeof detail);
    if (err != MESH_OK) {
        return node_fail(m, err, "store %s: %s", path, detail);
    }
    if (store_incarnation_is_new(m->store)) {
        node_log(m, MESH_LOG_INFO, "store %s starts incarnation %016llx", path,
                 (unsigned long long)store_incarnation(m->store));
    }
    err = s_open_name(m, o);
    if (err == MESH_OK) {
        err = member_genesis(m);
    }
    if (err == MESH_OK) {
        err = node_members_reload(m);
    }
    if (err == MESH_OK) {
        m->errmsg[0] = '\0'; /* the genesis check's lookup is not a failure */
    }
    return err;
}

mesh_err_t
node_members_reload(mesh_t *m)
{
    store_txn_t *txn = NULL;
    member_view_t view = {0};
    mesh_err_t err = store_read_begin(m->store, &txn);
    if (err == MESH_OK) {
        err = member_view_load(txn, ident_public_key(m->ident), &view);
    }
    store_read_end(txn);
    if (err != MESH_OK) {
        member_view_release(&view);
        return node_fail_store(m, err, "read membership");
    }
    pthread_mutex_lock(&m->members_lock);
    member_view_release(&m->members);
    m->members = view;
    m->members_gen++;
    pthread_mutex_unlock(&m->members_lock);
    return MESH_OK;
}

bool
node_member_is(mesh_t *m, const uint8_t *pk)
{
    pthread_mutex_lock(&m->members_lock);
    bool yes = member_is(&m->members, pk);
    pthread_mutex_unlock(&m->members_lock);
    return yes;
}

mesh_err_t
node_members_copy(mesh_t *m, uint8_t (**keys)[32], size_t *count, uint64_t *gen)
{
    pthread_mutex_lock(&m->members_lock);
    size_t n = m->members.count;
    *keys = malloc((n ? n : 1) * sizeof **keys);
    if (*keys) {
        memcpy(*keys, m->members.keys, n * sizeof **keys);
        *count = n;
        *gen = m->members_gen;
    }
    pthread_mutex_unlock(&m->members_lock);
    return *keys ? MESH_OK : MESH_ENOMEM;
}

mesh_err_t
mesh_open(const mesh_options_t *opts, mesh_t **out)
{
    mesh_options_t o;
    if (!out) {
        return MESH_EINVAL;
    }
    *out = NULL;
    if (!opts || opts->size < offsetof(mesh_options_t, map_size) || !opts->home || !opts->home[0]) {
        return MESH_EINVAL;
    }
    memset(&o, 0, sizeof o);
    memcpy(&o, opts, opts->size < sizeof o ? opts->size : sizeof o);
    mesh_t *m = calloc(1, sizeof *m);
    if (!m) {
        return MESH_ENOMEM;
    }
    pthread_mutex_init(&m->members_lock, NULL);
    m->log = o.log;
    m->log_ctx = o.log_ctx;
    m->log_level = o.log_level;
    if (snprintf(m->home, sizeof m->home, "%s", o.home) >= (int)sizeof m->home) {
        free(m);
        return MESH_EINVAL;
    }
    mesh_err_t err = s_open(m, &o);
    if (err != MESH_OK) {
        node_log(m, MESH_LOG_ERROR, "open %s: %s", m->home, m->errmsg);
        if (o.errbuf && o.errbuf_len) {
            snprintf(o.errbuf, o.errbuf_len, "%s", m->errmsg);
        }
        mesh_close(m);
        return err;
    }
    if (!o.offline) {
        err = loop_start(m, o.listen, &m->loop);
        if (err != MESH_OK) {
            if (o.errbuf && o.errbuf_len) {
                snprintf(o.errbuf, o.errbuf_len, "%s", m->errmsg);
            }
            mesh_close(m);
            return err;
        }
    }
    node_log(m, MESH_LOG_DEBUG, "opened %s as %s (%s)", m->home, m->id_text, m->name);
    *out = m;
    return MESH_OK;
}

void
mesh_close(mesh_t *m)
{
    if (!m) {
        return;
    }
    loop_stop(m->loop);
    store_close(m->store);
    ident_free(m->ident);
    member_view_release(&m->members);
    pthread_mutex_destroy(&m->members_lock);
    free(m);
}
