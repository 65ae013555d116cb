/* core/wire/ctlmsg.c: the control socket's requests and replies (docs/PROTOCOL.md §21)
 * and their strict decoders. Each message is one msgpack array led by the version.
 * Layer: core/wire. Third-party: msgpack.h (through cursor.h). SPDX-License-Identifier: MIT */
#include "core/wire/ctlmsg.h"

#include "core/wire/cursor.h"

#include <string.h>

/* The elements of a request's array of kind (version, id and kind included); 0: unknown. */
static size_t
s_req_arity(uint64_t kind)
{
    switch (kind) {
    case CTLMSG_PING:
        return 3;
    case CTLMSG_STATUS:
    case CTLMSG_WATCH:
        return 4;
    case CTLMSG_WAIT:
        return 6;
    default:
        return 0;
    }
}

/* Is this collection name one a request may carry: 1..MESH_COLL_MAX bytes, no NUL? */
static bool
s_name_ok(const char *p, size_t len)
{
    return p && len >= 1 && len <= MESH_COLL_MAX && !memchr(p, '\0', len);
}

mesh_err_t
ctlmsg_req_encode(const ctlmsg_req_t *req, wire_buf_t *out)
{
    size_t n = s_req_arity(req->kind);
    if (n == 0 || req->id > CTLMSG_ID_MAX ||
        (req->kind == CTLMSG_WAIT &&
         (req->timeout_ms > CTLMSG_WAIT_MS_MAX || req->peers > CTLMSG_PEERS_MAX ||
          req->ncolls > CTLMSG_COLLS_MAX))) {
        return MESH_EINVAL;
    }
    for (size_t i = 0; req->kind == CTLMSG_WAIT && i < req->ncolls; i++) {
        if (!s_name_ok(req->colls[i], req->coll_lens[i])) {
            return MESH_EINVAL;
        }
    }
    size_t start = out->len;
    msgpack_packer pk;
    wire_pack_init(&pk, out);
    int rc = msgpack_pack_array(&pk, n);
    rc |= msgpack_pack_uint64(&pk, CTLMSG_VERSION);
    rc |= msgpack_pack_uint64(&pk, req->id);
    rc |= msgpack_pack_uint64(&pk, req->kind);
    if (req->kind == CTLMSG_STATUS || req->kind == CTLMSG_WATCH) {
        rc |= msgpack_pack_uint64(&pk, req->min_txnid);
    } else if (req->kind == CTLMSG_WAIT) {
        rc |= msgpack_pack_uint64(&pk, req->timeout_ms);
        rc |= msgpack_pack_uint64(&pk, req->peers);
        rc |= msgpack_pack_array(&pk, req->ncolls);
        for (size_t i = 0; i < req->ncolls; i++) {
            rc |= msgpack_pack_str_with_body(&pk, req->colls[i], req->coll_lens[i]);
        }
    }
    mesh_err_t err = wire_pack_done(out, start, rc);
    if (err == MESH_OK && out->len - start > CTLMSG_REQUEST_MAX) {
        out->len = start;
        err = MESH_EINVAL;
    }
    return err;
}

/* An unsigned integer of at most max: MESH_OK, MESH_EPROTO, MESH_ETOOBIG. */
static mesh_err_t
s_uint_max(wire_cursor_t *c, uint64_t max, uint64_t *v)
{
    mesh_err_t err = wire_cursor_uint(c, v);
    return err == MESH_OK && *v > max ? MESH_ETOOBIG : err;
}

static mesh_err_t
s_wait_body(wire_cursor_t *c, ctlmsg_req_t *req)
{
    size_t n = 0;
    mesh_err_t err = s_uint_max(c, CTLMSG_WAIT_MS_MAX, &req->timeout_ms);
    if (err == MESH_OK) {
        err = s_uint_max(c, CTLMSG_PEERS_MAX, &req->peers);
    }
    if (err == MESH_OK) {
        err = wire_cursor_len(c, WIRE_ARRAY, &n);
    }
    if (err == MESH_OK && n > CTLMSG_COLLS_MAX) {
        err = MESH_ETOOBIG;
    }
    for (size_t i = 0; err == MESH_OK && i < n; i++) {
        const uint8_t *p = NULL;
        err = wire_cursor_bytes(c, WIRE_STR, MESH_COLL_MAX, &p, &req->coll_lens[i]);
        req->colls[i] = (const char *)p;
        if (err == MESH_OK && !s_name_ok(req->colls[i], req->coll_lens[i])) {
            err = MESH_EPROTO;
        }
        req->ncolls = i + 1;
    }
    return err;
}

mesh_err_t
ctlmsg_req_decode(const uint8_t *buf, size_t len, ctlmsg_req_t *req)
{
    memset(req, 0, sizeof *req);
    if (len > CTLMSG_REQUEST_MAX) {
        return MESH_ETOOBIG;
    }
    wire_cursor_t c = {buf, buf + len};
    size_t n = 0;
    uint64_t version = 0, id = 0, kind = 0;
    bool have_id = false;
    mesh_err_t err = wire_cursor_len(&c, WIRE_ARRAY, &n);
    if (err == MESH_OK) {
        err = wire_cursor_uint(&c, &version);
    }
    if (err == MESH_OK && (n < 3 || version != CTLMSG_VERSION)) {
        err = MESH_EPROTO;
    }
    if (err == MESH_OK) {
        err = s_uint_max(&c, CTLMSG_ID_MAX, &id);
        have_id = err == MESH_OK;
    }
    if (err == MESH_OK) {
        err = wire_cursor_uint(&c, &kind);
    }
    if (err == MESH_OK && (s_req_arity(kind) == 0 || n != s_req_arity(kind))) {
        err = MESH_EPROTO;
    }
    req->kind = kind;
    if (err == MESH_OK && (kind == CTLMSG_STATUS || kind == CTLMSG_WATCH)) {
        err = wire_cursor_uint(&c, &req->min_txnid);
    } else if (err == MESH_OK && kind == CTLMSG_WAIT) {
        err = s_wait_body(&c, req);
    }
    if (err == MESH_OK && wire_cursor_left(&c) != 0) {
        err = MESH_EPROTO;
    }
    if (err != MESH_OK) {
        memset(req, 0, sizeof *req);
        req->id = have_id ? id : 0;
        return err;
    }
    req->id = id;
    return MESH_OK;
}

