/* tests/unit/test_folder.c: unit tests of core/folder/ and core/wire/blockmsg
 * (docs/PROTOCOL.md §18.5-§18.7) on real stores and real directories: the block message
 * bodies (round trips, every refusal); the registry (add, a second add refused, ls with an
 * offered folder, rm keeps every file); a scan writes one entry per path, a rescan of an
 * unchanged tree reads no file content (/proc/self/io) and writes nothing, an edit and a
 * delete are written, a missing marker stops the folder with nothing deleted; realize on a
 * second node (the index carried by a bundle): directories, a symlink, files built from the
 * blocks the first node's block index reads back (a wrong block is never taken), a local
 * change not scanned yet is kept, and a delete; the version retention in the registry (a
 * record written before it existed reads as 30 days, set, refused values), add --with (a
 * member not named may not hold the index nor be sent blocks), and the user's
 * calls over a folder's directory (mesh_folder_versions, _restore, _conflicts) without a
 * daemon.
 * Layer: tests. Third-party: cmocka. SPDX-License-Identifier: MIT */
#include "core/base/node.h"
#include "core/folder/blockidx.h"
#include "core/folder/index.h"
#include "core/folder/realize.h"
#include "core/folder/registry.h"
#include "core/wire/blockmsg.h"
#include "core/wire/msg.h"
#include "crypto/devid.h"
#include "crypto/ident.h"
#include "fs/versions.h"
#include "store/store.h"
#include "util.h"

#include <fcntl.h>
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

#define S_ID "fold-1"

/* ---- block messages ---- */

static void
test_blockmsg_bodies(void **state)
{
    (void)state;
    uint8_t hash[32], data[100];
    util_fill(hash, sizeof hash, 1);
    util_fill(data, sizeof data, 2);
    wire_buf_t b;
    wire_buf_init(&b);
    wire_block_req_t req = {.folder = S_ID, .folder_len = strlen(S_ID), .hash = hash}, rd;
    CHECK_OK(wire_block_req_encode(&req, &b));
    CHECK_OK(wire_block_req_decode(b.data, b.len, &rd));
    CHECK(rd.folder_len == req.folder_len && memcmp(rd.folder, S_ID, rd.folder_len) == 0);
    CHECK(memcmp(rd.hash, hash, 32) == 0);
    CHECK_EQ(wire_block_req_decode(b.data, b.len - 1, &rd), MESH_EPROTO);
    b.data[b.len - 33] = 0xc4; /* (still a bin header) */
    req.folder = "a/b";
    req.folder_len = 3;
    wire_buf_reset(&b);
    CHECK_EQ(wire_block_req_encode(&req, &b), MESH_EINVAL);
    wire_block_t blk = {.status = WIRE_BLOCK_HERE, .hash = hash, .data = data, .data_len = 100};
    wire_block_t bd;
    CHECK_OK(wire_block_encode(&blk, &b));
    CHECK_OK(wire_block_decode(b.data, b.len, &bd));
    CHECK(bd.data_len == 100 && memcmp(bd.data, data, 100) == 0);
    b.data[2] = WIRE_BLOCK_NOT_HELD; /* "not held" with data */
    CHECK_EQ(wire_block_decode(b.data, b.len, &bd), MESH_EPROTO);
    CHECK(bd.data == NULL && bd.hash == NULL);
    blk.data_len = 0;
    wire_buf_reset(&b);
    CHECK_EQ(wire_block_encode(&blk, &b), MESH_EINVAL);
    blk.status = WIRE_BLOCK_NOT_HELD;
    CHECK_OK(wire_block_encode(&blk, &b));
    CHECK_OK(wire_block_decode(b.data, b.len, &bd));
    CHECK(bd.status == WIRE_BLOCK_NOT_HELD && bd.data_len == 0);
    wire_buf_release(&b);
}

/* Layout 2: several hashes in one BLOCK_REQ, several blocks in one BLOCK; each layout's
 * decoder refuses the other's body; the caps (entries, data in all) hold both ways. */
