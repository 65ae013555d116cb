/* tests/fuzz/rig.c: what the stateful fuzz targets share (see rig.h): the input reader, nodes
 * with fixed identities in one temporary directory per process (under /dev/shm when it is
 * there: every commit is durable, and fsync on tmpfs costs nothing), kept open for the
 * process and put back to a template before each run (through store/env.h, the store's raw
 * records), writes chosen by the input, and the soundness checks on a store.
 * Layer: tests. Third-party: libsodium (the key pair of a fixed seed). SPDX-License-Identifier: MIT
 */
#define _XOPEN_SOURCE 700 /* nftw */

#include "rig.h"

#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "check.h"
#include "core/base/node.h"
#include "core/data/version.h"
#include "core/member/member.h"
#include "store/env.h"
#include "store/items.h"
#include "store/store.h"

const char *const rig_colls[RIG_COLLS] = {"notes", "todo", "x"};

/* ---- input ---- */

uint8_t
rig_u8(rig_in_t *in)
{
    if (in->len == 0) {
        return 0;
    }
    in->len--;
    return *in->p++;
}

uint64_t
rig_num(rig_in_t *in, size_t n)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n && i < 8; i++) {
        v = v << 8 | rig_u8(in);
    }
    return v;
}

const uint8_t *
rig_bytes(rig_in_t *in, size_t n, size_t *got)
{
    const uint8_t *p = in->p;
    *got = n < in->len ? n : in->len;
    in->p += *got;
    in->len -= *got;
    return p;
}

/* ---- the process's directory ---- */

static char s_dir[256];

static int
s_remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static void
s_remove_tree(const char *path)
{
    struct stat st;
    if (lstat(path, &st) == 0) {
        CHECK(nftw(path, s_remove_entry, 16, FTW_DEPTH | FTW_PHYS) == 0);
    }
}

static void
s_dir_remove(void)
{
    if (s_dir[0]) {
        s_remove_tree(s_dir);
    }
}

static const char *
s_dir_get(void)
{
    if (!s_dir[0]) {
        struct stat st;
        const char *base = stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) ? "/dev/shm" : "/tmp";
        snprintf(s_dir, sizeof s_dir, "%s/meshsync-fuzz.XXXXXX", base);
        CHECK(mkdtemp(s_dir) != NULL);
        atexit(s_dir_remove);
    }
    return s_dir;
}

/* ---- nodes ---- */

/* Open n->m on n->home (created first when create), as the node named name. */
static void
s_mesh_open(rig_node_t *n, const char *name, bool create)
{
    mesh_options_t o;
    memset(&o, 0, sizeof o);
    o.size = sizeof o;
    o.home = n->home;
    o.create = create;
    o.offline = true;
    o.name = name;
    o.map_size = 4u << 20; /* small: the map grows under the fuzzer too */
    CHECK(mesh_open(&o, &n->m) == MESH_OK);
}

void
rig_node_open(rig_node_t *n, const char *name, uint8_t seed)
{
    unsigned char seed32[crypto_sign_SEEDBYTES], pk[crypto_sign_PUBLICKEYBYTES],
        sk[crypto_sign_SECRETKEYBYTES];
    char path[600];

    CHECK(sodium_init() >= 0);
    memset(n, 0, sizeof *n);
    snprintf(n->home, sizeof n->home, "%s/%s", s_dir_get(), name);
    s_remove_tree(n->home);
    CHECK(mkdir(n->home, 0700) == 0);
    memset(seed32, seed, sizeof seed32);
    seed32[0] = 'm';
    CHECK(crypto_sign_seed_keypair(pk, sk, seed32) == 0);
    memcpy(n->pk, pk, sizeof n->pk);
    snprintf(path, sizeof path, "%s/identity", n->home);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    CHECK(fd >= 0);
    CHECK(write(fd, sk, sizeof sk) == (ssize_t)sizeof sk);
    CHECK(close(fd) == 0);
    sodium_memzero(sk, sizeof sk);
    s_mesh_open(n, name, true);
    CHECK(mesh_device_id(n->m, n->id, sizeof n->id) == MESH_OK);
}

