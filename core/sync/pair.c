/* core/sync/pair.c: one pairing attempt as a state machine (docs/PROTOCOL.md §15.4).
 * A: START in, SHARE out; SHARE in; CONFIRM (B's tag) in, CONFIRM (A's tag and signature)
 * out; CONFIRM (B's signature) in: verified, the caller adds B, then RESULT out.
 * B: START out; SHARE in, SHARE and CONFIRM (its tag) out; CONFIRM (A's tag and signature)
 * in, CONFIRM (its signature) out; RESULT in: done. Any failure: ERROR out, state FAILED.
 * Layer: core (sync). Third-party: none. SPDX-License-Identifier: MIT */
#include "core/sync/pair.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/wire/buf.h"
#include "crypto/cpace.h"
#include "crypto/pairkey.h"

/* The listener's key pair: secret = BLAKE2b-256("meshsync-pair-listener-v1"), public its
 * X25519 base-point multiple (tests/unit/test_pair.c checks that they belong together). */
const uint8_t pair_listener_secret[PAIR_KEY_LEN] = {
    0xa7, 0xc2, 0x47, 0xbe, 0xd9, 0xf1, 0x98, 0xd6, 0x12, 0x34, 0xb9, 0x6f, 0x55, 0xc6, 0x3b, 0x4f,
    0x3f, 0x78, 0x7d, 0x07, 0xf3, 0x03, 0xc0, 0x3b, 0x3f, 0x24, 0xb3, 0xab, 0xf2, 0xed, 0x3b, 0x4b};
const uint8_t pair_listener_public[PAIR_KEY_LEN] = {
    0x12, 0xc7, 0xd3, 0x1c, 0x7d, 0x86, 0x51, 0xb8, 0x38, 0xe1, 0x75, 0x92, 0x3a, 0x84, 0x2b, 0xbe,
    0xc6, 0x70, 0x52, 0xbb, 0x88, 0x24, 0xea, 0x8b, 0x61, 0x65, 0xf1, 0xdc, 0x69, 0x1a, 0x0d, 0x78};

struct pair {
    pair_role_t role;
    pair_state_t state;
    const ident_t *id;
    paircode_t code;
    uint8_t server_curve[PAIR_KEY_LEN];
    uint8_t own_curve[PAIR_KEY_LEN];
    bool others, peer_others;
    pair_send_fn send;
    void *send_ctx;
    cpace_t *cp;
    uint8_t nonce_a[PAIRKEY_NONCE_LEN], nonce_b[PAIRKEY_NONCE_LEN];
    uint8_t peer_curve[PAIR_KEY_LEN];
    bool has_peer_curve;
    uint8_t peer_ed[PAIR_KEY_LEN];
    bool has_peer_ed;
    bool share_sent; /* A: our share went out: from now on a failure burns the code */
    wire_buf_t buf;
    enum pair_reason reason;
    bool by_peer, burnt;
    char text[256];
    char name[PAIRMSG_NAME_MAX + 1];
    char addrs[PAIRMSG_ADDRS_MAX][PAIRMSG_ADDR_MAX + 1];
    size_t naddrs;
};

static mesh_err_t
s_reason_err(enum pair_reason r)
{
    switch (r) {
    case PAIR_REASON_WRONG_CODE:
        return MESH_EBADSIG;
    case PAIR_REASON_BUSY:
        return MESH_EBUSY;
    case PAIR_REASON_NAMEPLATE:
        return MESH_ENOTFOUND;
    case PAIR_REASON_MESHED:
        return MESH_EEXIST;
    case PAIR_REASON_EXPIRED:
        return MESH_ESTATE;
    case PAIR_REASON_INTERNAL:
        return MESH_EIO;
    default:
        return MESH_EPROTO;
    }
}

static mesh_err_t
s_send(pair_t *p, const pairmsg_t *msg)
{
    wire_buf_reset(&p->buf);
    mesh_err_t err = pairmsg_encode(msg, &p->buf);
    if (err == MESH_OK) {
        err = p->send(p->send_ctx, p->buf.data, p->buf.len);
    }
    return err;
}