static void
test_blockmsg_many(void **state)
{
    (void)state;
    static uint8_t hash[WIRE_BLOCKMSG_MULTI_MAX + 1][32], big[WIRE_FENTRY_BLOCK_MAX];
    for (size_t i = 0; i <= WIRE_BLOCKMSG_MULTI_MAX; i++) {
        util_fill(hash[i], 32, (unsigned)i + 1);
    }
    util_fill(big, sizeof big, 7);
    wire_buf_t b;
    wire_buf_init(&b);
    wire_blocks_req_t req = {.folder = S_ID, .folder_len = strlen(S_ID), .n = 3}, rd;
    for (size_t i = 0; i <= WIRE_BLOCKMSG_MULTI_MAX; i++) {
        req.hash[i < WIRE_BLOCKMSG_MULTI_MAX ? i : 0] = hash[i];
    }
    CHECK_OK(wire_blocks_req_encode(&req, &b));
    CHECK_OK(wire_blocks_req_decode(b.data, b.len, &rd));
    CHECK(rd.n == 3 && rd.folder_len == strlen(S_ID) && memcmp(rd.hash[2], hash[2], 32) == 0);
    wire_block_req_t one;
    CHECK_EQ(wire_block_req_decode(b.data, b.len, &one), MESH_EPROTO); /* (layout 2) */
    CHECK_EQ(wire_blocks_req_decode(b.data, b.len - 1, &rd), MESH_EPROTO);
    CHECK(rd.n == 0 && rd.folder == NULL);
    req.n = 0;
    CHECK_EQ(wire_blocks_req_encode(&req, &b), MESH_EINVAL);
    req.n = WIRE_BLOCKMSG_MULTI_MAX + 1;
    CHECK_EQ(wire_blocks_req_encode(&req, &b), MESH_EINVAL);
    wire_buf_reset(&b);
    wire_blocks_t blks = {.n = 2}, bd;
    blks.blk[0] =
        (wire_block_t){.status = WIRE_BLOCK_HERE, .hash = hash[0], .data = big, .data_len = 4096};
    blks.blk[1] = (wire_block_t){.status = WIRE_BLOCK_NOT_HELD, .hash = hash[1]};
    CHECK_OK(wire_blocks_encode(&blks, &b));
    CHECK_OK(wire_blocks_decode(b.data, b.len, &bd));
    CHECK(bd.n == 2 && bd.blk[0].data_len == 4096 && memcmp(bd.blk[0].data, big, 4096) == 0);
    CHECK(bd.blk[1].status == WIRE_BLOCK_NOT_HELD && memcmp(bd.blk[1].hash, hash[1], 32) == 0);
    wire_block_t single;
    CHECK_EQ(wire_block_decode(b.data, b.len, &single), MESH_EPROTO);
    b.data[b.len - 36] = WIRE_BLOCK_HERE; /* "here" without data: malformed */
    CHECK_EQ(wire_blocks_decode(b.data, b.len, &bd), MESH_EPROTO);
    CHECK(bd.n == 0);
    /* 1 MiB and one more block: over the data cap in all */
    blks.blk[0].data_len = WIRE_FENTRY_BLOCK_MAX;
    blks.blk[1] =
        (wire_block_t){.status = WIRE_BLOCK_HERE, .hash = hash[1], .data = big, .data_len = 1};
    wire_buf_reset(&b);
    CHECK_EQ(wire_blocks_encode(&blks, &b), MESH_EINVAL);
    blks.n = 1;
    CHECK_OK(wire_blocks_encode(&blks, &b));
    CHECK(b.len <= WIRE_BLOCK_MAX);
    wire_buf_release(&b);
}

/* ---- helpers ---- */

static void
s_write(const char *dir, const char *rel, const void *p, size_t n)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    FILE *f = fopen(path, "wb");
    CHECK(f && (n == 0 || fwrite(p, 1, n, f) == n));
    CHECK(fclose(f) == 0);
}

static uint64_t
s_rchar(void)
{
    FILE *f = fopen("/proc/self/io", "r");
    char line[128];
    uint64_t v = UINT64_MAX;
    while (f && fgets(line, sizeof line, f)) {
        if (strncmp(line, "rchar:", 6) == 0) {
            v = strtoull(line + 6, NULL, 10);
        }
    }
    if (f) {
        fclose(f);
    }
    return v;
}

/* The decoded entry of path in f's index; false when it has none. */
static bool
s_entry(mesh_t *m, const folder_t *f, const char *path, wire_fentry_t *e)
{
    void *v = NULL;
    size_t len = 0;
    if (mesh_get(m, f->coll, path, strlen(path), &v, &len) != MESH_OK) {
        return false;
    }
    CHECK_OK(wire_fentry_decode(v, len, e));
    mesh_free(v);
    return true;
}

static bool
s_same_file(const char *a, const char *b)
{
    FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
    bool same = fa && fb;
    for (int ca = 0, cb = 0; same && ca != EOF;) {
        ca = fgetc(fa), cb = fgetc(fb);
        same = ca == cb;
    }
    if (fa) {
        fclose(fa);
    }
    if (fb) {
        fclose(fb);
    }
    return same;
}

/* ---- registry ---- */

