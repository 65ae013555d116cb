/* tests/unit/test_devid.c: unit tests of crypto/devid.c (device ID text form).
 * Round trips 100 random keys, then shows that every single substitution, deletion,
 * insertion and adjacent transposition of each ID's 54 symbols is rejected.
 * Layer: tests. Third-party: cmocka, sodium.h (random keys). SPDX-License-Identifier: MIT */
#include "crypto/devid.h"

#include <sodium.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#define S_IDS     100u /* random IDs each error class is tried on */
#define S_SYMBOLS 54u  /* symbols in an ID without its dashes */

static const char s_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/* Parse text, expecting MESH_EBADID and an all-zero key. */
static void
s_assert_rejected(const char *text)
{
    static const uint8_t zero[DEVID_RAW_LEN];
    uint8_t pk[DEVID_RAW_LEN];

    memset(pk, 0xa5, sizeof(pk));
    if (devid_parse(text, pk) != MESH_EBADID) {
        fail_msg("accepted: %s", text != NULL ? text : "(null)");
    }
    assert_memory_equal(pk, zero, DEVID_RAW_LEN);
}

/* Format pk into text (with dashes) and symbols (without: S_SYMBOLS chars and a NUL). */
static void
s_format(const uint8_t *pk, char *text, char *symbols)
{
    size_t out = 0;
    size_t i;

    devid_format(pk, text);
    for (i = 0; text[i] != '\0'; i++) {
        if (text[i] != '-') {
            symbols[out++] = text[i];
        }
    }
    assert_int_equal(out, S_SYMBOLS);
    symbols[out] = '\0';
}

/* GF(32) product modulo x^5 + x^2 + 1, for an independent check of the spec. */
static unsigned
s_gf_mul(unsigned a, unsigned b)
{
    unsigned product = 0;
    unsigned bit;

    for (bit = 0; bit < 5; bit++) {
        if (b & (1u << bit)) {
            product ^= a << bit;
        }
    }
    for (bit = 9; bit >= 5; bit--) {
        if (product & (1u << bit)) {
            product ^= 0x25u << (bit - 5);
        }
    }
    return product;
}

/* The check symbol of symbols[0..26) as the spec writes it: sum of alpha^(i+1) * d_i. */
static char
s_spec_check(const char *symbols)
{
    unsigned weight = 1;
    unsigned sum = 0;
    size_t i;

    for (i = 0; i < 26; i++) {
        weight = s_gf_mul(weight, 2);
        sum ^= s_gf_mul(weight, (unsigned)(strchr(s_alphabet, symbols[i]) - s_alphabet));
    }
    return s_alphabet[sum];
}

static void
test_devid_format_layout(void **state)
{
    char text[MESH_ID_TEXT_LEN + 1];
    uint8_t pk[DEVID_RAW_LEN];
    size_t i;

    (void)state;
    memset(pk, 0, sizeof(pk));
    devid_format(pk, text);
    assert_string_equal(text, "AAAAAA-AAAAAA-AAAAAA-AAAAAA-AAAAAA-AAAAAA-AAAAAA-AAAAAA-AAAAAA");

    /* First symbol 1 ('B'): the first check is alpha^1 * 1 = 2 ('C'), at symbol 26. */
    pk[0] = 0x08;
    devid_format(pk, text);
    assert_string_equal(text, "BAAAAA-AAAAAA-AAAAAA-AAAAAA-AACAAA-AAAAAA-AAAAAA-AAAAAA-AAAAAA");

    randombytes_buf(pk, sizeof(pk));
    devid_format(pk, text);
    assert_int_equal(strlen(text), MESH_ID_TEXT_LEN);
    for (i = 0; i < MESH_ID_TEXT_LEN; i++) {
        if (i % 7 == 6) {
            assert_int_equal(text[i], '-');
        } else {
            assert_non_null(strchr(s_alphabet, text[i]));
        }
    }
}

static void
test_devid_check_symbols_follow_spec(void **state)
{
    char text[MESH_ID_TEXT_LEN + 1];
    char symbols[S_SYMBOLS + 1];
    uint8_t pk[DEVID_RAW_LEN];
    size_t round;

    (void)state;
    for (round = 0; round < S_IDS; round++) {
        randombytes_buf(pk, sizeof(pk));
        s_format(pk, text, symbols);
        assert_int_equal(symbols[26], s_spec_check(symbols));
        assert_int_equal(symbols[53], s_spec_check(symbols + 27));
    }
}

