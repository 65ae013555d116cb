/* tests/fuzz/rig.h: what the stateful fuzz targets (fuzz_apply, fuzz_session) share: reading
 * a structured input byte by byte, nodes with fixed identities in a temporary directory
 * (tmpfs when there is one), writes chosen by the input, and the checks that a store is sound
 * (it reads, its digests equal a recount from every stored version, every key reads).
 * Not here: the decoders' checks (tests/fuzz/check.h). Linked into every fuzz target.
 * Layer: tests. Third-party: libsodium (a fixed seed's key pair). SPDX-License-Identifier: MIT */
#ifndef MESH_TESTS_FUZZ_RIG_H
#define MESH_TESTS_FUZZ_RIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "meshsync.h"

/* The input, read from the front; past its end every read gives zeros. */
typedef struct rig_in {
    const uint8_t *p;
    size_t len;
} rig_in_t;

uint8_t rig_u8(rig_in_t *in);
/* n (<= 8) bytes, big-endian. */
uint64_t rig_num(rig_in_t *in, size_t n);
/* Up to n bytes (fewer at the end): *got of them at the returned pointer (borrowed). */
const uint8_t *rig_bytes(rig_in_t *in, size_t n, size_t *got);

/* A node: an offline mesh_t in a home of its own, with the identity of a fixed seed; and,
 * once rig_nodes_begin took it, its template: every record of its store as the run starts. */
typedef struct rig_node {
    char home[512];
    mesh_t *m;
    char id[MESH_ID_TEXT_LEN + 1];
    uint8_t pk[32];
    uint8_t *tmpl; /* the template's records: (db, key length, value length, key, value)... */
    size_t tmpl_len;
    uint64_t tmpl_inc;   /* the incarnation the template holds */
    uint64_t tmpl_txnid; /* the store's last txn id when it last held the template */
} rig_node_t;

/* Open a fresh node (its home removed first) named name whose key pair comes from seed:
 * the same seed gives the same device on every run. CHECKs that it opens. */
void rig_node_open(rig_node_t *n, const char *name, uint8_t seed);

/* Close n and remove its home; a node never opened is a no-op. */
void rig_node_close(rig_node_t *n);

/* The nodes of a run, kept for the whole process. The first call opens count fresh nodes
 * (names[i], seeds[i]: rig_node_open), lets setup make them what every run starts from (adds),
 * and takes each store's records as its template. Each later call puts every store back to
 * its template in one write transaction (every record deleted, the template's written; a
 * store no commit touched since is left alone) and reloads the members from it, so a run
 * starts from the same records as the first did, whatever came before; a store whose
 * incarnation a run renewed is also reopened, so that nothing of it stays in memory. The
 * same input means the same thing on a fresh process (a replay) as after any other input.
 * With MESH_FUZZ_FRESH=1 in the environment, every call closes the nodes and opens them
 * afresh instead (slower: mdb_env_open and close dominate a run under ASan). */
void rig_nodes_begin(rig_node_t *nodes, size_t count, const char *const *names,
                     const uint8_t *seeds, void (*setup)(rig_node_t *nodes));

/* n adds the node peer as a member (a signed add record, no address). */
void rig_add(rig_node_t *n, const rig_node_t *peer);

/* The user collections the inputs write to. */
#define RIG_COLLS 3
extern const char *const rig_colls[RIG_COLLS];

/* One local transaction on n chosen by the input: a collection, 1..4 puts or deletes of
 * keys from a small alphabet, short values (now and then a long one). */
void rig_write(rig_node_t *n, rig_in_t *in);

/* n's full export (every collection): *p (mesh_free) and *len. CHECKs it. */
void rig_export(rig_node_t *n, void **p, size_t *len);

/* Import b (len bytes) into n, which must accept it whole: MESH_OK, none rejected. */
void rig_import_honest(rig_node_t *n, const void *b, size_t len);

/* CHECK that m's store is sound: every collection (and _mesh) lists, its digest and key
 * count equal a recount from every stored version, every key reads, and no read reports
 * damage (MESH_ECORRUPT, MESH_EIO). */
void rig_check_store(mesh_t *m);

/* CHECK that a and b hold the same user collections with the same digests. */
void rig_check_same(mesh_t *a, mesh_t *b);

#endif
