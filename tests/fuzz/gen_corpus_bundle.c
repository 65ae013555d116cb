/* tests/fuzz/gen_corpus_bundle.c: writes the seed corpus of fuzz_bundle into a directory: real
 * bundles and vector files from three nodes, made through the public API (puts, an overwrite and
 * a delete, so that the first set goes out partial; a relayed bundle; an export since a vector;
 * a vector with extras), and near-misses (truncated, a trailing byte, the other kind's tag,
 * unsorted extras, section counts with no bytes behind them).
 * Not built by the Makefile; run by hand after a layout change, from the top directory:
 *   make build/libmeshsync.a && cc -std=c11 -D_DEFAULT_SOURCE -Iinclude -I. \
 *     tests/fuzz/gen_corpus_bundle.c build/libmeshsync.a \
 *     $(pkg-config --libs libsodium libzmq lmdb msgpack) -o build/gen_corpus_bundle && \
 *     build/gen_corpus_bundle tests/fuzz/corpus/bundle
 * Layer: tests. Third-party: none. SPDX-License-Identifier: MIT */
#define _XOPEN_SOURCE 700 /* nftw, to remove the nodes' homes */

#include "core/wire/buf.h"
#include "core/wire/doc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ftw.h>

#include "meshsync.h"

static const char *s_dir;

static void
s_die(const char *what)
{
    fprintf(stderr, "gen_corpus_bundle: %s\n", what);
    exit(1);
}

static void
s_ok(mesh_err_t err, const char *what)
{
    if (err != MESH_OK) {
        fprintf(stderr, "gen_corpus_bundle: %s: %s\n", what, mesh_strerror(err));
        exit(1);
    }
}

static void
s_write(const char *name, const void *p, size_t len)
{
    char path[512];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", s_dir, name);
    f = fopen(path, "wb");
    if (f == NULL || (len > 0 && fwrite(p, 1, len, f) != len) || fclose(f) != 0) {
        s_die(path);
    }
}

/* ---- nodes ---- */

typedef struct s_node {
    char dir[64];
    char home[96];
    mesh_t *m;
    char id[MESH_ID_TEXT_LEN + 1];
} s_node_t;

static void
s_node_open(s_node_t *n, const char *name)
{
    mesh_options_t o;

    memset(n, 0, sizeof(*n));
    snprintf(n->dir, sizeof(n->dir), "/tmp/gen_corpus_bundle.XXXXXX");
    if (mkdtemp(n->dir) == NULL) {
        s_die("mkdtemp");
    }
    snprintf(n->home, sizeof(n->home), "%s/home", n->dir);
    memset(&o, 0, sizeof(o));
    o.size = sizeof(o);
    o.home = n->home;
    o.create = true;
    o.offline = true;
    o.name = name;
    s_ok(mesh_open(&o, &n->m), "mesh_open");
    s_ok(mesh_device_id(n->m, n->id, sizeof(n->id)), "mesh_device_id");
}

static int
s_remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static void
s_node_close(s_node_t *n)
{
    mesh_close(n->m);
    if (nftw(n->dir, s_remove_entry, 16, FTW_DEPTH | FTW_PHYS) != 0) {
        s_die("removing a home");
    }
}

/* One transaction on coll: keys[i] = values[i], or a delete where values[i] is NULL. */
static void
s_commit(mesh_t *m, const char *coll, const char *const *keys, const char *const *values, size_t n)
{
    mesh_txn_t *txn = NULL;

    s_ok(mesh_txn_begin(m, coll, &txn), "mesh_txn_begin");
    for (size_t i = 0; i < n; i++) {
        if (values[i]) {
            s_ok(mesh_put(txn, keys[i], strlen(keys[i]), values[i], strlen(values[i])), "mesh_put");
        } else {
            s_ok(mesh_del(txn, keys[i], strlen(keys[i])), "mesh_del");
        }
    }
    s_ok(mesh_txn_commit(&txn, NULL), "mesh_txn_commit");
}

/* A blob from mesh_export or mesh_vector. */
typedef struct s_blob {
    void *p;
    size_t len;
} s_blob_t;

static void
s_export(mesh_t *m, const char *const *colls, size_t ncolls, const s_blob_t *since, s_blob_t *out)
{
    s_ok(mesh_export(m, colls, ncolls, since ? since->p : NULL, since ? since->len : 0, &out->p,
                     &out->len),
         "mesh_export");
}

static void
s_vector(mesh_t *m, s_blob_t *out)
{
    s_ok(mesh_vector(m, NULL, 0, &out->p, &out->len), "mesh_vector");
}

