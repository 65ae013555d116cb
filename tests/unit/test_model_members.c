/* tests/unit/test_model_members.c: the in-process model of tests/unit/test_model.c (its
 * engine: tests/unit/model.c; 4..6 nodes in one process, no sockets, random writes, full and
 * --since bundles, slow-path repairs) with membership's two ways of taking things away (issue 16):
 * - removals (PROTOCOL §8.2): a member removes another (never all but two); the removed node
 *   keeps writing and sending bundles, and hears what the others send it;
 * - tombstone collection (§8.4, §13): a node publishes its acknowledgement and collects, as
 *   collect_tick does (ack_publish, collect_stable_load, collect_run, collect_redo), with the
 *   default horizon, or now and then reopened with a horizon of 1 ms (every other member
 *   silent past it: it collects what it alone acknowledged), so that repairs offer it values
 *   it collected the delete of, which it refuses and deletes anew.
 * The oracle (written apart from the library, as test_model's, forks and lies left to it):
 * every write with its dot and the context its writer built (on a key its node holds no
 * item of, the floor context of §8.4 as model_floor_take gives it: the tombstones of the
 * key that node collected); a delete-anew of collect_redo is adopted as a write of its node,
 * covering what that node held (or that floor context) and the live writes its collected
 * deletes covered. For each removed node r and collection, a lower bound of the
 * cut (the highest seq of r that some member which stays had accepted before it heard, seen
 * in its vector after the step before) and an upper bound (the highest in the vector of any
 * node after the step it heard in). After each step: no version the oracle does not know,
 * digests equal to their recounts, every write held or superseded somewhere (a collection
 * may take the last trace of tombstones), and no node holds a live version that a delete it
 * collected covers. At the end, among the nodes not removed: a final all-to-all, each
 * publishing its acknowledgement, collecting and deleting anew, repairs wherever digests
 * differ (again until every digest is equal); then each holds every write that nothing
 * supersedes (a removed node's those whose dot a member that stays covered before it
 * heard; none above the upper bound, nor any in a vector), none covered by a required write or another it holds, no live version a
 * collected delete covers (no resurrection); each store, reopened, lists, reads, exports.
 * Cycles (test_model_members_cycles; MESH_TEST_CYCLE_SEEDS, MESH_TEST_CYCLE_SEED): a removal
 * step is three members removing each other at once; at the end the members outside every
 * cycle must agree on each cycled node, which is then counted removed or kept.
 * Equal digests, but for one known gap (s_sibling_gap: tombstones some node collected,
 * beside a live sibling on another, with every member showing the same; counted and
 * printed; MESH_TEST_STRICT=1 fails on it). A remover is never removed itself (its record
 * could fall past its own cut, and the removal would never have happened).
 * MESH_TEST_SEEDS: how many seeds (default 12; under valgrind 1, and the first regression
 * alone); MESH_TEST_SEED: the first (default 1; alone, it runs just that one, and no
 * regression). A failure prints seed and step. Seeds of known bugs: s_known_seeds; of
 * fixed ones: test_model_members_regressions. MESH_TEST_NO_STALE=1: no collection with the
 * 1 ms horizon. MESH_TEST_TRACE=1 prints each step and the library's log. Homes live in
 * $MESH_TEST_TMPDIR, else /dev/shm, else /tmp. Layer: tests. Third-party: cmocka.
 * SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/apply/collect.h"
#include "core/base/node.h"
#include "core/member/ack.h"
#include "core/wire/buf.h"
#include "core/wire/doc.h"
#include "crypto/ident.h"
#include "meshsync.h"
#include "model.h"
#include "store/store.h"
#include "util.h"

/* The run's membership state and counts beside the engine's (zeroed by s_run): removed[r];
 * heard[d][r]: d lists r as removed; seen[d][r][c]: the highest seq of r in d's vector of c
 * after the last step (while d had not heard); lo, hi: the bounds of r's cut per node that
 * heard. */
typedef struct t_members {
    bool removed[MODEL_MAXN], remover[MODEL_MAXN], heard[MODEL_MAXN][MODEL_MAXN];
    int nremoved;
    uint64_t seen[MODEL_MAXN][MODEL_MAXN][MODEL_NCOLL], lo[MODEL_MAXN][MODEL_MAXN][MODEL_NCOLL],
        hi[MODEL_MAXN][MODEL_MAXN][MODEL_NCOLL];
    /* per write, bit d: d's vector covered its dot after the last step (cov), or after the
     * step before d heard of its node's removal (took) */
    unsigned cov[MODEL_MAXW], took[MODEL_MAXW];
    /* cycles mode (test_model_members_cycles): a removal step is a cycle of three; cycled[d]:
     * d was in one (counted removed until the end resolves it, s_cycle_resolve) */
    bool cycles, cycled[MODEL_MAXN];
    /* provisional[d][r]: d published a provisional frozen record of r (§8.2), which counts
     * in r's cut: d's vector after that step raises the upper bound (hi) like a hearing */
    bool provisional[MODEL_MAXN][MODEL_MAXN];
    size_t n_cycles, n_cycle_removed, n_cycle_kept;
    size_t n_removals, n_collect_runs, n_stale_runs, n_collected, n_redone, n_refused_sets,
        n_final_passes, n_valid_removed, n_cut_removed, n_gap_keys, n_gap_seeds;
} t_members_t;

static t_members_t g_mb;

static int
s_setup(void **state)
{
    (void)state;
    return model_root_make("test_model_members");
}

static int
s_teardown(void **state)
{
    (void)state;
    return model_root_remove();
}

/* ---- removal bounds ---- */

/* The lower and upper bound of r's cut in collection c over the nodes that heard (the lower
 * one only from nodes that stay members). */
static void
s_cut(const model_t *md, int r, int c, uint64_t *lo, uint64_t *hi)
{
    *lo = *hi = 0;
    for (int d = 0; d < md->n; d++) {
        if (d != r && (g_mb.heard[d][r] || g_mb.provisional[d][r])) {
            if (!g_mb.removed[d] && g_mb.lo[d][r][c] > *lo) {
                *lo = g_mb.lo[d][r][c];
            }
            *hi = g_mb.hi[d][r][c] > *hi ? g_mb.hi[d][r][c] : *hi;
        }
    }
}

