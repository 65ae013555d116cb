/* tests/fuzz/fuzz_beacon.c: libFuzzer harness for LAN beacons (docs/PROTOCOL.md §16), the one
 * input a stranger sends that core's decoder never sees: every byte goes to beacon_decode as
 * a received datagram. What decodes must have the length its tag count says, a port, and
 * must not be taken as from the harness's member under its pairwise key (a fuzzer cannot
 * compute a tag); what does not must fail with a decoder's error and a zeroed beacon. Then
 * the input's first bytes choose a port and a tag count for an honest beacon, which must
 * decode and be recognised by each member it tags and by nobody else. The same bytes go to
 * beacon_pair_decode (pairing beacons, §15.6): what decodes must encode back to them. Any
 * breach abort()s.
 * Built with tests/fuzz/check.c by `make fuzz` (clang, libFuzzer) and, with
 * tests/fuzz/replay.c, by gcc for `make test`. Seeds: corpus/beacon/ (gen_corpus_beacon.c).
 * Layer: tests. Third-party: none. SPDX-License-Identifier: MIT */
#include "check.h"

#include "crypto/beaconkey.h"
#include "crypto/ident.h"
#include "transport/beacon.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static ident_t *s_a, *s_b, *s_c; /* a sender, its member, a stranger: made once */
static uint8_t s_ab[BEACONKEY_LEN], s_cb[BEACONKEY_LEN];

static void
s_once(void)
{
    if (s_a) {
        return;
    }
    CHECK(ident_lib_init() == MESH_OK);
    CHECK(ident_generate(&s_a) == MESH_OK && ident_generate(&s_b) == MESH_OK &&
          ident_generate(&s_c) == MESH_OK);
    CHECK(beaconkey_derive(s_b, ident_public_key(s_a), s_ab) == MESH_OK);
    CHECK(beaconkey_derive(s_c, ident_public_key(s_a), s_cb) == MESH_OK);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    beacon_t b;
    s_once();
    mesh_err_t err = beacon_decode(data, size, &b);
    if (err == MESH_OK) {
        CHECK(b.ntags >= 1 && b.ntags <= BEACON_TAGS_MAX && b.port != 0);
        CHECK(size == BEACON_HEAD_LEN + b.ntags * BEACONKEY_TAG);
        CHECK(memcmp(b.head, data, BEACON_HEAD_LEN) == 0);
        CHECK(!beacon_is_from(&b, s_ab, ident_public_key(s_a), 1000));
    } else {
        CHECK(check_is_decode_error(err));
        CHECK(check_is_zero(&b, sizeof b));
    }
    /* the pairing kind (§15.6): what decodes is exactly its layout, and encodes back */
    unsigned nameplate = 0;
    uint16_t pport = 0;
    err = beacon_pair_decode(data, size, &nameplate, &pport);
    if (err == MESH_OK) {
        uint8_t again[BEACON_PAIR_LEN];
        size_t alen = 0;
        CHECK(size == BEACON_PAIR_LEN && nameplate >= 1 && nameplate <= 999 && pport != 0);
        CHECK(beacon_pair_encode(nameplate, pport, again, sizeof again, &alen) == MESH_OK);
        CHECK(alen == size && memcmp(again, data, size) == 0);
    } else {
        CHECK(check_is_decode_error(err) && nameplate == 0 && pport == 0);
    }
    /* an honest beacon with the port and count the input's first bytes choose */
    if (size >= 3) {
        uint8_t keys[BEACON_TAGS_MAX][BEACONKEY_LEN];
        uint8_t out[BEACON_MAX];
        size_t n = 1 + data[2] % BEACON_TAGS_MAX, len = 0;
        uint16_t port = (uint16_t)(data[0] << 8 | data[1]);
        memset(keys, 0x5a, sizeof keys);
        memcpy(keys[n - 1], s_ab, BEACONKEY_LEN); /* the member's tag last */
        err = beacon_encode(ident_public_key(s_a), port, 1000,
                            (const uint8_t(*)[BEACONKEY_LEN])keys, n, out, sizeof out, &len);
        CHECK(port == 0 ? err == MESH_EINVAL && len == 0 : err == MESH_OK);
        if (err == MESH_OK) {
            CHECK(beacon_decode(out, len, &b) == MESH_OK && b.port == port &&
                  b.ntags % BEACON_TAGS_STEP == 0 && b.ntags >= n);
            CHECK(beacon_is_from(&b, s_ab, ident_public_key(s_a), 1000));
            CHECK(beacon_is_from(&b, s_ab, ident_public_key(s_a), 1001));
            CHECK(!beacon_is_from(&b, s_ab, ident_public_key(s_a), 1002));
            CHECK(!beacon_is_from(&b, s_cb, ident_public_key(s_a), 1000));
            CHECK(!beacon_is_from(&b, s_ab, ident_public_key(s_b), 1000));
        }
    }
    return 0;
}