static void
test_devid_round_trip(void **state)
{
    char text[MESH_ID_TEXT_LEN + 1];
    uint8_t pk[DEVID_RAW_LEN];
    uint8_t back[DEVID_RAW_LEN];
    size_t round;

    (void)state;
    for (round = 0; round < S_IDS; round++) {
        randombytes_buf(pk, sizeof(pk));
        devid_format(pk, text);
        assert_int_equal(devid_parse(text, back), MESH_OK);
        assert_memory_equal(pk, back, DEVID_RAW_LEN);
    }
    memset(pk, 0xff, sizeof(pk));
    devid_format(pk, text);
    assert_int_equal(devid_parse(text, back), MESH_OK);
    assert_memory_equal(pk, back, DEVID_RAW_LEN);
}

static void
test_devid_parse_accepts_case_and_dashes(void **state)
{
    char text[MESH_ID_TEXT_LEN + 1];
    char symbols[S_SYMBOLS + 1];
    char variant[2 * S_SYMBOLS + 3];
    uint8_t pk[DEVID_RAW_LEN];
    uint8_t back[DEVID_RAW_LEN];
    size_t i;

    (void)state;
    randombytes_buf(pk, sizeof(pk));
    s_format(pk, text, symbols);

    assert_int_equal(devid_parse(symbols, back), MESH_OK);
    assert_memory_equal(pk, back, DEVID_RAW_LEN);

    for (i = 0; text[i] != '\0'; i++) {
        variant[i] = (text[i] >= 'A' && text[i] <= 'Z') ? (char)(text[i] - 'A' + 'a') : text[i];
    }
    variant[i] = '\0';
    assert_int_equal(devid_parse(variant, back), MESH_OK);
    assert_memory_equal(pk, back, DEVID_RAW_LEN);

    /* A dash before, between and after every symbol. */
    variant[0] = '-';
    for (i = 0; i < S_SYMBOLS; i++) {
        variant[2 * i + 1] = symbols[i];
        variant[2 * i + 2] = '-';
    }
    variant[2 * S_SYMBOLS + 1] = '\0';
    assert_int_equal(devid_parse(variant, back), MESH_OK);
    assert_memory_equal(pk, back, DEVID_RAW_LEN);
}

static void
test_devid_parse_rejects_foreign_chars(void **state)
{
    const char foreign[] = {'0', '1', '8', '9', '=', ' ', '_', '+', '/', '\n', '@', '[', '\x80'};
    char text[MESH_ID_TEXT_LEN + 1];
    char symbols[S_SYMBOLS + 1];
    char bad[MESH_ID_TEXT_LEN + 2];
    uint8_t pk[DEVID_RAW_LEN];
    size_t k;

    (void)state;
    randombytes_buf(pk, sizeof(pk));
    s_format(pk, text, symbols);
    for (k = 0; k < sizeof(foreign); k++) {
        memcpy(bad, text, sizeof(text));
        bad[10] = foreign[k];
        s_assert_rejected(bad);
        /* Appended after a valid ID, too. */
        memcpy(bad, text, MESH_ID_TEXT_LEN);
        bad[MESH_ID_TEXT_LEN] = foreign[k];
        bad[MESH_ID_TEXT_LEN + 1] = '\0';
        s_assert_rejected(bad);
    }
    s_assert_rejected("");
    s_assert_rejected("------");
    s_assert_rejected(NULL);
    assert_int_equal(devid_parse(text, NULL), MESH_EBADID);
}

static void
test_devid_parse_rejects_padding_bits(void **state)
{
    char text[MESH_ID_TEXT_LEN + 1];
    char symbols[S_SYMBOLS + 1];
    uint8_t pk[DEVID_RAW_LEN];
    unsigned value;
    unsigned pad;

    (void)state;
    randombytes_buf(pk, sizeof(pk));
    s_format(pk, text, symbols);
    /* Symbol 52 holds the key's last bit and 4 padding bits; keep the check right, so only
     * the padding rule can reject. */
    value = (unsigned)(strchr(s_alphabet, symbols[52]) - s_alphabet);
    for (pad = 1; pad < 16; pad++) {
        symbols[52] = s_alphabet[(value & 0x10) | pad];
        symbols[53] = s_spec_check(symbols + 27);
        s_assert_rejected(symbols);
    }
}

static void
s_check_substitutions(char *symbols)
{
    size_t pos;
    size_t k;
    char saved;

    for (pos = 0; pos < S_SYMBOLS; pos++) {
        saved = symbols[pos];
        for (k = 0; k < 32; k++) {
            if (s_alphabet[k] == saved)
                continue;
            symbols[pos] = s_alphabet[k];
            s_assert_rejected(symbols);
        }
        symbols[pos] = saved;
    }
}

