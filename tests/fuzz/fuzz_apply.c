/* tests/fuzz/fuzz_apply.c: libFuzzer harness for verification and apply against a real store
 * (docs/PROTOCOL.md §3.4, §5, §8, §9). Each run starts from the same stores in a temporary
 * directory (tests/fuzz/rig.h: opened once, put back to a template before each run): a target
 * T and three writers, W1 and W2 (members of T's mesh) and S (a stranger until a member adds
 * it), each with the key pair of a fixed seed, so the same input means the same thing on
 * every run. The input is a script of commands: a writer commits writes, a
 * writer imports another's bundle (so contexts span devices), a member adds another, a bundle
 * is queued for T (honest: a writer's export, whole or since T's vector, or one of its sets
 * alone, perhaps before the sets its context names; forged: a set re-
 * signed by a writer's key after the input changed a context, key, kind, value, seq,
 * collection or incarnation, or with a watermark the input chose (a node's current incarnation, a
 * seq up to 15 or 2^64-1); raw: the input's bytes as
 * a bundle or as one set; mutated: an export with one byte changed), and the queue is
 * committed the daemon's way (import_check, then import_many, all at once) or bundle by
 * bundle (mesh_import), or a set applied alone (apply_batch).
 * What must hold: no store error from any input (only a refusal: MESH_EPROTO, MESH_ETOOBIG);
 * an honest bundle is taken whole (nothing rejected) while nothing forged came before it; after
 * every commit T's store is sound (tests/fuzz/rig.h: the digests equal a recount, every key reads);
 * and when the run forged nothing, T and W1 end with the same collections and digests once each has
 * every other's export. Built by `make fuzz` (clang, libFuzzer) and, with tests/fuzz/replay.c, by
 * gcc for `make test`, with tests/fuzz/check.c and tests/fuzz/rig.c. Layer: tests. Third-party:
 * none. SPDX-License-Identifier: MIT */
#include "check.h"
#include "rig.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/apply/apply.h"
#include "core/base/node.h"
#include "core/bundle/import.h"
#include "core/wire/buf.h"
#include "core/wire/doc.h"
#include "core/wire/set.h"
#include "crypto/hash.h"
#include "crypto/ident.h"
#include "store/store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define S_CMDS_MAX    48 /* commands per run */
#define S_PENDING_MAX 4  /* bundles queued for T before a commit */

enum { S_T, S_W1, S_W2, S_S, S_NODES };

typedef struct s_run {
    rig_node_t *n; /* S_NODES of them */
    uint8_t *pending[S_PENDING_MAX];
    size_t pending_len[S_PENDING_MAX];
    bool pending_honest[S_PENDING_MAX];
    size_t npending;
    bool forged; /* anything but honest exports reached T */
} s_run_t;

/* T, W1 and W2 add each other; S is nobody's. */
static void
s_setup(rig_node_t *n)
{
    for (int i = S_T; i <= S_W2; i++) {
        for (int j = S_T; j <= S_W2; j++) {
            if (i != j) {
                rig_add(&n[i], &n[j]);
            }
        }
    }
}

static void
s_open(s_run_t *r)
{
    static const char *const names[S_NODES] = {"t", "w1", "w2", "s"};
    static const uint8_t seeds[S_NODES] = {1, 2, 3, 4};
    static rig_node_t nodes[S_NODES]; /* kept for the process (rig_nodes_begin) */
    memset(r, 0, sizeof *r);
    rig_nodes_begin(nodes, S_NODES, names, seeds, s_setup);
    r->n = nodes;
}

static void
s_close(s_run_t *r)
{
    for (size_t i = 0; i < r->npending; i++) {
        free(r->pending[i]);
    }
}

/* ---- what reaches T ---- */

/* Is err what T may answer to bytes it refuses? */
static bool
s_is_refusal(mesh_err_t err)
{
    return err == MESH_OK || err == MESH_EPROTO || err == MESH_ETOOBIG;
}

/* Commit the queue into T: the daemon's way (every bundle checked ahead, then applied in
 * one import_many) or each alone by mesh_import. */