/* 1: a removed node's write no member ever applies (above every cut); -1: one every member
 * must take (a member that stays covered its dot before it heard: then at or below that
 * member's cut); 0: either (or not a removed node's: a dot below the cut in a gap of every
 * staying member's vector, seed 326, is valid, and taken only if the removed node sends
 * it). Only once every member heard (the end). */
static int
s_removed_fate(const model_t *md, const model_write_t *w)
{
    if (!g_mb.removed[w->node]) {
        return 0;
    }
    uint64_t lo = 0, hi = 0;
    unsigned staying = 0;
    s_cut(md, w->node, model_key_coll(w->key), &lo, &hi);
    for (int d = 0; d < md->n; d++) {
        staying |= g_mb.removed[d] ? 0u : 1u << d;
    }
    return w->seq > hi ? 1 : g_mb.took[w - md->w] & staying ? -1 : 0;
}

/* Set bit d of cov[j] for each write j whose dot d's vector covers (base or extra dot). */
static void
s_covered(model_t *md, int d, unsigned *cov)
{
    void *vec = NULL;
    size_t vlen = 0;
    wire_doc_t doc;
    CHECK_OK(mesh_vector(md->nodes[d].m, NULL, 0, &vec, &vlen));
    CHECK_OK(wire_doc_decode(vec, vlen, true, &doc));
    for (size_t i = 0; i < doc.count; i++) {
        const wire_section_t *sec = &doc.sections[i];
        for (size_t e = 0; e < sec->vv_count; e++) {
            const wire_vv_t *vv = &sec->vvs[e];
            int o = model_node_of_pk(md, vv->origin);
            for (size_t j = 0; o >= 0 && j < md->nw; j++) {
                const model_write_t *w = &md->w[j];
                const char *coll = MODEL_COLLS[model_key_coll(w->key)];
                if (w->node != o || w->inc != vv->incarnation || sec->coll_len != strlen(coll) ||
                    memcmp(sec->coll, coll, sec->coll_len) != 0) {
                    continue;
                }
                bool in = w->seq <= vv->base;
                for (size_t x = 0; x < vv->extra_count && !in; x++) {
                    const uint8_t *p = vv->extra + x * 9 + 1; /* 0xcf and 8 bytes BE */
                    uint64_t seq = 0;
                    for (int b = 0; b < 8; b++) {
                        seq = seq << 8 | p[b];
                    }
                    in = seq == w->seq;
                }
                cov[j] |= in ? 1u << d : 0;
            }
        }
    }
    wire_doc_release(&doc);
    mesh_free(vec);
}

/* After each step: who heard of which removal now, and what each had accepted. */
static void
s_hear(model_t *md)
{
    uint64_t now[MODEL_MAXN][MODEL_NCOLL];
    static unsigned cov[MODEL_MAXW];
    memset(cov, 0, sizeof cov);
    for (int d = 0; d < md->n; d++) {
        s_covered(md, d, cov);
    }
    for (int d = 0; d < md->n; d++) {
        model_vec_max(md, d, now);
        mesh_peer_list_t *list = NULL;
        CHECK_OK(mesh_peers(md->nodes[d].m, &list));
        for (int r = 0; r < md->n; r++) {
            if (r == d || g_mb.heard[d][r]) {
                continue;
            }
            if (!g_mb.provisional[d][r]) { /* (a cycle's held rm records make them) */
                char key[16 + 2 * MESH_ID_TEXT_LEN];
                void *v = NULL;
                size_t vl = 0;
                int kl = snprintf(key, sizeof key, "frozen/%s/%s", md->nodes[r].id,
                                  md->nodes[d].id);
                mesh_err_t err = mesh_get(md->nodes[d].m, "_mesh", key, (size_t)kl, &v, &vl);
                CHECK(err == MESH_OK || err == MESH_ENOTFOUND);
                mesh_free(v);
                g_mb.provisional[d][r] = err == MESH_OK;
                for (int c = 0; c < MODEL_NCOLL && err == MESH_OK; c++) {
                    g_mb.hi[d][r][c] = now[r][c];
                }
            }
            bool rm = false;
            for (size_t i = 0; i < mesh_peer_list_count(list); i++) {
                const mesh_peer_t *p = mesh_peer_list_get(list, i);
                rm |= strcmp(p->id, md->nodes[r].id) == 0 && p->removed;
            }
            if (rm && !g_mb.removed[r] && !g_mb.cycled[r]) {
                util_print_where();
                fail_msg("n%d lists n%d as removed; no one removed it", d, r);
            }
            g_mb.heard[d][r] = rm;
            for (size_t j = 0; rm && j < md->nw; j++) {
                g_mb.took[j] |= md->w[j].node == r ? g_mb.cov[j] & 1u << d : 0;
            }
            for (int c = 0; c < MODEL_NCOLL; c++) {
                if (rm) {
                    g_mb.lo[d][r][c] = g_mb.seen[d][r][c];
                    g_mb.hi[d][r][c] = now[r][c];
                }
                g_mb.seen[d][r][c] = now[r][c];
            }
        }
        mesh_peer_list_free(list);
    }
    memcpy(g_mb.cov, cov, sizeof cov);
}

/* ---- checks ---- */

/* No resurrection: node d holds no live version that a delete collected by a node of mask
 * covers. */
static void
s_check_no_resurrection(model_t *md, int d, unsigned mask)
{
    long held[STORE_SIBLINGS_MAX];
    for (int key = 0; key < MODEL_KEYS; key++) {
        size_t nh = model_held(md, d, key, held);
        for (size_t h = 0; h < nh; h++) {
            const model_write_t *w = &md->w[held[h]];
            for (size_t j = 0; j < md->nw && !w->del; j++) {
                const model_write_t *x = &md->w[j];
                if ((md->w[j].coll_by & mask) && x->key == key && model_covers(x, w)) {
                    util_print_where();
                    fail_msg("n%d holds w%ld (n%d seq %llu '%s') of k%d, which w%zu (n%d seq %llu, "
                             "a delete collected by mask %#x) covers: resurrected (seed %u)",
                             d, held[h], w->node, (unsigned long long)w->seq, w->value, key, j,
                             x->node, (unsigned long long)x->seq, md->w[j].coll_by, md->seed);
                }
            }
        }
    }
}

