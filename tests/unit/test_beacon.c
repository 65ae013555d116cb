/* tests/unit/test_beacon.c: unit tests of transport/beacon.c and crypto/beaconkey.c (LAN
 * beacons, docs/PROTOCOL.md §16). Checks: both ends derive one pairwise key and no third
 * device does; a beacon round-trips and is recognised as from its sender by each member it
 * tags, at its epoch and the neighbours only, and by nobody else (not a stranger who knows
 * every ID, not as from another member); no key bytes appear in it and two beacons of one
 * sender share no bytes past the header; every malformed length, magic, version, count and
 * port is refused (ETOOBIG past the cap); and the UDP socket carries one over loopback
 * (sent to 127.0.0.1 only) and refuses an oversized datagram.
 * Layer: tests. Third-party: cmocka. SPDX-License-Identifier: MIT */
#include "crypto/beaconkey.h"
#include "crypto/ident.h"
#include "transport/beacon.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#define S_N 5 /* devices: 0 sends, 1..3 are its members, 4 is a stranger */

static ident_t *s_id[S_N];

static int
s_setup(void **state)
{
    (void)state;
    if (ident_lib_init() != MESH_OK)
        return -1;
    for (int i = 0; i < S_N; i++) {
        if (ident_generate(&s_id[i]) != MESH_OK)
            return -1;
    }
    return 0;
}

static int
s_teardown(void **state)
{
    (void)state;
    for (int i = 0; i < S_N; i++) {
        ident_free(s_id[i]);
    }
    return 0;
}

static const uint8_t *
s_pk(int i)
{
    return ident_public_key(s_id[i]);
}

/* A beacon from device 0 for devices 1..3 at epoch, port 7000. */
static size_t
s_make(uint64_t epoch, uint8_t *out)
{
    uint8_t keys[3][BEACONKEY_LEN];
    size_t len = 0;
    for (int i = 1; i <= 3; i++) {
        assert_int_equal(beaconkey_derive(s_id[0], s_pk(i), keys[i - 1]), MESH_OK);
    }
    assert_int_equal(beacon_encode(s_pk(0), 7000, epoch, (const uint8_t(*)[BEACONKEY_LEN])keys, 3,
                                   out, BEACON_MAX, &len),
                     MESH_OK);
    return len;
}

static void
test_beaconkey_pairwise(void **state)
{
    uint8_t ab[BEACONKEY_LEN], ba[BEACONKEY_LEN], ac[BEACONKEY_LEN], zero[BEACONKEY_LEN] = {0};
    (void)state;
    assert_int_equal(beaconkey_derive(s_id[0], s_pk(1), ab), MESH_OK);
    assert_int_equal(beaconkey_derive(s_id[1], s_pk(0), ba), MESH_OK);
    assert_memory_equal(ab, ba, BEACONKEY_LEN);
    assert_int_equal(beaconkey_derive(s_id[0], s_pk(2), ac), MESH_OK);
    assert_memory_not_equal(ab, ac, BEACONKEY_LEN);
    /* our own key, and a key that is no point, are refused with a zeroed key */
    assert_int_equal(beaconkey_derive(s_id[0], s_pk(0), ab), MESH_EINVAL);
    assert_memory_equal(ab, zero, BEACONKEY_LEN);
    uint8_t bad[IDENT_PK_LEN];
    memset(bad, 0xff, sizeof bad);
    assert_int_equal(beaconkey_derive(s_id[0], bad, ab), MESH_EINVAL);
    assert_memory_equal(ab, zero, BEACONKEY_LEN);
}

