/* crypto/devid.c: the text form of a device ID (docs/PROTOCOL.md §2).
 * Owns: RFC 4648 base32 of the 32-byte key (52 symbols, big-endian bits, the last symbol
 * one data bit and four zero padding bits), a GF(32) check symbol after each 26 data
 * symbols, and the 9 dash-separated groups of 6 shown to users.
 * Not here: the keys themselves (crypto/ident.c).
 * Layer: crypto. Third-party: none. SPDX-License-Identifier: MIT */
#include "devid.h"

#include <stdio.h>
#include <string.h>

#define S_DATA_SYMBOLS 52u   /* ceil(256 / 5) */
#define S_GROUP_DATA   26u   /* data symbols covered by one check symbol */
#define S_SYMBOLS      54u   /* 2 * (26 data + 1 check) */
#define S_GROUP_CHARS  6u    /* symbols between dashes in the shown form */
#define S_PAD_BITS     4u    /* 52 * 5 - 256 */
#define S_GF_POLY      0x25u /* x^5 + x^2 + 1, primitive: alpha = 2 generates GF(32)* */

static const char s_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/* a * b in GF(32), by shift-and-add with reduction modulo S_GF_POLY. */
static uint8_t
s_gf_mul(uint8_t a, uint8_t b)
{
    uint8_t product = 0;

    while (b != 0) {
        if (b & 1) {
            product ^= a;
        }
        b >>= 1;
        a <<= 1;
        if (a & 0x20) {
            a ^= S_GF_POLY;
        }
    }
    return product;
}

/* The check symbol of one group of S_GROUP_DATA data symbols: sum of alpha^(i+1) * d[i].
 * Every weight is non-zero and distinct from the others and from the check's own weight 1,
 * so one substitution or one swap of adjacent distinct symbols always changes the sum. */
static uint8_t
s_check(const uint8_t *d)
{
    uint8_t weight = 1;
    uint8_t sum = 0;
    size_t i;

    for (i = 0; i < S_GROUP_DATA; i++) {
        weight = s_gf_mul(weight, 2);
        sum ^= s_gf_mul(weight, d[i]);
    }
    return sum;
}

/* The 5-bit value of c in the alphabet, either case, or -1 if it is not a symbol. */
static int
s_symbol_value(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a';
    if (c >= '2' && c <= '7')
        return c - '2' + 26;
    return -1;
}

/* Split 32 key bytes into S_DATA_SYMBOLS 5-bit values, big-endian, zero-padded. */
static void
s_bytes_to_symbols(const uint8_t *pk, uint8_t *sym)
{
    uint32_t acc = 0;
    unsigned bits = 0;
    size_t in = 0;
    size_t out = 0;

    while (out < S_DATA_SYMBOLS) {
        if (bits < 5) {
            acc = (acc << 8) | (in < DEVID_RAW_LEN ? pk[in] : 0);
            in++;
            bits += 8;
        }
        bits -= 5;
        sym[out++] = (uint8_t)((acc >> bits) & 0x1f);
    }
}

/* Join S_DATA_SYMBOLS 5-bit values into 32 bytes. Returns 0, or -1 if a padding bit is set
 * (pk is then partly written; the caller zeroes it). */