static void
s_commit(s_run_t *r, bool one_by_one)
{
    mesh_import_report_t rep = {.size = sizeof rep};
    bool honest = true;
    if (r->npending == 0) {
        return;
    }
    for (size_t i = 0; i < r->npending; i++) {
        honest &= r->pending_honest[i];
    }
    if (one_by_one) {
        for (size_t i = 0; i < r->npending; i++) {
            memset(&rep, 0, sizeof rep);
            rep.size = sizeof rep;
            mesh_err_t err = mesh_import(r->n[S_T].m, r->pending[i], r->pending_len[i], &rep);
            CHECK(s_is_refusal(err));
            CHECK(!r->pending_honest[i] || r->forged || (err == MESH_OK && rep.sets_rejected == 0));
            mesh_free(rep.text);
        }
    } else {
        import_checked_t *checked[S_PENDING_MAX] = {0};
        const uint8_t *bundles[S_PENDING_MAX];
        for (size_t i = 0; i < r->npending; i++) {
            mesh_err_t err = import_check(r->pending[i], r->pending_len[i], &checked[i]);
            CHECK(s_is_refusal(err) && (err == MESH_OK) == (checked[i] != NULL));
            bundles[i] = r->pending[i];
        }
        mesh_err_t err = import_many(r->n[S_T].m, bundles, r->pending_len,
                                     (const import_checked_t *const *)checked, r->npending, &rep);
        CHECK(s_is_refusal(err));
        CHECK(!honest || r->forged || (err == MESH_OK && rep.sets_rejected == 0));
        if (err == MESH_OK) {
            mesh_free(rep.text);
        }
        for (size_t i = 0; i < r->npending; i++) {
            import_checked_free(checked[i]);
        }
    }
    for (size_t i = 0; i < r->npending; i++) {
        free(r->pending[i]);
    }
    r->npending = 0;
    rig_check_store(r->n[S_T].m);
}

/* Queue p (len bytes, taken over) for T; a full queue is committed first. */
static void
s_queue(s_run_t *r, uint8_t *p, size_t len, bool honest)
{
    if (r->npending == S_PENDING_MAX) {
        s_commit(r, false);
    }
    r->pending[r->npending] = p;
    r->pending_len[r->npending] = len;
    r->pending_honest[r->npending++] = honest;
    r->forged |= !honest;
}

/* A writer's export (whole, or since T's vector) as a malloc'd copy. */
static uint8_t *
s_export(s_run_t *r, int w, bool since_t, size_t *len)
{
    void *b = NULL, *vec = NULL;
    size_t vec_len = 0;
    if (since_t) {
        CHECK(mesh_vector(r->n[S_T].m, NULL, 0, &vec, &vec_len) == MESH_OK);
    }
    CHECK(mesh_export(r->n[w].m, NULL, 0, vec, vec_len, &b, len) == MESH_OK);
    mesh_free(vec);
    uint8_t *copy = malloc(*len ? *len : 1);
    CHECK(copy != NULL);
    memcpy(copy, b, *len);
    mesh_free(b);
    return copy;
}

/* ---- forging ---- */

/* Is sec a section s_pick_set may pick from: a user collection, or any with all set? */
static bool
s_pickable(const wire_section_t *sec, bool all)
{
    return all || sec->coll[0] != '_';
}

/* A full set of bundle (len bytes) copied into *set (malloc'd), its section's collection
 * into coll (MESH_COLL_MAX + 1 bytes): the pick-th modulo their count (of the user
 * collections' sets, or with pick's high bit of all, _mesh's too), or the first full one
 * after it; false when there is none. */
static bool
s_pick_set(const uint8_t *bundle, size_t len, uint8_t pick, uint8_t **set, size_t *set_len,
           char *coll)
{
    wire_doc_t doc;
    size_t total = 0;
    bool found = false, all = pick & 0x80;
    CHECK(wire_doc_decode(bundle, len, false, &doc) == MESH_OK);
    for (size_t i = 0; i < doc.count; i++) {
        total += s_pickable(&doc.sections[i], all) ? doc.sections[i].set_count : 0;
    }
    for (size_t k = 0, want = total ? (pick & 0x7f) % total : 0; k < total && !found; k++) {
        size_t idx = (want + k) % total;
        for (size_t i = 0; i < doc.count; i++) {
            const wire_section_t *sec = &doc.sections[i];
            if (!s_pickable(sec, all)) {
                continue;
            }
            if (idx >= sec->set_count) {
                idx -= sec->set_count;
                continue;
            }
            wire_set_t s;
            if (wire_set_decode(sec->sets[idx], sec->set_lens[idx], &s) == MESH_OK) {
                found = !s.partial;
                wire_set_release(&s);
            }
            if (found) {
                snprintf(coll, MESH_COLL_MAX + 1, "%s", sec->coll);
                *set_len = sec->set_lens[idx];
                *set = malloc(*set_len);
                CHECK(*set != NULL);
                memcpy(*set, sec->sets[idx], *set_len);
            }
            break;
        }
    }
    wire_doc_release(&doc);
    return found;
}