static void
test_beacon_round_trip_and_match(void **state)
{
    uint8_t buf[BEACON_MAX];
    beacon_t b;
    uint64_t e = beacon_epoch(1764900000);
    (void)state;
    size_t len = s_make(e, buf);
    assert_int_equal(len, BEACON_HEAD_LEN + 4 * BEACONKEY_TAG); /* 3 tags padded to 4 */
    assert_int_equal(beacon_decode(buf, len, &b), MESH_OK);
    assert_int_equal(b.port, 7000);
    assert_int_equal(b.ntags, 4);
    for (int i = 1; i <= 3; i++) {
        uint8_t k[BEACONKEY_LEN];
        assert_int_equal(beaconkey_derive(s_id[i], s_pk(0), k), MESH_OK);
        assert_true(beacon_is_from(&b, k, s_pk(0), e));
        assert_true(beacon_is_from(&b, k, s_pk(0), e - 1)); /* the receiver's clock ahead */
        assert_true(beacon_is_from(&b, k, s_pk(0), e + 1));
        assert_false(beacon_is_from(&b, k, s_pk(0), e + 2)); /* two epochs off */
        assert_false(beacon_is_from(&b, k, s_pk(0), e - 2));
        /* not taken for a beacon of another member (the sender's key is in every tag) */
        for (int j = 1; j <= 3; j++) {
            uint8_t kj[BEACONKEY_LEN];
            if (j != i && beaconkey_derive(s_id[i], s_pk(j), kj) == MESH_OK) {
                assert_false(beacon_is_from(&b, kj, s_pk(j), e));
            }
        }
        assert_false(beacon_is_from(&b, k, s_pk(i), e)); /* nor reflected as its own */
    }
    /* the stranger (4) knows every ID; its keys with 0 match nothing */
    uint8_t k4[BEACONKEY_LEN];
    assert_int_equal(beaconkey_derive(s_id[4], s_pk(0), k4), MESH_OK);
    assert_false(beacon_is_from(&b, k4, s_pk(0), e));
    /* a flipped bit of the head (port, nonce) breaks every tag */
    for (size_t at = 5; at < BEACON_HEAD_LEN; at++) {
        uint8_t k1[BEACONKEY_LEN];
        uint8_t mut[BEACON_MAX];
        memcpy(mut, buf, len);
        mut[at] ^= 0x01;
        assert_int_equal(beaconkey_derive(s_id[1], s_pk(0), k1), MESH_OK);
        beacon_t m;
        if (beacon_decode(mut, len, &m) == MESH_OK) {
            assert_false(beacon_is_from(&m, k1, s_pk(0), e));
        }
    }
}

/* Whether the n bytes at p occur anywhere in buf. */
static bool
s_contains(const uint8_t *buf, size_t len, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i + n <= len; i++) {
        if (memcmp(buf + i, p, n) == 0)
            return true;
    }
    return false;
}

static void
test_beacon_hides_and_unlinks(void **state)
{
    uint8_t one[BEACON_MAX], two[BEACON_MAX];
    uint64_t e = beacon_epoch(1764900000);
    (void)state;
    size_t n1 = s_make(e, one), n2 = s_make(e, two);
    assert_int_equal(n1, n2);
    /* no 8 bytes of any device's Ed25519 or CURVE key appear */
    for (int i = 0; i < S_N; i++) {
        uint8_t curve[IDENT_CURVE_LEN];
        assert_int_equal(ident_curve_public(s_pk(i), curve), MESH_OK);
        for (size_t at = 0; at + 8 <= IDENT_PK_LEN; at++) {
            assert_false(s_contains(one, n1, s_pk(i) + at, 8));
            assert_false(s_contains(one, n1, curve + at, 8));
        }
    }
    /* two beacons of one sender, one epoch, one port: only the fixed head is alike */
    assert_memory_equal(one, two, 8);
    assert_memory_not_equal(one + 8, two + 8, BEACON_NONCE_LEN);
    for (size_t t = BEACON_HEAD_LEN; t < n1; t += BEACONKEY_TAG) {
        assert_false(s_contains(two, n2, one + t, BEACONKEY_TAG));
    }
}

