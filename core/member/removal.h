/* core/member/removal.h: the frozen cut of a removed device (DESIGN.md, Membership;
 * docs/PROTOCOL.md §8.2). Owns: the value of a "frozen/<subject>/<signer>" record (per
 * collection and incarnation of the subject, the highest seq the signer had accepted),
 * building this device's from its vectors, and the verdict on a removed device's set from
 * the records published so far (apply it, hold it back, or reject it for good).
 * Not here: the member view and writing the records (core/member/member.c), holding sets
 * (core/apply/held.c). Layer: core (member). Third-party: none. SPDX-License-Identifier: MIT */
#ifndef MESH_CORE_MEMBER_REMOVAL_H
#define MESH_CORE_MEMBER_REMOVAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "meshsync.h"
#include "store/store.h"

#define REMOVAL_RM_PREFIX     "rm/"
#define REMOVAL_FROZEN_PREFIX "frozen/"

/* The first line of a provisional frozen record (PROTOCOL §8.2): published for a member
 * that an rm record held here (signed by a device removed here) names. It counts in the
 * cut, not as its signer's final record: the signer rewrites it once the subject is
 * removed in its view. */
#define REMOVAL_PROVISIONAL "provisional\n"

/* What becomes of a set signed by a removed device. */
enum removal_verdict {
    REMOVAL_APPLY = 0, /* its last seq is at or below the highest published: valid */
    REMOVAL_HOLD,      /* above it, and a member has not published yet: held back */
    REMOVAL_REJECT     /* above it, and every member has published (or is stale): for good */
};

/* The value of this device's frozen record for subject: one line per (collection,
 * incarnation) of subject in txn's vectors, "<incarnation hex16> <seq> <collection>\n", seq
 * the highest dot held (the base, or the last extra). *value is malloc'd ("" when none).
 * Errors: the store's, MESH_ENOMEM, MESH_ETOOBIG (over MESH_VALUE_MAX). */
MESH_NODISCARD mesh_err_t removal_frozen_value(store_txn_t *txn, const uint8_t *subject,
                                               char **value, size_t *len);

/* Is value (len bytes) a provisional frozen record (its first line REMOVAL_PROVISIONAL)? */
bool removal_frozen_provisional(const uint8_t *value, size_t len);

/* The members that a held rm record names (PROTOCOL §8.2, provisional freeze): each
 * subject of an op "rm/<subject>/<origin>" in a held set of collection mesh_coll whose
 * origin is in removed[0..nremoved), the subject in members[0..nmembers) and not self.
 * *out (malloc'd, *n of them, each once) is at most nmembers long.
 * Errors: the store's, MESH_ENOMEM. A held set that does not decode is passed over. */
MESH_NODISCARD mesh_err_t removal_held_subjects(store_txn_t *txn, const char *mesh_coll,
                                                const uint8_t (*removed)[32], size_t nremoved,
                                                const uint8_t (*members)[32], size_t nmembers,
                                                const uint8_t *self, uint8_t (**out)[32],
                                                size_t *n);

/* The highest seq of (coll, incarnation) a frozen value gives (0: none). Lines of another
 * form are passed over. */
uint64_t removal_frozen_seq(const uint8_t *value, size_t len, uint64_t incarnation,
                            const char *coll);

/* The verdict on a set of removed device origin (incarnation, collection coll, last seq
 * last) from the frozen records of origin in txn's collection mesh_coll: the cut is the
 * highest seq any of them gives (into *cut), provisional ones too; members[0..n) must all
 * have published a record that is not provisional (or be origin) for a set above it to be
 * rejected: the caller leaves out the members stale past
 * the horizon (PROTOCOL §8.4).
 * Errors: the store's, MESH_ENOMEM. */
MESH_NODISCARD mesh_err_t removal_verdict(store_txn_t *txn, const char *mesh_coll,
                                          const uint8_t *origin, uint64_t incarnation,
                                          const char *coll, uint64_t last,
                                          const uint8_t (*members)[32], size_t n,
                                          enum removal_verdict *out, uint64_t *cut);

#endif /* MESH_CORE_MEMBER_REMOVAL_H */
