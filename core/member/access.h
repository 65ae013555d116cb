/* core/member/access.h: per-collection access lists (DESIGN.md, Membership; PROTOCOL.md §8.3).
 * Owns: the access records of "_mesh" ("access/<coll>/<subject ID>/<signer ID>", value
 * "granted\n" or "revoked\n"), their key format, and the rule that folds them into one list
 * of who may hold a collection, the same on every device holding the same records.
 * Not here: the public share calls (core/member/share.c), the other record kinds and the
 * member view (core/member/member.c). Layer: core (member). Third-party: none.
 * SPDX-License-Identifier: MIT */
#ifndef MESH_CORE_MEMBER_ACCESS_H
#define MESH_CORE_MEMBER_ACCESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/wire/set.h"
#include "meshsync.h"
#include "store/store.h"

#define ACCESS_PREFIX      "access/"
#define ACCESS_GRANTED     "granted\n"
#define ACCESS_REVOKED     "revoked\n"
#define ACCESS_VALUE_LEN   8u    /* both values are this long */
#define ACCESS_RECORDS_MAX 4096u /* records of one collection folded (the rest are left out) */

/* One access record as the rule reads it. */
typedef struct access_record {
    uint8_t subject[WIRE_ORIGIN_LEN]; /* the device it is about */
    uint8_t signer[WIRE_ORIGIN_LEN];  /* the device that signed it */
    uint64_t hlc;                     /* the HLC of the set that carried it */
    bool granted;                     /* granted, or revoked */
} access_record_t;

/* Who may hold one collection. Not restricted (no access record counts): every member. */
typedef struct access_list {
    bool restricted;
    uint8_t (*keys)[WIRE_ORIGIN_LEN];
    size_t count, cap;
} access_list_t;

void access_list_release(access_list_t *list);

/* May pk hold the collection of list? (Always, when it is not restricted.) */
bool access_list_has(const access_list_t *list, const uint8_t *pk);

/* Fold records[0..n) (reordered in place) into *list (released first): in the order of
 * (hlc, signer, subject, revoked after granted), the first granted record makes the list,
 * with its signer in it; a later record counts only when its signer is in the list at that
 * point, and adds (granted) or takes out (revoked) its subject. A revoked record before any
 * list is made counts for nothing. Errors: MESH_ENOMEM. */
MESH_NODISCARD mesh_err_t access_resolve(access_record_t *records, size_t n, access_list_t *list);

/* The list of coll from the access records held in txn's "_mesh". Errors: the store's,
 * MESH_ENOMEM. */
MESH_NODISCARD mesh_err_t access_list_load(store_txn_t *txn, const char *coll, access_list_t *list);

/* Split "access/<coll>/<subject ID>/<signer ID>" (coll may hold '/': the IDs have a fixed
 * length, read from the end): coll's bytes at *coll (borrowed from key, *coll_len bytes).
 * MESH_OK or MESH_EPROTO. */
MESH_NODISCARD mesh_err_t access_parse_key(const uint8_t *key, size_t len, const uint8_t **coll,
                                           size_t *coll_len, uint8_t *subject, uint8_t *signer);

/* Is op a well-formed access record of origin's own (its key parses, names origin as the
 * signer; a put of one of the two values, or a delete)? MESH_OK or MESH_EPROTO. */
MESH_NODISCARD mesh_err_t access_check_op(const wire_opmeta_t *op, const uint8_t *origin);

#endif /* MESH_CORE_MEMBER_ACCESS_H */