static void
s_import(mesh_t *m, const s_blob_t *b)
{
    mesh_import_report_t rep = {.size = sizeof rep};

    s_ok(mesh_import(m, b->p, b->len, &rep), "mesh_import");
    if (rep.sets_rejected) {
        s_die("a set was rejected");
    }
    mesh_free(rep.text);
}

/* Write b and, as near-misses, b without its last byte and with a trailing byte. */
static void
s_write_with_misses(const char *name, const s_blob_t *b)
{
    char miss[128];
    uint8_t *p = malloc(b->len + 1);

    if (p == NULL) {
        s_die("out of memory");
    }
    s_write(name, b->p, b->len);
    snprintf(miss, sizeof(miss), "bad-%s-truncated", name);
    s_write(miss, b->p, b->len - 1);
    memcpy(p, b->p, b->len);
    p[b->len] = 0xc0;
    snprintf(miss, sizeof(miss), "bad-%s-trailing", name);
    s_write(miss, p, b->len + 1);
    free(p);
}

/* Re-encode bundle b keeping only the last set of section coll and no watermarks: a gap, as a
 * relay that lost some sets would send it. */
static void
s_bundle_last_set_only(const s_blob_t *b, const char *coll, wire_buf_t *out)
{
    wire_doc_t doc;
    char name[MESH_COLL_MAX + 1];

    s_ok(wire_doc_decode(b->p, b->len, false, &doc), "wire_doc_decode");
    s_ok(wire_bundle_begin(doc.count, out), "wire_bundle_begin");
    for (size_t i = 0; i < doc.count; i++) {
        const wire_section_t *sec = &doc.sections[i];
        bool keep = sec->coll_len == strlen(coll) && memcmp(sec->coll, coll, sec->coll_len) == 0;

        memcpy(name, sec->coll, sec->coll_len);
        name[sec->coll_len] = '\0';
        s_ok(wire_section_begin(name, keep && sec->set_count ? 1 : 0, out), "section");
        if (keep && sec->set_count) {
            s_ok(wire_section_set(sec->sets[sec->set_count - 1], sec->set_lens[sec->set_count - 1],
                                  out),
                 "section set");
        }
        s_ok(wire_section_marks(NULL, 0, out), "section marks");
    }
    wire_doc_release(&doc);
}

/* ---- hand-made near-misses ---- */

static void
s_write_crafted(void)
{
    static const uint64_t unsorted[] = {9, 7};
    wire_buf_t b;
    wire_vv_t vv;
    const uint64_t *extras[] = {unsorted};

    wire_buf_init(&b);
    /* A section count with no section behind it, small and huge. */
    s_ok(wire_bundle_begin(1, &b), "begin");
    s_write("crash-bundle-section-count-no-bytes", b.data, b.len);
    wire_buf_reset(&b);
    s_ok(wire_vector_begin(1, &b), "begin");
    s_write("crash-vector-section-count-no-bytes", b.data, b.len);
    wire_buf_reset(&b);
    s_ok(wire_bundle_begin(0xffffffffu, &b), "begin");
    s_write("crash-bundle-section-count-huge", b.data, b.len);
    /* Extras not ascending, and one at the base. */
    memset(&vv, 0, sizeof(vv));
    memset(vv.origin, 0x11, sizeof(vv.origin));
    vv.incarnation = 1;
    vv.base = 5;
    vv.extra_count = 2;
    wire_buf_reset(&b);
    s_ok(wire_vector_begin(1, &b), "begin");
    s_ok(wire_vector_section("notes", &vv, extras, 1, &b), "vector section");
    s_write("bad-vector-extras-unsorted", b.data, b.len);
    vv.base = 7;
    vv.extra_count = 1;
    extras[0] = unsorted + 1;
    wire_buf_reset(&b);
    s_ok(wire_vector_begin(1, &b), "begin");
    s_ok(wire_vector_section("notes", &vv, extras, 1, &b), "vector section");
    s_write("bad-vector-extra-at-base", b.data, b.len);
    wire_buf_release(&b);
}

