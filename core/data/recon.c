/* core/data/recon.c: the slow path's engine (docs/PROTOCOL.md §13): a snapshot of a
 * collection's items with prefix sums of their fingerprint shares, so that any range's
 * fingerprint is one subtraction, and the answer to a range list, walked once alongside
 * the snapshot.
 * Layer: core/data. Third-party: none. SPDX-License-Identifier: MIT */
#include "core/data/recon.h"

#include <stdlib.h>
#include <string.h>

#include "core/wire/range.h"
#include "crypto/hash.h"

struct recon_set {
    size_t n, cap;
    uint64_t *sum;   /* n + 1 prefix sums: sum[i] = the shares of items [0, i), mod 2^64 */
    uint64_t *id;    /* n ids */
    size_t *key_off; /* n + 1 offsets into keys */
    uint8_t *keys;   /* the stored keys, back to back */
    size_t keys_len, keys_cap;
};

struct recon {
    const recon_set_t *set;
    uint8_t *send; /* a bit per item: to send to the peer */
    size_t send_count;
    unsigned rounds;
    bool done;
};

static uint64_t
s_le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) {
        v = (v << 8) | p[i];
    }
    return v;
}

static void
s_put_le64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) {
        p[i] = (uint8_t)(v >> (8 * i));
    }
}

/* ---- the snapshot ---- */

mesh_err_t
recon_set_new(recon_set_t **out)
{
    *out = NULL;
    recon_set_t *s = calloc(1, sizeof *s);
    if (!s) {
        return MESH_ENOMEM;
    }
    s->sum = calloc(1, sizeof *s->sum);
    s->key_off = calloc(1, sizeof *s->key_off);
    if (!s->sum || !s->key_off) {
        recon_set_free(s);
        return MESH_ENOMEM;
    }
    *out = s;
    return MESH_OK;
}

void
recon_set_free(recon_set_t *s)
{
    if (!s) {
        return;
    }
    free(s->sum);
    free(s->id);
    free(s->key_off);
    free(s->keys);
    free(s);
}

size_t
recon_set_count(const recon_set_t *s)
{
    return s->n;
}

void
recon_set_key(const recon_set_t *s, size_t i, const uint8_t **key, size_t *key_len)
{
    *key = s->keys + s->key_off[i];
    *key_len = s->key_off[i + 1] - s->key_off[i];
}

/* Grow the per-item arrays to hold one more item. */
static mesh_err_t
s_grow_to(recon_set_t *s, size_t cap)
{
    uint64_t *sum = realloc(s->sum, (cap + 1) * sizeof *sum);
    if (sum) {
        s->sum = sum;
    }
    uint64_t *id = sum ? realloc(s->id, cap * sizeof *id) : NULL;
    if (id) {
        s->id = id;
    }
    size_t *off = id ? realloc(s->key_off, (cap + 1) * sizeof *off) : NULL;
    if (!off) {
        return MESH_ENOMEM;
    }
    s->key_off = off;
    s->cap = cap;
    return MESH_OK;
}

static mesh_err_t
s_grow(recon_set_t *s)
{
    return s_grow_to(s, s->cap ? s->cap * 2 : 1024);
}

/* Make room for n items and key_bytes of keys at once (a scan knows the count ahead):
 * growing by doubling copies and faults in the arrays several times over. */
static mesh_err_t
s_reserve(recon_set_t *s, size_t n, size_t key_bytes)
{
    if (s->cap < n && s_grow_to(s, n) != MESH_OK) {
        return MESH_ENOMEM;
    }
    if (key_bytes > s->keys_cap) {
        uint8_t *keys = realloc(s->keys, key_bytes);
        if (!keys) {
            return MESH_ENOMEM;
        }
        s->keys = keys;
        s->keys_cap = key_bytes;
    }
    return MESH_OK;
}

