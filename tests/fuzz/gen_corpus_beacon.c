/* tests/fuzz/gen_corpus_beacon.c: writes the seed corpus of fuzz_beacon into a directory:
 * honest beacons (1, 4 and 32 tags), the shortest head, one byte short and long, another
 * magic, version and count, port 0, a count past the cap, and an oversized datagram.
 * Not built by the Makefile; run by hand after a layout change, from the top directory:
 *   make build/libmeshsync.a && cc -std=c11 -D_DEFAULT_SOURCE -Iinclude -I. \
 *     tests/fuzz/gen_corpus_beacon.c build/libmeshsync.a $(pkg-config --libs libsodium) \
 *     -o build/gen_corpus_beacon && build/gen_corpus_beacon tests/fuzz/corpus/beacon
 * Layer: tests. Third-party: none. SPDX-License-Identifier: MIT */
#include "crypto/beaconkey.h"
#include "crypto/ident.h"
#include "transport/beacon.h"

#include <stdio.h>
#include <string.h>

static int
s_write(const char *dir, const char *name, const uint8_t *p, size_t n)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(p, 1, n, f) != n || fclose(f) != 0) {
        fprintf(stderr, "cannot write %s\n", path);
        return 1;
    }
    return 0;
}

int
main(int argc, char **argv)
{
    ident_t *a = NULL, *b = NULL;
    uint8_t keys[BEACON_TAGS_MAX][BEACONKEY_LEN], buf[BEACON_MAX + 64];
    size_t len = 0;
    int bad = 0;
    if (argc != 2 || ident_lib_init() != MESH_OK || ident_generate(&a) != MESH_OK ||
        ident_generate(&b) != MESH_OK) {
        fprintf(stderr, "usage: gen_corpus_beacon DIR\n");
        return 2;
    }
    for (size_t i = 0; i < BEACON_TAGS_MAX; i++) {
        if (beaconkey_derive(a, ident_public_key(b), keys[i]) != MESH_OK)
            return 1;
        keys[i][0] ^= (uint8_t)i;
    }
    const uint8_t(*k)[BEACONKEY_LEN] = (const uint8_t(*)[BEACONKEY_LEN])keys;
    const uint8_t *pk = ident_public_key(a);
    bad |= beacon_encode(pk, 7000, 1000, k, 1, buf, sizeof buf, &len) != MESH_OK;
    bad |= s_write(argv[1], "good-1", buf, len);
    bad |= s_write(argv[1], "short-by-one", buf, len - 1);
    buf[len] = 0;
    bad |= s_write(argv[1], "long-by-one", buf, len + 1);
    bad |= s_write(argv[1], "head-only", buf, BEACON_HEAD_LEN);
    uint8_t mut[BEACON_MAX + 64];
    memcpy(mut, buf, len);
    mut[0] = 'Z';
    bad |= s_write(argv[1], "magic", mut, len);
    memcpy(mut, buf, len);
    mut[4] = 2;
    bad |= s_write(argv[1], "version-2", mut, len);
    memcpy(mut, buf, len);
    mut[6] = mut[7] = 0;
    bad |= s_write(argv[1], "port-0", mut, len);
    memcpy(mut, buf, len);
    mut[5] = 0;
    bad |= s_write(argv[1], "count-0", mut, BEACON_HEAD_LEN);
    bad |= beacon_encode(pk, 65535, 1000, k, 4, buf, sizeof buf, &len) != MESH_OK;
    bad |= s_write(argv[1], "good-4", buf, len);
    bad |= beacon_encode(pk, 1, 1000, k, BEACON_TAGS_MAX, buf, sizeof buf, &len) != MESH_OK;
    bad |= s_write(argv[1], "good-32", buf, len);
    memcpy(mut, buf, len);
    mut[5] = BEACON_TAGS_MAX + 1;
    memset(mut + len, 0x33, BEACONKEY_TAG);
    bad |= s_write(argv[1], "count-33", mut, len + BEACONKEY_TAG);
    memset(mut, 0x41, sizeof mut);
    memcpy(mut, buf, BEACON_HEAD_LEN);
    bad |= s_write(argv[1], "oversized", mut, sizeof mut);
    ident_free(a);
    ident_free(b);
    return bad;
}
