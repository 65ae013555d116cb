/* core/apply/verify.c: verifying change sets over their bytes as received.
 * Each check runs on the encoded set before anything of it is stored: decode, signature over
 * the header as carried, the collection name, each op's seq, value hash and leaf, then the
 * Merkle root (a full set) or each op's proof (a partial one). A large batch's sets are
 * verified on two threads: they are independent, pure CPU, and touch no store.
 * Layer: core. Third-party: none. SPDX-License-Identifier: MIT */
#include "core/apply/verify.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/node.h"
#include "core/data/version.h"
#include "core/member/member.h"
#include "crypto/hash4.h"
#include "crypto/ident.h"

/* A set verified ahead of its apply, on any thread (apply_check). */
struct apply_checked {
    verify_set_t v;
    apply_result_t res; /* v.res points here */
};

void
verify_reject(apply_result_t *r, mesh_err_t err, const char *fmt, ...)
{
    va_list ap;
    r->outcome = APPLY_REJECTED;
    r->err = err;
    va_start(ap, fmt);
    vsnprintf(r->why, sizeof r->why, fmt, ap);
    va_end(ap);
}

#define S_VERIFY_SPLIT_BYTES (1u << 20) /* sets to verify before a second thread helps */

#define S_VERIFY_BATCH 8u /* ops whose value and leaf hashes are made together */

/* The checks of op i that need no hash: its metadata decodes, its seq is in order in the
 * header's range, a put carries a value of its length and a deletion none. */
static mesh_err_t
s_precheck_op(verify_set_t *v, size_t i, uint64_t *prev_seq)
{
    const wire_op_t *op = &v->set.ops[i];
    wire_opmeta_t *meta = &v->ops[i];
    apply_result_t *r = v->res;
    mesh_err_t err = wire_opmeta_decode(op->meta, op->meta_len, meta);
    if (err != MESH_OK) {
        verify_reject(r, err, "op %zu: malformed metadata", i);
        return err;
    }
    uint64_t last = v->h.first_seq + v->h.count - 1;
    bool in_order = v->set.partial ? meta->seq > *prev_seq : meta->seq == v->h.first_seq + i;
    if (meta->seq < v->h.first_seq || meta->seq > last || !in_order) {
        verify_reject(r, MESH_ESEQGAP, "op seq %llu is outside or out of order in %llu..%llu",
                      (unsigned long long)meta->seq, (unsigned long long)v->h.first_seq,
                      (unsigned long long)last);
        return MESH_ESEQGAP;
    }
    *prev_seq = meta->seq;
    if (meta->kind == WIRE_PUT && (!op->value || op->value_len != meta->value_len)) {
        verify_reject(r, MESH_EPROTO, "op seq %llu: value missing or of the wrong length",
                      (unsigned long long)meta->seq);
        return MESH_EPROTO;
    }
    if (meta->kind != WIRE_PUT && op->value) {
        verify_reject(r, MESH_EPROTO, "op seq %llu: a deletion carries a value",
                      (unsigned long long)meta->seq);
        return MESH_EPROTO;
    }
    return MESH_OK;
}

/* The checks of op i after its hashes: vh its value's hash (a put), v->leaves[i] its leaf. */
static mesh_err_t
s_check_op(verify_set_t *v, size_t i, const uint8_t *vh)
{
    const wire_op_t *op = &v->set.ops[i];
    const wire_opmeta_t *meta = &v->ops[i];
    apply_result_t *r = v->res;
    if (meta->kind == WIRE_PUT && memcmp(vh, meta->vhash, HASH_LEN) != 0) {
        verify_reject(r, MESH_EDIGEST, "op seq %llu: value does not match its signed hash",
                      (unsigned long long)meta->seq);
        return MESH_EDIGEST;
    }
    if (v->set.partial && hash_merkle_verify(v->leaves[i], meta->seq - v->h.first_seq, v->h.count,
                                             (const uint8_t(*)[HASH_LEN])op->proof, op->proof_count,
                                             v->h.root) != MESH_OK) {
        verify_reject(r, MESH_EDIGEST, "op seq %llu: Merkle proof does not lead to the signed root",
                      (unsigned long long)meta->seq);
        return MESH_EDIGEST;
    }
    if (strcmp(v->coll, MEMBER_COLL) == 0 && member_check_op(meta, v->h.origin) != MESH_OK) {
        verify_reject(r, MESH_EPROTO, "op seq %llu: not a membership record of its signer",
                      (unsigned long long)meta->seq);
        return MESH_EPROTO;
    }
    return MESH_OK;
}

