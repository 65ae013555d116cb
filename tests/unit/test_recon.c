/* tests/unit/test_recon.c: the slow path's engine (core/data/recon.c) and its range lists
 * (core/wire/range.c), on two snapshots in one process.
 * - test_recon_model_random: two sides built from one universe of items with random
 *   differences (items only one side holds, items both hold with other versions), random
 *   key shapes (short, long, shared prefixes, keys that are prefixes of others); the sides
 *   answer each other's range lists until both are done. Must hold: each side marks to send
 *   exactly its items that the other lacks or holds otherwise, both end done, and the rounds
 *   and bytes stay within a bound that grows with the difference and the log of the size.
 *   MESH_TEST_SEEDS: how many seeds (default 300, 20 under valgrind); MESH_TEST_SEED: the first
 * (default 1; alone, it runs just that one). A failure prints the seed.
 * - the named cases: equal sides settle in one round trip of a few bytes; an empty side;
 *   malformed and over-cap range lists are refused and change nothing; the round cap; the
 *   RANGE and REPAIR messages (core/wire/msg.c) round-trip, and malformed ones are refused.
 * Layer: tests. Third-party: cmocka. SPDX-License-Identifier: MIT */
#include "core/data/recon.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/wire/msg.h"
#include "core/wire/range.h"
#include "util.h"

/* ---- a universe of items ---- */

typedef struct s_item {
    uint8_t key[WIRE_RANGE_BOUND_MAX];
    size_t key_len;
    uint8_t hash_a[RECON_HASH_LEN], hash_b[RECON_HASH_LEN];
    bool in_a, in_b;
} s_item_t;

