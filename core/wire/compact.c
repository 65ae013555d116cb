/* core/wire/compact.c: the compact form of a batch's bundle (docs/PROTOCOL.md §11.1):
 *   array(2) [ dots array of array(2) [origin bin32 | nil (the sender's key), incarnation uint],
 *              sections array of array(3) [ coll str,
 *                  sets array of (set bin (§3.4, as it is) |
 *                                 array(5) [dot, first_seq, hlc, signature bin64,
 *                                           ops array of array(3) [key bin, value bin | nil,
 *                                                                  context array of array(2) [dot,
 * seq]]]), marks array of array(2) [dot, seq] | array(3) [dot, seq, from] ] ] A dot is an index
 * into the dots table. An empty _mesh section is left out (the expansion puts one first when the
 * first section is not _mesh). A full set whose header and ops read strictly goes as an array; any
 * other (partial, header alone) goes as its bytes. Layer: core/wire. Third-party: msgpack.h
 * (through cursor.h). SPDX-License-Identifier: MIT */
#include "core/wire/compact.h"

#include <stdlib.h>
#include <string.h>

#include "core/wire/cursor.h"
#include "core/wire/doc.h"
#include "core/wire/set.h"
#include "crypto/hash.h"

#define S_MESH "_mesh"

typedef struct s_dot {
    uint8_t origin[WIRE_ORIGIN_LEN];
    uint64_t inc;
} s_dot_t;

typedef struct s_table {
    s_dot_t dots[WIRE_COMPACT_DOTS_MAX];
    size_t n;
} s_table_t;

/* ---- encoding ---- */

/* The index of (origin, inc), added when new. MESH_OK or MESH_EINVAL (the table is full). */
static mesh_err_t
s_index(s_table_t *t, const uint8_t *origin, uint64_t inc, uint64_t *idx)
{
    for (size_t i = 0; i < t->n; i++) {
        if (t->dots[i].inc == inc && memcmp(t->dots[i].origin, origin, WIRE_ORIGIN_LEN) == 0) {
            *idx = i;
            return MESH_OK;
        }
    }
    if (t->n == WIRE_COMPACT_DOTS_MAX) {
        return MESH_EINVAL;
    }
    memcpy(t->dots[t->n].origin, origin, WIRE_ORIGIN_LEN);
    t->dots[t->n].inc = inc;
    *idx = t->n++;
    return MESH_OK;
}

/* Is the set (in a section of coll) a full set whose every field the expansion rebuilds?
 * Then pack it as an array (its pairs entered in t); else as its bytes. */