static int
s_symbols_to_bytes(const uint8_t *sym, uint8_t *pk)
{
    uint32_t acc = 0;
    unsigned bits = 0;
    size_t in;
    size_t out = 0;

    for (in = 0; in < S_DATA_SYMBOLS; in++) {
        acc = (acc << 5) | sym[in];
        bits += 5;
        if (bits >= 8) {
            bits -= 8;
            pk[out++] = (uint8_t)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    return (bits == S_PAD_BITS && acc == 0) ? 0 : -1;
}

/* Lay out the 54 symbols: group 1 data, check 1, group 2 data, check 2. */
void
devid_format(const uint8_t *pk, char *out)
{
    uint8_t data[S_DATA_SYMBOLS];
    uint8_t all[S_SYMBOLS];
    size_t pos = 0;
    size_t i;

    s_bytes_to_symbols(pk, data);
    memcpy(all, data, S_GROUP_DATA);
    all[S_GROUP_DATA] = s_check(data);
    memcpy(all + S_GROUP_DATA + 1, data + S_GROUP_DATA, S_GROUP_DATA);
    all[S_SYMBOLS - 1] = s_check(data + S_GROUP_DATA);

    for (i = 0; i < S_SYMBOLS; i++) {
        if (i > 0 && i % S_GROUP_CHARS == 0) {
            out[pos++] = '-';
        }
        out[pos++] = s_alphabet[all[i]];
    }
    out[pos] = '\0';
}

/* Read the symbols of text into all[S_SYMBOLS], skipping dashes. Stops at the first
 * character that is neither, or at a 55th symbol. Returns 0 or -1. */
static int
s_read_symbols(const char *text, uint8_t *all)
{
    size_t count = 0;
    int value;

    for (; *text != '\0'; text++) {
        if (*text == '-')
            continue;
        value = s_symbol_value(*text);
        if (value < 0 || count == S_SYMBOLS)
            return -1;
        all[count++] = (uint8_t)value;
    }
    return count == S_SYMBOLS ? 0 : -1;
}

/* Both groups must check and the padding bits be zero. NULL arguments are MESH_EBADID too. */
mesh_err_t
devid_parse(const char *text, uint8_t *pk)
{
    uint8_t all[S_SYMBOLS];
    uint8_t data[S_DATA_SYMBOLS];
    const uint8_t *group2 = all + S_GROUP_DATA + 1;

    if (pk == NULL)
        return MESH_EBADID;
    memset(pk, 0, DEVID_RAW_LEN);
    if (text == NULL || s_read_symbols(text, all) != 0)
        return MESH_EBADID;
    if (s_check(all) != all[S_GROUP_DATA] || s_check(group2) != all[S_SYMBOLS - 1])
        return MESH_EBADID;

    memcpy(data, all, S_GROUP_DATA);
    memcpy(data + S_GROUP_DATA, group2, S_GROUP_DATA);
    if (s_symbols_to_bytes(data, pk) != 0) {
        memset(pk, 0, DEVID_RAW_LEN);
        return MESH_EBADID;
    }
    return MESH_OK;
}

void
devid_explain(const char *text, char *why, size_t why_len)
{
    uint8_t all[S_SYMBOLS], data[S_DATA_SYMBOLS], pk[DEVID_RAW_LEN];
    size_t count = 0, pos = 0;

    if (why == NULL || why_len == 0)
        return;
    why[0] = '\0';
    if (text == NULL) {
        snprintf(why, why_len, "no ID given");
        return;
    }
    for (const char *p = text; *p != '\0'; p++, pos++) {
        if (*p == '-')
            continue;
        int value = s_symbol_value(*p);
        if (value < 0) {
            unsigned char c = (unsigned char)*p;
            if (c > 0x20 && c < 0x7f)
                snprintf(why, why_len, "character %zu is '%c', which no ID has: A-Z and 2-7 only",
                         pos + 1, c);
            else
                snprintf(why, why_len,
                         "character %zu is byte 0x%02x, which no ID has: A-Z and 2-7 only", pos + 1,
                         c);
            return;
        }
        if (count < S_SYMBOLS)
            all[count] = (uint8_t)value;
        count++;
    }
    if (count != S_SYMBOLS) {
        snprintf(why, why_len, "%zu %s where an ID has %u, not counting dashes", count,
                 count == 1 ? "character" : "characters", S_SYMBOLS);
        return;
    }
    /* The check of the first 27 symbols covers the shown groups 1-4 and the first half of
     * group 5; the second check the rest. */
    if (s_check(all) != all[S_GROUP_DATA]) {
        snprintf(why, why_len,
                 "groups 1-4 and the first 3 characters of group 5 fail their "
                 "check: one of them is mistyped");
        return;
    }
    if (s_check(all + S_GROUP_DATA + 1) != all[S_SYMBOLS - 1]) {
        snprintf(why, why_len,
                 "the last 3 characters of group 5 and groups 6-9 fail their "
                 "check: one of them is mistyped");
        return;
    }
    memcpy(data, all, S_GROUP_DATA);
    memcpy(data + S_GROUP_DATA, all + S_GROUP_DATA + 1, S_GROUP_DATA);
    if (s_symbols_to_bytes(data, pk) != 0) {
        snprintf(why, why_len,
                 "character 53 (the last before the check) cannot be that letter "
                 "(it carries one bit of the key)");
        return;
    }
    snprintf(why, why_len, "a valid device ID");
}