static void
test_beacon_decode_refuses(void **state)
{
    uint8_t buf[BEACON_MAX + 8];
    beacon_t b;
    (void)state;
    size_t len = s_make(1, buf);
    assert_int_equal(beacon_decode(buf, len, &b), MESH_OK);
    for (size_t n = 0; n < len; n++) { /* every shorter length */
        assert_int_equal(beacon_decode(buf, n, &b), MESH_EPROTO);
        assert_int_equal(b.ntags, 0);
    }
    assert_int_equal(beacon_decode(buf, len + 1, &b), MESH_EPROTO); /* a trailing byte */
    assert_int_equal(beacon_decode(buf, BEACON_MAX + 1, &b), MESH_ETOOBIG);
    uint8_t mut[BEACON_MAX + 8];
    const struct {
        size_t at;
        uint8_t value;
    } bad[] = {{0, 'X'}, {3, 'A'}, {4, 0}, {4, 2}, {5, 0}, {5, 5}, {5, BEACON_TAGS_MAX + 1},
               {5, 255}, {6, 0}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        memcpy(mut, buf, len);
        mut[bad[i].at] = bad[i].value;
        if (bad[i].at == 6)
            mut[7] = 0; /* port 0 */
        assert_int_equal(beacon_decode(mut, len, &b), MESH_EPROTO);
    }
    /* the largest is accepted: 32 tags */
    memcpy(mut, buf, BEACON_HEAD_LEN);
    mut[5] = BEACON_TAGS_MAX;
    memset(mut + BEACON_HEAD_LEN, 7, BEACON_TAGS_MAX * BEACONKEY_TAG);
    assert_int_equal(beacon_decode(mut, BEACON_MAX, &b), MESH_OK);
    assert_int_equal(b.ntags, BEACON_TAGS_MAX);
    /* encode refuses what it cannot say */
    uint8_t keys[BEACON_TAGS_MAX + 1][BEACONKEY_LEN] = {{0}};
    size_t out_len = 1;
    assert_int_equal(beacon_encode(s_pk(0), 1, 0, (const uint8_t(*)[BEACONKEY_LEN])keys, 0, mut,
                                   sizeof mut, &out_len),
                     MESH_EINVAL);
    assert_int_equal(out_len, 0);
    assert_int_equal(beacon_encode(s_pk(0), 1, 0, (const uint8_t(*)[BEACONKEY_LEN])keys,
                                   BEACON_TAGS_MAX + 1, mut, sizeof mut, &out_len),
                     MESH_EINVAL);
    assert_int_equal(beacon_encode(s_pk(0), 0, 0, (const uint8_t(*)[BEACONKEY_LEN])keys, 1, mut,
                                   sizeof mut, &out_len),
                     MESH_EINVAL);
    assert_int_equal(beacon_encode(s_pk(0), 1, 0, (const uint8_t(*)[BEACONKEY_LEN])keys,
                                   BEACON_TAGS_MAX, mut, sizeof mut, &out_len),
                     MESH_OK);
    assert_int_equal(out_len, BEACON_MAX);
}

/* The socket on loopback (named explicitly: every interface but loopback by default). */
static void
test_beacon_socket_loopback(void **state)
{
    beacon_sock_t *s = NULL;
    char why[200];
    uint8_t buf[BEACON_MAX + 1], got[BEACON_MAX + 1];
    size_t len = s_make(1, buf), n = 0;
    char from[64];
    (void)state;
    assert_int_equal(beacon_open(0, "10.0.0.1", NULL, &s, why, sizeof why), MESH_EINVAL);
    assert_null(s);
    /* a port of this process's own choosing (loopback only: nothing leaves the host) */
    uint16_t port = (uint16_t)(40000 + getpid() % 20000);
    mesh_err_t err = beacon_open(port, NULL, "lo", &s, why, sizeof why);
    if (err != MESH_OK) {
        print_message("skipped: %s\n", why);
        skip();
    }
    assert_int_equal(beacon_recv(s, got, sizeof got, &n, from, sizeof from), MESH_ENOTFOUND);
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(port)};
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    uint8_t big[BEACON_MAX + 100] = {0};
    assert_int_equal(sendto(fd, buf, len, 0, (struct sockaddr *)&to, sizeof to), (ssize_t)len);
    assert_int_equal(sendto(fd, big, sizeof big, 0, (struct sockaddr *)&to, sizeof to),
                     (ssize_t)sizeof big);
    close(fd);
    for (int i = 0; i < 100 && (err = beacon_recv(s, got, sizeof got, &n, from, sizeof from)) ==
                                   MESH_ENOTFOUND;
         i++) {
        usleep(10000);
    }
    assert_int_equal(err, MESH_OK); /* the beacon, as sent, from 127.0.0.1 */
    assert_int_equal(n, len);
    assert_memory_equal(got, buf, len);
    assert_string_equal(from, "127.0.0.1");
    /* the oversized datagram: refused, not cut to fit */
    assert_int_equal(beacon_recv(s, got, BEACON_MAX, &n, from, sizeof from), MESH_ETOOBIG);
    assert_int_equal(n, 0);
    beacon_close(s);
    beacon_close(NULL);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_beaconkey_pairwise),
        cmocka_unit_test(test_beacon_round_trip_and_match),
        cmocka_unit_test(test_beacon_hides_and_unlinks),
        cmocka_unit_test(test_beacon_decode_refuses),
        cmocka_unit_test(test_beacon_socket_loopback),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
