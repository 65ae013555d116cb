/* core/data/version.c: causal contexts, the winner rule and digest contributions.
 * Layer: core. Third-party: none. SPDX-License-Identifier: MIT */
#include "core/data/version.h"

#include <stdlib.h>
#include <string.h>

#include "crypto/hash.h"
#include "store/items.h"

void
version_ctx_init(version_ctx_t *ctx)
{
    memset(ctx, 0, sizeof *ctx);
}

void
version_ctx_release(version_ctx_t *ctx)
{
    if (!ctx) {
        return;
    }
    free(ctx->dots);
    memset(ctx, 0, sizeof *ctx);
}

void
version_ctx_reset(version_ctx_t *ctx)
{
    ctx->count = 0;
}

/* Compare by (origin, incarnation). */
static int
s_origin_cmp(const wire_dot_t *a, const wire_dot_t *b)
{
    int c = memcmp(a->origin, b->origin, WIRE_ORIGIN_LEN);
    if (c != 0) {
        return c;
    }
    return a->incarnation < b->incarnation ? -1 : a->incarnation > b->incarnation;
}

mesh_err_t
version_ctx_add(version_ctx_t *ctx, const wire_dot_t *dot)
{
    size_t i = 0;
    while (i < ctx->count && s_origin_cmp(&ctx->dots[i], dot) < 0) {
        i++;
    }
    if (i < ctx->count && s_origin_cmp(&ctx->dots[i], dot) == 0) {
        if (dot->seq > ctx->dots[i].seq) {
            ctx->dots[i].seq = dot->seq;
        }
        return MESH_OK;
    }
    if (ctx->count == WIRE_CTX_MAX) {
        return MESH_ETOOBIG;
    }
    if (ctx->count == ctx->cap) {
        size_t cap = ctx->cap ? ctx->cap * 2 : 8;
        wire_dot_t *d = realloc(ctx->dots, cap * sizeof *d);
        if (!d) {
            return MESH_ENOMEM;
        }
        ctx->dots = d;
        ctx->cap = cap;
    }
    memmove(&ctx->dots[i + 1], &ctx->dots[i], (ctx->count - i) * sizeof *ctx->dots);
    ctx->dots[i] = *dot;
    ctx->count++;
    return MESH_OK;
}

mesh_err_t
version_ctx_join_context(store_txn_t *txn, const store_version_t *v, version_ctx_t *ctx,
                         wire_dot_t *dot)
{
    wire_opmeta_t op;
    if (wire_opmeta_decode(v->meta, v->meta_len, &op) != MESH_OK) {
        return MESH_ECORRUPT;
    }
    mesh_err_t err = MESH_OK;
    for (size_t j = 0; j < op.ctx_count && err == MESH_OK; j++) {
        wire_ctx_get(&op, j, dot);
        err = version_ctx_add(ctx, dot);
    }
    if (err == MESH_OK) {
        err = store_origin_signed(txn, v->oid, dot->origin, &dot->incarnation);
    }
    dot->seq = v->seq;
    return err;
}

mesh_err_t
version_ctx_join_item(store_txn_t *txn, const store_item_t *item, version_ctx_t *ctx)
{
    for (size_t i = 0; i < item->count; i++) {
        wire_dot_t dot;
        mesh_err_t err = version_ctx_join_context(txn, &item->versions[i], ctx, &dot);
        if (err == MESH_OK) {
            err = version_ctx_add(ctx, &dot);
        }
        if (err != MESH_OK) {
            return err;
        }
    }
    return MESH_OK;
}

bool
version_ctx_covers(const version_ctx_t *ctx, const wire_dot_t *dot)
{
    for (size_t i = 0; i < ctx->count; i++) {
        if (s_origin_cmp(&ctx->dots[i], dot) == 0) {
            return dot->seq <= ctx->dots[i].seq;
        }
    }
    return false;
}

/* Is version a (with its origin) ordered after b? */
static bool
s_wins(const store_version_t *a, const wire_dot_t *da, const store_version_t *b,
       const wire_dot_t *db)
{
    if (a->hlc != b->hlc) {
        return a->hlc > b->hlc;
    }
    int c = s_origin_cmp(da, db);
    if (c != 0) {
        return c > 0;
    }
    if (a->seq != b->seq) {
        return a->seq > b->seq;
    }
    /* one dot signed twice (a fork, PROTOCOL.md §5.7): the op metadata bytes decide */
    size_t n = a->meta_len < b->meta_len ? a->meta_len : b->meta_len;
    int m = memcmp(a->meta, b->meta, n);
    return m != 0 ? m > 0 : a->meta_len > b->meta_len;
}