void
rig_node_close(rig_node_t *n)
{
    free(n->tmpl);
    n->tmpl = NULL;
    n->tmpl_len = 0;
    if (!n->m) {
        return;
    }
    mesh_close(n->m);
    n->m = NULL;
    s_remove_tree(n->home);
}

/* ---- templates ---- */

/* Records, appended: (db: 1 byte, key length, value length: 4 bytes LE each, key, value). */
typedef struct s_recs {
    uint8_t *p;
    size_t len, cap;
} s_recs_t;

static void
s_recs_add(s_recs_t *r, env_db_t db, const uint8_t *k, size_t klen, const uint8_t *v, size_t vlen)
{
    size_t need = 9 + klen + vlen;
    if (r->len + need > r->cap) {
        r->cap = 2 * (r->len + need);
        r->p = realloc(r->p, r->cap);
        CHECK(r->p != NULL);
    }
    uint8_t *q = r->p + r->len;
    q[0] = (uint8_t)db;
    env_le32(q + 1, (uint32_t)klen);
    env_le32(q + 5, (uint32_t)vlen);
    memcpy(q + 9, k, klen);
    if (vlen) {
        memcpy(q + 9 + klen, v, vlen);
    }
    r->len += need;
}

/* The record at *at of r (advanced past it). */
static void
s_recs_get(const uint8_t *p, size_t *at, env_db_t *db, const uint8_t **k, size_t *klen,
           const uint8_t **v, size_t *vlen)
{
    const uint8_t *q = p + *at;
    *db = (env_db_t)q[0];
    *klen = env_get_le32(q + 1);
    *vlen = env_get_le32(q + 5);
    *k = q + 9;
    *v = q + 9 + *klen;
    *at += 9 + *klen + *vlen;
}

/* Every record of every database in txn's store appended to r (keys alone with keys_only). */
static mesh_err_t
s_records(store_txn_t *txn, bool keys_only, s_recs_t *r)
{
    for (int db = 0; db < ENV_NDB; db++) {
        store_cursor_t *cur = NULL;
        const uint8_t *k, *v;
        size_t klen, vlen;
        mesh_err_t err = env_cursor_open(txn, (env_db_t)db, NULL, 0, 0, &cur);
        if (err != MESH_OK) {
            return err;
        }
        while ((err = env_cursor_next(cur, &k, &klen, &v, &vlen)) == MESH_OK) {
            s_recs_add(r, (env_db_t)db, k, klen, v, keys_only ? 0 : vlen);
        }
        store_cursor_close(cur);
        if (err != MESH_ENOTFOUND) {
            return err;
        }
    }
    return MESH_OK;
}

/* Take n's store as it is now as n's template. */
static void
s_template_take(rig_node_t *n)
{
    store_txn_t *txn = NULL;
    s_recs_t r = {0};
    CHECK(store_read_begin(n->m->store, &txn) == MESH_OK);
    CHECK(s_records(txn, false, &r) == MESH_OK);
    CHECK(store_txn_incarnation(txn, &n->tmpl_inc) == MESH_OK);
    store_read_end(txn);
    CHECK(n->tmpl_inc == store_incarnation(n->m->store));
    free(n->tmpl);
    n->tmpl = r.p;
    n->tmpl_len = r.len;
    n->tmpl_txnid = store_last_txnid(n->m->store);
}

/* The write body of a reset: every record deleted, the template's written (run again from
 * the start after a map growth, it does the same). */
static mesh_err_t
s_reset_body(store_txn_t *txn, void *ctx)
{
    const rig_node_t *n = ctx;
    s_recs_t keys = {0};
    env_db_t db;
    const uint8_t *k, *v;
    size_t klen, vlen;
    mesh_err_t err = s_records(txn, true, &keys);
    for (size_t at = 0; err == MESH_OK && at < keys.len;) {
        s_recs_get(keys.p, &at, &db, &k, &klen, &v, &vlen);
        err = env_del(txn, db, k, klen);
    }
    free(keys.p);
    for (size_t at = 0; err == MESH_OK && at < n->tmpl_len;) {
        s_recs_get(n->tmpl, &at, &db, &k, &klen, &v, &vlen);
        err = env_put(txn, db, k, klen, v, vlen);
    }
    return err;
}

