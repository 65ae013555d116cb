/* tests/unit/test_store.c: the LMDB store: records, long keys, versions by dot, map growth,
 * the format check and incarnations. Each case works in a fresh mkdtemp directory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "store/env.h"
#include "store/items.h"
#include "store/store.h"

typedef struct fixture {
    char dir[64];
    store_t *st;
} fixture_t;

static int
s_rmrf(const char *dir)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd);
}

static int
s_setup(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/test_store.XXXXXX");
    if (!mkdtemp(f->dir)) {
        return -1;
    }
    *state = f;
    return 0;
}

static int
s_teardown(void **state)
{
    fixture_t *f = *state;
    store_close(f->st);
    (void)s_rmrf(f->dir);
    free(f);
    return 0;
}

static void
s_open(fixture_t *f, uint64_t map)
{
    char msg[256] = "";
    assert_int_equal(store_open(f->dir, map, &f->st, msg, sizeof msg), MESH_OK);
}

/* A write body that runs a caller function with a pointer argument. */
typedef struct put_args {
    uint32_t cid;
    const char *key;
    size_t key_len;
    uint8_t hash[32];
    const char *value;
    size_t value_len;
    uint64_t seq;
    int repeat; /* puts of distinct keys derived from key */
} put_args_t;

static void
s_key(store_key_t *k, const void *bytes, size_t len, uint8_t fill)
{
    k->bytes = bytes;
    k->len = len;
    memset(k->hash, fill, sizeof k->hash);
}

static mesh_err_t
s_put_body(store_txn_t *txn, void *arg)
{
    put_args_t *a = arg;
    for (int i = 0; i < (a->repeat ? a->repeat : 1); i++) {
        char kb[64];
        store_key_t k;
        int n = a->repeat ? snprintf(kb, sizeof kb, "%s-%06d", a->key, i) : 0;
        if (a->repeat) {
            s_key(&k, kb, (size_t)n, 0);
        } else {
            s_key(&k, a->key, a->key_len, 0);
            memcpy(k.hash, a->hash, 32);
        }
        store_version_t v = {.oid = 1,
                             .seq = a->seq + (uint64_t)i,
                             .hlc = 7,
                             .kind = 0,
                             .meta = (const uint8_t *)"meta",
                             .meta_len = 4,
                             .value = (const uint8_t *)a->value,
                             .value_len = (uint32_t)a->value_len};
        mesh_err_t err = store_item_put(txn, a->cid, &k, &v, 1);
        if (err == MESH_OK) {
            err = store_dot_put(txn, a->cid, &k, &v);
        }
        if (err != MESH_OK) {
            return err;
        }
    }
    return MESH_OK;
}

static void
test_store_item_round_trip(void **state)
{
    fixture_t *f = *state;
    s_open(f, 0);
    put_args_t a = {
        .cid = 3, .key = "alpha", .key_len = 5, .value = "one", .value_len = 3, .seq = 1};
    assert_int_equal(store_write(f->st, s_put_body, &a), MESH_OK);
    store_txn_t *txn = NULL;
    store_item_t *item = malloc(sizeof *item);
    store_key_t k;
    s_key(&k, "alpha", 5, 0);
    assert_int_equal(store_read_begin(f->st, &txn), MESH_OK);
    assert_int_equal(store_item_get(txn, 3, &k, item), MESH_OK);
    assert_int_equal(item->count, 1);
    assert_int_equal(item->versions[0].seq, 1);
    assert_int_equal(item->versions[0].hlc, 7);
    assert_memory_equal(item->versions[0].value, "one", 3);
    assert_memory_equal(item->versions[0].meta, "meta", 4);
    /* another collection does not see it */
    assert_int_equal(store_item_get(txn, 4, &k, item), MESH_ENOTFOUND);
    uint64_t n = 0;
    assert_int_equal(store_dot_count_above(txn, 3, 1, 0, &n), MESH_OK);
    assert_int_equal(n, 1);
    assert_int_equal(store_dot_count_above(txn, 3, 1, 1, &n), MESH_OK);
    assert_int_equal(n, 0);
    store_read_end(txn);
    free(item);
}