int
main(int argc, char **argv)
{
    static const char *const k1[] = {"x", "y", "z"}, *const v1[] = {"1", "2", "3"};
    static const char *const k2[] = {"y"}, *const v2[] = {"22"};
    static const char *const k3[] = {"x"}, *const v3[] = {NULL};
    static const char *const k4[] = {"t1", "t2"}, *const v4[] = {"buy milk", ""};
    static const char *const k5[] = {"w"}, *const v5[] = {"5"};
    static const char *const k6[] = {"w", "v"}, *const v6[] = {NULL, "6"};
    static const char *const todo[] = {"todo"};
    s_node_t a, b, c;
    s_blob_t a_full, a_todo, a_vec, b_vec0, b_relay, b_vec, a_since, a_since2, c_fresh, c_vec,
        b_vec_gap;
    wire_buf_t gap;

    if (argc != 2) {
        fprintf(stderr, "usage: %s DIR\n", argv[0]);
        return 2;
    }
    s_dir = argv[1];
    s_node_open(&a, "a");
    s_node_open(&b, "b");
    s_node_open(&c, "c");
    s_ok(mesh_peer_add(b.m, a.id, "a", NULL, 0), "mesh_peer_add");

    /* A: three puts in one set, then an overwrite and a delete of two of them: the first set
     * goes out partial (one live op of three, with its proof). */
    s_commit(a.m, "notes", k1, v1, 3);
    s_commit(a.m, "notes", k2, v2, 1);
    s_commit(a.m, "notes", k3, v3, 1);
    s_commit(a.m, "todo", k4, v4, 2);
    s_export(a.m, NULL, 0, NULL, &a_full);
    s_write_with_misses("bundle-a-full", &a_full);
    s_write("bad-bundle-a-full-half", a_full.p, a_full.len / 2);
    s_export(a.m, todo, 1, NULL, &a_todo);
    s_write("bundle-a-todo-only", a_todo.p, a_todo.len);
    s_vector(a.m, &a_vec);
    s_write_with_misses("vector-a", &a_vec);

    /* B: its vector before and after importing A's bundle; its relay of A's sets. */
    s_vector(b.m, &b_vec0);
    s_write("vector-b-own-only", b_vec0.p, b_vec0.len);
    s_import(b.m, &a_full);
    s_export(b.m, NULL, 0, NULL, &b_relay);
    s_write("bundle-b-relay-partial", b_relay.p, b_relay.len);
    s_vector(b.m, &b_vec);
    s_write("vector-b", b_vec.p, b_vec.len);

    /* A: one more put, exported since B's vector: one set of one op. */
    s_commit(a.m, "notes", k5, v5, 1);
    s_export(a.m, NULL, 0, &b_vec, &a_since);
    s_write_with_misses("bundle-a-since-b", &a_since);

    /* A: two more sets; B gets only the last one, with no watermark: its vector has an extra. */
    s_commit(a.m, "notes", k6, v6, 2);
    s_commit(a.m, "notes", k2, v2, 1);
    s_export(a.m, NULL, 0, &b_vec, &a_since2);
    s_write("bundle-a-since-b-three-sets", a_since2.p, a_since2.len);
    wire_buf_init(&gap);
    s_bundle_last_set_only(&a_since2, "notes", &gap);
    s_write("bundle-a-gap-no-marks", gap.data, gap.len);
    {
        s_blob_t g = {gap.data, gap.len};

        s_import(b.m, &g);
    }
    s_vector(b.m, &b_vec_gap);
    s_write_with_misses("vector-b-extras", &b_vec_gap);
    wire_buf_release(&gap);

    /* C: a fresh node, and the other kind's tag on a real document. */
    s_export(c.m, NULL, 0, NULL, &c_fresh);
    s_write("bundle-c-fresh", c_fresh.p, c_fresh.len);
    s_vector(c.m, &c_vec);
    s_write("vector-c-fresh", c_vec.p, c_vec.len);
    memcpy((uint8_t *)a_since.p + 2, WIRE_VECTOR_TAG, strlen(WIRE_VECTOR_TAG));
    s_write("bad-bundle-with-vector-tag", a_since.p, a_since.len);
    memcpy((uint8_t *)c_vec.p + 2, WIRE_BUNDLE_TAG, strlen(WIRE_BUNDLE_TAG));
    s_write("bad-vector-with-bundle-tag", c_vec.p, c_vec.len);
    s_write_crafted();

    mesh_free(a_full.p);
    mesh_free(a_todo.p);
    mesh_free(a_vec.p);
    mesh_free(b_vec0.p);
    mesh_free(b_relay.p);
    mesh_free(b_vec.p);
    mesh_free(a_since.p);
    mesh_free(a_since2.p);
    mesh_free(c_fresh.p);
    mesh_free(c_vec.p);
    mesh_free(b_vec_gap.p);
    s_node_close(&c);
    s_node_close(&b);
    s_node_close(&a);
    return 0;
}