static void
test_registry(void **state)
{
    (void)state;
    util_dev_t a;
    char dir[600], id[80];
    util_dev_open(&a, "alpha");
    snprintf(dir, sizeof dir, "%s/f", a.dir);
    CHECK(mkdir(dir, 0755) == 0);
    s_write(dir, "keep.txt", "x", 1);
    CHECK_OK(mesh_folder_add(a.m, dir, NULL, id, sizeof id));
    CHECK(registry_id_ok(id, strlen(id)));
    CHECK_EQ(mesh_folder_add(a.m, dir, "other", NULL, 0), MESH_EEXIST);
    CHECK_EQ(mesh_folder_add(a.m, dir, "bad/id", NULL, 0), MESH_EINVAL);
    /* a collection "folder:X" held here with no registry record: offered */
    util_put(a.m, "folder:OFFERED-1", "p", "v");
    mesh_folder_list_t *l = NULL;
    CHECK_OK(mesh_folder_ls(a.m, &l));
    CHECK_EQ(mesh_folder_list_count(l), 2);
    CHECK(strcmp(mesh_folder_list_get(l, 0)->id, id) == 0 && mesh_folder_list_get(l, 0)->joined);
    CHECK(strcmp(mesh_folder_list_get(l, 1)->id, "OFFERED-1") == 0 &&
          !mesh_folder_list_get(l, 1)->path);
    mesh_folder_list_free(l);
    CHECK_OK(mesh_folder_rm(a.m, id));
    CHECK_EQ(mesh_folder_rm(a.m, id), MESH_ENOTFOUND);
    char keep[700];
    snprintf(keep, sizeof keep, "%s/keep.txt", dir);
    CHECK(access(keep, F_OK) == 0);
    /* added again without an ID: the marker's */
    char again[80];
    CHECK_OK(mesh_folder_add(a.m, dir, NULL, again, sizeof again));
    CHECK(strcmp(again, id) == 0);
    util_dev_close(&a);
}

/* The registry record as a node before the retention existed wrote it: one folder. */
static mesh_err_t
s_old_record(store_txn_t *txn, void *ctx)
{
    const char *root = ctx;
    uint8_t rec[600];
    size_t n = 0, rlen = strlen(root);
    rec[n++] = 3;
    memcpy(rec + n, "OLD", 3);
    n += 3;
    rec[n++] = (uint8_t)(rlen & 0xff);
    rec[n++] = (uint8_t)(rlen >> 8);
    memcpy(rec + n, root, rlen);
    n += rlen;
    return store_meta_put(txn, "folders", rec, n);
}

static void
test_registry_versions(void **state)
{
    (void)state;
    util_dev_t a;
    char dir[600], other[600], id[80];
    util_dev_open(&a, "alpha");
    snprintf(dir, sizeof dir, "%s/f", a.dir);
    snprintf(other, sizeof other, "%s/g", a.dir);
    CHECK(mkdir(dir, 0755) == 0 && mkdir(other, 0755) == 0);
    CHECK_OK(store_write(a.m->store, s_old_record, dir));
    CHECK_EQ(registry_versions_days(a.m, "OLD"), VERSIONS_DAYS_DEFAULT);
    /* a new folder: its days kept beside the old one's */
    mesh_folder_add_options_t o = {.size = sizeof o, .id = "NEW", .versions_days = 7};
    CHECK_OK(mesh_folder_add_ex(a.m, other, &o, id, sizeof id));
    CHECK_EQ(registry_versions_days(a.m, "NEW"), 7);
    CHECK_EQ(registry_versions_days(a.m, "OLD"), VERSIONS_DAYS_DEFAULT);
    CHECK_OK(mesh_folder_set_versions(a.m, "OLD", MESH_FOLDER_VERSIONS_OFF));
    CHECK_EQ(registry_versions_days(a.m, "OLD"), 0);
    CHECK_EQ(registry_versions_days(a.m, "NEW"), 7);
    CHECK_OK(mesh_folder_set_versions(a.m, "NEW", 0)); /* 0: the default */
    CHECK_EQ(registry_versions_days(a.m, "NEW"), VERSIONS_DAYS_DEFAULT);
    CHECK_EQ(mesh_folder_set_versions(a.m, "NEW", VERSIONS_DAYS_MAX + 1), MESH_EINVAL);
    CHECK_EQ(mesh_folder_set_versions(a.m, "NONE", 3), MESH_ENOTFOUND);
    CHECK_EQ(registry_versions_days(a.m, "NONE"), VERSIONS_DAYS_DEFAULT);
    o.id = "THIRD";
    o.versions_days = VERSIONS_DAYS_MAX + 1;
    CHECK_EQ(mesh_folder_add_ex(a.m, a.dir, &o, NULL, 0), MESH_EINVAL);
    /* --with an ID that is no member: nothing recorded */
    const char *with[] = {"AAAAAA-AAAAAA-AAAAAA-AAAAAA-AAAAAA-AAAAAA-AAAAAA-AAAAAA-AAAAAA"};
    o.versions_days = 0;
    o.with = with;
    o.with_count = 1;
    CHECK(mesh_folder_add_ex(a.m, a.dir, &o, NULL, 0) != MESH_OK);
    mesh_folder_list_t *l = NULL;
    CHECK_OK(mesh_folder_ls(a.m, &l));
    CHECK_EQ(mesh_folder_list_count(l), 2);
    mesh_folder_list_free(l);
    util_dev_close(&a);
}

