#!/usr/bin/env bash
# tests/integration/37-slow-path-repair.sh: a member whose store loses items behind its
# vector's back (tests/tools/unstore deletes them from its LMDB store while its daemon is
# down: the vector still covers their dots, so delta sync will never send them again) gets
# them back by the slow path (PROTOCOL §13) at its next session with an honest member. Must
# hold after: every item on both devices, equal digests, the victim still writes and syncs,
# both logs name the repair at warn level (reason, peer, items and bytes), and status counts
# one repair with the peer.
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib.sh"
describe "items lost behind the vector's back come back by the slow path"
UNSTORE=${UNSTORE:-$(dirname "$FORGE")/unstore}
[ -x "$UNSTORE" ] || fail "no unstore at $UNSTORE (make testing builds it)"

three_devices # A: the victim, B: an honest member (C is not used)
a peer add "$idb" >/dev/null
b peer add "$ida" >/dev/null
for i in $(seq 1 40); do a put x "k$i" "value $i" >/dev/null; done
b put x from-b "written by B" >/dev/null

start_daemon "$A" "$T/a.log"; ea=$EP; pa=$LAST_PID
b peer add "$ida" "$ea" >/dev/null
start_daemon "$B" "$T/b.log"; pb=$LAST_PID
wait_for 30 "B to hold A's items" sh -c "[ \"\$('$MESHCTL' --home '$B' ls --keys x 2>/dev/null | wc -l)\" -eq 41 ]"
wait_for 30 "A to hold B's item" sh -c "'$MESHCTL' --home '$A' get x from-b >/dev/null 2>&1"
mc --home "$A" wait x --timeout 20 || fail "A not in sync with B before the loss"
expect_eq "$(coll_digest "$A" x)" "$(coll_digest "$B" x)" "the digests before the loss"

kill -TERM "$pa"
wait_pids 20 "$pa"
"$UNSTORE" "$A" x k7 || fail "unstore k7"
"$UNSTORE" "$A" x k23 || fail "unstore k23"
"$UNSTORE" "$A" x from-b || fail "unstore from-b"
expect_exit 1 a get x k7
expect_eq "$(a ls --keys x | wc -l)" 38 "items on A after the loss"
[ "$(coll_digest "$A" x)" != "$(coll_digest "$B" x)" ] || fail "the digests did not differ after the loss"

start_daemon "$A" "$T/a.log" "$ea"; pa=$LAST_PID
wait_for 60 "A to hold k7, k23 and from-b again" sh -c \
    "'$MESHCTL' --home '$A' get x k7 >/dev/null 2>&1 && '$MESHCTL' --home '$A' get x k23 >/dev/null 2>&1 && '$MESHCTL' --home '$A' get x from-b >/dev/null 2>&1"
expect_eq "$(a get x k23)" "value 23" "k23 on A"
expect_eq "$(a get x from-b)" "written by B" "from-b on A"
expect_eq "$(a ls --keys x | wc -l)" 41 "items on A after the repair"
expect_eq "$(b ls --keys x | wc -l)" 41 "items on B after the repair"
expect_eq "$(coll_digest "$A" x)" "$(coll_digest "$B" x)" "the digests after the repair"

grep -q '\[warn\] repair of collection "x" with .*: 3 items in' "$T/a.log" ||
    fail "A's log does not name the repair: $(grep -h repair "$T/a.log" | tail -5)"
grep -q '\[warn\] repair of collection "x" with .*: 0 items in .* 3 items out' "$T/b.log" ||
    fail "B's log does not name the repair: $(grep -h repair "$T/b.log" | tail -5)"
# the side that started it names the cause (the other says it was asked)
grep -hq 'repair of collection "x" with .* (\(equal vectors, unequal digests\|a pass ended with digests that disagree\)' "$T/a.log" "$T/b.log" ||
    fail "the repair's cause is not logged: $(grep -h repair "$T/a.log" "$T/b.log" | tail -4)"
grep -hq 'repair of collection "x" with .* (asked by the peer)' "$T/a.log" "$T/b.log" ||
    fail "the answering side does not say it was asked: $(grep -h repair "$T/a.log" "$T/b.log" | tail -4)"
repairs() { # repairs HOME ID: the repairs HOME's status counts with member ID
    mc --home "$1" status --json | python3 -c '
import json, sys
print({p["id"]: p for p in json.load(sys.stdin)["peers"]}[sys.argv[1]]["repairs"])' "$2"
}
one_repair() { [ "$(repairs "$A" "$idb")" = 1 ] && [ "$(repairs "$B" "$ida")" = 1 ]; }
wait_for 10 "both statuses to count one repair" one_repair
mc --home "$A" status | grep -q ", 1 repair$" || fail "meshctl status does not show the repair"

# The victim keeps writing, and its writes sync as before.
a put x after "written after the repair" >/dev/null
wait_for 30 "B to hold A's write after the repair" sh -c \
    "'$MESHCTL' --home '$B' get x after 2>/dev/null | grep -q 'written after the repair'"
echo "ok: the lost items came back by the slow path, digests equal, the repair logged and counted"
