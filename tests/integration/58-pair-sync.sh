#!/usr/bin/env bash
# tests/integration/58-pair-sync.sh: `meshctl pair` over loopback between two real homes whose
# daemons run meanwhile. A shows a code and waits; B joins with it at A's pairing address.
# What must hold after: both exit 0 naming each other; each lists the other in peer ls (B
# with A's sync address, taken from A's running daemon); with no further step, items written
# on either side reach the other through the daemons; the code then works no more (a third
# device trying it is refused and A's member list does not change). A device D paired
# with --share notes may hold notes and not A's other collection: it gets the notes, old
# and new, and never an item of the other.
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib.sh"
describe "pair by code over loopback, then items sync both ways; a used code is refused"

three_devices
start_daemon "$A" "$T/a.log"
pa=$LAST_PID ea=$EP
start_daemon "$B" "$T/b.log"
pb=$LAST_PID

# A: show a code, listening for the pairing on an ephemeral loopback port
spawn "$MESHCTL" --home "$A" pair --listen tcp://127.0.0.1:0 >"$T/pair-a.out" 2>"$T/pair-a.err"
ppa=$LAST_PID
wait_for 10 "A to listen for the pairing" grep -q 'listening on tcp://127.0.0.1:[0-9]' "$T/pair-a.err"
code=$(head -1 "$T/pair-a.out")
pport=$(sed -n 's/.*listening on tcp:\/\/127.0.0.1:\([0-9]*\).*/\1/p' "$T/pair-a.err")
case $code in [0-9]*-[a-z]*-[a-z]*-[a-z]*) ;; *) fail "A printed no code: '$code'" ;; esac

b pair "$code" --addr "127.0.0.1:$pport" >"$T/pair-b.out" 2>"$T/pair-b.err" ||
    fail "B could not pair: $(cat "$T/pair-b.err")"
wait_pids 10 "$ppa"
grep -q "paired with $ida" "$T/pair-b.out" || fail "B does not name A: $(cat "$T/pair-b.out")"
grep -q "paired with $idb" "$T/pair-a.out" || fail "A does not name B: $(cat "$T/pair-a.out")"

# both records: A lists B; B lists A with the address of A's daemon
a peer ls | grep -q "^$idb" || fail "A does not list B: $(a peer ls)"
b peer ls | grep "^$ida" | grep -q "$ea" || fail "B does not list A at $ea: $(b peer ls)"

# the daemons follow the records: items go both ways
a put notes k1 from-a
b put notes k2 from-b
wait_for 20 "k1 to reach B" sh -c "'$MESHCTL' --home '$B' get notes k1 | grep -q from-a"
wait_for 20 "k2 to reach A" sh -c "'$MESHCTL' --home '$A' get notes k2 | grep -q from-b"

# the code is spent: C is refused (no pairing is open any more), and nothing changes at A
before=$(a peer ls | wc -l)
expect_fail_with "no answer" c --quiet pair "$code" --addr "127.0.0.1:$pport" --timeout 2
expect_eq "$(a peer ls | wc -l)" "$before" "A's member count after the reused code"
c peer ls | grep -q "^$ida" && fail "C lists A after a refused pairing"
# --share: D, paired with A limited to notes, gets notes and never A's other collection
a put secret s1 hidden
D=$(mk_home)
idd=$(mc --home "$D" init --name delta)
spawn "$MESHCTL" --home "$A" pair --listen tcp://127.0.0.1:0 --share notes >"$T/pair-a2.out" 2>"$T/pair-a2.err"
ppa=$LAST_PID
wait_for 10 "A to listen for the second pairing" grep -q 'listening on tcp://127.0.0.1:[0-9]' "$T/pair-a2.err"
code=$(head -1 "$T/pair-a2.out")
pport=$(sed -n 's/.*listening on tcp:\/\/127.0.0.1:\([0-9]*\).*/\1/p' "$T/pair-a2.err")
mc --home "$D" --quiet --json pair "$code" --addr "127.0.0.1:$pport" >"$T/pair-d.json" ||
    fail "D could not pair: $(cat "$T/pair-a2.err")"
wait_pids 10 "$ppa"
# --json: the joining side says {"paired": the ID of the device it paired with}
python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); assert d == {"paired": sys.argv[2]}, d' \
    "$T/pair-d.json" "$ida" || fail "pair --json on D: $(cat "$T/pair-d.json")"
a members secret | grep -q "$idd" && fail "D may hold secret: $(a members secret)"
a members notes | grep -q "$idd" || fail "D may not hold notes: $(a members notes)"
a members notes | grep -q "$idb" || fail "B lost notes to D's share: $(a members notes)"
a members secret | grep -q "$idb" || fail "B lost secret to D's share: $(a members secret)"
start_daemon "$D" "$T/d.log"
pd=$LAST_PID
wait_for 20 "notes to reach D" sh -c "'$MESHCTL' --home '$D' get notes k1 | grep -q from-a"
a put secret s2 later
a put notes k3 after
wait_for 20 "the later note to reach D" sh -c "'$MESHCTL' --home '$D' get notes k3"
mc --home "$D" get secret s1 >/dev/null 2>&1 && fail "D got A's unshared collection"
mc --home "$D" get secret s2 >/dev/null 2>&1 && fail "D got A's unshared collection"
kill "$pa" "$pb" "$pd"
wait_pids 10 "$pa" "$pb" "$pd"
echo ok
