/* tests/unit/test_apply.c: the reconcile engine (core/apply/apply.c, core/bundle/import.c,
 * membership) on several nodes in one process, with no sockets: bundles go from mesh_export to
 * mesh_import, or their sets straight to apply_batch.
 * - test_apply_model_random: random writes and transfers on 4..6 nodes (full and --since
 *   bundles, duplicates, late deliveries, relay chains, sets without watermarks, any subset
 *   of a bundle's sets in any order), checked after every step against an oracle written
 *   independently of the library (each write's causal past; a key's versions are its
 *   maximal writes) and against a recount of each digest; then all-to-all until quiet.
 *   MESH_TEST_SEEDS: how many seeds (default 30; 3 under valgrind); MESH_TEST_SEED: the
 *   first (default 1; alone, it runs just that one). A failure prints seed and step.
 * - the named cases: no false conflict, transitive trust and held-back sets, rejection of
 *   damaged input, a set seen partial then whole, the outcome of a superseded set, the
 *   fork rule (both headers keep their writes), three and more overlapping headers in every
 *   order of arrival (test_apply_fork_orders), and a fork whose stored side came partial
 *   (test_apply_fork_after_partial_prefix:
 *   a full set right above the vector base must still meet the fork rule), and a batch of
 *   large sets verified on two threads with a damaged set in each half
 *   (test_apply_verify_split); a key-ordered run of sets checked ahead, keys alike in their
 *   first 8 bytes (test_apply_run_key_order).
 * MESH_TEST_FILTER runs only the cases whose names match (e.g. "*model*"). Homes live in
 * $MESH_TEST_TMPDIR, else /dev/shm, else /tmp. */
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
#include "core/apply/causal.h"
#include "core/base/node.h"
#include "core/bundle/import.h"
#include "core/data/txn.h"
#include "core/data/vector.h"
#include "core/data/version.h"
#include "core/wire/doc.h"
#include "core/wire/set.h"
#include "crypto/devid.h"
#include "crypto/hash.h"
#include "crypto/ident.h"
#include "meshsync.h"
#include "util.h"

/* ---- temp dirs and nodes ---- */

#define MAX_OPEN 64

static char g_root[200];         /* this test's temp dir */
static mesh_t *g_open[MAX_OPEN]; /* nodes to close if a test fails half-way */

typedef struct node {
    char home[256];
    char id[MESH_ID_TEXT_LEN + 1];
    mesh_t *m;
} node_t;

/* cp -a without a shell (see util_rm_tree). Returns 0 on success. */
static int
s_copy_tree(const char *src, const char *dst)
{
    struct stat sb;
    if (lstat(src, &sb) != 0) {
        return -1;
    }
    if (S_ISDIR(sb.st_mode)) {
        DIR *dir = opendir(src);
        struct dirent *e;
        int rc = dir && mkdir(dst, sb.st_mode & 07777) == 0 ? 0 : -1;
        while (rc == 0 && (e = readdir(dir)) != NULL) {
            char s1[1024], d1[1024];
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) {
                continue;
            }
            snprintf(s1, sizeof s1, "%s/%s", src, e->d_name);
            snprintf(d1, sizeof d1, "%s/%s", dst, e->d_name);
            rc = s_copy_tree(s1, d1);
        }
        if (dir) {
            closedir(dir);
        }
        return rc;
    }
    FILE *in = fopen(src, "rb"), *out = fopen(dst, "wb");
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

/* Homes live under $MESH_TEST_TMPDIR, else /dev/shm when there is one (every commit and
 * import is a durable LMDB commit: on tmpfs the fsyncs cost nothing, and the model test
 * makes thousands), else /tmp. */
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
    snprintf(g_root, sizeof g_root, "%s/test_apply.XXXXXX", base);
    if (!mkdtemp(g_root)) {
        return -1;
    }
    memset(g_open, 0, sizeof g_open);
    util_where[0] = '\0';
    return 0;
}

static int
s_teardown(void **state)
{
    (void)state;
    for (size_t i = 0; i < MAX_OPEN; i++) {
        mesh_close(g_open[i]);
        g_open[i] = NULL;
    }
    int rc = util_rm_tree(g_root);
    util_where[0] = '\0';
    return rc == 0 ? 0 : -1;
}

static void
s_register(mesh_t *m, mesh_t *replace)
{
    for (size_t i = 0; i < MAX_OPEN; i++) {
        if (g_open[i] == replace) {
            g_open[i] = m;
            return;
        }
    }
    fail_msg("more than %d nodes open", MAX_OPEN);
}

/* Open (creating) the node whose home is g_root/sub. */
static void
s_node_open(node_t *n, const char *sub, bool create)
{
    memset(n, 0, sizeof *n);
    snprintf(n->home, sizeof n->home, "%s/%s", g_root, sub);
    /* a small initial map (it grows by itself): 1 TiB maps for dozens of nodes slow
     * valgrind down */
    CHECK_OK(util_open(n->home, create, sub, 16u << 20, &n->m));
    s_register(n->m, NULL);
    CHECK_OK(mesh_device_id(n->m, n->id, sizeof n->id));
}

static void
s_node_close(node_t *n)
{
    s_register(NULL, n->m);
    mesh_close(n->m);
    n->m = NULL;
}

static void
s_mkdir(const char *sub)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", g_root, sub);
    CHECK_EQ(mkdir(path, 0700), 0);
}

static void
s_rmdir(const char *sub)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", g_root, sub);
    CHECK_EQ(util_rm_tree(path), 0);
}

static void
s_read_file(const char *path, uint8_t **out, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    CHECK(fp != NULL);
    CHECK_EQ(fseek(fp, 0, SEEK_END), 0);
    long size = ftell(fp);
    CHECK(size >= 0);
    CHECK_EQ(fseek(fp, 0, SEEK_SET), 0);
    *out = malloc((size_t)size + 1);
    CHECK(*out != NULL);
    CHECK_EQ(fread(*out, 1, (size_t)size, fp), size);
    fclose(fp);
    *len = (size_t)size;
}

/* ---- small helpers on the public API ---- */

/* Version i of list: the tests' shorthand for mesh_item_version_list_get. */
static const mesh_item_version_t *
s_v(const mesh_item_version_list_t *list, size_t i)
{
    return mesh_item_version_list_get(list, i);
}

/* The key has exactly one version: value (NULL: a tombstone) written by origin. */
static void
s_expect_single(mesh_t *m, const char *coll, const char *key, const char *value, const char *origin)
{
    mesh_item_version_list_t *vs = NULL;
    size_t n = 0;
    CHECK_OK(mesh_get_versions(m, coll, key, strlen(key), &vs));
    n = mesh_item_version_list_count(vs);
    if (n != 1) {
        for (size_t i = 0; i < n; i++) {
            const mesh_item_version_t *v = s_v(vs, i);
            print_error("  version %zu: %s seq %llu %s '%.*s'\n", i, v->origin,
                        (unsigned long long)v->seq, v->deleted ? "deleted" : "value",
                        (int)v->value_len, v->value ? (const char *)v->value : "");
        }
    }
    CHECK_EQ(n, 1);
    CHECK(s_v(vs, 0)->is_winner);
    CHECK_EQ(s_v(vs, 0)->deleted, value == NULL);
    if (value) {
        CHECK_EQ(s_v(vs, 0)->value_len, strlen(value));
        CHECK(memcmp(s_v(vs, 0)->value, value, s_v(vs, 0)->value_len) == 0);
    }
    if (origin) {
        CHECK(strcmp(s_v(vs, 0)->origin, origin) == 0);
    }
    mesh_item_version_list_free(vs);
}

/* Import a bundle's sets without its watermarks, section by section through
 * apply_batch: what a receiver holds when the sets arrive but the watermarks do not (a
 * session cut before its watermark, a relay that drops them). Fills *rep like mesh_import
 * (no text: a held or rejected set fails the check in the caller). */
static void
s_import_sets_only(mesh_t *dst, const void *bundle, size_t len, mesh_import_report_t *rep)
{
    wire_doc_t doc;
    memset(rep, 0, sizeof *rep);
    CHECK_OK(wire_doc_decode(bundle, len, false, &doc));
    for (size_t i = 0; i < doc.count; i++) {
        const wire_section_t *sec = &doc.sections[i];
        apply_result_t *res = calloc(sec->set_count + 1, sizeof *res);
        CHECK(res != NULL);
        CHECK_OK(apply_batch(dst, sec->sets, sec->set_lens, sec->set_count, NULL, res));
        for (size_t j = 0; j < sec->set_count; j++) {
            rep->sets_new += res[j].outcome == APPLY_NEW;
            rep->sets_known += res[j].outcome == APPLY_KNOWN;
            rep->sets_held += res[j].outcome == APPLY_HELD;
            rep->sets_rejected += res[j].outcome == APPLY_REJECTED;
            rep->ops_stored += res[j].ops_stored;
            if (res[j].outcome == APPLY_REJECTED) {
                print_error("rejected: %.*s\n", (int)sizeof res[j].why, res[j].why);
            }
        }
        free(res);
    }
    wire_doc_release(&doc);
}

/* Export from src (with since: only what dst's vector lacks) and import into dst (with
 * marks: mesh_import; without: the sets only). The report is copied to *out when out is
 * not NULL (its text freed); without out, a held or rejected set fails. Returns sets_new. */
static size_t
s_xfer_ex(mesh_t *src, mesh_t *dst, bool since, bool marks, mesh_import_report_t *out)
{
    void *vec = NULL, *b = NULL;
    size_t vlen = 0, blen = 0;
    mesh_import_report_t rep = {.size = sizeof rep};
    if (since) {
        CHECK_OK(mesh_vector(dst, NULL, 0, &vec, &vlen));
    }
    CHECK_OK(mesh_export(src, NULL, 0, vec, vlen, &b, &blen));
    if (marks) {
        CHECK_OK(mesh_import(dst, b, blen, &rep));
    } else {
        s_import_sets_only(dst, b, blen, &rep);
    }
    if (!out && (rep.sets_rejected || rep.sets_held)) {
        util_print_where();
        fail_msg("import: %zu rejected, %zu held: %s", rep.sets_rejected, rep.sets_held,
                 rep.text ? rep.text : "(no text)");
    }
    mesh_free(rep.text);
    rep.text = NULL;
    mesh_free(vec);
    mesh_free(b);
    if (out) {
        *out = rep;
    }
    return rep.sets_new;
}

static size_t
s_xfer(mesh_t *src, mesh_t *dst, bool since, mesh_import_report_t *out)
{
    return s_xfer_ex(src, dst, since, true, out);
}

/* Every node trusts every other: nodes[0] adds all, each other node adds nodes[0], and a
 * membership exchange through nodes[0] lets everyone know everyone. */
static void
s_mesh_star(node_t *nodes, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        CHECK_OK(mesh_peer_add(nodes[0].m, nodes[i].id, NULL, NULL, 0));
        CHECK_OK(mesh_peer_add(nodes[i].m, nodes[0].id, NULL, NULL, 0));
    }
    for (size_t i = 1; i < n; i++) {
        (void)s_xfer(nodes[i].m, nodes[0].m, false, NULL);
    }
    for (size_t i = 1; i < n; i++) {
        (void)s_xfer(nodes[0].m, nodes[i].m, false, NULL);
    }
    for (size_t i = 0; i < n; i++) {
        mesh_peer_list_t *peers = NULL;
        CHECK_OK(mesh_peers(nodes[i].m, &peers));
        CHECK_EQ(mesh_peer_list_count(peers), n);
        mesh_peer_list_free(peers);
    }
}

/* Rounds of every ordered pair until a round brings nothing new. */
static void
s_sync_all(node_t *nodes, size_t n, bool since)
{
    for (int round = 0; round < 8; round++) {
        size_t fresh = 0;
        for (size_t s = 0; s < n; s++) {
            for (size_t d = 0; d < n; d++) {
                if (s != d) {
                    fresh += s_xfer(nodes[s].m, nodes[d].m, since, NULL);
                }
            }
        }
        if (fresh == 0) {
            return;
        }
    }
    util_print_where();
    fail_msg("no quiescence after 8 rounds of all-to-all exchange");
}

/* ---- digests and canonical dumps ---- */

typedef struct buf {
    uint8_t *p;
    size_t len, cap;
} buf_t;

static void
b_add(buf_t *b, const void *p, size_t n)
{
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n) {
            cap *= 2;
        }
        uint8_t *q = realloc(b->p, cap);
        CHECK(q != NULL);
        b->p = q;
        b->cap = cap;
    }
    if (n) {
        memcpy(b->p + b->len, p, n);
    }
    b->len += n;
}

static void
b_u64(buf_t *b, uint64_t v)
{
    uint8_t x[8];
    for (int i = 0; i < 8; i++) {
        x[i] = (uint8_t)(v >> (8 * i));
    }
    b_add(b, x, 8);
}

static uint64_t
b_get64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) {
        v = v << 8 | p[i];
    }
    return v;
}

static void
b_free(buf_t *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}

static int
s_vcmp(const void *a, const void *b)
{
    const mesh_item_version_t *x = *(const mesh_item_version_t *const *)a;
    const mesh_item_version_t *y = *(const mesh_item_version_t *const *)b;
    int c = strcmp(x->origin, y->origin);
    if (c != 0) {
        return c;
    }
    if (x->incarnation != y->incarnation) {
        return x->incarnation < y->incarnation ? -1 : 1;
    }
    if (x->seq != y->seq) {
        return x->seq < y->seq ? -1 : 1;
    }
    /* one dot signed twice (a fork, PROTOCOL.md §5.7): by clock, then value */
    if (x->hlc != y->hlc) {
        return x->hlc < y->hlc ? -1 : 1;
    }
    size_t n = x->value_len < y->value_len ? x->value_len : y->value_len;
    c = n ? memcmp(x->value, y->value, n) : 0;
    return c != 0 ? c : (x->value_len > y->value_len) - (x->value_len < y->value_len);
}

/* A canonical dump of coll: every key (tombstoned ones too) with every version, sorted by
 * (origin, incarnation, seq). Along the way it checks that the iterator, mesh_get and
 * mesh_get_versions agree on the winner. */
static void
s_dump(mesh_t *m, const char *coll, buf_t *out)
{
    mesh_iter_t *it = NULL;
    buf_t keys = {0}, seen = {0};
    const uint8_t *k = NULL, *v = NULL;
    size_t kl = 0, vl = 0, nkeys = 0;
    bool conflict = false;
    mesh_err_t err;
    out->len = 0;
    CHECK_OK(mesh_iter_open_ex(m, coll, NULL, 0, MESH_ITER_TOMBSTONES, &it));
    while ((err = mesh_iter_next(it, &k, &kl, &v, &vl, &conflict)) == MESH_OK) {
        b_u64(&keys, kl);
        b_add(&keys, k, kl);
        b_u64(&seen, v != NULL);
        b_u64(&seen, conflict);
        b_u64(&seen, vl);
        b_add(&seen, v, vl);
        nkeys++;
    }
    mesh_iter_close(it);
    CHECK_EQ(err, MESH_ENOTFOUND);
    b_u64(out, nkeys);
    const uint8_t *kp = keys.p, *sp = seen.p;
    for (size_t i = 0; i < nkeys; i++) {
        size_t klen = (size_t)b_get64(kp);
        const uint8_t *key = kp + 8;
        kp += 8 + klen;
        bool has_value = b_get64(sp) != 0, had_conflict = b_get64(sp + 8) != 0;
        size_t ivlen = (size_t)b_get64(sp + 16);
        const uint8_t *ival = sp + 24;
        sp += 24 + ivlen;
        mesh_item_version_list_t *vs = NULL;
        size_t n = 0;
        CHECK_OK(mesh_get_versions(m, coll, key, klen, &vs));
        n = mesh_item_version_list_count(vs);
        CHECK(n >= 1);
        /* the winner comes first, exactly one is marked, and every read agrees on it */
        CHECK(s_v(vs, 0)->is_winner);
        for (size_t j = 1; j < n; j++) {
            CHECK(!s_v(vs, j)->is_winner);
        }
        CHECK_EQ(had_conflict, n > 1);
        CHECK_EQ(has_value, !s_v(vs, 0)->deleted);
        void *gv = NULL;
        size_t glen = 0;
        err = mesh_get(m, coll, key, klen, &gv, &glen);
        if (s_v(vs, 0)->deleted) {
            CHECK_EQ(err, MESH_ENOTFOUND);
        } else {
            CHECK_OK(err);
            CHECK_EQ(glen, s_v(vs, 0)->value_len);
            CHECK_EQ(ivlen, s_v(vs, 0)->value_len);
            CHECK(glen == 0 || memcmp(gv, s_v(vs, 0)->value, glen) == 0);
            CHECK(ivlen == 0 || memcmp(ival, s_v(vs, 0)->value, ivlen) == 0);
        }
        mesh_free(gv);
        const mesh_item_version_t **sorted = malloc(n * sizeof *sorted);
        CHECK(sorted != NULL);
        for (size_t j = 0; j < n; j++) {
            sorted[j] = s_v(vs, j);
        }
        qsort(sorted, n, sizeof *sorted, s_vcmp);
        b_u64(out, klen);
        b_add(out, key, klen);
        b_u64(out, n);
        for (size_t j = 0; j < n; j++) {
            const mesh_item_version_t *x = sorted[j];
            b_add(out, x->origin, MESH_ID_TEXT_LEN);
            b_u64(out, x->incarnation);
            b_u64(out, x->seq);
            b_u64(out, x->hlc);
            b_u64(out, x->deleted);
            b_u64(out, x->is_winner);
            b_u64(out, x->value_len);
            b_add(out, x->value, x->value_len);
        }
        free(sorted);
        mesh_item_version_list_free(vs);
    }
    b_free(&keys);
    b_free(&seen);
}

