/* tests/unit/test_bundle_wire.c: unit tests of the bundle and vector-file encoding of core/wire/doc.c
 * (docs/PROTOCOL.md §3.5, §3.6) and of what mesh_export, mesh_import and mesh_vector put in it
 * (§9). Checks the encoders' bytes against a reference layout built here byte by byte, round
 * trips through wire_doc_decode, the strict decoder's rejections (wrong tag or kind, trailing
 * bytes, every truncation, bad extras, counts beyond the bytes present, non-shortest forms), also
 * flush against a PROT_NONE page, and export/import/vector between nodes through the public API.
 * Layer: tests. Third-party: cmocka. SPDX-License-Identifier: MIT */
#include "core/wire/buf.h"
#include "core/wire/doc.h"
#include "core/wire/set.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/data/vector.h"
#include "crypto/devid.h"
#include "meshsync.h"
#include "util.h"

#define S_BUNDLE_TAG_LEN 17u /* strlen(WIRE_BUNDLE_TAG) */
#define S_VECTOR_TAG_LEN 17u /* strlen(WIRE_VECTOR_TAG) */
#define S_DOCS_MAX       16u /* valid documents in the catalogue */
#define S_SAMPLE_SETS    5u  /* sample sets */
#define S_SAMPLE_MARKS   17u /* sample watermarks: more than a fixarray holds */
#define S_SAMPLE_VVS     17u /* sample vector entries */
#define S_EXTRAS_MAX     17u /* extras of one sample vector entry */

/* ---- sample sets, watermarks and vector entries ---- */

/* An encoded set and what it holds. */
typedef struct s_set {
    wire_buf_t buf;
    bool partial;
    size_t op_count;
} s_set_t;

/* A set of n ops from first_seq out of a header of count ops in coll: full (n == count, every
 * op) or partial (ops first_seq, first_seq + 2, ... each with a proof of proof_count hashes).
 * Op i is a delete when i % 3 == 1, else a put of (i * 150) bytes. The signature and hashes
 * are filler: decoding a document checks neither. */
static void
s_set_build(s_set_t *s, const char *coll, uint64_t first_seq, uint32_t count, size_t n,
            bool partial, size_t proof_count)
{
    static uint8_t value[1024];
    uint8_t sig[WIRE_SIG_LEN], key[8], proofs[4][WIRE_PROOF_MAX * WIRE_HASH_LEN];
    wire_buf_t hdr, metas[4];
    wire_header_t h;
    wire_opmeta_t meta;
    wire_op_t ops[4];

    assert_true(n >= 1 && n <= 4 && (partial || n == count));
    util_fill(value, sizeof(value), 0x55);
    util_fill(sig, sizeof(sig), 0x44);
    memset(&h, 0, sizeof(h));
    h.coll = coll;
    h.coll_len = strlen(coll);
    util_fill(h.origin, WIRE_ORIGIN_LEN, 0x11);
    h.incarnation = 1;
    h.first_seq = first_seq;
    h.count = count;
    h.hlc = (1700000000000ull << 16) | 3;
    util_fill(h.root, WIRE_HASH_LEN, 0x22);
    wire_buf_init(&hdr);
    assert_int_equal(wire_header_encode(&h, &hdr), MESH_OK);
    memset(ops, 0, sizeof(ops));
    for (size_t i = 0; i < n; i++) {
        bool del = i % 3 == 1;

        memset(&meta, 0, sizeof(meta));
        meta.seq = first_seq + (partial ? 2 * i : i);
        util_fill(key, sizeof(key), (uint8_t)i);
        meta.key = key;
        meta.key_len = 1 + i;
        meta.kind = del ? WIRE_DEL : WIRE_PUT;
        util_fill(meta.vhash, WIRE_HASH_LEN, (uint8_t)(0x60 + i));
        meta.value_len = del ? 0 : (uint32_t)(i * 150);
        wire_buf_init(&metas[i]);
        assert_int_equal(wire_opmeta_encode(&meta, NULL, 0, &metas[i]), MESH_OK);
        ops[i].meta = metas[i].data;
        ops[i].meta_len = metas[i].len;
        ops[i].value = del ? NULL : value;
        ops[i].value_len = del ? 0 : i * 150;
        util_fill(proofs[i], sizeof(proofs[i]), (uint8_t)(0x70 + i));
        ops[i].proof = partial ? proofs[i] : NULL;
        ops[i].proof_count = partial ? proof_count : 0;
    }
    wire_buf_init(&s->buf);
    if (partial) {
        assert_int_equal(wire_set_encode_partial(hdr.data, hdr.len, sig, ops, n, &s->buf), MESH_OK);
    } else {
        assert_int_equal(wire_set_encode(hdr.data, hdr.len, sig, ops, n, &s->buf), MESH_OK);
    }
    s->partial = partial;
    s->op_count = n;
    for (size_t i = 0; i < n; i++) {
        wire_buf_release(&metas[i]);
    }
    wire_buf_release(&hdr);
}

/* One section of a bundle or a vector file, as the tests describe it. */
typedef struct s_sec {
    const char *coll;
    const s_set_t *const *sets; /* bundle */
    size_t set_count;
    const wire_mark_t *marks; /* bundle */
    size_t mark_count;
    const wire_vv_t *vvs; /* vector */
    const uint64_t *const *extras;
    size_t vv_count;
} s_sec_t;

/* Samples shared by the tests, built by the group setup. */
static struct {
    s_set_t sets[S_SAMPLE_SETS];
    const s_set_t *set17[17]; /* the first set, 17 times: more than a fixarray holds */
    wire_mark_t marks[S_SAMPLE_MARKS];
    wire_vv_t vvs[S_SAMPLE_VVS];
    uint64_t extras[S_SAMPLE_VVS][S_EXTRAS_MAX];
    const uint64_t *extra_ptrs[S_SAMPLE_VVS];
    char coll200[MESH_COLL_MAX + 1];
    char coll31[32];
    char coll32[33];
    char coll16[16][8];
} s_sample;

static void
s_samples_build(void)
{
    static const uint64_t ints[] = {
        0, 1, 127, 128, 255, 256, 65535, 65536, UINT32_MAX, 1ull << 32, UINT64_MAX - 1, UINT64_MAX};
    const size_t nints = sizeof(ints) / sizeof(ints[0]);

    memset(&s_sample, 0, sizeof(s_sample));
    s_set_build(&s_sample.sets[0], "notes", 1, 1, 1, false, 0);  /* one put */
    s_set_build(&s_sample.sets[1], "notes", 2, 3, 3, false, 0);  /* put, del, put (150 B) */
    s_set_build(&s_sample.sets[2], "notes", 5, 5, 2, true, 3);   /* 2 of 5, with proofs */
    s_set_build(&s_sample.sets[3], "notes", 10, 1, 1, true, 0);  /* a partial one-op set */
    s_set_build(&s_sample.sets[4], "notes", 11, 4, 4, false, 0); /* over 255 bytes */
    for (size_t i = 0; i < 17; i++) {
        s_sample.set17[i] = &s_sample.sets[0];
    }
    /* Watermarks whose integers take every width, both ends of each. */
    for (size_t i = 0; i < S_SAMPLE_MARKS; i++) {
        util_fill(s_sample.marks[i].origin, WIRE_ORIGIN_LEN, (uint8_t)(0x30 + i));
        s_sample.marks[i].incarnation = ints[i % nints];
        s_sample.marks[i].seq = ints[(i + 3) % nints];
    }
    /* Vector entries: entry i has i % 5 extras, except entry 3 with 17; bases of every width. */
    for (size_t i = 0; i < S_SAMPLE_VVS; i++) {
        wire_vv_t *v = &s_sample.vvs[i];
        size_t n = i == 3 ? S_EXTRAS_MAX : i % 5;

        util_fill(v->origin, WIRE_ORIGIN_LEN, (uint8_t)(0x90 + i));
        v->incarnation = ints[(i + 5) % nints];
        v->base = i == 4 ? UINT64_MAX - 4 : ints[i % (nints - 2)];
        v->extra_count = n;
        for (size_t j = 0; j < n; j++) {
            /* ascending, above the base; the last one of entry 4 is UINT64_MAX */
            s_sample.extras[i][j] = i == 4 ? v->base + 1 + j : v->base + 2 + 3 * j + j * j * 1000;
        }
        s_sample.extra_ptrs[i] = s_sample.extras[i];
    }
    memset(s_sample.coll200, 'c', MESH_COLL_MAX);
    memset(s_sample.coll31, 'd', 31);
    memset(s_sample.coll32, 'e', 32);
    for (size_t i = 0; i < 16; i++) {
        snprintf(s_sample.coll16[i], sizeof(s_sample.coll16[i]), "c%02zu", i);
    }
}

static void
s_samples_release(void)
{
    for (size_t i = 0; i < S_SAMPLE_SETS; i++) {
        wire_buf_release(&s_sample.sets[i].buf);
    }
}

/* ---- encoding documents: through the library's encoders, and by the reference ---- */

static void
s_encode(const s_sec_t *secs, size_t n, bool is_vector, wire_buf_t *out)
{
    if (is_vector) {
        assert_int_equal(wire_vector_begin(n, out), MESH_OK);
    } else {
        assert_int_equal(wire_bundle_begin(n, out), MESH_OK);
    }
    for (size_t i = 0; i < n; i++) {
        const s_sec_t *s = &secs[i];

        if (is_vector) {
            assert_int_equal(wire_vector_section(s->coll, s->vvs, s->extras, s->vv_count, out),
                             MESH_OK);
            continue;
        }
        assert_int_equal(wire_section_begin(s->coll, s->set_count, out), MESH_OK);
        for (size_t j = 0; j < s->set_count; j++) {
            assert_int_equal(wire_section_set(s->sets[j]->buf.data, s->sets[j]->buf.len, out),
                             MESH_OK);
        }
        assert_int_equal(wire_section_marks(s->marks, s->mark_count, out), MESH_OK);
    }
}

