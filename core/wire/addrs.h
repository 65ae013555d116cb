/* core/wire/addrs.h: the byte layouts of address lists (docs/PROTOCOL.md §17): the body of
 * a PEX message (members' addresses, told by one member to another) and the stored address
 * book of one member (a local record, never sent).
 * Owns: both layouts, their caps and their strict decoders. Not here: whether an address is
 * of the form we dial (core/member/addr.h), what a told address is worth (core/member/addrbook.h).
 * Layer: core/wire. Third-party: none here (addrs.c uses msgpack.h). SPDX-License-Identifier: MIT
 */
#ifndef MESH_CORE_WIRE_ADDRS_H
#define MESH_CORE_WIRE_ADDRS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/wire/buf.h"
#include "core/wire/set.h" /* WIRE_ORIGIN_LEN */
#include "meshsync.h"      /* mesh_err_t */

#define WIRE_PEX_ENTRIES_MAX 64u         /* members one PEX speaks of (§17) */
#define WIRE_PEX_ADDRS_MAX   4u          /* addresses per member in a PEX */
#define WIRE_ADDR_LEN_MAX    255u        /* bytes of one address */
#define WIRE_PEX_MAX         (72u << 10) /* bytes of a PEX body: the caps above fit in it */
#define WIRE_BOOK_MAX        16u         /* addresses in one stored address book */

/* One member in a PEX: its device key and the addresses the sender gives for it, each
 * 1..WIRE_ADDR_LEN_MAX bytes of text (borrowed from the input; no NUL). */
typedef struct wire_pex_entry {
    uint8_t device[WIRE_ORIGIN_LEN];
    const char *addrs[WIRE_PEX_ADDRS_MAX];
    size_t addr_lens[WIRE_PEX_ADDRS_MAX];
    size_t count; /* 1..WIRE_PEX_ADDRS_MAX */
} wire_pex_entry_t;

/* A decoded PEX body: entries in strictly rising device order (one per device). */
typedef struct wire_pex {
    wire_pex_entry_t entries[WIRE_PEX_ENTRIES_MAX];
    size_t count; /* 1..WIRE_PEX_ENTRIES_MAX */
} wire_pex_t;

/* Append a PEX body for pex (entries already in rising device order, each address
 * 1..WIRE_ADDR_LEN_MAX bytes, no address twice in an entry). MESH_OK, MESH_EINVAL (a cap,
 * the order, an empty list or entry), MESH_ENOMEM (out as before). */
MESH_NODISCARD mesh_err_t wire_pex_encode(const wire_pex_t *pex, wire_buf_t *out);

/* Decode exactly len bytes as a PEX body into *pex (its addresses point into buf): an array
 * of 1..WIRE_PEX_ENTRIES_MAX [device (bin 32), [address (str)...]] in strictly rising
 * device order, each with 1..WIRE_PEX_ADDRS_MAX distinct addresses of
 * 1..WIRE_ADDR_LEN_MAX bytes. Never reads outside buf. MESH_OK, MESH_EPROTO (malformed,
 * out of order, a duplicate, trailing bytes), MESH_ETOOBIG (len past WIRE_PEX_MAX, a
 * count or length past its cap); on error *pex is zeroed. Thread-safe: yes. */
MESH_NODISCARD mesh_err_t wire_pex_decode(const uint8_t *buf, size_t len, wire_pex_t *pex);

/* One address of a stored book (times in Unix seconds, 0 for never). */
typedef struct wire_book_entry {
    const char *addr; /* borrowed: the input's when decoded, the caller's when encoded */
    size_t addr_len;  /* 1..WIRE_ADDR_LEN_MAX */
    uint8_t source;   /* 1..WIRE_BOOK_SOURCE_MAX: core/member/addrbook.h says what each is */
    bool has_teller;  /* told by a member: its key follows */
    uint8_t teller[WIRE_ORIGIN_LEN];
    uint64_t added, last_ok, last_fail, fails;
} wire_book_entry_t;
#define WIRE_BOOK_SOURCE_MAX 4u

/* Append a book of count (<= WIRE_BOOK_MAX) entries: an array of
 * [address (str), source, teller (bin 32 or empty), added, last ok, last fail, fails].
 * MESH_OK, MESH_EINVAL (a cap), MESH_ENOMEM (out as before). */
MESH_NODISCARD mesh_err_t wire_book_encode(const wire_book_entry_t *entries, size_t count,
                                           wire_buf_t *out);

/* Decode exactly len bytes as a stored book into entries (room for WIRE_BOOK_MAX; the
 * addresses point into buf), *count set. MESH_OK, MESH_EPROTO, MESH_ETOOBIG; on error
 * *count is 0. Thread-safe: yes. */
MESH_NODISCARD mesh_err_t wire_book_decode(const uint8_t *buf, size_t len,
                                           wire_book_entry_t *entries, size_t *count);

#endif /* MESH_CORE_WIRE_ADDRS_H */