/* folder add --with: the index collection's access list holds this device and the named
 * member, so a third member may not be sent its blocks; without --with, every member may. */
static void
test_registry_with(void **state)
{
    (void)state;
    util_dev_t a, b, c;
    char dir[600], open_dir[600];
    uint8_t pkb[32], pkc[32];
    util_dev_open(&a, "alpha");
    util_dev_open(&b, "beta");
    util_dev_open(&c, "gamma");
    CHECK_OK(mesh_peer_add(a.m, b.id, NULL, NULL, 0));
    CHECK_OK(mesh_peer_add(a.m, c.id, NULL, NULL, 0));
    CHECK_OK(devid_parse(b.id, pkb));
    CHECK_OK(devid_parse(c.id, pkc));
    snprintf(dir, sizeof dir, "%s/f", a.dir);
    snprintf(open_dir, sizeof open_dir, "%s/g", a.dir);
    CHECK(mkdir(dir, 0755) == 0 && mkdir(open_dir, 0755) == 0);
    const char *with[] = {b.id};
    mesh_folder_add_options_t o = {.size = sizeof o, .id = "W", .with = with, .with_count = 1};
    CHECK_OK(mesh_folder_add_ex(a.m, dir, &o, NULL, 0));
    CHECK_OK(mesh_folder_add(a.m, open_dir, "OPEN", NULL, 0));
    CHECK(registry_may_hold(a.m, "W", pkb));
    CHECK(!registry_may_hold(a.m, "W", pkc));
    CHECK(registry_may_hold(a.m, "OPEN", pkc));
    mesh_member_list_t *ml = NULL;
    CHECK_OK(mesh_members(a.m, "folder:W", &ml));
    CHECK(mesh_member_list_restricted(ml));
    CHECK_EQ(mesh_member_list_count(ml), 2); /* this device and b */
    mesh_member_list_free(ml);
    util_dev_close(&c);
    util_dev_close(&b);
    util_dev_close(&a);
}

/* The user's calls over a folder's directory, no daemon: versions listed and restored (the
 * current file kept first), conflict copies listed with what their names say. */
static void
test_history_calls(void **state)
{
    (void)state;
    util_dev_t a;
    char dir[600], id[80], why[200];
    util_dev_open(&a, "alpha");
    snprintf(dir, sizeof dir, "%s/f", a.dir);
    CHECK(mkdir(dir, 0755) == 0);
    CHECK_OK(mesh_folder_add(a.m, dir, "H", id, sizeof id));
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    CHECK(fd >= 0);
    s_write(dir, "a.txt", "one", 3);
    CHECK_OK(versions_keep(fd, "a.txt", 1796451300, why, sizeof why));
    s_write(dir, "a.txt", "two!", 4);
    mesh_folder_version_list_t *vl = NULL;
    CHECK_OK(mesh_folder_versions(a.m, "H", "a.txt", &vl));
    CHECK_EQ(mesh_folder_version_list_count(vl), 1);
    CHECK_EQ(mesh_folder_version_list_get(vl, 0)->when, 1796451300);
    CHECK_EQ(mesh_folder_version_list_get(vl, 0)->bytes, 3);
    CHECK(mesh_folder_version_list_get(vl, 1) == NULL);
    mesh_folder_version_list_free(vl);
    int64_t got = 0;
    CHECK_EQ(mesh_folder_restore(a.m, "H", "a.txt", 1796451299, &got), MESH_ENOTFOUND);
    CHECK_OK(mesh_folder_restore(a.m, "H", "a.txt", INT64_MAX, &got));
    CHECK_EQ(got, 1796451300);
    char p[700], buf[8] = "";
    snprintf(p, sizeof p, "%s/a.txt", dir);
    FILE *fp = fopen(p, "r");
    CHECK(fp && fread(buf, 1, sizeof buf - 1, fp) == 3 && strcmp(buf, "one") == 0);
    fclose(fp);
    CHECK_OK(mesh_folder_versions(a.m, "H", "a.txt", &vl));
    CHECK_EQ(mesh_folder_version_list_count(vl), 1); /* "two!" kept */
    CHECK_EQ(mesh_folder_version_list_get(vl, 0)->bytes, 4);
    mesh_folder_version_list_free(vl);
    CHECK_EQ(mesh_folder_versions(a.m, "NOPE", "a.txt", &vl), MESH_ENOTFOUND);
    CHECK_EQ(mesh_folder_versions(a.m, "H", "../a.txt", &vl), MESH_EINVAL);
    CHECK(vl == NULL);
    /* conflict copies */
    snprintf(p, sizeof p, "%s/d", dir);
    CHECK(mkdir(p, 0755) == 0);
    s_write(dir, "d/b.sync-conflict-20261205-061500-ABCDEFG.txt", "x", 1);
    s_write(dir, "d/b.txt", "y", 1);
    s_write(dir, "c.sync-conflict-2026", "z", 1); /* not a copy */
    mesh_folder_conflict_list_t *cl = NULL;
    CHECK_OK(mesh_folder_conflicts(a.m, NULL, &cl));
    CHECK_EQ(mesh_folder_conflict_list_count(cl), 1);
    const mesh_folder_conflict_t *c = mesh_folder_conflict_list_get(cl, 0);
    CHECK(strcmp(c->folder, "H") == 0 && strcmp(c->original, "d/b.txt") == 0 &&
          strcmp(c->device, "ABCDEFG") == 0 && c->when == 1796451300 &&
          strcmp(c->path, "d/b.sync-conflict-20261205-061500-ABCDEFG.txt") == 0);
    mesh_folder_conflict_list_free(cl);
    CHECK_EQ(mesh_folder_conflicts(a.m, "NOPE", &cl), MESH_ENOTFOUND);
    /* a folder whose marker is gone: skipped in the whole list, an error when named */
    char marker[700];
    snprintf(marker, sizeof marker, "%s/.meshsync/folder-id", dir);
    CHECK(unlink(marker) == 0);
    CHECK_OK(mesh_folder_conflicts(a.m, NULL, &cl));
    CHECK_EQ(mesh_folder_conflict_list_count(cl), 0);
    mesh_folder_conflict_list_free(cl);
    CHECK_EQ(mesh_folder_conflicts(a.m, "H", &cl), MESH_ESTATE);
    CHECK_EQ(mesh_folder_restore(a.m, "H", "a.txt", INT64_MAX, NULL), MESH_ESTATE);
    close(fd);
    util_dev_close(&a);
}