/* Every node's dump and digest of coll are the same; each digest matches its recount. */
static void
s_check_same(node_t *nodes, size_t n, const char *coll)
{
    buf_t first = {0}, other = {0};
    char d0[65], d1[65];
    s_dump(nodes[0].m, coll, &first);
    util_digest(nodes[0].m, coll, d0);
    util_check_digest(nodes[0].m, coll);
    for (size_t i = 1; i < n; i++) {
        s_dump(nodes[i].m, coll, &other);
        util_digest(nodes[i].m, coll, d1);
        util_check_digest(nodes[i].m, coll);
        if (other.len != first.len || memcmp(other.p, first.p, first.len) != 0) {
            util_print_where();
            fail_msg("'%s' on node %zu differs from node 0 (%zu vs %zu dump bytes)", coll, i,
                     other.len, first.len);
        }
        CHECK(strcmp(d0, d1) == 0);
    }
    b_free(&first);
    b_free(&other);
}

/* ---- the model test ---- */

#define M_NCOLL 2
static const char *const M_COLLS[M_NCOLL] = {"m", "n"};
#define M_KEYS  9 /* k0..k5 in "m", k6..k8 in "n" */
#define M_MAXN  6
#define M_MAXW  512
#define M_WORDS (M_MAXW / 64)

static int
s_key_coll(int key)
{
    return key < 6 ? 0 : 1;
}

/* One write as the oracle sees it: who, which dot, what, and its causal past (the writes
 * on the same key its writer had received when it wrote; transitively closed, since what
 * a node has received always is). */
typedef struct o_write {
    int node;
    int coll;
    uint64_t seq;
    int key;
    bool del;
    char value[32];
    uint64_t past[M_WORDS];
} o_write_t;

typedef struct model {
    unsigned seed;
    int step;
    int n;
    node_t nodes[M_MAXN];
    uint64_t rng;
    o_write_t w[M_MAXW];
    size_t nw;
    uint64_t recv[M_MAXN][M_WORDS];     /* writes each node has received (its own too) */
    uint64_t in_coll[M_NCOLL][M_WORDS]; /* the writes of each collection */
    unsigned counter;
    /* a bundle exported earlier and delivered later (crossing in the network) */
    void *late;
    size_t late_len;
    int late_src, late_dst, late_coll;
    uint64_t late_recv[M_WORDS];
    /* statistics */
    size_t n_xfer, n_sets_new, n_siblings, n_scattered, n_waited;
} model_t;

static bool
s_bit(const uint64_t *b, size_t i)
{
    return (b[i / 64] >> (i % 64)) & 1u;
}

static void
s_setbit(uint64_t *b, size_t i)
{
    b[i / 64] |= 1ull << (i % 64);
}

