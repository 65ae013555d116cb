/* core/sync/folders.h: the daemon's folder work (docs/PROTOCOL.md §18.5-§18.7), run by the
 * loop thread: following the folder registry, scanning each folder when inotify says
 * something changed (the loop polls the inotify descriptor) and on a periodic full rescan,
 * a realize pass when the store changed, whole files put in place and their records kept;
 * blocks are fetched by core/sync/fetch.h and members' requests answered by
 * core/sync/blockserve.h.
 * Owns: struct folders (the loop's folder state: the joined folders, their scan and save
 * times, what each still needs), the inotify watches. Not here: the scan
 * (core/folder/index.h), writing the disk (core/folder/realize.h), the blocks' messages.
 * Layer: core (sync). Third-party: none. SPDX-License-Identifier: MIT */
#ifndef MESH_CORE_SYNC_FOLDERS_H
#define MESH_CORE_SYNC_FOLDERS_H

#include <stdint.h>
#include <stdio.h>

#include "core/sync/blockserve.h"
#include "core/sync/sync.h"

#define FOLDERS_RESCAN_MS    60000 /* full rescan of each folder (mesh_options_t) */
#define FOLDERS_SETTLE_MS    100   /* after an inotify event, scan this much later */
#define FOLDERS_BUSY_SCAN_MS 1000  /* but at most this often while files wait for blocks */
#define FOLDERS_STOPPED_MS   1000  /* a stopped folder's root checked again this often */
#define FOLDERS_REGISTRY_MS  1000  /* read the registry again at least this often */
#define FOLDERS_SAVE_MS      1000  /* records realize changed kept at most this often */
#define FOLDERS_COUNT_MS     1000  /* a busy folder's need counted again at most this often */
#define FOLDERS_SCAN_PART_MS 100   /* a scan reads content this long per turn (more: the next) */

/* How the folder work sends a message to a session (session.c's s_send_any). */
typedef sync_send_fn folders_send_fn;

/* One turn at now (ms): registry, inotify, scans, realize passes, requests and timeouts.
 * Starts the folder state on the first call. Errors are logged; nothing is returned. */
void folders_tick(loop_t *l, int64_t now, folders_send_fn send);

/* A BLOCK_REQ or BLOCK from s. MESH_OK; MESH_EPROTO when its body is malformed (the caller
 * drops the session). */
MESH_NODISCARD mesh_err_t folders_on_msg(loop_t *l, session_t *s, const wire_msg_t *msg,
                                         folders_send_fn send);

/* The status text's folder lines (docs/PROTOCOL.md §18.9), one per folder, into out (NULL:
 * none, nothing counted). Returns a key of what the lines show but the figures (each folder's
 * state, and whether it is settled: in sync but for what is still counted): the status is
 * published soon after it changes. */
uint64_t folders_put_status(loop_t *l, FILE *out);

/* Free the folder state (the loop's last act); none is a no-op. */
void folders_close(loop_t *l);

#endif /* MESH_CORE_SYNC_FOLDERS_H */
