/* tests/unit/test_access.c: per-collection access lists (core/member/access.c, share.c;
 * PROTOCOL §8.3). The rule alone: who makes a list, records of non-members count for
 * nothing, concurrent share and unshare resolve by (HLC, signer) whatever order they are
 * read in; the key format; then through the public API on real stores: share, unshare and
 * members with their errors, a non-member's set of a shared collection rejected on import
 * (and a member's applied), and an export for a device leaving out what it may not hold. */
#include "core/member/access.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/base/node.h"
#include "core/bundle/export.h"
#include "crypto/devid.h"
#include "crypto/ident.h"
#include "util.h"

/* Device keys 1..5 of the rule's tests: key k is 32 bytes of k. */
static void
s_key(uint8_t *pk, int k)
{
    memset(pk, k, WIRE_ORIGIN_LEN);
}

static access_record_t
s_rec(int signer, int subject, uint64_t hlc, bool granted)
{
    access_record_t r;
    s_key(r.signer, signer);
    s_key(r.subject, subject);
    r.hlc = hlc;
    r.granted = granted;
    return r;
}

static bool
s_has(const access_list_t *l, int k)
{
    uint8_t pk[WIRE_ORIGIN_LEN];
    s_key(pk, k);
    return access_list_has(l, pk);
}

static void
test_access_rule(void **state)
{
    (void)state;
    access_list_t l = {0};
    /* no record: every member */
    assert_int_equal(access_resolve(NULL, 0, &l), MESH_OK);
    assert_false(l.restricted);
    assert_true(s_has(&l, 4));
    /* a revoke before any list counts for nothing */
    access_record_t r1[] = {s_rec(1, 3, 5, false)};
    assert_int_equal(access_resolve(r1, 1, &l), MESH_OK);
    assert_false(l.restricted);
    /* 1 shares with 2: the list is {1, 2}; 3's later record granting itself counts for
     * nothing, nor does 3 revoking 2; 2 may share with 4 */
    access_record_t r2[] = {s_rec(3, 3, 30, true), s_rec(1, 2, 10, true), s_rec(3, 2, 31, false),
                            s_rec(2, 4, 20, true)};
    assert_int_equal(access_resolve(r2, 4, &l), MESH_OK);
    assert_true(l.restricted);
    assert_int_equal(l.count, 3);
    assert_true(s_has(&l, 1) && s_has(&l, 2) && s_has(&l, 4));
    assert_false(s_has(&l, 3));
    /* revoking the maker, then everyone: a list with nobody in it stays a list */
    access_record_t r3[] = {s_rec(1, 2, 10, true), s_rec(2, 1, 11, false), s_rec(2, 2, 12, false),
                            s_rec(1, 1, 13, true)};
    assert_int_equal(access_resolve(r3, 4, &l), MESH_OK);
    assert_true(l.restricted);
    assert_int_equal(l.count, 0);
    access_list_release(&l);
}

/* Concurrent share and unshare of 3 by members 1 and 2: the later HLC wins, and at equal
 * HLCs the greater signer; every order of reading gives the same list. */
static void
test_access_concurrent(void **state)
{
    (void)state;
    access_list_t l = {0};
    for (int tie = 0; tie < 2; tie++) {
        access_record_t base[] = {s_rec(1, 2, 10, true), s_rec(1, 3, 10, true),
                                  s_rec(1, 3, 50, false), s_rec(2, 3, tie ? 50 : 40, true)};
        bool want = tie ? true : false; /* 2's grant: after 1's revoke only at the tie (2 > 1) */
        for (int perm = 0; perm < 24; perm++) {
            access_record_t r[4];
            int idx[4] = {0, 1, 2, 3}, p = perm;
            for (int i = 0; i < 4; i++) { /* the perm-th permutation */
                int j = i + p % (4 - i);
                p /= 4 - i;
                int t = idx[i];
                idx[i] = idx[j];
                idx[j] = t;
                r[i] = base[idx[i]];
            }
            assert_int_equal(access_resolve(r, 4, &l), MESH_OK);
            assert_true(s_has(&l, 1) && s_has(&l, 2));
            assert_int_equal(s_has(&l, 3), want);
        }
    }
    access_list_release(&l);
}