/* Put n's store back to its template (see rig_nodes_begin). */
static void
s_template_reset(rig_node_t *n)
{
    if (store_last_txnid(n->m->store) == n->tmpl_txnid) {
        return; /* no commit since */
    }
    CHECK(store_write(n->m->store, s_reset_body, n) == MESH_OK);
    if (store_incarnation(n->m->store) != n->tmpl_inc) {
        /* a run renewed it: the store's memory of it goes with a reopen */
        mesh_close(n->m);
        n->m = NULL;
        s_mesh_open(n, strrchr(n->home, '/') + 1, false);
        CHECK(store_incarnation(n->m->store) == n->tmpl_inc);
    } else {
        CHECK(member_reload(n->m) == MESH_OK);
    }
    n->tmpl_txnid = store_last_txnid(n->m->store);
}

static bool
s_fresh(void)
{
    const char *v = getenv("MESH_FUZZ_FRESH");
    return v && v[0] && strcmp(v, "0") != 0;
}

void
rig_nodes_begin(rig_node_t *nodes, size_t count, const char *const *names, const uint8_t *seeds,
                void (*setup)(rig_node_t *nodes))
{
    if (nodes[0].m && !s_fresh()) {
        for (size_t i = 0; i < count; i++) {
            s_template_reset(&nodes[i]);
        }
        return;
    }
    for (size_t i = 0; i < count; i++) {
        rig_node_close(&nodes[i]);
    }
    for (size_t i = 0; i < count; i++) {
        rig_node_open(&nodes[i], names[i], seeds[i]);
    }
    if (setup) {
        setup(nodes);
    }
    for (size_t i = 0; i < count; i++) {
        s_template_take(&nodes[i]);
    }
}

void
rig_add(rig_node_t *n, const rig_node_t *peer)
{
    CHECK(mesh_peer_add(n->m, peer->id, NULL, NULL, 0) == MESH_OK);
}

/* ---- writes ---- */

void
rig_write(rig_node_t *n, rig_in_t *in)
{
    static uint8_t big[3000];
    mesh_txn_t *txn = NULL;
    uint8_t b = rig_u8(in);
    size_t nops = 1 + (b >> 4) % 4;

    CHECK(mesh_txn_begin(n->m, rig_colls[b % RIG_COLLS], &txn) == MESH_OK);
    for (size_t i = 0; i < nops; i++) {
        uint8_t k = rig_u8(in);
        char key[2] = {(char)('a' + (k & 7)), (char)('a' + (k >> 3 & 1))};
        size_t key_len = k & 0x10 ? 2 : 1;
        if (k & 0x80) {
            CHECK(mesh_del(txn, key, key_len) == MESH_OK);
            continue;
        }
        size_t len = sizeof big;
        const uint8_t *value = big;
        if ((k & 0x60) == 0x60) {
            memset(big, k, sizeof big);
        } else {
            value = rig_bytes(in, k >> 5 & 3, &len);
        }
        CHECK(mesh_put(txn, key, key_len, value, len) == MESH_OK);
    }
    CHECK(mesh_txn_commit(&txn, NULL) == MESH_OK);
}

void
rig_export(rig_node_t *n, void **p, size_t *len)
{
    CHECK(mesh_export(n->m, NULL, 0, NULL, 0, p, len) == MESH_OK);
}

void
rig_import_honest(rig_node_t *n, const void *b, size_t len)
{
    mesh_import_report_t rep = {.size = sizeof rep};
    CHECK(mesh_import(n->m, b, len, &rep) == MESH_OK);
    CHECK(rep.sets_rejected == 0);
    mesh_free(rep.text);
}

/* ---- checks ---- */

/* Recount coll's digest and keys from every stored version; CHECK they equal the
 * collection's own counters (as mesh_digest gives them), and that every key reads. */