static void
s_ref(const s_sec_t *secs, size_t n, bool is_vector, util_bytes_t *bb)
{
    util_array(bb, 2);
    if (is_vector) {
        util_str(bb, WIRE_VECTOR_TAG, S_VECTOR_TAG_LEN);
    } else {
        util_str(bb, WIRE_BUNDLE_TAG, S_BUNDLE_TAG_LEN);
    }
    util_array(bb, n);
    for (size_t i = 0; i < n; i++) {
        const s_sec_t *s = &secs[i];

        util_array(bb, is_vector ? 2 : 3);
        util_str(bb, s->coll, strlen(s->coll));
        if (is_vector) {
            util_array(bb, s->vv_count);
            for (size_t j = 0; j < s->vv_count; j++) {
                util_array(bb, 4);
                util_bin(bb, s->vvs[j].origin, WIRE_ORIGIN_LEN);
                util_uint(bb, s->vvs[j].incarnation);
                util_uint(bb, s->vvs[j].base);
                util_array(bb, s->vvs[j].extra_count);
                for (size_t k = 0; k < s->vvs[j].extra_count; k++) {
                    util_fixu64(bb, s->extras[j][k]);
                }
            }
            continue;
        }
        util_array(bb, s->set_count);
        for (size_t j = 0; j < s->set_count; j++) {
            util_bin(bb, s->sets[j]->buf.data, s->sets[j]->buf.len);
        }
        util_array(bb, s->mark_count);
        for (size_t j = 0; j < s->mark_count; j++) {
            util_array(bb, 3);
            util_bin(bb, s->marks[j].origin, WIRE_ORIGIN_LEN);
            util_uint(bb, s->marks[j].incarnation);
            util_uint(bb, s->marks[j].seq);
        }
    }
}

/* ---- checks ---- */

static bool
s_is_zero(const void *p, size_t n)
{
    const uint8_t *b = p;

    for (size_t i = 0; i < n; i++) {
        if (b[i] != 0) {
            return false;
        }
    }
    return true;
}

/* Is p[0..n) inside buf[0..len)? */
static bool
s_is_within(const void *p, size_t n, const uint8_t *buf, size_t len)
{
    const uint8_t *q = p;

    return q != NULL && q >= buf && (size_t)(q - buf) <= len && n <= len - (size_t)(q - buf);
}

/* Decode and return the code; on error the document must come back zeroed. */
static mesh_err_t
s_doc_code(const uint8_t *buf, size_t len, bool is_vector)
{
    wire_doc_t doc;
    mesh_err_t err;

    memset(&doc, 0xa5, sizeof(doc));
    err = wire_doc_decode(buf, len, is_vector, &doc);
    if (err != MESH_OK) {
        assert_true(s_is_zero(&doc, sizeof(doc)));
    }
    wire_doc_release(&doc);
    assert_true(s_is_zero(&doc, sizeof(doc)));
    return err;
}

/* Decode buf[0..len) and compare every field with secs; each set also decodes as a set. */
static void
s_check_decoded(const s_sec_t *secs, size_t n, bool is_vector, const uint8_t *buf, size_t len)
{
    wire_doc_t doc;

    memset(&doc, 0xa5, sizeof(doc));
    assert_int_equal(wire_doc_decode(buf, len, is_vector, &doc), MESH_OK);
    assert_int_equal(doc.count, n);
    assert_true(n > 0 || doc.sections == NULL);
    for (size_t i = 0; i < n; i++) {
        const wire_section_t *d = &doc.sections[i];
        const s_sec_t *s = &secs[i];

        assert_int_equal(d->coll_len, strlen(s->coll));
        assert_memory_equal(d->coll, s->coll, d->coll_len);
        assert_true(s_is_within(d->coll, d->coll_len, buf, len));
        if (is_vector) {
            assert_int_equal(d->set_count, 0);
            assert_null(d->sets);
            assert_null(d->set_lens);
            assert_int_equal(d->mark_count, 0);
            assert_null(d->marks);
            assert_int_equal(d->vv_count, s->vv_count);
            assert_true(s->vv_count > 0 || d->vvs == NULL);
            for (size_t j = 0; j < s->vv_count; j++) {
                const wire_vv_t *v = &d->vvs[j];

                assert_memory_equal(v->origin, s->vvs[j].origin, WIRE_ORIGIN_LEN);
                assert_true(v->incarnation == s->vvs[j].incarnation);
                assert_true(v->base == s->vvs[j].base);
                assert_int_equal(v->extra_count, s->vvs[j].extra_count);
                assert_true(s_is_within(v->extra, 9 * v->extra_count, buf, len));
                for (size_t k = 0; k < v->extra_count; k++) {
                    assert_true(wire_vv_extra(v, k) == s->extras[j][k]);
                }
            }
            continue;
        }
        assert_int_equal(d->vv_count, 0);
        assert_null(d->vvs);
        assert_int_equal(d->set_count, s->set_count);
        for (size_t j = 0; j < s->set_count; j++) {
            const s_set_t *want = s->sets[j];
            wire_set_t set;

            assert_int_equal(d->set_lens[j], want->buf.len);
            assert_memory_equal(d->sets[j], want->buf.data, want->buf.len);
            assert_true(s_is_within(d->sets[j], d->set_lens[j], buf, len));
            assert_int_equal(wire_set_decode(d->sets[j], d->set_lens[j], &set), MESH_OK);
            assert_int_equal(set.partial, want->partial);
            assert_int_equal(set.op_count, want->op_count);
            wire_set_release(&set);
        }
        assert_int_equal(d->mark_count, s->mark_count);
        for (size_t j = 0; j < s->mark_count; j++) {
            assert_memory_equal(d->marks[j].origin, s->marks[j].origin, WIRE_ORIGIN_LEN);
            assert_true(d->marks[j].incarnation == s->marks[j].incarnation);
            assert_true(d->marks[j].seq == s->marks[j].seq);
        }
    }
    wire_doc_release(&doc);
    assert_true(s_is_zero(&doc, sizeof(doc)));
}

/* Encode secs, compare with the reference bytes, decode and compare the fields, and check the
 * bytes are refused as the other kind of document. Returns the encoding in out. */
static void
s_round_trip(const s_sec_t *secs, size_t n, bool is_vector, wire_buf_t *out)
{
    util_bytes_t *ref = util_bytes_new();

    wire_buf_reset(out);
    s_encode(secs, n, is_vector, out);
    s_ref(secs, n, is_vector, ref);
    assert_int_equal(out->len, ref->len);
    assert_memory_equal(out->data, ref->b, ref->len);
    s_check_decoded(secs, n, is_vector, out->data, out->len);
    assert_int_equal(s_doc_code(out->data, out->len, !is_vector), MESH_EPROTO);
    util_bytes_free(ref);
}

/* ---- a catalogue of valid documents, for the truncation, trailing-byte and fence tests ---- */

typedef struct s_doc {
    bool is_vector;
    wire_buf_t buf;
} s_doc_t;

typedef struct s_docs {
    s_doc_t d[S_DOCS_MAX];
    size_t n;
} s_docs_t;

static void
s_docs_add(s_docs_t *ds, const s_sec_t *secs, size_t n, bool is_vector)
{
    assert_true(ds->n < S_DOCS_MAX);
    ds->d[ds->n].is_vector = is_vector;
    wire_buf_init(&ds->d[ds->n].buf);
    s_round_trip(secs, n, is_vector, &ds->d[ds->n].buf);
    ds->n++;
}

static void
s_docs_build(s_docs_t *ds)
{
    const s_set_t *sets[] = {&s_sample.sets[1], &s_sample.sets[2], &s_sample.sets[3],
                             &s_sample.sets[4]};
    s_sec_t secs[16];

    memset(ds, 0, sizeof(*ds));
    memset(secs, 0, sizeof(secs));

    /* Bundles: no section; an empty _mesh; _mesh and notes with sets and marks; many of each. */
    s_docs_add(ds, secs, 0, false);
    secs[0].coll = "_mesh";
    s_docs_add(ds, secs, 1, false);
    secs[0].sets = s_sample.set17, secs[0].set_count = 1;
    secs[0].marks = s_sample.marks, secs[0].mark_count = 1;
    secs[1].coll = "notes";
    secs[1].sets = sets, secs[1].set_count = 4;
    secs[1].marks = s_sample.marks + 1, secs[1].mark_count = 6;
    s_docs_add(ds, secs, 2, false);
    memset(secs, 0, sizeof(secs));
    secs[0].coll = "_mesh";
    secs[1].coll = s_sample.coll200;
    secs[1].sets = s_sample.set17, secs[1].set_count = 17;
    secs[1].marks = s_sample.marks, secs[1].mark_count = S_SAMPLE_MARKS;
    secs[2].coll = s_sample.coll31;
    secs[2].marks = s_sample.marks + 16, secs[2].mark_count = 1;
    secs[3].coll = s_sample.coll32;
    secs[3].sets = sets + 3, secs[3].set_count = 1;
    s_docs_add(ds, secs, 4, false);
    memset(secs, 0, sizeof(secs));
    for (size_t i = 0; i < 16; i++) {
        secs[i].coll = s_sample.coll16[i];
    }
    s_docs_add(ds, secs, 16, false);

    /* Vector files: no section; an empty _mesh; entries with 0 and several extras; many. */
    memset(secs, 0, sizeof(secs));
    s_docs_add(ds, secs, 0, true);
    secs[0].coll = "_mesh";
    s_docs_add(ds, secs, 1, true);
    secs[0].vvs = s_sample.vvs, secs[0].extras = s_sample.extra_ptrs, secs[0].vv_count = 1;
    secs[1].coll = "notes";
    secs[1].vvs = s_sample.vvs + 1, secs[1].extras = s_sample.extra_ptrs + 1;
    secs[1].vv_count = 4;
    s_docs_add(ds, secs, 2, true);
    memset(secs, 0, sizeof(secs));
    secs[0].coll = "_mesh";
    secs[1].coll = s_sample.coll200;
    secs[1].vvs = s_sample.vvs, secs[1].extras = s_sample.extra_ptrs;
    secs[1].vv_count = S_SAMPLE_VVS;
    secs[2].coll = s_sample.coll32;
    secs[2].vvs = s_sample.vvs + 3, secs[2].extras = s_sample.extra_ptrs + 3;
    secs[2].vv_count = 1;
    s_docs_add(ds, secs, 3, true);
    memset(secs, 0, sizeof(secs));
    for (size_t i = 0; i < 16; i++) {
        secs[i].coll = s_sample.coll16[i];
    }
    s_docs_add(ds, secs, 16, true);
}

