/* core/open.c: opening and closing a node: the top of core, which assembles the others.
 * Owns: the home's layout (identity file, store directory, daemon.lock), the device's name
 * and renaming it, the genesis record and member view at open, and for an online node the
 * one-daemon-per-home lock, the listen endpoint's check, and starting and stopping the loop.
 * Not here: the handle's errors and log (core/base/node.c).
 * Layer: core (top). Third-party: none. SPDX-License-Identifier: MIT */
#include "core/open.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/apply/apply.h"
#include "core/apply/collect.h"
#include "core/apply/held.h"
#include "core/base/node.h"
#include "core/data/feed.h"
#include "core/data/version.h"
#include "core/member/addr.h"
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

/* A store taken on from format 3 (STORE_META_REDIGEST set): every collection's digest made
 * again by §5.8's definition, and the mark cleared, in one transaction (a crash before its
 * end leaves the mark: made again at the next open). */
static mesh_err_t
s_redigest_body(store_txn_t *txn, void *ctx)
{
    size_t *n = ctx;
    uint64_t stale = 0;
    *n = 0;
    mesh_err_t err = store_meta_get_u64(txn, STORE_META_REDIGEST, &stale);
    if (err != MESH_OK || stale == 0) {
        return err == MESH_ENOTFOUND ? MESH_OK : err;
    }
    store_cursor_t *cur = NULL;
    char name[MESH_COLL_MAX + 1];
    uint32_t cid = 0;
    err = store_colls_open(txn, &cur);
    while (err == MESH_OK && (err = store_colls_next(cur, name, &cid)) == MESH_OK) {
        store_coll_stats_t stats;
        err = store_coll_stats_get(txn, cid, &stats);
        err = err == MESH_OK ? version_digest_recount(txn, cid, stats.digest) : err;
        err = err == MESH_OK ? store_coll_stats_put(txn, cid, &stats) : err;
        *n += err == MESH_OK;
    }
    store_cursor_close(cur);
    err = err == MESH_ENOTFOUND ? MESH_OK : err;
    return err == MESH_OK ? store_meta_put_u64(txn, STORE_META_REDIGEST, 0) : err;
}