static void
test_access_key(void **state)
{
    (void)state;
    uint8_t a[WIRE_ORIGIN_LEN], b[WIRE_ORIGIN_LEN], sa[WIRE_ORIGIN_LEN], sb[WIRE_ORIGIN_LEN];
    char ida[MESH_ID_TEXT_LEN + 1], idb[MESH_ID_TEXT_LEN + 1], key[512];
    const uint8_t *coll = NULL;
    size_t coll_len = 0;
    s_key(a, 7);
    s_key(b, 9);
    devid_format(a, ida);
    devid_format(b, idb);
    int n = snprintf(key, sizeof key, "access/a/b/%s/%s", ida, idb); /* coll "a/b" */
    assert_int_equal(access_parse_key((uint8_t *)key, (size_t)n, &coll, &coll_len, sa, sb),
                     MESH_OK);
    assert_int_equal(coll_len, 3);
    assert_memory_equal(coll, "a/b", 3);
    assert_memory_equal(sa, a, 32);
    assert_memory_equal(sb, b, 32);
    wire_opmeta_t op = {.key = (uint8_t *)key, .key_len = (size_t)n, .kind = WIRE_PUT,
                        .value_len = ACCESS_VALUE_LEN};
    assert_int_equal(access_check_op(&op, b), MESH_OK);
    assert_int_equal(access_check_op(&op, a), MESH_EPROTO); /* not the signer's own */
    op.value_len = 3;
    assert_int_equal(access_check_op(&op, b), MESH_EPROTO);
    n = snprintf(key, sizeof key, "access//%s/%s", ida, idb); /* no collection */
    assert_int_equal(access_parse_key((uint8_t *)key, (size_t)n, &coll, &coll_len, sa, sb),
                     MESH_EPROTO);
    n = snprintf(key, sizeof key, "access/x/%s/%s", ida, idb);
    key[n - 3] ^= 1; /* a check character fails */
    assert_int_equal(access_parse_key((uint8_t *)key, (size_t)n, &coll, &coll_len, sa, sb),
                     MESH_EPROTO);
}

/* Import the bundle (len bytes) into to; the report. */
static mesh_import_report_t
s_import(util_dev_t *to, const void *bundle, size_t len)
{
    mesh_import_report_t r = {.size = sizeof r};
    assert_int_equal(mesh_import(to->m, bundle, len, &r), MESH_OK);
    mesh_free(r.text);
    return r;
}

/* Import from's bundle of coll (and membership) into to; the report. */
static mesh_import_report_t
s_sync(util_dev_t *from, util_dev_t *to, const char *coll)
{
    void *bundle = NULL;
    size_t len = 0;
    assert_int_equal(mesh_export(from->m, &coll, 1, NULL, 0, &bundle, &len), MESH_OK);
    mesh_import_report_t r = s_import(to, bundle, len);
    mesh_free(bundle);
    return r;
}