/* The value hashes (puts) and leaves of ops [from, to), several at once (crypto/hash4): vh[k]
 * is the k-th put's. */
static void
s_hash_ops(verify_set_t *v, size_t from, size_t to, uint8_t (*vh)[HASH_LEN])
{
    const uint8_t *msgs[S_VERIFY_BATCH];
    size_t lens[S_VERIFY_BATCH];
    size_t puts = 0;
    for (size_t i = from; i < to; i++) {
        const wire_op_t *op = &v->set.ops[i];
        if (v->ops[i].kind == WIRE_PUT) {
            msgs[puts] = op->value;
            lens[puts++] = op->value_len;
        }
    }
    hash4_tagged(HASH_TAG_VALUE, msgs, lens, puts, vh);
    for (size_t i = from; i < to; i++) {
        msgs[i - from] = v->set.ops[i].meta;
        lens[i - from] = v->set.ops[i].meta_len;
    }
    hash4_tagged(HASH_TAG_LEAF, msgs, lens, to - from, v->leaves + from);
}

/* Check ops [from, to) (at most S_VERIFY_BATCH) and compute their leaves. The hash-free checks
 * go first, up to the first op that fails them; the ops before it are hashed together, then
 * checked in order, so the reason given is the first bad op's, as if each op were checked
 * whole before the next (a later rejection of an earlier op replaces the pending one). */
static mesh_err_t
s_verify_ops(verify_set_t *v, size_t from, size_t to, uint64_t *prev_seq)
{
    uint8_t vh[S_VERIFY_BATCH][HASH_LEN];
    mesh_err_t pending = MESH_OK;
    size_t good = from;
    while (good < to && (pending = s_precheck_op(v, good, prev_seq)) == MESH_OK) {
        good++;
    }
    s_hash_ops(v, from, good, vh);
    for (size_t i = from, k = 0; i < good; i++) {
        mesh_err_t err = s_check_op(v, i, vh[k]);
        if (err != MESH_OK) {
            return err;
        }
        k += v->ops[i].kind == WIRE_PUT;
    }
    return pending;
}

/* Decode the header and check the signature over the bytes as received. */
static mesh_err_t
s_verify_header(verify_set_t *v)
{
    apply_result_t *r = v->res;
    mesh_err_t err = wire_set_decode(v->bytes, v->len, &v->set);
    if (err != MESH_OK) {
        verify_reject(r, err, "set does not decode (%s)", mesh_strerror(err));
        return err;
    }
    err = wire_header_decode(v->set.header, v->set.header_len, &v->h);
    if (err != MESH_OK) {
        verify_reject(r, err, "header does not decode (%s)", mesh_strerror(err));
        return err;
    }
    memcpy(r->origin, v->h.origin, WIRE_ORIGIN_LEN);
    r->first_seq = v->h.first_seq;
    r->count = v->h.count;
    if (ident_verify(v->h.origin, v->set.header, v->set.header_len, v->set.sig) != MESH_OK) {
        verify_reject(r, MESH_EBADSIG, "signature does not verify against the origin's key");
        return MESH_EBADSIG;
    }
    memcpy(v->coll, v->h.coll, v->h.coll_len);
    v->coll[v->h.coll_len] = '\0';
    char why[128];
    bool system = v->h.coll_len == strlen(MEMBER_COLL) && strcmp(v->coll, MEMBER_COLL) == 0;
    if (node_coll_name_check(v->h.coll, v->h.coll_len, system, why, sizeof why) != MESH_OK) {
        verify_reject(r, MESH_EPROTO, "%s", why); /* why never holds the name's bytes */
        return MESH_EPROTO;
    }
    if (!v->set.partial && v->set.op_count != v->h.count) {
        verify_reject(r, MESH_EPROTO, "a full set with %zu ops for a header of %u", v->set.op_count,
                      v->h.count);
        return MESH_EPROTO;
    }
    return MESH_OK;
}

