/* core/folder/pieces.c: a large file's block list in pieces (docs/PROTOCOL.md §25), on the
 * receiving side: which pieces are wanted, reserved, held or stale; large files' turns at the
 * caps; a block list read from pieces held here, from any local file's record (blockidx) or
 * from what members sent.
 * Layer: core (folder). Third-party: none. SPDX-License-Identifier: MIT */
#include "core/folder/pieces.h"

#include "crypto/hash.h"

#include <stdlib.h>
#include <string.h>

typedef struct s_piece_ctx {
    pieces_t *ps;
    const blockidx_t *bi;
    size_t fetched;   /* pieces members sent */
    bool may_reserve; /* its turn (pieces_turn_t): it may reserve pieces not reserved yet */
    bool short_room;  /* a piece it lacks is not reserved */
} s_piece_ctx_t;

/* The pieces by hash (open addressing, linear probing), so that a pass over entries of
 * 1,536 pieces each costs a lookup per piece, not a walk of 4,096 slots. */
#define S_PIDX         8192u /* a power of two, twice PIECES_MAX */
#define S_TOMB         0xffffu
#define S_PIECES_ASKED 256u /* wanted pieces asked of members at a time (realize_wanted) */

static size_t
s_pidx_home(const uint8_t *hash)
{
    return ((size_t)hash[0] | (size_t)hash[1] << 8) & (S_PIDX - 1);
}

/* The slot of the piece named hash, or NULL. */
static pieces_piece_t *
s_pidx_find(const pieces_t *ps, const uint8_t *hash)
{
    for (size_t k = 0, at = s_pidx_home(hash); ps->pidx && k < S_PIDX; k++) {
        uint16_t v = ps->pidx[(at + k) & (S_PIDX - 1)];
        if (v == 0) {
            return NULL;
        }
        if (v != S_TOMB && memcmp(ps->pieces[v - 1].hash, hash, WIRE_FENTRY_HASH) == 0) {
            return &ps->pieces[v - 1];
        }
    }
    return NULL;
}

/* Index (put) or unindex (!put) slot s under its hash. */
static void
s_pidx_set(pieces_t *ps, const pieces_piece_t *s, bool put)
{
    uint16_t me = (uint16_t)(s - ps->pieces + 1);
    for (size_t k = 0, at = s_pidx_home(s->hash); k < S_PIDX; k++) {
        uint16_t *v = &ps->pidx[(at + k) & (S_PIDX - 1)];
        if (put ? (*v == 0 || *v == S_TOMB) : *v == me) {
            *v = put ? me : S_TOMB;
            return;
        }
        if (*v == 0) {
            return;
        }
    }
}

/* Index every slot again (after slots moved, and to clear the tombs). */
static void
s_pidx_build(pieces_t *ps)
{
    if (ps->pidx) {
        memset(ps->pidx, 0, S_PIDX * sizeof *ps->pidx);
        for (size_t i = 0; i < ps->npieces; i++) {
            s_pidx_set(ps, &ps->pieces[i], true);
        }
    }
}

/* A slot for a new wanted piece: a free one, else one whose piece went stale (given up
 * for it: a piece nobody sends holds no slot a real one needs), else NULL. */
static pieces_piece_t *
s_piece_slot(pieces_t *ps)
{
    if (ps->npieces < PIECES_MAX) {
        return &ps->pieces[ps->npieces++];
    }
    for (size_t k = 0; k < ps->npieces && ps->nstale; k++) {
        size_t i = (ps->stale_at + k) % ps->npieces;
        if (ps->pieces[i].stale) {
            ps->stale_at = i + 1;
            ps->nstale--;
            free(ps->pieces[i].data); /* (none: a stale piece holds no bytes) */
            s_pidx_set(ps, &ps->pieces[i], false);
            return &ps->pieces[i];
        }
    }
    return NULL;
}

/* wire_fentry_piece_fn: a piece from members held here, or from any local file's block list
 * (core/folder/blockidx); else it is wanted (while the caps allow: asked of members). */