mesh_err_t
recon_set_add(recon_set_t *s, const uint8_t *key, size_t key_len, const uint8_t *hash)
{
    if (key_len == 0 || key_len > WIRE_RANGE_BOUND_MAX) {
        return MESH_EINVAL;
    }
    if (s->n) {
        const uint8_t *last = NULL;
        size_t last_len = 0;
        recon_set_key(s, s->n - 1, &last, &last_len);
        if (wire_range_cmp(last, last_len, key, key_len) >= 0) {
            return MESH_EINVAL;
        }
    }
    if (s->n == s->cap && s_grow(s) != MESH_OK) {
        return MESH_ENOMEM;
    }
    if (s->keys_len + key_len > s->keys_cap) {
        size_t cap = s->keys_cap ? s->keys_cap * 2 : 16384;
        while (cap < s->keys_len + key_len) {
            cap *= 2;
        }
        uint8_t *keys = realloc(s->keys, cap);
        if (!keys) {
            return MESH_ENOMEM;
        }
        s->keys = keys;
        s->keys_cap = cap;
    }
    memcpy(s->keys + s->keys_len, key, key_len);
    s->keys_len += key_len;
    s->key_off[s->n + 1] = s->keys_len;
    s->sum[s->n + 1] = s->sum[s->n] + s_le64(hash);
    s->id[s->n] = s_le64(hash + 8);
    s->n++;
    return MESH_OK;
}

#define S_DOT_LEN 48u /* origin 32, incarnation le64, seq le64 */

static int
s_dot_cmp(const void *a, const void *b)
{
    return memcmp(a, b, S_DOT_LEN); /* le64 fields: any fixed order serves, the same everywhere */
}

void
recon_item_hash(const uint8_t *key, const uint8_t *skey, size_t skey_len, uint8_t *dots,
                size_t count, uint8_t *scratch, uint8_t *hash)
{
    if (count > 1) {
        qsort(dots, count, S_DOT_LEN, s_dot_cmp);
    }
    scratch[0] = HASH_TAG_RECON;
    scratch[1] = (uint8_t)skey_len;
    scratch[2] = (uint8_t)(skey_len >> 8);
    memcpy(scratch + 3, skey, skey_len);
    memcpy(scratch + 3 + skey_len, dots, count * S_DOT_LEN);
    hash_short(key, scratch, 3 + skey_len + count * S_DOT_LEN, hash);
}

/* The origins of a scan, by local number: looked up once each. */
typedef struct s_origins {
    uint8_t (*dev)[32 + 8]; /* device, incarnation le64 */
    uint8_t *known;
    size_t cap;
} s_origins_t;

static mesh_err_t
s_origin(store_txn_t *txn, s_origins_t *o, uint32_t oid, uint8_t *out)
{
    if (oid >= o->cap) {
        size_t cap = o->cap ? o->cap : 64;
        while (cap <= oid) {
            cap *= 2;
        }
        void *dev = realloc(o->dev, cap * sizeof *o->dev);
        if (!dev) {
            return MESH_ENOMEM;
        }
        o->dev = dev;
        uint8_t *known = realloc(o->known, cap);
        if (!known) {
            return MESH_ENOMEM;
        }
        memset(known + o->cap, 0, cap - o->cap);
        o->known = known;
        o->cap = cap;
    }
    if (!o->known[oid]) {
        uint64_t inc = 0;
        mesh_err_t err = store_origin_get(txn, oid, o->dev[oid], &inc);
        if (err != MESH_OK) {
            return err;
        }
        s_put_le64(o->dev[oid] + 32, inc);
        o->known[oid] = 1;
    }
    memcpy(out, o->dev[oid], 40);
    return MESH_OK;
}

mesh_err_t
recon_set_load(store_txn_t *txn, uint32_t cid, const uint8_t *key, recon_set_t **out)
{
    recon_set_t *s = NULL;
    store_cursor_t *cur = NULL;
    s_origins_t o = {0};
    uint8_t *dots = malloc(STORE_SIBLINGS_MAX * S_DOT_LEN + RECON_SCRATCH_LEN);
    *out = NULL;
    store_coll_stats_t stats;
    mesh_err_t err = dots ? recon_set_new(&s) : MESH_ENOMEM;
    if (err == MESH_OK) {
        err = store_coll_stats_get(txn, cid, &stats);
    }
    if (err == MESH_OK && stats.keys < SIZE_MAX / 64) {
        /* the keys the stats count, and 32 bytes each to start with */
        err = s_reserve(s, (size_t)stats.keys + 1, (size_t)stats.keys * 32 + 1);
    }
    if (err == MESH_OK) {
        err = store_refs_open(txn, cid, &cur);
    }
    while (err == MESH_OK) {
        const uint8_t *skey = NULL, *refs = NULL;
        size_t skey_len = 0, count = 0;
        uint8_t hash[RECON_HASH_LEN];
        err = store_refs_next(cur, &skey, &skey_len, &refs, &count);
        if (err == MESH_OK && skey_len > WIRE_RANGE_BOUND_MAX) {
            err = MESH_ECORRUPT;
        }
        for (size_t i = 0; err == MESH_OK && i < count; i++) {
            uint32_t oid = 0;
            uint64_t seq = 0;
            store_ref_get(refs, i, &oid, &seq);
            err = s_origin(txn, &o, oid, dots + i * S_DOT_LEN);
            s_put_le64(dots + i * S_DOT_LEN + 40, seq);
        }
        if (err == MESH_OK) {
            recon_item_hash(key, skey, skey_len, dots, count, dots + STORE_SIBLINGS_MAX * S_DOT_LEN,
                            hash);
            err = recon_set_add(s, skey, skey_len, hash);
            err = err == MESH_EINVAL ? MESH_ECORRUPT : err;
        }
    }
    store_cursor_close(cur);
    free(o.dev);
    free(o.known);
    free(dots);
    if (err != MESH_ENOTFOUND) {
        recon_set_free(s);
        return err;
    }
    *out = s;
    return MESH_OK;
}