/* Two versions of one key: store_item_add refuses a key that has versions (writing
 * nothing), store_item_put names both dots, each version reads back from its record in
 * dot order, and an item whose version record is gone reads as corrupt, not as empty. */
typedef struct sib_args {
    int step;
} sib_args_t;

static mesh_err_t
s_sib_body(store_txn_t *txn, void *arg)
{
    sib_args_t *a = arg;
    store_key_t k;
    s_key(&k, "k", 1, 0);
    store_version_t v[2] = {{.oid = 1,
                             .seq = 5,
                             .hlc = 10,
                             .meta = (const uint8_t *)"m1",
                             .meta_len = 2,
                             .value = (const uint8_t *)"one",
                             .value_len = 3},
                            {.oid = 2,
                             .seq = 9,
                             .hlc = 11,
                             .kind = 1,
                             .meta = (const uint8_t *)"m2",
                             .meta_len = 2,
                             .proof = (const uint8_t *)"pp",
                             .proof_len = 2}};
    mesh_err_t err = MESH_OK;
    if (a->step == 0) {
        err = store_item_add(txn, 3, &k, &v[0]);
        if (err == MESH_OK) {
            err = store_dot_put(txn, 3, &k, &v[0]);
        }
    } else if (a->step == 1) {
        if (store_item_add(txn, 3, &k, &v[1]) != MESH_EEXIST) {
            return MESH_EINVAL;
        }
        err = store_item_put(txn, 3, &k, v, 2);
        if (err == MESH_OK) {
            err = store_dot_put(txn, 3, &k, &v[1]);
        }
    } else {
        err = store_dot_del(txn, 3, 2, 9); /* leaves the item naming a missing record */
    }
    return err;
}

static void
test_store_versions_by_dot(void **state)
{
    fixture_t *f = *state;
    s_open(f, 0);
    sib_args_t a = {0};
    assert_int_equal(store_write(f->st, s_sib_body, &a), MESH_OK);
    a.step = 1;
    assert_int_equal(store_write(f->st, s_sib_body, &a), MESH_OK);
    store_txn_t *txn = NULL;
    store_item_t *item = malloc(sizeof *item);
    store_key_t k;
    s_key(&k, "k", 1, 0);
    assert_int_equal(store_read_begin(f->st, &txn), MESH_OK);
    assert_int_equal(store_item_get(txn, 3, &k, item), MESH_OK);
    assert_int_equal(item->count, 2);
    assert_int_equal(item->key_len, 1);
    assert_memory_equal(item->key, "k", 1);
    assert_int_equal(item->versions[0].oid, 1);
    assert_int_equal(item->versions[0].seq, 5);
    assert_int_equal(item->versions[0].value_len, 3);
    assert_memory_equal(item->versions[0].value, "one", 3);
    assert_int_equal(item->versions[1].oid, 2);
    assert_int_equal(item->versions[1].seq, 9);
    assert_int_equal(item->versions[1].hlc, 11);
    assert_int_equal(item->versions[1].kind, 1);
    assert_int_equal(item->versions[1].value_len, 0);
    assert_int_equal(item->versions[1].proof_len, 2);
    assert_memory_equal(item->versions[1].proof, "pp", 2);
    /* the version of the dot, with its key, from a walk of origin 2 */
    store_cursor_t *cur = NULL;
    uint64_t seq = 0;
    assert_int_equal(store_dots_open(txn, 3, 2, 1, &cur), MESH_OK);
    assert_int_equal(store_dots_next(cur, &seq, item), MESH_OK);
    assert_int_equal(seq, 9);
    assert_int_equal(item->count, 1);
    assert_memory_equal(item->key, "k", 1);
    assert_memory_equal(item->versions[0].meta, "m2", 2);
    assert_int_equal(store_dots_next(cur, &seq, item), MESH_ENOTFOUND);
    store_cursor_close(cur);
    store_read_end(txn);
    a.step = 2;
    assert_int_equal(store_write(f->st, s_sib_body, &a), MESH_OK);
    assert_int_equal(store_read_begin(f->st, &txn), MESH_OK);
    assert_int_equal(store_item_get(txn, 3, &k, item), MESH_ECORRUPT);
    store_read_end(txn);
    free(item);
}

