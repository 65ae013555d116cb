/* core/member/member.h: membership as replicated data (DESIGN.md, Membership; PROTOCOL.md §8).
 * Owns: the reserved collection "_mesh" and its records (genesis, add, rm, frozen), their key
 * format, this device's view of who is a member and who was removed (a two-phase set; locked:
 * the loop thread and callers share it), and writing this device's frozen records; which
 * keys are well formed ("access/" and "ack/" too: their values are core/member/access.c's
 * and ack.c's).
 * Not here: the public peer calls (core/member/peer.c).
 * Not here: applying sets (core/apply/), which asks this module who is a member.
 * Layer: core. Third-party: none. SPDX-License-Identifier: MIT */
#ifndef MESH_CORE_MEMBER_H
#define MESH_CORE_MEMBER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/wire/set.h"
#include "meshsync.h"
#include "store/store.h"

#define MEMBER_COLL      "_mesh"
#define MEMBER_NAME_MAX  64u  /* bytes in a device name */
#define MEMBER_ADDR_MAX  200u /* bytes in one address */
#define MEMBER_ADDRS_MAX 8u   /* addresses in one add record */

/* The set of member device keys in this device's view (never a removed one but this device),
 * and the removed devices. */
typedef struct member_view {
    uint8_t (*keys)[WIRE_ORIGIN_LEN];
    size_t count;
    size_t cap;
    uint8_t (*removed)[WIRE_ORIGIN_LEN]; /* subjects of the rm records held */
    size_t nremoved, rcap;
} member_view_t;

void member_view_release(member_view_t *view);

/* Rebuild the view: self, plus every genesis and add record's subject held in "_mesh"
 * (only members' sets are ever applied there), less every rm record's subject (remove
 * wins, for good; self stays in keys, and is listed removed too). */
MESH_NODISCARD mesh_err_t member_view_load(store_txn_t *txn, const uint8_t *self,
                                           member_view_t *view);

/* Write one record of this device into "_mesh": key (klen bytes) put to value (len bytes),
 * as one signed change set. Errors: those of a local transaction. */
MESH_NODISCARD mesh_err_t member_record_put(mesh_t *m, const char *key, size_t klen,
                                            const void *value, size_t len);

/* Parse the device ID text id into pk (32 bytes); MESH_EBADID, with m's detail saying why
 * (the text escaped: anyone's bytes), when it does not parse. */
MESH_NODISCARD mesh_err_t member_id_parse(mesh_t *m, const char *id, uint8_t *pk);

/* Is pk in the view? */
bool member_view_has(const member_view_t *view, const uint8_t *pk);

/* Split a record key ("genesis/<ID>" or "add/<subject ID>/<signer ID>") into its kind and
 * keys: subject is the added (or genesis) device, signer the device that must have signed
 * it. MESH_OK or MESH_EPROTO. */
MESH_NODISCARD mesh_err_t member_parse_key(const uint8_t *key, size_t len, bool *is_add,
                                           uint8_t *subject, uint8_t *signer);

/* A node's member view with its lock and generation (mesh_t.members). */
typedef struct member_state member_state_t;

MESH_NODISCARD mesh_err_t member_state_new(member_state_t **out);
void member_state_free(member_state_t *s);

/* Re-read m's member view from the store (after "_mesh" changed). Thread-safe. */
MESH_NODISCARD mesh_err_t member_reload(mesh_t *m);

/* Is pk a member in m's view? Thread-safe. */
bool member_is(mesh_t *m, const uint8_t *pk);

/* The view's generation, bumped at each reload. Thread-safe. */
uint64_t member_generation(mesh_t *m);

/* A copy of the member keys (caller frees *keys) and the view's generation. Thread-safe. */
MESH_NODISCARD mesh_err_t member_keys_copy(mesh_t *m, uint8_t (**keys)[32], size_t *count,
                                           uint64_t *gen);

/* Is pk removed in m's view (an rm record of it is held)? Thread-safe. */
bool member_removed(mesh_t *m, const uint8_t *pk);

/* A copy of the removed keys (caller frees *keys). Thread-safe. */
MESH_NODISCARD mesh_err_t member_removed_copy(mesh_t *m, uint8_t (**keys)[32], size_t *count);

/* Split "<prefix><subject ID>/<signer ID>" (prefix "add/", "rm/", "frozen/"...).
 * MESH_OK or MESH_EPROTO. */
MESH_NODISCARD mesh_err_t member_parse_pair(const uint8_t *key, size_t len, const char *prefix,
                                            uint8_t *subject, uint8_t *signer);

/* Check that an op in "_mesh" from origin is a well-formed record of origin's own:
 * key "genesis/<origin ID>", "add/<subject ID>/<origin ID>", "rm/<subject ID>/<origin ID>"
 * or "frozen/<subject ID>/<origin ID>". MESH_OK or MESH_EPROTO. */
MESH_NODISCARD mesh_err_t member_check_op(const wire_opmeta_t *op, const uint8_t *origin);

/* Write this device's genesis record if it has none (at creation), or anew when its name
 * is not m->name (after mesh_rename). */
MESH_NODISCARD mesh_err_t member_genesis(mesh_t *m);

#endif /* MESH_CORE_MEMBER_H */