/* ---- steps ---- */

/* Two members, neither removed (-1 when fewer than two). */
static bool
s_member_pair(model_t *md, int *s, int *d)
{
    for (int tries = 0; tries < 64; tries++) {
        model_pair(md, s, d);
        if (!g_mb.removed[*s] && !g_mb.removed[*d]) {
            return true;
        }
    }
    return false;
}

static void
s_remove(model_t *md, int d, int r)
{
    CHECK_OK(mesh_peer_remove(md->nodes[d].m, md->nodes[r].id));
    g_mb.removed[r] = true;
    g_mb.remover[d] = true;
    g_mb.nremoved++;
    g_mb.n_removals++;
}

/* Three members remove each other at once (PROTOCOL §8.2): a removes b, b removes c, c
 * removes a, none having heard of the others. Which of them end removed depends on which
 * record each member took first and on whose cut each falls within; the members must
 * agree. Each is counted removed until s_cycle_resolve reads the outcome. False when fewer
 * than five members are left (two must stay, whatever the outcome). */
static bool
s_cycle(model_t *md)
{
    int c[3], k = 0;
    if (md->n - g_mb.nremoved < 5) {
        return false;
    }
    for (int tries = 0; tries < 64 && k < 3; tries++) {
        int x = (int)model_pick(md, (unsigned)md->n);
        bool dup = g_mb.removed[x];
        for (int i = 0; i < k; i++) {
            dup |= c[i] == x;
        }
        if (!dup) {
            c[k++] = x;
        }
    }
    if (k < 3) {
        return false;
    }
    snprintf(util_where, sizeof util_where, "seed %u step %d: n%d removes n%d, n%d n%d, n%d n%d",
             md->seed, md->step, c[0], c[1], c[1], c[2], c[2], c[0]);
    for (int i = 0; i < 3; i++) {
        CHECK_OK(mesh_peer_remove(md->nodes[c[i]].m, md->nodes[c[(i + 1) % 3]].id));
    }
    for (int i = 0; i < 3; i++) {
        g_mb.removed[c[i]] = g_mb.remover[c[i]] = g_mb.cycled[c[i]] = true;
        g_mb.nremoved++;
        g_mb.n_removals++;
    }
    g_mb.n_cycles++;
    return true;
}

/* The end of a run with cycles: the members that were in none (two at least) exchange
 * everything with every node counted a member; each cycled node is then removed or not as
 * they all list it (they must agree; a cycled node's own view does not count), and counted
 * so; again until nothing changes (a node kept takes part, and its records may remove
 * another, or itself). */
static void
s_cycle_resolve(model_t *md)
{
    bool changed = true;
    for (int pass = 0; changed; pass++) {
        CHECK(pass < 2 * MODEL_MAXN);
        bool out[MODEL_MAXN]; /* who counts as a member in this pass */
        changed = false;
        model_all_to_all(md, pass, g_mb.removed, false);
        memcpy(out, g_mb.removed, sizeof out);
        for (int p = 0; p < md->n; p++) {
            int verdict = -1; /* 1: every member lists p removed; 0: none does */
            for (int d = 0; d < md->n && g_mb.cycled[p]; d++) {
                if (out[d] || g_mb.cycled[d]) { /* the members outside every cycle judge */
                    continue;
                }
                mesh_peer_list_t *list = NULL;
                int rm = 0;
                CHECK_OK(mesh_peers(md->nodes[d].m, &list));
                for (size_t i = 0; i < mesh_peer_list_count(list); i++) {
                    const mesh_peer_t *e = mesh_peer_list_get(list, i);
                    rm |= strcmp(e->id, md->nodes[p].id) == 0 && e->removed;
                }
                mesh_peer_list_free(list);
                if (verdict >= 0 && verdict != rm) {
                    util_print_where();
                    fail_msg("members disagree on cycled n%d's removal after the exchange (seed "
                             "%u, pass %d)",
                             p, md->seed, pass);
                }
                verdict = rm;
            }
            if (verdict >= 0 && (verdict == 1) != g_mb.removed[p]) {
                g_mb.removed[p] = verdict == 1;
                g_mb.nremoved += verdict == 1 ? 1 : -1;
                changed = true;
            }
        }
    }
    for (int p = 0; p < md->n; p++) {
        g_mb.n_cycle_removed += g_mb.cycled[p] && g_mb.removed[p];
        g_mb.n_cycle_kept += g_mb.cycled[p] && !g_mb.removed[p];
    }
}

/* Versions of node d the oracle does not know (collect_redo's, written anew): adopted as
 * writes of d, covering what d held of the key before (before[key]) and the live writes
 * that the deletes d collected cover (the refused dot is one of them). */
