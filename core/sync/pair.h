/* core/sync/pair.h: one pairing attempt as a state machine (docs/PROTOCOL.md §15.4), on
 * either side: the initiator A (shows the code, `meshctl pair`) and the responder B (the code
 * typed in, `meshctl pair CODE`). Frames in, frames out through a send callback, no sockets.
 * Owns: the order of the messages, CPace's inputs from the code and the connection's keys,
 * checking the peer's AD against its connection key, tags before signatures, and whether a
 * failure burns the code. Not here: the bytes (core/wire/pairmsg.h), the cryptography
 * (crypto/cpace.h, crypto/pairkey.h), the listener, expiry and the records written after
 * (core/sync/pairrun.c).
 * Layer: core (sync). Third-party: none. SPDX-License-Identifier: MIT */
#ifndef MESH_CORE_SYNC_PAIR_H
#define MESH_CORE_SYNC_PAIR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/wire/pairmsg.h"
#include "crypto/ident.h"
#include "crypto/paircode.h"
#include "meshsync.h"

#define PAIR_KEY_LEN 32u /* a CURVE or Ed25519 key */

/* The pairing listener's CURVE key pair: fixed and public (§15.4), since the joining device
 * knows only the code and an address. CPace authenticates; the server key only encrypts. */
extern const uint8_t pair_listener_public[PAIR_KEY_LEN];
extern const uint8_t pair_listener_secret[PAIR_KEY_LEN];

typedef enum pair_role { PAIR_INITIATOR = 0, PAIR_RESPONDER = 1 } pair_role_t;

typedef enum pair_state {
    PAIR_WAIT_START,   /* A: waits for B's START */
    PAIR_WAIT_SHARE,   /* the peer's SHARE next */
    PAIR_WAIT_CONFIRM, /* the peer's first CONFIRM (its tag) next */
    PAIR_WAIT_SIG,     /* A: B's CONFIRM with its signature next */
    PAIR_VERIFIED,     /* A: B proved the code and its key: add it, then pair_send_result */
    PAIR_WAIT_RESULT,  /* B: A's RESULT next */
    PAIR_DONE,         /* paired */
    PAIR_FAILED        /* ended: pair_failure says why */
} pair_state_t;

/* Send one frame to the peer. MESH_OK or the transport's error. */
typedef mesh_err_t (*pair_send_fn)(void *ctx, const uint8_t *frame, size_t len);

typedef struct pair pair_t;

/* A new attempt. id: our identity (borrowed: it must outlive p). code: the code (copied).
 * server_curve: the CURVE key the listener serves (pair_listener_public unless a test says
 * otherwise). others: we already share a mesh with other devices. MESH_OK: *out is new;
 * errors: MESH_EINVAL, MESH_ENOMEM. */
MESH_NODISCARD mesh_err_t pair_new(pair_role_t role, const ident_t *id, const paircode_t *code,
                                   const uint8_t *server_curve, bool others, pair_send_fn send,
                                   void *send_ctx, pair_t **out);

/* Wipe and free; NULL is a no-op. */
void pair_free(pair_t *p);

/* B: send START (once, first). MESH_OK, MESH_ESTATE, or the send's error (the attempt fails). */
MESH_NODISCARD mesh_err_t pair_start(pair_t *p);

/* Take one frame from the peer whose connection key is peer_curve. A frame out of turn, one
 * that does not decode, a bad key, tag or signature ends the attempt (an ERROR goes to the
 * peer first, unless the frame was an ERROR). MESH_OK (go on; see pair_state), or the
 * failure's code (pair_failure says why; state PAIR_FAILED). */
MESH_NODISCARD mesh_err_t pair_on_frame(pair_t *p, const uint8_t *peer_curve, const uint8_t *data,
                                        size_t len);

/* A, in PAIR_VERIFIED: send RESULT (our name and the addresses B is to dial) and end
 * PAIR_DONE. MESH_OK, MESH_ESTATE, MESH_EINVAL (past a cap), the send's error. */
MESH_NODISCARD mesh_err_t pair_send_result(pair_t *p, const char *name, const char *const *addrs,
                                           size_t naddrs);

/* End the attempt here: send ERROR with reason and text to the peer (best effort) and fail. */
void pair_abort(pair_t *p, enum pair_reason reason, const char *text);

pair_state_t pair_state(const pair_t *p);

/* The peer's Ed25519 key (PAIR_KEY_LEN) once its SHARE was taken, else NULL. */
const uint8_t *pair_peer_key(const pair_t *p);

/* The peer's CURVE key of the connection (A: pinned at START), or NULL. */
const uint8_t *pair_peer_curve(const pair_t *p);

/* B after PAIR_DONE: A's name and addresses from its RESULT (copied into p). */
const char *pair_result_name(const pair_t *p);
size_t pair_result_naddrs(const pair_t *p);
const char *pair_result_addr(const pair_t *p, size_t i);

/* The peer said in START that it already shares a mesh with others (A only). */
bool pair_peer_others(const pair_t *p);

/* After PAIR_FAILED: the reason (enum pair_reason), whether the peer said it (ERROR) or we
 * found it, and a text for people; burnt: whether the code is used up (a guess was made or
 * could be: any failure after A's share went out). */
enum pair_reason pair_failure(const pair_t *p, bool *by_peer, const char **text);
bool pair_burnt(const pair_t *p);

#endif /* MESH_CORE_SYNC_PAIR_H */
