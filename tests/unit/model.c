/* tests/unit/model.c: the in-process model engine of test_model and test_model_members (see
 * model.h): nodes and their homes, the oracle's writes and contexts, transfers, the slow
 * path between two nodes, the checks after each step, the dumps.
 * Layer: tests. Third-party: cmocka. SPDX-License-Identifier: MIT */
#include "model.h"

#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/apply/apply.h"
#include "core/base/node.h"
#include "core/bundle/repair.h"
#include "core/data/recon.h"
#include "core/wire/buf.h"
#include "core/wire/doc.h"
#include "crypto/ident.h"
#include "store/store.h"
#include "util.h"

const char *const MODEL_COLLS[MODEL_NCOLL] = {"m", "n"};

static char g_root[200];
static mesh_t *g_open[MODEL_MAXN];

/* ---- homes ---- */

int
model_root_make(const char *name)
{
    const char *base = getenv("MESH_TEST_TMPDIR");
    struct stat sb;
    if (!base || !*base) {
        base = stat("/dev/shm", &sb) == 0 && S_ISDIR(sb.st_mode) && access("/dev/shm", W_OK) == 0
                   ? "/dev/shm"
                   : "/tmp";
    }
    snprintf(g_root, sizeof g_root, "%s/%s.XXXXXX", base, name);
    memset(g_open, 0, sizeof g_open);
    return mkdtemp(g_root) ? 0 : -1;
}

int
model_root_remove(void)
{
    for (size_t i = 0; i < MODEL_MAXN; i++) {
        mesh_close(g_open[i]);
        g_open[i] = NULL;
    }
    int rc = util_rm_tree(g_root);
    util_where[0] = '\0';
    return rc == 0 ? 0 : -1;
}

const char *
model_root(void)
{
    return g_root;
}

/* MESH_TEST_TRACE: the library's log lines too, with the node's number. */
static void
s_log(void *ctx, int level, const char *message)
{
    (void)level;
    print_message("    [n%d] %s\n", (int)(intptr_t)ctx, message);
}

void
model_open(model_t *md, int i, bool create)
{
    model_node_t *nd = &md->nodes[i];
    mesh_options_t o = {.size = sizeof o,
                        .home = nd->home,
                        .create = create,
                        .offline = true,
                        .map_size = 16u << 20,
                        .horizon = nd->horizon};
    if (getenv("MESH_TEST_TRACE")) {
        o.log = s_log;
        o.log_ctx = (void *)(intptr_t)i;
        o.log_level = MESH_LOG_INFO;
    }
    CHECK_OK(mesh_open(&o, &nd->m));
    g_open[i] = nd->m;
    CHECK_OK(mesh_device_id(nd->m, nd->id, sizeof nd->id));
}

void
model_close(model_t *md, int i)
{
    mesh_close(md->nodes[i].m);
    md->nodes[i].m = NULL;
    g_open[i] = NULL;
}

static void
s_sub(const model_t *md, char *sub, size_t size)
{
    snprintf(sub, size, "%.200s/seed%u", g_root, md->seed);
}

void
model_begin(model_t *md, unsigned seed, uint64_t salt, unsigned del_odds)
{
    char sub[224];
    memset(md, 0, sizeof *md);
    md->seed = seed;
    md->rng = salt * 1000003u + seed;
    md->n = 4 + (int)(seed % 3);
    md->step = -1;
    md->del_odds = del_odds;
    snprintf(util_where, sizeof util_where, "seed %u: set-up", seed);
    s_sub(md, sub, sizeof sub);
    CHECK_EQ(mkdir(sub, 0700), 0);
    for (int i = 0; i < md->n; i++) {
        snprintf(md->nodes[i].home, sizeof md->nodes[i].home, "%.224s/n%d", sub, i);
        model_open(md, i, true);
    }
    for (int i = 1; i < md->n; i++) { /* everyone trusts everyone */
        for (int j = 0; j < i; j++) {
            CHECK_OK(mesh_peer_add(md->nodes[i].m, md->nodes[j].id, NULL, NULL, 0));
            CHECK_OK(mesh_peer_add(md->nodes[j].m, md->nodes[i].id, NULL, NULL, 0));
        }
    }
}