static uint64_t
s_rand(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static unsigned
s_pick(model_t *md, unsigned n)
{
    return (unsigned)(s_rand(&md->rng) % n);
}

/* Whether a transfer carries watermarks: always, now. Sets without them once modelled
 * sessions that delivered only part; under causal delivery (§5.3) such a set may wait, which
 * the oracle does not follow, and the scattered delivery below (whose waiting sets the
 * oracle leaves out) models partial sessions instead. The pick stays, so that each seed
 * draws the same steps as before. */
static bool
s_marks(model_t *md)
{
    (void)s_pick(md, 4);
    return true;
}

static void
s_oracle_write(model_t *md, int node, int coll, uint64_t seq, int key, bool del, const char *value)
{
    CHECK(md->nw < M_MAXW);
    size_t idx = md->nw++;
    o_write_t *w = &md->w[idx];
    memset(w, 0, sizeof *w);
    w->node = node;
    w->coll = coll;
    w->seq = seq;
    w->key = key;
    w->del = del;
    snprintf(w->value, sizeof w->value, "%s", value ? value : "");
    for (size_t j = 0; j < idx; j++) {
        if (md->w[j].key == key && s_bit(md->recv[node], j)) {
            s_setbit(w->past, j);
        }
    }
    s_setbit(md->recv[node], idx);
    s_setbit(md->in_coll[coll], idx);
}

/* dst gains src's writes (of collection coll only, or of all when coll < 0). */
static void
s_oracle_union(model_t *md, uint64_t *dst, const uint64_t *src, int coll)
{
    for (size_t i = 0; i < M_WORDS; i++) {
        dst[i] |= src[i] & (coll < 0 ? ~0ull : md->in_coll[coll][i]);
    }
}

/* Node d receives write idx as a version: it and its causal past. */
static void
s_oracle_deliver(model_t *md, int d, size_t idx)
{
    s_setbit(md->recv[d], idx);
    for (size_t i = 0; i < M_WORDS; i++) {
        md->recv[d][i] |= md->w[idx].past[i];
    }
}

/* The writes on key that node d should show: those it received that no other write it
 * received has in its past. */
static size_t
s_oracle_expected(const model_t *md, int d, int key, size_t *out)
{
    size_t n = 0;
    for (size_t j = 0; j < md->nw; j++) {
        if (md->w[j].key != key || !s_bit(md->recv[d], j)) {
            continue;
        }
        bool maximal = true;
        for (size_t i = 0; i < md->nw && maximal; i++) {
            maximal = !(i != j && md->w[i].key == key && s_bit(md->recv[d], i) &&
                        s_bit(md->w[i].past, j));
        }
        if (maximal) {
            out[n++] = j;
        }
    }
    return n;
}

static int
s_node_of(const model_t *md, const char *origin)
{
    for (int i = 0; i < md->n; i++) {
        if (strcmp(md->nodes[i].id, origin) == 0) {
            return i;
        }
    }
    return -1;
}

static int
s_node_of_key(const model_t *md, const uint8_t *pk)
{
    for (int i = 0; i < md->n; i++) {
        if (memcmp(ident_public_key(md->nodes[i].m->ident), pk, 32) == 0) {
            return i;
        }
    }
    return -1;
}

static int
s_coll_index(const char *coll, size_t len)
{
    for (int c = 0; c < M_NCOLL; c++) {
        if (strlen(M_COLLS[c]) == len && memcmp(M_COLLS[c], coll, len) == 0) {
            return c;
        }
    }
    return -1;
}

static void
s_model_mismatch(const model_t *md, int d, int key, const size_t *exp, size_t ne,
                 const mesh_item_version_list_t *vs, size_t nv, const char *why)
{
    util_print_where();
    print_error("node %d key k%d: %s\n  the oracle expects %zu version(s):\n", d, key, why, ne);
    for (size_t i = 0; i < ne; i++) {
        const o_write_t *w = &md->w[exp[i]];
        print_error("    n%d seq %llu %s '%s'\n", w->node, (unsigned long long)w->seq,
                    w->del ? "deleted" : "put", w->value);
    }
    print_error("  the node holds %zu:\n", nv);
    for (size_t i = 0; i < nv; i++) {
        const mesh_item_version_t *v = s_v(vs, i);
        print_error("    n%d seq %llu %s '%.*s'%s\n", s_node_of(md, v->origin),
                    (unsigned long long)v->seq, v->deleted ? "deleted" : "put", (int)v->value_len,
                    v->value ? (const char *)v->value : "", v->is_winner ? " (winner)" : "");
    }
    fail_msg("node %d disagrees with the oracle on k%d (seed %u step %d)", d, key, md->seed,
             md->step);
}

/* Node d's versions of every key are exactly the oracle's maximal writes. */
static void
s_model_check_node(model_t *md, int d)
{
    size_t exp[M_MAXW];
    for (int key = 0; key < M_KEYS; key++) {
        char k[16];
        snprintf(k, sizeof k, "k%d", key);
        const char *coll = M_COLLS[s_key_coll(key)];
        size_t ne = s_oracle_expected(md, d, key, exp);
        mesh_item_version_list_t *vs = NULL;
        size_t nv = 0;
        mesh_err_t err = mesh_get_versions(md->nodes[d].m, coll, k, strlen(k), &vs);
        nv = mesh_item_version_list_count(vs);
        if (ne == 0) {
            if (err != MESH_ENOTFOUND) {
                s_model_mismatch(md, d, key, exp, ne, vs, nv, "a key never received exists");
            }
            continue;
        }
        if (err != MESH_OK) {
            s_model_mismatch(md, d, key, exp, ne, NULL, 0, mesh_strerror(err));
        }
        if (nv != ne) {
            s_model_mismatch(md, d, key, exp, ne, vs, nv, "version count differs");
        }
        for (size_t i = 0; i < ne; i++) {
            const o_write_t *w = &md->w[exp[i]];
            size_t found = 0;
            for (size_t j = 0; j < nv; j++) {
                const mesh_item_version_t *v = s_v(vs, j);
                if (strcmp(v->origin, md->nodes[w->node].id) != 0 || v->seq != w->seq) {
                    continue;
                }
                found++;
                bool same = v->deleted == w->del &&
                            (w->del || (v->value_len == strlen(w->value) &&
                                        memcmp(v->value, w->value, v->value_len) == 0));
                if (!same) {
                    s_model_mismatch(md, d, key, exp, ne, vs, nv, "a version's content differs");
                }
            }
            if (found != 1) {
                s_model_mismatch(md, d, key, exp, ne, vs, nv, "an expected version is missing");
            }
        }
        md->n_siblings += nv > 1;
        mesh_item_version_list_free(vs);
    }
}

static void
s_model_digests(mesh_t *m, char dg[M_NCOLL + 1][65])
{
    for (int c = 0; c < M_NCOLL; c++) {
        util_digest(m, M_COLLS[c], dg[c]);
    }
    util_digest(m, "_mesh", dg[M_NCOLL]);
}

static void
s_model_check_digests(mesh_t *m)
{
    for (int c = 0; c < M_NCOLL; c++) {
        util_check_digest(m, M_COLLS[c]);
    }
    util_check_digest(m, "_mesh");
}

static void
s_model_import_once(mesh_t *m, const void *b, size_t len, bool marks, mesh_import_report_t *rep)
{
    if (marks) {
        CHECK_OK(mesh_import(m, b, len, rep));
    } else {
        s_import_sets_only(m, b, len, rep);
    }
}

/* Import a bundle into node d (twice when asked: the second time changes nothing). */
static size_t
s_model_import(model_t *md, int d, const void *b, size_t len, bool twice, bool marks)
{
    mesh_t *m = md->nodes[d].m;
    mesh_import_report_t rep = {.size = sizeof rep};
    s_model_import_once(m, b, len, marks, &rep);
    if (rep.sets_rejected || rep.sets_held || rep.text) {
        util_print_where();
        fail_msg("import into n%d: %zu rejected, %zu held: %s", d, rep.sets_rejected, rep.sets_held,
                 rep.text ? rep.text : "(no text)");
    }
    size_t fresh = rep.sets_new;
    if (twice) {
        char dg1[M_NCOLL + 1][65], dg2[M_NCOLL + 1][65];
        void *v1 = NULL, *v2 = NULL;
        size_t l1 = 0, l2 = 0;
        s_model_digests(m, dg1);
        CHECK_OK(mesh_vector(m, NULL, 0, &v1, &l1));
        s_model_import_once(m, b, len, marks, &rep);
        CHECK_EQ(rep.sets_new, 0);
        CHECK_EQ(rep.sets_rejected, 0);
        CHECK_EQ(rep.sets_held, 0);
        CHECK_EQ(rep.ops_stored, 0);
        CHECK(rep.text == NULL);
        s_model_digests(m, dg2);
        CHECK_OK(mesh_vector(m, NULL, 0, &v2, &l2));
        CHECK(memcmp(dg1, dg2, sizeof dg1) == 0);
        CHECK(l1 == l2 && memcmp(v1, v2, l1) == 0);
        mesh_free(v1);
        mesh_free(v2);
    }
    s_model_check_digests(m);
    md->n_xfer++;
    md->n_sets_new += fresh;
    return fresh;
}

/* A bundle from s for d: with since, only what d's vector lacks; coll >= 0: that
 * collection only (and membership, which a bundle always carries). */
static void *
s_model_export(model_t *md, int s, int d, bool since, int coll, size_t *len)
{
    void *vec = NULL, *b = NULL;
    size_t vlen = 0;
    const char *colls[1] = {coll >= 0 ? M_COLLS[coll] : NULL};
    if (since) {
        CHECK_OK(mesh_vector(md->nodes[d].m, NULL, 0, &vec, &vlen));
    }
    CHECK_OK(mesh_export(md->nodes[s].m, coll >= 0 ? colls : NULL, coll >= 0 ? 1 : 0, vec, vlen, &b,
                         len));
    mesh_free(vec);
    return b;
}

static size_t
s_model_transfer(model_t *md, int s, int d, bool since, bool twice, bool marks, int coll)
{
    size_t len = 0;
    void *b = s_model_export(md, s, d, since, coll, &len);
    size_t fresh = s_model_import(md, d, b, len, twice, marks);
    mesh_free(b);
    s_oracle_union(md, md->recv[d], md->recv[s], coll);
    s_model_check_node(md, d);
    return fresh;
}

/* Some of the sets of a bundle from s reach d, in any order, without watermarks: what a
 * device gets from several peers whose sessions each delivered only part. The oracle
 * counts each delivered version with its causal past. */
/* A set of a bundle, with what sorts it canonically. */
typedef struct s_entry {
    const uint8_t *p;
    size_t len;
    int coll, origin;
    uint64_t first_seq;
} s_entry_t;

static int
s_entry_cmp(const void *a, const void *b)
{
    const s_entry_t *x = a, *y = b;
    if (x->coll != y->coll) {
        return x->coll < y->coll ? -1 : 1;
    }
    if (x->origin != y->origin) {
        return x->origin < y->origin ? -1 : 1;
    }
    return x->first_seq < y->first_seq ? -1 : x->first_seq > y->first_seq;
}

static void
s_model_scatter(model_t *md, int s, int d, bool since, bool twice)
{
    size_t len = 0, n = 0, chosen = 0;
    void *b = s_model_export(md, s, d, since, -1, &len);
    wire_doc_t doc;
    CHECK_OK(wire_doc_decode(b, len, false, &doc));
    for (size_t i = 0; i < doc.count; i++) {
        n += doc.sections[i].set_count;
    }
    s_entry_t *all = calloc(n + 1, sizeof *all);
    const uint8_t **sets = calloc(n + 1, sizeof *sets);
    size_t *lens = calloc(n + 1, sizeof *lens);
    apply_result_t *res = calloc(n + 1, sizeof *res);
    bool *waited = calloc(n + 1, sizeof *waited);
    CHECK(all && sets && lens && res && waited);
    /* The choice is made over the sets in a canonical order: the order of a bundle follows
     * the exporter's local origin numbers, which depend on the order held-back sets were
     * released in (by hash), and the run of a seed must not. */
    n = 0;
    for (size_t i = 0; i < doc.count; i++) {
        const wire_section_t *sec = &doc.sections[i];
        for (size_t j = 0; j < sec->set_count; j++) {
            wire_set_t set;
            wire_header_t h;
            CHECK_OK(wire_set_decode(sec->sets[j], sec->set_lens[j], &set));
            CHECK_OK(wire_header_decode(set.header, set.header_len, &h));
            all[n] = (s_entry_t){sec->sets[j], sec->set_lens[j], s_coll_index(h.coll, h.coll_len),
                                 s_node_of_key(md, h.origin), h.first_seq};
            wire_set_release(&set);
            n++;
        }
    }
    qsort(all, n, sizeof *all, s_entry_cmp);
    for (size_t i = 0; i < n; i++) {
        if (s_pick(md, 2) == 0) {
            sets[chosen] = all[i].p;
            lens[chosen++] = all[i].len;
        }
    }
    for (size_t i = chosen; i > 1; i--) { /* shuffle */
        size_t j = s_pick(md, (unsigned)i);
        const uint8_t *t = sets[i - 1];
        size_t tl = lens[i - 1];
        sets[i - 1] = sets[j];
        lens[i - 1] = lens[j];
        sets[j] = t;
        lens[j] = tl;
    }
    for (size_t i = 0; i < chosen;) { /* in batches of 1..3 */
        size_t k = 1 + s_pick(md, 3);
        k = k > chosen - i ? chosen - i : k;
        CHECK_OK(apply_batch(md->nodes[d].m, sets + i, lens + i, k, NULL, res));
        for (size_t j = 0; j < k; j++) {
            /* out of order, a set may name a dot of another origin not held yet: it waits
             * (causal delivery), and the final syncs bring it */
            if (res[j].outcome != APPLY_NEW && res[j].outcome != APPLY_KNOWN &&
                res[j].outcome != APPLY_WAITING) {
                util_print_where();
                fail_msg("scattered set %zu: outcome %d (%s): %.*s", i + j, (int)res[j].outcome,
                         mesh_strerror(res[j].err), (int)sizeof res[j].why, res[j].why);
            }
            md->n_sets_new += res[j].outcome == APPLY_NEW;
            waited[i + j] = res[j].outcome == APPLY_WAITING;
        }
        i += k;
    }
    size_t applied = 0; /* the sets that waited are not delivered: keep the others */
    for (size_t i = 0; i < chosen; i++) {
        if (!waited[i]) {
            sets[applied] = sets[i];
            lens[applied++] = lens[i];
        }
    }
    md->n_waited += chosen - applied;
    chosen = applied;
    if (twice && chosen) {
        char dg1[M_NCOLL + 1][65], dg2[M_NCOLL + 1][65];
        s_model_digests(md->nodes[d].m, dg1);
        CHECK_OK(apply_batch(md->nodes[d].m, sets, lens, chosen, NULL, res));
        for (size_t j = 0; j < chosen; j++) {
            CHECK_EQ(res[j].outcome, APPLY_KNOWN);
        }
        s_model_digests(md->nodes[d].m, dg2);
        CHECK(memcmp(dg1, dg2, sizeof dg1) == 0);
    }
    /* the oracle: each delivered op is a version, with its past */
    for (size_t i = 0; i < chosen; i++) {
        wire_set_t set;
        wire_header_t h;
        CHECK_OK(wire_set_decode(sets[i], lens[i], &set));
        CHECK_OK(wire_header_decode(set.header, set.header_len, &h));
        int origin = s_node_of_key(md, h.origin), coll = s_coll_index(h.coll, h.coll_len);
        CHECK(origin >= 0);
        for (size_t j = 0; coll >= 0 && j < set.op_count; j++) {
            wire_opmeta_t op;
            size_t idx = md->nw;
            CHECK_OK(wire_opmeta_decode(set.ops[j].meta, set.ops[j].meta_len, &op));
            for (size_t w = 0; w < md->nw; w++) {
                if (md->w[w].node == origin && md->w[w].coll == coll && md->w[w].seq == op.seq) {
                    idx = w;
                }
            }
            CHECK(idx < md->nw);
            s_oracle_deliver(md, d, idx);
        }
        wire_set_release(&set);
    }
    md->n_scattered += chosen;
    free(all);
    free(sets);
    free(lens);
    free(res);
    free(waited);
    wire_doc_release(&doc);
    mesh_free(b);
    s_model_check_digests(md->nodes[d].m);
    s_model_check_node(md, d);
}

static void
s_model_write(model_t *md, int d)
{
    mesh_txn_t *txn = NULL;
    int keys[3];
    bool dels[3];
    char values[3][32];
    int coll = s_pick(md, 3) == 0 ? 1 : 0;
    unsigned nops = s_pick(md, 4) == 0 ? 2 + s_pick(md, 2) : 1;
    uint64_t first = 0;
    CHECK_OK(mesh_txn_begin(md->nodes[d].m, M_COLLS[coll], &txn));
    for (unsigned i = 0; i < nops; i++) {
        char k[16];
        keys[i] = coll == 0 ? (int)s_pick(md, 6) : 6 + (int)s_pick(md, 3);
        dels[i] = s_pick(md, 5) == 0;
        snprintf(k, sizeof k, "k%d", keys[i]);
        if (s_pick(md, 16) == 0) {
            values[i][0] = '\0'; /* an empty value is a value */
        } else {
            snprintf(values[i], sizeof values[i], "n%d.%u", d, ++md->counter);
        }
        if (dels[i]) {
            CHECK_OK(mesh_del(txn, k, strlen(k)));
        } else {
            CHECK_OK(mesh_put(txn, k, strlen(k), values[i], strlen(values[i])));
        }
    }
    CHECK_OK(mesh_txn_commit(&txn, &first));
    CHECK(first >= 1);
    for (unsigned i = 0; i < nops; i++) {
        s_oracle_write(md, d, coll, first + i, keys[i], dels[i], dels[i] ? NULL : values[i]);
    }
    util_check_digest(md->nodes[d].m, M_COLLS[coll]);
    s_model_check_node(md, d);
}

static void
s_model_pair(model_t *md, int *s, int *d)
{
    *s = (int)s_pick(md, (unsigned)md->n);
    *d = (int)s_pick(md, (unsigned)md->n - 1);
    if (*d >= *s) {
        (*d)++;
    }
}

/* The vectors after full sync: for every writer of each collection, the base is its last
 * seq there, with no extras. */
static void
s_model_check_vectors(model_t *md, int d)
{
    void *vec = NULL;
    size_t len = 0;
    wire_doc_t doc;
    uint64_t last[M_NCOLL][M_MAXN];
    bool seen[M_NCOLL][M_MAXN];
    memset(last, 0, sizeof last);
    memset(seen, 0, sizeof seen);
    for (size_t j = 0; j < md->nw; j++) {
        const o_write_t *w = &md->w[j];
        if (w->seq > last[w->coll][w->node]) {
            last[w->coll][w->node] = w->seq;
        }
    }
    CHECK_OK(mesh_vector(md->nodes[d].m, NULL, 0, &vec, &len));
    CHECK_OK(wire_doc_decode(vec, len, true, &doc));
    for (size_t i = 0; i < doc.count; i++) {
        const wire_section_t *sec = &doc.sections[i];
        int c = s_coll_index(sec->coll, sec->coll_len);
        if (c < 0) {
            continue;
        }
        for (size_t j = 0; j < sec->vv_count; j++) {
            const wire_vv_t *vv = &sec->vvs[j];
            int o = s_node_of_key(md, vv->origin);
            CHECK(o >= 0);
            CHECK_EQ(vv->incarnation, store_incarnation(md->nodes[o].m->store));
            CHECK_EQ(vv->base, last[c][o]);
            CHECK_EQ(vv->extra_count, 0);
            CHECK(!seen[c][o]);
            seen[c][o] = true;
        }
    }
    for (int c = 0; c < M_NCOLL; c++) {
        for (int k = 0; k < md->n; k++) {
            CHECK_EQ(seen[c][k], last[c][k] > 0);
        }
    }
    wire_doc_release(&doc);
    mesh_free(vec);
}

static const char *
s_coll_text(int coll)
{
    return coll < 0 ? "all" : M_COLLS[coll];
}

static void
s_model_run(model_t *md, unsigned seed)
{
    char sub[64], name[80];
    memset(md, 0, sizeof *md);
    md->seed = seed;
    md->rng = 0x5eed0000ull + seed;
    md->n = 4 + (int)(seed % 3);
    md->step = -1;
    snprintf(sub, sizeof sub, "seed%u", seed);
    snprintf(util_where, sizeof util_where, "seed %u: set-up", seed);
    s_mkdir(sub);
    for (int i = 0; i < md->n; i++) {
        snprintf(name, sizeof name, "%s/n%d", sub, i);
        s_node_open(&md->nodes[i], name, true);
    }
    s_mesh_star(md->nodes, (size_t)md->n);

    int steps = 40 + (int)s_pick(md, 41);
    for (md->step = 0; md->step < steps; md->step++) {
        unsigned r = s_pick(md, 100);
        int s = 0, d = 0, z = 0;
        if (r < 42) {
            s = (int)s_pick(md, (unsigned)md->n);
            snprintf(util_where, sizeof util_where, "seed %u step %d: n%d writes", seed, md->step,
                     s);
            s_model_write(md, s);
        } else if (r < 70) {
            s_model_pair(md, &s, &d);
            bool since = s_pick(md, 2), twice = s_pick(md, 3) == 0, marks = s_marks(md);
            int coll = s_pick(md, 4) == 0 ? (int)s_pick(md, M_NCOLL) : -1;
            snprintf(util_where, sizeof util_where,
                     "seed %u step %d: n%d -> n%d (%s bundle of %s%s%s)", seed, md->step, s, d,
                     since ? "since" : "full", s_coll_text(coll), twice ? ", twice" : "",
                     marks ? "" : ", sets only");
            (void)s_model_transfer(md, s, d, since, twice, marks, coll);
        } else if (r < 78) {
            s_model_pair(md, &s, &d);
            bool since = s_pick(md, 2), twice = s_pick(md, 3) == 0;
            snprintf(util_where, sizeof util_where,
                     "seed %u step %d: n%d -> n%d (%s bundle, some sets in any order%s)", seed,
                     md->step, s, d, since ? "since" : "full", twice ? ", twice" : "");
            s_model_scatter(md, s, d, since, twice);
        } else if (r < 88) {
            if (!md->late) {
                s_model_pair(md, &s, &d);
                bool since = s_pick(md, 2);
                int coll = s_pick(md, 4) == 0 ? (int)s_pick(md, M_NCOLL) : -1;
                snprintf(util_where, sizeof util_where,
                         "seed %u step %d: n%d -> n%d exported (%s, %s), delivered later", seed,
                         md->step, s, d, since ? "since" : "full", s_coll_text(coll));
                md->late = s_model_export(md, s, d, since, coll, &md->late_len);
                md->late_src = s;
                md->late_dst = d;
                md->late_coll = coll;
                memcpy(md->late_recv, md->recv[s], sizeof md->late_recv);
            } else {
                bool twice = s_pick(md, 2), marks = s_marks(md);
                d = md->late_dst;
                snprintf(util_where, sizeof util_where,
                         "seed %u step %d: late bundle n%d -> n%d "
                         "delivered%s%s",
                         seed, md->step, md->late_src, d, twice ? " twice" : "",
                         marks ? "" : ", sets only");
                (void)s_model_import(md, d, md->late, md->late_len, twice, marks);
                s_oracle_union(md, md->recv[d], md->late_recv, md->late_coll);
                s_model_check_node(md, d);
                mesh_free(md->late);
                md->late = NULL;
            }
        } else {
            /* a relay chain: z gets s's writes forwarded by d, with only their live ops */
            s_model_pair(md, &s, &d);
            do {
                z = (int)s_pick(md, (unsigned)md->n);
            } while (z == s || z == d);
            bool since1 = s_pick(md, 2), since2 = s_pick(md, 2);
            bool marks1 = s_marks(md), marks2 = s_marks(md);
            snprintf(util_where, sizeof util_where,
                     "seed %u step %d: relay n%d -> n%d -> n%d (%s%s, %s%s)", seed, md->step, s, d,
                     z, since1 ? "since" : "full", marks1 ? "" : " sets only",
                     since2 ? "since" : "full", marks2 ? "" : " sets only");
            (void)s_model_transfer(md, s, d, since1, false, marks1, -1);
            (void)s_model_transfer(md, d, z, since2, false, marks2, -1);
        }
    }
    if (md->late) {
        snprintf(util_where, sizeof util_where, "seed %u: the last late bundle", seed);
        (void)s_model_import(md, md->late_dst, md->late, md->late_len, false, true);
        s_oracle_union(md, md->recv[md->late_dst], md->late_recv, md->late_coll);
        s_model_check_node(md, md->late_dst);
        mesh_free(md->late);
        md->late = NULL;
    }

    /* full all-to-all exchange until nothing new moves */
    bool quiet = false;
    for (int round = 0; round < 8 && !quiet; round++) {
        size_t fresh = 0;
        for (int s = 0; s < md->n; s++) {
            for (int d = 0; d < md->n; d++) {
                if (s == d) {
                    continue;
                }
                snprintf(util_where, sizeof util_where, "seed %u: final round %d, n%d -> n%d", seed,
                         round, s, d);
                fresh += s_model_transfer(md, s, d, round % 2 == 0, false, true, -1);
            }
        }
        quiet = fresh == 0;
    }
    snprintf(util_where, sizeof util_where, "seed %u: after the final exchange", seed);
    CHECK(quiet);
    for (int d = 0; d < md->n; d++) {
        for (size_t j = 0; j < md->nw; j++) {
            CHECK(s_bit(md->recv[d], j)); /* the oracle's own bookkeeping */
        }
        s_model_check_node(md, d);
        s_model_check_vectors(md, d);
    }
    for (int c = 0; c < M_NCOLL; c++) {
        s_check_same(md->nodes, (size_t)md->n, M_COLLS[c]);
    }
    s_check_same(md->nodes, (size_t)md->n, "_mesh");
    for (int i = 0; i < md->n; i++) {
        s_node_close(&md->nodes[i]);
    }
    s_rmdir(sub);
    util_where[0] = '\0';
}

static void
test_apply_model_random(void **state)
{
    (void)state;
    /* MESH_TEST_SEED: the first seed (alone, unless MESH_TEST_SEEDS says how many). Under
     * valgrind (its preload is in LD_PRELOAD) the default is 3 seeds, not 30. */
    const char *preload = getenv("LD_PRELOAD");
    unsigned first = 1, count = preload && strstr(preload, "vgpreload") ? 3 : 30;
    const char *one = getenv("MESH_TEST_SEED");
    const char *many = getenv("MESH_TEST_SEEDS");
    if (one && *one) {
        first = (unsigned)strtoul(one, NULL, 10);
        count = 1;
    }
    if (many && *many) {
        count = (unsigned)strtoul(many, NULL, 10);
    }
    model_t *md = calloc(1, sizeof *md);
    assert_non_null(md);
    size_t writes = 0, xfers = 0, sets = 0, siblings = 0, scattered = 0, waited = 0;
    for (unsigned seed = first; seed < first + count; seed++) {
        s_model_run(md, seed);
        writes += md->nw;
        xfers += md->n_xfer;
        sets += md->n_sets_new;
        siblings += md->n_siblings;
        scattered += md->n_scattered;
        waited += md->n_waited;
    }
    print_message("model: %u seed(s) from %u: %zu writes, %zu imports, %zu sets scattered "
                  "(%zu waited), %zu new sets, %zu sibling checks\n",
                  count, first, writes, xfers, scattered, waited, sets, siblings);
    free(md);
}

/* ---- no false conflict ---- */

/* A writes k; B receives it and overwrites; R gets only B's version and overwrites; T
 * still holds A's version. After exchanging everything, one version: R's.
 * Variant bits: 1: --since bundles; 2: A's set also writes j, so B forwards it as a
 * partial set. (Sets without watermarks, which once made only R's context settle it by
 * rule b, no longer reach R: B's set names A's dot, which R would not hold, so it waits,
 * PROTOCOL §5.3.) */
static void
test_apply_no_false_conflict(void **state)
{
    (void)state;
    for (int variant = 0; variant < 4; variant++) {
        bool since = variant & 1, multi = variant & 2, marks = true;
        node_t n[4];
        const char *names[4] = {"a", "b", "r", "t"};
        char sub[32], name[64];
        snprintf(sub, sizeof sub, "nfc%d", variant);
        snprintf(util_where, sizeof util_where, "no false conflict, variant %d (%s bundles%s%s)",
                 variant, since ? "since" : "full", multi ? ", two-op set" : "",
                 marks ? "" : ", sets without watermarks");
        s_mkdir(sub);
        for (int i = 0; i < 4; i++) {
            snprintf(name, sizeof name, "%s/%s", sub, names[i]);
            s_node_open(&n[i], name, true);
        }
        node_t *A = &n[0], *B = &n[1], *R = &n[2], *T = &n[3];
        s_mesh_star(n, 4);

        mesh_txn_t *txn = NULL;
        CHECK_OK(mesh_txn_begin(A->m, "c", &txn));
        CHECK_OK(mesh_put(txn, "k", 1, "a", 1));
        if (multi) {
            CHECK_OK(mesh_put(txn, "j", 1, "a-j", 3));
        }
        CHECK_OK(mesh_txn_commit(&txn, NULL));
        CHECK_EQ(s_xfer_ex(A->m, T->m, since, marks, NULL), 1);
        CHECK_EQ(s_xfer_ex(A->m, B->m, since, marks, NULL), 1);
        util_put(B->m, "c", "k", "b");
        s_expect_single(B->m, "c", "k", "b", B->id);
        (void)s_xfer_ex(B->m, R->m, since, marks, NULL);
        s_expect_single(R->m, "c", "k", "b", B->id); /* R never saw A's version of k */
        if (multi) {
            s_expect_single(R->m, "c", "j", "a-j", A->id); /* from a partial set */
        }
        util_put(R->m, "c", "k", "r");
        s_expect_single(R->m, "c", "k", "r", R->id);
        s_expect_single(T->m, "c", "k", "a", A->id);

        /* the stale version is pushed at the newer nodes first */
        (void)s_xfer_ex(T->m, R->m, since, marks, NULL);
        s_expect_single(R->m, "c", "k", "r", R->id);
        (void)s_xfer_ex(T->m, B->m, since, marks, NULL);
        s_expect_single(B->m, "c", "k", "b", B->id);
        (void)s_xfer_ex(R->m, T->m, since, marks, NULL);
        s_expect_single(T->m, "c", "k", "r", R->id);
        (void)s_xfer_ex(T->m, B->m, since, marks, NULL);
        s_expect_single(B->m, "c", "k", "r", R->id);
        (void)s_xfer_ex(B->m, A->m, since, marks, NULL);
        s_expect_single(A->m, "c", "k", "r", R->id);
        (void)s_xfer_ex(A->m, R->m, since, marks, NULL);
        s_expect_single(R->m, "c", "k", "r", R->id);
        s_sync_all(n, 4, since);
        s_sync_all(n, 4, !since);
        for (int i = 0; i < 4; i++) {
            s_expect_single(n[i].m, "c", "k", "r", R->id);
            util_expect(n[i].m, "c", "k", "r");
            if (multi) {
                s_expect_single(n[i].m, "c", "j", "a-j", A->id);
            }
        }
        s_check_same(n, 4, "c");
        s_check_same(n, 4, "_mesh");
        for (int i = 0; i < 4; i++) {
            s_node_close(&n[i]);
        }
        s_rmdir(sub);
    }
    util_where[0] = '\0';
}

/* ---- transitive trust and held-back sets ---- */

typedef struct snap {
    buf_t dump_c, dump_mesh;
    char dg_c[65], dg_mesh[65];
    void *vec;
    size_t vec_len;
    uint8_t *file; /* HOME/store/data.mdb, when asked */
    size_t file_len;
} snap_t;

static void
s_snap(node_t *nd, snap_t *s, bool with_file)
{
    memset(s, 0, sizeof *s);
    s_dump(nd->m, "c", &s->dump_c);
    s_dump(nd->m, "_mesh", &s->dump_mesh);
    util_digest(nd->m, "c", s->dg_c);
    util_digest(nd->m, "_mesh", s->dg_mesh);
    CHECK_OK(mesh_vector(nd->m, NULL, 0, &s->vec, &s->vec_len));
    if (with_file) {
        char path[300];
        snprintf(path, sizeof path, "%s/store/data.mdb", nd->home);
        s_read_file(path, &s->file, &s->file_len);
    }
}

/* Print a vector file's sections and entries (to explain a difference). */
static void
s_print_vector(const char *label, const void *vec, size_t len)
{
    wire_doc_t doc;
    if (wire_doc_decode(vec, len, true, &doc) != MESH_OK) {
        print_error("%s: the vector does not decode\n", label);
        return;
    }
    for (size_t i = 0; i < doc.count; i++) {
        const wire_section_t *sec = &doc.sections[i];
        print_error("%s: section '%.*s', %zu entries\n", label, (int)sec->coll_len, sec->coll,
                    sec->vv_count);
        for (size_t j = 0; j < sec->vv_count; j++) {
            char id[MESH_ID_TEXT_LEN + 1];
            devid_format(sec->vvs[j].origin, id);
            print_error("%s:   %s inc %016llx base %llu, %zu extra\n", label, id,
                        (unsigned long long)sec->vvs[j].incarnation,
                        (unsigned long long)sec->vvs[j].base, sec->vvs[j].extra_count);
        }
    }
    wire_doc_release(&doc);
}

/* Two snapshots are the same. A difference in the vector files fails at once, or with
 * vec_differs, is only recorded there (to be checked at the end of the case). */
static void
s_snap_equal(const snap_t *a, const snap_t *b, bool *vec_differs)
{
    bool same_vec = a->vec_len == b->vec_len && memcmp(a->vec, b->vec, a->vec_len) == 0;
    if (!same_vec) {
        s_print_vector("before", a->vec, a->vec_len);
        s_print_vector("after", b->vec, b->vec_len);
    }
    if (vec_differs) {
        *vec_differs |= !same_vec;
    } else {
        CHECK(same_vec);
    }
    CHECK(a->dump_c.len == b->dump_c.len && memcmp(a->dump_c.p, b->dump_c.p, a->dump_c.len) == 0);
    CHECK(a->dump_mesh.len == b->dump_mesh.len &&
          memcmp(a->dump_mesh.p, b->dump_mesh.p, a->dump_mesh.len) == 0);
    CHECK(strcmp(a->dg_c, b->dg_c) == 0);
    CHECK(strcmp(a->dg_mesh, b->dg_mesh) == 0);
    CHECK(a->file_len == b->file_len);
    CHECK(a->file_len == 0 || memcmp(a->file, b->file, a->file_len) == 0);
}

static void
s_snap_free(snap_t *s)
{
    b_free(&s->dump_c);
    b_free(&s->dump_mesh);
    mesh_free(s->vec);
    free(s->file);
    memset(s, 0, sizeof *s);
}

static uint64_t
s_held_count(mesh_t *m)
{
    store_txn_t *st = NULL;
    uint64_t n = 0;
    CHECK_OK(store_read_begin(m->store, &st));
    store_held_totals_t t;
    CHECK_OK(store_held_totals(st, NULL, &t, NULL, NULL));
    n = t.sets;
    store_read_end(st);
    return n;
}

/* B adds A and C; A and C add only B. C accepts A's sets through B's record. */
static void
test_apply_transitive_trust(void **state)
{
    (void)state;
    node_t A, B, C;
    mesh_import_report_t rep = {.size = sizeof rep};
    snprintf(util_where, sizeof util_where, "transitive trust");
    s_node_open(&A, "a", true);
    s_node_open(&B, "b", true);
    s_node_open(&C, "c", true);
    CHECK_OK(mesh_peer_add(B.m, A.id, "a", NULL, 0));
    CHECK_OK(mesh_peer_add(B.m, C.id, "c", NULL, 0));
    CHECK_OK(mesh_peer_add(A.m, B.id, "b", NULL, 0));
    CHECK_OK(mesh_peer_add(C.m, B.id, "b", NULL, 0));
    util_put(A.m, "c", "k1", "v1");

    /* C gets A's bundle straight from A, before it knows that B added A: held back, and
     * nothing of C's state moves (dumps, digests, vector file) */
    snap_t before, after;
    bool vec_changed = false;
    void *b = NULL;
    size_t blen = 0;
    s_snap(&C, &before, false);
    CHECK_OK(mesh_export(A.m, NULL, 0, NULL, 0, &b, &blen));
    CHECK_OK(mesh_import(C.m, b, blen, &rep));
    CHECK(rep.sets_held >= 3); /* A's genesis, A's add of B, A's data set */
    CHECK_EQ(rep.sets_new, 0);
    CHECK_EQ(rep.sets_rejected, 0);
    CHECK_EQ(rep.ops_stored, 0);
    CHECK(rep.text != NULL && strstr(rep.text, "held back") != NULL);
    mesh_free(rep.text);
    uint64_t held = s_held_count(C.m);
    CHECK(held >= 3);
    util_expect(C.m, "c", "k1", NULL);
    s_snap(&C, &after, false);
    s_snap_equal(&before, &after, &vec_changed);
    s_snap_free(&after);
    /* the same bundle again: still held, one copy each */
    CHECK_OK(mesh_import(C.m, b, blen, &rep));
    CHECK_EQ(rep.sets_held, held);
    mesh_free(rep.text);
    CHECK_EQ(s_held_count(C.m), held);
    s_snap(&C, &after, false);
    s_snap_equal(&before, &after, &vec_changed);
    s_snap_free(&after);
    s_snap_free(&before);
    mesh_free(b);
    util_check_digest(C.m, "c");
    util_check_digest(C.m, "_mesh");

    /* A -> B; then B sends C only membership: C learns B's add of A and applies what it
     * held back (A's own sets in B's bundle are applied at once, not reported as held) */
    CHECK(s_xfer(A.m, B.m, false, NULL) >= 3);
    util_expect(B.m, "c", "k1", "v1");
    const char *mesh_only[] = {"_mesh"};
    CHECK_OK(mesh_export(B.m, mesh_only, 1, NULL, 0, &b, &blen));
    CHECK_OK(mesh_import(C.m, b, blen, &rep));
    mesh_free(b);
    CHECK_EQ(rep.sets_rejected, 0);
    CHECK_EQ(rep.sets_held, 0);
    CHECK(rep.sets_new >= 1);
    if (rep.text) {
        print_error("report: %s\n", rep.text);
    }
    CHECK(rep.text == NULL);
    CHECK_EQ(s_held_count(C.m), 0);
    util_expect(C.m, "c", "k1", "v1");
    s_expect_single(C.m, "c", "k1", "v1", A.id);
    util_check_digest(C.m, "c");
    util_check_digest(C.m, "_mesh");
    mesh_peer_list_t *peers = NULL;
    bool has_a = false;
    CHECK_OK(mesh_peers(C.m, &peers));
    CHECK_EQ(mesh_peer_list_count(peers), 3);
    for (size_t i = 0; i < mesh_peer_list_count(peers); i++) {
        has_a |= strcmp(mesh_peer_list_get(peers, i)->id, A.id) == 0;
    }
    mesh_peer_list_free(peers);
    CHECK(has_a);

    /* a relay: A's new writes reach C through B, signed by A */
    mesh_txn_t *txn = NULL;
    CHECK_OK(mesh_txn_begin(A.m, "c", &txn));
    CHECK_OK(mesh_put(txn, "k1", 2, "v1b", 3));
    CHECK_OK(mesh_put(txn, "k2", 2, "v2", 2));
    CHECK_OK(mesh_txn_commit(&txn, NULL));
    CHECK_EQ(s_xfer(A.m, B.m, true, NULL), 1);
    CHECK_EQ(s_xfer(B.m, C.m, true, NULL), 1);
    s_expect_single(C.m, "c", "k1", "v1b", A.id);
    s_expect_single(C.m, "c", "k2", "v2", A.id);
    /* and a full relay to a fresh C' that trusts only B */
    node_t C2;
    s_node_open(&C2, "c2", true);
    CHECK_OK(mesh_peer_add(C2.m, B.id, NULL, NULL, 0));
    CHECK(s_xfer(B.m, C2.m, false, NULL) >= 3);
    s_expect_single(C2.m, "c", "k1", "v1b", A.id);
    s_expect_single(C2.m, "c", "k2", "v2", A.id);
    node_t all[3] = {B, C, C2};
    s_check_same(all, 3, "c");
    s_node_close(&A);
    s_node_close(&B);
    s_node_close(&C);
    s_node_close(&C2);
    /* checked last so that a failure here does not hide the rest of the case */
    if (vec_changed) {
        fail_msg("C's vector file changed when every set of the bundle was held back (see "
                 "the 'before'/'after' sections printed above)");
    }
    util_where[0] = '\0';
}

/* ---- rejection of damaged sets ---- */

/* One encoded set, copied out of a bundle. */
typedef struct set_copy {
    uint8_t *p;
    size_t len;
    uint64_t first_seq;
    bool partial;
} set_copy_t;

/* The sets of section coll of a bundle, copied; *off_out (may be NULL) gets each set's
 * offset in the bundle. */
static size_t
s_bundle_sets(const uint8_t *bundle, size_t len, const char *coll, set_copy_t *out, size_t max,
              size_t *off_out)
{
    wire_doc_t doc;
    size_t n = 0;
    CHECK_OK(wire_doc_decode(bundle, len, false, &doc));
    for (size_t i = 0; i < doc.count; i++) {
        const wire_section_t *sec = &doc.sections[i];
        if (sec->coll_len != strlen(coll) || memcmp(sec->coll, coll, sec->coll_len) != 0) {
            continue;
        }
        for (size_t j = 0; j < sec->set_count && n < max; j++) {
            wire_set_t set;
            wire_header_t h;
            out[n].len = sec->set_lens[j];
            out[n].p = malloc(out[n].len);
            CHECK(out[n].p != NULL);
            memcpy(out[n].p, sec->sets[j], out[n].len);
            if (off_out) {
                off_out[n] = (size_t)(sec->sets[j] - bundle);
            }
            CHECK_OK(wire_set_decode(out[n].p, out[n].len, &set));
            CHECK_OK(wire_header_decode(set.header, set.header_len, &h));
            out[n].first_seq = h.first_seq;
            out[n].partial = set.partial;
            wire_set_release(&set);
            n++;
        }
    }
    wire_doc_release(&doc);
    return n;
}

/* A copy of p[0..len) with [off, off + cut) replaced by ins[0..ins_len). */
static uint8_t *
s_splice(const uint8_t *p, size_t len, size_t off, size_t cut, const void *ins, size_t ins_len,
         size_t *out_len)
{
    CHECK(off + cut <= len);
    *out_len = len - cut + ins_len;
    uint8_t *q = malloc(*out_len + 1);
    CHECK(q != NULL);
    memcpy(q, p, off);
    if (ins_len) {
        memcpy(q + off, ins, ins_len);
    }
    memcpy(q + off + ins_len, p + off + cut, len - off - cut);
    return q;
}

static uint8_t *
s_flip(const uint8_t *p, size_t len, size_t off, uint8_t mask, size_t *out_len)
{
    uint8_t b = (uint8_t)(p[off] ^ mask);
    return s_splice(p, len, off, 1, &b, 1, out_len);
}

/* Feed one damaged set alone to r: rejected with want, and r's store unchanged. */
static void
s_expect_reject(node_t *r, const uint8_t *p, size_t len, mesh_err_t want, const char *what)
{
    snap_t before, after;
    apply_result_t res;
    snprintf(util_where, sizeof util_where, "rejects bad input: %s", what);
    s_snap(r, &before, true);
    memset(&res, 0xa5, sizeof res);
    CHECK_OK(apply_batch(r->m, &p, &len, 1, NULL, &res));
    if (res.outcome != APPLY_REJECTED || res.err != want) {
        util_print_where();
        fail_msg("%s: outcome %d err %d (%s), expected rejected with %d (%s); why: %.*s", what,
                 (int)res.outcome, (int)res.err, mesh_strerror(res.err), (int)want,
                 mesh_strerror(want), (int)sizeof res.why, res.why);
    }
    CHECK(res.why[0] != '\0');
    CHECK_EQ(res.ops_stored, 0);
    s_snap(r, &after, true);
    /* data.mdb byte for byte (apply_batch runs a write transaction even when every set
     * failed verification, but LMDB writes nothing for one without dirty pages), and the
     * dumps, digests and vector file */
    s_snap_equal(&before, &after, NULL);
    s_snap_free(&before);
    s_snap_free(&after);
    CHECK_EQ(s_held_count(r->m), 0);
}

static void
test_apply_rejects_bad_input(void **state)
{
    (void)state;
    node_t O, R, R2;
    mesh_txn_t *txn = NULL;
    snprintf(util_where, sizeof util_where, "rejects bad input: set-up");
    s_node_open(&O, "o", true);
    s_node_open(&R, "r", true);
    CHECK_OK(mesh_peer_add(R.m, O.id, NULL, NULL, 0));
    /* set 1 (seq 1-2): a full set of two puts; set 2 (seq 3-4) loses x to set 3 (seq 5),
     * so the bundle carries it partial: y with its Merkle proof */
    CHECK_OK(mesh_txn_begin(O.m, "c", &txn));
    CHECK_OK(mesh_put(txn, "a", 1, "hello", 5));
    CHECK_OK(mesh_put(txn, "b", 1, "world", 5));
    CHECK_OK(mesh_txn_commit(&txn, NULL));
    CHECK_OK(mesh_txn_begin(O.m, "c", &txn));
    CHECK_OK(mesh_put(txn, "x", 1, "1", 1));
    CHECK_OK(mesh_put(txn, "y", 1, "2", 1));
    CHECK_OK(mesh_txn_commit(&txn, NULL));
    util_put(O.m, "c", "x", "3");
    uint8_t *bundle = NULL;
    size_t blen = 0;
    CHECK_OK(mesh_export(O.m, NULL, 0, NULL, 0, (void **)&bundle, &blen));
    set_copy_t sets[8];
    size_t offs[8];
    CHECK_EQ(s_bundle_sets(bundle, blen, "c", sets, 8, offs), 3);
    set_copy_t *full = &sets[0], *part = &sets[1], *last = &sets[2];
    CHECK_EQ(full->first_seq, 1);
    CHECK(!full->partial);
    CHECK_EQ(part->first_seq, 3);
    CHECK(part->partial);
    CHECK_EQ(last->first_seq, 5);
    CHECK(!last->partial);

    /* where things are inside the full set */
    wire_set_t ws;
    wire_opmeta_t meta;
    CHECK_OK(wire_set_decode(full->p, full->len, &ws));
    CHECK_EQ(ws.op_count, 2);
    size_t sig_off = (size_t)(ws.sig - full->p);
    size_t hdr_off = (size_t)(ws.header - full->p);
    size_t ops_off = sig_off + WIRE_SIG_LEN;
    size_t val_off = (size_t)(ws.ops[0].value - full->p);
    CHECK_OK(wire_opmeta_decode(ws.ops[1].meta, ws.ops[1].meta_len, &meta));
    size_t key1_off = (size_t)(meta.key - full->p);
    size_t meta0_off = (size_t)(ws.ops[0].meta - full->p);
    size_t meta1_off = (size_t)(ws.ops[1].meta - full->p);
    size_t val1_off = (size_t)(ws.ops[1].value - full->p);
    wire_set_release(&ws);
    CHECK_EQ(full->p[hdr_off - 2], 0xc4);   /* the header is a bin8 */
    CHECK_EQ(full->p[ops_off], 0x92);       /* the ops: a fixarray of 2 */
    CHECK_EQ(full->p[val_off - 2], 0xc4);   /* the value "hello": a bin8 */
    CHECK_EQ(full->p[meta0_off], 0x96);     /* op metadata: a fixarray of 6 */
    CHECK_EQ(full->p[meta0_off + 1], 0x01); /* seq 1 as a positive fixint */
    /* where the proof is in the partial set, and a context entry in the last set */
    CHECK_OK(wire_set_decode(part->p, part->len, &ws));
    CHECK_EQ(ws.op_count, 1);
    CHECK_EQ(ws.ops[0].proof_count, 1);
    size_t proof_off = (size_t)(ws.ops[0].proof - part->p);
    wire_set_release(&ws);
    CHECK_OK(wire_set_decode(last->p, last->len, &ws));
    CHECK_OK(wire_opmeta_decode(ws.ops[0].meta, ws.ops[0].meta_len, &meta));
    CHECK_EQ(meta.ctx_count, 1);
    size_t ctx_seq_off = (size_t)(meta.ctx - last->p) + WIRE_CTX_ENTRY_LEN - 1;
    wire_set_release(&ws);

    uint8_t *v = NULL;
    size_t vlen = 0, ignore = 0;
#define REJECT(expr, want, what)                                                                   \
    do {                                                                                           \
        v = (expr);                                                                                \
        s_expect_reject(&R, v, vlen, (want), (what));                                              \
        free(v);                                                                                   \
    } while (0)
    /* the signature over the header */
    REJECT(s_flip(full->p, full->len, sig_off + 10, 0x01, &vlen), MESH_EBADSIG,
           "a signature byte flipped");
    /* the signed header itself (here a byte of the HLC or root): the signature fails */
    REJECT(s_flip(full->p, full->len, sig_off - 2 - 20, 0x01, &vlen), MESH_EBADSIG,
           "a header byte flipped");
    /* a value no longer matches the hash in its op's metadata */
    REJECT(s_flip(full->p, full->len, val_off + 1, 0x01, &vlen), MESH_EDIGEST,
           "a value byte flipped");
    /* an op's key changed: the metadata still decodes, its leaf no longer leads to the
     * signed Merkle root */
    REJECT(s_flip(full->p, full->len, key1_off, 0x01, &vlen), MESH_EDIGEST,
           "an op's key byte flipped in a full set");
    /* a context seq changed in a one-op full set: same, the root does not match */
    REJECT(s_flip(last->p, last->len, ctx_seq_off, 0x01, &vlen), MESH_EDIGEST,
           "an op's context byte flipped in a full set");
    /* op metadata that no longer decodes (array(6) became array(7)) */
    REJECT(s_flip(full->p, full->len, meta0_off, 0x01, &vlen), MESH_EPROTO,
           "an op's metadata array header flipped");
    /* two bad ops: the first one's reason, though verify hashes ops together after their
     * hash-free checks (op 0's value against op 1's metadata, then the other way round) */
    uint8_t *two = s_flip(full->p, full->len, val_off + 1, 0x01, &vlen);
    REJECT(s_flip(two, vlen, meta1_off, 0x01, &vlen), MESH_EDIGEST,
           "op 0's value byte and op 1's metadata array header flipped");
    free(two);
    two = s_flip(full->p, full->len, meta0_off, 0x01, &vlen);
    REJECT(s_flip(two, vlen, val1_off + 1, 0x01, &vlen), MESH_EPROTO,
           "op 0's metadata array header and op 1's value byte flipped");
    free(two);
    /* the first op claims seq 2 in a full set that starts at seq 1 */
    REJECT(s_flip(full->p, full->len, meta0_off + 1, 0x03, &vlen), MESH_ESEQGAP,
           "an op's seq changed in a full set");
    /* the Merkle proof of a partial set */
    REJECT(s_flip(part->p, part->len, proof_off + 7, 0x01, &vlen), MESH_EDIGEST,
           "a proof byte flipped in a partial set");
    /* lengths: truncated, trailing byte, empty */
    vlen = full->len - 1;
    REJECT(s_splice(full->p, full->len, 0, 0, NULL, 0, &ignore) /* a copy */, MESH_EPROTO,
           "truncated by one byte");
    vlen = full->len + 1;
    REJECT(s_splice(full->p, full->len, full->len, 0, "\0", 1, &ignore), MESH_EPROTO,
           "one trailing byte");
    vlen = 0;
    REJECT(s_splice(full->p, full->len, 0, 0, NULL, 0, &ignore), MESH_EPROTO, "empty input");
    /* oversized length fields */
    static const uint8_t arr32[] = {0xdd, 0xff, 0xff, 0xff, 0xff};
    REJECT(s_splice(full->p, full->len, ops_off, 1, arr32, sizeof arr32, &vlen), MESH_ETOOBIG,
           "an op count of 2^32-1 (past WIRE_OPS_MAX)");
    static const uint8_t arr16[] = {0xdc, 0x27, 0x0f}; /* 9999 ops: within the cap */
    REJECT(s_splice(full->p, full->len, ops_off, 1, arr16, sizeof arr16, &vlen), MESH_EPROTO,
           "an op count of 9999 with the bytes of 2");
    static const uint8_t bin32[] = {0xc6, 0xff, 0xff, 0xff, 0xff};
    REJECT(s_splice(full->p, full->len, hdr_off - 2, 2, bin32, sizeof bin32, &vlen), MESH_EPROTO,
           "a header length of 2^32-1");
    static const uint8_t vbin32[] = {0xc6, 0x00, 0x20, 0x00, 0x00}; /* 2 MiB */
    REJECT(s_splice(full->p, full->len, val_off - 2, 2, vbin32, sizeof vbin32, &vlen), MESH_EPROTO,
           "a value length of 2 MiB with 5 bytes present");
    /* a set longer than WIRE_SET_MAX is refused before it is read */
    vlen = (size_t)WIRE_SET_MAX + 1;
    v = calloc(1, vlen);
    CHECK(v != NULL);
    memcpy(v, full->p, full->len);
    s_expect_reject(&R, v, vlen, MESH_ETOOBIG, "a set of WIRE_SET_MAX + 1 bytes");
    free(v);
#undef REJECT

    /* the intact sets apply, and the node works */
    snprintf(util_where, sizeof util_where, "rejects bad input: intact sets");
    for (size_t i = 0; i < 3; i++) {
        apply_result_t res;
        const uint8_t *p = sets[i].p;
        CHECK_OK(apply_batch(R.m, &p, &sets[i].len, 1, NULL, &res));
        CHECK_EQ(res.outcome, APPLY_NEW);
        CHECK_EQ(res.err, MESH_OK);
    }
    util_expect(R.m, "c", "a", "hello");
    util_expect(R.m, "c", "b", "world");
    util_expect(R.m, "c", "x", "3");
    util_expect(R.m, "c", "y", "2");
    util_check_digest(R.m, "c");
    util_put(R.m, "c", "mine", "works");
    util_expect(R.m, "c", "mine", "works");

    /* one op tampered inside one set of a bundle: that set is rejected, the rest applied */
    snprintf(util_where, sizeof util_where, "rejects bad input: a tampered bundle");
    s_node_open(&R2, "r2", true);
    CHECK_OK(mesh_peer_add(R2.m, O.id, NULL, NULL, 0));
    uint8_t *bad = malloc(blen);
    CHECK(bad != NULL);
    memcpy(bad, bundle, blen);
    CHECK_OK(wire_set_decode(last->p, last->len, &ws));
    size_t xval_off = offs[2] + (size_t)(ws.ops[0].value - last->p);
    wire_set_release(&ws);
    CHECK_EQ(bad[xval_off], '3');
    bad[xval_off] = '4';
    mesh_import_report_t rep = {.size = sizeof rep};
    CHECK_OK(mesh_import(R2.m, bad, blen, &rep));
    CHECK_EQ(rep.sets_rejected, 1);
    CHECK_EQ(rep.sets_new, 3); /* O's genesis, set 1, set 2 (partial) */
    CHECK_EQ(rep.sets_held, 0);
    CHECK(rep.text != NULL);
    if (!strstr(rep.text, "rejected") || !strstr(rep.text, "value does not match") ||
        !strstr(rep.text, O.id)) {
        fail_msg("report text: %s", rep.text);
    }
    mesh_free(rep.text);
    util_expect(R2.m, "c", "a", "hello");
    util_expect(R2.m, "c", "b", "world");
    util_expect(R2.m, "c", "y", "2");
    util_expect(R2.m, "c", "x", NULL);
    util_check_digest(R2.m, "c");
    /* the watermark of O did not go with the rejected set: the intact bundle still brings x */
    CHECK_OK(mesh_import(R2.m, bundle, blen, &rep));
    CHECK_EQ(rep.sets_rejected, 0);
    CHECK_EQ(rep.sets_new, 1);
    CHECK_EQ(rep.sets_known, 3);
    mesh_free(rep.text);
    util_expect(R2.m, "c", "x", "3");
    util_check_digest(R2.m, "c");
    free(bad);
    for (size_t i = 0; i < 3; i++) {
        free(sets[i].p);
    }
    mesh_free(bundle);
    s_node_close(&O);
    s_node_close(&R);
    s_node_close(&R2);
    util_where[0] = '\0';
}

/* ---- a set first seen partial, then whole ---- */

/* D first gets X's set S = {p, q} partial (only q: X has since overwritten p), then the
 * whole of S from T, which got it before the overwrite: p@1 is new to D and stored. D must
 * still be able to forward S's live ops with valid proofs: a fresh E that imports D's
 * bundle rejects nothing and ends with what D holds. */
static void
test_apply_partial_then_full_set(void **state)
{
    (void)state;
    node_t n[4];
    const char *names[4] = {"x", "t", "d", "e"};
    snprintf(util_where, sizeof util_where, "a set first seen partial, then whole: set-up");
    for (int i = 0; i < 4; i++) {
        s_node_open(&n[i], names[i], true);
    }
    node_t *X = &n[0], *T = &n[1], *D = &n[2], *E = &n[3];
    s_mesh_star(n, 4);
    mesh_txn_t *txn = NULL;
    CHECK_OK(mesh_txn_begin(X->m, "c", &txn));
    CHECK_OK(mesh_put(txn, "p", 1, "1", 1));
    CHECK_OK(mesh_put(txn, "q", 1, "2", 1));
    CHECK_OK(mesh_txn_commit(&txn, NULL));
    CHECK_EQ(s_xfer(X->m, T->m, false, NULL), 1); /* T: S whole */
    util_put(X->m, "c", "p", "3");

    /* D gets only S, partial, from X's bundle (not the overwrite of p) */
    snprintf(util_where, sizeof util_where,
             "a set first seen partial, then whole: D gets S partial");
    uint8_t *b = NULL;
    size_t blen = 0;
    set_copy_t sets[4];
    CHECK_OK(mesh_export(X->m, NULL, 0, NULL, 0, (void **)&b, &blen));
    CHECK_EQ(s_bundle_sets(b, blen, "c", sets, 4, NULL), 2);
    mesh_free(b);
    CHECK_EQ(sets[0].first_seq, 1);
    CHECK(sets[0].partial);
    apply_result_t res;
    const uint8_t *p = sets[0].p;
    CHECK_OK(apply_batch(D->m, &p, &sets[0].len, 1, NULL, &res));
    for (size_t i = 0; i < 2; i++) {
        free(sets[i].p);
    }
    CHECK_EQ(res.outcome, APPLY_NEW);
    util_expect(D->m, "c", "q", "2");
    util_expect(D->m, "c", "p", NULL);

    /* then the whole of S from T: p@1 is new to D */
    snprintf(util_where, sizeof util_where, "a set first seen partial, then whole: T -> D");
    mesh_import_report_t rep = {.size = sizeof rep};
    (void)s_xfer(T->m, D->m, false, &rep);
    CHECK_EQ(rep.sets_rejected, 0);
    s_expect_single(D->m, "c", "p", "1", X->id);
    util_check_digest(D->m, "c");

    /* D forwards what it holds: E must accept all of it */
    snprintf(util_where, sizeof util_where, "a set first seen partial, then whole: D -> E");
    CHECK_OK(mesh_export(D->m, NULL, 0, NULL, 0, (void **)&b, &blen));
    CHECK_OK(mesh_import(E->m, b, blen, &rep));
    mesh_free(b);
    if (rep.sets_rejected) {
        print_error("E's report: %s", rep.text ? rep.text : "(none)\n");
    }
    mesh_free(rep.text);
    CHECK_EQ(rep.sets_rejected, 0);
    s_expect_single(E->m, "c", "p", "1", X->id);
    s_expect_single(E->m, "c", "q", "2", X->id);
    node_t de[2] = {*D, *E};
    s_check_same(de, 2, "c");
    /* and once all is exchanged, everyone holds X's overwrite of p */
    s_sync_all(n, 4, false);
    for (int i = 0; i < 4; i++) {
        s_expect_single(n[i].m, "c", "p", "3", X->id);
        s_expect_single(n[i].m, "c", "q", "2", X->id);
    }
    s_check_same(n, 4, "c");
    for (int i = 0; i < 4; i++) {
        s_node_close(&n[i]);
    }
    util_where[0] = '\0';
}

/* ---- what a set whose ops are all superseded here counts as ---- */

/* Does m's vector for coll cover dot (origin, its current incarnation, seq)? */
static bool
s_vector_covers(mesh_t *m, const char *coll, mesh_t *origin, uint64_t seq)
{
    void *vec = NULL;
    size_t len = 0;
    vector_t *v = NULL;
    CHECK_OK(mesh_vector(m, NULL, 0, &vec, &len));
    CHECK_OK(vector_decode(vec, len, &v));
    const vector_entry_t *e =
        vector_find(v, coll, ident_public_key(origin->ident), store_incarnation(origin->store));
    bool covered = e && vv_covers(&e->vv, seq);
    vector_free(v);
    mesh_free(vec);
    return covered;
}

/* R holds A's overwrite of its own k (A's second set, whose context names A's first dot),
 * but not A's first dot. A's first set then reaches R: its one op is superseded (receive
 * rule b), so nothing is stored, but R now counts A's dot: by apply.h that is APPLY_NEW
 * ("at least one op was stored or counted as superseded"), and only applying it again is
 * APPLY_KNOWN ("nothing changed"). (An origin's context naming its own dots is applied at
 * once: causal delivery waits only for other devices' dots, §5.3.) */
static void
test_apply_superseded_set_is_new(void **state)
{
    (void)state;
    node_t n[2];
    const char *names[2] = {"a", "r"};
    snprintf(util_where, sizeof util_where, "a set superseded on arrival");
    for (int i = 0; i < 2; i++) {
        s_node_open(&n[i], names[i], true);
    }
    node_t *A = &n[0], *R = &n[1];
    s_mesh_star(n, 2);
    uint8_t *b = NULL;
    size_t blen = 0;
    set_copy_t sa, sb;
    util_put(A->m, "c", "k", "a1");
    CHECK_OK(mesh_export(A->m, NULL, 0, NULL, 0, (void **)&b, &blen));
    CHECK_EQ(s_bundle_sets(b, blen, "c", &sa, 1, NULL), 1);
    mesh_free(b);
    util_put(A->m, "c", "k", "a2");
    CHECK_OK(mesh_export(A->m, NULL, 0, NULL, 0, (void **)&b, &blen));
    CHECK_EQ(s_bundle_sets(b, blen, "c", &sb, 1, NULL), 1); /* the first is all superseded */
    mesh_free(b);

    apply_result_t res;
    const uint8_t *p = sb.p;
    CHECK_OK(apply_batch(R->m, &p, &sb.len, 1, NULL, &res)); /* the set alone: no watermark */
    CHECK_EQ(res.outcome, APPLY_NEW);
    s_expect_single(R->m, "c", "k", "a2", A->id);
    CHECK(!s_vector_covers(R->m, "c", A->m, 1));
    char before[65], after[65];
    util_digest(R->m, "c", before);

    p = sa.p;
    CHECK_OK(apply_batch(R->m, &p, &sa.len, 1, NULL, &res));
    enum apply_outcome first = res.outcome;
    bool counted = s_vector_covers(R->m, "c", A->m, 1);
    util_digest(R->m, "c", after);
    s_expect_single(R->m, "c", "k", "a2", A->id); /* superseded: not stored */
    CHECK(strcmp(before, after) == 0);
    CHECK_EQ(res.ops_stored, 0);
    CHECK_EQ(res.ops_superseded, 1);
    CHECK_EQ(res.ops_old, 0);
    CHECK(counted); /* P2: the dot is now counted as superseded */
    CHECK_OK(apply_batch(R->m, &p, &sa.len, 1, NULL, &res));
    CHECK_EQ(res.outcome, APPLY_KNOWN);
    free(sa.p);
    free(sb.p);
    for (int i = 0; i < 2; i++) {
        s_node_close(&n[i]);
    }
    /* checked last: the first application changed R's vector, so it was not "nothing
     * changed" (mesh_import would count it in sets_known) */
    if (first != APPLY_NEW) {
        util_print_where();
        fail_msg("a set whose only op was counted as superseded came out %s, not APPLY_NEW",
                 first == APPLY_KNOWN ? "APPLY_KNOWN" : "neither NEW nor KNOWN");
    }
    util_where[0] = '\0';
}

/* Causal delivery (§5.3): B overwrites A's k; R gets B's set alone: it names A's dot, which
 * R neither holds nor can show A signed, so it waits (nothing stored, the vector unmoved).
 * B's bundle also carries A's header alone (all of A's set was superseded on B): with it,
 * R can show A signed that dot, and B's set applies; A's set itself is then obsolete there.
 * In one batch, B's set first, both apply (a waiting set is retried at the batch's end). */
static void
test_apply_context_waits(void **state)
{
    (void)state;
    node_t n[4];
    const char *names[4] = {"a", "b", "r", "r2"};
    snprintf(util_where, sizeof util_where, "a context naming a dot not held waits");
    for (int i = 0; i < 4; i++) {
        s_node_open(&n[i], names[i], true);
    }
    node_t *A = &n[0], *B = &n[1], *R = &n[2], *fresh = &n[3];
    s_mesh_star(n, 4);
    uint8_t *b = NULL;
    size_t blen = 0;
    set_copy_t sa, two[2];
    util_put(A->m, "c", "k", "a");
    CHECK_OK(mesh_export(A->m, NULL, 0, NULL, 0, (void **)&b, &blen));
    CHECK_EQ(s_bundle_sets(b, blen, "c", &sa, 1, NULL), 1);
    mesh_free(b);
    CHECK_EQ(s_xfer(A->m, B->m, false, NULL), 1);
    util_put(B->m, "c", "k", "b");
    CHECK_OK(mesh_export(B->m, NULL, 0, NULL, 0, (void **)&b, &blen));
    CHECK_EQ(s_bundle_sets(b, blen, "c", two, 2, NULL), 2);
    mesh_free(b);
    /* A's header alone (a partial set of no op), and B's whole set */
    set_copy_t *ah = two[0].partial ? &two[0] : &two[1], *sb = two[0].partial ? &two[1] : &two[0];
    CHECK(ah->partial && !sb->partial);

    apply_result_t res[2];
    const uint8_t *p = sb->p;
    CHECK_OK(apply_batch(R->m, &p, &sb->len, 1, NULL, res));
    CHECK_EQ(res[0].outcome, APPLY_WAITING);
    CHECK(strstr(res[0].why, "waits for seq 1 of ") != NULL);
    CHECK(!s_vector_covers(R->m, "c", B->m, 1));
    mesh_item_version_list_t *vs = NULL;
    CHECK_EQ(mesh_get_versions(R->m, "c", "k", 1, &vs), MESH_ENOTFOUND);
    p = ah->p;
    CHECK_OK(apply_batch(R->m, &p, &ah->len, 1, NULL, res));
    CHECK(res[0].outcome == APPLY_NEW || res[0].outcome == APPLY_KNOWN);
    CHECK_EQ(mesh_get_versions(R->m, "c", "k", 1, &vs), MESH_ENOTFOUND); /* a header: no op */
    p = sb->p;
    CHECK_OK(apply_batch(R->m, &p, &sb->len, 1, NULL, res));
    CHECK_EQ(res[0].outcome, APPLY_NEW);
    s_expect_single(R->m, "c", "k", "b", B->id);
    p = sa.p;
    CHECK_OK(apply_batch(R->m, &p, &sa.len, 1, NULL, res));
    CHECK_EQ(res[0].ops_superseded, 1);
    s_expect_single(R->m, "c", "k", "b", B->id);

    /* one batch, B's set first: it waits, A's applies, the retry applies B's */
    const uint8_t *both[2] = {sb->p, sa.p};
    size_t lens[2] = {sb->len, sa.len};
    CHECK_OK(apply_batch(fresh->m, both, lens, 2, NULL, res));
    CHECK_EQ(res[0].outcome, APPLY_NEW);
    CHECK_EQ(res[1].outcome, APPLY_NEW);
    s_expect_single(fresh->m, "c", "k", "b", B->id);
    util_check_digest(fresh->m, "c");
    free(sa.p);
    free(two[0].p);
    free(two[1].p);
    for (int i = 0; i < 4; i++) {
        s_node_close(&n[i]);
    }
    util_where[0] = '\0';
}

/* Causal delivery (§5.3) with two origins whose first sets are gone (seed 27 of test_model
 * found it): A writes x, B writes y, each gets the other's; then A overwrites y and B x. On
 * A both first sets are wholly superseded, and its export carries of each origin only the
 * second set, whose header reaches the first's seq (so no header alone goes for it). A's
 * second set names B's seq 1, B's names A's seq 1: to a fresh R each is the only signed
 * header reaching the dot the other names. Together, in one batch, both apply: a verified
 * header of the batch shows that its origin signed the dot, whether or not its own set
 * applies (before, each waited for the other, in every pass for good). Alone, each waits. */
static void
test_apply_context_cycle(void **state)
{
    (void)state;
    node_t n[4];
    const char *names[4] = {"a", "b", "r", "r2"};
    snprintf(util_where, sizeof util_where, "sets naming each other's superseded dots");
    for (int i = 0; i < 4; i++) {
        s_node_open(&n[i], names[i], true);
    }
    node_t *A = &n[0], *B = &n[1], *R = &n[2], *R2 = &n[3];
    s_mesh_star(n, 4);
    util_put(A->m, "c", "x", "a1");
    util_put(B->m, "c", "y", "b1");
    (void)s_xfer(A->m, B->m, false, NULL);
    (void)s_xfer(B->m, A->m, false, NULL);
    util_put(A->m, "c", "y", "a2"); /* its context names B's seq 1 */
    util_put(B->m, "c", "x", "b2"); /* its context names A's seq 1 */
    (void)s_xfer(B->m, A->m, false, NULL);
    s_expect_single(A->m, "c", "x", "b2", B->id);
    s_expect_single(A->m, "c", "y", "a2", A->id);

    uint8_t *b = NULL;
    size_t blen = 0;
    set_copy_t sets[4];
    CHECK_OK(mesh_export(A->m, NULL, 0, NULL, 0, (void **)&b, &blen));
    size_t ns = s_bundle_sets(b, blen, "c", sets, 4, NULL);
    mesh_free(b);
    CHECK_EQ(ns, 2); /* the second sets only: no header alone */
    CHECK(!sets[0].partial && !sets[1].partial && sets[0].first_seq == 2 && sets[1].first_seq == 2);

    apply_result_t res[2];
    const uint8_t *p = sets[0].p;
    CHECK_OK(apply_batch(R2->m, &p, &sets[0].len, 1, NULL, res));
    CHECK_EQ(res[0].outcome, APPLY_WAITING);
    CHECK(strstr(res[0].why, "waits for seq 1 of ") != NULL);

    const uint8_t *both[2] = {sets[0].p, sets[1].p};
    size_t lens[2] = {sets[0].len, sets[1].len};
    CHECK_OK(apply_batch(R->m, both, lens, 2, NULL, res));
    CHECK_EQ(res[0].outcome, APPLY_NEW);
    CHECK_EQ(res[1].outcome, APPLY_NEW);
    s_expect_single(R->m, "c", "x", "b2", B->id);
    s_expect_single(R->m, "c", "y", "a2", A->id);
    util_check_digest(R->m, "c");
    (void)s_xfer(A->m, R2->m, false, NULL); /* a whole export, as a pass sends it */
    s_expect_single(R2->m, "c", "x", "b2", B->id);
    s_expect_single(R2->m, "c", "y", "a2", A->id);
    free(sets[0].p);
    free(sets[1].p);
    for (int i = 0; i < 4; i++) {
        s_node_close(&n[i]);
    }
    util_where[0] = '\0';
}

/* ---- the fork rule ---- */

static mesh_err_t
s_set_incarnation(store_txn_t *txn, void *ctx)
{
    return store_meta_put_u64(txn, "incarnation", *(const uint64_t *)ctx);
}

/* The set of coll starting at first_seq in a bundle exported by m. */
static void
s_export_set(mesh_t *m, uint64_t first_seq, set_copy_t *out)
{
    uint8_t *b = NULL;
    size_t blen = 0;
    set_copy_t sets[8];
    CHECK_OK(mesh_export(m, NULL, 0, NULL, 0, (void **)&b, &blen));
    size_t n = s_bundle_sets(b, blen, "c", sets, 8, NULL);
    bool found = false;
    for (size_t i = 0; i < n; i++) {
        if (sets[i].first_seq == first_seq && !found) {
            *out = sets[i];
            found = true;
        } else {
            free(sets[i].p);
        }
    }
    CHECK(found);
    mesh_free(b);
}

static void
s_apply_one(node_t *nd, const set_copy_t *s, enum apply_outcome want, mesh_err_t want_err)
{
    apply_result_t res;
    const uint8_t *p = s->p;
    CHECK_OK(apply_batch(nd->m, &p, &s->len, 1, NULL, &res));
    if (res.outcome != want || res.err != want_err) {
        util_print_where();
        fail_msg("outcome %d err %d (%s), expected %d err %d; why: %.*s", (int)res.outcome,
                 (int)res.err, mesh_strerror(res.err), (int)want, (int)want_err,
                 (int)sizeof res.why, res.why);
    }
    util_check_digest(nd->m, "c");
}

/* The two sets of test_apply_context_cycle in separate batches, as a live session's BATCH frames of
 * 1 MiB, imported a few at a time, may bring them: each waits for a dot only the other's
 * header reaches. The first leaves a "signed up to" record of its header, so the second
 * applies, and the first, sent again (the sender's next pass), applies too: both end
 * applied, in either order, and the digests agree with the writers'. Before the record, each
 * waited again at every pass. */
static void
test_apply_context_cycle_split(void **state)
{
    (void)state;
    node_t n[4];
    const char *names[4] = {"a", "b", "r", "r2"};
    snprintf(util_where, sizeof util_where, "the cycle split across batches");
    for (int i = 0; i < 4; i++) {
        s_node_open(&n[i], names[i], true);
    }
    node_t *A = &n[0], *B = &n[1];
    s_mesh_star(n, 4);
    util_put(A->m, "c", "x", "a1");
    util_put(B->m, "c", "y", "b1");
    (void)s_xfer(A->m, B->m, false, NULL);
    (void)s_xfer(B->m, A->m, false, NULL);
    util_put(A->m, "c", "y", "a2");
    util_put(B->m, "c", "x", "b2");
    (void)s_xfer(B->m, A->m, false, NULL);
    (void)s_xfer(A->m, B->m, false, NULL);

    uint8_t *b = NULL;
    size_t blen = 0;
    set_copy_t sets[4];
    CHECK_OK(mesh_export(A->m, NULL, 0, NULL, 0, (void **)&b, &blen));
    size_t ns = s_bundle_sets(b, blen, "c", sets, 4, NULL);
    mesh_free(b);
    CHECK_EQ(ns, 2);
    for (int order = 0; order < 2; order++) { /* R takes sets[0] first, R2 sets[1] */
        node_t *R = &n[2 + order];
        const set_copy_t *first = &sets[order], *second = &sets[1 - order];
        s_apply_one(R, first, APPLY_WAITING, MESH_OK); /* no header reaches what it names */
        s_apply_one(R, second, APPLY_NEW, MESH_OK);    /* the first's header did */
        s_apply_one(R, first, APPLY_NEW, MESH_OK);     /* sent again: the second's is stored */
        s_expect_single(R->m, "c", "x", "b2", B->id);
        s_expect_single(R->m, "c", "y", "a2", A->id);
        char da[65], db[65], dr[65];
        util_digest(A->m, "c", da);
        util_digest(B->m, "c", db);
        util_digest(R->m, "c", dr);
        CHECK(strcmp(da, dr) == 0 && strcmp(db, dr) == 0);
    }
    free(sets[0].p);
    free(sets[1].p);
    for (int i = 0; i < 4; i++) {
        s_node_close(&n[i]);
    }
    util_where[0] = '\0';
}

/* ---- the cap on "signed up to" records ---- */

static mesh_err_t
s_renew_incarnation(store_txn_t *txn, void *ctx)
{
    return store_incarnation_renew(txn, (uint64_t *)ctx);
}

/* The set of coll "c" that m signed under incarnation inc, copied out of an export of m;
 * *origin gets its origin key. */
static void
s_export_inc_set(mesh_t *m, uint64_t inc, set_copy_t *out, uint8_t *origin)
{
    uint8_t *b = NULL;
    size_t blen = 0;
    set_copy_t sets[32];
    CHECK_OK(mesh_export(m, NULL, 0, NULL, 0, (void **)&b, &blen));
    size_t n = s_bundle_sets(b, blen, "c", sets, 32, NULL);
    CHECK(n < 32);
    bool found = false;
    for (size_t i = 0; i < n; i++) {
        wire_set_t set;
        wire_header_t h;
        CHECK_OK(wire_set_decode(sets[i].p, sets[i].len, &set));
        CHECK_OK(wire_header_decode(set.header, set.header_len, &h));
        bool mine = h.incarnation == inc && !found;
        if (mine) {
            memcpy(origin, h.origin, WIRE_ORIGIN_LEN);
        }
        wire_set_release(&set);
        if (mine) {
            *out = sets[i];
            found = true;
        } else {
            free(sets[i].p);
        }
    }
    CHECK(found);
    mesh_free(b);
}

/* The "signed up to" records that R holds for (c, origin): how many, and whether the one of
 * incarnation inc is among them. */
static size_t
s_signed_records(mesh_t *R, const uint8_t *origin, uint64_t inc, bool *has_inc)
{
    store_txn_t *txn = NULL;
    store_cursor_t *cur = NULL;
    uint32_t cid = 0;
    size_t n = 0;
    uint64_t i = 0, end = 0;
    *has_inc = false;
    CHECK_OK(store_read_begin(R->store, &txn));
    CHECK_OK(store_coll_id(txn, "c", false, &cid));
    CHECK_OK(store_signed_open(txn, cid, origin, &cur));
    mesh_err_t err;
    while ((err = store_signed_next(cur, &i, &end)) == MESH_OK) {
        n++;
        *has_inc = *has_inc || i == inc;
    }
    CHECK_EQ(err, MESH_ENOTFOUND);
    store_cursor_close(cur);
    store_read_end(txn);
    return n;
}

/* A member that signs waiting sets under ever new incarnations (X here: each of its sets
 * overwrites a key of Y's, so it names a dot of Y's that R lacks) leaves R at most
 * CAUSAL_SIGNED_INCS_MAX "signed up to" records for (c, X): the ninth incarnation's set
 * still waits, with no record. Another origin's set (Z's) still gets its own record: X
 * fills only its own share. Once Y's sets come, every set of X applies when sent again (no
 * write lost to the cap), and a tenth incarnation's waiting set gets a record again: the
 * spent ones (whose headers are now stored) make room. */
static void
test_apply_signed_cap(void **state)
{
    (void)state;
    enum { NINC = CAUSAL_SIGNED_INCS_MAX + 1 };
    node_t n[4];
    const char *names[4] = {"x", "y", "z", "r"};
    snprintf(util_where, sizeof util_where, "the cap on signed-up-to records");
    for (int i = 0; i < 4; i++) {
        s_node_open(&n[i], names[i], true);
    }
    node_t *X = &n[0], *Y = &n[1], *Z = &n[2], *R = &n[3];
    s_mesh_star(n, 4);
    char key[16], val[16];
    for (int i = 0; i <= NINC; i++) {
        snprintf(key, sizeof key, "y%d", i);
        util_put(Y->m, "c", key, "from-y");
    }
    (void)s_xfer(Y->m, X->m, false, NULL);
    (void)s_xfer(Y->m, Z->m, false, NULL);

    set_copy_t xs[NINC + 1];
    uint64_t incs[NINC + 1];
    uint8_t xo[WIRE_ORIGIN_LEN], zo[WIRE_ORIGIN_LEN];
    for (int i = 0; i < NINC; i++) {
        CHECK_OK(store_write(X->m->store, s_renew_incarnation, &incs[i]));
        CHECK_EQ(store_incarnation(X->m->store), incs[i]);
        snprintf(key, sizeof key, "y%d", i);
        snprintf(val, sizeof val, "x%d", i);
        util_put(X->m, "c", key, val);
        s_export_inc_set(X->m, incs[i], &xs[i], xo);
        s_apply_one(R, &xs[i], APPLY_WAITING, MESH_OK); /* names Y's dot, which R lacks */
    }
    bool has = false;
    CHECK_EQ(s_signed_records(R->m, xo, incs[NINC - 1], &has), CAUSAL_SIGNED_INCS_MAX);
    CHECK(!has); /* the ninth made none */
    CHECK(s_signed_records(R->m, xo, incs[0], &has) == CAUSAL_SIGNED_INCS_MAX && has);

    set_copy_t zs;
    snprintf(key, sizeof key, "y%d", NINC);
    util_put(Z->m, "c", key, "z");
    uint64_t zinc = store_incarnation(Z->m->store);
    s_export_inc_set(Z->m, zinc, &zs, zo);
    s_apply_one(R, &zs, APPLY_WAITING, MESH_OK);
    CHECK(s_signed_records(R->m, zo, zinc, &has) == 1 && has); /* Z's own share */

    (void)s_xfer(Y->m, R->m, false, NULL);
    for (int i = 0; i < NINC; i++) {
        s_apply_one(R, &xs[i], APPLY_NEW, MESH_OK);
        free(xs[i].p);
    }
    s_apply_one(R, &zs, APPLY_NEW, MESH_OK);
    free(zs.p);
    for (int i = 0; i < NINC; i++) {
        snprintf(key, sizeof key, "y%d", i);
        snprintf(val, sizeof val, "x%d", i);
        s_expect_single(R->m, "c", key, val, X->id);
    }
    snprintf(key, sizeof key, "y%d", NINC);
    s_expect_single(R->m, "c", key, "z", Z->id);

    /* a tenth incarnation whose set waits (for a new write of Y's) gets a record again */
    util_put(Y->m, "c", "late", "from-y");
    (void)s_xfer(Y->m, X->m, true, NULL);
    CHECK_OK(store_write(X->m->store, s_renew_incarnation, &incs[NINC]));
    util_put(X->m, "c", "late", "x-late");
    s_export_inc_set(X->m, incs[NINC], &xs[NINC], xo);
    s_apply_one(R, &xs[NINC], APPLY_WAITING, MESH_OK);
    size_t left = s_signed_records(R->m, xo, incs[NINC], &has);
    CHECK(has && left <= CAUSAL_SIGNED_INCS_MAX);
    (void)s_xfer(Y->m, R->m, true, NULL);
    s_apply_one(R, &xs[NINC], APPLY_NEW, MESH_OK);
    free(xs[NINC].p);
    s_expect_single(R->m, "c", "late", "x-late", X->id);
    for (int i = 0; i < 4; i++) {
        s_node_close(&n[i]);
    }
    util_where[0] = '\0';
}

/* Fork X's home (open, in g_root/sub/x): close it, copy it to g_root/sub/to, and put X's
 * incarnation back into the copy's store (a rollback that escaped incarnation detection);
 * X is reopened and Y opened, the same device under the same incarnation. */
static void
s_fork_copy(const char *sub, node_t *X, const char *to, node_t *Y)
{
    char src[300], dst[300], name[64];
    uint64_t inc_x = store_incarnation(X->m->store);
    s_node_close(X);
    snprintf(src, sizeof src, "%s/%s/x", g_root, sub);
    snprintf(dst, sizeof dst, "%s/%s/%s", g_root, sub, to);
    CHECK_EQ(s_copy_tree(src, dst), 0); /* cp -a: new files, so a new file identity */
    snprintf(name, sizeof name, "%s/x", sub);
    s_node_open(X, name, false);
    CHECK_EQ(store_incarnation(X->m->store), inc_x);
    /* the copy starts a new incarnation (its file identity changed); put X's back */
    store_t *st = NULL;
    char path[320], errmsg[256];
    snprintf(path, sizeof path, "%s/store", dst);
    CHECK_OK(store_open(path, 0, &st, errmsg, sizeof errmsg));
    CHECK(store_incarnation_is_new(st));
    CHECK(store_incarnation(st) != inc_x);
    CHECK_OK(store_write(st, s_set_incarnation, &inc_x));
    store_close(st);
    snprintf(name, sizeof name, "%s/%s", sub, to);
    s_node_open(Y, name, false);
    CHECK(strcmp(X->id, Y->id) == 0);
    CHECK_EQ(store_incarnation(Y->m->store), inc_x);
    CHECK(!store_incarnation_is_new(Y->m->store));
}

static void
s_fork_home(const char *sub, node_t *X, node_t *Y)
{
    s_fork_copy(sub, X, "y", Y);
}

/* One fork: X commits seq 1, its home is copied to Y, Y's store gets X's incarnation back
 * (a rollback that escaped incarnation detection), and both commit seq 2-3. Z1 gets X's
 * set then Y's, Z2 the other way round, X and Y each other's. Returns whether X's won. */
static bool
s_fork_once(int attempt)
{
    node_t X, Y, Z1, Z2;
    char sub[32], name[64];
    snprintf(sub, sizeof sub, "fork%d", attempt);
    snprintf(util_where, sizeof util_where, "fork rule %d: set-up", attempt);
    s_mkdir(sub);
    snprintf(name, sizeof name, "%s/x", sub);
    s_node_open(&X, name, true);
    util_put(X.m, "c", "k", "base"); /* seq 1 */
    s_fork_home(sub, &X, &Y);

    /* both commit seq 2-3 with different content */
    mesh_txn_t *txn = NULL;
    uint64_t fx = 0, fy = 0;
    CHECK_OK(mesh_txn_begin(X.m, "c", &txn));
    CHECK_OK(mesh_put(txn, "k", 1, "from-x", 6));
    CHECK_OK(mesh_put(txn, "kx", 2, "x", 1));
    CHECK_OK(mesh_txn_commit(&txn, &fx));
    CHECK_OK(mesh_txn_begin(Y.m, "c", &txn));
    CHECK_OK(mesh_put(txn, "k", 1, "from-y", 6));
    CHECK_OK(mesh_put(txn, "ky", 2, "y", 1));
    CHECK_OK(mesh_txn_commit(&txn, &fy));
    CHECK_EQ(fx, 2);
    CHECK_EQ(fy, 2);
    void *bx = NULL, *by = NULL;
    size_t bxl = 0, byl = 0;
    CHECK_OK(mesh_export(X.m, NULL, 0, NULL, 0, &bx, &bxl));
    CHECK_OK(mesh_export(Y.m, NULL, 0, NULL, 0, &by, &byl));
    set_copy_t sx, sy;
    s_export_set(X.m, 2, &sx);
    s_export_set(Y.m, 2, &sy);
    const set_copy_t *win = &sx, *lose = &sy;

    snprintf(name, sizeof name, "%s/z1", sub);
    s_node_open(&Z1, name, true);
    snprintf(name, sizeof name, "%s/z2", sub);
    s_node_open(&Z2, name, true);
    CHECK_OK(mesh_peer_add(Z1.m, X.id, NULL, NULL, 0));
    CHECK_OK(mesh_peer_add(Z2.m, X.id, NULL, NULL, 0));
    mesh_import_report_t rep = {.size = sizeof rep};

    /* Z1: X's set first, then Y's: both keep their versions (PROTOCOL.md §5.7) */
    snprintf(util_where, sizeof util_where, "fork rule %d: Z1 gets X's then Y's", attempt);
    CHECK_OK(mesh_import(Z1.m, bx, bxl, &rep));
    CHECK_EQ(rep.sets_rejected, 0);
    CHECK_EQ(rep.sets_held, 0);
    mesh_free(rep.text);
    util_expect(Z1.m, "c", "k", "from-x");
    s_apply_one(&Z1, &sy, APPLY_NEW, MESH_OK);
    s_apply_one(&Z1, win, APPLY_KNOWN, MESH_OK);
    s_apply_one(&Z1, lose, APPLY_KNOWN, MESH_OK);
    CHECK_OK(mesh_import(Z1.m, by, byl, &rep));
    CHECK_EQ(rep.sets_new, 0);
    CHECK_EQ(rep.sets_rejected, 0);
    mesh_free(rep.text);

    /* Z2: Y's set first, then X's */
    snprintf(util_where, sizeof util_where, "fork rule %d: Z2 gets Y's then X's", attempt);
    CHECK_OK(mesh_import(Z2.m, by, byl, &rep));
    CHECK_EQ(rep.sets_rejected, 0);
    CHECK_EQ(rep.sets_held, 0);
    mesh_free(rep.text);
    util_expect(Z2.m, "c", "k", "from-y");
    s_apply_one(&Z2, &sx, APPLY_NEW, MESH_OK);
    s_apply_one(&Z2, win, APPLY_KNOWN, MESH_OK);
    s_apply_one(&Z2, lose, APPLY_KNOWN, MESH_OK);
    CHECK_OK(mesh_import(Z2.m, bx, bxl, &rep));
    CHECK_EQ(rep.sets_new, 0);
    CHECK_EQ(rep.sets_rejected, 0);
    mesh_free(rep.text);

    /* X and Y get each other's: each learns its own origin forked and renews its
     * incarnation (§5.1) */
    snprintf(util_where, sizeof util_where, "fork rule %d: X and Y get each other's", attempt);
    uint64_t inc_before = store_incarnation(X.m->store);
    s_apply_one(&X, &sy, APPLY_NEW, MESH_OK);
    s_apply_one(&Y, &sx, APPLY_NEW, MESH_OK);
    CHECK_OK(mesh_import(X.m, by, byl, &rep));
    CHECK_EQ(rep.sets_new, 0);
    mesh_free(rep.text);
    CHECK_OK(mesh_import(Y.m, bx, bxl, &rep));
    CHECK_EQ(rep.sets_new, 0);
    mesh_free(rep.text);
    CHECK(store_incarnation(X.m->store) != inc_before);
    CHECK(store_incarnation(Y.m->store) != inc_before);

    snprintf(util_where, sizeof util_where, "fork rule %d: the outcome", attempt);
    node_t all[4] = {X, Y, Z1, Z2};
    for (int i = 0; i < 4; i++) {
        mesh_item_version_list_t *vs = NULL;
        CHECK_OK(mesh_get_versions(all[i].m, "c", "k", 1, &vs));
        CHECK_EQ(mesh_item_version_list_count(vs), 2); /* from-x and from-y, siblings */
        mesh_item_version_list_free(vs);
        util_expect(all[i].m, "c", "kx", "x");
        util_expect(all[i].m, "c", "ky", "y");
        mesh_set_list_t *log = NULL;
        CHECK_OK(mesh_log(all[i].m, "c", 0, &log));
        /* X and Y hold set 1 as their own; Z1 and Z2 never get it, as all of its ops
         * were superseded before the bundles were made */
        CHECK_EQ(mesh_set_list_count(log), i < 2 ? 3 : 2);
        mesh_set_list_free(log);
    }
    s_check_same(all, 4, "c");
    free(sx.p);
    free(sy.p);
    mesh_free(bx);
    mesh_free(by);
    s_node_close(&X);
    s_node_close(&Y);
    s_node_close(&Z1);
    s_node_close(&Z2);
    s_rmdir(sub);
    util_where[0] = '\0';
    return true;
}

/* Two signed headers for one dot: every device keeps both, whatever the order. */
static void
test_apply_fork_rule(void **state)
{
    (void)state;
    (void)s_fork_once(0);
}

/* ---- a fork after a set seen partial ---- */

/* m's vector entry of coll for origin's current incarnation: *base and *extras (0 and 0
 * when there is none). */
static void
s_vector_entry(mesh_t *m, const char *coll, mesh_t *origin, uint64_t *base, size_t *extras)
{
    void *vec = NULL;
    size_t len = 0;
    wire_doc_t doc;
    *base = 0;
    *extras = 0;
    CHECK_OK(mesh_vector(m, NULL, 0, &vec, &len));
    CHECK_OK(wire_doc_decode(vec, len, true, &doc));
    for (size_t i = 0; i < doc.count; i++) {
        const wire_section_t *sec = &doc.sections[i];
        if (sec->coll_len != strlen(coll) || memcmp(sec->coll, coll, sec->coll_len) != 0) {
            continue;
        }
        for (size_t j = 0; j < sec->vv_count; j++) {
            const wire_vv_t *vv = &sec->vvs[j];
            if (memcmp(vv->origin, ident_public_key(origin->ident), 32) == 0 &&
                vv->incarnation == store_incarnation(origin->store)) {
                *base = vv->base;
                *extras = vv->extra_count;
            }
        }
    }
    wire_doc_release(&doc);
    mesh_free(vec);
}

/* The first seqs of m's sets of coll, ascending, in seqs[0..*n). */
static void
s_log_seqs(mesh_t *m, const char *coll, uint64_t *seqs, size_t max, size_t *n)
{
    mesh_set_list_t *log = NULL;
    CHECK_OK(mesh_log(m, coll, 0, &log));
    *n = mesh_set_list_count(log);
    CHECK(*n <= max);
    for (size_t i = 0; i < *n; i++) {
        uint64_t first = mesh_set_list_get(log, i)->first_seq;
        size_t at = i; /* insertion sort: a handful of sets */
        while (at > 0 && seqs[at - 1] > first) {
            seqs[at] = seqs[at - 1];
            at--;
        }
        seqs[at] = first;
    }
    mesh_set_list_free(log);
}

/* What R must hold once X's S1 (seq 1-2), the live part of X's H (seq 3-4 of 3-6) and
 * Y's forked F (seq 5-6) were offered: the keys of both forks (§5.7). */
static void
s_expect_fork_after_partial(node_t *R, const char *id)
{
    uint64_t seqs[4];
    size_t n = 0;
    s_expect_single(R->m, "c", "a", "1", id);
    s_expect_single(R->m, "c", "b", "2", id);
    s_expect_single(R->m, "c", "k3", "3", id);
    s_expect_single(R->m, "c", "k4", "4", id);
    s_expect_single(R->m, "c", "y5", "y5", id);
    s_expect_single(R->m, "c", "y6", "y6", id);
    util_expect(R->m, "c", "k5", NULL); /* H's superseded ops never reached R */
    CHECK(util_check_digest(R->m, "c"));
    s_log_seqs(R->m, "c", seqs, 4, &n); /* S1, H and F */
    CHECK_EQ(n, 3);
    CHECK_EQ(seqs[0], 1);
    CHECK_EQ(seqs[1], 3);
    CHECK_EQ(seqs[2], 5);
}

/* One fork after a set seen partial: X commits S1 = seq 1-2, its home is forked into Y,
 * then X commits H = seq 3-6 (k3..k6) and overwrites k5 and k6 (seq 7-8), while Y commits
 * G = seq 3-4 and F = seq 5-6 (y5, y6). R gets S1 and H, which X's bundle carries partial
 * (only seq 3-4 are live), without watermarks: R's base for X is 4, with no extras, and H's
 * record reaches to 6. F is full and starts right above that base, but it must not take the
 * fast path for plain sets: it is a fork of H (§5.7). R gets F alone, R2 gets S1, H and F in
 * one batch. Returns whether F won. */
static bool
s_fork_after_partial_once(int attempt)
{
    node_t X, Y, R, R2;
    char sub[32], name[64];
    snprintf(sub, sizeof sub, "forkp%d", attempt);
    snprintf(util_where, sizeof util_where, "fork after partial %d: set-up", attempt);
    s_mkdir(sub);
    snprintf(name, sizeof name, "%s/x", sub);
    s_node_open(&X, name, true);
    const char *s1_keys[] = {"a", "b"}, *s1_values[] = {"1", "2"};
    CHECK_EQ(util_commit(X.m, "c", s1_keys, s1_values, 2), 1);
    s_fork_home(sub, &X, &Y);
    const char *h_keys[] = {"k3", "k4", "k5", "k6"}, *h_values[] = {"3", "4", "5", "6"};
    const char *t_keys[] = {"k5", "k6"}, *t_values[] = {"5'", "6'"};
    CHECK_EQ(util_commit(X.m, "c", h_keys, h_values, 4), 3);
    CHECK_EQ(util_commit(X.m, "c", t_keys, t_values, 2), 7);
    const char *g_keys[] = {"g3", "g4"}, *f_keys[] = {"y5", "y6"};
    CHECK_EQ(util_commit(Y.m, "c", g_keys, g_keys, 2), 3);
    CHECK_EQ(util_commit(Y.m, "c", f_keys, f_keys, 2), 5);

    /* X's bundle: S1 whole, H partial with its ops 3 and 4; Y's: F whole */
    set_copy_t s1, h, f;
    s_export_set(X.m, 1, &s1);
    s_export_set(X.m, 3, &h);
    s_export_set(Y.m, 5, &f);
    CHECK(!s1.partial);
    CHECK(h.partial);
    CHECK(!f.partial);
    wire_set_t wh, wf;
    wire_header_t hh, hf;
    wire_opmeta_t meta;
    CHECK_OK(wire_set_decode(h.p, h.len, &wh));
    CHECK_OK(wire_set_decode(f.p, f.len, &wf));
    CHECK_OK(wire_header_decode(wh.header, wh.header_len, &hh));
    CHECK_OK(wire_header_decode(wf.header, wf.header_len, &hf));
    CHECK_EQ(hh.count, 4);
    CHECK_EQ(wh.op_count, 2);
    for (size_t i = 0; i < 2; i++) {
        CHECK_OK(wire_opmeta_decode(wh.ops[i].meta, wh.ops[i].meta_len, &meta));
        CHECK_EQ(meta.seq, 3 + i);
    }
    CHECK_EQ(hf.first_seq, 5);
    CHECK_EQ(hf.count, 2);
    CHECK_EQ(hf.incarnation, hh.incarnation);
    wire_set_release(&wh);
    wire_set_release(&wf);

    /* R: S1 and the partial H, without watermarks */
    snprintf(util_where, sizeof util_where, "fork after partial %d: R gets S1, H partial", attempt);
    snprintf(name, sizeof name, "%s/r", sub);
    s_node_open(&R, name, true);
    CHECK_OK(mesh_peer_add(R.m, X.id, NULL, NULL, 0));
    const uint8_t *ps[3] = {s1.p, h.p, f.p};
    size_t lens[3] = {s1.len, h.len, f.len};
    apply_result_t res[3];
    CHECK_OK(apply_batch(R.m, ps, lens, 2, NULL, res));
    CHECK_EQ(res[0].outcome, APPLY_NEW);
    CHECK_EQ(res[1].outcome, APPLY_NEW);
    uint64_t base = 0;
    size_t extras = 0;
    s_vector_entry(R.m, "c", X.m, &base, &extras);
    CHECK_EQ(base, 4); /* F starts right above it */
    CHECK_EQ(extras, 0);
    util_expect(R.m, "c", "k3", "3");
    util_expect(R.m, "c", "k4", "4");
    CHECK(util_check_digest(R.m, "c"));

    /* then F alone: the fork rule, not the fast path */
    snprintf(util_where, sizeof util_where, "fork after partial %d: R gets F", attempt);
    s_apply_one(&R, &f, APPLY_NEW, MESH_OK);
    s_expect_fork_after_partial(&R, X.id);
    s_apply_one(&R, &f, APPLY_KNOWN, MESH_OK);
    s_expect_fork_after_partial(&R, X.id);

    /* R2: S1, H and F in one batch */
    snprintf(util_where, sizeof util_where, "fork after partial %d: R2 gets S1, H, F at once",
             attempt);
    snprintf(name, sizeof name, "%s/r2", sub);
    s_node_open(&R2, name, true);
    CHECK_OK(mesh_peer_add(R2.m, X.id, NULL, NULL, 0));
    CHECK_OK(apply_batch(R2.m, ps, lens, 3, NULL, res));
    CHECK_EQ(res[0].outcome, APPLY_NEW);
    CHECK_EQ(res[1].outcome, APPLY_NEW);
    if (res[2].outcome != APPLY_NEW || res[2].err != MESH_OK) {
        util_print_where();
        fail_msg("F: outcome %d err %d (%s); why: %.*s", (int)res[2].outcome, (int)res[2].err,
                 mesh_strerror(res[2].err), (int)sizeof res[2].why, res[2].why);
    }
    s_expect_fork_after_partial(&R2, X.id);
    node_t rs[2] = {R, R2};
    s_check_same(rs, 2, "c");

    free(s1.p);
    free(h.p);
    free(f.p);
    s_node_close(&X);
    s_node_close(&Y);
    s_node_close(&R);
    s_node_close(&R2);
    s_rmdir(sub);
    util_where[0] = '\0';
    return true;
}

/* A fork whose stored side R holds only partly: a full set F that starts right above R's
 * vector base, which ends inside the stored header H of the same dots. The fork rule must
 * still decide between H and F (§5.7), whichever wins. */
static void
test_apply_fork_after_partial_prefix(void **state)
{
    (void)state;
    (void)s_fork_after_partial_once(0);
}

/* ---- three and more overlapping headers, in every order ---- */

static int
s_str_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* m's vector of coll as text, entries sorted (local origin numbers differ between nodes). */
static void
s_vector_text(mesh_t *m, const char *coll, char *out, size_t cap)
{
    void *vec = NULL;
    size_t len = 0, n = 0;
    wire_doc_t doc;
    char *lines[64];
    CHECK_OK(mesh_vector(m, NULL, 0, &vec, &len));
    CHECK_OK(wire_doc_decode(vec, len, true, &doc));
    for (size_t i = 0; i < doc.count; i++) {
        const wire_section_t *sec = &doc.sections[i];
        if (sec->coll_len != strlen(coll) || memcmp(sec->coll, coll, sec->coll_len) != 0) {
            continue;
        }
        for (size_t j = 0; j < sec->vv_count && n < 64; j++) {
            const wire_vv_t *vv = &sec->vvs[j];
            lines[n] = malloc(96);
            CHECK(lines[n] != NULL);
            snprintf(lines[n++], 96, "%02x%02x %016llx %llu+%zu;", vv->origin[0], vv->origin[1],
                     (unsigned long long)vv->incarnation, (unsigned long long)vv->base,
                     vv->extra_count);
        }
    }
    wire_doc_release(&doc);
    mesh_free(vec);
    qsort(lines, n, sizeof *lines, s_str_cmp);
    out[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        strncat(out, lines[i], cap - strlen(out) - 1);
        free(lines[i]);
    }
}

/* R holds every write of the four forked sets of s_fork_orders, the same as ref. */
static void
s_expect_all_forks(node_t *R, node_t *ref)
{
    static const char *const keys[] = {"a2", "a3", "a4", "a5", "b1", "b2", "b3", "b4",  "b5", "c2",
                                       "c3", "c4", "c5", "c6", "c7", "c8", "c9", "c10", "d2", "d3"};
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
        s_expect_single(R->m, "c", keys[i], keys[i], NULL);
    }
    mesh_item_version_list_t *vs = NULL;
    CHECK_OK(mesh_get_versions(R->m, "c", "a1", 2, &vs)); /* written by S1, S3 and S4 */
    CHECK_EQ(mesh_item_version_list_count(vs), 3);
    mesh_item_version_list_free(vs);
    CHECK(util_check_digest(R->m, "c"));
    if (ref && ref != R) {
        char v0[2048], v1[2048];
        node_t two[2] = {*ref, *R};
        s_check_same(two, 2, "c");
        s_vector_text(ref->m, "c", v0, sizeof v0);
        s_vector_text(R->m, "c", v1, sizeof v1);
        if (strcmp(v0, v1) != 0) {
            util_print_where();
            fail_msg("vectors differ:\n  %s\n  %s", v0, v1);
        }
    }
}