static void
s_docs_release(s_docs_t *ds)
{
    for (size_t i = 0; i < ds->n; i++) {
        wire_buf_release(&ds->d[i].buf);
    }
}

/* ---- small documents with every field marked, for splicing in other encodings ---- */

/* [tag, [["notes", [set], [[origin, 5, 200]]]]] */
enum {
    MB_DOC,
    MB_TAG,
    MB_SECS,
    MB_SEC,
    MB_COLL,
    MB_SETS,
    MB_SET,
    MB_MARKS,
    MB_MARK,
    MB_ORIGIN,
    MB_INC,
    MB_SEQ,
    MB_END
};

static util_bytes_t *
s_marked_bundle(void)
{
    util_bytes_t *bb = util_bytes_new();
    const s_set_t *set = &s_sample.sets[0];
    uint8_t origin[WIRE_ORIGIN_LEN];

    util_fill(origin, sizeof(origin), 0x11);
    util_mark(bb), util_array(bb, 2);
    util_mark(bb), util_str(bb, WIRE_BUNDLE_TAG, S_BUNDLE_TAG_LEN);
    util_mark(bb), util_array(bb, 1);
    util_mark(bb), util_array(bb, 3);
    util_mark(bb), util_str(bb, "notes", 5);
    util_mark(bb), util_array(bb, 1);
    util_mark(bb), util_bin(bb, set->buf.data, set->buf.len);
    util_mark(bb), util_array(bb, 1);
    util_mark(bb), util_array(bb, 3);
    util_mark(bb), util_bin(bb, origin, WIRE_ORIGIN_LEN);
    util_mark(bb), util_uint(bb, 5);
    util_mark(bb), util_uint(bb, 200);
    util_mark(bb);
    assert_int_equal(s_doc_code(bb->b, bb->len, false), MESH_OK);
    return bb;
}

/* [tag, [["notes", [[origin, 5, base, [extras...]]]]]] with base 200 and extras 300, 400. */
enum {
    MV_DOC,
    MV_TAG,
    MV_SECS,
    MV_SEC,
    MV_COLL,
    MV_VVS,
    MV_VV,
    MV_ORIGIN,
    MV_INC,
    MV_BASE,
    MV_EXTRAS,
    MV_EXTRA0,
    MV_EXTRA1,
    MV_END
};

static util_bytes_t *
s_marked_vector(void)
{
    util_bytes_t *bb = util_bytes_new();
    uint8_t origin[WIRE_ORIGIN_LEN];

    util_fill(origin, sizeof(origin), 0x11);
    util_mark(bb), util_array(bb, 2);
    util_mark(bb), util_str(bb, WIRE_VECTOR_TAG, S_VECTOR_TAG_LEN);
    util_mark(bb), util_array(bb, 1);
    util_mark(bb), util_array(bb, 2);
    util_mark(bb), util_str(bb, "notes", 5);
    util_mark(bb), util_array(bb, 1);
    util_mark(bb), util_array(bb, 4);
    util_mark(bb), util_bin(bb, origin, WIRE_ORIGIN_LEN);
    util_mark(bb), util_uint(bb, 5);
    util_mark(bb), util_uint(bb, 200);
    util_mark(bb), util_array(bb, 2);
    util_mark(bb), util_fixu64(bb, 300);
    util_mark(bb), util_fixu64(bb, 400);
    util_mark(bb);
    assert_int_equal(s_doc_code(bb->b, bb->len, true), MESH_OK);
    return bb;
}

/* Replace field f of src by alt and expect want from the decoder. */
static void
s_expect_splice(const util_bytes_t *src, size_t f, const void *alt, size_t alt_len, bool is_vector,
                mesh_err_t want)
{
    util_bytes_t *bb = util_splice(src, f, alt, alt_len);

    assert_int_equal(s_doc_code(bb->b, bb->len, is_vector), want);
    util_bytes_free(bb);
}

/* A vector file of one entry with base and the given extras, in the fixed form. */
static mesh_err_t
s_vector_extras_code(uint64_t base, const uint64_t *extras, size_t n)
{
    util_bytes_t *bb = util_bytes_new();
    uint8_t origin[WIRE_ORIGIN_LEN];
    mesh_err_t err;

    memset(origin, 0x11, sizeof(origin));
    util_array(bb, 2);
    util_str(bb, WIRE_VECTOR_TAG, S_VECTOR_TAG_LEN);
    util_array(bb, 1);
    util_array(bb, 2);
    util_str(bb, "notes", 5);
    util_array(bb, 1);
    util_array(bb, 4);
    util_bin(bb, origin, WIRE_ORIGIN_LEN);
    util_uint(bb, 1);
    util_uint(bb, base);
    util_array(bb, n);
    for (size_t i = 0; i < n; i++) {
        util_fixu64(bb, extras[i]);
    }
    err = s_doc_code(bb->b, bb->len, true);
    util_bytes_free(bb);
    return err;
}

/* ---- nodes for the end-to-end tests ---- */

typedef struct s_node {
    char dir[64];
    char home[96];
    mesh_t *m;
    char id[MESH_ID_TEXT_LEN + 1];
    uint8_t pk[DEVID_RAW_LEN];
} s_node_t;

static void
s_node_open(s_node_t *n, const char *name)
{
    memset(n, 0, sizeof(*n));
    assert_int_equal(util_temp_home("test_bundle_wire", n->dir, sizeof(n->dir), n->home,
                                    sizeof(n->home)),
                     0);
    assert_int_equal(util_open(n->home, true, name, 0, &n->m), MESH_OK);
    assert_int_equal(mesh_device_id(n->m, n->id, sizeof(n->id)), MESH_OK);
    assert_int_equal(devid_parse(n->id, n->pk), MESH_OK);
}

/* Close n and remove its home; 0, or -1 if the home could not be removed. */
static int
s_node_close(s_node_t *n)
{
    mesh_close(n->m);
    n->m = NULL;
    if (n->dir[0] == '\0') {
        return 0; /* never opened */
    }
    return util_rm_tree(n->dir) == 0 ? 0 : -1;
}

/* Nodes a, b and c, each in its own mkdtemp home; the teardown removes them, also after a
 * failed case. */
typedef struct s_nodes {
    s_node_t a, b, c;
} s_nodes_t;

static int
s_nodes_setup(void **state)
{
    s_nodes_t *ns = calloc(1, sizeof(*ns));

    if (ns == NULL) {
        return -1;
    }
    *state = ns;
    s_node_open(&ns->a, "a");
    s_node_open(&ns->b, "b");
    s_node_open(&ns->c, "c");
    return 0;
}

static int
s_nodes_teardown(void **state)
{
    s_nodes_t *ns = *state;
    int rc = 0;

    if (ns == NULL) {
        return 0;
    }
    rc |= s_node_close(&ns->c);
    rc |= s_node_close(&ns->b);
    rc |= s_node_close(&ns->a);
    free(ns);
    return rc;
}

/* util_commit, whose first seq must not be 0. */
static uint64_t
s_commit(mesh_t *m, const char *coll, const char *const *keys, const char *const *values, size_t n)
{
    uint64_t first = util_commit(m, coll, keys, values, n);

    assert_true(first != 0);
    return first;
}

/* The section of doc named coll, or NULL. */
static const wire_section_t *
s_find_section(const wire_doc_t *doc, const char *coll)
{
    for (size_t i = 0; i < doc->count; i++) {
        const wire_section_t *s = &doc->sections[i];

        if (s->coll_len == strlen(coll) && memcmp(s->coll, coll, s->coll_len) == 0) {
            return s;
        }
    }
    return NULL;
}

static bool
s_coll_is(const wire_section_t *s, const char *coll)
{
    return s->coll_len == strlen(coll) && memcmp(s->coll, coll, s->coll_len) == 0;
}

/* Expect set bytes that decode to a set of origin in coll from first_seq (count ops in the
 * header) carrying the ops seqs[0..n), partial or full. Returns the header's incarnation. */
static uint64_t
s_expect_set(const uint8_t *bytes, size_t len, const uint8_t *origin, const char *coll,
             uint64_t first_seq, uint32_t count, const uint64_t *seqs, size_t n, bool partial)
{
    wire_set_t set;
    wire_header_t h;
    wire_opmeta_t meta;

    assert_int_equal(wire_set_decode(bytes, len, &set), MESH_OK);
    assert_int_equal(set.partial, partial);
    assert_int_equal(set.op_count, n);
    assert_int_equal(wire_header_decode(set.header, set.header_len, &h), MESH_OK);
    assert_int_equal(h.coll_len, strlen(coll));
    assert_memory_equal(h.coll, coll, h.coll_len);
    assert_memory_equal(h.origin, origin, WIRE_ORIGIN_LEN);
    assert_true(h.first_seq == first_seq);
    assert_int_equal(h.count, count);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(wire_opmeta_decode(set.ops[i].meta, set.ops[i].meta_len, &meta), MESH_OK);
        assert_true(meta.seq == seqs[i]);
        assert_true((set.ops[i].value == NULL) == (meta.kind == WIRE_DEL));
        if (partial) {
            assert_non_null(set.ops[i].proof);
        } else {
            assert_null(set.ops[i].proof);
        }
    }
    wire_set_release(&set);
    return h.incarnation;
}

/* ---- tests: round trips ---- */

