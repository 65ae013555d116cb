/* core/sync/statusfile.h: the status text (docs/PROTOCOL.md §11.4) and the public
 * mesh_status calls (include/meshsync.h) that read it back, from the loop of this process or
 * from HOME/status.
 * Owns: the text's escaping and its strict reader. Not here: the figures and when they are
 * published (core/sync/status.h).
 * Layer: core (sync). Third-party: none. SPDX-License-Identifier: MIT */
#ifndef MESH_CORE_SYNC_STATUSFILE_H
#define MESH_CORE_SYNC_STATUSFILE_H

#include <stdio.h>

/* Write s percent-escaped (§11.4): ASCII letters, digits and -._~:/@+,[] as they are,
 * every other byte (space, '=', '%', controls, each byte of a UTF-8 sequence) as %XX, so
 * that no byte of s can add a word or a line. */
void statusfile_put_text(FILE *f, const char *s);

#endif /* MESH_CORE_SYNC_STATUSFILE_H */
