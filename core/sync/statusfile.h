/* core/sync/statusfile.h: the status text (docs/PROTOCOL.md §11.4) and the public
 * mesh_status calls (include/meshsync.h) that read it back, from the loop of this process or
 * from the daemon's control socket (§21), or from HOME/status.
 * Owns: the text's escaping and its strict reader. Not here: the figures and when they are
 * published (core/sync/status.h).
 * Layer: core (sync). Third-party: none. SPDX-License-Identifier: MIT */
#ifndef MESH_CORE_SYNC_STATUSFILE_H
#define MESH_CORE_SYNC_STATUSFILE_H

#include <stdint.h>
#include <stdio.h>

#include "core/sync/sync.h"

/* Write s percent-escaped (§11.4): ASCII letters, digits and -._~:/@+,[] as they are,
 * every other byte (space, '=', '%', controls, each byte of a UTF-8 sequence) as %XX, so
 * that no byte of s can add a word or a line. */
void statusfile_put_text(FILE *f, const char *s);

/* A snapshot of the text the loop l last published, decoded, without waiting for newer
 * figures (the loop thread itself publishes them). MESH_OK: *out is new (free it with
 * mesh_status_free), NULL before the first publication. Errors: MESH_ENOMEM, MESH_ECORRUPT.
 * Any thread. */
MESH_NODISCARD mesh_err_t statusfile_loop_snapshot(loop_t *l, mesh_status_t **out);

#endif /* MESH_CORE_SYNC_STATUSFILE_H */
