/* tests/unit/util.c: helpers the unit tests share (see util.h): the failure context, the
 * reference msgpack encoder, sample bytes, the PROT_NONE fence, and nodes through the public
 * API with the digest checked against a recount from the store.
 * Layer: tests. Third-party: cmocka. SPDX-License-Identifier: MIT */
#include "util.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/base/node.h"
#include "core/data/version.h"

/* ---- failure context ---- */

char util_where[512];

void
util_print_where(void)
{
    if (util_where[0]) {
        print_error("context: %s\n", util_where);
    }
}

/* ---- reference bytes ---- */

util_bytes_t *
util_bytes_new(void)
{
    util_bytes_t *bb = calloc(1, sizeof(*bb));

    assert_non_null(bb);
    return bb;
}

void
util_bytes_free(util_bytes_t *bb)
{
    if (bb == NULL) {
        return;
    }
    free(bb->b);
    free(bb);
}

void
util_raw(util_bytes_t *bb, const void *p, size_t n)
{
    if (n > bb->cap - bb->len) {
        size_t cap = bb->cap ? bb->cap : 256;

        while (cap - bb->len < n) {
            cap *= 2;
        }
        bb->b = realloc(bb->b, cap);
        assert_non_null(bb->b);
        bb->cap = cap;
    }
    if (n > 0) {
        memcpy(bb->b + bb->len, p, n);
    }
    bb->len += n;
}

void
util_u8(util_bytes_t *bb, uint8_t v)
{
    util_raw(bb, &v, 1);
}

void
util_be(util_bytes_t *bb, uint64_t v, size_t n)
{
    for (size_t i = n; i > 0; i--) {
        util_u8(bb, (uint8_t)(v >> (8 * (i - 1))));
    }
}

void
util_mark(util_bytes_t *bb)
{
    assert_true(bb->marks < UTIL_MARKS_MAX);
    bb->mark[bb->marks++] = bb->len;
}

void
util_uint(util_bytes_t *bb, uint64_t v)
{
    if (v < 0x80) {
        util_u8(bb, (uint8_t)v);
    } else if (v < 0x100) {
        util_u8(bb, 0xcc), util_be(bb, v, 1);
    } else if (v < 0x10000) {
        util_u8(bb, 0xcd), util_be(bb, v, 2);
    } else if (v < 0x100000000ull) {
        util_u8(bb, 0xce), util_be(bb, v, 4);
    } else {
        util_u8(bb, 0xcf), util_be(bb, v, 8);
    }
}

void
util_fixu64(util_bytes_t *bb, uint64_t v)
{
    util_u8(bb, 0xcf), util_be(bb, v, 8);
}

void
util_array(util_bytes_t *bb, size_t n)
{
    if (n < 16) {
        util_u8(bb, (uint8_t)(0x90 | n));
    } else if (n < 0x10000) {
        util_u8(bb, 0xdc), util_be(bb, n, 2);
    } else {
        util_u8(bb, 0xdd), util_be(bb, n, 4);
    }
}

void
util_bin(util_bytes_t *bb, const void *p, size_t n)
{
    if (n < 0x100) {
        util_u8(bb, 0xc4), util_be(bb, n, 1);
    } else if (n < 0x10000) {
        util_u8(bb, 0xc5), util_be(bb, n, 2);
    } else {
        util_u8(bb, 0xc6), util_be(bb, n, 4);
    }
    util_raw(bb, p, n);
}

void
util_str(util_bytes_t *bb, const void *p, size_t n)
{
    if (n < 32) {
        util_u8(bb, (uint8_t)(0xa0 | n));
    } else if (n < 0x100) {
        util_u8(bb, 0xd9), util_be(bb, n, 1);
    } else {
        util_u8(bb, 0xda), util_be(bb, n, 2);
    }
    util_raw(bb, p, n);
}

util_bytes_t *
util_splice(const util_bytes_t *src, size_t f, const void *alt, size_t alt_len)
{
    util_bytes_t *bb = util_bytes_new();

    assert_true(f + 1 < src->marks);
    util_raw(bb, src->b, src->mark[f]);
    util_raw(bb, alt, alt_len);
    util_raw(bb, src->b + src->mark[f + 1], src->len - src->mark[f + 1]);
    return bb;
}

void
util_fill(uint8_t *p, size_t n, uint8_t seed)
{
    for (size_t i = 0; i < n; i++) {
        p[i] = (uint8_t)(seed + 7 * i);
    }
}

/* ---- the fence ---- */

void
util_fence_init(util_fence_t *f, size_t room)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t pages = (room + page - 1) / page;

    f->room = (pages ? pages : 1) * page;
    f->size = f->room + page;
    f->map = mmap(NULL, f->size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(f->map != MAP_FAILED);
    assert_int_equal(mprotect(f->map + f->room, page, PROT_NONE), 0);
}

const uint8_t *
util_fence_put(util_fence_t *f, const uint8_t *src, size_t len)
{
    uint8_t *dst = f->map + f->room - len;

    assert_true(len <= f->room);
    memset(f->map, 0xee, f->room - len);
    if (len > 0) {
        memcpy(dst, src, len);
    }
    return dst;
}