static mesh_err_t
s_piece_get(void *ctx, const wire_fentry_piece_t *pc, uint8_t *buf, size_t cap, size_t *len)
{
    s_piece_ctx_t *pcx = ctx;
    pieces_t *ps = pcx->ps;
    pieces_piece_t *s = s_pidx_find(ps, pc->hash);
    if (s) {
        s->pass = ps->passes;
    }
    if (s && s->data && s->len <= cap) {
        memcpy(buf, s->data, s->len);
        *len = s->len;
        ((s_piece_ctx_t *)ctx)->fetched++;
        return MESH_OK;
    }
    if (blockidx_read(((s_piece_ctx_t *)ctx)->bi, pc->hash, buf, cap, len) == MESH_OK) {
        return MESH_OK; /* (checked against its hash by wire_fentry_expand) */
    }
    uint32_t need = WIRE_FENTRY_PIECE_SIZE(pc->nblocks);
    if (s && s->too_long && need <= s->cap) {
        return MESH_EPROTO; /* (what members sent under its name is longer than this piece) */
    }
    if (s && !s->too_long && !s->stale) {
        return MESH_ENOTFOUND; /* (asked for already) */
    }
    size_t held = s && !s->stale ? s->cap : 0;
    if (!pcx->may_reserve || ps->piece_bytes + need - held > PIECES_BYTES) {
        pcx->short_room = true;
        return MESH_ENOTFOUND; /* (asked for in its turn, or when others are in) */
    }
    if (s && s->stale && !s->too_long) { /* reserved again in its turn */
        s->stale = false;
        s->born = ps->fulls;
        ps->nstale--;
        ps->piece_bytes += s->cap;
        return MESH_ENOTFOUND;
    }
    if (!ps->pieces && !(ps->pieces = calloc(PIECES_MAX, sizeof *ps->pieces))) {
        return MESH_ENOMEM;
    }
    if (!ps->pidx && !(ps->pidx = calloc(S_PIDX, sizeof *ps->pidx))) {
        return MESH_ENOMEM;
    }
    bool indexed = s != NULL; /* (the same piece asked again under a larger cap) */
    if (s) {                  /* another entry lets it be longer: asked again under that cap */
        ps->piece_bytes -= held;
        ps->nstale -= s->stale;
    } else if (!(s = s_piece_slot(ps))) {
        pcx->short_room = true;
        return MESH_ENOTFOUND; /* (every slot taken by pieces not stale yet) */
    }
    memset(s, 0, sizeof *s);
    memcpy(s->hash, pc->hash, WIRE_FENTRY_HASH);
    s->cap = need;
    s->pass = ps->passes;
    s->born = ps->fulls;
    ps->piece_bytes += need;
    if (!indexed) {
        s_pidx_set(ps, s, true);
    }
    return MESH_ENOTFOUND;
}

/* At the end of a pass: drop the pieces it read into whole block lists (their files are
 * under way), and after a full pass (every path looked at) the pieces no path asked for.
 * A piece reserved before the previous full pass and still not read into its block list
 * (never sent, or its entry waits for others never sent) goes stale: its bytes are freed
 * and no longer count against PIECES_BYTES, its slot may go to a new piece; it stays
 * wanted, and is reserved again when it comes while there is room. So pieces nobody sends
 * hold the caps for one to two rescan periods, not for ever. */
void
pieces_trim(pieces_t *ps, bool full)
{
    size_t was = ps->npieces;
    ps->fulls += full;
    for (size_t i = 0; full && i < ps->nturns;) {
        pieces_turn_t *t = &ps->turns[i];
        if (t->pass != ps->passes) {
            *t = ps->turns[--ps->nturns]; /* (no path asks any more) */
            continue;
        }
        if (t->granted && t->since + 2 <= ps->fulls) { /* its turn is over: to the back */
            t->seq = ++ps->next_seq;
            t->granted = t->satisfied = false;
        }
        i++;
    }
    for (size_t i = 0; i < ps->npieces;) {
        pieces_piece_t *s = &ps->pieces[i];
        if ((s->data && s->used) || (full && s->pass != ps->passes)) {
            free(s->data);
            if (s->stale) {
                ps->nstale--;
            } else {
                ps->piece_bytes -= s->cap;
            }
            *s = ps->pieces[--ps->npieces];
            continue;
        }
        if (full && !s->stale && s->born + 2 <= ps->fulls) {
            free(s->data);
            s->data = NULL;
            s->len = 0;
            s->stale = true;
            ps->nstale++;
            ps->piece_bytes -= s->cap;
        }
        i++;
    }
    if (ps->npieces != was || full) {
        s_pidx_build(ps); /* (slots moved; a full pass clears the tombs too) */
    }
}

