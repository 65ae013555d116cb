/* tests/unit/test_removal.c: removal (core/member/removal.c, member.c, peer.c; PROTOCOL §8.2)
 * on real stores in temp homes, moving sets by bundle: a removed device's sets at or below
 * the highest published cut apply everywhere, those above are held while a member has not
 * published, then rejected; membership is a two-phase set (remove wins over add, for good);
 * two members removing each other in a mesh of four end the same on the two that remain
 * (the provisional frozen record); a frozen record's lines are read back exactly. */
#include "core/member/removal.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "util.h"

/* Export all of from into to; the report's counts (text freed). */
static mesh_import_report_t
s_xfer(util_dev_t *from, util_dev_t *to)
{
    void *b = NULL;
    size_t len = 0;
    mesh_import_report_t rep = {.size = sizeof rep};
    assert_int_equal(mesh_export(from->m, NULL, 0, NULL, 0, &b, &len), MESH_OK);
    assert_int_equal(mesh_import(to->m, b, len, &rep), MESH_OK);
    mesh_free(b);
    mesh_free(rep.text);
    rep.text = NULL;
    return rep;
}

/* Is id listed by d's mesh_peers, and removed? (-1: not listed) */
static int
s_listed_removed(util_dev_t *d, const char *id)
{
    mesh_peer_list_t *list = NULL;
    int r = -1;
    assert_int_equal(mesh_peers(d->m, &list), MESH_OK);
    for (size_t i = 0; i < mesh_peer_list_count(list); i++) {
        const mesh_peer_t *p = mesh_peer_list_get(list, i);
        if (strcmp(p->id, id) == 0) {
            r = p->removed ? 1 : 0;
        }
    }
    mesh_peer_list_free(list);
    return r;
}

/* Sets of id held back on d. */
static uint64_t
s_held(util_dev_t *d, const char *id)
{
    mesh_held_list_t *list = NULL;
    uint64_t n = 0;
    assert_int_equal(mesh_held(d->m, &list), MESH_OK);
    for (size_t i = 0; i < mesh_held_list_count(list); i++) {
        if (strcmp(mesh_held_list_get(list, i)->origin, id) == 0) {
            n = mesh_held_list_get(list, i)->sets;
        }
    }
    mesh_held_list_free(list);
    return n;
}

/* a, b, c each add the other two; everything exchanged. */
static void
s_mesh3(util_dev_t *a, util_dev_t *b, util_dev_t *c)
{
    util_dev_t *d[3] = {a, b, c};
    for (int i = 0; i < 3; i++) {
        for (int j = 0; j < 3; j++) {
            if (i != j) {
                assert_int_equal(mesh_peer_add(d[i]->m, d[j]->id, NULL, NULL, 0), MESH_OK);
            }
        }
    }
    for (int i = 0; i < 3; i++) {
        for (int j = 0; j < 3; j++) {
            if (i != j) {
                (void)s_xfer(d[i], d[j]);
            }
        }
    }
}

/* The cut: what B took before it heard is valid on A (once B's record came); what C wrote
 * after both heard is held on A until B published, then rejected; nothing is undone. */