mesh_err_t
ctlmsg_reply_encode(uint64_t kind, const ctlmsg_reply_t *rep, wire_buf_t *out)
{
    bool error = rep->code != MESH_OK;
    if (rep->id > CTLMSG_ID_MAX || (!error && s_req_arity(kind) == 0) ||
        ((error || kind == CTLMSG_PING) &&
         (rep->text_len > CTLMSG_TEXT_MAX || (rep->text_len && !rep->text)))) {
        return MESH_EINVAL;
    }
    size_t start = out->len;
    msgpack_packer pk;
    wire_pack_init(&pk, out);
    size_t n = error ? 4 : kind == CTLMSG_PING ? 6 : kind == CTLMSG_WAIT ? 6 : 4;
    int rc = msgpack_pack_array(&pk, n);
    rc |= msgpack_pack_uint64(&pk, CTLMSG_VERSION);
    rc |= msgpack_pack_uint64(&pk, rep->id);
    rc |= msgpack_pack_uint64(&pk, rep->code);
    if (error || kind == CTLMSG_PING) {
        rc |= msgpack_pack_str_with_body(&pk, rep->text ? rep->text : "", rep->text_len);
    }
    if (!error && kind == CTLMSG_PING) {
        rc |= msgpack_pack_uint64(&pk, rep->pid);
        rc |= msgpack_pack_uint64(&pk, rep->proto);
    } else if (!error && kind == CTLMSG_STATUS) {
        rc |= wire_pack_bin(&pk, rep->status, rep->status_len);
    } else if (!error && kind == CTLMSG_WATCH) {
        rc |= msgpack_pack_uint64(&pk, rep->txnid);
    } else if (!error) {
        rc |= msgpack_pack_uint64(&pk, rep->in_sync ? 1 : 0);
        rc |= msgpack_pack_uint64(&pk, rep->connected);
        rc |= msgpack_pack_uint64(&pk, rep->synced);
    }
    return wire_pack_done(out, start, rc);
}

static mesh_err_t
s_text(wire_cursor_t *c, ctlmsg_reply_t *rep)
{
    const uint8_t *p = NULL;
    mesh_err_t err = wire_cursor_bytes(c, WIRE_STR, CTLMSG_TEXT_MAX, &p, &rep->text_len);
    rep->text = (const char *)p;
    return err;
}

static mesh_err_t
s_reply_body(wire_cursor_t *c, uint64_t kind, ctlmsg_reply_t *rep)
{
    uint64_t v = 0;
    mesh_err_t err = MESH_OK;
    if (rep->code != MESH_OK) {
        return s_text(c, rep);
    }
    switch (kind) {
    case CTLMSG_PING:
        err = s_text(c, rep);
        if (err == MESH_OK) {
            err = s_uint_max(c, INT32_MAX, &rep->pid);
        }
        if (err == MESH_OK) {
            err = wire_cursor_uint(c, &rep->proto);
        }
        return err;
    case CTLMSG_STATUS:
        return wire_cursor_bytes(c, WIRE_BIN, SIZE_MAX, &rep->status, &rep->status_len);
    case CTLMSG_WATCH:
        return wire_cursor_uint(c, &rep->txnid);
    default: /* CTLMSG_WAIT */
        err = s_uint_max(c, 1, &v);
        rep->in_sync = v == 1;
        if (err == MESH_OK) {
            err = wire_cursor_uint(c, &rep->connected);
        }
        if (err == MESH_OK) {
            err = wire_cursor_uint(c, &rep->synced);
        }
        if (err == MESH_OK && rep->synced > rep->connected) {
            err = MESH_EPROTO;
        }
        return err;
    }
}

mesh_err_t
ctlmsg_reply_decode(uint64_t kind, const uint8_t *buf, size_t len, ctlmsg_reply_t *rep)
{
    memset(rep, 0, sizeof *rep);
    wire_cursor_t c = {buf, buf + len};
    size_t n = 0;
    uint64_t version = 0;
    mesh_err_t err = s_req_arity(kind) ? wire_cursor_len(&c, WIRE_ARRAY, &n) : MESH_EPROTO;
    if (err == MESH_OK) {
        err = wire_cursor_uint(&c, &version);
    }
    if (err == MESH_OK && version != CTLMSG_VERSION) {
        err = MESH_EPROTO;
    }
    if (err == MESH_OK) {
        err = s_uint_max(&c, CTLMSG_ID_MAX, &rep->id);
    }
    if (err == MESH_OK) {
        err = s_uint_max(&c, MESH_ERR_LAST + 1000u, &rep->code); /* (a newer daemon's codes) */
    }
    size_t want = rep->code == MESH_OK && (kind == CTLMSG_PING || kind == CTLMSG_WAIT) ? 6 : 4;
    if (err == MESH_OK && n != want) {
        err = MESH_EPROTO;
    }
    if (err == MESH_OK) {
        err = s_reply_body(&c, kind, rep);
    }
    if (err == MESH_OK && wire_cursor_left(&c) != 0) {
        err = MESH_EPROTO;
    }
    if (err != MESH_OK) {
        memset(rep, 0, sizeof *rep);
    }
    return err;
}