static mesh_err_t
s_pack_set(msgpack_packer *pk, s_table_t *t, const char *coll, const uint8_t *bytes, size_t len)
{
    wire_set_t set;
    wire_header_t h;
    uint64_t idx = 0;
    bool compact = wire_set_decode(bytes, len, &set) == MESH_OK;
    if (compact) {
        compact = !set.partial && set.op_count > 0 &&
                  wire_header_decode(set.header, set.header_len, &h) == MESH_OK &&
                  h.coll_len == strlen(coll) && memcmp(h.coll, coll, h.coll_len) == 0 &&
                  h.count == set.op_count && s_index(t, h.origin, h.incarnation, &idx) == MESH_OK;
        for (size_t i = 0; compact && i < set.op_count; i++) {
            wire_opmeta_t om;
            wire_dot_t d;
            uint64_t di = 0;
            compact = wire_opmeta_decode(set.ops[i].meta, set.ops[i].meta_len, &om) == MESH_OK &&
                      om.seq == h.first_seq + i;
            for (size_t k = 0; compact && k < om.ctx_count; k++) {
                wire_ctx_get(&om, k, &d);
                compact = s_index(t, d.origin, d.incarnation, &di) == MESH_OK;
            }
        }
    }
    if (!compact) {
        wire_set_release(&set);
        return msgpack_pack_bin(pk, len) | msgpack_pack_bin_body(pk, bytes, len) ? MESH_ENOMEM
                                                                                 : MESH_OK;
    }
    int rc = msgpack_pack_array(pk, 5);
    rc |= msgpack_pack_uint64(pk, idx);
    rc |= msgpack_pack_uint64(pk, h.first_seq);
    rc |= msgpack_pack_uint64(pk, h.hlc);
    rc |= wire_pack_bin(pk, set.sig, WIRE_SIG_LEN);
    rc |= msgpack_pack_array(pk, set.op_count);
    for (size_t i = 0; i < set.op_count; i++) {
        wire_opmeta_t om;
        wire_dot_t d;
        uint64_t di = 0;
        if (wire_opmeta_decode(set.ops[i].meta, set.ops[i].meta_len, &om) != MESH_OK) {
            rc = -1; /* (it read above) */
            break;
        }
        rc |= msgpack_pack_array(pk, 3);
        rc |= wire_pack_bin(pk, om.key, om.key_len);
        rc |= set.ops[i].value ? wire_pack_bin(pk, set.ops[i].value, set.ops[i].value_len)
                               : msgpack_pack_nil(pk);
        rc |= msgpack_pack_array(pk, om.ctx_count);
        for (size_t k = 0; k < om.ctx_count; k++) {
            wire_ctx_get(&om, k, &d);
            rc |= s_index(t, d.origin, d.incarnation, &di) == MESH_OK ? 0 : -1; /* entered above */
            rc |= msgpack_pack_array(pk, 2);
            rc |= msgpack_pack_uint64(pk, di);
            rc |= msgpack_pack_uint64(pk, d.seq);
        }
    }
    wire_set_release(&set);
    return rc ? MESH_ENOMEM : MESH_OK;
}

/* The sections (all but an empty _mesh) packed into body, their pairs entered in t. */
static mesh_err_t
s_pack_sections(const wire_doc_t *doc, s_table_t *t, wire_buf_t *body)
{
    msgpack_packer pk;
    wire_pack_init(&pk, body);
    size_t skip = doc->count && doc->sections[0].set_count == 0 &&
                  doc->sections[0].mark_count == 0 && doc->sections[0].coll_len == strlen(S_MESH) &&
                  memcmp(doc->sections[0].coll, S_MESH, strlen(S_MESH)) == 0;
    int rc = msgpack_pack_array(&pk, doc->count - skip);
    mesh_err_t err = MESH_OK;
    for (size_t i = skip; i < doc->count && err == MESH_OK && rc == 0; i++) {
        const wire_section_t *sec = &doc->sections[i];
        char coll[MESH_COLL_MAX + 1];
        if (sec->coll_len > MESH_COLL_MAX) {
            return MESH_EINVAL;
        }
        memcpy(coll, sec->coll, sec->coll_len);
        coll[sec->coll_len] = '\0';
        rc |= msgpack_pack_array(&pk, 3);
        rc |= msgpack_pack_str_with_body(&pk, sec->coll, sec->coll_len);
        rc |= msgpack_pack_array(&pk, sec->set_count);
        for (size_t k = 0; k < sec->set_count && err == MESH_OK; k++) {
            err = s_pack_set(&pk, t, coll, sec->sets[k], sec->set_lens[k]);
        }
        rc |= msgpack_pack_array(&pk, sec->mark_count);
        for (size_t k = 0; k < sec->mark_count && err == MESH_OK; k++) {
            const wire_mark_t *mk = &sec->marks[k];
            uint64_t di = 0;
            err = s_index(t, mk->origin, mk->incarnation, &di);
            rc |= msgpack_pack_array(&pk, mk->from ? 3 : 2);
            rc |= msgpack_pack_uint64(&pk, di);
            rc |= msgpack_pack_uint64(&pk, mk->seq);
            if (mk->from) {
                rc |= msgpack_pack_uint64(&pk, mk->from);
            }
        }
    }
    return err != MESH_OK ? err : rc || body->failed ? MESH_ENOMEM : MESH_OK;
}