static void
test_bundle_wire_bundle_round_trip_no_section(void **state)
{
    static const uint8_t want[] = {0x92, 0xb1, 'm', 'e', 's', 'h', 's', 'y', 'n', 'c',
                                   '/',  'b',  'u', 'n', 'd', 'l', 'e', '/', '1', 0x90};
    wire_buf_t out;

    (void)state;
    wire_buf_init(&out);
    s_round_trip(NULL, 0, false, &out);
    assert_int_equal(out.len, sizeof(want));
    assert_memory_equal(out.data, want, sizeof(want));
    wire_buf_release(&out);
}

static void
test_bundle_wire_bundle_round_trip_one_section(void **state)
{
    const s_set_t *sets[] = {&s_sample.sets[1]};
    s_sec_t sec;
    wire_buf_t out;

    (void)state;
    wire_buf_init(&out);
    memset(&sec, 0, sizeof(sec));
    sec.coll = "_mesh";
    s_round_trip(&sec, 1, false, &out); /* no set, no mark */
    sec.coll = "notes";
    sec.sets = sets, sec.set_count = 1;
    s_round_trip(&sec, 1, false, &out); /* a set, no mark */
    sec.sets = NULL, sec.set_count = 0;
    sec.marks = s_sample.marks, sec.mark_count = 1;
    s_round_trip(&sec, 1, false, &out); /* a mark, no set */
    wire_buf_release(&out);
}

/* Several sections, full and partial sets (3-element op entries), marks of every int width,
 * and counts past a fixarray (17 sets, 17 marks, 16 sections); encoders append. */
static void
test_bundle_wire_bundle_round_trip_sections(void **state)
{
    const s_set_t *sets[] = {&s_sample.sets[0], &s_sample.sets[1], &s_sample.sets[2],
                             &s_sample.sets[3], &s_sample.sets[4]};
    s_sec_t secs[3];
    wire_buf_t out;
    size_t first;

    (void)state;
    memset(secs, 0, sizeof(secs));
    secs[0].coll = "_mesh";
    secs[0].sets = sets, secs[0].set_count = 1;
    secs[1].coll = "notes";
    secs[1].sets = sets + 1, secs[1].set_count = 4;
    secs[1].marks = s_sample.marks, secs[1].mark_count = S_SAMPLE_MARKS;
    secs[2].coll = s_sample.coll200;
    secs[2].sets = s_sample.set17, secs[2].set_count = 17;
    secs[2].marks = s_sample.marks + 3, secs[2].mark_count = 2;
    wire_buf_init(&out);
    s_round_trip(secs, 3, false, &out);

    /* The encoders append: a document written after other bytes leaves them intact. */
    wire_buf_reset(&out);
    assert_int_equal(wire_buf_append(&out, "xyz", 3), MESH_OK);
    first = out.len;
    s_encode(secs, 3, false, &out);
    assert_memory_equal(out.data, "xyz", 3);
    s_check_decoded(secs, 3, false, out.data + first, out.len - first);
    wire_buf_release(&out);
}

static void
test_bundle_wire_vector_round_trip(void **state)
{
    static const uint8_t want[] = {0x92, 0xb1, 'm', 'e', 's', 'h', 's', 'y', 'n', 'c',
                                   '/',  'v',  'e', 'c', 't', 'o', 'r', '/', '1', 0x90};
    s_sec_t secs[3];
    wire_buf_t out;

    (void)state;
    wire_buf_init(&out);
    s_round_trip(NULL, 0, true, &out);
    assert_int_equal(out.len, sizeof(want));
    assert_memory_equal(out.data, want, sizeof(want));

    memset(secs, 0, sizeof(secs));
    secs[0].coll = "_mesh"; /* no entry */
    s_round_trip(secs, 1, true, &out);
    secs[0].vvs = s_sample.vvs, secs[0].extras = s_sample.extra_ptrs;
    secs[0].vv_count = 1; /* one entry, no extra */
    s_round_trip(secs, 1, true, &out);
    secs[1].coll = "notes"; /* entries with 1, 2, 17 and 4 extras (the last UINT64_MAX) */
    secs[1].vvs = s_sample.vvs + 1, secs[1].extras = s_sample.extra_ptrs + 1;
    secs[1].vv_count = 4;
    secs[2].coll = s_sample.coll200; /* 17 entries */
    secs[2].vvs = s_sample.vvs, secs[2].extras = s_sample.extra_ptrs;
    secs[2].vv_count = S_SAMPLE_VVS;
    s_round_trip(secs, 3, true, &out);
    assert_true(s_sample.extras[4][s_sample.vvs[4].extra_count - 1] == UINT64_MAX);
    wire_buf_release(&out);
}

/* wire_vv_extra reads each extra in place, from the fixed 9-byte form. */
static void
test_bundle_wire_vv_extra_reads_in_place(void **state)
{
    static const uint64_t extras[] = {201, 0x100, 0x10000, 1ull << 32, UINT64_MAX};
    util_bytes_t *bb = util_bytes_new();
    wire_doc_t doc;
    const wire_vv_t *v;

    (void)state;
    util_array(bb, 2);
    util_str(bb, WIRE_VECTOR_TAG, S_VECTOR_TAG_LEN);
    util_array(bb, 1);
    util_array(bb, 2);
    util_str(bb, "n", 1);
    util_array(bb, 1);
    util_array(bb, 4);
    util_bin(bb, s_sample.vvs[0].origin, WIRE_ORIGIN_LEN);
    util_uint(bb, 7);
    util_uint(bb, 200);
    util_array(bb, 5);
    for (size_t i = 0; i < 5; i++) {
        util_fixu64(bb, extras[i]);
    }
    assert_int_equal(wire_doc_decode(bb->b, bb->len, true, &doc), MESH_OK);
    v = &doc.sections[0].vvs[0];
    assert_true(v->incarnation == 7 && v->base == 200);
    assert_int_equal(v->extra_count, 5);
    assert_ptr_equal(v->extra, bb->b + bb->len - 5 * 9); /* in place, no copy */
    for (size_t i = 0; i < 5; i++) {
        assert_true(wire_vv_extra(v, i) == extras[i]);
    }
    wire_doc_release(&doc);
    util_bytes_free(bb);
}

/* wire_doc_release takes NULL, a zeroed document, and one released already. */
static void
test_bundle_wire_release_is_idempotent(void **state)
{
    s_docs_t ds;
    wire_doc_t doc;

    (void)state;
    wire_doc_release(NULL);
    memset(&doc, 0, sizeof(doc));
    wire_doc_release(&doc);
    s_docs_build(&ds);
    assert_int_equal(wire_doc_decode(ds.d[2].buf.data, ds.d[2].buf.len, false, &doc), MESH_OK);
    wire_doc_release(&doc);
    assert_true(s_is_zero(&doc, sizeof(doc)));
    wire_doc_release(&doc);
    s_docs_release(&ds);
}

/* ---- tests: rejections ---- */

static void
test_bundle_wire_rejects_wrong_tag(void **state)
{
    static const char *const tags[] = {
        "meshsync/bundle/2", "meshsync/bundle/", "meshsync/bundle/10", "",
        "Meshsync/bundle/1", "meshsync/set/1",   "meshsync/bundle/1\n"};
    util_bytes_t *b = s_marked_bundle(), *v = s_marked_vector(), *alt;
    char long_tag[80];

    (void)state;
    for (size_t i = 0; i < sizeof(tags) / sizeof(tags[0]); i++) {
        alt = util_bytes_new();
        util_str(alt, tags[i], strlen(tags[i]));
        s_expect_splice(b, MB_TAG, alt->b, alt->len, false, MESH_EPROTO);
        s_expect_splice(v, MV_TAG, alt->b, alt->len, true, MESH_EPROTO);
        util_bytes_free(alt);
    }
    /* The other document's tag. */
    alt = util_bytes_new();
    util_str(alt, WIRE_VECTOR_TAG, S_VECTOR_TAG_LEN);
    s_expect_splice(b, MB_TAG, alt->b, alt->len, false, MESH_EPROTO);
    util_bytes_free(alt);
    alt = util_bytes_new();
    util_str(alt, WIRE_BUNDLE_TAG, S_BUNDLE_TAG_LEN);
    s_expect_splice(v, MV_TAG, alt->b, alt->len, true, MESH_EPROTO);
    util_bytes_free(alt);
    /* Long tags: 64 bytes (the longest read), 65 and 73 (past it): all EPROTO, never ETOOBIG. */
    memset(long_tag, 'm', sizeof(long_tag));
    for (size_t n = 64; n < sizeof(long_tag); n += 1 + (n - 64) * 7) {
        alt = util_bytes_new();
        util_str(alt, long_tag, n);
        s_expect_splice(b, MB_TAG, alt->b, alt->len, false, MESH_EPROTO);
        s_expect_splice(v, MV_TAG, alt->b, alt->len, true, MESH_EPROTO);
        util_bytes_free(alt);
    }
    /* The right bytes in a bin, or no tag at all. */
    alt = util_bytes_new();
    util_bin(alt, WIRE_BUNDLE_TAG, S_BUNDLE_TAG_LEN);
    s_expect_splice(b, MB_TAG, alt->b, alt->len, false, MESH_EPROTO);
    util_bytes_free(alt);
    s_expect_splice(b, MB_TAG, "\xc0", 1, false, MESH_EPROTO);
    s_expect_splice(b, MB_TAG, "\x01", 1, false, MESH_EPROTO);
    s_expect_splice(b, MB_TAG, "", 0, false, MESH_EPROTO);
    /* The right tag, and the same bytes spliced back in, still decode. */
    alt = util_bytes_new();
    util_str(alt, WIRE_BUNDLE_TAG, S_BUNDLE_TAG_LEN);
    s_expect_splice(b, MB_TAG, alt->b, alt->len, false, MESH_OK);
    util_bytes_free(alt);
    util_bytes_free(b);
    util_bytes_free(v);
}

/* A vector file decoded as a bundle and a bundle decoded as a vector file are malformed, even
 * with the right tag on the other body; an empty document is valid only as its own kind. */