void
util_fence_release(util_fence_t *f)
{
    assert_int_equal(munmap(f->map, f->size), 0);
}

/* ---- nodes ---- */

int
util_temp_home(const char *name, char *dir, size_t dir_size, char *home, size_t home_size)
{
    snprintf(dir, dir_size, "/tmp/%s.XXXXXX", name);
    if (mkdtemp(dir) == NULL) {
        return -1;
    }
    snprintf(home, home_size, "%s/home", dir);
    return 0;
}

int
util_rm_tree(const char *path)
{
    struct stat sb;
    if (lstat(path, &sb) != 0) {
        return -1;
    }
    if (S_ISDIR(sb.st_mode)) {
        DIR *dir = opendir(path);
        struct dirent *e;
        int rc = dir ? 0 : -1;
        while (dir && (e = readdir(dir)) != NULL) {
            char sub[1024];
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) {
                continue;
            }
            snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
            rc |= util_rm_tree(sub);
        }
        if (dir) {
            closedir(dir);
        }
        return rc | rmdir(path);
    }
    return unlink(path);
}

mesh_err_t
util_open(const char *home, bool create, const char *name, uint64_t map_size, mesh_t **m)
{
    mesh_options_t o = {.size = sizeof o,
                        .home = home,
                        .create = create,
                        .offline = true,
                        .name = name,
                        .map_size = map_size};
    return mesh_open(&o, m);
}

void
util_dev_open(util_dev_t *d, const char *name)
{
    assert_int_equal(util_temp_home(name, d->dir, sizeof d->dir, d->home, sizeof d->home), 0);
    assert_int_equal(util_open(d->home, true, name, 0, &d->m), MESH_OK);
    assert_int_equal(mesh_device_id(d->m, d->id, sizeof d->id), MESH_OK);
}

void
util_dev_close(util_dev_t *d)
{
    mesh_close(d->m);
    assert_int_equal(util_rm_tree(d->dir), 0);
}

uint64_t
util_commit(mesh_t *m, const char *coll, const char *const *keys, const char *const *values,
            size_t n)
{
    mesh_txn_t *txn = NULL;
    uint64_t first = 0;

    CHECK_OK(mesh_txn_begin(m, coll, &txn));
    for (size_t i = 0; i < n; i++) {
        if (values[i]) {
            CHECK_OK(mesh_put(txn, keys[i], strlen(keys[i]), values[i], strlen(values[i])));
        } else {
            CHECK_OK(mesh_del(txn, keys[i], strlen(keys[i])));
        }
    }
    CHECK_OK(mesh_txn_commit(&txn, &first));
    CHECK(txn == NULL);
    return first;
}

void
util_put(mesh_t *m, const char *coll, const char *key, const char *value)
{
    (void)util_commit(m, coll, &key, &value, 1);
}

void
util_expect(mesh_t *m, const char *coll, const char *key, const char *value)
{
    void *v = NULL;
    size_t len = 0;
    mesh_err_t err = mesh_get(m, coll, key, strlen(key), &v, &len);

    if (!value) {
        CHECK_EQ(err, MESH_ENOTFOUND);
        CHECK(v == NULL);
        return;
    }
    CHECK_OK(err);
    CHECK_EQ(len, strlen(value));
    CHECK(memcmp(v, value, len) == 0);
    mesh_free(v);
}

void
util_digest(mesh_t *m, const char *coll, char hex[65])
{
    CHECK_OK(mesh_digest(m, coll, hex, 65, NULL));
}

bool
util_check_digest(mesh_t *m, const char *coll)
{
    char hex[65], want[65];
    uint64_t keys = 0, counted = 0;
    uint8_t digest[32] = {0};
    store_txn_t *st = NULL;
    store_cursor_t *cur = NULL;
    uint32_t cid = 0;
    store_item_t *item = malloc(sizeof *item);
    CHECK(item != NULL);
    CHECK_OK(mesh_digest(m, coll, hex, sizeof hex, &keys));
    CHECK_OK(store_read_begin(m->store, &st));
    mesh_err_t err = store_coll_id(st, coll, false, &cid);
    bool exists = err == MESH_OK;
    if (exists) {
        CHECK_OK(store_items_open(st, cid, NULL, 0, &cur));
        while ((err = store_items_next(cur, item)) == MESH_OK) {
            counted++;
            for (size_t i = 0; i < item->count; i++) {
                uint8_t origin[32];
                uint64_t inc = 0;
                CHECK_OK(store_origin_signed(st, item->versions[i].oid, origin, &inc));
                version_digest_apply(digest, origin, inc, item->versions[i].meta,
                                     item->versions[i].meta_len, false);
            }
        }
        store_cursor_close(cur);
    }
    store_read_end(st);
    free(item);
    CHECK_EQ(err, MESH_ENOTFOUND);
    for (int i = 0; i < 32; i++) {
        snprintf(want + 2 * i, 3, "%02x", digest[i]);
    }
    if (strcmp(hex, want) != 0) {
        util_print_where();
        fail_msg("digest of '%s' is %s, a recount gives %s", coll, hex, want);
    }
    CHECK_EQ(keys, counted);
    return exists;
}