mesh_err_t
wire_compact_encode(const uint8_t *bundle, size_t len, const uint8_t *sender, wire_buf_t *out)
{
    size_t start = out->len;
    wire_doc_t doc;
    wire_buf_t body, back;
    s_table_t *t = calloc(1, sizeof *t);
    if (!t) {
        return MESH_ENOMEM;
    }
    wire_buf_init(&body);
    wire_buf_init(&back);
    mesh_err_t err = wire_doc_decode(bundle, len, false, &doc);
    if (err != MESH_OK) {
        err = err == MESH_ENOMEM ? err : MESH_EINVAL;
    } else {
        err = s_pack_sections(&doc, t, &body);
        wire_doc_release(&doc);
    }
    if (err == MESH_OK) {
        msgpack_packer pk;
        wire_pack_init(&pk, out);
        int rc = msgpack_pack_array(&pk, 2);
        rc |= msgpack_pack_array(&pk, t->n);
        for (size_t i = 0; i < t->n; i++) {
            rc |= msgpack_pack_array(&pk, 2);
            rc |= sender && memcmp(t->dots[i].origin, sender, WIRE_ORIGIN_LEN) == 0
                      ? msgpack_pack_nil(&pk)
                      : wire_pack_bin(&pk, t->dots[i].origin, WIRE_ORIGIN_LEN);
            rc |= msgpack_pack_uint64(&pk, t->dots[i].inc);
        }
        err = wire_pack_done(out, start, rc);
    }
    if (err == MESH_OK) {
        err = wire_buf_append(out, body.data, body.len);
    }
    /* Only what expands back to exactly the bundle's bytes goes. */
    if (err == MESH_OK &&
        (out->len - start > WIRE_COMPACT_MAX ||
         wire_compact_expand(out->data + start, out->len - start, sender, &back) != MESH_OK ||
         back.len != len || memcmp(back.data, bundle, len) != 0)) {
        err = MESH_EINVAL;
    }
    if (err != MESH_OK) {
        out->len = start;
    }
    wire_buf_release(&body);
    wire_buf_release(&back);
    free(t);
    return err;
}

/* ---- expansion ---- */

/* Read a dot index and point *d at its pair. MESH_OK or MESH_EPROTO. */
static mesh_err_t
s_read_dot(wire_cursor_t *c, const s_table_t *t, const s_dot_t **d)
{
    uint64_t i = 0;
    mesh_err_t err = wire_cursor_uint(c, &i);
    if (err == MESH_OK && i >= t->n) {
        err = MESH_EPROTO;
    }
    if (err == MESH_OK) {
        *d = &t->dots[i];
    }
    return err;
}

/* What one compact set's expansion needs, reused from set to set. */
typedef struct s_work {
    wire_buf_t metas, header, set;
    size_t *meta_off;
    wire_op_t *ops;
    uint8_t (*leaves)[HASH_LEN];
    size_t cap;
    wire_dot_t ctx[WIRE_CTX_MAX];
} s_work_t;

static mesh_err_t
s_work_grow(s_work_t *w, size_t n)
{
    if (n <= w->cap) {
        return MESH_OK;
    }
    size_t *off = realloc(w->meta_off, n * sizeof *off);
    if (off) {
        w->meta_off = off;
    }
    wire_op_t *ops = realloc(w->ops, n * sizeof *ops);
    if (ops) {
        w->ops = ops;
    }
    uint8_t(*leaves)[HASH_LEN] = realloc(w->leaves, n * sizeof *leaves);
    if (leaves) {
        w->leaves = leaves;
    }
    if (!off || !ops || !leaves) {
        return MESH_ENOMEM;
    }
    w->cap = n;
    return MESH_OK;
}