static void
test_bundle_wire_rejects_other_kind(void **state)
{
    util_bytes_t *b = s_marked_bundle(), *v = s_marked_vector(), *alt;
    s_docs_t ds;

    (void)state;
    s_docs_build(&ds);
    for (size_t i = 0; i < ds.n; i++) {
        assert_int_equal(s_doc_code(ds.d[i].buf.data, ds.d[i].buf.len, ds.d[i].is_vector), MESH_OK);
        assert_int_equal(s_doc_code(ds.d[i].buf.data, ds.d[i].buf.len, !ds.d[i].is_vector),
                         MESH_EPROTO);
    }
    assert_int_equal(s_doc_code(b->b, b->len, true), MESH_EPROTO);
    assert_int_equal(s_doc_code(v->b, v->len, false), MESH_EPROTO);
    /* A bundle body under the vector tag, and a vector body under the bundle tag. */
    alt = util_bytes_new();
    util_str(alt, WIRE_VECTOR_TAG, S_VECTOR_TAG_LEN);
    s_expect_splice(b, MB_TAG, alt->b, alt->len, true, MESH_EPROTO);
    util_bytes_free(alt);
    alt = util_bytes_new();
    util_str(alt, WIRE_BUNDLE_TAG, S_BUNDLE_TAG_LEN);
    s_expect_splice(v, MV_TAG, alt->b, alt->len, false, MESH_EPROTO);
    util_bytes_free(alt);
    s_docs_release(&ds);
    util_bytes_free(b);
    util_bytes_free(v);
}

static void
test_bundle_wire_rejects_trailing_byte(void **state)
{
    static const uint8_t tails[] = {0x00, 0xc0, 0x90, 0xff};
    s_docs_t ds;

    (void)state;
    s_docs_build(&ds);
    for (size_t i = 0; i < ds.n; i++) {
        const s_doc_t *d = &ds.d[i];
        uint8_t *p = malloc(d->buf.len + 1);

        assert_non_null(p);
        memcpy(p, d->buf.data, d->buf.len);
        for (size_t t = 0; t < sizeof(tails); t++) {
            p[d->buf.len] = tails[t];
            assert_int_equal(s_doc_code(p, d->buf.len + 1, d->is_vector), MESH_EPROTO);
        }
        free(p);
    }
    s_docs_release(&ds);
}

/* Every proper prefix of every valid document is malformed; the decoder never reads past it
 * (checked under valgrind and ASan here, and against a PROT_NONE page below). */
static void
test_bundle_wire_rejects_every_truncation(void **state)
{
    s_docs_t ds;

    (void)state;
    s_docs_build(&ds);
    for (size_t i = 0; i < ds.n; i++) {
        const s_doc_t *d = &ds.d[i];

        for (size_t len = 0; len < d->buf.len; len++) {
            uint8_t *p = malloc(len ? len : 1); /* exact size, so that ASan sees an overread */

            assert_non_null(p);
            if (len > 0) {
                memcpy(p, d->buf.data, len);
            }
            assert_int_equal(s_doc_code(p, len, d->is_vector), MESH_EPROTO);
            free(p);
        }
    }
    s_docs_release(&ds);
}

/* Each valid document, and each of its prefixes, decoded flush against a PROT_NONE page; the
 * decoded sets and extras are read there too. */
static void
test_bundle_wire_decode_against_prot_none_fence(void **state)
{
    s_docs_t ds;
    util_fence_t fence;
    size_t room = 0;

    (void)state;
    s_docs_build(&ds);
    for (size_t i = 0; i < ds.n; i++) {
        room = ds.d[i].buf.len > room ? ds.d[i].buf.len : room;
    }
    util_fence_init(&fence, room);
    for (size_t i = 0; i < ds.n; i++) {
        const s_doc_t *d = &ds.d[i];

        for (size_t len = 0; len <= d->buf.len; len++) {
            const uint8_t *p = util_fence_put(&fence, d->buf.data, len);
            wire_doc_t doc;
            mesh_err_t err;

            memset(&doc, 0xa5, sizeof(doc));
            err = wire_doc_decode(p, len, d->is_vector, &doc);
            assert_int_equal(err, len == d->buf.len ? MESH_OK : MESH_EPROTO);
            for (size_t s = 0; s < doc.count; s++) {
                const wire_section_t *sec = &doc.sections[s];

                for (size_t j = 0; j < sec->set_count; j++) {
                    wire_set_t set;

                    assert_int_equal(wire_set_decode(sec->sets[j], sec->set_lens[j], &set),
                                     MESH_OK);
                    wire_set_release(&set);
                }
                for (size_t j = 0; j < sec->vv_count; j++) {
                    for (size_t k = 0; k < sec->vvs[j].extra_count; k++) {
                        assert_true(wire_vv_extra(&sec->vvs[j], k) > sec->vvs[j].base);
                    }
                }
            }
            wire_doc_release(&doc);
            /* The other kind, too: it must fail without reading past the end. */
            memset(&doc, 0xa5, sizeof(doc));
            assert_int_equal(wire_doc_decode(p, len, !d->is_vector, &doc), MESH_EPROTO);
            assert_true(s_is_zero(&doc, sizeof(doc)));
        }
    }
    util_fence_release(&fence);
    s_docs_release(&ds);
}

/* Extras must be strictly ascending and above the base (§3.6). */
static void
test_bundle_wire_rejects_extras_out_of_order(void **state)
{
    static const uint64_t ok[] = {12, 13, 500, UINT64_MAX};
    static const uint64_t equal_base[] = {10};
    static const uint64_t below_base[] = {9};
    static const uint64_t zero[] = {0};
    static const uint64_t repeated[] = {12, 12};
    static const uint64_t descending[] = {13, 12};
    static const uint64_t late_drop[] = {12, 14, 16, 15};
    static const uint64_t after_max[] = {UINT64_MAX, UINT64_MAX};
    util_bytes_t *v = s_marked_vector(), *alt;

    (void)state;
    assert_int_equal(s_vector_extras_code(10, ok, 4), MESH_OK);
    assert_int_equal(s_vector_extras_code(10, ok, 0), MESH_OK);
    assert_int_equal(s_vector_extras_code(0, zero, 1), MESH_EPROTO);
    assert_int_equal(s_vector_extras_code(10, equal_base, 1), MESH_EPROTO);
    assert_int_equal(s_vector_extras_code(10, below_base, 1), MESH_EPROTO);
    assert_int_equal(s_vector_extras_code(10, repeated, 2), MESH_EPROTO);
    assert_int_equal(s_vector_extras_code(10, descending, 2), MESH_EPROTO);
    assert_int_equal(s_vector_extras_code(10, late_drop, 4), MESH_EPROTO);
    assert_int_equal(s_vector_extras_code(10, after_max, 2), MESH_EPROTO);
    assert_int_equal(s_vector_extras_code(UINT64_MAX, after_max, 1), MESH_EPROTO);
    assert_int_equal(s_vector_extras_code(UINT64_MAX - 1, after_max, 1), MESH_OK);

    /* The marked vector has base 200, extras 300 and 400: swap one extra. */
    alt = util_bytes_new();
    util_fixu64(alt, 200);
    s_expect_splice(v, MV_EXTRA0, alt->b, alt->len, true, MESH_EPROTO);
    s_expect_splice(v, MV_EXTRA1, alt->b, alt->len, true, MESH_EPROTO);
    util_bytes_free(alt);
    alt = util_bytes_new();
    util_fixu64(alt, 400);
    s_expect_splice(v, MV_EXTRA0, alt->b, alt->len, true, MESH_EPROTO);
    util_bytes_free(alt);
    alt = util_bytes_new();
    util_fixu64(alt, 201);
    s_expect_splice(v, MV_EXTRA0, alt->b, alt->len, true, MESH_OK);
    util_bytes_free(alt);
    util_bytes_free(v);
}

/* A count of sections, sets, marks, entries or extras larger than the bytes present could
 * hold is malformed, and is refused before anything is allocated for it: 2^32 - 1 sections
 * would be hundreds of GiB, which no allocator here grants (it would be MESH_ENOMEM). */
static void
test_bundle_wire_bounds_counts_by_bytes(void **state)
{
    static const uint8_t huge32[] = {0xdd, 0xff, 0xff, 0xff, 0xff};
    static const uint8_t huge16[] = {0xdc, 0xff, 0xff};
    util_bytes_t *b = s_marked_bundle(), *v = s_marked_vector(), *alt;

    (void)state;
    /* Sections: 2^32 - 1, 65535, and 2 where 1 is present. */
    s_expect_splice(b, MB_SECS, huge32, sizeof(huge32), false, MESH_EPROTO);
    s_expect_splice(b, MB_SECS, huge16, sizeof(huge16), false, MESH_EPROTO);
    s_expect_splice(b, MB_SECS, "\x92", 1, false, MESH_EPROTO);
    s_expect_splice(v, MV_SECS, huge32, sizeof(huge32), true, MESH_EPROTO);
    s_expect_splice(v, MV_SECS, huge16, sizeof(huge16), true, MESH_EPROTO);
    s_expect_splice(v, MV_SECS, "\x92", 1, true, MESH_EPROTO);
    /* Sets, marks, entries and extras. */
    s_expect_splice(b, MB_SETS, huge32, sizeof(huge32), false, MESH_EPROTO);
    s_expect_splice(b, MB_SETS, huge16, sizeof(huge16), false, MESH_EPROTO);
    s_expect_splice(b, MB_SETS, "\x93", 1, false, MESH_EPROTO);
    s_expect_splice(b, MB_MARKS, huge32, sizeof(huge32), false, MESH_EPROTO);
    s_expect_splice(b, MB_MARKS, huge16, sizeof(huge16), false, MESH_EPROTO);
    s_expect_splice(b, MB_MARKS, "\x92", 1, false, MESH_EPROTO);
    s_expect_splice(v, MV_VVS, huge32, sizeof(huge32), true, MESH_EPROTO);
    s_expect_splice(v, MV_VVS, huge16, sizeof(huge16), true, MESH_EPROTO);
    s_expect_splice(v, MV_VVS, "\x92", 1, true, MESH_EPROTO);
    s_expect_splice(v, MV_EXTRAS, huge32, sizeof(huge32), true, MESH_EPROTO);
    s_expect_splice(v, MV_EXTRAS, huge16, sizeof(huge16), true, MESH_EPROTO);
    s_expect_splice(v, MV_EXTRAS, "\x93", 1, true, MESH_EPROTO);
    /* Byte lengths past the end: a set, a collection name, the tag, an origin. */
    alt = util_bytes_new();
    util_raw(alt, "\xc6\xff\xff\xff\xff", 5);
    util_raw(alt, s_sample.sets[0].buf.data, s_sample.sets[0].buf.len);
    s_expect_splice(b, MB_SET, alt->b, alt->len, false, MESH_EPROTO);
    util_bytes_free(alt);
    s_expect_splice(b, MB_COLL, "\xdb\xff\xff\xff\xffnotes", 10, false, MESH_EPROTO);
    s_expect_splice(b, MB_TAG, "\xdb\xff\xff\xff\xff", 5, false, MESH_EPROTO);
    s_expect_splice(v, MV_ORIGIN, "\xc6\xff\xff\xff\xff", 5, true, MESH_EPROTO);
    /* A section count of 1 with nothing after it, in both kinds (the shortest such input). */
    assert_int_equal(s_doc_code(b->b, b->mark[MB_SEC], false), MESH_EPROTO);
    assert_int_equal(s_doc_code(v->b, v->mark[MV_SEC], true), MESH_EPROTO);
    util_bytes_free(b);
    util_bytes_free(v);
}