static mesh_err_t
s_verify(verify_set_t *v)
{
    uint8_t root[HASH_LEN];
    uint64_t prev = 0;
    mesh_err_t err = s_verify_header(v);
    if (err != MESH_OK) {
        return err;
    }
    v->ops = calloc(v->set.op_count ? v->set.op_count : 1, sizeof *v->ops);
    v->leaves = malloc((v->set.op_count ? v->set.op_count : 1) * sizeof *v->leaves);
    if (!v->ops || !v->leaves) {
        verify_reject(v->res, MESH_ENOMEM, "out of memory");
        return MESH_ENOMEM;
    }
    for (size_t i = 0; i < v->set.op_count; i += S_VERIFY_BATCH) {
        size_t to = v->set.op_count - i < S_VERIFY_BATCH ? v->set.op_count : i + S_VERIFY_BATCH;
        err = s_verify_ops(v, i, to, &prev);
        if (err != MESH_OK) {
            return err;
        }
    }
    if (!v->set.partial) {
        hash_merkle_root((const uint8_t(*)[HASH_LEN])v->leaves, v->set.op_count, root);
        if (memcmp(root, v->h.root, HASH_LEN) != 0) {
            verify_reject(v->res, MESH_EDIGEST, "ops do not match the signed Merkle root");
            return MESH_EDIGEST;
        }
    }
    return MESH_OK;
}

/* Sets verified by a second thread: every other one, from the second. */
typedef struct s_verify_job {
    verify_set_t *vs;
    size_t n;
} s_verify_job_t;

static void *
s_verify_odd(void *arg)
{
    s_verify_job_t *job = arg;
    for (size_t i = 1; i < job->n; i += 2) {
        if (!job->vs[i].borrowed) {
            (void)s_verify(&job->vs[i]);
        }
    }
    return NULL;
}

/* Sets are independent and checking them is pure CPU (hashes, a signature, decoding), so
 * with several large sets a second thread takes every other one. */
void
verify_all(verify_set_t *vs, size_t n)
{
    size_t bytes = 0;
    for (size_t i = 0; i < n; i++) {
        if (!vs[i].borrowed) {
            memset(vs[i].res, 0, sizeof *vs[i].res);
            bytes += vs[i].len;
        }
    }
    s_verify_job_t job = {vs, n};
    pthread_t helper;
    bool split = n >= 2 && bytes >= S_VERIFY_SPLIT_BYTES &&
                 pthread_create(&helper, NULL, s_verify_odd, &job) == 0;
    for (size_t i = 0; i < n; i += split ? 2 : 1) {
        if (!vs[i].borrowed) {
            (void)s_verify(&vs[i]);
        }
    }
    if (split) {
        pthread_join(helper, NULL);
    }
}

void
verify_set_release(verify_set_t *v)
{
    if (v->borrowed) {
        return;
    }
    wire_set_release(&v->set);
    free(v->ops);
    free(v->leaves);
    free(v->digests);
}

mesh_err_t
apply_check(const uint8_t *set, size_t len, apply_checked_t **out)
{
    if (out) {
        *out = NULL;
    }
    if (!set || !out) {
        return MESH_EINVAL;
    }
    apply_checked_t *c = calloc(1, sizeof *c);
    if (!c) {
        return MESH_ENOMEM;
    }
    c->v = (verify_set_t){.bytes = set, .len = len, .res = &c->res};
    if (s_verify(&c->v) == MESH_ENOMEM) {
        apply_checked_free(c);
        return MESH_ENOMEM;
    }
    /* Each op's digest share, made here too (off the thread that writes), from its leaf
     * (hashed above) and the signer's base: without memory for them the apply makes them
     * itself. */
    size_t n = c->res.outcome == APPLY_REJECTED ? 0 : c->v.set.op_count;
    c->v.digests = n ? malloc(n * sizeof *c->v.digests) : NULL;
    uint8_t base[HASH_LEN];
    version_digest_base(c->v.h.origin, c->v.h.incarnation, base);
    for (size_t i = 0; c->v.digests && i < n; i++) {
        version_digest_of_leaf(base, c->v.leaves[i], c->v.digests[i]);
    }
    *out = c;
    return MESH_OK;
}

void
apply_checked_free(apply_checked_t *c)
{
    if (c) {
        verify_set_release(&c->v);
        free(c);
    }
}

bool
verify_borrow(verify_set_t *v, const apply_checked_t *c, const uint8_t *bytes, size_t len,
              apply_result_t *res)
{
    if (!c || c->v.bytes != bytes || c->v.len != len) {
        return false;
    }
    *v = c->v;
    v->res = res;
    *res = c->res;
    v->borrowed = true;
    return true;
}