/* Dot records written at the tree's end and in its middle, in one write: 3,000 of origin 2
 * in seq order (appended, over many leaves), then one of origin 1 below them, one of origin
 * 2 below its first, and the last one again with another value (not above the last key: an
 * overwrite). Each reads back with the value written last, in dot order. */
static mesh_err_t
s_dots_body(store_txn_t *txn, void *arg)
{
    (void)arg;
    store_key_t k;
    s_key(&k, "k", 1, 0);
    store_version_t v = {.oid = 2, .meta = (const uint8_t *)"m", .meta_len = 1, .value_len = 8};
    char value[9]; /* 8 bytes stored, and the terminator snprintf writes */
    v.value = (const uint8_t *)value;
    mesh_err_t err = MESH_OK;
    for (uint64_t seq = 10; err == MESH_OK && seq < 3010; seq++) {
        snprintf(value, sizeof value, "%08llu", (unsigned long long)seq);
        v.seq = seq;
        err = store_dot_put(txn, 3, &k, &v);
    }
    const struct {
        uint32_t oid;
        uint64_t seq;
        const char *value;
    } more[] = {{1, 5, "origin-1"}, {2, 3, "below-10"}, {2, 3009, "again---"}};
    for (size_t i = 0; err == MESH_OK && i < sizeof more / sizeof more[0]; i++) {
        v.oid = more[i].oid;
        v.seq = more[i].seq;
        memcpy(value, more[i].value, 8);
        err = store_dot_put(txn, 3, &k, &v);
    }
    return err;
}

static void
test_store_dots_at_the_end_and_between(void **state)
{
    fixture_t *f = *state;
    s_open(f, 0);
    assert_int_equal(store_write(f->st, s_dots_body, NULL), MESH_OK);
    store_txn_t *txn = NULL;
    store_item_t *item = malloc(sizeof *item);
    store_cursor_t *cur = NULL;
    uint64_t seq = 0, n = 0;
    assert_int_equal(store_read_begin(f->st, &txn), MESH_OK);
    assert_int_equal(store_dots_open(txn, 3, 1, 0, &cur), MESH_OK);
    assert_int_equal(store_dots_next(cur, &seq, item), MESH_OK);
    assert_int_equal(seq, 5);
    assert_memory_equal(item->versions[0].value, "origin-1", 8);
    assert_int_equal(store_dots_next(cur, &seq, item), MESH_ENOTFOUND);
    store_cursor_close(cur);
    assert_int_equal(store_dots_open(txn, 3, 2, 0, &cur), MESH_OK);
    assert_int_equal(store_dots_next(cur, &seq, item), MESH_OK);
    assert_int_equal(seq, 3);
    assert_memory_equal(item->versions[0].value, "below-10", 8);
    for (uint64_t want = 10; want < 3010; want++) {
        char value[9];
        snprintf(value, sizeof value, "%08llu", (unsigned long long)want);
        assert_int_equal(store_dots_next(cur, &seq, item), MESH_OK);
        assert_int_equal(seq, want);
        assert_memory_equal(item->versions[0].value, want == 3009 ? "again---" : value, 8);
    }
    assert_int_equal(store_dots_next(cur, &seq, item), MESH_ENOTFOUND);
    store_cursor_close(cur);
    assert_int_equal(store_dot_count_above(txn, 3, 2, 0, &n), MESH_OK);
    assert_int_equal(n, 3001);
    store_read_end(txn);
    free(item);
}