/* Fail with reason; tell the peer unless it told us. Returns the reason's error. */
static mesh_err_t
s_fail(pair_t *p, enum pair_reason reason, bool by_peer, const char *text)
{
    if (p->state == PAIR_FAILED) {
        return s_reason_err(p->reason);
    }
    p->reason = reason;
    p->by_peer = by_peer;
    p->burnt = p->share_sent;
    snprintf(p->text, sizeof p->text, "%s", text ? text : pairmsg_reason_text(reason));
    if (!by_peer) {
        pairmsg_t e = {.type = PAIRMSG_ERROR, .reason = reason, .text = p->text};
        e.text_len = strlen(p->text) > PAIRMSG_TEXT_MAX ? PAIRMSG_TEXT_MAX : strlen(p->text);
        (void)s_send(p, &e);
    }
    p->state = PAIR_FAILED;
    cpace_free(p->cp);
    p->cp = NULL;
    return s_reason_err(reason);
}

mesh_err_t
pair_new(pair_role_t role, const ident_t *id, const paircode_t *code, const uint8_t *server_curve,
         bool others, pair_send_fn send, void *send_ctx, pair_t **out)
{
    *out = NULL;
    if (!id || !code || !server_curve || !send ||
        (role != PAIR_INITIATOR && role != PAIR_RESPONDER) || code->nameplate < 1 ||
        code->nameplate > PAIRCODE_NAMEPLATE_MAX) {
        return MESH_EINVAL;
    }
    pair_t *p = calloc(1, sizeof *p);
    if (!p) {
        return MESH_ENOMEM;
    }
    if (ident_curve_public(ident_public_key(id), p->own_curve) != MESH_OK) {
        free(p);
        return MESH_EINVAL;
    }
    p->role = role;
    p->state = role == PAIR_INITIATOR ? PAIR_WAIT_START : PAIR_WAIT_SHARE;
    p->id = id;
    p->code = *code;
    memcpy(p->server_curve, server_curve, PAIR_KEY_LEN);
    p->others = others;
    p->send = send;
    p->send_ctx = send_ctx;
    wire_buf_init(&p->buf);
    *out = p;
    return MESH_OK;
}

void
pair_free(pair_t *p)
{
    if (!p) {
        return;
    }
    cpace_free(p->cp);
    paircode_wipe(&p->code);
    wire_buf_release(&p->buf);
    free(p);
}

/* Start CPace in our role over sid = nonce_a || nonce_b and CI (nameplate, server key, the
 * responder's key), with our AD. */
static mesh_err_t
s_cpace(pair_t *p, const uint8_t *responder_curve)
{
    uint8_t prs[PAIRCODE_PRS_MAX], ci[PAIRKEY_CI_MAX], sid[PAIRKEY_SID_LEN], ad[PAIRKEY_AD_LEN];
    size_t ci_len = 0, prs_len = paircode_prs(&p->code, prs);
    pairkey_sid(p->nonce_a, p->nonce_b, sid);
    mesh_err_t err = pairkey_ci(p->code.nameplate, p->server_curve, responder_curve, ci, &ci_len);
    if (err == MESH_OK) {
        err = pairkey_ad_encode(ident_public_key(p->id), ad);
    }
    if (err == MESH_OK) {
        err = cpace_new(p->role == PAIR_INITIATOR ? CPACE_INITIATOR : CPACE_RESPONDER, prs, prs_len,
                        ci, ci_len, sid, sizeof sid, ad, sizeof ad, &p->cp);
    }
    ident_wipe(prs, sizeof prs);
    return err;
}