/* Fields of the wrong type, length or shape. */
static void
test_bundle_wire_rejects_bad_fields(void **state)
{
    util_bytes_t *b = s_marked_bundle(), *v = s_marked_vector(), *alt;
    uint8_t origin[WIRE_ORIGIN_LEN + 1];
    char coll[MESH_COLL_MAX + 1];

    (void)state;
    memset(origin, 0x11, sizeof(origin));
    memset(coll, 'c', sizeof(coll));
    /* The document: not an array of 2. */
    s_expect_splice(b, MB_DOC, "\x91", 1, false, MESH_EPROTO);
    s_expect_splice(b, MB_DOC, "\x93", 1, false, MESH_EPROTO);
    s_expect_splice(b, MB_DOC, "\x82", 1, false, MESH_EPROTO); /* a map */
    s_expect_splice(b, MB_SECS, "\xc0", 1, false, MESH_EPROTO);
    /* A section: of 2 or 4 fields in a bundle, of 3 in a vector file. */
    s_expect_splice(b, MB_SEC, "\x92", 1, false, MESH_EPROTO);
    s_expect_splice(b, MB_SEC, "\x94", 1, false, MESH_EPROTO);
    s_expect_splice(v, MV_SEC, "\x93", 1, true, MESH_EPROTO);
    s_expect_splice(v, MV_SEC, "\x91", 1, true, MESH_EPROTO);
    /* The collection: empty, a bin, nil; 201 bytes is over the cap, 200 is fine. */
    s_expect_splice(b, MB_COLL, "\xa0", 1, false, MESH_EPROTO);
    s_expect_splice(v, MV_COLL, "\xa0", 1, true, MESH_EPROTO);
    s_expect_splice(b, MB_COLL, "\xc4\x05notes", 7, false, MESH_EPROTO);
    s_expect_splice(b, MB_COLL, "\xc0", 1, false, MESH_EPROTO);
    alt = util_bytes_new();
    util_str(alt, coll, MESH_COLL_MAX + 1);
    s_expect_splice(b, MB_COLL, alt->b, alt->len, false, MESH_ETOOBIG);
    s_expect_splice(v, MV_COLL, alt->b, alt->len, true, MESH_ETOOBIG);
    util_bytes_free(alt);
    alt = util_bytes_new();
    util_str(alt, coll, MESH_COLL_MAX);
    s_expect_splice(b, MB_COLL, alt->b, alt->len, false, MESH_OK);
    s_expect_splice(v, MV_COLL, alt->b, alt->len, true, MESH_OK);
    util_bytes_free(alt);
    /* A set that is not a bin; marks that are not an array. */
    alt = util_bytes_new();
    util_str(alt, s_sample.sets[0].buf.data, s_sample.sets[0].buf.len);
    s_expect_splice(b, MB_SET, alt->b, alt->len, false, MESH_EPROTO);
    util_bytes_free(alt);
    s_expect_splice(b, MB_SET, "\xc0", 1, false, MESH_EPROTO);
    s_expect_splice(b, MB_MARKS, "\xc0", 1, false, MESH_EPROTO);
    /* A set's bytes are not decoded with the document, but a bin shorter than the
     * smallest valid set (WIRE_SET_MIN) is refused: a million empty bins in a 2 MB bundle
     * took 670 MiB of check state. */
    s_expect_splice(b, MB_SET, "\xc4\x00", 2, false, MESH_EPROTO);
    uint8_t least[2 + WIRE_SET_MIN] = {0xc4, WIRE_SET_MIN};
    s_expect_splice(b, MB_SET, least, sizeof least, false, MESH_OK);
    least[1] = WIRE_SET_MIN - 1;
    s_expect_splice(b, MB_SET, least, sizeof least - 1, false, MESH_EPROTO);
    /* A mark or an entry of the wrong arity. */
    s_expect_splice(b, MB_MARK, "\x92", 1, false, MESH_EPROTO);
    s_expect_splice(b, MB_MARK, "\x94", 1, false, MESH_EPROTO);
    s_expect_splice(v, MV_VV, "\x93", 1, true, MESH_EPROTO);
    s_expect_splice(v, MV_VV, "\x95", 1, true, MESH_EPROTO);
    /* Origins of 31 and 33 bytes, or a str of 32. */
    for (size_t n = WIRE_ORIGIN_LEN - 1; n <= WIRE_ORIGIN_LEN + 1; n += 2) {
        alt = util_bytes_new();
        util_bin(alt, origin, n);
        s_expect_splice(b, MB_ORIGIN, alt->b, alt->len, false, MESH_EPROTO);
        s_expect_splice(v, MV_ORIGIN, alt->b, alt->len, true, MESH_EPROTO);
        util_bytes_free(alt);
    }
    alt = util_bytes_new();
    util_str(alt, origin, WIRE_ORIGIN_LEN);
    s_expect_splice(b, MB_ORIGIN, alt->b, alt->len, false, MESH_EPROTO);
    s_expect_splice(v, MV_ORIGIN, alt->b, alt->len, true, MESH_EPROTO);
    util_bytes_free(alt);
    /* Integers that are not unsigned: negative fixint, int8, float, nil, bool. */
    {
        static const char *const bad[] = {"\xff", "\xd0\x05", "\xca\x00\x00\x00\x00", "\xc0",
                                          "\xc3"};
        static const size_t lens[] = {1, 2, 5, 1, 1};

        for (size_t i = 0; i < 5; i++) {
            s_expect_splice(b, MB_INC, bad[i], lens[i], false, MESH_EPROTO);
            s_expect_splice(b, MB_SEQ, bad[i], lens[i], false, MESH_EPROTO);
            s_expect_splice(v, MV_INC, bad[i], lens[i], true, MESH_EPROTO);
            s_expect_splice(v, MV_BASE, bad[i], lens[i], true, MESH_EPROTO);
            s_expect_splice(v, MV_EXTRA1, bad[i], lens[i], true, MESH_EPROTO);
        }
    }
    /* Extras in any form but the fixed 9-byte one: 400 as uint16 or int64. */
    s_expect_splice(v, MV_EXTRA1, "\xcd\x01\x90", 3, true, MESH_EPROTO);
    s_expect_splice(v, MV_EXTRA1, "\xd3\x00\x00\x00\x00\x00\x00\x01\x90", 9, true, MESH_EPROTO);
    s_expect_splice(v, MV_EXTRAS, "\xc0", 1, true, MESH_EPROTO);
    util_bytes_free(b);
    util_bytes_free(v);
}

/* A bundle of one section holding one set of n bytes (filler: the document decoder does not
 * decode sets), as a bin32. */
static util_bytes_t *
s_big_set_bundle(size_t n)
{
    util_bytes_t *bb = util_bytes_new();
    uint8_t *filler = malloc(n);

    assert_non_null(filler);
    memset(filler, 0x42, n);
    util_array(bb, 2);
    util_str(bb, WIRE_BUNDLE_TAG, S_BUNDLE_TAG_LEN);
    util_array(bb, 1);
    util_array(bb, 3);
    util_str(bb, "notes", 5);
    util_array(bb, 1);
    util_u8(bb, 0xc6), util_be(bb, n, 4);
    util_raw(bb, filler, n);
    util_array(bb, 0);
    free(filler);
    return bb;
}

/* A set of WIRE_SET_MAX bytes passes the document decoder; one byte more is over the cap. */
static void
test_bundle_wire_rejects_set_over_cap(void **state)
{
    util_bytes_t *bb;

    (void)state;
    bb = s_big_set_bundle(WIRE_SET_MAX + 1);
    assert_int_equal(s_doc_code(bb->b, bb->len, false), MESH_ETOOBIG);
    util_bytes_free(bb);
    bb = s_big_set_bundle(WIRE_SET_MAX);
    assert_int_equal(s_doc_code(bb->b, bb->len, false), MESH_OK);
    util_bytes_free(bb);
}