static void
test_store_long_keys_by_hash(void **state)
{
    fixture_t *f = *state;
    s_open(f, 0);
    /* Two 1000-byte keys that share their first 400 bytes (and so their inline prefix). */
    char k1[1000], k2[1000];
    memset(k1, 'x', sizeof k1);
    memset(k2, 'x', sizeof k2);
    k2[999] = 'y';
    put_args_t a = {.cid = 1, .key = k1, .key_len = 1000, .value = "v1", .value_len = 2, .seq = 1};
    memset(a.hash, 0x11, 32);
    assert_int_equal(store_write(f->st, s_put_body, &a), MESH_OK);
    put_args_t b = a;
    b.key = k2, b.value = "v2", b.seq = 2;
    memset(b.hash, 0x22, 32);
    assert_int_equal(store_write(f->st, s_put_body, &b), MESH_OK);

    store_txn_t *txn = NULL;
    store_item_t *item = malloc(sizeof *item);
    store_key_t k;
    assert_int_equal(store_read_begin(f->st, &txn), MESH_OK);
    s_key(&k, k2, 1000, 0x22);
    assert_int_equal(store_item_get(txn, 1, &k, item), MESH_OK);
    assert_int_equal(item->key_len, 1000);
    assert_memory_equal(item->key, k2, 1000);
    assert_memory_equal(item->versions[0].value, "v2", 2);
    /* A prefix longer than the inline part matches on the full key. */
    store_cursor_t *cur = NULL;
    assert_int_equal(store_items_open(txn, 1, (const uint8_t *)k2, 1000, &cur), MESH_OK);
    assert_int_equal(store_items_next(cur, item), MESH_OK);
    assert_memory_equal(item->key, k2, 1000);
    assert_int_equal(store_items_next(cur, item), MESH_ENOTFOUND);
    store_cursor_close(cur);
    assert_int_equal(store_items_open(txn, 1, (const uint8_t *)"xxx", 3, &cur), MESH_OK);
    int seen = 0;
    while (store_items_next(cur, item) == MESH_OK) {
        seen++;
    }
    assert_int_equal(seen, 2);
    store_cursor_close(cur);
    store_read_end(txn);
    free(item);
}

static void
test_store_map_grows_by_itself(void **state)
{
    fixture_t *f = *state;
    s_open(f, 64 * 1024); /* a tiny map: the puts below need far more */
    uint64_t before = store_map_size(f->st);
    char value[2000];
    memset(value, 'v', sizeof value);
    for (int round = 0; round < 5; round++) {
        char prefix[16];
        snprintf(prefix, sizeof prefix, "r%d", round);
        put_args_t a = {.cid = 1,
                        .key = prefix,
                        .value = value,
                        .value_len = sizeof value,
                        .seq = (uint64_t)round * 1000 + 1,
                        .repeat = 200};
        assert_int_equal(store_write(f->st, s_put_body, &a), MESH_OK);
    }
    assert_true(store_map_size(f->st) > before);
    /* everything written is there */
    store_txn_t *txn = NULL;
    store_cursor_t *cur = NULL;
    store_item_t *item = malloc(sizeof *item);
    assert_int_equal(store_read_begin(f->st, &txn), MESH_OK);
    assert_int_equal(store_items_open(txn, 1, NULL, 0, &cur), MESH_OK);
    int n = 0;
    while (store_items_next(cur, item) == MESH_OK) {
        assert_int_equal(item->versions[0].value_len, sizeof value);
        n++;
    }
    assert_int_equal(n, 1000);
    store_cursor_close(cur);
    store_read_end(txn);
    free(item);
    /* a second process (here: a second open) adopts the grown map */
    store_close(f->st);
    f->st = NULL;
    s_open(f, 64 * 1024);
    put_args_t a = {
        .cid = 1, .key = "more", .value = value, .value_len = 100, .seq = 9000, .repeat = 10};
    assert_int_equal(store_write(f->st, s_put_body, &a), MESH_OK);
}