/* ---- one repair ---- */

mesh_err_t
recon_new(const recon_set_t *set, recon_t **out)
{
    *out = NULL;
    recon_t *r = calloc(1, sizeof *r);
    if (r) {
        r->send = calloc(set->n / 8 + 1, 1);
    }
    if (!r || !r->send) {
        recon_free(r);
        return MESH_ENOMEM;
    }
    r->set = set;
    *out = r;
    return MESH_OK;
}

void
recon_free(recon_t *r)
{
    if (!r) {
        return;
    }
    free(r->send);
    free(r);
}

bool
recon_done(const recon_t *r)
{
    return r->done;
}

size_t
recon_send_count(const recon_t *r)
{
    return r->send_count;
}

bool
recon_sends(const recon_t *r, size_t i)
{
    return i < r->set->n && (r->send[i / 8] >> (i % 8) & 1);
}

unsigned
recon_rounds(const recon_t *r)
{
    return r->rounds;
}

static void
s_mark(recon_t *r, size_t i)
{
    if (!(r->send[i / 8] >> (i % 8) & 1)) {
        r->send[i / 8] |= (uint8_t)(1u << (i % 8));
        r->send_count++;
    }
}

/* The answer being written: a run of settled ranges becomes one SKIP entry, written when
 * something else follows or at the end. */
typedef struct s_out {
    wire_range_writer_t w;
    size_t entries;
    bool asks;      /* an FP or IDS entry went in: the peer is to answer */
    bool skip;      /* a SKIP is pending, up to: */
    bool skip_last; /* the end of the key space, or */
    uint8_t skip_bound[WIRE_RANGE_BOUND_MAX];
    size_t skip_len;
} s_out_t;

static mesh_err_t
s_emit(s_out_t *o, wire_range_t *e)
{
    mesh_err_t err = MESH_OK;
    if (e->mode == WIRE_RANGE_SKIP) {
        o->skip = true;
        o->skip_last = e->last;
        o->skip_len = e->bound_len;
        if (e->bound_len) {
            memcpy(o->skip_bound, e->bound, e->bound_len); /* the reader's copy moves on */
        }
        return MESH_OK;
    }
    if (o->skip) {
        wire_range_t s = {.mode = WIRE_RANGE_SKIP,
                          .last = o->skip_last,
                          .bound = o->skip_bound,
                          .bound_len = o->skip_len};
        err = wire_range_put(&o->w, &s);
        o->skip = false;
        o->entries++;
    }
    if (err == MESH_OK) {
        err = wire_range_put(&o->w, e);
        o->entries++;
        o->asks |= e->mode == WIRE_RANGE_FP || e->mode == WIRE_RANGE_IDS;
    }
    return err;
}

static mesh_err_t
s_flush(s_out_t *o)
{
    if (!o->skip) {
        return MESH_OK;
    }
    wire_range_t s = {.mode = WIRE_RANGE_SKIP,
                      .last = o->skip_last,
                      .bound = o->skip_bound,
                      .bound_len = o->skip_len};
    o->skip = false;
    o->entries++;
    return wire_range_put(&o->w, &s);
}

/* The fingerprint of items [lo, hi) into fp. */
static void
s_fp(const recon_set_t *s, size_t lo, size_t hi, uint8_t *fp)
{
    s_put_le64(fp, s->sum[hi] - s->sum[lo]);
}

