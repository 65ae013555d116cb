#!/usr/bin/env bash
# tests/integration/63-nat-relay.sh: two devices behind NATs sync through a member both can
# reach (docs/PROTOCOL.md §17), in network namespaces this test makes and removes (addresses
# only inside them; nothing is added to the host's own namespace):
#   a hub namespace holds the "public" bridge 10.78.0.0/24, with gamma (C) at 10.78.0.3 and
#   two router namespaces at 10.78.0.11 and .12; each router masquerades (nftables) the
#   private network behind it (192.168.1.0/24 with alpha (A) at .2, 192.168.2.0/24 with
#   beta (B) at .2) and drops new connections coming in from the public side.
# A and B know C's address; C knows no address of either (they dial in). B states its
# private address to C, which tells A (peer exchange): A dials it and fails, as it must.
# What must hold:
#  1. the namespaces are what they claim: A and B reach C, C reaches neither, A does not
#     reach B;
#  2. A's item reaches B and B's item reaches A, through C (their signed sets verify
#     whoever relays them), with no session between A and B at any time;
#  3. `meshctl status` on A says B's data came via C (status --json: "path" "via", "via"
#     C's ID), and C's directly; the same on B for A.
# Run as root with iproute2 and nftables; where a namespace or the NAT cannot be made, the
# test is skipped and says which command failed. Every process is stopped by PID, every
# namespace deleted at the end.
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib.sh"
describe "two members behind NATs sync through a third both reach; status shows the path"

[ "$(id -u)" = 0 ] || skip "network namespaces need root (uid $(id -u))"
command -v ip >/dev/null 2>&1 || skip "no 'ip' command (iproute2)"
command -v nft >/dev/null 2>&1 || skip "no 'nft' command (nftables: scripts/deps.sh test installs it)"
command -v python3 >/dev/null 2>&1 || skip "no python3"

HUB=ms63hub$$ NC=ms63c$$ R1=ms63r1$$ R2=ms63r2$$ NA=ms63a$$ NB=ms63b$$
for n in "$HUB" "$NC" "$R1" "$R2" "$NA" "$NB"; do
    netcmd ip netns add "$n"
    at_exit "ip netns del $n"
    netcmd ip -n "$n" link set lo up
done
netcmd ip -n "$HUB" link add br0 type bridge
netcmd ip -n "$HUB" link set br0 up
# public side: gamma and the routers' outer interfaces on the bridge
pub() { # NS IFNAME HUBPORT ADDR
    netcmd ip -n "$1" link add "$2" type veth peer name "$3" netns "$HUB"
    netcmd ip -n "$HUB" link set "$3" master br0 up
    netcmd ip -n "$1" addr add "$4/24" dev "$2"
    netcmd ip -n "$1" link set "$2" up
}
pub "$NC" eth0 pc 10.78.0.3
pub "$R1" wan0 pr1 10.78.0.11
pub "$R2" wan0 pr2 10.78.0.12
# private side: a device behind each router, its default route through it
lan() { # ROUTER DEVICE_NS NET (e.g. 192.168.1)
    netcmd ip -n "$1" link add lan0 type veth peer name eth0 netns "$2"
    netcmd ip -n "$1" addr add "$3.1/24" dev lan0
    netcmd ip -n "$1" link set lan0 up
    netcmd ip -n "$2" addr add "$3.2/24" dev eth0
    netcmd ip -n "$2" link set eth0 up
    netcmd ip -n "$2" route add default via "$3.1"
    netcmd ip netns exec "$1" sysctl -w net.ipv4.ip_forward=1
    netcmd ip netns exec "$1" nft add table ip nat
    netcmd ip netns exec "$1" nft 'add chain ip nat post { type nat hook postrouting priority 100 ; }'
    netcmd ip netns exec "$1" nft add rule ip nat post oifname wan0 masquerade
    netcmd ip netns exec "$1" nft add table ip filter
    netcmd ip netns exec "$1" nft 'add chain ip filter inbound { type filter hook forward priority 0 ; policy accept ; }'
    netcmd ip netns exec "$1" nft add rule ip filter inbound iifname wan0 ct state new drop
}
lan "$R1" "$NA" 192.168.1
lan "$R2" "$NB" 192.168.2

# ---- 1. the namespaces are what they claim ----
cat >"$T/reach.py" <<'EOF'
import socket, sys
s = socket.socket()
s.settimeout(2)
try:
    s.connect((sys.argv[1], int(sys.argv[2])))
except OSError:
    sys.exit(1)