static mesh_err_t
s_set_format(store_txn_t *txn, void *arg)
{
    return store_meta_put_u64(txn, "format", *(uint64_t *)arg);
}

static void
test_store_refuses_unknown_format(void **state)
{
    fixture_t *f = *state;
    s_open(f, 0);
    uint64_t future = STORE_FORMAT + 1;
    assert_int_equal(store_write(f->st, s_set_format, &future), MESH_OK);
    store_close(f->st);
    f->st = NULL;
    char msg[256] = "";
    assert_int_equal(store_open(f->dir, 0, &f->st, msg, sizeof msg), MESH_EFORMAT);
    assert_null(f->st);
    assert_non_null(strstr(msg, "formats 2 to 4"));
}

/* Format 2 (every item record in the fixed layout) is taken on as format 4: its records
 * read as they are, beside those of one version written since in the short layout, whose
 * numbers round-trip at their largest; the slow path's raw scan reads both. */
static mesh_err_t
s_format2_body(store_txn_t *txn, void *arg)
{
    (void)arg;
    store_key_t k;
    s_key(&k, "old", 3, 0);
    store_version_t v = {.oid = 1, .seq = 9, .meta = (const uint8_t *)"m", .meta_len = 1};
    uint64_t two = 2;
    /* a format 2 record of one version: count 1, oid 1, seq 9, change 0 */
    uint8_t ik[7] = {0, 0, 0, 3, 'o', 'l', 'd'}, iv[22] = {1, 0, 1, 0, 0, 0, 9};
    mesh_err_t err = env_put(txn, ENV_ITEMS, ik, sizeof ik, iv, sizeof iv);
    if (err == MESH_OK) {
        err = store_dot_put(txn, 3, &k, &v);
    }
    return err == MESH_OK ? store_meta_put_u64(txn, "format", two) : err;
}

static mesh_err_t
s_format3_body(store_txn_t *txn, void *arg)
{
    (void)arg;
    store_key_t k;
    s_key(&k, "new", 3, 0);
    store_version_t v = {
        .oid = UINT32_MAX, .seq = UINT64_MAX, .meta = (const uint8_t *)"m", .meta_len = 1};
    mesh_err_t err = store_item_add(txn, 3, &k, &v);
    return err == MESH_OK ? store_dot_put(txn, 3, &k, &v) : err;
}

/* A version whose metadata holds its key (as signed op metadata does, §3.2) keeps the key
 * there only: its record is the key's length shorter, and it reads back whole, as a
 * version whose metadata does not hold it. */
static mesh_err_t
s_key_in_meta_body(store_txn_t *txn, void *arg)
{
    (void)arg;
    static const uint8_t meta[] = {0x96, 0x05, 0xc4, 0x04, 'k', 'e', 'y', '1', 0x00};
    store_key_t k1, k2;
    s_key(&k1, "key1", 4, 0);
    s_key(&k2, "key2", 4, 0);
    store_version_t v1 = {.oid = 1, .seq = 5, .hlc = 3, .meta = meta, .meta_len = sizeof meta,
                          .value = (const uint8_t *)"v", .value_len = 1};
    store_version_t v2 = v1;
    v2.seq = 6;
    mesh_err_t err = store_item_add(txn, 3, &k1, &v1);
    err = err == MESH_OK ? store_dot_put(txn, 3, &k1, &v1) : err;
    err = err == MESH_OK ? store_item_add(txn, 3, &k2, &v2) : err;
    return err == MESH_OK ? store_dot_put(txn, 3, &k2, &v2) : err;
}

