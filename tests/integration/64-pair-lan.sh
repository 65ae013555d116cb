#!/usr/bin/env bash
# tests/integration/64-pair-lan.sh: pairing found on the LAN by the nameplate (docs/PROTOCOL.md
# §15.6), then discovery by beacons alone (§16), in network namespaces this test makes and
# removes: a hub namespace holding a bridge, and four namespaces on it (alpha 10.78.0.1, beta
# .2, a capturing non-member .3, gamma .4, /24; addresses that exist only inside them;
# nothing is added to the host's own namespace).
# What must hold:
#  1. alpha (a daemon running, an item written) shows a code with `meshctl pair`; beta runs
#     `meshctl pair CODE` with NO address: it hears alpha's pairing beacon, pairs, and records
#     alpha at the daemon's address (10.78.0.1); beta's daemon, started after, gets the item.
#  2. alpha shows a second code; gamma, in its own namespace, pairs by it the same way (NO
#     address, found by alpha's pairing beacon) and its daemon gets alpha's item.
#  3. beta and gamma are never told each other's ID or address by anyone: they learn each
#     other as members only from the mesh's records that alpha's daemon hands them, and
#     alpha's daemon tells no addresses (MESH_TEST_NO_PEX=1, so peer exchange cannot be how
#     they meet). Once each lists the other as a member, alpha's daemon is stopped (so it
#     cannot relay); then an item put on gamma reaches beta and one put on beta reaches gamma
#     before a deadline, and beta or gamma logs "discovered" for the other at its namespace's
#     address (a LAN beacon).
#  4. The capture in the third namespace holds alpha's pairing beacons (MSHP) of both
#     pairings: 10 bytes each, a code's nameplate and its pairing port, and none holds 8
#     bytes in a row of alpha's, beta's or gamma's Ed25519 or CURVE keys or an ID (no ID on
#     the LAN).
# The times (pair CODE to the item; beta and gamma meeting and syncing with alpha down) are
# printed, never asserted.
# Only this test and 54 lift MESHSYNC_NO_DISCOVERY (lib.sh), for the processes inside the
# namespaces. Run as root with iproute2; where a namespace cannot be made, the test is
# skipped and says which command failed. Every process is stopped by PID, every namespace
# deleted at the end.
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib.sh"
describe "devices find a pairing on the LAN by its nameplate, pair, then find each other by beacons alone and sync"

command -v python3 >/dev/null 2>&1 || skip "no python3 (the capturing listener)"
netns_bridge ms60 10.78.0 4

# ---- 1. beta pairs with alpha by a code, NO address ----
three_devices
a put notes hello "from alpha"

beacon_capture "${NS[2]}" "$T/captured"
ps=$LAST_PID

# in_ns NS COMMAND...: COMMAND in namespace NS, LAN discovery allowed (exec'd in turn, so a
# spawned one's PID is the command's own)
in_ns=(env -u MESHSYNC_NO_DISCOVERY ip netns exec)
# alpha's daemon tells no member addresses (peer exchange off: the test build's hook), so beta
# and gamma can meet only by their beacons
spawn env -u MESHSYNC_NO_DISCOVERY MESH_TEST_NO_PEX=1 ip netns exec "${NS[0]}" "$MESHCTL_TESTING" \
    --home "$A" --log-level info daemon --listen tcp://10.78.0.1:0 2>>"$T/a.log"
pa=$LAST_PID
wait_for 10 "alpha's daemon to listen" grep -q '^listen tcp://10.78.0.1:[0-9]' "$A/status"
ea=$(sed -n 's/^listen //p' "$A/status")

spawn "${in_ns[@]}" "${NS[0]}" "$MESHCTL" --home "$A" pair --listen tcp://10.78.0.1:0 \
    >"$T/pair-a.out" 2>"$T/pair-a.err"
ppa=$LAST_PID
wait_for 10 "alpha to listen for the pairing" grep -q 'saying so on the LAN' "$T/pair-a.err"
code=$(head -1 "$T/pair-a.out")
pport=$(sed -n 's/.*listening on tcp:\/\/10.78.0.1:\([0-9]*\).*/\1/p' "$T/pair-a.err")
wait_for 10 "alpha's pairing beacon in the capture" grep -q '^10\.78\.0\.1 ' "$T/captured"

ms() { echo $(($(date +%s%N) / 1000000)); }
start=$(ms)
"${in_ns[@]}" "${NS[1]}" "$MESHCTL" --home "$B" pair "$code" >"$T/pair-b.out" 2>"$T/pair-b.err" ||
    fail "beta could not pair by the LAN: $(cat "$T/pair-b.err")"
paired=$(ms)
grep -q "found it at 10.78.0.1:$pport" "$T/pair-b.err" || fail "beta: $(cat "$T/pair-b.err")"
wait_pids 10 "$ppa"
b peer ls | grep "^$ida" | grep -q "$ea" || fail "beta does not list alpha at $ea: $(b peer ls)"
spawn "${in_ns[@]}" "${NS[1]}" "$MESHCTL" --home "$B" --log-level info daemon \
    --listen tcp://10.78.0.2:0 2>>"$T/b.log"
