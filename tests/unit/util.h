/* tests/unit/util.h: helpers the unit tests share, linked into every tests/unit binary.
 * Owns: the failure context (util_where, printed by CHECK, CHECK_OK and CHECK_EQ before they
 * fail the case); a reference msgpack encoder written from docs/PROTOCOL.md, not from
 * msgpack-c, into bytes with a mark at the start of chosen fields (util_bytes_t), so that a
 * test can swap one field for another encoding of it (util_splice); sample bytes (util_fill);
 * a PROT_NONE fence that faults on any read past bytes copied flush against it; and nodes
 * through the public API: temp homes, open, put, commit, get, digest, and the digest checked
 * against a recount from the store.
 * Layer: tests. Third-party: cmocka. SPDX-License-Identifier: MIT */
#ifndef MESH_TESTS_UNIT_UTIL_H
#define MESH_TESTS_UNIT_UTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "meshsync.h"

/* ---- failure context: what the test was doing when a check failed ---- */

extern char util_where[512]; /* empty: nothing to say */

/* Print util_where (when set) as cmocka's error output. */
void util_print_where(void);

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c)) {                                                                                \
            util_print_where();                                                                    \
            fail_msg("line %d: check failed: %s", __LINE__, #c);                                   \
        }                                                                                          \
    } while (0)

#define CHECK_OK(e)                                                                                \
    do {                                                                                           \
        mesh_err_t e_ = (e);                                                                       \
        if (e_ != MESH_OK) {                                                                       \
            util_print_where();                                                                    \
            fail_msg("line %d: %s returned %d (%s)", __LINE__, #e, (int)e_, mesh_strerror(e_));    \
        }                                                                                          \
    } while (0)

#define CHECK_EQ(a, b)                                                                             \
    do {                                                                                           \
        long long a_ = (long long)(a), b_ = (long long)(b);                                        \
        if (a_ != b_) {                                                                            \
            util_print_where();                                                                    \
            fail_msg("line %d: %s is %lld, expected %s = %lld", __LINE__, #a, a_, #b, b_);         \
        }                                                                                          \
    } while (0)

/* ---- reference bytes ---- */

#define UTIL_MARKS_MAX 1100u /* field marks in one reference encoding */

/* Bytes being built (grown as needed), with a mark at the start of each field of interest
 * (and one at the end). */
typedef struct util_bytes {
    uint8_t *b;
    size_t len;
    size_t cap;
    size_t mark[UTIL_MARKS_MAX];
    size_t marks;
} util_bytes_t;

util_bytes_t *util_bytes_new(void);
void util_bytes_free(util_bytes_t *bb); /* NULL: nothing */

/* Append p[0..n); one byte; v as n big-endian bytes; a mark at the current end. */
void util_raw(util_bytes_t *bb, const void *p, size_t n);
void util_u8(util_bytes_t *bb, uint8_t v);
void util_be(util_bytes_t *bb, uint64_t v, size_t n);
void util_mark(util_bytes_t *bb);

/* Append in msgpack: an unsigned integer in its shortest form; a uint64 in the fixed 9-byte
 * form; an array header of n; bin and str of p[0..n), each header in its shortest form. */
void util_uint(util_bytes_t *bb, uint64_t v);
void util_fixu64(util_bytes_t *bb, uint64_t v);
void util_array(util_bytes_t *bb, size_t n);
void util_bin(util_bytes_t *bb, const void *p, size_t n);
void util_str(util_bytes_t *bb, const void *p, size_t n);

/* Copy src into fresh bytes with marked field f replaced by alt[0..alt_len). */
util_bytes_t *util_splice(const util_bytes_t *src, size_t f, const void *alt, size_t alt_len);

/* p[i] = seed + 7 * i, for i in [0, n). */
void util_fill(uint8_t *p, size_t n, uint8_t seed);

/* ---- a PROT_NONE fence: bytes copied flush against it fault on any read past their end ---- */

typedef struct util_fence {
    uint8_t *map;
    size_t size; /* mapped bytes, the fence page included */
    size_t room; /* readable bytes before the fence */
} util_fence_t;

/* Map at least room readable bytes (whole pages) followed by a PROT_NONE page. */
void util_fence_init(util_fence_t *f, size_t room);

/* Copy len bytes to end right at the fence; return where they start. */
const uint8_t *util_fence_put(util_fence_t *f, const uint8_t *src, size_t len);

void util_fence_release(util_fence_t *f);

/* ---- nodes through the public API ---- */

/* Make a fresh directory /tmp/<name>.XXXXXX into dir and the path of a home inside it (not
 * made) into home. Returns 0, or -1 if the directory could not be made. */
int util_temp_home(const char *name, char *dir, size_t dir_size, char *home, size_t home_size);

/* rm -rf path without a shell (a fork beside many open LMDB maps is slow, and slower still
 * under valgrind); no symlink is followed. Returns 0 on success. */
int util_rm_tree(const char *path);

/* Open the offline node whose home is home (with create: make it), named name (NULL: no
 * name), with an initial map of map_size bytes (0: the library's default). */
mesh_err_t util_open(const char *home, bool create, const char *name, uint64_t map_size,
                     mesh_t **m);

/* A device of a unit test: a fresh temp home (util_temp_home) opened with util_open, and its
 * ID. util_dev_close closes it and removes its directory. */
typedef struct util_dev {
    char dir[256], home[300], id[MESH_ID_TEXT_LEN + 1];
    mesh_t *m;
} util_dev_t;

void util_dev_open(util_dev_t *d, const char *name);
void util_dev_close(util_dev_t *d);

/* Commit one transaction on coll: a put of keys[i] to values[i], or a delete where values[i]
 * is NULL. Returns the seq of its first op. */
uint64_t util_commit(mesh_t *m, const char *coll, const char *const *keys,
                     const char *const *values, size_t n);

/* Commit one put of key to value (NULL: a delete of key). */
void util_put(mesh_t *m, const char *coll, const char *key, const char *value);

/* mesh_get gives value (NULL: the key reads as absent). */
void util_expect(mesh_t *m, const char *coll, const char *key, const char *value);

/* The collection's digest as 64 hex chars. */
void util_digest(mesh_t *m, const char *coll, char hex[65]);

/* Recount coll's digest and key count from every stored version: they must equal
 * mesh_digest's incremental ones. Returns whether the store holds the collection at all (if
 * not, mesh_digest must report the empty digest and no key). */
bool util_check_digest(mesh_t *m, const char *coll);

#endif
