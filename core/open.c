/* core/open.c: opening and closing a node: the top of core, which assembles the others.
 * Owns: the home's layout (identity file, store directory), the device's name, the genesis
 * record and member view at open, and starting and stopping the loop thread.
 * Not here: the handle's errors and log (core/base/node.c).
 * Layer: core (top). Third-party: none. SPDX-License-Identifier: MIT */
#include "core/open.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/apply/apply.h"
#include "core/apply/held.h"
#include "core/base/node.h"
#include "core/member/member.h"
#include "core/sync/loop.h"
#include "crypto/devid.h"

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
    err = ident_load(path, o->create, &m->ident, detail, sizeof detail);
    if (err != MESH_OK) {
        return node_fail(m, err, "identity %s: %s", path, detail[0] ? detail : mesh_strerror(err));
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
        err = member_reload(m);
    }
    if (err == MESH_OK) {
        err = held_upgrade(m);
        m->held_retry = apply_held_retry;
    }
    if (err == MESH_OK) {
        node_clear_err(m); /* the genesis check's lookup is not a failure */
    }
    return err;
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
    if (member_state_new(&m->members) != MESH_OK) {
        free(m);
        return MESH_ENOMEM;
    }
    node_init(m);
    m->log = o.log;
    m->log_ctx = o.log_ctx;
    m->log_level = o.log_level;
    if (snprintf(m->home, sizeof m->home, "%s", o.home) >= (int)sizeof m->home) {
        member_state_free(m->members);
        free(m);
        return MESH_EINVAL;
    }
    mesh_err_t err = s_open(m, &o);
    if (err != MESH_OK) {
        node_log(m, MESH_LOG_ERROR, "open %s: %s", m->home, mesh_errmsg(m));
        if (o.errbuf && o.errbuf_len) {
            snprintf(o.errbuf, o.errbuf_len, "%s", mesh_errmsg(m)); /* this thread's */
        }
        mesh_close(m);
        return err;
    }
    if (!o.offline) {
        err = loop_start(m, o.listen, o.daemon_heap, &m->loop);
        if (err != MESH_OK) {
            if (o.errbuf && o.errbuf_len) {
                snprintf(o.errbuf, o.errbuf_len, "%s", mesh_errmsg(m)); /* this thread's */
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
    member_state_free(m->members);
    free(m);
}
