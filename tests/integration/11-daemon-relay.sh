#!/usr/bin/env bash
# tests/integration/11-daemon-relay.sh: a line A - B - C of real daemons where A and C never
# connect: A's writes reach C through B and verify against A's signature; when B tampers
# with one op on the wire (a test hook in the relay's own process), C rejects that set,
# logs why, and keeps everything else. Then a member that sends a malformed frame has its
# session dropped with a logged reason while the node goes on serving the others.
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib.sh"
describe "A's writes reach C through B; a tampering relay is caught; a malformed frame drops only its session"
command -v python3 >/dev/null || skip "no python3"


three_devices
# B relays and, by its test hook, flips a byte of "TAMPERME" in what it sends on; by another
# it tells no member addresses (PROTOCOL §17), so that A and C never learn of each other.
start_daemon "$A" "$T/a.log"; pa=$LAST_PID ea=$EP
with_hooks start_daemon_env "$B" "$T/b.log" MESH_TEST_TAMPER=TAMPERME MESH_TEST_NO_PEX=1; pb=$LAST_PID eb=$EP
start_daemon "$C" "$T/c.log"; pc=$LAST_PID
# A knows only B's address, C only B's; B knows both. B vouches for A and C.
b peer add "$ida"; b peer add "$idc"
a peer add "$idb" "$eb"
c peer add "$idb" "$eb"

a put notes plain "from A, via B"
wait_for 30 "A's write on C" c get notes plain
expect_eq "$(c get notes plain)" "from A, via B" "the relayed value"
c get --all --json notes plain | python3 -c '
import json, sys
d = json.load(sys.stdin)
vs = d["versions"]
assert len(vs) == 1 and vs[0]["origin"] == sys.argv[1], d' "$ida" || fail "origin on C: $(c get --all --json notes plain)"
grep -q "session with $ida" "$T/c.log" && fail "C talked to A directly"

a put notes evil "TAMPERME, says A"
a put notes after "written after the tampered one"
wait_for 30 "the later write on C" c get notes after
wait_for 30 "C to log the rejection" grep -q "does not match its signed hash" "$T/c.log"
c get notes evil >/dev/null 2>&1 && fail "the tampered value reached C"
expect_eq "$(b get notes evil)" "TAMPERME, says A" "B itself holds A's value intact"
expect_eq "$(c get notes plain)" "from A, via B" "C keeps everything else"

# D is a member of A's mesh that sends a malformed frame after its HELLO: A drops that
# session, says why, and still serves B.
D=$(mk_home)
idd=$(mc --home "$D" init --name delta)
a peer add "$idd"
mc --home "$D" peer add "$ida" "$ea"
with_hooks start_daemon_env "$D" "$T/d.log" MESH_TEST_GARBAGE=1; pd=$LAST_PID
wait_for 30 "A to drop D's session" grep -q "dropping the session with $idd: a malformed frame" "$T/a.log"
b put notes still "B is still served"
wait_for 30 "B's write on A after the bad frame" a get notes still
kill -0 "$pa" || fail "A died"
kill -TERM "$pa" "$pb" "$pc" "$pd"
wait_pids 10 "$pa" "$pb" "$pc" "$pd"
echo ok
