#!/usr/bin/env bash
# tests/integration/46-remove.sh: removal (issue 16; docs/PROTOCOL.md §8.2). Daemons A, B, C
# in a full mesh; A removes C while C keeps writing and B has not heard (B's daemon is down,
# then up with A's down: it takes C's new write before it hears). After the mesh settles,
# what must hold: A and B hold identical dumps; C's write B had accepted before it heard is
# on both; C's writes after every member heard are on neither; C is refused (it cannot
# sync) and cannot add itself back; peer ls shows C removed on A and B.
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib.sh"
describe "peer rm: a removed device is frozen at the highest seq any member took, refused, and never comes back"

three_devices
start_daemon "$A" "$T/a.log"; pa=$LAST_PID ea=$EP
start_daemon "$B" "$T/b.log"; pb=$LAST_PID eb=$EP
start_daemon "$C" "$T/c.log"; pc=$LAST_PID ec=$EP
a peer add "$idb" "$eb"; a peer add "$idc" "$ec"
b peer add "$ida" "$ea"; b peer add "$idc" "$ec"
c peer add "$ida" "$ea"; c peer add "$idb" "$eb"

c put notes c1 "before the removal"
wait_for 30 "c1 on A" a get notes c1
wait_for 30 "c1 on B" b get notes c1

# B has not heard: its daemon is down while A removes C and C writes on.
kill -TERM "$pb"; wait_pids 10 "$pb"
a peer rm "$idc"
a peer ls | grep "^$idc" | grep -q "(removed)" || fail "A does not list C removed: $(a peer ls)"
c put notes c2 "after A removed C, before B heard"
wait_for 30 "A to refuse C" grep -q "refused" "$T/a.log"
sleep 1
a get notes c2 >/dev/null 2>&1 && fail "A took C's write after it removed C"

# B comes up while A is down: it takes c2 from C before it hears of the removal.
kill -TERM "$pa"; wait_pids 10 "$pa"
start_daemon "$B" "$T/b.log" "$eb"; pb=$LAST_PID
wait_for 30 "c2 on B before it heard" b get notes c2
b peer ls | grep "^$idc" | grep -q "(removed)" && fail "B heard too early"

# A comes back: B hears, freezes C with c2 in its cut, and A takes c2 from B.
start_daemon "$A" "$T/a.log" "$ea"; pa=$LAST_PID
wait_for 30 "B to hear of the removal" sh -c "'$MESHCTL' --home '$B' peer ls | grep '^$idc' | grep -q '(removed)'"
wait_for 30 "c2 on A, valid by B's cut" a get notes c2
# Every member heard: what C writes now is on neither; nor is its add of itself.
c put notes c3 "after every member heard"
c peer add "$idc" 2>/dev/null
c peer add "$ida" "$ea"
sleep 3
a get notes c3 >/dev/null 2>&1 && fail "c3 reached A"
b get notes c3 >/dev/null 2>&1 && fail "c3 reached B"
wait_for 30 "A and B to agree" sh -c "[ \"\$('$MESHCTL' --home '$A' dump notes)\" = \"\$('$MESHCTL' --home '$B' dump notes)\" ]"
expect_eq "$(a get notes c1)" "before the removal" "c1 on A"
expect_eq "$(b get notes c2)" "after A removed C, before B heard" "c2 on B"
a peer ls | grep "^$idc" | grep -q "(removed)" || fail "A lists C as a member: $(a peer ls)"
b peer ls | grep "^$idc" | grep -q "(removed)" || fail "B lists C as a member: $(b peer ls)"
# C cannot be added back, by anyone.
expect_fail_with "removed" a peer add "$idc" "$ec"
grep -q "refused .* not members" "$T/b.log" || grep -q "refused" "$T/b.log" || fail "B never refused C"
kill -TERM "$pa" "$pb" "$pc"
wait_pids 10 "$pa" "$pb" "$pc"
echo ok
