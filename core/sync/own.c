/* core/sync/own.c: our own vector file, decoded, and its summary, kept fresh as of the
 * store's last transaction for the sessions (HELLO, VECTOR, ACK, SUMMARY) and the status.
 * Owns: l->own, own_doc, own_summary, own_txnid, own_valid. Not here: what a vector is
 * (core/wire, core/bundle).
 * Layer: core (sync). Third-party: none. SPDX-License-Identifier: MIT */
#include "core/sync/own.h"

#include "core/bundle/bundle.h"

/* Our vector file, decoded, and its summary, fresh as of the store's last transaction. */
mesh_err_t
own_update(loop_t *l)
{
    uint64_t txnid = store_last_txnid(l->m->store);
    if (l->own_valid && txnid == l->own_txnid) {
        return MESH_OK;
    }
    void *vv = NULL;
    size_t len = 0;
    wire_doc_t doc;
    mesh_err_t err = mesh_vector(l->m, NULL, 0, &vv, &len);
    if (err == MESH_OK) {
        err = wire_doc_decode(vv, len, true, &doc);
    }
    if (err != MESH_OK) {
        mesh_free(vv);
        return err;
    }
    wire_doc_release(&l->own_doc);
    mesh_free(l->own);
    l->own = vv;
    l->own_len = len;
    l->own_doc = doc;
    l->own_txnid = txnid;
    l->own_valid = bundle_summary(l->m, &l->own_doc, l->own_summary) == MESH_OK;
    return l->own_valid ? MESH_OK : MESH_EIO;
}