static mesh_err_t
s_redigest(mesh_t *m)
{
    size_t n = 0;
    mesh_err_t err = store_write(m->store, s_redigest_body, &n);
    if (err != MESH_OK) {
        return node_fail_store(m, err, "make the collections' digests again");
    }
    if (n) {
        node_log(m, MESH_LOG_INFO, "store format %u: the digests of %zu collection(s) made again",
                 STORE_FORMAT, n);
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
    err = s_redigest(m);
    if (err == MESH_OK) {
        err = s_open_name(m, o);
    }
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

/* Hold HOME/daemon.lock (flock, exclusive) for the node's life, with our pid written in it:
 * one online node per home. The lock, not the file, decides: a file left by a daemon that
 * was killed holds no lock (the kernel drops it with the process), so it blocks nothing;
 * the file is never removed (removing it could let two daemons lock two files). MESH_OK:
 * m->daemon_lock holds it. MESH_EBUSY: another process (or handle) holds it; the detail
 * names its pid. MESH_EIO, MESH_ENOSPC. */
static mesh_err_t
s_daemon_lock(mesh_t *m)
{
    char path[4200], text[32];
    snprintf(path, sizeof path, "%s/daemon.lock", m->home);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        return node_fail(m, errno == ENOSPC ? MESH_ENOSPC : MESH_EIO, "create %s: %s", path,
                         strerror(errno));
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        ssize_t n = e == EWOULDBLOCK ? pread(fd, text, sizeof text - 1, 0) : -1;
        close(fd);
        if (e != EWOULDBLOCK) {
            return node_fail(m, MESH_EIO, "lock %s: %s", path, strerror(e));
        }
        text[n > 0 ? n : 0] = '\0';
        long pid = strtol(text, NULL, 10);
        if (pid > 0) {
            return node_fail(m, MESH_EBUSY, "a daemon already runs on '%s' (pid %ld)", m->home,
                             pid);
        }
        return node_fail(m, MESH_EBUSY, "a daemon already runs on '%s' (starting: no pid yet)",
                         m->home);
    }
    int len = snprintf(text, sizeof text, "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) != 0 || pwrite(fd, text, (size_t)len, 0) != len) {
        int e = errno;
        close(fd);
        return node_fail(m, e == ENOSPC ? MESH_ENOSPC : MESH_EIO, "write %s: %s", path,
                         strerror(e));
    }
    m->daemon_lock = fd;
    return MESH_OK;
}

/* Start the online part: check and resolve the listen endpoint (addr_listen_resolve), take
 * the daemon lock, then start the loop. A failure names its cause: a bad endpoint
 * (MESH_EINVAL), another daemon (MESH_EBUSY), the port in use (MESH_EBUSY). */
static mesh_err_t
s_go_online(mesh_t *m, const mesh_options_t *o)
{
    char bind[ADDR_TEXT_MAX], why[400];
    unsigned port = 0;
    if (o->listen) {
        mesh_err_t err = addr_listen_resolve(o->listen, bind, sizeof bind, &port, why, sizeof why);
        if (err != MESH_OK) {
            return node_fail(m, err, "listen address %s", why);
        }
    }
    mesh_err_t err = s_daemon_lock(m);
    if (err != MESH_OK) {
        return err;
    }
    discover_config_t disc = {o->discovery, o->discovery_port, o->discovery_interval_ms,
                              o->discovery_group, o->discovery_interfaces};
    err = loop_start(m, o->listen ? bind : NULL, o->daemon_heap, &disc, o->external_loop, &m->loop);
    if (err == MESH_EBUSY && o->listen) {
        return node_fail(m, err, "port %u is in use (listen on %s)", port, bind);
    }
    return err;
}

/* Rewrite the stored name (the "name" meta key) as m->name. */
static mesh_err_t
s_name_set(store_txn_t *txn, void *ctx)
{
    const mesh_t *m = ctx;
    return store_meta_put(txn, "name", m->name, strlen(m->name));
}

mesh_err_t
mesh_rename(mesh_t *m, const char *name)
{
    if (!m || !name) {
        return MESH_EINVAL;
    }
    if (m->loop) {
        return node_fail(m, MESH_ESTATE, "rename an offline handle (the loop shows the name)");
    }
    size_t len = strlen(name);
    if (len == 0 || len > NODE_NAME_MAX) {
        return node_fail(m, MESH_EINVAL, "a name has 1 to %d bytes", NODE_NAME_MAX);
    }
    for (size_t i = 0; i < len; i++) {
        if ((unsigned char)name[i] < 0x20 || name[i] == 0x7f) {
            return node_fail(m, MESH_EINVAL, "a name has no control characters");
        }
    }
    char old[NODE_NAME_MAX + 1];
    memcpy(old, m->name, sizeof old);
    memcpy(m->name, name, len + 1);
    mesh_err_t err = store_write(m->store, s_name_set, m);
    if (err != MESH_OK) {
        memcpy(m->name, old, sizeof old);
        return node_fail_store(m, err, "record name");
    }
    /* the genesis record follows the stored name (member_genesis rewrites it when they
     * differ, here and at the next open should this fail), and syncs to every member */
    return member_genesis(m);
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
    m->daemon_lock = -1;
    m->log = o.log;
    m->log_ctx = o.log_ctx;
    m->log_level = o.log_level;
    m->horizon_ms = o.horizon ? o.horizon : COLLECT_HORIZON_MS_DEFAULT;
    m->folder_rescan_ms = (uint64_t)o.folder_rescan_s * 1000;
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
        err = s_go_online(m, &o);
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
    feed_close(m); /* no watch callback runs past here */
    loop_stop(m->loop);
    if (m->daemon_lock >= 0) {
        close(m->daemon_lock); /* the lock goes with it; the file stays (s_daemon_lock) */
    }
    store_close(m->store);
    ident_free(m->ident);
    member_state_free(m->members);
    free(m);
}

int
mesh_fd(const mesh_t *m)
{
    return m ? loop_fd(m->loop) : -1;
}

mesh_err_t
mesh_process(mesh_t *m)
{
    if (!m) {
        return MESH_EINVAL;
    }
    if (!m->loop || loop_fd(m->loop) < 0) {
        return node_fail(m, MESH_ESTATE,
                         "no external loop: open the node online with external_loop set");
    }
    return loop_process(m->loop);
}
