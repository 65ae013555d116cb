#!/usr/bin/env bash
# tests/integration/51-tombstone-collection.sh: deletes are collected once every member has
# acknowledged them (PROTOCOL §8.4): each daemon publishes "ack/<ID>" in _mesh, and a
# tombstone every member's acknowledgement covers is removed from the store. Must hold
# after: on all three devices the deleted keys hold no version at all (ls --json counts
# only the live keys, dump shows no "del" line), the live keys are all there, the digests
# are equal, each log says it collected, and a key deleted then written again is live.
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib.sh"
describe "tombstones are collected after every member acknowledged them"

three_devices
for h in "$A" "$B" "$C"; do
    for id in "$ida" "$idb" "$idc"; do
        [ "$(mc --home "$h" id)" = "$id" ] || mc --home "$h" peer add "$id" >/dev/null
    done
done
for i in $(seq 1 30); do a put x "k$i" "value $i" >/dev/null; done
start_daemon "$A" "$T/a.log"; ea=$EP
b peer add "$ida" "$ea" >/dev/null
c peer add "$ida" "$ea" >/dev/null
start_daemon "$B" "$T/b.log"
start_daemon "$C" "$T/c.log"
keys_on() { [ "$(mc --home "$1" ls --keys x 2>/dev/null | wc -l)" -eq "$2" ]; }
wait_for 60 "B and C to hold A's 30 keys" sh -c \
    "[ \$('$MESHCTL' --home '$B' ls --keys x | wc -l) -eq 30 ] && [ \$('$MESHCTL' --home '$C' ls --keys x | wc -l) -eq 30 ]"

# 20 deletes, on two devices; k5 deleted and written again
for i in $(seq 1 10); do a del x "k$i" >/dev/null; done
for i in $(seq 11 20); do b del x "k$i" >/dev/null; done
c put x k5 "back again" >/dev/null

versions() { # versions HOME: collection x's versions (tombstones included) per ls --json
    mc --home "$1" ls --json | python3 -c '
import json, sys
print(next((c["versions"] for c in json.load(sys.stdin)["collections"] if c["name"] == "x"), -1))'
}
collected() { [ "$(versions "$A")" = 11 ] && [ "$(versions "$B")" = 11 ] && [ "$(versions "$C")" = 11 ]; }
wait_for 90 "every device to hold 11 versions (the 20 tombstones collected)" collected

for h in "$A" "$B" "$C"; do
    mc --home "$h" dump x >"$T/dump"
    ! grep -q ' del' "$T/dump" || fail "a tombstone is left on $h: $(grep ' del' "$T/dump" | head -3)"
    expect_eq "$(mc --home "$h" ls --keys x | wc -l)" 11 "live keys on $h"
    expect_eq "$(mc --home "$h" get x k5)" "back again" "k5 on $h"
    expect_exit 1 mc --home "$h" get x k3
done
expect_eq "$(mc --home "$A" dump x | tail -1)" "$(mc --home "$B" dump x | tail -1)" "A's and B's digests"
expect_eq "$(mc --home "$A" dump x | tail -1)" "$(mc --home "$C" dump x | tail -1)" "A's and C's digests"
for l in a b c; do
    grep -q 'collected [0-9]* tombstone' "$T/$l.log" || fail "$l's log does not say it collected"
done
echo "ok: 20 tombstones collected on every device after acknowledgements; live keys intact"
