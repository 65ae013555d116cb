#!/usr/bin/env bash
# tests/integration/55-discovery-settings.sh: LAN discovery's settings (docs/meshctl.1.md,
# docs/PROTOCOL.md §16) and the rule that keeps every other test's daemons quiet.
#  1. Bad values are refused before the daemon opens anything: a flag out of range exits 2
#     naming the flag; a bad line in HOME/config exits 1 naming the key and the file.
#  2. Under lib.sh (MESHSYNC_NO_DISCOVERY=1) a daemon whose settings ask for discovery logs
#     that it is off and why, and syncs as usual over its configured address; with
#     --no-discovery it says nothing of discovery at all.
# No beacon leaves this host's namespace: every daemon here runs with discovery off (the
# namespaced test 54 is the one that sends them). Daemons on 127.0.0.1, stopped by PID.
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib.sh"
describe "discovery settings are checked; under the test library no daemon sends beacons"

[ "${MESHSYNC_NO_DISCOVERY:-}" = 1 ] || fail "lib.sh did not set MESHSYNC_NO_DISCOVERY"
three_devices

# ---- 1. bad values ----
expect_exit 2 "$MESHCTL" --home "$A" daemon --discovery-interval 5
grep -q -- "--discovery-interval must be 100 to 3600000" "$T/stderr" || fail "interval: $(cat "$T/stderr")"
expect_exit 2 "$MESHCTL" --home "$A" daemon --discovery-port 0
grep -q -- "--discovery-port must be 1 to 65535" "$T/stderr" || fail "port: $(cat "$T/stderr")"
printf 'discovery-port = 70000\n' >"$A/config"
expect_fail_with "'discovery-port' in '$A/config'" timeout 10 "$MESHCTL" --home "$A" daemon
printf 'discovery = maybe\n' >"$A/config"
expect_fail_with "'discovery' in '$A/config'" timeout 10 "$MESHCTL" --home "$A" daemon
grep -q "discovery must be on or off" "$T/stderr" || fail "discovery = maybe: $(cat "$T/stderr")"
[ ! -f "$A/status" ] || fail "a refused daemon left a status file"

# ---- 2. on in the settings, off by the environment ----
printf 'discovery = on\ndiscovery-interval = 500\ndiscovery-port = 47999\n' >"$A/config"
start_daemon "$B" "$T/b.log"
a peer add "$idb" "$EP"
b peer add "$ida"
start_daemon "$A" "$T/a.log"
grep -q "LAN discovery off: MESHSYNC_NO_DISCOVERY is set" "$T/a.log" ||
    fail "A did not say discovery is off: $(grep -i discover "$T/a.log")"
! grep -q "LAN discovery on" "$T/a.log" "$T/b.log" || fail "a daemon turned discovery on under lib.sh"
a put notes k v
wait_for 20 "B to get A's item over the configured address" sh -c "'$MESHCTL' --home '$B' get notes k | grep -q v"
kill -TERM "$LAST_PID"
wait_pids 10 "$LAST_PID"
: >"$T/a.log"
spawn "$MESHCTL" --home "$A" --log-level debug daemon --listen tcp://127.0.0.1:0 --no-discovery 2>>"$T/a.log"
pa=$LAST_PID
wait_for 10 "A to run" grep -q '^listen tcp://127.0.0.1:[0-9]' "$A/status"
! grep -qi "discovery" "$T/a.log" || fail "--no-discovery: $(grep -i discovery "$T/a.log")"
kill -TERM "$pa"
wait_pids 10 "$pa"
echo "ok"