/* The next permutation of p[0..n) in lexicographic order; false after the last. */
static bool
s_next_perm(int *p, int n)
{
    int i = n - 2;
    while (i >= 0 && p[i] >= p[i + 1]) {
        i--;
    }
    if (i < 0) {
        return false;
    }
    int j = n - 1;
    while (p[j] <= p[i]) {
        j--;
    }
    int t = p[i];
    p[i] = p[j];
    p[j] = t;
    for (int a = i + 1, b = n - 1; a < b; a++, b--) {
        t = p[a];
        p[a] = p[b];
        p[b] = t;
    }
    return true;
}

/* Three copies of X's home under one incarnation (rollbacks that escaped detection) sign
 * four overlapping headers: X S1 = seq 1-5 (a1..a5) and S2 = 6-10 (b1..b5), Y S3 = 1-10
 * (a1, c2..c10), W S4 = 1-3 (a1, d2, d3). Every order of arrival, one set at a time and
 * all in one batch, leaves every write on every receiver, the same items, digests and
 * vectors, and no store damaged (§5.7); so do relays of what a receiver holds, and the
 * three copies once they meet. */
static void
test_apply_fork_orders(void **state)
{
    (void)state;
    node_t X, Y, W, ref, R;
    const char *s1[] = {"a1", "a2", "a3", "a4", "a5"}, *s2[] = {"b1", "b2", "b3", "b4", "b5"};
    const char *s3[] = {"a1", "c2", "c3", "c4", "c5", "c6", "c7", "c8", "c9", "c10"};
    const char *s4[] = {"a1", "d2", "d3"};
    const char *v3[] = {"a1-y", "c2", "c3", "c4", "c5", "c6", "c7", "c8", "c9", "c10"};
    const char *v4[] = {"a1-w", "d2", "d3"};
    s_mkdir("fo");
    s_node_open(&X, "fo/x", true);
    s_fork_copy("fo", &X, "y", &Y);
    s_fork_copy("fo", &X, "w", &W);
    CHECK_EQ(util_commit(X.m, "c", s1, s1, 5), 1);
    CHECK_EQ(util_commit(X.m, "c", s2, s2, 5), 6);
    CHECK_EQ(util_commit(Y.m, "c", s3, v3, 10), 1);
    CHECK_EQ(util_commit(W.m, "c", s4, v4, 3), 1);
    set_copy_t sets[4];
    s_export_set(X.m, 1, &sets[0]);
    s_export_set(X.m, 6, &sets[1]);
    s_export_set(Y.m, 1, &sets[2]);
    s_export_set(W.m, 1, &sets[3]);
    int perm[4] = {0, 1, 2, 3}, round = 0;
    bool have_ref = false;
    do {
        for (int batch = 0; batch < 2; batch++, round++) {
            char name[32];
            snprintf(util_where, sizeof util_where, "fork orders: %d%d%d%d %s", perm[0], perm[1],
                     perm[2], perm[3], batch ? "in one batch" : "one by one");
            snprintf(name, sizeof name, "fo/r%d", round);
            node_t *n = have_ref ? &R : &ref;
            s_node_open(n, name, true);
            CHECK_OK(mesh_peer_add(n->m, X.id, NULL, NULL, 0));
            if (batch) {
                const uint8_t *p[4];
                size_t lens[4];
                apply_result_t res[4];
                for (int i = 0; i < 4; i++) {
                    p[i] = sets[perm[i]].p;
                    lens[i] = sets[perm[i]].len;
                }
                CHECK_OK(apply_batch(n->m, p, lens, 4, NULL, res));
                for (int i = 0; i < 4; i++) {
                    CHECK_EQ(res[i].outcome, APPLY_NEW);
                }
            } else {
                for (int i = 0; i < 4; i++) {
                    s_apply_one(n, &sets[perm[i]], APPLY_NEW, MESH_OK);
                }
                s_apply_one(n, &sets[perm[0]], APPLY_KNOWN, MESH_OK); /* again: nothing */
            }
            s_expect_all_forks(n, have_ref ? &ref : NULL);
            if (have_ref) {
                s_node_close(&R);
            }
            have_ref = true;
        }
    } while (s_next_perm(perm, 4));

    /* a relay: what ref holds (the moved sets with their headers as signed) makes the same
     * moves on a device that saw none of them */
    snprintf(util_where, sizeof util_where, "fork orders: relayed by a receiver");
    void *b = NULL;
    size_t blen = 0;
    mesh_import_report_t rep = {.size = sizeof rep};
    s_node_open(&R, "fo/relay", true);
    CHECK_OK(mesh_peer_add(R.m, X.id, NULL, NULL, 0));
    CHECK_OK(mesh_export(ref.m, NULL, 0, NULL, 0, &b, &blen));
    CHECK_OK(mesh_import(R.m, b, blen, &rep));
    CHECK_EQ(rep.sets_rejected, 0);
    mesh_free(rep.text);
    mesh_free(b);
    s_expect_all_forks(&R, &ref);
    s_node_close(&R);

    /* the three copies meet: X and Y hold equal vectors (seq 1-10 each), so the first pass
     * offers everything (as the slow path would, issue 15); then each exports what the
     * other lacks: all converge, W too, whose vector covered seq 1-3 of S1 by S4's */
    snprintf(util_where, sizeof util_where, "fork orders: the copies meet");
    node_t *copies[3] = {&X, &Y, &W};
    for (int i = 1; i < 3; i++) {
        CHECK_OK(mesh_export(copies[i]->m, NULL, 0, NULL, 0, &b, &blen));
        CHECK_OK(mesh_import(X.m, b, blen, &rep));
        CHECK_EQ(rep.sets_rejected, 0);
        mesh_free(rep.text);
        mesh_free(b);
    }
    for (int pass = 0; pass < 2; pass++) {
        for (int i = 0; i < 3; i++) {
            for (int j = 0; j < 3; j++) {
                void *vec = NULL;
                size_t vlen = 0;
                if (i == j) {
                    continue;
                }
                CHECK_OK(mesh_vector(copies[j]->m, NULL, 0, &vec, &vlen));
                CHECK_OK(mesh_export(copies[i]->m, NULL, 0, vec, vlen, &b, &blen));
                CHECK_OK(mesh_import(copies[j]->m, b, blen, &rep));
                CHECK_EQ(rep.sets_rejected, 0);
                mesh_free(rep.text);
                mesh_free(b);
                mesh_free(vec);
            }
        }
    }
    for (int i = 0; i < 3; i++) {
        s_expect_all_forks(copies[i], &ref);
    }
    for (int i = 0; i < 4; i++) {
        free(sets[i].p);
    }
    s_node_close(&ref);
    s_node_close(&X);
    s_node_close(&Y);
    s_node_close(&W);
    util_where[0] = '\0';
}

