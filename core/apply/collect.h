/* core/apply/collect.h: tombstone collection (docs/PROTOCOL.md §8.4) and the rule that a
 * collected delete is never undone (§13).
 * Owns: which members hold collection back (the horizon), the stable vector (what every one
 * of them acknowledged), removing items made only of tombstones it covers, the floor of
 * what was collected, refusing a repair's version under the floor, and deleting anew a
 * live value so refused (the queue in store/gc.h). Not here: the acknowledgements
 * themselves (core/member/ack.h). Layer: core. Third-party: none. SPDX-License-Identifier: MIT */
#ifndef MESH_CORE_COLLECT_H
#define MESH_CORE_COLLECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/base/node.h"
#include "core/data/vector.h"
#include "core/data/version.h"
#include "core/wire/set.h"
#include "meshsync.h"
#include "store/store.h"

#define COLLECT_HORIZON_MS_DEFAULT (30ull * 24 * 3600 * 1000) /* 30 days (§8.4) */
#define COLLECT_BATCH_MAX          65536u                     /* items removed in one run */

/* What one run did. */
typedef struct collect_report {
    uint64_t items;    /* items removed (keys whose every version was a collected tombstone) */
    uint64_t versions; /* tombstones removed */
    uint64_t sets;     /* set records removed: every op of theirs gone, acknowledged by all */
    size_t members;    /* members whose acknowledgement counted */
    size_t stale;      /* members silent past the horizon, left out */
} collect_report_t;

/* Does member pk hold collection back, heard of last at last_ms (unix ms; 0: never)? Not
 * when silent past the horizon. The one place where removal and access filters plug in. */
bool collect_holds_back(mesh_t *m, const uint8_t *pk, uint64_t last_ms, uint64_t now_ms,
                        uint64_t horizon_ms);

/* The stable vector: own (bases) lowered, entry by entry, to what each of acks[0..n)
 * covers; an entry some ack lacks becomes 0, and every entry of a collection where own
 * does not cover all an ack covers (a sibling may be on its way). *out is new
 * (vector_free). Pure. */
MESH_NODISCARD mesh_err_t collect_stable(const vector_t *own, vector_t *const *acks, size_t n,
                                         vector_t **out);

/* Does stable cover every entry of ctx (a tombstone item's join of contexts and dots) in
 * collection coll? Pure. */
bool collect_covers(const vector_t *stable, const char *coll, const version_ctx_t *ctx);

/* The stable vector of m's store now: own vector and the acknowledgements of the members
 * that hold collection back, this device's own among them (it collects only what it told
 * the others it holds); a member without one makes everything it could cover 0.
 * *out new (vector_free); r->members and r->stale filled. Errors: the store's, ENOMEM. */
MESH_NODISCARD mesh_err_t collect_stable_load(mesh_t *m, uint64_t now_ms, uint64_t horizon_ms,
                                              vector_t **out, collect_report_t *r);

/* Collect in m's store what stable covers: items of user collections whose versions are
 * all tombstones, their contexts and dots covered, removed (item, version records, digest,
 * stats), the floor raised; at most COLLECT_BATCH_MAX items per call (*more says some
 * are left). Then the set records (headers and leaves) none of whose ops is held any more
 * (superseded or collected), whose range stable covers, but for each origin's latest and
 * those under derived incarnations (§5.7). One write transaction. Errors: the store's
 * (nothing of that transaction is kept). */
MESH_NODISCARD mesh_err_t collect_run(mesh_t *m, const vector_t *stable, collect_report_t *r,
                                      bool *more);

/* Inside a repair's write (rules, §13): op of set header h, in collection cid, whose dot
 * the vector covers. *refused when the floor of its (origin, incarnation) reaches the dot
 * and the store does not hold it: it was collected here (or superseded by what was), and
 * is not stored again; a live value so refused is queued to be deleted anew; a tombstone is
 * taken back (not refused) where its key holds a live version here (§8.4). */
MESH_NODISCARD mesh_err_t collect_refuses(store_txn_t *st, uint32_t cid, uint32_t at,
                                          const wire_header_t *h, const wire_opmeta_t *op,
                                          bool *refused);

/* The daemon's timer (core/sync/loop): when due, publish the acknowledgement (when it changed,
 * or every third of the horizon, at most once a day), collect when the stable vector rose
 * (a pass at most every 20x its own duration: it scans the items on the loop thread),
 * and delete anew what a repair offered under the floor. Failures are logged. */
typedef struct collect_state {
    int64_t next_ms;   /* monotonic: when the next tick is due */
    int64_t run_ms;    /* monotonic: no collection pass before (20x the last one's time) */
    vector_t *last;    /* the stable vector of the last collection (NULL: none yet) */
    vector_t *scanned; /* what ack_needed read without finding a tombstone */
} collect_state_t;

void collect_tick(mesh_t *m, collect_state_t *s, int64_t now_ms);
void collect_state_release(collect_state_t *s);

/* Delete anew each queued key (one local transaction each, its context covering the
 * refused dot), so the device that offered the value drops it when it syncs. *done
 * counts them. Errors: the store's, mesh_txn_commit's. */
MESH_NODISCARD mesh_err_t collect_redo(mesh_t *m, size_t *done);

#endif /* MESH_CORE_COLLECT_H */