/* ---- scan ---- */

static void
test_scan_writes_index(void **state)
{
    (void)state;
    util_dev_t a;
    char dir[600], why[256];
    util_dev_open(&a, "alpha");
    snprintf(dir, sizeof dir, "%s/f", a.dir);
    CHECK(mkdir(dir, 0755) == 0);
    CHECK_OK(scan_marker_write(dir, S_ID, why, sizeof why));
    size_t big_len = 3u << 20;
    uint8_t *big = malloc(big_len);
    util_fill(big, big_len, 7);
    s_write(dir, "big.bin", big, big_len);
    s_write(dir, "small.txt", "hello", 5);
    char sub[700];
    snprintf(sub, sizeof sub, "%s/sub", dir);
    CHECK(mkdir(sub, 0750) == 0);
    s_write(dir, "sub/x", "x", 1);
    snprintf(sub, sizeof sub, "%s/link", dir);
    CHECK(symlink("sub/x", sub) == 0);
    folder_t *f = index_folder_new(S_ID, dir);
    bool changed = false;
    CHECK_OK(index_scan(a.m, f, &changed));
    CHECK(changed && f->state == SCAN_ROOT_OK);
    wire_fentry_t e;
    CHECK(s_entry(a.m, f, "big.bin", &e));
    CHECK(e.type == WIRE_FENTRY_FILE && e.size == big_len && e.nblocks >= 3);
    wire_fentry_release(&e);
    CHECK(s_entry(a.m, f, "sub", &e) && e.type == WIRE_FENTRY_DIR && e.mode == 0750 &&
          e.mtime_ns == 0);
    wire_fentry_release(&e);
    CHECK(s_entry(a.m, f, "link", &e) && e.type == WIRE_FENTRY_SYMLINK &&
          strcmp(e.target, "sub/x") == 0);
    wire_fentry_release(&e);
    CHECK(!s_entry(a.m, f, ".meshsync/folder-id", &e));
    /* a rescan of the unchanged tree reads no content and writes nothing */
    uint64_t r0 = s_rchar();
    CHECK_OK(index_scan(a.m, f, &changed));
    CHECK(!changed);
    CHECK(s_rchar() - r0 < 64 * 1024);
    /* the records survive: a new state (a restart) rescans reading nothing either */
    index_folder_free(f);
    f = index_folder_new(S_ID, dir);
    r0 = s_rchar();
    CHECK_OK(index_scan(a.m, f, &changed));
    CHECK(!changed && s_rchar() - r0 < 256 * 1024);
    /* an edit and a delete */
    sleep(0); /* (mtimes are in ns) */
    s_write(dir, "small.txt", "hello, world", 12);
    char p[700];
    snprintf(p, sizeof p, "%s/sub/x", dir);
    CHECK(unlink(p) == 0);
    CHECK_OK(index_scan(a.m, f, &changed));
    CHECK(changed);
    CHECK(s_entry(a.m, f, "small.txt", &e) && e.size == 12);
    wire_fentry_release(&e);
    CHECK(!s_entry(a.m, f, "sub/x", &e));
    /* the marker gone: stopped, nothing deleted */
    snprintf(p, sizeof p, "%s/.meshsync/folder-id", dir);
    CHECK(unlink(p) == 0);
    snprintf(p, sizeof p, "%s/big.bin", dir);
    CHECK(unlink(p) == 0);
    CHECK_OK(index_scan(a.m, f, &changed));
    CHECK(!changed && f->state == SCAN_ROOT_NO_MARKER);
    CHECK(s_entry(a.m, f, "big.bin", &e));
    wire_fentry_release(&e);
    index_folder_free(f);
    free(big);
    util_dev_close(&a);
}