/* Verifying a batch of large sets is split between two threads (the odd sets on a second
 * one): a set damaged in either half is rejected alone, with its reason, and every other
 * set of the batch is applied. */
static void
test_apply_verify_split(void **state)
{
    (void)state;
    enum { NSETS = 4, KEYS = 40, VALUE = 8000 };
    node_t nodes[2];
    s_node_open(&nodes[0], "x", true);
    s_node_open(&nodes[1], "r", true);
    s_mesh_star(nodes, 2);
    node_t *X = &nodes[0], *R = &nodes[1];
    char *value = malloc(VALUE + 1);
    CHECK(value != NULL);
    for (int t = 0; t < NSETS; t++) { /* one set each, of about 320 KB */
        mesh_txn_t *txn = NULL;
        CHECK_OK(mesh_txn_begin(X->m, "c", &txn));
        for (int k = 0; k < KEYS; k++) {
            char key[32];
            snprintf(key, sizeof key, "s%d-k%02d", t, k);
            memset(value, 'a' + t, VALUE);
            CHECK_OK(mesh_put(txn, key, strlen(key), value, VALUE));
        }
        CHECK_OK(mesh_txn_commit(&txn, NULL));
    }
    free(value);
    uint8_t *b = NULL;
    size_t blen = 0;
    CHECK_OK(mesh_export(X->m, NULL, 0, NULL, 0, (void **)&b, &blen));
    set_copy_t sets[NSETS];
    CHECK_EQ(s_bundle_sets(b, blen, "c", sets, NSETS, NULL), NSETS);
    mesh_free(b);
    /* damage a value byte of set 1 (the second thread's) and of set 2 (the first's) */
    for (int d = 1; d <= 2; d++) {
        size_t len = 0;
        uint8_t *bad = s_flip(sets[d].p, sets[d].len, sets[d].len - 100, 0x01, &len);
        free(sets[d].p);
        sets[d].p = bad;
        sets[d].len = len;
    }
    const uint8_t *p[NSETS];
    size_t lens[NSETS];
    apply_result_t res[NSETS];
    for (int i = 0; i < NSETS; i++) {
        p[i] = sets[i].p;
        lens[i] = sets[i].len;
    }
    CHECK_OK(apply_batch(R->m, p, lens, NSETS, NULL, res));
    for (int i = 0; i < NSETS; i++) {
        bool damaged = i == 1 || i == 2;
        if (res[i].outcome != (damaged ? APPLY_REJECTED : APPLY_NEW) ||
            res[i].err != (damaged ? MESH_EDIGEST : MESH_OK)) {
            fail_msg("set %d: outcome %d err %d (%.*s)", i, (int)res[i].outcome, (int)res[i].err,
                     (int)sizeof res[i].why, res[i].why);
        }
        char key[32];
        snprintf(key, sizeof key, "s%d-k%02d", i, KEYS - 1);
        mesh_item_version_list_t *vs = NULL;
        mesh_err_t err = mesh_get_versions(R->m, "c", key, strlen(key), &vs);
        CHECK_EQ(err, damaged ? MESH_ENOTFOUND : MESH_OK);
        mesh_item_version_list_free(vs);
        free(sets[i].p);
    }
    util_check_digest(R->m, "c");
}