static void
test_bundle_wire_rejects_non_shortest_forms(void **state)
{
    util_bytes_t *b = s_marked_bundle(), *v = s_marked_vector(), *alt;
    uint8_t origin[WIRE_ORIGIN_LEN];

    (void)state;
    memset(origin, 0x11, sizeof(origin));
    /* Array headers as array16 (and array32) when a fixarray would do. */
    s_expect_splice(b, MB_DOC, "\xdc\x00\x02", 3, false, MESH_EPROTO);
    s_expect_splice(b, MB_DOC, "\xdd\x00\x00\x00\x02", 5, false, MESH_EPROTO);
    s_expect_splice(b, MB_SECS, "\xdc\x00\x01", 3, false, MESH_EPROTO);
    s_expect_splice(b, MB_SEC, "\xdc\x00\x03", 3, false, MESH_EPROTO);
    s_expect_splice(b, MB_SETS, "\xdc\x00\x01", 3, false, MESH_EPROTO);
    s_expect_splice(b, MB_MARKS, "\xdc\x00\x01", 3, false, MESH_EPROTO);
    s_expect_splice(b, MB_MARK, "\xdc\x00\x03", 3, false, MESH_EPROTO);
    s_expect_splice(v, MV_SECS, "\xdc\x00\x01", 3, true, MESH_EPROTO);
    s_expect_splice(v, MV_VVS, "\xdd\x00\x00\x00\x01", 5, true, MESH_EPROTO);
    s_expect_splice(v, MV_VV, "\xdc\x00\x04", 3, true, MESH_EPROTO);
    s_expect_splice(v, MV_EXTRAS, "\xdc\x00\x02", 3, true, MESH_EPROTO);
    /* Strings as str8/str16 when a fixstr would do. */
    alt = util_bytes_new();
    util_u8(alt, 0xd9), util_u8(alt, S_BUNDLE_TAG_LEN), util_raw(alt, WIRE_BUNDLE_TAG, S_BUNDLE_TAG_LEN);
    s_expect_splice(b, MB_TAG, alt->b, alt->len, false, MESH_EPROTO);
    util_bytes_free(alt);
    s_expect_splice(b, MB_COLL, "\xd9\x05notes", 7, false, MESH_EPROTO);
    s_expect_splice(b, MB_COLL, "\xda\x00\x05notes", 8, false, MESH_EPROTO);
    s_expect_splice(v, MV_COLL, "\xd9\x05notes", 7, true, MESH_EPROTO);
    /* Bins as bin16/bin32 when a bin8 would do: a set, an origin. */
    alt = util_bytes_new();
    util_u8(alt, 0xc5), util_be(alt, s_sample.sets[0].buf.len, 2);
    util_raw(alt, s_sample.sets[0].buf.data, s_sample.sets[0].buf.len);
    assert_true(s_sample.sets[0].buf.len < 0x100);
    s_expect_splice(b, MB_SET, alt->b, alt->len, false, MESH_EPROTO);
    util_bytes_free(alt);
    alt = util_bytes_new();
    util_u8(alt, 0xc6), util_be(alt, WIRE_ORIGIN_LEN, 4), util_raw(alt, origin, WIRE_ORIGIN_LEN);
    s_expect_splice(b, MB_ORIGIN, alt->b, alt->len, false, MESH_EPROTO);
    s_expect_splice(v, MV_ORIGIN, alt->b, alt->len, true, MESH_EPROTO);
    util_bytes_free(alt);
    /* Integers: 5 in every longer form; 200 as uint16, uint32, uint64. */
    s_expect_splice(b, MB_INC, "\xcc\x05", 2, false, MESH_EPROTO);
    s_expect_splice(b, MB_INC, "\xcd\x00\x05", 3, false, MESH_EPROTO);
    s_expect_splice(b, MB_INC, "\xce\x00\x00\x00\x05", 5, false, MESH_EPROTO);
    s_expect_splice(b, MB_INC, "\xcf\x00\x00\x00\x00\x00\x00\x00\x05", 9, false, MESH_EPROTO);
    s_expect_splice(b, MB_SEQ, "\xcd\x00\xc8", 3, false, MESH_EPROTO);
    s_expect_splice(b, MB_SEQ, "\xce\x00\x00\x00\xc8", 5, false, MESH_EPROTO);
    s_expect_splice(b, MB_SEQ, "\xcf\x00\x00\x00\x00\x00\x00\x00\xc8", 9, false, MESH_EPROTO);
    s_expect_splice(v, MV_INC, "\xcc\x05", 2, true, MESH_EPROTO);
    s_expect_splice(v, MV_INC, "\xcf\x00\x00\x00\x00\x00\x00\x00\x05", 9, true, MESH_EPROTO);
    s_expect_splice(v, MV_BASE, "\xcd\x00\xc8", 3, true, MESH_EPROTO);
    s_expect_splice(v, MV_BASE, "\xcf\x00\x00\x00\x00\x00\x00\x00\xc8", 9, true, MESH_EPROTO);
    /* Larger values at the edge of each width: 0x10000 as uint32 is the shortest, fine. */
    s_expect_splice(b, MB_SEQ, "\xce\x00\x01\x00\x00", 5, false, MESH_OK);
    s_expect_splice(b, MB_SEQ, "\xce\x00\x00\xff\xff", 5, false, MESH_EPROTO);
    s_expect_splice(b, MB_SEQ, "\xcf\x00\x00\x00\x01\x00\x00\x00\x00", 9, false, MESH_OK);
    s_expect_splice(b, MB_SEQ, "\xcf\x00\x00\x00\x00\xff\xff\xff\xff", 9, false, MESH_EPROTO);
    /* The shortest forms spliced back in still decode. */
    s_expect_splice(b, MB_INC, "\x05", 1, false, MESH_OK);
    s_expect_splice(b, MB_SEQ, "\xcc\xc8", 2, false, MESH_OK);
    s_expect_splice(v, MV_BASE, "\xcc\xc8", 2, true, MESH_OK);
    util_bytes_free(b);
    util_bytes_free(v);
}

/* ---- tests: through the public API ---- */

/* A commits puts and a delete; its bundle holds _mesh first and the data section with its
 * live sets (the first one partial: its put was deleted later); B, which trusts A, imports it
 * twice (the second time nothing is new); B's vector covers A; an export since that vector
 * after one more put carries exactly that put. */
static void
test_bundle_wire_export_import_through_the_api(void **state)
{
    static const char *const keys1[] = {"k1", "k2"}, *const values1[] = {"v1", "v2"};
    static const char *const keys2[] = {"k3"}, *const values2[] = {"v3"};
    static const char *const keys3[] = {"k1"}, *const values3[] = {NULL};
    static const char *const keys4[] = {"k4"}, *const values4[] = {"v4"};
    static const uint64_t seqs_set1[] = {2}, seqs_set2[] = {3}, seqs_set3[] = {4},
                          seqs_set4[] = {5};
    s_nodes_t *ns = *state;
    s_node_t *a = &ns->a, *b = &ns->b;
    void *bundle = NULL, *vec = NULL, *since = NULL;
    size_t bundle_len = 0, vec_len = 0, since_len = 0, mesh_sets;
    wire_doc_t doc;
    const wire_section_t *sec;
    mesh_import_report_t rep = {.size = sizeof rep};
    char dig_a[65], dig_b[65];
    uint64_t inc;

    assert_int_equal(mesh_peer_add(b->m, a->id, "a", NULL, 0), MESH_OK);
    assert_true(s_commit(a->m, "notes", keys1, values1, 2) == 1);
    assert_true(s_commit(a->m, "notes", keys2, values2, 1) == 3);
    assert_true(s_commit(a->m, "notes", keys3, values3, 1) == 4);

    assert_int_equal(mesh_export(a->m, NULL, 0, NULL, 0, &bundle, &bundle_len), MESH_OK);
    assert_int_equal(wire_doc_decode(bundle, bundle_len, false, &doc), MESH_OK);
    assert_int_equal(doc.count, 2);
    assert_true(s_coll_is(&doc.sections[0], "_mesh"));
    mesh_sets = doc.sections[0].set_count;
    assert_true(mesh_sets >= 1); /* A's own genesis record */
    for (size_t i = 0; i < mesh_sets; i++) {
        wire_set_t set;
        wire_header_t h;

        assert_int_equal(
            wire_set_decode(doc.sections[0].sets[i], doc.sections[0].set_lens[i], &set), MESH_OK);
        assert_int_equal(wire_header_decode(set.header, set.header_len, &h), MESH_OK);
        assert_memory_equal(h.origin, a->pk, WIRE_ORIGIN_LEN);
        assert_true(h.coll_len == 5 && memcmp(h.coll, "_mesh", 5) == 0);
        wire_set_release(&set);
    }
    sec = &doc.sections[1];
    assert_true(s_coll_is(sec, "notes"));
    assert_int_equal(sec->set_count, 3);
    inc = s_expect_set(sec->sets[0], sec->set_lens[0], a->pk, "notes", 1, 2, seqs_set1, 1, true);
    assert_true(s_expect_set(sec->sets[1], sec->set_lens[1], a->pk, "notes", 3, 1, seqs_set2, 1,
                             false) == inc);
    assert_true(s_expect_set(sec->sets[2], sec->set_lens[2], a->pk, "notes", 4, 1, seqs_set3, 1,
                             false) == inc);
    assert_int_equal(sec->mark_count, 1);
    assert_memory_equal(sec->marks[0].origin, a->pk, WIRE_ORIGIN_LEN);
    assert_true(sec->marks[0].incarnation == inc && sec->marks[0].seq == 4);
    wire_doc_release(&doc);

    /* Import twice: the second time every set is known. */
    assert_int_equal(mesh_import(b->m, bundle, bundle_len, &rep), MESH_OK);
    assert_int_equal(rep.sets_new, mesh_sets + 3);
    assert_int_equal(rep.sets_known + rep.sets_held + rep.sets_rejected, 0);
    assert_null(rep.text);
    assert_int_equal(mesh_import(b->m, bundle, bundle_len, &rep), MESH_OK);
    assert_int_equal(rep.sets_new, 0);
    assert_int_equal(rep.sets_known, mesh_sets + 3);
    assert_int_equal(rep.sets_held + rep.sets_rejected + rep.ops_stored, 0);
    mesh_free(rep.text);
    util_expect(b->m, "notes", "k1", NULL);
    util_expect(b->m, "notes", "k2", "v2");
    util_expect(b->m, "notes", "k3", "v3");
    util_digest(a->m, "notes", dig_a);
    util_digest(b->m, "notes", dig_b);
    assert_string_equal(dig_a, dig_b);

    /* A bundle with a trailing byte is refused whole; B is unchanged and still works. */
    {
        uint8_t *bad = malloc(bundle_len + 1);

        assert_non_null(bad);
        memcpy(bad, bundle, bundle_len);
        bad[bundle_len] = 0;
        assert_int_equal(mesh_import(b->m, bad, bundle_len + 1, &rep), MESH_EPROTO);
        assert_int_equal(rep.sets_new + rep.sets_known, 0);
        assert_null(rep.text);
        free(bad);
        util_digest(b->m, "notes", dig_b);
        assert_string_equal(dig_a, dig_b);
    }

    /* B's vector: a vector file, not a bundle, with A's entry at base 4 and no extras. */
    assert_int_equal(mesh_vector(b->m, NULL, 0, &vec, &vec_len), MESH_OK);
    assert_int_equal(s_doc_code(vec, vec_len, false), MESH_EPROTO);
    assert_int_equal(wire_doc_decode(vec, vec_len, true, &doc), MESH_OK);
    assert_true(doc.count >= 2 && s_coll_is(&doc.sections[0], "_mesh"));
    sec = s_find_section(&doc, "notes");
    assert_non_null(sec);
    {
        const wire_vv_t *va = NULL;

        for (size_t i = 0; i < sec->vv_count; i++) {
            if (memcmp(sec->vvs[i].origin, a->pk, WIRE_ORIGIN_LEN) == 0) {
                assert_null(va);
                va = &sec->vvs[i];
            }
        }
        assert_non_null(va);
        assert_true(va->incarnation == inc);
        assert_true(va->base == 4);
        assert_int_equal(va->extra_count, 0);
    }
    wire_doc_release(&doc);
    /* A bundle is not a vector file: export --since it is refused. */
    assert_int_equal(mesh_export(a->m, NULL, 0, bundle, bundle_len, &since, &since_len),
                     MESH_EPROTO);
    assert_null(since);

    /* One more put on A; the export since B's vector carries only it. */
    assert_true(s_commit(a->m, "notes", keys4, values4, 1) == 5);
    assert_int_equal(mesh_export(a->m, NULL, 0, vec, vec_len, &since, &since_len), MESH_OK);
    assert_true(since_len < 1024);
    assert_int_equal(wire_doc_decode(since, since_len, false, &doc), MESH_OK);
    assert_int_equal(doc.count, 2);
    assert_true(s_coll_is(&doc.sections[0], "_mesh"));
    assert_int_equal(doc.sections[0].set_count, 0);
    assert_int_equal(doc.sections[0].mark_count, 0);
    sec = &doc.sections[1];
    assert_true(s_coll_is(sec, "notes"));
    assert_int_equal(sec->set_count, 1);
    s_expect_set(sec->sets[0], sec->set_lens[0], a->pk, "notes", 5, 1, seqs_set4, 1, false);
    assert_int_equal(sec->mark_count, 1);
    assert_true(sec->marks[0].seq == 5);
    wire_doc_release(&doc);
    assert_int_equal(mesh_import(b->m, since, since_len, &rep), MESH_OK);
    assert_int_equal(rep.sets_new, 1);
    assert_int_equal(rep.ops_stored, 1);
    mesh_free(rep.text);
    util_expect(b->m, "notes", "k4", "v4");

    mesh_free(since);
    mesh_free(vec);
    mesh_free(bundle);
}

