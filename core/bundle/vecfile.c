/* core/bundle/vecfile.c: a file's collections, this device's vector over them, and
 * mesh_vector (its vector file).
 * Layer: core. Third-party: none. SPDX-License-Identifier: MIT */
#include "core/bundle/vecfile.h"

#include <stdlib.h>
#include <string.h>

#include "core/member/member.h"

mesh_err_t
vecfile_check_colls(mesh_t *m, const char *const *colls, size_t ncolls)
{
    for (size_t i = 0; i < ncolls; i++) {
        mesh_err_t err = colls[i] ? node_check_coll(m, colls[i], true) : MESH_EINVAL;
        if (err != MESH_OK) {
            return err;
        }
    }
    return MESH_OK;
}

/* How many names vecfile_colls may list: one for "_mesh", and one per stored collection
 * (ncolls 0) or per name given. */
static mesh_err_t
s_colls_cap(store_txn_t *txn, size_t ncolls, size_t *cap)
{
    store_cursor_t *cur = NULL;
    uint32_t cid = 0;
    char name[MESH_COLL_MAX + 1];
    *cap = ncolls + 1;
    if (ncolls) {
        return MESH_OK;
    }
    mesh_err_t err = store_colls_open(txn, &cur);
    while (err == MESH_OK && (err = store_colls_next(cur, name, &cid)) == MESH_OK) {
        (*cap)++;
    }
    store_cursor_close(cur);
    return err == MESH_ENOTFOUND ? MESH_OK : err;
}

mesh_err_t
vecfile_colls(store_txn_t *txn, const char *const *colls, size_t ncolls, const char ***names,
              size_t *count, char (**names_buf)[MESH_COLL_MAX + 1])
{
    store_cursor_t *cur = NULL;
    size_t cap = 0, n = 0;
    *names = NULL;
    *names_buf = NULL;
    *count = 0;
    mesh_err_t err = s_colls_cap(txn, ncolls, &cap);
    if (err == MESH_OK && ncolls == 0) {
        *names_buf = calloc(cap, sizeof **names_buf);
        err = *names_buf ? MESH_OK : MESH_ENOMEM;
    }
    if (err == MESH_OK) {
        *names = calloc(cap, sizeof **names);
        err = *names ? MESH_OK : MESH_ENOMEM;
    }
    if (err != MESH_OK) {
        free(*names_buf);
        *names_buf = NULL;
        return err;
    }
    (*names)[n++] = MEMBER_COLL;
    for (size_t i = 0; i < ncolls; i++) {
        if (strcmp(colls[i], MEMBER_COLL) != 0) {
            (*names)[n++] = colls[i];
        }
    }
    if (ncolls == 0) {
        uint32_t cid = 0;
        err = store_colls_open(txn, &cur);
        while (err == MESH_OK && n < cap &&
               (err = store_colls_next(cur, (*names_buf)[n], &cid)) == MESH_OK) {
            if ((*names_buf)[n][0] != '_') {
                (*names)[n] = (*names_buf)[n];
                n++;
            }
        }
        store_cursor_close(cur);
        err = err == MESH_ENOTFOUND ? MESH_OK : err;
    }
    if (err != MESH_OK) {
        free(*names);
        free(*names_buf);
        *names = NULL;
        *names_buf = NULL;
        return err;
    }
    *count = n;
    return MESH_OK;
}

mesh_err_t
vecfile_load(mesh_t *m, const char *const *colls, size_t ncolls, vector_t **out)
{
    store_txn_t *txn = NULL;
    const char **names = NULL;
    char(*names_buf)[MESH_COLL_MAX + 1] = NULL;
    size_t count = 0;
    *out = NULL;
    mesh_err_t err = vecfile_check_colls(m, colls, ncolls);
    if (err == MESH_OK) {
        err = store_read_begin(m->store, &txn);
    }
    if (err == MESH_OK) {
        err = vecfile_colls(txn, colls, ncolls, &names, &count, &names_buf);
    }
    if (err == MESH_OK) {
        err = vector_load(txn, names, count, out);
    }
    store_read_end(txn);
    free(names);
    free(names_buf);
    return err;
}

mesh_err_t
mesh_vector(mesh_t *m, const char *const *colls, size_t ncolls, void **out, size_t *out_len)
{
    vector_t *v = NULL;
    wire_buf_t buf;
    if (out) {
        *out = NULL;
    }
    if (out_len) {
        *out_len = 0;
    }
    if (!m || !out || !out_len || (ncolls && !colls)) {
        return MESH_EINVAL;
    }
    wire_buf_init(&buf);
    mesh_err_t err = vecfile_load(m, colls, ncolls, &v);
    if (err == MESH_OK) {
        err = vector_encode(v, &buf);
    }
    if (err == MESH_OK) {
        *out = buf.data;
        *out_len = buf.len;
        buf.data = NULL;
    }
    wire_buf_release(&buf);
    vector_free(v);
    return err;
}
