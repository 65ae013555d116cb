#!/usr/bin/env bash
# tests/integration/61-pair-third-member.sh: a device paired with one member is trusted by
# every member. A and C are a mesh (daemons running, each knowing the other's address); B
# pairs with A by code. What must hold after: C admits B directly (C's status shows B
# connected, with a session), once A's add record for B has reached C, with no step on C;
# an item B writes reaches C, and one C writes reaches B (and A's, written before, B).
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib.sh"
describe "a device paired with one member is admitted by a third member at once"
command -v python3 >/dev/null || skip "no python3"

three_devices
start_daemon "$A" "$T/a.log"
pa=$LAST_PID ea=$EP
start_daemon "$C" "$T/c.log"
pc=$LAST_PID ec=$EP
a peer add "$idc" "$ec"
c peer add "$ida" "$ea"
a put notes from-a 1
wait_for 20 "A and C to sync" sh -c "'$MESHCTL' --home '$C' get notes from-a"

spawn "$MESHCTL" --home "$A" pair --listen tcp://127.0.0.1:0 >"$T/pair-a.out" 2>"$T/pair-a.err"
ppa=$LAST_PID
wait_for 10 "A to listen for the pairing" grep -q 'listening on tcp://127.0.0.1:[0-9]' "$T/pair-a.err"
code=$(head -1 "$T/pair-a.out")
pport=$(sed -n 's/.*listening on tcp:\/\/127.0.0.1:\([0-9]*\).*/\1/p' "$T/pair-a.err")
b pair "$code" --addr "127.0.0.1:$pport" >/dev/null 2>"$T/pair-b.err" ||
    fail "B could not pair: $(cat "$T/pair-b.err")"
wait_pids 10 "$ppa"
wait_for 20 "A's add record for B to reach C" sh -c "'$MESHCTL' --home '$C' peer ls | grep -q '^$idb'"
start_daemon "$B" "$T/b.log"
pb=$LAST_PID

# C has a session with B itself (B learnt C's address from A's records)
connected() {
    "$MESHCTL" --home "$C" --json status | python3 -c '
import json, sys
st = json.load(sys.stdin)
sys.exit(0 if any(p["id"] == sys.argv[1] and p["connected"] for p in st["peers"]) else 1)
' "$idb"
}
wait_for 20 "C to show B connected" connected
b put notes from-b 2
c put notes from-c 3
wait_for 20 "B's item to reach C" sh -c "'$MESHCTL' --home '$C' get notes from-b"
wait_for 20 "C's item to reach B" sh -c "'$MESHCTL' --home '$B' get notes from-c"
wait_for 20 "A's item to reach B" sh -c "'$MESHCTL' --home '$B' get notes from-a"
kill "$pa" "$pb" "$pc"
wait_pids 10 "$pa" "$pb" "$pc"
echo ok