/* A key-ordered run (core/apply/run.c) of sets checked ahead, as a daemon applies them: keys
 * alike in their first 8 bytes (and one of exactly 8), keys written by two origins at once
 * (each in a full set of the run, so their ops meet in the sort). What must hold: R (fresh)
 * ends with both versions of each such key and A's digest, which also equals R's own
 * recount (each op's digest hash made by the check, not the apply). */
static void
test_apply_run_key_order(void **state)
{
    (void)state;
    node_t n[3];
    const char *names[3] = {"a", "b", "r"};
    snprintf(util_where, sizeof util_where, "a key-ordered run of checked sets");
    for (int i = 0; i < 3; i++) {
        s_node_open(&n[i], names[i], true);
    }
    node_t *A = &n[0], *B = &n[1], *R = &n[2];
    s_mesh_star(n, 3);
    const char *ka[] = {"prefix00-b", "prefix00-a", "prefix00", "z", "prefix00-ab", "prefix0"};
    const char *va[] = {"b1", "a1", "p1", "z1", "ab1", "q1"};
    (void)util_commit(A->m, "c", ka, va, 6);
    const char *kb[] = {"prefix00-ab", "prefix00-aa", "prefix00", "prefix00-a"};
    const char *vb[] = {"ab2", "aa2", "p2", "a2"};
    (void)util_commit(B->m, "c", kb, vb, 4);
    (void)s_xfer(B->m, A->m, false, NULL); /* A holds both sides of the three keys */

    uint8_t *b = NULL;
    size_t blen = 0;
    CHECK_OK(mesh_export(A->m, NULL, 0, NULL, 0, (void **)&b, &blen));
    import_checked_t *checked = NULL;
    CHECK_OK(import_check(b, blen, &checked));
    const uint8_t *bp = b;
    const import_checked_t *cp = checked;
    mesh_import_report_t rep = {.size = sizeof rep};
    CHECK_OK(import_many(R->m, &bp, &blen, &cp, 1, &rep));
    CHECK_EQ(rep.sets_rejected, 0);
    mesh_free(rep.text);
    import_checked_free(checked);
    mesh_free(b);

    const char *both[] = {"prefix00-ab", "prefix00", "prefix00-a"};
    for (size_t i = 0; i < 3; i++) {
        mesh_item_version_list_t *vs = NULL;
        CHECK_OK(mesh_get_versions(R->m, "c", both[i], strlen(both[i]), &vs));
        CHECK_EQ(mesh_item_version_list_count(vs), 2);
        mesh_item_version_list_free(vs);
    }
    s_expect_single(R->m, "c", "prefix00-b", "b1", A->id);
    s_expect_single(R->m, "c", "prefix00-aa", "aa2", B->id);
    s_expect_single(R->m, "c", "prefix0", "q1", A->id);
    s_expect_single(R->m, "c", "z", "z1", A->id);
    char da[65], dr[65];
    util_digest(A->m, "c", da);
    util_digest(R->m, "c", dr);
    CHECK(strcmp(da, dr) == 0);
    CHECK(util_check_digest(R->m, "c"));
    for (int i = 0; i < 3; i++) {
        s_node_close(&n[i]);
    }
    util_where[0] = '\0';
}