/* Change one field of set (a full set, as decoded) as the input says, then recompute its
 * leaves and root and sign the header with signer's key: a set that verifies, saying what
 * its signer never wrote. The result (a bundle of one section, and that set) goes to out
 * and set_out. False when the change cannot be encoded. */
static bool
s_forge(const uint8_t *bytes, size_t len, rig_in_t *in, const ident_t *signer, wire_buf_t *out,
        wire_buf_t *set_out)
{
    static const uint8_t forged_value[] = "forged";
    wire_set_t set;
    wire_header_t h;
    wire_buf_t metas, header;
    wire_opmeta_t meta;
    bool ok = false;
    CHECK(wire_set_decode(bytes, len, &set) == MESH_OK);
    CHECK(wire_header_decode(set.header, set.header_len, &h) == MESH_OK);
    wire_buf_init(&metas);
    wire_buf_init(&header);
    size_t n = set.op_count, which = rig_u8(in) % n;
    uint8_t what = rig_u8(in);
    uint64_t num = rig_num(in, 2);
    size_t *offs = calloc(n + 1, sizeof *offs);
    wire_op_t *ops = calloc(n, sizeof *ops);
    uint8_t(*leaves)[HASH_LEN] = calloc(n, sizeof *leaves);
    wire_dot_t *ctx = calloc(WIRE_CTX_MAX + 1, sizeof *ctx);
    char coll[MESH_COLL_MAX + 1];
    uint8_t key[2];
    CHECK(offs && ops && leaves && ctx);
    memcpy(coll, h.coll, h.coll_len);
    coll[h.coll_len] = '\0';

    for (size_t i = 0; i < n; i++) {
        ops[i] = set.ops[i];
        CHECK(wire_opmeta_decode(set.ops[i].meta, set.ops[i].meta_len, &meta) == MESH_OK);
        size_t nctx = meta.ctx_count;
        for (size_t j = 0; j < nctx; j++) {
            wire_ctx_get(&meta, j, &ctx[j]);
        }
        if (i == which) {
            switch (what % 8) {
            case 0: /* a context that claims dots never signed (PROTOCOL §5) */
                if (nctx > 0) {
                    ctx[num % nctx].seq = what & 0x80 ? UINT64_MAX : ctx[num % nctx].seq + num;
                } else {
                    memcpy(ctx[0].origin, h.origin, WIRE_ORIGIN_LEN);
                    ctx[0].incarnation = h.incarnation;
                    ctx[0].seq = what & 0x80 ? UINT64_MAX : num;
                    nctx = 1;
                }
                break;
            case 1: /* another key */
                key[0] = (uint8_t)('a' + (num & 7));
                key[1] = (uint8_t)(num >> 3);
                meta.key = key;
                meta.key_len = num & 0x100 ? 2 : 1;
                break;
            case 2: /* a put becomes a delete, a delete a put */
                if (meta.kind == WIRE_PUT) {
                    meta.kind = WIRE_DEL;
                    memset(meta.vhash, 0, sizeof meta.vhash);
                    meta.value_len = 0;
                    ops[i].value = NULL;
                    ops[i].value_len = 0;
                    break;
                }
                /* fall through */
            case 3: /* another value, its hash recomputed */
                meta.kind = WIRE_PUT;
                ops[i].value = forged_value;
                ops[i].value_len = num % sizeof forged_value;
                meta.value_len = (uint32_t)ops[i].value_len;
                hash_tagged(HASH_TAG_VALUE, forged_value, ops[i].value_len, meta.vhash);
                break;
            case 4: /* the op's seq */
                meta.seq = what & 0x80 ? num : meta.seq + 1;
                break;
            case 5: /* the header's first seq (a gap, or overlapping what came before) */
                h.first_seq = what & 0x80 ? num : h.first_seq + (num & 3);
                break;
            case 6: /* the incarnation (a rolled back store?) */
                h.incarnation = what & 0x80 ? num : h.incarnation + 1;
                break;
            default: /* another collection, the reserved ones included */
                snprintf(coll, sizeof coll, "%s", num & 1 ? "_mesh" : rig_colls[num % RIG_COLLS]);
                h.coll = coll;
                h.coll_len = strlen(coll);
                break;
            }
        }
        /* sorted, no duplicates, as the encoder requires: drop what a change disordered */
        size_t keep = 0;
        for (size_t j = 0; j < nctx; j++) {
            int c = keep ? memcmp(ctx[keep - 1].origin, ctx[j].origin, WIRE_ORIGIN_LEN) : -1;
            if (c < 0 || (c == 0 && ctx[keep - 1].incarnation < ctx[j].incarnation)) {
                ctx[keep++] = ctx[j];
            }
        }
        offs[i] = metas.len;
        if (wire_opmeta_encode(&meta, ctx, keep, &metas) != MESH_OK) {
            goto out;
        }
    }
    offs[n] = metas.len;
    for (size_t i = 0; i < n; i++) {
        ops[i].meta = metas.data + offs[i];
        ops[i].meta_len = offs[i + 1] - offs[i];
        hash_tagged(HASH_TAG_LEAF, ops[i].meta, ops[i].meta_len, leaves[i]);
    }
    hash_merkle_root((const uint8_t(*)[HASH_LEN])leaves, n, h.root);
    uint8_t sig[WIRE_SIG_LEN];
    if (wire_header_encode(&h, &header) != MESH_OK) {
        goto out;
    }
    ident_sign(signer, header.data, header.len, sig);
    if (wire_set_encode(header.data, header.len, sig, ops, n, set_out) != MESH_OK) {
        goto out;
    }
    ok = wire_bundle_begin(1, out) == MESH_OK && wire_section_begin(coll, 1, out) == MESH_OK &&
         wire_section_set(set_out->data, set_out->len, out) == MESH_OK;
out:
    free(ctx);
    free(leaves);
    free(ops);
    free(offs);
    wire_buf_release(&header);
    wire_buf_release(&metas);
    wire_set_release(&set);
    return ok;
}

