/* cli/notify.h: telling a service manager how the daemon is (systemd's notify protocol:
 * "READY=1", "RELOADING=1", "STOPPING=1", "STATUS=..." datagrams to the AF_UNIX socket
 * named by $NOTIFY_SOCKET; see sd_notify(3)), written by hand: no libsystemd.
 * Owns: the socket address (a path, or an abstract name given as "@name") and the send.
 * Not here: when the daemon says what (cli/cmd_daemon.c).
 * Layer: cli. Third-party: none. SPDX-License-Identifier: MIT */
#ifndef MESH_CLI_NOTIFY_H
#define MESH_CLI_NOTIFY_H

#include <stdbool.h>

/* Send state (newline-separated "KEY=value" lines) to $NOTIFY_SOCKET. False when it is not
 * set (no service manager asked: nothing to do) or the send failed (errno says why). */
bool notify_send(const char *state);

/* The "MONOTONIC_USEC=..." line systemd wants beside "RELOADING=1" (CLOCK_MONOTONIC, µs),
 * written into buf; returns buf. */
const char *notify_monotonic(char *buf, unsigned long len);

#endif /* MESH_CLI_NOTIFY_H */
