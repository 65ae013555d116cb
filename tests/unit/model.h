/* tests/unit/model.h: the in-process model engine that test_model and test_model_members
 * share: 4..6 nodes in one process (no sockets), their homes, copies and restores; the
 * oracle's writes with their dots and the contexts their writers built (PROTOCOL §5.3, with
 * the collection floors of §8.4 on a key a node holds no item of); transfers by bundle, the
 * slow path between two nodes, the checks after each step and the dumps of a failure.
 * Not here: what one test alone does (lies, unstores, removals, collections) and its final
 * judgement. Layer: tests. Third-party: cmocka. SPDX-License-Identifier: MIT */
#ifndef MESH_TESTS_UNIT_MODEL_H
#define MESH_TESTS_UNIT_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "meshsync.h"

#define MODEL_MAXN  6
#define MODEL_NCOLL 2 /* "m" and "n" */
#define MODEL_KEYS  9 /* k0..k5 in "m", k6..k8 in "n" */
#define MODEL_MAXW  1024
#define MODEL_CTX   48

extern const char *const MODEL_COLLS[MODEL_NCOLL];

typedef struct model_node {
    char home[256];
    char backup[264]; /* an earlier copy of home ("": none yet) */
    char id[MESH_ID_TEXT_LEN + 1];
    uint64_t horizon; /* mesh_options_t.horizon (0: the default) */
    mesh_t *m;
} model_node_t;

/* A context entry: (origin node, signed incarnation) -> the highest seq covered. */
typedef struct model_dot {
    int node;
    uint64_t inc, seq;
} model_dot_t;

typedef struct model_clock {
    model_dot_t e[MODEL_CTX];
    size_t n;
} model_clock_t;

/* One write: its dot, key, content and clock, and the context its writer built. */
typedef struct model_write {
    int node, key;
    uint64_t inc, seq, hlc;
    bool del, redo;   /* redo: a delete-anew (or put-anew) of collect_redo */
    unsigned coll_by; /* bit d: node d collected this tombstone */
    char value[32];
    model_clock_t ctx;
} model_write_t;

typedef struct model {
    unsigned seed;
    int step, n;
    uint64_t rng;
    unsigned del_odds; /* a write is a delete one time in del_odds */
    model_node_t nodes[MODEL_MAXN];
    model_write_t w[MODEL_MAXW];
    size_t nw;
    bool gone[MODEL_MAXW]; /* no node holds or supersedes it any more */
    unsigned counter;
    size_t n_repairs, n_repair_items, n_inplace, n_newfile;
} model_t;

/* What a step may take the last trace of (model_world). */
typedef enum {
    MODEL_LOSE_NONE,       /* nothing */
    MODEL_LOSE_ANY,        /* anything (a restore, an unstore) */
    MODEL_LOSE_TOMBSTONES, /* tombstones, and what only they cover (a collection) */
} model_lose_t;

/* ---- homes ---- */

/* Make the run's root directory $MESH_TEST_TMPDIR (else /dev/shm, else /tmp)/name.XXXXXX.
 * Returns 0, or -1. model_root_remove closes every node still open and removes it. */
int model_root_make(const char *name);
int model_root_remove(void);
const char *model_root(void);

/* Begin a run of seed: md zeroed, its rng from salt and seed, 4..6 nodes made under the
 * root, each trusting every other; del_odds as given. */
void model_begin(model_t *md, unsigned seed, uint64_t salt, unsigned del_odds);

/* Close every node of md and remove the seed's directory. */
void model_end(model_t *md);

/* Open node i (create: make its home) with its horizon; close it. */
void model_open(model_t *md, int i, bool create);
void model_close(model_t *md, int i);

/* Copy node d's home aside (its backup); restore it in place (each file rewritten, the
 * store file keeps its inode) or into new files (a new inode). Each leaves d open. */
void model_backup(model_t *md, int d);
void model_restore(model_t *md, int d, bool in_place);