static mesh_err_t
s_send_share(pair_t *p)
{
    pairmsg_t m = {.type = PAIRMSG_SHARE};
    memcpy(m.nonce, p->role == PAIR_INITIATOR ? p->nonce_a : p->nonce_b, PAIRMSG_NONCE_LEN);
    memcpy(m.share, cpace_share(p->cp), PAIRMSG_SHARE_LEN);
    mesh_err_t err = pairkey_ad_encode(ident_public_key(p->id), m.ad);
    return err == MESH_OK ? s_send(p, &m) : err;
}

static mesh_err_t
s_send_confirm(pair_t *p, bool with_sig)
{
    pairmsg_t m = {.type = PAIRMSG_CONFIRM, .has_sig = with_sig};
    mesh_err_t err =
        pairkey_tag(p->cp, p->role == PAIR_INITIATOR ? CPACE_INITIATOR : CPACE_RESPONDER, m.tag);
    if (err == MESH_OK && with_sig) {
        err = pairkey_sign(p->cp, p->id, m.sig);
    }
    return err == MESH_OK ? s_send(p, &m) : err;
}

mesh_err_t
pair_start(pair_t *p)
{
    if (p->role != PAIR_RESPONDER || p->state != PAIR_WAIT_SHARE || p->has_peer_curve) {
        return MESH_ESTATE;
    }
    ident_random(p->nonce_b, sizeof p->nonce_b);
    pairmsg_t m = {.type = PAIRMSG_START,
                   .version = PAIRMSG_VERSION,
                   .nameplate = p->code.nameplate,
                   .others = p->others};
    memcpy(m.nonce, p->nonce_b, PAIRMSG_NONCE_LEN);
    p->has_peer_curve = true; /* B's peer is the listener it connected to */
    memcpy(p->peer_curve, p->server_curve, PAIR_KEY_LEN);
    mesh_err_t err = s_send(p, &m);
    return err == MESH_OK ? MESH_OK : s_fail(p, PAIR_REASON_INTERNAL, false, "cannot send START");
}

/* A: B's START. */
static mesh_err_t
s_on_start(pair_t *p, const pairmsg_t *m)
{
    if (m->version != PAIRMSG_VERSION) {
        return s_fail(p, PAIR_REASON_VERSION, false, NULL);
    }
    if (m->nameplate != p->code.nameplate) {
        return s_fail(p, PAIR_REASON_NAMEPLATE, false, NULL);
    }
    p->peer_others = m->others;
    if (p->others && m->others) {
        return s_fail(p, PAIR_REASON_MESHED, false, NULL);
    }
    memcpy(p->nonce_b, m->nonce, PAIRKEY_NONCE_LEN);
    ident_random(p->nonce_a, sizeof p->nonce_a);
    if (s_cpace(p, p->peer_curve) != MESH_OK) {
        return s_fail(p, PAIR_REASON_INTERNAL, false, "cannot start CPace");
    }
    p->share_sent = true; /* from here on, any failure burns the code */
    if (s_send_share(p) != MESH_OK) {
        return s_fail(p, PAIR_REASON_INTERNAL, false, "cannot send SHARE");
    }
    p->state = PAIR_WAIT_SHARE;
    return MESH_OK;
}

