/* tests/unit/test_model.c: the reconcile engine on 4..6 nodes in one process, no sockets,
 * with what delta sync alone cannot mend (issue 15): random writes and transfers (full and
 * --since bundles, some sets of a bundle in any order) mixed with
 * - forks: a node's home restored in place from an earlier copy (each file rewritten, so the
 *   store file keeps its inode, as `cp -r backup/. home/` does), after which it writes
 *   again: overlapping headers of one incarnation reach the others in any order;
 * - restores into a new file (a new inode: a new incarnation at open);
 * - lying watermarks: a member's batch (its own sets, or none) or a bundle file claiming
 *   dots never sent, of any origin, the receiver's own included, up to 2^64-1;
 * - items deleted behind the vector's back (what tests/tools/unstore does to a home);
 * - the slow path between two nodes: core/data/recon.c's range lists answered back and
 *   forth, then core/bundle/repair.c's repair_export / repair_apply both ways, as
 *   core/sync/repair.c drives them (in process, at random export sizes).
 * The oracle, written apart from the library: every write any node made, with its dot and
 * the causal context its writer built (PROTOCOL §5.3: the join of the contexts and dots of
 * the versions of the key it held, as the node showed them just before). A write is
 * superseded when another write of the key has a context covering its signed dot (§5.7: in
 * every forked header alike). After each step every write is held somewhere, or superseded
 * through a chain of writes ending in a held one, unless the step was a restore or an
 * unstore. After a final all-to-all of normal transfers and a repair of
 * every collection of every pair whose digests disagree (repeated until none does), every
 * node must hold every write that no write still in the world supersedes (so no write is
 * lost and both sides of a fork stay), none that such a write supersedes, and no version
 * another it holds covers (one covered only by superseded writes, across a fork, may stay
 * or go); every digest must match its recount and be equal everywhere, and
 * each store, closed and opened again, must list, read and export. After every step: no
 * version the oracle does not know, digests equal to their recounts.
 * MESH_TEST_SEEDS: how many seeds (default 40; 2 under valgrind); MESH_TEST_SEED: the first
 * (default 1; alone, it runs just that one). A failure prints seed and step.
 * test_model_regressions: the seeds that found bugs (fixed), named. MESH_TEST_TRACE=1
 * prints each step, each write with its context, and the library's log.
 * Homes live in $MESH_TEST_TMPDIR, else /dev/shm, else /tmp.
 * Layer: tests. Third-party: cmocka. SPDX-License-Identifier: MIT */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
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
#include "core/data/version.h"
#include "core/wire/buf.h"
#include "core/wire/doc.h"
#include "crypto/ident.h"
#include "meshsync.h"
#include "store/store.h"
#include "util.h"

/* ---- homes ---- */

#define T_MAXN 6

static char g_root[200];
static mesh_t *g_open[T_MAXN];

typedef struct t_node {
    char home[256];
    char backup[264]; /* an earlier copy of home ("" : none yet) */
    char id[MESH_ID_TEXT_LEN + 1];
    mesh_t *m;
} t_node_t;

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

static int
s_setup(void **state)
{
    (void)state;
    const char *base = getenv("MESH_TEST_TMPDIR");
    struct stat sb;
    if (!base || !*base) {
        base = stat("/dev/shm", &sb) == 0 && S_ISDIR(sb.st_mode) && access("/dev/shm", W_OK) == 0
                   ? "/dev/shm"
                   : "/tmp";
    }
    snprintf(g_root, sizeof g_root, "%s/test_model.XXXXXX", base);
    memset(g_open, 0, sizeof g_open);
    return mkdtemp(g_root) ? 0 : -1;
}

static int
s_teardown(void **state)
{
    (void)state;
    for (size_t i = 0; i < T_MAXN; i++) {
        mesh_close(g_open[i]);
        g_open[i] = NULL;
    }
    int rc = util_rm_tree(g_root);
    util_where[0] = '\0';
    return rc == 0 ? 0 : -1;
}

/* MESH_TEST_TRACE: the library's log lines too, with the node's number. */
static void
s_log(void *ctx, int level, const char *message)
{
    (void)level;
    print_message("    [n%d] %s\n", (int)(intptr_t)ctx, message);
}

static void
s_open(t_node_t *nd, int i, bool create)
{
    mesh_options_t o = {.size = sizeof o,
                        .home = nd->home,
                        .create = create,
                        .offline = true,
                        .map_size = 16u << 20};
    if (getenv("MESH_TEST_TRACE")) {
        o.log = s_log;
        o.log_ctx = (void *)(intptr_t)i;
        o.log_level = MESH_LOG_INFO;
    }
    CHECK_OK(mesh_open(&o, &nd->m));
    g_open[i] = nd->m;
    CHECK_OK(mesh_device_id(nd->m, nd->id, sizeof nd->id));
}

static void
s_close(t_node_t *nd, int i)
{
    mesh_close(nd->m);
    nd->m = NULL;
    g_open[i] = NULL;
}

/* ---- the oracle ---- */

#define T_NCOLL 2
static const char *const T_COLLS[T_NCOLL] = {"m", "n"};
#define T_KEYS 9 /* k0..k5 in "m", k6..k8 in "n" */
#define T_MAXW 1024
#define T_CTX  48

static int
s_key_coll(int key)
{
    return key < 6 ? 0 : 1;
}

/* A context entry: (origin node, signed incarnation) -> the highest seq covered. */
typedef struct t_ctx {
    int node;
    uint64_t inc, seq;
} t_ctx_t;