static void
test_removal_cut(void **state)
{
    (void)state;
    util_dev_t a, b, c;
    util_dev_open(&a, "rm-a");
    util_dev_open(&b, "rm-b");
    util_dev_open(&c, "rm-c");
    s_mesh3(&a, &b, &c);
    util_put(c.m, "n", "c1", "one");
    (void)s_xfer(&c, &a);
    (void)s_xfer(&c, &b);

    assert_int_equal(mesh_peer_remove(a.m, c.id), MESH_OK);
    assert_int_equal(s_listed_removed(&a, c.id), 1);
    util_put(c.m, "n", "c2", "two"); /* B takes it before it hears */
    (void)s_xfer(&c, &b);
    util_expect(b.m, "n", "c2", "two");
    (void)s_xfer(&a, &b); /* B hears: its cut holds c2 */
    assert_int_equal(s_listed_removed(&b, c.id), 1);
    util_put(c.m, "n", "c3", "three"); /* after every member heard */

    mesh_import_report_t rep = s_xfer(&c, &a); /* A: c2 and c3 above its cut, B unheard */
    assert_int_equal(rep.sets_held, 2);
    util_expect(a.m, "n", "c2", NULL);
    (void)s_xfer(&b, &a); /* B's cut: c2 applies; every member published: c3 goes */
    util_expect(a.m, "n", "c1", "one");
    util_expect(a.m, "n", "c2", "two");
    util_expect(a.m, "n", "c3", NULL);
    assert_int_equal(s_held(&a, c.id), 0);

    rep = s_xfer(&c, &b); /* on B, c3 is rejected at once */
    assert_int_equal(rep.sets_held, 0);
    assert_true(rep.sets_rejected >= 1);
    util_expect(b.m, "n", "c3", NULL);
    char da[65], db[65];
    util_digest(a.m, "n", da);
    util_digest(b.m, "n", db);
    assert_string_equal(da, db);
    util_dev_close(&c);
    util_dev_close(&b);
    util_dev_close(&a);
}

/* A member stale past the horizon (PROTOCOL §8.4) no longer holds a removal back: C's set
 * above A's cut, held on A while B (which has not heard) counts, is rejected once A takes
 * B as stale (A reopened with a horizon of 1 ms: every member's last record is older). */
static void
test_removal_stale_member(void **state)
{
    (void)state;
    util_dev_t a, b, c;
    util_dev_open(&a, "rm-sa");
    util_dev_open(&b, "rm-sb");
    util_dev_open(&c, "rm-sc");
    s_mesh3(&a, &b, &c);
    assert_int_equal(mesh_peer_remove(a.m, c.id), MESH_OK);
    util_put(c.m, "n", "c2", "two"); /* after A heard; B has not published */
    mesh_import_report_t rep = s_xfer(&c, &a);
    assert_int_equal(rep.sets_held, 1);
    util_expect(a.m, "n", "c2", NULL);

    mesh_close(a.m);
    mesh_options_t o = {
        .size = sizeof o, .home = a.home, .offline = true, .name = "rm-sa", .horizon = 1};
    assert_int_equal(mesh_open(&o, &a.m), MESH_OK);
    rep = s_xfer(&c, &a); /* B is stale now: every member that counts has published */
    assert_int_equal(rep.sets_held, 0);
    assert_true(rep.sets_rejected >= 1);
    util_expect(a.m, "n", "c2", NULL);
    util_dev_close(&c);
    util_dev_close(&b);
    util_dev_close(&a);
}

/* Two-phase: a removed device is never added again, by a call or by an add record made
 * concurrently with the removal; removing it again changes nothing; self-removal lists
 * this device removed. */
static void
test_removal_two_phase(void **state)
{
    (void)state;
    util_dev_t a, b, c;
    util_dev_open(&a, "rm2-a");
    util_dev_open(&b, "rm2-b");
    util_dev_open(&c, "rm2-c");
    s_mesh3(&a, &b, &c);
    /* concurrent: A removes C while B adds C again (new name), neither heard of the other */
    assert_int_equal(mesh_peer_remove(a.m, c.id), MESH_OK);
    assert_int_equal(mesh_peer_add(b.m, c.id, "again", NULL, 0), MESH_OK);
    (void)s_xfer(&b, &a);
    (void)s_xfer(&a, &b);
    assert_int_equal(s_listed_removed(&a, c.id), 1);
    assert_int_equal(s_listed_removed(&b, c.id), 1);
    assert_int_equal(mesh_peer_add(a.m, c.id, NULL, NULL, 0), MESH_EUNPAIRED);
    assert_int_equal(mesh_peer_add(b.m, c.id, NULL, NULL, 0), MESH_EUNPAIRED);
    assert_int_equal(mesh_peer_remove(b.m, c.id), MESH_OK); /* concurrent removals: same */
    assert_int_equal(s_listed_removed(&b, c.id), 1);
    assert_int_equal(mesh_peer_remove(b.m, "not an id"), MESH_EBADID);

    assert_int_equal(mesh_peer_remove(b.m, b.id), MESH_OK); /* a member removing itself */
    assert_int_equal(s_listed_removed(&b, b.id), 1);
    (void)s_xfer(&b, &a);
    assert_int_equal(s_listed_removed(&a, b.id), 1);
    assert_int_equal(s_listed_removed(&a, a.id), 0);
    util_dev_close(&c);
    util_dev_close(&b);
    util_dev_close(&a);
}

