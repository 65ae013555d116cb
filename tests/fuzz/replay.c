/* tests/fuzz/replay.c: runs a libFuzzer harness over saved inputs, without libFuzzer, so that
 * `make test` replays every corpus with plain gcc (SQLite's fuzzcheck, with no timed fuzzing).
 * Usage: replay_fuzz_<decoder> PATH...; a PATH is a file, or a directory whose regular files
 * (dot files skipped) are replayed in sorted order. Each input is passed in a buffer of exactly
 * its size. Prints "replayed N inputs"; exit 0, or 1 if a path can't be read (a crash fails too).
 * Layer: tests. Third-party: none. SPDX-License-Identifier: MIT */
#include <dirent.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Read the whole file at path and replay it; 0, or -1 after a message on stderr. */
static int
s_replay_file(const char *path, size_t *count)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf = NULL;
    size_t len = 0, cap = 0;

    if (f == NULL) {
        fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
        return -1;
    }
    for (;;) {
        if (len == cap) {
            size_t next = cap ? 2 * cap : 4096;
            uint8_t *p = realloc(buf, next);

            if (p == NULL) {
                fprintf(stderr, "replay: %s: out of memory\n", path);
                free(buf);
                fclose(f);
                return -1;
            }
            buf = p, cap = next;
        }
        size_t got = fread(buf + len, 1, cap - len, f);

        len += got;
        if (got == 0)
            break;
    }
    if (ferror(f)) {
        fprintf(stderr, "replay: %s: read error\n", path);
        free(buf);
        fclose(f);
        return -1;
    }
    fclose(f);

    /* An exact-size copy, so that a sanitizer build catches any read past the end. */
    uint8_t *exact = malloc(len ? len : 1);

    if (exact == NULL) {
        fprintf(stderr, "replay: %s: out of memory\n", path);
        free(buf);
        return -1;
    }
    if (len > 0)
        memcpy(exact, buf, len);
    free(buf);
    LLVMFuzzerTestOneInput(exact, len);
    free(exact);
    (*count)++;
    return 0;
}

static int
s_skip_dot(const struct dirent *d)
{
    return d->d_name[0] != '.';
}

/* Replay every regular file in dir, in sorted order. */
static int
s_replay_dir(const char *dir, size_t *count)
{
    struct dirent **names = NULL;
    int n = scandir(dir, &names, s_skip_dot, alphasort);
    int rc = 0;

    if (n < 0) {
        fprintf(stderr, "replay: %s: %s\n", dir, strerror(errno));
        return -1;
    }
    for (int i = 0; i < n; i++) {
        size_t plen = strlen(dir) + 1 + strlen(names[i]->d_name) + 1;
        char *path = malloc(plen);
        struct stat st;

        if (path == NULL) {
            rc = -1;
        } else {
            snprintf(path, plen, "%s/%s", dir, names[i]->d_name);
            if (rc == 0 && stat(path, &st) == 0 && S_ISREG(st.st_mode))
                rc = s_replay_file(path, count);
        }
        free(path);
        free(names[i]);
    }
    free(names);
    return rc;
}

int
main(int argc, char **argv)
{
    size_t count = 0;
    int rc = 0;

    if (argc < 2) {
        fprintf(stderr, "usage: %s FILE_OR_DIR...\n", argv[0]);
        return 2;
    }
    for (int i = 1; i < argc && rc == 0; i++) {
        struct stat st;

        if (stat(argv[i], &st) != 0) {
            fprintf(stderr, "replay: %s: %s\n", argv[i], strerror(errno));
            rc = -1;
        } else if (S_ISDIR(st.st_mode)) {
            rc = s_replay_dir(argv[i], &count);
        } else {
            rc = s_replay_file(argv[i], &count);
        }
    }
    printf("replayed %zu inputs\n", count);
    return rc == 0 ? 0 : 1;
}