static void
s_adopt(model_t *md, int d, long before[MODEL_KEYS][STORE_SIBLINGS_MAX], size_t nb[MODEL_KEYS])
{
    for (int key = 0; key < MODEL_KEYS; key++) {
        char k[16];
        mesh_item_version_list_t *vs = NULL;
        snprintf(k, sizeof k, "k%d", key);
        mesh_err_t err =
            mesh_get_versions(md->nodes[d].m, MODEL_COLLS[model_key_coll(key)], k, strlen(k), &vs);
        if (err == MESH_ENOTFOUND) {
            continue;
        }
        CHECK_OK(err);
        for (size_t i = 0; i < mesh_item_version_list_count(vs); i++) {
            const mesh_item_version_t *v = mesh_item_version_list_get(vs, i);
            if (model_write_of(md, key, v) >= 0) {
                continue;
            }
            CHECK(model_node_of(md, v->origin) == d);
            CHECK(md->nw < MODEL_MAXW && v->value_len < sizeof md->w[0].value);
            model_write_t *w = &md->w[md->nw];
            memset(w, 0, sizeof *w);
            w->node = d;
            w->key = key;
            w->inc = v->incarnation;
            w->seq = v->seq;
            w->hlc = v->hlc;
            w->del = v->deleted;
            w->redo = true;
            if (!w->del) {
                memcpy(w->value, v->value, v->value_len);
            }
            for (size_t h = 0; h < nb[key]; h++) {
                model_ctx_take(w, &md->w[before[key][h]]);
            }
            if (nb[key] == 0) { /* written anew on a key it holds no item of */
                model_floor_take(md, d, key, w);
            }
            for (size_t x = 0; x < md->nw; x++) {
                for (size_t y = 0; y < md->nw; y++) {
                    if ((md->w[x].coll_by & (1u << d)) && md->w[x].key == key &&
                        md->w[y].key == key && !md->w[y].del &&
                        model_covers(&md->w[x], &md->w[y])) {
                        model_clock_join(&w->ctx, md->w[y].node, md->w[y].inc, md->w[y].seq);
                    }
                }
            }
            md->nw++;
            g_mb.n_redone++;
            model_trace_write(md, md->nw - 1);
        }
        mesh_item_version_list_free(vs);
    }
}

static uint64_t
s_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Node d does what collect_tick does: publishes its acknowledgement, collects what every
 * member that holds collection back acknowledged, deletes anew what a repair offered under
 * the floor. With stale, it is first reopened with a horizon of 1 ms (and after, with the
 * default). The tombstones that went are marked collected by d. */
static void
s_collect(model_t *md, int d, bool stale)
{
    static long before[MODEL_KEYS][STORE_SIBLINGS_MAX], after[MODEL_KEYS][STORE_SIBLINGS_MAX];
    size_t nb[MODEL_KEYS], na[MODEL_KEYS];
    model_node_t *nd = &md->nodes[d];
    if (stale) {
        model_close(md, d);
        nd->horizon = 1;
        model_open(md, d, false);
        usleep(2000); /* every record is older than the horizon now */
        g_mb.n_stale_runs++;
    }
    for (int key = 0; key < MODEL_KEYS; key++) {
        nb[key] = model_held(md, d, key, before[key]);
    }
    bool wrote = false, more = true;
    CHECK_OK(ack_publish(nd->m, model_pick(md, 4) != 0,
                         model_pick(md, 3) == 0 ? 0 : COLLECT_HORIZON_MS_DEFAULT / 3, &wrote));
    for (int pass = 0; more; pass++) {
        vector_t *stable = NULL;
        collect_report_t r = {0};
        CHECK(pass < 4);
        CHECK_OK(collect_stable_load(nd->m, s_wall_ms(), nd->m->horizon_ms, &stable, &r));
        CHECK_OK(collect_run(nd->m, stable, &r, &more));
        vector_free(stable);
    }
    for (int key = 0; key < MODEL_KEYS; key++) {
        na[key] = model_held(md, d, key, after[key]);
        for (size_t h = 0; h < nb[key]; h++) {
            bool kept = false;
            for (size_t g = 0; g < na[key]; g++) {
                kept |= after[key][g] == before[key][h];
            }
            if (!kept) {
                const model_write_t *x = &md->w[before[key][h]];
                if (!x->del || na[key] != 0) {
                    util_print_where();
                    fail_msg("n%d's collection took w%ld of k%d (%s), %zu version(s) left", d,
                             before[key][h], key, x->del ? "a delete" : "a live value", na[key]);
                }
                md->w[before[key][h]].coll_by |= 1u << d;
                g_mb.n_collected++;
            }
        }
    }
    size_t redone = 0;
    CHECK_OK(collect_redo(nd->m, &redone));
    if (redone) {
        s_adopt(md, d, after, na);
    }
    void *b = NULL; /* the store stays whole: it exports */
    size_t blen = 0;
    mesh_err_t err = mesh_export(nd->m, NULL, 0, NULL, 0, &b, &blen);
    if (err != MESH_OK) {
        util_print_where();
        fail_msg("after collecting, n%d exports no more: %s: %s", d, mesh_strerror(err),
                 mesh_errmsg(nd->m));
    }
    mesh_free(b);
    if (stale) {
        model_close(md, d);
        nd->horizon = 0;
        model_open(md, d, false);
    }
    g_mb.n_collect_runs++;
}

/* ---- the slow path (test_model's) ---- */

/* ---- the run ---- */