void
model_end(model_t *md)
{
    char sub[224];
    for (int i = 0; i < md->n; i++) {
        model_close(md, i);
    }
    s_sub(md, sub, sizeof sub);
    CHECK_EQ(util_rm_tree(sub), 0);
    util_where[0] = '\0';
}

/* Copy the tree src onto dst. With keep, files already at dst are rewritten in place (they
 * keep their inodes: `cp -r src/. dst/`) and directories already there are entered. */
static int
s_copy_tree(const char *src, const char *dst, bool keep)
{
    struct stat sb, db;
    if (lstat(src, &sb) != 0) {
        return -1;
    }
    if (S_ISDIR(sb.st_mode)) {
        DIR *dir = NULL;
        struct dirent *e;
        int rc = keep && stat(dst, &db) == 0 && S_ISDIR(db.st_mode) ? 0 : mkdir(dst, 0700);
        if (rc == 0 && (dir = opendir(src)) == NULL) {
            rc = -1;
        }
        while (rc == 0 && (e = readdir(dir)) != NULL) {
            char s1[1024], d1[1024];
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) {
                continue;
            }
            snprintf(s1, sizeof s1, "%s/%s", src, e->d_name);
            snprintf(d1, sizeof d1, "%s/%s", dst, e->d_name);
            rc = s_copy_tree(s1, d1, keep);
        }
        if (dir) {
            closedir(dir);
        }
        return rc;
    }
    FILE *in = fopen(src, "rb"), *out = fopen(dst, "wb"); /* "wb": truncated, same inode */
    char chunk[65536];
    size_t n = 0;
    int rc = in && out ? 0 : -1;
    while (rc == 0 && (n = fread(chunk, 1, sizeof chunk, in)) > 0) {
        rc = fwrite(chunk, 1, n, out) == n ? 0 : -1;
    }
    if (in) {
        fclose(in);
    }
    if (out && fclose(out) != 0) {
        rc = -1;
    }
    return rc == 0 ? chmod(dst, sb.st_mode & 07777) : rc;
}

static ino_t
s_inode(const char *home)
{
    char path[512];
    struct stat sb;
    snprintf(path, sizeof path, "%s/store/data.mdb", home);
    CHECK_EQ(stat(path, &sb), 0);
    return sb.st_ino;
}

void
model_backup(model_t *md, int d)
{
    model_node_t *nd = &md->nodes[d];
    model_close(md, d);
    if (nd->backup[0]) {
        CHECK_EQ(util_rm_tree(nd->backup), 0);
    }
    size_t hl = strlen(nd->home);
    memcpy(nd->backup, nd->home, hl);
    memcpy(nd->backup + hl, ".bak", 5);
    CHECK_EQ(s_copy_tree(nd->home, nd->backup, false), 0);
    model_open(md, d, false);
}

void
model_restore(model_t *md, int d, bool in_place)
{
    model_node_t *nd = &md->nodes[d];
    model_close(md, d);
    ino_t before = s_inode(nd->home);
    if (!in_place) {
        CHECK_EQ(util_rm_tree(nd->home), 0);
    }
    CHECK_EQ(s_copy_tree(nd->backup, nd->home, true), 0);
    CHECK(in_place == (s_inode(nd->home) == before));
    model_open(md, d, false);
    md->n_inplace += in_place;
    md->n_newfile += !in_place;
}

/* ---- randomness ---- */