/* Read one op of a compact set (the i-th, seq first_seq + i) and append its metadata. */
static mesh_err_t
s_expand_op(wire_cursor_t *c, const s_table_t *t, s_work_t *w, uint64_t seq, size_t i)
{
    wire_opmeta_t om;
    size_t nctx = 0;
    memset(&om, 0, sizeof om);
    om.seq = seq;
    mesh_err_t err = wire_cursor_array_of(c, 3);
    if (err == MESH_OK) {
        err = wire_cursor_bytes(c, WIRE_BIN, MESH_KEY_MAX, &om.key, &om.key_len);
    }
    w->ops[i].value = NULL;
    w->ops[i].value_len = 0;
    w->ops[i].proof = NULL;
    w->ops[i].proof_count = 0;
    if (err == MESH_OK && !wire_cursor_nil(c)) {
        err =
            wire_cursor_bytes(c, WIRE_BIN, MESH_VALUE_MAX, &w->ops[i].value, &w->ops[i].value_len);
        if (err == MESH_OK) {
            om.kind = WIRE_PUT;
            om.value_len = (uint32_t)w->ops[i].value_len;
            hash_tagged(HASH_TAG_VALUE, w->ops[i].value, w->ops[i].value_len, om.vhash);
        }
    } else {
        om.kind = WIRE_DEL;
    }
    if (err == MESH_OK) {
        err = wire_cursor_len(c, WIRE_ARRAY, &nctx);
    }
    if (err == MESH_OK && nctx > WIRE_CTX_MAX) {
        err = MESH_ETOOBIG;
    }
    for (size_t k = 0; err == MESH_OK && k < nctx; k++) {
        const s_dot_t *d = NULL;
        err = wire_cursor_array_of(c, 2);
        if (err == MESH_OK) {
            err = s_read_dot(c, t, &d);
        }
        if (err == MESH_OK) {
            err = wire_cursor_uint(c, &w->ctx[k].seq);
        }
        if (err == MESH_OK) {
            memcpy(w->ctx[k].origin, d->origin, WIRE_ORIGIN_LEN);
            w->ctx[k].incarnation = d->inc;
        }
    }
    w->meta_off[i] = w->metas.len;
    if (err == MESH_OK) {
        err = wire_opmeta_encode(&om, w->ctx, nctx, &w->metas);
        err = err == MESH_EINVAL ? MESH_EPROTO : err; /* a field no op can hold */
    }
    return err;
}

/* Read one compact set of a section of coll and append its bytes to w->set. */
static mesh_err_t
s_expand_set(wire_cursor_t *c, const s_table_t *t, const char *coll, s_work_t *w)
{
    wire_header_t h;
    const s_dot_t *d = NULL;
    const uint8_t *sig = NULL;
    size_t nops = 0;
    memset(&h, 0, sizeof h);
    wire_buf_reset(&w->metas);
    wire_buf_reset(&w->header);
    wire_buf_reset(&w->set);
    mesh_err_t err = wire_cursor_array_of(c, 5);
    if (err == MESH_OK) {
        err = s_read_dot(c, t, &d);
    }
    if (err == MESH_OK) {
        err = wire_cursor_uint(c, &h.first_seq);
    }
    if (err == MESH_OK) {
        err = wire_cursor_uint(c, &h.hlc);
    }
    if (err == MESH_OK) {
        err = wire_cursor_fixed_bin_ptr(c, WIRE_SIG_LEN, &sig);
    }
    if (err == MESH_OK) {
        err = wire_cursor_len(c, WIRE_ARRAY, &nops);
    }
    if (err == MESH_OK && (nops == 0 || nops > WIRE_OPS_MAX || nops > wire_cursor_left(c) / 4 ||
                           h.first_seq == 0 || h.first_seq > UINT64_MAX - nops)) {
        err = nops > WIRE_OPS_MAX ? MESH_ETOOBIG : MESH_EPROTO; /* (an op is 4 bytes at least) */
    }
    if (err == MESH_OK) {
        err = s_work_grow(w, nops);
    }
    for (size_t i = 0; err == MESH_OK && i < nops; i++) {
        err = s_expand_op(c, t, w, h.first_seq + i, i);
        if (err == MESH_OK && w->metas.len > WIRE_COMPACT_OUT_MAX) {
            err = MESH_ETOOBIG; /* (contexts rebuild to 53 bytes an entry: stop early) */
        }
    }
    if (err != MESH_OK) {
        return err;
    }
    for (size_t i = 0; i < nops; i++) {
        size_t end = i + 1 < nops ? w->meta_off[i + 1] : w->metas.len;
        w->ops[i].meta = w->metas.data + w->meta_off[i];
        w->ops[i].meta_len = end - w->meta_off[i];
        hash_tagged(HASH_TAG_LEAF, w->ops[i].meta, w->ops[i].meta_len, w->leaves[i]);
    }
    h.coll = coll;
    h.coll_len = strlen(coll);
    memcpy(h.origin, d->origin, WIRE_ORIGIN_LEN);
    h.incarnation = d->inc;
    h.count = (uint32_t)nops;
    hash_merkle_root((const uint8_t(*)[HASH_LEN])w->leaves, nops, h.root);
    err = wire_header_encode(&h, &w->header);
    if (err == MESH_OK) {
        err = wire_set_encode(w->header.data, w->header.len, sig, w->ops, nops, &w->set);
    }
    return err == MESH_EINVAL ? MESH_EPROTO : err;
}