static void
test_store_key_in_meta(void **state)
{
    fixture_t *f = *state;
    s_open(f, 0);
    assert_int_equal(store_write(f->st, s_key_in_meta_body, NULL), MESH_OK);
    store_txn_t *txn = NULL;
    store_item_t *item = malloc(sizeof *item);
    store_key_t k;
    const uint8_t *rec = NULL;
    size_t len1 = 0, len2 = 0;
    uint8_t dk[16] = {0, 0, 0, 3, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 5};
    assert_int_equal(store_read_begin(f->st, &txn), MESH_OK);
    for (int i = 1; i <= 2; i++) {
        char name[5] = {'k', 'e', 'y', (char)('0' + i), 0};
        s_key(&k, name, 4, 0);
        assert_int_equal(store_item_get(txn, 3, &k, item), MESH_OK);
        assert_int_equal(item->key_len, 4);
        assert_memory_equal(item->key, name, 4);
        assert_int_equal(item->versions[0].meta_len, 9);
        assert_memory_equal(item->versions[0].value, "v", 1);
        assert_int_equal(item->versions[0].hlc, 3);
    }
    assert_int_equal(env_get(txn, ENV_DOTS, dk, sizeof dk, &rec, &len1), MESH_OK);
    dk[15] = 6;
    assert_int_equal(env_get(txn, ENV_DOTS, dk, sizeof dk, &rec, &len2), MESH_OK);
    assert_int_equal(len1 + 4, len2); /* key2 is not in the metadata: written whole */
    store_read_end(txn);
    free(item);
}

static void
test_store_takes_on_format_2(void **state)
{
    fixture_t *f = *state;
    s_open(f, 0);
    assert_int_equal(store_write(f->st, s_format2_body, NULL), MESH_OK);
    store_close(f->st);
    f->st = NULL;
    s_open(f, 0);
    assert_int_equal(store_write(f->st, s_format3_body, NULL), MESH_OK);
    store_txn_t *txn = NULL;
    store_item_t *item = malloc(sizeof *item);
    store_key_t k;
    uint64_t format = 0;
    assert_int_equal(store_read_begin(f->st, &txn), MESH_OK);
    assert_int_equal(store_meta_get_u64(txn, "format", &format), MESH_OK);
    assert_int_equal(format, 4);
    /* (the digests are of the definition before format 4: core makes them again) */
    assert_int_equal(store_meta_get_u64(txn, STORE_META_REDIGEST, &format), MESH_OK);
    assert_int_equal(format, 1);
    s_key(&k, "old", 3, 0);
    assert_int_equal(store_item_get(txn, 3, &k, item), MESH_OK);
    assert_int_equal(item->count, 1);
    assert_int_equal(item->versions[0].oid, 1);
    assert_int_equal(item->versions[0].seq, 9);
    s_key(&k, "new", 3, 0);
    assert_int_equal(store_item_get(txn, 3, &k, item), MESH_OK);
    assert_int_equal(item->count, 1);
    assert_true(item->versions[0].oid == UINT32_MAX);
    assert_true(item->versions[0].seq == UINT64_MAX);
    store_cursor_t *cur = NULL;
    const uint8_t *skey = NULL, *refs = NULL;
    size_t skey_len = 0, count = 0;
    uint32_t oid = 0;
    uint64_t seq = 0;
    assert_int_equal(store_refs_open(txn, 3, &cur), MESH_OK);
    assert_int_equal(store_refs_next(cur, &skey, &skey_len, &refs, &count), MESH_OK);
    assert_memory_equal(skey, "new", 3);
    store_ref_get(refs, 0, &oid, &seq);
    assert_true(count == 1 && oid == UINT32_MAX && seq == UINT64_MAX);
    assert_int_equal(store_refs_next(cur, &skey, &skey_len, &refs, &count), MESH_OK);
    assert_memory_equal(skey, "old", 3);
    store_ref_get(refs, 0, &oid, &seq);
    assert_true(count == 1 && oid == 1 && seq == 9);
    assert_int_equal(store_refs_next(cur, &skey, &skey_len, &refs, &count), MESH_ENOTFOUND);
    store_cursor_close(cur);
    store_read_end(txn);
    free(item);
}

