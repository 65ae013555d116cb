/* tests/tools/unstore.c: delete one item from a home's store behind its vector's back, as a
 * damaged disk or a buggy member would: the item record, its version records, its share of
 * the collection's digest and counts go, in one write transaction; the vector and the set
 * headers stay. The store is consistent afterwards (its digest is its items'), but the
 * device no longer holds a version its vector says it holds: only the slow path (PROTOCOL
 * §13) can bring it back. Test builds only (build/testing/tests/unstore); it links the
 * library's internals. Run it on a home no process has open.
 *
 *   unstore HOME COLL KEY        exit 0: deleted; 1: no such item; 2: usage or store error
 *
 * Layer: tests. Third-party: none. SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <string.h>

#include "core/base/node.h"
#include "core/data/version.h"
#include "store/store.h"

typedef struct u_ctx {
    const char *coll, *key;
    bool found;
} u_ctx_t;

static mesh_err_t
u_delete(store_txn_t *txn, void *arg)
{
    u_ctx_t *u = arg;
    uint32_t cid = 0;
    store_coll_stats_t stats;
    static store_item_t item;
    store_key_t key;
    node_store_key((const uint8_t *)u->key, strlen(u->key), &key); /* (long keys by hash) */
    u->found = false;
    mesh_err_t err = store_coll_id(txn, u->coll, false, &cid);
    if (err == MESH_OK) {
        err = store_coll_stats_get(txn, cid, &stats);
    }
    if (err == MESH_OK) {
        err = store_item_get(txn, cid, &key, &item);
    }
    if (err == MESH_ENOTFOUND) {
        return MESH_OK;
    }
    for (size_t i = 0; err == MESH_OK && i < item.count; i++) {
        const store_version_t *v = &item.versions[i];
        uint8_t origin[32];
        uint64_t inc = 0;
        err = store_origin_signed(txn, v->oid, origin, &inc); /* the digest counts the signed incarnation */
        if (err == MESH_OK) {
            version_digest_apply(stats.digest, origin, inc, v->meta, v->meta_len, true);
            stats.versions--;
        }
    }
    /* the records last: a write may move the bytes the versions above borrow */
    size_t n = item.count;
    uint32_t oids[STORE_SIBLINGS_MAX];
    uint64_t seqs[STORE_SIBLINGS_MAX];
    for (size_t i = 0; i < n; i++) {
        oids[i] = item.versions[i].oid;
        seqs[i] = item.versions[i].seq;
    }
    for (size_t i = 0; err == MESH_OK && i < n; i++) {
        err = store_dot_del(txn, cid, oids[i], seqs[i]);
    }
    if (err == MESH_OK) {
        err = store_item_put(txn, cid, &key, NULL, 0);
    }
    if (err == MESH_OK) {
        stats.keys--;
        err = store_coll_stats_put(txn, cid, &stats);
    }
    u->found = err == MESH_OK;
    return err;
}

int
main(int argc, char **argv)
{
    char dir[4096], msg[256] = "";
    store_t *st = NULL;
    if (argc != 4) {
        fprintf(stderr, "usage: unstore HOME COLL KEY\n");
        return 2;
    }
    snprintf(dir, sizeof dir, "%s/store", argv[1]);
    mesh_err_t err = store_open(dir, 0, &st, msg, sizeof msg);
    u_ctx_t u = {.coll = argv[2], .key = argv[3]};
    if (err == MESH_OK) {
        err = store_write(st, u_delete, &u);
    }
    if (err != MESH_OK) {
        fprintf(stderr, "unstore: %s: %s %s\n", argv[1], mesh_strerror(err),
                st ? store_errmsg(st) : msg);
        store_close(st);
        return 2;
    }
    store_close(st);
    if (!u.found) {
        fprintf(stderr, "unstore: no item \"%s\" in \"%s\"\n", argv[3], argv[2]);
        return 1;
    }
    return 0;
}