/* txn_base (a folder's local change made from an older version than the one held): the op
 * supersedes only its base; a version that came meanwhile stays beside it, a conflict, and
 * every device that takes the set ends with the same two versions. Also: with no base a
 * put supersedes them all, as ever. */
static void
test_apply_txn_base(void **state)
{
    (void)state;
    node_t n[2];
    s_mkdir("base");
    s_node_open(&n[0], "base/a", true);
    s_node_open(&n[1], "base/b", true);
    node_t *A = &n[0], *B = &n[1];
    s_mesh_star(n, 2);
    snprintf(util_where, sizeof util_where, "txn_base");
    util_put(A->m, "c", "k", "v0");
    CHECK_EQ(s_xfer(A->m, B->m, false, NULL), 1);
    mesh_item_version_list_t *vs = NULL;
    CHECK_OK(mesh_get_versions(A->m, "c", "k", 1, &vs));
    wire_dot_t v0 = {.incarnation = s_v(vs, 0)->incarnation, .seq = s_v(vs, 0)->seq};
    CHECK_OK(devid_parse(s_v(vs, 0)->origin, v0.origin));
    mesh_item_version_list_free(vs);
    util_put(B->m, "c", "k", "b1"); /* B's change of v0 comes to A first, */
    CHECK_EQ(s_xfer(B->m, A->m, false, NULL), 1);
    s_expect_single(A->m, "c", "k", "b1", B->id);
    mesh_txn_t *txn = NULL; /* then A writes its own change of v0 */
    CHECK_OK(mesh_txn_begin(A->m, "c", &txn));
    CHECK_EQ(txn_base(txn, &v0, 1), MESH_EINVAL); /* (no op yet) */
    CHECK_OK(mesh_put(txn, "k", 1, "a2", 2));
    CHECK_OK(txn_base(txn, &v0, 1));
    CHECK_OK(mesh_txn_commit(&txn, NULL));
    for (int side = 0; side < 2; side++) {
        mesh_t *m = side ? B->m : A->m;
        if (side) {
            (void)s_xfer(A->m, B->m, false, NULL);
        }
        CHECK_OK(mesh_get_versions(m, "c", "k", 1, &vs));
        CHECK_EQ(mesh_item_version_list_count(vs), 2);
        bool a2 = false, b1 = false;
        for (size_t i = 0; i < 2; i++) {
            const mesh_item_version_t *v = s_v(vs, i);
            a2 |= v->value_len == 2 && memcmp(v->value, "a2", 2) == 0 &&
                  strcmp(v->origin, A->id) == 0;
            b1 |= v->value_len == 2 && memcmp(v->value, "b1", 2) == 0 &&
                  strcmp(v->origin, B->id) == 0;
        }
        CHECK(a2 && b1);
        mesh_item_version_list_free(vs);
    }
    char da[80], db[80];
    CHECK_OK(mesh_digest(A->m, "c", da, sizeof da, NULL));
    CHECK_OK(mesh_digest(B->m, "c", db, sizeof db, NULL));
    CHECK(strcmp(da, db) == 0);
    util_put(B->m, "c", "k", "b3"); /* a put with no base supersedes both */
    s_expect_single(B->m, "c", "k", "b3", B->id);
    (void)s_xfer(B->m, A->m, false, NULL);
    s_expect_single(A->m, "c", "k", "b3", B->id);
}

int
main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, s_setup, s_teardown)
    const struct CMUnitTest tests[] = {
        T(test_apply_no_false_conflict),
        T(test_apply_transitive_trust),
        T(test_apply_rejects_bad_input),
        T(test_apply_fork_rule),
        T(test_apply_partial_then_full_set),
        T(test_apply_superseded_set_is_new),
        T(test_apply_context_waits),
        T(test_apply_context_cycle),
        T(test_apply_context_cycle_split),
        T(test_apply_signed_cap),
        T(test_apply_fork_after_partial_prefix),
        T(test_apply_fork_orders),
        T(test_apply_model_random),
        T(test_apply_verify_split),
        T(test_apply_run_key_order),
        T(test_apply_txn_base),
    };
    /* MESH_TEST_FILTER: run only the cases whose names match (cmocka's * and ? patterns) */
    const char *filter = getenv("MESH_TEST_FILTER");
    if (filter && *filter) {
        cmocka_set_test_filter(filter);
    }
    return cmocka_run_group_tests(tests, NULL, NULL);
}
