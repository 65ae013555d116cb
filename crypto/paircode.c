/* crypto/paircode.c: the one-time pairing code (docs/PROTOCOL.md §15).
 * Owns: the list of 256 words (sorted, 3 to 7 lower-case letters, no two sharing their
 * first three letters, so each can be told apart when read aloud or typed short), random
 * codes (randombytes), the text form and its tolerant parser, the PRS.
 * Not here: CPace (crypto/cpace.c), expiry and single use (the daemon).
 * Layer: crypto. Third-party: sodium.h. SPDX-License-Identifier: MIT */
#include "paircode.h"

#include "ident.h"

#include <sodium.h>

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* The list, in byte order (paircode_parse searches it by bisection). Changing it changes
 * every code's PRS: a new list is a new CI label (pairkey.c). */
static const char *const s_words[PAIRCODE_LIST_LEN] = {
    "acid",    "acorn",   "actor",   "adult",   "agent",   "alarm",  "album",   "alien",   "alpha",
    "amber",   "angle",   "ankle",   "apple",   "april",   "arena",  "armor",   "arrow",   "atlas",
    "attic",   "audio",   "bacon",   "badge",   "bagel",   "baker",  "bamboo",  "banjo",   "barn",
    "basil",   "beach",   "bench",   "berry",   "bike",    "bingo",  "bison",   "blade",   "bloom",
    "bonus",   "boot",    "border",  "bottle",  "bounce",  "brain",  "brick",   "broom",   "bubble",
    "bucket",  "buffalo", "bugle",   "bunny",   "butter",  "cabin",  "cactus",  "camel",   "candle",
    "carpet",  "castle",  "cedar",   "cello",   "chalk",   "cherry", "chimney", "cider",   "circus",
    "citrus",  "clover",  "cobra",   "coconut", "comet",   "copper", "coral",   "cotton",  "cougar",
    "crane",   "cricket", "crystal", "cube",    "cupcake", "dancer", "delta",   "denim",   "desert",
    "diamond", "dinner",  "doctor",  "dolphin", "donkey",  "dragon", "drum",    "eagle",   "echo",
    "elbow",   "ember",   "engine",  "falcon",  "feather", "fiber",  "fiddle",  "forest",  "fossil",
    "fox",     "galaxy",  "garden",  "gecko",   "giant",   "ginger", "giraffe", "glacier", "glove",
    "goblin",  "gorilla", "granite", "guitar",  "hammer",  "harbor", "hazel",   "helmet",  "hero",
    "hippo",   "honey",   "horizon", "hotel",   "husky",   "igloo",  "index",   "island",  "ivory",
    "jacket",  "jaguar",  "jelly",   "jewel",   "jigsaw",  "jungle", "kayak",   "kettle",  "kitten",
    "koala",   "ladder",  "lagoon",  "lantern", "laptop",  "lemon",  "leopard", "lettuce", "lily",
    "lizard",  "lobster", "locket",  "lunar",   "magnet",  "mango",  "maple",   "marble",  "meadow",
    "melon",   "mercury", "meteor",  "mirror",  "mitten",  "monkey", "mosaic",  "muffin",  "napkin",
    "nectar",  "needle",  "noodle",  "nutmeg",  "oasis",   "ocean",  "olive",   "onion",   "opera",
    "orange",  "orbit",   "orchid",  "otter",   "oyster",  "paddle", "palace",  "panda",   "parrot",
    "pasta",   "peanut",  "pebble",  "pencil",  "pepper",  "piano",  "pickle",  "pigeon",  "pillow",
    "pirate",  "planet",  "pocket",  "polar",   "pony",    "potato", "puffin",  "puppet",  "puzzle",
    "quartz",  "quilt",   "rabbit",  "radio",   "raven",   "rhino",  "ribbon",  "river",   "robot",
    "rocket",  "ruby",    "saddle",  "salmon",  "sandal",  "saturn", "scarf",   "school",  "shadow",
    "shovel",  "silver",  "singer",  "sketch",  "skunk",   "sledge", "socket",  "sofa",    "spider",
    "spoon",   "squid",   "stable",  "sugar",   "summit",  "sunset", "switch",  "tablet",  "taco",
    "tango",   "teapot",  "tennis",  "tiger",   "toast",   "tomato", "tulip",   "tunnel",  "turtle",
    "tuxedo",  "valley",  "velvet",  "violin",  "waffle",  "wagon",  "walnut",  "whale",   "window",
    "wizard",  "yogurt",  "zebra",   "zipper",
};

mesh_err_t
paircode_generate(paircode_t *code)
{
    if (code == NULL)
        return MESH_EINVAL;
    memset(code, 0, sizeof(*code));
    if (ident_lib_init() != MESH_OK)
        return MESH_EIO;
    code->nameplate = 1 + randombytes_uniform(PAIRCODE_NAMEPLATE_MAX);
    randombytes_buf(code->words, sizeof(code->words));
    return MESH_OK;
}

mesh_err_t
paircode_format(const paircode_t *code, char *buf, size_t buf_len)
{
    int n;

    if (buf == NULL || buf_len == 0)
        return MESH_EINVAL;
    buf[0] = '\0';
    if (code == NULL || code->nameplate < 1 || code->nameplate > PAIRCODE_NAMEPLATE_MAX)
        return MESH_EINVAL;
    n = snprintf(buf, buf_len, "%u-%s-%s-%s", code->nameplate, s_words[code->words[0]],
                 s_words[code->words[1]], s_words[code->words[2]]);
    if (n < 0 || (size_t)n >= buf_len) {
        sodium_memzero(buf, buf_len);
        buf[0] = '\0';
        return MESH_ETOOBIG;
    }
    return MESH_OK;
}