/* The end, on member d (not removed): see the head comment. */
static void
s_check_final(model_t *md, int d)
{
    long held[STORE_SIBLINGS_MAX];
    static bool required[MODEL_MAXW];
    uint64_t top[MODEL_MAXN][MODEL_NCOLL];
    for (size_t j = 0; j < md->nw; j++) {
        required[j] = !md->gone[j] && !md->w[j].coll_by && s_removed_fate(md, &md->w[j]) <= 0;
        if (g_mb.removed[md->w[j].node]) {
            required[j] &= s_removed_fate(md, &md->w[j]) < 0;
        }
        for (size_t i = 0; i < md->nw && required[j]; i++) {
            required[j] =
                !(i != j && md->w[i].key == md->w[j].key && s_removed_fate(md, &md->w[i]) <= 0 &&
                  model_covers(&md->w[i], &md->w[j]));
        }
    }
    for (int key = 0; key < MODEL_KEYS; key++) {
        size_t nh = model_held(md, d, key, held);
        for (size_t j = 0; j < md->nw; j++) {
            const model_write_t *w = &md->w[j];
            bool found = false;
            for (size_t h = 0; h < nh; h++) {
                found |= held[h] == (long)j;
            }
            bool live = false; /* a tombstone beside a live sibling: s_sibling_gap */
            for (size_t h = 0; h < nh && g_mb.n_gap_keys; h++) {
                live |= !md->w[held[h]].del;
            }
            if (w->key == key && required[j] && !found && !(w->del && live)) {
                util_print_where();
                model_print_held(md, d, key, held, nh);
                fail_msg("n%d lost a write of k%d: w%zu n%d%s seq %llu %s '%s' (seed %u)", d, key,
                         j, w->node, g_mb.removed[w->node] ? " (removed, below its cut)" : "",
                         (unsigned long long)w->seq, w->del ? "del" : "put", w->value, md->seed);
            }
        }
        for (size_t h = 0; h < nh; h++) {
            const model_write_t *x = &md->w[held[h]];
            long by = -1;
            for (size_t j = 0; j < md->nw && by < 0; j++) {
                by = j != (size_t)held[h] && required[j] && md->w[j].key == key &&
                             model_covers(&md->w[j], x)
                         ? (long)j
                         : -1;
            }
            for (size_t g = 0; g < nh && by < 0; g++) {
                by = g != h && model_covers(&md->w[held[g]], x) ? held[g] : -1;
            }
            if (md->gone[held[h]] || by >= 0 || s_removed_fate(md, x) > 0) {
                util_print_where();
                model_print_held(md, d, key, held, nh);
                fail_msg("n%d holds w%ld of k%d, which %s%ld supersedes (seed %u)", d, held[h], key,
                         s_removed_fate(md, x) > 0 ? "(above the removed node's cut) "
                         : by >= 0                 ? "w"
                                                   : "(gone) ",
                         by, md->seed);
            }
        }
    }
    /* a removed node's sets above every cut were never applied (its vector stops there; it
     * may stop below the cut where the sets up to it were wholly superseded) */
    model_vec_max(md, d, top);
    for (int r = 0; r < md->n; r++) {
        for (int c = 0; c < MODEL_NCOLL && g_mb.removed[r]; c++) {
            uint64_t lo = 0, hi = 0;
            s_cut(md, r, c, &lo, &hi);
            if (top[r][c] > hi) {
                util_print_where();
                fail_msg("n%d's vector of \"%s\" holds removed n%d up to seq %llu, its cut lies "
                         "in [%llu, %llu] (seed %u)",
                         d, MODEL_COLLS[c], r, (unsigned long long)top[r][c],
                         (unsigned long long)lo, (unsigned long long)hi, md->seed);
            }
        }
    }
    /* deletes the members collected: a removed node's own collection binds no member (seed
     * 286: n3 collected its own delete alone, with the 1 ms horizon, before any member took
     * it, then was removed; the live write it covered stays, as any write of a removed node
     * that reached no member is lost) */
    unsigned members = 0;
    for (int e = 0; e < md->n; e++) {
        members |= g_mb.removed[e] ? 0u : 1u << e;
    }
    s_check_no_resurrection(md, d, members);
}

/* Is version list a[0..na) holding write j? */
static bool
s_has(const long *a, size_t na, long j)
{
    for (size_t i = 0; i < na; i++) {
        if (a[i] == j) {
            return true;
        }
    }
    return false;
}

/* The known gap (reported, not fixed here): member A collects an item of tombstones (every
 * member acknowledged them) and writes the key again; its new write's context names
 * nothing (A holds nothing of the key), so a member B that has not collected yet takes it
 * as a sibling of the tombstones, and never collects them (a tombstone beside a live
 * sibling stays), while A refuses them in every repair: the digests never meet. Also a
 * sibling that reached A only after it collected, and a tombstone a member never held
 * though its vector covers it, refused under the floor (s_known_seeds, 26). Where the final
 * digests differ, each difference must be that and only that: the same live versions and
 * the same visible value on every member, "_mesh" equal, and a tombstone held on one member
 * beside a live sibling and not on another. Returns how many (member, key) differ. */
static size_t
s_sibling_gap(model_t *md)
{
    static long held[MODEL_MAXN][STORE_SIBLINGS_MAX];
    size_t nh[MODEL_MAXN], gaps = 0;
    int a = -1;
    for (int d = 0; d < md->n && a < 0; d++) {
        a = g_mb.removed[d] ? -1 : d;
    }
    for (int key = 0; key < MODEL_KEYS; key++) {
        char k[16], va[40] = "", vb[40] = "";
        snprintf(k, sizeof k, "k%d", key);
        for (int d = 0; d < md->n; d++) {
            nh[d] = g_mb.removed[d] ? 0 : model_held(md, d, key, held[d]);
        }
        for (int b = 0; b < md->n; b++) {
            if (g_mb.removed[b] || b == a) {
                continue;
            }
            bool differs = false;
            for (int side = 0; side < 2; side++) {
                int x = side ? a : b, y = side ? b : a;
                bool live = false;
                for (size_t h = 0; h < nh[x]; h++) {
                    live |= !md->w[held[x][h]].del;
                }
                for (size_t h = 0; h < nh[x]; h++) {
                    long j = held[x][h];
                    if (s_has(held[y], nh[y], j)) {
                        continue;
                    }
                    differs = true;
                    if (!md->w[j].del || !live) {
                        util_print_where();
                        model_print_held(md, a, key, held[a], nh[a]);
                        model_print_held(md, b, key, held[b], nh[b]);
                        fail_msg("members n%d and n%d differ on k%d, not only by a "
                                 "tombstone beside a live sibling (seed %u)",
                                 a, b, key, md->seed);
                    }
                }
            }
            void *gv = NULL;
            size_t gl = 0;
            mesh_err_t ea = mesh_get(md->nodes[a].m, MODEL_COLLS[model_key_coll(key)], k, strlen(k),
                                     &gv, &gl),
                       eb;
            snprintf(va, sizeof va, "%d:%.*s", (int)ea, ea == MESH_OK ? (int)gl : 0,
                     ea == MESH_OK ? (const char *)gv : "");
            mesh_free(gv);
            gv = NULL;
            eb = mesh_get(md->nodes[b].m, MODEL_COLLS[model_key_coll(key)], k, strlen(k), &gv, &gl);
            snprintf(vb, sizeof vb, "%d:%.*s", (int)eb, eb == MESH_OK ? (int)gl : 0,
                     eb == MESH_OK ? (const char *)gv : "");
            mesh_free(gv);
            if (strcmp(va, vb) != 0) {
                util_print_where();
                model_print_held(md, a, key, held[a], nh[a]);
                model_print_held(md, b, key, held[b], nh[b]);
                fail_msg("members n%d and n%d show k%d differently: %s / %s (seed %u)", a, b, key,
                         va, vb, md->seed);
            }
            gaps += differs;
        }
    }
    for (int b = 0; b < md->n; b++) {
        char da[65], db[65];
        if (!g_mb.removed[b]) {
            util_digest(md->nodes[a].m, "_mesh", da);
            util_digest(md->nodes[b].m, "_mesh", db);
            CHECK(strcmp(da, db) == 0);
        }
    }
    return gaps;
}