/* A forged set from writer w's export (or from T's own, to play a rolled-back T), signed by
 * the key the input picks, queued for T, or applied alone with apply_batch. */
static void
s_cmd_forge(s_run_t *r, rig_in_t *in)
{
    uint8_t b = rig_u8(in);
    int from = b % S_NODES, signer = b >> 2 & 3;
    size_t len = 0, set_len = 0;
    uint8_t *bundle = s_export(r, from, false, &len), *set = NULL;
    char coll[MESH_COLL_MAX + 1];
    wire_buf_t out, one;
    wire_buf_init(&out);
    wire_buf_init(&one);
    r->forged = true;
    if (s_pick_set(bundle, len, rig_u8(in), &set, &set_len, coll) &&
        s_forge(set, set_len, in, r->n[signer].m->ident, &out, &one)) {
        uint8_t m = rig_u8(in);
        const rig_node_t *o = &r->n[m >> 4 & 3]; /* a watermark for o's current incarnation */
        wire_mark_t mark = {.incarnation = store_incarnation(o->m->store),
                            .seq = m & 0x80 ? UINT64_MAX : m & 15};
        memcpy(mark.origin, o->pk, WIRE_ORIGIN_LEN);
        CHECK(wire_section_marks(&mark, m & 0x40 ? 1 : 0, &out) == MESH_OK);
        if (b & 0x40) {
            const uint8_t *sets[1] = {one.data};
            apply_result_t res;
            CHECK(apply_batch(r->n[S_T].m, sets, &one.len, 1, NULL, &res) == MESH_OK);
            rig_check_store(r->n[S_T].m);
        } else {
            uint8_t *copy = malloc(out.len);
            CHECK(copy != NULL);
            memcpy(copy, out.data, out.len);
            s_queue(r, copy, out.len, false);
        }
    }
    free(set);
    free(bundle);
    wire_buf_release(&one);
    wire_buf_release(&out);
}

/* One set of writer w's export, unchanged, alone in a bundle (no watermark), queued for T as
 * honest: it may come before the sets its context names (a relay's order, or a peer that
 * sends what it has in any order), and T must still end where the exports take it. */
static void
s_cmd_alone(s_run_t *r, int w, rig_in_t *in)
{
    size_t len = 0, set_len = 0;
    uint8_t *bundle = s_export(r, w, false, &len), *set = NULL;
    char coll[MESH_COLL_MAX + 1];
    wire_buf_t out;
    wire_buf_init(&out);
    if (s_pick_set(bundle, len, rig_u8(in), &set, &set_len, coll)) {
        CHECK(wire_bundle_begin(1, &out) == MESH_OK &&
              wire_section_begin(coll, 1, &out) == MESH_OK &&
              wire_section_set(set, set_len, &out) == MESH_OK &&
              wire_section_marks(NULL, 0, &out) == MESH_OK);
        uint8_t *copy = malloc(out.len);
        CHECK(copy != NULL);
        memcpy(copy, out.data, out.len);
        s_queue(r, copy, out.len, true);
    }
    free(set);
    free(bundle);
    wire_buf_release(&out);
}