/* A scan in parts: each part reads at most max_files files and commits them; a file not
 * read yet is neither written nor taken as deleted (its old entry stays), a file gone is
 * deleted at once (every part walks the whole tree), and the parts end with the whole tree. */
static void
test_scan_in_parts(void **state)
{
    (void)state;
    util_dev_t a;
    char dir[600], why[256], name[32], p[700];
    util_dev_open(&a, "alpha");
    snprintf(dir, sizeof dir, "%s/f", a.dir);
    CHECK(mkdir(dir, 0755) == 0);
    CHECK_OK(scan_marker_write(dir, S_ID, why, sizeof why));
    snprintf(p, sizeof p, "%s/d", dir);
    CHECK(mkdir(p, 0755) == 0);
    for (int i = 0; i < 10; i++) {
        snprintf(name, sizeof name, "d/f%d", i);
        s_write(dir, name, name, strlen(name));
    }
    folder_t *f = index_folder_new(S_ID, dir);
    bool changed = false;
    wire_fentry_t e;
    int parts = 0;
    do {
        CHECK_OK(index_scan_some(a.m, f, 0, 3, &changed));
        CHECK(changed && f->state == SCAN_ROOT_OK);
        parts++;
        CHECK(s_entry(a.m, f, "d", &e)); /* (the directory in the first part) */
        wire_fentry_release(&e);
        CHECK_EQ(f->nrecs, 1 + (size_t)(parts * 3 < 10 ? parts * 3 : 10));
    } while (f->more);
    CHECK_EQ(parts, 4);
    for (int i = 0; i < 10; i++) {
        snprintf(name, sizeof name, "d/f%d", i);
        CHECK(s_entry(a.m, f, name, &e) && e.size == strlen(name));
        wire_fentry_release(&e);
    }
    /* every file changed, one deleted: the first part of two files deletes that one and
     * keeps the entries of the changed files it has not read */
    for (int i = 0; i < 9; i++) {
        snprintf(name, sizeof name, "d/f%d", i);
        s_write(dir, name, "changed!", 8);
    }
    CHECK(unlink(strcat(strcpy(p, dir), "/d/f9")) == 0);
    CHECK_OK(index_scan_some(a.m, f, 0, 2, &changed));
    CHECK(changed && f->more && !f->dirty);
    CHECK(!s_entry(a.m, f, "d/f9", &e));
    int now_changed = 0;
    for (int i = 0; i < 9; i++) {
        snprintf(name, sizeof name, "d/f%d", i);
        CHECK(s_entry(a.m, f, name, &e)); /* (old or new: never deleted) */
        now_changed += e.size == 8;
        wire_fentry_release(&e);
        CHECK(index_find(f, name) != NULL);
    }
    CHECK_EQ(now_changed, 2);
    while (f->more) {
        CHECK_OK(index_scan_some(a.m, f, 0, 2, &changed));
    }
    for (int i = 0; i < 9; i++) {
        snprintf(name, sizeof name, "d/f%d", i);
        CHECK(s_entry(a.m, f, name, &e) && e.size == 8);
        wire_fentry_release(&e);
    }
    /* an unchanged tree: one part, nothing read or written */
    CHECK_OK(index_scan_some(a.m, f, 0, 1, &changed));
    CHECK(!changed && !f->more);
    index_folder_free(f);
    util_dev_close(&a);
}

/* ---- realize ---- */

