/* cli/names.h: how meshctl shows devices: by name, with as much of the ID as tells them
 * apart, and names printed so that a terminal cannot act on them.
 * Owns: the labels of devices (from the membership records) and terminal-safe text.
 * Not here: the membership records (the library: mesh_peers), JSON (cli/out.h).
 * Layer: cli. Third-party: none; of ours only meshsync.h. SPDX-License-Identifier: MIT */
#ifndef MESH_CLI_NAMES_H
#define MESH_CLI_NAMES_H

#include <stddef.h>
#include <stdio.h>

#include "meshsync.h"

#define NAMES_LABEL_LEN  (256 + MESH_ID_TEXT_LEN + 8) /* bytes for a label, NUL included */
#define NAMES_PREFIX_MIN 6                            /* characters of an ID shown at least */

typedef struct names names_t; /* the members known to a node; opaque */

/* The members of m's mesh (itself included) with their names. MESH_OK: *out is new (free
 * with names_free); on error *out is NULL. Errors: those of mesh_peers. */
mesh_err_t names_load(mesh_t *m, names_t **out);

void names_free(names_t *n);

/* The label of device id in buf (cap bytes): its name alone when no other member has that
 * name; "NAME (PREFIX)" when another has; PREFIX alone for a member without a name, PREFIX
 * being the shortest start of the ID (NAMES_PREFIX_MIN characters at least) that no other
 * member's ID has; the whole ID for a device that is not a member. Returns buf. */
const char *names_label(const names_t *n, const char *id, char *buf, size_t cap);

/* The name of member id, "" when it has none or is not a member. */
const char *names_name(const names_t *n, const char *id);

/* Write s to f as a terminal cannot act on it: valid UTF-8 as it is, but control characters
 * (C0, DEL, C1) and bytes that are not UTF-8 as \xNN, tab \t, newline \n, backslash \\. */
void names_print(FILE *f, const char *s);

#endif /* MESH_CLI_NAMES_H */