static uint64_t
s_rand(uint64_t *st)
{
    /* splitmix64 */
    uint64_t z = (*st += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static void
s_rand_bytes(uint64_t *st, uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        p[i] = (uint8_t)s_rand(st);
    }
}

static int
s_item_cmp(const void *a, const void *b)
{
    const s_item_t *x = a, *y = b;
    return wire_range_cmp(x->key, x->key_len, y->key, y->key_len);
}

/* A key of a random shape. */
static void
s_make_key(uint64_t *st, s_item_t *it)
{
    switch (s_rand(st) % 5) {
    case 0: /* short random bytes, 0x00 and 0xff included */
        it->key_len = 1 + s_rand(st) % 4;
        s_rand_bytes(st, it->key, it->key_len);
        break;
    case 1: /* a long key (a stored key may be 432 bytes) */
        it->key_len = 300 + s_rand(st) % (WIRE_RANGE_BOUND_MAX - 299);
        memset(it->key, 'p', it->key_len);
        s_rand_bytes(st, it->key + it->key_len - 8, 8);
        break;
    default: /* "user/NNNNNN" and its prefixes: shared prefixes, keys that prefix others */
        it->key_len = (size_t)snprintf((char *)it->key, sizeof it->key, "user/%06llu",
                                       (unsigned long long)(s_rand(st) % 100000));
        it->key_len -= s_rand(st) % 4 == 0 ? s_rand(st) % 5 : 0;
        break;
    }
}

/* n items, sorted, unique keys; each difference kind with probability rate/1000. */
static size_t
s_universe(uint64_t *st, s_item_t *items, size_t n, unsigned rate)
{
    for (size_t i = 0; i < n; i++) {
        s_make_key(st, &items[i]);
    }
    qsort(items, n, sizeof *items, s_item_cmp);
    size_t u = 0;
    for (size_t i = 0; i < n; i++) {
        if (u && s_item_cmp(&items[u - 1], &items[i]) == 0) {
            continue;
        }
        s_item_t *it = &items[u++];
        if (it != &items[i]) {
            memcpy(it, &items[i], sizeof *it);
        }
        s_rand_bytes(st, it->hash_a, RECON_HASH_LEN);
        memcpy(it->hash_b, it->hash_a, RECON_HASH_LEN);
        it->in_a = it->in_b = true;
        unsigned r = (unsigned)(s_rand(st) % 3000);
        if (r < rate) {
            it->in_a = false;
        } else if (r < 2 * rate) {
            it->in_b = false;
        } else if (r < 3 * rate) {
            s_rand_bytes(st, it->hash_b, RECON_HASH_LEN); /* other versions of the key */
        }
    }
    return u;
}

static recon_set_t *
s_side(const s_item_t *items, size_t n, bool b)
{
    recon_set_t *s = NULL;
    CHECK_OK(recon_set_new(&s));
    for (size_t i = 0; i < n; i++) {
        if (b ? items[i].in_b : items[i].in_a) {
            CHECK_OK(recon_set_add(s, items[i].key, items[i].key_len,
                                   b ? items[i].hash_b : items[i].hash_a));
        }
    }
    return s;
}

/* Run a repair between a (initiator) and b: *rounds lists sent, *bytes their bytes. */
static void
s_run(recon_t *ra, recon_t *rb, unsigned *rounds, size_t *bytes)
{
    wire_buf_t msg, ans;
    wire_buf_init(&msg);
    wire_buf_init(&ans);
    CHECK_OK(recon_start(ra, &msg));
    *rounds = 1;
    *bytes = msg.len;
    recon_t *to = rb;
    for (;;) {
        bool send = false;
        wire_buf_reset(&ans);
        CHECK_OK(recon_answer(to, msg.data, msg.len, &ans, &send));
        if (!send) {
            CHECK_EQ(ans.len, 0);
            break;
        }
        (*rounds)++;
        *bytes += ans.len;
        CHECK(*rounds < 200);
        wire_buf_t t = msg;
        msg = ans;
        ans = t;
        to = to == ra ? rb : ra;
    }
    CHECK(recon_done(ra));
    CHECK(recon_done(rb));
    wire_buf_release(&msg);
    wire_buf_release(&ans);
}

/* Side b's (or a's) marks: exactly its items the other lacks or holds otherwise. */
static size_t
s_check_marks(const s_item_t *items, size_t n, const recon_t *r, bool b)
{
    size_t k = 0, diff = 0;
    for (size_t i = 0; i < n; i++) {
        const s_item_t *it = &items[i];
        if (!(b ? it->in_b : it->in_a)) {
            continue;
        }
        bool other = b ? it->in_a : it->in_b;
        bool differs = !other || memcmp(it->hash_a, it->hash_b, RECON_HASH_LEN) != 0;
        if (recon_sends(r, k) != differs) {
            snprintf(util_where, sizeof util_where, "side %c item %zu (%.*s): sends %d, differs %d",
                     b ? 'b' : 'a', k, (int)(it->key_len < 40 ? it->key_len : 40), it->key,
                     recon_sends(r, k), differs);
        }
        CHECK_EQ(recon_sends(r, k), differs);
        diff += differs;
        k++;
    }
    CHECK_EQ(recon_send_count(r), diff);
    return diff;
}

/* What any list may cost beside its differing items: the first list's RECON_BRANCH
 * fingerprints or RECON_LEAF ids, and a run of long keys (they share 300 bytes here) whose
 * first bound is written whole. */
#define S_BASE_BYTES (RECON_BRANCH * 24 + RECON_LEAF * 8 + 2 * WIRE_RANGE_BOUND_MAX)

static unsigned
s_log16(size_t n)
{
    unsigned l = 0;
    while (n > 1) {
        n = (n + 15) / 16;
        l++;
    }
    return l;
}

static void
s_model_seed(unsigned seed)
{
    uint64_t st = 0x7ec0000ull + seed;
    size_t n = seed % 10 == 0 ? 20000 : (size_t)(s_rand(&st) % 4000);
    unsigned rate = seed % 7 == 0 ? 1000 : (unsigned)(s_rand(&st) % 30); /* of 3000 */
    s_item_t *items = calloc(n ? n : 1, sizeof *items);
    CHECK(items);
    n = s_universe(&st, items, n, rate);
    recon_set_t *a = s_side(items, n, false), *b = s_side(items, n, true);
    recon_t *ra = NULL, *rb = NULL;
    CHECK_OK(recon_new(a, &ra));
    CHECK_OK(recon_new(b, &rb));
    unsigned rounds = 0;
    size_t bytes = 0;
    snprintf(util_where, sizeof util_where, "seed %u (n %zu, rate %u)", seed, n, rate);
    s_run(ra, rb, &rounds, &bytes);
    size_t d = s_check_marks(items, n, ra, false) + s_check_marks(items, n, rb, true);
    /* Bounded by the difference: beside what any list costs, each differing item costs
     * about one split (RECON_BRANCH fingerprints of a short bound and 8 bytes) and its
     * leaf's ids; twice that is the bound, whatever the size. */
    unsigned levels = s_log16(n) + 1;
    size_t bound = S_BASE_BYTES * rounds + d * 2 * (RECON_BRANCH * 12 + RECON_LEAF * 8);
    if (getenv("MESH_TEST_VERBOSE")) {
        printf("seed %u: n %zu, %zu differ, %u rounds, %zu bytes (bound %zu)\n", seed, n, d, rounds,
               bytes, bound);
    }
    snprintf(util_where, sizeof util_where,
             "seed %u (n %zu, rate %u): %zu differ, %u rounds, %zu bytes", seed, n, rate, d, rounds,
             bytes);
    CHECK(bytes <= bound);
    CHECK(rounds <= 2 * levels + 3);
    if (d == 0) {
        CHECK(rounds <= 2); /* equal: the first list and its all-settled answer */
    }
    util_where[0] = '\0';
    recon_free(ra);
    recon_free(rb);
    recon_set_free(a);
    recon_set_free(b);
    free(items);
}

static void
test_recon_model_random(void **state)
{
    (void)state;
    /* Under valgrind (its preload is in LD_PRELOAD) the default is 20 seeds, not 300. */
    const char *preload = getenv("LD_PRELOAD");
    const char *one = getenv("MESH_TEST_SEED"), *many = getenv("MESH_TEST_SEEDS");
    unsigned first = 1, count = preload && strstr(preload, "vgpreload") ? 20 : 300;
    if (one && *one) {
        first = (unsigned)strtoul(one, NULL, 10);
        count = 1;
    }
    if (many && *many) {
        count = (unsigned)strtoul(many, NULL, 10);
    }
    for (unsigned s = first; s < first + count; s++) {
        s_model_seed(s);
    }
}

/* Two equal sides: the first list, and an answer of one SKIP over everything. */
static void
test_recon_equal_one_round_trip(void **state)
{
    (void)state;
    uint64_t st = 42;
    size_t n = 10000;
    s_item_t *items = calloc(n, sizeof *items);
    CHECK(items);
    n = s_universe(&st, items, n, 0);
    recon_set_t *a = s_side(items, n, false), *b = s_side(items, n, true);
    recon_t *ra = NULL, *rb = NULL;
    CHECK_OK(recon_new(a, &ra));
    CHECK_OK(recon_new(b, &rb));
    wire_buf_t msg, ans;
    wire_buf_init(&msg);
    wire_buf_init(&ans);
    CHECK_OK(recon_start(ra, &msg));
    CHECK(msg.len < S_BASE_BYTES);
    bool send = false;
    CHECK_OK(recon_answer(rb, msg.data, msg.len, &ans, &send));
    CHECK(send);
    CHECK_EQ(ans.len, 1); /* SKIP to the end: its head, 0x04 */
    CHECK(recon_done(rb));
    wire_buf_reset(&msg);
    CHECK_OK(recon_answer(ra, ans.data, ans.len, &msg, &send));
    CHECK(!send);
    CHECK(recon_done(ra));
    CHECK_EQ(recon_send_count(ra) + recon_send_count(rb), 0);
    wire_buf_release(&msg);
    wire_buf_release(&ans);
    recon_free(ra);
    recon_free(rb);
    recon_set_free(a);
    recon_set_free(b);
    free(items);
}

/* One side empty (either one starting): everything goes to it, nothing comes back. */
static void
test_recon_empty_side(void **state)
{
    (void)state;
    for (int who = 0; who < 2; who++) {
        uint64_t st = 7;
        size_t n = 5000;
        s_item_t *items = calloc(n, sizeof *items);
        CHECK(items);
        n = s_universe(&st, items, n, 0);
        for (size_t i = 0; i < n; i++) {
            items[i].in_b = false;
        }
        recon_set_t *a = s_side(items, n, false), *b = s_side(items, n, true);
        recon_t *ra = NULL, *rb = NULL;
        CHECK_OK(recon_new(a, &ra));
        CHECK_OK(recon_new(b, &rb));
        unsigned rounds = 0;
        size_t bytes = 0;
        if (who == 0) {
            s_run(ra, rb, &rounds, &bytes);
        } else {
            s_run(rb, ra, &rounds, &bytes);
        }
        CHECK_EQ(recon_send_count(ra), n);
        CHECK_EQ(recon_send_count(rb), 0);
        CHECK(rounds <= 3);
        recon_free(ra);
        recon_free(rb);
        recon_set_free(a);
        recon_set_free(b);
        free(items);
    }
}

/* A list that is malformed or past a cap is refused, the answer buffer is left as it was,
 * and nothing is marked. */
static void
test_recon_malformed(void **state)
{
    (void)state;
    static const struct {
        const char *what;
        uint8_t bytes[24];
        size_t len;
        mesh_err_t err;
    } bad[] = {
        {"empty", {0}, 0, MESH_EPROTO},
        {"no end of the key space", {0x00, 0xc4, 0x01, 'a'}, 4, MESH_EPROTO},
        {"bounds not rising", {0x00, 0xc4, 0x01, 'b', 0x00, 0xc4, 0x01, 'a', 0x04}, 9, MESH_EPROTO},
        {"an empty bound", {0x00, 0xc4, 0x00, 0x04}, 4, MESH_EPROTO},
        {"more shared than the bound before", {0x08, 0xc4, 0x01, 'a', 0x04}, 5, MESH_EPROTO},
        {"a shared length not whole",
         {0x00, 0xc4, 0x02, 'a', 'b', 0x00, 0xc4, 0x02, 'a', 'c', 0x04},
         11,
         MESH_EPROTO},
        {"bytes after the end", {0x04, 0x00}, 2, MESH_EPROTO},
        {"the end of the key space with a shared length", {0x0c}, 1, MESH_EPROTO},
        {"a short fingerprint", {0x05, 0xcc, 0x01}, 3, MESH_EPROTO},
        {"ids not of 8 bytes", {0x06, 0xc4, 0x03, 1, 2, 3}, 6, MESH_EPROTO},
        {"a NEED of no id", {0x07, 0xc4, 0x00}, 3, MESH_EPROTO},
        {"a long uint form", {0xcc, 0x04}, 2, MESH_EPROTO},
    };
    uint8_t hash[RECON_HASH_LEN] = {1};
    recon_set_t *s = NULL;
    CHECK_OK(recon_set_new(&s));
    CHECK_OK(recon_set_add(s, (const uint8_t *)"a", 1, hash));
    CHECK_EQ(recon_set_add(s, (const uint8_t *)"a", 1, hash), MESH_EINVAL); /* not rising */
    CHECK_EQ(recon_set_add(s, (const uint8_t *)"", 0, hash), MESH_EINVAL);
    wire_buf_t out;
    wire_buf_init(&out);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        recon_t *r = NULL;
        bool send = true;
        CHECK_OK(recon_new(s, &r));
        CHECK_OK(wire_buf_append(&out, "x", 1));
        snprintf(util_where, sizeof util_where, "%s", bad[i].what);
        CHECK_EQ(recon_answer(r, bad[i].bytes, bad[i].len, &out, &send), bad[i].err);
        CHECK_EQ(out.len, 1);
        CHECK(!send);
        CHECK_EQ(recon_send_count(r), 0);
        wire_buf_reset(&out);
        recon_free(r);
    }
    util_where[0] = '\0';
    /* Too many ids in one entry, and too many entries. */
    wire_buf_t big;
    wire_buf_init(&big);
    static uint8_t ids[(WIRE_RANGE_IDS_MAX + 1) * WIRE_RANGE_ID_LEN];
    static const uint8_t hdr[] = {0x06, 0xc5, 0x08, 0x08}; /* IDS to the end, bin16 of 2056 */
    CHECK(sizeof ids == 0x808);
    CHECK_OK(wire_buf_append(&big, hdr, sizeof hdr));
    CHECK_OK(wire_buf_append(&big, ids, sizeof ids));
    recon_t *r = NULL;
    bool send = false;
    CHECK_OK(recon_new(s, &r));
    CHECK_EQ(recon_answer(r, big.data, big.len, &out, &send), MESH_ETOOBIG);
    recon_free(r);
    wire_buf_reset(&big);
    wire_range_writer_t w;
    wire_range_writer_init(&w, &big);
    for (uint32_t i = 0; i <= WIRE_RANGE_MAX; i++) {
        uint8_t b[4] = {(uint8_t)(i >> 24), (uint8_t)(i >> 16), (uint8_t)(i >> 8), (uint8_t)i};
        wire_range_t e = {.mode = WIRE_RANGE_SKIP, .bound = b, .bound_len = sizeof b};
        CHECK_OK(wire_range_put(&w, &e));
    }
    wire_range_t fin = {.mode = WIRE_RANGE_SKIP, .last = true};
    CHECK_OK(wire_range_put(&w, &fin));
    CHECK_OK(recon_new(s, &r));
    CHECK_EQ(recon_answer(r, big.data, big.len, &out, &send), MESH_ETOOBIG);
    recon_free(r);
    /* The round cap: a peer that keeps asking is cut off. */
    static const uint8_t ask[] = {0x06, 0xc4, 0x00}; /* IDS of nothing, to the end */
    CHECK_OK(recon_new(s, &r));
    mesh_err_t err = MESH_OK;
    unsigned k = 0;
    for (; k <= RECON_ROUNDS_MAX && err == MESH_OK; k++) {
        wire_buf_reset(&out);
        err = recon_answer(r, ask, sizeof ask, &out, &send);
    }
    CHECK_EQ(err, MESH_ETOOBIG);
    CHECK_EQ(k, RECON_ROUNDS_MAX + 1);
    recon_free(r);
    wire_buf_release(&big);
    wire_buf_release(&out);
    recon_set_free(s);
}

