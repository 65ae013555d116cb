/* fs/ignore.h: a folder's ignore patterns (docs/PROTOCOL.md §19.1): the `.meshignore` file in
 * the folder root, gitignore-like lines (comments, `!` negation, anchoring by `/`, trailing
 * `/` for directories, `*` `?` `[...]` within a component, `**` across components), parsed
 * into a set, and the question "is this path ignored?" (it or any parent directory).
 * Owns: the pattern syntax, its caps, the matcher (polynomial: a state set, no backtracking).
 * Not here: walking the folder (fs/scan.h), what an ignored path means for sync (core).
 * Layer: fs (below core). Third-party: none. SPDX-License-Identifier: MIT */
#ifndef MESH_FS_IGNORE_H
#define MESH_FS_IGNORE_H

#include <stdbool.h>
#include <stddef.h>

#include "meshsync.h" /* mesh_err_t */

#define IGNORE_FILE         ".meshignore" /* in the folder root */
#define IGNORE_FILE_MAX     (128u << 10)  /* bytes of the file */
#define IGNORE_PATTERNS_MAX 1000u         /* patterns (lines that are not blank or comments) */
#define IGNORE_PATTERN_MAX  1024u         /* bytes of one line */

typedef struct ignore_set ignore_set_t;

/* Parse text[0..len) (the content of a .meshignore; lines end in LF or CRLF) into a new set
 * (*set, freed with ignore_free). Every pattern is checked: an error names its line and
 * rule (why, if why_len) and no set is made. MESH_EINVAL: a NUL byte, bytes that are not
 * UTF-8, a trailing backslash, an unclosed `[`, a pattern with nothing left to match (`!`,
 * `/`), an empty component (`a//b`); MESH_ETOOBIG: more than IGNORE_FILE_MAX bytes,
 * IGNORE_PATTERNS_MAX patterns or IGNORE_PATTERN_MAX bytes in a line; MESH_ENOMEM.
 * Empty text makes an empty set (that ignores nothing). Thread-safe. */
MESH_NODISCARD mesh_err_t ignore_parse(const char *text, size_t len, ignore_set_t **set, char *why,
                                       size_t why_len);

/* Read IGNORE_FILE under the open folder root root_fd (fs/path.h's safe open: a symlink
 * there is refused) and parse it; no file makes an empty set. Errors: ignore_parse's, and
 * MESH_EINVAL (a symlink or a non-regular file), MESH_EIO. */
MESH_NODISCARD mesh_err_t ignore_load(int root_fd, ignore_set_t **set, char *why, size_t why_len);

/* Is path[0..len) (relative to the root, '/' between components; is_dir: it is a
 * directory) ignored? It is when the last pattern that matches it, or any of its parent
 * directories, is not negated; a path under an ignored directory stays ignored whatever
 * negation names it (as in git). A NULL or empty set ignores nothing. Time: at most
 * patterns x components x (pattern length x path length); never exponential. Thread-safe
 * (the set is only read). */
bool ignore_match(const ignore_set_t *set, const char *path, size_t len, bool is_dir);

/* The number of patterns in set (0 for NULL). */
size_t ignore_count(const ignore_set_t *set);

/* Free set (NULL is fine). */
void ignore_free(ignore_set_t *set);

#endif /* MESH_FS_IGNORE_H */