/* Is d's frozen record of subject signed by signer there, and provisional? (-1: none) */
static int
s_frozen_provisional(util_dev_t *d, const char *subject, const char *signer)
{
    char key[256];
    void *v = NULL;
    size_t len = 0;
    int klen = snprintf(key, sizeof key, REMOVAL_FROZEN_PREFIX "%s/%s", subject, signer);
    mesh_err_t err = mesh_get(d->m, "_mesh", key, (size_t)klen, &v, &len);
    if (err == MESH_ENOTFOUND) {
        return -1;
    }
    assert_int_equal(err, MESH_OK);
    int r = removal_frozen_provisional(v, len) ? 1 : 0;
    mesh_free(v);
    return r;
}

/* Four members: A removes B and B removes A, neither heard of the other; C takes A's
 * record first (B removed there, B's rm of A held back), D takes B's first. Each publishes
 * a provisional frozen record of the member the rm record it holds names, so each held
 * record falls within the other's cut: C and D end with A and B removed, the same data
 * (A's write C took, B's write D took), and final (rewritten) frozen records. Before the
 * rule each waited for the other's frozen record for good (PROTOCOL §8.2). */
static void
test_removal_mutual_four(void **state)
{
    (void)state;
    util_dev_t a, b, c, d;
    util_dev_open(&a, "rm4-a");
    util_dev_open(&b, "rm4-b");
    util_dev_open(&c, "rm4-c");
    util_dev_open(&d, "rm4-d");
    util_dev_t *all[4] = {&a, &b, &c, &d};
    for (int i = 0; i < 4; i++) {
        for (int j = 0; j < 4; j++) {
            if (i != j) {
                assert_int_equal(mesh_peer_add(all[i]->m, all[j]->id, NULL, NULL, 0), MESH_OK);
            }
        }
    }
    util_put(a.m, "n", "a1", "A's");
    util_put(b.m, "n", "b1", "B's");
    assert_int_equal(mesh_peer_remove(a.m, b.id), MESH_OK);
    assert_int_equal(mesh_peer_remove(b.m, a.id), MESH_OK);
    (void)s_xfer(&a, &c);
    mesh_import_report_t rep = s_xfer(&b, &c);
    assert_true(rep.sets_held >= 1); /* B's rm of A among them */
    (void)s_xfer(&b, &d);
    (void)s_xfer(&a, &d);
    assert_int_equal(s_listed_removed(&c, a.id), 0);
    assert_int_equal(s_listed_removed(&c, b.id), 1);
    assert_int_equal(s_listed_removed(&d, a.id), 1);
    assert_int_equal(s_listed_removed(&d, b.id), 0);

    for (int round = 0; round < 4; round++) { /* C and D sync, A and B cut off */
        (void)s_xfer(&c, &d);
        (void)s_xfer(&d, &c);
    }
    for (int i = 2; i < 4; i++) {
        assert_int_equal(s_listed_removed(all[i], a.id), 1);
        assert_int_equal(s_listed_removed(all[i], b.id), 1);
        util_expect(all[i]->m, "n", "a1", "A's");
        util_expect(all[i]->m, "n", "b1", "B's");
        assert_int_equal(s_frozen_provisional(all[i], a.id, c.id), 0); /* final */
        assert_int_equal(s_frozen_provisional(all[i], b.id, d.id), 0); /* rewritten */
    }
    char dc[65], dd[65];
    util_digest(c.m, "n", dc);
    util_digest(d.m, "n", dd);
    assert_string_equal(dc, dd);
    assert_int_equal(s_held(&c, a.id) + s_held(&c, b.id), 0);
    assert_int_equal(s_held(&d, a.id) + s_held(&d, b.id), 0);
    for (int i = 3; i >= 0; i--) {
        util_dev_close(all[i]);
    }
}

