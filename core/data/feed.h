/* core/data/feed.h: the change feed (docs/PROTOCOL.md §20): mesh_changes (the pull form
 * over the store's change log, store/changes.h) and mesh_watch (the push form, on a feed
 * thread of its own per node).
 * Not here: giving sequence numbers (store/changes.c, in every item write).
 * Layer: core/data (rank 2). Third-party: none. SPDX-License-Identifier: MIT */
#ifndef MESH_CORE_DATA_FEED_H
#define MESH_CORE_DATA_FEED_H

#include "core/base/node.h"

/* Stop m's feed thread (waiting for a callback under way), end every watch left, and clear
 * the store's hook. For mesh_close, before the store closes; a node never watched: no-op. */
void feed_close(mesh_t *m);

#endif /* MESH_CORE_DATA_FEED_H */