/* The first item at or after lo whose key is not below bound. */
static size_t
s_lower_bound(const recon_set_t *s, size_t lo, const uint8_t *bound, size_t bound_len)
{
    size_t hi = s->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const uint8_t *k = NULL;
        size_t k_len = 0;
        recon_set_key(s, mid, &k, &k_len);
        if (wire_range_cmp(k, k_len, bound, bound_len) < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

/* The ids of items [lo, hi) (at most RECON_LEAF) as one IDS entry over bound. */
static mesh_err_t
s_emit_ids(s_out_t *o, const recon_set_t *s, size_t lo, size_t hi, const wire_range_t *over)
{
    uint8_t ids[RECON_LEAF * WIRE_RANGE_ID_LEN];
    for (size_t i = lo; i < hi; i++) {
        s_put_le64(ids + (i - lo) * WIRE_RANGE_ID_LEN, s->id[i]);
    }
    wire_range_t e = {.mode = WIRE_RANGE_IDS,
                      .last = over->last,
                      .bound = over->bound,
                      .bound_len = over->bound_len,
                      .ids = ids,
                      .count = hi - lo};
    return s_emit(o, &e);
}

/* Cut items [lo, hi) (more than RECON_LEAF) into RECON_BRANCH fingerprinted ranges; the
 * last ends where over ends. Each inner bound is the shortest prefix of a part's first
 * key that sorts above the key before it. */
static mesh_err_t
s_emit_split(s_out_t *o, const recon_set_t *s, size_t lo, size_t hi, const wire_range_t *over)
{
    size_t c = hi - lo, base = c / RECON_BRANCH, rem = c % RECON_BRANCH, start = lo;
    mesh_err_t err = MESH_OK;
    for (size_t j = 0; j < RECON_BRANCH && err == MESH_OK; j++) {
        size_t end = start + base + (j < rem);
        uint8_t fp[WIRE_RANGE_FP_LEN];
        wire_range_t e = {.mode = WIRE_RANGE_FP, .ids = fp};
        s_fp(s, start, end, fp);
        if (j == RECON_BRANCH - 1) {
            e.last = over->last;
            e.bound = over->bound;
            e.bound_len = over->bound_len;
        } else {
            const uint8_t *a = NULL, *b = NULL;
            size_t a_len = 0, b_len = 0, common = 0;
            recon_set_key(s, end - 1, &a, &a_len);
            recon_set_key(s, end, &b, &b_len);
            while (common < a_len && common < b_len && a[common] == b[common]) {
                common++;
            }
            e.bound = b;
            e.bound_len = common + 1; /* b is longer than the common part: it sorts above a */
        }
        err = s_emit(o, &e);
        start = end;
    }
    return err;
}

static int
s_u64_cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* The peer's ids (count of them at p), sorted, into ids; their number. */
static size_t
s_sorted_ids(const uint8_t *p, size_t count, uint64_t *ids)
{
    for (size_t i = 0; i < count; i++) {
        ids[i] = s_le64(p + i * WIRE_RANGE_ID_LEN);
    }
    qsort(ids, count, sizeof *ids, s_u64_cmp);
    return count;
}

/* Is id among ids[0..n) (sorted)? Its index, or n. */
static size_t
s_find(const uint64_t *ids, size_t n, uint64_t id)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (ids[mid] < id) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo < n && ids[lo] == id ? lo : n;
}

/* The peer's IDS entry over items [lo, hi): ours that it lacks go to it; its ids we do
 * not hold are asked for in a NEED entry. */
static mesh_err_t
s_on_ids(recon_t *r, s_out_t *o, size_t lo, size_t hi, const wire_range_t *in)
{
    uint64_t ids[WIRE_RANGE_IDS_MAX];
    bool matched[WIRE_RANGE_IDS_MAX] = {false};
    uint8_t need[WIRE_RANGE_IDS_MAX * WIRE_RANGE_ID_LEN];
    size_t n = s_sorted_ids(in->ids, in->count, ids), nneed = 0;
    for (size_t i = lo; i < hi; i++) {
        size_t at = s_find(ids, n, r->set->id[i]);
        if (at == n) {
            s_mark(r, i);
        }
        for (; at < n && ids[at] == r->set->id[i]; at++) {
            matched[at] = true;
        }
    }
    for (size_t k = 0; k < n; k++) {
        if (!matched[k] && (k == 0 || ids[k] != ids[k - 1])) {
            s_put_le64(need + nneed++ * WIRE_RANGE_ID_LEN, ids[k]);
        }
    }
    wire_range_t e = {.mode = nneed ? WIRE_RANGE_NEED : WIRE_RANGE_SKIP,
                      .last = in->last,
                      .bound = in->bound,
                      .bound_len = in->bound_len,
                      .ids = need,
                      .count = nneed};
    return s_emit(o, &e);
}

/* The peer's NEED entry over items [lo, hi): those of ours it names go to it. */
static void
s_on_need(recon_t *r, size_t lo, size_t hi, const wire_range_t *in)
{
    uint64_t ids[WIRE_RANGE_IDS_MAX];
    size_t n = s_sorted_ids(in->ids, in->count, ids);
    for (size_t i = lo; i < hi; i++) {
        if (s_find(ids, n, r->set->id[i]) < n) {
            s_mark(r, i);
        }
    }
}

/* The peer's FP entry over items [lo, hi). */
static mesh_err_t
s_on_fp(recon_t *r, s_out_t *o, size_t lo, size_t hi, const wire_range_t *in)
{
    const recon_set_t *s = r->set;
    uint8_t fp[WIRE_RANGE_FP_LEN];
    s_fp(s, lo, hi, fp);
    wire_range_t e = {
        .mode = WIRE_RANGE_SKIP, .last = in->last, .bound = in->bound, .bound_len = in->bound_len};
    if (memcmp(fp, in->ids, WIRE_RANGE_FP_LEN) == 0) {
        return s_emit(o, &e);
    }
    if (hi - lo <= RECON_LEAF) {
        return s_emit_ids(o, s, lo, hi, in);
    }
    if (o->entries + RECON_BRANCH + 1 > WIRE_RANGE_MAX) {
        /* This answer is full: our fingerprint of the whole range, which the peer splits */
        e.mode = WIRE_RANGE_FP;
        e.ids = fp;
        return s_emit(o, &e);
    }
    return s_emit_split(o, s, lo, hi, in);
}

mesh_err_t
recon_start(recon_t *r, wire_buf_t *out)
{
    size_t start = out->len;
    s_out_t o = {0};
    wire_range_writer_init(&o.w, out);
    wire_range_t all = {.last = true};
    mesh_err_t err = r->set->n <= RECON_LEAF ? s_emit_ids(&o, r->set, 0, r->set->n, &all)
                                             : s_emit_split(&o, r->set, 0, r->set->n, &all);
    if (err != MESH_OK) {
        out->len = start;
    }
    return err;
}

mesh_err_t
recon_answer(recon_t *r, const uint8_t *in, size_t len, wire_buf_t *out, bool *send)
{
    size_t start = out->len, lo = 0;
    s_out_t o = {0};
    wire_range_writer_init(&o.w, out);
    wire_range_reader_t rd;
    bool asked = false, end = false;
    *send = false;
    if (++r->rounds > RECON_ROUNDS_MAX) {
        return MESH_ETOOBIG;
    }
    wire_range_reader_init(&rd, in, len);
    mesh_err_t err = MESH_OK;
    while (err == MESH_OK) {
        wire_range_t e;
        err = wire_range_next(&rd, &e, &end);
        if (err != MESH_OK || end) {
            break;
        }
        size_t hi = e.last ? r->set->n : s_lower_bound(r->set, lo, e.bound, e.bound_len);
        asked |= e.mode == WIRE_RANGE_FP || e.mode == WIRE_RANGE_IDS;
        switch (e.mode) {
        case WIRE_RANGE_FP:
            err = s_on_fp(r, &o, lo, hi, &e);
            break;
        case WIRE_RANGE_IDS:
            err = s_on_ids(r, &o, lo, hi, &e);
            break;
        default: /* SKIP, or NEED: what it names goes, and the range is settled */
            if (e.mode == WIRE_RANGE_NEED) {
                s_on_need(r, lo, hi, &e);
            }
            e.mode = WIRE_RANGE_SKIP;
            err = s_emit(&o, &e);
            break;
        }
        lo = hi;
    }
    if (err == MESH_OK && !rd.count) {
        err = MESH_EPROTO; /* an empty list */
    }
    if (err == MESH_OK) {
        err = s_flush(&o);
    }
    if (err != MESH_OK) {
        out->len = start;
        return err;
    }
    *send = asked;
    r->done = !o.asks;
    if (!asked) {
        out->len = start; /* nothing to answer */
    }
    return MESH_OK;
}
