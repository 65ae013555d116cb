/* crypto/ident.c: the device identity: one Ed25519 key pair, its secret file, signing.
 * Owns: the identity file format (exactly the 64-byte libsodium Ed25519 secret key,
 * seed || public key, raw), its atomic creation, and the CURVE (X25519) key derivation.
 * Not here: the text form of IDs (crypto/devid.c), hashing (crypto/hash.c).
 * Layer: crypto. Third-party: sodium.h. SPDX-License-Identifier: MIT */
#include "ident.h"

#include <sodium.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define S_SK_LEN   64u /* crypto_sign_SECRETKEYBYTES: seed || public key */
#define S_TEMP_TAG ".tmp-"

_Static_assert(S_SK_LEN == crypto_sign_SECRETKEYBYTES, "Ed25519 secret key size");
_Static_assert(IDENT_PK_LEN == crypto_sign_PUBLICKEYBYTES, "Ed25519 public key size");
_Static_assert(IDENT_SIG_LEN == crypto_sign_BYTES, "Ed25519 signature size");
_Static_assert(IDENT_CURVE_LEN == crypto_scalarmult_curve25519_BYTES, "X25519 key size");

struct ident {
    uint8_t *sk;              /* S_SK_LEN bytes in sodium_malloc'd (guarded) memory */
    uint8_t pk[IDENT_PK_LEN]; /* the public key, a copy of the second half of sk */
};

/* sodium_init returns 0 the first time, 1 after that, -1 on failure; it is thread-safe. */
mesh_err_t
ident_lib_init(void)
{
    return sodium_init() >= 0 ? MESH_OK : MESH_EIO;
}

/* An identity with its secret buffer allocated but not yet filled, or NULL. */
static ident_t *
s_alloc(void)
{
    ident_t *id = calloc(1, sizeof(*id));

    if (id == NULL)
        return NULL;
    id->sk = sodium_malloc(S_SK_LEN);
    if (id->sk == NULL) {
        free(id);
        return NULL;
    }
    return id;
}

void
ident_free(ident_t *id)
{
    if (id == NULL)
        return;
    sodium_free(id->sk); /* wipes before unmapping */
    free(id);
}

mesh_err_t
ident_generate(ident_t **out)
{
    ident_t *id;

    if (out == NULL)
        return MESH_EINVAL;
    *out = NULL;
    if (ident_lib_init() != MESH_OK)
        return MESH_EIO;
    id = s_alloc();
    if (id == NULL)
        return MESH_ENOMEM;
    crypto_sign_keypair(id->pk, id->sk);
    *out = id;
    return MESH_OK;
}

/* Read exactly len bytes from fd into buf. Returns 0, 1 on a short file, or -1 on an I/O
 * error. */
static int
s_read_full(int fd, uint8_t *buf, size_t len)
{
    size_t done = 0;
    ssize_t n;

    while (done < len) {
        n = read(fd, buf + done, len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        if (n == 0)
            return 1;
        done += (size_t)n;
    }
    return 0;
}

/* Write all len bytes of buf to fd. Returns 0 or -1. */
static int
s_write_full(int fd, const uint8_t *buf, size_t len)
{
    size_t done = 0;
    ssize_t n;

    while (done < len) {
        n = write(fd, buf + done, len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        done += (size_t)n;
    }
    return 0;
}

/* Read an identity file from the open fd: it must be a regular file of exactly S_SK_LEN
 * bytes, readable by its owner only, whose public half is the key its seed derives. The key
 * is re-derived from the seed into id, and the whole file must equal the result.
 * MESH_OK, MESH_ECORRUPT, MESH_EIO, MESH_ENOMEM, MESH_EINVAL (group or others may read or
 * write it: refused, as ssh refuses such a key); on error id's key is garbage (free it). */
static mesh_err_t
s_read_key(int fd, ident_t *id)
{
    mesh_err_t err = MESH_OK;
    uint8_t *file = NULL;
    uint8_t extra;
    struct stat st;
    int rc;

    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
        return MESH_EIO;
    if (st.st_mode & (S_IRWXG | S_IRWXO))
        return MESH_EINVAL;
    if (st.st_size != (off_t)S_SK_LEN)
        return MESH_ECORRUPT;
    file = sodium_malloc(S_SK_LEN);
    if (file == NULL)
        return MESH_ENOMEM;

    rc = s_read_full(fd, file, S_SK_LEN);
    if (rc == 0) {
        /* The size was checked before reading; a file that grew since then is corrupt. */
        rc = s_read_full(fd, &extra, 1) == 1 ? 0 : 1;
    }
    if (rc != 0) {
        err = rc < 0 ? MESH_EIO : MESH_ECORRUPT;
        goto out;
    }
    crypto_sign_seed_keypair(id->pk, id->sk, file);
    if (sodium_memcmp(file, id->sk, S_SK_LEN) != 0) {
        err = MESH_ECORRUPT;
        goto out;
    }

out:
    sodium_free(file);
    return err;
}

/* The directory part of path ("." if none), malloc'd; NULL if out of memory. */
static char *
s_dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    size_t len;
    char *dir;

    if (slash == NULL)
        return strdup(".");
    len = slash == path ? 1 : (size_t)(slash - path);
    dir = malloc(len + 1);
    if (dir == NULL)
        return NULL;
    memcpy(dir, path, len);
    dir[len] = '\0';
    return dir;
}

/* Make the directory entry of a just-renamed file durable. MESH_OK or MESH_EIO. */
static mesh_err_t
s_sync_dir(const char *path)
{
    mesh_err_t err = MESH_OK;
    char *dir = s_dir_of(path);
    int fd;

    if (dir == NULL)
        return MESH_ENOMEM;
    fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 || fsync(fd) != 0) {
        err = MESH_EIO;
    }
    if (fd >= 0) {
        close(fd);
    }
    free(dir);
    return err;
}

