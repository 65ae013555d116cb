/* tests/fuzz/check.h: what the fuzz targets share, linked into each of them (by `make fuzz`
 * with clang and libFuzzer, and by gcc with tests/fuzz/replay.c for `make test`): CHECK, which
 * abort()s so that libFuzzer (and the replay driver) report the input, and predicates on what
 * a decoder returned.
 * Layer: tests. Third-party: none. SPDX-License-Identifier: MIT */
#ifndef MESH_TESTS_FUZZ_CHECK_H
#define MESH_TESTS_FUZZ_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "meshsync.h"

/* Abort, so that libFuzzer (and the replay driver) report the input. */
#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* Are all n bytes at p zero? */
bool check_is_zero(const void *p, size_t n);

/* Is p[0..n) inside buf[0..len)? */
bool check_is_within(const void *p, size_t n, const uint8_t *buf, size_t len);

/* Is err what a decoder may return for bytes it refuses (MESH_EPROTO, MESH_ETOOBIG)? */
bool check_is_decode_error(mesh_err_t err);

/* Decode buf as a set (then its header and each op's metadata), a header, op metadata:
 * whatever decodes must re-encode to the very same bytes and decode again to the same
 * values, and whatever does not must fail with a decoder's error and zeroed outputs. */
void check_set(const uint8_t *buf, size_t len);
void check_header(const uint8_t *buf, size_t len);
void check_opmeta(const uint8_t *buf, size_t len);
/* Decode buf as a session message (and a HELLO's or VECTOR's vector file): whatever decodes
 * must re-encode to the very same bytes. */
void check_msg(const uint8_t *buf, size_t len);

#endif