/* Read the marks of a section and append them. */
static mesh_err_t
s_expand_marks(wire_cursor_t *c, const s_table_t *t, wire_buf_t *out)
{
    size_t n = 0;
    mesh_err_t err = wire_cursor_len(c, WIRE_ARRAY, &n);
    if (err == MESH_OK && n > wire_cursor_left(c) / 3) {
        err = MESH_EPROTO; /* (a mark is 3 bytes at least) */
    }
    wire_mark_t *marks = err == MESH_OK && n ? calloc(n, sizeof *marks) : NULL;
    if (err == MESH_OK && n && !marks) {
        err = MESH_ENOMEM;
    }
    for (size_t k = 0; err == MESH_OK && k < n; k++) {
        size_t len = 0;
        const s_dot_t *d = NULL;
        err = wire_cursor_len(c, WIRE_ARRAY, &len);
        if (err == MESH_OK && len != 2 && len != 3) {
            err = MESH_EPROTO;
        }
        if (err == MESH_OK) {
            err = s_read_dot(c, t, &d);
        }
        if (err == MESH_OK) {
            err = wire_cursor_uint(c, &marks[k].seq);
        }
        if (err == MESH_OK && len == 3) {
            err = wire_cursor_uint(c, &marks[k].from);
            if (err == MESH_OK && (marks[k].from == 0 || marks[k].from >= marks[k].seq)) {
                err = MESH_EPROTO;
            }
        }
        if (err == MESH_OK) {
            memcpy(marks[k].origin, d->origin, WIRE_ORIGIN_LEN);
            marks[k].incarnation = d->inc;
        }
    }
    if (err == MESH_OK) {
        err = wire_section_marks(marks, n, out);
        err = err == MESH_EINVAL ? MESH_EPROTO : err;
    }
    free(marks);
    return err;
}

/* Read one section and append it. */
static mesh_err_t
s_expand_section(wire_cursor_t *c, const s_table_t *t, s_work_t *w, wire_buf_t *out, bool *mesh)
{
    const uint8_t *name = NULL;
    size_t name_len = 0, nsets = 0;
    char coll[MESH_COLL_MAX + 1];
    mesh_err_t err = wire_cursor_array_of(c, 3);
    if (err == MESH_OK) {
        err = wire_cursor_bytes(c, WIRE_STR, MESH_COLL_MAX, &name, &name_len);
    }
    if (err == MESH_OK && (name_len == 0 || memchr(name, '\0', name_len))) {
        err = MESH_EPROTO;
    }
    if (err == MESH_OK) {
        memcpy(coll, name, name_len);
        coll[name_len] = '\0';
        *mesh = strcmp(coll, S_MESH) == 0;
        err = wire_cursor_len(c, WIRE_ARRAY, &nsets);
    }
    if (err == MESH_OK && nsets > wire_cursor_left(c)) {
        err = MESH_EPROTO;
    }
    if (err == MESH_OK) {
        err = wire_section_begin(coll, nsets, out);
    }
    for (size_t k = 0; err == MESH_OK && k < nsets; k++) {
        if (wire_cursor_left(c) && (*c->p == 0xc4 || *c->p == 0xc5 || *c->p == 0xc6)) {
            const uint8_t *p = NULL;
            size_t len = 0;
            err = wire_cursor_bytes(c, WIRE_BIN, WIRE_SET_MAX, &p, &len);
            if (err == MESH_OK) {
                err = wire_section_set(p, len, out);
            }
        } else {
            err = s_expand_set(c, t, coll, w);
            if (err == MESH_OK) {
                err = wire_section_set(w->set.data, w->set.len, out);
            }
        }
        if (err == MESH_OK && out->len > WIRE_COMPACT_OUT_MAX) {
            err = MESH_ETOOBIG;
        }
    }
    if (err == MESH_OK) {
        err = s_expand_marks(c, t, out);
    }
    return err;
}