/* One write: its dot, key, content and clock, and the context its writer built. */
typedef struct t_write {
    int node, key;
    uint64_t inc, seq, hlc;
    bool del;
    char value[32];
    t_ctx_t ctx[T_CTX];
    size_t nctx;
} t_write_t;

typedef struct t_model {
    unsigned seed;
    int step, n;
    uint64_t rng;
    t_node_t nodes[T_MAXN];
    t_write_t w[T_MAXW];
    size_t nw;
    bool gone[T_MAXW]; /* the write's last trace went with a restore or an unstore */
    unsigned counter;
    /* statistics */
    size_t n_gone, n_inplace, n_newfile, n_lies, n_unstored, n_repairs, n_repair_items, n_forked,
        n_final_passes;
} t_model_t;

static uint64_t
s_rand(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static unsigned
s_pick(t_model_t *md, unsigned n)
{
    return (unsigned)(s_rand(&md->rng) % n);
}

static int
s_node_of(const t_model_t *md, const char *origin)
{
    for (int i = 0; i < md->n; i++) {
        if (strcmp(md->nodes[i].id, origin) == 0) {
            return i;
        }
    }
    return -1;
}

/* The write that version v is (by its dot, clock and content), or -1. */
static long
s_write_of(const t_model_t *md, int key, const mesh_item_version_t *v)
{
    int node = s_node_of(md, v->origin);
    for (size_t j = 0; j < md->nw; j++) {
        const t_write_t *w = &md->w[j];
        if (w->key == key && w->node == node && w->inc == v->incarnation && w->seq == v->seq &&
            w->hlc == v->hlc && w->del == v->deleted &&
            (w->del ||
             (v->value_len == strlen(w->value) && memcmp(v->value, w->value, v->value_len) == 0))) {
            return (long)j;
        }
    }
    return -1;
}

static void
s_ctx_join(t_write_t *w, int node, uint64_t inc, uint64_t seq)
{
    for (size_t i = 0; i < w->nctx; i++) {
        if (w->ctx[i].node == node && w->ctx[i].inc == inc) {
            w->ctx[i].seq = seq > w->ctx[i].seq ? seq : w->ctx[i].seq;
            return;
        }
    }
    CHECK(w->nctx < T_CTX);
    w->ctx[w->nctx++] = (t_ctx_t){node, inc, seq};
}

/* Does write a's context cover write b's dot? */
static bool
s_covers(const t_write_t *a, const t_write_t *b)
{
    for (size_t i = 0; i < a->nctx; i++) {
        if (a->ctx[i].node == b->node && a->ctx[i].inc == b->inc && a->ctx[i].seq >= b->seq) {
            return true;
        }
    }
    return false;
}

/* The versions node d holds of key: each must be a write the oracle knows (indexes into
 * out, count returned). With no versions, 0. */
static size_t
s_held(t_model_t *md, int d, int key, long *out)
{
    char k[16];
    mesh_item_version_list_t *vs = NULL;
    snprintf(k, sizeof k, "k%d", key);
    mesh_err_t err = mesh_get_versions(md->nodes[d].m, T_COLLS[s_key_coll(key)], k, strlen(k), &vs);
    if (err == MESH_ENOTFOUND) {
        return 0;
    }
    CHECK_OK(err);
    size_t n = mesh_item_version_list_count(vs);
    for (size_t i = 0; i < n; i++) {
        const mesh_item_version_t *v = mesh_item_version_list_get(vs, i);
        out[i] = s_write_of(md, key, v);
        if (out[i] < 0) {
            util_print_where();
            fail_msg("n%d k%d: a version no write made: n%d inc %llu seq %llu %s '%.*s'", d, key,
                     s_node_of(md, v->origin), (unsigned long long)v->incarnation,
                     (unsigned long long)v->seq, v->deleted ? "del" : "put", (int)v->value_len,
                     v->value ? (const char *)v->value : "");
        }
    }
    mesh_item_version_list_free(vs);
    return n;
}

/* ---- checks ---- */

static void
s_check_digests(t_model_t *md, int d)
{
    for (int c = 0; c < T_NCOLL; c++) {
        util_check_digest(md->nodes[d].m, T_COLLS[c]);
    }
    util_check_digest(md->nodes[d].m, "_mesh");
}

/* Every version of every key is a known write; mesh_get and the iterator agree with the
 * winner of mesh_get_versions. */
static void
s_check_node(t_model_t *md, int d)
{
    long held[STORE_SIBLINGS_MAX];
    for (int key = 0; key < T_KEYS; key++) {
        (void)s_held(md, d, key, held);
    }
    for (int c = 0; c < T_NCOLL; c++) {
        mesh_iter_t *it = NULL;
        const uint8_t *k = NULL, *v = NULL;
        size_t kl = 0, vl = 0;
        bool conflict = false;
        mesh_err_t err =
            mesh_iter_open_ex(md->nodes[d].m, T_COLLS[c], NULL, 0, MESH_ITER_TOMBSTONES, &it);
        if (err == MESH_ENOTFOUND) {
            continue;
        }
        CHECK_OK(err);
        while ((err = mesh_iter_next(it, &k, &kl, &v, &vl, &conflict)) == MESH_OK) {
            mesh_item_version_list_t *vs = NULL;
            void *gv = NULL;
            size_t glen = 0;
            CHECK_OK(mesh_get_versions(md->nodes[d].m, T_COLLS[c], k, kl, &vs));
            const mesh_item_version_t *win = mesh_item_version_list_get(vs, 0);
            CHECK(win->is_winner);
            CHECK_EQ(conflict, mesh_item_version_list_count(vs) > 1);
            err = mesh_get(md->nodes[d].m, T_COLLS[c], k, kl, &gv, &glen);
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
    s_check_digests(md, d);
}

/* Is every write still in the world: held by some node, or superseded through a chain of
 * writes, each covering the next (its writer held the one it covers), that ends in a held
 * version? Without forks a chain adds nothing to its last link, as contexts join down it; with
 * them it does: z built on one twin of a dot covers the other twin x too (§5.7), but not what
 * x's context covered, and once every holder of w took x (which covers w), w is gone for good,
 * whatever later becomes of x. A restore or an unstore (destroying) may take the last trace
 * of writes: they are gone (the oracle forgets them; a later restore of an older copy may
 * bring them back). Any other step must lose none. */
static void
s_world(t_model_t *md, bool destroying)
{
    static long held[T_MAXN][T_KEYS][STORE_SIBLINGS_MAX];
    static bool found[T_MAXW];
    size_t nh[T_MAXN][T_KEYS];
    for (int d = 0; d < md->n; d++) {
        for (int key = 0; key < T_KEYS; key++) {
            nh[d][key] = s_held(md, d, key, held[d][key]);
        }
    }
    for (size_t j = 0; j < md->nw; j++) {
        const t_write_t *w = &md->w[j];
        found[j] = false;
        for (int d = 0; d < md->n && !found[j]; d++) {
            for (size_t h = 0; h < nh[d][w->key] && !found[j]; h++) {
                long x = held[d][w->key][h];
                found[j] = x == (long)j || s_covers(&md->w[x], w);
            }
        }
    }
    for (bool more = true; more;) { /* down the chains */
        more = false;
        for (size_t j = 0; j < md->nw; j++) {
            for (size_t i = 0; i < md->nw && !found[j]; i++) {
                found[j] = i != j && found[i] && md->w[i].key == md->w[j].key &&
                           s_covers(&md->w[i], &md->w[j]);
                more |= found[j];
            }
        }
    }
    for (size_t j = 0; j < md->nw; j++) {
        const t_write_t *w = &md->w[j];
        if (!found[j] && !md->gone[j] && !destroying) {
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

static void
s_write(t_model_t *md, int d)
{
    int coll = s_pick(md, 3) == 0 ? 1 : 0;
    unsigned nops = s_pick(md, 4) == 0 ? 2 + s_pick(md, 2) : 1;
    int keys[3];
    t_write_t *ws[3];
    mesh_txn_t *txn = NULL;
    uint64_t first = 0;
    long held[STORE_SIBLINGS_MAX];
    CHECK(md->nw + nops <= T_MAXW);
    CHECK_OK(mesh_txn_begin(md->nodes[d].m, T_COLLS[coll], &txn));
    for (unsigned i = 0; i < nops; i++) {
        bool again;
        do { /* distinct keys in one transaction */
            keys[i] = coll == 0 ? (int)s_pick(md, 6) : 6 + (int)s_pick(md, 3);
            again = false;
            for (unsigned j = 0; j < i; j++) {
                again |= keys[j] == keys[i];
            }
        } while (again);
        t_write_t *w = ws[i] = &md->w[md->nw + i];
        memset(w, 0, sizeof *w);
        w->node = d;
        w->key = keys[i];
        w->del = s_pick(md, 5) == 0;
        if (!w->del && s_pick(md, 16) != 0) {
            snprintf(w->value, sizeof w->value, "n%d.%u", d, ++md->counter);
        }
        /* the context: what this node holds of the key, as it shows it */
        size_t nh = s_held(md, d, keys[i], held);
        for (size_t h = 0; h < nh; h++) {
            const t_write_t *x = &md->w[held[h]];
            for (size_t c = 0; c < x->nctx; c++) {
                s_ctx_join(w, x->ctx[c].node, x->ctx[c].inc, x->ctx[c].seq);
            }
            s_ctx_join(w, x->node, x->inc, x->seq);
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
        CHECK_OK(mesh_get_versions(md->nodes[d].m, T_COLLS[coll], k, strlen(k), &vs));
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
    if (getenv("MESH_TEST_TRACE")) {
        for (unsigned i = 0; i < nops; i++) {
            const t_write_t *w = ws[i];
            print_message("  w%zu: n%d k%d inc %llu seq %llu %s '%s' ctx", md->nw - nops + i,
                          w->node, w->key, (unsigned long long)w->inc, (unsigned long long)w->seq,
                          w->del ? "del" : "put", w->value);
            for (size_t c = 0; c < w->nctx; c++) {
                print_message(" n%d/%llu/%llu", w->ctx[c].node, (unsigned long long)w->ctx[c].inc,
                              (unsigned long long)w->ctx[c].seq);
            }
            print_message("\n");
        }
    }
    s_check_digests(md, d);
}

static void
s_pair(t_model_t *md, int *s, int *d)
{
    *s = (int)s_pick(md, (unsigned)md->n);
    *d = (int)s_pick(md, (unsigned)md->n - 1);
    *d += *d >= *s;
}

/* A bundle from s for d (since: what d's vector lacks). Imported whole; or, with scatter,
 * a random part of its sets in random order, in batches of 1..3, without watermarks. No set
 * may be rejected or held (every node is a member). Returns the sets new at d. */
static size_t
s_transfer(t_model_t *md, int s, int d, bool since, bool scatter)
{
    void *vec = NULL, *b = NULL;
    size_t vlen = 0, blen = 0, fresh = 0;
    if (since) {
        CHECK_OK(mesh_vector(md->nodes[d].m, NULL, 0, &vec, &vlen));
    }
    CHECK_OK(mesh_export(md->nodes[s].m, NULL, 0, vec, vlen, &b, &blen));
    mesh_free(vec);
    if (!scatter) {
        mesh_import_report_t rep = {.size = sizeof rep};
        CHECK_OK(mesh_import(md->nodes[d].m, b, blen, &rep));
        if (rep.sets_rejected || rep.sets_held) {
            util_print_where();
            fail_msg("import into n%d: %zu rejected, %zu held: %s", d, rep.sets_rejected,
                     rep.sets_held, rep.text ? rep.text : "(no text)");
        }
        fresh = rep.sets_new;
        mesh_free(rep.text);
        mesh_free(b);
        return fresh;
    }
    wire_doc_t doc;
    const uint8_t *sets[512];
    size_t lens[512], n = 0;
    apply_result_t res[3];
    CHECK_OK(wire_doc_decode(b, blen, false, &doc));
    for (size_t i = 0; i < doc.count; i++) {
        for (size_t j = 0; j < doc.sections[i].set_count && n < 512; j++) {
            if (s_pick(md, 2) == 0) {
                sets[n] = doc.sections[i].sets[j];
                lens[n++] = doc.sections[i].set_lens[j];
            }
        }
    }
    for (size_t i = n; i > 1; i--) {
        size_t j = s_pick(md, (unsigned)i);
        const uint8_t *t = sets[i - 1];
        size_t tl = lens[i - 1];
        sets[i - 1] = sets[j];
        lens[i - 1] = lens[j];
        sets[j] = t;
        lens[j] = tl;
    }
    for (size_t i = 0; i < n;) {
        size_t k = 1 + s_pick(md, 3);
        k = k > n - i ? n - i : k;
        CHECK_OK(apply_batch(md->nodes[d].m, sets + i, lens + i, k, NULL, res));
        for (size_t j = 0; j < k; j++) {
            if (res[j].outcome == APPLY_REJECTED || res[j].outcome == APPLY_HELD) {
                util_print_where();
                fail_msg("scattered set into n%d: outcome %d (%s): %.*s", d, (int)res[j].outcome,
                         mesh_strerror(res[j].err), (int)sizeof res[j].why, res[j].why);
            }
            fresh += res[j].outcome == APPLY_NEW;
        }
        i += k;
    }
    wire_doc_release(&doc);
    mesh_free(b);
    return fresh;
}

/* Close node d, copy its home aside (its backup), open it again. */
static void
s_backup(t_model_t *md, int d)
{
    t_node_t *nd = &md->nodes[d];
    s_close(nd, d);
    if (nd->backup[0]) {
        CHECK_EQ(util_rm_tree(nd->backup), 0);
    }
    size_t hl = strlen(nd->home);
    memcpy(nd->backup, nd->home, hl);
    memcpy(nd->backup + hl, ".bak", 5);
    CHECK_EQ(s_copy_tree(nd->home, nd->backup, false), 0);
    s_open(nd, d, false);
}

/* Close node d and restore its backup: in place (each file rewritten, the store file keeps
 * its inode), or into new files (a new inode); open it again. */
static void
s_restore(t_model_t *md, int d, bool in_place)
{
    t_node_t *nd = &md->nodes[d];
    s_close(nd, d);
    ino_t before = s_inode(nd->home);
    if (!in_place) {
        CHECK_EQ(util_rm_tree(nd->home), 0);
    }
    CHECK_EQ(s_copy_tree(nd->backup, nd->home, true), 0);
    CHECK(in_place == (s_inode(nd->home) == before));
    s_open(nd, d, false);
    md->n_inplace += in_place;
    md->n_newfile += !in_place;
}

/* The last seq node o signed in collection coll under its current incarnation (0: none). */
static uint64_t
s_last_seq(const t_model_t *md, int o, int coll, uint64_t inc)
{
    uint64_t last = 0;
    for (size_t j = 0; j < md->nw; j++) {
        const t_write_t *w = &md->w[j];
        if (w->node == o && s_key_coll(w->key) == coll && w->inc == inc && w->seq > last) {
            last = w->seq;
        }
    }
    return last;
}

/* Member l lies to v: watermarks over dots never sent (any origin, v's own included, up to
 * 2^64-1), alone in a bundle file (no sender), or in a batch beside l's own sets for v. */
static void
s_lie(t_model_t *md, int l, int v, int coll, bool file)
{
    wire_mark_t marks[3];
    size_t nm = 1 + s_pick(md, 3);
    for (size_t i = 0; i < nm; i++) {
        int o = s_pick(md, 4) == 0 ? v : (int)s_pick(md, (unsigned)md->n);
        uint64_t inc = store_incarnation(md->nodes[o].m->store);
        if (s_pick(md, 4) == 0 && md->nw) { /* an incarnation of o's writes, maybe an old one */
            size_t j = s_pick(md, (unsigned)md->nw);
            o = md->w[j].node;
            inc = md->w[j].inc;
        }
        uint64_t last = s_last_seq(md, o, coll, inc), seq;
        switch (s_pick(md, 4)) {
        case 0:
            seq = UINT64_MAX;
            break;
        case 1:
            seq = UINT64_MAX - s_pick(md, 3);
            break;
        case 2:
            seq = last + 1 + s_pick(md, 5);
            break;
        default:
            seq = 1 + s_pick(md, (unsigned)(last + 1));
            break;
        }
        memcpy(marks[i].origin, ident_public_key(md->nodes[o].m->ident), WIRE_ORIGIN_LEN);
        marks[i].incarnation = inc;
        marks[i].seq = seq;
        marks[i].from = seq > 3 && s_pick(md, 3) == 0 ? 1 + s_pick(md, 3) : 0;
    }
    if (file) {
        wire_buf_t b;
        mesh_import_report_t rep = {.size = sizeof rep};
        wire_buf_init(&b);
        CHECK_OK(wire_bundle_begin(1, &b));
        CHECK_OK(wire_section_begin(T_COLLS[coll], 0, &b));
        CHECK_OK(wire_section_marks(marks, nm, &b));
        CHECK_OK(mesh_import(md->nodes[v].m, b.data, b.len, &rep));
        CHECK_EQ(rep.sets_rejected, 0);
        mesh_free(rep.text);
        wire_buf_release(&b);
    } else {
        /* l's sets of coll for v (what its vector lacks), and the lie beside them */
        void *vec = NULL, *b = NULL;
        size_t vlen = 0, blen = 0;
        const char *colls[1] = {T_COLLS[coll]};
        wire_doc_t doc;
        CHECK_OK(mesh_vector(md->nodes[v].m, NULL, 0, &vec, &vlen));
        CHECK_OK(mesh_export(md->nodes[l].m, colls, 1, vec, vlen, &b, &blen));
        CHECK_OK(wire_doc_decode(b, blen, false, &doc));
        const wire_section_t *sec = &doc.sections[doc.count - 1];
        apply_marks_t am = {T_COLLS[coll], strlen(T_COLLS[coll]), marks, nm};
        apply_result_t *res = calloc(sec->set_count + 1, sizeof *res);
        CHECK(res != NULL);
        CHECK(sec->coll_len == strlen(T_COLLS[coll]));
        CHECK_OK(apply_batch(md->nodes[v].m, sec->sets, sec->set_lens, sec->set_count, &am, res));
        for (size_t j = 0; j < sec->set_count; j++) {
            CHECK(res[j].outcome != APPLY_REJECTED && res[j].outcome != APPLY_HELD);
        }
        free(res);
        wire_doc_release(&doc);
        mesh_free(vec);
        mesh_free(b);
    }
    md->n_lies++;
}

typedef struct t_unstore {
    const char *coll, *key;
    bool found;
} t_unstore_t;

/* Delete one item behind its vector's back (as tests/tools/unstore): its records and its
 * share of the digest and counts go; the vector and headers stay. */
static mesh_err_t
s_unstore_fn(store_txn_t *txn, void *arg)
{
    t_unstore_t *u = arg;
    uint32_t cid = 0;
    store_coll_stats_t stats;
    static store_item_t item;
    store_key_t key;
    uint32_t oids[STORE_SIBLINGS_MAX];
    uint64_t seqs[STORE_SIBLINGS_MAX];
    node_store_key((const uint8_t *)u->key, strlen(u->key), &key);
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
    size_t n = err == MESH_OK ? item.count : 0;
    for (size_t i = 0; err == MESH_OK && i < n; i++) {
        const store_version_t *v = &item.versions[i];
        uint8_t origin[32];
        uint64_t inc = 0;
        /* the digest names the signed incarnation (§5.8), also of a forked set's version */
        err = store_origin_signed(txn, v->oid, origin, &inc);
        if (err == MESH_OK) {
            version_digest_apply(stats.digest, origin, inc, v->meta, v->meta_len, true);
            stats.versions--;
        }
        oids[i] = v->oid;
        seqs[i] = v->seq;
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

static void
s_unstore(t_model_t *md, int d, int key)
{
    char k[16];
    snprintf(k, sizeof k, "k%d", key);
    t_unstore_t u = {T_COLLS[s_key_coll(key)], k, false};
    CHECK_OK(store_write(md->nodes[d].m->store, s_unstore_fn, &u));
    md->n_unstored += u.found;
}

/* Snapshot coll of node d under key (an empty one when d has no such collection). */
static recon_set_t *
s_snapshot(t_model_t *md, int d, const char *coll, const uint8_t *key)
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
s_repair_step(t_model_t *md, int s, int d, const char *coll, const recon_set_t *set,
              const recon_t *r, size_t *next, size_t limit)
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

/* The slow path between a and b on coll: a starts with its first range list, the two answer
 * each other's lists until both are done, then each sends the versions it marked in
 * messages of about limit bytes (interleaved, as two sides of a session would). */
static void
s_repair(t_model_t *md, int a, int b, const char *coll)
{
    uint8_t key[RECON_KEY_LEN];
    for (size_t i = 0; i < sizeof key; i++) {
        key[i] = (uint8_t)s_pick(md, 256);
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
    size_t limit = s_pick(md, 2) ? 1 : 1u << 20, na = 0, nb = 0;
    bool done_a = false, done_b = false;
    while (!done_a || !done_b) {
        if (!done_a && (done_b || s_pick(md, 2))) {
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

/* ---- the run ---- */

static void
s_digests(t_model_t *md, int d, char dg[T_NCOLL + 1][65])
{
    for (int c = 0; c < T_NCOLL; c++) {
        util_digest(md->nodes[d].m, T_COLLS[c], dg[c]);
    }
    util_digest(md->nodes[d].m, "_mesh", dg[T_NCOLL]);
}

static const char *
s_coll_at(int c)
{
    return c < T_NCOLL ? T_COLLS[c] : "_mesh";
}

/* Print what every node holds of every key, and each digest (a failure's context). */
static void
s_dump_all(t_model_t *md)
{
    long held[STORE_SIBLINGS_MAX];
    for (int d = 0; d < md->n; d++) {
        char dg[T_NCOLL + 1][65];
        s_digests(md, d, dg);
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
                int o = -1;
                for (int k = 0; k < md->n; k++) {
                    o = memcmp(ident_public_key(md->nodes[k].m->ident), vv->origin, 32) == 0 ? k
                                                                                             : o;
                }
                print_error(" n%d/%llu:%llu+%zu", o, (unsigned long long)(vv->incarnation % 1000),
                            (unsigned long long)vv->base, vv->extra_count);
            }
            print_error("\n");
        }
        wire_doc_release(&doc);
        mesh_free(vec);
        for (int key = 0; key < T_KEYS; key++) {
            size_t nh = s_held(md, d, key, held);
            print_error("  k%d:", key);
            for (size_t h = 0; h < nh; h++) {
                const t_write_t *x = &md->w[held[h]];
                print_error(" w%ld(n%d/%llu/%llu%s)", held[h], x->node,
                            (unsigned long long)(x->inc % 1000), (unsigned long long)x->seq,
                            x->del ? " del" : "");
            }
            print_error("\n");
        }
    }
}

static void
s_print_held(const t_model_t *md, int d, int key, const long *held, size_t nh)
{
    print_error("  n%d holds %zu version(s) of k%d:\n", d, nh, key);
    for (size_t h = 0; h < nh; h++) {
        const t_write_t *x = &md->w[held[h]];
        print_error("    w%ld: n%d inc %llu seq %llu '%s'%s\n", held[h], x->node,
                    (unsigned long long)x->inc, (unsigned long long)x->seq, x->value,
                    x->del ? " (deleted)" : "");
    }
}

/* Node d holds every write of each key that no write still in the world covers (required),
 * none that a required write covers, and no version that another it holds covers. A write
 * covered only by writes themselves superseded (w, covered by x, which z covers from the other
 * side of a fork, §5.7) may be held or not: it stays when a device still held it as z came
 * (x arriving later is obsolete there, rule (b), and the repair spreads w), and is gone when
 * every holder took x first (s_world). Equal digests everywhere make the choice the same on
 * every device. */
static void
s_check_final(t_model_t *md, int d)
{
    long held[STORE_SIBLINGS_MAX];
    static bool required[T_MAXW];
    for (size_t j = 0; j < md->nw; j++) {
        required[j] = !md->gone[j];
        for (size_t i = 0; i < md->nw && required[j]; i++) {
            required[j] = !(i != j && !md->gone[i] && md->w[i].key == md->w[j].key &&
                            s_covers(&md->w[i], &md->w[j]));
        }
    }
    for (int key = 0; key < T_KEYS; key++) {
        size_t nh = s_held(md, d, key, held);
        for (size_t j = 0; j < md->nw; j++) {
            const t_write_t *w = &md->w[j];
            bool found = false;
            for (size_t h = 0; h < nh; h++) {
                found |= held[h] == (long)j;
            }
            if (w->key == key && required[j] && !found) {
                util_print_where();
                s_print_held(md, d, key, held, nh);
                fail_msg("n%d lost a write of k%d: n%d inc %llu seq %llu %s '%s' (seed %u)", d, key,
                         w->node, (unsigned long long)w->inc, (unsigned long long)w->seq,
                         w->del ? "del" : "put", w->value, md->seed);
            }
        }
        for (size_t h = 0; h < nh; h++) {
            const t_write_t *x = &md->w[held[h]];
            long by = -1;
            for (size_t j = 0; j < md->nw && by < 0; j++) {
                by = j != (size_t)held[h] && required[j] && md->w[j].key == key &&
                             s_covers(&md->w[j], x)
                         ? (long)j
                         : -1;
            }
            for (size_t g = 0; g < nh && by < 0; g++) {
                by = g != h && s_covers(&md->w[held[g]], x) ? held[g] : -1;
            }
            if (md->gone[held[h]] || by >= 0) {
                util_print_where();
                s_print_held(md, d, key, held, nh);
                fail_msg("n%d holds w%ld of k%d, which %s%ld supersedes (seed %u)", d, held[h],
                         key, by >= 0 ? "w" : "(gone) ", by, md->seed);
            }
        }
    }
}

static void
s_run(t_model_t *md, unsigned seed)
{
    char sub[224];
    memset(md, 0, sizeof *md);
    md->seed = seed;
    md->rng = 0xf0c5ull * 1000003u + seed;
    md->n = 4 + (int)(seed % 3);
    md->step = -1;
    snprintf(util_where, sizeof util_where, "seed %u: set-up", seed);
    snprintf(sub, sizeof sub, "%.200s/seed%u", g_root, seed);
    CHECK_EQ(mkdir(sub, 0700), 0);
    for (int i = 0; i < md->n; i++) {
        snprintf(md->nodes[i].home, sizeof md->nodes[i].home, "%.224s/n%d", sub, i);
        s_open(&md->nodes[i], i, true);
    }
    for (int i = 1; i < md->n; i++) { /* everyone trusts everyone */
        for (int j = 0; j < i; j++) {
            CHECK_OK(mesh_peer_add(md->nodes[i].m, md->nodes[j].id, NULL, NULL, 0));
            CHECK_OK(mesh_peer_add(md->nodes[j].m, md->nodes[i].id, NULL, NULL, 0));
        }
    }

    int steps = 60 + (int)s_pick(md, 61);
    for (md->step = 0; md->step < steps; md->step++) {
        unsigned r = s_pick(md, 100);
        int s = 0, d = 0;
        char *w = util_where;
        size_t wl = sizeof util_where;
        if (r < 38) {
            s = (int)s_pick(md, (unsigned)md->n);
            snprintf(w, wl, "seed %u step %d: n%d writes", seed, md->step, s);
            s_write(md, s);
            d = s;
        } else if (r < 62) {
            s_pair(md, &s, &d);
            bool since = s_pick(md, 2), scatter = s_pick(md, 4) == 0;
            snprintf(w, wl, "seed %u step %d: n%d -> n%d (%s bundle%s)", seed, md->step, s, d,
                     since ? "since" : "full", scatter ? ", some sets in any order" : "");
            (void)s_transfer(md, s, d, since, scatter);
        } else if (r < 70) {
            d = (int)s_pick(md, (unsigned)md->n);
            snprintf(w, wl, "seed %u step %d: n%d's home copied aside", seed, md->step, d);
            s_backup(md, d);
        } else if (r < 80) {
            d = (int)s_pick(md, (unsigned)md->n);
            if (!md->nodes[d].backup[0]) {
                continue;
            }
            bool in_place = s_pick(md, 3) != 0;
            snprintf(w, wl, "seed %u step %d: n%d restored %s, then writes", seed, md->step, d,
                     in_place ? "in place" : "into a new file");
            s_restore(md, d, in_place);
            for (unsigned k = 1 + s_pick(md, 3); k > 0; k--) {
                s_write(md, d);
            }
        } else if (r < 87) {
            s_pair(md, &s, &d);
            bool file = s_pick(md, 2);
            int coll = (int)s_pick(md, T_NCOLL);
            snprintf(w, wl, "seed %u step %d: n%d lies to n%d about \"%s\" (%s)", seed, md->step, s,
                     d, T_COLLS[coll], file ? "a bundle file" : "a batch");
            s_lie(md, s, d, coll, file);
        } else if (r < 93) {
            d = (int)s_pick(md, (unsigned)md->n);
            int key = (int)s_pick(md, T_KEYS);
            snprintf(w, wl, "seed %u step %d: k%d of n%d deleted behind its vector", seed, md->step,
                     key, d);
            s_unstore(md, d, key);
        } else {
            s_pair(md, &s, &d);
            int c = (int)s_pick(md, T_NCOLL + 1);
            snprintf(w, wl, "seed %u step %d: repair of \"%s\" between n%d and n%d", seed, md->step,
                     s_coll_at(c), s, d);
            s_repair(md, s, d, s_coll_at(c));
            s_check_node(md, s);
        }
        s_check_node(md, d);
        s_world(md, (r >= 70 && r < 80) || (r >= 87 && r < 93)); /* restores, unstores */
        if (getenv("MESH_TEST_TRACE")) {
            print_message("%s\n", util_where);
        }
    }

    /* the end: normal transfers all-to-all until quiet, then a repair of every collection
     * whose digests differ between a pair; again until every digest is equal */
    bool equal = false;
    for (int pass = 0; pass < 2 * T_MAXN && !equal; pass++) {
        bool quiet = false;
        for (int round = 0; round < 8 && !quiet; round++) {
            size_t fresh = 0;
            for (int s = 0; s < md->n; s++) {
                for (int d = 0; d < md->n; d++) {
                    if (s != d) {
                        snprintf(util_where, sizeof util_where,
                                 "seed %u: final pass %d round %d, n%d -> n%d", seed, pass, round,
                                 s, d);
                        fresh += s_transfer(md, s, d, round % 2 == 0, false);
                    }
                }
            }
            quiet = fresh == 0;
        }
        snprintf(util_where, sizeof util_where, "seed %u: final pass %d", seed, pass);
        CHECK(quiet);
        equal = true;
        for (int a = 0; a < md->n; a++) {
            for (int b = a + 1; b < md->n; b++) {
                char da[T_NCOLL + 1][65], db[T_NCOLL + 1][65];
                s_digests(md, a, da);
                s_digests(md, b, db);
                for (int c = 0; c <= T_NCOLL; c++) {
                    if (strcmp(da[c], db[c]) != 0) {
                        snprintf(util_where, sizeof util_where,
                                 "seed %u: final pass %d, repair of \"%s\" between n%d and n%d",
                                 seed, pass, s_coll_at(c), a, b);
                        s_repair(md, a, b, s_coll_at(c));
                        s_check_node(md, a);
                        s_check_node(md, b);
                        equal = false;
                    }
                }
            }
        }
        md->n_final_passes++;
    }
    snprintf(util_where, sizeof util_where, "seed %u: after the final exchange", seed);
    if (!equal) {
        s_dump_all(md);
    }
    CHECK(equal);
    s_world(md, false);
    for (size_t j = 0; j < md->nw; j++) {
        md->n_gone += md->gone[j];
    }
    for (int d = 0; d < md->n; d++) {
        s_check_final(md, d);
    }
    /* every store opens again, lists, reads and exports */
    for (int d = 0; d < md->n; d++) {
        void *b = NULL;
        size_t blen = 0;
        s_close(&md->nodes[d], d);
        s_open(&md->nodes[d], d, false);
        s_check_node(md, d);
        s_check_final(md, d);
        CHECK_OK(mesh_export(md->nodes[d].m, NULL, 0, NULL, 0, &b, &blen));
        mesh_free(b);
    }
    for (int i = 0; i < md->n; i++) {
        s_close(&md->nodes[i], i);
    }
    for (size_t j = 0; j < md->nw; j++) {
        for (size_t i = 0; i < j; i++) {
            md->n_forked += md->w[i].node == md->w[j].node && md->w[i].inc == md->w[j].inc &&
                            md->w[i].seq == md->w[j].seq &&
                            s_key_coll(md->w[i].key) == s_key_coll(md->w[j].key);
        }
    }
    CHECK_EQ(util_rm_tree(sub), 0);
    util_where[0] = '\0';
}

/* Seeds that find a bug not fixed yet: the run of many seeds leaves them out (each prints
 * why); MESH_TEST_SEED=N runs one alone, and fails while the bug stands. None now (0 is
 * no seed: the seeds start at 1). */
static const unsigned s_known_seeds[] = {0};

static bool
s_known(unsigned seed)
{
    for (size_t i = 0; i < sizeof s_known_seeds / sizeof s_known_seeds[0]; i++) {
        if (s_known_seeds[i] == seed && seed != 0) {
            print_message("model: seed %u left out (a known bug: see s_known_seeds)\n", seed);
            return true;
        }
    }
    return false;
}

static void
test_model_random(void **state)
{
    (void)state;
    const char *preload = getenv("LD_PRELOAD");
    unsigned first = 1, count = preload && strstr(preload, "vgpreload") ? 2 : 40;
    const char *one = getenv("MESH_TEST_SEED"), *many = getenv("MESH_TEST_SEEDS");
    if (one && *one) {
        first = (unsigned)strtoul(one, NULL, 10);
        count = 1;
    }
    if (many && *many) {
        count = (unsigned)strtoul(many, NULL, 10);
    }
    t_model_t *md = calloc(1, sizeof *md);
    assert_non_null(md);
    size_t gone = 0, writes = 0, inplace = 0, newfile = 0, lies = 0, unstored = 0, repairs = 0,
           items = 0, forked = 0, passes = 0;
    for (unsigned seed = first; seed < first + count; seed++) {
        if (count > 1 && s_known(seed)) {
            continue;
        }
        s_run(md, seed);
        writes += md->nw;
        gone += md->n_gone;
        inplace += md->n_inplace;
        newfile += md->n_newfile;
        lies += md->n_lies;
        unstored += md->n_unstored;
        repairs += md->n_repairs;
        items += md->n_repair_items;
        forked += md->n_forked;
        passes += md->n_final_passes;
    }
    print_message("model: %u seed(s) from %u: %zu writes (%zu gone with a restore or an unstore, "
                  "%zu pairs sharing a dot), %zu restores "
                  "in place, %zu into a new file, %zu lies, %zu items unstored, %zu repairs "
                  "moving %zu items, %zu final passes\n",
                  count, first, writes, gone, forked, inplace, newfile, lies, unstored, repairs,
                  items, passes);
    free(md);
}

/* Seeds that found bugs, fixed:
 * - 2: repair_export failed with MESH_ENOTFOUND on a side that has no such collection
 *   (core/bundle/repair.c), so in a session that side gave the repair up and ignored the
 *   versions the other side sent;
 * - 9, 23, 29, 36: a forked header lives under its derived incarnation's number (§5.7), and
 *   causal_signed_end (core/apply/causal.c) looked only under the signed one: a device that
 *   held forked headers of (origin, i) took neither a watermark nor a context naming their
 *   seqs as held, and a set whose context named one waited for good, through delta sync
 *   and repair alike (digests unequal for good);
 * - 27: n1, far behind, never took n0's latest set of "n" (seq 4, whose context names seq 1
 *   of n2's incarnation after a restore) nor n2's (seq 2, naming n0's seq 1): the sets of
 *   those first dots were wholly superseded everywhere, so an export carries of each
 *   origin only the later set, whose header reaches them, and each waited for the other's
 *   header, in every pass and repair (causal_ready now takes a verified header of the
 *   same batch, applied or not: core/apply/causal.c).
 * - 126, 255 (an oracle mistake, not the library's): w (126: n3's k4 at seq 2; 255: n3's k5
 *   at seq 1) was superseded on every device by x, whose writer held it (126: n1's seq 2,
 *   255: n2's seq 3), before any fork; then x's origin was restored in place and wrote z on
 *   the key, whose context names x's seq from the other side of the fork (§5.7), and a
 *   repair (126) or a since bundle (255) brought z to the last device holding x. The oracle
 *   counted w in the world only through a held version covering it, and at the end demanded
 *   it back (covered only by x, superseded): no device could. Now a chain of covering writes
 *   ending in a held version accounts for a write, and one covered only by superseded
 *   writes may stay or go (alike on every device). */
static void
test_model_regressions(void **state)
{
    (void)state;
    static const unsigned seeds[] = {2, 9, 23, 27, 29, 36, 126, 255};
    t_model_t *md = calloc(1, sizeof *md);
    assert_non_null(md);
    for (size_t i = 0; i < sizeof seeds / sizeof seeds[0]; i++) {
        s_run(md, seeds[i]);
    }
    free(md);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_model_random, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_model_regressions, s_setup, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
