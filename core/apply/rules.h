/* core/apply/rules.h: what one verified set does to the store: the receive rules (a)(b)(c)
 * of DESIGN.md (Data model) for each op, the fork rule (docs/PROTOCOL.md §5.7), a rolled-back
 * store's new incarnation (§5.1), and the set's vector, record and clock.
 * Owns: rules_t, the state the writes of one batch share. core/apply's own.
 * Not here: verification (core/apply/verify.h), the order of a batch's sets and its
 * watermarks (core/apply/apply.c), key-ordered runs (core/apply/run.h), the held-back list
 * (core/apply/held.h). Layer: core. Third-party: none. SPDX-License-Identifier: MIT */
#ifndef MESH_CORE_APPLY_RULES_H
#define MESH_CORE_APPLY_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/apply/verify.h"
#include "core/data/vv.h"
#include "meshsync.h"
#include "store/store.h"

/* What the writes of one batch share; the caller owns item and vv. */
typedef struct rules {
    mesh_t *m;
    store_item_t *item;    /* scratch: the stored versions of one key */
    vv_t vv;               /* scratch: the vector of one (collection, origin) */
    bool defer_dot;        /* leave a new version's record to the caller (runs), */
    bool dot_deferred;     /* which this then says; */
    bool digest_deferred;  /* and a new key's version left out of stats->digest (runs too) */
    bool members_changed;  /* a membership record was stored */
    verify_set_t *culprit; /* the set whose ops hit a cap (MESH_ETOOBIG), when one did */
    const char *cap;       /* and which cap, for the log */
    bool colls_full;       /* the collections cap was hit: sets of new ones are left out */
    bool repair; /* the slow path's versions (§13): rule (a) is skipped, for the vector covers
                    exactly what a repair brings back */
} rules_t;

#define RULES_CAP_COLLS "4,096 collections" /* (MESH_COLLS_MAX) the cap, as the log names it */
#define RULES_FORKS_MAX 256u /* derived incarnations of one (origin, incarnation), §5.7 */

/* The number of collection coll, made when new (store_coll_id). When a new one would pass
 * MESH_COLLS_MAX: MESH_ETOOBIG, with w->cap and w->colls_full set. Errors: the store's. */
MESH_NODISCARD mesh_err_t rules_coll_id(rules_t *w, store_txn_t *st, const char *coll,
                                        uint32_t *cid);

/* Apply verified set v (v->res says APPLY_NEW on entry) in st: held back (APPLY_HELD) when
 * its origin is not a member; when another stored header of its origin and incarnation
 * overlaps it (a fork, §5.7), it and the overlapping headers keep their versions under
 * incarnations derived from their headers; rejected (APPLY_REJECTED, MESH_EFORK) only when
 * that would pass RULES_FORKS_MAX, or its incarnation is a derived one. Else each op by
 * rules (a)(b)(c), then its vector, its collection's stats, the clock and its record.
 * v->res counts the ops and says APPLY_NEW or APPLY_KNOWN.
 * Errors: the store's (the transaction is then to be aborted). */
MESH_NODISCARD mesh_err_t rules_apply_set(rules_t *w, store_txn_t *st, verify_set_t *v);

/* Rules (b)(c) for op i of v, which the vector does not cover (of collection cid, origin
 * oid): store it, or count its dot when a local version's context covers it; stats follow.
 * The vector is the caller's. With w->defer_dot the new version's record is left to the
 * caller (w->dot_deferred then says so), and when the key was new, its share of the
 * digest too (w->digest_deferred: the caller adds it, rules_digest_add). Errors: the
 * store's. */
MESH_NODISCARD mesh_err_t rules_store_or_supersede(rules_t *w, store_txn_t *st, uint32_t cid,
                                                   uint32_t oid, verify_set_t *v, size_t i,
                                                   store_coll_stats_t *stats);

/* rules_store_or_supersede in two steps, for a caller that sets w->defer_dot. First, for
 * op seq of v (of collection cid, origin oid) whose key is [key, key_len): store it when
 * this store has never held the key, leaving the version's record and digest share to the
 * caller (w->dot_deferred and w->digest_deferred say so). It reads nothing of the op but its
 * key (a run's key-ordered walk reaches the ops in random order: their decoded metadata
 * would be a cache miss each). MESH_EEXIST: the key is held, nothing written; the caller
 * goes on with rules_store_held_key. Other errors: the store's. */
MESH_NODISCARD mesh_err_t rules_store_new_key(rules_t *w, store_txn_t *st, uint32_t cid,
                                              uint32_t oid, verify_set_t *v, const uint8_t *key,
                                              size_t key_len, uint64_t seq,
                                              store_coll_stats_t *stats);

/* The second step: op i of v, whose key this store holds, stored unless a local version's
 * context covers it (rule b), as rules_store_or_supersede does. Errors: the store's. */
MESH_NODISCARD mesh_err_t rules_store_held_key(rules_t *w, store_txn_t *st, uint32_t cid,
                                               uint32_t oid, verify_set_t *v, size_t i,
                                               store_coll_stats_t *stats);

/* The version op i of v makes (its dot: oid, the op's seq), borrowing the set's bytes. */
store_version_t rules_new_version(const verify_set_t *v, size_t i, uint32_t oid);

/* Add the share of op i's new version nv (rules_new_version) to digest: the hash its check
 * made ahead, when it did. */
void rules_digest_add(uint8_t *digest, const verify_set_t *v, size_t i, const store_version_t *nv);

/* The stored set of (cid, oid) with the greatest first seq up to seq (UINT64_MAX: the
 * latest), its header decoded into *sh. Errors: the store's (MESH_ENOTFOUND: none),
 * MESH_ECORRUPT (the stored header does not decode). */
MESH_NODISCARD mesh_err_t rules_header_at(store_txn_t *st, uint32_t cid, uint32_t oid, uint64_t seq,
                                          store_set_t *s, wire_header_t *sh);

/* Is v anything but a set of a plain origin number that no other stored header of its
 * origin and incarnation overlaps (§5.7)? *other is then set: a fork, v itself stored
 * under a derived number, or v's incarnation a derived one. *s and *sh: an overlapping
 * header of v's origin number, when one is. Errors: the store's, MESH_ECORRUPT (a stored
 * header does not decode). */
MESH_NODISCARD mesh_err_t rules_other_header(store_txn_t *st, uint32_t cid, uint32_t oid,
                                             const verify_set_t *v, store_set_t *s,
                                             wire_header_t *sh, bool *other);

/* The incarnation the versions of a forked header move to (§5.7): the first 8 bytes (LE) of
 * BLAKE2b-256(0x01 || header), 1 for 0, complemented when it is the signed incarnation. */
uint64_t rules_fork_incarnation(const uint8_t *header, size_t header_len, uint64_t incarnation);

#endif /* MESH_CORE_APPLY_RULES_H */
