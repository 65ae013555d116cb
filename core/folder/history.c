/* core/folder/history.c: kept versions and conflict copies of the folders this device syncs,
 * listed and restored for the user (docs/PROTOCOL.md §24). Each call finds the folder's root
 * in the registry, checks the root and its marker (a missing one is MESH_ESTATE: nothing is
 * read or moved), then works from the open root (fs/versions.h, fs/scan.h).
 * Layer: core (folder). Third-party: none. SPDX-License-Identifier: MIT */
#include "core/folder/history.h"

#include "core/base/node.h"
#include "core/folder/registry.h"
#include "fs/conflict.h"
#include "fs/path.h"
#include "fs/scan.h"
#include "fs/versions.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Open the root of folder id (synced here): *root_fd (caller closes). MESH_ENOTFOUND (not a
 * folder of this device), MESH_ESTATE (its root or marker missing), MESH_EINVAL; detail on
 * m. */
static mesh_err_t
s_open_root(mesh_t *m, const char *id, int *root_fd)
{
    registry_folder_t *reg = NULL;
    size_t n = 0;
    char why[256] = "";
    *root_fd = -1;
    if (!id || !registry_id_ok(id, strlen(id))) {
        return node_fail(m, MESH_EINVAL, "not a folder ID");
    }
    mesh_err_t err = registry_load(m, &reg, &n);
    if (err != MESH_OK) {
        return err;
    }
    const registry_folder_t *f = NULL;
    for (size_t i = 0; i < n && !f; i++) {
        f = strcmp(reg[i].id, id) == 0 ? &reg[i] : NULL;
    }
    if (!f) {
        err = node_fail(m, MESH_ENOTFOUND, "no folder %s on this device", id);
    } else if (scan_root_check(f->root, id, root_fd, why, sizeof why) != SCAN_ROOT_OK) {
        err = node_fail(m, MESH_ESTATE, "folder %s: %s", id, why);
    }
    registry_free(reg, n);
    return err;
}

/* ---- versions ---- */

struct mesh_folder_version_list {
    mesh_folder_version_t *items;
    versions_list_t list; /* owns the names */
};

mesh_err_t
mesh_folder_versions(mesh_t *m, const char *id, const char *path, mesh_folder_version_list_t **out)
{
    char why[256] = "";
    int root_fd = -1;
    if (out) {
        *out = NULL;
    }
    if (!m || !path || !out) {
        return m ? node_fail(m, MESH_EINVAL, "folder versions: bad arguments") : MESH_EINVAL;
    }
    mesh_folder_version_list_t *l = calloc(1, sizeof *l);
    if (!l) {
        return MESH_ENOMEM;
    }
    mesh_err_t err = s_open_root(m, id, &root_fd);
    if (err == MESH_OK) {
        err = versions_list(root_fd, path, &l->list, why, sizeof why);
        close(root_fd);
        if (err != MESH_OK) {
            err = node_fail(m, err, "folder %s: %s", id, why);
        }
    }
    if (err == MESH_OK) {
        l->items = calloc(l->list.n + 1, sizeof *l->items);
        err = l->items ? MESH_OK : MESH_ENOMEM;
    }
    for (size_t i = 0; err == MESH_OK && i < l->list.n; i++) {
        l->items[i] = (mesh_folder_version_t){.size = sizeof(mesh_folder_version_t),
                                              .when = l->list.v[i].when,
                                              .bytes = l->list.v[i].size,
                                              .name = l->list.v[i].name};
    }
    if (err != MESH_OK) {
        mesh_folder_version_list_free(l);
        return err;
    }
    *out = l;
    return MESH_OK;
}

size_t
mesh_folder_version_list_count(const mesh_folder_version_list_t *list)
{
    return list ? list->list.n : 0;
}

const mesh_folder_version_t *
mesh_folder_version_list_get(const mesh_folder_version_list_t *list, size_t i)
{
    return list && i < list->list.n ? &list->items[i] : NULL;
}

void
mesh_folder_version_list_free(mesh_folder_version_list_t *list)
{
    if (list) {
        versions_release(&list->list);
        free(list->items);
        free(list);
    }
}

mesh_err_t
mesh_folder_restore(mesh_t *m, const char *id, const char *path, int64_t at, int64_t *restored)
{
    char why[256] = "";
    int root_fd = -1;
    int64_t got = 0;
    if (restored) {
        *restored = 0;
    }
    if (!m || !path) {
        return m ? node_fail(m, MESH_EINVAL, "folder restore: bad arguments") : MESH_EINVAL;
    }
    mesh_err_t err = s_open_root(m, id, &root_fd);
    if (err != MESH_OK) {
        return err;
    }
    err = versions_restore(root_fd, path, at, (int64_t)time(NULL), &got, why, sizeof why);
    close(root_fd);
    if (err != MESH_OK) {
        return node_fail(m, err, "folder %s: %s", id, why);
    }
    if (restored) {
        *restored = got;
    }
    node_log(m, MESH_LOG_INFO, "folder %s: %s restored (the version of %lld)", id, path,
             (long long)got);
    return MESH_OK;
}

