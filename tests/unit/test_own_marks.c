/* tests/unit/test_own_marks.c: a watermark naming the receiver's own origin changes nothing
 * (docs/PROTOCOL.md §5.6: only its own commits move a device's own dots). Found by fuzz_apply
 * (tests/fuzz/corpus/apply/crash-own-mark-max): a bundle whose watermark said "you hold your
 * own dots up to 2^64-1" raised the device's own base to 2^64-1, after which every local
 * commit to that collection (mesh_peer_add's _mesh record included) failed with MESH_EINVAL
 * and no detail, for good. Kept apart from test_apply.c so that it merges alone.
 * Layer: tests. Third-party: cmocka. SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "core/base/node.h"
#include "core/wire/buf.h"
#include "core/wire/doc.h"
#include "crypto/devid.h"
#include "crypto/ident.h"
#include "meshsync.h"
#include "store/store.h"
#include "util.h"

static char g_dir[256], g_home[320];

static int
s_setup(void **state)
{
    (void)state;
    return util_temp_home("meshsync-own-marks", g_dir, sizeof g_dir, g_home, sizeof g_home);
}

static int
s_teardown(void **state)
{
    (void)state;
    return util_rm_tree(g_dir) == 0 ? 0 : -1;
}

/* A bundle of two sections (_mesh, then coll), no set, each with one watermark for m's own
 * origin and current incarnation at seq; imported into m. */
static void
s_import_own_marks(mesh_t *m, const char *coll, uint64_t seq)
{
    wire_buf_t b;
    wire_mark_t mark = {.incarnation = store_incarnation(m->store), .seq = seq};
    mesh_import_report_t rep = {.size = sizeof rep};
    memcpy(mark.origin, ident_public_key(m->ident), WIRE_ORIGIN_LEN);
    wire_buf_init(&b);
    CHECK_OK(wire_bundle_begin(2, &b));
    CHECK_OK(wire_section_begin("_mesh", 0, &b));
    CHECK_OK(wire_section_marks(&mark, 1, &b));
    CHECK_OK(wire_section_begin(coll, 0, &b));
    CHECK_OK(wire_section_marks(&mark, 1, &b));
    CHECK_OK(mesh_import(m, b.data, b.len, &rep));
    CHECK_EQ(rep.sets_rejected, 0);
    mesh_free(rep.text);
    wire_buf_release(&b);
}

/* After watermarks for its own dots at 2^64-1 and at 5, a device's next commits take the
 * seqs that follow its own last one (2, then 3), and it still adds a member. */
static void
test_own_marks_ignored(void **state)
{
    (void)state;
    mesh_t *m = NULL;
    char other[MESH_ID_TEXT_LEN + 1];
    const char *keys[] = {"k"}, *values[] = {"v"};
    CHECK_OK(util_open(g_home, true, "a", 16u << 20, &m));
    CHECK_EQ(util_commit(m, "notes", keys, values, 1), 1);
    s_import_own_marks(m, "notes", UINT64_MAX);
    CHECK_EQ(util_commit(m, "notes", keys, values, 1), 2);
    s_import_own_marks(m, "notes", 5);
    CHECK_EQ(util_commit(m, "notes", keys, values, 1), 3);
    util_expect(m, "notes", "k", "v");
    CHECK(util_check_digest(m, "notes"));
    /* the _mesh record of an add, the commit the fuzzer saw fail */
    CHECK_OK(ident_lib_init());
    ident_t *id = NULL;
    CHECK_OK(ident_generate(&id));
    devid_format(ident_public_key(id), other);
    ident_free(id);
    CHECK_OK(mesh_peer_add(m, other, NULL, NULL, 0));
    mesh_close(m);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_own_marks_ignored),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