/* The input's next bytes (a 2-byte length, then that many) as a bundle for T, or as one set
 * applied alone. */
static void
s_cmd_raw(s_run_t *r, rig_in_t *in)
{
    uint8_t b = rig_u8(in);
    size_t want = (size_t)rig_num(in, 2), got = 0;
    const uint8_t *p = rig_bytes(in, want, &got);
    r->forged = true;
    if (b & 1) {
        uint8_t *exact = malloc(got ? got : 1);
        CHECK(exact != NULL);
        memcpy(exact, p, got);
        const uint8_t *sets[1] = {exact};
        apply_result_t res;
        CHECK(apply_batch(r->n[S_T].m, sets, &got, 1, NULL, &res) == MESH_OK);
        CHECK(res.outcome == APPLY_REJECTED || res.err == MESH_OK);
        free(exact);
        rig_check_store(r->n[S_T].m);
        return;
    }
    uint8_t *copy = malloc(got ? got : 1);
    CHECK(copy != NULL);
    memcpy(copy, p, got);
    s_queue(r, copy, got, false);
}

/* ---- the end of a run ---- */

/* When nothing forged reached T: T and W1 take every other node's export (S's last, once
 * any add record naming it is in), and must then hold the same. */
static void
s_converge(s_run_t *r)
{
    static const int into_t[] = {S_W1, S_W2, S_S}, into_w1[] = {S_T, S_W2, S_S};
    for (size_t i = 0; i < 3; i++) {
        void *b = NULL;
        size_t len = 0;
        rig_export(&r->n[into_t[i]], &b, &len);
        rig_import_honest(&r->n[S_T], b, len);
        mesh_free(b);
        rig_export(&r->n[into_w1[i]], &b, &len);
        rig_import_honest(&r->n[S_W1], b, len);
        mesh_free(b);
    }
    rig_check_store(r->n[S_W1].m);
    rig_check_same(r->n[S_T].m, r->n[S_W1].m);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    rig_in_t in = {data, size};
    s_run_t r;
    s_open(&r);
    for (int c = 0; c < S_CMDS_MAX && in.len > 0; c++) {
        uint8_t op = rig_u8(&in);
        int w = op >> 4 & 3; /* a node: T, W1, W2, S */
        switch (op % 8) {
        case 0: /* a node writes */
            rig_write(&r.n[w], &in);
            break;
        case 1: /* one set of a node's export alone, honest, queued for T */
            s_cmd_alone(&r, w, &in);
            break;
        case 2: { /* a writer takes another's export: its next contexts cover those dots */
            void *b = NULL;
            size_t len = 0;
            int from = op >> 6;
            if (from != w) {
                rig_export(&r.n[from], &b, &len);
                mesh_import_report_t rep = {.size = sizeof rep};
                CHECK(mesh_import(r.n[w].m, b, len, &rep) == MESH_OK);
                mesh_free(rep.text);
                mesh_free(b);
            }
            break;
        }
        case 3: { /* an honest export of a writer, whole or since T's vector, queued for T */
            size_t len = 0;
            uint8_t *b = s_export(&r, w == S_T ? S_W1 : w, op & 0x40, &len);
            s_queue(&r, b, len, true);
            break;
        }
        case 4: /* a member adds another (S too: its held sets are then released) */
            if (w != S_S) {
                int who = (op >> 6) % S_NODES;
                if (who != w) {
                    rig_add(&r.n[w], &r.n[who]);
                }
            }
            break;
        case 5:
            s_cmd_forge(&r, &in);
            break;
        case 6:
            s_cmd_raw(&r, &in);
            break;
        default: /* commit the queue, or mutate one byte of an export and queue it */
            if (op & 0x80) {
                size_t len = 0;
                uint8_t *b = s_export(&r, w, false, &len);
                size_t at = (size_t)rig_num(&in, 2);
                b[at % len] ^= rig_u8(&in) | 1;
                s_queue(&r, b, len, false);
            } else {
                s_commit(&r, op & 0x40);
            }
            break;
        }
    }
    s_commit(&r, false);
    if (!r.forged) {
        s_converge(&r);
    }
    s_close(&r);
    return 0;
}