EOF
cat >"$T/serve.py" <<'EOF'
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], 7499))
s.listen(8)
while True:
    c, _ = s.accept()
    c.close()
EOF
reach() { ip netns exec "$1" python3 "$T/reach.py" "$2" 7499; }
for x in "$NC 10.78.0.3" "$NA 192.168.1.2" "$NB 192.168.2.2"; do
    set -- $x
    spawn ip netns exec "$1" python3 "$T/serve.py" "$2"
    wait_for 10 "a listener at $2" reach "$1" "$2"
done
reach "$NA" 10.78.0.3 || fail "alpha cannot reach gamma through its NAT"
reach "$NB" 10.78.0.3 || fail "beta cannot reach gamma through its NAT"
! reach "$NC" 192.168.1.2 || fail "gamma reaches alpha behind its NAT"
! reach "$NC" 192.168.2.2 || fail "gamma reaches beta behind its NAT"
! reach "$NA" 192.168.2.2 || fail "alpha reaches beta behind the other NAT"
! reach "$NB" 192.168.1.2 || fail "beta reaches alpha behind the other NAT"

# ---- 2. three daemons; A and B sync through C ----
three_devices
daemon_in() { # NS HOME LOG IP: listens on IP:7400
    spawn ip netns exec "$1" "$MESHCTL" --home "$2" --log-level debug daemon \
        --listen "tcp://$4:7400" 2>>"$3"
    LAST_DAEMON=$LAST_PID
}
c peer add "$ida"
c peer add "$idb"
a peer add "$idc" tcp://10.78.0.3:7400
b peer add "$idc" tcp://10.78.0.3:7400
daemon_in "$NC" "$C" "$T/c.log" 10.78.0.3; pc=$LAST_DAEMON
daemon_in "$NA" "$A" "$T/a.log" 192.168.1.2; pa=$LAST_DAEMON
daemon_in "$NB" "$B" "$T/b.log" 192.168.2.2; pb=$LAST_DAEMON
a put notes from-a "alpha, behind NAT 1"
b put notes from-b "beta, behind NAT 2"
wait_for 60 "alpha's item on beta" sh -c "'$MESHCTL' --home '$B' get notes from-a | grep -q 'NAT 1'"
wait_for 60 "beta's item on alpha" sh -c "'$MESHCTL' --home '$A' get notes from-b | grep -q 'NAT 2'"
b get --all --json notes from-a | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert [v["origin"] for v in d["versions"]] == [sys.argv[1]], d' "$ida" ||
    fail "the item on beta is not alpha's own: $(b get --all --json notes from-a)"

# ---- 3. status: the path of each peer's data ----
peer_field() { # HOME ID FIELD: a field of the peer's line in HOME/status
    { grep "^peer $2 " "$1/status" || true; } | tr ' ' '\n' | sed -n "s/^$3=//p"
}
via_is() { [ "$(peer_field "$1" "$2" via)" = "$3" ]; }
wait_for 20 "alpha's status: beta's data via gamma" via_is "$A" "$idb" "$idc"
wait_for 20 "alpha's status: gamma's data direct" via_is "$A" "$idc" "$idc"
wait_for 20 "beta's status: alpha's data via gamma" via_is "$B" "$ida" "$idc"
a status --json | python3 -c '
import json, sys
d = json.load(sys.stdin)
p = {p["id"]: p for p in d["peers"]}
b, c = p[sys.argv[1]], p[sys.argv[2]]
assert b["path"] == "via" and b["via"] == sys.argv[2] and b["via_seen"] > 0, b
assert not b["connected"], b
assert c["path"] == "direct" and c["connected"], c' "$idb" "$idc" ||
    fail "alpha's status --json: $(a status --json)"
a status | grep -q "its data: via gamma" || fail "meshctl status on alpha does not say 'via gamma': $(a status)"
# A heard of B's address from C (B stated it), dialled it, and no session came of it.
wait_for 20 "gamma to tell alpha beta's address" grep -q "$idc says $idb is at tcp://192.168.2.2:7400" "$T/a.log"
wait_for 20 "alpha's dial of it to fail" grep -q "no session with $idb yet: dialling" "$T/a.log"
grep -q "session with $idb.* up" "$T/a.log" && fail "alpha had a session with beta"
grep -q "session with $ida.* up" "$T/b.log" && fail "beta had a session with alpha"
kill -TERM "$pa" "$pb" "$pc"
wait_pids 15 "$pa" "$pb" "$pc"
echo ok