static uint64_t
s_rand(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

unsigned
model_pick(model_t *md, unsigned n)
{
    return (unsigned)(s_rand(&md->rng) % n);
}

void
model_pair(model_t *md, int *s, int *d)
{
    *s = (int)model_pick(md, (unsigned)md->n);
    *d = (int)model_pick(md, (unsigned)md->n - 1);
    *d += *d >= *s;
}

/* ---- the oracle ---- */

int
model_key_coll(int key)
{
    return key < 6 ? 0 : 1;
}

const char *
model_coll_at(int c)
{
    return c < MODEL_NCOLL ? MODEL_COLLS[c] : "_mesh";
}

int
model_node_of(const model_t *md, const char *origin)
{
    for (int i = 0; i < md->n; i++) {
        if (strcmp(md->nodes[i].id, origin) == 0) {
            return i;
        }
    }
    return -1;
}

int
model_node_of_pk(const model_t *md, const uint8_t *pk)
{
    for (int i = 0; i < md->n; i++) {
        if (memcmp(ident_public_key(md->nodes[i].m->ident), pk, WIRE_ORIGIN_LEN) == 0) {
            return i;
        }
    }
    return -1;
}

long
model_write_of(const model_t *md, int key, const mesh_item_version_t *v)
{
    int node = model_node_of(md, v->origin);
    for (size_t j = 0; j < md->nw; j++) {
        const model_write_t *w = &md->w[j];
        if (w->key == key && w->node == node && w->inc == v->incarnation && w->seq == v->seq &&
            w->hlc == v->hlc && w->del == v->deleted &&
            (w->del ||
             (v->value_len == strlen(w->value) && memcmp(v->value, w->value, v->value_len) == 0))) {
            return (long)j;
        }
    }
    return -1;
}

void
model_clock_join(model_clock_t *c, int node, uint64_t inc, uint64_t seq)
{
    for (size_t i = 0; i < c->n; i++) {
        if (c->e[i].node == node && c->e[i].inc == inc) {
            c->e[i].seq = seq > c->e[i].seq ? seq : c->e[i].seq;
            return;
        }
    }
    CHECK(c->n < MODEL_CTX);
    c->e[c->n++] = (model_dot_t){node, inc, seq};
}

void
model_clock_add(model_clock_t *c, const model_clock_t *x)
{
    for (size_t i = 0; i < x->n; i++) {
        model_clock_join(c, x->e[i].node, x->e[i].inc, x->e[i].seq);
    }
}

void
model_ctx_take(model_write_t *w, const model_write_t *x)
{
    model_clock_add(&w->ctx, &x->ctx);
    model_clock_join(&w->ctx, x->node, x->inc, x->seq);
}

bool
model_covers(const model_write_t *a, const model_write_t *b)
{
    for (size_t i = 0; i < a->ctx.n; i++) {
        const model_dot_t *e = &a->ctx.e[i];
        if (e->node == b->node && e->inc == b->inc && e->seq >= b->seq) {
            return true;
        }
    }
    return false;
}

void
model_floor_take(const model_t *md, int d, int key, model_write_t *w)
{
    for (size_t j = 0; j < md->nw; j++) {
        const model_write_t *x = &md->w[j];
        if (x->key == key && x->del && (x->coll_by & (1u << d))) {
            model_ctx_take(w, x);
        }
    }
}

size_t
model_held(model_t *md, int d, int key, long *out)
{
    char k[16];
    mesh_item_version_list_t *vs = NULL;
    snprintf(k, sizeof k, "k%d", key);
    mesh_err_t err =
        mesh_get_versions(md->nodes[d].m, MODEL_COLLS[model_key_coll(key)], k, strlen(k), &vs);
    if (err == MESH_ENOTFOUND) {
        return 0;
    }
    CHECK_OK(err);
    size_t n = mesh_item_version_list_count(vs);
    for (size_t i = 0; i < n; i++) {
        const mesh_item_version_t *v = mesh_item_version_list_get(vs, i);
        out[i] = model_write_of(md, key, v);
        if (out[i] < 0) {
            util_print_where();
            fail_msg("n%d k%d: a version no write made: n%d inc %llu seq %llu %s '%.*s'", d, key,
                     model_node_of(md, v->origin), (unsigned long long)v->incarnation,
                     (unsigned long long)v->seq, v->deleted ? "del" : "put", (int)v->value_len,
                     v->value ? (const char *)v->value : "");
        }
    }
    mesh_item_version_list_free(vs);
    return n;
}

void
model_vec_max(model_t *md, int d, uint64_t out[MODEL_MAXN][MODEL_NCOLL])
{
    void *vec = NULL;
    size_t vlen = 0;
    wire_doc_t doc;
    memset(out, 0, sizeof(uint64_t) * MODEL_MAXN * MODEL_NCOLL);
    CHECK_OK(mesh_vector(md->nodes[d].m, NULL, 0, &vec, &vlen));
    CHECK_OK(wire_doc_decode(vec, vlen, true, &doc));
    for (size_t i = 0; i < doc.count; i++) {
        const wire_section_t *sec = &doc.sections[i];
        int c = -1;
        for (int k = 0; k < MODEL_NCOLL; k++) {
            c = sec->coll_len == strlen(MODEL_COLLS[k]) &&
                        memcmp(sec->coll, MODEL_COLLS[k], sec->coll_len) == 0
                    ? k
                    : c;
        }
        for (size_t j = 0; c >= 0 && j < sec->vv_count; j++) {
            const wire_vv_t *vv = &sec->vvs[j];
            int o = model_node_of_pk(md, vv->origin);
            uint64_t top = vv->base;
            if (vv->extra_count) { /* fixed-width: 0xcf and 8 bytes big-endian each */
                const uint8_t *p = vv->extra + (vv->extra_count - 1) * 9 + 1;
                top = 0;
                for (int b = 0; b < 8; b++) {
                    top = top << 8 | p[b];
                }
            }
            if (o >= 0 && top > out[o][c]) {
                out[o][c] = top;
            }
        }
    }
    wire_doc_release(&doc);
    mesh_free(vec);
}

/* ---- checks ---- */

void
model_check_digests(model_t *md, int d)
{
    for (int c = 0; c < MODEL_NCOLL; c++) {
        util_check_digest(md->nodes[d].m, MODEL_COLLS[c]);
    }
    util_check_digest(md->nodes[d].m, "_mesh");
}

void
model_check_node(model_t *md, int d)
{
    long held[STORE_SIBLINGS_MAX];
    for (int key = 0; key < MODEL_KEYS; key++) {
        (void)model_held(md, d, key, held);
    }
    for (int c = 0; c < MODEL_NCOLL; c++) {
        mesh_iter_t *it = NULL;
        const uint8_t *k = NULL, *v = NULL;
        size_t kl = 0, vl = 0;
        bool conflict = false;
        mesh_err_t err =
            mesh_iter_open_ex(md->nodes[d].m, MODEL_COLLS[c], NULL, 0, MESH_ITER_TOMBSTONES, &it);
        if (err == MESH_ENOTFOUND) {
            continue;
        }
        CHECK_OK(err);
        while ((err = mesh_iter_next(it, &k, &kl, &v, &vl, &conflict)) == MESH_OK) {
            mesh_item_version_list_t *vs = NULL;
            void *gv = NULL;
            size_t glen = 0;
            CHECK_OK(mesh_get_versions(md->nodes[d].m, MODEL_COLLS[c], k, kl, &vs));
            const mesh_item_version_t *win = mesh_item_version_list_get(vs, 0);
            CHECK(win->is_winner);
            CHECK_EQ(conflict, mesh_item_version_list_count(vs) > 1);
            err = mesh_get(md->nodes[d].m, MODEL_COLLS[c], k, kl, &gv, &glen);
            if (win->deleted) {
                CHECK_EQ(err, MESH_ENOTFOUND);
                CHECK(v == NULL);
            } else {
                CHECK_OK(err);
                CHECK(glen == win->value_len && vl == glen);
                CHECK(glen == 0 || (memcmp(gv, win->value, glen) == 0 && memcmp(v, gv, glen) == 0));
            }
            mesh_free(gv);
            mesh_item_version_list_free(vs);
        }
        mesh_iter_close(it);
        CHECK_EQ(err, MESH_ENOTFOUND);
    }
    model_check_digests(md, d);
}

/* Without forks a chain adds nothing to its last link, as contexts join down it; with them
 * it does: z built on one twin of a dot covers the other twin x too (§5.7), but not what
 * x's context covered, and once every holder of w took x (which covers w), w is gone for
 * good, whatever later becomes of x. The oracle forgets writes gone with a step that may
 * take them (a later restore of an older copy may bring them back). */
void
model_world(model_t *md, model_lose_t lose)
{
    static long held[MODEL_MAXN][MODEL_KEYS][STORE_SIBLINGS_MAX];
    static bool found[MODEL_MAXW];
    size_t nh[MODEL_MAXN][MODEL_KEYS];
    for (int d = 0; d < md->n; d++) {
        for (int key = 0; key < MODEL_KEYS; key++) {
            nh[d][key] = model_held(md, d, key, held[d][key]);
        }
    }
    for (size_t j = 0; j < md->nw; j++) {
        const model_write_t *w = &md->w[j];
        found[j] = false;
        for (int d = 0; d < md->n && !found[j]; d++) {
            for (size_t h = 0; h < nh[d][w->key] && !found[j]; h++) {
                long x = held[d][w->key][h];
                found[j] = x == (long)j || model_covers(&md->w[x], w);
            }
        }
    }
    for (bool more = true; more;) { /* down the chains */
        more = false;
        for (size_t j = 0; j < md->nw; j++) {
            for (size_t i = 0; i < md->nw && !found[j]; i++) {
                found[j] = i != j && found[i] && md->w[i].key == md->w[j].key &&
                           model_covers(&md->w[i], &md->w[j]);
                more |= found[j];
            }
        }
    }
    for (size_t j = 0; j < md->nw; j++) {
        const model_write_t *w = &md->w[j];
        bool may = lose == MODEL_LOSE_ANY;
        if (lose == MODEL_LOSE_TOMBSTONES) { /* a live write nothing covers may never go */
            may = w->del;
            for (size_t i = 0; i < md->nw && !may; i++) {
                may = i != j && md->w[i].key == w->key && model_covers(&md->w[i], w);
            }
        }
        if (!found[j] && !md->gone[j] && !may) {
            util_print_where();
            fail_msg("no node holds or supersedes a write of k%d any more: n%d inc %llu seq %llu "
                     "%s '%s' (seed %u step %d)",
                     w->key, w->node, (unsigned long long)w->inc, (unsigned long long)w->seq,
                     w->del ? "del" : "put", w->value, md->seed, md->step);
        }
        md->gone[j] = !found[j];
    }
}

/* ---- steps ---- */

void
model_trace_write(const model_t *md, size_t j)
{
    const model_write_t *w = &md->w[j];
    if (!getenv("MESH_TEST_TRACE")) {
        return;
    }
    print_message("  w%zu: n%d k%d inc %llu seq %llu %s '%s'%s ctx", j, w->node, w->key,
                  (unsigned long long)w->inc, (unsigned long long)w->seq, w->del ? "del" : "put",
                  w->value, w->redo ? " (anew)" : "");
    for (size_t c = 0; c < w->ctx.n; c++) {
        print_message(" n%d/%llu/%llu", w->ctx.e[c].node, (unsigned long long)w->ctx.e[c].inc,
                      (unsigned long long)w->ctx.e[c].seq);
    }
    print_message("\n");
}

void
model_write(model_t *md, int d)
{
    int coll = model_pick(md, 3) == 0 ? 1 : 0;
    unsigned nops = model_pick(md, 4) == 0 ? 2 + model_pick(md, 2) : 1;
    int keys[3];
    model_write_t *ws[3];
    mesh_txn_t *txn = NULL;
    uint64_t first = 0;
    long held[STORE_SIBLINGS_MAX];
    CHECK(md->nw + nops <= MODEL_MAXW);
    CHECK_OK(mesh_txn_begin(md->nodes[d].m, MODEL_COLLS[coll], &txn));
    for (unsigned i = 0; i < nops; i++) {
        bool again;
        do { /* distinct keys in one transaction */
            keys[i] = coll == 0 ? (int)model_pick(md, 6) : 6 + (int)model_pick(md, 3);
            again = false;
            for (unsigned j = 0; j < i; j++) {
                again |= keys[j] == keys[i];
            }
        } while (again);
        model_write_t *w = ws[i] = &md->w[md->nw + i];
        memset(w, 0, sizeof *w);
        w->node = d;
        w->key = keys[i];
        w->del = model_pick(md, md->del_odds) == 0;
        if (!w->del && model_pick(md, 16) != 0) {
            snprintf(w->value, sizeof w->value, "n%d.%u", d, ++md->counter);
        }
        /* the context: what this node holds of the key, as it shows it; on a key it holds
         * no item of, its collection floors (§8.4) */
        size_t nh = model_held(md, d, keys[i], held);
        for (size_t h = 0; h < nh; h++) {
            model_ctx_take(w, &md->w[held[h]]);
        }
        if (nh == 0) {
            model_floor_take(md, d, keys[i], w);
        }
        char k[16];
        snprintf(k, sizeof k, "k%d", keys[i]);
        if (w->del) {
            CHECK_OK(mesh_del(txn, k, strlen(k)));
        } else {
            CHECK_OK(mesh_put(txn, k, strlen(k), w->value, strlen(w->value)));
        }
    }
    CHECK_OK(mesh_txn_commit(&txn, &first));
    CHECK(first >= 1);
    for (unsigned i = 0; i < nops; i++) {
        /* the write is now the key's one version here: its incarnation and clock */
        mesh_item_version_list_t *vs = NULL;
        char k[16];
        snprintf(k, sizeof k, "k%d", keys[i]);
        CHECK_OK(mesh_get_versions(md->nodes[d].m, MODEL_COLLS[coll], k, strlen(k), &vs));
        CHECK_EQ(mesh_item_version_list_count(vs), 1);
        const mesh_item_version_t *v = mesh_item_version_list_get(vs, 0);
        CHECK(strcmp(v->origin, md->nodes[d].id) == 0);
        CHECK_EQ(v->seq, first + i);
        CHECK_EQ(v->deleted, ws[i]->del);
        ws[i]->inc = v->incarnation;
        ws[i]->seq = v->seq;
        ws[i]->hlc = v->hlc;
        mesh_item_version_list_free(vs);
    }
    md->nw += nops;
    for (unsigned i = 0; i < nops; i++) {
        model_trace_write(md, md->nw - nops + i);
    }
    model_check_digests(md, d);
}

/* The scattered part of model_transfer: a random part of the bundle's sets, in random
 * order, in batches of 1..3, without watermarks. */
static size_t
s_scatter(model_t *md, int d, const void *b, size_t blen, bool strict)
{
    wire_doc_t doc;
    const uint8_t *sets[512];
    size_t lens[512], n = 0, fresh = 0;
    apply_result_t res[3];
    CHECK_OK(wire_doc_decode(b, blen, false, &doc));
    for (size_t i = 0; i < doc.count; i++) {
        for (size_t j = 0; j < doc.sections[i].set_count && n < 512; j++) {
            if (model_pick(md, 2) == 0) {
                sets[n] = doc.sections[i].sets[j];
                lens[n++] = doc.sections[i].set_lens[j];
            }
        }
    }
    for (size_t i = n; i > 1; i--) {
        size_t j = model_pick(md, (unsigned)i);
        const uint8_t *t = sets[i - 1];
        size_t tl = lens[i - 1];
        sets[i - 1] = sets[j];
        lens[i - 1] = lens[j];
        sets[j] = t;
        lens[j] = tl;
    }
    for (size_t i = 0; i < n;) {
        size_t k = 1 + model_pick(md, 3);
        k = k > n - i ? n - i : k;
        CHECK_OK(apply_batch(md->nodes[d].m, sets + i, lens + i, k, NULL, res));
        for (size_t j = 0; j < k; j++) {
            if (strict && (res[j].outcome == APPLY_REJECTED || res[j].outcome == APPLY_HELD)) {
                util_print_where();
                fail_msg("scattered set into n%d: outcome %d (%s): %.*s", d, (int)res[j].outcome,
                         mesh_strerror(res[j].err), (int)sizeof res[j].why, res[j].why);
            }
            fresh += res[j].outcome == APPLY_NEW;
        }
        i += k;
    }
    wire_doc_release(&doc);
    return fresh;
}

size_t
model_transfer(model_t *md, int s, int d, bool since, bool scatter, bool strict, size_t *refused)
{
    void *vec = NULL, *b = NULL;
    size_t vlen = 0, blen = 0, fresh = 0;
    if (since) {
        CHECK_OK(mesh_vector(md->nodes[d].m, NULL, 0, &vec, &vlen));
    }
    mesh_err_t err = mesh_export(md->nodes[s].m, NULL, 0, vec, vlen, &b, &blen);
    if (err != MESH_OK) {
        util_print_where();
        fail_msg("export from n%d: %s: %s", s, mesh_strerror(err), mesh_errmsg(md->nodes[s].m));
    }
    mesh_free(vec);
    if (scatter) {
        fresh = s_scatter(md, d, b, blen, strict);
        mesh_free(b);
        return fresh;
    }
    mesh_import_report_t rep = {.size = sizeof rep};
    CHECK_OK(mesh_import(md->nodes[d].m, b, blen, &rep));
    if (strict && (rep.sets_rejected || rep.sets_held)) {
        util_print_where();
        fail_msg("import into n%d: %zu rejected, %zu held: %s", d, rep.sets_rejected, rep.sets_held,
                 rep.text ? rep.text : "(no text)");
    }
    if (refused) {
        *refused += rep.sets_rejected;
    }
    fresh = rep.sets_new;
    mesh_free(rep.text);
    mesh_free(b);
    return fresh;
}

/* Snapshot coll of node d under key (an empty one when d has no such collection). */
static recon_set_t *
s_snapshot(model_t *md, int d, const char *coll, const uint8_t *key)
{
    store_txn_t *txn = NULL;
    uint32_t cid = 0;
    recon_set_t *set = NULL;
    CHECK_OK(store_read_begin(md->nodes[d].m->store, &txn));
    mesh_err_t err = store_coll_id(txn, coll, false, &cid);
    if (err == MESH_ENOTFOUND) {
        err = recon_set_new(&set);
    } else if (err == MESH_OK) {
        err = recon_set_load(txn, cid, key, &set);
    }
    store_read_end(txn);
    CHECK_OK(err);
    return set;
}

/* Export one REPAIR message's bundle from side s (of about limit bytes of sets) and apply it
 * at side d; *next moves on. Returns whether it was the last. */
static bool
s_repair_step(model_t *md, int s, int d, const char *coll, const recon_set_t *set, const recon_t *r,
              size_t *next, size_t limit)
{
    wire_buf_t b;
    size_t items = 0, stored = 0;
    wire_buf_init(&b);
    CHECK_OK(repair_export(md->nodes[s].m, coll, set, r, next, limit, &b, &items));
    CHECK_OK(repair_apply(md->nodes[d].m, coll, b.data, b.len, &stored));
    md->n_repair_items += items;
    wire_buf_release(&b);
    return *next >= recon_set_count(set);
}

/* a starts with its first range list, the two answer each other's lists until both are
 * done, then each sends the versions it marked in messages of about limit bytes
 * (interleaved, as two sides of a session would). */
void
model_repair(model_t *md, int a, int b, const char *coll)
{
    uint8_t key[RECON_KEY_LEN];
    for (size_t i = 0; i < sizeof key; i++) {
        key[i] = (uint8_t)model_pick(md, 256);
    }
    recon_set_t *sa = s_snapshot(md, a, coll, key), *sb = s_snapshot(md, b, coll, key);
    recon_t *ra = NULL, *rb = NULL;
    wire_buf_t in, out;
    wire_buf_init(&in);
    wire_buf_init(&out);
    CHECK_OK(recon_new(sa, &ra));
    CHECK_OK(recon_new(sb, &rb));
    CHECK_OK(recon_start(ra, &in));
    recon_t *turn = rb;
    for (int round = 0; !(recon_done(ra) && recon_done(rb)); round++) {
        bool send = false;
        CHECK(round < 2 * (int)RECON_ROUNDS_MAX);
        wire_buf_reset(&out);
        CHECK_OK(recon_answer(turn, in.data, in.len, &out, &send));
        if (!send) {
            /* a list that asks nothing ends it for both */
            CHECK(recon_done(turn));
            break;
        }
        wire_buf_t t = in;
        in = out;
        out = t;
        turn = turn == ra ? rb : ra;
    }
    CHECK(recon_done(ra) && recon_done(rb));
    size_t limit = model_pick(md, 2) ? 1 : 1u << 20, na = 0, nb = 0;
    bool done_a = false, done_b = false;
    while (!done_a || !done_b) {
        if (!done_a && (done_b || model_pick(md, 2))) {
            done_a = s_repair_step(md, a, b, coll, sa, ra, &na, limit);
        } else {
            done_b = s_repair_step(md, b, a, coll, sb, rb, &nb, limit);
        }
    }
    recon_free(ra);
    recon_free(rb);
    recon_set_free(sa);
    recon_set_free(sb);
    wire_buf_release(&in);
    wire_buf_release(&out);
    md->n_repairs++;
}

void
model_all_to_all(model_t *md, int pass, const bool *skip, bool strict)
{
    bool quiet = false;
    for (int round = 0; round < 8 && !quiet; round++) {
        size_t fresh = 0;
        for (int s = 0; s < md->n; s++) {
            for (int d = 0; d < md->n; d++) {
                if (s != d && !(skip && (skip[s] || skip[d]))) {
                    snprintf(util_where, sizeof util_where,
                             "seed %u: final pass %d round %d, n%d -> n%d", md->seed, pass, round,
                             s, d);
                    fresh += model_transfer(md, s, d, round % 2 == 0, false, strict, NULL);
                }
            }
        }
        quiet = fresh == 0;
    }
    snprintf(util_where, sizeof util_where, "seed %u: final pass %d", md->seed, pass);
    CHECK(quiet);
}

bool
model_repair_differing(model_t *md, int pass, const bool *skip)
{
    bool equal = true;
    for (int a = 0; a < md->n; a++) {
        for (int b = a + 1; b < md->n; b++) {
            char da[MODEL_NCOLL + 1][65], db[MODEL_NCOLL + 1][65];
            if (skip && (skip[a] || skip[b])) {
                continue;
            }
            model_digests(md, a, da);
            model_digests(md, b, db);
            for (int c = 0; c <= MODEL_NCOLL; c++) {
                if (strcmp(da[c], db[c]) != 0) {
                    snprintf(util_where, sizeof util_where,
                             "seed %u: final pass %d, repair of \"%s\" between n%d and n%d",
                             md->seed, pass, model_coll_at(c), a, b);
                    model_repair(md, a, b, model_coll_at(c));
                    model_check_node(md, a);
                    model_check_node(md, b);
                    equal = false;
                }
            }
        }
    }
    return equal;
}

/* ---- dumps ---- */

void
model_digests(model_t *md, int d, char dg[MODEL_NCOLL + 1][65])
{
    for (int c = 0; c <= MODEL_NCOLL; c++) {
        util_digest(md->nodes[d].m, model_coll_at(c), dg[c]);
    }
}

void
model_print_held(const model_t *md, int d, int key, const long *held, size_t nh)
{
    print_error("  n%d holds %zu version(s) of k%d:\n", d, nh, key);
    for (size_t h = 0; h < nh; h++) {
        const model_write_t *x = &md->w[held[h]];
        print_error("    w%ld: n%d inc %llu seq %llu '%s'%s%s collected by %#x\n", held[h], x->node,
                    (unsigned long long)x->inc, (unsigned long long)x->seq, x->value,
                    x->del ? " (deleted)" : "", x->redo ? " (anew)" : "", x->coll_by);
    }
}

void
model_dump_all(model_t *md)
{
    long held[STORE_SIBLINGS_MAX];
    for (int d = 0; d < md->n; d++) {
        char dg[MODEL_NCOLL + 1][65];
        model_digests(md, d, dg);
        print_error("n%d (incarnation %llu): digests m %.8s n %.8s _mesh %.8s\n", d,
                    (unsigned long long)store_incarnation(md->nodes[d].m->store), dg[0], dg[1],
                    dg[2]);
        void *vec = NULL;
        size_t vlen = 0;
        wire_doc_t doc;
        CHECK_OK(mesh_vector(md->nodes[d].m, NULL, 0, &vec, &vlen));
        CHECK_OK(wire_doc_decode(vec, vlen, true, &doc));
        for (size_t i = 0; i < doc.count; i++) {
            print_error("  vector of '%.*s':", (int)doc.sections[i].coll_len, doc.sections[i].coll);
            for (size_t j = 0; j < doc.sections[i].vv_count; j++) {
                const wire_vv_t *vv = &doc.sections[i].vvs[j];
                print_error(" n%d/%llu:%llu+%zu", model_node_of_pk(md, vv->origin),
                            (unsigned long long)(vv->incarnation % 1000),
                            (unsigned long long)vv->base, vv->extra_count);
            }
            print_error("\n");
        }
        wire_doc_release(&doc);
        mesh_free(vec);
        for (int key = 0; key < MODEL_KEYS; key++) {
            size_t nh = model_held(md, d, key, held);
            model_print_held(md, d, key, held, nh);
        }
    }
}
