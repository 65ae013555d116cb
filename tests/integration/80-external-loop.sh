#!/usr/bin/env bash
# tests/integration/80-external-loop.sh: an app that runs its node's event loop from its own
# poll() loop (mesh_fd, mesh_process: include/meshsync.h), tests/tools/extloop, syncs with a
# real daemon both ways. Must hold: the app's write reaches the daemon's device and the
# daemon's write reaches the app, with no thread of the library's own running the loop; an
# offline handle has no descriptor (mesh_fd -1, mesh_process MESH_ESTATE: extloop checks it
# first); and an idle node does not keep its caller busy: at most 100 wakes a second (its
# timer is 50 ms), and at least one (the timers still run).
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib.sh"
describe "an app drives its node from its own poll loop (mesh_fd, mesh_process) and syncs"

EXTLOOP=$(dirname "$MESHCTL_TESTING")/tests/extloop
[ -x "$EXTLOOP" ] || fail "no $EXTLOOP (make testing)"
three_devices # A: a daemon; B: the app (C is not used)
a peer add "$idb" >/dev/null
start_daemon "$A" "$T/a.log"; pa=$LAST_PID ea=$EP
b peer add "$ida" "$ea" >/dev/null

spawn "$EXTLOOP" "$B" tcp://127.0.0.1:0 $((30 * TIME_FACTOR)) --put notes from-app "written by the app" \
    --until notes from-alpha >"$T/app.out" 2>"$T/app.err"
papp=$LAST_PID
wait_for 20 "the app's write to reach alpha" sh -c "'$MESHCTL' --home '$A' get notes from-app >/dev/null 2>&1"
expect_eq "$(a get notes from-app)" "written by the app" "the app's value on alpha"
a put notes from-alpha "written on alpha" >/dev/null
wait_pids 30 "$papp"
grep -qx "got written on alpha" "$T/app.out" || fail "the app did not get alpha's write: $(cat "$T/app.out" "$T/app.err")"

# Idle for 3 s beside the daemon: the caller is woken by the node's timer, not kept busy.
"$EXTLOOP" "$B" tcp://127.0.0.1:0 3 >"$T/idle.out" 2>"$T/idle.err" ||
    fail "the idle run failed: $(cat "$T/idle.out" "$T/idle.err")"
rate=$(sed -n 's/^wakes [0-9]* per-s \([0-9.]*\)$/\1/p' "$T/idle.out")
[ -n "$rate" ] || fail "no wake figure: $(cat "$T/idle.out")"
python3 -c "import sys; r = float(sys.argv[1]); sys.exit(0 if 1 <= r <= 100 else 1)" "$rate" ||
    fail "an idle node woke its caller $rate times a second (expected 1..100)"
kill -TERM "$pa"
wait_pids 20 "$pa"
echo "ok"