static void
s_final(model_t *md)
{
    bool equal = false;
    for (int pass = 0; pass < 2 * MODEL_MAXN && !equal; pass++) {
        model_all_to_all(md, pass, g_mb.removed, g_mb.nremoved == 0);
        { /* every member acknowledges, hears the others', collects */
            for (int d = 0; d < md->n; d++) {
                if (!g_mb.removed[d]) {
                    snprintf(util_where, sizeof util_where, "seed %u: final pass %d, n%d collects",
                             md->seed, pass, d);
                    s_collect(md, d, false);
                }
            }
            model_all_to_all(md, pass, g_mb.removed, g_mb.nremoved == 0);
            for (int d = 0; d < md->n; d++) {
                if (!g_mb.removed[d]) {
                    snprintf(util_where, sizeof util_where, "seed %u: final pass %d, n%d collects",
                             md->seed, pass, d);
                    s_collect(md, d, false);
                }
            }
            model_all_to_all(md, pass, g_mb.removed, g_mb.nremoved == 0);
        }
        equal = model_repair_differing(md, pass, g_mb.removed);
        /* what a repair offered under a floor is deleted anew, and spreads */
        for (int d = 0; d < md->n && !equal; d++) {
            if (!g_mb.removed[d]) {
                static long now[MODEL_KEYS][STORE_SIBLINGS_MAX];
                size_t nn[MODEL_KEYS], redone = 0;
                for (int key = 0; key < MODEL_KEYS; key++) {
                    nn[key] = model_held(md, d, key, now[key]);
                }
                CHECK_OK(collect_redo(md->nodes[d].m, &redone));
                if (redone) {
                    s_adopt(md, d, now, nn);
                }
            }
        }
        g_mb.n_final_passes++;
    }
    snprintf(util_where, sizeof util_where, "seed %u: after the final exchange", md->seed);
    size_t gaps = equal || getenv("MESH_TEST_STRICT") ? 0 : s_sibling_gap(md);
    if (!equal && (gaps == 0 || getenv("MESH_TEST_STRICT"))) {
        for (int d = 0; d < md->n; d++) {
            print_error("n%d%s\n", d, g_mb.removed[d] ? " (removed)" : "");
        }
        model_dump_all(md);
        CHECK(equal);
    }
    g_mb.n_gap_keys += gaps;
    g_mb.n_gap_seeds += gaps > 0;
}

static void
s_run(model_t *md, unsigned seed, bool cycles)
{
    model_begin(md, seed, 0x6e3bull, 3);
    memset(&g_mb, 0, sizeof g_mb);
    g_mb.cycles = cycles;
    s_hear(md);

    int steps = 60 + (int)model_pick(md, 61);
    for (md->step = 0; md->step < steps; md->step++) {
        unsigned r = model_pick(md, 100);
        int s = 0, d = 0;
        bool destroying = false;
        char *w = util_where;
        size_t wl = sizeof util_where;
        if (r < 36) {
            s = (int)model_pick(md, (unsigned)md->n);
            snprintf(w, wl, "seed %u step %d: n%d%s writes", seed, md->step, s,
                     g_mb.removed[s] ? " (removed)" : "");
            model_write(md, s);
            d = s;
        } else if (r < 66) {
            model_pair(md, &s, &d);
            bool since = model_pick(md, 2);
            snprintf(w, wl, "seed %u step %d: n%d%s -> n%d%s (%s bundle)", seed, md->step, s,
                     g_mb.removed[s] ? " (removed)" : "", d, g_mb.removed[d] ? " (removed)" : "",
                     since ? "since" : "full");
            (void)model_transfer(md, s, d, since, false, g_mb.nremoved == 0, &g_mb.n_refused_sets);
        } else if (r < 70) {
            /* a remover is never removed: its record could fall past its own cut (then
             * rejected everywhere, and the removal never happened) */
            if (g_mb.cycles) { /* (then no other removal: one outcome at a time) */
                if (!s_cycle(md)) {
                    continue;
                }
                d = 0;
            } else {
                if (g_mb.nremoved >= md->n - 2 || !s_member_pair(md, &d, &s) ||
                    g_mb.remover[s]) {
                    continue;
                }
                snprintf(w, wl, "seed %u step %d: n%d removes n%d", seed, md->step, d, s);
                s_remove(md, d, s);
            }
        } else if (r < 88) {
            d = (int)model_pick(md, (unsigned)md->n);
            if (g_mb.removed[d]) {
                continue;
            }
            bool stale = model_pick(md, 5) == 0 && !getenv("MESH_TEST_NO_STALE");
            snprintf(w, wl, "seed %u step %d: n%d acknowledges and collects%s", seed, md->step, d,
                     stale ? " (every other member silent past its horizon)" : "");
            s_collect(md, d, stale);
            destroying = true;
        } else {
            if (!s_member_pair(md, &s, &d)) {
                continue;
            }
            int c = (int)model_pick(md, MODEL_NCOLL + 1);
            snprintf(w, wl, "seed %u step %d: repair of \"%s\" between n%d and n%d", seed, md->step,
                     model_coll_at(c), s, d);
            model_repair(md, s, d, model_coll_at(c));
            model_check_node(md, s);
        }
        model_check_node(md, d);
        model_world(md, destroying ? MODEL_LOSE_TOMBSTONES : MODEL_LOSE_NONE);
        s_hear(md);
        for (int e = 0; e < md->n; e++) {
            s_check_no_resurrection(md, e, 1u << e);
        }
        if (getenv("MESH_TEST_TRACE")) {
            print_message("%s\n", util_where);
        }
    }

    if (g_mb.n_cycles) {
        snprintf(util_where, sizeof util_where, "seed %u: the cycles resolved", seed);
        s_cycle_resolve(md);
        s_hear(md);
    }
    s_final(md);
    s_hear(md);
    model_world(md, MODEL_LOSE_TOMBSTONES); /* the final collections may take tombstones */
    for (int d = 0; d < md->n; d++) {
        for (int r = 0; r < md->n; r++) {
            if (!g_mb.removed[d] && r != d && g_mb.heard[d][r] != g_mb.removed[r]) {
                util_print_where();
                fail_msg("member n%d %s of n%d's removal at the end", d,
                         g_mb.heard[d][r] ? "heard" : "never heard", r);
            }
        }
    }
    for (size_t j = 0; j < md->nw; j++) {
        int fate = s_removed_fate(md, &md->w[j]);
        g_mb.n_valid_removed += fate < 0;
        g_mb.n_cut_removed += fate > 0;
    }
    for (int d = 0; d < md->n; d++) {
        if (!g_mb.removed[d]) {
            s_check_final(md, d);
        }
    }
    for (int d = 0; d < md->n; d++) { /* every store opens again, lists, reads and exports */
        void *b = NULL;
        size_t blen = 0;
        model_close(md, d);
        model_open(md, d, false);
        model_check_node(md, d);
        if (!g_mb.removed[d]) {
            s_check_final(md, d);
        }
        CHECK_OK(mesh_export(md->nodes[d].m, NULL, 0, NULL, 0, &b, &blen));
        mesh_free(b);
    }
    model_end(md);
}

