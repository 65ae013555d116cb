/* tests/unit/test_paircode.c: unit tests of crypto/paircode.c (the one-time pairing code).
 * Checks the word list (256 distinct words, sorted, 3 to 7 letters, unique first three
 * letters: 8 bits a word, 24 secret bits a code), round trips of random codes and of every
 * word, the parser's tolerance (case, spaces, dashes) and its refusals (unknown words,
 * malformed codes, nameplates out of range), the PRS, and that drawn codes spread.
 * Layer: tests. Third-party: cmocka, sodium.h. SPDX-License-Identifier: MIT */
#include "crypto/paircode.h"

#include <sodium.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#define S_ROUNDS 2000u /* random codes drawn by the round-trip and spread tests */

static void
test_paircode_word_list_shape(void **state)
{
    size_t i, j;

    (void)state;
    /* 256 words: each carries 8 bits, three carry 24 >= the 20 the issue asks for */
    assert_int_equal(PAIRCODE_LIST_LEN, 256);
    assert_int_equal(PAIRCODE_SECRET_BITS, PAIRCODE_WORDS * 8);
    assert_true(PAIRCODE_SECRET_BITS >= 20);
    for (i = 0; i < PAIRCODE_LIST_LEN; i++) {
        const char *w = paircode_word(i);
        size_t n = strlen(w);

        assert_in_range(n, 3, PAIRCODE_WORD_MAX);
        for (j = 0; j < n; j++) {
            assert_in_range(w[j], 'a', 'z');
        }
        if (i > 0) {
            assert_true(strcmp(paircode_word(i - 1), w) < 0); /* sorted, distinct */
        }
        for (j = 0; j < i; j++) {
            assert_memory_not_equal(paircode_word(j), w, 3);
        }
    }
    assert_null(paircode_word(PAIRCODE_LIST_LEN));
}

static void
test_paircode_round_trip(void **state)
{
    paircode_t code, back;
    char text[PAIRCODE_TEXT_LEN];
    size_t i;

    (void)state;
    for (i = 0; i < S_ROUNDS; i++) {
        assert_int_equal(paircode_generate(&code), MESH_OK);
        assert_in_range(code.nameplate, 1, PAIRCODE_NAMEPLATE_MAX);
        assert_int_equal(paircode_format(&code, text, sizeof(text)), MESH_OK);
        assert_int_equal(paircode_parse(text, strlen(text), &back, NULL, 0), MESH_OK);
        assert_int_equal(back.nameplate, code.nameplate);
        assert_memory_equal(back.words, code.words, PAIRCODE_WORDS);
    }
    /* every word, in every position */
    for (i = 0; i < PAIRCODE_LIST_LEN; i++) {
        code.nameplate = 999;
        code.words[0] = (uint8_t)i;
        code.words[1] = (uint8_t)(255 - i);
        code.words[2] = (uint8_t)(i * 7);
        assert_int_equal(paircode_format(&code, text, sizeof(text)), MESH_OK);
        assert_true(strlen(text) < PAIRCODE_TEXT_LEN);
        assert_int_equal(paircode_parse(text, strlen(text), &back, NULL, 0), MESH_OK);
        assert_memory_equal(back.words, code.words, PAIRCODE_WORDS);
    }
}

static void
test_paircode_format_layout(void **state)
{
    paircode_t code = {.nameplate = 7};
    char text[PAIRCODE_TEXT_LEN], small[8];
    size_t i;

    (void)state;
    for (i = 0; i < PAIRCODE_LIST_LEN; i++) {
        if (strcmp(paircode_word(i), "crystal") == 0) {
            code.words[0] = (uint8_t)i;
        } else if (strcmp(paircode_word(i), "ladder") == 0) {
            code.words[1] = (uint8_t)i;
        } else if (strcmp(paircode_word(i), "orbit") == 0) {
            code.words[2] = (uint8_t)i;
        }
    }
    assert_int_equal(paircode_format(&code, text, sizeof(text)), MESH_OK);
    assert_string_equal(text, "7-crystal-ladder-orbit");
    assert_int_equal(paircode_format(&code, small, sizeof(small)), MESH_ETOOBIG);
    assert_string_equal(small, "");
    code.nameplate = 0;
    assert_int_equal(paircode_format(&code, text, sizeof(text)), MESH_EINVAL);
    code.nameplate = 1000;
    assert_int_equal(paircode_format(&code, text, sizeof(text)), MESH_EINVAL);
}

