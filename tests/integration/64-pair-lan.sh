#!/usr/bin/env bash
# tests/integration/64-pair-lan.sh: pairing found on the LAN by the nameplate (docs/PROTOCOL.md
# §15.6), in network namespaces this test makes and removes: a hub namespace holding a
# bridge, and three namespaces on it (10.78.0.1-3/24, addresses that exist only inside
# them; nothing is added to the host's own namespace).
# What must hold: alpha (a daemon running, an item written) shows a code with `meshctl pair`;
# beta runs `meshctl pair CODE` with NO address: it hears alpha's pairing beacon, pairs, and
# records alpha at the daemon's address (10.78.0.1); beta's daemon, started after, gets the
# item. A capture in the third namespace holds alpha's pairing beacons (MSHP): 10 bytes each, the
# code's nameplate and the pairing port, and none holds 8 bytes in a row of alpha's or
# beta's Ed25519 or CURVE keys (no ID on the LAN). The time from `meshctl pair CODE` to the
# item on beta is printed, never asserted.
# Only this test and 54 lift MESHSYNC_NO_DISCOVERY (lib.sh), for the processes inside the
# namespaces. Run as root with iproute2; where a namespace cannot be made, the test is
# skipped and says which command failed. Every process is stopped by PID, every namespace
# deleted at the end.
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib.sh"
describe "a joining device finds the pairing on the LAN by its nameplate, pairs and syncs"

[ "$(id -u)" = 0 ] || skip "network namespaces need root (uid $(id -u))"
command -v ip >/dev/null 2>&1 || skip "no 'ip' command (iproute2)"
command -v python3 >/dev/null 2>&1 || skip "no python3 (the capturing listener)"

HUB=ms60hub$$
NS=()
netcmd() {
    "$@" 2>"$T/ip.err" || skip "cannot make network namespaces: '$*' failed: $(cat "$T/ip.err")"
}
netcmd ip netns add "$HUB"
at_exit "ip netns del $HUB"
netcmd ip -n "$HUB" link add br0 type bridge
netcmd ip -n "$HUB" link set br0 up
for i in 1 2 3; do
    n=ms60n$i-$$
    netcmd ip netns add "$n"
    at_exit "ip netns del $n"
    NS+=("$n")
    netcmd ip -n "$n" link add eth0 type veth peer name p$i netns "$HUB"
    netcmd ip -n "$HUB" link set p$i master br0 up
    netcmd ip -n "$n" addr add 10.78.0.$i/24 brd + dev eth0
    netcmd ip -n "$n" link set eth0 up
    netcmd ip -n "$n" link set lo up
done

three_devices
a put notes hello "from alpha"

cat >"$T/listen.py" <<'EOF'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 47474))
with open(sys.argv[1], "a") as out:
    while True:
        data, src = s.recvfrom(65536)
        out.write("%s %s\n" % (src[0], data.hex()))
        out.flush()
EOF
: >"$T/captured"
spawn ip netns exec "${NS[2]}" python3 "$T/listen.py" "$T/captured"
ps=$LAST_PID

# in_ns NS COMMAND...: COMMAND in namespace NS, LAN discovery allowed (exec'd in turn, so a
# spawned one's PID is the command's own)
in_ns=(env -u MESHSYNC_NO_DISCOVERY ip netns exec)
spawn "${in_ns[@]}" "${NS[0]}" "$MESHCTL" --home "$A" daemon --listen tcp://10.78.0.1:0 2>>"$T/a.log"
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
spawn "${in_ns[@]}" "${NS[1]}" "$MESHCTL" --home "$B" daemon --listen tcp://10.78.0.2:0 2>>"$T/b.log"
pb=$LAST_PID
wait_for 20 "beta to get alpha's item" sh -c "'$MESHCTL' --home '$B' get notes hello | grep -q 'from alpha'"
synced=$(ms)
echo "pair CODE: found and paired in $((paired - start)) ms; the item on beta $((synced - start)) ms after the start (beta's daemon start included)"

# what the LAN saw of the pairing: the nameplate and the port, no key, no ID
for h in "$A" "$B"; do tail -c 32 "$h/identity" | od -An -tx1 | tr -d ' \n'; echo; done >"$T/keys"
printf '%s\n' "$ida" "$idb" >"$T/ids"
np=${code%%-*}
python3 - "$T/captured" "$T/keys" "$T/ids" "$np" "$pport" <<'EOF' || fail "the captured pairing beacons give something away (above)"
import sys
P = 2**255 - 19
def curve(ed):  # the X25519 key of an Ed25519 public key: u = (1 + y) / (1 - y)
    y = int.from_bytes(ed, "little") & ((1 << 255) - 1)
    return ((1 + y) * pow(1 - y, P - 2, P) % P).to_bytes(32, "little")
want = b"MSHP\x01\x00" + int(sys.argv[4]).to_bytes(2, "big") + int(sys.argv[5]).to_bytes(2, "big")
keys = [bytes.fromhex(k) for k in open(sys.argv[2]).read().split()]
secrets = keys + [curve(k) for k in keys]
ids = open(sys.argv[3]).read().split()
got = [bytes.fromhex(l.split()[1]) for l in open(sys.argv[1]) if l.startswith("10.78.0.1 ")]
got = [b for b in got if b[:4] == b"MSHP"]  # (the daemon's own beacons, MSHB, are test 54's)
bad = 0 if got else 1
for b in got:
    if b != want:
        print("not the pairing beacon %s: %s" % (want.hex(), b.hex())); bad = 1
    for k in secrets:
        if any(k[i:i + 8] in b for i in range(25)):
            print("a beacon holds 8 bytes of a key"); bad = 1
    for t in ids:
        if t.encode() in b or t.replace("-", "").encode() in b:
            print("a beacon holds an ID"); bad = 1
sys.exit(bad)
EOF
kill -TERM "$pa" "$pb" "$ps"
wait_pids 15 "$pa" "$pb"
echo ok
