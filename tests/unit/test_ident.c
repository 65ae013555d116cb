/* tests/unit/test_ident.c: unit tests of crypto/ident.c (identity file, signing, CURVE keys).
 * Each test works in its own mkdtemp directory, removed again in the teardown.
 * Layer: tests. Third-party: cmocka, sodium.h (reference X25519). SPDX-License-Identifier: MIT */
#include "crypto/ident.h"

#include <sodium.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#define S_KEY_FILE_LEN 64u /* the identity file: seed || public key */

/* The per-test directory and the identity path inside it. */
typedef struct s_fixture {
    char dir[64];
    char path[128];
} s_fixture_t;

static int
s_setup(void **state)
{
    s_fixture_t *fx = calloc(1, sizeof(*fx));

    if (fx == NULL)
        return -1;
    snprintf(fx->dir, sizeof(fx->dir), "/tmp/test_ident.XXXXXX");
    if (mkdtemp(fx->dir) == NULL) {
        free(fx);
        return -1;
    }
    snprintf(fx->path, sizeof(fx->path), "%s/identity", fx->dir);
    *state = fx;
    return 0;
}

/* Remove every file in the test directory (the tests make no subdirectories), then it. */
static int
s_teardown(void **state)
{
    s_fixture_t *fx = *state;
    char path[512]; /* dir (64) + '/' + d_name (256) fits */
    struct dirent *entry;
    DIR *dir = opendir(fx->dir);

    if (dir != NULL) {
        while ((entry = readdir(dir)) != NULL) {
            if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0)
                continue;
            snprintf(path, sizeof(path), "%s/%s", fx->dir, entry->d_name);
            unlink(path);
        }
        closedir(dir);
    }
    rmdir(fx->dir);
    free(fx);
    return 0;
}

/* Entries in dir other than "." and "..". */
static size_t
s_count_entries(const char *dir_path)
{
    struct dirent *entry;
    DIR *dir = opendir(dir_path);
    size_t count = 0;

    assert_non_null(dir);
    while ((entry = readdir(dir)) != NULL) {
        if (strcmp(entry->d_name, ".") != 0 && strcmp(entry->d_name, "..") != 0) {
            count++;
        }
    }
    closedir(dir);
    return count;
}

/* Read the whole file at path (at most cap bytes) into buf; returns its length. */
static size_t
s_read_file(const char *path, uint8_t *buf, size_t cap)
{
    FILE *f = fopen(path, "rb");
    size_t len;

    assert_non_null(f);
    len = fread(buf, 1, cap, f);
    fclose(f);
    return len;
}

