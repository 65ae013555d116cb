#!/usr/bin/env bash
# tests/integration/47-remove-relay.sh: a removal that reaches a member only through a relay,
# and only by bundle file (issue 16; docs/PROTOCOL.md §8.2). Relay: daemons A - D - B, and C
# linked to A and B; A and B never connect. A removes C; what must hold: B hears through D,
# lists C removed and refuses it; C's write before the removal is on A, D and B, its write
# after every member heard on none. Bundle: homes E, F, G, no daemon; E removes G and F
# imports E's bundle: F lists G removed; G's bundle then brings a write made after the
# removal, which F rejects (every member published: nothing left held).
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib.sh"
describe "peer rm reaches a member through a relay and by bundle file"

three_devices
D=$(mk_home)
idd=$(mc --home "$D" init --name delta)
d() { mc --home "$D" "$@"; }
# A and B tell no addresses, their own included (a test hook, PROTOCOL §17): else D and C
# would pass on where each listens, and they would connect.
MESH_TEST_NO_PEX=1 with_hooks start_daemon "$A" "$T/a.log"; pa=$LAST_PID ea=$EP
MESH_TEST_NO_PEX=1 with_hooks start_daemon "$B" "$T/b.log"; pb=$LAST_PID eb=$EP
start_daemon "$C" "$T/c.log"; pc=$LAST_PID ec=$EP
start_daemon "$D" "$T/d.log"; pd=$LAST_PID ed=$EP
# A dials D and C, B dials D and C; no record gives A's or B's address. Trust is full.
a peer add "$idd" "$ed"; a peer add "$idc" "$ec"; a peer add "$idb"
b peer add "$idd" "$ed"; b peer add "$idc" "$ec"; b peer add "$ida"
d peer add "$ida"; d peer add "$idb"; d peer add "$idc"
c peer add "$ida"; c peer add "$idb"; c peer add "$idd"
c put notes c1 "before"
for h in a b d; do wait_for 30 "c1 on $h" $h get notes c1; done

a peer rm "$idc"
removed() { "$MESHCTL" --home "$1" peer ls | grep "^$2" | grep -q "(removed)"; }
wait_for 30 "D to hear from A" removed "$D" "$idc"
wait_for 30 "B to hear through D" removed "$B" "$idc"
grep -q "session with $ida" "$T/b.log" && fail "B talked to A directly"
c put notes c2 "after every member heard"
sleep 3
for h in a b d; do $h get notes c2 >/dev/null 2>&1 && fail "c2 reached $h"; done
wait_for 30 "B to refuse C" grep -q "refused" "$T/b.log"
expect_eq "$(b get notes c1)" "before" "c1 on B"
kill -TERM "$pa" "$pb" "$pc" "$pd"
wait_pids 10 "$pa" "$pb" "$pc" "$pd"

# By bundle file only, no daemon.
E=$(mk_home) F=$(mk_home) G=$(mk_home)
ide=$(mc --home "$E" init --name eps) idf=$(mc --home "$F" init --name phi)
idg=$(mc --home "$G" init --name gam)
for x in "$E:$idf" "$E:$idg" "$F:$ide" "$F:$idg" "$G:$ide" "$G:$idf"; do
    mc --home "${x%%:*}" peer add "${x#*:}"
done
mc --home "$G" put notes g1 "before"
for x in E F G; do mc --home "${!x}" export -o "$T/$x.bundle" >/dev/null; done
for x in "E:F" "E:G" "F:E" "F:G" "G:E" "G:F"; do
    h=${x#*:}; mc --home "${!h}" import "$T/${x%%:*}.bundle" >/dev/null
done
expect_eq "$(mc --home "$F" get notes g1)" "before" "g1 on F"
mc --home "$E" peer rm "$idg"
mc --home "$E" export -o "$T/E2.bundle" >/dev/null
mc --home "$F" import "$T/E2.bundle" >/dev/null
removed "$F" "$idg" || fail "F does not list G removed: $(mc --home "$F" peer ls)"
mc --home "$G" put notes g2 "after"
mc --home "$G" export -o "$T/G2.bundle" >/dev/null
mc --home "$F" import "$T/G2.bundle" >"$T/out" 2>&1 && fail "the import of a set past the cut exits 0"
mc --home "$F" get notes g2 >/dev/null 2>&1 && fail "g2 reached F"
grep -q "past its frozen cut" "$T/out" || fail "F's import does not say g2 is past the cut: $(cat "$T/out")"
mc --home "$F" held | grep -q "^$idg" && fail "G's sets stay held on F"
expect_eq "$(mc --home "$F" get notes g1)" "before" "g1 stays on F"
echo ok
