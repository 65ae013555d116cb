/* core/folder/registry.h: the folders this node syncs (docs/PROTOCOL.md §18.5): each one's
 * ID, local root and version retention (§19.2), kept in the store's metadata (record
 * "folders") so that it survives restarts, and the name rule of a folder's index collection
 * ("folder:" + its ID). The public calls mesh_folder_add(_ex), _ls, _rm and
 * _set_versions are here; add --with shares the index collection first (§8.3).
 * Owns: the registry record and its strict decoder. Not here: walking a folder (fs/scan.h),
 * its index (core/folder/index.h), the daemon's folder work (core/sync/blocks.h).
 * Layer: core (folder). Third-party: none. SPDX-License-Identifier: MIT */
#ifndef MESH_CORE_FOLDER_REGISTRY_H
#define MESH_CORE_FOLDER_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fs/scan.h"
#include "meshsync.h"

#define REGISTRY_MAX         256u          /* folders of one node */
#define REGISTRY_COLL_PREFIX "folder:"     /* + the folder ID: its index collection (§18.5) */
#define REGISTRY_SCAN_PREFIX "folderscan/" /* + the folder ID: its scan records (index.c) */
#define REGISTRY_COLL_LEN    (sizeof REGISTRY_COLL_PREFIX - 1 + SCAN_ID_MAX + 1)

/* One folder of the registry. */
typedef struct registry_folder {
    char id[SCAN_ID_MAX + 1];
    char *root;             /* the local root, absolute (malloc'd) */
    unsigned versions_days; /* days replaced files are kept (§19.2); 0: none kept */
} registry_folder_t;

/* Is id[0..len) a folder ID (§18.4: 1..64 bytes of A-Z a-z 0-9 . _ -)? */
bool registry_id_ok(const char *id, size_t len);

/* The index collection of folder id into out (REGISTRY_COLL_LEN bytes). */
void registry_coll(const char *id, char *out);

/* If coll names a folder's index collection, the folder ID in it (a pointer into coll),
 * else NULL. */
const char *registry_coll_id(const char *coll);

/* Load the registry. MESH_OK: *list (caller frees with registry_free) and *n; an absent
 * record is an empty registry. MESH_ECORRUPT (a record that does not decode), MESH_EIO,
 * MESH_ENOMEM, with detail on m. */
MESH_NODISCARD mesh_err_t registry_load(mesh_t *m, registry_folder_t **list, size_t *n);

/* The version retention of folder id (§19.2): its registry days, 0 when versioning is off;
 * VERSIONS_DAYS_DEFAULT when the registry cannot be read or does not hold id (keeping a
 * version is the side that loses nothing). */
unsigned registry_versions_days(mesh_t *m, const char *id);

/* May the member whose device key is pk (WIRE_ORIGIN_LEN bytes) be sent folder id's blocks?
 * When the index collection's access list holds it, or there is none (§8.3, §24); false
 * when the list cannot be read. */
bool registry_may_hold(mesh_t *m, const char *id, const uint8_t *pk);

/* Free a list of registry_load; NULL is a no-op. */
void registry_free(registry_folder_t *list, size_t n);

#endif /* MESH_CORE_FOLDER_REGISTRY_H */
