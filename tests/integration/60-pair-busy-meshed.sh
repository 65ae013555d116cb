#!/usr/bin/env bash
# tests/integration/60-pair-busy-meshed.sh: one pairing at a time, and two meshes never merge
# by code. While B's attempt holds A's pairing open (B, a test build, stays silent after its
# START: MESH_TEST_PAIR_STALL_MS), a third device C joining with the same code gets no
# answer (A refuses its key at the handshake) and fails; B then completes, and only B is a
# member of A's mesh (C is in no list, C lists nobody). Then, with A and D each already in a
# mesh with another device, pairing them is refused on both sides ("already share a mesh")
# and neither list changes; that refusal does not burn the code (no share was sent).
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib.sh"
describe "a third device during an open pairing fails; two meshed devices are refused"

three_devices

open_pair() {
    local home=$1 out=$2 err=$3
    shift 3
    spawn "$MESHCTL" --home "$home" pair --listen tcp://127.0.0.1:0 "$@" >"$out" 2>"$err"
    ppid=$LAST_PID
    wait_for 10 "the pairing on $home to listen" grep -q 'listening on tcp://127.0.0.1:[0-9]' "$err"
    code=$(head -1 "$out")
    pport=$(sed -n 's/.*listening on tcp:\/\/127.0.0.1:\([0-9]*\).*/\1/p' "$err")
}

open_pair "$A" "$T/a.out" "$T/a.err" --advertise tcp://127.0.0.1:9
# B: a test build that stays silent for 4 s after START
join_b() { MESH_TEST_PAIR_STALL_MS=4000 "$MESHCTL" --home "$B" pair "$code" --addr "127.0.0.1:$pport"; }
spawn with_hooks join_b >"$T/b.out" 2>"$T/b.err"
pb=$LAST_PID
wait_for 10 "A to take B's attempt" grep -q "a device connected" "$T/a.err"
# C during B's attempt: refused at the handshake, so no answer
expect_fail_with "no answer" c --quiet pair "$code" --addr "127.0.0.1:$pport" --timeout 2
wait_pids 20 "$pb" "$ppid"
grep -q "paired with $ida" "$T/b.out" || fail "B did not pair: $(cat "$T/b.err")"
a peer ls | grep -q "^$idb" || fail "A does not list B"
a peer ls | grep -q "^$idc" && fail "A lists C, which joined during B's attempt"
expect_eq "$(c peer ls | wc -l)" 1 "C's members (only itself)"

# D and E: a mesh of their own; A (meshed with B) and D are refused
D=$(mk_home)
E=$(mk_home)
d() { mc --home "$D" "$@"; }
idd=$(d init --name delta)
ide=$(mc --home "$E" init --name epsilon)
d peer add "$ide"
peers_a=$(a peer ls)
peers_d=$(d peer ls)
open_pair "$A" "$T/a2.out" "$T/a2.err"
expect_fail_with "already share a mesh" d --quiet pair "$code" --addr "127.0.0.1:$pport"
expect_eq "$(a peer ls)" "$peers_a" "A's members after the refusal"
expect_eq "$(d peer ls)" "$peers_d" "D's members after the refusal"
# not burnt: a device with no mesh of its own still pairs with this code
C2=$(mk_home)
mc --home "$C2" init --name zeta >/dev/null
sleep 1.1 # one new attempt a second
mc --home "$C2" --quiet pair "$code" --addr "127.0.0.1:$pport" >/dev/null ||
    fail "the code was burnt by a refusal that sent no share"
wait_pids 10 "$ppid"
echo ok