static void
test_store_incarnation_changes_on_copy(void **state)
{
    fixture_t *f = *state;
    s_open(f, 0);
    assert_true(store_incarnation_is_new(f->st));
    uint64_t inc = store_incarnation(f->st);
    assert_int_not_equal(inc, 0);
    store_close(f->st);
    f->st = NULL;
    s_open(f, 0);
    assert_false(store_incarnation_is_new(f->st));
    assert_int_equal(store_incarnation(f->st), inc);
    store_close(f->st);
    f->st = NULL;
    /* copy the files elsewhere: the copy is a new incarnation, the original is not */
    char copy[80], cmd[256];
    snprintf(copy, sizeof copy, "%s/copy", f->dir);
    snprintf(cmd, sizeof cmd, "mkdir '%s' && cp '%s/data.mdb' '%s/'", copy, f->dir, copy);
    assert_int_equal(system(cmd), 0);
    store_t *st2 = NULL;
    char msg[256];
    assert_int_equal(store_open(copy, 0, &st2, msg, sizeof msg), MESH_OK);
    assert_true(store_incarnation_is_new(st2));
    assert_int_not_equal(store_incarnation(st2), inc);
    store_close(st2);
    s_open(f, 0);
    assert_int_equal(store_incarnation(f->st), inc);
}

typedef struct ids_args {
    uint32_t oid1, oid2, oid1_again, cid1, cid2;
} ids_args_t;

static mesh_err_t
s_ids_body(store_txn_t *txn, void *arg)
{
    ids_args_t *a = arg;
    uint8_t dev[32];
    memset(dev, 0xab, sizeof dev);
    mesh_err_t err = store_origin_id(txn, dev, 5, true, &a->oid1);
    if (err == MESH_OK) {
        err = store_origin_id(txn, dev, 6, true, &a->oid2);
    }
    if (err == MESH_OK) {
        err = store_origin_id(txn, dev, 5, false, &a->oid1_again);
    }
    if (err == MESH_OK) {
        err = store_coll_id(txn, "alpha", true, &a->cid1);
    }
    if (err == MESH_OK) {
        err = store_coll_id(txn, "beta", true, &a->cid2);
    }
    return err;
}

static void
test_store_origins_and_collections(void **state)
{
    fixture_t *f = *state;
    s_open(f, 0);
    ids_args_t a;
    assert_int_equal(store_write(f->st, s_ids_body, &a), MESH_OK);
    assert_int_equal(a.oid1, a.oid1_again);
    assert_int_not_equal(a.oid1, a.oid2);
    assert_int_not_equal(a.cid1, a.cid2);
    store_txn_t *txn = NULL;
    uint8_t dev[32];
    uint64_t inc = 0;
    uint32_t id = 0;
    assert_int_equal(store_read_begin(f->st, &txn), MESH_OK);
    assert_int_equal(store_origin_get(txn, a.oid2, dev, &inc), MESH_OK);
    assert_int_equal(inc, 6);
    assert_int_equal(dev[0], 0xab);
    assert_int_equal(store_origin_id(txn, dev, 7, false, &id), MESH_ENOTFOUND);
    assert_int_equal(store_coll_id(txn, "gamma", false, &id), MESH_ENOTFOUND);
    assert_int_equal(store_coll_id(txn, "beta", false, &id), MESH_OK);
    assert_int_equal(id, a.cid2);
    store_read_end(txn);
}

typedef struct vv_args {
    uint64_t extra[3];
} vv_args_t;