/* B relays what it got from A: the partial set goes out with the proof B stored, byte for
 * byte as A sent it, and C (which trusts A, not B) verifies it against A's signature. */
static void
test_bundle_wire_relayed_partial_set(void **state)
{
    static const char *const keys1[] = {"x", "y", "z"}, *const values1[] = {"1", "2", "3"};
    static const char *const keys2[] = {"y"}, *const values2[] = {"22"};
    static const uint64_t seqs_set1[] = {1, 3}, seqs_set2[] = {4};
    s_nodes_t *ns = *state;
    s_node_t *a = &ns->a, *b = &ns->b, *c = &ns->c;
    void *from_a = NULL, *from_b = NULL;
    size_t from_a_len = 0, from_b_len = 0;
    wire_doc_t doc_a, doc_b;
    const wire_section_t *sa, *sb;
    mesh_import_report_t rep = {.size = sizeof rep};
    char dig_a[65], dig_c[65];

    assert_int_equal(mesh_peer_add(b->m, a->id, "a", NULL, 0), MESH_OK);
    assert_int_equal(mesh_peer_add(c->m, a->id, "a", NULL, 0), MESH_OK);
    s_commit(a->m, "notes", keys1, values1, 3);
    s_commit(a->m, "notes", keys2, values2, 1);
    assert_int_equal(mesh_export(a->m, NULL, 0, NULL, 0, &from_a, &from_a_len), MESH_OK);
    assert_int_equal(mesh_import(b->m, from_a, from_a_len, &rep), MESH_OK);
    assert_int_equal(rep.sets_rejected + rep.sets_held, 0);
    mesh_free(rep.text);
    assert_int_equal(mesh_export(b->m, NULL, 0, NULL, 0, &from_b, &from_b_len), MESH_OK);

    assert_int_equal(wire_doc_decode(from_a, from_a_len, false, &doc_a), MESH_OK);
    assert_int_equal(wire_doc_decode(from_b, from_b_len, false, &doc_b), MESH_OK);
    sa = s_find_section(&doc_a, "notes");
    sb = s_find_section(&doc_b, "notes");
    assert_non_null(sa);
    assert_non_null(sb);
    assert_int_equal(sa->set_count, 2);
    s_expect_set(sa->sets[0], sa->set_lens[0], a->pk, "notes", 1, 3, seqs_set1, 2, true);
    s_expect_set(sa->sets[1], sa->set_lens[1], a->pk, "notes", 4, 1, seqs_set2, 1, false);
    assert_int_equal(sb->set_count, 2);
    for (size_t i = 0; i < 2; i++) {
        assert_int_equal(sb->set_lens[i], sa->set_lens[i]);
        assert_memory_equal(sb->sets[i], sa->sets[i], sa->set_lens[i]);
    }
    wire_doc_release(&doc_b);
    wire_doc_release(&doc_a);

    /* C holds back B's own membership records (B is not a member there), applies A's sets. */
    assert_int_equal(mesh_import(c->m, from_b, from_b_len, &rep), MESH_OK);
    assert_int_equal(rep.sets_rejected, 0);
    assert_true(rep.sets_held >= 1);
    assert_true(rep.sets_new >= 2);
    assert_non_null(rep.text);
    mesh_free(rep.text);
    util_expect(c->m, "notes", "x", "1");
    util_expect(c->m, "notes", "y", "22");
    util_expect(c->m, "notes", "z", "3");
    util_digest(a->m, "notes", dig_a);
    util_digest(c->m, "notes", dig_c);
    assert_string_equal(dig_a, dig_c);

    mesh_free(from_b);
    mesh_free(from_a);
}

static int
s_group_setup(void **state)
{
    (void)state;
    s_samples_build();
    return 0;
}

static int
s_group_teardown(void **state)
{
    (void)state;
    s_samples_release();
    return 0;
}

/* A vector file naming more collections than a home may hold (MESH_COLLS_MAX) is refused
 * whole (ETOOBIG); one naming exactly that many decodes. Each section has one entry. */
static mesh_err_t
s_vector_of_colls(size_t n)
{
    wire_buf_t out;
    uint64_t extra = 0;
    const uint64_t *extras[1] = {&extra};
    wire_vv_t vv = {.incarnation = 1, .base = 5};
    wire_buf_init(&out);
    assert_int_equal(wire_vector_begin(n, &out), MESH_OK);
    for (size_t i = 0; i < n; i++) {
        char name[32];
        snprintf(name, sizeof name, "c%zu", i);
        assert_int_equal(wire_vector_section(name, &vv, extras, 1, &out), MESH_OK);
    }
    vector_t *v = NULL;
    mesh_err_t err = vector_decode(out.data, out.len, &v);
    CHECK((err == MESH_OK) == (v != NULL));
    vector_free(v);
    wire_buf_release(&out);
    return err;
}

static void
test_bundle_wire_vector_bounds_collections(void **state)
{
    (void)state;
    assert_int_equal(s_vector_of_colls(MESH_COLLS_MAX), MESH_OK);
    assert_int_equal(s_vector_of_colls(MESH_COLLS_MAX + 1), MESH_ETOOBIG);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bundle_wire_bundle_round_trip_no_section),
        cmocka_unit_test(test_bundle_wire_bundle_round_trip_one_section),
        cmocka_unit_test(test_bundle_wire_bundle_round_trip_sections),
        cmocka_unit_test(test_bundle_wire_vector_round_trip),
        cmocka_unit_test(test_bundle_wire_vv_extra_reads_in_place),
        cmocka_unit_test(test_bundle_wire_release_is_idempotent),
        cmocka_unit_test(test_bundle_wire_rejects_wrong_tag),
        cmocka_unit_test(test_bundle_wire_rejects_other_kind),
        cmocka_unit_test(test_bundle_wire_rejects_trailing_byte),
        cmocka_unit_test(test_bundle_wire_rejects_every_truncation),
        cmocka_unit_test(test_bundle_wire_decode_against_prot_none_fence),
        cmocka_unit_test(test_bundle_wire_rejects_extras_out_of_order),
        cmocka_unit_test(test_bundle_wire_bounds_counts_by_bytes),
        cmocka_unit_test(test_bundle_wire_rejects_bad_fields),
        cmocka_unit_test(test_bundle_wire_rejects_set_over_cap),
        cmocka_unit_test(test_bundle_wire_vector_bounds_collections),
        cmocka_unit_test(test_bundle_wire_rejects_non_shortest_forms),
        cmocka_unit_test_setup_teardown(test_bundle_wire_export_import_through_the_api,
                                        s_nodes_setup, s_nodes_teardown),
        cmocka_unit_test_setup_teardown(test_bundle_wire_relayed_partial_set, s_nodes_setup,
                                        s_nodes_teardown),
    };

    return cmocka_run_group_tests(tests, s_group_setup, s_group_teardown);
}