/* RANGE and REPAIR round-trip through the session encoding; a wrong digest length, an
 * empty collection name or a missing element is malformed. */
static void
test_recon_messages(void **state)
{
    (void)state;
    uint8_t digest[WIRE_DIGEST_LEN] = {9, 8, 7}, key[WIRE_HASH_KEY_LEN] = {5};
    static const uint8_t list[] = {0x04, 0x00};
    wire_buf_t b;
    wire_buf_init(&b);
    wire_msg_t in = {.type = WIRE_MSG_RANGE,
                     .num = 77,
                     .coll = "notes",
                     .coll_len = 5,
                     .digest = digest,
                     .hash_key = key,
                     .body = list,
                     .body_len = sizeof list};
    wire_msg_t out;
    CHECK_OK(wire_msg_encode(&in, &b));
    CHECK_OK(wire_msg_decode(b.data, b.len, &out));
    CHECK_EQ(out.type, WIRE_MSG_RANGE);
    CHECK_EQ(out.num, 77);
    CHECK(out.coll_len == 5 && memcmp(out.coll, "notes", 5) == 0);
    CHECK(out.digest && memcmp(out.digest, digest, WIRE_DIGEST_LEN) == 0);
    CHECK(out.hash_key && memcmp(out.hash_key, key, WIRE_HASH_KEY_LEN) == 0);
    CHECK(out.body_len == sizeof list && memcmp(out.body, list, sizeof list) == 0);
    /* without a digest ("equal", or an answer) */
    in.digest = NULL;
    in.hash_key = NULL;
    in.body_len = 0;
    wire_buf_reset(&b);
    CHECK_OK(wire_msg_encode(&in, &b));
    CHECK_OK(wire_msg_decode(b.data, b.len, &out));
    CHECK(!out.digest && !out.hash_key && out.body_len == 0);
    /* malformed */
    static const uint8_t short_digest[] = {0x96, 11, 1, 0xa1, 'c', 0xc4, 2, 1, 2, 0xc4, 0, 0xc4, 0};
    static const uint8_t short_key[] = {0x96, 11, 1, 0xa1, 'c', 0xc4, 0, 0xc4, 1, 7, 0xc4, 0};
    static const uint8_t no_coll[] = {0x96, 11, 1, 0xa0, 0xc4, 0, 0xc4, 0, 0xc4, 0};
    static const uint8_t four[] = {0x95, 11, 1, 0xa1, 'c', 0xc4, 0, 0xc4, 0};
    CHECK_EQ(wire_msg_decode(short_digest, sizeof short_digest, &out), MESH_EPROTO);
    CHECK_EQ(wire_msg_decode(short_key, sizeof short_key, &out), MESH_EPROTO);
    CHECK_EQ(wire_msg_decode(no_coll, sizeof no_coll, &out), MESH_EPROTO);
    CHECK_EQ(wire_msg_decode(four, sizeof four, &out), MESH_EPROTO);
    in.coll_len = 0;
    CHECK_EQ(wire_msg_encode(&in, &b), MESH_EINVAL);
    /* REPAIR: like a BATCH, with its more flag */
    wire_msg_t rep = {
        .type = WIRE_MSG_REPAIR, .num = 78, .body = list, .body_len = sizeof list, .more = true};
    wire_buf_reset(&b);
    CHECK_OK(wire_msg_encode(&rep, &b));
    CHECK_OK(wire_msg_decode(b.data, b.len, &out));
    CHECK(out.type == WIRE_MSG_REPAIR && out.num == 78 && out.more && out.body_len == 2);
    static const uint8_t three[] = {0x93, 12, 1, 0xc4, 0};
    CHECK_EQ(wire_msg_decode(three, sizeof three, &out), MESH_EPROTO);
    wire_buf_release(&b);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_recon_model_random),
        cmocka_unit_test(test_recon_equal_one_round_trip),
        cmocka_unit_test(test_recon_empty_side),
        cmocka_unit_test(test_recon_malformed),
        cmocka_unit_test(test_recon_messages),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