/* Parse text, expecting err, a zeroed code and a reason. */
static void
s_assert_refused(const char *text, mesh_err_t err)
{
    static const paircode_t zero;
    paircode_t code;
    char why[128];

    memset(&code, 0xa5, sizeof(code));
    why[0] = '\0';
    if (paircode_parse(text, strlen(text), &code, why, sizeof(why)) != err) {
        fail_msg("not refused as %d: \"%s\"", (int)err, text);
    }
    assert_memory_equal(&code, &zero, sizeof(code));
    assert_true(strlen(why) > 0);
}

static void
test_paircode_parse_is_tolerant(void **state)
{
    static const char *const forms[] = {
        "7-crystal-ladder-orbit",   "7 crystal ladder orbit",     "  7--Crystal  LADDER-orbit\n",
        "007-crystal-ladder-orbit", "7\tcrystal\r\nladder orbit", "-7-crystal-ladder-orbit-",
    };
    paircode_t want, got;
    size_t i;

    (void)state;
    assert_int_equal(paircode_parse(forms[0], strlen(forms[0]), &want, NULL, 0), MESH_OK);
    assert_int_equal(want.nameplate, 7);
    for (i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
        assert_int_equal(paircode_parse(forms[i], strlen(forms[i]), &got, NULL, 0), MESH_OK);
        assert_int_equal(got.nameplate, want.nameplate);
        assert_memory_equal(got.words, want.words, PAIRCODE_WORDS);
    }
}

static void
test_paircode_parse_refuses_malformed(void **state)
{
    char big[PAIRCODE_INPUT_MAX + 2];
    char why[128];
    paircode_t code;

    (void)state;
    s_assert_refused("", MESH_EINVAL);
    s_assert_refused(" - -", MESH_EINVAL);
    s_assert_refused("crystal-ladder-orbit", MESH_EINVAL);      /* no nameplate */
    s_assert_refused("0-crystal-ladder-orbit", MESH_EINVAL);    /* nameplate 0 */
    s_assert_refused("1000-crystal-ladder-orbit", MESH_EINVAL); /* 4 digits */
    s_assert_refused("7a-crystal-ladder-orbit", MESH_EINVAL);   /* not a number */
    s_assert_refused("7-crystal-ladder", MESH_EINVAL);          /* too few words */
    s_assert_refused("7", MESH_EINVAL);
    s_assert_refused("7-crystal-ladder-orbit-otter", MESH_EINVAL);  /* too many */
    s_assert_refused("7-crystal-ladder-orb1t", MESH_EINVAL);        /* a digit in a word */
    s_assert_refused("7-crystal_ladder-orbit", MESH_EINVAL);        /* '_' is no separator */
    s_assert_refused("7-crystal-ladder-\xc3\xb6rbit", MESH_EINVAL); /* non-ASCII */
    s_assert_refused("7-crystal-ladder-orbits", MESH_ENOTFOUND);    /* unknown words */
    s_assert_refused("7-crystal-ladder-orbi", MESH_ENOTFOUND);
    s_assert_refused("7-crystal-ladder-xyz", MESH_ENOTFOUND);
    s_assert_refused("7-crystal-ladder-abcdefghijklmnop", MESH_ENOTFOUND);
    s_assert_refused("7-aaa-ladder-orbit", MESH_ENOTFOUND);
    s_assert_refused("7-zzzzzzz-ladder-orbit", MESH_ENOTFOUND);
    /* the reason names the place of an unknown word, not its letters (a near miss of the
     * secret) */
    assert_int_equal(paircode_parse("7-crystal-ladder-orbix", 22, &code, why, sizeof(why)),
                     MESH_ENOTFOUND);
    assert_non_null(strstr(why, "word 3"));
    assert_null(strstr(why, "orbix"));
    /* an embedded NUL is a foreign byte; len, not the NUL, ends the text */
    assert_int_equal(paircode_parse("7-crystal-ladder-orbit\0x", 24, &code, NULL, 0), MESH_EINVAL);
    assert_int_equal(paircode_parse("7-crystal-ladder-orbit-junk", 22, &code, NULL, 0), MESH_OK);
    /* the length cap, and NULL arguments */
    memset(big, ' ', sizeof(big));
    memcpy(big, "7-crystal-ladder-orbit", 22);
    assert_int_equal(paircode_parse(big, PAIRCODE_INPUT_MAX, &code, NULL, 0), MESH_OK);
    assert_int_equal(paircode_parse(big, PAIRCODE_INPUT_MAX + 1, &code, NULL, 0), MESH_ETOOBIG);
    assert_int_equal(paircode_parse(NULL, 3, &code, NULL, 0), MESH_EINVAL);
    assert_int_equal(paircode_parse("7", 1, NULL, NULL, 0), MESH_EINVAL);
}