/* Seeds that find a library bug not fixed yet: a run of many seeds leaves them out (each
 * prints why); MESH_TEST_SEED=N runs one alone and fails while the bug stands. None now (0
 * is never a seed: C has no empty array). Session 11 ran 1,461 fresh seeds (701..1558 and
 * 1701..2303) one by one outside make test: 1037, 1093 and 1718 failed, fixed (see
 * test_model_members_regressions). */
static const unsigned s_known_seeds[] = {0};

static bool
s_known(unsigned seed)
{
    for (size_t i = 0; i < sizeof s_known_seeds / sizeof s_known_seeds[0]; i++) {
        if (s_known_seeds[i] == seed && seed != 0) {
            print_message("model (members): seed %u left out (a known bug: see s_known_seeds)\n",
                          seed);
            return true;
        }
    }
    return false;
}

static void
test_model_members_random(void **state)
{
    (void)state;
    const char *preload = getenv("LD_PRELOAD");
    unsigned first = 1, count = preload && strstr(preload, "vgpreload") ? 1 : 12;
    const char *one = getenv("MESH_TEST_SEED"), *many = getenv("MESH_TEST_SEEDS");
    if (one && *one) {
        first = (unsigned)strtoul(one, NULL, 10);
        count = 1;
    }
    if (many && *many) {
        count = (unsigned)strtoul(many, NULL, 10);
    }
    model_t *md = calloc(1, sizeof *md);
    assert_non_null(md);
    size_t writes = 0, removals = 0, runs = 0, stale = 0, collected = 0, redone = 0, refused = 0,
           repairs = 0, passes = 0, valid = 0, cut = 0, gap_keys = 0, gap_seeds = 0;
    for (unsigned seed = first; seed < first + count; seed++) {
        if (count > 1 && s_known(seed)) {
            continue;
        }
        s_run(md, seed, false);
        writes += md->nw;
        removals += g_mb.n_removals;
        runs += g_mb.n_collect_runs;
        stale += g_mb.n_stale_runs;
        collected += g_mb.n_collected;
        redone += g_mb.n_redone;
        refused += g_mb.n_refused_sets;
        repairs += md->n_repairs;
        passes += g_mb.n_final_passes;
        valid += g_mb.n_valid_removed;
        cut += g_mb.n_cut_removed;
        gap_keys += g_mb.n_gap_keys;
        gap_seeds += g_mb.n_gap_seeds;
    }
    print_message("model (members): %u seed(s) from %u: %zu writes, %zu removals (removed nodes' "
                  "writes: %zu below a cut, %zu above every cut; %zu sets rejected), %zu "
                  "collections (%zu stale) taking %zu tombstones, %zu written anew, %zu repairs, "
                  "%zu final passes; the known gap (s_sibling_gap): %zu seed(s), %zu "
                  "(member, key) pairs\n",
                  count, first, writes, removals, valid, cut, refused, runs, stale, collected,
                  redone, repairs, passes, gap_seeds, gap_keys);
    free(md);
}

