/* core/sync/fsyncer.h: a thread that syncs one file (fdatasync) when asked, so that the
 * loop thread does not wait for the disk while it could be receiving.
 * Owns: the thread, its requests (tickets, in order) and their outcome; it wakes its caller
 * after each sync. Not here: what is written to the file, and when (core/sync/spool.c).
 * Layer: core (sync). Third-party: none. SPDX-License-Identifier: MIT */
#ifndef MESH_CORE_SYNC_FSYNCER_H
#define MESH_CORE_SYNC_FSYNCER_H

#include <stdbool.h>
#include <stdint.h>

typedef struct fsyncer fsyncer_t;

/* Start the thread that syncs fd (which must outlive it) and calls wake(ctx) after each
 * sync, from its own thread (NULL: no call). NULL: it could not start (no memory, no
 * thread): the caller syncs on its own thread. */
fsyncer_t *fsyncer_start(int fd, void (*wake)(void *ctx), void *ctx);

/* Stop and join the thread (a sync under way ends first); NULL is a no-op. */
void fsyncer_stop(fsyncer_t *fs);

/* Ask for a sync of everything written to the file before this call: the ticket it is done
 * under (tickets rise from 1). */
uint64_t fsyncer_ask(fsyncer_t *fs);

/* Is ticket t synced (a sync that began after it was asked for has ended)? *failed: that
 * sync failed (what was written before t may not be on the disk). */
bool fsyncer_done(fsyncer_t *fs, uint64_t t, bool *failed);

/* Wait until ticket t is synced. False: its sync failed. */
bool fsyncer_wait(fsyncer_t *fs, uint64_t t);

#endif /* MESH_CORE_SYNC_FSYNCER_H */