static void
s_write_file(const char *path, const uint8_t *buf, size_t len)
{
    FILE *f = fopen(path, "wb");

    assert_non_null(f);
    assert_int_equal(fwrite(buf, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

/* Create an identity at fx->path and return its public key in pk. */
static void
s_create(const s_fixture_t *fx, uint8_t *pk)
{
    ident_t *id = NULL;

    assert_int_equal(ident_load(fx->path, 1, &id, NULL, 0), MESH_OK);
    assert_non_null(id);
    memcpy(pk, ident_public_key(id), IDENT_PK_LEN);
    ident_free(id);
}

static void
test_ident_lib_init_is_idempotent(void **state)
{
    (void)state;
    assert_int_equal(ident_lib_init(), MESH_OK);
    assert_int_equal(ident_lib_init(), MESH_OK);
}

static void
test_ident_create_writes_private_file(void **state)
{
    s_fixture_t *fx = *state;
    uint8_t pk[IDENT_PK_LEN];
    uint8_t file[S_KEY_FILE_LEN + 1];
    struct stat st;

    s_create(fx, pk);
    assert_int_equal(stat(fx->path, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(s_read_file(fx->path, file, sizeof(file)), S_KEY_FILE_LEN);
    assert_memory_equal(file + 32, pk, IDENT_PK_LEN); /* seed || public key */
    assert_int_equal(s_count_entries(fx->dir), 1);    /* no temp file left behind */
}

static void
test_ident_load_returns_same_key(void **state)
{
    s_fixture_t *fx = *state;
    uint8_t pk[IDENT_PK_LEN];
    ident_t *id = NULL;

    s_create(fx, pk);
    assert_int_equal(ident_load(fx->path, 0, &id, NULL, 0), MESH_OK);
    assert_memory_equal(ident_public_key(id), pk, IDENT_PK_LEN);
    ident_free(id);
    /* create on an existing file loads it rather than replacing it. */
    assert_int_equal(ident_load(fx->path, 1, &id, NULL, 0), MESH_OK);
    assert_memory_equal(ident_public_key(id), pk, IDENT_PK_LEN);
    ident_free(id);
}

static void
test_ident_load_missing_is_notinit(void **state)
{
    s_fixture_t *fx = *state;
    ident_t *id = (ident_t *)fx; /* any non-NULL value: must come back NULL */

    assert_int_equal(ident_load(fx->path, 0, &id, NULL, 0), MESH_ENOTINIT);
    assert_null(id);
    assert_int_equal(s_count_entries(fx->dir), 0);
}

static void
test_ident_load_bad_directory_is_eio(void **state)
{
    s_fixture_t *fx = *state;
    char path[256];
    ident_t *id = NULL;

    snprintf(path, sizeof(path), "%s/no-such-dir/identity", fx->dir);
    assert_int_equal(ident_load(path, 1, &id, NULL, 0), MESH_EIO);
    assert_null(id);
    /* A directory where the file should be is not an identity. */
    assert_int_equal(ident_load(fx->dir, 0, &id, NULL, 0), MESH_EIO);
    assert_null(id);
}

static void
test_ident_load_rejects_bad_arguments(void **state)
{
    ident_t *id = NULL;

    (void)state;
    assert_int_equal(ident_load(NULL, 1, &id, NULL, 0), MESH_EINVAL);
    assert_null(id);
    assert_int_equal(ident_load("", 1, &id, NULL, 0), MESH_EINVAL);
    assert_int_equal(ident_load("/tmp/x", 1, NULL, NULL, 0), MESH_EINVAL);
    assert_int_equal(ident_generate(NULL), MESH_EINVAL);
    ident_free(NULL);
}

/* Write len bytes of file to fx->path and expect ident_load to fail with MESH_ECORRUPT,
 * leaving the file as it was. */
static void
s_assert_corrupt(const s_fixture_t *fx, const uint8_t *file, size_t len)
{
    uint8_t after[S_KEY_FILE_LEN + 2];
    ident_t *id = NULL;

    s_write_file(fx->path, file, len);
    assert_int_equal(ident_load(fx->path, 1, &id, NULL, 0), MESH_ECORRUPT);
    assert_null(id);
    assert_int_equal(s_read_file(fx->path, after, sizeof(after)), len);
    assert_memory_equal(after, file, len);
}

static void
test_ident_load_rejects_damaged_file(void **state)
{
    s_fixture_t *fx = *state;
    uint8_t pk[IDENT_PK_LEN];
    uint8_t good[S_KEY_FILE_LEN + 1];
    uint8_t bad[S_KEY_FILE_LEN + 1];
    ident_t *id = NULL;

    s_create(fx, pk);
    assert_int_equal(s_read_file(fx->path, good, sizeof(good)), S_KEY_FILE_LEN);

    s_assert_corrupt(fx, good, 0);
    s_assert_corrupt(fx, good, 32);
    s_assert_corrupt(fx, good, S_KEY_FILE_LEN - 1);
    memcpy(bad, good, S_KEY_FILE_LEN);
    bad[S_KEY_FILE_LEN] = 0;
    s_assert_corrupt(fx, bad, S_KEY_FILE_LEN + 1);
    bad[40] ^= 0x01; /* the public half no longer matches the seed */
    s_assert_corrupt(fx, bad, S_KEY_FILE_LEN);
    memcpy(bad, good, S_KEY_FILE_LEN);
    bad[3] ^= 0x01; /* another seed: its public key is not the stored one */
    s_assert_corrupt(fx, bad, S_KEY_FILE_LEN);

    /* Restored, the file loads again. */
    s_write_file(fx->path, good, S_KEY_FILE_LEN);
    assert_int_equal(ident_load(fx->path, 0, &id, NULL, 0), MESH_OK);
    assert_memory_equal(ident_public_key(id), pk, IDENT_PK_LEN);
    ident_free(id);
}

/* A key file that group or others may read is refused, with a reason that says chmod 600;
 * nothing is changed; once chmod 600, it loads. */
static void
test_ident_load_refuses_open_mode(void **state)
{
    s_fixture_t *fx = *state;
    const mode_t open_modes[] = {0644, 0640, 0604, 0660, 0602};
    uint8_t pk[IDENT_PK_LEN];
    char why[256];
    ident_t *id = NULL;

    s_create(fx, pk);
    for (size_t i = 0; i < sizeof(open_modes) / sizeof(open_modes[0]); i++) {
        assert_int_equal(chmod(fx->path, open_modes[i]), 0);
        assert_int_equal(ident_load(fx->path, 1, &id, why, sizeof(why)), MESH_EINVAL);
        assert_null(id);
        assert_non_null(strstr(why, "chmod 600"));
    }
    assert_int_equal(chmod(fx->path, 0600), 0);
    assert_int_equal(ident_load(fx->path, 0, &id, why, sizeof(why)), MESH_OK);
    assert_string_equal(why, "");
    assert_memory_equal(ident_public_key(id), pk, IDENT_PK_LEN);
    ident_free(id);
}

/* ident_wipe zeroes exactly the bytes given; len 0 with NULL is a no-op. */
static void
test_ident_wipe(void **state)
{
    uint8_t buf[48];

    (void)state;
    memset(buf, 0xa5, sizeof(buf));
    ident_wipe(buf + 8, 32);
    for (size_t i = 0; i < sizeof(buf); i++)
        assert_int_equal(buf[i], i >= 8 && i < 40 ? 0 : 0xa5);
    ident_wipe(NULL, 0);
}

static void
test_ident_sign_verify(void **state)
{
    const uint8_t msg[] = "change set 42";
    uint8_t bad_msg[sizeof(msg)];
    uint8_t sig[IDENT_SIG_LEN];
    uint8_t bad_sig[IDENT_SIG_LEN];
    ident_t *id = NULL;
    ident_t *other = NULL;
    size_t bit;

    (void)state;
    assert_int_equal(ident_generate(&id), MESH_OK);
    assert_int_equal(ident_generate(&other), MESH_OK);
    ident_sign(id, msg, sizeof(msg), sig);
    assert_int_equal(ident_verify(ident_public_key(id), msg, sizeof(msg), sig), MESH_OK);
    assert_int_equal(ident_verify(ident_public_key(other), msg, sizeof(msg), sig), MESH_EBADSIG);

    for (bit = 0; bit < 8 * sizeof(msg); bit++) {
        memcpy(bad_msg, msg, sizeof(msg));
        bad_msg[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        assert_int_equal(ident_verify(ident_public_key(id), bad_msg, sizeof(msg), sig),
                         MESH_EBADSIG);
    }
    for (bit = 0; bit < 8 * IDENT_SIG_LEN; bit++) {
        memcpy(bad_sig, sig, IDENT_SIG_LEN);
        bad_sig[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        assert_int_equal(ident_verify(ident_public_key(id), msg, sizeof(msg), bad_sig),
                         MESH_EBADSIG);
    }
    assert_int_equal(ident_verify(ident_public_key(id), msg, sizeof(msg) - 1, sig), MESH_EBADSIG);
    assert_int_equal(ident_verify(NULL, msg, sizeof(msg), sig), MESH_EBADSIG);
    assert_int_equal(ident_verify(ident_public_key(id), msg, sizeof(msg), NULL), MESH_EBADSIG);

    /* The empty message signs and verifies too. */
    ident_sign(id, NULL, 0, sig);
    assert_int_equal(ident_verify(ident_public_key(id), NULL, 0, sig), MESH_OK);
    ident_free(other);
    ident_free(id);
}

static void
test_ident_curve_keys_match(void **state)
{
    uint8_t curve_pk[IDENT_CURVE_LEN];
    uint8_t curve_sk[IDENT_CURVE_LEN];
    uint8_t expect[IDENT_CURVE_LEN];
    ident_t *id = NULL;

    (void)state;
    assert_int_equal(ident_generate(&id), MESH_OK);
    assert_int_equal(ident_curve_public(ident_public_key(id), curve_pk), MESH_OK);
    assert_int_equal(ident_curve_secret(id, curve_sk), MESH_OK);
    assert_int_equal(crypto_scalarmult_base(expect, curve_sk), 0);
    assert_memory_equal(curve_pk, expect, IDENT_CURVE_LEN);
    sodium_memzero(curve_sk, sizeof(curve_sk));
    ident_free(id);
}

static void
test_ident_curve_public_rejects_bad_point(void **state)
{
    uint8_t identity_point[IDENT_PK_LEN] = {1}; /* the neutral element: small order */
    uint8_t curve_pk[IDENT_CURVE_LEN];

    (void)state;
    assert_int_equal(ident_curve_public(identity_point, curve_pk), MESH_EINVAL);
    assert_int_equal(ident_curve_public(NULL, curve_pk), MESH_EINVAL);
    assert_int_equal(ident_curve_secret(NULL, curve_pk), MESH_EINVAL);
}

static void
test_ident_random_fills(void **state)
{
    static const uint8_t zero[64];
    uint8_t a[64];
    uint8_t b[64];

    (void)state;
    memset(a, 0, sizeof(a));
    memset(b, 0, sizeof(b));
    ident_random(a, sizeof(a));
    ident_random(b, sizeof(b));
    assert_memory_not_equal(a, zero, sizeof(a));
    assert_memory_not_equal(a, b, sizeof(a));
    ident_random(NULL, 0);
}

#define S_TEST(name) cmocka_unit_test_setup_teardown(name, s_setup, s_teardown)

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ident_lib_init_is_idempotent),
        S_TEST(test_ident_create_writes_private_file),
        S_TEST(test_ident_load_returns_same_key),
        S_TEST(test_ident_load_missing_is_notinit),
        S_TEST(test_ident_load_bad_directory_is_eio),
        cmocka_unit_test(test_ident_load_rejects_bad_arguments),
        S_TEST(test_ident_load_rejects_damaged_file),
        S_TEST(test_ident_load_refuses_open_mode),
        cmocka_unit_test(test_ident_wipe),
        cmocka_unit_test(test_ident_sign_verify),
        cmocka_unit_test(test_ident_curve_keys_match),
        cmocka_unit_test(test_ident_curve_public_rejects_bad_point),
        cmocka_unit_test(test_ident_random_fills),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
