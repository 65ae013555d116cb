/* core/member/addrbook.h: the address book of one member (docs/PROTOCOL.md §17): the
 * addresses this device knows for it, where each came from (a membership record, a LAN
 * beacon, the member itself, another member), when each last worked and last failed, the
 * order to dial them in and how long a failing one rests; kept in the store's metadata
 * ("addrbook/<ID>", local: never synced).
 * Not here: the address form (core/member/addr.h), dialling (core/sync/dial.c), peer
 * exchange (core/sync/pex.c). Layer: core (member). Third-party: none. SPDX-License-Identifier: MIT
 */
#ifndef MESH_CORE_MEMBER_ADDRBOOK_H
#define MESH_CORE_MEMBER_ADDRBOOK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/wire/addrs.h"
#include "meshsync.h"
#include "store/store.h"

#define ADDRBOOK_MAX        WIRE_BOOK_MAX /* addresses kept per member (16) */
#define ADDRBOOK_LEARNT_MAX 8u            /* of them not from a record (beacon, told) */
#define ADDRBOOK_EVICT_S    600           /* an untried address is kept at least this long */
#define ADDRBOOK_REST_MIN_S 3             /* a failed address rests 3 s, doubling per failure */
#define ADDRBOOK_REST_MAX_S 600           /* up to 10 min */
#define ADDRBOOK_SHARE_FAILS                                                                       \
    3u /* a self-stated address failing this often here                                            \
        * is not passed on */
#define ADDRBOOK_META_PREFIX "addrbook/"

/* Where an address came from, the best first (a better source replaces a worse one). */
enum addrbook_source {
    ADDRBOOK_CONFIGURED = 1, /* a membership record gives it (meshctl peer add) */
    ADDRBOOK_BEACON = 2,     /* a LAN beacon of the member showed it */
    ADDRBOOK_SELF = 3,       /* the member stated it about itself (PEX) */
    ADDRBOOK_TOLD = 4,       /* another member told it (PEX): teller */
};

typedef struct addrbook_entry {
    char addr[WIRE_ADDR_LEN_MAX + 1];
    uint8_t source; /* enum addrbook_source */
    bool has_teller;
    uint8_t teller[WIRE_ORIGIN_LEN]; /* ADDRBOOK_TOLD, ADDRBOOK_SELF: who told it */
    int64_t added;                   /* Unix seconds it was first known */
    int64_t last_ok;                 /* an outgoing link to it last worked, 0: never */
    int64_t last_fail;               /* a dial of it last gave no session, 0: never */
    uint32_t fails;                  /* failures since it last worked */
} addrbook_entry_t;

typedef struct addrbook {
    addrbook_entry_t *e; /* n entries (malloc'd; grows to ADDRBOOK_MAX) */
    size_t n, cap;
    bool dirty; /* changed since loaded or saved */
} addrbook_t;

void addrbook_init(addrbook_t *b);
void addrbook_release(addrbook_t *b);

/* The entry for addr (NUL-terminated), or NULL. */
addrbook_entry_t *addrbook_find(const addrbook_t *b, const char *addr);

/* Note that addr (checked by the caller: addr_parse) is known from source (teller: the
 * member that told it, for SELF and TOLD; else NULL) at Unix time now. Known already: a
 * better source replaces its source. New: kept, but for the caps: at most
 * ADDRBOOK_LEARNT_MAX not from records, a new one then taking the place of the oldest that
 * never worked (or failed since) and was tried or is older than ADDRBOOK_EVICT_S; else it
 * is refused. *added: whether it is new here. MESH_OK, MESH_EINVAL (too long, bad source),
 * MESH_ENOMEM (nothing changed). */
MESH_NODISCARD mesh_err_t addrbook_note(addrbook_t *b, const char *addr, uint8_t source,
                                        const uint8_t *teller, int64_t now, bool *added);

/* Make the addresses from records exactly the space-separated addresses of text (each
 * checked by the caller; at most ADDRBOOK_MAX - ADDRBOOK_LEARNT_MAX are kept, the first): one
 * no longer given is dropped; one known from elsewhere becomes a record's. Returns whether
 * the set of addresses changed. Out of memory: some are left out (the next call adds them). */
bool addrbook_set_configured(addrbook_t *b, const char *text, int64_t now);

/* An outgoing link to addr worked (a frame came over it) / gave no session: at now. Return
 * whether anything changed (addr unknown: nothing). */
bool addrbook_worked(addrbook_t *b, const char *addr, int64_t now);
bool addrbook_failed(addrbook_t *b, const char *addr, int64_t now);

/* Does e rest at now (it failed lately: ADDRBOOK_REST_MIN_S doubling per failure since it
 * last worked, up to ADDRBOOK_REST_MAX_S)? */
bool addrbook_resting(const addrbook_entry_t *e, int64_t now);

/* The order to dial b's addresses in, into order[0..n) (room for ADDRBOOK_MAX): those that
 * worked and did not fail since, the latest first; then those never tried, by source
 * (records, beacons, the member, others); then those that failed, the fewest failures
 * first; ties in the order they became known. Returns n. */
size_t addrbook_order(const addrbook_t *b, const addrbook_entry_t **order);

/* What this device tells other members about this member (§17), into out[0..n) (n <= max):
 * the addresses whose outgoing link worked and did not fail since, the latest first; then
 * those the member stated itself that did not fail ADDRBOOK_SHARE_FAILS times here. Not
 * the records' (every member holds them). Returns n. */
size_t addrbook_shareable(const addrbook_t *b, const char **out, size_t max);

/* The book of the member id (its ID text) as stored, into b (emptied first); a record that
 * does not decode is ignored (it is only a hint), as are its entries not of the address
 * form. MESH_OK (none stored: empty), or the store's error. */
MESH_NODISCARD mesh_err_t addrbook_load(store_txn_t *txn, const char *id, addrbook_t *b);

/* Store b as the book of the member id, in txn. MESH_OK, the store's error, MESH_ENOMEM. */
MESH_NODISCARD mesh_err_t addrbook_save(store_txn_t *txn, const char *id, const addrbook_t *b);

/* A word for e's source, for status and logs: "configured", "beacon", "self", "told". */
const char *addrbook_source_name(uint8_t source);

#endif /* MESH_CORE_MEMBER_ADDRBOOK_H */