/* Seeds that found bugs, fixed:
 * - 2: collect_run removed the set record of a partial set (one whose record keeps no
 *   leaves: some of its ops came alone, with proofs) while its versions were still held: it
 *   took the record's leaf count (0) for its op count, so the record looked empty; the next
 *   export failed "store or file is damaged" (core/apply/collect.c: the header's count);
 * - 12, 94, 148: a removed node's bundle carried its own sets past its cut (rejected) and
 *   its vector's watermarks; a member's live write that only the removed node's rejected
 *   write superseded was left out of the bundle and counted held by the watermark; once a
 *   collected delete raised the floor of its origin above it, every repair's offer of it
 *   was refused and deleted anew (12, 148: a live write lost on every member) or the
 *   digests never met (94). A section's watermarks now apply only when none of its sets was
 *   held or rejected (core/apply/apply.c, PROTOCOL §8.2);
 * - 73: a removed node's dot that every member had superseded before n4 took it stayed a
 *   gap in n4's vector (a removed node's watermarks were never applied), so n4's
 *   acknowledgement never covered the node's dots and no member collected the tombstones
 *   whose context names them, which n0 had collected before the removal: the digests never
 *   met. A removed node's watermarks now apply up to its cut (core/apply/held.c
 *   held_mark_cut, PROTOCOL §8.2);
 * - 26 (and 112, 142, 149, 156, 160, 175, 191 alike): n5, collecting with the 1 ms horizon
 *   (every other member taken as silent past it), collected two tombstones of k8 while a
 *   member it took as stale had written a live sibling concurrent with them; the sibling
 *   reached n5 after (no floor covers it: taken), and the members that had not collected
 *   held it beside the tombstones, never collected there and winning: n5 showed the value,
 *   they the key deleted, for good. A tombstone offered under the floor is now taken back
 *   where its key holds a live version (core/apply/collect.c, PROTOCOL §8.4);
 * - 144 (and 367, 667 alike): removed n1, told of its removal, published its frozen record
 *   of itself (the highest of its own seqs); n0 took it with the rm record from n1's own
 *   bundle before it heard, so the record was valid everywhere and raised n1's cut to
 *   writes no member had taken before it heard (a member held one above the oracle's upper
 *   bound; 367 and 667, where a member lacked a write below the cut and one held a dot above
 *   it in its vector, pass with the same change and no other). A device publishes no
 *   frozen record of itself, and one of the subject itself counts for nothing in the cut
 *   (core/member/member.c, removal.c, PROTOCOL §8.2; tests/unit/test_removal.c);
 * - 326 (this oracle's): removed n4's seq 2 waited on n3 for a dot its context names while
 *   seq 3 applied; n3's cut of n4 (3) covers seq 2, which no member ever held. Valid, but
 *   taken only if n4 sends it: the oracle required every write at or below the lower
 *   bound; it now requires those whose dot a member that stays covered before it heard
 *   (s_removed_fate, took);
 * - 684: n1 took removed n3's seq 5 before it heard and deleted over it, then was removed
 *   itself before its frozen record spread; n3's seq 5 was rejected on n0 and n2, but n0
 *   had a header of it and took n1's delete and wrote over it, while on n2 n0's write
 *   waited for good for seq 5, which its context names: the digests never met. A removed
 *   device's dot no longer makes a set wait (core/apply/causal.c, PROTOCOL §8.2;
 *   tests/unit/test_removal.c);
 * - 127: n1 and n4 stay; removed n0's tombstone w7 (seq 5), collected by n4, stayed on n1
 *   for good: n1's vector of n0 had gaps below n0's cut (8) that only n4's watermark of
 *   n0 closes, and every bundle of n4 also carried n0's header alone of seqs 8..9 (each
 *   op superseded there; stored before n4 heard, past the cut), rejected on n1, which
 *   stopped every watermark of the section: n1's acknowledgement never covered seq 5.
 *   A removed device's header alone held or rejected no longer stops the section's
 *   watermarks: it carries no op (core/apply/apply.c s_mark_limit, PROTOCOL §8.2);
 * - 1718 (found by the run of fresh seeds): n2 collected n3's tombstone w17 of k3 (every
 *   member had acknowledged it); removed n4's concurrent delete w12, valid below its cut,
 *   came after; n1 and n5 held both for good (n4's dots stay a gap in every vector, so
 *   never collected), n2 w12 alone, refusing w17 under its floor in every repair. A
 *   tombstone offered under the floor is now taken back where its key holds any version,
 *   not only a live one (core/apply/collect.c, PROTOCOL §8.4);
 * - 1037, 1093 (found by the same run): n0 and n2 held removed n5's set of seqs 3..4 as a
 *   partial set (only seq 3's op, taken before they heard: the cut is 3); every bundle
 *   they sent n4 carried it, and n4 rejected it as straddling the cut, which stopped every
 *   watermark of the section: n4 never held all the acknowledgements covered and never
 *   collected. A partial set of a removed device is judged by the last op it carries
 *   (core/apply/held.c, PROTOCOL §8.2). */
static void
test_model_members_regressions(void **state)
{
    (void)state;
    static const unsigned seeds[] = {12, 73, 2, 26, 94, 148, 144, 367, 667, 326, 684, 127, 1718, 1037, 1093};
    const char *one = getenv("MESH_TEST_SEED");
    if (one && *one) { /* a seed alone: just that one */
        return;
    }
    const char *preload = getenv("LD_PRELOAD");
    size_t n = sizeof seeds / sizeof seeds[0];
    if (preload && strstr(preload, "vgpreload")) {
        n = 1; /* under valgrind: minutes each */
    }
    model_t *md = calloc(1, sizeof *md);
    assert_non_null(md);
    for (size_t i = 0; i < n; i++) {
        s_run(md, seeds[i], false);
    }
    free(md);
}

/* Cycles of three mutual removals (s_cycle): MESH_TEST_CYCLE_SEEDS seeds from
 * MESH_TEST_CYCLE_SEED (defaults: 12 from 1; seeds of four nodes have no cycle: five
 * members are needed, two staying); a removal step is a cycle whenever five are left. After
 * the members that were in no cycle settled the outcome (s_cycle_resolve: they agree on
 * each cycled node), the run ends as any (s_final and its checks). */
static void
test_model_members_cycles(void **state)
{
    (void)state;
    const char *preload = getenv("LD_PRELOAD");
    const char *one = getenv("MESH_TEST_CYCLE_SEED"), *many = getenv("MESH_TEST_CYCLE_SEEDS");
    unsigned first = one && *one ? (unsigned)strtoul(one, NULL, 10) : 1;
    unsigned count = many && *many                            ? (unsigned)strtoul(many, NULL, 10)
                     : one && *one                            ? 1
                     : preload && strstr(preload, "vgpreload") ? 1
                                                               : 12;
    if (getenv("MESH_TEST_SEED") && *getenv("MESH_TEST_SEED") && !(one && *one)) {
        return; /* a random seed alone: just that one */
    }
    model_t *md = calloc(1, sizeof *md);
    assert_non_null(md);
    size_t cycles = 0, removed = 0, kept = 0, runs = 0;
    for (unsigned seed = first; seed < first + count; seed++) {
        s_run(md, seed, true);
        cycles += g_mb.n_cycles;
        removed += g_mb.n_cycle_removed;
        kept += g_mb.n_cycle_kept;
        runs += g_mb.n_cycles > 0;
    }
    print_message("model (members, cycles of three removals): %u seed(s) from %u, %zu with a "
                  "cycle: %zu cycle(s), cycled nodes ending removed %zu, kept %zu\n",
                  count, first, runs, cycles, removed, kept);
    free(md);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_model_members_random, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_model_members_regressions, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_model_members_cycles, s_setup, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
