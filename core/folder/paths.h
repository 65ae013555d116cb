/* core/folder/paths.h: the paths a realize pass looks at (docs/PROTOCOL.md §18.6): a
 * sorted list of (path, entry) copied out of their read transaction, from every entry of a
 * folder's index and every record without one (a full pass), or from the store's change
 * feed after a cursor (what changed since the last pass).
 * Owns: the list, its merge (a newer item of a path replaces the older) and the two reads.
 * Not here: what a pass does with each path (core/folder/realize.h).
 * Layer: core (folder). Third-party: none. SPDX-License-Identifier: MIT */
#ifndef MESH_CORE_FOLDER_PATHS_H
#define MESH_CORE_FOLDER_PATHS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/folder/index.h"
#include "meshsync.h"

/* A path and its visible entry (value NULL: it has none, a delete). */
typedef struct paths_item {
    char *path;
    uint8_t *value;
    size_t len;
    bool conflict; /* the path has siblings (concurrent edits): its losers get copies */
    bool known;    /* decoded once by realize: a file (file) of size bytes, path checked */
    bool file;
    uint64_t size;
    size_t order; /* (which of two items of one path is the later) */
} paths_item_t;

typedef struct paths {
    paths_item_t *v;
    size_t n, cap;
} paths_t;

/* Free what p holds and zero it. */
void paths_free(paths_t *p);

/* Append a copy of (path[0..plen), value[0..len): NULL for none). MESH_OK or MESH_ENOMEM. */
MESH_NODISCARD mesh_err_t paths_push(paths_t *p, const char *path, size_t plen,
                                     const uint8_t *value, size_t len, bool conflict);

/* Sort p by path, keeping of each path its last item pushed only. */
void paths_sort(paths_t *p);

/* Merge from (sorted; taken: zeroed) into into (sorted): an item replaces into's item of
 * its path. MESH_OK or MESH_ENOMEM (from freed then). */
MESH_NODISCARD mesh_err_t paths_merge(paths_t *into, paths_t *from);

/* Every path of f (sorted into out, fresh): each visible entry of its index collection and
 * each record whose path has none; the change feed's place from before the read into
 * *cursor. MESH_OK or the store's error. */
MESH_NODISCARD mesh_err_t paths_all(mesh_t *m, const folder_t *f, paths_t *out, uint64_t *cursor);

/* The paths of f whose entry changed after *cursor (sorted into out, fresh), read from the
 * store's change feed (docs/PROTOCOL.md §20), and *cursor moved past them. *full: the feed
 * cannot say (a cursor it does not know, or deletions it forgot): look at every path
 * instead (out is then empty, *cursor unchanged). */
MESH_NODISCARD mesh_err_t paths_changed(mesh_t *m, const folder_t *f, uint64_t *cursor,
                                        paths_t *out, bool *full);

#endif /* MESH_CORE_FOLDER_PATHS_H */
