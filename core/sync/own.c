/* core/sync/own.c: our own vector, decoded, and its summary, kept fresh as of the store's
 * last transaction for the sessions (HELLO, VECTOR, ACK, SUMMARY) and the status; its
 * vector file is encoded only when one is sent.
 * Owns: l->own_vv, l->own (the file), own_summary, own_txnid, own_valid. Not here: what a
 * vector is (core/data/vector.c), reading it from the store (core/bundle/vecfile.c).
 * Layer: core (sync). Third-party: none. SPDX-License-Identifier: MIT */
#include "core/sync/own.h"

#include <stdlib.h>

#include "core/bundle/vecfile.h"
#include "core/data/vector.h"

#include <string.h>

mesh_err_t
own_update(loop_t *l)
{
    uint64_t txnid = store_last_txnid(l->m->store);
    if (l->own_valid && txnid == l->own_txnid) {
        return MESH_OK;
    }
    vector_t *v = NULL;
    mesh_err_t err = vecfile_load(l->m, NULL, 0, &v);
    if (err != MESH_OK) {
        return err;
    }
    vector_free(l->own_vv);
    free(l->own);
    l->own_vv = v;
    l->own = NULL; /* encoded when it is sent (own_file) */
    l->own_len = 0;
    l->own_txnid = txnid;
    l->own_valid = vector_summary(l->m->store, l->own_vv, l->own_summary) == MESH_OK;
    return l->own_valid ? MESH_OK : MESH_EIO;
}

mesh_err_t
own_file(loop_t *l)
{
    mesh_err_t err = own_update(l);
    if (err != MESH_OK || l->own) {
        return err;
    }
    wire_buf_t buf;
    wire_buf_init(&buf);
    err = vector_encode(l->own_vv, &buf);
    if (err == MESH_OK) {
        l->own = buf.data;
        l->own_len = buf.len;
        buf.data = NULL;
    }
    wire_buf_release(&buf);
    return err;
}

bool
own_digests_differ(loop_t *l, const session_t *s)
{
    /* (covering each other: an entry with nothing in it may be listed on one side only) */
    return s->ok && s->vv && s->view_exact && s->peer_summary_known && own_update(l) == MESH_OK &&
           memcmp(s->peer_summary, l->own_summary, WIRE_SUMMARY_LEN) != 0 &&
           vector_covers(s->vv, l->own_vv) && vector_covers(l->own_vv, s->vv);
}
