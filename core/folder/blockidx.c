/* core/folder/blockidx.c: the block index, a sorted array of (hash, place) searched by
 * binary search; each file's path is copied once, its blocks point at it.
 * Layer: core (folder). Third-party: none. SPDX-License-Identifier: MIT */
#include "core/folder/blockidx.h"

#include "crypto/hash.h"
#include "fs/path.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct s_place {
    uint8_t hash[WIRE_FENTRY_HASH];
    uint32_t size;
    uint64_t offset;
    const folder_t *f;
    size_t path; /* index into paths */
} s_place_t;

struct blockidx {
    s_place_t *places;
    size_t n;
    char **paths;
    size_t npaths;
    uint64_t *gens; /* each folder's generation at the last build */
    const folder_t **built;
    size_t nbuilt;
};

blockidx_t *
blockidx_new(void)
{
    return calloc(1, sizeof(blockidx_t));
}

static void
s_clear(blockidx_t *bi)
{
    for (size_t i = 0; i < bi->npaths; i++) {
        free(bi->paths[i]);
    }
    free(bi->paths);
    free(bi->places);
    free(bi->gens);
    free(bi->built);
    bi->paths = NULL, bi->places = NULL, bi->gens = NULL, bi->built = NULL;
    bi->npaths = bi->n = bi->nbuilt = 0;
}

void
blockidx_free(blockidx_t *bi)
{
    if (bi) {
        s_clear(bi);
        free(bi);
    }
}

static int
s_cmp(const void *a, const void *b)
{
    return memcmp(a, b, WIRE_FENTRY_HASH); /* hash is each place's first field */
}

mesh_err_t
blockidx_update(blockidx_t *bi, folder_t *const *folders, size_t n)
{
    bool same = n == bi->nbuilt;
    for (size_t i = 0; same && i < n; i++) {
        same = bi->built[i] == folders[i] && bi->gens[i] == folders[i]->generation;
    }
    if (same) {
        return MESH_OK;
    }
    s_clear(bi);
    size_t nplaces = 0, nfiles = 0;
    for (size_t i = 0; i < n; i++) {
        for (size_t r = 0; r < folders[i]->nrecs; r++) {
            nplaces += folders[i]->recs[r].nblocks;
            nfiles += folders[i]->recs[r].nblocks > 0;
        }
    }
    bi->places = calloc(nplaces + 1, sizeof *bi->places);
    bi->paths = calloc(nfiles + 1, sizeof *bi->paths);
    bi->gens = calloc(n + 1, sizeof *bi->gens);
    bi->built = calloc(n + 1, sizeof *bi->built);
    if (!bi->places || !bi->paths || !bi->gens || !bi->built) {
        s_clear(bi);
        return MESH_ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        const folder_t *f = folders[i];
        bi->built[i] = f;
        bi->gens[i] = f->generation;
        for (size_t r = 0; r < f->nrecs; r++) {
            const index_rec_t *rec = &f->recs[r];
            uint64_t off = 0;
            if (!rec->nblocks) {
                continue;
            }
            if (!(bi->paths[bi->npaths] = strdup(rec->path))) {
                s_clear(bi);
                return MESH_ENOMEM;
            }
            for (size_t b = 0; b < rec->nblocks; b++) {
                s_place_t *p = &bi->places[bi->n++];
                memcpy(p->hash, rec->blocks[b].hash, WIRE_FENTRY_HASH);
                p->size = rec->blocks[b].size;
                p->offset = off;
                p->f = f;
                p->path = bi->npaths;
                off += rec->blocks[b].size;
            }
            bi->npaths++;
        }
    }
    bi->nbuilt = n;
    if (bi->n > 1) { /* (qsort's array may not be NULL, even for 0 items) */
        qsort(bi->places, bi->n, sizeof *bi->places, s_cmp);
    }
    return MESH_OK;
}

/* The first place of hash, or NULL. */
static const s_place_t *
s_first(const blockidx_t *bi, const uint8_t *hash)
{
    size_t lo = 0, hi = bi->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (memcmp(bi->places[mid].hash, hash, WIRE_FENTRY_HASH) < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo < bi->n && memcmp(bi->places[lo].hash, hash, WIRE_FENTRY_HASH) == 0 ? &bi->places[lo]
                                                                                  : NULL;
}

bool
blockidx_has(const blockidx_t *bi, const uint8_t *hash)
{
    return bi && s_first(bi, hash) != NULL;
}

mesh_err_t
blockidx_read(const blockidx_t *bi, const uint8_t *hash, uint8_t *buf, size_t cap, size_t *len)
{
    const s_place_t *p = bi ? s_first(bi, hash) : NULL;
    *len = 0;
    for (; p && p < bi->places + bi->n && memcmp(p->hash, hash, WIRE_FENTRY_HASH) == 0; p++) {
        int fd = -1;
        uint8_t got[HASH_LEN];
        if (p->size > cap || p->f->root_fd < 0 ||
            path_open(p->f->root_fd, bi->paths[p->path], O_RDONLY, 0, false, &fd, NULL, 0) !=
                MESH_OK) {
            continue;
        }
        ssize_t n = pread(fd, buf, p->size, (off_t)p->offset);
        close(fd);
        if (n != (ssize_t)p->size) {
            continue;
        }
        hash_tagged(HASH_TAG_BLOCK, buf, p->size, got);
        if (memcmp(got, hash, HASH_LEN) == 0) {
            *len = p->size;
            return MESH_OK;
        }
    }
    return MESH_ENOTFOUND;
}