/* Index of word (exactly len lower-case letters) in the list, or -1. */
static int
s_lookup(const char *word, size_t len)
{
    size_t lo = 0, hi = PAIRCODE_LIST_LEN;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const char *w = s_words[mid];
        size_t wlen = strlen(w);
        int cmp = memcmp(word, w, len < wlen ? len : wlen);

        if (cmp == 0) {
            cmp = len < wlen ? -1 : len > wlen ? 1 : 0;
        }
        if (cmp == 0)
            return (int)mid;
        if (cmp < 0) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    return -1;
}

static int
s_is_separator(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n' || ch == '-';
}

/* A printf into why (may be NULL); returns err, for `return s_why(...)`. */
__attribute__((format(printf, 4, 5))) static mesh_err_t
s_why(mesh_err_t err, char *why, size_t why_len, const char *fmt, ...)
{
    va_list ap;

    if (why != NULL && why_len > 0) {
        va_start(ap, fmt);
        vsnprintf(why, why_len, fmt, ap);
        va_end(ap);
    }
    return err;
}

mesh_err_t
paircode_parse(const char *text, size_t len, paircode_t *out, char *why, size_t why_len)
{
    paircode_t code = {0};
    char token[PAIRCODE_WORD_MAX + 1];
    size_t pos = 0, count = 0; /* count: tokens read, the nameplate first */
    mesh_err_t err = MESH_OK;

    if (why != NULL && why_len > 0) {
        why[0] = '\0';
    }
    if (out == NULL)
        return MESH_EINVAL;
    memset(out, 0, sizeof(*out));
    if (text == NULL && len > 0)
        return MESH_EINVAL;
    if (len > PAIRCODE_INPUT_MAX)
        return s_why(MESH_ETOOBIG, why, why_len, "code longer than %u bytes", PAIRCODE_INPUT_MAX);
    for (;;) {
        size_t start, tlen;

        while (pos < len && s_is_separator(text[pos])) {
            pos++;
        }
        if (pos == len)
            break;
        start = pos;
        while (pos < len && !s_is_separator(text[pos])) {
            pos++;
        }
        tlen = pos - start;
        if (count == 0) {
            unsigned value = 0;
            size_t i;

            for (i = 0; i < tlen; i++) {
                if (text[start + i] < '0' || text[start + i] > '9' || i >= 3) {
                    err = s_why(MESH_EINVAL, why, why_len,
                                "a code starts with its number (1 to %u)", PAIRCODE_NAMEPLATE_MAX);
                    goto out;
                }
                value = value * 10 + (unsigned)(text[start + i] - '0');
            }
            if (value < 1 || value > PAIRCODE_NAMEPLATE_MAX) {
                err = s_why(MESH_EINVAL, why, why_len, "the number of a code is 1 to %u",
                            PAIRCODE_NAMEPLATE_MAX);
                goto out;
            }
            code.nameplate = value;
        } else {
            size_t i;
            int index;

            if (count > PAIRCODE_WORDS) {
                err = s_why(MESH_EINVAL, why, why_len, "a code has %u words, this one more",
                            PAIRCODE_WORDS);
                goto out;
            }
            for (i = 0; i < tlen; i++) {
                char ch = text[start + i];

                if (ch >= 'A' && ch <= 'Z') {
                    ch = (char)(ch - 'A' + 'a');
                }
                if (ch < 'a' || ch > 'z') {
                    err = s_why(MESH_EINVAL, why, why_len, "word %zu of the code is not letters",
                                count);
                    goto out;
                }
                if (i < PAIRCODE_WORD_MAX) {
                    token[i] = ch;
                }
            }
            index = tlen <= PAIRCODE_WORD_MAX ? s_lookup(token, tlen) : -1;
            if (index < 0) {
                /* The word may be a typo of the secret: name its place, not its letters. */
                err = s_why(MESH_ENOTFOUND, why, why_len,
                            "word %zu of the code is not in the word list", count);
                goto out;
            }
            code.words[count - 1] = (uint8_t)index;
        }
        count++;
    }
    if (count == 0) {
        err = s_why(MESH_EINVAL, why, why_len, "the code is empty");
        goto out;
    }
    if (count != 1 + PAIRCODE_WORDS) {
        err = s_why(MESH_EINVAL, why, why_len, "a code has %u words, this one %zu", PAIRCODE_WORDS,
                    count - 1);
        goto out;
    }
    *out = code;
out:
    sodium_memzero(&code, sizeof(code));
    sodium_memzero(token, sizeof(token));
    return err;
}

size_t
paircode_prs(const paircode_t *code, uint8_t *prs)
{
    size_t pos = 0, i;

    for (i = 0; i < PAIRCODE_WORDS; i++) {
        const char *w = s_words[code->words[i]];
        size_t n = strlen(w);

        if (i > 0) {
            prs[pos++] = '-';
        }
        memcpy(prs + pos, w, n);
        pos += n;
    }
    return pos;
}

const char *
paircode_word(size_t index)
{
    return index < PAIRCODE_LIST_LEN ? s_words[index] : NULL;
}

void
paircode_wipe(paircode_t *code)
{
    if (code != NULL) {
        sodium_memzero(code, sizeof(*code));
    }
}