static void
test_access_api(void **state)
{
    (void)state;
    util_dev_t a, b, c;
    util_dev_open(&a, "alpha");
    util_dev_open(&b, "beta");
    util_dev_open(&c, "gamma");
    util_dev_t *all[] = {&a, &b, &c};
    for (int i = 0; i < 3; i++) {
        for (int j = 0; j < 3; j++) {
            if (i != j) {
                assert_int_equal(mesh_peer_add(all[i]->m, all[j]->id, NULL, NULL, 0), MESH_OK);
            }
        }
    }
    const char *ids_b[] = {b.id};
    const char *bad[] = {"nope"};
    char stranger[MESH_ID_TEXT_LEN + 1];
    uint8_t pk[WIRE_ORIGIN_LEN];
    s_key(pk, 42);
    devid_format(pk, stranger);
    const char *ids_x[] = {stranger};
    assert_int_equal(mesh_unshare(a.m, "priv", b.id), MESH_ESTATE); /* no list yet */
    assert_int_equal(mesh_share(a.m, "_mesh", ids_b, 1), MESH_EINVAL);
    assert_int_equal(mesh_share(a.m, "priv", bad, 1), MESH_EBADID);
    assert_int_equal(mesh_share(a.m, "priv", ids_x, 1), MESH_ENOTFOUND);
    assert_int_equal(mesh_share(a.m, "priv", ids_b, 0), MESH_EINVAL);

    mesh_member_list_t *ml = NULL;
    assert_int_equal(mesh_members(a.m, "priv", &ml), MESH_OK);
    assert_false(mesh_member_list_restricted(ml));
    assert_int_equal(mesh_member_list_count(ml), 3);
    mesh_member_list_free(ml);

    assert_int_equal(mesh_share(a.m, "priv", ids_b, 1), MESH_OK);
    assert_int_equal(mesh_members(a.m, "priv", &ml), MESH_OK);
    assert_true(mesh_member_list_restricted(ml));
    assert_int_equal(mesh_member_list_count(ml), 2);
    for (size_t i = 0; i < 2; i++) {
        const char *id = mesh_member_list_get(ml, i);
        assert_true(strcmp(id, a.id) == 0 || strcmp(id, b.id) == 0);
    }
    assert_null(mesh_member_list_get(ml, 2));
    mesh_member_list_free(ml);
    assert_int_equal(mesh_members(a.m, NULL, &ml), MESH_OK); /* the mesh */
    assert_int_equal(mesh_member_list_count(ml), 3);
    mesh_member_list_free(ml);

    /* C writes priv before it learns the list: its bundle holds that set */
    void *evil = NULL;
    size_t evil_len = 0;
    const char *priv[] = {"priv"};
    util_put(c.m, "priv", "evil", "from C");
    assert_int_equal(mesh_export(c.m, priv, 1, NULL, 0, &evil, &evil_len), MESH_OK);
    /* B and C learn the list; C, not in it, may not share it */
    s_sync(&a, &b, "_mesh");
    s_sync(&a, &c, "_mesh");
    const char *ids_c[] = {c.id};
    assert_int_equal(mesh_share(c.m, "priv", ids_c, 1), MESH_ESTATE);
    /* A set of priv signed by C (a member of the mesh) is rejected by A and B; B's own is
     * applied on A */
    util_put(b.m, "priv", "fine", "from B");
    mesh_import_report_t r = s_import(&a, evil, evil_len);
    assert_int_equal(r.sets_rejected, 1); /* (its membership records are new to A) */
    util_expect(a.m, "priv", "evil", NULL);
    r = s_import(&b, evil, evil_len);
    assert_int_equal(r.sets_rejected, 1);
    mesh_free(evil);
    /* now that C knows the list, its own bundle no longer carries its set of priv */
    r = s_sync(&c, &a, "priv");
    assert_int_equal(r.sets_rejected, 0);
    r = s_sync(&b, &a, "priv");
    assert_int_equal(r.sets_rejected, 0);
    util_expect(a.m, "priv", "fine", "from B");
    util_expect(a.m, "priv", "evil", NULL);

    /* an export for C carries an empty priv section; for B, B's and A's sets (not C's) */
    util_put(a.m, "priv", "k", "from A");
    wire_buf_t out;
    bool more = false;
    size_t pieces = 0;
    wire_buf_init(&out);
    assert_int_equal(export_bundle_to(a.m, ident_public_key(c.m->ident), priv, 1, NULL, 0, NULL,
                                      &out, &more, &pieces),
                     MESH_OK);
    size_t mesh_only = pieces; /* _mesh's sets and watermarks */
    wire_buf_reset(&out);
    assert_int_equal(export_bundle_to(a.m, NULL, NULL, 0, NULL, 0, NULL, &out, &more, &pieces),
                     MESH_OK);
    assert_true(pieces > mesh_only);
    wire_buf_reset(&out);
    assert_int_equal(export_bundle_to(a.m, ident_public_key(c.m->ident), NULL, 0, NULL, 0, NULL,
                                      &out, &more, &pieces),
                     MESH_OK);
    assert_int_equal(pieces, mesh_only);
    wire_buf_release(&out);

    /* A unshares B: B's later set is rejected on A; unsharing twice is fine */
    assert_int_equal(mesh_unshare(a.m, "priv", b.id), MESH_OK);
    assert_int_equal(mesh_unshare(a.m, "priv", b.id), MESH_OK);
    util_put(b.m, "priv", "late", "from B after");
    r = s_sync(&b, &a, "priv");
    assert_int_equal(r.sets_rejected, 1);
    util_expect(a.m, "priv", "late", NULL);
    assert_int_equal(mesh_members(a.m, "priv", &ml), MESH_OK);
    assert_int_equal(mesh_member_list_count(ml), 1);
    assert_string_equal(mesh_member_list_get(ml, 0), a.id);
    mesh_member_list_free(ml);
    util_dev_close(&a);
    util_dev_close(&b);
    util_dev_close(&c);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_access_rule),
        cmocka_unit_test(test_access_concurrent),
        cmocka_unit_test(test_access_key),
        cmocka_unit_test(test_access_api),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