pb=$LAST_PID
wait_for 20 "beta to get alpha's item" sh -c "'$MESHCTL' --home '$B' get notes hello | grep -q 'from alpha'"
synced=$(ms)
echo "pair CODE: found and paired in $((paired - start)) ms; the item on beta $((synced - start)) ms after the start (beta's daemon start included)"

# ---- 2. gamma pairs with alpha by a second code, NO address either ----
spawn "${in_ns[@]}" "${NS[0]}" "$MESHCTL" --home "$A" pair --listen tcp://10.78.0.1:0 \
    >"$T/pair-a2.out" 2>"$T/pair-a2.err"
ppa=$LAST_PID
wait_for 10 "alpha to listen for the second pairing" grep -q 'saying so on the LAN' "$T/pair-a2.err"
code2=$(head -1 "$T/pair-a2.out")
pport2=$(sed -n 's/.*listening on tcp:\/\/10.78.0.1:\([0-9]*\).*/\1/p' "$T/pair-a2.err")
[ "$code2" != "$code" ] || fail "alpha showed the same code twice: $code"
start=$(ms)
"${in_ns[@]}" "${NS[3]}" "$MESHCTL" --home "$C" pair "$code2" >"$T/pair-c.out" 2>"$T/pair-c.err" ||
    fail "gamma could not pair by the LAN: $(cat "$T/pair-c.err")"
paired=$(ms)
grep -q "found it at 10.78.0.1:$pport2" "$T/pair-c.err" || fail "gamma: $(cat "$T/pair-c.err")"
wait_pids 10 "$ppa"
c peer ls | grep "^$ida" | grep -q "$ea" || fail "gamma does not list alpha at $ea: $(c peer ls)"
spawn "${in_ns[@]}" "${NS[3]}" "$MESHCTL" --home "$C" --log-level info daemon \
    --listen tcp://10.78.0.4:0 2>>"$T/c.log"
pc=$LAST_PID
wait_for 20 "gamma to get alpha's item" sh -c "'$MESHCTL' --home '$C' get notes hello | grep -q 'from alpha'"
synced=$(ms)
echo "gamma's pair CODE: found and paired in $((paired - start)) ms; the item on gamma $((synced - start)) ms after the start (gamma's daemon start included)"

# ---- 3. beta and gamma: members by alpha's records, met by beacons alone, alpha down ----
# (nobody ran `peer add` or gave an address between them: each learns the other from the
# mesh's records alpha's daemon hands it)
wait_for 20 "beta to list gamma as a member (alpha's records)" sh -c "'$MESHCTL' --home '$B' peer ls | grep -q '^$idc'"
wait_for 20 "gamma to list beta as a member (alpha's records)" sh -c "'$MESHCTL' --home '$C' peer ls | grep -q '^$idb'"
kill -TERM "$pa"
wait_pids 15 "$pa"
down=$(ms)
c put notes from-gamma "put on gamma"
b put notes from-beta "put on beta"
wait_for 30 "beta to get gamma's item with alpha down" sh -c "'$MESHCTL' --home '$B' get notes from-gamma | grep -q 'put on gamma'"
t_b=$(ms)
wait_for 30 "gamma to get beta's item with alpha down" sh -c "'$MESHCTL' --home '$C' get notes from-beta | grep -q 'put on beta'"
t_c=$(ms)
echo "alpha down: gamma's item on beta after $((t_b - down)) ms, beta's on gamma after $((t_c - down)) ms"
grep -q "discovered $idc at tcp://10.78.0.4:[0-9]* (LAN beacon)" "$T/b.log" ||
    grep -q "discovered $idb at tcp://10.78.0.2:[0-9]* (LAN beacon)" "$T/c.log" ||
    fail "neither beta nor gamma logged discovering the other by a beacon: beta: $(grep discovered "$T/b.log"); gamma: $(grep discovered "$T/c.log")"
grep -h "discovered \($idc\|$idb\)" "$T/b.log" "$T/c.log" | sed 's/^/  /'

# ---- 4. what the LAN saw of the pairings: the nameplates and the ports, no key, no ID ----
# (alpha's pairing beacons, MSHP; the daemons' own, MSHB, are test 54's)
grep '^10\.78\.0\.1 4d534850' "$T/captured" >"$T/pairing" || true
beacons_keep_secret "$T/pairing" "$A" "$B" "$C"
python3 - "$T/pairing" "${code%%-*}" "$pport" "${code2%%-*}" "$pport2" <<'EOF' || fail "the captured pairing beacons are not alpha's two (above)"
import sys
want = [b"MSHP\x01\x00" + int(np).to_bytes(2, "big") + int(port).to_bytes(2, "big")
        for np, port in ((sys.argv[2], sys.argv[3]), (sys.argv[4], sys.argv[5]))]
got = [bytes.fromhex(l.split()[1]) for l in open(sys.argv[1])]
bad = 0
for w in want:
    if w not in got:
        print("no pairing beacon %s captured" % w.hex()); bad = 1
for b in got:
    if b not in want:
        print("not a pairing beacon of ours (%s): %s" % (" ".join(w.hex() for w in want), b.hex())); bad = 1
sys.exit(bad)
EOF
kill -TERM "$pb" "$pc" "$ps"
wait_pids 15 "$pb" "$pc"
echo ok