/* ---- conflict copies ---- */

struct mesh_folder_conflict_list {
    mesh_folder_conflict_t *items;
    size_t n, cap;
    char (*ids)[SCAN_ID_MAX + 1]; /* the folders' IDs, one per folder */
};

typedef struct s_walk {
    mesh_folder_conflict_list_t *l;
    const char *folder; /* owned by l->ids */
} s_walk_t;

/* Free the strings of one item. */
static void
s_item_release(mesh_folder_conflict_t *c)
{
    free((char *)c->path);
    free((char *)c->original);
    free((char *)c->device);
}

/* scan_walk's callback: a file or symlink whose name is a conflict copy's is listed. */
static mesh_err_t
s_on_entry(void *ctx, const scan_entry_t *e)
{
    s_walk_t *w = ctx;
    mesh_folder_conflict_list_t *l = w->l;
    char device[CONFLICT_DEVICE_LEN + 1], original[PATH_LEN_MAX + 1];
    int64_t when;
    if (e->type == SCAN_DIR || !conflict_is(e->path, e->path_len, &when, device) ||
        conflict_original(e->path, e->path_len, original, sizeof original) != MESH_OK) {
        return MESH_OK;
    }
    if (l->n == HISTORY_CONFLICTS_MAX) {
        return MESH_ETOOBIG;
    }
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        mesh_folder_conflict_t *items = realloc(l->items, cap * sizeof *items);
        if (!items) {
            return MESH_ENOMEM;
        }
        l->items = items;
        l->cap = cap;
    }
    mesh_folder_conflict_t c = {.size = sizeof c,
                                .folder = w->folder,
                                .path = strndup(e->path, e->path_len),
                                .original = strdup(original),
                                .device = strdup(device),
                                .when = when};
    if (!c.path || !c.original || !c.device) {
        s_item_release(&c);
        return MESH_ENOMEM;
    }
    l->items[l->n++] = c;
    return MESH_OK;
}

mesh_err_t
mesh_folder_conflicts(mesh_t *m, const char *id, mesh_folder_conflict_list_t **out)
{
    registry_folder_t *reg = NULL;
    size_t nreg = 0, walked = 0;
    if (out) {
        *out = NULL;
    }
    if (!m || !out) {
        return m ? node_fail(m, MESH_EINVAL, "folder conflicts: bad arguments") : MESH_EINVAL;
    }
    if (id && !registry_id_ok(id, strlen(id))) {
        return node_fail(m, MESH_EINVAL, "not a folder ID");
    }
    mesh_folder_conflict_list_t *l = calloc(1, sizeof *l);
    mesh_err_t err = l ? registry_load(m, &reg, &nreg) : MESH_ENOMEM;
    if (err == MESH_OK) {
        l->ids = calloc(nreg + 1, sizeof *l->ids);
        err = l->ids ? MESH_OK : MESH_ENOMEM;
    }
    for (size_t i = 0; err == MESH_OK && i < nreg; i++) {
        char why[256] = "";
        enum scan_root state = SCAN_ROOT_OK;
        scan_stats_t stats;
        if (id && strcmp(id, reg[i].id) != 0) {
            continue;
        }
        snprintf(l->ids[walked], sizeof l->ids[walked], "%s", reg[i].id);
        s_walk_t w = {.l = l, .folder = l->ids[walked++]};
        err = scan_walk(reg[i].root, reg[i].id, s_on_entry, &w, &stats, &state, why, sizeof why);
        if (err == MESH_ENOTFOUND && state != SCAN_ROOT_OK) {
            /* a folder whose root is away: skipped, or the error when it was asked for */
            err = id ? node_fail(m, MESH_ESTATE, "folder %s: %s", reg[i].id, why) : MESH_OK;
        } else if (err == MESH_ETOOBIG) {
            err = node_fail(m, err, "over %u conflict copies", HISTORY_CONFLICTS_MAX);
        } else if (err != MESH_OK) {
            err = node_fail(m, err, "folder %s: %s", reg[i].id, why[0] ? why : mesh_strerror(err));
        }
    }
    if (err == MESH_OK && id && walked == 0) {
        err = node_fail(m, MESH_ENOTFOUND, "no folder %s on this device", id);
    }
    registry_free(reg, nreg);
    if (err != MESH_OK) {
        mesh_folder_conflict_list_free(l);
        return err;
    }
    *out = l;
    return MESH_OK;
}

size_t
mesh_folder_conflict_list_count(const mesh_folder_conflict_list_t *list)
{
    return list ? list->n : 0;
}

const mesh_folder_conflict_t *
mesh_folder_conflict_list_get(const mesh_folder_conflict_list_t *list, size_t i)
{
    return list && i < list->n ? &list->items[i] : NULL;
}

void
mesh_folder_conflict_list_free(mesh_folder_conflict_list_t *list)
{
    if (!list) {
        return;
    }
    for (size_t i = 0; i < list->n; i++) {
        s_item_release(&list->items[i]);
    }
    free(list->items);
    free(list->ids);
    free(list);
}