/* Either side: the peer's SHARE. */
static mesh_err_t
s_on_share(pair_t *p, const pairmsg_t *m)
{
    uint8_t ed[PAIR_KEY_LEN], curve[PAIR_KEY_LEN];
    if (pairkey_ad_decode(m->ad, sizeof m->ad, ed, curve) != MESH_OK) {
        return s_fail(p, PAIR_REASON_PROTOCOL, false, "a malformed AD");
    }
    /* A checks that B's AD names the key its connection authenticated; B cannot (the
     * listener's key is public), and relies on A's signature. */
    if (p->role == PAIR_INITIATOR && (memcmp(curve, p->peer_curve, PAIR_KEY_LEN) != 0 ||
                                      memcmp(m->nonce, p->nonce_b, PAIRKEY_NONCE_LEN) != 0)) {
        return s_fail(p, PAIR_REASON_PROTOCOL, false,
                      "its AD or nonce is not the one of its connection");
    }
    if (memcmp(ed, ident_public_key(p->id), PAIR_KEY_LEN) == 0) {
        return s_fail(p, PAIR_REASON_PROTOCOL, false, "the peer is this device itself");
    }
    memcpy(p->peer_ed, ed, PAIR_KEY_LEN);
    p->has_peer_ed = true;
    if (p->role == PAIR_RESPONDER) {
        memcpy(p->nonce_a, m->nonce, PAIRKEY_NONCE_LEN);
        if (s_cpace(p, p->own_curve) != MESH_OK) {
            return s_fail(p, PAIR_REASON_INTERNAL, false, "cannot start CPace");
        }
    }
    if (cpace_finish(p->cp, m->share, sizeof m->share, m->ad, sizeof m->ad) != MESH_OK) {
        return s_fail(p, PAIR_REASON_PROTOCOL, false, "an invalid CPace share");
    }
    if (p->role == PAIR_RESPONDER &&
        (s_send_share(p) != MESH_OK || s_send_confirm(p, false) != MESH_OK)) {
        return s_fail(p, PAIR_REASON_INTERNAL, false, "cannot send SHARE");
    }
    p->state = PAIR_WAIT_CONFIRM;
    return MESH_OK;
}

/* The peer's CONFIRM: its tag first (a wrong one: the codes differ), then its signature
 * (ours goes out only after its tag checked). */
static mesh_err_t
s_on_confirm(pair_t *p, const pairmsg_t *m)
{
    bool want_sig = p->state == PAIR_WAIT_SIG || p->role == PAIR_RESPONDER;
    if (m->has_sig != want_sig) {
        return s_fail(p, PAIR_REASON_PROTOCOL, false, "a CONFIRM out of turn");
    }
    if (pairkey_check(p->cp, m->tag, sizeof m->tag) != MESH_OK) {
        return s_fail(p, PAIR_REASON_WRONG_CODE, false, NULL);
    }
    if (want_sig && pairkey_verify(p->cp, m->sig, sizeof m->sig) != MESH_OK) {
        return s_fail(p, PAIR_REASON_PROTOCOL, false, "its signature does not verify");
    }
    if (p->role == PAIR_INITIATOR && p->state == PAIR_WAIT_CONFIRM) {
        if (s_send_confirm(p, true) != MESH_OK) {
            return s_fail(p, PAIR_REASON_INTERNAL, false, "cannot send CONFIRM");
        }
        p->state = PAIR_WAIT_SIG;
    } else if (p->role == PAIR_INITIATOR) {
        p->state = PAIR_VERIFIED;
    } else {
        if (s_send_confirm(p, true) != MESH_OK) {
            return s_fail(p, PAIR_REASON_INTERNAL, false, "cannot send CONFIRM");
        }
        p->state = PAIR_WAIT_RESULT;
    }
    return MESH_OK;
}

/* B: A's RESULT. */
static mesh_err_t
s_on_result(pair_t *p, const pairmsg_t *m)
{
    if (memcmp(m->key, p->peer_ed, PAIR_KEY_LEN) != 0) {
        return s_fail(p, PAIR_REASON_PROTOCOL, false, "a RESULT for another key");
    }
    memcpy(p->name, m->name, m->name_len);
    p->name[m->name_len] = '\0';
    for (size_t i = 0; i < m->naddrs; i++) {
        memcpy(p->addrs[i], m->addrs[i], m->addr_lens[i]);
        p->addrs[i][m->addr_lens[i]] = '\0';
    }
    p->naddrs = m->naddrs;
    p->state = PAIR_DONE;
    cpace_free(p->cp);
    p->cp = NULL;
    return MESH_OK;
}