/* ---- randomness ---- */

unsigned model_pick(model_t *md, unsigned n);
void model_pair(model_t *md, int *s, int *d); /* two distinct nodes */

/* ---- the oracle ---- */

int model_key_coll(int key);
const char *model_coll_at(int c); /* MODEL_COLLS[c], or "_mesh" for c == MODEL_NCOLL */
int model_node_of(const model_t *md, const char *origin);
int model_node_of_pk(const model_t *md, const uint8_t *pk);

/* The write that version v is (by its dot, clock and content), or -1. */
long model_write_of(const model_t *md, int key, const mesh_item_version_t *v);

void model_clock_join(model_clock_t *c, int node, uint64_t inc, uint64_t seq);
void model_clock_add(model_clock_t *c, const model_clock_t *x);
void model_ctx_take(model_write_t *w, const model_write_t *x);     /* x's dot and context */
bool model_covers(const model_write_t *a, const model_write_t *b); /* a's context, b's dot */

/* The floor context of key on node d (§8.4), into w's context: what the tombstones of key
 * that d collected covered, their dots and contexts (the writes coll_by marks). The library
 * keeps one floor per origin and collection, the highest seq of those contexts, and a write
 * to a key with no item covers it whole; below it, d's vector says it took every dot, so
 * every write of key under it was one of those or superseded by them: the oracle's floor,
 * narrower, is what the library's may supersede, and a write the library's covers beyond it
 * (a dot the vector covers that d never held) is a write lost, which the checks find. */
void model_floor_take(const model_t *md, int d, int key, model_write_t *w);

/* The versions node d holds of key, each a write the oracle knows (fails on any other):
 * indexes into out, count returned. */
size_t model_held(model_t *md, int d, int key, long *out);

/* The highest seq of each node in d's vector of each user collection (0: none). */
void model_vec_max(model_t *md, int d, uint64_t out[MODEL_MAXN][MODEL_NCOLL]);

/* ---- checks ---- */

void model_check_digests(model_t *md, int d);

/* Every version of every key is a known write; mesh_get and the iterator agree with the
 * winner of mesh_get_versions; digests equal their recounts. */
void model_check_node(model_t *md, int d);

/* Is every write still in the world: held by some node, or superseded through a chain of
 * writes, each covering the next, that ends in a held version? Fails on one lost that the
 * step (lose) may not take; marks the rest gone. */
void model_world(model_t *md, model_lose_t lose);

/* ---- steps ---- */

/* Node d commits one transaction of 1..3 writes (puts, or deletes one time in del_odds). */
void model_write(model_t *md, int d);

/* A bundle from s for d (since: what d's vector lacks). Imported whole; or, with scatter,
 * a random part of its sets in random order, in batches of 1..3, without watermarks. With
 * strict, no set may be rejected or held; *refused (may be NULL) counts the rejected.
 * Returns the sets new at d. */
size_t model_transfer(model_t *md, int s, int d, bool since, bool scatter, bool strict,
                      size_t *refused);

/* The slow path between a and b on coll, as core/sync/repair.c drives it. */
void model_repair(model_t *md, int a, int b, const char *coll);

/* Normal transfers all-to-all among the nodes not in skip (NULL: none) until quiet
 * (CHECKed; with strict, no set rejected or held). */
void model_all_to_all(model_t *md, int pass, const bool *skip, bool strict);

/* A repair of every collection whose digests differ, between every pair of nodes not in
 * skip. Returns whether every digest was equal. */
bool model_repair_differing(model_t *md, int pass, const bool *skip);

/* ---- dumps ---- */

void model_digests(model_t *md, int d, char dg[MODEL_NCOLL + 1][65]);
void model_trace_write(const model_t *md, size_t j);
void model_print_held(const model_t *md, int d, int key, const long *held, size_t nh);
void model_dump_all(model_t *md); /* what every node holds, its vectors and digests */

#endif
