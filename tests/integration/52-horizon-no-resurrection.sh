#!/usr/bin/env bash
# tests/integration/52-horizon-no-resurrection.sh: a member frozen (SIGSTOP) past the horizon
# (4 s here, 'horizon' in HOME/config) stops holding tombstone collection back; when it comes
# back it holds the old live value of a key the others deleted and collected meanwhile, and
# the delete still wins everywhere (PROTOCOL §8.4, §13): delta sync never sends the old value
# (its dot is covered), the slow path offers it, the others refuse it (under their floor) and
# delete the key anew, so the returning member drops it too. Must hold after: the deleted key
# is absent on every device (get fails, no live line in any dump) after the sync and after
# the repair, the other keys are intact, and the digests meet again.
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib.sh"
describe "a member back from past the horizon does not bring a collected delete back"

three_devices # A and B stay, C is frozen
for h in "$A" "$B" "$C"; do
    printf 'horizon = 4\n' >"$h/config"
    for id in "$ida" "$idb" "$idc"; do
        [ "$(mc --home "$h" id)" = "$id" ] || mc --home "$h" peer add "$id" >/dev/null
    done
done
a put x doomed "the old live value" >/dev/null
for i in $(seq 1 10); do a put x "k$i" "value $i" >/dev/null; done
start_daemon "$A" "$T/a.log"; ea=$EP; pa=$LAST_PID
b peer add "$ida" "$ea" >/dev/null
c peer add "$ida" "$ea" >/dev/null
start_daemon "$B" "$T/b.log"; pb=$LAST_PID
start_daemon "$C" "$T/c.log"; pc=$LAST_PID
wait_for 60 "B and C to hold A's 11 keys" sh -c \
    "[ \$('$MESHCTL' --home '$B' ls --keys x | wc -l) -eq 11 ] && [ \$('$MESHCTL' --home '$C' ls --keys x | wc -l) -eq 11 ]"

kill -STOP "$pc"
a del x doomed >/dev/null
versions() { # versions HOME: collection x's versions (tombstones included) per ls --json
    mc --home "$1" ls --json | python3 -c '
import json, sys
print(next((c["versions"] for c in json.load(sys.stdin)["collections"] if c["name"] == "x"), -1))'
}
collected() { [ "$(versions "$A")" = 10 ] && [ "$(versions "$B")" = 10 ]; }
wait_for 60 "A and B to collect the delete with C silent past the horizon" collected
grep -q 'collected 1 tombstone.*1 silent past the horizon' "$T/a.log" ||
    fail "A's log does not say C was left out: $(grep collected "$T/a.log" | tail -2)"
# C, frozen, still holds the old value (its store is read by another process)
expect_eq "$(c get x doomed)" "the old live value" "the frozen C's copy"

kill -CONT "$pc"
gone_everywhere() {
    for h in "$A" "$B" "$C"; do
        ! mc --home "$h" get x doomed >/dev/null 2>&1 || return 1
    done
}
wait_for 60 "the deleted key to be absent on every device" gone_everywhere
# How it went: usually the slow path (the delete's set record was collected with it, so delta
# sync has nothing to send C; C offers the old value, A or B refuses it and deletes it anew).
# But when the set record outlived the tombstone on A or B, delta sync hands C the delete
# itself and no repair is needed; both are right, and what must hold is checked below.
# (C drops the value only once the new delete reached it: by then the line is written.)
if grep -hq 'deleted anew' "$T/a.log" "$T/b.log"; then
    grep -hq 'repair of collection "x"' "$T/a.log" "$T/b.log" "$T/c.log" ||
        fail "a value was deleted anew with no repair of x logged"
    echo "the slow path offered the old value back; it was deleted anew"
else
    echo "note: no value deleted anew: the delete reached C by delta sync (no repair needed)"
fi
same_digests() {
    local da db dc
    da=$(mc --home "$A" dump x | tail -1) db=$(mc --home "$B" dump x | tail -1) dc=$(mc --home "$C" dump x | tail -1)
    [ "$da" = "$db" ] && [ "$da" = "$dc" ]
}
wait_for 60 "the three digests to meet" same_digests
for h in "$A" "$B" "$C"; do
    mc --home "$h" dump x >"$T/dump"
    ! grep -q 'the old live value' "$T/dump" || fail "the deleted value is back on $h: $(cat "$T/dump")"
    expect_exit 1 mc --home "$h" get x doomed
    expect_eq "$(mc --home "$h" ls --keys x | wc -l)" 10 "live keys on $h"
done
# and it stays so: the new delete is collected in turn, C counted again, nothing comes back
all_collected() { [ "$(versions "$A")" = 10 ] && [ "$(versions "$B")" = 10 ] && [ "$(versions "$C")" = 10 ]; }
wait_for 60 "the new delete to be collected on every device" all_collected
for h in "$A" "$B" "$C"; do
    expect_exit 1 mc --home "$h" get x doomed
    ! mc --home "$h" dump x | grep -q 'the old live value' || fail "the value is back on $h"
done
echo "ok: the frozen member came back with the old value; the delete won on every device"