mesh_err_t
pair_on_frame(pair_t *p, const uint8_t *peer_curve, const uint8_t *data, size_t len)
{
    pairmsg_t m;
    if (p->state == PAIR_DONE || p->state == PAIR_FAILED || p->state == PAIR_VERIFIED) {
        return MESH_ESTATE;
    }
    if (p->role == PAIR_INITIATOR && p->state == PAIR_WAIT_START) {
        memcpy(p->peer_curve, peer_curve, PAIR_KEY_LEN);
        p->has_peer_curve = true;
    } else if (!p->has_peer_curve || memcmp(peer_curve, p->peer_curve, PAIR_KEY_LEN) != 0) {
        return MESH_EUNPAIRED; /* another connection's frame: not this attempt's */
    }
    if (pairmsg_decode(data, len, &m) != MESH_OK) {
        return s_fail(p, PAIR_REASON_PROTOCOL, false, "a malformed pairing message");
    }
    if (m.type == PAIRMSG_ERROR) {
        char text[256];
        snprintf(text, sizeof text, "the other device: %s", pairmsg_reason_text(m.reason));
        return s_fail(p, (enum pair_reason)m.reason, true, text);
    }
    switch (p->state) {
    case PAIR_WAIT_START:
        if (m.type == PAIRMSG_START) {
            return s_on_start(p, &m);
        }
        break;
    case PAIR_WAIT_SHARE:
        if (m.type == PAIRMSG_SHARE) {
            return s_on_share(p, &m);
        }
        break;
    case PAIR_WAIT_CONFIRM:
    case PAIR_WAIT_SIG:
        if (m.type == PAIRMSG_CONFIRM) {
            return s_on_confirm(p, &m);
        }
        break;
    case PAIR_WAIT_RESULT:
        if (m.type == PAIRMSG_RESULT) {
            return s_on_result(p, &m);
        }
        break;
    default:
        break;
    }
    return s_fail(p, PAIR_REASON_PROTOCOL, false, "a pairing message out of turn");
}

mesh_err_t
pair_send_result(pair_t *p, const char *name, const char *const *addrs, size_t naddrs)
{
    if (p->role != PAIR_INITIATOR || p->state != PAIR_VERIFIED) {
        return MESH_ESTATE;
    }
    pairmsg_t m = {.type = PAIRMSG_RESULT, .name = name, .name_len = name ? strlen(name) : 0};
    memcpy(m.key, ident_public_key(p->id), PAIR_KEY_LEN);
    if (naddrs > PAIRMSG_ADDRS_MAX || m.name_len > PAIRMSG_NAME_MAX) {
        return MESH_EINVAL;
    }
    for (size_t i = 0; i < naddrs; i++) {
        m.addrs[i] = addrs[i];
        m.addr_lens[i] = strlen(addrs[i]);
    }
    m.naddrs = naddrs;
    mesh_err_t err = s_send(p, &m);
    cpace_free(p->cp);
    p->cp = NULL;
    p->state = PAIR_DONE; /* B is added whether or not the RESULT reaches it */
    return err;
}

void
pair_abort(pair_t *p, enum pair_reason reason, const char *text)
{
    (void)s_fail(p, reason, false, text);
}

pair_state_t
pair_state(const pair_t *p)
{
    return p->state;
}

const uint8_t *
pair_peer_key(const pair_t *p)
{
    return p->has_peer_ed ? p->peer_ed : NULL;
}

const uint8_t *
pair_peer_curve(const pair_t *p)
{
    return p->has_peer_curve ? p->peer_curve : NULL;
}

const char *
pair_result_name(const pair_t *p)
{
    return p->name;
}

size_t
pair_result_naddrs(const pair_t *p)
{
    return p->naddrs;
}

const char *
pair_result_addr(const pair_t *p, size_t i)
{
    return i < p->naddrs ? p->addrs[i] : NULL;
}

bool
pair_peer_others(const pair_t *p)
{
    return p->peer_others;
}

enum pair_reason
pair_failure(const pair_t *p, bool *by_peer, const char **text)
{
    if (by_peer) {
        *by_peer = p->by_peer;
    }
    if (text) {
        *text = p->text;
    }
    return p->reason;
}

bool
pair_burnt(const pair_t *p)
{
    return p->burnt;
}