static mesh_err_t
s_vv_body(store_txn_t *txn, void *arg)
{
    vv_args_t *a = arg;
    static const uint8_t leaves[64] = {1, 2, 3};
    store_set_t set = {.oid = 2,
                       .first_seq = 11,
                       .header = (const uint8_t *)"hdr",
                       .header_len = 3,
                       .sig = leaves,
                       .leaves = leaves,
                       .count = 2};
    mesh_err_t err = store_vv_put(txn, 1, 2, 10, a->extra, 3);
    if (err == MESH_OK) {
        err = store_set_put(txn, 1, &set);
    }
    store_coll_stats_t stats = {.keys = 4, .versions = 5};
    stats.digest[31] = 9;
    if (err == MESH_OK) {
        err = store_coll_stats_put(txn, 1, &stats);
    }
    return err;
}

static void
test_store_vectors_sets_stats(void **state)
{
    fixture_t *f = *state;
    s_open(f, 0);
    vv_args_t a = {{12, 15, 99}};
    assert_int_equal(store_write(f->st, s_vv_body, &a), MESH_OK);
    store_txn_t *txn = NULL;
    store_vv_t vv;
    store_set_t set;
    store_coll_stats_t stats;
    assert_int_equal(store_read_begin(f->st, &txn), MESH_OK);
    assert_int_equal(store_vv_get(txn, 1, 2, &vv), MESH_OK);
    assert_int_equal(vv.base, 10);
    assert_int_equal(vv.extra_count, 3);
    assert_int_equal(store_vv_extra(&vv, 2), 99);
    assert_int_equal(store_vv_get(txn, 1, 3, &vv), MESH_OK);
    assert_int_equal(vv.base, 0);
    assert_int_equal(store_set_get(txn, 1, 2, 11, &set), MESH_OK);
    assert_int_equal(set.count, 2);
    assert_memory_equal(set.header, "hdr", 3);
    assert_int_equal(set.leaves[2], 3);
    assert_int_equal(store_set_get(txn, 1, 2, 12, &set), MESH_ENOTFOUND);
    store_cursor_t *cur = NULL;
    assert_int_equal(store_sets_open(txn, 1, &cur), MESH_OK);
    assert_int_equal(store_sets_next(cur, &set), MESH_OK);
    assert_int_equal(set.first_seq, 11);
    assert_int_equal(store_sets_next(cur, &set), MESH_ENOTFOUND);
    store_cursor_close(cur);
    assert_int_equal(store_coll_stats_get(txn, 1, &stats), MESH_OK);
    assert_int_equal(stats.keys, 4);
    assert_int_equal(stats.versions, 5);
    assert_int_equal(stats.digest[31], 9);
    assert_int_equal(store_coll_stats_get(txn, 2, &stats), MESH_OK);
    assert_int_equal(stats.keys, 0);
    store_read_end(txn);
}

static mesh_err_t
s_fail_body(store_txn_t *txn, void *arg)
{
    (void)arg;
    mesh_err_t err = store_meta_put_u64(txn, "scratch", 42);
    return err == MESH_OK ? MESH_EINVAL : err;
}

static void
test_store_failed_write_changes_nothing(void **state)
{
    fixture_t *f = *state;
    s_open(f, 0);
    assert_int_equal(store_write(f->st, s_fail_body, NULL), MESH_EINVAL);
    store_txn_t *txn = NULL;
    uint64_t v = 0;
    assert_int_equal(store_read_begin(f->st, &txn), MESH_OK);
    assert_int_equal(store_meta_get_u64(txn, "scratch", &v), MESH_ENOTFOUND);
    store_read_end(txn);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_store_item_round_trip, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_store_long_keys_by_hash, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_store_versions_by_dot, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_store_dots_at_the_end_and_between, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_store_map_grows_by_itself, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_store_refuses_unknown_format, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_store_takes_on_format_2, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_store_key_in_meta, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_store_incarnation_changes_on_copy, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_store_origins_and_collections, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_store_vectors_sets_stats, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_store_failed_write_changes_nothing, s_setup,
                                        s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
