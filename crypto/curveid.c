/* crypto/curveid.c: the device IDs a CURVE key can belong to (crypto/curveid.h).
 * Owns: arithmetic modulo p = 2^255 - 19 on four 64-bit limbs (enough for one inversion per
 * refused key; not constant time: every input is a public key).
 * Layer: crypto. Third-party: none. SPDX-License-Identifier: MIT */
#include "curveid.h"

#include <string.h>

typedef unsigned __int128 s_u128;

typedef struct s_fe {
    uint64_t v[4]; /* little-endian limbs, always < p once an operation returns */
} s_fe_t;

static const uint64_t s_p[4] = {0xffffffffffffffedULL, 0xffffffffffffffffULL, 0xffffffffffffffffULL,
                                0x7fffffffffffffffULL};

/* a < 2^256 in, a mod p out: fold bit 255 (2^255 = 19 mod p), then subtract p once if
 * needed (what remains is below 2p). */
static void
s_reduce(s_fe_t *a)
{
    uint64_t top = a->v[3] >> 63;
    a->v[3] &= 0x7fffffffffffffffULL;
    s_u128 carry = (s_u128)top * 19;
    for (int i = 0; i < 4; i++) {
        carry += a->v[i];
        a->v[i] = (uint64_t)carry;
        carry >>= 64;
    }
    uint64_t t[4], borrow = 0;
    for (int i = 0; i < 4; i++) {
        s_u128 d = (s_u128)a->v[i] - s_p[i] - borrow;
        t[i] = (uint64_t)d;
        borrow = (uint64_t)(d >> 64) ? 1 : 0;
    }
    if (!borrow) {
        memcpy(a->v, t, sizeof t);
    }
}

static void
s_add(s_fe_t *out, const s_fe_t *a, const s_fe_t *b)
{
    s_u128 carry = 0;
    for (int i = 0; i < 4; i++) {
        carry += (s_u128)a->v[i] + b->v[i];
        out->v[i] = (uint64_t)carry;
        carry >>= 64;
    }
    s_reduce(out); /* both below 2^255: the sum fits 256 bits */
}

/* a - b as a + (p - b). */
static void
s_sub(s_fe_t *out, const s_fe_t *a, const s_fe_t *b)
{
    s_fe_t neg;
    uint64_t borrow = 0;
    for (int i = 0; i < 4; i++) {
        s_u128 d = (s_u128)s_p[i] - b->v[i] - borrow;
        neg.v[i] = (uint64_t)d;
        borrow = (uint64_t)(d >> 64) ? 1 : 0;
    }
    s_add(out, a, &neg);
}

static void
s_mul(s_fe_t *out, const s_fe_t *a, const s_fe_t *b)
{
    uint64_t r[8] = {0};
    for (int i = 0; i < 4; i++) {
        s_u128 carry = 0;
        for (int j = 0; j < 4; j++) {
            carry += (s_u128)a->v[i] * b->v[j] + r[i + j];
            r[i + j] = (uint64_t)carry;
            carry >>= 64;
        }
        r[i + 4] = (uint64_t)carry;
    }
    /* 2^256 = 38 mod p: fold the high half in, twice (the first leaves a small carry) */
    s_u128 carry = 0;
    for (int i = 0; i < 4; i++) {
        carry += (s_u128)r[i + 4] * 38 + r[i];
        out->v[i] = (uint64_t)carry;
        carry >>= 64;
    }
    carry *= 38;
    for (int i = 0; i < 4; i++) {
        carry += out->v[i];
        out->v[i] = (uint64_t)carry;
        carry >>= 64;
    }
    /* a carry out again would need out near 2^256 after adding at most 38 * 39: then the
     * low limbs are tiny, and 38 more cannot carry */
    out->v[0] += (uint64_t)carry * 38;
    s_reduce(out);
}

/* a^(p - 2) = 1 / a (0 for 0). */
static void
s_invert(s_fe_t *out, const s_fe_t *a)
{
    static const uint64_t e[4] = {0xffffffffffffffebULL, 0xffffffffffffffffULL,
                                  0xffffffffffffffffULL, 0x7fffffffffffffffULL};
    s_fe_t r = {{1, 0, 0, 0}};
    for (int bit = 254; bit >= 0; bit--) {
        s_mul(&r, &r, &r);
        if ((e[bit / 64] >> (bit % 64)) & 1) {
            s_mul(&r, &r, a);
        }
    }
    *out = r;
}

static bool
s_is_zero(const s_fe_t *a)
{
    return (a->v[0] | a->v[1] | a->v[2] | a->v[3]) == 0;
}

mesh_err_t
curveid_candidates(const uint8_t *curve_pk, uint8_t *first, uint8_t *second)
{
    s_fe_t u = {{0}}, one = {{1, 0, 0, 0}}, num, den, y;
    for (int i = 0; i < 32; i++) {
        u.v[i / 8] |= (uint64_t)curve_pk[i] << (8 * (i % 8));
    }
    u.v[3] &= 0x7fffffffffffffffULL; /* RFC 7748: the top bit of u is ignored */
    s_reduce(&u);
    s_sub(&num, &u, &one);
    s_add(&den, &u, &one);
    if (s_is_zero(&den)) {
        memset(first, 0, CURVEID_KEY_LEN);
        memset(second, 0, CURVEID_KEY_LEN);
        return MESH_EINVAL;
    }
    s_invert(&den, &den);
    s_mul(&y, &num, &den);
    for (int i = 0; i < 32; i++) {
        first[i] = (uint8_t)(y.v[i / 8] >> (8 * (i % 8)));
    }
    memcpy(second, first, CURVEID_KEY_LEN);
    second[31] |= 0x80;
    return MESH_OK;
}
