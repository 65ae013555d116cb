/* fs/conflict.h: the names of conflict copies (docs/PROTOCOL.md §19.3): the loser of two
 * concurrent edits of NAME.EXT is kept as NAME.sync-conflict-YYYYMMDD-HHMMSS-DEVICE.EXT, and
 * such a name is recognised, so a conflict copy is never conflicted into another copy; also
 * the extension rule and the insertion of a tag before it, which versions share.
 * Owns: the conflict-copy name, its parse, the extension rule of a name.
 * Not here: deciding who wins (core), moving files (fs/versions.h for kept versions).
 * Layer: fs (below core). Third-party: none. SPDX-License-Identifier: MIT */
#ifndef MESH_FS_CONFLICT_H
#define MESH_FS_CONFLICT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "meshsync.h" /* mesh_err_t */

#define CONFLICT_TAG        ".sync-conflict-" /* then YYYYMMDD-HHMMSS-DEVICE */
#define CONFLICT_DEVICE_LEN 7u                /* characters of the device ID kept */
#define CONFLICT_STAMP_LEN  15u               /* YYYYMMDD-HHMMSS */

/* The length of the base of the name[0..len) (a last component): the bytes before its
 * extension, which starts at the last '.' unless that '.' is the first byte (a dotfile:
 * ".bashrc" has none) or the last ("a." has none); "a.tar.gz": base "a.tar", ext ".gz". */
size_t conflict_ext_at(const char *name, size_t len);

/* Write rel[0..len) with tag[0..tag_len) inserted before the extension of its last
 * component into out (NUL-terminated, *out_n bytes without the NUL): "d/a.txt" + "~x" ->
 * "d/a~x.txt". When the component would pass PATH_NAME_MAX bytes, its base is cut (at a
 * UTF-8 character boundary) to fit; an extension too long to keep that way is taken as
 * part of the base. MESH_EINVAL: rel fails path_check or tag is empty or holds a '/';
 * MESH_ETOOBIG: the result passes PATH_LEN_MAX or out_len. Thread-safe. */
MESH_NODISCARD mesh_err_t conflict_tag_path(const char *rel, size_t len, const char *tag,
                                            size_t tag_len, char *out, size_t out_len,
                                            size_t *out_n);

/* The stamp of unix time when (UTC) as YYYYMMDD-HHMMSS into out[CONFLICT_STAMP_LEN + 1].
 * MESH_EINVAL for a time before 1970 or after 9999. */
MESH_NODISCARD mesh_err_t conflict_stamp(int64_t when, char *out);

/* Parse a stamp (exactly CONFLICT_STAMP_LEN bytes at s, a valid UTC date and time) into
 * *when; false when it is not one. */
bool conflict_stamp_parse(const char *s, int64_t *when);

/* The conflict copy's path for rel[0..len) (valid by path_check), the loser's edit made at
 * unix time when (UTC) on the device whose ID is device (its first CONFLICT_DEVICE_LEN
 * characters are used; letters and digits only): "d/a.tar.gz" ->
 * "d/a.tar.sync-conflict-20261205-061500-ABCDEFG.gz". Errors as conflict_tag_path, and
 * MESH_EINVAL for a bad time or device. */
MESH_NODISCARD mesh_err_t conflict_name(const char *rel, size_t len, int64_t when,
                                        const char *device, char *out, size_t out_len,
                                        size_t *out_n);

/* Is the last component of rel[0..len) a conflict copy's name (CONFLICT_TAG, a valid stamp,
 * '-', 1..CONFLICT_DEVICE_LEN letters or digits, then the end or a '.')? With when and
 * device (both may be NULL) it says what the name holds (device: NUL-terminated, at most
 * CONFLICT_DEVICE_LEN + 1 bytes). Thread-safe. */
bool conflict_is(const char *rel, size_t len, int64_t *when, char *device);

/* The path a conflict copy rel[0..len) was named after: rel with its tag (".sync-conflict-",
 * stamp, '-', device) taken out, into out (NUL-terminated): "d/a.sync-conflict-20261205-
 * 061500-ABCDEFG.txt" -> "d/a.txt". A name whose base was cut to fit (conflict_tag_path)
 * gives the cut base. MESH_EINVAL: not a conflict copy (conflict_is); MESH_ETOOBIG: out_len
 * too small. Thread-safe. */
MESH_NODISCARD mesh_err_t conflict_original(const char *rel, size_t len, char *out, size_t out_len);

#endif /* MESH_FS_CONFLICT_H */