/* A temp path next to path: path + ".tmp-" + 16 random hex digits, malloc'd, or NULL. */
static char *
s_temp_path(const char *path)
{
    uint8_t noise[8];
    char hex[2 * sizeof(noise) + 1];
    size_t len = strlen(path) + sizeof(S_TEMP_TAG) - 1 + sizeof(hex);
    char *temp_path = malloc(len);

    if (temp_path == NULL)
        return NULL;
    randombytes_buf(noise, sizeof(noise));
    sodium_bin2hex(hex, sizeof(hex), noise, sizeof(noise));
    snprintf(temp_path, len, "%s%s%s", path, S_TEMP_TAG, hex);
    return temp_path;
}

/* Write sk to path atomically: a new temp file (O_EXCL, mode 0600) in the same directory,
 * written and fsync'd, renamed over path, then the directory fsync'd. Before the rename a
 * failure removes the temp file and leaves path untouched; if only the directory fsync
 * fails, path holds the key but may not survive a crash. MESH_OK, MESH_EIO, MESH_ENOMEM. */
static mesh_err_t
s_write_key(const char *path, const uint8_t *sk)
{
    mesh_err_t err = MESH_EIO;
    char *temp_path = s_temp_path(path);
    int temp_exists = 0;
    int fd = -1;
    int rc;

    if (temp_path == NULL)
        return MESH_ENOMEM;
    fd = open(temp_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        goto out;
    temp_exists = 1;
    if (s_write_full(fd, sk, S_SK_LEN) != 0 || fsync(fd) != 0)
        goto out;
    rc = close(fd);
    fd = -1;
    if (rc != 0 || rename(temp_path, path) != 0)
        goto out;
    temp_exists = 0;
    err = s_sync_dir(path);

out:
    if (fd >= 0) {
        close(fd);
    }
    if (temp_exists) {
        unlink(temp_path);
    }
    free(temp_path);
    return err;
}

/* Generate a key pair into id and write it to path. */
static mesh_err_t
s_create(const char *path, ident_t *id)
{
    crypto_sign_keypair(id->pk, id->sk);
    return s_write_key(path, id->sk);
}

mesh_err_t
ident_load(const char *path, int create, ident_t **out, char *why, size_t why_len)
{
    mesh_err_t err;
    ident_t *id = NULL;
    int fd;

    if (why && why_len)
        why[0] = '\0';
    if (out == NULL)
        return MESH_EINVAL;
    *out = NULL;
    if (path == NULL || path[0] == '\0')
        return MESH_EINVAL;
    if (ident_lib_init() != MESH_OK)
        return MESH_EIO;
    id = s_alloc();
    if (id == NULL)
        return MESH_ENOMEM;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        struct stat st;
        err = s_read_key(fd, id);
        if (err == MESH_EINVAL && why && why_len && fstat(fd, &st) == 0)
            snprintf(why, why_len,
                     "group or others may read or write it (mode %04o): run chmod 600 on it",
                     (unsigned)(st.st_mode & 07777));
        close(fd);
    } else if (errno == ENOENT) {
        err = create ? s_create(path, id) : MESH_ENOTINIT;
    } else {
        err = MESH_EIO;
    }
    if (err != MESH_OK)
        goto out;
    *out = id;
    id = NULL;

out:
    ident_free(id);
    return err;
}

const uint8_t *
ident_public_key(const ident_t *id)
{
    return id->pk;
}

/* id and sig must be valid; msg may be NULL only if msg_len is 0. */
void
ident_sign(const ident_t *id, const uint8_t *msg, size_t msg_len, uint8_t *sig)
{
    crypto_sign_detached(sig, NULL, msg, msg_len, id->sk);
}

/* NULL pk or sig never verifies. */
mesh_err_t
ident_verify(const uint8_t *pk, const uint8_t *msg, size_t msg_len, const uint8_t *sig)
{
    if (pk == NULL || sig == NULL || (msg == NULL && msg_len > 0))
        return MESH_EBADSIG;
    return crypto_sign_verify_detached(sig, msg, msg_len, pk) == 0 ? MESH_OK : MESH_EBADSIG;
}

/* libsodium rejects small-order points and points outside the main subgroup. */
mesh_err_t
ident_curve_public(const uint8_t *pk, uint8_t *curve_pk)
{
    if (pk == NULL || curve_pk == NULL)
        return MESH_EINVAL;
    if (crypto_sign_ed25519_pk_to_curve25519(curve_pk, pk) != 0) {
        memset(curve_pk, 0, IDENT_CURVE_LEN);
        return MESH_EINVAL;
    }
    return MESH_OK;
}

/* curve_sk receives a secret: the caller wipes it (sodium_memzero) when done. */
mesh_err_t
ident_curve_secret(const ident_t *id, uint8_t *curve_sk)
{
    if (id == NULL || curve_sk == NULL)
        return MESH_EINVAL;
    if (crypto_sign_ed25519_sk_to_curve25519(curve_sk, id->sk) != 0) {
        sodium_memzero(curve_sk, IDENT_CURVE_LEN);
        return MESH_EINVAL;
    }
    return MESH_OK;
}

void
ident_wipe(void *buf, size_t len)
{
    if (len == 0)
        return;
    sodium_memzero(buf, len);
}

/* len 0 is a no-op, and then buf may be NULL (libsodium declares it non-null). */
void
ident_random(void *buf, size_t len)
{
    if (len == 0)
        return;
    randombytes_buf(buf, len);
}