static void
test_paircode_prs_is_the_secret_words(void **state)
{
    paircode_t a, b;
    uint8_t prs_a[PAIRCODE_PRS_MAX], prs_b[PAIRCODE_PRS_MAX];
    size_t len_a, len_b;

    (void)state;
    assert_int_equal(paircode_parse("7-crystal-ladder-orbit", 22, &a, NULL, 0), MESH_OK);
    len_a = paircode_prs(&a, prs_a);
    assert_int_equal(len_a, strlen("crystal-ladder-orbit"));
    assert_memory_equal(prs_a, "crystal-ladder-orbit", len_a);
    /* the nameplate is public and not in the PRS; any word changes it */
    assert_int_equal(paircode_parse("512 Crystal Ladder Orbit", 24, &b, NULL, 0), MESH_OK);
    len_b = paircode_prs(&b, prs_b);
    assert_int_equal(len_a, len_b);
    assert_memory_equal(prs_a, prs_b, len_a);
    assert_int_equal(paircode_parse("7-crystal-ladder-otter", 22, &b, NULL, 0), MESH_OK);
    len_b = paircode_prs(&b, prs_b);
    assert_false(len_a == len_b && memcmp(prs_a, prs_b, len_a) == 0);
    /* the longest PRS fits */
    memset(a.words, 0, sizeof(a.words));
    {
        size_t i, longest = 0;

        for (i = 0; i < PAIRCODE_LIST_LEN; i++) {
            if (strlen(paircode_word(i)) > strlen(paircode_word(longest))) {
                longest = i;
            }
        }
        memset(a.words, (int)longest, sizeof(a.words));
        assert_true(paircode_prs(&a, prs_a) <= PAIRCODE_PRS_MAX);
    }
    paircode_wipe(&a);
    assert_int_equal(a.nameplate, 0);
    paircode_wipe(NULL);
}

static void
test_paircode_generate_spreads(void **state)
{
    static unsigned seen[PAIRCODE_WORDS][PAIRCODE_LIST_LEN];
    paircode_t code;
    size_t i, w, zero_count;
    unsigned low = 0, high = 0;

    (void)state;
    for (i = 0; i < S_ROUNDS * 4; i++) {
        assert_int_equal(paircode_generate(&code), MESH_OK);
        for (w = 0; w < PAIRCODE_WORDS; w++) {
            seen[w][code.words[w]]++;
        }
        low += code.nameplate <= 500;
        high += code.nameplate > 500;
    }
    /* 8000 draws over 256 words: every word is expected 31 times; a word never drawn
     * in a position has probability 256 * e^-31, about 10^-11. */
    for (w = 0; w < PAIRCODE_WORDS; w++) {
        zero_count = 0;
        for (i = 0; i < PAIRCODE_LIST_LEN; i++) {
            zero_count += seen[w][i] == 0;
        }
        assert_int_equal(zero_count, 0);
    }
    assert_true(low > 3000 && high > 3000);
    assert_int_equal(paircode_generate(NULL), MESH_EINVAL);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_paircode_word_list_shape),
        cmocka_unit_test(test_paircode_round_trip),
        cmocka_unit_test(test_paircode_format_layout),
        cmocka_unit_test(test_paircode_parse_is_tolerant),
        cmocka_unit_test(test_paircode_parse_refuses_malformed),
        cmocka_unit_test(test_paircode_prs_is_the_secret_words),
        cmocka_unit_test(test_paircode_generate_spreads),
    };

    if (sodium_init() < 0)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
