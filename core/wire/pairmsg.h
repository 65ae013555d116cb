/* core/wire/pairmsg.h: the pairing messages (docs/PROTOCOL.md §15.4): START, SHARE,
 * CONFIRM, RESULT and ERROR, each one frame on the pairing connection.
 * Owns: each message's byte layout, its encoder and its strict decoder, with a cap on every
 * field. Not here: what the values mean (CPace: crypto/cpace.h, crypto/pairkey.h), the
 * order of the exchange (core/sync/pair.h), addresses' form (core/member/addr.h).
 * Layer: core/wire. Third-party: none here (pairmsg.c uses msgpack.h). SPDX-License-Identifier: MIT
 */
#ifndef MESH_CORE_WIRE_PAIRMSG_H
#define MESH_CORE_WIRE_PAIRMSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/wire/buf.h"
#include "meshsync.h" /* mesh_err_t */

/* Types 64..68: apart from the session's (1..13, core/wire/msg.h), so that no pairing frame
 * decodes as a session message, nor the other way round. */
enum pairmsg_type {
    PAIRMSG_START = 64,   /* [64, version, nameplate, nonce (16), others (0 or 1)]: B to A */
    PAIRMSG_SHARE = 65,   /* [65, nonce (16), share (32), AD (65)]: each side */
    PAIRMSG_CONFIRM = 66, /* [66, tag (32), signature (64) or empty]: each side */
    PAIRMSG_RESULT = 67,  /* [67, A's Ed25519 key (32), A's name, [address...]]: A to B */
    PAIRMSG_ERROR = 68,   /* [68, reason (1..PAIR_REASON_LAST), text]: either side */
    PAIRMSG_FIRST = PAIRMSG_START,
    PAIRMSG_LAST = PAIRMSG_ERROR
};

#define PAIRMSG_VERSION   1u    /* START's version */
#define PAIRMSG_NONCE_LEN 16u   /* = PAIRKEY_NONCE_LEN */
#define PAIRMSG_SHARE_LEN 32u   /* = CPACE_POINT_LEN */
#define PAIRMSG_AD_LEN    65u   /* = PAIRKEY_AD_LEN */
#define PAIRMSG_TAG_LEN   32u   /* = PAIRKEY_TAG_LEN */
#define PAIRMSG_SIG_LEN   64u   /* an Ed25519 signature */
#define PAIRMSG_KEY_LEN   32u   /* an Ed25519 public key */
#define PAIRMSG_NAME_MAX  64u   /* bytes of RESULT's name */
#define PAIRMSG_ADDRS_MAX 8u    /* addresses in a RESULT */
#define PAIRMSG_ADDR_MAX  200u  /* bytes of one address */
#define PAIRMSG_TEXT_MAX  200u  /* bytes of ERROR's text */
#define PAIRMSG_FRAME_MAX 4096u /* bytes of any pairing frame: longer is refused unread */

/* Why a pairing ended (ERROR's reason). */
enum pair_reason {
    PAIR_REASON_WRONG_CODE = 1, /* a confirmation tag did not check: the code is burnt */
    PAIR_REASON_BUSY = 2,       /* another device is pairing with it now */
    PAIR_REASON_NAMEPLATE = 3,  /* no pairing open with that nameplate */
    PAIR_REASON_MESHED = 4,     /* both devices already share a mesh with others */
    PAIR_REASON_EXPIRED = 5,    /* the code expired or was used */
    PAIR_REASON_PROTOCOL = 6,   /* a message out of turn or malformed, a bad key or signature */
    PAIR_REASON_INTERNAL = 7,   /* the sender failed locally (its store, memory) */
    PAIR_REASON_VERSION = 8,    /* START's version is not one it speaks */
    PAIR_REASON_LAST = PAIR_REASON_VERSION
};

typedef struct pairmsg {
    uint8_t type;
    uint64_t version;   /* START */
    uint64_t nameplate; /* START: 1..999 */
    bool others;        /* START: the sender already shares a mesh with other devices */
    uint8_t nonce[PAIRMSG_NONCE_LEN]; /* START, SHARE */
    uint8_t share[PAIRMSG_SHARE_LEN]; /* SHARE */
    uint8_t ad[PAIRMSG_AD_LEN];       /* SHARE */
    uint8_t tag[PAIRMSG_TAG_LEN];     /* CONFIRM */
    uint8_t sig[PAIRMSG_SIG_LEN];     /* CONFIRM, when has_sig */
    bool has_sig;
    uint8_t key[PAIRMSG_KEY_LEN]; /* RESULT */
    const char *name;             /* RESULT (borrowed; not NUL-ended) */
    size_t name_len;
    const char *addrs[PAIRMSG_ADDRS_MAX]; /* RESULT (borrowed; not NUL-ended) */
    size_t addr_lens[PAIRMSG_ADDRS_MAX];
    size_t naddrs;
    uint64_t reason;  /* ERROR: a pair_reason */
    const char *text; /* ERROR (borrowed; not NUL-ended) */
    size_t text_len;
} pairmsg_t;

/* Append msg (its type's fields) to out. MESH_OK, MESH_EINVAL (unknown type, a field out
 * of range or past its cap), MESH_ENOMEM. */
MESH_NODISCARD mesh_err_t pairmsg_encode(const pairmsg_t *msg, wire_buf_t *out);

/* Decode exactly len bytes as one pairing message: the array of its type's length, each
 * field in its shortest msgpack form, bins of their exact lengths, every cap, nothing after.
 * MESH_OK, MESH_EPROTO (malformed, an unknown type or reason, a nameplate outside 1..999),
 * MESH_ETOOBIG (len past PAIRMSG_FRAME_MAX, a field past its cap). */
MESH_NODISCARD mesh_err_t pairmsg_decode(const uint8_t *buf, size_t len, pairmsg_t *msg);

/* A short English text for a reason ("wrong code", ...); "unknown reason" otherwise. */
const char *pairmsg_reason_text(uint64_t reason);

#endif /* MESH_CORE_WIRE_PAIRMSG_H */