static void
test_realize_from_blocks(void **state)
{
    (void)state;
    util_dev_t a, b;
    char da[600], db[600], why[256], p[800], q[800];
    util_dev_open(&a, "alpha");
    util_dev_open(&b, "beta");
    CHECK_OK(mesh_peer_add(a.m, b.id, NULL, NULL, 0));
    CHECK_OK(mesh_peer_add(b.m, a.id, NULL, NULL, 0));
    snprintf(da, sizeof da, "%s/f", a.dir);
    snprintf(db, sizeof db, "%s/f", b.dir);
    CHECK(mkdir(da, 0755) == 0 && mkdir(db, 0755) == 0);
    CHECK_OK(scan_marker_write(da, S_ID, why, sizeof why));
    CHECK_OK(scan_marker_write(db, S_ID, why, sizeof why));
    size_t big_len = 2u << 20;
    uint8_t *big = malloc(big_len);
    util_fill(big, big_len, 9);
    snprintf(p, sizeof p, "%s/d", da);
    CHECK(mkdir(p, 0755) == 0);
    s_write(da, "d/big.bin", big, big_len);
    s_write(da, "a.txt", "A", 1);
    s_write(db, "mine.txt", "local", 5); /* B's own, not scanned yet */
    snprintf(p, sizeof p, "%s/ln", da);
    CHECK(symlink("../outside", p) == 0);
    folder_t *fa = index_folder_new(S_ID, da), *fb = index_folder_new(S_ID, db);
    CHECK_OK(index_scan(a.m, fa, NULL));
    /* A's index to B by bundle, and a same-named file on B that B has not scanned */
    s_write(da, "mine.txt", "theirs", 6);
    CHECK_OK(index_scan(a.m, fa, NULL));
    void *bundle = NULL;
    size_t blen = 0;
    mesh_import_report_t rep = {.size = sizeof rep};
    CHECK_OK(mesh_export(a.m, NULL, 0, NULL, 0, &bundle, &blen));
    CHECK_OK(mesh_import(b.m, bundle, blen, &rep));
    mesh_free(bundle);
    CHECK(rep.sets_rejected == 0);
    fb->state = SCAN_ROOT_OK; /* (realize needs the open root a scan leaves) */
    fb->root_fd = open(db, O_RDONLY | O_DIRECTORY);
    fb->loaded = true;
    blockidx_t *bia = blockidx_new(), *bib = blockidx_new();
    folder_t *la[1] = {fa}, *lb[1] = {fb};
    CHECK_OK(blockidx_update(bia, la, 1));
    CHECK_OK(blockidx_update(bib, lb, 1));
    CHECK_OK(realize_pass(b.m, fb, bib));
    /* the directory, the symlink (as a link) and the small file are there; big.bin waits */
    snprintf(q, sizeof q, "%s/ln", db);
    char target[64] = "";
    CHECK(readlink(q, target, sizeof target - 1) == 10 && strcmp(target, "../outside") == 0);
    snprintf(q, sizeof q, "%s/d", db);
    struct stat sd;
    CHECK(stat(q, &sd) == 0 && S_ISDIR(sd.st_mode));
    snprintf(q, sizeof q, "%s/d/big.bin", db);
    CHECK(access(q, F_OK) != 0);
    snprintf(q, sizeof q, "%s/a.txt", db);
    CHECK(access(q, F_OK) != 0);
    CHECK_EQ(realize_pending(fb), 2); /* a.txt and d/big.bin wait for blocks */
    /* B's own mine.txt (never scanned) is kept */
    snprintf(q, sizeof q, "%s/mine.txt", db);
    FILE *fm = fopen(q, "r");
    char got[16] = "";
    CHECK(fm && fgets(got, sizeof got, fm));
    fclose(fm);
    CHECK(strcmp(got, "local") == 0);
    /* blocks: a wrong one is taken nowhere, the right ones finish the files */
    wire_fentry_t e;
    uint8_t *buf = malloc(WIRE_FENTRY_BLOCK_MAX);
    size_t one = 0;
    CHECK(s_entry(a.m, fa, "a.txt", &e));
    CHECK_OK(blockidx_read(bia, e.blocks[0].hash, buf, WIRE_FENTRY_BLOCK_MAX, &one));
    CHECK_EQ(realize_block(b.m, fb, e.blocks[0].hash, buf, one), 1);
    realize_flush(b.m, fb, true); /* (whole files go in place together) */
    wire_fentry_release(&e);
    CHECK_EQ(realize_pending(fb), 1);
    snprintf(p, sizeof p, "%s/a.txt", da);
    snprintf(q, sizeof q, "%s/a.txt", db);
    CHECK(s_same_file(p, q));
    CHECK(s_entry(a.m, fa, "d/big.bin", &e));
    size_t took = 0;
    for (size_t i = 0; i < e.nblocks; i++) {
        size_t len = 0;
        CHECK_OK(blockidx_read(bia, e.blocks[i].hash, buf, WIRE_FENTRY_BLOCK_MAX, &len));
        CHECK_EQ(len, e.blocks[i].size);
        if (i == 0) {
            uint8_t other[32];
            util_fill(other, sizeof other, 3);
            CHECK_EQ(realize_block(b.m, fb, other, buf, len), 0);
        }
        took += realize_block(b.m, fb, e.blocks[i].hash, buf, len); /* (repeats: 0) */
    }
    CHECK_EQ(took, e.nblocks);
    realize_flush(b.m, fb, true);
    wire_fentry_release(&e);
    CHECK_EQ(realize_pending(fb), 0);
    snprintf(p, sizeof p, "%s/d/big.bin", da);
    snprintf(q, sizeof q, "%s/d/big.bin", db);
    CHECK(s_same_file(p, q));
    struct stat sa, sb;
    CHECK(stat(p, &sa) == 0 && stat(q, &sb) == 0);
    CHECK(sa.st_mtim.tv_sec == sb.st_mtim.tv_sec && sa.st_mtim.tv_nsec == sb.st_mtim.tv_nsec);
    /* a delete on A reaches B's disk */
    snprintf(p, sizeof p, "%s/a.txt", da);
    CHECK(unlink(p) == 0);
    CHECK_OK(index_scan(a.m, fa, NULL));
    CHECK_OK(mesh_export(a.m, NULL, 0, NULL, 0, &bundle, &blen));
    CHECK_OK(mesh_import(b.m, bundle, blen, &rep));
    mesh_free(bundle);
    CHECK_OK(realize_pass(b.m, fb, bib));
    snprintf(q, sizeof q, "%s/a.txt", db);
    CHECK(access(q, F_OK) != 0);
    free(buf);
    free(big);
    blockidx_free(bia);
    blockidx_free(bib);
    realize_free(fb);
    index_folder_free(fa);
    index_folder_free(fb);
    util_dev_close(&a);
    util_dev_close(&b);
}

