#!/usr/bin/env bash
# tests/integration/54-lan-discovery.sh: LAN discovery by beacons alone (docs/PROTOCOL.md §16),
# in network namespaces this test makes and removes: a hub namespace holding a bridge, and
# four namespaces on it (10.77.0.1-4/24, addresses that exist only inside them; nothing is
# added to the host's own namespace).
#  1. Three daemons (alpha, beta, gamma) that know each other's IDs but no address of each
#     other (peer add ID, no address) find each other by beacons and sync an item put on
#     alpha to beta and gamma before a deadline; each logs "discovered" for the others.
#  2. A fourth namespace, no member, captures the beacons on the UDP port: none holds 8
#     bytes in a row of any device's Ed25519 or CURVE public key, or its ID text; two
#     beacons of one device differ past their 8-byte head; each is 24 + 16n bytes.
#     Beta, stopped and restarted, is found again the same way and gets what alpha put
#     meanwhile. (The times taken are printed, never asserted.)
#  3. A stranger's beacons (a fifth home, not a member of anyone, on the capture namespace)
#     make no member dial it: nobody logs "discovered" for it.
#  4. Garbage on the beacon port (short, oversized, another magic, a wrong count, and a
#     flood of well-formed random ones): each member logs the malformed ones it dropped,
#     and all still sync an item put after it.
#  5. Gamma restarted with --discovery-group 239.255.77.77 --discovery-interfaces eth0
#     sends its beacons to the group too (a listener bound to the group hears them), and
#     syncs again.
# Only this test lifts MESHSYNC_NO_DISCOVERY (lib.sh), for the daemons inside the namespaces.
# Run as root with iproute2; where a namespace cannot be made, the test is skipped and says
# which command failed. Every process is stopped by PID, every namespace deleted at the end.
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib.sh"
describe "three members on a bridge find each other by LAN beacons alone; an observer learns no ID"

command -v python3 >/dev/null 2>&1 || skip "no python3 (the capturing listener)"
netns_bridge ms54 10.77.0 4

three_devices
a peer add "$idb"
a peer add "$idc"
b peer add "$ida"
b peer add "$idc"
c peer add "$ida"
c peer add "$idb"
a put notes hello "from alpha"

# ---- the observer: captures every datagram on the beacon port in namespace 4 ----
beacon_capture "${NS[3]}" "$T/captured"

# ---- 1. three daemons, no addresses: beacons alone ----
daemon_in() { # NS HOME LOG IP
    spawn env -u MESHSYNC_NO_DISCOVERY ip netns exec "$1" "$MESHCTL" --home "$2" \
        --log-level debug daemon --listen "tcp://$4:0" 2>>"$3"
}
ms() { echo $(($(date +%s%N) / 1000000)); }
start=$(ms)
daemon_in "${NS[0]}" "$A" "$T/a.log" 10.77.0.1; pa=$LAST_PID
daemon_in "${NS[1]}" "$B" "$T/b.log" 10.77.0.2; pb=$LAST_PID
daemon_in "${NS[2]}" "$C" "$T/c.log" 10.77.0.3; pc=$LAST_PID
wait_for 30 "beta to get alpha's item by discovery" sh -c "'$MESHCTL' --home '$B' get notes hello | grep -q 'from alpha'"
wait_for 30 "gamma to get alpha's item by discovery" sh -c "'$MESHCTL' --home '$C' get notes hello | grep -q 'from alpha'"
echo "  3 daemons started (default interval) to the item on beta and gamma: $(($(ms) - start)) ms"
for x in a b c; do
    grep -q "LAN discovery on UDP port 47474" "$T/$x.log" || fail "$x: discovery did not start: $(grep -i discover "$T/$x.log" | head -3)"
done
grep -q "discovered $idb at tcp://10.77.0.2:" "$T/a.log" || grep -q "discovered $ida at tcp://10.77.0.1:" "$T/b.log" ||
    fail "neither alpha nor beta logged discovering the other"
! grep -q "MESHSYNC_NO_DISCOVERY is set" "$T/a.log" || fail "alpha ran with discovery off"

# ---- a restarted member is found again by beacons (it has no address either) ----
kill -TERM "$pb"
wait_pids 15 "$pb"
a put notes again "while beta was down"
start=$(ms)
daemon_in "${NS[1]}" "$B" "$T/b.log" 10.77.0.2; pb=$LAST_PID
wait_for 30 "the restarted beta to get the item put while it was down" sh -c "'$MESHCTL' --home '$B' get notes again | grep -q 'while beta'"
echo "  beta restarted to the item put while it was down: $(($(ms) - start)) ms"

