#!/usr/bin/env bash
# tests/integration/03-copy-home.sh: a home copied whole (cp -a) to a second place gets a
# new incarnation there at its first open, so the original and the copy, writing on with
# the same identity, never give two writes the same dot.
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib.sh"
describe "a copied home starts a new incarnation: the copy and the original share no dot"

A=$(mk_home)/a
B=$(mk_home)/b
id=$(mc --home "$A" init)
for i in 1 2 3; do
    mc --home "$A" put c "k$i" "v$i"
done

# latest_set HOME: "INCARNATION FIRST_SEQ LAST_SEQ" of the newest set of this device in c.
latest_set() {
    mc --home "$1" log c --json | python3 -c '
import json, sys
s = [s for s in json.load(sys.stdin)["sets"] if s["origin"] == sys.argv[1]][0]
print(s["incarnation"], s["first_seq"], s["last_seq"])' "$id"
}
# dots HOME: every (incarnation, seq) of this device in c, one a line.
dots() {
    mc --home "$1" log c --json | python3 -c '
import json, sys
for s in json.load(sys.stdin)["sets"]:
    if s["origin"] == sys.argv[1]:
        for q in range(s["first_seq"], s["last_seq"] + 1):
            print(s["incarnation"], q)' "$id" | sort
}

read -r inc0 _ _ <<<"$(latest_set "$A")"
dots "$A" >"$T/old"
cp -a "$A" "$B"
expect_eq "$(mc --home "$B" id)" "$id" "the copy's device ID"
expect_eq "$(mc --home "$B" get c k2)" v2 "the copy's data"
mc --home "$B" put c kb "from the copy"
mc --home "$A" put c ka "from the original"
mc --home "$B" put c kb2 "from the copy again"

read -r inc_a _ _ <<<"$(latest_set "$A")"
read -r inc_b _ _ <<<"$(latest_set "$B")"
expect_eq "$inc_a" "$inc0" "the original's incarnation"
[ "$inc_b" != "$inc_a" ] || fail "the copy kept incarnation $inc_a"

# The new writes of each side: their dots are disjoint.
dots "$A" | comm -13 "$T/old" - >"$T/new_a"
dots "$B" | comm -13 "$T/old" - >"$T/new_b"
expect_eq "$(wc -l <"$T/new_a")" 1 "new dots on the original"
expect_eq "$(wc -l <"$T/new_b")" 2 "new dots on the copy"
shared=$(comm -12 "$T/new_a" "$T/new_b")
[ -z "$shared" ] || fail "the original and the copy share dots: $shared"
# The copy keeps its new incarnation from then on.
mc --home "$B" put c kb3 again
read -r inc_b2 _ _ <<<"$(latest_set "$B")"
expect_eq "$inc_b2" "$inc_b" "the copy's incarnation on a later open"
exit 0