static void
s_check_deletions(const char *symbols)
{
    char bad[S_SYMBOLS];
    size_t pos;

    for (pos = 0; pos < S_SYMBOLS; pos++) {
        memcpy(bad, symbols, pos);
        memcpy(bad + pos, symbols + pos + 1, S_SYMBOLS - pos); /* with the NUL */
        s_assert_rejected(bad);
    }
}

static void
s_check_insertions(const char *symbols)
{
    char bad[S_SYMBOLS + 2];
    size_t pos;
    size_t k;

    for (pos = 0; pos <= S_SYMBOLS; pos++) {
        for (k = 0; k < 32; k++) {
            memcpy(bad, symbols, pos);
            bad[pos] = s_alphabet[k];
            memcpy(bad + pos + 1, symbols + pos, S_SYMBOLS - pos + 1); /* with the NUL */
            s_assert_rejected(bad);
        }
    }
}

static void
s_check_transpositions(char *symbols)
{
    size_t pos;
    char saved;

    for (pos = 0; pos + 1 < S_SYMBOLS; pos++) {
        if (symbols[pos] == symbols[pos + 1])
            continue;
        saved = symbols[pos];
        symbols[pos] = symbols[pos + 1];
        symbols[pos + 1] = saved;
        s_assert_rejected(symbols);
        symbols[pos + 1] = symbols[pos];
        symbols[pos] = saved;
    }
}

static void
test_devid_rejects_every_single_error(void **state)
{
    char text[MESH_ID_TEXT_LEN + 1];
    char symbols[S_SYMBOLS + 1];
    uint8_t pk[DEVID_RAW_LEN];
    uint8_t back[DEVID_RAW_LEN];
    size_t round;

    (void)state;
    for (round = 0; round < S_IDS; round++) {
        randombytes_buf(pk, sizeof(pk));
        s_format(pk, text, symbols);
        s_check_substitutions(symbols);
        s_check_deletions(symbols);
        s_check_insertions(symbols);
        s_check_transpositions(symbols);
        /* The helpers restored every change: the ID still parses to its key. */
        assert_int_equal(devid_parse(symbols, back), MESH_OK);
        assert_memory_equal(pk, back, DEVID_RAW_LEN);
    }
}

/* devid_explain says what is wrong in a person's words: the bad character's position,
 * the length, or which half fails its check (by the groups shown). */
static void
test_devid_explain_names_the_fault(void **state)
{
    uint8_t pk[DEVID_RAW_LEN];
    char id[MESH_ID_TEXT_LEN + 1], typo[MESH_ID_TEXT_LEN + 1], why[160];
    (void)state;
    randombytes_buf(pk, sizeof pk);
    devid_format(pk, id);
    devid_explain(id, why, sizeof why);
    assert_string_equal(why, "a valid device ID");
    devid_explain("X", why, sizeof why);
    assert_non_null(strstr(why, "1 character where an ID has 54"));
    memcpy(typo, id, sizeof typo);
    typo[6] = '!';
    devid_explain(typo, why, sizeof why);
    assert_non_null(strstr(why, "character 7 is '!'"));
    /* Every position of the shown form: a substitution names the half it is in. */
    for (size_t i = 0; i < MESH_ID_TEXT_LEN; i++) {
        if (id[i] == '-')
            continue;
        memcpy(typo, id, sizeof typo);
        typo[i] = id[i] == 'A' ? 'B' : 'A';
        devid_explain(typo, why, sizeof why);
        size_t group = i / 7 + 1, in_group = i % 7; /* 6 characters and a dash */
        bool first = group < 5 || (group == 5 && in_group < 3);
        assert_non_null(strstr(why, first ? "groups 1-4 and the first 3 characters of group 5"
                                          : "the last 3 characters of group 5 and groups 6-9"));
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_devid_format_layout),
        cmocka_unit_test(test_devid_check_symbols_follow_spec),
        cmocka_unit_test(test_devid_round_trip),
        cmocka_unit_test(test_devid_parse_accepts_case_and_dashes),
        cmocka_unit_test(test_devid_parse_rejects_foreign_chars),
        cmocka_unit_test(test_devid_parse_rejects_padding_bits),
        cmocka_unit_test(test_devid_rejects_every_single_error),
        cmocka_unit_test(test_devid_explain_names_the_fault),
    };

    if (sodium_init() < 0)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
