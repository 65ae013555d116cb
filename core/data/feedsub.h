/* core/data/feedsub.h: the change feed's subscription to a daemon's commits over the
 * control socket (docs/PROTOCOL.md §20, §21.4), for a node opened offline beside a running
 * daemon (meshctl watch, an app without its own loop): a thread of its own holds the
 * subscription and kicks the feed at each commit the daemon reports.
 * Not here: reading the changes (core/data/feed.c reads its own store), the socket
 * (transport/ctl.h), the bytes (core/wire/ctlmsg.h). Layer: core/data. Third-party: none.
 * SPDX-License-Identifier: MIT */
#ifndef MESH_CORE_DATA_FEEDSUB_H
#define MESH_CORE_DATA_FEEDSUB_H

#include <stdbool.h>

#include "meshsync.h" /* mesh_err_t */

#define FEEDSUB_RETRY_MS   1000  /* no daemon subscribed: look for one this often */
#define FEEDSUB_RENEW_MS   1000  /* a subscription is renewed this often (the daemon's lasts 5 s) */
#define FEEDSUB_SILENT_MS  3000  /* no reply this long: the daemon went, the feed polls again */
#define FEEDSUB_REFUSED_MS 10000 /* a daemon that refused (too many watches, older): ask after */

typedef struct feedsub feedsub_t;

/* Start the thread for home: kick(ctx) is called on it at each commit the daemon reports
 * (and once when a subscription starts). MESH_OK, MESH_ENOMEM, MESH_EIO (no thread). */
MESH_NODISCARD mesh_err_t feedsub_start(const char *home, void (*kick)(void *ctx), void *ctx,
                                        feedsub_t **out);

/* Is a daemon's subscription live (it answered within FEEDSUB_SILENT_MS)? Any thread;
 * NULL: false. */
bool feedsub_live(const feedsub_t *s);

/* Stop the thread (its kick is not called after) and free s. NULL: no-op. */
void feedsub_stop(feedsub_t *s);

#endif /* MESH_CORE_DATA_FEEDSUB_H */