mesh_err_t
pieces_expand(pieces_t *ps, const blockidx_t *bi, const char *path, wire_fentry_t *e,
              size_t *fetched)
{
    *fetched = 0;
    uint8_t key[HASH_LEN];
    hash_tagged(HASH_TAG_KEY, path, strlen(path), key);
    pieces_turn_t *t = NULL;
    for (size_t i = 0; i < ps->nturns && !t; i++) {
        t = memcmp(ps->turns[i].key, key, sizeof ps->turns[i].key) == 0 ? &ps->turns[i] : NULL;
    }
    /* its turn: no path before it in the queue (asked at this pass or the last) lacks room */
    s_piece_ctx_t ctx = {ps, bi, 0, true, false};
    for (size_t i = 0; i < ps->nturns && ctx.may_reserve; i++) {
        const pieces_turn_t *o = &ps->turns[i];
        ctx.may_reserve =
            o == t || (t && o->seq > t->seq) || o->satisfied || o->pass + 1 < ps->passes;
    }
    mesh_err_t err = wire_fentry_expand(e, s_piece_get, &ctx);
    if (err == MESH_ENOTFOUND && !t) {
        if (ps->nturns == ps->turns_cap) {
            size_t cap = ps->turns_cap ? 2 * ps->turns_cap : 16;
            pieces_turn_t *v = realloc(ps->turns, cap * sizeof *v);
            if (!v) {
                return MESH_ENOMEM;
            }
            ps->turns = v;
            ps->turns_cap = cap;
        }
        t = &ps->turns[ps->nturns++];
        memset(t, 0, sizeof *t);
        memcpy(t->key, key, sizeof t->key);
        t->seq = ++ps->next_seq;
    }
    if (t && err == MESH_ENOTFOUND) {
        t->pass = ps->passes;
        t->satisfied = !ctx.short_room;
        if (ctx.may_reserve && !t->granted) {
            t->granted = true;
            t->since = ps->fulls;
        }
    } else if (t && err != MESH_ENOMEM) {
        *t = ps->turns[--ps->nturns]; /* (read, or refused) */
    }
    if (err == MESH_OK) {
        for (size_t k = 0; k < e->npieces; k++) { /* (read: dropped at the pass's end) */
            pieces_piece_t *s = s_pidx_find(ps, e->pieces[k].hash);
            if (s) {
                s->used = true;
            }
        }
        *fetched = ctx.fetched;
    }
    return err;
}

void
pieces_wanted(const pieces_t *ps, void (*fn)(void *ctx, const uint8_t *hash), void *ctx)
{
    /* pieces (§25): at most S_PIECES_ASKED at a time, the longest reserved first (by the
     * full pass that reserved them: a piece goes stale two full passes on, so none waits
     * longer than that behind others), none stale (asked again when its path has its turn):
     * so pieces nobody sends cannot crowd out the requests for blocks */
    size_t asked = 0;
    for (uint64_t born = 0, next; asked < S_PIECES_ASKED; born = next) {
        next = UINT64_MAX;
        for (size_t i = 0; i < ps->npieces; i++) {
            const pieces_piece_t *s = &ps->pieces[i];
            if (s->data || s->too_long || s->stale || s->born < born) {
                continue;
            }
            if (s->born == born && asked < S_PIECES_ASKED) {
                fn(ctx, s->hash);
                asked++;
            } else if (s->born > born && s->born < next) {
                next = s->born;
            }
        }
        if (next == UINT64_MAX) {
            break;
        }
    }
}

bool
pieces_block(pieces_t *ps, const uint8_t *hash, const uint8_t *data, size_t len)
{
    pieces_piece_t *s = s_pidx_find(ps, hash);
    if (s && !s->data && !s->too_long &&
        /* (a stale piece with no room for its bytes: it stays wanted) */
        !(s->stale && len <= s->cap && ps->piece_bytes + s->cap > PIECES_BYTES)) {
        s->too_long = len > s->cap; /* (not kept: its entry is refused at the next pass) */
        if (s->too_long || (s->data = malloc(len ? len : 1))) {
            if (s->data) {
                memcpy(s->data, data, len);
                s->len = (uint32_t)len;
            }
            if (s->data && s->stale) { /* (reserved again) */
                s->stale = false;
                s->born = ps->fulls;
                ps->nstale--;
                ps->piece_bytes += s->cap;
            }
            return true;
        }
    }
    return false;
}

void
pieces_pass(pieces_t *ps)
{
    ps->passes++;
}

void
pieces_release(pieces_t *ps)
{
    for (size_t i = 0; i < ps->npieces; i++) {
        free(ps->pieces[i].data);
    }
    free(ps->pieces);
    free(ps->pidx);
    free(ps->turns);
    memset(ps, 0, sizeof *ps);
}