mesh_err_t
version_winner(store_txn_t *txn, const store_item_t *item, size_t *winner)
{
    wire_dot_t best, cur;
    *winner = 0;
    if (item->count <= 1) {
        return MESH_OK;
    }
    mesh_err_t err =
        store_origin_signed(txn, item->versions[0].oid, best.origin, &best.incarnation);
    for (size_t i = 1; i < item->count && err == MESH_OK; i++) {
        err = store_origin_signed(txn, item->versions[i].oid, cur.origin, &cur.incarnation);
        if (err == MESH_OK && s_wins(&item->versions[i], &cur, &item->versions[*winner], &best)) {
            *winner = i;
            best = cur;
        }
    }
    return err;
}

void
version_digest_base(const uint8_t *origin, uint64_t incarnation, uint8_t *out)
{
    uint8_t inc[8];
    hash_state_t st;
    for (int i = 0; i < 8; i++) {
        inc[i] = (uint8_t)(incarnation >> (8 * i));
    }
    hash_init(&st, HASH_TAG_DIGEST);
    hash_update(&st, origin, WIRE_ORIGIN_LEN);
    hash_update(&st, inc, sizeof inc);
    hash_final(&st, out);
}

void
version_digest_of_leaf(const uint8_t *base, const uint8_t *leaf, uint8_t *out)
{
    memcpy(out, base, HASH_LEN);
    version_digest_add(out, leaf, false);
}

void
version_digest_hash(const uint8_t *origin, uint64_t incarnation, const uint8_t *meta,
                    size_t meta_len, uint8_t *out)
{
    uint8_t base[HASH_LEN], leaf[HASH_LEN];
    version_digest_base(origin, incarnation, base);
    hash_tagged(HASH_TAG_LEAF, meta, meta_len, leaf);
    version_digest_of_leaf(base, leaf, out);
}

void
version_digest_add(uint8_t *digest, const uint8_t *h, bool subtract)
{
    for (int lane = 0; lane < 4; lane++) {
        uint64_t d = 0, x = 0;
        for (int i = 7; i >= 0; i--) {
            d = (d << 8) | digest[lane * 8 + i];
            x = (x << 8) | h[lane * 8 + i];
        }
        d = subtract ? d - x : d + x;
        for (int i = 0; i < 8; i++) {
            digest[lane * 8 + i] = (uint8_t)(d >> (8 * i));
        }
    }
}

void
version_digest_apply(uint8_t *digest, const uint8_t *origin, uint64_t incarnation,
                     const uint8_t *meta, size_t meta_len, bool subtract)
{
    uint8_t h[HASH_LEN];
    version_digest_hash(origin, incarnation, meta, meta_len, h);
    version_digest_add(digest, h, subtract);
}

mesh_err_t
version_digest_recount(store_txn_t *txn, uint32_t cid, uint8_t *digest)
{
    store_cursor_t *cur = NULL;
    store_item_t *dot = malloc(sizeof *dot);
    uint8_t origin[WIRE_ORIGIN_LEN], base[HASH_LEN], leaf[HASH_LEN], h[HASH_LEN];
    uint64_t seq = 0, inc = 0;
    uint32_t oid = 0;
    bool known = false;
    memset(digest, 0, HASH_LEN);
    mesh_err_t err = dot ? store_dots_open_coll(txn, cid, &cur) : MESH_ENOMEM;
    while (err == MESH_OK && (err = store_dots_next(cur, &seq, dot)) == MESH_OK) {
        const store_version_t *v = &dot->versions[0];
        if (!known || v->oid != oid) { /* (the dots of an origin come together) */
            err = store_origin_signed(txn, v->oid, origin, &inc);
            oid = v->oid;
            known = err == MESH_OK;
            if (known) {
                version_digest_base(origin, inc, base); /* (once per origin, not per dot) */
            }
        }
        if (err == MESH_OK) {
            hash_tagged(HASH_TAG_LEAF, v->meta, v->meta_len, leaf);
            version_digest_of_leaf(base, leaf, h);
            version_digest_add(digest, h, false);
        }
    }
    store_cursor_close(cur);
    free(dot);
    return err == MESH_ENOTFOUND ? MESH_OK : err;
}
