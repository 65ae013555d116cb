#!/usr/bin/env bash
# tests/integration/36-repair-flood.sh: a member that starts repairs as fast as it can. Each
# start of the slow path (a RANGE with a digest, PROTOCOL §13) costs the answering side a
# snapshot of the collection, a read of every item, on its loop thread; before, a member
# sending 50 starts with new repair ids got 50 snapshots and 50 answers. Now a member gets
# one new repair answered in REPAIR_ANSWER_MS (10 s): must hold after the flood: A answered
# one start, logged the refusals in a few lines (not one per start), kept the session, still
# syncs with an honest member, and answers the same member's repair again once the window is
# over.
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib.sh"
describe "repair starts from one member are rate limited"
FRAMES=$(dirname "$FORGE")/frames
[ -x "$FRAMES" ] || fail "no frames tool at $FRAMES (make testing builds it)"

three_devices # A: the daemon under the flood, B: the flooding member, C: an honest member
for h in a b c; do
    for id in "$ida" "$idb" "$idc"; do $h peer add "$id" >/dev/null 2>&1 || true; done
done
for i in $(seq 1 30); do a put x "k$i" "v$i" >/dev/null; done
start_daemon "$A" "$T/a.log"; ea=$EP

FRAMES_RANGES=1 "$FRAMES" "$B" "$ea" "$ida" 50 0 >"$T/flood.out" ||
    fail "the flood's session was dropped: $(cat "$T/flood.out")"
read -r _ sent _ answered _ <"$T/flood.out"
expect_eq "$sent" 50 "repair starts sent"
expect_eq "$answered" 1 "repair starts A answered"
refusals=$(grep -c "repair asked by $idb not answered: too soon" "$T/a.log" || true)
[ "$refusals" -ge 1 ] && [ "$refusals" -le 7 ] ||
    fail "A logged $refusals refusal lines for 49 refused starts (want 1..7)"

# A still syncs with an honest member.
c peer add "$ida" "$ea" >/dev/null
start_daemon "$C" "$T/c.log"
wait_for 30 "C to hold A's 30 items" sh -c \
    "[ \"\$('$MESHCTL' --home '$C' ls --keys x | wc -l)\" = 30 ]"

# After the window, the same member's repair is answered again.
answered_again() {
    FRAMES_RANGES=1 "$FRAMES" "$B" "$ea" "$ida" 1 0 >"$T/again.out" || return 1
    read -r _ _ _ n _ <"$T/again.out"
    [ "$n" = 1 ]
}
wait_for 30 "A to answer B's repair start after the window" answered_again
echo "ok: one start answered in the window, refusals logged in $refusals lines, sync goes on"
