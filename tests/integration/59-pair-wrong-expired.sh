#!/usr/bin/env bash
# tests/integration/59-pair-wrong-expired.sh: the failures of a pairing code, with real
# processes over loopback. What must hold after each: a wrong code (right nameplate, one
# word changed) fails BOTH sides (exit 1, each saying "wrong code"), A says the code is
# burnt, and the right code then finds no pairing open; neither side's member list changed
# (no trust left behind). A code past its --expire ends A's pairing (exit 1, "expired"),
# and the joiner then finds nothing to pair with; no member list changed either. A
# malformed code, or no address while LAN discovery is off, fails before any connection.
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib.sh"
describe "a wrong code fails both sides, burns the code and leaves no trust; a code expires"

three_devices
peers_a=$(a peer ls)
peers_b=$(b peer ls)

# open_pair HOME OUT ERR [OPTIONS...]: `meshctl pair` on HOME in the background; its code in
# $code, its pairing port in $pport, its PID in $ppid
open_pair() {
    local home=$1 out=$2 err=$3
    shift 3
    spawn "$MESHCTL" --home "$home" pair --listen tcp://127.0.0.1:0 "$@" >"$out" 2>"$err"
    ppid=$LAST_PID
    wait_for 10 "the pairing on $home to listen" grep -q 'listening on tcp://127.0.0.1:[0-9]' "$err"
    code=$(head -1 "$out")
    pport=$(sed -n 's/.*listening on tcp:\/\/127.0.0.1:\([0-9]*\).*/\1/p' "$err")
}

# a code with the same nameplate and the first word changed
wrong_code() {
    local n=${1%%-*} rest=${1#*-}
    local w1=${rest%%-*} tail=${rest#*-} other=crystal
    [ "$w1" = crystal ] && other=ladder
    echo "$n-$other-$tail"
}

open_pair "$A" "$T/a1.out" "$T/a1.err"
wrong=$(wrong_code "$code")
expect_fail_with "wrong code" b --quiet pair "$wrong" --addr "127.0.0.1:$pport"
status=0
wait "$ppid" || status=$?
expect_eq "$status" 1 "A's exit status after a wrong code"
grep -q "wrong code" "$T/a1.err" || fail "A does not say wrong code: $(cat "$T/a1.err")"
grep -q "burnt" "$T/a1.err" || fail "A does not say the code is burnt: $(cat "$T/a1.err")"
# burnt: the right code no longer pairs
expect_fail_with "no answer" b --quiet pair "$code" --addr "127.0.0.1:$pport" --timeout 2
expect_eq "$(a peer ls)" "$peers_a" "A's members after the wrong code"
expect_eq "$(b peer ls)" "$peers_b" "B's members after the wrong code"

# an expired code: A gives up by itself, B then finds nothing
open_pair "$A" "$T/a2.out" "$T/a2.err" --expire 1s
status=0
wait "$ppid" || status=$?
expect_eq "$status" 1 "A's exit status after its code expired"
grep -q "expired" "$T/a2.err" || fail "A does not say the code expired: $(cat "$T/a2.err")"
expect_fail_with "no answer" b --quiet pair "$code" --addr "127.0.0.1:$pport" --timeout 2
expect_eq "$(a peer ls)" "$peers_a" "A's members after the expired code"
expect_eq "$(b peer ls)" "$peers_b" "B's members after the expired code"

# a malformed code is refused before any connection
expect_fail_with "the code" b --quiet pair "7-notaword-ladder-orbit" --addr "127.0.0.1:$pport"
# no address, and LAN discovery off (lib.sh): said so, nothing sent
expect_fail_with "LAN discovery is off" b --quiet pair "$code"
echo ok