static void
s_check_coll(mesh_t *m, const char *coll)
{
    char hex[65], want[65];
    uint64_t keys = 0, counted = 0;
    uint8_t digest[32] = {0};
    store_txn_t *st = NULL;
    store_cursor_t *cur = NULL;
    uint32_t cid = 0;
    store_item_t *item = malloc(sizeof *item);

    CHECK(item != NULL);
    CHECK(mesh_digest(m, coll, hex, sizeof hex, &keys) == MESH_OK);
    CHECK(store_read_begin(m->store, &st) == MESH_OK);
    mesh_err_t err = store_coll_id(st, coll, false, &cid);
    if (err == MESH_OK) {
        CHECK(store_items_open(st, cid, NULL, 0, &cur) == MESH_OK);
        while ((err = store_items_next(cur, item)) == MESH_OK) {
            counted++;
            CHECK(item->count >= 1);
            for (size_t i = 0; i < item->count; i++) {
                uint8_t origin[32];
                uint64_t inc = 0;
                CHECK(store_origin_signed(st, item->versions[i].oid, origin, &inc) == MESH_OK);
                version_digest_apply(digest, origin, inc, item->versions[i].meta,
                                     item->versions[i].meta_len, false);
            }
        }
        store_cursor_close(cur);
    }
    store_read_end(st);
    free(item);
    CHECK(err == MESH_ENOTFOUND);
    for (int i = 0; i < 32; i++) {
        snprintf(want + 2 * i, 3, "%02x", digest[i]);
    }
    CHECK(strcmp(hex, want) == 0);
    CHECK(keys == counted);

    /* every key reads: its visible value, and all its versions */
    mesh_iter_t *it = NULL;
    if (mesh_iter_open_ex(m, coll, NULL, 0, MESH_ITER_TOMBSTONES, &it) != MESH_OK) {
        return; /* a system collection: not for iteration */
    }
    const uint8_t *key, *value;
    size_t key_len, value_len, n = 0;
    uint8_t copy[MESH_KEY_MAX];
    while ((err = mesh_iter_next(it, &key, &key_len, &value, &value_len, NULL)) == MESH_OK) {
        mesh_item_version_list_t *list = NULL;
        void *got = NULL;
        size_t got_len = 0;
        memcpy(copy, key, key_len);
        CHECK(mesh_get_versions(m, coll, copy, key_len, &list) == MESH_OK);
        CHECK(mesh_item_version_list_count(list) >= 1);
        CHECK(mesh_item_version_list_get(list, 0)->is_winner);
        mesh_item_version_list_free(list);
        mesh_err_t gerr = mesh_get(m, coll, copy, key_len, &got, &got_len);
        CHECK(gerr == (value ? MESH_OK : MESH_ENOTFOUND));
        CHECK(!value || (got_len == value_len && memcmp(got, value, value_len) == 0));
        mesh_free(got);
        n++;
    }
    mesh_iter_close(it);
    CHECK(err == MESH_ENOTFOUND);
    CHECK(n == keys);
}

void
rig_check_store(mesh_t *m)
{
    mesh_coll_list_t *list = NULL;
    CHECK(mesh_collections(m, &list) == MESH_OK);
    for (size_t i = 0; i < mesh_coll_list_count(list); i++) {
        s_check_coll(m, mesh_coll_list_get(list, i)->name);
    }
    mesh_coll_list_free(list);
    s_check_coll(m, "_mesh");
    mesh_peer_list_t *peers = NULL;
    CHECK(mesh_peers(m, &peers) == MESH_OK);
    mesh_peer_list_free(peers);
}

void
rig_check_same(mesh_t *a, mesh_t *b)
{
    mesh_coll_list_t *la = NULL, *lb = NULL;
    CHECK(mesh_collections(a, &la) == MESH_OK);
    CHECK(mesh_collections(b, &lb) == MESH_OK);
    CHECK(mesh_coll_list_count(la) == mesh_coll_list_count(lb));
    for (size_t i = 0; i < mesh_coll_list_count(la); i++) {
        const mesh_coll_info_t *x = mesh_coll_list_get(la, i), *y = mesh_coll_list_get(lb, i);
        CHECK(strcmp(x->name, y->name) == 0);
        CHECK(strcmp(x->digest, y->digest) == 0);
        CHECK(x->keys == y->keys && x->versions == y->versions);
    }
    mesh_coll_list_free(la);
    mesh_coll_list_free(lb);
}