/* mesh_folder_wait: a node whose own loop syncs a folder waits until it is in sync; one
 * not synced here times out (MESH_EBUSY), a stopped one says so at once (MESH_ESTATE), and
 * with no loop or daemon on the home, MESH_ENOTFOUND. */
static void
test_folder_wait(void **state)
{
    (void)state;
    util_dev_t off;
    util_dev_open(&off, "fwoff");
    CHECK_EQ(mesh_folder_wait(off.m, "X", 0, 100), MESH_ENOTFOUND);
    CHECK_EQ(mesh_folder_wait(off.m, "", 0, 100), MESH_EINVAL);
    CHECK_EQ(mesh_folder_wait(NULL, "X", 0, 100), MESH_EINVAL);
    util_dev_close(&off);
    char dir[256], home[300], root[600], id[80], marker[700];
    CHECK(util_temp_home("fw", dir, sizeof dir, home, sizeof home) == 0);
    mesh_options_t o = {.size = sizeof o,
                        .home = home,
                        .create = true,
                        .name = "fw",
                        .listen = "tcp://127.0.0.1:0"};
    mesh_t *m = NULL;
    CHECK_OK(mesh_open(&o, &m));
    snprintf(root, sizeof root, "%s/f", dir);
    CHECK(mkdir(root, 0755) == 0);
    s_write(root, "a.txt", "hello", 5);
    CHECK_OK(mesh_folder_add(m, root, NULL, id, sizeof id));
    CHECK_OK(mesh_folder_wait(m, id, 0, 20000));
    void *v = NULL;
    size_t len = 0;
    char coll[100];
    snprintf(coll, sizeof coll, "folder:%s", id);
    CHECK_OK(mesh_get(m, coll, "a.txt", 5, &v, &len)); /* (in sync: scanned into its index) */
    mesh_free(v);
    CHECK_EQ(mesh_folder_wait(m, "NOT-HERE", 0, 300), MESH_EBUSY);
    snprintf(marker, sizeof marker, "%s/.meshsync/folder-id", root);
    CHECK(unlink(marker) == 0);
    s_write(root, "b.txt", "wake", 4); /* (inotify wakes the scan, which finds no marker) */
    mesh_err_t err = MESH_OK;
    for (int i = 0; i < 100 && err != MESH_ESTATE; i++) {
        err = mesh_folder_wait(m, id, 0, 200);
    }
    CHECK_EQ(err, MESH_ESTATE);
    CHECK(strstr(mesh_errmsg(m), "stopped") != NULL);
    mesh_close(m);
    CHECK(util_rm_tree(dir) == 0);
}

int
main(void)
{
    if (ident_lib_init() != MESH_OK) {
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_blockmsg_bodies),   cmocka_unit_test(test_blockmsg_many),
        cmocka_unit_test(test_registry),          cmocka_unit_test(test_folder_wait),
        cmocka_unit_test(test_registry_versions), cmocka_unit_test(test_registry_with),
        cmocka_unit_test(test_history_calls),     cmocka_unit_test(test_scan_writes_index),
        cmocka_unit_test(test_scan_in_parts),     cmocka_unit_test(test_realize_from_blocks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