mesh_err_t
wire_compact_expand(const uint8_t *buf, size_t len, const uint8_t *sender, wire_buf_t *out)
{
    size_t start = out->len, n = 0, nsec = 0;
    wire_cursor_t c = {buf, buf + len};
    if (len > WIRE_COMPACT_MAX) {
        return MESH_ETOOBIG;
    }
    s_table_t *t = calloc(1, sizeof *t);
    s_work_t *w = calloc(1, sizeof *w);
    mesh_err_t err = t && w ? MESH_OK : MESH_ENOMEM;
    if (err == MESH_OK) {
        wire_buf_init(&w->metas);
        wire_buf_init(&w->header);
        wire_buf_init(&w->set);
        err = wire_cursor_array_of(&c, 2);
    }
    if (err == MESH_OK) {
        err = wire_cursor_len(&c, WIRE_ARRAY, &n);
    }
    if (err == MESH_OK && n > WIRE_COMPACT_DOTS_MAX) {
        err = MESH_ETOOBIG;
    }
    for (size_t i = 0; err == MESH_OK && i < n; i++) {
        err = wire_cursor_array_of(&c, 2);
        if (err == MESH_OK && wire_cursor_nil(&c)) {
            err = sender ? MESH_OK : MESH_EPROTO; /* the sender's key: known from the session */
            if (sender) {
                memcpy(t->dots[i].origin, sender, WIRE_ORIGIN_LEN);
            }
        } else if (err == MESH_OK) {
            err = wire_cursor_fixed_bin(&c, WIRE_ORIGIN_LEN, t->dots[i].origin);
        }
        if (err == MESH_OK) {
            err = wire_cursor_uint(&c, &t->dots[i].inc);
        }
        t->n = i + 1;
    }
    if (err == MESH_OK) {
        err = wire_cursor_len(&c, WIRE_ARRAY, &nsec);
    }
    if (err == MESH_OK && nsec > wire_cursor_left(&c) / 4) {
        err = MESH_EPROTO; /* (a section is 4 bytes at least) */
    }
    /* The first section is always _mesh: an empty one was left out when it is not there. */
    bool lead = err == MESH_OK && !(nsec && wire_cursor_left(&c) >= 7 && c.p[0] == 0x93 &&
                                    c.p[1] == 0xa5 && memcmp(c.p + 2, S_MESH, 5) == 0);
    if (err == MESH_OK) {
        err = wire_bundle_begin(nsec + lead, out);
    }
    if (err == MESH_OK && lead) {
        err = wire_section_begin(S_MESH, 0, out);
        if (err == MESH_OK) {
            err = wire_section_marks(NULL, 0, out);
        }
    }
    for (size_t i = 0; err == MESH_OK && i < nsec; i++) {
        bool mesh = false;
        err = s_expand_section(&c, t, w, out, &mesh);
        if (err == MESH_OK && mesh && (i > 0 || lead)) {
            err = MESH_EPROTO; /* _mesh comes first, once */
        }
    }
    if (err == MESH_OK && c.p != c.end) {
        err = MESH_EPROTO;
    }
    if (err == MESH_OK && out->failed) {
        err = MESH_ENOMEM;
    }
    if (err != MESH_OK) {
        out->len = start;
    }
    if (w) {
        wire_buf_release(&w->metas);
        wire_buf_release(&w->header);
        wire_buf_release(&w->set);
        free(w->meta_off);
        free(w->ops);
        free(w->leaves);
    }
    free(w);
    free(t);
    return err;
}