/* A removed device's frozen record of itself counts for nothing (seed 144 of
 * test_model_members): C, removed by A, writes c2 after A heard, then hears and would
 * publish frozen/C/C (the highest of its own seqs, c2's among them). B takes that record
 * with A's rm record from C's bundle before it hears, so the record was valid everywhere
 * and made c2 valid, though no member took c2 before it heard: A held c2 above its cut,
 * then applied it. Now C publishes no record of itself, a record of the subject itself is
 * left out of the cut, and c2 ends on neither A nor B. */
static void
test_removal_self_record(void **state)
{
    (void)state;
    util_dev_t a, b, c;
    util_dev_open(&a, "rms-a");
    util_dev_open(&b, "rms-b");
    util_dev_open(&c, "rms-c");
    s_mesh3(&a, &b, &c);
    util_put(c.m, "n", "c1", "one");
    (void)s_xfer(&c, &a);
    (void)s_xfer(&c, &b);
    assert_int_equal(mesh_peer_remove(a.m, c.id), MESH_OK);
    util_put(c.m, "n", "c2", "two"); /* after A heard; C has not */
    (void)s_xfer(&a, &c);            /* C hears of its removal */
    assert_int_equal(s_listed_removed(&c, c.id), 1);
    assert_int_equal(s_frozen_provisional(&c, c.id, c.id), -1); /* none of itself */
    (void)s_xfer(&c, &b); /* B hears from C's own bundle, and takes c2 after it heard */
    assert_int_equal(s_listed_removed(&b, c.id), 1);
    for (int round = 0; round < 3; round++) {
        (void)s_xfer(&b, &a);
        (void)s_xfer(&a, &b);
        (void)s_xfer(&c, &a);
    }
    util_expect(a.m, "n", "c1", "one");
    util_expect(b.m, "n", "c1", "one");
    util_expect(a.m, "n", "c2", NULL);
    util_expect(b.m, "n", "c2", NULL);
    assert_int_equal(s_held(&a, c.id) + s_held(&b, c.id), 0);
    char da[65], db[65];
    util_digest(a.m, "n", da);
    util_digest(b.m, "n", db);
    assert_string_equal(da, db);
    util_dev_close(&c);
    util_dev_close(&b);
    util_dev_close(&a);
}

/* A member's set whose context names a removed device's dot that no member will ever hold
 * applies (model seed 684): C, removed by A, writes c2 over c1; B takes it before it hears
 * and writes over it (its context names c2); D, which heard of C's removal, takes B's
 * write (c2 held back there, then rejected: B is removed next and D's record lacks c2) and
 * writes over it in turn. A never holds c2 nor a header of it, so D's write waited on A
 * for good, for a dot rejected everywhere; A and D never met. A context dot of a removed
 * device no longer makes a set wait (core/apply/causal.c, PROTOCOL §8.2). */
