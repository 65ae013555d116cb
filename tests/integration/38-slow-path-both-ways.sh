#!/usr/bin/env bash
# tests/integration/38-slow-path-both-ways.sh: the slow path (PROTOCOL §13) when both members
# lost something behind their vectors' backs (tests/tools/unstore), each what the other still
# holds: an item of a long key (over 400 bytes: stored by prefix and hash, §6) and a plain one
# on A; on B a plain item, and the tombstone of a deleted key (a deletion is a version too).
# Must hold after their next session: both hold every item, the deleted key reads as absent
# on both (the tombstone came back: no value came back to life), equal digests; each log
# names the repair with items both ways; a third member, C, which never lost anything and
# syncs only with B, ends with the same digest.
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib.sh"
describe "both members lost items behind their vectors: the slow path repairs both ways"
UNSTORE=${UNSTORE:-$(dirname "$FORGE")/unstore}
[ -x "$UNSTORE" ] || fail "no unstore at $UNSTORE (make testing builds it)"

three_devices
for h in a b c; do
    for id in "$ida" "$idb" "$idc"; do $h peer add "$id" >/dev/null 2>&1 || true; done
done
long=$(printf 'L%.0s' $(seq 1 450))
for i in $(seq 1 30); do a put x "k$i" "value $i" >/dev/null; done
a put x "$long" "a long key's value" >/dev/null
a put x gone "soon deleted" >/dev/null
a del x gone >/dev/null

start_daemon "$A" "$T/a.log"; ea=$EP; pa=$LAST_PID
b peer add "$ida" "$ea" >/dev/null
start_daemon "$B" "$T/b.log"; eb=$EP; pb=$LAST_PID
wait_for 30 "B to hold A's items" sh -c "[ \"\$('$MESHCTL' --home '$B' ls --keys x 2>/dev/null | wc -l)\" -eq 31 ]"
mc --home "$A" wait x --timeout 20 || fail "A not in sync with B before the loss"
kill -TERM "$pa" "$pb"
wait_pids 20 "$pa" "$pb"

"$UNSTORE" "$A" x k3 || fail "unstore k3 on A"
"$UNSTORE" "$A" x "$long" || fail "unstore the long key on A"
"$UNSTORE" "$B" x k17 || fail "unstore k17 on B"
"$UNSTORE" "$B" x gone || fail "unstore the tombstone on B"
expect_eq "$(a ls --keys x | wc -l)" 29 "items on A after the loss"
expect_eq "$(b ls --keys x | wc -l)" 30 "items on B after the loss"

start_daemon "$A" "$T/a.log" "$ea"; pa=$LAST_PID
start_daemon "$B" "$T/b.log" "$eb"; pb=$LAST_PID
both_whole() {
    [ "$(mc --home "$A" ls --keys x 2>/dev/null | wc -l)" -eq 31 ] &&
        [ "$(mc --home "$B" ls --keys x 2>/dev/null | wc -l)" -eq 31 ] &&
        [ "$(coll_digest "$A" x)" = "$(coll_digest "$B" x)" ]
}
wait_for 60 "A and B to hold every item with equal digests" both_whole
expect_eq "$(a get x k3)" "value 3" "k3 on A"
expect_eq "$(a get x "$long")" "a long key's value" "the long key on A"
expect_eq "$(b get x k17)" "value 17" "k17 on B"
expect_exit 1 a get x gone
expect_exit 1 b get x gone
for h in "$T/a.log" "$T/b.log"; do
    grep -q '\[warn\] repair of collection "x" with .*: 2 items in .* 2 items out' "$h" ||
        fail "$(basename "$h") does not name a repair with 2 items each way: $(grep -h 'repair' "$h" | tail -3)"
done

# C, honest and never damaged, syncs with B only and ends with the same state.
c peer add "$idb" "$eb" >/dev/null
start_daemon "$C" "$T/c.log"
wait_for 30 "C to hold every item" sh -c "[ \"\$('$MESHCTL' --home '$C' ls --keys x 2>/dev/null | wc -l)\" -eq 31 ]"
mc --home "$C" wait x --timeout 20 || fail "C not in sync"
# (the tombstone is collected once every member acknowledged it, PROTOCOL §8.4, on each
# device at its own tick: for a moment one may have collected it and the other not)
same_digest() { [ "$(coll_digest "$C" x)" = "$(coll_digest "$B" x)" ]; }
wait_for 30 "C's digest to equal B's ($(coll_digest "$C" x) / $(coll_digest "$B" x))" same_digest
echo "ok: both members repaired each other (a long key, a tombstone), and C agrees"
