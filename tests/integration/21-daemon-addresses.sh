#!/usr/bin/env bash
# tests/integration/21-daemon-addresses.sh: endpoints are checked when given, and addresses
# decide whom a daemon dials, at once.
#  1. daemon --listen: a port past 65535 is refused (exit 1, the reason named; no daemon
#     left running); tcp://localhost:0 is resolved to 127.0.0.1; a port in use reads "port N
#     is in use". peer add refuses what is not tcp://HOST:PORT and stores nothing.
#  2. An add record from another device that carries an ipc:// address (written by a test
#     build with MESH_TEST_ADDR_UNCHECKED, as a hostile or old peer could): the address is
#     left out of peer ls, never dialled, and logged once however many commits follow.
#  3. A member without a session whose addresses change is dialled at once at its new first
#     address, not after the redial backoff that grew while its old address was dead: the
#     log shows the dial, and no redial comes before the session.
# Real daemons on 127.0.0.1, each stopped by PID.
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib.sh"
DAEMON_LOG_LEVEL=debug # (the test reads its debug lines)
describe "listen endpoints and peer addresses are checked; a member's new address is dialled at once"

peer_field() { # HOME ID FIELD: a field of the peer's line in HOME/status
    { grep "^peer $2 " "$1/status" || true; } | tr ' ' '\n' | sed -n "s/^$3=//p"
}
session_up() { [ "$(peer_field "$1" "$2" session)" = 1 ]; }
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

three_devices

# ---- 1. listen endpoints and peer add ----
# (timeout: a daemon that took a bad endpoint would run on; the test must fail, not hang)
expect_fail_with "'tcp://127.0.0.1:99999' has port 99999, outside 0..65535" \
    timeout 10 "$MESHCTL" --home "$A" daemon --listen tcp://127.0.0.1:99999
expect_fail_with "'tcp://127.0.0.1' has no port" \
    timeout 10 "$MESHCTL" --home "$A" daemon --listen tcp://127.0.0.1
[ ! -f "$A/status" ] || fail "a refused daemon left a status file"
# localhost is resolved (ZeroMQ alone would take it for an interface name and fail)
start_daemon "$B" "$T/b.log" tcp://localhost:0; pb=$LAST_PID eb=$EP
case $eb in tcp://127.0.0.1:[0-9]*) ;; *) fail "B listens on '$eb', not on 127.0.0.1" ;; esac
port=${eb##*:}
expect_fail_with "port $port is in use" timeout 10 "$MESHCTL" --home "$A" daemon --listen "$eb"
expect_fail_with "'notanaddress' is not an address: expected tcp://HOST:PORT" \
    a peer add "$idb" notanaddress
expect_fail_with "'ipc:///tmp/x' is not an address" a peer add "$idb" ipc:///tmp/x
expect_fail_with "'tcp://127.0.0.1:0' has port 0, outside 1..65535" \
    a peer add "$idb" tcp://127.0.0.1:0
a peer ls >"$T/a.peers"
! grep -q "$idb" "$T/a.peers" || fail "a refused peer add stored something: $(cat "$T/a.peers")"

# ---- 2. an ipc:// address in a record from another device ----
dead=tcp://127.0.0.1:$(free_port)
MESH_TEST_ADDR_UNCHECKED=1 with_hooks c peer add "$idb" "ipc://$T/evil.sock" "$dead"
a peer add "$idc"
b peer add "$ida" # B admits A (and never dials it: no address)
start_daemon "$A" "$T/a.log" tcp://127.0.0.1:0; pa=$LAST_PID
c export -o "$T/c.bundle" >/dev/null
a import "$T/c.bundle" >/dev/null # C's records: B is a member, at ipc://... and $dead
for i in 1 2 3; do a put notes "k$i" "a commit after the record ($i)"; done
wait_for 10 "A's redial of B's dead address" grep -q "no session with $idb yet: dialling $dead" "$T/a.log"
expect_eq "$(grep -c "ignoring 1 address(es) that records give for $idb" "$T/a.log")" 1 \
    "times A logged B's ipc:// address"
grep -q "dialling ipc:\|at ipc:" "$T/a.log" && fail "A dialled an ipc:// address: $(grep ipc: "$T/a.log")"
a peer ls >"$T/a.peers"
grep -q "ipc:" "$T/a.peers" && fail "peer ls lists the ipc:// address: $(cat "$T/a.peers")"
grep -q "$idb.*$dead" "$T/a.peers" || fail "peer ls lost B's valid address: $(cat "$T/a.peers")"

# ---- 3. B's real address arrives while A waits on its backoff: dialled at once ----
# A has dialled $dead twice (at once, then 3 s later): its next redial is 6 s away.
mark=$(wc -l <"$T/a.log")
a peer add "$idb" "$eb" # A's own record comes first: B's addresses are now "$eb $dead"
wait_for 30 "A's session with B" session_up "$A" "$idb"
tail -n +"$((mark + 1))" "$T/a.log" >"$T/a.after"
grep -q "dialling $idb at $eb: its addresses changed" "$T/a.after" ||
    fail "A did not dial B's new address when it came: $(grep "$idb" "$T/a.after" | head)"
# what must hold: the session came of that dial, with no redial (the old backoff) before it
sed -n "/session with $idb .* up/q;p" "$T/a.after" | grep -q "no session with $idb yet" &&
    fail "A waited for its redial backoff before dialling B's new address: $(grep "$idb" "$T/a.after" | head)"
a put notes after-add "reaches B over the new address"
wait_for 20 "A's write on B" b get notes after-add

kill -TERM "$pa" "$pb"
wait_pids 10 "$pa" "$pb"
echo "ok"
