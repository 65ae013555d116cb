#!/usr/bin/env bash
# tests/integration/20-daemon-lock.sh: one daemon per home (HOME/daemon.lock).
#  1. A second daemon on a home refuses at once, exit 1, with one line naming the first one's
#     pid; it binds no port and leaves the first one's status file alone.
#  2. Other commands work beside the daemon (put, get, status), and the daemon pushes the put.
#  3. A daemon killed with SIGKILL leaves its lock file behind: the next daemon starts anyway
#     (the lock decides, not the file) and writes its own pid.
# Real daemons on 127.0.0.1, each stopped by PID.
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib.sh"
DAEMON_LOG_LEVEL=debug # (the test reads its debug lines)
describe "a second daemon on a home refuses, naming the first; a stale lock file blocks nothing"


three_devices
b peer add "$ida"
a peer add "$idb"

# ---- 1. the second daemon refuses, naming the first ----
start_daemon "$A" "$T/a.log"; pa=$LAST_PID ea=$EP
# (timeout: without the lock the second one would run on, and the test must fail, not hang)
expect_fail_with "a daemon already runs on '$A' (pid $pa)" \
    timeout 10 "$MESHCTL" --home "$A" daemon --listen tcp://127.0.0.1:0
# the refused one bound nothing and did not take the status file with it
[ -f "$A/status" ] || fail "the refused daemon removed the first one's status file"
kill -0 "$pa" || fail "the first daemon died"
expect_eq "$(cat "$A/daemon.lock")" "$pa" "the pid in A's daemon.lock after the refusal"

# ---- 2. other commands work beside it, and it pushes what they write ----
start_daemon "$B" "$T/b.log"; pb=$LAST_PID
a peer add "$idb" "$EP"
a put notes beside "written while A's daemon runs"
expect_eq "$(a get notes beside)" "written while A's daemon runs" "put/get beside A's daemon"
a status | grep -q "daemon" || fail "A's status does not show its daemon: $(a status)"
wait_for 20 "A's write on B (pushed by A's daemon)" b get notes beside

# ---- 3. a daemon killed with SIGKILL leaves a stale file that blocks nothing ----
kill -KILL "$pa"
wait "$pa" 2>/dev/null || true
[ -f "$A/daemon.lock" ] || fail "no lock file left behind to test with"
expect_eq "$(cat "$A/daemon.lock")" "$pa" "the stale pid in A's daemon.lock"
start_daemon "$A" "$T/a2.log"; pa2=$LAST_PID
expect_eq "$(cat "$A/daemon.lock")" "$pa2" "the new daemon's pid in A's daemon.lock"
a put notes after "written after the restart"
wait_for 20 "A's write after the restart on B" b get notes after

kill -TERM "$pa2" "$pb"
wait_pids 10 "$pa2" "$pb"
# the lock went with the daemon: a new one starts at once
start_daemon "$A" "$T/a3.log"; pa3=$LAST_PID
kill -TERM "$pa3"
wait_pids 10 "$pa3"
echo "ok"