static void
test_removal_context_dot(void **state)
{
    (void)state;
    util_dev_t a, b, c, d;
    util_dev_open(&a, "rmc-a");
    util_dev_open(&b, "rmc-b");
    util_dev_open(&c, "rmc-c");
    util_dev_open(&d, "rmc-d");
    util_dev_t *all[4] = {&a, &b, &c, &d};
    for (int i = 0; i < 4; i++) {
        for (int j = 0; j < 4; j++) {
            if (i != j) {
                assert_int_equal(mesh_peer_add(all[i]->m, all[j]->id, NULL, NULL, 0), MESH_OK);
            }
        }
    }
    util_put(c.m, "n", "k", "c1");
    for (int i = 0; i < 4; i++) {
        for (int j = 0; j < 4; j++) {
            if (i != j) {
                (void)s_xfer(all[i], all[j]);
            }
        }
    }
    assert_int_equal(mesh_peer_remove(a.m, c.id), MESH_OK);
    (void)s_xfer(&a, &d); /* D hears of C's removal */
    util_put(c.m, "n", "k", "c2");
    (void)s_xfer(&c, &b); /* B takes c2 before it hears */
    util_expect(b.m, "n", "k", "c2");
    util_put(b.m, "n", "k", "b"); /* its context names c2 */
    (void)s_xfer(&b, &d);         /* D: c2 held back (B has not published), b applied */
    util_expect(d.m, "n", "k", "b");
    assert_int_equal(mesh_peer_remove(a.m, b.id), MESH_OK); /* before B published */
    (void)s_xfer(&a, &d);                                   /* D hears: c2 rejected there */
    util_put(d.m, "n", "k", "d"); /* its context names b's dot and c2 */
    for (int round = 0; round < 3; round++) {
        (void)s_xfer(&d, &a);
        (void)s_xfer(&a, &d);
    }
    util_expect(d.m, "n", "k", "d");
    util_expect(a.m, "n", "k", "d"); /* before: D's write waited on A for c2, for good */
    char da[65], dd[65];
    util_digest(a.m, "n", da);
    util_digest(d.m, "n", dd);
    assert_string_equal(da, dd);
    for (int i = 3; i >= 0; i--) {
        util_dev_close(all[i]);
    }
}

/* A frozen value's lines: exactly (incarnation, collection), the highest seq; others pass. */
static void
test_removal_frozen_seq(void **state)
{
    (void)state;
    const char *v = "00000000000000ab 7 notes\n"
                    "00000000000000ab 9 notes x\n"
                    "00000000000000ac 12 notes\n"
                    "garbage line\n"
                    "00000000000000ab 3 notes\n"
                    "00000000000000ab 8 _mesh";
    size_t n = strlen(v);
    assert_int_equal(removal_frozen_seq((const uint8_t *)v, n, 0xab, "notes"), 7);
    assert_int_equal(removal_frozen_seq((const uint8_t *)v, n, 0xab, "notes x"), 9);
    assert_int_equal(removal_frozen_seq((const uint8_t *)v, n, 0xac, "notes"), 12);
    assert_int_equal(removal_frozen_seq((const uint8_t *)v, n, 0xab, "_mesh"), 8);
    assert_int_equal(removal_frozen_seq((const uint8_t *)v, n, 0xad, "notes"), 0);
    assert_int_equal(removal_frozen_seq((const uint8_t *)v, 0, 0xab, "notes"), 0);
    const char *p = REMOVAL_PROVISIONAL "00000000000000ab 4 notes\n";
    assert_true(removal_frozen_provisional((const uint8_t *)p, strlen(p)));
    assert_int_equal(removal_frozen_seq((const uint8_t *)p, strlen(p), 0xab, "notes"), 4);
    assert_false(removal_frozen_provisional((const uint8_t *)v, n));
    assert_false(removal_frozen_provisional((const uint8_t *)"provisional", 11));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_removal_cut),
        cmocka_unit_test(test_removal_stale_member),
        cmocka_unit_test(test_removal_two_phase),
        cmocka_unit_test(test_removal_mutual_four),
        cmocka_unit_test(test_removal_frozen_seq),
        cmocka_unit_test(test_removal_self_record),
        cmocka_unit_test(test_removal_context_dot),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
