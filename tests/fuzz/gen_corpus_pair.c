/* tests/fuzz/gen_corpus_pair.c: writes the seed corpus of fuzz_pair into a directory: code
 * texts (good, tolerant, unknown word, malformed, too long), an AD, CPace messages (share ||
 * AD: a valid share, the identity, an invalid encoding, bit 255 set, a short one), and
 * tag- and signature-sized inputs.
 * Not built by the Makefile; run by hand after a layout change, from the top directory:
 *   make build/libmeshsync.a && cc -std=c11 -D_DEFAULT_SOURCE -Iinclude -I. \
 *     tests/fuzz/gen_corpus_pair.c build/libmeshsync.a $(pkg-config --libs libsodium) \
 *     -o build/gen_corpus_pair && build/gen_corpus_pair tests/fuzz/corpus/pair
 * Layer: tests. Third-party: none. SPDX-License-Identifier: MIT */
#include "crypto/cpace.h"
#include "crypto/ident.h"
#include "crypto/paircode.h"
#include "crypto/pairkey.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *s_dir;

static void
s_die(const char *what)
{
    fprintf(stderr, "gen_corpus_pair: %s\n", what);
    exit(1);
}

static void
s_write(const char *name, const void *p, size_t len)
{
    char path[512];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", s_dir, name);
    f = fopen(path, "wb");
    if (f == NULL || (len > 0 && fwrite(p, 1, len, f) != len) || fclose(f) != 0)
        s_die(path);
}

static void
s_text(const char *name, const char *text)
{
    s_write(name, text, strlen(text));
}

/* A message: share (32 bytes) || ad. */
static void
s_message(const char *name, const uint8_t *share, const uint8_t *ad)
{
    uint8_t msg[CPACE_POINT_LEN + PAIRKEY_AD_LEN];

    memcpy(msg, share, CPACE_POINT_LEN);
    memcpy(msg + CPACE_POINT_LEN, ad, PAIRKEY_AD_LEN);
    s_write(name, msg, sizeof(msg));
}

int
main(int argc, char **argv)
{
    ident_t *id = NULL;
    cpace_t *c = NULL;
    uint8_t ad[PAIRKEY_AD_LEN], share[CPACE_POINT_LEN], filler[300];

    if (argc != 2)
        s_die("usage: gen_corpus_pair DIR");
    s_dir = argv[1];
    if (ident_generate(&id) != MESH_OK || pairkey_ad_encode(ident_public_key(id), ad) != MESH_OK)
        s_die("no identity");

    s_text("code-good", "7-crystal-ladder-orbit");
    s_text("code-tolerant", "  512 Crystal--LADDER\totter\r\n");
    s_text("code-unknown-word", "7-crystal-ladder-orbix");
    s_text("code-no-nameplate", "crystal-ladder-orbit");
    s_text("code-four-words", "999-acid-zebra-piano-otter");
    memset(filler, ' ', sizeof(filler));
    memcpy(filler, "1-acid-acid-acid", 16);
    s_write("code-too-long", filler, sizeof(filler));

    s_write("ad-good", ad, sizeof(ad));
    if (cpace_new(CPACE_INITIATOR, (const uint8_t *)"crystal-ladder-orbit", 20, NULL, 0, NULL, 0,
                  ad, sizeof(ad), &c) != MESH_OK)
        s_die("cpace_new");
    memcpy(share, cpace_share(c), sizeof(share));
    s_message("msg-good", share, ad);
    share[CPACE_POINT_LEN - 1] |= 0x80;
    s_message("msg-bit255", share, ad);
    memset(share, 0, sizeof(share));
    s_message("msg-identity", share, ad);
    /* draft-irtf-cfrg-cpace-21 B.3.11's Y_i1: not an encoding of any element */
    {
        static const uint8_t y_i1[CPACE_POINT_LEN] = {
            0x2b, 0x3c, 0x6b, 0x8c, 0x4f, 0x38, 0x00, 0xe7, 0xae, 0xf6, 0x86,
            0x40, 0x25, 0xb4, 0xed, 0x79, 0xbd, 0x59, 0x91, 0x17, 0xe4, 0x27,
            0xc4, 0x1b, 0xd4, 0x7d, 0x93, 0xd6, 0x54, 0xb4, 0xa5, 0x1c,
        };

        s_message("msg-invalid", y_i1, ad);
    }
    s_write("msg-short", cpace_share(c), 31);
    memset(filler, 0x5a, sizeof(filler));
    s_write("tag-sized", filler, PAIRKEY_TAG_LEN);
    s_write("sig-sized", filler, IDENT_SIG_LEN);
    s_write("empty", filler, 0);
    cpace_free(c);
    ident_free(id);
    return 0;
}