# ---- 3. a stranger's beacons lead nowhere ----
S=$(mk_home)
ids=$(mc --home "$S" init --name stranger)
mc --home "$S" peer add "$ida" # it knows alpha's ID; alpha does not know it
daemon_in "${NS[3]}" "$S" "$T/s.log" 10.77.0.4; ps=$LAST_PID
for i in 1 2 3 4; do
    wait_for 20 "two beacons of 10.77.0.$i to be captured" \
        sh -c "[ \$(grep -c '^10\.77\.0\.$i ' '$T/captured') -ge 2 ]"
done
sleep 1 # (a few intervals: any dial would be logged by now; what must hold is that none is)
for x in a b c; do
    ! grep -q "discovered $ids" "$T/$x.log" || fail "$x dialled the stranger on its beacon"
done
cp "$T/captured" "$T/honest" # what the observer saw of the devices (section 2)

# ---- 4. garbage on the beacon port: dropped and counted, nothing stops ----
ip netns exec "${NS[3]}" python3 - <<'EOF'
import os, socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
to = ("10.77.0.255", 47474)
for i in range(20):
    s.sendto(os.urandom(10), to)                                # short
    s.sendto(b"MSHB\x01\x01\x1b\x58" + os.urandom(2000), to)    # oversized
    s.sendto(b"MSHX\x01\x01\x1b\x58" + os.urandom(32), to)      # another magic
    s.sendto(b"MSHB\x01\x02\x1b\x58" + os.urandom(32), to)      # a count the length denies
for i in range(300):                                            # a flood of well-formed ones
    s.sendto(b"MSHB\x01\x04\x1b\x58" + os.urandom(16 + 64), to)
EOF
a put notes after "the garbage"
wait_for 20 "gamma to get an item put after the garbage" sh -c "'$MESHCTL' --home '$C' get notes after | grep -q garbage"
for x in a b c; do
    wait_for 20 "$x to log the malformed beacons it dropped" \
        grep -q "discovery: dropped [1-9][0-9]* malformed or oversized" "$T/$x.log"
done

# ---- 5. a multicast group, on a named interface ----
cat >"$T/group.py" <<'EOF'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("239.255.77.77", 47474))  # only what is sent to the group
s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP,
             socket.inet_aton("239.255.77.77") + socket.inet_aton("10.77.0.4"))
with open(sys.argv[1], "a") as out:
    while True:
        data, src = s.recvfrom(65536)
        out.write("%s %d\n" % (src[0], len(data)))
        out.flush()
EOF
: >"$T/group"
spawn ip netns exec "${NS[3]}" python3 "$T/group.py" "$T/group"
kill -TERM "$pc"
wait_pids 15 "$pc"
spawn env -u MESHSYNC_NO_DISCOVERY ip netns exec "${NS[2]}" "$MESHCTL" --home "$C" \
    --log-level debug daemon --listen tcp://10.77.0.3:0 --discovery-group 239.255.77.77 \
    --discovery-interfaces eth0 2>>"$T/c.log"
pc=$LAST_PID
wait_for 20 "gamma's beacons on the group" grep -q '^10\.77\.0\.3 ' "$T/group"
grep -q "group 239.255.77.77, interfaces eth0" "$T/c.log" || fail "gamma: $(grep 'LAN discovery' "$T/c.log" | tail -1)"
a put notes group "by the group"
wait_for 20 "gamma, restarted with a group, to get alpha's item" sh -c "'$MESHCTL' --home '$C' get notes group | grep -q group"
kill -TERM "$pa" "$pb" "$pc" "$ps"
wait_pids 15 "$pa" "$pb" "$pc" "$ps"

# ---- 2. what the observer saw ----
beacons_keep_secret "$T/honest" "$A" "$B" "$C" "$S"
python3 - "$T/honest" <<'EOF' || fail "the captured beacons give something away (above)"
import sys
beacons = {}
for line in open(sys.argv[1]):
    src, hexdata = line.split()
    beacons.setdefault(src, []).append(bytes.fromhex(hexdata))
bad = 0
for ip in ("10.77.0.1", "10.77.0.2", "10.77.0.3", "10.77.0.4"):
    got = beacons.get(ip, [])
    if len(got) < 2:
        print("only %d beacon(s) captured from %s" % (len(got), ip)); bad = 1; continue
    if len(got) != len(set(got)):
        print("%s sent the same beacon twice" % ip); bad = 1
    for b in got:
        if b[:5] != b"MSHB\x01" or (len(b) - 24) % 16 or len(b) != 24 + 16 * b[5]:
            print("%s: not a beacon's layout: %s" % (ip, b.hex())); bad = 1
    if got[0][8:] == got[1][8:]:
        print("%s: two beacons alike past the head" % ip); bad = 1
print("  captured %d beacons from %d devices" % (sum(map(len, beacons.values())), len(beacons)))
sys.exit(bad)
EOF
echo "ok"
